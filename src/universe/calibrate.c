/*
 * Calibration of the plan: rates measured on this machine in one to three
 * seconds, so that the plan's sizes and times are estimates from measured
 * rates rather than constants. Each measurement calls the code that `ohlcx
 * run` calls for that stage.
 *
 * One synthetic series (BTCUSDT 5m, 12 months, about 105,000 bars) feeds
 * every measurement:
 *   store     each column as integer ticks, delta, zigzag, 8 bytes a value,
 *             then zstd level 1, summed over open time, OHLC and volume
 *   features  ohlcx_features_compute over the whole series
 *   windows   ohlcx_window_fill at random bars, for 0.1 s
 *   CNN       after a warm-up epoch on 512 windows, epochs of the default
 *             network on 4,000 random windows for 1 s, then embedding the
 *             same windows (forward only) for 0.25 s
 *   XGBoost   both models of the run (with the CNN columns, and the baseline
 *             without them) through ohlcx_gbdt_train_source, as the run
 *             trains them: 1 and 12 rounds on 8,000 and on 32,000 training
 *             rows. Validation rows in the run's proportion are scored
 *             after every round. The four times give each model's setup
 *             cost per row, its cost per round and its cost per round and
 *             row.
 *
 * NOTE: the store rate uses this file's encoding, which follows the store's
 * intended scheme but is not the store module's code, and synthetic prices
 * are rougher than real ones. On a shared 2-core machine the CNN training
 * rate of two calibrations a minute apart differed by up to 3 times.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "ohlcx/dataset.h"
#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/gbdt.h"
#include "ohlcx/nn.h"
#include "ohlcx/synth.h"
#include "ohlcx/universe.h"
#include "util/util.h"

#define CALIBRATION_SYMBOL "BTCUSDT"
#define CALIBRATION_TIMEFRAME "5m"
#define CALIBRATION_MONTHS 12
#define CALIBRATION_WINDOWS 4000
#define WARMUP_WINDOWS 512
/* The CNN's speed swings by a factor of up to 3 between passes a tenth of a
 * second apart, because its thread pools contend for the cores, and so do
 * other programs. So each rate is the mean over passes that last at least
 * this long, as a run's rate is the mean over its whole training. */
#define CNN_TRAIN_MIN_S 1.0
#define CNN_PREDICT_MIN_S 0.25
#define FILL_MIN_S 0.1
#define MAX_PASSES 20
/* XGBoost has a fixed cost per round besides the cost per row, so the
 * rounds are timed at two sizes, SMALL and 4 x SMALL training rows. */
#define XGB_SMALL_ROWS 8000
#define XGB_SIZES 2
#define XGB_ROUNDS 12
/* Rows read from a source per batch, as the pipeline reads them. */
#define XGB_BATCH_ROWS 16384
#define ZSTD_LEVEL 1
/* Prices and volumes are stored as integer multiples of 10^-k, k <= 8. */
#define MAX_DECIMALS 8
#define ID_COLUMNS 2

/* Buffers of one calibration run, freed together. */
typedef struct calibration {
    ohlcx_series series;
    float *features;    /* n x OHLCX_FEATURE_COUNT */
    float *windows;     /* CALIBRATION_WINDOWS windows */
    float *labels;
    size_t *bars;       /* the bar each window ends at */
    float *embeddings;  /* CALIBRATION_WINDOWS x hidden */
    float *matrix;      /* xgb_rows() XGBoost rows of the combined model */
    float *xgb_labels;
    float *fill_buffer; /* one window */
    ohlcx_cnn *cnn;
    ohlcx_gbdt *gbdt;
} calibration;

/* The XGBoost rows of one model in the calibration matrix: rows first to
 * first + count - 1, without the first `skip` columns (the embedding) for
 * the baseline. */
typedef struct xgb_rows_source {
    const calibration *c;
    size_t first;
    size_t columns;  /* of the matrix */
    size_t skip;
} xgb_rows_source;


static double rate(double count, double seconds)
{
    return count / (seconds > 1e-9 ? seconds : 1e-9);
}


static uint64_t zigzag(int64_t value)
{
    return ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
}


/* Returns 10^k for the smallest k below MAX_DECIMALS at which every value is
 * a whole number of 10^-k steps, else 10^MAX_DECIMALS. */
static double decimal_steps(const double *values, size_t n)
{
    double steps = 1;

    for (int k = 0; k < MAX_DECIMALS; k++, steps *= 10) {
        size_t i = 0;

        while (i < n && fabs(values[i] * steps - round(values[i] * steps)) < 1e-6)
            i++;
        if (i == n)
            return steps;
    }
    return steps;
}


/* Compresses deltas of ticks with zstd and returns the compressed size, or
 * 0 when zstd fails. */
static size_t compress_ticks(const int64_t *ticks, size_t n, uint64_t *encoded, void *out,
                             size_t out_capacity)
{
    size_t size;

    for (size_t i = 0; i < n; i++)
        encoded[i] = zigzag(ticks[i] - (i > 0 ? ticks[i - 1] : 0));
    size = ZSTD_compress(out, out_capacity, encoded, n * sizeof *encoded, ZSTD_LEVEL);
    return ZSTD_isError(size) ? 0 : size;
}


static int measure_store(const ohlcx_series *series, double *bytes_per_bar)
{
    const double *columns[] = {series->open, series->high, series->low, series->close,
                               series->volume};
    size_t n = series->n, capacity = ZSTD_compressBound(n * sizeof(uint64_t)), total;
    int64_t *ticks = malloc(n * sizeof *ticks);
    uint64_t *encoded = malloc(n * sizeof *encoded);
    void *compressed = malloc(capacity);
    int status = 0;

    if (ticks == NULL || encoded == NULL || compressed == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory calibrating the store size");
        goto done;
    }

    total = compress_ticks(series->open_time, n, encoded, compressed, capacity);
    for (size_t c = 0; c < sizeof columns / sizeof *columns; c++) {
        double steps = decimal_steps(columns[c], n);
        size_t size;

        for (size_t i = 0; i < n; i++)
            ticks[i] = llround(columns[c][i] * steps);
        size = compress_ticks(ticks, n, encoded, compressed, capacity);
        total = size > 0 && total > 0 ? total + size : 0;
    }
    if (total == 0)
        status = ohlcx_set_error(OHLCX_ELIB, "zstd failed to compress the calibration series");
    else
        *bytes_per_bar = (double)total / (double)n;

done:
    free(ticks);
    free(encoded);
    free(compressed);
    return status;
}


static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}


/* Fills the windows and labels at random bars that have both. */
static int fill_windows(calibration *c, int window, int horizon)
{
    size_t first = (size_t)(window > OHLCX_FEATURE_WARMUP ? window : OHLCX_FEATURE_WARMUP);
    size_t floats = (size_t)OHLCX_WINDOW_CHANNELS * (size_t)window;
    uint64_t state = 42;
    int status = 0;

    if (c->series.n < first + (size_t)horizon + 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan window %d: the calibration series "
                               "has only %zu bars", window, c->series.n);
    for (size_t i = 0; i < CALIBRATION_WINDOWS && status == 0; i++) {
        size_t t = first + (size_t)(next_random(&state) % (c->series.n - horizon - first));

        c->bars[i] = t;
        status = ohlcx_window_fill(&c->series, t, window, c->windows + i * floats);
        c->labels[i] = (float)ohlcx_label(&c->series, t, horizon);
    }
    return status;
}


/* Returns the validation rows that go with n training rows of XGBoost, in
 * the proportion of the run's parts: validation V = 0.15 M' and xgb_train
 * X = 0.70 x 0.40 M' of the split's default fractions (dataset.h). */
static size_t xgb_validation_rows(size_t n)
{
    ohlcx_split_options split;

    ohlcx_split_options_default(&split);
    return (size_t)((double)n * split.val_fraction /
                    (split.train_fraction * split.stack_fraction));
}


/* Returns the rows of the calibration matrix: the training and validation
 * rows of the largest size. */
static size_t xgb_rows(void)
{
    size_t largest = (size_t)XGB_SMALL_ROWS << 2 * (XGB_SIZES - 1);

    return largest + xgb_validation_rows(largest);
}


static int allocate(calibration *c, int window, int hidden)
{
    size_t floats = (size_t)OHLCX_WINDOW_CHANNELS * (size_t)window;
    size_t columns = (size_t)hidden + OHLCX_FEATURE_COUNT + ID_COLUMNS;

    c->features = malloc(c->series.n * OHLCX_FEATURE_COUNT * sizeof *c->features);
    c->windows = malloc(CALIBRATION_WINDOWS * floats * sizeof *c->windows);
    c->labels = malloc(CALIBRATION_WINDOWS * sizeof *c->labels);
    c->bars = malloc(CALIBRATION_WINDOWS * sizeof *c->bars);
    c->embeddings = malloc(CALIBRATION_WINDOWS * (size_t)hidden * sizeof *c->embeddings);
    c->matrix = malloc(xgb_rows() * columns * sizeof *c->matrix);
    c->xgb_labels = malloc(xgb_rows() * sizeof *c->xgb_labels);
    c->fill_buffer = malloc(floats * sizeof *c->fill_buffer);
    if (c->features == NULL || c->windows == NULL || c->labels == NULL || c->bars == NULL ||
        c->embeddings == NULL || c->matrix == NULL || c->xgb_labels == NULL ||
        c->fill_buffer == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory calibrating the plan");
    return 0;
}


static int measure_features(calibration *c, double *bars_per_s)
{
    double started = ohlcx_now_seconds();
    int status = ohlcx_features_compute(&c->series, c->features);

    *bars_per_s = rate((double)c->series.n, ohlcx_now_seconds() - started);
    return status;
}


/* Times ohlcx_window_fill at random bars, as the run fills each mini-batch:
 * one window at a time from a series far larger than the caches. */
static int measure_fill(calibration *c, int window, double *fills_per_s)
{
    size_t first = (size_t)(window > OHLCX_FEATURE_WARMUP ? window : OHLCX_FEATURE_WARMUP);
    uint64_t state = 7;
    double started = ohlcx_now_seconds(), elapsed = 0;
    size_t fills = 0;
    int status = 0;

    while (status == 0 && elapsed < FILL_MIN_S) {
        for (int i = 0; i < 1000 && status == 0; i++, fills++) {
            size_t t = first + (size_t)(next_random(&state) % (c->series.n - first));

            status = ohlcx_window_fill(&c->series, t, window, c->fill_buffer);
        }
        elapsed = ohlcx_now_seconds() - started;
    }
    *fills_per_s = rate((double)fills, elapsed);
    return status;
}


static int measure_cnn(calibration *c, int window, ohlcx_plan_rates *out)
{
    ohlcx_cnn_config config;
    ohlcx_cnn_train_options options;
    double started, elapsed = 0;
    int passes = 0, status;

    ohlcx_cnn_config_default(&config);
    config.window = window;
    ohlcx_cnn_train_options_default(&options);
    options.max_epochs = 1;
    options.seed = 42;
    c->cnn = ohlcx_cnn_create(&config, options.seed);
    if (c->cnn == NULL)
        return OHLCX_EINVAL;

    /* A warm-up epoch starts OpenBLAS's and oneDNN's threads and builds
     * oneDNN's kernels, which the run does once for all its CNNs. */
    status = ohlcx_cnn_train(c->cnn, c->windows, c->labels, WARMUP_WINDOWS, NULL, NULL, 0,
                             &options, NULL);

    started = ohlcx_now_seconds();
    while (status == 0 && elapsed < CNN_TRAIN_MIN_S && passes < MAX_PASSES) {
        status = ohlcx_cnn_train(c->cnn, c->windows, c->labels, CALIBRATION_WINDOWS, NULL,
                                 NULL, 0, &options, NULL);
        passes++;
        elapsed = ohlcx_now_seconds() - started;
    }
    out->cnn_train_samples_per_s = rate((double)CALIBRATION_WINDOWS * passes, elapsed);

    passes = 0;
    elapsed = 0;
    started = ohlcx_now_seconds();
    while (status == 0 && elapsed < CNN_PREDICT_MIN_S && passes < MAX_PASSES) {
        status = ohlcx_cnn_predict(c->cnn, c->windows, CALIBRATION_WINDOWS, NULL,
                                   c->embeddings);
        passes++;
        elapsed = ohlcx_now_seconds() - started;
    }
    out->cnn_embed_samples_per_s = rate((double)CALIBRATION_WINDOWS * passes, elapsed);
    return status;
}


/* Lays out the rows of the combined model as the pipeline's: embedding,
 * features, timeframe id and asset class id. Row i takes the features and
 * label of consecutive bars from the warm-up on and the embedding of window
 * i modulo CALIBRATION_WINDOWS, as there are fewer embeddings than rows. */
static int fill_xgb_matrix(calibration *c, int horizon)
{
    int hidden = ohlcx_cnn_get_config(c->cnn)->hidden;
    size_t columns = (size_t)hidden + OHLCX_FEATURE_COUNT + ID_COLUMNS;

    if (c->series.n < OHLCX_FEATURE_WARMUP + xgb_rows() + (size_t)horizon)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan horizon %d: the calibration series "
                               "has only %zu bars", horizon, c->series.n);
    for (size_t i = 0; i < xgb_rows(); i++) {
        size_t t = OHLCX_FEATURE_WARMUP + i;
        float *row = c->matrix + i * columns;

        memcpy(row, c->embeddings + (i % CALIBRATION_WINDOWS) * (size_t)hidden,
               (size_t)hidden * sizeof *row);
        memcpy(row + hidden, c->features + t * OHLCX_FEATURE_COUNT,
               OHLCX_FEATURE_COUNT * sizeof *row);
        row[columns - 2] = (float)ohlcx_timeframe_id(CALIBRATION_TIMEFRAME);
        row[columns - 1] = (float)OHLCX_ASSET_CRYPTO;
        c->xgb_labels[i] = (float)ohlcx_label(&c->series, t, horizon);
    }
    return 0;
}


static int fill_xgb_rows(void *context, size_t first, size_t count, float *x, float *y)
{
    const xgb_rows_source *source = context;
    size_t width = source->columns - source->skip;

    for (size_t i = 0; i < count; i++) {
        size_t row = source->first + first + i;

        memcpy(x + i * width, source->c->matrix + row * source->columns + source->skip,
               width * sizeof *x);
        y[i] = source->c->xgb_labels[row];
    }
    return 0;
}


/* Stores in *seconds the time of training one model on n rows for `rounds`
 * rounds. Validation is scored after every round, as in the run, but never
 * stops the training. */
static int time_xgb(calibration *c, size_t skip, size_t n, int rounds, int threads,
                    double *seconds)
{
    size_t columns = (size_t)ohlcx_cnn_get_config(c->cnn)->hidden + OHLCX_FEATURE_COUNT +
                     ID_COLUMNS;
    xgb_rows_source train_rows = {c, 0, columns, skip};
    xgb_rows_source validation_rows = {c, n, columns, skip};
    ohlcx_gbdt_source train = {fill_xgb_rows, &train_rows, n};
    ohlcx_gbdt_source validation = {fill_xgb_rows, &validation_rows, xgb_validation_rows(n)};
    ohlcx_gbdt_options options;
    double started = ohlcx_now_seconds();
    int status;

    ohlcx_gbdt_options_default(&options);
    options.max_rounds = rounds;
    options.early_stopping = rounds + 1;
    options.threads = threads;
    ohlcx_gbdt_free(c->gbdt);
    c->gbdt = NULL;
    status = ohlcx_gbdt_train_source(&train, &validation, columns - skip, XGB_BATCH_ROWS,
                                     &options, &c->gbdt);
    *seconds = ohlcx_now_seconds() - started;
    return status;
}


/* Measures one model's costs: for each size, the cost of a round is the
 * difference between XGB_ROUNDS rounds and 1 round, and the rest of the
 * single round is the setup. A line through the two sizes splits the round
 * into its fixed part and its part per row. Noise can make the line's slope
 * or intercept negative; the round then counts as all per row. */
static int measure_xgb_model(calibration *c, size_t skip, int threads,
                             ohlcx_plan_xgb_cost *out)
{
    double rows[XGB_SIZES], round[XGB_SIZES], setup[XGB_SIZES];

    for (int k = 0; k < XGB_SIZES; k++) {
        double one, many;
        int status;

        rows[k] = (double)((size_t)XGB_SMALL_ROWS << 2 * k);
        status = time_xgb(c, skip, (size_t)rows[k], 1, threads, &one);
        if (status == 0)
            status = time_xgb(c, skip, (size_t)rows[k], XGB_ROUNDS, threads, &many);
        if (status != 0)
            return status;
        round[k] = (many - one) / (XGB_ROUNDS - 1);
        if (round[k] <= 0)
            round[k] = many / XGB_ROUNDS;
        setup[k] = one - round[k];
    }

    out->round_s_per_row = (round[1] - round[0]) / (rows[1] - rows[0]);
    out->round_s = round[0] - out->round_s_per_row * rows[0];
    if (out->round_s_per_row <= 0 || out->round_s < 0) {
        out->round_s_per_row = round[1] / rows[1];
        out->round_s = 0;
    }
    out->setup_s_per_row = (setup[1] > 0 ? setup[1] : round[1]) / rows[1];
    return 0;
}


static int measure_xgb(calibration *c, int horizon, int threads, ohlcx_plan_rates *out)
{
    size_t hidden = (size_t)ohlcx_cnn_get_config(c->cnn)->hidden;
    size_t largest = (size_t)XGB_SMALL_ROWS << 2 * (XGB_SIZES - 1);
    const ohlcx_plan_xgb_cost *combined = &out->xgb[OHLCX_PLAN_XGB_COMBINED];
    int status = fill_xgb_matrix(c, horizon);

    if (status == 0)
        status = measure_xgb_model(c, 0, threads, &out->xgb[OHLCX_PLAN_XGB_COMBINED]);
    if (status == 0)
        status = measure_xgb_model(c, hidden, threads, &out->xgb[OHLCX_PLAN_XGB_BASELINE]);
    if (status == 0)
        out->xgb_row_rounds_per_s =
            rate((double)largest, combined->round_s + combined->round_s_per_row * largest);
    return status;
}


static void release(calibration *c)
{
    ohlcx_series_free(&c->series);
    free(c->features);
    free(c->windows);
    free(c->labels);
    free(c->bars);
    free(c->embeddings);
    free(c->matrix);
    free(c->xgb_labels);
    free(c->fill_buffer);
    ohlcx_cnn_free(c->cnn);
    ohlcx_gbdt_free(c->gbdt);
}


int ohlcx_plan_calibrate(const ohlcx_plan_options *options, ohlcx_plan_rates *out)
{
    double started = ohlcx_now_seconds();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = options->jobs;
    ohlcx_synth_options synth_options;
    ohlcx_cnn_config config;
    calibration c;
    int status;

    if (threads <= 0)
        threads = cores > 0 ? (int)cores : 1;

    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    ohlcx_series_init(&c.series);
    if (options->window < 1 || options->horizon < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan window %d or horizon %d: use 1 or "
                               "more", options->window, options->horizon);
    openblas_set_num_threads(threads);

    ohlcx_synth_options_default(&synth_options);
    synth_options.months = CALIBRATION_MONTHS;
    ohlcx_cnn_config_default(&config);
    status = ohlcx_synth_series(CALIBRATION_SYMBOL, CALIBRATION_TIMEFRAME, &synth_options,
                                &c.series);
    if (status == 0)
        status = measure_store(&c.series, &out->store_bytes_per_bar);
    if (status == 0)
        status = allocate(&c, options->window, config.hidden);
    if (status == 0)
        status = measure_features(&c, &out->feature_bars_per_s);
    if (status == 0)
        status = fill_windows(&c, options->window, options->horizon);
    if (status == 0)
        status = measure_fill(&c, options->window, &out->window_fills_per_s);
    if (status == 0)
        status = measure_cnn(&c, options->window, out);
    if (status == 0)
        status = measure_xgb(&c, options->horizon, threads, out);

    release(&c);
    out->calibration_s = ohlcx_now_seconds() - started;
    return status;
}
