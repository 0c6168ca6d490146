/*
 * Outputs of `ohlcx run`: metrics.json, the bundle manifest and the table on
 * stdout. Timings are the only values that differ between two runs with the
 * same seed, data and thread count.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "pipeline/run_state.h"
#include "util/util.h"

static const char *timing_names[TIMING_COUNT] = {"load",      "features", "cnn_train", "embed",
                                                 "xgb_train", "predict",  "total"};
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


static cJSON *metrics_object(const ohlcx_metrics *metrics)
{
    cJSON *object = cJSON_CreateObject();

    add_number(object, "accuracy", metrics->accuracy);
    add_number(object, "balanced_accuracy", metrics->balanced_accuracy);
    add_number(object, "auc", metrics->auc);
    add_number(object, "log_loss", metrics->log_loss);
    cJSON_AddNumberToObject(object, "n", (double)metrics->n);
    return object;
}


static int write_json(cJSON *root, const char *path)
{
    char *text = cJSON_Print(root);
    FILE *file;
    int status = 0;

    if (text == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", path);
    file = fopen(path, "w");
    if (file == NULL) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", path, strerror(errno));
    } else {
        fputs(text, file);
        fputc('\n', file);
        if (fclose(file) != 0)
            status = ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    free(text);
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


static int write_metrics(const run_state *state)
{
    const ohlcx_run_options *options = state->options;
    cJSON *root = cJSON_CreateObject();
    cJSON *baselines = cJSON_CreateObject();
    cJSON *timings = cJSON_CreateObject();
    cJSON *config = cJSON_CreateObject();
    char path[OHLCX_PATH_MAX + 32];
    int status;

    cJSON_AddStringToObject(config, "cnn", options->cnn_mode == OHLCX_CNN_GLOBAL ? "global"
                                                                                 : "per-symbol");
    cJSON_AddNumberToObject(config, "window", options->window);
    cJSON_AddNumberToObject(config, "horizon", options->horizon);
    cJSON_AddNumberToObject(config, "seed", (double)options->seed);
    cJSON_AddNumberToObject(config, "jobs", state->jobs);
    cJSON_AddItemToObject(root, "config", config);

    cJSON_AddItemToObject(root, "test", metrics_object(&state->test_metrics[MODEL_COMBINED]));
    for (int model = MODEL_MAJORITY; model < MODEL_COUNT; model++)
        cJSON_AddItemToObject(baselines, model_names[model],
                              metrics_object(&state->test_metrics[model]));
    cJSON_AddItemToObject(root, "baselines", baselines);
    cJSON_AddItemToObject(root, "per_series", per_series_array(state));
    for (int t = 0; t < TIMING_COUNT; t++)
        cJSON_AddNumberToObject(timings, timing_names[t], state->timings[t]);
    cJSON_AddItemToObject(root, "timings_s", timings);
    cJSON_AddItemToObject(root, "rows", rows_object(state));
    cJSON_AddItemToObject(root, "cnn", cnn_array(state));
    cJSON_AddNumberToObject(root, "xgb_rounds", ohlcx_gbdt_rounds(state->model));
    cJSON_AddNumberToObject(root, "xgb_without_cnn_rounds", state->baseline_rounds);
    cJSON_AddNumberToObject(root, "majority_up_rate", state->majority_rate);

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
    int column_count = state->hidden + OHLCX_FEATURE_COUNT + PIPELINE_ID_COLUMNS;
    char path[OHLCX_PATH_MAX + 32], name[64];
    int status;

    cJSON_AddStringToObject(root, "format", "ohlcx-model");
    cJSON_AddNumberToObject(root, "format_version", 1);
    cJSON_AddStringToObject(root, "ohlcx_version", OHLCX_VERSION);
    cJSON_AddStringToObject(root, "cnn_mode",
                            options->cnn_mode == OHLCX_CNN_GLOBAL ? "global" : "per-symbol");
    cJSON_AddNumberToObject(root, "window", options->window);
    cJSON_AddNumberToObject(root, "horizon", options->horizon);
    cJSON_AddNumberToObject(root, "seed", (double)options->seed);
    cJSON_AddNumberToObject(root, "embedding_size", state->hidden);
    cJSON_AddStringToObject(root, "label", "1 if close[t + horizon] > close[t], else 0");
    for (int i = 0; i < column_count; i++)
        cJSON_AddItemToArray(columns, cJSON_CreateString(pipeline_column_name(
                                          i, state->hidden, name, sizeof name)));
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
