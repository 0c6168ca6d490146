/*
 * Timestamp and freshness checks: row order, repeated open times, the bar
 * grid, unit mix-ups, bars in the future, a partial last bar, daylight
 * saving shifts and staleness.
 *
 * Every check but unsorted_rows reads the time-ordered view, so each is one
 * O(n) pass with no allocation. Rows that share an open time sit next to
 * each other in the view, in file order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ohlcx/check.h"
#include "ohlcx/series.h"
#include "quality/checks_internal.h"

/* Spacing between bars within this fraction of 1000x or 1/1000x the
 * timeframe marks a unit switch. */
#define UNIT_SWITCH_TOLERANCE 0.05

/* A freshness age above this many timeframes marks a stale series. */
#define STALE_TIMEFRAMES 2

/* Trading days further apart than this are not compared for a DST shift. */
#define DST_MAX_DAYS_APART 4


static int64_t floor_mod(int64_t value, int64_t modulus)
{
    int64_t rest = value % modulus;

    return rest < 0 ? rest + modulus : rest;
}


static int64_t floor_div(int64_t value, int64_t divisor)
{
    return (value - floor_mod(value, divisor)) / divisor;
}


static double seconds(int64_t us)
{
    return (double)us / (double)OHLCX_US_PER_SECOND;
}


/* Counts rows that open before the row above them in the series as given. */
static void check_unsorted(const ohlcx_series *given, ohlcx_check_result *result)
{
    const int64_t *t = given->open_time;

    for (size_t i = 1; i < given->n; i++)
        if (t[i] < t[i - 1])
            check_add(result, i, t[i], seconds(t[i - 1] - t[i]),
                      "opens %.0f s before row %zu", seconds(t[i - 1] - t[i]), i - 1);
}


static int same_values(const ohlcx_series *s, size_t a, size_t b)
{
    return s->open[a] == s->open[b] && s->high[a] == s->high[b] && s->low[a] == s->low[b] &&
           s->close[a] == s->close[b] && s->volume[a] == s->volume[b];
}


/* Compares every row with the first row of its open time: an exact copy is a
 * duplicate, anything else a conflict. */
static void check_duplicates(const check_context *ctx, ohlcx_check_result *checks)
{
    const ohlcx_series *v = &ctx->view->bars;
    size_t head = 0;

    for (size_t k = 1; k < v->n; k++) {
        if (v->open_time[k] != v->open_time[head]) {
            head = k;
            continue;
        }
        if (same_values(v, head, k))
            check_add(&checks[CHECK_DUPLICATE_ROWS], check_row(ctx, k), v->open_time[k],
                      v->close[k], "copy of row %zu", check_row(ctx, head));
        else
            check_add(&checks[CHECK_CONFLICTING_DUPLICATES], check_row(ctx, k),
                      v->open_time[k], v->close[k], "close %g, row %zu has close %g",
                      v->close[k], check_row(ctx, head), v->close[head]);
    }
}


/* Returns the offset from the UTC grid that more than half of the open times
 * share, or 0 when no offset has a majority (Boyer-Moore majority vote, so
 * O(n) time and no table of offsets). */
static int64_t majority_offset(const ohlcx_series *v, int64_t modulus)
{
    int64_t candidate = 0;
    size_t votes = 0, support = 0;

    for (size_t k = 0; k < v->n; k++) {
        int64_t offset = floor_mod(v->open_time[k], modulus);

        if (votes == 0)
            candidate = offset;
        votes += offset == candidate ? 1 : (size_t)-1;
    }
    for (size_t k = 0; k < v->n; k++)
        support += floor_mod(v->open_time[k], modulus) == candidate;
    return 2 * support > v->n ? candidate : 0;
}


/*
 * Open times off the bar grid, for timeframes up to 1d. A 24/7 series must
 * open on multiples of the timeframe from 00:00 UTC. A session series keeps
 * its own offset (1h stock bars open at 14:30 UTC), so its grid starts at the
 * majority offset. It is checked modulo one hour at most, because the
 * session start moves by an hour in UTC when daylight saving time changes.
 */
static void check_off_grid(const check_context *ctx, ohlcx_check_result *result)
{
    const ohlcx_series *v = &ctx->view->bars;
    int64_t modulus = ctx->timeframe_us, offset = 0;

    if (ctx->timeframe_us > OHLCX_US_PER_DAY || v->n == 0)
        return;
    if (ctx->calendar != OHLCX_CALENDAR_ALWAYS) {
        offset = majority_offset(v, modulus);
        if (modulus > OHLCX_US_PER_HOUR)
            modulus = OHLCX_US_PER_HOUR;
        offset = floor_mod(offset, modulus);
    }
    for (size_t k = 0; k < v->n; k++) {
        int64_t rest = floor_mod(v->open_time[k] - offset, modulus);

        if (rest != 0)
            check_add(result, check_row(ctx, k), v->open_time[k], seconds(rest),
                      "opens %.0f s after the %s grid", seconds(rest), v->timeframe);
    }
}


/*
 * Spacing between consecutive open times of about 1000 or 1/1000
 * timeframes: what remains when part of a file was written in another unit
 * (milliseconds read as microseconds or the reverse) and the reader's
 * per-value magnitude rule could not tell. The value is the spacing in
 * timeframes.
 */
static void check_unit_switch(const check_context *ctx, ohlcx_check_result *result)
{
    const ohlcx_series *v = &ctx->view->bars;
    double tf = (double)ctx->timeframe_us;
    int64_t big_low = (int64_t)(tf * 1000 * (1 - UNIT_SWITCH_TOLERANCE));
    int64_t big_high = (int64_t)(tf * 1000 * (1 + UNIT_SWITCH_TOLERANCE));
    int64_t small_low = (int64_t)(tf / 1000 * (1 - UNIT_SWITCH_TOLERANCE));
    int64_t small_high = (int64_t)(tf / 1000 * (1 + UNIT_SWITCH_TOLERANCE));

    for (size_t k = 1; k < v->n; k++) {
        int64_t spacing = v->open_time[k] - v->open_time[k - 1];

        if ((spacing >= big_low && spacing <= big_high) ||
            (spacing >= small_low && spacing <= small_high))
            check_add(result, check_row(ctx, k), v->open_time[k], (double)spacing / tf,
                      "opens %g timeframes after the bar before", (double)spacing / tf);
    }
}


/* Bars that open after now, and a last bar that has not closed yet. */
static void check_now(const check_context *ctx, ohlcx_check_result *checks)
{
    const ohlcx_series *v = &ctx->view->bars;
    size_t first = v->n;
    int64_t last;

    if (v->n == 0)
        return;
    while (first > 0 && v->open_time[first - 1] > ctx->now_us)
        first--;
    for (size_t k = first; k < v->n; k++)
        check_add(&checks[CHECK_FUTURE_BARS], check_row(ctx, k), v->open_time[k],
                  seconds(v->open_time[k] - ctx->now_us), "opens %.0f s after now",
                  seconds(v->open_time[k] - ctx->now_us));

    last = v->open_time[v->n - 1];
    if (last <= ctx->now_us && last + ctx->timeframe_us > ctx->now_us)
        check_add(&checks[CHECK_PARTIAL_LAST_BAR], check_row(ctx, v->n - 1), last,
                  seconds(last + ctx->timeframe_us - ctx->now_us),
                  "closes %.0f s after now", seconds(last + ctx->timeframe_us - ctx->now_us));
}


/* Age of the last bar's close in timeframes; only a closed last bar ages. */
static void check_stale(const check_context *ctx, ohlcx_check_result *result)
{
    const ohlcx_series *v = &ctx->view->bars;
    int64_t close_time, age;

    if (v->n == 0)
        return;
    close_time = v->open_time[v->n - 1] + ctx->timeframe_us;
    age = ctx->now_us - close_time;
    if (age > STALE_TIMEFRAMES * ctx->timeframe_us)
        check_add(result, check_row(ctx, v->n - 1), v->open_time[v->n - 1],
                  (double)age / (double)ctx->timeframe_us,
                  "last bar closed %.1f h before now", (double)age / (double)OHLCX_US_PER_HOUR);
}


static int month_of_day(int64_t day)
{
    time_t at = (time_t)(day * 86400);
    struct tm civil;

    if (gmtime_r(&at, &civil) == NULL)
        return 0;
    return civil.tm_mon + 1;
}


static int dst_month(int month)
{
    return month == 3 || month == 10 || month == 11;
}


/*
 * Days whose first bar opens exactly one hour earlier or later (UTC) than on
 * the trading day before, in March, October or November. The value is the
 * shift in hours. Only intraday series of a session calendar are checked.
 * The day boundary is tracked by comparison, so the loop divides once a day,
 * not once a bar.
 */
static void check_dst_shift(const check_context *ctx, ohlcx_check_result *result)
{
    const ohlcx_series *v = &ctx->view->bars;
    int64_t next_day_start = INT64_MIN, previous_day = 0, previous_first = -1;

    if (ctx->timeframe_us >= OHLCX_US_PER_DAY || ctx->calendar == OHLCX_CALENDAR_ALWAYS)
        return;
    for (size_t k = 0; k < v->n; k++) {
        int64_t day, first;

        if (v->open_time[k] < next_day_start)
            continue;
        day = floor_div(v->open_time[k], OHLCX_US_PER_DAY);
        first = v->open_time[k] - day * OHLCX_US_PER_DAY;
        next_day_start = (day + 1) * OHLCX_US_PER_DAY;

        if (previous_first >= 0 && day - previous_day <= DST_MAX_DAYS_APART &&
            llabs(first - previous_first) == OHLCX_US_PER_HOUR && dst_month(month_of_day(day)))
            check_add(result, check_row(ctx, k), v->open_time[k],
                      (double)(first - previous_first) / (double)OHLCX_US_PER_HOUR,
                      "first bar at %02d:%02d UTC, %02d:%02d on the trading day before",
                      (int)(first / OHLCX_US_PER_HOUR),
                      (int)(first % OHLCX_US_PER_HOUR / OHLCX_US_PER_MINUTE),
                      (int)(previous_first / OHLCX_US_PER_HOUR),
                      (int)(previous_first % OHLCX_US_PER_HOUR / OHLCX_US_PER_MINUTE));
        previous_day = day;
        previous_first = first;
    }
}


void check_timestamps(const check_context *ctx, ohlcx_check_result *checks)
{
    if (ctx->view->owned) /* else the rows as given are in order */
        check_unsorted(ctx->given, &checks[CHECK_UNSORTED_ROWS]);
    check_duplicates(ctx, checks);
    check_off_grid(ctx, &checks[CHECK_OFF_GRID]);
    check_unit_switch(ctx, &checks[CHECK_UNIT_SWITCH]);
    check_now(ctx, checks);
    check_dst_shift(ctx, &checks[CHECK_DST_SHIFT]);
    check_stale(ctx, &checks[CHECK_STALE_SERIES]);
}
