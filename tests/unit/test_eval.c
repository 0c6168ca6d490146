/*
 * Eval: metrics on small hand-checked cases, ties, a single class, clipping,
 * n = 0 and invalid input; the binomial tail against values computed
 * independently; and a coin-flip model that must look like chance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "ohlcx/error.h"
#include "ohlcx/eval.h"

#define EPS 1e-6

/* Fails unless actual is within eps of expected; unlike cmocka's
 * assert_float_equal, a NaN never passes. */
#define assert_near(actual, expected, eps) \
    assert_near_at((actual), (expected), (eps), __FILE__, __LINE__)


static void assert_near_at(double actual, double expected, double eps, const char *file,
                           int line)
{
    if (!(fabs(actual - expected) <= eps)) {
        print_error("%.9g is not within %g of %.9g\n", actual, eps, expected);
        _fail(file, line);
    }
}


/* Sorted: 0.1 (0), 0.35 (1), 0.4 (0), 0.8 (1); positive ranks 2 + 4 = 6,
 * U = 6 - 2 * 3 / 2 = 3, AUC = 3 / (2 * 2) = 0.75.
 * Predictions (p > 0.5): 0, 0, 0, 1, so 0.35 is the one miss: accuracy 0.75,
 * true positive rate 1/2, true negative rate 2/2, balanced accuracy 0.75.
 * Log loss: -(ln 0.9 + ln 0.6 + ln 0.35 + ln 0.8) / 4
 *   = (0.1053605 + 0.5108256 + 1.0498221 + 0.2231436) / 4 = 0.4722880. */
static void test_metrics_hand(void **state)
{
    static const float prob[] = {0.1f, 0.4f, 0.35f, 0.8f};
    static const uint8_t label[] = {0, 0, 1, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(prob, label, 4, &m), 0);
    assert_int_equal(m.n, 4);
    assert_near(m.accuracy, 0.75, EPS);
    assert_near(m.balanced_accuracy, 0.75, EPS);
    assert_near(m.auc, 0.75, EPS);
    assert_near(m.log_loss, 0.4722880, EPS);
}


/* Positives 0.6, 0.9 against negatives 0.2, 0.6: pairs score 1, 0.5 (tie),
 * 1, 1, so AUC = 3.5 / 4 = 0.875. */
static void test_auc_ties(void **state)
{
    static const float prob[] = {0.6f, 0.2f, 0.9f, 0.6f};
    static const uint8_t label[] = {0, 0, 1, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(prob, label, 4, &m), 0);
    assert_near(m.auc, 0.875, EPS);
}


/* All probabilities equal: every pair is a tie, AUC 0.5. p = 0.5 is not
 * above 0.5, so every row predicts 0: accuracy 3/4, true positive rate 0,
 * true negative rate 1, balanced accuracy 0.5. */
static void test_auc_all_tied(void **state)
{
    static const float prob[] = {0.5f, 0.5f, 0.5f, 0.5f};
    static const uint8_t label[] = {0, 0, 0, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(prob, label, 4, &m), 0);
    assert_near(m.auc, 0.5, EPS);
    assert_near(m.accuracy, 0.75, EPS);
    assert_near(m.balanced_accuracy, 0.5, EPS);
}


/* A perfectly reversed ranking has AUC 0. */
static void test_auc_reversed(void **state)
{
    static const float prob[] = {0.9f, 0.7f, 0.3f, 0.1f};
    static const uint8_t label[] = {0, 0, 1, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(prob, label, 4, &m), 0);
    assert_near(m.auc, 0, EPS);
    assert_near(m.accuracy, 0, EPS);
}


/* Only positives: AUC NaN, balanced accuracy is the true positive rate
 * alone, 2/3 (0.2 misses). Log loss -(ln 0.7 + ln 0.2 + ln 0.9) / 3 =
 * (0.3566749 + 1.6094379 + 0.1053605) / 3 = 0.6904911. */
static void test_metrics_single_class(void **state)
{
    static const float prob[] = {0.7f, 0.2f, 0.9f};
    static const uint8_t label[] = {1, 1, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(prob, label, 3, &m), 0);
    assert_true(isnan(m.auc));
    assert_near(m.accuracy, 2.0 / 3, EPS);
    assert_near(m.balanced_accuracy, 2.0 / 3, EPS);
    assert_near(m.log_loss, 0.6904911, EPS);
}


/* Probabilities 0 and 1 against label 1 are clipped to 1e-7 and 1 - 1e-7:
 * (-ln 1e-7 - ln(1 - 1e-7)) / 2 = (16.1180957 + 0.0000001) / 2 = 8.0590479. */
static void test_log_loss_clipped(void **state)
{
    static const float prob[] = {0.0f, 1.0f};
    static const uint8_t label[] = {1, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(prob, label, 2, &m), 0);
    assert_near(m.log_loss, 8.0590479, 1e-5);
}


static void test_metrics_empty(void **state)
{
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(NULL, NULL, 0, &m), 0);
    assert_int_equal(m.n, 0);
    assert_true(isnan(m.accuracy));
    assert_true(isnan(m.balanced_accuracy));
    assert_true(isnan(m.auc));
    assert_true(isnan(m.log_loss));
    assert_true(isnan(m.macro_f1));
    assert_true(isnan(m.brier));
    assert_true(isnan(m.binomial_p));
}


static void test_metrics_invalid(void **state)
{
    static const float bad_prob[] = {0.2f, 1.5f};
    static const float nan_prob[] = {NAN, 0.5f};
    static const float prob[] = {0.2f, 0.5f};
    static const uint8_t bad_label[] = {0, 2};
    static const uint8_t label[] = {0, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(bad_prob, label, 2, &m), OHLCX_EINVAL);
    assert_int_equal(ohlcx_metrics_compute(nan_prob, label, 2, &m), OHLCX_EINVAL);
    assert_int_equal(ohlcx_metrics_compute(prob, bad_label, 2, &m), OHLCX_EINVAL);
    assert_int_equal(ohlcx_metrics_compute(NULL, label, 2, &m), OHLCX_EINVAL);
    assert_int_equal(ohlcx_metrics_compute(prob, label, 2, NULL), OHLCX_EINVAL);
}


/* The rank-sum AUC equals the share of positive-negative pairs ordered
 * correctly (ties one half), counted pair by pair on 300 rows with many
 * ties (probabilities on a grid of 1/20). */
static void test_auc_matches_pairs(void **state)
{
    enum { N = 300 };
    float prob[N];
    uint8_t label[N];
    uint64_t seed = 5;
    double wins = 0, pairs = 0;
    ohlcx_metrics m;

    (void)state;
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        prob[i] = (float)((seed >> 33) % 21) / 20.0f;
        label[i] = (uint8_t)((seed >> 20) & 1);
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            if (!label[i] || label[j])
                continue;
            pairs += 1;
            if (prob[i] > prob[j])
                wins += 1;
            else if (prob[i] == prob[j])
                wins += 0.5;
        }
    }
    assert_int_equal(ohlcx_metrics_compute(prob, label, N, &m), 0);
    assert_true(fabs(m.auc - wins / pairs) < 1e-12);
}


/* Same rows as test_metrics_hand. Confusion: TP 1 (0.8), FN 1 (0.35),
 * TN 2, FP 0. F1 of class 1 = 2 / (2 + 0 + 1) = 2/3, of class 0 =
 * 4 / (4 + 1 + 0) = 0.8, macro-F1 0.7333333.
 * Brier: (0.01 + 0.16 + 0.4225 + 0.04) / 4 = 0.158125.
 * Classes are 2 and 2, so majority_share 0.5, and 3 correct of 4 gives
 * P(X >= 3 | 4, 0.5) = 5 / 16 = 0.3125. */
static void test_metrics_hand_extra(void **state)
{
    static const float prob[] = {0.1f, 0.4f, 0.35f, 0.8f};
    static const uint8_t label[] = {0, 0, 1, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(prob, label, 4, &m), 0);
    assert_int_equal(m.true_positives, 1);
    assert_int_equal(m.false_negatives, 1);
    assert_int_equal(m.true_negatives, 2);
    assert_int_equal(m.false_positives, 0);
    assert_near(m.macro_f1, 0.7333333, EPS);
    assert_near(m.brier, 0.158125, EPS);
    assert_near(m.majority_share, 0.5, EPS);
    assert_near(m.binomial_p, 0.3125, 1e-12);
    assert_true(isnan(m.ic));
    assert_true(isnan(m.rank_ic));
}


/* Bins of 0.1, 0.4, 0.35, 0.8 are 1, 4, 3 and 8; 0.0 falls in bin 0 and 1.0
 * in bin 9. Bin 4 holds 0.4 and 0.45 with labels 0 and 1: mean
 * probability 0.425, up share 0.5. */
static void test_calibration_bins(void **state)
{
    static const float prob[] = {0.1f, 0.4f, 0.35f, 0.8f, 0.0f, 1.0f, 0.45f};
    static const uint8_t label[] = {0, 0, 1, 1, 0, 1, 1};
    static const size_t counts[OHLCX_CALIBRATION_BINS] = {1, 1, 0, 1, 2, 0, 0, 0, 1, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(prob, label, 7, &m), 0);
    for (int bin = 0; bin < OHLCX_CALIBRATION_BINS; bin++)
        assert_int_equal(m.calibration[bin].count, counts[bin]);
    assert_near(m.calibration[4].mean_prob, 0.425, EPS);
    assert_near(m.calibration[4].up_share, 0.5, EPS);
    assert_near(m.calibration[3].up_share, 1, EPS);
    assert_near(m.calibration[9].mean_prob, 1, EPS);
    assert_near(m.calibration[0].up_share, 0, EPS);
    assert_true(isnan(m.calibration[2].mean_prob));
    assert_true(isnan(m.calibration[2].up_share));
}


/* Only class 1 in the labels and every row predicted up: F1 of class 1 is
 * 2 * 3 / (6 + 0 + 0) = 1, class 0 is neither label nor prediction and is
 * left out, so macro-F1 1. With a class-0 prediction (0.2) F1 of class 1
 * is 4 / (4 + 0 + 1) = 0.8 and of class 0 is 0 / (0 + 1 + 0) = 0, so 0.4. */
static void test_macro_f1_absent_class(void **state)
{
    static const float all_up[] = {0.7f, 0.6f, 0.9f};
    static const float one_down[] = {0.7f, 0.2f, 0.9f};
    static const uint8_t label[] = {1, 1, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute(all_up, label, 3, &m), 0);
    assert_near(m.macro_f1, 1, EPS);
    assert_near(m.majority_share, 1, EPS);
    assert_near(m.binomial_p, 1, EPS);
    assert_int_equal(ohlcx_metrics_compute(one_down, label, 3, &m), 0);
    assert_near(m.macro_f1, 0.4, EPS);
}


/* prob 0.2, 0.4, 0.6, 0.8 against returns -1, 0, 5, 1.
 * Pearson: deviations -0.3, -0.1, 0.1, 0.3 and -2.25, -1.25, 3.75, -0.25;
 * sxy = 0.675 + 0.125 + 0.375 - 0.075 = 1.1, sxx = 0.2, syy = 20.75,
 * IC = 1.1 / sqrt(4.15) = 0.5399686.
 * Ranks 1 2 3 4 against 1 2 4 3: d^2 sums to 2, rho = 1 - 6 * 2 / 60 = 0.8. */
static void test_ic_hand(void **state)
{
    static const float prob[] = {0.2f, 0.4f, 0.6f, 0.8f};
    static const uint8_t label[] = {0, 0, 1, 1};
    static const double ret[] = {-1, 0, 5, 1};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute_ex(prob, label, ret, 4, &m), 0);
    assert_near(m.ic, 0.5399686, EPS);
    assert_near(m.rank_ic, 0.8, EPS);
    assert_near(m.accuracy, 1, EPS);
}


/* Ties share ranks: prob 0.3, 0.3, 0.7, 0.9 rank 1.5, 1.5, 3, 4; returns
 * 1, 2, 2, 3 rank 1, 2.5, 2.5, 4. Deviations from 2.5: -1, -1, 0.5, 1.5 and
 * -1.5, 0, 0, 1.5; rank IC = 3.75 / sqrt(4.5 * 4.5) = 0.8333333. */
static void test_rank_ic_ties(void **state)
{
    static const float prob[] = {0.3f, 0.3f, 0.7f, 0.9f};
    static const uint8_t label[] = {0, 1, 1, 1};
    static const double ret[] = {1, 2, 2, 3};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute_ex(prob, label, ret, 4, &m), 0);
    assert_near(m.rank_ic, 0.8333333, EPS);
}


/* A constant side has no correlation; a non-finite return is rejected. */
static void test_ic_undefined(void **state)
{
    static const float prob[] = {0.3f, 0.6f, 0.7f};
    static const uint8_t label[] = {0, 1, 1};
    static const double flat[] = {2, 2, 2};
    static const double bad[] = {1, INFINITY, 2};
    ohlcx_metrics m;

    (void)state;
    assert_int_equal(ohlcx_metrics_compute_ex(prob, label, flat, 3, &m), 0);
    assert_true(isnan(m.ic));
    assert_true(isnan(m.rank_ic));
    assert_int_equal(ohlcx_metrics_compute_ex(prob, label, bad, 3, &m), OHLCX_EINVAL);
    assert_int_equal(ohlcx_metrics_compute_ex(prob, label, flat, 1, &m), 0);
    assert_true(isnan(m.ic));
}


/* Groups 1, 0, 1, 2 (group 2 has one row, group 3 none). Group 1 gets rows
 * 0 and 2, prob 0.9 and 0.2 with labels 1 and 1: accuracy 0.5. Group 0 gets
 * row 1 alone, 0.3 against 0: accuracy 1. */
static void test_metrics_groups(void **state)
{
    static const float prob[] = {0.9f, 0.3f, 0.2f, 0.6f};
    static const uint8_t label[] = {1, 0, 1, 0};
    static const uint32_t group[] = {1, 0, 1, 2};
    static const uint32_t bad_group[] = {1, 0, 4, 2};
    ohlcx_metrics m[4];

    (void)state;
    assert_int_equal(ohlcx_metrics_compute_groups(prob, label, NULL, group, 4, 4, m), 0);
    assert_int_equal(m[0].n, 1);
    assert_near(m[0].accuracy, 1, EPS);
    assert_int_equal(m[1].n, 2);
    assert_near(m[1].accuracy, 0.5, EPS);
    assert_int_equal(m[1].false_negatives, 1);
    assert_int_equal(m[2].n, 1);
    assert_near(m[2].accuracy, 0, EPS);
    assert_int_equal(m[3].n, 0);
    assert_true(isnan(m[3].accuracy));
    assert_int_equal(ohlcx_metrics_compute_groups(prob, label, NULL, bad_group, 4, 4, m),
                     OHLCX_EINVAL);
}


/* Reference tails. Small n: exact sums of comb(n, i) p^i (1-p)^(n-i) with
 * Python's fractions.Fraction, which the regularised incomplete beta
 * function (mpmath.betainc, 40 digits) reproduces to 17 digits. n = 10^7:
 * mpmath at 40 digits, each mass from loggamma and the tail summed term by
 * term until a term falls below 1e-35 of the sum. */
typedef struct binomial_case {
    uint64_t k, n;
    double p0;
    double log_tail;
} binomial_case;

static const binomial_case binomial_cases[] = {
    {60, 100, 0.5, -3.5598192034469067},         /* p = 0.028443966820490396 */
    {40, 100, 0.5, -0.017756823491597705},       /* p = 0.98239989989114759 */
    {520, 1000, 0.51, -1.294659147501618},       /* p = 0.27399123901539755 */
    {900, 1000, 0.5, -371.1164211849318},        /* p = 6.7017177900062963e-162 */
    {5203000, 10000000, 0.52, -3.5470395615501878},
    {4999000, 10000000, 0.5, -0.30576641486580719},
    {5010000, 10000000, 0.5, -22.784945856044176},
    {5100000, 10000000, 0.5, -2005.1795602286531},
    {10000000, 10000000, 0.5, -6931471.8055994531},
    {5200000, 10000000, 0.52, -0.69289133108227561},
};


static void test_binomial_reference(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof binomial_cases / sizeof *binomial_cases; i++) {
        const binomial_case *c = &binomial_cases[i];
        double actual = ohlcx_binomial_log_tail(c->k, c->n, c->p0);

        /* relative error of the p-value below 1e-9 */
        assert_near(actual, c->log_tail, 1e-9 * fmax(1, fabs(c->log_tail)));
    }
    assert_near(ohlcx_binomial_tail(60, 100, 0.5), 0.028443966820490396, 1e-15);
    assert_near(ohlcx_binomial_tail(1, 10, 0.01), 0.09561792499119551, 1e-15);
    assert_near(ohlcx_binomial_tail(3, 4, 0.5), 0.3125, 1e-15);
}


static void test_binomial_edges(void **state)
{
    (void)state;
    assert_near(ohlcx_binomial_tail(0, 10, 0.3), 1, 0);
    assert_near(ohlcx_binomial_tail(0, 0, 0.3), 1, 0);
    assert_near(ohlcx_binomial_tail(11, 10, 0.3), 0, 0);
    assert_near(ohlcx_binomial_tail(1, 10, 0), 0, 0);
    assert_near(ohlcx_binomial_tail(10, 10, 1), 1, 0);
    assert_near(ohlcx_binomial_tail(10, 10, 0.5), 1.0 / 1024, 1e-18);
    assert_true(isnan(ohlcx_binomial_tail(1, 10, 1.5)));
    assert_true(isnan(ohlcx_binomial_tail(1, 10, NAN)));
}


/* Labels are fair coin flips drawn independently of uniformly random
 * probabilities (seed 7), so the model has no skill: its accuracy must lie
 * within three standard errors, 3 * sqrt(0.25 / n), of 0.5, and the test
 * against the majority share must not reject at 1%. */
static void test_coin_flip_is_chance(void **state)
{
    enum { N = 20000 };
    static float prob[N];
    static uint8_t label[N];
    static double ret[N];
    uint64_t seed = 7;
    ohlcx_metrics m;

    (void)state;
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        prob[i] = (float)(seed >> 40) / (float)(1 << 24);
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        label[i] = (uint8_t)(seed >> 63);
        ret[i] = label[i] ? 0.01 : -0.01;
    }
    assert_int_equal(ohlcx_metrics_compute_ex(prob, label, ret, N, &m), 0);
    assert_true(fabs(m.accuracy - 0.5) <= 3 * sqrt(0.25 / N));
    assert_true(m.binomial_p > 0.01);
    assert_true(fabs(m.auc - 0.5) <= 3 * sqrt(1.0 / (3 * N)));
    assert_true(fabs(m.ic) <= 3 / sqrt((double)N));
    assert_true(fabs(m.rank_ic) <= 3 / sqrt((double)N));
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_hand),
        cmocka_unit_test(test_auc_ties),
        cmocka_unit_test(test_auc_all_tied),
        cmocka_unit_test(test_auc_reversed),
        cmocka_unit_test(test_metrics_single_class),
        cmocka_unit_test(test_log_loss_clipped),
        cmocka_unit_test(test_metrics_empty),
        cmocka_unit_test(test_metrics_invalid),
        cmocka_unit_test(test_auc_matches_pairs),
        cmocka_unit_test(test_metrics_hand_extra),
        cmocka_unit_test(test_calibration_bins),
        cmocka_unit_test(test_macro_f1_absent_class),
        cmocka_unit_test(test_ic_hand),
        cmocka_unit_test(test_rank_ic_ties),
        cmocka_unit_test(test_ic_undefined),
        cmocka_unit_test(test_metrics_groups),
        cmocka_unit_test(test_binomial_reference),
        cmocka_unit_test(test_binomial_edges),
        cmocka_unit_test(test_coin_flip_is_chance),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
