/*
 * Resampling a sorted series into coarser bins (see include/ohlcx/resample.h).
 *
 * Each target is a pass over its base: the source, or the coarsest finer
 * target of the same call that divides it (15m from 5m, 1M from 1d). For
 * the base row i a pass finds the bin [start, end) that contains the row,
 * then the rows [i, j) of the bin. On a fixed grid a full bin (it opens at
 * its start and contains every slot) is found from two open times without
 * a scan. A run of full bins is reduced one column at a time, which the
 * compiler vectorises. Any other bin scans for its end and reduces its
 * rows in one loop. The grid, which may need calendar arithmetic or a time
 * zone, is consulted once per bin at most: on a fixed grid the next bin
 * follows from the last one without a division.
 *
 * The passes run side by side. The source is read in chunks of PASS_ROWS
 * rows. Every target of the source reads each chunk, so 3m and 5m from 1m
 * read it once from memory and once from the cache. The coarser targets
 * then read the new bins of their bases while these are in the cache. A
 * pass stops after the last bin whose rows it has seen whole and goes on
 * from there with the next chunk. Every target adds its rows in the order
 * that a pass over the whole base would, so the bins do not depend on the
 * chunk size. When a pass fails, the passes run again one after the other,
 * finest first, so that the error does not depend on the chunk size either.
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
#include "util/util.h"

#define DAY OHLCX_US_PER_DAY
#define HOUR OHLCX_US_PER_HOUR

/* 1970-01-01 was a Thursday, so Monday-aligned weeks start 4 days later. */
#define MONDAY_ORIGIN (4 * DAY)

/* Minimum lengths of a month and of a session day, for sizing the output. */
#define MIN_MONTH (28 * DAY)
#define MIN_SESSION_DAY (23 * HOUR)

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
        *start = grid->origin_us + ohlcx_floor_div(t - grid->origin_us, grid->length_us) *
                                       grid->length_us;
        *end = *start + grid->length_us;
        return;
    }

    if (grid->kind == GRID_MONTH) {
        int year, month, day;

        format_civil_from_days(ohlcx_floor_div(t, DAY), &year, &month, &day);
        month = (month - 1) / grid->months * grid->months + 1;
        *start = month_start(year, month);
        *end = month_start(year, month + grid->months);
        return;
    }

    /* A session day runs from day_start_us local time to the same wall time
     * on the next local day. Either end may fall in another UTC offset. */
    int64_t offset = format_zone_offset(grid->zone, ohlcx_floor_div(t, OHLCX_US_PER_SECOND)) *
                     OHLCX_US_PER_SECOND;
    int64_t local_day = ohlcx_floor_div(t + offset - grid->day_start_us, DAY);

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
    format_civil_from_days(ohlcx_floor_div(t, DAY), &year, &month, &day);
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
    source_months = ohlcx_timeframe_months(source);
    target_months = ohlcx_timeframe_months(target);
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
    grid->months = ohlcx_timeframe_months(target);
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
 * to a huge page and marked for transparent huge pages, because a year of
 * 3m bins fills about 16 MB. Faulting that in 4 KiB pages cost about as much
 * as resampling it (measured: 7,666 page faults for the 15 targets of a
 * year of 1m bars). Where the kernel gives no huge pages the block works
 * the same. */
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


/*
 * Writes the full bins b0 .. b0 + bins - 1 one column at a time. Bin b
 * reads the rows_per_bin rows from first + (b - b0) * rows_per_bin. Each
 * loop is short and free of branches, and the compiler unrolls it when
 * rows_per_bin is a constant. The values equal those of reduce_bin(),
 * which compares and adds in the same order.
 */
static inline __attribute__((always_inline)) void
reduce_regular_fixed(const ohlcx_series *base, size_t first, size_t rows_per_bin, size_t bins,
                     ohlcx_series *out, size_t b0)
{
    const size_t k = rows_per_bin;

    for (size_t b = 0; b < bins; b++) {
        const double *in = base->open + first + b * k;

        out->open[b0 + b] = in[0];
    }
    for (size_t b = 0; b < bins; b++) {
        const double *in = base->close + first + b * k;

        out->close[b0 + b] = in[k - 1];
    }
    for (size_t b = 0; b < bins; b++) {
        const double *in = base->high + first + b * k;
        double high = in[0];

        for (size_t r = 0; r < k; r++)
            high = in[r] > high ? in[r] : high;
        out->high[b0 + b] = high;
    }
    for (size_t b = 0; b < bins; b++) {
        const double *in = base->low + first + b * k;
        double low = in[0];

        for (size_t r = 0; r < k; r++)
            low = in[r] < low ? in[r] : low;
        out->low[b0 + b] = low;
    }
    for (int c = -1; c < OHLCX_EXTRA_COUNT; c++) {
        const double *column = c < 0 ? base->volume : base->extra_column[c];
        double *sums = c < 0 ? out->volume : out->extra_column[c];

        if (c >= 0 && !(base->extra & (1u << c)))
            continue;
        for (size_t b = 0; b < bins; b++) {
            const double *in = column + first + b * k;
            double sum = 0.0;

            for (size_t r = 0; r < k; r++)
                sum += in[r];
            sums[b0 + b] = sum;
        }
    }
    for (size_t b = 0; b < bins; b++) {
        const uint8_t *in = base->flags + first + b * k;
        uint8_t flags = 0;

        for (size_t r = 0; r < k; r++)
            flags |= in[r];
        out->flags[b0 + b] = flags;
    }
}


/* reduce_regular_fixed() with the row counts of the common targets made
 * constants: 3m and 5m from 1m, 15m from 5m, and the doublings. */
static void reduce_regular(const ohlcx_series *base, size_t first, size_t rows_per_bin,
                           size_t bins, ohlcx_series *out, size_t b0)
{
    switch (rows_per_bin) {
    case 2: reduce_regular_fixed(base, first, 2, bins, out, b0); return;
    case 3: reduce_regular_fixed(base, first, 3, bins, out, b0); return;
    case 5: reduce_regular_fixed(base, first, 5, bins, out, b0); return;
    default: reduce_regular_fixed(base, first, rows_per_bin, bins, out, b0); return;
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
 * One target in the middle of a pass. A pass builds the target from base
 * (the caller's source, or a finer target of the same call) bin by bin.
 * It may stop at any bin boundary and go on later, so every target of a
 * call can read the same stretch of rows while it is in the cache.
 */
typedef struct target_pass {
    const char *target;
    const ohlcx_series *base;    /* the source or a finer target's series */
    const uint32_t *base_counts; /* NULL for the source, else the base's sub-bar counts */
    int base_index;              /* index of the base in the call's targets, -1: source */
    bin_grid grid;
    int64_t base_us;             /* 0 when the base is 1M */
    int base_months;
    uint32_t fixed_expected;     /* expected sub-bars of every bin, or 0: ask the calendar */
    size_t regular_rows;         /* base rows in a full bin of a fixed grid, or 0 */
    size_t row;                  /* the next base row to read */
    size_t scanned;              /* rows below this are in the bin at row, when above row */
    int64_t end;                 /* end of the last bin written */
    int finished;                /* every base row has been read */
    ohlcx_resampled *out;
} target_pass;


/* Returns the end of the bin that contains the row opening at t. On a
 * fixed grid that is the bin after the last one when t falls inside it,
 * which spares the division of grid_bin() for every bin but the first
 * after a gap. */
static int64_t next_bin(const target_pass *pass, size_t b, int64_t t, int64_t *start)
{
    int64_t end;

    if (b > 0 && pass->grid.kind == GRID_FIXED &&
        t - pass->end < pass->grid.length_us) {
        *start = pass->end;
        return pass->end + pass->grid.length_us;
    }
    grid_bin(&pass->grid, t, start, &end);
    return end;
}


/* Writes the values and flags of a run of full bins whose open times,
 * counts and expectations are written. */
static void reduce_run(const ohlcx_series *base, size_t first, size_t rows_per_bin, size_t bins,
                       ohlcx_resampled *out, size_t b0)
{
    reduce_regular(base, first, rows_per_bin, bins, &out->series, b0);
    for (size_t b = b0; b < b0 + bins; b++)
        if (out->sub_bars[b] < out->expected[b])
            out->series.flags[b] |= OHLCX_FLAG_PARTIAL;
}


/* Writes the open times, counts and expectations of the full bins b0 ..
 * b0 + bins - 1, the first opening at start and reading base row first. */
static void write_full_bins(const target_pass *pass, const resample_context *context, size_t first,
                            size_t bins, int64_t start, size_t b0)
{
    ohlcx_resampled *out = pass->out;
    size_t k = pass->regular_rows;
    int64_t length = pass->grid.length_us;

    for (size_t b = 0; b < bins; b++)
        out->series.open_time[b0 + b] = start + (int64_t)b * length;
    if (pass->base_counts == NULL) {
        for (size_t b = 0; b < bins; b++)
            out->sub_bars[b0 + b] = (uint32_t)k;
    } else {
        for (size_t b = 0; b < bins; b++) {
            uint32_t count = 0;

            for (size_t r = first + b * k; r < first + (b + 1) * k; r++)
                count += pass->base_counts[r];
            out->sub_bars[b0 + b] = count;
        }
    }
    if (pass->fixed_expected != 0) {
        for (size_t b = 0; b < bins; b++)
            out->expected[b0 + b] = pass->fixed_expected;
        return;
    }
    for (size_t b = 0; b < bins; b++)
        out->expected[b0 + b] =
            expected_sub_bars(context->calendar, context->source_tf, context->source_us,
                              context->source_months, context->inferred,
                              start + (int64_t)b * length, start + (int64_t)(b + 1) * length);
}


/*
 * Writes the bins of pass->base whose rows lie below available, or all of
 * them when final (no base row will follow). A bin whose rows may go on
 * past available is left for the next call. Counts and expectations stay
 * in source bars, because base_counts has the source bars of each base bar.
 *
 * A full bin of a fixed grid from a fixed-length base opens at its start
 * and contains regular_rows rows that span the bin. Two reads show that,
 * because the rows are sorted and unique. Other bins scan for their end. On the
 * 24/7 calendar every bin of a fixed grid from a fixed-length source
 * expects the same count.
 */
static int advance_pass(target_pass *pass, const resample_context *context, size_t available,
                        int final)
{
    const ohlcx_series *base = pass->base;
    const int64_t *t = base->open_time;
    ohlcx_resampled *out = pass->out;
    ohlcx_series *series = &out->series;
    size_t k = pass->regular_rows, i = pass->row, b = series->n;
    int64_t span = k > 0 ? (int64_t)(k - 1) * pass->base_us : 0, length = pass->grid.length_us;
    size_t run_row = 0, run_bin = 0, run_bins = 0; /* full bins not reduced yet */

    while (i < available) {
        int64_t start, end = next_bin(pass, b, t[i], &start);
        size_t j = i + 1;
        uint32_t count = 0;

        if (k > 0 && i + k <= available && t[i] == start && t[i + k - 1] - start == span &&
            (i + k < available ? t[i + k] >= end : final)) {
            /* A full bin, and the full bins that follow it: their values
             * wait for the others of the run. */
            size_t bins = 1;

            while (i + (bins + 1) * k <= available) {
                size_t next = i + bins * k;
                int64_t next_start = start + (int64_t)bins * length;

                if (t[next] != next_start || t[next + k - 1] - next_start != span ||
                    (next + k < available ? t[next + k] < next_start + length : !final))
                    break;
                bins++;
            }
            if (run_bins == 0) {
                run_row = i;
                run_bin = b;
            }
            write_full_bins(pass, context, i, bins, start, b);
            pass->scanned = 0;
            run_bins += bins;
            b += bins;
            i += bins * k;
            pass->end = start + (int64_t)bins * length;
            continue;
        }

        if (run_bins > 0) {
            reduce_run(base, run_row, k, run_bins, out, run_bin);
            run_bins = 0;
        }
        if (pass->scanned > j)
            j = pass->scanned;
        while (j < available && t[j] < end)
            j++;
        if (j == available && !final) {
            pass->scanned = j; /* a long bin is not scanned again from its start */
            break;
        }
        pass->scanned = 0;
        if (pass->base_months == 0 ? t[j - 1] + pass->base_us > end
                                   : source_bar_end(0, pass->base_months, t[j - 1]) > end) {
            series->n = b;
            return crosses_bin(base, j - 1, pass->target, end);
        }

        series->open_time[b] = start;
        reduce_bin(base, i, j, series, b);
        if (pass->base_counts == NULL)
            count = (uint32_t)(j - i);
        else
            for (size_t r = i; r < j; r++)
                count += pass->base_counts[r];
        out->sub_bars[b] = count;
        out->expected[b] = pass->fixed_expected != 0
                               ? pass->fixed_expected
                               : expected_sub_bars(context->calendar, context->source_tf,
                                                   context->source_us, context->source_months,
                                                   context->inferred, start, end);
        if (count < out->expected[b])
            series->flags[b] |= OHLCX_FLAG_PARTIAL;
        b++;
        series->n = b;
        pass->end = end;
        i = j;
    }
    if (run_bins > 0)
        reduce_run(base, run_row, k, run_bins, out, run_bin);
    series->n = b;
    pass->row = i;
    pass->finished = final && i == available;
    return 0;
}


/* Readies the pass of one target and the block of its bins. The bound on
 * the bins comes from the source, because the base may not be built yet.
 * Bins are at least min_length long and each contains a source bar. The
 * first one opens at most one bin (31/28 of min_length) before the first
 * source bar, so the span over min_length plus three bounds them. */
static int start_pass(target_pass *pass, const ohlcx_series *source, const char *target,
                      const ohlcx_resample_options *options, const resample_context *context,
                      ohlcx_resampled *out)
{
    int64_t min_length;
    size_t capacity = 1;
    int status = grid_init(&pass->grid, source, target, options);

    pass->target = target;
    pass->out = out;
    pass->row = 0;
    pass->scanned = 0;
    pass->end = 0;
    pass->finished = 0;
    if (status != 0)
        return status;
    min_length = pass->grid.length_us;
    if (pass->grid.kind == GRID_MONTH)
        min_length = MIN_MONTH * pass->grid.months;
    else if (pass->grid.kind == GRID_SESSION)
        min_length = MIN_SESSION_DAY;
    if (source->n > 0) {
        uint64_t by_time =
            (uint64_t)((source->open_time[source->n - 1] - source->open_time[0]) / min_length) + 3;

        capacity = by_time < source->n ? (size_t)by_time : source->n;
    }

    pass->fixed_expected = 0;
    if (pass->grid.kind == GRID_FIXED && context->calendar == OHLCX_CALENDAR_ALWAYS &&
        context->source_months == 0)
        pass->fixed_expected = (uint32_t)(pass->grid.length_us / context->source_us);
    return prepare_output(out, source, target, capacity);
}


/* Points the pass at its base, which must be ready to read from. */
static void set_base(target_pass *pass, const ohlcx_series *base, const uint32_t *base_counts,
                     int base_index)
{
    pass->base = base;
    pass->base_counts = base_counts;
    pass->base_index = base_index;
    pass->base_months = ohlcx_timeframe_months(base->timeframe);
    pass->base_us = pass->base_months ? 0 : ohlcx_timeframe_us(base->timeframe);
    pass->regular_rows = 0;
    if (pass->grid.kind == GRID_FIXED && pass->base_us > 0 &&
        pass->grid.length_us % pass->base_us == 0)
        pass->regular_rows = (size_t)(pass->grid.length_us / pass->base_us);
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
    context->source_months = ohlcx_timeframe_months(source->timeframe);
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


/* Builds every target, reading source rows in chunks of pass_rows. The
 * targets of the source read each chunk, then the coarser targets read
 * the new bins of their bases while they are in the cache. With pass_rows
 * of the whole source the targets are built one after the other. Returns
 * at the first error. */
/* New rows of a finer target that a coarser one waits for before it reads
 * them, unless the finer target is complete. */
#define BASE_ROWS_MIN 1024

static int run_passes(target_pass *passes, const int *order, int count, size_t source_rows,
                      size_t pass_rows, const resample_context *context)
{
    size_t chunk_end = 0;

    do {
        chunk_end = source_rows - chunk_end > pass_rows ? chunk_end + pass_rows : source_rows;
        for (int k = 0; k < count; k++) {
            target_pass *pass = &passes[order[k]], *base;
            int status;

            if (pass->base_index < 0) {
                status = advance_pass(pass, context, chunk_end, chunk_end == source_rows);
            } else {
                /* A few new base rows wait for more, because each call
                 * costs a loop per column, whatever the rows. */
                base = &passes[pass->base_index];
                if (!base->finished && base->out->series.n - pass->row < BASE_ROWS_MIN)
                    continue;
                status = advance_pass(pass, context, base->out->series.n, base->finished);
            }
            if (status != 0)
                return status;
        }
    } while (chunk_end < source_rows);
    return 0;
}


/* Source rows of one chunk: 1.3 MB with every optional column (82 bytes a
 * row), which the L3 cache keeps for the second target and the bins. On
 * the 2-core EPYC build machine 16,384 rows were faster than 4,096. */
#define PASS_ROWS 16384

int ohlcx_resample_many(const ohlcx_series *source, const char *const *targets, int count,
                        const ohlcx_resample_options *options, ohlcx_resampled *out)
{
    ohlcx_resample_options defaults;
    resample_context context;
    uint8_t inferred[7 * 24];
    int order[OHLCX_RESAMPLE_TARGETS_MAX] = {0};
    target_pass passes[OHLCX_RESAMPLE_TARGETS_MAX];
    int status = 0, started = 0;

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

    for (; started < count && status == 0; started++) {
        int target = order[started], base = pick_base(targets, order, started, targets[target],
                                                      options->day_start);

        status = start_pass(&passes[target], source, targets[target], options, &context,
                            &out[target]);
        if (base < 0)
            set_base(&passes[target], source, NULL, -1);
        else
            set_base(&passes[target], &out[base].series, out[base].sub_bars, base);
    }
    if (status == 0 && source->n > 0) {
        status = run_passes(passes, order, count, source->n, PASS_ROWS, &context);
        if (status != 0) {
            /* Built one after the other, the targets fail where they did
             * when each read its base whole, with the same message. */
            for (int k = 0; k < count; k++) {
                passes[k].row = 0;
                passes[k].scanned = 0;
                passes[k].finished = 0;
                out[k].series.n = 0;
            }
            status = run_passes(passes, order, count, source->n, source->n, &context);
        }
    }
    for (int k = 0; k < count && status == 0; k++)
        flag_open_bins(&passes[k].grid, context.limit, &out[k]);
    if (status != 0)
        for (int k = 0; k < count; k++)
            out[k].series.n = 0;
    for (int k = 0; k < started; k++)
        grid_free(&passes[order[k]].grid);
    for (int k = 0; k < count && status == 0; k++)
        finish_bins(options->complete_only, &out[k]);
    return status;
}
