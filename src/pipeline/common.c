/*
 * Pieces shared by training and prediction: the layout of an XGBoost row, the
 * CNN group of a series, thread settings and unnamed scratch files.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "pipeline/internal.h"


void pipeline_fill_row(const pipeline_series *series, size_t t, const float *embedding,
                       int hidden, float *row)
{
    const float *features = series->features + t * series->feature_width;
    int column = 0;

    for (int i = 0; i < hidden; i++)
        row[column++] = embedding[i];
    for (size_t i = 0; i < series->feature_width; i++)
        row[column++] = features[i];
    row[column++] = (float)ohlcx_timeframe_id(series->bars.timeframe);
    row[column] = (float)series->bars.asset_class;
}


size_t pipeline_column_count(int hidden, const pipeline_higher *higher)
{
    return (size_t)hidden + pipeline_feature_width(higher) + PIPELINE_ID_COLUMNS;
}


const char *pipeline_column_name(int i, int hidden, const pipeline_higher *higher, char *buffer,
                                 size_t size)
{
    int features = (int)pipeline_feature_width(higher);

    if (i < hidden)
        snprintf(buffer, size, "cnn_embedding_%d", i);
    else if (i < hidden + OHLCX_FEATURE_COUNT)
        snprintf(buffer, size, "%s", ohlcx_feature_name(i - hidden));
    else if (i == hidden + features - 1 && higher->debug_leak != OHLCX_DEBUG_LEAK_NONE)
        snprintf(buffer, size, "%s", PIPELINE_LEAK_COLUMN);
    else if (i < hidden + features) {
        int column = i - hidden - OHLCX_FEATURE_COUNT;

        /* The timeframes are canonical, so only a short buffer makes the
         * name fail. The buffer is then left empty. */
        if (ohlcx_higher_feature_name(higher->timeframes[column / OHLCX_FEATURE_COUNT],
                                      column % OHLCX_FEATURE_COUNT, buffer, size) != 0 &&
            size > 0)
            buffer[0] = '\0';
    } else if (i == hidden + features)
        snprintf(buffer, size, "timeframe_id");
    else
        snprintf(buffer, size, "asset_class_id");
    return buffer;
}


const char *pipeline_cnn_mode_name(int cnn_mode)
{
    switch (cnn_mode) {
    case OHLCX_CNN_GLOBAL: return "global";
    case OHLCX_CNN_PER_MARKET: return "per-market";
    default: return "per-symbol";
    }
}


int pipeline_cnn_mode_parse(const char *name)
{
    static const int modes[] = {OHLCX_CNN_PER_SYMBOL, OHLCX_CNN_GLOBAL, OHLCX_CNN_PER_MARKET};

    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (strcmp(name, pipeline_cnn_mode_name(modes[i])) == 0)
            return modes[i];
    return -1;
}


const char *pipeline_lr_schedule_name(int schedule)
{
    switch (schedule) {
    case OHLCX_LR_STEP: return "step";
    case OHLCX_LR_COSINE: return "cosine";
    default: return "constant";
    }
}


int pipeline_lr_schedule_parse(const char *name)
{
    static const int schedules[] = {OHLCX_LR_CONSTANT, OHLCX_LR_STEP, OHLCX_LR_COSINE};

    for (size_t i = 0; i < sizeof schedules / sizeof *schedules; i++)
        if (strcmp(name, pipeline_lr_schedule_name(schedules[i])) == 0)
            return schedules[i];
    return -1;
}


const char *pipeline_cnn_group_key(int cnn_mode, const ohlcx_series *bars)
{
    if (cnn_mode == OHLCX_CNN_GLOBAL)
        return "global";
    if (cnn_mode == OHLCX_CNN_PER_MARKET)
        return ohlcx_asset_class_name(bars->asset_class);
    return bars->symbol;
}


int pipeline_cnn_embed(const ohlcx_cnn *cnn, const float *x, int32_t symbol_id, size_t n,
                       float *prob, float *embedding)
{
    enum { CHUNK = 256 };
    const ohlcx_cnn_config *config = ohlcx_cnn_get_config(cnn);
    size_t sample = (size_t)config->channels * (size_t)config->window;
    int32_t ids[CHUNK];
    int status = 0;

    if (symbol_id < 0)
        return ohlcx_cnn_predict(cnn, x, n, prob, embedding);
    for (size_t i = 0; i < CHUNK; i++)
        ids[i] = symbol_id;
    for (size_t start = 0; start < n && status == 0; start += CHUNK) {
        size_t count = n - start < CHUNK ? n - start : CHUNK;

        status = ohlcx_cnn_predict_ids(cnn, x + start * sample, ids, count,
                                       prob != NULL ? prob + start : NULL,
                                       embedding != NULL ?
                                           embedding + start * (size_t)config->hidden : NULL);
    }
    return status;
}


void pipeline_set_blas_threads(int jobs)
{
    openblas_set_num_threads(jobs < 1 ? 1 : jobs);
}


int pipeline_default_jobs(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    return cores < 1 ? 1 : (int)cores;
}


/* Opens an unnamed file in folder: with O_TMPFILE, or where the file system
 * lacks it, with mkstemp() and an unlink() right after. Returns the
 * descriptor, or -1 with errno set.
 * NOTE: no test runs the mkstemp() path, as the file systems of the tests
 * (ext4, tmpfs) support O_TMPFILE. */
static int open_unnamed(const char *folder)
{
    char path[OHLCX_PATH_MAX + 32];
    int fd = open(folder, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    /* Kernels and file systems without O_TMPFILE fail with EISDIR (the flag
     * reads as O_DIRECTORY there), EOPNOTSUPP or EINVAL. */
    if (fd >= 0 || (errno != EISDIR && errno != EOPNOTSUPP && errno != EINVAL))
        return fd;
    if (snprintf(path, sizeof path, "%s/.ohlcx-scratch-XXXXXX", folder) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (unlink(path) != 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}


/* Fails with OHLCX_EIO for a scratch file that cannot be written to its
 * size, naming the folder and that size. */
static int scratch_write_error(const pipeline_scratch *scratch, int error)
{
    const char *advice = "check that folder's file system";

    if (error == ENOSPC || error == EDQUOT)
        advice = "free that much space there or write the run to another --out folder";
    else if (error == EFBIG)
        advice = "raise the file size limit (ulimit -f) or write the run to another --out "
                 "folder";
    return ohlcx_set_error(OHLCX_EIO,
                           "cannot write %llu bytes (%.1f MiB) to a scratch file in %s: %s: %s",
                           (unsigned long long)scratch->size,
                           (double)scratch->size / (1024.0 * 1024.0), scratch->folder,
                           strerror(error), advice);
}


int pipeline_scratch_open(const char *folder, uint64_t size, pipeline_scratch *out)
{
    int error;

    out->fd = -1;
    out->size = size;
    snprintf(out->folder, sizeof out->folder, "%s", folder);
    out->fd = open_unnamed(folder);
    if (out->fd < 0)
        return ohlcx_set_error(OHLCX_EIO,
                               "cannot create a scratch file in %s: %s: check that the folder "
                               "exists and is writable",
                               folder, strerror(errno));
    if (size == 0)
        return 0;
    /* posix_fallocate() returns the error instead of setting errno. Where
     * the file system cannot reserve blocks, glibc writes zeros instead. */
    error = posix_fallocate(out->fd, 0, (off_t)size);
    if (error != 0) {
        pipeline_scratch_close(out);
        return scratch_write_error(out, error);
    }
    return 0;
}


int pipeline_scratch_write(const pipeline_scratch *scratch, const void *data, size_t bytes,
                           uint64_t offset)
{
    const char *next = data;

    while (bytes > 0) {
        ssize_t written = pwrite(scratch->fd, next, bytes, (off_t)offset);

        if (written < 0 && errno == EINTR)
            continue;
        /* A write of 0 bytes makes no progress: report it as a full disk. */
        if (written <= 0)
            return scratch_write_error(scratch, written < 0 ? errno : ENOSPC);
        next += written;
        bytes -= (size_t)written;
        offset += (uint64_t)written;
    }
    return 0;
}


int pipeline_scratch_read(const pipeline_scratch *scratch, void *data, size_t bytes,
                          uint64_t offset)
{
    char *next = data;

    while (bytes > 0) {
        ssize_t got = pread(scratch->fd, next, bytes, (off_t)offset);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return ohlcx_set_error(OHLCX_EIO,
                                   "cannot read byte %llu of the scratch file in %s: %s",
                                   (unsigned long long)offset, scratch->folder,
                                   strerror(errno));
        if (got == 0)
            return ohlcx_set_error(OHLCX_EIO,
                                   "cannot read byte %llu of the scratch file in %s: the file "
                                   "ends there",
                                   (unsigned long long)offset, scratch->folder);
        next += got;
        bytes -= (size_t)got;
        offset += (uint64_t)got;
    }
    return 0;
}


void pipeline_scratch_close(pipeline_scratch *scratch)
{
    if (scratch->fd >= 0)
        close(scratch->fd);
    scratch->fd = -1;
}
