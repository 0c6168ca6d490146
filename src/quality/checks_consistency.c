/*
 * Price and volume checks: invalid prices, OHLC relations, extreme moves,
 * price scale and split-like jumps, volume rules and flat bars.
 *
 * All of them run in one pass over the time-ordered view. A bar whose
 * prices and volume are valid, consistent and not flat, with volume above
 * 0 and a new open time, takes the fast path: a few comparisons, one
 * division for the close-to-close ratio and two stores. Any other bar takes
 * the slow path, which runs each rule on its own and formats examples.
 *
 * Sequence checks compare each bar with the last bar that has a valid
 * close. extreme_move and volume_spike compare a bar with statistics of a
 * hopping window. The returns (or volumes) are cut into consecutive blocks
 * of w, and every value of block b is compared with the median and MAD (or
 * median) of block b - 1, that is with the w to 2w - 1 values before it. A block
 * costs two selections in O(w) on average when it fills, so a bar costs
 * O(1) amortised. The first block is never flagged, because it has no
 * block before it.
 *
 * The return statistics are those of log returns, but no log is taken per
 * bar. The block keeps close-to-close ratios. log is monotone, so the
 * median log return is the log of the median ratio, and |log x - log c| is
 * log max(x / c, c / x), so the MAD is the log of the median of those
 * quotients. A block then sets two ratio thresholds, exp(m - z s) and
 * exp(m + z s) with s = 1.4826 MAD, and the fast path compares each ratio
 * with them. A ratio within rounding error of a threshold may fall either
 * way.
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

/* Ranges at most this long are finished by insertion sort. */
#define SELECT_SMALL 16

/* Ratio thresholds from the last full block of returns. A ratio outside
 * [low, high] is an extreme move; [low, high] is [0, inf] before the first
 * block fills and after a block with MAD 0. */
typedef struct return_window {
    double *block;   /* ratios of the block being filled */
    double *scratch; /* 2 * capacity doubles for the selection */
    size_t fill;
    size_t capacity;
    double median, mad; /* log-return statistics of the last full block */
    double low, high;
    double z_threshold;
} return_window;

/* Spike limit from the last full block of valid volumes; inf before the
 * first block fills and after a block whose median is 0. */
typedef struct volume_window {
    double block[SPIKE_WINDOW];
    double scratch[2 * SPIKE_WINDOW];
    size_t fill;
    double median;
    double limit;
} volume_window;

/* State of the pass over the view. */
typedef struct consistency_pass {
    const check_context *ctx;
    ohlcx_check_result *checks;
    return_window returns;
    volume_window volumes;
    int split_check;         /* stocks only */
    double previous_close;   /* last valid close, NaN before the first */
    int64_t previous_time;   /* open time of that close */
    int64_t next_day_start;  /* UTC midnight after the last new day */
    size_t zero_run;         /* zero-volume bars ending at the bar before */
    double fast_low, fast_high; /* ratios in (fast_low, fast_high) need no slow path */
} consistency_pass;


static int valid_price(double price)
{
    return price > 0 && price < INFINITY; /* false for NaN too */
}


static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}


static double median_of_three(double a, double b, double c)
{
    return fmax(fmin(a, b), fmin(fmax(a, b), c));
}


/* Copies the n values of src to dst, those that are below the pivot
 * (or_equal: at most the pivot) to the front and the others to the back,
 * and returns how many went to the front. Each value is stored at both
 * ends and only the index of its own end moves, so the loop has no branch
 * to mispredict. The store to the other end lands in a slot not yet filled. */
static size_t partition(const double *src, size_t n, double pivot, int or_equal, double *dst)
{
    size_t front = 0, back = n - 1;

    for (size_t i = 0; i < n; i++) {
        double x = src[i];
        size_t goes_front = or_equal ? x <= pivot : x < pivot;

        dst[front] = x;
        dst[back] = x;
        front += goes_front;
        back -= 1 - goes_front;
    }
    return front;
}


static double select_small(const double *src, size_t n, size_t k)
{
    double a[SELECT_SMALL];

    for (size_t i = 0; i < n; i++) {
        size_t j = i;

        for (; j > 0 && a[j - 1] > src[i]; j--)
            a[j] = a[j - 1];
        a[j] = src[i];
    }
    return a[k];
}


/*
 * Quickselect with a median-of-three pivot. Each round partitions the
 * range into the other half of scratch, so values is never changed. When
 * nothing is below the pivot (it is the smallest value), a second
 * partition splits off the values equal to it, so runs of equal values
 * (flat prices give many equal ratios) still shrink the range. After too
 * many rounds the range left is sorted with qsort(), so the worst case is
 * O(n log n) rather than O(n^2).
 */
double check_select(const double *values, size_t n, size_t k, double *scratch)
{
    const double *src = values;
    double *buffer[2] = {scratch, scratch + n};
    int rounds = 16, next = 0;

    for (size_t m = n; m > 1; m >>= 1)
        rounds += 2;
    while (n > SELECT_SMALL) {
        double pivot = median_of_three(src[0], src[n / 2], src[n - 1]);
        double *dst = buffer[next];
        size_t front;

        next ^= 1;
        if (rounds-- == 0) {
            memcpy(dst, src, n * sizeof *dst);
            qsort(dst, n, sizeof *dst, compare_doubles);
            return dst[k];
        }
        front = partition(src, n, pivot, 0, dst);
        if (front == 0) {
            front = partition(src, n, pivot, 1, dst);
            if (k < front)
                return pivot;
        }
        if (k < front) {
            n = front;
        } else {
            dst += front;
            n -= front;
            k -= front;
        }
        src = dst;
    }
    return select_small(src, n, k);
}


/* Returns the (k-1)-th smallest of n values, given the k-th (k > 0): the
 * largest value below it when at least k values are below it, else the
 * k-th itself. */
static double rank_before(const double *a, size_t n, size_t k, double kth)
{
    double largest = -INFINITY;
    size_t below = 0;

    for (size_t i = 0; i < n; i++) {
        below += a[i] < kth;
        largest = a[i] < kth && a[i] > largest ? a[i] : largest;
    }
    return below >= k ? largest : kth;
}


/* Returns the log of the median of n > 0 positive values; *center gets
 * the median itself, exp() of the result. */
static double log_median(const double *a, size_t n, double *scratch, double *center)
{
    size_t half = n / 2;
    double upper = check_select(a, n, half, scratch), lower;

    *center = upper;
    if (n % 2)
        return log(upper);
    lower = rank_before(a, n, half, upper);
    if (lower == upper)
        return log(upper);
    *center = sqrt(lower) * sqrt(upper);
    return 0.5 * (log(lower) + log(upper));
}


void check_log_median_mad(double *ratios, size_t n, double *scratch, double *median,
                          double *mad)
{
    double center, unused;

    *median = log_median(ratios, n, scratch, &center);
    for (size_t i = 0; i < n; i++) {
        double up = ratios[i] / center, down = center / ratios[i];

        ratios[i] = up > down ? up : down; /* not fmax(), which is a call */
    }
    *mad = log_median(ratios, n, scratch, &unused);
}


double check_median(const double *values, size_t n, double *scratch)
{
    size_t half = n / 2;
    double upper = check_select(values, n, half, scratch);

    return n % 2 ? upper : 0.5 * (rank_before(values, n, half, upper) + upper);
}


static int return_window_init(return_window *w, size_t capacity, double z_threshold)
{
    memset(w, 0, sizeof *w);
    w->block = malloc(3 * capacity * sizeof *w->block);
    w->scratch = w->block + capacity;
    w->capacity = capacity;
    w->low = 0;
    w->high = INFINITY;
    w->z_threshold = z_threshold;
    if (w->block == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for a window of %zu returns",
                               capacity);
    return 0;
}


/* Closes a full block: its statistics set the thresholds for the next. */
static void return_window_roll(return_window *w)
{
    double spread;

    check_log_median_mad(w->block, w->capacity, w->scratch, &w->median, &w->mad);
    w->fill = 0;
    if (!(w->mad > 0)) { /* a block of equal returns has no scale */
        w->low = 0;
        w->high = INFINITY;
        return;
    }
    spread = w->z_threshold * MAD_TO_SIGMA * w->mad;
    w->low = exp(w->median - spread);
    w->high = exp(w->median + spread);
}


static void volume_window_roll(volume_window *w)
{
    w->median = check_median(w->block, SPIKE_WINDOW, w->scratch);
    w->limit = w->median > 0 ? SPIKE_FACTOR * w->median : INFINITY;
    w->fill = 0;
}


/* The interval of ratios that needs neither the extreme-move nor the jump
 * check. */
static void pass_update_fast_range(consistency_pass *p)
{
    p->fast_low = fmax(p->returns.low, exp(-JUMP_PREFILTER));
    p->fast_high = fmin(p->returns.high, exp(JUMP_PREFILTER));
}


static void push_return(consistency_pass *p, double ratio)
{
    return_window *w = &p->returns;

    w->block[w->fill] = ratio;
    if (++w->fill == w->capacity) {
        return_window_roll(w);
        pass_update_fast_range(p);
    }
}


static void push_volume(consistency_pass *p, size_t k, double volume)
{
    volume_window *w = &p->volumes;

    if (volume > w->limit) {
        const check_context *ctx = p->ctx;
        check_add(&p->checks[CHECK_VOLUME_SPIKE], check_row(ctx, k),
                  ctx->view->bars.open_time[k], volume / w->median,
                  "volume %g is %.1f times the rolling median %g", volume, volume / w->median,
                  w->median);
    }
    w->block[w->fill] = volume;
    if (++w->fill == SPIKE_WINDOW)
        volume_window_roll(w);
}


/* Ends a run of zero volumes before bar k. */
static void end_zero_run(consistency_pass *p, size_t k)
{
    size_t start = k - p->zero_run;

    if (p->zero_run >= ZERO_VOLUME_RUN_MIN)
        check_add(&p->checks[CHECK_ZERO_VOLUME_RUN], check_row(p->ctx, start),
                  p->ctx->view->bars.open_time[start], (double)p->zero_run,
                  "%zu bars in a row with volume 0", p->zero_run);
    p->zero_run = 0;
}


/* Invalid prices, OHLC relations and flat bars of bar k. A row with an
 * invalid price gets no OHLC relation check. */
static void check_row_prices(const check_context *ctx, ohlcx_check_result *checks, size_t k)
{
    const ohlcx_series *v = &ctx->view->bars;
    double o = v->open[k], h = v->high[k], l = v->low[k], c = v->close[k];
    int64_t t = v->open_time[k];

    if (!(valid_price(o) & valid_price(h) & valid_price(l) & valid_price(c))) {
        double bad = !valid_price(o) ? o : !valid_price(h) ? h : !valid_price(l) ? l : c;
        check_add(&checks[CHECK_INVALID_PRICE], check_row(ctx, k), t, bad,
                  "open %g high %g low %g close %g", o, h, l, c);
        return;
    }
    if (h < l)
        check_add(&checks[CHECK_HIGH_BELOW_LOW], check_row(ctx, k), t, h, "high %g < low %g",
                  h, l);
    if (l > fmin(o, c))
        check_add(&checks[CHECK_LOW_ABOVE_BODY], check_row(ctx, k), t, l,
                  "low %g > min(open %g, close %g)", l, o, c);
    if (h < fmax(o, c))
        check_add(&checks[CHECK_HIGH_BELOW_BODY], check_row(ctx, k), t, h,
                  "high %g < max(open %g, close %g)", h, o, c);
    if ((o == h) & (h == l) & (l == c))
        check_add(&checks[CHECK_FLAT_BARS], check_row(ctx, k), t, c, "all prices %g", c);
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


/* Robust z-score of the log return of bar k against the last full block. */
static void add_extreme(consistency_pass *p, size_t k, double ratio)
{
    const return_window *w = &p->returns;
    double r = log(ratio), z = fabs(r - w->median) / (MAD_TO_SIGMA * w->mad);

    check_add(&p->checks[CHECK_EXTREME_MOVE], check_row(p->ctx, k),
              p->ctx->view->bars.open_time[k], z,
              "log return %.4g, rolling median %.3g, MAD %.3g", r, w->median, w->mad);
}


static int64_t next_midnight(int64_t time_us)
{
    int64_t rest = time_us % OHLCX_US_PER_DAY;

    return time_us - (rest < 0 ? rest + OHLCX_US_PER_DAY : rest) + OHLCX_US_PER_DAY;
}


/* The close-to-close checks of bar k with a valid close and a new open
 * time: extreme_move, price_scale_jump, split_like_jump. */
static void check_return(consistency_pass *p, size_t k)
{
    const ohlcx_series *v = &p->ctx->view->bars;
    double close = v->close[k], open = v->open[k], ratio;
    int new_day = v->open_time[k] >= p->next_day_start;

    p->previous_time = v->open_time[k];
    if (new_day)
        p->next_day_start = next_midnight(v->open_time[k]);
    if (!(p->previous_close > 0)) {
        p->previous_close = close;
        return;
    }
    ratio = close / p->previous_close;
    if (fabs(log(ratio)) > JUMP_PREFILTER)
        check_scale_jump(p->ctx, &p->checks[CHECK_PRICE_SCALE_JUMP], k, ratio);
    if (p->split_check && new_day && valid_price(open) &&
        fabs(log(open / p->previous_close)) > JUMP_PREFILTER)
        check_split(p->ctx, &p->checks[CHECK_SPLIT_LIKE_JUMP], k, open / p->previous_close);
    if (ratio > p->returns.high || ratio < p->returns.low)
        add_extreme(p, k, ratio);
    /* A ratio of 0 or inf (a close that underflows or overflows the
     * quotient) would have an infinite log, which no threshold can use. */
    if (ratio > 0 && ratio < INFINITY)
        push_return(p, ratio);
    p->previous_close = close;
}


/* Every check of bar k, one rule at a time. */
static void check_bar_slowly(consistency_pass *p, size_t k)
{
    const ohlcx_series *v = &p->ctx->view->bars;
    double volume = v->volume[k];

    if (volume == 0) {
        p->zero_run++;
    } else {
        end_zero_run(p, k);
    }
    if (!(volume >= 0 && volume < INFINITY))
        check_add(&p->checks[CHECK_NEGATIVE_VOLUME], check_row(p->ctx, k), v->open_time[k],
                  volume, "volume %g", volume);
    else
        push_volume(p, k, volume);
    check_row_prices(p->ctx, p->checks, k);

    /* A row that repeats an open time adds no return: counting its zero
     * return would shrink the MAD and inflate every other move. */
    if (valid_price(v->close[k]) && v->open_time[k] != p->previous_time)
        check_return(p, k);
}


/* Returns 1 when bar k can take the fast path: consistent valid prices
 * that are not all equal, a volume above 0, a new open time and, for
 * stocks, the same UTC day as the bar before. Comparisons with NaN are
 * false, so a NaN anywhere sends the bar to the slow path. */
static int bar_is_plain(const consistency_pass *p, const ohlcx_series *v, size_t k)
{
    double o = v->open[k], h = v->high[k], l = v->low[k], c = v->close[k];
    double volume = v->volume[k];
    int64_t t = v->open_time[k];

    return (l > 0) & (h < INFINITY) & (l <= o) & (l <= c) & (o <= h) & (c <= h) & (l < h) &
           (volume > 0) & (volume < INFINITY) & (t != p->previous_time) &
           (!p->split_check | (t < p->next_day_start));
}


static void check_bars(consistency_pass *p)
{
    const ohlcx_series *v = &p->ctx->view->bars;
    size_t k;

    for (k = 0; k < v->n; k++) {
        double ratio;

        if (!bar_is_plain(p, v, k) || p->zero_run > 0) {
            check_bar_slowly(p, k);
            continue;
        }
        ratio = v->close[k] / p->previous_close; /* NaN before the first close */
        if (!(ratio > p->fast_low && ratio < p->fast_high)) {
            push_volume(p, k, v->volume[k]);
            check_return(p, k);
            continue;
        }
        push_volume(p, k, v->volume[k]);
        push_return(p, ratio);
        p->previous_close = v->close[k];
        p->previous_time = v->open_time[k];
    }
    end_zero_run(p, k);
}


int check_consistency(const check_context *ctx, ohlcx_check_result *checks)
{
    consistency_pass pass;
    int status;

    memset(&pass, 0, sizeof pass);
    pass.ctx = ctx;
    pass.checks = checks;
    pass.split_check = ctx->given->asset_class == OHLCX_ASSET_STOCKS;
    pass.previous_close = NAN;
    pass.previous_time = INT64_MIN;
    pass.next_day_start = INT64_MIN;
    pass.volumes.limit = INFINITY;
    status = return_window_init(&pass.returns, (size_t)ctx->options->z_window,
                                ctx->options->z_threshold);
    if (status == 0) {
        pass_update_fast_range(&pass);
        check_bars(&pass);
    }
    free(pass.returns.block);
    return status;
}
