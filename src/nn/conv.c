/*
 * The convolution stages on im2col + OpenBLAS sgemm: convolution with
 * dilation, batch normalisation, ReLU, max pooling and dropout, forward and
 * backward, for any number of stages.
 *
 * Stage i multiplies its [n L x k c_in] patch matrix by its [f x k c_in]
 * weights in one sgemm over the whole batch. The first stage's patches are
 * channel-major (tap j of input channel c at c k + j), because the input is.
 * Later stages' patches are position-major (tap j of filter c at
 * j c_in + c), so an undilated patch row is k consecutive rows of the stage
 * before, copied with one memcpy. The backward pass runs the same products
 * transposed and scatters patch gradients back with col2im.
 *
 * Batch normalisation and pooling reduce over columns of position-major
 * matrices; their sums run in double and in a fixed order. Dropout masks are
 * drawn element by element, stage by stage, from the pass's generator, or
 * copied from the pass when a data-parallel step drew them for the whole
 * batch (parallel.c).
 *
 * Invariants: nothing here allocates. The default network (two stages, no
 * batch normalisation, pooling or dropout) runs exactly the float operations
 * of the fixed two-layer network this code replaced, so its results are
 * bit-identical to that network's.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"


static void add_bias(float *m, size_t rows, size_t cols, const float *bias)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cols; k++)
            m[r * cols + k] += bias[k];
}


static void multiply(float *restrict m, const float *restrict scale, size_t n)
{
    for (size_t i = 0; i < n; i++)
        m[i] *= scale[i];
}


/* Builds the first stage's patch matrix from channel-major input:
 * col[s L + t][c k + j] = x[s][c][t + j d]. */
static void im2col_input(const ohlcx_cnn *cnn, const float *x, size_t n,
                         float *col)
{
    const nn_stage *st = &cnn->stage[0];
    size_t channels = (size_t)st->in_channels;
    size_t window = st->in_length;
    size_t kernel = (size_t)st->kernel;
    size_t dilation = (size_t)st->dilation;
    size_t length = st->length;

    for (size_t s = 0; s < n; s++) {
        const float *sample = x + s * channels * window;

        for (size_t t = 0; t < length; t++) {
            float *row = col + (s * length + t) * channels * kernel;

            for (size_t c = 0; c < channels; c++) {
                const float *from = sample + c * window + t;

                if (dilation == 1) {
                    memcpy(row + c * kernel, from, kernel * sizeof *row);
                    continue;
                }
                for (size_t j = 0; j < kernel; j++)
                    row[c * kernel + j] = from[j * dilation];
            }
        }
    }
}


/* Builds stage i's patch matrix from the position-major output of the stage
 * before: row (s, t) is rows t, t + d, ..., t + (k - 1) d of sample s, laid
 * end to end. */
static void im2col_stage(const nn_stage *st, const float *in, size_t n,
                         float *col)
{
    size_t c_in = (size_t)st->in_channels;
    size_t kernel = (size_t)st->kernel;
    size_t dilation = (size_t)st->dilation;
    size_t patch = kernel * c_in;

    for (size_t s = 0; s < n; s++)
        for (size_t t = 0; t < st->length; t++) {
            const float *first = in + (s * st->in_length + t) * c_in;
            float *row = col + (s * st->length + t) * patch;

            if (dilation == 1) {
                memcpy(row, first, patch * sizeof *col);
                continue;
            }
            for (size_t j = 0; j < kernel; j++)
                memcpy(row + j * c_in, first + j * dilation * c_in,
                       c_in * sizeof *col);
        }
}


/* Adds each patch gradient of stage st back onto the rows of the stage
 * before that it was copied from, in d_in ([n in_length][c_in]). */
static void col2im_stage(const nn_stage *st, const float *d_col, size_t n,
                         float *d_in)
{
    size_t c_in = (size_t)st->in_channels;
    size_t kernel = (size_t)st->kernel;
    size_t dilation = (size_t)st->dilation;
    size_t patch = kernel * c_in;

    memset(d_in, 0, n * st->in_length * c_in * sizeof *d_in);
    for (size_t s = 0; s < n; s++)
        for (size_t t = 0; t < st->length; t++) {
            float *first = d_in + (s * st->in_length + t) * c_in;
            const float *row = d_col + (s * st->length + t) * patch;

            if (dilation == 1) {
                nn_add_to(first, row, patch);
                continue;
            }
            for (size_t j = 0; j < kernel; j++)
                nn_add_to(first + j * dilation * c_in, row + j * c_in, c_in);
        }
}


/*
 * Normalises z ([rows][f]) filter by filter and writes ReLU(gamma xhat +
 * beta) to act, xhat = (z - mean) inv_std. In training (pass not NULL) the
 * mean and variance are the batch's, folded into pass->running when set;
 * otherwise they are the running ones. Leaves the mean and inv_std used in
 * the stage's buffers for the backward pass.
 */
static void batch_norm_forward(const ohlcx_cnn *cnn, const nn_stage *st,
                               nn_stage_buffers *b, size_t rows,
                               const nn_pass *pass)
{
    size_t f = (size_t)st->filters;
    const float *gamma = nn_block(cnn, st->gamma);
    const float *beta = nn_block(cnn, st->beta);
    const float *running = cnn->running + st->running;

    for (size_t o = 0; o < f; o++) {
        if (pass != NULL) {
            double sum = 0.0, squares = 0.0, mean, var;

            for (size_t r = 0; r < rows; r++)
                sum += b->z[r * f + o];
            mean = sum / (double)rows;
            for (size_t r = 0; r < rows; r++) {
                double d = b->z[r * f + o] - mean;

                squares += d * d;
            }
            var = squares / (double)rows;
            b->mean[o] = (float)mean;
            b->inv_std[o] = (float)(1.0 / sqrt(var + NN_BN_EPSILON));

            /* The running variance is the unbiased estimate, as in PyTorch;
             * a batch of one value has none, so its biased one is used. */
            if (pass->running != NULL) {
                float *run = pass->running + st->running;
                double unbiased = rows > 1 ? squares / (double)(rows - 1) : var;

                run[o] = (float)((1.0 - NN_BN_MOMENTUM) * run[o] +
                                 NN_BN_MOMENTUM * mean);
                run[f + o] = (float)((1.0 - NN_BN_MOMENTUM) * run[f + o] +
                                     NN_BN_MOMENTUM * unbiased);
            }
        } else {
            b->mean[o] = running[o];
            b->inv_std[o] = (float)(1.0 / sqrt((double)running[f + o] +
                                               NN_BN_EPSILON));
        }
    }

    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < f; o++) {
            float xhat = (b->z[r * f + o] - b->mean[o]) * b->inv_std[o];
            float y = gamma[o] * xhat + beta[o];

            b->act[r * f + o] = y > 0.0f ? y : 0.0f;
        }
}


/* Turns dy, the gradient of the normalised output (ReLU already applied),
 * into the gradient of z in place and stores the gamma and beta
 * gradients. */
static void batch_norm_backward(ohlcx_cnn *cnn, const nn_stage *st,
                                const nn_stage_buffers *b, float *dy,
                                size_t rows, int training)
{
    size_t f = (size_t)st->filters;
    const float *gamma = nn_block(cnn, st->gamma);
    float *g_gamma = nn_grad_block(cnn, st->gamma);
    float *g_beta = nn_grad_block(cnn, st->beta);

    for (size_t o = 0; o < f; o++) {
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        float scale = gamma[o] * b->inv_std[o];

        for (size_t r = 0; r < rows; r++) {
            float xhat = (b->z[r * f + o] - b->mean[o]) * b->inv_std[o];

            sum_dy += dy[r * f + o];
            sum_dy_xhat += (double)dy[r * f + o] * xhat;
        }
        g_gamma[o] = (float)sum_dy_xhat;
        g_beta[o] = (float)sum_dy;

        /* In training the batch mean and variance depend on z too, which
         * removes the gradient's mean and its projection on xhat. */
        for (size_t r = 0; r < rows; r++) {
            float g = dy[r * f + o];

            if (training) {
                float xhat = (b->z[r * f + o] - b->mean[o]) * b->inv_std[o];

                g = (float)(g - sum_dy / (double)rows -
                            xhat * sum_dy_xhat / (double)rows);
            }
            dy[r * f + o] = scale * g;
        }
    }
}


/* Max-pools act ([n L][f]) into out ([n P][f]) over windows of pool
 * positions with stride pool; the positions after P pool are dropped. */
static void max_pool(const nn_stage *st, const float *act, size_t n,
                     float *out)
{
    size_t f = (size_t)st->filters;
    size_t pool = (size_t)st->pool;

    for (size_t s = 0; s < n; s++)
        for (size_t u = 0; u < st->out_length; u++) {
            const float *first = act + (s * st->length + u * pool) * f;
            float *to = out + (s * st->out_length + u) * f;

            memcpy(to, first, f * sizeof *to);
            for (size_t q = 1; q < pool; q++)
                for (size_t o = 0; o < f; o++)
                    if (first[q * f + o] > to[o])
                        to[o] = first[q * f + o];
        }
}


/* Routes each pooled gradient to the first position of its window that
 * held the maximum, as max_pool() chose it. */
static void max_pool_backward(const nn_stage *st, const float *act,
                              const float *d_out, size_t n, float *d_act)
{
    size_t f = (size_t)st->filters;
    size_t pool = (size_t)st->pool;

    memset(d_act, 0, n * st->length * f * sizeof *d_act);
    for (size_t s = 0; s < n; s++)
        for (size_t u = 0; u < st->out_length; u++) {
            size_t first = (s * st->length + u * pool) * f;

            for (size_t o = 0; o < f; o++) {
                size_t best = 0;

                for (size_t q = 1; q < pool; q++)
                    if (act[first + q * f + o] > act[first + best * f + o])
                        best = q;
                d_act[first + best * f + o] =
                    d_out[(s * st->out_length + u) * f + o];
            }
        }
}


/* Fills mask with 0 (probability p) or 1 / (1 - p) per element, drawn in
 * order from rng. */
void nn_dropout_mask(nn_rng *rng, float p, float *mask, size_t count)
{
    float keep_scale = 1.0f / (1.0f - p);

    for (size_t i = 0; i < count; i++) {
        double u = (double)(nn_rng_next(rng) >> 11) * 0x1.0p-53;

        mask[i] = u >= (double)p ? keep_scale : 0.0f;
    }
}


/* Runs stage i on its input `in`: convolution, bias, batch normalisation,
 * ReLU, pooling and, while dropping, dropout. */
static void stage_forward(const ohlcx_cnn *cnn, nn_workspace *ws, int i,
                          const float *in, size_t n, const nn_pass *pass)
{
    const nn_stage *st = &cnn->stage[i];
    nn_stage_buffers *b = &ws->stage[i];
    int patch = st->kernel * st->in_channels;
    int rows = (int)(n * st->length);
    float *dst = cnn->config.batch_norm ? b->z : b->act;

    if (i == 0)
        im2col_input(cnn, in, n, b->col);
    else
        im2col_stage(st, in, n, b->col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, st->filters,
                patch, 1.0f, b->col, patch, nn_block(cnn, st->weight), patch,
                0.0f, dst, st->filters);

    if (cnn->config.batch_norm) {
        add_bias(b->z, (size_t)rows, (size_t)st->filters,
                 nn_block(cnn, st->bias));
        batch_norm_forward(cnn, st, b, (size_t)rows, pass);
    } else {
        nn_add_bias_relu(b->act, (size_t)rows, (size_t)st->filters,
                         nn_block(cnn, st->bias));
    }

    if (st->pool > 1)
        max_pool(st, b->act, n, b->out);
    if (ws->dropping) {
        size_t count = n * st->out_length * (size_t)st->filters;

        if (pass->hidden_mask != NULL)
            memcpy(b->mask, pass->masks[i], count * sizeof *b->mask);
        else
            nn_dropout_mask(pass->dropout_rng, cnn->config.dropout, b->mask,
                            count);
        multiply(b->out, b->mask, count);
    }
}


/* Runs every stage on n samples of x, leaving the last stage's output in
 * ws->last_out. */
void nn_conv_forward(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
                     size_t n, const nn_pass *pass)
{
    const float *in = x;

    for (int i = 0; i < cnn->config.conv_count; i++) {
        stage_forward(cnn, ws, i, in, n, pass);
        in = ws->stage[i].out;
    }
}


/* Turns the gradient of stage i's output (in d_out) into the gradient of
 * its pre-activation (in d_act): dropout mask, pooling, ReLU. */
static void output_backward(const ohlcx_cnn *cnn, nn_workspace *ws, int i,
                            size_t n)
{
    const nn_stage *st = &cnn->stage[i];
    nn_stage_buffers *b = &ws->stage[i];
    size_t f = (size_t)st->filters;

    if (ws->dropping)
        multiply(b->d_out, b->mask, n * st->out_length * f);
    if (st->pool > 1)
        max_pool_backward(st, b->act, b->d_out, n, b->d_act);
    nn_relu_mask(b->d_act, b->act, n * st->length * f);
}


/* Stores the gradients of stage i's weights, bias and batch-normalisation
 * parameters from the gradient of its pre-activation d_pre, and for i > 0
 * the gradient of its patches. */
static void stage_backward(ohlcx_cnn *cnn, nn_workspace *ws, int i,
                           float *d_pre, size_t n)
{
    const nn_stage *st = &cnn->stage[i];
    nn_stage_buffers *b = &ws->stage[i];
    int patch = st->kernel * st->in_channels;
    int rows = (int)(n * st->length);

    if (cnn->config.batch_norm)
        batch_norm_backward(cnn, st, b, d_pre, (size_t)rows, ws->training);

    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, st->filters, patch,
                rows, 1.0f, d_pre, st->filters, b->col, patch, 0.0f,
                nn_grad_block(cnn, st->weight), patch);
    nn_sum_rows(d_pre, (size_t)rows, (size_t)st->filters,
                nn_grad_block(cnn, st->bias));
    if (i > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, patch,
                    st->filters, 1.0f, d_pre, st->filters,
                    nn_block(cnn, st->weight), patch, 0.0f, b->d_col, patch);
}


/*
 * Stores the gradients of every stage, given the gradient of the last
 * stage's output as nn_backward's readout step leaves it: with pool 1,
 * already masked by the ReLU in place of ws->last_out; otherwise in its
 * d_out.
 */
void nn_conv_backward(ohlcx_cnn *cnn, nn_workspace *ws, size_t n)
{
    int last = cnn->config.conv_count - 1;

    for (int i = last; i >= 0; i--) {
        const nn_stage *st = &cnn->stage[i];
        nn_stage_buffers *b = &ws->stage[i];
        float *d_pre = b->d_act;

        if (i == last && st->pool == 1) {
            d_pre = b->act;
            if (ws->dropping)
                multiply(d_pre, b->mask, n * st->length * (size_t)st->filters);
        } else {
            if (i < last)
                col2im_stage(&cnn->stage[i + 1], ws->stage[i + 1].d_col, n,
                             b->d_out);
            output_backward(cnn, ws, i, n);
        }
        stage_backward(cnn, ws, i, d_pre, n);
    }
}
