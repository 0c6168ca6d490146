/*
 * Unit tests for the CNN: gradients against finite differences of an
 * independent double-precision forward pass, the position-keeping readout,
 * learning a planted pattern, early stopping, determinism, prediction in
 * chunks, save/load, training from a sample source, and checkpoints.
 *
 * The tests set weights through the parameter block layouts listed in
 * include/ohlcx/nn.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/nn.h"
#include "test_nn_helpers.h"

enum {
    CONV1_W,
    CONV1_B,
    CONV2_W,
    CONV2_B,
    DENSE1_W,
    DENSE1_B,
    DENSE2_W,
    DENSE2_B,
    BLOCKS
};


static ohlcx_cnn_config tiny_config(void)
{
    ohlcx_cnn_config c = {
        .channels = 2,
        .window = 12,
        .conv[0].kernel = 5,
        .conv[0].filters = 3,
        .conv[1].kernel = 5,
        .conv[1].filters = 4,
        .hidden = 5,
    };

    set_two_plain_stages(&c);
    return c;
}


/* Largest sizes reference_loss() has room for: positions, filters of either
 * convolution, and hidden units. */
enum { REFERENCE_MAX_LENGTH = 64, REFERENCE_MAX_FILTERS = 8, REFERENCE_MAX_HIDDEN = 8 };


/*
 * Reference forward pass in double, written from the architecture in nn.h
 * with direct loops. Returns the mean binary cross-entropy over n samples and
 * records, in kinks, whether each pre-activation of every ReLU is positive,
 * so that a caller can tell when a perturbation crossed a kink.
 */
static double reference_loss(const ohlcx_cnn_config *c, double *const w[BLOCKS],
                             const float *x, const float *y, int n,
                             unsigned char *kinks)
{
    int l1 = c->window - c->conv[0].kernel + 1;
    int l2 = l1 - c->conv[1].kernel + 1;
    double a1[REFERENCE_MAX_LENGTH][REFERENCE_MAX_FILTERS];
    double a2[REFERENCE_MAX_LENGTH][REFERENCE_MAX_FILTERS];
    double readout[2 * REFERENCE_MAX_FILTERS], hidden[REFERENCE_MAX_HIDDEN];
    size_t k = 0;
    double loss = 0.0;

    for (int s = 0; s < n; s++) {
        const float *xs = x + (size_t)s * c->channels * c->window;

        for (int t = 0; t < l1; t++)
            for (int f = 0; f < c->conv[0].filters; f++) {
                double v = w[CONV1_B][f];

                for (int ch = 0; ch < c->channels; ch++)
                    for (int j = 0; j < c->conv[0].kernel; j++)
                        v += w[CONV1_W][(f * c->channels + ch) * c->conv[0].kernel + j] *
                             xs[ch * c->window + t + j];
                kinks[k++] = v > 0.0;
                a1[t][f] = v > 0.0 ? v : 0.0;
            }

        for (int t = 0; t < l2; t++)
            for (int o = 0; o < c->conv[1].filters; o++) {
                double v = w[CONV2_B][o];

                for (int j = 0; j < c->conv[1].kernel; j++)
                    for (int f = 0; f < c->conv[0].filters; f++)
                        v += w[CONV2_W][(o * c->conv[1].kernel + j) * c->conv[0].filters + f] *
                             a1[t + j][f];
                kinks[k++] = v > 0.0;
                a2[t][o] = v > 0.0 ? v : 0.0;
            }

        for (int o = 0; o < c->conv[1].filters; o++) {
            double sum = 0.0;

            for (int t = 0; t < l2; t++)
                sum += a2[t][o];
            readout[o] = a2[l2 - 1][o];
            readout[c->conv[1].filters + o] = sum / l2;
        }

        double z = w[DENSE2_B][0];
        for (int h = 0; h < c->hidden; h++) {
            double v = w[DENSE1_B][h];

            for (int i = 0; i < 2 * c->conv[1].filters; i++)
                v += w[DENSE1_W][h * 2 * c->conv[1].filters + i] * readout[i];
            kinks[k++] = v > 0.0;
            hidden[h] = v > 0.0 ? v : 0.0;
            z += w[DENSE2_W][h] * hidden[h];
        }

        loss += fmax(z, 0.0) - z * y[s] + log1p(exp(-fabs(z)));
    }
    return loss / n;
}


/* Sets every bias to 0.1 so that few ReLUs of the tiny network are dead and
 * most gradient coordinates are nonzero. */
static void set_biases(ohlcx_cnn *cnn, float value)
{
    const int biases[] = {CONV1_B, CONV2_B, DENSE1_B, DENSE2_B};

    for (size_t i = 0; i < sizeof biases / sizeof biases[0]; i++) {
        size_t size;
        float *b = ohlcx_cnn_param(cnn, biases[i], &size);

        for (size_t j = 0; j < size; j++)
            b[j] = value;
    }
}


/* Returns the number of ReLU pre-activations in one sample, which is the
 * size of one sample's kink record in reference_loss(). */
static size_t kinks_per_sample(const ohlcx_cnn_config *c)
{
    size_t l1 = (size_t)(c->window - c->conv[0].kernel + 1);
    size_t l2 = l1 - (size_t)c->conv[1].kernel + 1;

    return l1 * (size_t)c->conv[0].filters + l2 * (size_t)c->conv[1].filters + (size_t)c->hidden;
}


/*
 * Compares the analytic gradient of every coordinate of every block with a
 * central difference (step 1e-6) of the double reference at the same float
 * weights, for a network of config c created from seed 7 and n samples of
 * normal noise with labels y. A coordinate whose ±step moves any ReLU
 * pre-activation across zero sits on a kink, where the derivative is
 * undefined, so it is skipped. The check asserts that such skips are rare.
 */
static void check_gradients(const ohlcx_cnn_config *c, const float *y, int n)
{
    size_t sample = (size_t)c->channels * (size_t)c->window;
    size_t kink_bytes = (size_t)n * kinks_per_sample(c);
    float *x = malloc((size_t)n * sample * sizeof *x);
    double *w[BLOCKS];
    unsigned char *kinks0 = calloc(kink_bytes, 1);
    unsigned char *kinks_plus = calloc(kink_bytes, 1);
    unsigned char *kinks_minus = calloc(kink_bytes, 1);
    ohlcx_cnn *cnn = ohlcx_cnn_create(c, 7);
    double loss = 0.0;
    double reference;
    const double step = 1e-6;

    assert_true(c->window - c->conv[0].kernel + 1 <= REFERENCE_MAX_LENGTH);
    assert_true(c->conv[0].filters <= REFERENCE_MAX_FILTERS);
    assert_true(c->conv[1].filters <= REFERENCE_MAX_FILTERS);
    assert_true(c->hidden <= REFERENCE_MAX_HIDDEN);
    assert_non_null(x);
    assert_non_null(kinks0);
    assert_non_null(kinks_plus);
    assert_non_null(kinks_minus);
    assert_non_null(cnn);
    assert_int_equal(ohlcx_cnn_param_count(cnn), BLOCKS);
    set_biases(cnn, 0.1f);
    fill_normal(x, (size_t)n * sample, 11);
    assert_int_equal(ohlcx_cnn_gradients(cnn, x, y, (size_t)n, &loss), OHLCX_OK);

    for (int b = 0; b < BLOCKS; b++) {
        size_t size;
        const float *p = ohlcx_cnn_param(cnn, b, &size);

        w[b] = malloc(size * sizeof *w[b]);
        assert_non_null(w[b]);
        for (size_t i = 0; i < size; i++)
            w[b][i] = p[i];
    }

    reference = reference_loss(c, w, x, y, n, kinks0);
    assert_true(fabs(loss - reference) < 1e-5 * fabs(reference));

    for (int b = 0; b < BLOCKS; b++) {
        size_t size;
        const float *grad = ohlcx_cnn_grad(cnn, b);
        size_t checked = 0;
        size_t nonzero = 0;

        ohlcx_cnn_param(cnn, b, &size);
        for (size_t i = 0; i < size; i++) {
            double saved = w[b][i];
            double plus, minus, numeric, denominator;

            w[b][i] = saved + step;
            plus = reference_loss(c, w, x, y, n, kinks_plus);
            w[b][i] = saved - step;
            minus = reference_loss(c, w, x, y, n, kinks_minus);
            w[b][i] = saved;
            if (memcmp(kinks_plus, kinks0, kink_bytes) != 0 ||
                memcmp(kinks_minus, kinks0, kink_bytes) != 0)
                continue;

            numeric = (plus - minus) / (2.0 * step);
            denominator = fmax(fmax(fabs(numeric), fabs(grad[i])), 1e-5);
            if (fabs(numeric - grad[i]) / denominator >= 1e-2)
                fail_msg("%s[%zu]: analytic %.8g, numeric %.8g",
                         ohlcx_cnn_param_name(cnn, b), i, (double)grad[i],
                         numeric);
            checked++;
            nonzero += fabs(numeric) > 1e-6;
        }

        /* Kinks are rare, and many coordinates carry a real gradient (dead
         * ReLUs zero the rest). */
        assert_true(checked * 10 >= size * 9);
        assert_true(nonzero * 3 >= size);
    }

    for (int b = 0; b < BLOCKS; b++)
        free(w[b]);
    free(x);
    free(kinks0);
    free(kinks_plus);
    free(kinks_minus);
    ohlcx_cnn_free(cnn);
}


static void gradients_match_finite_differences(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    const float y[] = {1.0f, 0.0f, 1.0f};
    (void)state;

    check_gradients(&c, y, 3);
}


/* A mini-batch of one sample: the mean loss is that sample's loss. */
static void gradients_single_sample(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    const float y[] = {0.0f};
    (void)state;

    check_gradients(&c, y, 1);
}


/* With window = kernel1 + kernel2 - 1, conv2 has one output position, so the
 * readout's last position and its mean are the same row and both gradients
 * reach it. */
static void gradients_single_output_position(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    const float y[] = {1.0f, 0.0f, 0.0f};
    (void)state;

    c.window = c.conv[0].kernel + c.conv[1].kernel - 1;
    check_gradients(&c, y, 3);
}


/* Kernels of one bar: im2col copies single positions and col2im adds no
 * overlapping patches. */
static void gradients_pointwise_kernels(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    const float y[] = {0.0f, 1.0f};
    (void)state;

    c.window = 7;
    c.conv[0].kernel = 1;
    c.conv[1].kernel = 1;
    check_gradients(&c, y, 2);
}


/* Different kernel sizes, and every size of the network distinct, so that
 * using one dimension in place of another in an index breaks the check; the
 * other cases use kernel1 == kernel2, which would hide a swap of the two. Five
 * input channels, as in the default configuration. */
static void gradients_unequal_kernels(void **state)
{
    ohlcx_cnn_config c = {
        .channels = 5,
        .window = 14,
        .conv[0].kernel = 2,
        .conv[0].filters = 6,
        .conv[1].kernel = 4,
        .conv[1].filters = 7,
        .hidden = 8,
    };
    const float y[] = {1.0f, 1.0f, 0.0f};
    (void)state;

    set_two_plain_stages(&c);
    check_gradients(&c, y, 3);
}


static void param_names_in_block_order(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 1);
    size_t size = 0;
    (void)state;

    assert_non_null(cnn);
    assert_string_equal(ohlcx_cnn_param_name(cnn, CONV1_W), "conv1.weight");
    assert_string_equal(ohlcx_cnn_param_name(cnn, DENSE2_B), "dense2.bias");
    assert_null(ohlcx_cnn_param_name(cnn, BLOCKS));
    assert_non_null(ohlcx_cnn_param(cnn, CONV2_W, &size));
    assert_int_equal(size, 4 * 5 * 3);
    ohlcx_cnn_param(cnn, DENSE1_W, &size);
    assert_int_equal(size, 5 * 2 * 4);
    assert_null(ohlcx_cnn_param(cnn, -1, &size));
    ohlcx_cnn_free(cnn);
}


/*
 * Builds a one-channel, one-filter network whose two convolutions pass
 * x[t + 4] through unchanged (for x >= 0), so that conv2's output is bars 4
 * to 11 of the window. Input a has 1 at bar 10, input b has 1 at bar 11:
 * the mean over positions is 1/8 for both, and only the last position (0
 * versus 1) distinguishes them.
 */
static ohlcx_cnn *passthrough_network(void)
{
    ohlcx_cnn_config c = {
        .channels = 1,
        .window = 12,
        .conv[0].kernel = 3,
        .conv[0].filters = 1,
        .conv[1].kernel = 3,
        .conv[1].filters = 1,
        .hidden = 4,
    };
    ohlcx_cnn *cnn;
    size_t size;
    float *w;

    set_two_plain_stages(&c);
    cnn = ohlcx_cnn_create(&c, 3);
    if (!cnn)
        return NULL;
    set_biases(cnn, 0.0f);
    w = ohlcx_cnn_param(cnn, CONV1_W, &size);
    w[0] = 0.0f, w[1] = 0.0f, w[2] = 1.0f;
    w = ohlcx_cnn_param(cnn, CONV2_W, &size);
    w[0] = 0.0f, w[1] = 0.0f, w[2] = 1.0f;
    w = ohlcx_cnn_param(cnn, DENSE1_W, &size);
    for (size_t i = 0; i < size; i++)
        w[i] = 1.0f;
    w = ohlcx_cnn_param(cnn, DENSE2_W, &size);
    for (size_t i = 0; i < size; i++)
        w[i] = 1.0f;
    return cnn;
}


static void readout_keeps_last_position(void **state)
{
    ohlcx_cnn *cnn = passthrough_network();
    float x[2 * 12] = {0};
    float prob[2];
    float embedding[2 * 4];
    float *dense1;
    (void)state;

    assert_non_null(cnn);
    x[10] = 1.0f;      /* input a: 1 at bar 10 */
    x[12 + 11] = 1.0f; /* input b: 1 at the last bar */

    /* The hidden units see last + mean: a gives 0 + 1/8, b gives 1 + 1/8. */
    assert_int_equal(ohlcx_cnn_predict(cnn, x, 2, prob, embedding), OHLCX_OK);
    assert_float_equal(embedding[0], 0.125f, 1e-7f);
    assert_float_equal(embedding[4], 1.125f, 1e-7f);
    assert_float_equal(prob[0], 0.6224593f, 1e-6f); /* sigmoid(4 * 0.125) */
    assert_float_equal(prob[1], 0.9890131f, 1e-6f); /* sigmoid(4 * 1.125) */

    /* With the last-position weights zeroed only the mean is left, and the
     * two inputs become indistinguishable, as under a global average pool. */
    dense1 = ohlcx_cnn_param(cnn, DENSE1_W, NULL);
    for (int h = 0; h < 4; h++)
        dense1[h * 2] = 0.0f;
    assert_int_equal(ohlcx_cnn_predict(cnn, x, 2, prob, NULL), OHLCX_OK);
    assert_true(prob[0] == prob[1]);

    ohlcx_cnn_free(cnn);
}


/* Fills n samples of noise whose label is whether channel 0 of the last bar
 * is positive. */
static void planted_pattern(const ohlcx_cnn_config *c, float *x, float *y,
                            size_t n, uint64_t seed)
{
    size_t sample = (size_t)c->channels * (size_t)c->window;

    fill_normal(x, n * sample, seed);
    for (size_t s = 0; s < n; s++)
        y[s] = x[s * sample + (size_t)c->window - 1] > 0.0f ? 1.0f : 0.0f;
}


static double accuracy(const float *prob, const float *y, size_t n)
{
    size_t correct = 0;

    for (size_t i = 0; i < n; i++)
        correct += (prob[i] > 0.5f) == (y[i] > 0.5f);
    return (double)correct / (double)n;
}


static void train_learns_planted_pattern(void **state)
{
    ohlcx_cnn_config c;
    ohlcx_cnn_train_options o;
    ohlcx_cnn_history h;
    enum { N_TRAIN = 2000, N_VAL = 500 };
    size_t sample;
    float *x_train, *y_train, *x_val, *y_val, *prob;
    ohlcx_cnn *cnn;
    (void)state;

    ohlcx_cnn_config_default(&c);
    c.channels = 3;
    c.window = 16;
    sample = (size_t)c.channels * (size_t)c.window;
    x_train = malloc(N_TRAIN * sample * sizeof(float));
    y_train = malloc(N_TRAIN * sizeof(float));
    x_val = malloc(N_VAL * sample * sizeof(float));
    y_val = malloc(N_VAL * sizeof(float));
    prob = malloc(N_VAL * sizeof(float));
    assert_true(x_train && y_train && x_val && y_val && prob);
    planted_pattern(&c, x_train, y_train, N_TRAIN, 21);
    planted_pattern(&c, x_val, y_val, N_VAL, 22);

    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 32;
    o.max_epochs = 6;
    o.seed = 5;
    o.learning_rate = 3e-3f;
    cnn = ohlcx_cnn_create(&c, 5);
    assert_non_null(cnn);
    assert_int_equal(ohlcx_cnn_train(cnn, x_train, y_train, N_TRAIN, x_val,
                                     y_val, N_VAL, &o, &h),
                     OHLCX_OK);
    assert_int_equal(ohlcx_cnn_predict(cnn, x_val, N_VAL, prob, NULL),
                     OHLCX_OK);

    assert_true(h.val_loss[h.best_epoch - 1] < h.val_loss[0]);
    assert_true(accuracy(prob, y_val, N_VAL) > 0.9);

    ohlcx_cnn_free(cnn);
    free(x_train);
    free(y_train);
    free(x_val);
    free(y_val);
    free(prob);
}


/* Random labels on few samples with a high learning rate: the network
 * overfits, the validation loss rises and early stopping must trigger. */
static void early_stopping_restores_best(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    ohlcx_cnn_history h;
    enum { N = 64 };
    float x_train[N * 24], y_train[N], x_val[N * 24], y_val[N];
    uint64_t rng = 99;
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 13);
    float best;
    (void)state;

    assert_non_null(cnn);
    fill_normal(x_train, N * 24, 31);
    fill_normal(x_val, N * 24, 32);
    for (int i = 0; i < N; i++) {
        y_train[i] = (float)(test_rng_next(&rng) & 1);
        y_val[i] = (float)(test_rng_next(&rng) & 1);
    }

    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 8;
    o.max_epochs = 200;
    o.patience = 4;
    o.learning_rate = 1e-2f;
    assert_int_equal(ohlcx_cnn_train(cnn, x_train, y_train, N, x_val, y_val, N,
                                     &o, &h),
                     OHLCX_OK);

    assert_true(h.epochs < o.max_epochs);
    assert_int_equal(h.epochs, h.best_epoch + o.patience);
    best = h.val_loss[h.best_epoch - 1];
    for (int e = 0; e < h.epochs; e++)
        assert_true(h.val_loss[e] >= best);
    assert_true((float)ohlcx_cnn_loss(cnn, x_val, y_val, N) == best);

    ohlcx_cnn_free(cnn);
}


/* Trains a fresh tiny network for three epochs and returns it. */
static ohlcx_cnn *train_tiny(uint64_t seed, const float *x, const float *y,
                             size_t n)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, seed);

    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 16;
    o.max_epochs = 3;
    o.seed = seed;
    if (cnn && ohlcx_cnn_train(cnn, x, y, n, x, y, n, &o, NULL) != OHLCX_OK) {
        ohlcx_cnn_free(cnn);
        return NULL;
    }
    return cnn;
}


static void train_is_deterministic(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    enum { N = 100 };
    float x[N * 24], y[N];
    ohlcx_cnn *first, *second, *other;
    (void)state;

    planted_pattern(&c, x, y, N, 41);
    first = train_tiny(8, x, y, N);
    second = train_tiny(8, x, y, N);
    other = train_tiny(9, x, y, N);
    assert_non_null(first);
    assert_non_null(second);
    assert_non_null(other);

    assert_true(same_weights(first, second));
    assert_false(same_weights(first, other));

    ohlcx_cnn_free(first);
    ohlcx_cnn_free(second);
    ohlcx_cnn_free(other);
}


/* Predicting 300 samples runs a full chunk of 256 and a partial one of 44;
 * every probability must match predicting that sample alone, and the
 * embedding must be the post-ReLU hidden layer that dense2 reads. */
static void predict_handles_partial_chunk(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    enum { N = 300, H = 5 };
    float *x = malloc(N * 24 * sizeof(float));
    float *prob = malloc(N * sizeof(float));
    float *embedding = malloc(N * H * sizeof(float));
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 17);
    const float *dense2;
    float bias;
    (void)state;

    assert_true(x && prob && embedding && cnn);
    set_biases(cnn, 0.05f);
    fill_normal(x, N * 24, 51);
    assert_int_equal(ohlcx_cnn_predict(cnn, x, N, prob, embedding), OHLCX_OK);
    dense2 = ohlcx_cnn_param(cnn, DENSE2_W, NULL);
    bias = ohlcx_cnn_param(cnn, DENSE2_B, NULL)[0];

    for (int s = 0; s < N; s++) {
        float alone, emb_alone[H];
        double z = bias;

        assert_int_equal(ohlcx_cnn_predict(cnn, x + s * 24, 1, &alone,
                                           emb_alone),
                         OHLCX_OK);
        assert_float_equal(prob[s], alone, 1e-6f);
        for (int k = 0; k < H; k++) {
            assert_true(embedding[s * H + k] >= 0.0f);
            assert_float_equal(embedding[s * H + k], emb_alone[k], 1e-6f);
            z += dense2[k] * embedding[s * H + k];
        }
        assert_float_equal(prob[s], 1.0 / (1.0 + exp(-z)), 1e-6f);
    }

    ohlcx_cnn_free(cnn);
    free(x);
    free(prob);
    free(embedding);
}


static void save_load_round_trip(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    enum { N = 20 };
    float x[N * 24], before[N], after[N];
    char path[128];
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 23);
    ohlcx_cnn *loaded = NULL;
    size_t size = 0;
    unsigned char *data;
    (void)state;

    assert_non_null(cnn);
    fill_normal(x, N * 24, 61);
    snprintf(path, sizeof path, "%s/model.bin", temp_dir);
    assert_int_equal(ohlcx_cnn_save(cnn, path), OHLCX_OK);
    assert_int_equal(ohlcx_cnn_load(path, &loaded), OHLCX_OK);

    assert_memory_equal(ohlcx_cnn_get_config(loaded), &c, sizeof c);
    assert_true(same_weights(cnn, loaded));
    assert_int_equal(ohlcx_cnn_predict(cnn, x, N, before, NULL), OHLCX_OK);
    assert_int_equal(ohlcx_cnn_predict(loaded, x, N, after, NULL), OHLCX_OK);
    assert_memory_equal(before, after, sizeof before);

    /* 92 header bytes (magic, version, 16 int32 configuration fields for
     * two stages, the parameter and running-statistics counts), then the
     * 148 parameters of the tiny network. */
    data = read_whole(path, &size);
    assert_non_null(data);
    assert_int_equal(size, 92 + 4 * 148);
    assert_memory_equal(data, "OHLCXCNN", 8);

    free(data);
    ohlcx_cnn_free(cnn);
    ohlcx_cnn_free(loaded);
}


static void load_rejects_damaged_files(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    char path[128];
    const char *damaged;
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 29);
    ohlcx_cnn *loaded = NULL;
    size_t size = 0;
    unsigned char *data;
    (void)state;

    assert_non_null(cnn);
    snprintf(path, sizeof path, "%s/model.bin", temp_dir);
    assert_int_equal(ohlcx_cnn_save(cnn, path), OHLCX_OK);
    data = read_whole(path, &size);
    assert_non_null(data);

    damaged = write_temp_file("short.bin", data, size - 10);
    assert_non_null(damaged);
    assert_int_equal(ohlcx_cnn_load(damaged, &loaded), OHLCX_EFORMAT);
    assert_null(loaded);
    assert_non_null(strstr(ohlcx_last_error(), damaged));
    assert_non_null(strstr(ohlcx_last_error(), "truncated"));

    damaged = write_temp_file("header.bin", data, 20);
    assert_int_equal(ohlcx_cnn_load(damaged, &loaded), OHLCX_EFORMAT);
    assert_non_null(strstr(ohlcx_last_error(), "truncated"));

    data[0] = 'X';
    damaged = write_temp_file("magic.bin", data, size);
    assert_int_equal(ohlcx_cnn_load(damaged, &loaded), OHLCX_EFORMAT);
    assert_non_null(strstr(ohlcx_last_error(), "not an ohlcx CNN file"));

    data[0] = 'O';
    data[16] = 1; /* window 12 -> 1, shorter than the kernels */
    damaged = write_temp_file("magic.bin", data, size);
    assert_int_equal(ohlcx_cnn_load(damaged, &loaded), OHLCX_EFORMAT);

    assert_int_equal(ohlcx_cnn_load("/nonexistent/model.bin", &loaded),
                     OHLCX_EIO);

    free(data);
    ohlcx_cnn_free(cnn);
}


static void create_rejects_short_window(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    (void)state;

    c.window = 8; /* the receptive field is 5 + 5 - 1 = 9 bars */
    assert_null(ohlcx_cnn_create(&c, 1));
    assert_non_null(strstr(ohlcx_last_error(), "window 8"));

    c.window = 12;
    c.conv[1].filters = 0;
    assert_null(ohlcx_cnn_create(&c, 1));
    assert_non_null(strstr(ohlcx_last_error(), "conv[1].filters 0"));
}


static void train_rejects_bad_input(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    float x[4 * 24], y[4] = {0.0f, 1.0f, 0.0f, 1.0f};
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 1);
    (void)state;

    assert_non_null(cnn);
    fill_normal(x, 4 * 24, 71);
    ohlcx_cnn_train_options_default(&o);

    o.max_epochs = 257;
    assert_int_equal(ohlcx_cnn_train(cnn, x, y, 4, x, y, 4, &o, NULL),
                     OHLCX_EINVAL);
    o.max_epochs = 2;

    y[2] = 0.5f;
    assert_int_equal(ohlcx_cnn_train(cnn, x, y, 4, x, y, 4, &o, NULL),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "label 2"));
    y[2] = 0.0f;

    x[24 + 12 + 3] = NAN; /* sample 1, channel 1, position 3 */
    assert_int_equal(ohlcx_cnn_train(cnn, x, y, 4, x, y, 4, &o, NULL),
                     OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "sample 1"));
    assert_non_null(strstr(ohlcx_last_error(), "channel 1, position 3"));

    ohlcx_cnn_free(cnn);
}


/* Without validation samples every epoch runs and the last one is kept. */
static void train_without_validation(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    ohlcx_cnn_history h;
    enum { N = 40 };
    float x[N * 24], y[N];
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 2);
    (void)state;

    assert_non_null(cnn);
    planted_pattern(&c, x, y, N, 81);
    ohlcx_cnn_train_options_default(&o);
    o.max_epochs = 4;
    assert_int_equal(ohlcx_cnn_train(cnn, x, y, N, NULL, NULL, 0, &o, &h),
                     OHLCX_OK);

    assert_int_equal(h.epochs, 4);
    assert_int_equal(h.best_epoch, 4);
    assert_true(isnan(h.val_loss[0]));
    assert_true(h.train_loss[3] > 0.0f);

    ohlcx_cnn_free(cnn);
}


/* A learning rate of 1e30 overflows the weights in the first epoch: the call
 * fails and the initial weights come back. */
static void train_divergence_restores_weights(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    enum { N = 40 };
    float x[N * 24], y[N];
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 4);
    ohlcx_cnn *initial = ohlcx_cnn_create(&c, 4);
    (void)state;

    assert_non_null(cnn);
    assert_non_null(initial);
    planted_pattern(&c, x, y, N, 91);
    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 8;
    o.learning_rate = 1e30f;

    assert_int_equal(ohlcx_cnn_train(cnn, x, y, N, x, y, N, &o, NULL),
                     OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "diverged at epoch 1"));
    assert_true(same_weights(cnn, initial));

    ohlcx_cnn_free(cnn);
    ohlcx_cnn_free(initial);
}


/*
 * A sample source that builds sample i on request: noise from seed + i with
 * the planted label of planted_pattern(). It records every call's indices
 * and can fail on a chosen call.
 */
typedef struct test_source {
    ohlcx_cnn_config config;
    uint64_t seed;
    int calls;
    int fail_call;  /* 1-based call that fails, or 0 */
    int fail_code;  /* returned by the failing call */
    int nan_sample; /* sample number filled with a NaN, or -1 */
    size_t logged;  /* indices recorded in log */
    size_t log_sizes[64]; /* count of each of the first 64 calls */
    size_t log[4096];
} test_source;


static void make_sample(const test_source *src, size_t i, float *x, float *y)
{
    size_t sample = (size_t)src->config.channels * (size_t)src->config.window;

    fill_normal(x, sample, src->seed + i);
    *y = x[src->config.window - 1] > 0.0f ? 1.0f : 0.0f;
    if ((int)i == src->nan_sample)
        x[1] = NAN;
}


static int fill_test_source(void *context, const size_t *indices, size_t count,
                            float *x, float *y, int32_t *ids)
{
    test_source *src = context;

    assert_null(ids); /* the networks here have no symbol embedding */
    size_t sample = (size_t)src->config.channels * (size_t)src->config.window;

    src->calls++;
    if (src->calls <= 64)
        src->log_sizes[src->calls - 1] = count;
    for (size_t s = 0; s < count; s++) {
        if (src->logged < sizeof src->log / sizeof src->log[0])
            src->log[src->logged++] = indices[s];
        make_sample(src, indices[s], x + s * sample, y + s);
    }
    if (src->calls == src->fail_call)
        return ohlcx_set_error(src->fail_code, "test source: call %d failed",
                               src->calls);
    return 0;
}


static void test_source_init(test_source *src, uint64_t seed)
{
    memset(src, 0, sizeof *src);
    src->config = tiny_config();
    src->seed = seed;
    src->nan_sample = -1;
}


/* The source version and the array version over the same samples must give
 * the same weights bit for bit, and the same history. The 50 training samples
 * make batches of 16, 16, 16 and 2, and the 300 validation samples make
 * chunks of 256 and 44. */
static void train_source_matches_arrays(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    ohlcx_cnn_history from_arrays, from_source;
    enum { N_TRAIN = 50, N_VAL = 300 };
    float x_train[N_TRAIN * 24], y_train[N_TRAIN];
    float *x_val = malloc(N_VAL * 24 * sizeof(float));
    float y_val[N_VAL];
    test_source train_src, val_src;
    ohlcx_sample_source train = {fill_test_source, &train_src, N_TRAIN};
    ohlcx_sample_source validation = {fill_test_source, &val_src, N_VAL};
    ohlcx_cnn *a = ohlcx_cnn_create(&c, 6);
    ohlcx_cnn *b = ohlcx_cnn_create(&c, 6);
    (void)state;

    assert_non_null(x_val);
    assert_non_null(a);
    assert_non_null(b);
    test_source_init(&train_src, 1000);
    test_source_init(&val_src, 5000);
    for (size_t i = 0; i < N_TRAIN; i++)
        make_sample(&train_src, i, x_train + i * 24, y_train + i);
    for (size_t i = 0; i < N_VAL; i++)
        make_sample(&val_src, i, x_val + i * 24, y_val + i);

    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 16;
    o.max_epochs = 5;
    o.patience = 2;
    o.learning_rate = 1e-2f;
    o.seed = 77;
    assert_int_equal(ohlcx_cnn_train(a, x_train, y_train, N_TRAIN, x_val,
                                     y_val, N_VAL, &o, &from_arrays),
                     OHLCX_OK);
    assert_int_equal(ohlcx_cnn_train_source(b, &train, &validation, &o,
                                            &from_source),
                     OHLCX_OK);

    assert_true(same_weights(a, b));
    assert_int_equal(from_source.epochs, from_arrays.epochs);
    assert_int_equal(from_source.best_epoch, from_arrays.best_epoch);
    assert_memory_equal(from_source.train_loss, from_arrays.train_loss,
                        sizeof from_arrays.train_loss);
    assert_memory_equal(from_source.val_loss, from_arrays.val_loss,
                        sizeof from_arrays.val_loss);
    assert_true((float)ohlcx_cnn_loss(b, x_val, y_val, N_VAL) ==
                from_source.val_loss[from_source.best_epoch - 1]);

    ohlcx_cnn_free(a);
    ohlcx_cnn_free(b);
    free(x_val);
}


static int compare_sizes(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return (x > y) - (x < y);
}


/* One fill per mini-batch, each epoch a fresh permutation of the training
 * samples; validation in chunks of 256 consecutive indices from 0. */
static void train_source_fill_calls(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    ohlcx_cnn_history h;
    enum { N_TRAIN = 50, N_VAL = 300, EPOCHS = 2 };
    test_source train_src, val_src;
    ohlcx_sample_source train = {fill_test_source, &train_src, N_TRAIN};
    ohlcx_sample_source validation = {fill_test_source, &val_src, N_VAL};
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 3);
    size_t sorted[N_TRAIN];
    (void)state;

    assert_non_null(cnn);
    test_source_init(&train_src, 100);
    test_source_init(&val_src, 200);
    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 16;
    o.max_epochs = EPOCHS;
    o.patience = EPOCHS;
    o.seed = 12;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, &validation, &o, &h),
                     OHLCX_OK);
    assert_int_equal(h.epochs, EPOCHS);

    assert_int_equal(train_src.calls, 4 * EPOCHS);
    assert_int_equal(train_src.log_sizes[0], 16);
    assert_int_equal(train_src.log_sizes[3], 2);
    assert_int_equal(train_src.logged, N_TRAIN * EPOCHS);
    for (int e = 0; e < EPOCHS; e++) {
        memcpy(sorted, train_src.log + e * N_TRAIN, sizeof sorted);
        qsort(sorted, N_TRAIN, sizeof sorted[0], compare_sizes);
        for (size_t i = 0; i < N_TRAIN; i++)
            assert_int_equal(sorted[i], i);
    }
    assert_memory_not_equal(train_src.log, train_src.log + N_TRAIN,
                            N_TRAIN * sizeof train_src.log[0]);

    assert_int_equal(val_src.calls, 2 * EPOCHS);
    assert_int_equal(val_src.log_sizes[0], 256);
    assert_int_equal(val_src.log_sizes[1], 44);
    for (int e = 0; e < EPOCHS; e++)
        for (size_t i = 0; i < N_VAL; i++)
            assert_int_equal(val_src.log[e * N_VAL + i], i);

    ohlcx_cnn_free(cnn);
}


/* A fill that fails stops training at once with the fill's code, and the
 * weights of the best epoch so far (here the initial ones) come back. */
static void train_source_fill_error_aborts(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    enum { N = 40 };
    test_source train_src, val_src;
    ohlcx_sample_source train = {fill_test_source, &train_src, N};
    ohlcx_sample_source validation = {fill_test_source, &val_src, N};
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 4);
    ohlcx_cnn *initial = ohlcx_cnn_create(&c, 4);
    (void)state;

    assert_non_null(cnn);
    assert_non_null(initial);
    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 8;
    o.max_epochs = 3;

    test_source_init(&train_src, 300);
    test_source_init(&val_src, 400);
    train_src.fail_call = 3;
    train_src.fail_code = OHLCX_EIO;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, &validation, &o,
                                            NULL),
                     OHLCX_EIO);
    assert_int_equal(train_src.calls, 3);
    assert_int_equal(val_src.calls, 0);
    assert_string_equal(ohlcx_last_error(), "test source: call 3 failed");
    assert_true(same_weights(cnn, initial));

    test_source_init(&train_src, 300);
    val_src.fail_call = 1;
    val_src.fail_code = OHLCX_ENOMEM;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, &validation, &o,
                                            NULL),
                     OHLCX_ENOMEM);
    assert_int_equal(train_src.calls, 5);
    assert_int_equal(val_src.calls, 1);
    assert_true(same_weights(cnn, initial));

    test_source_init(&train_src, 300);
    train_src.fail_call = 1;
    train_src.fail_code = 7;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, NULL, &o, NULL),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "returned 7"));

    ohlcx_cnn_free(cnn);
    ohlcx_cnn_free(initial);
}


/* The source version checks each filled batch and names the failing sample
 * by its number in the source. */
static void train_source_rejects_bad_samples(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    enum { N = 40 };
    test_source src;
    ohlcx_sample_source train = {fill_test_source, &src, N};
    ohlcx_sample_source no_fill = {NULL, NULL, N};
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 5);
    (void)state;

    assert_non_null(cnn);
    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 8;
    o.max_epochs = 2;

    test_source_init(&src, 500);
    src.nan_sample = 33;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, NULL, &o, NULL),
                     OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "train sample 33"));
    assert_non_null(strstr(ohlcx_last_error(), "channel 0, position 1"));

    test_source_init(&src, 500);
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, &no_fill, &o, NULL),
                     OHLCX_EINVAL);
    assert_int_equal(src.calls, 0);
    assert_int_equal(ohlcx_cnn_train_source(cnn, &no_fill, NULL, &o, NULL),
                     OHLCX_EINVAL);
    train.count = 0;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, NULL, &o, NULL),
                     OHLCX_EINVAL);

    ohlcx_cnn_free(cnn);
}


/* A hand-made checkpoint of the tiny network (148 parameters) after epoch 3
 * of 6, with 10 training samples. Its arrays live in the statics below. */
enum { CKPT_PARAMS = 148, CKPT_SAMPLES = 10 };
static float ckpt_params[CKPT_PARAMS], ckpt_m[CKPT_PARAMS];
static float ckpt_v[CKPT_PARAMS], ckpt_best[CKPT_PARAMS];
static size_t ckpt_order[CKPT_SAMPLES];

static ohlcx_cnn_checkpoint sample_checkpoint(void)
{
    ohlcx_cnn_checkpoint c;

    memset(&c, 0, sizeof c);
    c.config = tiny_config();
    c.batch_size = 4;
    c.max_epochs = 6;
    c.patience = 2;
    c.learning_rate = 0.01f;
    c.seed = 0x123456789abcdefULL;
    c.weight_decay = 0.125f;
    c.lr_schedule = OHLCX_LR_STEP;
    c.lr_step_epochs = 3;
    c.lr_gamma = 0.5f;
    c.train_count = CKPT_SAMPLES;
    c.val_count = 7;
    c.epoch = 3;
    c.finished = 0;
    c.stale = 1;
    c.best_val = 0.6931471805599453;
    c.adam_step = 9;
    c.rng_state[0] = 1;
    c.rng_state[1] = UINT64_MAX;
    c.rng_state[2] = 0x8000000000000000ULL;
    c.rng_state[3] = 42;
    c.dropout_rng_state[0] = 7;
    c.dropout_rng_state[3] = UINT64_MAX - 1;
    c.history.epochs = 3;
    c.history.best_epoch = 2;
    c.history.train_loss[0] = 0.75f;
    c.history.train_loss[1] = 0.70f;
    c.history.train_loss[2] = 0.65f;
    c.history.val_loss[0] = 0.72f;
    c.history.val_loss[1] = 0.69f;
    c.history.val_loss[2] = 0.71f;
    c.param_count = CKPT_PARAMS;
    for (size_t i = 0; i < CKPT_PARAMS; i++) {
        ckpt_params[i] = (float)i * 0.5f - 30.0f;
        ckpt_m[i] = -(float)i * 1e-3f;
        ckpt_v[i] = (float)i * 1e-6f;
        ckpt_best[i] = (float)i * 0.25f;
    }
    for (size_t i = 0; i < CKPT_SAMPLES; i++)
        ckpt_order[i] = (i * 3) % CKPT_SAMPLES; /* a permutation: 3 and 10 are coprime */
    c.params = ckpt_params;
    c.adam_m = ckpt_m;
    c.adam_v = ckpt_v;
    c.best_params = ckpt_best;
    c.order = ckpt_order;
    return c;
}


/* Saving and loading gives every field back, and the file has the size of
 * the documented layout. It has 12 bytes of magic and version, 64 of
 * configuration (16 int32 fields for two stages) and 152 more fixed bytes.
 * Then come 2 x 3 epoch losses, the parameter count, 4 x 148 floats, the
 * running-statistics count (0 without batch normalisation), 10 order
 * entries and the 64-character digest. */
static void checkpoint_round_trip(void **state)
{
    ohlcx_cnn_checkpoint saved = sample_checkpoint();
    ohlcx_cnn_checkpoint loaded;
    char path[128], tmp_path[160];
    size_t size = 0;
    unsigned char *data;
    (void)state;

    snprintf(path, sizeof path, "%s/state.ckpt", temp_dir);
    assert_int_equal(ohlcx_cnn_checkpoint_save(&saved, path), OHLCX_OK);
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", path);
    assert_int_equal(access(tmp_path, F_OK), -1);
    assert_int_equal(ohlcx_cnn_checkpoint_load(path, &loaded), OHLCX_OK);

    assert_memory_equal(&loaded.config, &saved.config, sizeof saved.config);
    assert_int_equal(loaded.batch_size, 4);
    assert_int_equal(loaded.max_epochs, 6);
    assert_int_equal(loaded.patience, 2);
    assert_true(loaded.learning_rate == 0.01f);
    assert_true(loaded.seed == 0x123456789abcdefULL);
    assert_true(loaded.weight_decay == 0.125f);
    assert_int_equal(loaded.lr_schedule, OHLCX_LR_STEP);
    assert_int_equal(loaded.lr_step_epochs, 3);
    assert_true(loaded.lr_gamma == 0.5f);
    assert_true(loaded.train_count == CKPT_SAMPLES);
    assert_true(loaded.val_count == 7);
    assert_int_equal(loaded.epoch, 3);
    assert_int_equal(loaded.finished, 0);
    assert_int_equal(loaded.stale, 1);
    assert_true(loaded.best_val == 0.6931471805599453);
    assert_true(loaded.adam_step == 9);
    assert_memory_equal(loaded.rng_state, saved.rng_state,
                        sizeof saved.rng_state);
    assert_memory_equal(loaded.dropout_rng_state, saved.dropout_rng_state,
                        sizeof saved.dropout_rng_state);
    assert_int_equal(loaded.running_count, 0);
    assert_int_equal(loaded.history.epochs, 3);
    assert_int_equal(loaded.history.best_epoch, 2);
    assert_memory_equal(loaded.history.train_loss, saved.history.train_loss,
                        3 * sizeof(float));
    assert_memory_equal(loaded.history.val_loss, saved.history.val_loss,
                        3 * sizeof(float));
    assert_int_equal(loaded.param_count, CKPT_PARAMS);
    assert_memory_equal(loaded.params, ckpt_params, sizeof ckpt_params);
    assert_memory_equal(loaded.adam_m, ckpt_m, sizeof ckpt_m);
    assert_memory_equal(loaded.adam_v, ckpt_v, sizeof ckpt_v);
    assert_memory_equal(loaded.best_params, ckpt_best, sizeof ckpt_best);
    assert_memory_equal(loaded.order, ckpt_order, sizeof ckpt_order);

    data = read_whole(path, &size);
    assert_non_null(data);
    assert_int_equal(size, 12 + 64 + 152 + 8 * 3 + 8 + 16 * 148 + 8 + 8 * 10 + 64);
    assert_memory_equal(data, "OHLCXCKP", 8);

    free(data);
    ohlcx_cnn_checkpoint_free(&loaded);
    assert_null(loaded.params);
}


static void expect_damaged(const char *path, const char *message)
{
    ohlcx_cnn_checkpoint loaded;

    assert_int_equal(ohlcx_cnn_checkpoint_load(path, &loaded), OHLCX_EFORMAT);
    assert_null(loaded.params);
    assert_null(loaded.order);
    assert_non_null(strstr(ohlcx_last_error(), path));
    assert_non_null(strstr(ohlcx_last_error(), message));
}


/* A truncated, extended or altered file, and a well-formed one with a field
 * out of range, fail with OHLCX_EFORMAT and leave nothing allocated. */
static void checkpoint_rejects_damaged_files(void **state)
{
    ohlcx_cnn_checkpoint c = sample_checkpoint();
    ohlcx_cnn_checkpoint loaded;
    char path[128];
    const char *damaged;
    unsigned char *data, *longer;
    size_t size = 0;
    (void)state;

    snprintf(path, sizeof path, "%s/state.ckpt", temp_dir);
    assert_int_equal(ohlcx_cnn_checkpoint_save(&c, path), OHLCX_OK);
    data = read_whole(path, &size);
    assert_non_null(data);

    damaged = write_temp_file("damaged.ckpt", data, size - 1);
    expect_damaged(damaged, "SHA-256 does not match");
    damaged = write_temp_file("damaged.ckpt", data, 100);
    expect_damaged(damaged, "truncated checkpoint");
    damaged = write_temp_file("damaged.ckpt", data, 0);
    expect_damaged(damaged, "truncated checkpoint");

    longer = malloc(size + 1);
    assert_non_null(longer);
    memcpy(longer, data, size);
    longer[size] = '\n';
    damaged = write_temp_file("damaged.ckpt", longer, size + 1);
    expect_damaged(damaged, "SHA-256 does not match");
    free(longer);

    data[1000] ^= 0x01; /* one bit of a weight */
    damaged = write_temp_file("damaged.ckpt", data, size);
    expect_damaged(damaged, "SHA-256 does not match");
    data[1000] ^= 0x01;

    data[0] = 'X';
    damaged = write_temp_file("damaged.ckpt", data, size);
    expect_damaged(damaged, "not an ohlcx CNN checkpoint");
    data[0] = 'O';

    data[8] = 3; /* format version */
    damaged = write_temp_file("damaged.ckpt", data, size);
    expect_damaged(damaged, "unsupported checkpoint version 3");

    /* Valid digests over invalid fields. */
    ckpt_order[1] = ckpt_order[0];
    assert_int_equal(ohlcx_cnn_checkpoint_save(&c, path), OHLCX_OK);
    expect_damaged(path, "sample order entry 1 is 0, which is repeated");

    c = sample_checkpoint();
    c.epoch = 7; /* beyond max_epochs 6 */
    c.history.train_loss[6] = 0.5f;
    assert_int_equal(ohlcx_cnn_checkpoint_save(&c, path), OHLCX_OK);
    expect_damaged(path, "epoch 7 of 6");

    c = sample_checkpoint();
    ckpt_params[5] = NAN;
    assert_int_equal(ohlcx_cnn_checkpoint_save(&c, path), OHLCX_OK);
    expect_damaged(path, "weight 5 is nan");

    assert_int_equal(ohlcx_cnn_checkpoint_load("/nonexistent/x.ckpt", &loaded),
                     OHLCX_EIO);
    free(data);
}


static void resume_options(ohlcx_cnn_train_options *o, const char *path)
{
    ohlcx_cnn_train_options_default(o);
    o->batch_size = 16;
    o->max_epochs = 5;
    o->patience = 5;
    o->learning_rate = 1e-2f;
    o->seed = 31;
    o->checkpoint_path = path;
}


/* A training that fails during epoch 3 leaves the checkpoint of epoch 2.
 * Resuming from it on a network with other initial weights runs only epochs
 * 3 to 5 and ends with the weights, history and final checkpoint of a
 * training never interrupted. Resuming a finished checkpoint trains nothing
 * and gives the same weights again. */
static void train_resumes_from_checkpoint(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_train_options o;
    ohlcx_cnn_history full, resumed;
    ohlcx_cnn_checkpoint after_failure;
    enum { N_TRAIN = 50, N_VAL = 30 };
    test_source train_src, val_src;
    ohlcx_sample_source train = {fill_test_source, &train_src, N_TRAIN};
    ohlcx_sample_source validation = {fill_test_source, &val_src, N_VAL};
    char full_path[128], resumed_path[128];
    ohlcx_cnn *a = ohlcx_cnn_create(&c, 8);
    ohlcx_cnn *b = ohlcx_cnn_create(&c, 8);
    ohlcx_cnn *b2 = ohlcx_cnn_create(&c, 99);
    (void)state;

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(b2);
    snprintf(full_path, sizeof full_path, "%s/full.ckpt", temp_dir);
    snprintf(resumed_path, sizeof resumed_path, "%s/resumed.ckpt", temp_dir);

    test_source_init(&train_src, 700);
    test_source_init(&val_src, 800);
    resume_options(&o, full_path);
    assert_int_equal(ohlcx_cnn_train_source(a, &train, &validation, &o, &full),
                     OHLCX_OK);
    assert_int_equal(full.epochs, 5);

    /* 50 samples in batches of 16 make 4 fills an epoch, so fill 9 is the
     * first batch of epoch 3. */
    test_source_init(&train_src, 700);
    test_source_init(&val_src, 800);
    train_src.fail_call = 9;
    train_src.fail_code = OHLCX_EIO;
    resume_options(&o, resumed_path);
    assert_int_equal(ohlcx_cnn_train_source(b, &train, &validation, &o, NULL),
                     OHLCX_EIO);
    assert_int_equal(ohlcx_cnn_checkpoint_load(resumed_path, &after_failure),
                     OHLCX_OK);
    assert_int_equal(after_failure.epoch, 2);
    assert_int_equal(after_failure.finished, 0);
    assert_true(after_failure.adam_step == 8);
    ohlcx_cnn_checkpoint_free(&after_failure);

    test_source_init(&train_src, 700);
    test_source_init(&val_src, 800);
    o.resume = 1;
    assert_int_equal(ohlcx_cnn_train_source(b2, &train, &validation, &o,
                                            &resumed),
                     OHLCX_OK);
    assert_int_equal(train_src.calls, 4 * 3);
    assert_true(same_weights(a, b2));
    assert_int_equal(resumed.epochs, full.epochs);
    assert_int_equal(resumed.best_epoch, full.best_epoch);
    assert_memory_equal(resumed.train_loss, full.train_loss,
                        5 * sizeof(float));
    assert_memory_equal(resumed.val_loss, full.val_loss, 5 * sizeof(float));
    assert_true(same_file(full_path, resumed_path));

    test_source_init(&train_src, 700);
    test_source_init(&val_src, 800);
    assert_int_equal(ohlcx_cnn_train_source(b, &train, &validation, &o,
                                            &resumed),
                     OHLCX_OK);
    assert_int_equal(train_src.calls, 0);
    assert_int_equal(val_src.calls, 0);
    assert_true(same_weights(a, b));
    assert_int_equal(resumed.best_epoch, full.best_epoch);

    ohlcx_cnn_free(a);
    ohlcx_cnn_free(b);
    ohlcx_cnn_free(b2);
}


/* Resuming with another seed, another sample count or another network
 * configuration fails with OHLCX_EINVAL and trains nothing. */
static void train_resume_rejects_other_options(void **state)
{
    ohlcx_cnn_config c = tiny_config();
    ohlcx_cnn_config wider = tiny_config();
    ohlcx_cnn_train_options o;
    enum { N_TRAIN = 20, N_VAL = 10 };
    test_source train_src, val_src;
    ohlcx_sample_source train = {fill_test_source, &train_src, N_TRAIN};
    ohlcx_sample_source validation = {fill_test_source, &val_src, N_VAL};
    ohlcx_sample_source fewer = {fill_test_source, &train_src, N_TRAIN - 1};
    char path[128];
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 5);
    ohlcx_cnn *other;
    (void)state;

    wider.hidden = 6;
    other = ohlcx_cnn_create(&wider, 5);
    assert_non_null(cnn);
    assert_non_null(other);
    snprintf(path, sizeof path, "%s/state.ckpt", temp_dir);
    test_source_init(&train_src, 900);
    test_source_init(&val_src, 910);
    resume_options(&o, path);
    o.max_epochs = 2;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, &validation, &o, NULL),
                     OHLCX_OK);

    train_src.calls = 0;
    o.resume = 1;
    o.seed = 32;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, &validation, &o, NULL),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "seed 31"));

    o.seed = 31;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &fewer, &validation, &o, NULL),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "20 training"));

    assert_int_equal(ohlcx_cnn_train_source(other, &train, &validation, &o,
                                            NULL),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "another configuration"));
    assert_int_equal(train_src.calls, 0);

    ohlcx_cnn_free(cnn);
    ohlcx_cnn_free(other);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_match_finite_differences),
        cmocka_unit_test(gradients_single_sample),
        cmocka_unit_test(gradients_single_output_position),
        cmocka_unit_test(gradients_pointwise_kernels),
        cmocka_unit_test(gradients_unequal_kernels),
        cmocka_unit_test(param_names_in_block_order),
        cmocka_unit_test(readout_keeps_last_position),
        cmocka_unit_test(train_learns_planted_pattern),
        cmocka_unit_test(early_stopping_restores_best),
        cmocka_unit_test(train_is_deterministic),
        cmocka_unit_test(predict_handles_partial_chunk),
        cmocka_unit_test(save_load_round_trip),
        cmocka_unit_test(load_rejects_damaged_files),
        cmocka_unit_test(create_rejects_short_window),
        cmocka_unit_test(train_rejects_bad_input),
        cmocka_unit_test(train_without_validation),
        cmocka_unit_test(train_divergence_restores_weights),
        cmocka_unit_test(train_source_matches_arrays),
        cmocka_unit_test(train_source_fill_calls),
        cmocka_unit_test(train_source_fill_error_aborts),
        cmocka_unit_test(train_source_rejects_bad_samples),
        cmocka_unit_test(checkpoint_round_trip),
        cmocka_unit_test(checkpoint_rejects_damaged_files),
        cmocka_unit_test(train_resumes_from_checkpoint),
        cmocka_unit_test(train_resume_rejects_other_options),
    };

    /* The same specification holds for the oneDNN kernels: the gradient
     * checks, the determinism and every training test. */
    return run_on_each_kernel(tests, sizeof tests / sizeof tests[0]);
}
