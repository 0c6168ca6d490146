/*
 * Datetime strings to and from UTC microseconds.
 *
 * Dates are proleptic Gregorian and converted with days-from-civil
 * arithmetic (March-based years, so that the leap day ends a year), so the
 * result never depends on the TZ environment variable or the C library's
 * time zone tables. Accepted text, with every field a fixed number of digits:
 *
 *   YYYY-MM-DD
 *   YYYY-MM-DD[ T]HH:MM[:SS[.f...]][zone]
 *   zone: Z, UTC, +HH:MM, -HH:MM, +HHMM or +HH, optionally after one space
 *
 * Fractions keep their first six digits (microseconds) and ignore the rest.
 * Text without a zone is read as UTC. Leap seconds (SS = 60) are rejected.
 * The other date layouts that files use are parsed in datetext.c, which
 * shares the calendar arithmetic here.
 */
#include <stddef.h>
#include <stdint.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"

/* Days from 1970-01-01 to 0000-03-01, the start of era 0. */
#define DAYS_TO_ERA_ZERO 719468
#define DAYS_PER_ERA 146097 /* 400 Gregorian years */

/* 0000-01-01 00:00:00 and 9999-12-31 23:59:59 UTC in seconds. */
#define FIRST_SECOND INT64_C(-62167219200)
#define LAST_SECOND INT64_C(253402300799)

typedef struct text_cursor {
    const char *p;
    const char *end;
} text_cursor;


int64_t format_days_from_civil(int year, int month, int day)
{
    /* Count years from March, so that February 29 is the last day of a year. */
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;
    int64_t month_from_march = month > 2 ? month - 3 : month + 9;
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

    return era * DAYS_PER_ERA + day_of_era - DAYS_TO_ERA_ZERO;
}


void format_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + DAYS_TO_ERA_ZERO;
    int64_t era = (z >= 0 ? z : z - (DAYS_PER_ERA - 1)) / DAYS_PER_ERA;
    int64_t day_of_era = z - era * DAYS_PER_ERA;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;

    *day = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    *month = (int)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    *year = (int)(year_of_era + era * 400 + (*month <= 2));
}


static int is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}


int format_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}


/* Reads exactly count decimal digits. */
static int read_digits(text_cursor *cursor, int count, int *value)
{
    int result = 0;

    if (cursor->end - cursor->p < count)
        return -1;
    for (int i = 0; i < count; i++) {
        char c = cursor->p[i];
        if (c < '0' || c > '9')
            return -1;
        result = result * 10 + (c - '0');
    }
    cursor->p += count;
    *value = result;
    return 0;
}


static int accept_char(text_cursor *cursor, char c)
{
    if (cursor->p < cursor->end && *cursor->p == c) {
        cursor->p++;
        return 1;
    }
    return 0;
}


/* Reads ".f..." into microseconds; absent fractions give 0. */
static int read_fraction(text_cursor *cursor, int64_t *microseconds)
{
    int64_t value = 0;
    int digits = 0;

    if (!accept_char(cursor, '.'))
        return 0;
    while (cursor->p < cursor->end && *cursor->p >= '0' && *cursor->p <= '9') {
        if (digits < 6)
            value = value * 10 + (*cursor->p - '0');
        digits++;
        cursor->p++;
    }
    if (digits == 0)
        return -1;
    for (int i = digits; i < 6; i++)
        value *= 10;
    *microseconds = value;
    return 0;
}


/* Reads an optional zone and stores its offset from UTC in seconds. */
static int read_zone(text_cursor *cursor, int64_t *offset_seconds)
{
    int hours = 0, minutes = 0;
    int sign = 1;

    *offset_seconds = 0;
    accept_char(cursor, ' ');
    if (cursor->p == cursor->end)
        return 0;
    if (accept_char(cursor, 'Z'))
        return 0;
    if (cursor->end - cursor->p >= 3 && cursor->p[0] == 'U' && cursor->p[1] == 'T' &&
        cursor->p[2] == 'C') {
        cursor->p += 3;
        return 0;
    }

    if (accept_char(cursor, '-'))
        sign = -1;
    else if (!accept_char(cursor, '+'))
        return -1;
    if (read_digits(cursor, 2, &hours) != 0)
        return -1;
    if (cursor->p < cursor->end) {
        accept_char(cursor, ':');
        if (read_digits(cursor, 2, &minutes) != 0)
            return -1;
    }
    if (hours > 14 || minutes > 59)
        return -1;
    *offset_seconds = sign * (hours * 3600 + minutes * 60);
    return 0;
}


int ohlcx_parse_datetime(const char *text, size_t length, int64_t *out_us)
{
    text_cursor cursor = {text, text + length};
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    int64_t fraction_us = 0, offset_seconds = 0, seconds = 0;

    if (text == NULL)
        return OHLCX_EFORMAT;
    if (read_digits(&cursor, 4, &year) != 0 || !accept_char(&cursor, '-') ||
        read_digits(&cursor, 2, &month) != 0 || !accept_char(&cursor, '-') ||
        read_digits(&cursor, 2, &day) != 0)
        return OHLCX_EFORMAT;
    if (month < 1 || month > 12 || day < 1 || day > format_days_in_month(year, month))
        return OHLCX_EFORMAT;

    if (cursor.p < cursor.end) {
        if (!accept_char(&cursor, ' ') && !accept_char(&cursor, 'T'))
            return OHLCX_EFORMAT;
        if (read_digits(&cursor, 2, &hour) != 0 || !accept_char(&cursor, ':') ||
            read_digits(&cursor, 2, &minute) != 0)
            return OHLCX_EFORMAT;
        if (accept_char(&cursor, ':')) {
            if (read_digits(&cursor, 2, &second) != 0 || read_fraction(&cursor, &fraction_us) != 0)
                return OHLCX_EFORMAT;
        }
        if (read_zone(&cursor, &offset_seconds) != 0 || cursor.p != cursor.end)
            return OHLCX_EFORMAT;
        if (hour > 23 || minute > 59 || second > 59)
            return OHLCX_EFORMAT;
    }

    seconds = format_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    *out_us = (seconds - offset_seconds) * OHLCX_US_PER_SECOND + fraction_us;
    return 0;
}


static void put_digits(char *out, int value, int count)
{
    for (int i = count - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
}


void ohlcx_format_datetime(int64_t time_us, char out[20])
{
    int64_t seconds = time_us / OHLCX_US_PER_SECOND;
    int64_t days = 0, second_of_day = 0;
    int year = 0, month = 0, day = 0;

    /* Round toward minus infinity, so that times before 1970 stay in their second. */
    if (time_us % OHLCX_US_PER_SECOND < 0)
        seconds--;
    /* Four-digit years only: clamp to 0000-01-01 .. 9999-12-31. */
    if (seconds < FIRST_SECOND)
        seconds = FIRST_SECOND;
    if (seconds > LAST_SECOND)
        seconds = LAST_SECOND;

    days = seconds / 86400;
    second_of_day = seconds % 86400;
    if (second_of_day < 0) {
        second_of_day += 86400;
        days--;
    }
    format_civil_from_days(days, &year, &month, &day);

    put_digits(out, year, 4);
    out[4] = '-';
    put_digits(out + 5, month, 2);
    out[7] = '-';
    put_digits(out + 8, day, 2);
    out[10] = ' ';
    put_digits(out + 11, (int)(second_of_day / 3600), 2);
    out[13] = ':';
    put_digits(out + 14, (int)(second_of_day / 60 % 60), 2);
    out[16] = ':';
    put_digits(out + 17, (int)(second_of_day % 60), 2);
    out[19] = '\0';
}
