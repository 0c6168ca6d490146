/*
 * Loading: read, validate and hash every input file, and fill or record its
 * gaps (gaps.c), in parallel. The optional columns of a source (quote
 * volume, trades, taker volumes) are dropped once its gaps are filled.
 *
 * Each worker takes the next file index from a shared counter and writes only
 * its own slot, so the result is the same whatever the thread count. Error
 * messages are thread-local, so a worker copies its message into the slot and
 * the caller reports the first failing file in list order.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "pipeline/internal.h"
#include "util/util.h"

typedef struct load_job {
    char *const *files;
    size_t file_count;
    const char *symbol;
    const char *timeframe;
    int bad_rows;
    const ohlcx_layout_options *layout;
    pipeline_series *series;
    int *status;
    char (*message)[1024];
    atomic_size_t next;
} load_job;


static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}


/* Warns when the bars are much closer together than the timeframe implies,
 * such as hourly bars in a file named ETHUSDT-1d.csv. Gaps (weekends,
 * closed hours) only make the spacing longer, so only a shorter median
 * spacing is reported. */
static void warn_if_spacing_differs(const ohlcx_series *bars)
{
    int64_t timeframe_us = ohlcx_timeframe_us(bars->timeframe);
    size_t count = bars->n > 1 ? bars->n - 1 : 0;
    int64_t *steps;

    if (count < 3 || timeframe_us <= 0)
        return;
    steps = malloc(count * sizeof *steps);
    if (steps == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        steps[i] = bars->open_time[i + 1] - bars->open_time[i];
    qsort(steps, count, sizeof *steps, compare_int64);
    if (steps[count / 2] * 2 <= timeframe_us)
        ohlcx_log_warn("%s: bars are a median of %" PRId64 " seconds apart, but the timeframe "
                       "%s is %" PRId64 " seconds: check the file name or pass --timeframe",
                       bars->source_path, steps[count / 2] / 1000000, bars->timeframe,
                       timeframe_us / 1000000);
    free(steps);
}


static int load_one(load_job *job, size_t i)
{
    pipeline_series *slot = &job->series[i];
    ohlcx_read_options options = {
        .symbol = job->symbol, .timeframe = job->timeframe, .bad_rows = job->bad_rows};
    int status;

    status = ohlcx_read_candles_ex(job->files[i], &options, job->layout, &slot->bars,
                                   &slot->read);
    if (status == 0)
        status = ohlcx_validate_basic(&slot->bars, &slot->validation);
    if (status == 0)
        warn_if_spacing_differs(&slot->bars);
    if (status == 0)
        status = pipeline_repair_gaps(slot);
    if (status == 0)
        pipeline_drop_extra_columns(&slot->bars);
    if (status == 0)
        status = ohlcx_sha256_file(job->files[i], slot->sha256);
    return status;
}


static void *load_worker(void *argument)
{
    load_job *job = argument;
    size_t i;

    while ((i = atomic_fetch_add(&job->next, 1)) < job->file_count) {
        job->status[i] = load_one(job, i);
        if (job->status[i] != 0)
            snprintf(job->message[i], sizeof job->message[i], "%s", ohlcx_last_error());
    }
    return NULL;
}


int pipeline_load(char *const *files, size_t file_count, const char *symbol,
                  const char *timeframe, int bad_rows, const ohlcx_layout_options *layout,
                  int jobs, pipeline_series **out)
{
    load_job job = {.files = files, .file_count = file_count, .symbol = symbol,
                    .timeframe = timeframe, .bad_rows = bad_rows, .layout = layout};
    pthread_t threads[64];
    int thread_count = jobs;

    if (thread_count < 1)
        thread_count = 1;
    if (thread_count > 64)
        thread_count = 64;
    int status = 0;

    if ((size_t)thread_count > file_count)
        thread_count = (int)file_count;
    job.series = calloc(file_count, sizeof *job.series);
    job.status = calloc(file_count, sizeof *job.status);
    job.message = calloc(file_count, sizeof *job.message);
    if (job.series == NULL || job.status == NULL || job.message == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory loading %zu files", file_count);
        goto done;
    }
    for (size_t i = 0; i < file_count; i++)
        ohlcx_series_init(&job.series[i].bars);

    /* The calling thread is one of the workers. */
    int started = 0;
    for (; started < thread_count - 1; started++)
        if (pthread_create(&threads[started], NULL, load_worker, &job) != 0)
            break;
    load_worker(&job);
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);

    for (size_t i = 0; i < file_count; i++) {
        if (job.status[i] != 0) {
            status = ohlcx_set_error(job.status[i], "%s", job.message[i]);
            break;
        }
    }

done:
    if (status != 0 && job.series != NULL) {
        pipeline_free_series(job.series, file_count);
        job.series = NULL;
    }
    free(job.status);
    free(job.message);
    *out = job.series;
    return status;
}


void pipeline_drop_extra_columns(ohlcx_series *bars)
{
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++) {
        free(bars->extra_column[i]);
        bars->extra_column[i] = NULL;
    }
    bars->extra = 0;
}


void pipeline_free_series(pipeline_series *series, size_t count)
{
    if (series == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        ohlcx_series_free(&series[i].bars);
        ohlcx_read_report_free(&series[i].read);
        free(series[i].features);
        free(series[i].long_gap_rows);
    }
    free(series);
}


/* Writes ", N bars filled in K short gaps" and ", K gaps longer than N bars
 * left open (M bars missing)" into text, each only when its count is above
 * 0. */
static void describe_gaps(const pipeline_series *series, char *text, size_t size)
{
    size_t used = 0;

    text[0] = '\0';
    if (series->short_gaps > 0)
        used += (size_t)snprintf(text, size, ", %zu bars filled in %zu short gap%s",
                                 series->bars_filled, series->short_gaps,
                                 series->short_gaps == 1 ? "" : "s");
    if (series->long_gaps > 0 && used < size)
        snprintf(text + used, size - used,
                 ", %zu gap%s longer than %d bars left open (%zu bars missing)",
                 series->long_gaps, series->long_gaps == 1 ? "" : "s", PIPELINE_MAX_FILL_GAP,
                 series->long_gap_bars);
}


void pipeline_log_drops(const pipeline_series *series)
{
    const ohlcx_validation *validation = &series->validation;
    char reasons[512] = "", gaps[160];
    size_t used = 0;

    for (size_t i = 0; i < series->read.bad_row_count && i < OHLCX_BAD_ROWS_LISTED; i++)
        ohlcx_log_warn("%s:%zu: skipped row: %s", series->bars.source_path,
                       series->read.bad_rows[i].line, series->read.bad_rows[i].reason);
    if (series->read.bad_row_count > OHLCX_BAD_ROWS_LISTED)
        ohlcx_log_warn("%s: %zu more rows skipped", series->bars.source_path,
                       series->read.bad_row_count - OHLCX_BAD_ROWS_LISTED);

    for (int reason = 0; reason < OHLCX_DROP_REASON_COUNT; reason++) {
        if (validation->dropped[reason] == 0 || used >= sizeof reasons)
            continue;
        used += (size_t)snprintf(reasons + used, sizeof reasons - used, "%s%s %zu",
                                 used ? ", " : "", ohlcx_drop_reason_name(reason),
                                 validation->dropped[reason]);
    }
    describe_gaps(series, gaps, sizeof gaps);
    ohlcx_log_info("%s: %s %s, %zu row%s read, %zu unparseable row%s skipped, "
                   "%zu dropped%s%s%s%s%s",
                   series->bars.source_path, series->bars.symbol, series->bars.timeframe,
                   series->read.rows_read, ohlcx_plural(series->read.rows_read),
                   series->read.bad_row_count, ohlcx_plural(series->read.bad_row_count),
                   ohlcx_validation_dropped(validation), used ? " (" : "", reasons,
                   used ? ")" : "", validation->was_unsorted ? ", rows sorted by time" : "",
                   gaps);
}
