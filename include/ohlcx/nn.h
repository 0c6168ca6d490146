/*
 * NN: the 1-D CNN that turns a window of bars into an embedding and an
 * up-probability.
 *
 * Architecture for C input channels and a window of W bars ("valid"
 * convolutions, no padding), with conv_count stages i = 1 .. N:
 *
 *   x [C x W]
 *   stage i: conv1d(k_i, f_i, dilation d_i)   -> [f_i x L_i],
 *                                                L_i = P_(i-1) - (k_i - 1) d_i
 *            batch normalisation (batch_norm = 1)
 *            ReLU
 *            max pooling of size and stride p_i -> [f_i x P_i], P_i = floor(L_i / p_i)
 *            dropout (dropout > 0, training only)
 *   readout: concat(last position, mean over positions) of stage N,
 *            then the symbol's embedding row (symbols > 0)
 *                                              -> [2 f_N + symbol_dim]
 *   dense(hidden) + ReLU (+ dropout)           -> [hidden]   (the embedding)
 *   dense(1) + sigmoid                         -> p(up)
 *
 * with P_0 = W. Tap j of a convolution reads position t + j d_i. The default
 * is two stages of 32 and 64 filters, kernel 5, no dilation, pooling, batch
 * normalisation, dropout or symbol embedding.
 *
 * The readout keeps where things happen: a global average alone cannot tell a
 * shape ending at the last bar from the same shape 30 bars earlier, and the
 * last bar would feed only one of the averaged positions. The last position
 * reads the newest bars of the receptive field directly.
 *
 * Batch normalisation normalises each filter over the samples and positions
 * of a mini-batch in training, and by running averages (momentum 0.1, eps
 * 1e-5, unbiased variance) everywhere else: in prediction, in the loss and
 * in the validation loss. Dropout zeroes each activation with probability
 * p during training and scales the kept ones by 1 / (1 - p). Its masks come
 * from a generator seeded from the training seed, so training stays
 * deterministic.
 *
 * Training minimises binary cross-entropy with Adam (AdamW with
 * weight_decay) over shuffled mini-batches and stops early when the
 * validation loss has not improved for `patience` epochs, keeping the best
 * weights. Convolutions run on oneDNN's kernels when the library was built
 * with oneDNN and the network has two stages without batch normalisation,
 * pooling or dropout (dilation is allowed). Every other network, and every
 * network in a build without oneDNN, runs as im2col + OpenBLAS sgemm. A run
 * is deterministic for a given seed, kernels, precision and thread count:
 * batches and dropout masks are drawn from seeded generators and every
 * reduction runs in a fixed order.
 *
 * Threads: the thread count T is OpenBLAS's (openblas_set_num_threads(),
 * which `--threads` and `--jobs` set). With T > 1, training splits each
 * mini-batch into T contiguous shards, [k n / T, (k + 1) n / T) for shard
 * k of n samples, runs forward and backward of each on its own thread with
 * one-threaded OpenBLAS and oneDNN inside, and sums the T gradients in
 * shard order. The result differs from T = 1 only in the order of float
 * additions, and dropout masks are drawn for the whole batch in the T = 1
 * order, so they do not depend on T. Networks with batch normalisation,
 * whose statistics span the whole batch, train single-threaded with
 * OpenBLAS's T threads inside each sgemm. For every network, the
 * validation loss, ohlcx_cnn_loss() and ohlcx_cnn_predict() calls of at
 * least 256 samples split each chunk of 256 samples the same way. While
 * a split call runs, OpenBLAS's process-wide thread count is 1.
 *
 * Input layout: sample i occupies C * W consecutive floats, channel-major
 * (x[i * C * W + c * W + j] is channel c at position j).
 */
#ifndef OHLCX_NN_H
#define OHLCX_NN_H

#include <stddef.h>
#include <stdint.h>

typedef struct ohlcx_cnn ohlcx_cnn;

/* Most convolution stages a network can have. */
#define OHLCX_CNN_MAX_CONV 8

/* One convolution stage. */
typedef struct ohlcx_cnn_conv {
    int filters;  /* default 32 then 64 */
    int kernel;   /* taps, default 5 */
    int dilation; /* 1 = ordinary convolution; tap j reads position t + j * dilation */
    int pool;     /* max pooling of size and stride `pool` after the ReLU; 1 = none (default) */
} ohlcx_cnn_conv;

/*
 * Network architecture. Entries of conv at and after conv_count are ignored,
 * and a network stores them as zeros. Every field must be in range:
 * channels, window and hidden 1 to 65536, conv_count 1 to
 * OHLCX_CNN_MAX_CONV, each used stage's filters, kernel, dilation and pool
 * 1 to 65536, dropout in [0, 1), symbols 0 to 65536 and symbol_dim 0 to
 * 65536. With symbols == 0, symbol_dim must be 0. With symbols > 0, a
 * symbol_dim of 0 means 8.
 */
typedef struct ohlcx_cnn_config {
    int channels;   /* input channels C, default 5 */
    int window;     /* input length W, default 64 */
    int conv_count; /* 1 to OHLCX_CNN_MAX_CONV, default 2 */
    ohlcx_cnn_conv conv[OHLCX_CNN_MAX_CONV];
    int batch_norm; /* 1: batch normalisation between each conv and its ReLU, default 0 */
    float dropout;  /* 0 <= p < 1: inverted dropout after each conv stage's ReLU (and pooling)
                       and after the hidden ReLU, in training only; default 0 */
    int hidden;     /* embedding size, default 32 */
    int symbols;    /* number of symbol ids for a learned symbol embedding; 0 = none (default) */
    int symbol_dim; /* size of that embedding, default 8 when symbols > 0, else 0 */
} ohlcx_cnn_config;

/* Learning-rate schedules: the rate of epoch e (0-based) of max_epochs. */
enum {
    OHLCX_LR_CONSTANT, /* learning_rate */
    OHLCX_LR_STEP,     /* learning_rate * lr_gamma^floor(e / lr_step_epochs) */
    OHLCX_LR_COSINE,   /* learning_rate * 0.5 * (1 + cos(pi * e / max_epochs)) */
};

typedef struct ohlcx_cnn_train_options {
    int batch_size;      /* default 256 */
    int max_epochs;      /* 1 to 256 (the history's length), default 20 */
    int patience;        /* epochs without improvement before stopping, default 3 */
    float learning_rate; /* Adam step size, default 1e-3 */
    uint64_t seed;       /* batch order and dropout masks */
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
    /* Decoupled (AdamW) weight decay: each step first multiplies a weight
     * by 1 - lr * weight_decay, lr being the epoch's learning rate. Applies
     * to the convolution and dense weights and the symbol embedding, not to
     * biases or batch-normalisation parameters. >= 0, default 0. */
    float weight_decay;
    int lr_schedule;    /* OHLCX_LR_CONSTANT (default), OHLCX_LR_STEP or OHLCX_LR_COSINE */
    int lr_step_epochs; /* STEP: epochs between multiplications by lr_gamma, >= 1, default 10 */
    float lr_gamma;     /* STEP: factor, > 0, default 0.1 */
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

/* Returns the learning rate of epoch (0-based) under the options' schedule,
 * see OHLCX_LR_CONSTANT. */
float ohlcx_cnn_epoch_learning_rate(const ohlcx_cnn_train_options *options,
                                    int epoch);

/* Creates a network with He-initialised weights drawn from seed, symbol
 * embeddings drawn from N(0, 1), batch-normalisation scales 1 and shifts 0.
 * Returns NULL and sets the error message, which names the invalid field, on
 * an invalid configuration or allocation failure. A configuration is invalid
 * when a field is out of range (see ohlcx_cnn_config) or a stage's input is
 * shorter than its receptive field (k - 1) d + 1 or its pool. */
ohlcx_cnn *ohlcx_cnn_create(const ohlcx_cnn_config *config, uint64_t seed);
void ohlcx_cnn_free(ohlcx_cnn *cnn);

const ohlcx_cnn_config *ohlcx_cnn_get_config(const ohlcx_cnn *cnn);

/*
 * Fills count samples into x (count x C x W floats, in the input layout above)
 * and their labels (0 or 1) into y. indices[i] is the number of the sample
 * that goes to position i, below the source's count. ids is NULL when the
 * network has no symbol embedding, and otherwise receives each sample's
 * symbol id, in [0, symbols). Returns 0, or a negative error code with the
 * message set, which stops the call that requested the samples.
 */
typedef int (*ohlcx_sample_fill)(void *context, const size_t *indices,
                                 size_t count, float *x, float *y,
                                 int32_t *ids);

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
 * thread. Each filled batch is checked: a label other than 0 or 1 or a symbol
 * id outside [0, symbols) fails with OHLCX_EINVAL, and so does a fill that
 * returns a positive value. A
 * non-finite feature fails with OHLCX_EDATA. When a fill or a check fails, or
 * the training loss is not finite, training stops, the best weights so far
 * (or the initial ones) are restored and the call returns the failure's code.
 * Besides fixed-size buffers, memory grows by one size_t per training sample,
 * for the shuffled order. Writing or reading a checkpoint briefly takes a
 * buffer of 16 bytes per weight and 8 per training sample more.
 * ohlcx_cnn_train() works only for networks without a symbol embedding.
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
 * seed, weight_decay, lr_schedule, lr_step_epochs, lr_gamma) or sample
 * counts differ from this call's, and otherwise continues after its epoch.
 * A checkpoint of a finished training (early stop or max_epochs reached)
 * only restores the kept weights and the history. A missing file starts a
 * fresh training.
 *
 * File layout of version 2, every number little-endian, floats as IEEE 754
 * bits:
 *
 *   magic "OHLCXCKP" (8 bytes), format version (uint32, 2)
 *   config: channels, window, conv_count (int32 each)
 *           filters, kernel, dilation, pool of each stage (int32 each)
 *           batch_norm (int32), dropout (binary32), hidden, symbols,
 *           symbol_dim (int32 each)
 *   options: batch_size, max_epochs, patience (int32), learning_rate
 *            (binary32), seed (uint64), weight_decay (binary32),
 *            lr_schedule, lr_step_epochs (int32), lr_gamma (binary32)
 *   train_count, val_count (uint64)
 *   epoch, finished, stale (int32), best_val (binary64), adam_step (int64),
 *   rng_state, dropout_rng_state (4 x uint64 each)
 *   history: best_epoch (int32), then train_loss and val_loss of each of
 *            the `epoch` epochs (binary32 each)
 *   parameter count P (uint64); params, adam_m, adam_v, best_params
 *            (P binary32 each)
 *   running-statistics count R (uint64); running, best_running (R binary32
 *            each)
 *   order (train_count x uint64)
 *   SHA-256 of every byte before it, as 64 lower-case hex characters
 *
 * Version 1, written before configurable architectures, stores the config
 * as channels, window, kernel1, filters1, kernel2, filters2, hidden (two
 * stages), the options without weight_decay and the schedule, no
 * dropout_rng_state and no R or running statistics. It still loads, with
 * the defaults for everything it lacks.
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
    float weight_decay;
    int lr_schedule;
    int lr_step_epochs;
    float lr_gamma;
    uint64_t train_count; /* training samples, the length of order */
    uint64_t val_count;   /* validation samples */
    int epoch;            /* epochs completed, 1 to max_epochs */
    int finished;         /* 1: training stopped after this epoch */
    int stale;            /* epochs since the validation loss last improved */
    double best_val;      /* lowest validation loss so far (NAN without validation) */
    int64_t adam_step;    /* Adam updates taken */
    uint64_t rng_state[4]; /* batch-order generator after this epoch's shuffle */
    uint64_t dropout_rng_state[4]; /* dropout-mask generator after this epoch */
    ohlcx_cnn_history history; /* epochs == epoch */
    size_t param_count;   /* floats in each of the four arrays below */
    float *params;        /* weights after this epoch */
    float *adam_m;        /* Adam first moments */
    float *adam_v;        /* Adam second moments */
    float *best_params;   /* weights of the best epoch so far */
    size_t running_count; /* floats in running and best_running: 2 per
                             filter of each stage with batch_norm, else 0 */
    float *running;       /* batch-normalisation running means and variances
                             after this epoch, see ohlcx_cnn_running_stats() */
    float *best_running;  /* the same of the best epoch so far */
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
 * (embedding, n x hidden floats) of n samples; either output may be NULL.
 * Fails with OHLCX_EINVAL on a network with a symbol embedding, which needs
 * ohlcx_cnn_predict_ids(). */
int ohlcx_cnn_predict(const ohlcx_cnn *cnn, const float *x, size_t n,
                      float *prob, float *embedding);

/* ohlcx_cnn_predict() with the symbol id of each sample (ids, n values in
 * [0, symbols)), or ids NULL for a network without a symbol embedding. An
 * id out of range fails with OHLCX_EINVAL, naming the sample and the id. */
int ohlcx_cnn_predict_ids(const ohlcx_cnn *cnn, const float *x,
                          const int32_t *ids, size_t n, float *prob,
                          float *embedding);

/* Returns the mean binary cross-entropy of the network on n samples, or NAN
 * with the message set on invalid input (a network with a symbol embedding
 * needs ohlcx_cnn_loss_ids()). */
double ohlcx_cnn_loss(const ohlcx_cnn *cnn, const float *x, const float *y,
                      size_t n);
double ohlcx_cnn_loss_ids(const ohlcx_cnn *cnn, const float *x, const float *y,
                          const int32_t *ids, size_t n);

/*
 * Writes and reads the configuration, the weights and the batch-normalisation
 * running statistics as a small binary file with a magic number and version
 * (see io.c for the layout). Files of version 1, written before configurable
 * architectures, still load.
 */
int ohlcx_cnn_save(const ohlcx_cnn *cnn, const char *path);
int ohlcx_cnn_load(const char *path, ohlcx_cnn **out);

/* Returns the batch-normalisation running statistics and stores their count
 * in *count: for each stage in order, the running means of its filters,
 * then their running variances. NULL with *count 0 without batch_norm. */
float *ohlcx_cnn_running_stats(ohlcx_cnn *cnn, size_t *count);

/*
 * Gradient access for tests: every trainable tensor is one parameter block.
 * ohlcx_cnn_gradients() runs forward and backward on n samples and leaves the
 * gradient of the mean loss in each block's gradient buffer.
 *
 * Blocks, in order, each row-major, for stage i = 1 .. N with f_i filters,
 * kernel k_i and f_0 = C:
 *   conv1.weight  [f1][C k1]       tap j of input channel c at c k1 + j
 *   convi.weight  [f_i][k_i f_(i-1)] for i >= 2: tap j of filter f of the
 *                                  stage before at j f_(i-1) + f
 *   convi.bias    [f_i]
 *   bni.gamma     [f_i]            only with batch_norm
 *   bni.beta      [f_i]            only with batch_norm
 *   dense1.weight [hidden][2 f_N + symbol_dim]  last-position features, the
 *                                  means, then the symbol embedding
 *   dense1.bias   [hidden]
 *   dense2.weight [hidden]
 *   dense2.bias   [1]
 *   symbol.embedding [symbols][symbol_dim]  only with symbols > 0
 * where each stage's blocks come before the next stage's.
 */
int ohlcx_cnn_param_count(const ohlcx_cnn *cnn);
float *ohlcx_cnn_param(ohlcx_cnn *cnn, int block, size_t *size);
const float *ohlcx_cnn_grad(const ohlcx_cnn *cnn, int block);
const char *ohlcx_cnn_param_name(const ohlcx_cnn *cnn, int block);

/* Gradient of the evaluation-mode loss that ohlcx_cnn_loss() returns:
 * running statistics for batch normalisation, no dropout. */
int ohlcx_cnn_gradients(ohlcx_cnn *cnn, const float *x, const float *y,
                        size_t n, double *loss);

/* ohlcx_cnn_gradients() with symbol ids (NULL without a symbol embedding).
 * With training = 1 the pass is that of a training step: batch statistics
 * for batch normalisation (the running statistics are left unchanged) and
 * dropout masks drawn from a generator seeded with dropout_seed, so that
 * equal seeds give equal masks. *loss, when not NULL, receives the mean
 * loss of that same pass. */
int ohlcx_cnn_gradients_ids(ohlcx_cnn *cnn, const float *x, const float *y,
                            const int32_t *ids, size_t n, int training,
                            uint64_t dropout_seed, double *loss);

#endif
