/*
 * Calibration of the plan: rates measured on this machine in about one to
 * three seconds, so that the plan's sizes and times are estimates from
 * measured rates rather than constants.
 *
 * One synthetic series (BTCUSDT 5m, 12 months, about 105,000 bars) feeds
 * every measurement:
 *   store     each column as integer ticks, delta, zigzag, 8 bytes a value,
 *             then zstd level 3, summed over open time, OHLC and volume
 *   features  ohlcx_features_compute over the whole series
 *   CNN       one epoch of the default network on 2,000 random windows,
 *             then embedding the same windows (forward only)
 *   XGBoost   20 rounds on 20,000 rows of embeddings, features and ids
 *
 * NOTE: the store rate uses this file's encoding, which follows the store's
 * intended scheme but is not the store module's code, and synthetic prices
 * are rougher than real ones. Small runs carry start-up costs (thread pools,
 * XGBoost's quantile sketch), so the rates err toward slow.
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
#define CALIBRATION_WINDOWS 2000
#define CALIBRATION_XGB_ROUNDS 20
/* On a 2-core AMD EPYC, 2,000 rows gave less than half the row rate of
 * 20,000 because XGBoost has a fixed cost per round. */
#define CALIBRATION_XGB_ROWS 20000
#define WARMUP_WINDOWS 256
#define ZSTD_LEVEL 3
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
    float *matrix;      /* CALIBRATION_XGB_ROWS XGBoost rows */
    float *xgb_labels;
    ohlcx_cnn *cnn;
    ohlcx_gbdt *gbdt;
} calibration;


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


static int allocate(calibration *c, int window, int hidden)
{
    size_t floats = (size_t)OHLCX_WINDOW_CHANNELS * (size_t)window;
    size_t columns = (size_t)hidden + OHLCX_FEATURE_COUNT + ID_COLUMNS;

    c->features = malloc(c->series.n * OHLCX_FEATURE_COUNT * sizeof *c->features);
    c->windows = malloc(CALIBRATION_WINDOWS * floats * sizeof *c->windows);
    c->labels = malloc(CALIBRATION_WINDOWS * sizeof *c->labels);
    c->bars = malloc(CALIBRATION_WINDOWS * sizeof *c->bars);
    c->embeddings = malloc(CALIBRATION_WINDOWS * (size_t)hidden * sizeof *c->embeddings);
    c->matrix = malloc(CALIBRATION_XGB_ROWS * columns * sizeof *c->matrix);
    c->xgb_labels = malloc(CALIBRATION_XGB_ROWS * sizeof *c->xgb_labels);
    if (c->features == NULL || c->windows == NULL || c->labels == NULL || c->bars == NULL ||
        c->embeddings == NULL || c->matrix == NULL || c->xgb_labels == NULL)
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


static int measure_cnn(calibration *c, int window, ohlcx_plan_rates *out)
{
    ohlcx_cnn_config config;
    ohlcx_cnn_train_options options;
    double started;
    int status;

    ohlcx_cnn_config_default(&config);
    config.window = window;
    ohlcx_cnn_train_options_default(&options);
    options.max_epochs = 1;
    options.seed = 42;
    c->cnn = ohlcx_cnn_create(&config, options.seed);
    if (c->cnn == NULL)
        return OHLCX_EINVAL;

    /* Starts OpenBLAS's threads, so that the timings below leave them out. */
    status = ohlcx_cnn_predict(c->cnn, c->windows, WARMUP_WINDOWS, NULL, c->embeddings);
    if (status != 0)
        return status;

    started = ohlcx_now_seconds();
    status = ohlcx_cnn_train(c->cnn, c->windows, c->labels, CALIBRATION_WINDOWS, NULL, NULL, 0,
                             &options, NULL);
    out->cnn_train_samples_per_s = rate(CALIBRATION_WINDOWS, ohlcx_now_seconds() - started);
    if (status != 0)
        return status;

    started = ohlcx_now_seconds();
    status = ohlcx_cnn_predict(c->cnn, c->windows, CALIBRATION_WINDOWS, NULL, c->embeddings);
    out->cnn_embed_samples_per_s = rate(CALIBRATION_WINDOWS, ohlcx_now_seconds() - started);
    return status;
}


/* Trains XGBoost on rows laid out as the pipeline's: embedding, features,
 * timeframe id and asset class id. Row i takes the features and label of
 * consecutive bars from the warm-up on and the embedding of window i modulo
 * CALIBRATION_WINDOWS, as there are fewer embeddings than rows. */
static int measure_xgb(calibration *c, int horizon, int threads, double *row_rounds_per_s)
{
    int hidden = ohlcx_cnn_get_config(c->cnn)->hidden;
    size_t columns = (size_t)hidden + OHLCX_FEATURE_COUNT + ID_COLUMNS;
    ohlcx_gbdt_options options;
    double started;
    int status;

    if (c->series.n < OHLCX_FEATURE_WARMUP + CALIBRATION_XGB_ROWS + (size_t)horizon)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan horizon %d: the calibration series "
                               "has only %zu bars", horizon, c->series.n);
    for (size_t i = 0; i < CALIBRATION_XGB_ROWS; i++) {
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
    ohlcx_gbdt_options_default(&options);
    options.max_rounds = CALIBRATION_XGB_ROUNDS;
    options.early_stopping = 0;
    options.threads = threads;

    started = ohlcx_now_seconds();
    status = ohlcx_gbdt_train(c->matrix, c->xgb_labels, CALIBRATION_XGB_ROWS, NULL, NULL, 0,
                              columns, &options, &c->gbdt);
    *row_rounds_per_s = rate((double)CALIBRATION_XGB_ROWS * CALIBRATION_XGB_ROUNDS,
                             ohlcx_now_seconds() - started);
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
        status = measure_cnn(&c, options->window, out);
    if (status == 0)
        status = measure_xgb(&c, options->horizon, threads, &out->xgb_row_rounds_per_s);

    release(&c);
    out->calibration_s = ohlcx_now_seconds() - started;
    return status;
}
