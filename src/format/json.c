/*
 * freqtrade JSON: one array of rows [time, open, high, low, close, volume],
 * with the time in epoch milliseconds (or a datetime string).
 *
 * The file is scanned a chunk at a time for the rows of the outer array,
 * tracking strings so that brackets inside them do not count, and each row
 * is handed to cJSON on its own. So memory stays at one chunk however long
 * the file (freqtrade writes it all on one line), and a row split across
 * two chunks is carried over. Errors in the array's structure stop the
 * read. A row with the wrong number or kind of values is a bad row under
 * the bad-rows policy, reported at the line and column of its '['.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "format_internal.h"
#include "ohlcx/error.h"

#define JSON_ROW_VALUES 6

typedef struct json_scan {
    int depth;          /* 0 outside the array, 1 between rows, 2 inside a row */
    int done;           /* the outer array has closed */
    int expect_row;     /* at depth 1: after '[' or ',' */
    int seen_row;
    int in_string;
    int escaped;
    size_t line;        /* 1-based line of the scan position */
    size_t line_start;  /* file offset of that line's first byte */
    size_t base;        /* file offset of chunks->data[0] */
    size_t row_start;   /* buffer index of the current row's '[' */
    size_t row_line;
    size_t row_column;
    char last_byte;
} json_scan;

static const char *value_names[JSON_ROW_VALUES] = {"time", "open", "high", "low", "close",
                                                   "volume"};


static int structure_error(const format_reader *reader, const json_scan *scan, size_t index,
                           const char *what)
{
    return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: invalid freqtrade JSON: %s", reader->path,
                           scan->line, scan->base + index - scan->line_start + 1, what);
}


static int row_time(format_reader *reader, const cJSON *item, int64_t *out_us)
{
    unsigned flags = FORMAT_TIME_ZONE;
    char text[32];
    int length = 0;

    if (cJSON_IsString(item)) {
        const char *value = item->valuestring;
        if (format_parse_date_time(value, strlen(value), 0, out_us, &flags) != 0)
            return -1;
    } else if (cJSON_IsNumber(item) && item->valuedouble >= 0 && item->valuedouble < 9.2e18 &&
               item->valuedouble == floor(item->valuedouble)) {
        length = snprintf(text, sizeof text, "%lld", (long long)item->valuedouble);
        if (format_parse_epoch(text, (size_t)length, out_us) != 0)
            return -1;
    } else {
        return -1;
    }
    if (reader->zone != NULL && (flags & FORMAT_TIME_CLOCK) && !(flags & FORMAT_TIME_ZONE))
        *out_us = format_zone_to_utc(reader->zone, *out_us,
                                     reader->has_previous_time ? &reader->previous_time_us : NULL);
    return 0;
}


static int row_error(format_row_error *error, size_t column, const char *reason, int index)
{
    error->column = column;
    if (index >= 0)
        snprintf(error->reason, sizeof error->reason, "value %d (%s): %s", index + 1,
                 value_names[index], reason);
    else
        snprintf(error->reason, sizeof error->reason, "%s", reason);
    return FORMAT_BAD_ROW;
}


/* Parses one row's text "[...]" and appends it. */
static int parse_json_row(format_reader *reader, const char *text, size_t length, size_t column,
                          format_row_error *error)
{
    cJSON *row = cJSON_ParseWithLength(text, length);
    double values[FORMAT_ROLE_COUNT];
    int64_t time_us = 0;
    int count = 0, status = 0;

    if (row == NULL || !cJSON_IsArray(row)) {
        cJSON_Delete(row);
        return row_error(error, column, "invalid JSON row", -1);
    }
    count = cJSON_GetArraySize(row);
    if (count != JSON_ROW_VALUES) {
        char reason[64];
        cJSON_Delete(row);
        snprintf(reason, sizeof reason, "expected %d values, found %d", JSON_ROW_VALUES, count);
        return row_error(error, column, reason, -1);
    }
    if (row_time(reader, cJSON_GetArrayItem(row, 0), &time_us) != 0) {
        cJSON_Delete(row);
        return row_error(error, column, "invalid time", 0);
    }
    for (int i = 1; i < JSON_ROW_VALUES; i++) {
        const cJSON *item = cJSON_GetArrayItem(row, i);
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
            cJSON_Delete(row);
            return row_error(error, column, "expected a number", i);
        }
        values[i] = item->valuedouble; /* i is the enum format_role of the value */
    }
    cJSON_Delete(row);
    status = format_store_row(reader, time_us, values, NULL);
    return status;
}


static int finish_row(format_reader *reader, format_chunks *chunks, json_scan *scan, size_t end)
{
    format_row_error error;
    int status = parse_json_row(reader, chunks->data + scan->row_start,
                                end + 1 - scan->row_start, scan->row_column, &error);

    if (status == FORMAT_BAD_ROW)
        return format_handle_bad_row(reader, scan->row_line, &error);
    return status;
}


/* Scans bytes outside strings at depth 0 and 1. */
static int scan_structure(format_reader *reader, json_scan *scan, size_t i, char c)
{
    int blank = c == ' ' || c == '\t' || c == '\n' || c == '\r';

    if (blank)
        return 0;
    if (scan->depth == 0) {
        if (scan->done)
            return structure_error(reader, scan, i, "text after the closing ']'");
        if (c != '[')
            return structure_error(reader, scan, i, "the file must start with '['");
        scan->depth = 1;
        scan->expect_row = 1;
        return 0;
    }
    if (c == ',' && !scan->expect_row) {
        scan->expect_row = 1;
        return 0;
    }
    if (c == ']' && !(scan->expect_row && scan->seen_row)) {
        scan->depth = 0;
        scan->done = 1;
        return 0;
    }
    if (c == '[' && scan->expect_row) {
        scan->depth = 2;
        scan->expect_row = 0;
        scan->seen_row = 1;
        scan->row_start = i;
        scan->row_line = scan->line;
        scan->row_column = scan->base + i - scan->line_start + 1;
        return 0;
    }
    return structure_error(reader, scan, i, "expected a row such as [1664582400000, 1.0, 2.0, "
                                            "0.5, 1.5, 10.0]");
}


/* Scans one byte inside a row. Returns 1 at the row's closing ']'. */
static int scan_row_byte(format_reader *reader, json_scan *scan, size_t i, char c, int *status)
{
    if (scan->in_string) {
        if (scan->escaped)
            scan->escaped = 0;
        else if (c == '\\')
            scan->escaped = 1;
        else if (c == '"')
            scan->in_string = 0;
        return 0;
    }
    if (c == '"')
        scan->in_string = 1;
    else if (c == '[' || c == '{')
        *status = structure_error(reader, scan, i, "a row must contain numbers or strings, "
                                                   "not arrays or objects");
    return c == ']';
}


/* Scans chunks->data[from, end); consumed rows move chunks->start. */
static int scan_buffer(format_reader *reader, format_chunks *chunks, json_scan *scan, size_t from)
{
    for (size_t i = from; i < chunks->end; i++) {
        char c = chunks->data[i];
        int status = 0;

        if (c == '\n') {
            scan->line++;
            scan->line_start = scan->base + i + 1;
        }
        scan->last_byte = c;
        if (scan->depth == 2) {
            if (scan_row_byte(reader, scan, i, c, &status)) {
                scan->depth = 1;
                status = finish_row(reader, chunks, scan, i);
                chunks->start = i + 1;
            }
        } else {
            status = scan_structure(reader, scan, i, c);
            chunks->start = i + 1;
        }
        if (status != 0)
            return status;
    }
    if (scan->depth == 2)
        chunks->start = scan->row_start;
    return 0;
}


int format_read_json(format_reader *reader, format_chunks *chunks)
{
    json_scan scan;
    size_t from = chunks->start;
    int status = 0;

    memset(&scan, 0, sizeof scan);
    scan.line = 1;
    snprintf(reader->layout.name, sizeof reader->layout.name, "freqtrade-json");

    for (;;) {
        size_t scanned = chunks->end;

        status = scan_buffer(reader, chunks, &scan, from);
        if (status != 0)
            return status;
        if (chunks->eof)
            break;
        if (chunks->start == 0 && chunks->end == FORMAT_CHUNK_BYTES)
            return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: a JSON row is longer than %zu bytes",
                                   reader->path, scan.row_line, scan.row_column,
                                   (size_t)FORMAT_CHUNK_BYTES);
        /* The fill moves the unread bytes to the front: shift the indexes. */
        scan.base += chunks->start;
        from = scanned - chunks->start;
        scan.row_start -= scan.depth == 2 ? chunks->start : 0;
        status = format_chunks_fill(chunks);
        if (status != 0)
            return status;
    }
    if (!scan.done)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu: invalid freqtrade JSON: the file ends "
                                              "before the closing ']'",
                               reader->path, scan.line);
    reader->report->lines = scan.line - (scan.last_byte == '\n' ? 1 : 0);
    return 0;
}
