/*
 * The CNN object: configuration, He-initialised parameters, parameter block
 * access, gradients, prediction and loss.
 *
 * All parameters sit in one float array in the block order of enum nn_block,
 * so Adam, saving and copying the best weights each walk one array. Inference
 * never writes to the network: ohlcx_cnn_predict() and ohlcx_cnn_loss() keep
 * their activations in a workspace of their own, so several threads may call
 * them on the same network at once.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"

static const char *const block_names[NN_BLOCK_COUNT] = {
    "conv1.weight",  "conv1.bias",  "conv2.weight",  "conv2.bias",
    "dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias",
};


void ohlcx_cnn_config_default(ohlcx_cnn_config *config)
{
    config->channels = 5;
    config->window = 64;
    config->kernel1 = 5;
    config->filters1 = 32;
    config->kernel2 = 5;
    config->filters2 = 64;
    config->hidden = 32;
}


void ohlcx_cnn_train_options_default(ohlcx_cnn_train_options *options)
{
    options->batch_size = 256;
    options->max_epochs = 20;
    options->patience = 3;
    options->learning_rate = 1e-3f;
    options->seed = 0;
    options->verbose = 0;
    options->progress = NULL;
    options->progress_context = NULL;
    options->checkpoint_path = NULL;
    options->resume = 0;
}


/* Checks every field of config. The message starts with where, which names
 * the caller (a file path when loading). */
int nn_config_check(const ohlcx_cnn_config *config, const char *where)
{
    const struct {
        const char *name;
        int value;
    } fields[] = {
        {"channels", config->channels}, {"window", config->window},
        {"kernel1", config->kernel1},   {"filters1", config->filters1},
        {"kernel2", config->kernel2},   {"filters2", config->filters2},
        {"hidden", config->hidden},
    };

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].value < 1 || fields[i].value > NN_MAX_DIM)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "%s: invalid %s %d: expected 1 to %d",
                                   where, fields[i].name, fields[i].value,
                                   NN_MAX_DIM);

    if ((size_t)config->channels * (size_t)config->window > INT_MAX ||
        (size_t)config->kernel2 * (size_t)config->filters1 > INT_MAX)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "%s: channels x window or kernel2 x filters1 "
                               "exceeds %d, the largest sgemm dimension",
                               where, INT_MAX);

    if (config->window < config->kernel1 + config->kernel2 - 1)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "%s: window %d is shorter than the receptive "
                               "field kernel1 + kernel2 - 1 = %d: lengthen "
                               "the window or shorten the kernels",
                               where, config->window,
                               config->kernel1 + config->kernel2 - 1);
    return OHLCX_OK;
}


static void block_sizes(const ohlcx_cnn_config *c, size_t sizes[NN_BLOCK_COUNT])
{
    sizes[NN_CONV1_WEIGHT] = (size_t)c->filters1 * (size_t)c->channels *
                             (size_t)c->kernel1;
    sizes[NN_CONV1_BIAS] = (size_t)c->filters1;
    sizes[NN_CONV2_WEIGHT] = (size_t)c->filters2 * (size_t)c->kernel2 *
                             (size_t)c->filters1;
    sizes[NN_CONV2_BIAS] = (size_t)c->filters2;
    sizes[NN_DENSE1_WEIGHT] = (size_t)c->hidden * 2 * (size_t)c->filters2;
    sizes[NN_DENSE1_BIAS] = (size_t)c->hidden;
    sizes[NN_DENSE2_WEIGHT] = (size_t)c->hidden;
    sizes[NN_DENSE2_BIAS] = 1;
}


/* Returns the number of parameters a checked config has. */
size_t nn_param_count(const ohlcx_cnn_config *config)
{
    size_t sizes[NN_BLOCK_COUNT];
    size_t total = 0;

    block_sizes(config, sizes);
    for (int b = 0; b < NN_BLOCK_COUNT; b++)
        total += sizes[b];
    return total;
}


/* Allocates a network with zeroed parameters for a checked config. */
ohlcx_cnn *nn_alloc(const ohlcx_cnn_config *config)
{
    size_t sizes[NN_BLOCK_COUNT];
    ohlcx_cnn *cnn = calloc(1, sizeof *cnn);

    if (!cnn)
        goto fail;

    cnn->config = *config;
    cnn->length1 = (size_t)(config->window - config->kernel1 + 1);
    cnn->length2 = cnn->length1 - (size_t)config->kernel2 + 1;
    block_sizes(config, sizes);
    for (int b = 0; b < NN_BLOCK_COUNT; b++)
        cnn->offset[b + 1] = cnn->offset[b] + sizes[b];

    cnn->params = calloc(cnn->offset[NN_BLOCK_COUNT], sizeof *cnn->params);
    cnn->grads = calloc(cnn->offset[NN_BLOCK_COUNT], sizeof *cnn->grads);
    if (!cnn->params || !cnn->grads)
        goto fail;
    return cnn;

fail:
    ohlcx_cnn_free(cnn);
    ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory allocating the network");
    return NULL;
}


/* Fills a weight block from N(0, 2 / fan_in), the He initialisation for
 * layers followed by ReLU. Biases start at zero. */
static void he_init(ohlcx_cnn *cnn, enum nn_block b, size_t fan_in,
                    nn_rng *rng)
{
    float *w = cnn->params + cnn->offset[b];
    size_t size = cnn->offset[b + 1] - cnn->offset[b];
    double std = sqrt(2.0 / (double)fan_in);

    for (size_t i = 0; i < size; i++)
        w[i] = (float)(std * nn_rng_normal(rng));
}


ohlcx_cnn *ohlcx_cnn_create(const ohlcx_cnn_config *config, uint64_t seed)
{
    const ohlcx_cnn_config *c = config;
    ohlcx_cnn *cnn;
    nn_rng rng;

    if (!config) {
        ohlcx_set_error(OHLCX_EINVAL, "cnn: config is NULL");
        return NULL;
    }
    if (nn_config_check(config, "cnn config") != OHLCX_OK)
        return NULL;

    cnn = nn_alloc(config);
    if (!cnn)
        return NULL;

    nn_rng_seed(&rng, seed);
    he_init(cnn, NN_CONV1_WEIGHT, (size_t)c->channels * (size_t)c->kernel1,
            &rng);
    he_init(cnn, NN_CONV2_WEIGHT, (size_t)c->filters1 * (size_t)c->kernel2,
            &rng);
    he_init(cnn, NN_DENSE1_WEIGHT, 2 * (size_t)c->filters2, &rng);
    he_init(cnn, NN_DENSE2_WEIGHT, (size_t)c->hidden, &rng);
    return cnn;
}


void ohlcx_cnn_free(ohlcx_cnn *cnn)
{
    if (!cnn)
        return;
    free(cnn->params);
    free(cnn->grads);
    free(cnn);
}


const ohlcx_cnn_config *ohlcx_cnn_get_config(const ohlcx_cnn *cnn)
{
    return &cnn->config;
}


int ohlcx_cnn_param_count(const ohlcx_cnn *cnn)
{
    (void)cnn;
    return NN_BLOCK_COUNT;
}


float *ohlcx_cnn_param(ohlcx_cnn *cnn, int block, size_t *size)
{
    if (block < 0 || block >= NN_BLOCK_COUNT) {
        ohlcx_set_error(OHLCX_EINVAL, "cnn: invalid parameter block %d: "
                        "expected 0 to %d", block, NN_BLOCK_COUNT - 1);
        return NULL;
    }
    if (size)
        *size = cnn->offset[block + 1] - cnn->offset[block];
    return cnn->params + cnn->offset[block];
}


const float *ohlcx_cnn_grad(const ohlcx_cnn *cnn, int block)
{
    if (block < 0 || block >= NN_BLOCK_COUNT) {
        ohlcx_set_error(OHLCX_EINVAL, "cnn: invalid parameter block %d: "
                        "expected 0 to %d", block, NN_BLOCK_COUNT - 1);
        return NULL;
    }
    return cnn->grads + cnn->offset[block];
}


const char *ohlcx_cnn_param_name(const ohlcx_cnn *cnn, int block)
{
    (void)cnn;
    if (block < 0 || block >= NN_BLOCK_COUNT)
        return NULL;
    return block_names[block];
}


int ohlcx_cnn_gradients(ohlcx_cnn *cnn, const float *x, const float *y,
                        size_t n, double *loss)
{
    nn_workspace ws;
    int rc;

    if (!cnn || !x || !y || n == 0)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn gradients: need a network "
                               "and at least one sample with its label");

    rc = nn_workspace_init(&ws, cnn, n, 1);
    if (rc != OHLCX_OK)
        return rc;

    rc = nn_forward(cnn, &ws, x, n);
    if (rc == OHLCX_OK && loss)
        *loss = nn_loss_sum(&ws, y, n) / (double)n;
    if (rc == OHLCX_OK)
        rc = nn_backward(cnn, &ws, y, n);
    nn_workspace_free(&ws);
    return rc;
}


int ohlcx_cnn_predict(const ohlcx_cnn *cnn, const float *x, size_t n,
                      float *prob, float *embedding)
{
    size_t sample;
    size_t hidden;
    nn_workspace ws;
    int rc;

    if (!cnn || (!x && n > 0))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "cnn predict: network or input is NULL");
    if (n == 0)
        return OHLCX_OK;

    rc = nn_workspace_init(&ws, cnn, n < NN_EVAL_CHUNK ? n : NN_EVAL_CHUNK, 0);
    if (rc != OHLCX_OK)
        return rc;

    sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;
    hidden = (size_t)cnn->config.hidden;
    for (size_t start = 0; start < n; start += NN_EVAL_CHUNK) {
        size_t count = n - start < NN_EVAL_CHUNK ? n - start : NN_EVAL_CHUNK;

        rc = nn_forward(cnn, &ws, x + start * sample, count);
        if (rc != OHLCX_OK)
            break;
        if (prob)
            for (size_t s = 0; s < count; s++)
                prob[start + s] = nn_sigmoid(ws.logit[s]);
        if (embedding)
            memcpy(embedding + start * hidden, ws.hidden,
                   count * hidden * sizeof *embedding);
    }

    nn_workspace_free(&ws);
    return rc;
}


/* Returns NAN and sets the error message when the inputs are invalid or
 * the workspace cannot be allocated. */
double ohlcx_cnn_loss(const ohlcx_cnn *cnn, const float *x, const float *y,
                      size_t n)
{
    nn_workspace ws;
    double sum;
    int rc;

    if (!cnn || !x || !y || n == 0) {
        ohlcx_set_error(OHLCX_EINVAL, "cnn loss: need a network and at "
                        "least one sample with its label");
        return NAN;
    }
    if (nn_workspace_init(&ws, cnn, n < NN_EVAL_CHUNK ? n : NN_EVAL_CHUNK,
                          0) != OHLCX_OK)
        return NAN;

    rc = nn_eval_loss_sum(cnn, &ws, x, y, n, &sum);
    nn_workspace_free(&ws);
    return rc == OHLCX_OK ? sum / (double)n : NAN;
}
