/*
 * Dataset: chronological splits with purge gaps, and next-bar labels.
 *
 * A split is pure arithmetic on the sample count M = n - horizon - first, laid
 * out as dataset.h states: the three gaps of g = window + horizon samples are
 * set aside first, and the fractions divide the M' = M - 3g samples outside
 * them. So the window changes the part sizes only through M', and with the
 * default fractions every part is non-empty from M' = 7 on.
 *
 * No part but test ever shrinks as M' grows. The test part M' - T - V shrinks
 * by one sample when floor(M' * train_fraction) and floor(M' * val_fraction)
 * step up together, and it reaches 0 only when 1 - train_fraction -
 * val_fraction is about as small as the 1e-9 added before rounding. The
 * minimum that an error names is therefore computed as the n from which
 * every longer series fits, not as the smallest n that fits.
 */
#include <math.h>
#include <stdint.h>

#include "ohlcx/dataset.h"
#include "ohlcx/error.h"
#include "ohlcx/features.h"

/* Added before rounding down, so that a product such as 650 * 0.7, which is
 * 454.99999999999994 in binary floating point, counts as the decimal 455. */
#define FRACTION_EPSILON 1e-9

/* Sample counts of the four parts, signed so that a series that is too short
 * shows up as a count below 1. */
typedef struct part_sizes {
    int64_t train_span; /* T: cnn_train and xgb_train, without the gap between */
    int64_t size[OHLCX_PART_COUNT];
} part_sizes;


void ohlcx_split_options_default(ohlcx_split_options *options)
{
    options->window = 64;
    options->horizon = 1;
    options->train_fraction = 0.70;
    options->val_fraction = 0.15;
    options->stack_fraction = 0.40;
}


const char *ohlcx_part_name(int part)
{
    switch (part) {
    case OHLCX_PART_NONE:
        return "gap";
    case OHLCX_PART_CNN_TRAIN:
        return "cnn_train";
    case OHLCX_PART_XGB_TRAIN:
        return "xgb_train";
    case OHLCX_PART_VALIDATION:
        return "validation";
    case OHLCX_PART_TEST:
        return "test";
    default:
        return "unknown";
    }
}


static int check_fraction(const char *name, double value)
{
    if (!(value > 0 && value < 1))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid %s %g: use a value between 0 and 1, "
                                             "both excluded",
                               name, value);
    return 0;
}


static int check_options(const ohlcx_split_options *options)
{
    int status = 0;

    if (options->window < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid window %d: use at least 1 bar",
                               options->window);
    if (options->horizon < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid horizon %d: use at least 1 bar",
                               options->horizon);
    status = check_fraction("train_fraction", options->train_fraction);
    if (status == 0)
        status = check_fraction("val_fraction", options->val_fraction);
    if (status == 0)
        status = check_fraction("stack_fraction", options->stack_fraction);
    if (status != 0)
        return status;
    if (!(options->train_fraction + options->val_fraction < 1))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid train_fraction %g + val_fraction %g: their sum must be "
                               "below 1 to leave samples for the test part",
                               options->train_fraction, options->val_fraction);
    return 0;
}


static int64_t fraction_of(int64_t count, double fraction)
{
    return (int64_t)floor((double)count * fraction + FRACTION_EPSILON);
}


static int64_t gap_of(const ohlcx_split_options *options)
{
    return (int64_t)options->window + options->horizon;
}


static size_t first_sample(const ohlcx_split_options *options)
{
    return options->window > OHLCX_FEATURE_WARMUP ? (size_t)options->window
                                                  : (size_t)OHLCX_FEATURE_WARMUP;
}


/* Splits the samples outside the three gaps by the fractions. */
static part_sizes sizes_of(int64_t samples, const ohlcx_split_options *options)
{
    int64_t outside = samples - 3 * gap_of(options);
    int64_t validation = 0, stack = 0;
    part_sizes sizes;

    if (outside < 0)
        outside = 0;
    sizes.train_span = fraction_of(outside, options->train_fraction);
    stack = fraction_of(sizes.train_span, options->stack_fraction);
    validation = fraction_of(outside, options->val_fraction);

    sizes.size[OHLCX_PART_CNN_TRAIN] = sizes.train_span - stack;
    sizes.size[OHLCX_PART_XGB_TRAIN] = stack;
    sizes.size[OHLCX_PART_VALIDATION] = validation;
    sizes.size[OHLCX_PART_TEST] = outside - sizes.train_span - validation;
    return sizes;
}


static int sizes_fit(const part_sizes *sizes)
{
    for (int part = 0; part < OHLCX_PART_COUNT; part++)
        if (sizes->size[part] < 1)
            return 0;
    return 1;
}


/* Returns a count of samples outside the gaps from which every larger count
 * fits. Each bound makes one part non-empty even after rounding down, and 2
 * more absorb the rounding of the bounds themselves. */
static double sufficient_outside(const ohlcx_split_options *options)
{
    double train = options->train_fraction, stack = options->stack_fraction;
    double bounds[] = {
        (1 / (1 - stack) + 1) / train,           /* cnn_train */
        (1 / stack + 1) / train,                 /* xgb_train */
        1 / options->val_fraction,               /* validation */
        1 / (1 - train - options->val_fraction), /* test */
    };
    double bound = 0;

    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        if (bounds[i] > bound)
            bound = bounds[i];
    return ceil(bound) + 2;
}


/* Returns the number of bars from which every longer series fits, by walking
 * down from a sufficient sample count to the largest count that does not. */
static double minimum_bars(const ohlcx_split_options *options)
{
    double outside = sufficient_outside(options);
    double gaps = 3 * (double)gap_of(options);
    double overhead = (double)(first_sample(options) + (size_t)options->horizon);
    int64_t samples = 0;

    /* NOTE: the walk takes one step per sample count, an estimated 10 ns each
     * at -O2 on x86-64, so a sufficient count near 2^40 (from a fraction, or 1 -
     * train_fraction - val_fraction, near 1e-12) would take hours. Beyond
     * 2^40 the sufficient count is reported as it is, possibly far above the
     * real minimum. */
    if (outside > 0x1p40)
        return outside + gaps + overhead;
    samples = (int64_t)(outside + gaps) - 1;
    while (samples > 0) {
        part_sizes sizes = sizes_of(samples, options);

        if (!sizes_fit(&sizes))
            break;
        samples--;
    }
    return (double)(samples + 1) + overhead;
}


static void set_bounds(ohlcx_split *out, int part, size_t first, int64_t begin, int64_t end)
{
    out->begin[part] = first + (size_t)begin;
    out->end[part] = first + (size_t)end;
}


int ohlcx_split_series(size_t n, const ohlcx_split_options *options, ohlcx_split *out)
{
    size_t first = 0, horizon = 0;
    int64_t samples = 0, gap = 0, train = 0, cnn_train = 0, validation = 0;
    part_sizes sizes;
    int status = 0;

    if (options == NULL || out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_split_series: %s is NULL",
                               options == NULL ? "options" : "out");
    status = check_options(options);
    if (status != 0)
        return status;

    first = first_sample(options);
    horizon = (size_t)options->horizon;
    samples = n > first + horizon ? (int64_t)(n - first - horizon) : 0;
    sizes = sizes_of(samples, options);
    if (!sizes_fit(&sizes))
        return ohlcx_set_error(OHLCX_EDATA,
                               "series of %zu bars is too short to split: window %d, horizon "
                               "%d, train %g, validation %g and XGBoost's share of train %g "
                               "need at least %.0f bars; use a longer series or a smaller "
                               "window",
                               n, options->window, options->horizon, options->train_fraction,
                               options->val_fraction, options->stack_fraction,
                               minimum_bars(options));

    /* Each part after the first starts one more gap further on. */
    gap = gap_of(options);
    train = sizes.train_span;
    cnn_train = sizes.size[OHLCX_PART_CNN_TRAIN];
    validation = sizes.size[OHLCX_PART_VALIDATION];
    set_bounds(out, OHLCX_PART_CNN_TRAIN, first, 0, cnn_train);
    set_bounds(out, OHLCX_PART_XGB_TRAIN, first, cnn_train + gap, train + gap);
    set_bounds(out, OHLCX_PART_VALIDATION, first, train + 2 * gap, train + 2 * gap + validation);
    set_bounds(out, OHLCX_PART_TEST, first, train + validation + 3 * gap, samples);
    return 0;
}


int ohlcx_label(const ohlcx_series *series, size_t t, int horizon)
{
    if (series == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_label: series is NULL");
    if (horizon < 1 || t >= series->n || (size_t)horizon >= series->n - t)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid label at bar %zu with horizon %d in a series of %zu "
                               "bars: need horizon >= 1 and t + horizon < n",
                               t, horizon, series->n);
    return series->close[t + (size_t)horizon] > series->close[t] ? 1 : 0;
}


int ohlcx_sample_crosses_gap(size_t t, int window, int horizon, const size_t *gap_rows,
                             size_t gap_count)
{
    size_t before = window > 0 ? (size_t)window : 0;
    size_t after = horizon > 0 ? (size_t)horizon : 0;
    size_t first = t + 1 > before ? t + 1 - before : 0;
    size_t low = 0, high = gap_count;

    /* Find the first gap row at or after t - window + 1. */
    while (low < high) {
        size_t middle = low + (high - low) / 2;

        if (gap_rows[middle] < first)
            low = middle + 1;
        else
            high = middle;
    }
    return low < gap_count && gap_rows[low] <= t + after;
}


static int check_walk_forward(const ohlcx_split_options *options,
                              const ohlcx_walk_forward_options *walk)
{
    int status = 0;

    if (options == NULL || walk == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "walk-forward: %s is NULL",
                               options == NULL ? "options" : "walk");
    status = check_options(options);
    if (status != 0)
        return status;
    if (walk->train_period < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --train-period %lld: use at least 1 bar",
                               (long long)walk->train_period);
    if (walk->test_period < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --test-period %lld: use at least 1 bar",
                               (long long)walk->test_period);
    if (walk->retrain_every != 0 && walk->retrain_every < walk->test_period)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid --retrain-every %lld: use at least --test-period %lld, "
                               "so that test periods do not overlap",
                               (long long)walk->retrain_every, (long long)walk->test_period);
    if (walk->embargo < 0)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --embargo %lld: use 0 or more bars",
                               (long long)walk->embargo);
    return 0;
}


static int64_t retrain_step(const ohlcx_walk_forward_options *walk)
{
    return walk->retrain_every > 0 ? walk->retrain_every : walk->test_period;
}


/* Returns the first test sample of a fold, as an offset from first. */
static int64_t fold_test_begin(const ohlcx_split_options *options,
                               const ohlcx_walk_forward_options *walk, int64_t fold)
{
    return walk->train_period + gap_of(options) + fold * retrain_step(walk);
}


int ohlcx_walk_forward_count(size_t n, const ohlcx_split_options *options,
                             const ohlcx_walk_forward_options *walk, size_t *count)
{
    int64_t samples = 0, room = 0;
    size_t first = 0;
    int status = check_walk_forward(options, walk);

    if (status == 0 && count == NULL)
        status = ohlcx_set_error(OHLCX_EINVAL, "ohlcx_walk_forward_count: count is NULL");
    if (status != 0)
        return status;
    first = first_sample(options);
    samples = n > first + (size_t)options->horizon
                  ? (int64_t)(n - first - (size_t)options->horizon)
                  : 0;
    room = samples - fold_test_begin(options, walk, 0) - walk->test_period;
    *count = room < 0 ? 0 : (size_t)(room / retrain_step(walk)) + 1;
    return 0;
}


int ohlcx_walk_forward_fold(size_t n, const ohlcx_split_options *options,
                            const ohlcx_walk_forward_options *walk, size_t fold,
                            ohlcx_split *out)
{
    int64_t gap = 0, test_begin = 0, train_begin = 0, train_end = 0, outside = 0;
    int64_t validation = 0, train = 0, stack = 0;
    size_t count = 0, first = 0;
    int status = ohlcx_walk_forward_count(n, options, walk, &count);

    if (status == 0 && out == NULL)
        status = ohlcx_set_error(OHLCX_EINVAL, "ohlcx_walk_forward_fold: out is NULL");
    if (status == 0 && fold >= count)
        status = ohlcx_set_error(OHLCX_EINVAL,
                                 "walk-forward fold %zu does not exist: a series of %zu bars "
                                 "has %zu folds",
                                 fold, n, count);
    if (status != 0)
        return status;

    first = first_sample(options);
    gap = gap_of(options);
    test_begin = fold_test_begin(options, walk, (int64_t)fold);
    train_end = test_begin - gap;
    train_begin = walk->expanding ? 0 : train_end - walk->train_period;

    /* The training range splits as a series does, without the test part. */
    outside = train_end - train_begin - 2 * gap;
    if (outside < 0)
        outside = 0;
    validation = fraction_of(outside, options->val_fraction /
                                          (options->train_fraction + options->val_fraction));
    train = outside - validation;
    stack = fraction_of(train, options->stack_fraction);
    if (train - stack < 1 || stack < 1 || validation < 1)
        return ohlcx_set_error(OHLCX_EDATA,
                               "walk-forward training range of %lld samples is too short: "
                               "after two purge gaps of %lld samples, cnn_train, xgb_train and "
                               "validation each need at least one; use a longer "
                               "--train-period",
                               (long long)(train_end - train_begin), (long long)gap);

    set_bounds(out, OHLCX_PART_CNN_TRAIN, first, train_begin, train_begin + train - stack);
    set_bounds(out, OHLCX_PART_XGB_TRAIN, first, train_begin + train - stack + gap,
               train_begin + train + gap);
    set_bounds(out, OHLCX_PART_VALIDATION, first, train_end - validation, train_end);
    set_bounds(out, OHLCX_PART_TEST, first, test_begin, test_begin + walk->test_period);
    return 0;
}


int ohlcx_walk_forward_embargoed(size_t t, const ohlcx_split_options *options,
                                 const ohlcx_walk_forward_options *walk, size_t fold)
{
    int64_t step = retrain_step(walk);
    int64_t first_end = (int64_t)first_sample(options) + fold_test_begin(options, walk, 0) +
                        walk->test_period;
    int64_t since = (int64_t)t - first_end;
    int64_t j = 0;

    if (since < 0 || fold == 0 || walk->embargo <= 0)
        return 0;
    /* j is the latest earlier fold whose test period ends at or before t. */
    j = since / step;
    if (j > (int64_t)fold - 1)
        j = (int64_t)fold - 1;
    for (; j >= 0; j--) {
        int64_t end = first_end + j * step;

        if ((int64_t)t >= end + walk->embargo)
            return 0;
        if ((int64_t)t >= end)
            return 1;
    }
    return 0;
}
