/*
 * Eval: classification metrics for up-probabilities against 0/1 labels, and
 * the rank and linear agreement of those probabilities with realised returns.
 *
 * A row predicts "up" when its probability is above 0.5 (0.5 itself predicts
 * "down"). With TP, FP, TN, FN the confusion counts of that prediction:
 *
 *   accuracy            (TP + TN) / n
 *   balanced_accuracy   mean of the true positive rate TP / (TP + FN) and the
 *                       true negative rate TN / (TN + FP); a class absent
 *                       from the labels is left out of the mean
 *   macro_f1            mean of the F1 of class 1, 2TP / (2TP + FP + FN), and
 *                       of class 0, 2TN / (2TN + FN + FP); a class that is
 *                       neither a label nor a prediction is left out
 *   auc                 ROC AUC by the rank-sum (Mann-Whitney) formula with
 *                       ties counted as one half; NaN when a class is absent
 *   log_loss            mean binary cross-entropy, probabilities clipped to
 *                       [1e-7, 1 - 1e-7]
 *   brier               mean of (prob - label)^2, unclipped
 *   ic                  Pearson correlation of prob with the realised return
 *   rank_ic             Spearman correlation of the same pair: the Pearson
 *                       correlation of their ranks, tied values sharing the
 *                       mean of the ranks they span
 *   majority_share      share of the larger class among the labels
 *   binomial_p          one-sided p-value of the accuracy against
 *                       majority_share (see ohlcx_binomial_log_tail)
 *   calibration         OHLCX_CALIBRATION_BINS equal-width bins of [0, 1];
 *                       bin i holds probabilities in [i/10, (i+1)/10), the
 *                       last bin also 1.0
 *
 * ic and rank_ic are NaN without returns, with fewer than 2 rows, or when
 * either side is constant. Every metric is NaN with n == 0.
 */
#ifndef OHLCX_EVAL_H
#define OHLCX_EVAL_H

#include <stddef.h>
#include <stdint.h>

#define OHLCX_CALIBRATION_BINS 10

/* One calibration bin. mean_prob and up_share are NaN when count is 0. */
typedef struct ohlcx_calibration_bin {
    size_t count;
    double mean_prob; /* mean predicted probability of the rows in the bin */
    double up_share;  /* share of those rows whose label is 1 */
} ohlcx_calibration_bin;

typedef struct ohlcx_metrics {
    double accuracy;
    double balanced_accuracy;
    double auc;
    double log_loss;
    size_t n;

    double macro_f1;
    double brier;
    double ic;
    double rank_ic;
    size_t true_positives, false_positives, true_negatives, false_negatives;
    double majority_share;
    double binomial_p;
    ohlcx_calibration_bin calibration[OHLCX_CALIBRATION_BINS];
} ohlcx_metrics;

/* Computes the metrics of n probabilities against n labels, leaving ic and
 * rank_ic NaN. Fails with OHLCX_EINVAL, naming the row, on a probability
 * outside [0, 1] (NaN included) or a label other than 0 and 1. Allocates a
 * sort buffer for the AUC. */
int ohlcx_metrics_compute(const float *prob, const uint8_t *label, size_t n,
                          ohlcx_metrics *out);

/* Computes the metrics like ohlcx_metrics_compute(), and ic and rank_ic from
 * realised_return[i], the return of row i over the label's horizon (any
 * scale: the correlations do not depend on it). realised_return may be NULL,
 * and then ic and rank_ic are NaN. Fails with OHLCX_EINVAL on a return that
 * is not finite. */
int ohlcx_metrics_compute_ex(const float *prob, const uint8_t *label,
                             const double *realised_return, size_t n, ohlcx_metrics *out);

/* Computes the metrics of every group: out[g] gets the rows i with
 * group[i] == g, in their order. Rows of a group need not be contiguous.
 * realised_return may be NULL. Fails with OHLCX_EINVAL on a group id of
 * group_count or more. A group without rows gets n == 0 and NaN metrics. */
int ohlcx_metrics_compute_groups(const float *prob, const uint8_t *label,
                                 const double *realised_return, const uint32_t *group, size_t n,
                                 size_t group_count, ohlcx_metrics *out);

/*
 * Returns ln P(X >= k) for X ~ Binomial(n, p0): the natural log of the
 * one-sided p-value of k or more successes in n trials. The test is
 * one-sided because the question is whether a model beats the baseline, not
 * whether it differs from it. A two-sided p-value would be about twice the
 * smaller tail. Each probability mass is evaluated by Loader's saddle-point
 * form (deviance and Stirling-series terms) rather than by differences of
 * lgamma, so its relative error stays near 1e-15 for n up to 10^7 and
 * beyond. The tail is summed from k outwards until the rest is provably
 * below 1e-17 of the sum, which takes O(sqrt(n)) terms. Returns 0 (p = 1)
 * for k == 0, -INFINITY for k > n, and NaN for p0 outside [0, 1].
 */
double ohlcx_binomial_log_tail(uint64_t k, uint64_t n, double p0);

/* Returns P(X >= k) for X ~ Binomial(n, p0); exp() of the above, so values
 * below about 1e-308 are 0. */
double ohlcx_binomial_tail(uint64_t k, uint64_t n, double p0);

#endif
