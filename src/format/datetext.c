/*
 * Dates and times as vendors write them, into microseconds.
 *
 * format_parse_date_time() accepts a date, optionally followed by a time of
 * day and a zone. Month and day names are English:
 *
 *   date   YYYY-MM-DD, YYYY.MM.DD, YYYY/MM/DD, YYYYMMDD,
 *          DD.MM.YYYY, DD-MM-YYYY, MM/DD/YYYY (DD/MM/YYYY when day_first),
 *          "Mar 08, 2024", "Mar 8 2024", "8 Mar 2024"
 *   time   after 'T' or blanks: H:MM, HH:MM:SS[.f...], with an optional
 *          AM/PM, or "HH-AM" (CryptoDataDownload's 12-hour form)
 *   zone   Z, UTC, GMT, +HH:MM, -HH:MM, +HHMM or +HH, after optional blanks
 *
 * Month and day may have one or two digits; the year has four. Text
 * without a zone gives the wall-clock time as if it were UTC, and the
 * caller converts it when a time zone applies. Leap seconds are rejected.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/series.h"

typedef struct text_cursor {
    const char *p;
    const char *end;
} text_cursor;

/* The fields of a datetime before conversion. */
typedef struct civil_time {
    int year, month, day;
    int hour, minute, second;
    int64_t fraction_us;
    int64_t offset_seconds;
    unsigned flags; /* enum format_time_flag */
} civil_time;

static const char *month_names[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec"};


static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}


static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}


static int accept_char(text_cursor *cursor, char c)
{
    if (cursor->p < cursor->end && *cursor->p == c) {
        cursor->p++;
        return 1;
    }
    return 0;
}


static int skip_blanks(text_cursor *cursor)
{
    int skipped = 0;

    while (cursor->p < cursor->end && (*cursor->p == ' ' || *cursor->p == '\t')) {
        cursor->p++;
        skipped = 1;
    }
    return skipped;
}


/* Reads min to max digits (as many as there are) and returns how many. */
static int read_number(text_cursor *cursor, int min, int max, int *value)
{
    int count = 0, result = 0;

    while (count < max && cursor->p < cursor->end && is_digit(*cursor->p)) {
        result = result * 10 + (*cursor->p - '0');
        cursor->p++;
        count++;
    }
    if (count < min)
        return -1;
    *value = result;
    return count;
}


/* Reads an English month name or its first three letters ("Mar", "March",
 * "Sept"), with an optional trailing dot. */
static int read_month_name(text_cursor *cursor, int *month)
{
    char name[3];
    int letters = 0;

    while (cursor->p < cursor->end && is_letter(*cursor->p)) {
        if (letters < 3)
            name[letters] = lower(*cursor->p);
        letters++;
        cursor->p++;
    }
    if (letters < 3 || letters > 9)
        return -1;
    accept_char(cursor, '.');
    for (int i = 0; i < 12; i++) {
        if (memcmp(name, month_names[i], 3) == 0) {
            *month = i + 1;
            return 0;
        }
    }
    return -1;
}


/* "Mar 08, 2024" or "Mar 8 2024". */
static int read_month_first(text_cursor *cursor, civil_time *time)
{
    if (read_month_name(cursor, &time->month) != 0 || !skip_blanks(cursor) ||
        read_number(cursor, 1, 2, &time->day) < 0)
        return -1;
    accept_char(cursor, ',');
    skip_blanks(cursor);
    return read_number(cursor, 4, 4, &time->year) < 0 ? -1 : 0;
}


/* After a leading year: -MM-DD, .MM.DD or /MM/DD with one or two digits. */
static int read_year_first(text_cursor *cursor, civil_time *time)
{
    char separator = 0;

    if (cursor->p >= cursor->end || strchr("-./", *cursor->p) == NULL)
        return -1;
    separator = *cursor->p++;
    if (read_number(cursor, 1, 2, &time->month) < 0 || !accept_char(cursor, separator))
        return -1;
    return read_number(cursor, 1, 2, &time->day) < 0 ? -1 : 0;
}


/* After a leading day or month of one or two digits: /MM/YYYY, .MM.YYYY,
 * -MM-YYYY or " Mon YYYY". */
static int read_day_or_month_first(text_cursor *cursor, int first, int day_first,
                                   civil_time *time)
{
    char separator = 0;
    int second = 0;

    if (skip_blanks(cursor)) {
        time->day = first;
        if (read_month_name(cursor, &time->month) != 0 || !skip_blanks(cursor))
            return -1;
        return read_number(cursor, 4, 4, &time->year) < 0 ? -1 : 0;
    }
    if (cursor->p >= cursor->end || strchr("/.-", *cursor->p) == NULL)
        return -1;
    separator = *cursor->p++;
    if (read_number(cursor, 1, 2, &second) < 0 || !accept_char(cursor, separator) ||
        read_number(cursor, 4, 4, &time->year) < 0)
        return -1;
    /* Only slash dates are written month first (the US order); dotted and
     * dashed ones are day first everywhere they occur. */
    if (separator == '/' && !day_first) {
        time->month = first;
        time->day = second;
    } else {
        time->day = first;
        time->month = second;
    }
    return 0;
}


static int read_date(text_cursor *cursor, int day_first, civil_time *time)
{
    int value = 0, digits = 0;

    if (cursor->p < cursor->end && is_letter(*cursor->p))
        return read_month_first(cursor, time);
    digits = read_number(cursor, 1, 8, &value);
    if (digits == 8) {
        time->year = value / 10000;
        time->month = value / 100 % 100;
        time->day = value % 100;
        return 0;
    }
    if (digits == 4) {
        time->year = value;
        return read_year_first(cursor, time);
    }
    if (digits == 1 || digits == 2)
        return read_day_or_month_first(cursor, value, day_first, time);
    return -1;
}


/* Reads fraction digits into microseconds, keeping the first six. */
static int read_fraction_digits(text_cursor *cursor, int64_t *microseconds)
{
    int64_t value = 0;
    int digits = 0;

    while (cursor->p < cursor->end && is_digit(*cursor->p)) {
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


/* Reads an optional ".f..." into microseconds. */
static int read_fraction(text_cursor *cursor, int64_t *microseconds)
{
    if (!accept_char(cursor, '.'))
        return 0;
    return read_fraction_digits(cursor, microseconds);
}


/* Reads AM or PM (any case) and turns a 12-hour clock hour into 0..23. */
static int read_meridiem(text_cursor *cursor, int *hour)
{
    char first = 0;

    if (cursor->end - cursor->p < 2 || lower(cursor->p[1]) != 'm')
        return -1;
    first = lower(cursor->p[0]);
    if ((first != 'a' && first != 'p') || *hour < 1 || *hour > 12)
        return -1;
    cursor->p += 2;
    *hour = *hour % 12 + (first == 'p' ? 12 : 0);
    return 0;
}


static int read_clock(text_cursor *cursor, civil_time *time)
{
    text_cursor before_meridiem;

    if (read_number(cursor, 1, 2, &time->hour) < 0)
        return -1;
    if (accept_char(cursor, '-'))
        return read_meridiem(cursor, &time->hour); /* "04-AM" */
    if (!accept_char(cursor, ':') || read_number(cursor, 2, 2, &time->minute) < 0)
        return -1;
    if (accept_char(cursor, ':')) {
        if (read_number(cursor, 2, 2, &time->second) < 0 ||
            read_fraction(cursor, &time->fraction_us) != 0)
            return -1;
    }
    before_meridiem = *cursor;
    skip_blanks(cursor);
    if (read_meridiem(cursor, &time->hour) != 0)
        *cursor = before_meridiem;
    return 0;
}


static int starts_with(const text_cursor *cursor, const char *word)
{
    size_t length = strlen(word);

    return (size_t)(cursor->end - cursor->p) >= length && memcmp(cursor->p, word, length) == 0;
}


/* Reads an optional zone: Z, UTC, GMT or a numeric offset. */
static int read_zone(text_cursor *cursor, civil_time *time)
{
    int hours = 0, minutes = 0, sign = 1;

    skip_blanks(cursor);
    if (cursor->p == cursor->end)
        return 0;
    time->flags |= FORMAT_TIME_ZONE;
    if (accept_char(cursor, 'Z'))
        return 0;
    if (starts_with(cursor, "UTC") || starts_with(cursor, "GMT")) {
        cursor->p += 3;
        if (cursor->p == cursor->end)
            return 0;
    }
    if (accept_char(cursor, '-'))
        sign = -1;
    else if (!accept_char(cursor, '+'))
        return -1;
    if (read_number(cursor, 2, 2, &hours) < 0)
        return -1;
    if (cursor->p < cursor->end) {
        accept_char(cursor, ':');
        if (read_number(cursor, 2, 2, &minutes) < 0)
            return -1;
    }
    if (hours > 14 || minutes > 59)
        return -1;
    time->offset_seconds = sign * (hours * 3600 + minutes * 60);
    return 0;
}


static int civil_to_us(const civil_time *time, int64_t *out_us)
{
    int64_t seconds = 0;

    if (time->month < 1 || time->month > 12 || time->day < 1 ||
        time->day > format_days_in_month(time->year, time->month))
        return -1;
    if (time->hour > 23 || time->minute > 59 || time->second > 59)
        return -1;
    seconds = format_days_from_civil(time->year, time->month, time->day) * 86400 +
              time->hour * 3600 + time->minute * 60 + time->second;
    *out_us = (seconds - time->offset_seconds) * OHLCX_US_PER_SECOND + time->fraction_us;
    return 0;
}


int format_parse_date_time(const char *text, size_t length, int day_first, int64_t *out_us,
                           unsigned *flags)
{
    text_cursor cursor = {text, text + length};
    civil_time time;

    memset(&time, 0, sizeof time);
    if (read_date(&cursor, day_first, &time) != 0)
        return -1;
    if (cursor.p < cursor.end) {
        if (!accept_char(&cursor, 'T') && !skip_blanks(&cursor))
            return -1;
        if (read_clock(&cursor, &time) != 0 || read_zone(&cursor, &time) != 0)
            return -1;
        time.flags |= FORMAT_TIME_CLOCK;
        if (cursor.p != cursor.end)
            return -1;
    }
    if (civil_to_us(&time, out_us) != 0)
        return -1;
    *flags = time.flags;
    return 0;
}


int format_parse_compact_date(const char *text, size_t length, int64_t *out_us)
{
    text_cursor cursor = {text, text + length};
    civil_time time;
    int value = 0;

    memset(&time, 0, sizeof time);
    if (length != 8 || read_number(&cursor, 8, 8, &value) != 8)
        return -1;
    time.year = value / 10000;
    time.month = value / 100 % 100;
    time.day = value % 100;
    return civil_to_us(&time, out_us);
}


int format_parse_clock(const char *text, size_t length, int64_t *out_us)
{
    text_cursor cursor = {text, text + length};
    civil_time time;
    int value = 0;

    memset(&time, 0, sizeof time);
    time.year = 1970;
    time.month = 1;
    time.day = 1;
    if (length == 6 || length == 4) {
        /* HHMMSS or HHMM, as in Stooq and Finam exports. */
        if (read_number(&cursor, (int)length, (int)length, &value) == (int)length) {
            time.hour = length == 6 ? value / 10000 : value / 100;
            time.minute = length == 6 ? value / 100 % 100 : value % 100;
            time.second = length == 6 ? value % 100 : 0;
            return civil_to_us(&time, out_us);
        }
        cursor.p = text;
    }
    if (read_clock(&cursor, &time) != 0 || cursor.p != cursor.end)
        return -1;
    return civil_to_us(&time, out_us);
}


/* ---- strftime-style patterns ---- */

/* Reads one % directive of a pattern into time. */
static int read_directive(char directive, text_cursor *cursor, civil_time *time,
                          int *hour12)
{
    int value = 0;

    switch (directive) {
    case 'Y':
        return read_number(cursor, 4, 4, &time->year) < 0 ? -1 : 0;
    case 'y':
        /* POSIX: 69-99 are 1969-1999, 00-68 are 2000-2068. */
        if (read_number(cursor, 2, 2, &value) < 0)
            return -1;
        time->year = value < 69 ? 2000 + value : 1900 + value;
        return 0;
    case 'm':
        return read_number(cursor, 1, 2, &time->month) < 0 ? -1 : 0;
    case 'd':
        return read_number(cursor, 1, 2, &time->day) < 0 ? -1 : 0;
    case 'b':
    case 'B':
        return read_month_name(cursor, &time->month);
    case 'H':
    case 'I':
        *hour12 = directive == 'I';
        time->flags |= FORMAT_TIME_CLOCK;
        return read_number(cursor, 1, 2, &time->hour) < 0 ? -1 : 0;
    case 'M':
        time->flags |= FORMAT_TIME_CLOCK;
        return read_number(cursor, 2, 2, &time->minute) < 0 ? -1 : 0;
    case 'S':
        time->flags |= FORMAT_TIME_CLOCK;
        return read_number(cursor, 2, 2, &time->second) < 0 ? -1 : 0;
    case 'f':
        return read_fraction_digits(cursor, &time->fraction_us);
    case 'p':
        return *hour12 ? read_meridiem(cursor, &time->hour) : -1;
    case 'z':
        if (read_zone(cursor, time) != 0)
            return -1;
        time->flags |= FORMAT_TIME_ZONE;
        return 0;
    case '%':
        return accept_char(cursor, '%') ? 0 : -1;
    default:
        return -1;
    }
}


int format_parse_pattern(const char *pattern, const char *text, size_t length,
                         int64_t *out_us, unsigned *flags)
{
    text_cursor cursor = {text, text + length};
    civil_time time;
    int hour12 = 0;

    memset(&time, 0, sizeof time);
    time.year = 1970;
    time.month = 1;
    time.day = 1;
    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p == '%') {
            if (read_directive(p[1], &cursor, &time, &hour12) != 0)
                return -1;
            p++;
        } else if (*p == ' ') {
            if (!skip_blanks(&cursor))
                return -1;
        } else if (!accept_char(&cursor, *p)) {
            return -1;
        }
    }
    if (cursor.p != cursor.end || civil_to_us(&time, out_us) != 0)
        return -1;
    *flags = time.flags;
    return 0;
}


size_t format_check_pattern(const char *pattern)
{
    for (size_t i = 0; pattern[i] != '\0'; i++) {
        if (pattern[i] != '%')
            continue;
        if (pattern[i + 1] == '\0' || strchr("YymdbBHIMSfpz%", pattern[i + 1]) == NULL)
            return i + 1;
        i++;
    }
    return 0;
}
