/*
 * `ohlcx bench cnn`: time one training pass of the default CNN over generated
 * windows, so that its throughput can be set beside other tools'.
 *
 * The timed call is ohlcx_cnn_train() with one epoch and no validation set.
 * It runs the training loop of `ohlcx run` (ohlcx_cnn_train_source()) over
 * arrays, so the figure includes the copy of each mini-batch into the
 * training buffer, the input check and the Adam update. It leaves out the
 * building of windows from bars, which `ohlcx run` does in its sample fill.
 * One mini-batch trained before the timing starts the BLAS threads and
 * touches the library's code and buffers.
 *
 * The FLOP count per sample is derived from the architecture, counting a
 * multiply-add as 2 FLOP. With F(layer) the forward FLOP of one layer:
 *
 *   F(conv1)  = 2 L1 f1 C k1        F(conv2)  = 2 L2 f2 k2 f1
 *   F(dense1) = 2 hidden 2 f2       F(dense2) = 2 hidden
 *   training  = 2 F(conv1) + 3 (F(conv2) + F(dense1) + F(dense2))
 *
 * Each layer's backward pass costs twice its forward pass (the weight
 * gradient and the input gradient), except conv1, whose input needs no
 * gradient. Bias, ReLU, readout, loss and Adam are left out because they are
 * elementwise, under 1% of the FLOP for the default architecture (their
 * share of the time is larger, see docs/benchmarks.md).
 */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/error.h"
#include "ohlcx/nn.h"
#include "util/util.h"

/* Seconds that each sgemm shape runs for at least. */
#define SGEMM_MIN_SECONDS 0.5

static const char bench_help[] =
    "usage: ohlcx bench cnn [OPTIONS]\n"
    "\n"
    "Train the default CNN (5 input channels, conv 5x32, conv 5x64, dense 32,\n"
    "dense 1) for one pass over generated windows with Adam and print its\n"
    "throughput. Features are standard normal; a window's label is 1 when\n"
    "channel 0 of its last bar is positive. One mini-batch trained before the\n"
    "timing warms up. FLOP per sample counts each multiply-add of the\n"
    "convolutions and dense layers as 2, forward and backward (docs/benchmarks.md).\n"
    "\n"
    "options:\n"
    "  --threads N           OpenBLAS and oneDNN threads (default: 1)\n"
    "  --precision P         CNN convolutions in fp32, bf16 or auto (bf16 where\n"
    "                        available; default: fp32), as in 'ohlcx run'\n"
    "  --batch N             samples per mini-batch (default: 256)\n"
    "  --window N            bars per window, at least 9 (default: 64)\n"
    "  --samples N           windows in the timed pass (default: 16384)\n"
    "  --seed N              seed of the windows, weights and batch order\n"
    "                        (default: 1)\n"
    "  --sgemm               also time OpenBLAS sgemm on the three products of\n"
    "                        conv2 at this batch and window\n"
    "  --write-windows FILE  write the windows as raw little-endian float32:\n"
    "                        samples x 5 x window features (channel-major),\n"
    "                        then the samples labels\n"
    "  -h, --help            print this help\n"
    "\n"
    "Prints key=value lines; the last is samples_per_s=X. Exit status: 0 on\n"
    "success, 1 on an internal failure (a library error, out of memory), 2 on\n"
    "bad usage or input.\n";

typedef struct bench_options {
    int threads;
    int batch;
    int window;
    int samples;
    uint64_t seed;
    int sgemm;
    const char *windows_path;
} bench_options;


/* splitmix64: a small seeded generator for the windows, independent of the
 * library's. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}


/* Returns a standard normal value by the Box-Muller transform. */
static float next_normal(uint64_t *state)
{
    double u1 = 1.0 - (double)(next_random(state) >> 11) * 0x1.0p-53;
    double u2 = (double)(next_random(state) >> 11) * 0x1.0p-53;

    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}


/* Fills n windows of standard normal features and labels whether channel 0
 * of the last bar is positive, so a training pass has something to learn. */
static void generate_windows(const ohlcx_cnn_config *c, size_t n, uint64_t seed, float *x,
                             float *y)
{
    size_t sample = (size_t)c->channels * (size_t)c->window;
    uint64_t state = seed;

    for (size_t s = 0; s < n; s++) {
        float *window = x + s * sample;

        for (size_t i = 0; i < sample; i++)
            window[i] = next_normal(&state);
        y[s] = window[c->window - 1] > 0.0f ? 1.0f : 0.0f;
    }
}


static int write_windows(const char *path, const float *x, size_t x_count, const float *y,
                         size_t y_count)
{
    FILE *file = fopen(path, "wb");
    int failed;

    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", path, strerror(errno));
    failed = fwrite(x, sizeof *x, x_count, file) != x_count ||
             fwrite(y, sizeof *y, y_count, file) != y_count;
    if (fclose(file) != 0 || failed)
        return ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", path, strerror(errno));
    return 0;
}


/* Returns the training FLOP of one sample (see the file comment). */
static double training_flop(const ohlcx_cnn_config *c)
{
    double length = c->window;
    double in_channels = c->channels;
    double flop = 0.0;
    double f_last = 0.0;

    for (int i = 0; i < c->conv_count; i++) {
        const ohlcx_cnn_conv *conv = &c->conv[i];
        double conv_flop;

        length -= (double)(conv->kernel - 1) * conv->dilation;
        conv_flop = 2.0 * length * conv->filters * in_channels * conv->kernel;
        /* The first stage needs no input gradient, so it runs two products. */
        flop += (i == 0 ? 2.0 : 3.0) * conv_flop;
        length = floor(length / conv->pool);
        in_channels = conv->filters;
        f_last = conv->filters;
    }
    return flop + 3.0 * (2.0 * c->hidden * (2.0 * f_last + c->symbol_dim) + 2.0 * c->hidden);
}


/* Fills n floats with uniform values in [-1, 1). */
static void fill_uniform(float *m, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; i++)
        m[i] = (float)((double)(next_random(state) >> 11) * 0x1.0p-52 - 1.0);
}


/* Times one row-major sgemm shape, C[m x n] = op(A) op(B) with inner
 * dimension k, repeated for at least SGEMM_MIN_SECONDS, and prints its
 * GFLOP/s. */
static int time_sgemm(const char *name, enum CBLAS_TRANSPOSE trans_a,
                      enum CBLAS_TRANSPOSE trans_b, int m, int n, int k)
{
    size_t a_count = (size_t)m * (size_t)k;
    size_t b_count = (size_t)k * (size_t)n;
    float *a = malloc(a_count * sizeof *a);
    float *b = malloc(b_count * sizeof *b);
    float *c = calloc((size_t)m * (size_t)n, sizeof *c);
    int lda = trans_a == CblasNoTrans ? k : m;
    int ldb = trans_b == CblasNoTrans ? n : k;
    uint64_t state = 7;
    double started, elapsed;
    long repeats = 0;

    if (a == NULL || b == NULL || c == NULL) {
        free(a);
        free(b);
        free(c);
        return ohlcx_set_error(OHLCX_ENOMEM, "bench: out of memory for a %d x %d x %d sgemm",
                               m, n, k);
    }
    fill_uniform(a, a_count, &state);
    fill_uniform(b, b_count, &state);

    cblas_sgemm(CblasRowMajor, trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
    started = ohlcx_now_seconds();
    do {
        cblas_sgemm(CblasRowMajor, trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
        repeats++;
        elapsed = ohlcx_now_seconds() - started;
    } while (elapsed < SGEMM_MIN_SECONDS);

    printf("sgemm_%s=%.1f (GFLOP/s, M=%d N=%d K=%d, %ld calls)\n", name,
           2.0 * m * n * (double)k * (double)repeats / elapsed * 1e-9, m, n, k, repeats);
    free(a);
    free(b);
    free(c);
    return 0;
}


/* Times the three conv2 products of one mini-batch with the shapes and
 * transposes that the training pass uses. */
static int time_conv2_sgemm(const ohlcx_cnn_config *c, int batch)
{
    const ohlcx_cnn_conv *conv1 = &c->conv[0], *conv2 = &c->conv[1];
    int rows2 = batch * (c->window - conv1->kernel - conv2->kernel + 2);
    int patch = conv2->kernel * conv1->filters;
    int status;

    status = time_sgemm("conv2_forward", CblasNoTrans, CblasTrans, rows2, conv2->filters, patch);
    if (status == 0)
        status = time_sgemm("conv2_weight_grad", CblasTrans, CblasNoTrans, conv2->filters,
                            patch, rows2);
    if (status == 0)
        status = time_sgemm("conv2_input_grad", CblasNoTrans, CblasNoTrans, rows2, patch,
                            conv2->filters);
    return status;
}


/* Trains one mini-batch to warm up, then one timed pass over every window,
 * and prints the figures. */
static int bench_cnn(const bench_options *o)
{
    ohlcx_cnn_config config;
    ohlcx_cnn_train_options train;
    ohlcx_cnn_history history;
    size_t samples = (size_t)o->samples;
    size_t sample_floats;
    size_t batch;
    ohlcx_cnn *cnn = NULL;
    float *x = NULL, *y = NULL;
    double started, seconds, flop;
    int status;

    ohlcx_cnn_config_default(&config);
    config.window = o->window;
    /* parse_options() keeps the window within what the configuration
     * check accepts, so creating the network fails only for lack of memory,
     * and the error says so. */
    cnn = ohlcx_cnn_create(&config, o->seed);
    if (cnn == NULL)
        return OHLCX_ENOMEM;

    sample_floats = (size_t)config.channels * (size_t)config.window;
    x = malloc(samples * sample_floats * sizeof *x);
    y = malloc(samples * sizeof *y);
    if (x == NULL || y == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "bench: out of memory for %zu windows of %d "
                                 "bars: lower --samples", samples, config.window);
        goto done;
    }
    generate_windows(&config, samples, o->seed, x, y);
    if (o->windows_path != NULL) {
        status = write_windows(o->windows_path, x, samples * sample_floats, y, samples);
        if (status != 0)
            goto done;
    }

    openblas_set_num_threads(o->threads);
    ohlcx_cnn_train_options_default(&train);
    train.batch_size = o->batch;
    train.max_epochs = 1;
    train.seed = o->seed;

    /* Training caps the mini-batch at the sample count, and so do the
     * warm-up and the sgemm timing. */
    batch = (size_t)o->batch < samples ? (size_t)o->batch : samples;
    status = ohlcx_cnn_train(cnn, x, y, batch, NULL, NULL, 0, &train, NULL);
    if (status != 0)
        goto done;

    started = ohlcx_now_seconds();
    status = ohlcx_cnn_train(cnn, x, y, samples, NULL, NULL, 0, &train, &history);
    seconds = ohlcx_now_seconds() - started;
    if (status != 0)
        goto done;

    flop = training_flop(&config);
    printf("architecture=C%d W%d conv%dx%d conv%dx%d dense%d dense1\n", config.channels,
           config.window, config.conv[0].kernel, config.conv[0].filters, config.conv[1].kernel,
           config.conv[1].filters,
           config.hidden);
    printf("threads=%d batch=%zu samples=%zu seed=%llu\n", o->threads, batch, samples,
           (unsigned long long)o->seed);
    printf("kernels=%s precision=%s\n", ohlcx_cnn_kernels_name(),
           ohlcx_cnn_precision_name(ohlcx_cnn_get_precision()));
    printf("flop_per_sample=%.0f\n", flop);
    printf("train_loss=%.4f\n", (double)history.train_loss[0]);
    printf("seconds=%.3f\n", seconds);
    printf("gflop_per_s=%.2f\n", flop * (double)samples / seconds * 1e-9);
    if (o->sgemm)
        status = time_conv2_sgemm(&config, (int)batch);
    if (status == 0)
        printf("samples_per_s=%.0f\n", (double)samples / seconds);

done:
    free(x);
    free(y);
    ohlcx_cnn_free(cnn);
    return status;
}


static int parse_options(int argc, char **argv, bench_options *o)
{
    static const struct option long_options[] = {
        {"threads", required_argument, NULL, 't'},
        {"precision", required_argument, NULL, 'F'},
        {"batch", required_argument, NULL, 'b'},
        {"window", required_argument, NULL, 'w'},
        {"samples", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"sgemm", no_argument, NULL, 'g'},
        {"write-windows", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int option, bad = 0;

    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 't': bad = cli_parse_int("bench", "--threads", optarg, 1, 1024, &o->threads); break;
        case 'F': bad = cli_parse_precision("bench", optarg); break;
        case 'b': bad = cli_parse_int("bench", "--batch", optarg, 1, 1 << 20, &o->batch); break;
        case 'w': bad = cli_parse_int("bench", "--window", optarg, 9, 65536, &o->window); break;
        case 'n':
            bad = cli_parse_int("bench", "--samples", optarg, 1, 1 << 30, &o->samples);
            break;
        case 's': bad = cli_parse_u64("bench", "--seed", optarg, &o->seed); break;
        case 'g': o->sgemm = 1; break;
        case 'o': o->windows_path = optarg; break;
        case 'h': fputs(bench_help, stdout); return 1;
        default: bad = -1; break;
        }
    }
    if (bad)
        return -1;
    if (optind != argc) {
        cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}


int cmd_bench(int argc, char **argv)
{
    bench_options options = {1, 256, 64, 16384, 1, 0, NULL};
    int status;

    if (argc < 2)
        return cli_usage_error("bench", "missing the benchmark name: use 'ohlcx bench cnn'");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(bench_help, stdout);
        return 0;
    }
    if (strcmp(argv[1], "cnn") != 0)
        return cli_usage_error("bench", "unknown benchmark '%s': use 'ohlcx bench cnn'",
                               argv[1]);

    status = parse_options(argc - 1, argv + 1, &options);
    if (status != 0)
        return status > 0 ? 0 : 2;

    status = bench_cnn(&options);
    return status == 0 ? 0 : cli_fail(status);
}
