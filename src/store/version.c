/*
 * Series folders and their versions: naming, the CURRENT pointer, atomic
 * publishing with fsync and rename(), cleanup of interrupted appends, and the
 * writer lock.
 *
 * Invariant: CURRENT in a series folder names a version folder whose files
 * were all fsynced before the rename that published it. Anything else in the
 * folder (.tmp-* folders, CURRENT.tmp, other v<N> folders) belongs to an
 * append in progress, when a writer holds the lock, or else to one that was
 * interrupted, and is deleted by store_clean_series_folder().
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "store/store_internal.h"
#include "util/util.h"

static const char *column_names[OHLCX_STORE_COLUMN_COUNT] = {
    "open_time", "open",         "high",           "low",
    "close",     "volume",       "flags",          "quote_volume",
    "trades",    "taker_buy_base", "taker_buy_quote",
};


const char *store_column_name(int column)
{
    return column >= 0 && column < OHLCX_STORE_COLUMN_COUNT ? column_names[column] : "unknown";
}


static int path_too_long(const char *kind)
{
    return ohlcx_set_error(OHLCX_EINVAL, "path of %s is longer than %d bytes: use a shorter "
                           "store folder", kind, STORE_PATH_MAX - 1);
}


/* Writes symbol with bytes outside [A-Za-z0-9._-], and a leading '.', as %XX. */
static void encode_symbol(const char *symbol, char *out)
{
    size_t length = 0;

    for (size_t i = 0; symbol[i] != '\0'; i++) {
        unsigned char c = (unsigned char)symbol[i];
        int plain = isalnum(c) || c == '_' || c == '-' || (c == '.' && i > 0);

        if (plain)
            out[length++] = (char)c;
        else
            length += (size_t)sprintf(out + length, "%%%02X", c);
    }
    out[length] = '\0';
}


int store_column_type(int column)
{
    if (column == OHLCX_STORE_OPEN_TIME)
        return OHLCX_STORE_DELTA_INT64;
    if (column == OHLCX_STORE_FLAGS)
        return OHLCX_STORE_UINT8;
    return OHLCX_STORE_FLOAT64;
}


void *store_series_column(const ohlcx_series *series, int column)
{
    switch (column) {
    case OHLCX_STORE_OPEN_TIME: return series->open_time;
    case OHLCX_STORE_OPEN: return series->open;
    case OHLCX_STORE_HIGH: return series->high;
    case OHLCX_STORE_LOW: return series->low;
    case OHLCX_STORE_CLOSE: return series->close;
    case OHLCX_STORE_VOLUME: return series->volume;
    case OHLCX_STORE_FLAGS: return series->flags;
    default: return series->extra_column[column - OHLCX_STORE_QUOTE_VOLUME];
    }
}


int store_series_folder(const ohlcx_store *store, const char *symbol, const char *timeframe,
                        char *out)
{
    char encoded[3 * OHLCX_SYMBOL_MAX + 1];
    char timeframe_folder[OHLCX_TIMEFRAME_MAX + 2];
    size_t length;
    int written;

    if (symbol == NULL || symbol[0] == '\0' || strlen(symbol) >= OHLCX_SYMBOL_MAX)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid symbol '%s': use 1 to %d bytes",
                               symbol ? symbol : "", OHLCX_SYMBOL_MAX - 1);
    if (timeframe == NULL || ohlcx_timeframe_id(timeframe) < 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid timeframe '%s' for the store: use a canonical name "
                               "such as 1m, 1h, 1d or 1M",
                               timeframe ? timeframe : "");
    encode_symbol(symbol, encoded);

    /* 1M and 3M would clash with 1m and 3m on a case-insensitive file system. */
    length = strlen(timeframe);
    memcpy(timeframe_folder, timeframe, length + 1);
    if (timeframe[length - 1] == 'M')
        memcpy(timeframe_folder + length - 1, "mo", 3);

    written = snprintf(out, STORE_PATH_MAX, "%s/series/%s/%s", store->dir, encoded,
                       timeframe_folder);
    if (written < 0 || written >= STORE_PATH_MAX)
        return path_too_long("a series folder");
    return 0;
}


int store_version_folder(const char *folder, int64_t version, char *out)
{
    int written = snprintf(out, STORE_PATH_MAX, "%s/v%" PRId64, folder, version);

    return written < 0 || written >= STORE_PATH_MAX ? path_too_long("a version folder") : 0;
}


int store_column_path(const char *version_folder, int column, char *out)
{
    int written = snprintf(out, STORE_PATH_MAX, "%s/%s.col", version_folder,
                           store_column_name(column));

    return written < 0 || written >= STORE_PATH_MAX ? path_too_long("a column file") : 0;
}


int store_temp_folder(const char *folder, int64_t version, char *out)
{
    int written = snprintf(out, STORE_PATH_MAX, "%s/.tmp-v%" PRId64 "-%ld", folder, version,
                           (long)getpid());

    return written < 0 || written >= STORE_PATH_MAX ? path_too_long("a temporary folder") : 0;
}


/* Parses "v<N>" into N > 0, or returns -1. */
static int64_t parse_version_name(const char *name)
{
    char *end = NULL;
    long long version;

    if (name[0] != 'v' || !isdigit((unsigned char)name[1]))
        return -1;
    errno = 0;
    version = strtoll(name + 1, &end, 10);
    if (errno != 0 || version <= 0 || (*end != '\0' && *end != '\n'))
        return -1;
    if (*end == '\n' && end[1] != '\0')
        return -1;
    return version;
}


int store_read_current(const char *folder, int64_t *version)
{
    char path[STORE_PATH_MAX + 16], text[32];
    ssize_t got;
    int fd;

    snprintf(path, sizeof path, "%s/CURRENT", folder);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 1;
    if (fd < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));
    got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", path, strerror(errno));
    text[got] = '\0';
    *version = parse_version_name(text);
    if (*version < 0)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "corrupt version pointer %s: expected \"v<N>\"; write the newest "
                               "complete v<N> folder's name into it",
                               path);
    return 0;
}


int store_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int status = 0;

    if (fd < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s to fsync it: %s", path,
                               strerror(errno));
    if (fsync(fd) != 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot fsync %s: %s", path, strerror(errno));
    close(fd);
    return status;
}


/* Returns the parent of path in out (PATH_MAX bytes), or "" at the top. */
static void parent_folder(const char *path, char *out)
{
    const char *slash = strrchr(path, '/');
    size_t length = slash != NULL ? (size_t)(slash - path) : 0;

    memcpy(out, path, length);
    out[length] = '\0';
}


int store_prepare_series_folder(const char *folder)
{
    char symbol_folder[STORE_PATH_MAX], series_root[STORE_PATH_MAX], store_dir[STORE_PATH_MAX];
    struct stat info;
    int status;

    if (stat(folder, &info) == 0)
        return 0;
    status = ohlcx_make_dirs(folder);
    if (status != 0)
        return status;

    /* New folder entries are durable only once their parents are fsynced. */
    parent_folder(folder, symbol_folder);
    parent_folder(symbol_folder, series_root);
    parent_folder(series_root, store_dir);
    status = store_fsync_path(symbol_folder);
    if (status == 0)
        status = store_fsync_path(series_root);
    if (status == 0)
        status = store_fsync_path(store_dir);
    return status;
}


static int write_current(const char *folder, int64_t version)
{
    char temp[STORE_PATH_MAX + 16], path[STORE_PATH_MAX + 16], text[32];
    int length = snprintf(text, sizeof text, "v%" PRId64 "\n", version);
    int fd, status = 0;

    snprintf(temp, sizeof temp, "%s/CURRENT.tmp", folder);
    snprintf(path, sizeof path, "%s/CURRENT", folder);
    fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", temp, strerror(errno));
    if (write(fd, text, (size_t)length) != length || fsync(fd) != 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", temp, strerror(errno));
    if (close(fd) != 0 && status == 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot close %s: %s", temp, strerror(errno));
    if (status == 0 && rename(temp, path) != 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot rename %s to %s: %s", temp, path,
                                 strerror(errno));
    if (status == 0)
        status = store_fsync_path(folder);
    return status;
}


int store_publish(const char *folder, const char *temp_folder, int64_t version)
{
    char version_folder[STORE_PATH_MAX];
    int status = store_version_folder(folder, version, version_folder);

    if (status == 0)
        status = store_fsync_path(temp_folder);
    if (status == 0 && rename(temp_folder, version_folder) != 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot rename %s to %s: %s", temp_folder,
                                 version_folder, strerror(errno));
    if (status == 0)
        status = store_fsync_path(folder);
    if (status == 0)
        status = write_current(folder, version);
    return status;
}


int store_remove_folder(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *entry;
    int status = 0;

    if (dir == NULL)
        return errno == ENOENT ? 0
                               : ohlcx_set_error(OHLCX_EIO, "cannot open folder %s: %s", path,
                                                 strerror(errno));
    while (status == 0 && (entry = readdir(dir)) != NULL) {
        char child[STORE_PATH_MAX + 256];

        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        if (unlinkat(dirfd(dir), entry->d_name, 0) == 0)
            continue;
        if (errno == EISDIR || errno == EPERM)
            status = store_remove_folder(child);
        else if (errno != ENOENT)
            status = ohlcx_set_error(OHLCX_EIO, "cannot delete %s: %s", child, strerror(errno));
    }
    closedir(dir);
    if (status == 0 && rmdir(path) != 0 && errno != ENOENT)
        status = ohlcx_set_error(OHLCX_EIO, "cannot delete folder %s: %s", path,
                                 strerror(errno));
    return status;
}


/* Deletes one leftover entry of a series folder, if it is one. */
static int clean_entry(const char *folder, const char *name, int64_t current)
{
    char path[STORE_PATH_MAX + 256];
    int64_t version = parse_version_name(name);

    snprintf(path, sizeof path, "%s/%s", folder, name);
    if (strncmp(name, ".tmp-", 5) == 0 || (version > 0 && version != current))
        return store_remove_folder(path);
    if (strcmp(name, "CURRENT.tmp") == 0 && unlink(path) != 0 && errno != ENOENT)
        return ohlcx_set_error(OHLCX_EIO, "cannot delete %s: %s", path, strerror(errno));
    return 0;
}


int store_clean_series_folder(const char *folder, int64_t current)
{
    DIR *dir = opendir(folder);
    struct dirent *entry;
    int status = 0;

    if (dir == NULL)
        return errno == ENOENT ? 0
                               : ohlcx_set_error(OHLCX_EIO, "cannot open folder %s: %s", folder,
                                                 strerror(errno));
    while (status == 0 && (entry = readdir(dir)) != NULL)
        status = clean_entry(folder, entry->d_name, current);
    closedir(dir);
    return status;
}


int store_lock(ohlcx_store *store, int wait)
{
    while (flock(store->lock_fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return 1;
        return ohlcx_set_error(OHLCX_EIO, "cannot lock store %s: %s", store->dir,
                               strerror(errno));
    }
    return 0;
}


void store_unlock(ohlcx_store *store)
{
    flock(store->lock_fd, LOCK_UN);
}
