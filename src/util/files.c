/*
 * File system helpers: creating folders and expanding input folders into
 * sorted file lists, so that runs see files in the same order everywhere.
 */
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ohlcx/error.h"
#include "util/util.h"


int ohlcx_make_dirs(const char *path)
{
    char buffer[4096];
    size_t length = strlen(path);

    if (length == 0 || length >= sizeof buffer)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid folder path '%s'", path);
    memcpy(buffer, path, length + 1);
    for (char *slash = buffer + 1; *slash != '\0'; slash++) {
        if (*slash != '/')
            continue;
        *slash = '\0';
        if (mkdir(buffer, 0777) != 0 && errno != EEXIST)
            return ohlcx_set_error(OHLCX_EIO, "cannot create folder %s: %s", buffer,
                                   strerror(errno));
        *slash = '/';
    }
    if (mkdir(buffer, 0777) != 0 && errno != EEXIST)
        return ohlcx_set_error(OHLCX_EIO, "cannot create folder %s: %s", buffer,
                               strerror(errno));
    return 0;
}


static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


static int push_string(char ***list, size_t *count, size_t *capacity, const char *text)
{
    if (*count == *capacity) {
        size_t grown_capacity = *capacity ? 2 * *capacity : 16;
        char **grown = realloc(*list, grown_capacity * sizeof *grown);
        if (grown == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing input files");
        *list = grown;
        *capacity = grown_capacity;
    }
    (*list)[*count] = strdup(text);
    if ((*list)[*count] == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing input files");
    (*count)++;
    return 0;
}


/* Appends the regular files of one folder, sorted, to the list. */
static int list_folder(const char *folder, char ***list, size_t *count, size_t *capacity)
{
    DIR *dir = opendir(folder);
    struct dirent *entry;
    size_t first = *count;
    int status = 0;

    if (dir == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open folder %s: %s", folder, strerror(errno));
    while ((entry = readdir(dir)) != NULL && status == 0) {
        char path[4096];
        struct stat info;

        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
        /* A broken link is an error rather than a file quietly left out. */
        if (stat(path, &info) != 0) {
            status = ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));
            break;
        }
        if (!S_ISREG(info.st_mode))
            continue;
        status = push_string(list, count, capacity, path);
    }
    closedir(dir);
    if (status == 0 && *count == first)
        status = ohlcx_set_error(OHLCX_EIO, "folder %s holds no candle files", folder);
    if (status == 0)
        qsort(*list + first, *count - first, sizeof **list, compare_strings);
    return status;
}


/* Returns 1 when folder is an ohlcx store: it has catalog.sqlite and a
 * series folder beside it. */
static int is_store_folder(const char *folder)
{
    char path[4096];
    struct stat info;

    snprintf(path, sizeof path, "%s/catalog.sqlite", folder);
    if (stat(path, &info) != 0 || !S_ISREG(info.st_mode))
        return 0;
    snprintf(path, sizeof path, "%s/series", folder);
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}


int ohlcx_expand_inputs(const char *const *inputs, size_t count, char ***files,
                        size_t *file_count)
{
    char **list = NULL;
    size_t listed = 0, capacity = 0;
    int status = 0;

    for (size_t i = 0; i < count && status == 0; i++) {
        struct stat info;

        if (stat(inputs[i], &info) != 0)
            status = ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", inputs[i], strerror(errno));
        else if (S_ISDIR(info.st_mode) && is_store_folder(inputs[i]))
            status = ohlcx_set_error(OHLCX_EINVAL, "%s is an ohlcx store, not a folder of candle "
                                     "files: pass it with --store %s", inputs[i], inputs[i]);
        else if (S_ISDIR(info.st_mode))
            status = list_folder(inputs[i], &list, &listed, &capacity);
        else
            status = push_string(&list, &listed, &capacity, inputs[i]);
    }
    if (status != 0) {
        ohlcx_free_strings(list, listed);
        return status;
    }
    *files = list;
    *file_count = listed;
    return 0;
}


void ohlcx_free_strings(char **strings, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}
