/*
 * Byte sources: a candle file read as plain text, gzip or zstd, recognised
 * by the first bytes (1f 8b for gzip, 28 b5 2f fd for zstd) whatever the
 * file is called. All three stream: zlib's gzread() and libzstd's
 * ZSTD_decompressStream() fill the caller's buffer a piece at a time, so
 * memory does not grow with the file. Concatenated gzip members and zstd
 * frames are read one after another.
 *
 * The file is opened once, and a gzip stream decodes a duplicate of the
 * descriptor that recognised it. So every byte read, and any digest taken
 * through the source, comes from one file, even when another file is
 * renamed over the path meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "util/util.h"

enum source_kind { SOURCE_PLAIN = 0, SOURCE_GZIP, SOURCE_ZSTD };

struct format_source {
    const char *path;
    int kind;
    FILE *file;     /* the open file, of every kind */
    gzFile gzip;
    ZSTD_DCtx *zstd;
    char *input;    /* compressed bytes for zstd */
    ZSTD_inBuffer in;
    size_t input_capacity;
    size_t last_result; /* last ZSTD_decompressStream() result: 0 at a frame end */
    int input_eof;
    ohlcx_blake3 *hasher; /* receives the file's bytes; NULL when unused */
    int hash_whole_file;  /* hasher also takes compressed files and the bytes after
                             the parse */
    int changed;          /* the file changed on disk while it was read */
    uint64_t hashed;      /* bytes added to hasher */
    int plain_eof;        /* a plain read found the end of the file */
    struct stat opened;   /* the file as it was when opened */
    char *map;            /* the mapped file, followed by zero pages; NULL if read */
    size_t map_size;      /* bytes of the file mapped */
    size_t map_length;    /* bytes of the whole mapping */
    size_t map_released;  /* bytes from the start whose pages were given back */
    size_t page_size;
    struct ohlcx_read_ahead *ahead; /* faults the mapping in from another thread, or NULL */
};


static void release_bus_handler(void);
static void detach_ahead(format_source *source);


static int open_failed(const char *path)
{
    return ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));
}


/* Returns the enum source_kind of a file that starts with the got bytes of
 * magic (up to 4). */
static int kind_of(const unsigned char *magic, size_t got)
{
    if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        return SOURCE_GZIP;
    if (got == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f &&
        magic[3] == 0xfd)
        return SOURCE_ZSTD;
    return SOURCE_PLAIN;
}


static int detect_kind(FILE *file, int *kind)
{
    unsigned char magic[4] = {0, 0, 0, 0};
    size_t got = fread(magic, 1, sizeof magic, file);

    *kind = kind_of(magic, got);
    return fseek(file, 0, SEEK_SET);
}


int ohlcx_file_is_compressed(const char *path)
{
    unsigned char magic[4] = {0, 0, 0, 0};
    FILE *file = fopen(path, "rb");
    size_t got = 0;

    if (file == NULL)
        return 0;
    got = fread(magic, 1, sizeof magic, file);
    fclose(file);
    return kind_of(magic, got) != SOURCE_PLAIN;
}


static int open_zstd(format_source *source)
{
    source->zstd = ZSTD_createDCtx();
    source->input_capacity = ZSTD_DStreamInSize();
    source->input = malloc(source->input_capacity);
    if (source->zstd == NULL || source->input == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory starting zstd", source->path);
    source->in.src = source->input;
    source->in.size = 0;
    source->in.pos = 0;
    return 0;
}


/* Opens the gzip stream on a duplicate of the open descriptor, rewound:
 * detect_kind() rewound only the FILE's buffer, not the shared offset. */
static int open_gzip(format_source *source)
{
    int fd = dup(fileno(source->file));

    if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        errno = saved;
        return open_failed(source->path);
    }
    source->gzip = gzdopen(fd, "rb");
    if (source->gzip == NULL) {
        close(fd);
        return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory starting gzip", source->path);
    }
    gzbuffer(source->gzip, 1 << 17);
    return 0;
}


int format_source_open(const char *path, format_source **out)
{
    format_source *source = calloc(1, sizeof *source);
    int status = 0;

    *out = NULL;
    if (source == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory opening the file", path);
    source->path = path;
    source->file = fopen(path, "rb");
    if (source->file == NULL) {
        status = open_failed(path);
        goto fail;
    }
    if (detect_kind(source->file, &source->kind) != 0) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }

    if (fstat(fileno(source->file), &source->opened) != 0) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot stat %s: %s", path, strerror(errno));
        goto fail;
    }

    if (source->kind == SOURCE_GZIP) {
        status = open_gzip(source);
        if (status != 0)
            goto fail;
    } else if (source->kind == SOURCE_ZSTD) {
        status = open_zstd(source);
        if (status != 0)
            goto fail;
    }
    *out = source;
    return 0;

fail:
    format_source_close(source);
    return status;
}


static int read_plain(format_source *source, char *buffer, size_t size, size_t *got)
{
    *got = fread(buffer, 1, size, source->file);
    if (*got < size && ferror(source->file))
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", source->path, strerror(errno));
    if (*got < size)
        source->plain_eof = 1;
    if (source->hasher != NULL) {
        ohlcx_blake3_update(source->hasher, buffer, *got);
        source->hashed += *got;
    }
    return 0;
}


/* Sets the error of a damaged compressed file: the file, what the decoder
 * found, and what to do. */
static int damaged(const format_source *source, const char *format_name, const char *reason)
{
    return ohlcx_set_error(OHLCX_EIO,
                           "%s: invalid %s data (%s): the file is damaged or cut short, so "
                           "replace it with a complete copy",
                           source->path, format_name, reason);
}


static int read_gzip(format_source *source, char *buffer, size_t size, size_t *got)
{
    int result = gzread(source->gzip, buffer, (unsigned)size);
    int code = Z_OK;
    const char *message = gzerror(source->gzip, &code);
    const char *reason = NULL;

    if (result >= 0 && code == Z_OK) {
        *got = (size_t)result;
        return 0;
    }

    /* zlib starts the message with the name the stream was opened under,
     * which gzdopen() makes "<fd:N>": drop it, as the error names the path. */
    reason = strncmp(message, "<fd:", 4) == 0 ? strstr(message, ": ") : NULL;
    reason = reason != NULL ? reason + 2 : message;
    if (code == Z_ERRNO)
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", source->path, reason);
    /* A stream cut short returns what it decoded and sets Z_BUF_ERROR
     * ("unexpected end of file") instead of failing the call. */
    return damaged(source, "gzip", reason);
}


static int refill_zstd_input(format_source *source)
{
    source->in.size = fread(source->input, 1, source->input_capacity, source->file);
    source->in.pos = 0;
    if (source->hasher != NULL) {
        ohlcx_blake3_update(source->hasher, source->input, source->in.size);
        source->hashed += source->in.size;
    }
    if (source->in.size < source->input_capacity) {
        if (ferror(source->file))
            return ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", source->path,
                                   strerror(errno));
        source->input_eof = 1;
    }
    return 0;
}


static int read_zstd(format_source *source, char *buffer, size_t size, size_t *got)
{
    ZSTD_outBuffer out = {buffer, size, 0};

    while (out.pos < out.size) {
        size_t before = out.pos;
        int input_left = 0;

        if (source->in.pos == source->in.size && !source->input_eof) {
            int status = refill_zstd_input(source);
            if (status != 0)
                return status;
        }
        input_left = source->in.pos < source->in.size;
        /* A finished frame and no input left: the end of the file. */
        if (!input_left && source->input_eof && source->last_result == 0)
            break;
        source->last_result = ZSTD_decompressStream(source->zstd, &out, &source->in);
        if (ZSTD_isError(source->last_result))
            return damaged(source, "zstd", ZSTD_getErrorName(source->last_result));
        if (!input_left && source->input_eof && out.pos == before) {
            /* No input and no progress inside a frame: the file was cut short.
             * Bytes already decoded go out first; the next call reports it. */
            if (out.pos > 0)
                break;
            return damaged(source, "zstd", "the file ends inside a frame");
        }
    }
    *got = out.pos;
    return 0;
}


int format_source_read(format_source *source, char *buffer, size_t size, size_t *got)
{
    *got = 0;
    if (size == 0)
        return 0;
    switch (source->kind) {
    case SOURCE_GZIP:
        return read_gzip(source, buffer, size, got);
    case SOURCE_ZSTD:
        return read_zstd(source, buffer, size, got);
    default:
        return read_plain(source, buffer, size, got);
    }
}


size_t format_source_plain_size(const format_source *source)
{
    struct stat info;

    if (source->kind != SOURCE_PLAIN || fstat(fileno(source->file), &info) != 0 ||
        !S_ISREG(info.st_mode) || info.st_size <= 0)
        return 0;
    return (size_t)info.st_size;
}


int format_source_hash(format_source *source, struct ohlcx_blake3 *hasher, int whole_file)
{
    if (source->kind != SOURCE_PLAIN && !whole_file)
        return 0;
    source->hasher = hasher;
    source->hash_whole_file = whole_file;
    return 1;
}


/* Hashes the rest of a plain or zstd file that the parse did not read. */
static int hash_rest(format_source *source, char *scratch, size_t size)
{
    if (source->kind == SOURCE_ZSTD) {
        while (!source->input_eof) {
            int status = refill_zstd_input(source);
            if (status != 0)
                return status;
        }
        return 0;
    }
    if (source->map != NULL) {
        if (source->hashed < source->map_size)
            ohlcx_blake3_update(source->hasher, source->map + source->hashed,
                                source->map_size - (size_t)source->hashed);
        source->hashed = source->map_size;
        source->plain_eof = 1;
        return 0;
    }
    while (!source->plain_eof) {
        size_t got = 0;
        int status = read_plain(source, scratch, size, &got);
        if (status != 0)
            return status;
    }
    return 0;
}


/* Returns 1 when the open file still has the inode, size, modification and
 * change times that it had when it was opened. */
static int same_file_state(const format_source *source)
{
    struct stat now;

    return fstat(fileno(source->file), &now) == 0 && now.st_ino == source->opened.st_ino &&
           now.st_size == source->opened.st_size &&
           now.st_mtim.tv_sec == source->opened.st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == source->opened.st_mtim.tv_nsec &&
           now.st_ctim.tv_sec == source->opened.st_ctim.tv_sec &&
           now.st_ctim.tv_nsec == source->opened.st_ctim.tv_nsec;
}


int format_source_changed(const format_source *source)
{
    return !same_file_state(source);
}


/* Hashes a gzip file's compressed bytes from offset 0 with pread(), which
 * leaves the stream's offset alone. The stream decoded the same open file,
 * but pread() returns the bytes as they are now, so a file that was rewritten
 * in place since it was opened (another size, time or inode) counts as not
 * hashed.
 * NOTE: a rewrite that keeps the size within one modification-time tick
 * goes unseen here. The gzip CRC-32 of each member still rejects a stream
 * that such a rewrite tore. */
static int hash_gzip(format_source *source, char *scratch, size_t size)
{
    int fd = fileno(source->file);

    for (;;) {
        ssize_t got = pread(fd, scratch, size, (off_t)source->hashed);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", source->path,
                                   strerror(errno));
        if (got == 0)
            break;
        ohlcx_blake3_update(source->hasher, scratch, (size_t)got);
        source->hashed += (uint64_t)got;
    }
    if (!same_file_state(source))
        source->changed = 1;
    return 0;
}


int format_source_finish_hash(format_source *source, char *scratch, size_t size, int *whole)
{
    struct stat info;
    int status = 0;

    *whole = 0;
    if (source->hasher == NULL)
        return 0;
    if (source->hash_whole_file && source->kind == SOURCE_GZIP)
        status = hash_gzip(source, scratch, size);
    else if (source->hash_whole_file)
        status = hash_rest(source, scratch, size);
    if (status != 0 || source->changed)
        return status;

    /* The end of the file must have been seen, and every byte before it
     * hashed: hashing starts before the first read, which begins at offset 0
     * because detect_kind() rewinds the file. */
    if (source->kind == SOURCE_PLAIN && !source->plain_eof)
        return 0;
    /* A file rewritten in place while it was read may keep its size: the
     * parse may then have read other bytes than those hashed (a mapping
     * shows later writes, and a buffered read mixes the versions). The
     * file's times and inode tell.
     * NOTE: a rewrite within the same tick of the file system's clock as
     * the write before the open goes unseen, as in hash_gzip(). */
    if (source->kind == SOURCE_PLAIN && !same_file_state(source))
        return 0;
    if (source->kind == SOURCE_ZSTD && !source->input_eof)
        return 0;
    *whole = fstat(fileno(source->file), &info) == 0 && (uint64_t)info.st_size == source->hashed;
    return 0;
}


uint64_t format_source_hashed_bytes(const format_source *source)
{
    return source->hashed;
}


void format_source_close(format_source *source)
{
    if (source == NULL)
        return;
    if (source->map != NULL) {
        detach_ahead(source);
        munmap(source->map, source->map_length);
        release_bus_handler();
    }
    if (source->file != NULL)
        fclose(source->file);
    if (source->gzip != NULL)
        gzclose(source->gzip);
    ZSTD_freeDCtx(source->zstd);
    free(source->input);
    free(source);
}


/*
 * Mapped input. Reading a 113 MB file through a 1 MiB buffer spent 40 ms of
 * a 120 ms parse copying it from the page cache, and mapping it costs 7 ms
 * of page faults. The mapping is private and writable so that the parse can
 * put its '\0' after a window (read.c puts the byte back). A zero-filled
 * anonymous tail gives the FORMAT_CHUNK_PADDING bytes that the fast path
 * may read past the end of the file.
 *
 * A file cut short by another process while it is mapped makes a read of a
 * page it lost raise SIGBUS. The handler jumps to the guard of the reading
 * thread, which fails the read. On a thread without a guard, the signal
 * takes the action it had before.
 */
static _Thread_local sigjmp_buf *fault_target;
static pthread_mutex_t bus_handler_lock = PTHREAD_MUTEX_INITIALIZER;
static int bus_handler_users; /* open mappings */
static struct sigaction previous_bus_action;


static void on_bus_error(int signal, siginfo_t *info, void *context)
{
    (void)info;
    (void)context;
    if (fault_target != NULL)
        siglongjmp(*fault_target, 1);
    /* Not a mapped file's fault: returning runs the faulting instruction
     * again, under the action the process had before. */
    sigaction(signal, &previous_bus_action, NULL);
}


/* The handler is installed while a mapping is open, and the action the
 * process had before comes back when the last one closes. */
static void hold_bus_handler(void)
{
    struct sigaction action;

    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_bus_error;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    pthread_mutex_lock(&bus_handler_lock);
    if (bus_handler_users++ == 0)
        sigaction(SIGBUS, &action, &previous_bus_action);
    pthread_mutex_unlock(&bus_handler_lock);
}


static void release_bus_handler(void)
{
    pthread_mutex_lock(&bus_handler_lock);
    if (--bus_handler_users == 0)
        sigaction(SIGBUS, &previous_bus_action, NULL);
    pthread_mutex_unlock(&bus_handler_lock);
}


void format_source_guard(sigjmp_buf *target)
{
    fault_target = target;
}


int format_source_map(format_source *source)
{
    size_t size = format_source_plain_size(source);
    long page = sysconf(_SC_PAGESIZE);
    size_t length;
    char *region, *mapped;

    if (size < FORMAT_CHUNK_BYTES || page <= 0)
        return 0;
    length = (size + FORMAT_CHUNK_PADDING + (size_t)page) / (size_t)page * (size_t)page;
    region = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        return 0;
    mapped = mmap(region, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
                  fileno(source->file), 0);
    if (mapped == MAP_FAILED) {
        munmap(region, length);
        return 0;
    }
    hold_bus_handler();
    source->map = region;
    source->map_size = size;
    source->map_length = length;
    source->page_size = (size_t)page;
    return 1;
}


/*
 * Read-ahead from another thread (ohlcx_read_ahead_step()). The other
 * thread faults pages in with MADV_POPULATE_READ, which fails with EFAULT
 * where a read would raise SIGBUS, so it needs no guard. The lock keeps the
 * mapping from going away during a step. Populated pages are those after
 * the window, which the read gives back only once it has passed them, so
 * the resident memory grows by READ_AHEAD_BYTES at most.
 *
 * With two threads on a 113 MB Binance file, the storing thread faulting
 * the pages in while it waited for batches took the ingest from 108 to
 * 101 ms (medians of 11 alternating runs, 2-core Xeon VM).
 */
#define READ_AHEAD_BYTES ((size_t)4 << 20)
#define READ_AHEAD_STEP ((size_t)512 << 10)

struct ohlcx_read_ahead {
    pthread_mutex_t lock;  /* guards map and its size */
    char *map;             /* the mapped file of the attached read, or NULL */
    size_t size;
    size_t page_size;
    atomic_size_t reached; /* end of the read's window: the bytes it has touched */
    size_t populated;      /* bytes faulted in from the start, by steps */
    int unsupported;       /* the kernel has no MADV_POPULATE_READ */
};


int ohlcx_read_ahead_create(ohlcx_read_ahead **out)
{
    ohlcx_read_ahead *ahead = calloc(1, sizeof *ahead);

    *out = NULL;
    if (ahead == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for a read-ahead");
    pthread_mutex_init(&ahead->lock, NULL);
    atomic_init(&ahead->reached, 0);
    *out = ahead;
    return 0;
}


void ohlcx_read_ahead_free(ohlcx_read_ahead *ahead)
{
    if (ahead == NULL)
        return;
    pthread_mutex_destroy(&ahead->lock);
    free(ahead);
}


void format_source_read_ahead(format_source *source, ohlcx_read_ahead *ahead)
{
    if (source->map == NULL)
        return;
    pthread_mutex_lock(&ahead->lock);
    ahead->map = source->map;
    ahead->size = source->map_size;
    ahead->page_size = source->page_size;
    ahead->populated = 0;
    atomic_store(&ahead->reached, 0);
    pthread_mutex_unlock(&ahead->lock);
    source->ahead = ahead;
}


static void detach_ahead(format_source *source)
{
    if (source->ahead == NULL)
        return;
    pthread_mutex_lock(&source->ahead->lock);
    source->ahead->map = NULL;
    pthread_mutex_unlock(&source->ahead->lock);
    source->ahead = NULL;
}


int ohlcx_read_ahead_step(ohlcx_read_ahead *ahead)
{
    size_t reached, from, to;
    int stepped = 0;

    if (ahead == NULL)
        return 0;
    pthread_mutex_lock(&ahead->lock);
    reached = atomic_load_explicit(&ahead->reached, memory_order_relaxed);
    if (ahead->map == NULL || ahead->unsupported || reached >= ahead->size)
        goto done;
    from = ahead->populated > reached ? ahead->populated : reached;
    to = ahead->size - reached > READ_AHEAD_BYTES ? reached + READ_AHEAD_BYTES : ahead->size;
    if (from >= to)
        goto done;
    from = from / ahead->page_size * ahead->page_size;
    if (to - from > READ_AHEAD_STEP)
        to = from + READ_AHEAD_STEP;
#ifdef MADV_POPULATE_READ
    /* EFAULT: the file was cut short; the read finds out itself. */
    if (madvise(ahead->map + from, to - from, MADV_POPULATE_READ) != 0 && errno != EFAULT)
        ahead->unsupported = 1;
#else
    ahead->unsupported = 1;
#endif
    ahead->populated = to;
    stepped = !ahead->unsupported;
done:
    pthread_mutex_unlock(&ahead->lock);
    return stepped;
}


/* Moves the window of a mapped source to its unread bytes and up to
 * FORMAT_CHUNK_BYTES after them, hashing the bytes it adds. Hashing first
 * brings the window into the cache for the parse: hashing the bytes after
 * their parse instead made the read of a 113 MB file a sixth slower. */
static void slide_window(format_chunks *chunks)
{
    format_source *source = chunks->source;
    size_t from = chunks->data != NULL ? (size_t)(chunks->data - source->map) + chunks->start
                                       : 0;
    size_t to = source->map_size - from > FORMAT_CHUNK_BYTES ? from + FORMAT_CHUNK_BYTES
                                                             : source->map_size;

    if (source->ahead != NULL)
        atomic_store_explicit(&source->ahead->reached, to, memory_order_relaxed);
    if (source->hasher != NULL && to > source->hashed) {
        ohlcx_blake3_update(source->hasher, source->map + source->hashed,
                            to - (size_t)source->hashed);
        source->hashed = to;
    }
    /* The pages before the window are done with: giving them back keeps the
     * resident memory of the read at about one window, not the file. */
    if (from / source->page_size * source->page_size > source->map_released) {
        size_t release = from / source->page_size * source->page_size;

        madvise(source->map + source->map_released, release - source->map_released,
                MADV_DONTNEED);
        source->map_released = release;
    }
    chunks->data = source->map + from;
    chunks->start = 0;
    chunks->end = to - from;
    chunks->eof = to == source->map_size;
    source->plain_eof = chunks->eof;
}


int format_chunks_fill(format_chunks *chunks)
{
    size_t unread = chunks->end - chunks->start;

    if (chunks->mapped) {
        slide_window(chunks);
        return 0;
    }
    if (chunks->start > 0) {
        memmove(chunks->data, chunks->data + chunks->start, unread);
        chunks->start = 0;
        chunks->end = unread;
    }
    while (!chunks->eof && chunks->end < FORMAT_CHUNK_BYTES) {
        size_t got = 0;
        int status = format_source_read(chunks->source, chunks->data + chunks->end,
                                        FORMAT_CHUNK_BYTES - chunks->end, &got);
        if (status != 0)
            return status;
        if (got == 0)
            chunks->eof = 1;
        chunks->end += got;
    }
    return 0;
}
