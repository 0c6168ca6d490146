/*
 * Internal interface of the store module: column files, version folders, the
 * manifest and the catalogue. The public side is include/ohlcx/store.h.
 *
 * Column file layout (integers little-endian):
 *
 *   offset  size  field
 *   0       8     magic "OHLCXCOL"
 *   8       4     file format version (2; version 1 files, whose planes
 *                 field is zero, read as 8 planes)
 *   12      1     encoding (enum ohlcx_store_encoding)
 *   13      1     decimals (OHLCX_STORE_TICKS only, else 0)
 *   14      2     zero
 *   16      4     rows per chunk
 *   20      4     chunk count = ceil(rows / rows per chunk)
 *   24      8     rows
 *   32      40*c  chunk table: u64 offset, u32 compressed bytes, u32 rows,
 *                 u32 CRC-32 of the compressed bytes, u32 byte planes
 *                 stored (1 to 8; see codec.c), i64 first
 *                 and i64 last value of the chunk (open times or ticks, 0 for
 *                 the other encodings)
 *   32+40c  4     CRC-32 of bytes [0, 32 + 40c)
 *   then the chunks, each one zstd frame.
 *
 * Every chunk but the last contains exactly "rows per chunk" rows.
 */
#ifndef OHLCX_STORE_INTERNAL_H
#define OHLCX_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "ohlcx/series.h"
#include "ohlcx/store.h"

#define STORE_PATH_MAX (OHLCX_PATH_MAX + 256)
/* zstd level 1 rather than 3, measured with libzstd 1.5.4. Level 1 writes
 * the columns in about 10% less time. It compresses the 24-month BTCUSDT 1m
 * series from `ohlcx synth` to a 0.2% smaller store, and 84 real exchange
 * files (Binance, Yahoo, forex and others) to a 0.3% larger one. */
#define STORE_ZSTD_LEVEL 1
/* Parameters set on top of level 1, measured with libzstd 1.5.4 on the
 * chunks of the 24-month BTCUSDT 1m series (40 MB of planes) and of 84 real
 * files (11 MB). A 64 KiB window also caps zstd's blocks at 64 KiB, so each
 * byte plane of a full chunk (OHLCX_STORE_CHUNK_ROWS bytes) is one block
 * with its own Huffman table instead of two planes sharing one. The planes
 * hold few repeats, so the smallest hash table and the longest minimum
 * match cost little: 31 -> 21 ms and 23.17 -> 22.28 MB on the synthetic
 * series, 5.70 -> 5.63 MB on the real files. The frames decode as before. */
#define STORE_ZSTD_WINDOW_LOG 16
#define STORE_ZSTD_HASH_LOG 6
#define STORE_ZSTD_MIN_MATCH 7
#define STORE_MAX_DECIMALS 10
#define STORE_HEADER_BYTES 32
#define STORE_CHUNK_ENTRY_BYTES 40

/* Returned (positive) by an encoder when a value is not an exact tick. */
#define STORE_NOT_TICKS 1

struct ohlcx_store {
    char dir[OHLCX_PATH_MAX];
    sqlite3 *db;
    int lock_fd; /* DIR/lock, flock()ed by writers */
    int threads; /* threads that write the column files of an append */
};

/* A mapped column file. */
typedef struct store_column {
    char path[STORE_PATH_MAX];
    const uint8_t *map;
    size_t map_size;
    int encoding;
    int decimals;
    uint32_t chunk_rows;
    uint32_t chunk_count;
    uint64_t rows;
    const uint8_t *table;  /* chunk table inside map */
    int64_t cached_chunk;  /* chunk decoded in cache, or -1 */
    void *cache;           /* chunk_rows decoded values; NULL until the first read */
    uint8_t *scratch;      /* chunk_rows * 8 decompressed bytes; NULL until the first read */
} store_column;

/* The chunk table entry of one chunk. */
typedef struct store_chunk {
    uint64_t offset;
    uint32_t bytes;
    uint32_t rows;
    uint32_t crc;
    uint32_t planes; /* byte planes in the frame: 1 to 8 */
    int64_t first;
    int64_t last;
} store_chunk;

/* The source file recorded with a version, so that a catalogue update lost
 * in a crash can be redone from the files. */
typedef struct store_source_record {
    char path[OHLCX_PATH_MAX];
    char digest[OHLCX_STORE_DIGEST_MAX]; /* "blake3:HEX" or "sha256:HEX", lower case */
    int64_t size;
    int64_t rows;
    int64_t added;
    int64_t identical;
    int64_t conflicts;
    int64_t ingested_at; /* microseconds, UTC */
} store_source_record;

/* Contents of v<N>/manifest.json. */
typedef struct store_manifest {
    char symbol[OHLCX_SYMBOL_MAX];
    char timeframe[OHLCX_TIMEFRAME_MAX];
    int asset_class;
    char source[OHLCX_STORE_SOURCE_MAX];
    int64_t version;
    uint64_t rows;
    unsigned extra;
    int has_source; /* record below is set */
    store_source_record record;
} store_manifest;

/* What a catalogue update writes for one series. */
typedef struct store_series_state {
    const store_manifest *manifest;
    uint64_t rows;
    int64_t first_open_time;
    int64_t last_open_time;
} store_series_state;

struct ohlcx_store_reader {
    char folder[STORE_PATH_MAX]; /* the series folder */
    store_manifest manifest;
    store_column columns[OHLCX_STORE_COLUMN_COUNT];
    int present[OHLCX_STORE_COLUMN_COUNT];
};

/* codec.c: bytes, checksums and chunk encodings. */
void store_put_u32(uint8_t *p, uint32_t value);
void store_put_u64(uint8_t *p, uint64_t value);
uint32_t store_get_u32(const uint8_t *p);
uint64_t store_get_u64(const uint8_t *p);
uint32_t store_crc32(const void *data, size_t length);
/* Returns the smallest decimals, at least the given one, at which every
 * value is an exact tick of at most 2^50 in magnitude, or -1 when above
 * STORE_MAX_DECIMALS. */
int store_find_decimals(const double *values, size_t n, int decimals);
int store_decode_chunk(const store_column *column, uint32_t chunk, void *out);
/* Sets the OHLCX_EFORMAT error of a chunk (0-based) that fails its CRC-32
 * check, naming the file and the chunk, and returns OHLCX_EFORMAT. */
int store_chunk_corrupt(const store_column *column, uint32_t chunk);
size_t store_element_size(int encoding);

/* Scratch buffers and the zstd context for encoding chunks. */
typedef struct store_encoder store_encoder;
int store_encoder_create(store_encoder **out);
void store_encoder_free(store_encoder *encoder);
int store_encode_chunk(store_encoder *encoder, int encoding, int decimals, const void *values,
                       size_t rows, const uint8_t **bytes, store_chunk *chunk);

/* column.c: mapped column files. */
int store_column_open(store_column *column, const char *path);
void store_column_close(store_column *column);
void store_column_chunk(const store_column *column, uint32_t chunk, store_chunk *out);
int store_column_read(store_column *column, size_t begin, size_t end, void *out);
/* Frees the decoding buffers of a mapped column; the next read allocates
 * them again. */
void store_column_release(store_column *column);
int store_column_lower_bound(store_column *column, int64_t value, size_t *row);

/* What a column file of a new version is made of: rows [0, head_rows) are
 * those of old (NaN for a double column that old lacks), and the rest comes
 * from tail. head_rows is a multiple of the old column's chunk rows, so its
 * chunks are copied without decoding when the encoding stays the same. */
typedef struct store_column_plan {
    int type; /* store_column_type() */
    store_column *old;
    size_t head_rows;
    const void *tail;
    size_t tail_rows;
} store_column_plan;

/* Writes the column file at path and starts its writeback; the caller
 * fsyncs it (store_fsync_path()) before the version is published. */
int store_column_write(const char *path, const store_column_plan *plan, store_encoder *encoder);

/* A column file written chunk by chunk (column.c). Its chunks start after
 * room for max_chunks table entries, and each put is one chunk:
 * OHLCX_STORE_CHUNK_ROWS rows, or fewer for the last. A double column ends
 * with the encoding and decimals that store_column_write() would choose for
 * all its rows, because the chunks already written are decoded and encoded
 * again when a later chunk needs more decimals. For an append, head is the
 * old column, and the file starts with its first head_chunks chunks as
 * store_column_write() starts with a plan's head rows. head stays mapped
 * until the stream is finished, and is NULL for a new series. */
typedef struct store_column_stream store_column_stream;
int store_column_stream_open(const char *path, int type, uint32_t max_chunks,
                             store_column *head, uint32_t head_chunks,
                             store_column_stream **out);
int store_column_stream_put(store_column_stream *stream, const void *values, size_t rows,
                            store_encoder *encoder);
/* Writes the header, starts the writeback and closes the file; the caller
 * fsyncs it before publishing. */
int store_column_stream_finish(store_column_stream *stream);
void store_column_stream_free(store_column_stream *stream);

/* version.c: column names and types, series folders, versions, locks and
 * fsync. A column's type is OHLCX_STORE_DELTA_INT64, OHLCX_STORE_UINT8, or
 * OHLCX_STORE_FLOAT64 for every double column (stored as ticks or float64). */
int store_column_type(int column);
void *store_series_column(const ohlcx_series *series, int column);
int store_series_folder(const ohlcx_store *store, const char *symbol, const char *timeframe,
                        char *out);
int store_read_current(const char *folder, int64_t *version);
int store_version_folder(const char *folder, int64_t version, char *out);
int store_column_path(const char *version_folder, int column, char *out);
const char *store_column_name(int column);
int store_temp_folder(const char *folder, int64_t version, char *out);
int store_prepare_series_folder(const char *folder);
int store_publish(const char *folder, const char *temp_folder, int64_t version);
int store_remove_folder(const char *path);
int store_clean_series_folder(const char *folder, int64_t current);
int store_fsync_path(const char *path);
int store_lock(ohlcx_store *store, int wait);
void store_unlock(ohlcx_store *store);

/* append.c: the steps of an append that a stream shares. */
/* Checks the asset class and the optional column bits of series. */
int store_check_fields(const ohlcx_series *series);
/* Fills the source record of rows bars, hashing the file with SHA-256 when
 * source gives no digest; *has_record is 0 when source names no file. */
int store_make_record(const ohlcx_store_source *source, size_t rows,
                      store_source_record *record, int *has_record);
/* Reports an already ingested source, and returns 1, when the catalogue
 * lists the digest of record for the series; record may be NULL (returns
 * 0). The caller holds the store lock. */
int store_check_ingested(ohlcx_store *store, const char *symbol, const char *timeframe,
                         const store_source_record *record, ohlcx_append_report *report);
/* Fills the manifest of the version after old (NULL for a new series) with
 * rows rows and the optional columns extra. */
void store_build_manifest(const ohlcx_series *series, const store_manifest *old,
                          const ohlcx_store_source *source, uint64_t rows, unsigned extra,
                          store_manifest *manifest);
/* Returns 1 when a version has column i: every required column, and the
 * optional ones that its manifest lists. */
int store_column_written(const store_manifest *manifest, int i);
/* Fsyncs the column files written into folder and writes its manifest. */
int store_seal_version(const char *folder, const store_manifest *manifest);

/* manifest.c */
int store_manifest_write(const char *path, const store_manifest *manifest);
int store_manifest_read(const char *path, store_manifest *manifest);
int store_asset_class_from_name(const char *name); /* -1 when unknown */

/* reader.c */
int store_reader_open_folder(const char *folder, ohlcx_store_reader **out);
void store_reader_bounds(const ohlcx_store_reader *reader, uint64_t *rows, int64_t *first,
                         int64_t *last);

/* catalog.c */
int store_catalog_open(ohlcx_store *store);
void store_catalog_close(ohlcx_store *store);
int store_catalog_version(ohlcx_store *store, const char *symbol, const char *timeframe,
                          int64_t *id, int64_t *version, uint64_t *rows, int64_t *first,
                          int64_t *last);
int store_catalog_has_series_source(ohlcx_store *store, int64_t series_id,
                                    const char *digest, int *found);
/* Writes digest text in the stored form to out: "blake3:" or "sha256:" and
 * 64 lower-case hex digits, with 64 hex digits alone read as a SHA-256.
 * Returns OHLCX_EINVAL for other text. */
int store_normalize_digest(const char *text, char out[OHLCX_STORE_DIGEST_MAX]);
int store_catalog_commit(ohlcx_store *store, const store_series_state *state,
                         const store_source_record *record);
int store_catalog_delete(ohlcx_store *store, const char *symbol, const char *timeframe);

/* stream.c: deletes the stream folders under DIR/tmp whose writer is gone
 * (their flock() can be taken). */
int store_clean_streams(const ohlcx_store *store);

/* store.c: repair of interrupted appends; the caller holds the store lock.
 * store_repair_series() returns 1 when the folder has no published version. */
int store_repair_series(ohlcx_store *store, const char *folder);

#endif
