/*
 * Reading candle files into series (see include/ohlcx/format.h for the
 * layouts).
 *
 * The whole file is read into one buffer and parsed in place: lines and
 * fields are (pointer, length) views, and the series columns are reserved
 * once for the number of lines, so the row loop allocates nothing. A row
 * that cannot be parsed stops the read with "FILE:LINE:COLUMN: reason"
 * (COLUMN counts bytes from 1) or, under OHLCX_BAD_ROWS_SKIP, is counted and
 * listed in the report. Rows keep file order; sorting and duplicate checks
 * belong to ohlcx_validate_basic().
 *
 * Files labelled by bar close time get open = close - timeframe, after
 * rounding a close time that ends in .999 ms (or later) up to the next whole
 * second, so that 00:14:59.999+01:00 on a 15m file opens at 23:00:00 UTC.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"

/* Characters of a bad value quoted in a message. */
#define QUOTED_VALUE_MAX 40

typedef struct reader {
    const char *path;
    int policy;
    format_layout layout;
    ohlcx_series *out;
    ohlcx_read_report *report;
    size_t first_bad_line;
    char first_bad_reason[sizeof ((ohlcx_bad_row *)0)->reason];
} reader;

/* Why a row could not be parsed and where. */
typedef struct row_error {
    size_t column; /* 1-based byte column in the line */
    char reason[sizeof ((ohlcx_bad_row *)0)->reason];
} row_error;


static int load_file(const char *path, char **data, size_t *size)
{
    FILE *file = fopen(path, "rb");
    char *buffer = NULL;
    size_t capacity = 1 << 16, used = 0;

    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));

    for (;;) {
        char *grown = realloc(buffer, capacity + 1);
        size_t got = 0;

        if (grown == NULL) {
            free(buffer);
            fclose(file);
            return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory reading the file", path);
        }
        buffer = grown;
        got = fread(buffer + used, 1, capacity - used, file);
        used += got;
        if (used < capacity)
            break;
        capacity *= 2;
    }
    if (ferror(file)) {
        int saved_errno = errno;
        free(buffer);
        fclose(file);
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", path, strerror(saved_errno));
    }
    fclose(file);
    buffer[used] = '\0';
    *data = buffer;
    *size = used;
    return 0;
}


/* Cuts the next line from [*cursor, end), without its "\n" or "\r\n". */
static int next_line(const char **cursor, const char *end, const char **line, size_t *length)
{
    const char *start = *cursor;
    const char *newline = NULL;

    if (start >= end)
        return 0;
    newline = memchr(start, '\n', (size_t)(end - start));
    *cursor = newline ? newline + 1 : end;
    *length = (size_t)((newline ? newline : end) - start);
    if (*length > 0 && start[*length - 1] == '\r')
        (*length)--;
    *line = start;
    return 1;
}


static int is_blank_line(const char *line, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (line[i] != ' ' && line[i] != '\t')
            return 0;
    return 1;
}


static size_t count_lines(const char *data, size_t size)
{
    size_t lines = 1;

    for (const char *p = data; (p = memchr(p, '\n', (size_t)(data + size - p))) != NULL; p++)
        lines++;
    return lines;
}


static int field_error(row_error *error, const format_field *field, size_t index,
                       const char *name, const char *what)
{
    int quoted_length = field->length < QUOTED_VALUE_MAX ? (int)field->length : QUOTED_VALUE_MAX;

    error->column = field->column;
    if (field->length == 0)
        snprintf(error->reason, sizeof error->reason, "column %zu (%s): empty value", index + 1,
                 name);
    else
        snprintf(error->reason, sizeof error->reason, "column %zu (%s): invalid %s '%.*s%s'",
                 index + 1, name, what, quoted_length, field->text,
                 field->length > QUOTED_VALUE_MAX ? "..." : "");
    return -1;
}


/* Parses one data row into the next slot of the series, whose capacity the
 * caller has reserved. */
static int parse_row(reader *r, const char *line, size_t length, row_error *error)
{
    const format_layout *layout = &r->layout;
    format_field fields[FORMAT_MAX_FIELDS];
    size_t count = format_split_fields(line, length, fields, FORMAT_MAX_FIELDS);
    size_t time_index = layout->column[FORMAT_ROLE_TIME];
    double values[FORMAT_ROLE_COUNT];
    int64_t time_us = 0;
    ohlcx_series *out = r->out;

    if (count != layout->field_count) {
        error->column = count > layout->field_count && layout->field_count < FORMAT_MAX_FIELDS
                            ? fields[layout->field_count].column
                            : length + 1;
        snprintf(error->reason, sizeof error->reason, "expected %zu fields, found %zu",
                 layout->field_count, count);
        return -1;
    }

    if (format_parse_time(fields[time_index].text, fields[time_index].length, &time_us) != 0)
        return field_error(error, &fields[time_index], time_index,
                           layout->column_name[FORMAT_ROLE_TIME], "time");
    for (int role = FORMAT_ROLE_OPEN; role < FORMAT_ROLE_COUNT; role++) {
        size_t index = layout->column[role];
        if (format_parse_number(fields[index].text, fields[index].length, &values[role]) != 0)
            return field_error(error, &fields[index], index, layout->column_name[role],
                               "number");
    }

    assert(out->n < out->capacity); /* the columns are reserved for every line */
    out->open_time[out->n] = time_us;
    out->open[out->n] = values[FORMAT_ROLE_OPEN];
    out->high[out->n] = values[FORMAT_ROLE_HIGH];
    out->low[out->n] = values[FORMAT_ROLE_LOW];
    out->close[out->n] = values[FORMAT_ROLE_CLOSE];
    out->volume[out->n] = values[FORMAT_ROLE_VOLUME];
    out->flags[out->n] = 0;
    out->n++;
    return 0;
}


static int handle_bad_row(reader *r, size_t line_number, const row_error *error)
{
    ohlcx_read_report *report = r->report;

    if (r->policy == OHLCX_BAD_ROWS_FAIL)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: %s", r->path, line_number,
                               error->column, error->reason);

    if (report->bad_row_count == 0) {
        r->first_bad_line = line_number;
        snprintf(r->first_bad_reason, sizeof r->first_bad_reason, "%s", error->reason);
    }
    if (report->bad_rows == NULL) {
        report->bad_rows = calloc(OHLCX_BAD_ROWS_LISTED, sizeof *report->bad_rows);
        if (report->bad_rows == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory listing bad rows", r->path);
    }
    if (report->bad_row_count < OHLCX_BAD_ROWS_LISTED) {
        ohlcx_bad_row *listed = &report->bad_rows[report->bad_row_count];
        listed->line = line_number;
        snprintf(listed->reason, sizeof listed->reason, "%s", error->reason);
    }
    report->bad_row_count++;
    return 0;
}


/* Detects the layout from the first non-blank line and parses every row. */
static int read_rows(reader *r, const char *data, size_t size)
{
    const char *cursor = data, *end = data + size, *line = NULL;
    size_t length = 0, line_number = 0;
    int status = 0, have_layout = 0;

    /* A UTF-8 byte order mark would otherwise stick to the first column name. */
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        cursor += 3;

    while (next_line(&cursor, end, &line, &length)) {
        row_error error;

        line_number++;
        if (is_blank_line(line, length))
            continue;
        if (!have_layout) {
            status = format_detect_layout(r->path, line_number, line, length, &r->layout);
            if (status != 0)
                return status;
            have_layout = 1;
            if (r->layout.has_header)
                continue;
        }
        if (parse_row(r, line, length, &error) == 0)
            continue;
        status = handle_bad_row(r, line_number, &error);
        if (status != 0)
            return status;
    }
    r->report->lines = line_number;

    if (!have_layout)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: the file is empty", r->path);
    if (r->out->n == 0 && r->report->bad_row_count == 0)
        return ohlcx_set_error(OHLCX_EDATA, "%s: no data rows: the file has only a header line",
                               r->path);
    if (r->out->n == 0)
        return ohlcx_set_error(OHLCX_EDATA, "%s: no valid rows: all %zu data rows are bad "
                                            "(first at line %zu: %s)",
                               r->path, r->report->bad_row_count, r->first_bad_line,
                               r->first_bad_reason);
    return 0;
}


/* Sets symbol, timeframe and asset class from the options or the file name,
 * inferring the timeframe from the open times when neither gives it. */
static int name_series(const char *path, const ohlcx_read_options *options, ohlcx_series *out)
{
    char symbol[OHLCX_SYMBOL_MAX], timeframe[OHLCX_TIMEFRAME_MAX];

    format_file_name_parts(path, symbol, timeframe);
    if (options != NULL && options->symbol != NULL) {
        if (options->symbol[0] == '\0' || strlen(options->symbol) >= OHLCX_SYMBOL_MAX)
            return ohlcx_set_error(OHLCX_EINVAL, "invalid symbol '%s': use 1 to %d characters",
                                   options->symbol, OHLCX_SYMBOL_MAX - 1);
        strcpy(symbol, options->symbol);
    } else if (symbol[0] == '\0') {
        return ohlcx_parse_file_name(path, symbol, timeframe);
    }

    if (options != NULL && options->timeframe != NULL) {
        int status = ohlcx_timeframe_parse(options->timeframe, timeframe);
        if (status != 0)
            return status;
    } else if (timeframe[0] == '\0') {
        int status = format_infer_timeframe(path, out->open_time, out->n, timeframe);
        if (status != 0)
            return status;
    }

    strcpy(out->symbol, symbol);
    strcpy(out->timeframe, timeframe);
    out->asset_class = ohlcx_asset_class_guess(symbol);
    snprintf(out->source_path, sizeof out->source_path, "%s", path);
    return 0;
}


/* Turns close-time labels into open times (see the file comment). */
static int close_times_to_open_times(const char *path, ohlcx_series *series)
{
    int64_t length = ohlcx_timeframe_us(series->timeframe);

    if (strcmp(series->timeframe, "1M") == 0 || strcmp(series->timeframe, "3M") == 0)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: bars are labelled by close time, which needs a fixed-length "
                               "timeframe, not %s",
                               path, series->timeframe);
    for (size_t i = 0; i < series->n; i++) {
        int64_t label = series->open_time[i];
        int64_t subsecond = label % OHLCX_US_PER_SECOND;

        if (subsecond < 0)
            subsecond += OHLCX_US_PER_SECOND;
        if (subsecond >= OHLCX_US_PER_SECOND - 1000)
            label += OHLCX_US_PER_SECOND - subsecond;
        series->open_time[i] = label - length;
    }
    return 0;
}


int ohlcx_read_candles(const char *path, const ohlcx_read_options *options,
                       ohlcx_series *out, ohlcx_read_report *report)
{
    ohlcx_read_report local_report;
    reader r;
    char *data = NULL;
    size_t size = 0;
    int status = 0;

    if (path == NULL || out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_read_candles: path and out must not be NULL");
    if (report == NULL)
        report = &local_report;
    memset(report, 0, sizeof *report);
    memset(&r, 0, sizeof r);
    r.path = path;
    r.policy = options ? options->bad_rows : OHLCX_BAD_ROWS_FAIL;
    r.out = out;
    r.report = report;
    ohlcx_series_free(out);
    if (r.policy != OHLCX_BAD_ROWS_FAIL && r.policy != OHLCX_BAD_ROWS_SKIP) {
        status = ohlcx_set_error(OHLCX_EINVAL, "invalid bad-rows policy %d: use fail or skip",
                                 r.policy);
        goto fail;
    }

    status = load_file(path, &data, &size);
    if (status != 0)
        goto fail;
    status = ohlcx_series_reserve(out, count_lines(data, size));
    if (status != 0)
        goto fail;
    status = read_rows(&r, data, size);
    if (status != 0)
        goto fail;
    snprintf(report->layout, sizeof report->layout, "%s", r.layout.name);
    report->rows_read = out->n;

    status = name_series(path, options, out);
    if (status != 0)
        goto fail;
    if (r.layout.time_is_close) {
        status = close_times_to_open_times(path, out);
        if (status != 0)
            goto fail;
    }

    free(data);
    if (report == &local_report)
        ohlcx_read_report_free(report);
    return 0;

fail:
    free(data);
    ohlcx_series_free(out);
    ohlcx_read_report_free(report);
    return status;
}


void ohlcx_read_report_free(ohlcx_read_report *report)
{
    if (report == NULL)
        return;
    free(report->bad_rows);
    report->bad_rows = NULL;
}
