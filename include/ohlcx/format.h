/*
 * Format: reading candle files into series.
 *
 * Input is plain text, gzip or zstd (recognised by the first bytes, not the
 * name), read in 1 MiB chunks, so memory does not grow with the file beyond
 * the series. Comma, semicolon and tab separated text and freqtrade JSON
 * are recognised from the first lines:
 *   - Binance kline CSV, 12 columns (open time, OHLCV, close time, quote
 *     volume, trade count, taker buy base and quote volume, ignore) or 11
 *     (without ignore), with or without a header. The open time is epoch
 *     seconds, milliseconds, microseconds or nanoseconds (distinguished per
 *     value by magnitude) or a datetime string.
 *   - time,open,high,low,close,volume with a datetime or epoch time, with or
 *     without a header; headerless Kraken OHLCVT (time, OHLCV, trades) and
 *     MetaTrader 4 (date, time, OHLC, tick volume).
 *   - Binance klines labelled by close time with a UTC offset
 *     (open,...,close_datetime): the open time is derived from the close time.
 *   - Yahoo Finance and yfinance CSV (Date or Datetime, Open, High, Low,
 *     Close, Adj Close, Volume; a leading unnamed index column is skipped).
 *   - Finam and Stooq (<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,...,<VOL>),
 *     MetaTrader 5 (DATE, TIME, OPEN, ..., TICKVOL, VOL, SPREAD; TICKVOL is
 *     the volume), CryptoDataDownload (a URL banner above the header; Volume
 *     BTC is the volume and Volume USDT the quote volume), investing.com in
 *     English and pt-BR ("Price" or "Último" is the close; "12,084.30",
 *     "76.761,5", "46,88K"; an empty or "-" volume reads as 0).
 *   - freqtrade JSON: [[ms, open, high, low, close, volume], ...].
 * Header names are matched after folding case and accents, so "Open Time",
 * "open_time" and "<OPEN>" work alike. Quoted fields may contain the
 * delimiter. Dates are YYYY-MM-DD, YYYY.MM.DD, YYYYMMDD, DD.MM.YYYY,
 * MM/DD/YYYY (DD/MM/YYYY when a first part above 12 shows it), "Mar 08,
 * 2024", optionally with a time (HH:MM[:SS[.f]], 12-hour forms) and a zone
 * (Z, UTC, +01:00), or a date column next to a time-of-day column
 * (20220103 and 100000 or 10:00). Times without a zone are UTC unless the
 * tz option names the zone they are in; dates without a time of day stay
 * at 00:00 UTC. Rows keep file order (newest-first files too);
 * ohlcx_validate_basic() sorts them.
 *
 * Quote volume, trade count and taker buy volumes, where a file has them,
 * fill the series' optional columns (ohlcx_series.extra).
 *
 * Symbol and timeframe come from the file name unless the options give
 * them: BTCUSDT-1h.csv, BTCUSDT_15m_2024.csv, Binance_BTCUSDT_1h.csv and
 * Binance_BTCUSDT_d.csv (an exchange prefix is dropped), XBTUSD_60.csv
 * (Kraken minutes), EURUSD60.csv (MetaTrader minutes), EURUSD_H1.csv,
 * BTC_USDT-1d-futures.json (BTC_USDT becomes BTCUSDT), spy.us.txt (Stooq,
 * SPY), DAX_Historical_Data.csv (DAX). A .gz or .zst suffix is ignored and
 * symbols are upper-cased. A file name without a timeframe takes the
 * timeframe from the median spacing of its open times.
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

/*
 * Layout and time-zone options for ohlcx_read_candles_ex(). They are a
 * struct of their own because callers initialise ohlcx_read_options
 * positionally, which -Wextra rejects once the struct gains fields.
 *
 * columns: a layout for files that detection gets wrong or cannot read, as
 * comma-separated key=value pairs. A column is a 0-based index or a header
 * name (matched exactly, else after folding case and accents):
 *   time=C        open time (datetime or epoch); with date=, the time of day
 *   date=C        date, or date and time in one column
 *   close_time=C  bar close time instead of an open time
 *   open=C high=C low=C close=C   required
 *   volume=C      optional; without it every volume is 0
 *   quote_volume=C trades=C taker_buy_base=C taker_buy_quote=C   optional
 *   delimiter=X   one character, or comma, semicolon, tab, pipe, space
 *   decimal=X     ',' or '.'; sniffed from the values when absent
 *   header=yes|no sniffed when absent (names imply a header)
 *   time_format=P a strftime-style pattern for the time column, or for the
 *                 date column, one space and the time column: %Y %y %m %d
 *                 %b (month name) %H %I %M %S %f (fraction digits) %p
 *                 (AM/PM) %z (zone) %%; a space matches one or more blanks
 * A pair ends at a comma followed by a lower-case word and '=', so values
 * may contain other commas. Examples:
 *   "date=0,time=1,open=2,high=3,low=4,close=5,volume=6,delimiter=;"
 *   "time=Date,open=Open,high=High,low=Low,close=Close,time_format=%d/%m/%Y"
 * The mapping applies to delimited text; with a JSON file it fails with
 * OHLCX_EINVAL.
 *
 * tz: the IANA zone (Europe/Berlin, America/New_York) of times that carry
 * no offset, converted to UTC with the zone's rules from
 * /usr/share/zoneinfo. An unknown zone fails with OHLCX_EINVAL naming it.
 */
typedef struct ohlcx_layout_options {
    const char *columns; /* layout mapping (above); NULL to detect it */
    const char *tz;      /* zone of times without an offset; NULL for UTC */
} ohlcx_layout_options;

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
 * is left empty and the one-line error message names the file, line and
 * column, or, when the layout is unknown, the columns found and a columns
 * option that would map them. Returns 0, OHLCX_EINVAL (options),
 * OHLCX_EIO (open, read, decompress), OHLCX_EFORMAT (layout, bad row),
 * OHLCX_EDATA (no rows, no timeframe) or OHLCX_ENOMEM. */
int ohlcx_read_candles(const char *path, const ohlcx_read_options *options,
                       ohlcx_series *out, ohlcx_read_report *report);

/* Reads like ohlcx_read_candles() with a columns mapping and a time zone;
 * layout may be NULL, and so may either of its fields. */
int ohlcx_read_candles_ex(const char *path, const ohlcx_read_options *options,
                          const ohlcx_layout_options *layout, ohlcx_series *out,
                          ohlcx_read_report *report);

/* Reads like ohlcx_read_candles_ex() and parses the rows of delimited text
 * on up to threads threads, the calling thread included, for one large
 * file. The series, the report and any error are the same as with one
 * thread. JSON files and files read with a tz option take one thread, and
 * so does threads <= 1. Each thread adds two 1 MiB buffers of the file and
 * the rows parsed from them (about 4 MiB for Binance klines), so memory
 * grows with the file only in out. */
int ohlcx_read_candles_parallel(const char *path, const ohlcx_read_options *options,
                                const ohlcx_layout_options *layout, int threads,
                                ohlcx_series *out, ohlcx_read_report *report);

/* Reads like ohlcx_read_candles_parallel() and also writes the BLAKE3 of
 * the file (64 hex digits and a NUL) to blake3, hashed from the bytes the
 * reader reads, so that the file is read once instead of twice. blake3 is
 * the empty string when the file is gzip or zstd, because the reader gets
 * only the decompressed bytes, or when the read stopped before the end of
 * the file. The caller hashes such a file itself. */
int ohlcx_read_candles_digest(const char *path, const ohlcx_read_options *options,
                              const ohlcx_layout_options *layout, int threads,
                              ohlcx_series *out, ohlcx_read_report *report, char blake3[65]);

/* Reads like ohlcx_read_candles_digest(), and hashes every file: blake3 gets
 * the BLAKE3 of the file's bytes as stored (the compressed bytes of a gzip
 * or zstd file, and any bytes after the parsed rows) and *size their count.
 * The digest is taken from the same open file that the parse read, so it
 * names the parsed bytes even when another file is renamed over path
 * meanwhile. The read succeeds with blake3 "" and *size 0 when the file
 * changed while it was read (it grew or shrank, or a gzip file was
 * rewritten), so that the caller can reject the bars. A gzip file is read
 * twice: once to decode it, once to hash it. */
int ohlcx_read_candles_file_digest(const char *path, const ohlcx_read_options *options,
                                   const ohlcx_layout_options *layout, int threads,
                                   ohlcx_series *out, ohlcx_read_report *report,
                                   char blake3[65], int64_t *size);

/* Receives the next rows of a streamed file in file order: rows is named
 * (symbol, timeframe, asset class, source path) and has the file's optional
 * columns. The sink may change the rows; the reader empties the series when
 * it returns. A nonzero return stops the read, which returns it. */
typedef int (*ohlcx_rows_sink)(void *arg, ohlcx_series *rows);

/* Reads like ohlcx_read_candles_file_digest() with one thread, but passes
 * the rows to sink in batches of about batch_rows instead of keeping them,
 * so memory does not grow with the file. rows is the series that carries
 * the batches (initialised by the caller, freed by it). Returns
 * OHLCX_WHOLE_SERIES (include/ohlcx/error.h) before reading any row when
 * the file cannot be streamed: JSON rows, or a timeframe that only the
 * open times would tell (neither the options nor the file name give it). */
int ohlcx_read_candles_stream(const char *path, const ohlcx_read_options *options,
                              const ohlcx_layout_options *layout, size_t batch_rows,
                              ohlcx_rows_sink sink, void *arg, ohlcx_series *rows,
                              ohlcx_read_report *report, char blake3[65], int64_t *size);

/*
 * Read-ahead of a streamed file from a second thread. A streamed file that
 * is not compressed and has at least 1 MiB is read through a mapping, whose
 * pages the parse faults in as it reaches them: about a tenth of the read's
 * time on a 113 MB file. A thread that waits for the batches of such a read
 * can fault the pages in ahead of it with ohlcx_read_ahead_step() instead,
 * and the reading thread then spends that time parsing.
 */
typedef struct ohlcx_read_ahead ohlcx_read_ahead;

/* Returns 0, or OHLCX_ENOMEM. */
int ohlcx_read_ahead_create(ohlcx_read_ahead **out);

/* Faults in up to 512 KiB of the file that the read attached to ahead has
 * mapped, within 4 MiB after the bytes it has reached. Returns 1 when it
 * did, 0 when there is nothing to do: ahead is NULL, no mapped read is
 * attached, the pages are in already, or the kernel cannot do it (before
 * Linux 5.14). Any thread may call it at any time. A page that another
 * program cut off the file makes the kernel's MADV_POPULATE_READ fail with
 * EFAULT instead of raising SIGBUS, and the read then fails as it would
 * alone. */
int ohlcx_read_ahead_step(ohlcx_read_ahead *ahead);

/* Frees ahead, which no read may still use. */
void ohlcx_read_ahead_free(ohlcx_read_ahead *ahead);

/* Reads like ohlcx_read_candles_stream() and lets another thread fault the
 * mapped file in ahead of the parse with ahead (see ohlcx_read_ahead_step();
 * NULL for none). One read at a time may use an ahead. */
int ohlcx_read_candles_stream_ahead(const char *path, const ohlcx_read_options *options,
                                    const ohlcx_layout_options *layout, size_t batch_rows,
                                    ohlcx_rows_sink sink, void *arg, ohlcx_read_ahead *ahead,
                                    ohlcx_series *rows, ohlcx_read_report *report,
                                    char blake3[65], int64_t *size);

/* Returns 1 when the file starts as gzip or zstd data, which the readers
 * decompress whatever its name, and 0 otherwise or when it cannot be read. */
int ohlcx_file_is_compressed(const char *path);

/* Frees the list in a report filled by ohlcx_read_candles(). */
void ohlcx_read_report_free(ohlcx_read_report *report);

/* Takes the symbol and canonical timeframe from a file name. symbol gets
 * OHLCX_SYMBOL_MAX bytes and timeframe OHLCX_TIMEFRAME_MAX; timeframe is ""
 * when the name has none. */
int ohlcx_parse_file_name(const char *path, char *symbol, char *timeframe);

/* Parses an ISO 8601 datetime ("YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.f]]" or
 * the same with "T", optionally followed by Z, UTC or an offset such as
 * +01:00; text without one is UTC) into UTC microseconds. Returns 0, or
 * OHLCX_EFORMAT without setting the error message. */
int ohlcx_parse_datetime(const char *text, size_t length, int64_t *out_us);

/* Writes open_time as "YYYY-MM-DD HH:MM:SS" UTC into out (20 bytes). */
void ohlcx_format_datetime(int64_t time_us, char out[20]);

#endif
