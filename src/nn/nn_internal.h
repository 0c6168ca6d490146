/*
 * Internals shared by the CNN's source files: the network struct, the
 * per-call workspace, the forward and backward kernels and the seeded
 * generator.
 *
 * Parameter blocks live back to back in one float array (params), with a
 * gradient array of the same shape (grads), in the order that
 * ohlcx_cnn_param_name() lists. Activations are position-major: row
 * (s * L + t) of an activation matrix contains the features of sample s at
 * position t, so a convolution over a whole mini-batch is one sgemm.
 * The oneDNN path (dnnl.c) reads and writes the same buffers, and keeps
 * the first stage's output in a layout of its own.
 */
#ifndef OHLCX_NN_INTERNAL_H
#define OHLCX_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ohlcx/nn.h"

/* Most parameter blocks: four per stage, then dense1 and dense2 weight and
 * bias, then the symbol embedding. */
#define NN_MAX_BLOCKS (4 * OHLCX_CNN_MAX_CONV + 5)

/* Largest value accepted for any configuration size field. */
#define NN_MAX_DIM 65536

/* Batch-normalisation constants: the weight of a new batch's statistics in
 * the running averages, and the term added to the variance. */
#define NN_BN_MOMENTUM 0.1
#define NN_BN_EPSILON 1e-5

/* Samples per forward pass when evaluating. Training and ohlcx_cnn_loss()
 * both evaluate in chunks of this size, so the validation loss recorded for
 * an epoch equals what ohlcx_cnn_loss() returns for the same weights. */
#define NN_EVAL_CHUNK 256

/* Shape and parameter blocks of one convolution stage. */
typedef struct nn_stage {
    int in_channels;   /* C for the first stage, else the filters before */
    int filters;
    int kernel;
    int dilation;
    int pool;
    size_t in_length;  /* input positions: W, or the stage before's out_length */
    size_t length;     /* convolution output positions, in_length - (kernel - 1) dilation */
    size_t out_length; /* positions after pooling, length / pool */
    int weight;        /* block numbers; gamma and beta are -1 without batch_norm */
    int bias;
    int gamma;
    int beta;
    size_t running;    /* running means at cnn->running[running], the variances
                          filters floats later */
} nn_stage;

struct ohlcx_cnn {
    ohlcx_cnn_config config; /* normalised: unused stages zero, symbol_dim set */
    nn_stage stage[OHLCX_CNN_MAX_CONV];
    int block_count;
    int dense1_weight, dense1_bias, dense2_weight, dense2_bias;
    int symbol_embedding; /* block number, -1 without symbols */
    int readout_width;    /* 2 f_N + symbol_dim */
    size_t offset[NN_MAX_BLOCKS + 1]; /* block b is params[offset[b] .. offset[b + 1]) */
    char block_names[NN_MAX_BLOCKS][20];
    unsigned char decays[NN_MAX_BLOCKS]; /* 1: weight decay applies */
    float *params;
    float *grads;
    size_t running_count; /* 2 floats per filter of every stage with batch_norm */
    float *running;
};

/* Buffers of one stage for up to `capacity` samples, L and P being the
 * stage's length and out_length. */
typedef struct nn_stage_buffers {
    float *col;     /* [n L][k c_in]  im2col of the input (sgemm path) */
    float *z;       /* [n L][f]       conv + bias before batch normalisation */
    float *act;     /* [n L][f]       after the ReLU (and dropout when pool is 1) */
    float *out;     /* [n P][f]       after pooling and dropout; act when pool is 1 */
    float *mask;    /* [n P][f]       dropout scales, 0 or 1 / (1 - p) */
    float *mean;    /* [f]            batch mean of the last training pass */
    float *inv_std; /* [f]            1 / sqrt(var + eps) of that pass */
    float *d_col;   /* [n L][k c_in]  gradient of col, stages after the first */
    float *d_act;   /* [n L][f]       gradient of the pre-activation */
    float *d_out;   /* [n P][f]       gradient of out, d_act when pool is 1 */
} nn_stage_buffers;

/*
 * Buffers for up to `capacity` samples, carved from one allocation. The
 * backward buffers are NULL in a forward-only workspace.
 */
typedef struct nn_workspace {
    size_t capacity;
    nn_stage_buffers stage[OHLCX_CNN_MAX_CONV];
    float *last_out;  /* the last stage's out, read by the readout; its
                         gradient after backward when its pool is 1. In
                         blocks when act2_block is set, see below */
    float *readout;   /* [n][readout_width] last position, the mean, the
                         symbol embedding */
    float *hidden;    /* [n][hidden]   the embedding (after dropout in training) */
    float *hidden_mask; /* [n][hidden] dropout scales of the hidden layer */
    float *logit;     /* [n] */
    float *d_logit;   /* [n] */
    float *d_hidden;  /* [n][hidden] */
    float *d_readout; /* [n][readout_width] */
    float *memory;    /* the allocation; buffers start at its first 64-byte boundary */
    struct nn_dnnl *dnnl; /* oneDNN convolution plans, NULL on the sgemm path */
    /* 0: last_out is position-major as above. B > 0 (oneDNN's nCw16c layout
     * for B = 16): last_out is [n][f2 / B][L2][B], so filter o of sample s at
     * position t is at s L2 f2 + (o / B) L2 B + t B + o % B. The oneDNN
     * path sets it only when B divides f2, so no padding is stored. */
    size_t act2_block;
    const int32_t *ids; /* symbol ids of the last forward pass, or NULL */
    int training;       /* 1: the last forward pass used batch statistics */
    int dropping;       /* 1: it applied dropout masks */
} nn_workspace;

/* How a forward pass runs: NULL for evaluation (running statistics, no
 * dropout). */
typedef struct nn_pass {
    struct nn_rng *dropout_rng; /* mask generator, used when dropout > 0 and
                                   hidden_mask is NULL */
    float *running;             /* when not NULL, the network's running
                                   statistics, into which the batch
                                   statistics are folded */
    /* Dropout masks drawn beforehand for this pass's samples (each stage's
     * [n P][f], then the hidden layer's [n][hidden]), copied in place of
     * drawing when hidden_mask is not NULL. */
    const float *masks[OHLCX_CNN_MAX_CONV];
    const float *hidden_mask;
} nn_pass;

/* Returns the start of parameter block b in cnn->params. nn_grad_block()
 * returns the same block of cnn->grads. */
static inline const float *nn_block(const ohlcx_cnn *cnn, int b)
{
    return cnn->params + cnn->offset[b];
}


static inline float *nn_grad_block(ohlcx_cnn *cnn, int b)
{
    return cnn->grads + cnn->offset[b];
}


/* Adds bias to every row of a [rows x cols] matrix, then applies ReLU. */
static inline void nn_add_bias_relu(float *m, size_t rows, size_t cols,
                                    const float *bias)
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
static inline void nn_sum_rows(const float *m, size_t rows, size_t cols,
                               float *out)
{
    memset(out, 0, cols * sizeof *out);
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cols; k++)
            out[k] += m[r * cols + k];
}


static inline void nn_add_to(float *restrict dst, const float *restrict src,
                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}


/* Keeps grad[i] where act[i] > 0 (the ReLU passed its input) and zeroes it
 * elsewhere. */
static inline void nn_relu_mask(float *restrict grad,
                                const float *restrict act, size_t n)
{
    for (size_t i = 0; i < n; i++)
        grad[i] = act[i] > 0.0f ? grad[i] : 0.0f;
}


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
void nn_config_normalise(ohlcx_cnn_config *config);
int nn_config_equal(const ohlcx_cnn_config *a, const ohlcx_cnn_config *b);
size_t nn_param_count(const ohlcx_cnn_config *config);
size_t nn_running_count(const ohlcx_cnn_config *config);
ohlcx_cnn *nn_alloc(const ohlcx_cnn_config *config);
void nn_reset_running(ohlcx_cnn *cnn);

int nn_workspace_init(nn_workspace *ws, const ohlcx_cnn *cnn, size_t capacity,
                      int with_backward);
void nn_workspace_free(nn_workspace *ws);

int nn_forward(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
               const int32_t *ids, size_t n, const nn_pass *pass);
float nn_sigmoid(float z);
double nn_loss_sum(const nn_workspace *ws, const float *y, size_t n);
int nn_backward(ohlcx_cnn *cnn, nn_workspace *ws, const float *y, size_t n,
                size_t batch);
int nn_eval_loss_sum(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
                     const float *y, const int32_t *ids, size_t n,
                     double *sum);
/*
 * Data parallelism over a batch (parallel.c): T threads, each running a
 * contiguous shard of the batch in its own workspace.
 *
 * nn_threads_begin() returns T: OpenBLAS's thread count when no section is
 * active, otherwise the count saved by the first section. It sets OpenBLAS
 * to one thread until the matching nn_threads_end(), so that each shard's
 * sgemm and oneDNN kernels run on its own thread.
 */
typedef struct nn_parallel nn_parallel;
int nn_threads_begin(void);
void nn_threads_end(void);

/* Creates min(threads, capacity) shards for batches of up to capacity
 * samples, their worker threads, and with_backward the gradient buffers and
 * the batch's dropout masks. */
int nn_parallel_create(nn_parallel **out, const ohlcx_cnn *cnn, int threads,
                       size_t capacity, int with_backward);
void nn_parallel_free(nn_parallel *p);
int nn_parallel_shards(const nn_parallel *p);

/* Runs a training step's forward and backward over n samples, leaving the
 * gradient of the batch's mean loss in cnn->grads and the summed loss in
 * *loss_sum. Draws the dropout masks from dropout_rng as nn_forward()
 * would on one thread. */
int nn_parallel_train_step(nn_parallel *p, ohlcx_cnn *cnn, const float *x,
                           const float *y, const int32_t *ids, size_t n,
                           nn_rng *dropout_rng, double *loss_sum);

/* Evaluates n <= capacity samples: the summed loss when y and loss_sum are
 * not NULL, the probabilities and the embeddings when prob and embedding
 * are not NULL. */
int nn_parallel_eval(nn_parallel *p, const ohlcx_cnn *cnn, const float *x,
                     const float *y, const int32_t *ids, size_t n,
                     double *loss_sum, float *prob, float *embedding);

/* nn_eval_loss_sum() on the shards: chunks of NN_EVAL_CHUNK samples, each
 * split between the shards, their sums added in order. */
int nn_parallel_eval_loss_sum(nn_parallel *p, const ohlcx_cnn *cnn,
                              const float *x, const float *y,
                              const int32_t *ids, size_t n, double *sum);

/* Bytes of an encoded configuration with count stages, and the most a
 * version 2 model file header takes. */
#define NN_CONFIG_BYTES(count) ((size_t)4 * (8 + 4 * (size_t)(count)))
#define NN_MAX_HEADER_BYTES (12 + NN_CONFIG_BYTES(OHLCX_CNN_MAX_CONV) + 16)

/* Configuration encoding shared by model files and checkpoints (io.c).
 * nn_config_encode() returns the bytes written. nn_config_decode() returns
 * 0, -1 when the available bytes are too few, or -2 on a conv_count out of
 * range. nn_config_from_v1() builds the two-stage config of version 1 files
 * from their seven int32 fields. */
size_t nn_config_encode(const ohlcx_cnn_config *c, unsigned char *out);
int nn_config_decode(const unsigned char *in, size_t available,
                     ohlcx_cnn_config *c, size_t *used);
void nn_config_from_v1(const int32_t fields[7], ohlcx_cnn_config *c);

/* The convolution stages on im2col + sgemm (conv.c). */
void nn_conv_forward(const ohlcx_cnn *cnn, nn_workspace *ws, const float *x,
                     size_t n, const nn_pass *pass);
void nn_conv_backward(ohlcx_cnn *cnn, nn_workspace *ws, size_t n);
void nn_dropout_mask(nn_rng *rng, float p, float *mask, size_t count);

int nn_check_ids(const ohlcx_cnn *cnn, const int32_t *ids, const size_t *indices,
                 size_t n, const char *where);

/* 1 when the oneDNN kernels can run this network's convolutions: two
 * stages, dilated or not, without batch normalisation, pooling or
 * dropout. */
int nn_dnnl_serves(const ohlcx_cnn_config *config);

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
void nn_dropout_rng_seed(nn_rng *rng, uint64_t seed);
uint64_t nn_rng_next(nn_rng *rng);
double nn_rng_normal(nn_rng *rng);
uint64_t nn_rng_below(nn_rng *rng, uint64_t bound);
void nn_rng_shuffle(nn_rng *rng, size_t *items, size_t n);

#endif
