/*
 * Field splitting and number parsing for candle files.
 *
 * These run once per field of every row, so they work on (pointer, length)
 * views of the file buffer and allocate nothing. Numbers take a fast exact
 * path: a decimal with at most 19 significant digits whose mantissa fits in
 * 53 bits and whose power of ten is at most 22 is one correctly rounded
 * multiplication or division of two exactly represented doubles. Other
 * numbers, after the same syntax check, go through strtod().
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


size_t format_split_fields(const char *line, size_t length, format_field *fields, size_t max)
{
    size_t count = 0, start = 0;

    for (size_t i = 0; i <= length; i++) {
        if (i < length && line[i] != ',')
            continue;
        if (count < max) {
            fields[count].text = line + start;
            fields[count].length = i - start;
            fields[count].column = start + 1;
            trim_field(&fields[count]);
        }
        count++;
        start = i + 1;
    }
    return count;
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


/* Converts an epoch count to microseconds, telling the unit by magnitude:
 * below 1e11 seconds (up to year 5138), below 1e14 milliseconds, below 1e17
 * microseconds, else nanoseconds. NOTE: millisecond times before 1973-03-03
 * (below 1e11) are read as seconds. */
static int64_t epoch_to_us(int64_t value)
{
    if (value < INT64_C(100000000000))
        return value * OHLCX_US_PER_SECOND;
    if (value < INT64_C(100000000000000))
        return value * 1000;
    if (value < INT64_C(100000000000000000))
        return value;
    return value / 1000;
}


int format_parse_time(const char *text, size_t length, int64_t *out_us)
{
    int64_t value = 0;
    size_t i = 0;

    if (length == 0)
        return -1;
    for (i = 0; i < length && is_digit(text[i]); i++) {
        if (value > (INT64_MAX - 9) / 10)
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    if (i == length) {
        *out_us = epoch_to_us(value);
        return 0;
    }
    return ohlcx_parse_datetime(text, length, out_us) == 0 ? 0 : -1;
}
