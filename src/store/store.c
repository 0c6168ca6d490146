/*
 * Opening and closing a store, and repairing what an interrupted append left
 * behind.
 *
 * An append that is killed leaves at most: a .tmp-* folder, a v<N> folder
 * that CURRENT does not name (killed between the rename and the CURRENT
 * switch), an old v<N> folder (killed before deleting it), or a catalogue row
 * that names the previous version (killed before the commit). Repair deletes
 * the folders and rewrites the row from the published version's manifest and
 * open_time header. It needs the store lock, because the same leftovers are
 * work in progress while a writer runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "store/store_internal.h"
#include "util/util.h"


/* Sets *current to 1 when the catalogue row of the series names the version
 * published in folder. Only the manifest is read: an append writes the row of
 * version N from the files of version N, so equal versions agree. */
static int catalog_is_current(ohlcx_store *store, const char *folder, int64_t version,
                              int *current)
{
    char version_folder[STORE_PATH_MAX], path[STORE_PATH_MAX + 16];
    store_manifest manifest;
    int64_t id = 0, listed = 0, first = 0, last = 0;
    uint64_t rows = 0;
    int status = store_version_folder(folder, version, version_folder);

    *current = 0;
    if (status != 0)
        return status;
    snprintf(path, sizeof path, "%s/manifest.json", version_folder);
    status = store_manifest_read(path, &manifest);
    if (status == 0)
        status = store_catalog_version(store, manifest.symbol, manifest.timeframe, &id, &listed,
                                       &rows, &first, &last);
    if (status < 0)
        return status;
    *current = status == 0 && listed == version;
    return 0;
}


/* Rewrites the catalogue row from the published version's manifest and
 * open_time header. */
static int sync_catalog(ohlcx_store *store, const ohlcx_store_reader *reader)
{
    const store_manifest *manifest = &reader->manifest;
    store_series_state state = {.manifest = manifest};

    store_reader_bounds(reader, &state.rows, &state.first_open_time, &state.last_open_time);
    ohlcx_log_info("store %s: catalogue row of %s %s updated to version %lld after an "
                   "interrupted append",
                   store->dir, manifest->symbol, manifest->timeframe,
                   (long long)manifest->version);
    return store_catalog_commit(store, &state, manifest->has_source ? &manifest->record : NULL);
}


int store_repair_series(ohlcx_store *store, const char *folder)
{
    ohlcx_store_reader *reader = NULL;
    int64_t current = -1;
    int listed = 0;
    int status = store_read_current(folder, &current);

    if (status < 0)
        return status;
    if (status == 1) {
        /* Never published: the folder contains only leftovers, if anything. */
        status = store_clean_series_folder(folder, -1);
        if (status == 0) {
            rmdir(folder);
            return 1;
        }
        return status;
    }
    status = store_clean_series_folder(folder, current);
    if (status == 0)
        status = catalog_is_current(store, folder, current, &listed);
    if (status != 0 || listed)
        return status;
    status = store_reader_open_folder(folder, &reader);
    if (status == 0)
        status = sync_catalog(store, reader);
    ohlcx_store_reader_close(reader);
    return status;
}


/* Repairs every series folder under DIR/series/<symbol>/. A series that
 * cannot be repaired is logged and skipped, so that the others stay usable. */
static void repair_symbol_folder(ohlcx_store *store, const char *symbol_folder)
{
    DIR *dir = opendir(symbol_folder);
    struct dirent *entry;

    if (dir == NULL)
        return;
    while ((entry = readdir(dir)) != NULL) {
        char folder[STORE_PATH_MAX];
        int length;

        if (entry->d_name[0] == '.')
            continue;
        length = snprintf(folder, sizeof folder, "%s/%s", symbol_folder, entry->d_name);
        if (length < 0 || length >= (int)sizeof folder)
            continue; /* too long to be a series folder of this store */
        if (store_repair_series(store, folder) < 0)
            ohlcx_log_warn("store %s: %s", store->dir, ohlcx_last_error());
    }
    closedir(dir);
    rmdir(symbol_folder); /* succeeds only when no series is left */
}


/* Deletes catalogue rows whose series folder has no published version. */
static int drop_orphan_rows(ohlcx_store *store)
{
    ohlcx_store_entry *entries = NULL;
    size_t count = 0;
    int status = ohlcx_store_list(store, NULL, NULL, &entries, &count);

    for (size_t i = 0; i < count && status == 0; i++) {
        char folder[STORE_PATH_MAX];
        int64_t version;

        status = store_series_folder(store, entries[i].symbol, entries[i].timeframe, folder);
        if (status == 0 && store_read_current(folder, &version) == 1) {
            ohlcx_log_warn("store %s: series %s %s has no files; its catalogue row is deleted",
                           store->dir, entries[i].symbol, entries[i].timeframe);
            status = store_catalog_delete(store, entries[i].symbol, entries[i].timeframe);
        }
    }
    ohlcx_store_entries_free(entries, count);
    return status;
}


/* NOTE: this lists every series folder and reads one manifest per series, so
 * each open of a store with tens of thousands of series does that many small
 * reads. */
static int repair_all(ohlcx_store *store)
{
    char root[OHLCX_PATH_MAX + 16];
    DIR *dir;
    struct dirent *entry;

    snprintf(root, sizeof root, "%s/series", store->dir);
    dir = opendir(root);
    if (dir == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open folder %s: %s", root, strerror(errno));
    while ((entry = readdir(dir)) != NULL) {
        char symbol_folder[STORE_PATH_MAX];
        int length;

        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        length = snprintf(symbol_folder, sizeof symbol_folder, "%s/%s", root, entry->d_name);
        if (length < 0 || length >= (int)sizeof symbol_folder)
            continue;
        repair_symbol_folder(store, symbol_folder);
    }
    closedir(dir);
    if (store_clean_streams(store) != 0)
        ohlcx_log_warn("store %s: %s", store->dir, ohlcx_last_error());
    return drop_orphan_rows(store);
}


static int create_layout(ohlcx_store *store)
{
    char path[OHLCX_PATH_MAX + 16];
    int status;

    snprintf(path, sizeof path, "%s/series", store->dir);
    status = ohlcx_make_dirs(path);
    if (status != 0)
        return status;
    snprintf(path, sizeof path, "%s/lock", store->dir);
    store->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (store->lock_fd < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot open lock file %s: %s", path,
                               strerror(errno));
    return 0;
}


int ohlcx_store_open(const char *dir, ohlcx_store **out)
{
    ohlcx_store *store;
    size_t length = dir ? strlen(dir) : 0;
    int status;

    *out = NULL;
    while (length > 1 && dir[length - 1] == '/')
        length--;
    if (length == 0 || length >= OHLCX_PATH_MAX)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid store folder '%s': use a path of 1 to %d "
                               "bytes", dir ? dir : "", OHLCX_PATH_MAX - 1);
    store = calloc(1, sizeof *store);
    if (store == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory opening store %s", dir);
    memcpy(store->dir, dir, length);
    store->dir[length] = '\0';
    store->lock_fd = -1;
    store->threads = 1;

    status = create_layout(store);
    if (status == 0)
        status = store_catalog_open(store);
    if (status == 0) {
        /* Repair only while no writer runs; a running writer leaves a
         * consistent store, and the next open repairs what it could not. */
        status = store_lock(store, 0);
        if (status == 0) {
            status = repair_all(store);
            store_unlock(store);
        } else if (status == 1) {
            status = 0;
        }
    }
    if (status != 0) {
        ohlcx_store_close(store);
        return status;
    }
    *out = store;
    return 0;
}


void ohlcx_store_close(ohlcx_store *store)
{
    if (store == NULL)
        return;
    store_catalog_close(store);
    if (store->lock_fd >= 0)
        close(store->lock_fd);
    free(store);
}


int ohlcx_store_open_existing(const char *dir, ohlcx_store **out)
{
    char catalog[OHLCX_PATH_MAX + 32], series[OHLCX_PATH_MAX + 32];
    struct stat info;

    /* The series folder alone is a store whose catalogue open() rebuilds. */
    snprintf(catalog, sizeof catalog, "%s/catalog.sqlite", dir);
    snprintf(series, sizeof series, "%s/series", dir);
    if (stat(catalog, &info) != 0 && stat(series, &info) != 0)
        return ohlcx_set_error(OHLCX_EIO,
                               "no store at %s (%s not found): create one with ohlcx ingest "
                               "--store %s FILES",
                               dir, catalog, dir);
    return ohlcx_store_open(dir, out);
}


void ohlcx_store_set_threads(ohlcx_store *store, int threads)
{
    store->threads = threads < 1 ? 1 : threads;
}
