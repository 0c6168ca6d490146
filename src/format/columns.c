/*
 * The columns option: a layout given by the user instead of sniffed.
 *
 * The text is a list of key=value pairs separated by commas, such as
 * "time=0,open=1,high=2,low=3,close=4,volume=5" or
 * "date=Date,time=Time,open=Open,high=High,low=Low,close=Last". A pair
 * ends only at a comma followed by a lower-case word and '=', so a value
 * may itself contain commas ("delimiter=," or "time_format=%b %d, %Y"). The
 * keys and their meaning are documented in include/ohlcx/format.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"

#define VALUE_MAX 64

enum map_key {
    KEY_TIME = 0,
    KEY_OPEN,
    KEY_HIGH,
    KEY_LOW,
    KEY_CLOSE,
    KEY_VOLUME,
    KEY_DATE,
    KEY_CLOSE_TIME,
    KEY_QUOTE_VOLUME,
    KEY_TRADES,
    KEY_TAKER_BUY_BASE,
    KEY_TAKER_BUY_QUOTE,
    KEY_DELIMITER,
    KEY_TIME_FORMAT,
    KEY_DECIMAL,
    KEY_HEADER,
    KEY_COUNT
};

/* Column keys come first, so that a key below KEY_DELIMITER names a column. */
static const char *key_names[KEY_COUNT] = {
    "time",   "open",         "high",   "low",           "close",          "volume",
    "date",   "close_time",   "quote_volume", "trades",  "taker_buy_base", "taker_buy_quote",
    "delimiter", "time_format", "decimal", "header",
};

typedef struct column_map {
    int set[KEY_COUNT];
    char value[KEY_COUNT][VALUE_MAX];
} column_map;


/* Returns the length of a "word=" at text (lower-case letters and '_'),
 * or 0 when none starts there. */
static size_t key_length(const char *text, size_t length)
{
    size_t i = 0;

    while (i < length && ((text[i] >= 'a' && text[i] <= 'z') || text[i] == '_'))
        i++;
    return i > 0 && i < length && text[i] == '=' ? i : 0;
}


static int find_key(const char *text, size_t length)
{
    for (int key = 0; key < KEY_COUNT; key++)
        if (strlen(key_names[key]) == length && memcmp(text, key_names[key], length) == 0)
            return key;
    return -1;
}


static int invalid_option(const char *columns, const char *reason)
{
    return ohlcx_set_error(OHLCX_EINVAL,
                           "invalid --columns '%s': %s; write key=value pairs such as "
                           "time=0,open=1,high=2,low=3,close=4,volume=5 (0-based indexes or "
                           "header names)",
                           columns, reason);
}


/* Splits the option into pairs; see the file comment. */
static int parse_map(const char *columns, column_map *map)
{
    size_t length = strlen(columns), start = 0;
    char reason[320];

    memset(map, 0, sizeof *map);
    while (start < length) {
        size_t name_length = key_length(columns + start, length - start);
        int key = name_length > 0 ? find_key(columns + start, name_length) : -1;
        size_t value_start = 0, end = 0;

        if (key < 0) {
            snprintf(reason, sizeof reason,
                     "unknown key at '%.40s'; the keys are time, date, open, high, low, close, "
                     "volume, close_time, quote_volume, trades, taker_buy_base, taker_buy_quote, "
                     "delimiter, time_format, decimal and header",
                     columns + start);
            return invalid_option(columns, reason);
        }
        value_start = start + name_length + 1;
        /* The value runs to the next ",word=" (its own first character never
         * ends it, so "delimiter=," works). */
        end = value_start + 1;
        while (end < length &&
               !(columns[end] == ',' && key_length(columns + end + 1, length - end - 1) > 0))
            end++;
        if (end > length)
            end = length;
        if (map->set[key]) {
            snprintf(reason, sizeof reason, "%s is given twice", key_names[key]);
            return invalid_option(columns, reason);
        }
        if (end - value_start == 0 || end - value_start >= VALUE_MAX) {
            snprintf(reason, sizeof reason, "the value of %s must have 1 to %d characters",
                     key_names[key], VALUE_MAX - 1);
            return invalid_option(columns, reason);
        }
        memcpy(map->value[key], columns + value_start, end - value_start);
        map->value[key][end - value_start] = '\0';
        map->set[key] = 1;
        start = end + 1;
    }
    return 0;
}


static int parse_delimiter(const char *columns, const char *value, char *delimiter)
{
    static const struct {
        const char *name;
        char delimiter;
    } names[] = {{"comma", ','}, {"semicolon", ';'}, {"tab", '\t'}, {"\\t", '\t'},
                 {"pipe", '|'},  {"space", ' '}};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(value, names[i].name) == 0) {
            *delimiter = names[i].delimiter;
            return 0;
        }
    }
    if (strlen(value) == 1 && value[0] != '"' && value[0] != '\n' && value[0] != '\r') {
        *delimiter = value[0];
        return 0;
    }
    return invalid_option(columns, "the delimiter must be one character or comma, semicolon, "
                                   "tab, pipe or space");
}


/* Applies delimiter, decimal, header and time_format. header is set to
 * 1, 0, or -1 when it is to be sniffed. */
static int apply_settings(const char *columns, const column_map *map, format_layout *layout,
                          int *header)
{
    size_t bad = 0;

    *header = -1;
    if (map->set[KEY_DELIMITER] &&
        parse_delimiter(columns, map->value[KEY_DELIMITER], &layout->delimiter) != 0)
        return OHLCX_EINVAL;
    if (map->set[KEY_DECIMAL]) {
        if (strcmp(map->value[KEY_DECIMAL], ",") != 0 && strcmp(map->value[KEY_DECIMAL], ".") != 0)
            return invalid_option(columns, "decimal must be ',' or '.'");
        layout->decimal_comma = map->value[KEY_DECIMAL][0] == ',';
    }
    if (map->set[KEY_HEADER]) {
        const char *value = map->value[KEY_HEADER];
        if (strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
            *header = 1;
        else if (strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
            *header = 0;
        else
            return invalid_option(columns, "header must be yes or no");
    }
    if (map->set[KEY_TIME_FORMAT]) {
        bad = format_check_pattern(map->value[KEY_TIME_FORMAT]);
        if (bad != 0) {
            char reason[120];
            snprintf(reason, sizeof reason,
                     "time_format has the unsupported directive at '%.10s'; use %%Y %%y %%m %%d "
                     "%%b %%H %%I %%M %%S %%f %%p %%z",
                     map->value[KEY_TIME_FORMAT] + bad - 1);
            return invalid_option(columns, reason);
        }
        snprintf(layout->time_format, sizeof layout->time_format, "%s",
                 map->value[KEY_TIME_FORMAT]);
    }
    return 0;
}


static int all_digits(const char *text)
{
    if (*text == '\0')
        return 0;
    for (; *text != '\0'; text++)
        if (*text < '0' || *text > '9')
            return 0;
    return 1;
}


/* Finds a header name exactly, else after folding. Returns 0 or -1. */
static int find_name(const char *value, const format_field *header, size_t count, size_t *index)
{
    char wanted[VALUE_MAX], name[VALUE_MAX];
    size_t length = strlen(value);

    for (size_t i = 0; i < count && i < FORMAT_MAX_FIELDS; i++) {
        if (header[i].length == length && memcmp(header[i].text, value, length) == 0) {
            *index = i;
            return 0;
        }
    }
    format_fold_name(value, length, wanted, sizeof wanted);
    for (size_t i = 0; i < count && i < FORMAT_MAX_FIELDS && wanted[0] != '\0'; i++) {
        format_fold_name(header[i].text, header[i].length, name, sizeof name);
        if (strcmp(name, wanted) == 0) {
            *index = i;
            return 0;
        }
    }
    return -1;
}


/* Finds a column by index or by header name; header is NULL without one. */
static int resolve_column(const char *path, size_t line_number, const char *columns,
                          const char *value, const format_field *header, size_t count,
                          size_t *index)
{
    char found[300] = "(no header)";

    if (all_digits(value)) {
        *index = (size_t)strtoul(value, NULL, 10);
        if (*index < count)
            return 0;
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s:%zu:1: --columns '%s' names column %s, but the line has %zu "
                               "fields (indexes start at 0)",
                               path, line_number, columns, value, count);
    }
    if (header != NULL && find_name(value, header, count, index) == 0)
        return 0;
    if (header != NULL)
        format_list_columns(header, count, found, sizeof found);
    return ohlcx_set_error(OHLCX_EFORMAT,
                           "%s:%zu:1: --columns '%s' names column '%s', which is not in the "
                           "header; columns found: %s",
                           path, line_number, columns, value, found);
}


static int any_column_by_name(const column_map *map)
{
    for (int key = 0; key < KEY_DELIMITER; key++)
        if (map->set[key] && !all_digits(map->value[key]))
            return 1;
    return 0;
}


static int check_required(const char *columns, const column_map *map)
{
    char reason[120];

    if (!map->set[KEY_TIME] && !map->set[KEY_DATE] && !map->set[KEY_CLOSE_TIME])
        return invalid_option(columns, "it needs time, date or close_time");
    for (int key = KEY_OPEN; key <= KEY_CLOSE; key++) {
        if (!map->set[key]) {
            snprintf(reason, sizeof reason, "it needs %s", key_names[key]);
            return invalid_option(columns, reason);
        }
    }
    if (map->set[KEY_CLOSE_TIME] && (map->set[KEY_TIME] || map->set[KEY_DATE]))
        return invalid_option(columns, "close_time cannot go with time or date");
    return 0;
}


/* Places the resolved index of a column key in the layout. */
static void place_column(format_layout *layout, int key, size_t index)
{
    if (key == KEY_TIME || key == KEY_CLOSE_TIME)
        layout->column[FORMAT_ROLE_TIME] = index;
    else if (key <= KEY_VOLUME)
        layout->column[key] = index;
    else if (key == KEY_DATE)
        layout->date_column = index;
    else
        layout->extra[key - KEY_QUOTE_VOLUME] = index;
}


static void name_columns(const format_field *header, size_t count, format_layout *layout)
{
    if (header == NULL)
        return;
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        if (layout->column[role] != FORMAT_NO_COLUMN && layout->column[role] < count)
            format_copy_printable(&header[layout->column[role]], layout->column_name[role],
                                  sizeof layout->column_name[role]);
    if (layout->date_column != FORMAT_NO_COLUMN && layout->date_column < count)
        format_copy_printable(&header[layout->date_column], layout->date_name,
                              sizeof layout->date_name);
}


int format_apply_columns(const char *path, const char *columns, const format_line *lines,
                         size_t count, format_layout *layout)
{
    format_field fields[FORMAT_MAX_FIELDS];
    column_map map;
    size_t field_count = 0;
    int header = -1, status = 0, decimal_comma = 0;

    status = parse_map(columns, &map);
    if (status == 0)
        status = check_required(columns, &map);
    if (status == 0)
        status = apply_settings(columns, &map, layout, &header);
    if (status != 0)
        return status;
    decimal_comma = layout->decimal_comma;
    if (!map.set[KEY_DELIMITER])
        layout->delimiter = format_sniff_delimiter(lines[0].text, lines[0].length);

    field_count = format_split_delimited(lines[0].text, lines[0].length, layout->delimiter,
                                         fields, FORMAT_MAX_FIELDS);
    if (field_count > FORMAT_MAX_FIELDS)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:1: the line has %zu fields, more than the "
                                              "%d supported",
                               path, lines[0].number, field_count, FORMAT_MAX_FIELDS);
    if (header < 0)
        header = any_column_by_name(&map) || !format_is_data_line(fields, field_count);

    for (int key = 0; key < KEY_DELIMITER; key++) {
        size_t index = 0;
        if (!map.set[key])
            continue;
        status = resolve_column(path, lines[0].number, columns, map.value[key],
                                header ? fields : NULL, field_count, &index);
        if (status != 0)
            return status;
        place_column(layout, key, index);
    }
    layout->time_is_close = map.set[KEY_CLOSE_TIME];
    layout->has_header = header;
    layout->field_count = field_count;
    layout->first_data_line = lines[0].number + (header ? 1 : 0);
    name_columns(header ? fields : NULL, field_count, layout);
    snprintf(layout->name, sizeof layout->name, "columns-option");

    format_sniff_values(lines, count, layout);
    if (map.set[KEY_DECIMAL])
        layout->decimal_comma = decimal_comma; /* the option wins over the values */
    return 0;
}
