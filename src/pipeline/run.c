/*
 * `ohlcx run`: the training pipeline from candle files to a model bundle.
 *
 * Stages run in order and each records its wall time:
 *   load      read, validate and hash the input files
 *   features  indicators (with those of any higher timeframes), splits and
 *             labels of every series
 *   cnn_train one CNN per group (a symbol, an asset class, or every series)
 *             on cnn_train, checkpointed after every epoch
 *   embed     CNN embeddings and probabilities of the later parts, written
 *             to a scratch file in the run folder
 *   xgb_train the combined model and the baseline without CNN features
 *   predict   test-part predictions and metrics
 * With --walk-forward, walkforward.c runs cnn_train to predict once per fold
 * and this file then scores the test rows of all folds.
 * For resources and the progress line (monitor.h), these group into the
 * stages load, features, cnn (cnn_train), xgboost (embed, xgb_train and the
 * test predictions) and evaluate, each measured from its start to its end.
 * Each finished stage is recorded in checkpoints/stages.json (stages.c),
 * from which --resume continues.
 * CNN training builds each mini-batch's windows on request from the sample
 * lists, so a group's training holds one or two size_t per sample (the
 * shuffled order, and the group's rows unless it has every row of the part)
 * instead of 5 x window floats. The XGBoost stage likewise reads each
 * sample's embedding from the scratch file when a batch needs it instead of
 * holding it (see run_embedder).
 * NOTE: the bars and features of every series, each sample's row and
 * label, and XGBoost's quantile matrix of xgb_train stay in memory, so
 * memory still grows with the samples.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/gbdt.h"
#include "ohlcx/store.h"
#include "ohlcx/synth.h"
#include "ohlcx/universe.h"
#include "pipeline/run_state.h"
#include "util/libraries.h"
#include "util/util.h"

/* Maximum samples of one CNN forward call of the XGBoost stage. */
#define EMBED_CHUNK 2048

/* A run calibrates the rates of `ohlcx plan` for its first time-left
 * estimate only when its CNN work (epochs x cnn_train samples) is at least
 * 3e7 sample-epochs: about 300 s at 100,000 samples/s, the bf16 rate of 2
 * cores measured on a Xeon. The two to three seconds of calibration then add
 * about 1% or less. A smaller run takes its estimate from the rates it
 * measures itself. */
#define ETA_CALIBRATION_MIN_WORK 3e7


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
    options->symbol_embedding = 8;
    options->learning_rate = 1e-3f;
    options->lr_schedule = OHLCX_LR_CONSTANT;
    options->lr_step_epochs = 10;
    options->lr_gamma = 0.1f;
    options->bad_rows = OHLCX_BAD_ROWS_FAIL;
    options->price_per_core_hour = 0.04;
    options->monthly_budget = 1000;
}


/* Sets the architecture that every CNN of a run shares: options->architecture
 * or the default, reading the run's window and the window channels. Unused
 * stages are zeroed, as a network stores them, so that configurations
 * compare equal byte for byte. The symbol embedding is left out: only
 * --cnn global adds it, sized from the data. */
static void base_cnn_config(const ohlcx_run_options *options, ohlcx_cnn_config *config)
{
    ohlcx_cnn_config_default(config);
    if (options->architecture != NULL) {
        config->conv_count = options->architecture->conv_count;
        for (int i = 0; i < OHLCX_CNN_MAX_CONV; i++)
            config->conv[i] = options->architecture->conv[i];
        config->batch_norm = options->architecture->batch_norm;
        config->dropout = options->architecture->dropout;
        config->hidden = options->architecture->hidden;
    }
    for (int i = config->conv_count; i >= 0 && i < OHLCX_CNN_MAX_CONV; i++)
        config->conv[i] = (ohlcx_cnn_conv){0, 0, 0, 0};
    config->channels = OHLCX_WINDOW_CHANNELS;
    config->window = options->window;
    config->symbols = 0;
    config->symbol_dim = 0;
}


/* Returns 1 when the run's CNNs learn a symbol embedding. */
static int uses_symbol_embedding(const ohlcx_run_options *options)
{
    return options->cnn_mode == OHLCX_CNN_GLOBAL && options->symbol_embedding > 0;
}


/* Fails when the CNN settings cannot build or train a network, before any
 * input is read: builds one with two symbol rows where the run would use
 * an embedding. */
static int check_cnn_options(const ohlcx_run_options *options)
{
    ohlcx_cnn_config config;
    ohlcx_cnn *cnn;

    if (!(options->learning_rate > 0) || !isfinite(options->learning_rate))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid CNN learning_rate %g: use more than 0",
                               (double)options->learning_rate);
    if (!(options->weight_decay >= 0) || !isfinite(options->weight_decay))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid CNN weight_decay %g: use 0 or more",
                               (double)options->weight_decay);
    if (options->lr_schedule != OHLCX_LR_CONSTANT && options->lr_schedule != OHLCX_LR_STEP &&
        options->lr_schedule != OHLCX_LR_COSINE)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid learning-rate schedule %d",
                               options->lr_schedule);
    if (options->lr_step_epochs < 1 || !(options->lr_gamma > 0) || !isfinite(options->lr_gamma))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid step schedule: step_epochs %d and gamma "
                               "%g must be above 0", options->lr_step_epochs,
                               (double)options->lr_gamma);
    if (options->symbol_embedding < 0 || options->symbol_embedding > 4096)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid symbol_embedding %d: use 0 to 4096",
                               options->symbol_embedding);

    base_cnn_config(options, &config);
    /* predict builds rows with an embedding of at most 256 floats. */
    if (config.hidden > 256)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid CNN embedding %d: use 1 to 256",
                               config.hidden);
    if (uses_symbol_embedding(options)) {
        config.symbols = 2;
        config.symbol_dim = options->symbol_embedding;
    }
    cnn = ohlcx_cnn_create(&config, 0);
    if (cnn == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid CNN architecture for window %d: %s",
                               options->window, ohlcx_last_error());
    ohlcx_cnn_free(cnn);
    return 0;
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
    if (options->walk_forward && options->max_samples_per_series > 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "--max-samples-per-series does not apply to --walk-forward, "
                               "whose folds set their own training ranges: use --train-period "
                               "to bound them");
    if (!isfinite(options->price_per_core_hour) || options->price_per_core_hour < 0)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --price-per-core-hour %g: use 0 or more",
                               options->price_per_core_hour);
    if (!isfinite(options->monthly_budget) || options->monthly_budget <= 0)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid --monthly-budget %g: use more than 0",
                               options->monthly_budget);
    if (options->walk_forward && options->resume)
        return ohlcx_set_error(OHLCX_EINVAL, "--resume does not support --walk-forward runs: "
                                             "start the run again");
    return check_cnn_options(options);
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
        /* Ingest filled the short gaps of each file; this fills any left
         * between files and finds the long gaps of the merged series. */
        status = pipeline_repair_gaps(series);
        pipeline_drop_extra_columns(&series->bars);
    }
    if (status == 0)
        ohlcx_log_info("read %zu series from the store %s", count, options->store_dir);
    ohlcx_store_entries_free(entries, count);
    ohlcx_store_close(store);
    return status;
}


/* Counts the bytes of the input files as the load stage's work, and
 * returns them. */
static double set_load_total(run_state *state)
{
    double bytes = 0;

    for (size_t i = 0; i < state->file_count; i++) {
        struct stat info;

        if (stat(state->files[i], &info) == 0)
            bytes += (double)info.st_size;
    }
    run_monitor_set_total(&state->monitor, RUN_WORK_LOAD_BYTES, bytes);
    return bytes;
}


/* Reads the input files, or the demo universe when there are none. */
static int load_files(run_state *state)
{
    const ohlcx_run_options *options = state->options;
    const char *demo_inputs[1];
    const char *const *inputs = options->inputs;
    size_t input_count = options->input_count;
    char demo_folder[OHLCX_PATH_MAX];
    double load_bytes;
    int status;

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

    load_bytes = set_load_total(state);
    ohlcx_log_info("loading %zu file%s on %d thread%s", state->file_count,
                   state->file_count == 1 ? "" : "s", state->jobs, state->jobs == 1 ? "" : "s");
    ohlcx_layout_options layout = {.columns = options->columns, .tz = options->tz};
    run_monitor_begin(&state->monitor, RUN_WORK_LOAD_BYTES);
    status = pipeline_load(state->files, state->file_count, options->symbol, options->timeframe,
                           options->bad_rows, &layout, state->jobs, &state->series);
    run_monitor_end(&state->monitor, RUN_WORK_LOAD_BYTES);
    if (status != 0)
        return status;
    run_monitor_advance(&state->monitor, RUN_WORK_LOAD_BYTES, load_bytes);
    state->series_count = state->file_count;
    return 0;
}


/* With --universe, keeps the loaded series that the universe lists, with its
 * asset classes (see pipeline_select_universe()). */
static int select_universe(run_state *state, const char *source)
{
    ohlcx_universe universe;
    int status;

    if (state->options->universe_path == NULL)
        return 0;
    status = ohlcx_universe_load(state->options->universe_path, &universe);
    if (status == 0)
        status = pipeline_select_universe(&universe, source, state->series,
                                          &state->series_count);
    ohlcx_universe_free(&universe);
    return status;
}


static int stage_load(run_state *state)
{
    const ohlcx_run_options *options = state->options;
    int status;

    if (options->store_dir != NULL && options->input_count > 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "--store and input files exclude each other: ingest the "
                               "files into the store first");
    if (options->store_dir != NULL)
        status = load_from_store(state);
    else
        status = load_files(state);
    if (status == 0)
        status = select_universe(state, options->store_dir != NULL ? options->store_dir
                                                                    : "the input files");
    if (status != 0)
        return status;
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


/* Sets skip[part] to the training samples of a series that
 * --max-samples-per-series leaves out, the earliest of each training part:
 * each keeps floor(cap x its share), at least one sample. */
static void cap_training_samples(const run_state *state, const pipeline_series *series,
                                 size_t skip[OHLCX_PART_COUNT])
{
    static const int parts[] = {OHLCX_PART_CNN_TRAIN, OHLCX_PART_XGB_TRAIN};
    size_t cap = state->options->max_samples_per_series;
    size_t kept[2] = {0, 0}, total;

    memset(skip, 0, OHLCX_PART_COUNT * sizeof *skip);
    if (cap == 0)
        return;
    for (int i = 0; i < 2; i++)
        for (size_t t = series->split.begin[parts[i]]; t < series->split.end[parts[i]]; t++)
            kept[i] += !(series->long_gaps > 0 && sample_excluded(state, series, t));
    total = kept[0] + kept[1];
    if (total <= cap)
        return;
    for (int i = 0; i < 2; i++) {
        size_t quota = (size_t)((double)cap * (double)kept[i] / (double)total);

        if (quota < 1)
            quota = 1;
        if (quota < kept[i])
            skip[parts[i]] = kept[i] - quota;
    }
}


/* Appends the samples of series s to every part, leaving out those that
 * cross a long gap and the earliest training samples above the cap. */
static int add_samples(run_state *state, uint32_t s)
{
    pipeline_series *series = &state->series[s];
    size_t skip[OHLCX_PART_COUNT];
    size_t ups = 0, labels = 0;

    cap_training_samples(state, series, skip);
    series->samples_capped = skip[OHLCX_PART_CNN_TRAIN] + skip[OHLCX_PART_XGB_TRAIN];
    state->samples_capped += series->samples_capped;

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
            if (skip[part] > 0) {
                skip[part]--;
                continue;
            }
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


static int compare_symbols(const void *a, const void *b)
{
    return strcmp(a, b);
}


/*
 * Lists the symbols of the usable series in byte order, one embedding row
 * each, and gives each series its row when the run learns a symbol
 * embedding. Otherwise every series gets -1. The CNN has one row more, for
 * symbols it was not trained on (see set_unknown_symbol_row()).
 */
static int assign_symbol_ids(run_state *state)
{
    size_t count = 0;

    for (size_t s = 0; s < state->series_count; s++)
        state->series[s].symbol_id = -1;
    if (!uses_symbol_embedding(state->options))
        return 0;
    state->symbols = calloc(state->series_count ? state->series_count : 1,
                            sizeof *state->symbols);
    if (state->symbols == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing symbols");
    for (size_t s = 0; s < state->series_count; s++)
        if (state->series[s].usable)
            snprintf(state->symbols[count++], sizeof state->symbols[0], "%s",
                     state->series[s].bars.symbol);
    qsort(state->symbols, count, sizeof *state->symbols, compare_symbols);
    state->symbol_count = 0;
    for (size_t i = 0; i < count; i++)
        if (state->symbol_count == 0 ||
            strcmp(state->symbols[state->symbol_count - 1], state->symbols[i]) != 0)
            memmove(state->symbols[state->symbol_count++], state->symbols[i],
                    sizeof state->symbols[0]);
    for (size_t s = 0; s < state->series_count; s++) {
        const char (*found)[OHLCX_SYMBOL_MAX];

        if (!state->series[s].usable)
            continue;
        found = bsearch(state->series[s].bars.symbol, state->symbols,
                        (size_t)state->symbol_count, sizeof *state->symbols, compare_symbols);
        state->series[s].symbol_id = (int)(found - state->symbols);
    }
    return 0;
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

    run_monitor_set_total(&state->monitor, RUN_WORK_FEATURE_BARS, (double)state->rows_read);
    run_monitor_begin(&state->monitor, RUN_WORK_FEATURE_BARS);
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
    run_monitor_end(&state->monitor, RUN_WORK_FEATURE_BARS);
    if (status != 0)
        return status;
    run_monitor_advance(&state->monitor, RUN_WORK_FEATURE_BARS, (double)state->rows_read);
    warn_unfed_higher(state);
    if (state->group_count == 0)
        return ohlcx_set_error(OHLCX_EDATA,
                               "no input series is long enough to train on: each needs at "
                               "least a few hundred bars with --window %d, and samples in "
                               "every part that read across no gap longer than %d bars",
                               state->options->window, PIPELINE_MAX_FILL_GAP);
    status = assign_symbol_ids(state);
    if (status != 0)
        return status;
    for (int part = 0; part < OHLCX_PART_COUNT; part++)
        state->total_samples += state->sample_count[part];
    if (state->samples_capped > 0)
        ohlcx_log_info("--max-samples-per-series %zu left out the %zu earliest training samples "
                       "of the longer series",
                       state->options->max_samples_per_series, state->samples_capped);
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
                              float *y, int32_t *ids)
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
        if (ids != NULL)
            ids[i] = state->series[sample->series].symbol_id;
    }
    return 0;
}


/* Progress of one group's CNN training. Units are training samples of
 * this process's epochs: epochs that a resumed training skips are not
 * counted as done, so they do not inflate the measured rate. */
typedef struct cnn_progress {
    run_state *state;
    const char *group;
    int started;          /* 1 after the first mini-batch */
    size_t first_units;   /* units before the first mini-batch of this process */
    size_t last_units;    /* units counted so far */
} cnn_progress;


/* Counts the samples done and shows the group's epoch. Early stopping can
 * end the training sooner, so the time left is an upper bound. */
static void draw_cnn_progress(void *context, int epoch, int max_epochs, size_t done, size_t total)
{
    cnn_progress *progress = context;
    run_monitor *monitor = &progress->state->monitor;
    size_t units = (size_t)(epoch - 1) * total + done;

    if (!progress->started) {
        progress->started = 1;
        progress->first_units = units - done;
        progress->last_units = progress->first_units;
    }
    run_monitor_advance(monitor, RUN_WORK_CNN_SAMPLES, (double)(units - progress->last_units));
    progress->last_units = units;
    run_monitor_set_detail(monitor, "%s epoch %d of at most %d, %.0f%%", progress->group, epoch,
                           max_epochs, 100.0 * (double)done / (double)total);
    /* Clear the line at the end of an epoch, so the epoch's log line starts
     * on an empty line. */
    if (done == total)
        run_monitor_clear_line(monitor);
}


/* Sets the CNN configuration and the training options of one group. The
 * checkpoint path goes into checkpoint, which train_options then points to. */
static void group_training_setup(const run_state *state, int group, ohlcx_cnn_config *config,
                                 ohlcx_cnn_train_options *train_options, char *checkpoint,
                                 size_t checkpoint_size)
{
    const ohlcx_run_options *options = state->options;
    char hash[65], checkpoint_name[32];

    *config = state->cnn_config;
    if (state->symbol_count > 0) {
        config->symbols = state->symbol_count + 1;
        config->symbol_dim = options->symbol_embedding;
    }
    ohlcx_cnn_train_options_default(train_options);
    train_options->batch_size = options->batch_size;
    train_options->max_epochs = options->epochs;
    train_options->patience = options->patience;
    train_options->learning_rate = options->learning_rate;
    train_options->weight_decay = options->weight_decay;
    train_options->lr_schedule = options->lr_schedule;
    train_options->lr_step_epochs = options->lr_step_epochs;
    train_options->lr_gamma = options->lr_gamma;
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
        status = ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: %s is of another CNN "
                                 "architecture (window %d, %d stages, hidden %d, %d symbol "
                                 "rows), this run builds window %d, %d stages, hidden %d and "
                                 "%d symbol rows: run without --resume to start over",
                                 state->options->out_dir, checkpoint, saved.config.window,
                                 saved.config.conv_count, saved.config.hidden,
                                 saved.config.symbols, config.window, config.conv_count,
                                 config.hidden, config.symbols);
    else if (saved.weight_decay != train_options.weight_decay ||
             saved.lr_schedule != train_options.lr_schedule ||
             saved.lr_step_epochs != train_options.lr_step_epochs ||
             saved.lr_gamma != train_options.lr_gamma)
        status = ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: %s was written with another "
                                 "weight_decay or learning-rate schedule: run without --resume "
                                 "to start over", state->options->out_dir, checkpoint);
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


/*
 * Sets the last row of the symbol embedding, which no training sample
 * uses, to the mean of the learned rows: the row that predict gives a
 * symbol the CNN was not trained on.
 */
static int set_unknown_symbol_row(ohlcx_cnn *cnn)
{
    const ohlcx_cnn_config *config = ohlcx_cnn_get_config(cnn);
    size_t dim = (size_t)config->symbol_dim, rows = (size_t)config->symbols, size = 0;
    float *table = NULL;

    for (int b = 0; b < ohlcx_cnn_param_count(cnn) && table == NULL; b++)
        if (strcmp(ohlcx_cnn_param_name(cnn, b), "symbol.embedding") == 0)
            table = ohlcx_cnn_param(cnn, b, &size);
    if (table == NULL || size != rows * dim)
        return ohlcx_set_error(OHLCX_EINVAL, "the CNN has no symbol embedding of %zu x %zu",
                               rows, dim);
    for (size_t d = 0; d < dim; d++) {
        double sum = 0;

        for (size_t r = 0; r + 1 < rows; r++)
            sum += table[r * dim + d];
        table[(rows - 1) * dim + d] = (float)(sum / (double)(rows - 1));
    }
    return 0;
}


/* Trains the CNN of one group, or loads the one that a resumed run
 * finished, saves it into the bundle and keeps it in the group. */
static int train_group(run_state *state, int group)
{
    const ohlcx_run_options *options = state->options;
    ohlcx_cnn_config config;
    ohlcx_cnn_train_options train_options;
    ohlcx_cnn *cnn = NULL;
    group_rows train_rows = {0}, val_rows = {0};
    ohlcx_sample_source train, validation;
    char path[OHLCX_PATH_MAX + 64];
    char checkpoint[OHLCX_PATH_MAX + 64];
    cnn_progress progress = {state, state->groups[group].name, 0, 0, 0};
    double group_work;
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
    train_options.progress = draw_cnn_progress;
    train_options.progress_context = &progress;
    run_monitor_set_detail(&state->monitor, "%s", state->groups[group].name);

    ohlcx_log_info("cnn %s: training on %zu windows, validating on %zu",
                   state->groups[group].name, train.count, validation.count);
    cnn = ohlcx_cnn_create(&config, train_options.seed);
    if (cnn == NULL) {
        status = OHLCX_ENOMEM;
        goto done;
    }
    run_monitor_begin(&state->monitor, RUN_WORK_CNN_SAMPLES);
    status = ohlcx_cnn_train_source(cnn, &train, &validation, &train_options,
                                    &state->groups[group].history);
    run_monitor_end(&state->monitor, RUN_WORK_CNN_SAMPLES);
    run_monitor_clear_line(&state->monitor);
    if (status == 0 && state->symbol_count > 0)
        status = set_unknown_symbol_row(cnn);
    if (status != 0)
        goto done;
    /* Remove the work this process did not do: epochs after an early stop,
     * and those that a resumed training had finished before. */
    group_work = (double)options->epochs * (double)train.count;
    run_monitor_add_total(&state->monitor, RUN_WORK_CNN_SAMPLES,
                          -(group_work - (double)(progress.last_units - progress.first_units)));

    snprintf(state->groups[group].file, sizeof state->groups[group].file, "cnn-%03d.bin", group);
    snprintf(path, sizeof path, "%s/model/%s", options->out_dir, state->groups[group].file);
    status = ohlcx_cnn_save(cnn, path);
    if (status == 0) {
        state->groups[group].cnn = cnn;
        cnn = NULL;
    }

done:
    ohlcx_cnn_free(cnn);
    free(train_rows.rows);
    free(val_rows.rows);
    return status;
}


void run_free_cnns(run_state *state)
{
    for (int g = 0; g < state->group_count; g++) {
        ohlcx_cnn_free(state->groups[g].cnn);
        state->groups[g].cnn = NULL;
    }
}


int run_stage_cnn(run_state *state)
{
    double started = ohlcx_now_seconds();
    int status = 0;

    state->hidden = state->cnn_config.hidden;
    for (int g = 0; g < state->group_count && status == 0; g++) {
        status = train_group(state, g);
        if (status == 0 && g == 0)
            run_test_kill_point(RUN_STAGE_CNN, "middle");
    }
    state->timings[TIMING_CNN_TRAIN] = ohlcx_now_seconds() - started;
    return status;
}


/* Rows handed to XGBoost per batch: a few megabytes of floats, so the
 * feature matrix of a part is never held whole. */
#define GBDT_BATCH_ROWS 16384

/* Memory of XGBoost 1.7.4's training on a quantile matrix, per value and
 * per row. Measured as the rise of the peak resident set between 0.25 and
 * 1 million random rows of 13, 45 and 100 columns, 5 rounds on 2 threads
 * (2-core Xeon): 3.35 bytes a value and 26 a row. */
#define XGBOOST_BYTES_PER_VALUE 3.4
#define XGBOOST_BYTES_PER_ROW 26.0


/*
 * CNN outputs of the later parts, computed once and kept in a scratch file.
 * Before XGBoost trains, each group's CNN embeds its samples of xgb_train,
 * validation and test (only test when the models are restored), one
 * forward pass per sample, and the network is freed. Each row's embedding
 * and probability, hidden + 1 floats, go to an unnamed file in the run
 * folder (pipeline_scratch), and each batch that XGBoost reads takes its
 * rows back with pread(). The kernel keeps the file in its page cache or
 * writes it to disk, so it adds nothing to the process's resident set.
 * XGBoost 1.7 reads xgb_train 4 times to build its quantile matrix and the
 * validation rows after every round, but the CNNs run once.
 *
 * The file contains the parts one after the other, each in row order. Row
 * r of part p starts at byte part_offset[p] + r * (hidden + 1) * 4, with
 * its embedding first and its probability last.
 *
 * A row's outputs can depend on the call that computes them.
 * ohlcx_cnn_predict() splits a call into chunks of 256 samples (nn.h) and,
 * with several threads, each chunk into a shard per thread, unless the
 * call has fewer than 256 samples. The kernels (oneDNN 2.6, OpenBLAS
 * 0.3.21) round differently for a few samples: at hidden 32, the
 * embeddings of chunks or shards of fewer than 38 samples differed in the
 * last bits from the same samples in larger ones. So the calls have one
 * fixed layout: a group's rows of a part, in row order, EMBED_CHUNK at a
 * time, the last call taking the rest.
 */

/* Where the samples of one series sit in a part: rows first_row to
 * first_row + count - 1. */
typedef struct series_rows {
    size_t first_row;
    size_t count;
} series_rows;

typedef struct run_embedder {
    run_state *state;
    series_rows *series_rows[OHLCX_PART_COUNT]; /* per series, for the parts after cnn_train */
    uint32_t *group_series; /* the usable series, group by group, in series order */
    size_t *group_first;    /* group g: group_series[group_first[g] .. group_first[g + 1]) */
    size_t stride;          /* floats of one row in the file: hidden + 1 */
    float *windows;         /* EMBED_CHUNK windows */
    int32_t *ids;           /* EMBED_CHUNK symbol ids */
    float *prob;            /* EMBED_CHUNK */
    float *embedding;       /* EMBED_CHUNK x hidden */
    float *outputs;         /* EMBED_CHUNK rows as the file stores them */
    size_t *rows;           /* part rows of the chunk being embedded */
    pipeline_scratch scratch;
    uint64_t part_offset[OHLCX_PART_COUNT]; /* byte of each part's first row in the file */
    double seconds;         /* spent embedding, window building and writes included */
} run_embedder;


static void embedder_free(run_embedder *embedder)
{
    for (int part = 0; part < OHLCX_PART_COUNT; part++)
        free(embedder->series_rows[part]);
    free(embedder->group_series);
    free(embedder->group_first);
    free(embedder->windows);
    free(embedder->ids);
    free(embedder->prob);
    free(embedder->embedding);
    free(embedder->outputs);
    free(embedder->rows);
    pipeline_scratch_close(&embedder->scratch);
    memset(embedder, 0, sizeof *embedder);
    embedder->scratch.fd = -1;
}


/* Lists the usable series of each group in series order. */
static int list_group_series(run_embedder *embedder)
{
    const run_state *state = embedder->state;
    size_t *next;

    embedder->group_first = calloc((size_t)state->group_count + 1, sizeof *embedder->group_first);
    embedder->group_series = malloc((state->series_count ? state->series_count : 1) *
                                    sizeof *embedder->group_series);
    if (embedder->group_first == NULL || embedder->group_series == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing %zu series",
                               state->series_count);
    for (size_t s = 0; s < state->series_count; s++)
        if (state->series[s].usable)
            embedder->group_first[state->series[s].group + 1]++;
    for (int g = 0; g < state->group_count; g++)
        embedder->group_first[g + 1] += embedder->group_first[g];

    next = malloc(((size_t)state->group_count + 1) * sizeof *next);
    if (next == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing %d groups",
                               state->group_count);
    memcpy(next, embedder->group_first, ((size_t)state->group_count + 1) * sizeof *next);
    for (size_t s = 0; s < state->series_count; s++)
        if (state->series[s].usable)
            embedder->group_series[next[state->series[s].group]++] = (uint32_t)s;
    free(next);
    return 0;
}


/* Finds each series' rows in a part. The stages list the samples of a part
 * series by series, so each series' rows are contiguous, and a group's
 * rows in row order are its series' rows in series order. Anything else is
 * an internal error. A series may have no rows in a part (an embargo of
 * --walk-forward can take them all). */
static int index_part(run_embedder *embedder, int part)
{
    const run_state *state = embedder->state;
    series_rows *rows = calloc(state->series_count ? state->series_count : 1, sizeof *rows);
    uint32_t previous = 0;

    embedder->series_rows[part] = rows;
    if (rows == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory indexing the %s part",
                               ohlcx_part_name(part));
    for (size_t row = 0; row < state->sample_count[part]; row++) {
        uint32_t s = state->samples[part][row].series;

        if (rows[s].count == 0 && (row == 0 || s > previous)) {
            rows[s].first_row = row;
        } else if (rows[s].count == 0 || rows[s].first_row + rows[s].count != row) {
            return ohlcx_set_error(OHLCX_EINVAL, "internal error: the %s samples of %s are "
                                   "not contiguous and in series order at row %zu",
                                   ohlcx_part_name(part), state->series[s].bars.source_path,
                                   row);
        }
        rows[s].count++;
        previous = s;
    }
    return 0;
}


/* Returns 1 when the run embeds a part: every part after cnn_train, or
 * only test when the XGBoost models are restored instead of trained. */
static int part_embedded(const run_state *state, int part)
{
    if (part == OHLCX_PART_CNN_TRAIN)
        return 0;
    return !state->gbdt_restore || part == OHLCX_PART_TEST;
}


/* Returns the bytes of the scratch file: hidden + 1 floats for each
 * sample that the run embeds. */
static uint64_t scratch_bytes(const run_state *state)
{
    uint64_t rows = 0;

    for (int part = 0; part < OHLCX_PART_COUNT; part++)
        if (part_embedded(state, part))
            rows += state->sample_count[part];
    return rows * ((uint64_t)state->cnn_config.hidden + 1) * sizeof(float);
}


static int embedder_init(run_embedder *embedder, run_state *state)
{
    size_t window_floats = (size_t)OHLCX_WINDOW_CHANNELS * (size_t)state->options->window;
    uint64_t offset = 0;
    int status;

    memset(embedder, 0, sizeof *embedder);
    embedder->scratch.fd = -1;
    embedder->state = state;
    embedder->stride = (size_t)state->hidden + 1;
    status = list_group_series(embedder);
    for (int part = OHLCX_PART_XGB_TRAIN; part < OHLCX_PART_COUNT && status == 0; part++)
        status = index_part(embedder, part);
    if (status != 0)
        return status;
    embedder->windows = malloc(EMBED_CHUNK * window_floats * sizeof *embedder->windows);
    embedder->ids = malloc(EMBED_CHUNK * sizeof *embedder->ids);
    embedder->prob = malloc(EMBED_CHUNK * sizeof *embedder->prob);
    embedder->embedding = malloc(EMBED_CHUNK * (size_t)state->hidden *
                                 sizeof *embedder->embedding);
    embedder->outputs = malloc(EMBED_CHUNK * embedder->stride * sizeof *embedder->outputs);
    embedder->rows = malloc(EMBED_CHUNK * sizeof *embedder->rows);
    if (embedder->windows == NULL || embedder->ids == NULL || embedder->prob == NULL ||
        embedder->embedding == NULL || embedder->outputs == NULL || embedder->rows == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory computing embeddings");

    for (int part = 0; part < OHLCX_PART_COUNT; part++) {
        embedder->part_offset[part] = offset;
        if (part_embedded(state, part))
            offset += (uint64_t)state->sample_count[part] * embedder->stride * sizeof(float);
    }
    return pipeline_scratch_open(state->options->out_dir, scratch_bytes(state),
                                 &embedder->scratch);
}


/* Writes the outputs of the chunk's count rows of a part to the file, one
 * write per run of consecutive rows. */
static int write_chunk(run_embedder *embedder, int part, size_t count)
{
    size_t row_bytes = embedder->stride * sizeof(float);
    int status = 0;

    for (size_t first = 0; first < count && status == 0;) {
        size_t end = first + 1;

        while (end < count && embedder->rows[end] == embedder->rows[end - 1] + 1)
            end++;
        status = pipeline_scratch_write(&embedder->scratch, embedder->outputs + first *
                                                                embedder->stride,
                                        (end - first) * row_bytes,
                                        embedder->part_offset[part] +
                                            (uint64_t)embedder->rows[first] * row_bytes);
        first = end;
    }
    return status;
}


/* Embeds the count rows of a part listed in embedder->rows, all of one
 * group, with one call of its CNN, and writes their outputs to the file. */
static int embed_chunk(run_embedder *embedder, int part, int group, size_t count)
{
    run_state *state = embedder->state;
    const ohlcx_cnn *cnn = state->groups[group].cnn;
    size_t window_floats = (size_t)OHLCX_WINDOW_CHANNELS * (size_t)state->options->window;
    size_t hidden = (size_t)state->hidden;
    int status = 0;

    if (cnn == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "internal error: CNN group %s has no network",
                               state->groups[group].name);
    for (size_t i = 0; i < count && status == 0; i++) {
        const pipeline_sample *sample = &state->samples[part][embedder->rows[i]];
        const pipeline_series *series = &state->series[sample->series];

        status = ohlcx_window_fill(&series->bars, sample->t, state->options->window,
                                   embedder->windows + i * window_floats);
        embedder->ids[i] = series->symbol_id;
    }
    if (status == 0)
        status = state->symbol_count > 0 ?
                     ohlcx_cnn_predict_ids(cnn, embedder->windows, embedder->ids, count,
                                           embedder->prob, embedder->embedding) :
                     ohlcx_cnn_predict(cnn, embedder->windows, count, embedder->prob,
                                       embedder->embedding);
    if (status != 0)
        return status;

    for (size_t i = 0; i < count; i++) {
        float *out = embedder->outputs + i * embedder->stride;

        memcpy(out, embedder->embedding + i * hidden, hidden * sizeof *out);
        out[hidden] = embedder->prob[i];
    }
    state->embedded[part] += count;
    run_monitor_advance(&state->monitor, RUN_WORK_EMBED_SAMPLES, (double)count);
    return write_chunk(embedder, part, count);
}


/* Embeds a group's rows of a part in row order, EMBED_CHUNK at a time. */
static int embed_group_part(run_embedder *embedder, int group, int part)
{
    size_t filled = 0;
    int status = 0;

    for (size_t i = embedder->group_first[group];
         i < embedder->group_first[group + 1] && status == 0; i++) {
        const series_rows *place = &embedder->series_rows[part][embedder->group_series[i]];

        for (size_t k = 0; k < place->count && status == 0; k++) {
            embedder->rows[filled++] = place->first_row + k;
            if (filled == EMBED_CHUNK) {
                status = embed_chunk(embedder, part, group, filled);
                filled = 0;
            }
        }
    }
    if (status == 0 && filled > 0)
        status = embed_chunk(embedder, part, group, filled);
    return status;
}


/* Embeds every part that the XGBoost stage reads, group by group, into the
 * scratch file, and frees each group's CNN once its rows are written: the
 * bundle has its weights. */
static int embed_parts(run_embedder *embedder)
{
    run_state *state = embedder->state;
    double started = ohlcx_now_seconds();
    int status = 0;

    /* A resumed run that restores the XGBoost models embeds only test. */
    run_monitor_set_total(&state->monitor, RUN_WORK_EMBED_SAMPLES,
                          (double)(embedder->scratch.size / (embedder->stride * sizeof(float))));
    run_monitor_begin(&state->monitor, RUN_WORK_EMBED_SAMPLES);
    for (int g = 0; g < state->group_count && status == 0; g++) {
        run_monitor_set_detail(&state->monitor, "%s embeddings", state->groups[g].name);
        for (int part = 0; part < OHLCX_PART_COUNT && status == 0; part++)
            if (part_embedded(state, part))
                status = embed_group_part(embedder, g, part);
        ohlcx_cnn_free(state->groups[g].cnn);
        state->groups[g].cnn = NULL;
    }
    run_monitor_end(&state->monitor, RUN_WORK_EMBED_SAMPLES);
    run_monitor_finish(&state->monitor, RUN_WORK_EMBED_SAMPLES);
    embedder->seconds += ohlcx_now_seconds() - started;
    return status;
}


/* The XGBoost rows of one part; hidden 0 leaves out the embedding. */
typedef struct part_rows {
    const run_state *state;
    run_embedder *embedder; /* reads the CNN outputs back; unused with hidden 0 */
    int part;
    int hidden;
    size_t columns;
} part_rows;


/* Fills rows first to first + count - 1 of a part: the XGBoost row into x,
 * the label into y and the CNN's probability into cnn_prob, each unless
 * NULL (cnn_prob needs hidden above 0). The CNN outputs are read back
 * EMBED_CHUNK rows at a time. */
static int fill_rows(const part_rows *rows, size_t first, size_t count, float *x, float *y,
                     float *cnn_prob)
{
    const run_state *state = rows->state;
    run_embedder *embedder = rows->embedder;

    for (size_t done = 0; done < count;) {
        size_t block = count - done < EMBED_CHUNK ? count - done : EMBED_CHUNK;

        if (rows->hidden > 0) {
            size_t row_bytes = embedder->stride * sizeof(float);
            int status = pipeline_scratch_read(&embedder->scratch, embedder->outputs,
                                               block * row_bytes,
                                               embedder->part_offset[rows->part] +
                                                   (uint64_t)(first + done) * row_bytes);

            if (status != 0)
                return status;
        }
        for (size_t i = done; i < done + block; i++) {
            const pipeline_sample *sample = &state->samples[rows->part][first + i];
            const float *outputs = NULL;

            if (rows->hidden > 0) {
                outputs = embedder->outputs + (i - done) * embedder->stride;
                if (cnn_prob != NULL)
                    cnn_prob[i] = outputs[rows->hidden];
            }
            if (x != NULL)
                pipeline_fill_row(&state->series[sample->series], sample->t, outputs,
                                  rows->hidden, x + i * rows->columns);
            if (y != NULL)
                y[i] = state->labels[rows->part][first + i];
        }
        done += block;
    }
    return 0;
}


static int fill_part_rows(void *context, size_t first, size_t count, float *x, float *y)
{
    return fill_rows(context, first, count, x, y, NULL);
}


/* Predicts the test part batch by batch into prob; hidden 0 for the
 * baseline without CNN features. cnn_prob, unless NULL, receives the
 * CNN's own probability of each test row. */
static int predict_test_rows(const run_state *state, run_embedder *embedder,
                             const ohlcx_gbdt *model, int hidden, float *prob, float *cnn_prob)
{
    part_rows rows = {state, embedder, OHLCX_PART_TEST, hidden,
                      pipeline_column_count(hidden, &state->higher)};
    size_t n = state->sample_count[OHLCX_PART_TEST];
    size_t batch = n < GBDT_BATCH_ROWS ? n : GBDT_BATCH_ROWS;
    float *x = malloc((batch ? batch : 1) * rows.columns * sizeof *x);
    int status = 0;

    if (x == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for %zu prediction rows", batch);
    for (size_t first = 0; first < n && status == 0; first += batch) {
        size_t count = n - first < batch ? n - first : batch;

        status = fill_rows(&rows, first, count, x, NULL,
                           cnn_prob != NULL ? cnn_prob + first : NULL);
        if (status == 0)
            status = ohlcx_gbdt_predict(model, x, count, prob + first);
    }
    free(x);
    return status;
}


/* Counts one trained XGBoost model as done and removes the rounds that
 * early stopping saved from the total. The rounds trained are estimated as
 * those kept plus the early-stopping rounds, as the API returns only the
 * kept ones. */
static void count_gbdt_work(run_state *state, const ohlcx_gbdt_options *options,
                            int kept_rounds)
{
    double rows = (double)state->sample_count[OHLCX_PART_XGB_TRAIN];
    int trained = kept_rounds + options->early_stopping;

    if (trained > options->max_rounds || options->early_stopping == 0)
        trained = options->max_rounds;
    run_monitor_advance(&state->monitor, RUN_WORK_XGB_ROW_ROUNDS, rows * trained);
    run_monitor_add_total(&state->monitor, RUN_WORK_XGB_ROW_ROUNDS,
                          -rows * (options->max_rounds - trained));
}


/* The weight of an up label that balances the classes of xgb_train:
 * downs / ups, or 1 when either class is absent. */
static double balance_weight(const run_state *state)
{
    size_t n = state->sample_count[OHLCX_PART_XGB_TRAIN], ups = 0;

    for (size_t row = 0; row < n; row++)
        ups += state->labels[OHLCX_PART_XGB_TRAIN][row];
    if (ups == 0 || ups == n)
        return 1;
    return (double)(n - ups) / (double)ups;
}


/* Sets the XGBoost options of a run's models. Both score the validation
 * rows after every round, each pass reading the CNN outputs back from the
 * scratch file. */
static void gbdt_options_of(const run_state *state, ohlcx_gbdt_options *options)
{
    ohlcx_gbdt_options_default(options);
    options->threads = state->jobs;
    options->seed = state->options->seed;
    if (state->options->balance_classes)
        options->positive_weight = balance_weight(state);
}


/* Trains one XGBoost model on xgb_train with early stopping on validation and
 * predicts the test part into prob, and with the CNN features the CNN's own
 * probability into cnn_prob. The rows reach XGBoost in batches. */
static int train_and_test_gbdt(run_state *state, run_embedder *embedder, int hidden,
                               ohlcx_gbdt **model_out, float *prob, float *cnn_prob,
                               double *train_seconds, double *predict_seconds)
{
    size_t columns = pipeline_column_count(hidden, &state->higher);
    part_rows train = {state, embedder, OHLCX_PART_XGB_TRAIN, hidden, columns};
    part_rows validation = {state, embedder, OHLCX_PART_VALIDATION, hidden, columns};
    ohlcx_gbdt_source train_source = {fill_part_rows, &train,
                                      state->sample_count[OHLCX_PART_XGB_TRAIN]};
    ohlcx_gbdt_source validation_source = {fill_part_rows, &validation,
                                           state->sample_count[OHLCX_PART_VALIDATION]};
    ohlcx_gbdt_options options;
    double started = ohlcx_now_seconds();
    int status;

    gbdt_options_of(state, &options);
    run_monitor_begin(&state->monitor, RUN_WORK_XGB_ROW_ROUNDS);
    status = ohlcx_gbdt_train_source(&train_source, &validation_source, columns,
                                     GBDT_BATCH_ROWS, &options, model_out);
    run_monitor_end(&state->monitor, RUN_WORK_XGB_ROW_ROUNDS);
    *train_seconds += ohlcx_now_seconds() - started;
    if (status != 0)
        return status;
    count_gbdt_work(state, &options, ohlcx_gbdt_rounds(*model_out));

    started = ohlcx_now_seconds();
    status = predict_test_rows(state, embedder, *model_out, hidden, prob, cnn_prob);
    *predict_seconds += ohlcx_now_seconds() - started;
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


/* Trains the combined model, saves it to model/xgboost.json, and trains the
 * baseline without CNN features; both predict the test part. */
static int train_gbdt_models(run_state *state, run_embedder *embedder, ohlcx_gbdt **baseline)
{
    char path[OHLCX_PATH_MAX + 64];
    int status;

    ohlcx_log_info("xgboost: training the combined model on %zu rows",
                   state->sample_count[OHLCX_PART_XGB_TRAIN]);
    run_monitor_set_detail(&state->monitor, "combined model");
    status = train_and_test_gbdt(state, embedder, state->hidden, &state->model,
                                 state->test_prob[MODEL_COMBINED], state->test_prob[MODEL_CNN_ONLY],
                                 &state->timings[TIMING_XGB_TRAIN],
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
    run_test_kill_point(RUN_STAGE_XGBOOST, "middle");

    ohlcx_log_info("xgboost: training the baseline without CNN features");
    run_monitor_set_detail(&state->monitor, "baseline without CNN features");
    return train_and_test_gbdt(state, embedder, 0, baseline, state->test_prob[MODEL_WITHOUT_CNN],
                               NULL, &state->timings[TIMING_XGB_TRAIN],
                               &state->timings[TIMING_PREDICT]);
}


/* Predicts the test part with a model loaded from the checkpoint folder;
 * hidden 0 for the baseline. cnn_prob as in predict_test_rows(). */
static int predict_test(run_state *state, run_embedder *embedder, const ohlcx_gbdt *model,
                        int hidden, float *prob, float *cnn_prob)
{
    double started = ohlcx_now_seconds();
    int status = predict_test_rows(state, embedder, model, hidden, prob, cnn_prob);

    state->timings[TIMING_PREDICT] += ohlcx_now_seconds() - started;
    return status;
}


/* Loads both models of a finished xgboost stage instead of training them,
 * and predicts the test part with them. Only the test rows were embedded. */
static int restore_gbdt_models(run_state *state, run_embedder *embedder, ohlcx_gbdt **baseline)
{
    double started = ohlcx_now_seconds();
    int status = run_stages_load_gbdt(state, baseline);

    state->timings[TIMING_XGB_TRAIN] += ohlcx_now_seconds() - started;
    /* Their work is done: the estimate counts none of it. */
    run_monitor_set_total(&state->monitor, RUN_WORK_XGB_ROW_ROUNDS, 0);
    if (status == 0)
        status = predict_test(state, embedder, state->model, state->hidden,
                              state->test_prob[MODEL_COMBINED], state->test_prob[MODEL_CNN_ONLY]);
    if (status == 0)
        status = predict_test(state, embedder, *baseline, 0, state->test_prob[MODEL_WITHOUT_CNN],
                              NULL);
    return status;
}


/* Logs how many times the CNNs embedded each part's samples, in how much
 * time, and the size of the scratch file. */
static void log_embedded(const run_state *state, const run_embedder *embedder)
{
    double passes[OHLCX_PART_COUNT];

    for (int part = OHLCX_PART_XGB_TRAIN; part < OHLCX_PART_COUNT; part++)
        passes[part] = state->sample_count[part] ?
                           (double)state->embedded[part] / (double)state->sample_count[part] :
                           0;
    ohlcx_log_info("xgboost: the CNNs embedded %zu xgb_train, %zu validation and %zu test "
                   "samples (%.2f, %.2f and %.2f times each) in %.2f s, into a scratch file "
                   "of %.1f MiB in %s",
                   state->embedded[OHLCX_PART_XGB_TRAIN], state->embedded[OHLCX_PART_VALIDATION],
                   state->embedded[OHLCX_PART_TEST], passes[OHLCX_PART_XGB_TRAIN],
                   passes[OHLCX_PART_VALIDATION], passes[OHLCX_PART_TEST], embedder->seconds,
                   (double)embedder->scratch.size / (1024.0 * 1024.0), embedder->scratch.folder);
}


int run_stage_gbdt(run_state *state)
{
    size_t n_test = state->sample_count[OHLCX_PART_TEST];
    size_t n_fit = state->sample_count[OHLCX_PART_XGB_TRAIN];
    ohlcx_gbdt *baseline = NULL;
    run_embedder embedder;
    size_t ups = 0;
    int status;

    for (int model = 0; model < MODEL_COUNT; model++) {
        state->test_prob[model] = malloc((n_test ? n_test : 1) * sizeof(float));
        if (state->test_prob[model] == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory holding predictions");
    }

    memset(state->embedded, 0, sizeof state->embedded);
    status = embedder_init(&embedder, state);
    if (status == 0)
        status = embed_parts(&embedder);
    state->timings[TIMING_EMBED] += embedder.seconds;
    if (status == 0)
        log_embedded(state, &embedder);
    if (status == 0 && state->gbdt_restore)
        status = restore_gbdt_models(state, &embedder, &baseline);
    else if (status == 0)
        status = train_gbdt_models(state, &embedder, &baseline);
    embedder_free(&embedder);
    run_free_cnns(state);
    if (status == 0)
        state->baseline_rounds = ohlcx_gbdt_rounds(baseline);
    if (status == 0 && !state->gbdt_restore && !state->options->walk_forward)
        status = run_stages_save_gbdt(state, baseline);
    ohlcx_gbdt_free(baseline);
    if (status != 0)
        return status;

    /* The majority baseline predicts the training rows' up rate for every
     * row; the CNN-only baseline was filled with the combined model's
     * test predictions. */
    for (size_t row = 0; row < n_fit; row++)
        ups += state->labels[OHLCX_PART_XGB_TRAIN][row];
    state->majority_rate = n_fit ? (double)ups / (double)n_fit : 0.5;
    for (size_t row = 0; row < n_test; row++)
        state->test_prob[MODEL_MAJORITY][row] = (float)state->majority_rate;
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
    }
    for (int model = 0; model < MODEL_COUNT; model++)
        free(state->test_prob[model]);
    if (state->groups != NULL)
        run_free_cnns(state);
    free(state->groups);
    free(state->symbols);
    free(state->series_metrics);
    free(state->timeframes);
    free(state->timeframe_metrics);
    free(state->folds);
    ohlcx_gbdt_free(state->model);
    cJSON_Delete(state->stage_record);
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
    size_t line = OHLCX_SYMBOL_MAX + OHLCX_TIMEFRAME_MAX + 128;
    char *text = malloc(state->series_count * line + 1);
    size_t used = 0;

    if (text == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory digesting %zu series",
                               state->series_count);
    for (size_t s = 0; s < state->series_count; s++) {
        const pipeline_series *series = &state->series[s];

        /* The asset class is a feature column, and --universe may set it. */
        used += (size_t)snprintf(text + used, line, "%s %s %s %lld %s\n", series->bars.symbol,
                                 series->bars.timeframe, series->sha256,
                                 (long long)series->store_version,
                                 ohlcx_asset_class_name(series->bars.asset_class));
    }
    ohlcx_sha256_hex(text, used, state->data_sha256);
    free(text);
    return 0;
}


/* Checks a resumed run's options against its record, and reads the record
 * of its finished stages. */
static int check_resume_arguments(run_state *state)
{
    int status = run_checkpoint_check_arguments(state);

    if (status == 0)
        status = run_stages_read(state);
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
static int check_resume_checkpoints(run_state *state)
{
    int status = 0;

    for (int g = 0; g < state->group_count && status == 0; g++)
        status = check_group_checkpoint(state, g);
    if (status == 0)
        status = run_stages_check(state);
    return status;
}


/* Prepares the run folder once the inputs are loaded and checked: removes
 * the outputs of an earlier run and, unless resuming, its checkpoints, and
 * records this run's options and data (also for a resumed run whose record
 * was written before its data was loaded). */
static int prepare_out_dir(run_state *state)
{
    char model_dir[OHLCX_PATH_MAX + 16];
    int status;

    snprintf(model_dir, sizeof model_dir, "%s/model", state->options->out_dir);
    status = ohlcx_make_dirs(model_dir);
    if (status == 0)
        status = remove_previous_outputs(state->options->out_dir);
    if (status == 0 && !state->options->resume)
        status = run_checkpoints_clear(state);
    if (status == 0 && (!state->options->resume || state->record_pending))
        status = run_checkpoint_write_arguments(state);
    return status;
}


/* Sets the work of the stages after features, for the time-left estimate.
 * It counts every CNN epoch on cnn_train, an upper bound because early
 * stopping can end sooner. It adds one embedding of every sample of
 * xgb_train, validation and test, and two XGBoost models of at most
 * max_rounds rounds each. */
static void set_work_totals(run_state *state)
{
    ohlcx_gbdt_options gbdt;
    double embedded;

    gbdt_options_of(state, &gbdt);
    embedded = (double)state->sample_count[OHLCX_PART_XGB_TRAIN] +
               (double)state->sample_count[OHLCX_PART_VALIDATION] +
               (double)state->sample_count[OHLCX_PART_TEST];
    run_monitor_set_total(&state->monitor, RUN_WORK_CNN_SAMPLES,
                          (double)state->options->epochs *
                              (double)state->sample_count[OHLCX_PART_CNN_TRAIN]);
    run_monitor_set_total(&state->monitor, RUN_WORK_EMBED_SAMPLES, embedded);
    run_monitor_set_total(&state->monitor, RUN_WORK_XGB_ROW_ROUNDS,
                          2.0 * gbdt.max_rounds *
                              (double)state->sample_count[OHLCX_PART_XGB_TRAIN]);
    run_monitor_set_totals_known(&state->monitor);
}


/* Measures the rates of `ohlcx plan` on this machine for the first
 * time-left estimate of a large run (see ETA_CALIBRATION_MIN_WORK). A
 * failed calibration only leaves the estimate to the rates measured later.
 * NOTE: the calibration trains a CNN and XGBoost in this process. A run of
 * 219,060 sample-epochs (1 thread, fp32) gave the same weights and metrics
 * with and without it, but no test covers this, as tests stay below the
 * threshold. */
static void calibrate_eta(run_state *state)
{
    double work = (double)state->options->epochs *
                  (double)state->sample_count[OHLCX_PART_CNN_TRAIN];
    ohlcx_plan_options options;
    ohlcx_plan_rates rates;

    if (state->options->walk_forward || work < ETA_CALIBRATION_MIN_WORK)
        return;
    ohlcx_plan_options_default(&options);
    options.window = state->options->window;
    options.horizon = state->options->horizon;
    options.jobs = state->jobs;
    ohlcx_log_info("calibrating the rates of 'ohlcx plan' for the time-left estimate");
    if (ohlcx_plan_calibrate(&options, &rates) != 0) {
        ohlcx_log_warn("calibration failed, so the time left is estimated only from rates "
                       "measured in this run: %s",
                       ohlcx_last_error());
        return;
    }
    run_monitor_set_prior_rate(&state->monitor, RUN_WORK_CNN_SAMPLES,
                               rates.cnn_train_samples_per_s);
    run_monitor_set_prior_rate(&state->monitor, RUN_WORK_EMBED_SAMPLES,
                               rates.cnn_embed_samples_per_s);
    run_monitor_set_prior_rate(&state->monitor, RUN_WORK_XGB_ROW_ROUNDS,
                               rates.xgb_row_rounds_per_s);
    state->eta_calibrated = 1;
}


static void stage_begin(run_state *state, int stage)
{
    run_test_kill_point(stage, "start");
    run_usage_sample(&state->stage_started);
    run_monitor_set_stage(&state->monitor, stage);
}


/* Measures and logs the resources of a stage that succeeded, and the time
 * left once the work of every stage is counted. */
static void stage_end(run_state *state, int stage)
{
    run_usage now;
    char left[128];

    run_usage_sample(&now);
    run_resources_between(&state->stage_started, &now, state->jobs, &state->resources[stage]);
    run_monitor_clear_line(&state->monitor);
    run_resources_log(run_stage_name(stage), &state->resources[stage], state->jobs);
    if (state->monitor.totals_known && stage != RUN_STAGE_EVALUATE &&
        !state->options->walk_forward) {
        run_monitor_describe_left(&state->monitor, left, sizeof left);
        ohlcx_log_info("progress: %s finished after %.1f s of the run, %s",
                       run_stage_name(stage), now.wall_s - state->run_started.wall_s, left);
    }
    run_monitor_set_stage(&state->monitor, -1);
}


/* Records the load and features stages once the run folder is prepared:
 * their records can only follow run.json, which that writes. */
static int record_inputs(run_state *state)
{
    cJSON *load = cJSON_CreateObject(), *features = cJSON_CreateObject();
    int status;

    cJSON_AddNumberToObject(load, "series", (double)state->series_count);
    cJSON_AddStringToObject(load, "data_sha256", state->data_sha256);
    status = run_stage_finish(state, RUN_STAGE_LOAD, load);
    cJSON_AddNumberToObject(features, "samples", (double)state->total_samples);
    cJSON_AddNumberToObject(features, "cnn_groups", state->group_count);
    if (status == 0)
        status = run_stage_finish(state, RUN_STAGE_FEATURES, features);
    else
        cJSON_Delete(features);
    return status;
}


/* Reads, checks and prepares: load and features, then the checks of a
 * resume, then the run folder. */
/* Writes bytes as "512 MiB" below 10 GiB, else as "12.3 GiB": powers of 1024,
 * like the units of --max-memory. */
static const char *format_bytes(double bytes, char *out, size_t size)
{
    double gib = 1024.0 * 1024.0 * 1024.0;

    if (bytes < 10 * gib)
        snprintf(out, size, "%.0f MiB", bytes / (1024.0 * 1024.0));
    else
        snprintf(out, size, "%.1f GiB", bytes / gib);
    return out;
}


/* The memory budget: --max-memory, or 80% of the machine's memory. */
static uint64_t memory_budget(const run_state *state)
{
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);

    if (state->options->max_memory > 0)
        return state->options->max_memory;
    if (pages <= 0 || page_size <= 0)
        return UINT64_MAX;
    return (uint64_t)((double)pages * (double)page_size * 0.8);
}


/* Fails when the process's peak resident set has passed the budget during
 * a stage: the run stops there instead of pushing the machine into swap or
 * the kernel's out-of-memory killer. */
static int check_peak_memory(const run_state *state, int stage)
{
    uint64_t budget = memory_budget(state);
    char used[32], limit[32];
    run_usage now;

    run_usage_sample(&now);
    if (now.peak_rss_bytes <= budget)
        return 0;
    return ohlcx_set_error(OHLCX_ENOMEM,
                           "the %s stage used %s of memory, above --max-memory %s: train on "
                           "fewer series (--universe) or fewer samples "
                           "(--max-samples-per-series)",
                           run_stage_name(stage),
                           format_bytes((double)now.peak_rss_bytes, used, sizeof used),
                           format_bytes((double)budget, limit, sizeof limit));
}


/*
 * Estimates, before training, what the later stages add to the memory in
 * use, and fails when the sum passes the budget. A run that cannot fit then
 * stops before hours of training. The estimate counts two CNN workspaces of
 * window x 256 floats per mini-batch sample and the embedding buffers of
 * EMBED_CHUNK samples (a window, a symbol id, the CNN outputs, and the
 * outputs again as the scratch file stores them). The scratch file itself
 * is page cache, not the process's memory. Per sample, it counts XGBoost's training matrix of
 * xgb_train (XGBOOST_BYTES_PER_VALUE and _PER_ROW), a margin of 4 bytes per
 * validation row, and per test row each model's probability and 16 bytes
 * of evaluation. It adds two XGBoost batches.
 */
static int check_memory_estimate(const run_state *state)
{
    uint64_t budget = memory_budget(state);
    size_t columns;
    double xgb_rows = (double)state->sample_count[OHLCX_PART_XGB_TRAIN];
    double validation_rows = (double)state->sample_count[OHLCX_PART_VALIDATION];
    double test_rows = (double)state->sample_count[OHLCX_PART_TEST];
    double batch = (double)state->options->batch_size;
    double window = (double)state->options->window;
    double hidden = (double)state->cnn_config.hidden;
    double added, in_use;
    char text[4][32];
    run_usage now;

    columns = pipeline_column_count(state->cnn_config.hidden, &state->higher);
    run_usage_sample(&now);
    in_use = (double)now.peak_rss_bytes;
    added = 2 * batch * window * 256 * sizeof(float) +
            EMBED_CHUNK * (OHLCX_WINDOW_CHANNELS * window + 2 * hidden + 3) * sizeof(float) +
            xgb_rows * (XGBOOST_BYTES_PER_VALUE * (double)columns + XGBOOST_BYTES_PER_ROW) +
            validation_rows * sizeof(float) + test_rows * (MODEL_COUNT * sizeof(float) + 16) +
            2.0 * GBDT_BATCH_ROWS * (double)columns * sizeof(float);
    if (in_use + added <= (double)budget)
        return 0;
    return ohlcx_set_error(OHLCX_ENOMEM,
                           "training %zu samples needs about %s of memory (%s in use after the "
                           "features, %s more for the CNN and XGBoost), above --max-memory "
                           "%s: train on fewer series (--universe) or fewer samples "
                           "(--max-samples-per-series)",
                           state->total_samples, format_bytes(in_use + added, text[0], 32),
                           format_bytes(in_use, text[1], 32), format_bytes(added, text[2], 32),
                           format_bytes((double)budget, text[3], 32));
}


/* Fails when the file system of the run folder has less space free than
 * the scratch file of the CNN outputs needs, so that a run that cannot
 * write it stops before training. Creating the file reserves its space
 * again (see embedder_init()). A walk-forward run's folds have other sample
 * counts, so only that check applies to them. */
static int check_scratch_space(const run_state *state)
{
    uint64_t needed = scratch_bytes(state), free_bytes;
    struct statvfs disk;

    if (state->options->walk_forward || statvfs(state->options->out_dir, &disk) != 0)
        return 0;
    free_bytes = (uint64_t)disk.f_bavail * (uint64_t)disk.f_frsize;
    if (needed <= free_bytes)
        return 0;
    return ohlcx_set_error(OHLCX_EIO,
                           "the scratch file of the CNN outputs needs %llu bytes (%.1f MiB) in "
                           "%s, but its file system has %llu bytes free: free space there or "
                           "write the run to another --out folder",
                           (unsigned long long)needed, (double)needed / (1024.0 * 1024.0),
                           state->options->out_dir, (unsigned long long)free_bytes);
}


static int run_inputs(run_state *state)
{
    int status;

    stage_begin(state, RUN_STAGE_LOAD);
    status = stage_load(state);
    if (status == 0)
        status = check_checkpoint_data(state);
    state->timings[TIMING_LOAD] = ohlcx_now_seconds() - state->stage_started.wall_s;
    if (status != 0)
        return status;
    run_test_kill_point(RUN_STAGE_LOAD, "end");
    stage_end(state, RUN_STAGE_LOAD);
    status = check_peak_memory(state, RUN_STAGE_LOAD);
    if (status != 0)
        return status;

    stage_begin(state, RUN_STAGE_FEATURES);
    status = stage_features(state);
    state->timings[TIMING_FEATURES] = ohlcx_now_seconds() - state->stage_started.wall_s;
    if (status != 0)
        return status;
    set_work_totals(state);
    run_test_kill_point(RUN_STAGE_FEATURES, "end");
    stage_end(state, RUN_STAGE_FEATURES);
    status = check_peak_memory(state, RUN_STAGE_FEATURES);
    if (status == 0)
        status = check_memory_estimate(state);
    if (status != 0)
        return status;

    if (state->options->resume)
        status = check_resume_checkpoints(state);
    if (status == 0)
        status = check_scratch_space(state);
    if (status == 0)
        status = prepare_out_dir(state);
    if (status == 0)
        status = record_inputs(state);
    return status;
}


/* Trains the CNNs and the XGBoost models, or with --walk-forward every
 * fold's. */
static int run_training(run_state *state)
{
    cJSON *record;
    int status;

    if (state->options->walk_forward) {
        run_monitor_disable_estimate(&state->monitor);
        stage_begin(state, RUN_STAGE_WALK_FORWARD);
        status = run_walk_forward(state);
        if (status == 0)
            stage_end(state, RUN_STAGE_WALK_FORWARD);
        return status;
    }

    stage_begin(state, RUN_STAGE_CNN);
    /* Finished groups only load their checkpoint. */
    state->stage_resumed[RUN_STAGE_CNN] = run_stage_record(state, RUN_STAGE_CNN) != NULL;
    calibrate_eta(state);
    status = run_stage_cnn(state);
    if (status != 0)
        return status;
    run_test_kill_point(RUN_STAGE_CNN, "end");
    record = cJSON_CreateObject();
    cJSON_AddNumberToObject(record, "cnn_groups", state->group_count);
    status = run_stage_finish(state, RUN_STAGE_CNN, record);
    if (status != 0)
        return status;
    stage_end(state, RUN_STAGE_CNN);
    status = check_peak_memory(state, RUN_STAGE_CNN);
    if (status != 0)
        return status;

    stage_begin(state, RUN_STAGE_XGBOOST);
    state->stage_resumed[RUN_STAGE_XGBOOST] = state->gbdt_restore;
    status = run_stage_gbdt(state);
    if (status == 0)
        stage_end(state, RUN_STAGE_XGBOOST);
    return status;
}


/* Logs the run's resources and their cost. */
static void log_cost(const run_state *state)
{
    run_cost cost;

    run_cost_compute(state, &cost);
    ohlcx_log_info("run: %.2f s wall, %.2f s CPU = %.6f core-hours, peak RSS %.1f MiB",
                   state->total.wall_s, state->total.cpu_s, cost.core_hours,
                   (double)state->total.peak_rss_bytes / (1024.0 * 1024.0));
    ohlcx_log_info("cost: %.6f USD at %g USD per core-hour, %.6f%% of the monthly budget of "
                   "%g USD",
                   cost.cost, state->options->price_per_core_hour, 100 * cost.budget_share,
                   state->options->monthly_budget);
}


/* Scores the test part, measures the run and writes its outputs. */
static int run_evaluation(run_state *state)
{
    run_usage now;
    int status;

    stage_begin(state, RUN_STAGE_EVALUATE);
    status = run_stage_evaluate(state);
    if (status != 0)
        return status;
    stage_end(state, RUN_STAGE_EVALUATE);

    state->timings[TIMING_TOTAL] = ohlcx_now_seconds() - state->run_started.wall_s;
    run_usage_sample(&now);
    run_resources_between(&state->run_started, &now, state->jobs, &state->total);
    log_cost(state);
    status = run_write_outputs(state);
    if (status != 0)
        return status;
    run_test_kill_point(RUN_STAGE_EVALUATE, "end");
    return run_stage_finish(state, RUN_STAGE_EVALUATE, NULL);
}


int ohlcx_run(const ohlcx_run_options *options)
{
    run_state state;
    int status;

    memset(&state, 0, sizeof state);
    run_usage_sample(&state.run_started);
    state.options = options;
    state.jobs = options->jobs > 0 ? options->jobs : pipeline_default_jobs();
    status = check_options(options);
    /* The libraries load on first use: XGBoost's would come after the CNNs
     * have trained, so a missing one fails the run here instead. */
    if (status == 0)
        status = ohlcx_openblas_load();
    if (status == 0)
        status = ohlcx_xgboost_load();
    base_cnn_config(options, &state.cnn_config);
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
     * checkpoint are checked. Only the demo universe, an input itself, and
     * the first run.json of a folder that has none are written before. */
    if (status == 0 && options->resume)
        status = check_resume_arguments(&state);
    if (status == 0 && !options->resume && !options->walk_forward &&
        !run_checkpoint_exists(&state))
        status = run_checkpoint_write_pending(&state);
    if (status == 0)
        status = run_monitor_start(&state.monitor);
    if (status != 0) {
        cJSON_Delete(state.stage_record);
        return status;
    }
    pipeline_set_blas_threads(state.jobs);

    status = run_inputs(&state);
    if (status == 0)
        status = run_training(&state);
    if (status == 0)
        status = run_evaluation(&state);
    run_monitor_stop(&state.monitor);
    if (status == 0)
        run_print_table(&state);
    run_state_free(&state);
    return status;
}
