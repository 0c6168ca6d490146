/*
 * Every file of the real data folder ($OHLCX_REAL_DATA, default: the shared
 * data folder next to the source tree), read as ohlcx ingests it: with
 * --bad-rows skip, the time zone the file needs, then ohlcx_validate_basic().
 *
 * The table lists for each file:
 *   - the symbol and timeframe its name gives,
 *   - the rows read and the bad rows,
 *   - the rows left after validation, the repeated open times it dropped
 *     (duplicates and conflicts) and the rows it dropped for other rules,
 *   - the first and last open time after validation (sorted, in UTC, after
 *     any zone conversion) and the optional columns.
 * The values were worked out from the files with head, tail and wc and an
 * independent Python reading of each layout, not with ohlcx. Rows read plus
 * bad rows equal the data rows of each file.
 *
 * The test skips when the folder is missing, unless OHLCX_REQUIRE_REAL_DATA
 * is set.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ohlcx/quality.h"
#include "test_format_helpers.h"

#define QUOTE OHLCX_EXTRA_QUOTE_VOLUME
#define TRADES OHLCX_EXTRA_TRADES
#define KLINE_EXTRAS \
    (OHLCX_EXTRA_QUOTE_VOLUME | OHLCX_EXTRA_TRADES | OHLCX_EXTRA_TAKER_BASE | \
     OHLCX_EXTRA_TAKER_QUOTE)

typedef struct real_file {
    const char *file; /* folder/name under the real data folder */
    const char *symbol;
    const char *timeframe;
    const char *tz;
    size_t rows_read;
    size_t bad_rows;
    size_t rows_valid;
    size_t repeated;  /* dropped as duplicate or conflicting open times */
    size_t invalid;   /* dropped for breaking a price or volume rule */
    const char *first; /* open times, UTC */
    const char *last;
    unsigned extra;
} real_file;

static const real_file real_files[] = {
    /* Labelled by close time in Central European time: 2024-01-01
     * 00:14:59.999+01:00 closes the bar opening 2023-12-31 23:00 UTC. */
    {"binance-closetime-localtz/BTCUSDT_15m_2024.csv", "BTCUSDT", "15m", NULL,
     34945, 0, 34945, 0, 0, "2023-12-31 23:00:00", "2024-12-29 23:00:00", QUOTE | TRADES},
    {"binance-closetime-localtz/BTCUSDT_1m_2024-12.csv", "BTCUSDT", "1m", NULL,
     41761, 0, 41761, 0, 0, "2024-11-30 23:00:00", "2024-12-29 23:00:00", QUOTE | TRADES},
    {"binance-futures-ohlcv-datetime/BTCUSDT_15m_365.csv", "BTCUSDT", "15m", NULL,
     35040, 0, 35040, 0, 0, "2024-10-23 04:30:00", "2025-10-23 04:15:00", 0},
    {"binance-futures-ohlcv-datetime/LTCUSDT_15m_365.csv", "LTCUSDT", "15m", NULL,
     35040, 0, 35040, 0, 0, "2024-10-23 06:45:00", "2025-10-23 06:30:00", 0},
    {"binance-futures-ohlcv-datetime/LTCUSDT_1h_365.csv", "LTCUSDT", "1h", NULL,
     8760, 0, 8760, 0, 0, "2024-10-23 07:00:00", "2025-10-23 06:00:00", 0},
    {"binance-kline-11col/ETHUSDT-1d.csv", "ETHUSDT", "1d", NULL,
     730, 0, 730, 0, 0, "2024-05-15 00:00:00", "2026-05-14 00:00:00", KLINE_EXTRAS},
    {"binance-kline-11col/ETHUSDT-1h.csv", "ETHUSDT", "1h", NULL,
     17520, 0, 17520, 0, 0, "2024-05-13 16:00:00", "2026-05-13 15:00:00", KLINE_EXTRAS},
    {"binance-kline-11col-datetime/BTCUSDT_1d.csv", "BTCUSDT", "1d", NULL,
     3287, 0, 3287, 0, 0, "2017-08-17 00:00:00", "2026-08-16 00:00:00", KLINE_EXTRAS},
    {"binance-kline-11col-datetime/BTCUSDT_1h.csv", "BTCUSDT", "1h", NULL,
     17517, 0, 17517, 0, 0, "2024-07-19 20:00:00", "2026-07-19 16:00:00", KLINE_EXTRAS},
    {"binance-kline-11col-datetime/BTCUSDT_4h.csv", "BTCUSDT", "4h", NULL,
     10950, 0, 10950, 0, 0, "2021-07-22 04:00:00", "2026-07-21 00:00:00", KLINE_EXTRAS},
    {"binance-kline-11col-datetime/ETHUSDT_1d.csv", "ETHUSDT", "1d", NULL,
     3261, 0, 3261, 0, 0, "2017-08-17 00:00:00", "2026-07-21 00:00:00", KLINE_EXTRAS},
    {"binance-kline-11col-datetime/ETHUSDT_4h.csv", "ETHUSDT", "4h", NULL,
     10950, 0, 10950, 0, 0, "2021-07-22 04:00:00", "2026-07-21 00:00:00", KLINE_EXTRAS},
    {"binance-kline-11col-datetime/LTCUSDT_1d.csv", "LTCUSDT", "1d", NULL,
     3143, 0, 3143, 0, 0, "2017-12-13 00:00:00", "2026-07-21 00:00:00", KLINE_EXTRAS},
    {"binance-kline-11col-datetime/LTCUSDT_4h.csv", "LTCUSDT", "4h", NULL,
     10950, 0, 10950, 0, 0, "2021-07-22 04:00:00", "2026-07-21 00:00:00", KLINE_EXTRAS},
    /* ETHUSDT_5m_2026-01: 5 shifted 13-field rows are bad rows. */
    {"binance-kline-12col/BTCUSDT-1h-2022-01.csv", "BTCUSDT", "1h", NULL,
     744, 0, 744, 0, 0, "2022-01-01 00:00:00", "2022-01-31 23:00:00", KLINE_EXTRAS},
    {"binance-kline-12col/ETHUSDT_5m_2026-01.csv", "ETHUSDT", "5m", NULL,
     1011, 5, 1011, 0, 0, "2026-01-02 16:10:00", "2026-01-06 04:45:00", KLINE_EXTRAS},
    {"binance-kline-12col/LTCUSDT-1m-2026-02.csv", "LTCUSDT", "1m", NULL,
     40320, 0, 40320, 0, 0, "2026-02-01 00:00:00", "2026-02-28 23:59:00", KLINE_EXTRAS},
    {"binance-kline-12col-isotime/BTCUSDT-1h-ohlc.csv", "BTCUSDT", "1h", NULL,
     17280, 0, 17280, 0, 0, "2024-01-01 00:00:00", "2025-12-20 23:00:00", KLINE_EXTRAS},
    {"binance-kline-12col-isotime/BTCUSDT_15m_2023-10_2024-01.csv", "BTCUSDT", "15m", NULL,
     11713, 0, 11713, 0, 0, "2023-10-01 00:00:00", "2024-01-31 00:00:00", KLINE_EXTRAS},
    {"binance-kline-12col-isotime/ETHUSDT_1h_2025-02.csv", "ETHUSDT", "1h", NULL,
     582, 0, 582, 0, 0, "2025-02-05 13:00:00", "2025-03-01 18:00:00", KLINE_EXTRAS},
    {"binance-ohlcv-datetime/BTCUSDT_1d.csv", "BTCUSDT", "1d", NULL,
     3065, 0, 3065, 0, 0, "2017-08-17 00:00:00", "2026-01-06 00:00:00", 0},
    {"binance-ohlcv-datetime/ETHUSDT_1d.csv", "ETHUSDT", "1d", NULL,
     3065, 0, 3065, 0, 0, "2017-08-17 00:00:00", "2026-01-06 00:00:00", 0},
    {"binance-ohlcv-datetime/LTCUSDT_1d.csv", "LTCUSDT", "1d", NULL,
     2947, 0, 2947, 0, 0, "2017-12-13 00:00:00", "2026-01-06 00:00:00", 0},
    {"binance-ohlcv-datetime/LTCUSDT_1h.csv", "LTCUSDT", "1h", NULL,
     70592, 0, 70592, 0, 0, "2017-12-13 03:00:00", "2026-01-06 12:00:00", 0},
    {"binance-ohlcv-datetime/LTCUSDT_4h.csv", "LTCUSDT", "4h", NULL,
     17664, 0, 17664, 0, 0, "2017-12-13 00:00:00", "2026-01-06 12:00:00", 0},
    {"bybit-linear-ohlcv-isotime/BTCUSDT_15m.csv", "BTCUSDT", "15m", NULL,
     8640, 0, 8640, 0, 0, "2025-04-03 17:15:00", "2025-07-02 17:00:00", 0},
    {"bybit-linear-ohlcv-isotime/BTCUSDT_240m.csv", "BTCUSDT", "4h", NULL,
     180, 0, 180, 0, 0, "2025-05-30 20:00:00", "2025-06-29 16:00:00", 0},
    {"bybit-linear-ohlcv-isotime/BTCUSDT_30m.csv", "BTCUSDT", "30m", NULL,
     1440, 0, 1440, 0, 0, "2025-05-30 17:00:00", "2025-06-29 16:30:00", 0},
    {"bybit-linear-ohlcv-isotime/BTCUSDT_5m.csv", "BTCUSDT", "5m", NULL,
     25920, 0, 25920, 0, 0, "2025-04-03 17:05:00", "2025-07-02 17:00:00", 0},
    {"bybit-linear-ohlcv-isotime/BTCUSDT_60m.csv", "BTCUSDT", "1h", NULL,
     720, 0, 720, 0, 0, "2025-05-30 17:00:00", "2025-06-29 16:00:00", 0},
    /* Newest first; hours 2020-08-01 .. 2020-11-20 appear twice in
     * Binance_BTCUSDT_1h (2649 rows), one day twice in the daily file, and
     * five hours twice in the Coinbase file: validation drops them. */
    {"cryptodatadownload/Binance_BTCUSDT_1h.csv", "BTCUSDT", "1h", NULL,
     36062, 0, 33413, 2649, 0, "2017-08-17 04:00:00", "2021-06-10 00:00:00", QUOTE | TRADES},
    {"cryptodatadownload/Binance_BTCUSDT_d.csv", "BTCUSDT", "1d", NULL,
     1396, 0, 1395, 1, 0, "2017-08-17 00:00:00", "2021-06-11 00:00:00", QUOTE | TRADES},
    {"cryptodatadownload/Coinbase_BTCUSD_1h.csv", "BTCUSD", "1h", NULL,
     29061, 0, 29056, 5, 0, "2017-07-01 11:00:00", "2020-10-24 07:00:00", QUOTE},
    /* Moscow time (UTC+3): 11:00 is 08:00 UTC. */
    {"finam-semicolon/IMOEX_220101_221228.csv", "IMOEX", "1h", "Europe/Moscow",
     2072, 0, 2072, 0, 0, "2022-01-03 08:00:00", "2022-12-28 16:00:00", 0},
    {"forex-csv/EURUSD_H4.csv", "EURUSD", "4h", NULL,
     7998, 0, 7998, 0, 0, "2021-05-20 20:00:00", "2026-07-09 12:00:00", 0},
    {"forex-csv/EURUSD_M15.csv", "EURUSD", "15m", NULL,
     11998, 0, 11998, 0, 0, "2026-01-15 14:15:00", "2026-07-09 21:30:00", 0},
    /* MetaTrader broker time, read as written (the zone is not known). */
    {"forex-mt4/EURUSD60.csv", "EURUSD", "1h", NULL,
     65000, 0, 65000, 0, 0, "2007-07-19 03:00:00", "2018-01-31 17:00:00", 0},
    {"forex-mt4/USDJPY1.csv", "USDJPY", "1m", NULL,
     21467, 0, 21467, 0, 0, "2017-01-30 00:02:00", "2017-02-17 23:59:00", 0},
    {"forex-mt4/USDJPY60.csv", "USDJPY", "1h", NULL,
     3312, 0, 3312, 0, 0, "2016-08-05 22:00:00", "2017-02-17 23:00:00", 0},
    {"forex-mt5-tab/EURUSD_D1.csv", "EURUSD", "1d", NULL,
     2280, 0, 2280, 0, 0, "2015-01-02 00:00:00", "2023-10-12 00:00:00", 0},
    {"forex-mt5-tab/EURUSD_H1.csv", "EURUSD", "1h", NULL,
     54614, 0, 54614, 0, 0, "2015-01-02 00:00:00", "2023-10-12 11:00:00", 0},
    {"forex-mt5-tab/GBPUSD_H4.csv", "GBPUSD", "4h", NULL,
     12090, 0, 12090, 0, 0, "2015-01-02 00:00:00", "2023-10-12 08:00:00", 0},
    {"freqtrade-json/BTC_USDT-1d-futures.json", "BTCUSDT", "1d", NULL,
     99, 0, 99, 0, 0, "2022-10-01 00:00:00", "2023-01-07 00:00:00", 0},
    {"freqtrade-json/ETH_USDT-1h.json", "ETHUSDT", "1h", NULL,
     2387, 0, 2387, 0, 0, "2022-10-01 00:00:00", "2023-01-08 10:00:00", 0},
    {"freqtrade-json/ETH_USDT-5m.json", "ETHUSDT", "5m", NULL,
     26999, 0, 26999, 0, 0, "2022-10-01 00:00:00", "2023-01-02 17:50:00", 0},
    {"investing-com/DAX_Historical_Data.csv", "DAX", "1d", NULL,
     274, 0, 274, 0, 0, "2018-05-14 00:00:00", "2019-06-14 00:00:00", 0},
    {"investing-com/EUR_USD_Historical_Data.csv", "EURUSD", "1d", NULL,
     5000, 0, 5000, 0, 0, "2000-01-04 00:00:00", "2019-03-04 00:00:00", 0},
    /* Rows with open or close outside [low, high] fail validation:
     * 29, 161 and 18 of them. */
    {"investing-com-ptbr-eudecimal/BOVA11_Historico.csv", "BOVA11", "1d", NULL,
     4331, 0, 4331, 0, 0, "2008-12-03 00:00:00", "2026-05-22 00:00:00", 0},
    {"investing-com-ptbr-eudecimal/Dados_Historicos_Bitcoin.csv", "BITCOIN", "1d", NULL,
     4892, 0, 4863, 0, 29, "2013-01-01 00:00:00", "2026-05-24 00:00:00", 0},
    {"investing-com-ptbr-eudecimal/USD_BRL_Dados_Historicos.csv", "USDBRL", "1d", NULL,
     3168, 0, 3007, 0, 161, "2004-12-31 00:00:00", "2026-05-22 00:00:00", 0},
    {"investing-com-ptbr-eudecimal/XAU_USD_Dados_Historicos.csv", "XAUUSD", "1d", NULL,
     3485, 0, 3467, 0, 18, "2013-01-01 00:00:00", "2026-05-22 00:00:00", 0},
    {"kraken-ohlcvt/STORJUSD_60.csv", "STORJUSD", "1h", NULL,
     1508, 0, 1508, 0, 0, "2020-07-15 13:00:00", "2020-09-30 23:00:00", TRADES},
    {"kraken-ohlcvt/XBTUSD_60.csv", "XBTUSD", "1h", NULL,
     50378, 0, 50378, 0, 0, "2013-10-06 21:00:00", "2020-09-30 23:00:00", TRADES},
    {"stooq-daily/gld.us.txt", "GLD", "1d", NULL,
     5370, 0, 5370, 0, 0, "2005-02-25 00:00:00", "2026-07-02 00:00:00", 0},
    {"stooq-daily/qqq.us.txt", "QQQ", "1d", NULL,
     6870, 0, 6870, 0, 0, "1999-03-10 00:00:00", "2026-07-02 00:00:00", 0},
    {"stooq-daily/spy.us.txt", "SPY", "1d", NULL,
     5370, 0, 5370, 0, 0, "2005-02-25 00:00:00", "2026-07-02 00:00:00", 0},
    {"stooq-daily/vt.us.txt", "VT", "1d", NULL,
     4531, 0, 4531, 0, 0, "2008-06-26 00:00:00", "2026-07-02 00:00:00", 0},
    {"stooq-daily/wig20.txt", "WIG20", "1d", NULL,
     8388, 0, 8388, 0, 0, "1991-04-16 00:00:00", "2026-08-18 00:00:00", 0},
    {"yahoo-daily/AAPL.csv", "AAPL", "1d", NULL,
     6084, 0, 6084, 0, 0, "2000-01-03 00:00:00", "2024-03-08 00:00:00", 0},
    {"yahoo-daily/GOOG.csv", "GOOG", "1d", NULL,
     4922, 0, 4922, 0, 0, "2004-08-19 00:00:00", "2024-03-08 00:00:00", 0},
    {"yahoo-daily/JPM.csv", "JPM", "1d", NULL,
     6084, 0, 6084, 0, 0, "2000-01-03 00:00:00", "2024-03-08 00:00:00", 0},
    {"yahoo-daily/MSFT.csv", "MSFT", "1d", NULL,
     6084, 0, 6084, 0, 0, "2000-01-03 00:00:00", "2024-03-08 00:00:00", 0},
    {"yahoo-daily/NVDA.csv", "NVDA", "1d", NULL,
     6084, 0, 6084, 0, 0, "2000-01-03 00:00:00", "2024-03-08 00:00:00", 0},
    {"yahoo-daily/PSNY.csv", "PSNY", "1d", NULL,
     707, 0, 707, 0, 0, "2021-05-18 00:00:00", "2024-03-08 00:00:00", 0},
    {"yahoo-daily/XOM.csv", "XOM", "1d", NULL,
     6084, 0, 6084, 0, 0, "2000-01-03 00:00:00", "2024-03-08 00:00:00", 0},
    {"yahoo-style-daily-tz/AAPL.csv", "AAPL", "1d", NULL,
     1180, 0, 1180, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/GLD.csv", "GLD", "1d", NULL,
     1180, 0, 1180, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/GOOG.csv", "GOOG", "1d", NULL,
     1180, 0, 1180, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/JPM.csv", "JPM", "1d", NULL,
     1177, 0, 1177, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/MSFT.csv", "MSFT", "1d", NULL,
     1180, 0, 1180, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/NVDA.csv", "NVDA", "1d", NULL,
     1180, 0, 1180, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/PSNY.csv", "PSNY", "1d", NULL,
     698, 0, 698, 0, 0, "2022-06-24 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/QQQ.csv", "QQQ", "1d", NULL,
     1180, 0, 1180, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/SPY.csv", "SPY", "1d", NULL,
     1181, 0, 1181, 0, 0, "2018-11-01 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/USO.csv", "USO", "1d", NULL,
     1181, 0, 1181, 0, 0, "2020-04-21 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/VT.csv", "VT", "1d", NULL,
     1180, 0, 1180, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    {"yahoo-style-daily-tz/XOM.csv", "XOM", "1d", NULL,
     1177, 0, 1177, 0, 0, "2020-07-27 04:00:00", "2025-04-04 04:00:00", 0},
    /* New York wall time (EDT in August, UTC-4); SPY_1d is dates, which
     * stay at 00:00 UTC. SPY_1d repeats 2 dates, SPY_1h 60 hours. */
    {"yfinance-intraday/MSFT_1h.csv", "MSFT", "1h", "America/New_York",
     8320, 0, 8320, 0, 0, "2022-08-31 08:00:00", "2024-08-28 23:00:00", 0},
    {"yfinance-intraday/NVDA_1h.csv", "NVDA", "1h", "America/New_York",
     8320, 0, 8320, 0, 0, "2022-08-31 08:00:00", "2024-08-28 23:00:00", 0},
    {"yfinance-intraday/QQQ_1h.csv", "QQQ", "1h", "America/New_York",
     8609, 0, 8609, 0, 0, "2022-08-08 08:00:00", "2024-08-28 23:00:00", 0},
    {"yfinance-intraday/SPY_1d.csv", "SPY", "1d", "America/New_York",
     7954, 0, 7952, 2, 0, "1993-01-29 00:00:00", "2024-08-28 00:00:00", 0},
    {"yfinance-intraday/SPY_1h.csv", "SPY", "1h", "America/New_York",
     8786, 0, 8726, 60, 0, "2022-07-28 21:00:00", "2024-08-28 23:00:00", 0},
    {"yfinance-intraday/SPY_1m.csv", "SPY", "1m", "America/New_York",
     3746, 0, 3746, 0, 0, "2024-08-23 08:00:00", "2024-08-28 23:59:00", 0},
    {"yfinance-intraday/SPY_5m.csv", "SPY", "5m", "America/New_York",
     756, 0, 756, 0, 0, "2024-08-23 08:00:00", "2024-08-28 23:55:00", 0},
};

#define REAL_FILE_COUNT (sizeof real_files / sizeof real_files[0])


/* Reads, validates and checks one file; failures name the file. */
static void check_file(const char *root, const real_file *expected)
{
    ohlcx_read_options options = {NULL, NULL, OHLCX_BAD_ROWS_SKIP};
    ohlcx_layout_options layout = {NULL, expected->tz};
    ohlcx_read_report report;
    ohlcx_validation validation;
    ohlcx_series s;
    char path[2048], first[20], last[20];
    size_t repeated = 0;

    snprintf(path, sizeof path, "%s/%s", root, expected->file);
    ohlcx_series_init(&s);
    if (ohlcx_read_candles_ex(path, &options, &layout, &s, &report) != 0)
        fail_msg("%s: %s", expected->file, ohlcx_last_error());
    if (strcmp(s.symbol, expected->symbol) != 0 || strcmp(s.timeframe, expected->timeframe) != 0)
        fail_msg("%s: symbol %s timeframe %s, expected %s %s", expected->file, s.symbol,
                 s.timeframe, expected->symbol, expected->timeframe);
    if (s.n != expected->rows_read || report.bad_row_count != expected->bad_rows)
        fail_msg("%s: %zu rows read and %zu bad, expected %zu and %zu", expected->file, s.n,
                 report.bad_row_count, expected->rows_read, expected->bad_rows);
    if (s.extra != expected->extra)
        fail_msg("%s: optional columns %#x, expected %#x", expected->file, s.extra,
                 expected->extra);

    assert_int_equal(ohlcx_validate_basic(&s, &validation), 0);
    repeated = validation.dropped[OHLCX_DROP_DUPLICATE] + validation.dropped[OHLCX_DROP_CONFLICT];
    if (s.n != expected->rows_valid || repeated != expected->repeated ||
        ohlcx_validation_dropped(&validation) - repeated != expected->invalid)
        fail_msg("%s: %zu rows valid, %zu repeated, %zu invalid; expected %zu, %zu, %zu",
                 expected->file, s.n, repeated, ohlcx_validation_dropped(&validation) - repeated,
                 expected->rows_valid, expected->repeated, expected->invalid);
    ohlcx_format_datetime(s.open_time[0], first);
    ohlcx_format_datetime(s.open_time[s.n - 1], last);
    if (strcmp(first, expected->first) != 0 || strcmp(last, expected->last) != 0)
        fail_msg("%s: open times %s .. %s, expected %s .. %s", expected->file, first, last,
                 expected->first, expected->last);

    ohlcx_series_free(&s);
    ohlcx_read_report_free(&report);
}


static int is_listed(const char *relative)
{
    for (size_t i = 0; i < REAL_FILE_COUNT; i++)
        if (strcmp(real_files[i].file, relative) == 0)
            return 1;
    return 0;
}


/* Counts the files in the folders and fails on any the table lacks. */
static size_t count_files_on_disk(const char *root)
{
    DIR *top = opendir(root);
    struct dirent *folder = NULL;
    size_t count = 0;

    if (top == NULL)
        fail_msg("cannot open %s", root);
    while ((folder = readdir(top)) != NULL) {
        char folder_path[2048];
        struct dirent *entry = NULL;
        DIR *inner = NULL;

        if (folder->d_name[0] == '.')
            continue;
        snprintf(folder_path, sizeof folder_path, "%s/%s", root, folder->d_name);
        inner = opendir(folder_path);
        if (inner == NULL)
            continue; /* a file at the top, such as the provenance notes */
        while ((entry = readdir(inner)) != NULL) {
            char relative[600];

            if (entry->d_name[0] == '.')
                continue;
            snprintf(relative, sizeof relative, "%s/%s", folder->d_name, entry->d_name);
            if (!is_listed(relative))
                fail_msg("%s is not in the table of expected values", relative);
            count++;
        }
        closedir(inner);
    }
    closedir(top);
    return count;
}


static const char *real_root_or_skip(char *buffer, size_t size)
{
    const char *root = real_data_folder(buffer, size);
    DIR *check = opendir(root);

    if (check == NULL) {
        if (real_data_is_required())
            fail_msg("real data folder %s not found and OHLCX_REQUIRE_REAL_DATA is set", root);
        return NULL;
    }
    closedir(check);
    return root;
}


static void real_files_listed(void **state)
{
    char buffer[2048];
    const char *root = real_root_or_skip(buffer, sizeof buffer);

    (void)state;
    if (root == NULL)
        skip();
    assert_int_equal(REAL_FILE_COUNT, 84);
    assert_int_equal(count_files_on_disk(root), REAL_FILE_COUNT);
}


static void real_files_read(void **state)
{
    char buffer[2048];
    const char *root = real_root_or_skip(buffer, sizeof buffer);

    (void)state;
    if (root == NULL)
        skip();
    for (size_t i = 0; i < REAL_FILE_COUNT; i++)
        check_file(root, &real_files[i]);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_files_listed),
        cmocka_unit_test(real_files_read),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
