/*
 * Process-wide choice of the convolution kernels (im2col + sgemm or oneDNN)
 * and of their precision (float32 or bfloat16).
 *
 * Both are read when a workspace is created, so a change applies to the
 * training runs and predictions started after it. The defaults are oneDNN
 * when the build has it, and float32, so that a seed gives the same weights
 * on CPUs with and without AVX512_BF16.
 */
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"

#ifdef OHLCX_HAVE_DNNL
static enum nn_kernels kernels = NN_KERNELS_DNNL;
#else
static enum nn_kernels kernels = NN_KERNELS_SGEMM;
#endif

/* FP32 or BF16, never AUTO.
 * NOTE: CNN checkpoints record neither the kernels nor the precision, so a
 * training resumed under another setting continues without error but does
 * not reproduce the uninterrupted run. `ohlcx run` guards against that: its
 * run.json records the precision, and a resume with another is refused.
 * The thread count, which sets the data-parallel shards (parallel.c), is not
 * recorded either, and a resume with another count reproduces the run only
 * to float summation order. */
static ohlcx_cnn_precision precision = OHLCX_CNN_PRECISION_FP32;


void nn_set_kernels(enum nn_kernels requested)
{
#ifdef OHLCX_HAVE_DNNL
    kernels = requested;
#else
    (void)requested;
#endif
}


enum nn_kernels nn_get_kernels(void)
{
    return kernels;
}


int nn_use_bf16(void)
{
    return kernels == NN_KERNELS_DNNL &&
           precision == OHLCX_CNN_PRECISION_BF16;
}


/* Returns 1 when the oneDNN kernels are built in and the CPU runs bf16. */
static int bf16_available(void)
{
#ifdef OHLCX_HAVE_DNNL
    return nn_dnnl_bf16_supported();
#else
    return 0;
#endif
}


int ohlcx_cnn_set_precision(ohlcx_cnn_precision requested)
{
    switch (requested) {
    case OHLCX_CNN_PRECISION_AUTO:
        precision = bf16_available() ? OHLCX_CNN_PRECISION_BF16
                                     : OHLCX_CNN_PRECISION_FP32;
        return OHLCX_OK;
    case OHLCX_CNN_PRECISION_FP32:
        precision = requested;
        return OHLCX_OK;
    case OHLCX_CNN_PRECISION_BF16:
        if (!bf16_available())
            return ohlcx_set_error(OHLCX_EINVAL, "cnn: bf16 precision needs "
                                   "oneDNN (libdnnl-dev at build time) and a "
                                   "CPU with AVX512_BF16: use fp32 or auto");
        precision = requested;
        return OHLCX_OK;
    }
    return ohlcx_set_error(OHLCX_EINVAL, "cnn: invalid precision %d",
                           (int)requested);
}


ohlcx_cnn_precision ohlcx_cnn_get_precision(void)
{
    return nn_use_bf16() ? OHLCX_CNN_PRECISION_BF16 : OHLCX_CNN_PRECISION_FP32;
}


int ohlcx_cnn_parse_precision(const char *text, ohlcx_cnn_precision *out)
{
    static const ohlcx_cnn_precision all[] = {
        OHLCX_CNN_PRECISION_AUTO,
        OHLCX_CNN_PRECISION_FP32,
        OHLCX_CNN_PRECISION_BF16,
    };

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (text != NULL && strcmp(text, ohlcx_cnn_precision_name(all[i])) == 0) {
            *out = all[i];
            return OHLCX_OK;
        }
    return ohlcx_set_error(OHLCX_EINVAL, "invalid precision '%s': expected "
                           "auto, fp32 or bf16", text ? text : "(null)");
}


const char *ohlcx_cnn_precision_name(ohlcx_cnn_precision value)
{
    switch (value) {
    case OHLCX_CNN_PRECISION_AUTO:
        return "auto";
    case OHLCX_CNN_PRECISION_FP32:
        return "fp32";
    case OHLCX_CNN_PRECISION_BF16:
        return "bf16";
    }
    return "unknown";
}


const char *ohlcx_cnn_kernels_name(void)
{
    return kernels == NN_KERNELS_DNNL ? "onednn" : "sgemm";
}
