/*
 * Internal interface between the check engines (engine.c for a whole
 * series, stream.c for one that comes in chunks) and the check files
 * (checks_time.c, checks_consistency.c, report.c).
 *
 * The engine runs every check on a time-ordered view of the series: the
 * series itself when its rows are already in order, else a stably sorted
 * copy whose row map gives each view row's row in the series as given.
 * The stream runs the same checks on each chunk in turn as the view, with
 * the rows of the chunks before it as the row offset. Examples always
 * name rows of the series as given.
 */
#ifndef OHLCX_CHECKS_INTERNAL_H
#define OHLCX_CHECKS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/check.h"

/* Checks in report order; the index is the position in report->checks. */
enum check_id {
    CHECK_UNSORTED_ROWS = 0,
    CHECK_DUPLICATE_ROWS,
    CHECK_CONFLICTING_DUPLICATES,
    CHECK_OFF_GRID,
    CHECK_UNIT_SWITCH,
    CHECK_FUTURE_BARS,
    CHECK_PARTIAL_LAST_BAR,
    CHECK_DST_SHIFT,
    CHECK_INVALID_PRICE,
    CHECK_HIGH_BELOW_LOW,
    CHECK_LOW_ABOVE_BODY,
    CHECK_HIGH_BELOW_BODY,
    CHECK_EXTREME_MOVE,
    CHECK_PRICE_SCALE_JUMP,
    CHECK_SPLIT_LIKE_JUMP,
    CHECK_NEGATIVE_VOLUME,
    CHECK_ZERO_VOLUME_RUN,
    CHECK_VOLUME_SPIKE,
    CHECK_FLAT_BARS,
    CHECK_STALE_SERIES,
    CHECK_MISSING_BARS,
    CHECK_LONG_GAPS,
    CHECK_COUNT
};

/* Repairs in report order; the index is the position in report->repairs. */
enum repair_id {
    REPAIR_SORTED = 0,
    REPAIR_DROPPED_DUPLICATES,
    REPAIR_DROPPED_CONFLICTS,
    REPAIR_DROPPED_INVALID,
    REPAIR_FILLED_GAPS,
    REPAIR_FLAGGED_PARTIAL,
    REPAIR_COUNT
};

/* A series in open-time order and the row each of its rows had in the
 * series as given (row == NULL when they are the same). */
typedef struct check_view {
    ohlcx_series bars;
    size_t *row;
    int owned; /* 1 when bars and row were allocated for the view */
} check_view;

typedef struct check_context {
    const ohlcx_series *given; /* the series as given, possibly unsorted; the
                                  stream gives only its names and class */
    const check_view *view;    /* the same rows in open-time order */
    size_t row_offset;         /* row of view row 0 when row is NULL: 0 for
                                  a whole series, the rows before a chunk */
    const ohlcx_check_options *options;
    int64_t timeframe_us;      /* nominal length of one bar */
    int64_t now_us;
    int calendar;              /* enum ohlcx_calendar, resolved */
} check_context;

/* Returns the row in the series as given of view row k. */
static inline size_t check_row(const check_context *ctx, size_t k)
{
    return ctx->view->row != NULL ? ctx->view->row[k] : ctx->row_offset + k;
}

/* Parts of the engine that the stream shares (engine.c). */
int check_options_valid(const ohlcx_check_options *options);
int64_t check_now_us(const ohlcx_check_options *options);

/* Starts a report: names, source and every check with count 0. */
int check_report_start(const ohlcx_series *series, ohlcx_quality_report *report);

/* Counts one gap, before row `row` of the series as given, in missing_bars
 * and, when it is longer than max_fill_gap, in long_gaps. */
void check_count_gap(ohlcx_check_result *checks, size_t row, const ohlcx_gap *gap,
                     const ohlcx_check_options *options);

/* Makes missing_bars fail when the report's missing ratio is above
 * max_missing_ratio. Run it after counting every gap. */
void check_missing_severity(const ohlcx_check_options *options, ohlcx_quality_report *report);

/* Counts every gap in the report (check_count_gap()), then sets the
 * severity of missing_bars. row maps a gap's row to the row as given, or
 * is NULL when they are the same. */
void check_report_gaps(const size_t *row, const ohlcx_check_options *options,
                       ohlcx_quality_report *report);

/* Returns 1 when ohlcx_validate_basic() would leave the series as it is:
 * the checks found no row out of order, repeated, or breaking a price or
 * volume rule (its drop rules are those of these checks). */
int check_nothing_to_drop(const ohlcx_quality_report *report);

/* Lists every repair with count 0. */
int check_repairs_start(ohlcx_quality_report *report);

/* Adds gap to the examples of a filled_gaps repair when it is filled. The
 * repair's count is the synthetic bars, which the caller sets. */
void check_repair_filled_gap(ohlcx_check_result *filled, const ohlcx_gap *gap);

/* Adds each filled gap of the report to the filled_gaps repair, whose count
 * becomes added, the synthetic bars. */
void check_repair_filled(ohlcx_quality_report *report, size_t added);

/* Flags the last bar (row `row` after the repairs, open time open_time)
 * partial when it has not closed at now_us. */
void check_flag_partial(size_t row, int64_t open_time, uint8_t *flags, int64_t timeframe_us,
                        int64_t now_us, ohlcx_check_result *flagged);

int check_verdict(const ohlcx_quality_report *report, int strict);

/* Counts one finding and keeps it as an example while fewer than
 * OHLCX_CHECK_EXAMPLES are kept. The note is formatted only when kept. */
void check_add(ohlcx_check_result *result, size_t row, int64_t open_time, double value,
               const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Runs the timestamp and freshness checks. */
void check_timestamps(const check_context *ctx, ohlcx_check_result *checks);

/* The rules of off_grid and unit_switch (checks_time.c). */
typedef struct spacing_rules {
    int grid;                /* 1 when off_grid applies (timeframes up to 1d) */
    int64_t modulus, offset; /* open times should be offset modulo modulus */
    int64_t big_low, big_high, small_low, small_high; /* unit switch spacings */
} spacing_rules;

/* Classes of grid offsets that a stream counts: a timeframe of at most 1d
 * in steps of the one-hour off_grid modulus of a session calendar. */
#define CHECK_GRID_CLASSES 24

/* State of duplicate_rows, conflicting_duplicates, off_grid and
 * unit_switch between the ranges of rows that one pass checks. */
typedef struct check_spacing_pass {
    spacing_rules rules;
    int steady;            /* 1 when a bar one timeframe on keeps the grid rest */
    int started;           /* 0 before the first row */
    int64_t last_time;     /* open time of the last row checked */
    int64_t rest;          /* grid rest of that row */
    int vote;              /* 1 when the rows are counted by grid offset */
    size_t rows;           /* rows counted */
    size_t class_rows[CHECK_GRID_CLASSES]; /* rows by offset / modulus */
} check_spacing_pass;

/* Starts the spacing pass. A calendar other than ALWAYS takes its grid
 * offset from the majority of ctx->view, so it needs the whole series. */
void check_spacing_begin(const check_context *ctx, check_spacing_pass *pass);

/* Starts the spacing pass of a stream, whose ctx->view contains the first
 * rows. A calendar other than ALWAYS takes the grid offset of the first
 * row. The pass counts the rows by offset, so that at the end
 * check_spacing_offset_holds() can check whether the majority offset would
 * have given the same grid. */
void check_spacing_begin_stream(const check_context *ctx, check_spacing_pass *pass);

/* Returns 1 when check_spacing_begin() on every row of a stream whose
 * rows all lie on the grid of its first row (off_grid found none) would
 * have taken the grid that check_spacing_begin_stream() took. */
int check_spacing_offset_holds(const check_spacing_pass *pass);

/* Checks the rows of ctx->view after those of the views before. Each view
 * after the first must open after the last open time of the view before
 * it, because a repeated open time is compared with rows of its own view
 * only. */
void check_spacing_run(const check_context *ctx, check_spacing_pass *pass,
                       ohlcx_check_result *checks);

/* future_bars of the rows of ctx->view, which must be in open-time order. */
void check_future_bars(const check_context *ctx, ohlcx_check_result *checks);

/* A day whose first bar moved by an hour, kept until the next trading day
 * shows whether the move reverts. */
typedef struct check_dst_candidate {
    int pending;
    size_t row;            /* row as given of the day's first bar */
    int64_t open_time;     /* and its open time */
    int64_t day, first, previous_first; /* UTC day; first bar times of it and the day before */
} check_dst_candidate;

/* State of dst_shift between the views that one pass checks. */
typedef struct check_dst_pass {
    int active;            /* 1 for an intraday series of a session calendar */
    int64_t next_day_start; /* UTC midnight after the last day seen */
    int64_t previous_day;
    int64_t previous_first; /* first bar time of that day, -1 before the first */
    check_dst_candidate candidate;
} check_dst_pass;

/* dst_shift as a pass over consecutive views in open-time order: begin,
 * run on each view, then end to report a shift still pending. */
void check_dst_begin(const check_context *ctx, check_dst_pass *pass);
void check_dst_run(const check_context *ctx, check_dst_pass *pass, ohlcx_check_result *result);
void check_dst_end(check_dst_pass *pass, ohlcx_check_result *result);

/* partial_last_bar and stale_series of the last row of ctx->view, the last
 * row of the series. */
void check_last_bar(const check_context *ctx, ohlcx_check_result *checks);

/* Runs the price and volume checks; fails only when the window of returns
 * cannot be allocated. */
int check_consistency(const check_context *ctx, ohlcx_check_result *checks);

/*
 * The price and volume checks as a pass that resumes over consecutive views
 * (checks_consistency.c). check_consistency_begin() judges the first block
 * of returns and of volumes, so ctx->view must then hold every row up to
 * the end of those blocks (check_first_blocks_complete()) or the whole
 * series. Each check_consistency_run() checks the rows of ctx->view, and
 * check_consistency_end() closes a zero-volume run at the end of the
 * series. The pass keeps ctx and checks, so they must outlive it.
 */
typedef struct consistency_pass consistency_pass;

int check_consistency_begin(const check_context *ctx, ohlcx_check_result *checks,
                            consistency_pass **out);
void check_consistency_run(consistency_pass *pass);
void check_consistency_end(consistency_pass *pass);
void check_consistency_free(consistency_pass *pass);

/* Returns 1 when the rows of series reach the end of the first block of
 * returns (of z_window returns) and of volumes that the consistency pass
 * judges on their own. */
int check_first_blocks_complete(const ohlcx_series *series, size_t z_window);

/* Sets sorted_time to the n open times in ascending order and order[k] to
 * the row of sorted_time[k], keeping file order among equal open times
 * (order.c). Fails only when scratch for a radix sort cannot be
 * allocated. */
int check_order_by_time(const int64_t *open_time, size_t n, int64_t *sorted_time, size_t *order);

/* Two values that bracketed the middle ranks of the last block of a
 * hopping window, kept to speed up the next block (block_stats.c). */
typedef struct check_bracket {
    double low, high;
    int valid; /* 0 before the first block */
} check_bracket;

/* Sets *lower and *upper to the (n/2 - 1)-th and (n/2)-th smallest (0-based)
 * of n > 0 values that are not NaN when n is even, both to the (n/2)-th
 * when n is odd, leaving the values unchanged. scratch has room for 2 * n doubles.
 * bracket may be NULL; else it is read, and set for the next block. */
void check_middle(const double *values, size_t n, double *scratch, check_bracket *bracket,
                  double *lower, double *upper);

/* Returns the median of n > 0 values, the mean of the two middle ones when
 * n is even; scratch and bracket as for check_middle(). */
double check_median(const double *values, size_t n, double *scratch, check_bracket *bracket);

/* Sets *median and *mad to the median and the median absolute deviation
 * (again the mean of the two middle values when n is even) of the logs of
 * n > 0 positive finite ratios, taking at most four logs rather than one
 * per ratio. Overwrites the ratios; scratch has room for 2 * n doubles. brackets
 * is NULL or two brackets, for the median and for the MAD. */
void check_log_median_mad(double *ratios, size_t n, double *scratch, check_bracket *brackets,
                          double *median, double *mad);

#endif
