/*
 * Check engine: runs every data-quality check on a series, then, under
 * OHLCX_POLICY_REPAIR, repairs it and lists each repair.
 *
 * Steps of ohlcx_check_series():
 *   1. Resolve the calendar and build a time-ordered view of the rows (the
 *      series itself when already in order, else a stably sorted copy:
 *      order.c sorts nearly sorted rows by insertion and others by radix,
 *      both in O(n)).
 *   2. Run the timestamp, consistency and freshness checks on the view.
 *   3. Completeness: find the gaps of the sorted rows with unique open times
 *      (the first row of each open time) on the calendar.
 *   4. Repair (REPAIR only): ohlcx_validate_basic() sorts and drops
 *      duplicates, conflicts and invalid rows. The gaps of what remains are
 *      found again, and gaps of at most max_fill_gap bars are filled with
 *      synthetic bars. A partial last bar is flagged.
 *   5. Verdict from the severities of the checks with a count above zero.
 * The checks always describe the series as given; under REPAIR, gaps,
 * expected_bars and missing_ratio describe the series after rows were
 * dropped and before gaps were filled.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/quality.h"
#include "ohlcx/series.h"
#include "quality/checks_internal.h"
#include "quality/quality_internal.h"

static const struct {
    const char *name;
    int severity;
} check_table[CHECK_COUNT] = {
    [CHECK_UNSORTED_ROWS] = {"unsorted_rows", OHLCX_SEVERITY_WARN},
    [CHECK_DUPLICATE_ROWS] = {"duplicate_rows", OHLCX_SEVERITY_WARN},
    [CHECK_CONFLICTING_DUPLICATES] = {"conflicting_duplicates", OHLCX_SEVERITY_FAIL},
    [CHECK_OFF_GRID] = {"off_grid", OHLCX_SEVERITY_WARN},
    [CHECK_UNIT_SWITCH] = {"unit_switch", OHLCX_SEVERITY_FAIL},
    [CHECK_FUTURE_BARS] = {"future_bars", OHLCX_SEVERITY_FAIL},
    [CHECK_PARTIAL_LAST_BAR] = {"partial_last_bar", OHLCX_SEVERITY_WARN},
    [CHECK_DST_SHIFT] = {"dst_shift", OHLCX_SEVERITY_INFO},
    [CHECK_INVALID_PRICE] = {"invalid_price", OHLCX_SEVERITY_FAIL},
    [CHECK_HIGH_BELOW_LOW] = {"high_below_low", OHLCX_SEVERITY_FAIL},
    [CHECK_LOW_ABOVE_BODY] = {"low_above_body", OHLCX_SEVERITY_FAIL},
    [CHECK_HIGH_BELOW_BODY] = {"high_below_body", OHLCX_SEVERITY_FAIL},
    [CHECK_EXTREME_MOVE] = {"extreme_move", OHLCX_SEVERITY_WARN},
    [CHECK_PRICE_SCALE_JUMP] = {"price_scale_jump", OHLCX_SEVERITY_FAIL},
    [CHECK_SPLIT_LIKE_JUMP] = {"split_like_jump", OHLCX_SEVERITY_WARN},
    [CHECK_NEGATIVE_VOLUME] = {"negative_volume", OHLCX_SEVERITY_FAIL},
    [CHECK_ZERO_VOLUME_RUN] = {"zero_volume_run", OHLCX_SEVERITY_WARN},
    [CHECK_VOLUME_SPIKE] = {"volume_spike", OHLCX_SEVERITY_INFO},
    [CHECK_FLAT_BARS] = {"flat_bars", OHLCX_SEVERITY_INFO},
    [CHECK_STALE_SERIES] = {"stale_series", OHLCX_SEVERITY_WARN}, /* info off 24/7 */
    [CHECK_MISSING_BARS] = {"missing_bars", OHLCX_SEVERITY_WARN}, /* fail above the ratio */
    [CHECK_LONG_GAPS] = {"long_gaps", OHLCX_SEVERITY_WARN},
};

static const char *repair_names[REPAIR_COUNT] = {
    [REPAIR_SORTED] = "sorted",
    [REPAIR_DROPPED_DUPLICATES] = "dropped_duplicates",
    [REPAIR_DROPPED_CONFLICTS] = "dropped_conflicts",
    [REPAIR_DROPPED_INVALID] = "dropped_invalid",
    [REPAIR_FILLED_GAPS] = "filled_gaps",
    [REPAIR_FLAGGED_PARTIAL] = "flagged_partial",
};


void ohlcx_check_options_default(ohlcx_check_options *options)
{
    memset(options, 0, sizeof *options);
    options->policy = OHLCX_POLICY_REPORT;
    options->calendar = OHLCX_CALENDAR_AUTO;
    options->max_missing_ratio = 0.01;
    options->max_fill_gap = 3;
    options->now_us = 0;
    options->z_threshold = 10;
    options->z_window = 100;
}


const char *ohlcx_verdict_name(int verdict)
{
    static const char *names[] = {"pass", "warn", "fail"};

    return verdict >= 0 && verdict <= OHLCX_VERDICT_FAIL ? names[verdict] : "unknown";
}


const char *ohlcx_severity_name(int severity)
{
    static const char *names[] = {"info", "warn", "fail"};

    return severity >= 0 && severity <= OHLCX_SEVERITY_FAIL ? names[severity] : "unknown";
}


const char *ohlcx_calendar_name(int calendar)
{
    static const char *names[] = {"auto", "always", "forex", "us_equity", "inferred"};

    return calendar >= 0 && calendar <= OHLCX_CALENDAR_INFERRED ? names[calendar] : "unknown";
}


void check_add(ohlcx_check_result *result, size_t row, int64_t open_time, double value,
               const char *format, ...)
{
    ohlcx_check_example *example;
    va_list args;

    result->count++;
    if (result->example_count == OHLCX_CHECK_EXAMPLES)
        return;
    example = &result->examples[result->example_count++];
    example->row = row;
    example->open_time = open_time;
    example->value = value;
    va_start(args, format);
    vsnprintf(example->note, sizeof example->note, format, args);
    va_end(args);
}


void ohlcx_quality_report_free(ohlcx_quality_report *report)
{
    if (report == NULL)
        return;
    free(report->checks);
    free(report->repairs);
    free(report->gaps);
    memset(report, 0, sizeof *report);
}


static int64_t current_time_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * OHLCX_US_PER_SECOND + now.tv_nsec / 1000;
}


int64_t check_now_us(const ohlcx_check_options *options)
{
    return options->now_us != 0 ? options->now_us : current_time_us();
}


int check_options_valid(const ohlcx_check_options *o)
{
    if (o->policy < OHLCX_POLICY_REPORT || o->policy > OHLCX_POLICY_STRICT)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid check policy %d: use report, repair or "
                               "strict", o->policy);
    if (o->calendar < OHLCX_CALENDAR_AUTO || o->calendar > OHLCX_CALENDAR_INFERRED)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid calendar %d: use auto, always, forex, "
                               "us_equity or inferred", o->calendar);
    if (!(o->max_missing_ratio >= 0 && o->max_missing_ratio <= 1))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid max_missing_ratio %g: use a value in "
                               "[0, 1]", o->max_missing_ratio);
    if (o->max_fill_gap < 0)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid max_fill_gap %d: use 0 or more bars",
                               o->max_fill_gap);
    if (!(o->z_threshold > 0))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid z_threshold %g: use a value above 0",
                               o->z_threshold);
    if (o->z_window < 2)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid z_window %d: use 2 or more bars",
                               o->z_window);
    return 0;
}


int check_report_start(const ohlcx_series *series, ohlcx_quality_report *report)
{
    memset(report, 0, sizeof *report);
    snprintf(report->symbol, sizeof report->symbol, "%s", series->symbol);
    snprintf(report->timeframe, sizeof report->timeframe, "%s", series->timeframe);
    snprintf(report->source, sizeof report->source, "%s", series->source_path);
    report->rows = series->n;
    report->checks = calloc(CHECK_COUNT, sizeof *report->checks);
    if (report->checks == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory starting a quality report");
    report->check_count = CHECK_COUNT;
    for (int i = 0; i < CHECK_COUNT; i++) {
        snprintf(report->checks[i].name, sizeof report->checks[i].name, "%s",
                 check_table[i].name);
        report->checks[i].severity = check_table[i].severity;
    }
    return 0;
}


/* Scans in chunks without an early exit inside a chunk, so the compiler
 * can vectorise the comparisons. */
static int is_sorted(const ohlcx_series *series)
{
    const int64_t *t = series->open_time;

    for (size_t start = 1; start < series->n; start += 4096) {
        size_t end = series->n - start > 4096 ? start + 4096 : series->n;
        int descending = 0;

        for (size_t i = start; i < end; i++)
            descending |= t[i] < t[i - 1];
        if (descending)
            return 0;
    }
    return 1;
}


static void view_free(check_view *view)
{
    if (view->owned) {
        ohlcx_series_free(&view->bars);
        free(view->row);
    }
    memset(view, 0, sizeof *view);
}


/* Makes view an owned copy of n rows without optional columns. */
static int view_alloc(check_view *view, const ohlcx_series *like, size_t n)
{
    memset(view, 0, sizeof *view);
    ohlcx_series_init(&view->bars);
    memcpy(view->bars.symbol, like->symbol, sizeof view->bars.symbol);
    memcpy(view->bars.timeframe, like->timeframe, sizeof view->bars.timeframe);
    memcpy(view->bars.source_path, like->source_path, sizeof view->bars.source_path);
    view->bars.asset_class = like->asset_class;
    view->owned = 1;
    view->row = malloc((n ? n : 1) * sizeof *view->row);
    if (view->row == NULL || ohlcx_series_reserve(&view->bars, n ? n : 1) != 0) {
        view_free(view);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory copying %zu bars for the checks",
                               n);
    }
    return 0;
}


/* Copies the rows of from in the given order into the view's columns but
 * open_time, which the sort has filled, one column at a time. */
static void view_gather(check_view *view, const ohlcx_series *from, const size_t *order,
                        size_t n)
{
    ohlcx_series *s = &view->bars;

    for (size_t k = 0; k < n; k++)
        s->open[k] = from->open[order[k]];
    for (size_t k = 0; k < n; k++)
        s->high[k] = from->high[order[k]];
    for (size_t k = 0; k < n; k++)
        s->low[k] = from->low[order[k]];
    for (size_t k = 0; k < n; k++)
        s->close[k] = from->close[order[k]];
    for (size_t k = 0; k < n; k++)
        s->volume[k] = from->volume[order[k]];
    for (size_t k = 0; k < n; k++)
        s->flags[k] = from->flags[order[k]];
    s->n = n;
}


/* Builds the time-ordered view: the series itself when sorted, else a copy
 * sorted by open time with file order among equal open times. */
static int view_sorted(check_view *view, const ohlcx_series *series)
{
    int status;

    memset(view, 0, sizeof *view);
    if (is_sorted(series)) {
        view->bars = *series;
        return 0;
    }
    status = view_alloc(view, series, series->n);
    if (status == 0)
        status = check_order_by_time(series->open_time, series->n, view->bars.open_time,
                                     view->row);
    if (status != 0) {
        view_free(view);
        return status;
    }
    view_gather(view, series, view->row, series->n);
    return 0;
}


/* Builds the view of the first row of each open time of a sorted view. It
 * is the sorted view itself when no open time repeats. Completeness reads
 * only the open times, so the copy has no other column. */
static int view_unique(check_view *unique, const check_view *sorted, size_t repeats)
{
    const ohlcx_series *s = &sorted->bars;
    size_t n = 0, count = s->n - repeats;

    memset(unique, 0, sizeof *unique);
    if (repeats == 0) {
        unique->bars = sorted->bars;
        unique->row = sorted->row;
        return 0;
    }
    ohlcx_series_init(&unique->bars);
    memcpy(unique->bars.symbol, s->symbol, sizeof unique->bars.symbol);
    memcpy(unique->bars.timeframe, s->timeframe, sizeof unique->bars.timeframe);
    memcpy(unique->bars.source_path, s->source_path, sizeof unique->bars.source_path);
    unique->bars.asset_class = s->asset_class;
    unique->owned = 1;
    unique->row = malloc((count ? count : 1) * sizeof *unique->row);
    unique->bars.open_time = malloc((count ? count : 1) * sizeof *unique->bars.open_time);
    if (unique->row == NULL || unique->bars.open_time == NULL) {
        view_free(unique);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory copying %zu open times for the "
                               "gap check", count);
    }
    for (size_t k = 0; k < s->n; k++) {
        if (k > 0 && s->open_time[k] == s->open_time[k - 1])
            continue;
        unique->bars.open_time[n] = s->open_time[k];
        unique->row[n] = sorted->row ? sorted->row[k] : k;
        n++;
    }
    unique->bars.n = n;
    unique->bars.capacity = n;
    return 0;
}


void check_count_gap(ohlcx_check_result *checks, size_t row, const ohlcx_gap *gap,
                     const ohlcx_check_options *options)
{
    ohlcx_check_result *missing = &checks[CHECK_MISSING_BARS];
    ohlcx_check_result *long_gaps = &checks[CHECK_LONG_GAPS];
    size_t first = missing->count;

    check_add(missing, row, gap->first_missing, (double)gap->missing,
              "%zu bars missing before row %zu", gap->missing, row);
    missing->count = first + gap->missing;
    if (gap->missing > (size_t)options->max_fill_gap)
        check_add(long_gaps, row, gap->first_missing, (double)gap->missing,
                  "gap of %zu bars, longer than %d", gap->missing, options->max_fill_gap);
}


void check_missing_severity(const ohlcx_check_options *options, ohlcx_quality_report *report)
{
    if (report->missing_ratio > options->max_missing_ratio)
        report->checks[CHECK_MISSING_BARS].severity = OHLCX_SEVERITY_FAIL;
}


void check_report_gaps(const size_t *row_map, const ohlcx_check_options *options,
                       ohlcx_quality_report *report)
{
    for (size_t i = 0; i < report->gap_count; i++) {
        const ohlcx_gap *gap = &report->gaps[i];

        check_count_gap(report->checks, row_map ? row_map[gap->row] : gap->row, gap, options);
    }
    check_missing_severity(options, report);
}


/* Copies the examples of a check into a repair that acted on the same rows. */
static void repair_from_check(ohlcx_check_result *repair, const ohlcx_check_result *check,
                              size_t count)
{
    repair->count = count;
    repair->example_count = count > 0 ? check->example_count : 0;
    memcpy(repair->examples, check->examples, sizeof repair->examples);
}


static int repair_drop_rows(ohlcx_series *series, ohlcx_quality_report *report)
{
    ohlcx_check_result *r = report->repairs, *c = report->checks;
    ohlcx_validation result;
    int status = ohlcx_validate_basic(series, &result);
    size_t invalid;

    if (status != 0)
        return status;
    invalid = result.dropped[OHLCX_DROP_NONPOSITIVE_PRICE] +
              result.dropped[OHLCX_DROP_HIGH_BELOW_LOW] +
              result.dropped[OHLCX_DROP_OUTSIDE_RANGE] +
              result.dropped[OHLCX_DROP_NEGATIVE_VOLUME];
    repair_from_check(&r[REPAIR_SORTED], &c[CHECK_UNSORTED_ROWS],
                      result.was_unsorted ? c[CHECK_UNSORTED_ROWS].count : 0);
    repair_from_check(&r[REPAIR_DROPPED_DUPLICATES], &c[CHECK_DUPLICATE_ROWS],
                      result.dropped[OHLCX_DROP_DUPLICATE]);
    repair_from_check(&r[REPAIR_DROPPED_CONFLICTS], &c[CHECK_CONFLICTING_DUPLICATES],
                      result.dropped[OHLCX_DROP_CONFLICT]);
    repair_from_check(&r[REPAIR_DROPPED_INVALID], &c[CHECK_INVALID_PRICE], invalid);
    return 0;
}


/* Fills the short gaps, finding them again first when find_again is 1
 * (rows were dropped since they were found). */
static int repair_fill_gaps(ohlcx_series *series, int calendar, const uint8_t *inferred,
                            const ohlcx_check_options *options, int find_again,
                            ohlcx_quality_report *report)
{
    size_t added = 0;
    int status = 0;

    if (find_again)
        status = quality_find_gaps(series, calendar, inferred, report);
    if (status == 0)
        status = quality_fill_gaps(series, report, options->max_fill_gap, &added);
    if (status != 0)
        return status;
    check_repair_filled(report, added);
    return 0;
}


void check_repair_filled_gap(ohlcx_check_result *filled, const ohlcx_gap *gap)
{
    if (gap->filled)
        check_add(filled, gap->row, gap->first_missing, (double)gap->missing,
                  "filled %zu synthetic bars", gap->missing);
}


void check_repair_filled(ohlcx_quality_report *report, size_t added)
{
    ohlcx_check_result *filled = &report->repairs[REPAIR_FILLED_GAPS];

    for (size_t i = 0; i < report->gap_count; i++)
        check_repair_filled_gap(filled, &report->gaps[i]);
    filled->count = added;
}


void check_flag_partial(size_t row, int64_t open_time, uint8_t *flags, int64_t timeframe_us,
                        int64_t now_us, ohlcx_check_result *flagged)
{
    if (open_time <= now_us && open_time + timeframe_us > now_us) {
        *flags |= OHLCX_FLAG_PARTIAL;
        check_add(flagged, row, open_time, 1, "last bar flagged partial");
    }
}


static void repair_partial(ohlcx_series *series, int64_t timeframe_us, int64_t now_us,
                           ohlcx_check_result *flagged)
{
    size_t last = series->n - 1;

    if (series->n == 0)
        return;
    check_flag_partial(last, series->open_time[last], &series->flags[last], timeframe_us,
                       now_us, flagged);
}


int check_nothing_to_drop(const ohlcx_quality_report *report)
{
    static const int drop_checks[] = {
        CHECK_UNSORTED_ROWS,  CHECK_DUPLICATE_ROWS,  CHECK_CONFLICTING_DUPLICATES,
        CHECK_INVALID_PRICE,  CHECK_HIGH_BELOW_LOW,  CHECK_LOW_ABOVE_BODY,
        CHECK_HIGH_BELOW_BODY, CHECK_NEGATIVE_VOLUME,
    };

    for (size_t i = 0; i < sizeof drop_checks / sizeof *drop_checks; i++)
        if (report->checks[drop_checks[i]].count > 0)
            return 0;
    return 1;
}


int check_repairs_start(ohlcx_quality_report *report)
{
    report->repairs = calloc(REPAIR_COUNT, sizeof *report->repairs);
    if (report->repairs == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing repairs");
    report->repair_count = REPAIR_COUNT;
    for (int i = 0; i < REPAIR_COUNT; i++) {
        snprintf(report->repairs[i].name, sizeof report->repairs[i].name, "%s",
                 repair_names[i]);
        report->repairs[i].severity = OHLCX_SEVERITY_INFO;
    }
    return 0;
}


static int repair(ohlcx_series *series, const check_context *ctx, const uint8_t *inferred,
                  ohlcx_quality_report *report)
{
    int status, unchanged;

    status = check_repairs_start(report);
    if (status != 0)
        return status;
    /* With nothing to drop, ohlcx_validate_basic() would change nothing and
     * the gaps in the report are already those of the series to fill, so
     * neither needs another pass over the rows. */
    unchanged = check_nothing_to_drop(report);
    if (!unchanged)
        status = repair_drop_rows(series, report);
    if (status == 0)
        status = repair_fill_gaps(series, ctx->calendar, inferred, ctx->options, !unchanged,
                                  report);
    if (status == 0)
        repair_partial(series, ctx->timeframe_us, ctx->now_us,
                       &report->repairs[REPAIR_FLAGGED_PARTIAL]);
    return status;
}


int check_verdict(const ohlcx_quality_report *report, int strict)
{
    int verdict = OHLCX_VERDICT_PASS;

    for (size_t i = 0; i < report->check_count; i++) {
        int severity = report->checks[i].severity;

        if (report->checks[i].count == 0 || severity == OHLCX_SEVERITY_INFO)
            continue;
        if (strict || severity == OHLCX_SEVERITY_FAIL)
            return OHLCX_VERDICT_FAIL;
        verdict = OHLCX_VERDICT_WARN;
    }
    return verdict;
}


/* Steps 2 and 3: the checks on the sorted view, then completeness. */
static int run_checks(check_context *ctx, uint8_t *inferred, ohlcx_quality_report *report)
{
    ohlcx_check_result *checks = report->checks;
    check_view unique;
    size_t repeats;
    int status;

    check_timestamps(ctx, checks);
    status = check_consistency(ctx, checks);
    if (status != 0)
        return status;
    if (ctx->calendar != OHLCX_CALENDAR_ALWAYS)
        checks[CHECK_STALE_SERIES].severity = OHLCX_SEVERITY_INFO;

    repeats = checks[CHECK_DUPLICATE_ROWS].count + checks[CHECK_CONFLICTING_DUPLICATES].count;
    status = view_unique(&unique, ctx->view, repeats);
    if (status != 0)
        return status;
    if (ctx->calendar == OHLCX_CALENDAR_INFERRED)
        quality_infer_session(&unique.bars, inferred);
    status = quality_find_gaps(&unique.bars, ctx->calendar, inferred, report);
    if (status == 0)
        check_report_gaps(unique.row, ctx->options, report);
    view_free(&unique);
    return status;
}


int ohlcx_check_series(ohlcx_series *series, const ohlcx_check_options *options,
                       ohlcx_quality_report *report)
{
    ohlcx_check_options defaults;
    uint8_t inferred[7 * 24] = {0};
    check_view sorted = {0};
    check_context ctx;
    int status;

    if (series == NULL || report == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_check_series: series and report must not "
                               "be NULL");
    if (options == NULL) {
        ohlcx_check_options_default(&defaults);
        options = &defaults;
    }
    status = check_options_valid(options);
    if (status != 0)
        return status;
    status = check_report_start(series, report);
    if (status != 0)
        goto fail;

    memset(&ctx, 0, sizeof ctx);
    ctx.given = series;
    ctx.view = &sorted;
    ctx.options = options;
    ctx.timeframe_us = ohlcx_timeframe_us(series->timeframe);
    ctx.now_us = check_now_us(options);
    if (ctx.timeframe_us == 0) {
        status = ohlcx_set_error(OHLCX_EINVAL, "%s: unknown timeframe '%s': set the series' "
                                 "timeframe to a canonical name such as 1h",
                                 series->source_path, series->timeframe);
        goto fail;
    }
    ctx.calendar = quality_resolve_calendar(series, options->calendar);
    if (ctx.calendar < 0) {
        status = ctx.calendar;
        goto fail;
    }
    report->calendar = ctx.calendar;

    status = view_sorted(&sorted, series);
    if (status == 0)
        status = run_checks(&ctx, inferred, report);
    if (status != 0)
        goto fail;
    view_free(&sorted); /* the view may alias series, which the repair changes */
    if (options->policy == OHLCX_POLICY_REPAIR) {
        status = repair(series, &ctx, inferred, report);
        if (status != 0)
            goto fail;
    }
    report->verdict = check_verdict(report, options->policy == OHLCX_POLICY_STRICT);
    return 0;

fail:
    view_free(&sorted);
    ohlcx_quality_report_free(report);
    return status;
}
