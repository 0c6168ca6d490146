/*
 * Helpers shared by the CNN tests (test_nn*.c): two seeded generators of
 * test data, two-stage configurations, weight comparison, and files in a
 * temporary folder. Include after <cmocka.h>.
 *
 * The generators are the tests' own, independent of the module's, and a
 * test keeps the one it was written with, because its data (and so its
 * measured tolerances) come from that generator's sequence.
 */
#ifndef TEST_NN_HELPERS_H
#define TEST_NN_HELPERS_H

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/nn_internal.h"
#include "ohlcx/nn.h"


/* Advances a linear congruential generator and returns the top 53 bits
 * of its state. */
static inline uint64_t test_rng_next(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return *state >> 11;
}


static inline double test_uniform(uint64_t *state)
{
    return (double)test_rng_next(state) * 0x1.0p-53;
}


/* Draws a standard normal value with Box-Muller. */
static inline float test_normal(uint64_t *state)
{
    double u1 = 1.0 - test_uniform(state);
    double u2 = test_uniform(state);

    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}


/* Fills x with n standard normal values of test_normal() from seed. */
static inline void fill_normal(float *x, size_t n, uint64_t seed)
{
    uint64_t state = seed;

    for (size_t i = 0; i < n; i++)
        x[i] = test_normal(&state);
}


/* The splitmix64 generator. */
static inline uint64_t splitmix64_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}


/* Returns a uniform value in [0, 1) from the top 53 bits of
 * splitmix64_next(). */
static inline double splitmix64_uniform(uint64_t *state)
{
    return (double)(splitmix64_next(state) >> 11) * 0x1.0p-53;
}


/* Makes c a network of two stages without dilation or pooling, keeping the
 * sizes that the caller set. */
static inline void set_two_plain_stages(ohlcx_cnn_config *c)
{
    c->conv_count = 2;
    for (int i = 0; i < 2; i++) {
        c->conv[i].dilation = 1;
        c->conv[i].pool = 1;
    }
}


/* Returns 1 when a and b have the same weights and running statistics, bit
 * for bit. */
static inline int same_weights(ohlcx_cnn *a, ohlcx_cnn *b)
{
    size_t count_a = 0, count_b = 0;
    float *ra = ohlcx_cnn_running_stats(a, &count_a);
    float *rb = ohlcx_cnn_running_stats(b, &count_b);

    if (ohlcx_cnn_param_count(a) != ohlcx_cnn_param_count(b) ||
        count_a != count_b ||
        (count_a > 0 && memcmp(ra, rb, count_a * sizeof(float)) != 0))
        return 0;
    for (int block = 0; block < ohlcx_cnn_param_count(a); block++) {
        size_t size_a, size_b;
        float *wa = ohlcx_cnn_param(a, block, &size_a);
        float *wb = ohlcx_cnn_param(b, block, &size_b);

        if (size_a != size_b || memcmp(wa, wb, size_a * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}


/* The folder of the files a group of tests writes, made by the group's
 * setup and removed by its teardown. */
static char temp_dir[64];


static inline int make_temp_dir(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/ohlcx_test_nn_XXXXXX");
    return mkdtemp(temp_dir) ? 0 : -1;
}


/* Removes temp_dir and every file in it. The tests make no folders in it. */
static inline int remove_temp_dir(void **state)
{
    DIR *dir = opendir(temp_dir);
    struct dirent *entry;
    char path[512];
    (void)state;

    if (dir == NULL)
        return -1;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", temp_dir, entry->d_name);
        remove(path);
    }
    closedir(dir);
    return rmdir(temp_dir);
}


/* Group setups that select the convolution kernels for every test of the
 * group, then make the folder. */
static inline int setup_sgemm(void **state)
{
    nn_set_kernels(NN_KERNELS_SGEMM);
    return make_temp_dir(state);
}


static inline int setup_dnnl(void **state)
{
    nn_set_kernels(NN_KERNELS_DNNL);
    return make_temp_dir(state);
}


/* Runs count tests as one group on the sgemm kernels and, in builds with
 * oneDNN, as another on oneDNN, each group in a fresh temp_dir. Returns the
 * failures of both. cmocka_run_group_tests_name() is a macro that takes the
 * array itself, so this calls the function it expands to. */
static inline int run_on_each_kernel(const struct CMUnitTest *tests,
                                     size_t count)
{
    int failed = _cmocka_run_group_tests("sgemm", tests, count, setup_sgemm,
                                         remove_temp_dir);

#ifdef OHLCX_HAVE_DNNL
    failed += _cmocka_run_group_tests("onednn", tests, count, setup_dnnl,
                                      remove_temp_dir);
#endif
    return failed;
}


/* Writes the first size bytes of data to temp_dir/name and returns the path,
 * in a static buffer. */
static inline const char *write_temp_file(const char *name,
                                          const unsigned char *data,
                                          size_t size)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
    return path;
}


/* Returns the whole file at path in a malloc'd buffer and its length in
 * *size, or NULL when it cannot be read. */
static inline unsigned char *read_whole(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data;
    long length;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    length = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)length + 1);
    if (data && fread(data, 1, (size_t)length, f) != (size_t)length) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)length;
    return data;
}


/* Returns 1 when the files at a and b have the same bytes. */
static inline int same_file(const char *a, const char *b)
{
    size_t size_a = 0, size_b = 0;
    unsigned char *da = read_whole(a, &size_a);
    unsigned char *db = read_whole(b, &size_b);
    int same = da && db && size_a == size_b && memcmp(da, db, size_a) == 0;

    free(da);
    free(db);
    return same;
}

#endif
