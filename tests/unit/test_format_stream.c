/*
 * Tests of streaming input: gzip and zstd files recognised by their first
 * bytes, cut-off compressed files, and files larger than the 1 MiB read
 * chunk (plain, gzip, zstd and freqtrade JSON). Rows of the large files must
 * come out whole across the chunk boundaries. The large files are written to a
 * temporary folder by the tests themselves.
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "test_format_helpers.h"

/* Rows of the generated files: about 3 MiB of klines, 1.5 MiB of JSON. */
#define GENERATED_ROWS 30000

/* 2024-01-01 00:00 UTC in milliseconds; row i opens i minutes later. */
#define FIRST_OPEN_MS INT64_C(1704067200000)

typedef struct generated {
    char folder[64];
    char path[128];
} generated;


static void make_folder(generated *files)
{
    snprintf(files->folder, sizeof files->folder, "/tmp/ohlcx-format-XXXXXX");
    if (mkdtemp(files->folder) == NULL)
        fail_msg("cannot create a temporary folder");
}


static const char *folder_file(generated *files, const char *name)
{
    snprintf(files->path, sizeof files->path, "%s/%s", files->folder, name);
    return files->path;
}


/* Fills text with a headerless 12-field kline dump of rows rows; returns
 * its length. */
static size_t kline_rows_text(int rows, char **text)
{
    size_t capacity = (size_t)rows * 160, used = 0;

    *text = malloc(capacity);
    if (*text == NULL)
        fail_msg("out of memory");
    for (int i = 0; i < rows; i++) {
        long long open_ms = (long long)(FIRST_OPEN_MS + (int64_t)i * 60000);
        used += (size_t)snprintf(*text + used, capacity - used,
                                 "%lld,%d.50000000,%d.75000000,%d.25000000,%d.50000000,"
                                 "%d.00000000,%lld,1000.5,%d,3.25,400.75,0\n",
                                 open_ms, 100 + i % 50, 101 + i % 50, 99 + i % 50, 100 + i % 50,
                                 i, open_ms + 59999, i);
    }
    return used;
}


static size_t kline_text(char **text)
{
    return kline_rows_text(GENERATED_ROWS, text);
}


/* freqtrade JSON on one line, as freqtrade writes it. */
static size_t json_text(char **text)
{
    size_t capacity = (size_t)GENERATED_ROWS * 80 + 16, used = 0;

    *text = malloc(capacity);
    if (*text == NULL)
        fail_msg("out of memory");
    used += (size_t)snprintf(*text, capacity, "[");
    for (int i = 0; i < GENERATED_ROWS; i++)
        used += (size_t)snprintf(*text + used, capacity - used, "%s[%lld,%d.5,%d.75,%d.25,%d.5,%d]",
                                 i > 0 ? "," : "",
                                 (long long)(FIRST_OPEN_MS + (int64_t)i * 60000), 100 + i % 50,
                                 101 + i % 50, 99 + i % 50, 100 + i % 50, i);
    used += (size_t)snprintf(*text + used, capacity - used, "]");
    return used;
}


static void write_plain(const char *path, const char *text, size_t length)
{
    FILE *file = fopen(path, "wb");

    if (file == NULL || fwrite(text, 1, length, file) != length)
        fail_msg("cannot write %s", path);
    fclose(file);
}


static void write_gzip(const char *path, const char *text, size_t length)
{
    gzFile file = gzopen(path, "wb");

    if (file == NULL || gzwrite(file, text, (unsigned)length) != (int)length)
        fail_msg("cannot write %s", path);
    gzclose(file);
}


static void write_zstd(const char *path, const char *text, size_t length)
{
    size_t bound = ZSTD_compressBound(length);
    char *compressed = malloc(bound);
    size_t size = 0;

    if (compressed == NULL)
        fail_msg("out of memory");
    size = ZSTD_compress(compressed, bound, text, length, 3);
    if (ZSTD_isError(size))
        fail_msg("zstd: %s", ZSTD_getErrorName(size));
    write_plain(path, compressed, size);
    free(compressed);
}


/* Checks every row of a generated file: times one minute apart from the
 * first, and the values written for row i. */
static void check_generated(const ohlcx_series *s, int has_extras)
{
    assert_int_equal(s->n, GENERATED_ROWS);
    for (size_t i = 0; i < s->n; i++) {
        int64_t expected_us = (FIRST_OPEN_MS + (int64_t)i * 60000) * 1000;

        if (s->open_time[i] != expected_us)
            fail_msg("row %zu opens at %lld, expected %lld", i, (long long)s->open_time[i],
                     (long long)expected_us);
        if (s->close[i] != 100.5 + (double)(i % 50) || s->volume[i] != (double)i)
            fail_msg("row %zu: close %.17g volume %.17g", i, s->close[i], s->volume[i]);
        if (has_extras && s->extra_column[1][i] != (double)i)
            fail_msg("row %zu: trades %.17g", i, s->extra_column[1][i]);
    }
}


static void read_generated(const char *path, int has_extras)
{
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_FAIL};
    ohlcx_series s;

    ohlcx_series_init(&s);
    if (ohlcx_read_candles(path, &options, &s, NULL) != 0)
        fail_msg("%s: %s", path, ohlcx_last_error());
    check_generated(&s, has_extras);
    ohlcx_series_free(&s);
}


/* ---- committed snippets ---- */

static void read_gzip_snippet(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("BTCUSDT-1h-2022-01.csv.gz", 0, NULL, NULL, &s, &report), 0);
    /* The .gz suffix does not hide the name's symbol and timeframe. */
    assert_string_equal(s.symbol, "BTCUSDT");
    assert_string_equal(s.timeframe, "1h");
    assert_string_equal(report.layout, "binance-kline-header");
    assert_int_equal(report.lines, 4);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.open_time[0], 1640995200 * US);
    assert_true(s.close[2] == 46811.77);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_zstd_snippet(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("BTCUSDT-1h-2022-01.csv.zst", 0, NULL, NULL, &s, NULL), 0);
    assert_string_equal(s.timeframe, "1h");
    assert_int_equal(s.n, 3);
    assert_int_equal(s.open_time[1], 1640998800 * US);
    assert_true(s.volume[0] == 1507.41283);
    ohlcx_series_free(&s);
}


static void gzip_by_magic_bytes(void **state)
{
    ohlcx_series s;

    (void)state;
    /* gzip data in a file named .csv. */
    assert_int_equal(read_with("BTCUSDT-1h-gzip.csv", 0, NULL, NULL, &s, NULL), 0);
    assert_int_equal(s.n, 3);
    assert_true(s.open[0] == 46218.47);
    ohlcx_series_free(&s);
}


/* Returns how many times part occurs in text. */
static size_t count_occurrences(const char *text, const char *part)
{
    size_t count = 0;

    for (const char *at = strstr(text, part); at != NULL; at = strstr(at + 1, part))
        count++;
    return count;
}


/* The error of a damaged compressed file names the file once, then what
 * the decoder found, then what to do. zlib's own message starts with
 * "<fd:N>", the name gzdopen() gives a stream, which must not show. */
static void check_damaged_error(const char *path, const char *reason)
{
    char expected[1024];

    snprintf(expected, sizeof expected,
             "%s: %s: the file is damaged or cut short, so replace it with a complete copy", path,
             reason);
    assert_string_equal(ohlcx_last_error(), expected);
    assert_int_equal(count_occurrences(ohlcx_last_error(), "truncated-1h") +
                         count_occurrences(ohlcx_last_error(), "corrupt-1h"),
                     1);
    assert_null(strstr(ohlcx_last_error(), "<fd:"));
}


static void truncated_gzip(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("truncated-1h.csv.gz", 0, NULL, NULL, &s, NULL), OHLCX_EIO);
    /* zlib 1.2.13 reports a stream that stops early as "unexpected end of
     * file". */
    check_damaged_error(snippet_path("truncated-1h.csv.gz"),
                        "invalid gzip data (unexpected end of file)");
    assert_int_equal(s.n, 0);
}


static void truncated_zstd(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("truncated-1h.csv.zst", 0, NULL, NULL, &s, NULL), OHLCX_EIO);
    check_damaged_error(snippet_path("truncated-1h.csv.zst"),
                        "invalid zstd data (the file ends inside a frame)");
    assert_int_equal(s.n, 0);
}


/* Compresses text, overwrites 8 bytes from byte `at` of the result with
 * 0xff, and reads it back, expecting the damaged-file error. */
static void read_corrupted(const char *name, int zstd, size_t at, const char *reason)
{
    static const char text[] = "open_time,open,high,low,close,volume\n"
                               "1704067200000,10,12,9,11,100\n"
                               "1704070800000,11,13,10,12,100\n"
                               "1704074400000,12,14,11,13,100\n";
    generated files;
    ohlcx_series s;
    FILE *file;

    make_folder(&files);
    folder_file(&files, name);
    if (zstd)
        write_zstd(files.path, text, sizeof text - 1);
    else
        write_gzip(files.path, text, sizeof text - 1);
    file = fopen(files.path, "r+b");
    assert_non_null(file);
    assert_int_equal(fseek(file, (long)at, SEEK_SET), 0);
    assert_int_equal(fwrite("\xff\xff\xff\xff\xff\xff\xff\xff", 1, 8, file), 8);
    assert_int_equal(fclose(file), 0);

    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_read_candles(files.path, NULL, &s, NULL), OHLCX_EIO);
    check_damaged_error(files.path, reason);
    assert_int_equal(s.n, 0);
    unlink(files.path);
    rmdir(files.folder);
}


/* A gzip file of gzwrite() starts with a 10-byte header, so byte 10 is the
 * first of the deflate stream. 0xff there sets the block type to 3, which
 * deflate reserves. zlib 1.2.13 reports "invalid block type". */
static void corrupt_gzip(void **state)
{
    (void)state;
    read_corrupted("corrupt-1h.csv.gz", 0, 10, "invalid gzip data (invalid block type)");
}


/* Bytes 12 to 19 of this zstd file are in its first block's data, past the
 * 4-byte magic number, the frame header and the block header. libzstd 1.5
 * reports such a block as "Data corruption detected". */
static void corrupt_zstd(void **state)
{
    (void)state;
    read_corrupted("corrupt-1h.csv.zst", 1, 12, "invalid zstd data (Data corruption detected)");
}


/* ---- files larger than one chunk ---- */

static void large_files_all_encodings(void **state)
{
    generated files;
    char *text = NULL;
    size_t length = kline_text(&text);

    (void)state;
    /* More than two chunks, so that rows straddle two chunk boundaries. */
    assert_true(length > 2 * (1 << 20));
    make_folder(&files);
    write_plain(folder_file(&files, "plain.csv"), text, length);
    read_generated(files.path, 1);
    write_gzip(folder_file(&files, "gzip.csv.gz"), text, length);
    read_generated(files.path, 1);
    write_zstd(folder_file(&files, "zstd.csv.zst"), text, length);
    read_generated(files.path, 1);
    free(text);

    unlink(folder_file(&files, "plain.csv"));
    unlink(folder_file(&files, "gzip.csv.gz"));
    unlink(folder_file(&files, "zstd.csv.zst"));
    rmdir(files.folder);
}


static void large_json(void **state)
{
    generated files;
    char *text = NULL;
    size_t length = json_text(&text);
    ohlcx_read_report report;
    ohlcx_series s;
    ohlcx_read_options options = {"ETHUSDT", "1m", OHLCX_BAD_ROWS_FAIL};

    (void)state;
    assert_true(length > (1 << 20));
    make_folder(&files);
    write_gzip(folder_file(&files, "rows.json.gz"), text, length);
    free(text);
    ohlcx_series_init(&s);
    if (ohlcx_read_candles(files.path, &options, &s, &report) != 0)
        fail_msg("%s", ohlcx_last_error());
    assert_string_equal(report.layout, "freqtrade-json");
    assert_int_equal(report.lines, 1);
    check_generated(&s, 0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
    unlink(files.path);
    rmdir(files.folder);
}


static void line_longer_than_chunk(void **state)
{
    generated files;
    size_t length = (1 << 20) + 100;
    char *text = malloc(length + 64);
    ohlcx_series s;

    (void)state;
    if (text == NULL)
        fail_msg("out of memory");
    strcpy(text, "open_time,open,high,low,close,volume\n");
    memset(text + strlen(text), 'x', length);
    text[length] = '\n';
    make_folder(&files);
    write_plain(folder_file(&files, "long-1h.csv"), text, length + 1);
    free(text);
    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_read_candles(files.path, NULL, &s, NULL), OHLCX_EFORMAT);
    assert_text_contains(ohlcx_last_error(), "long-1h.csv:2: line is longer than 1048576 bytes");
    assert_int_equal(s.n, 0);
    unlink(files.path);
    rmdir(files.folder);
}


/* ---- rows in batches (ohlcx_read_candles_stream) ---- */

/* Gathers the batches of a streamed read into one series. */
typedef struct gathered {
    ohlcx_series rows;
    size_t batches;
    size_t largest;   /* rows of the largest batch */
    size_t stop_at;   /* batch after which the sink fails, 0 for never */
} gathered;


static int gather_sink(void *arg, ohlcx_series *rows)
{
    gathered *all = arg;

    if (all->batches == 0) {
        memcpy(all->rows.symbol, rows->symbol, sizeof all->rows.symbol);
        memcpy(all->rows.timeframe, rows->timeframe, sizeof all->rows.timeframe);
        all->rows.asset_class = rows->asset_class;
        if (ohlcx_series_add_extra(&all->rows, rows->extra) != 0)
            fail_msg("out of memory");
    }
    for (size_t i = 0; i < rows->n; i++) {
        size_t k = all->rows.n;

        if (ohlcx_series_append(&all->rows, rows->open_time[i], rows->open[i], rows->high[i],
                                rows->low[i], rows->close[i], rows->volume[i]) != 0)
            fail_msg("out of memory");
        for (int e = 0; e < OHLCX_EXTRA_COUNT; e++)
            if (rows->extra_column[e] != NULL)
                all->rows.extra_column[e][k] = rows->extra_column[e][i];
    }
    all->batches++;
    if (rows->n > all->largest)
        all->largest = rows->n;
    return all->stop_at != 0 && all->batches == all->stop_at ? OHLCX_EDATA : 0;
}


/* Streams path in batches of batch rows and checks that the rows, the
 * report and the digest are those of the whole read. */
static void stream_matches_whole(const char *path, const ohlcx_read_options *options,
                                 size_t batch)
{
    ohlcx_read_report whole_report, stream_report;
    char whole_digest[65], stream_digest[65];
    int64_t whole_size = 0, stream_size = 0;
    ohlcx_series whole, rows;
    gathered all;

    memset(&all, 0, sizeof all);
    ohlcx_series_init(&all.rows);
    ohlcx_series_init(&whole);
    ohlcx_series_init(&rows);
    if (ohlcx_read_candles_file_digest(path, options, NULL, 1, &whole, &whole_report,
                                       whole_digest, &whole_size) != 0)
        fail_msg("%s", ohlcx_last_error());
    if (ohlcx_read_candles_stream(path, options, NULL, batch, gather_sink, &all, &rows,
                                  &stream_report, stream_digest, &stream_size) != 0)
        fail_msg("%s", ohlcx_last_error());
    assert_int_equal(all.rows.n, whole.n);
    assert_string_equal(all.rows.symbol, whole.symbol);
    assert_string_equal(all.rows.timeframe, whole.timeframe);
    assert_int_equal(all.rows.extra, whole.extra);
    assert_memory_equal(all.rows.open_time, whole.open_time, whole.n * sizeof *whole.open_time);
    assert_memory_equal(all.rows.close, whole.close, whole.n * sizeof *whole.close);
    assert_memory_equal(all.rows.volume, whole.volume, whole.n * sizeof *whole.volume);
    for (int e = 0; e < OHLCX_EXTRA_COUNT; e++)
        if (whole.extra_column[e] != NULL)
            assert_memory_equal(all.rows.extra_column[e], whole.extra_column[e],
                                whole.n * sizeof(double));
    /* A batch closes once it has at least batch rows after a row or after
     * a span of the fast path, which stops at the end of a 1 MiB chunk. */
    assert_true(all.largest >= (whole.n < batch ? whole.n : batch));
    assert_true(all.largest < batch + (1 << 20) / 16);
    assert_int_equal(stream_report.rows_read, whole_report.rows_read);
    assert_int_equal(stream_report.lines, whole_report.lines);
    assert_int_equal(stream_report.bad_row_count, whole_report.bad_row_count);
    assert_string_equal(stream_report.layout, whole_report.layout);
    assert_string_equal(stream_digest, whole_digest);
    assert_int_equal(stream_size, whole_size);
    assert_int_equal(rows.n, 0);
    ohlcx_series_free(&all.rows);
    ohlcx_series_free(&whole);
    ohlcx_series_free(&rows);
    ohlcx_read_report_free(&whole_report);
    ohlcx_read_report_free(&stream_report);
}


static void batches_equal_whole_read(void **state)
{
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_FAIL};
    generated files;
    char *text = NULL;
    size_t length = kline_text(&text);

    (void)state;
    make_folder(&files);
    write_plain(folder_file(&files, "plain.csv"), text, length);
    stream_matches_whole(files.path, &options, 1);
    stream_matches_whole(files.path, &options, 7000);
    stream_matches_whole(files.path, &options, GENERATED_ROWS * 2);
    unlink(files.path);
    write_zstd(folder_file(&files, "zstd.csv.zst"), text, length);
    stream_matches_whole(files.path, &options, 4096);
    unlink(files.path);
    /* A bad row skipped: row 1 (line 2) gets an 'x' in its open time. */
    text[200] = 'x';
    write_plain(folder_file(&files, "BTCUSDT-1m-bad.csv"), text, length);
    options.bad_rows = OHLCX_BAD_ROWS_SKIP;
    stream_matches_whole(files.path, &options, 5000);
    unlink(files.path);
    free(text);
    rmdir(files.folder);
}


/* Every committed snippet, in batches of 2 rows: the stream gives the
 * whole read's rows, or the same error, or refuses (JSON, a timeframe
 * that only the open times tell). The snippets cover every layout,
 * close-time labels (Coinbase_BTCUSD_1h.csv), gzip and zstd. */
static void every_snippet_streams_like_whole_read(void **state)
{
    ohlcx_read_options options = {NULL, NULL, OHLCX_BAD_ROWS_SKIP};
    DIR *folder = opendir(snippet_path(""));
    struct dirent *entry;
    size_t streamed = 0, refused = 0;

    (void)state;
    if (folder == NULL)
        fail_msg("cannot open %s", snippet_path(""));
    while ((entry = readdir(folder)) != NULL) {
        ohlcx_read_report report;
        char digest[65], path[2048], whole_message[512];
        int64_t size = 0;
        ohlcx_series whole, rows;
        int whole_status, stream_status;
        gathered all;

        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s", snippet_path(entry->d_name));
        ohlcx_series_init(&whole);
        whole_status = ohlcx_read_candles_file_digest(path, &options, NULL, 1, &whole, &report,
                                                      digest, &size);
        snprintf(whole_message, sizeof whole_message, "%s", ohlcx_last_error());
        ohlcx_series_free(&whole);
        ohlcx_read_report_free(&report);
        memset(&all, 0, sizeof all);
        ohlcx_series_init(&all.rows);
        ohlcx_series_init(&rows);
        stream_status = ohlcx_read_candles_stream(path, &options, NULL, 2, gather_sink, &all,
                                                  &rows, &report, digest, &size);
        ohlcx_read_report_free(&report);
        ohlcx_series_free(&all.rows);
        ohlcx_series_free(&rows);
        if (stream_status == OHLCX_WHOLE_SERIES) {
            refused++;
            continue;
        }
        if (stream_status != whole_status)
            fail_msg("%s: stream %d, whole read %d (%s)", path, stream_status, whole_status,
                     whole_message);
        if (whole_status != 0) {
            assert_string_equal(ohlcx_last_error(), whole_message);
            continue;
        }
        stream_matches_whole(path, &options, 2);
        streamed++;
    }
    closedir(folder);
    /* When this test was written, 26 snippets streamed, 14 were refused
     * and the others failed the same way in both reads. */
    print_message("%zu snippets streamed, %zu refused\n", streamed, refused);
    assert_true(streamed >= 20);
    assert_true(refused >= 3);
}


/* A sink that cuts the file short after the first batch, as another
 * program truncating it during the read would. */
typedef struct cutting {
    const char *path;
    size_t batches;
} cutting;


static int cut_file_sink(void *arg, ohlcx_series *rows)
{
    cutting *cut = arg;

    (void)rows;
    if (cut->batches++ == 0 && truncate(cut->path, 4096) != 0)
        fail_msg("cannot truncate %s", cut->path);
    return 0;
}


/* The mapped file loses its pages past 4096 bytes while the parse is in
 * its first 1 MiB window: reading the next window raises SIGBUS, which must
 * fail the read with a message instead of killing the process. */
static void file_cut_short_while_read(void **state)
{
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_FAIL};
    ohlcx_read_report report;
    char digest[65], *text = NULL;
    int64_t size = 0;
    generated files;
    size_t length = kline_text(&text);
    ohlcx_series rows;
    cutting cut = {NULL, 0};

    (void)state;
    make_folder(&files);
    write_plain(folder_file(&files, "cut.csv"), text, length);
    free(text);
    cut.path = files.path;
    ohlcx_series_init(&rows);
    assert_int_equal(ohlcx_read_candles_stream(files.path, &options, NULL, 100, cut_file_sink,
                                               &cut, &rows, &report, digest, &size),
                     OHLCX_EIO);
    assert_text_contains(ohlcx_last_error(),
                         "cut.csv: the file was cut short while it was read (another program "
                         "truncated it): read it again");
    assert_int_equal(cut.batches, 1);
    ohlcx_series_free(&rows);
    /* A second cut-short read on this thread fails the same way: the jump
     * out of the first fault restored the signal mask, which had SIGBUS
     * blocked while the handler ran. */
    text = NULL;
    length = kline_text(&text);
    write_plain(files.path, text, length);
    free(text);
    cut.batches = 0;
    ohlcx_series_init(&rows);
    assert_int_equal(ohlcx_read_candles_stream(files.path, &options, NULL, 100, cut_file_sink,
                                               &cut, &rows, &report, digest, &size),
                     OHLCX_EIO);
    assert_int_equal(cut.batches, 1);
    ohlcx_series_free(&rows);
    /* The guard is gone after the read: the next read of a whole file works. */
    text = "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1.5,3\n";
    write_plain(files.path, text, strlen(text));
    ohlcx_series_init(&rows);
    assert_int_equal(ohlcx_read_candles(files.path, &options, &rows, NULL), 0);
    assert_int_equal(rows.n, 1);
    ohlcx_series_free(&rows);
    unlink(files.path);
    rmdir(files.folder);
}


/* A sink that rewrites the last 1000 bytes of the file in place after the
 * first batch: same size, other bytes, as another program would. */
static int rewrite_file_sink(void *arg, ohlcx_series *rows)
{
    cutting *cut = arg;
    char zeros[1000];
    FILE *file;

    (void)rows;
    if (cut->batches++ > 0)
        return 0;
    memset(zeros, '0', sizeof zeros);
    file = fopen(cut->path, "r+b");
    if (file == NULL || fseek(file, -(long)sizeof zeros, SEEK_END) != 0 ||
        fwrite(zeros, 1, sizeof zeros, file) != sizeof zeros)
        fail_msg("cannot rewrite %s", cut->path);
    fclose(file);
    return 0;
}


/* A file rewritten in place while it is read gets no digest, so that
 * ingest rejects it ("changed while ingest read it") instead of recording a
 * digest of other bytes than those parsed. Both the mapped read and a
 * buffered one (the whole read with two threads) check the file's times at
 * the end. The file's times are set a second back first, so that the
 * rewrite changes them whatever the tick of the file system's clock. */
static void file_rewritten_while_read(void **state)
{
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_SKIP};
    struct timespec past[2];
    ohlcx_read_report report;
    char digest[65], *text = NULL;
    int64_t size = 0;
    generated files;
    size_t length = kline_text(&text);
    ohlcx_series rows;
    cutting cut = {NULL, 0};

    (void)state;
    make_folder(&files);
    write_plain(folder_file(&files, "rewritten.csv"), text, length);
    clock_gettime(CLOCK_REALTIME, &past[0]);
    past[0].tv_sec -= 1;
    past[1] = past[0];
    assert_int_equal(utimensat(AT_FDCWD, files.path, past, 0), 0);
    cut.path = files.path;
    ohlcx_series_init(&rows);
    assert_int_equal(ohlcx_read_candles_stream(files.path, &options, NULL, 100,
                                               rewrite_file_sink, &cut, &rows, &report, digest,
                                               &size),
                     0);
    assert_string_equal(digest, "");
    assert_int_equal(size, 0);
    ohlcx_series_free(&rows);
    ohlcx_read_report_free(&report);

    /* Unchanged since, the file gets its digest. */
    assert_int_equal(ohlcx_read_candles_file_digest(files.path, &options, NULL, 2, &rows,
                                                    &report, digest, &size),
                     0);
    assert_int_equal(strlen(digest), 64);
    assert_int_equal(size, (int64_t)length);
    ohlcx_series_free(&rows);
    ohlcx_read_report_free(&report);
    unlink(files.path);
    free(text);
    rmdir(files.folder);
}


/* ---- read-ahead from another thread (ohlcx_read_ahead_step) ---- */

/* A sink that lets another thread fault in the file ahead of the read.
 * After each batch, the stepping thread steps until there is nothing left
 * to do, and the sink waits for it: the test does not depend on timing.
 * The thread lives for the whole read, because creating threads would add
 * page faults to the reader's. */
typedef struct ahead_sink {
    ohlcx_read_ahead *ahead; /* NULL: no read-ahead */
    size_t steps;
    size_t batches;
    const char *cut_path;    /* truncated to 4096 bytes after the first batch, or NULL */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int requested;           /* 1: step until done; the thread sets it back to 0 */
    int quit;
} ahead_sink;


static void *stepping_thread(void *arg)
{
    ahead_sink *sink = arg;

    pthread_mutex_lock(&sink->lock);
    for (;;) {
        while (!sink->requested && !sink->quit)
            pthread_cond_wait(&sink->changed, &sink->lock);
        if (sink->quit)
            break;
        while (ohlcx_read_ahead_step(sink->ahead))
            sink->steps++;
        sink->requested = 0;
        pthread_cond_broadcast(&sink->changed);
    }
    pthread_mutex_unlock(&sink->lock);
    return NULL;
}


static int ahead_batch(void *arg, ohlcx_series *rows)
{
    ahead_sink *sink = arg;

    (void)rows;
    if (sink->batches++ == 0 && sink->cut_path != NULL && truncate(sink->cut_path, 4096) != 0)
        fail_msg("cannot truncate %s", sink->cut_path);
    if (sink->ahead == NULL)
        return 0;
    pthread_mutex_lock(&sink->lock);
    sink->requested = 1;
    pthread_cond_broadcast(&sink->changed);
    while (sink->requested)
        pthread_cond_wait(&sink->changed, &sink->lock);
    pthread_mutex_unlock(&sink->lock);
    return 0;
}


/* Streams path with sink and returns the page faults that the calling
 * thread (the reader) took meanwhile; sets *status to the read's. */
static long faults_of_read(const char *path, ahead_sink *sink, int *status)
{
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_FAIL};
    ohlcx_read_report report;
    struct rusage before, after;
    char digest[65];
    int64_t size = 0;
    ohlcx_series rows;

    ohlcx_series_init(&rows);
    pthread_mutex_init(&sink->lock, NULL);
    pthread_cond_init(&sink->changed, NULL);
    sink->requested = 0;
    sink->quit = 0;
    if (sink->ahead != NULL && pthread_create(&sink->thread, NULL, stepping_thread, sink) != 0)
        fail_msg("cannot start a thread");
    getrusage(RUSAGE_THREAD, &before);
    *status = ohlcx_read_candles_stream_ahead(path, &options, NULL, 1000, ahead_batch, sink,
                                              sink->ahead, &rows, &report, digest, &size);
    getrusage(RUSAGE_THREAD, &after);
    if (sink->ahead != NULL) {
        pthread_mutex_lock(&sink->lock);
        sink->quit = 1;
        pthread_cond_broadcast(&sink->changed);
        pthread_mutex_unlock(&sink->lock);
        pthread_join(sink->thread, NULL);
    }
    pthread_cond_destroy(&sink->changed);
    pthread_mutex_destroy(&sink->lock);
    ohlcx_series_free(&rows);
    ohlcx_read_report_free(&report);
    return (after.ru_minflt - before.ru_minflt) + (after.ru_majflt - before.ru_majflt);
}


/* An 80,000-row file (about 8 MB) is mapped. The reader faults in its first
 * 1 MiB window itself. From the first batch on, the stepping thread keeps
 * the mapping populated 4 MiB past the reader's window, in steps of at most
 * 512 KiB. That is at least ceil((size - 1 MiB) / 512 KiB) steps, and at
 * most one more for each 1 MiB window, whose end cuts a step short. The
 * reader then no longer faults on the rest of the file. Alone, the reader takes at
 * least (size - 1 MiB) / 64 KiB faults there (the kernel maps up to 16
 * pages around a fault); the test requires half of that difference. */
static void read_ahead_takes_the_faults(void **state)
{
    const size_t mib = (size_t)1 << 20;
    generated files;
    char *text = NULL;
    size_t length = kline_rows_text(80000, &text);
    ahead_sink alone = {.ahead = NULL}, helped = {.ahead = NULL};
    long faults_alone, faults_helped;
    int status = 0;

    (void)state;
    make_folder(&files);
    write_plain(folder_file(&files, "ahead.csv"), text, length);
    free(text);
    assert_true(length > 7 * mib);
    assert_int_equal(ohlcx_read_ahead_create(&helped.ahead), 0);
    /* Nothing is attached yet, and no read-ahead at all is nothing to do. */
    assert_int_equal(ohlcx_read_ahead_step(helped.ahead), 0);
    assert_int_equal(ohlcx_read_ahead_step(NULL), 0);

    /* The first read also faults in the reader's own buffers: only the
     * second is compared. */
    faults_of_read(files.path, &alone, &status);
    assert_int_equal(status, 0);
    alone.batches = 0;
    faults_alone = faults_of_read(files.path, &alone, &status);
    assert_int_equal(status, 0);
    faults_helped = faults_of_read(files.path, &helped, &status);
    assert_int_equal(status, 0);
    assert_int_equal(helped.batches, alone.batches);
    assert_true(helped.steps >= (length - mib + 512 * 1024 - 1) / (512 * 1024));
    assert_true(helped.steps <= (length - mib + 512 * 1024 - 1) / (512 * 1024) + length / mib + 1);
#ifndef __SANITIZE_ADDRESS__
    /* AddressSanitizer's allocator gives each read fresh memory to fault
     * in, more than the file's pages: its counts are not compared. */
    assert_true(faults_alone - faults_helped >= (long)((length - mib) / (64 * 1024) / 2));
#else
    (void)faults_alone;
    (void)faults_helped;
#endif
    /* The read detached itself when it closed the file. */
    assert_int_equal(ohlcx_read_ahead_step(helped.ahead), 0);
    ohlcx_read_ahead_free(helped.ahead);
    unlink(files.path);
    rmdir(files.folder);
}


/* Stepping a file cut short from a thread without the reader's SIGBUS
 * guard: the kernel reports the lost pages as an error instead of a
 * signal, so the process lives, and the read fails as it does alone. A
 * small file (one window, not mapped) gives the step nothing to do. */
static void read_ahead_of_cut_and_small_files(void **state)
{
    generated files;
    char *text = NULL;
    size_t length = kline_text(&text);
    ahead_sink cut = {.ahead = NULL}, small = {.ahead = NULL};
    const char *snippet = "1704067200000,1,2,0.5,1.5,3,1704067259999,1,1,1,1,0\n";
    int status = 0;

    (void)state;
    make_folder(&files);
    write_plain(folder_file(&files, "cut.csv"), text, length);
    free(text);
    assert_int_equal(ohlcx_read_ahead_create(&cut.ahead), 0);
    cut.cut_path = files.path;
    faults_of_read(files.path, &cut, &status);
    assert_int_equal(status, OHLCX_EIO);
    assert_text_contains(ohlcx_last_error(), "cut.csv: the file was cut short while it was read");
    assert_int_equal(cut.batches, 1);
    ohlcx_read_ahead_free(cut.ahead);

    write_plain(files.path, snippet, strlen(snippet));
    assert_int_equal(ohlcx_read_ahead_create(&small.ahead), 0);
    faults_of_read(files.path, &small, &status);
    assert_int_equal(status, 0);
    assert_int_equal(small.batches, 1);
    assert_int_equal(small.steps, 0);
    ohlcx_read_ahead_free(small.ahead);
    unlink(files.path);
    rmdir(files.folder);
}


static void stream_stops_at_sink_failure_and_bad_rows(void **state)
{
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_FAIL};
    ohlcx_read_report report;
    char digest[65];
    int64_t size = 0;
    generated files;
    char *text = NULL;
    size_t length = kline_text(&text), line_start;
    ohlcx_series rows;
    gathered all;

    (void)state;
    make_folder(&files);
    write_plain(folder_file(&files, "plain.csv"), text, length);
    memset(&all, 0, sizeof all);
    ohlcx_series_init(&all.rows);
    ohlcx_series_init(&rows);
    all.stop_at = 2;
    assert_int_equal(ohlcx_read_candles_stream(files.path, &options, NULL, 1000, gather_sink,
                                               &all, &rows, &report, digest, &size),
                     OHLCX_EDATA);
    assert_int_equal(all.batches, 2);
    ohlcx_series_free(&all.rows);
    unlink(files.path);

    /* A bad row on line 20000 fails the read after the batches before
     * it, naming the line: row 19999 (0-based) starts after 19999 lines. */
    line_start = 0;
    for (int line = 1; line < 20000; line++)
        line_start = (size_t)(strchr(text + line_start, '\n') - text) + 1;
    text[line_start] = 'x';
    write_plain(folder_file(&files, "plain.csv"), text, length);
    memset(&all, 0, sizeof all);
    ohlcx_series_init(&all.rows);
    assert_int_equal(ohlcx_read_candles_stream(files.path, &options, NULL, 1000, gather_sink,
                                               &all, &rows, &report, digest, &size),
                     OHLCX_EFORMAT);
    assert_text_contains(ohlcx_last_error(), "plain.csv:20000:1:");
    assert_true(all.rows.n >= 19000 && all.rows.n <= 19999);
    ohlcx_series_free(&all.rows);
    ohlcx_series_free(&rows);
    unlink(files.path);
    free(text);
    rmdir(files.folder);
}


static void stream_refuses_json_and_unnamed_timeframe(void **state)
{
    ohlcx_read_options options = {"ETHUSDT", "1m", OHLCX_BAD_ROWS_FAIL};
    ohlcx_read_report report;
    char digest[65], *text = NULL;
    int64_t size = 0;
    generated files;
    size_t length = json_text(&text);
    ohlcx_series rows;
    gathered all;

    (void)state;
    make_folder(&files);
    memset(&all, 0, sizeof all);
    ohlcx_series_init(&all.rows);
    ohlcx_series_init(&rows);
    write_plain(folder_file(&files, "ETHUSDT-1m.json"), text, length);
    free(text);
    assert_int_equal(ohlcx_read_candles_stream(files.path, &options, NULL, 1000, gather_sink,
                                               &all, &rows, &report, digest, &size),
                     OHLCX_WHOLE_SERIES);
    assert_int_equal(all.batches, 0);
    unlink(files.path);

    /* No timeframe in the options or the name: only the open times tell. */
    length = kline_text(&text);
    write_plain(folder_file(&files, "ETHUSDT.csv"), text, length);
    free(text);
    options.timeframe = NULL;
    assert_int_equal(ohlcx_read_candles_stream(files.path, &options, NULL, 1000, gather_sink,
                                               &all, &rows, &report, digest, &size),
                     OHLCX_WHOLE_SERIES);
    assert_int_equal(all.batches, 0);
    unlink(files.path);
    ohlcx_series_free(&all.rows);
    ohlcx_series_free(&rows);
    rmdir(files.folder);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_gzip_snippet),
        cmocka_unit_test(read_zstd_snippet),
        cmocka_unit_test(gzip_by_magic_bytes),
        cmocka_unit_test(truncated_gzip),
        cmocka_unit_test(truncated_zstd),
        cmocka_unit_test(corrupt_gzip),
        cmocka_unit_test(corrupt_zstd),
        cmocka_unit_test(large_files_all_encodings),
        cmocka_unit_test(large_json),
        cmocka_unit_test(line_longer_than_chunk),
        cmocka_unit_test(batches_equal_whole_read),
        cmocka_unit_test(every_snippet_streams_like_whole_read),
        cmocka_unit_test(stream_stops_at_sink_failure_and_bad_rows),
        cmocka_unit_test(stream_refuses_json_and_unnamed_timeframe),
        cmocka_unit_test(file_cut_short_while_read),
        cmocka_unit_test(file_rewritten_while_read),
        cmocka_unit_test(read_ahead_takes_the_faults),
        cmocka_unit_test(read_ahead_of_cut_and_small_files),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
