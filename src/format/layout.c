/*
 * Layout detection: which field of a row contains the open time and each of
 * open, high, low, close and volume.
 *
 * A first line whose first field is a number or a datetime is a data row of
 * a headerless file, recognised by its field count: 12 or 11 fields are a Binance kline
 * dump (open time, OHLCV, close time, ...) and 6 are time,OHLCV. Otherwise
 * the first line is a header and columns are matched by name, ignoring case
 * and every character but letters and digits ("Open Time", "open_time" and
 * "Opentime" match alike). The first column that matches a role takes it and
 * unmatched columns (close_time, quote volume, trades, Adj Close, a second
 * datetime, a leading unnamed index) are skipped. A close-time column
 * (close_datetime, close_time) labels the bars only when no open-time column
 * exists.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"

/* A role that only applies when the header has no open-time column. */
#define ROLE_CLOSE_TIME FORMAT_ROLE_COUNT
#define NO_COLUMN ((size_t)-1)

static const struct {
    const char *name; /* normalised: lower-case letters and digits only */
    int role;
} column_names[] = {
    {"opentime", FORMAT_ROLE_TIME},  {"opentimems", FORMAT_ROLE_TIME},
    {"timestamp", FORMAT_ROLE_TIME}, {"time", FORMAT_ROLE_TIME},
    {"date", FORMAT_ROLE_TIME},      {"datetime", FORMAT_ROLE_TIME},
    {"unix", FORMAT_ROLE_TIME},      {"open", FORMAT_ROLE_OPEN},
    {"high", FORMAT_ROLE_HIGH},      {"low", FORMAT_ROLE_LOW},
    {"close", FORMAT_ROLE_CLOSE},    {"volume", FORMAT_ROLE_VOLUME},
    {"closedatetime", ROLE_CLOSE_TIME}, {"closetime", ROLE_CLOSE_TIME},
    {"closetimems", ROLE_CLOSE_TIME},
};

static const char *role_names[FORMAT_ROLE_COUNT] = {"open_time", "open", "high",
                                                    "low",       "close", "volume"};


static void normalise_name(const format_field *field, char *out, size_t size)
{
    size_t length = 0;

    for (size_t i = 0; i < field->length && length + 1 < size; i++) {
        char c = field->text[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[length++] = c;
    }
    out[length] = '\0';
}


static int role_of_name(const char *normalised)
{
    for (size_t i = 0; i < sizeof column_names / sizeof column_names[0]; i++)
        if (strcmp(normalised, column_names[i].name) == 0)
            return column_names[i].role;
    return -1;
}


/* Copies a field for a message, replacing control characters. */
static void copy_printable(const format_field *field, char *out, size_t size)
{
    size_t length = field->length < size - 1 ? field->length : size - 1;

    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)field->text[i];
        out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[length] = '\0';
}


static void set_default_names(format_layout *layout)
{
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        snprintf(layout->column_name[role], sizeof layout->column_name[role], "%s",
                 role_names[role]);
}


static int detect_headerless(const char *path, size_t line_number, size_t field_count,
                             format_layout *layout)
{
    const char *name = field_count == 12   ? "binance-kline-12"
                       : field_count == 11 ? "binance-kline-11"
                       : field_count == 6  ? "ohlcv-6"
                                           : NULL;

    if (name == NULL)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s:%zu:1: unknown layout: the first line is data (no header) "
                               "with %zu fields, and files without a header must have 12 or "
                               "11 (Binance kline) or 6 (time,open,high,low,close,volume); "
                               "add the header open_time,open,high,low,close,volume",
                               path, line_number, field_count);
    snprintf(layout->name, sizeof layout->name, "%s", name);
    layout->has_header = 0;
    layout->field_count = field_count;
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        layout->column[role] = (size_t)role;
    set_default_names(layout);
    return 0;
}


/* Writes the header names, comma-separated, and the roles no column took. */
static int report_unknown_header(const char *path, size_t line_number,
                                 const format_field *fields, size_t count,
                                 const format_layout *layout)
{
    char found[400] = "", missing[80] = "", name[40];
    size_t used = 0;

    for (size_t i = 0; i < count && i < FORMAT_MAX_FIELDS; i++) {
        copy_printable(&fields[i], name, sizeof name);
        used += (size_t)snprintf(found + used, used < sizeof found ? sizeof found - used : 0,
                                 "%s%s", i > 0 ? "," : "", name);
        if (used >= sizeof found)
            break;
    }
    used = 0;
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        if (layout->column[role] == NO_COLUMN)
            used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%s",
                                     used > 0 ? "," : "", role_names[role]);
    return ohlcx_set_error(OHLCX_EFORMAT,
                           "%s:%zu:1: unknown layout: columns found: %s; no column for %s. "
                           "Rename the columns to open_time,open,high,low,close,volume "
                           "(open_time as a datetime or an epoch time); --symbol and "
                           "--timeframe give what the file name does not",
                           path, line_number, found, missing);
}


static void name_header_layout(format_layout *layout, int has_close_time, int adjusted_close)
{
    const char *name = "ohlcv-header";

    if (layout->time_is_close)
        name = "close-time-labelled";
    else if (has_close_time)
        name = "binance-kline-header";
    else if (adjusted_close)
        name = "yahoo-daily";
    snprintf(layout->name, sizeof layout->name, "%s", name);
}


static int detect_header(const char *path, size_t line_number, const format_field *fields,
                         size_t count, format_layout *layout)
{
    size_t close_time_column = NO_COLUMN;
    int adjusted_close = 0;
    char normalised[40];

    if (count > FORMAT_MAX_FIELDS)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s:%zu:1: unknown layout: the header has %zu columns, more "
                               "than the %d supported",
                               path, line_number, count, FORMAT_MAX_FIELDS);
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        layout->column[role] = NO_COLUMN;

    for (size_t i = 0; i < count; i++) {
        int role = 0;

        normalise_name(&fields[i], normalised, sizeof normalised);
        role = role_of_name(normalised);
        adjusted_close |= strcmp(normalised, "adjclose") == 0;
        if (role == ROLE_CLOSE_TIME && close_time_column == NO_COLUMN)
            close_time_column = i;
        else if (role >= 0 && role < FORMAT_ROLE_COUNT && layout->column[role] == NO_COLUMN)
            layout->column[role] = i;
    }
    if (layout->column[FORMAT_ROLE_TIME] == NO_COLUMN && close_time_column != NO_COLUMN) {
        layout->column[FORMAT_ROLE_TIME] = close_time_column;
        layout->time_is_close = 1;
    }
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        if (layout->column[role] == NO_COLUMN)
            return report_unknown_header(path, line_number, fields, count, layout);

    layout->has_header = 1;
    layout->field_count = count;
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        copy_printable(&fields[layout->column[role]], layout->column_name[role],
                       sizeof layout->column_name[role]);
    name_header_layout(layout, close_time_column != NO_COLUMN, adjusted_close);
    return 0;
}


int format_detect_layout(const char *path, size_t line_number, const char *line,
                         size_t length, format_layout *layout)
{
    format_field fields[FORMAT_MAX_FIELDS];
    size_t count = format_split_fields(line, length, fields, FORMAT_MAX_FIELDS);
    double number = 0;
    int64_t time_us = 0;

    memset(layout, 0, sizeof *layout);
    if (format_parse_number(fields[0].text, fields[0].length, &number) == 0 ||
        format_parse_time(fields[0].text, fields[0].length, &time_us) == 0)
        return detect_headerless(path, line_number, count, layout);
    return detect_header(path, line_number, fields, count, layout);
}
