/*
 * One delimited data row into the next bar of the series.
 *
 * The open time comes from the time column (an epoch time, or YYYYMMDD when
 * compact_date is set, or a datetime), from a date column plus an optional
 * time-of-day column, or from the columns option's time_format.
 * A time without an offset is a wall-clock time: with a zone it is
 * converted to UTC, without one it is read as UTC. Dates without a time of
 * day are calendar days and stay at 00:00 UTC either way.
 *
 * Prices take the fast parser first and fall back to the styled one
 * (thousands separators, K/M/B suffixes). Files with a decimal comma always
 * take the styled one, because "1.234" means 1234 there. An empty field with
 * a fallback column reads that column. An empty or "-" volume reads as 0,
 * because investing.com leaves the volume of currencies and many indices
 * blank. Optional columns read "", "-", "NULL" and "NaN" as NaN (missing).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"

/* Characters of a bad value quoted in a message. */
#define QUOTED_VALUE_MAX 40

/* Bytes of "DATE TIME" handed to a time_format pattern. */
#define JOINED_TIME_MAX 96


int format_field_error(format_row_error *error, const format_field *field, size_t index,
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
    return FORMAT_BAD_ROW;
}


/* Parses the value of the time column alone. */
static int parse_time_value(const format_layout *layout, const format_field *field,
                            int64_t *us, unsigned *flags)
{
    if (layout->compact_date && field->length == 8 &&
        format_parse_compact_date(field->text, field->length, us) == 0) {
        *flags = 0;
        return 0;
    }
    if (format_parse_epoch(field->text, field->length, us) == 0) {
        *flags = FORMAT_TIME_ZONE;
        return 0;
    }
    return format_parse_date_time(field->text, field->length, layout->day_first, us, flags);
}


/* Joins the date and time fields with one space for a time_format pattern. */
static int parse_with_pattern(const format_layout *layout, const format_field *fields,
                              int64_t *us, unsigned *flags)
{
    char joined[JOINED_TIME_MAX];
    const format_field *date = layout->date_column != FORMAT_NO_COLUMN
                                   ? &fields[layout->date_column]
                                   : NULL;
    const format_field *time = layout->column[FORMAT_ROLE_TIME] != FORMAT_NO_COLUMN
                                   ? &fields[layout->column[FORMAT_ROLE_TIME]]
                                   : NULL;
    int length = 0;

    if (date != NULL && time != NULL)
        length = snprintf(joined, sizeof joined, "%.*s %.*s", (int)date->length, date->text,
                          (int)time->length, time->text);
    else if (date != NULL)
        length = snprintf(joined, sizeof joined, "%.*s", (int)date->length, date->text);
    else
        length = snprintf(joined, sizeof joined, "%.*s", (int)time->length, time->text);
    if (length < 0 || (size_t)length >= sizeof joined)
        return -1;
    return format_parse_pattern(layout->time_format, joined, (size_t)length, us, flags);
}


/* Returns the field of a role, or its fallback when the field is empty. */
static const format_field *role_field(const format_layout *layout, const format_field *fields,
                                      int role, size_t *index)
{
    *index = layout->column[role];
    if (fields[*index].length == 0 && layout->fallback[role] != FORMAT_NO_COLUMN)
        *index = layout->fallback[role];
    return &fields[*index];
}


/* Parses a date column and the optional time-of-day column after it. */
static int parse_date_and_clock(const format_layout *layout, const format_field *fields,
                                int64_t *us, unsigned *flags, format_row_error *error)
{
    const format_field *date = &fields[layout->date_column];
    size_t clock_index = layout->column[FORMAT_ROLE_TIME];
    int64_t clock_us = 0;

    if (parse_time_value(layout, date, us, flags) != 0)
        return format_field_error(error, date, layout->date_column, layout->date_name, "date");
    if (clock_index == FORMAT_NO_COLUMN)
        return 0;
    if (format_parse_clock(fields[clock_index].text, fields[clock_index].length, &clock_us) != 0)
        return format_field_error(error, &fields[clock_index], clock_index,
                                  layout->column_name[FORMAT_ROLE_TIME], "time of day");
    *us += clock_us;
    *flags |= FORMAT_TIME_CLOCK;
    return 0;
}


/* Returns the count of integer digits of a field written as
 * format_parse_epoch() reads an epoch time (digits, then optionally '.' and
 * at least one digit), or 0 for any other text. */
static size_t epoch_digits(const format_field *field)
{
    size_t digits = 0, i = 0, fraction = 0;

    while (i < field->length && field->text[i] >= '0' && field->text[i] <= '9')
        i++;
    digits = i;
    if (i < field->length && field->text[i] == '.') {
        fraction = ++i;
        while (i < field->length && field->text[i] >= '0' && field->text[i] <= '9')
            i++;
        if (i == fraction)
            return 0;
    }
    return i == field->length ? digits : 0;
}


/* Sets the error of a time that did not parse. Text written as an epoch
 * time fails only when it lies past FORMAT_EPOCH_LIMIT_US (or past what 64
 * bits hold), and its message gives that reason. */
static int time_error(format_row_error *error, const format_field *field, size_t index,
                      const char *name)
{
    size_t digits = epoch_digits(field);
    char reason[256];

    if (digits == 0)
        return format_field_error(error, field, index, name, "time");
    error->column = field->column;
    snprintf(reason, sizeof reason,
             "column %zu (%s): epoch time '%.*s' is after 2200: %zu digits, where s, ms, us "
             "and ns have 10, 13, 16 and 19",
             index + 1, name, (int)(field->length < 24 ? field->length : 24), field->text,
             digits);
    snprintf(error->reason, sizeof error->reason, "%.*s", (int)sizeof error->reason - 1,
             reason);
    return FORMAT_BAD_ROW;
}


static int parse_open_time(format_reader *reader, const format_field *fields, int64_t *out_us,
                           format_row_error *error)
{
    const format_layout *layout = &reader->layout;
    size_t index = layout->column[FORMAT_ROLE_TIME];
    unsigned flags = 0;
    int64_t us = 0;
    int status = 0;

    if (layout->time_format[0] != '\0') {
        int by_date = layout->date_column != FORMAT_NO_COLUMN;
        if (by_date)
            index = layout->date_column;
        if (parse_with_pattern(layout, fields, &us, &flags) != 0)
            return format_field_error(error, &fields[index], index,
                                      by_date ? layout->date_name
                                              : layout->column_name[FORMAT_ROLE_TIME],
                                      "time");
    } else if (layout->date_column != FORMAT_NO_COLUMN) {
        status = parse_date_and_clock(layout, fields, &us, &flags, error);
        if (status != 0)
            return status;
    } else {
        const format_field *field = role_field(layout, fields, FORMAT_ROLE_TIME, &index);
        if (parse_time_value(layout, field, &us, &flags) != 0)
            return time_error(error, field, index, layout->column_name[FORMAT_ROLE_TIME]);
    }

    /* Wall-clock times move to UTC; absolute times and dates stay. */
    if (reader->zone != NULL && (flags & FORMAT_TIME_CLOCK) && !(flags & FORMAT_TIME_ZONE))
        us = format_zone_to_utc(reader->zone, us,
                                reader->has_previous_time ? &reader->previous_time_us : NULL);
    *out_us = us;
    return 0;
}


static int parse_value(const format_layout *layout, const format_field *field, double *out)
{
    if (!layout->decimal_comma && format_parse_number(field->text, field->length, out) == 0)
        return 0;
    return format_parse_number_styled(field->text, field->length, layout->decimal_comma, out);
}


static int is_missing_mark(const format_field *field)
{
    static const char *marks[] = {"-", "NULL", "null", "NaN", "nan"};

    if (field->length == 0)
        return 1;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (field->length == strlen(marks[i]) && memcmp(field->text, marks[i], field->length) == 0)
            return 1;
    return 0;
}


static int parse_prices(const format_layout *layout, const format_field *fields, double *values,
                        format_row_error *error)
{
    for (int role = FORMAT_ROLE_OPEN; role < FORMAT_ROLE_COUNT; role++) {
        size_t index = 0;
        const format_field *field = NULL;

        if (layout->column[role] == FORMAT_NO_COLUMN) {
            values[role] = 0; /* a volume the columns option did not map */
            continue;
        }
        field = role_field(layout, fields, role, &index);
        if (role == FORMAT_ROLE_VOLUME &&
            (field->length == 0 || (field->length == 1 && field->text[0] == '-'))) {
            values[role] = 0;
            continue;
        }
        if (parse_value(layout, field, &values[role]) != 0)
            return format_field_error(error, field, index, layout->column_name[role], "number");
    }
    return 0;
}


static int parse_extras(const format_layout *layout, const format_field *fields, double *extras,
                        format_row_error *error)
{
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++) {
        size_t index = layout->extra[i];

        extras[i] = NAN;
        if (index == FORMAT_NO_COLUMN || is_missing_mark(&fields[index]))
            continue;
        if (parse_value(layout, &fields[index], &extras[i]) != 0)
            return format_field_error(error, &fields[index], index, layout->extra_name[i],
                                      "number");
    }
    return 0;
}


int format_parse_row(format_reader *reader, const char *line, size_t length,
                     format_row_error *error)
{
    const format_layout *layout = &reader->layout;
    format_field fields[FORMAT_MAX_FIELDS];
    size_t count = format_split_delimited(line, length, layout->delimiter, fields,
                                          FORMAT_MAX_FIELDS);
    double values[FORMAT_ROLE_COUNT], extras[OHLCX_EXTRA_COUNT];
    int64_t time_us = 0;
    int status = 0;

    if (count != layout->field_count) {
        error->column = count > layout->field_count && layout->field_count < FORMAT_MAX_FIELDS
                            ? fields[layout->field_count].column
                            : length + 1;
        snprintf(error->reason, sizeof error->reason, "expected %zu fields, found %zu",
                 layout->field_count, count);
        return FORMAT_BAD_ROW;
    }
    status = parse_open_time(reader, fields, &time_us, error);
    if (status == 0)
        status = parse_prices(layout, fields, values, error);
    if (status == 0)
        status = parse_extras(layout, fields, extras, error);
    if (status != 0)
        return status;
    return format_store_row(reader, time_us, values, extras);
}


int format_store_row(format_reader *reader, int64_t time_us, const double *values,
                     const double *extras)
{
    ohlcx_series *out = reader->out;
    int status = ohlcx_series_append(out, time_us, values[FORMAT_ROLE_OPEN],
                                     values[FORMAT_ROLE_HIGH], values[FORMAT_ROLE_LOW],
                                     values[FORMAT_ROLE_CLOSE], values[FORMAT_ROLE_VOLUME]);

    if (status != 0)
        return status;
    for (int i = 0; extras != NULL && i < OHLCX_EXTRA_COUNT; i++)
        if (out->extra_column[i] != NULL)
            out->extra_column[i][out->n - 1] = extras[i];
    reader->previous_time_us = time_us;
    reader->has_previous_time = 1;
    return 0;
}
