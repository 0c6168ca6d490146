/*
 * Readers: one published version of a series, mapped column by column, with
 * row ranges decoded on demand.
 *
 * A reader takes no lock. It reads CURRENT, then maps the files of that
 * version. A writer may publish a newer version and delete this one in
 * between; opening then fails, and the reader starts again from the new
 * CURRENT. Once mapped, the files stay readable even after they are deleted.
 */
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "store/store_internal.h"

/* Attempts to open a version that writers keep replacing before giving up. */
#define OPEN_ATTEMPTS 20


static int encoding_matches(int column, int encoding)
{
    int type = store_column_type(column);

    if (type == OHLCX_STORE_FLOAT64)
        return encoding == OHLCX_STORE_FLOAT64 || encoding == OHLCX_STORE_TICKS;
    return encoding == type;
}


static int column_present(unsigned extra, int column)
{
    return column < OHLCX_STORE_QUOTE_VOLUME ||
           (extra & (1u << (column - OHLCX_STORE_QUOTE_VOLUME))) != 0;
}


static void close_columns(ohlcx_store_reader *reader)
{
    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++) {
        if (reader->present[i])
            store_column_close(&reader->columns[i]);
        reader->present[i] = 0;
    }
}


static int open_column(ohlcx_store_reader *reader, const char *version_folder, int column)
{
    char path[STORE_PATH_MAX];
    store_column *mapped = &reader->columns[column];
    int status = store_column_path(version_folder, column, path);

    if (status == 0)
        status = store_column_open(mapped, path);
    if (status != 0)
        return status;
    reader->present[column] = 1;
    if (!encoding_matches(column, mapped->encoding))
        return ohlcx_set_error(OHLCX_EFORMAT, "corrupt column file %s: wrong encoding %d for "
                               "column %s", path, mapped->encoding, store_column_name(column));
    if (mapped->rows != reader->manifest.rows)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "corrupt column file %s: %llu rows where the manifest says %llu",
                               path, (unsigned long long)mapped->rows,
                               (unsigned long long)reader->manifest.rows);
    return 0;
}


static int open_version(ohlcx_store_reader *reader, int64_t version)
{
    char version_folder[STORE_PATH_MAX], path[STORE_PATH_MAX + 16];
    int status = store_version_folder(reader->folder, version, version_folder);

    if (status != 0)
        return status;
    snprintf(path, sizeof path, "%s/manifest.json", version_folder);
    status = store_manifest_read(path, &reader->manifest);
    if (status == 0 && reader->manifest.version != version)
        status = ohlcx_set_error(OHLCX_EFORMAT, "corrupt manifest %s: version %lld in folder v%lld",
                                 path, (long long)reader->manifest.version, (long long)version);
    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT && status == 0; i++)
        if (column_present(reader->manifest.extra, i))
            status = open_column(reader, version_folder, i);
    if (status != 0)
        close_columns(reader);
    return status;
}


/* Opens the version named by CURRENT. Returns 1 when the folder has none. */
int store_reader_open_folder(const char *folder, ohlcx_store_reader **out)
{
    ohlcx_store_reader *reader = calloc(1, sizeof *reader);
    int64_t version = 0, now = 0;
    int status = 0;

    *out = NULL;
    if (reader == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory opening a series reader");
    snprintf(reader->folder, sizeof reader->folder, "%s", folder);
    for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
        status = store_read_current(folder, &version);
        if (status != 0)
            break;
        status = open_version(reader, version);
        if (status == 0)
            break;
        /* Retry only when a writer has moved CURRENT in the meantime. */
        if (store_read_current(folder, &now) != 0 || now == version)
            break;
    }
    if (status != 0) {
        free(reader);
        return status;
    }
    *out = reader;
    return 0;
}


int ohlcx_store_reader_open(ohlcx_store *store, const char *symbol, const char *timeframe,
                            ohlcx_store_reader **out)
{
    char folder[STORE_PATH_MAX];
    int status = store_series_folder(store, symbol, timeframe, folder);

    *out = NULL;
    if (status == 0)
        status = store_reader_open_folder(folder, out);
    if (status == 1)
        status = ohlcx_set_error(OHLCX_EINVAL, "series %s %s not found in store %s: list the "
                                 "stored series with `ohlcx ls --store %s`", symbol, timeframe,
                                 store->dir, store->dir);
    return status;
}


void ohlcx_store_reader_close(ohlcx_store_reader *reader)
{
    if (reader == NULL)
        return;
    close_columns(reader);
    free(reader);
}


size_t ohlcx_store_reader_rows(const ohlcx_store_reader *reader)
{
    return (size_t)reader->manifest.rows;
}


unsigned ohlcx_store_reader_extra(const ohlcx_store_reader *reader)
{
    return reader->manifest.extra;
}


int64_t ohlcx_store_reader_version(const ohlcx_store_reader *reader)
{
    return reader->manifest.version;
}


int ohlcx_store_reader_column(const ohlcx_store_reader *reader, int column,
                              ohlcx_store_column_info *info)
{
    const store_column *mapped;

    if (column < 0 || column >= OHLCX_STORE_COLUMN_COUNT || !reader->present[column])
        return ohlcx_set_error(OHLCX_EINVAL, "series %s %s has no column %s",
                               reader->manifest.symbol, reader->manifest.timeframe,
                               store_column_name(column));
    mapped = &reader->columns[column];
    info->name = store_column_name(column);
    info->encoding = mapped->encoding;
    info->decimals = mapped->decimals;
    info->rows = mapped->rows;
    info->chunks = mapped->chunk_count;
    info->stored_bytes = mapped->map_size;
    return 0;
}


/* Sizes out for rows bars with the reader's optional columns. */
static int shape_series(const ohlcx_store_reader *reader, size_t rows, ohlcx_series *out)
{
    unsigned extra = reader->manifest.extra;
    int status;

    out->n = 0;
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++) {
        if ((out->extra & (1u << i)) && !(extra & (1u << i))) {
            free(out->extra_column[i]);
            out->extra_column[i] = NULL;
        }
    }
    out->extra &= extra;
    status = ohlcx_series_add_extra(out, extra);
    if (status == 0)
        status = ohlcx_series_reserve(out, rows);
    if (status != 0)
        return status;
    snprintf(out->symbol, sizeof out->symbol, "%s", reader->manifest.symbol);
    snprintf(out->timeframe, sizeof out->timeframe, "%s", reader->manifest.timeframe);
    /* The folder only labels messages, so a path cut to fit is acceptable. */
    if (snprintf(out->source_path, sizeof out->source_path, "%s", reader->folder) < 0)
        out->source_path[0] = '\0';
    out->asset_class = reader->manifest.asset_class;
    return 0;
}


int ohlcx_store_reader_read(ohlcx_store_reader *reader, size_t begin, size_t end,
                            ohlcx_series *out)
{
    size_t rows = ohlcx_store_reader_rows(reader);
    int status;

    if (begin > end || end > rows)
        return ohlcx_set_error(OHLCX_EINVAL, "rows [%zu, %zu) are outside series %s %s of %zu "
                               "rows", begin, end, reader->manifest.symbol,
                               reader->manifest.timeframe, rows);
    status = shape_series(reader, end - begin, out);
    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT && status == 0; i++)
        if (reader->present[i])
            status = store_column_read(&reader->columns[i], begin, end,
                                           store_series_column(out, i));
    if (status == 0)
        out->n = end - begin;
    return status;
}


/* Takes rows and the first and last open time from the open_time column's
 * header, without decoding it. */
void store_reader_bounds(const ohlcx_store_reader *reader, uint64_t *rows, int64_t *first,
                         int64_t *last)
{
    const store_column *times = &reader->columns[OHLCX_STORE_OPEN_TIME];
    store_chunk chunk;

    *rows = times->rows;
    *first = 0;
    *last = 0;
    if (times->chunk_count == 0)
        return;
    store_column_chunk(times, 0, &chunk);
    *first = chunk.first;
    store_column_chunk(times, times->chunk_count - 1, &chunk);
    *last = chunk.last;
}


int ohlcx_store_reader_lower_bound(ohlcx_store_reader *reader, int64_t open_time, size_t *row)
{
    return store_column_lower_bound(&reader->columns[OHLCX_STORE_OPEN_TIME], open_time, row);
}


int ohlcx_store_read(ohlcx_store *store, const char *symbol, const char *timeframe,
                     ohlcx_series *out)
{
    ohlcx_store_reader *reader = NULL;
    int status = ohlcx_store_reader_open(store, symbol, timeframe, &reader);

    if (status == 0)
        status = ohlcx_store_reader_read(reader, 0, ohlcx_store_reader_rows(reader), out);
    ohlcx_store_reader_close(reader);
    return status;
}
