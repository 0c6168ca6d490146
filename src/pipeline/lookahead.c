/*
 * `ohlcx lookahead`: a self-test that a run's rows read no future bar.
 *
 * For a sample of test bars t of every series in a run's manifest, the
 * XGBoost row is built twice through the code that `ohlcx predict` uses.
 * One is built from the whole series, the other from the series cut right
 * after bar t, with every feature, higher-timeframe feature and the CNN
 * window recomputed on bars 0..t. A causal row is the same bit for bit in both, and so is its
 * prediction. The first column that differs names the leak.
 *
 * The inputs are reloaded as checkpoints/run.json records them, with the
 * same reading, validation and gap filling as the run, and the cut is made
 * on the loaded series. NOTE: so the check covers features, windows and
 * the higher-timeframe join, but not the gap filling of loading, which sees
 * the whole file. Relative --data paths are read from the current folder,
 * as the run read them. An input whose SHA-256 (or store version) differs
 * from the manifest's fails the check before any row is built, because its
 * rows are not those the run trained on.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/gbdt.h"
#include "ohlcx/store.h"
#include "pipeline/internal.h"
#include "util/util.h"

/* The loaded inputs of a run, in the order that loading returns them. */
typedef struct lookahead_inputs {
    pipeline_series *series;
    size_t count;
    char **files;
    size_t file_count;
} lookahead_inputs;

/* Buffers for building one row, sized once for the bundle. */
typedef struct row_buffers {
    float *window;
    float *full_row;
    float *cut_row;
    float embedding[256];
} row_buffers;


/* Returns the string argument key of run.json, or NULL when it is null or
 * missing. */
static const char *argument_string(const cJSON *arguments, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(arguments, key);

    return cJSON_IsString(item) ? item->valuestring : NULL;
}


static int read_run_record(const char *run_dir, cJSON **out)
{
    char path[OHLCX_PATH_MAX + 64];
    char *text = NULL;
    int status;

    snprintf(path, sizeof path, "%s/checkpoints/run.json", run_dir);
    status = pipeline_read_text_file(path, &text);
    if (status != 0)
        return status;
    *out = cJSON_Parse(text);
    free(text);
    if (*out == NULL || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*out, "arguments")))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: not a run record (expected JSON with "
                               "arguments): is %s the --out folder of 'ohlcx run'?",
                               path, run_dir);
    return 0;
}


/* Reads the version that the store publishes for one series. */
static int read_store_version(ohlcx_store *store, const char *symbol, const char *timeframe,
                              int64_t *version)
{
    ohlcx_store_entry *entries = NULL;
    size_t count = 0;
    int status = ohlcx_store_list(store, symbol, timeframe, &entries, &count);

    if (status == 0 && count > 0)
        *version = entries[0].version;
    ohlcx_store_entries_free(entries, count);
    return status;
}


/* Reads each manifest series from the store, and fills its gaps as the run
 * did. */
static int load_store(const char *store_dir, const cJSON *manifest_series,
                      lookahead_inputs *inputs)
{
    ohlcx_store *store = NULL;
    const cJSON *entry;
    int status = ohlcx_store_open_existing(store_dir, &store);

    if (status != 0)
        return status;
    inputs->series = calloc((size_t)cJSON_GetArraySize(manifest_series) + 1,
                            sizeof *inputs->series);
    if (inputs->series == NULL) {
        ohlcx_store_close(store);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", store_dir);
    }
    cJSON_ArrayForEach(entry, manifest_series) {
        const char *symbol = argument_string(entry, "symbol");
        const char *timeframe = argument_string(entry, "timeframe");
        pipeline_series *series = &inputs->series[inputs->count];

        if (symbol == NULL || timeframe == NULL) {
            status = ohlcx_set_error(OHLCX_EFORMAT, "manifest series %zu lacks its symbol or "
                                     "timeframe", inputs->count + 1);
            break;
        }
        ohlcx_series_init(&series->bars);
        inputs->count++;
        status = ohlcx_store_read(store, symbol, timeframe, &series->bars);
        if (status != 0)
            break;
        snprintf(series->bars.source_path, sizeof series->bars.source_path, "%s:%s/%s",
                 store_dir, symbol, timeframe);
        status = read_store_version(store, symbol, timeframe, &series->store_version);
        if (status == 0)
            status = pipeline_repair_gaps(series);
        if (status != 0)
            break;
    }
    ohlcx_store_close(store);
    return status;
}


/* Loads the run's input series: from its store, or from its files (the
 * demo universe in RUN/demo-data when the run named none). */
static int load_inputs(const char *run_dir, const cJSON *arguments, const cJSON *manifest_series,
                       int jobs, lookahead_inputs *inputs)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(arguments, "--data");
    const char *store_dir = argument_string(arguments, "--store");
    const char *bad_rows = argument_string(arguments, "--bad-rows");
    ohlcx_layout_options layout = {.columns = argument_string(arguments, "--columns"),
                                   .tz = argument_string(arguments, "--tz")};
    char timeframe[OHLCX_TIMEFRAME_MAX], demo[OHLCX_PATH_MAX + 16];
    const char *timeframe_text = argument_string(arguments, "--timeframe");
    const char **names;
    size_t name_count = 0;
    const cJSON *item;
    int status;

    if (store_dir != NULL)
        return load_store(store_dir, manifest_series, inputs);

    names = calloc((size_t)cJSON_GetArraySize(data) + 1, sizeof *names);
    if (names == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing the run's inputs");
    cJSON_ArrayForEach(item, data)
        if (cJSON_IsString(item))
            names[name_count++] = item->valuestring;
    if (name_count == 0) {
        snprintf(demo, sizeof demo, "%s/demo-data", run_dir);
        names[name_count++] = demo;
    }
    if (timeframe_text != NULL && ohlcx_timeframe_parse(timeframe_text, timeframe) == 0)
        timeframe_text = timeframe;

    status = ohlcx_expand_inputs(names, name_count, &inputs->files, &inputs->file_count);
    free(names);
    if (status == 0)
        status = pipeline_load(inputs->files, inputs->file_count,
                               argument_string(arguments, "--symbol"), timeframe_text,
                               bad_rows != NULL && strcmp(bad_rows, "skip") == 0
                                   ? OHLCX_BAD_ROWS_SKIP
                                   : OHLCX_BAD_ROWS_FAIL,
                               &layout, jobs, &inputs->series);
    if (status == 0)
        inputs->count = inputs->file_count;
    return status;
}


static void free_inputs(lookahead_inputs *inputs)
{
    pipeline_free_series(inputs->series, inputs->count);
    ohlcx_free_strings(inputs->files, inputs->file_count);
}


/* Fails when the input of a series is not the one the run trained on: the
 * file's SHA-256, or the store version, differs from the manifest's. */
static int check_same_input(const pipeline_series *series, const cJSON *entry)
{
    const char *recorded_sha256 = argument_string(entry, "sha256");
    const cJSON *recorded_version = cJSON_GetObjectItemCaseSensitive(entry, "store_version");

    if (cJSON_IsNumber(recorded_version)) {
        if ((double)series->store_version == recorded_version->valuedouble)
            return 0;
        return ohlcx_set_error(OHLCX_EDATA, "%s %s (%s): the store holds version %lld now, but "
                               "the run trained on version %.0f: the input changed since the "
                               "run, so rerun it first",
                               series->bars.symbol, series->bars.timeframe,
                               series->bars.source_path, (long long)series->store_version,
                               recorded_version->valuedouble);
    }
    if (recorded_sha256 == NULL)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s %s (%s): the manifest records neither the "
                               "file's sha256 nor a store_version",
                               series->bars.symbol, series->bars.timeframe,
                               series->bars.source_path);
    if (strcmp(series->sha256, recorded_sha256) == 0)
        return 0;
    return ohlcx_set_error(OHLCX_EDATA, "%s %s (%s): the file's SHA-256 is %.12s now, but the "
                           "run trained on %.12s: the input changed since the run, so rerun it "
                           "first",
                           series->bars.symbol, series->bars.timeframe, series->bars.source_path,
                           series->sha256, recorded_sha256);
}


/* Finds the loaded series of a manifest entry and checks that it is the
 * input the run trained on, with the same bars. */
static int find_series(const lookahead_inputs *inputs, const cJSON *entry,
                       pipeline_series **out)
{
    const char *symbol = argument_string(entry, "symbol");
    const char *timeframe = argument_string(entry, "timeframe");
    const cJSON *bars = cJSON_GetObjectItemCaseSensitive(entry, "bars");

    if (symbol == NULL || timeframe == NULL || !cJSON_IsNumber(bars))
        return ohlcx_set_error(OHLCX_EFORMAT, "a manifest series lacks its symbol, timeframe "
                               "or bars");
    for (size_t s = 0; s < inputs->count; s++) {
        pipeline_series *series = &inputs->series[s];
        int status;

        if (strcmp(series->bars.symbol, symbol) != 0 ||
            strcmp(series->bars.timeframe, timeframe) != 0)
            continue;
        status = check_same_input(series, entry);
        if (status != 0)
            return status;
        if ((double)series->bars.n != bars->valuedouble)
            return ohlcx_set_error(OHLCX_EDATA, "%s: %zu bars now, but the run trained on "
                                   "%.0f: the input changed since the run, so rerun it first",
                                   series->bars.source_path, series->bars.n,
                                   bars->valuedouble);
        *out = series;
        return 0;
    }
    return ohlcx_set_error(OHLCX_EDATA, "the run's inputs no longer hold %s %s: restore them "
                           "or rerun the run", symbol, timeframe);
}


/* Reads the test part's bar range [begin, end) from a manifest entry. */
static int test_range(const cJSON *entry, const pipeline_series *series, size_t *begin,
                      size_t *end)
{
    const cJSON *split = cJSON_GetObjectItemCaseSensitive(entry, "split");
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(split, "test");
    const cJSON *first = cJSON_GetObjectItemCaseSensitive(test, "first_bar");
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(test, "samples");
    const cJSON *excluded = cJSON_GetObjectItemCaseSensitive(test, "samples_excluded");

    if (!cJSON_IsNumber(first) || !cJSON_IsNumber(samples) || !cJSON_IsNumber(excluded))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: the manifest lacks the test split "
                               "(first_bar, samples, samples_excluded)",
                               series->bars.source_path);
    *begin = (size_t)first->valuedouble;
    *end = *begin + (size_t)samples->valuedouble + (size_t)excluded->valuedouble;
    if (*end > series->bars.n || *end <= *begin)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: test bars %zu to %zu are outside its %zu "
                               "bars", series->bars.source_path, *begin, *end,
                               series->bars.n);
    return 0;
}


/* Builds the XGBoost row of bar t of a series whose features are computed,
 * and predicts it. */
static int build_row(const pipeline_bundle *b, const ohlcx_cnn *cnn,
                     const pipeline_series *series, size_t t, row_buffers *buffers, float *row,
                     float *prob)
{
    int status = ohlcx_window_fill(&series->bars, t, b->window, buffers->window);

    if (status == 0)
        status = pipeline_cnn_embed(cnn, buffers->window, series->symbol_id, 1, NULL,
                                    buffers->embedding);
    if (status != 0)
        return status;
    pipeline_fill_row(series, t, buffers->embedding, b->hidden, row);
    return ohlcx_gbdt_predict(b->model, row, 1, prob);
}


/* Describes the first difference between the two rows of bar t, or the
 * two predictions, in result->message. */
static void describe_leak(const pipeline_bundle *b, const pipeline_series *series, size_t t,
                          size_t column, float full, float cut, ohlcx_lookahead_result *result)
{
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(b->manifest, "xgboost_columns");
    const cJSON *name = cJSON_GetArrayItem(names, (int)column);
    char time_text[20];

    ohlcx_format_datetime(series->bars.open_time[t], time_text);
    result->leak_found = 1;
    snprintf(result->message, sizeof result->message,
             "%s %s (%.300s): %s%s at the bar opening %s is %.9g with the whole series but %.9g "
             "with the series cut after that bar, so it reads later bars",
             series->bars.symbol, series->bars.timeframe, series->bars.source_path,
             column < b->column_count ? "column " : "the prediction",
             column < b->column_count && cJSON_IsString(name) ? name->valuestring : "",
             time_text, (double)full, (double)cut);
}


/* Compares the rows of bar t built from the whole series and from the
 * series cut after t, column by column, then their predictions. */
static int check_bar(const pipeline_bundle *b, const ohlcx_cnn *cnn,
                     const pipeline_series *series, size_t t, row_buffers *buffers,
                     ohlcx_lookahead_result *result)
{
    pipeline_series cut = *series;
    float full_prob, cut_prob;
    int status;

    /* The cut shares the bars' columns and has its own features. */
    cut.bars.n = t + 1;
    cut.features = NULL;
    status = pipeline_compute_features(&cut, &b->higher, 0);
    if (status == 0)
        status = build_row(b, cnn, series, t, buffers, buffers->full_row, &full_prob);
    if (status == 0)
        status = build_row(b, cnn, &cut, t, buffers, buffers->cut_row, &cut_prob);
    free(cut.features);
    if (status != 0)
        return status;

    for (size_t i = 0; i < b->column_count; i++) {
        if (memcmp(&buffers->full_row[i], &buffers->cut_row[i], sizeof(float)) == 0)
            continue;
        describe_leak(b, series, t, i, buffers->full_row[i], buffers->cut_row[i], result);
        return 0;
    }
    if (memcmp(&full_prob, &cut_prob, sizeof full_prob) != 0)
        describe_leak(b, series, t, b->column_count, full_prob, cut_prob, result);
    return 0;
}


/* Checks `rows` bars spread evenly over the test part, first and last
 * included. */
static int check_series(pipeline_bundle *b, const char *model_dir, const cJSON *entry,
                        pipeline_series *series, int rows, row_buffers *buffers,
                        ohlcx_lookahead_result *result)
{
    size_t begin = 0, end = 0, count;
    ohlcx_cnn *cnn = NULL;
    int status = test_range(entry, series, &begin, &end);

    if (status == 0)
        status = pipeline_bundle_cnn(b, model_dir, &series->bars, &cnn, &series->symbol_id);
    if (status == 0)
        status = pipeline_compute_features(series, &b->higher, 0);
    if (status != 0)
        return status;

    count = end - begin < (size_t)rows ? end - begin : (size_t)rows;
    for (size_t k = 0; k < count && status == 0 && !result->leak_found; k++) {
        size_t t = count == 1 ? end - 1 : begin + k * (end - 1 - begin) / (count - 1);

        status = check_bar(b, cnn, series, t, buffers, result);
        result->rows_checked++;
    }
    result->series_checked++;
    return status;
}


int ohlcx_lookahead(const ohlcx_lookahead_options *options, ohlcx_lookahead_result *result)
{
    int jobs = options->jobs > 0 ? options->jobs : pipeline_default_jobs();
    char model_dir[OHLCX_PATH_MAX + 16];
    lookahead_inputs inputs = {0};
    row_buffers buffers = {0};
    pipeline_bundle b;
    cJSON *record = NULL;
    const cJSON *manifest_series, *entry;
    int status;

    memset(result, 0, sizeof *result);
    if (options->rows < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid row count %d: use 1 or more",
                               options->rows);
    pipeline_set_blas_threads(jobs);
    snprintf(model_dir, sizeof model_dir, "%s/model", options->run_dir);
    status = pipeline_bundle_open(model_dir, jobs, &b);
    if (status == 0)
        status = read_run_record(options->run_dir, &record);
    if (status != 0)
        goto done;
    manifest_series = cJSON_GetObjectItemCaseSensitive(b.manifest, "series");
    status = load_inputs(options->run_dir, cJSON_GetObjectItemCaseSensitive(record, "arguments"),
                         manifest_series, jobs, &inputs);
    if (status != 0)
        goto done;
    pipeline_bundle_apply_classes(&b, inputs.series, inputs.count);

    buffers.window = malloc((size_t)OHLCX_WINDOW_CHANNELS * (size_t)b.window *
                            sizeof *buffers.window);
    buffers.full_row = malloc(b.column_count * sizeof *buffers.full_row);
    buffers.cut_row = malloc(b.column_count * sizeof *buffers.cut_row);
    if (buffers.window == NULL || buffers.full_row == NULL || buffers.cut_row == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory checking %s", options->run_dir);
        goto done;
    }
    cJSON_ArrayForEach(entry, manifest_series) {
        pipeline_series *series = NULL;

        status = find_series(&inputs, entry, &series);
        if (status == 0)
            status = check_series(&b, model_dir, entry, series, options->rows, &buffers,
                                  result);
        if (status != 0 || result->leak_found)
            break;
    }

done:
    free(buffers.window);
    free(buffers.full_row);
    free(buffers.cut_row);
    free_inputs(&inputs);
    cJSON_Delete(record);
    pipeline_bundle_close(&b);
    return status;
}
