/*
 * Format: reading candle files into series.
 *
 * Supported layouts, recognised from the header row or, without one, from the
 * field count and the values:
 *   - Binance kline CSV, 12 columns (open time, OHLCV, close time, quote
 *     volume, trade count, taker buy base and quote volume, ignore) or 11
 *     (without ignore), with or without a header, open time as epoch
 *     milliseconds or microseconds (told apart per value by magnitude) or as a
 *     datetime string; extra text columns such as a second UTC datetime are
 *     skipped by name.
 *   - timestamp,open,high,low,close,volume with a datetime or epoch time.
 *   - Binance klines labelled by close time with a UTC offset
 *     (open,...,close_datetime): the open time is derived from the close time.
 *   - Yahoo Finance daily CSV: Date,Open,High,Low,Close,Adj Close,Volume, with
 *     a plain date or a datetime with a UTC offset.
 * Datetime strings are "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.ffffff]]" or the
 * same with a "T" separator, optionally followed by "Z", " UTC" or an offset
 * such as "+01:00". Strings without an offset are read as UTC.
 *
 * Symbol and timeframe come from the file name (BTCUSDT-1h.csv,
 * BTCUSDT_1h.csv, BTCUSDT_15m_2024.csv, BTCUSDT-1h-2022-01.csv,
 * BTCUSDT_240m.csv) unless the options give them. A file name without a
 * timeframe (GOOG.csv) takes the timeframe from the median spacing of its
 * open times.
 */
#ifndef OHLCX_FORMAT_H
#define OHLCX_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/series.h"

enum ohlcx_bad_rows_policy {
    OHLCX_BAD_ROWS_FAIL = 0, /* the first unparseable row stops the read */
    OHLCX_BAD_ROWS_SKIP = 1, /* unparseable rows are dropped and listed */
};

typedef struct ohlcx_read_options {
    const char *symbol;    /* overrides the file name; NULL to use it */
    const char *timeframe; /* overrides the file name; NULL to use it */
    int bad_rows;          /* enum ohlcx_bad_rows_policy */
} ohlcx_read_options;

/* One row dropped under OHLCX_BAD_ROWS_SKIP. */
typedef struct ohlcx_bad_row {
    size_t line; /* 1-based line number in the file */
    char reason[160];
} ohlcx_bad_row;

typedef struct ohlcx_read_report {
    size_t lines;          /* physical lines in the file, header included */
    size_t rows_read;      /* data rows parsed into the series */
    size_t bad_row_count;  /* rows dropped under OHLCX_BAD_ROWS_SKIP */
    ohlcx_bad_row *bad_rows; /* the first OHLCX_BAD_ROWS_LISTED of them */
    char layout[48];       /* layout found, such as "binance-kline-12" */
} ohlcx_read_report;

#define OHLCX_BAD_ROWS_LISTED 100

/* Reads one candle file into out, which must be initialised. On failure out
 * is left empty and the error message names the file, line and column (or
 * the columns found, when the layout is unknown). */
int ohlcx_read_candles(const char *path, const ohlcx_read_options *options,
                       ohlcx_series *out, ohlcx_read_report *report);

/* Frees the list in a report filled by ohlcx_read_candles(). */
void ohlcx_read_report_free(ohlcx_read_report *report);

/* Takes the symbol and canonical timeframe from a file name. symbol gets
 * OHLCX_SYMBOL_MAX bytes and timeframe OHLCX_TIMEFRAME_MAX; timeframe is ""
 * when the name has none. */
int ohlcx_parse_file_name(const char *path, char *symbol, char *timeframe);

/* Parses a datetime string (layouts above) into UTC microseconds. Returns 0,
 * or OHLCX_EFORMAT without setting the error message. */
int ohlcx_parse_datetime(const char *text, size_t length, int64_t *out_us);

/* Writes open_time as "YYYY-MM-DD HH:MM:SS" UTC into out (20 bytes). */
void ohlcx_format_datetime(int64_t time_us, char out[20]);

#endif
