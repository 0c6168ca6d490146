/*
 * Store: compressed, memory-mapped column files for many candle series, with
 * a SQLite catalogue.
 *
 * Layout of a store folder DIR:
 *
 *   DIR/catalog.sqlite              catalogue (WAL mode), tables:
 *       series (id, symbol, timeframe, asset_class, source, rows,
 *               first_open_time, last_open_time, version, quality, updated_at,
 *               derived_from)
 *       source_files (id, path, digest, size, rows, added, identical,
 *                     conflicts, series_id, ingested_at)
 *   DIR/lock                        flock()ed by writers
 *   DIR/tmp/stream-<pid>-<n>/       column files of a stream being written
 *                                   (ohlcx_store_stream_begin and
 *                                   ohlcx_store_stream_begin_append), flock()ed by it
 *   DIR/series/<SYMBOL>/<TF>/CURRENT    text "v<N>\n": the published version
 *   DIR/series/<SYMBOL>/<TF>/v<N>/      manifest.json and one <column>.col per column
 *
 * A source file's digest names its algorithm: "blake3:" or "sha256:" and 64
 * lower-case hex digits. `ohlcx ingest` records BLAKE3. Catalogues written
 * before digests named their algorithm had a sha256 column of bare hex; the
 * first open converts its values to "sha256:HEX".
 *
 * <SYMBOL> is the symbol with bytes outside [A-Za-z0-9._-] (and a leading
 * '.') written as %XX. <TF> is the canonical timeframe, except that the month
 * timeframes 1M and 3M are written 1mo and 3mo so that they cannot clash with
 * 1m and 3m on a case-insensitive file system.
 *
 * Column encodings. Every column is cut into chunks of OHLCX_STORE_CHUNK_ROWS
 * rows, and each chunk is one zstd frame (level 1) with a CRC-32 of its
 * compressed bytes, so a reader decodes only the chunks it needs:
 *   - open_time: int64 deltas from the previous row (the first row of a
 *     chunk takes its full value), zigzag-mapped to unsigned.
 *   - prices, volumes and the optional columns: when every value x of the
 *     column equals ticks / 10^d bit for bit, with ticks = round(x * 10^d) an
 *     integer of magnitude <= 2^50 and d the smallest such value in 0..10,
 *     the column stores the ticks as int64 deltas like open_time. Otherwise
 *     (NaN, -0.0, too many digits) it stores the raw float64 bits.
 *   - flags: raw bytes.
 * 8-byte values are split into byte planes before zstd (byte 0 of every
 * row, then byte 1, ...), because small deltas then leave long runs of zero
 * bytes. Decoding restores bit-identical values.
 *
 * Versions and crash safety. A series is never changed in place. An append
 * writes a complete new version into a temporary folder .tmp-v<N>-<pid> next
 * to the published one, fsyncs its files and the folder, renames it to v<N>,
 * then replaces CURRENT through a temporary file, fsync and rename(). Only
 * then is the catalogue updated (one transaction) and the old version
 * deleted. A process killed at any moment therefore leaves CURRENT naming a
 * complete version: the previous one or the new one. Leftover temporary and
 * stale version folders are deleted, and a catalogue row that names another
 * version than CURRENT is rewritten from the published files, by the next
 * ohlcx_store_open() (every series) or ohlcx_store_append() (its series).
 * The column files are the truth for rows and first and last open times.
 * A stream writes a new series, or the next version of a stored one, into
 * its own folder under DIR/tmp and publishes it the same way, by one
 * rename() to v<N> and CURRENT. The next open deletes a stream folder whose
 * writer is gone.
 *
 * Concurrency. Writers (ohlcx_store_append) take an exclusive flock() on
 * DIR/lock for the whole append, so there is one writer per store at a time,
 * across processes. A second writer waits for the lock without a timeout.
 * Readers take no lock: a reader maps one version's files,
 * and keeps reading them even after a writer publishes a newer version and
 * deletes the old files. A store handle is for one thread at a time, and
 * must not be used across fork(). A reader is independent of its store
 * handle once open, and is also for one thread at a time.
 */
#ifndef OHLCX_STORE_H
#define OHLCX_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ohlcx/series.h"

/* Rows per compressed chunk in files this version writes. Readers take the
 * chunk size from each file's header. */
#define OHLCX_STORE_CHUNK_ROWS 65536

/* Conflicts listed in an append report; the report counts all of them. */
#define OHLCX_STORE_CONFLICTS_LISTED 10

/* Bytes of the source name kept for a series, terminating NUL included. */
#define OHLCX_STORE_SOURCE_MAX 64

/* Bytes of a source file digest ("blake3:" or "sha256:", 64 hex digits),
 * terminating NUL included. */
#define OHLCX_STORE_DIGEST_MAX 72

typedef struct ohlcx_store ohlcx_store;
typedef struct ohlcx_store_reader ohlcx_store_reader;

/* Columns of a stored series, in file order. */
enum ohlcx_store_column {
    OHLCX_STORE_OPEN_TIME = 0,
    OHLCX_STORE_OPEN,
    OHLCX_STORE_HIGH,
    OHLCX_STORE_LOW,
    OHLCX_STORE_CLOSE,
    OHLCX_STORE_VOLUME,
    OHLCX_STORE_FLAGS,
    OHLCX_STORE_QUOTE_VOLUME, /* the optional columns, in enum ohlcx_extra_column order */
    OHLCX_STORE_TRADES,
    OHLCX_STORE_TAKER_BASE,
    OHLCX_STORE_TAKER_QUOTE,
    OHLCX_STORE_COLUMN_COUNT
};

enum ohlcx_store_encoding {
    OHLCX_STORE_DELTA_INT64 = 1, /* open times: zigzag deltas */
    OHLCX_STORE_TICKS = 2,       /* doubles as integer ticks of 10^-decimals, zigzag deltas */
    OHLCX_STORE_FLOAT64 = 3,     /* doubles as raw IEEE 754 bits */
    OHLCX_STORE_UINT8 = 4,       /* flags */
};

/* One bar with every column, as listed in an append report. Optional
 * columns absent from the series are NaN. */
typedef struct ohlcx_store_bar {
    int64_t open_time;
    double open, high, low, close, volume;
    uint8_t flags;
    double extra[OHLCX_EXTRA_COUNT]; /* indexed like ohlcx_series.extra_column */
} ohlcx_store_bar;

/* A new bar whose open time is stored with other values. The stored bar is
 * kept; the new one is dropped. */
typedef struct ohlcx_store_conflict {
    ohlcx_store_bar stored;
    ohlcx_store_bar incoming;
} ohlcx_store_conflict;

/* Where appended bars came from, recorded in the catalogue's source_files. */
typedef struct ohlcx_store_source {
    const char *path;   /* file the bars were read from; NULL records no source file */
    const char *digest; /* its digest, "blake3:HEX" or "sha256:HEX" (64 hex digits
                           alone are read as a SHA-256); NULL to hash the file at
                           path with SHA-256 */
    int64_t size;       /* file size in bytes; used only when digest is given */
    const char *name;   /* vendor or layout ("binance-kline-12") stored as the series'
                           source; NULL or "" keeps the stored one */
} ohlcx_store_source;

typedef struct ohlcx_append_report {
    int already_ingested; /* the source's digest is recorded for this series: nothing done */
    size_t rows_in;       /* bars in the appended series */
    size_t added;         /* bars with an open time new to the store */
    size_t identical;     /* bars equal to the stored bar at their open time */
    size_t conflicts;     /* bars that differ from the stored bar at their open time */
    size_t replaced;      /* of those, bars written over the stored one (replacing append) */
    size_t synthetic_replaced; /* stored synthetic bars replaced by a real bar (keeping
                                  append); not counted in conflicts */
    size_t synthetic_skipped;  /* incoming synthetic bars dropped because a real bar is
                                  stored at their open time; not counted in conflicts */
    size_t conflicts_listed; /* entries filled in conflict[] */
    ohlcx_store_conflict conflict[OHLCX_STORE_CONFLICTS_LISTED]; /* the first conflicts */
    size_t rows;          /* rows stored after the append */
    int64_t version;      /* version published, or the unchanged one when no bar was
                             added or replaced */
} ohlcx_append_report;

/* One series row of the catalogue. */
typedef struct ohlcx_store_entry {
    int64_t id;
    char symbol[OHLCX_SYMBOL_MAX];
    char timeframe[OHLCX_TIMEFRAME_MAX];
    int asset_class; /* enum ohlcx_asset_class */
    char source[OHLCX_STORE_SOURCE_MAX];
    size_t rows;
    int64_t first_open_time; /* microseconds, UTC */
    int64_t last_open_time;
    int64_t version;
    int64_t updated_at; /* microseconds, UTC, of the last catalogue change */
    char *quality;      /* quality summary JSON, or NULL when none is recorded */
    char derived_from[OHLCX_TIMEFRAME_MAX]; /* timeframe a resampled series was built from;
                                               "" for an ingested series */
} ohlcx_store_entry;

/* How one column of a series version is stored. */
typedef struct ohlcx_store_column_info {
    const char *name;      /* "open_time", "close", "quote_volume", ... */
    int encoding;          /* enum ohlcx_store_encoding */
    int decimals;          /* for OHLCX_STORE_TICKS, else 0 */
    uint64_t rows;
    uint32_t chunks;
    uint64_t stored_bytes; /* size of the column file, header included */
} ohlcx_store_column_info;

/* Opens the store in folder dir, creating the folder and an empty catalogue
 * when missing. When no writer holds the store lock, it also repairs what
 * interrupted appends left (see above) and deletes catalogue rows of series
 * without files. A series that cannot be repaired (a corrupt manifest) is
 * logged to stderr and skipped. Returns OHLCX_EIO when the folder or the
 * catalogue cannot be created or opened, OHLCX_ELIB for other SQLite
 * errors. */
int ohlcx_store_open(const char *dir, ohlcx_store **out);

/* Opens an existing store like ohlcx_store_open(), but fails with OHLCX_EIO
 * instead of creating one when dir contains neither catalog.sqlite nor a series
 * folder: for commands that only read, where a mistyped folder must not
 * become an empty store. */
int ohlcx_store_open_existing(const char *dir, ohlcx_store **out);

/* Closes a store handle; NULL is fine. Open readers stay valid. */
void ohlcx_store_close(ohlcx_store *store);

/*
 * Merges series into the stored series with the same symbol and timeframe,
 * creating it when missing. series must have strictly increasing open times,
 * as ohlcx_validate_basic() leaves them (OHLCX_EINVAL otherwise).
 *
 * A bar with an open time new to the store is added, wherever it falls. A bar
 * whose open time is stored is identical when open, high, low, close,
 * volume, flags and the optional columns present in both are equal, with NaN
 * equal to NaN. A synthetic bar (OHLCX_FLAG_SYNTHETIC, a filled gap) has
 * no market data, so a real bar replaces a stored synthetic one
 * (synthetic_replaced), and an incoming synthetic bar never replaces a
 * stored real one (synthetic_skipped). Otherwise differing bars are a
 * conflict, and the stored bar is kept. When bars are added or replaced, a
 * new version is published with the union of the optional columns (NaN
 * where a bar lacks one). Otherwise the files stay as they are.
 *
 * When source->path is set, the file is recorded in source_files. When its
 * digest is already recorded for this series, no bars are merged or written
 * and report->already_ingested is 1. An empty series changes nothing.
 * source and report may be NULL.
 *
 * Returns OHLCX_EINVAL for unsorted bars or an invalid symbol, timeframe or
 * digest, OHLCX_EIO when a file cannot be read or written, OHLCX_EFORMAT
 * when the stored series is corrupt, OHLCX_ELIB for SQLite or zstd errors.
 * A failure before the new version is published leaves the store as it was.
 */
int ohlcx_store_append(ohlcx_store *store, const ohlcx_series *series,
                       const ohlcx_store_source *source, ohlcx_append_report *report);

/* Merges like ohlcx_store_append(), but where a bar differs from the stored
 * bar at its open time, the new bar replaces it (counted in conflicts and
 * replaced), synthetic or not. For derived series: a bin stored while still open changes when
 * its last sub-bars arrive. */
int ohlcx_store_append_replacing(ohlcx_store *store, const ohlcx_series *series,
                                 const ohlcx_store_source *source, ohlcx_append_report *report);

/*
 * Streaming a new series, or new bars after the last bar of a stored one.
 * The rows arrive in pieces and are written chunk by chunk, so memory keeps
 * one chunk of OHLCX_STORE_CHUNK_ROWS rows per column whatever the length of
 * the series. Committing publishes exactly what ohlcx_store_append() of all
 * the rows would publish: the same values, encodings, decimals, manifest,
 * catalogue rows and report. The column files differ only in unused chunk table space
 * before the first chunk. The stream writes into its own folder without the
 * store lock, and nothing is visible before the commit. A stream is for one
 * thread at a time.
 *
 * OHLCX_WHOLE_SERIES (positive, no error message) means that the rows
 * cannot be streamed: the caller frees the stream and calls
 * ohlcx_store_append() with the whole series.
 */
typedef struct ohlcx_store_stream ohlcx_store_stream;

/* Starts writing a new series. like gives the symbol, timeframe, asset class
 * and optional column bits (extra) of the rows to come; its rows are not
 * written. rows_max is an upper bound of the rows, which sizes the chunk
 * tables (40 bytes of file per 65536 rows). Returns OHLCX_WHOLE_SERIES when
 * the series is already published in the store, OHLCX_EINVAL for an invalid
 * symbol, timeframe, asset class or optional column bits, or rows_max above
 * 2^36, OHLCX_EIO when the stream folder or a file cannot be created. */
int ohlcx_store_stream_begin(ohlcx_store *store, const ohlcx_series *like, uint64_t rows_max,
                             ohlcx_store_stream **out);

/* Starts writing a new series like ohlcx_store_stream_begin() when the
 * store has none, else the next version of the stored series: its bars,
 * then the rows to come. The first row written must open after the stored
 * series' last bar, so that nothing merges; the write returns
 * OHLCX_WHOLE_SERIES otherwise. The full chunks of the stored version are
 * copied to the new files as they are. They are encoded again only when the
 * new rows need more decimals or float64, as in ohlcx_store_append(). The
 * rows of its partial last chunk are decoded into the stream's partial
 * chunk, where the new rows follow them (see ohlcx_store_stream_tail()).
 * Returns OHLCX_WHOLE_SERIES when the stored series has other optional
 * columns than like, or files with another chunk size, because
 * ohlcx_store_append() rewrites every chunk of those. Otherwise it returns
 * what ohlcx_store_stream_begin() returns, and OHLCX_EFORMAT when a stored
 * file is corrupt. */
int ohlcx_store_stream_begin_append(ohlcx_store *store, const ohlcx_series *like,
                                    uint64_t rows_max, ohlcx_store_stream **out);

/* Adds rows, which continue the rows written before in strictly increasing
 * open time, with the symbol, timeframe and optional columns of like.
 * Encodes and writes every full chunk, keeping at most one partial chunk
 * per column. Returns OHLCX_WHOLE_SERIES when the rows pass the room that
 * rows_max gave, or when the first row of an append does not open after
 * the stored bars. Returns OHLCX_EINVAL for rows out of order or of another
 * series, and OHLCX_EIO or OHLCX_ELIB when a chunk cannot be written. After
 * any nonzero return the stream takes no more rows and cannot be committed. */
int ohlcx_store_stream_write(ohlcx_store_stream *s, const ohlcx_series *rows);

/* Returns the series that contains the rows of the stream's partial chunk. A
 * caller may append rows to it (same names and optional columns, continuing
 * the open times) and then call ohlcx_store_stream_flush(), which writes
 * them as ohlcx_store_stream_write() would, without copying them first.
 * Appended rows must be flushed before the next write or commit. The series
 * belongs to the stream; its columns may be reallocated as it grows. */
ohlcx_series *ohlcx_store_stream_tail(ohlcx_store_stream *s);

/* Writes the rows appended to the tail since the last write or flush.
 * Returns what ohlcx_store_stream_write() returns for them. */
int ohlcx_store_stream_flush(ohlcx_store_stream *s);

/* Writes the last chunk, fsyncs the files, publishes version 1 (or, for an
 * append, the version after the stored one, whose folder it deletes) and
 * records the series and source in the catalogue, as ohlcx_store_append()
 * does. It fills report as that function does (source and report may be
 * NULL). Takes
 * the store lock for the publish only. A stream of no new rows publishes
 * nothing and returns 0. An append whose source digest the catalogue lists
 * for the series publishes nothing either: it returns 0 with
 * report->already_ingested set, as ohlcx_store_append() does. Returns
 * OHLCX_WHOLE_SERIES, leaving the store unchanged, when another stream,
 * thread or process published a version of the series since the stream
 * began. Other errors are those of ohlcx_store_append(). A stream is
 * committed once, whatever the result. */
int ohlcx_store_stream_commit(ohlcx_store_stream *s, const ohlcx_store_source *source,
                              ohlcx_append_report *report);

/* Deletes the stream folder, unless a commit published it, and frees the
 * stream; NULL is fine. */
void ohlcx_store_stream_free(ohlcx_store_stream *s);

/* Opens the published version of one series for reading. Returns OHLCX_EINVAL
 * when the store has no such series, OHLCX_EFORMAT when a file is corrupt
 * (the message names it). */
int ohlcx_store_reader_open(ohlcx_store *store, const char *symbol, const char *timeframe,
                            ohlcx_store_reader **out);

/* Unmaps the files and frees the reader; NULL is fine. */
void ohlcx_store_reader_close(ohlcx_store_reader *reader);

size_t ohlcx_store_reader_rows(const ohlcx_store_reader *reader);

/* Returns the enum ohlcx_extra_column bits of the optional columns stored. */
unsigned ohlcx_store_reader_extra(const ohlcx_store_reader *reader);

int64_t ohlcx_store_reader_version(const ohlcx_store_reader *reader);

/* Fills info for one enum ohlcx_store_column. Returns OHLCX_EINVAL for an
 * optional column the series lacks. */
int ohlcx_store_reader_column(const ohlcx_store_reader *reader, int column,
                              ohlcx_store_column_info *info);

/*
 * Decodes rows [begin, end) into out, replacing its bars: out->n becomes
 * end - begin, and symbol, timeframe, asset class and optional columns are
 * those of the stored series. out must be initialised; its columns are reused
 * when large enough, so reading window after window allocates once. Only the
 * chunks that overlap the range are decoded; the last decoded chunk of each
 * column is kept for the next call. Returns OHLCX_EINVAL when the range is
 * outside [0, rows], OHLCX_EFORMAT when a chunk fails its checksum or does
 * not decode.
 */
int ohlcx_store_reader_read(ohlcx_store_reader *reader, size_t begin, size_t end,
                            ohlcx_series *out);

/* Writes to row the first row whose open time is >= open_time, or the row
 * count when there is none, decoding one chunk of open times. */
int ohlcx_store_reader_lower_bound(ohlcx_store_reader *reader, int64_t open_time, size_t *row);

/* Reads a whole series into out (see ohlcx_store_reader_read). */
int ohlcx_store_read(ohlcx_store *store, const char *symbol, const char *timeframe,
                     ohlcx_series *out);

/* Lists catalogue rows sorted by symbol and timeframe, optionally only those
 * with the given symbol or timeframe (NULL matches all). The caller frees the
 * array with ohlcx_store_entries_free(). */
int ohlcx_store_list(ohlcx_store *store, const char *symbol, const char *timeframe,
                     ohlcx_store_entry **entries, size_t *count);

void ohlcx_store_entries_free(ohlcx_store_entry *entries, size_t count);

/* Fills entry with the catalogue row of one series; OHLCX_EINVAL when there is
 * none. The caller frees it with ohlcx_store_entry_free(). */
int ohlcx_store_get(ohlcx_store *store, const char *symbol, const char *timeframe,
                    ohlcx_store_entry *entry);

/* Frees entry->quality. */
void ohlcx_store_entry_free(ohlcx_store_entry *entry);

/* Records a quality summary (JSON text from the caller, checked to parse) for
 * one series, replacing the previous one. */
int ohlcx_store_set_quality(ohlcx_store *store, const char *symbol, const char *timeframe,
                            const char *json);

/* Records that one series was resampled from the timeframe derived_from
 * (NULL or "" marks it ingested again). OHLCX_EINVAL when the catalogue has
 * no such series. */
int ohlcx_store_set_derived(ohlcx_store *store, const char *symbol, const char *timeframe,
                            const char *derived_from);

/* Sets *found to 1 when a source file with this digest ("blake3:HEX" or
 * "sha256:HEX", hex digits in either case; 64 hex digits alone are a
 * SHA-256) was ingested into any series of the store, else 0. Returns
 * OHLCX_EINVAL for any other text. */
int ohlcx_store_has_source(ohlcx_store *store, const char *digest, int *found);

/* Like ohlcx_store_has_source(), but only a record whose file has the base
 * name of path counts. A file's name can decide its series, so the same
 * bytes under another name may belong to another series. */
int ohlcx_store_has_source_named(ohlcx_store *store, const char *digest, const char *path,
                                 int *found);

/* Sets *found to 1 when a source file of this many bytes was ingested into
 * any series of the store, else 0. A file of another size cannot have the
 * digest of an ingested one, so it needs no hash before it is read. */
int ohlcx_store_has_source_size(ohlcx_store *store, int64_t size, int *found);

/* Sets *found to 1 when a source file of this many bytes was recorded with a
 * digest of algorithm ("blake3" or "sha256"), else 0. `ohlcx ingest` checks
 * "sha256" to decide whether a file also needs its SHA-256, because records
 * that earlier versions wrote can match only that. */
int ohlcx_store_has_source_size_digest(ohlcx_store *store, int64_t size, const char *algorithm,
                                       int *found);

/* Sets how many threads an append uses to encode and write its column files
 * (default 1; values below 1 mean 1). */
void ohlcx_store_set_threads(ohlcx_store *store, int threads);

/*
 * Writes one series as CSV with the header
 *   open_time,open,high,low,close,volume[,quote_volume,trades,taker_buy_base,
 *   taker_buy_quote],flags
 * listing only the optional columns stored. open_time is epoch milliseconds
 * when every open time is a whole millisecond, else epoch microseconds. A
 * column stored as ticks is printed with exactly its decimals, so 101.5 in a
 * 2-decimal column prints as 101.50; a float64 column is printed in the
 * fewest significant digits (up to 17) that read back to the same double.
 * NaN prints as an empty field. flags is an integer.
 */
int ohlcx_store_export_csv(ohlcx_store *store, const char *symbol, const char *timeframe,
                           FILE *out);

#endif
