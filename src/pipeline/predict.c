/*
 * `ohlcx predict`: the up-probability for the latest complete bar of each
 * input series, from a model bundle written by `ohlcx run`.
 *
 * A bar is complete when its close, open time + timeframe, is not after the
 * reference time (the current time unless the caller gives one), so a bar
 * still forming at the end of a file is never scored. Loading fills short
 * gaps as `ohlcx run` does, so the features match those of training. A
 * window that reads across a longer gap is still scored, with a warning.
 * A bundle trained with higher timeframes lists them in its manifest, and
 * each row gets their features exactly as in training.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ohlcx/dataset.h"
#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/gbdt.h"
#include "pipeline/internal.h"
#include "util/util.h"

typedef struct prediction {
    const pipeline_series *series;
    int64_t open_time;
    float prob_up;
} prediction;

/* predict_series() result for a series with too few complete bars, with the
 * reason in the error message. It is positive, so it is no OHLCX code. */
#define PREDICT_TOO_SHORT 1


int pipeline_read_text_file(const char *path, char **out)
{
    FILE *file = fopen(path, "rb");
    struct stat info;
    long size;
    char *text;

    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s: not a regular file", path);
    }
    fseek(file, 0, SEEK_END);
    size = ftell(file);
    fseek(file, 0, SEEK_SET);
    text = malloc((size_t)(size > 0 ? size : 0) + 1);
    if (text == NULL) {
        fclose(file);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", path);
    }
    if (size > 0 && fread(text, 1, (size_t)size, file) != (size_t)size) {
        fclose(file);
        free(text);
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s", path);
    }
    text[size > 0 ? size : 0] = '\0';
    fclose(file);
    *out = text;
    return 0;
}


static int manifest_int(const cJSON *manifest, const char *key, const char *path, int *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(manifest, key);

    if (!cJSON_IsNumber(item))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: missing number '%s': is this an ohlcx model?",
                               path, key);
    *out = item->valueint;
    return 0;
}


/* Reads the optional higher_timeframes list (none when missing). */
static int read_higher(const cJSON *manifest, const char *path, pipeline_higher *out)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(manifest, "higher_timeframes");
    const char *names[PIPELINE_HIGHER_MAX];
    const cJSON *item;
    int count = 0;

    memset(out, 0, sizeof *out);
    if (list == NULL)
        return 0;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > PIPELINE_HIGHER_MAX)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: higher_timeframes is not a list of at most %d timeframes",
                               path, PIPELINE_HIGHER_MAX);
    cJSON_ArrayForEach(item, list) {
        if (!cJSON_IsString(item))
            return ohlcx_set_error(OHLCX_EFORMAT,
                                   "%s: higher_timeframes entry %d is not a string", path,
                                   count + 1);
        names[count++] = item->valuestring;
    }
    if (pipeline_higher_set(names, count, path, out) != 0) {
        char message[512];

        snprintf(message, sizeof message, "%s", ohlcx_last_error());
        return ohlcx_set_error(OHLCX_EFORMAT, "%s", message);
    }
    return 0;
}


/* Reads the optional debug_leak of a test-only run (none when missing). */
static int read_debug_leak(const cJSON *manifest, const char *path, pipeline_higher *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(manifest, "debug_leak");

    if (item == NULL)
        return 0;
    if (!cJSON_IsString(item) || strcmp(item->valuestring, "next-return") != 0)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: unknown debug_leak: expected next-return",
                               path);
    out->debug_leak = OHLCX_DEBUG_LEAK_NEXT_RETURN;
    ohlcx_log_warn("%s: this model was trained with --debug-leak next-return, a deliberate "
                   "look-ahead leak for testing: its predictions are meaningless", path);
    return 0;
}


/* Fails unless xgboost_columns names exactly the columns that this ohlcx
 * builds for the manifest's embedding size and higher timeframes, so that
 * every row is read the way the model was trained. */
static int check_columns(pipeline_bundle *b, const cJSON *columns, const char *path)
{
    size_t expected = pipeline_column_count(b->hidden, &b->higher);
    char name[32];

    b->column_count = (size_t)cJSON_GetArraySize(columns);
    if (b->column_count != expected)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: %zu xgboost_columns, but this ohlcx builds %zu: retrain the "
                               "model with this version",
                               path, b->column_count, expected);
    for (size_t i = 0; i < expected; i++) {
        const cJSON *item = cJSON_GetArrayItem(columns, (int)i);

        pipeline_column_name((int)i, b->hidden, &b->higher, name, sizeof name);
        if (!cJSON_IsString(item) || strcmp(item->valuestring, name) != 0)
            return ohlcx_set_error(OHLCX_EFORMAT,
                                   "%s: xgboost_columns entry %zu is %s, but this ohlcx builds "
                                   "%s there: retrain the model with this version",
                                   path, i + 1,
                                   cJSON_IsString(item) ? item->valuestring : "not a string",
                                   name);
    }
    return 0;
}


/* Computes the CNN in the precision it was trained in, so that served
 * embeddings are those XGBoost learned from, and logs it when that is not
 * the default fp32. Where the CPU cannot run bf16,
 * it runs fp32 with a warning: the probabilities then differ slightly from
 * the training run's. A manifest without precision predates bf16. */
static void use_training_precision(const cJSON *manifest, const char *path)
{
    const cJSON *precision = cJSON_GetObjectItemCaseSensitive(manifest, "precision");
    ohlcx_cnn_precision trained;

    if (!cJSON_IsString(precision) ||
        ohlcx_cnn_parse_precision(precision->valuestring, &trained) != 0)
        trained = OHLCX_CNN_PRECISION_FP32;
    if (ohlcx_cnn_set_precision(trained) == 0) {
        if (trained != OHLCX_CNN_PRECISION_FP32)
            ohlcx_log_info("%s: computing the CNN in %s, as in training", path,
                           ohlcx_cnn_precision_name(trained));
        return;
    }
    ohlcx_log_warn("%s: the CNN was trained in %s, which this machine or build cannot run; "
                   "computing it in fp32, so probabilities differ slightly from training",
                   path, precision->valuestring);
    ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_FP32);
}


int pipeline_bundle_open(const char *model_dir, int jobs, pipeline_bundle *out)
{
    char path[OHLCX_PATH_MAX + 32];
    const cJSON *columns, *mode;
    char *text = NULL;
    int status;

    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/manifest.json", model_dir);
    status = pipeline_read_text_file(path, &text);
    if (status != 0)
        return status;
    out->manifest = cJSON_Parse(text);
    free(text);
    if (out->manifest == NULL)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: invalid JSON", path);

    status = manifest_int(out->manifest, "window", path, &out->window);
    if (status == 0)
        status = manifest_int(out->manifest, "embedding_size", path, &out->hidden);
    if (status != 0)
        return status;
    if (out->window < 9 || out->window > 1024 || out->hidden < 1 || out->hidden > 256)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: window %d or embedding_size %d out of range (9 to 1024, 1 "
                               "to 256)",
                               path, out->window, out->hidden);
    columns = cJSON_GetObjectItemCaseSensitive(out->manifest, "xgboost_columns");
    mode = cJSON_GetObjectItemCaseSensitive(out->manifest, "cnn_mode");
    out->groups = cJSON_GetObjectItemCaseSensitive(out->manifest, "cnn_groups");
    if (!cJSON_IsArray(columns) || !cJSON_IsString(mode) || !cJSON_IsArray(out->groups) ||
        cJSON_GetArraySize(out->groups) == 0)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: missing xgboost_columns, cnn_mode or cnn_groups", path);
    status = read_higher(out->manifest, path, &out->higher);
    if (status == 0)
        status = read_debug_leak(out->manifest, path, &out->higher);
    if (status == 0)
        status = check_columns(out, columns, path);
    if (status != 0)
        return status;
    out->cnn_mode = pipeline_cnn_mode_parse(mode->valuestring);
    if (out->cnn_mode < 0)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: unknown cnn_mode '%s': expected per-symbol, per-market or "
                               "global",
                               path, mode->valuestring);
    out->symbols = cJSON_GetObjectItemCaseSensitive(out->manifest, "cnn_symbols");
    if (out->symbols != NULL && !cJSON_IsArray(out->symbols))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: cnn_symbols is not a list", path);
    use_training_precision(out->manifest, path);
    out->cnns = calloc((size_t)cJSON_GetArraySize(out->groups), sizeof *out->cnns);
    if (out->cnns == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory loading %s", model_dir);

    snprintf(path, sizeof path, "%s/xgboost.json", model_dir);
    return ohlcx_gbdt_load(path, out->column_count, jobs, &out->model);
}


void pipeline_bundle_apply_classes(const pipeline_bundle *b, pipeline_series *series,
                                   size_t count)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(b->manifest, "series");
    const cJSON *entry;

    cJSON_ArrayForEach(entry, list) {
        const cJSON *symbol = cJSON_GetObjectItemCaseSensitive(entry, "symbol");
        const cJSON *timeframe = cJSON_GetObjectItemCaseSensitive(entry, "timeframe");
        const cJSON *asset_class = cJSON_GetObjectItemCaseSensitive(entry, "asset_class");
        int found = -1;

        if (!cJSON_IsString(symbol) || !cJSON_IsString(timeframe) || !cJSON_IsString(asset_class))
            continue;
        for (int c = 0; c < OHLCX_ASSET_COUNT; c++)
            if (strcmp(asset_class->valuestring, ohlcx_asset_class_name(c)) == 0)
                found = c;
        for (size_t i = 0; i < count && found >= 0; i++)
            if (strcasecmp(series[i].bars.symbol, symbol->valuestring) == 0 &&
                strcmp(series[i].bars.timeframe, timeframe->valuestring) == 0)
                series[i].bars.asset_class = found;
    }
}


void pipeline_bundle_close(pipeline_bundle *b)
{
    int groups = b->groups ? cJSON_GetArraySize(b->groups) : 0;

    for (int g = 0; b->cnns != NULL && g < groups; g++)
        ohlcx_cnn_free(b->cnns[g]);
    free(b->cnns);
    ohlcx_gbdt_free(b->model);
    cJSON_Delete(b->manifest);
}


/* Fails unless a CNN reads the manifest's window and input channels, gives
 * its embedding size and has one symbol row per cnn_symbols entry plus the
 * row for other symbols, so windows, ids and rows are built to its shape. */
static int check_cnn_matches(const pipeline_bundle *b, const ohlcx_cnn *cnn, const char *path)
{
    const ohlcx_cnn_config *config = ohlcx_cnn_get_config(cnn);
    int symbols = b->symbols != NULL ? cJSON_GetArraySize(b->symbols) + 1 : 0;

    if (config->window != b->window || config->hidden != b->hidden ||
        config->channels != OHLCX_WINDOW_CHANNELS)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: CNN with window %d, %d channels and embedding %d does not "
                               "match the manifest (window %d, %d channels, embedding %d): "
                               "the bundle mixes two runs; rerun ohlcx run",
                               path, config->window, config->channels, config->hidden,
                               b->window, OHLCX_WINDOW_CHANNELS, b->hidden);
    if (config->symbols != symbols)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: CNN with %d symbol embedding rows does not match the "
                               "manifest's %d cnn_symbols and the row for other symbols: the "
                               "bundle mixes two runs; rerun ohlcx run",
                               path, config->symbols,
                               b->symbols != NULL ? cJSON_GetArraySize(b->symbols) : 0);
    return 0;
}


/* Returns the embedding row of a symbol: its place in cnn_symbols, or the
 * last row for a symbol the CNN was not trained on. */
static int32_t symbol_row(const pipeline_bundle *b, const char *symbol)
{
    int count = cJSON_GetArraySize(b->symbols);

    for (int i = 0; i < count; i++) {
        const cJSON *name = cJSON_GetArrayItem(b->symbols, i);

        if (cJSON_IsString(name) && strcmp(name->valuestring, symbol) == 0)
            return i;
    }
    ohlcx_log_info("symbol %s was not in training: the global CNN gives it the mean of the "
                   "learned symbol embeddings", symbol);
    return count;
}


/* Finds, and loads on first use, the CNN that serves a series: its
 * symbol's, its asset class's, or the global one, as in training. */
int pipeline_bundle_cnn(pipeline_bundle *b, const char *model_dir, const ohlcx_series *bars,
                        ohlcx_cnn **out, int32_t *symbol_id)
{
    int groups = cJSON_GetArraySize(b->groups);
    const char *key = pipeline_cnn_group_key(b->cnn_mode, bars);

    for (int g = 0; g < groups; g++) {
        const cJSON *group = cJSON_GetArrayItem(b->groups, g);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(group, "name");
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(group, "file");
        char path[OHLCX_PATH_MAX + 64];

        if (!cJSON_IsString(name) || !cJSON_IsString(file))
            return ohlcx_set_error(OHLCX_EFORMAT, "%s/manifest.json: invalid cnn_groups entry",
                                   model_dir);
        if (strcmp(name->valuestring, key) != 0)
            continue;
        if (b->cnns[g] == NULL) {
            snprintf(path, sizeof path, "%s/%s", model_dir, file->valuestring);
            int status = ohlcx_cnn_load(path, &b->cnns[g]);
            if (status != 0)
                return status;
            status = check_cnn_matches(b, b->cnns[g], path);
            if (status != 0)
                return status;
        }
        *out = b->cnns[g];
        *symbol_id = b->symbols != NULL ? symbol_row(b, bars->symbol) : -1;
        return 0;
    }
    if (b->cnn_mode == OHLCX_CNN_PER_MARKET)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "the model in %s has no CNN for asset class %s (symbol %s): it "
                               "was trained with --cnn per-market on other asset classes. "
                               "Retrain with --cnn global to serve every series",
                               model_dir, key, bars->symbol);
    return ohlcx_set_error(OHLCX_EINVAL,
                           "the model in %s has no CNN for symbol %s: it was trained with "
                           "--cnn %s on other symbols. Retrain with --cnn global to serve "
                           "new symbols",
                           model_dir, bars->symbol, pipeline_cnn_mode_name(b->cnn_mode));
}


static int predict_series(pipeline_bundle *b, const ohlcx_predict_options *options,
                          pipeline_series *series, prediction *out)
{
    const ohlcx_series *bars = &series->bars;
    int64_t timeframe_us = ohlcx_timeframe_us(bars->timeframe);
    size_t first = (size_t)(b->window > OHLCX_FEATURE_WARMUP ? b->window : OHLCX_FEATURE_WARMUP);
    size_t t = bars->n;
    float *window = NULL, *row = NULL, embedding[256], prob;
    ohlcx_cnn *cnn = NULL;
    int32_t symbol_id = -1;
    int status;

    while (t > 0 && bars->open_time[t - 1] + timeframe_us > options->now_us)
        t--;
    if (t == 0 || t - 1 < first) {
        ohlcx_set_error(OHLCX_EDATA,
                        "%s: %zu complete bars before the reference time, but a prediction "
                        "needs at least %zu",
                        bars->source_path, t, first + 1);
        return PREDICT_TOO_SHORT;
    }
    t--;
    /* Horizon 0: the bar has no label yet, so only its window counts. */
    if (ohlcx_sample_crosses_gap(t, b->window, 0, series->long_gap_rows, series->long_gaps)) {
        char time_text[20];

        ohlcx_format_datetime(bars->open_time[t], time_text);
        ohlcx_log_warn("%s: the window of the bar opening %s reads across a gap longer than %d "
                       "bars, which no training sample does: treat this prediction with care",
                       bars->source_path, time_text, PIPELINE_MAX_FILL_GAP);
    }
    if (b->hidden > 256)
        return ohlcx_set_error(OHLCX_EFORMAT, "embedding size %d is above 256", b->hidden);

    status = pipeline_bundle_cnn(b, options->model_dir, bars, &cnn, &symbol_id);
    if (status != 0)
        return status;
    window = malloc((size_t)OHLCX_WINDOW_CHANNELS * (size_t)b->window * sizeof *window);
    row = malloc(b->column_count * sizeof *row);
    if (window == NULL || row == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory scoring %s", bars->source_path);
        goto done;
    }
    /* The same rows as training builds. Bars after t may be in the input
     * (later than --now), but the features of bar t read none of them,
     * because the own features are causal and a higher bar joins only once
     * it has closed by bar t's close. */
    status = pipeline_compute_features(series, &b->higher, 0);
    if (status == 0)
        status = ohlcx_window_fill(bars, t, b->window, window);
    if (status == 0)
        status = pipeline_cnn_embed(cnn, window, symbol_id, 1, NULL, embedding);
    if (status != 0)
        goto done;
    pipeline_fill_row(series, t, embedding, b->hidden, row);
    status = ohlcx_gbdt_predict(b->model, row, 1, &prob);
    out->series = series;
    out->open_time = bars->open_time[t];
    out->prob_up = prob;

done:
    free(window);
    free(row);
    return status;
}


/* Prints a CSV field, quoted as RFC 4180 writes it when it contains a comma,
 * a quote or a line break. A symbol comes from a file name, which may. */
static void print_csv_field(const char *text)
{
    if (strpbrk(text, ",\"\r\n") == NULL) {
        fputs(text, stdout);
        return;
    }
    putchar('"');
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '"')
            putchar('"');
        putchar(*c);
    }
    putchar('"');
}


static void print_predictions(const prediction *predictions, size_t count, int json)
{
    char time_text[20];

    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON *array = cJSON_AddArrayToObject(root, "predictions");
        char *text;

        for (size_t i = 0; i < count; i++) {
            cJSON *item = cJSON_CreateObject();
            ohlcx_format_datetime(predictions[i].open_time, time_text);
            cJSON_AddStringToObject(item, "symbol", predictions[i].series->bars.symbol);
            cJSON_AddStringToObject(item, "timeframe", predictions[i].series->bars.timeframe);
            cJSON_AddStringToObject(item, "open_time", time_text);
            cJSON_AddNumberToObject(item, "prob_up", predictions[i].prob_up);
            cJSON_AddStringToObject(item, "file", predictions[i].series->bars.source_path);
            cJSON_AddItemToArray(array, item);
        }
        text = cJSON_Print(root);
        if (text != NULL)
            puts(text);
        free(text);
        cJSON_Delete(root);
        return;
    }
    puts("symbol,timeframe,open_time,prob_up");
    for (size_t i = 0; i < count; i++) {
        ohlcx_format_datetime(predictions[i].open_time, time_text);
        print_csv_field(predictions[i].series->bars.symbol);
        printf(",%s,%s,%.6f\n", predictions[i].series->bars.timeframe, time_text,
               predictions[i].prob_up);
    }
}


int ohlcx_predict(const ohlcx_predict_options *options)
{
    int jobs = options->jobs > 0 ? options->jobs : pipeline_default_jobs();
    ohlcx_layout_options layout = {.columns = options->columns, .tz = options->tz};
    pipeline_series *series = NULL;
    prediction *predictions = NULL;
    char **files = NULL;
    size_t file_count = 0, scored = 0, skipped = 0;
    pipeline_bundle b;
    int status;

    pipeline_set_blas_threads(jobs);
    status = pipeline_bundle_open(options->model_dir, jobs, &b);
    if (status == 0)
        status = ohlcx_expand_inputs(options->inputs, options->input_count, &files, &file_count);
    if (status == 0 && (options->symbol || options->timeframe) && file_count != 1)
        status = ohlcx_set_error(OHLCX_EINVAL,
                                 "--symbol and --timeframe apply to one input file, but %zu "
                                 "files were given",
                                 file_count);
    if (status == 0)
        status = pipeline_load(files, file_count, options->symbol, options->timeframe,
                               options->bad_rows, &layout, jobs, &series);
    if (status != 0)
        goto done;
    pipeline_bundle_apply_classes(&b, series, file_count);
    predictions = calloc(file_count, sizeof *predictions);
    if (predictions == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory for %zu predictions", file_count);
        goto done;
    }
    /* With several series, one too short to score is left out with a
     * warning, so that it does not hold back the others. */
    for (size_t i = 0; i < file_count && status == 0; i++) {
        const pipeline_series *loaded = &series[i];

        if (loaded->read.bad_row_count > 0 || ohlcx_validation_dropped(&loaded->validation) > 0 ||
            loaded->short_gaps > 0 || loaded->long_gaps > 0)
            pipeline_log_drops(loaded);
        status = predict_series(&b, options, &series[i], &predictions[scored]);
        if (status == PREDICT_TOO_SHORT && file_count > 1) {
            ohlcx_log_warn("%s: left out", ohlcx_last_error());
            skipped++;
            status = 0;
        } else if (status == 0) {
            scored++;
        }
    }
    if (status == PREDICT_TOO_SHORT)
        status = OHLCX_EDATA;
    if (status == 0 && scored == 0)
        status = ohlcx_set_error(OHLCX_EDATA,
                                 "none of the %zu series has enough complete bars before the "
                                 "reference time to be scored (see the warnings above)",
                                 file_count);
    if (status == 0)
        print_predictions(predictions, scored, options->json);
    if (status == 0 && skipped > 0)
        ohlcx_log_warn("%zu of %zu series scored, %zu left out for too few complete bars",
                       scored, file_count, skipped);

done:
    free(predictions);
    pipeline_free_series(series, file_count);
    ohlcx_free_strings(files, file_count);
    pipeline_bundle_close(&b);
    return status;
}
