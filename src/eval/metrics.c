/*
 * Eval: classification metrics for up-probabilities against 0/1 labels.
 *
 * The confusion counts, log loss, Brier score and calibration bins take one
 * pass, and accuracy, balanced accuracy, macro-F1 and the binomial test
 * follow from the counts. The AUC sorts (probability, label) pairs in
 * O(n log n) and gives each run of equal probabilities the mean of the ranks
 * it spans. With those ranks the Mann-Whitney statistic counts a tied
 * positive-negative pair as one half. Sums are in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "eval/eval_internal.h"
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


/* Returns the calibration bin of a probability in [0, 1]. */
static int calibration_bin(double p)
{
    int bin = (int)(p * OHLCX_CALIBRATION_BINS);

    return bin < OHLCX_CALIBRATION_BINS ? bin : OHLCX_CALIBRATION_BINS - 1;
}


/* Returns the F1 of one class, or NaN when it is neither a label nor a
 * prediction (2 * hits + misses == 0). */
static double class_f1(size_t hits, size_t false_alarms, size_t misses)
{
    double denominator = 2.0 * (double)hits + (double)false_alarms + (double)misses;

    return denominator > 0 ? 2.0 * (double)hits / denominator : NAN;
}


/* Mean of the values that are not NaN, or NaN when none is. */
static double mean_of_defined(double a, double b)
{
    if (isnan(a))
        return b;
    if (isnan(b))
        return a;
    return (a + b) / 2;
}


/* Fills the confusion counts, log loss, Brier score and calibration in one
 * pass. */
static void compute_pointwise(const float *prob, const uint8_t *label, size_t n,
                              ohlcx_metrics *out)
{
    double loss = 0, squared_error = 0;
    double bin_prob[OHLCX_CALIBRATION_BINS] = {0};
    size_t bin_ups[OHLCX_CALIBRATION_BINS] = {0};

    for (size_t i = 0; i < n; i++) {
        int predicted = prob[i] > 0.5f;
        int bin = calibration_bin(prob[i]);
        double error = (double)prob[i] - label[i];

        out->true_positives += predicted && label[i];
        out->false_positives += predicted && !label[i];
        out->true_negatives += !predicted && !label[i];
        out->false_negatives += !predicted && label[i];
        loss += clipped_log_loss(prob[i], label[i]);
        squared_error += error * error;
        out->calibration[bin].count++;
        bin_prob[bin] += prob[i];
        bin_ups[bin] += label[i];
    }

    out->log_loss = loss / (double)n;
    out->brier = squared_error / (double)n;
    for (int bin = 0; bin < OHLCX_CALIBRATION_BINS; bin++) {
        size_t count = out->calibration[bin].count;

        out->calibration[bin].mean_prob = count ? bin_prob[bin] / (double)count : NAN;
        out->calibration[bin].up_share = count ? (double)bin_ups[bin] / (double)count : NAN;
    }
}


/* Fills the metrics that follow from the confusion counts. */
static void compute_from_confusion(ohlcx_metrics *out)
{
    size_t n = out->n;
    size_t positives = out->true_positives + out->false_negatives;
    size_t negatives = out->true_negatives + out->false_positives;
    size_t correct = out->true_positives + out->true_negatives;
    double true_positive_rate = positives ? (double)out->true_positives / (double)positives : NAN;
    double true_negative_rate = negatives ? (double)out->true_negatives / (double)negatives : NAN;

    out->accuracy = (double)correct / (double)n;
    out->balanced_accuracy = mean_of_defined(true_positive_rate, true_negative_rate);
    out->macro_f1 =
        mean_of_defined(class_f1(out->true_positives, out->false_positives, out->false_negatives),
                        class_f1(out->true_negatives, out->false_negatives, out->false_positives));
    out->majority_share = (double)(positives > negatives ? positives : negatives) / (double)n;
    out->binomial_p = ohlcx_binomial_tail(correct, n, out->majority_share);
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


/* Sets every metric to NaN and every count to 0. */
static void clear_metrics(ohlcx_metrics *out, size_t n)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->accuracy = NAN;
    out->balanced_accuracy = NAN;
    out->auc = NAN;
    out->log_loss = NAN;
    out->macro_f1 = NAN;
    out->brier = NAN;
    out->ic = NAN;
    out->rank_ic = NAN;
    out->majority_share = NAN;
    out->binomial_p = NAN;
    for (int bin = 0; bin < OHLCX_CALIBRATION_BINS; bin++) {
        out->calibration[bin].mean_prob = NAN;
        out->calibration[bin].up_share = NAN;
    }
}


static int check_returns(const double *realised_return, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(realised_return[i]))
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "invalid realised return %g at row %zu: use a finite value",
                                   realised_return[i], i);
    return 0;
}


/* Fills ic and rank_ic. */
static int compute_correlations(const float *prob, const double *realised_return, size_t n,
                                ohlcx_metrics *out)
{
    double *buffer = malloc(3 * n * sizeof *buffer);
    size_t *order = malloc(n * sizeof *order);
    int status = 0;

    if (buffer == NULL || order == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory ranking %zu rows for the rank IC",
                                 n);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        buffer[i] = prob[i];
    out->ic = eval_pearson(buffer, realised_return, n);
    out->rank_ic = eval_spearman(buffer, realised_return, n, buffer + n, order);

done:
    free(buffer);
    free(order);
    return status;
}


int ohlcx_metrics_compute_ex(const float *prob, const uint8_t *label,
                             const double *realised_return, size_t n, ohlcx_metrics *out)
{
    scored_label *pairs = NULL;
    int status = 0;

    if (out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_metrics_compute: out is NULL");
    if (n > 0 && (prob == NULL || label == NULL))
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_metrics_compute: %s is NULL with n = %zu",
                               prob == NULL ? "prob" : "label", n);
    clear_metrics(out, n);
    if (n == 0)
        return 0;
    status = check_inputs(prob, label, n);
    if (status == 0 && realised_return != NULL)
        status = check_returns(realised_return, n);
    if (status != 0)
        return status;

    pairs = malloc(n * sizeof *pairs);
    if (pairs == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory sorting %zu rows for the AUC", n);
    for (size_t i = 0; i < n; i++) {
        pairs[i].prob = prob[i];
        pairs[i].label = label[i];
    }
    qsort(pairs, n, sizeof *pairs, compare_prob);
    out->auc = auc_of_sorted(pairs, n);
    free(pairs);

    compute_pointwise(prob, label, n, out);
    compute_from_confusion(out);
    if (realised_return != NULL)
        status = compute_correlations(prob, realised_return, n, out);
    return status;
}


int ohlcx_metrics_compute(const float *prob, const uint8_t *label, size_t n,
                          ohlcx_metrics *out)
{
    return ohlcx_metrics_compute_ex(prob, label, NULL, n, out);
}


int ohlcx_metrics_compute_groups(const float *prob, const uint8_t *label,
                                 const double *realised_return, const uint32_t *group, size_t n,
                                 size_t group_count, ohlcx_metrics *out)
{
    size_t *start = NULL, *fill = NULL;
    float *group_prob = NULL;
    uint8_t *group_label = NULL;
    double *group_return = NULL;
    int status = 0;

    if (out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_metrics_compute_groups: out is NULL");
    if (n > 0 && (prob == NULL || label == NULL || group == NULL))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "ohlcx_metrics_compute_groups: %s is NULL with n = %zu",
                               prob == NULL ? "prob" : label == NULL ? "label" : "group", n);
    for (size_t i = 0; i < n; i++)
        if (group[i] >= group_count)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "invalid group %u at row %zu: use a group below %zu",
                                   group[i], i, group_count);

    /* A counting sort gathers each group's rows, in their order, into one block. */
    start = calloc(group_count + 1, sizeof *start);
    fill = calloc(group_count + 1, sizeof *fill);
    group_prob = malloc((n ? n : 1) * sizeof *group_prob);
    group_label = malloc(n ? n : 1);
    if (realised_return != NULL)
        group_return = malloc((n ? n : 1) * sizeof *group_return);
    if (start == NULL || fill == NULL || group_prob == NULL || group_label == NULL ||
        (realised_return != NULL && group_return == NULL)) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory grouping %zu rows", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        start[group[i] + 1]++;
    for (size_t g = 0; g < group_count; g++)
        start[g + 1] += start[g];
    memcpy(fill, start, (group_count + 1) * sizeof *fill);
    for (size_t i = 0; i < n; i++) {
        size_t to = fill[group[i]]++;

        group_prob[to] = prob[i];
        group_label[to] = label[i];
        if (group_return != NULL)
            group_return[to] = realised_return[i];
    }

    for (size_t g = 0; g < group_count && status == 0; g++) {
        size_t begin = start[g], count = start[g + 1] - start[g];

        status = ohlcx_metrics_compute_ex(group_prob + begin, group_label + begin,
                                          group_return ? group_return + begin : NULL, count,
                                          &out[g]);
    }

done:
    free(start);
    free(fill);
    free(group_prob);
    free(group_label);
    free(group_return);
    return status;
}
