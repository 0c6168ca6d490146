/*
 * The CNN object: configuration, He-initialised parameters, parameter block
 * access, gradients, prediction and loss.
 *
 * All parameters sit in one float array in the block order that describe()
 * lays out (stage by stage, then the dense layers and the symbol embedding),
 * so Adam, saving and copying the best weights each walk one array. The
 * batch-normalisation running statistics sit in a second array, outside
 * Adam's reach. Inference
 * never writes to the network: ohlcx_cnn_predict() and ohlcx_cnn_loss() keep
 * their activations in a workspace of their own, so several threads may call
 * them on the same network at once. With OpenBLAS threads T > 1, they split
 * the samples between T threads of their own (parallel.c).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"

void ohlcx_cnn_config_default(ohlcx_cnn_config *config)
{
    memset(config, 0, sizeof *config);
    config->channels = 5;
    config->window = 64;
    config->conv_count = 2;
    config->conv[0] = (ohlcx_cnn_conv){.filters = 32, .kernel = 5, .dilation = 1, .pool = 1};
    config->conv[1] = (ohlcx_cnn_conv){.filters = 64, .kernel = 5, .dilation = 1, .pool = 1};
    config->batch_norm = 0;
    config->dropout = 0.0f;
    config->hidden = 32;
    config->symbols = 0;
    config->symbol_dim = 0;
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
    options->weight_decay = 0.0f;
    options->lr_schedule = OHLCX_LR_CONSTANT;
    options->lr_step_epochs = 10;
    options->lr_gamma = 0.1f;
}


/* Zeroes the stages at and after conv_count and gives symbol_dim its
 * default, so that equal architectures compare equal byte for byte. A
 * conv_count out of range is left for nn_config_check() to reject. */
void nn_config_normalise(ohlcx_cnn_config *config)
{
    if (config->conv_count >= 0 && config->conv_count <= OHLCX_CNN_MAX_CONV)
        for (int i = config->conv_count; i < OHLCX_CNN_MAX_CONV; i++)
            memset(&config->conv[i], 0, sizeof config->conv[i]);
    if (config->symbols > 0 && config->symbol_dim == 0)
        config->symbol_dim = 8;
}


/* Returns 1 when two configurations describe the same network. */
int nn_config_equal(const ohlcx_cnn_config *a, const ohlcx_cnn_config *b)
{
    ohlcx_cnn_config x = *a, y = *b;

    nn_config_normalise(&x);
    nn_config_normalise(&y);
    return memcmp(&x, &y, sizeof x) == 0;
}


static int check_range(const char *where, const char *name, int value, int low,
                       int high)
{
    if (value < low || value > high)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: invalid %s %d: expected %d "
                               "to %d", where, name, value, low, high);
    return OHLCX_OK;
}


/* Checks one stage's fields, named conv[i].field in the message. */
static int check_stage_fields(const ohlcx_cnn_conv *conv, int i,
                              const char *where)
{
    const struct {
        const char *field;
        int value;
    } fields[] = {
        {"filters", conv->filters},
        {"kernel", conv->kernel},
        {"dilation", conv->dilation},
        {"pool", conv->pool},
    };
    char name[32];

    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        snprintf(name, sizeof name, "conv[%d].%s", i, fields[f].field);
        if (check_range(where, name, fields[f].value, 1, NN_MAX_DIM) !=
            OHLCX_OK)
            return OHLCX_EINVAL;
    }
    return OHLCX_OK;
}


/* Checks that every stage's input covers its receptive field and that its
 * output covers its pool, and that no sgemm dimension exceeds an int. */
static int check_lengths(const ohlcx_cnn_config *c, const char *where)
{
    int64_t length = c->window;
    int64_t in_channels = c->channels;

    if ((int64_t)c->channels * c->window > INT_MAX)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: channels x window exceeds "
                               "%d, the largest sgemm dimension", where,
                               INT_MAX);
    for (int i = 0; i < c->conv_count; i++) {
        const ohlcx_cnn_conv *conv = &c->conv[i];
        int64_t span = (int64_t)(conv->kernel - 1) * conv->dilation + 1;

        if (in_channels * conv->kernel > INT_MAX)
            return ohlcx_set_error(OHLCX_EINVAL, "%s: conv[%d]: kernel %d x "
                                   "%lld input channels exceeds %d, the "
                                   "largest sgemm dimension", where, i,
                                   conv->kernel, (long long)in_channels,
                                   INT_MAX);
        if (length < span)
            return ohlcx_set_error(OHLCX_EINVAL, "%s: conv[%d]: input length "
                                   "%lld (window %d) is shorter than the "
                                   "receptive field (kernel - 1) x dilation + "
                                   "1 = %lld: lengthen the window or shorten "
                                   "the kernels, dilations or pools", where, i,
                                   (long long)length, c->window,
                                   (long long)span);
        length -= span - 1;
        if (length < conv->pool)
            return ohlcx_set_error(OHLCX_EINVAL, "%s: conv[%d]: output length "
                                   "%lld (window %d) is shorter than pool %d: "
                                   "lengthen the window or lower the pool",
                                   where, i, (long long)length, c->window,
                                   conv->pool);
        length /= conv->pool;
        in_channels = conv->filters;
    }
    return OHLCX_OK;
}


/* Checks every field of config. The message starts with where, which names
 * the caller (a file path when loading), and names the field. */
int nn_config_check(const ohlcx_cnn_config *config, const char *where)
{
    const ohlcx_cnn_config *c = config;

    if (check_range(where, "channels", c->channels, 1, NN_MAX_DIM) != OHLCX_OK ||
        check_range(where, "window", c->window, 1, NN_MAX_DIM) != OHLCX_OK ||
        check_range(where, "hidden", c->hidden, 1, NN_MAX_DIM) != OHLCX_OK ||
        check_range(where, "conv_count", c->conv_count, 1,
                    OHLCX_CNN_MAX_CONV) != OHLCX_OK ||
        check_range(where, "batch_norm", c->batch_norm, 0, 1) != OHLCX_OK ||
        check_range(where, "symbols", c->symbols, 0, NN_MAX_DIM) != OHLCX_OK ||
        check_range(where, "symbol_dim", c->symbol_dim, 0, NN_MAX_DIM) !=
            OHLCX_OK)
        return OHLCX_EINVAL;

    for (int i = 0; i < c->conv_count; i++)
        if (check_stage_fields(&c->conv[i], i, where) != OHLCX_OK)
            return OHLCX_EINVAL;

    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return ohlcx_set_error(OHLCX_EINVAL, "%s: invalid dropout %g: expected "
                               "0 <= dropout < 1", where, (double)c->dropout);
    if (c->symbols == 0 && c->symbol_dim != 0)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: invalid symbol_dim %d: a "
                               "network without symbols (symbols 0) has no "
                               "symbol embedding, so set symbol_dim to 0",
                               where, c->symbol_dim);
    return check_lengths(c, where);
}


/* Appends a parameter block of size floats to cnn's layout and returns its
 * number. */
static int add_block(ohlcx_cnn *cnn, const char *name, int index, size_t size,
                     int decays)
{
    int b = cnn->block_count++;

    if (index > 0)
        snprintf(cnn->block_names[b], sizeof cnn->block_names[b], name, index);
    else
        snprintf(cnn->block_names[b], sizeof cnn->block_names[b], "%s", name);
    cnn->decays[b] = (unsigned char)decays;
    cnn->offset[b + 1] = cnn->offset[b] + size;
    return b;
}


/* Fills in the stages, the block layout and the running-statistics layout
 * of cnn for a checked, normalised config. */
static void describe(ohlcx_cnn *cnn, const ohlcx_cnn_config *c)
{
    size_t length = (size_t)c->window;
    int in_channels = c->channels;
    size_t running = 0;
    size_t f_last;

    cnn->config = *c;
    cnn->block_count = 0;
    cnn->offset[0] = 0;
    for (int i = 0; i < c->conv_count; i++) {
        nn_stage *st = &cnn->stage[i];
        size_t f = (size_t)c->conv[i].filters;

        st->in_channels = in_channels;
        st->filters = c->conv[i].filters;
        st->kernel = c->conv[i].kernel;
        st->dilation = c->conv[i].dilation;
        st->pool = c->conv[i].pool;
        st->in_length = length;
        st->length = length - (size_t)(st->kernel - 1) * (size_t)st->dilation;
        st->out_length = st->length / (size_t)st->pool;
        st->weight = add_block(cnn, "conv%d.weight", i + 1,
                               f * (size_t)in_channels * (size_t)st->kernel, 1);
        st->bias = add_block(cnn, "conv%d.bias", i + 1, f, 0);
        st->gamma = -1;
        st->beta = -1;
        if (c->batch_norm) {
            st->gamma = add_block(cnn, "bn%d.gamma", i + 1, f, 0);
            st->beta = add_block(cnn, "bn%d.beta", i + 1, f, 0);
            st->running = running;
            running += 2 * f;
        }
        length = st->out_length;
        in_channels = st->filters;
    }

    f_last = (size_t)c->conv[c->conv_count - 1].filters;
    cnn->readout_width = 2 * (int)f_last + c->symbol_dim;
    cnn->dense1_weight = add_block(cnn, "dense1.weight", 0,
                                   (size_t)c->hidden *
                                   (size_t)cnn->readout_width, 1);
    cnn->dense1_bias = add_block(cnn, "dense1.bias", 0, (size_t)c->hidden, 0);
    cnn->dense2_weight = add_block(cnn, "dense2.weight", 0,
                                   (size_t)c->hidden, 1);
    cnn->dense2_bias = add_block(cnn, "dense2.bias", 0, 1, 0);
    cnn->symbol_embedding = -1;
    if (c->symbols > 0)
        cnn->symbol_embedding = add_block(cnn, "symbol.embedding", 0,
                                          (size_t)c->symbols *
                                          (size_t)c->symbol_dim, 1);
    cnn->running_count = running;
}


/* Returns the number of parameters a checked, normalised config has. */
size_t nn_param_count(const ohlcx_cnn_config *config)
{
    ohlcx_cnn layout;

    describe(&layout, config);
    return layout.offset[layout.block_count];
}


/* Returns the number of running statistics a checked, normalised config
 * has. */
size_t nn_running_count(const ohlcx_cnn_config *config)
{
    ohlcx_cnn layout;

    describe(&layout, config);
    return layout.running_count;
}


/* Sets every running mean to 0 and every running variance to 1. */
void nn_reset_running(ohlcx_cnn *cnn)
{
    for (int i = 0; i < cnn->config.conv_count && cnn->config.batch_norm; i++) {
        const nn_stage *st = &cnn->stage[i];
        float *mean = cnn->running + st->running;

        for (int o = 0; o < st->filters; o++) {
            mean[o] = 0.0f;
            mean[st->filters + o] = 1.0f;
        }
    }
}


/* Allocates a network with zeroed parameters, running means 0 and running
 * variances 1, for a checked, normalised config. */
ohlcx_cnn *nn_alloc(const ohlcx_cnn_config *config)
{
    ohlcx_cnn *cnn = calloc(1, sizeof *cnn);
    size_t count;

    if (!cnn)
        goto fail;

    describe(cnn, config);
    count = cnn->offset[cnn->block_count];
    cnn->params = calloc(count, sizeof *cnn->params);
    cnn->grads = calloc(count, sizeof *cnn->grads);
    cnn->running = calloc(cnn->running_count ? cnn->running_count : 1,
                          sizeof *cnn->running);
    if (!cnn->params || !cnn->grads || !cnn->running)
        goto fail;
    nn_reset_running(cnn);
    return cnn;

fail:
    ohlcx_cnn_free(cnn);
    ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory allocating the network");
    return NULL;
}


/* Fills a block from N(0, std^2). */
static void normal_init(ohlcx_cnn *cnn, int b, double std, nn_rng *rng)
{
    float *w = cnn->params + cnn->offset[b];
    size_t size = cnn->offset[b + 1] - cnn->offset[b];

    for (size_t i = 0; i < size; i++)
        w[i] = (float)(std * nn_rng_normal(rng));
}


/* Fills a weight block from N(0, 2 / fan_in), the He initialisation for
 * layers followed by ReLU. */
static void he_init(ohlcx_cnn *cnn, int b, size_t fan_in, nn_rng *rng)
{
    normal_init(cnn, b, sqrt(2.0 / (double)fan_in), rng);
}


static void fill_block(ohlcx_cnn *cnn, int b, float value)
{
    float *w = cnn->params + cnn->offset[b];
    size_t size = cnn->offset[b + 1] - cnn->offset[b];

    for (size_t i = 0; i < size; i++)
        w[i] = value;
}


/* The draws run stage by stage, then dense1, dense2 and the symbol
 * embedding, so the default network draws the same weights as before
 * configurable architectures. Biases and shifts start at zero. */
ohlcx_cnn *ohlcx_cnn_create(const ohlcx_cnn_config *config, uint64_t seed)
{
    ohlcx_cnn_config c;
    ohlcx_cnn *cnn;
    nn_rng rng;

    if (!config) {
        ohlcx_set_error(OHLCX_EINVAL, "cnn: config is NULL");
        return NULL;
    }
    c = *config;
    nn_config_normalise(&c);
    if (nn_config_check(&c, "cnn config") != OHLCX_OK)
        return NULL;

    cnn = nn_alloc(&c);
    if (!cnn)
        return NULL;

    nn_rng_seed(&rng, seed);
    for (int i = 0; i < c.conv_count; i++) {
        const nn_stage *st = &cnn->stage[i];

        he_init(cnn, st->weight, (size_t)st->in_channels * (size_t)st->kernel,
                &rng);
        if (c.batch_norm)
            fill_block(cnn, st->gamma, 1.0f);
    }
    he_init(cnn, cnn->dense1_weight, (size_t)cnn->readout_width, &rng);
    he_init(cnn, cnn->dense2_weight, (size_t)c.hidden, &rng);
    if (cnn->symbol_embedding >= 0)
        normal_init(cnn, cnn->symbol_embedding, 1.0, &rng);
    return cnn;
}


void ohlcx_cnn_free(ohlcx_cnn *cnn)
{
    if (!cnn)
        return;
    free(cnn->params);
    free(cnn->grads);
    free(cnn->running);
    free(cnn);
}


const ohlcx_cnn_config *ohlcx_cnn_get_config(const ohlcx_cnn *cnn)
{
    return &cnn->config;
}


int ohlcx_cnn_param_count(const ohlcx_cnn *cnn)
{
    return cnn->block_count;
}


static int check_block(const ohlcx_cnn *cnn, int block)
{
    if (block < 0 || block >= cnn->block_count)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn: invalid parameter block "
                               "%d: expected 0 to %d", block,
                               cnn->block_count - 1);
    return OHLCX_OK;
}


float *ohlcx_cnn_param(ohlcx_cnn *cnn, int block, size_t *size)
{
    if (check_block(cnn, block) != OHLCX_OK)
        return NULL;
    if (size)
        *size = cnn->offset[block + 1] - cnn->offset[block];
    return cnn->params + cnn->offset[block];
}


const float *ohlcx_cnn_grad(const ohlcx_cnn *cnn, int block)
{
    if (check_block(cnn, block) != OHLCX_OK)
        return NULL;
    return cnn->grads + cnn->offset[block];
}


const char *ohlcx_cnn_param_name(const ohlcx_cnn *cnn, int block)
{
    if (block < 0 || block >= cnn->block_count)
        return NULL;
    return cnn->block_names[block];
}


float *ohlcx_cnn_running_stats(ohlcx_cnn *cnn, size_t *count)
{
    if (count)
        *count = cnn->running_count;
    return cnn->running_count > 0 ? cnn->running : NULL;
}


/* Checks that each of n ids is a symbol id of the network, and that ids are
 * given exactly when the network has a symbol embedding. The message names
 * the sample, indices[s] or, when indices is NULL, s. */
int nn_check_ids(const ohlcx_cnn *cnn, const int32_t *ids, const size_t *indices,
                 size_t n, const char *where)
{
    int symbols = cnn->config.symbols;

    if (symbols == 0)
        return ids == NULL ? OHLCX_OK
                           : ohlcx_set_error(OHLCX_EINVAL, "%s: symbol ids "
                                             "given to a network without a "
                                             "symbol embedding: pass NULL",
                                             where);
    if (ids == NULL && n > 0)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: the network has a symbol "
                               "embedding of %d symbols, so every sample needs "
                               "a symbol id", where, symbols);
    for (size_t s = 0; s < n; s++)
        if (ids[s] < 0 || ids[s] >= symbols)
            return ohlcx_set_error(OHLCX_EINVAL, "%s: sample %zu has symbol id "
                                   "%d: expected 0 to %d", where,
                                   indices ? indices[s] : s, (int)ids[s],
                                   symbols - 1);
    return OHLCX_OK;
}


int ohlcx_cnn_gradients_ids(ohlcx_cnn *cnn, const float *x, const float *y,
                            const int32_t *ids, size_t n, int training,
                            uint64_t dropout_seed, double *loss)
{
    nn_workspace ws;
    nn_rng rng;
    nn_pass pass = {.dropout_rng = &rng};
    int rc;

    if (!cnn || !x || !y || n == 0)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn gradients: need a network "
                               "and at least one sample with its label");
    rc = nn_check_ids(cnn, ids, NULL, n, "cnn gradients");
    if (rc != OHLCX_OK)
        return rc;

    rc = nn_workspace_init(&ws, cnn, n, 1);
    if (rc != OHLCX_OK)
        return rc;

    nn_rng_seed(&rng, dropout_seed);
    rc = nn_forward(cnn, &ws, x, ids, n, training ? &pass : NULL);
    if (rc == OHLCX_OK && loss)
        *loss = nn_loss_sum(&ws, y, n) / (double)n;
    if (rc == OHLCX_OK)
        rc = nn_backward(cnn, &ws, y, n, n);
    nn_workspace_free(&ws);
    return rc;
}


int ohlcx_cnn_gradients(ohlcx_cnn *cnn, const float *x, const float *y,
                        size_t n, double *loss)
{
    return ohlcx_cnn_gradients_ids(cnn, x, y, NULL, n, 0, 0, loss);
}


/* ohlcx_cnn_predict_ids() on threads shards: each chunk of NN_EVAL_CHUNK
 * samples is split between them. */
static int predict_parallel(const ohlcx_cnn *cnn, const float *x,
                            const int32_t *ids, size_t n, float *prob,
                            float *embedding, int threads)
{
    size_t sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;
    size_t hidden = (size_t)cnn->config.hidden;
    nn_parallel *p;
    int rc;

    rc = nn_parallel_create(&p, cnn, threads, NN_EVAL_CHUNK, 0);
    for (size_t start = 0; rc == OHLCX_OK && start < n;
         start += NN_EVAL_CHUNK) {
        size_t count = n - start < NN_EVAL_CHUNK ? n - start : NN_EVAL_CHUNK;

        rc = nn_parallel_eval(p, cnn, x + start * sample, NULL,
                              ids ? ids + start : NULL, count, NULL,
                              prob ? prob + start : NULL,
                              embedding ? embedding + start * hidden : NULL);
    }
    nn_parallel_free(p);
    return rc;
}


int ohlcx_cnn_predict_ids(const ohlcx_cnn *cnn, const float *x,
                          const int32_t *ids, size_t n, float *prob,
                          float *embedding)
{
    size_t sample;
    size_t hidden;
    nn_workspace ws;
    int threads;
    int rc;

    if (!cnn || (!x && n > 0))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "cnn predict: network or input is NULL");
    rc = nn_check_ids(cnn, ids, NULL, n, "cnn predict");
    if (rc != OHLCX_OK || n == 0)
        return rc;

    /* Below a full chunk, starting threads and building their kernels costs
     * more than it saves, so small calls run on the caller's thread. */
    threads = nn_threads_begin();
    if (threads > 1 && n >= NN_EVAL_CHUNK) {
        rc = predict_parallel(cnn, x, ids, n, prob, embedding, threads);
        nn_threads_end();
        return rc;
    }
    nn_threads_end();

    rc = nn_workspace_init(&ws, cnn, n < NN_EVAL_CHUNK ? n : NN_EVAL_CHUNK, 0);
    if (rc != OHLCX_OK)
        return rc;

    sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;
    hidden = (size_t)cnn->config.hidden;
    for (size_t start = 0; start < n; start += NN_EVAL_CHUNK) {
        size_t count = n - start < NN_EVAL_CHUNK ? n - start : NN_EVAL_CHUNK;

        rc = nn_forward(cnn, &ws, x + start * sample, ids ? ids + start : NULL,
                        count, NULL);
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


int ohlcx_cnn_predict(const ohlcx_cnn *cnn, const float *x, size_t n,
                      float *prob, float *embedding)
{
    return ohlcx_cnn_predict_ids(cnn, x, NULL, n, prob, embedding);
}


/* Returns NAN and sets the error message when the inputs are invalid or
 * the workspace cannot be allocated. */
double ohlcx_cnn_loss_ids(const ohlcx_cnn *cnn, const float *x, const float *y,
                          const int32_t *ids, size_t n)
{
    nn_workspace ws;
    nn_parallel *p;
    double sum;
    int threads;
    int rc;

    if (!cnn || !x || !y || n == 0) {
        ohlcx_set_error(OHLCX_EINVAL, "cnn loss: need a network and at "
                        "least one sample with its label");
        return NAN;
    }
    if (nn_check_ids(cnn, ids, NULL, n, "cnn loss") != OHLCX_OK)
        return NAN;

    /* Split as training splits its validation chunks, so that the two
     * agree bit for bit at the same thread count. */
    threads = nn_threads_begin();
    if (threads > 1 && n > 1) {
        rc = nn_parallel_create(&p, cnn, threads,
                                n < NN_EVAL_CHUNK ? n : NN_EVAL_CHUNK, 0);
        if (rc == OHLCX_OK)
            rc = nn_parallel_eval_loss_sum(p, cnn, x, y, ids, n, &sum);
        nn_parallel_free(p);
        nn_threads_end();
        return rc == OHLCX_OK ? sum / (double)n : NAN;
    }
    nn_threads_end();
    if (nn_workspace_init(&ws, cnn, n < NN_EVAL_CHUNK ? n : NN_EVAL_CHUNK,
                          0) != OHLCX_OK)
        return NAN;

    rc = nn_eval_loss_sum(cnn, &ws, x, y, ids, n, &sum);
    nn_workspace_free(&ws);
    return rc == OHLCX_OK ? sum / (double)n : NAN;
}


double ohlcx_cnn_loss(const ohlcx_cnn *cnn, const float *x, const float *y,
                      size_t n)
{
    return ohlcx_cnn_loss_ids(cnn, x, y, NULL, n);
}
