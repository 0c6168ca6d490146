/*
 * Data parallelism over the mini-batch: T threads each run forward and
 * backward on a contiguous shard of a batch, in a workspace and a gradient
 * buffer of their own, and the T gradients are then summed in shard order.
 *
 * Shard k of n samples is [k n / T, (k + 1) n / T), so the boundaries
 * depend only on n and T, and a run is deterministic for a seed and a
 * thread count. Each shard takes the gradient of its loss sum divided by n,
 * not by its own size, so the shards' sum is the gradient of the batch's
 * mean loss. It differs from the single-threaded gradient only in the order
 * of the float additions.
 *
 * T is OpenBLAS's thread count when a section starts (nn_threads_begin()).
 * While a section runs, OpenBLAS is set to one thread, and the oneDNN plans,
 * which follow OpenBLAS's count (dnnl.c), are built for one thread too, so
 * T threads run in all and never T x T.
 *
 * Dropout masks are drawn on the calling thread for the whole batch, in the
 * order the single-threaded pass draws them, so they do not depend on T.
 * Batch normalisation in training needs statistics over the whole batch,
 * so train.c keeps such networks on the single-threaded path, with
 * OpenBLAS's threads inside each sgemm. Evaluation uses the running
 * statistics and splits every network.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"
#include "util/libraries.h"

/* Bytes of a worker's error message that reach the calling thread. */
#define MESSAGE_BYTES 512


/* Shared by every section in the process: how many run, and the OpenBLAS
 * thread count to restore when the last one ends. */
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static int active_sections;
static int saved_threads = 1;


int nn_threads_begin(void)
{
    int threads;

    pthread_mutex_lock(&threads_lock);
    if (active_sections == 0) {
        saved_threads = openblas_get_num_threads();
        if (saved_threads < 1)
            saved_threads = 1;
        if (saved_threads > 1)
            openblas_set_num_threads(1);
    }
    active_sections++;
    threads = saved_threads;
    pthread_mutex_unlock(&threads_lock);
    return threads;
}


/* The oneDNN plans of shard 0 set the calling thread's OpenMP thread count
 * to 1 (dnnl.c), so it is restored with OpenBLAS's for the OpenMP code that
 * runs after the section on this thread. */
void nn_threads_end(void)
{
    pthread_mutex_lock(&threads_lock);
    active_sections--;
    if (active_sections == 0 && saved_threads > 1) {
        openblas_set_num_threads(saved_threads);
#ifdef OHLCX_HAVE_DNNL
        if (ohlcx_dnnl_load() == OHLCX_OK)
            ohlcx_dnnl.omp_set_num_threads(saved_threads);
#endif
    }
    pthread_mutex_unlock(&threads_lock);
}


/* One worker of a pool and the shard number it runs. */
typedef struct pool_worker {
    struct nn_pool *pool;
    int index;
} pool_worker;

/*
 * Worker threads 1 .. threads - 1, which wait for a task and run
 * task(context, index). Index 0 is the calling thread's. Each pool_run()
 * increments generation, and a worker runs the task once per generation.
 */
struct nn_pool {
    int threads;
    int started; /* workers created, threads - 1 once the pool is up */
    pthread_t *ids;
    pool_worker *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* signalled when generation or stop changes */
    pthread_cond_t idle; /* signalled when pending reaches 0 */
    uint64_t generation;
    int pending; /* workers still running this generation's task */
    int stop;
    void (*task)(void *context, int index);
    void *context;
};


static void *pool_main(void *argument)
{
    pool_worker *w = argument;
    struct nn_pool *pool = w->pool;
    uint64_t seen = 0;

    for (;;) {
        void (*task)(void *, int);
        void *context;

        pthread_mutex_lock(&pool->lock);
        while (!pool->stop && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stop) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        seen = pool->generation;
        task = pool->task;
        context = pool->context;
        pthread_mutex_unlock(&pool->lock);

        task(context, w->index);

        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->idle);
        pthread_mutex_unlock(&pool->lock);
    }
}


static void pool_free(struct nn_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->started; i++)
        pthread_join(pool->ids[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->idle);
    free(pool->ids);
    free(pool->workers);
    free(pool);
}


static int pool_create(struct nn_pool **out, int threads)
{
    struct nn_pool *pool = calloc(1, sizeof *pool);
    size_t workers = (size_t)(threads - 1);

    *out = NULL;
    if (pool == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory for %d "
                               "threads", threads);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->idle, NULL);
    pool->threads = threads;
    pool->ids = calloc(workers, sizeof *pool->ids);
    pool->workers = calloc(workers, sizeof *pool->workers);
    if (pool->ids == NULL || pool->workers == NULL) {
        pool_free(pool);
        return ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory for %d "
                               "threads", threads);
    }

    for (size_t i = 0; i < workers; i++) {
        pool->workers[i] = (pool_worker){pool, (int)i + 1};
        if (pthread_create(&pool->ids[i], NULL, pool_main,
                           &pool->workers[i]) != 0) {
            pool_free(pool);
            return ohlcx_set_error(OHLCX_ELIB, "cnn: failed to start thread "
                                   "%zu of %d: lower the thread count",
                                   i + 2, threads);
        }
        pool->started++;
    }
    *out = pool;
    return OHLCX_OK;
}


/* Runs task(context, i) for every i below pool->threads, i = 0 on the
 * calling thread, and returns when all have finished. */
static void pool_run(struct nn_pool *pool, void (*task)(void *, int),
                     void *context)
{
    pthread_mutex_lock(&pool->lock);
    pool->task = task;
    pool->context = context;
    pool->pending = pool->threads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    task(context, 0);

    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->idle, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}


/* One thread's part: the network seen through its own gradient buffer, its
 * workspace, and the outcome of its last task. */
typedef struct nn_shard {
    ohlcx_cnn view;  /* a copy of the network's struct with grads replaced */
    nn_workspace ws;
    float *grads;
    size_t first;    /* the shard's samples in the current batch */
    size_t count;
    double loss_sum;
    int rc;
    char message[MESSAGE_BYTES];
} nn_shard;

/* The job that pool_run() hands to every shard. */
typedef struct shard_job {
    nn_parallel *parallel;
    const ohlcx_cnn *cnn;
    const float *x;
    const float *y;     /* labels, or NULL when no loss is wanted */
    const int32_t *ids;
    size_t n;           /* samples in the whole batch */
    int backward;       /* 1: training step, else evaluation */
    float *prob;        /* evaluation outputs for the batch, or NULL */
    float *embedding;
} shard_job;

struct nn_parallel {
    int shards;
    struct nn_pool *pool;
    nn_shard *shard;
    size_t capacity; /* samples of a batch, over all shards */
    /* Dropout masks of a whole batch: each stage's, then the hidden
     * layer's, or NULL without dropout or backward buffers. */
    float *masks[OHLCX_CNN_MAX_CONV];
    float *hidden_mask;
    shard_job job;
};


int nn_parallel_shards(const nn_parallel *p)
{
    return p->shards;
}


void nn_parallel_free(nn_parallel *p)
{
    if (p == NULL)
        return;
    pool_free(p->pool);
    for (int k = 0; k < p->shards && p->shard != NULL; k++) {
        nn_workspace_free(&p->shard[k].ws);
        free(p->shard[k].grads);
    }
    for (int i = 0; i < OHLCX_CNN_MAX_CONV; i++)
        free(p->masks[i]);
    free(p->hidden_mask);
    free(p->shard);
    free(p);
}


/* Allocates the whole-batch dropout masks for batches of capacity
 * samples. */
static int alloc_masks(nn_parallel *p, const ohlcx_cnn *cnn, size_t capacity)
{
    const ohlcx_cnn_config *c = &cnn->config;

    for (int i = 0; i < c->conv_count; i++) {
        const nn_stage *st = &cnn->stage[i];

        p->masks[i] = malloc(capacity * st->out_length *
                             (size_t)st->filters * sizeof(float));
        if (p->masks[i] == NULL)
            return OHLCX_ENOMEM;
    }
    p->hidden_mask = malloc(capacity * (size_t)c->hidden * sizeof(float));
    return p->hidden_mask != NULL ? OHLCX_OK : OHLCX_ENOMEM;
}


static int init_shard(nn_shard *s, const ohlcx_cnn *cnn, size_t capacity,
                      int with_backward)
{
    size_t params = cnn->offset[cnn->block_count];
    int rc;

    s->view = *cnn;
    if (with_backward) {
        s->grads = calloc(params, sizeof *s->grads);
        if (s->grads == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory for a "
                                   "gradient buffer of %zu floats", params);
        s->view.grads = s->grads;
    }
    rc = nn_workspace_init(&s->ws, cnn, capacity, with_backward);
    return rc;
}


int nn_parallel_create(nn_parallel **out, const ohlcx_cnn *cnn, int threads,
                       size_t capacity, int with_backward)
{
    nn_parallel *p;
    size_t per_shard;
    int rc;

    *out = NULL;
    if (threads < 2 || capacity < 2)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn: data parallelism needs "
                               "at least 2 threads and 2 samples, got %d "
                               "and %zu", threads, capacity);
    if ((size_t)threads > capacity)
        threads = (int)capacity;

    p = calloc(1, sizeof *p);
    if (p == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory for %d "
                               "threads", threads);
    p->shards = threads;
    p->capacity = capacity;
    p->shard = calloc((size_t)threads, sizeof *p->shard);
    if (p->shard == NULL) {
        rc = ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory for %d "
                             "threads", threads);
        goto fail;
    }

    /* The largest shard of a full batch has ceil(capacity / T) samples. */
    per_shard = (capacity + (size_t)threads - 1) / (size_t)threads;
    for (int k = 0; k < threads; k++) {
        rc = init_shard(&p->shard[k], cnn, per_shard, with_backward);
        if (rc != OHLCX_OK)
            goto fail;
    }
    if (with_backward && cnn->config.dropout > 0.0f &&
        alloc_masks(p, cnn, capacity) != OHLCX_OK) {
        rc = ohlcx_set_error(OHLCX_ENOMEM, "cnn: out of memory for the "
                             "dropout masks of %zu samples: lower "
                             "batch_size", capacity);
        goto fail;
    }
    rc = pool_create(&p->pool, threads);
    if (rc != OHLCX_OK)
        goto fail;
    *out = p;
    return OHLCX_OK;

fail:
    nn_parallel_free(p);
    return rc;
}


/* Draws the dropout masks of a batch of n samples in the order that
 * nn_forward() draws them on one thread: each stage's, then the hidden
 * layer's. */
static void draw_masks(nn_parallel *p, const ohlcx_cnn *cnn, nn_rng *rng,
                       size_t n)
{
    const ohlcx_cnn_config *c = &cnn->config;

    for (int i = 0; i < c->conv_count; i++) {
        const nn_stage *st = &cnn->stage[i];

        nn_dropout_mask(rng, c->dropout, p->masks[i],
                        n * st->out_length * (size_t)st->filters);
    }
    nn_dropout_mask(rng, c->dropout, p->hidden_mask, n * (size_t)c->hidden);
}


/* Points pass at shard s's part of the masks drawn for the batch. */
static void shard_masks(const nn_parallel *p, const ohlcx_cnn *cnn,
                        const nn_shard *s, nn_pass *pass)
{
    const ohlcx_cnn_config *c = &cnn->config;

    for (int i = 0; i < c->conv_count; i++) {
        const nn_stage *st = &cnn->stage[i];

        pass->masks[i] = p->masks[i] +
                         s->first * st->out_length * (size_t)st->filters;
    }
    pass->hidden_mask = p->hidden_mask + s->first * (size_t)c->hidden;
}


/* Runs one shard's part of the job: forward, and then the loss sum, the
 * backward pass or the evaluation outputs. */
static int run_shard(nn_parallel *p, const shard_job *job, nn_shard *s)
{
    const ohlcx_cnn *cnn = job->cnn;
    size_t sample = (size_t)cnn->config.channels *
                    (size_t)cnn->config.window;
    size_t hidden = (size_t)cnn->config.hidden;
    const float *x = job->x + s->first * sample;
    const int32_t *ids = job->ids != NULL ? job->ids + s->first : NULL;
    nn_pass pass;
    int rc;

    memset(&pass, 0, sizeof pass);
    if (job->backward && p->hidden_mask != NULL)
        shard_masks(p, cnn, s, &pass);
    rc = nn_forward(&s->view, &s->ws, x, ids, s->count,
                    job->backward ? &pass : NULL);
    if (rc != OHLCX_OK)
        return rc;

    if (job->y != NULL)
        s->loss_sum = nn_loss_sum(&s->ws, job->y + s->first, s->count);
    if (job->backward)
        return nn_backward(&s->view, &s->ws, job->y + s->first, s->count,
                           job->n);

    if (job->prob != NULL)
        for (size_t i = 0; i < s->count; i++)
            job->prob[s->first + i] = nn_sigmoid(s->ws.logit[i]);
    if (job->embedding != NULL)
        memcpy(job->embedding + s->first * hidden, s->ws.hidden,
               s->count * hidden * sizeof *job->embedding);
    return OHLCX_OK;
}


static void shard_task(void *context, int index)
{
    nn_parallel *p = context;
    nn_shard *s = &p->shard[index];

    s->loss_sum = 0.0;
    s->rc = OHLCX_OK;
    if (s->count == 0)
        return;
    s->rc = run_shard(p, &p->job, s);
    if (s->rc != OHLCX_OK)
        snprintf(s->message, sizeof s->message, "%s", ohlcx_last_error());
}


/* Splits n samples into min(shards, n) parts, runs the job on each, and
 * returns the first failure in shard order with its message, or sums the
 * shards' loss sums in shard order into *loss_sum. Taking min(shards, n)
 * makes the split of n samples depend on the thread count only, not on the
 * capacity the shards were created for. */
static int run_job(nn_parallel *p, size_t n, double *loss_sum)
{
    size_t shards = (size_t)p->shards;
    size_t parts = n < shards ? n : shards;
    double sum = 0.0;

    for (size_t k = 0; k < shards; k++) {
        nn_shard *s = &p->shard[k];

        s->first = k < parts ? k * n / parts : n;
        s->count = k < parts ? (k + 1) * n / parts - s->first : 0;
    }
    pool_run(p->pool, shard_task, p);

    for (size_t k = 0; k < shards; k++) {
        const nn_shard *s = &p->shard[k];

        if (s->rc != OHLCX_OK)
            return ohlcx_set_error(s->rc, "%s", s->message);
        sum += s->loss_sum;
    }
    if (loss_sum != NULL)
        *loss_sum = sum;
    return OHLCX_OK;
}


/* Sums the gradients of the shards that had samples into cnn->grads, in
 * shard order. */
static void reduce_gradients(const nn_parallel *p, ohlcx_cnn *cnn)
{
    size_t params = cnn->offset[cnn->block_count];
    int first = 1;

    for (int k = 0; k < p->shards; k++) {
        const nn_shard *s = &p->shard[k];

        if (s->count == 0)
            continue;
        if (first) {
            memcpy(cnn->grads, s->grads, params * sizeof *cnn->grads);
            first = 0;
            continue;
        }
        for (size_t i = 0; i < params; i++)
            cnn->grads[i] += s->grads[i];
    }
}


int nn_parallel_train_step(nn_parallel *p, ohlcx_cnn *cnn, const float *x,
                           const float *y, const int32_t *ids, size_t n,
                           nn_rng *dropout_rng, double *loss_sum)
{
    int rc;

    if (n > p->capacity)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn: a batch of %zu samples "
                               "exceeds the %zu the shards were sized for",
                               n, p->capacity);
    if (p->hidden_mask != NULL)
        draw_masks(p, cnn, dropout_rng, n);

    p->job = (shard_job){p, cnn, x, y, ids, n, 1, NULL, NULL};
    rc = run_job(p, n, loss_sum);
    if (rc != OHLCX_OK)
        return rc;
    reduce_gradients(p, cnn);
    return OHLCX_OK;
}


int nn_parallel_eval(nn_parallel *p, const ohlcx_cnn *cnn, const float *x,
                     const float *y, const int32_t *ids, size_t n,
                     double *loss_sum, float *prob, float *embedding)
{
    if (n > p->capacity)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn: a chunk of %zu samples "
                               "exceeds the %zu the shards were sized for",
                               n, p->capacity);
    p->job = (shard_job){p, cnn, x, y, ids, n, 0, prob, embedding};
    return run_job(p, n, loss_sum);
}


int nn_parallel_eval_loss_sum(nn_parallel *p, const ohlcx_cnn *cnn,
                              const float *x, const float *y,
                              const int32_t *ids, size_t n, double *sum)
{
    size_t sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;

    *sum = 0.0;
    for (size_t start = 0; start < n; start += NN_EVAL_CHUNK) {
        size_t count = n - start < NN_EVAL_CHUNK ? n - start : NN_EVAL_CHUNK;
        double chunk;
        int rc = nn_parallel_eval(p, cnn, x + start * sample, y + start,
                                  ids ? ids + start : NULL, count, &chunk,
                                  NULL, NULL);

        if (rc != OHLCX_OK)
            return rc;
        *sum += chunk;
    }
    return OHLCX_OK;
}
