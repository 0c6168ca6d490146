/*
 * The temporary folders that the store and ingest tests build: creating
 * and removing them.
 */
#ifndef TEST_FOLDER_HELPERS_H
#define TEST_FOLDER_HELPERS_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
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


/* Creates a new folder named prefix-XXXXXX in $TMPDIR (or /tmp) and writes
 * its path to out. Returns 0, or -1 when it cannot be created. */
static inline int make_temp_folder(const char *prefix, char *out, size_t size)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(out, size, "%s/%s-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", prefix);
    return mkdtemp(out) != NULL ? 0 : -1;
}

#endif
