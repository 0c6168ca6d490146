/*
 * Column files: mapping and checking them, decoding row ranges, and writing a
 * new file that reuses the unchanged leading chunks of an old one.
 *
 * The layout is described in store_internal.h. A mapped column checks its
 * header and chunk table once, when it is opened (magic, version, header
 * CRC-32, chunk bounds and row counts), and each chunk's CRC-32 when that
 * chunk is decoded or copied. So a corrupt byte in the header or in a chunk is
 * reported as OHLCX_EFORMAT naming the file, at the latest when its chunk is
 * read.
 */
#define _GNU_SOURCE /* sync_file_range() */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "store/store_internal.h"

/* Version 2 stores only the byte planes a chunk needs; version 1 files are
 * still read (their planes field is zero: all 8 planes). */
#define FORMAT_VERSION 2

static const char magic[8] = {'O', 'H', 'L', 'C', 'X', 'C', 'O', 'L'};


static int corrupt(const store_column *column, const char *problem)
{
    return ohlcx_set_error(OHLCX_EFORMAT,
                           "corrupt column file %s: %s; restore the store from a backup, or "
                           "delete the series folder and ingest its source files again",
                           column->path, problem);
}


static size_t header_bytes(uint32_t chunk_count)
{
    return STORE_HEADER_BYTES + (size_t)chunk_count * STORE_CHUNK_ENTRY_BYTES + 4;
}


void store_column_chunk(const store_column *column, uint32_t chunk, store_chunk *out)
{
    const uint8_t *entry = column->table + (size_t)chunk * STORE_CHUNK_ENTRY_BYTES;

    out->offset = store_get_u64(entry);
    out->bytes = store_get_u32(entry + 8);
    out->rows = store_get_u32(entry + 12);
    out->crc = store_get_u32(entry + 16);
    out->planes = store_get_u32(entry + 20);
    if (out->planes == 0)
        out->planes = 8;
    out->first = (int64_t)store_get_u64(entry + 24);
    out->last = (int64_t)store_get_u64(entry + 32);
}


static int check_fixed_header(store_column *column)
{
    const uint8_t *p = column->map;
    uint64_t expected_chunks;

    if (column->map_size < STORE_HEADER_BYTES + 4 || memcmp(p, magic, sizeof magic) != 0)
        return corrupt(column, "not an ohlcx column file (bad magic)");
    if (store_get_u32(p + 8) < 1 || store_get_u32(p + 8) > FORMAT_VERSION)
        return corrupt(column, "unknown format version");
    column->encoding = p[12];
    column->decimals = p[13];
    column->chunk_rows = store_get_u32(p + 16);
    column->chunk_count = store_get_u32(p + 20);
    column->rows = store_get_u64(p + 24);
    if (column->encoding < OHLCX_STORE_DELTA_INT64 || column->encoding > OHLCX_STORE_UINT8 ||
        column->decimals > STORE_MAX_DECIMALS)
        return corrupt(column, "unknown encoding");
    if (column->chunk_rows == 0 || column->chunk_rows > (1u << 24))
        return corrupt(column, "invalid rows per chunk");
    expected_chunks = (column->rows + column->chunk_rows - 1) / column->chunk_rows;
    if (expected_chunks != column->chunk_count)
        return corrupt(column, "chunk count does not match the row count");
    if (header_bytes(column->chunk_count) > column->map_size)
        return corrupt(column, "file shorter than its header");
    return 0;
}


static int check_chunk_table(store_column *column)
{
    size_t table_end = header_bytes(column->chunk_count) - 4;
    uint32_t stored_crc = store_get_u32(column->map + table_end);

    if (store_crc32(column->map, table_end) != stored_crc)
        return corrupt(column, "header fails its CRC-32 check");
    column->table = column->map + STORE_HEADER_BYTES;
    for (uint32_t i = 0; i < column->chunk_count; i++) {
        store_chunk chunk;
        uint64_t expected_rows = column->chunk_rows;

        store_column_chunk(column, i, &chunk);
        if (i + 1 == column->chunk_count)
            expected_rows = column->rows - (uint64_t)i * column->chunk_rows;
        if (chunk.rows != expected_rows)
            return corrupt(column, "chunk row count does not match the header");
        if (chunk.planes > 8)
            return corrupt(column, "chunk has more than 8 byte planes");
        if (chunk.offset < table_end + 4 || chunk.offset > column->map_size ||
            chunk.bytes > column->map_size - chunk.offset)
            return corrupt(column, "chunk lies outside the file");
    }
    return 0;
}


int store_column_open(store_column *column, const char *path)
{
    struct stat info;
    void *map;
    int fd, status;

    memset(column, 0, sizeof *column);
    column->cached_chunk = -1;
    snprintf(column->path, sizeof column->path, "%s", path);

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot open column file %s: %s", path,
                               strerror(errno));
    if (fstat(fd, &info) != 0 || info.st_size <= 0) {
        close(fd);
        return ohlcx_set_error(OHLCX_EFORMAT, "column file %s is empty or cannot be read", path);
    }
    map = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return ohlcx_set_error(OHLCX_EIO, "cannot map column file %s: %s", path,
                               strerror(errno));
    column->map = map;
    column->map_size = (size_t)info.st_size;

    status = check_fixed_header(column);
    if (status == 0)
        status = check_chunk_table(column);
    if (status != 0)
        store_column_close(column);
    return status;
}


void store_column_close(store_column *column)
{
    if (column->map != NULL)
        munmap((void *)column->map, column->map_size);
    column->map = NULL;
    store_column_release(column);
}


void store_column_release(store_column *column)
{
    free(column->cache);
    free(column->scratch);
    column->cache = NULL;
    column->scratch = NULL;
    column->cached_chunk = -1;
}


/* Allocates the decoding buffers on first use, so that an open reader costs
 * memory only for the columns it reads. */
static int allocate_buffers(store_column *column)
{
    size_t bytes = (size_t)column->chunk_rows * 8;

    if (column->cache == NULL)
        column->cache = malloc(bytes);
    if (column->scratch == NULL)
        column->scratch = malloc(bytes);
    if (column->cache == NULL || column->scratch == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading column file %s",
                               column->path);
    return 0;
}


static int load_chunk(store_column *column, uint32_t chunk)
{
    int status;

    if (column->cached_chunk == (int64_t)chunk)
        return 0;
    status = allocate_buffers(column);
    if (status != 0)
        return status;
    column->cached_chunk = -1;
    status = store_decode_chunk(column, chunk, column->cache);
    if (status == 0)
        column->cached_chunk = chunk;
    return status;
}


int store_column_read(store_column *column, size_t begin, size_t end, void *out)
{
    size_t element = store_element_size(column->encoding);
    uint8_t *target = out;

    if (begin > end || end > column->rows)
        return ohlcx_set_error(OHLCX_EINVAL, "rows [%zu, %zu) are outside column %s of %llu rows",
                               begin, end, column->path, (unsigned long long)column->rows);
    while (begin < end) {
        uint32_t chunk = (uint32_t)(begin / column->chunk_rows);
        size_t chunk_start = (size_t)chunk * column->chunk_rows;
        size_t chunk_end = chunk_start + column->chunk_rows;
        size_t stop = end < chunk_end ? end : chunk_end;
        int status = load_chunk(column, chunk);

        if (status != 0)
            return status;
        memcpy(target, (uint8_t *)column->cache + (begin - chunk_start) * element,
               (stop - begin) * element);
        target += (stop - begin) * element;
        begin = stop;
    }
    return 0;
}


int store_column_lower_bound(store_column *column, int64_t value, size_t *row)
{
    uint32_t low = 0, high = column->chunk_count;
    const int64_t *times;
    size_t first = 0, count;
    int status;

    /* The first chunk whose last open time is >= value contains the lower bound. */
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        store_chunk chunk;

        store_column_chunk(column, middle, &chunk);
        if (chunk.last < value)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == column->chunk_count) {
        *row = column->rows;
        return 0;
    }

    status = load_chunk(column, low);
    if (status != 0)
        return status;
    times = column->cache;
    count = low + 1 == column->chunk_count
                ? column->rows - (size_t)low * column->chunk_rows
                : column->chunk_rows;
    while (count > 0) {
        size_t half = count / 2;
        if (times[first + half] < value) {
            first += half + 1;
            count -= half + 1;
        } else {
            count = half;
        }
    }
    *row = (size_t)low * column->chunk_rows + first;
    return 0;
}


/* Writing. */


static int write_all(int fd, const void *data, size_t length, const char *path)
{
    const uint8_t *p = data;

    while (length > 0) {
        ssize_t written = write(fd, p, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", path,
                                   written < 0 ? strerror(errno) : "no progress");
        p += written;
        length -= (size_t)written;
    }
    return 0;
}


/* A column file being written: the header is built in memory while the
 * chunks stream to the file, then written at offset 0. */
typedef struct column_writer {
    const char *path;
    int fd;
    int encoding;
    int decimals;
    int head_decimals;  /* decimals of the old column's ticks; 0 without head rows */
    int tail_decimals;  /* the smallest decimals of the tail rows scanned so far */
    size_t failed_row;  /* tail row where the chunk that was not ticks starts, or
                           SIZE_MAX when it was a head chunk */
    uint32_t chunk_count;
    uint64_t rows;
    uint64_t offset;
    uint64_t data_start; /* offset of the first chunk: the end of the space left for the
                            header, which may exceed header_bytes(chunk_count) */
    uint8_t *header;
    size_t header_size;
    store_encoder *encoder;
    double *values; /* OHLCX_STORE_CHUNK_ROWS decoded old values */
} column_writer;


static void add_chunk_entry(column_writer *writer, const store_chunk *chunk)
{
    uint8_t *entry = writer->header + STORE_HEADER_BYTES +
                     (size_t)writer->chunk_count * STORE_CHUNK_ENTRY_BYTES;

    store_put_u64(entry, chunk->offset);
    store_put_u32(entry + 8, chunk->bytes);
    store_put_u32(entry + 12, chunk->rows);
    store_put_u32(entry + 16, chunk->crc);
    store_put_u32(entry + 20, chunk->planes);
    store_put_u64(entry + 24, (uint64_t)chunk->first);
    store_put_u64(entry + 32, (uint64_t)chunk->last);
    writer->chunk_count++;
    writer->rows += chunk->rows;
}


/* Writes a chunk's bytes and adds its entry; chunk->offset is set here. */
static int put_bytes(column_writer *writer, const uint8_t *bytes, store_chunk *chunk)
{
    int status = write_all(writer->fd, bytes, chunk->bytes, writer->path);

    if (status != 0)
        return status;
    chunk->offset = writer->offset;
    add_chunk_entry(writer, chunk);
    writer->offset += chunk->bytes;
    return 0;
}


static int put_values(column_writer *writer, const void *values, size_t rows)
{
    const uint8_t *bytes;
    store_chunk chunk;
    int status = store_encode_chunk(writer->encoder, writer->encoding, writer->decimals, values,
                                    rows, &bytes, &chunk);

    if (status != 0)
        return status;
    chunk.crc = store_crc32(bytes, chunk.bytes);
    return put_bytes(writer, bytes, &chunk);
}


/* Writes one full chunk of the head: copied when its encoding is unchanged,
 * else decoded (or NaN for a column the old version lacks) and encoded. */
static int put_head_chunk(column_writer *writer, store_column *old, uint32_t index)
{
    size_t rows = OHLCX_STORE_CHUNK_ROWS;
    store_chunk chunk;
    int status;

    if (old == NULL) {
        if (writer->encoding != OHLCX_STORE_TICKS && writer->encoding != OHLCX_STORE_FLOAT64)
            return ohlcx_set_error(OHLCX_EINVAL, "column %s has rows without an old column",
                                   writer->path);
        for (size_t i = 0; i < rows; i++)
            writer->values[i] = NAN;
        return put_values(writer, writer->values, rows);
    }
    store_column_chunk(old, index, &chunk);
    if (old->encoding == writer->encoding && old->decimals == writer->decimals) {
        const uint8_t *bytes = old->map + chunk.offset;
        /* Check before copying, so a corrupt chunk is never carried on. */
        if (store_crc32(bytes, chunk.bytes) != chunk.crc)
            return store_chunk_corrupt(old, index);
        return put_bytes(writer, bytes, &chunk);
    }
    status = allocate_buffers(old);
    if (status == 0)
        status = store_decode_chunk(old, index, writer->values);
    if (status == 0)
        status = put_values(writer, writer->values, chunk.rows);
    return status;
}


static int put_tail(column_writer *writer, const void *tail, size_t rows)
{
    size_t element = store_element_size(writer->encoding);
    const uint8_t *p = tail;

    for (size_t row = 0; row < rows; row += OHLCX_STORE_CHUNK_ROWS) {
        size_t take = rows - row < OHLCX_STORE_CHUNK_ROWS ? rows - row : OHLCX_STORE_CHUNK_ROWS;
        int status = put_values(writer, p + row * element, take);
        if (status == STORE_NOT_TICKS)
            writer->failed_row = row;
        if (status != 0)
            return status;
    }
    return 0;
}


static int finish_header(column_writer *writer)
{
    uint8_t *p = writer->header;
    size_t size = header_bytes(writer->chunk_count);
    size_t table_end = size - 4;

    memcpy(p, magic, sizeof magic);
    store_put_u32(p + 8, FORMAT_VERSION);
    p[12] = (uint8_t)writer->encoding;
    p[13] = (uint8_t)writer->decimals;
    p[14] = 0;
    p[15] = 0;
    store_put_u32(p + 16, OHLCX_STORE_CHUNK_ROWS);
    store_put_u32(p + 20, writer->chunk_count);
    store_put_u64(p + 24, writer->rows);
    store_put_u32(p + table_end, store_crc32(p, table_end));
    if (pwrite(writer->fd, p, size, 0) != (ssize_t)size)
        return ohlcx_set_error(OHLCX_EIO, "cannot write the header of %s: %s", writer->path,
                               strerror(errno));
    return 0;
}


/* Writes the whole file once with the writer's encoding. Returns
 * STORE_NOT_TICKS when a value does not fit the tick encoding, and sets
 * writer->failed_row. */
static int write_attempt(column_writer *writer, const store_column_plan *plan)
{
    uint32_t head_chunks = (uint32_t)(plan->head_rows / OHLCX_STORE_CHUNK_ROWS);
    int status;

    writer->chunk_count = 0;
    writer->rows = 0;
    writer->offset = writer->data_start;
    writer->failed_row = SIZE_MAX;
    if (ftruncate(writer->fd, 0) != 0 || lseek(writer->fd, (off_t)writer->offset, SEEK_SET) < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot reset %s: %s", writer->path, strerror(errno));

    for (uint32_t i = 0; i < head_chunks; i++) {
        status = put_head_chunk(writer, plan->old, i);
        if (status != 0)
            return status;
    }
    status = put_tail(writer, plan->tail, plan->tail_rows);
    if (status == 0)
        status = finish_header(writer);
    return status;
}


/* Rows at the start of the tail whose decimals set the first try of a
 * double column. Scanning the whole tail first would cost a pass over every
 * value. The encoder checks every value anyway, and raise_decimals() scans
 * the rest when a later chunk needs more. */
#define DECIMALS_SAMPLE_ROWS 512


/* Chooses the first encoding of a double column: ticks at the larger of the
 * head's decimals and those of the tail's first rows when both are ticks,
 * else float64. */
static void choose_double_encoding(const store_column_plan *plan, column_writer *writer)
{
    size_t sample = plan->tail_rows < DECIMALS_SAMPLE_ROWS ? plan->tail_rows
                                                           : DECIMALS_SAMPLE_ROWS;

    writer->tail_decimals = store_find_decimals(plan->tail, sample, 0);
    writer->head_decimals = 0;
    if (plan->head_rows > 0) {
        if (plan->old == NULL || plan->old->encoding != OHLCX_STORE_TICKS)
            writer->head_decimals = -1;
        else
            writer->head_decimals = plan->old->decimals;
    }
    if (writer->tail_decimals < 0 || writer->head_decimals < 0) {
        writer->encoding = OHLCX_STORE_FLOAT64;
        writer->decimals = 0;
        return;
    }
    writer->encoding = OHLCX_STORE_TICKS;
    writer->decimals = writer->tail_decimals > writer->head_decimals ? writer->tail_decimals
                                                                     : writer->head_decimals;
}


/* Raises the decimals of a tick column after the tail chunk at
 * writer->failed_row was not ticks, scanning the tail from that row on: the
 * rows before it are ticks at the current decimals. Returns 1 when the file
 * is to be written again with more decimals, or 0 when no decimals fit and
 * the column becomes float64. The decimals end up those that a scan of the
 * whole tail before writing would choose, so the file has the same bytes as
 * one written after such a scan. */
static int raise_decimals(column_writer *writer, const store_column_plan *plan)
{
    const double *tail = plan->tail;
    size_t row = writer->failed_row;
    int decimals;

    /* Head values are ticks at the old column's decimals, and
     * choose_double_encoding() starts at least there. So a head chunk fails
     * only when its ticks exceed 2^50 at these decimals, and more decimals
     * would make them larger still: the column becomes float64. */
    if (row == SIZE_MAX)
        return 0;
    writer->tail_decimals = store_find_decimals(tail + row, plan->tail_rows - row,
                                                writer->tail_decimals);
    if (writer->tail_decimals < 0)
        return 0;
    decimals = writer->tail_decimals > writer->head_decimals ? writer->tail_decimals
                                                             : writer->head_decimals;
    if (decimals <= writer->decimals)
        return 0;
    writer->decimals = decimals;
    return 1;
}


/* Starts the writeback of a written file now, so that it overlaps the
 * encoding of the next columns. The caller fsyncs the file before publishing
 * it. A file system without sync_file_range() gets an fsync here. */
static int start_writeback(int fd, const char *path)
{
    if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0 && fsync(fd) != 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot fsync %s: %s", path, strerror(errno));
    return 0;
}


int store_column_write(const char *path, const store_column_plan *plan, store_encoder *encoder)
{
    size_t rows = plan->head_rows + plan->tail_rows;
    uint32_t chunks = (uint32_t)((rows + OHLCX_STORE_CHUNK_ROWS - 1) / OHLCX_STORE_CHUNK_ROWS);
    column_writer writer = {.path = path, .fd = -1, .encoder = encoder};
    int status = 0;

    writer.encoding = plan->type;
    if (plan->type == OHLCX_STORE_FLOAT64)
        choose_double_encoding(plan, &writer);
    writer.header_size = header_bytes(chunks);
    writer.data_start = writer.header_size;
    writer.header = calloc(1, writer.header_size);
    writer.values = malloc((size_t)OHLCX_STORE_CHUNK_ROWS * sizeof(double));
    if (writer.header == NULL || writer.values == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", path);
        goto done;
    }
    writer.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (writer.fd < 0) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", path, strerror(errno));
        goto done;
    }

    /* Each retry raises the decimals, so there are at most
     * STORE_MAX_DECIMALS of them. */
    status = write_attempt(&writer, plan);
    while (status == STORE_NOT_TICKS && raise_decimals(&writer, plan))
        status = write_attempt(&writer, plan);
    if (status == STORE_NOT_TICKS) {
        writer.encoding = OHLCX_STORE_FLOAT64;
        writer.decimals = 0;
        status = write_attempt(&writer, plan);
    }
    if (status == 0)
        status = start_writeback(writer.fd, path);

done:
    if (writer.fd >= 0 && close(writer.fd) != 0 && status == 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot close %s: %s", path, strerror(errno));
    free(writer.header);
    free(writer.values);
    return status;
}


/* Streaming. */


/*
 * A column file written chunk by chunk, for a series whose rows arrive in
 * pieces. Its chunks are those that store_column_write() writes for the
 * same rows, with the same encoding and decimals. Only the space before the
 * first chunk differs, because it is left for max_chunks table entries.
 *
 * The file of an append starts with the first head_chunks chunks of the old
 * column (the head), written when the first chunk of new rows is put,
 * because the encoding of a double column depends on those rows too.
 *
 * A double column starts at the decimals that store_column_write() chooses,
 * from the first DECIMALS_SAMPLE_ROWS rows. When a later chunk is not ticks
 * at them, raise_decimals() finds the decimals of that chunk. The chunks
 * written so far are then decoded from the file and encoded again (or as
 * float64) into a new file that replaces the old one. A value that is a tick at d
 * decimals is one at every larger d until its tick passes 2^50 (codec.c), so
 * the decimals end as the smallest at which every row is a tick. That is
 * what store_column_write() chooses with the whole column in memory, and a
 * row whose tick passes 2^50 at them makes the column float64 in both.
 */
struct store_column_stream {
    column_writer writer;
    char path[STORE_PATH_MAX];
    char next_path[STORE_PATH_MAX + 8]; /* "<path>.new", written by a rewrite */
    store_column *head;   /* the old column of an append; NULL for a new series */
    uint32_t head_chunks; /* full chunks of head that start the file */
    uint32_t max_chunks;
    uint32_t capacity; /* chunk entries that writer.header has room for */
    int started;       /* the encoding is chosen and the head is written */
};


/* Grows the in-memory header to hold count chunk entries. */
static int reserve_entries(store_column_stream *stream, uint32_t count)
{
    uint32_t capacity = stream->capacity < 16 ? 16 : stream->capacity;
    size_t old_size = stream->writer.header != NULL ? header_bytes(stream->capacity) : 0;
    uint8_t *header;

    if (count <= stream->capacity && stream->writer.header != NULL)
        return 0;
    while (capacity < count)
        capacity = capacity > UINT32_MAX / 2 ? count : capacity * 2;
    if (capacity > stream->max_chunks)
        capacity = stream->max_chunks;
    header = realloc(stream->writer.header, header_bytes(capacity));
    if (header == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", stream->path);
    memset(header + old_size, 0, header_bytes(capacity) - old_size);
    stream->writer.header = header;
    stream->writer.header_size = header_bytes(capacity);
    stream->capacity = capacity;
    return 0;
}


static int seek_to_data(column_writer *writer)
{
    if (lseek(writer->fd, (off_t)writer->data_start, SEEK_SET) < 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot seek in %s: %s", writer->path,
                               strerror(errno));
    return 0;
}


int store_column_stream_open(const char *path, int type, uint32_t max_chunks,
                             store_column *head, uint32_t head_chunks,
                             store_column_stream **out)
{
    store_column_stream *stream = calloc(1, sizeof *stream);
    column_writer *writer;
    int status;

    *out = NULL;
    if (stream == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", path);
    writer = &stream->writer;
    writer->fd = -1;
    if (snprintf(stream->path, sizeof stream->path, "%s", path) >= (int)sizeof stream->path) {
        free(stream);
        return ohlcx_set_error(OHLCX_EINVAL, "path %s is longer than %d bytes", path,
                               STORE_PATH_MAX - 1);
    }
    snprintf(stream->next_path, sizeof stream->next_path, "%s.new", path);
    writer->path = stream->path;
    writer->encoding = type;
    writer->data_start = header_bytes(max_chunks);
    writer->offset = writer->data_start;
    writer->failed_row = SIZE_MAX;
    stream->head = head;
    stream->head_chunks = head != NULL ? head_chunks : 0;
    stream->max_chunks = max_chunks;

    status = reserve_entries(stream, 0);
    if (status == 0) {
        writer->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (writer->fd < 0)
            status = ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    if (status == 0)
        status = seek_to_data(writer);
    if (status != 0) {
        store_column_stream_free(stream);
        return status;
    }
    *out = stream;
    return 0;
}


/* Writes the chunks so far, decoded from the file, and then the new chunk
 * into <path>.new at the writer's encoding and decimals, and renames it over
 * the file. Returns STORE_NOT_TICKS, leaving the file as it was, when a
 * value is not a tick at those decimals. */
static int rewrite(store_column_stream *stream, const store_column_plan *chunk)
{
    column_writer *writer = &stream->writer;
    column_writer next = *writer;
    store_column old;
    int old_open = 0, status = 0;

    next.path = stream->next_path;
    next.chunk_count = 0;
    next.rows = 0;
    next.offset = writer->data_start;
    next.header = calloc(1, header_bytes(stream->capacity));
    next.values = malloc((size_t)OHLCX_STORE_CHUNK_ROWS * sizeof(double));
    next.fd = open(next.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (next.header == NULL || next.values == NULL)
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", next.path);
    else if (next.fd < 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", next.path, strerror(errno));
    if (status == 0)
        status = seek_to_data(&next);

    if (status == 0 && writer->chunk_count > 0) {
        status = store_column_open(&old, stream->path);
        old_open = status == 0;
    }
    for (uint32_t i = 0; status == 0 && i < writer->chunk_count; i++)
        status = put_head_chunk(&next, &old, i);
    if (status == 0)
        status = put_values(&next, chunk->tail, chunk->tail_rows);
    if (status == 0 && rename(next.path, stream->path) != 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot rename %s to %s: %s", next.path,
                                 stream->path, strerror(errno));

    if (old_open)
        store_column_close(&old);
    free(next.values);
    if (status != 0) {
        if (next.fd >= 0)
            close(next.fd);
        unlink(next.path);
        free(next.header);
        return status;
    }
    close(writer->fd);
    free(writer->header);
    writer->fd = next.fd;
    writer->header = next.header;
    writer->chunk_count = next.chunk_count;
    writer->rows = next.rows;
    writer->offset = next.offset;
    return 0;
}


/* Handles a chunk that is not ticks at the column's decimals: raises the
 * decimals or, when none fit, turns the column into float64, and writes the
 * file again with the chunk. */
static int reencode(store_column_stream *stream, const store_column_plan *chunk)
{
    column_writer *writer = &stream->writer;
    int status = 0;

    /* With its header, the file reads as the chunks so far, and a rewrite
     * decodes them from it. */
    if (writer->chunk_count > 0)
        status = finish_header(writer);
    if (status != 0)
        return status;
    writer->failed_row = 0;
    status = STORE_NOT_TICKS;
    if (raise_decimals(writer, chunk))
        status = rewrite(stream, chunk);
    if (status == STORE_NOT_TICKS) {
        writer->encoding = OHLCX_STORE_FLOAT64;
        writer->decimals = 0;
        status = rewrite(stream, chunk);
    }
    return status;
}


/* Chunks of a streamed column between two starts of its writeback. */
#define STREAM_WRITEBACK_CHUNKS 4


/* Writes the head chunks, copied when the encoding stays that of the old
 * column, else decoded and encoded again. */
static int write_head(store_column_stream *stream)
{
    column_writer *writer = &stream->writer;
    int status = 0;

    for (uint32_t i = 0; status == 0 && i < stream->head_chunks; i++)
        status = put_head_chunk(writer, stream->head, i);
    return status;
}


/* Chooses the encoding from the first chunk of new rows and the head, as
 * store_column_write() does from the first rows of its tail, and writes the
 * head chunks. */
static int start_column(store_column_stream *stream, const void *values, size_t rows)
{
    column_writer *writer = &stream->writer;
    store_column_plan plan = {writer->encoding, stream->head,
                              (size_t)stream->head_chunks * OHLCX_STORE_CHUNK_ROWS, values,
                              rows};
    int status;

    if (writer->encoding == OHLCX_STORE_FLOAT64)
        choose_double_encoding(&plan, writer);
    stream->started = 1;
    if (stream->head_chunks == 0)
        return 0;

    status = reserve_entries(stream, stream->head_chunks);
    if (status != 0)
        return status;
    writer->values = malloc((size_t)OHLCX_STORE_CHUNK_ROWS * sizeof(double));
    if (writer->values == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing %s", stream->path);
    status = write_head(stream);
    /* More decimals than the old column's can push a head tick past 2^50.
     * store_column_write() then makes the whole column float64, and so does
     * this: the head is written again as float64. */
    if (status == STORE_NOT_TICKS) {
        writer->encoding = OHLCX_STORE_FLOAT64;
        writer->decimals = 0;
        writer->chunk_count = 0;
        writer->rows = 0;
        writer->offset = writer->data_start;
        status = seek_to_data(writer);
        if (status == 0 && ftruncate(writer->fd, (off_t)writer->data_start) != 0)
            status = ohlcx_set_error(OHLCX_EIO, "cannot truncate %s: %s", writer->path,
                                     strerror(errno));
        if (status == 0)
            status = write_head(stream);
    }
    free(writer->values);
    writer->values = NULL;
    /* The head's decoding buffers are needed no more. */
    store_column_release(stream->head);
    if (status == 0)
        (void)sync_file_range(writer->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    return status;
}


int store_column_stream_put(store_column_stream *stream, const void *values, size_t rows,
                            store_encoder *encoder)
{
    column_writer *writer = &stream->writer;
    store_column_plan chunk = {OHLCX_STORE_FLOAT64, NULL, 0, values, rows};
    int status = 0;

    writer->encoder = encoder;
    if (!stream->started)
        status = start_column(stream, values, rows);
    if (status != 0)
        return status;
    if (writer->chunk_count >= stream->max_chunks)
        return ohlcx_set_error(OHLCX_EINVAL, "column file %s has room for %u chunks only",
                               stream->path, stream->max_chunks);
    status = reserve_entries(stream, writer->chunk_count + 1);
    if (status != 0)
        return status;

    status = put_values(writer, values, rows);
    if (status == STORE_NOT_TICKS)
        status = reencode(stream, &chunk);
    /* Start the writeback every STREAM_WRITEBACK_CHUNKS chunks, so that the
     * fsync of the commit finds little left to write: it took 15 ms of a
     * 20 ms commit of a 1M-row series when every chunk waited for it. Each
     * start costs a notification of the disk (a VM exit in a virtual
     * machine), hence not every chunk. An error shows again at that fsync. */
    if (status == 0 && writer->chunk_count % STREAM_WRITEBACK_CHUNKS == 0)
        (void)sync_file_range(writer->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    return status;
}


int store_column_stream_finish(store_column_stream *stream)
{
    column_writer *writer = &stream->writer;
    int status = finish_header(writer);

    if (status == 0)
        status = start_writeback(writer->fd, writer->path);
    if (close(writer->fd) != 0 && status == 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot close %s: %s", writer->path,
                                 strerror(errno));
    writer->fd = -1;
    return status;
}


void store_column_stream_free(store_column_stream *stream)
{
    if (stream == NULL)
        return;
    if (stream->writer.fd >= 0)
        close(stream->writer.fd);
    free(stream->writer.header);
    free(stream);
}
