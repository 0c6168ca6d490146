/*
 * The CNN's workspace, and the layers after the convolution stages: the
 * readout, the dense layers, dropout on the embedding and the loss, forward
 * and backward over a mini-batch.
 *
 * The convolution stages run in conv.c (im2col + sgemm) or, for the
 * networks that oneDNN serves, in dnnl.c. The readout, dense layers and loss
 * stay here for both paths.
 *
 * Invariants: nothing here allocates, so the caller sizes one workspace per
 * training run or predict call and reuses it for every batch. The oneDNN
 * path allocates once per batch size, on the first batch of that size.
 * Every sum outside sgemm and oneDNN runs in a fixed order.
 *
 * NOTE: bit-identical runs also need sgemm to round the same way each time at
 * a given thread count. OpenBLAS 0.3.21 on x86-64 does (the determinism test
 * in tests/unit/test_nn.c checks it), but its documentation promises nothing.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"
#include "util/libraries.h"

/* Workspace segments start on 64-byte boundaries (16 floats). */
#define SEGMENT_ALIGN 16

/* Largest workspace in floats, which keeps byte counts and rounding from
 * overflowing size_t. */
#define MAX_FLOATS (SIZE_MAX / 8)

/* Most workspace segments: ten per stage and eight more. */
#define MAX_SEGMENTS (10 * OHLCX_CNN_MAX_CONV + 8)


/* One buffer of a workspace: per_sample floats for each sample, or fixed
 * floats in all. */
typedef struct segment {
    float **slot;
    size_t per_sample;
    size_t fixed;
} ws_segment;


static size_t round_up(size_t count)
{
    return (count + SEGMENT_ALIGN - 1) / SEGMENT_ALIGN * SEGMENT_ALIGN;
}


/* Returns the first SEGMENT_ALIGN-float boundary at or after memory. */
static float *align_segment(float *memory)
{
    uintptr_t bytes = SEGMENT_ALIGN * sizeof(float);
    uintptr_t address = (uintptr_t)memory;

    return memory + ((bytes - address % bytes) % bytes) / sizeof(float);
}


static float *carve(float **cursor, size_t count)
{
    float *segment = *cursor;

    *cursor += round_up(count);
    return segment;
}


static void add_segment(ws_segment *list, int *count, float **slot,
                        size_t per_sample, size_t fixed)
{
    list[*count].slot = slot;
    list[*count].per_sample = per_sample;
    list[*count].fixed = fixed;
    (*count)++;
}


/* Lists the buffers of stage i. oneDNN (dnnl) needs no patch matrices and
 * keeps the first stage's output and its gradient in buffers of its own, so
 * those get no segment. */
static void stage_segments(const ohlcx_cnn *cnn, nn_workspace *ws, int i,
                           int with_backward, int dnnl, ws_segment *list,
                           int *count)
{
    const nn_stage *st = &cnn->stage[i];
    nn_stage_buffers *b = &ws->stage[i];
    int last = i == cnn->config.conv_count - 1;
    size_t f = (size_t)st->filters;
    size_t patch = (size_t)st->kernel * (size_t)st->in_channels;
    size_t act = st->length * f;
    size_t out = st->out_length * f;
    int batch_norm = cnn->config.batch_norm;

    if (!dnnl)
        add_segment(list, count, &b->col, st->length * patch, 0);
    if (batch_norm) {
        add_segment(list, count, &b->z, act, 0);
        add_segment(list, count, &b->mean, 0, f);
        add_segment(list, count, &b->inv_std, 0, f);
    }
    if (!dnnl || i == 1)
        add_segment(list, count, &b->act, act, 0);
    if (st->pool > 1)
        add_segment(list, count, &b->out, out, 0);
    if (!with_backward)
        return;

    if (cnn->config.dropout > 0.0f)
        add_segment(list, count, &b->mask, out, 0);
    if (!dnnl && i > 0)
        add_segment(list, count, &b->d_col, st->length * patch, 0);
    if (!dnnl && (!last || st->pool > 1))
        add_segment(list, count, &b->d_act, act, 0);
    if (st->pool > 1)
        add_segment(list, count, &b->d_out, out, 0);
}


/* Lists every buffer of a workspace, in carving order. */
static int list_segments(const ohlcx_cnn *cnn, nn_workspace *ws,
                         int with_backward, int dnnl, ws_segment *list)
{
    size_t hidden = (size_t)cnn->config.hidden;
    size_t width = (size_t)cnn->readout_width;
    int count = 0;

    for (int i = 0; i < cnn->config.conv_count; i++)
        stage_segments(cnn, ws, i, with_backward, dnnl, list, &count);
    add_segment(list, &count, &ws->readout, width, 0);
    add_segment(list, &count, &ws->hidden, hidden, 0);
    add_segment(list, &count, &ws->logit, 1, 0);
    if (with_backward) {
        if (cnn->config.dropout > 0.0f)
            add_segment(list, &count, &ws->hidden_mask, hidden, 0);
        add_segment(list, &count, &ws->d_logit, 1, 0);
        add_segment(list, &count, &ws->d_hidden, hidden, 0);
        add_segment(list, &count, &ws->d_readout, width, 0);
    }
    return count;
}


/* Points the buffers that share memory: a stage without pooling writes its
 * output in place of its activation. */
static void alias_buffers(const ohlcx_cnn *cnn, nn_workspace *ws)
{
    int last = cnn->config.conv_count - 1;

    for (int i = 0; i <= last; i++) {
        nn_stage_buffers *b = &ws->stage[i];

        if (cnn->stage[i].pool == 1) {
            b->out = b->act;
            b->d_out = b->d_act;
        }
    }
    ws->last_out = ws->stage[last].out;
}


/* Creates the oneDNN plans holder when the oneDNN kernels are selected,
 * in the precision selected. */
static int attach_dnnl(nn_workspace *ws, int with_backward)
{
#ifdef OHLCX_HAVE_DNNL
    if (nn_get_kernels() == NN_KERNELS_DNNL)
        return nn_dnnl_create(&ws->dnnl, nn_use_bf16(), with_backward);
#endif
    (void)ws;
    (void)with_backward;
    return OHLCX_OK;
}


int nn_workspace_init(nn_workspace *ws, const ohlcx_cnn *cnn, size_t capacity,
                      int with_backward)
{
    ws_segment list[MAX_SEGMENTS];
    size_t longest = cnn->stage[0].length;
    size_t total = 0;
    float *cursor;
    int dnnl = 0;
    int count;
    int rc;

    memset(ws, 0, sizeof *ws);
    /* The passes multiply matrices with OpenBLAS's cblas_sgemm(), which
     * cannot report a library that failed to load, so the check is here. */
    rc = ohlcx_openblas_load();
    if (rc != OHLCX_OK)
        return rc;
    if (capacity == 0 || capacity > INT_MAX / longest)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "cnn: %zu samples do not fit one pass, whose "
                               "sgemm row count is an int: pass at most %zu",
                               capacity, (size_t)INT_MAX / longest);

#ifdef OHLCX_HAVE_DNNL
    dnnl = nn_get_kernels() == NN_KERNELS_DNNL && nn_dnnl_serves(&cnn->config);
#endif
    count = list_segments(cnn, ws, with_backward, dnnl, list);
    for (int i = 0; i < count; i++) {
        size_t floats;

        if (list[i].per_sample > MAX_FLOATS / capacity)
            goto too_large;
        floats = round_up(list[i].per_sample * capacity + list[i].fixed);
        if (total > MAX_FLOATS - floats)
            goto too_large;
        total += floats;
    }

    /* Aligned by hand in a malloc block, because glibc 2.36 serves
     * aligned_alloc(a, size) from a block of more than size + a and frees
     * the ends. A workspace freed just before is then too small for the next
     * one of the same size, so the heap grows: ten ohlcx_cnn_predict() calls
     * of 2048 samples each left 130 MB of free heap in a test program. */
    ws->memory = malloc((total + SEGMENT_ALIGN) * sizeof(float));
    if (!ws->memory)
        return ohlcx_set_error(OHLCX_ENOMEM,
                               "cnn: out of memory allocating a %zu MiB "
                               "workspace for %zu samples: lower batch_size",
                               total * sizeof(float) >> 20, capacity);

    cursor = align_segment(ws->memory);
    ws->capacity = capacity;
    for (int i = 0; i < count; i++)
        *list[i].slot = carve(&cursor, list[i].per_sample * capacity +
                                           list[i].fixed);
    alias_buffers(cnn, ws);

    rc = dnnl ? attach_dnnl(ws, with_backward) : OHLCX_OK;
    if (rc != OHLCX_OK)
        nn_workspace_free(ws);
    return rc;

too_large:
    return ohlcx_set_error(OHLCX_ENOMEM,
                           "cnn: a workspace for %zu samples is too large: "
                           "lower batch_size",
                           capacity);
}


void nn_workspace_free(nn_workspace *ws)
{
#ifdef OHLCX_HAVE_DNNL
    nn_dnnl_free(ws->dnnl);
#endif
    free(ws->memory);
    memset(ws, 0, sizeof *ws);
}


/* Returns the filters per block of last_out's layout, see nn_workspace. */
static size_t out_block(size_t filters, const nn_workspace *ws)
{
    return ws->act2_block != 0 ? ws->act2_block : filters;
}


/* Concatenates the last position of the last stage's output, its mean over
 * positions and the symbol embedding row of each sample. */
static void readout_forward(const ohlcx_cnn *cnn, const nn_workspace *ws,
                            size_t n)
{
    const nn_stage *st = &cnn->stage[cnn->config.conv_count - 1];
    size_t f = (size_t)st->filters;
    size_t length = st->out_length;
    size_t width = (size_t)cnn->readout_width;
    size_t dim = (size_t)cnn->config.symbol_dim;
    size_t fblock = out_block(f, ws);
    float inv_length = 1.0f / (float)length;

    for (size_t s = 0; s < n; s++) {
        float *last = ws->readout + s * width;
        float *mean = last + f;

        for (size_t first = 0; first < f; first += fblock) {
            const float *a = ws->last_out + s * length * f + first * length;

            memcpy(last + first, a + (length - 1) * fblock,
                   fblock * sizeof *last);
            nn_sum_rows(a, length, fblock, mean + first);
        }
        for (size_t o = 0; o < f; o++)
            mean[o] *= inv_length;
        if (dim > 0)
            memcpy(last + 2 * f,
                   nn_block(cnn, cnn->symbol_embedding) +
                       (size_t)ws->ids[s] * dim,
                   dim * sizeof *last);
    }
}


/* Runs the network on n <= ws->capacity samples, leaving every activation
 * and the logits in ws. pass is NULL for evaluation, else it gives the
 * dropout generator and the running statistics to update. ids are the
 * samples' symbol ids, checked by the caller, or NULL without symbols. The
 * oneDNN path reads x again in nn_backward(), so x and ids must stay
 * unchanged until then. Fails on the oneDNN path, when a kernel cannot be
 * built, and when dropout is requested of a forward-only workspace. */
int nn_forward(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
               const int32_t *ids, size_t n, const nn_pass *pass)
{
    const ohlcx_cnn_config *c = &cnn->config;
    const float *w2 = nn_block(cnn, cnn->dense2_weight);
    float b2 = nn_block(cnn, cnn->dense2_bias)[0];
    int width = cnn->readout_width;

    ws->ids = ids;
    ws->training = pass != NULL;
    ws->dropping = pass != NULL && c->dropout > 0.0f;
    if (ws->dropping && ws->hidden_mask == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn: dropout in a forward-only "
                               "workspace");

#ifdef OHLCX_HAVE_DNNL
    if (ws->dnnl != NULL) {
        int rc = nn_dnnl_forward(ws->dnnl, cnn, ws, x, n);

        if (rc != OHLCX_OK)
            return rc;
    } else {
        nn_conv_forward(cnn, ws, x, n, pass);
    }
#else
    nn_conv_forward(cnn, ws, x, n, pass);
#endif

    readout_forward(cnn, ws, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, c->hidden,
                width, 1.0f, ws->readout, width,
                nn_block(cnn, cnn->dense1_weight), width, 0.0f,
                ws->hidden, c->hidden);
    nn_add_bias_relu(ws->hidden, n, (size_t)c->hidden,
                     nn_block(cnn, cnn->dense1_bias));
    if (ws->dropping) {
        size_t count = n * (size_t)c->hidden;

        if (pass->hidden_mask != NULL)
            memcpy(ws->hidden_mask, pass->hidden_mask,
                   count * sizeof *ws->hidden_mask);
        else
            nn_dropout_mask(pass->dropout_rng, c->dropout, ws->hidden_mask,
                            count);
        for (size_t i = 0; i < count; i++)
            ws->hidden[i] *= ws->hidden_mask[i];
    }

    for (size_t s = 0; s < n; s++) {
        const float *h = ws->hidden + s * (size_t)c->hidden;
        float z = b2;

        for (int k = 0; k < c->hidden; k++)
            z += h[k] * w2[k];
        ws->logit[s] = z;
    }
    return OHLCX_OK;
}


/* Returns the summed binary cross-entropy of the logits in ws against y,
 * written as softplus(z) - y z so that large |z| neither overflows nor
 * takes the log of 0. */
double nn_loss_sum(const nn_workspace *ws, const float *y, size_t n)
{
    double sum = 0.0;

    for (size_t s = 0; s < n; s++) {
        double z = ws->logit[s];

        sum += fmax(z, 0.0) - z * y[s] + log1p(exp(-fabs(z)));
    }
    return sum;
}


/* Computes 1 / (1 + e^-z) without overflow for either sign of z. */
float nn_sigmoid(float z)
{
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));

    float e = expf(z);
    return e / (1.0f + e);
}


/* Backpropagates from the loss sum divided by batch to dense2 and dense1,
 * leaving the
 * readout gradient in ws->d_readout. A dropped hidden unit is 0 in
 * ws->hidden, so the ReLU test also stops its gradient. */
static void dense_backward(ohlcx_cnn *cnn, nn_workspace *ws, const float *y,
                           size_t n, size_t batch)
{
    int hidden = cnn->config.hidden;
    int width = cnn->readout_width;
    const float *w2 = nn_block(cnn, cnn->dense2_weight);
    float *g_w2 = nn_grad_block(cnn, cnn->dense2_weight);
    float *g_b2 = nn_grad_block(cnn, cnn->dense2_bias);

    for (size_t s = 0; s < n; s++)
        ws->d_logit[s] = (nn_sigmoid(ws->logit[s]) - y[s]) / (float)batch;

    memset(g_w2, 0, (size_t)hidden * sizeof *g_w2);
    g_b2[0] = 0.0f;
    for (size_t s = 0; s < n; s++) {
        const float *h = ws->hidden + s * (size_t)hidden;
        float *dh = ws->d_hidden + s * (size_t)hidden;
        float dz = ws->d_logit[s];

        g_b2[0] += dz;
        for (int k = 0; k < hidden; k++) {
            g_w2[k] += dz * h[k];
            dh[k] = h[k] > 0.0f ? dz * w2[k] : 0.0f;
        }
        if (ws->dropping)
            for (int k = 0; k < hidden; k++)
                dh[k] *= ws->hidden_mask[s * (size_t)hidden + (size_t)k];
    }

    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hidden, width, (int)n,
                1.0f, ws->d_hidden, hidden, ws->readout, width, 0.0f,
                nn_grad_block(cnn, cnn->dense1_weight), width);
    nn_sum_rows(ws->d_hidden, n, (size_t)hidden,
                nn_grad_block(cnn, cnn->dense1_bias));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, width,
                hidden, 1.0f, ws->d_hidden, hidden,
                nn_block(cnn, cnn->dense1_weight), width, 0.0f, ws->d_readout,
                width);
}


/* Adds the readout gradient of each sample's symbol embedding row to the
 * embedding's gradient. */
static void embedding_backward(ohlcx_cnn *cnn, nn_workspace *ws, size_t n)
{
    size_t dim = (size_t)cnn->config.symbol_dim;
    size_t width = (size_t)cnn->readout_width;
    size_t f = width - dim;
    float *g = nn_grad_block(cnn, cnn->symbol_embedding);

    memset(g, 0, (cnn->offset[cnn->symbol_embedding + 1] -
                  cnn->offset[cnn->symbol_embedding]) * sizeof *g);
    for (size_t s = 0; s < n; s++) {
        float *row = g + (size_t)ws->ids[s] * dim;
        const float *d = ws->d_readout + s * width + f;

        for (size_t k = 0; k < dim; k++)
            row[k] += d[k];
    }
}


/* Replaces each activation by grad where the ReLU passed its input and by
 * zero elsewhere, turning an activation buffer into its gradient. */
static void relu_backward_in_place(float *restrict act,
                                   const float *restrict grad, size_t n)
{
    for (size_t i = 0; i < n; i++)
        act[i] = act[i] > 0.0f ? grad[i] : 0.0f;
}


/* Spreads the readout gradient of the last stage over its positions (the
 * mean part to all, the last-position part to the last). Without pooling
 * the result is masked by the ReLU and written in place of last_out, the
 * gradient of the stage's pre-activation (before any dropout mask). With
 * pooling it goes unmasked to the stage's d_out. Uses d_readout as
 * scratch. */
static void readout_backward(const ohlcx_cnn *cnn, nn_workspace *ws, size_t n)
{
    const nn_stage *st = &cnn->stage[cnn->config.conv_count - 1];
    float *d_out = ws->stage[cnn->config.conv_count - 1].d_out;
    size_t f = (size_t)st->filters;
    size_t length = st->out_length;
    size_t width = (size_t)cnn->readout_width;
    size_t fblock = out_block(f, ws);
    float inv_length = 1.0f / (float)length;

    for (size_t s = 0; s < n; s++) {
        const float *d_last = ws->d_readout + s * width;
        float *d_position = ws->d_readout + s * width + f;

        for (size_t o = 0; o < f; o++)
            d_position[o] *= inv_length;
        if (st->pool > 1) {
            float *d = d_out + s * length * f;

            for (size_t t = 0; t < length; t++)
                memcpy(d + t * f, d_position, f * sizeof *d);
            nn_add_to(d + (length - 1) * f, d_last, f);
            continue;
        }
        for (size_t first = 0; first < f; first += fblock) {
            float *a = ws->last_out + s * length * f + first * length;

            for (size_t t = 0; t + 1 < length; t++)
                relu_backward_in_place(a + t * fblock, d_position + first,
                                       fblock);
        }

        nn_add_to(d_position, d_last, f);
        for (size_t first = 0; first < f; first += fblock)
            relu_backward_in_place(ws->last_out + s * length * f +
                                   first * length + (length - 1) * fblock,
                                   d_position + first, fblock);
    }
}


/*
 * Leaves in cnn->grads the gradient of the loss summed over the n samples
 * of the last nn_forward() call and divided by batch: the mean loss's when
 * batch is n, a shard's part of it when the n samples are a shard of a
 * batch. Overwrites ws->last_out, so the forward activations are no longer
 * valid afterwards. Fails only on the oneDNN path, when a kernel cannot be
 * built.
 */
int nn_backward(ohlcx_cnn *cnn, nn_workspace *ws, const float *y, size_t n,
                size_t batch)
{
    dense_backward(cnn, ws, y, n, batch);
    if (cnn->symbol_embedding >= 0)
        embedding_backward(cnn, ws, n);
    readout_backward(cnn, ws, n);

#ifdef OHLCX_HAVE_DNNL
    if (ws->dnnl != NULL)
        return nn_dnnl_backward(ws->dnnl, cnn, ws, n);
#endif
    nn_conv_backward(cnn, ws, n);
    return OHLCX_OK;
}


/* Stores in *sum the summed loss over n samples, evaluated NN_EVAL_CHUNK
 * samples at a time (ws->capacity must be at least that, or at least n). */
int nn_eval_loss_sum(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
                     const float *y, const int32_t *ids, size_t n,
                     double *sum)
{
    size_t sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;

    *sum = 0.0;
    for (size_t start = 0; start < n; start += NN_EVAL_CHUNK) {
        size_t count = n - start < NN_EVAL_CHUNK ? n - start : NN_EVAL_CHUNK;
        int rc = nn_forward(cnn, ws, x + start * sample,
                            ids ? ids + start : NULL, count, NULL);

        if (rc != OHLCX_OK)
            return rc;
        *sum += nn_loss_sum(ws, y + start, count);
    }
    return OHLCX_OK;
}
