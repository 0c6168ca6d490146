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
 *   FOREX      from Sunday 17:00 to Friday 17:00 America/New_York (22:00
 *              UTC in winter, 21:00 UTC in summer), closed on December 25
 *              and January 1. Trading day D runs from 17:00 New York on the
 *              day before D to 17:00 on D, so the week is trading days
 *              Monday to Friday; daily bars are expected on those UTC dates.
 *   US_EQUITY  09:30-16:00 America/New_York on weekdays that are not NYSE
 *              holidays. New York time comes from the US daylight saving
 *              rule computed here, not from TZ or mktime(), so calls are
 *              thread-safe.
 *   INFERRED   the (weekday, UTC hour) slots that quality_infer_session()
 *              marks; daily bars on weekdays with any marked hour. A slot
 *              marked QUALITY_SLOT_FOREX_HOLIDAYS is closed on December 25
 *              and January 1 of the file's clock.
 *
 * AUTO resolves to FOREX only when the data fits it (the forex rule of the
 * calendar vote below): MT4 and MT5 exports keep broker time, whose week
 * opens Monday 00:00, and get the inferred session instead. Stocks and
 * indices get US_EQUITY only when they look US listed (no foreign exchange
 * suffix, and the US hours or holidays rule of the vote).
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
#include "util/util.h"

#define DAY OHLCX_US_PER_DAY
#define HOUR OHLCX_US_PER_HOUR
#define MINUTE OHLCX_US_PER_MINUTE

/* 1970-01-05, the first Monday after the epoch, in days. */
#define FIRST_MONDAY 4

/* A forex trading day ends at 17:00 New York time. */
#define FOREX_CLOSE_LOCAL (17 * HOUR)

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


/* Unscheduled full-day NYSE closures since 1990, in date order. */
static const struct {
    int year, month, day;
} nyse_closures[] = {
    {1994, 4, 27},  /* national day of mourning, President Nixon */
    {2001, 9, 11},  /* September 11 attacks, closed through September 14 */
    {2001, 9, 12},
    {2001, 9, 13},
    {2001, 9, 14},
    {2004, 6, 11},  /* national day of mourning, President Reagan */
    {2007, 1, 2},   /* national day of mourning, President Ford */
    {2012, 10, 29}, /* Hurricane Sandy, closed two days */
    {2012, 10, 30},
    {2018, 12, 5},  /* national day of mourning, President George H. W. Bush */
    {2025, 1, 9},   /* national day of mourning, President Carter */
};


static int is_nyse_closure(int year, int month, int day_of_month)
{
    for (size_t i = 0; i < sizeof nyse_closures / sizeof *nyse_closures; i++)
        if (nyse_closures[i].year == year && nyse_closures[i].month == month &&
            nyse_closures[i].day == day_of_month)
            return 1;
    return 0;
}


/* Returns 1 when day (a weekday) is a full-day NYSE holiday or one of the
 * unscheduled closures listed above.
 * NOTE: early closes at 13:00 (July 3, the day after Thanksgiving,
 * December 24) count as full sessions, and closures before 1994 are not
 * listed. Rules apply to every year as they stand today, except Martin
 * Luther King Jr. Day (from 1998) and Juneteenth (from 2022). */
static int is_nyse_holiday(int64_t day)
{
    int year, month, day_of_month;

    format_civil_from_days(day, &year, &month, &day_of_month);
    if (is_nyse_closure(year, month, day_of_month))
        return 1;
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


/* Returns 1 on December 25 and January 1, when the forex market is closed,
 * and on the Monday after when either falls on a Sunday: the MT4 and MT5
 * exports checked have no bars on the mornings of 2016-12-26, 2017-01-02,
 * 2022-12-26 and 2023-01-02. */
static int is_forex_holiday(int64_t day)
{
    int year, month, day_of_month;

    format_civil_from_days(day, &year, &month, &day_of_month);
    if ((month == 12 && day_of_month == 25) || (month == 1 && day_of_month == 1))
        return 1;
    return weekday_of_day(day) == MONDAY &&
           ((month == 12 && day_of_month == 26) || (month == 1 && day_of_month == 2));
}


/* Returns 1 when forex trading day `day` trades: Monday to Friday except
 * the holidays. */
static int forex_day_trades(int64_t day)
{
    return weekday_of_day(day) < SATURDAY && !is_forex_holiday(day);
}


/* Returns 17:00 New York time on the date `day`, in UTC microseconds: the
 * end of forex trading day `day` and the start of the next one. */
static int64_t forex_close_us(int64_t day)
{
    return day * DAY + FOREX_CLOSE_LOCAL + (new_york_dst(day) ? 4 * HOUR : 5 * HOUR);
}


/* Returns 1 when an inferred slot trades on the UTC day (in the file's
 * clock). */
static int inferred_slot_open(uint8_t slot, int64_t day)
{
    if (!(slot & QUALITY_SLOT_TRADES))
        return 0;
    return !(slot & QUALITY_SLOT_FOREX_HOLIDAYS) || !is_forex_holiday(day);
}


static int inferred_day_trades(const uint8_t inferred[7 * 24], int64_t day)
{
    int weekday = weekday_of_day(day);

    for (int hour = 0; hour < 24; hour++)
        if (inferred_slot_open(inferred[weekday * 24 + hour], day))
            return 1;
    return 0;
}


/* Returns 1 when the calendar trades at some time of the UTC day. */
static int day_trades(int calendar, int64_t day, const uint8_t inferred[7 * 24])
{
    int64_t open_us, close_us;

    switch (calendar) {
    case OHLCX_CALENDAR_FOREX:
        return forex_day_trades(day);
    case OHLCX_CALENDAR_US_EQUITY:
        return nyse_session(day, &open_us, &close_us);
    case OHLCX_CALENDAR_INFERRED:
        return inferred == NULL || inferred_day_trades(inferred, day);
    default:
        return 1;
    }
}


/* Returns 1 when the intraday bar [open_time, open_time + length_us)
 * overlaps a NYSE session. The bar is shorter than a day, so it touches at
 * most two UTC days. */
static int nyse_bar_expected(int64_t open_time, int64_t length_us)
{
    int64_t first_day = ohlcx_floor_div(open_time, DAY);
    int64_t last_day = ohlcx_floor_div(open_time + length_us - 1, DAY);
    int64_t open_us, close_us;

    for (int64_t day = first_day; day <= last_day; day++)
        if (nyse_session(day, &open_us, &close_us) && open_time < close_us &&
            open_time + length_us > open_us)
            return 1;
    return 0;
}


/* Returns 1 when the intraday bar [open_time, open_time + length_us)
 * overlaps a forex trading day. Bars are at most 12 hours long, so they
 * touch the trading day that contains their open and at most the next. */
static int forex_bar_expected(int64_t open_time, int64_t length_us)
{
    int64_t day = ohlcx_floor_div(open_time, DAY);

    if (open_time >= forex_close_us(day))
        day++;
    for (int64_t d = day; d <= day + 1; d++)
        if (forex_day_trades(d) && open_time < forex_close_us(d) &&
            open_time + length_us > forex_close_us(d - 1))
            return 1;
    return 0;
}


static int inferred_bar_expected(int64_t open_time, const uint8_t inferred[7 * 24])
{
    int64_t day = ohlcx_floor_div(open_time, DAY);
    int hour = (int)((open_time - day * DAY) / HOUR);

    return inferred == NULL || inferred_slot_open(inferred[weekday_of_day(day) * 24 + hour], day);
}


int quality_bar_expected(int calendar, const char *timeframe, int64_t open_time,
                         const uint8_t inferred[7 * 24])
{
    bar_length length = parse_length(timeframe);

    if (length.days > 0 || length.months > 0) {
        int64_t day = ohlcx_floor_div(open_time, DAY);
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
        int64_t day = ohlcx_floor_div(series->open_time[i], DAY);
        int64_t week = ohlcx_floor_div(day - FIRST_MONDAY, 7);
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

    for (int slot = 0; slot < 7 * 24; slot++) {
        inferred[slot] = weeks_with_bar[slot] * 5 > weeks ? QUALITY_SLOT_TRADES : 0;
        if (inferred[slot] && series->asset_class == OHLCX_ASSET_FOREX)
            inferred[slot] |= QUALITY_SLOT_FOREX_HOLIDAYS;
    }
}


/* Returns 1 when the symbol ends in an exchange suffix other than a US one,
 * such as SAP.DE or PETR4.SA. ".US" (Stooq) and a single letter A to C
 * (share classes such as BRK.B) read as US listed.
 * NOTE: a one-letter exchange suffix A to C (none is in common use) would
 * read as a share class. */
static int has_foreign_suffix(const char *symbol)
{
    const char *dot = strrchr(symbol, '.');
    size_t length;

    if (dot == NULL || dot == symbol)
        return 0;
    length = strlen(dot + 1);
    if (length == 0 || length > 3)
        return 0;
    for (size_t i = 1; i <= length; i++)
        if (!((dot[i] >= 'A' && dot[i] <= 'Z') || (dot[i] >= 'a' && dot[i] <= 'z')))
            return 0;
    if (length == 2 && (dot[1] == 'U' || dot[1] == 'u') && (dot[2] == 'S' || dot[2] == 's'))
        return 0;
    if (length == 1 && ((dot[1] >= 'A' && dot[1] <= 'C') || (dot[1] >= 'a' && dot[1] <= 'c')))
        return 0;
    return 1;
}


/*
 * The resolution of OHLCX_CALENDAR_AUTO as a vote over rows that come in
 * chunks, so that the whole-series engine (one push of every row) and the
 * stream (one push per chunk) share it. Each rule keeps counts only:
 *
 *   forex      An opening is a bar that opens a week or follows a closed
 *              day (a bar more than a day after the one before). The forex
 *              week fits when more than half of the openings are on time:
 *              at the first slot that the forex calendar expects, so the
 *              slot one timeframe earlier is closed. A series with no
 *              opening fits. Broker-time exports fail this test, because
 *              their week opens at Monday 00:00 of the file's clock, hours
 *              after Sunday 17:00 New York.
 *   US hours   intraday stocks and indices: at least US_HOURS_MIN_SHARE of
 *              the bars are expected in NYSE sessions.
 *   holidays   daily stocks and indices: a bar on more than half of the NYSE
 *              holidays (weekdays) between the first and last open times,
 *              with at least two such holidays, marks a market that trades
 *              when New York is closed. Such a market is not listed there.
 *
 * Rows are counted in the order pushed, which may be unsorted: a forex
 * opening needs a step of more than a day forward, and the holiday rule
 * takes the first and last days as the minimum and maximum.
 */
enum { VOTE_FIXED = 0, VOTE_FOREX_WEEK, VOTE_US_HOURS, VOTE_US_HOLIDAYS };


/* Returns 1 when a stock or index series like `like` has no foreign
 * exchange suffix and a timeframe for which the US equity calendar needs
 * no vote (3d and longer), sets *rule to the vote it needs otherwise. */
static int us_listed_without_data(const ohlcx_series *like, int *rule)
{
    bar_length length = parse_length(like->timeframe);

    *rule = VOTE_FIXED;
    if (has_foreign_suffix(like->symbol))
        return 0;
    if (length.days == 1)
        *rule = VOTE_US_HOLIDAYS;
    else if (length.days == 0 && length.months == 0)
        *rule = VOTE_US_HOURS;
    return 1;
}


int quality_calendar_vote_begin(quality_calendar_vote *vote, const ohlcx_series *like,
                                int requested)
{
    memset(vote, 0, sizeof *vote);
    vote->first_day = INT64_MAX;
    vote->last_day = INT64_MIN;
    vote->last_counted = INT64_MIN;
    memcpy(vote->timeframe, like->timeframe, sizeof vote->timeframe);
    vote->length_us = ohlcx_timeframe_us(like->timeframe);
    vote->calendar = OHLCX_CALENDAR_AUTO;
    if (requested != OHLCX_CALENDAR_AUTO) {
        vote->calendar = requested;
        return requested;
    }

    switch (like->asset_class) {
    case OHLCX_ASSET_CRYPTO:
        vote->calendar = OHLCX_CALENDAR_ALWAYS;
        break;
    case OHLCX_ASSET_FOREX:
        if (vote->length_us > 0)
            vote->rule = VOTE_FOREX_WEEK;
        else
            vote->calendar = OHLCX_CALENDAR_FOREX;
        break;
    case OHLCX_ASSET_STOCKS:
    case OHLCX_ASSET_INDICES:
        if (!us_listed_without_data(like, &vote->rule))
            vote->calendar = OHLCX_CALENDAR_INFERRED;
        else if (vote->rule == VOTE_FIXED)
            vote->calendar = OHLCX_CALENDAR_US_EQUITY;
        break;
    default:
        vote->calendar = OHLCX_CALENDAR_INFERRED;
        break;
    }
    return vote->calendar;
}


static void vote_forex_week(quality_calendar_vote *vote, const int64_t *open_time, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t previous = i > 0 ? open_time[i - 1] : vote->last_time;

        if ((i == 0 && vote->rows == 0) || open_time[i] - previous <= DAY)
            continue;
        vote->openings++;
        vote->on_time += !quality_bar_expected(OHLCX_CALENDAR_FOREX, vote->timeframe,
                                               open_time[i] - vote->length_us, NULL);
    }
}


static void vote_us_hours(quality_calendar_vote *vote, const int64_t *open_time, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vote->in_session += (size_t)quality_bar_expected(OHLCX_CALENDAR_US_EQUITY,
                                                         vote->timeframe, open_time[i], NULL);
}


static void vote_us_holidays(quality_calendar_vote *vote, const int64_t *open_time, size_t n)
{
    int64_t open_us, close_us;

    for (size_t i = 0; i < n; i++) {
        int64_t day = ohlcx_floor_div(open_time[i], DAY);

        vote->first_day = day < vote->first_day ? day : vote->first_day;
        vote->last_day = day > vote->last_day ? day : vote->last_day;
        if (day != vote->last_counted && weekday_of_day(day) < SATURDAY &&
            !nyse_session(day, &open_us, &close_us)) {
            vote->bars_on_holidays++;
            vote->last_counted = day;
        }
    }
}


void quality_calendar_vote_push(quality_calendar_vote *vote, const int64_t *open_time,
                                size_t n)
{
    if (n == 0)
        return;
    switch (vote->rule) {
    case VOTE_FOREX_WEEK:
        vote_forex_week(vote, open_time, n);
        break;
    case VOTE_US_HOURS:
        vote_us_hours(vote, open_time, n);
        break;
    case VOTE_US_HOLIDAYS:
        vote_us_holidays(vote, open_time, n);
        break;
    default:
        break;
    }
    vote->rows += n;
    vote->last_time = open_time[n - 1];
}


/* Returns 1 when the daily bars pushed trade on the NYSE holidays. The
 * holidays between the first and last days are counted here, once. */
static int trades_on_nyse_holidays(const quality_calendar_vote *vote)
{
    int64_t open_us, close_us;
    size_t holidays = 0;

    for (int64_t day = vote->first_day; vote->rows > 0 && day <= vote->last_day; day++)
        holidays += weekday_of_day(day) < SATURDAY && !nyse_session(day, &open_us, &close_us);
    return holidays >= 2 && 2 * vote->bars_on_holidays > holidays;
}


int quality_calendar_vote_result(const quality_calendar_vote *vote)
{
    switch (vote->rule) {
    case VOTE_FOREX_WEEK:
        return vote->openings == 0 || 2 * vote->on_time > vote->openings
                   ? OHLCX_CALENDAR_FOREX
                   : OHLCX_CALENDAR_INFERRED;
    case VOTE_US_HOURS:
        return (double)vote->in_session >= US_HOURS_MIN_SHARE * (double)vote->rows
                   ? OHLCX_CALENDAR_US_EQUITY
                   : OHLCX_CALENDAR_INFERRED;
    case VOTE_US_HOLIDAYS:
        return trades_on_nyse_holidays(vote) ? OHLCX_CALENDAR_INFERRED
                                             : OHLCX_CALENDAR_US_EQUITY;
    default:
        return vote->calendar;
    }
}


/* NOTE: a non-US index or stock that closes on the NYSE holidays, or a
 * series too short to hold two of them, still gets the US equity
 * calendar. */
int quality_resolve_calendar(const ohlcx_series *series, int requested)
{
    quality_calendar_vote vote;

    if (requested < OHLCX_CALENDAR_AUTO || requested > OHLCX_CALENDAR_INFERRED)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid calendar %d: use auto, always, forex, us_equity or "
                               "inferred",
                               requested);
    if (quality_calendar_vote_begin(&vote, series, requested) != OHLCX_CALENDAR_AUTO)
        return vote.calendar;
    quality_calendar_vote_push(&vote, series->open_time, series->n);
    return quality_calendar_vote_result(&vote);
}
