/*
 * Timestamp and freshness checks: row order, repeated open times, the bar
 * grid, unit mix-ups, bars in the future, a partial last bar, daylight
 * saving shifts and staleness.
 *
 * Every check but unsorted_rows reads the time-ordered view, so each is one
 * O(n) pass with no allocation, and the checks of the spacing between bars
 * share one pass. Rows that share an open time sit next to each other in
 * the view, in file order.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ohlcx/check.h"
#include "ohlcx/series.h"
#include "quality/checks_internal.h"
#include "quality/quality_internal.h"
#include "util/util.h"

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


/* Returns the offset from the UTC grid that more than half of the open times
 * share, or 0 when no offset has a majority (Boyer-Moore majority vote, so
 * O(n) time and no table of offsets). A bar one timeframe after the bar
 * before has its offset, so only other bars take a division. */
static int64_t majority_offset(const ohlcx_series *v, int64_t modulus)
{
    const int64_t *t = v->open_time;
    int64_t candidate = 0, offset = 0;
    size_t votes = 0, support = 0;

    for (size_t k = 0; k < v->n; k++) {
        if (k == 0 || t[k] - t[k - 1] != modulus)
            offset = floor_mod(t[k], modulus);
        if (votes == 0)
            candidate = offset;
        votes += offset == candidate ? 1 : (size_t)-1;
    }
    for (size_t k = 0; k < v->n; k++) {
        if (k == 0 || t[k] - t[k - 1] != modulus)
            offset = floor_mod(t[k], modulus);
        support += offset == candidate;
    }
    return 2 * support > v->n ? candidate : 0;
}


/*
 * The grid of off_grid, for timeframes up to 1d. A 24/7 series must open
 * on multiples of the timeframe from 00:00 UTC. A session series keeps its
 * own offset (1h stock bars open at 14:30 UTC), so its grid starts at the
 * majority offset. It is checked modulo one hour at most, because the
 * session start moves by an hour in UTC when daylight saving time changes.
 *
 * Spacings between consecutive open times of about 1000 or 1/1000
 * timeframes mark a unit switch: what remains when part of a file was
 * written in another unit (milliseconds read as microseconds or the
 * reverse) and the reader's per-value magnitude rule could not tell.
 */
static void spacing_rules_init(const check_context *ctx, int first_row_offset,
                               spacing_rules *rules)
{
    const ohlcx_series *v = &ctx->view->bars;
    double tf = (double)ctx->timeframe_us;

    memset(rules, 0, sizeof *rules);
    rules->grid = ctx->timeframe_us <= OHLCX_US_PER_DAY && v->n > 0;
    rules->modulus = ctx->timeframe_us;
    if (rules->grid && ctx->calendar != OHLCX_CALENDAR_ALWAYS) {
        rules->offset = first_row_offset ? floor_mod(v->open_time[0], rules->modulus)
                                         : majority_offset(v, rules->modulus);
        if (rules->modulus > OHLCX_US_PER_HOUR)
            rules->modulus = OHLCX_US_PER_HOUR;
        rules->offset = floor_mod(rules->offset, rules->modulus);
    }
    rules->big_low = (int64_t)(tf * 1000 * (1 - UNIT_SWITCH_TOLERANCE));
    rules->big_high = (int64_t)(tf * 1000 * (1 + UNIT_SWITCH_TOLERANCE));
    rules->small_low = (int64_t)(tf / 1000 * (1 - UNIT_SWITCH_TOLERANCE));
    rules->small_high = (int64_t)(tf / 1000 * (1 + UNIT_SWITCH_TOLERANCE));
}


static void add_off_grid(const check_context *ctx, ohlcx_check_result *result, size_t k,
                         int64_t rest)
{
    const ohlcx_series *v = &ctx->view->bars;

    check_add(result, check_row(ctx, k), v->open_time[k], seconds(rest),
              "opens %.0f s after the %s grid", seconds(rest), v->timeframe);
}


/* Adds row k as a conflict with row head, naming each value that differs
 * as "field <value of row k> vs <value of row head>". %.10g keeps the
 * digits that tell rounded prices apart (11942.55 vs 11942.54). */
static void add_conflict(const check_context *ctx, ohlcx_check_result *result, size_t head,
                         size_t k)
{
    const ohlcx_series *v = &ctx->view->bars;
    const char *names[] = {"open", "high", "low", "close", "volume"};
    const double *columns[] = {v->open, v->high, v->low, v->close, v->volume};
    char differences[96];
    size_t used = 0;

    if (result->example_count == OHLCX_CHECK_EXAMPLES) {
        result->count++;
        return;
    }
    differences[0] = '\0';
    for (int c = 0; c < 5; c++) {
        int written;

        if (columns[c][k] == columns[c][head])
            continue;
        written = snprintf(differences + used, sizeof differences - used, "%s%s %.10g vs %.10g",
                           used > 0 ? ", " : "", names[c], columns[c][k], columns[c][head]);
        if (written < 0 || (size_t)written >= sizeof differences - used)
            break;
        used += (size_t)written;
    }
    check_add(result, check_row(ctx, k), v->open_time[k], v->close[k], "%s (row %zu)",
              differences, check_row(ctx, head));
}


/* Returns 1 when the calendar expects no bar between the bars opening at
 * first and last: a closed market, not a unit switch (a forex weekend spans
 * 961 to 981 bars of 3m, inside the unit-switch band). Only the fixed
 * session calendars are asked, because ALWAYS expects every bar and the
 * inferred calendar's table is not at hand here. */
static int closed_between(const check_context *ctx, int64_t first, int64_t last)
{
    if (ctx->calendar != OHLCX_CALENDAR_FOREX && ctx->calendar != OHLCX_CALENDAR_US_EQUITY)
        return 0;
    for (int64_t t = first + ctx->timeframe_us; t < last; t += ctx->timeframe_us)
        if (quality_bar_expected(ctx->calendar, ctx->view->bars.timeframe, t, NULL))
            return 0;
    return 1;
}


/* duplicate_rows, conflicting_duplicates, off_grid and unit_switch of bar
 * k after a bar that opens at previous: bar k - 1, or for k = 0 the last
 * bar of the view before. head is the first row of the last open time
 * seen. A row that repeats an open time is compared with the first row of
 * that time: an exact copy is a duplicate, anything else a conflict. */
static void check_spacing_of(const check_context *ctx, const spacing_rules *rules, size_t k,
                             int64_t previous, size_t *head, int64_t *rest,
                             ohlcx_check_result *checks)
{
    const ohlcx_series *v = &ctx->view->bars;
    int64_t spacing = v->open_time[k] - previous;
    double tf = (double)ctx->timeframe_us;

    if (spacing != 0) {
        *head = k;
    } else {
        assert(k > 0); /* a view after the first opens after the view before */
        /* Bars of the fast path do not move head, but such a bar opens a
         * new time, so when head is stale the time began at k - 1. */
        if (v->open_time[*head] != v->open_time[k])
            *head = k - 1;
        if (same_values(v, *head, k))
            check_add(&checks[CHECK_DUPLICATE_ROWS], check_row(ctx, k), v->open_time[k],
                      v->close[k], "copy of row %zu", check_row(ctx, *head));
        else
            add_conflict(ctx, &checks[CHECK_CONFLICTING_DUPLICATES], *head, k);
    }
    if (rules->grid) {
        *rest = floor_mod(v->open_time[k] - rules->offset, rules->modulus);
        if (*rest != 0)
            add_off_grid(ctx, &checks[CHECK_OFF_GRID], k, *rest);
    }
    if (((spacing >= rules->big_low && spacing <= rules->big_high) &&
         !closed_between(ctx, previous, v->open_time[k])) ||
        (spacing >= rules->small_low && spacing <= rules->small_high))
        check_add(&checks[CHECK_UNIT_SWITCH], check_row(ctx, k), v->open_time[k],
                  (double)spacing / tf, "opens %g timeframes after the bar before",
                  (double)spacing / tf);
}


static void spacing_begin(const check_context *ctx, int first_row_offset,
                          check_spacing_pass *pass)
{
    memset(pass, 0, sizeof *pass);
    spacing_rules_init(ctx, first_row_offset, &pass->rules);
    pass->steady = !pass->rules.grid || ctx->timeframe_us % pass->rules.modulus == 0;
}


void check_spacing_begin(const check_context *ctx, check_spacing_pass *pass)
{
    spacing_begin(ctx, 0, pass);
}


void check_spacing_begin_stream(const check_context *ctx, check_spacing_pass *pass)
{
    spacing_begin(ctx, 1, pass);
    pass->vote = pass->rules.grid && ctx->calendar != OHLCX_CALENDAR_ALWAYS;
}


/* Counts the rows of ctx->view by their offset from the UTC grid of the
 * timeframe, in steps of the off_grid modulus: the class of the offset
 * that majority_offset() votes for, for rows on the grid. A bar one
 * timeframe after the bar before has its offset, so a run of such bars
 * takes one division. */
static void spacing_vote(const check_context *ctx, check_spacing_pass *pass)
{
    const ohlcx_series *v = &ctx->view->bars;
    const int64_t *t = v->open_time;
    size_t k = 0;

    while (k < v->n) {
        int64_t offset_class = floor_mod(t[k], ctx->timeframe_us) / pass->rules.modulus;
        size_t end = quality_next_irregular(t, k + 1, v->n, ctx->timeframe_us);

        assert(offset_class < CHECK_GRID_CLASSES); /* a timeframe of at most 1d, a modulus of 1h */
        pass->class_rows[offset_class] += end - k;
        k = end;
    }
    pass->rows += v->n;
}


/*
 * Every row on the grid of the first row has the rest of its offset modulo
 * the off_grid modulus. When some class of offsets contains more than half
 * of the rows, the majority offset of the whole series has that rest too.
 * Otherwise it is 0, so the grid stays only when the rest is 0.
 */
int check_spacing_offset_holds(const check_spacing_pass *pass)
{
    if (!pass->vote || pass->rules.offset == 0)
        return 1;
    for (size_t c = 0; c < CHECK_GRID_CLASSES; c++)
        if (2 * pass->class_rows[c] > pass->rows)
            return 1;
    return 0;
}


/*
 * duplicate_rows, conflicting_duplicates, off_grid and unit_switch in one
 * pass. A bar that opens one timeframe after a bar on the grid takes the
 * fast path. It repeats no time, and its spacing is no unit switch. It is
 * on the grid too, because the modulus divides the timeframe, so the rest
 * does not change. Runs of such bars are skipped a chunk at
 * a time, and only the other bars are checked one by one. The value of
 * off_grid is the rest in seconds, that of unit_switch the spacing in
 * timeframes.
 */
void check_spacing_run(const check_context *ctx, check_spacing_pass *pass,
                       ohlcx_check_result *checks)
{
    const ohlcx_series *v = &ctx->view->bars;
    const spacing_rules *rules = &pass->rules;
    const int64_t *t = v->open_time;
    size_t head = 0, k = 1;

    if (v->n == 0)
        return;
    if (pass->started) {
        check_spacing_of(ctx, rules, 0, pass->last_time, &head, &pass->rest, checks);
    } else if (rules->grid) {
        pass->rest = floor_mod(t[0] - rules->offset, rules->modulus);
        if (pass->rest != 0)
            add_off_grid(ctx, &checks[CHECK_OFF_GRID], 0, pass->rest);
    }
    pass->started = 1;
    while (k < v->n) {
        if (pass->steady && pass->rest == 0)
            k = quality_next_irregular(t, k, v->n, ctx->timeframe_us);
        if (k == v->n)
            break;
        check_spacing_of(ctx, rules, k, t[k - 1], &head, &pass->rest, checks);
        k++;
    }
    pass->last_time = t[v->n - 1];
    if (pass->vote)
        spacing_vote(ctx, pass);
}


void check_future_bars(const check_context *ctx, ohlcx_check_result *checks)
{
    const ohlcx_series *v = &ctx->view->bars;
    size_t first = v->n;

    while (first > 0 && v->open_time[first - 1] > ctx->now_us)
        first--;
    for (size_t k = first; k < v->n; k++)
        check_add(&checks[CHECK_FUTURE_BARS], check_row(ctx, k), v->open_time[k],
                  seconds(v->open_time[k] - ctx->now_us), "opens %.0f s after now",
                  seconds(v->open_time[k] - ctx->now_us));
}


/* A last bar that has not closed yet. */
static void check_partial(const check_context *ctx, ohlcx_check_result *checks)
{
    const ohlcx_series *v = &ctx->view->bars;
    int64_t last;

    if (v->n == 0)
        return;
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


static void add_dst_shift(ohlcx_check_result *result, const check_dst_candidate *c)
{
    check_add(result, c->row, c->open_time,
              (double)(c->first - c->previous_first) / (double)OHLCX_US_PER_HOUR,
              "first bar at %02d:%02d UTC, %02d:%02d on the trading day before",
              (int)(c->first / OHLCX_US_PER_HOUR),
              (int)(c->first % OHLCX_US_PER_HOUR / OHLCX_US_PER_MINUTE),
              (int)(c->previous_first / OHLCX_US_PER_HOUR),
              (int)(c->previous_first % OHLCX_US_PER_HOUR / OHLCX_US_PER_MINUTE));
}


void check_dst_begin(const check_context *ctx, check_dst_pass *pass)
{
    memset(pass, 0, sizeof *pass);
    pass->active = ctx->timeframe_us < OHLCX_US_PER_DAY &&
                   ctx->calendar != OHLCX_CALENDAR_ALWAYS;
    pass->next_day_start = INT64_MIN;
    pass->previous_first = -1;
}


/*
 * Days whose first bar opens exactly one hour earlier or later (UTC) than on
 * the trading day before, in March, October or November. The value is the
 * shift in hours. Only intraday series of a session calendar are checked.
 * A shift that the next trading day reverts (its first bar opens at the
 * time of the day before the shift) is a missing or extra first bar, not a
 * clock change, so neither day is reported. So a shift stays a candidate
 * until the next trading day, which may come in a later view. The day
 * boundary is tracked by comparison, so the loop divides once a day, not
 * once a bar.
 */
void check_dst_run(const check_context *ctx, check_dst_pass *pass, ohlcx_check_result *result)
{
    const ohlcx_series *v = &ctx->view->bars;
    check_dst_candidate *candidate = &pass->candidate;

    if (!pass->active)
        return;
    for (size_t k = 0; k < v->n; k++) {
        int64_t day, first;
        int reverts;

        if (v->open_time[k] < pass->next_day_start)
            continue;
        day = ohlcx_floor_div(v->open_time[k], OHLCX_US_PER_DAY);
        first = v->open_time[k] - day * OHLCX_US_PER_DAY;
        pass->next_day_start = (day + 1) * OHLCX_US_PER_DAY;

        reverts = candidate->pending && day - candidate->day <= DST_MAX_DAYS_APART &&
                  first == candidate->previous_first;
        if (candidate->pending && !reverts)
            add_dst_shift(result, candidate);
        candidate->pending = 0;
        if (!reverts && pass->previous_first >= 0 &&
            day - pass->previous_day <= DST_MAX_DAYS_APART &&
            llabs(first - pass->previous_first) == OHLCX_US_PER_HOUR &&
            dst_month(month_of_day(day)))
            *candidate = (check_dst_candidate){1, check_row(ctx, k), v->open_time[k],
                                               day, first, pass->previous_first};
        pass->previous_day = day;
        pass->previous_first = first;
    }
}


void check_dst_end(check_dst_pass *pass, ohlcx_check_result *result)
{
    if (pass->candidate.pending)
        add_dst_shift(result, &pass->candidate);
    pass->candidate.pending = 0;
}


void check_last_bar(const check_context *ctx, ohlcx_check_result *checks)
{
    check_partial(ctx, checks);
    check_stale(ctx, &checks[CHECK_STALE_SERIES]);
}


void check_timestamps(const check_context *ctx, ohlcx_check_result *checks)
{
    check_spacing_pass spacing;
    check_dst_pass dst;

    if (ctx->view->owned) /* else the rows as given are in order */
        check_unsorted(ctx->given, &checks[CHECK_UNSORTED_ROWS]);
    check_spacing_begin(ctx, &spacing);
    check_spacing_run(ctx, &spacing, checks);
    check_future_bars(ctx, checks);
    check_dst_begin(ctx, &dst);
    check_dst_run(ctx, &dst, &checks[CHECK_DST_SHIFT]);
    check_dst_end(&dst, &checks[CHECK_DST_SHIFT]);
    check_last_bar(ctx, checks);
}
