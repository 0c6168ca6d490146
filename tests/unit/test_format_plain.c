/*
 * Tests of the fast path for plain rows (src/format/plain.c) at its
 * boundaries. They cover fields that cross the 64-byte blocks of a line,
 * lines of 256 and 257 bytes and numbers of 8, 9, 16 and 17 digits. They
 * also cover layouts with and without volume and optional columns, and a
 * series that grows while rows go straight into its columns. The fast path
 * and the general path must give the same rows, so each test asserts the
 * values a row must have, whichever path took it. In a build for AVX-512
 * VBMI and VBMI2, such as -march=native on a CPU that has them, the rows
 * also go through the vector path of plain.c.
 *
 * Open times start at 2024-01-01 00:00 UTC, which is 19723 days after
 * 1970-01-01, so 1704067200 s, and step by one minute a row. The prices of
 * the block rows are multiples of 1/16, which doubles hold exactly, so
 * their expected values are plain sums.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "format/format_internal.h"
#include "test_format_helpers.h"

#define FIRST_OPEN_MS INT64_C(1704067200000)


/* Creates an empty temporary file and writes its path to path. */
static void temporary_path(char *path, size_t size, const char *name)
{
    int descriptor = -1;

    snprintf(path, size, "/tmp/ohlcx-%s-XXXXXX", name);
    descriptor = mkstemp(path);
    assert_true(descriptor >= 0);
    close(descriptor);
}


/* Reads path with the columns option, failing on bad rows, on threads
 * threads. */
static int read_plain(const char *path, const char *columns, int threads, ohlcx_series *series)
{
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_FAIL};
    ohlcx_layout_options layout = {columns, NULL};

    ohlcx_series_init(series);
    return ohlcx_read_candles_parallel(path, &options, &layout, threads, series, NULL);
}


/* Columns of the block tests: a padding field, the time, OHLCV and the
 * four optional columns, so that there are 9 numbers. */
static const char block_columns[] =
    "time=1,open=2,high=3,low=4,close=5,volume=6,quote_volume=7,trades=8,"
    "taker_buy_base=9,taker_buy_quote=10,header=no";

/* Formats row n of the block tests into line: a padding field of pad
 * zeros, then the fields whose values check_block_row() expects. Returns
 * the length of the line. */
static size_t format_block_row(char *line, size_t size, size_t n, size_t pad,
                               const char *line_end)
{
    int length = 0;

    assert_true(pad < size);
    memset(line, '0', pad);
    length = snprintf(line + pad, size - pad,
                      ",%lld,%zu.25,%zu.5,%zu.125,%zu.75,%zu.5,%zu.25,%zu,%zu.0625,%zu.5%s",
                      (long long)(FIRST_OPEN_MS + 60000 * (int64_t)n), n, n, n, n, 2 * n, 3 * n,
                      n, n, 10000000 + n, line_end);
    assert_true(length > 0);
    assert_true((size_t)length < size - pad);
    return pad + (size_t)length;
}


/* Writes row n of the block tests to file and returns its length. */
static size_t write_block_row(FILE *file, size_t n, size_t pad, const char *line_end)
{
    char line[512];
    size_t length = format_block_row(line, sizeof line, n, pad, line_end);

    assert_int_equal(fwrite(line, 1, length, file), length);
    return length;
}


/* Checks row n of the block tests against the values write_block_row()
 * wrote. */
static void check_block_row(const ohlcx_series *series, size_t n)
{
    double x = (double)n;

    assert_int_equal(series->open_time[n], (1704067200 + 60 * (int64_t)n) * US);
    assert_true(series->open[n] == x + 0.25);
    assert_true(series->high[n] == x + 0.5);
    assert_true(series->low[n] == x + 0.125);
    assert_true(series->close[n] == x + 0.75);
    assert_true(series->volume[n] == 2 * x + 0.5);
    assert_true(series->extra_column[FORMAT_EXTRA_QUOTE_VOLUME][n] == 3 * x + 0.25);
    assert_true(series->extra_column[FORMAT_EXTRA_TRADES][n] == x);
    assert_true(series->extra_column[FORMAT_EXTRA_TAKER_BASE][n] == x + 0.0625);
    assert_true(series->extra_column[FORMAT_EXTRA_TAKER_QUOTE][n] == 10000000 + x + 0.5);
}


/* Row n has a padding field of n bytes, so that the rows move each
 * delimiter across the 64-byte block edges one byte at a time, or a few
 * where a number gains a digit. The lines
 * run from 64 to 330 bytes (331 with CRLF): those up to 256 bytes take the
 * fast path, the longer ones the general path. With LF and CRLF, on 1 and
 * 2 threads with 4 KiB pieces. */
static void plain_fields_cross_blocks(void **state)
{
    static const char *line_ends[] = {"\n", "\r\n"};
    const size_t rows = 251;
    char path[64];

    (void)state;
    temporary_path(path, sizeof path, "plain-blocks");
    format_parallel_set_block_bytes(4096);
    for (size_t e = 0; e < 2; e++) {
        FILE *file = fopen(path, "wb");

        assert_non_null(file);
        for (size_t n = 0; n < rows; n++)
            write_block_row(file, n, n, line_ends[e]);
        fclose(file);

        for (int threads = 1; threads <= 2; threads++) {
            ohlcx_series series;

            assert_int_equal(read_plain(path, block_columns, threads, &series), 0);
            assert_int_equal(series.n, rows);
            for (size_t n = 0; n < rows; n++)
                check_block_row(&series, n);
            ohlcx_series_free(&series);
        }
    }
    format_parallel_set_block_bytes(0);
    unlink(path);
}


/* A line of 256 bytes with its '\n' is the longest that the fast path
 * takes; 255 and 257 bytes are on either side, and 64, 128 and 192 bytes
 * end right at a block. The padding makes up each length. */
static void plain_line_of_256_bytes(void **state)
{
    static const size_t lengths[] = {255, 256, 257, 64, 128, 192, 256};
    char path[64], line[512];
    FILE *file = NULL;
    ohlcx_series series;

    (void)state;
    temporary_path(path, sizeof path, "plain-256");
    file = fopen(path, "wb");
    assert_non_null(file);
    for (size_t n = 0; n < sizeof lengths / sizeof lengths[0]; n++) {
        size_t bare = format_block_row(line, sizeof line, n, 0, "\n");

        assert_int_equal(write_block_row(file, n, lengths[n] - bare, "\n"), lengths[n]);
    }
    fclose(file);

    assert_int_equal(read_plain(path, block_columns, 1, &series), 0);
    assert_int_equal(series.n, sizeof lengths / sizeof lengths[0]);
    for (size_t n = 0; n < series.n; n++)
        check_block_row(&series, n);
    ohlcx_series_free(&series);
    unlink(path);
}


/* Numbers around the 8 + 8 digit limit of the fast path's digit words and
 * the 2^53 limit of its mantissa. Each expected value is the C literal of
 * the same text, which the compiler rounds correctly, as strtod() does. */
static const struct {
    const char *text;
    double value;
} digit_cases[] = {
    {"12345678", 12345678.0},                     /* 8 integer digits */
    {"123456789", 123456789.0},                   /* 9 */
    {"0.12345678", 0.12345678},                   /* 8 fraction digits */
    {"0.123456789", 0.123456789},                 /* 9 */
    {"12345678.12345678", 12345678.12345678},     /* 16 digits: 8 + 8 */
    {"123456789.12345678", 123456789.12345678},   /* 17: 9 + 8 */
    {"12345678.123456789", 12345678.123456789},   /* 17: 8 + 9 */
    {"1234567890123456", 1234567890123456.0},     /* 16 integer digits */
    {"12345678901234567", 12345678901234567.0},   /* 17, above 2^53 */
    {"9007199254740992", 9007199254740992.0},     /* 2^53 */
    {"99999999.99999999", 99999999.99999999},     /* 8 + 8, mantissa above 2^53 */
    /* 2^53 + 1 rounds to 2^53 as a double, which would give ...92. */
    {"90071992.54740993", 90071992.54740993},
    {"00000007.5", 7.5},                          /* 8 integer digits, leading zeros */
    {"-12345678.5", -12345678.5},                 /* a sign */
    {"5.", 5.0},
    {"0", 0.0},
    {".5", 0.5},
    {"+5.25", 5.25},
    /* Only the general path takes these. */
    {"1e5", 100000.0},
    {"2.5E-3", 0.0025},
    {" 7.5 ", 7.5},
};


/* Each number goes into the open and the close column of one row, which
 * the vector path parses in lanes 0 and 3. It also goes into
 * taker_buy_quote of the next row, the ninth number, which that path leaves
 * to the scalar functions. A row that one path cannot take goes whole to
 * the other, so the two rows keep the cases apart. */
static void plain_number_digit_counts(void **state)
{
    size_t count = sizeof digit_cases / sizeof digit_cases[0];
    char path[64];
    FILE *file = NULL;
    ohlcx_series series;

    (void)state;
    temporary_path(path, sizeof path, "plain-digits");
    file = fopen(path, "wb");
    assert_non_null(file);
    for (size_t n = 0; n < count; n++) {
        const char *text = digit_cases[n].text;
        long long open_ms = (long long)(FIRST_OPEN_MS + 120000 * (int64_t)n);

        fprintf(file, "x,%lld,%s,2,1,%s,3,4,5,6,7\n", open_ms, text, text);
        fprintf(file, "x,%lld,1,2,1,1,3,4,5,6,%s\n", open_ms + 60000, text);
    }
    fclose(file);

    assert_int_equal(read_plain(path, block_columns, 1, &series), 0);
    assert_int_equal(series.n, 2 * count);
    for (size_t n = 0; n < count; n++) {
        double expected = digit_cases[n].value;
        const double *taker_quote = series.extra_column[FORMAT_EXTRA_TAKER_QUOTE];

        if (series.open[2 * n] != expected || series.close[2 * n] != expected ||
            taker_quote[2 * n + 1] != expected)
            fail_msg("'%s' read as %.17g, %.17g and %.17g, expected %.17g",
                     digit_cases[n].text, series.open[2 * n], series.close[2 * n],
                     taker_quote[2 * n + 1], expected);
        assert_true(series.high[2 * n] == 2.0);
        assert_true(series.low[2 * n] == 1.0);
        assert_true(series.volume[2 * n] == 3.0);
        assert_true(series.extra_column[FORMAT_EXTRA_TAKER_BASE][2 * n] == 6.0);
        assert_true(taker_quote[2 * n] == 7.0);
        assert_true(series.open[2 * n + 1] == 1.0);
    }
    ohlcx_series_free(&series);
    unlink(path);
}


/* Texts that look like numbers to a quick scan but that no path takes:
 * each row is skipped and reported, and the rows around it are read. The
 * last bad row has a quote that is never closed in its first field, so
 * that the general path finds one field where a split at each comma finds
 * 11. */
static void plain_number_rejected(void **state)
{
    static const char *bad[] = {"1.2.3", "5x", "12.5.1", "--5", "0x10", ".", "-", "", "1e309"};
    size_t count = sizeof bad / sizeof bad[0];
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_SKIP};
    ohlcx_layout_options layout = {block_columns, NULL};
    ohlcx_read_report report;
    char path[64];
    FILE *file = NULL;
    ohlcx_series series;

    (void)state;
    temporary_path(path, sizeof path, "plain-rejected");
    file = fopen(path, "wb");
    assert_non_null(file);

    /* Lines 2, 4, 6, ... have a bad text in the close column; lines 1, 3,
     * 5, ... are good rows. */
    for (size_t n = 0; n < count; n++) {
        write_block_row(file, 2 * n, 0, "\n");
        fprintf(file, ",%lld,1,2,1,%s,3,4,5,6,7\n",
                (long long)(FIRST_OPEN_MS + 60000 * (int64_t)(2 * n + 1)), bad[n]);
    }
    write_block_row(file, 2 * count, 0, "\n");
    fprintf(file, "\"x,%lld,1,2,1,1,3,4,5,6,7\n",
            (long long)(FIRST_OPEN_MS + 60000 * (int64_t)(2 * count + 1)));
    write_block_row(file, 2 * count + 2, 0, "\n");
    fclose(file);

    ohlcx_series_init(&series);
    assert_int_equal(ohlcx_read_candles_ex(path, &options, &layout, &series, &report), 0);
    assert_int_equal(report.bad_row_count, count + 1);
    for (size_t n = 0; n <= count; n++)
        assert_int_equal(report.bad_rows[n].line, 2 * n + 2);
    assert_int_equal(series.n, count + 2);
    for (size_t n = 0; n <= count + 1; n++) {
        double x = (double)(2 * n);

        assert_int_equal(series.open_time[n], (1704067200 + 120 * (int64_t)n) * US);
        assert_true(series.close[n] == x + 0.75);
        assert_true(series.extra_column[FORMAT_EXTRA_TAKER_QUOTE][n] == 10000000 + x + 0.5);
    }
    ohlcx_read_report_free(&report);
    ohlcx_series_free(&series);
    unlink(path);
}


/* Without a volume column every volume is 0, and optional columns that the
 * layout lacks stay absent. The time is the fourth field here and the
 * delimiter a semicolon. */
static void plain_layout_without_volume(void **state)
{
    char path[64];
    FILE *file = NULL;
    ohlcx_series series;

    (void)state;
    temporary_path(path, sizeof path, "plain-no-volume");
    file = fopen(path, "wb");
    assert_non_null(file);
    for (size_t n = 0; n < 40; n++)
        fprintf(file, "%zu.5;%zu.25;%zu.75;%lld;%zu.125;%zu\n", n, n, n,
                (long long)(FIRST_OPEN_MS + 60000 * (int64_t)n), n, n);
    fclose(file);

    assert_int_equal(read_plain(path, "open=0,high=1,low=4,close=2,time=3,trades=5,"
                                      "delimiter=;,header=no",
                                1, &series),
                     0);
    assert_int_equal(series.n, 40);
    assert_null(series.extra_column[FORMAT_EXTRA_QUOTE_VOLUME]);
    assert_null(series.extra_column[FORMAT_EXTRA_TAKER_BASE]);
    for (size_t n = 0; n < series.n; n++) {
        double x = (double)n;

        assert_int_equal(series.open_time[n], (1704067200 + 60 * (int64_t)n) * US);
        assert_true(series.open[n] == x + 0.5);
        assert_true(series.high[n] == x + 0.25);
        assert_true(series.low[n] == x + 0.125);
        assert_true(series.close[n] == x + 0.75);
        assert_true(series.volume[n] == 0.0);
        assert_true(series.extra_column[FORMAT_EXTRA_TRADES][n] == x);
    }
    ohlcx_series_free(&series);
    unlink(path);
}


/* The reader sizes the series from the first lines, which are long here,
 * so the 3000 short lines after them outgrow it, and rows keep going into
 * the columns after each growth. */
static void plain_series_grows(void **state)
{
    const size_t long_rows = 64, rows = long_rows + 3000;
    char path[64];
    FILE *file = NULL;
    ohlcx_series series;

    (void)state;
    temporary_path(path, sizeof path, "plain-grows");
    file = fopen(path, "wb");
    assert_non_null(file);
    for (size_t n = 0; n < rows; n++)
        write_block_row(file, n, n < long_rows ? 160 : 0, "\n");
    fclose(file);

    assert_int_equal(read_plain(path, block_columns, 1, &series), 0);
    assert_int_equal(series.n, rows);
    for (size_t n = 0; n < rows; n++)
        check_block_row(&series, n);
    ohlcx_series_free(&series);
    unlink(path);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_fields_cross_blocks),
        cmocka_unit_test(plain_line_of_256_bytes),
        cmocka_unit_test(plain_number_digit_counts),
        cmocka_unit_test(plain_number_rejected),
        cmocka_unit_test(plain_layout_without_volume),
        cmocka_unit_test(plain_series_grows),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
