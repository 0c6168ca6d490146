/*
 * Outputs of `ohlcx run`: metrics.json, the bundle manifest, the table on
 * stdout, and checkpoints/run.json, the record that `--resume` checks.
 * Timings are the only values that differ between two runs with the same
 * seed, data and thread count.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "pipeline/run_state.h"
#include "util/util.h"

static const char *timing_names[TIMING_COUNT] = {"load",      "features", "cnn_train", "embed",
                                                 "xgb_train", "predict",  "total"};
/* The data digest of a run.json written before its inputs were loaded. */
#define PENDING_DIGEST "pending"

static const char *model_names[MODEL_COUNT] = {"cnn_xgboost", "majority", "xgb_without_cnn",
                                               "cnn_only"};


/* Adds a number, or null when it is not finite (JSON has no NaN). */
static void add_number(cJSON *object, const char *name, double value)
{
    if (isfinite(value))
        cJSON_AddNumberToObject(object, name, value);
    else
        cJSON_AddNullToObject(object, name);
}


/* Returns a float as the shortest decimal that reads back to it, so that
 * 1e-3f is written 0.001 rather than 0.0010000000474974513. */
static double float_value(float value)
{
    char text[32];

    for (int digits = 1; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)value);
        if (strtof(text, NULL) == value)
            break;
    }
    return strtod(text, NULL);
}


/* Returns the settings that shape every CNN of the run, as `--config` gives them
 * (docs/commands.md): the stages, batch_norm, dropout, embedding,
 * symbol_embedding (0 unless the run learns one) and the training's
 * learning_rate, weight_decay and schedule. */
static cJSON *cnn_settings_object(const run_state *state)
{
    const ohlcx_run_options *options = state->options;
    const ohlcx_cnn_config *config = &state->cnn_config;
    cJSON *object = cJSON_CreateObject(), *layers = cJSON_CreateArray();

    for (int i = 0; i < config->conv_count; i++) {
        cJSON *layer = cJSON_CreateObject();

        cJSON_AddNumberToObject(layer, "filters", config->conv[i].filters);
        cJSON_AddNumberToObject(layer, "kernel", config->conv[i].kernel);
        cJSON_AddNumberToObject(layer, "dilation", config->conv[i].dilation);
        cJSON_AddNumberToObject(layer, "pool", config->conv[i].pool);
        cJSON_AddItemToArray(layers, layer);
    }
    cJSON_AddItemToObject(object, "layers", layers);
    cJSON_AddBoolToObject(object, "batch_norm", config->batch_norm);
    cJSON_AddNumberToObject(object, "dropout", float_value(config->dropout));
    cJSON_AddNumberToObject(object, "embedding", config->hidden);
    cJSON_AddNumberToObject(object, "symbol_embedding",
                            options->cnn_mode == OHLCX_CNN_GLOBAL ? options->symbol_embedding : 0);
    cJSON_AddNumberToObject(object, "learning_rate", float_value(options->learning_rate));
    cJSON_AddNumberToObject(object, "weight_decay", float_value(options->weight_decay));
    cJSON_AddStringToObject(object, "schedule", pipeline_lr_schedule_name(options->lr_schedule));
    cJSON_AddNumberToObject(object, "step_epochs", options->lr_step_epochs);
    cJSON_AddNumberToObject(object, "gamma", float_value(options->lr_gamma));
    return object;
}


static cJSON *higher_array(const pipeline_higher *higher)
{
    cJSON *array = cJSON_CreateArray();

    for (int h = 0; h < higher->count; h++)
        cJSON_AddItemToArray(array, cJSON_CreateString(higher->timeframes[h]));
    return array;
}


static cJSON *confusion_object(const ohlcx_metrics *metrics)
{
    cJSON *object = cJSON_CreateObject();

    cJSON_AddNumberToObject(object, "true_positives", (double)metrics->true_positives);
    cJSON_AddNumberToObject(object, "false_positives", (double)metrics->false_positives);
    cJSON_AddNumberToObject(object, "true_negatives", (double)metrics->true_negatives);
    cJSON_AddNumberToObject(object, "false_negatives", (double)metrics->false_negatives);
    return object;
}


static cJSON *calibration_array(const ohlcx_metrics *metrics)
{
    cJSON *array = cJSON_CreateArray();

    for (int i = 0; i < OHLCX_CALIBRATION_BINS; i++) {
        const ohlcx_calibration_bin *bin = &metrics->calibration[i];
        cJSON *item = cJSON_CreateObject();

        cJSON_AddNumberToObject(item, "count", (double)bin->count);
        add_number(item, "mean_prob", bin->mean_prob);
        add_number(item, "up_share", bin->up_share);
        cJSON_AddItemToArray(array, item);
    }
    return array;
}


static cJSON *metrics_object(const ohlcx_metrics *metrics)
{
    cJSON *object = cJSON_CreateObject();

    add_number(object, "accuracy", metrics->accuracy);
    add_number(object, "balanced_accuracy", metrics->balanced_accuracy);
    add_number(object, "macro_f1", metrics->macro_f1);
    add_number(object, "auc", metrics->auc);
    add_number(object, "log_loss", metrics->log_loss);
    add_number(object, "brier", metrics->brier);
    add_number(object, "ic", metrics->ic);
    add_number(object, "rank_ic", metrics->rank_ic);
    add_number(object, "majority_share", metrics->majority_share);
    add_number(object, "binomial_p", metrics->binomial_p);
    cJSON_AddNumberToObject(object, "n", (double)metrics->n);
    cJSON_AddItemToObject(object, "confusion", confusion_object(metrics));
    cJSON_AddItemToObject(object, "calibration", calibration_array(metrics));
    return object;
}


/* One row of per_timeframe or per_asset_class: the group's name under key,
 * then the metrics that the report's group tables show. */
static cJSON *group_row(const char *key, const char *name, const ohlcx_metrics *metrics)
{
    cJSON *row = cJSON_CreateObject();

    cJSON_AddStringToObject(row, key, name);
    cJSON_AddNumberToObject(row, "n", (double)metrics->n);
    add_number(row, "accuracy", metrics->accuracy);
    add_number(row, "balanced_accuracy", metrics->balanced_accuracy);
    add_number(row, "auc", metrics->auc);
    add_number(row, "ic", metrics->ic);
    add_number(row, "rank_ic", metrics->rank_ic);
    return row;
}


/* The combined model per timeframe (finest first) and per asset class (in
 * enum order), leaving out groups without test rows. */
static void add_group_arrays(cJSON *root, const run_state *state)
{
    cJSON *timeframes = cJSON_CreateArray(), *classes = cJSON_CreateArray();

    for (size_t g = 0; g < state->timeframe_count; g++)
        if (state->timeframe_metrics[g].n > 0)
            cJSON_AddItemToArray(timeframes, group_row("timeframe", state->timeframes[g],
                                                       &state->timeframe_metrics[g]));
    for (int c = 0; c < OHLCX_ASSET_COUNT; c++)
        if (state->asset_class_metrics[c].n > 0)
            cJSON_AddItemToArray(classes, group_row("asset_class", ohlcx_asset_class_name(c),
                                                    &state->asset_class_metrics[c]));
    cJSON_AddItemToObject(root, "per_timeframe", timeframes);
    cJSON_AddItemToObject(root, "per_asset_class", classes);
}


/* Writes root to path through a temporary name, so that a failed or killed
 * write leaves no half-written file for report, predict or --resume. */
static int write_json(cJSON *root, const char *path)
{
    char *text = cJSON_Print(root);
    char *line;
    int status;

    if (text == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", path);
    line = realloc(text, strlen(text) + 2);
    if (line == NULL) {
        free(text);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", path);
    }
    strcat(line, "\n");
    status = run_write_text_atomically(line, path);
    free(line);
    return status;
}


static cJSON *rows_object(const run_state *state)
{
    cJSON *rows = cJSON_CreateObject();
    cJSON *reasons = cJSON_CreateObject();
    cJSON *parts = cJSON_CreateObject();
    cJSON *excluded = cJSON_CreateObject();
    size_t dropped[OHLCX_DROP_REASON_COUNT] = {0};

    cJSON_AddNumberToObject(rows, "read", (double)state->rows_read);
    cJSON_AddNumberToObject(rows, "dropped", (double)state->rows_dropped);
    cJSON_AddNumberToObject(rows, "bad_rows_skipped", (double)state->bad_rows);
    cJSON_AddNumberToObject(rows, "filled", (double)state->bars_filled);
    cJSON_AddNumberToObject(rows, "samples", (double)state->total_samples);
    cJSON_AddNumberToObject(rows, "samples_excluded", (double)state->samples_excluded);
    cJSON_AddNumberToObject(rows, "samples_capped", (double)state->samples_capped);
    cJSON_AddNumberToObject(rows, "series_skipped", (double)state->skipped_series);
    for (size_t s = 0; s < state->series_count; s++)
        for (int r = 0; r < OHLCX_DROP_REASON_COUNT; r++)
            dropped[r] += state->series[s].validation.dropped[r];
    for (int r = 0; r < OHLCX_DROP_REASON_COUNT; r++)
        cJSON_AddNumberToObject(reasons, ohlcx_drop_reason_name(r), (double)dropped[r]);
    cJSON_AddItemToObject(rows, "dropped_by_reason", reasons);
    cJSON_AddNumberToObject(excluded, "window_spans_gap", (double)state->samples_excluded);
    cJSON_AddItemToObject(rows, "samples_excluded_by_reason", excluded);
    for (int part = 0; part < OHLCX_PART_COUNT; part++)
        cJSON_AddNumberToObject(parts, ohlcx_part_name(part), (double)state->sample_count[part]);
    cJSON_AddItemToObject(rows, "samples_by_part", parts);
    return rows;
}


static cJSON *per_series_array(const run_state *state)
{
    cJSON *array = cJSON_CreateArray();

    for (size_t s = 0; s < state->series_count; s++) {
        const pipeline_series *series = &state->series[s];
        cJSON *row;

        if (!series->usable)
            continue;
        row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "symbol", series->bars.symbol);
        cJSON_AddStringToObject(row, "timeframe", series->bars.timeframe);
        cJSON_AddStringToObject(row, "asset_class", ohlcx_asset_class_name(series->bars.asset_class));
        cJSON_AddStringToObject(row, "file", series->bars.source_path);
        cJSON_AddNumberToObject(row, "bars_filled", (double)series->bars_filled);
        cJSON_AddNumberToObject(row, "long_gaps", (double)series->long_gaps);
        cJSON_AddNumberToObject(row, "samples_excluded", (double)series->samples_excluded);
        cJSON_AddNumberToObject(row, "samples_capped", (double)series->samples_capped);
        cJSON_AddNumberToObject(row, "n_test", (double)state->series_metrics[s].n);
        add_number(row, "accuracy", state->series_metrics[s].accuracy);
        add_number(row, "auc", state->series_metrics[s].auc);
        add_number(row, "log_loss", state->series_metrics[s].log_loss);
        cJSON_AddItemToArray(array, row);
    }
    return array;
}


static cJSON *cnn_array(const run_state *state)
{
    cJSON *array = cJSON_CreateArray();

    for (int g = 0; g < state->group_count; g++) {
        const ohlcx_cnn_history *history = &state->groups[g].history;
        cJSON *group = cJSON_CreateObject();
        cJSON *train = cJSON_CreateArray(), *val = cJSON_CreateArray();

        cJSON_AddStringToObject(group, "group", state->groups[g].name);
        cJSON_AddNumberToObject(group, "epochs", history->epochs);
        cJSON_AddNumberToObject(group, "best_epoch", history->best_epoch);
        for (int e = 0; e < history->epochs; e++) {
            cJSON_AddItemToArray(train, cJSON_CreateNumber(history->train_loss[e]));
            cJSON_AddItemToArray(val, cJSON_CreateNumber(history->val_loss[e]));
        }
        cJSON_AddItemToObject(group, "train_loss", train);
        cJSON_AddItemToObject(group, "val_loss", val);
        cJSON_AddItemToArray(array, group);
    }
    return array;
}


static void add_time(cJSON *object, const char *name, int64_t open_time)
{
    char text[20];

    ohlcx_format_datetime(open_time, text);
    cJSON_AddStringToObject(object, name, text);
}


/* One row per walk-forward fold: its bounds as open times, the combined
 * model's metrics, and each baseline's accuracy. */
static cJSON *walk_forward_array(const run_state *state)
{
    cJSON *array = cJSON_CreateArray();

    for (size_t f = 0; f < state->fold_count; f++) {
        const run_fold *fold = &state->folds[f];
        const ohlcx_metrics *combined = &fold->metrics[MODEL_COMBINED];
        cJSON *row = cJSON_CreateObject(), *baselines = cJSON_CreateObject();

        cJSON_AddNumberToObject(row, "fold", (double)f);
        add_time(row, "train_first_open_time", fold->train_first_open_time);
        add_time(row, "train_last_open_time", fold->train_last_open_time);
        add_time(row, "train_label_end_open_time", fold->train_label_end_open_time);
        add_time(row, "test_window_open_time", fold->test_window_open_time);
        add_time(row, "test_first_open_time", fold->test_first_open_time);
        add_time(row, "test_last_open_time", fold->test_last_open_time);
        cJSON_AddNumberToObject(row, "n_train", (double)fold->train_samples);
        cJSON_AddNumberToObject(row, "embargoed", (double)fold->embargoed);
        cJSON_AddNumberToObject(row, "n", (double)combined->n);
        add_number(row, "accuracy", combined->accuracy);
        add_number(row, "auc", combined->auc);
        add_number(row, "majority_share", combined->majority_share);
        add_number(row, "binomial_p", combined->binomial_p);
        for (int model = MODEL_MAJORITY; model < MODEL_COUNT; model++)
            add_number(baselines, model_names[model], fold->metrics[model].accuracy);
        cJSON_AddItemToObject(row, "baseline_accuracy", baselines);
        cJSON_AddItemToArray(array, row);
    }
    return array;
}


/* The walk-forward options, and the metrics of every model over the test
 * rows of all folds together. */
static void add_walk_forward(cJSON *root, cJSON *config, const run_state *state)
{
    const ohlcx_run_options *options = state->options;
    cJSON *walk = cJSON_CreateObject(), *total = cJSON_CreateObject();

    cJSON_AddNumberToObject(walk, "train_period", (double)options->train_period);
    cJSON_AddNumberToObject(walk, "test_period", (double)options->test_period);
    cJSON_AddNumberToObject(walk, "retrain_every",
                            (double)(options->retrain_every > 0 ? options->retrain_every
                                                                : options->test_period));
    cJSON_AddBoolToObject(walk, "expanding", options->expanding != 0);
    cJSON_AddNumberToObject(walk, "embargo", (double)options->embargo);
    cJSON_AddItemToObject(config, "walk_forward", walk);

    cJSON_AddItemToObject(root, "walk_forward", walk_forward_array(state));
    for (int model = 0; model < MODEL_COUNT; model++)
        cJSON_AddItemToObject(total, model_names[model],
                              metrics_object(&state->test_metrics[model]));
    cJSON_AddItemToObject(root, "walk_forward_total", total);
}


/* Adds a number written with 17 significant digits, which reads back as
 * the same double, so that a reader can check sums and products of these
 * fields exactly. cJSON_AddNumberToObject() may print fewer digits. */
static void add_exact(cJSON *object, const char *name, double value)
{
    char text[32];

    snprintf(text, sizeof text, "%.17g", value);
    cJSON_AddRawToObject(object, name, text);
}


static cJSON *usage_object(const run_resources *r)
{
    cJSON *object = cJSON_CreateObject();

    add_exact(object, "wall_s", r->wall_s);
    add_exact(object, "cpu_s", r->cpu_s);
    add_exact(object, "cpu_user_s", r->cpu_user_s);
    add_exact(object, "cpu_sys_s", r->cpu_sys_s);
    add_exact(object, "cpu_utilisation", r->cpu_utilisation);
    add_exact(object, "peak_rss_bytes", (double)r->peak_rss_bytes);
    add_exact(object, "rss_growth_bytes", (double)r->rss_growth_bytes);
    if (r->has_io) {
        add_exact(object, "read_bytes", (double)r->read_bytes);
        add_exact(object, "write_bytes", (double)r->write_bytes);
        add_exact(object, "rchar", (double)r->rchar);
        add_exact(object, "wchar", (double)r->wchar);
    } else {
        cJSON_AddNullToObject(object, "read_bytes");
        cJSON_AddNullToObject(object, "write_bytes");
        cJSON_AddNullToObject(object, "rchar");
        cJSON_AddNullToObject(object, "wchar");
    }
    return object;
}


/* Resources of every stage that ran, then of the whole run. */
static cJSON *resources_object(const run_state *state)
{
    cJSON *object = cJSON_CreateObject();

    cJSON_AddNumberToObject(object, "threads", state->jobs);
    for (int stage = 0; stage < RUN_STAGE_COUNT; stage++) {
        cJSON *usage;

        if (!state->resources[stage].measured)
            continue;
        usage = usage_object(&state->resources[stage]);
        cJSON_AddBoolToObject(usage, "resumed", state->stage_resumed[stage] != 0);
        cJSON_AddItemToObject(object, run_stage_name(stage), usage);
    }
    cJSON_AddItemToObject(object, "run", usage_object(&state->total));
    add_exact(object, "peak_rss_bytes", (double)state->total.peak_rss_bytes);
    return object;
}


void run_cost_compute(const run_state *state, run_cost *out)
{
    out->core_hours = state->total.cpu_s / 3600.0;
    out->cost = out->core_hours * state->options->price_per_core_hour;
    out->budget_share = state->options->monthly_budget > 0
                            ? out->cost / state->options->monthly_budget
                            : 0;
}


static cJSON *cost_object(const run_state *state)
{
    cJSON *object = cJSON_CreateObject();
    run_cost cost;

    run_cost_compute(state, &cost);
    add_exact(object, "core_hours", cost.core_hours);
    add_exact(object, "price_per_core_hour", state->options->price_per_core_hour);
    add_exact(object, "cost", cost.cost);
    cJSON_AddStringToObject(object, "currency", "USD");
    add_exact(object, "monthly_budget", state->options->monthly_budget);
    add_exact(object, "budget_share", cost.budget_share);
    return object;
}


static int write_metrics(const run_state *state)
{
    const ohlcx_run_options *options = state->options;
    cJSON *root = cJSON_CreateObject();
    cJSON *baselines = cJSON_CreateObject();
    cJSON *timings = cJSON_CreateObject();
    cJSON *config = cJSON_CreateObject();
    char path[OHLCX_PATH_MAX + 32];
    int status;

    cJSON_AddStringToObject(config, "cnn", pipeline_cnn_mode_name(options->cnn_mode));
    cJSON_AddNumberToObject(config, "window", options->window);
    cJSON_AddNumberToObject(config, "horizon", options->horizon);
    cJSON_AddNumberToObject(config, "seed", (double)options->seed);
    cJSON_AddNumberToObject(config, "jobs", state->jobs);
    cJSON_AddStringToObject(config, "precision",
                            ohlcx_cnn_precision_name(ohlcx_cnn_get_precision()));
    if (state->higher.count > 0)
        cJSON_AddItemToObject(config, "higher_timeframes", higher_array(&state->higher));
    if (state->higher.debug_leak == OHLCX_DEBUG_LEAK_NEXT_RETURN)
        cJSON_AddStringToObject(config, "debug_leak", "next-return");
    if (options->universe_path != NULL)
        cJSON_AddStringToObject(config, "universe", options->universe_path);
    if (options->max_samples_per_series > 0)
        cJSON_AddNumberToObject(config, "max_samples_per_series",
                                (double)options->max_samples_per_series);
    if (options->balance_classes)
        cJSON_AddBoolToObject(config, "balance_classes", 1);
    cJSON_AddItemToObject(config, "cnn_architecture", cnn_settings_object(state));
    cJSON_AddItemToObject(root, "config", config);

    cJSON_AddItemToObject(root, "test", metrics_object(&state->test_metrics[MODEL_COMBINED]));
    for (int model = MODEL_MAJORITY; model < MODEL_COUNT; model++)
        cJSON_AddItemToObject(baselines, model_names[model],
                              metrics_object(&state->test_metrics[model]));
    cJSON_AddItemToObject(root, "baselines", baselines);
    cJSON_AddItemToObject(root, "per_series", per_series_array(state));
    add_group_arrays(root, state);
    for (int t = 0; t < TIMING_COUNT; t++)
        cJSON_AddNumberToObject(timings, timing_names[t], state->timings[t]);
    cJSON_AddItemToObject(root, "timings_s", timings);
    cJSON_AddItemToObject(root, "resources", resources_object(state));
    cJSON_AddItemToObject(root, "cost", cost_object(state));
    cJSON_AddItemToObject(root, "rows", rows_object(state));
    cJSON_AddItemToObject(root, "cnn", cnn_array(state));
    cJSON_AddNumberToObject(root, "xgb_rounds", ohlcx_gbdt_rounds(state->model));
    cJSON_AddNumberToObject(root, "xgb_without_cnn_rounds", state->baseline_rounds);
    cJSON_AddNumberToObject(root, "majority_up_rate", state->majority_rate);
    if (state->folds != NULL)
        add_walk_forward(root, config, state);

    snprintf(path, sizeof path, "%s/metrics.json", options->out_dir);
    status = write_json(root, path);
    cJSON_Delete(root);
    return status;
}


/* Each part's bar range and its samples, those that cross a long gap left
 * out (samples_excluded). */
static cJSON *split_object(const run_state *state, const pipeline_series *series)
{
    cJSON *split = cJSON_CreateObject();
    int window = state->options->window, horizon = state->options->horizon;

    for (int part = 0; part < OHLCX_PART_COUNT; part++) {
        cJSON *range = cJSON_CreateObject();
        size_t begin = series->split.begin[part], end = series->split.end[part];
        size_t excluded = 0;
        char text[20];

        for (size_t t = begin; t < end && series->long_gaps > 0; t++)
            excluded += (size_t)ohlcx_sample_crosses_gap(t, window, horizon,
                                                         series->long_gap_rows,
                                                         series->long_gaps);

        ohlcx_format_datetime(series->bars.open_time[begin], text);
        cJSON_AddStringToObject(range, "first_open_time", text);
        ohlcx_format_datetime(series->bars.open_time[end - 1], text);
        cJSON_AddStringToObject(range, "last_open_time", text);
        cJSON_AddNumberToObject(range, "first_bar", (double)begin);
        cJSON_AddNumberToObject(range, "samples", (double)(end - begin - excluded));
        cJSON_AddNumberToObject(range, "samples_excluded", (double)excluded);
        cJSON_AddItemToObject(split, ohlcx_part_name(part), range);
    }
    return split;
}


static int write_manifest(const run_state *state)
{
    const ohlcx_run_options *options = state->options;
    cJSON *root = cJSON_CreateObject();
    cJSON *columns = cJSON_CreateArray(), *groups = cJSON_CreateArray();
    cJSON *series_array = cJSON_CreateArray();
    int column_count = (int)pipeline_column_count(state->hidden, &state->higher);
    char path[OHLCX_PATH_MAX + 32], name[64];
    int status;

    cJSON_AddStringToObject(root, "format", "ohlcx-model");
    cJSON_AddNumberToObject(root, "format_version", 1);
    cJSON_AddStringToObject(root, "ohlcx_version", OHLCX_VERSION);
    cJSON_AddStringToObject(root, "cnn_mode", pipeline_cnn_mode_name(options->cnn_mode));
    cJSON_AddNumberToObject(root, "window", options->window);
    cJSON_AddNumberToObject(root, "horizon", options->horizon);
    cJSON_AddNumberToObject(root, "seed", (double)options->seed);
    cJSON_AddNumberToObject(root, "embedding_size", state->hidden);
    /* Precision of the CNN's convolutions in training: fp32 or bf16. */
    cJSON_AddStringToObject(root, "precision",
                            ohlcx_cnn_precision_name(ohlcx_cnn_get_precision()));
    cJSON_AddStringToObject(root, "label", "1 if close[t + horizon] > close[t], else 0");
    for (int i = 0; i < column_count; i++)
        cJSON_AddItemToArray(columns, cJSON_CreateString(pipeline_column_name(
                                          i, state->hidden, &state->higher, name, sizeof name)));
    /* A bundle without higher timeframes keeps the manifest of earlier
     * versions, and `ohlcx predict` reads a missing list as none. */
    if (state->higher.count > 0)
        cJSON_AddItemToObject(root, "higher_timeframes", higher_array(&state->higher));
    /* `ohlcx predict` and `ohlcx lookahead` rebuild the leak column from this. */
    if (state->higher.debug_leak == OHLCX_DEBUG_LEAK_NEXT_RETURN)
        cJSON_AddStringToObject(root, "debug_leak", "next-return");
    cJSON_AddItemToObject(root, "xgboost_columns", columns);
    cJSON_AddStringToObject(root, "xgboost_model", "xgboost.json");
    cJSON_AddNumberToObject(root, "xgboost_rounds", ohlcx_gbdt_rounds(state->model));

    for (int g = 0; g < state->group_count; g++) {
        cJSON *group = cJSON_CreateObject();
        cJSON_AddStringToObject(group, "name", state->groups[g].name);
        cJSON_AddStringToObject(group, "file", state->groups[g].file);
        cJSON_AddNumberToObject(group, "best_epoch", state->groups[g].history.best_epoch);
        cJSON_AddItemToArray(groups, group);
    }
    cJSON_AddItemToObject(root, "cnn_groups", groups);
    cJSON_AddItemToObject(root, "cnn_architecture", cnn_settings_object(state));
    /* Row i of the symbol embedding belongs to symbols[i]. The CNN's last
     * row serves every other symbol. */
    if (state->symbol_count > 0) {
        cJSON *symbols = cJSON_CreateArray();

        for (int i = 0; i < state->symbol_count; i++)
            cJSON_AddItemToArray(symbols, cJSON_CreateString(state->symbols[i]));
        cJSON_AddItemToObject(root, "cnn_symbols", symbols);
    }

    for (size_t s = 0; s < state->series_count; s++) {
        const pipeline_series *series = &state->series[s];
        cJSON *entry;

        if (!series->usable)
            continue;
        entry = cJSON_CreateObject();
        cJSON_AddStringToObject(entry, "symbol", series->bars.symbol);
        cJSON_AddStringToObject(entry, "timeframe", series->bars.timeframe);
        cJSON_AddStringToObject(entry, "asset_class",
                                ohlcx_asset_class_name(series->bars.asset_class));
        cJSON_AddStringToObject(entry, "file", series->bars.source_path);
        if (series->store_version > 0)
            cJSON_AddNumberToObject(entry, "store_version", (double)series->store_version);
        else
            cJSON_AddStringToObject(entry, "sha256", series->sha256);
        cJSON_AddNumberToObject(entry, "bars", (double)series->bars.n);
        cJSON_AddStringToObject(entry, "cnn_group", state->groups[series->group].name);
        cJSON_AddItemToObject(entry, "split", split_object(state, series));
        cJSON_AddItemToArray(series_array, entry);
    }
    cJSON_AddItemToObject(root, "series", series_array);

    snprintf(path, sizeof path, "%s/model/manifest.json", options->out_dir);
    status = write_json(root, path);
    cJSON_Delete(root);
    return status;
}


int run_write_outputs(const run_state *state)
{
    int status = write_metrics(state);

    if (status == 0)
        status = write_manifest(state);
    return status;
}


static void print_metrics_row(const char *name, const ohlcx_metrics *metrics)
{
    printf("%-18s %9.4f %9.4f %9.4f %9.4f %9zu\n", name, metrics->accuracy,
           metrics->balanced_accuracy, metrics->auc, metrics->log_loss, metrics->n);
}


void run_print_table(const run_state *state)
{
    printf("\n%-18s %9s %9s %9s %9s %9s\n", "test metrics", "accuracy", "bal_acc", "auc",
           "log_loss", "n");
    print_metrics_row("cnn+xgboost", &state->test_metrics[MODEL_COMBINED]);
    for (int model = MODEL_MAJORITY; model < MODEL_COUNT; model++)
        print_metrics_row(model_names[model], &state->test_metrics[model]);

    printf("\n%-12s %-9s %9s %9s %9s\n", "symbol", "timeframe", "n_test", "accuracy", "auc");
    for (size_t s = 0; s < state->series_count; s++) {
        const pipeline_series *series = &state->series[s];
        if (!series->usable)
            continue;
        printf("%-12s %-9s %9zu %9.4f %9.4f\n", series->bars.symbol, series->bars.timeframe,
               state->series_metrics[s].n, state->series_metrics[s].accuracy,
               state->series_metrics[s].auc);
    }

    printf("\nrows: %zu read, %zu dropped, %zu unparseable skipped, %zu filled in short gaps; "
           "%zu samples, %zu excluded (window_spans_gap %zu)\n",
           state->rows_read, state->rows_dropped, state->bad_rows, state->bars_filled,
           state->total_samples, state->samples_excluded, state->samples_excluded);
    printf("time: load %.1fs, features %.1fs, cnn_train %.1fs, embed %.1fs, xgb_train %.1fs, "
           "predict %.1fs, total %.1fs\n",
           state->timings[TIMING_LOAD], state->timings[TIMING_FEATURES],
           state->timings[TIMING_CNN_TRAIN], state->timings[TIMING_EMBED],
           state->timings[TIMING_XGB_TRAIN], state->timings[TIMING_PREDICT],
           state->timings[TIMING_TOTAL]);
    printf("model and metrics.json written to %s\n", state->options->out_dir);
    fflush(stdout);
}


/* Adds a string, or null for NULL. */
static void add_string_or_null(cJSON *object, const char *name, const char *value)
{
    if (value != NULL)
        cJSON_AddStringToObject(object, name, value);
    else
        cJSON_AddNullToObject(object, name);
}


/* The options that decide a run's results, keyed by their command-line
 * names. --out is left out because it names the run being resumed. */
static cJSON *arguments_object(const run_state *state)
{
    const ohlcx_run_options *options = state->options;
    cJSON *arguments = cJSON_CreateObject();
    cJSON *inputs = cJSON_CreateArray();

    for (size_t i = 0; i < options->input_count; i++) {
        /* "data/" and "data" name the same folder, so a resume may write
         * either. */
        size_t length = strlen(options->inputs[i]);
        char *path = malloc(length + 1);

        if (path == NULL)
            break;
        memcpy(path, options->inputs[i], length + 1);
        while (length > 1 && path[length - 1] == '/')
            path[--length] = '\0';
        cJSON_AddItemToArray(inputs, cJSON_CreateString(path));
        free(path);
    }
    cJSON_AddItemToObject(arguments, "--data", inputs);
    add_string_or_null(arguments, "--store", options->store_dir);
    add_string_or_null(arguments, "--universe", options->universe_path);
    cJSON_AddNumberToObject(arguments, "--max-samples-per-series",
                            (double)options->max_samples_per_series);
    cJSON_AddBoolToObject(arguments, "--balance-classes", options->balance_classes);
    add_string_or_null(arguments, "--symbol", options->symbol);
    add_string_or_null(arguments, "--timeframe", options->timeframe);
    cJSON_AddStringToObject(arguments, "--cnn", pipeline_cnn_mode_name(options->cnn_mode));
    cJSON_AddNumberToObject(arguments, "--window", options->window);
    cJSON_AddNumberToObject(arguments, "--horizon", options->horizon);
    cJSON_AddNumberToObject(arguments, "--seed", (double)options->seed);
    cJSON_AddNumberToObject(arguments, "--jobs", state->jobs);
    cJSON_AddStringToObject(arguments, "--precision",
                            ohlcx_cnn_precision_name(ohlcx_cnn_get_precision()));
    cJSON_AddNumberToObject(arguments, "--epochs", options->epochs);
    cJSON_AddNumberToObject(arguments, "--patience", options->patience);
    cJSON_AddNumberToObject(arguments, "--batch", options->batch_size);
    cJSON_AddItemToObject(arguments, "--config", cnn_settings_object(state));
    cJSON_AddStringToObject(arguments, "--bad-rows",
                            options->bad_rows == OHLCX_BAD_ROWS_SKIP ? "skip" : "fail");
    add_string_or_null(arguments, "--columns", options->columns);
    add_string_or_null(arguments, "--tz", options->tz);
    /* Recorded only when given, so the record of a run without it stays as
     * before. compare_arguments() also fails on a key that only the record
     * has. */
    if (state->higher.count > 0)
        cJSON_AddItemToObject(arguments, "--higher", higher_array(&state->higher));
    if (state->higher.debug_leak == OHLCX_DEBUG_LEAK_NEXT_RETURN)
        cJSON_AddStringToObject(arguments, "--debug-leak", "next-return");
    /* A walk-forward run cannot be resumed, and its record keeps a later
     * --resume without --walk-forward from taking its last fold's CNNs. */
    if (state->options->walk_forward)
        cJSON_AddBoolToObject(arguments, "--walk-forward", 1);
    return arguments;
}


void run_checkpoint_path(const run_state *state, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/checkpoints/%s", state->options->out_dir, name);
}


/* Returns 1 for the files of the checkpoint folder other than the CNNs':
 * run.json, stages.json and the saved XGBoost models, or their temporary
 * files. */
static int is_run_record(const char *name)
{
    static const char *names[] = {"run.json", "stages.json", "xgboost.json",
                                  "xgb-baseline.json"};
    size_t length = strlen(name);

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t base = strlen(names[i]);

        if (strncmp(name, names[i], base) != 0)
            continue;
        if (length == base || strcmp(name + base, ".tmp") == 0)
            return 1;
    }
    return 0;
}


int run_checkpoints_clear(const run_state *state)
{
    char folder[OHLCX_PATH_MAX + 32], path[OHLCX_PATH_MAX + 320];
    struct dirent *entry;
    DIR *dir;
    int status;

    snprintf(folder, sizeof folder, "%s/checkpoints", state->options->out_dir);
    status = ohlcx_make_dirs(folder);
    if (status != 0)
        return status;
    dir = opendir(folder);
    if (dir == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", folder, strerror(errno));
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        size_t length = strlen(name);
        int is_cnn = strncmp(name, "cnn-", 4) == 0 &&
                     ((length > 5 && strcmp(name + length - 5, ".ckpt") == 0) ||
                      (length > 9 && strcmp(name + length - 9, ".ckpt.tmp") == 0));

        if (!is_cnn && !is_run_record(name))
            continue;
        snprintf(path, sizeof path, "%s/%s", folder, name);
        if (unlink(path) != 0 && errno != ENOENT) {
            status = ohlcx_set_error(OHLCX_EIO, "cannot remove %s: %s", path, strerror(errno));
            break;
        }
    }
    closedir(dir);
    return status;
}


int run_write_text_atomically(const char *text, const char *path)
{
    char tmp_path[OHLCX_PATH_MAX + 128];
    FILE *file;
    int failed;

    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", path);
    file = fopen(tmp_path, "w");
    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", tmp_path, strerror(errno));
    failed = fputs(text, file) == EOF;
    failed = failed || fflush(file) != 0;
    failed = failed || fsync(fileno(file)) != 0;
    if (fclose(file) != 0)
        failed = 1;
    if (failed || rename(tmp_path, path) != 0) {
        int error = errno;

        remove(tmp_path);
        return ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", path, strerror(error));
    }
    return 0;
}


int run_checkpoint_write_arguments(const run_state *state)
{
    cJSON *root = cJSON_CreateObject();
    char path[OHLCX_PATH_MAX + 64];
    char *text;
    int status;

    cJSON_AddStringToObject(root, "format", "ohlcx-run-checkpoint");
    cJSON_AddNumberToObject(root, "format_version", 1);
    cJSON_AddItemToObject(root, "arguments", arguments_object(state));
    cJSON_AddStringToObject(root, "data_sha256", state->data_sha256);
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing the run checkpoint");
    run_checkpoint_path(state, "run.json", path, sizeof path);
    status = run_write_text_atomically(text, path);
    free(text);
    return status;
}


static int read_run_record(const run_state *state, cJSON **out)
{
    char path[OHLCX_PATH_MAX + 64];
    FILE *file;
    char *text;
    long size;

    run_checkpoint_path(state, "run.json", path, sizeof path);
    file = fopen(path, "rb");
    if (file == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: no checkpoint (%s: %s): run "
                               "without --resume to start a new run",
                               state->options->out_dir, path, strerror(errno));
    if (fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 ||
        fseek(file, 0, SEEK_SET) != 0) {
        fclose(file);
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    text = malloc((size_t)size + 1);
    if (text == NULL || fread(text, 1, (size_t)size, file) != (size_t)size) {
        fclose(file);
        free(text);
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s", path);
    }
    fclose(file);
    text[size] = '\0';
    *out = cJSON_Parse(text);
    free(text);
    if (*out == NULL || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*out, "arguments")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*out, "data_sha256"))) {
        cJSON_Delete(*out);
        *out = NULL;
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: not a run checkpoint (expected JSON with "
                               "arguments and data_sha256)", path);
    }
    return 0;
}


/* Fails on the first argument whose value differs between the record and
 * this run, naming both values, or that only the record has. */
/* Returns 1 for an argument that every run.json since it was added records,
 * even at its default: a record without it comes from an earlier version. */
static int recorded_always(const char *key)
{
    static const char *const keys[] = {"--universe", "--max-samples-per-series",
                                       "--balance-classes", "--precision", "--config"};

    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}


/* Returns 1 when two --data lists name the same files and folders: each
 * entry is compared by its real path where it resolves, so "data",
 * "./data" and "/abs/data" match, else as written. */
static int same_inputs(const cJSON *now, const cJSON *old)
{
    const cJSON *a, *b;

    if (!cJSON_IsArray(now) || !cJSON_IsArray(old) ||
        cJSON_GetArraySize(now) != cJSON_GetArraySize(old))
        return 0;
    for (a = now->child, b = old->child; a != NULL && b != NULL; a = a->next, b = b->next) {
        char *real_a, *real_b;
        int same;

        if (!cJSON_IsString(a) || !cJSON_IsString(b))
            return 0;
        if (strcmp(a->valuestring, b->valuestring) == 0)
            continue;
        real_a = realpath(a->valuestring, NULL);
        real_b = realpath(b->valuestring, NULL);
        same = real_a != NULL && real_b != NULL && strcmp(real_a, real_b) == 0;
        free(real_a);
        free(real_b);
        if (!same)
            return 0;
    }
    return 1;
}


/* Narrows a difference between two objects to the first key whose values
 * differ, extending name ("--config") to "--config.dropout" and pointing
 * *now and *old to those values. Values other than two objects stay as
 * they are. */
static void narrow_difference(char *name, size_t size, const cJSON **now, const cJSON **old)
{
    while (cJSON_IsObject(*now) && cJSON_IsObject(*old)) {
        const cJSON *item, *found = NULL, *found_old = NULL;
        size_t used = strlen(name);

        cJSON_ArrayForEach(item, *now) {
            const cJSON *other = cJSON_GetObjectItemCaseSensitive(*old, item->string);

            if (other == NULL || !cJSON_Compare(item, other, 1)) {
                found = item;
                found_old = other;
                break;
            }
        }
        if (found == NULL || found_old == NULL)
            return;
        snprintf(name + used, size - used, ".%s", found->string);
        *now = found;
        *old = found_old;
    }
}


static int compare_arguments(const run_state *state, const cJSON *saved)
{
    cJSON *current = arguments_object(state);
    const cJSON *item;
    int status = 0;

    cJSON_ArrayForEach(item, saved) {
        char *old_text;

        if (item->string == NULL ||
            cJSON_GetObjectItemCaseSensitive(current, item->string) != NULL)
            continue;
        old_text = cJSON_PrintUnformatted(item);
        status = ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: the checkpointed run used "
                                 "%s %s, but it is not given now: pass the same arguments, or "
                                 "run without --resume to start over",
                                 state->options->out_dir, item->string,
                                 old_text ? old_text : "?");
        free(old_text);
        cJSON_Delete(current);
        return status;
    }

    cJSON_ArrayForEach(item, current) {
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(saved, item->string);
        char *now_text, *old_text;

        char name[256];
        const cJSON *now_value = item, *old_value = old;

        if (old != NULL && cJSON_Compare(item, old, 1))
            continue;
        if (old != NULL && strcmp(item->string, "--data") == 0 && same_inputs(item, old))
            continue;
        if (old == NULL && recorded_always(item->string)) {
            status = ohlcx_set_error(OHLCX_EINVAL,
                                     "cannot resume %s: its checkpoints/run.json does not "
                                     "record %s, so an earlier ohlcx version wrote it: run "
                                     "without --resume to start over",
                                     state->options->out_dir, item->string);
            break;
        }
        snprintf(name, sizeof name, "%s", item->string);
        if (old != NULL)
            narrow_difference(name, sizeof name, &now_value, &old_value);
        now_text = cJSON_PrintUnformatted(now_value);
        old_text = old_value != NULL ? cJSON_PrintUnformatted(old_value) : NULL;
        status = ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: %s is %s, but the "
                                 "checkpointed run used %s: pass the same arguments, or run "
                                 "without --resume to start over",
                                 state->options->out_dir, name,
                                 now_text ? now_text : "?", old_text ? old_text : "nothing");
        free(now_text);
        free(old_text);
        break;
    }
    cJSON_Delete(current);
    return status;
}


int run_checkpoint_check_arguments(const run_state *state)
{
    cJSON *record = NULL;
    int status = read_run_record(state, &record);

    if (status == 0)
        status = compare_arguments(state, cJSON_GetObjectItemCaseSensitive(record, "arguments"));
    cJSON_Delete(record);
    return status;
}


int run_checkpoint_exists(const run_state *state)
{
    char path[OHLCX_PATH_MAX + 64];

    run_checkpoint_path(state, "run.json", path, sizeof path);
    return access(path, F_OK) == 0;
}


int run_checkpoint_write_pending(run_state *state)
{
    char folder[OHLCX_PATH_MAX + 32];
    int status;

    snprintf(folder, sizeof folder, "%s/checkpoints", state->options->out_dir);
    status = ohlcx_make_dirs(folder);
    if (status != 0)
        return status;
    snprintf(state->data_sha256, sizeof state->data_sha256, "%s", PENDING_DIGEST);
    status = run_checkpoint_write_arguments(state);
    state->data_sha256[0] = '\0';
    return status;
}


int run_checkpoint_check_data(run_state *state)
{
    cJSON *record = NULL;
    const cJSON *digest;
    int status = read_run_record(state, &record);

    if (status != 0)
        return status;
    digest = cJSON_GetObjectItemCaseSensitive(record, "data_sha256");
    if (strcmp(digest->valuestring, PENDING_DIGEST) == 0)
        state->record_pending = 1;
    else if (strcmp(digest->valuestring, state->data_sha256) != 0)
        status = ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: the input series differ from "
                                 "those of the checkpointed run (data digest %.12s, was %.12s): "
                                 "restore the inputs, or run without --resume to start over",
                                 state->options->out_dir, state->data_sha256,
                                 digest->valuestring);
    cJSON_Delete(record);
    return status;
}
