/*
 * Synth: a deterministic synthetic universe of candle files.
 *
 * Each (symbol, timeframe) series is a random walk of log prices with GARCH(1,1)
 * volatility clustering and an intraday volume profile. The asset class
 * picks the bar calendar (enum ohlcx_synth_calendar); it is the class that
 * options.asset_class names, else the one that ohlcx_asset_class_guess()
 * reads from the symbol. Crypto trades around the clock. Forex trades the
 * forex week of `ohlcx check`: from Sunday 17:00 to Friday 17:00 New York
 * time, closed on December 25 and January 1 (and on the Monday after when
 * either falls on a Sunday). Stocks, indices, commodities and bonds trade
 * 09:30 to 16:00 New York time on NYSE trading days, with no weekends or
 * exchange holidays. That is 13:30 to 20:00 UTC under daylight saving time
 * and 14:30 to 21:00 UTC otherwise.
 *
 * Planted signal (planted > 0.5): the bars form consecutive pairs from the
 * first bar on, and every pair is a wick shape. The first bar of a pair gets
 * a long upper wick (U) or a long lower wick (L) at random, and the second
 * bar the other one; neither depends on the bar's close. A pair U, L is a
 * bullish shape and L, U a bearish one, so a shape ends at every second
 * bar. Reading OHLC alone, bar t ends a shape when its wick type differs
 * from bar t-1's and bar t-1 did not end one. After a bullish shape bar t+1
 * closes up with probability `planted`, after a bearish one down with
 * probability `planted`; elsewhere up and down are equally likely, and the
 * size of every return is the walk's own.
 *
 * Shapes do not overlap because overlapping shapes (U, L, U) always point
 * in opposite directions. Forcing the return after both would make
 * consecutive returns negatively correlated (about -0.11 at P = 0.9 with
 * independent wick types), and closes alone would reveal the signal. With
 * pairs, the direction of each shape is a fresh coin, so the up rate stays
 * near 0.5, past closes say nothing about the next sign, and the
 * close-based indicators see nothing of the shapes. With planted = 0.9 the
 * best possible accuracy is about 0.5 * 0.9 + 0.5 * 0.5 = 0.70. With
 * planted 0 each wick is drawn from the same mix of long and short lengths.
 *
 * Planted daily signal (planted_daily = Q > 0.5, only with planted): it
 * acts on the bars that the shapes leave free, the second bar of each
 * pair. Let t be the first bar of a pair and D the UTC day in which bar
 * t + 1 opens. Let s be the sign of the close-to-close return of the last
 * completed day before D: its last close against the last close of the day
 * before it, skipping UTC days with no bars. Bar t + 1 closes in the
 * direction s times the sign of bar t's own close-to-close return with
 * probability Q: after an up day it continues bar t's move, after a down
 * day it reverses it. It is a fair coin when s or bar t's sign is 0 or
 * fewer than two days have completed. The rule reads only closes before
 * bar t + 1 opens, so no future data. As bar t's sign is a fair coin, the
 * rule adds no drift and the sign of a day's return stays a fair coin. A
 * window of recent bars shows s only indirectly, through how earlier pairs
 * of the day moved. A model that gets the daily return (ohlcx run --higher
 * 1d) and the last return reads it directly. With P = Q = 0.9 the best
 * possible accuracy is about 0.5 * 0.9 + 0.5 * 0.9 = 0.90.
 *
 * Intraday stock bars open at the session open + k * timeframe before the
 * close, so the last one of a day may be shorter (seven 1h bars, the last
 * 30 minutes). Intraday crypto and forex bars open on the timeframe's grid
 * from 1970-01-01 00:00 UTC. A forex bar exists when its period overlaps the
 * forex week, so a 4h bar at 20:00 UTC opens the week whether the week
 * starts at 21:00 UTC (New York daylight saving time) or at 22:00 UTC.
 * Daily and longer bars are labelled by the start of their period (00:00
 * UTC for 1d). A forex 1d bar carries the date of its trading day. The bar
 * labelled D 00:00 UTC covers 17:00 New York on the day before D to 17:00
 * on D. It exists from Monday to Friday except on the forex holidays, as
 * `ohlcx check` expects on its forex calendar.
 *
 * Files are Binance kline CSV with a header, 12 columns, open time in epoch
 * milliseconds, named SYMBOL-TIMEFRAME.csv.
 */
#ifndef OHLCX_SYNTH_H
#define OHLCX_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/series.h"

/* Bar calendars of synthetic series. */
enum ohlcx_synth_calendar {
    OHLCX_SYNTH_ALWAYS = 0,    /* crypto: every bar of the timeframe's grid */
    OHLCX_SYNTH_FOREX_WEEK,    /* forex: Sunday 17:00 to Friday 17:00 New York */
    OHLCX_SYNTH_STOCK_SESSION  /* stocks, indices, commodities, bonds: NYSE session */
};

/* Value of ohlcx_synth_options.asset_class that guesses the class from the
 * symbol. */
#define OHLCX_SYNTH_GUESS_CLASS (-1)

typedef struct ohlcx_synth_options {
    int months;       /* length of every series, default 20 */
    uint64_t seed;    /* default 42 */
    double planted;   /* probability P in (0.5, 1] of the planted signal, 0 for none */
    double planted_daily; /* probability Q in (0.5, 1] of the planted daily signal, 0
                           * for none; needs planted */
    int64_t start_us; /* bars open at or after it, default 2024-01-01 00:00 UTC */
    int asset_class;  /* enum ohlcx_asset_class, which picks the calendar and the
                       * price profile; default OHLCX_SYNTH_GUESS_CLASS */
} ohlcx_synth_options;

void ohlcx_synth_options_default(ohlcx_synth_options *options);

/* Returns the enum ohlcx_synth_calendar of an enum ohlcx_asset_class; an
 * unknown class gets the stock session. */
int ohlcx_synth_calendar_of(int asset_class);

/* Generates one series into out, which must be initialised; its old bars are
 * freed, and on failure it is left empty. The same symbol, timeframe (or an
 * alias of it) and options always give the same bars. options NULL uses the
 * defaults. The series' asset_class is the class used. Returns
 * OHLCX_EINVAL for an invalid name, option or asset class and
 * OHLCX_EDATA when no bar opens in the period. */
int ohlcx_synth_series(const char *symbol, const char *timeframe,
                       const ohlcx_synth_options *options, ohlcx_series *out);

/* Writes series to path as Binance kline CSV with a header. Prices and
 * volumes read back as the same doubles; close_time, quote volume, trade
 * count and taker volumes are derived from the bar. Returns OHLCX_EIO when
 * the file cannot be written. */
int ohlcx_write_binance_csv(const ohlcx_series *series, const char *path);

#endif
