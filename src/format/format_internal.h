/*
 * Internal interface of the format module: field splitting, number and time
 * parsing, layout detection and timeframe helpers shared by its files.
 *
 * Fields are (pointer, length) views into a line of the file buffer. Nothing
 * here allocates except format_infer_timeframe(), which sorts a copy of the
 * open-time spacings.
 */
#ifndef OHLCX_FORMAT_INTERNAL_H
#define OHLCX_FORMAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Fields beyond this many on a line are counted but not located. */
#define FORMAT_MAX_FIELDS 64

typedef struct format_field {
    const char *text;
    size_t length;
    size_t column; /* 1-based byte column of the field's first character */
} format_field;

enum format_role {
    FORMAT_ROLE_TIME = 0,
    FORMAT_ROLE_OPEN,
    FORMAT_ROLE_HIGH,
    FORMAT_ROLE_LOW,
    FORMAT_ROLE_CLOSE,
    FORMAT_ROLE_VOLUME,
    FORMAT_ROLE_COUNT
};

typedef struct format_layout {
    char name[48];                       /* such as "binance-kline-12" */
    int has_header;
    size_t field_count;                  /* fields every data row must have */
    size_t column[FORMAT_ROLE_COUNT];    /* 0-based field index of each role */
    char column_name[FORMAT_ROLE_COUNT][32]; /* header names, for messages */
    int time_is_close;                   /* time column contains bar close times */
} format_layout;

/* Splits line[0, length) at commas, trimming blanks and one pair of double
 * quotes around each field. Fills at most max fields and returns the number
 * of fields on the line. Quoted commas are not supported. */
size_t format_split_fields(const char *line, size_t length, format_field *fields, size_t max);

/* Parses a decimal number (sign, digits, optional fraction and exponent).
 * Rejects empty text, NaN, infinities and hexadecimal. Returns 0 or -1. */
int format_parse_number(const char *text, size_t length, double *out);

/* Parses an open time: an epoch integer in seconds, milliseconds,
 * microseconds or nanoseconds (distinguished by magnitude), or a datetime string
 * accepted by ohlcx_parse_datetime(). Returns 0 or -1. */
int format_parse_time(const char *text, size_t length, int64_t *out_us);

/* Recognises the layout from the first non-blank line, which is line
 * line_number of path. Returns 0, or OHLCX_EFORMAT with a message that lists
 * the columns found. */
int format_detect_layout(const char *path, size_t line_number, const char *line,
                         size_t length, format_layout *layout);

/* Takes symbol and canonical timeframe from a file name without touching the
 * error message. Either may come back "". */
void format_file_name_parts(const char *path, char *symbol, char *timeframe);

/* Finds the canonical timeframe nearest to the median spacing of n open
 * times (within 10%). Returns 0, or OHLCX_EDATA or OHLCX_ENOMEM with a
 * message naming path. */
int format_infer_timeframe(const char *path, const int64_t *open_time, size_t n,
                           char *timeframe);

#endif
