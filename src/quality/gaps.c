/*
 * Gaps: expected bars that a series lacks, and filling short gaps.
 *
 * Expected bars lie on a grid of slots that starts at the first bar's open
 * time and steps by the timeframe. The step is fixed for 1m to 12h and a
 * whole number of days for 1d, 3d and 1w. For 1M and 3M it is a calendar
 * month, keeping the first bar's day of month, clamped to the month's
 * length. Intraday bars match a slot by open time.
 * Bars of a day or more match by UTC date, so daily labels that move
 * between 04:00 and 05:00 UTC with New York daylight saving time stay on
 * the grid. A slot is expected when quality_bar_expected() returns 1 for it.
 *
 * quality_find_gaps() walks the slots from the first to the last bar once,
 * beside the rows: O(n + slots). Under the ALWAYS calendar every slot is
 * expected, so the run of slots between two bars is counted by division
 * instead of being walked, and a run of bars one step apart is counted
 * with one comparison per bar. A bar off the grid, or on a slot the calendar
 * does not expect, counts as present and adds nothing to expected_bars.
 * The exception is an intraday bar off the grid on a session calendar: it
 * starts a new grid at its open time and counts as its first slot (see
 * walk_calendar).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/series.h"
#include "quality/quality_internal.h"
#include "util/util.h"

#define DAY OHLCX_US_PER_DAY

/* Open times compared per step of a vectorised scan. */
#define SCAN_CHUNK 256

/* The slots of one series. Keys are open times in microseconds for
 * intraday timeframes and UTC day numbers for longer ones. */
typedef struct slot_grid {
    int day_keys;        /* 1 when bars match slots by UTC date */
    int64_t step;        /* key step between slots; 0 for month grids */
    int months;          /* months between slots for 1M and 3M, else 0 */
    int64_t origin;      /* key of slot 0, the first bar */
    int64_t time_of_day; /* first bar's microseconds after UTC midnight */
    int year, month, day; /* first bar's UTC date, for month grids */
} slot_grid;

/* The position of a walk between two runs over rows: the grid, whose
 * origin a calendar walk moves, and the index and key of the next slot. */
typedef struct walk_state {
    slot_grid grid;
    int64_t k;
    int64_t key;
} walk_state;

/* The counts of one walk. gaps is NULL in the counting pass. A gap
 * stream lists fewer gaps than it counts (listed <= gap_count), because it
 * drops the gaps after the first OHLCX_CHECK_STREAM_GAPS_KEPT once they are
 * released. */
typedef struct gap_walk {
    size_t expected;
    size_t missing;
    size_t gap_count; /* gaps found */
    ohlcx_gap *gaps;
    size_t listed;    /* gaps in gaps */
} gap_walk;


static int grid_init(slot_grid *grid, const char *timeframe, int64_t first_open)
{
    int64_t first_day = ohlcx_floor_div(first_open, DAY);
    int64_t length_us = ohlcx_timeframe_us(timeframe);

    memset(grid, 0, sizeof *grid);
    if (length_us <= 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid timeframe '%s' for gap finding: use one of 1m 3m 5m "
                               "15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M 3M",
                               timeframe);
    if (length_us < DAY) {
        grid->step = length_us;
        grid->origin = first_open;
        return 0;
    }

    grid->day_keys = 1;
    grid->origin = first_day;
    grid->time_of_day = first_open - first_day * DAY;
    if (strcmp(timeframe, "1M") == 0 || strcmp(timeframe, "3M") == 0) {
        grid->months = timeframe[0] - '0';
        format_civil_from_days(first_day, &grid->year, &grid->month, &grid->day);
    } else {
        grid->step = length_us / DAY;
    }
    return 0;
}


static int64_t bar_key(const slot_grid *grid, int64_t open_time)
{
    return grid->day_keys ? ohlcx_floor_div(open_time, DAY) : open_time;
}


/* Returns the key of slot k (k >= 0). */
static int64_t slot_key(const slot_grid *grid, int64_t k)
{
    int64_t month_index;
    int year, month, day, month_length;

    if (grid->months == 0)
        return grid->origin + k * grid->step;
    month_index = (grid->month - 1) + k * grid->months;
    year = grid->year + (int)(month_index / 12);
    month = (int)(month_index % 12) + 1;
    month_length = format_days_in_month(year, month);
    day = grid->day < month_length ? grid->day : month_length;
    return format_days_from_civil(year, month, day);
}


/* Returns the index of the slot whose key is key, or of the first slot
 * after it. */
static int64_t slot_index(const slot_grid *grid, int64_t key)
{
    int year, month, day;
    int64_t k;

    if (grid->months == 0)
        return ohlcx_floor_div(key - grid->origin + grid->step - 1, grid->step);
    format_civil_from_days(key, &year, &month, &day);
    k = ((int64_t)(year - grid->year) * 12 + (month - grid->month)) / grid->months;
    while (k > 0 && slot_key(grid, k - 1) >= key)
        k--;
    while (slot_key(grid, k) < key)
        k++;
    return k;
}


static int64_t slot_open_time(const slot_grid *grid, int64_t key)
{
    return grid->day_keys ? key * DAY + grid->time_of_day : key;
}


static void record_gap(gap_walk *walk, size_t row, int64_t first_missing, size_t missing)
{
    if (walk->gaps != NULL) {
        ohlcx_gap *gap = &walk->gaps[walk->listed++];

        gap->row = row;
        gap->first_missing = first_missing;
        gap->missing = missing;
        gap->filled = 0;
    }
    walk->gap_count++;
    walk->missing += missing;
}


size_t quality_next_irregular(const int64_t *t, size_t from, size_t n, int64_t step)
{
    while (from < n) {
        size_t end = n - from > SCAN_CHUNK ? from + SCAN_CHUNK : n;
        int irregular = 0;

        for (size_t k = from; k < end; k++)
            irregular |= t[k] - t[k - 1] != step;
        if (irregular)
            break;
        from = end;
    }
    for (; from < n; from++)
        if (t[from] - t[from - 1] != step)
            break;
    return from;
}


static void walk_start(walk_state *state, const slot_grid *grid)
{
    state->grid = *grid;
    state->k = 0;
    state->key = slot_key(grid, 0);
}


/* Walks a fixed-step grid on which every slot is expected: the slots
 * before each bar are counted by division. Once an intraday bar has
 * matched its slot, the bars one step apart that follow match the next
 * slots, so such a run is counted at once. The n open times t are rows
 * row_offset on, and state is updated for the rows that follow. */
static void walk_every_slot(const int64_t *t, size_t n, size_t row_offset, walk_state *state,
                            gap_walk *walk)
{
    const slot_grid *grid = &state->grid;
    int64_t key = state->key;
    size_t i = 0;

    while (i < n) {
        int64_t bar = bar_key(grid, t[i]);

        if (key < bar) {
            int64_t run = (bar - key + grid->step - 1) / grid->step;

            record_gap(walk, row_offset + i, slot_open_time(grid, key), (size_t)run);
            walk->expected += (size_t)run;
            key += run * grid->step;
        }
        if (key == bar) {
            walk->expected++;
            key += grid->step;
        }
        i++;
        if (!grid->day_keys && i < n && key == t[i - 1] + grid->step) {
            size_t end = quality_next_irregular(t, i, n, grid->step);

            walk->expected += end - i;
            key += (int64_t)(end - i) * grid->step;
            i = end;
        }
    }
    state->key = key;
}


/* Walks every slot from the first to the last bar and checks each against
 * the calendar. On an intraday grid, a bar that opens between two slots
 * starts a new grid at its own open time. A slot whose period reaches past
 * the open of the next bar is not missing, because that bar covers part of
 * it. So a session whose bars move off the grid of the first bar
 * (4h stock bars at 13:30 UTC in summer and 14:30 in winter, or 1h bars at
 * :00 before 09:30 and at :30 after it) loses no slot to the move. */
static void walk_calendar(const int64_t *t, size_t n, size_t row_offset, const char *timeframe,
                          int calendar, const uint8_t inferred[7 * 24], walk_state *state,
                          gap_walk *walk)
{
    slot_grid grid = state->grid;
    int intraday = !grid.day_keys && grid.months == 0;
    int64_t k = state->k, key = state->key;

    for (size_t i = 0; i < n; i++) {
        int64_t bar = bar_key(&grid, t[i]);
        int64_t run_start = 0;
        size_t run = 0;

        for (; key < bar; key = slot_key(&grid, ++k)) {
            if (intraday && key + grid.step > bar)
                continue;
            if (!quality_bar_expected(calendar, timeframe, slot_open_time(&grid, key), inferred))
                continue;
            if (run == 0)
                run_start = key;
            run++;
        }
        if (run > 0) {
            record_gap(walk, row_offset + i, slot_open_time(&grid, run_start), run);
            walk->expected += run;
        }
        if (key == bar) {
            walk->expected += (size_t)quality_bar_expected(
                calendar, timeframe, slot_open_time(&grid, key), inferred);
            key = slot_key(&grid, ++k);
        } else if (intraday && row_offset + i > 0) {
            walk->expected += (size_t)quality_bar_expected(calendar, timeframe, bar, inferred);
            grid.origin = bar;
            k = 1;
            key = slot_key(&grid, k);
        }
    }
    state->grid = grid;
    state->k = k;
    state->key = key;
}


/* Walks the n open times t, rows row_offset on, from state and updates it
 * for the rows that follow. */
static void walk_slots(const int64_t *t, size_t n, size_t row_offset, const char *timeframe,
                       int calendar, const uint8_t inferred[7 * 24], walk_state *state,
                       gap_walk *walk)
{
    if (calendar == OHLCX_CALENDAR_ALWAYS && state->grid.months == 0)
        walk_every_slot(t, n, row_offset, state, walk);
    else
        walk_calendar(t, n, row_offset, timeframe, calendar, inferred, state, walk);
}


/* Scans in chunks without an early exit, so the compiler can vectorise
 * the comparisons, and looks for the rows only in a chunk that has them. */
static int check_sorted(const ohlcx_series *series)
{
    const int64_t *t = series->open_time;

    for (size_t start = 1; start < series->n; start += SCAN_CHUNK) {
        size_t end = series->n - start > SCAN_CHUNK ? start + SCAN_CHUNK : series->n;
        int out_of_order = 0;

        for (size_t i = start; i < end; i++)
            out_of_order |= t[i] <= t[i - 1];
        if (!out_of_order)
            continue;
        for (size_t i = start; i < end; i++)
            if (t[i] <= t[i - 1])
                return ohlcx_set_error(OHLCX_EINVAL,
                                       "rows %zu and %zu of %s are not in strictly "
                                       "increasing open-time order: sort the series and drop "
                                       "duplicates before finding gaps",
                                       i - 1, i, series->symbol);
    }
    return 0;
}


/* The walk runs twice, once to count the gaps and once to record them, so
 * that the gap array is allocated once, outside the loop. */
int quality_find_gaps(const ohlcx_series *series, int calendar, const uint8_t inferred[7 * 24],
                      ohlcx_quality_report *report)
{
    gap_walk walk = {0};
    walk_state state;
    slot_grid grid;
    int status;

    if (calendar < OHLCX_CALENDAR_ALWAYS || calendar > OHLCX_CALENDAR_INFERRED)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid calendar %d for gap finding: resolve auto first",
                               calendar);
    status = check_sorted(series);
    if (status != 0)
        return status;

    free(report->gaps);
    report->gaps = NULL;
    report->gap_count = 0;
    report->expected_bars = 0;
    report->missing_ratio = 0.0;
    if (series->n == 0)
        return 0;
    status = grid_init(&grid, series->timeframe, series->open_time[0]);
    if (status != 0)
        return status;

    walk_start(&state, &grid);
    walk_slots(series->open_time, series->n, 0, series->timeframe, calendar, inferred, &state,
               &walk);
    if (walk.gap_count > 0) {
        size_t gap_count = walk.gap_count;

        walk = (gap_walk){0};
        walk.gaps = malloc(gap_count * sizeof *walk.gaps);
        if (walk.gaps == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing %zu gaps of %s",
                                   gap_count, series->symbol);
        walk_start(&state, &grid);
        walk_slots(series->open_time, series->n, 0, series->timeframe, calendar, inferred,
                   &state, &walk);
    }

    report->gaps = walk.gaps;
    report->gap_count = walk.gap_count;
    report->expected_bars = walk.expected;
    if (walk.expected > 0)
        report->missing_ratio = (double)walk.missing / (double)walk.expected;
    return 0;
}


/* Returns 1 when gap describes missing bars before a row of series. */
static int gap_matches(const ohlcx_series *series, const ohlcx_gap *gap)
{
    return gap->row >= 1 && gap->row < series->n && gap->missing > 0 &&
           gap->first_missing > series->open_time[gap->row - 1] &&
           gap->first_missing < series->open_time[gap->row];
}


static size_t bars_to_fill(const ohlcx_quality_report *report, int max_bars)
{
    size_t total = 0;

    for (size_t g = 0; g < report->gap_count; g++)
        if (report->gaps[g].missing <= (size_t)max_bars)
            total += report->gaps[g].missing;
    return total;
}


void quality_copy_rows(ohlcx_series *to, const ohlcx_series *from, size_t from_row,
                       size_t count)
{
    size_t at = to->n;

    memcpy(to->open_time + at, from->open_time + from_row, count * sizeof *to->open_time);
    memcpy(to->open + at, from->open + from_row, count * sizeof *to->open);
    memcpy(to->high + at, from->high + from_row, count * sizeof *to->high);
    memcpy(to->low + at, from->low + from_row, count * sizeof *to->low);
    memcpy(to->close + at, from->close + from_row, count * sizeof *to->close);
    memcpy(to->volume + at, from->volume + from_row, count * sizeof *to->volume);
    memcpy(to->flags + at, from->flags + from_row, count * sizeof *to->flags);
    for (int c = 0; c < OHLCX_EXTRA_COUNT; c++)
        if (from->extra_column[c] != NULL)
            memcpy(to->extra_column[c] + at, from->extra_column[c] + from_row,
                   count * sizeof *to->extra_column[c]);
    to->n += count;
}


static void append_synthetic(ohlcx_series *to, int64_t open_time, double open, double close)
{
    size_t at = to->n;

    to->open_time[at] = open_time;
    to->open[at] = open;
    to->high[at] = fmax(open, close);
    to->low[at] = fmin(open, close);
    to->close[at] = close;
    to->volume[at] = 0.0;
    to->flags[at] = OHLCX_FLAG_SYNTHETIC;
    for (int c = 0; c < OHLCX_EXTRA_COUNT; c++)
        if (to->extra_column[c] != NULL)
            to->extra_column[c][at] = NAN;
    to->n = at + 1;
}


/* Returns the decimals (0 to 10) of a price written with a fixed number of
 * them, or -1 when it has more. */
static int price_decimals(double price)
{
    double scale = 1;

    for (int decimals = 0; decimals <= 10; decimals++, scale *= 10)
        if (round(price * scale) / scale == price)
            return decimals;
    return -1;
}


/* Rounds an interpolated close to two more decimals than the prices around
 * it (at most 10), so that a column of fixed-decimal prices keeps a fixed
 * number of decimals and the store can keep it as exact integer ticks
 * instead of float64. */
static double round_like(double close, double before, double after)
{
    int a = price_decimals(before), b = price_decimals(after);
    int decimals = (a > b ? a : b) + 2;
    double scale = 1;

    if (a < 0 || b < 0)
        return close;
    if (decimals > 10)
        decimals = 10;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    return round(close * scale) / scale;
}


/* Appends the missing bars of one gap of a series with the given timeframe
 * and symbol, between a bar that closes at before and one that opens at
 * after at after_time. The close moves in equal steps per missing bar (not
 * per unit of time) from before to after, rounded to two more decimals than
 * those two prices, and each bar opens at the previous bar's close. to must
 * have room for gap->missing more rows. Returns 0, or OHLCX_EINVAL when the
 * calendar expects fewer slots before the next bar than the gap lists. */
static int fill_one_gap(ohlcx_series *to, const char *timeframe, const char *symbol,
                        const slot_grid *grid, int calendar, const uint8_t inferred[7 * 24],
                        const ohlcx_gap *gap, double before, double after, int64_t after_time)
{
    int64_t end = bar_key(grid, after_time);
    slot_grid local = *grid;
    int64_t k;
    double open = before;
    size_t done = 0;

    /* An intraday gap lies on the grid of the bar before it, which may
     * have moved off the first bar's grid (see walk_calendar). */
    if (!local.day_keys && local.months == 0)
        local.origin = gap->first_missing;
    k = slot_index(&local, bar_key(&local, gap->first_missing));
    for (int64_t key = slot_key(&local, k); done < gap->missing && key < end;
         key = slot_key(&local, ++k)) {
        int64_t open_time = slot_open_time(&local, key);
        double close;

        if (!quality_bar_expected(calendar, timeframe, open_time, inferred))
            continue;
        done++;
        close = before + (after - before) * (double)done / (double)(gap->missing + 1);
        close = round_like(close, before, after);
        append_synthetic(to, open_time, open, close);
        open = close;
    }
    if (done < gap->missing)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "gap before row %zu of %s lists %zu missing bars but the "
                               "calendar expects %zu: find the gaps again on this series",
                               gap->row, symbol, gap->missing, done);
    return 0;
}


static void prepare_copy(ohlcx_series *to, const ohlcx_series *from)
{
    ohlcx_series_init(to);
    memcpy(to->symbol, from->symbol, sizeof to->symbol);
    memcpy(to->timeframe, from->timeframe, sizeof to->timeframe);
    memcpy(to->source_path, from->source_path, sizeof to->source_path);
    to->asset_class = from->asset_class;
    to->extra = from->extra;
}


/* Builds the filled series in new columns in one pass, so the cost is
 * O(n + bars added) however many gaps there are. Gap rows keep referring
 * to the series as it was before filling. On failure the series and the
 * report are unchanged. */
int quality_fill_gaps(ohlcx_series *series, ohlcx_quality_report *report, int max_bars,
                      size_t *added)
{
    uint8_t table[7 * 24];
    const uint8_t *inferred = NULL;
    ohlcx_series filled;
    slot_grid grid;
    size_t total, next_row = 0;
    int status;

    if (added != NULL)
        *added = 0;
    if (max_bars <= 0 || report->gap_count == 0 || series->n == 0)
        return 0;
    for (size_t g = 0; g < report->gap_count; g++)
        if (!gap_matches(series, &report->gaps[g]) ||
            (g > 0 && report->gaps[g].row <= report->gaps[g - 1].row))
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "gap %zu (before row %zu) does not match the %zu rows of "
                                   "%s: find the gaps again on this series",
                                   g, report->gaps[g].row, series->n, series->symbol);
    total = bars_to_fill(report, max_bars);
    if (total == 0)
        return 0;

    status = grid_init(&grid, series->timeframe, series->open_time[0]);
    if (status != 0)
        return status;
    /* The report does not keep the inferred table, but the series before
     * filling is the one it was inferred from. */
    if (report->calendar == OHLCX_CALENDAR_INFERRED) {
        quality_infer_session(series, table);
        inferred = table;
    }

    prepare_copy(&filled, series);
    status = ohlcx_series_reserve(&filled, series->n + total);
    if (status != 0)
        goto fail;
    for (size_t g = 0; g < report->gap_count; g++) {
        const ohlcx_gap *gap = &report->gaps[g];

        if (gap->missing > (size_t)max_bars)
            continue;
        quality_copy_rows(&filled, series, next_row, gap->row - next_row);
        next_row = gap->row;
        status = fill_one_gap(&filled, series->timeframe, series->symbol, &grid,
                              report->calendar, inferred, gap, series->close[gap->row - 1],
                              series->open[gap->row], series->open_time[gap->row]);
        if (status != 0)
            goto fail;
    }
    quality_copy_rows(&filled, series, next_row, series->n - next_row);

    for (size_t g = 0; g < report->gap_count; g++)
        if (report->gaps[g].missing <= (size_t)max_bars)
            report->gaps[g].filled = 1;
    ohlcx_series_free(series);
    *series = filled;
    if (added != NULL)
        *added = total;
    return 0;

fail:
    ohlcx_series_free(&filled);
    return status;
}


/*
 * The gap walk of a stream: the grid starts at the first row pushed.
 * walk.gaps lists the first OHLCX_CHECK_STREAM_GAPS_KEPT gaps released
 * (or fewer), then the gaps pending, those found since the last release.
 * A release drops the pending gaps beyond the kept ones, so the list has
 * at most OHLCX_CHECK_STREAM_GAPS_KEPT gaps plus those of one push.
 */
struct quality_gap_stream {
    char timeframe[OHLCX_TIMEFRAME_MAX];
    char symbol[OHLCX_SYMBOL_MAX];
    int calendar;
    int started;       /* 0 before the first row */
    slot_grid grid;    /* the grid of the first row, as quality_fill_gaps() has it */
    walk_state state;  /* the position of the walk */
    gap_walk walk;     /* walk.gaps has room for capacity gaps */
    size_t capacity;
    size_t pending;    /* index in walk.gaps of the first gap pending */
};


int quality_gap_stream_begin(const char *timeframe, const char *symbol, int calendar,
                             quality_gap_stream **out)
{
    quality_gap_stream *s;

    *out = NULL;
    if (ohlcx_timeframe_months(timeframe) != 0)
        return ohlcx_set_error(OHLCX_EINVAL, "the gap stream needs a fixed-step timeframe, "
                               "not '%s'", timeframe);
    if (calendar < OHLCX_CALENDAR_ALWAYS || calendar > OHLCX_CALENDAR_US_EQUITY)
        return ohlcx_set_error(OHLCX_EINVAL, "the gap stream needs the always, forex or "
                               "us_equity calendar, not %d", calendar);
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory starting a gap stream");
    snprintf(s->timeframe, sizeof s->timeframe, "%s", timeframe);
    snprintf(s->symbol, sizeof s->symbol, "%s", symbol);
    s->calendar = calendar;
    *out = s;
    return 0;
}


/* Grows the gap list to room for `more` gaps after those listed. It at
 * least doubles, so a list that reaches n gaps is reallocated O(log n)
 * times. */
static int reserve_gaps(quality_gap_stream *s, size_t more)
{
    size_t want = s->walk.listed + more, capacity;
    ohlcx_gap *gaps;

    if (want <= s->capacity)
        return 0;
    capacity = 2 * s->capacity > 16 ? 2 * s->capacity : 16;
    if (capacity < want)
        capacity = want;
    gaps = realloc(s->walk.gaps, capacity * sizeof *gaps);
    if (gaps == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing %zu gaps of %s", capacity,
                               s->symbol);
    s->walk.gaps = gaps;
    s->capacity = capacity;
    return 0;
}


/* Like quality_find_gaps(), the walk counts the gaps of the rows before it
 * records them, so that the gap list grows once per push. Rows without a
 * gap take the counting walk only. */
int quality_gap_stream_push(quality_gap_stream *s, const int64_t *open_time, size_t n,
                            size_t row_offset)
{
    gap_walk count = {0};
    walk_state state;
    int status;

    if (n == 0)
        return 0;
    if (!s->started) {
        status = grid_init(&s->grid, s->timeframe, open_time[0]);
        if (status != 0)
            return status;
        walk_start(&s->state, &s->grid);
        s->started = 1;
    }

    state = s->state;
    walk_slots(open_time, n, row_offset, s->timeframe, s->calendar, NULL, &state, &count);
    if (count.gap_count == 0) {
        s->state = state;
        s->walk.expected += count.expected;
        return 0;
    }
    status = reserve_gaps(s, count.gap_count);
    if (status != 0)
        return status;
    walk_slots(open_time, n, row_offset, s->timeframe, s->calendar, NULL, &s->state, &s->walk);
    return 0;
}


ohlcx_gap *quality_gap_stream_pending(quality_gap_stream *s, size_t *count)
{
    *count = s->walk.listed - s->pending;
    return *count > 0 ? s->walk.gaps + s->pending : NULL;
}


/* The pending gaps of index OHLCX_CHECK_STREAM_GAPS_KEPT or more (counting
 * every gap found) lie at the end of the list, so dropping them shortens
 * the list to the kept count. */
void quality_gap_stream_release(quality_gap_stream *s)
{
    if (s->walk.listed > OHLCX_CHECK_STREAM_GAPS_KEPT)
        s->walk.listed = OHLCX_CHECK_STREAM_GAPS_KEPT;
    s->pending = s->walk.listed;
}


int quality_gap_stream_fill(const quality_gap_stream *s, const ohlcx_gap *gap, double before,
                            double after, int64_t after_time, ohlcx_series *to)
{
    return fill_one_gap(to, s->timeframe, s->symbol, &s->grid, s->calendar, NULL, gap, before,
                        after, after_time);
}


void quality_gap_stream_report(quality_gap_stream *s, ohlcx_quality_report *report)
{
    ohlcx_gap *gaps;

    quality_gap_stream_release(s);
    free(report->gaps);
    report->gaps = NULL;
    if (s->walk.listed > 0) {
        /* The list may have room for a whole push of gaps: give it back. */
        gaps = realloc(s->walk.gaps, s->walk.listed * sizeof *gaps);
        report->gaps = gaps != NULL ? gaps : s->walk.gaps;
    } else {
        free(s->walk.gaps);
    }
    report->gap_count = s->walk.gap_count;
    report->expected_bars = s->walk.expected;
    report->missing_ratio = 0.0;
    if (s->walk.expected > 0)
        report->missing_ratio = (double)s->walk.missing / (double)s->walk.expected;
    s->walk = (gap_walk){0};
    s->capacity = 0;
    s->pending = 0;
}


void quality_gap_stream_memory(const quality_gap_stream *s, size_t *listed, size_t *capacity)
{
    *listed = s->walk.listed;
    *capacity = s->capacity;
}


void quality_gap_stream_free(quality_gap_stream *s)
{
    if (s == NULL)
        return;
    free(s->walk.gaps);
    free(s);
}
