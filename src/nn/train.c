/*
 * Training: Adam (AdamW with weight decay) over shuffled mini-batches with
 * early stopping on the validation loss, under a learning-rate schedule.
 *
 * Each epoch shuffles the sample order by Fisher-Yates from the generator
 * seeded with options->seed, runs every mini-batch (the last one may be
 * partial), then evaluates the validation loss. The weights of the epoch with
 * the lowest validation loss are copied aside and restored at the end, so
 * after training ohlcx_cnn_loss() on the validation set returns exactly the
 * best recorded validation loss. If training diverges (a non-finite training
 * loss), or a sample source fails or fills an invalid sample, the best weights
 * so far, or the initial ones, are restored and the call fails.
 *
 * Samples come from a source that fills one mini-batch or validation chunk at
 * a time, so only the shuffled order (one size_t per training sample) grows
 * with the sample count. ohlcx_cnn_train() wraps its arrays in such sources.
 * Every buffer is allocated before the first epoch.
 *
 * Batch normalisation's running statistics are updated by every training
 * batch and kept with the best weights. Dropout masks come from a second
 * generator, seeded from options->seed, which draws nothing when dropout is
 * 0, so the batch order does not depend on dropout.
 *
 * The next epoch depends on the weights, the running statistics, the Adam
 * moments and step, both generators, the shuffled order, the best weights
 * and statistics, the best validation loss and the epochs without
 * improvement. The order is state too, because each
 * epoch shuffles the previous epoch's order again. A checkpoint
 * (checkpoint.c) stores all of it, so a resumed training ends with the same
 * weights.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    int64_t step;
} adam_state;

/* Everything one training run allocates. */
typedef struct train_buffers {
    nn_workspace ws;    /* single-threaded steps; unused (zero) when the
                           shards train */
    nn_parallel *parallel; /* shards when the thread count is above 1, else
                              NULL: they train and validate, or only
                              validate for a batch-normalised network */
    size_t capacity;    /* samples in a mini-batch or a validation chunk */
    size_t *order;      /* training sample indices, shuffled each epoch */
    size_t *chunk;      /* [NN_EVAL_CHUNK] indices of one validation chunk */
    float *batch_x;     /* [capacity][C W] */
    float *batch_y;     /* [capacity] */
    int32_t *batch_ids; /* [capacity] symbol ids, NULL without symbols */
    float *best_params; /* weights after the best epoch */
    float *best_running; /* running statistics after the best epoch */
    adam_state adam;
} train_buffers;

/* Progress of the epoch loop, kept beside the buffers. */
typedef struct loop_state {
    nn_rng rng;      /* generator that shuffles b->order each epoch */
    nn_rng dropout;  /* generator of the dropout masks */
    double best_val; /* lowest validation loss so far */
    int stale;       /* epochs since the last improvement */
    int epoch;       /* epochs completed */
    int finished;    /* 1 after early stopping or the last epoch */
} loop_state;

/* Context of the sources that ohlcx_cnn_train() reads from arrays. */
typedef struct array_source {
    const float *x;
    const float *y;
    size_t sample; /* floats per sample, C W */
} array_source;


/*
 * Takes one Adam step over every parameter with bias-corrected moments:
 * w -= lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - beta1^t),
 * v_hat = v / (1 - beta2^t). With weight decay, each weight of a decaying
 * block is first multiplied by 1 - lr * weight_decay (AdamW).
 */
static void adam_step(ohlcx_cnn *cnn, adam_state *adam, float learning_rate,
                      float weight_decay)
{
    float b1 = (float)ADAM_BETA1;
    float b2 = (float)ADAM_BETA2;
    float decay = 1.0f - learning_rate * weight_decay;
    float m_scale;
    float v_scale;

    adam->step++;
    m_scale = (float)(1.0 / (1.0 - pow(ADAM_BETA1, (double)adam->step)));
    v_scale = (float)(1.0 / (1.0 - pow(ADAM_BETA2, (double)adam->step)));

    for (int block = 0; block < cnn->block_count; block++) {
        int decays = cnn->decays[block] && weight_decay > 0.0f;

        for (size_t i = cnn->offset[block]; i < cnn->offset[block + 1]; i++) {
            float g = cnn->grads[i];
            float m = b1 * adam->m[i] + (1.0f - b1) * g;
            float v = b2 * adam->v[i] + (1.0f - b2) * g * g;

            adam->m[i] = m;
            adam->v[i] = v;
            if (decays)
                cnn->params[i] *= decay;
            cnn->params[i] -= learning_rate * (m * m_scale) /
                              (sqrtf(v * v_scale) + ADAM_EPSILON);
        }
    }
}


float ohlcx_cnn_epoch_learning_rate(const ohlcx_cnn_train_options *o,
                                    int epoch)
{
    double rate = o->learning_rate;

    switch (o->lr_schedule) {
    case OHLCX_LR_STEP:
        rate *= pow((double)o->lr_gamma, (double)(epoch / o->lr_step_epochs));
        break;
    case OHLCX_LR_COSINE:
        rate *= 0.5 * (1.0 + cos(M_PI * (double)epoch / (double)o->max_epochs));
        break;
    default:
        break;
    }
    return (float)rate;
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
    if (!(o->weight_decay >= 0.0f) || !isfinite(o->weight_decay))
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: invalid weight_decay "
                               "%g: expected 0 or a positive number",
                               (double)o->weight_decay);
    if (o->lr_schedule < OHLCX_LR_CONSTANT || o->lr_schedule > OHLCX_LR_COSINE)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: invalid lr_schedule "
                               "%d: expected OHLCX_LR_CONSTANT, OHLCX_LR_STEP "
                               "or OHLCX_LR_COSINE", o->lr_schedule);
    if (o->lr_step_epochs < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: invalid "
                               "lr_step_epochs %d: expected at least 1",
                               o->lr_step_epochs);
    if (!(o->lr_gamma > 0.0f) || !isfinite(o->lr_gamma))
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: invalid lr_gamma %g: "
                               "expected a positive number",
                               (double)o->lr_gamma);
    return OHLCX_OK;
}


/* Checks that every feature is finite and every label is 0 or 1. The
 * message names the set in part ("train" or "validation") and the sample
 * number, indices[s] or, when indices is NULL, s. */
static int check_samples(const ohlcx_cnn *cnn, const float *x, const float *y,
                         const size_t *indices, size_t n, const char *part)
{
    size_t window = (size_t)cnn->config.window;
    size_t sample = (size_t)cnn->config.channels * window;

    for (size_t s = 0; s < n; s++) {
        size_t number = indices ? indices[s] : s;

        if (y[s] != 0.0f && y[s] != 1.0f)
            return ohlcx_set_error(OHLCX_EINVAL, "cnn train: %s label %zu is "
                                   "%g: labels must be 0 or 1", part, number,
                                   (double)y[s]);

        for (size_t i = 0; i < sample; i++)
            if (!isfinite(x[s * sample + i]))
                return ohlcx_set_error(
                    OHLCX_EDATA, "cnn train: %s sample %zu has %g at channel "
                    "%zu, position %zu: replace non-finite features before "
                    "training", part, number, (double)x[s * sample + i],
                    i / window, i % window);
    }
    return OHLCX_OK;
}


/* Fills the samples at indices into b->batch_x, b->batch_y and
 * b->batch_ids and checks them. */
static int fill_batch(const ohlcx_cnn *cnn, train_buffers *b,
                      const ohlcx_sample_source *source, const size_t *indices,
                      size_t count, const char *part)
{
    char where[64];
    int rc = source->fill(source->context, indices, count, b->batch_x,
                          b->batch_y, b->batch_ids);

    if (rc > 0)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: the %s sample fill "
                               "returned %d: expected 0 or a negative error "
                               "code", part, rc);
    if (rc < 0)
        return rc;
    snprintf(where, sizeof where, "cnn train: %s", part);
    rc = nn_check_ids(cnn, b->batch_ids, indices, count, where);
    if (rc != OHLCX_OK)
        return rc;
    return check_samples(cnn, b->batch_x, b->batch_y, indices, count, part);
}


static int check_options_and_sources(const ohlcx_cnn *cnn,
                                     const ohlcx_sample_source *train,
                                     const ohlcx_sample_source *validation,
                                     const ohlcx_cnn_train_options *o)
{
    if (!cnn || !train || !train->fill || train->count == 0)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: need a network and "
                               "a training source with a fill function and "
                               "at least one sample");
    if (validation && validation->count > 0 && !validation->fill)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: the validation "
                               "source has %zu samples but no fill function",
                               validation->count);
    return check_options(o);
}


static void free_buffers(train_buffers *b)
{
    nn_workspace_free(&b->ws);
    nn_parallel_free(b->parallel);
    free(b->order);
    free(b->chunk);
    free(b->batch_x);
    free(b->batch_y);
    free(b->batch_ids);
    free(b->best_params);
    free(b->best_running);
    free(b->adam.m);
    free(b->adam.v);
}


/* Returns 1 when the shards run the training steps: more than one thread,
 * and no batch normalisation, whose statistics span the whole batch. */
static int shards_train(const train_buffers *b, const ohlcx_cnn *cnn)
{
    return b->parallel != NULL && !cnn->config.batch_norm;
}


/* Allocates room for a mini-batch of batch samples and a validation chunk of
 * up to NN_EVAL_CHUNK samples, whichever is larger, with threads shards
 * when threads is above 1. */
static int alloc_buffers(train_buffers *b, const ohlcx_cnn *cnn,
                         size_t batch, size_t n_train, size_t n_val,
                         int threads)
{
    size_t sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;
    size_t params = cnn->offset[cnn->block_count];
    size_t running = cnn->running_count ? cnn->running_count : 1;
    size_t eval = n_val < NN_EVAL_CHUNK ? n_val : NN_EVAL_CHUNK;
    int rc;

    memset(b, 0, sizeof *b);
    b->capacity = batch > eval ? batch : eval;
    if (threads > 1 && b->capacity > 1) {
        rc = nn_parallel_create(&b->parallel, cnn, threads, b->capacity,
                                !cnn->config.batch_norm);
        if (rc != OHLCX_OK)
            return rc;
    }
    if (!shards_train(b, cnn)) {
        rc = nn_workspace_init(&b->ws, cnn, b->capacity, 1);
        if (rc != OHLCX_OK) {
            nn_parallel_free(b->parallel);
            return rc;
        }
    }

    b->order = malloc(n_train * sizeof *b->order);
    b->chunk = malloc(NN_EVAL_CHUNK * sizeof *b->chunk);
    b->batch_x = malloc(b->capacity * sample * sizeof *b->batch_x);
    b->batch_y = malloc(b->capacity * sizeof *b->batch_y);
    b->best_params = malloc(params * sizeof *b->best_params);
    b->best_running = malloc(running * sizeof *b->best_running);
    b->adam.m = calloc(params, sizeof *b->adam.m);
    b->adam.v = calloc(params, sizeof *b->adam.v);
    if (cnn->config.symbols > 0)
        b->batch_ids = malloc(b->capacity * sizeof *b->batch_ids);
    if (!b->order || !b->chunk || !b->batch_x || !b->batch_y ||
        !b->best_params || !b->best_running || !b->adam.m || !b->adam.v ||
        (cnn->config.symbols > 0 && !b->batch_ids)) {
        free_buffers(b);
        return ohlcx_set_error(OHLCX_ENOMEM, "cnn train: out of memory for "
                               "%zu training samples", n_train);
    }

    for (size_t i = 0; i < n_train; i++)
        b->order[i] = i;
    return OHLCX_OK;
}


/* Leaves in cnn->grads the gradient of the mean loss over the count samples
 * in b's batch buffers, and adds their summed loss to *loss_sum. */
static int train_step(ohlcx_cnn *cnn, train_buffers *b, const nn_pass *pass,
                      size_t count, double *loss_sum)
{
    double batch_sum;
    int rc;

    if (shards_train(b, cnn)) {
        rc = nn_parallel_train_step(b->parallel, cnn, b->batch_x, b->batch_y,
                                    b->batch_ids, count, pass->dropout_rng,
                                    &batch_sum);
        if (rc == OHLCX_OK)
            *loss_sum += batch_sum;
        return rc;
    }

    rc = nn_forward(cnn, &b->ws, b->batch_x, b->batch_ids, count, pass);
    if (rc != OHLCX_OK)
        return rc;
    *loss_sum += nn_loss_sum(&b->ws, b->batch_y, count);
    return nn_backward(cnn, &b->ws, b->batch_y, count, count);
}


/* Stores in *sum the summed loss of the count samples in b's batch
 * buffers, evaluated on the shards when there are any. A batch-normalised
 * network trains with OpenBLAS's threads inside sgemm, so its shards get
 * OpenBLAS to one thread here. */
static int eval_chunk(const ohlcx_cnn *cnn, train_buffers *b, size_t count,
                      double *sum)
{
    int rc;

    if (b->parallel != NULL) {
        nn_threads_begin();
        rc = nn_parallel_eval(b->parallel, cnn, b->batch_x, b->batch_y,
                              b->batch_ids, count, sum, NULL, NULL);
        nn_threads_end();
        return rc;
    }

    rc = nn_forward(cnn, &b->ws, b->batch_x, b->batch_ids, count, NULL);
    if (rc == OHLCX_OK)
        *sum = nn_loss_sum(&b->ws, b->batch_y, count);
    return rc;
}


/* Runs one epoch of mini-batches in the order in b->order and stores the
 * mean training loss in *loss, each batch's loss taken before its update. */
static int train_epoch(ohlcx_cnn *cnn, train_buffers *b, loop_state *loop,
                       const ohlcx_sample_source *train, size_t batch,
                       const ohlcx_cnn_train_options *options, int epoch,
                       double *loss)
{
    size_t n = train->count;
    double loss_sum = 0.0;
    float learning_rate = ohlcx_cnn_epoch_learning_rate(options, epoch - 1);
    nn_pass pass = {.dropout_rng = &loop->dropout, .running = cnn->running};

    for (size_t start = 0; start < n; start += batch) {
        size_t count = n - start < batch ? n - start : batch;
        int rc = fill_batch(cnn, b, train, b->order + start, count, "train");

        if (rc != OHLCX_OK)
            return rc;

        rc = train_step(cnn, b, &pass, count, &loss_sum);
        if (rc != OHLCX_OK)
            return rc;
        adam_step(cnn, &b->adam, learning_rate, options->weight_decay);
        if (options->progress != NULL)
            options->progress(options->progress_context, epoch,
                              options->max_epochs, start + count, n);
    }
    *loss = loss_sum / (double)n;
    return OHLCX_OK;
}


/* Stores the mean loss over the validation samples in *loss. The chunks and
 * their split between threads are those of ohlcx_cnn_loss() at the same
 * thread count, so the result equals it on the same samples bit for bit. */
static int validation_loss(const ohlcx_cnn *cnn, train_buffers *b,
                           const ohlcx_sample_source *validation,
                           double *loss)
{
    size_t n = validation->count;
    double sum = 0.0;

    for (size_t start = 0; start < n; start += NN_EVAL_CHUNK) {
        size_t count = n - start < NN_EVAL_CHUNK ? n - start : NN_EVAL_CHUNK;
        double chunk_sum;
        int rc;

        for (size_t i = 0; i < count; i++)
            b->chunk[i] = start + i;
        rc = fill_batch(cnn, b, validation, b->chunk, count, "validation");
        if (rc != OHLCX_OK)
            return rc;

        rc = eval_chunk(cnn, b, count, &chunk_sum);
        if (rc != OHLCX_OK)
            return rc;
        sum += chunk_sum;
    }
    *loss = sum / (double)n;
    return OHLCX_OK;
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


/* Points a checkpoint at the training state, without copying it. */
static void describe_checkpoint(const ohlcx_cnn *cnn, const train_buffers *b,
                                const loop_state *loop,
                                const ohlcx_cnn_train_options *options,
                                size_t n_train, size_t n_val,
                                const ohlcx_cnn_history *h,
                                ohlcx_cnn_checkpoint *c)
{
    memset(c, 0, sizeof *c);
    c->config = cnn->config;
    c->batch_size = options->batch_size;
    c->max_epochs = options->max_epochs;
    c->patience = options->patience;
    c->learning_rate = options->learning_rate;
    c->seed = options->seed;
    c->weight_decay = options->weight_decay;
    c->lr_schedule = options->lr_schedule;
    c->lr_step_epochs = options->lr_step_epochs;
    c->lr_gamma = options->lr_gamma;
    c->train_count = n_train;
    c->val_count = n_val;
    c->epoch = loop->epoch;
    c->finished = loop->finished;
    c->stale = loop->stale;
    c->best_val = loop->best_val;
    c->adam_step = b->adam.step;
    memcpy(c->rng_state, loop->rng.state, sizeof c->rng_state);
    memcpy(c->dropout_rng_state, loop->dropout.state,
           sizeof c->dropout_rng_state);
    c->history = *h;
    c->param_count = cnn->offset[cnn->block_count];
    c->params = cnn->params;
    c->adam_m = b->adam.m;
    c->adam_v = b->adam.v;
    c->best_params = b->best_params;
    c->running_count = cnn->running_count;
    c->running = cnn->running;
    c->best_running = b->best_running;
    c->order = b->order;
}


/* Fails unless a checkpoint was written by a training with this network's
 * configuration, these options and these sample counts. */
static int check_checkpoint_matches(const ohlcx_cnn_checkpoint *c,
                                    const ohlcx_cnn *cnn,
                                    const ohlcx_cnn_train_options *o,
                                    size_t n_train, size_t n_val,
                                    const char *path)
{
    if (!nn_config_equal(&c->config, &cnn->config))
        return ohlcx_set_error(OHLCX_EINVAL, "%s: the checkpoint is of a CNN "
                               "with another configuration (window %d, "
                               "%d stages, hidden %d; this one: window %d, "
                               "%d stages, hidden %d): train without resuming",
                               path, c->config.window, c->config.conv_count,
                               c->config.hidden, cnn->config.window,
                               cnn->config.conv_count, cnn->config.hidden);
    if (c->batch_size != o->batch_size || c->max_epochs != o->max_epochs ||
        c->patience != o->patience || c->learning_rate != o->learning_rate ||
        c->seed != o->seed)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: the checkpoint was written "
                               "with batch_size %d, max_epochs %d, patience "
                               "%d, learning_rate %g and seed %llu, this "
                               "training uses %d, %d, %d, %g and %llu: "
                               "resume with the same options", path,
                               c->batch_size, c->max_epochs, c->patience,
                               (double)c->learning_rate,
                               (unsigned long long)c->seed, o->batch_size,
                               o->max_epochs, o->patience,
                               (double)o->learning_rate,
                               (unsigned long long)o->seed);
    if (c->weight_decay != o->weight_decay ||
        c->lr_schedule != o->lr_schedule ||
        c->lr_step_epochs != o->lr_step_epochs || c->lr_gamma != o->lr_gamma)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: the checkpoint was written "
                               "with weight_decay %g, lr_schedule %d, "
                               "lr_step_epochs %d and lr_gamma %g, this "
                               "training uses %g, %d, %d and %g: resume with "
                               "the same options", path,
                               (double)c->weight_decay, c->lr_schedule,
                               c->lr_step_epochs, (double)c->lr_gamma,
                               (double)o->weight_decay, o->lr_schedule,
                               o->lr_step_epochs, (double)o->lr_gamma);
    if (c->train_count != n_train || c->val_count != n_val)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: the checkpoint was written "
                               "for %llu training and %llu validation "
                               "samples, this training has %zu and %zu: "
                               "resume with the same data", path,
                               (unsigned long long)c->train_count,
                               (unsigned long long)c->val_count, n_train,
                               n_val);
    return OHLCX_OK;
}


/* Restores the state of options->checkpoint_path when that file exists, and
 * leaves the fresh state when it does not. */
static int resume_from_checkpoint(ohlcx_cnn *cnn, train_buffers *b,
                                  loop_state *loop,
                                  const ohlcx_cnn_train_options *options,
                                  size_t n_train, size_t n_val,
                                  ohlcx_cnn_history *h)
{
    const char *path = options->checkpoint_path;
    ohlcx_cnn_checkpoint c;
    size_t params = cnn->offset[cnn->block_count];
    int rc;

    if (access(path, F_OK) != 0 && errno == ENOENT)
        return OHLCX_OK;
    rc = ohlcx_cnn_checkpoint_load(path, &c);
    if (rc != OHLCX_OK)
        return rc;
    rc = check_checkpoint_matches(&c, cnn, options, n_train, n_val, path);
    if (rc != OHLCX_OK) {
        ohlcx_cnn_checkpoint_free(&c);
        return rc;
    }

    memcpy(cnn->params, c.params, params * sizeof(float));
    memcpy(b->adam.m, c.adam_m, params * sizeof(float));
    memcpy(b->adam.v, c.adam_v, params * sizeof(float));
    memcpy(b->best_params, c.best_params, params * sizeof(float));
    memcpy(cnn->running, c.running, c.running_count * sizeof(float));
    memcpy(b->best_running, c.best_running, c.running_count * sizeof(float));
    memcpy(b->order, c.order, n_train * sizeof(size_t));
    memcpy(loop->rng.state, c.rng_state, sizeof loop->rng.state);
    memcpy(loop->dropout.state, c.dropout_rng_state,
           sizeof loop->dropout.state);
    b->adam.step = c.adam_step;
    loop->best_val = c.best_val;
    loop->stale = c.stale;
    loop->epoch = c.epoch;
    loop->finished = c.finished;
    *h = c.history;
    ohlcx_cnn_checkpoint_free(&c);

    if (options->verbose)
        fprintf(stderr, "cnn: %s after epoch %d of %d from %s\n",
                loop->finished ? "training finished" : "resuming",
                loop->epoch, options->max_epochs, path);
    return OHLCX_OK;
}


/* Runs the epochs after loop->epoch until max_epochs, early stopping or a
 * failure, copying the weights of each improving epoch to b->best_params and
 * writing a checkpoint after each epoch when the options name a file. */
static int run_epochs(ohlcx_cnn *cnn, train_buffers *b, loop_state *loop,
                      const ohlcx_sample_source *train,
                      const ohlcx_sample_source *validation, size_t batch,
                      const ohlcx_cnn_train_options *options,
                      ohlcx_cnn_history *h)
{
    size_t params = cnn->offset[cnn->block_count];
    size_t n_val = validation != NULL ? validation->count : 0;
    int has_val = n_val > 0;

    while (!loop->finished && loop->epoch < options->max_epochs) {
        int epoch = loop->epoch + 1;
        double train_loss;
        double val_loss = NAN;
        int improved;
        int rc;

        nn_rng_shuffle(&loop->rng, b->order, train->count);
        rc = train_epoch(cnn, b, loop, train, batch, options, epoch,
                         &train_loss);
        if (rc != OHLCX_OK)
            return rc;
        if (!isfinite(train_loss))
            return ohlcx_set_error(OHLCX_EDATA, "cnn train: training diverged "
                                   "at epoch %d (train loss %g): lower "
                                   "learning_rate (now %g)", epoch, train_loss,
                                   (double)options->learning_rate);

        if (has_val) {
            rc = validation_loss(cnn, b, validation, &val_loss);
            if (rc != OHLCX_OK)
                return rc;
        }
        improved = record_epoch(h, epoch, train_loss, val_loss, has_val,
                                &loop->best_val);
        if (improved) {
            loop->stale = 0;
            memcpy(b->best_params, cnn->params, params * sizeof(float));
            memcpy(b->best_running, cnn->running,
                   cnn->running_count * sizeof(float));
        } else {
            loop->stale++;
        }
        if (options->verbose)
            log_epoch(h, options->max_epochs, has_val, improved);

        loop->epoch = epoch;
        loop->finished = loop->stale >= options->patience ||
                         epoch == options->max_epochs;
        if (options->checkpoint_path != NULL) {
            ohlcx_cnn_checkpoint c;

            describe_checkpoint(cnn, b, loop, options, train->count, n_val, h,
                                &c);
            rc = ohlcx_cnn_checkpoint_save(&c, options->checkpoint_path);
            if (rc != OHLCX_OK)
                return rc;
        }
    }
    return OHLCX_OK;
}


int ohlcx_cnn_train_source(ohlcx_cnn *cnn, const ohlcx_sample_source *train,
                           const ohlcx_sample_source *validation,
                           const ohlcx_cnn_train_options *options,
                           ohlcx_cnn_history *history)
{
    ohlcx_cnn_train_options defaults;
    ohlcx_cnn_history local_history;
    ohlcx_cnn_history *h = history ? history : &local_history;
    size_t n_val = validation ? validation->count : 0;
    size_t params;
    size_t batch;
    train_buffers b;
    loop_state loop;
    int threads;
    int rc;

    if (!options) {
        ohlcx_cnn_train_options_default(&defaults);
        options = &defaults;
    }
    rc = check_options_and_sources(cnn, train, validation, options);
    if (rc != OHLCX_OK)
        return rc;

    batch = (size_t)options->batch_size < train->count
                ? (size_t)options->batch_size
                : train->count;

    /* The section keeps OpenBLAS at one thread for the shards. A
     * batch-normalised network trains single-threaded with OpenBLAS's
     * threads, so it enters a section only to validate. */
    threads = nn_threads_begin();
    if (cnn->config.batch_norm)
        nn_threads_end();
    rc = alloc_buffers(&b, cnn, batch, train->count, n_val, threads);
    if (rc != OHLCX_OK) {
        if (!cnn->config.batch_norm)
            nn_threads_end();
        return rc;
    }

    params = cnn->offset[cnn->block_count];
    memcpy(b.best_params, cnn->params, params * sizeof(float));
    memcpy(b.best_running, cnn->running, cnn->running_count * sizeof(float));
    memset(h, 0, sizeof *h);
    memset(&loop, 0, sizeof loop);
    nn_rng_seed(&loop.rng, options->seed);
    nn_dropout_rng_seed(&loop.dropout, options->seed);
    loop.best_val = INFINITY;

    rc = OHLCX_OK;
    if (options->resume && options->checkpoint_path != NULL)
        rc = resume_from_checkpoint(cnn, &b, &loop, options, train->count,
                                    n_val, h);
    if (rc == OHLCX_OK)
        rc = run_epochs(cnn, &b, &loop, train, validation, batch, options, h);

    /* best_params contains the initial weights until an epoch improves, and
     * without validation samples every epoch counts as an improvement. */
    memcpy(cnn->params, b.best_params, params * sizeof(float));
    memcpy(cnn->running, b.best_running, cnn->running_count * sizeof(float));
    free_buffers(&b);
    if (!cnn->config.batch_norm)
        nn_threads_end();
    return rc;
}


static int fill_from_arrays(void *context, const size_t *indices, size_t count,
                            float *x, float *y, int32_t *ids)
{
    const array_source *a = context;

    (void)ids; /* ohlcx_cnn_train() rejects networks with symbols */
    for (size_t s = 0; s < count; s++) {
        memcpy(x + s * a->sample, a->x + indices[s] * a->sample,
               a->sample * sizeof *x);
        y[s] = a->y[indices[s]];
    }
    return OHLCX_OK;
}


int ohlcx_cnn_train(ohlcx_cnn *cnn, const float *x_train, const float *y_train,
                    size_t n_train, const float *x_val, const float *y_val,
                    size_t n_val, const ohlcx_cnn_train_options *options,
                    ohlcx_cnn_history *history)
{
    array_source train_arrays = {x_train, y_train, 0};
    array_source val_arrays = {x_val, y_val, 0};
    ohlcx_sample_source train = {fill_from_arrays, &train_arrays, n_train};
    ohlcx_sample_source validation = {fill_from_arrays, &val_arrays, n_val};
    ohlcx_cnn_train_options defaults;
    int rc;

    if (!cnn || !x_train || !y_train || n_train == 0)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: need a network and "
                               "at least one training sample with its label");
    if (n_val > 0 && (!x_val || !y_val))
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: n_val is %zu but "
                               "x_val or y_val is NULL", n_val);
    if (cnn->config.symbols > 0)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn train: the network has a "
                               "symbol embedding, whose ids the arrays do not "
                               "give: train with ohlcx_cnn_train_source()");
    if (!options) {
        ohlcx_cnn_train_options_default(&defaults);
        options = &defaults;
    }

    /* Checking up front rejects bad input before any weight changes. The
     * per-batch checks of the source version then find nothing. */
    rc = check_options(options);
    if (rc == OHLCX_OK)
        rc = check_samples(cnn, x_train, y_train, NULL, n_train, "train");
    if (rc == OHLCX_OK)
        rc = check_samples(cnn, x_val, y_val, NULL, n_val, "validation");
    if (rc != OHLCX_OK)
        return rc;

    train_arrays.sample = (size_t)cnn->config.channels *
                          (size_t)cnn->config.window;
    val_arrays.sample = train_arrays.sample;
    return ohlcx_cnn_train_source(cnn, &train, &validation, options, history);
}
