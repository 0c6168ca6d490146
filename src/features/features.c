/*
 * Features: causal per-bar indicators and the CNN's input windows.
 *
 * ohlcx_features_compute() makes one forward pass over the series per
 * indicator, so the cost is O(n) in total and no value at bar t reads a bar
 * after t. The first bar with a value, per column (NaN before it):
 *
 *   ret_1 1, ret_5 5, ret_20 20      log(close[t] / close[t-k]) needs bar t-k
 *   volatility_20 20                 ret_1 over bars t-19..t, population sd
 *   rsi_14 14, atr_14 14             Wilder averages seeded with the plain
 *                                    mean of the changes (true ranges) of
 *                                    bars 1..14, then avg += (x - avg) / 14
 *   macd 25                          EMA(12) and EMA(26) seeded at close[0];
 *                                    the line is reported once EMA(26) has
 *                                    seen 26 closes
 *   macd_signal 33, macd_hist 33     EMA(9) of the MACD line seeded with the
 *                                    line at bar 25, reported after 9 values
 *   bb_pctb_20 19                    closes of bars t-19..t, population sd
 *   volume_z_20 20                   log(1 + volume) of bars t-20..t-1
 *
 * So every column is defined from bar 33 on, one bar before
 * OHLCX_FEATURE_WARMUP. Sums and averages are kept in double and stored as
 * float. RSI is 50 when both Wilder averages are 0 (no change at all) and 100
 * when only the loss average is 0.
 *
 * Rolling means and deviations keep the sums of (value - shift) and
 * (value - shift)^2, and every `length` bars they are summed afresh over the
 * window with the newest value as the shift. The shift is then always a
 * value inside the current window, which bounds the cancellation in sum_sq -
 * sum^2 / length. Summing afresh also drops the rounding drift of adding and removing
 * values. It costs one extra pass per window, so the total stays O(n).
 *
 * ohlcx_window_fill() is called once per sample, so it allocates nothing and
 * computes 5 logarithms per bar of the window.
 */
#include <math.h>
#include <stddef.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"

enum feature_column {
    COLUMN_RET_1 = 0,
    COLUMN_RET_5,
    COLUMN_RET_20,
    COLUMN_VOLATILITY_20,
    COLUMN_RSI_14,
    COLUMN_MACD,
    COLUMN_MACD_SIGNAL,
    COLUMN_MACD_HIST,
    COLUMN_BB_PCTB_20,
    COLUMN_ATR_14,
    COLUMN_VOLUME_Z_20,
};

static const char *const feature_names[OHLCX_FEATURE_COUNT] = {
    "ret_1",       "ret_5",     "ret_20",     "volatility_20", "rsi_14",     "macd",
    "macd_signal", "macd_hist", "bb_pctb_20", "atr_14",        "volume_z_20",
};

#define VOLATILITY_LENGTH 20
#define RSI_LENGTH 14
#define ATR_LENGTH 14
#define MACD_FAST 12
#define MACD_SLOW 26
#define MACD_SIGNAL 9
#define BOLLINGER_LENGTH 20
#define BOLLINGER_WIDTH 2.0
#define VOLUME_LENGTH 20

/* A variance at or below this share of the shifted mean square is rounding
 * noise of a constant window, and counts as zero. */
#define ZERO_VARIANCE_SHARE 1e-12


const char *ohlcx_feature_name(int i)
{
    if (i < 0 || i >= OHLCX_FEATURE_COUNT)
        return NULL;
    return feature_names[i];
}


/* Rejects prices that are not finite and positive and volumes that are not
 * finite and non-negative, since every feature takes their logarithms. */
static int check_series(const ohlcx_series *series)
{
    static const char *const names[] = {"open", "high", "low", "close"};

    for (size_t t = 0; t < series->n; t++) {
        const double prices[] = {series->open[t], series->high[t], series->low[t],
                                 series->close[t]};

        for (int k = 0; k < 4; k++) {
            if (!(isfinite(prices[k]) && prices[k] > 0))
                return ohlcx_set_error(OHLCX_EDATA,
                                       "invalid %s %g at bar %zu of series '%s': features "
                                       "need finite, positive prices; repair or drop the bar",
                                       names[k], prices[k], t, series->symbol);
        }
        if (!(isfinite(series->volume[t]) && series->volume[t] >= 0))
            return ohlcx_set_error(OHLCX_EDATA,
                                   "invalid volume %g at bar %zu of series '%s': features need "
                                   "finite, non-negative volumes; repair or drop the bar",
                                   series->volume[t], t, series->symbol);
    }
    return 0;
}


static inline void set_feature(float *out, size_t t, int column, double value)
{
    out[t * OHLCX_FEATURE_COUNT + (size_t)column] = (float)value;
}


typedef double (*bar_value_fn)(const ohlcx_series *series, size_t t);


static double close_value(const ohlcx_series *series, size_t t)
{
    return series->close[t];
}


/* Requires t >= 1. */
static double ret_1_value(const ohlcx_series *series, size_t t)
{
    return log(series->close[t] / series->close[t - 1]);
}


static double log_volume_value(const ohlcx_series *series, size_t t)
{
    return log1p(series->volume[t]);
}


/* Sums of value - shift and its square over the `length` bars that end at
 * bar `last`. */
typedef struct rolling_moments {
    bar_value_fn value;
    size_t length;
    double shift;
    double sum;
    double sum_sq;
} rolling_moments;


/* Sums the window that ends at bar last afresh, shifted by its newest value. */
static void rolling_rebase(rolling_moments *m, const ohlcx_series *series, size_t last)
{
    m->shift = m->value(series, last);
    m->sum = 0;
    m->sum_sq = 0;
    for (size_t i = last + 1 - m->length; i <= last; i++) {
        double x = m->value(series, i) - m->shift;

        m->sum += x;
        m->sum_sq += x * x;
    }
}


/* Moves the window that ends at bar last - 1 to end at bar last. */
static void rolling_advance(rolling_moments *m, const ohlcx_series *series, size_t last)
{
    double added = m->value(series, last) - m->shift;
    double removed = m->value(series, last - m->length) - m->shift;

    m->sum += added - removed;
    m->sum_sq += added * added - removed * removed;
}


/* Moves the window to end at bar last, where start is the first bar at which
 * the window is complete. Rebasing at fixed offsets from start keeps the
 * result at bar t independent of the bars after t. */
static void rolling_move(rolling_moments *m, const ohlcx_series *series, size_t start,
                         size_t last)
{
    if ((last - start) % m->length == 0)
        rolling_rebase(m, series, last);
    else
        rolling_advance(m, series, last);
}


static double rolling_mean(const rolling_moments *m)
{
    return m->shift + m->sum / (double)m->length;
}


/* Returns the population standard deviation, or 0 for a window whose spread
 * is within rounding noise. */
static double rolling_sd(const rolling_moments *m)
{
    double n = (double)m->length;
    double mean_sq = m->sum_sq / n;
    double mean = m->sum / n;
    double variance = mean_sq - mean * mean;

    if (variance <= ZERO_VARIANCE_SHARE * mean_sq)
        return 0;
    return sqrt(variance);
}


static void compute_returns(const ohlcx_series *series, float *out)
{
    static const struct {
        int column;
        size_t lag;
    } returns[] = {{COLUMN_RET_1, 1}, {COLUMN_RET_5, 5}, {COLUMN_RET_20, 20}};

    for (size_t k = 0; k < sizeof returns / sizeof returns[0]; k++) {
        size_t lag = returns[k].lag;

        for (size_t t = lag; t < series->n; t++)
            set_feature(out, t, returns[k].column,
                        log(series->close[t] / series->close[t - lag]));
    }
}


static void compute_volatility(const ohlcx_series *series, float *out)
{
    rolling_moments m = {.value = ret_1_value, .length = VOLATILITY_LENGTH};
    size_t start = VOLATILITY_LENGTH; /* ret_1 starts at bar 1 */

    for (size_t t = start; t < series->n; t++) {
        rolling_move(&m, series, start, t);
        set_feature(out, t, COLUMN_VOLATILITY_20, rolling_sd(&m));
    }
}


static double rsi_from_averages(double average_gain, double average_loss)
{
    double total = average_gain + average_loss;

    if (total == 0)
        return 50;
    return 100 * average_gain / total;
}


static void compute_rsi(const ohlcx_series *series, float *out)
{
    double average_gain = 0, average_loss = 0;

    for (size_t t = 1; t < series->n; t++) {
        double change = series->close[t] - series->close[t - 1];
        double gain = change > 0 ? change : 0;
        double loss = change < 0 ? -change : 0;

        if (t <= RSI_LENGTH) {
            average_gain += gain / RSI_LENGTH;
            average_loss += loss / RSI_LENGTH;
        } else {
            average_gain += (gain - average_gain) / RSI_LENGTH;
            average_loss += (loss - average_loss) / RSI_LENGTH;
        }
        if (t >= RSI_LENGTH)
            set_feature(out, t, COLUMN_RSI_14, rsi_from_averages(average_gain, average_loss));
    }
}


static double true_range(const ohlcx_series *series, size_t t)
{
    double previous_close = series->close[t - 1];
    double range = series->high[t] - series->low[t];
    double up = fabs(series->high[t] - previous_close);
    double down = fabs(series->low[t] - previous_close);

    if (up > range)
        range = up;
    if (down > range)
        range = down;
    return range;
}


static void compute_atr(const ohlcx_series *series, float *out)
{
    double average = 0;

    for (size_t t = 1; t < series->n; t++) {
        double range = true_range(series, t);

        if (t <= ATR_LENGTH)
            average += range / ATR_LENGTH;
        else
            average += (range - average) / ATR_LENGTH;
        if (t >= ATR_LENGTH)
            set_feature(out, t, COLUMN_ATR_14, average / series->close[t]);
    }
}


static void compute_macd(const ohlcx_series *series, float *out)
{
    const double fast_alpha = 2.0 / (MACD_FAST + 1);
    const double slow_alpha = 2.0 / (MACD_SLOW + 1);
    const double signal_alpha = 2.0 / (MACD_SIGNAL + 1);
    const size_t line_start = MACD_SLOW - 1;
    const size_t signal_start = line_start + MACD_SIGNAL - 1;
    double fast = 0, slow = 0, signal = 0;

    for (size_t t = 0; t < series->n; t++) {
        double close = series->close[t];
        double line = 0;

        if (t == 0) {
            fast = close;
            slow = close;
        } else {
            fast += fast_alpha * (close - fast);
            slow += slow_alpha * (close - slow);
        }
        line = fast - slow;
        if (t < line_start)
            continue;

        if (t == line_start)
            signal = line;
        else
            signal += signal_alpha * (line - signal);
        set_feature(out, t, COLUMN_MACD, line / close);
        if (t >= signal_start) {
            set_feature(out, t, COLUMN_MACD_SIGNAL, signal / close);
            set_feature(out, t, COLUMN_MACD_HIST, (line - signal) / close);
        }
    }
}


static void compute_bollinger(const ohlcx_series *series, float *out)
{
    rolling_moments m = {.value = close_value, .length = BOLLINGER_LENGTH};
    size_t start = BOLLINGER_LENGTH - 1;

    for (size_t t = start; t < series->n; t++) {
        double sd = 0, pctb = 0.5;

        rolling_move(&m, series, start, t);
        sd = rolling_sd(&m);
        /* (close - lower) / (upper - lower) with lower, upper = mean -+ 2 sd */
        if (sd > 0)
            pctb = 0.5 + (series->close[t] - rolling_mean(&m)) / (2 * BOLLINGER_WIDTH * sd);
        set_feature(out, t, COLUMN_BB_PCTB_20, pctb);
    }
}


/* Scores log(1 + volume[t]) against bars t-20..t-1, so bar t's own volume
 * never moves the mean or spread it is measured against. */
static void compute_volume_z(const ohlcx_series *series, float *out)
{
    rolling_moments m = {.value = log_volume_value, .length = VOLUME_LENGTH};
    size_t start = VOLUME_LENGTH - 1; /* last bar of the first full window */

    for (size_t t = VOLUME_LENGTH; t < series->n; t++) {
        double sd = 0, z = 0;

        rolling_move(&m, series, start, t - 1);
        sd = rolling_sd(&m);
        if (sd > 0)
            z = (log_volume_value(series, t) - rolling_mean(&m)) / sd;
        set_feature(out, t, COLUMN_VOLUME_Z_20, z);
    }
}


int ohlcx_features_compute(const ohlcx_series *series, float *out)
{
    int status = 0;

    if (series == NULL || (series->n > 0 && out == NULL))
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_features_compute: %s is NULL",
                               series == NULL ? "series" : "out");
    status = check_series(series);
    if (status != 0)
        return status;

    for (size_t i = 0; i < series->n * OHLCX_FEATURE_COUNT; i++)
        out[i] = NAN;
    compute_returns(series, out);
    compute_volatility(series, out);
    compute_rsi(series, out);
    compute_macd(series, out);
    compute_bollinger(series, out);
    compute_atr(series, out);
    compute_volume_z(series, out);
    return 0;
}


/* Sums over a window that set its scales: the close channel's squares, and
 * the volume channel shifted by its first value, so that a constant volume
 * channel sums to exactly zero. */
typedef struct window_sums {
    double close_sum_sq;
    double volume_sum;
    double volume_sum_sq;
} window_sums;


/* Writes the unscaled price channels and the shifted volume channel of the
 * window of length bars that starts at bar first (first >= 1). */
static window_sums window_raw(const ohlcx_series *series, size_t first, size_t length,
                              float *out)
{
    float *open_channel = out, *high_channel = out + length, *low_channel = out + 2 * length;
    float *close_channel = out + 3 * length, *volume_channel = out + 4 * length;
    const double *volume = series->volume;
    double shift = log((1 + volume[first]) / (1 + volume[first - 1]));
    window_sums sums = {0, 0, 0};

    for (size_t j = 0; j < length; j++) {
        size_t i = first + j;
        double previous_close = series->close[i - 1];
        double close_change = log(series->close[i] / previous_close);
        double volume_change = log((1 + volume[i]) / (1 + volume[i - 1])) - shift;

        open_channel[j] = (float)log(series->open[i] / previous_close);
        high_channel[j] = (float)log(series->high[i] / previous_close);
        low_channel[j] = (float)log(series->low[i] / previous_close);
        close_channel[j] = (float)close_change;
        volume_channel[j] = (float)volume_change;
        sums.close_sum_sq += close_change * close_change;
        sums.volume_sum += volume_change;
        sums.volume_sum_sq += volume_change * volume_change;
    }
    return sums;
}


int ohlcx_window_fill(const ohlcx_series *series, size_t t, int window, float *out)
{
    size_t length = 0;
    window_sums sums;
    double inverse_scale = 1, volume_mean = 0, volume_mean_sq = 0, volume_sd = 0;

    if (series == NULL || out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_window_fill: %s is NULL",
                               series == NULL ? "series" : "out");
    if (window < 1 || t < (size_t)window || t >= series->n)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid window %d ending at bar %zu of a series of %zu bars: "
                               "need window >= 1 and window <= t < n",
                               window, t, series->n);

    length = (size_t)window;
    sums = window_raw(series, t + 1 - length, length, out);

    /* One shared scale for the four price channels keeps low <= open, close
     * <= high, because dividing by a positive number keeps their order. */
    if (sums.close_sum_sq > 0)
        inverse_scale = 1 / sqrt(sums.close_sum_sq / (double)length);
    for (size_t j = 0; j < 4 * length; j++)
        out[j] = (float)(out[j] * inverse_scale);

    volume_mean = sums.volume_sum / (double)length;
    volume_mean_sq = sums.volume_sum_sq / (double)length;
    if (volume_mean_sq - volume_mean * volume_mean > ZERO_VARIANCE_SHARE * volume_mean_sq)
        volume_sd = sqrt(volume_mean_sq - volume_mean * volume_mean);
    for (size_t j = 4 * length; j < 5 * length; j++)
        out[j] = volume_sd > 0 ? (float)((out[j] - volume_mean) / volume_sd) : 0.0f;
    return 0;
}
