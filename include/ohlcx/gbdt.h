/*
 * GBDT: gradient-boosted trees through XGBoost's C API (libxgboost 1.7).
 *
 * A thin, checked wrapper: binary:logistic with the hist tree method, rounds
 * added one at a time with early stopping on a validation set's log loss, and
 * the model kept at its best round. Feature matrices are dense, row-major
 * float arrays; NaN marks a missing value. Models are saved as XGBoost JSON,
 * which stock XGBoost loads.
 */
#ifndef OHLCX_GBDT_H
#define OHLCX_GBDT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ohlcx_gbdt ohlcx_gbdt;

typedef struct ohlcx_gbdt_options {
    int max_depth;           /* default 4 */
    double learning_rate;    /* eta, default 0.05 */
    int max_rounds;          /* default 400 */
    int early_stopping;      /* rounds without improvement, 0 for off, default 30 */
    double subsample;        /* default 0.8 */
    double colsample_bytree; /* default 0.8 */
    double min_child_weight; /* default 5 */
    double positive_weight;  /* weight of rows labelled 1 (scale_pos_weight), default 1 */
    int threads;             /* nthread, default 1 */
    uint64_t seed;           /* folded to 31 bits for XGBoost; default 0 */
} ohlcx_gbdt_options;

void ohlcx_gbdt_options_default(ohlcx_gbdt_options *options);

/* Trains a model on n_train rows of n_features columns with labels in {0, 1};
 * stops early on the validation rows and keeps the rounds up to the lowest
 * validation log loss. With n_val 0 (x_val and y_val may be NULL) or
 * early_stopping 0 it trains and keeps max_rounds rounds. Returns
 * OHLCX_EINVAL for an empty training set, bad options or a label other than
 * 0 or 1, and OHLCX_ELIB with XGBoost's message when XGBoost fails. */
int ohlcx_gbdt_train(const float *x_train, const float *y_train, size_t n_train,
                     const float *x_val, const float *y_val, size_t n_val,
                     size_t n_features, const ohlcx_gbdt_options *options,
                     ohlcx_gbdt **out);

/*
 * Rows produced on request, so that no whole feature matrix has to be held.
 * fill writes rows first to first + count - 1 into x (count x n_features
 * floats, row-major, NaN for missing) and their labels into y. It returns 0,
 * or a negative error code with the message set; a positive return counts as
 * OHLCX_EINVAL.
 */
typedef int (*ohlcx_gbdt_fill)(void *context, size_t first, size_t count, float *x, float *y);

typedef struct ohlcx_gbdt_source {
    ohlcx_gbdt_fill fill;
    void *context; /* passed to fill */
    size_t rows;
} ohlcx_gbdt_source;

/*
 * Trains like ohlcx_gbdt_train(), reading the sources batch_rows rows at a
 * time. The training rows pass 4 times through XGBoost 1.7's data
 * iterator, which turns them into a quantile matrix of 256 histogram bins,
 * held row-major and column-major. With libxgboost 1.7.4 training took
 * about 3.4 bytes per value and 26 per row, against 4 bytes per float. The
 * validation rows are never held. After each round they are read again, in
 * row order, and scored with the new tree, so the validation source is read
 * once per round trained (not at all with early_stopping 0). That adds 4
 * bytes per validation row and two batches. validation may be NULL or empty. A failed
 * fill or a label other than 0 or 1 stops training, and its code and
 * message are returned.
 */
int ohlcx_gbdt_train_source(const ohlcx_gbdt_source *train, const ohlcx_gbdt_source *validation,
                            size_t n_features, size_t batch_rows,
                            const ohlcx_gbdt_options *options, ohlcx_gbdt **out);

/* Writes the up-probability of n rows into prob. */
int ohlcx_gbdt_predict(const ohlcx_gbdt *model, const float *x, size_t n,
                       float *prob);

/* Returns the number of boosting rounds kept (best iteration + 1). */
int ohlcx_gbdt_rounds(const ohlcx_gbdt *model);
size_t ohlcx_gbdt_feature_count(const ohlcx_gbdt *model);

/* Points *losses at the validation log loss after each round that training
 * ran, the rounds dropped by early stopping included, and returns their
 * count. The loss is XGBoost's "logloss" metric (mean over the rows, the
 * probability clipped to at least 1e-16). Returns 0 for a loaded model, and
 * for one trained without validation rows or with early_stopping 0. The
 * array belongs to the model. */
int ohlcx_gbdt_validation_losses(const ohlcx_gbdt *model, const double **losses);

/* Names the model's feature columns (n must equal its feature count), so the
 * saved JSON lists them for anyone who loads it with stock XGBoost. */
int ohlcx_gbdt_set_feature_names(ohlcx_gbdt *model, const char *const *names, size_t n);

/* Saves the model as XGBoost JSON, whatever the file name. Loads one saved
 * by this or by XGBoost; n_features 0 takes the model's count, another value
 * must match it (else OHLCX_EINVAL). Load returns OHLCX_EIO for an unreadable
 * file and OHLCX_EFORMAT for one XGBoost cannot parse. */
int ohlcx_gbdt_save(const ohlcx_gbdt *model, const char *path);
int ohlcx_gbdt_load(const char *path, size_t n_features, int threads,
                    ohlcx_gbdt **out);

void ohlcx_gbdt_free(ohlcx_gbdt *model);

#endif
