/*
 * Tests of the streaming store writer: a new series streamed in pieces must
 * read, list and report exactly as ohlcx_store_append() of all its rows
 * leaves it, with the same chunks in every column file. So must new rows
 * streamed after a stored series (ohlcx_store_stream_begin_append()).
 *
 * Each comparison appends the series to one store and streams it into
 * another, cut into pieces of 1, 1000, 65536 and 100000 rows and in one
 * piece. It then compares the decoded columns bit for bit, the column files
 * chunk by chunk, the manifests, the catalogue rows and the reports.
 */
#define _GNU_SOURCE /* nftw() */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ohlcx/error.h"
#include "ohlcx/series.h"
#include "ohlcx/store.h"
#include "store/store_internal.h"

#include "test_folder_helpers.h"

#define MINUTE OHLCX_US_PER_MINUTE
#define CHUNK OHLCX_STORE_CHUNK_ROWS
/* 2023-11-14 22:13:20 UTC, a whole minute. */
#define T0 INT64_C(1700000000000000)

/* Piece sizes each comparison streams with; 0 is the whole series at once. */
static const size_t cuttings[] = {1, 1000, CHUNK, 100000, 0};


/* Helpers. */


static uint64_t next_random(uint64_t *state)
{
    /* xorshift64* */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}


static void start_series(ohlcx_series *s, const char *symbol, unsigned extra)
{
    ohlcx_series_init(s);
    snprintf(s->symbol, sizeof s->symbol, "%s", symbol);
    snprintf(s->timeframe, sizeof s->timeframe, "1m");
    s->asset_class = OHLCX_ASSET_CRYPTO;
    assert_int_equal(ohlcx_series_add_extra(s, extra), 0);
}


/* Fills s with n one-minute bars from T0: a random walk of whole ticks of
 * 10^-decimals near 100, volumes in thousandths, and, when s has them,
 * quote volumes in hundredths and whole trade counts. */
static void random_walk(ohlcx_series *s, size_t n, int decimals, uint64_t seed)
{
    double scale = pow(10, decimals);
    int64_t close = (int64_t)(100 * scale) + 1;
    uint64_t state = seed;

    for (size_t i = 0; i < n; i++) {
        int64_t open = close;
        int64_t high, low;

        close = open + (int64_t)(next_random(&state) % 81) - 40;
        high = (open > close ? open : close) + (int64_t)(next_random(&state) % 10);
        low = (open < close ? open : close) - (int64_t)(next_random(&state) % 10);
        assert_int_equal(ohlcx_series_append(s, T0 + (int64_t)i * MINUTE, open / scale,
                                             high / scale, low / scale, close / scale,
                                             (double)(next_random(&state) % 100000) / 1000),
                         0);
        if (s->extra & OHLCX_EXTRA_QUOTE_VOLUME)
            s->extra_column[0][i] = (double)(next_random(&state) % 10000000) / 100;
        if (s->extra & OHLCX_EXTRA_TRADES)
            s->extra_column[1][i] = (double)(next_random(&state) % 5000);
    }
}


/* Returns rows [begin, begin + n) of s as a series that shares its columns
 * (not to be freed). */
static ohlcx_series view(const ohlcx_series *s, size_t begin, size_t n)
{
    ohlcx_series part = *s;

    part.n = n;
    part.capacity = n;
    part.open_time = s->open_time + begin;
    part.open = s->open + begin;
    part.high = s->high + begin;
    part.low = s->low + begin;
    part.close = s->close + begin;
    part.volume = s->volume + begin;
    part.flags = s->flags + begin;
    for (int k = 0; k < OHLCX_EXTRA_COUNT; k++)
        if (s->extra_column[k] != NULL)
            part.extra_column[k] = s->extra_column[k] + begin;
    return part;
}


/* Streams s into store in pieces of cut rows (0: one piece) and commits,
 * begun with ohlcx_store_stream_begin_append() when append is set. Returns
 * the commit's status. */
static int stream_rows(ohlcx_store *store, const ohlcx_series *s, size_t cut, uint64_t rows_max,
                       int append, const ohlcx_store_source *source,
                       ohlcx_append_report *report)
{
    ohlcx_store_stream *stream = NULL;
    size_t piece = cut == 0 ? s->n : cut;
    int status;

    if (append)
        assert_int_equal(ohlcx_store_stream_begin_append(store, s, rows_max, &stream), 0);
    else
        assert_int_equal(ohlcx_store_stream_begin(store, s, rows_max, &stream), 0);
    for (size_t row = 0; row < s->n; row += piece) {
        ohlcx_series part = view(s, row, s->n - row < piece ? s->n - row : piece);
        assert_int_equal(ohlcx_store_stream_write(stream, &part), 0);
    }
    status = ohlcx_store_stream_commit(stream, source, report);
    ohlcx_store_stream_free(stream);
    return status;
}


static int stream_series(ohlcx_store *store, const ohlcx_series *s, size_t cut,
                         uint64_t rows_max, const ohlcx_store_source *source,
                         ohlcx_append_report *report)
{
    return stream_rows(store, s, cut, rows_max, 0, source, report);
}


static void assert_series_equal(const ohlcx_series *expected, const ohlcx_series *actual)
{
    size_t n = expected->n;

    assert_int_equal(actual->n, n);
    assert_int_equal(actual->extra, expected->extra);
    assert_int_equal(actual->asset_class, expected->asset_class);
    assert_memory_equal(expected->open_time, actual->open_time, n * sizeof(int64_t));
    assert_memory_equal(expected->open, actual->open, n * sizeof(double));
    assert_memory_equal(expected->high, actual->high, n * sizeof(double));
    assert_memory_equal(expected->low, actual->low, n * sizeof(double));
    assert_memory_equal(expected->close, actual->close, n * sizeof(double));
    assert_memory_equal(expected->volume, actual->volume, n * sizeof(double));
    assert_memory_equal(expected->flags, actual->flags, n);
    for (int k = 0; k < OHLCX_EXTRA_COUNT; k++)
        if (expected->extra & (1u << k))
            assert_memory_equal(expected->extra_column[k], actual->extra_column[k],
                                n * sizeof(double));
}


static void series_version_folder(const char *dir, const char *symbol, int version, char *out,
                                  size_t size)
{
    snprintf(out, size, "%s/series/%s/1m/v%d", dir, symbol, version);
}


static void version_folder(const char *dir, const char *symbol, char *out, size_t size)
{
    series_version_folder(dir, symbol, 1, out, size);
}


/* Compares one column file of the appended (a) and streamed (b) series:
 * header fields, every chunk table entry but the offset, and the compressed
 * chunk bytes. With identical set, the whole files must be equal too. */
static void compare_column_files(const char *a_folder, const char *b_folder, int column,
                                 int identical)
{
    char a_path[STORE_PATH_MAX], b_path[STORE_PATH_MAX];
    store_column a, b;

    assert_int_equal(store_column_path(a_folder, column, a_path), 0);
    assert_int_equal(store_column_path(b_folder, column, b_path), 0);
    assert_int_equal(store_column_open(&a, a_path), 0);
    assert_int_equal(store_column_open(&b, b_path), 0);
    assert_int_equal(b.encoding, a.encoding);
    assert_int_equal(b.decimals, a.decimals);
    assert_int_equal(b.chunk_rows, a.chunk_rows);
    assert_int_equal(b.chunk_count, a.chunk_count);
    assert_int_equal(b.rows, a.rows);
    for (uint32_t i = 0; i < a.chunk_count; i++) {
        store_chunk ca, cb;

        store_column_chunk(&a, i, &ca);
        store_column_chunk(&b, i, &cb);
        assert_int_equal(cb.bytes, ca.bytes);
        assert_int_equal(cb.rows, ca.rows);
        assert_int_equal(cb.crc, ca.crc);
        assert_int_equal(cb.planes, ca.planes);
        assert_int_equal(cb.first, ca.first);
        assert_int_equal(cb.last, ca.last);
        assert_memory_equal(a.map + ca.offset, b.map + cb.offset, ca.bytes);
    }
    if (identical) {
        assert_int_equal(b.map_size, a.map_size);
        assert_memory_equal(a.map, b.map, a.map_size);
    }
    store_column_close(&a);
    store_column_close(&b);
}


static void compare_manifests(const char *a_folder, const char *b_folder)
{
    char path[STORE_PATH_MAX + 32];
    store_manifest a, b;

    snprintf(path, sizeof path, "%s/manifest.json", a_folder);
    assert_int_equal(store_manifest_read(path, &a), 0);
    snprintf(path, sizeof path, "%s/manifest.json", b_folder);
    assert_int_equal(store_manifest_read(path, &b), 0);
    /* The ingest times differ; every other field must not. */
    b.record.ingested_at = a.record.ingested_at;
    assert_string_equal(b.symbol, a.symbol);
    assert_string_equal(b.timeframe, a.timeframe);
    assert_string_equal(b.source, a.source);
    assert_string_equal(b.record.path, a.record.path);
    assert_string_equal(b.record.digest, a.record.digest);
    assert_int_equal(b.asset_class, a.asset_class);
    assert_int_equal(b.version, a.version);
    assert_int_equal(b.rows, a.rows);
    assert_int_equal(b.extra, a.extra);
    assert_int_equal(b.has_source, a.has_source);
    assert_int_equal(b.record.size, a.record.size);
    assert_int_equal(b.record.rows, a.record.rows);
    assert_int_equal(b.record.added, a.record.added);
    assert_int_equal(b.record.identical, a.record.identical);
    assert_int_equal(b.record.conflicts, a.record.conflicts);
}


/* Returns the source_files rows of a store as text, ingest times left out. */
static void source_rows(const char *dir, char *out, size_t size)
{
    char path[600];
    sqlite3 *db = NULL;
    sqlite3_stmt *statement = NULL;
    size_t length = 0;

    out[0] = '\0';
    snprintf(path, sizeof path, "%s/catalog.sqlite", dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT path, digest, size, rows, added, identical, "
                                        "conflicts, series_id FROM source_files ORDER BY id",
                                        -1, &statement, NULL),
                     SQLITE_OK);
    while (sqlite3_step(statement) == SQLITE_ROW && length < size) {
        length += (size_t)snprintf(out + length, size - length, "%s|%s|%lld|%lld|%lld|%lld|%lld|%lld\n",
                                   sqlite3_column_text(statement, 0),
                                   sqlite3_column_text(statement, 1),
                                   sqlite3_column_int64(statement, 2),
                                   sqlite3_column_int64(statement, 3),
                                   sqlite3_column_int64(statement, 4),
                                   sqlite3_column_int64(statement, 5),
                                   sqlite3_column_int64(statement, 6),
                                   sqlite3_column_int64(statement, 7));
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
}


static void compare_catalogs(ohlcx_store *a_store, const char *a_dir, ohlcx_store *b_store,
                             const char *b_dir, const char *symbol)
{
    ohlcx_store_entry a, b;
    char a_sources[4096], b_sources[4096];

    assert_int_equal(ohlcx_store_get(a_store, symbol, "1m", &a), 0);
    assert_int_equal(ohlcx_store_get(b_store, symbol, "1m", &b), 0);
    assert_string_equal(b.source, a.source);
    assert_int_equal(b.asset_class, a.asset_class);
    assert_int_equal(b.rows, a.rows);
    assert_int_equal(b.first_open_time, a.first_open_time);
    assert_int_equal(b.last_open_time, a.last_open_time);
    assert_int_equal(b.version, a.version);
    assert_null(a.quality);
    assert_null(b.quality);
    assert_string_equal(b.derived_from, a.derived_from);
    ohlcx_store_entry_free(&a);
    ohlcx_store_entry_free(&b);

    source_rows(a_dir, a_sources, sizeof a_sources);
    source_rows(b_dir, b_sources, sizeof b_sources);
    assert_string_equal(b_sources, a_sources);
}


/* Appends s to a new store, streams it into another with every cutting,
 * and compares the two stores. rows_max is s->n plus slack; with slack 0
 * the column files must be byte-identical. */
static void compare_with_append(const ohlcx_series *s, uint64_t slack)
{
    char a_dir[512], a_folder[STORE_PATH_MAX];
    ohlcx_store *a_store = NULL;
    ohlcx_append_report a_report;
    ohlcx_store_source source = {"/data/BTCUSDT-1m.csv",
                                 "blake3:00112233445566778899aabbccddeeff00112233445566778899"
                                 "aabbccddeeff",
                                 12345, "binance-kline-12"};
    ohlcx_series a_back;

    assert_int_equal(make_temp_folder("ohlcx-stream-a", a_dir, sizeof a_dir), 0);
    assert_int_equal(ohlcx_store_open(a_dir, &a_store), 0);
    assert_int_equal(ohlcx_store_append(a_store, s, &source, &a_report), 0);
    version_folder(a_dir, s->symbol, a_folder, sizeof a_folder);
    ohlcx_series_init(&a_back);
    assert_int_equal(ohlcx_store_read(a_store, s->symbol, "1m", &a_back), 0);
    assert_series_equal(s, &a_back);

    for (size_t c = 0; c < sizeof cuttings / sizeof cuttings[0]; c++) {
        char b_dir[512], b_folder[STORE_PATH_MAX];
        ohlcx_store *b_store = NULL;
        ohlcx_append_report b_report;
        ohlcx_series b_back;
        ohlcx_store_reader *a_reader = NULL, *b_reader = NULL;

        if (cuttings[c] > s->n)
            continue;
        assert_int_equal(make_temp_folder("ohlcx-stream-b", b_dir, sizeof b_dir), 0);
        assert_int_equal(ohlcx_store_open(b_dir, &b_store), 0);
        assert_int_equal(stream_series(b_store, s, cuttings[c], s->n + slack, &source,
                                       &b_report),
                         0);
        assert_memory_equal(&a_report, &b_report, sizeof a_report);

        ohlcx_series_init(&b_back);
        assert_int_equal(ohlcx_store_read(b_store, s->symbol, "1m", &b_back), 0);
        assert_series_equal(&a_back, &b_back);
        ohlcx_series_free(&b_back);

        assert_int_equal(ohlcx_store_reader_open(a_store, s->symbol, "1m", &a_reader), 0);
        assert_int_equal(ohlcx_store_reader_open(b_store, s->symbol, "1m", &b_reader), 0);
        for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++) {
            ohlcx_store_column_info a_info, b_info;
            int a_status = ohlcx_store_reader_column(a_reader, i, &a_info);

            assert_int_equal(ohlcx_store_reader_column(b_reader, i, &b_info), a_status);
            if (a_status != 0)
                continue;
            assert_int_equal(b_info.encoding, a_info.encoding);
            assert_int_equal(b_info.decimals, a_info.decimals);
            assert_int_equal(b_info.rows, a_info.rows);
            assert_int_equal(b_info.chunks, a_info.chunks);
        }
        ohlcx_store_reader_close(a_reader);
        ohlcx_store_reader_close(b_reader);

        version_folder(b_dir, s->symbol, b_folder, sizeof b_folder);
        for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++) {
            store_manifest columns = {.extra = s->extra};
            if (store_column_written(&columns, i))
                compare_column_files(a_folder, b_folder, i, slack == 0);
        }
        compare_manifests(a_folder, b_folder);
        compare_catalogs(a_store, a_dir, b_store, b_dir, s->symbol);

        ohlcx_store_close(b_store);
        remove_tree(b_dir);
    }
    ohlcx_series_free(&a_back);
    ohlcx_store_close(a_store);
    remove_tree(a_dir);
}


static ohlcx_store_column_info column_info(ohlcx_store *store, const char *symbol, int column)
{
    ohlcx_store_reader *reader = NULL;
    ohlcx_store_column_info info;

    assert_int_equal(ohlcx_store_reader_open(store, symbol, "1m", &reader), 0);
    assert_int_equal(ohlcx_store_reader_column(reader, column, &info), 0);
    ohlcx_store_reader_close(reader);
    return info;
}


/* Comparisons with ohlcx_store_append(). */


/* Three bars streamed one at a time. Closes 100.25, 100.5 and 99.75 are
 * quarters, so the smallest decimals at which each is an exact tick is 2
 * (10025, 10050 and 9975 ticks). Volumes of 10 are whole, so 0 decimals. */
static void stream_hand_checked(void **state)
{
    char dir[512];
    ohlcx_store *store = NULL;
    ohlcx_series s, back;
    ohlcx_store_column_info info;
    ohlcx_append_report report;

    (void)state;
    start_series(&s, "HAND", 0);
    assert_int_equal(ohlcx_series_append(&s, T0, 100, 100.5, 99.5, 100.25, 10), 0);
    assert_int_equal(ohlcx_series_append(&s, T0 + MINUTE, 100.25, 101, 100, 100.5, 10), 0);
    assert_int_equal(ohlcx_series_append(&s, T0 + 2 * MINUTE, 100.5, 100.5, 99, 99.75, 10), 0);
    assert_int_equal(make_temp_folder("ohlcx-stream", dir, sizeof dir), 0);
    assert_int_equal(ohlcx_store_open(dir, &store), 0);
    assert_int_equal(stream_series(store, &s, 1, 3, NULL, &report), 0);
    assert_int_equal(report.rows_in, 3);
    assert_int_equal(report.added, 3);
    assert_int_equal(report.rows, 3);
    assert_int_equal(report.version, 1);

    ohlcx_series_init(&back);
    assert_int_equal(ohlcx_store_read(store, "HAND", "1m", &back), 0);
    assert_int_equal(back.n, 3);
    assert_int_equal(back.open_time[2], T0 + 2 * MINUTE);
    assert_true(back.close[0] == 100.25);
    assert_true(back.close[1] == 100.5);
    assert_true(back.close[2] == 99.75);
    info = column_info(store, "HAND", OHLCX_STORE_CLOSE);
    assert_int_equal(info.encoding, OHLCX_STORE_TICKS);
    assert_int_equal(info.decimals, 2);
    assert_int_equal(info.chunks, 1);
    info = column_info(store, "HAND", OHLCX_STORE_VOLUME);
    assert_int_equal(info.encoding, OHLCX_STORE_TICKS);
    assert_int_equal(info.decimals, 0);

    ohlcx_series_free(&back);
    ohlcx_store_close(store);
    remove_tree(dir);
    compare_with_append(&s, 0);
    ohlcx_series_free(&s);
}


/* 200,001 rows: 3 full chunks and a last chunk of 3,393 rows. */
static void stream_ticks_two_decimals(void **state)
{
    ohlcx_series s;

    (void)state;
    start_series(&s, "TICKS", 0);
    random_walk(&s, 3 * CHUNK + 3393, 2, 11);
    compare_with_append(&s, 1000);
    ohlcx_series_free(&s);
}


/* Closes are whole tenths until row 100,000 and end in .x2345 from there,
 * so the second chunk needs 5 decimals where the first 512 rows gave 1. */
static void stream_decimals_rise(void **state)
{
    ohlcx_series s;
    ohlcx_store_column_info info;
    char dir[512];
    ohlcx_store *store = NULL;

    (void)state;
    start_series(&s, "RISE", 0);
    random_walk(&s, 200001, 1, 12);
    for (size_t i = 100000; i < s.n; i++)
        s.close[i] = (round(s.close[i] * 10) * 10000 + 2345) / 100000; /* x.x2345 */
    compare_with_append(&s, 50000);

    assert_int_equal(make_temp_folder("ohlcx-stream", dir, sizeof dir), 0);
    assert_int_equal(ohlcx_store_open(dir, &store), 0);
    assert_int_equal(stream_series(store, &s, 1000, s.n, NULL, NULL), 0);
    info = column_info(store, "RISE", OHLCX_STORE_CLOSE);
    assert_int_equal(info.encoding, OHLCX_STORE_TICKS);
    assert_int_equal(info.decimals, 5);
    ohlcx_store_close(store);
    remove_tree(dir);
    ohlcx_series_free(&s);
}


/* A volume of 1e-12 at row 150,000 needs 12 decimals, more than 10: the
 * column turns float64 in its third chunk. */
static void stream_float64_late(void **state)
{
    ohlcx_series s;
    ohlcx_store_column_info info;
    char dir[512];
    ohlcx_store *store = NULL;

    (void)state;
    start_series(&s, "LATE", 0);
    random_walk(&s, 200001, 2, 13);
    s.volume[150000] = 1e-12;
    compare_with_append(&s, 1);

    assert_int_equal(make_temp_folder("ohlcx-stream", dir, sizeof dir), 0);
    assert_int_equal(ohlcx_store_open(dir, &store), 0);
    assert_int_equal(stream_series(store, &s, 0, s.n, NULL, NULL), 0);
    info = column_info(store, "LATE", OHLCX_STORE_VOLUME);
    assert_int_equal(info.encoding, OHLCX_STORE_FLOAT64);
    info = column_info(store, "LATE", OHLCX_STORE_CLOSE);
    assert_int_equal(info.encoding, OHLCX_STORE_TICKS);
    ohlcx_store_close(store);
    remove_tree(dir);
    ohlcx_series_free(&s);
}


/* NaN in the quote volume of row 70,000 (second chunk) makes that column
 * float64; the trades column stays whole ticks. */
static void stream_nan_extra(void **state)
{
    ohlcx_series s;

    (void)state;
    start_series(&s, "NANX", OHLCX_EXTRA_QUOTE_VOLUME | OHLCX_EXTRA_TRADES);
    random_walk(&s, 140000, 2, 14);
    s.extra_column[0][70000] = NAN;
    compare_with_append(&s, 0);
    ohlcx_series_free(&s);
}


/* Exactly one chunk, with synthetic, partial and repaired flag bits. */
static void stream_flags_one_chunk(void **state)
{
    ohlcx_series s;

    (void)state;
    start_series(&s, "FLAGS", 0);
    random_walk(&s, CHUNK, 3, 15);
    for (size_t i = 0; i < s.n; i += 97)
        s.flags[i] = OHLCX_FLAG_SYNTHETIC;
    s.flags[CHUNK - 1] = OHLCX_FLAG_PARTIAL;
    s.flags[5] = OHLCX_FLAG_REPAIRED | OHLCX_FLAG_PARTIAL;
    compare_with_append(&s, 0);
    compare_with_append(&s, 3 * CHUNK);
    ohlcx_series_free(&s);
}


static void stream_one_row(void **state)
{
    ohlcx_series s;

    (void)state;
    start_series(&s, "ONE", OHLCX_EXTRA_TRADES);
    random_walk(&s, 1, 2, 16);
    compare_with_append(&s, 0);
    compare_with_append(&s, 999999);
    ohlcx_series_free(&s);
}


/* A close of 1e15 in the first chunk is a tick only at 0 decimals (at 1 its
 * tick passes 2^50 = 1.13e15), and 0.5 in the third chunk needs 1 decimal.
 * After the raise the first chunk fails, so the column becomes float64. */
static void stream_tick_overflow_float64(void **state)
{
    ohlcx_series s;

    (void)state;
    start_series(&s, "HUGE", 0);
    random_walk(&s, 150000, 0, 17);
    s.close[10] = 1e15;
    s.close[140000] = 0.5;
    compare_with_append(&s, 7);
    ohlcx_series_free(&s);
}


/* Stream rules. */


typedef struct fixture {
    char dir[512];
    ohlcx_store *store;
} fixture;


static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    if (make_temp_folder("ohlcx-stream", f->dir, sizeof f->dir) != 0 ||
        ohlcx_store_open(f->dir, &f->store) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}


static int teardown(void **state)
{
    fixture *f = *state;

    ohlcx_store_close(f->store);
    remove_tree(f->dir);
    free(f);
    return 0;
}


/* Returns the entries of DIR/tmp other than "." and "..". */
static int stream_folders(const char *dir)
{
    char path[600];
    DIR *listing;
    struct dirent *entry;
    int count = 0;

    snprintf(path, sizeof path, "%s/tmp", dir);
    listing = opendir(path);
    if (listing == NULL)
        return 0;
    while ((entry = readdir(listing)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            count++;
    closedir(listing);
    return count;
}


static int path_exists(const char *path)
{
    struct stat info;

    return stat(path, &info) == 0;
}


static void begin_existing_series(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_series s;

    start_series(&s, "OLD", 0);
    random_walk(&s, 10, 2, 21);
    assert_int_equal(ohlcx_store_append(f->store, &s, NULL, NULL), 0);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, 10, &stream), OHLCX_WHOLE_SERIES);
    assert_null(stream);
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&s);
}


/* The series is appended between begin and commit: the commit returns
 * OHLCX_WHOLE_SERIES and the store keeps the appended rows only. */
static void commit_after_append(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_series s, other, back;
    ohlcx_append_report report;
    ohlcx_store_entry entry;
    char path[700];

    start_series(&s, "RACE", 0);
    random_walk(&s, 5000, 2, 22);
    start_series(&other, "RACE", 0);
    random_walk(&other, 300, 3, 23);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, s.n, &stream), 0);
    assert_int_equal(ohlcx_store_stream_write(stream, &s), 0);
    assert_int_equal(ohlcx_store_append(f->store, &other, NULL, NULL), 0);
    assert_int_equal(ohlcx_store_stream_commit(stream, NULL, &report), OHLCX_WHOLE_SERIES);
    ohlcx_store_stream_free(stream);

    ohlcx_series_init(&back);
    assert_int_equal(ohlcx_store_read(f->store, "RACE", "1m", &back), 0);
    assert_series_equal(&other, &back);
    assert_int_equal(ohlcx_store_get(f->store, "RACE", "1m", &entry), 0);
    assert_int_equal(entry.rows, 300);
    assert_int_equal(entry.version, 1);
    ohlcx_store_entry_free(&entry);
    snprintf(path, sizeof path, "%s/series/RACE/1m/v2", f->dir);
    assert_false(path_exists(path));
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&back);
    ohlcx_series_free(&other);
    ohlcx_series_free(&s);
}


static void free_without_commit(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_store_entry *entries = NULL;
    ohlcx_series s;
    size_t count = 99;
    char path[700];

    start_series(&s, "GONE", 0);
    random_walk(&s, CHUNK + 10, 2, 24);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, s.n, &stream), 0);
    assert_int_equal(ohlcx_store_stream_write(stream, &s), 0);
    assert_int_equal(stream_folders(f->dir), 1);
    ohlcx_store_stream_free(stream);

    assert_int_equal(stream_folders(f->dir), 0);
    snprintf(path, sizeof path, "%s/series/GONE", f->dir);
    assert_false(path_exists(path));
    assert_int_equal(ohlcx_store_list(f->store, NULL, NULL, &entries, &count), 0);
    assert_int_equal(count, 0);
    ohlcx_store_entries_free(entries, count);
    ohlcx_series_free(&s);
}


/* A child begins a stream, writes a chunk and exits without freeing it, as
 * a killed process would. The next open deletes its folder. */
static void dead_stream_cleaned_on_open(void **state)
{
    fixture *f = *state;
    ohlcx_series s;
    pid_t child;
    int status = 0;

    start_series(&s, "DEAD", 0);
    random_walk(&s, CHUNK + 10, 2, 25);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        ohlcx_store *store = NULL;
        ohlcx_store_stream *stream = NULL;

        if (ohlcx_store_open(f->dir, &store) != 0 ||
            ohlcx_store_stream_begin(store, &s, s.n, &stream) != 0 ||
            ohlcx_store_stream_write(stream, &s) != 0)
            _exit(3);
        _exit(0);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(stream_folders(f->dir), 1);

    ohlcx_store_close(f->store);
    f->store = NULL;
    assert_int_equal(ohlcx_store_open(f->dir, &f->store), 0);
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&s);
}


/* Another open of the store while a stream runs (here in the same process)
 * leaves the stream's folder alone, and the stream commits. */
static void live_stream_survives_open(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_store *other = NULL;
    ohlcx_series s, back;

    start_series(&s, "LIVE", 0);
    random_walk(&s, CHUNK + 10, 2, 26);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, s.n, &stream), 0);
    assert_int_equal(ohlcx_store_stream_write(stream, &s), 0);
    assert_int_equal(ohlcx_store_open(f->dir, &other), 0);
    assert_int_equal(stream_folders(f->dir), 1);
    assert_int_equal(ohlcx_store_stream_commit(stream, NULL, NULL), 0);
    ohlcx_store_stream_free(stream);
    ohlcx_store_close(other);

    ohlcx_series_init(&back);
    assert_int_equal(ohlcx_store_read(f->store, "LIVE", "1m", &back), 0);
    assert_series_equal(&s, &back);
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&back);
    ohlcx_series_free(&s);
}


/* Two streams of one series in one process use two folders; the second
 * commit finds the series published by the first. */
static void two_streams_one_series(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *first = NULL, *second = NULL;
    ohlcx_series a, b, back;

    start_series(&a, "TWIN", 0);
    random_walk(&a, 3000, 2, 27);
    start_series(&b, "TWIN", 0);
    random_walk(&b, 2000, 2, 28);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &a, a.n, &first), 0);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &b, b.n, &second), 0);
    assert_int_equal(stream_folders(f->dir), 2);
    assert_int_equal(ohlcx_store_stream_write(first, &a), 0);
    assert_int_equal(ohlcx_store_stream_write(second, &b), 0);
    assert_int_equal(ohlcx_store_stream_commit(first, NULL, NULL), 0);
    assert_int_equal(ohlcx_store_stream_commit(second, NULL, NULL), OHLCX_WHOLE_SERIES);
    ohlcx_store_stream_free(second);
    ohlcx_store_stream_free(first);

    ohlcx_series_init(&back);
    assert_int_equal(ohlcx_store_read(f->store, "TWIN", "1m", &back), 0);
    assert_series_equal(&a, &back);
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&back);
    ohlcx_series_free(&b);
    ohlcx_series_free(&a);
}


/* Rows that repeat the last open time of the previous write are rejected,
 * and the stream then takes nothing more. */
static void unsorted_rows_rejected(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_series s, part;

    start_series(&s, "ORDER", 0);
    random_walk(&s, 100, 2, 29);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, s.n, &stream), 0);
    part = view(&s, 0, 50);
    assert_int_equal(ohlcx_store_stream_write(stream, &part), 0);
    part = view(&s, 49, 51);
    assert_int_equal(ohlcx_store_stream_write(stream, &part), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "at row 50"));
    part = view(&s, 50, 50);
    assert_int_equal(ohlcx_store_stream_write(stream, &part), OHLCX_EINVAL);
    assert_int_equal(ohlcx_store_stream_commit(stream, NULL, NULL), OHLCX_EINVAL);
    ohlcx_store_stream_free(stream);
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&s);
}


/* rows_max 10 leaves room for one chunk: 65536 rows stream, one more is
 * OHLCX_WHOLE_SERIES. */
static void rows_beyond_room(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_series s, part;

    start_series(&s, "ROOM", 0);
    random_walk(&s, CHUNK + 1, 2, 30);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, 10, &stream), 0);
    part = view(&s, 0, CHUNK);
    assert_int_equal(ohlcx_store_stream_write(stream, &part), 0);
    part = view(&s, CHUNK, 1);
    assert_int_equal(ohlcx_store_stream_write(stream, &part), OHLCX_WHOLE_SERIES);
    ohlcx_store_stream_free(stream);
    ohlcx_series_free(&s);
}


/* No rows: like ohlcx_store_append() of an empty series, nothing is
 * published and the report counts nothing. */
static void empty_stream_publishes_nothing(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_append_report report;
    ohlcx_store_reader *reader = NULL;
    ohlcx_series s;

    start_series(&s, "EMPTY", 0);
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, 0, &stream), 0);
    assert_int_equal(ohlcx_store_stream_commit(stream, NULL, &report), 0);
    ohlcx_store_stream_free(stream);
    assert_int_equal(report.rows_in, 0);
    assert_int_equal(report.version, 0);
    assert_int_equal(ohlcx_store_reader_open(f->store, "EMPTY", "1m", &reader), OHLCX_EINVAL);
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&s);
}


static void begin_rejects_invalid(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_series s;

    start_series(&s, "BAD", 0);
    s.asset_class = 99;
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, 10, &stream), OHLCX_EINVAL);
    s.asset_class = OHLCX_ASSET_CRYPTO;
    snprintf(s.timeframe, sizeof s.timeframe, "7x");
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, 10, &stream), OHLCX_EINVAL);
    snprintf(s.timeframe, sizeof s.timeframe, "1m");
    assert_int_equal(ohlcx_store_stream_begin(f->store, &s, UINT64_MAX, &stream),
                     OHLCX_EINVAL);
    assert_null(stream);
    ohlcx_series_free(&s);
}


/* Appends: new rows streamed after a stored series. */


static const ohlcx_store_source first_source = {
    "/data/BTCUSDT-1m-2023.csv",
    "blake3:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 12345,
    "binance-kline-12"};
static const ohlcx_store_source next_source = {
    "/data/BTCUSDT-1m-2024.csv",
    "blake3:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", 6789,
    "binance-kline-12"};


/* Appends old and then added to one store with ohlcx_store_append(). Into
 * other stores it appends old and streams added after it, with every
 * cutting, and compares the two stores at version 2 as
 * compare_with_append() does. With slack 0 the column files must be
 * byte-identical, because the chunk tables then have room for exactly the
 * chunks written. */
static void compare_append_stream(const ohlcx_series *old, const ohlcx_series *added,
                                  uint64_t slack)
{
    char a_dir[512], a_folder[STORE_PATH_MAX];
    ohlcx_store *a_store = NULL;
    ohlcx_append_report a_report;
    ohlcx_series a_back;

    assert_int_equal(make_temp_folder("ohlcx-append-a", a_dir, sizeof a_dir), 0);
    assert_int_equal(ohlcx_store_open(a_dir, &a_store), 0);
    assert_int_equal(ohlcx_store_append(a_store, old, &first_source, NULL), 0);
    assert_int_equal(ohlcx_store_append(a_store, added, &next_source, &a_report), 0);
    assert_int_equal(a_report.version, 2);
    assert_int_equal(a_report.added, added->n);
    series_version_folder(a_dir, old->symbol, 2, a_folder, sizeof a_folder);
    ohlcx_series_init(&a_back);
    assert_int_equal(ohlcx_store_read(a_store, old->symbol, "1m", &a_back), 0);
    assert_int_equal(a_back.n, old->n + added->n);

    for (size_t c = 0; c < sizeof cuttings / sizeof cuttings[0]; c++) {
        char b_dir[512], b_folder[STORE_PATH_MAX], v1[STORE_PATH_MAX];
        ohlcx_store *b_store = NULL;
        ohlcx_append_report b_report;
        ohlcx_series b_back;

        if (cuttings[c] > added->n)
            continue;
        assert_int_equal(make_temp_folder("ohlcx-append-b", b_dir, sizeof b_dir), 0);
        assert_int_equal(ohlcx_store_open(b_dir, &b_store), 0);
        assert_int_equal(ohlcx_store_append(b_store, old, &first_source, NULL), 0);
        assert_int_equal(stream_rows(b_store, added, cuttings[c], added->n + slack, 1,
                                     &next_source, &b_report),
                         0);
        assert_memory_equal(&a_report, &b_report, sizeof a_report);

        ohlcx_series_init(&b_back);
        assert_int_equal(ohlcx_store_read(b_store, old->symbol, "1m", &b_back), 0);
        assert_series_equal(&a_back, &b_back);
        ohlcx_series_free(&b_back);

        series_version_folder(b_dir, old->symbol, 2, b_folder, sizeof b_folder);
        for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++) {
            store_manifest columns = {.extra = old->extra};
            if (store_column_written(&columns, i))
                compare_column_files(a_folder, b_folder, i, slack == 0);
        }
        compare_manifests(a_folder, b_folder);
        compare_catalogs(a_store, a_dir, b_store, b_dir, old->symbol);
        series_version_folder(b_dir, old->symbol, 1, v1, sizeof v1);
        assert_false(path_exists(v1));
        assert_int_equal(stream_folders(b_dir), 0);

        ohlcx_store_close(b_store);
        remove_tree(b_dir);
    }
    ohlcx_series_free(&a_back);
    ohlcx_store_close(a_store);
    remove_tree(a_dir);
}


/* A stored series of one full chunk and 1,000 rows, then 100,000 rows: the
 * new version has 166,536 rows in 3 chunks, the first copied. */
static void append_partial_head(void **state)
{
    ohlcx_series s, old, added;
    char dir[512];
    ohlcx_store *store = NULL;
    ohlcx_store_column_info info;

    (void)state;
    start_series(&s, "PART", 0);
    random_walk(&s, CHUNK + 1000 + 100000, 2, 41);
    old = view(&s, 0, CHUNK + 1000);
    added = view(&s, CHUNK + 1000, 100000);
    compare_append_stream(&old, &added, 0);
    compare_append_stream(&old, &added, 70000);

    assert_int_equal(make_temp_folder("ohlcx-append", dir, sizeof dir), 0);
    assert_int_equal(ohlcx_store_open(dir, &store), 0);
    assert_int_equal(ohlcx_store_append(store, &old, NULL, NULL), 0);
    assert_int_equal(stream_rows(store, &added, 1000, added.n, 1, NULL, NULL), 0);
    info = column_info(store, "PART", OHLCX_STORE_OPEN_TIME);
    assert_int_equal(info.rows, 166536);
    assert_int_equal(info.chunks, 3);
    info = column_info(store, "PART", OHLCX_STORE_CLOSE);
    assert_int_equal(info.encoding, OHLCX_STORE_TICKS);
    assert_int_equal(info.decimals, 2);
    ohlcx_store_close(store);
    remove_tree(dir);
    ohlcx_series_free(&s);
}


/* Stored series of exactly one and two chunks: no partial chunk to decode,
 * and in the second case new rows of exactly one chunk. */
static void append_chunk_boundary(void **state)
{
    ohlcx_series s, old, added;

    (void)state;
    start_series(&s, "EDGE", OHLCX_EXTRA_QUOTE_VOLUME | OHLCX_EXTRA_TRADES);
    random_walk(&s, 3 * CHUNK, 3, 42);
    old = view(&s, 0, CHUNK);
    added = view(&s, CHUNK, 3000);
    compare_append_stream(&old, &added, 0);
    old = view(&s, 0, 2 * CHUNK);
    added = view(&s, 2 * CHUNK, CHUNK);
    compare_append_stream(&old, &added, 0);
    ohlcx_series_free(&s);
}


/* Stored closes are in hundredths, and new closes end in .xx01 (4
 * decimals). They start at the first new row in the first comparison, and
 * only 80,000 rows into the new rows (after the 512 rows that set the first
 * try) in the second. The copied head chunk is then decoded and encoded
 * again at 4 decimals. */
static void append_more_decimals(void **state)
{
    ohlcx_series s, old, added;
    char dir[512];
    ohlcx_store *store = NULL;
    ohlcx_store_column_info info;

    (void)state;
    start_series(&s, "DEC", 0);
    random_walk(&s, CHUNK + 500 + 100000, 2, 43);
    for (size_t i = CHUNK + 500; i < s.n; i++)
        s.close[i] = (round(s.close[i] * 100) * 100 + 1) / 10000; /* x.xx01 */
    old = view(&s, 0, CHUNK + 500);
    added = view(&s, CHUNK + 500, 100000);
    compare_append_stream(&old, &added, 0);

    assert_int_equal(make_temp_folder("ohlcx-append", dir, sizeof dir), 0);
    assert_int_equal(ohlcx_store_open(dir, &store), 0);
    assert_int_equal(ohlcx_store_append(store, &old, NULL, NULL), 0);
    info = column_info(store, "DEC", OHLCX_STORE_CLOSE);
    assert_int_equal(info.decimals, 2);
    assert_int_equal(stream_rows(store, &added, 0, added.n, 1, NULL, NULL), 0);
    info = column_info(store, "DEC", OHLCX_STORE_CLOSE);
    assert_int_equal(info.encoding, OHLCX_STORE_TICKS);
    assert_int_equal(info.decimals, 4);
    ohlcx_store_close(store);
    remove_tree(dir);

    ohlcx_series_free(&s);
    start_series(&s, "DEC", 0);
    random_walk(&s, CHUNK + 500 + 100000, 2, 44);
    for (size_t i = CHUNK + 500 + 80000; i < s.n; i++)
        s.close[i] = (round(s.close[i] * 100) * 100 + 1) / 10000;
    old = view(&s, 0, CHUNK + 500);
    added = view(&s, CHUNK + 500, 100000);
    compare_append_stream(&old, &added, 3);
    ohlcx_series_free(&s);
}


/* A new volume of 1e-12 (12 decimals, more than 10) makes the volume
 * column float64, its copied head included. */
static void append_float64(void **state)
{
    ohlcx_series s, old, added;

    (void)state;
    start_series(&s, "F64", 0);
    random_walk(&s, 2 * CHUNK + 100 + 5000, 2, 45);
    s.volume[2 * CHUNK + 100 + 4000] = 1e-12;
    old = view(&s, 0, 2 * CHUNK + 100);
    added = view(&s, 2 * CHUNK + 100, 5000);
    compare_append_stream(&old, &added, 0);
    ohlcx_series_free(&s);
}


/* A stored close of 1e15 is a tick only at 0 decimals (at 1 its tick
 * passes 2^50 = 1.13e15). A new close of 0.5 needs 1 decimal, so the head
 * chunk fails at 1 decimal and the column becomes float64. That happens when
 * the head is first written, with 0.5 in the first 512 rows after the head
 * (row 120), and when the chunk is written again, with 0.5 after them (row
 * 720). */
static void append_tick_overflow(void **state)
{
    ohlcx_series s, old, added;
    char dir[512];
    ohlcx_store *store = NULL;

    (void)state;
    start_series(&s, "OVER", 0);
    random_walk(&s, CHUNK + 20 + 1000, 0, 46);
    s.close[10] = 1e15;
    s.close[CHUNK + 20 + 100] = 0.5;
    old = view(&s, 0, CHUNK + 20);
    added = view(&s, CHUNK + 20, 1000);
    compare_append_stream(&old, &added, 0);
    s.close[CHUNK + 20 + 100] = 1;
    s.close[CHUNK + 20 + 700] = 0.5;
    compare_append_stream(&old, &added, 0);

    assert_int_equal(make_temp_folder("ohlcx-append", dir, sizeof dir), 0);
    assert_int_equal(ohlcx_store_open(dir, &store), 0);
    assert_int_equal(ohlcx_store_append(store, &old, NULL, NULL), 0);
    assert_int_equal(stream_rows(store, &added, 100, added.n, 1, NULL, NULL), 0);
    assert_int_equal(column_info(store, "OVER", OHLCX_STORE_CLOSE).encoding,
                     OHLCX_STORE_FLOAT64);
    ohlcx_store_close(store);
    remove_tree(dir);
    ohlcx_series_free(&s);
}


/* A NaN quote volume in the stored head makes that column float64, which
 * new whole-cent values do not change: the head chunk is copied. One new
 * row after five stored ones is the smallest append. */
static void append_old_float64(void **state)
{
    ohlcx_series s, old, added;

    (void)state;
    start_series(&s, "NANOLD", OHLCX_EXTRA_QUOTE_VOLUME | OHLCX_EXTRA_TRADES);
    random_walk(&s, CHUNK + 300 + 2000, 2, 47);
    s.extra_column[0][77] = NAN;
    old = view(&s, 0, CHUNK + 300);
    added = view(&s, CHUNK + 300, 2000);
    compare_append_stream(&old, &added, 0);
    old = view(&s, 0, 5);
    added = view(&s, 5, 1);
    compare_append_stream(&old, &added, 0);
    ohlcx_series_free(&s);
}


/* New rows whose first bar repeats the stored last bar, or opens before
 * it, would merge: the write returns OHLCX_WHOLE_SERIES and the store keeps
 * version 1. */
static void append_overlap_whole_series(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_store_entry entry;
    ohlcx_series s, old, part;

    start_series(&s, "OVERLAP", 0);
    random_walk(&s, 200, 2, 48);
    old = view(&s, 0, 100);
    assert_int_equal(ohlcx_store_append(f->store, &old, NULL, NULL), 0);
    for (size_t first = 99; first >= 98; first--) {
        part = view(&s, first, 50);
        assert_int_equal(ohlcx_store_stream_begin_append(f->store, &part, 50, &stream), 0);
        assert_int_equal(ohlcx_store_stream_write(stream, &part), OHLCX_WHOLE_SERIES);
        assert_int_equal(ohlcx_store_stream_commit(stream, NULL, NULL), OHLCX_EINVAL);
        ohlcx_store_stream_free(stream);
    }
    assert_int_equal(ohlcx_store_get(f->store, "OVERLAP", "1m", &entry), 0);
    assert_int_equal(entry.version, 1);
    assert_int_equal(entry.rows, 100);
    ohlcx_store_entry_free(&entry);
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&s);
}


/* Other optional columns than the stored ones make ohlcx_store_append()
 * rewrite every chunk, so begin returns OHLCX_WHOLE_SERIES. */
static void append_other_columns(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_series s, plain;

    start_series(&s, "COLS", OHLCX_EXTRA_TRADES);
    random_walk(&s, 10, 2, 49);
    start_series(&plain, "COLS", 0);
    random_walk(&plain, 10, 2, 49);
    assert_int_equal(ohlcx_store_append(f->store, &s, NULL, NULL), 0);
    assert_int_equal(ohlcx_store_stream_begin_append(f->store, &plain, 10, &stream),
                     OHLCX_WHOLE_SERIES);
    assert_null(stream);
    plain.extra = OHLCX_EXTRA_TRADES | OHLCX_EXTRA_QUOTE_VOLUME;
    assert_int_equal(ohlcx_store_stream_begin_append(f->store, &plain, 10, &stream),
                     OHLCX_WHOLE_SERIES);
    plain.extra = 0;
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&plain);
    ohlcx_series_free(&s);
}


/* Another append between begin and commit: the commit returns
 * OHLCX_WHOLE_SERIES, and the store keeps the other append's version 2. */
static void append_commit_after_append(void **state)
{
    fixture *f = *state;
    ohlcx_store_stream *stream = NULL;
    ohlcx_store_entry entry;
    ohlcx_series s, old, mine, other;
    char path[700];

    start_series(&s, "RACE2", 0);
    random_walk(&s, 300, 2, 50);
    old = view(&s, 0, 100);
    other = view(&s, 100, 50);
    mine = view(&s, 150, 150);
    assert_int_equal(ohlcx_store_append(f->store, &old, NULL, NULL), 0);
    assert_int_equal(ohlcx_store_stream_begin_append(f->store, &mine, mine.n, &stream), 0);
    assert_int_equal(ohlcx_store_stream_write(stream, &mine), 0);
    assert_int_equal(ohlcx_store_append(f->store, &other, NULL, NULL), 0);
    assert_int_equal(ohlcx_store_stream_commit(stream, NULL, NULL), OHLCX_WHOLE_SERIES);
    ohlcx_store_stream_free(stream);

    assert_int_equal(ohlcx_store_get(f->store, "RACE2", "1m", &entry), 0);
    assert_int_equal(entry.version, 2);
    assert_int_equal(entry.rows, 150);
    ohlcx_store_entry_free(&entry);
    snprintf(path, sizeof path, "%s/series/RACE2/1m/v3", f->dir);
    assert_false(path_exists(path));
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&s);
}


/* A source whose digest the catalogue lists for the series is reported as
 * already ingested and publishes nothing, as in ohlcx_store_append(). */
static void append_already_ingested(void **state)
{
    fixture *f = *state;
    ohlcx_append_report report, expected;
    ohlcx_store_entry entry;
    ohlcx_series s, old, added;

    start_series(&s, "AGAIN", 0);
    random_walk(&s, 30, 2, 51);
    old = view(&s, 0, 20);
    added = view(&s, 20, 10);
    assert_int_equal(ohlcx_store_append(f->store, &old, &first_source, NULL), 0);
    assert_int_equal(stream_rows(f->store, &added, 3, added.n, 1, &first_source, &report), 0);
    assert_int_equal(ohlcx_store_append(f->store, &added, &first_source, &expected), 0);
    assert_memory_equal(&expected, &report, sizeof report);
    assert_int_equal(report.already_ingested, 1);
    assert_int_equal(report.rows_in, 10);
    assert_int_equal(report.rows, 20);
    assert_int_equal(report.version, 1);
    assert_int_equal(ohlcx_store_get(f->store, "AGAIN", "1m", &entry), 0);
    assert_int_equal(entry.version, 1);
    ohlcx_store_entry_free(&entry);
    assert_int_equal(stream_folders(f->dir), 0);
    ohlcx_series_free(&s);
}


/* Without a stored series an append stream starts one, as a plain one. */
static void append_new_series(void **state)
{
    fixture *f = *state;
    ohlcx_append_report report;
    ohlcx_series s, back;

    start_series(&s, "FRESH", 0);
    random_walk(&s, CHUNK + 5, 2, 52);
    assert_int_equal(stream_rows(f->store, &s, 1000, s.n, 1, NULL, &report), 0);
    assert_int_equal(report.version, 1);
    assert_int_equal(report.added, CHUNK + 5);
    ohlcx_series_init(&back);
    assert_int_equal(ohlcx_store_read(f->store, "FRESH", "1m", &back), 0);
    assert_series_equal(&s, &back);
    ohlcx_series_free(&back);
    ohlcx_series_free(&s);
}


/* A process killed after the streamed version 2 was published but before
 * the catalogue recorded it: here the catalogue is set back to version 1
 * by hand. The next open rewrites the row and the source from version 2's
 * manifest, as after an interrupted ohlcx_store_append(). */
static void append_catalog_repaired(void **state)
{
    fixture *f = *state;
    ohlcx_store_entry entry;
    ohlcx_series s, old, added;
    char path[700], before[4096], after[4096];
    sqlite3 *db = NULL;

    start_series(&s, "KILL", 0);
    random_walk(&s, CHUNK + 100, 2, 53);
    old = view(&s, 0, CHUNK);
    added = view(&s, CHUNK, 100);
    assert_int_equal(ohlcx_store_append(f->store, &old, &first_source, NULL), 0);
    assert_int_equal(stream_rows(f->store, &added, 0, added.n, 1, &next_source, NULL), 0);
    source_rows(f->dir, before, sizeof before);
    ohlcx_store_close(f->store);
    f->store = NULL;

    snprintf(path, sizeof path, "%s/catalog.sqlite", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE series SET version = 1, rows = 65536; DELETE FROM "
                                  "source_files WHERE id = (SELECT max(id) FROM source_files)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(ohlcx_store_open(f->dir, &f->store), 0);
    assert_int_equal(ohlcx_store_get(f->store, "KILL", "1m", &entry), 0);
    assert_int_equal(entry.version, 2);
    assert_int_equal(entry.rows, CHUNK + 100);
    assert_int_equal(entry.last_open_time, T0 + (int64_t)(CHUNK + 99) * MINUTE);
    ohlcx_store_entry_free(&entry);
    source_rows(f->dir, after, sizeof after);
    assert_string_equal(after, before);
    ohlcx_series_free(&s);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_hand_checked),
        cmocka_unit_test(stream_ticks_two_decimals),
        cmocka_unit_test(stream_decimals_rise),
        cmocka_unit_test(stream_float64_late),
        cmocka_unit_test(stream_nan_extra),
        cmocka_unit_test(stream_flags_one_chunk),
        cmocka_unit_test(stream_one_row),
        cmocka_unit_test(stream_tick_overflow_float64),
        cmocka_unit_test_setup_teardown(begin_existing_series, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_after_append, setup, teardown),
        cmocka_unit_test_setup_teardown(free_without_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(dead_stream_cleaned_on_open, setup, teardown),
        cmocka_unit_test_setup_teardown(live_stream_survives_open, setup, teardown),
        cmocka_unit_test_setup_teardown(two_streams_one_series, setup, teardown),
        cmocka_unit_test_setup_teardown(unsorted_rows_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(rows_beyond_room, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_stream_publishes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(begin_rejects_invalid, setup, teardown),
        cmocka_unit_test(append_partial_head),
        cmocka_unit_test(append_chunk_boundary),
        cmocka_unit_test(append_more_decimals),
        cmocka_unit_test(append_float64),
        cmocka_unit_test(append_tick_overflow),
        cmocka_unit_test(append_old_float64),
        cmocka_unit_test_setup_teardown(append_overlap_whole_series, setup, teardown),
        cmocka_unit_test_setup_teardown(append_other_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(append_commit_after_append, setup, teardown),
        cmocka_unit_test_setup_teardown(append_already_ingested, setup, teardown),
        cmocka_unit_test_setup_teardown(append_new_series, setup, teardown),
        cmocka_unit_test_setup_teardown(append_catalog_repaired, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
