/*
 * `ohlcx run`: the training pipeline from candle files to a model bundle.
 *
 * Stages run in order and each records its wall time:
 *   load      read, validate and hash the input files
 *   features  indicators (with those of any higher timeframes), splits and
 *             labels of every series
 *   cnn_train one CNN per group (a symbol, an asset class, or every series)
 *             on cnn_train, checkpointed after every epoch
 *   embed     CNN embeddings and probabilities of the later parts
 *   xgb_train the combined model and the baseline without CNN features
 *   predict   test-part predictions and metrics
 * With --walk-forward, walkforward.c runs cnn_train to predict once per fold
 * and this file then scores the test rows of all folds.
 * CNN training builds each mini-batch's windows on request from the sample
 * lists, so a group's training holds one or two size_t per sample (the
 * shuffled order, and the group's rows unless it has every row of the part)
 * instead of 5 x window floats.
 * NOTE: the embeddings of the later parts (hidden floats a row) and their
 * XGBoost matrices are still held whole, so memory grows with those parts.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/gbdt.h"
#include "ohlcx/store.h"
#include "ohlcx/synth.h"
#include "pipeline/run_state.h"
#include "util/util.h"

#define EMBED_CHUNK 2048


void ohlcx_run_options_default(ohlcx_run_options *options)
{
    memset(options, 0, sizeof *options);
    options->out_dir = "ohlcx-run";
    options->cnn_mode = OHLCX_CNN_PER_SYMBOL;
    options->window = 64;
    options->horizon = 1;
    options->seed = 42;
    options->jobs = 0;
    options->epochs = 20;
    options->patience = 3;
    options->batch_size = 256;
    options->bad_rows = OHLCX_BAD_ROWS_FAIL;
}


static int check_options(const ohlcx_run_options *options)
{
    if (options->out_dir == NULL || options->out_dir[0] == '\0')
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --out '': name an output folder");
    /* Two valid convolutions of kernel 5 need at least 9 bars. */
    if (options->window < 9 || options->window > 1024)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --window %d: use 9 to 1024 bars",
                               options->window);
    if (options->horizon < 1 || options->horizon > 1000)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --horizon %d: use 1 to 1000 bars",
                               options->horizon);
    if (options->epochs < 1 || options->epochs > 256)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --epochs %d: use 1 to 256",
                               options->epochs);
    if (options->patience < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --patience %d: use 1 or more",
                               options->patience);
    if (options->batch_size < 1 || options->batch_size > 65536)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --batch %d: use 1 to 65536",
                               options->batch_size);
    if (options->debug_leak != OHLCX_DEBUG_LEAK_NONE &&
        options->debug_leak != OHLCX_DEBUG_LEAK_NEXT_RETURN)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid debug leak %d", options->debug_leak);
    if (options->cnn_mode != OHLCX_CNN_PER_SYMBOL && options->cnn_mode != OHLCX_CNN_GLOBAL &&
        options->cnn_mode != OHLCX_CNN_PER_MARKET)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid CNN mode %d", options->cnn_mode);
    if (options->walk_forward && options->resume)
        return ohlcx_set_error(OHLCX_EINVAL, "--resume does not support --walk-forward runs: "
                                             "start the run again");
    return 0;
}


/* Writes the demo universe under out_dir/demo-data and returns that folder. */
static int write_demo_universe(const char *out_dir, char *folder, size_t size)
{
    static const char *symbols[] = {"BTCUSDT", "ETHUSDT", "LTCUSDT", "GOOG", "PSNY", "VT"};
    static const char *timeframes[] = {"15m", "1h", "4h", "1d"};
    ohlcx_synth_options synth;
    int status;

    snprintf(folder, size, "%s/demo-data", out_dir);
    status = ohlcx_make_dirs(folder);
    if (status != 0)
        return status;
    ohlcx_synth_options_default(&synth);
    ohlcx_log_info("no --data given: writing the demo universe to %s", folder);
    for (size_t s = 0; s < sizeof symbols / sizeof *symbols; s++) {
        for (size_t t = 0; t < sizeof timeframes / sizeof *timeframes; t++) {
            char path[OHLCX_PATH_MAX + 64];
            ohlcx_series series;

            ohlcx_series_init(&series);
            snprintf(path, sizeof path, "%s/%s-%s.csv", folder, symbols[s], timeframes[t]);
            status = ohlcx_synth_series(symbols[s], timeframes[t], &synth, &series);
            if (status == 0)
                status = ohlcx_write_binance_csv(&series, path);
            ohlcx_series_free(&series);
            if (status != 0)
                return status;
        }
    }
    return 0;
}


/* Reads every series of the store, or those that --symbol and --timeframe
 * select, into memory. */
static int load_from_store(run_state *state)
{
    const ohlcx_run_options *options = state->options;
    ohlcx_store_entry *entries = NULL;
    ohlcx_store *store = NULL;
    size_t count = 0;
    int status;

    status = ohlcx_store_open_existing(options->store_dir, &store);
    if (status == 0)
        status = ohlcx_store_list(store, options->symbol, options->timeframe, &entries, &count);
    if (status == 0 && count == 0)
        status = ohlcx_set_error(OHLCX_EDATA, "store %s holds no series%s%s%s%s to train on",
                                 options->store_dir, options->symbol ? " of " : "",
                                 options->symbol ? options->symbol : "",
                                 options->timeframe ? " at " : "",
                                 options->timeframe ? options->timeframe : "");
    if (status == 0) {
        state->series = calloc(count, sizeof *state->series);
        if (state->series == NULL)
            status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %zu series", count);
    }
    for (size_t i = 0; i < count && status == 0; i++) {
        pipeline_series *series = &state->series[i];

        ohlcx_series_init(&series->bars);
        state->series_count = i + 1;
        status = ohlcx_store_read(store, entries[i].symbol, entries[i].timeframe, &series->bars);
        if (status != 0)
            break;
        snprintf(series->bars.source_path, sizeof series->bars.source_path, "%s:%s/%s",
                 options->store_dir, entries[i].symbol, entries[i].timeframe);
        series->store_version = entries[i].version;
        series->read.rows_read = series->bars.n;
        state->rows_read += series->bars.n;
        /* Ingest filled the short gaps of each file; this fills any left
         * between files and finds the long gaps of the merged series. */
        status = pipeline_repair_gaps(series);
        if (status != 0)
            break;
        pipeline_log_drops(series);
        state->bars_filled += series->bars_filled;
    }
    if (status == 0)
        ohlcx_log_info("read %zu series from the store %s", count, options->store_dir);
    ohlcx_store_entries_free(entries, count);
    ohlcx_store_close(store);
    return status;
}


static int stage_load(run_state *state)
{
    const ohlcx_run_options *options = state->options;
    const char *demo_inputs[1];
    const char *const *inputs = options->inputs;
    size_t input_count = options->input_count;
    char demo_folder[OHLCX_PATH_MAX];
    int status;

    if (options->store_dir != NULL) {
        if (input_count > 0)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "--store and input files exclude each other: ingest the "
                                   "files into the store first");
        return load_from_store(state);
    }
    if (input_count == 0) {
        status = write_demo_universe(options->out_dir, demo_folder, sizeof demo_folder);
        if (status != 0)
            return status;
        demo_inputs[0] = demo_folder;
        inputs = demo_inputs;
        input_count = 1;
    }
    status = ohlcx_expand_inputs(inputs, input_count, &state->files, &state->file_count);
    if (status != 0)
        return status;
    if ((options->symbol || options->timeframe) && state->file_count != 1)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "--symbol and --timeframe apply to one input file, but %zu "
                               "files were given: name the files SYMBOL-TIMEFRAME.csv instead",
                               state->file_count);

    ohlcx_log_info("loading %zu file%s on %d thread%s", state->file_count,
                   state->file_count == 1 ? "" : "s", state->jobs, state->jobs == 1 ? "" : "s");
    ohlcx_layout_options layout = {.columns = options->columns, .tz = options->tz};
    status = pipeline_load(state->files, state->file_count, options->symbol, options->timeframe,
                           options->bad_rows, &layout, state->jobs, &state->series);
    if (status != 0)
        return status;
    state->series_count = state->file_count;
    for (size_t i = 0; i < state->series_count; i++) {
        pipeline_log_drops(&state->series[i]);
        state->rows_read += state->series[i].read.rows_read;
        state->bad_rows += state->series[i].read.bad_row_count;
        state->rows_dropped += ohlcx_validation_dropped(&state->series[i].validation);
        state->bars_filled += state->series[i].bars_filled;
    }
    return 0;
}


/* Returns the group of a series, adding a group for a new symbol or asset
 * class. Groups are numbered in the order of their first series. */
static int assign_group(run_state *state, const pipeline_series *series)
{
    const char *name = pipeline_cnn_group_key(state->options->cnn_mode, &series->bars);

    for (int g = 0; g < state->group_count; g++)
        if (strcmp(state->groups[g].name, name) == 0)
            return g;
    snprintf(state->groups[state->group_count].name, sizeof state->groups[0].name, "%s", name);
    return state->group_count++;
}


/* Returns 1 when sample t of a series reads across one of its long gaps. */
static int sample_excluded(const run_state *state, const pipeline_series *series, size_t t)
{
    return ohlcx_sample_crosses_gap(t, state->options->window, state->options->horizon,
                                    series->long_gap_rows, series->long_gaps);
}


/* Counts the samples of each part that cross no long gap, and sets the
 * series' samples_excluded. Returns the first part left with no sample, or
 * OHLCX_PART_NONE when every part keeps at least one. */
static int count_kept_samples(const run_state *state, pipeline_series *series)
{
    int empty_part = OHLCX_PART_NONE;

    series->samples_excluded = 0;
    for (int part = 0; part < OHLCX_PART_COUNT; part++) {
        size_t begin = series->split.begin[part], end = series->split.end[part];
        size_t excluded = 0;

        for (size_t t = begin; t < end && series->long_gaps > 0; t++)
            excluded += (size_t)sample_excluded(state, series, t);
        series->samples_excluded += excluded;
        if (excluded == end - begin && empty_part == OHLCX_PART_NONE)
            empty_part = part;
    }
    return empty_part;
}


/* Appends the samples of series s to every part, leaving out those that
 * cross a long gap. */
static int add_samples(run_state *state, uint32_t s)
{
    const pipeline_series *series = &state->series[s];
    size_t ups = 0, labels = 0;

    for (int part = 0; part < OHLCX_PART_COUNT; part++) {
        size_t begin = series->split.begin[part], end = series->split.end[part];
        size_t needed = state->sample_count[part] + (end - begin);
        pipeline_sample *grown = realloc(state->samples[part], needed * sizeof *grown);
        uint8_t *grown_labels = realloc(state->labels[part], needed);

        if (grown == NULL || grown_labels == NULL) {
            if (grown != NULL)
                state->samples[part] = grown;
            if (grown_labels != NULL)
                state->labels[part] = grown_labels;
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing samples");
        }
        state->samples[part] = grown;
        state->labels[part] = grown_labels;
        for (size_t t = begin; t < end; t++) {
            size_t row;

            if (series->long_gaps > 0 && sample_excluded(state, series, t))
                continue;
            row = state->sample_count[part]++;
            grown[row] = (pipeline_sample){s, (uint32_t)t};
            grown_labels[row] = (uint8_t)ohlcx_label(&series->bars, t, state->options->horizon);
            ups += grown_labels[row];
            labels++;
        }
    }
    /* A series whose close never moves up (or always does) makes accuracy
     * on it meaningless, so warn rather than report it silently. */
    if (ups == 0 || ups == labels)
        ohlcx_log_warn("%s: every label is %d (the close %s over %d bars in all %zu samples): "
                       "its accuracy says nothing about the model",
                       series->bars.source_path, ups ? 1 : 0, ups ? "always rises" : "never rises",
                       state->options->horizon, labels);
    return 0;
}


/* Fails when a feature of a sample bar is not finite, for example when a
 * price is so large that its square overflows. XGBoost rejects such input.
 * The higher-timeframe columns may be NaN (missing: a timeframe the series
 * cannot feed, or a higher bar not yet closed or in its own warm-up), so
 * only an infinite value fails there.
 * NOTE: a higher feature that overflows to NaN is taken as missing. */
static int check_features(const pipeline_series *series, const pipeline_higher *higher)
{
    size_t width = series->feature_width;

    for (size_t t = OHLCX_FEATURE_WARMUP; t < series->bars.n; t++) {
        for (size_t i = 0; i < width; i++) {
            float value = series->features[t * width + i];
            char time_text[20], name[32];

            if (i < OHLCX_FEATURE_COUNT ? isfinite(value) : !isinf(value))
                continue;
            ohlcx_format_datetime(series->bars.open_time[t], time_text);
            pipeline_column_name((int)i, 0, higher, name, sizeof name);
            return ohlcx_set_error(OHLCX_EDATA,
                                   "%s: feature %s is not finite at the bar opening %s (close "
                                   "%g): check the prices around it",
                                   series->bars.source_path, name, time_text,
                                   series->bars.close[t]);
        }
    }
    return 0;
}


/* Warns about each higher timeframe that no usable series can feed, as its
 * columns are then missing in every row. */
static void warn_unfed_higher(const run_state *state)
{
    for (int h = 0; h < state->higher.count; h++) {
        int fed = 0;

        for (size_t s = 0; s < state->series_count && !fed; s++)
            fed = state->series[s].usable && (state->series[s].higher_fed >> h & 1u);
        if (!fed)
            ohlcx_log_warn("--higher %s: no series can be resampled to %s, so its %d columns "
                           "are missing in every row",
                           state->higher.timeframes[h], state->higher.timeframes[h],
                           OHLCX_FEATURE_COUNT);
    }
}


static int stage_features(run_state *state)
{
    ohlcx_split_options split_options;
    int status = 0;

    ohlcx_split_options_default(&split_options);
    split_options.window = state->options->window;
    split_options.horizon = state->options->horizon;

    state->groups = calloc(state->series_count, sizeof *state->groups);
    if (state->groups == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory grouping series");

    for (size_t s = 0; s < state->series_count && status == 0; s++) {
        pipeline_series *series = &state->series[s];
        int empty_part;

        if (ohlcx_split_series(series->bars.n, &split_options, &series->split) != 0) {
            ohlcx_log_warn("%s: skipped, too short to train on: %s", series->bars.source_path,
                           ohlcx_last_error());
            state->skipped_series++;
            continue;
        }
        empty_part = count_kept_samples(state, series);
        if (series->samples_excluded > 0)
            ohlcx_log_info("%s: %zu samples excluded (window_spans_gap %zu): their window or "
                           "label reads across a gap longer than %d bars",
                           series->bars.source_path, series->samples_excluded,
                           series->samples_excluded, PIPELINE_MAX_FILL_GAP);
        if (empty_part != OHLCX_PART_NONE) {
            ohlcx_log_warn("%s: skipped, every sample of its %s part reads across a gap longer "
                           "than %d bars",
                           series->bars.source_path, ohlcx_part_name(empty_part),
                           PIPELINE_MAX_FILL_GAP);
            state->skipped_series++;
            continue;
        }
        state->samples_excluded += series->samples_excluded;
        status = pipeline_compute_features(series, &state->higher, 1);
        if (status == 0)
            status = check_features(series, &state->higher);
        if (status == 0) {
            series->usable = 1;
            series->group = assign_group(state, series);
            status = add_samples(state, (uint32_t)s);
        }
    }
    if (status != 0)
        return status;
    warn_unfed_higher(state);
    if (state->group_count == 0)
        return ohlcx_set_error(OHLCX_EDATA,
                               "no input series is long enough to train on: each needs at "
                               "least a few hundred bars with --window %d, and samples in "
                               "every part that read across no gap longer than %d bars",
                               state->options->window, PIPELINE_MAX_FILL_GAP);
    for (int part = 0; part < OHLCX_PART_COUNT; part++)
        state->total_samples += state->sample_count[part];
    ohlcx_log_info("%zu samples (%zu excluded): cnn_train %zu, xgb_train %zu, validation %zu, "
                   "test %zu",
                   state->total_samples, state->samples_excluded,
                   state->sample_count[OHLCX_PART_CNN_TRAIN],
                   state->sample_count[OHLCX_PART_XGB_TRAIN],
                   state->sample_count[OHLCX_PART_VALIDATION],
                   state->sample_count[OHLCX_PART_TEST]);
    return 0;
}


/* The samples of one CNN group in one part, for a sample source that builds
 * their windows on request. Sample i is row rows[i] of the part, or row i when
 * the group has every row of the part (rows is then NULL). */
typedef struct group_rows {
    const run_state *state;
    int part;
    size_t *rows;
    size_t count;
} group_rows;


/* Lists the rows of one group's samples in a part, in row order, so the
 * sample numbers and thus the batches match the order of the part. */
static int list_group_rows(const run_state *state, int group, int part, group_rows *out)
{
    size_t count = 0;

    memset(out, 0, sizeof *out);
    out->state = state;
    out->part = part;
    for (size_t row = 0; row < state->sample_count[part]; row++)
        count += state->series[state->samples[part][row].series].group == group;
    out->count = count;
    if (count == state->sample_count[part])
        return 0;

    out->rows = malloc((count ? count : 1) * sizeof *out->rows);
    if (out->rows == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing %zu samples", count);
    count = 0;
    for (size_t row = 0; row < state->sample_count[part]; row++)
        if (state->series[state->samples[part][row].series].group == group)
            out->rows[count++] = row;
    return 0;
}


/* Builds the windows and labels of the group samples at indices. This is the
 * sample fill of the group's CNN training, called once per mini-batch. */
static int fill_group_windows(void *context, const size_t *indices, size_t count, float *x,
                              float *y)
{
    const group_rows *group = context;
    const run_state *state = group->state;
    int window = state->options->window;
    size_t window_floats = (size_t)OHLCX_WINDOW_CHANNELS * (size_t)window;

    for (size_t i = 0; i < count; i++) {
        size_t row = group->rows ? group->rows[indices[i]] : indices[i];
        const pipeline_sample *sample = &state->samples[group->part][row];
        int status = ohlcx_window_fill(&state->series[sample->series].bars, sample->t, window,
                                       x + i * window_floats);

        if (status != 0)
            return status;
        y[i] = state->labels[group->part][row];
    }
    return 0;
}


/* Computes embeddings and probabilities of one group's rows in a part,
 * EMBED_CHUNK windows at a time. */
static int embed_part(run_state *state, const ohlcx_cnn *cnn, int group, int part, float *x,
                      float *prob, float *embedding)
{
    size_t window_floats = (size_t)OHLCX_WINDOW_CHANNELS * (size_t)state->options->window;
    size_t rows[EMBED_CHUNK];
    size_t filled = 0;
    int hidden = state->hidden;

    for (size_t row = 0; row <= state->sample_count[part]; row++) {
        int at_end = row == state->sample_count[part];

        if (!at_end) {
            const pipeline_sample *sample = &state->samples[part][row];
            const pipeline_series *series = &state->series[sample->series];
            int status;

            if (series->group != group)
                continue;
            status = ohlcx_window_fill(&series->bars, sample->t, state->options->window,
                                       x + filled * window_floats);
            if (status != 0)
                return status;
            rows[filled++] = row;
        }
        if (filled == EMBED_CHUNK || (at_end && filled > 0)) {
            int status = ohlcx_cnn_predict(cnn, x, filled, prob, embedding);
            if (status != 0)
                return status;
            for (size_t i = 0; i < filled; i++) {
                state->cnn_prob[part][rows[i]] = prob[i];
                memcpy(state->embedding[part] + rows[i] * (size_t)hidden,
                       embedding + i * (size_t)hidden, (size_t)hidden * sizeof(float));
            }
            filled = 0;
        }
    }
    return 0;
}


/* Draws the share of the maximum epochs done. Early stopping can end the
 * training sooner, so the time left is an upper bound. */
static void draw_cnn_progress(void *context, int epoch, int max_epochs, size_t done, size_t total)
{
    ohlcx_progress *progress = context;

    ohlcx_progress_update(progress, (epoch - 1) + (double)done / (double)total, max_epochs);
    /* Clear the line at the end of an epoch, so the epoch's log line starts
     * on an empty line. */
    if (done == total)
        ohlcx_progress_finish(progress);
}


/* Sets the CNN configuration and the training options of one group. The
 * checkpoint path goes into checkpoint, which train_options then points to. */
static void group_training_setup(const run_state *state, int group, ohlcx_cnn_config *config,
                                 ohlcx_cnn_train_options *train_options, char *checkpoint,
                                 size_t checkpoint_size)
{
    const ohlcx_run_options *options = state->options;
    char hash[65], checkpoint_name[32];

    ohlcx_cnn_config_default(config);
    config->window = options->window;
    ohlcx_cnn_train_options_default(train_options);
    train_options->batch_size = options->batch_size;
    train_options->max_epochs = options->epochs;
    train_options->patience = options->patience;
    /* Each group draws from its own stream, so adding a symbol leaves the
     * other groups' networks unchanged. */
    ohlcx_sha256_hex(state->groups[group].name, strlen(state->groups[group].name), hash);
    train_options->seed = options->seed ^ strtoull(hash + 48, NULL, 16);
    snprintf(checkpoint_name, sizeof checkpoint_name, "cnn-%03d.ckpt", group);
    run_checkpoint_path(state, checkpoint_name, checkpoint, checkpoint_size);
    train_options->checkpoint_path = checkpoint;
    train_options->resume = options->resume;
}


/* Returns the number of samples of one group in a part. */
static size_t count_group_samples(const run_state *state, int group, int part)
{
    size_t count = 0;

    for (size_t row = 0; row < state->sample_count[part]; row++)
        count += state->series[state->samples[part][row].series].group == group;
    return count;
}


/* Fails when the checkpoint of a group exists but cannot be read, or was
 * written for another configuration, other options or other sample counts.
 * These are the checks that training makes when it resumes, made here
 * before the run removes any output. A missing checkpoint passes, because
 * training then starts that group afresh. */
static int check_group_checkpoint(const run_state *state, int group)
{
    ohlcx_cnn_config config;
    ohlcx_cnn_train_options train_options;
    ohlcx_cnn_checkpoint saved;
    char checkpoint[OHLCX_PATH_MAX + 64];
    size_t n_train = count_group_samples(state, group, OHLCX_PART_CNN_TRAIN);
    size_t n_val = count_group_samples(state, group, OHLCX_PART_VALIDATION);
    int status;

    group_training_setup(state, group, &config, &train_options, checkpoint, sizeof checkpoint);
    if (access(checkpoint, F_OK) != 0 && errno == ENOENT)
        return 0;
    status = ohlcx_cnn_checkpoint_load(checkpoint, &saved);
    if (status != 0)
        return status;

    if (memcmp(&saved.config, &config, sizeof config) != 0)
        status = ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: %s is of a CNN with window "
                                 "%d and hidden %d, this run builds window %d and hidden %d: "
                                 "run without --resume to start over",
                                 state->options->out_dir, checkpoint, saved.config.window,
                                 saved.config.hidden, config.window, config.hidden);
    else if (saved.batch_size != train_options.batch_size ||
             saved.max_epochs != train_options.max_epochs ||
             saved.patience != train_options.patience ||
             saved.learning_rate != train_options.learning_rate ||
             saved.seed != train_options.seed)
        status = ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: %s was written with batch "
                                 "%d, epochs %d, patience %d and seed %llu, this run uses %d, "
                                 "%d, %d and %llu: run without --resume to start over",
                                 state->options->out_dir, checkpoint, saved.batch_size,
                                 saved.max_epochs, saved.patience,
                                 (unsigned long long)saved.seed, train_options.batch_size,
                                 train_options.max_epochs, train_options.patience,
                                 (unsigned long long)train_options.seed);
    else if (saved.train_count != n_train || saved.val_count != n_val)
        status = ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: %s was written for %llu "
                                 "training and %llu validation samples, this run has %zu and "
                                 "%zu: restore the inputs, or run without --resume to start "
                                 "over",
                                 state->options->out_dir, checkpoint,
                                 (unsigned long long)saved.train_count,
                                 (unsigned long long)saved.val_count, n_train, n_val);
    ohlcx_cnn_checkpoint_free(&saved);
    return status;
}


static int train_group(run_state *state, int group, double *embed_seconds)
{
    const ohlcx_run_options *options = state->options;
    ohlcx_cnn_config config;
    ohlcx_cnn_train_options train_options;
    ohlcx_cnn *cnn = NULL;
    group_rows train_rows = {0}, val_rows = {0};
    ohlcx_sample_source train, validation;
    float *chunk_x = NULL, *chunk_prob = NULL, *chunk_embedding = NULL;
    char path[OHLCX_PATH_MAX + 64], label[OHLCX_SYMBOL_MAX + 48];
    char checkpoint[OHLCX_PATH_MAX + 64];
    ohlcx_progress progress;
    int status;

    status = list_group_rows(state, group, OHLCX_PART_CNN_TRAIN, &train_rows);
    if (status == 0)
        status = list_group_rows(state, group, OHLCX_PART_VALIDATION, &val_rows);
    if (status != 0)
        goto done;
    train = (ohlcx_sample_source){fill_group_windows, &train_rows, train_rows.count};
    validation = (ohlcx_sample_source){fill_group_windows, &val_rows, val_rows.count};

    group_training_setup(state, group, &config, &train_options, checkpoint, sizeof checkpoint);
    train_options.verbose = 1;
    snprintf(label, sizeof label, "cnn %s (at most %d epochs)", state->groups[group].name,
             options->epochs);
    ohlcx_progress_start(&progress, label);
    train_options.progress = draw_cnn_progress;
    train_options.progress_context = &progress;

    ohlcx_log_info("cnn %s: training on %zu windows, validating on %zu",
                   state->groups[group].name, train.count, validation.count);
    cnn = ohlcx_cnn_create(&config, train_options.seed);
    if (cnn == NULL) {
        status = OHLCX_ENOMEM;
        goto done;
    }
    status = ohlcx_cnn_train_source(cnn, &train, &validation, &train_options,
                                    &state->groups[group].history);
    ohlcx_progress_finish(&progress);
    if (status != 0)
        goto done;

    double started = ohlcx_now_seconds();
    size_t window_floats = (size_t)OHLCX_WINDOW_CHANNELS * (size_t)options->window;
    chunk_x = malloc(EMBED_CHUNK * window_floats * sizeof *chunk_x);
    chunk_prob = malloc(EMBED_CHUNK * sizeof *chunk_prob);
    chunk_embedding = malloc(EMBED_CHUNK * (size_t)state->hidden * sizeof *chunk_embedding);
    if (chunk_x == NULL || chunk_prob == NULL || chunk_embedding == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory computing embeddings");
        goto done;
    }
    for (int part = OHLCX_PART_XGB_TRAIN; part < OHLCX_PART_COUNT && status == 0; part++)
        status = embed_part(state, cnn, group, part, chunk_x, chunk_prob, chunk_embedding);
    *embed_seconds += ohlcx_now_seconds() - started;
    if (status != 0)
        goto done;

    snprintf(state->groups[group].file, sizeof state->groups[group].file, "cnn-%03d.bin", group);
    snprintf(path, sizeof path, "%s/model/%s", options->out_dir, state->groups[group].file);
    status = ohlcx_cnn_save(cnn, path);

done:
    ohlcx_cnn_free(cnn);
    free(train_rows.rows);
    free(val_rows.rows);
    free(chunk_x);
    free(chunk_prob);
    free(chunk_embedding);
    return status;
}


int run_stage_cnn(run_state *state)
{
    ohlcx_cnn_config config;
    double started = ohlcx_now_seconds(), embed_seconds = 0;
    int status = 0;

    ohlcx_cnn_config_default(&config);
    state->hidden = config.hidden;
    for (int part = OHLCX_PART_XGB_TRAIN; part < OHLCX_PART_COUNT; part++) {
        size_t rows = state->sample_count[part] ? state->sample_count[part] : 1;
        state->cnn_prob[part] = malloc(rows * sizeof(float));
        state->embedding[part] = malloc(rows * (size_t)state->hidden * sizeof(float));
        if (state->cnn_prob[part] == NULL || state->embedding[part] == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory holding embeddings");
    }

    for (int g = 0; g < state->group_count && status == 0; g++)
        status = train_group(state, g, &embed_seconds);
    state->timings[TIMING_CNN_TRAIN] = ohlcx_now_seconds() - started - embed_seconds;
    state->timings[TIMING_EMBED] = embed_seconds;
    return status;
}


/* Builds the XGBoost matrix of a part; hidden 0 leaves out the embedding. */
static float *build_matrix(const run_state *state, int part, int hidden)
{
    size_t columns = pipeline_column_count(hidden, &state->higher);
    size_t rows = state->sample_count[part];
    float *matrix = malloc((rows ? rows : 1) * columns * sizeof *matrix);

    if (matrix == NULL) {
        ohlcx_set_error(OHLCX_ENOMEM, "out of memory building a %zu x %zu feature matrix", rows,
                        columns);
        return NULL;
    }
    for (size_t row = 0; row < rows; row++) {
        const pipeline_sample *sample = &state->samples[part][row];
        const float *embedding = hidden ? state->embedding[part] + row * (size_t)hidden : NULL;

        pipeline_fill_row(&state->series[sample->series], sample->t, embedding, hidden,
                          matrix + row * columns);
    }
    return matrix;
}


static float *labels_as_floats(const run_state *state, int part)
{
    size_t rows = state->sample_count[part];
    float *labels = malloc((rows ? rows : 1) * sizeof *labels);

    if (labels == NULL) {
        ohlcx_set_error(OHLCX_ENOMEM, "out of memory copying labels");
        return NULL;
    }
    for (size_t row = 0; row < rows; row++)
        labels[row] = state->labels[part][row];
    return labels;
}


/* Trains one XGBoost model on xgb_train with early stopping on validation and
 * predicts the test part into prob. */
static int train_and_test_gbdt(run_state *state, int hidden, ohlcx_gbdt **model_out,
                               float *prob, double *train_seconds, double *predict_seconds)
{
    ohlcx_gbdt_options options;
    float *x_train = build_matrix(state, OHLCX_PART_XGB_TRAIN, hidden);
    float *x_val = build_matrix(state, OHLCX_PART_VALIDATION, hidden);
    float *x_test = build_matrix(state, OHLCX_PART_TEST, hidden);
    float *y_train = labels_as_floats(state, OHLCX_PART_XGB_TRAIN);
    float *y_val = labels_as_floats(state, OHLCX_PART_VALIDATION);
    size_t columns = pipeline_column_count(hidden, &state->higher);
    double started = ohlcx_now_seconds();
    int status = OHLCX_ENOMEM;

    if (x_train == NULL || x_val == NULL || x_test == NULL || y_train == NULL || y_val == NULL)
        goto done;
    ohlcx_gbdt_options_default(&options);
    options.threads = state->jobs;
    options.seed = state->options->seed;
    status = ohlcx_gbdt_train(x_train, y_train, state->sample_count[OHLCX_PART_XGB_TRAIN], x_val,
                              y_val, state->sample_count[OHLCX_PART_VALIDATION], columns,
                              &options, model_out);
    *train_seconds += ohlcx_now_seconds() - started;
    if (status != 0)
        goto done;

    started = ohlcx_now_seconds();
    status = ohlcx_gbdt_predict(*model_out, x_test, state->sample_count[OHLCX_PART_TEST], prob);
    *predict_seconds += ohlcx_now_seconds() - started;

done:
    free(x_train);
    free(x_val);
    free(x_test);
    free(y_train);
    free(y_val);
    return status;
}


/* Gives the combined model its column names, as the manifest lists them. */
static int name_columns(ohlcx_gbdt *model, int hidden, const pipeline_higher *higher)
{
    enum {
        MAX_COLUMNS = 256 + OHLCX_FEATURE_COUNT * (1 + PIPELINE_HIGHER_MAX) + PIPELINE_ID_COLUMNS
    };
    char names[MAX_COLUMNS][32];
    const char *pointers[MAX_COLUMNS];
    size_t count = pipeline_column_count(hidden, higher);

    if (hidden > 256)
        return ohlcx_set_error(OHLCX_EINVAL, "embedding size %d is above 256", hidden);
    for (size_t i = 0; i < count; i++)
        pointers[i] = pipeline_column_name((int)i, hidden, higher, names[i], sizeof names[i]);
    return ohlcx_gbdt_set_feature_names(model, pointers, count);
}


int run_stage_gbdt(run_state *state)
{
    size_t n_test = state->sample_count[OHLCX_PART_TEST];
    size_t n_fit = state->sample_count[OHLCX_PART_XGB_TRAIN];
    ohlcx_gbdt *baseline = NULL;
    char path[OHLCX_PATH_MAX + 64];
    size_t ups = 0;
    int status;

    for (int model = 0; model < MODEL_COUNT; model++) {
        state->test_prob[model] = malloc((n_test ? n_test : 1) * sizeof(float));
        if (state->test_prob[model] == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory holding predictions");
    }

    ohlcx_log_info("xgboost: training the combined model on %zu rows", n_fit);
    status = train_and_test_gbdt(state, state->hidden, &state->model,
                                 state->test_prob[MODEL_COMBINED], &state->timings[TIMING_XGB_TRAIN],
                                 &state->timings[TIMING_PREDICT]);
    if (status != 0)
        return status;
    status = name_columns(state->model, state->hidden, &state->higher);
    if (status != 0)
        return status;
    snprintf(path, sizeof path, "%s/model/xgboost.json", state->options->out_dir);
    status = ohlcx_gbdt_save(state->model, path);
    if (status != 0)
        return status;

    ohlcx_log_info("xgboost: training the baseline without CNN features");
    status = train_and_test_gbdt(state, 0, &baseline, state->test_prob[MODEL_WITHOUT_CNN],
                                 &state->timings[TIMING_XGB_TRAIN], &state->timings[TIMING_PREDICT]);
    if (status == 0)
        state->baseline_rounds = ohlcx_gbdt_rounds(baseline);
    ohlcx_gbdt_free(baseline);
    if (status != 0)
        return status;

    /* The majority baseline predicts the training rows' up rate for every row. */
    for (size_t row = 0; row < n_fit; row++)
        ups += state->labels[OHLCX_PART_XGB_TRAIN][row];
    state->majority_rate = n_fit ? (double)ups / (double)n_fit : 0.5;
    for (size_t row = 0; row < n_test; row++) {
        state->test_prob[MODEL_MAJORITY][row] = (float)state->majority_rate;
        state->test_prob[MODEL_CNN_ONLY][row] = state->cnn_prob[OHLCX_PART_TEST][row];
    }
    return 0;
}


/* Fills realised[row] with close[t + horizon] / close[t] - 1 of every test
 * sample, the return that IC and rank IC correlate with the probability. */
static double *realised_returns(const run_state *state)
{
    size_t n_test = state->sample_count[OHLCX_PART_TEST];
    double *realised = malloc((n_test ? n_test : 1) * sizeof *realised);

    if (realised == NULL) {
        ohlcx_set_error(OHLCX_ENOMEM, "out of memory for %zu realised returns", n_test);
        return NULL;
    }
    for (size_t row = 0; row < n_test; row++) {
        const pipeline_sample *sample = &state->samples[OHLCX_PART_TEST][row];
        const ohlcx_series *bars = &state->series[sample->series].bars;

        realised[row] = bars->close[sample->t + (size_t)state->options->horizon] /
                            bars->close[sample->t] -
                        1.0;
    }
    return realised;
}


/* Lists the timeframes of the usable series, finest first, and writes each
 * test row's timeframe index and asset class into the two group arrays. */
static int list_test_groups(run_state *state, uint32_t *timeframe_group, uint32_t *class_group)
{
    size_t n_test = state->sample_count[OHLCX_PART_TEST];

    state->timeframes = calloc(state->series_count ? state->series_count : 1,
                               sizeof *state->timeframes);
    if (state->timeframes == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing timeframes");
    for (size_t s = 0; s < state->series_count; s++) {
        const char *timeframe = state->series[s].bars.timeframe;
        size_t position = 0;

        if (!state->series[s].usable)
            continue;
        while (position < state->timeframe_count &&
               strcmp(state->timeframes[position], timeframe) != 0)
            position++;
        if (position < state->timeframe_count)
            continue;
        /* Insertion by timeframe id, so the order does not depend on file order. */
        position = state->timeframe_count++;
        while (position > 0 && ohlcx_timeframe_id(state->timeframes[position - 1]) >
                                   ohlcx_timeframe_id(timeframe)) {
            memcpy(state->timeframes[position], state->timeframes[position - 1],
                   OHLCX_TIMEFRAME_MAX);
            position--;
        }
        snprintf(state->timeframes[position], OHLCX_TIMEFRAME_MAX, "%s", timeframe);
    }
    for (size_t row = 0; row < n_test; row++) {
        const ohlcx_series *bars = &state->series[state->samples[OHLCX_PART_TEST][row].series].bars;
        uint32_t g = 0;

        while (strcmp(state->timeframes[g], bars->timeframe) != 0)
            g++;
        timeframe_group[row] = g;
        class_group[row] = (uint32_t)bars->asset_class;
    }
    return 0;
}


/* Scores the combined model per timeframe and per asset class. */
static int evaluate_groups(run_state *state, const double *realised)
{
    size_t n_test = state->sample_count[OHLCX_PART_TEST];
    uint32_t *timeframe_group = malloc((n_test ? n_test : 1) * sizeof *timeframe_group);
    uint32_t *class_group = malloc((n_test ? n_test : 1) * sizeof *class_group);
    int status;

    if (timeframe_group == NULL || class_group == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory grouping %zu test rows", n_test);
        goto done;
    }
    status = list_test_groups(state, timeframe_group, class_group);
    if (status != 0)
        goto done;
    state->timeframe_metrics = calloc(state->timeframe_count ? state->timeframe_count : 1,
                                      sizeof *state->timeframe_metrics);
    if (state->timeframe_metrics == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory for per-timeframe metrics");
        goto done;
    }
    status = ohlcx_metrics_compute_groups(state->test_prob[MODEL_COMBINED],
                                          state->labels[OHLCX_PART_TEST], realised,
                                          timeframe_group, n_test, state->timeframe_count,
                                          state->timeframe_metrics);
    if (status == 0)
        status = ohlcx_metrics_compute_groups(state->test_prob[MODEL_COMBINED],
                                              state->labels[OHLCX_PART_TEST], realised,
                                              class_group, n_test, OHLCX_ASSET_COUNT,
                                              state->asset_class_metrics);

done:
    free(timeframe_group);
    free(class_group);
    return status;
}


int run_stage_evaluate(run_state *state)
{
    const uint8_t *labels = state->labels[OHLCX_PART_TEST];
    size_t n_test = state->sample_count[OHLCX_PART_TEST];
    double started = ohlcx_now_seconds();
    double *realised = realised_returns(state);
    int status = 0;

    if (realised == NULL)
        return OHLCX_ENOMEM;
    for (int model = 0; model < MODEL_COUNT && status == 0; model++)
        status = ohlcx_metrics_compute_ex(state->test_prob[model], labels, realised, n_test,
                                          &state->test_metrics[model]);

    /* Test rows of a series are contiguous, in series order. */
    state->series_metrics = calloc(state->series_count, sizeof *state->series_metrics);
    if (state->series_metrics == NULL) {
        free(realised);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for per-series metrics");
    }
    for (size_t row = 0; row < n_test && status == 0;) {
        uint32_t s = state->samples[OHLCX_PART_TEST][row].series;
        size_t end = row;

        while (end < n_test && state->samples[OHLCX_PART_TEST][end].series == s)
            end++;
        status = ohlcx_metrics_compute_ex(state->test_prob[MODEL_COMBINED] + row, labels + row,
                                          realised + row, end - row, &state->series_metrics[s]);
        row = end;
    }
    if (status == 0)
        status = evaluate_groups(state, realised);
    free(realised);
    state->timings[TIMING_PREDICT] += ohlcx_now_seconds() - started;
    return status;
}


static void run_state_free(run_state *state)
{
    pipeline_free_series(state->series, state->series_count);
    ohlcx_free_strings(state->files, state->file_count);
    for (int part = 0; part < OHLCX_PART_COUNT; part++) {
        free(state->samples[part]);
        free(state->labels[part]);
        free(state->embedding[part]);
        free(state->cnn_prob[part]);
    }
    for (int model = 0; model < MODEL_COUNT; model++)
        free(state->test_prob[model]);
    free(state->groups);
    free(state->series_metrics);
    free(state->timeframes);
    free(state->timeframe_metrics);
    free(state->folds);
    ohlcx_gbdt_free(state->model);
}


/* Removes one file, when it exists. */
static int remove_if_present(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return ohlcx_set_error(OHLCX_EIO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}


/* Removes the outputs of an earlier run in the same folder: the manifest and
 * metrics first, then every model/cnn-*.bin and model/xgboost.json, so that
 * no CNN of the earlier run stays next to fewer new ones. The manifest is
 * written last, so a run that fails leaves no manifest, and `ohlcx predict`
 * never pairs new weights with an old manifest. */
static int remove_previous_outputs(const char *out_dir)
{
    static const char *names[] = {"model/manifest.json", "metrics.json", "model/xgboost.json"};
    char folder[OHLCX_PATH_MAX + 16], path[OHLCX_PATH_MAX + 320];
    struct dirent *entry;
    DIR *dir;
    int status = 0;

    for (size_t i = 0; i < sizeof names / sizeof *names && status == 0; i++) {
        snprintf(path, sizeof path, "%s/%s", out_dir, names[i]);
        status = remove_if_present(path);
    }
    if (status != 0)
        return status;

    snprintf(folder, sizeof folder, "%s/model", out_dir);
    dir = opendir(folder);
    if (dir == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", folder, strerror(errno));
    while (status == 0 && (entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        size_t length = strlen(name);

        if (strncmp(name, "cnn-", 4) != 0 || length <= 8 || strcmp(name + length - 4, ".bin") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", folder, name);
        status = remove_if_present(path);
    }
    closedir(dir);
    return status;
}


/* Digests the name, timeframe and file hash (or store version) of every
 * series loaded, so that resuming can tell whether the inputs changed. */
static int digest_data(run_state *state)
{
    size_t line = OHLCX_SYMBOL_MAX + OHLCX_TIMEFRAME_MAX + 96;
    char *text = malloc(state->series_count * line + 1);
    size_t used = 0;

    if (text == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory digesting %zu series",
                               state->series_count);
    for (size_t s = 0; s < state->series_count; s++) {
        const pipeline_series *series = &state->series[s];

        used += (size_t)snprintf(text + used, line, "%s %s %s %lld\n", series->bars.symbol,
                                 series->bars.timeframe, series->sha256,
                                 (long long)series->store_version);
    }
    ohlcx_sha256_hex(text, used, state->data_sha256);
    free(text);
    return 0;
}


/* Checks a resumed run's options against its record. */
static int check_resume_arguments(run_state *state)
{
    int status = run_checkpoint_check_arguments(state);

    if (status == 0)
        ohlcx_log_info("resuming the run in %s from its checkpoints", state->options->out_dir);
    return status;
}


/* After loading: digests the data and, for a resumed run, checks the digest
 * against its record. */
static int check_checkpoint_data(run_state *state)
{
    int status = digest_data(state);

    if (status == 0 && state->options->resume)
        status = run_checkpoint_check_data(state);
    return status;
}


/* After the features stage: checks every CNN checkpoint that a resumed run
 * will read, so that a damaged or foreign one fails before any output is
 * removed. */
static int check_resume_checkpoints(const run_state *state)
{
    int status = 0;

    for (int g = 0; g < state->group_count && status == 0; g++)
        status = check_group_checkpoint(state, g);
    return status;
}


/* Prepares the run folder once the inputs are loaded and checked: removes
 * the outputs of an earlier run and, unless resuming, its checkpoints, and
 * records this run's options and data. */
static int prepare_out_dir(const run_state *state)
{
    char model_dir[OHLCX_PATH_MAX + 16];
    int status;

    snprintf(model_dir, sizeof model_dir, "%s/model", state->options->out_dir);
    status = ohlcx_make_dirs(model_dir);
    if (status == 0)
        status = remove_previous_outputs(state->options->out_dir);
    if (status == 0 && !state->options->resume)
        status = run_checkpoints_clear(state);
    if (status == 0 && !state->options->resume)
        status = run_checkpoint_write_arguments(state);
    return status;
}


int ohlcx_run(const ohlcx_run_options *options)
{
    run_state state;
    double started = ohlcx_now_seconds(), stage_started;
    int status;

    memset(&state, 0, sizeof state);
    state.options = options;
    state.jobs = options->jobs > 0 ? options->jobs : pipeline_default_jobs();
    status = check_options(options);
    if (status == 0)
        status = pipeline_higher_set(options->higher_timeframes, options->higher_count,
                                     "--higher", &state.higher);
    state.higher.debug_leak = options->debug_leak;
    if (options->debug_leak != OHLCX_DEBUG_LEAK_NONE)
        ohlcx_log_warn("--debug-leak: the model reads the next bar's return, a deliberate "
                       "look-ahead leak for testing 'ohlcx lookahead'; never use it for a "
                       "real model");
    /* Nothing in the run folder changes until the inputs are loaded and
     * checked, and for a resume, until its arguments, data and every CNN
     * checkpoint are checked. Only the demo universe, an input itself, is
     * written before. */
    if (status == 0 && options->resume)
        status = check_resume_arguments(&state);
    if (status != 0)
        return status;
    pipeline_set_blas_threads(state.jobs);

    stage_started = ohlcx_now_seconds();
    status = stage_load(&state);
    if (status == 0)
        status = check_checkpoint_data(&state);
    state.timings[TIMING_LOAD] = ohlcx_now_seconds() - stage_started;
    if (status == 0) {
        stage_started = ohlcx_now_seconds();
        status = stage_features(&state);
        state.timings[TIMING_FEATURES] = ohlcx_now_seconds() - stage_started;
    }
    if (status == 0 && options->resume)
        status = check_resume_checkpoints(&state);
    if (status == 0)
        status = prepare_out_dir(&state);
    if (status == 0 && options->walk_forward)
        status = run_walk_forward(&state);
    if (status == 0 && !options->walk_forward)
        status = run_stage_cnn(&state);
    if (status == 0 && !options->walk_forward)
        status = run_stage_gbdt(&state);
    if (status == 0)
        status = run_stage_evaluate(&state);
    state.timings[TIMING_TOTAL] = ohlcx_now_seconds() - started;
    if (status == 0)
        status = run_write_outputs(&state);
    if (status == 0)
        run_print_table(&state);
    run_state_free(&state);
    return status;
}
