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
 *
 * Higher-timeframe features: a row of a lower (finer) series can carry the
 * same 11 features of each of several higher (coarser) timeframes, such as
 * 1h, 4h and 1d on a 15m series. Higher bar k closes at open_time[k] + its
 * timeframe, or on the first day of the next month or quarter for 1M and
 * 3M. A 1d bar that does not open at 00:00 UTC is a session day, taken to
 * close 25 hours after its open (the longest session day). Lower row t is known at its own close,
 * open_time[t] + the lower timeframe. Row t gets the features of the latest
 * higher bar that has closed by then (close <= row t's close), computed on
 * the higher series alone. A higher bar therefore joins at the lower row
 * that ends exactly when it closes, never earlier, and a still-open higher
 * bar never joins, so row t's values do not change when data after its
 * close is added. After a gap in the higher series a row keeps the latest
 * closed bar's values, however old. Rows before the first higher bar closes
 * are NaN, as are the higher features' own warm-up values (the first
 * OHLCX_FEATURE_WARMUP higher bars); XGBoost treats NaN as missing.
 *
 * Column names are the feature names behind a prefix made of the
 * timeframe's unit and count: m15_, h1_, h4_, d1_, w1_, mn1_ (1M) and mn3_
 * (3M), as in h1_ret_1, h4_rsi_14 or d1_volume_z_20.
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

/* Writes the column prefix of a canonical higher timeframe ("h4_" for 4h)
 * to out (size bytes; 8 are enough). Fails with OHLCX_EINVAL for an unknown
 * timeframe or a short buffer. */
int ohlcx_higher_prefix(const char *timeframe, char *out, size_t size);

/* Writes the name of feature column i of a higher timeframe ("h4_rsi_14")
 * to out (size bytes; 32 are enough). */
int ohlcx_higher_feature_name(const char *timeframe, int i, char *out, size_t size);

/*
 * Joins the features of count higher series to the rows of lower. Row t of
 * the output starts at out + t * stride. Higher series h fills its
 * OHLCX_FEATURE_COUNT columns from offset h * OHLCX_FEATURE_COUNT, in the
 * order of ohlcx_feature_name(). stride is in floats and must be at least
 * count * OHLCX_FEATURE_COUNT, so the caller can place the block inside a
 * wider row. Each higher series must be coarser than lower and sorted with
 * unique open times; it may be resampled from lower or loaded. Fails with
 * OHLCX_EINVAL for a higher series that is not, OHLCX_EDATA for a higher
 * bar that ohlcx_features_compute() rejects, OHLCX_ENOMEM when the
 * features of a higher series cannot be allocated.
 */
int ohlcx_features_join_higher(const ohlcx_series *lower, const ohlcx_series *const *higher,
                               int count, size_t stride, float *out);

/*
 * Resamples lower (sorted, unique open times) to each of count canonical
 * timeframes (at most OHLCX_RESAMPLE_TARGETS_MAX, each one that
 * ohlcx_resample_check() accepts from lower's timeframe, with UTC days) and
 * joins their features with ohlcx_features_join_higher().
 */
int ohlcx_features_higher(const ohlcx_series *lower, const char *const *timeframes, int count,
                          size_t stride, float *out);

#endif
