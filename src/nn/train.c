/*
 * Training: Adam over shuffled mini-batches with early stopping on the
 * validation loss.
 *
 * Each epoch shuffles the sample order by Fisher-Yates from the generator
 * seeded with options->seed, runs every mini-batch (the last one may be
 * partial), then evaluates the validation loss. The weights of the epoch with
 * the lowest validation loss are copied aside and restored at the end, so
 * after training ohlcx_cnn_loss() on the validation set returns exactly the
 * best recorded validation loss. If training diverges (a non-finite training
 * loss), the best weights so far, or the initial ones, are restored and the
 * call fails. Every buffer is allocated before the first epoch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"

#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPSILON 1e-8f

/* Epochs the history can record, which bounds max_epochs. */
#define MAX_EPOCHS \
    ((int)(sizeof ((ohlcx_cnn_history *)0)->train_loss / sizeof(float)))

typedef struct adam_state {
    float *m; /* first-moment estimate per parameter */
    float *v; /* second-moment estimate per parameter */
    long step;
} adam_state;

/* Everything one training run allocates. */
typedef struct train_buffers {
    nn_workspace ws;
    size_t *order;      /* sample indices, shuffled each epoch */
    float *batch_x;     /* [batch_size][C W] */
    float *batch_y;     /* [batch_size] */
    float *best_params; /* weights after the best epoch */
    adam_state adam;
} train_buffers;


/*
 * Takes one Adam step over every parameter with bias-corrected moments:
 * w -= lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - beta1^t),
 * v_hat = v / (1 - beta2^t).
 */
static void adam_step(ohlcx_cnn *cnn, adam_state *adam, float learning_rate)
{
    size_t count = cnn->offset[NN_BLOCK_COUNT];
    float b1 = (float)ADAM_BETA1;
    float b2 = (float)ADAM_BETA2;
    float m_scale;
    float v_scale;

    adam->step++;
    m_scale = (float)(1.0 / (1.0 - pow(ADAM_BETA1, (double)adam->step)));
    v_scale = (float)(1.0 / (1.0 - pow(ADAM_BETA2, (double)adam->step)));

    for (size_t i = 0; i < count; i++) {
        float g = cnn->grads[i];
        float m = b1 * adam->m[i] + (1.0f - b1) * g;
        float v = b2 * adam->v[i] + (1.0f - b2) * g * g;

        adam->m[i] = m;
        adam->v[i] = v;
        cnn->params[i] -= learning_rate * (m * m_scale) /
                          (sqrtf(v * v_scale) + ADAM_EPSILON);
    }
}


static int check_options(const ohlcx_cnn_train_options *o)
{
    if (o->batch_size < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: invalid batch_size "
                               "%d: expected at least 1", o->batch_size);
    if (o->max_epochs < 1 || o->max_epochs > MAX_EPOCHS)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: invalid max_epochs "
                               "%d: expected 1 to %d, the epochs the history "
                               "records", o->max_epochs, MAX_EPOCHS);
    if (o->patience < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: invalid patience %d: "
                               "expected at least 1", o->patience);
    if (!(o->learning_rate > 0.0f) || !isfinite(o->learning_rate))
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: invalid "
                               "learning_rate %g: expected a positive number",
                               (double)o->learning_rate);
    return OHLCX_OK;
}


/* Checks that every feature is finite and every label is 0 or 1. The
 * message names the set in part ("train" or "validation"). */
static int check_samples(const ohlcx_cnn *cnn, const float *x, const float *y,
                         size_t n, const char *part)
{
    size_t window = (size_t)cnn->config.window;
    size_t sample = (size_t)cnn->config.channels * window;

    for (size_t s = 0; s < n; s++) {
        if (y[s] != 0.0f && y[s] != 1.0f)
            return ohlcx_set_error(OHLCX_EINVAL, "cnn train: %s label %zu is "
                                   "%g: labels must be 0 or 1", part, s,
                                   (double)y[s]);

        for (size_t i = 0; i < sample; i++)
            if (!isfinite(x[s * sample + i]))
                return ohlcx_set_error(
                    OHLCX_EDATA, "cnn train: %s sample %zu has %g at channel "
                    "%zu, position %zu: replace non-finite features before "
                    "training", part, s, (double)x[s * sample + i],
                    i / window, i % window);
    }
    return OHLCX_OK;
}


static int check_train_args(const ohlcx_cnn *cnn, const float *x_train,
                            const float *y_train, size_t n_train,
                            const float *x_val, const float *y_val,
                            size_t n_val, const ohlcx_cnn_train_options *o)
{
    int rc;

    if (!cnn || !x_train || !y_train || n_train == 0)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: need a network and "
                               "at least one training sample with its label");
    if (n_val > 0 && (!x_val || !y_val))
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: n_val is %zu but "
                               "x_val or y_val is NULL", n_val);

    rc = check_options(o);
    if (rc == OHLCX_OK)
        rc = check_samples(cnn, x_train, y_train, n_train, "train");
    if (rc == OHLCX_OK)
        rc = check_samples(cnn, x_val, y_val, n_val, "validation");
    return rc;
}


static void free_buffers(train_buffers *b)
{
    nn_workspace_free(&b->ws);
    free(b->order);
    free(b->batch_x);
    free(b->batch_y);
    free(b->best_params);
    free(b->adam.m);
    free(b->adam.v);
}


static int alloc_buffers(train_buffers *b, const ohlcx_cnn *cnn,
                         size_t batch, size_t n_train, size_t n_val)
{
    size_t sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;
    size_t params = cnn->offset[NN_BLOCK_COUNT];
    size_t eval = n_val < NN_EVAL_CHUNK ? n_val : NN_EVAL_CHUNK;
    int rc;

    memset(b, 0, sizeof *b);
    rc = nn_workspace_init(&b->ws, cnn, batch > eval ? batch : eval, 1);
    if (rc != OHLCX_OK)
        return rc;

    b->order = malloc(n_train * sizeof *b->order);
    b->batch_x = malloc(batch * sample * sizeof *b->batch_x);
    b->batch_y = malloc(batch * sizeof *b->batch_y);
    b->best_params = malloc(params * sizeof *b->best_params);
    b->adam.m = calloc(params, sizeof *b->adam.m);
    b->adam.v = calloc(params, sizeof *b->adam.v);
    if (!b->order || !b->batch_x || !b->batch_y || !b->best_params ||
        !b->adam.m || !b->adam.v) {
        free_buffers(b);
        return ohlcx_set_error(OHLCX_ENOMEM, "cnn train: out of memory for "
                               "%zu training samples", n_train);
    }

    for (size_t i = 0; i < n_train; i++)
        b->order[i] = i;
    return OHLCX_OK;
}


/* Runs one epoch of mini-batches in the order in b->order and returns the
 * mean training loss, each batch's loss taken before its update. */
static double train_epoch(ohlcx_cnn *cnn, train_buffers *b, const float *x,
                          const float *y, size_t n, size_t batch,
                          const ohlcx_cnn_train_options *options, int epoch)
{
    size_t sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;
    double loss_sum = 0.0;

    for (size_t start = 0; start < n; start += batch) {
        size_t count = n - start < batch ? n - start : batch;

        for (size_t s = 0; s < count; s++) {
            size_t index = b->order[start + s];

            memcpy(b->batch_x + s * sample, x + index * sample,
                   sample * sizeof *x);
            b->batch_y[s] = y[index];
        }

        nn_forward(cnn, &b->ws, b->batch_x, count);
        loss_sum += nn_loss_sum(&b->ws, b->batch_y, count);
        nn_backward(cnn, &b->ws, b->batch_y, count);
        adam_step(cnn, &b->adam, options->learning_rate);
        if (options->progress != NULL)
            options->progress(options->progress_context, epoch,
                              options->max_epochs, start + count, n);
    }
    return loss_sum / (double)n;
}


/* Records one epoch in the history and returns 1 when its validation loss
 * is below *best_val, which it then updates. Without validation samples
 * every epoch counts as an improvement. */
static int record_epoch(ohlcx_cnn_history *h, int epoch, double train_loss,
                        double val_loss, int has_val, double *best_val)
{
    int improved = !has_val || val_loss < *best_val;

    h->epochs = epoch;
    h->train_loss[epoch - 1] = (float)train_loss;
    h->val_loss[epoch - 1] = (float)val_loss;
    if (improved) {
        h->best_epoch = epoch;
        *best_val = val_loss;
    }
    return improved;
}


static void log_epoch(const ohlcx_cnn_history *h, int max_epochs, int has_val,
                      int improved)
{
    int e = h->epochs - 1;

    if (has_val)
        fprintf(stderr, "cnn: epoch %d/%d train_loss=%.4f val_loss=%.4f%s\n",
                h->epochs, max_epochs, (double)h->train_loss[e],
                (double)h->val_loss[e], improved ? " (best)" : "");
    else
        fprintf(stderr, "cnn: epoch %d/%d train_loss=%.4f\n", h->epochs,
                max_epochs, (double)h->train_loss[e]);
}


int ohlcx_cnn_train(ohlcx_cnn *cnn, const float *x_train, const float *y_train,
                    size_t n_train, const float *x_val, const float *y_val,
                    size_t n_val, const ohlcx_cnn_train_options *options,
                    ohlcx_cnn_history *history)
{
    ohlcx_cnn_train_options defaults;
    ohlcx_cnn_history local_history;
    ohlcx_cnn_history *h = history ? history : &local_history;
    size_t params;
    size_t batch;
    train_buffers b;
    double best_val = INFINITY;
    int stale = 0;
    int rc;
    nn_rng rng;

    if (!options) {
        ohlcx_cnn_train_options_default(&defaults);
        options = &defaults;
    }
    rc = check_train_args(cnn, x_train, y_train, n_train, x_val, y_val, n_val,
                          options);
    if (rc != OHLCX_OK)
        return rc;

    batch = (size_t)options->batch_size < n_train ? (size_t)options->batch_size
                                                  : n_train;
    rc = alloc_buffers(&b, cnn, batch, n_train, n_val);
    if (rc != OHLCX_OK)
        return rc;

    params = cnn->offset[NN_BLOCK_COUNT];
    memcpy(b.best_params, cnn->params, params * sizeof(float));
    memset(h, 0, sizeof *h);
    nn_rng_seed(&rng, options->seed);

    for (int epoch = 1; epoch <= options->max_epochs; epoch++) {
        double train_loss;
        double val_loss = NAN;
        int improved;

        nn_rng_shuffle(&rng, b.order, n_train);
        train_loss = train_epoch(cnn, &b, x_train, y_train, n_train, batch,
                                 options, epoch);
        if (!isfinite(train_loss)) {
            rc = ohlcx_set_error(OHLCX_EDATA, "cnn train: training diverged "
                                 "at epoch %d (train loss %g): lower "
                                 "learning_rate (now %g)", epoch, train_loss,
                                 (double)options->learning_rate);
            break;
        }

        if (n_val > 0)
            val_loss = nn_eval_loss_sum(cnn, &b.ws, x_val, y_val, n_val) /
                       (double)n_val;
        improved = record_epoch(h, epoch, train_loss, val_loss, n_val > 0,
                                &best_val);
        if (improved) {
            stale = 0;
            memcpy(b.best_params, cnn->params, params * sizeof(float));
        } else {
            stale++;
        }
        if (options->verbose)
            log_epoch(h, options->max_epochs, n_val > 0, improved);
        if (stale >= options->patience)
            break;
    }

    /* best_params contains the initial weights until an epoch improves, and
     * without validation samples every epoch counts as an improvement. */
    memcpy(cnn->params, b.best_params, params * sizeof(float));
    free_buffers(&b);
    return rc;
}
