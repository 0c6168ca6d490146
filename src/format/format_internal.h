/*
 * Internal interface of the format module, shared by its files:
 *   source.c    bytes from a plain, gzip or zstd file
 *   read.c      chunked line loop, bad rows, naming (ohlcx_read_candles)
 *   parallel.c  the line loop on several threads for one large file
 *   row.c       one delimited row into the series
 *   json.c      freqtrade JSON rows into the series
 *   sniff.c     delimiter, banner, header or data, value kinds, number style
 *   layout.c    column roles from a header or a headerless first row
 *   columns.c   the columns option ("time=0,open=1,...")
 *   fields.c    field splitting and number parsing
 *   plain.c     fast path for plain rows (epoch time, plain decimals)
 *   datetime.c, datetext.c   dates and times; timezone.c  TZif zones
 *   filename.c, timeframe.c  symbol and timeframe
 *
 * Fields are (pointer, length) views into a line of the chunk buffer and are
 * valid until the next chunk is read. Nothing here allocates per row except
 * the series growth and the cJSON tree of one JSON row.
 */
#ifndef OHLCX_FORMAT_INTERNAL_H
#define OHLCX_FORMAT_INTERNAL_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "ohlcx/format.h"
#include "ohlcx/series.h"

struct ohlcx_blake3;

/* Fields beyond this many on a line are counted but not located. */
#define FORMAT_MAX_FIELDS 64

/* Bytes read from the file at a time; a line (or JSON row) must fit. */
#define FORMAT_CHUNK_BYTES ((size_t)1 << 20)

/* Zeroed bytes after the chunk buffer: the fast path puts a '\0' at the end
 * of the data and reads up to 64 bytes at a time from there. */
#define FORMAT_CHUNK_PADDING 64

/* Non-blank lines at the start of a file that layout detection looks at. */
#define FORMAT_SNIFF_LINES 64

#define FORMAT_NO_COLUMN ((size_t)-1)
#define FORMAT_NAME_MAX 32
#define FORMAT_REASON_MAX 160

/* format_parse_row() result for a row that cannot be parsed. */
#define FORMAT_BAD_ROW 1

typedef struct format_field {
    const char *text;
    size_t length;
    size_t column; /* 1-based byte column of the field's first character */
} format_field;

/* One line of the first chunk, for layout detection. */
typedef struct format_line {
    const char *text;
    size_t length;
    size_t number; /* 1-based line number in the file */
} format_line;

enum format_role {
    FORMAT_ROLE_TIME = 0,
    FORMAT_ROLE_OPEN,
    FORMAT_ROLE_HIGH,
    FORMAT_ROLE_LOW,
    FORMAT_ROLE_CLOSE,
    FORMAT_ROLE_VOLUME,
    FORMAT_ROLE_COUNT
};

/* Index of an optional column: the bit position in enum ohlcx_extra_column. */
enum format_extra_index {
    FORMAT_EXTRA_QUOTE_VOLUME = 0,
    FORMAT_EXTRA_TRADES,
    FORMAT_EXTRA_TAKER_BASE,
    FORMAT_EXTRA_TAKER_QUOTE,
};

/* Kind of value in one field of the first data row. */
enum format_value_kind {
    FORMAT_VALUE_EMPTY = 0,
    FORMAT_VALUE_TEXT,
    FORMAT_VALUE_NUMBER,   /* a number that is no epoch time */
    FORMAT_VALUE_EPOCH,    /* an integer of 9 or more digits, optionally with a fraction */
    FORMAT_VALUE_DATE,     /* a calendar date without a time of day */
    FORMAT_VALUE_DATETIME, /* a date with a time of day */
    FORMAT_VALUE_CLOCK,    /* a time of day alone: 10:00, 10:00:00, 100000 */
};

/* Bits that the time parsers set to say what the text contained. */
enum format_time_flag {
    FORMAT_TIME_CLOCK = 1u << 0, /* a time of day was given */
    FORMAT_TIME_ZONE = 1u << 1,  /* the time is absolute: an offset, Z, UTC or an epoch */
};

typedef struct format_layout {
    char name[48];      /* such as "binance-kline-12" */
    char delimiter;     /* ',', ';', '\t' or one from the columns option */
    int has_header;
    size_t first_data_line; /* lines before it are a banner or the header */
    size_t field_count;     /* fields every data row must have */
    /* 0-based field index of each role. The time role is the open time (a
     * datetime or an epoch) or, when date_column is set, the time of day
     * (FORMAT_NO_COLUMN for date-only files). Volume may be
     * FORMAT_NO_COLUMN under the columns option, and then reads as 0. */
    size_t column[FORMAT_ROLE_COUNT];
    /* A second column with the same role, read when the first is empty. */
    size_t fallback[FORMAT_ROLE_COUNT];
    size_t date_column;
    size_t extra[OHLCX_EXTRA_COUNT]; /* optional columns, by enum format_extra_index */
    char column_name[FORMAT_ROLE_COUNT][FORMAT_NAME_MAX]; /* names for messages */
    char date_name[FORMAT_NAME_MAX];
    char extra_name[OHLCX_EXTRA_COUNT][FORMAT_NAME_MAX];
    int time_is_close;  /* the time column contains bar close times */
    int compact_date;   /* 8-digit values in the time or date column are YYYYMMDD */
    int decimal_comma;  /* "1.234,5" numbers: ',' is the decimal separator */
    int day_first;      /* slash dates are DD/MM/YYYY rather than MM/DD/YYYY */
    char time_format[64]; /* a pattern from the columns option, or "" */
} format_layout;

typedef struct format_zone format_zone;

/* Fields that the fast path of plain.c parses as numbers: every role but
 * the time, and the optional columns. */
#define FORMAT_PLAIN_NUMBERS_MAX (FORMAT_ROLE_COUNT - 1 + OHLCX_EXTRA_COUNT)

/* What the fast path of plain.c does with each field of a line: action[i] is
 * 0 to skip field i, or 1 + the slot it goes to. Slots are the roles (enum
 * format_role, the time role for the open time) followed by the optional
 * columns (enum format_extra_index). The same plan as a list: the time
 * field, then the number fields in line order with their slots. */
typedef struct format_plain_plan {
    int enabled; /* the layout is one that the fast path can read */
    char delimiter;
    size_t field_count;
    unsigned char action[FORMAT_MAX_FIELDS];
    size_t time_field;
    size_t number_count;
    unsigned char number_field[FORMAT_PLAIN_NUMBERS_MAX];
    unsigned char number_slot[FORMAT_PLAIN_NUMBERS_MAX];
} format_plain_plan;

/* State of one ohlcx_read_candles() call. */
typedef struct format_reader {
    const char *path;
    int policy;
    format_layout layout;
    format_plain_plan plain;
    const format_zone *zone;  /* NULL: times without an offset are UTC */
    int threads;              /* threads that may parse the rows, 1 or more */
    int64_t previous_time_us; /* open time of the last row kept */
    int has_previous_time;
    ohlcx_series *out;
    ohlcx_read_report *report;
    size_t first_bad_line;
    char first_bad_reason[FORMAT_REASON_MAX];
    struct ohlcx_blake3 *hasher; /* hashes the file as it is read; NULL when unused */
    int hash_whole_file;         /* hash compressed files and the bytes after the parse */
    int hashed_whole;            /* hasher contains the BLAKE3 of the whole file */
    uint64_t hashed_bytes;       /* bytes hashed, the file size when hashed_whole */
    /* Streaming (ohlcx_read_candles_stream()): rows go to sink in batches
     * of about sink_rows, and out is emptied after each batch. */
    ohlcx_rows_sink sink;
    void *sink_arg;
    size_t sink_rows;
    struct ohlcx_read_ahead *ahead; /* faults the mapping in from another thread, or NULL */
    size_t rows_streamed;        /* rows passed to the sink so far */
    const ohlcx_read_options *options; /* for naming the series before the first batch */
} format_reader;

/* Why a row could not be parsed and where. */
typedef struct format_row_error {
    size_t column; /* 1-based byte column in the line */
    char reason[FORMAT_REASON_MAX];
} format_row_error;

/* ---- sources and chunks (source.c) ---- */

typedef struct format_source format_source;

/* Opens path and recognises gzip and zstd input by its first bytes.
 * Returns 0 or OHLCX_EIO / OHLCX_ENOMEM with a message. */
int format_source_open(const char *path, format_source **source);

/* Reads up to size decompressed bytes; *got is 0 only at the end. */
int format_source_read(format_source *source, char *buffer, size_t size, size_t *got);

/* Returns the size in bytes of an uncompressed regular file, or 0 when it
 * is compressed or not a regular file. */
size_t format_source_plain_size(const format_source *source);

/* Adds every byte that a plain source reads from now on to hasher, which
 * the caller keeps until the source is closed. Returns 1, or 0 for gzip
 * and zstd sources, whose readers get only the decompressed bytes. With
 * whole_file set it returns 1 for every source: gzip and zstd sources are
 * hashed too (their compressed bytes), and format_source_finish_hash()
 * hashes what the parse left unread. */
int format_source_hash(format_source *source, struct ohlcx_blake3 *hasher, int whole_file);

/* Completes the digest of a hashing source once the parse is done, using
 * scratch (size bytes) as a buffer. Sets *whole to 1 when the hasher
 * contains the BLAKE3 of every byte of the file. It is 0 when the parse
 * stopped early without whole_file, or when the file changed while it was
 * read. Returns 0, or OHLCX_EIO when a read fails. */
int format_source_finish_hash(format_source *source, char *scratch, size_t size, int *whole);

/* Returns the bytes added to the hasher so far. */
uint64_t format_source_hashed_bytes(const format_source *source);

/* Returns 1 when the open file no longer has the inode, size and times
 * that it had when it was opened: another program rewrote or truncated it. */
int format_source_changed(const format_source *source);

void format_source_close(format_source *source);

/* Maps an uncompressed regular file of at least FORMAT_CHUNK_BYTES, so that
 * chunks are windows into the file instead of copies of it. Returns 1 when
 * mapped, 0 when the source is read instead (compressed, small, not a
 * regular file, or the mapping failed). Only a thread that has set
 * format_source_guard() may touch the mapped bytes. */
int format_source_map(format_source *source);

/* Lets another thread fault in the mapping of source ahead of the parse
 * through ahead (ohlcx_read_ahead_step()) until the source is closed. Call
 * after format_source_map(); without a mapping it does nothing. */
void format_source_read_ahead(format_source *source, struct ohlcx_read_ahead *ahead);

/* Sets where a SIGBUS on this thread jumps to: a mapped file that another
 * process cut short while it was read faults on the pages it lost, and the
 * read then fails with an error instead of killing the process. NULL ends
 * the guard. A SIGBUS without a guard gets the action it had before. */
void format_source_guard(sigjmp_buf *target);

/* A window [start, end) of unread bytes: in a buffer of FORMAT_CHUNK_BYTES
 * plus FORMAT_CHUNK_PADDING bytes, or, for a mapped source, in the mapped
 * file, which is followed by at least FORMAT_CHUNK_PADDING zero bytes.
 * A window into the map is writable (a private copy of the pages written)
 * but is the file's data: a byte written past end must be put back. */
typedef struct format_chunks {
    format_source *source;
    const char *path;
    char *data;
    size_t start;
    size_t end;
    int eof;
    int mapped; /* data points into the source's mapping */
} format_chunks;

/* Moves the unread bytes to the front of the buffer and reads until it is
 * full or the input ends. */
int format_chunks_fill(format_chunks *chunks);

/* ---- rows (read.c, row.c, json.c, parallel.c) ---- */

/* Lines in a row that the fast path may fail to take before the reader
 * stops offering it any. */
#define FORMAT_PLAIN_MISSES_MAX 32

static inline int format_is_blank_line(const char *line, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (line[i] != ' ' && line[i] != '\t')
            return 0;
    return 1;
}


static inline size_t format_strip_carriage_return(const char *line, size_t length)
{
    return length > 0 && line[length - 1] == '\r' ? length - 1 : length;
}

/* Parses the data lines that follow the first line_number lines of the file
 * on up to threads threads (see parallel.c), appending the rows to
 * reader->out and filling reader->report as the one-thread loop does. The
 * unread bytes of chunks start at a line start. The layout must be known,
 * and reader->zone must be NULL. Returns 0 or a negative OHLCX code with
 * the message that one thread would give. */
int format_read_parallel(format_reader *reader, format_chunks *chunks, size_t line_number,
                         int threads);

/* Sets the bytes that format_read_parallel() reads for one piece; 0
 * restores the default of 1 MiB. Tests set small sizes so that small files
 * cross piece boundaries. Not for use while a read runs. */
void format_parallel_set_block_bytes(size_t bytes);

/* Parses one delimited row and appends it. Returns 0, FORMAT_BAD_ROW with
 * error filled, or a negative OHLCX code with the message set. */
int format_parse_row(format_reader *reader, const char *line, size_t length,
                     format_row_error *error);

/* Appends one bar; values is indexed by enum format_role (the time slot is
 * unused) and extras, which may be NULL, by the enum ohlcx_extra_column bit. */
int format_store_row(format_reader *reader, int64_t time_us, const double *values,
                     const double *extras);

/* Fails the read or records the bad row, following the bad-rows policy. */
int format_handle_bad_row(format_reader *reader, size_t line_number,
                          const format_row_error *error);

/* Fills error for a field that does not parse as what ("number", "time")
 * and returns FORMAT_BAD_ROW. */
int format_field_error(format_row_error *error, const format_field *field, size_t index,
                       const char *name, const char *what);

/* Plans the fast path of plain.c for a layout. plan->enabled is 0 when the
 * layout needs the general path, such as with a decimal comma, a date
 * column or a time_format. */
void format_plain_plan_init(format_plain_plan *plan, const format_layout *layout);

/* Parses and appends the plain lines that start in [text, end) and stops at
 * the first line that is not plain or not whole, which is left for
 * format_parse_row(). Either end[-1] is a '\n' or end[0] is a '\0', and
 * FORMAT_CHUNK_PADDING readable bytes follow end. Returns the start of the
 * first line not parsed, and sets *lines to the number parsed and *status
 * to 0 or a negative OHLCX code from growing the series. */
const char *format_parse_plain_span(format_reader *reader, const char *text, const char *end,
                                    size_t *lines, int *status);

/* Parses a plain decimal ([+-]digits[.digits] or [+-].digits) at text into
 * the correctly rounded double, which is the value strtod() returns, and
 * returns the byte after it. Returns NULL and leaves *out alone when the
 * number needs format_parse_number(): no digit, more than 19 digits, a
 * mantissa above 2^53, more than 22 fraction digits, or an exponent or
 * second '.' after it. text must end in a byte that is no digit, such as
 * '\0', and the 7 bytes after that byte must be readable, because digits
 * are read 8 bytes at a time. */
const char *format_scan_plain_number(const char *text, double *out);

/* Reads a freqtrade JSON file ([[ms, open, high, low, close, volume], ...])
 * whose first chunk is in chunks. Sets reader->report->lines. */
int format_read_json(format_reader *reader, format_chunks *chunks);

/* ---- layout detection (sniff.c, layout.c, columns.c) ---- */

/* Returns the kind of a field value. clock_name is nonzero when the column
 * is named like a time of day, so that 100000 reads as 10:00:00. */
int format_classify_value(const char *text, size_t length, int clock_name);

/* Returns the delimiter of a line: tab, then ';', then ',' if present
 * outside quotes (',' when none is). */
char format_sniff_delimiter(const char *line, size_t length);

/* Returns 1 for a banner line above the header, such as
 * "Timestamps are UTC timezone,https://www.CryptoDataDownload.com". */
int format_is_banner(const char *line, size_t length);

/* Returns 1 when most non-empty fields are numbers, dates or times. */
int format_is_data_line(const format_field *fields, size_t count);

/* Sets decimal_comma, day_first and compact_date from the data lines, once
 * the roles are known. */
void format_sniff_values(const format_line *lines, size_t count, format_layout *layout);

/* Recognises the layout from the first non-blank lines of the file (at most
 * FORMAT_SNIFF_LINES). columns is the columns option or NULL. Returns 0, or
 * OHLCX_EFORMAT / OHLCX_EINVAL with a message that lists the columns found
 * and shows how to map them. */
int format_detect_layout(const char *path, const format_line *lines, size_t count,
                         const char *columns, format_layout *layout);

/* Builds the layout from the columns option; lines[0] is the first line
 * after any banner. */
int format_apply_columns(const char *path, const char *columns, const format_line *lines,
                         size_t count, format_layout *layout);

/* Writes a header name in lower case with accents folded (á to a) and every
 * character but letters and digits dropped: "Máxima" gives "maxima". */
void format_fold_name(const char *text, size_t length, char *out, size_t size);

/* Writes the fields as written, comma-separated, for a message. */
void format_list_columns(const format_field *fields, size_t count, char *out, size_t size);

/* Copies a field for a message, replacing control characters. */
void format_copy_printable(const format_field *field, char *out, size_t size);

/* Sets every column of a layout to FORMAT_NO_COLUMN and the defaults. */
void format_layout_init(format_layout *layout);

/* ---- fields and numbers (fields.c) ---- */

/* Splits line[0, length) at commas (see format_split_delimited()). Kept for
 * callers that only read comma-separated text. */
size_t format_split_fields(const char *line, size_t length, format_field *fields, size_t max);

/* Splits line[0, length) at delimiter, trimming blanks. A field that starts
 * with a double quote runs to the closing quote, so it may contain the
 * delimiter. A doubled quote inside it is an escaped quote and stays in the
 * view. Fills at most max fields and returns the number of fields on the
 * line. */
size_t format_split_delimited(const char *line, size_t length, char delimiter,
                              format_field *fields, size_t max);

/* Parses a decimal number (sign, digits, optional fraction and exponent).
 * Rejects empty text, NaN, infinities and hexadecimal. Returns 0 or -1. */
int format_parse_number(const char *text, size_t length, double *out);

/* Parses a number written for people: thousands separators ("12,084.30",
 * or "76.761,5" when decimal_comma is set) in groups of three, and a K, M
 * or B suffix for thousands, millions and billions ("46,88K"). Returns 0 or
 * -1. */
int format_parse_number_styled(const char *text, size_t length, int decimal_comma,
                               double *out);

/* Parses an epoch time: digits with an optional fraction, in seconds,
 * milliseconds, microseconds or nanoseconds, distinguished by magnitude.
 * Returns 0, or -1 for other text and for times from
 * FORMAT_EPOCH_LIMIT_US on. */
int format_parse_epoch(const char *text, size_t length, int64_t *out_us);

/* Returns the microseconds per unit of an integer epoch time, by its
 * magnitude: below 1e11 seconds (up to year 5138), below 1e14 milliseconds,
 * below 1e17 microseconds. Returns 0 for nanoseconds (1e17 and above),
 * which take value / 1000. NOTE: millisecond times before 1973-03-03 (below
 * 1e11) are read as seconds. */
static inline int64_t format_epoch_unit_us(int64_t value)
{
    if (value >= INT64_C(100000000000000000))
        return 0;
    return value < INT64_C(100000000000)      ? OHLCX_US_PER_SECOND
           : value < INT64_C(100000000000000) ? 1000
                                              : 1;
}

/* The first open time that an epoch time may not reach: 2200-01-01 00:00
 * UTC. A time past it has a digit too many or too few for its unit (a
 * 17-digit value would be microseconds of the year 2510), so it is a bad
 * value rather than a bar from the future. */
#define FORMAT_EPOCH_LIMIT_US INT64_C(7258118400000000)

/* Converts a non-negative integer epoch time to microseconds, as
 * format_parse_epoch() does for one without a fraction. */
static inline int64_t format_epoch_integer_us(int64_t value)
{
    int64_t unit_us = format_epoch_unit_us(value);

    return unit_us == 0 ? value / 1000 : value * unit_us;
}

/* Parses an open time: an epoch time (format_parse_epoch()) or a datetime
 * string accepted by ohlcx_parse_datetime(). Returns 0 or -1. */
int format_parse_time(const char *text, size_t length, int64_t *out_us);

/* ---- dates and times (datetime.c, datetext.c) ---- */

int64_t format_days_from_civil(int year, int month, int day);
void format_civil_from_days(int64_t days, int *year, int *month, int *day);
int format_days_in_month(int year, int month);

/* Parses a date with an optional time of day and zone in the layouts
 * listed in datetext.c. day_first picks DD/MM/YYYY over MM/DD/YYYY for
 * slash dates. Without a zone the result is the wall-clock time as if it
 * were UTC. Sets *flags (enum format_time_flag). Returns 0 or -1. */
int format_parse_date_time(const char *text, size_t length, int day_first, int64_t *out_us,
                           unsigned *flags);

/* Parses YYYYMMDD. Returns 0 or -1. */
int format_parse_compact_date(const char *text, size_t length, int64_t *out_us);

/* Parses a time of day (HH:MM, HH:MM:SS[.f], HHMMSS or HHMM) into
 * microseconds after midnight. Returns 0 or -1. */
int format_parse_clock(const char *text, size_t length, int64_t *out_us);

/* Parses text with a strftime-style pattern (directives listed in
 * format.h). Returns 0 or -1. */
int format_parse_pattern(const char *pattern, const char *text, size_t length,
                         int64_t *out_us, unsigned *flags);

/* Returns 0 when every % directive of pattern is supported, else the
 * position of the first unsupported one plus 1. */
size_t format_check_pattern(const char *pattern);

/* ---- time zones (timezone.c) ---- */

/* Loads an IANA zone (Europe/Berlin) from its TZif file. Returns 0, or
 * OHLCX_EINVAL naming the zone, or OHLCX_ENOMEM. */
int format_zone_load(const char *name, format_zone **zone);

void format_zone_free(format_zone *zone);

/* Returns the offset from UTC, in seconds, in effect at a UTC time. */
int64_t format_zone_offset(const format_zone *zone, int64_t utc_seconds);

/* Converts a wall-clock time to UTC (see timezone.c for repeated and
 * skipped local times). previous_us is the open time of the row before, or
 * NULL. */
int64_t format_zone_to_utc(const format_zone *zone, int64_t local_us, const int64_t *previous_us);

/* ---- names (filename.c, timeframe.c) ---- */

/* Takes symbol and canonical timeframe from a file name without touching the
 * error message. Either may come back "". */
void format_file_name_parts(const char *path, char *symbol, char *timeframe);

/* Finds the canonical timeframe nearest to the median spacing of n open
 * times (within 10%). Returns 0, or OHLCX_EDATA or OHLCX_ENOMEM with a
 * message naming path. */
int format_infer_timeframe(const char *path, const int64_t *open_time, size_t n,
                           char *timeframe);

#endif
