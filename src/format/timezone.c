/*
 * IANA time zones from TZif files, for files written in local time.
 *
 * A zone is the list of UTC instants at which its offset changes, the
 * offset in effect after each, and the POSIX TZ rule from the file's footer
 * for instants after the last listed change (RFC 8536). The files are read
 * from /usr/share/zoneinfo directly, so the conversion neither depends on
 * nor changes the TZ environment variable, and a loaded zone is read-only
 * and safe to share between threads.
 *
 * Local to UTC: a wall-clock time maps to zero, one or two instants. When
 * clocks go back, a repeated local time takes the earlier instant unless
 * that is not after the previous row's open time, so that rows in file
 * order 02:00, 02:15 ... 02:45, 02:00 come out 15 minutes apart. NOTE: this
 * assumes oldest-first rows; a newest-first file resolves the repeated hour
 * the wrong way round. A local time that clocks skip (02:30 when they jump
 * from 02:00 to 03:00) is read with the offset before the change, so it
 * lands after the change (03:30).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define TZIF_MAX_BYTES (1 << 20)
#define TZIF_HEADER_BYTES 44
#define SECONDS_PER_DAY 86400

/* The day a POSIX rule switches on: Mm.w.d, Jn or n. */
typedef struct rule_date {
    char kind; /* 'M', 'J' or 'N' */
    int month, week, weekday;
    int day;             /* Jn: 1..365 without Feb 29; n: 0..365 */
    int32_t time;        /* local seconds after midnight, may be negative */
} rule_date;

/* The footer rule; offsets are seconds east of UTC. */
typedef struct zone_rule {
    int32_t std_offset;
    int32_t dst_offset;
    int has_dst;
    rule_date start, end;
} zone_rule;

struct format_zone {
    size_t count;
    int64_t *transition;   /* UTC seconds, increasing */
    int32_t *offset_after; /* offset in effect from transition[i] on */
    int32_t initial_offset;
    int has_rule;
    zone_rule rule;
};

typedef struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;


static uint32_t read_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}


static int64_t read_be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)read_be32(p) << 32 | read_be32(p + 4));
}


static int valid_zone_name(const char *name)
{
    size_t length = strlen(name);

    if (length == 0 || length > 200 || name[0] == '/' || strstr(name, "..") != NULL)
        return 0;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return 1;
}


static int invalid_zone(const char *name, const char *reason)
{
    return ohlcx_set_error(OHLCX_EINVAL,
                           "unknown time zone '%s': %s; use an IANA zone name such as "
                           "Europe/Berlin or America/New_York",
                           name, reason);
}


static int load_bytes(const char *name, unsigned char **data, size_t *size)
{
    char path[300];
    FILE *file = NULL;
    unsigned char *buffer = NULL;
    size_t used = 0;

    snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, name);
    file = fopen(path, "rb");
    if (file == NULL) {
        char reason[400];
        snprintf(reason, sizeof reason, "cannot open %s: %s", path, strerror(errno));
        return invalid_zone(name, reason);
    }
    buffer = malloc(TZIF_MAX_BYTES);
    if (buffer == NULL) {
        fclose(file);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading time zone %s", name);
    }
    used = fread(buffer, 1, TZIF_MAX_BYTES, file);
    fclose(file);
    *data = buffer;
    *size = used;
    return 0;
}


static void read_counts(const unsigned char *header, tzif_counts *counts)
{
    counts->isut = read_be32(header + 20);
    counts->isstd = read_be32(header + 24);
    counts->leap = read_be32(header + 28);
    counts->time = read_be32(header + 32);
    counts->type = read_be32(header + 36);
    counts->chars = read_be32(header + 40);
}


/* Bytes of a data block whose times have time_bytes bytes. */
static size_t block_bytes(const tzif_counts *c, size_t time_bytes)
{
    return (size_t)c->time * (time_bytes + 1) + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (time_bytes + 4) + c->isstd + c->isut;
}


/* Copies the transitions and offsets of a data block into zone. */
static int read_block(const unsigned char *block, const tzif_counts *c, size_t time_bytes,
                      format_zone *zone)
{
    const unsigned char *types = block + (size_t)c->time * time_bytes;
    const unsigned char *infos = types + c->time;

    if (c->type == 0)
        return -1;
    zone->transition = malloc((c->time + 1) * sizeof *zone->transition);
    zone->offset_after = malloc((c->time + 1) * sizeof *zone->offset_after);
    if (zone->transition == NULL || zone->offset_after == NULL)
        return -2;
    for (uint32_t i = 0; i < c->time; i++) {
        const unsigned char *at = block + (size_t)i * time_bytes;
        uint8_t type = types[i];

        if (type >= c->type)
            return -1;
        zone->transition[i] = time_bytes == 8 ? read_be64(at) : (int32_t)read_be32(at);
        zone->offset_after[i] = (int32_t)read_be32(infos + (size_t)type * 6);
        if (i > 0 && zone->transition[i] <= zone->transition[i - 1])
            return -1;
    }
    zone->count = c->time;
    zone->initial_offset = (int32_t)read_be32(infos); /* time type 0 (RFC 8536 3.2) */
    return 0;
}


/* ---- POSIX TZ footer ---- */

typedef struct rule_cursor {
    const char *p;
} rule_cursor;


static int parse_zone_abbreviation(rule_cursor *cursor)
{
    int letters = 0;

    if (*cursor->p == '<') {
        const char *close = strchr(cursor->p, '>');
        if (close == NULL)
            return -1;
        cursor->p = close + 1;
        return 0;
    }
    while ((*cursor->p >= 'A' && *cursor->p <= 'Z') || (*cursor->p >= 'a' && *cursor->p <= 'z')) {
        cursor->p++;
        letters++;
    }
    return letters >= 3 ? 0 : -1;
}


/* Parses [+-]hh[:mm[:ss]] into seconds; hours may go up to 167. */
static int parse_rule_time(rule_cursor *cursor, int32_t *seconds)
{
    int32_t sign = 1, parts[3] = {0, 0, 0};
    int count = 0;

    if (*cursor->p == '+' || *cursor->p == '-')
        sign = *cursor->p++ == '-' ? -1 : 1;
    while (count < 3) {
        int digits = 0;
        while (*cursor->p >= '0' && *cursor->p <= '9' && digits < 3) {
            parts[count] = parts[count] * 10 + (*cursor->p++ - '0');
            digits++;
        }
        if (digits == 0)
            return -1;
        count++;
        if (*cursor->p != ':')
            break;
        cursor->p++;
    }
    if (parts[0] > 167 || parts[1] > 59 || parts[2] > 59)
        return -1;
    *seconds = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return 0;
}


static int parse_small_number(rule_cursor *cursor, int *value)
{
    int digits = 0;

    *value = 0;
    while (*cursor->p >= '0' && *cursor->p <= '9' && digits < 3) {
        *value = *value * 10 + (*cursor->p++ - '0');
        digits++;
    }
    return digits > 0 ? 0 : -1;
}


static int parse_rule_date(rule_cursor *cursor, rule_date *date)
{
    date->time = 2 * 3600; /* POSIX default: 02:00 local */
    if (*cursor->p == 'M') {
        cursor->p++;
        date->kind = 'M';
        if (parse_small_number(cursor, &date->month) != 0 || *cursor->p++ != '.' ||
            parse_small_number(cursor, &date->week) != 0 || *cursor->p++ != '.' ||
            parse_small_number(cursor, &date->weekday) != 0)
            return -1;
        if (date->month < 1 || date->month > 12 || date->week < 1 || date->week > 5 ||
            date->weekday > 6)
            return -1;
    } else {
        date->kind = 'N';
        if (*cursor->p == 'J') {
            date->kind = 'J';
            cursor->p++;
        }
        if (parse_small_number(cursor, &date->day) != 0 || date->day > 365 ||
            (date->kind == 'J' && date->day < 1))
            return -1;
    }
    if (*cursor->p == '/') {
        cursor->p++;
        return parse_rule_time(cursor, &date->time);
    }
    return 0;
}


/* Parses a footer such as "CET-1CEST,M3.5.0,M10.5.0/3". POSIX offsets count
 * west of UTC, so they are negated. */
static int parse_footer(const char *text, zone_rule *rule)
{
    rule_cursor cursor = {text};
    int32_t posix_offset = 0;

    memset(rule, 0, sizeof *rule);
    if (parse_zone_abbreviation(&cursor) != 0 || parse_rule_time(&cursor, &posix_offset) != 0)
        return -1;
    rule->std_offset = -posix_offset;
    if (*cursor.p == '\0')
        return 0;

    if (parse_zone_abbreviation(&cursor) != 0)
        return -1;
    rule->dst_offset = rule->std_offset + 3600;
    if (*cursor.p != ',' && *cursor.p != '\0') {
        if (parse_rule_time(&cursor, &posix_offset) != 0)
            return -1;
        rule->dst_offset = -posix_offset;
    }
    if (*cursor.p++ != ',' || parse_rule_date(&cursor, &rule->start) != 0 || *cursor.p++ != ',' ||
        parse_rule_date(&cursor, &rule->end) != 0 || *cursor.p != '\0')
        return -1;
    rule->has_dst = 1;
    return 0;
}


static int is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}


/* Returns the day (since 1970-01-01) of weekday d in week w of month m;
 * week 5 is the last such weekday of the month. */
static int64_t month_week_day(const rule_date *date, int year)
{
    int64_t month_start = format_days_from_civil(year, date->month, 1);
    int weekday_of_first = (int)(((month_start + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    int day = 1 + (date->weekday - weekday_of_first + 7) % 7 + 7 * (date->week - 1);
    int last = format_days_in_month(year, date->month);

    while (day > last)
        day -= 7;
    return month_start + day - 1;
}


/* Returns the day (since 1970-01-01) on which a rule switches in year. */
static int64_t rule_day(const rule_date *date, int year)
{
    int64_t first = format_days_from_civil(year, 1, 1);

    if (date->kind == 'J') /* 1..365, February 29 never counted */
        return first + date->day - 1 + (is_leap_year(year) && date->day >= 60);
    if (date->kind == 'N') /* 0..365 */
        return first + date->day;
    return month_week_day(date, year);
}


static int32_t rule_offset(const zone_rule *rule, int64_t utc_seconds)
{
    int64_t local_day = (utc_seconds + rule->std_offset) / SECONDS_PER_DAY;
    int year = 0, month = 0, day = 0;
    int64_t start = 0, end = 0;

    if (!rule->has_dst)
        return rule->std_offset;
    if ((utc_seconds + rule->std_offset) % SECONDS_PER_DAY < 0)
        local_day--;
    format_civil_from_days(local_day, &year, &month, &day);
    /* The switch to summer time happens on standard time and back on summer time. */
    start = rule_day(&rule->start, year) * SECONDS_PER_DAY + rule->start.time - rule->std_offset;
    end = rule_day(&rule->end, year) * SECONDS_PER_DAY + rule->end.time - rule->dst_offset;
    if (start < end)
        return utc_seconds >= start && utc_seconds < end ? rule->dst_offset : rule->std_offset;
    /* Southern hemisphere: summer time spans the new year. */
    return utc_seconds >= end && utc_seconds < start ? rule->std_offset : rule->dst_offset;
}


/* Reads the footer "\nTZ string\n" that follows the v2+ data block, if any. */
static int read_footer(const unsigned char *start, const unsigned char *end, format_zone *zone)
{
    const unsigned char *footer_end = NULL;
    char footer[128];
    size_t length = 0;

    if (start >= end || *start != '\n')
        return 0;
    start++;
    footer_end = memchr(start, '\n', (size_t)(end - start));
    if (footer_end == NULL || footer_end == start)
        return 0; /* no rule: the last listed offset lasts forever */
    length = (size_t)(footer_end - start);
    if (length >= sizeof footer)
        return -1;
    memcpy(footer, start, length);
    footer[length] = '\0';
    if (parse_footer(footer, &zone->rule) != 0)
        return -1;
    zone->has_rule = 1;
    return 0;
}


/* Parses the whole file: the v1 block, or for version 2 and later the
 * 64-bit block after it and the footer. Returns 0, -1 for a malformed file
 * or -2 when out of memory. */
static int parse_tzif(const unsigned char *data, size_t size, format_zone *zone)
{
    tzif_counts counts;
    size_t v1_bytes = 0, v2_start = 0, v2_bytes = 0;
    int status = 0;

    if (size < TZIF_HEADER_BYTES || memcmp(data, "TZif", 4) != 0)
        return -1;
    read_counts(data, &counts);
    v1_bytes = block_bytes(&counts, 4);
    if (TZIF_HEADER_BYTES + v1_bytes > size)
        return -1;
    if (data[4] == '\0')
        return read_block(data + TZIF_HEADER_BYTES, &counts, 4, zone);

    v2_start = TZIF_HEADER_BYTES + v1_bytes;
    if (v2_start + TZIF_HEADER_BYTES > size || memcmp(data + v2_start, "TZif", 4) != 0)
        return -1;
    read_counts(data + v2_start, &counts);
    v2_bytes = block_bytes(&counts, 8);
    if (v2_start + TZIF_HEADER_BYTES + v2_bytes > size)
        return -1;
    status = read_block(data + v2_start + TZIF_HEADER_BYTES, &counts, 8, zone);
    if (status != 0)
        return status;
    return read_footer(data + v2_start + TZIF_HEADER_BYTES + v2_bytes, data + size, zone);
}


int format_zone_load(const char *name, format_zone **out)
{
    unsigned char *data = NULL;
    size_t size = 0;
    format_zone *zone = NULL;
    int status = 0;

    *out = NULL;
    if (name == NULL || !valid_zone_name(name))
        return invalid_zone(name ? name : "", "a zone name is a path such as Europe/Berlin");
    status = load_bytes(name, &data, &size);
    if (status != 0)
        return status;
    zone = calloc(1, sizeof *zone);
    if (zone == NULL) {
        free(data);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading time zone %s", name);
    }
    status = parse_tzif(data, size, zone);
    free(data);
    if (status == -2) {
        format_zone_free(zone);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading time zone %s", name);
    }
    if (status != 0) {
        format_zone_free(zone);
        return invalid_zone(name, "the file is not a valid TZif file");
    }
    *out = zone;
    return 0;
}


void format_zone_free(format_zone *zone)
{
    if (zone == NULL)
        return;
    free(zone->transition);
    free(zone->offset_after);
    free(zone);
}


int64_t format_zone_offset(const format_zone *zone, int64_t utc_seconds)
{
    size_t low = 0, high = zone->count;

    if (zone->count == 0)
        return zone->has_rule ? rule_offset(&zone->rule, utc_seconds) : zone->initial_offset;
    if (utc_seconds < zone->transition[0])
        return zone->initial_offset;
    if (utc_seconds >= zone->transition[zone->count - 1] && zone->has_rule)
        return rule_offset(&zone->rule, utc_seconds);

    /* The last transition at or before utc_seconds. */
    while (high - low > 1) {
        size_t middle = low + (high - low) / 2;
        if (zone->transition[middle] <= utc_seconds)
            low = middle;
        else
            high = middle;
    }
    return zone->offset_after[low];
}


int64_t format_zone_to_utc(const format_zone *zone, int64_t local_us, const int64_t *previous_us)
{
    int64_t local = local_us / OHLCX_US_PER_SECOND;
    int64_t subsecond = 0, candidates[2];
    int64_t before = 0, after = 0;
    int count = 0;

    if (local_us % OHLCX_US_PER_SECOND < 0)
        local--;
    subsecond = local_us - local * OHLCX_US_PER_SECOND;

    /* Offsets are under a day, so the offsets a day either side are the
     * only ones this local time can have (one change per two days at most). */
    before = format_zone_offset(zone, local - SECONDS_PER_DAY);
    after = format_zone_offset(zone, local + SECONDS_PER_DAY);
    if (format_zone_offset(zone, local - before) == before)
        candidates[count++] = local - before;
    if (after != before && format_zone_offset(zone, local - after) == after)
        candidates[count++] = local - after;

    if (count == 0) /* skipped by a jump forward */
        return (local - before) * OHLCX_US_PER_SECOND + subsecond;
    if (count == 2) {
        int64_t earlier = candidates[0] < candidates[1] ? candidates[0] : candidates[1];
        int64_t later = candidates[0] < candidates[1] ? candidates[1] : candidates[0];
        int64_t earlier_us = earlier * OHLCX_US_PER_SECOND + subsecond;

        if (previous_us != NULL && earlier_us <= *previous_us)
            return later * OHLCX_US_PER_SECOND + subsecond;
        return earlier_us;
    }
    return candidates[0] * OHLCX_US_PER_SECOND + subsecond;
}
