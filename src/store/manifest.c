/*
 * The manifest of a series version, v<N>/manifest.json: what the catalogue
 * row stores about the series, plus the source file of the append that made
 * this version. It travels with the column files, so a catalogue update lost
 * in a crash can be redone from the published version alone.
 *
 * Example:
 *   {"format": 2, "symbol": "BTCUSDT", "timeframe": "1h",
 *    "asset_class": "crypto", "source": "binance-kline-12", "version": 3,
 *    "rows": 8760, "extra": ["quote_volume", "trades"],
 *    "append": {"path": "in/BTCUSDT-1h.csv", "digest": "blake3:...",
 *               "size": 1234, "rows": 24, "added": 24, "identical": 0,
 *               "conflicts": 0, "ingested_at": 1700000000000000}}
 * Integers stay below 2^53, so JSON numbers hold them exactly.
 *
 * Format 1, written by earlier versions, has "sha256": "HEX" in place of
 * "digest". It is read as the digest "sha256:HEX".
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "store/store_internal.h"

#define MANIFEST_FORMAT 2
#define MANIFEST_MAX_BYTES (1 << 20)


static cJSON *record_object(const store_source_record *record)
{
    cJSON *object = cJSON_CreateObject();

    cJSON_AddStringToObject(object, "path", record->path);
    cJSON_AddStringToObject(object, "digest", record->digest);
    cJSON_AddNumberToObject(object, "size", (double)record->size);
    cJSON_AddNumberToObject(object, "rows", (double)record->rows);
    cJSON_AddNumberToObject(object, "added", (double)record->added);
    cJSON_AddNumberToObject(object, "identical", (double)record->identical);
    cJSON_AddNumberToObject(object, "conflicts", (double)record->conflicts);
    cJSON_AddNumberToObject(object, "ingested_at", (double)record->ingested_at);
    return object;
}


static char *manifest_text(const store_manifest *manifest)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *extra = cJSON_AddArrayToObject(root, "extra");
    char *text;

    cJSON_AddNumberToObject(root, "format", MANIFEST_FORMAT);
    cJSON_AddStringToObject(root, "symbol", manifest->symbol);
    cJSON_AddStringToObject(root, "timeframe", manifest->timeframe);
    cJSON_AddStringToObject(root, "asset_class", ohlcx_asset_class_name(manifest->asset_class));
    cJSON_AddStringToObject(root, "source", manifest->source);
    cJSON_AddNumberToObject(root, "version", (double)manifest->version);
    cJSON_AddNumberToObject(root, "rows", (double)manifest->rows);
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        if (manifest->extra & (1u << i))
            cJSON_AddItemToArray(extra, cJSON_CreateString(ohlcx_extra_name(i)));
    if (manifest->has_source)
        cJSON_AddItemToObject(root, "append", record_object(&manifest->record));
    text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}


int store_manifest_write(const char *path, const store_manifest *manifest)
{
    char *text = manifest_text(manifest);
    size_t length;
    int fd, status = 0;

    if (text == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", path);
    length = strlen(text);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", path, strerror(errno));
    } else {
        if (write(fd, text, length) != (ssize_t)length || fsync(fd) != 0)
            status = ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", path, strerror(errno));
        if (close(fd) != 0 && status == 0)
            status = ohlcx_set_error(OHLCX_EIO, "cannot close %s: %s", path, strerror(errno));
    }
    cJSON_free(text);
    return status;
}


static char *read_text(const char *path, int *status)
{
    struct stat info;
    char *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *status = 0;
    if (fd < 0) {
        *status = ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &info) != 0 || info.st_size > MANIFEST_MAX_BYTES) {
        *status = ohlcx_set_error(OHLCX_EFORMAT, "manifest %s is unreadable or too large", path);
        goto done;
    }
    text = malloc((size_t)info.st_size + 1);
    if (text == NULL) {
        *status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    if (read(fd, text, (size_t)info.st_size) != (ssize_t)info.st_size) {
        *status = ohlcx_set_error(OHLCX_EIO, "cannot read %s", path);
        free(text);
        text = NULL;
        goto done;
    }
    text[info.st_size] = '\0';

done:
    close(fd);
    return text;
}


/* Copies a string member into out (size bytes); returns 0 when it is
 * missing, not a string or too long. */
static int copy_string(const cJSON *object, const char *name, char *out, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    if (!cJSON_IsString(item) || strlen(item->valuestring) >= size)
        return 0;
    memcpy(out, item->valuestring, strlen(item->valuestring) + 1);
    return 1;
}


/* Reads a non-negative integer member; returns 0 when it is missing or not
 * a whole number. */
static int read_integer(const cJSON *object, const char *name, int64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble > 9.0e15 ||
        item->valuedouble != (double)(int64_t)item->valuedouble)
        return 0;
    *out = (int64_t)item->valuedouble;
    return 1;
}


/* Reads the record's digest: "digest" in format 2, a bare "sha256" in
 * format 1. */
static int parse_digest(const cJSON *object, int64_t format, store_source_record *record)
{
    const char *name = format == 1 ? "sha256" : "digest";
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    return cJSON_IsString(item) && store_normalize_digest(item->valuestring, record->digest) == 0;
}


static int parse_record(const cJSON *object, int64_t format, store_source_record *record)
{
    return cJSON_IsObject(object) &&
           copy_string(object, "path", record->path, sizeof record->path) &&
           parse_digest(object, format, record) &&
           read_integer(object, "size", &record->size) &&
           read_integer(object, "rows", &record->rows) &&
           read_integer(object, "added", &record->added) &&
           read_integer(object, "identical", &record->identical) &&
           read_integer(object, "conflicts", &record->conflicts) &&
           read_integer(object, "ingested_at", &record->ingested_at);
}


int store_asset_class_from_name(const char *name)
{
    for (int i = 0; i < OHLCX_ASSET_COUNT; i++)
        if (strcmp(name, ohlcx_asset_class_name(i)) == 0)
            return i;
    return -1;
}


static int parse_asset_class(const cJSON *root, int *asset_class)
{
    char name[32];

    if (!copy_string(root, "asset_class", name, sizeof name))
        return 0;
    *asset_class = store_asset_class_from_name(name);
    return *asset_class >= 0;
}


static int parse_extra(const cJSON *root, unsigned *extra)
{
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(root, "extra");
    const cJSON *item;

    *extra = 0;
    if (!cJSON_IsArray(array))
        return 0;
    cJSON_ArrayForEach(item, array) {
        int found = 0;
        for (int i = 0; i < OHLCX_EXTRA_COUNT && cJSON_IsString(item); i++) {
            if (strcmp(item->valuestring, ohlcx_extra_name(i)) == 0) {
                *extra |= 1u << i;
                found = 1;
            }
        }
        if (!found)
            return 0;
    }
    return 1;
}


static int parse_manifest(const cJSON *root, store_manifest *manifest)
{
    const cJSON *append = cJSON_GetObjectItemCaseSensitive(root, "append");
    int64_t format = 0, rows = 0;
    int ok;

    ok = read_integer(root, "format", &format) && format >= 1 && format <= MANIFEST_FORMAT &&
         copy_string(root, "symbol", manifest->symbol, sizeof manifest->symbol) &&
         copy_string(root, "timeframe", manifest->timeframe, sizeof manifest->timeframe) &&
         ohlcx_timeframe_id(manifest->timeframe) >= 0 &&
         parse_asset_class(root, &manifest->asset_class) &&
         copy_string(root, "source", manifest->source, sizeof manifest->source) &&
         read_integer(root, "version", &manifest->version) && manifest->version > 0 &&
         read_integer(root, "rows", &rows) && parse_extra(root, &manifest->extra);
    manifest->rows = (uint64_t)rows;
    if (ok && append != NULL) {
        manifest->has_source = 1;
        ok = parse_record(append, format, &manifest->record);
    }
    return ok;
}


int store_manifest_read(const char *path, store_manifest *manifest)
{
    int status;
    char *text = read_text(path, &status);
    cJSON *root;

    memset(manifest, 0, sizeof *manifest);
    if (text == NULL)
        return status;
    root = cJSON_Parse(text);
    free(text);
    if (root == NULL || !parse_manifest(root, manifest))
        status = ohlcx_set_error(OHLCX_EFORMAT,
                                 "corrupt manifest %s: a field is missing or invalid; restore "
                                 "the store from a backup, or delete the series folder and "
                                 "ingest its source files again",
                                 path);
    cJSON_Delete(root);
    return status;
}
