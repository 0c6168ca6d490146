/*
 * Synth: a deterministic synthetic universe of candle files.
 *
 * Each (symbol, timeframe) series is a random walk of log prices with GARCH(1,1)
 * volatility clustering and an intraday U-shaped volume profile. Symbols
 * ending in a crypto quote (USDT, ...) trade around the clock; others are
 * stocks and trade only 09:30 to 16:00 New York time on weekdays, written as
 * 14:30 to 21:00 UTC (New York standard time all year).
 *
 * Planted signal (planted > 0.5): every bar gets a wick shape, a long upper
 * wick (U) or a long lower wick (L), independent of its close. A bullish
 * shape ends at bar t when bars t-1, t are U, L; a bearish one when they are
 * L, U, so a shape ends at about half of all bars. After a bullish shape bar
 * t+1 closes up with probability `planted`, after a bearish one down with
 * probability `planted`; elsewhere up and down are equally likely. The up
 * rate stays near 0.5, close-to-close returns keep no autocorrelation, and
 * the close-based indicators see nothing of the shapes. With planted = 0.9
 * the best possible accuracy is about 0.5 * 0.9 + 0.5 * 0.5 = 0.70.
 *
 * Files are Binance kline CSV with a header, 12 columns, open time in epoch
 * milliseconds, named SYMBOL-TIMEFRAME.csv.
 */
#ifndef OHLCX_SYNTH_H
#define OHLCX_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/series.h"

typedef struct ohlcx_synth_options {
    int months;       /* length of every series, default 20 */
    uint64_t seed;    /* default 42 */
    double planted;   /* probability P of the planted signal, 0 for none */
    int64_t start_us; /* open time of the first bar, default 2024-01-01 UTC */
} ohlcx_synth_options;

void ohlcx_synth_options_default(ohlcx_synth_options *options);

/* Generates one series. The same symbol, timeframe and options always give
 * the same bars. */
int ohlcx_synth_series(const char *symbol, const char *timeframe,
                       const ohlcx_synth_options *options, ohlcx_series *out);

/* Writes series to path as Binance kline CSV with a header. */
int ohlcx_write_binance_csv(const ohlcx_series *series, const char *path);

#endif
