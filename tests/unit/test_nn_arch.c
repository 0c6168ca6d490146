/*
 * Unit tests for the configurable CNN architecture. The gradient of every
 * layer and option (stage counts, dilation, pooling, batch normalisation,
 * dropout, symbol embedding) is checked against finite differences of an
 * independent double-precision forward pass. Further tests cover
 * hand-computed forward values, AdamW, the learning-rate schedules,
 * checkpoints and model files of non-default networks, version 1 model
 * files, and the configuration checks.
 *
 * The reference forward pass below is written from the architecture in
 * include/ohlcx/nn.h with direct loops, and reads the weights through the
 * parameter blocks in the order listed there.
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
#include "util/util.h"

/* Samples of the gradient checks. */
#define GRAD_SAMPLES 6


/* A small network of `stages` stages of 3, 4 and 3 filters with kernel 3 on
 * 2 channels and a window of 20 bars. */
static ohlcx_cnn_config small_config(int stages)
{
    static const int filters[] = {3, 4, 3};
    ohlcx_cnn_config c;

    ohlcx_cnn_config_default(&c);
    c.channels = 2;
    c.window = 20;
    c.hidden = 5;
    c.conv_count = stages;
    for (int i = 0; i < OHLCX_CNN_MAX_CONV; i++)
        c.conv[i] = (ohlcx_cnn_conv){0, 0, 0, 0};
    for (int i = 0; i < stages; i++)
        c.conv[i] = (ohlcx_cnn_conv){.filters = filters[i % 3], .kernel = 3,
                                     .dilation = 1, .pool = 1};
    return c;
}


/* ------------------------------------------------------------------------
 * Reference forward pass in double.
 */

/* The network's weights and running statistics in double, block by block. */
typedef struct ref_net {
    ohlcx_cnn_config config;
    int blocks;
    double *block[NN_MAX_BLOCKS];
    size_t size[NN_MAX_BLOCKS];
    double *running;
} ref_net;


static void ref_init(ref_net *r, ohlcx_cnn *cnn)
{
    size_t count = 0;
    float *running = ohlcx_cnn_running_stats(cnn, &count);

    memset(r, 0, sizeof *r);
    r->config = *ohlcx_cnn_get_config(cnn);
    r->blocks = ohlcx_cnn_param_count(cnn);
    for (int b = 0; b < r->blocks; b++) {
        const float *w = ohlcx_cnn_param(cnn, b, &r->size[b]);

        r->block[b] = malloc(r->size[b] * sizeof(double));
        assert_non_null(r->block[b]);
        for (size_t i = 0; i < r->size[b]; i++)
            r->block[b][i] = w[i];
    }
    r->running = malloc((count + 1) * sizeof(double));
    assert_non_null(r->running);
    for (size_t i = 0; i < count; i++)
        r->running[i] = running[i];
}


static void ref_free(ref_net *r)
{
    for (int b = 0; b < r->blocks; b++)
        free(r->block[b]);
    free(r->running);
}


/* Normalises z ([rows][f]) in place, filter by filter, with the batch's or
 * the running mean and variance, then scales and shifts. */
static void ref_batch_norm(double *z, size_t rows, int f, const double *gamma,
                           const double *beta, const double *running,
                           int training)
{
    for (int o = 0; o < f; o++) {
        double mean = running[o], var = running[f + o];

        if (training) {
            double sum = 0.0, squares = 0.0;

            for (size_t r = 0; r < rows; r++)
                sum += z[r * (size_t)f + (size_t)o];
            mean = sum / (double)rows;
            for (size_t r = 0; r < rows; r++) {
                double d = z[r * (size_t)f + (size_t)o] - mean;

                squares += d * d;
            }
            var = squares / (double)rows;
        }
        for (size_t r = 0; r < rows; r++) {
            double *v = &z[r * (size_t)f + (size_t)o];

            *v = gamma[o] * (*v - mean) / sqrt(var + 1e-5) + beta[o];
        }
    }
}


/* Runs stage i on in ([n][length][c_in], position-major) and returns its
 * output ([n][*out_length][f]), allocated. */
static double *ref_stage(const ref_net *r, int i, int *block, const double *in,
                         int n, int c_in, int length, int *out_length,
                         int training, nn_rng *rng, size_t *running)
{
    const ohlcx_cnn_config *c = &r->config;
    const ohlcx_cnn_conv *conv = &c->conv[i];
    int f = conv->filters, k = conv->kernel, d = conv->dilation;
    int l = length - (k - 1) * d, p = l / conv->pool;
    const double *w = r->block[(*block)++];
    const double *bias = r->block[(*block)++];
    double *z = calloc((size_t)n * (size_t)l * (size_t)f, sizeof *z);
    double *out = calloc((size_t)n * (size_t)p * (size_t)f, sizeof *out);

    assert_non_null(z);
    assert_non_null(out);
    for (int s = 0; s < n; s++)
        for (int t = 0; t < l; t++)
            for (int o = 0; o < f; o++) {
                double v = bias[o];

                for (int ch = 0; ch < c_in; ch++)
                    for (int j = 0; j < k; j++) {
                        int tap = i == 0 ? ch * k + j : j * c_in + ch;

                        v += w[o * k * c_in + tap] *
                             in[((size_t)s * (size_t)length + (size_t)(t + j * d)) *
                                (size_t)c_in + (size_t)ch];
                    }
                z[((size_t)s * (size_t)l + (size_t)t) * (size_t)f + (size_t)o] = v;
            }

    if (c->batch_norm) {
        const double *gamma = r->block[(*block)++];
        const double *beta = r->block[(*block)++];

        ref_batch_norm(z, (size_t)n * (size_t)l, f, gamma, beta,
                       r->running + *running, training);
        *running += 2 * (size_t)f;
    }

    for (int s = 0; s < n; s++)
        for (int u = 0; u < p; u++)
            for (int o = 0; o < f; o++) {
                double best = 0.0;

                for (int q = 0; q < conv->pool; q++) {
                    double v = z[((size_t)s * (size_t)l + (size_t)(u * conv->pool + q)) *
                                 (size_t)f + (size_t)o];

                    v = v > 0.0 ? v : 0.0;
                    best = v > best ? v : best;
                }
                out[((size_t)s * (size_t)p + (size_t)u) * (size_t)f + (size_t)o] = best;
            }

    if (training && c->dropout > 0.0f) {
        size_t count = (size_t)n * (size_t)p * (size_t)f;
        float *mask = malloc(count * sizeof *mask);

        assert_non_null(mask);
        nn_dropout_mask(rng, c->dropout, mask, count);
        for (size_t e = 0; e < count; e++)
            out[e] *= mask[e];
        free(mask);
    }
    free(z);
    *out_length = p;
    return out;
}


/* Returns the mean loss of the reference network on n samples. In training
 * mode batch normalisation uses batch statistics and dropout draws its masks
 * as the network does, from a generator seeded with dropout_seed. */
static double ref_loss(const ref_net *r, const float *x, const float *y,
                       const int32_t *ids, int n, int training,
                       uint64_t dropout_seed)
{
    const ohlcx_cnn_config *c = &r->config;
    int length = c->window, c_in = c->channels, block = 0;
    size_t running = 0;
    double *in = malloc((size_t)n * (size_t)length * (size_t)c_in * sizeof *in);
    double loss = 0.0;
    int width, f;
    nn_rng rng;

    assert_non_null(in);
    nn_rng_seed(&rng, dropout_seed);
    for (int s = 0; s < n; s++)
        for (int t = 0; t < length; t++)
            for (int ch = 0; ch < c_in; ch++)
                in[((size_t)s * (size_t)length + (size_t)t) * (size_t)c_in + (size_t)ch] =
                    x[((size_t)s * (size_t)c_in + (size_t)ch) * (size_t)length + (size_t)t];

    for (int i = 0; i < c->conv_count; i++) {
        int out_length;
        double *out = ref_stage(r, i, &block, in, n, c_in, length, &out_length,
                                training, &rng, &running);

        free(in);
        in = out;
        length = out_length;
        c_in = c->conv[i].filters;
    }

    f = c_in;
    width = 2 * f + c->symbol_dim;
    {
        const double *w1 = r->block[block], *b1 = r->block[block + 1];
        const double *w2 = r->block[block + 2], *b2 = r->block[block + 3];
        const double *table = c->symbols > 0 ? r->block[block + 4] : NULL;
        double *readout = malloc((size_t)width * sizeof *readout);
        double *hidden = malloc((size_t)n * (size_t)c->hidden * sizeof *hidden);
        float *mask = malloc((size_t)n * (size_t)c->hidden * sizeof *mask);

        assert_non_null(readout);
        assert_non_null(hidden);
        assert_non_null(mask);
        for (int s = 0; s < n; s++) {
            for (int o = 0; o < f; o++) {
                double sum = 0.0;

                for (int t = 0; t < length; t++)
                    sum += in[((size_t)s * (size_t)length + (size_t)t) * (size_t)f + (size_t)o];
                readout[o] = in[((size_t)s * (size_t)length + (size_t)(length - 1)) *
                                (size_t)f + (size_t)o];
                readout[f + o] = sum / length;
            }
            for (int k = 0; k < c->symbol_dim; k++)
                readout[2 * f + k] = table[ids[s] * c->symbol_dim + k];
            for (int h = 0; h < c->hidden; h++) {
                double v = b1[h];

                for (int e = 0; e < width; e++)
                    v += w1[h * width + e] * readout[e];
                hidden[s * c->hidden + h] = v > 0.0 ? v : 0.0;
            }
        }
        if (training && c->dropout > 0.0f) {
            nn_dropout_mask(&rng, c->dropout, mask, (size_t)n * (size_t)c->hidden);
            for (int e = 0; e < n * c->hidden; e++)
                hidden[e] *= mask[e];
        }
        for (int s = 0; s < n; s++) {
            double z = b2[0];

            for (int h = 0; h < c->hidden; h++)
                z += w2[h] * hidden[s * c->hidden + h];
            loss += fmax(z, 0.0) - z * y[s] + log1p(exp(-fabs(z)));
        }
        free(readout);
        free(hidden);
        free(mask);
    }
    free(in);
    return loss / n;
}


/* ------------------------------------------------------------------------
 * Gradient checks.
 */

/* Gives every bias, scale and shift a random value near its initial one,
 * so that their gradients do not vanish by symmetry, and the running
 * statistics values away from 0 and 1. */
static void perturb_network(ohlcx_cnn *cnn, uint64_t seed)
{
    uint64_t state = seed;
    size_t count = 0;
    float *running = ohlcx_cnn_running_stats(cnn, &count);

    for (int b = 0; b < ohlcx_cnn_param_count(cnn); b++) {
        const char *name = ohlcx_cnn_param_name(cnn, b);
        size_t size;
        float *w = ohlcx_cnn_param(cnn, b, &size);

        if (strstr(name, "bias") || strstr(name, "beta"))
            for (size_t i = 0; i < size; i++)
                w[i] = 0.2f * test_normal(&state);
        else if (strstr(name, "gamma"))
            for (size_t i = 0; i < size; i++)
                w[i] = 1.0f + 0.3f * test_normal(&state);
    }
    /* Means first, then variances, stage by stage; a variance stays
     * positive. */
    for (size_t i = 0; i < count; i++)
        running[i] = 0.5f + 0.25f * (float)test_uniform(&state);
}


/*
 * Checks the gradient of every parameter of a network of config c against
 * central differences of the reference loss, in evaluation or training mode.
 * Also checks that the network's loss equals the reference's, and that every
 * block has a nonzero gradient somewhere, except the convolution biases
 * under batch statistics, whose gradient the normalisation cancels.
 */
static void check_gradients(const ohlcx_cnn_config *c, int training,
                            uint64_t dropout_seed)
{
    enum { N = GRAD_SAMPLES };
    size_t sample = (size_t)c->channels * (size_t)c->window;
    float *x = malloc(N * sample * sizeof *x);
    float y[N];
    int32_t ids[N];
    double loss, h = 1e-6;
    ohlcx_cnn *cnn = ohlcx_cnn_create(c, 17);
    ref_net r;

    assert_non_null(cnn);
    assert_non_null(x);
    perturb_network(cnn, 5);
    fill_normal(x, N * sample, 3);
    for (int s = 0; s < N; s++) {
        y[s] = (float)(s % 2);
        ids[s] = c->symbols > 0 ? (int32_t)(s % c->symbols) : 0;
    }

    assert_int_equal(ohlcx_cnn_gradients_ids(cnn, x, y,
                                             c->symbols > 0 ? ids : NULL, N,
                                             training, dropout_seed, &loss),
                     OHLCX_OK);
    ref_init(&r, cnn);
    assert_true(fabs(ref_loss(&r, x, y, ids, N, training, dropout_seed) -
                     loss) <= 1e-5 * fmax(1.0, fabs(loss)));

    for (int b = 0; b < r.blocks; b++) {
        const char *name = ohlcx_cnn_param_name(cnn, b);
        const float *g = ohlcx_cnn_grad(cnn, b);
        int nonzero = 0;

        for (size_t i = 0; i < r.size[b]; i++) {
            double w = r.block[b][i], plus, minus, fd, tolerance;

            r.block[b][i] = w + h;
            plus = ref_loss(&r, x, y, ids, N, training, dropout_seed);
            r.block[b][i] = w - h;
            minus = ref_loss(&r, x, y, ids, N, training, dropout_seed);
            r.block[b][i] = w;
            fd = (plus - minus) / (2.0 * h);

            /* Float sums of a few hundred terms are good to about 1e-6 of
             * their size; the gradients here are of order 0.01 to 1. */
            tolerance = 1e-4 + 1e-3 * fabs(fd);
            if (fabs(g[i] - fd) > tolerance)
                fail_msg("%s[%zu]: gradient %.9g, finite difference %.9g", name,
                         i, (double)g[i], fd);
            nonzero |= fabs(fd) > 1e-6;
        }
        if (!(training && c->batch_norm && strstr(name, "conv") &&
              strstr(name, "bias")))
            assert_true(nonzero);
    }

    ref_free(&r);
    ohlcx_cnn_free(cnn);
    free(x);
}


static void gradients_one_stage(void **state)
{
    ohlcx_cnn_config c = small_config(1);
    (void)state;

    check_gradients(&c, 0, 0);
}


static void gradients_two_stages(void **state)
{
    ohlcx_cnn_config c = small_config(2);
    (void)state;

    check_gradients(&c, 0, 0);
}


static void gradients_three_stages(void **state)
{
    ohlcx_cnn_config c = small_config(3);
    (void)state;

    check_gradients(&c, 0, 0);
}


/* Dilation 2 then 3: receptive field 1 + 2 x 2 + 2 x 3 = 11 of 20 bars. */
static void gradients_dilation(void **state)
{
    ohlcx_cnn_config c = small_config(2);
    (void)state;

    c.conv[0].dilation = 2;
    c.conv[1].dilation = 3;
    check_gradients(&c, 0, 0);
}


/* Pooling 2 after both stages: 20 -> 18 -> 9 -> 7 -> 3 positions. */
static void gradients_pooling(void **state)
{
    ohlcx_cnn_config c = small_config(2);
    (void)state;

    c.conv[0].pool = 2;
    c.conv[1].pool = 2;
    check_gradients(&c, 0, 0);
}


static void gradients_batch_norm_training(void **state)
{
    ohlcx_cnn_config c = small_config(2);
    (void)state;

    c.batch_norm = 1;
    check_gradients(&c, 1, 0);
}


static void gradients_batch_norm_eval(void **state)
{
    ohlcx_cnn_config c = small_config(2);
    (void)state;

    c.batch_norm = 1;
    check_gradients(&c, 0, 0);
}


/* With the masks fixed by the seed, training-mode dropout is a fixed
 * network, whose gradient matches finite differences. */
static void gradients_dropout_training(void **state)
{
    ohlcx_cnn_config c = small_config(2);
    (void)state;

    c.dropout = 0.3f;
    check_gradients(&c, 1, 77);
}


static void gradients_symbol_embedding(void **state)
{
    ohlcx_cnn_config c = small_config(2);
    (void)state;

    c.symbols = 4;
    c.symbol_dim = 3;
    check_gradients(&c, 0, 0);
}


/* Every option at once, in training mode. */
static void gradients_all_options(void **state)
{
    ohlcx_cnn_config c = small_config(3);
    (void)state;

    c.window = 30;
    c.conv[0].dilation = 2;
    c.conv[1].pool = 2;
    c.conv[2].dilation = 2;
    c.batch_norm = 1;
    c.dropout = 0.2f;
    c.symbols = 3;
    check_gradients(&c, 1, 5);
}


/* In evaluation, dropout does nothing: a network with p = 0.5 has the loss
 * and gradients of the same weights with p = 0, bit for bit. Three stages
 * keep both on the sgemm kernels, because oneDNN serves only the network
 * without dropout. */
static void dropout_eval_matches_no_dropout(void **state)
{
    ohlcx_cnn_config c = small_config(3);
    enum { N = GRAD_SAMPLES };
    float x[N * 40], y[N];
    double loss_drop, loss_plain;
    ohlcx_cnn *plain, *drop;
    (void)state;

    plain = ohlcx_cnn_create(&c, 9);
    c.dropout = 0.5f;
    drop = ohlcx_cnn_create(&c, 9);
    assert_non_null(plain);
    assert_non_null(drop);
    fill_normal(x, N * 40, 12);
    for (int s = 0; s < N; s++)
        y[s] = (float)(s % 2);

    assert_int_equal(ohlcx_cnn_gradients(plain, x, y, N, &loss_plain), OHLCX_OK);
    assert_int_equal(ohlcx_cnn_gradients(drop, x, y, N, &loss_drop), OHLCX_OK);
    assert_true(loss_plain == loss_drop);
    for (int b = 0; b < ohlcx_cnn_param_count(plain); b++) {
        size_t size;

        ohlcx_cnn_param(plain, b, &size);
        assert_memory_equal(ohlcx_cnn_grad(plain, b), ohlcx_cnn_grad(drop, b),
                            size * sizeof(float));
    }

    /* In training the masks change the loss. */
    assert_int_equal(ohlcx_cnn_gradients_ids(drop, x, y, NULL, N, 1, 3,
                                             &loss_drop), OHLCX_OK);
    assert_true(loss_plain != loss_drop);
    ohlcx_cnn_free(plain);
    ohlcx_cnn_free(drop);
}


static void block_names_follow_config(void **state)
{
    static const char *const expected[] = {
        "conv1.weight", "conv1.bias", "bn1.gamma", "bn1.beta",
        "conv2.weight", "conv2.bias", "bn2.gamma", "bn2.beta",
        "conv3.weight", "conv3.bias", "bn3.gamma", "bn3.beta",
        "dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias",
        "symbol.embedding",
    };
    ohlcx_cnn_config c = small_config(3);
    ohlcx_cnn *cnn;
    size_t size = 0;
    (void)state;

    c.batch_norm = 1;
    c.symbols = 5; /* symbol_dim 0 means the default, 8 */
    cnn = ohlcx_cnn_create(&c, 1);
    assert_non_null(cnn);
    assert_int_equal(ohlcx_cnn_param_count(cnn), 17);
    for (int b = 0; b < 17; b++)
        assert_string_equal(ohlcx_cnn_param_name(cnn, b), expected[b]);
    assert_null(ohlcx_cnn_param_name(cnn, 17));

    /* conv2: 4 filters x kernel 3 x 3 input filters; dense1 reads 2 x 3
     * features of the last stage and 8 of the embedding. */
    ohlcx_cnn_param(cnn, 4, &size);
    assert_int_equal(size, 4 * 3 * 3);
    ohlcx_cnn_param(cnn, 12, &size);
    assert_int_equal(size, 5 * (2 * 3 + 8));
    ohlcx_cnn_param(cnn, 16, &size);
    assert_int_equal(size, 5 * 8);
    assert_int_equal(ohlcx_cnn_get_config(cnn)->symbol_dim, 8);
    assert_float_equal(ohlcx_cnn_param(cnn, 2, NULL)[0], 1.0f, 0.0f);
    ohlcx_cnn_running_stats(cnn, &size);
    assert_int_equal(size, 2 * (3 + 4 + 3));
    ohlcx_cnn_free(cnn);
}


/* ------------------------------------------------------------------------
 * Hand-computed values.
 */

/*
 * One channel, a window of 7, one stage of one filter with kernel 2,
 * dilation 2 and pool 2, hidden 2. With taps (1, -0.5) and bias 0 the
 * convolution of x = 1 .. 7 is x[t] - 0.5 x[t + 2] for t = 0 .. 4:
 * -0.5, 0, 0.5, 1, 1.5; after ReLU 0, 0, 0.5, 1, 1.5; pooled in pairs
 * (the fifth position dropped): 0, 1. The readout is last 1, mean 0.5.
 * dense1 row 0 (1, 1) gives 1.5; row 1 (-1, -1) gives 0 after ReLU. dense2
 * (2, 3) with bias -1 gives the logit 2 x 1.5 - 1 = 2.
 */
static ohlcx_cnn *hand_network(void)
{
    ohlcx_cnn_config c;
    ohlcx_cnn *cnn;

    ohlcx_cnn_config_default(&c);
    c.channels = 1;
    c.window = 7;
    c.conv_count = 1;
    c.conv[0] = (ohlcx_cnn_conv){.filters = 1, .kernel = 2, .dilation = 2,
                                 .pool = 2};
    c.hidden = 2;
    cnn = ohlcx_cnn_create(&c, 1);
    assert_non_null(cnn);

    ohlcx_cnn_param(cnn, 0, NULL)[0] = 1.0f;
    ohlcx_cnn_param(cnn, 0, NULL)[1] = -0.5f;
    ohlcx_cnn_param(cnn, 1, NULL)[0] = 0.0f;
    for (int i = 0; i < 2; i++) {
        ohlcx_cnn_param(cnn, 2, NULL)[i] = 1.0f;
        ohlcx_cnn_param(cnn, 2, NULL)[2 + i] = -1.0f;
        ohlcx_cnn_param(cnn, 3, NULL)[i] = 0.0f;
    }
    ohlcx_cnn_param(cnn, 4, NULL)[0] = 2.0f;
    ohlcx_cnn_param(cnn, 4, NULL)[1] = 3.0f;
    ohlcx_cnn_param(cnn, 5, NULL)[0] = -1.0f;
    return cnn;
}


static void forward_dilation_and_pooling(void **state)
{
    const float x[7] = {1, 2, 3, 4, 5, 6, 7};
    float prob, embedding[2];
    ohlcx_cnn *cnn = hand_network();
    (void)state;

    assert_int_equal(ohlcx_cnn_predict(cnn, x, 1, &prob, embedding), OHLCX_OK);
    assert_float_equal(embedding[0], 1.5f, 1e-6f);
    assert_float_equal(embedding[1], 0.0f, 0.0f);
    assert_float_equal(prob, 1.0 / (1.0 + exp(-2.0)), 1e-6f); /* 0.8808 */
    ohlcx_cnn_free(cnn);
}


/*
 * One AdamW step of the hand network on its one sample, labelled 0, with
 * learning rate 0.1 and weight decay 0.5. The first Adam step moves each
 * weight by lr g / (|g| + eps), lr when g != 0, after multiplying a
 * decaying weight by 1 - 0.1 x 0.5 = 0.95:
 *   dense2.weight[0] = 2: g = p h = 0.88 x 1.5 > 0, 2 x 0.95 - 0.1 = 1.8
 *   dense2.weight[1] = 3: g = 0 (dead unit), 3 x 0.95 = 2.85
 *   dense1.weight row 1 = -1: g = 0, -0.95
 *   dense2.bias = -1: g = p > 0, no decay, -1.1
 *   dense1.bias[1] = 0: g = 0, no decay, 0
 */
static void adamw_step_matches_hand_values(void **state)
{
    const float x[7] = {1, 2, 3, 4, 5, 6, 7};
    const float y[1] = {0.0f};
    ohlcx_cnn_train_options o;
    ohlcx_cnn *cnn = hand_network();
    (void)state;

    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 1;
    o.max_epochs = 1;
    o.learning_rate = 0.1f;
    o.weight_decay = 0.5f;
    assert_int_equal(ohlcx_cnn_train(cnn, x, y, 1, NULL, NULL, 0, &o, NULL),
                     OHLCX_OK);

    assert_float_equal(ohlcx_cnn_param(cnn, 4, NULL)[0], 1.8f, 1e-6f);
    assert_float_equal(ohlcx_cnn_param(cnn, 4, NULL)[1], 2.85f, 1e-6f);
    assert_float_equal(ohlcx_cnn_param(cnn, 2, NULL)[2], -0.95f, 1e-6f);
    assert_float_equal(ohlcx_cnn_param(cnn, 2, NULL)[3], -0.95f, 1e-6f);
    assert_float_equal(ohlcx_cnn_param(cnn, 5, NULL)[0], -1.1f, 1e-6f);
    assert_float_equal(ohlcx_cnn_param(cnn, 3, NULL)[1], 0.0f, 0.0f);
    ohlcx_cnn_free(cnn);
}


/* STEP with learning rate 0.1, every 2 epochs, gamma 0.5: 0.1, 0.1, 0.05,
 * 0.05, 0.025. COSINE over 4 epochs: 0.1 x 0.5 (1 + cos(pi e / 4)) for
 * e = 0 .. 3 is 0.1, 0.0853553, 0.05, 0.0146447. CONSTANT stays 0.1. */
static void schedules_give_hand_rates(void **state)
{
    const float step[5] = {0.1f, 0.1f, 0.05f, 0.05f, 0.025f};
    const float cosine[4] = {0.1f, 0.0853553f, 0.05f, 0.0146447f};
    ohlcx_cnn_train_options o;
    (void)state;

    ohlcx_cnn_train_options_default(&o);
    o.learning_rate = 0.1f;
    for (int e = 0; e < 5; e++)
        assert_float_equal(ohlcx_cnn_epoch_learning_rate(&o, e), 0.1f, 0.0f);

    o.lr_schedule = OHLCX_LR_STEP;
    o.lr_step_epochs = 2;
    o.lr_gamma = 0.5f;
    for (int e = 0; e < 5; e++)
        assert_float_equal(ohlcx_cnn_epoch_learning_rate(&o, e), step[e], 1e-7f);

    o.lr_schedule = OHLCX_LR_COSINE;
    o.max_epochs = 4;
    for (int e = 0; e < 4; e++)
        assert_float_equal(ohlcx_cnn_epoch_learning_rate(&o, e), cosine[e],
                           1e-7f);
}


/* ------------------------------------------------------------------------
 * Training from a source with symbol ids, checkpoints, model files.
 */

typedef struct id_source {
    ohlcx_cnn_config config;
    uint64_t seed;
    int calls;
    int fail_call;  /* fill call that fails with OHLCX_EIO, or 0 */
    int bad_sample; /* sample that gets an id out of range, or -1 */
} id_source;


/* Sample i: normal features, label the sign of channel 0's last bar, symbol
 * id i mod symbols (NULL ids without symbols). */
static int fill_id_source(void *context, const size_t *indices, size_t count,
                          float *x, float *y, int32_t *ids)
{
    id_source *src = context;
    size_t sample = (size_t)src->config.channels * (size_t)src->config.window;

    src->calls++;
    if (src->calls == src->fail_call)
        return ohlcx_set_error(OHLCX_EIO, "test source: call %d failed",
                               src->calls);
    for (size_t s = 0; s < count; s++) {
        float *xs = x + s * sample;

        fill_normal(xs, sample, src->seed + indices[s]);
        y[s] = xs[src->config.window - 1] > 0.0f ? 1.0f : 0.0f;
        if (ids != NULL)
            ids[s] = (int32_t)(indices[s] % (size_t)src->config.symbols);
        if (ids != NULL && (int)indices[s] == src->bad_sample)
            ids[s] = src->config.symbols;
    }
    return 0;
}


static ohlcx_cnn_config rich_config(void)
{
    ohlcx_cnn_config c = small_config(3);

    c.window = 30;
    c.conv[0].dilation = 2;
    c.conv[1].pool = 2;
    c.batch_norm = 1;
    c.dropout = 0.25f;
    c.symbols = 3;
    c.symbol_dim = 2;
    return c;
}


/* Trains c for 4 epochs with weight decay and a schedule, once
 * uninterrupted and once killed in epoch 3 and resumed on a network with
 * other initial weights. Both must end bit-identical, checkpoints
 * included. */
static void check_resume(const ohlcx_cnn_config *c, int schedule)
{
    enum { N_TRAIN = 40, N_VAL = 20 };
    id_source train_src = {*c, 100, 0, 0, -1};
    id_source val_src = {*c, 900, 0, 0, -1};
    ohlcx_sample_source train = {fill_id_source, &train_src, N_TRAIN};
    ohlcx_sample_source validation = {fill_id_source, &val_src, N_VAL};
    ohlcx_cnn_train_options o;
    ohlcx_cnn_history full, resumed;
    char full_path[128], resumed_path[128];
    ohlcx_cnn *a = ohlcx_cnn_create(c, 8);
    ohlcx_cnn *b = ohlcx_cnn_create(c, 8);
    ohlcx_cnn *b2 = ohlcx_cnn_create(c, 99);

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(b2);
    snprintf(full_path, sizeof full_path, "%s/full.ckpt", temp_dir);
    snprintf(resumed_path, sizeof resumed_path, "%s/resumed.ckpt", temp_dir);
    remove(full_path);
    remove(resumed_path);

    ohlcx_cnn_train_options_default(&o);
    o.batch_size = 16;
    o.max_epochs = 4;
    o.patience = 4;
    o.learning_rate = 1e-2f;
    o.seed = 31;
    o.weight_decay = 0.01f;
    o.lr_schedule = schedule;
    o.lr_step_epochs = 2;
    o.lr_gamma = 0.5f;
    o.checkpoint_path = full_path;
    assert_int_equal(ohlcx_cnn_train_source(a, &train, &validation, &o, &full),
                     OHLCX_OK);
    assert_int_equal(full.epochs, 4);

    /* 40 samples in batches of 16 make 3 fills an epoch, so fill 7 is the
     * first batch of epoch 3. */
    train_src.calls = 0;
    train_src.fail_call = 7;
    o.checkpoint_path = resumed_path;
    assert_int_equal(ohlcx_cnn_train_source(b, &train, &validation, &o, NULL),
                     OHLCX_EIO);

    train_src.calls = 0;
    train_src.fail_call = 0;
    o.resume = 1;
    assert_int_equal(ohlcx_cnn_train_source(b2, &train, &validation, &o,
                                            &resumed),
                     OHLCX_OK);
    assert_int_equal(train_src.calls, 3 * 2);
    assert_true(same_weights(a, b2));
    assert_memory_equal(resumed.train_loss, full.train_loss, 4 * sizeof(float));
    assert_memory_equal(resumed.val_loss, full.val_loss, 4 * sizeof(float));
    assert_true(same_file(full_path, resumed_path));

    /* Another weight decay is refused. */
    o.weight_decay = 0.02f;
    assert_int_equal(ohlcx_cnn_train_source(b2, &train, &validation, &o, NULL),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "weight_decay 0.01"));

    ohlcx_cnn_free(a);
    ohlcx_cnn_free(b);
    ohlcx_cnn_free(b2);
}


static void resume_is_bit_identical_step(void **state)
{
    ohlcx_cnn_config c = rich_config();
    (void)state;

    check_resume(&c, OHLCX_LR_STEP);
}


static void resume_is_bit_identical_cosine(void **state)
{
    ohlcx_cnn_config c = rich_config();
    (void)state;

    check_resume(&c, OHLCX_LR_COSINE);
}


/* A symbol id out of range in a filled batch stops training with a message
 * that names the sample and the id. */
static void train_rejects_bad_symbol_id(void **state)
{
    ohlcx_cnn_config c = rich_config();
    id_source src = {c, 100, 0, 0, 13};
    ohlcx_sample_source train = {fill_id_source, &src, 20};
    ohlcx_cnn_train_options o;
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 2);
    (void)state;

    ohlcx_cnn_train_options_default(&o);
    o.max_epochs = 1;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, NULL, &o, NULL),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "sample 13 has symbol id 3"));
    ohlcx_cnn_free(cnn);
}


/* Prediction needs ids exactly when the network has a symbol embedding. */
static void predict_checks_symbol_ids(void **state)
{
    ohlcx_cnn_config c = rich_config();
    float x[2 * 60], prob[2];
    int32_t ids[2] = {0, 5};
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 2);
    (void)state;

    fill_normal(x, 2 * 60, 4);
    assert_int_equal(ohlcx_cnn_predict(cnn, x, 2, prob, NULL), OHLCX_EINVAL);
    assert_int_equal(ohlcx_cnn_predict_ids(cnn, x, ids, 2, prob, NULL),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "sample 1 has symbol id 5"));
    ids[1] = 2;
    assert_int_equal(ohlcx_cnn_predict_ids(cnn, x, ids, 2, prob, NULL),
                     OHLCX_OK);
    assert_true(prob[0] > 0.0f && prob[0] < 1.0f);
    assert_true(isnan(ohlcx_cnn_loss(cnn, x, prob, 2)));
    ohlcx_cnn_free(cnn);
}


/* A trained non-default network, running statistics included, survives a
 * save and load bit for bit, and predicts the same. */
static void save_load_rich_network(void **state)
{
    ohlcx_cnn_config c = rich_config();
    id_source src = {c, 100, 0, 0, -1};
    ohlcx_sample_source train = {fill_id_source, &src, 40};
    ohlcx_cnn_train_options o;
    float x[4 * 60], before[4], after[4];
    int32_t ids[4] = {0, 1, 2, 1};
    char path[128];
    size_t count = 0;
    float *running;
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 2);
    ohlcx_cnn *loaded = NULL;
    (void)state;

    ohlcx_cnn_train_options_default(&o);
    o.max_epochs = 2;
    o.batch_size = 8;
    assert_int_equal(ohlcx_cnn_train_source(cnn, &train, NULL, &o, NULL),
                     OHLCX_OK);
    /* Training moved the running means away from 0: after 10 batches each
     * is 1 - 0.9^10 = 65% of a batch-mean average. */
    running = ohlcx_cnn_running_stats(cnn, &count);
    assert_int_equal(count, 2 * (3 + 4 + 3));
    assert_true(running[0] != 0.0f);

    snprintf(path, sizeof path, "%s/rich.cnn", temp_dir);
    assert_int_equal(ohlcx_cnn_save(cnn, path), OHLCX_OK);
    assert_int_equal(ohlcx_cnn_load(path, &loaded), OHLCX_OK);
    assert_memory_equal(ohlcx_cnn_get_config(loaded), ohlcx_cnn_get_config(cnn),
                        sizeof c);
    assert_true(same_weights(cnn, loaded));

    fill_normal(x, 4 * 60, 6);
    assert_int_equal(ohlcx_cnn_predict_ids(cnn, x, ids, 4, before, NULL),
                     OHLCX_OK);
    assert_int_equal(ohlcx_cnn_predict_ids(loaded, x, ids, 4, after, NULL),
                     OHLCX_OK);
    assert_memory_equal(before, after, sizeof before);
    ohlcx_cnn_free(cnn);
    ohlcx_cnn_free(loaded);
}


static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}


/* A version 1 file, written by hand in that layout (48-byte header: magic,
 * version 1, channels, window, kernel1, filters1, kernel2, filters2, hidden,
 * parameter count, then the parameters), loads as the two-stage network it
 * describes with the same weights and predictions. */
static void load_version_1_file(void **state)
{
    ohlcx_cnn_config c = small_config(2);
    const int32_t fields[7] = {2, 20, 3, 3, 3, 4, 5};
    unsigned char header[48];
    float x[3 * 40], before[3], after[3];
    char path[128];
    size_t params;
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 3);
    ohlcx_cnn *loaded = NULL;
    FILE *f;
    (void)state;

    params = cnn->offset[cnn->block_count];
    memcpy(header, "OHLCXCNN", 8);
    put_le32(header + 8, 1);
    for (int i = 0; i < 7; i++)
        put_le32(header + 12 + 4 * i, (uint32_t)fields[i]);
    put_le32(header + 40, (uint32_t)params);
    put_le32(header + 44, 0);

    snprintf(path, sizeof path, "%s/v1.cnn", temp_dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(header, 1, 48, f), 48);
    /* x86-64 stores floats little-endian, as the format does. */
    assert_int_equal(fwrite(cnn->params, sizeof(float), params, f), params);
    assert_int_equal(fclose(f), 0);

    assert_int_equal(ohlcx_cnn_load(path, &loaded), OHLCX_OK);
    assert_memory_equal(ohlcx_cnn_get_config(loaded), ohlcx_cnn_get_config(cnn),
                        sizeof c);
    assert_true(same_weights(cnn, loaded));
    fill_normal(x, 3 * 40, 8);
    assert_int_equal(ohlcx_cnn_predict(cnn, x, 3, before, NULL), OHLCX_OK);
    assert_int_equal(ohlcx_cnn_predict(loaded, x, 3, after, NULL), OHLCX_OK);
    assert_memory_equal(before, after, sizeof before);
    ohlcx_cnn_free(cnn);
    ohlcx_cnn_free(loaded);
}


/* A version 2 model file with a damaged stage count, a truncated
 * configuration or a corrupt running statistic fails with OHLCX_EFORMAT. */
static void load_rejects_damaged_config(void **state)
{
    ohlcx_cnn_config c = rich_config();
    ohlcx_cnn *cnn = ohlcx_cnn_create(&c, 2);
    ohlcx_cnn *loaded = NULL;
    char path[128];
    const char *damaged;
    unsigned char *data;
    size_t size = 0;
    (void)state;

    snprintf(path, sizeof path, "%s/rich.cnn", temp_dir);
    assert_int_equal(ohlcx_cnn_save(cnn, path), OHLCX_OK);
    data = read_whole(path, &size);
    assert_non_null(data);

    /* conv_count is the int32 at byte 20, after magic, version, channels
     * and window. */
    data[20] = 9;
    damaged = write_temp_file("count.cnn", data, size);
    assert_int_equal(ohlcx_cnn_load(damaged, &loaded), OHLCX_EFORMAT);
    assert_non_null(strstr(ohlcx_last_error(), "invalid conv_count 9"));
    data[20] = 3;

    damaged = write_temp_file("short.cnn", data, 40);
    assert_int_equal(ohlcx_cnn_load(damaged, &loaded), OHLCX_EFORMAT);
    assert_non_null(strstr(ohlcx_last_error(), "truncated"));

    /* The last 4 bytes are the last running variance. */
    memset(data + size - 4, 0xff, 4);
    damaged = write_temp_file("nan.cnn", data, size);
    assert_int_equal(ohlcx_cnn_load(damaged, &loaded), OHLCX_EFORMAT);
    assert_non_null(strstr(ohlcx_last_error(), "running statistic 19 is"));
    assert_null(loaded);

    free(data);
    ohlcx_cnn_free(cnn);
}


static void put_le64(unsigned char *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}


static size_t put_float_le(unsigned char *p, float value)
{
    uint32_t bits;

    memcpy(&bits, &value, 4);
    put_le32(p, bits);
    return 4;
}


/* A version 1 checkpoint, written by hand in that layout, loads with the
 * defaults for what it lacks and the dropout generator in its seeded state.
 * That layout has the config as seven int32 fields, options without weight
 * decay or schedule, one generator and no running statistics. */
static void load_version_1_checkpoint(void **state)
{
    const int32_t fields[7] = {2, 20, 3, 3, 3, 4, 5};
    const size_t order[4] = {3, 1, 0, 2};
    ohlcx_cnn_config c = small_config(2);
    size_t params = nn_param_count(&c);
    size_t size = 144 + 8 + 8 + 16 * params + 8 * 4 + 64;
    unsigned char *data = calloc(size, 1);
    ohlcx_cnn_checkpoint loaded;
    char path[128], digest[65];
    nn_rng dropout;
    size_t p = 0;
    FILE *f;
    (void)state;

    assert_non_null(data);
    memcpy(data, "OHLCXCKP", 8);
    put_le32(data + 8, 1);
    p = 12;
    for (int i = 0; i < 7; i++, p += 4)
        put_le32(data + p, (uint32_t)fields[i]);
    put_le32(data + p, 4);       /* batch_size */
    put_le32(data + p + 4, 3);   /* max_epochs */
    put_le32(data + p + 8, 2);   /* patience */
    p += 12;
    p += put_float_le(data + p, 0.01f);
    put_le64(data + p, 77);      /* seed */
    put_le64(data + p + 8, 4);   /* train_count */
    put_le64(data + p + 16, 2);  /* val_count */
    put_le32(data + p + 24, 1);  /* epoch */
    put_le32(data + p + 28, 0);  /* finished */
    put_le32(data + p + 32, 0);  /* stale */
    p += 36;
    {
        double best_val = 0.5;
        uint64_t bits;

        memcpy(&bits, &best_val, 8);
        put_le64(data + p, bits);
    }
    put_le64(data + p + 8, 1);   /* adam_step */
    p += 16;
    for (uint64_t i = 0; i < 4; i++, p += 8)
        put_le64(data + p, i + 1); /* rng_state */
    put_le32(data + p, 1);       /* best_epoch */
    p += 4;
    assert_int_equal(p, 144);
    p += put_float_le(data + p, 0.7f);
    p += put_float_le(data + p, 0.6f);
    put_le64(data + p, params);
    p += 8;
    for (int array = 0; array < 4; array++)
        for (size_t i = 0; i < params; i++)
            p += put_float_le(data + p, (float)array + 0.001f * (float)i);
    for (int i = 0; i < 4; i++, p += 8)
        put_le64(data + p, order[i]);
    ohlcx_sha256_hex(data, p, digest);
    memcpy(data + p, digest, 64);
    assert_int_equal(p + 64, size);

    snprintf(path, sizeof path, "%s/v1.ckpt", temp_dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);

    assert_int_equal(ohlcx_cnn_checkpoint_load(path, &loaded), OHLCX_OK);
    assert_memory_equal(&loaded.config, &c, sizeof c);
    assert_int_equal(loaded.batch_size, 4);
    assert_true(loaded.seed == 77);
    assert_true(loaded.weight_decay == 0.0f);
    assert_int_equal(loaded.lr_schedule, OHLCX_LR_CONSTANT);
    assert_int_equal(loaded.lr_step_epochs, 10);
    assert_true(loaded.lr_gamma == 0.1f);
    nn_dropout_rng_seed(&dropout, 77);
    assert_memory_equal(loaded.dropout_rng_state, dropout.state,
                        sizeof dropout.state);
    assert_int_equal(loaded.running_count, 0);
    assert_true(loaded.params[5] == 0.0f + 0.001f * 5.0f); /* as written */
    assert_true(loaded.best_params[0] == 3.0f);
    assert_memory_equal(loaded.order, order, sizeof order);
    assert_true(loaded.history.val_loss[0] == 0.6f);
    ohlcx_cnn_checkpoint_free(&loaded);
    free(data);
}


/* Each invalid configuration fails with a message naming its field. */
static void create_rejects_invalid_configs(void **state)
{
    const struct {
        int field;
        int value;
        const char *message;
    } cases[] = {
        {0, 0, "conv_count 0"},
        {0, 9, "conv_count 9"},
        {1, 0, "conv[1].dilation 0"},
        {2, 0, "conv[0].filters 0"},
        {3, 7, "conv[1]: output length 4 (window 20) is shorter than pool 7"},
        {4, 9, "conv[0]: input length 9 (window 9) is shorter than the "
               "receptive field"},
        {5, 1, "symbol_dim 1"},
        {6, 0, "invalid dropout 1"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ohlcx_cnn_config c = small_config(2);

        switch (cases[i].field) {
        case 0: c.conv_count = cases[i].value; break;
        case 1: c.conv[1].dilation = cases[i].value; break;
        case 2: c.conv[0].filters = cases[i].value; break;
        case 3: c.conv[0].dilation = 7; c.conv[1].pool = cases[i].value; break;
        case 4: c.window = cases[i].value; c.conv[0].dilation = 5; break;
        case 5: c.symbol_dim = cases[i].value; break;
        case 6: c.dropout = 1.0f; break;
        }
        assert_null(ohlcx_cnn_create(&c, 1));
        if (strstr(ohlcx_last_error(), cases[i].message) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, ohlcx_last_error(),
                     cases[i].message);
    }
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_one_stage),
        cmocka_unit_test(gradients_two_stages),
        cmocka_unit_test(gradients_three_stages),
        cmocka_unit_test(gradients_dilation),
        cmocka_unit_test(gradients_pooling),
        cmocka_unit_test(gradients_batch_norm_training),
        cmocka_unit_test(gradients_batch_norm_eval),
        cmocka_unit_test(gradients_dropout_training),
        cmocka_unit_test(gradients_symbol_embedding),
        cmocka_unit_test(gradients_all_options),
        cmocka_unit_test(dropout_eval_matches_no_dropout),
        cmocka_unit_test(block_names_follow_config),
        cmocka_unit_test(forward_dilation_and_pooling),
        cmocka_unit_test(adamw_step_matches_hand_values),
        cmocka_unit_test(schedules_give_hand_rates),
        cmocka_unit_test(resume_is_bit_identical_step),
        cmocka_unit_test(resume_is_bit_identical_cosine),
        cmocka_unit_test(train_rejects_bad_symbol_id),
        cmocka_unit_test(predict_checks_symbol_ids),
        cmocka_unit_test(save_load_rich_network),
        cmocka_unit_test(load_version_1_file),
        cmocka_unit_test(load_version_1_checkpoint),
        cmocka_unit_test(load_rejects_damaged_config),
        cmocka_unit_test(create_rejects_invalid_configs),
    };

    /* Networks that oneDNN serves (two plain stages, as in the two-stage
     * and symbol-embedding checks) run on it here; the rest keep sgemm. */
    return run_on_each_kernel(tests, sizeof tests / sizeof tests[0]);
}
