/*
 * Whole-stage resume of `ohlcx run`: checkpoints/stages.json and the XGBoost
 * models saved beside it (run_state.h lists what each stage records).
 *
 * stages.json is rewritten atomically after every finished stage, so it
 * always lists stages that finished. The files a stage saved are written
 * before its record and checked against the SHA-256 in the record on
 * resume, so a file cut short by a kill is detected and its stage runs
 * again instead of being trusted.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "pipeline/run_state.h"
#include "util/util.h"

#define STAGES_FILE "stages.json"
#define COMBINED_FILE "xgboost.json"
#define BASELINE_FILE "xgb-baseline.json"


void run_test_kill_point(int stage, const char *point)
{
    const char *target = getenv("OHLCX_TEST_KILL_AT");
    char expected[64];

    if (target == NULL)
        return;
    snprintf(expected, sizeof expected, "%s:%s", run_stage_name(stage), point);
    if (strcmp(target, expected) != 0)
        return;
    fprintf(stderr, "ohlcx: OHLCX_TEST_KILL_AT=%s: sending SIGKILL to itself\n", target);
    fflush(stderr);
    raise(SIGKILL);
}


int run_stages_read(run_state *state)
{
    char path[OHLCX_PATH_MAX + 64];
    char *text = NULL;
    cJSON *root;
    int status;

    run_checkpoint_path(state, STAGES_FILE, path, sizeof path);
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    status = pipeline_read_text_file(path, &text);
    if (status != 0)
        return status;
    root = cJSON_Parse(text);
    free(text);
    if (root == NULL || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "stages"))) {
        cJSON_Delete(root);
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: not a stage record (expected JSON with a "
                               "\"stages\" object): remove it to resume from the CNN "
                               "checkpoints alone",
                               path);
    }
    state->stage_record = root;
    return 0;
}


const cJSON *run_stage_record(const run_state *state, int stage)
{
    const cJSON *stages;

    if (state->stage_record == NULL)
        return NULL;
    stages = cJSON_GetObjectItemCaseSensitive(state->stage_record, "stages");
    return cJSON_GetObjectItemCaseSensitive(stages, run_stage_name(stage));
}


int run_stage_finish(run_state *state, int stage, cJSON *details)
{
    char path[OHLCX_PATH_MAX + 64];
    cJSON *stages;
    char *text;
    int status;

    if (state->options->walk_forward) {
        cJSON_Delete(details);
        return 0;
    }
    if (details == NULL)
        details = cJSON_CreateObject();
    if (state->stage_record == NULL) {
        state->stage_record = cJSON_CreateObject();
        cJSON_AddStringToObject(state->stage_record, "format", "ohlcx-run-stages");
        cJSON_AddNumberToObject(state->stage_record, "format_version", 1);
        cJSON_AddItemToObject(state->stage_record, "stages", cJSON_CreateObject());
    }
    stages = cJSON_GetObjectItemCaseSensitive(state->stage_record, "stages");
    cJSON_DeleteItemFromObjectCaseSensitive(stages, run_stage_name(stage));
    cJSON_AddItemToObject(stages, run_stage_name(stage), details);

    text = cJSON_Print(state->stage_record);
    if (text == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing the stage record");
    run_checkpoint_path(state, STAGES_FILE, path, sizeof path);
    status = run_write_text_atomically(text, path);
    free(text);
    return status;
}


/* Reads a number field of a stage record, or -1 when it is missing. */
static double record_number(const cJSON *record, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(record, name);

    return cJSON_IsNumber(item) ? item->valuedouble : -1;
}


/* Returns 1 when the file in the checkpoint folder has the SHA-256 that the
 * xgboost record lists for it; logs why not otherwise. */
static int file_matches_record(const run_state *state, const cJSON *record, const char *name)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(record, "sha256");
    const cJSON *expected = cJSON_GetObjectItemCaseSensitive(files, name);
    char path[OHLCX_PATH_MAX + 64], digest[65];

    run_checkpoint_path(state, name, path, sizeof path);
    if (!cJSON_IsString(expected)) {
        ohlcx_log_warn("%s: the stage record lists no SHA-256 for it", path);
        return 0;
    }
    if (ohlcx_sha256_file(path, digest) != 0) {
        ohlcx_log_warn("%s: %s", path, ohlcx_last_error());
        return 0;
    }
    if (strcmp(digest, expected->valuestring) != 0) {
        ohlcx_log_warn("%s: SHA-256 %.12s differs from the stage record's %.12s", path, digest,
                       expected->valuestring);
        return 0;
    }
    return 1;
}


int run_stages_check(run_state *state)
{
    const cJSON *features = run_stage_record(state, RUN_STAGE_FEATURES);
    const cJSON *xgboost = run_stage_record(state, RUN_STAGE_XGBOOST);
    char finished[96] = "";

    for (int stage = 0; stage < RUN_STAGE_COUNT; stage++) {
        if (run_stage_record(state, stage) == NULL)
            continue;
        if (finished[0])
            strcat(finished, ", ");
        strcat(finished, run_stage_name(stage));
    }
    ohlcx_log_info("stages finished before the stop: %s", finished[0] ? finished : "none");

    if (features != NULL &&
        (record_number(features, "samples") != (double)state->total_samples ||
         record_number(features, "cnn_groups") != (double)state->group_count))
        return ohlcx_set_error(OHLCX_EINVAL, "cannot resume %s: the features stage recorded "
                               "%.0f samples in %.0f CNN groups, this run has %zu in %d: "
                               "run without --resume to start over",
                               state->options->out_dir, record_number(features, "samples"),
                               record_number(features, "cnn_groups"), state->total_samples,
                               state->group_count);
    if (xgboost == NULL)
        return 0;
    if (file_matches_record(state, xgboost, COMBINED_FILE) &&
        file_matches_record(state, xgboost, BASELINE_FILE)) {
        state->gbdt_restore = 1;
        ohlcx_log_info("xgboost: loading the models that the stopped run trained");
    } else {
        ohlcx_log_warn("xgboost: the saved models do not match their record, so both are "
                       "trained again");
    }
    return 0;
}


/* Copies a file through "<to>.tmp", fsync() and rename(). */
static int copy_file(const char *from, const char *to)
{
    char *text = NULL;
    int status = pipeline_read_text_file(from, &text);

    if (status == 0)
        status = run_write_text_atomically(text, to);
    free(text);
    return status;
}


int run_stages_save_gbdt(run_state *state, const ohlcx_gbdt *baseline)
{
    char model_path[OHLCX_PATH_MAX + 64], combined[OHLCX_PATH_MAX + 64];
    char baseline_path[OHLCX_PATH_MAX + 64], digest[65];
    cJSON *details, *files;
    int status;

    snprintf(model_path, sizeof model_path, "%s/model/%s", state->options->out_dir,
             COMBINED_FILE);
    run_checkpoint_path(state, COMBINED_FILE, combined, sizeof combined);
    run_checkpoint_path(state, BASELINE_FILE, baseline_path, sizeof baseline_path);
    status = copy_file(model_path, combined);
    if (status == 0)
        status = ohlcx_gbdt_save(baseline, baseline_path);
    if (status != 0)
        return status;
    run_test_kill_point(RUN_STAGE_XGBOOST, "end");

    details = cJSON_CreateObject();
    files = cJSON_AddObjectToObject(details, "sha256");
    status = ohlcx_sha256_file(combined, digest);
    cJSON_AddStringToObject(files, COMBINED_FILE, digest);
    if (status == 0)
        status = ohlcx_sha256_file(baseline_path, digest);
    cJSON_AddStringToObject(files, BASELINE_FILE, digest);
    cJSON_AddNumberToObject(details, "xgb_rounds", ohlcx_gbdt_rounds(state->model));
    cJSON_AddNumberToObject(details, "xgb_without_cnn_rounds", ohlcx_gbdt_rounds(baseline));
    if (status != 0) {
        cJSON_Delete(details);
        return status;
    }
    return run_stage_finish(state, RUN_STAGE_XGBOOST, details);
}


int run_stages_load_gbdt(run_state *state, ohlcx_gbdt **baseline)
{
    size_t columns = pipeline_column_count(state->hidden, &state->higher);
    size_t baseline_columns = pipeline_column_count(0, &state->higher);
    char model_path[OHLCX_PATH_MAX + 64], combined[OHLCX_PATH_MAX + 64];
    char baseline_path[OHLCX_PATH_MAX + 64];
    int status;

    snprintf(model_path, sizeof model_path, "%s/model/%s", state->options->out_dir,
             COMBINED_FILE);
    run_checkpoint_path(state, COMBINED_FILE, combined, sizeof combined);
    run_checkpoint_path(state, BASELINE_FILE, baseline_path, sizeof baseline_path);
    status = ohlcx_gbdt_load(combined, columns, state->jobs, &state->model);
    if (status == 0)
        status = ohlcx_gbdt_load(baseline_path, baseline_columns, state->jobs, baseline);
    if (status == 0)
        status = copy_file(combined, model_path);
    return status;
}
