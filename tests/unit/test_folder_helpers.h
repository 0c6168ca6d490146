/*
 * Removal of the temporary folders that tests build, shared by the store
 * and ingest tests.
 */
#ifndef TEST_FOLDER_HELPERS_H
#define TEST_FOLDER_HELPERS_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>


/* An nftw() callback that removes each entry, for FTW_DEPTH walks. */
static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void)info;
    (void)flag;
    (void)ftw;
    return remove(path);
}


/* Removes the folder at path and everything in it, without following
 * symbolic links. */
static inline void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
