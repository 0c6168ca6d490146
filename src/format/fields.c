/*
 * Field splitting and number parsing for candle files.
 *
 * These run once per field of every row, so they work on (pointer, length)
 * views of the file buffer and allocate nothing. Numbers take a fast exact
 * path: a decimal with at most 19 significant digits whose mantissa fits in
 * 53 bits and whose power of ten is at most 22 is one correctly rounded
 * multiplication or division of two exactly represented doubles. Other
 * numbers, after the same syntax check, go through strtod(). Numbers
 * written for people ("12,084.30", "76.761,5", "46,88K") are rewritten into
 * that plain form first, so they take the same exact path.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"

/* Maximum length of a number handed to strtod(); longer fields are invalid. */
#define NUMBER_TEXT_MAX 63

/* 2^53: every integer up to it is exact in a double. */
#define EXACT_MANTISSA_MAX (UINT64_C(1) << 53)

static const double powers_of_ten[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};


static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}


static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}


static void trim_field(format_field *field)
{
    while (field->length > 0 && is_blank(field->text[0])) {
        field->text++;
        field->length--;
        field->column++;
    }
    while (field->length > 0 && is_blank(field->text[field->length - 1]))
        field->length--;
    if (field->length >= 2 && field->text[0] == '"' && field->text[field->length - 1] == '"') {
        field->text++;
        field->length -= 2;
        field->column++;
    }
}


static void set_field(format_field *fields, size_t count, size_t max, const char *line,
                      size_t start, size_t end)
{
    if (count >= max)
        return;
    fields[count].text = line + start;
    fields[count].length = end - start;
    fields[count].column = start + 1;
    trim_field(&fields[count]);
}


/* The common case: no quotes, so every delimiter ends a field. */
static size_t split_plain(const char *line, size_t length, char delimiter, format_field *fields,
                          size_t max)
{
    size_t count = 0, start = 0;

    for (;;) {
        const char *hit = memchr(line + start, delimiter, length - start);
        size_t end = hit ? (size_t)(hit - line) : length;

        set_field(fields, count, max, line, start, end);
        count++;
        if (hit == NULL)
            return count;
        start = end + 1;
    }
}


/* Returns the index just past the closing quote of the quoted field that
 * opens at line[open], or length when the quote is never closed. */
static size_t skip_quoted(const char *line, size_t length, size_t open)
{
    for (size_t i = open + 1; i < length; i++) {
        if (line[i] != '"')
            continue;
        if (i + 1 < length && line[i + 1] == '"') {
            i++; /* "" is an escaped quote */
            continue;
        }
        return i + 1;
    }
    return length;
}


static size_t split_quoted(const char *line, size_t length, char delimiter, format_field *fields,
                           size_t max)
{
    size_t count = 0, start = 0;

    for (;;) {
        size_t i = start, end = 0;

        while (i < length && is_blank(line[i]) && line[i] != delimiter)
            i++;
        if (i < length && line[i] == '"')
            i = skip_quoted(line, length, i);
        while (i < length && line[i] != delimiter)
            i++;
        end = i;

        set_field(fields, count, max, line, start, end);
        /* An unclosed quote leaves the opening quote in the view; drop it. */
        if (count < max && fields[count].length > 0 && fields[count].text[0] == '"') {
            fields[count].text++;
            fields[count].length--;
            fields[count].column++;
        }
        count++;
        if (end >= length)
            return count;
        start = end + 1;
    }
}


size_t format_split_delimited(const char *line, size_t length, char delimiter,
                              format_field *fields, size_t max)
{
    if (memchr(line, '"', length) == NULL)
        return split_plain(line, length, delimiter, fields, max);
    return split_quoted(line, length, delimiter, fields, max);
}


size_t format_split_fields(const char *line, size_t length, format_field *fields, size_t max)
{
    return format_split_delimited(line, length, ',', fields, max);
}


/* A decimal number as mantissa * 10^exponent, keeping the first 19
 * significant digits; digits counts all significant digits seen. */
typedef struct decimal {
    uint64_t mantissa;
    int exponent;
    int digits;
    int negative;
    int any_digit;
} decimal;


/* Adds the run of digits at text[*i]. after_point is nonzero for digits
 * after the decimal point. */
static void scan_digits(const char *text, size_t length, size_t *i, int after_point,
                        decimal *number)
{
    for (; *i < length && is_digit(text[*i]); (*i)++) {
        int digit = text[*i] - '0';

        number->any_digit = 1;
        if (number->digits == 0 && digit == 0) {
            number->exponent -= after_point; /* 0.00x: each zero scales x down */
            continue;
        }
        if (number->digits < 19) {
            number->mantissa = number->mantissa * 10 + (uint64_t)digit;
            number->exponent -= after_point;
        } else if (!after_point) {
            number->exponent++; /* dropped integer digit */
        }
        number->digits++;
    }
}


/* Checks the syntax of a decimal number and collects it. Returns 0 or -1. */
static int scan_number(const char *text, size_t length, decimal *number)
{
    size_t i = 0;
    int exponent = 0, exponent_sign = 1;

    memset(number, 0, sizeof *number);
    if (i < length && (text[i] == '+' || text[i] == '-'))
        number->negative = text[i++] == '-';
    scan_digits(text, length, &i, 0, number);
    if (i < length && text[i] == '.') {
        i++;
        scan_digits(text, length, &i, 1, number);
    }
    if (!number->any_digit)
        return -1;

    if (i < length && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < length && (text[i] == '+' || text[i] == '-'))
            exponent_sign = text[i++] == '-' ? -1 : 1;
        if (i == length || !is_digit(text[i]))
            return -1;
        for (; i < length && is_digit(text[i]); i++)
            if (exponent < 10000)
                exponent = exponent * 10 + (text[i] - '0');
    }
    if (i != length)
        return -1;
    number->exponent += exponent_sign * exponent;
    return 0;
}


int format_parse_number(const char *text, size_t length, double *out)
{
    decimal number;
    char copy[NUMBER_TEXT_MAX + 1];
    char *end = NULL;
    double value = 0;

    if (scan_number(text, length, &number) != 0)
        return -1;

    if (number.digits <= 19 && number.mantissa <= EXACT_MANTISSA_MAX &&
        number.exponent >= -22 && number.exponent <= 22) {
        value = (double)number.mantissa;
        if (number.exponent >= 0)
            value *= powers_of_ten[number.exponent];
        else
            value /= powers_of_ten[-number.exponent];
        *out = number.negative ? -value : value;
        return 0;
    }

    /* NOTE: strtod() follows LC_NUMERIC; the command keeps the "C" locale. */
    if (length > NUMBER_TEXT_MAX)
        return -1;
    memcpy(copy, text, length);
    copy[length] = '\0';
    value = strtod(copy, &end);
    if (end != copy + length || !isfinite(value))
        return -1;
    *out = value;
    return 0;
}


#define GROUPING_INVALID ((size_t)-1)

/* Copies the group-separated integer part of a styled number to out,
 * without separators. Returns the index after it, or GROUPING_INVALID
 * unless the first group has 1 to 3 digits and every later group 3. */
static size_t copy_grouped_digits(const char *text, size_t length, size_t i, char separator,
                                  char *out, size_t *used)
{
    size_t run = 0;
    int grouped = 0;

    for (; i < length; i++) {
        if (is_digit(text[i])) {
            out[(*used)++] = text[i];
            run++;
            continue;
        }
        if (text[i] != separator)
            break;
        if (run == 0 || (grouped ? run != 3 : run > 3))
            return GROUPING_INVALID;
        grouped = 1;
        run = 0;
    }
    if (grouped && run != 3)
        return GROUPING_INVALID;
    return i;
}


int format_parse_number_styled(const char *text, size_t length, int decimal_comma, double *out)
{
    char separator = decimal_comma ? '.' : ',';
    char point = decimal_comma ? ',' : '.';
    char buffer[NUMBER_TEXT_MAX + 8];
    size_t i = 0, used = 0;
    int exponent = 0;

    if (length == 0 || length > NUMBER_TEXT_MAX)
        return -1;
    if (text[0] == '+' || text[0] == '-')
        buffer[used++] = text[i++];
    i = copy_grouped_digits(text, length, i, separator, buffer, &used);
    if (i == GROUPING_INVALID)
        return -1;
    if (i < length && text[i] == point) {
        buffer[used++] = '.';
        for (i++; i < length && is_digit(text[i]); i++)
            buffer[used++] = text[i];
    }
    if (i < length) {
        switch (text[i]) {
        case 'K':
        case 'k':
            exponent = 3;
            break;
        case 'M':
            exponent = 6;
            break;
        case 'B':
            exponent = 9;
            break;
        default:
            return -1;
        }
        i++;
    }
    if (i != length)
        return -1;
    /* A suffix moves the decimal exponent, so "46.88K" is exactly 46880. */
    if (exponent > 0) {
        buffer[used++] = 'e';
        buffer[used++] = (char)('0' + exponent);
    }
    return format_parse_number(buffer, used, out);
}


/* Epoch units by magnitude, as format_epoch_unit_us() picks them. */
int format_parse_epoch(const char *text, size_t length, int64_t *out_us)
{
    int64_t value = 0, fraction = 0, scale = 1, unit_us = 0;
    size_t i = 0;

    for (i = 0; i < length && is_digit(text[i]); i++) {
        if (value > (INT64_MAX - 9) / 10)
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    if (i == 0)
        return -1;
    if (i < length && text[i] == '.') {
        size_t first_fraction_digit = ++i;
        for (; i < length && is_digit(text[i]); i++) {
            if (scale < INT64_C(1000000000)) {
                fraction = fraction * 10 + (text[i] - '0');
                scale *= 10;
            }
        }
        if (i == first_fraction_digit)
            return -1;
    }
    if (i != length)
        return -1;

    unit_us = format_epoch_unit_us(value);
    if (unit_us == 0)
        *out_us = value / 1000;
    else
        *out_us = value * unit_us + fraction * unit_us / scale;
    return *out_us < FORMAT_EPOCH_LIMIT_US ? 0 : -1;
}


int format_parse_time(const char *text, size_t length, int64_t *out_us)
{
    if (length == 0)
        return -1;
    if (format_parse_epoch(text, length, out_us) == 0)
        return 0;
    return ohlcx_parse_datetime(text, length, out_us) == 0 ? 0 : -1;
}
