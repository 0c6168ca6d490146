/*
 * Price and volume checks: invalid prices, OHLC relations, extreme moves,
 * price scale and split-like jumps, volume rules and flat bars.
 *
 * Row checks look at one bar at a time. Sequence checks walk the
 * time-ordered view and compare each bar with the last bar that has a valid
 * close. The rolling median and MAD of extreme_move and the rolling median of
 * volume_spike come from a window kept sorted. Each bar removes the oldest
 * value and inserts the newest with a binary search and one memmove of at
 * most w values. The MAD is the middle element of two sorted runs of
 * deviations (left and right of the median), found by a binary search. So a
 * bar costs O(log w) comparisons plus a move of w/2 doubles on average,
 * instead of the O(w log w) of sorting the window again.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/series.h"
#include "quality/checks_internal.h"

#define MAD_TO_SIGMA 1.4826 /* MAD of a normal distribution times this is its sigma */
#define SCALE_TOLERANCE 0.05
#define SPLIT_TOLERANCE 0.03
#define ZERO_VOLUME_RUN_MIN 3
#define SPIKE_WINDOW 50
#define SPIKE_FACTOR 20.0

/* A jump needs |log ratio| above this before the ratio tables are read:
 * every ratio they hold (2 - 3% and up, 1 / 1.94 and down) is beyond it. */
#define JUMP_PREFILTER 0.6

/* The last `capacity` values in arrival order (ring) and in increasing
 * order (sorted). */
typedef struct rolling_window {
    double *ring;
    double *sorted;
    size_t size;
    size_t capacity;
    size_t next; /* ring slot of the next value, the oldest once full */
} rolling_window;


static int window_init(rolling_window *w, size_t capacity)
{
    memset(w, 0, sizeof *w);
    w->ring = malloc(capacity * sizeof *w->ring);
    w->sorted = malloc(capacity * sizeof *w->sorted);
    w->capacity = capacity;
    if (w->ring == NULL || w->sorted == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for a rolling window of %zu bars",
                               capacity);
    return 0;
}


static void window_free(rolling_window *w)
{
    free(w->ring);
    free(w->sorted);
}


/* Returns the first index whose value is >= x. The loop halves the range
 * with a conditional move instead of a branch, because the comparisons of
 * returns are unpredictable and mispredictions dominated the check time. */
static size_t lower_bound(const double *a, size_t n, double x)
{
    const double *base = a;

    if (n == 0)
        return 0;
    while (n > 1) {
        size_t half = n / 2;

        base = base[half] < x ? base + half : base;
        n -= half;
    }
    return (size_t)(base - a) + (*base < x);
}


/* Adds x, dropping the oldest value once the window is full. x is finite. */
static void window_push(rolling_window *w, double x)
{
    double *a = w->sorted;
    size_t j;

    if (w->size < w->capacity) {
        j = lower_bound(a, w->size, x);
        memmove(a + j + 1, a + j, (w->size - j) * sizeof *a);
        a[j] = x;
        w->size++;
    } else {
        size_t i = lower_bound(a, w->size, w->ring[w->next]); /* the oldest value */

        j = lower_bound(a, w->size, x);
        if (j > i) {
            memmove(a + i, a + i + 1, (j - 1 - i) * sizeof *a);
            a[j - 1] = x;
        } else {
            memmove(a + j + 1, a + j, (i - j) * sizeof *a);
            a[j] = x;
        }
    }
    w->ring[w->next] = x;
    w->next = w->next + 1 == w->capacity ? 0 : w->next + 1;
}


static double window_median(const rolling_window *w)
{
    size_t half = w->size / 2;

    return w->size % 2 ? w->sorted[half] : 0.5 * (w->sorted[half - 1] + w->sorted[half]);
}


/*
 * Returns the k-th smallest (0-based) of |a[i] - m| over the sorted window.
 * Deviations left of p = lower_bound(m) grow leftwards and those from p on
 * grow rightwards, so they are two sorted runs. A binary search on how many
 * of the k + 1 smallest come from the left run finds the k-th.
 */
static double kth_deviation(const double *a, size_t n, double m, size_t p, size_t k)
{
    size_t left_n = p, right_n = n - p, want = k + 1;
    size_t low = want > right_n ? want - right_n : 0;
    size_t high = want < left_n ? want : left_n;

    for (;;) {
        size_t x = low + (high - low) / 2, y = want - x;
        double left_last = x > 0 ? m - a[p - x] : -INFINITY;
        double right_last = y > 0 ? a[p + y - 1] - m : -INFINITY;

        if (x > 0 && y < right_n && left_last > a[p + y] - m)
            high = x - 1;
        else if (y > 0 && x < left_n && right_last > m - a[p - 1 - x])
            low = x + 1;
        else
            return left_last > right_last ? left_last : right_last;
    }
}


static double window_mad(const rolling_window *w, double median)
{
    size_t n = w->size, p = lower_bound(w->sorted, n, median);

    if (n % 2)
        return kth_deviation(w->sorted, n, median, p, n / 2);
    return 0.5 * (kth_deviation(w->sorted, n, median, p, n / 2 - 1) +
                  kth_deviation(w->sorted, n, median, p, n / 2));
}


static int valid_price(double price)
{
    return price > 0 && price < INFINITY; /* false for NaN too */
}


/* One pass over the rows: invalid prices, OHLC relations, negative volume
 * and flat bars. A row with an invalid price gets no OHLC relation check. */
static void check_rows(const check_context *ctx, ohlcx_check_result *checks)
{
    const ohlcx_series *v = &ctx->view->bars;

    for (size_t k = 0; k < v->n; k++) {
        double o = v->open[k], h = v->high[k], l = v->low[k], c = v->close[k];
        double volume = v->volume[k];
        int64_t t = v->open_time[k];

        if (!(volume >= 0 && volume < INFINITY))
            check_add(&checks[CHECK_NEGATIVE_VOLUME], check_row(ctx, k), t, volume,
                      "volume %g", volume);
        if (!(valid_price(o) & valid_price(h) & valid_price(l) & valid_price(c))) {
            double bad = !valid_price(o) ? o : !valid_price(h) ? h : !valid_price(l) ? l : c;
            check_add(&checks[CHECK_INVALID_PRICE], check_row(ctx, k), t, bad,
                      "open %g high %g low %g close %g", o, h, l, c);
            continue;
        }
        if (h < l)
            check_add(&checks[CHECK_HIGH_BELOW_LOW], check_row(ctx, k), t, h,
                      "high %g < low %g", h, l);
        if (l > fmin(o, c))
            check_add(&checks[CHECK_LOW_ABOVE_BODY], check_row(ctx, k), t, l,
                      "low %g > min(open %g, close %g)", l, o, c);
        if (h < fmax(o, c))
            check_add(&checks[CHECK_HIGH_BELOW_BODY], check_row(ctx, k), t, h,
                      "high %g < max(open %g, close %g)", h, o, c);
        if ((o == h) & (h == l) & (l == c))
            check_add(&checks[CHECK_FLAT_BARS], check_row(ctx, k), t, c, "all prices %g", c);
    }
}


static int near(double ratio, double target, double tolerance)
{
    return fabs(ratio / target - 1) <= tolerance;
}


static void check_scale_jump(const check_context *ctx, ohlcx_check_result *result, size_t k,
                             double ratio)
{
    static const double scales[] = {100, 1000, 0.01, 0.001};

    for (size_t i = 0; i < sizeof scales / sizeof *scales; i++)
        if (near(ratio, scales[i], SCALE_TOLERANCE)) {
            check_add(result, check_row(ctx, k), ctx->view->bars.open_time[k], ratio,
                      "close is %g times the close before", ratio);
            return;
        }
}


/* Ratio of the day's first open to the last close before it, near a split
 * ratio. Adj Close is not kept by the reader, so the message only suggests
 * adjusting. */
static void check_split(const check_context *ctx, ohlcx_check_result *result, size_t k,
                        double ratio)
{
    static const double factors[] = {2, 3, 4, 5, 10};

    for (size_t i = 0; i < sizeof factors / sizeof *factors; i++)
        if (near(ratio, factors[i], SPLIT_TOLERANCE) ||
            near(ratio, 1 / factors[i], SPLIT_TOLERANCE)) {
            check_add(result, check_row(ctx, k), ctx->view->bars.open_time[k], ratio,
                      "open is %g times the last close: a split? use split-adjusted prices",
                      ratio);
            return;
        }
}


/* Robust z-score of log return r against the window of earlier returns. */
static void check_extreme(const check_context *ctx, ohlcx_check_result *result,
                          const rolling_window *returns, size_t k, double r)
{
    double median, mad, z;

    if (returns->size < returns->capacity)
        return;
    median = window_median(returns);
    mad = window_mad(returns, median);
    if (!(mad > 0)) /* a window of equal returns has no scale */
        return;
    z = fabs(r - median) / (MAD_TO_SIGMA * mad);
    if (z > ctx->options->z_threshold)
        check_add(result, check_row(ctx, k), ctx->view->bars.open_time[k], z,
                  "log return %.4g, rolling median %.3g, MAD %.3g", r, median, mad);
}


static int64_t next_midnight(int64_t time_us)
{
    int64_t rest = time_us % OHLCX_US_PER_DAY;

    return time_us - (rest < 0 ? rest + OHLCX_US_PER_DAY : rest) + OHLCX_US_PER_DAY;
}


/* Close-to-close checks: extreme_move, price_scale_jump, split_like_jump. */
static int check_returns(const check_context *ctx, ohlcx_check_result *checks)
{
    const ohlcx_series *v = &ctx->view->bars;
    int split_check = ctx->given->asset_class == OHLCX_ASSET_STOCKS;
    int64_t next_day_start = INT64_MIN, previous_time = INT64_MIN;
    double previous_close = NAN;
    rolling_window returns;
    int status = window_init(&returns, (size_t)ctx->options->z_window);

    if (status != 0)
        goto done;
    for (size_t k = 0; k < v->n; k++) {
        double close = v->close[k], r;
        int new_day = v->open_time[k] >= next_day_start;

        /* A row that repeats an open time adds no return: counting its zero
         * return would shrink the MAD and inflate every other move. */
        if (!valid_price(close) || v->open_time[k] == previous_time)
            continue;
        previous_time = v->open_time[k];
        if (new_day)
            next_day_start = next_midnight(v->open_time[k]);
        if (!(previous_close > 0)) {
            previous_close = close;
            continue;
        }
        r = log(close / previous_close);
        if (fabs(r) > JUMP_PREFILTER)
            check_scale_jump(ctx, &checks[CHECK_PRICE_SCALE_JUMP], k, close / previous_close);
        if (split_check && new_day && valid_price(v->open[k]) &&
            fabs(log(v->open[k] / previous_close)) > JUMP_PREFILTER)
            check_split(ctx, &checks[CHECK_SPLIT_LIKE_JUMP], k, v->open[k] / previous_close);
        check_extreme(ctx, &checks[CHECK_EXTREME_MOVE], &returns, k, r);
        window_push(&returns, r);
        previous_close = close;
    }

done:
    window_free(&returns);
    return status;
}


/* Runs of ZERO_VOLUME_RUN_MIN or more zero-volume bars; the example is the
 * first bar of the run and its value the run length. */
static void check_zero_runs(const check_context *ctx, ohlcx_check_result *result)
{
    const ohlcx_series *v = &ctx->view->bars;
    size_t start = 0;

    for (size_t k = 0; k <= v->n; k++) {
        if (k < v->n && v->volume[k] == 0)
            continue;
        if (k - start >= ZERO_VOLUME_RUN_MIN)
            check_add(result, check_row(ctx, start), v->open_time[start], (double)(k - start),
                      "%zu bars in a row with volume 0", k - start);
        start = k + 1;
    }
}


/* Volume above SPIKE_FACTOR times the median of the SPIKE_WINDOW valid
 * volumes before it. */
static int check_volume_spikes(const check_context *ctx, ohlcx_check_result *result)
{
    const ohlcx_series *v = &ctx->view->bars;
    rolling_window volumes;
    int status = window_init(&volumes, SPIKE_WINDOW);

    if (status != 0)
        goto done;
    for (size_t k = 0; k < v->n; k++) {
        double volume = v->volume[k];

        if (!(volume >= 0 && volume < INFINITY))
            continue;
        if (volumes.size == volumes.capacity) {
            double median = window_median(&volumes);
            if (median > 0 && volume > SPIKE_FACTOR * median)
                check_add(result, check_row(ctx, k), v->open_time[k], volume / median,
                          "volume %g is %.1f times the rolling median %g", volume,
                          volume / median, median);
        }
        window_push(&volumes, volume);
    }

done:
    window_free(&volumes);
    return status;
}


int check_consistency(const check_context *ctx, ohlcx_check_result *checks)
{
    int status;

    check_rows(ctx, checks);
    check_zero_runs(ctx, &checks[CHECK_ZERO_VOLUME_RUN]);
    status = check_returns(ctx, checks);
    if (status == 0)
        status = check_volume_spikes(ctx, checks + CHECK_VOLUME_SPIKE);
    return status;
}
