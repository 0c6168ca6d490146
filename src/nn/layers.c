/*
 * Forward and backward passes of the CNN over a mini-batch.
 *
 * Each convolution is im2col followed by one sgemm over the whole batch.
 * Conv1 multiplies the [n L1 x C k1] patch matrix by the [f1 x C k1] weights.
 * Conv2 multiplies the [n L2 x k2 f1] patch matrix by the [f2 x k2 f1]
 * weights. Because activations are position-major, a conv2 patch row is k2
 * consecutive rows of act1, copied with one memcpy. The backward pass runs
 * the same products transposed and scatters patch gradients back with
 * col2im.
 *
 * With oneDNN built in, the two convolutions run on its kernels instead
 * (dnnl.c), and the readout, dense layers and loss stay here for both paths.
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

/* Workspace segments start on 64-byte boundaries (16 floats). */
#define SEGMENT_ALIGN 16

/* Largest workspace in floats, which keeps byte counts and rounding from
 * overflowing size_t. */
#define MAX_FLOATS (SIZE_MAX / 8)

/* Workspace buffers: the first FORWARD_BUFFERS serve inference, the rest
 * only the backward pass. */
#define FORWARD_BUFFERS 7
#define ALL_BUFFERS 12


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


/* Returns the floats one sample needs in each workspace buffer, in the
 * order nn_workspace_init() carves them. */
static void sample_sizes(const ohlcx_cnn *cnn, size_t sizes[ALL_BUFFERS])
{
    const ohlcx_cnn_config *c = &cnn->config;
    size_t l1 = cnn->length1;
    size_t l2 = cnn->length2;

    sizes[0] = l1 * (size_t)c->channels * (size_t)c->kernel1; /* col1 */
    sizes[1] = l1 * (size_t)c->filters1;                      /* act1 */
    sizes[2] = l2 * (size_t)c->kernel2 * (size_t)c->filters1; /* col2 */
    sizes[3] = l2 * (size_t)c->filters2;                      /* act2 */
    sizes[4] = 2 * (size_t)c->filters2;                       /* readout */
    sizes[5] = (size_t)c->hidden;                             /* hidden */
    sizes[6] = 1;                                             /* logit */
    sizes[7] = 1;                                             /* d_logit */
    sizes[8] = (size_t)c->hidden;                             /* d_hidden */
    sizes[9] = 2 * (size_t)c->filters2;                       /* d_readout */
    sizes[10] = sizes[2];                                     /* d_col2 */
    sizes[11] = sizes[1];                                     /* d_act1 */
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
    size_t sizes[ALL_BUFFERS];
    size_t buffers = with_backward ? ALL_BUFFERS : FORWARD_BUFFERS;
    size_t total = 0;
    float *cursor;
    int rc;

    memset(ws, 0, sizeof *ws);
    if (capacity == 0 || capacity > INT_MAX / cnn->length1)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "cnn: %zu samples do not fit one pass, whose "
                               "sgemm row count is an int: pass at most %zu",
                               capacity, (size_t)INT_MAX / cnn->length1);

    sample_sizes(cnn, sizes);
#ifdef OHLCX_HAVE_DNNL
    /* oneDNN needs no patch matrices and keeps conv1's output and its
     * gradient in buffers of its own, so those segments get zero length. */
    if (nn_get_kernels() == NN_KERNELS_DNNL) {
        sizes[0] = 0;  /* col1 */
        sizes[1] = 0;  /* act1 */
        sizes[2] = 0;  /* col2 */
        sizes[10] = 0; /* d_col2 */
        sizes[11] = 0; /* d_act1 */
    }
#endif
    for (size_t i = 0; i < buffers; i++) {
        size_t count;

        if (sizes[i] > MAX_FLOATS / capacity)
            goto too_large;
        count = round_up(sizes[i] * capacity);
        if (total > MAX_FLOATS - count)
            goto too_large;
        total += count;
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
    ws->col1 = carve(&cursor, sizes[0] * capacity);
    ws->act1 = carve(&cursor, sizes[1] * capacity);
    ws->col2 = carve(&cursor, sizes[2] * capacity);
    ws->act2 = carve(&cursor, sizes[3] * capacity);
    ws->readout = carve(&cursor, sizes[4] * capacity);
    ws->hidden = carve(&cursor, sizes[5] * capacity);
    ws->logit = carve(&cursor, sizes[6] * capacity);
    if (with_backward) {
        ws->d_logit = carve(&cursor, sizes[7] * capacity);
        ws->d_hidden = carve(&cursor, sizes[8] * capacity);
        ws->d_readout = carve(&cursor, sizes[9] * capacity);
        ws->d_col2 = carve(&cursor, sizes[10] * capacity);
        ws->d_act1 = carve(&cursor, sizes[11] * capacity);
    }

    rc = attach_dnnl(ws, with_backward);
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


static const float *block(const ohlcx_cnn *cnn, enum nn_block b)
{
    return cnn->params + cnn->offset[b];
}


static float *grad_block(ohlcx_cnn *cnn, enum nn_block b)
{
    return cnn->grads + cnn->offset[b];
}


/* Adds bias to every row of a [rows x cols] matrix, then applies ReLU. */
static void add_bias_relu(float *m, size_t rows, size_t cols, const float *bias)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = m + r * cols;

        for (size_t k = 0; k < cols; k++) {
            float v = row[k] + bias[k];

            row[k] = v > 0.0f ? v : 0.0f;
        }
    }
}


/* Sums the rows of a [rows x cols] matrix into out[cols]. */
static void sum_rows(const float *m, size_t rows, size_t cols, float *out)
{
    memset(out, 0, cols * sizeof *out);
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cols; k++)
            out[k] += m[r * cols + k];
}


/* Builds the conv1 patch matrix from channel-major input:
 * col1[s L1 + t][c k1 + j] = x[s][c][t + j]. */
static void im2col_input(const ohlcx_cnn *cnn, const float *x, size_t n,
                         float *col1)
{
    size_t channels = (size_t)cnn->config.channels;
    size_t window = (size_t)cnn->config.window;
    size_t kernel = (size_t)cnn->config.kernel1;
    size_t l1 = cnn->length1;

    for (size_t s = 0; s < n; s++) {
        const float *sample = x + s * channels * window;

        for (size_t t = 0; t < l1; t++) {
            float *row = col1 + (s * l1 + t) * channels * kernel;

            for (size_t c = 0; c < channels; c++)
                memcpy(row + c * kernel, sample + c * window + t,
                       kernel * sizeof *row);
        }
    }
}


/* Builds the conv2 patch matrix: row (s, t) is act1 rows t .. t + k2 - 1 of
 * sample s, laid end to end. */
static void im2col_act1(const ohlcx_cnn *cnn, const float *act1, size_t n,
                        float *col2)
{
    size_t f1 = (size_t)cnn->config.filters1;
    size_t patch = (size_t)cnn->config.kernel2 * f1;
    size_t l1 = cnn->length1;
    size_t l2 = cnn->length2;

    for (size_t s = 0; s < n; s++)
        for (size_t t = 0; t < l2; t++)
            memcpy(col2 + (s * l2 + t) * patch, act1 + (s * l1 + t) * f1,
                   patch * sizeof *col2);
}


/* Returns the filters per block of act2's layout, see nn_workspace. */
static size_t act2_block(const ohlcx_cnn *cnn, const nn_workspace *ws)
{
    return ws->act2_block != 0 ? ws->act2_block
                               : (size_t)cnn->config.filters2;
}


/* Concatenates the last position of act2 and its mean over positions. */
static void readout_forward(const ohlcx_cnn *cnn, const nn_workspace *ws,
                            size_t n)
{
    size_t f2 = (size_t)cnn->config.filters2;
    size_t l2 = cnn->length2;
    size_t block = act2_block(cnn, ws);
    float inv_l2 = 1.0f / (float)l2;

    for (size_t s = 0; s < n; s++) {
        float *last = ws->readout + s * 2 * f2;
        float *mean = last + f2;

        for (size_t first = 0; first < f2; first += block) {
            const float *a = ws->act2 + s * l2 * f2 + first * l2;

            memcpy(last + first, a + (l2 - 1) * block, block * sizeof *last);
            sum_rows(a, l2, block, mean + first);
        }
        for (size_t o = 0; o < f2; o++)
            mean[o] *= inv_l2;
    }
}


/* Runs both convolutions with bias and ReLU as im2col + sgemm. */
static void conv_forward_sgemm(const ohlcx_cnn *cnn, nn_workspace *ws,
                               const float *x, size_t n)
{
    const ohlcx_cnn_config *c = &cnn->config;
    int k1 = c->channels * c->kernel1;
    int k2 = c->kernel2 * c->filters1;
    int rows1 = (int)(n * cnn->length1);
    int rows2 = (int)(n * cnn->length2);

    im2col_input(cnn, x, n, ws->col1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows1, c->filters1,
                k1, 1.0f, ws->col1, k1, block(cnn, NN_CONV1_WEIGHT), k1, 0.0f,
                ws->act1, c->filters1);
    add_bias_relu(ws->act1, (size_t)rows1, (size_t)c->filters1,
                  block(cnn, NN_CONV1_BIAS));

    im2col_act1(cnn, ws->act1, n, ws->col2);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows2, c->filters2,
                k2, 1.0f, ws->col2, k2, block(cnn, NN_CONV2_WEIGHT), k2, 0.0f,
                ws->act2, c->filters2);
    add_bias_relu(ws->act2, (size_t)rows2, (size_t)c->filters2,
                  block(cnn, NN_CONV2_BIAS));
}


/* Runs the network on n <= ws->capacity samples, leaving every activation
 * and the logits in ws. The oneDNN path reads x again in nn_backward(), so
 * x must stay unchanged until then. Fails only on the oneDNN path, when a
 * kernel cannot be built. */
int nn_forward(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
               size_t n)
{
    const ohlcx_cnn_config *c = &cnn->config;
    const float *w2 = block(cnn, NN_DENSE2_WEIGHT);
    float b2 = block(cnn, NN_DENSE2_BIAS)[0];

#ifdef OHLCX_HAVE_DNNL
    if (ws->dnnl != NULL) {
        int rc = nn_dnnl_forward(ws->dnnl, cnn, ws, x, n);

        if (rc != OHLCX_OK)
            return rc;
    } else {
        conv_forward_sgemm(cnn, ws, x, n);
    }
#else
    conv_forward_sgemm(cnn, ws, x, n);
#endif

    readout_forward(cnn, ws, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, c->hidden,
                2 * c->filters2, 1.0f, ws->readout, 2 * c->filters2,
                block(cnn, NN_DENSE1_WEIGHT), 2 * c->filters2, 0.0f,
                ws->hidden, c->hidden);
    add_bias_relu(ws->hidden, n, (size_t)c->hidden, block(cnn, NN_DENSE1_BIAS));

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


/* Backpropagates from the mean loss to dense2 and dense1, leaving the
 * readout gradient in ws->d_readout. */
static void dense_backward(ohlcx_cnn *cnn, nn_workspace *ws, const float *y,
                           size_t n)
{
    int hidden = cnn->config.hidden;
    int width = 2 * cnn->config.filters2;
    const float *w2 = block(cnn, NN_DENSE2_WEIGHT);
    float *g_w2 = grad_block(cnn, NN_DENSE2_WEIGHT);
    float *g_b2 = grad_block(cnn, NN_DENSE2_BIAS);

    for (size_t s = 0; s < n; s++)
        ws->d_logit[s] = (nn_sigmoid(ws->logit[s]) - y[s]) / (float)n;

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
    }

    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hidden, width, (int)n,
                1.0f, ws->d_hidden, hidden, ws->readout, width, 0.0f,
                grad_block(cnn, NN_DENSE1_WEIGHT), width);
    sum_rows(ws->d_hidden, n, (size_t)hidden, grad_block(cnn, NN_DENSE1_BIAS));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, width,
                hidden, 1.0f, ws->d_hidden, hidden,
                block(cnn, NN_DENSE1_WEIGHT), width, 0.0f, ws->d_readout,
                width);
}


/* Keeps grad[i] where act[i] > 0 (the ReLU passed its input) and zeroes it
 * elsewhere. */
static void relu_mask(float *restrict grad, const float *restrict act,
                      size_t n)
{
    for (size_t i = 0; i < n; i++)
        grad[i] = act[i] > 0.0f ? grad[i] : 0.0f;
}


/* Replaces each activation by grad where the ReLU passed its input and by
 * zero elsewhere, turning an activation buffer into its gradient. */
static void relu_backward_in_place(float *restrict act,
                                   const float *restrict grad, size_t n)
{
    for (size_t i = 0; i < n; i++)
        act[i] = act[i] > 0.0f ? grad[i] : 0.0f;
}


static void add_to(float *restrict dst, const float *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}


/* Turns act2 into the gradient of the loss with respect to conv2's
 * pre-activation: the readout gradient spread over positions (the mean part
 * to all, the last-position part to the last), masked by ReLU. Uses
 * d_readout as scratch. */
static void readout_backward(const ohlcx_cnn *cnn, nn_workspace *ws, size_t n)
{
    size_t f2 = (size_t)cnn->config.filters2;
    size_t l2 = cnn->length2;
    size_t block = act2_block(cnn, ws);
    float inv_l2 = 1.0f / (float)l2;

    for (size_t s = 0; s < n; s++) {
        const float *d_last = ws->d_readout + s * 2 * f2;
        float *d_position = ws->d_readout + s * 2 * f2 + f2;

        for (size_t o = 0; o < f2; o++)
            d_position[o] *= inv_l2;
        for (size_t first = 0; first < f2; first += block) {
            float *a = ws->act2 + s * l2 * f2 + first * l2;

            for (size_t t = 0; t + 1 < l2; t++)
                relu_backward_in_place(a + t * block, d_position + first,
                                       block);
        }

        add_to(d_position, d_last, f2);
        for (size_t first = 0; first < f2; first += block)
            relu_backward_in_place(ws->act2 + s * l2 * f2 + first * l2 +
                                   (l2 - 1) * block, d_position + first,
                                   block);
    }
}


/* Adds each conv2 patch gradient back onto the act1 rows it was copied
 * from, then masks by conv1's ReLU. */
static void col2im_act1(const ohlcx_cnn *cnn, nn_workspace *ws, size_t n)
{
    size_t f1 = (size_t)cnn->config.filters1;
    size_t patch = (size_t)cnn->config.kernel2 * f1;
    size_t l1 = cnn->length1;
    size_t l2 = cnn->length2;

    memset(ws->d_act1, 0, n * l1 * f1 * sizeof *ws->d_act1);
    for (size_t s = 0; s < n; s++)
        for (size_t t = 0; t < l2; t++)
            add_to(ws->d_act1 + (s * l1 + t) * f1,
                   ws->d_col2 + (s * l2 + t) * patch, patch);

    relu_mask(ws->d_act1, ws->act1, n * l1 * f1);
}


/* Stores the gradients of both convolutions, given the gradient of
 * conv2's pre-activation in ws->act2, by sgemm and col2im. */
static void conv_backward_sgemm(ohlcx_cnn *cnn, nn_workspace *ws, size_t n)
{
    const ohlcx_cnn_config *c = &cnn->config;
    int k1 = c->channels * c->kernel1;
    int k2 = c->kernel2 * c->filters1;
    int rows1 = (int)(n * cnn->length1);
    int rows2 = (int)(n * cnn->length2);

    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->filters2, k2,
                rows2, 1.0f, ws->act2, c->filters2, ws->col2, k2, 0.0f,
                grad_block(cnn, NN_CONV2_WEIGHT), k2);
    sum_rows(ws->act2, (size_t)rows2, (size_t)c->filters2,
             grad_block(cnn, NN_CONV2_BIAS));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows2, k2,
                c->filters2, 1.0f, ws->act2, c->filters2,
                block(cnn, NN_CONV2_WEIGHT), k2, 0.0f, ws->d_col2, k2);
    col2im_act1(cnn, ws, n);

    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->filters1, k1,
                rows1, 1.0f, ws->d_act1, c->filters1, ws->col1, k1, 0.0f,
                grad_block(cnn, NN_CONV1_WEIGHT), k1);
    sum_rows(ws->d_act1, (size_t)rows1, (size_t)c->filters1,
             grad_block(cnn, NN_CONV1_BIAS));
}


/*
 * Leaves the gradient of the mean loss over the n samples of the last
 * nn_forward() call in cnn->grads. Overwrites ws->act2, so the forward
 * activations are no longer valid afterwards. Fails only on the oneDNN
 * path, when a kernel cannot be built.
 */
int nn_backward(ohlcx_cnn *cnn, nn_workspace *ws, const float *y, size_t n)
{
    dense_backward(cnn, ws, y, n);
    readout_backward(cnn, ws, n);

#ifdef OHLCX_HAVE_DNNL
    if (ws->dnnl != NULL)
        return nn_dnnl_backward(ws->dnnl, cnn, ws, n);
#endif
    conv_backward_sgemm(cnn, ws, n);
    return OHLCX_OK;
}


/* Stores in *sum the summed loss over n samples, evaluated NN_EVAL_CHUNK
 * samples at a time (ws->capacity must be at least that, or at least n). */
int nn_eval_loss_sum(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
                     const float *y, size_t n, double *sum)
{
    size_t sample = (size_t)cnn->config.channels * (size_t)cnn->config.window;

    *sum = 0.0;
    for (size_t start = 0; start < n; start += NN_EVAL_CHUNK) {
        size_t count = n - start < NN_EVAL_CHUNK ? n - start : NN_EVAL_CHUNK;
        int rc = nn_forward(cnn, ws, x + start * sample, count);

        if (rc != OHLCX_OK)
            return rc;
        *sum += nn_loss_sum(ws, y + start, count);
    }
    return OHLCX_OK;
}
