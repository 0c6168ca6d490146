/*
 * Features and windows: hand-computed indicator values on small series, the
 * NaN warm-up of each column, causality, and the window channels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/resample.h"

enum {
    RET_1 = 0,
    RET_5,
    RET_20,
    VOLATILITY_20,
    RSI_14,
    MACD,
    MACD_SIGNAL,
    MACD_HIST,
    BB_PCTB_20,
    ATR_14,
    VOLUME_Z_20,
};

#define EPS 1e-6

/* Fails unless actual is within eps of expected; unlike cmocka's
 * assert_float_equal, a NaN never passes. */
#define assert_near(actual, expected, eps) \
    assert_near_at((actual), (expected), (eps), __FILE__, __LINE__)


static void assert_near_at(double actual, double expected, double eps, const char *file,
                           int line)
{
    if (!(fabs(actual - expected) <= eps)) {
        print_error("%.9g is not within %g of %.9g\n", actual, eps, expected);
        _fail(file, line);
    }
}


static void append_bar(ohlcx_series *series, double open, double high, double low,
                       double close, double volume)
{
    int64_t open_time = (int64_t)series->n * OHLCX_US_PER_MINUTE;

    assert_int_equal(ohlcx_series_append(series, open_time, open, high, low, close, volume), 0);
}


static float feature(const float *features, size_t t, int column)
{
    return features[t * OHLCX_FEATURE_COUNT + (size_t)column];
}


static float *compute(const ohlcx_series *series)
{
    float *features = malloc(series->n * OHLCX_FEATURE_COUNT * sizeof *features);

    assert_non_null(features);
    assert_int_equal(ohlcx_features_compute(series, features), 0);
    return features;
}


/* close[t] = 100 * 1.01^t, a bar with no wicks and volume 1000. */
static void make_geometric(ohlcx_series *series, size_t n)
{
    double close = 100;

    ohlcx_series_init(series);
    for (size_t t = 0; t < n; t++) {
        append_bar(series, close, close, close, close, 1000);
        close *= 1.01;
    }
}


/* Closes alternate 100 (even t) and 110 (odd t), with high = close + 1 and
 * low = close - 1. Volumes alternate 99 and 999 until bar 19; bar 20 has
 * 9999. */
static void make_alternating(ohlcx_series *series, size_t n)
{
    ohlcx_series_init(series);
    for (size_t t = 0; t < n; t++) {
        double close = t % 2 == 0 ? 100 : 110;
        double volume = t % 2 == 0 ? 99 : 999;

        if (t == 20)
            volume = 9999;
        append_bar(series, close, close + 1, close - 1, close, volume);
    }
}


/* A seeded random walk with valid bars: low <= open, close <= high. */
static void make_random_walk(ohlcx_series *series, size_t n, uint64_t seed)
{
    uint64_t state = seed;
    double close = 250;

    ohlcx_series_init(series);
    for (size_t t = 0; t < n; t++) {
        double u[4];

        for (int k = 0; k < 4; k++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            u[k] = (double)(state >> 11) / 9007199254740992.0 - 0.5;
        }
        double open = close * exp(0.002 * u[0]);
        double next = open * exp(0.02 * u[1]);
        double high = fmax(open, next) * exp(0.01 * fabs(u[2]));
        double low = fmin(open, next) * exp(-0.01 * fabs(u[3]));

        append_bar(series, open, high, low, next, 1000 * exp(2 * u[2]));
        close = next;
    }
}


static void test_feature_name_order(void **state)
{
    (void)state;
    assert_string_equal(ohlcx_feature_name(RET_1), "ret_1");
    assert_string_equal(ohlcx_feature_name(MACD), "macd");
    assert_string_equal(ohlcx_feature_name(BB_PCTB_20), "bb_pctb_20");
    assert_string_equal(ohlcx_feature_name(VOLUME_Z_20), "volume_z_20");
    assert_null(ohlcx_feature_name(-1));
    assert_null(ohlcx_feature_name(OHLCX_FEATURE_COUNT));
}


/* ret_k = k * ln(1.01): ret_1 0.00995033, ret_5 0.04975165, ret_20
 * 0.19900662. RSI of a series that only rises is 100. */
static void test_returns_geometric(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    make_geometric(&series, 40);
    f = compute(&series);

    assert_true(isnan(feature(f, 0, RET_1)));
    assert_near(feature(f, 1, RET_1), 0.00995033, EPS);
    assert_true(isnan(feature(f, 4, RET_5)));
    assert_near(feature(f, 5, RET_5), 0.04975165, EPS);
    assert_true(isnan(feature(f, 19, RET_20)));
    assert_near(feature(f, 20, RET_20), 0.19900662, EPS);
    assert_near(feature(f, 39, RET_20), 0.19900662, EPS);
    assert_near(feature(f, 14, RSI_14), 100, EPS);
    assert_near(feature(f, 39, RSI_14), 100, EPS);
    assert_near(feature(f, 39, VOLATILITY_20), 0, EPS);

    free(f);
    ohlcx_series_free(&series);
}


/* a = ln(1.1) = 0.09531018. ret_1 over bars 1..20 is +a ten times and -a ten
 * times: mean 0, population sd a. */
static void test_volatility_alternating(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    make_alternating(&series, 40);
    f = compute(&series);

    assert_true(isnan(feature(f, 19, VOLATILITY_20)));
    assert_near(feature(f, 20, VOLATILITY_20), 0.09531018, EPS);
    assert_near(feature(f, 39, VOLATILITY_20), 0.09531018, EPS);

    free(f);
    ohlcx_series_free(&series);
}


/* Changes 1..14: seven gains of 10 and seven losses of 10, so both averages
 * are 5 and RSI(14) = 50. Bar 15 gains 10: gain 5 + (10 - 5) / 14 = 75/14,
 * loss 5 - 5 / 14 = 65/14, RSI = 100 * 75 / 140 = 53.571429. */
static void test_rsi_alternating(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    make_alternating(&series, 40);
    f = compute(&series);

    assert_true(isnan(feature(f, 13, RSI_14)));
    assert_near(feature(f, 14, RSI_14), 50, 1e-4f);
    assert_near(feature(f, 15, RSI_14), 53.571429, 1e-4f);

    free(f);
    ohlcx_series_free(&series);
}


/* Closes of bars 0..19: ten 100s and ten 110s, mean 105, population sd 5,
 * bands 95 and 115; close[19] = 110 gives %b (110 - 95) / 20 = 0.75. Bars
 * 1..20 have the same bands and close[20] = 100 gives 0.25. */
static void test_bollinger_alternating(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    make_alternating(&series, 40);
    f = compute(&series);

    assert_true(isnan(feature(f, 18, BB_PCTB_20)));
    assert_near(feature(f, 19, BB_PCTB_20), 0.75, EPS);
    assert_near(feature(f, 20, BB_PCTB_20), 0.25, EPS);

    free(f);
    ohlcx_series_free(&series);
}


/* Every true range is 11: a bar closing at 110 has high 111 against the
 * previous close 100, and one closing at 100 has low 99 against 110. ATR is
 * 11, divided by close: 0.11 at bar 14 (close 100), 0.1 at bar 15 (110). */
static void test_atr_alternating(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    make_alternating(&series, 40);
    f = compute(&series);

    assert_true(isnan(feature(f, 13, ATR_14)));
    assert_near(feature(f, 14, ATR_14), 0.11, EPS);
    assert_near(feature(f, 15, ATR_14), 0.1, EPS);

    free(f);
    ohlcx_series_free(&series);
}


/* log(1 + volume) of bars 0..19 is ln 100 and ln 1000 ten times each: mean
 * 2.5 ln 10, sd 0.5 ln 10. Bar 20 has ln 10000 = 4 ln 10, so z = 1.5 / 0.5 =
 * 3. Counting bar 20 in its own window would give a smaller z. */
static void test_volume_z_excludes_bar(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    make_alternating(&series, 40);
    f = compute(&series);

    assert_true(isnan(feature(f, 19, VOLUME_Z_20)));
    assert_near(feature(f, 20, VOLUME_Z_20), 3, EPS);

    free(f);
    ohlcx_series_free(&series);
}


/* A constant close of 100 with high 101 and low 99 and a constant volume:
 * true range 2, so ATR / close = 0.02. No change gives RSI 50, a zero-width
 * band %b 0.5, zero-spread volumes z 0, and every return and MACD value 0. */
static void test_flat_series(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    ohlcx_series_init(&series);
    for (int t = 0; t < 60; t++)
        append_bar(&series, 100, 101, 99, 100, 50);
    f = compute(&series);

    assert_near(feature(f, 40, RET_20), 0, EPS);
    assert_near(feature(f, 40, VOLATILITY_20), 0, EPS);
    assert_near(feature(f, 40, RSI_14), 50, EPS);
    assert_near(feature(f, 40, MACD), 0, EPS);
    assert_near(feature(f, 40, MACD_SIGNAL), 0, EPS);
    assert_near(feature(f, 40, MACD_HIST), 0, EPS);
    assert_near(feature(f, 40, BB_PCTB_20), 0.5, EPS);
    assert_near(feature(f, 40, ATR_14), 0.02, EPS);
    assert_near(feature(f, 40, VOLUME_Z_20), 0, EPS);

    free(f);
    ohlcx_series_free(&series);
}


/* close[0] = 100, then 110. EMAs seeded at 100 give EMA(k)[t] = 110 - 10 (1 -
 * 2/(k+1))^t, so the line is L[t] = 10 ((25/27)^t - (11/13)^t):
 * L[25] = 10 (0.1460174 - 0.0153584) = 1.3065948, / 110 = 0.01187850.
 * The signal starts at L[25] and S += 0.2 (L - S) up to bar 33:
 * S[33] = 0.8^8 L[25] + sum_{j=26..33} 0.2 0.8^(33-j) L[j] = 0.9655976,
 * / 110 = 0.00877816; L[33] / 110 = 0.00680492, hist = -0.00197324. */
static void test_macd_step(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    ohlcx_series_init(&series);
    append_bar(&series, 100, 100, 100, 100, 10);
    for (int t = 1; t < 40; t++)
        append_bar(&series, 110, 110, 110, 110, 10);
    f = compute(&series);

    assert_true(isnan(feature(f, 24, MACD)));
    assert_near(feature(f, 25, MACD), 0.01187850, EPS);
    assert_true(isnan(feature(f, 32, MACD_SIGNAL)));
    assert_true(isnan(feature(f, 32, MACD_HIST)));
    assert_near(feature(f, 33, MACD), 0.00680492, EPS);
    assert_near(feature(f, 33, MACD_SIGNAL), 0.00877816, EPS);
    assert_near(feature(f, 33, MACD_HIST), -0.00197324, EPS);

    free(f);
    ohlcx_series_free(&series);
}


/* Each column is NaN before its first bar and finite from it on. */
static void test_warmup_first_bars(void **state)
{
    static const size_t first[OHLCX_FEATURE_COUNT] = {1, 5, 20, 20, 14, 25, 33, 33, 19, 14, 20};
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    make_random_walk(&series, 600, 7);
    f = compute(&series);

    for (int k = 0; k < OHLCX_FEATURE_COUNT; k++) {
        assert_true(isnan(feature(f, first[k] - 1, k)));
        assert_true(isfinite(feature(f, first[k], k)));
        assert_true(first[k] < OHLCX_FEATURE_WARMUP);
    }
    for (size_t t = OHLCX_FEATURE_WARMUP; t < series.n; t++)
        for (int k = 0; k < OHLCX_FEATURE_COUNT; k++)
            assert_true(isfinite(feature(f, t, k)));

    free(f);
    ohlcx_series_free(&series);
}


/* Changing every bar after t leaves the features of bars 0..t and the window
 * at t bit for bit the same. */
static void test_causality(void **state)
{
    const size_t n = 400, t = 200;
    const int window = 64;
    ohlcx_series series;
    float *before = NULL, *after = NULL;
    float window_before[OHLCX_WINDOW_CHANNELS * 64], window_after[OHLCX_WINDOW_CHANNELS * 64];

    (void)state;
    make_random_walk(&series, n, 11);
    before = compute(&series);
    assert_int_equal(ohlcx_window_fill(&series, t, window, window_before), 0);

    for (size_t i = t + 1; i < n; i++) {
        series.open[i] *= 1.5;
        series.high[i] *= 1.7;
        series.low[i] *= 1.3;
        series.close[i] *= 1.6;
        series.volume[i] = series.volume[i] * 3 + 17;
    }
    after = compute(&series);
    assert_int_equal(ohlcx_window_fill(&series, t, window, window_after), 0);

    assert_memory_equal(before, after, (t + 1) * OHLCX_FEATURE_COUNT * sizeof *before);
    assert_memory_equal(window_before, window_after, sizeof window_before);
    /* The test can fail: the next row does see the change. */
    assert_memory_not_equal(before + (t + 1) * OHLCX_FEATURE_COUNT,
                            after + (t + 1) * OHLCX_FEATURE_COUNT,
                            OHLCX_FEATURE_COUNT * sizeof *before);

    free(before);
    free(after);
    ohlcx_series_free(&series);
}


static void test_features_reject_bad_bars(void **state)
{
    ohlcx_series series;
    float *f = NULL;

    (void)state;
    make_geometric(&series, 30);
    f = malloc(series.n * OHLCX_FEATURE_COUNT * sizeof *f);
    assert_non_null(f);

    series.close[12] = 0;
    assert_int_equal(ohlcx_features_compute(&series, f), OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "bar 12"));

    series.close[12] = 100;
    series.low[3] = NAN;
    assert_int_equal(ohlcx_features_compute(&series, f), OHLCX_EDATA);
    series.low[3] = 100;
    series.volume[5] = -1;
    assert_int_equal(ohlcx_features_compute(&series, f), OHLCX_EDATA);
    series.volume[5] = 0;
    assert_int_equal(ohlcx_features_compute(&series, f), 0);
    assert_int_equal(ohlcx_features_compute(NULL, f), OHLCX_EINVAL);

    free(f);
    ohlcx_series_free(&series);
}


/* Bars 1..3 against the previous close, with ln 2 = the close channel's RMS:
 *   bar 1 (prev 100): o 100 h 400 l 50  c 200 -> 0,  2, -1,  1
 *   bar 2 (prev 200): o 200 h 200 l 50  c 100 -> 0,  0, -2, -1
 *   bar 3 (prev 100): o 400 h 800 l 200 c 200 -> 2,  3,  1,  1
 * 1 + volume is 10, 100, 10, 1000, so the volume channel is ln 10 times
 * (1, -1, 2): mean 2/3, deviations (1, -5, 4) / 3, sd sqrt(14) / 3, standard
 * scores 1/sqrt(14) = 0.267261, -1.336306, 1.069045. */
static void test_window_hand(void **state)
{
    static const float expected[OHLCX_WINDOW_CHANNELS][3] = {
        {0, 0, 2}, {2, 0, 3}, {-1, -2, 1}, {1, -1, 1}, {0.267261f, -1.336306f, 1.069045f},
    };
    ohlcx_series series;
    float window[OHLCX_WINDOW_CHANNELS * 3];

    (void)state;
    ohlcx_series_init(&series);
    append_bar(&series, 100, 100, 100, 100, 9);
    append_bar(&series, 100, 400, 50, 200, 99);
    append_bar(&series, 200, 200, 50, 100, 9);
    append_bar(&series, 400, 800, 200, 200, 999);
    assert_int_equal(ohlcx_window_fill(&series, 3, 3, window), 0);

    for (int channel = 0; channel < OHLCX_WINDOW_CHANNELS; channel++)
        for (int j = 0; j < 3; j++)
            assert_near(window[channel * 3 + j], expected[channel][j], EPS);
    ohlcx_series_free(&series);
}


/* Unchanged closes give a close-channel RMS of 0, so the scale is 1: high
 * ln(102/100) = 0.0198026, low ln(99/100) = -0.0100503. A constant volume
 * gives a zero-spread volume channel, written as 0. */
static void test_window_flat(void **state)
{
    ohlcx_series series;
    float window[OHLCX_WINDOW_CHANNELS * 4];

    (void)state;
    ohlcx_series_init(&series);
    for (int t = 0; t < 6; t++)
        append_bar(&series, 100, 102, 99, 100, 7);
    assert_int_equal(ohlcx_window_fill(&series, 5, 4, window), 0);

    for (int j = 0; j < 4; j++) {
        assert_near(window[0 * 4 + j], 0, EPS);
        assert_near(window[1 * 4 + j], 0.0198026, EPS);
        assert_near(window[2 * 4 + j], -0.0100503, EPS);
        assert_near(window[3 * 4 + j], 0, EPS);
        assert_near(window[4 * 4 + j], 0, EPS);
    }
    ohlcx_series_free(&series);
}


/* The shared scale keeps low <= open, close <= high, the close channel has
 * RMS 1 and the volume channel mean 0 and sd 1. */
static void test_window_scales(void **state)
{
    enum { W = 64 };
    ohlcx_series series;
    float window[OHLCX_WINDOW_CHANNELS * W];
    double close_sq = 0, volume_sum = 0, volume_sq = 0;

    (void)state;
    make_random_walk(&series, 300, 3);
    assert_int_equal(ohlcx_window_fill(&series, 250, W, window), 0);

    for (int j = 0; j < W; j++) {
        assert_true(window[2 * W + j] <= window[0 * W + j]);
        assert_true(window[2 * W + j] <= window[3 * W + j]);
        assert_true(window[0 * W + j] <= window[1 * W + j]);
        assert_true(window[3 * W + j] <= window[1 * W + j]);
        close_sq += (double)window[3 * W + j] * window[3 * W + j];
        volume_sum += window[4 * W + j];
        volume_sq += (double)window[4 * W + j] * window[4 * W + j];
    }
    assert_near(close_sq / W, 1, 1e-5f);
    assert_near(volume_sum / W, 0, 1e-5f);
    assert_near(volume_sq / W, 1, 1e-5f);
    ohlcx_series_free(&series);
}


static void test_window_bad_arguments(void **state)
{
    ohlcx_series series;
    float window[OHLCX_WINDOW_CHANNELS * 8];

    (void)state;
    make_geometric(&series, 10);
    assert_int_equal(ohlcx_window_fill(&series, 7, 8, window), OHLCX_EINVAL);
    assert_int_equal(ohlcx_window_fill(&series, 8, 8, window), 0);
    assert_int_equal(ohlcx_window_fill(&series, 10, 8, window), OHLCX_EINVAL);
    assert_int_equal(ohlcx_window_fill(&series, 9, 0, window), OHLCX_EINVAL);
    assert_int_equal(ohlcx_window_fill(&series, 9, 8, NULL), OHLCX_EINVAL);
    ohlcx_series_free(&series);
}


/* Higher timeframes. 2024-01-01 00:00 UTC, a Monday. */
#define DAY_ONE INT64_C(1704067200000000)
#define QUARTER_HOUR (15 * OHLCX_US_PER_MINUTE)


/* Hourly closes of make_quarter_hours: hour k's last 15m bar closes at
 * hour_close[k], so the 1h ret_1 of hour k >= 1 is log(hour_close[k] /
 * hour_close[k - 1]). */
static const double hour_close[] = {100, 200, 600, 2400, 4800, 9600};


/* 24 15m bars (six hours from DAY_ONE). Bar t of hour k = t / 4 closes at
 * hour_close[k] * (1 + (t % 4 - 3) / 100) and opens at the previous close. */
static void make_quarter_hours(ohlcx_series *series)
{
    double previous = hour_close[0];

    ohlcx_series_init(series);
    snprintf(series->timeframe, sizeof series->timeframe, "15m");
    snprintf(series->symbol, sizeof series->symbol, "TEST");
    for (size_t t = 0; t < 24; t++) {
        double close = hour_close[t / 4] * (1 + ((double)(t % 4) - 3) / 100);
        double high = fmax(previous, close) * 1.001, low = fmin(previous, close) * 0.999;

        assert_int_equal(ohlcx_series_append(series, DAY_ONE + (int64_t)t * QUARTER_HOUR,
                                             previous, high, low, close, 10),
                         0);
        previous = close;
    }
}


/* A random walk of n 15m bars from DAY_ONE. */
static void make_quarter_walk(ohlcx_series *series, size_t n, uint64_t seed)
{
    make_random_walk(series, n, seed);
    snprintf(series->timeframe, sizeof series->timeframe, "15m");
    for (size_t t = 0; t < n; t++)
        series->open_time[t] = DAY_ONE + (int64_t)t * QUARTER_HOUR;
}


/* Copies series without row `skip`. */
static void copy_without(const ohlcx_series *series, size_t skip, ohlcx_series *out)
{
    ohlcx_series_init(out);
    snprintf(out->timeframe, sizeof out->timeframe, "%s", series->timeframe);
    for (size_t t = 0; t < series->n; t++)
        if (t != skip)
            assert_int_equal(ohlcx_series_append(out, series->open_time[t], series->open[t],
                                                 series->high[t], series->low[t],
                                                 series->close[t], series->volume[t]),
                             0);
}


static void assert_all_nan(const float *row, int count)
{
    for (int i = 0; i < count; i++)
        assert_true(isnan(row[i]));
}


static void test_higher_names(void **state)
{
    char text[32];

    (void)state;
    assert_int_equal(ohlcx_higher_prefix("1h", text, sizeof text), 0);
    assert_string_equal(text, "h1_");
    assert_int_equal(ohlcx_higher_prefix("4h", text, sizeof text), 0);
    assert_string_equal(text, "h4_");
    assert_int_equal(ohlcx_higher_prefix("1d", text, sizeof text), 0);
    assert_string_equal(text, "d1_");
    assert_int_equal(ohlcx_higher_prefix("15m", text, sizeof text), 0);
    assert_string_equal(text, "m15_");
    assert_int_equal(ohlcx_higher_prefix("1w", text, sizeof text), 0);
    assert_string_equal(text, "w1_");
    assert_int_equal(ohlcx_higher_prefix("1M", text, sizeof text), 0);
    assert_string_equal(text, "mn1_");
    assert_int_equal(ohlcx_higher_prefix("3M", text, sizeof text), 0);
    assert_string_equal(text, "mn3_");
    assert_int_equal(ohlcx_higher_prefix("7m", text, sizeof text), OHLCX_EINVAL);
    assert_int_equal(ohlcx_higher_prefix("4h", text, 3), OHLCX_EINVAL);

    assert_int_equal(ohlcx_higher_feature_name("4h", RSI_14, text, sizeof text), 0);
    assert_string_equal(text, "h4_rsi_14");
    assert_int_equal(ohlcx_higher_feature_name("1d", VOLUME_Z_20, text, sizeof text), 0);
    assert_string_equal(text, "d1_volume_z_20");
    assert_int_equal(ohlcx_higher_feature_name("1d", OHLCX_FEATURE_COUNT, text, sizeof text),
                     OHLCX_EINVAL);
}


/* Which 1h bar each 15m row sees: row t closes at 15 (t + 1) minutes and
 * hour k at 60 (k + 1), so row t sees hour (t + 1) / 4 - 1, from the row
 * that ends exactly when the hour closes. Hour 0 has no ret_1. */
static void test_higher_join_hand(void **state)
{
    const char *timeframes[] = {"1h"};
    ohlcx_series quarters;
    float out[24 * OHLCX_FEATURE_COUNT];

    (void)state;
    make_quarter_hours(&quarters);
    assert_int_equal(ohlcx_features_higher(&quarters, timeframes, 1, OHLCX_FEATURE_COUNT, out),
                     0);

    for (size_t t = 0; t < 7; t++)
        assert_all_nan(out + t * OHLCX_FEATURE_COUNT, OHLCX_FEATURE_COUNT);
    assert_near(feature(out, 7, RET_1), log(2.0), EPS); /* 02:00 closes hour 1 and row 7 */
    assert_near(feature(out, 10, RET_1), log(2.0), EPS);
    assert_near(feature(out, 11, RET_1), log(3.0), EPS);
    assert_near(feature(out, 15, RET_1), log(4.0), EPS);
    assert_near(feature(out, 19, RET_1), log(2.0), EPS);
    assert_near(feature(out, 22, RET_1), log(2.0), EPS);
    assert_near(feature(out, 23, RET_1), log(2.0), EPS); /* hour 5 closes with row 23 */
    assert_true(isnan(feature(out, 22, RET_5))); /* hour 4 has no ret_5 */
    assert_near(feature(out, 23, RET_5), log(96.0), EPS); /* 9600 / 100 */
    ohlcx_series_free(&quarters);
}


/* A loaded 1h series without hour 2: rows that would see it keep hour 1,
 * and hour 3's ret_1 then spans two hours. */
static void test_higher_missing_bar(void **state)
{
    const char *timeframes[] = {"1h"};
    ohlcx_series quarters, hours;
    ohlcx_resampled full;
    const ohlcx_series *higher[1];
    float out[24 * OHLCX_FEATURE_COUNT];

    (void)state;
    make_quarter_hours(&quarters);
    ohlcx_resampled_init(&full);
    assert_int_equal(ohlcx_resample_many(&quarters, timeframes, 1, NULL, &full), 0);
    assert_int_equal(full.series.n, 6);
    copy_without(&full.series, 2, &hours);
    higher[0] = &hours;
    assert_int_equal(ohlcx_features_join_higher(&quarters, higher, 1, OHLCX_FEATURE_COUNT, out),
                     0);

    assert_true(isnan(feature(out, 6, RET_1)));
    assert_near(feature(out, 7, RET_1), log(2.0), EPS);
    assert_near(feature(out, 11, RET_1), log(2.0), EPS); /* hour 2 is missing: still hour 1 */
    assert_near(feature(out, 14, RET_1), log(2.0), EPS);
    assert_near(feature(out, 15, RET_1), log(12.0), EPS); /* hour 3 against hour 1 */
    assert_near(feature(out, 19, RET_1), log(2.0), EPS);

    ohlcx_resampled_free(&full);
    ohlcx_series_free(&hours);
    ohlcx_series_free(&quarters);
}


/* Two higher timeframes in a wider row: 1h at offset 0, 2h at offset 11,
 * and the 3 floats after them left alone. 2h bar 1 (02:00 to 04:00) closes
 * with row 15, with ret_1 log(2400 / 200). */
static void test_higher_two_timeframes(void **state)
{
    const char *timeframes[] = {"1h", "2h"};
    const size_t stride = 2 * OHLCX_FEATURE_COUNT + 3;
    ohlcx_series quarters;
    float out[24 * (2 * OHLCX_FEATURE_COUNT + 3)];

    (void)state;
    make_quarter_hours(&quarters);
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        out[i] = -7.0f;
    assert_int_equal(ohlcx_features_higher(&quarters, timeframes, 2, stride, out), 0);

    assert_near(out[15 * stride + RET_1], log(4.0), EPS);
    assert_true(isnan(out[14 * stride + OHLCX_FEATURE_COUNT + RET_1]));
    assert_near(out[15 * stride + OHLCX_FEATURE_COUNT + RET_1], log(12.0), EPS);
    assert_near(out[22 * stride + OHLCX_FEATURE_COUNT + RET_1], log(12.0), EPS);
    assert_near(out[23 * stride + OHLCX_FEATURE_COUNT + RET_1], log(4.0), EPS); /* 9600 / 2400 */
    for (size_t t = 0; t < 24; t++)
        for (size_t i = 2 * OHLCX_FEATURE_COUNT; i < stride; i++)
            assert_true(out[t * stride + i] == -7.0f);
    ohlcx_series_free(&quarters);
}


static void test_higher_rejects_finer(void **state)
{
    const char *finer[] = {"5m"}, *same[] = {"15m"};
    ohlcx_series quarters;
    float out[24 * OHLCX_FEATURE_COUNT];

    (void)state;
    make_quarter_hours(&quarters);
    assert_int_equal(ohlcx_features_higher(&quarters, finer, 1, OHLCX_FEATURE_COUNT, out),
                     OHLCX_EINVAL);
    assert_int_equal(ohlcx_features_higher(&quarters, same, 1, OHLCX_FEATURE_COUNT, out),
                     OHLCX_EINVAL);
    assert_int_equal(ohlcx_features_join_higher(&quarters, (const ohlcx_series *const[]){&quarters},
                                                1, OHLCX_FEATURE_COUNT, out),
                     OHLCX_EINVAL);
    assert_int_equal(ohlcx_features_higher(&quarters, (const char *[]){"1h"}, 1,
                                           OHLCX_FEATURE_COUNT - 1, out),
                     OHLCX_EINVAL);
    ohlcx_series_free(&quarters);
}


/*
 * Look-ahead: 40 days of 15m bars with 1h, 4h and 1d features. For every
 * row t of the last four days, the series cut right after row t (its 1h, 4h
 * and 1d bars resampled again, the still-open last ones included) gives
 * row t the same bits as the whole series. A join that used a higher bar
 * before its close would see the cut's partial bar and differ.
 */
static void test_higher_no_lookahead(void **state)
{
    const char *timeframes[] = {"1h", "4h", "1d"};
    const size_t columns = 3 * OHLCX_FEATURE_COUNT, n = 40 * 96;
    ohlcx_series whole, cut;
    float *all = malloc(n * columns * sizeof *all), *part = malloc(n * columns * sizeof *part);
    size_t finite_daily = 0;

    (void)state;
    assert_non_null(all);
    assert_non_null(part);
    make_quarter_walk(&whole, n, 11);
    assert_int_equal(ohlcx_features_higher(&whole, timeframes, 3, columns, all), 0);

    cut = whole;
    for (size_t t = n - 4 * 96; t < n; t++) {
        cut.n = t + 1;
        assert_int_equal(ohlcx_features_higher(&cut, timeframes, 3, columns, part), 0);
        if (memcmp(all + t * columns, part + t * columns, columns * sizeof *all) != 0)
            fail_msg("row %zu differs when the series ends there", t);
        finite_daily += isfinite(all[t * columns + 2 * OHLCX_FEATURE_COUNT + MACD_HIST]);
    }
    /* The check is not vacuous: by day 36 the daily MACD is defined. */
    assert_int_equal(finite_daily, 4 * 96);

    free(all);
    free(part);
    ohlcx_series_free(&whole);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feature_name_order),
        cmocka_unit_test(test_returns_geometric),
        cmocka_unit_test(test_volatility_alternating),
        cmocka_unit_test(test_rsi_alternating),
        cmocka_unit_test(test_bollinger_alternating),
        cmocka_unit_test(test_atr_alternating),
        cmocka_unit_test(test_volume_z_excludes_bar),
        cmocka_unit_test(test_flat_series),
        cmocka_unit_test(test_macd_step),
        cmocka_unit_test(test_warmup_first_bars),
        cmocka_unit_test(test_causality),
        cmocka_unit_test(test_features_reject_bad_bars),
        cmocka_unit_test(test_window_hand),
        cmocka_unit_test(test_window_flat),
        cmocka_unit_test(test_window_scales),
        cmocka_unit_test(test_window_bad_arguments),
        cmocka_unit_test(test_higher_names),
        cmocka_unit_test(test_higher_join_hand),
        cmocka_unit_test(test_higher_missing_bar),
        cmocka_unit_test(test_higher_two_timeframes),
        cmocka_unit_test(test_higher_rejects_finer),
        cmocka_unit_test(test_higher_no_lookahead),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
