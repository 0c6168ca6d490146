/*
 * XGBoost, OpenBLAS and oneDNN, loaded with dlopen() on first use.
 *
 * The command does not link these libraries. So commands that do no
 * machine learning (ingest, ls, export, ...) start without loading them and
 * their dependencies (libgomp, libstdc++, libgfortran, ...). And main() can
 * set the thread variables that the libraries read when they load.
 *
 * Each library has a table of function pointers, one per function that
 * ohlcx calls, typed from the library's own header. ohlcx_LIB_load() loads
 * the library by the SONAME that CMake read at configure time and fills the
 * table, once per process (pthread_once), and returns 0 or OHLCX_ELIB with
 * a message naming the SONAME and the Debian package to install. Every
 * later call returns the same result, so callers check it at their entry
 * points and then call through the table. The libraries are never unloaded.
 *
 * OpenBLAS has no table: its three functions keep their own names
 * (cblas_sgemm, openblas_get_num_threads, openblas_set_num_threads) and are
 * defined in libraries.c to forward to the loaded library, because callers
 * in many modules and tests use them.
 *
 * OHLCX_TEST_HIDE_LIBRARY, for tests only, lists SONAMEs separated by
 * commas that load as if they were not installed.
 */
#ifndef OHLCX_LIBRARIES_H
#define OHLCX_LIBRARIES_H

#include <cblas.h>
#include <xgboost/c_api.h>

#ifdef OHLCX_HAVE_DNNL
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif

/* The functions of XGBoost's C API that src/gbdt/ calls. */
#define OHLCX_XGBOOST_FUNCTIONS(X) \
    X(XGBGetLastError)                     \
    X(XGBoosterBoostedRounds)              \
    X(XGBoosterCreate)                     \
    X(XGBoosterFree)                       \
    X(XGBoosterGetNumFeature)              \
    X(XGBoosterLoadModelFromBuffer)        \
    X(XGBoosterPredictFromDMatrix)         \
    X(XGBoosterSaveModelToBuffer)          \
    X(XGBoosterSetParam)                   \
    X(XGBoosterSetStrFeatureInfo)          \
    X(XGBoosterSlice)                      \
    X(XGBoosterUpdateOneIter)              \
    X(XGDMatrixCreateFromMat_omp)          \
    X(XGDMatrixFree)                       \
    X(XGDMatrixNumRow)                     \
    X(XGDMatrixSetFloatInfo)               \
    X(XGProxyDMatrixCreate)                \
    X(XGProxyDMatrixSetDataDense)          \
    X(XGQuantileDMatrixCreateFromCallback)

/* A struct member named after the function, with the function's type. */
#define OHLCX_LIBRARY_POINTER(name) __typeof__(name) *name;

typedef struct ohlcx_xgboost_api {
    OHLCX_XGBOOST_FUNCTIONS(OHLCX_LIBRARY_POINTER)
} ohlcx_xgboost_api;

/* Filled by a successful ohlcx_xgboost_load(). */
extern ohlcx_xgboost_api ohlcx_xgboost;

/* Loads libxgboost once per process; returns 0 or OHLCX_ELIB. */
int ohlcx_xgboost_load(void);

/* Loads OpenBLAS once per process; returns 0 or OHLCX_ELIB. The forwarding
 * functions load it too, but cblas_sgemm() cannot report a failure, so code
 * that multiplies matrices calls this first. */
int ohlcx_openblas_load(void);

#ifdef OHLCX_HAVE_DNNL
/* The functions of oneDNN's C API that src/nn/dnnl.c calls, and GNU
 * OpenMP's omp_set_num_threads, found through libdnnl's dependencies. */
#define OHLCX_DNNL_FUNCTIONS(X)                      \
    X(dnnl_dilated_convolution_backward_data_desc_init)    \
    X(dnnl_dilated_convolution_backward_weights_desc_init) \
    X(dnnl_dilated_convolution_forward_desc_init)          \
    X(dnnl_engine_create)                                  \
    X(dnnl_get_effective_cpu_isa)                          \
    X(dnnl_memory_create)                                  \
    X(dnnl_memory_desc_equal)                              \
    X(dnnl_memory_desc_get_size)                           \
    X(dnnl_memory_desc_init_by_tag)                        \
    X(dnnl_memory_destroy)                                 \
    X(dnnl_memory_get_data_handle)                         \
    X(dnnl_memory_get_memory_desc)                         \
    X(dnnl_memory_set_data_handle)                         \
    X(dnnl_post_ops_append_eltwise)                        \
    X(dnnl_post_ops_create)                                \
    X(dnnl_post_ops_destroy)                               \
    X(dnnl_primitive_attr_create)                          \
    X(dnnl_primitive_attr_destroy)                         \
    X(dnnl_primitive_attr_set_post_ops)                    \
    X(dnnl_primitive_attr_set_scratchpad_mode)             \
    X(dnnl_primitive_create)                               \
    X(dnnl_primitive_desc_create)                          \
    X(dnnl_primitive_desc_destroy)                         \
    X(dnnl_primitive_desc_query)                           \
    X(dnnl_primitive_desc_query_md)                        \
    X(dnnl_primitive_destroy)                              \
    X(dnnl_primitive_execute)                              \
    X(dnnl_reorder_primitive_desc_create)                  \
    X(dnnl_stream_create)                                  \
    X(dnnl_stream_destroy)                                 \
    X(dnnl_stream_wait)                                    \
    X(omp_set_num_threads)

typedef struct ohlcx_dnnl_api {
    OHLCX_DNNL_FUNCTIONS(OHLCX_LIBRARY_POINTER)
} ohlcx_dnnl_api;

/* Filled by a successful ohlcx_dnnl_load(). */
extern ohlcx_dnnl_api ohlcx_dnnl;

/* Loads libdnnl once per process; returns 0 or OHLCX_ELIB. */
int ohlcx_dnnl_load(void);
#endif

#endif
