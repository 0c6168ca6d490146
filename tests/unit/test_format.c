/*
 * Tests of the format module: datetime and number parsing, file names,
 * every supported layout on small hand-written files in tests/data/format,
 * error messages for bad input, and a pass over the real files in
 * $OHLCX_REAL_DATA (default: the shared data folder next to the source).
 *
 * Epoch values used below, worked out by hand from days since 1970-01-01
 * (365 per year plus one per leap year) and checked with date -u:
 *   2022-01-01 00:00 UTC = 18993 days = 1640995200 s
 *   2024-01-01 00:00 UTC = 19723 days = 1704067200 s
 *   2025-01-01 00:00 UTC = 20089 days = 1735689600 s
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "format/format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/quality.h"
#include "ohlcx/series.h"

#define US INT64_C(1000000)

static char path_buffer[2048];


static const char *data_path(const char *name)
{
    const char *root = getenv("OHLCX_TEST_DATA");

    snprintf(path_buffer, sizeof path_buffer, "%s/format/%s", root ? root : "tests/data", name);
    return path_buffer;
}


/* Reads tests/data/format/name with the given bad-rows policy. */
static int read_snippet(const char *name, int policy, ohlcx_series *series,
                        ohlcx_read_report *report)
{
    ohlcx_read_options options = {NULL, NULL, policy};

    ohlcx_series_init(series);
    return ohlcx_read_candles(data_path(name), &options, series, report);
}


static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", part, text);
}


/* ---- datetime ---- */

static void datetime_parse_forms(void **state)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"2022-01-01", 1640995200 * US},
        {"2024-01-01T00:00:00.000", 1704067200 * US},
        {"2024-01-01T01:00", 1704067200 * US + 3600 * US},
        /* 2024-02-29 = 2024-01-01 + 59 days = 1709164800; 12:30 adds 45000 s. */
        {"2024-02-29 12:30", 1709209800 * US},
        {"2026-01-02 16:10:00 UTC", 1767370200 * US},
        {"2024-03-31T01:14:59Z", 1711847699 * US},
        /* 00:14:59.999 at +01:00 is 23:14:59.999 UTC the day before. */
        {"2024-01-01 00:14:59.999000+01:00", (1704067200 - 3600 + 899) * US + 999000},
        {"2020-07-27 04:00:00+00:00", 1595822400 * US},
        {"2020-07-27 00:00:00-04:00", 1595822400 * US},
        {"2020-07-27 09:30:00+0530", 1595822400 * US},
        {"1969-12-31 23:59:59", -1 * US},
        {"2000-01-01 00:00:00.5", 946684800 * US + 500000},
        {"1970-01-01 00:00:00.1234567", 123456},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t us = 0;
        int status = ohlcx_parse_datetime(cases[i].text, strlen(cases[i].text), &us);

        if (status != 0)
            fail_msg("'%s' was rejected", cases[i].text);
        if (us != cases[i].us)
            fail_msg("'%s' gave %lld, expected %lld", cases[i].text, (long long)us,
                     (long long)cases[i].us);
    }
}


static void datetime_parse_rejects(void **state)
{
    static const char *bad[] = {
        "",       "2023-02-29",          "2024-13-01",          "2024-00-10",
        "2024-1-01", "2024-01-01 24:00", "2024-01-01 00:60",    "2024-01-01 00:00:60",
        "2024-01-01x", "2024-01-01 00:00:00 XYZ", "2024-01-01 00:00:00.",
        "2024-01-01 00:00:00+15:00", "2024-01-01 00:00:00+01:7", "abc", "1640995200000",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = 0;
        if (ohlcx_parse_datetime(bad[i], strlen(bad[i]), &us) != OHLCX_EFORMAT)
            fail_msg("'%s' was accepted as %lld", bad[i], (long long)us);
    }
}


static void datetime_parse_bounded(void **state)
{
    const char *text = "2022-01-01 05:00:00";
    int64_t us = 0;

    (void)state;
    /* Only the first 10 bytes count, so the time of day is not read. */
    assert_int_equal(ohlcx_parse_datetime(text, 10, &us), 0);
    assert_int_equal(us, 1640995200 * US);
}


static void datetime_format_values(void **state)
{
    char text[20];

    (void)state;
    ohlcx_format_datetime(1640995200 * US, text);
    assert_string_equal(text, "2022-01-01 00:00:00");
    ohlcx_format_datetime(1709209800 * US + 500000, text);
    assert_string_equal(text, "2024-02-29 12:30:00");
    /* 2000-02-29 = 2000-01-01 (946684800) + 59 days = 951782400. */
    ohlcx_format_datetime(951782400 * US, text);
    assert_string_equal(text, "2000-02-29 00:00:00");
    /* One microsecond before the epoch is still in the previous second. */
    ohlcx_format_datetime(-1, text);
    assert_string_equal(text, "1969-12-31 23:59:59");
    ohlcx_format_datetime(INT64_MAX, text);
    assert_string_equal(text, "9999-12-31 23:59:59");
}


static void datetime_round_trip(void **state)
{
    char text[20];

    (void)state;
    /* Steps of 26000 s (7 h 13 min 20 s) from 1900 to 2100 reach every day
     * of every month, leap days included, at varying times of day. */
    for (int64_t t = -2208988800 * US; t < 4102444800 * US; t += 26000 * US) {
        int64_t back = 0;

        ohlcx_format_datetime(t, text);
        if (ohlcx_parse_datetime(text, strlen(text), &back) != 0 || back != t)
            fail_msg("%lld -> '%s' -> %lld", (long long)t, text, (long long)back);
    }
}


/* ---- fields ---- */

static void number_parse_exact(void **state)
{
    static const struct {
        const char *text;
        double value;
    } cases[] = {
        {"46216.93000000", 46216.93}, {"0", 0.0},          {"-0.5", -0.5},
        {"+12", 12.0},                {"0.000123", 0.000123}, {"1e3", 1000.0},
        {"2.5E-3", 0.0025},           {".5", 0.5},         {"5.", 5.0},
        {"69879986.39049930", 69879986.3904993},
        {"0.1", 0.1},                 {"3454770.05073206", 3454770.05073206},
        /* 20 significant digits take the strtod() path. */
        {"12345678901234567890.5", 12345678901234567890.5},
        {"1e300", 1e300},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double value = -1;

        if (format_parse_number(cases[i].text, strlen(cases[i].text), &value) != 0)
            fail_msg("'%s' was rejected", cases[i].text);
        if (value != cases[i].value)
            fail_msg("'%s' gave %.17g, expected %.17g", cases[i].text, value, cases[i].value);
    }
}


static void number_parse_rejects(void **state)
{
    static const char *bad[] = {"", "NaN", "nan", "inf", "-inf", "abc", "1.2.3", "0x10",
                                "1e", "1e+", "-", ".", "12a", "1 2", "1e999"};

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double value = 0;
        if (format_parse_number(bad[i], strlen(bad[i]), &value) == 0)
            fail_msg("'%s' was accepted as %g", bad[i], value);
    }
}


static void epoch_units_by_magnitude(void **state)
{
    static const char *texts[] = {"1640995200", "1640995200000", "1640995200000000",
                                  "1640995200000000000"};

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        int64_t us = 0;
        assert_int_equal(format_parse_time(texts[i], strlen(texts[i]), &us), 0);
        assert_int_equal(us, 1640995200 * US);
    }
}


static void split_fields_trims(void **state)
{
    const char *line = " a ,\"b\",,d";
    format_field fields[4];

    (void)state;
    assert_int_equal(format_split_fields(line, strlen(line), fields, 4), 4);
    assert_int_equal(fields[0].length, 1);
    assert_int_equal(fields[0].column, 2);
    assert_memory_equal(fields[1].text, "b", 1);
    assert_int_equal(fields[1].column, 6);
    assert_int_equal(fields[2].length, 0);
    assert_int_equal(fields[3].column, 10);
}


/* ---- file names ---- */

static void file_name_table(void **state)
{
    static const struct {
        const char *path, *symbol, *timeframe;
    } cases[] = {
        {"BTCUSDT-1h.csv", "BTCUSDT", "1h"},
        {"/data/x.y/BTCUSDT_1h.csv", "BTCUSDT", "1h"},
        {"BTCUSDT_15m_2024.csv", "BTCUSDT", "15m"},
        {"BTCUSDT-1h-2022-01.csv", "BTCUSDT", "1h"},
        {"BTCUSDT_15m_365.csv", "BTCUSDT", "15m"},
        {"BTCUSDT_240m.csv", "BTCUSDT", "4h"},
        {"BTCUSDT_60m.csv", "BTCUSDT", "1h"},
        {"ETHUSDT_5m_2026-01.csv", "ETHUSDT", "5m"},
        {"BTCUSDT-1h-ohlc.csv", "BTCUSDT", "1h"},
        {"BTCUSDT_15m_2023-10_2024-01.csv", "BTCUSDT", "15m"},
        {"LTCUSDT-1m-2026-02.csv", "LTCUSDT", "1m"},
        {"BTCUSDT-1M.csv", "BTCUSDT", "1M"},
        {"EURUSD_H4.csv", "EURUSD", "4h"},
        {"GOOG-1d.csv", "GOOG", "1d"},
        {"GOOG.csv", "GOOG", ""},
        {"data/GOOG", "GOOG", ""},
        /* A name with a byte outside ASCII keeps its case as written
         * ("éth", "ÉTH", "mañana" in UTF-8), and an ASCII one is still
         * upper-cased. */
        {"\xc3\xa9th-1h.csv", "\xc3\xa9th", "1h"},
        {"\xc3\x89TH_1h.csv", "\xc3\x89TH", "1h"},
        {"data/ma\xc3\xb1" "ana_1d.csv", "ma\xc3\xb1" "ana", "1d"},
        {"eth-1h.csv", "ETH", "1h"},
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


static void file_name_without_symbol(void **state)
{
    char symbol[OHLCX_SYMBOL_MAX], timeframe[OHLCX_TIMEFRAME_MAX];

    (void)state;
    assert_int_equal(ohlcx_parse_file_name("dir/_1h.csv", symbol, timeframe), OHLCX_EINVAL);
    assert_contains(ohlcx_last_error(), "_1h.csv");
    assert_contains(ohlcx_last_error(), "--symbol");
}


static void file_name_keeps_error(void **state)
{
    char symbol[OHLCX_SYMBOL_MAX], timeframe[OHLCX_TIMEFRAME_MAX];

    (void)state;
    /* "ohlc2" is tried as a timeframe and fails; the last error must survive. */
    ohlcx_set_error(OHLCX_EIO, "earlier failure");
    assert_int_equal(ohlcx_parse_file_name("BTCUSDT-ohlc2.csv", symbol, timeframe), 0);
    assert_string_equal(timeframe, "");
    assert_string_equal(ohlcx_last_error(), "earlier failure");
}


/* ---- layouts ---- */

static void read_kline12_header_crlf(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("BTCUSDT-1h-2022-01.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(report.rows_read, 3);
    assert_int_equal(report.lines, 4);
    assert_string_equal(report.layout, "binance-kline-header");
    assert_string_equal(s.symbol, "BTCUSDT");
    assert_string_equal(s.timeframe, "1h");
    assert_int_equal(s.asset_class, OHLCX_ASSET_CRYPTO);
    assert_string_equal(s.source_path, data_path("BTCUSDT-1h-2022-01.csv"));
    /* 1640995200000 ms = 2022-01-01 00:00 UTC; the next bar is 3600 s later. */
    assert_int_equal(s.open_time[0], 1640995200 * US);
    assert_int_equal(s.open_time[1], 1640998800 * US);
    assert_true(s.open[0] == 46218.47);
    assert_true(s.high[0] == 46729.85);
    assert_true(s.low[0] == 46205.12);
    assert_true(s.close[0] == 46652.61);
    assert_true(s.volume[0] == 1507.41283);
    assert_true(s.close[2] == 46811.77);
    assert_int_equal(s.flags[0], 0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_kline12_headerless_us(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("BTCUSDT-1m-2025-01.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_string_equal(report.layout, "binance-kline-12");
    assert_int_equal(s.n, 3);
    assert_string_equal(s.timeframe, "1m");
    /* 23:58 and 23:59 on 2024-12-31 in ms, then 2025-01-01 00:00 in us. */
    assert_int_equal(s.open_time[0], (1735689600 - 120) * US);
    assert_int_equal(s.open_time[1], (1735689600 - 60) * US);
    assert_int_equal(s.open_time[2], 1735689600 * US);
    assert_true(s.volume[2] == 8.25);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_kline11_headerless(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("ETHUSDT-1d.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_string_equal(report.layout, "binance-kline-11");
    assert_int_equal(s.n, 2);
    assert_string_equal(s.symbol, "ETHUSDT");
    assert_string_equal(s.timeframe, "1d");
    /* 2024-05-15 = 19858 days after 1970-01-01 = 1715731200 s. */
    assert_int_equal(s.open_time[0], 1715731200 * US);
    assert_int_equal(s.open_time[1], (1715731200 + 86400) * US);
    assert_true(s.high[1] == 3043.71);
    assert_true(s.volume[1] == 292518.7364);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_kline11_datetime_column(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("LTCUSDT_4h.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.timeframe, "4h");
    /* open_time, not the trailing datetime text, is used: 2021-07-22 04:00. */
    assert_int_equal(s.open_time[0], 1626926400 * US);
    assert_int_equal(s.open_time[1], (1626926400 + 4 * 3600) * US);
    assert_true(s.close[1] == 117.34);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_kline_iso_time(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("BTCUSDT-1h-ohlc.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.timeframe, "1h");
    assert_int_equal(s.open_time[0], 1704067200 * US);
    assert_int_equal(s.open_time[1], (1704067200 + 3600) * US);
    assert_true(s.open[1] == 42501.8);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_ohlcv_date_only(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("LTCUSDT_1d.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_string_equal(report.layout, "ohlcv-header");
    assert_int_equal(s.n, 2);
    /* 2017-12-13 = 17513 days = 1513123200 s. */
    assert_int_equal(s.open_time[0], 1513123200 * US);
    assert_int_equal(s.open_time[1], (1513123200 + 86400) * US);
    assert_true(s.high[0] == 328.5);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_futures_time_column(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("BTCUSDT_15m_365.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.timeframe, "15m");
    /* 2024-10-23 = 2024-01-01 + 296 days = 1729641600; 04:30 adds 16200 s. */
    assert_int_equal(s.open_time[0], 1729657800 * US);
    assert_int_equal(s.open_time[1], (1729657800 + 900) * US);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_close_time_offset(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("BTCUSDT_15m_2024.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_string_equal(report.layout, "close-time-labelled");
    assert_int_equal(s.n, 4);
    /* 2024-01-01 00:14:59.999+01:00 closes the bar that opens at
     * 2023-12-31 23:00:00 UTC = 1704067200 - 3600 = 1704063600. */
    assert_int_equal(s.open_time[0], 1704063600 * US);
    assert_int_equal(s.open_time[1], (1704063600 + 900) * US);
    /* Across the switch to summer time, 01:59:59.999+01:00 and
     * 03:14:59.999+02:00 close bars 15 minutes apart: 2024-03-31 = 2024-01-01
     * + 90 days = 1711843200, so the opens are 00:45 and 01:00 UTC. */
    assert_int_equal(s.open_time[2], (1711843200 + 2700) * US);
    assert_int_equal(s.open_time[3], (1711843200 + 3600) * US);
    assert_true(s.open[0] == 42259.34);
    assert_true(s.volume[3] == 120.25);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_yahoo_daily_inferred(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("GOOG.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_string_equal(report.layout, "yahoo-daily");
    assert_int_equal(s.n, 6);
    /* The last line has no newline: 7 lines, header included. */
    assert_int_equal(report.lines, 7);
    assert_string_equal(s.symbol, "GOOG");
    assert_int_equal(s.asset_class, OHLCX_ASSET_STOCKS);
    /* Spacings 3,1,1,1,1 days: the median is 1 day. */
    assert_string_equal(s.timeframe, "1d");
    /* 2024-03-01 = 2024-01-01 + 60 days = 1709251200. */
    assert_int_equal(s.open_time[0], 1709251200 * US);
    /* Close and Volume are taken, not the Adj Close column between them. */
    assert_true(s.close[5] == 136.314995);
    assert_true(s.volume[5] == 26498100.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_yahoo_offset(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("MSFT.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.timeframe, "1d");
    /* 2020-07-27 = 2020-01-01 (1577836800) + 208 days = 1595808000; +04:00. */
    assert_int_equal(s.open_time[0], 1595822400 * US);
    assert_int_equal(s.open_time[5], (1595822400 + 7 * 86400) * US);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_index_column(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("SPY_1d.csv", OHLCX_BAD_ROWS_FAIL, &s, &report), 0);
    assert_int_equal(s.n, 2);
    /* 1993-01-01 = 23 * 365 + 6 leap days = 8401 days; +28 days = 728265600 s. */
    assert_int_equal(s.open_time[0], 728265600 * US);
    assert_true(s.open[0] == 43.90625);
    assert_true(s.volume[1] == 483700.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_options_override(void **state)
{
    ohlcx_read_options options = {"GOOGL", "D", OHLCX_BAD_ROWS_FAIL};
    ohlcx_series s;

    (void)state;
    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_read_candles(data_path("EURUSD.csv"), &options, &s, NULL), 0);
    assert_string_equal(s.symbol, "GOOGL");
    assert_string_equal(s.timeframe, "1d");
    assert_int_equal(s.asset_class, OHLCX_ASSET_STOCKS);
    ohlcx_series_free(&s);
}


static void read_options_bad_timeframe(void **state)
{
    ohlcx_read_options options = {NULL, "7m", OHLCX_BAD_ROWS_FAIL};
    ohlcx_series s;

    (void)state;
    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_read_candles(data_path("EURUSD.csv"), &options, &s, NULL),
                     OHLCX_EINVAL);
    assert_contains(ohlcx_last_error(), "7m");
    assert_int_equal(s.n, 0);
    assert_null(s.open_time);
}


/* ---- timeframe inference ---- */

static void infer_timeframe_gap(void **state)
{
    ohlcx_series s;

    (void)state;
    /* Spacings 4h, 4h, 8h, 4h: the median is 4h. */
    assert_int_equal(read_snippet("EURUSD.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL), 0);
    assert_string_equal(s.timeframe, "4h");
    assert_int_equal(s.asset_class, OHLCX_ASSET_FOREX);
    ohlcx_series_free(&s);
}


static void infer_timeframe_unknown(void **state)
{
    ohlcx_series s;

    (void)state;
    /* 7 minutes is 40% above 5m and 53% below 15m: no match. */
    assert_int_equal(read_snippet("ODD.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL), OHLCX_EDATA);
    assert_contains(ohlcx_last_error(), "ODD.csv");
    assert_contains(ohlcx_last_error(), "420 s");
    assert_contains(ohlcx_last_error(), "--timeframe");
    assert_int_equal(s.n, 0);
}


static void infer_timeframe_table(void **state)
{
    static const struct {
        int64_t step_us;
        const char *timeframe;
    } cases[] = {
        {60 * US, "1m"},         {900 * US, "15m"},      {3600 * US, "1h"},
        {86400 * US, "1d"},      {7 * 86400 * US, "1w"}, {31 * 86400 * US, "1M"},
        {92 * 86400 * US, "3M"},
    };
    int64_t times[5];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char timeframe[OHLCX_TIMEFRAME_MAX] = "";

        for (int j = 0; j < 5; j++)
            times[j] = 1640995200 * US + j * cases[i].step_us;
        assert_int_equal(format_infer_timeframe("x.csv", times, 5, timeframe), 0);
        assert_string_equal(timeframe, cases[i].timeframe);
    }
}


/* ---- bad input ---- */

static void error_missing_file(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_snippet("missing-1h.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL), OHLCX_EIO);
    assert_contains(ohlcx_last_error(), "cannot open ");
    assert_contains(ohlcx_last_error(), "missing-1h.csv: No such file or directory");
    assert_int_equal(ohlcx_exit_status(OHLCX_EIO), 2);
}


static void error_empty_file(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_snippet("empty.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL), OHLCX_EFORMAT);
    assert_contains(ohlcx_last_error(), "empty.csv: the file is empty");
}


static void error_header_only(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("header_only-1h.csv", OHLCX_BAD_ROWS_FAIL, &s, &report),
                     OHLCX_EDATA);
    assert_contains(ohlcx_last_error(), "header_only-1h.csv: no data rows");
    assert_int_equal(s.n, 0);
    assert_null(report.bad_rows);
}


static void error_unknown_layout(void **state)
{
    ohlcx_series s;
    const char *message = NULL;

    (void)state;
    assert_int_equal(read_snippet("unknown_layout-1h.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL),
                     OHLCX_EFORMAT);
    message = ohlcx_last_error();
    assert_contains(message, "unknown_layout-1h.csv:1:1: unknown layout");
    assert_contains(message, "columns found: when,price,amount");
    assert_contains(message, "open_time,open,high,low,close,volume");
    assert_contains(message, "--symbol");
    assert_contains(message, "--timeframe");
    assert_null(strchr(message, '\n'));
}


static void error_unknown_headerless(void **state)
{
    ohlcx_series s;

    (void)state;
    /* Seven fields are Kraken's layout now; four match no headerless layout. */
    assert_int_equal(read_snippet("four_fields-1h.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL),
                     OHLCX_EFORMAT);
    assert_contains(ohlcx_last_error(), "four_fields-1h.csv:1:1: unknown layout");
    assert_contains(ohlcx_last_error(), "4 fields");
}


static void error_truncated_last_line(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_snippet("truncated-1h.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL),
                     OHLCX_EFORMAT);
    /* "1641002400000,46778.14,46928.94" is 31 bytes; the missing 4th field
     * would start at column 32. */
    assert_contains(ohlcx_last_error(), "truncated-1h.csv:3:32: expected 12 fields, found 3");
    assert_int_equal(s.n, 0);
    assert_null(s.open_time);
}


static void error_text_in_price(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_snippet("text_price-1h.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL),
                     OHLCX_EFORMAT);
    /* "1640998800000," is 14 bytes and "46656.14," 9, so "abc" starts at 24. */
    assert_contains(ohlcx_last_error(),
                    "text_price-1h.csv:3:24: column 3 (high): invalid number 'abc'");
}


static void error_bad_policy(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_snippet("GOOG.csv", 7, &s, NULL), OHLCX_EINVAL);
    assert_contains(ohlcx_last_error(), "policy 7");
}


static void bad_rows_fail_first(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_snippet("ETHUSDT_5m_2026-01.csv", OHLCX_BAD_ROWS_FAIL, &s, NULL),
                     OHLCX_EFORMAT);
    /* Line 3 repeats the UTC text: 12 fields of 173 bytes and 12 commas
     * end at byte 185, so the 13th field starts at column 186. */
    assert_contains(ohlcx_last_error(),
                    "ETHUSDT_5m_2026-01.csv:3:186: expected 12 fields, found 13");
}


static void bad_rows_skip_listed(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_snippet("ETHUSDT_5m_2026-01.csv", OHLCX_BAD_ROWS_SKIP, &s, &report), 0);
    assert_int_equal(report.lines, 6);
    assert_int_equal(report.rows_read, 2);
    assert_int_equal(report.bad_row_count, 3);
    assert_non_null(report.bad_rows);
    assert_int_equal(report.bad_rows[0].line, 3);
    assert_string_equal(report.bad_rows[0].reason, "expected 12 fields, found 13");
    assert_int_equal(report.bad_rows[1].line, 4);
    assert_string_equal(report.bad_rows[1].reason, "column 4 (high): invalid number 'NaN'");
    assert_int_equal(report.bad_rows[2].line, 5);
    assert_string_equal(report.bad_rows[2].reason, "column 6 (close): empty value");
    /* The kept rows are lines 2 and 6: 16:10 and 16:30 UTC. */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.open_time[0], 1767370200 * US);
    assert_int_equal(s.open_time[1], (1767370200 + 1200) * US);
    assert_true(s.close[1] == 3099.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


/* ---- real data ---- */

static const char *real_folders[] = {
    "binance-kline-11col",         "binance-kline-11col-datetime",
    "binance-kline-12col",         "binance-kline-12col-isotime",
    "binance-ohlcv-datetime",      "binance-futures-ohlcv-datetime",
    "binance-closetime-localtz",   "yahoo-daily",
    "yahoo-style-daily-tz",
};

/* Row counts and first open times; the times are from each file's first
 * row (close-labelled files: close time + 1 ms - timeframe, in UTC). */
static const struct {
    const char *file;
    size_t rows;
    size_t bad_rows;
    int64_t first_open_s;
    const char *timeframe;
} real_expected[] = {
    {"binance-kline-12col/LTCUSDT-1m-2026-02.csv", 40320, 0, 1769904000, "1m"},
    {"binance-kline-12col/BTCUSDT-1h-2022-01.csv", 744, 0, 1640995200, "1h"},
    {"binance-kline-12col/ETHUSDT_5m_2026-01.csv", 1011, 5, 1767370200, "5m"},
    {"binance-kline-11col/ETHUSDT-1h.csv", 17520, 0, 1715616000, "1h"},
    {"binance-kline-12col-isotime/BTCUSDT-1h-ohlc.csv", 17280, 0, 1704067200, "1h"},
    {"binance-futures-ohlcv-datetime/BTCUSDT_15m_365.csv", 35040, 0, 1729657800, "15m"},
    /* 2024-12-01 00:00:59.999+01:00 closes the bar opening 2024-11-30 23:00 UTC. */
    {"binance-closetime-localtz/BTCUSDT_1m_2024-12.csv", 41761, 0, 1733007600, "1m"},
    {"binance-closetime-localtz/BTCUSDT_15m_2024.csv", 34945, 0, 1704063600, "15m"},
    /* 2017-12-13 03:00 UTC. */
    {"binance-ohlcv-datetime/LTCUSDT_1h.csv", 70592, 0, 1513134000, "1h"},
    /* 2000-01-01 is day 10957, so 2000-01-03 is day 10959 = 946857600 s. */
    {"yahoo-daily/AAPL.csv", 6084, 0, 946857600, "1d"},
    {"yahoo-style-daily-tz/GOOG.csv", 1180, 0, 1595822400, "1d"},
};


static const char *real_data_root(char *buffer, size_t size)
{
    const char *root = getenv("OHLCX_REAL_DATA");
    const char *test_data = getenv("OHLCX_TEST_DATA");

    if (root != NULL && root[0] != '\0')
        return root;
    snprintf(buffer, size, "%s/../../../shared/data/real", test_data ? test_data : "tests/data");
    return buffer;
}


static int real_data_required(void)
{
    const char *value = getenv("OHLCX_REQUIRE_REAL_DATA");

    return value != NULL && value[0] != '\0' && strcmp(value, "0") != 0;
}


/* Checks a file listed in real_expected; returns 1 if it is listed. */
static int check_expected_file(const char *root, const char *relative, const ohlcx_series *s,
                               const ohlcx_read_report *report)
{
    for (size_t i = 0; i < sizeof real_expected / sizeof real_expected[0]; i++) {
        if (strcmp(relative, real_expected[i].file) != 0)
            continue;
        if (s->n != real_expected[i].rows || report->bad_row_count != real_expected[i].bad_rows)
            fail_msg("%s/%s: %zu rows and %zu bad, expected %zu and %zu", root, relative, s->n,
                     report->bad_row_count, real_expected[i].rows, real_expected[i].bad_rows);
        if (s->open_time[0] != real_expected[i].first_open_s * US)
            fail_msg("%s: first open time %lld, expected %lld s", relative,
                     (long long)s->open_time[0], (long long)real_expected[i].first_open_s);
        if (strcmp(s->timeframe, real_expected[i].timeframe) != 0)
            fail_msg("%s: timeframe %s, expected %s", relative, s->timeframe,
                     real_expected[i].timeframe);
        return 1;
    }
    return 0;
}


/* Reads one real file with SKIP, checks it against the table and validates
 * it. Returns 1 if the table lists the file. */
static int read_real_file(const char *root, const char *folder, const char *name)
{
    ohlcx_read_options options = {NULL, NULL, OHLCX_BAD_ROWS_SKIP};
    ohlcx_series s;
    ohlcx_read_report report;
    ohlcx_validation validation;
    char path[2048], relative[512];
    int status = 0, listed = 0;

    if (snprintf(path, sizeof path, "%s/%s/%s", root, folder, name) >= (int)sizeof path)
        fail_msg("path too long: %s/%s/%s", root, folder, name);
    snprintf(relative, sizeof relative, "%s/%s", folder, name);
    ohlcx_series_init(&s);
    status = ohlcx_read_candles(path, &options, &s, &report);
    if (status != 0)
        fail_msg("%s: %s", relative, ohlcx_last_error());
    if (report.bad_row_count > 0 &&
        strcmp(relative, "binance-kline-12col/ETHUSDT_5m_2026-01.csv") != 0)
        fail_msg("%s: %zu bad rows, first at line %zu: %s", relative, report.bad_row_count,
                 report.bad_rows[0].line, report.bad_rows[0].reason);
    listed = check_expected_file(root, relative, &s, &report);

    assert_int_equal(ohlcx_validate_basic(&s, &validation), 0);
    /* Offsets make the summer-time switch seamless: no repeated open times. */
    if (validation.dropped[OHLCX_DROP_DUPLICATE] + validation.dropped[OHLCX_DROP_CONFLICT] > 0)
        fail_msg("%s: %zu duplicate and %zu conflicting open times", relative,
                 validation.dropped[OHLCX_DROP_DUPLICATE], validation.dropped[OHLCX_DROP_CONFLICT]);
    assert_true(validation.rows_out > 0);

    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
    return listed;
}


static void real_data_all_layouts(void **state)
{
    char buffer[2048];
    const char *root = real_data_root(buffer, sizeof buffer);
    DIR *check = opendir(root);
    size_t files = 0, listed = 0;

    (void)state;
    if (check == NULL) {
        if (real_data_required())
            fail_msg("real data folder %s not found and OHLCX_REQUIRE_REAL_DATA is set", root);
        skip();
    }
    closedir(check);

    for (size_t f = 0; f < sizeof real_folders / sizeof real_folders[0]; f++) {
        char folder_path[2200];
        struct dirent *entry = NULL;
        DIR *folder = NULL;

        snprintf(folder_path, sizeof folder_path, "%s/%s", root, real_folders[f]);
        folder = opendir(folder_path);
        if (folder == NULL)
            fail_msg("real data folder %s is missing", folder_path);
        while ((entry = readdir(folder)) != NULL) {
            size_t length = strlen(entry->d_name);
            if (length <= 4 || strcmp(entry->d_name + length - 4, ".csv") != 0)
                continue;
            listed += (size_t)read_real_file(root, real_folders[f], entry->d_name);
            files++;
        }
        closedir(folder);
    }
    /* 2 + 7 + 3 + 3 + 5 + 3 + 2 + 7 + 12 files in the nine folders. */
    assert_int_equal(files, 44);
    assert_int_equal(listed, sizeof real_expected / sizeof real_expected[0]);
}


static void real_data_bad_rows_fail(void **state)
{
    char buffer[2048], path[2200];
    const char *root = real_data_root(buffer, sizeof buffer);
    ohlcx_read_options options = {NULL, NULL, OHLCX_BAD_ROWS_FAIL};
    ohlcx_series s;
    FILE *file = NULL;

    (void)state;
    snprintf(path, sizeof path, "%s/binance-kline-12col/ETHUSDT_5m_2026-01.csv", root);
    file = fopen(path, "r");
    if (file == NULL) {
        if (real_data_required())
            fail_msg("%s not found and OHLCX_REQUIRE_REAL_DATA is set", path);
        skip();
    }
    fclose(file);
    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_read_candles(path, &options, &s, NULL), OHLCX_EFORMAT);
    /* Line 1010 is the first of the five 13-field rows. Its first 12 fields
     * are 168 bytes and 12 commas, so the 13th starts at column 181. */
    assert_contains(ohlcx_last_error(),
                    "ETHUSDT_5m_2026-01.csv:1010:181: expected 12 fields, found 13");
    assert_int_equal(s.n, 0);
}


static void real_data_read_speed(void **state)
{
    char buffer[2048], path[2200];
    const char *root = real_data_root(buffer, sizeof buffer);
    ohlcx_series s;
    struct timespec start, end;
    double seconds = 0;
    FILE *file = NULL;

    (void)state;
    snprintf(path, sizeof path, "%s/binance-ohlcv-datetime/LTCUSDT_1h.csv", root);
    file = fopen(path, "r");
    if (file == NULL) {
        if (real_data_required())
            fail_msg("%s not found and OHLCX_REQUIRE_REAL_DATA is set", path);
        skip();
    }
    fclose(file);
    ohlcx_series_init(&s);
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(ohlcx_read_candles(path, NULL, &s, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &end);
    seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) * 1e-9;
    print_message("read %zu rows in %.3f s\n", s.n, seconds);
    assert_int_equal(s.n, 70592);
    /* A loose bound that still catches quadratic work, with room for a
     * sanitizer build on a slow machine. */
    assert_true(seconds < 2.0);
    ohlcx_series_free(&s);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(datetime_parse_forms),
        cmocka_unit_test(datetime_parse_rejects),
        cmocka_unit_test(datetime_parse_bounded),
        cmocka_unit_test(datetime_format_values),
        cmocka_unit_test(datetime_round_trip),
        cmocka_unit_test(number_parse_exact),
        cmocka_unit_test(number_parse_rejects),
        cmocka_unit_test(epoch_units_by_magnitude),
        cmocka_unit_test(split_fields_trims),
        cmocka_unit_test(file_name_table),
        cmocka_unit_test(file_name_without_symbol),
        cmocka_unit_test(file_name_keeps_error),
        cmocka_unit_test(read_kline12_header_crlf),
        cmocka_unit_test(read_kline12_headerless_us),
        cmocka_unit_test(read_kline11_headerless),
        cmocka_unit_test(read_kline11_datetime_column),
        cmocka_unit_test(read_kline_iso_time),
        cmocka_unit_test(read_ohlcv_date_only),
        cmocka_unit_test(read_futures_time_column),
        cmocka_unit_test(read_close_time_offset),
        cmocka_unit_test(read_yahoo_daily_inferred),
        cmocka_unit_test(read_yahoo_offset),
        cmocka_unit_test(read_index_column),
        cmocka_unit_test(read_options_override),
        cmocka_unit_test(read_options_bad_timeframe),
        cmocka_unit_test(infer_timeframe_gap),
        cmocka_unit_test(infer_timeframe_unknown),
        cmocka_unit_test(infer_timeframe_table),
        cmocka_unit_test(error_missing_file),
        cmocka_unit_test(error_empty_file),
        cmocka_unit_test(error_header_only),
        cmocka_unit_test(error_unknown_layout),
        cmocka_unit_test(error_unknown_headerless),
        cmocka_unit_test(error_truncated_last_line),
        cmocka_unit_test(error_text_in_price),
        cmocka_unit_test(error_bad_policy),
        cmocka_unit_test(bad_rows_fail_first),
        cmocka_unit_test(bad_rows_skip_listed),
        cmocka_unit_test(real_data_all_layouts),
        cmocka_unit_test(real_data_bad_rows_fail),
        cmocka_unit_test(real_data_read_speed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
