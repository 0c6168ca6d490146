/*
 * Market calendars: which bar open times a market is expected to fill.
 *
 * Intraday bars (timeframes under a day) are expected when their period
 * [open, open + timeframe) overlaps the trading hours. For bars on the 1m to
 * 30m grid and for 1h bars aligned to :00 or :30 this is the same as "the
 * open time lies in the session", and it also expects a 4h bar that opens
 * before the bell and covers it. Bars of a day or more are compared by UTC
 * date: a 1d bar is expected when its UTC date is a trading day, so labels
 * at 00:00 UTC and at New York midnight (04:00 or 05:00 UTC) give the same
 * date. A 3d bar is expected when one of its three days trades, and 1w, 1M
 * and 3M bars when one of their first seven days trades.
 *
 * The calendars:
 *   ALWAYS     every bar (crypto).
 *   FOREX      from Sunday 22:00 to Friday 22:00 UTC; daily bars Monday to
 *              Friday. NOTE: the 22:00 boundary does not follow New York
 *              daylight saving time (it is 21:00 UTC in summer at most
 *              brokers), and there are no holidays.
 *   US_EQUITY  09:30-16:00 America/New_York on weekdays that are not NYSE
 *              holidays. New York time comes from the US daylight saving
 *              rule computed here, not from TZ or mktime(), so calls are
 *              thread-safe.
 *   INFERRED   the (weekday, UTC hour) slots that quality_infer_session()
 *              marks; daily bars on weekdays with any marked hour.
 *
 * A thread-local cache keeps the last UTC day's NYSE session, so a walk
 * over consecutive bars computes holidays and daylight saving time once a
 * day rather than once a bar.
 */
#include <stdint.h>
#include <string.h>

#include "format/format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/series.h"
#include "quality/quality_internal.h"

#define DAY OHLCX_US_PER_DAY
#define HOUR OHLCX_US_PER_HOUR
#define MINUTE OHLCX_US_PER_MINUTE
#define WEEK (7 * DAY)

/* 1970-01-05, the first Monday after the epoch, in days. */
#define FIRST_MONDAY 4

/* The forex weekend close, Friday 22:00 to Sunday 22:00 UTC, as offsets
 * from Monday 00:00. */
#define FOREX_CLOSE (4 * DAY + 22 * HOUR)
#define FOREX_OPEN (6 * DAY + 22 * HOUR)

#define NYSE_OPEN_LOCAL (9 * HOUR + 30 * MINUTE)
#define NYSE_CLOSE_LOCAL (16 * HOUR)

/* A bar counts as "US hours" for quality_resolve_calendar() when at least
 * this share of its bars is expected on the US equity calendar. */
#define US_HOURS_MIN_SHARE 0.9

enum { MONDAY = 0, THURSDAY = 3, FRIDAY = 4, SATURDAY = 5, SUNDAY = 6 };

/* Length of a timeframe: length_us for intraday ones, days for 1d, 3d and
 * 1w, months for 1M and 3M. */
typedef struct bar_length {
    int64_t length_us;
    int days;
    int months;
} bar_length;

/* The last UTC day whose NYSE session was computed on this thread. */
static _Thread_local struct {
    int valid;
    int64_t day;
    int trades;
    int64_t open_us; /* session open and close, UTC microseconds */
    int64_t close_us;
} session_cache;


static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}


/* Returns 0 for Monday to 6 for Sunday. Day 0, 1970-01-01, was a Thursday. */
static int weekday_of_day(int64_t day)
{
    int64_t w = (day + THURSDAY) % 7;

    return (int)(w < 0 ? w + 7 : w);
}


/* Parses a canonical timeframe name by hand, because gap walks call
 * quality_bar_expected() once per slot. An unknown name reads as a 1 us
 * intraday bar, so only its open time matters. */
static bar_length parse_length(const char *timeframe)
{
    bar_length length = {1, 0, 0};
    int count = 0;
    const char *p = timeframe;

    while (*p >= '0' && *p <= '9' && count < 1000)
        count = count * 10 + (*p++ - '0');
    if (count <= 0 || p[0] == '\0' || p[1] != '\0')
        return length;
    switch (*p) {
    case 'm':
        length.length_us = count * MINUTE;
        break;
    case 'h':
        length.length_us = count * HOUR;
        break;
    case 'd':
        length.days = count;
        break;
    case 'w':
        length.days = 7 * count;
        break;
    case 'M':
        length.months = count;
        break;
    default:
        break;
    }
    if (length.days > 0)
        length.length_us = length.days * DAY;
    return length;
}


/* Returns the day of the n-th (1-based) given weekday of a month. */
static int64_t nth_weekday(int year, int month, int weekday, int n)
{
    int64_t first = format_days_from_civil(year, month, 1);
    int offset = (weekday - weekday_of_day(first) + 7) % 7;

    return first + offset + 7 * (n - 1);
}


/* Returns the day of the last given weekday of a month. */
static int64_t last_weekday(int year, int month, int weekday)
{
    int64_t last = format_days_from_civil(year, month, format_days_in_month(year, month));

    return last - (weekday_of_day(last) - weekday + 7) % 7;
}


/* Returns the day of Easter Sunday in the Gregorian calendar, by the
 * anonymous Gregorian algorithm (golden number, epact, then the Sunday
 * after the paschal full moon). */
static int64_t easter_day(int year)
{
    int golden = year % 19;
    int century = year / 100, year_of_century = year % 100;
    int leap_centuries = century / 4, century_rest = century % 4;
    int moon_correction = (century + 8) / 25;
    int moon_shift = (century - moon_correction + 1) / 3;
    int epact = (19 * golden + century - leap_centuries - moon_shift + 15) % 30;
    int leap_years = year_of_century / 4, year_rest = year_of_century % 4;
    int to_sunday = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7;
    int correction = (golden + 11 * epact + 22 * to_sunday) / 451;
    int month = (epact + to_sunday - 7 * correction + 114) / 31;
    int day = (epact + to_sunday - 7 * correction + 114) % 31 + 1;

    return format_days_from_civil(year, month, day);
}


/* Moves a fixed-date holiday on a weekend to the nearest weekday:
 * Saturday to the Friday before, Sunday to the Monday after. */
static int64_t observed(int64_t day)
{
    int weekday = weekday_of_day(day);

    if (weekday == SATURDAY)
        return day - 1;
    if (weekday == SUNDAY)
        return day + 1;
    return day;
}


/* Returns 1 when day (a weekday) is a full-day NYSE holiday.
 * NOTE: early closes at 13:00 (July 3, the day after Thanksgiving,
 * December 24) count as full sessions, and unscheduled closures (such as
 * 2001-09-11 to 09-14, 2012-10-29 and 30, and national days of mourning) are
 * not listed. Rules apply to every year as they stand today, except
 * Martin Luther King Jr. Day (from 1998) and Juneteenth (from 2022). */
static int is_nyse_holiday(int64_t day)
{
    int year, month, day_of_month;

    format_civil_from_days(day, &year, &month, &day_of_month);
    switch (month) {
    case 1:
        /* New Year's Day on a Saturday closes nothing: the NYSE stays open
         * on the Friday before, December 31, because it ends the accounting
         * year. */
        if (weekday_of_day(format_days_from_civil(year, 1, 1)) != SATURDAY &&
            day == observed(format_days_from_civil(year, 1, 1)))
            return 1;
        return year >= 1998 && day == nth_weekday(year, 1, MONDAY, 3);
    case 2:
        return day == nth_weekday(year, 2, MONDAY, 3);
    case 3:
    case 4:
        return day == easter_day(year) - 2; /* Good Friday */
    case 5:
        return day == last_weekday(year, 5, MONDAY);
    case 6:
        return year >= 2022 && day == observed(format_days_from_civil(year, 6, 19));
    case 7:
        return day == observed(format_days_from_civil(year, 7, 4));
    case 9:
        return day == nth_weekday(year, 9, MONDAY, 1);
    case 11:
        return day == nth_weekday(year, 11, THURSDAY, 4);
    case 12:
        return day == observed(format_days_from_civil(year, 12, 25));
    default:
        return 0;
    }
}


/* Returns 1 when New York keeps daylight saving time at 09:30 local on day.
 * Since 2007: from the second Sunday of March to the first Sunday of
 * November. 1987 to 2006: first Sunday of April to last Sunday of October.
 * Before 1987: last Sunday of April to last Sunday of October.
 * NOTE: the year-round daylight time of 1974 and 1975 is not modelled. */
static int new_york_dst(int64_t day)
{
    int year, month, day_of_month;
    int64_t start, end;

    format_civil_from_days(day, &year, &month, &day_of_month);
    if (year >= 2007) {
        start = nth_weekday(year, 3, SUNDAY, 2);
        end = nth_weekday(year, 11, SUNDAY, 1);
    } else if (year >= 1987) {
        start = nth_weekday(year, 4, SUNDAY, 1);
        end = last_weekday(year, 10, SUNDAY);
    } else {
        start = last_weekday(year, 4, SUNDAY);
        end = last_weekday(year, 10, SUNDAY);
    }
    return day >= start && day < end;
}


/* Returns 1 when the NYSE trades on the UTC day, and sets the session's
 * open and close in UTC. The session (13:30 to 20:00 UTC in summer, 14:30
 * to 21:00 in winter) always lies inside the UTC day of the same date. */
static int nyse_session(int64_t day, int64_t *open_us, int64_t *close_us)
{
    if (!session_cache.valid || session_cache.day != day) {
        int64_t offset = new_york_dst(day) ? 4 * HOUR : 5 * HOUR;

        session_cache.valid = 1;
        session_cache.day = day;
        session_cache.trades = weekday_of_day(day) < SATURDAY && !is_nyse_holiday(day);
        session_cache.open_us = day * DAY + NYSE_OPEN_LOCAL + offset;
        session_cache.close_us = day * DAY + NYSE_CLOSE_LOCAL + offset;
    }
    *open_us = session_cache.open_us;
    *close_us = session_cache.close_us;
    return session_cache.trades;
}


static int inferred_day_trades(const uint8_t inferred[7 * 24], int weekday)
{
    for (int hour = 0; hour < 24; hour++)
        if (inferred[weekday * 24 + hour])
            return 1;
    return 0;
}


/* Returns 1 when the calendar trades at some time of the UTC day. */
static int day_trades(int calendar, int64_t day, const uint8_t inferred[7 * 24])
{
    int weekday = weekday_of_day(day);
    int64_t open_us, close_us;

    switch (calendar) {
    case OHLCX_CALENDAR_FOREX:
        return weekday < SATURDAY;
    case OHLCX_CALENDAR_US_EQUITY:
        return nyse_session(day, &open_us, &close_us);
    case OHLCX_CALENDAR_INFERRED:
        return inferred == NULL || inferred_day_trades(inferred, weekday);
    default:
        return 1;
    }
}


/* Returns 1 when the intraday bar [open_time, open_time + length_us)
 * overlaps a NYSE session. The bar is shorter than a day, so it touches at
 * most two UTC days. */
static int nyse_bar_expected(int64_t open_time, int64_t length_us)
{
    int64_t first_day = floor_div(open_time, DAY);
    int64_t last_day = floor_div(open_time + length_us - 1, DAY);
    int64_t open_us, close_us;

    for (int64_t day = first_day; day <= last_day; day++)
        if (nyse_session(day, &open_us, &close_us) && open_time < close_us &&
            open_time + length_us > open_us)
            return 1;
    return 0;
}


/* Returns 1 unless the intraday bar lies wholly inside the weekend close
 * from Friday 22:00 to Sunday 22:00 UTC. Bars are at most 12 hours long,
 * shorter than the close, so one comparison of each end suffices. */
static int forex_bar_expected(int64_t open_time, int64_t length_us)
{
    int64_t in_week = open_time - FIRST_MONDAY * DAY;

    in_week -= floor_div(in_week, WEEK) * WEEK;
    return !(in_week >= FOREX_CLOSE && in_week + length_us <= FOREX_OPEN);
}


static int inferred_bar_expected(int64_t open_time, const uint8_t inferred[7 * 24])
{
    int64_t day = floor_div(open_time, DAY);
    int hour = (int)((open_time - day * DAY) / HOUR);

    return inferred == NULL || inferred[weekday_of_day(day) * 24 + hour];
}


int quality_bar_expected(int calendar, const char *timeframe, int64_t open_time,
                         const uint8_t inferred[7 * 24])
{
    bar_length length = parse_length(timeframe);

    if (length.days > 0 || length.months > 0) {
        int64_t day = floor_div(open_time, DAY);
        int span = length.days == 1 || length.days == 3 ? length.days : 7;

        for (int i = 0; i < span; i++)
            if (day_trades(calendar, day + i, inferred))
                return 1;
        return 0;
    }
    switch (calendar) {
    case OHLCX_CALENDAR_FOREX:
        return forex_bar_expected(open_time, length.length_us);
    case OHLCX_CALENDAR_US_EQUITY:
        return nyse_bar_expected(open_time, length.length_us);
    case OHLCX_CALENDAR_INFERRED:
        return inferred_bar_expected(open_time, inferred);
    default:
        return 1;
    }
}


/* Counts the weeks (Monday 00:00 UTC) and, per slot, the weeks with a bar
 * in that slot. Rows must be in open-time order: each slot remembers only
 * the last week counted, so unsorted rows may count a week twice. */
void quality_infer_session(const ohlcx_series *series, uint8_t inferred[7 * 24])
{
    size_t weeks_with_bar[7 * 24] = {0};
    int64_t last_week_in_slot[7 * 24];
    int64_t last_week = INT64_MIN;
    size_t weeks = 0;

    for (int slot = 0; slot < 7 * 24; slot++)
        last_week_in_slot[slot] = INT64_MIN;

    for (size_t i = 0; i < series->n; i++) {
        int64_t day = floor_div(series->open_time[i], DAY);
        int64_t week = floor_div(day - FIRST_MONDAY, 7);
        int hour = (int)((series->open_time[i] - day * DAY) / HOUR);
        int slot = weekday_of_day(day) * 24 + hour;

        if (week != last_week) {
            weeks++;
            last_week = week;
        }
        if (last_week_in_slot[slot] != week) {
            weeks_with_bar[slot]++;
            last_week_in_slot[slot] = week;
        }
    }

    for (int slot = 0; slot < 7 * 24; slot++)
        inferred[slot] = weeks_with_bar[slot] * 5 > weeks;
}


/* Returns 1 when the series is daily or longer, or when at least
 * US_HOURS_MIN_SHARE of its bars are expected in NYSE sessions. */
static int looks_like_us_hours(const ohlcx_series *series)
{
    bar_length length = parse_length(series->timeframe);
    size_t in_session = 0;

    if (length.days > 0 || length.months > 0)
        return 1;
    for (size_t i = 0; i < series->n; i++)
        in_session += (size_t)quality_bar_expected(OHLCX_CALENDAR_US_EQUITY, series->timeframe,
                                                    series->open_time[i], NULL);
    return (double)in_session >= US_HOURS_MIN_SHARE * (double)series->n;
}


/* NOTE: stocks and indices of any exchange get the US equity calendar when
 * their bars are daily or fall in New York hours, so a European index's
 * daily series is checked against NYSE holidays. */
int quality_resolve_calendar(const ohlcx_series *series, int requested)
{
    if (requested < OHLCX_CALENDAR_AUTO || requested > OHLCX_CALENDAR_INFERRED)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid calendar %d: use auto, always, forex, us_equity or "
                               "inferred",
                               requested);
    if (requested != OHLCX_CALENDAR_AUTO)
        return requested;

    switch (series->asset_class) {
    case OHLCX_ASSET_CRYPTO:
        return OHLCX_CALENDAR_ALWAYS;
    case OHLCX_ASSET_FOREX:
        return OHLCX_CALENDAR_FOREX;
    case OHLCX_ASSET_STOCKS:
    case OHLCX_ASSET_INDICES:
        return looks_like_us_hours(series) ? OHLCX_CALENDAR_US_EQUITY : OHLCX_CALENDAR_INFERRED;
    default:
        return OHLCX_CALENDAR_INFERRED;
    }
}
