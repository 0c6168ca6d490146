/*
 * Pipeline: every stage from candle files to a model bundle and metrics.
 *
 *   read + validate -> features, windows, labels, splits -> CNN training
 *   -> CNN embeddings -> XGBoost on embeddings + features + ids -> evaluation
 *
 * The CNN trains on each series' cnn_train part; XGBoost trains on the
 * xgb_train part, whose embeddings come from bars the CNN never saw, and both
 * stop early on the validation part. The test part is touched once, for the
 * final metrics. Baselines are fitted on the same rows and tested on the same
 * rows as the combined model: the majority class, XGBoost without CNN
 * features, and the CNN alone.
 *
 * Output under out_dir:
 *   metrics.json    test metrics, baselines, per-series rows, timings, row counts
 *   model/          manifest.json, cnn-<group>.bin, xgboost.json
 *   checkpoints/    run.json (the arguments and a digest of the input data),
 *                   cnn-<group>.ckpt, each CNN's training state after its
 *                   last completed epoch, stages.json, the stages finished,
 *                   and xgboost.json and xgb-baseline.json, the XGBoost
 *                   models of a finished xgboost stage; `resume` continues
 *                   from them
 *
 * Higher timeframes: with higher_count > 0, each XGBoost row also carries the
 * 11 features of every higher timeframe, resampled from the series itself
 * and joined so that a row gets only higher bars closed by its own close
 * (ohlcx_features_higher() in features.h). Columns are named h1_ret_1,
 * h4_rsi_14 and so on, finest timeframe first whatever the order given. One
 * model reads every series, so every row has the columns of every higher
 * timeframe: those of a timeframe that a series cannot feed (not coarser
 * than its own, or not a whole number of its bars, as 12h from 8h) are NaN,
 * which XGBoost treats as missing, and the run logs one warning for such a
 * series. The manifest lists the timeframes, and ohlcx_predict() builds the
 * same rows from them.
 */
#ifndef OHLCX_PIPELINE_H
#define OHLCX_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/eval.h"
#include "ohlcx/nn.h"

/* Test-only leaks that `ohlcx lookahead` must catch; never for real models. */
enum ohlcx_debug_leak {
    OHLCX_DEBUG_LEAK_NONE = 0,
    OHLCX_DEBUG_LEAK_NEXT_RETURN = 1, /* column leak_next_return: log(close[t+1] / close[t]) */
};

enum ohlcx_cnn_mode {
    OHLCX_CNN_PER_SYMBOL = 0, /* one CNN per symbol */
    OHLCX_CNN_GLOBAL = 1,     /* one CNN over every series */
    OHLCX_CNN_PER_MARKET = 2, /* one CNN per asset class (crypto, stocks, ...) */
};

typedef struct ohlcx_run_options {
    const char *const *inputs; /* candle files or folders of them */
    size_t input_count;
    const char *out_dir;       /* receives metrics.json and model/ */
    const char *store_dir;     /* read the series from this store instead of
                                  inputs; symbol and timeframe then filter */
    const char *universe_path; /* universe file (universe.h): train on the
                                  series it lists, with its asset classes;
                                  every one must be loaded. NULL for all */
    size_t max_samples_per_series; /* cap on the training samples (cnn_train
                                  and xgb_train) of each series, keeping the
                                  latest of each part in proportion; 0: none */
    uint64_t max_memory;       /* bytes the run may hold resident; 0: 80% of
                                  the machine's memory */
    int balance_classes;       /* 1: XGBoost weighs up labels by
                                  downs / ups of its training rows */
    const char *symbol;        /* overrides file names; one input file only */
    const char *timeframe;     /* overrides file names; one input file only */
    int cnn_mode;              /* enum ohlcx_cnn_mode */
    int window;                /* bars per CNN window, default 64 */
    int horizon;               /* bars ahead for the label, default 1 */
    uint64_t seed;             /* default 42 */
    int jobs;                  /* threads, default: online cores */
    int epochs;                /* maximum CNN epochs, default 20 */
    int patience;              /* CNN early-stopping patience, default 3 */
    int batch_size;            /* CNN mini-batch, default 256 */
    const ohlcx_cnn_config *architecture; /* conv layers, batch_norm, dropout
                                  and hidden of every CNN; NULL for
                                  ohlcx_cnn_config_default()'s. Its channels,
                                  window, symbols and symbol_dim are ignored:
                                  they come from the data, `window` and
                                  `symbol_embedding` */
    int symbol_embedding;      /* size of the learned symbol embedding of
                                  --cnn global, default 8; 0 for none */
    float learning_rate;       /* CNN Adam step size, default 1e-3 */
    float weight_decay;        /* decoupled weight decay, default 0 */
    int lr_schedule;           /* OHLCX_LR_CONSTANT (default), _STEP or _COSINE */
    int lr_step_epochs;        /* step schedule: epochs between steps, default 10 */
    float lr_gamma;            /* step schedule: factor at each step, default 0.1 */
    int bad_rows;              /* enum ohlcx_bad_rows_policy */
    const char *columns;       /* layout mapping (format.h); NULL to detect it */
    const char *tz;            /* IANA zone of times without an offset; NULL for UTC */
    int resume;                /* 1: continue the run whose checkpoints are in
                                  out_dir; every other option must match it */
    const char *const *higher_timeframes; /* timeframes whose features join each
                                  row, such as "1h", "4h", "1d"; see below */
    int higher_count;          /* entries of higher_timeframes, 0 for none */
    int debug_leak;            /* enum ohlcx_debug_leak: a self-test hook that adds
                                  a column reading the future; 0 for real runs */
    int walk_forward;          /* 1: evaluate on walk-forward folds (see below) */
    int64_t train_period;      /* samples (bars) of each fold's training range */
    int64_t test_period;       /* samples (bars) tested per fold */
    int64_t retrain_every;     /* samples between fold starts; 0: test_period */
    int expanding;             /* 1: every fold trains from the first sample */
    int64_t embargo;           /* samples left out of training after each test period */
    double price_per_core_hour; /* USD per CPU core-hour for the cost report,
                                  default 0.04 */
    double monthly_budget;     /* USD a month that the cost is compared with,
                                  default 1000 */
} ohlcx_run_options;

void ohlcx_run_options_default(ohlcx_run_options *options);

/* Runs every stage, writes the bundle and metrics.json under out_dir, and
 * prints the metrics table to stdout. metrics.json also records each
 * stage's resources (wall and CPU time, peak RSS, bytes read and written)
 * and the run's CPU core-hours and their cost. With resume set, load and
 * features run again. CNNs whose checkpoint records a finished training are
 * not trained again, and the others continue after their last completed
 * epoch. The XGBoost models of a finished xgboost stage are loaded instead
 * of trained. The outputs equal those of a run never interrupted (timings,
 * resources and cost apart). A run that starts in a folder without
 * checkpoints/run.json writes it before loading, so that it can be resumed
 * even when stopped while loading. Resuming fails with OHLCX_EINVAL when
 * out_dir has no checkpoint or when the options or input data differ from
 * the checkpointed run's, and with OHLCX_EFORMAT when a checkpoint is
 * damaged. Nothing in out_dir is removed, and nothing but that first
 * run.json is written, before the inputs have loaded and, with resume, every
 * checkpoint has been checked. Only then does a new run remove the previous
 * run's outputs. */
int ohlcx_run(const ohlcx_run_options *options);

/*
 * Reads a pipeline configuration file (YAML; docs/commands.md shows every
 * key) into options and architecture. The file's values replace those
 * already there and keys it leaves out keep them, so a caller applies
 * defaults first and command-line flags afterwards. When the file is read,
 * options->architecture points to architecture. Fails with OHLCX_EFORMAT and
 * "PATH:LINE:COLUMN: ..." on an unknown or repeated key or a value out of
 * range, leaving both unchanged, and with OHLCX_EIO when the file cannot be
 * read.
 */
int ohlcx_run_config_load(const char *path, ohlcx_run_options *options,
                          ohlcx_cnn_config *architecture);

/* The same from text already in memory; path names it in messages. */
int ohlcx_run_config_parse(const char *text, size_t length, const char *path,
                           ohlcx_run_options *options, ohlcx_cnn_config *architecture);

/*
 * Walk-forward: with walk_forward set, the run replaces the single split by
 * the folds of ohlcx_walk_forward_fold() (dataset.h), computed per series in
 * its own bars, and every series gets as many folds as the series with the
 * fewest. Each fold trains the CNNs, the combined model and the baselines
 * on its training range and tests them on its test period; one fold's
 * models are held at a time, and the bundle keeps the last fold's. The test
 * rows of all folds are then scored together: metrics.json's test and
 * baselines hold these aggregate metrics, walk_forward_total repeats them
 * per model, and walk_forward lists each fold's bounds and metrics. Resuming
 * a walk-forward run is not supported (OHLCX_EINVAL).
 */

typedef struct ohlcx_predict_options {
    const char *model_dir;
    const char *const *inputs;
    size_t input_count;
    int json;       /* 1: JSON output, 0: CSV */
    int64_t now_us; /* bars that close after this are incomplete */
    int jobs;
    int bad_rows;
    const char *columns; /* layout mapping (format.h); NULL to detect it */
    const char *tz;      /* IANA zone of times without an offset; NULL for UTC */
    const char *symbol;    /* overrides the file name; one input file only */
    const char *timeframe; /* overrides the file name; one input file only */
} ohlcx_predict_options;

/* Prints the up-probability for the latest complete bar of each input
 * series, using the bundle in model_dir. */
int ohlcx_predict(const ohlcx_predict_options *options);

typedef struct ohlcx_lookahead_options {
    const char *run_dir; /* folder of a finished `ohlcx run` */
    int rows;            /* test rows checked per series, spread over the test part */
    int jobs;
} ohlcx_lookahead_options;

typedef struct ohlcx_lookahead_result {
    size_t series_checked;
    size_t rows_checked;
    int leak_found;    /* 1 when a row differs after the cut */
    char message[768]; /* the first difference: column, series, open time, values */
} ohlcx_lookahead_result;

/*
 * Checks that the rows of a run read no bar after their own. Reloads the
 * run's inputs as checkpoints/run.json records them. For `rows` test bars t
 * of every series in the manifest, rebuilds the XGBoost row (CNN embedding,
 * features, higher-timeframe features, ids) and its prediction from the
 * series cut right after bar t. Every column and the prediction
 * must equal, bit for bit, those built from the whole series. Returns 0 with
 * leak_found set on the first difference. Returns an error code when the
 * run folder or its inputs cannot be read. It also fails when an input
 * file's SHA-256 (or a stored series' version) differs from the manifest's.
 */
int ohlcx_lookahead(const ohlcx_lookahead_options *options, ohlcx_lookahead_result *result);

typedef struct ohlcx_ingest_options {
    const char *const *inputs; /* candle files or folders of them */
    size_t input_count;
    const char *store_dir;     /* store folder, created when missing */
    const char *symbol;        /* overrides file names; one input file only */
    const char *timeframe;     /* overrides file names; one input file only */
    int jobs;                  /* files read in parallel, default: online cores */
    int bad_rows;              /* enum ohlcx_bad_rows_policy */
    const char *columns;       /* layout mapping (format.h); NULL to detect it */
    const char *tz;            /* IANA zone of times without an offset; NULL for UTC */
} ohlcx_ingest_options;

/* Summary of one ingest, for the caller to print or test. */
typedef struct ohlcx_ingest_summary {
    size_t files;             /* input files stored or skipped; after a failure, those
                                 before it */
    size_t already_ingested;  /* files whose digest the series had recorded */
    size_t rows_read;
    size_t bad_rows;          /* unparseable rows skipped */
    size_t rows_dropped;      /* rows dropped by the repair: duplicates, conflicts, invalid */
    size_t rows_filled;       /* synthetic bars filled into short gaps */
    size_t rows_added;        /* bars new to the store */
    size_t rows_identical;    /* bars equal to stored ones */
    size_t conflicts;         /* bars that differ from stored ones, not stored */
    size_t synthetic_replaced; /* stored synthetic bars replaced by real ones */
    uint64_t bytes;           /* input bytes read */
} ohlcx_ingest_summary;

/*
 * Reads, checks and stores candle files, `jobs` files at a time. The checks
 * of check.h run with the repair policy (sort, drop duplicates and invalid
 * rows, fill short gaps with synthetic bars), and each file's report goes to
 * the catalogue as its series' quality summary. Each file is then merged
 * into its (symbol, timeframe) series: new bars are added,
 * identical ones skipped, and bars that conflict with stored values are
 * logged and counted, never written over. A file already ingested (same
 * SHA-256) is skipped. Logs a line per file to stderr.
 * On failure the error names the first failing file; files stored before it
 * stay stored.
 */
int ohlcx_ingest(const ohlcx_ingest_options *options, ohlcx_ingest_summary *summary);

#endif
