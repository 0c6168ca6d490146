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
    int early_stopping;      /* rounds without improvement, default 30 */
    double subsample;        /* default 0.8 */
    double colsample_bytree; /* default 0.8 */
    double min_child_weight; /* default 5 */
    int threads;             /* nthread, default 1 */
    uint64_t seed;
} ohlcx_gbdt_options;

void ohlcx_gbdt_options_default(ohlcx_gbdt_options *options);

/* Trains a model on n_train rows of n_features columns with labels in {0, 1};
 * stops early on the validation rows. */
int ohlcx_gbdt_train(const float *x_train, const float *y_train, size_t n_train,
                     const float *x_val, const float *y_val, size_t n_val,
                     size_t n_features, const ohlcx_gbdt_options *options,
                     ohlcx_gbdt **out);

/* Writes the up-probability of n rows into prob. */
int ohlcx_gbdt_predict(const ohlcx_gbdt *model, const float *x, size_t n,
                       float *prob);

/* Returns the number of boosting rounds kept (best iteration + 1). */
int ohlcx_gbdt_rounds(const ohlcx_gbdt *model);
size_t ohlcx_gbdt_feature_count(const ohlcx_gbdt *model);

/* Saves the model as XGBoost JSON; loads one saved by this or by XGBoost. */
int ohlcx_gbdt_save(const ohlcx_gbdt *model, const char *path);
int ohlcx_gbdt_load(const char *path, size_t n_features, int threads,
                    ohlcx_gbdt **out);

void ohlcx_gbdt_free(ohlcx_gbdt *model);

#endif
