/*
 * Streaming checks: the checks and repairs of ohlcx_check_series() on a
 * series that comes in chunks of rows, with memory that does not grow with
 * the rows.
 *
 * Each chunk is the view of the same check passes that the engine runs on a
 * whole series (checks_time.c, checks_consistency.c, gaps.c), with the rows
 * of the chunks before it as the row offset of its examples. The passes
 * keep their state between chunks: the last open time and grid rest, the
 * blocks of returns and volumes, the zero-volume run and the gap walk.
 *
 * Two things need more than one chunk. The consistency pass judges the
 * first block of returns and of volumes on its own before the main pass.
 * So the first rows are kept in a head until they hold both blocks (about
 * z_window rows), and only then is the head checked. The repairs change the
 * last bar (the partial flag), so the last row is held back until the next
 * push or the finish. A gap before the first row of a chunk is filled from
 * that held-back row.
 *
 * Once the rows around a gap are out, the gap is counted in missing_bars,
 * long_gaps and the examples of the filled_gaps repair, as the engine
 * counts every gap at its end. Then the gap stream drops it unless it is
 * among the first OHLCX_CHECK_STREAM_GAPS_KEPT. So a series with a gap
 * between most bars (1m bars of an illiquid pair) keeps a bounded list.
 *
 * Only a series that needs no repair besides gap filling and the partial
 * flag streams: a timeframe of at most 1d, and rows strictly ascending on
 * the grid with valid prices and volumes. Anything else returns
 * OHLCX_WHOLE_SERIES, because sorting or dropping rows needs every row.
 *
 * The calendar is ALWAYS, FOREX or US_EQUITY. When AUTO needs the data
 * (forex, stocks and indices), the stream resolves it from the head, and
 * the calendar vote goes on over every row. If the vote of the whole
 * series differs at the finish, the rows were checked on the wrong
 * calendar, and the finish returns OHLCX_WHOLE_SERIES. The engine takes
 * the grid of a session calendar from the majority offset of the open
 * times. The stream takes the grid of the first row and counts the rows by
 * offset, and the finish returns OHLCX_WHOLE_SERIES unless the majority
 * gives the same grid. INFERRED, asked for or resolved, needs the session
 * table of the whole series and never streams.
 */
#include <stdlib.h>
#include <string.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/series.h"
#include "quality/checks_internal.h"
#include "quality/quality_internal.h"

struct ohlcx_check_stream {
    ohlcx_series like;            /* names, class and extra bits; no rows */
    ohlcx_check_options options;
    check_view view;              /* the rows being checked; aliases them */
    check_context ctx;            /* ctx.view is &view */
    ohlcx_quality_report report;  /* the checks so far */
    check_spacing_pass spacing;
    check_dst_pass dst;
    consistency_pass *consistency; /* NULL until the head is checked */
    quality_calendar_vote vote;   /* of AUTO over the rows so far */
    int voting;                   /* 1 when the rows resolve the calendar */
    quality_gap_stream *gaps;     /* NULL until the calendar is resolved */
    ohlcx_check_result filled_gaps; /* examples of the filled_gaps repair so far */
    ohlcx_series head;            /* first rows, kept until they hold the first blocks */
    ohlcx_series last;            /* the last row checked, held back */
    size_t rows;                  /* rows checked */
    size_t emitted;               /* rows appended to out, synthetic bars included */
    size_t synthetic;             /* synthetic bars appended */
    int whole_series;             /* 1 once a call returned OHLCX_WHOLE_SERIES */
};


/* Returns 1 when a calendar (resolved, or AUTO when the rows resolve it)
 * may stream. */
static int calendar_streams(int calendar)
{
    return calendar != OHLCX_CALENDAR_INFERRED;
}


/* Makes series an empty series with the names, class and optional columns
 * of like. */
static int series_like(ohlcx_series *series, const ohlcx_series *like)
{
    ohlcx_series_init(series);
    memcpy(series->symbol, like->symbol, sizeof series->symbol);
    memcpy(series->timeframe, like->timeframe, sizeof series->timeframe);
    memcpy(series->source_path, like->source_path, sizeof series->source_path);
    series->asset_class = like->asset_class;
    return ohlcx_series_add_extra(series, like->extra);
}


/* Grows series to room for more rows, at least doubling the capacity so
 * that many small pushes copy each row O(1) times. */
static int reserve_more(ohlcx_series *series, size_t more)
{
    size_t want = series->n + more;

    if (want <= series->capacity)
        return 0;
    if (want < 2 * series->capacity)
        want = 2 * series->capacity;
    return ohlcx_series_reserve(series, want);
}


/* Sets slice to rows [from, n) of series without copying them. */
static void slice_rows(ohlcx_series *slice, const ohlcx_series *series, size_t from)
{
    *slice = *series;
    slice->open_time += from;
    slice->open += from;
    slice->high += from;
    slice->low += from;
    slice->close += from;
    slice->volume += from;
    slice->flags += from;
    for (int c = 0; c < OHLCX_EXTRA_COUNT; c++)
        if (slice->extra_column[c] != NULL)
            slice->extra_column[c] += from;
    slice->n = series->n - from;
    slice->capacity = slice->n;
}


void ohlcx_check_stream_free(ohlcx_check_stream *s)
{
    if (s == NULL)
        return;
    check_consistency_free(s->consistency);
    quality_gap_stream_free(s->gaps);
    ohlcx_quality_report_free(&s->report);
    ohlcx_series_free(&s->head);
    ohlcx_series_free(&s->last);
    free(s);
}


int ohlcx_check_stream_begin(const ohlcx_series *like, const ohlcx_check_options *options,
                             ohlcx_check_stream **out)
{
    ohlcx_check_options defaults;
    quality_calendar_vote vote;
    ohlcx_check_stream *s;
    int64_t timeframe_us;
    int calendar, status;

    if (like == NULL || out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_check_stream_begin: like and out must "
                               "not be NULL");
    *out = NULL;
    if (options == NULL) {
        ohlcx_check_options_default(&defaults);
        options = &defaults;
    }
    status = check_options_valid(options);
    if (status != 0)
        return status;
    timeframe_us = ohlcx_timeframe_us(like->timeframe);
    if (timeframe_us == 0)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: unknown timeframe '%s': set the series' "
                               "timeframe to a canonical name such as 1h",
                               like->source_path, like->timeframe);
    calendar = quality_calendar_vote_begin(&vote, like, options->calendar);
    if (timeframe_us > OHLCX_US_PER_DAY || !calendar_streams(calendar))
        return OHLCX_WHOLE_SERIES;

    s = calloc(1, sizeof *s);
    if (s == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory starting a check stream");
    s->like = *like;
    s->like.n = 0;
    s->like.capacity = 0;
    s->like.open_time = NULL;
    s->like.open = s->like.high = s->like.low = s->like.close = s->like.volume = NULL;
    s->like.flags = NULL;
    memset(s->like.extra_column, 0, sizeof s->like.extra_column);
    s->options = *options;
    s->ctx.given = &s->like;
    s->ctx.view = &s->view;
    s->ctx.options = &s->options;
    s->ctx.timeframe_us = timeframe_us;
    s->ctx.now_us = check_now_us(options);
    s->ctx.calendar = calendar;
    s->vote = vote;
    s->voting = calendar == OHLCX_CALENDAR_AUTO;

    status = check_report_start(&s->like, &s->report);
    if (status == 0)
        status = series_like(&s->head, like);
    if (status == 0)
        status = series_like(&s->last, like);
    if (status == 0)
        status = ohlcx_series_reserve(&s->last, 1);
    if (status != 0) {
        ohlcx_check_stream_free(s);
        return status;
    }
    *out = s;
    return 0;
}


/* Returns 1 when rows are strictly ascending and open after every row
 * checked before. The comparisons run without an early exit, so the
 * compiler can vectorise them. */
static int rows_ascend(const ohlcx_check_stream *s, const ohlcx_series *rows)
{
    const int64_t *t = rows->open_time;
    int descending = 0;

    if (s->last.n > 0 && t[0] <= s->last.open_time[0])
        return 0;
    for (size_t i = 1; i < rows->n; i++)
        descending |= t[i] <= t[i - 1];
    return !descending;
}


/* Returns 1 when the checks so far found something that only the whole
 * series engine repairs: a row to drop, or a row off the grid. */
static int needs_whole_series(const ohlcx_check_stream *s)
{
    return !check_nothing_to_drop(&s->report) || s->report.checks[CHECK_OFF_GRID].count > 0;
}


static int gap_is_filled(const ohlcx_check_stream *s, const ohlcx_gap *gap)
{
    return s->options.policy == OHLCX_POLICY_REPAIR && s->options.max_fill_gap > 0 &&
           gap->missing <= (size_t)s->options.max_fill_gap;
}


/* Counts gaps whose rows are out in the checks and the repair examples,
 * then lets the gap stream drop them. */
static void release_gaps(ohlcx_check_stream *s, const ohlcx_gap *gaps, size_t count)
{
    for (size_t g = 0; g < count; g++) {
        check_count_gap(s->report.checks, gaps[g].row, &gaps[g], &s->options);
        check_repair_filled_gap(&s->filled_gaps, &gaps[g]);
    }
    quality_gap_stream_release(s->gaps);
}


/*
 * Appends to out the held-back row, then the rows of a checked chunk but
 * its last, which is held back in turn, with the synthetic bars of the gaps
 * found in the chunk. The gap before row 0 of the chunk is filled from the
 * held-back row.
 */
static int emit_rows(ohlcx_check_stream *s, const ohlcx_series *rows, ohlcx_series *out)
{
    size_t gap_count, start = 0, synthetic = 0, before = out->n;
    ohlcx_gap *gaps = quality_gap_stream_pending(s->gaps, &gap_count);
    int status;

    for (size_t g = 0; g < gap_count; g++) {
        gaps[g].filled = gap_is_filled(s, &gaps[g]);
        if (gaps[g].filled)
            synthetic += gaps[g].missing;
    }
    status = reserve_more(out, s->last.n + rows->n + synthetic);
    if (status != 0)
        return status;

    quality_copy_rows(out, &s->last, 0, s->last.n);
    for (size_t g = 0; g < gap_count; g++) {
        const ohlcx_gap *gap = &gaps[g];
        size_t i = gap->row - s->rows; /* row of the chunk after the gap, >= 1 overall */
        double close_before;

        quality_copy_rows(out, rows, start, i - start);
        start = i;
        if (!gap->filled)
            continue;
        close_before = i > 0 ? rows->close[i - 1] : s->last.close[0];
        status = quality_gap_stream_fill(s->gaps, gap, close_before, rows->open[i],
                                         rows->open_time[i], out);
        if (status != 0)
            return status;
    }
    quality_copy_rows(out, rows, start, rows->n - 1 - start);
    release_gaps(s, gaps, gap_count);
    s->synthetic += synthetic;
    s->emitted += out->n - before;

    s->last.n = 0;
    quality_copy_rows(&s->last, rows, rows->n - 1, 1);
    return 0;
}


/* Runs every check that streams on rows, the next rows of the series
 * (rows->n > 0), then hands them on to out. */
static int check_rows(ohlcx_check_stream *s, const ohlcx_series *rows, ohlcx_series *out)
{
    ohlcx_check_result *checks = s->report.checks;
    int status;

    if (!rows_ascend(s, rows))
        return OHLCX_WHOLE_SERIES;
    s->view.bars = *rows;
    memcpy(s->view.bars.timeframe, s->like.timeframe, sizeof s->view.bars.timeframe);
    s->ctx.row_offset = s->rows;
    if (s->consistency == NULL) {
        check_spacing_begin_stream(&s->ctx, &s->spacing);
        check_dst_begin(&s->ctx, &s->dst);
        status = check_consistency_begin(&s->ctx, checks, &s->consistency);
        if (status != 0)
            return status;
    }
    check_spacing_run(&s->ctx, &s->spacing, checks);
    check_future_bars(&s->ctx, checks);
    check_dst_run(&s->ctx, &s->dst, &checks[CHECK_DST_SHIFT]);
    check_consistency_run(s->consistency);
    if (needs_whole_series(s))
        return OHLCX_WHOLE_SERIES;

    status = quality_gap_stream_push(s->gaps, rows->open_time, rows->n, s->rows);
    if (status == 0)
        status = emit_rows(s, rows, out);
    if (status != 0)
        return status;
    s->rows += rows->n;
    return 0;
}


/* Counts rows in the calendar vote, then checks them. */
static int vote_and_check_rows(ohlcx_check_stream *s, const ohlcx_series *rows,
                               ohlcx_series *out)
{
    if (s->voting)
        quality_calendar_vote_push(&s->vote, rows->open_time, rows->n);
    return check_rows(s, rows, out);
}


/* Resolves the calendar from the rows counted so far (the head) when the
 * rows decide it, and starts what depends on it: the stale_series severity
 * and the gap walk. */
static int assume_calendar(ohlcx_check_stream *s)
{
    int calendar = s->voting ? quality_calendar_vote_result(&s->vote) : s->ctx.calendar;

    if (!calendar_streams(calendar))
        return OHLCX_WHOLE_SERIES;
    s->ctx.calendar = calendar;
    s->report.calendar = calendar;
    if (calendar != OHLCX_CALENDAR_ALWAYS)
        s->report.checks[CHECK_STALE_SERIES].severity = OHLCX_SEVERITY_INFO;
    return quality_gap_stream_begin(s->like.timeframe, s->like.symbol, calendar, &s->gaps);
}


/* Resolves the calendar on the head, then checks the head and frees it. */
static int check_head(ohlcx_check_stream *s, ohlcx_series *out)
{
    int status;

    if (s->voting)
        quality_calendar_vote_push(&s->vote, s->head.open_time, s->head.n);
    status = assume_calendar(s);
    if (status == 0 && s->head.n > 0)
        status = check_rows(s, &s->head, out);
    ohlcx_series_free(&s->head);
    return status;
}


/*
 * Moves rows into the head until it holds the first blocks, growing the
 * head by doubling so that the test of the blocks costs O(rows) overall,
 * then checks the head. Sets *used to the rows taken; the head is not
 * checked when it took them all without completing the blocks.
 */
static int fill_head(ohlcx_check_stream *s, const ohlcx_series *rows, ohlcx_series *out,
                     size_t *used)
{
    size_t need = (size_t)s->options.z_window + 1, taken = 0;
    int complete = 0, status;

    while (taken < rows->n && !complete) {
        size_t take = s->head.n < need ? need - s->head.n : s->head.n;

        if (take > rows->n - taken)
            take = rows->n - taken;
        status = reserve_more(&s->head, take);
        if (status != 0)
            return status;
        quality_copy_rows(&s->head, rows, taken, take);
        taken += take;
        complete = check_first_blocks_complete(&s->head, (size_t)s->options.z_window);
    }
    *used = taken;
    return complete ? check_head(s, out) : 0;
}


int ohlcx_check_stream_push(ohlcx_check_stream *s, const ohlcx_series *rows, ohlcx_series *out)
{
    ohlcx_series rest;
    size_t used = 0;
    int status = 0;

    if (s == NULL || rows == NULL || out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_check_stream_push: stream, rows and out "
                               "must not be NULL");
    if (rows->extra != s->like.extra || out->extra != s->like.extra)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: rows with optional columns %#x and out "
                               "with %#x, but the stream began with %#x: give every chunk "
                               "the columns of the first",
                               s->like.source_path, rows->extra, out->extra, s->like.extra);
    if (s->whole_series)
        return OHLCX_WHOLE_SERIES;
    if (rows->n == 0)
        return 0;

    if (s->consistency == NULL)
        status = fill_head(s, rows, out, &used);
    if (status == 0 && used < rows->n) {
        slice_rows(&rest, rows, used);
        status = vote_and_check_rows(s, &rest, out);
    }
    if (status == OHLCX_WHOLE_SERIES)
        s->whole_series = 1;
    return status;
}


/* Puts the examples of the filled_gaps repair, gathered as the gaps were
 * released, into the report's repairs with the synthetic bars as count. */
static void report_filled_gaps(const ohlcx_check_stream *s, ohlcx_quality_report *report)
{
    ohlcx_check_result *filled = &report->repairs[REPAIR_FILLED_GAPS];

    filled->example_count = s->filled_gaps.example_count;
    memcpy(filled->examples, s->filled_gaps.examples, sizeof filled->examples);
    filled->count = s->synthetic;
}


/* The completeness results and repairs once every row is checked. Every
 * gap has been counted in the checks when its rows went out. */
static int finish_report(ohlcx_check_stream *s)
{
    ohlcx_quality_report *report = &s->report;
    int status;

    quality_gap_stream_report(s->gaps, report);
    check_missing_severity(&s->options, report);
    if (s->options.policy == OHLCX_POLICY_REPAIR) {
        status = check_repairs_start(report);
        if (status != 0)
            return status;
        report_filled_gaps(s, report);
        if (s->last.n > 0)
            check_flag_partial(s->emitted, s->last.open_time[0], &s->last.flags[0],
                               s->ctx.timeframe_us, s->ctx.now_us,
                               &report->repairs[REPAIR_FLAGGED_PARTIAL]);
    }
    report->rows = s->rows;
    report->verdict = check_verdict(report, s->options.policy == OHLCX_POLICY_STRICT);
    return 0;
}


/* Returns OHLCX_WHOLE_SERIES when what the stream assumed from the first
 * rows does not hold for the whole series: the calendar resolved from the
 * head, or the grid of the first row. */
static int check_assumptions(const ohlcx_check_stream *s)
{
    if (s->voting && quality_calendar_vote_result(&s->vote) != s->ctx.calendar)
        return OHLCX_WHOLE_SERIES;
    if (!check_spacing_offset_holds(&s->spacing))
        return OHLCX_WHOLE_SERIES;
    return 0;
}


int ohlcx_check_stream_finish(ohlcx_check_stream *s, ohlcx_series *out,
                              ohlcx_quality_report *report)
{
    int status = 0;

    if (s == NULL || out == NULL || report == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_check_stream_finish: stream, out and "
                               "report must not be NULL");
    if (out->extra != s->like.extra)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: out with optional columns %#x, but the "
                               "stream began with %#x: give out the columns of the rows",
                               s->like.source_path, out->extra, s->like.extra);
    if (s->whole_series)
        return OHLCX_WHOLE_SERIES;
    if (s->consistency == NULL)
        status = check_head(s, out);
    if (status == 0)
        status = check_assumptions(s);
    if (status == OHLCX_WHOLE_SERIES)
        s->whole_series = 1;
    if (status != 0)
        return status;

    if (s->consistency != NULL)
        check_consistency_end(s->consistency);
    check_dst_end(&s->dst, &s->report.checks[CHECK_DST_SHIFT]);
    if (s->last.n > 0) {
        s->view.bars = s->last;
        s->ctx.row_offset = s->rows - 1;
        check_last_bar(&s->ctx, s->report.checks);
    }
    status = finish_report(s);
    if (status == 0 && s->last.n > 0)
        status = reserve_more(out, s->last.n);
    if (status != 0)
        return status;
    if (s->last.n > 0) {
        quality_copy_rows(out, &s->last, 0, s->last.n);
        s->emitted += s->last.n;
        s->last.n = 0;
    }

    *report = s->report;
    memset(&s->report, 0, sizeof s->report);
    return 0;
}


void quality_check_stream_gap_memory(const ohlcx_check_stream *s, size_t *listed,
                                     size_t *capacity)
{
    *listed = 0;
    *capacity = 0;
    if (s->gaps != NULL)
        quality_gap_stream_memory(s->gaps, listed, capacity);
}
