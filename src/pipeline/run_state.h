/*
 * State of one `ohlcx run`, shared by its stages (run.c) and its outputs
 * (output.c).
 */
#ifndef OHLCX_RUN_STATE_H
#define OHLCX_RUN_STATE_H

#include "ohlcx/gbdt.h"
#include "pipeline/internal.h"
#include "pipeline/monitor.h"

struct cJSON;

enum run_timing {
    TIMING_LOAD = 0,
    TIMING_FEATURES,
    TIMING_CNN_TRAIN,
    TIMING_EMBED,
    TIMING_XGB_TRAIN,
    TIMING_PREDICT,
    TIMING_TOTAL,
    TIMING_COUNT
};

/* The model and its baselines, all tested on the same rows. */
enum run_model {
    MODEL_COMBINED = 0, /* XGBoost on CNN embeddings, features and ids */
    MODEL_MAJORITY,
    MODEL_WITHOUT_CNN,
    MODEL_CNN_ONLY,
    MODEL_COUNT
};

/* One CNN and the series it serves. */
typedef struct run_group {
    char name[OHLCX_SYMBOL_MAX]; /* the symbol, the asset class, or "global" */
    char file[32];               /* weights file in the bundle */
    ohlcx_cnn_history history;
    ohlcx_cnn *cnn; /* trained network, from the CNN stage until the XGBoost stage embeds */
} run_group;

/* Bounds and test metrics of one walk-forward fold. Over several series,
 * first times are the earliest and last times the latest of any series. */
typedef struct run_fold {
    int64_t train_first_open_time;     /* first cnn_train sample */
    int64_t train_last_open_time;      /* last validation sample */
    int64_t train_label_end_open_time; /* bar whose close the last label reads */
    int64_t test_window_open_time;     /* first bar that the first test sample reads */
    int64_t test_first_open_time;
    int64_t test_last_open_time;
    size_t train_samples;              /* cnn_train, xgb_train and validation */
    size_t embargoed;                  /* training samples left out by the embargo */
    ohlcx_metrics metrics[MODEL_COUNT];
} run_fold;

typedef struct run_state {
    const ohlcx_run_options *options;
    int jobs;
    pipeline_higher higher; /* options->higher_timeframes, checked and sorted */

    char **files;
    size_t file_count;
    pipeline_series *series; /* one per file, in file order */
    size_t series_count;
    size_t skipped_series;   /* too short for every part */
    size_t rows_read, rows_dropped, bad_rows;
    size_t bars_filled;      /* synthetic bars added into short gaps */
    size_t samples_excluded; /* window_spans_gap, over the usable series */
    size_t samples_capped;   /* training samples left out by --max-samples-per-series */
    char data_sha256[65];    /* of each series' name, file hash or version, class */

    run_group *groups;
    int group_count;
    int hidden; /* embedding size */
    ohlcx_cnn_config cnn_config; /* architecture of every CNN, without symbols */
    /* Symbols of the usable series in byte order, one embedding row each,
     * with --cnn global and a symbol embedding; else NULL and 0. */
    char (*symbols)[OHLCX_SYMBOL_MAX];
    int symbol_count;

    /* Samples and labels of every part, in series order. The CNN outputs of
     * a sample are not kept in memory: the XGBoost stage writes them to a
     * scratch file and reads them back for each batch of rows (see run.c). */
    pipeline_sample *samples[OHLCX_PART_COUNT];
    uint8_t *labels[OHLCX_PART_COUNT];
    size_t sample_count[OHLCX_PART_COUNT];
    size_t total_samples;
    size_t embedded[OHLCX_PART_COUNT]; /* samples of each part run through a CNN */

    ohlcx_gbdt *model;
    int baseline_rounds;
    double majority_rate;
    float *test_prob[MODEL_COUNT];
    ohlcx_metrics test_metrics[MODEL_COUNT];
    ohlcx_metrics *series_metrics; /* per series, combined model */
    /* Combined model per timeframe, finest first, and per asset class (enum
     * ohlcx_asset_class); groups without test rows have n == 0. */
    char (*timeframes)[OHLCX_TIMEFRAME_MAX];
    ohlcx_metrics *timeframe_metrics;
    size_t timeframe_count;
    ohlcx_metrics asset_class_metrics[OHLCX_ASSET_COUNT];

    double timings[TIMING_COUNT];

    run_fold *folds; /* walk-forward folds, NULL without --walk-forward */
    size_t fold_count;

    /* Resources and progress (monitor.h). */
    run_monitor monitor;
    run_usage run_started;                    /* snapshot when ohlcx_run() began */
    run_usage stage_started;                  /* snapshot when the current stage began */
    run_resources resources[RUN_STAGE_COUNT]; /* per stage; measured 0 if it did not run */
    run_resources total;                      /* the whole run, up to its outputs */
    int stage_resumed[RUN_STAGE_COUNT];       /* 1: taken from the stage record, not rerun */
    int eta_calibrated;                       /* 1: prior rates come from `ohlcx plan` */

    /* Resume of whole stages (stages.c). */
    struct cJSON *stage_record;  /* checkpoints/stages.json as read, or NULL */
    int record_pending;          /* 1: run.json was written before the data digest */
    int gbdt_restore;            /* 1: run_stage_gbdt() loads the models it saved */
} run_state;

/* Stages of run.c that the walk-forward loop also calls. Each allocates its
 * outputs in state without freeing earlier ones, so the loop frees them
 * between folds. run_stage_cnn() leaves a trained CNN in each group, and
 * run_stage_gbdt() frees each once it has embedded that group's samples. */
int run_stage_cnn(run_state *state);
int run_stage_gbdt(run_state *state);
int run_stage_evaluate(run_state *state);

/* Frees the CNN of every group; groups without one are skipped. */
void run_free_cnns(run_state *state);

/* Trains and tests every walk-forward fold after the features stage
 * (walkforward.c), and leaves the test rows of all folds, in series and
 * bar order, as the test part for run_stage_evaluate(). */
int run_walk_forward(run_state *state);

/* Writes metrics.json and model/manifest.json under the run folder. */
int run_write_outputs(const run_state *state);

/* Prints the metrics table to stdout. */
void run_print_table(const run_state *state);

/*
 * Checkpoints of a run live in out_dir/checkpoints: run.json records the
 * options that decide the results and data_sha256, and cnn-NNN.ckpt is the
 * training state of CNN group NNN (nn.h). Every file is written to a
 * temporary name, synced and renamed into place.
 */

/* Writes the path of a file in the checkpoint folder into path. */
void run_checkpoint_path(const run_state *state, const char *name, char *path, size_t size);

/* Creates the checkpoint folder and removes the files of an earlier run
 * from it, so that a new run never resumes another run's CNN. */
int run_checkpoints_clear(const run_state *state);

/* Writes run.json for this run's options and data_sha256. */
int run_checkpoint_write_arguments(const run_state *state);

/* Fails with OHLCX_EINVAL when run.json is missing or records other
 * options than this run's, naming the first that differs. */
int run_checkpoint_check_arguments(const run_state *state);

/* Fails with OHLCX_EINVAL when data_sha256 differs from run.json's. A
 * record written before the data was loaded ("pending") accepts any data
 * and sets state->record_pending. */
int run_checkpoint_check_data(run_state *state);

/* Returns 1 when out_dir/checkpoints/run.json exists. */
int run_checkpoint_exists(const run_state *state);

/* Writes run.json for a run that starts in a folder without one, before the
 * inputs are loaded, with the data digest "pending", so that a run stopped
 * while loading can be resumed. */
int run_checkpoint_write_pending(run_state *state);

/* Writes text to path through "<path>.tmp", fsync() and rename(). */
int run_write_text_atomically(const char *text, const char *path);

/* The run's CPU core-hours (CPU seconds of every thread / 3600), their cost
 * at options->price_per_core_hour, and that cost's share of
 * options->monthly_budget. */
typedef struct run_cost {
    double core_hours;
    double cost;
    double budget_share;
} run_cost;

void run_cost_compute(const run_state *state, run_cost *out);

/*
 * Whole-stage resume (stages.c). checkpoints/stages.json lists the stages
 * that finished, each with what it produced:
 *   load       series loaded
 *   features   samples and CNN groups
 *   cnn        CNN groups trained (their weights stay in cnn-NNN.ckpt)
 *   xgboost    the SHA-256 of checkpoints/xgboost.json (the combined model)
 *              and checkpoints/xgb-baseline.json (the model without CNN
 *              features), and both models' rounds
 *   evaluate   nothing: the outputs were written
 * A resumed run recomputes load and features, which every later stage
 * reads from memory, embeds with the finished CNNs instead of training
 * them, and loads the XGBoost models instead of training them when both
 * files match their digests.
 */

/* Reads checkpoints/stages.json into state->stage_record; a missing file
 * leaves it NULL. Fails with OHLCX_EFORMAT for a damaged file. */
int run_stages_read(run_state *state);

/* Returns the record of a finished stage (enum run_stage), or NULL. */
const struct cJSON *run_stage_record(const run_state *state, int stage);

/* Adds the record of a finished stage (taking ownership of details, NULL
 * for none) and rewrites stages.json atomically. A walk-forward run records
 * nothing. */
int run_stage_finish(run_state *state, int stage, struct cJSON *details);

/* Checks a resumed run's stage records against this run's samples and CNN
 * groups, and sets gbdt_restore when the XGBoost files match their record. */
int run_stages_check(run_state *state);

/* Saves the XGBoost models into the checkpoint folder and records the
 * xgboost stage: the combined model is copied from model/xgboost.json. */
int run_stages_save_gbdt(run_state *state, const ohlcx_gbdt *baseline);

/* Loads the models that run_stages_save_gbdt() saved and copies the combined
 * model back to model/xgboost.json. */
int run_stages_load_gbdt(run_state *state, ohlcx_gbdt **baseline);

/* Test hook: when the environment variable OHLCX_TEST_KILL_AT is
 * "STAGE:POINT" (a stage name and start, middle or end), the process sends
 * itself SIGKILL when the run reaches that point. */
void run_test_kill_point(int stage, const char *point);

#endif
