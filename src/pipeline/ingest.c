/*
 * `ohlcx ingest`: candle files into the store, several files at a time.
 *
 * Workers hash, read and validate files in parallel. A file is identified in
 * the store by its BLAKE3, which costs a fraction of a SHA-256 (see
 * choose_digest() for stores whose records are SHA-256 digests). A plain
 * file that no stored source file matches in size is hashed from the bytes
 * its parse reads, so it is read once. Other files are hashed first, so
 * that one already stored is skipped unparsed. Every parse hashes the
 * bytes it reads, and the digest recorded is always that one. A file whose
 * parsed bytes differ from those hashed first (it was replaced or rewritten
 * in between) is rejected. So the catalogue never pairs one version's
 * digest with another version's bars. Calls on the store handle are
 * serialised by one mutex, because a handle is for one thread at a time,
 * and the store's own lock admits one writer process.
 *
 * A file with its rows in order that starts a new series, or that follows
 * the stored bars of its series, streams when the checks can take it batch
 * by batch (see ohlcx_check_stream_begin()). Its batches of rows are
 * checked and written as they are parsed, so memory does not grow with the
 * file (see "The streaming path" below). Any other file is read whole.
 * Each worker keeps one file's bars in memory at a time, so memory grows
 * with the largest such file and the worker count, not with the number of
 * files.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/store.h"
#include "pipeline/internal.h"
#include "util/util.h"

typedef struct ingest_job {
    const ohlcx_ingest_options *options;
    char **files;
    size_t file_count;
    uint64_t total_bytes;
    ohlcx_store *store;
    pthread_mutex_t lock; /* guards store, summary, progress and the slots */
    ohlcx_ingest_summary summary;
    ohlcx_progress progress;
    char progress_label[128];
    size_t files_done;      /* files finished, failed ones included */
    int jobs;               /* worker threads */
    int *status;            /* per file */
    char (*message)[1024];  /* per file, the error of a failed file */
    atomic_size_t next;
    atomic_int failed;      /* set on the first failure: no new files start */
    ohlcx_check_options check_options; /* the repair policy */
} ingest_job;


/* Returns the count of the repair called name, 0 when it is not listed. */
static size_t repair_count(const ohlcx_quality_report *quality, const char *name)
{
    for (size_t i = 0; i < quality->repair_count; i++)
        if (strcmp(quality->repairs[i].name, name) == 0)
            return quality->repairs[i].count;
    return 0;
}


/* Builds the quality summary recorded in the catalogue for one file: the
 * check report plus the file, its skipped rows and the store's conflicts. */
static char *quality_json(const pipeline_series *series, const ohlcx_quality_report *quality,
                          const ohlcx_append_report *report)
{
    char *report_text = NULL, *text = NULL;
    cJSON *root;

    if (ohlcx_quality_report_json(quality, &report_text) != 0)
        return NULL;
    root = cJSON_Parse(report_text);
    free(report_text);
    if (root == NULL)
        return NULL;
    cJSON_AddStringToObject(root, "file", series->bars.source_path);
    cJSON_AddNumberToObject(root, "rows_read", (double)series->read.rows_read);
    cJSON_AddNumberToObject(root, "bad_rows_skipped", (double)series->read.bad_row_count);
    cJSON_AddNumberToObject(root, "conflicts", (double)report->conflicts);
    cJSON_AddNumberToObject(root, "synthetic_replaced", (double)report->synthetic_replaced);
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}


/* Logs the skipped rows, the verdict and every repair of one file. */
static void log_quality(const pipeline_series *series, const ohlcx_quality_report *quality)
{
    char repairs[512] = "";
    size_t used = 0;

    for (size_t i = 0; i < series->read.bad_row_count && i < OHLCX_BAD_ROWS_LISTED; i++)
        ohlcx_log_warn("%s:%zu: skipped row: %s", series->bars.source_path,
                       series->read.bad_rows[i].line, series->read.bad_rows[i].reason);
    for (size_t i = 0; i < quality->repair_count && used < sizeof repairs; i++) {
        if (quality->repairs[i].count == 0)
            continue;
        used += (size_t)snprintf(repairs + used, sizeof repairs - used, "%s%s %zu",
                                 used ? ", " : "", quality->repairs[i].name,
                                 quality->repairs[i].count);
    }
    ohlcx_log_info("%s: %s %s, %zu row%s read, %zu unparseable row%s skipped, quality %s, "
                   "%.2f%% bars missing%s%s",
                   series->bars.source_path, series->bars.symbol, series->bars.timeframe,
                   series->read.rows_read, ohlcx_plural(series->read.rows_read),
                   series->read.bad_row_count, ohlcx_plural(series->read.bad_row_count),
                   ohlcx_verdict_name(quality->verdict), 100 * quality->missing_ratio,
                   used ? "; repairs: " : "", repairs);
}


static void log_conflicts(const char *path, const ohlcx_append_report *report)
{
    for (size_t i = 0; i < report->conflicts_listed; i++) {
        const ohlcx_store_bar *stored = &report->conflict[i].stored;
        const ohlcx_store_bar *incoming = &report->conflict[i].incoming;
        char time_text[20];

        ohlcx_format_datetime(stored->open_time, time_text);
        ohlcx_log_warn("%s: conflict at %s: stored OHLCV %.10g %.10g %.10g %.10g %.10g, file "
                       "%.10g %.10g %.10g %.10g %.10g; kept the stored bar",
                       path, time_text, stored->open, stored->high, stored->low, stored->close,
                       stored->volume, incoming->open, incoming->high, incoming->low,
                       incoming->close, incoming->volume);
    }
    if (report->conflicts > report->conflicts_listed)
        ohlcx_log_warn("%s: %zu more conflicting bars", path,
                       report->conflicts - report->conflicts_listed);
}


/* Logs and records what an append of one file did, and adds it to the
 * summary. series names the file and its read; its bars may be empty (a
 * streamed file). The caller holds job->lock. */
static int record_file(ingest_job *job, const pipeline_series *series,
                       const ohlcx_quality_report *quality, ohlcx_append_report report)
{
    char *summary, synthetic[128];
    int status;

    if (report.already_ingested) {
        job->summary.files++;
        job->summary.already_ingested++;
        ohlcx_log_info("%s: already ingested, skipped", series->bars.source_path);
        return 0;
    }
    log_quality(series, quality);
    synthetic[0] = '\0';
    if (report.synthetic_replaced > 0 || report.synthetic_skipped > 0)
        snprintf(synthetic, sizeof synthetic,
                 ", %zu stored synthetic bar%s replaced, %zu synthetic bar%s not stored over "
                 "real ones",
                 report.synthetic_replaced, ohlcx_plural(report.synthetic_replaced),
                 report.synthetic_skipped, ohlcx_plural(report.synthetic_skipped));
    ohlcx_log_info("%s: %zu bar%s added, %zu identical, %zu conflicting%s; %s %s has %zu bar%s",
                   series->bars.source_path, report.added, ohlcx_plural(report.added),
                   report.identical, report.conflicts, synthetic, series->bars.symbol,
                   series->bars.timeframe, report.rows, ohlcx_plural(report.rows));
    log_conflicts(series->bars.source_path, &report);

    summary = quality_json(series, quality, &report);
    if (summary == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory recording quality");
    status = ohlcx_store_set_quality(job->store, series->bars.symbol, series->bars.timeframe,
                                     summary);
    free(summary);

    job->summary.files++;
    job->summary.rows_read += series->read.rows_read;
    job->summary.bad_rows += series->read.bad_row_count;
    job->summary.rows_dropped += repair_count(quality, "dropped_duplicates") +
                                 repair_count(quality, "dropped_conflicts") +
                                 repair_count(quality, "dropped_invalid");
    job->summary.rows_filled += repair_count(quality, "filled_gaps");
    job->summary.rows_added += report.added;
    job->summary.rows_identical += report.identical;
    job->summary.conflicts += report.conflicts;
    job->summary.synthetic_replaced += report.synthetic_replaced;
    return status;
}


/* Appends one validated file to the store and records it. The caller holds
 * job->lock. */
static int store_file(ingest_job *job, pipeline_series *series,
                      const ohlcx_quality_report *quality, int64_t size, const char *digest)
{
    ohlcx_store_source source = {series->bars.source_path, digest, size, series->read.layout};
    ohlcx_append_report report;
    int status = ohlcx_store_append(job->store, &series->bars, &source, &report);

    return status != 0 ? status : record_file(job, series, quality, report);
}


static void update_progress(ingest_job *job, size_t files_done, uint64_t bytes_done)
{
    double elapsed = ohlcx_now_seconds() - job->progress.started;
    double rate = elapsed > 0 ? (double)job->summary.rows_read / elapsed : 0;

    snprintf(job->progress_label, sizeof job->progress_label,
             "ingest: %zu/%zu file%s, %.1f MB, %.0f rows/s", files_done, job->file_count,
             ohlcx_plural(job->file_count), (double)bytes_done / 1e6, rate);
    ohlcx_progress_update(&job->progress, (double)bytes_done, (double)job->total_bytes);
}


/* Sets *skip when the store already has the file's bytes under its name.
 * Such a file is skipped unread. The same bytes under another name, or with
 * --symbol or --timeframe, may belong to another series: the file is read,
 * and the store checks the digest for that series alone. */
static int check_stored(ingest_job *job, const char *path, const char *digest, int *skip)
{
    int status = 0;

    *skip = 0;
    pthread_mutex_lock(&job->lock);
    if (job->options->symbol == NULL && job->options->timeframe == NULL)
        status = ohlcx_store_has_source_named(job->store, digest, path, skip);
    if (status == 0 && *skip) {
        job->summary.files++;
        job->summary.already_ingested++;
        ohlcx_log_info("%s: already ingested, skipped", path);
    }
    pthread_mutex_unlock(&job->lock);
    return status;
}


/* Writes the SHA-256 and the BLAKE3 of one read of a file, so that both
 * name the same bytes even if the file changes. NOTE: the whole file is
 * read into memory. Only files with the size of a SHA-256 record (a store
 * of an earlier version) come here. */
static int hash_file_both(const char *path, char sha256[65], char blake3[65])
{
    char *bytes = NULL, *grown;
    size_t used = 0, capacity = 1 << 16;
    int fd = open(path, O_RDONLY | O_CLOEXEC), status = 0;

    if (fd < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));
    for (;;) {
        ssize_t got;

        if (used == capacity || bytes == NULL) {
            capacity = bytes == NULL ? capacity : capacity * 2;
            grown = realloc(bytes, capacity);
            if (grown == NULL) {
                status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory hashing %s", path);
                goto done;
            }
            bytes = grown;
        }
        got = read(fd, bytes + used, capacity - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            status = ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        if (got == 0)
            break;
        used += (size_t)got;
    }
    ohlcx_sha256_hex(bytes, used, sha256);
    ohlcx_blake3_hex(bytes, used, blake3);

done:
    free(bytes);
    close(fd);
    return status;
}


/*
 * Writes the digest that identifies a file in the store: "sha256:HEX" when
 * the store records the file by its SHA-256, else "blake3:HEX". Stores
 * written before ingest used BLAKE3 contain only SHA-256 digests, so a file
 * with the size of such a record is hashed with SHA-256 first: re-ingesting
 * it is then still a no-op, at the cost of one SHA-256. Other files pay for
 * one BLAKE3 (or none, when parsed_blake3 gives it) and one catalogue query.
 * blake3 gets the BLAKE3 of the bytes that digest names, for comparison with
 * the bytes that the parse reads.
 */
static int choose_digest(ingest_job *job, const char *path, int64_t size,
                         const char *parsed_blake3, char digest[OHLCX_STORE_DIGEST_MAX],
                         char blake3[65])
{
    char hex[65];
    int found = 0, legacy = 0, status;

    pthread_mutex_lock(&job->lock);
    status = ohlcx_store_has_source_size_digest(job->store, size, "sha256", &legacy);
    pthread_mutex_unlock(&job->lock);
    if (status != 0)
        return status;

    if (legacy) {
        status = hash_file_both(path, hex, blake3);
        if (status != 0)
            return status;
        snprintf(digest, OHLCX_STORE_DIGEST_MAX, "sha256:%s", hex);
        pthread_mutex_lock(&job->lock);
        status = ohlcx_store_has_source(job->store, digest, &found);
        pthread_mutex_unlock(&job->lock);
        if (status != 0 || found)
            return status;
    } else if (parsed_blake3 != NULL) {
        snprintf(blake3, 65, "%s", parsed_blake3);
    } else {
        status = ohlcx_blake3_file(path, blake3);
        if (status != 0)
            return status;
    }
    snprintf(digest, OHLCX_STORE_DIGEST_MAX, "blake3:%s", blake3);
    return 0;
}


/* Rejects a file whose parse read other bytes than those hashed for its
 * digest (hashed_blake3), or changed while the parse read it
 * (parsed_blake3 ""). The store is left unchanged for it. */
static int check_unchanged(const char *path, const char *hashed_blake3,
                           const char *parsed_blake3)
{
    if (parsed_blake3[0] != '\0' && strcmp(hashed_blake3, parsed_blake3) == 0)
        return 0;
    return ohlcx_set_error(OHLCX_EIO, "%s changed while ingest read it: run ingest again", path);
}


/* Returns 1 when the file is hashed as it is parsed: no stored source file
 * has its size, so it cannot be one already stored, and parsing it before
 * its digest is known wastes nothing. */
static int hash_while_parsing(ingest_job *job, int64_t size)
{
    int found = 1;

    pthread_mutex_lock(&job->lock);
    if (ohlcx_store_has_source_size(job->store, size, &found) != 0)
        found = 1; /* hash first, as when the size matches */
    pthread_mutex_unlock(&job->lock);
    return !found;
}


/* Rejects a file whose rows the checks all dropped. */
static int reject_empty(const char *path, size_t rows_read)
{
    if (rows_read == 1)
        return ohlcx_set_error(OHLCX_EDATA, "%s: no valid rows: its 1 row was dropped by the "
                               "checks (run ohlcx check on the file to see why)", path);
    return ohlcx_set_error(OHLCX_EDATA, "%s: no valid rows: all %zu rows were dropped by the "
                           "checks (run ohlcx check on the file to see why)", path, rows_read);
}


/* Reads, checks and stores one file whole: every bar in memory at once.
 * digest and hashed_blake3 are set when the file was hashed first (hashing
 * 0), else found here from the parse. */
static int ingest_whole(ingest_job *job, size_t i, int hashing, char *digest,
                        char *hashed_blake3)
{
    const ohlcx_ingest_options *options = job->options;
    ohlcx_read_options read_options = {
        .symbol = options->symbol, .timeframe = options->timeframe, .bad_rows = options->bad_rows};
    ohlcx_layout_options layout = {.columns = options->columns, .tz = options->tz};
    char parsed_blake3[65] = "";
    pipeline_series series;
    ohlcx_quality_report quality;
    int64_t parsed_size = 0;
    int status = 0, skip = 0, read_threads;

    memset(&series, 0, sizeof series);
    memset(&quality, 0, sizeof quality);
    ohlcx_series_init(&series.bars);

    /* Threads left over when there are fewer files than jobs parse the
     * file's pieces together. The parse hashes the bytes it reads (a gzip
     * or zstd file's compressed bytes from the same open file), so the
     * digest stored names the bars stored. */
    read_threads = job->file_count < (size_t)job->jobs ? job->jobs / (int)job->file_count : 1;
    status = ohlcx_read_candles_file_digest(job->files[i], &read_options, &layout, read_threads,
                                            &series.bars, &series.read, parsed_blake3,
                                            &parsed_size);
    /* A file hashed only by its parse is compared with its own digest, so
     * it fails only when the read saw the file change and gave no digest. */
    if (status == 0)
        status = check_unchanged(job->files[i], hashing ? parsed_blake3 : hashed_blake3,
                                 parsed_blake3);
    /* The checks repair the bars: sorted, duplicates and invalid rows
     * dropped, short gaps filled with flagged synthetic bars. */
    if (status == 0)
        status = ohlcx_check_series(&series.bars, &job->check_options, &quality);
    if (status == 0 && series.bars.n == 0)
        status = reject_empty(job->files[i], series.read.rows_read);
    /* Another file with the same bytes may have been stored meanwhile. A
     * SHA-256 record of the file's size (a store of an earlier version)
     * makes choose_digest() read the file again: its bytes must be those
     * parsed. */
    if (hashing && status == 0)
        status = choose_digest(job, job->files[i], parsed_size, parsed_blake3, digest,
                               hashed_blake3);
    if (hashing && status == 0)
        status = check_unchanged(job->files[i], hashed_blake3, parsed_blake3);
    if (hashing && status == 0)
        status = check_stored(job, job->files[i], digest, &skip);
    if (status == 0 && !skip) {
        pthread_mutex_lock(&job->lock);
        status = store_file(job, &series, &quality, parsed_size, digest);
        pthread_mutex_unlock(&job->lock);
    }
    ohlcx_quality_report_free(&quality);
    ohlcx_series_free(&series.bars);
    ohlcx_read_report_free(&series.read);
    return status;
}


/*
 * The streaming path. The file is parsed in batches of STREAM_BATCH_ROWS
 * rows into one reused series. Each batch is checked and repaired by a
 * check stream and written by a store stream, so memory does not grow with
 * the file, and no column of the whole file is ever allocated. It covers the
 * common cases, a new series whose rows come in order and the next bars of
 * a stored series (see ohlcx_check_stream_begin() and
 * ohlcx_store_stream_begin_append()). Anything else makes a part return
 * OHLCX_WHOLE_SERIES: what the stream wrote is deleted unseen and the file
 * takes the whole-series path, with the same result. A stored series is
 * never read whole here: the store copies its full chunks and decodes its
 * last one.
 *
 * A file that has two threads to itself is parsed on one while the other
 * checks and stores: batches pass between them through STREAM_SLOTS
 * series whose columns are swapped with the reader's, not copied.
 */
#define STREAM_BATCH_ROWS 16384
#define STREAM_SLOTS 3

typedef struct stream_file {
    ingest_job *job;
    size_t index;               /* of the file in job->files */
    uint64_t rows_max;          /* bound of the rows, for the store's chunk tables */
    ohlcx_check_stream *checks;
    ohlcx_store_stream *writer;
    ohlcx_series names;         /* names the series in the records; no rows */
    size_t rows_stored;
    /* Hand-over between the reading thread and the storing one. */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    ohlcx_series slot[STREAM_SLOTS];
    size_t queue[STREAM_SLOTS]; /* full slots in order, from queue_head */
    size_t queue_head, queue_count;
    int free_slot[STREAM_SLOTS];
    int read_done;              /* the reader returned read_status */
    int read_status;
    char read_message[1024];    /* its error, set on the reader's thread */
    int store_status;           /* first failure of the storing side */
    ohlcx_read_ahead *ahead;    /* the storing side faults the file in while it waits */
    /* Results of the read. */
    ohlcx_read_report read;
    char parsed_blake3[65];
    int64_t parsed_size;
} stream_file;


/* Starts the check and store streams on the first batch, which names the
 * series. */
static int stream_start(stream_file *file, const ohlcx_series *rows)
{
    ingest_job *job = file->job;
    int status = ohlcx_check_stream_begin(rows, &job->check_options, &file->checks);

    if (status != 0)
        return status;
    memcpy(file->names.symbol, rows->symbol, sizeof file->names.symbol);
    memcpy(file->names.timeframe, rows->timeframe, sizeof file->names.timeframe);
    memcpy(file->names.source_path, rows->source_path, sizeof file->names.source_path);
    file->names.asset_class = rows->asset_class;
    pthread_mutex_lock(&job->lock);
    status = ohlcx_store_stream_begin_append(job->store, rows, file->rows_max, &file->writer);
    pthread_mutex_unlock(&job->lock);
    return status;
}


/* Checks one batch and writes its repaired rows: the check stream appends
 * them to the store stream's partial chunk, so they are copied once. */
static int stream_store_batch(stream_file *file, const ohlcx_series *rows)
{
    ohlcx_series *tail;
    size_t before;
    int status = 0;

    if (file->checks == NULL)
        status = stream_start(file, rows);
    if (status != 0)
        return status;
    tail = ohlcx_store_stream_tail(file->writer);
    before = tail->n;
    status = ohlcx_check_stream_push(file->checks, rows, tail);
    file->rows_stored += tail->n - before;
    if (status == 0)
        status = ohlcx_store_stream_flush(file->writer);
    return status;
}


/* The sink of a file read on the thread that stores it. */
static int stream_sink_inline(void *arg, ohlcx_series *rows)
{
    return stream_store_batch(arg, rows);
}


/* Exchanges the rows of a and b (columns, counts), leaving the names. */
static void swap_rows(ohlcx_series *a, ohlcx_series *b)
{
    ohlcx_series t = *a;

    a->n = b->n;
    a->capacity = b->capacity;
    a->open_time = b->open_time;
    a->open = b->open;
    a->high = b->high;
    a->low = b->low;
    a->close = b->close;
    a->volume = b->volume;
    a->flags = b->flags;
    a->extra = b->extra;
    memcpy(a->extra_column, b->extra_column, sizeof a->extra_column);
    b->n = t.n;
    b->capacity = t.capacity;
    b->open_time = t.open_time;
    b->open = t.open;
    b->high = t.high;
    b->low = t.low;
    b->close = t.close;
    b->volume = t.volume;
    b->flags = t.flags;
    b->extra = t.extra;
    memcpy(b->extra_column, t.extra_column, sizeof b->extra_column);
}


/* The sink of a file read on its own thread: hands the batch to the storing
 * thread in a free slot, whose empty columns the reader goes on with. */
static int stream_sink_handover(void *arg, ohlcx_series *rows)
{
    stream_file *file = arg;
    size_t k = 0;
    int status = 0;

    pthread_mutex_lock(&file->lock);
    for (;;) {
        if (file->store_status != 0)
            break;
        for (k = 0; k < STREAM_SLOTS && !file->free_slot[k]; k++)
            ;
        if (k < STREAM_SLOTS)
            break;
        pthread_cond_wait(&file->changed, &file->lock);
    }
    status = file->store_status;
    if (status == 0) {
        ohlcx_series *slot = &file->slot[k];

        pthread_mutex_unlock(&file->lock);
        /* A slot gets the reader's names and columns on first use. */
        if (slot->capacity < rows->capacity || slot->extra != rows->extra) {
            memcpy(slot->symbol, rows->symbol, sizeof slot->symbol);
            memcpy(slot->timeframe, rows->timeframe, sizeof slot->timeframe);
            memcpy(slot->source_path, rows->source_path, sizeof slot->source_path);
            slot->asset_class = rows->asset_class;
            status = ohlcx_series_add_extra(slot, rows->extra);
            if (status == 0)
                status = ohlcx_series_reserve(slot, rows->capacity);
        }
        pthread_mutex_lock(&file->lock);
        if (status == 0) {
            swap_rows(rows, slot);
            file->free_slot[k] = 0;
            file->queue[(file->queue_head + file->queue_count) % STREAM_SLOTS] = k;
            file->queue_count++;
            pthread_cond_broadcast(&file->changed);
        }
    }
    pthread_mutex_unlock(&file->lock);
    return status;
}


static int stream_read(stream_file *file, ohlcx_rows_sink sink)
{
    const ohlcx_ingest_options *options = file->job->options;
    ohlcx_read_options read_options = {
        .symbol = options->symbol, .timeframe = options->timeframe, .bad_rows = options->bad_rows};
    ohlcx_layout_options layout = {.columns = options->columns, .tz = options->tz};
    ohlcx_series rows;
    int status;

    ohlcx_series_init(&rows);
    status = ohlcx_read_candles_stream_ahead(file->job->files[file->index], &read_options,
                                             &layout, STREAM_BATCH_ROWS, sink, file,
                                             file->ahead, &rows, &file->read,
                                             file->parsed_blake3, &file->parsed_size);
    ohlcx_series_free(&rows);
    return status;
}


static void *stream_reader_thread(void *argument)
{
    stream_file *file = argument;
    int status = stream_read(file, stream_sink_handover);

    pthread_mutex_lock(&file->lock);
    file->read_done = 1;
    file->read_status = status;
    if (status < 0)
        snprintf(file->read_message, sizeof file->read_message, "%s", ohlcx_last_error());
    pthread_cond_broadcast(&file->changed);
    pthread_mutex_unlock(&file->lock);
    return NULL;
}


/* Stores the batches that the reader thread hands over until it is done,
 * then returns the first failure of either side. While no batch waits, it
 * faults in the pages that the reader comes to next. */
static int stream_store_handed(stream_file *file)
{
    pthread_mutex_lock(&file->lock);
    for (;;) {
        size_t k;
        int status;

        while (file->queue_count == 0 && !file->read_done) {
            int stepped;

            pthread_mutex_unlock(&file->lock);
            stepped = ohlcx_read_ahead_step(file->ahead);
            pthread_mutex_lock(&file->lock);
            if (!stepped && file->queue_count == 0 && !file->read_done)
                pthread_cond_wait(&file->changed, &file->lock);
        }
        if (file->queue_count == 0)
            break;
        k = file->queue[file->queue_head];
        pthread_mutex_unlock(&file->lock);
        status = file->store_status == 0 ? stream_store_batch(file, &file->slot[k]) : 0;
        pthread_mutex_lock(&file->lock);
        if (status != 0 && file->store_status == 0)
            file->store_status = status;
        file->queue_head = (file->queue_head + 1) % STREAM_SLOTS;
        file->queue_count--;
        file->free_slot[k] = 1;
        pthread_cond_broadcast(&file->changed);
    }
    pthread_mutex_unlock(&file->lock);
    /* The reader stops at the storing side's failure with that status, so
     * the storing side's status comes first. Error messages are per thread:
     * the reader's is set again on this one. */
    if (file->store_status != 0)
        return file->store_status;
    if (file->read_status < 0)
        return ohlcx_set_error(file->read_status, "%s", file->read_message);
    return file->read_status;
}


/* Reads, checks and writes the file's batches, on two threads when
 * threads > 1. */
static int stream_batches(stream_file *file, int threads)
{
    pthread_t reader;
    int status;

    if (threads < 2)
        return stream_read(file, stream_sink_inline);
    for (size_t k = 0; k < STREAM_SLOTS; k++)
        file->free_slot[k] = 1;
    status = ohlcx_read_ahead_create(&file->ahead);
    if (status != 0)
        return status;
    if (pthread_create(&reader, NULL, stream_reader_thread, file) != 0) {
        status = stream_read(file, stream_sink_inline);
    } else {
        status = stream_store_handed(file);
        pthread_join(reader, NULL);
    }
    ohlcx_read_ahead_free(file->ahead);
    file->ahead = NULL;
    return status;
}


/* Finishes the checks and publishes the streamed series, as ingest_whole()
 * does after its read. */
static int stream_commit(stream_file *file, int hashing, char *digest, char *hashed_blake3)
{
    ingest_job *job = file->job;
    const char *path = job->files[file->index];
    ohlcx_series *tail = ohlcx_store_stream_tail(file->writer);
    size_t before = tail->n;
    ohlcx_quality_report quality;
    ohlcx_append_report report;
    int status, skip = 0;

    memset(&quality, 0, sizeof quality);
    status = ohlcx_check_stream_finish(file->checks, tail, &quality);
    file->rows_stored += tail->n - before;
    if (status == 0)
        status = ohlcx_store_stream_flush(file->writer);
    if (status == 0)
        status = check_unchanged(path, hashing ? file->parsed_blake3 : hashed_blake3,
                                 file->parsed_blake3);
    if (status == 0 && file->rows_stored == 0)
        status = reject_empty(path, file->read.rows_read);
    if (hashing && status == 0)
        status = choose_digest(job, path, file->parsed_size, file->parsed_blake3, digest,
                               hashed_blake3);
    if (hashing && status == 0)
        status = check_unchanged(path, hashed_blake3, file->parsed_blake3);
    if (hashing && status == 0)
        status = check_stored(job, path, digest, &skip);
    if (status == 0 && !skip) {
        ohlcx_store_source source = {path, digest, file->parsed_size, file->read.layout};
        pipeline_series series;

        memset(&series, 0, sizeof series);
        series.bars = file->names;
        series.bars.n = 0;
        series.read = file->read;
        pthread_mutex_lock(&job->lock);
        status = ohlcx_store_stream_commit(file->writer, &source, &report);
        if (status == 0)
            status = record_file(job, &series, &quality, report);
        pthread_mutex_unlock(&job->lock);
    }
    ohlcx_quality_report_free(&quality);
    return status;
}


/* Returns the streaming setting: 0 never, 1 when the file allows it (the
 * default), 2 always, failing where the file needs the whole-series path.
 * OHLCX_INGEST_STREAM=0 (or off, no, false), 1 or require sets it; tests use
 * it to run both paths. */
static int stream_setting(void)
{
    const char *value = getenv("OHLCX_INGEST_STREAM");

    if (value == NULL || value[0] == '\0')
        return 1;
    if (strcmp(value, "require") == 0)
        return 2;
    return strcmp(value, "0") != 0 && strcasecmp(value, "off") != 0 &&
           strcasecmp(value, "no") != 0 && strcasecmp(value, "false") != 0;
}


/* Returns an upper bound of the rows that a file of size bytes gives. Data
 * lines are at least 16 bytes (a 10-digit epoch and five one-digit numbers
 * with their delimiters), and each of them may bring up to
 * PIPELINE_MAX_FILL_GAP filled bars. A compressed file, known by its first
 * bytes as the reader knows it, is taken to hold at most 16 times its size.
 * A bound too low only sends the file to the whole-series path. */
static uint64_t stream_rows_max(const char *path, int64_t size)
{
    uint64_t bytes = (uint64_t)(size > 0 ? size : 0) * (ohlcx_file_is_compressed(path) ? 16 : 1);

    return bytes / 16 * (1 + PIPELINE_MAX_FILL_GAP) + OHLCX_STORE_CHUNK_ROWS;
}


/* Streams one file into the store. Returns OHLCX_WHOLE_SERIES, with nothing
 * stored or recorded, when it needs the whole-series path. */
static int ingest_streamed(ingest_job *job, size_t i, int64_t size, int hashing, char *digest,
                           char *hashed_blake3)
{
    stream_file file;
    int threads = job->file_count < (size_t)job->jobs ? job->jobs / (int)job->file_count : 1;
    int status;

    memset(&file, 0, sizeof file);
    file.job = job;
    file.index = i;
    file.rows_max = stream_rows_max(job->files[i], size);
    ohlcx_series_init(&file.names);
    for (size_t k = 0; k < STREAM_SLOTS; k++)
        ohlcx_series_init(&file.slot[k]);
    pthread_mutex_init(&file.lock, NULL);
    pthread_cond_init(&file.changed, NULL);

    status = stream_batches(&file, threads);
    if (status == 0)
        status = stream_commit(&file, hashing, digest, hashed_blake3);

    ohlcx_check_stream_free(file.checks);
    ohlcx_store_stream_free(file.writer);
    ohlcx_series_free(&file.names);
    for (size_t k = 0; k < STREAM_SLOTS; k++)
        ohlcx_series_free(&file.slot[k]);
    ohlcx_read_report_free(&file.read);
    pthread_cond_destroy(&file.changed);
    pthread_mutex_destroy(&file.lock);
    return status;
}


static int ingest_file(ingest_job *job, size_t i)
{
    char digest[OHLCX_STORE_DIGEST_MAX] = "", hashed_blake3[65] = "";
    struct stat info;
    int status = 0, skip = 0, hashing, streaming = stream_setting();

    if (stat(job->files[i], &info) != 0)
        info.st_size = 0;
    /* A pipe would hang: ingest opens a file several times (kind, digest,
     * parse), and the first close of a pipe ends its writer. */
    else if (!S_ISREG(info.st_mode))
        return ohlcx_set_error(OHLCX_EINVAL, "%s: not a regular file (a pipe, device or "
                                             "socket): ingest reads its input more than once, "
                                             "so save the data to a file first",
                               job->files[i]);
    hashing = hash_while_parsing(job, (int64_t)info.st_size);
    if (!hashing) {
        status = choose_digest(job, job->files[i], (int64_t)info.st_size, NULL, digest,
                               hashed_blake3);
        if (status == 0)
            status = check_stored(job, job->files[i], digest, &skip);
        if (status != 0 || skip)
            return status;
    }
    if (streaming) {
        status = ingest_streamed(job, i, (int64_t)info.st_size, hashing, digest, hashed_blake3);
        if (status == OHLCX_WHOLE_SERIES && streaming == 2)
            return ohlcx_set_error(OHLCX_EINVAL, "%s: OHLCX_INGEST_STREAM=require, but the file "
                                   "needs the whole-series path", job->files[i]);
        if (status != OHLCX_WHOLE_SERIES)
            return status;
    }
    return ingest_whole(job, i, hashing, digest, hashed_blake3);
}


static void *ingest_worker(void *argument)
{
    ingest_job *job = argument;
    size_t i;

    while (!atomic_load(&job->failed) && (i = atomic_fetch_add(&job->next, 1)) < job->file_count) {
        struct stat info;

        job->status[i] = ingest_file(job, i);
        pthread_mutex_lock(&job->lock);
        if (job->status[i] != 0) {
            snprintf(job->message[i], sizeof job->message[i], "%s", ohlcx_last_error());
            atomic_store(&job->failed, 1);
        }
        job->files_done++;
        if (stat(job->files[i], &info) == 0)
            job->summary.bytes += (uint64_t)info.st_size;
        update_progress(job, job->files_done, job->summary.bytes);
        pthread_mutex_unlock(&job->lock);
    }
    return NULL;
}


static uint64_t total_size(char *const *files, size_t count)
{
    uint64_t total = 0;

    for (size_t i = 0; i < count; i++) {
        struct stat info;
        if (stat(files[i], &info) == 0)
            total += (uint64_t)info.st_size;
    }
    return total;
}


int ohlcx_ingest(const ohlcx_ingest_options *options, ohlcx_ingest_summary *summary)
{
    ingest_job job;
    pthread_t threads[64];
    int jobs = options->jobs > 0 ? options->jobs : pipeline_default_jobs();
    int started = 0, status;

    memset(&job, 0, sizeof job);
    job.options = options;
    ohlcx_check_options_default(&job.check_options);
    job.check_options.policy = OHLCX_POLICY_REPAIR;
    job.check_options.max_fill_gap = PIPELINE_MAX_FILL_GAP;
    job.check_options.now_us = ohlcx_wall_time_us();
    pthread_mutex_init(&job.lock, NULL);
    status = ohlcx_expand_inputs(options->inputs, options->input_count, &job.files,
                                 &job.file_count);
    if (status != 0)
        goto done;
    if ((options->symbol || options->timeframe) && job.file_count != 1) {
        status = ohlcx_set_error(OHLCX_EINVAL,
                                 "--symbol and --timeframe apply to one input file, but %zu "
                                 "files were given: name the files SYMBOL-TIMEFRAME.csv instead",
                                 job.file_count);
        goto done;
    }
    status = ohlcx_store_open(options->store_dir, &job.store);
    if (status != 0)
        goto done;
    job.status = calloc(job.file_count, sizeof *job.status);
    job.message = calloc(job.file_count, sizeof *job.message);
    if (job.status == NULL || job.message == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory ingesting %zu files",
                                 job.file_count);
        goto done;
    }
    job.total_bytes = total_size(job.files, job.file_count);
    ohlcx_log_info("ingesting %zu file%s (%.1f MB) into %s on %d thread%s", job.file_count,
                   ohlcx_plural(job.file_count), (double)job.total_bytes / 1e6, options->store_dir,
                   jobs, ohlcx_plural((size_t)jobs));

    ohlcx_progress_start(&job.progress, job.progress_label);
    /* Threads beyond one a file hash files beside their parse and write
     * column files in parallel. */
    job.jobs = jobs;
    ohlcx_store_set_threads(job.store, jobs);
    if ((size_t)jobs > job.file_count)
        jobs = (int)job.file_count;
    if (jobs > 64)
        jobs = 64;
    for (; started < jobs - 1; started++)
        if (pthread_create(&threads[started], NULL, ingest_worker, &job) != 0)
            break;
    ingest_worker(&job);
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    ohlcx_progress_finish(&job.progress);

    for (size_t i = 0; i < job.file_count; i++) {
        if (job.status[i] != 0) {
            status = ohlcx_set_error(job.status[i], "%s", job.message[i]);
            break;
        }
    }

done:
    /* summary->files counts the files stored or skipped as already
     * ingested: every input file unless one failed. */
    if (summary != NULL)
        *summary = job.summary;
    ohlcx_store_close(job.store);
    ohlcx_free_strings(job.files, job.file_count);
    free(job.status);
    free(job.message);
    pthread_mutex_destroy(&job.lock);
    return status;
}
