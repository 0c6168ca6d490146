/*
 * Tests of the check engine (ohlcx_check_series). Each check has a
 * hand-written CSV in tests/data/check, and the expected count, example rows
 * and values are worked out by hand next to each test. Further tests cover
 * the repairs, the verdict under each policy and the JSON report.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"
#include "ohlcx/synth.h"
#include "quality/checks_internal.h"

#define HOUR OHLCX_US_PER_HOUR

/* 2024-01-01 00:00:00 UTC */
#define JAN1 (INT64_C(1704067200) * OHLCX_US_PER_SECOND)

/* A fixed "now" at the close of the 03:00 bar, the last bar of most test
 * files, so that no bar of theirs is in the future, partial or stale. */
#define LATER (JAN1 + 4 * HOUR)

typedef struct checked {
    ohlcx_series series;
    ohlcx_quality_report report;
} checked;


static void read_check_file(const char *name, const char *symbol, const char *timeframe,
                            ohlcx_series *series)
{
    const char *root = getenv("OHLCX_TEST_DATA");
    char path[OHLCX_PATH_MAX];
    ohlcx_read_options options = {symbol, timeframe, OHLCX_BAD_ROWS_SKIP};
    ohlcx_read_report read_report;

    assert_non_null(root);
    snprintf(path, sizeof path, "%s/check/%s", root, name);
    ohlcx_series_init(series);
    if (ohlcx_read_candles(path, &options, series, &read_report) != 0)
        fail_msg("%s", ohlcx_last_error());
    assert_int_equal(read_report.bad_row_count, 0);
    ohlcx_read_report_free(&read_report);
}


/* Reads a file and checks it with the default options but policy and now. */
static void run_check(checked *c, const char *name, const char *symbol, const char *timeframe,
                      int policy, int64_t now_us)
{
    ohlcx_check_options options;

    ohlcx_check_options_default(&options);
    options.policy = policy;
    options.now_us = now_us;
    read_check_file(name, symbol, timeframe, &c->series);
    if (ohlcx_check_series(&c->series, &options, &c->report) != 0)
        fail_msg("%s", ohlcx_last_error());
}


static void checked_free(checked *c)
{
    ohlcx_quality_report_free(&c->report);
    ohlcx_series_free(&c->series);
}


static const ohlcx_check_result *find(const ohlcx_check_result *results, size_t count,
                                      const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(results[i].name, name) == 0)
            return &results[i];
    fail_msg("no result named %s", name);
    return NULL;
}


static const ohlcx_check_result *check(const checked *c, const char *name)
{
    return find(c->report.checks, c->report.check_count, name);
}


static const ohlcx_check_result *repair(const checked *c, const char *name)
{
    return find(c->report.repairs, c->report.repair_count, name);
}


/* Sum of the counts of every check but the named ones (NULL-terminated). */
static size_t other_counts(const checked *c, ...)
{
    size_t total = 0;

    for (size_t i = 0; i < c->report.check_count; i++) {
        const char *name;
        int listed = 0;
        va_list args;

        va_start(args, c);
        while ((name = va_arg(args, const char *)) != NULL)
            listed |= strcmp(name, c->report.checks[i].name) == 0;
        va_end(args);
        if (!listed)
            total += c->report.checks[i].count;
    }
    return total;
}


static void clean_passes(void **state)
{
    checked c;

    (void)state;
    run_check(&c, "clean.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, JAN1 + 7 * HOUR);
    assert_int_equal(c.report.check_count, 22);
    assert_int_equal(other_counts(&c, NULL), 0);
    assert_int_equal(c.report.rows, 6);
    assert_int_equal(c.report.expected_bars, 6);
    assert_int_equal(c.report.calendar, OHLCX_CALENDAR_ALWAYS);
    assert_int_equal(c.report.repair_count, 0);
    assert_int_equal(c.report.verdict, OHLCX_VERDICT_PASS);
    checked_free(&c);
}


/* Rows 00 01 03 02 04: row 3 (02:00) opens an hour before row 2. */
static void unsorted_rows_found_and_sorted(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "unsorted.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPAIR, JAN1 + 6 * HOUR);
    r = check(&c, "unsorted_rows");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 3);
    assert_int_equal(r->examples[0].open_time, JAN1 + 2 * HOUR);
    assert_true(r->examples[0].value == 3600);
    assert_int_equal(other_counts(&c, "unsorted_rows", NULL), 0);
    assert_int_equal(repair(&c, "sorted")->count, 1);
    assert_int_equal(c.series.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(c.series.open_time[i], JAN1 + (int64_t)i * HOUR);
    assert_true(c.series.close[2] == 101);
    assert_int_equal(c.report.verdict, OHLCX_VERDICT_WARN);
    checked_free(&c);
}


/* Row 2 repeats row 1 exactly. */
static void duplicate_rows_dropped(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "duplicates.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPAIR, LATER);
    r = check(&c, "duplicate_rows");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_int_equal(r->examples[0].open_time, JAN1 + HOUR);
    assert_string_equal(r->examples[0].note, "copy of row 1");
    assert_int_equal(check(&c, "conflicting_duplicates")->count, 0);
    assert_int_equal(check(&c, "missing_bars")->count, 0);
    assert_int_equal(repair(&c, "dropped_duplicates")->count, 1);
    assert_int_equal(c.series.n, 3);
    checked_free(&c);
}


/* Row 2 has row 1's open time and close 101.5 instead of 102. */
static void conflicts_keep_first(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "conflicts.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPAIR, LATER);
    r = check(&c, "conflicting_duplicates");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_true(r->examples[0].value == 101.5);
    assert_int_equal(check(&c, "duplicate_rows")->count, 0);
    assert_int_equal(repair(&c, "dropped_conflicts")->count, 1);
    assert_int_equal(c.series.n, 3);
    assert_true(c.series.close[1] == 102);
    assert_int_equal(c.report.verdict, OHLCX_VERDICT_FAIL);
    checked_free(&c);
}


/* 24/7 1h bars: row 2 opens at 02:30, 1800 s after the grid. */
static void off_grid_crypto(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "off_grid.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER);
    r = check(&c, "off_grid");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_true(r->examples[0].value == 1800);
    checked_free(&c);
}


/* Stock 1h bars on the :30 grid; row 2 opens at 16:45, 900 s after it. */
static void off_grid_stock_offset(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "off_grid_stock.csv", "AAPL", "1h", OHLCX_POLICY_REPORT, LATER + 48 * HOUR);
    r = check(&c, "off_grid");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_true(r->examples[0].value == 900);
    checked_free(&c);
}


/* Rows 4 to 6 open 3.6 s (1/1000 h) apart in 1970; rows 5 and 6 are flagged. */
static void unit_switch_spacing(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "unit_switch.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER);
    r = check(&c, "unit_switch");
    assert_int_equal(r->count, 2);
    assert_int_equal(r->examples[0].row, 5);
    assert_int_equal(r->examples[1].row, 6);
    assert_float_equal(r->examples[0].value, 0.001, 1e-9);
    checked_free(&c);
}


/* Bars 00:00 to 07:00, now 05:00: rows 6 and 7 are in the future. */
static void future_bars_counted(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "future.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, JAN1 + 5 * HOUR);
    r = check(&c, "future_bars");
    assert_int_equal(r->count, 2);
    assert_int_equal(r->examples[0].row, 6);
    assert_true(r->examples[0].value == 3600);
    assert_true(r->examples[1].value == 7200);
    assert_int_equal(check(&c, "partial_last_bar")->count, 0);
    assert_int_equal(c.report.verdict, OHLCX_VERDICT_FAIL);
    checked_free(&c);
}


/* Last bar opens 05:00, now 05:30: it closes 1800 s after now. */
static void partial_last_bar_flagged(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "partial.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPAIR, JAN1 + 5 * HOUR + 1800 *
              OHLCX_US_PER_SECOND);
    r = check(&c, "partial_last_bar");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 5);
    assert_true(r->examples[0].value == 1800);
    assert_int_equal(repair(&c, "flagged_partial")->count, 1);
    assert_int_equal(c.series.flags[5], OHLCX_FLAG_PARTIAL);
    assert_int_equal(c.series.flags[4], 0);
    checked_free(&c);
}


/* First bars 14:30 on Mar 7 and 8, 13:30 on Monday Mar 11 (row 4). */
static void dst_shift_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "dst_shift.csv", "AAPL", "1h", OHLCX_POLICY_REPORT, LATER + 2400 * HOUR);
    r = check(&c, "dst_shift");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 4);
    assert_true(r->examples[0].value == -1);
    assert_int_equal(r->severity, OHLCX_SEVERITY_INFO);
    checked_free(&c);
}


/* Last bar closes 04:00, now 10:00: 6 timeframes old. */
static void stale_series_age(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "stale.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, JAN1 + 10 * HOUR);
    r = check(&c, "stale_series");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 3);
    assert_true(r->examples[0].value == 6);
    assert_int_equal(r->severity, OHLCX_SEVERITY_WARN);
    checked_free(&c);
}


/* Row 1 has low 0 and row 3 open -5; the repair drops both and fills the
 * two one-bar gaps they leave with synthetic bars. */
static void invalid_price_dropped(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "invalid_price.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPAIR, LATER + 2 * HOUR);
    r = check(&c, "invalid_price");
    assert_int_equal(r->count, 2);
    assert_int_equal(r->examples[0].row, 1);
    assert_true(r->examples[0].value == 0);
    assert_int_equal(r->examples[1].row, 3);
    assert_true(r->examples[1].value == -5);
    assert_int_equal(repair(&c, "dropped_invalid")->count, 2);
    assert_int_equal(repair(&c, "filled_gaps")->count, 2);
    assert_int_equal(c.series.n, 5);
    assert_int_equal(c.series.flags[1], OHLCX_FLAG_SYNTHETIC);
    assert_int_equal(c.series.flags[3], OHLCX_FLAG_SYNTHETIC);
    assert_int_equal(c.series.flags[2], 0);
    checked_free(&c);
}


/* Row 2: high 99 < low 101. */
static void high_below_low_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "high_below_low.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPAIR, LATER);
    r = check(&c, "high_below_low");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_true(r->examples[0].value == 99);
    assert_string_equal(r->examples[0].note, "high 99 < low 101");
    assert_int_equal(repair(&c, "dropped_invalid")->count, 1);
    checked_free(&c);
}


/* Row 1: low 101 > open 100. */
static void low_above_body_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "low_above_body.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER);
    r = check(&c, "low_above_body");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 1);
    assert_true(r->examples[0].value == 101);
    assert_int_equal(check(&c, "high_below_body")->count, 0);
    checked_free(&c);
}


/* Row 2: high 102 < close 103. */
static void high_below_body_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "high_below_body.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER);
    r = check(&c, "high_below_body");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_true(r->examples[0].value == 102);
    assert_int_equal(check(&c, "low_above_body")->count, 0);
    checked_free(&c);
}


/*
 * Closes 101 100 101 100 101 150 151 with a window of 4 returns: the first
 * block of returns (rows 1-4) is -a a -a a (a = ln 1.01), so median 0 and
 * MAD a. Rows 5 and 6 are compared with that block: row 5's return
 * ln(150/101) has z = ln(150/101) / (1.4826 a) = 26.8, and row 6's return
 * ln(151/150) has z = 0.45, which is not flagged. (With the sliding window
 * used before, row 6 was compared with a a -a ln(150/101) instead and had
 * z 0.22; it is unflagged either way.)
 */
static void extreme_move_z_score(void **state)
{
    ohlcx_check_options options;
    ohlcx_quality_report report;
    const ohlcx_check_result *r;
    ohlcx_series s;

    (void)state;
    read_check_file("extreme_move.csv", "BTCUSDT", "1h", &s);
    ohlcx_check_options_default(&options);
    options.now_us = LATER + 4 * HOUR;
    options.z_window = 4;
    assert_int_equal(ohlcx_check_series(&s, &options, &report), 0);
    r = find(report.checks, report.check_count, "extreme_move");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 5);
    assert_float_equal(r->examples[0].value, log(150.0 / 101) / (1.4826 * log(1.01)), 1e-9);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);
}


/* Fills s with n one-minute bars from JAN1 whose closes step by 1.001 and
 * 0.999 in turn from 100, with a step of 1.5 at bar spike (0 for none). */
static void stepping_series(ohlcx_series *s, size_t n, size_t spike)
{
    double close = 100;

    ohlcx_series_init(s);
    snprintf(s->symbol, sizeof s->symbol, "BTCUSDT");
    snprintf(s->timeframe, sizeof s->timeframe, "1m");
    s->asset_class = OHLCX_ASSET_CRYPTO;
    for (size_t i = 0; i < n; i++) {
        double open = close;

        double step = i % 2 ? 1.001 : 0.999;

        if (i == spike)
            step = 1.5;
        if (i > 0)
            close = open * step;
        assert_int_equal(ohlcx_series_append(s, JAN1 + (int64_t)i * OHLCX_US_PER_MINUTE, open,
                                             fmax(open, close) * 1.0001,
                                             fmin(open, close) * 0.9999, close, 10),
                         0);
    }
}


/*
 * The first block has no block before it, so its own median and MAD judge
 * it. 31 bars give 30 returns, fewer than the default window of 100: 14 of
 * ln 0.999, 15 of ln 1.001 and ln 1.5 at bar 10. The median is ln 1.001
 * (ranks 15 and 16), the deviations are 15 zeros, 14 of ln(1.001 / 0.999)
 * and one large, so the MAD is 0.5 ln(1.001 / 0.999), and bar 10 has
 * z = (ln 1.5 - ln 1.001) / (1.4826 * MAD), about 273. With 15 returns the
 * block is too small to judge.
 */
static void extreme_move_first_block(void **state)
{
    ohlcx_check_options options;
    ohlcx_quality_report report;
    const ohlcx_check_result *r;
    ohlcx_series s;

    (void)state;
    stepping_series(&s, 31, 10);
    ohlcx_check_options_default(&options);
    options.now_us = JAN1 + 40 * OHLCX_US_PER_MINUTE;
    assert_int_equal(ohlcx_check_series(&s, &options, &report), 0);
    r = find(report.checks, report.check_count, "extreme_move");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].open_time, JAN1 + 10 * OHLCX_US_PER_MINUTE);
    assert_float_equal(r->examples[0].value,
                       (log(1.5) - log(1.001)) / (1.4826 * 0.5 * log(1.001 / 0.999)), 0.01);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);

    stepping_series(&s, 16, 10);
    assert_int_equal(ohlcx_check_series(&s, &options, &report), 0);
    assert_int_equal(find(report.checks, report.check_count, "extreme_move")->count, 0);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);
}


/* The first 50 volumes are judged by their own median too. In 31 bars of
 * volume 10, a volume of 1000 is 100 times the median. Among 16 bars it is
 * not judged. */
static void volume_spike_first_block(void **state)
{
    ohlcx_check_options options;
    ohlcx_quality_report report;
    const ohlcx_check_result *r;
    ohlcx_series s;

    (void)state;
    stepping_series(&s, 31, 0);
    s.volume[12] = 1000;
    ohlcx_check_options_default(&options);
    options.now_us = JAN1 + 40 * OHLCX_US_PER_MINUTE;
    assert_int_equal(ohlcx_check_series(&s, &options, &report), 0);
    r = find(report.checks, report.check_count, "volume_spike");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].open_time, JAN1 + 12 * OHLCX_US_PER_MINUTE);
    assert_float_equal(r->examples[0].value, 100, 1e-12);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);

    stepping_series(&s, 16, 0);
    s.volume[12] = 1000;
    assert_int_equal(ohlcx_check_series(&s, &options, &report), 0);
    assert_int_equal(find(report.checks, report.check_count, "volume_spike")->count, 0);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);
}


static double median_of(double *values, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && values[j - 1] > values[j]; j--) {
            double swap = values[j];
            values[j] = values[j - 1];
            values[j - 1] = swap;
        }
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}


/* The hopping-window median and MAD flag the same bars as sorting each
 * block of WINDOW returns from scratch and comparing every return of the
 * next block with it, on a synthetic series (one valid close per open
 * time) with a low threshold. Return j is that of row j + 1. */
static void extreme_move_matches_brute_force(void **state)
{
    enum { WINDOW = 7 };
    ohlcx_synth_options synth;
    ohlcx_check_options options;
    ohlcx_quality_report report;
    ohlcx_series s;
    size_t expected = 0;

    (void)state;
    ohlcx_synth_options_default(&synth);
    synth.months = 1;
    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "1h", &synth, &s), 0);
    for (size_t j = WINDOW; j + 1 < s.n; j++) {
        size_t first = (j / WINDOW - 1) * WINDOW; /* first return of the block before */
        double window[WINDOW], deviation[WINDOW], median, mad;
        double r = log(s.close[j + 1] / s.close[j]);

        for (size_t i = 0; i < WINDOW; i++)
            window[i] = log(s.close[first + i + 1] / s.close[first + i]);
        median = median_of(window, WINDOW);
        for (size_t i = 0; i < WINDOW; i++)
            deviation[i] = fabs(window[i] - median);
        mad = median_of(deviation, WINDOW);
        expected += mad > 0 && fabs(r - median) / (1.4826 * mad) > 2.5;
    }
    ohlcx_check_options_default(&options);
    options.z_window = WINDOW;
    options.z_threshold = 2.5;
    assert_int_equal(ohlcx_check_series(&s, &options, &report), 0);
    assert_true(expected > 10);
    assert_int_equal(find(report.checks, report.check_count, "extreme_move")->count, expected);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);
}


/*
 * The block statistics on ratios, worked out in logs by hand.
 * Odd: ratios 1.02 0.99 1.00 1.01 0.98 have log median ln 1 = 0, and the
 * log deviations 0.0198 0.01005 0 0.00995 0.0202 have the median
 * 0.01005 = -ln 0.99.
 * Even: ratios 1.01 0.98 1.03 1.00 have the log median
 * (ln 1 + ln 1.01) / 2 = 0.5 ln 1.01. Their log deviations are
 * 0.5 ln 1.01 (twice), ln 1.03 - 0.5 ln 1.01 and 0.5 ln 1.01 - ln 0.98, so
 * the MAD, the mean of the middle two, is 0.5 ln 1.03.
 */
static void block_median_mad_pinned(void **state)
{
    double odd[] = {1.02, 0.99, 1.00, 1.01, 0.98};
    double even[] = {1.01, 0.98, 1.03, 1.00};
    double scratch[2 * 5], median, mad;

    (void)state;
    check_log_median_mad(odd, 5, scratch, NULL, &median, &mad);
    assert_float_equal(median, 0, 1e-15);
    assert_float_equal(mad, -log(0.99), 1e-15);
    check_log_median_mad(even, 4, scratch, NULL, &median, &mad);
    assert_float_equal(median, 0.5 * log(1.01), 1e-15);
    assert_float_equal(mad, 0.5 * log(1.03), 1e-15);
}


/* The middle ranks without a bracket: a permutation of 0..39 (ranks 19
 * and 20), all values equal, three values repeated (17 zeros, 17 ones, 16
 * twos, so ranks 24 and 25 are ones) and 1 2 3 5 5 5 (ranks 2 and 3). */
static void block_middle_pinned(void **state)
{
    double permutation[40], equal[40], repeated[50], scratch[2 * 50], lower, upper;
    double small[] = {5, 1, 5, 3, 5, 2};

    (void)state;
    for (int i = 0; i < 40; i++) {
        permutation[i] = (double)(i * 7 % 40);
        equal[i] = 2.5;
    }
    for (int i = 0; i < 50; i++)
        repeated[i] = (double)(i % 3);
    check_middle(permutation, 40, scratch, NULL, &lower, &upper);
    assert_true(lower == 19);
    assert_true(upper == 20);
    assert_true(permutation[1] == 7); /* the input is left as it was */
    check_middle(permutation, 39, scratch, NULL, &lower, &upper); /* 0..39 but 33 */
    assert_true(lower == 19);
    assert_true(upper == 19);
    check_middle(equal, 40, scratch, NULL, &lower, &upper);
    assert_true(lower == 2.5);
    assert_true(upper == 2.5);
    assert_true(check_median(repeated, 50, scratch, NULL) == 1);
    assert_true(check_median(small, 6, scratch, NULL) == 4); /* (3 + 5) / 2 */
}


/*
 * Every path through a bracket gives the middle ranks 19 and 20 of the
 * permutation of 0..39: a bracket that contains them (15..25), one that
 * misses low twice and widens to 10..30 on the third pass (25..30, then
 * 20..30), one far away that falls back to a full sort (100..101), a
 * bracket of width 0 on a repeated value, and one holding more values
 * than are counted (0..199 of 200, middle 99 and 100).
 */
static void block_bracket_paths(void **state)
{
    double permutation[40], repeated[50], wide[200], scratch[2 * 200], lower, upper;
    check_bracket bracket;

    (void)state;
    for (int i = 0; i < 40; i++)
        permutation[i] = (double)(i * 7 % 40);
    for (int i = 0; i < 50; i++)
        repeated[i] = (double)(i % 3);
    for (int i = 0; i < 200; i++)
        wide[i] = (double)(i * 13 % 200);

    bracket = (check_bracket){15, 25, 1};
    check_middle(permutation, 40, scratch, &bracket, &lower, &upper);
    assert_true(lower == 19);
    assert_true(upper == 20);
    assert_true(bracket.low < 19);
    assert_true(bracket.high > 20);

    bracket = (check_bracket){25, 30, 1};
    check_middle(permutation, 40, scratch, &bracket, &lower, &upper);
    assert_true(lower == 19);
    assert_true(upper == 20);

    bracket = (check_bracket){100, 101, 1};
    check_middle(permutation, 40, scratch, &bracket, &lower, &upper);
    assert_true(lower == 19);
    assert_true(upper == 20);
    assert_true(bracket.low <= 19); /* set from the sorted block */
    assert_true(bracket.high >= 20);

    bracket = (check_bracket){1, 1, 1};
    check_middle(repeated, 50, scratch, &bracket, &lower, &upper);
    assert_true(lower == 1);
    assert_true(upper == 1);

    bracket = (check_bracket){0, 199, 1};
    check_middle(wide, 200, scratch, &bracket, &lower, &upper);
    assert_true(lower == 99);
    assert_true(upper == 100);
}


static int compare_values(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}


/* A bracket carried over 2000 blocks of drifting, heavy-tailed values
 * with ties (block sizes 2 to 101) gives the ranks a sort gives. */
static void block_bracket_matches_sort(void **state)
{
    double values[101], sorted[101], scratch[2 * 101], lower, upper;
    uint64_t seed = 7;

    (void)state;
    for (size_t n = 2; n <= 101; n += 11) {
        check_bracket bracket = {0, 0, 0};

        for (int block = 0; block < 200; block++) {
            double drift = (double)(block % 40) * 0.05;

            for (size_t i = 0; i < n; i++) {
                double u;

                seed = seed * 6364136223846793005u + 1442695040888963407u;
                u = (double)(seed >> 11) / 9007199254740992.0;
                values[i] = block % 7 == 3 ? floor(u * 4) : drift + u * u * u * 10;
            }
            memcpy(sorted, values, n * sizeof *values);
            qsort(sorted, n, sizeof *sorted, compare_values);
            check_middle(values, n, scratch, &bracket, &lower, &upper);
            assert_true(upper == sorted[n / 2]);
            assert_true(lower == sorted[n % 2 ? n / 2 : n / 2 - 1]);
        }
    }
}


/* Rows of open times 5 3 5 1 3 5 come out in time order, with file order
 * among equal times. Then 100 rows in reverse time order, two per time,
 * spread over 46 bits and partly negative: too far out of order for
 * insertion, so the radix sort runs. Row i has time step (99 - i) / 2, so
 * rows 98 and 99 come first, then 96 and 97, and so on. */
static void order_by_time_stable(void **state)
{
    int64_t small[] = {5, 3, 5, 1, 3, 5}, reverse[100], sorted_time[100];
    size_t expected[] = {3, 1, 4, 0, 2, 5}, order[100];

    (void)state;
    assert_int_equal(check_order_by_time(small, 6, sorted_time, order), 0);
    for (size_t k = 0; k < 6; k++)
        assert_int_equal(order[k], expected[k]);
    assert_true(sorted_time[0] == 1);
    assert_true(sorted_time[5] == 5);

    for (int i = 0; i < 100; i++)
        reverse[i] = (int64_t)((99 - i) / 2) * INT64_C(1000000000000) - INT64_C(30000000000000);
    assert_int_equal(check_order_by_time(reverse, 100, sorted_time, order), 0);
    for (size_t k = 0; k < 100; k++) {
        assert_int_equal(order[k], 98 - 2 * (k / 2) + k % 2);
        assert_true(sorted_time[k] == reverse[order[k]]);
    }
}


#define MINUTE OHLCX_US_PER_MINUTE

/* Starts an empty 1m BTCUSDT series (crypto, so the 24/7 calendar). */
static void minute_series(ohlcx_series *s)
{
    ohlcx_series_init(s);
    snprintf(s->symbol, sizeof s->symbol, "BTCUSDT");
    snprintf(s->timeframe, sizeof s->timeframe, "1m");
    s->asset_class = OHLCX_ASSET_CRYPTO;
}


/* Appends a consistent bar: open 100, high 101, low 99, the given close
 * and volume. */
static void append_bar(ohlcx_series *s, int64_t open_time, double close, double volume)
{
    assert_int_equal(ohlcx_series_append(s, open_time, 100, 101, 99, close, volume), 0);
}


static void check_with_defaults(ohlcx_series *s, ohlcx_quality_report *report)
{
    ohlcx_check_options options;

    ohlcx_check_options_default(&options);
    options.now_us = s->open_time[s->n - 1] + 2 * MINUTE;
    if (ohlcx_check_series(s, &options, report) != 0)
        fail_msg("%s", ohlcx_last_error());
}


/*
 * Regular 1m bars take the fast path of the spacing pass and of the gap
 * walk, and each fault below must hand over to the bar-by-bar checks.
 * Minutes 0 to 599 from 2024-01-01 but:
 *   minutes 300 and 301 missing: a gap of 2 before row 300;
 *   minute 400 (row 398) followed by an exact copy (row 399) and a copy
 *     with close 100.25 (row 400);
 *   minute 500 opening 30 s late (row 500, as the two copies make up for
 *     the two missing minutes): off the grid by 30 s, and slot 500 counts
 *     as missing, a gap of 1 before row 500;
 *   a bar 60 ms after minute 550 (row 550, so the extra bar is row 551):
 *     0.001 timeframes after the bar before, a unit switch, and 0.06 s off
 *     the grid.
 * Rows 601 in all, 599 open times; missing bars 2 + 1 = 3, and the 600
 * slots from minute 0 to 599 are all expected.
 */
static void spacing_fast_path_hands_over(void **state)
{
    ohlcx_quality_report report;
    const ohlcx_check_result *r;
    ohlcx_series s;

    (void)state;
    minute_series(&s);
    for (int minute = 0; minute < 600; minute++) {
        int64_t t = JAN1 + minute * MINUTE;

        if (minute == 300 || minute == 301)
            continue;
        append_bar(&s, minute == 500 ? t + 30 * OHLCX_US_PER_SECOND : t, 100.5, 10);
        if (minute == 400) {
            append_bar(&s, t, 100.5, 10);
            append_bar(&s, t, 100.25, 10);
        }
        if (minute == 550)
            append_bar(&s, t + 60000, 100.5, 10); /* 60 ms */
    }
    assert_int_equal(s.n, 601);
    check_with_defaults(&s, &report);

    r = find(report.checks, report.check_count, "duplicate_rows");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 399);
    assert_string_equal(r->examples[0].note, "copy of row 398");
    r = find(report.checks, report.check_count, "conflicting_duplicates");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 400);
    r = find(report.checks, report.check_count, "off_grid");
    assert_int_equal(r->count, 2);
    assert_int_equal(r->examples[0].row, 500);
    assert_float_equal(r->examples[0].value, 30, 1e-12);
    assert_int_equal(r->examples[1].row, 551);
    assert_float_equal(r->examples[1].value, 0.06, 1e-12);
    r = find(report.checks, report.check_count, "unit_switch");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 551);
    assert_float_equal(r->examples[0].value, 0.001, 1e-12);
    r = find(report.checks, report.check_count, "missing_bars");
    assert_int_equal(r->count, 3);
    assert_int_equal(r->examples[0].row, 300);
    assert_int_equal(r->examples[1].row, 500);
    assert_int_equal(report.gap_count, 2);
    assert_int_equal(report.gaps[0].missing, 2);
    assert_true(report.gaps[1].first_missing == JAN1 + 500 * MINUTE);
    assert_int_equal(report.gaps[1].missing, 1);
    assert_int_equal(report.expected_bars, 600);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);
}


/* 300 bars one minute apart but all 30 s past the minute: regular spacing,
 * yet every bar is off the grid, so none may take the fast path. */
static void off_grid_every_bar(void **state)
{
    ohlcx_quality_report report;
    const ohlcx_check_result *r;
    ohlcx_series s;

    (void)state;
    minute_series(&s);
    for (int minute = 0; minute < 300; minute++)
        append_bar(&s, JAN1 + minute * MINUTE + 30 * OHLCX_US_PER_SECOND, 100.5, 10);
    check_with_defaults(&s, &report);
    r = find(report.checks, report.check_count, "off_grid");
    assert_int_equal(r->count, 300);
    assert_int_equal(r->examples[4].row, 4);
    assert_int_equal(find(report.checks, report.check_count, "unit_switch")->count, 0);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);
}


/*
 * Plain bars take the price and volume checks eight at a time, and each
 * fault below must hand over to the bar-by-bar checks. 400 bars one minute
 * apart, volume 10, closes alternating 100 and 101 (returns of +-ln 1.01,
 * so every block of 100 returns has median 0 and MAD ln 1.01, and the
 * spike limit is 20 * 10 = 200), but:
 *   row 101: high 98.01, below low 99 and below the body;
 *   row 203: volume 1000, 100 times the median, a spike;
 *   rows 250 to 253: volume 0, one run of 4;
 *   row 270: volume -5;
 *   row 320: close 100 times the close before (high raised to it), and
 *     row 321 back at the usual close, 0.01 times: two scale jumps, and two
 *     extreme moves, each about 312 robust z-scores out.
 * Row 0 is checked alone (it has no bar before), and the 100-return and
 * 50-volume blocks end at rows 100, 200, 300 and every 50th row, where a
 * group stops short.
 */
static void group_fast_path_hands_over(void **state)
{
    ohlcx_quality_report report;
    const ohlcx_check_result *r;
    ohlcx_series s;

    (void)state;
    minute_series(&s);
    for (int row = 0; row < 400; row++) {
        double close = row % 2 ? 101 : 100, volume = 10;

        if (row == 320)
            close = 100 * 100; /* row 319 closes at 101 */
        if (row == 203)
            volume = 1000;
        if (row >= 250 && row <= 253)
            volume = 0;
        if (row == 270)
            volume = -5;
        assert_int_equal(ohlcx_series_append(&s, JAN1 + row * MINUTE, 100,
                                             close > 101 ? close : 101, 99, close, volume),
                         0);
        if (row == 101)
            s.high[row] = 98.01;
    }
    check_with_defaults(&s, &report);

    r = find(report.checks, report.check_count, "high_below_low");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 101);
    r = find(report.checks, report.check_count, "high_below_body");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 101);
    r = find(report.checks, report.check_count, "volume_spike");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 203);
    assert_float_equal(r->examples[0].value, 100, 1e-12);
    r = find(report.checks, report.check_count, "zero_volume_run");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 250);
    assert_float_equal(r->examples[0].value, 4, 0);
    r = find(report.checks, report.check_count, "negative_volume");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 270);
    r = find(report.checks, report.check_count, "price_scale_jump");
    assert_int_equal(r->count, 2);
    assert_int_equal(r->examples[0].row, 320);
    assert_int_equal(r->examples[1].row, 321);
    r = find(report.checks, report.check_count, "extreme_move");
    assert_int_equal(r->count, 2);
    assert_int_equal(r->examples[0].row, 320);
    assert_float_equal(r->examples[0].value, log(10000.0 / 101) / (1.4826 * log(1.01)), 1e-6);
    assert_int_equal(r->examples[1].row, 321);
    assert_int_equal(find(report.checks, report.check_count, "flat_bars")->count, 0);
    assert_int_equal(find(report.checks, report.check_count, "invalid_price")->count, 0);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&s);
}


/* Close 101 then 10100: 100 times. */
static void price_scale_jump_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "price_scale_jump.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER);
    r = check(&c, "price_scale_jump");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 1);
    assert_float_equal(r->examples[0].value, 10100.0 / 101, 1e-9);
    checked_free(&c);
}


/* Daily stock bars: close 202, then the next day opens at 101 (ratio 0.5). */
static void split_like_jump_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "split_like_jump.csv", "AAPL", "1d", OHLCX_POLICY_REPORT, LATER + 240 * HOUR);
    r = check(&c, "split_like_jump");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_true(r->examples[0].value == 0.5);
    assert_int_equal(check(&c, "price_scale_jump")->count, 0);
    checked_free(&c);
}


/* The same file read as a crypto symbol is not checked for splits. */
static void split_like_jump_stocks_only(void **state)
{
    checked c;

    (void)state;
    run_check(&c, "split_like_jump.csv", "BTCUSDT", "1d", OHLCX_POLICY_REPORT, LATER + 240 * HOUR);
    assert_int_equal(check(&c, "split_like_jump")->count, 0);
    checked_free(&c);
}


/* Row 2 has volume -3. */
static void negative_volume_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "negative_volume.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER);
    r = check(&c, "negative_volume");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_true(r->examples[0].value == -3);
    checked_free(&c);
}


/* Volumes 5 0 0 0 0 7 0 0 9 0 0 0: runs of 4 (row 1) and 3 (row 9). The
 * run of 2 is too short. */
static void zero_volume_runs_counted(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "zero_volume_run.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER + 9 * HOUR);
    r = check(&c, "zero_volume_run");
    assert_int_equal(r->count, 2);
    assert_int_equal(r->examples[0].row, 1);
    assert_true(r->examples[0].value == 4);
    assert_int_equal(r->examples[1].row, 9);
    assert_true(r->examples[1].value == 3);
    checked_free(&c);
}


/* 51 bars of volume 10, then 500: 50 times the rolling median. */
static void volume_spike_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "volume_spike.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, JAN1 + 53 * HOUR);
    r = check(&c, "volume_spike");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 51);
    assert_true(r->examples[0].value == 50);
    checked_free(&c);
}


/* Row 2: open = high = low = close = 100. */
static void flat_bars_found(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    run_check(&c, "flat_bars.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER);
    r = check(&c, "flat_bars");
    assert_int_equal(r->count, 1);
    assert_int_equal(r->examples[0].row, 2);
    assert_int_equal(c.report.verdict, OHLCX_VERDICT_PASS);
    checked_free(&c);
}


/* Bars at 00 01 04 10 11 12: gaps of 2 (02-03) and 5 (05-09) of 13
 * expected bars. Only the gap of 2 is at most max_fill_gap 3. */
static void gaps_counted_and_filled(void **state)
{
    const ohlcx_check_result *missing, *long_gaps;
    checked c;

    (void)state;
    run_check(&c, "gaps.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPAIR, JAN1 + 14 * HOUR);
    missing = check(&c, "missing_bars");
    long_gaps = check(&c, "long_gaps");
    assert_int_equal(missing->count, 7);
    assert_int_equal(missing->severity, OHLCX_SEVERITY_FAIL);
    assert_int_equal(missing->examples[0].row, 2);
    assert_int_equal(missing->examples[0].open_time, JAN1 + 2 * HOUR);
    assert_int_equal(long_gaps->count, 1);
    assert_int_equal(long_gaps->examples[0].row, 3);
    assert_true(long_gaps->examples[0].value == 5);
    assert_int_equal(c.report.expected_bars, 13);
    assert_int_equal(c.report.gap_count, 2);
    assert_int_equal(c.report.gaps[0].filled, 1);
    assert_int_equal(c.report.gaps[1].filled, 0);
    assert_int_equal(repair(&c, "filled_gaps")->count, 2);
    assert_int_equal(c.series.n, 8);
    assert_int_equal(c.series.open_time[2], JAN1 + 2 * HOUR);
    assert_int_equal(c.series.flags[2], OHLCX_FLAG_SYNTHETIC);
    assert_int_equal(c.series.flags[3], OHLCX_FLAG_SYNTHETIC);
    assert_int_equal(c.series.flags[4], 0);
    assert_int_equal(c.report.verdict, OHLCX_VERDICT_FAIL);
    checked_free(&c);
}


static void strict_turns_warn_into_fail(void **state)
{
    checked c;

    (void)state;
    run_check(&c, "duplicates.csv", "BTCUSDT", "1h", OHLCX_POLICY_STRICT, LATER);
    assert_int_equal(c.report.verdict, OHLCX_VERDICT_FAIL);
    assert_int_equal(c.report.repair_count, 0);
    assert_int_equal(c.series.n, 4);
    checked_free(&c);
}


static void report_keeps_series(void **state)
{
    checked c;

    (void)state;
    run_check(&c, "duplicates.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPORT, LATER);
    assert_int_equal(c.report.verdict, OHLCX_VERDICT_WARN);
    assert_int_equal(c.series.n, 4);
    checked_free(&c);
}


static void invalid_options_rejected(void **state)
{
    ohlcx_check_options options;
    ohlcx_quality_report report;
    ohlcx_series s;

    (void)state;
    read_check_file("clean.csv", "BTCUSDT", "1h", &s);
    ohlcx_check_options_default(&options);
    options.z_window = 1;
    assert_int_equal(ohlcx_check_series(&s, &options, &report), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "z_window 1"));
    ohlcx_series_free(&s);
}


static const cJSON *json_check(const cJSON *root, const char *list, const char *name)
{
    const cJSON *item;

    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, list)) {
        const cJSON *item_name = cJSON_GetObjectItemCaseSensitive(item, "name");
        if (cJSON_IsString(item_name) && strcmp(item_name->valuestring, name) == 0)
            return item;
    }
    fail_msg("no %s entry named %s", list, name);
    return NULL;
}


static void json_report_fields(void **state)
{
    const cJSON *duplicates, *example, *gaps;
    cJSON *root;
    checked c;
    char *text;

    (void)state;
    run_check(&c, "gaps.csv", "BTCUSDT", "1h", OHLCX_POLICY_REPAIR, JAN1 + 14 * HOUR);
    assert_int_equal(ohlcx_quality_report_json(&c.report, &text), 0);
    root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "symbol")->valuestring, "BTCUSDT");
    assert_string_equal(cJSON_GetObjectItem(root, "timeframe")->valuestring, "1h");
    assert_int_equal(cJSON_GetObjectItem(root, "rows")->valueint, 6);
    assert_int_equal(cJSON_GetObjectItem(root, "expected_bars")->valueint, 13);
    assert_string_equal(cJSON_GetObjectItem(root, "calendar")->valuestring, "always");
    assert_string_equal(cJSON_GetObjectItem(root, "verdict")->valuestring, "fail");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "checks")), 22);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "repairs")), 6);

    duplicates = json_check(root, "checks", "duplicate_rows");
    assert_int_equal(cJSON_GetObjectItem(duplicates, "count")->valueint, 0);
    assert_string_equal(cJSON_GetObjectItem(duplicates, "severity")->valuestring, "warn");
    example = cJSON_GetArrayItem(
        cJSON_GetObjectItem(json_check(root, "checks", "long_gaps"), "examples"), 0);
    assert_int_equal(cJSON_GetObjectItem(example, "row")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(example, "open_time")->valuestring,
                        "2024-01-01 05:00:00");
    assert_true(cJSON_GetObjectItem(example, "value")->valuedouble == 5);
    assert_int_equal(cJSON_GetObjectItem(json_check(root, "repairs", "filled_gaps"),
                                         "count")->valueint, 2);

    gaps = cJSON_GetObjectItem(root, "gaps");
    assert_int_equal(cJSON_GetArraySize(gaps), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(gaps, 0),
                                            "first_missing")->valuestring,
                        "2024-01-01 02:00:00");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(gaps, 0), "filled")));
    assert_int_equal(cJSON_GetObjectItem(root, "gap_count")->valueint, 2);
    cJSON_Delete(root);
    free(text);
    checked_free(&c);
}


/* Repeating every row must not change extreme_move: a repeated open time
 * adds no return, so the rolling MAD covers the same returns. */
static void extreme_move_ignores_repeats(void **state)
{
    ohlcx_synth_options synth;
    ohlcx_check_options options;
    ohlcx_series once, twice;
    ohlcx_quality_report report_once, report_twice;
    const ohlcx_check_result *moves_once, *moves_twice;

    (void)state;
    ohlcx_synth_options_default(&synth);
    synth.months = 6;
    ohlcx_series_init(&once);
    ohlcx_series_init(&twice);
    assert_int_equal(ohlcx_synth_series("BTCUSDT", "1h", &synth, &once), 0);
    for (size_t i = 0; i < once.n; i++)
        for (int copy = 0; copy < 2; copy++)
            assert_int_equal(ohlcx_series_append(&twice, once.open_time[i], once.open[i],
                                                 once.high[i], once.low[i], once.close[i],
                                                 once.volume[i]),
                             0);
    snprintf(twice.timeframe, sizeof twice.timeframe, "%s", once.timeframe);
    snprintf(twice.symbol, sizeof twice.symbol, "%s", once.symbol);
    twice.asset_class = once.asset_class;

    ohlcx_check_options_default(&options);
    options.z_threshold = 4;
    options.now_us = once.open_time[once.n - 1] + 2 * OHLCX_US_PER_HOUR;
    memset(&report_once, 0, sizeof report_once);
    memset(&report_twice, 0, sizeof report_twice);
    assert_int_equal(ohlcx_check_series(&once, &options, &report_once), 0);
    assert_int_equal(ohlcx_check_series(&twice, &options, &report_twice), 0);
    moves_once = find(report_once.checks, report_once.check_count, "extreme_move");
    moves_twice = find(report_twice.checks, report_twice.check_count, "extreme_move");
    assert_non_null(moves_once);
    assert_non_null(moves_twice);
    assert_true(moves_once->count > 0);
    assert_int_equal(moves_twice->count, moves_once->count);

    ohlcx_quality_report_free(&report_once);
    ohlcx_quality_report_free(&report_twice);
    ohlcx_series_free(&once);
    ohlcx_series_free(&twice);
}


/* a has hours 1..6, b hours 3..8 without hour 5. The common span is hours
 * 3..6: hours 3, 4 and 6 are compared, hour 4 differs (103 against 103.5,
 * 103 / 103.5 - 1 = -0.00483), and b lacks hour 5. Hours 7 and 8 lie
 * beyond a's last bar and are not counted. */
static void cross_source_compared(void **state)
{
    static const double a_close[] = {100, 101, 102, 103, 104, 105};
    static const int64_t b_hour[] = {3, 4, 6, 7, 8};
    static const double b_close[] = {102, 103.5, 105, 106, 107};
    ohlcx_series a, b;
    ohlcx_source_comparison result;

    (void)state;
    ohlcx_series_init(&a);
    ohlcx_series_init(&b);
    for (int i = 0; i < 6; i++)
        assert_int_equal(ohlcx_series_append(&a, (i + 1) * OHLCX_US_PER_HOUR, a_close[i],
                                             a_close[i], a_close[i], a_close[i], 1),
                         0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ohlcx_series_append(&b, b_hour[i] * OHLCX_US_PER_HOUR, b_close[i],
                                             b_close[i], b_close[i], b_close[i], 1),
                         0);

    assert_int_equal(ohlcx_compare_sources(&a, &b, 0.001, &result), 0);
    assert_int_equal(result.compared, 3);
    assert_int_equal(result.close_mismatches, 1);
    assert_int_equal(result.missing_in_b, 1);
    assert_int_equal(result.missing_in_a, 0);
    assert_true(fabs(result.max_difference - 0.5 / 103.5) < 1e-12);
    assert_int_equal(result.example_count, 1);
    assert_int_equal(result.examples[0].row, 3);
    assert_int_equal(result.examples[0].open_time, 4 * OHLCX_US_PER_HOUR);

    /* With a 1% tolerance the 0.48% difference agrees. */
    assert_int_equal(ohlcx_compare_sources(&a, &b, 0.01, &result), 0);
    assert_int_equal(result.close_mismatches, 0);

    /* Unsorted input is rejected. */
    a.open_time[0] = 9 * OHLCX_US_PER_HOUR;
    assert_int_equal(ohlcx_compare_sources(&a, &b, 0.001, &result), OHLCX_EINVAL);
    ohlcx_series_free(&a);
    ohlcx_series_free(&b);
}


/* Checks a hand-built series with the default options, calendar and now. */
static void check_built(checked *c, int calendar, int64_t now_us)
{
    ohlcx_check_options options;

    ohlcx_check_options_default(&options);
    options.calendar = calendar;
    options.now_us = now_us;
    if (ohlcx_check_series(&c->series, &options, &c->report) != 0)
        fail_msg("%s", ohlcx_last_error());
}


/* Row 1 repeats row 0's open time with volume 1500 instead of 1200, and row
 * 3 repeats row 2's with open 11942.55 instead of 11942.54 (a rounding that
 * %g would print as 11942.5 twice). */
static void conflict_note_names_fields(void **state)
{
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    ohlcx_series_init(&c.series);
    strcpy(c.series.symbol, "BTCUSDT");
    strcpy(c.series.timeframe, "1h");
    c.series.asset_class = OHLCX_ASSET_CRYPTO;
    assert_int_equal(ohlcx_series_append(&c.series, JAN1, 100, 110, 99, 105, 1200), 0);
    assert_int_equal(ohlcx_series_append(&c.series, JAN1, 100, 110, 99, 105, 1500), 0);
    assert_int_equal(ohlcx_series_append(&c.series, JAN1 + HOUR, 11942.54, 11965.01, 11892.88,
                                         11928.58, 10), 0);
    assert_int_equal(ohlcx_series_append(&c.series, JAN1 + HOUR, 11942.55, 11965.01, 11892.88,
                                         11928.58, 10), 0);
    check_built(&c, OHLCX_CALENDAR_AUTO, LATER);
    r = check(&c, "conflicting_duplicates");
    assert_int_equal(r->count, 2);
    assert_string_equal(r->examples[0].note, "volume 1500 vs 1200 (row 0)");
    assert_string_equal(r->examples[1].note, "open 11942.55 vs 11942.54 (row 2)");
    checked_free(&c);
}


/* Appends 1h bars from hour `first` to 23:00 on each of `days` days from
 * day0, with closes cycling through 1.100 to 1.106. */
static void append_days(ohlcx_series *s, int64_t day0, int days, int first)
{
    for (int d = 0; d < days; d++)
        for (int h = first; h < 24; h++) {
            double close = 1.1 + 0.001 * (double)(s->n % 7);

            assert_int_equal(ohlcx_series_append(s, day0 + d * OHLCX_US_PER_DAY + h * HOUR,
                                                 close, close + 0.002, close - 0.002, close,
                                                 100),
                             0);
        }
}


/* 1h forex bars in October 2009 from 00:00 each day. Day 3 (2009-10-22)
 * lacks its 00:00 bar and day 4 starts at 00:00 again: a missing first bar,
 * so no dst_shift. In a second series every day from day 3 starts at 01:00,
 * a shift that lasts: one dst_shift of +1 h on day 3. */
static void dst_shift_ignores_reverts(void **state)
{
    int64_t day0 = INT64_C(1255910400) * OHLCX_US_PER_SECOND; /* 2009-10-19, a Monday */
    const ohlcx_check_result *r;
    checked c;

    (void)state;
    for (int lasting = 0; lasting < 2; lasting++) {
        ohlcx_series_init(&c.series);
        strcpy(c.series.symbol, "EURUSD");
        strcpy(c.series.timeframe, "1h");
        c.series.asset_class = OHLCX_ASSET_FOREX;
        append_days(&c.series, day0, 3, 0);
        append_days(&c.series, day0 + 3 * OHLCX_US_PER_DAY, 1, 1);
        append_days(&c.series, day0 + 4 * OHLCX_US_PER_DAY, 1, lasting ? 1 : 0);
        check_built(&c, OHLCX_CALENDAR_INFERRED, day0 + 30 * OHLCX_US_PER_DAY);
        r = check(&c, "dst_shift");
        assert_int_equal(r->count, lasting ? 1 : 0);
        if (lasting) {
            assert_int_equal(r->examples[0].open_time, day0 + 3 * OHLCX_US_PER_DAY + HOUR);
            assert_true(r->examples[0].value == 1);
        }
        checked_free(&c);
    }
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_passes),
        cmocka_unit_test(unsorted_rows_found_and_sorted),
        cmocka_unit_test(duplicate_rows_dropped),
        cmocka_unit_test(conflicts_keep_first),
        cmocka_unit_test(off_grid_crypto),
        cmocka_unit_test(off_grid_stock_offset),
        cmocka_unit_test(unit_switch_spacing),
        cmocka_unit_test(future_bars_counted),
        cmocka_unit_test(partial_last_bar_flagged),
        cmocka_unit_test(dst_shift_found),
        cmocka_unit_test(stale_series_age),
        cmocka_unit_test(invalid_price_dropped),
        cmocka_unit_test(high_below_low_found),
        cmocka_unit_test(low_above_body_found),
        cmocka_unit_test(high_below_body_found),
        cmocka_unit_test(extreme_move_z_score),
        cmocka_unit_test(extreme_move_first_block),
        cmocka_unit_test(volume_spike_first_block),
        cmocka_unit_test(extreme_move_matches_brute_force),
        cmocka_unit_test(block_median_mad_pinned),
        cmocka_unit_test(block_middle_pinned),
        cmocka_unit_test(block_bracket_paths),
        cmocka_unit_test(block_bracket_matches_sort),
        cmocka_unit_test(order_by_time_stable),
        cmocka_unit_test(spacing_fast_path_hands_over),
        cmocka_unit_test(off_grid_every_bar),
        cmocka_unit_test(group_fast_path_hands_over),
        cmocka_unit_test(price_scale_jump_found),
        cmocka_unit_test(split_like_jump_found),
        cmocka_unit_test(split_like_jump_stocks_only),
        cmocka_unit_test(negative_volume_found),
        cmocka_unit_test(zero_volume_runs_counted),
        cmocka_unit_test(volume_spike_found),
        cmocka_unit_test(flat_bars_found),
        cmocka_unit_test(gaps_counted_and_filled),
        cmocka_unit_test(strict_turns_warn_into_fail),
        cmocka_unit_test(report_keeps_series),
        cmocka_unit_test(invalid_options_rejected),
        cmocka_unit_test(json_report_fields),
        cmocka_unit_test(extreme_move_ignores_repeats),
        cmocka_unit_test(cross_source_compared),
        cmocka_unit_test(conflict_note_names_fields),
        cmocka_unit_test(dst_shift_ignores_reverts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
