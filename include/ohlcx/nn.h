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
 * `patience` epochs, keeping the best weights. Convolutions run as im2col +
 * OpenBLAS sgemm. A run is deterministic for a given seed: batches are drawn
 * from one seeded generator and every reduction runs in a fixed order.
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
} ohlcx_cnn_train_options;

/* Learning curve of one training run. */
typedef struct ohlcx_cnn_history {
    int epochs;          /* epochs run */
    int best_epoch;      /* 1-based epoch whose weights were kept */
    float train_loss[256];
    float val_loss[256];
} ohlcx_cnn_history;

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
 * for the shuffled order.
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
