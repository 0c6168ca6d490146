/*
 * Unit tests for the CNN's oneDNN kernels against the im2col + sgemm ones:
 * forward outputs and gradients in float32, forward outputs in bf16,
 * determinism, and batch sizes that outnumber the plans a workspace keeps.
 * The finite-difference gradient checks of test_nn.c also run on oneDNN.
 *
 * Tolerances. Both paths compute every convolution output as a float32 sum
 * of K = C k1 = 25 (conv1) or k2 f1 = 160 (conv2) products in a different
 * order. Reordering a float32 sum of K terms moves it by at most about
 * K 2^-24 times the sum of the terms' magnitudes, 1e-5 of it for K = 160,
 * and the three layers after conv1 add their own. The checks allow 1e-4
 * relative to the largest magnitude of each compared array, ten times that
 * bound. bf16 keeps 8 significant bits, so rounding the inputs and weights
 * moves each product by up to 2^-8 of its size. Errors of random sign over K
 * terms leave a few tenths of a percent of the output (0.4% measured on the
 * default network). A probability moves by at most 0.25 (the sigmoid's
 * largest slope) times the logit's change. The bf16 checks allow 2e-2
 * relative error and 5e-3 in a probability.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/nn.h"
#include "test_nn_helpers.h"

#ifndef OHLCX_HAVE_DNNL
#include <stdio.h>

int main(void)
{
    puts("test_nn_dnnl: built without oneDNN, nothing to test");
    return 0;
}
#else

#define SAMPLES 300 /* one chunk of 256 and a partial one of 44 */


/* Fills x with n standard normal values: splitmix64, then Box-Muller. */
static void fill_splitmix_normal(float *x, size_t n, uint64_t seed)
{
    uint64_t state = seed;

    for (size_t i = 0; i < n; i++) {
        double u1 = 1.0 - splitmix64_uniform(&state);
        double u2 = splitmix64_uniform(&state);

        x[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
}


static size_t sample_floats(const ohlcx_cnn_config *c)
{
    return (size_t)c->channels * (size_t)c->window;
}


/* Returns the largest |a[i] - b[i]| over the largest |b[i]|. */
static double relative_difference(const float *a, const float *b, size_t n)
{
    double largest = 0.0, difference = 0.0;

    for (size_t i = 0; i < n; i++) {
        largest = fmax(largest, fabs((double)b[i]));
        difference = fmax(difference, fabs((double)a[i] - (double)b[i]));
    }
    return largest > 0.0 ? difference / largest : difference;
}


static double max_difference(const float *a, const float *b, size_t n)
{
    double difference = 0.0;

    for (size_t i = 0; i < n; i++)
        difference = fmax(difference, fabs((double)a[i] - (double)b[i]));
    return difference;
}


/* Predicts SAMPLES windows with the given kernels and precision. */
static void predict_with(const ohlcx_cnn *cnn, const float *x,
                         enum nn_kernels kernels,
                         ohlcx_cnn_precision precision, float *prob,
                         float *embedding)
{
    nn_set_kernels(kernels);
    assert_int_equal(ohlcx_cnn_set_precision(precision), OHLCX_OK);
    assert_int_equal(ohlcx_cnn_predict(cnn, x, SAMPLES, prob, embedding),
                     OHLCX_OK);
}


/* Test networks: the default architecture, and one whose filter counts
 * are no multiple of oneDNN's 16-channel blocks, so its layouts are padded. */
static ohlcx_cnn_config default_config(void)
{
    ohlcx_cnn_config c;

    ohlcx_cnn_config_default(&c);
    return c;
}


static ohlcx_cnn_config odd_config(void)
{
    ohlcx_cnn_config c = {
        .channels = 3, .window = 20, .conv[0].kernel = 3, .conv[0].filters = 10,
        .conv[1].kernel = 4, .conv[1].filters = 12, .hidden = 6,
    };

    set_two_plain_stages(&c);
    return c;
}


static void check_forward_matches(const ohlcx_cnn_config *c)
{
    size_t hidden = (size_t)c->hidden;
    float *x = malloc(SAMPLES * sample_floats(c) * sizeof *x);
    float *prob_sgemm = malloc(SAMPLES * sizeof(float));
    float *prob_dnnl = malloc(SAMPLES * sizeof(float));
    float *emb_sgemm = malloc(SAMPLES * hidden * sizeof(float));
    float *emb_dnnl = malloc(SAMPLES * hidden * sizeof(float));
    ohlcx_cnn *cnn = ohlcx_cnn_create(c, 5);

    assert_true(x && prob_sgemm && prob_dnnl && emb_sgemm && emb_dnnl && cnn);
    fill_splitmix_normal(x, SAMPLES * sample_floats(c), 3);
    predict_with(cnn, x, NN_KERNELS_SGEMM, OHLCX_CNN_PRECISION_FP32,
                 prob_sgemm, emb_sgemm);
    predict_with(cnn, x, NN_KERNELS_DNNL, OHLCX_CNN_PRECISION_FP32, prob_dnnl,
                 emb_dnnl);

    assert_true(relative_difference(emb_dnnl, emb_sgemm, SAMPLES * hidden) <
                1e-4);
    assert_true(max_difference(prob_dnnl, prob_sgemm, SAMPLES) < 1e-5);

    free(x);
    free(prob_sgemm);
    free(prob_dnnl);
    free(emb_sgemm);
    free(emb_dnnl);
    ohlcx_cnn_free(cnn);
}


static void forward_matches_sgemm(void **state)
{
    ohlcx_cnn_config c = default_config();
    (void)state;

    check_forward_matches(&c);
}


static void forward_matches_sgemm_padded(void **state)
{
    ohlcx_cnn_config c = odd_config();
    (void)state;

    check_forward_matches(&c);
}


/* Computes the gradients of n samples with the given kernels into grads
 * (a copy of every block, back to back). */
static void gradients_with(ohlcx_cnn *cnn, const float *x, const float *y,
                           size_t n, enum nn_kernels kernels, float *grads)
{
    size_t offset = 0;

    nn_set_kernels(kernels);
    assert_int_equal(ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_FP32),
                     OHLCX_OK);
    assert_int_equal(ohlcx_cnn_gradients(cnn, x, y, n, NULL), OHLCX_OK);
    for (int b = 0; b < ohlcx_cnn_param_count(cnn); b++) {
        size_t size;

        ohlcx_cnn_param(cnn, b, &size);
        memcpy(grads + offset, ohlcx_cnn_grad(cnn, b), size * sizeof *grads);
        offset += size;
    }
}


static void check_gradients_match(const ohlcx_cnn_config *c)
{
    enum { N = 96 };
    float *x = malloc(N * sample_floats(c) * sizeof *x);
    float y[N];
    ohlcx_cnn *cnn = ohlcx_cnn_create(c, 9);
    size_t total = (size_t)cnn->offset[cnn->block_count];
    float *g_sgemm = malloc(total * sizeof(float));
    float *g_dnnl = malloc(total * sizeof(float));
    size_t offset = 0;

    assert_true(x && cnn && g_sgemm && g_dnnl);
    fill_splitmix_normal(x, N * sample_floats(c), 4);
    for (int s = 0; s < N; s++)
        y[s] = (float)(s % 3 == 0);

    gradients_with(cnn, x, y, N, NN_KERNELS_SGEMM, g_sgemm);
    gradients_with(cnn, x, y, N, NN_KERNELS_DNNL, g_dnnl);
    for (int b = 0; b < ohlcx_cnn_param_count(cnn); b++) {
        size_t size;
        double difference;

        ohlcx_cnn_param(cnn, b, &size);
        difference = relative_difference(g_dnnl + offset, g_sgemm + offset,
                                         size);
        if (difference >= 1e-4)
            fail_msg("%s: relative difference %g", ohlcx_cnn_param_name(cnn, b),
                     difference);
        offset += size;
    }

    free(x);
    free(g_sgemm);
    free(g_dnnl);
    ohlcx_cnn_free(cnn);
}


static void gradients_match_sgemm(void **state)
{
    ohlcx_cnn_config c = default_config();
    (void)state;

    check_gradients_match(&c);
}


static void gradients_match_sgemm_padded(void **state)
{
    ohlcx_cnn_config c = odd_config();
    (void)state;

    check_gradients_match(&c);
}


/* Dilated stages run on oneDNN (the workspace gets its plans) and agree
 * with sgemm. Dilations 2 and 3 on a window of 20 leave 20 - 2 x 2 = 16,
 * then 16 - 3 x 3 = 7 positions. */
static void dilated_matches_sgemm(void **state)
{
    ohlcx_cnn_config c = odd_config();
    ohlcx_cnn *cnn;
    nn_workspace ws;
    (void)state;

    c.conv[0].dilation = 2;
    c.conv[1].dilation = 3;
    cnn = ohlcx_cnn_create(&c, 1);
    assert_non_null(cnn);
    nn_set_kernels(NN_KERNELS_DNNL);
    assert_int_equal(nn_workspace_init(&ws, cnn, 4, 1), OHLCX_OK);
    assert_non_null(ws.dnnl);
    nn_workspace_free(&ws);
    ohlcx_cnn_free(cnn);

    check_forward_matches(&c);
    check_gradients_match(&c);
}


/* bf16 stays within bf16 rounding of fp32, and differs from it, which
 * shows that the bf16 kernels ran. */
static void bf16_forward_near_fp32(void **state)
{
    ohlcx_cnn_config c = default_config();
    size_t hidden = (size_t)c.hidden;
    float *x = malloc(SAMPLES * sample_floats(&c) * sizeof *x);
    float prob_fp32[SAMPLES], prob_bf16[SAMPLES];
    float *emb_fp32 = malloc(SAMPLES * hidden * sizeof(float));
    float *emb_bf16 = malloc(SAMPLES * hidden * sizeof(float));
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 5);
    double difference;
    (void)state;

    if (!nn_dnnl_bf16_supported())
        skip();
    assert_true(x && emb_fp32 && emb_bf16 && cnn);
    fill_splitmix_normal(x, SAMPLES * sample_floats(&c), 3);
    predict_with(cnn, x, NN_KERNELS_DNNL, OHLCX_CNN_PRECISION_FP32, prob_fp32,
                 emb_fp32);
    predict_with(cnn, x, NN_KERNELS_DNNL, OHLCX_CNN_PRECISION_BF16, prob_bf16,
                 emb_bf16);
    assert_int_equal(ohlcx_cnn_get_precision(), OHLCX_CNN_PRECISION_BF16);

    difference = relative_difference(emb_bf16, emb_fp32, SAMPLES * hidden);
    assert_true(difference < 2e-2);
    assert_true(difference > 0.0);
    assert_true(max_difference(prob_bf16, prob_fp32, SAMPLES) < 5e-3);

    assert_int_equal(ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_FP32),
                     OHLCX_OK);
    free(x);
    free(emb_fp32);
    free(emb_bf16);
    ohlcx_cnn_free(cnn);
}


/* Trains 300 samples in batches of 64 (four full, one of 44) with a
 * validation set of 300 (chunks of 256 and 44) for two epochs. */
static ohlcx_cnn *train_mixed_sizes(const float *x, const float *y)
{
    ohlcx_cnn_config c = default_config();
    ohlcx_cnn_train_options o;
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 21);

    assert_non_null(cnn);
    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 64;
    o.max_epochs = 2;
    o.seed = 21;
    assert_int_equal(ohlcx_cnn_train(cnn, x, y, SAMPLES, x, y, SAMPLES, &o,
                                     NULL),
                     OHLCX_OK);
    return cnn;
}


static void check_training_deterministic(ohlcx_cnn_precision precision)
{
    ohlcx_cnn_config c = default_config();
    float *x = malloc(SAMPLES * sample_floats(&c) * sizeof *x);
    float y[SAMPLES];
    ohlcx_cnn *first, *second;
    size_t total;

    assert_non_null(x);
    fill_splitmix_normal(x, SAMPLES * sample_floats(&c), 8);
    for (int s = 0; s < SAMPLES; s++)
        y[s] = x[s * (int)sample_floats(&c) + c.window - 1] > 0.0f;
    nn_set_kernels(NN_KERNELS_DNNL);
    assert_int_equal(ohlcx_cnn_set_precision(precision), OHLCX_OK);

    first = train_mixed_sizes(x, y);
    second = train_mixed_sizes(x, y);
    total = first->offset[first->block_count];
    assert_memory_equal(first->params, second->params, total * sizeof(float));

    assert_int_equal(ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_FP32),
                     OHLCX_OK);
    free(x);
    ohlcx_cnn_free(first);
    ohlcx_cnn_free(second);
}


static void training_deterministic_fp32(void **state)
{
    (void)state;
    check_training_deterministic(OHLCX_CNN_PRECISION_FP32);
}


static void training_deterministic_bf16(void **state)
{
    (void)state;
    if (!nn_dnnl_bf16_supported())
        skip();
    check_training_deterministic(OHLCX_CNN_PRECISION_BF16);
}


/* One workspace runs six batch sizes, more than the plans it keeps, and
 * returns to earlier ones after they were replaced. Every logit matches a
 * sgemm workspace. */
static void plans_replaced_by_size(void **state)
{
    static const size_t sizes[] = {64, 1, 33, 64, 7, 50, 2, 64, 1};
    ohlcx_cnn_config c = default_config();
    float *x = malloc(64 * sample_floats(&c) * sizeof *x);
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 13);
    nn_workspace dnnl_ws, sgemm_ws;
    (void)state;

    assert_true(x && cnn);
    fill_splitmix_normal(x, 64 * sample_floats(&c), 6);
    nn_set_kernels(NN_KERNELS_SGEMM);
    assert_int_equal(nn_workspace_init(&sgemm_ws, cnn, 64, 0), OHLCX_OK);
    nn_set_kernels(NN_KERNELS_DNNL);
    assert_int_equal(nn_workspace_init(&dnnl_ws, cnn, 64, 0), OHLCX_OK);
    assert_non_null(dnnl_ws.dnnl);
    assert_null(sgemm_ws.dnnl);

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];

        assert_int_equal(nn_forward(cnn, &sgemm_ws, x, NULL, n, NULL), OHLCX_OK);
        assert_int_equal(nn_forward(cnn, &dnnl_ws, x, NULL, n, NULL), OHLCX_OK);
        for (size_t s = 0; s < n; s++)
            assert_float_equal(dnnl_ws.logit[s], sgemm_ws.logit[s],
                               1e-4f * (1.0f + fabsf(sgemm_ws.logit[s])));
    }

    nn_workspace_free(&sgemm_ws);
    nn_workspace_free(&dnnl_ws);
    free(x);
    ohlcx_cnn_free(cnn);
}


static void precision_parse_and_names(void **state)
{
    ohlcx_cnn_precision p = OHLCX_CNN_PRECISION_FP32;
    (void)state;

    assert_int_equal(ohlcx_cnn_parse_precision("auto", &p), OHLCX_OK);
    assert_int_equal(p, OHLCX_CNN_PRECISION_AUTO);
    assert_int_equal(ohlcx_cnn_parse_precision("bf16", &p), OHLCX_OK);
    assert_int_equal(p, OHLCX_CNN_PRECISION_BF16);
    assert_int_equal(ohlcx_cnn_parse_precision("fp16", &p), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "'fp16'"));
    assert_string_equal(ohlcx_cnn_precision_name(OHLCX_CNN_PRECISION_FP32),
                        "fp32");

    nn_set_kernels(NN_KERNELS_DNNL);
    assert_int_equal(ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_AUTO),
                     OHLCX_OK);
    assert_int_equal(ohlcx_cnn_get_precision(),
                     nn_dnnl_bf16_supported() ? OHLCX_CNN_PRECISION_BF16
                                              : OHLCX_CNN_PRECISION_FP32);
    assert_string_equal(ohlcx_cnn_kernels_name(), "onednn");

    /* The sgemm kernels have no bf16, so the precision in force is fp32. */
    nn_set_kernels(NN_KERNELS_SGEMM);
    assert_int_equal(ohlcx_cnn_get_precision(), OHLCX_CNN_PRECISION_FP32);
    assert_string_equal(ohlcx_cnn_kernels_name(), "sgemm");
    assert_int_equal(ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_FP32),
                     OHLCX_OK);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_matches_sgemm),
        cmocka_unit_test(forward_matches_sgemm_padded),
        cmocka_unit_test(gradients_match_sgemm),
        cmocka_unit_test(gradients_match_sgemm_padded),
        cmocka_unit_test(dilated_matches_sgemm),
        cmocka_unit_test(bf16_forward_near_fp32),
        cmocka_unit_test(training_deterministic_fp32),
        cmocka_unit_test(training_deterministic_bf16),
        cmocka_unit_test(plans_replaced_by_size),
        cmocka_unit_test(precision_parse_and_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
