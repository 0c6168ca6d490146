/*
 * Price and volume checks: invalid prices, OHLC relations, extreme moves,
 * price scale and split-like jumps, volume rules and flat bars.
 *
 * All of them run in one pass over the time-ordered view, which the stream
 * (stream.c) resumes chunk by chunk. A plain bar
 * takes the fast path: valid, consistent prices that are not all equal,
 * volume above 0 and below the spike limit, a new open time and a
 * close-to-close ratio inside the thresholds. Its ratio and volume are
 * stored in the blocks, and nothing else happens. Runs of such bars are
 * checked a group of eight at a time in vector registers, and a group that
 * contains any other bar is checked bar by bar. Any other bar takes the slow
 * path, which runs each rule on its own and formats examples.
 *
 * Sequence checks compare each bar with the last bar that has a valid
 * close. extreme_move and volume_spike compare a bar with statistics of a
 * hopping window. The returns (or volumes) are cut into consecutive blocks
 * of w, and every value of block b is compared with the median and MAD (or
 * median) of block b - 1, that is with the w to 2w - 1 values before it.
 * When a block fills, block_stats.c finds its middle values among those
 * near the middle of the block before, in O(w) when they hold it and
 * O(w log w) at worst, so a bar costs O(1) amortised in the usual case.
 * The first block, which has no block before it, is judged by its own
 * median and MAD (or median) in a pre-pass (check_first_block(),
 * check_first_volumes()).
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
#define FIRST_BLOCK_MIN 20 /* returns a first block needs before it is judged */
#define SPIKE_FACTOR 20.0

/* A jump needs |log ratio| above this before the ratio tables are read:
 * every ratio they hold (2 - 3% and up, 1 / 1.94 and down) is beyond it. */
#define JUMP_PREFILTER 0.6

/* Bars that the fast path checks at once: eight lanes of doubles, one
 * AVX-512 register. */
#define GROUP 8

typedef double group_values __attribute__((vector_size(GROUP * sizeof(double))));
typedef int64_t group_ints __attribute__((vector_size(GROUP * sizeof(int64_t))));

/* Ratio thresholds from the last full block of returns. A ratio outside
 * [low, high] is an extreme move; [low, high] is [0, inf] before the first
 * block fills and after a block with MAD 0. */
typedef struct return_window {
    double *block;   /* ratios of the block being filled */
    double *scratch; /* 2 * capacity doubles for the selection */
    size_t fill;
    size_t capacity;
    double median, mad; /* log-return statistics of the last full block */
    check_bracket brackets[2]; /* of the median and of the MAD */
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
    check_bracket bracket;
} volume_window;

/* State of the pass over the view, or over the views of a stream in turn. */
struct consistency_pass {
    const check_context *ctx;
    ohlcx_check_result *checks;
    return_window returns;
    volume_window volumes;
    int split_check;         /* stocks only */
    double previous_close;   /* last valid close, NaN before the first */
    int64_t previous_time;   /* open time of that close */
    int64_t next_day_start;  /* UTC midnight after the last new day */
    size_t zero_run;         /* zero-volume bars ending at the bar before */
    size_t zero_run_row;     /* row as given of the first bar of that run */
    int64_t zero_run_time;   /* and its open time */
    double fast_low, fast_high; /* ratios in (fast_low, fast_high) need no slow path */
};


static int valid_price(double price)
{
    return price > 0 && price < INFINITY; /* false for NaN too */
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

    check_log_median_mad(w->block, w->capacity, w->scratch, w->brackets, &w->median,
                         &w->mad);
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
    w->median = check_median(w->block, SPIKE_WINDOW, w->scratch, &w->bracket);
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


/* Ends the run of zero volumes before the current bar. The run may have
 * begun in a view before the current one, so its first row is kept. */
static void end_zero_run(consistency_pass *p)
{
    if (p->zero_run >= ZERO_VOLUME_RUN_MIN)
        check_add(&p->checks[CHECK_ZERO_VOLUME_RUN], p->zero_run_row, p->zero_run_time,
                  (double)p->zero_run, "%zu bars in a row with volume 0", p->zero_run);
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


/* Records bar k as an extreme move with its robust z-score against a
 * median and MAD of log returns. */
static void add_extreme_against(consistency_pass *p, size_t k, double ratio, double median,
                                double mad)
{
    double r = log(ratio), z = fabs(r - median) / (MAD_TO_SIGMA * mad);

    check_add(&p->checks[CHECK_EXTREME_MOVE], check_row(p->ctx, k),
              p->ctx->view->bars.open_time[k], z,
              "log return %.4g, rolling median %.3g, MAD %.3g", r, median, mad);
}


/* Robust z-score of the log return of bar k against the last full block. */
static void add_extreme(consistency_pass *p, size_t k, double ratio)
{
    add_extreme_against(p, k, ratio, p->returns.median, p->returns.mad);
}


/* Collects up to capacity returns that the main pass would put in the
 * first block (a valid close, a new open time, a finite ratio to the last
 * valid close) and their view rows, and returns their count. ratios and
 * rows may be NULL to count only. */
static size_t collect_first_returns(const ohlcx_series *v, size_t capacity, double *ratios,
                                    size_t *rows)
{
    double previous_close = NAN;
    int64_t previous_time = INT64_MIN;
    size_t count = 0;

    for (size_t k = 0; k < v->n && count < capacity; k++) {
        double close = v->close[k], ratio;

        if (!valid_price(close) || v->open_time[k] == previous_time)
            continue;
        previous_time = v->open_time[k];
        ratio = close / previous_close;
        previous_close = close;
        if (ratio > 0 && ratio < INFINITY) { /* false for the first close: NaN */
            if (ratios != NULL) {
                ratios[count] = ratio;
                rows[count] = k;
            }
            count++;
        }
    }
    return count;
}


/* Collects up to SPIKE_WINDOW volumes that the main pass would put in the
 * first block (finite and not negative) and their view rows, and returns
 * their count. volumes and rows may be NULL to count only. */
static size_t collect_first_volumes(const ohlcx_series *v, double *volumes, size_t *rows)
{
    size_t count = 0;

    for (size_t k = 0; k < v->n && count < SPIKE_WINDOW; k++) {
        if (!(v->volume[k] >= 0 && v->volume[k] < INFINITY))
            continue;
        if (volumes != NULL) {
            volumes[count] = v->volume[k];
            rows[count] = k;
        }
        count++;
    }
    return count;
}


int check_first_blocks_complete(const ohlcx_series *series, size_t z_window)
{
    return collect_first_returns(series, z_window, NULL, NULL) == z_window &&
           collect_first_volumes(series, NULL, NULL) == SPIKE_WINDOW;
}


/*
 * Judges the first block by its own median and MAD, because it has no
 * block before it. Runs before the main pass on the returns that the main
 * pass would put in the first block. Those beyond the z threshold are
 * recorded. A first block of fewer than FIRST_BLOCK_MIN returns (a short
 * file) is too small for a robust scale and is skipped.
 */
static int check_first_block(consistency_pass *p)
{
    const ohlcx_series *v = &p->ctx->view->bars;
    return_window *w = &p->returns;
    double *ratios = malloc(w->capacity * sizeof *ratios);
    size_t *rows = malloc(w->capacity * sizeof *rows);
    double median, mad;
    size_t count;

    if (ratios == NULL || rows == NULL) {
        free(ratios);
        free(rows);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for a window of %zu returns",
                               w->capacity);
    }
    count = collect_first_returns(v, w->capacity, ratios, rows);
    if (count >= FIRST_BLOCK_MIN) {
        memcpy(w->block, ratios, count * sizeof *ratios);
        check_log_median_mad(w->block, count, w->scratch, NULL, &median, &mad);
        if (mad > 0) {
            double spread = w->z_threshold * MAD_TO_SIGMA * mad;
            double low = exp(median - spread), high = exp(median + spread);

            for (size_t i = 0; i < count; i++)
                if (ratios[i] > high || ratios[i] < low)
                    add_extreme_against(p, rows[i], ratios[i], median, mad);
        }
    }
    free(ratios);
    free(rows);
    return 0;
}


/* Judges the first SPIKE_WINDOW valid volumes (finite and not negative, as
 * the main pass takes them) by their own median, like the first block of
 * returns, when there are at least FIRST_BLOCK_MIN of them. */
static void check_first_volumes(consistency_pass *p)
{
    const ohlcx_series *v = &p->ctx->view->bars;
    volume_window *w = &p->volumes;
    double volumes[SPIKE_WINDOW], median;
    size_t rows[SPIKE_WINDOW], count = collect_first_volumes(v, volumes, rows);

    if (count < FIRST_BLOCK_MIN)
        return;
    median = check_median(volumes, count, w->scratch, NULL);
    if (!(median > 0))
        return;
    for (size_t i = 0; i < count; i++)
        if (volumes[i] > SPIKE_FACTOR * median)
            check_add(&p->checks[CHECK_VOLUME_SPIKE], check_row(p->ctx, rows[i]),
                      v->open_time[rows[i]], volumes[i] / median,
                      "volume %g is %.1f times the rolling median %g", volumes[i],
                      volumes[i] / median, median);
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
        if (p->zero_run == 0) {
            p->zero_run_row = check_row(p->ctx, k);
            p->zero_run_time = v->open_time[k];
        }
        p->zero_run++;
    } else {
        end_zero_run(p);
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


/* Every check of bar k: the fast path when the bar is plain and its ratio
 * needs neither the extreme-move nor the jump check, else the slow one. */
static void check_bar(consistency_pass *p, const ohlcx_series *v, size_t k)
{
    double ratio;

    if (!bar_is_plain(p, v, k) || p->zero_run > 0) {
        check_bar_slowly(p, k);
        return;
    }
    ratio = v->close[k] / p->previous_close; /* NaN before the first close */
    if (!(ratio > p->fast_low && ratio < p->fast_high)) {
        push_volume(p, k, v->volume[k]);
        check_return(p, k);
        return;
    }
    push_volume(p, k, v->volume[k]);
    push_return(p, ratio);
    p->previous_close = v->close[k];
    p->previous_time = v->open_time[k];
}


/*
 * Takes the fast path for the count <= GROUP bars from k (k >= 1,
 * k + GROUP <= n) at once when every one of them could take it alone, and
 * returns 1, else returns 0 and changes nothing. Within such a group the
 * bar before each bar is plain, so its close is the last valid close and
 * its open time the last one. count never reaches past the end of a block,
 * so every bar of the group is compared with the same thresholds and
 * spike limit. The comparisons run on GROUP lanes of GCC's generic
 * vectors, so the compiler uses the widest registers the target has.
 */
static int check_group(consistency_pass *p, const ohlcx_series *v, size_t k, size_t count)
{
    static const group_ints lane = {0, 1, 2, 3, 4, 5, 6, 7};
    group_values open, high, low, close, volume, previous_close, ratio;
    group_ints open_time, previous_time, plain;
    int64_t every = -1;
    size_t last = count - 1;

    memcpy(&open, v->open + k, sizeof open);
    memcpy(&high, v->high + k, sizeof high);
    memcpy(&low, v->low + k, sizeof low);
    memcpy(&close, v->close + k, sizeof close);
    memcpy(&volume, v->volume + k, sizeof volume);
    memcpy(&open_time, v->open_time + k, sizeof open_time);
    memcpy(&previous_close, v->close + k - 1, sizeof previous_close);
    memcpy(&previous_time, v->open_time + k - 1, sizeof previous_time);
    previous_close[0] = p->previous_close;
    previous_time[0] = p->previous_time;
    ratio = close / previous_close;

    plain = (low > 0) & (high < INFINITY) & (low <= open) & (low <= close) & (open <= high) &
            (close <= high) & (low < high) & (volume > 0) & (volume <= p->volumes.limit) &
            (volume < INFINITY) & (open_time != previous_time) & (ratio > p->fast_low) &
            (ratio < p->fast_high);
    if (p->split_check)
        plain &= open_time < p->next_day_start;
    plain |= lane >= (int64_t)count; /* lanes past the group pass */
    for (size_t i = 0; i < GROUP; i++) /* no early exit, so no branch per lane */
        every &= plain[i];
    if (every == 0)
        return 0;

    memcpy(p->returns.block + p->returns.fill, &ratio, count * sizeof *p->returns.block);
    memcpy(p->volumes.block + p->volumes.fill, &volume, count * sizeof *p->volumes.block);
    p->previous_close = close[last];
    p->previous_time = open_time[last];
    p->returns.fill += count;
    p->volumes.fill += count;
    if (p->returns.fill == p->returns.capacity) {
        return_window_roll(&p->returns);
        pass_update_fast_range(p);
    }
    if (p->volumes.fill == SPIKE_WINDOW)
        volume_window_roll(&p->volumes);
    return 1;
}


static void check_bars(consistency_pass *p)
{
    const ohlcx_series *v = &p->ctx->view->bars;
    size_t k = 0;

    while (k < v->n) {
        size_t count = GROUP;

        if (p->returns.capacity - p->returns.fill < count)
            count = p->returns.capacity - p->returns.fill;
        if (SPIKE_WINDOW - p->volumes.fill < count)
            count = SPIKE_WINDOW - p->volumes.fill;
        if (k > 0 && k + GROUP <= v->n && p->zero_run == 0 && check_group(p, v, k, count)) {
            k += count;
            continue;
        }
        check_bar(p, v, k);
        k++;
    }
}


void check_consistency_free(consistency_pass *pass)
{
    if (pass == NULL)
        return;
    free(pass->returns.block);
    free(pass);
}


int check_consistency_begin(const check_context *ctx, ohlcx_check_result *checks,
                            consistency_pass **out)
{
    consistency_pass *pass = calloc(1, sizeof *pass);
    int status;

    *out = NULL;
    if (pass == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory starting the price checks");
    pass->ctx = ctx;
    pass->checks = checks;
    pass->split_check = ctx->given->asset_class == OHLCX_ASSET_STOCKS;
    pass->previous_close = NAN;
    pass->previous_time = INT64_MIN;
    pass->next_day_start = INT64_MIN;
    pass->volumes.limit = INFINITY;
    status = return_window_init(&pass->returns, (size_t)ctx->options->z_window,
                                ctx->options->z_threshold);
    if (status == 0) {
        pass_update_fast_range(pass);
        status = check_first_block(pass);
    }
    if (status != 0) {
        check_consistency_free(pass);
        return status;
    }
    check_first_volumes(pass);
    *out = pass;
    return 0;
}


void check_consistency_run(consistency_pass *pass)
{
    check_bars(pass);
}


void check_consistency_end(consistency_pass *pass)
{
    end_zero_run(pass);
}


int check_consistency(const check_context *ctx, ohlcx_check_result *checks)
{
    consistency_pass *pass;
    int status = check_consistency_begin(ctx, checks, &pass);

    if (status != 0)
        return status;
    check_consistency_run(pass);
    check_consistency_end(pass);
    check_consistency_free(pass);
    return 0;
}
