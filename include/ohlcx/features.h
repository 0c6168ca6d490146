/*
 * Features: causal per-bar indicators and the CNN's input windows.
 *
 * Every value at bar t uses bars 0..t only. Indicators are scale-free (log
 * returns, ratios to the close), so series of different prices share one
 * model. Before an indicator has enough history its value is NaN; from bar
 * OHLCX_FEATURE_WARMUP on, every feature is finite for a valid series.
 *
 * Feature columns, in order:
 *   ret_1, ret_5, ret_20   log(close[t] / close[t-k])
 *   volatility_20          standard deviation of the last 20 ret_1 values
 *   rsi_14                 Wilder's RSI over 14 bars, in [0, 100]
 *   macd, macd_signal,     EMA(12) - EMA(26) of the close, its EMA(9), and
 *   macd_hist              their difference, each divided by close[t]
 *   bb_pctb_20             Bollinger %b: (close - lower) / (upper - lower)
 *                          with bands at the 20-bar mean +- 2 standard
 *                          deviations (0.5 when the band has zero width)
 *   atr_14                 Wilder's average true range over 14 bars / close
 *   volume_z_20            z-score of log(1 + volume) against the previous
 *                          20 bars (0 when they have zero spread)
 *
 * Windows: for bar t and window W, the CNN input is 5 channels of W values
 * for bars t-W+1..t: log(open/prev_close), log(high/prev_close),
 * log(low/prev_close), log(close/prev_close) and log((1 + volume) /
 * (1 + prev_volume)), where prev is the bar before each. The four price
 * channels are divided by one shared scale, the root mean square of the close
 * channel in the window (1 when that is 0), so that their order (low <= open,
 * close <= high) is kept. The volume channel is standardised on its own to
 * mean 0 and population standard deviation 1 in the window (all 0 when it has
 * zero spread). A window needs t >= W.
 */
#ifndef OHLCX_FEATURES_H
#define OHLCX_FEATURES_H

#include <stddef.h>

#include "ohlcx/series.h"

#define OHLCX_FEATURE_COUNT 11
/* Every feature is defined from this bar on (the MACD signal, the last to
 * start, is defined from bar 33). */
#define OHLCX_FEATURE_WARMUP 34
#define OHLCX_WINDOW_CHANNELS 5

/* Returns the name of feature column i (0 <= i < OHLCX_FEATURE_COUNT), or
 * NULL for any other i. */
const char *ohlcx_feature_name(int i);

/* Computes every feature for every bar of series into out, a row-major
 * series->n x OHLCX_FEATURE_COUNT array that the caller allocates. Fails with
 * OHLCX_EDATA, naming the bar, when a price is not finite and positive or a
 * volume is not finite and non-negative. */
int ohlcx_features_compute(const ohlcx_series *series, float *out);

/* Fills out (OHLCX_WINDOW_CHANNELS x window floats, channel-major) with the
 * normalised window that ends at bar t. Requires window <= t < series->n,
 * else fails with OHLCX_EINVAL. Allocates nothing and does not check the
 * prices: a bar that fails ohlcx_features_compute's check gives NaN or inf. */
int ohlcx_window_fill(const ohlcx_series *series, size_t t, int window,
                      float *out);

#endif
