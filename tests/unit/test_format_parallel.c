/*
 * Tests of ohlcx_read_candles_parallel(): the same file read on 1, 2, 3 and
 * 7 threads must give bit-identical series, the same report (lines, rows,
 * bad rows with their line numbers and reasons, layout) and the same error
 * message. Small piece sizes (format_parallel_set_block_bytes()) make small
 * files cross many piece boundaries. The files are the snippets, every file
 * of the real data folder and files that the tests write, whose bad rows,
 * blank lines and sizes sit at and around piece boundaries. The real data
 * folder is $OHLCX_REAL_DATA, and the test skips without it unless
 * OHLCX_REQUIRE_REAL_DATA is set. The BLAKE3 that the reader hashes from
 * the bytes it reads is checked on the same thread counts and piece sizes.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "format/format_internal.h"
#include "test_format_helpers.h"
#include "util/util.h"

/* 2024-01-01 00:00 UTC in milliseconds. Row i opens i minutes later. */
#define FIRST_OPEN_MS INT64_C(1704067200000)

#define MESSAGE_MAX 1024

static const int thread_counts[] = {2, 3, 7};

/* Piece sizes: pieces of 1 and 61 bytes hold one line each, 256 bytes two
 * or three lines, 4 KiB a few dozen, and 0 is the default of 1 MiB. The real
 * files, 69 MB in all, take the larger ones only, to keep the test short. */
static const size_t block_sizes[] = {1, 61, 256, 4096, 0};
#define BLOCK_SIZE_COUNT (sizeof block_sizes / sizeof block_sizes[0])
static const size_t real_block_sizes[] = {4096, 0};
#define REAL_BLOCK_SIZE_COUNT (sizeof real_block_sizes / sizeof real_block_sizes[0])

/* One read: its status, message, series and report. */
typedef struct read_result {
    int status;
    char message[MESSAGE_MAX];
    ohlcx_series series;
    ohlcx_read_report report;
} read_result;


static void read_result_free(read_result *result)
{
    ohlcx_series_free(&result->series);
    ohlcx_read_report_free(&result->report);
}


static void read_threads(const char *path, int policy, const char *columns, int threads,
                         read_result *result)
{
    ohlcx_read_options options = {NULL, NULL, policy};
    ohlcx_layout_options layout = {columns, NULL};

    ohlcx_series_init(&result->series);
    result->status = ohlcx_read_candles_parallel(path, &options, &layout, threads,
                                                 &result->series, &result->report);
    snprintf(result->message, sizeof result->message, "%s",
             result->status == 0 ? "" : ohlcx_last_error());
}


static void assert_column_equal(const void *expected, const void *actual, size_t bytes,
                                const char *path, const char *column, int threads)
{
    if (bytes > 0 && memcmp(expected, actual, bytes) != 0)
        fail_msg("%s: column %s differs on %d threads", path, column, threads);
}


static void assert_series_equal(const ohlcx_series *a, const ohlcx_series *b, const char *path,
                                int threads)
{
    size_t n = a->n;

    assert_int_equal(b->n, n);
    assert_string_equal(b->symbol, a->symbol);
    assert_string_equal(b->timeframe, a->timeframe);
    assert_string_equal(b->source_path, a->source_path);
    assert_int_equal(b->asset_class, a->asset_class);
    assert_int_equal(b->extra, a->extra);
    assert_column_equal(a->open_time, b->open_time, n * 8, path, "open_time", threads);
    assert_column_equal(a->open, b->open, n * 8, path, "open", threads);
    assert_column_equal(a->high, b->high, n * 8, path, "high", threads);
    assert_column_equal(a->low, b->low, n * 8, path, "low", threads);
    assert_column_equal(a->close, b->close, n * 8, path, "close", threads);
    assert_column_equal(a->volume, b->volume, n * 8, path, "volume", threads);
    assert_column_equal(a->flags, b->flags, n, path, "flags", threads);
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        if (a->extra & (1u << i))
            assert_column_equal(a->extra_column[i], b->extra_column[i], n * 8, path,
                                ohlcx_extra_name(i), threads);
}


static void assert_report_equal(const ohlcx_read_report *a, const ohlcx_read_report *b)
{
    size_t listed = a->bad_row_count < OHLCX_BAD_ROWS_LISTED ? a->bad_row_count
                                                             : OHLCX_BAD_ROWS_LISTED;

    assert_int_equal(b->lines, a->lines);
    assert_int_equal(b->rows_read, a->rows_read);
    assert_int_equal(b->bad_row_count, a->bad_row_count);
    assert_string_equal(b->layout, a->layout);
    for (size_t i = 0; i < listed; i++) {
        assert_int_equal(b->bad_rows[i].line, a->bad_rows[i].line);
        assert_string_equal(b->bad_rows[i].reason, a->bad_rows[i].reason);
    }
}


static void assert_results_equal(const read_result *single, const read_result *multi,
                                 const char *path, int threads)
{
    if (multi->status != single->status || strcmp(multi->message, single->message) != 0)
        fail_msg("%s on %d threads: status %d \"%s\", on one thread %d \"%s\"", path, threads,
                 multi->status, multi->message, single->status, single->message);
    if (single->status != 0)
        return;
    assert_series_equal(&single->series, &multi->series, path, threads);
    assert_report_equal(&single->report, &multi->report);
}


/* Reads path on one thread and checks every thread count and piece size
 * against it. Returns the one-thread result, which the caller frees. */
static void check_same_with(const char *path, int policy, const char *columns,
                            const size_t *sizes, size_t size_count, read_result *single)
{
    read_threads(path, policy, columns, 1, single);
    for (size_t b = 0; b < size_count; b++) {
        format_parallel_set_block_bytes(sizes[b]);
        for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
            read_result multi;

            read_threads(path, policy, columns, thread_counts[t], &multi);
            assert_results_equal(single, &multi, path, thread_counts[t]);
            read_result_free(&multi);
        }
    }
    format_parallel_set_block_bytes(0);
}


static void check_same_on_threads(const char *path, int policy, const char *columns,
                                  read_result *single)
{
    check_same_with(path, policy, columns, block_sizes, BLOCK_SIZE_COUNT, single);
}


static void check_both_policies(const char *path, const size_t *sizes, size_t size_count)
{
    read_result single;

    check_same_with(path, OHLCX_BAD_ROWS_FAIL, NULL, sizes, size_count, &single);
    read_result_free(&single);
    check_same_with(path, OHLCX_BAD_ROWS_SKIP, NULL, sizes, size_count, &single);
    read_result_free(&single);
}


/* ---- files written by the tests ---- */

typedef struct text_file {
    char folder[64];
    char path[160];
    char *text;
    size_t length;
    size_t capacity;
} text_file;


static void text_file_start(text_file *file, const char *name)
{
    snprintf(file->folder, sizeof file->folder, "/tmp/ohlcx-parallel-XXXXXX");
    if (mkdtemp(file->folder) == NULL)
        fail_msg("cannot create a temporary folder");
    snprintf(file->path, sizeof file->path, "%s/%s", file->folder, name);
    file->capacity = 1 << 16;
    file->length = 0;
    file->text = malloc(file->capacity);
    if (file->text == NULL)
        fail_msg("out of memory");
}


static void text_add(text_file *file, const char *format, ...)
{
    for (;;) {
        va_list args;
        int written = 0;

        va_start(args, format);
        written = vsnprintf(file->text + file->length, file->capacity - file->length, format,
                            args);
        va_end(args);
        if (written >= 0 && (size_t)written < file->capacity - file->length) {
            file->length += (size_t)written;
            return;
        }
        file->capacity *= 2;
        file->text = realloc(file->text, file->capacity);
        if (file->text == NULL)
            fail_msg("out of memory");
    }
}


/* Adds kline row i: 12 fields, prices that differ per row, ending in "\n". */
static void add_kline(text_file *file, int i)
{
    long long open_ms = (long long)(FIRST_OPEN_MS + (int64_t)i * 60000);

    text_add(file, "%lld,%d.5,%d.75,%d.25,%d.5,%d.125,%lld,1000.5,%d,3.25,400.75,0\n", open_ms,
             40000 + i, 40001 + i, 39999 + i, 40000 + i, i % 97, open_ms + 59999, i % 500);
}


static void text_file_write(text_file *file)
{
    FILE *out = fopen(file->path, "wb");

    if (out == NULL || fwrite(file->text, 1, file->length, out) != file->length)
        fail_msg("cannot write %s", file->path);
    fclose(out);
}


static void text_file_write_gzip(text_file *file)
{
    gzFile out = gzopen(file->path, "wb");

    if (out == NULL || gzwrite(out, file->text, (unsigned)file->length) != (int)file->length)
        fail_msg("cannot write %s", file->path);
    gzclose(out);
}


static void text_file_remove(text_file *file)
{
    unlink(file->path);
    rmdir(file->folder);
    free(file->text);
}


/* ---- tests ---- */

static void parallel_snippets(void **state)
{
    const char *root = getenv("OHLCX_TEST_DATA");
    char folder[1024], path[2048];
    struct dirent *entry = NULL;
    DIR *listing = NULL;
    size_t count = 0;

    (void)state;
    snprintf(folder, sizeof folder, "%s/format", root ? root : "tests/data");
    listing = opendir(folder);
    if (listing == NULL)
        fail_msg("cannot open %s", folder);
    while ((entry = readdir(listing)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
        check_both_policies(path, block_sizes, BLOCK_SIZE_COUNT);
        count++;
    }
    closedir(listing);
    assert_true(count >= 40);
}


static void parallel_real_files(void **state)
{
    char buffer[2048];
    const char *root = real_data_folder(buffer, sizeof buffer);
    DIR *top = opendir(root);
    struct dirent *folder = NULL;
    size_t count = 0;

    (void)state;
    if (top == NULL && real_data_is_required())
        fail_msg("real data folder %s not found and OHLCX_REQUIRE_REAL_DATA is set", root);
    if (top == NULL)
        skip();
    while ((folder = readdir(top)) != NULL) {
        char folder_path[2400];
        struct dirent *entry = NULL;
        DIR *inner = NULL;

        if (folder->d_name[0] == '.')
            continue;
        snprintf(folder_path, sizeof folder_path, "%s/%s", root, folder->d_name);
        inner = opendir(folder_path);
        if (inner == NULL)
            continue; /* a file at the top, such as the provenance notes */
        while ((entry = readdir(inner)) != NULL) {
            char path[2700];

            if (entry->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", folder_path, entry->d_name);
            check_both_policies(path, real_block_sizes, REAL_BLOCK_SIZE_COUNT);
            count++;
        }
        closedir(inner);
    }
    closedir(top);
    assert_int_equal(count, 84);
}


/* Files of 1 to 50 rows (91 to 4630 bytes) straddle the piece sizes of
 * 256 and 4096 bytes, and end with and without a '\n'. */
static void parallel_sizes_straddle_blocks(void **state)
{
    (void)state;
    for (int rows = 1; rows <= 50; rows++) {
        for (int newline_at_end = 0; newline_at_end < 2; newline_at_end++) {
            text_file file;
            read_result single;

            text_file_start(&file, "BTCUSDT-1m.csv");
            for (int i = 0; i < rows; i++)
                add_kline(&file, i);
            if (!newline_at_end)
                file.length--;
            text_file_write(&file);
            check_same_on_threads(file.path, OHLCX_BAD_ROWS_FAIL, NULL, &single);
            assert_int_equal(single.status, 0);
            assert_int_equal(single.report.rows_read, rows);
            assert_int_equal(single.report.lines, rows);
            assert_int_equal(single.series.open_time[rows - 1],
                             (FIRST_OPEN_MS + (int64_t)(rows - 1) * 60000) * 1000);
            assert_true(single.series.close[rows - 1] == 40000 + rows - 1 + 0.5);
            read_result_free(&single);
            text_file_remove(&file);
        }
    }
}


/* 20000 rows (about 1.5 MiB) with a header: more than one default piece. */
static void parallel_large_file(void **state)
{
    text_file file;
    read_result single;

    (void)state;
    text_file_start(&file, "BTCUSDT-1m.csv");
    text_add(&file, "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
                    "taker_buy_volume,taker_buy_quote_volume,ignore\r\n");
    for (int i = 0; i < 20000; i++)
        add_kline(&file, i);
    text_file_write(&file);
    check_same_on_threads(file.path, OHLCX_BAD_ROWS_FAIL, NULL, &single);
    assert_int_equal(single.status, 0);
    assert_int_equal(single.report.rows_read, 20000);
    assert_int_equal(single.report.lines, 20001);
    assert_true(single.series.volume[12345] == 12345 % 97 + 0.125);
    assert_true(single.series.extra_column[FORMAT_EXTRA_TRADES][19999] == 19999 % 500);
    read_result_free(&single);
    text_file_remove(&file);
}


/* The 3 Binance klines of test_ingest_digest.c. Their BLAKE3 below is the
 * one that test records from Debian's b3sum 1.2.0. */
static const char digest_csv[] =
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
    "1704067200000,100.5,101.0,100.0,100.8,12.5,1704070799999,1260.0,40,6.0,605.0,0\n"
    "1704070800000,100.8,102.0,100.7,101.9,9.0,1704074399999,912.0,31,4.0,406.0,0\n"
    "1704074400000,101.9,102.3,101.1,101.2,7.5,1704077999999,762.0,25,3.5,355.0,0\n";
static const char digest_csv_blake3[] =
    "b48c1a627290eee7e955c2831f5b20662e11434b57549d0456c57ed5a8ba600c";


/* Reads path with its digest on the given threads and piece size. */
static int read_digest(const char *path, int threads, size_t block_bytes, char blake3[65])
{
    ohlcx_read_options options = {NULL, NULL, OHLCX_BAD_ROWS_FAIL};
    ohlcx_series series;
    ohlcx_read_report report;
    int status;

    ohlcx_series_init(&series);
    format_parallel_set_block_bytes(block_bytes);
    status = ohlcx_read_candles_digest(path, &options, NULL, threads, &series, &report, blake3);
    format_parallel_set_block_bytes(0);
    ohlcx_series_free(&series);
    ohlcx_read_report_free(&report);
    return status;
}


/* The digest hashed from the reads is the file's BLAKE3 on every thread
 * count and piece size, because the pieces are read in file order. */
static void parallel_digest_known_file(void **state)
{
    static const int threads[] = {1, 2, 3, 7};
    text_file file;

    (void)state;
    text_file_start(&file, "BTCUSDT-1h.csv");
    text_add(&file, "%s", digest_csv);
    text_file_write(&file);
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        for (size_t b = 0; b < BLOCK_SIZE_COUNT; b++) {
            char blake3[65] = "unset";

            assert_int_equal(read_digest(file.path, threads[t], block_sizes[b], blake3), 0);
            assert_string_equal(blake3, digest_csv_blake3);
        }
    }
    text_file_remove(&file);
}


/* A file of many default pieces gets the digest that hashing the file
 * alone gives (test_blake3.c checks that against the BLAKE3 test vectors). */
static void parallel_digest_large_file(void **state)
{
    text_file file;
    char expected[65], blake3[65] = "unset";

    (void)state;
    text_file_start(&file, "BTCUSDT-1m.csv");
    for (int i = 0; i < 40000; i++)
        add_kline(&file, i);
    text_file_write(&file);
    assert_true(file.length > 2 * ((size_t)1 << 20));
    assert_int_equal(ohlcx_blake3_file(file.path, expected), 0);
    assert_int_equal(read_digest(file.path, 2, 0, blake3), 0);
    assert_string_equal(blake3, expected);
    text_file_remove(&file);
}


/* The reader never sees the bytes of a gzip file, so its digest is empty,
 * and a failed read leaves it empty too. */
static void parallel_digest_empty_when_unknown(void **state)
{
    text_file file;
    char blake3[65] = "unset";

    (void)state;
    text_file_start(&file, "BTCUSDT-1h.csv.gz");
    text_add(&file, "%s", digest_csv);
    text_file_write_gzip(&file);
    assert_int_equal(read_digest(file.path, 2, 0, blake3), 0);
    assert_string_equal(blake3, "");
    text_file_remove(&file);

    text_file_start(&file, "BTCUSDT-1h.csv");
    text_add(&file, "%s", digest_csv);
    text_add(&file, "1704078000000,101.2,oops,101.0,101.3,5.0,1704081599999,500.0,20,2.0,"
                    "200.0,0\n");
    text_file_write(&file);
    strcpy(blake3, "unset");
    assert_int_equal(read_digest(file.path, 2, 61, blake3), OHLCX_EFORMAT);
    assert_string_equal(blake3, "");
    text_file_remove(&file);
}


/* Writes 200 rows with a bad row at line bad_line (0 for none) and a blank
 * line and a datetime row, which miss the fast path, near it. */
static void write_with_bad_row(text_file *file, int bad_line, int compress)
{
    text_file_start(file, compress ? "BTCUSDT-1m.csv.gz" : "BTCUSDT-1m.csv");
    for (int line = 1; line <= 200; line++) {
        if (line == bad_line)
            text_add(file, "1704067200000,40000.5,oops,39999.25,40000.5,1.0,1704067259999,"
                           "1000.5,1,3.25,400.75,0\n");
        else if (line == 100)
            text_add(file, "   \n");
        else if (line == 101)
            text_add(file, "2024-01-01 01:40:00,40100.5,40101.75,40099.25,40100.5,3,"
                           "1704073259999,1000.5,1,3.25,400.75,0\n");
        else
            add_kline(file, line - 1);
    }
    if (compress)
        text_file_write_gzip(file);
    else
        text_file_write(file);
}


static void check_bad_row_at(int bad_line, int compress)
{
    text_file file;
    read_result single;
    char expected[256];

    write_with_bad_row(&file, bad_line, compress);
    snprintf(expected, sizeof expected, "%s:%d:", file.path, bad_line);

    check_same_on_threads(file.path, OHLCX_BAD_ROWS_FAIL, NULL, &single);
    assert_int_equal(single.status, OHLCX_EFORMAT);
    assert_text_contains(single.message, expected);
    assert_text_contains(single.message, "invalid number 'oops'");
    read_result_free(&single);

    check_same_on_threads(file.path, OHLCX_BAD_ROWS_SKIP, NULL, &single);
    assert_int_equal(single.status, 0);
    assert_int_equal(single.report.bad_row_count, 1);
    assert_int_equal(single.report.bad_rows[0].line, bad_line);
    assert_int_equal(single.report.rows_read, 198);
    assert_int_equal(single.report.lines, 200);
    read_result_free(&single);
    text_file_remove(&file);
}


/* The kline rows are 91 to 94 bytes long, so 256-byte pieces end after
 * every second or third line and the first 4096-byte piece after line 44. */
static void parallel_bad_row_lines(void **state)
{
    static const int bad_lines[] = {1, 2, 3, 4, 44, 45, 46, 99, 102, 199, 200};

    (void)state;
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++)
        check_bad_row_at(bad_lines[i], 0);
    check_bad_row_at(1, 1);
    check_bad_row_at(45, 1);
    check_bad_row_at(200, 1);
}


/* 150 bad rows: the report lists the first 100 and counts them all. */
static void parallel_many_bad_rows(void **state)
{
    text_file file;
    read_result single;

    (void)state;
    text_file_start(&file, "BTCUSDT-1m.csv");
    for (int i = 0; i < 300; i++) {
        if (i % 2 == 1)
            text_add(&file, "%d,bad\n", i);
        else
            add_kline(&file, i);
    }
    text_file_write(&file);
    check_same_on_threads(file.path, OHLCX_BAD_ROWS_SKIP, NULL, &single);
    assert_int_equal(single.status, 0);
    assert_int_equal(single.report.bad_row_count, 150);
    assert_int_equal(single.report.rows_read, 150);
    assert_int_equal(single.report.bad_rows[0].line, 2);
    assert_int_equal(single.report.bad_rows[99].line, 200);
    assert_string_equal(single.report.bad_rows[0].reason, "expected 12 fields, found 2");
    read_result_free(&single);

    /* Under fail, the first of them stops the read. */
    check_same_on_threads(file.path, OHLCX_BAD_ROWS_FAIL, NULL, &single);
    assert_int_equal(single.status, OHLCX_EFORMAT);
    assert_text_contains(single.message, "BTCUSDT-1m.csv:2:");
    read_result_free(&single);
    text_file_remove(&file);
}


/* A line of 1 MiB or more fails with the same message on every thread
 * count, under skip too. A line one byte shorter is a bad row. */
static void parallel_long_line(void **state)
{
    text_file file;
    read_result single;
    size_t long_start = 0;

    (void)state;
    text_file_start(&file, "BTCUSDT-1m.csv");
    for (int i = 0; i < 30; i++)
        add_kline(&file, i);
    long_start = file.length;
    for (size_t i = 0; i < FORMAT_CHUNK_BYTES; i++)
        text_add(&file, "7");
    text_add(&file, "\n");
    add_kline(&file, 31);
    text_file_write(&file);

    check_same_on_threads(file.path, OHLCX_BAD_ROWS_SKIP, NULL, &single);
    assert_int_equal(single.status, OHLCX_EFORMAT);
    assert_text_contains(single.message, "BTCUSDT-1m.csv:31: line is longer than 1048576 bytes");
    read_result_free(&single);

    memmove(file.text + long_start, file.text + long_start + 1, file.length - long_start - 1);
    file.length--;
    text_file_write(&file);
    check_same_on_threads(file.path, OHLCX_BAD_ROWS_SKIP, NULL, &single);
    assert_int_equal(single.status, 0);
    assert_int_equal(single.report.rows_read, 31);
    assert_int_equal(single.report.bad_row_count, 1);
    assert_int_equal(single.report.bad_rows[0].line, 31);
    assert_string_equal(single.report.bad_rows[0].reason, "expected 12 fields, found 1");
    read_result_free(&single);
    text_file_remove(&file);
}


/* Data rows that the general path reads (quoted fields, datetimes) with a
 * columns option, on many threads. */
static void parallel_general_path(void **state)
{
    text_file file;
    read_result single;

    (void)state;
    text_file_start(&file, "ETHUSDT-1h.csv");
    text_add(&file, "Date;Close;Open;High;Low\n");
    for (int i = 0; i < 500; i++)
        text_add(&file, "\"2024-01-%02d %02d:00\";%d.5;%d;%d;%d\n", 1 + i / 24, i % 24,
                 2000 + i, 2000 + i, 2001 + i, 1999 + i);
    text_file_write(&file);
    check_same_on_threads(file.path, OHLCX_BAD_ROWS_FAIL,
                          "date=Date,open=Open,high=High,low=Low,close=Close,delimiter=;",
                          &single);
    assert_int_equal(single.status, 0);
    assert_int_equal(single.report.rows_read, 500);
    assert_true(single.series.close[499] == 2499.5);
    assert_true(single.series.volume[499] == 0);
    read_result_free(&single);
    text_file_remove(&file);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parallel_snippets),
        cmocka_unit_test(parallel_sizes_straddle_blocks),
        cmocka_unit_test(parallel_large_file),
        cmocka_unit_test(parallel_bad_row_lines),
        cmocka_unit_test(parallel_many_bad_rows),
        cmocka_unit_test(parallel_long_line),
        cmocka_unit_test(parallel_general_path),
        cmocka_unit_test(parallel_digest_known_file),
        cmocka_unit_test(parallel_digest_large_file),
        cmocka_unit_test(parallel_digest_empty_when_unknown),
        cmocka_unit_test(parallel_real_files),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
