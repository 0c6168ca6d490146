/*
 * Dataset: labelled samples and chronological splits over many series.
 *
 * A sample is a bar t of one series. Its label is 1 when close[t + horizon] >
 * close[t], else 0. A series contributes the bars t in [first, n - horizon)
 * with first = max(window, OHLCX_FEATURE_WARMUP), so every sample has a full
 * window, defined features and a known label.
 *
 * Each series' samples are split in time order into four parts:
 *
 *   | cnn_train | gap | xgb_train | gap | validation | gap | test |
 *
 * train (cnn_train + gap + xgb_train) takes train_fraction of the samples,
 * validation val_fraction and test the rest. Every gap is a purge of window +
 * horizon samples, so no window or label crosses from one part into the next.
 * The CNN trains on cnn_train only; XGBoost trains on xgb_train, whose CNN
 * embeddings therefore come from bars the CNN never saw (stacking without
 * leakage). xgb_train is the last stack_fraction of the train part. Samples in
 * gaps belong to no part.
 */
#ifndef OHLCX_DATASET_H
#define OHLCX_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/series.h"

enum ohlcx_part {
    OHLCX_PART_NONE = -1, /* a purge gap */
    OHLCX_PART_CNN_TRAIN = 0,
    OHLCX_PART_XGB_TRAIN,
    OHLCX_PART_VALIDATION,
    OHLCX_PART_TEST,
    OHLCX_PART_COUNT
};

typedef struct ohlcx_split_options {
    int window;            /* bars in a CNN window, default 64 */
    int horizon;           /* bars ahead for the label, default 1 */
    double train_fraction; /* default 0.70 */
    double val_fraction;   /* default 0.15 */
    double stack_fraction; /* share of train for XGBoost, default 0.40 */
} ohlcx_split_options;

/* Fills options with the defaults above. */
void ohlcx_split_options_default(ohlcx_split_options *options);

/* Sample boundaries of one series: part p covers bars [begin[p], end[p]). */
typedef struct ohlcx_split {
    size_t begin[OHLCX_PART_COUNT];
    size_t end[OHLCX_PART_COUNT];
} ohlcx_split;

/* Computes the split of a series with n bars. Fails with OHLCX_EDATA when the
 * series is too short for every part to hold at least one sample. */
int ohlcx_split_series(size_t n, const ohlcx_split_options *options,
                       ohlcx_split *out);

/* Returns the label of bar t: 1 if close[t + horizon] > close[t], else 0.
 * Requires t + horizon < series->n. */
int ohlcx_label(const ohlcx_series *series, size_t t, int horizon);

/* Returns the snake_case name of a part ("cnn_train", ..., "test"). */
const char *ohlcx_part_name(int part);

#endif
