/*
 * Parsing one delimited file on several threads.
 *
 * After the calling thread has detected the layout and skipped the lines
 * above the data, every thread, the caller included, runs the same loop:
 *   1. Under the read lock, take the next piece into the next slot of a
 *      ring. The whole lines left in the first chunk are cut into pieces of
 *      about block_bytes in place. After them, a piece is the partial line
 *      left by the piece before, copied to the front of the slot's buffer,
 *      and about block_bytes more read from the source, cut after the last
 *      '\n'. Pieces get sequence numbers in file order, and piece k takes
 *      slot k % slot_count once piece k - slot_count has left it.
 *   2. Without any lock, parse the piece into the slot's rows, with the
 *      same fast path and general row parser as one thread. Line numbers
 *      and bad rows are counted from the start of the piece.
 *   3. Mark the piece parsed. The thread that parses the oldest piece not
 *      yet committed commits it and every parsed piece after it, in file
 *      order: it turns their line numbers into file line numbers, merges
 *      their bad rows into the report, takes their rows of the output
 *      series, and then copies the rows outside the lock. No thread waits
 *      for the pieces before its own, so a thread that the system pauses
 *      holds back the others only once the ring is full.
 * Memory is slot_count (2 per thread) buffers of block_bytes or
 * FORMAT_CHUNK_BYTES, whichever is larger, with the rows parsed from them.
 * So a file of any size is never held whole, and only the output series
 * grows with it, as with one thread.
 *
 * The result equals that of one thread in every respect: the same rows in
 * the same order, the same report and the same first error, because
 *   - a piece always starts at a line start, and its first line number is
 *     known when it is committed, after every piece before it;
 *   - the first failing piece in file order sets the error, and later
 *     pieces are discarded however far their threads got;
 *   - a line of FORMAT_CHUNK_BYTES or more fails with the message of one
 *     thread, which cannot fit it in its chunk buffer.
 * Rows of one piece are independent of the rows before them only without a
 * time zone, because converting a wall-clock time looks at the open time of
 * the row before. So the reader uses one thread for files read with a tz
 * option, and for JSON files. Other delimited text takes this path, with or
 * without the fast path and compressed or not. Decompression runs on one
 * thread at a time, under the read lock, and so does the BLAKE3 of a file
 * that the reader hashes, which must see the bytes in file order.
 *
 * NOTE: a read error, such as a corrupt gzip stream, fails the read after
 * the pieces before it. Its position in the text depends on the read sizes,
 * so a bad row just before the damage may be reported by one thread count
 * and the read error by another.
 */
#define _GNU_SOURCE /* memrchr() */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/series.h"

/* Bytes read for one piece unless format_parallel_set_block_bytes() set
 * another size. */
#define PARALLEL_BLOCK_BYTES_DEFAULT ((size_t)1 << 20)

/* Threads beyond this many are not started. */
#define PARALLEL_THREADS_MAX 64

/* Bytes of an error message carried from one thread to another. */
#define PARALLEL_MESSAGE_MAX 1024

/* Piece status for a line of FORMAT_CHUNK_BYTES or more. It is positive,
 * like FORMAT_BAD_ROW, so that it cannot be taken for an OHLCX code. */
#define PARALLEL_LONG_LINE 2

static atomic_size_t parallel_block_bytes = PARALLEL_BLOCK_BYTES_DEFAULT;

/* Slots of the ring per thread: one piece being parsed and one waiting for
 * the pieces before it. */
#define PARALLEL_SLOTS_PER_THREAD 2

/* One piece in the ring: its text, its rows and its outcome. */
typedef struct parallel_slot {
    char *buffer;          /* capacity plus FORMAT_CHUNK_PADDING bytes */
    ohlcx_series rows;     /* rows of the piece */
    int free;              /* no piece uses the slot */
    int parsed;            /* the piece waits to be committed */

    size_t sequence;       /* position of the piece in the file */
    const char *text;      /* the piece: whole lines in buffer or in the first chunk */
    size_t length;
    size_t lines;          /* lines in the piece, the last one included */
    /* 0, FORMAT_BAD_ROW or PARALLEL_LONG_LINE at error_line (1-based in
     * the piece), or a negative OHLCX code with message */
    int status;
    size_t error_line;
    format_row_error error;
    char message[PARALLEL_MESSAGE_MAX];
    size_t bad_count;      /* bad rows skipped in the piece, the first ones listed in bad */
    ohlcx_bad_row bad[OHLCX_BAD_ROWS_LISTED];
} parallel_slot;

typedef struct parallel_shared {
    format_reader *reader; /* the file's reader, with the output series and report */
    size_t block_bytes;
    size_t capacity;       /* bytes of a slot buffer, without the padding */
    parallel_slot *slots;
    size_t slot_count;
    atomic_int stop;       /* a piece failed, so no more pieces are taken */

    pthread_mutex_t read_lock; /* guards the fields down to next_sequence */
    format_source *source;
    const char *carry;     /* bytes that the next piece starts with */
    size_t carry_length;
    int carry_in_chunk;    /* carry is the rest of the first chunk, not a partial line */
    int source_ended;
    int input_done;        /* nothing more to cut: the end, a read error or a long line */
    size_t next_sequence;

    pthread_mutex_t commit_lock; /* guards the fields below and the slot flags */
    pthread_cond_t changed;      /* a slot was freed or copies_running changed */
    size_t next_commit;          /* sequence of the oldest piece not committed */
    int committing;              /* a thread is committing pieces */
    size_t line_base;            /* lines of the committed pieces and above the data */
    size_t rows_placed;          /* rows of the output taken by committed pieces */
    size_t copies_running;
    int status;
    char message[PARALLEL_MESSAGE_MAX];
} parallel_shared;

/* One thread: a copy of the file's reader that writes to a slot's rows. */
typedef struct parallel_worker {
    parallel_shared *shared;
    pthread_t thread;
    format_reader reader;
    ohlcx_read_report unused_report;
} parallel_worker;


void format_parallel_set_block_bytes(size_t bytes)
{
    atomic_store(&parallel_block_bytes, bytes == 0 ? PARALLEL_BLOCK_BYTES_DEFAULT : bytes);
}


/* Reads from the source until buffer has want bytes or the source ends. */
static int fill_buffer(parallel_shared *shared, char *buffer, size_t *filled, size_t want)
{
    while (!shared->source_ended && *filled < want) {
        size_t got = 0;
        int status = format_source_read(shared->source, buffer + *filled, want - *filled, &got);

        if (status != 0)
            return status;
        if (got == 0)
            shared->source_ended = 1;
        *filled += got;
    }
    return 0;
}


/* Starts the next piece at text. The caller holds the read lock. */
static void start_piece(parallel_shared *shared, parallel_slot *slot, const char *text,
                        size_t length)
{
    slot->status = 0;
    slot->sequence = shared->next_sequence++;
    slot->text = text;
    slot->length = length;
}


/* Cuts the next piece from the whole lines left in the first chunk, which
 * stays untouched while the threads run, so that the piece needs no copy.
 * Returns 0 when only a partial line, or nothing, is left. */
static int take_chunk_piece(parallel_shared *shared, parallel_slot *slot)
{
    const char *text = shared->carry;
    size_t length = shared->carry_length;
    size_t limit = length < shared->block_bytes ? length : shared->block_bytes;
    const char *newline = limit > 0 ? memrchr(text, '\n', limit) : NULL;

    if (newline == NULL && length > limit)
        newline = memchr(text + limit, '\n', length - limit);
    if (newline == NULL)
        return 0;
    start_piece(shared, slot, text, (size_t)(newline - text) + 1);
    shared->carry += slot->length;
    shared->carry_length -= slot->length;
    return 1;
}


/* Cuts the next piece into the slot: the partial line left by the piece
 * before, then about block_bytes more read from the source, cut after the
 * last '\n'. The caller holds the read lock. Returns 1 with a piece, whose
 * status may be a read error, or 0 when the input is done. A piece without
 * a '\n' is either the last line of the file or a line too long for one
 * thread, which the parser rejects, and after which nothing more is cut. */
static int take_piece(parallel_shared *shared, parallel_slot *slot)
{
    char *buffer = slot->buffer;
    size_t filled = shared->carry_length, want = shared->block_bytes, searched = 0, cut = 0;

    if (shared->input_done)
        return 0;
    if (shared->carry_in_chunk && take_chunk_piece(shared, slot))
        return 1;
    shared->carry_in_chunk = 0;
    /* The carry is in the slot of the piece before, never in this one. */
    memcpy(buffer, shared->carry, filled);

    /* The carry is at most one partial line, so it has no '\n'. */
    for (;;) {
        size_t limit = 0;
        const char *newline = NULL;
        int status = fill_buffer(shared, buffer, &filled, want);

        if (status != 0) {
            start_piece(shared, slot, buffer, 0);
            slot->status = status;
            snprintf(slot->message, sizeof slot->message, "%s", ohlcx_last_error());
            shared->input_done = 1;
            return 1;
        }
        limit = filled < want ? filled : want;
        if (limit > searched)
            newline = memrchr(buffer + searched, '\n', limit - searched);
        if (newline != NULL) {
            cut = (size_t)(newline - buffer) + 1;
            break;
        }
        searched = limit;
        if (limit >= FORMAT_CHUNK_BYTES || (shared->source_ended && limit == filled)) {
            cut = limit;
            shared->input_done = 1;
            break;
        }
        want = want + shared->block_bytes < shared->capacity ? want + shared->block_bytes
                                                             : shared->capacity;
    }

    if (cut == 0)
        return 0; /* the source ended right after the piece before */
    /* The fast path stops at this '\0' on a last line without a '\n'. */
    buffer[filled] = '\0';
    start_piece(shared, slot, buffer, cut);
    shared->carry = buffer + cut;
    shared->carry_length = filled - cut;
    return 1;
}


/* Takes the next piece into the slot that its sequence number selects,
 * waiting until the piece before in that slot has left it. Returns the
 * slot, or NULL when the input is done or the read has failed. */
static parallel_slot *take_next_piece(parallel_shared *shared)
{
    parallel_slot *slot = NULL;
    int has_piece = 0;

    pthread_mutex_lock(&shared->read_lock);
    if (!shared->input_done && !atomic_load(&shared->stop)) {
        slot = &shared->slots[shared->next_sequence % shared->slot_count];
        pthread_mutex_lock(&shared->commit_lock);
        while (!slot->free)
            pthread_cond_wait(&shared->changed, &shared->commit_lock);
        slot->free = 0;
        pthread_mutex_unlock(&shared->commit_lock);
        has_piece = take_piece(shared, slot);
    }
    pthread_mutex_unlock(&shared->read_lock);

    if (slot != NULL && !has_piece) {
        pthread_mutex_lock(&shared->commit_lock);
        slot->free = 1;
        pthread_cond_broadcast(&shared->changed);
        pthread_mutex_unlock(&shared->commit_lock);
        slot = NULL;
    }
    return slot;
}


/* Records a bad row of the piece under OHLCX_BAD_ROWS_SKIP. */
static void skip_bad_row(parallel_slot *slot, size_t line, const format_row_error *error)
{
    if (slot->bad_count < OHLCX_BAD_ROWS_LISTED) {
        ohlcx_bad_row *listed = &slot->bad[slot->bad_count];

        listed->line = line;
        snprintf(listed->reason, sizeof listed->reason, "%s", error->reason);
    }
    slot->bad_count++;
}


/* Stops the piece at a line with the given status. */
static void stop_piece(parallel_slot *slot, int status, size_t line)
{
    slot->status = status;
    slot->error_line = line;
    if (status < 0)
        snprintf(slot->message, sizeof slot->message, "%s", ohlcx_last_error());
}


/* Parses the lines of the slot's piece into its rows, as the line loop of
 * read.c does with one thread. */
static void parse_piece(format_reader *reader, parallel_slot *slot)
{
    const char *p = slot->text, *end = slot->text + slot->length;
    size_t line = 0, plain_misses = 0;

    reader->out = &slot->rows;
    slot->rows.n = 0;
    slot->bad_count = 0;
    while (p < end) {
        const char *newline = NULL;
        size_t raw_length = 0, length = 0;
        format_row_error error;
        int status = 0;

        if (reader->plain.enabled) {
            size_t parsed = 0;

            p = format_parse_plain_span(reader, p, end, &parsed, &status);
            line += parsed;
            if (status != 0) {
                stop_piece(slot, status, line + 1);
                break;
            }
            plain_misses = parsed > 0 ? 0 : plain_misses + 1;
            if (plain_misses == FORMAT_PLAIN_MISSES_MAX)
                reader->plain.enabled = 0;
            if (p == end)
                break;
        }

        newline = memchr(p, '\n', (size_t)(end - p));
        raw_length = newline ? (size_t)(newline - p) : (size_t)(end - p);
        line++;
        if (raw_length >= FORMAT_CHUNK_BYTES) {
            stop_piece(slot, PARALLEL_LONG_LINE, line);
            break;
        }
        length = format_strip_carriage_return(p, raw_length);
        if (!format_is_blank_line(p, length))
            status = format_parse_row(reader, p, length, &error);
        p = newline ? newline + 1 : end;
        if (status == FORMAT_BAD_ROW && reader->policy == OHLCX_BAD_ROWS_SKIP) {
            skip_bad_row(slot, line, &error);
            continue;
        }
        if (status == FORMAT_BAD_ROW)
            slot->error = error;
        if (status != 0) {
            stop_piece(slot, status, line);
            break;
        }
    }
    slot->lines = line;
}


/* Fails the whole read with a message. The caller holds the commit lock. */
static void fail_read_all(parallel_shared *shared, int status, const char *message)
{
    shared->status = status;
    snprintf(shared->message, sizeof shared->message, "%s", message);
    atomic_store(&shared->stop, 1);
}


/* Adds the piece's bad rows to the report, as format_handle_bad_row()
 * does one at a time. The caller holds the commit lock. */
static int merge_bad_rows(parallel_shared *shared, const parallel_slot *slot)
{
    format_reader *reader = shared->reader;
    ohlcx_read_report *report = reader->report;
    size_t listed = slot->bad_count < OHLCX_BAD_ROWS_LISTED ? slot->bad_count
                                                            : OHLCX_BAD_ROWS_LISTED;

    if (slot->bad_count == 0)
        return 0;
    if (report->bad_row_count == 0) {
        reader->first_bad_line = shared->line_base + slot->bad[0].line;
        snprintf(reader->first_bad_reason, sizeof reader->first_bad_reason, "%s",
                 slot->bad[0].reason);
    }
    if (report->bad_rows == NULL) {
        report->bad_rows = calloc(OHLCX_BAD_ROWS_LISTED, sizeof *report->bad_rows);
        if (report->bad_rows == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory listing bad rows",
                                   reader->path);
    }
    for (size_t i = 0; i < listed && report->bad_row_count + i < OHLCX_BAD_ROWS_LISTED; i++) {
        report->bad_rows[report->bad_row_count + i] = slot->bad[i];
        report->bad_rows[report->bad_row_count + i].line += shared->line_base;
    }
    report->bad_row_count += slot->bad_count;
    return 0;
}


/* Makes room in the output for rows more. Growing moves the columns, so it
 * waits until no copy runs. The caller holds the commit lock. */
static int make_room(parallel_shared *shared, size_t rows)
{
    ohlcx_series *out = shared->reader->out;
    size_t need = shared->rows_placed + rows;

    if (need <= out->capacity)
        return 0;
    while (shared->copies_running > 0)
        pthread_cond_wait(&shared->changed, &shared->commit_lock);
    return ohlcx_series_reserve(out, need > 2 * out->capacity ? need : 2 * out->capacity);
}


/* Commits a parsed piece: fails the read with its error, or merges its bad
 * rows and takes its rows of the output from *offset on. Returns 1 when
 * its rows are to be copied, else 0. The caller holds the commit lock. */
static int merge_piece(parallel_shared *shared, const parallel_slot *slot, size_t *offset)
{
    const char *path = shared->reader->path;
    char message[PARALLEL_MESSAGE_MAX];
    size_t line = shared->line_base + slot->error_line;
    int status = slot->status;

    if (status == FORMAT_BAD_ROW) {
        snprintf(message, sizeof message, "%s:%zu:%zu: %s", path, line, slot->error.column,
                 slot->error.reason);
        fail_read_all(shared, OHLCX_EFORMAT, message);
        return 0;
    }
    if (status == PARALLEL_LONG_LINE) {
        snprintf(message, sizeof message, "%s:%zu: line is longer than %zu bytes", path, line,
                 (size_t)FORMAT_CHUNK_BYTES);
        fail_read_all(shared, OHLCX_EFORMAT, message);
        return 0;
    }
    if (status != 0) {
        fail_read_all(shared, status, slot->message);
        return 0;
    }

    status = merge_bad_rows(shared, slot);
    if (status == 0)
        status = make_room(shared, slot->rows.n);
    if (status != 0) {
        fail_read_all(shared, status, ohlcx_last_error());
        return 0;
    }
    *offset = shared->rows_placed;
    shared->rows_placed += slot->rows.n;
    shared->line_base += slot->lines;
    if (slot->rows.n == 0)
        return 0;
    shared->copies_running++;
    return 1;
}


/* Copies rows into out from row offset on. */
static void copy_rows(ohlcx_series *out, size_t offset, const ohlcx_series *rows)
{
    size_t n = rows->n;

    memcpy(out->open_time + offset, rows->open_time, n * sizeof *rows->open_time);
    memcpy(out->open + offset, rows->open, n * sizeof *rows->open);
    memcpy(out->high + offset, rows->high, n * sizeof *rows->high);
    memcpy(out->low + offset, rows->low, n * sizeof *rows->low);
    memcpy(out->close + offset, rows->close, n * sizeof *rows->close);
    memcpy(out->volume + offset, rows->volume, n * sizeof *rows->volume);
    memcpy(out->flags + offset, rows->flags, n * sizeof *rows->flags);
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        if (out->extra_column[i] != NULL)
            memcpy(out->extra_column[i] + offset, rows->extra_column[i],
                   n * sizeof *rows->extra_column[i]);
}


/* Marks the slot's piece parsed. When it is the oldest piece not yet
 * committed, commits it and the parsed pieces after it, and copies their
 * rows, unless another thread is doing that already and will find it. */
static void finish_piece(parallel_shared *shared, parallel_slot *slot)
{
    pthread_mutex_lock(&shared->commit_lock);
    slot->parsed = 1;
    while (!shared->committing) {
        parallel_slot *oldest = &shared->slots[shared->next_commit % shared->slot_count];
        size_t offset = 0;
        int copy = 0;

        /* parsed is set after sequence, so sequence is read only then. */
        if (!oldest->parsed || oldest->sequence != shared->next_commit)
            break;
        shared->committing = 1;
        if (!atomic_load(&shared->stop))
            copy = merge_piece(shared, oldest, &offset);
        shared->next_commit++;
        shared->committing = 0;

        /* The rows are copied outside the lock while the next pieces are
         * committed, by this thread or by the one that parses them. */
        if (copy) {
            pthread_mutex_unlock(&shared->commit_lock);
            copy_rows(shared->reader->out, offset, &oldest->rows);
            pthread_mutex_lock(&shared->commit_lock);
            shared->copies_running--;
        }
        oldest->parsed = 0;
        oldest->free = 1;
        pthread_cond_broadcast(&shared->changed);
    }
    pthread_mutex_unlock(&shared->commit_lock);
}


static void *run_worker(void *argument)
{
    parallel_worker *worker = argument;
    parallel_shared *shared = worker->shared;
    parallel_slot *slot = NULL;

    while ((slot = take_next_piece(shared)) != NULL) {
        if (slot->status == 0)
            parse_piece(&worker->reader, slot);
        finish_piece(shared, slot);
    }
    return NULL;
}


/* Allocates the buffers and rows of the ring. Returns 0 or OHLCX_ENOMEM. */
static int slots_new(parallel_shared *shared, size_t count)
{
    shared->slots = calloc(count, sizeof *shared->slots);
    if (shared->slots == NULL)
        return OHLCX_ENOMEM;
    shared->slot_count = count;
    for (size_t i = 0; i < count; i++) {
        parallel_slot *slot = &shared->slots[i];

        slot->free = 1;
        ohlcx_series_init(&slot->rows);
        slot->buffer = calloc(1, shared->capacity + FORMAT_CHUNK_PADDING);
        if (slot->buffer == NULL ||
            ohlcx_series_add_extra(&slot->rows, shared->reader->out->extra) != 0)
            return OHLCX_ENOMEM;
    }
    return 0;
}


static void slots_free(parallel_shared *shared)
{
    for (size_t i = 0; shared->slots != NULL && i < shared->slot_count; i++) {
        free(shared->slots[i].buffer);
        ohlcx_series_free(&shared->slots[i].rows);
    }
    free(shared->slots);
}


int format_read_parallel(format_reader *reader, format_chunks *chunks, size_t line_number,
                         int threads)
{
    parallel_worker *workers = NULL;
    parallel_shared shared;
    int started = 0, status = 0;

    memset(&shared, 0, sizeof shared);
    shared.reader = reader;
    shared.block_bytes = atomic_load(&parallel_block_bytes);
    shared.capacity = shared.block_bytes > FORMAT_CHUNK_BYTES ? shared.block_bytes
                                                              : FORMAT_CHUNK_BYTES;
    shared.source = chunks->source;
    shared.carry = chunks->data + chunks->start;
    shared.carry_length = chunks->end - chunks->start;
    shared.carry_in_chunk = 1;
    shared.source_ended = chunks->eof;
    shared.line_base = line_number;
    shared.rows_placed = reader->out->n;
    pthread_mutex_init(&shared.read_lock, NULL);
    pthread_mutex_init(&shared.commit_lock, NULL);
    pthread_cond_init(&shared.changed, NULL);

    if (threads > PARALLEL_THREADS_MAX)
        threads = PARALLEL_THREADS_MAX;
    workers = calloc((size_t)threads, sizeof *workers);
    if (workers == NULL ||
        slots_new(&shared, (size_t)threads * PARALLEL_SLOTS_PER_THREAD) != 0) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory for the read buffers",
                                 reader->path);
        goto done;
    }
    /* Every worker copies the reader before any thread starts to change
     * it. A thread that cannot start is left out, and the read goes on
     * with fewer, down to the calling thread alone. */
    for (int i = 0; i < threads; i++) {
        workers[i].shared = &shared;
        workers[i].reader = *reader;
        workers[i].reader.report = &workers[i].unused_report;
    }
    for (started = 1; started < threads; started++)
        if (pthread_create(&workers[started].thread, NULL, run_worker, &workers[started]) != 0)
            break;

    run_worker(&workers[0]);
    for (int i = 1; i < started; i++)
        pthread_join(workers[i].thread, NULL);

    if (shared.status != 0) {
        status = ohlcx_set_error(shared.status, "%s", shared.message);
        goto done;
    }
    reader->out->n = shared.rows_placed;
    reader->report->lines = shared.line_base;

done:
    slots_free(&shared);
    free(workers);
    pthread_cond_destroy(&shared.changed);
    pthread_mutex_destroy(&shared.commit_lock);
    pthread_mutex_destroy(&shared.read_lock);
    return status;
}
