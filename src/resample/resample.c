/*
 * Resampling a sorted series into coarser bins (see include/ohlcx/resample.h).
 *
 * The pass walks the source once. For the bar at row i it finds the bin
 * [start, end) that contains the bar, then scans forward while open times
 * stay below end, which gives the rows [i, j) of the bin. One loop over
 * those rows reduces high, low, volume and flags together, and a short loop
 * per optional column sums it. The grid, which may need calendar arithmetic
 * or a time zone, is consulted once per bin at most: on a fixed grid the
 * next bin follows from the last one without a division.
 *
 * Invariant: out->series.n bins are written, each from at least one source
 * bar, with strictly increasing open times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "format/format_internal.h"
#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/resample.h"
#include "quality/quality_internal.h"

#define DAY OHLCX_US_PER_DAY
#define HOUR OHLCX_US_PER_HOUR

/* 1970-01-01 was a Thursday, so Monday-aligned weeks start 4 days later. */
#define MONDAY_ORIGIN (4 * DAY)

/* The shortest month and session day, for sizing the output. */
#define SHORTEST_MONTH (28 * DAY)
#define SHORTEST_SESSION_DAY (23 * HOUR)

#define CACHE_LINE ((size_t)64)
#define HUGE_PAGE ((size_t)2 << 20) /* a transparent huge page on x86-64 */

enum grid_kind { GRID_FIXED, GRID_MONTH, GRID_SESSION };

/* How a timeframe cuts time into bins. */
typedef struct bin_grid {
    int kind;              /* enum grid_kind */
    int64_t length_us;     /* GRID_FIXED */
    int64_t origin_us;     /* GRID_FIXED: a bin boundary */
    int months;            /* GRID_MONTH: 1 or 3 */
    format_zone *zone;     /* GRID_SESSION */
    int64_t day_start_us;  /* GRID_SESSION: local time of day the bins start */
} bin_grid;


static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}


/* Returns 1 or 3 for 1M and 3M, else 0. */
static int timeframe_months(const char *timeframe)
{
    if (strcmp(timeframe, "1M") == 0)
        return 1;
    if (strcmp(timeframe, "3M") == 0)
        return 3;
    return 0;
}


static int64_t month_start(int year, int month)
{
    while (month > 12) {
        month -= 12;
        year++;
    }
    return format_days_from_civil(year, month, 1) * DAY;
}


/* Writes the bin [start, end) of the grid that contains time t. */
static void grid_bin(const bin_grid *grid, int64_t t, int64_t *start, int64_t *end)
{
    if (grid->kind == GRID_FIXED) {
        *start = grid->origin_us + floor_div(t - grid->origin_us, grid->length_us) *
                                       grid->length_us;
        *end = *start + grid->length_us;
        return;
    }

    if (grid->kind == GRID_MONTH) {
        int year, month, day;

        format_civil_from_days(floor_div(t, DAY), &year, &month, &day);
        month = (month - 1) / grid->months * grid->months + 1;
        *start = month_start(year, month);
        *end = month_start(year, month + grid->months);
        return;
    }

    /* A session day runs from day_start_us local time to the same wall time
     * on the next local day; either end may fall in another UTC offset. */
    int64_t offset = format_zone_offset(grid->zone, floor_div(t, OHLCX_US_PER_SECOND)) *
                     OHLCX_US_PER_SECOND;
    int64_t local_day = floor_div(t + offset - grid->day_start_us, DAY);

    for (;;) {
        int64_t local_start = local_day * DAY + grid->day_start_us;

        *start = format_zone_to_utc(grid->zone, local_start, NULL);
        *end = format_zone_to_utc(grid->zone, local_start + DAY, NULL);
        if (t < *start)
            local_day--;
        else if (t >= *end)
            local_day++;
        else
            return;
    }
}


/* Returns the end of the source bar that opens at t. */
static int64_t source_bar_end(int64_t source_us, int source_months, int64_t t)
{
    int year, month, day;

    if (source_months == 0)
        return t + source_us;
    format_civil_from_days(floor_div(t, DAY), &year, &month, &day);
    return month_start(year, month + source_months);
}


void ohlcx_resample_options_init(ohlcx_resample_options *options)
{
    memset(options, 0, sizeof *options);
    options->day_start = OHLCX_DAY_UTC;
    options->session_minute = -1;
    options->calendar = OHLCX_CALENDAR_AUTO;
}


void ohlcx_resample_session_default(int asset_class, const char **zone, int *minute)
{
    switch (asset_class) {
    case OHLCX_ASSET_FOREX:
        *zone = "America/New_York";
        *minute = 17 * 60;
        return;
    case OHLCX_ASSET_STOCKS:
    case OHLCX_ASSET_INDICES:
        *zone = "America/New_York";
        *minute = 0;
        return;
    default:
        *zone = "UTC";
        *minute = 0;
        return;
    }
}


void ohlcx_resampled_init(ohlcx_resampled *out)
{
    memset(out, 0, sizeof *out);
    ohlcx_series_init(&out->series);
}


void ohlcx_resampled_free(ohlcx_resampled *out)
{
    /* The series' columns point into the block, so ohlcx_series_free() must
     * not see them. */
    free(out->block);
    ohlcx_resampled_init(out);
}


static int cannot_build(const char *source, const char *target, const char *reason)
{
    return ohlcx_set_error(OHLCX_EINVAL, "cannot build %s bars from %s bars exactly: %s", target,
                           source, reason);
}


int ohlcx_resample_check(const char *source, const char *target, int day_start)
{
    int source_months, target_months;
    int64_t source_us, target_us;

    if (source == NULL || ohlcx_timeframe_id(source) < 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid source timeframe '%s': resampling reads only 1m 3m 5m "
                               "15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M",
                               source ? source : "");
    if (target == NULL || ohlcx_timeframe_id(target) < 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid target timeframe '%s': use 3m 5m 15m 30m 1h 2h 4h 6h "
                               "8h 12h 1d 3d 1w 1M 3M",
                               target ? target : "");
    source_months = timeframe_months(source);
    target_months = timeframe_months(target);
    source_us = ohlcx_timeframe_us(source);
    target_us = ohlcx_timeframe_us(target);

    if (ohlcx_timeframe_id(source) >= ohlcx_timeframe_id(target))
        return cannot_build(source, target, "the source must be the finer timeframe");
    if (target_months > 0) {
        if (source_months > 0)
            return target_months % source_months == 0
                       ? 0
                       : cannot_build(source, target, "a quarter is not a whole number of them");
        return DAY % source_us == 0
                   ? 0
                   : cannot_build(source, target,
                                  "months need a source of 1d or a timeframe that divides a day");
    }
    if (source_months > 0)
        return cannot_build(source, target, "months have no fixed length");
    if (day_start == OHLCX_DAY_SESSION && target_us == DAY)
        return source_us <= HOUR && HOUR % source_us == 0
                   ? 0
                   : cannot_build(source, target,
                                  "a session day needs a source of 1h or a timeframe that "
                                  "divides an hour");
    if (target_us % source_us != 0)
        return cannot_build(source, target, "the target's length is not a multiple of the "
                                            "source's");
    return 0;
}


static void grid_free(bin_grid *grid)
{
    if (grid->zone != NULL)
        format_zone_free(grid->zone);
    grid->zone = NULL;
}


static int grid_init(bin_grid *grid, const ohlcx_series *source, const char *target,
                     const ohlcx_resample_options *options)
{
    memset(grid, 0, sizeof *grid);
    grid->months = timeframe_months(target);
    if (grid->months > 0) {
        grid->kind = GRID_MONTH;
        return 0;
    }

    grid->kind = GRID_FIXED;
    grid->length_us = ohlcx_timeframe_us(target);
    grid->origin_us = strcmp(target, "1w") == 0 ? MONDAY_ORIGIN : 0;
    if (options->day_start == OHLCX_DAY_SESSION && grid->length_us == DAY) {
        const char *zone = NULL;
        int minute = 0;

        ohlcx_resample_session_default(source->asset_class, &zone, &minute);
        if (options->session_zone != NULL)
            zone = options->session_zone;
        if (options->session_minute >= 0)
            minute = options->session_minute;
        if (minute >= 24 * 60)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "invalid session start %d minutes after midnight: use 0 to "
                                   "1439",
                                   minute);
        grid->kind = GRID_SESSION;
        grid->day_start_us = minute * OHLCX_US_PER_MINUTE;
        return format_zone_load(zone, &grid->zone);
    }
    return 0;
}


/* Bytes of one column of capacity entries of element_size bytes, rounded
 * up to whole cache lines so that every column of the block starts on one. */
static size_t column_bytes(size_t capacity, size_t element_size)
{
    return (capacity * element_size + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
}


/* Allocates the block of one target. A block of a few megabytes is aligned
 * to a huge page and marked for transparent huge pages: a year of 3m bins
 * fills about 16 MB, and faulting that in 4 KiB pages cost about as much as
 * resampling it (7,666 page faults for the 15 targets of a year of 1m bars).
 * Where the kernel gives no huge pages the block works the same. */
static void *block_alloc(size_t bytes)
{
    void *block = NULL;

#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_PAGE / 2) {
        /* Whole huge pages, so that the tail is not faulted in small ones. */
        bytes = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        if (posix_memalign(&block, HUGE_PAGE, bytes) != 0)
            return NULL;
        (void)madvise(block, bytes, MADV_HUGEPAGE);
        return block;
    }
#endif
    if (posix_memalign(&block, CACHE_LINE, bytes) != 0)
        return NULL;
    return block;
}


/*
 * Makes room for capacity bins and gives the output the source's identity
 * and optional columns. Every column of the output, sub_bars and expected
 * included, lies in one block sized once from the bound on the bins, so a
 * call allocates at most once per target and never grows a column.
 */
static int prepare_output(ohlcx_resampled *out, const ohlcx_series *source, const char *target,
                          size_t capacity)
{
    ohlcx_series *series = &out->series;
    size_t wide = column_bytes(capacity, sizeof(double));
    size_t bytes = wide * (6 + (size_t)__builtin_popcount(source->extra)) +
                   2 * column_bytes(capacity, sizeof(uint32_t)) +
                   column_bytes(capacity, sizeof(uint8_t));
    char *next;

    if (bytes > out->block_bytes) {
        free(out->block);
        out->block_bytes = 0;
        out->block = block_alloc(bytes);
        if (out->block == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for %zu %s bins (%zu bytes)",
                                   capacity, target, bytes);
        out->block_bytes = bytes;
    }

    next = out->block;
    series->open_time = (int64_t *)next;
    next += wide;
    series->open = (double *)next;
    next += wide;
    series->high = (double *)next;
    next += wide;
    series->low = (double *)next;
    next += wide;
    series->close = (double *)next;
    next += wide;
    series->volume = (double *)next;
    next += wide;
    for (int c = 0; c < OHLCX_EXTRA_COUNT; c++) {
        series->extra_column[c] = NULL;
        if (source->extra & (1u << c)) {
            series->extra_column[c] = (double *)next;
            next += wide;
        }
    }
    out->sub_bars = (uint32_t *)next;
    next += column_bytes(capacity, sizeof(uint32_t));
    out->expected = (uint32_t *)next;
    next += column_bytes(capacity, sizeof(uint32_t));
    series->flags = (uint8_t *)next;
    series->extra = source->extra;
    series->capacity = capacity;
    out->capacity = capacity;

    snprintf(series->symbol, sizeof series->symbol, "%s", source->symbol);
    snprintf(series->timeframe, sizeof series->timeframe, "%s", target);
    snprintf(series->source_path, sizeof series->source_path, "%s", source->source_path);
    series->asset_class = source->asset_class;
    series->n = 0;
    out->partial = 0;
    out->open_bins = 0;
    return 0;
}


/* Returns an upper bound on the bins: every bin holds a source bar, and
 * bins are at least min_length_us long. */
static size_t bin_bound(const ohlcx_series *source, int64_t min_length_us)
{
    int64_t span = source->open_time[source->n - 1] - source->open_time[0];
    uint64_t by_time = (uint64_t)(span / min_length_us) + 2;

    return by_time < source->n ? (size_t)by_time : source->n;
}


/* Counts the source slots in [start, end) that the calendar expects. */
static uint32_t expected_sub_bars(int calendar, const char *source_tf, int64_t source_us,
                                  int source_months, const uint8_t *inferred, int64_t start,
                                  int64_t end)
{
    uint32_t count = 0;

    if (calendar == OHLCX_CALENDAR_ALWAYS && source_months == 0)
        return (uint32_t)((end - start) / source_us);
    for (int64_t slot = start; slot < end; slot = source_bar_end(source_us, source_months, slot))
        if (calendar == OHLCX_CALENDAR_ALWAYS ||
            quality_bar_expected(calendar, source_tf, slot, inferred))
            count++;
    return count;
}


/* Writes bin b from source rows [begin, end) in one pass over the rows.
 * Sums add in row order from 0, as a plain loop per column would. */
static void reduce_bin(const ohlcx_series *source, size_t begin, size_t end, ohlcx_series *out,
                       size_t b)
{
    const double *high_in = source->high, *low_in = source->low, *volume_in = source->volume;
    double high = high_in[begin], low = low_in[begin], volume = 0.0;
    uint8_t flags = 0;

    for (size_t k = begin; k < end; k++) {
        high = high_in[k] > high ? high_in[k] : high;
        low = low_in[k] < low ? low_in[k] : low;
        volume += volume_in[k];
        flags |= source->flags[k];
    }

    out->open[b] = source->open[begin];
    out->high[b] = high;
    out->low[b] = low;
    out->close[b] = source->close[end - 1];
    out->volume[b] = volume;
    out->flags[b] = flags;
    for (int c = 0; c < OHLCX_EXTRA_COUNT; c++) {
        const double *column = source->extra_column[c];
        double sum = 0.0;

        if (!(source->extra & (1u << c)))
            continue;
        for (size_t k = begin; k < end; k++)
            sum += column[k];
        out->extra_column[c][b] = sum;
    }
}


static int unsorted(const ohlcx_series *source, size_t row)
{
    char previous[20], current[20];

    ohlcx_format_datetime(source->open_time[row - 1], previous);
    ohlcx_format_datetime(source->open_time[row], current);
    return ohlcx_set_error(OHLCX_EINVAL,
                           "%s %s bars are not sorted: row %zu opens at %s, not after %s; run "
                           "the validation first",
                           source->symbol, source->timeframe, row, current, previous);
}


static int crosses_bin(const ohlcx_series *source, size_t row, const char *target, int64_t end)
{
    char bar[20], boundary[20];

    ohlcx_format_datetime(source->open_time[row], bar);
    ohlcx_format_datetime(end, boundary);
    return ohlcx_set_error(OHLCX_EINVAL,
                           "%s %s bar opening at %s crosses the %s boundary at %s: the source "
                           "bars are not aligned to the target's grid",
                           source->symbol, source->timeframe, bar, target, boundary);
}


/* What every bin of one call is measured against: the series the caller
 * passed, even when a bin is built from an intermediate target. */
typedef struct resample_context {
    const char *source_tf;
    int64_t source_us;
    int source_months;
    int calendar;             /* resolved enum ohlcx_calendar */
    const uint8_t *inferred;  /* OHLCX_CALENDAR_INFERRED slots */
    int64_t limit;            /* bins ending after this are open */
    int day_start;
} resample_context;


/* Flags the last bins that end after limit as open. */
static void flag_open_bins(const bin_grid *grid, int64_t limit, ohlcx_resampled *out)
{
    ohlcx_series *series = &out->series;
    size_t b = series->n;

    while (b > 0) {
        int64_t start, end;

        grid_bin(grid, series->open_time[b - 1], &start, &end);
        if (end <= limit)
            break;
        b--;
        series->flags[b] |= OHLCX_FLAG_PARTIAL;
        out->open_bins++;
    }
}


/* Returns the first row whose open time is not after the previous row's,
 * or 0 when the series is sorted with unique open times. */
static size_t first_unsorted(const ohlcx_series *series)
{
    const int64_t *t = series->open_time;
    int sorted = 1;

    /* A branch-free pass the compiler vectorises; the row is searched for
     * only when it exists. */
    for (size_t i = 1; i < series->n; i++)
        sorted &= t[i] > t[i - 1];
    if (sorted)
        return 0;
    for (size_t i = 1; i < series->n; i++)
        if (t[i] <= t[i - 1])
            return i;
    return 0;
}


/*
 * Writes the bins of base to out. base is the caller's source or a finer
 * target built from it, sorted with unique open times; base_counts, when
 * not NULL, are the source bars in each base bar, so that counts and
 * expectations stay in source bars.
 *
 * On a fixed grid the bin after [start, end) is [end, end + length) when
 * the next row falls inside it, which spares the division of grid_bin()
 * for every bin but the first after a gap. On the 24/7 calendar every bin
 * of a fixed grid from a fixed-length source expects the same count.
 */
static int resample_rows(const ohlcx_series *base, const uint32_t *base_counts,
                         const char *target, const bin_grid *grid,
                         const resample_context *context, ohlcx_resampled *out)
{
    const int64_t *t = base->open_time;
    int64_t base_us = ohlcx_timeframe_us(base->timeframe);
    int base_months = timeframe_months(base->timeframe);
    int fixed = grid->kind == GRID_FIXED;
    int64_t length = grid->length_us;
    uint32_t fixed_expected = 0;
    ohlcx_series *series = &out->series;
    size_t i = 0, b = 0;
    int64_t start = 0, end = 0;

    if (fixed && context->calendar == OHLCX_CALENDAR_ALWAYS && context->source_months == 0)
        fixed_expected = (uint32_t)(length / context->source_us);

    while (i < base->n) {
        size_t j = i + 1;
        uint32_t count = 0;

        if (b > 0 && fixed && t[i] - end < length) {
            start = end;
            end += length;
        } else {
            grid_bin(grid, t[i], &start, &end);
        }
        while (j < base->n && t[j] < end)
            j++;
        if (base_months == 0 ? t[j - 1] + base_us > end
                             : source_bar_end(base_us, base_months, t[j - 1]) > end)
            return crosses_bin(base, j - 1, target, end);

        series->open_time[b] = start;
        reduce_bin(base, i, j, series, b);
        if (base_counts == NULL)
            count = (uint32_t)(j - i);
        else
            for (size_t k = i; k < j; k++)
                count += base_counts[k];
        out->sub_bars[b] = count;
        out->expected[b] = fixed_expected != 0
                               ? fixed_expected
                               : expected_sub_bars(context->calendar, context->source_tf,
                                                   context->source_us, context->source_months,
                                                   context->inferred, start, end);
        if (count < out->expected[b])
            series->flags[b] |= OHLCX_FLAG_PARTIAL;
        b++;
        i = j;
    }
    series->n = b;
    return 0;
}


/* Builds one target from base into out, keeping open bins. */
static int resample_one(const ohlcx_series *source, const ohlcx_series *base,
                        const uint32_t *base_counts, const char *target,
                        const ohlcx_resample_options *options,
                        const resample_context *context, ohlcx_resampled *out)
{
    bin_grid grid;
    int64_t min_length;
    int status = grid_init(&grid, source, target, options);

    if (status != 0)
        return status;
    min_length = grid.kind == GRID_MONTH     ? SHORTEST_MONTH * grid.months
                 : grid.kind == GRID_SESSION ? SHORTEST_SESSION_DAY
                                             : grid.length_us;
    status = prepare_output(out, source, target, base->n ? bin_bound(base, min_length) : 1);
    if (status == 0 && base->n > 0)
        status = resample_rows(base, base_counts, target, &grid, context, out);
    if (status == 0)
        flag_open_bins(&grid, context->limit, out);
    else
        out->series.n = 0;
    grid_free(&grid);
    return status;
}


/* Drops open bins with complete_only and counts the partial ones. */
static void finish_bins(int complete_only, ohlcx_resampled *out)
{
    if (complete_only)
        out->series.n -= out->open_bins;
    out->partial = 0;
    for (size_t b = 0; b < out->series.n; b++)
        out->partial += (out->series.flags[b] & OHLCX_FLAG_PARTIAL) != 0;
}


static int init_context(const ohlcx_series *source, const ohlcx_resample_options *options,
                        uint8_t inferred[7 * 24], resample_context *context)
{
    context->source_tf = source->timeframe;
    context->source_us = ohlcx_timeframe_us(source->timeframe);
    context->source_months = timeframe_months(source->timeframe);
    context->day_start = options->day_start;
    context->calendar = quality_resolve_calendar(source, options->calendar);
    if (context->calendar < 0)
        return context->calendar;
    memset(inferred, 0, 7 * 24);
    if (context->calendar == OHLCX_CALENDAR_INFERRED)
        quality_infer_session(source, inferred);
    context->inferred = inferred;
    context->limit = options->now_us;
    if (context->limit == 0 && source->n > 0)
        context->limit = source_bar_end(context->source_us, context->source_months,
                                        source->open_time[source->n - 1]);
    return 0;
}


int ohlcx_resample(const ohlcx_series *source, const char *target,
                   const ohlcx_resample_options *options, ohlcx_resampled *out)
{
    return ohlcx_resample_many(source, &target, 1, options, out);
}


/* Returns the coarsest target built so far that can build target exactly,
 * or -1 for the source. A session day is never a base, because its
 * boundaries are not those of UTC days. */
static int pick_base(const char *const *targets, const int *order, int built, const char *target,
                     int day_start)
{
    for (int k = built - 1; k >= 0; k--) {
        const char *candidate = targets[order[k]];

        if (day_start == OHLCX_DAY_SESSION && strcmp(candidate, "1d") == 0)
            continue;
        if (ohlcx_timeframe_id(candidate) < ohlcx_timeframe_id(target) &&
            ohlcx_resample_check(candidate, target, day_start) == 0)
            return order[k];
    }
    return -1;
}


int ohlcx_resample_many(const ohlcx_series *source, const char *const *targets, int count,
                        const ohlcx_resample_options *options, ohlcx_resampled *out)
{
    ohlcx_resample_options defaults;
    resample_context context;
    uint8_t inferred[7 * 24];
    int order[OHLCX_RESAMPLE_TARGETS_MAX];
    int status = 0;

    if (options == NULL) {
        ohlcx_resample_options_init(&defaults);
        options = &defaults;
    }
    if (count < 0 || count > OHLCX_RESAMPLE_TARGETS_MAX)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid target count %d: use 0 to %d", count,
                               OHLCX_RESAMPLE_TARGETS_MAX);
    for (int k = 0; k < count && status == 0; k++)
        status = ohlcx_resample_check(source->timeframe, targets[k], options->day_start);
    if (status == 0 && count > 0 && first_unsorted(source) != 0)
        status = unsorted(source, first_unsorted(source));
    if (status == 0)
        status = init_context(source, options, inferred, &context);
    if (status != 0)
        return status;

    /* Finer targets first, so each coarser one can start from one of them. */
    for (int k = 0; k < count; k++) {
        int position = k;

        while (position > 0 && ohlcx_timeframe_id(targets[order[position - 1]]) >
                                   ohlcx_timeframe_id(targets[k])) {
            order[position] = order[position - 1];
            position--;
        }
        order[position] = k;
    }

    for (int k = 0; k < count && status == 0; k++) {
        int target = order[k], base = pick_base(targets, order, k, targets[target],
                                                options->day_start);

        if (base < 0)
            status = resample_one(source, source, NULL, targets[target], options, &context,
                                  &out[target]);
        else
            status = resample_one(source, &out[base].series, out[base].sub_bars,
                                  targets[target], options, &context, &out[target]);
    }
    for (int k = 0; k < count && status == 0; k++)
        finish_bins(options->complete_only, &out[k]);
    return status;
}
