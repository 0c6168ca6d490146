/*
 * Internals shared by the CNN's source files: the network struct, the
 * per-call workspace, the forward and backward kernels and the seeded
 * generator.
 *
 * Parameter blocks live back to back in one float array (params), with a
 * gradient array of the same shape (grads). Activations are position-major:
 * row (s * L + t) of an activation matrix contains the features of sample s at
 * position t, so a convolution over a whole mini-batch is one sgemm.
 * The oneDNN path (dnnl.c) reads and writes the same buffers, and keeps
 * conv1's output in a layout of its own.
 */
#ifndef OHLCX_NN_INTERNAL_H
#define OHLCX_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/nn.h"

/* Parameter blocks in storage order. */
enum nn_block {
    NN_CONV1_WEIGHT, /* [f1][c * k1 + j] */
    NN_CONV1_BIAS,   /* [f1] */
    NN_CONV2_WEIGHT, /* [f2][j * f1 + f] */
    NN_CONV2_BIAS,   /* [f2] */
    NN_DENSE1_WEIGHT, /* [hidden][2 f2]: last position first, then the mean */
    NN_DENSE1_BIAS,  /* [hidden] */
    NN_DENSE2_WEIGHT, /* [hidden] */
    NN_DENSE2_BIAS,  /* [1] */
    NN_BLOCK_COUNT
};

/* Largest value accepted for any configuration field. */
#define NN_MAX_DIM 65536

/* Samples per forward pass when evaluating. Training and ohlcx_cnn_loss()
 * both evaluate in chunks of this size, so the validation loss recorded for
 * an epoch equals what ohlcx_cnn_loss() returns for the same weights. */
#define NN_EVAL_CHUNK 256

struct ohlcx_cnn {
    ohlcx_cnn_config config;
    size_t length1; /* L1 = window - kernel1 + 1 */
    size_t length2; /* L2 = L1 - kernel2 + 1 */
    size_t offset[NN_BLOCK_COUNT + 1]; /* block b is params[offset[b] .. offset[b + 1]) */
    float *params;
    float *grads;
};

/*
 * Buffers for up to `capacity` samples, carved from one allocation. The
 * backward buffers are NULL in a forward-only workspace.
 */
typedef struct nn_workspace {
    size_t capacity;
    float *col1;      /* [n L1][C k1]  im2col of the input */
    float *act1;      /* [n L1][f1]    conv1 after ReLU */
    float *col2;      /* [n L2][k2 f1] im2col of act1 */
    float *act2;      /* [n L2][f2]    conv2 after ReLU, its gradient after backward;
                         in blocks when act2_block is set, see below */
    float *readout;   /* [n][2 f2]     last position, then the mean */
    float *hidden;    /* [n][hidden]   the embedding */
    float *logit;     /* [n] */
    float *d_logit;   /* [n] */
    float *d_hidden;  /* [n][hidden] */
    float *d_readout; /* [n][2 f2] */
    float *d_col2;    /* [n L2][k2 f1] */
    float *d_act1;    /* [n L1][f1] */
    float *memory;    /* the allocation; buffers start at its first 64-byte boundary */
    struct nn_dnnl *dnnl; /* oneDNN convolution plans, NULL on the sgemm path */
    /* 0: act2 is position-major as above. B > 0 (oneDNN's nCw16c layout
     * for B = 16): act2 is [n][f2 / B][L2][B], so filter o of sample s at
     * position t is at s L2 f2 + (o / B) L2 B + t B + o % B. The oneDNN
     * path sets it only when B divides f2, so no padding is stored. */
    size_t act2_block;
} nn_workspace;

/* Convolution kernels: im2col + OpenBLAS sgemm, or oneDNN (dnnl.c) when the
 * build has it. A workspace takes the kernels and the precision in force
 * when it is created. */
enum nn_kernels {
    NN_KERNELS_SGEMM,
    NN_KERNELS_DNNL,
};

/* Selects the kernels of workspaces created from now on, for the whole
 * process; tests use it to run both paths. Selecting NN_KERNELS_DNNL in a
 * build without oneDNN keeps sgemm. The default is oneDNN when built in. */
void nn_set_kernels(enum nn_kernels kernels);
enum nn_kernels nn_get_kernels(void);

/* 1 when workspaces created now compute the convolutions in bf16. */
int nn_use_bf16(void);

/* Seeded xoshiro256** generator. */
typedef struct nn_rng {
    uint64_t state[4];
} nn_rng;

int nn_config_check(const ohlcx_cnn_config *config, const char *where);
size_t nn_param_count(const ohlcx_cnn_config *config);
ohlcx_cnn *nn_alloc(const ohlcx_cnn_config *config);

int nn_workspace_init(nn_workspace *ws, const ohlcx_cnn *cnn, size_t capacity,
                      int with_backward);
void nn_workspace_free(nn_workspace *ws);

int nn_forward(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
               size_t n);
float nn_sigmoid(float z);
double nn_loss_sum(const nn_workspace *ws, const float *y, size_t n);
int nn_backward(ohlcx_cnn *cnn, nn_workspace *ws, const float *y, size_t n);
int nn_eval_loss_sum(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
                     const float *y, size_t n, double *sum);

/* oneDNN convolutions (dnnl.c), only in builds with OHLCX_HAVE_DNNL. A plan
 * per batch size is built on first use and kept, see dnnl.c. */
typedef struct nn_dnnl nn_dnnl;
int nn_dnnl_bf16_supported(void);
int nn_dnnl_create(nn_dnnl **out, int bf16, int backward);
void nn_dnnl_free(nn_dnnl *d);
int nn_dnnl_forward(nn_dnnl *d, const ohlcx_cnn *cnn, nn_workspace *ws,
                    const float *x, size_t n);
int nn_dnnl_backward(nn_dnnl *d, ohlcx_cnn *cnn, nn_workspace *ws, size_t n);

void nn_rng_seed(nn_rng *rng, uint64_t seed);
uint64_t nn_rng_next(nn_rng *rng);
double nn_rng_normal(nn_rng *rng);
uint64_t nn_rng_below(nn_rng *rng, uint64_t bound);
void nn_rng_shuffle(nn_rng *rng, size_t *items, size_t n);

#endif
