/*
 * Eval: metrics on small hand-checked cases, ties, a single class, clipping,
 * n = 0 and invalid input.
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
