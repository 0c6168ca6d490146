/*
 * Tests of the format module's parsers below the reader: vendor date and
 * time layouts, strftime-style patterns, plain and styled numbers, the fast
 * path for plain rows, epoch fractions, quoted fields, value kinds,
 * delimiter and banner sniffing, TZif zones and symbol and timeframe from
 * vendors' file names.
 *
 * Epoch values were worked out from days since 1970-01-01 and checked with
 * Python's datetime and zoneinfo:
 *   2017-08-17 = 17395 days = 1502928000 s
 *   2019-06-14 = 18061 days = 1560470400 s
 *   2024-01-01 = 19723 days = 1704067200 s
 *   2024-03-08 = 19790 days = 1709856000 s
 *   2024-08-03 = 19938 days = 1722643200 s
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


/* ---- dates and times ---- */

static void date_time_layouts(void **state)
{
    static const struct {
        const char *text;
        int day_first;
        int64_t seconds;
        unsigned flags;
    } cases[] = {
        {"2024-03-08", 0, 1709856000, 0},
        {"2024.03.08", 0, 1709856000, 0},
        {"2024/3/8", 0, 1709856000, 0},
        {"20240308", 0, 1709856000, 0},
        {"08.03.2024", 0, 1709856000, 0},
        {"08-03-2024", 0, 1709856000, 0},
        {"03/08/2024", 0, 1709856000, 0},
        {"03/08/2024", 1, 1722643200, 0},
        {"Mar 08, 2024", 0, 1709856000, 0},
        {"March 8 2024", 0, 1709856000, 0},
        {"8 Mar 2024", 0, 1709856000, 0},
        {"2024-03-08T10:00:00Z", 0, 1709856000 + 36000, FORMAT_TIME_CLOCK | FORMAT_TIME_ZONE},
        {"2024-03-08 9:30 PM", 0, 1709856000 + 77400, FORMAT_TIME_CLOCK},
        {"2024-03-08 12:05 am", 0, 1709856000 + 300, FORMAT_TIME_CLOCK},
        /* CryptoDataDownload's 12-hour form. */
        {"2017-08-17 04-AM", 0, 1502928000 + 14400, FORMAT_TIME_CLOCK},
        {"2017-08-17 12-PM", 0, 1502928000 + 43200, FORMAT_TIME_CLOCK},
        {"2017-08-17 12-AM", 0, 1502928000, FORMAT_TIME_CLOCK},
        /* yfinance: New York time with its offset. */
        {"2022-08-31 04:00:00-04:00", 0, 1661932800, FORMAT_TIME_CLOCK | FORMAT_TIME_ZONE},
        {"2026-01-02 16:10:00 UTC", 0, 1767370200, FORMAT_TIME_CLOCK | FORMAT_TIME_ZONE},
        {"2015.01.02 09:00:00.250", 0, 1420189200, FORMAT_TIME_CLOCK},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t us = 0;
        unsigned flags = 99;
        int status = format_parse_date_time(cases[i].text, strlen(cases[i].text),
                                            cases[i].day_first, &us, &flags);

        if (status != 0)
            fail_msg("'%s' was rejected", cases[i].text);
        if (us / US != cases[i].seconds)
            fail_msg("'%s' gave %lld s, expected %lld", cases[i].text, (long long)(us / US),
                     (long long)cases[i].seconds);
        if (flags != cases[i].flags)
            fail_msg("'%s' gave flags %u, expected %u", cases[i].text, flags, cases[i].flags);
    }
}


static void date_time_fraction(void **state)
{
    int64_t us = 0;
    unsigned flags = 0;

    (void)state;
    assert_int_equal(format_parse_date_time("2015.01.02 09:00:00.250", 23, 0, &us, &flags), 0);
    assert_int_equal(us, 1420189200 * US + 250000);
}


static void date_time_rejects(void **state)
{
    static const char *bad[] = {
        "",           "2024-02-30",       "13/13/2024",          "2024-03-08 25:00",
        "2024-03-08 10:60", "Foo 08, 2024", "2024-03-08 13:00 PM", "2024-03-08x",
        "08.03.24",   "2024-03-08 10:00:00+15:00", "123456789", "2024-03-08 10",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 0;
        unsigned flags = 0;
        if (format_parse_date_time(bad[i], strlen(bad[i]), 0, &us, &flags) == 0)
            fail_msg("'%s' was accepted as %lld", bad[i], (long long)us);
    }
}


static void clock_forms(void **state)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"10:00", 36000 * US},  {"100000", 36000 * US},     {"1000", 36000 * US},
        {"00:00:00", 0},        {"000000", 0},              {"9:30", 34200 * US},
        {"23:59:59.5", 86399 * US + 500000},
    };
    static const char *bad[] = {"24:00", "1060", "250000", "10", "10:0", "abc"};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t us = -1;
        if (format_parse_clock(cases[i].text, strlen(cases[i].text), &us) != 0 || us != cases[i].us)
            fail_msg("'%s' gave %lld, expected %lld", cases[i].text, (long long)us,
                     (long long)cases[i].us);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 0;
        if (format_parse_clock(bad[i], strlen(bad[i]), &us) == 0)
            fail_msg("'%s' was accepted as %lld", bad[i], (long long)us);
    }
}


static void pattern_forms(void **state)
{
    static const struct {
        const char *pattern, *text;
        int64_t seconds;
        unsigned flags;
    } cases[] = {
        {"%d/%m/%Y %H:%M", "02/01/2024 10:00", 1704189600, FORMAT_TIME_CLOCK},
        {"%b %d, %Y", "Jun 14, 2019", 1560470400, 0},
        {"%Y%m%d%H%M%S", "20220103100000", 1641204000, FORMAT_TIME_CLOCK},
        {"%d.%m.%y %I:%M %p", "02.01.24 10:00 PM", 1704189600 + 43200, FORMAT_TIME_CLOCK},
        {"%Y-%m-%dT%H:%M:%S.%f%z", "2024-01-02T10:00:00.5+01:00", 1704189600 - 3600,
         FORMAT_TIME_CLOCK | FORMAT_TIME_ZONE},
        {"%Y-%m-%d 100%%", "2024-01-02 100%", 1704153600, 0},
    };
    static const struct {
        const char *pattern, *text;
    } bad[] = {
        {"%d/%m/%Y", "02-01-2024"}, {"%d/%m/%Y", "02/01/2024 10:00"},
        {"%H:%M", "25:00"},         {"%p", "AM"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t us = 0;
        unsigned flags = 99;

        if (format_parse_pattern(cases[i].pattern, cases[i].text, strlen(cases[i].text), &us,
                                 &flags) != 0)
            fail_msg("'%s' with '%s' was rejected", cases[i].text, cases[i].pattern);
        if (us / US != cases[i].seconds || flags != cases[i].flags)
            fail_msg("'%s' with '%s' gave %lld s and flags %u", cases[i].text, cases[i].pattern,
                     (long long)(us / US), flags);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 0;
        unsigned flags = 0;
        if (format_parse_pattern(bad[i].pattern, bad[i].text, strlen(bad[i].text), &us,
                                 &flags) == 0)
            fail_msg("'%s' with '%s' was accepted", bad[i].text, bad[i].pattern);
    }
}


static void pattern_check(void **state)
{
    (void)state;
    assert_int_equal(format_check_pattern("%d/%m/%Y %H:%M:%S.%f %p %z %b %%"), 0);
    /* The position of the bad directive, counted from 1. */
    assert_int_equal(format_check_pattern("%Y-%q"), 4);
    assert_int_equal(format_check_pattern("%Y%"), 3);
}


/* ---- numbers and epochs ---- */

static void styled_numbers(void **state)
{
    static const struct {
        const char *text;
        int decimal_comma;
        double value;
    } cases[] = {
        {"12,084.30", 0, 12084.3},   {"1,234,567.5", 0, 1234567.5},
        {"69.17M", 0, 69170000.0},    {"1.2B", 0, 1200000000.0},
        {"850.5K", 0, 850500.0},      {"-0.5", 0, -0.5},
        {"76.761,5", 1, 76761.5},     {"46,88K", 1, 46880.0},
        {"4.509,38", 1, 4509.38},     {"5,0374", 1, 5.0374},
        {"1.234", 1, 1234.0},         {"173", 1, 173.0},
    };
    static const struct {
        const char *text;
        int decimal_comma;
    } bad[] = {
        {"1,23", 0},  {"12,34.5", 0}, {"1.2.3", 0}, {"K", 0},     {"", 0},
        {"1,2345", 0}, {"-", 0},     {"12a", 0},   {"1.2K3", 0}, {"4.509,38", 0},
        {"1,2,3", 1}, {"NaN", 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double value = -1;
        if (format_parse_number_styled(cases[i].text, strlen(cases[i].text),
                                       cases[i].decimal_comma, &value) != 0)
            fail_msg("'%s' was rejected", cases[i].text);
        if (value != cases[i].value)
            fail_msg("'%s' gave %.17g, expected %.17g", cases[i].text, value, cases[i].value);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double value = 0;
        if (format_parse_number_styled(bad[i].text, strlen(bad[i].text), bad[i].decimal_comma,
                                       &value) == 0)
            fail_msg("'%s' was accepted as %g", bad[i].text, value);
    }
}


/* Edge cases of plain decimals, for the fast path and for rows. */
static const char *const plain_number_edges[] = {
    "41046.28",          "0.00012345",         "000123.4500",        "0.1",
    "-5.25",             "+5.25",              "-0",                 ".5",
    "5.",                "-.5",                "123456789012345",    "1234567890123456",
    "9007199254740992",  "9007199254740993",   "12345678.12345678",  "123456789.5",
    "1.123456789",       "0.000000000000000001", "12345678901234567890", "1e5",
    "2.5E-3",            "1e308",              "1e309",              "inf",
    "nan",               ".",                  "-",                  "+",
    "1.2.3",             "--5",                "+-5",                "5x",
    "99999999.99999999", "-12345678.87654321", "4.9e-324",           "00000000000000000001.5",
};


/* Copies text into a zeroed buffer with room for the 8-byte reads. */
static const char *padded(const char *text, char *buffer, size_t size)
{
    memset(buffer, 0, size);
    assert_true(strlen(text) + 16 < size);
    memcpy(buffer, text, strlen(text));
    return buffer;
}


static void plain_number_values(void **state)
{
    static const struct {
        const char *text;
        double value;
    } cases[] = {
        {"41046.28", 41046.28},
        {"0.00012345", 0.00012345},
        {"000123.4500", 123.45},
        {"-5.25", -5.25},
        {"+5.25", 5.25},
        {".5", 0.5},
        {"5.", 5.0},
        {"-.5", -0.5},
        {"123456789012345", 123456789012345.0},   /* 15 digits */
        {"1234567890123456", 1234567890123456.0}, /* 16 digits, below 2^53 */
        {"9007199254740992", 9007199254740992.0}, /* 2^53 */
        {"0.000000000000000001", 1e-18},          /* 19 digits */
    };
    char buffer[64];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text = padded(cases[i].text, buffer, sizeof buffer);
        double value = -1;
        const char *end = format_scan_plain_number(text, &value);

        if (end != text + strlen(text))
            fail_msg("'%s' was not taken whole", cases[i].text);
        if (value != cases[i].value)
            fail_msg("'%s' gave %.17g, expected %.17g", cases[i].text, value, cases[i].value);
        if (value != strtod(text, NULL))
            fail_msg("'%s' gave %.17g, strtod() %.17g", cases[i].text, value, strtod(text, NULL));
    }
}


static void plain_number_negative_zero(void **state)
{
    char buffer[64];
    double value = 1;
    const char *text = padded("-0", buffer, sizeof buffer);

    (void)state;
    assert_ptr_equal(format_scan_plain_number(text, &value), text + 2);
    assert_true(value == 0.0);
    assert_true(signbit(value));
}


static void plain_number_stops_at_delimiter(void **state)
{
    char buffer[64];
    double value = 0;
    const char *text = padded("12.5,7", buffer, sizeof buffer);

    (void)state;
    assert_ptr_equal(format_scan_plain_number(text, &value), text + 4);
    assert_true(value == 12.5);
}


/* Texts that the fast path leaves to format_parse_number(), which either
 * matches strtod() or rejects them. */
static void plain_number_deferred(void **state)
{
    static const struct {
        const char *text;
        int accepted; /* by format_parse_number() */
        double value;
    } cases[] = {
        {"9007199254740993", 1, 9007199254740992.0}, /* above 2^53: rounds to even */
        {"12345678901234567890", 1, 12345678901234567168.0}, /* 20 digits */
        {"1e5", 1, 100000.0},
        {"2.5E-3", 1, 0.0025},
        {"1e308", 1, 1e308},
        {"1e309", 0, 0},  /* overflows to infinity */
        {"inf", 0, 0},
        {"nan", 0, 0},
        {".", 0, 0},
        {"-", 0, 0},
        {"+", 0, 0},
        {"", 0, 0},
        {"1.2.3", 0, 0},
        {"--5", 0, 0},
    };
    char buffer[64];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text = padded(cases[i].text, buffer, sizeof buffer);
        double value = -1;
        int status = 0;

        if (format_scan_plain_number(text, &value) != NULL)
            fail_msg("'%s' took the fast path as %.17g", cases[i].text, value);
        status = format_parse_number(text, strlen(text), &value);
        if (cases[i].accepted && status != 0)
            fail_msg("'%s' was rejected", cases[i].text);
        if (!cases[i].accepted && status == 0)
            fail_msg("'%s' was accepted as %.17g", cases[i].text, value);
        if (cases[i].accepted && (value != cases[i].value || value != strtod(text, NULL)))
            fail_msg("'%s' gave %.17g, expected %.17g", cases[i].text, value, cases[i].value);
    }
}


/* Writes a Binance kline file whose open column is each edge text in turn
 * and reads it with bad rows skipped. */
static int read_open_edges(const char *path, const char *line_end, ohlcx_series *series,
                           ohlcx_read_report *report)
{
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_SKIP};
    FILE *file = fopen(path, "wb");
    size_t count = sizeof plain_number_edges / sizeof plain_number_edges[0];

    assert_non_null(file);
    fprintf(file, "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
                  "taker_buy_volume,taker_buy_quote_volume,ignore%s",
            line_end);
    for (size_t i = 0; i < count; i++)
        fprintf(file, "%lld,%s,41128.43,40998.76,41068.15,9.3093,1704067259999,382315.7288,"
                      "382,5.0472,207279.1667,0%s",
                1704067200000LL + 60000LL * (long long)i, plain_number_edges[i], line_end);
    fclose(file);
    ohlcx_series_init(series);
    return ohlcx_read_candles(path, &options, series, report);
}


/* Rows read through the fast path must match format_parse_number() and
 * strtod() bit for bit, and rows it cannot read must still be read or
 * rejected by the general path, with LF and CRLF line ends. */
static void plain_rows_match_general_path(void **state)
{
    static const char *line_ends[] = {"\n", "\r\n"};
    char path[] = "/tmp/ohlcx-plain-rows-XXXXXX";
    int descriptor = mkstemp(path);

    (void)state;
    assert_true(descriptor >= 0);
    close(descriptor);
    for (size_t e = 0; e < 2; e++) {
        ohlcx_series series;
        ohlcx_read_report report;
        size_t row = 0, count = sizeof plain_number_edges / sizeof plain_number_edges[0];

        assert_int_equal(read_open_edges(path, line_ends[e], &series, &report), 0);
        for (size_t i = 0; i < count; i++) {
            const char *text = plain_number_edges[i];
            double expected = 0;

            if (format_parse_number(text, strlen(text), &expected) != 0)
                continue; /* a bad row, listed in the report */
            if (row >= series.n)
                fail_msg("'%s' is missing from the rows", text);
            if (memcmp(&series.open[row], &expected, sizeof expected) != 0)
                fail_msg("'%s' read as %.17g, expected %.17g", text, series.open[row], expected);
            assert_int_equal(series.open_time[row], (1704067200 + 60 * (int64_t)i) * US);
            assert_true(series.extra_column[1][row] == 382.0);
            row++;
        }
        assert_int_equal(series.n, row);
        assert_int_equal(report.bad_row_count, count - row);
        ohlcx_read_report_free(&report);
        ohlcx_series_free(&series);
    }
    unlink(path);
}


/* A line that is not plain (quotes, blanks, a long field, a field count
 * other than 12) leaves the fast path, which takes up again on the next
 * line. Line 3 has 7 fields because a quote that is never closed runs to
 * the end of the line. */
static void plain_rows_hand_over(void **state)
{
    static const char *rows[] = {
        "1704067200000,1.5,2,1,1.5,10,1704067259999,15,3,5,7.5,0\n",
        "1704067260000,1.5,2,1,1.5,10,1704067319999,15,3,5,7.5,\"0\"\n",
        "1704067320000,1.5,2,1,1.5,10,\"1704067379999,15,3,5,7.5,0\n",
        "1704067380000, 1.5 ,2,1,1.5,10,1704067439999,15,3,5,7.5,0\n",
        "1704067440000,1.5,2,1,1.5,10,1704067499999,15,3,5,7.5,",
        "1704067500000,1.5,2,1,1.5,10,1704067559999,15,3,5,7.5,0\n",
        "1704067560000,1.5,2,1,1.5,10,1704067619999,15,3,5,7.5,0,9\n",
    };
    static const int64_t minutes[] = {0, 1, 3, 4, 5};
    char path[] = "/tmp/ohlcx-plain-hand-over-XXXXXX";
    int descriptor = mkstemp(path);
    ohlcx_read_options options = {"BTCUSDT", "1m", OHLCX_BAD_ROWS_FAIL};
    ohlcx_read_report report;
    ohlcx_series series;
    FILE *file = NULL;

    (void)state;
    assert_true(descriptor >= 0);
    close(descriptor);
    file = fopen(path, "wb");
    assert_non_null(file);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fputs(rows[i], file);
        if (i == 4) /* a 300-byte ignore field, beyond the fast path's 256 bytes */
            fprintf(file, "%0300d\n", 0);
    }
    fclose(file);

    ohlcx_series_init(&series);
    assert_int_equal(ohlcx_read_candles(path, &options, &series, NULL), OHLCX_EFORMAT);
    assert_text_contains(ohlcx_last_error(), ":3:");
    assert_text_contains(ohlcx_last_error(), "expected 12 fields, found 7");

    options.bad_rows = OHLCX_BAD_ROWS_SKIP;
    assert_int_equal(ohlcx_read_candles(path, &options, &series, &report), 0);
    assert_int_equal(report.bad_row_count, 2);
    assert_int_equal(report.bad_rows[0].line, 3);
    assert_int_equal(report.bad_rows[1].line, 7);
    assert_text_contains(report.bad_rows[1].reason, "expected 12 fields, found 13");
    assert_int_equal(series.n, 5);
    for (size_t i = 0; i < series.n; i++) {
        assert_int_equal(series.open_time[i], (1704067200 + 60 * minutes[i]) * US);
        assert_true(series.open[i] == 1.5);
        assert_true(series.extra_column[3][i] == 7.5);
    }
    ohlcx_read_report_free(&report);
    ohlcx_series_free(&series);
    unlink(path);
}


static void epoch_fractions(void **state)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"1502946000.0", 1502946000 * US},
        {"1502946000.5", 1502946000 * US + 500000},
        {"1623283200000.5", 1623283200 * US + 500},
        {"1623283200000000", 1623283200 * US},
    };
    static const char *bad[] = {"", ".5", "1502946000.", "15029x", "-1502946000", "1e9"};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t us = 0;
        if (format_parse_epoch(cases[i].text, strlen(cases[i].text), &us) != 0 ||
            us != cases[i].us)
            fail_msg("'%s' gave %lld, expected %lld", cases[i].text, (long long)us,
                     (long long)cases[i].us);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 0;
        if (format_parse_epoch(bad[i], strlen(bad[i]), &us) == 0)
            fail_msg("'%s' was accepted as %lld", bad[i], (long long)us);
    }
}


/* Epoch times end before 2200-01-01 00:00 UTC (7258118400 s) in every
 * unit: one digit too many or too few makes a date centuries away, which
 * must be a bad value, not a bar. */
static void epoch_limit_2200(void **state)
{
    static const struct {
        const char *text;
        int64_t us;
    } good[] = {
        {"7258118399", INT64_C(7258118399) * US},
        {"7258118399999", INT64_C(7258118399999) * 1000},
        {"7258118399999999", INT64_C(7258118399999999)},
        {"7258118399999999999", INT64_C(7258118399999999)},
    };
    static const char *bad[] = {"7258118400", "7258118400000", "7258118400000000",
                                "17040708000000000", "7258118400000000000"};

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t us = 0;
        assert_int_equal(format_parse_epoch(good[i].text, strlen(good[i].text), &us), 0);
        assert_int_equal(us, good[i].us);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 0;
        if (format_parse_epoch(bad[i], strlen(bad[i]), &us) == 0)
            fail_msg("'%s' was accepted as %lld", bad[i], (long long)us);
    }
}


/* A 17-digit open time among plain rows (the fast path's) fails the read
 * with its line and the reason, and is skipped under the skip policy. */
static void epoch_past_limit_in_file(void **state)
{
    char path[] = "/tmp/ohlcx-epoch-limit-XXXXXX";
    int descriptor = mkstemp(path);
    ohlcx_read_options options = {"BTCUSDT", "1h", OHLCX_BAD_ROWS_FAIL};
    ohlcx_read_report report;
    ohlcx_series series;
    FILE *file = NULL;

    (void)state;
    assert_true(descriptor >= 0);
    close(descriptor);
    file = fopen(path, "wb");
    assert_non_null(file);
    fputs("open_time,open,high,low,close,volume\n", file);
    for (int i = 0; i < 40; i++)
        fprintf(file, "%lld,1.5,2,1,1.5,10\n", (long long)(1704067200000 + i * 3600000LL));
    fputs("17040708000000000,1.5,2,1,1.5,10\n", file);
    fputs("1704067200.,1.5,2,1,1.5,10\n", file);
    fclose(file);

    ohlcx_series_init(&series);
    assert_int_equal(ohlcx_read_candles(path, &options, &series, NULL), OHLCX_EFORMAT);
    assert_text_contains(ohlcx_last_error(),
                         ":42:1: column 1 (open_time): epoch time '17040708000000000' is after "
                         "2200: 17 digits, where s, ms, us and ns have 10, 13, 16 and 19");
    options.bad_rows = OHLCX_BAD_ROWS_SKIP;
    assert_int_equal(ohlcx_read_candles(path, &options, &series, &report), 0);
    assert_int_equal(series.n, 40);
    assert_int_equal(report.bad_row_count, 2);
    assert_int_equal(report.bad_rows[0].line, 42);
    /* A dot without fraction digits is no epoch time: no "after 2200". */
    assert_int_equal(report.bad_rows[1].line, 43);
    assert_text_contains(report.bad_rows[1].reason, "invalid time '1704067200.'");
    ohlcx_read_report_free(&report);
    ohlcx_series_free(&series);
    unlink(path);
}


/* ---- fields and sniffing ---- */

static void split_quoted_commas(void **state)
{
    const char *line = "\"Jun 14, 2019\",\"12,084.30\", \"a\"\"b\" ,,\"open";
    format_field fields[6];

    (void)state;
    assert_int_equal(format_split_delimited(line, strlen(line), ',', fields, 6), 5);
    assert_int_equal(fields[0].length, 12);
    assert_memory_equal(fields[0].text, "Jun 14, 2019", 12);
    assert_int_equal(fields[0].column, 2);
    assert_memory_equal(fields[1].text, "12,084.30", 9);
    assert_int_equal(fields[1].column, 17);
    /* An escaped quote stays in the view. */
    assert_int_equal(fields[2].length, 4);
    assert_memory_equal(fields[2].text, "a\"\"b", 4);
    assert_int_equal(fields[3].length, 0);
    /* An unclosed quote runs to the end of the line. */
    assert_memory_equal(fields[4].text, "open", 4);
}


static void split_tabs_and_semicolons(void **state)
{
    const char *tabbed = "2015.01.02\t00:00:00\t1.2";
    const char *semicolons = "a;1,5;\"x;y\"";
    format_field fields[4];

    (void)state;
    assert_int_equal(format_split_delimited(tabbed, strlen(tabbed), '\t', fields, 4), 3);
    assert_memory_equal(fields[1].text, "00:00:00", 8);
    assert_int_equal(fields[2].column, 21);
    assert_int_equal(format_split_delimited(semicolons, strlen(semicolons), ';', fields, 4), 3);
    assert_memory_equal(fields[1].text, "1,5", 3);
    assert_memory_equal(fields[2].text, "x;y", 3);
}


static void value_kinds(void **state)
{
    static const struct {
        const char *text;
        int clock_name;
        int kind;
    } cases[] = {
        {"", 0, FORMAT_VALUE_EMPTY},
        {"Open", 0, FORMAT_VALUE_TEXT},
        {"-", 0, FORMAT_VALUE_TEXT},
        {"46216.93", 0, FORMAT_VALUE_NUMBER},
        {"12,084.30", 0, FORMAT_VALUE_NUMBER},
        {"46,88K", 0, FORMAT_VALUE_NUMBER},
        {"1640995200000", 0, FORMAT_VALUE_EPOCH},
        {"1502946000.0", 0, FORMAT_VALUE_EPOCH},
        {"20220103", 0, FORMAT_VALUE_DATE},
        {"2015.01.02", 0, FORMAT_VALUE_DATE},
        {"Jun 14, 2019", 0, FORMAT_VALUE_DATE},
        {"24.05.2026", 0, FORMAT_VALUE_DATE},
        {"2024-01-01 00:00:00+00:00", 0, FORMAT_VALUE_DATETIME},
        {"11:00", 0, FORMAT_VALUE_CLOCK},
        {"100000", 1, FORMAT_VALUE_CLOCK},
        {"100000", 0, FORMAT_VALUE_NUMBER},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int kind = format_classify_value(cases[i].text, strlen(cases[i].text),
                                         cases[i].clock_name);
        if (kind != cases[i].kind)
            fail_msg("'%s' is kind %d, expected %d", cases[i].text, kind, cases[i].kind);
    }
}


static void delimiter_sniffing(void **state)
{
    static const struct {
        const char *line;
        char delimiter;
    } cases[] = {
        {"DATE\tTIME\tOPEN", '\t'},
        {"<TICKER>;<PER>;<DATE>", ';'},
        {"time;open;high;low;close;volume", ';'},
        {"a,b,c", ','},
        {"\"x;y\",b", ','},
        {"single", ','},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (format_sniff_delimiter(cases[i].line, strlen(cases[i].line)) != cases[i].delimiter)
            fail_msg("'%s': wrong delimiter", cases[i].line);
}


static void banner_lines(void **state)
{
    const char *banner = "Timestamps are UTC timezone,https://www.CryptoDataDownload.com";
    const char *header = "Unix Timestamp,Date,Symbol,Open,High,Low,Close";

    (void)state;
    assert_int_equal(format_is_banner(banner, strlen(banner)), 1);
    assert_int_equal(format_is_banner(header, strlen(header)), 0);
}


static void header_name_folding(void **state)
{
    char folded[32];

    (void)state;
    format_fold_name("M\xc3\xa1xima", 7, folded, sizeof folded);
    assert_string_equal(folded, "maxima");
    format_fold_name("\xc3\x9altimo", 7, folded, sizeof folded);
    assert_string_equal(folded, "ultimo");
    format_fold_name("<TICKVOL>", 9, folded, sizeof folded);
    assert_string_equal(folded, "tickvol");
    format_fold_name("Change %", 8, folded, sizeof folded);
    assert_string_equal(folded, "change");
}


/* ---- time zones ---- */

static void zone_offsets(void **state)
{
    format_zone *berlin = NULL, *new_york = NULL;

    (void)state;
    assert_int_equal(format_zone_load("Europe/Berlin", &berlin), 0);
    assert_int_equal(format_zone_load("America/New_York", &new_york), 0);
    /* 2024-03-31 00:59:59 UTC is still CET; 01:00:00 is CEST. */
    assert_int_equal(format_zone_offset(berlin, 1711846799), 3600);
    assert_int_equal(format_zone_offset(berlin, 1711846800), 7200);
    assert_int_equal(format_zone_offset(new_york, 1704067200), -5 * 3600);
    assert_int_equal(format_zone_offset(new_york, 1720000000), -4 * 3600);
    /* 2060-07-01 12:00 UTC (2855908800 s) is past the transitions that TZif
     * files list (2037 at most), so the footer rule decides: summer time. */
    assert_int_equal(format_zone_offset(berlin, INT64_C(2855908800)), 7200);
    assert_int_equal(format_zone_offset(new_york, INT64_C(2855908800)), -4 * 3600);
    /* 2060-01-01 00:00 UTC (2840140800 s): winter time. */
    assert_int_equal(format_zone_offset(berlin, INT64_C(2840140800)), 3600);
    format_zone_free(berlin);
    format_zone_free(new_york);
}


static void zone_skipped_and_repeated(void **state)
{
    format_zone *berlin = NULL;
    int64_t previous = 0;

    (void)state;
    assert_int_equal(format_zone_load("Europe/Berlin", &berlin), 0);
    /* 02:30 on 2024-03-31 does not exist; it is read with the winter
     * offset, landing at 01:30 UTC (03:30 summer time). */
    assert_int_equal(format_zone_to_utc(berlin, (1711843200 + 9000) * US, NULL),
                     (1711843200 + 5400) * US);
    /* 02:30 on 2024-10-27 happens twice: first at 00:30 UTC... */
    assert_int_equal(format_zone_to_utc(berlin, (1729987200 + 9000) * US, NULL),
                     (1729987200 + 1800) * US);
    /* ...and at 01:30 UTC when the row before was already 00:45 UTC. */
    previous = (1729987200 + 2700) * US;
    assert_int_equal(format_zone_to_utc(berlin, (1729987200 + 9000) * US, &previous),
                     (1729987200 + 5400) * US);
    format_zone_free(berlin);
}


static void zone_rejects(void **state)
{
    format_zone *zone = NULL;
    FILE *text_file = NULL;

    (void)state;
    assert_int_equal(format_zone_load("Mars/Olympus_Mons", &zone), OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "unknown time zone 'Mars/Olympus_Mons'");
    assert_null(zone);
    assert_int_equal(format_zone_load("", &zone), OHLCX_EINVAL);
    assert_int_equal(format_zone_load("/etc/localtime", &zone), OHLCX_EINVAL);
    assert_int_equal(format_zone_load("Europe/../../etc/passwd", &zone), OHLCX_EINVAL);
    /* A text file of the tzdata package, where it has one. */
    assert_int_equal(format_zone_load("leapseconds", &zone), OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "unknown time zone 'leapseconds'");
    text_file = fopen("/usr/share/zoneinfo/leapseconds", "r");
    if (text_file != NULL) {
        fclose(text_file);
        assert_text_contains(ohlcx_last_error(), "not a valid TZif file");
    }
}


/* ---- file names ---- */

static void vendor_file_names(void **state)
{
    static const struct {
        const char *path, *symbol, *timeframe;
    } cases[] = {
        {"Binance_BTCUSDT_1h.csv", "BTCUSDT", "1h"},
        {"Binance_BTCUSDT_d.csv", "BTCUSDT", "1d"},
        {"Coinbase_BTCUSD_1h.csv", "BTCUSD", "1h"},
        {"XBTUSD_60.csv", "XBTUSD", "1h"},
        {"STORJUSD_1440.csv", "STORJUSD", "1d"},
        {"EURUSD60.csv", "EURUSD", "1h"},
        {"USDJPY1.csv", "USDJPY", "1m"},
        {"EURUSD_H1.csv", "EURUSD", "1h"},
        {"EURUSD_M15.csv", "EURUSD", "15m"},
        {"EURUSD_D1.csv", "EURUSD", "1d"},
        {"IMOEX_220101_221228.csv", "IMOEX", ""},
        {"BTC_USDT-1d-futures.json", "BTCUSDT", "1d"},
        {"ETH_USDT-5m.json", "ETHUSDT", "5m"},
        {"spy.us.txt", "SPY", ""},
        {"wig20.txt", "WIG20", ""},
        {"DAX_Historical_Data.csv", "DAX", ""},
        {"DAX Historical Data.csv", "DAX", ""},
        {"EUR_USD_Historical_Data.csv", "EURUSD", ""},
        {"USD_BRL Dados Hist\xc3\xb3ricos.csv", "USDBRL", ""},
        {"Dados_Historicos_Bitcoin.csv", "BITCOIN", ""},
        {"BOVA11_Historico.csv", "BOVA11", ""},
        {"BTCUSDT_1h.csv.gz", "BTCUSDT", "1h"},
        {"ETH_USDT-5m.json.zst", "ETHUSDT", "5m"},
        {"btcusdt-15m.csv", "BTCUSDT", "15m"},
        {"kraken-1h.csv", "KRAKEN", "1h"},
        {"GER30.csv", "GER30", ""},
        {"BTCUSDT_15m_365.csv", "BTCUSDT", "15m"},
        {"AAPL_2024-01.csv", "AAPL", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char symbol[OHLCX_SYMBOL_MAX], timeframe[OHLCX_TIMEFRAME_MAX];

        assert_int_equal(ohlcx_parse_file_name(cases[i].path, symbol, timeframe), 0);
        if (strcmp(symbol, cases[i].symbol) != 0 || strcmp(timeframe, cases[i].timeframe) != 0)
            fail_msg("%s gave '%s' '%s', expected '%s' '%s'", cases[i].path, symbol, timeframe,
                     cases[i].symbol, cases[i].timeframe);
    }
}


/* Names quoted in messages keep UTF-8 text and replace control characters
 * and bytes that are not UTF-8 with '?'. */
static void printable_copy(void **state)
{
    static const struct {
        const char *text;
        size_t size;
        const char *expected;
    } cases[] = {
        {"close", 40, "close"},
        {"\xc3\x9altimo", 40, "\xc3\x9altimo"}, /* "Último", pt-BR investing.com */
        {"a\tb\x7f", 40, "a?b?"},
        {"\xff\xfe" "9k", 40, "??9k"},
        {"x\xc3", 40, "x?"},              /* cut sequence */
        {"\xe0\x80\x80", 40, "???"},      /* overlong form */
        {"\xed\xa0\x80", 40, "???"},      /* surrogate */
        {"ab\xc3\x9a", 4, "ab"},          /* no room for the whole character */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        format_field field = {cases[i].text, strlen(cases[i].text), 1};
        char out[40];

        format_copy_printable(&field, out, cases[i].size);
        assert_string_equal(out, cases[i].expected);
    }
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(date_time_layouts),
        cmocka_unit_test(date_time_fraction),
        cmocka_unit_test(date_time_rejects),
        cmocka_unit_test(clock_forms),
        cmocka_unit_test(pattern_forms),
        cmocka_unit_test(pattern_check),
        cmocka_unit_test(styled_numbers),
        cmocka_unit_test(plain_number_values),
        cmocka_unit_test(plain_number_negative_zero),
        cmocka_unit_test(plain_number_stops_at_delimiter),
        cmocka_unit_test(plain_number_deferred),
        cmocka_unit_test(plain_rows_match_general_path),
        cmocka_unit_test(plain_rows_hand_over),
        cmocka_unit_test(epoch_fractions),
        cmocka_unit_test(epoch_limit_2200),
        cmocka_unit_test(epoch_past_limit_in_file),
        cmocka_unit_test(split_quoted_commas),
        cmocka_unit_test(split_tabs_and_semicolons),
        cmocka_unit_test(value_kinds),
        cmocka_unit_test(delimiter_sniffing),
        cmocka_unit_test(banner_lines),
        cmocka_unit_test(header_name_folding),
        cmocka_unit_test(zone_offsets),
        cmocka_unit_test(zone_skipped_and_repeated),
        cmocka_unit_test(zone_rejects),
        cmocka_unit_test(vendor_file_names),
        cmocka_unit_test(printable_copy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
