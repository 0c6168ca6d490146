/*
 * Walk-forward evaluation for `ohlcx run --walk-forward`.
 *
 * After the features stage, each fold replaces the single split. Every
 * usable series gets the parts of ohlcx_walk_forward_fold() (dataset.h), and
 * the samples of those parts are listed as the features stage lists them.
 * The CNN and XGBoost stages of run.c then train and test on them. A fold's test
 * rows and the predictions of every model are appended to the rows of the
 * earlier folds. Everything else of the fold (samples, CNNs, models) is
 * freed before the next, so memory contains one fold's models and the
 * test rows of all folds. At the end the appended rows, sorted by series
 * and bar, become the test part that run_stage_evaluate() scores.
 *
 * Training samples leave out those that read across a long data gap (as in
 * a normal run) and those in the embargo after an earlier fold's test period.
 * Test samples leave out only the first kind.
 */
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/gbdt.h"
#include "pipeline/run_state.h"
#include "util/util.h"


/* Test rows of all folds so far, with each model's probabilities. */
typedef struct fold_rows {
    pipeline_sample *samples;
    uint8_t *labels;
    float *prob[MODEL_COUNT];
    size_t count;
} fold_rows;


static void options_of(const run_state *state, ohlcx_split_options *split,
                       ohlcx_walk_forward_options *walk)
{
    const ohlcx_run_options *options = state->options;

    ohlcx_split_options_default(split);
    split->window = options->window;
    split->horizon = options->horizon;
    memset(walk, 0, sizeof *walk);
    walk->train_period = options->train_period;
    walk->test_period = options->test_period;
    walk->retrain_every = options->retrain_every;
    walk->expanding = options->expanding;
    walk->embargo = options->embargo;
}


/* Returns the fold count that every usable series allows, or fails with
 * OHLCX_EDATA naming a series too short for one fold. */
static int count_folds(const run_state *state, size_t *out)
{
    ohlcx_split_options split;
    ohlcx_walk_forward_options walk;
    size_t folds = SIZE_MAX;

    options_of(state, &split, &walk);
    for (size_t s = 0; s < state->series_count; s++) {
        const pipeline_series *series = &state->series[s];
        size_t count = 0;
        int status;

        if (!series->usable)
            continue;
        status = ohlcx_walk_forward_count(series->bars.n, &split, &walk, &count);
        if (status != 0)
            return status;
        if (count == 0)
            return ohlcx_set_error(OHLCX_EDATA,
                                   "%s: %zu bars are too short for one walk-forward fold "
                                   "of --train-period %lld, a purge gap of %d bars and "
                                   "--test-period %lld; use shorter periods",
                                   series->bars.source_path, series->bars.n,
                                   (long long)walk.train_period,
                                   split.window + split.horizon, (long long)walk.test_period);
        if (count < folds)
            folds = count;
    }
    *out = folds == SIZE_MAX ? 0 : folds;
    return 0;
}


/* Frees what the stages allocated for one fold, keeping the model of the
 * last fold trained so far for the bundle. */
static void free_fold(run_state *state)
{
    run_free_cnns(state);
    for (int part = 0; part < OHLCX_PART_COUNT; part++) {
        free(state->samples[part]);
        free(state->labels[part]);
        state->samples[part] = NULL;
        state->labels[part] = NULL;
        state->sample_count[part] = 0;
    }
    for (int model = 0; model < MODEL_COUNT; model++) {
        free(state->test_prob[model]);
        state->test_prob[model] = NULL;
    }
}


static int grow_part(run_state *state, int part, size_t needed)
{
    pipeline_sample *grown = realloc(state->samples[part], (needed ? needed : 1) * sizeof *grown);
    uint8_t *grown_labels = NULL;

    if (grown == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing %zu samples", needed);
    state->samples[part] = grown;
    grown_labels = realloc(state->labels[part], needed ? needed : 1);
    if (grown_labels == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing %zu labels", needed);
    state->labels[part] = grown_labels;
    return 0;
}


/* Sets the fold's split of series s and appends its samples to every part. */
static int add_fold_samples(run_state *state, uint32_t s, size_t fold, run_fold *record)
{
    pipeline_series *series = &state->series[s];
    ohlcx_split_options split;
    ohlcx_walk_forward_options walk;
    int status;

    options_of(state, &split, &walk);
    status = ohlcx_walk_forward_fold(series->bars.n, &split, &walk, fold, &series->split);
    if (status != 0)
        return status;
    for (int part = 0; part < OHLCX_PART_COUNT; part++) {
        size_t begin = series->split.begin[part], end = series->split.end[part];

        status = grow_part(state, part, state->sample_count[part] + (end - begin));
        if (status != 0)
            return status;
        for (size_t t = begin; t < end; t++) {
            size_t row;

            if (series->long_gaps > 0 &&
                ohlcx_sample_crosses_gap(t, split.window, split.horizon, series->long_gap_rows,
                                         series->long_gaps))
                continue;
            if (part != OHLCX_PART_TEST && ohlcx_walk_forward_embargoed(t, &split, &walk, fold)) {
                record->embargoed++;
                continue;
            }
            row = state->sample_count[part]++;
            state->samples[part][row] = (pipeline_sample){s, (uint32_t)t};
            state->labels[part][row] = (uint8_t)ohlcx_label(&series->bars, t, split.horizon);
        }
    }
    return 0;
}


static void keep_min(int64_t *bound, int64_t value, int initial)
{
    if (initial || value < *bound)
        *bound = value;
}


static void keep_max(int64_t *bound, int64_t value, int initial)
{
    if (initial || value > *bound)
        *bound = value;
}


/* Records the fold's bounds over every usable series; see run_fold. */
static void record_bounds(const run_state *state, run_fold *record)
{
    size_t window = (size_t)state->options->window, horizon = (size_t)state->options->horizon;
    int initial = 1;

    for (size_t s = 0; s < state->series_count; s++) {
        const pipeline_series *series = &state->series[s];
        const int64_t *time = series->bars.open_time;
        const ohlcx_split *split = &series->split;
        size_t last_train = split->end[OHLCX_PART_VALIDATION] - 1;
        size_t test_begin = split->begin[OHLCX_PART_TEST];

        if (!series->usable)
            continue;
        keep_min(&record->train_first_open_time, time[split->begin[OHLCX_PART_CNN_TRAIN]],
                 initial);
        keep_max(&record->train_last_open_time, time[last_train], initial);
        keep_max(&record->train_label_end_open_time, time[last_train + horizon], initial);
        keep_min(&record->test_window_open_time, time[test_begin - window], initial);
        keep_min(&record->test_first_open_time, time[test_begin], initial);
        keep_max(&record->test_last_open_time, time[split->end[OHLCX_PART_TEST] - 1], initial);
        initial = 0;
    }
}


/* Lists the fold's samples of every usable series, failing when a part of
 * the fold has none left. */
static int list_fold_samples(run_state *state, size_t fold, run_fold *record)
{
    int status = 0;

    for (size_t s = 0; s < state->series_count && status == 0; s++)
        if (state->series[s].usable)
            status = add_fold_samples(state, (uint32_t)s, fold, record);
    if (status != 0)
        return status;
    for (int part = 0; part < OHLCX_PART_COUNT; part++)
        if (state->sample_count[part] == 0)
            return ohlcx_set_error(OHLCX_EDATA,
                                   "walk-forward fold %zu has no %s sample left after the "
                                   "embargo and the long-gap exclusions: use a longer "
                                   "--train-period or a shorter --embargo",
                                   fold, ohlcx_part_name(part));
    record->train_samples = state->sample_count[OHLCX_PART_CNN_TRAIN] +
                            state->sample_count[OHLCX_PART_XGB_TRAIN] +
                            state->sample_count[OHLCX_PART_VALIDATION];
    record_bounds(state, record);
    return 0;
}


/* Scores every model on the fold's test rows. */
static int score_fold(const run_state *state, run_fold *record)
{
    size_t n = state->sample_count[OHLCX_PART_TEST];
    double *realised = malloc(n * sizeof *realised);
    int status = 0;

    if (realised == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for %zu realised returns", n);
    for (size_t row = 0; row < n; row++) {
        const pipeline_sample *sample = &state->samples[OHLCX_PART_TEST][row];
        const ohlcx_series *bars = &state->series[sample->series].bars;

        realised[row] = bars->close[sample->t + (size_t)state->options->horizon] /
                            bars->close[sample->t] -
                        1.0;
    }
    for (int model = 0; model < MODEL_COUNT && status == 0; model++)
        status = ohlcx_metrics_compute_ex(state->test_prob[model], state->labels[OHLCX_PART_TEST],
                                          realised, n, &record->metrics[model]);
    free(realised);
    return status;
}


/* Appends the fold's test rows and predictions to rows. */
static int append_test_rows(const run_state *state, fold_rows *rows)
{
    size_t n = state->sample_count[OHLCX_PART_TEST], total = rows->count + n;
    pipeline_sample *samples = realloc(rows->samples, total * sizeof *samples);
    uint8_t *labels = NULL;

    if (samples == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory holding %zu test rows", total);
    rows->samples = samples;
    labels = realloc(rows->labels, total);
    if (labels == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory holding %zu test labels", total);
    rows->labels = labels;
    memcpy(samples + rows->count, state->samples[OHLCX_PART_TEST], n * sizeof *samples);
    memcpy(labels + rows->count, state->labels[OHLCX_PART_TEST], n);
    for (int model = 0; model < MODEL_COUNT; model++) {
        float *prob = realloc(rows->prob[model], total * sizeof *prob);

        if (prob == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory holding %zu predictions", total);
        rows->prob[model] = prob;
        memcpy(prob + rows->count, state->test_prob[model], n * sizeof *prob);
    }
    rows->count = total;
    return 0;
}


static const pipeline_sample *sort_samples;


static int compare_rows(const void *a, const void *b)
{
    const pipeline_sample *x = &sort_samples[*(const size_t *)a];
    const pipeline_sample *y = &sort_samples[*(const size_t *)b];

    if (x->series != y->series)
        return x->series < y->series ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}


/* Moves the rows of all folds into the test part, sorted by series and bar,
 * because run_stage_evaluate() takes each series' test rows as contiguous. */
static int install_test_rows(run_state *state, fold_rows *rows)
{
    size_t n = rows->count;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    int status = 0;

    free_fold(state);
    if (order == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory sorting %zu test rows", n);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    /* NOTE: qsort and the static sort_samples are not reentrant, but a run
     * evaluates one walk-forward at a time. */
    sort_samples = rows->samples;
    qsort(order, n, sizeof *order, compare_rows);
    status = grow_part(state, OHLCX_PART_TEST, n);
    for (int model = 0; model < MODEL_COUNT && status == 0; model++) {
        state->test_prob[model] = malloc((n ? n : 1) * sizeof(float));
        if (state->test_prob[model] == NULL)
            status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory holding %zu predictions", n);
    }
    for (size_t i = 0; i < n && status == 0; i++) {
        state->samples[OHLCX_PART_TEST][i] = rows->samples[order[i]];
        state->labels[OHLCX_PART_TEST][i] = rows->labels[order[i]];
        for (int model = 0; model < MODEL_COUNT; model++)
            state->test_prob[model][i] = rows->prob[model][order[i]];
    }
    if (status == 0)
        state->sample_count[OHLCX_PART_TEST] = n;
    free(order);
    return status;
}


/* Trains and tests one fold, adding its stage times to the run's. */
static int run_fold_stages(run_state *state, size_t fold, fold_rows *rows)
{
    double timings[TIMING_COUNT];
    run_fold *record = &state->folds[fold];
    int status;

    memcpy(timings, state->timings, sizeof timings);
    free_fold(state);
    ohlcx_gbdt_free(state->model);
    state->model = NULL;

    status = list_fold_samples(state, fold, record);
    if (status != 0)
        return status;
    ohlcx_log_info("walk-forward fold %zu of %zu: %zu training samples (%zu embargoed), %zu "
                   "test samples",
                   fold + 1, state->fold_count, record->train_samples, record->embargoed,
                   state->sample_count[OHLCX_PART_TEST]);
    status = run_stage_cnn(state);
    if (status == 0)
        status = run_stage_gbdt(state);
    if (status == 0)
        status = score_fold(state, record);
    if (status == 0)
        status = append_test_rows(state, rows);

    /* The CNN stage sets its time where the XGBoost stage adds to its own
     * and to the embedding time. */
    state->timings[TIMING_CNN_TRAIN] += timings[TIMING_CNN_TRAIN];
    return status;
}


int run_walk_forward(run_state *state)
{
    fold_rows rows;
    size_t fold_count = 0;
    int status;

    memset(&rows, 0, sizeof rows);
    status = count_folds(state, &fold_count);
    if (status != 0)
        return status;
    state->folds = calloc(fold_count ? fold_count : 1, sizeof *state->folds);
    if (state->folds == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for %zu folds", fold_count);
    state->fold_count = fold_count;
    ohlcx_log_info("walk-forward: %zu folds", fold_count);

    for (size_t fold = 0; fold < fold_count && status == 0; fold++)
        status = run_fold_stages(state, fold, &rows);
    if (status == 0)
        status = install_test_rows(state, &rows);

    free(rows.samples);
    free(rows.labels);
    for (int model = 0; model < MODEL_COUNT; model++)
        free(rows.prob[model]);
    return status;
}
