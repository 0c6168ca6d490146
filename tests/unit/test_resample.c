/*
 * Tests of resampling: hand-made series with values worked out by hand,
 * calendar alignment (weeks across a year end, months, quarters, a forex
 * session day across New York's clock changes), the rejection of targets a
 * source cannot build, two properties (two steps give the bins of one step,
 * and resampling commutes with appending bars), the catalogue's
 * derived_from column, and real file pairs from the real data folder whose
 * exchange candles the resampled bins must reproduce.
 *
 * Bar i of a made series opens at start + i * step with open 100 + i,
 * high open + 2, low open - 1, close open + 0.5 and volume 1 + i.
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ohlcx/check.h"
#include "ohlcx/quality.h"
#include "ohlcx/resample.h"
#include "ohlcx/store.h"
#include "test_format_helpers.h"

#define MINUTE OHLCX_US_PER_MINUTE
#define HOUR OHLCX_US_PER_HOUR
#define DAY OHLCX_US_PER_DAY


/* Returns the UTC microseconds of a "YYYY-MM-DD HH:MM" text. */
static int64_t at(const char *text)
{
    int64_t t = 0;

    if (ohlcx_parse_datetime(text, strlen(text), &t) != 0)
        fail_msg("bad test time %s", text);
    return t;
}


static void make_series(ohlcx_series *s, const char *timeframe, int asset_class, int64_t start,
                        int64_t step, size_t n)
{
    ohlcx_series_init(s);
    snprintf(s->symbol, sizeof s->symbol, "TEST");
    snprintf(s->timeframe, sizeof s->timeframe, "%s", timeframe);
    s->asset_class = asset_class;
    for (size_t i = 0; i < n; i++) {
        double open = 100.0 + (double)i;

        assert_int_equal(ohlcx_series_append(s, start + (int64_t)i * step, open, open + 2,
                                             open - 1, open + 0.5, 1.0 + (double)i),
                         0);
    }
}


/* Removes row r, keeping the order. */
static void remove_row(ohlcx_series *s, size_t r)
{
    for (size_t i = r; i + 1 < s->n; i++) {
        s->open_time[i] = s->open_time[i + 1];
        s->open[i] = s->open[i + 1];
        s->high[i] = s->high[i + 1];
        s->low[i] = s->low[i + 1];
        s->close[i] = s->close[i + 1];
        s->volume[i] = s->volume[i + 1];
        s->flags[i] = s->flags[i + 1];
    }
    s->n--;
}


static void assert_time(int64_t actual, const char *expected)
{
    char text[20];

    ohlcx_format_datetime(actual, text);
    assert_string_equal(text, expected);
}


static void resample_ok(const ohlcx_series *s, const char *target,
                        const ohlcx_resample_options *options, ohlcx_resampled *out)
{
    if (ohlcx_resample(s, target, options, out) != 0)
        fail_msg("resample %s to %s: %s", s->timeframe, target, ohlcx_last_error());
}


static void five_minutes_missing_sub_bar(void **state)
{
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    make_series(&s, "1m", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:00"), MINUTE, 10);
    remove_row(&s, 2); /* 00:02 is missing */
    ohlcx_resampled_init(&r);
    resample_ok(&s, "5m", NULL, &r);

    assert_int_equal(r.series.n, 2);
    assert_time(r.series.open_time[0], "2024-01-01 00:00:00");
    assert_int_equal(r.sub_bars[0], 4);
    assert_int_equal(r.expected[0], 5);
    assert_int_equal(r.series.flags[0], OHLCX_FLAG_PARTIAL);
    assert_true(r.series.open[0] == 100.0);
    assert_true(r.series.high[0] == 106.0); /* bar 4: open 104 + 2 */
    assert_true(r.series.low[0] == 99.0);
    assert_true(r.series.close[0] == 104.5);
    assert_true(r.series.volume[0] == 1 + 2 + 4 + 5); /* bars 0, 1, 3, 4 */

    assert_time(r.series.open_time[1], "2024-01-01 00:05:00");
    assert_int_equal(r.sub_bars[1], 5);
    assert_int_equal(r.series.flags[1], 0); /* ends with the last bar: closed */
    assert_true(r.series.open[1] == 105.0);
    assert_true(r.series.high[1] == 111.0);
    assert_true(r.series.low[1] == 104.0);
    assert_true(r.series.close[1] == 109.5);
    assert_true(r.series.volume[1] == 6 + 7 + 8 + 9 + 10);
    assert_int_equal(r.partial, 1);
    assert_int_equal(r.open_bins, 0);
    assert_string_equal(r.series.timeframe, "5m");
    assert_string_equal(r.series.symbol, "TEST");

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


static void flags_carried_up(void **state)
{
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    make_series(&s, "1m", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:00"), MINUTE, 15);
    s.flags[1] = OHLCX_FLAG_REPAIRED;
    s.flags[3] = OHLCX_FLAG_SYNTHETIC;
    s.flags[7] = OHLCX_FLAG_SYNTHETIC;
    ohlcx_resampled_init(&r);
    resample_ok(&s, "5m", NULL, &r);

    assert_int_equal(r.series.n, 3);
    assert_int_equal(r.series.flags[0], OHLCX_FLAG_REPAIRED | OHLCX_FLAG_SYNTHETIC);
    assert_int_equal(r.series.flags[1], OHLCX_FLAG_SYNTHETIC);
    assert_int_equal(r.series.flags[2], 0);
    assert_int_equal(r.partial, 0);

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


static void optional_columns_summed(void **state)
{
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    make_series(&s, "1h", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:00"), HOUR, 4);
    assert_int_equal(ohlcx_series_add_extra(&s, OHLCX_EXTRA_TRADES | OHLCX_EXTRA_QUOTE_VOLUME),
                     0);
    for (size_t i = 0; i < 4; i++) {
        s.extra_column[1][i] = 10.0 * (double)(i + 1); /* trades: 10 20 30 40 */
        s.extra_column[0][i] = 0.5;
    }
    s.extra_column[0][3] = NAN;
    ohlcx_resampled_init(&r);
    resample_ok(&s, "2h", NULL, &r);

    assert_int_equal(r.series.n, 2);
    assert_int_equal(r.series.extra, OHLCX_EXTRA_TRADES | OHLCX_EXTRA_QUOTE_VOLUME);
    assert_true(r.series.extra_column[1][0] == 30.0);
    assert_true(r.series.extra_column[1][1] == 70.0);
    assert_true(r.series.extra_column[0][0] == 1.0);
    assert_true(isnan(r.series.extra_column[0][1]));

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


/* 2024-12-28 is a Saturday; weeks start on Mondays 2024-12-23, 2024-12-30
 * (running into 2025) and 2025-01-06. */
static void week_monday_across_year_end(void **state)
{
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    make_series(&s, "1d", OHLCX_ASSET_CRYPTO, at("2024-12-28 00:00"), DAY, 12); /* to Jan 8 */
    ohlcx_resampled_init(&r);
    resample_ok(&s, "1w", NULL, &r);

    assert_int_equal(r.series.n, 3);
    assert_time(r.series.open_time[0], "2024-12-23 00:00:00");
    assert_time(r.series.open_time[1], "2024-12-30 00:00:00");
    assert_time(r.series.open_time[2], "2025-01-06 00:00:00");
    assert_int_equal(r.sub_bars[0], 2);
    assert_int_equal(r.sub_bars[1], 7);
    assert_int_equal(r.sub_bars[2], 3);
    assert_int_equal(r.expected[1], 7);
    assert_int_equal(r.series.flags[0], OHLCX_FLAG_PARTIAL);
    assert_int_equal(r.series.flags[1], 0);
    assert_int_equal(r.series.flags[2], OHLCX_FLAG_PARTIAL);
    assert_int_equal(r.open_bins, 1);
    assert_true(r.series.open[1] == 102.0);  /* Dec 30 is bar 2 */
    assert_true(r.series.close[1] == 108.5); /* Jan 5 is bar 8 */

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


static void month_from_january_31(void **state)
{
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    /* Jan 30, Jan 31, then all 29 days of February 2024 and March 1. */
    make_series(&s, "1d", OHLCX_ASSET_CRYPTO, at("2024-01-30 00:00"), DAY, 32);
    ohlcx_resampled_init(&r);
    resample_ok(&s, "1M", NULL, &r);

    assert_int_equal(r.series.n, 3);
    assert_time(r.series.open_time[0], "2024-01-01 00:00:00");
    assert_time(r.series.open_time[1], "2024-02-01 00:00:00");
    assert_time(r.series.open_time[2], "2024-03-01 00:00:00");
    assert_int_equal(r.sub_bars[0], 2);
    assert_int_equal(r.expected[0], 31);
    assert_int_equal(r.sub_bars[1], 29);
    assert_int_equal(r.expected[1], 29); /* leap year */
    assert_int_equal(r.series.flags[0], OHLCX_FLAG_PARTIAL);
    assert_int_equal(r.series.flags[1], 0);
    assert_int_equal(r.series.flags[2], OHLCX_FLAG_PARTIAL);
    assert_true(r.series.open[1] == 102.0);
    assert_true(r.series.close[1] == 130.5);
    assert_true(r.series.volume[1] == (3.0 + 31.0) * 29 / 2);

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


static void month_from_hours_counts_slots(void **state)
{
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    make_series(&s, "1h", OHLCX_ASSET_CRYPTO, at("2023-02-01 00:00"), HOUR, 28 * 24 + 1);
    ohlcx_resampled_init(&r);
    resample_ok(&s, "1M", NULL, &r);

    assert_int_equal(r.series.n, 2);
    assert_int_equal(r.sub_bars[0], 672);
    assert_int_equal(r.expected[0], 672); /* 2023 is no leap year */
    assert_int_equal(r.series.flags[0], 0);
    assert_int_equal(r.expected[1], 31 * 24);

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


static void quarters_from_months(void **state)
{
    ohlcx_series s;
    ohlcx_resampled r;
    static const char *months[] = {"2023-11-01 00:00", "2023-12-01 00:00", "2024-01-01 00:00",
                                   "2024-02-01 00:00", "2024-03-01 00:00", "2024-04-01 00:00"};

    (void)state;
    make_series(&s, "1M", OHLCX_ASSET_CRYPTO, 0, 0, 6);
    for (size_t i = 0; i < 6; i++)
        s.open_time[i] = at(months[i]);
    ohlcx_resampled_init(&r);
    resample_ok(&s, "3M", NULL, &r);

    assert_int_equal(r.series.n, 3);
    assert_time(r.series.open_time[0], "2023-10-01 00:00:00");
    assert_time(r.series.open_time[1], "2024-01-01 00:00:00");
    assert_time(r.series.open_time[2], "2024-04-01 00:00:00");
    assert_int_equal(r.sub_bars[0], 2);
    assert_int_equal(r.expected[0], 3);
    assert_int_equal(r.sub_bars[1], 3);
    assert_int_equal(r.series.flags[0], OHLCX_FLAG_PARTIAL);
    assert_int_equal(r.series.flags[1], 0);
    assert_int_equal(r.series.flags[2], OHLCX_FLAG_PARTIAL); /* April has not closed */
    assert_true(r.series.high[1] == 106.0);
    assert_true(r.series.low[1] == 101.0);

    /* The same quarters from days: Q1 2024 has 31 + 29 + 31 days. */
    ohlcx_series_free(&s);
    make_series(&s, "1d", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:00"), DAY, 91);
    resample_ok(&s, "3M", NULL, &r);
    assert_int_equal(r.series.n, 1);
    assert_int_equal(r.sub_bars[0], 91);
    assert_int_equal(r.expected[0], 91);
    assert_int_equal(r.series.flags[0], 0);

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


/* Forex session days start at 17:00 New York: 22:00 UTC in winter and
 * 21:00 UTC in summer. New York moved its clocks forward on 2024-03-10 and
 * back on 2024-11-03, so the session days around them last 23 and 25 hours. */
static void session_day_across_dst(void **state)
{
    ohlcx_resample_options options;
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    ohlcx_resample_options_init(&options);
    options.day_start = OHLCX_DAY_SESSION;
    options.calendar = OHLCX_CALENDAR_ALWAYS; /* count every hour, weekend too */
    make_series(&s, "1h", OHLCX_ASSET_FOREX, at("2024-03-08 22:00"), HOUR, 71);
    ohlcx_resampled_init(&r);
    resample_ok(&s, "1d", &options, &r);

    assert_int_equal(r.series.n, 3);
    assert_time(r.series.open_time[0], "2024-03-08 22:00:00");
    assert_time(r.series.open_time[1], "2024-03-09 22:00:00");
    assert_time(r.series.open_time[2], "2024-03-10 21:00:00");
    assert_int_equal(r.sub_bars[0], 24);
    assert_int_equal(r.sub_bars[1], 23);
    assert_int_equal(r.expected[1], 23);
    assert_int_equal(r.sub_bars[2], 24);
    assert_int_equal(r.partial, 0); /* the last bar ends at 2024-03-11 21:00 */
    assert_true(r.series.open[1] == 124.0);
    assert_true(r.series.close[1] == 146.5);

    ohlcx_series_free(&s);
    make_series(&s, "1h", OHLCX_ASSET_FOREX, at("2024-11-01 21:00"), HOUR, 24 + 25 + 1);
    resample_ok(&s, "1d", &options, &r);
    assert_int_equal(r.series.n, 3);
    assert_time(r.series.open_time[1], "2024-11-02 21:00:00");
    assert_time(r.series.open_time[2], "2024-11-03 22:00:00");
    assert_int_equal(r.sub_bars[1], 25);
    assert_int_equal(r.expected[1], 25);
    assert_int_equal(r.series.flags[1], 0);
    assert_int_equal(r.open_bins, 1);

    /* Without the option the same bars fall into UTC days. */
    resample_ok(&s, "1d", NULL, &r);
    assert_time(r.series.open_time[0], "2024-11-01 00:00:00");

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


/* On the forex calendar the weekend hours are not expected, so a Sunday
 * session day that starts with the market at 22:00 UTC is complete. */
static void session_day_forex_calendar(void **state)
{
    ohlcx_resample_options options;
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    ohlcx_resample_options_init(&options);
    options.day_start = OHLCX_DAY_SESSION;
    /* Sunday 2024-01-07 22:00 UTC is 17:00 in New York. */
    make_series(&s, "1h", OHLCX_ASSET_FOREX, at("2024-01-07 22:00"), HOUR, 24);
    ohlcx_resampled_init(&r);
    resample_ok(&s, "1d", &options, &r);

    assert_int_equal(r.series.n, 1);
    assert_time(r.series.open_time[0], "2024-01-07 22:00:00");
    assert_int_equal(r.expected[0], 24);
    assert_int_equal(r.series.flags[0], 0);

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


static void unbuildable_targets_rejected(void **state)
{
    (void)state;
    assert_int_equal(ohlcx_resample_check("45m", "1h", OHLCX_DAY_UTC), OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "'45m'");
    assert_int_equal(ohlcx_resample_check("3d", "1w", OHLCX_DAY_UTC), OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "cannot build 1w bars from 3d bars");
    assert_int_equal(ohlcx_resample_check("1w", "1M", OHLCX_DAY_UTC), OHLCX_EINVAL);
    assert_int_equal(ohlcx_resample_check("3d", "1M", OHLCX_DAY_UTC), OHLCX_EINVAL);
    assert_int_equal(ohlcx_resample_check("1h", "1h", OHLCX_DAY_UTC), OHLCX_EINVAL);
    assert_int_equal(ohlcx_resample_check("4h", "1h", OHLCX_DAY_UTC), OHLCX_EINVAL);
    assert_int_equal(ohlcx_resample_check("4h", "1d", OHLCX_DAY_SESSION), OHLCX_EINVAL);
    assert_int_equal(ohlcx_resample_check("1M", "3M", OHLCX_DAY_UTC), 0);
    assert_int_equal(ohlcx_resample_check("1d", "1M", OHLCX_DAY_UTC), 0);
    assert_int_equal(ohlcx_resample_check("1d", "1w", OHLCX_DAY_UTC), 0);
    assert_int_equal(ohlcx_resample_check("4h", "1d", OHLCX_DAY_UTC), 0);
    assert_int_equal(ohlcx_resample_check("15m", "1d", OHLCX_DAY_SESSION), 0);
}


/* 1h bars that open at :30 straddle every 2h boundary. */
static void crossing_bar_rejected(void **state)
{
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    make_series(&s, "1h", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:30"), HOUR, 4);
    ohlcx_resampled_init(&r);
    assert_int_equal(ohlcx_resample(&s, "2h", NULL, &r), OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "2024-01-01 01:30:00 crosses the 2h boundary");
    assert_int_equal(r.series.n, 0);

    s.open_time[2] = s.open_time[1];
    assert_int_equal(ohlcx_resample(&s, "1d", NULL, &r), OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(), "not sorted: row 2");

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


static void open_bin_flagged_or_dropped(void **state)
{
    ohlcx_resample_options options;
    ohlcx_series s;
    ohlcx_resampled r;

    (void)state;
    make_series(&s, "1m", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:00"), MINUTE, 12);
    ohlcx_resampled_init(&r);
    ohlcx_resample_options_init(&options);
    resample_ok(&s, "5m", &options, &r);
    assert_int_equal(r.series.n, 3);
    assert_int_equal(r.sub_bars[2], 2);
    assert_int_equal(r.series.flags[2], OHLCX_FLAG_PARTIAL);
    assert_int_equal(r.open_bins, 1);

    options.complete_only = 1;
    resample_ok(&s, "5m", &options, &r);
    assert_int_equal(r.series.n, 2);
    assert_int_equal(r.open_bins, 1);
    assert_int_equal(r.partial, 0);

    /* With the clock at 00:07 the second bin has not closed either. */
    options.now_us = at("2024-01-01 00:07");
    resample_ok(&s, "5m", &options, &r);
    assert_int_equal(r.series.n, 1);
    assert_int_equal(r.open_bins, 2);

    ohlcx_resampled_free(&r);
    ohlcx_series_free(&s);
}


/* A 1m series of three days with gaps and flags from a fixed LCG. */
static void make_random_minutes(ohlcx_series *s, size_t n)
{
    uint64_t state = 12345;
    double price = 1000.0;
    int64_t t = at("2024-02-28 21:17");

    ohlcx_series_init(s);
    snprintf(s->symbol, sizeof s->symbol, "LCG");
    snprintf(s->timeframe, sizeof s->timeframe, "1m");
    for (size_t i = 0; i < n; i++) {
        double step, open, close;

        state = state * 6364136223846793005u + 1442695040888963407u;
        step = (double)((state >> 33) % 2001) / 100.0 - 10.0;
        open = price;
        close = price + step;
        assert_int_equal(ohlcx_series_append(s, t, open, fmax(open, close) + 0.25,
                                             fmin(open, close) - 0.25, close,
                                             (double)((state >> 20) % 1000) / 7.0),
                         0);
        s->flags[i] = (state >> 50) % 97 == 0 ? OHLCX_FLAG_SYNTHETIC : 0;
        price = close;
        t += (state >> 40) % 53 == 0 ? 7 * MINUTE : MINUTE; /* a gap now and then */
    }
}


static void assert_same_bins(const ohlcx_series *a, const ohlcx_series *b, size_t offset_b)
{
    for (size_t i = 0; i < a->n; i++) {
        size_t j = i + offset_b;

        if (a->open_time[i] != b->open_time[j] || a->open[i] != b->open[j] ||
            a->high[i] != b->high[j] || a->low[i] != b->low[j] || a->close[i] != b->close[j] ||
            a->flags[i] != b->flags[j] ||
            fabs(a->volume[i] - b->volume[j]) > 1e-9 * fabs(b->volume[j]))
            fail_msg("bin %zu differs from bin %zu", i, j);
    }
}


static void two_steps_equal_one_step(void **state)
{
    ohlcx_series s;
    ohlcx_resampled quarter, hour_two_steps, hour_direct;

    (void)state;
    make_random_minutes(&s, 4000);
    ohlcx_resampled_init(&quarter);
    ohlcx_resampled_init(&hour_two_steps);
    ohlcx_resampled_init(&hour_direct);
    resample_ok(&s, "15m", NULL, &quarter);
    resample_ok(&quarter.series, "1h", NULL, &hour_two_steps);
    resample_ok(&s, "1h", NULL, &hour_direct);

    assert_true(hour_direct.partial > 3); /* the gaps made partial hours */
    assert_int_equal(hour_two_steps.series.n, hour_direct.series.n);
    assert_int_equal(hour_two_steps.partial, hour_direct.partial);
    assert_same_bins(&hour_two_steps.series, &hour_direct.series, 0);

    /* The same for days from hours and from minutes. */
    resample_ok(&hour_direct.series, "1d", NULL, &quarter);
    resample_ok(&s, "1d", NULL, &hour_two_steps);
    assert_int_equal(quarter.series.n, hour_two_steps.series.n);
    assert_same_bins(&quarter.series, &hour_two_steps.series, 0);

    ohlcx_resampled_free(&quarter);
    ohlcx_resampled_free(&hour_two_steps);
    ohlcx_resampled_free(&hour_direct);
    ohlcx_series_free(&s);
}


/* Building every target in one call, each from a finer target, gives the
 * bins, counts and flags of building each from the minutes. */
static void many_targets_equal_single(void **state)
{
    static const char *targets[] = {"1M", "3m", "5m", "15m", "30m", "1h", "2h", "4h",
                                    "6h", "8h", "12h", "1d", "3d", "1w", "3M"};
    enum { COUNT = sizeof targets / sizeof targets[0] };
    ohlcx_resample_options options;
    ohlcx_resampled many[COUNT], single;
    ohlcx_series s;

    (void)state;
    make_random_minutes(&s, 4000);
    ohlcx_resample_options_init(&options);
    options.complete_only = 1;
    for (int k = 0; k < COUNT; k++)
        ohlcx_resampled_init(&many[k]);
    ohlcx_resampled_init(&single);
    assert_int_equal(ohlcx_resample_many(&s, targets, COUNT, &options, many), 0);

    for (int k = 0; k < COUNT; k++) {
        resample_ok(&s, targets[k], &options, &single);
        assert_string_equal(many[k].series.timeframe, targets[k]);
        assert_int_equal(many[k].series.n, single.series.n);
        assert_int_equal(many[k].partial, single.partial);
        assert_int_equal(many[k].open_bins, single.open_bins);
        assert_same_bins(&many[k].series, &single.series, 0);
        for (size_t b = 0; b < single.series.n; b++) {
            assert_int_equal(many[k].sub_bars[b], single.sub_bars[b]);
            assert_int_equal(many[k].expected[b], single.expected[b]);
        }
    }

    for (int k = 0; k < COUNT; k++)
        ohlcx_resampled_free(&many[k]);
    ohlcx_resampled_free(&single);
    ohlcx_series_free(&s);
}


/* Copies rows [begin, end) of s. */
static void slice(const ohlcx_series *s, size_t begin, size_t end, ohlcx_series *out)
{
    ohlcx_series_init(out);
    snprintf(out->symbol, sizeof out->symbol, "%s", s->symbol);
    snprintf(out->timeframe, sizeof out->timeframe, "%s", s->timeframe);
    for (size_t i = begin; i < end; i++) {
        assert_int_equal(ohlcx_series_append(out, s->open_time[i], s->open[i], s->high[i],
                                             s->low[i], s->close[i], s->volume[i]),
                         0);
        out->flags[out->n - 1] = s->flags[i];
    }
}


/* Resampling a prefix and then the whole series gives the prefix's closed
 * bins again, and bins of the appended bars equal those of the whole. */
static void commutes_with_append(void **state)
{
    static const size_t cuts[] = {1, 59, 60, 61, 1000, 2999, 3999};
    ohlcx_resample_options options;
    ohlcx_series s, head, tail;
    ohlcx_resampled whole, part;

    (void)state;
    make_random_minutes(&s, 4000);
    ohlcx_resampled_init(&whole);
    ohlcx_resampled_init(&part);
    ohlcx_resample_options_init(&options);
    options.complete_only = 1;
    resample_ok(&s, "1h", NULL, &whole);

    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t cut = cuts[c], head_bins, first;

        slice(&s, 0, cut, &head);
        resample_ok(&head, "1h", &options, &part);
        head_bins = part.series.n;
        assert_true(head_bins <= whole.series.n);
        assert_same_bins(&part.series, &whole.series, 0);

        /* Append the bars from the end of the head's last closed bin on. */
        first = 0;
        while (head_bins > 0 && first < s.n &&
               s.open_time[first] < whole.series.open_time[head_bins - 1] + HOUR)
            first++;
        slice(&s, first, s.n, &tail);
        resample_ok(&tail, "1h", NULL, &part);
        assert_int_equal(head_bins + part.series.n, whole.series.n);
        assert_same_bins(&part.series, &whole.series, head_bins);
        ohlcx_series_free(&tail);
        ohlcx_series_free(&head);
    }

    ohlcx_resampled_free(&whole);
    ohlcx_resampled_free(&part);
    ohlcx_series_free(&s);
}

/* The many-targets property on a series of five chunks of the pass (the
 * library reads 16,384 source rows at a time), with gaps throughout. */
static void many_targets_across_chunks(void **state)
{
    static const char *targets[] = {"3m", "5m", "15m", "1h", "6h", "1d", "1w", "1M"};
    enum { COUNT = sizeof targets / sizeof targets[0] };
    ohlcx_resampled many[COUNT], single;
    ohlcx_series s;

    (void)state;
    make_random_minutes(&s, 70000);
    for (int k = 0; k < COUNT; k++)
        ohlcx_resampled_init(&many[k]);
    ohlcx_resampled_init(&single);
    assert_int_equal(ohlcx_resample_many(&s, targets, COUNT, NULL, many), 0);

    for (int k = 0; k < COUNT; k++) {
        resample_ok(&s, targets[k], NULL, &single);
        assert_int_equal(many[k].series.n, single.series.n);
        assert_int_equal(many[k].partial, single.partial);
        assert_same_bins(&many[k].series, &single.series, 0);
        for (size_t b = 0; b < single.series.n; b++) {
            assert_int_equal(many[k].sub_bars[b], single.sub_bars[b]);
            assert_int_equal(many[k].expected[b], single.expected[b]);
        }
    }

    for (int k = 0; k < COUNT; k++)
        ohlcx_resampled_free(&many[k]);
    ohlcx_resampled_free(&single);
    ohlcx_series_free(&s);
}


/* Every minute of January 2024 (44,640 bars, so the one 1M bin spans three
 * chunks of the pass). Bar i has open 100 + i and volume 1 + i. The month
 * opens at 100, closes at 100 + 44639 + 0.5, has high 44739 + 2, low 99
 * and volume 44640 * 44641 / 2. January 16 is rows 21600 .. 23039. */
static void month_of_minutes_across_chunks(void **state)
{
    static const char *targets[] = {"1M", "1d", "3m"};
    ohlcx_resampled month, bins[3];
    ohlcx_series s;

    (void)state;
    make_series(&s, "1m", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:00"), MINUTE, 44640);
    ohlcx_resampled_init(&month);
    resample_ok(&s, "1M", NULL, &month);
    assert_int_equal(month.series.n, 1);
    assert_true(month.series.open[0] == 100.0);
    assert_true(month.series.high[0] == 44741.0);
    assert_true(month.series.low[0] == 99.0);
    assert_true(month.series.close[0] == 44739.5);
    assert_true(month.series.volume[0] == 996387120.0);
    assert_int_equal(month.sub_bars[0], 44640);
    assert_int_equal(month.expected[0], 44640);
    assert_int_equal(month.series.flags[0], 0);

    for (int k = 0; k < 3; k++)
        ohlcx_resampled_init(&bins[k]);
    assert_int_equal(ohlcx_resample_many(&s, targets, 3, NULL, bins), 0);
    assert_int_equal(bins[2].series.n, 14880);
    assert_int_equal(bins[1].series.n, 31);
    assert_int_equal(bins[1].series.open_time[15], at("2024-01-16 00:00"));
    assert_true(bins[1].series.open[15] == 21700.0);
    assert_true(bins[1].series.high[15] == 23141.0);
    assert_true(bins[1].series.low[15] == 21699.0);
    assert_true(bins[1].series.close[15] == 23139.5);
    assert_true(bins[1].series.volume[15] == 32141520.0);
    assert_int_equal(bins[1].sub_bars[15], 1440);
    assert_int_equal(bins[0].series.n, 1);
    assert_true(bins[0].series.volume[0] == 996387120.0);
    assert_int_equal(bins[0].sub_bars[0], 44640);
    assert_int_equal(bins[0].partial, 0);

    for (int k = 0; k < 3; k++)
        ohlcx_resampled_free(&bins[k]);
    ohlcx_resampled_free(&month);
    ohlcx_series_free(&s);
}


/* Two bars open 30 s late: minute 5004 crosses the 5m boundary at 5005,
 * and minute 30002 the 3m boundary at 30003 (2024-01-21 20:03), in a later
 * chunk. As when each target reads the source whole, finer targets first,
 * the error is the 3m one, and no target keeps bins. */
static void crossing_reported_in_target_order(void **state)
{
    static const char *targets[] = {"5m", "3m"};
    ohlcx_resampled bins[2];
    ohlcx_series s;

    (void)state;
    make_series(&s, "1m", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:00"), MINUTE, 40000);
    s.open_time[5004] += 30 * OHLCX_US_PER_SECOND;
    s.open_time[30002] += 30 * OHLCX_US_PER_SECOND;
    for (int k = 0; k < 2; k++)
        ohlcx_resampled_init(&bins[k]);
    assert_int_equal(ohlcx_resample_many(&s, targets, 2, NULL, bins), OHLCX_EINVAL);
    assert_text_contains(ohlcx_last_error(),
                         "2024-01-21 20:02:30 crosses the 3m boundary at 2024-01-21 20:03:00");
    assert_int_equal(bins[0].series.n, 0);
    assert_int_equal(bins[1].series.n, 0);

    for (int k = 0; k < 2; k++)
        ohlcx_resampled_free(&bins[k]);
    ohlcx_series_free(&s);
}



/* A catalogue written before derived_from existed gets the column on open. */
static void catalogue_derived_from_migrated(void **state)
{
    char dir[] = "/tmp/ohlcx-resample-XXXXXX", path[256], command[300];
    ohlcx_store_entry entry;
    ohlcx_store *store = NULL;
    ohlcx_series s;
    sqlite3 *db = NULL;

    (void)state;
    assert_non_null(mkdtemp(dir));
    make_series(&s, "1h", OHLCX_ASSET_CRYPTO, at("2024-01-01 00:00"), HOUR, 3);
    snprintf(s.symbol, sizeof s.symbol, "BTCUSDT");
    assert_int_equal(ohlcx_store_open(dir, &store), 0);
    assert_int_equal(ohlcx_store_append(store, &s, NULL, NULL), 0);
    ohlcx_store_close(store);

    snprintf(path, sizeof path, "%s/catalog.sqlite", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE series DROP COLUMN derived_from", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(ohlcx_store_open(dir, &store), 0);
    assert_int_equal(ohlcx_store_get(store, "BTCUSDT", "1h", &entry), 0);
    assert_string_equal(entry.derived_from, "");
    ohlcx_store_entry_free(&entry);
    assert_int_equal(ohlcx_store_set_derived(store, "BTCUSDT", "1h", "1m"), 0);
    assert_int_equal(ohlcx_store_get(store, "BTCUSDT", "1h", &entry), 0);
    assert_string_equal(entry.derived_from, "1m");
    ohlcx_store_entry_free(&entry);
    assert_int_equal(ohlcx_store_set_derived(store, "BTCUSDT", "4h", "1m"), OHLCX_EINVAL);
    ohlcx_store_close(store);

    ohlcx_series_free(&s);
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}


/* Real pairs: a finer file resampled against the exchange's own candles.
 * A pair counts the complete resampled bins whose open time the coarse file
 * has, and those with equal open, high, low and close and a volume within
 * VOLUME_TOLERANCE (relative). Counts were worked out with an independent
 * Python reading of the files. */
#define VOLUME_TOLERANCE 1e-9

typedef struct real_pair {
    const char *fine;
    const char *coarse;
    const char *target;
    size_t compared;
    size_t matched;
} real_pair;

static const real_pair real_pairs[] = {
    {"binance-closetime-localtz/BTCUSDT_1m_2024-12.csv",
     "binance-closetime-localtz/BTCUSDT_15m_2024.csv", "15m", 2784, 2784},
    {"binance-closetime-localtz/BTCUSDT_1m_2024-12.csv",
     "binance-kline-11col-datetime/BTCUSDT_1h.csv", "1h", 696, 696},
    {"binance-kline-11col-datetime/BTCUSDT_1h.csv", "binance-kline-11col-datetime/BTCUSDT_4h.csv",
     "4h", 4379, 4379},
    {"binance-kline-11col-datetime/BTCUSDT_4h.csv", "binance-kline-11col-datetime/BTCUSDT_1d.csv",
     "1d", 1824, 1824},
    /* The miss is 2026-01-06: the 1d file was downloaded during that day. */
    {"binance-kline-11col-datetime/BTCUSDT_4h.csv", "binance-ohlcv-datetime/BTCUSDT_1d.csv", "1d",
     1629, 1628},
    {"bybit-linear-ohlcv-isotime/BTCUSDT_5m.csv", "bybit-linear-ohlcv-isotime/BTCUSDT_15m.csv",
     "15m", 8639, 8639},
    /* The miss is the 60m file's last bar, saved while it was still open. */
    {"bybit-linear-ohlcv-isotime/BTCUSDT_15m.csv", "bybit-linear-ohlcv-isotime/BTCUSDT_60m.csv",
     "1h", 720, 719},
    {"bybit-linear-ohlcv-isotime/BTCUSDT_60m.csv", "bybit-linear-ohlcv-isotime/BTCUSDT_240m.csv",
     "4h", 179, 179},
    {"freqtrade-json/ETH_USDT-5m.json", "freqtrade-json/ETH_USDT-1h.json", "1h", 2249, 2249},
    {"freqtrade-json/ETH_USDT-1h.json", "binance-kline-11col-datetime/ETHUSDT_4h.csv", "4h", 596,
     596},
    /* Binance futures' own 1h bars of 2024-10-28 20:00 and 21:00 disagree
     * with its 15m bars of those hours (an exchange incident). */
    {"binance-futures-ohlcv-datetime/LTCUSDT_15m_365.csv",
     "binance-futures-ohlcv-datetime/LTCUSDT_1h_365.csv", "1h", 8759, 8757},
    {"binance-ohlcv-datetime/LTCUSDT_1h.csv", "binance-ohlcv-datetime/LTCUSDT_4h.csv", "4h",
     17626, 17626},
    {"binance-ohlcv-datetime/LTCUSDT_4h.csv", "binance-ohlcv-datetime/LTCUSDT_1d.csv", "1d", 2937,
     2937},
    {"binance-ohlcv-datetime/LTCUSDT_1h.csv", "binance-kline-11col-datetime/LTCUSDT_4h.csv", "4h",
     9771, 9771},
};


static void read_real(const char *root, const char *file, ohlcx_series *s)
{
    ohlcx_read_options options = {NULL, NULL, OHLCX_BAD_ROWS_SKIP};
    ohlcx_layout_options layout = {NULL, NULL};
    ohlcx_read_report report;
    ohlcx_validation validation;
    char path[2048];

    snprintf(path, sizeof path, "%s/%s", root, file);
    ohlcx_series_init(s);
    if (ohlcx_read_candles_ex(path, &options, &layout, s, &report) != 0)
        fail_msg("%s: %s", file, ohlcx_last_error());
    ohlcx_read_report_free(&report);
    assert_int_equal(ohlcx_validate_basic(s, &validation), 0);
}


/* Lists the first mismatches, so a failure shows what differs. */
static void compare_pair(const real_pair *pair, const ohlcx_resampled *r, const ohlcx_series *coarse)
{
    size_t j = 0, compared = 0, matched = 0, listed = 0;

    for (size_t i = 0; i < r->series.n; i++) {
        const ohlcx_series *b = &r->series;

        if (b->flags[i] & OHLCX_FLAG_PARTIAL)
            continue;
        while (j < coarse->n && coarse->open_time[j] < b->open_time[i])
            j++;
        if (j == coarse->n)
            break;
        if (coarse->open_time[j] != b->open_time[i])
            continue;
        compared++;
        if (b->open[i] == coarse->open[j] && b->high[i] == coarse->high[j] &&
            b->low[i] == coarse->low[j] && b->close[i] == coarse->close[j] &&
            fabs(b->volume[i] - coarse->volume[j]) <= VOLUME_TOLERANCE * fabs(coarse->volume[j]))
            matched++;
        else if (listed++ < 3) {
            char text[20];

            ohlcx_format_datetime(b->open_time[i], text);
            print_message("%s -> %s: %s differs: %.10g %.10g %.10g %.10g %.10g vs %.10g %.10g "
                          "%.10g %.10g %.10g\n",
                          pair->fine, pair->coarse, text, b->open[i], b->high[i], b->low[i],
                          b->close[i], b->volume[i], coarse->open[j], coarse->high[j],
                          coarse->low[j], coarse->close[j], coarse->volume[j]);
        }
    }
    if (compared != pair->compared || matched != pair->matched)
        fail_msg("%s -> %s %s: %zu of %zu bins match, expected %zu of %zu", pair->fine,
                 pair->coarse, pair->target, matched, compared, pair->matched, pair->compared);
}


static void real_pairs_match_exchange(void **state)
{
    char buffer[2048];
    const char *root = real_data_folder(buffer, sizeof buffer);

    (void)state;
    if (access(root, R_OK) != 0) {
        if (real_data_is_required())
            fail_msg("real data folder %s is missing and OHLCX_REQUIRE_REAL_DATA is set", root);
        skip();
    }
    for (size_t p = 0; p < sizeof real_pairs / sizeof real_pairs[0]; p++) {
        ohlcx_series fine, coarse;
        ohlcx_resampled r;

        read_real(root, real_pairs[p].fine, &fine);
        read_real(root, real_pairs[p].coarse, &coarse);
        ohlcx_resampled_init(&r);
        resample_ok(&fine, real_pairs[p].target, NULL, &r);
        compare_pair(&real_pairs[p], &r, &coarse);
        ohlcx_resampled_free(&r);
        ohlcx_series_free(&fine);
        ohlcx_series_free(&coarse);
    }
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_minutes_missing_sub_bar),
        cmocka_unit_test(flags_carried_up),
        cmocka_unit_test(optional_columns_summed),
        cmocka_unit_test(week_monday_across_year_end),
        cmocka_unit_test(month_from_january_31),
        cmocka_unit_test(month_from_hours_counts_slots),
        cmocka_unit_test(quarters_from_months),
        cmocka_unit_test(session_day_across_dst),
        cmocka_unit_test(session_day_forex_calendar),
        cmocka_unit_test(unbuildable_targets_rejected),
        cmocka_unit_test(crossing_bar_rejected),
        cmocka_unit_test(open_bin_flagged_or_dropped),
        cmocka_unit_test(two_steps_equal_one_step),
        cmocka_unit_test(commutes_with_append),
        cmocka_unit_test(many_targets_equal_single),
        cmocka_unit_test(many_targets_across_chunks),
        cmocka_unit_test(month_of_minutes_across_chunks),
        cmocka_unit_test(crossing_reported_in_target_order),
        cmocka_unit_test(catalogue_derived_from_migrated),
        cmocka_unit_test(real_pairs_match_exchange),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
