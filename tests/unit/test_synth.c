/*
 * Unit tests of the synthetic universe: determinism, bar calendars, OHLC
 * invariants, the planted wick-shape and daily signals and the Binance CSV
 * writer.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ohlcx/error.h"
#include "ohlcx/series.h"
#include "ohlcx/synth.h"
#include "synth/synth_internal.h"

/* 2024-01-01 00:00 UTC and later dates, in microseconds. */
#define JAN_1_2024 (INT64_C(1704067200) * OHLCX_US_PER_SECOND)
#define JAN_2_2024 (INT64_C(1704153600) * OHLCX_US_PER_SECOND)
#define FEB_1_2024 (INT64_C(1706745600) * OHLCX_US_PER_SECOND)
#define JAN_1_2025 (INT64_C(1735689600) * OHLCX_US_PER_SECOND)
#define MAR_8_2024 (INT64_C(1709856000) * OHLCX_US_PER_SECOND)
#define NOV_1_2024 (INT64_C(1730419200) * OHLCX_US_PER_SECOND)
#define DEC_1_2024 (INT64_C(1733011200) * OHLCX_US_PER_SECOND)
#define DEC_24_2024 (INT64_C(1734998400) * OHLCX_US_PER_SECOND)
#define HOUR OHLCX_US_PER_HOUR
#define DAY OHLCX_US_PER_DAY
#define SESSION_OPEN (14 * OHLCX_US_PER_HOUR + 30 * OHLCX_US_PER_MINUTE)
#define SESSION_CLOSE (21 * OHLCX_US_PER_HOUR)

/* Share of bars that end a shape, and what follows, measured from OHLC. */
typedef struct shape_stats {
    double shape_share;
    double up_after_bullish;
    double down_after_bearish;
    double up_after_none;
    double up_rate;
    double up_after_up;
} shape_stats;


static ohlcx_series generate(const char *symbol, const char *timeframe, int months,
                             double planted, uint64_t seed)
{
    ohlcx_synth_options options;
    ohlcx_series series;
    int status;

    ohlcx_synth_options_default(&options);
    options.months = months;
    options.planted = planted;
    options.seed = seed;
    ohlcx_series_init(&series);
    status = ohlcx_synth_series(symbol, timeframe, &options, &series);
    if (status != 0)
        print_error("synth failed: %s\n", ohlcx_last_error());
    assert_int_equal(status, 0);
    return series;
}


static int64_t time_of_day(int64_t time_us)
{
    return time_us % OHLCX_US_PER_DAY;
}


/* Returns 0 for Monday to 6 for Sunday. */
static int day_of_week(int64_t time_us)
{
    return (int)((time_us / OHLCX_US_PER_DAY + 3) % 7);
}


/* Returns 1 when the upper wick is the longer one (U), else 0 (L). */
static int has_long_upper_wick(const ohlcx_series *s, size_t i)
{
    double upper = s->high[i] - fmax(s->open[i], s->close[i]);
    double lower = fmin(s->open[i], s->close[i]) - s->low[i];

    return upper > lower;
}


/* Finds shapes as the header defines them: a bar ends a bullish (U, L) or
 * bearish (L, U) shape when its wick type differs from the last bar's,
 * unless the last bar ended a shape. */
static shape_stats measure_shapes(const ohlcx_series *s)
{
    size_t shapes = 0, bullish = 0, bullish_up = 0, bearish = 0, bearish_down = 0;
    size_t none = 0, none_up = 0, ups = 0, after_up = 0, up_after_up = 0;
    int previous_ended = 0;
    shape_stats stats;

    for (size_t i = 1; i + 1 < s->n; i++) {
        int wick = has_long_upper_wick(s, i);
        int ends = wick != has_long_upper_wick(s, i - 1) && !previous_ended;
        int next_up = s->close[i + 1] > s->close[i];

        shapes += ends;
        if (ends && !wick) {
            bullish++;
            bullish_up += next_up;
        } else if (ends) {
            bearish++;
            bearish_down += !next_up;
        } else {
            none++;
            none_up += next_up;
        }
        ups += next_up;
        if (s->close[i] > s->close[i - 1]) {
            after_up++;
            up_after_up += next_up;
        }
        previous_ended = ends;
    }
    stats.shape_share = (double)shapes / (double)(s->n - 2);
    stats.up_after_bullish = (double)bullish_up / (double)bullish;
    stats.down_after_bearish = (double)bearish_down / (double)bearish;
    stats.up_after_none = (double)none_up / (double)none;
    stats.up_rate = (double)ups / (double)(s->n - 2);
    stats.up_after_up = (double)up_after_up / (double)after_up;
    return stats;
}


/* Returns the lag-1 autocorrelation of x[0..n). */
static double lag1_autocorrelation(const double *x, size_t n)
{
    double mean = 0, numerator = 0, denominator = 0;

    for (size_t i = 0; i < n; i++)
        mean += x[i] / (double)n;
    for (size_t i = 0; i < n; i++) {
        denominator += (x[i] - mean) * (x[i] - mean);
        if (i > 0)
            numerator += (x[i] - mean) * (x[i - 1] - mean);
    }
    return numerator / denominator;
}


/* Returns the close-to-close log returns (n - 1 of them), or their absolute
 * values; the caller frees them. */
static double *log_returns(const ohlcx_series *s, int absolute)
{
    double *r = malloc((s->n - 1) * sizeof *r);

    assert_non_null(r);
    for (size_t i = 1; i < s->n; i++) {
        r[i - 1] = log(s->close[i] / s->close[i - 1]);
        if (absolute)
            r[i - 1] = fabs(r[i - 1]);
    }
    return r;
}


static void synth_same_inputs_same_series(void **unused)
{
    ohlcx_series a = generate("BTCUSDT", "15m", 1, 0.9, 42);
    ohlcx_series b = generate("BTCUSDT", "15m", 1, 0.9, 42);

    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.open_time, b.open_time, a.n * sizeof *a.open_time);
    assert_memory_equal(a.open, b.open, a.n * sizeof *a.open);
    assert_memory_equal(a.high, b.high, a.n * sizeof *a.high);
    assert_memory_equal(a.low, b.low, a.n * sizeof *a.low);
    assert_memory_equal(a.close, b.close, a.n * sizeof *a.close);
    assert_memory_equal(a.volume, b.volume, a.n * sizeof *a.volume);
    ohlcx_series_free(&a);
    ohlcx_series_free(&b);
}


/* The seed, the symbol and the timeframe all enter the stream; an alias of
 * a timeframe gives the same series as its canonical name. */
static void synth_seed_changes_closes(void **unused)
{
    ohlcx_series a = generate("BTCUSDT", "15m", 1, 0, 42);
    ohlcx_series b = generate("BTCUSDT", "15m", 1, 0, 43);
    ohlcx_series c = generate("BTCUSDC", "15m", 1, 0, 42);
    ohlcx_series hourly = generate("BTCUSDT", "1h", 1, 0, 42);
    ohlcx_series alias = generate("BTCUSDT", "60m", 1, 0, 42);

    assert_int_equal(a.n, b.n);
    assert_memory_not_equal(a.close, b.close, a.n * sizeof *a.close);
    assert_int_equal(a.n, c.n);
    assert_memory_not_equal(a.close, c.close, a.n * sizeof *a.close);
    assert_int_equal(hourly.n, alias.n);
    assert_memory_equal(hourly.close, alias.close, hourly.n * sizeof *hourly.close);
    ohlcx_series_free(&a);
    ohlcx_series_free(&b);
    ohlcx_series_free(&c);
    ohlcx_series_free(&hourly);
    ohlcx_series_free(&alias);
}


/* January 2024 has 31 days of 96 quarter hours. */
static void synth_crypto_15m_month_count(void **unused)
{
    ohlcx_series s = generate("BTCUSDT", "15m", 1, 0, 42);

    assert_int_equal(s.n, 31 * 96);
    assert_int_equal(s.open_time[0], JAN_1_2024);
    assert_int_equal(s.open_time[s.n - 1], FEB_1_2024 - 15 * OHLCX_US_PER_MINUTE);
    for (size_t i = 1; i < s.n; i++)
        assert_int_equal(s.open_time[i] - s.open_time[i - 1], 15 * OHLCX_US_PER_MINUTE);
    assert_string_equal(s.timeframe, "15m");
    assert_int_equal(s.asset_class, OHLCX_ASSET_CRYPTO);
    ohlcx_series_free(&s);
}


/* Weeks of January 2024 start on Mondays 1, 8, 15, 22 and 29; 2024 has 12
 * months, the second opening on 1 February. */
static void synth_crypto_long_bars(void **unused)
{
    ohlcx_series daily = generate("ETHUSDT", "1d", 1, 0, 42);
    ohlcx_series weekly = generate("ETHUSDT", "1w", 1, 0, 42);
    ohlcx_series monthly = generate("ETHUSDT", "1M", 12, 0, 42);
    ohlcx_series quarterly = generate("ETHUSDT", "3M", 12, 0, 42);

    assert_int_equal(daily.n, 31);
    assert_int_equal(weekly.n, 5);
    assert_int_equal(weekly.open_time[4], JAN_1_2024 + 28 * OHLCX_US_PER_DAY);
    assert_int_equal(monthly.n, 12);
    assert_int_equal(monthly.open_time[1], FEB_1_2024);
    assert_int_equal(monthly.open_time[11], JAN_1_2025 - 31 * OHLCX_US_PER_DAY);
    assert_int_equal(quarterly.n, 4);
    assert_int_equal(quarterly.open_time[1], JAN_1_2024 + (31 + 29 + 31) * OHLCX_US_PER_DAY);
    ohlcx_series_free(&daily);
    ohlcx_series_free(&weekly);
    ohlcx_series_free(&monthly);
    ohlcx_series_free(&quarterly);
}


/* January 2024 has 23 weekdays (1-5, 8-12, 15-19, 22-26, 29-31), less the
 * NYSE holidays on 1 and 15 January: 21 trading days, the first on 2
 * January. New York is on standard time, so the session is 14:30 to 21:00
 * UTC, 26 quarter hours. */
static void synth_stock_15m_month_count(void **unused)
{
    ohlcx_series s = generate("GOOG", "15m", 1, 0, 42);

    assert_int_equal(s.n, 21 * 26);
    assert_int_equal(s.open_time[0], JAN_2_2024 + SESSION_OPEN);
    assert_int_equal(s.open_time[25], JAN_2_2024 + SESSION_CLOSE - 15 * OHLCX_US_PER_MINUTE);
    assert_int_equal(s.open_time[26], JAN_2_2024 + OHLCX_US_PER_DAY + SESSION_OPEN);
    for (size_t i = 0; i < s.n; i++) {
        assert_in_range(time_of_day(s.open_time[i]), SESSION_OPEN, SESSION_CLOSE - 1);
        assert_in_range(day_of_week(s.open_time[i]), 0, 4);
    }
    assert_int_equal(s.asset_class, OHLCX_ASSET_STOCKS);
    ohlcx_series_free(&s);
}


static void synth_stock_session_opens(void **unused)
{
    ohlcx_series hourly = generate("GOOG", "1h", 1, 0, 42);
    ohlcx_series four_hour = generate("GOOG", "4h", 1, 0, 42);
    ohlcx_series daily = generate("VT", "1d", 1, 0, 42);

    /* 21 trading days from 2 January; the sixth is Tuesday 9 January. */
    assert_int_equal(hourly.n, 21 * 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(hourly.open_time[i],
                         JAN_2_2024 + SESSION_OPEN + (int64_t)i * OHLCX_US_PER_HOUR);
    assert_int_equal(hourly.open_time[7], JAN_2_2024 + OHLCX_US_PER_DAY + SESSION_OPEN);
    assert_int_equal(four_hour.n, 21 * 2);
    assert_int_equal(four_hour.open_time[0], JAN_2_2024 + SESSION_OPEN);
    assert_int_equal(four_hour.open_time[1], JAN_2_2024 + SESSION_OPEN + 4 * OHLCX_US_PER_HOUR);
    assert_int_equal(daily.n, 21);
    assert_int_equal(daily.open_time[0], JAN_2_2024);
    assert_int_equal(daily.open_time[1], JAN_2_2024 + OHLCX_US_PER_DAY);
    assert_int_equal(daily.open_time[5], JAN_1_2024 + 8 * OHLCX_US_PER_DAY);
    ohlcx_series_free(&hourly);
    ohlcx_series_free(&four_hour);
    ohlcx_series_free(&daily);
}


static void synth_ohlc_consistent(void **unused)
{
    static const struct {
        const char *symbol, *timeframe;
        double planted;
    } cases[] = {
        {"BTCUSDT", "15m", 0.9}, {"LTCUSDT", "1h", 0},  {"SOLUSDT", "1m", 0.9},
        {"GOOG", "15m", 0.9},    {"PSNY", "5m", 0},     {"VT", "1d", 0},
        {"ETHUSDT", "1w", 0.9},  {"GOOG", "1M", 0},
    };

    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        ohlcx_series s = generate(cases[c].symbol, cases[c].timeframe, 3, cases[c].planted, 7);

        assert_true(s.n > 0);
        for (size_t i = 0; i < s.n; i++) {
            assert_true(s.low[i] > 0);
            assert_true(s.low[i] <= fmin(s.open[i], s.close[i]));
            assert_true(s.high[i] >= fmax(s.open[i], s.close[i]));
            assert_true(s.volume[i] >= 0);
            assert_true(isfinite(s.high[i]));
            assert_true(isfinite(s.volume[i]));
        }
        ohlcx_series_free(&s);
    }
}


/* Crypto bars open at the previous close; stock intraday bars do too except
 * at the session open. */
static void synth_open_is_last_close(void **unused)
{
    ohlcx_series crypto = generate("BTCUSDT", "15m", 1, 0.9, 42);
    ohlcx_series stock = generate("GOOG", "15m", 1, 0, 42);
    size_t gaps = 0;

    for (size_t i = 1; i < crypto.n; i++)
        assert_true(crypto.open[i] == crypto.close[i - 1]);
    for (size_t i = 1; i < stock.n; i++) {
        if (time_of_day(stock.open_time[i]) != SESSION_OPEN)
            assert_true(stock.open[i] == stock.close[i - 1]);
        else
            gaps += stock.open[i] != stock.close[i - 1];
    }
    assert_true(gaps > 0);
    ohlcx_series_free(&crypto);
    ohlcx_series_free(&stock);
}


/* Returns 1 when value is the double nearest to a decimal with at most
 * `decimals` digits after the point. */
static int on_decimal_grid(double value, int decimals)
{
    double steps = pow(10, decimals);

    return value == round(value * steps) / steps;
}


/* Prices sit on a cent grid from 1000 up and a 0.0001 grid below; crypto
 * volumes on 0.0001 and stock volumes on whole shares. */
static void synth_price_levels(void **unused)
{
    ohlcx_series btc = generate("BTCUSDT", "1h", 1, 0, 42);
    ohlcx_series ltc = generate("LTCUSDT", "1h", 1, 0, 42);
    ohlcx_series goog = generate("GOOG", "1h", 1, 0, 42);

    assert_in_range((int64_t)btc.open[0], 38000, 42100);
    assert_in_range((int64_t)ltc.open[0], 66, 74);
    assert_in_range((int64_t)goog.open[0], 60, 165);
    for (size_t i = 0; i < btc.n; i++) {
        assert_true(on_decimal_grid(btc.open[i], 2));
        assert_true(on_decimal_grid(btc.high[i], 2));
        assert_true(on_decimal_grid(btc.low[i], 2));
        assert_true(on_decimal_grid(btc.close[i], 2));
        assert_true(on_decimal_grid(btc.volume[i], 4));
    }
    for (size_t i = 0; i < ltc.n; i++) {
        assert_true(on_decimal_grid(ltc.open[i], 4));
        assert_true(on_decimal_grid(ltc.high[i], 4));
        assert_true(on_decimal_grid(ltc.low[i], 4));
        assert_true(on_decimal_grid(ltc.close[i], 4));
    }
    for (size_t i = 0; i < goog.n; i++) {
        assert_true(on_decimal_grid(goog.close[i], 4));
        assert_true(on_decimal_grid(goog.volume[i], 0));
    }
    ohlcx_series_free(&btc);
    ohlcx_series_free(&ltc);
    ohlcx_series_free(&goog);
}


/* With P = 0.9 on 20 months of 15m bars (58,464 bars): shapes end at every
 * second bar, the next bar follows the shape with probability 0.9, and the
 * closes alone show no dependence. */
static void synth_planted_shapes(void **unused)
{
    ohlcx_series s = generate("BTCUSDT", "15m", 20, 0.9, 42);
    shape_stats stats = measure_shapes(&s);
    double *r = log_returns(&s, 0);
    double rho = lag1_autocorrelation(r, s.n - 1);

    assert_int_equal(s.n, (366 + 243) * 96);
    assert_true(stats.shape_share > 0.47 && stats.shape_share < 0.53);
    assert_true(stats.up_after_bullish > 0.87 && stats.up_after_bullish < 0.93);
    assert_true(stats.down_after_bearish > 0.87 && stats.down_after_bearish < 0.93);
    assert_true(stats.up_after_none > 0.48 && stats.up_after_none < 0.52);
    assert_true(stats.up_rate > 0.47 && stats.up_rate < 0.53);
    assert_true(stats.up_after_up > 0.48 && stats.up_after_up < 0.52);
    assert_true(fabs(rho) < 0.03);
    free(r);
    ohlcx_series_free(&s);
}


/* The daily direction is the previous day's sign times the last bar's sign;
 * either sign 0 gives 0. */
static void synth_daily_direction_by_hand(void **unused)
{
    assert_int_equal(synth_daily_direction(100.00, 101.50, 1), 1);
    assert_int_equal(synth_daily_direction(100.00, 101.50, -1), -1);
    assert_int_equal(synth_daily_direction(101.50, 100.00, 1), -1);
    assert_int_equal(synth_daily_direction(101.50, 100.00, -1), 1);
    assert_int_equal(synth_daily_direction(100.00, 100.00, 1), 0);
    assert_int_equal(synth_daily_direction(100.00, 101.50, 0), 0);
}


static int sign_of(double x)
{
    return (x > 0) - (x < 0);
}


/* Counts the second bars of pairs (odd indexes) that the daily rule covers,
 * read from the closes alone: days completed before the bar's UTC day give
 * the day sign, the bar before gives the last sign. Returns how many of
 * them follow the rule in *follow. */
static size_t count_daily_rule(const ohlcx_series *s, size_t *follow)
{
    double day_close[2] = {0, 0};
    int days_closed = 0;
    size_t covered = 0;

    *follow = 0;
    for (size_t i = 1; i < s->n; i++) {
        int64_t day = s->open_time[i] / OHLCX_US_PER_DAY;
        int expected;

        if (day != s->open_time[i - 1] / OHLCX_US_PER_DAY) {
            day_close[1] = day_close[0];
            day_close[0] = s->close[i - 1];
            days_closed += days_closed < 2;
        }
        if (i % 2 == 0 || i < 2 || days_closed < 2)
            continue;
        expected = sign_of(day_close[0] - day_close[1]) * sign_of(s->close[i - 1] - s->close[i - 2]);
        if (expected == 0)
            continue;
        covered++;
        *follow += sign_of(s->close[i] - s->close[i - 1]) == expected;
    }
    return covered;
}


/* With Q = 1 on two months of 15m bars (5,760 bars, 2,880 pairs), every
 * second bar of a pair from the third day on (2,880 - 96 = 2,784 pairs)
 * follows the rule; with P = 0.9 alone the same bars follow it only by
 * chance. */
static void synth_planted_daily_rule(void **unused)
{
    ohlcx_synth_options options;
    ohlcx_series s;
    size_t covered, follow;

    ohlcx_synth_options_default(&options);
    options.months = 2;
    options.planted = 0.9;
    options.planted_daily = 1;
    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), 0);
    assert_int_equal(s.n, (31 + 29) * 96);
    covered = count_daily_rule(&s, &follow);
    assert_true(covered > 2700 && covered <= 2784);
    assert_int_equal(follow, covered);

    options.planted_daily = 0;
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), 0);
    covered = count_daily_rule(&s, &follow);
    assert_true(covered > 2700 && covered <= 2784);
    assert_true((double)follow / (double)covered > 0.46 && (double)follow / (double)covered < 0.54);
    ohlcx_series_free(&s);
}


/* With P = Q = 0.9 on 20 months of 15m bars, the shapes keep their rate,
 * the daily rule holds on about 90% of its bars, and the closes show no
 * drift and no lag-1 autocorrelation. */
static void synth_planted_daily_rates(void **unused)
{
    ohlcx_synth_options options;
    ohlcx_series s;
    shape_stats stats;
    size_t covered, follow;
    double *r, rho;

    ohlcx_synth_options_default(&options);
    options.planted = 0.9;
    options.planted_daily = 0.9;
    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), 0);
    stats = measure_shapes(&s);
    covered = count_daily_rule(&s, &follow);
    r = log_returns(&s, 0);
    rho = lag1_autocorrelation(r, s.n - 1);
    assert_true(stats.up_after_bullish > 0.87 && stats.up_after_bullish < 0.93);
    assert_true(stats.down_after_bearish > 0.87 && stats.down_after_bearish < 0.93);
    assert_true((double)follow / (double)covered > 0.88 && (double)follow / (double)covered < 0.92);
    assert_true(stats.up_rate > 0.48 && stats.up_rate < 0.52);
    assert_true(fabs(rho) < 0.03);
    free(r);
    ohlcx_series_free(&s);
}


static void synth_unplanted_no_signal(void **unused)
{
    ohlcx_series s = generate("BTCUSDT", "15m", 20, 0, 42);
    shape_stats stats = measure_shapes(&s);

    assert_true(stats.up_after_bullish > 0.45 && stats.up_after_bullish < 0.55);
    assert_true(stats.down_after_bearish > 0.45 && stats.down_after_bearish < 0.55);
    ohlcx_series_free(&s);
}


/* 15m crypto returns have a standard deviation of 3% / sqrt(96) = 0.31%,
 * and large moves cluster, so absolute returns are autocorrelated. */
static void synth_volatility_clusters(void **unused)
{
    ohlcx_series s = generate("ETHUSDT", "15m", 20, 0, 42);
    double *r = log_returns(&s, 0);
    double *size = log_returns(&s, 1);
    double sum = 0;

    for (size_t i = 0; i + 1 < s.n; i++)
        sum += r[i] * r[i];
    assert_true(sqrt(sum / (double)(s.n - 1)) > 0.0025);
    assert_true(sqrt(sum / (double)(s.n - 1)) < 0.0037);
    assert_true(lag1_autocorrelation(size, s.n - 1) > 0.05);
    free(r);
    free(size);
    ohlcx_series_free(&s);
}


/* The first 15m bar of a session (14:30) trades far more than the one at
 * 17:30 in the middle of the session. */
static void synth_stock_volume_u_shape(void **unused)
{
    ohlcx_series s = generate("GOOG", "15m", 20, 0, 42);
    double opening = 0, middle = 0;
    size_t opening_bars = 0, middle_bars = 0;

    for (size_t i = 0; i < s.n; i++) {
        if (time_of_day(s.open_time[i]) == SESSION_OPEN) {
            opening += s.volume[i];
            opening_bars++;
        } else if (time_of_day(s.open_time[i]) == 17 * OHLCX_US_PER_HOUR + 30 * OHLCX_US_PER_MINUTE) {
            middle += s.volume[i];
            middle_bars++;
        }
    }
    assert_true(opening_bars > 400);
    assert_int_equal(opening_bars, middle_bars);
    assert_true(opening > 1.8 * middle);
    ohlcx_series_free(&s);
}


/* Returns the open times of a calendar's bars in [start_us, end_us); the
 * caller frees them. */
static int64_t *calendar_bars(const char *timeframe, int kind, int64_t start_us, int64_t end_us,
                              size_t *count)
{
    synth_calendar calendar;
    int64_t *open_times;

    assert_int_equal(synth_calendar_init(&calendar, timeframe, kind), 0);
    *count = synth_calendar_bars(&calendar, start_us, end_us, NULL);
    open_times = malloc((*count ? *count : 1) * sizeof *open_times);
    assert_non_null(open_times);
    assert_int_equal(synth_calendar_bars(&calendar, start_us, end_us, open_times), *count);
    return open_times;
}


/* New York starts daylight saving time on Sunday 2024-03-10. The forex
 * week closes on Friday 8 March at 17:00 EST (22:00 UTC) and opens again
 * on Sunday at 17:00 EDT (21:00 UTC), 47 hours later. It closes on Friday
 * 15 March at 21:00 UTC. From 8 March to 16 March 00:00 UTC that gives 142
 * 1h bars. There are 22 on the 8th (00:00 to 21:00) and 3 on Sunday (21:00
 * to 23:00). Monday to Thursday add 4 x 24, and the 15th 21 (00:00 to 20:00). */
static void synth_forex_week_spring_dst(void **unused)
{
    size_t n;
    int64_t *t = calendar_bars("1h", OHLCX_SYNTH_FOREX_WEEK, MAR_8_2024, MAR_8_2024 + 8 * DAY, &n);

    assert_int_equal(n, 22 + 3 + 4 * 24 + 21);
    assert_int_equal(t[0], MAR_8_2024);
    assert_int_equal(t[21], MAR_8_2024 + 21 * HOUR);
    assert_int_equal(t[22], MAR_8_2024 + 2 * DAY + 21 * HOUR);
    assert_int_equal(t[24], MAR_8_2024 + 2 * DAY + 23 * HOUR);
    assert_int_equal(t[25], MAR_8_2024 + 3 * DAY);
    assert_int_equal(t[n - 1], MAR_8_2024 + 7 * DAY + 20 * HOUR);
    free(t);
}


/* New York returns to standard time on Sunday 2024-11-03. The week closes
 * on Friday 1 November at 17:00 EDT (21:00 UTC) and opens on Sunday at
 * 17:00 EST (22:00 UTC), 49 hours later. It closes on Friday 8 November at
 * 22:00 UTC. 1h bars from 1 to 9 November: 21 on the 1st, 2 on Sunday,
 * 4 x 24 and 22 on the 8th, 141 in all. */
static void synth_forex_week_autumn_dst(void **unused)
{
    size_t n;
    int64_t *t = calendar_bars("1h", OHLCX_SYNTH_FOREX_WEEK, NOV_1_2024, NOV_1_2024 + 8 * DAY, &n);

    assert_int_equal(n, 21 + 2 + 4 * 24 + 22);
    assert_int_equal(t[20], NOV_1_2024 + 20 * HOUR);
    assert_int_equal(t[21], NOV_1_2024 + 2 * DAY + 22 * HOUR);
    assert_int_equal(t[23], NOV_1_2024 + 3 * DAY);
    assert_int_equal(t[n - 1], NOV_1_2024 + 7 * DAY + 21 * HOUR);
    free(t);
}


/* 4h bars keep the grid of 00:00, 04:00, ..., 20:00 UTC. A bar exists when
 * it overlaps the forex week, so the 20:00 bars open and close each week in
 * both seasons: 31 bars a week, not 30. From 8 to 16 March 2024: 6 on the
 * 8th (20:00 trades until 22:00), Sunday 20:00, 4 x 6, and 6 on the 15th
 * (20:00 trades until 21:00), 37 in all. The Sunday bar trades 3 of its 4
 * hours in March (from 21:00) and 2 in November (from 22:00), and opens
 * trading after the weekend, so it may gap. */
static void synth_forex_4h_partial_bars(void **unused)
{
    synth_calendar calendar;
    synth_bar_info spring, monday, autumn;
    size_t n;
    int64_t *t = calendar_bars("4h", OHLCX_SYNTH_FOREX_WEEK, MAR_8_2024, MAR_8_2024 + 8 * DAY, &n);

    assert_int_equal(n, 6 + 1 + 4 * 6 + 6);
    assert_int_equal(t[5], MAR_8_2024 + 20 * HOUR);
    assert_int_equal(t[6], MAR_8_2024 + 2 * DAY + 20 * HOUR);
    assert_int_equal(t[n - 1], MAR_8_2024 + 7 * DAY + 20 * HOUR);

    assert_int_equal(synth_calendar_init(&calendar, "4h", OHLCX_SYNTH_FOREX_WEEK), 0);
    spring = synth_bar_describe(&calendar, t[6]);
    monday = synth_bar_describe(&calendar, t[7]);
    autumn = synth_bar_describe(&calendar, NOV_1_2024 + 2 * DAY + 20 * HOUR);
    assert_true(spring.trading_days == 3.0 / 24);
    assert_int_equal(spring.session_open, 1);
    assert_true(monday.trading_days == 4.0 / 24);
    assert_int_equal(monday.session_open, 0);
    assert_true(autumn.trading_days == 2.0 / 24);
    assert_int_equal(autumn.session_open, 1);
    free(t);
}


/* December 2024 has 22 weekdays (2-6, 9-13, 16-20, 23-27, 30-31). The
 * forex market closes on Wednesday the 25th, which leaves 21 daily bars,
 * each at 00:00 UTC of its trading day. Trading day 25 December runs from
 * 22:00 UTC on the 24th to 22:00 UTC on the 25th. So the 1h bars of the
 * 24th end at 21:00 and resume at 22:00 on the 25th. */
static void synth_forex_christmas(void **unused)
{
    size_t days, hours;
    int64_t *d = calendar_bars("1d", OHLCX_SYNTH_FOREX_WEEK, DEC_1_2024, JAN_1_2025, &days);
    int64_t *h = calendar_bars("1h", OHLCX_SYNTH_FOREX_WEEK, DEC_24_2024, DEC_24_2024 + 2 * DAY,
                               &hours);

    assert_int_equal(days, 21);
    assert_int_equal(d[0], DEC_1_2024 + DAY);
    assert_int_equal(d[16], DEC_24_2024);
    assert_int_equal(d[17], DEC_24_2024 + 2 * DAY);
    assert_int_equal(hours, 22 + 2);
    assert_int_equal(h[21], DEC_24_2024 + 21 * HOUR);
    assert_int_equal(h[22], DEC_24_2024 + DAY + 22 * HOUR);
    free(d);
    free(h);
}


/* EURUSD reads as forex. Its 1h bars of January 2024 start when trading
 * day 2 January opens, at 22:00 UTC on the 1st (a holiday). There are 22
 * trading days from 2 to 31 January of 24 bars each. Trading day 1
 * February adds its first two hours, 22:00 and 23:00 on the 31st, so 530
 * bars in all. The first 1d bar is 2 January. */
static void synth_forex_january_by_name(void **unused)
{
    ohlcx_series hourly = generate("EURUSD", "1h", 1, 0, 42);
    ohlcx_series daily = generate("EURUSD", "1d", 1, 0, 42);

    assert_int_equal(hourly.asset_class, OHLCX_ASSET_FOREX);
    assert_int_equal(hourly.n, 22 * 24 + 2);
    assert_int_equal(hourly.open_time[0], JAN_1_2024 + 22 * HOUR);
    assert_int_equal(hourly.open_time[hourly.n - 1], FEB_1_2024 - HOUR);
    assert_int_equal(daily.n, 22);
    assert_int_equal(daily.open_time[0], JAN_2_2024);
    for (size_t i = 0; i < daily.n; i++)
        assert_in_range(day_of_week(daily.open_time[i]), 0, 4);
    ohlcx_series_free(&hourly);
    ohlcx_series_free(&daily);
}


/* options.asset_class overrides the name: GOLD as forex gets EURUSD's open
 * times, EURUSD as stocks the 147 session bars of GOOG (see
 * synth_stock_session_opens), ABC as crypto all 744 hours of January. */
static void synth_class_from_options(void **unused)
{
    ohlcx_synth_options options;
    ohlcx_series forex, gold, stock, crypto;

    ohlcx_synth_options_default(&options);
    options.months = 1;
    ohlcx_series_init(&forex);
    ohlcx_series_init(&gold);
    ohlcx_series_init(&stock);
    ohlcx_series_init(&crypto);
    assert_int_equal(ohlcx_synth_series("EURUSD", "1h", &options, &forex), 0);
    options.asset_class = OHLCX_ASSET_FOREX;
    assert_int_equal(ohlcx_synth_series("GOLD", "1h", &options, &gold), 0);
    options.asset_class = OHLCX_ASSET_STOCKS;
    assert_int_equal(ohlcx_synth_series("EURUSD", "1h", &options, &stock), 0);
    options.asset_class = OHLCX_ASSET_CRYPTO;
    assert_int_equal(ohlcx_synth_series("ABC", "1h", &options, &crypto), 0);

    assert_int_equal(gold.n, forex.n);
    assert_memory_equal(gold.open_time, forex.open_time, forex.n * sizeof *forex.open_time);
    assert_int_equal(gold.asset_class, OHLCX_ASSET_FOREX);
    assert_int_equal(stock.n, 21 * 7);
    assert_int_equal(stock.open_time[0], JAN_2_2024 + SESSION_OPEN);
    assert_int_equal(stock.asset_class, OHLCX_ASSET_STOCKS);
    assert_int_equal(crypto.n, 31 * 24);
    assert_int_equal(crypto.asset_class, OHLCX_ASSET_CRYPTO);

    options.asset_class = OHLCX_ASSET_COUNT;
    assert_int_equal(ohlcx_synth_series("EURUSD", "1h", &options, &forex), OHLCX_EINVAL);
    assert_int_equal(forex.n, 0);
    ohlcx_series_free(&gold);
    ohlcx_series_free(&stock);
    ohlcx_series_free(&crypto);
}


/* Forex bars open at the previous close, except the first bar after a
 * weekend or holiday, where some may gap. From 1 January to 1 June 2024
 * the week reopens on 21 Sundays (7 January to 26 May). The first bar, on
 * 1 January, has no bar before it. */
static void synth_forex_gaps_only_after_close(void **unused)
{
    ohlcx_series s = generate("EURUSD", "15m", 5, 0, 42);
    size_t openings = 0, gaps = 0;

    for (size_t i = 1; i < s.n; i++) {
        if (s.open_time[i] - s.open_time[i - 1] == 15 * OHLCX_US_PER_MINUTE) {
            assert_true(s.open[i] == s.close[i - 1]);
            continue;
        }
        openings++;
        gaps += s.open[i] != s.close[i - 1];
    }
    assert_int_equal(openings, 21);
    assert_true(gaps > 0);
    ohlcx_series_free(&s);
}


static void make_temp_dir(char *path, size_t size)
{
    snprintf(path, size, "/tmp/ohlcx-test-synth-XXXXXX");
    assert_non_null(mkdtemp(path));
}


/* Reads up to count lines of a file into lines (each 256 bytes). */
static void read_lines(const char *path, char lines[][256], int count)
{
    FILE *file = fopen(path, "r");

    assert_non_null(file);
    for (int i = 0; i < count; i++) {
        assert_non_null(fgets(lines[i], sizeof lines[i], file));
        lines[i][strcspn(lines[i], "\n")] = '\0';
    }
    fclose(file);
}


/* Bar 1: quote 12.5 * 42000.5 = 525006.25, 525 trades, close = open so the
 * taker share is 0.5: 6.25 and 262503.125. Bar 2 closes at its high from
 * its low, so the taker share is 0.75: 3 of 4 and 330 of 440; 0.44 trades
 * round to 0 and become 1. */
static void synth_csv_lines_by_hand(void **unused)
{
    ohlcx_series s;
    char dir[64], path[128], lines[3][256];

    ohlcx_series_init(&s);
    snprintf(s.symbol, sizeof s.symbol, "BTCUSDT");
    snprintf(s.timeframe, sizeof s.timeframe, "15m");
    assert_int_equal(ohlcx_series_append(&s, JAN_1_2024, 42000.5, 42100.25, 41950, 42000.5,
                                         12.5),
                     0);
    assert_int_equal(ohlcx_series_append(&s, JAN_1_2024 + 15 * OHLCX_US_PER_MINUTE, 100, 110,
                                         100, 110, 4),
                     0);
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/BTCUSDT-15m.csv", dir);

    assert_int_equal(ohlcx_write_binance_csv(&s, path), 0);
    read_lines(path, lines, 3);
    assert_string_equal(lines[0], "open_time,open,high,low,close,volume,close_time,"
                                  "quote_volume,count,taker_buy_volume,"
                                  "taker_buy_quote_volume,ignore");
    assert_string_equal(lines[1], "1704067200000,42000.5,42100.25,41950,42000.5,12.5,"
                                  "1704068099999,525006.25,525,6.25,262503.125,0");
    assert_string_equal(lines[2], "1704068100000,100,110,100,110,4,1704068999999,440,1,3,330,0");
    ohlcx_series_free(&s);
    unlink(path);
    rmdir(dir);
}


/* Returns the number of digits after the point in the field at text. */
static int count_decimals(const char *text)
{
    size_t length = strcspn(text, ",\n");
    const char *point = memchr(text, '.', length);

    return point == NULL ? 0 : (int)(text + length - point - 1);
}


/* Every value read back from the file equals the series value exactly, and
 * every field is short: prices and volumes have at most 4 decimals. */
static void synth_csv_round_trip(void **unused)
{
    ohlcx_series s = generate("LTCUSDT", "15m", 1, 0.9, 42);
    char dir[64], path[128], line[512];
    size_t row = 0;
    FILE *file;

    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/LTCUSDT-15m.csv", dir);
    assert_int_equal(ohlcx_write_binance_csv(&s, path), 0);
    file = fopen(path, "r");
    assert_non_null(file);
    assert_non_null(fgets(line, sizeof line, file));
    while (fgets(line, sizeof line, file) != NULL) {
        char *field = line;
        double values[5];
        long long open_ms = strtoll(field, &field, 10);

        for (int k = 0; k < 5; k++) {
            assert_in_range(count_decimals(field + 1), 0, 4);
            values[k] = strtod(field + 1, &field);
        }
        assert_true(row < s.n);
        assert_int_equal(open_ms * 1000, s.open_time[row]);
        assert_true(values[0] == s.open[row]);
        assert_true(values[1] == s.high[row]);
        assert_true(values[2] == s.low[row]);
        assert_true(values[3] == s.close[row]);
        assert_true(values[4] == s.volume[row]);
        row++;
    }
    fclose(file);
    assert_int_equal(row, s.n);
    ohlcx_series_free(&s);
    unlink(path);
    rmdir(dir);
}


/* A 1M bar opening on 1 January 2024 closes at the last millisecond of
 * January. */
static void synth_csv_month_close_time(void **unused)
{
    ohlcx_series s = generate("BTCUSDT", "1M", 1, 0, 42);
    char dir[64], path[128], lines[2][256];
    char expected[64];

    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/BTCUSDT-1M.csv", dir);
    assert_int_equal(ohlcx_write_binance_csv(&s, path), 0);
    read_lines(path, lines, 2);
    snprintf(expected, sizeof expected, ",%lld,", (long long)(FEB_1_2024 / 1000 - 1));

    assert_int_equal(s.n, 1);
    assert_non_null(strstr(lines[1], expected));
    assert_int_equal(ohlcx_write_binance_csv(&s, "/nonexistent/BTCUSDT-1M.csv"), OHLCX_EIO);
    ohlcx_series_free(&s);
    unlink(path);
    rmdir(dir);
}


static void synth_invalid_inputs(void **unused)
{
    ohlcx_synth_options options;
    ohlcx_series s;

    ohlcx_series_init(&s);
    ohlcx_synth_options_default(&options);
    assert_int_equal(ohlcx_synth_series("", "15m", &options, &s), OHLCX_EINVAL);
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "7m", &options, &s), OHLCX_EINVAL);
    options.months = 0;
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), OHLCX_EINVAL);
    options.months = 1;
    options.planted = 0.3;
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), OHLCX_EINVAL);
    options.planted = 1.5;
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), OHLCX_EINVAL);
    options.planted = 0;
    options.planted_daily = 0.9;
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), OHLCX_EINVAL);
    options.planted = 0.9;
    options.planted_daily = 0.4;
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), OHLCX_EINVAL);
    options.planted = 0;
    options.planted_daily = 0;
    options.start_us = -1;
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "15m", &options, &s), OHLCX_EINVAL);
    assert_int_equal(s.n, 0);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synth_same_inputs_same_series),
        cmocka_unit_test(synth_seed_changes_closes),
        cmocka_unit_test(synth_crypto_15m_month_count),
        cmocka_unit_test(synth_crypto_long_bars),
        cmocka_unit_test(synth_stock_15m_month_count),
        cmocka_unit_test(synth_stock_session_opens),
        cmocka_unit_test(synth_forex_week_spring_dst),
        cmocka_unit_test(synth_forex_week_autumn_dst),
        cmocka_unit_test(synth_forex_4h_partial_bars),
        cmocka_unit_test(synth_forex_christmas),
        cmocka_unit_test(synth_forex_january_by_name),
        cmocka_unit_test(synth_class_from_options),
        cmocka_unit_test(synth_forex_gaps_only_after_close),
        cmocka_unit_test(synth_ohlc_consistent),
        cmocka_unit_test(synth_open_is_last_close),
        cmocka_unit_test(synth_price_levels),
        cmocka_unit_test(synth_planted_shapes),
        cmocka_unit_test(synth_daily_direction_by_hand),
        cmocka_unit_test(synth_planted_daily_rule),
        cmocka_unit_test(synth_planted_daily_rates),
        cmocka_unit_test(synth_unplanted_no_signal),
        cmocka_unit_test(synth_volatility_clusters),
        cmocka_unit_test(synth_stock_volume_u_shape),
        cmocka_unit_test(synth_csv_lines_by_hand),
        cmocka_unit_test(synth_csv_round_trip),
        cmocka_unit_test(synth_csv_month_close_time),
        cmocka_unit_test(synth_invalid_inputs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
