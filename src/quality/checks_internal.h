/*
 * Internal interface between the check engine (engine.c) and the check
 * files (checks_time.c, checks_consistency.c, report.c).
 *
 * The engine runs every check on a time-ordered view of the series: the
 * series itself when its rows are already in order, else a stably sorted
 * copy whose row map gives each view row's row in the series as given.
 * Examples always name rows of the series as given.
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
    const ohlcx_series *given; /* the series as given, possibly unsorted */
    const check_view *view;    /* the same rows in open-time order */
    const ohlcx_check_options *options;
    int64_t timeframe_us;      /* nominal length of one bar */
    int64_t now_us;
    int calendar;              /* enum ohlcx_calendar, resolved */
} check_context;

/* Returns the row in the series as given of view row k. */
static inline size_t check_row(const check_context *ctx, size_t k)
{
    return ctx->view->row != NULL ? ctx->view->row[k] : k;
}

/* Counts one finding and keeps it as an example while fewer than
 * OHLCX_CHECK_EXAMPLES are kept. The note is formatted only when kept. */
void check_add(ohlcx_check_result *result, size_t row, int64_t open_time, double value,
               const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Runs the timestamp and freshness checks. */
void check_timestamps(const check_context *ctx, ohlcx_check_result *checks);

/* Runs the price and volume checks; fails only when the window of returns
 * cannot be allocated. */
int check_consistency(const check_context *ctx, ohlcx_check_result *checks);

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
