/*
 * Streaming a series into the store: rows arrive in pieces, full chunks are
 * encoded and written as they fill, and memory stays one chunk of rows per
 * column (plus the chunk tables) whatever the length of the series.
 *
 * The column files are written into a private folder DIR/tmp/stream-<pid>-<n>,
 * where <n> counts the streams of the process, so two streams of one series
 * never share it. The writer holds an exclusive flock() on that folder while
 * the stream lives. The store lock is taken only by the commit, which checks
 * that the series still has no published version, renames the folder to
 * the series' v1 and records the series in the catalogue, as
 * ohlcx_store_append() does for a new series. A stream folder whose flock()
 * can be taken belongs to a process that died or to a stream being freed,
 * and the next ohlcx_store_open() deletes it.
 *
 * An append stream (ohlcx_store_stream_begin_append()) follows version N of
 * a stored series with rows that all open after its last bar, so nothing
 * merges. Its files start with the full chunks of version N, copied as
 * ohlcx_store_append() copies the head of a series. The rows of N's partial
 * last chunk are decoded into the buffer before the new rows, because
 * ohlcx_store_append() writes them again with the new rows as its tail. The
 * commit checks under the store lock that N is still the published version,
 * renames the folder to v<N+1>, records it and deletes vN, as
 * ohlcx_store_append() does. A process killed between the rename and the
 * catalogue update leaves what an interrupted append leaves, and the next
 * open repairs it the same way.
 *
 * The files equal those of ohlcx_store_append() with the same rows, chunk
 * for chunk (see store_column_stream_put() in column.c). Only the chunk table
 * of each file has room for the chunks of rows_max rows (and of version N's
 * rows), so the first chunk may start after unused table space.
 *
 * NOTE: one thread encodes the columns of a stream, where an append uses
 * ohlcx_store_set_threads() threads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "store/store_internal.h"
#include "util/util.h"

/* Chunks that rows_max may ask room for: 2^20 chunks of 65536 rows are
 * 6.9e10 rows, more than any file, and 40 MiB of table space per column. */
#define STREAM_MAX_CHUNKS (UINT32_C(1) << 20)

/* Names tried before a stream folder cannot be created. */
#define STREAM_FOLDER_ATTEMPTS 100

enum stream_state {
    STREAM_OPEN,      /* rows are written */
    STREAM_FAILED,    /* a write failed or returned OHLCX_WHOLE_SERIES */
    STREAM_COMMITTED, /* commit ran, whatever its result */
};

struct ohlcx_store_stream {
    ohlcx_store *store;
    char folder[STORE_PATH_MAX]; /* the series folder */
    char temp[STORE_PATH_MAX];   /* the stream folder under DIR/tmp */
    int temp_fd;                 /* the stream folder, flock()ed; -1 when none */
    ohlcx_store_reader *old;     /* the version an append follows; NULL for a new series */
    uint64_t old_rows;           /* rows of old; 0 for a new series */
    uint64_t head_rows;          /* rows of old's full chunks, copied to the new files */
    ohlcx_series buffer;         /* the rows of the partial chunk, those of old first */
    size_t buffered;             /* rows of buffer that are written; a caller may
                                    append more (ohlcx_store_stream_tail()) */
    store_column_stream *columns[OHLCX_STORE_COLUMN_COUNT]; /* NULL for absent columns */
    store_encoder *encoder;
    uint64_t rows;     /* new rows written, buffered ones included */
    uint64_t max_rows; /* new rows the chunk tables have room for */
    int64_t first_open_time; /* of the series, old rows included */
    int64_t last_open_time;
    int state;
};

static atomic_uint stream_count;


/* Stream folders. */


static int stream_root(const ohlcx_store *store, char *out)
{
    int written = snprintf(out, STORE_PATH_MAX, "%s/tmp", store->dir);

    if (written < 0 || written >= STORE_PATH_MAX)
        return ohlcx_set_error(OHLCX_EINVAL, "store folder %s is too long for its tmp folder",
                               store->dir);
    return 0;
}


/* Creates a new stream folder in out and returns its flock()ed descriptor in
 * *fd. A cleaner can take the lock between mkdir() and flock() and delete
 * the folder. The folder then has no links left, and another name is
 * tried. */
static int create_stream_folder(const ohlcx_store *store, char *out, int *fd)
{
    char root[STORE_PATH_MAX];
    int status = stream_root(store, root);

    *fd = -1;
    if (status == 0)
        status = ohlcx_make_dirs(root);
    for (int attempt = 0; status == 0 && attempt < STREAM_FOLDER_ATTEMPTS; attempt++) {
        unsigned number = atomic_fetch_add(&stream_count, 1);
        struct stat info;
        int written = snprintf(out, STORE_PATH_MAX, "%s/stream-%ld-%u", root, (long)getpid(),
                               number);

        if (written < 0 || written >= STORE_PATH_MAX)
            return ohlcx_set_error(OHLCX_EINVAL, "store folder %s is too long for a stream "
                                   "folder", store->dir);
        if (mkdir(out, 0755) != 0) {
            if (errno == EEXIST) /* left by a dead process with the same pid */
                continue;
            return ohlcx_set_error(OHLCX_EIO, "cannot create folder %s: %s", out,
                                   strerror(errno));
        }
        *fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (*fd < 0 && errno == ENOENT)
            continue;
        if (*fd < 0)
            return ohlcx_set_error(OHLCX_EIO, "cannot open folder %s: %s", out,
                                   strerror(errno));
        while (flock(*fd, LOCK_EX) != 0 && errno == EINTR)
            continue;
        if (fstat(*fd, &info) == 0 && info.st_nlink > 0)
            return 0;
        close(*fd);
        *fd = -1;
    }
    if (status == 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot create a stream folder in %s/tmp after %d "
                                 "attempts", store->dir, STREAM_FOLDER_ATTEMPTS);
    return status;
}


int store_clean_streams(const ohlcx_store *store)
{
    char root[STORE_PATH_MAX];
    struct dirent *entry;
    DIR *dir;
    int status = stream_root(store, root);

    if (status != 0)
        return status;
    dir = opendir(root);
    if (dir == NULL)
        return errno == ENOENT ? 0
                               : ohlcx_set_error(OHLCX_EIO, "cannot open folder %s: %s", root,
                                                 strerror(errno));
    while (status == 0 && (entry = readdir(dir)) != NULL) {
        char path[STORE_PATH_MAX + 256];
        int fd;

        if (strncmp(entry->d_name, "stream-", 7) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", root, entry->d_name);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue; /* deleted meanwhile, or not a folder */
        /* The lock is kept while the folder is deleted, so that a writer
         * that is just starting finds the folder unlinked once it locks. */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            status = store_remove_folder(path);
        close(fd);
    }
    closedir(dir);
    return status;
}


/* Beginning. */


/* Returns OHLCX_WHOLE_SERIES when the series has a published version. */
static int check_new_series(const char *folder)
{
    int64_t version = 0;
    int status = store_read_current(folder, &version);

    if (status == 1)
        return 0;
    return status == 0 ? OHLCX_WHOLE_SERIES : status;
}


/* Returns 1 when rows like these can follow the stored version old in a
 * stream. ohlcx_store_append() rewrites every column of a series whose
 * optional columns change (NaN for the rows that lack one), and every chunk
 * of files with another chunk size, so a stream takes neither. */
static int can_follow(const ohlcx_store_reader *old, const ohlcx_series *like, uint64_t rows_max)
{
    if (old->manifest.extra != like->extra)
        return 0;
    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++)
        if (old->present[i] && old->columns[i].chunk_rows != OHLCX_STORE_CHUNK_ROWS)
            return 0;
    return old->manifest.rows + rows_max <= (uint64_t)STREAM_MAX_CHUNKS * OHLCX_STORE_CHUNK_ROWS;
}


/* Opens the published version of the series in folder into *old, or sets
 * *old to NULL when there is none. Returns OHLCX_WHOLE_SERIES when the rows
 * cannot follow it in a stream. */
static int open_old_version(const char *folder, const ohlcx_series *like, uint64_t rows_max,
                            ohlcx_store_reader **old)
{
    int status = store_reader_open_folder(folder, old);

    if (status == 1) {
        *old = NULL;
        return 0;
    }
    if (status != 0)
        return status;
    if (!can_follow(*old, like, rows_max)) {
        ohlcx_store_reader_close(*old);
        *old = NULL;
        return OHLCX_WHOLE_SERIES;
    }
    return 0;
}


static int open_columns(ohlcx_store_stream *s, uint32_t max_chunks)
{
    store_manifest columns = {.extra = s->buffer.extra};
    uint32_t head_chunks = (uint32_t)(s->head_rows / OHLCX_STORE_CHUNK_ROWS);
    int status = 0;

    for (int i = 0; status == 0 && i < OHLCX_STORE_COLUMN_COUNT; i++) {
        store_column *head = s->old != NULL ? &s->old->columns[i] : NULL;
        char path[STORE_PATH_MAX];

        if (!store_column_written(&columns, i))
            continue;
        status = store_column_path(s->temp, i, path);
        if (status == 0)
            status = store_column_stream_open(path, store_column_type(i), max_chunks, head,
                                              head_chunks, &s->columns[i]);
    }
    return status;
}


/* Decodes the rows of old's partial last chunk into the buffer, where the
 * new rows follow them. */
static int load_old_tail(ohlcx_store_stream *s)
{
    size_t begin = (size_t)s->head_rows, end = (size_t)s->old_rows;

    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++) {
        store_column *column = &s->old->columns[i];
        int status;

        if (s->columns[i] == NULL)
            continue;
        status = store_column_read(column, begin, end, store_series_column(&s->buffer, i));
        store_column_release(column);
        if (status != 0)
            return status;
    }
    s->buffer.n = end - begin;
    s->buffered = s->buffer.n;
    return 0;
}


static int start_stream(ohlcx_store_stream *s, const ohlcx_series *like, uint64_t rows_max)
{
    uint32_t max_chunks = (uint32_t)((s->old_rows + rows_max + OHLCX_STORE_CHUNK_ROWS - 1) /
                                     OHLCX_STORE_CHUNK_ROWS);
    int status;

    snprintf(s->buffer.symbol, sizeof s->buffer.symbol, "%s", like->symbol);
    snprintf(s->buffer.timeframe, sizeof s->buffer.timeframe, "%s", like->timeframe);
    s->buffer.asset_class = like->asset_class;
    s->max_rows = (uint64_t)max_chunks * OHLCX_STORE_CHUNK_ROWS - s->old_rows;
    status = ohlcx_series_add_extra(&s->buffer, like->extra);
    if (status == 0)
        status = ohlcx_series_reserve(&s->buffer, OHLCX_STORE_CHUNK_ROWS);
    if (status == 0)
        status = store_encoder_create(&s->encoder);
    if (status == 0)
        status = create_stream_folder(s->store, s->temp, &s->temp_fd);
    if (status == 0)
        status = open_columns(s, max_chunks);
    if (status == 0 && s->old != NULL)
        status = load_old_tail(s);
    return status;
}


static int begin_stream(ohlcx_store *store, const ohlcx_series *like, uint64_t rows_max,
                        int append, ohlcx_store_stream **out)
{
    ohlcx_store_reader *old = NULL;
    ohlcx_store_stream *s;
    char folder[STORE_PATH_MAX];
    int status;

    *out = NULL;
    status = store_series_folder(store, like->symbol, like->timeframe, folder);
    if (status == 0)
        status = store_check_fields(like);
    if (status == 0 && rows_max > (uint64_t)STREAM_MAX_CHUNKS * OHLCX_STORE_CHUNK_ROWS)
        status = ohlcx_set_error(OHLCX_EINVAL, "series %s %s: %" PRIu64 " rows are more than "
                                 "a stream takes (%" PRIu64 ")", like->symbol, like->timeframe,
                                 rows_max,
                                 (uint64_t)STREAM_MAX_CHUNKS * OHLCX_STORE_CHUNK_ROWS);
    if (status == 0)
        status = append ? open_old_version(folder, like, rows_max, &old)
                        : check_new_series(folder);
    if (status != 0)
        return status;

    s = calloc(1, sizeof *s);
    if (s == NULL) {
        ohlcx_store_reader_close(old);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory streaming %s %s", like->symbol,
                               like->timeframe);
    }
    s->store = store;
    s->temp_fd = -1;
    memcpy(s->folder, folder, sizeof folder);
    ohlcx_series_init(&s->buffer);
    s->old = old;
    if (old != NULL) {
        store_reader_bounds(old, &s->old_rows, &s->first_open_time, &s->last_open_time);
        s->head_rows = s->old_rows / OHLCX_STORE_CHUNK_ROWS * OHLCX_STORE_CHUNK_ROWS;
    }
    status = start_stream(s, like, rows_max);
    if (status != 0) {
        ohlcx_store_stream_free(s);
        return status;
    }
    *out = s;
    return 0;
}


int ohlcx_store_stream_begin(ohlcx_store *store, const ohlcx_series *like, uint64_t rows_max,
                             ohlcx_store_stream **out)
{
    return begin_stream(store, like, rows_max, 0, out);
}


int ohlcx_store_stream_begin_append(ohlcx_store *store, const ohlcx_series *like,
                                    uint64_t rows_max, ohlcx_store_stream **out)
{
    return begin_stream(store, like, rows_max, 1, out);
}


/* Writing. */


/* Checks that rows belong to the stream and continue its open times.
 * Returns OHLCX_WHOLE_SERIES when the first new row of an append does not
 * open after the stored bars, so that ohlcx_store_append() merges them. */
static int check_rows(const ohlcx_store_stream *s, const ohlcx_series *rows)
{
    const ohlcx_series *like = &s->buffer;

    if (strcmp(rows->symbol, like->symbol) != 0 || strcmp(rows->timeframe, like->timeframe) != 0)
        return ohlcx_set_error(OHLCX_EINVAL, "rows of %s %s written to the stream of %s %s",
                               rows->symbol, rows->timeframe, like->symbol, like->timeframe);
    if (rows->extra != like->extra)
        return ohlcx_set_error(OHLCX_EINVAL, "series %s %s: rows with optional column bits "
                               "0x%x written to a stream begun with 0x%x",
                               like->symbol, like->timeframe, rows->extra, like->extra);
    for (size_t i = 0; i < rows->n; i++) {
        int64_t previous = i > 0 ? rows->open_time[i - 1] : s->last_open_time;

        if (i == 0 && s->rows == 0 && s->old != NULL && rows->open_time[0] <= previous)
            return OHLCX_WHOLE_SERIES;
        if ((i > 0 || s->rows > 0) && rows->open_time[i] <= previous)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "series %s %s is not strictly increasing in open time at "
                                   "row %" PRIu64 " (%" PRId64 " after %" PRId64 "): run "
                                   "ohlcx_validate_basic() before storing",
                                   like->symbol, like->timeframe, s->rows + i,
                                   rows->open_time[i], previous);
    }
    return 0;
}


/* Encodes and writes one chunk of every column, taken from rows [begin,
 * begin + count) of series. */
static int put_chunk(ohlcx_store_stream *s, const ohlcx_series *series, size_t begin,
                     size_t count)
{
    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++) {
        const uint8_t *values = store_series_column(series, i);
        size_t element = store_element_size(store_column_type(i));
        int status;

        if (s->columns[i] == NULL)
            continue;
        status = store_column_stream_put(s->columns[i], values + begin * element, count,
                                         s->encoder);
        if (status != 0)
            return status;
    }
    return 0;
}


/* Copies rows [begin, begin + count) of from to the end of the buffer. */
static void buffer_rows(ohlcx_store_stream *s, const ohlcx_series *from, size_t begin,
                        size_t count)
{
    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++) {
        size_t element = store_element_size(store_column_type(i));

        if (s->columns[i] == NULL)
            continue;
        memcpy((uint8_t *)store_series_column(&s->buffer, i) + s->buffer.n * element,
               (const uint8_t *)store_series_column(from, i) + begin * element,
               count * element);
    }
    s->buffer.n += count;
}


/* Writes full chunks straight from rows when the buffer is empty, and
 * collects the other rows in the buffer until it is a full chunk. */
static int add_rows(ohlcx_store_stream *s, const ohlcx_series *rows)
{
    size_t row = 0;

    while (row < rows->n) {
        size_t left = rows->n - row;
        size_t take = OHLCX_STORE_CHUNK_ROWS - s->buffer.n;
        int status = 0;

        if (s->buffer.n == 0 && left >= OHLCX_STORE_CHUNK_ROWS) {
            status = put_chunk(s, rows, row, OHLCX_STORE_CHUNK_ROWS);
            take = OHLCX_STORE_CHUNK_ROWS;
        } else {
            take = left < take ? left : take;
            buffer_rows(s, rows, row, take);
            if (s->buffer.n == OHLCX_STORE_CHUNK_ROWS) {
                status = put_chunk(s, &s->buffer, 0, OHLCX_STORE_CHUNK_ROWS);
                s->buffer.n = 0;
            }
        }
        if (status != 0)
            return status;
        row += take;
    }
    return 0;
}


int ohlcx_store_stream_write(ohlcx_store_stream *s, const ohlcx_series *rows)
{
    int status;

    if (s->state != STREAM_OPEN)
        return ohlcx_set_error(OHLCX_EINVAL, "stream of %s %s is %s", s->buffer.symbol,
                               s->buffer.timeframe,
                               s->state == STREAM_FAILED ? "failed" : "committed");
    if (rows->n == 0)
        return 0;
    status = check_rows(s, rows);
    if (status == 0 && s->rows + rows->n > s->max_rows)
        status = OHLCX_WHOLE_SERIES; /* beyond the room of the chunk tables */
    if (status == 0)
        status = add_rows(s, rows);
    if (status != 0) {
        s->state = STREAM_FAILED;
        return status;
    }
    if (s->rows == 0 && s->old == NULL)
        s->first_open_time = rows->open_time[0];
    s->last_open_time = rows->open_time[rows->n - 1];
    s->rows += rows->n;
    s->buffered = s->buffer.n;
    return 0;
}


ohlcx_series *ohlcx_store_stream_tail(ohlcx_store_stream *s)
{
    return &s->buffer;
}


/* Moves the rows of the buffer from row done on to its start. */
static void drop_written_rows(ohlcx_store_stream *s, size_t done)
{
    size_t left = s->buffer.n - done;

    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++) {
        size_t element = store_element_size(store_column_type(i));
        uint8_t *column = store_series_column(&s->buffer, i);

        if (s->columns[i] != NULL)
            memmove(column, column + done * element, left * element);
    }
    s->buffer.n = left;
}


int ohlcx_store_stream_flush(ohlcx_store_stream *s)
{
    ohlcx_series added = s->buffer;
    size_t done = 0;
    int status = 0;

    if (s->state != STREAM_OPEN)
        return ohlcx_set_error(OHLCX_EINVAL, "stream of %s %s is %s", s->buffer.symbol,
                               s->buffer.timeframe,
                               s->state == STREAM_FAILED ? "failed" : "committed");
    if (s->buffer.n == s->buffered)
        return 0;
    /* Only the open times of the rows added are checked. */
    added.open_time += s->buffered;
    added.n = s->buffer.n - s->buffered;
    status = check_rows(s, &added);
    if (status == 0 && s->rows + added.n > s->max_rows)
        status = OHLCX_WHOLE_SERIES; /* beyond the room of the chunk tables */
    while (status == 0 && s->buffer.n - done >= OHLCX_STORE_CHUNK_ROWS) {
        status = put_chunk(s, &s->buffer, done, OHLCX_STORE_CHUNK_ROWS);
        done += OHLCX_STORE_CHUNK_ROWS;
    }
    if (status != 0) {
        s->state = STREAM_FAILED;
        return status;
    }
    if (s->rows == 0 && s->old == NULL)
        s->first_open_time = added.open_time[0];
    s->last_open_time = added.open_time[added.n - 1];
    s->rows += added.n;
    drop_written_rows(s, done);
    s->buffered = s->buffer.n;
    return 0;
}


/* Committing. */


/* Writes the last chunk and the headers, fsyncs the files and writes the
 * manifest into the stream folder. */
static int seal_files(ohlcx_store_stream *s, const store_manifest *manifest)
{
    int status = 0;

    if (s->buffer.n > 0)
        status = put_chunk(s, &s->buffer, 0, s->buffer.n);
    for (int i = 0; status == 0 && i < OHLCX_STORE_COLUMN_COUNT; i++)
        if (s->columns[i] != NULL)
            status = store_column_stream_finish(s->columns[i]);
    if (status == 0)
        status = store_seal_version(s->temp, manifest);
    return status;
}


/* Publishes the stream folder as version 1 and records the series. The
 * caller holds the store lock. Returns OHLCX_WHOLE_SERIES when the series
 * was published meanwhile. */
static int publish_locked(ohlcx_store_stream *s, const store_manifest *manifest,
                          const store_source_record *record)
{
    store_series_state state = {manifest, manifest->rows, s->first_open_time, s->last_open_time};
    int status = store_repair_series(s->store, s->folder);

    if (status == 0)
        return OHLCX_WHOLE_SERIES;
    if (status == 1)
        status = store_catalog_delete(s->store, manifest->symbol, manifest->timeframe);
    if (status == 0)
        status = store_prepare_series_folder(s->folder);
    if (status == 0)
        status = store_publish(s->folder, s->temp, manifest->version);
    if (status == 0)
        status = store_catalog_commit(s->store, &state, record);
    return status;
}


/* Publishes the stream folder of an append as the version after s->old,
 * records it and deletes the old version, as ohlcx_store_append() does. The
 * caller holds the store lock. Returns OHLCX_WHOLE_SERIES when another
 * version was published since the stream began. Publishes nothing and sets
 * report->already_ingested when the catalogue lists the source for the
 * series, as ohlcx_store_append() does. */
static int publish_next_locked(ohlcx_store_stream *s, const store_manifest *manifest,
                               const store_source_record *record, ohlcx_append_report *report)
{
    store_series_state state = {manifest, manifest->rows, s->first_open_time, s->last_open_time};
    int64_t old_version = s->old->manifest.version, current = 0;
    char old_folder[STORE_PATH_MAX];
    int status = store_repair_series(s->store, s->folder);

    if (status == 1) { /* deleted meanwhile */
        status = store_catalog_delete(s->store, manifest->symbol, manifest->timeframe);
        return status != 0 ? status : OHLCX_WHOLE_SERIES;
    }
    if (status == 0)
        status = store_check_ingested(s->store, manifest->symbol, manifest->timeframe, record,
                                      report);
    if (status != 0)
        return status < 0 ? status : 0;
    status = store_read_current(s->folder, &current);
    if (status == 1 || (status == 0 && current != old_version))
        return OHLCX_WHOLE_SERIES;
    if (status == 0)
        status = store_publish(s->folder, s->temp, manifest->version);
    if (status != 0)
        return status;
    status = store_catalog_commit(s->store, &state, record);

    /* The old version is unreachable now. Deleting it may fail, which leaves
     * only garbage that the next open deletes. */
    if (store_version_folder(s->folder, old_version, old_folder) == 0)
        store_remove_folder(old_folder);
    return status;
}


int ohlcx_store_stream_commit(ohlcx_store_stream *s, const ohlcx_store_source *source,
                              ohlcx_append_report *report)
{
    ohlcx_append_report ignored;
    store_source_record record;
    store_manifest manifest;
    int has_record = 0, status;

    if (report == NULL)
        report = &ignored;
    memset(report, 0, sizeof *report);
    if (s->state != STREAM_OPEN)
        return ohlcx_set_error(OHLCX_EINVAL, "stream of %s %s is %s", s->buffer.symbol,
                               s->buffer.timeframe,
                               s->state == STREAM_FAILED ? "failed" : "committed");
    s->state = STREAM_COMMITTED;
    report->rows_in = (size_t)s->rows;
    if (s->rows == 0) /* like ohlcx_store_append() of an empty series */
        return 0;

    status = store_make_record(source, (size_t)s->rows, &record, &has_record);
    if (status != 0)
        return status;
    record.added = (int64_t)s->rows;
    store_build_manifest(&s->buffer, s->old != NULL ? &s->old->manifest : NULL, source,
                         s->old_rows + s->rows, s->buffer.extra, &manifest);
    if (has_record) {
        manifest.has_source = 1;
        manifest.record = record;
    }
    status = seal_files(s, &manifest);
    if (status != 0)
        return status;

    status = store_lock(s->store, 1);
    if (status != 0)
        return status;
    if (s->old == NULL)
        status = publish_locked(s, &manifest, has_record ? &record : NULL);
    else
        status = publish_next_locked(s, &manifest, has_record ? &record : NULL, report);
    store_unlock(s->store);
    if (status != 0 || report->already_ingested)
        return status;

    report->added = (size_t)s->rows;
    report->rows = (size_t)manifest.rows;
    report->version = manifest.version;
    return 0;
}


void ohlcx_store_stream_free(ohlcx_store_stream *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < OHLCX_STORE_COLUMN_COUNT; i++)
        store_column_stream_free(s->columns[i]);
    store_encoder_free(s->encoder);
    ohlcx_series_free(&s->buffer);
    ohlcx_store_reader_close(s->old);

    /* After a commit that published it, the stream folder is a version of
     * the series and its old path is gone, so this deletes nothing. Deleting
     * may fail, which leaves a folder that the next open deletes. */
    if (s->temp_fd >= 0) {
        store_remove_folder(s->temp);
        close(s->temp_fd);
    }
    free(s);
}
