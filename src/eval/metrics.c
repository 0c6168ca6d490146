/*
 * Eval: classification metrics for up-probabilities against 0/1 labels.
 *
 * Accuracy, balanced accuracy and log loss take one pass. The AUC sorts
 * (probability, label) pairs in O(n log n) and gives each run of equal
 * probabilities the mean of the ranks it spans. With those ranks the
 * Mann-Whitney statistic counts a tied positive-negative pair as one half.
 * Sums are in double.
 */
#include <math.h>
#include <stdlib.h>

#include "ohlcx/error.h"
#include "ohlcx/eval.h"

#define LOG_LOSS_CLIP 1e-7

typedef struct scored_label {
    float prob;
    uint8_t label;
} scored_label;


static int compare_prob(const void *a, const void *b)
{
    float x = ((const scored_label *)a)->prob, y = ((const scored_label *)b)->prob;

    return (x > y) - (x < y);
}


static int check_inputs(const float *prob, const uint8_t *label, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!(prob[i] >= 0 && prob[i] <= 1))
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "invalid probability %g at row %zu: use a value in [0, 1]",
                                   (double)prob[i], i);
        if (label[i] > 1)
            return ohlcx_set_error(OHLCX_EINVAL, "invalid label %d at row %zu: use 0 or 1",
                                   label[i], i);
    }
    return 0;
}


static double clipped_log_loss(double p, int label)
{
    if (p < LOG_LOSS_CLIP)
        p = LOG_LOSS_CLIP;
    if (p > 1 - LOG_LOSS_CLIP)
        p = 1 - LOG_LOSS_CLIP;
    return label ? -log(p) : -log(1 - p);
}


/* Fills accuracy, balanced accuracy and log loss in one pass. */
static void compute_pointwise(const float *prob, const uint8_t *label, size_t n,
                              ohlcx_metrics *out)
{
    size_t correct = 0, positives = 0, true_positives = 0, true_negatives = 0;
    double loss = 0, rate_sum = 0;
    int rates = 0;

    for (size_t i = 0; i < n; i++) {
        int predicted = prob[i] > 0.5f;

        correct += predicted == label[i];
        positives += label[i];
        true_positives += predicted && label[i];
        true_negatives += !predicted && !label[i];
        loss += clipped_log_loss(prob[i], label[i]);
    }

    if (positives > 0) {
        rate_sum += (double)true_positives / (double)positives;
        rates++;
    }
    if (positives < n) {
        rate_sum += (double)true_negatives / (double)(n - positives);
        rates++;
    }
    out->accuracy = (double)correct / (double)n;
    out->balanced_accuracy = rate_sum / rates;
    out->log_loss = loss / (double)n;
}


/* Returns the ROC AUC of pairs sorted by probability, or NaN when a class is
 * absent. Ranks start at 1. */
static double auc_of_sorted(const scored_label *pairs, size_t n)
{
    double positive_rank_sum = 0;
    size_t positives = 0, negatives = 0;
    size_t run_begin = 0;

    while (run_begin < n) {
        size_t run_end = run_begin + 1;
        size_t run_positives = 0;
        double mean_rank = 0;

        while (run_end < n && pairs[run_end].prob == pairs[run_begin].prob)
            run_end++;
        for (size_t i = run_begin; i < run_end; i++)
            run_positives += pairs[i].label;
        /* ranks run_begin + 1 .. run_end, mean (run_begin + 1 + run_end) / 2 */
        mean_rank = ((double)run_begin + 1 + (double)run_end) / 2;
        positive_rank_sum += mean_rank * (double)run_positives;
        positives += run_positives;
        run_begin = run_end;
    }
    negatives = n - positives;
    if (positives == 0 || negatives == 0)
        return NAN;

    return (positive_rank_sum - (double)positives * ((double)positives + 1) / 2) /
           ((double)positives * (double)negatives);
}


int ohlcx_metrics_compute(const float *prob, const uint8_t *label, size_t n,
                          ohlcx_metrics *out)
{
    scored_label *pairs = NULL;
    int status = 0;

    if (out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_metrics_compute: out is NULL");
    if (n > 0 && (prob == NULL || label == NULL))
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_metrics_compute: %s is NULL with n = %zu",
                               prob == NULL ? "prob" : "label", n);
    out->n = n;
    out->accuracy = NAN;
    out->balanced_accuracy = NAN;
    out->auc = NAN;
    out->log_loss = NAN;
    if (n == 0)
        return 0;
    status = check_inputs(prob, label, n);
    if (status != 0)
        return status;

    pairs = malloc(n * sizeof *pairs);
    if (pairs == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory sorting %zu rows for the AUC", n);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        pairs[i].prob = prob[i];
        pairs[i].label = label[i];
    }
    qsort(pairs, n, sizeof *pairs, compare_prob);

    compute_pointwise(prob, label, n, out);
    out->auc = auc_of_sorted(pairs, n);

fail:
    free(pairs);
    return status;
}
