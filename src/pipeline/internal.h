/*
 * Internal state shared by the pipeline stages (run, predict, output).
 */
#ifndef OHLCX_PIPELINE_INTERNAL_H
#define OHLCX_PIPELINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/dataset.h"
#include "ohlcx/eval.h"
#include "ohlcx/format.h"
#include "ohlcx/nn.h"
#include "ohlcx/pipeline.h"
#include "ohlcx/quality.h"
#include "ohlcx/series.h"

/* Columns of the XGBoost matrix after the CNN embedding: the bar features,
 * then the timeframe id and the asset-class id. */
#define PIPELINE_ID_COLUMNS 2

/* Higher timeframes a run can join: every canonical timeframe above 1m. */
#define PIPELINE_HIGHER_MAX 15

/* The columns a feature row has beyond the series' own features: the higher
 * timeframes whose features join every row of a run (features.h),
 * canonical, distinct and sorted finest first, then the test-only leak
 * column of --debug-leak, last. */
typedef struct pipeline_higher {
    int count;
    char timeframes[PIPELINE_HIGHER_MAX][OHLCX_TIMEFRAME_MAX];
    int debug_leak; /* enum ohlcx_debug_leak; pipeline_higher_set() clears it */
} pipeline_higher;

/* Name of the --debug-leak next-return column. */
#define PIPELINE_LEAK_COLUMN "leak_next_return"

/* One input file after reading and validation. */
typedef struct pipeline_series {
    ohlcx_series bars;
    ohlcx_read_report read;
    ohlcx_validation validation;
    char sha256[65];      /* of the input file; "" for a stored series */
    int64_t store_version; /* version read from a store, 0 for a file */
    float *features;  /* bars.n x feature_width, or NULL */
    size_t feature_width;  /* floats per row: pipeline_feature_width() */
    uint32_t higher_fed;   /* bit h: higher timeframe h joined, not left NaN */
    size_t bars_filled;    /* synthetic bars added into short gaps */
    size_t short_gaps;     /* gaps of at most PIPELINE_MAX_FILL_GAP bars, filled */
    size_t *long_gap_rows; /* row after each longer gap, ascending, or NULL */
    size_t long_gaps;      /* entries of long_gap_rows */
    size_t long_gap_bars;  /* expected bars missing in the long gaps */
    size_t samples_excluded; /* samples of the parts left out: window_spans_gap */
    size_t samples_capped;   /* training samples left out by the cap per series */
    ohlcx_split split;
    int usable;       /* 1 when every part of the series has samples */
    int group;        /* index of the CNN that serves this series */
    int symbol_id;    /* row of its symbol in the CNN's symbol embedding, or -1 */
} pipeline_series;

/* The maximum gap, in bars, that loading and `ohlcx ingest` fill. A longer
 * gap stays open, and no training sample reads across it. */
#define PIPELINE_MAX_FILL_GAP 3

/* Reads, validates and hashes every file on `jobs` threads, fills or
 * records its gaps with pipeline_repair_gaps(), and drops its optional
 * columns (pipeline_drop_extra_columns()). On failure the error names the
 * first failing file in list order. */
int pipeline_load(char *const *files, size_t file_count, const char *symbol,
                  const char *timeframe, int bad_rows, const ohlcx_layout_options *layout,
                  int jobs, pipeline_series **out);

void pipeline_free_series(pipeline_series *series, size_t count);

/* Frees the optional columns of a series (enum ohlcx_extra_column) and
 * clears its extra bits. Training and prediction read only the open time,
 * OHLCV and flags after validation and gap repair, and the optional
 * columns take 32 of the 81 bytes of a Binance kline bar, so loading drops
 * them after the gap repair. */
void pipeline_drop_extra_columns(ohlcx_series *bars);

/* Keeps the series of *count that the universe lists, moved to the front in
 * their order, gives each its group's asset class and frees the others;
 * *count becomes the kept number. Fails with OHLCX_EDATA when a listed
 * series is missing (source names where they were looked for), and with
 * OHLCX_EINVAL, leaving the series untouched, when a loaded series matches
 * the same symbol and timeframe under two asset classes. */
struct ohlcx_universe;
int pipeline_select_universe(const struct ohlcx_universe *universe, const char *source,
                             pipeline_series *series, size_t *count);

/* Finds the gaps of a validated series (sorted, unique open times) against
 * its market calendar, fills those of at most PIPELINE_MAX_FILL_GAP bars with
 * flagged synthetic bars, and records the row after each longer gap in
 * long_gap_rows. Sets bars_filled, short_gaps, long_gaps and long_gap_bars. */
int pipeline_repair_gaps(pipeline_series *series);

/* Logs what reading and validation dropped from one series, per reason, and
 * the gaps that loading filled or left open. */
void pipeline_log_drops(const pipeline_series *series);

/* A sample: bar t of series s. */
typedef struct pipeline_sample {
    uint32_t series;
    uint32_t t;
} pipeline_sample;

/* Parses, checks and sorts count higher timeframe names (aliases such as
 * 60m allowed) into out. Fails with OHLCX_EINVAL, naming source (an option
 * or a file), for an unknown name, a name listed twice or too many names. */
int pipeline_higher_set(const char *const *names, int count, const char *source,
                        pipeline_higher *out);

/* Returns the floats of one feature row: OHLCX_FEATURE_COUNT for the series'
 * own features, plus as many for each higher timeframe, plus 1 for a debug
 * leak column. */
size_t pipeline_feature_width(const pipeline_higher *higher);

/* Allocates series->features and fills every row: the own features, then
 * the joined features of each higher timeframe, NaN for one that the series
 * cannot feed (not coarser than its own timeframe, not a whole number of
 * its bars, or bins that its bars cross). Sets higher_fed. With warn set,
 * logs one warning naming the timeframes left NaN and why. */
int pipeline_compute_features(pipeline_series *series, const pipeline_higher *higher,
                              int warn);

/* Fills the XGBoost row of one sample: the embedding (NULL to leave it out),
 * then the feature_width features at t, then the ids. */
void pipeline_fill_row(const pipeline_series *series, size_t t, const float *embedding,
                       int hidden, float *row);

/* Returns the number of XGBoost columns of a model with `hidden` embedding
 * columns (0 for the model without CNN features). */
size_t pipeline_column_count(int hidden, const pipeline_higher *higher);

/* Returns the name of XGBoost column i of that model; writes into buffer
 * (32 bytes are enough). */
const char *pipeline_column_name(int i, int hidden, const pipeline_higher *higher, char *buffer,
                                 size_t size);

/* Returns the name of a CNN mode as the command line and the manifest spell
 * it ("per-symbol", "global", "per-market"). */
const char *pipeline_cnn_mode_name(int cnn_mode);

/* Returns the mode of a name that pipeline_cnn_mode_name() returns, or -1. */
int pipeline_cnn_mode_parse(const char *name);

/* "constant", "step" or "cosine" for an OHLCX_LR_ schedule. */
const char *pipeline_lr_schedule_name(int schedule);

/* Returns the schedule of a name that pipeline_lr_schedule_name() returns,
 * or -1. */
int pipeline_lr_schedule_parse(const char *name);

/* Returns the name of the CNN group that serves a series in a mode: the
 * symbol, "global", or the asset class name. */
const char *pipeline_cnn_group_key(int cnn_mode, const ohlcx_series *bars);

/* Sets the thread count of OpenBLAS (the CNN's kernels). */
void pipeline_set_blas_threads(int jobs);

/* Returns the number of online cores, at least 1. */
int pipeline_default_jobs(void);

/* Reads a whole file into a NUL-terminated string that the caller frees. */
int pipeline_read_text_file(const char *path, char **out);

/* A model bundle that `ohlcx run` wrote, opened for prediction. */
typedef struct pipeline_bundle {
    struct cJSON *manifest;
    int window;
    int hidden;
    int cnn_mode;               /* enum ohlcx_cnn_mode */
    pipeline_higher higher;     /* the manifest's higher_timeframes and debug_leak */
    size_t column_count;
    struct cJSON *groups;       /* array of {name, file} */
    struct cJSON *symbols;      /* cnn_symbols: the symbols of the embedding's rows, or NULL */
    ohlcx_cnn **cnns;           /* loaded on first use, one per group */
    struct ohlcx_gbdt *model;
} pipeline_bundle;

/* Opens model_dir/manifest.json and xgboost.json, and checks that the
 * manifest's columns are those this version builds. */
int pipeline_bundle_open(const char *model_dir, int jobs, pipeline_bundle *out);

/* Gives each series that the manifest lists (same symbol, any case, and
 * timeframe) the asset class it was trained with, which --universe may have
 * set instead of the one guessed from the symbol. */
void pipeline_bundle_apply_classes(const pipeline_bundle *b, pipeline_series *series,
                                   size_t count);

/* Frees every part of a bundle, opened or partly opened. */
void pipeline_bundle_close(pipeline_bundle *b);

/* Finds, and loads on first use, the CNN that serves a series. When that
 * CNN learned a symbol embedding, *symbol_id receives the row of the
 * series' symbol, or the last row, which contains the mean of the others,
 * for a symbol it was not trained on. Otherwise it receives -1. */
int pipeline_bundle_cnn(pipeline_bundle *b, const char *model_dir, const ohlcx_series *bars,
                        ohlcx_cnn **out, int32_t *symbol_id);

/* Computes the embedding and up-probability of n windows of one series.
 * symbol_id is the series' embedding row, or -1 for a CNN without one.
 * prob or embedding may be NULL. */
int pipeline_cnn_embed(const ohlcx_cnn *cnn, const float *x, int32_t symbol_id, size_t n,
                       float *prob, float *embedding);

/*
 * A scratch file: unnamed from its creation (see pipeline_scratch_open()),
 * so that no path leads to it and the kernel frees its blocks when its
 * descriptor closes, also when the process is killed. Its pages sit in the
 * page cache, which the kernel can write back and drop, so they do not
 * count in the process's resident set.
 */
typedef struct pipeline_scratch {
    int fd;                      /* -1 once closed */
    char folder[OHLCX_PATH_MAX]; /* where the file lives, for messages */
    uint64_t size;               /* bytes reserved for the file */
} pipeline_scratch;

/* Creates a scratch file in folder, with O_TMPFILE or else mkstemp() and
 * an immediate unlink(), and reserves its `size` bytes with
 * posix_fallocate(), so that a full disk fails here instead of after part
 * of the writes. Fails with OHLCX_EIO naming the folder, and the bytes
 * needed when they cannot be reserved; out is then closed. */
int pipeline_scratch_open(const char *folder, uint64_t size, pipeline_scratch *out);

/* Writes bytes at offset, retrying short writes. Fails with OHLCX_EIO
 * naming the folder and the file's size in bytes. */
int pipeline_scratch_write(const pipeline_scratch *scratch, const void *data, size_t bytes,
                           uint64_t offset);

/* Reads bytes at offset, retrying short reads. Fails with OHLCX_EIO naming
 * the folder and the offset, also when the file ends before them. */
int pipeline_scratch_read(const pipeline_scratch *scratch, void *data, size_t bytes,
                          uint64_t offset);

/* Closes the file, which frees its blocks. A closed one is left alone. */
void pipeline_scratch_close(pipeline_scratch *scratch);

#endif
