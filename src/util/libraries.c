/*
 * dlopen() of XGBoost, OpenBLAS and oneDNN on first use (see libraries.h).
 *
 * Each library loads at most once per process, inside pthread_once(). Its
 * result and error message are written there and only read after a later
 * pthread_once() call on the same control, which orders the reads after
 * the writes. A library that fails to load stays failed: dlopen() is not
 * tried again.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "util/libraries.h"

/* The SONAMEs and the Debian packages that provide them, read from the
 * libraries found at configure time (CMakeLists.txt). */
#ifndef OHLCX_XGBOOST_SONAME
#error "CMakeLists.txt defines OHLCX_XGBOOST_SONAME and the other library names"
#endif

typedef struct library {
    const char *title;   /* the library's name in messages */
    const char *soname;  /* what dlopen() loads */
    const char *package; /* the Debian package that provides it, or "" */
    void *handle;
    int status;          /* OHLCX_OK or OHLCX_ELIB */
    char message[512];   /* what failed, when status is OHLCX_ELIB */
} library;


/* Returns 1 when OHLCX_TEST_HIDE_LIBRARY lists soname. */
static int hidden_by_test(const char *soname)
{
    const char *list = getenv("OHLCX_TEST_HIDE_LIBRARY");
    size_t length = strlen(soname);

    while (list != NULL && *list != '\0') {
        const char *comma = strchr(list, ',');
        size_t entry = comma != NULL ? (size_t)(comma - list) : strlen(list);

        if (entry == length && strncmp(list, soname, length) == 0)
            return 1;
        list = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}


/* Records why lib failed to load, with the package that would fix it. */
static void fail(library *lib, const char *reason)
{
    if (lib->package[0] != '\0')
        snprintf(lib->message, sizeof lib->message,
                 "could not load %s (%s): install the Debian package %s", lib->title, reason,
                 lib->package);
    else
        snprintf(lib->message, sizeof lib->message,
                 "could not load %s (%s): install the package that provides %s", lib->title,
                 reason, lib->soname);
    lib->status = OHLCX_ELIB;
}


/* Opens lib; returns 0, or -1 after fail(). */
static int open_library(library *lib)
{
    const char *reason;

    if (hidden_by_test(lib->soname)) {
        char text[128];

        snprintf(text, sizeof text, "%s: hidden by OHLCX_TEST_HIDE_LIBRARY", lib->soname);
        fail(lib, text);
        return -1;
    }

    /* RTLD_LAZY binds each function on its first call, as the dynamic
     * loader does for a linked library unless LD_BIND_NOW is set. */
    lib->handle = dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);
    if (lib->handle != NULL)
        return 0;
    reason = dlerror();
    fail(lib, reason != NULL ? reason : lib->soname);
    return -1;
}


/* Returns the address of name in lib, or NULL after fail(). dlsym() on
 * the handle searches the library and then its dependencies, which is how
 * omp_set_num_threads is found in libgomp through libdnnl. */
static void *find_function(library *lib, const char *name)
{
    void *address;
    const char *reason;

    dlerror();
    address = dlsym(lib->handle, name);
    if (address != NULL)
        return address;
    reason = dlerror();
    fail(lib, reason != NULL ? reason : name);
    return NULL;
}


/* Converts a dlsym() result to the table entry's type. POSIX requires
 * that a void * from dlsym() convert to a function pointer. */
#define RESOLVE(table, lib, name)                                     \
    do {                                                              \
        void *address_ = find_function(lib, #name);                   \
        if (address_ == NULL)                                         \
            return;                                                   \
        (table).name = (__typeof__((table).name))address_;            \
    } while (0)


/* XGBoost */

ohlcx_xgboost_api ohlcx_xgboost;
static library xgboost = {.title = "XGBoost", .soname = OHLCX_XGBOOST_SONAME,
                          .package = OHLCX_XGBOOST_PACKAGE};
static pthread_once_t xgboost_once = PTHREAD_ONCE_INIT;


static void load_xgboost(void)
{
    if (open_library(&xgboost) != 0)
        return;
#define RESOLVE_XGBOOST(name) RESOLVE(ohlcx_xgboost, &xgboost, name);
    OHLCX_XGBOOST_FUNCTIONS(RESOLVE_XGBOOST)
#undef RESOLVE_XGBOOST
}


int ohlcx_xgboost_load(void)
{
    pthread_once(&xgboost_once, load_xgboost);
    if (xgboost.status != OHLCX_OK)
        return ohlcx_set_error(xgboost.status, "%s", xgboost.message);
    return OHLCX_OK;
}


/* OpenBLAS */

static struct {
    __typeof__(cblas_sgemm) *cblas_sgemm;
    __typeof__(openblas_get_num_threads) *openblas_get_num_threads;
    __typeof__(openblas_set_num_threads) *openblas_set_num_threads;
} openblas_api;
static library openblas = {.title = "OpenBLAS", .soname = OHLCX_OPENBLAS_SONAME,
                           .package = OHLCX_OPENBLAS_PACKAGE};
static pthread_once_t openblas_once = PTHREAD_ONCE_INIT;


static void load_openblas(void)
{
    if (open_library(&openblas) != 0)
        return;
    RESOLVE(openblas_api, &openblas, cblas_sgemm);
    RESOLVE(openblas_api, &openblas, openblas_get_num_threads);
    RESOLVE(openblas_api, &openblas, openblas_set_num_threads);
}


/* Returns 1 when OpenBLAS is loaded, without setting an error message. */
static int openblas_loaded(void)
{
    pthread_once(&openblas_once, load_openblas);
    return openblas.status == OHLCX_OK;
}


int ohlcx_openblas_load(void)
{
    if (!openblas_loaded())
        return ohlcx_set_error(openblas.status, "%s", openblas.message);
    return OHLCX_OK;
}


/* Without OpenBLAS there are no OpenBLAS threads to set, so this does
 * nothing, and the failure surfaces at the next ohlcx_openblas_load(). */
void openblas_set_num_threads(int num_threads)
{
    if (openblas_loaded())
        openblas_api.openblas_set_num_threads(num_threads);
}


/* Returns 1 without OpenBLAS, the thread count of code that runs alone. */
int openblas_get_num_threads(void)
{
    return openblas_loaded() ? openblas_api.openblas_get_num_threads() : 1;
}


/* NOTE: without OpenBLAS this prints the load error and aborts, because it
 * cannot return an error. Every caller in ohlcx runs after a successful
 * ohlcx_openblas_load(): nn_workspace_init() calls it, and `ohlcx bench`
 * trains before it times sgemm alone. */
void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER Order, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransA,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE TransB, OPENBLAS_CONST blasint M,
                 OPENBLAS_CONST blasint N, OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha,
                 OPENBLAS_CONST float *A, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float *B,
                 OPENBLAS_CONST blasint ldb, OPENBLAS_CONST float beta, float *C,
                 OPENBLAS_CONST blasint ldc)
{
    if (!openblas_loaded()) {
        fprintf(stderr, "ohlcx: error: %s\n", openblas.message);
        abort();
    }
    openblas_api.cblas_sgemm(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C,
                             ldc);
}


/* oneDNN */

#ifdef OHLCX_HAVE_DNNL
ohlcx_dnnl_api ohlcx_dnnl;
static library dnnl = {.title = "oneDNN", .soname = OHLCX_DNNL_SONAME,
                       .package = OHLCX_DNNL_PACKAGE};
static pthread_once_t dnnl_once = PTHREAD_ONCE_INIT;


static void load_dnnl(void)
{
    if (open_library(&dnnl) != 0)
        return;
#define RESOLVE_DNNL(name) RESOLVE(ohlcx_dnnl, &dnnl, name);
    OHLCX_DNNL_FUNCTIONS(RESOLVE_DNNL)
#undef RESOLVE_DNNL
}


int ohlcx_dnnl_load(void)
{
    pthread_once(&dnnl_once, load_dnnl);
    if (dnnl.status != OHLCX_OK)
        return ohlcx_set_error(dnnl.status, "%s", dnnl.message);
    return OHLCX_OK;
}
#endif
