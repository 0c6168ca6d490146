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
 * Every gap is a purge of g = window + horizon samples, so no window or label
 * crosses from one part into the next. Of the M = n - horizon - first samples,
 * the gaps take 3g and the fractions divide the other M' = M - 3g (M and M'
 * count as 0 when negative). floor() rounds down after adding 1e-9, so that
 * 650 * 0.7 counts as 455:
 *
 *   train      T = floor(M' * train_fraction), cnn_train and xgb_train
 *   xgb_train  X = floor(T * stack_fraction), the later part of train
 *   cnn_train  T - X, the earlier part of train
 *   validation V = floor(M' * val_fraction)
 *   test       M' - T - V
 *
 * As sample offsets from first: cnn_train [0, T - X), xgb_train [T - X + g,
 * T + g), validation [T + 2g, T + 2g + V), test [T + V + 3g, M). For example
 * n = 1065 with the defaults gives first 64, M = 1000, g = 65, M' = 805, T =
 * 563, X = 225, V = 120 and the bars cnn_train [64, 402), xgb_train [467,
 * 692), validation [757, 877), test [942, 1064). Every part must hold at least
 * one sample, which with the defaults takes M' >= 7, that is n >= 267.
 *
 * The CNN trains on cnn_train only; XGBoost trains on xgb_train, whose CNN
 * embeddings therefore come from bars the CNN never saw (stacking without
 * leakage). Samples in gaps belong to no part.
 *
 * Long data gaps: sample t reads bars t - window .. t + horizon (its window
 * covers t - window + 1 .. t, and the first window bar is scaled by the close
 * of the bar before it; its label compares close[t + horizon] with close[t]).
 * A gap in the data recorded before row r lies between bars r - 1 and r, so
 * the sample reads across it when t - window < r <= t + horizon, that is for
 * the window + horizon samples t in [r - horizon, r + window - 1]. Callers
 * leave such samples out of every part; the part bounds stay as computed.
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

/* Computes the split of a series with n bars. Fails with OHLCX_EINVAL when
 * window or horizon is below 1, a fraction is outside (0, 1) or train_fraction
 * + val_fraction >= 1, and with OHLCX_EDATA when the series is too short for
 * every part to hold at least one sample; the message then names the n from
 * which every longer series fits (267 with the defaults). */
int ohlcx_split_series(size_t n, const ohlcx_split_options *options,
                       ohlcx_split *out);

/*
 * Walk-forward folds: instead of one split, a series gets a run of folds,
 * each trained on the bars before its test period and tested on that period.
 * Periods count samples, that is bars of the series. With first, M and g as
 * above, P = train_period, Q = test_period and R = retrain_every, fold k
 * tests the samples
 *
 *   test  [first + P + g + k R, first + P + g + k R + Q)
 *
 * and trains on the samples before it less a purge of g:
 *
 *   train [first + P + g + k R - g - P, first + P + g + k R - g)   (sliding)
 *   train [first, first + P + g + k R - g)                        (expanding)
 *
 * so the last training label ends g + 1 - horizon = window + 1 bars before the
 * first test bar, and no test window reads a bar that a training label reads.
 * The folds continue while the test period ends within the M samples: there
 * are (M - P - g - Q) / R + 1 of them, rounded down, and none when M < P + g
 * + Q. R >= Q, so test periods never overlap. The training range splits like
 * a whole series without its test part: of the L = train length, the two gaps
 * take 2g, validation takes V = floor((L - 2g) val_fraction / (train_fraction
 * + val_fraction)), and the T = L - 2g - V samples before it divide into
 * cnn_train and xgb_train by stack_fraction as above. For example, take
 * window 10, horizon 1 (first 34, g 11), P 100, Q 20 and the default
 * fractions. Fold 0 tests [145, 165) and trains on [34, 134), as cnn_train
 * [34, 73), xgb_train [84, 110) and validation [121, 134). Fold 1 with R 20
 * tests [165, 185) and trains on [54, 154).
 *
 * Embargo: the E = embargo samples after each earlier test period, [test end
 * of fold j, + E) for j < k, are left out of fold k's training parts. In the
 * example with E 5, fold 2 (training range [74, 174)) leaves out [165, 170).
 * The caller tests ohlcx_walk_forward_embargoed() for each training sample.
 */
typedef struct ohlcx_walk_forward_options {
    int64_t train_period;  /* P: samples of a sliding training range, and the
                              first fold's with expanding, at least 1 */
    int64_t test_period;   /* Q: samples tested per fold, at least 1 */
    int64_t retrain_every; /* R: samples between fold starts, Q when 0 */
    int expanding;         /* 1: every fold trains from the first sample */
    int64_t embargo;       /* E: samples left out after each test period, >= 0 */
} ohlcx_walk_forward_options;

/* Stores in count the number of folds of a series of n bars, 0 when it is
 * too short for one. Fails with OHLCX_EINVAL on invalid options (as for
 * ohlcx_split_series(), a period below 1, a negative embargo, or R below Q). */
int ohlcx_walk_forward_count(size_t n, const ohlcx_split_options *options,
                             const ohlcx_walk_forward_options *walk, size_t *count);

/* Computes the parts of fold `fold` of a series of n bars, with the test part
 * as the fold's test period. Fails with OHLCX_EINVAL on invalid options or a
 * fold past the last, and with OHLCX_EDATA when the training range is too
 * short for every training part to hold a sample. */
int ohlcx_walk_forward_fold(size_t n, const ohlcx_split_options *options,
                            const ohlcx_walk_forward_options *walk, size_t fold,
                            ohlcx_split *out);

/* Returns 1 when sample t lies in the embargo after the test period of a fold
 * before `fold`, else 0. */
int ohlcx_walk_forward_embargoed(size_t t, const ohlcx_split_options *options,
                                 const ohlcx_walk_forward_options *walk, size_t fold);

/* Returns the label of bar t: 1 if close[t + horizon] > close[t], else 0.
 * Requires horizon >= 1 and t + horizon < series->n, else returns
 * OHLCX_EINVAL. */
int ohlcx_label(const ohlcx_series *series, size_t t, int horizon);

/* Returns 1 when sample t reads across one of the gap_count long gaps, else
 * 0. gap_rows lists, in ascending order, the row of the first bar after each
 * gap. The sample crosses the gap at row r when t - window < r <= t +
 * horizon (see the top of this file). A negative window or horizon counts
 * as 0; horizon 0 suits a bar with no label yet. O(log gap_count). */
int ohlcx_sample_crosses_gap(size_t t, int window, int horizon, const size_t *gap_rows,
                             size_t gap_count);

/* Returns the snake_case name of a part ("cnn_train", ..., "test"), "gap" for
 * OHLCX_PART_NONE and "unknown" for any other value. */
const char *ohlcx_part_name(int part);

#endif
