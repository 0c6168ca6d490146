/*
 * Series: the in-memory form of one (symbol, timeframe) candle series.
 *
 * A series is a set of columns of equal length n. Row i is the bar that opens
 * at open_time[i] (int64 microseconds since the Unix epoch, UTC) and covers
 * [open_time[i], open_time[i] + timeframe). After ohlcx_validate_basic() the
 * rows are sorted by open time with no duplicate open times.
 *
 * Timeframes use the ccxt names 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w
 * 1M 3M, where m is minutes and M is calendar months.
 */
#ifndef OHLCX_SERIES_H
#define OHLCX_SERIES_H

#include <stddef.h>
#include <stdint.h>

#define OHLCX_US_PER_SECOND INT64_C(1000000)
#define OHLCX_US_PER_MINUTE (60 * OHLCX_US_PER_SECOND)
#define OHLCX_US_PER_HOUR (60 * OHLCX_US_PER_MINUTE)
#define OHLCX_US_PER_DAY (24 * OHLCX_US_PER_HOUR)

#define OHLCX_SYMBOL_MAX 32
#define OHLCX_TIMEFRAME_MAX 8
#define OHLCX_PATH_MAX 1024

enum ohlcx_asset_class {
    OHLCX_ASSET_CRYPTO = 0,
    OHLCX_ASSET_STOCKS,
    OHLCX_ASSET_FOREX,
    OHLCX_ASSET_INDICES,
    OHLCX_ASSET_COMMODITIES,
    OHLCX_ASSET_BONDS,
    OHLCX_ASSET_COUNT
};

/* Bits of the flags column. */
enum ohlcx_bar_flag {
    OHLCX_FLAG_REPAIRED = 1u << 0,
    OHLCX_FLAG_SYNTHETIC = 1u << 1,
    OHLCX_FLAG_PARTIAL = 1u << 2,
};

/* Optional columns that a source may have, as bits of ohlcx_series.extra. */
enum ohlcx_extra_column {
    OHLCX_EXTRA_QUOTE_VOLUME = 1u << 0, /* volume in the quote currency */
    OHLCX_EXTRA_TRADES = 1u << 1,       /* number of trades */
    OHLCX_EXTRA_TAKER_BASE = 1u << 2,   /* taker buy volume, base currency */
    OHLCX_EXTRA_TAKER_QUOTE = 1u << 3,  /* taker buy volume, quote currency */
};

#define OHLCX_EXTRA_COUNT 4

typedef struct ohlcx_series {
    char symbol[OHLCX_SYMBOL_MAX];
    char timeframe[OHLCX_TIMEFRAME_MAX]; /* canonical name, such as "15m" */
    int asset_class;                     /* enum ohlcx_asset_class */
    char source_path[OHLCX_PATH_MAX];    /* file the bars were read from */
    size_t n;                            /* rows in every column */
    size_t capacity;                     /* rows allocated in every column */
    int64_t *open_time;
    double *open;
    double *high;
    double *low;
    double *close;
    double *volume;
    uint8_t *flags; /* enum ohlcx_bar_flag bits */
    unsigned extra; /* enum ohlcx_extra_column bits of the columns present */
    /* Optional columns, indexed by the bit position in enum
     * ohlcx_extra_column; NULL when absent. */
    double *extra_column[OHLCX_EXTRA_COUNT];
} ohlcx_series;

/* Initialises an empty series; every pointer is NULL. */
void ohlcx_series_init(ohlcx_series *series);

/* Frees the columns and resets the series to empty. */
void ohlcx_series_free(ohlcx_series *series);

/* Grows every column to hold at least capacity rows. */
int ohlcx_series_reserve(ohlcx_series *series, size_t capacity);

/* Adds the optional columns in the bit set extra, sized to the capacity
 * and filled with NaN for existing rows. */
int ohlcx_series_add_extra(ohlcx_series *series, unsigned extra);

/* Returns the snake_case name of optional column i ("quote_volume",
 * "trades", "taker_buy_base", "taker_buy_quote"). */
const char *ohlcx_extra_name(int i);

/* Appends one bar with flags 0, growing the columns as needed. Optional
 * columns present get NaN; the caller fills them. */
int ohlcx_series_append(ohlcx_series *series, int64_t open_time, double open,
                        double high, double low, double close, double volume);

/* Parses a timeframe name or alias (60m, 240m, 1mo, H1, M15, D1, D, W, ...)
 * into its canonical name, written to out (OHLCX_TIMEFRAME_MAX bytes).
 * Case matters only where it must: "1m" is a minute and "1M" a month. */
int ohlcx_timeframe_parse(const char *text, char *out);

/* Returns the nominal length of a canonical timeframe in microseconds, or 0
 * for an unknown name. Months count as 30 days and quarters as 91 days; use
 * these only for estimates, never to place bar boundaries. */
int64_t ohlcx_timeframe_us(const char *timeframe);

/* Returns the calendar months of one bar: 1 for 1M, 3 for 3M, else 0. */
int ohlcx_timeframe_months(const char *timeframe);

/* Returns a small stable id for a canonical timeframe (its position in the
 * list above, 0 for 1m), or -1 for an unknown name. */
int ohlcx_timeframe_id(const char *timeframe);

/* Returns the asset class guessed from a symbol: names ending in a crypto
 * quote currency (USDT, USDC, BUSD, BTC, ETH) or containing "USD" after a
 * crypto base are crypto, six-letter currency pairs are forex, the rest
 * stocks. */
int ohlcx_asset_class_guess(const char *symbol);

/* Returns the lower-case name of an asset class ("crypto", "stocks", ...). */
const char *ohlcx_asset_class_name(int asset_class);

#endif
