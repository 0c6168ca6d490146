/*
 * Unit tests for data parallelism over the mini-batch (src/nn/parallel.c):
 * training, validation, loss and prediction split between T threads, on
 * both convolution kernels and in bf16 where the CPU has it.
 *
 * The thread count is OpenBLAS's, set here with openblas_set_num_threads().
 *
 * Tolerances. With T > 1 each shard sums its own samples' gradient
 * contributions and the T sums are added in shard order, so a gradient
 * differs from the single-threaded one only in the order of float32
 * additions. Over N terms that moves it by about sqrt(N) 2^-24 of the
 * terms' magnitudes (N 2^-24 at worst), about 3e-6 for the N = 64 samples
 * x 28 positions of conv1 here. Adam divides the first moment by the square
 * root of the second, so a step moves a weight by about learning_rate =
 * 1e-3 at most, and a relative gradient error e changes the step by about
 * e of it. The 8 steps of two epochs then leave the weights within about
 * 8 x 1e-3 x 3e-6 = 2.4e-8 of each other. The checks allow 1e-5 relative
 * to max(|w|, 0.01), so at least 1e-7. The largest difference measured on
 * these networks was 2e-6 relative. In bf16, conv1's output is rounded to
 * 8 significant bits after a float32 sum whose order depends on the batch
 * size, so a value near a rounding boundary can round the other way (a
 * change of 2^-8 of it). The bf16 check allows 1e-3 relative.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/nn.h"
#include "test_nn_helpers.h"

#define N_TRAIN 200 /* three batches of 64 and a partial one of 8 */
#define N_VAL 300   /* one chunk of 256 and a partial one of 44 */
#define CHANNELS 5
#define WINDOW 32
#define SAMPLE (CHANNELS * WINDOW)


/* Fills n windows of standard normal features (splitmix64, then Box-Muller),
 * labelled 1 when channel 0 of the last bar is positive. */
static void make_windows(float *x, float *y, size_t n, uint64_t seed)
{
    uint64_t state = seed;

    for (size_t s = 0; s < n; s++) {
        float *window = x + s * SAMPLE;

        for (size_t i = 0; i < SAMPLE; i += 2) {
            double u1 = 1.0 - splitmix64_uniform(&state);
            double u2 = splitmix64_uniform(&state);
            double r = sqrt(-2.0 * log(u1));

            window[i] = (float)(r * cos(2.0 * M_PI * u2));
            window[i + 1] = (float)(r * sin(2.0 * M_PI * u2));
        }
        y[s] = window[WINDOW - 1] > 0.0f ? 1.0f : 0.0f;
    }
}


/* Two stages of 16 and 32 filters, which oneDNN serves. */
static ohlcx_cnn_config two_stage_config(void)
{
    ohlcx_cnn_config c;

    ohlcx_cnn_config_default(&c);
    c.window = WINDOW;
    c.conv[0].filters = 16;
    c.conv[1].filters = 32;
    c.hidden = 8;
    return c;
}


typedef struct fixture {
    float x[N_TRAIN * SAMPLE];
    float y[N_TRAIN];
    float x_val[N_VAL * SAMPLE];
    float y_val[N_VAL];
} fixture;


static int setup(void **state)
{
    fixture *f = malloc(sizeof *f);

    if (f == NULL)
        return -1;
    make_windows(f->x, f->y, N_TRAIN, 11);
    make_windows(f->x_val, f->y_val, N_VAL, 12);
    *state = f;
    return 0;
}


static int teardown(void **state)
{
    free(*state);
    nn_set_kernels(NN_KERNELS_DNNL);
    ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_FP32);
    openblas_set_num_threads(1);
    return 0;
}


/* Trains a fresh network of config c for epochs epochs at the given thread
 * count, with validation when with_val is set. */
static ohlcx_cnn *train_at(const fixture *f, const ohlcx_cnn_config *c,
                           int threads, int epochs, int with_val,
                           ohlcx_cnn_history *history)
{
    ohlcx_cnn_train_options o;
    ohlcx_cnn *cnn = ohlcx_cnn_create(c, 5);

    assert_non_null(cnn);
    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 64;
    o.max_epochs = epochs;
    o.patience = epochs;
    o.seed = 9;
    openblas_set_num_threads(threads);
    assert_int_equal(ohlcx_cnn_train(cnn, f->x, f->y, N_TRAIN,
                                     with_val ? f->x_val : NULL,
                                     with_val ? f->y_val : NULL,
                                     with_val ? N_VAL : 0, &o, history),
                     OHLCX_OK);
    return cnn;
}


/* Returns the largest |a - b| / max(|a|, 0.01) over every weight. */
static double weight_difference(ohlcx_cnn *a, ohlcx_cnn *b)
{
    double worst = 0.0;

    for (int i = 0; i < ohlcx_cnn_param_count(a); i++) {
        size_t size;
        const float *pa = ohlcx_cnn_param(a, i, &size);
        const float *pb = ohlcx_cnn_param(b, i, NULL);

        for (size_t k = 0; k < size; k++) {
            double scale = fmax(fabs(pa[k]), 0.01);
            double d = fabs((double)pa[k] - (double)pb[k]) / scale;

            if (d > worst)
                worst = d;
        }
    }
    return worst;
}


/* Trains c at 1 thread and twice at 2 threads. The two 2-thread runs must
 * agree bit for bit and stay within tolerance of the 1-thread run. The
 * weights must also have moved, so that the agreement is not that of
 * untrained networks. */
static void check_two_threads(const fixture *f, const ohlcx_cnn_config *c,
                              double tolerance)
{
    ohlcx_cnn *initial = ohlcx_cnn_create(c, 5);
    ohlcx_cnn *one_thread = train_at(f, c, 1, 2, 0, NULL);
    ohlcx_cnn *two = train_at(f, c, 2, 2, 0, NULL);
    ohlcx_cnn *again = train_at(f, c, 2, 2, 0, NULL);

    assert_non_null(initial);
    assert_true(same_weights(two, again));
    assert_true(weight_difference(one_thread, two) <= tolerance);
    assert_true(weight_difference(initial, one_thread) > 1e-3);

    ohlcx_cnn_free(initial);
    ohlcx_cnn_free(one_thread);
    ohlcx_cnn_free(two);
    ohlcx_cnn_free(again);
}


static void parallel_train_sgemm(void **state)
{
    ohlcx_cnn_config c = two_stage_config();

    nn_set_kernels(NN_KERNELS_SGEMM);
    check_two_threads(*state, &c, 1e-5);
}


static void parallel_train_dnnl(void **state)
{
    ohlcx_cnn_config c = two_stage_config();

    nn_set_kernels(NN_KERNELS_DNNL);
    check_two_threads(*state, &c, 1e-5);
}


static void parallel_train_dnnl_bf16(void **state)
{
    ohlcx_cnn_config c = two_stage_config();

    nn_set_kernels(NN_KERNELS_DNNL);
    if (ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_BF16) != OHLCX_OK)
        skip();
    check_two_threads(*state, &c, 1e-3);
    ohlcx_cnn_set_precision(OHLCX_CNN_PRECISION_FP32);
}


/* Three stages with dilation and pooling run on sgemm. Three threads split
 * a batch of 64 into 21, 21 and 22 samples and the last batch of 8 into 2,
 * 3 and 3. */
static void parallel_train_three_threads(void **state)
{
    const fixture *f = *state;
    ohlcx_cnn_config c = two_stage_config();
    ohlcx_cnn *one_thread, *three, *again;

    c.conv_count = 3;
    c.conv[1].dilation = 2;
    c.conv[1].pool = 2;
    c.conv[2] = (ohlcx_cnn_conv){.filters = 8, .kernel = 3, .dilation = 1,
                                 .pool = 1};
    one_thread = train_at(f, &c, 1, 2, 0, NULL);
    three = train_at(f, &c, 3, 2, 0, NULL);
    again = train_at(f, &c, 3, 2, 0, NULL);

    assert_true(same_weights(three, again));
    assert_true(weight_difference(one_thread, three) <= 1e-5);

    ohlcx_cnn_free(one_thread);
    ohlcx_cnn_free(three);
    ohlcx_cnn_free(again);
}


/* Dropout masks are drawn for the whole batch in the single-threaded order,
 * so 2 threads drop the same activations as 1. Masks drawn per shard would
 * zero other activations and move the weights by far more than the
 * tolerance after two epochs. */
static void parallel_dropout_masks_match(void **state)
{
    ohlcx_cnn_config c = two_stage_config();

    c.dropout = 0.3f;
    check_two_threads(*state, &c, 1e-5);
}


/* With batch normalisation the steps stay single-threaded and only the
 * validation is split, so 2-thread runs are deterministic and the recorded
 * validation loss is that of ohlcx_cnn_loss() at 2 threads. */
static void parallel_batch_norm_validation(void **state)
{
    const fixture *f = *state;
    ohlcx_cnn_config c = two_stage_config();
    ohlcx_cnn_history first, second;
    ohlcx_cnn *a, *b;
    double loss;

    c.batch_norm = 1;
    a = train_at(f, &c, 2, 3, 1, &first);
    b = train_at(f, &c, 2, 3, 1, &second);
    loss = ohlcx_cnn_loss(a, f->x_val, f->y_val, N_VAL);

    assert_true(same_weights(a, b));
    assert_true((float)loss == first.val_loss[first.best_epoch - 1]);
    assert_int_equal(openblas_get_num_threads(), 2);

    ohlcx_cnn_free(a);
    ohlcx_cnn_free(b);
}


/* Validation splits every chunk between the threads as ohlcx_cnn_loss()
 * does, so the best recorded validation loss equals ohlcx_cnn_loss() on the
 * kept weights bit for bit. The loss at 2 threads is within 1e-5 of that
 * at 1, because only the summation order differs. */
static void parallel_validation_matches_loss(void **state)
{
    const fixture *f = *state;
    ohlcx_cnn_config c = two_stage_config();
    ohlcx_cnn_history history;
    ohlcx_cnn *cnn = train_at(f, &c, 2, 3, 1, &history);
    double two = ohlcx_cnn_loss(cnn, f->x_val, f->y_val, N_VAL);
    double one_thread;

    assert_true((float)two == history.val_loss[history.best_epoch - 1]);
    openblas_set_num_threads(1);
    one_thread = ohlcx_cnn_loss(cnn, f->x_val, f->y_val, N_VAL);
    assert_true(fabs(one_thread - two) <= 1e-5 * one_thread);

    ohlcx_cnn_free(cnn);
}


/* Prediction of 600 samples (two full chunks and one of 88) at 2 threads
 * returns what it returns at 1, probability and embedding, up to rounding.
 * Each shard's sgemm has fewer rows, and OpenBLAS 0.3.21 can round a row
 * differently then. On this data the embeddings (up to 4.1 in size) moved
 * by up to 1.1e-6 and the probabilities by 1.8e-7, on either kernels. The
 * checks allow 1e-5 and 1e-6. */
static void parallel_predict_matches(void **state)
{
    const fixture *f = *state;
    enum { N = 600, H = 8 };
    ohlcx_cnn_config c = two_stage_config();
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 3);
    float *x = malloc(N * SAMPLE * sizeof *x);
    float *y = malloc(N * sizeof *y);
    float *prob[2], *embedding[2];
    (void)f;

    assert_true(cnn && x && y);
    make_windows(x, y, N, 21);
    for (int t = 0; t < 2; t++) {
        prob[t] = malloc(N * sizeof(float));
        embedding[t] = malloc(N * H * sizeof(float));
        assert_true(prob[t] && embedding[t]);
        openblas_set_num_threads(t + 1);
        assert_int_equal(ohlcx_cnn_predict(cnn, x, N, prob[t], embedding[t]),
                         OHLCX_OK);
    }

    for (int s = 0; s < N; s++) {
        assert_float_equal(prob[0][s], prob[1][s], 1e-6f);
        for (int k = 0; k < H; k++)
            assert_float_equal(embedding[0][s * H + k],
                               embedding[1][s * H + k], 1e-5f);
    }
    assert_int_equal(openblas_get_num_threads(), 2);

    for (int t = 0; t < 2; t++) {
        free(prob[t]);
        free(embedding[t]);
    }
    free(x);
    free(y);
    ohlcx_cnn_free(cnn);
}


/* One step on 2 shards leaves in grads the gradient of the batch's mean
 * loss: that of ohlcx_cnn_gradients() on the same 50 samples, to float
 * summation order (1e-5 of the block's largest gradient). */
static void parallel_step_gradient(void **state)
{
    const fixture *f = *state;
    ohlcx_cnn_config c = two_stage_config();
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 4);
    size_t params;
    float *serial;
    nn_parallel *p;
    nn_rng rng;
    double loss_sum, loss;

    assert_non_null(cnn);
    params = cnn->offset[cnn->block_count];
    serial = malloc(params * sizeof *serial);
    assert_non_null(serial);
    openblas_set_num_threads(1);
    assert_int_equal(ohlcx_cnn_gradients(cnn, f->x, f->y, 50, &loss),
                     OHLCX_OK);
    memcpy(serial, cnn->grads, params * sizeof *serial);
    memset(cnn->grads, 0, params * sizeof *cnn->grads);

    nn_rng_seed(&rng, 1);
    assert_int_equal(nn_parallel_create(&p, cnn, 2, 64, 1), OHLCX_OK);
    assert_int_equal(nn_parallel_shards(p), 2);
    assert_int_equal(nn_parallel_train_step(p, cnn, f->x, f->y, NULL, 50,
                                            &rng, &loss_sum),
                     OHLCX_OK);
    nn_parallel_free(p);

    assert_true(fabs(loss_sum / 50 - loss) <= 1e-6 * loss);
    for (int b = 0; b < cnn->block_count; b++) {
        float largest = 0.0f;

        for (size_t i = cnn->offset[b]; i < cnn->offset[b + 1]; i++)
            largest = fmaxf(largest, fabsf(serial[i]));
        assert_true(largest > 0.0f);
        for (size_t i = cnn->offset[b]; i < cnn->offset[b + 1]; i++)
            assert_float_equal(cnn->grads[i], serial[i], 1e-5f * largest);
    }

    free(serial);
    ohlcx_cnn_free(cnn);
}


/* A batch smaller than the thread count runs one sample per shard and
 * leaves the other shards empty. */
static void parallel_batch_below_threads(void **state)
{
    const fixture *f = *state;
    ohlcx_cnn_config c = two_stage_config();
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 4);
    nn_parallel *p;
    nn_rng rng;
    double loss_sum, loss;

    assert_non_null(cnn);
    openblas_set_num_threads(1);
    assert_int_equal(ohlcx_cnn_gradients(cnn, f->x, f->y, 2, &loss),
                     OHLCX_OK);
    nn_rng_seed(&rng, 1);
    assert_int_equal(nn_parallel_create(&p, cnn, 4, 8, 1), OHLCX_OK);
    assert_int_equal(nn_parallel_train_step(p, cnn, f->x, f->y, NULL, 2,
                                            &rng, &loss_sum),
                     OHLCX_OK);
    assert_true(fabs(loss_sum / 2 - loss) <= 1e-6 * loss);
    nn_parallel_free(p);
    ohlcx_cnn_free(cnn);
}


/* nn_parallel_create() needs two threads and two samples, and a batch
 * beyond the capacity fails with a message that names its size. */
static void parallel_rejects_bad_sizes(void **state)
{
    const fixture *f = *state;
    ohlcx_cnn_config c = two_stage_config();
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 4);
    nn_parallel *p = NULL;
    nn_rng rng;
    double loss_sum;

    assert_non_null(cnn);
    assert_int_equal(nn_parallel_create(&p, cnn, 1, 64, 1), OHLCX_EINVAL);
    assert_null(p);
    assert_int_equal(nn_parallel_create(&p, cnn, 2, 1, 1), OHLCX_EINVAL);
    assert_int_equal(nn_parallel_create(&p, cnn, 2, 16, 1), OHLCX_OK);
    nn_rng_seed(&rng, 1);
    assert_int_equal(nn_parallel_train_step(p, cnn, f->x, f->y, NULL, 17,
                                            &rng, &loss_sum),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "17 samples"));
    nn_parallel_free(p);
    ohlcx_cnn_free(cnn);
}


/* Reads OpenBLAS's thread count from inside a training. */
static void record_threads(void *context, int epoch, int max_epochs,
                           size_t done, size_t total)
{
    int *threads = context;

    (void)epoch;
    (void)max_epochs;
    (void)done;
    (void)total;
    *threads = openblas_get_num_threads();
}


/* While the shards train, OpenBLAS runs on one thread, so that T threads
 * run in all. Afterwards its count is back to T. */
static void parallel_restores_blas_threads(void **state)
{
    const fixture *f = *state;
    ohlcx_cnn_config c = two_stage_config();
    ohlcx_cnn_train_options o;
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 5);
    int inside = 0;

    assert_non_null(cnn);
    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 64;
    o.max_epochs = 1;
    o.progress = record_threads;
    o.progress_context = &inside;
    openblas_set_num_threads(2);
    assert_int_equal(ohlcx_cnn_train(cnn, f->x, f->y, N_TRAIN, NULL, NULL, 0,
                                     &o, NULL),
                     OHLCX_OK);
    assert_int_equal(inside, 1);
    assert_int_equal(openblas_get_num_threads(), 2);
    ohlcx_cnn_free(cnn);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parallel_train_sgemm),
        cmocka_unit_test(parallel_train_dnnl),
        cmocka_unit_test(parallel_train_dnnl_bf16),
        cmocka_unit_test(parallel_train_three_threads),
        cmocka_unit_test(parallel_dropout_masks_match),
        cmocka_unit_test(parallel_batch_norm_validation),
        cmocka_unit_test(parallel_validation_matches_loss),
        cmocka_unit_test(parallel_predict_matches),
        cmocka_unit_test(parallel_step_gradient),
        cmocka_unit_test(parallel_batch_below_threads),
        cmocka_unit_test(parallel_rejects_bad_sizes),
        cmocka_unit_test(parallel_restores_blas_threads),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
