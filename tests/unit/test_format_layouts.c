/*
 * Tests of the vendor layouts that sniffing recognises, on small files in
 * tests/data/format modelled on each vendor's real exports. They cover
 * semicolons, tabs, separate date and time columns, decimal commas, K/M/B
 * volumes, quoted commas, a URL banner, freqtrade JSON, merged column sets,
 * the columns option, time zones and the unknown-layout message.
 *
 * Epoch values below were worked out from days since 1970-01-01 (365 per
 * year plus one per leap year) and checked with Python's datetime and
 * zoneinfo:
 *   2005-01-01 = 12784 days   2007-01-01 = 13514   2015-01-01 = 16436
 *   2017-01-01 = 17167        2019-01-01 = 17897   2022-01-01 = 18993
 *   2024-01-01 = 19723        2026-01-01 = 20454
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_format_helpers.h"


/* ---- separate date and time columns ---- */

static void read_finam_semicolon(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("IMOEX_220103_220104.csv", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "finam-stooq");
    assert_string_equal(s.symbol, "IMOEX");
    /* Spacings 1 h and 22 h: the median is 1 h. */
    assert_string_equal(s.timeframe, "1h");
    assert_int_equal(s.n, 3);
    /* 2022-01-03 = 18995 days = 1641168000 s; 11:00 adds 39600. */
    assert_int_equal(s.open_time[0], 1641207600 * US);
    /* 2022-01-04 10:00 = 1641168000 + 86400 + 36000. */
    assert_int_equal(s.open_time[2], 1641290400 * US);
    assert_true(s.open[0] == 3826.12);
    assert_true(s.close[1] == 3857.27);
    assert_true(s.volume[0] == 11748215037.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_finam_moscow_zone(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("IMOEX_220103_220104.csv", 0, NULL, "Europe/Moscow", &s, NULL),
                     0);
    /* Moscow has kept UTC+3 all year since 2014: 11:00 MSK is 08:00 UTC. */
    assert_int_equal(s.open_time[0], (1641207600 - 3 * 3600) * US);
    assert_int_equal(s.open_time[2], (1641290400 - 3 * 3600) * US);
    ohlcx_series_free(&s);
}


static void read_stooq_daily(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("spy.us.txt", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "finam-stooq");
    /* The ".us" market suffix goes and the symbol is upper-cased. */
    assert_string_equal(s.symbol, "SPY");
    assert_string_equal(s.timeframe, "1d");
    assert_int_equal(s.n, 3);
    /* 2005-02-25 = 12784 + 31 + 24 days = 12839 days = 1109289600 s. */
    assert_int_equal(s.open_time[0], 1109289600 * US);
    assert_int_equal(s.open_time[1], (1109289600 + 3 * 86400) * US);
    assert_true(s.high[2] == 93.7498);
    assert_true(s.volume[2] == 61529873.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_stooq_compact_time(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("cdr.pl.txt", 0, NULL, NULL, &s, NULL), 0);
    assert_string_equal(s.symbol, "CDR");
    assert_string_equal(s.timeframe, "1h");
    /* 20220103 and 100000: 1641168000 + 36000. */
    assert_int_equal(s.open_time[0], 1641204000 * US);
    assert_int_equal(s.open_time[2], (1641204000 + 7200) * US);
    ohlcx_series_free(&s);
}


static void read_metatrader5_tab(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("EURUSD_H1.csv", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "metatrader-5");
    assert_string_equal(s.symbol, "EURUSD");
    assert_string_equal(s.timeframe, "1h");
    assert_int_equal(s.asset_class, OHLCX_ASSET_FOREX);
    /* 2015-01-02 = 16437 days = 1420156800 s. */
    assert_int_equal(s.open_time[0], 1420156800 * US);
    assert_int_equal(s.open_time[1], (1420156800 + 9 * 3600) * US);
    assert_true(s.low[0] == 1.19984);
    /* TICKVOL, not the VOL column of zeros. */
    assert_true(s.volume[0] == 93842.0);
    assert_true(s.volume[1] == 3796.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_metatrader4_headerless(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("EURUSD60.csv", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "metatrader-4");
    /* MetaTrader history names glue the minutes to the symbol. */
    assert_string_equal(s.symbol, "EURUSD");
    assert_string_equal(s.timeframe, "1h");
    /* 2007-07-19 = 13514 + 181 + 18 days = 13713 days; 03:00 adds 10800 s. */
    assert_int_equal(s.open_time[0], 1184814000 * US);
    assert_int_equal(s.open_time[1], (1184814000 + 3600) * US);
    assert_true(s.close[1] == 1.3797);
    assert_true(s.volume[0] == 181.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


/* ---- investing.com: quoted commas, month names, K/M/B, decimal comma ---- */

static void read_investing_quoted(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("DAX_Historical_Data.csv", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "investing-com");
    assert_string_equal(s.symbol, "DAX");
    assert_string_equal(s.timeframe, "1d");
    assert_int_equal(s.n, 4);
    /* Newest first, kept in file order: 2019-06-14 = 17897 + 164 days. */
    assert_int_equal(s.open_time[0], 1560470400 * US);
    assert_int_equal(s.open_time[3], (1560470400 - 3 * 86400) * US);
    /* "Price" is the close; "12,082.70" has a thousands separator. */
    assert_true(s.close[0] == 12082.7);
    assert_true(s.open[0] == 12138.56);
    assert_true(s.high[0] == 12146.23);
    assert_true(s.low[0] == 12047.81);
    /* "-" is no volume; M, B and K scale by 1e6, 1e9 and 1e3. */
    assert_true(s.volume[0] == 0.0);
    assert_true(s.volume[1] == 69240000.0);
    assert_true(s.volume[2] == 1200000000.0);
    assert_true(s.volume[3] == 850500.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_investing_month_first(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("EUR_USD_Historical_Data.csv", 0, NULL, NULL, &s, NULL), 0);
    assert_string_equal(s.symbol, "EURUSD");
    /* "02/28/2019" shows month first, so "03/04/2019" is 2019-03-04:
     * 17897 + 31 + 28 + 3 days = 1551657600 s. */
    assert_int_equal(s.open_time[0], 1551657600 * US);
    assert_int_equal(s.open_time[2], (1551657600 - 4 * 86400) * US);
    assert_true(s.close[0] == 1.1343);
    /* The volume of currencies is left empty and reads as 0. */
    assert_true(s.volume[1] == 0.0);
    ohlcx_series_free(&s);
}


static void read_slash_day_first(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("EURGBP_dayfirst-1d.csv", 0, NULL, NULL, &s, NULL), 0);
    /* "25/03/2019" shows day first, so "04/03/2019" is 4 March. */
    assert_int_equal(s.open_time[0], 1551657600 * US);
    /* 2019-03-25 = 17897 + 31 + 28 + 24 days = 1553472000 s. */
    assert_int_equal(s.open_time[1], 1553472000 * US);
    ohlcx_series_free(&s);
}


static void read_investing_decimal_comma(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("Dados_Historicos_Bitcoin.csv", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "investing-com-decimal-comma");
    /* "Dados" and "Historicos" are words of the vendor's file name. */
    assert_string_equal(s.symbol, "BITCOIN");
    /* 24.05.2026 = 20454 + 143 days = 1779580800 s. */
    assert_int_equal(s.open_time[0], 1779580800 * US);
    assert_int_equal(s.open_time[2], (1779580800 - 2 * 86400) * US);
    /* Último, Abertura, Máxima, Mínima: close, open, high, low. */
    assert_true(s.close[0] == 76758.3);
    assert_true(s.open[0] == 76727.1);
    assert_true(s.high[0] == 76984.6);
    assert_true(s.low[0] == 76624.2);
    assert_true(s.volume[0] == 46930.0);
    assert_true(s.volume[2] == 1200000.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_semicolon_decimal_comma(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("DE40_semicolon-1h.csv", 0, NULL, NULL, &s, NULL), 0);
    /* 2024-01-02 10:00 = 1704067200 + 86400 + 36000. */
    assert_int_equal(s.open_time[0], 1704189600 * US);
    assert_true(s.open[0] == 16800.5);
    assert_true(s.low[0] == 16790.25);
    /* With a decimal comma, "1.234" groups thousands. */
    assert_true(s.volume[0] == 1234.0);
    assert_true(s.high[1] == 16900.0);
    ohlcx_series_free(&s);
}


/* ---- CryptoDataDownload, Kraken, Binance optional columns ---- */

static void read_banner_line(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("Coinbase_BTCUSD_1h.csv", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "cryptodatadownload");
    /* The exchange prefix is not the symbol. */
    assert_string_equal(s.symbol, "BTCUSD");
    assert_string_equal(s.timeframe, "1h");
    assert_int_equal(report.lines, 4);
    assert_int_equal(s.n, 2);
    /* Unix seconds written with ".0", newest first. */
    assert_int_equal(s.open_time[0], 1603522800 * US);
    assert_int_equal(s.open_time[1], 1603519200 * US);
    /* Volume BTC is the volume and Volume USD the quote volume. */
    assert_true(s.volume[1] == 124.18);
    assert_int_equal(s.extra, OHLCX_EXTRA_QUOTE_VOLUME);
    assert_true(s.extra_column[0][1] == 1609854.27);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_mixed_epoch_units(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("Binance_BTCUSDT_d.csv", 0, NULL, NULL, &s, NULL), 0);
    assert_string_equal(s.symbol, "BTCUSDT");
    /* "d" in the name is one day. */
    assert_string_equal(s.timeframe, "1d");
    /* Milliseconds in the newest row, seconds with ".0" in the older ones. */
    assert_int_equal(s.open_time[0], 1623369600 * US);
    assert_int_equal(s.open_time[1], 1503014400 * US);
    assert_int_equal(s.extra, OHLCX_EXTRA_QUOTE_VOLUME | OHLCX_EXTRA_TRADES);
    assert_true(s.extra_column[1][0] == 14689.0);
    /* NULL trade counts are missing values. */
    assert_true(isnan(s.extra_column[1][1]));
    assert_true(s.extra_column[0][2] == 2817643.85);
    ohlcx_series_free(&s);
}


static void read_kraken_trades(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("kraken-1h.csv", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "kraken-ohlcvt");
    assert_int_equal(s.n, 2);
    /* 1381093200 s = 2013-10-06 21:00 UTC. */
    assert_int_equal(s.open_time[0], 1381093200 * US);
    assert_true(s.close[1] == 123.47);
    assert_true(s.volume[0] == 0.15);
    assert_int_equal(s.extra, OHLCX_EXTRA_TRADES);
    assert_true(s.extra_column[1][0] == 1.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void read_kline_extra_columns(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("BTCUSDT-1h-2022-01.csv", 0, NULL, NULL, &s, NULL), 0);
    assert_int_equal(s.extra, OHLCX_EXTRA_QUOTE_VOLUME | OHLCX_EXTRA_TRADES |
                                  OHLCX_EXTRA_TAKER_BASE | OHLCX_EXTRA_TAKER_QUOTE);
    assert_true(s.extra_column[0][0] == 69921384.5207116);
    assert_true(s.extra_column[1][0] == 38651.0);
    assert_true(s.extra_column[2][0] == 804.91372);
    assert_true(s.extra_column[3][0] == 37410528.331908);
    assert_true(s.extra_column[1][1] == 31839.0);
    ohlcx_series_free(&s);
}


static void read_kline_headerless_extras(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("ETHUSDT-1d.csv", 0, NULL, NULL, &s, NULL), 0);
    /* Headerless klines: fields 8 to 11 are the optional columns. */
    assert_int_equal(s.extra, OHLCX_EXTRA_QUOTE_VOLUME | OHLCX_EXTRA_TRADES |
                                  OHLCX_EXTRA_TAKER_BASE | OHLCX_EXTRA_TAKER_QUOTE);
    assert_true(s.extra_column[0][1] == 872941368.29);
    assert_true(s.extra_column[1][1] == 573986.0);
    assert_true(s.extra_column[2][1] == 139605.2831);
    assert_true(s.extra_column[3][1] == 416592873.104827);
    ohlcx_series_free(&s);
}


/* ---- yfinance ---- */

static void read_yfinance_offsets(void **state)
{
    ohlcx_series s;

    (void)state;
    /* The zone does not apply: the offsets in the text already fix the time. */
    assert_int_equal(read_with("NVDA_1h.csv", 0, NULL, "Europe/Berlin", &s, NULL), 0);
    /* 2022-11-04 = 18993 + 307 days; 15:30-04:00 is 19:30 UTC. */
    assert_int_equal(s.open_time[0], 1667590200 * US);
    /* 2022-11-07 09:30-05:00 (after the switch back) is 14:30 UTC. */
    assert_int_equal(s.open_time[1], 1667831400 * US);
    ohlcx_series_free(&s);
}


static void read_merged_column_sets(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("SPY_1h.csv", 0, NULL, NULL, &s, NULL), 0);
    assert_int_equal(s.n, 3);
    assert_true(s.high[0] == 429.18617);
    /* Row 2 has only the capitalised set: its columns stand in. */
    assert_true(s.low[1] == 404.2487);
    assert_true(s.close[1] == 408.17);
    /* Row 3 has both sets: the first one wins. */
    assert_true(s.close[2] == 408.25);
    assert_true(s.volume[2] == 10.0);
    ohlcx_series_free(&s);
}


/* ---- freqtrade JSON ---- */

static void read_freqtrade_json(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("ETH_USDT-5m.json", 0, NULL, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "freqtrade-json");
    assert_string_equal(s.symbol, "ETHUSDT");
    assert_string_equal(s.timeframe, "5m");
    assert_int_equal(report.lines, 2);
    assert_int_equal(s.n, 3);
    /* 2022-10-01 = 18993 + 273 days = 1664582400 s. */
    assert_int_equal(s.open_time[0], 1664582400 * US);
    assert_int_equal(s.open_time[2], (1664582400 + 600) * US);
    assert_true(s.open[1] == 1329.64);
    assert_true(s.volume[1] == 1452.3169);
    assert_true(s.close[2] == 1330.94);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void json_bad_rows_fail(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("bad_rows-5m.json", OHLCX_BAD_ROWS_FAIL, NULL, NULL, &s, NULL),
                     OHLCX_EFORMAT);
    assert_text_contains(ohlcx_last_error(), "bad_rows-5m.json:2:1: expected 6 values, found 5");
    assert_int_equal(s.n, 0);
}


static void json_bad_rows_skip(void **state)
{
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("bad_rows-5m.json", OHLCX_BAD_ROWS_SKIP, NULL, NULL, &s, &report),
                     0);
    assert_int_equal(report.bad_row_count, 2);
    assert_int_equal(report.bad_rows[0].line, 2);
    assert_int_equal(report.bad_rows[1].line, 3);
    assert_string_equal(report.bad_rows[1].reason, "value 2 (open): expected a number");
    assert_int_equal(s.n, 2);
    /* The last row's time is a datetime string: 00:15 UTC. */
    assert_int_equal(s.open_time[1], (1664582400 + 900) * US);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void json_truncated(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("truncated-5m.json", 0, NULL, NULL, &s, NULL), OHLCX_EFORMAT);
    assert_text_contains(ohlcx_last_error(), "truncated-5m.json:1: invalid freqtrade JSON");
    assert_text_contains(ohlcx_last_error(), "before the closing ']'");
    assert_int_equal(s.n, 0);
}


/* ---- time zones ---- */

static void tz_berlin_dst(void **state)
{
    /* Clocks in Berlin went from 02:00 CET to 03:00 CEST on 2024-03-31
     * (1711843200 s at 00:00 UTC) and from 03:00 CEST back to 02:00 CET on
     * 2024-10-27 (1729987200 s at 00:00 UTC). */
    static const int64_t expected[] = {
        1711843200,        /* 01:00 CET = 00:00 UTC */
        1711843200 + 1800, /* 01:30 CET */
        1711843200 + 3600, /* 03:00 CEST = 01:00 UTC */
        1711843200 + 5400, /* 03:30 CEST */
        1729987200,        /* 02:00 CEST = 00:00 UTC */
        1729987200 + 1800, /* 02:30 CEST */
        1729987200 + 3600, /* 02:00 CET again = 01:00 UTC */
        1729987200 + 5400, /* 02:30 CET */
        1729987200 + 7200, /* 03:00 CET = 02:00 UTC */
    };
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("Berlin-30m.csv", 0, NULL, "Europe/Berlin", &s, NULL), 0);
    assert_int_equal(s.n, 9);
    for (size_t i = 0; i < 9; i++)
        if (s.open_time[i] != expected[i] * US)
            fail_msg("row %zu: %lld, expected %lld", i, (long long)s.open_time[i],
                     (long long)(expected[i] * US));
    ohlcx_series_free(&s);
}


static void tz_new_york_dst(void **state)
{
    /* New York went from 02:00 EST to 03:00 EDT on 2024-03-10 (1710028800 s
     * at 00:00 UTC) and from 02:00 EDT back to 01:00 EST on 2024-11-03
     * (1730592000 s at 00:00 UTC). */
    static const int64_t expected[] = {
        1710028800 + 5 * 3600,  /* 00:00 EST = 05:00 UTC */
        1710028800 + 6 * 3600,  /* 01:00 EST */
        1710028800 + 7 * 3600,  /* 03:00 EDT = 07:00 UTC */
        1710028800 + 8 * 3600,  /* 04:00 EDT */
        1730592000 + 4 * 3600,  /* 00:00 EDT = 04:00 UTC */
        1730592000 + 5 * 3600,  /* 01:00 EDT */
        1730592000 + 6 * 3600,  /* 01:00 EST, the repeated hour */
        1730592000 + 7 * 3600,  /* 02:00 EST */
    };
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("NewYork-1h.csv", 0, NULL, "America/New_York", &s, NULL), 0);
    assert_int_equal(s.n, 8);
    for (size_t i = 0; i < 8; i++)
        if (s.open_time[i] != expected[i] * US)
            fail_msg("row %zu: %lld, expected %lld", i, (long long)s.open_time[i],
                     (long long)(expected[i] * US));
    ohlcx_series_free(&s);
}


static void tz_date_only_unchanged(void **state)
{
    ohlcx_series s;

    (void)state;
    /* Daily dates are calendar days: a zone does not move them. */
    assert_int_equal(read_with("spy.us.txt", 0, NULL, "America/New_York", &s, NULL), 0);
    /* TIME 000000 is a time of day, so these are converted: 05:00 UTC. */
    assert_int_equal(s.open_time[0], (1109289600 + 5 * 3600) * US);
    ohlcx_series_free(&s);
    assert_int_equal(read_with("GOOG.csv", 0, NULL, "America/New_York", &s, NULL), 0);
    assert_int_equal(s.open_time[0], 1709251200 * US);
    ohlcx_series_free(&s);
}


static void tz_unknown_zone(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("Berlin-30m.csv", 0, NULL, "Europe/Berln", &s, NULL),
                     OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "unknown time zone 'Europe/Berln'");
    assert_text_contains(ohlcx_last_error(), "Europe/Berlin");
    assert_int_equal(read_with("Berlin-30m.csv", 0, NULL, "../etc/passwd", &s, NULL),
                     OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "unknown time zone '../etc/passwd'");
    assert_int_equal(s.n, 0);
}


/* ---- the columns option ---- */

static void columns_by_name(void **state)
{
    const char *columns = "time=stamp,open=px_o,high=px_h,low=px_l,close=px_c,volume=qty,"
                          "delimiter=|,time_format=%d/%m/%Y %H:%M";
    ohlcx_series s;
    ohlcx_read_report report;

    (void)state;
    assert_int_equal(read_with("mapped-1h.csv", 0, columns, NULL, &s, &report), 0);
    assert_string_equal(report.layout, "columns-option");
    assert_int_equal(s.n, 2);
    /* 02/01/2024 day first is 2024-01-02: 1704067200 + 86400 + 36000. */
    assert_int_equal(s.open_time[0], 1704189600 * US);
    assert_int_equal(s.open_time[1], (1704189600 + 3600) * US);
    assert_true(s.close[0] == 1.75);
    assert_true(s.volume[1] == 50.0);
    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static void columns_by_index(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("mapped_index-1h.csv", 0,
                               "time=0,open=1,high=2,low=3,close=4,delimiter=;", NULL, &s, NULL),
                     0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.open_time[1], 1704193200 * US);
    assert_true(s.high[1] == 2.5);
    /* No volume column: every volume is 0. */
    assert_true(s.volume[0] == 0.0);
    ohlcx_series_free(&s);
}


static void columns_date_and_time(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("IMOEX_220103_220104.csv", 0,
                               "date=<DATE>,time=<TIME>,open=<OPEN>,high=<HIGH>,low=<LOW>,"
                               "close=<CLOSE>,volume=<VOL>",
                               NULL, &s, NULL),
                     0);
    assert_int_equal(s.open_time[0], 1641207600 * US);
    assert_true(s.volume[1] == 9174326518.0);
    ohlcx_series_free(&s);
}


static void columns_errors(void **state)
{
    ohlcx_series s;

    (void)state;
    assert_int_equal(read_with("mapped-1h.csv", 0, "time=stamp,open=px_o,hi=px_h", NULL, &s, NULL),
                     OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "unknown key at 'hi=px_h'");
    assert_int_equal(read_with("mapped-1h.csv", 0, "time=stamp,open=px_o,high=px_h,low=px_l",
                               NULL, &s, NULL),
                     OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "it needs close");
    assert_int_equal(read_with("mapped-1h.csv", 0,
                               "time=when,open=px_o,high=px_h,low=px_l,close=px_c,delimiter=|",
                               NULL, &s, NULL),
                     OHLCX_EFORMAT);
    assert_text_contains(ohlcx_last_error(), "mapped-1h.csv:1:1:");
    assert_text_contains(ohlcx_last_error(), "'when', which is not in the header");
    assert_text_contains(ohlcx_last_error(), "columns found: stamp,px_o,px_h,px_l,px_c,qty,note");
    assert_int_equal(read_with("mapped_index-1h.csv", 0,
                               "time=0,open=1,high=2,low=3,close=9,delimiter=;", NULL, &s, NULL),
                     OHLCX_EFORMAT);
    assert_text_contains(ohlcx_last_error(), "names column 9, but the line has 5 fields");
    assert_int_equal(read_with("mapped-1h.csv", 0,
                               "time=0,open=1,high=2,low=3,close=4,time_format=%Q", NULL, &s, NULL),
                     OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "unsupported directive at '%Q'");
    assert_int_equal(s.n, 0);
}


/* ---- unknown layouts ---- */

static void unknown_layout_suggests(void **state)
{
    ohlcx_series s;
    const char *message = NULL;

    (void)state;
    assert_int_equal(read_with("unknown_layout-1h.csv", 0, NULL, NULL, &s, NULL), OHLCX_EFORMAT);
    message = ohlcx_last_error();
    assert_text_contains(message, "unknown_layout-1h.csv:1:1: unknown layout");
    assert_text_contains(message, "columns found: when,price,amount");
    /* "price" is taken as the close; the rest fill the roles in order. */
    assert_text_contains(message, "no column for open_time,open,high,low,volume");
    assert_text_contains(message, "--columns 'time=when,open=amount,close=price'");
    assert_null(strchr(message, '\n'));
}


static void unknown_headerless_suggests(void **state)
{
    ohlcx_series s;
    const char *message = NULL;

    (void)state;
    assert_int_equal(read_with("four_fields-1h.csv", 0, NULL, NULL, &s, NULL), OHLCX_EFORMAT);
    message = ohlcx_last_error();
    assert_text_contains(message, "four_fields-1h.csv:1:1: unknown layout");
    assert_text_contains(message, "4 fields");
    assert_text_contains(message, "--columns 'time=0,open=1,high=2,low=3'");
    assert_null(strchr(message, '\n'));
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_finam_semicolon),
        cmocka_unit_test(read_finam_moscow_zone),
        cmocka_unit_test(read_stooq_daily),
        cmocka_unit_test(read_stooq_compact_time),
        cmocka_unit_test(read_metatrader5_tab),
        cmocka_unit_test(read_metatrader4_headerless),
        cmocka_unit_test(read_investing_quoted),
        cmocka_unit_test(read_investing_month_first),
        cmocka_unit_test(read_slash_day_first),
        cmocka_unit_test(read_investing_decimal_comma),
        cmocka_unit_test(read_semicolon_decimal_comma),
        cmocka_unit_test(read_banner_line),
        cmocka_unit_test(read_mixed_epoch_units),
        cmocka_unit_test(read_kraken_trades),
        cmocka_unit_test(read_kline_extra_columns),
        cmocka_unit_test(read_kline_headerless_extras),
        cmocka_unit_test(read_yfinance_offsets),
        cmocka_unit_test(read_merged_column_sets),
        cmocka_unit_test(read_freqtrade_json),
        cmocka_unit_test(json_bad_rows_fail),
        cmocka_unit_test(json_bad_rows_skip),
        cmocka_unit_test(json_truncated),
        cmocka_unit_test(tz_berlin_dst),
        cmocka_unit_test(tz_new_york_dst),
        cmocka_unit_test(tz_date_only_unchanged),
        cmocka_unit_test(tz_unknown_zone),
        cmocka_unit_test(columns_by_name),
        cmocka_unit_test(columns_by_index),
        cmocka_unit_test(columns_date_and_time),
        cmocka_unit_test(columns_errors),
        cmocka_unit_test(unknown_layout_suggests),
        cmocka_unit_test(unknown_headerless_suggests),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
