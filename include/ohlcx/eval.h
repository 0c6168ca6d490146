/*
 * Eval: classification metrics for up-probabilities against 0/1 labels.
 *
 *   accuracy            share of rows where (prob > 0.5) equals the label
 *   balanced_accuracy   mean of the true positive and true negative rates;
 *                       a class absent from the labels is left out of the mean
 *   auc                 ROC AUC by the rank-sum (Mann-Whitney) formula with
 *                       ties counted as one half; NaN when a class is absent
 *   log_loss            mean binary cross-entropy, probabilities clipped to
 *                       [1e-7, 1 - 1e-7]
 */
#ifndef OHLCX_EVAL_H
#define OHLCX_EVAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ohlcx_metrics {
    double accuracy;
    double balanced_accuracy;
    double auc;
    double log_loss;
    size_t n;
} ohlcx_metrics;

/* Computes the metrics of n probabilities against n labels. With n == 0 all
 * metrics are NaN. Fails with OHLCX_EINVAL, naming the row, on a probability
 * outside [0, 1] (NaN included) or a label other than 0 and 1. Allocates a
 * sort buffer for the AUC. */
int ohlcx_metrics_compute(const float *prob, const uint8_t *label, size_t n,
                          ohlcx_metrics *out);

#endif
