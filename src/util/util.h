/*
 * Internal helpers shared by the modules and the command: logging, progress,
 * clocks, file system walks, SHA-256 and BLAKE3. Not part of the public API.
 */
#ifndef OHLCX_UTIL_H
#define OHLCX_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Returns a / b rounded toward minus infinity; b must not be 0. */
static inline int64_t ohlcx_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Logs one line to stderr as "ohlcx: LEVEL: message". */
void ohlcx_log_info(const char *format, ...) __attribute__((format(printf, 1, 2)));
void ohlcx_log_warn(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * A progress line for work that takes more than a second. On a terminal it
 * redraws one line with the share done and an estimated time left; elsewhere
 * it prints nothing, and the caller logs plain lines at stage boundaries.
 */
typedef struct ohlcx_progress {
    const char *label;
    double started;
    double last_drawn;
    int drawn;
} ohlcx_progress;

void ohlcx_progress_start(ohlcx_progress *progress, const char *label);
void ohlcx_progress_update(ohlcx_progress *progress, double done, double total);
void ohlcx_progress_finish(ohlcx_progress *progress);

/* Returns the plural ending of a count's noun: "" for 1, else "s". */
static inline const char *ohlcx_plural(size_t count)
{
    return count == 1 ? "" : "s";
}

/* Returns seconds from a monotonic clock. */
double ohlcx_now_seconds(void);

/* Returns the current UTC time in microseconds since the Unix epoch. */
int64_t ohlcx_wall_time_us(void);

/* Creates a folder and its parents; an existing folder is fine. */
int ohlcx_make_dirs(const char *path);

/* Expands files and folders into a sorted list of regular files: a folder
 * contributes its files that do not start with '.'. A folder that is an
 * ohlcx store fails with OHLCX_EINVAL, and the message names --store. The caller frees each string and the array. */
int ohlcx_expand_inputs(const char *const *inputs, size_t count, char ***files,
                        size_t *file_count);

void ohlcx_free_strings(char **strings, size_t count);

/* Writes the SHA-256 of a file as 64 lower-case hex digits and a NUL. */
int ohlcx_sha256_file(const char *path, char out[65]);

/* Writes the SHA-256 of a buffer as 64 hex digits and a NUL. */
void ohlcx_sha256_hex(const void *data, size_t length, char out[65]);

/* Subtree chaining values a BLAKE3 hasher keeps: one per 1 bit of a chunk
 * count below 2^54 (2^64 bytes), plus the one pushed before a merge. */
#define OHLCX_BLAKE3_MAX_DEPTH 56

/* An incremental BLAKE3 hasher (32-byte hash mode, no key). Initialise it
 * with ohlcx_blake3_init(); it contains no pointers and needs no cleanup. */
typedef struct ohlcx_blake3 {
    uint32_t stack[OHLCX_BLAKE3_MAX_DEPTH][8]; /* subtree chaining values, oldest first */
    uint8_t depth;                             /* entries used in stack */
    uint64_t chunk_counter;                    /* index of the partial chunk */
    uint32_t chunk_cv[8];                      /* chaining value of the partial chunk */
    uint32_t blocks_done;                      /* its blocks already compressed */
    uint32_t block_used;                       /* bytes in block */
    uint8_t block[64];                         /* its last block, not yet compressed */
} ohlcx_blake3;

void ohlcx_blake3_init(ohlcx_blake3 *hasher);
void ohlcx_blake3_update(ohlcx_blake3 *hasher, const void *data, size_t length);

/* Writes the BLAKE3 of the bytes added so far as 64 hex digits and a NUL.
 * The hasher is unchanged, so more bytes may be added afterwards. */
void ohlcx_blake3_final_hex(const ohlcx_blake3 *hasher, char out[65]);

/* Writes the BLAKE3 of a buffer as 64 hex digits and a NUL. */
void ohlcx_blake3_hex(const void *data, size_t length, char out[65]);

/* Writes the BLAKE3 of a file as 64 hex digits and a NUL, reading it 1 MiB at
 * a time. Returns OHLCX_EIO when it cannot be opened or read. */
int ohlcx_blake3_file(const char *path, char out[65]);

#endif
