/*
 * NN: the 1-D CNN that turns a window of bars into an embedding and an
 * up-probability.
 *
 * Architecture for C input channels and a window of W bars ("valid"
 * convolutions, no padding):
 *
 *   x [C x W]
 *   conv1d(k1, f1) + ReLU       -> [f1 x L1], L1 = W - k1 + 1
 *   conv1d(k2, f2) + ReLU       -> [f2 x L2], L2 = L1 - k2 + 1
 *   readout: concat(last position, mean over positions) -> [2 f2]
 *   dense(hidden) + ReLU        -> [hidden]   (the embedding)
 *   dense(1) + sigmoid          -> p(up)
 *
 * The readout keeps where things happen: a global average alone cannot tell a
 * shape ending at the last bar from the same shape 30 bars earlier, and the
 * last bar would feed only one of the averaged positions. The last position
 * sees the newest k1 + k2 - 1 bars directly.
 *
 * Training minimises binary cross-entropy with Adam over shuffled
 * mini-batches and stops early when the validation loss has not improved for
 * `patience` epochs, keeping the best weights. Convolutions run on oneDNN's
 * kernels when the library was built with oneDNN, else as im2col + OpenBLAS
 * sgemm. A run is deterministic for a given seed, kernels, precision and
 * thread count: batches are drawn from one seeded generator and every
 * reduction runs in a fixed order.
 *
 * Input layout: sample i occupies C * W consecutive floats, channel-major
 * (x[i * C * W + c * W + j] is channel c at position j).
 */
#ifndef OHLCX_NN_H
#define OHLCX_NN_H

#include <stddef.h>
#include <stdint.h>

typedef struct ohlcx_cnn ohlcx_cnn;

typedef struct ohlcx_cnn_config {
    int channels; /* input channels C, default 5 */
    int window;   /* input length W, default 64 */
    int kernel1;  /* default 5 */
    int filters1; /* default 32 */
    int kernel2;  /* default 5 */
    int filters2; /* default 64 */
    int hidden;   /* embedding size, default 32 */
} ohlcx_cnn_config;

typedef struct ohlcx_cnn_train_options {
    int batch_size;      /* default 256 */
    int max_epochs;      /* 1 to 256 (the history's length), default 20 */
    int patience;        /* epochs without improvement before stopping, default 3 */
    float learning_rate; /* Adam step size, default 1e-3 */
    uint64_t seed;       /* weight initialisation and batch order */
    int verbose;         /* 1: log a line per epoch to stderr */
    /* Called after every mini-batch with the samples done in this epoch, or
     * NULL; for progress lines. */
    void (*progress)(void *context, int epoch, int max_epochs, size_t done,
                     size_t total);
    void *progress_context;
    /* Checkpoint file written after every epoch (see "Checkpoints" below),
     * or NULL for none. */
    const char *checkpoint_path;
    /* 1: continue from checkpoint_path when that file exists. */
    int resume;
} ohlcx_cnn_train_options;

/* Learning curve of one training run. */
typedef struct ohlcx_cnn_history {
    int epochs;          /* epochs run */
    int best_epoch;      /* 1-based epoch whose weights were kept */
    float train_loss[256];
    float val_loss[256];
} ohlcx_cnn_history;

/*
 * Precision of the convolutions. BF16 rounds their inputs and weights to
 * bfloat16 and accumulates in float32; it needs oneDNN and a CPU with
 * AVX512_BF16. The dense layers, the loss, the master weights and Adam stay
 * float32 in every mode. AUTO is BF16 where available and FP32 elsewhere.
 */
typedef enum ohlcx_cnn_precision {
    OHLCX_CNN_PRECISION_AUTO,
    OHLCX_CNN_PRECISION_FP32,
    OHLCX_CNN_PRECISION_BF16,
} ohlcx_cnn_precision;

/* Sets the precision of every CNN pass started afterwards in this process
 * (default FP32, so that results do not depend on the CPU). Fails with
 * OHLCX_EINVAL, leaving the setting unchanged, when BF16 is requested and
 * not available. Not thread-safe: call it before training or predicting. */
int ohlcx_cnn_set_precision(ohlcx_cnn_precision precision);

/* Returns the precision in force, FP32 or BF16 (AUTO resolved). */
ohlcx_cnn_precision ohlcx_cnn_get_precision(void);

/* Parses "auto", "fp32" or "bf16"; fails with OHLCX_EINVAL otherwise. */
int ohlcx_cnn_parse_precision(const char *text, ohlcx_cnn_precision *out);

/* Returns "auto", "fp32" or "bf16". */
const char *ohlcx_cnn_precision_name(ohlcx_cnn_precision precision);

/* Returns the convolution kernels in use: "onednn" or "sgemm". */
const char *ohlcx_cnn_kernels_name(void);

void ohlcx_cnn_config_default(ohlcx_cnn_config *config);
void ohlcx_cnn_train_options_default(ohlcx_cnn_train_options *options);

/* Creates a network with He-initialised weights drawn from seed. Returns
 * NULL and sets the error message on invalid sizes or allocation failure. */
ohlcx_cnn *ohlcx_cnn_create(const ohlcx_cnn_config *config, uint64_t seed);
void ohlcx_cnn_free(ohlcx_cnn *cnn);

const ohlcx_cnn_config *ohlcx_cnn_get_config(const ohlcx_cnn *cnn);

/*
 * Fills count samples into x (count x C x W floats, in the input layout above)
 * and their labels (0 or 1) into y. indices[i] is the number of the sample
 * that goes to position i, below the source's count. Returns 0, or a negative
 * error code with the message set, which stops the call that requested the
 * samples.
 */
typedef int (*ohlcx_sample_fill)(void *context, const size_t *indices,
                                 size_t count, float *x, float *y);

/* Samples that a caller builds on request instead of holding them all, so
 * that training memory does not grow with the window size times the sample
 * count. */
typedef struct ohlcx_sample_source {
    ohlcx_sample_fill fill;
    void *context; /* passed to fill */
    size_t count;  /* samples numbered 0 to count - 1 */
} ohlcx_sample_source;

/*
 * Trains on the samples of train with early stopping on those of validation;
 * history may be NULL. Without validation samples (validation NULL or empty)
 * all max_epochs run, the last weights are kept and val_loss is NAN.
 *
 * train->fill is called once per mini-batch with that batch's indices in the
 * epoch's shuffled order. validation->fill is called once per epoch for each
 * chunk of 256 consecutive indices, in index order. Both run on the calling
 * thread. Each filled batch is checked: a label other than 0 or 1 fails with
 * OHLCX_EINVAL, and so does a fill that returns a positive value. A
 * non-finite feature fails with OHLCX_EDATA. When a fill or a check fails, or
 * the training loss is not finite, training stops, the best weights so far
 * (or the initial ones) are restored and the call returns the failure's code.
 * Besides fixed-size buffers, memory grows by one size_t per training sample,
 * for the shuffled order. Writing or reading a checkpoint briefly takes a
 * buffer of 16 bytes per weight and 8 per training sample more.
 */
int ohlcx_cnn_train_source(ohlcx_cnn *cnn, const ohlcx_sample_source *train,
                           const ohlcx_sample_source *validation,
                           const ohlcx_cnn_train_options *options,
                           ohlcx_cnn_history *history);

/* Trains on n_train samples (x_train, labels y_train in {0, 1}) with early
 * stopping on the validation samples; history may be NULL. With n_val == 0
 * all max_epochs run, the last weights are kept and val_loss is NAN. Every
 * sample is checked before the first epoch, so bad input leaves the weights
 * unchanged. Otherwise this is ohlcx_cnn_train_source() over sources that
 * copy from the arrays, and gives the same weights bit for bit. */
int ohlcx_cnn_train(ohlcx_cnn *cnn, const float *x_train, const float *y_train,
                    size_t n_train, const float *x_val, const float *y_val,
                    size_t n_val, const ohlcx_cnn_train_options *options,
                    ohlcx_cnn_history *history);

/*
 * Checkpoints: the full training state after a completed epoch, so that a
 * training killed at any moment continues from its last completed epoch and
 * ends with the same weights, bit for bit, as one never interrupted.
 *
 * With options->checkpoint_path set, ohlcx_cnn_train_source() writes the
 * state there after every epoch: "<path>.tmp" is written, flushed to disk
 * with fsync() and renamed over path, and the folder is synced, so path
 * always contains a complete checkpoint of some epoch. With options->resume set
 * and path present, training loads it, fails with OHLCX_EINVAL when its
 * configuration, options (batch_size, max_epochs, patience, learning_rate,
 * seed) or sample counts differ from this call's, and otherwise continues
 * after its epoch. A checkpoint of a finished training (early stop or
 * max_epochs reached) only restores the kept weights and the history. A
 * missing file starts a fresh training.
 *
 * File layout, every number little-endian, floats as IEEE 754 bits:
 *
 *   magic "OHLCXCKP" (8 bytes), format version (uint32, currently 1)
 *   config: channels, window, kernel1, filters1, kernel2, filters2, hidden
 *           (int32 each)
 *   options: batch_size, max_epochs, patience (int32), learning_rate
 *            (binary32), seed (uint64)
 *   train_count, val_count (uint64)
 *   epoch, finished, stale (int32), best_val (binary64), adam_step (int64),
 *   rng_state (4 x uint64)
 *   history: best_epoch (int32), then train_loss and val_loss of each of
 *            the `epoch` epochs (binary32 each)
 *   parameter count P (uint64); params, adam_m, adam_v, best_params
 *            (P binary32 each)
 *   order (train_count x uint64)
 *   SHA-256 of every byte before it, as 64 lower-case hex characters
 *
 * Loading fails with OHLCX_EFORMAT and the path on a short or long file, or
 * a wrong magic, version or digest. It fails the same way on a field out of
 * range: an invalid configuration, a count that does not match it, an epoch
 * outside 1 to max_epochs, an order that is not a permutation, or a
 * non-finite weight.
 */
typedef struct ohlcx_cnn_checkpoint {
    ohlcx_cnn_config config;
    int batch_size;      /* the training options that resuming must match */
    int max_epochs;
    int patience;
    float learning_rate;
    uint64_t seed;
    uint64_t train_count; /* training samples, the length of order */
    uint64_t val_count;   /* validation samples */
    int epoch;            /* epochs completed, 1 to max_epochs */
    int finished;         /* 1: training stopped after this epoch */
    int stale;            /* epochs since the validation loss last improved */
    double best_val;      /* lowest validation loss so far (NAN without validation) */
    int64_t adam_step;    /* Adam updates taken */
    uint64_t rng_state[4]; /* batch-order generator after this epoch's shuffle */
    ohlcx_cnn_history history; /* epochs == epoch */
    size_t param_count;   /* floats in each of the four arrays below */
    float *params;        /* weights after this epoch */
    float *adam_m;        /* Adam first moments */
    float *adam_v;        /* Adam second moments */
    float *best_params;   /* weights of the best epoch so far */
    size_t *order;        /* training sample order of this epoch; the next
                             epoch shuffles it again */
} ohlcx_cnn_checkpoint;

/* Writes a checkpoint atomically: "<path>.tmp", fsync(), rename over path,
 * then fsync() of the folder. */
int ohlcx_cnn_checkpoint_save(const ohlcx_cnn_checkpoint *checkpoint,
                              const char *path);

/* Reads and checks a checkpoint. On success the arrays are allocated and
 * the caller releases them with ohlcx_cnn_checkpoint_free(); on failure out
 * holds no allocation. */
int ohlcx_cnn_checkpoint_load(const char *path, ohlcx_cnn_checkpoint *out);
void ohlcx_cnn_checkpoint_free(ohlcx_cnn_checkpoint *checkpoint);

/* Computes the up-probability (prob, n floats) and the embedding
 * (embedding, n x hidden floats) of n samples; either output may be NULL. */
int ohlcx_cnn_predict(const ohlcx_cnn *cnn, const float *x, size_t n,
                      float *prob, float *embedding);

/* Returns the mean binary cross-entropy of the network on n samples. */
double ohlcx_cnn_loss(const ohlcx_cnn *cnn, const float *x, const float *y,
                      size_t n);

/* Writes and reads the configuration and weights as a small binary file
 * with a magic number and version. */
int ohlcx_cnn_save(const ohlcx_cnn *cnn, const char *path);
int ohlcx_cnn_load(const char *path, ohlcx_cnn **out);

/*
 * Gradient access for tests: every trainable tensor is one parameter block.
 * ohlcx_cnn_gradients() runs forward and backward on n samples and leaves the
 * gradient of the mean loss in each block's gradient buffer.
 *
 * Blocks, in order, each row-major:
 *   0 conv1.weight  [f1][C k1]   tap j of input channel c at c k1 + j
 *   1 conv1.bias    [f1]
 *   2 conv2.weight  [f2][k2 f1]  tap j of conv1 filter f at j f1 + f
 *   3 conv2.bias    [f2]
 *   4 dense1.weight [hidden][2 f2]  last-position features, then the means
 *   5 dense1.bias   [hidden]
 *   6 dense2.weight [hidden]
 *   7 dense2.bias   [1]
 */
int ohlcx_cnn_param_count(const ohlcx_cnn *cnn);
float *ohlcx_cnn_param(ohlcx_cnn *cnn, int block, size_t *size);
const float *ohlcx_cnn_grad(const ohlcx_cnn *cnn, int block);
const char *ohlcx_cnn_param_name(const ohlcx_cnn *cnn, int block);
int ohlcx_cnn_gradients(ohlcx_cnn *cnn, const float *x, const float *y,
                        size_t n, double *loss);

#endif
