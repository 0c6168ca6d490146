/*
 * The bar calendar of synthetic series.
 *
 * Crypto trades around the clock: a bar opens at every timeframe boundary.
 * Boundaries of fixed-length timeframes are multiples of the length from the
 * epoch, except weeks, which start on Monday 00:00 UTC; 1M and 3M bars open
 * on the first day of a calendar month or quarter.
 *
 * Stocks trade on the NYSE calendar of the quality module: 09:30 to 16:00
 * New York time on weekdays that are not exchange holidays, which is 14:30
 * to 21:00 UTC in winter and 13:30 to 20:00 UTC under daylight saving time.
 * Intraday bars open at the session open + k * timeframe while before the
 * close, so the last bar of a day may be shorter than the timeframe (a 1h
 * session has seven bars, the last one 30 minutes long).
 *
 * Forex trades on the forex calendar of the quality module, which `ohlcx
 * check` uses: trading day D runs from 17:00 New York on the day before D to
 * 17:00 on D, Monday to Friday, except the forex holidays. Intraday bars
 * keep the crypto grid and exist when their period overlaps a trading day,
 * which is the rule the quality module applies. 17:00 New York is 21:00 or
 * 22:00 UTC, a whole hour. So a bar of up to an hour trades throughout or
 * not at all, while a longer one (a 4h bar from 20:00 UTC) may trade in
 * only part of its hours.
 *
 * Daily and longer stock and forex bars are labelled by the start of their
 * period (00:00 UTC for 1d) and exist when it contains a trading day. A
 * forex 1d bar labelled D 00:00 UTC stands for trading day D.
 *
 * All times are UTC microseconds at or after 1970-01-01, so plain integer
 * division rounds toward the earlier time.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/series.h"
#include "ohlcx/synth.h"
#include "quality/quality_internal.h"
#include "synth/synth_internal.h"

#define SESSION_US (6 * OHLCX_US_PER_HOUR + 30 * OHLCX_US_PER_MINUTE)

/* 1970-01-05, the first Monday after the epoch. */
#define FIRST_MONDAY_US (4 * OHLCX_US_PER_DAY)

#define PI 3.14159265358979323846


static int is_leap_year(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}


static int days_in_month(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return days[month - 1] + (month == 2 && is_leap_year(year));
}


/* Returns the leap years in [1, year). */
static int64_t leap_years_before(int64_t year)
{
    int64_t y = year - 1;

    return y / 4 - y / 100 + y / 400;
}


/* Returns the days from 1970-01-01 to year-month-day, for years >= 1970. */
static int64_t days_from_date(int64_t year, int month, int day)
{
    int64_t days = 365 * (year - 1970) + leap_years_before(year) - leap_years_before(1970);

    for (int m = 1; m < month; m++)
        days += days_in_month(year, m);
    return days + day - 1;
}


/* Splits days since 1970-01-01 into year, month and day. */
static void date_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t y = 1970 + days / 366;

    while (days_from_date(y + 1, 1, 1) <= days)
        y++;
    days -= days_from_date(y, 1, 1);
    *month = 1;
    while (days >= days_in_month(y, *month)) {
        days -= days_in_month(y, *month);
        (*month)++;
    }
    *year = y;
    *day = (int)days + 1;
}


/* Returns 0 for Monday to 6 for Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t time_us)
{
    return (int)((time_us / OHLCX_US_PER_DAY + 3) % 7);
}


int64_t synth_add_months(int64_t time_us, int months)
{
    int64_t day_start = time_us - time_us % OHLCX_US_PER_DAY;
    int64_t year, month_index;
    int month, day;

    date_from_days(time_us / OHLCX_US_PER_DAY, &year, &month, &day);
    month_index = year * 12 + (month - 1) + months;
    year = month_index / 12;
    month = (int)(month_index % 12) + 1;
    if (day > days_in_month(year, month))
        day = days_in_month(year, month);
    return days_from_date(year, month, day) * OHLCX_US_PER_DAY + (time_us - day_start);
}


int synth_calendar_init(synth_calendar *calendar, const char *timeframe, int kind)
{
    memset(calendar, 0, sizeof *calendar);
    calendar->kind = kind;
    snprintf(calendar->timeframe, sizeof calendar->timeframe, "%s", timeframe);
    if (strcmp(timeframe, "1M") == 0 || strcmp(timeframe, "3M") == 0) {
        calendar->months_per_bar = timeframe[0] - '0';
        return 0;
    }
    calendar->length_us = ohlcx_timeframe_us(timeframe);
    if (calendar->length_us <= 0)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid timeframe '%s'", timeframe);
    if (strcmp(timeframe, "1w") == 0)
        calendar->align_us = FIRST_MONDAY_US;
    return 0;
}


static int is_intraday(const synth_calendar *calendar)
{
    return calendar->months_per_bar == 0 && calendar->length_us < OHLCX_US_PER_DAY;
}


int64_t synth_bar_end(const synth_calendar *calendar, int64_t open_us)
{
    if (calendar->months_per_bar > 0)
        return synth_add_months(open_us, calendar->months_per_bar);
    return open_us + calendar->length_us;
}


/* Returns the first period boundary at or after time_us. */
static int64_t first_boundary(const synth_calendar *calendar, int64_t time_us)
{
    int64_t year, offset;
    int month, day;

    if (calendar->months_per_bar == 0) {
        offset = time_us - calendar->align_us;
        if (offset <= 0)
            return calendar->align_us + offset / calendar->length_us * calendar->length_us;
        return calendar->align_us +
               (offset + calendar->length_us - 1) / calendar->length_us * calendar->length_us;
    }
    date_from_days(time_us / OHLCX_US_PER_DAY, &year, &month, &day);
    offset = days_from_date(year, month, 1) * OHLCX_US_PER_DAY;
    if (offset < time_us)
        offset = synth_add_months(offset, 1);
    date_from_days(offset / OHLCX_US_PER_DAY, &year, &month, &day);
    while ((month - 1) % calendar->months_per_bar != 0) {
        offset = synth_add_months(offset, 1);
        date_from_days(offset / OHLCX_US_PER_DAY, &year, &month, &day);
    }
    return offset;
}


/* Returns 1 when the calendar trades on the UTC day that starts at day_us:
 * for stocks a NYSE trading day, for forex the trading day of that date. */
static int is_trading_day(int kind, int64_t day_us)
{
    if (kind == OHLCX_SYNTH_FOREX_WEEK)
        return quality_bar_expected(OHLCX_CALENDAR_FOREX, "1d", day_us, NULL);
    if (kind == OHLCX_SYNTH_STOCK_SESSION)
        return weekday(day_us) < 5 &&
               quality_bar_expected(OHLCX_CALENDAR_US_EQUITY, "1d", day_us, NULL);
    return 1;
}


/* Returns the session open of a trading day as microseconds after 00:00
 * UTC: 09:30 New York is 13:30 UTC under daylight saving time, else 14:30. */
static int64_t session_open(int64_t day_us)
{
    int64_t summer_open = 13 * OHLCX_US_PER_HOUR + 30 * OHLCX_US_PER_MINUTE;

    if (quality_bar_expected(OHLCX_CALENDAR_US_EQUITY, "1m", day_us + summer_open, NULL))
        return summer_open;
    return summer_open + OHLCX_US_PER_HOUR;
}


/* Returns the trading days in [start_us, end_us), both at 00:00. */
static int count_trading_days(int kind, int64_t start_us, int64_t end_us)
{
    int count = 0;

    for (int64_t day = start_us; day < end_us; day += OHLCX_US_PER_DAY)
        count += is_trading_day(kind, day);
    return count;
}


/* Returns 1 when an intraday forex bar opening at open_us overlaps a
 * trading day. */
static int forex_bar_trades(const synth_calendar *calendar, int64_t open_us)
{
    return quality_bar_expected(OHLCX_CALENDAR_FOREX, calendar->timeframe, open_us, NULL);
}


static size_t stock_session_bars(const synth_calendar *calendar, int64_t start_us,
                                 int64_t end_us, int64_t *open_times)
{
    size_t count = 0;

    for (int64_t day = start_us - start_us % OHLCX_US_PER_DAY; day < end_us;
         day += OHLCX_US_PER_DAY) {
        int64_t first = day + session_open(day);

        if (!is_trading_day(OHLCX_SYNTH_STOCK_SESSION, day))
            continue;
        for (int64_t open = first; open < first + SESSION_US; open += calendar->length_us) {
            if (open < start_us || open >= end_us)
                continue;
            if (open_times != NULL)
                open_times[count] = open;
            count++;
        }
    }
    return count;
}


size_t synth_calendar_bars(const synth_calendar *calendar, int64_t start_us, int64_t end_us,
                           int64_t *open_times)
{
    size_t count = 0;

    if (calendar->kind == OHLCX_SYNTH_STOCK_SESSION && is_intraday(calendar))
        return stock_session_bars(calendar, start_us, end_us, open_times);

    for (int64_t open = first_boundary(calendar, start_us); open < end_us;
         open = synth_bar_end(calendar, open)) {
        if (calendar->kind == OHLCX_SYNTH_FOREX_WEEK && is_intraday(calendar)) {
            if (!forex_bar_trades(calendar, open))
                continue;
        } else if (calendar->kind != OHLCX_SYNTH_ALWAYS &&
                   count_trading_days(calendar->kind, open, synth_bar_end(calendar, open)) == 0) {
            continue;
        }
        if (open_times != NULL)
            open_times[count] = open;
        count++;
    }
    return count;
}


/* Stock volume is higher at the open and the close of the session: a
 * U-shape over the session that averages 1.1. */
static double stock_volume_shape(int64_t open_us, int64_t end_us)
{
    int64_t day = open_us - open_us % OHLCX_US_PER_DAY;
    double middle = 0.5 * (double)(open_us + end_us) - (double)(day + session_open(day));
    double x = middle / (double)SESSION_US;

    return 0.7 + 1.2 * (2 * x - 1) * (2 * x - 1);
}


/* Crypto and forex volume follows a mild daily cycle that peaks at 15:00
 * UTC, when European and American hours overlap. */
static double crypto_volume_shape(int64_t open_us, int64_t end_us)
{
    double middle = 0.5 * (double)(open_us + end_us);
    double hour = fmod(middle, (double)OHLCX_US_PER_DAY) / (double)OHLCX_US_PER_HOUR;

    return 1 + 0.25 * cos(2 * PI * (hour - 15) / 24);
}


/* Returns the trading time of the intraday forex bar [open_us, end_us).
 * Trading days start and end on whole UTC hours and grid bars of up to an
 * hour divide the hour, so such a bar trades throughout, and a longer one
 * trades in whole hours. */
static int64_t forex_trading_us(int64_t open_us, int64_t end_us)
{
    int64_t trading_us = 0;

    if (end_us - open_us <= OHLCX_US_PER_HOUR)
        return end_us - open_us;
    for (int64_t hour = open_us; hour < end_us; hour += OHLCX_US_PER_HOUR)
        if (quality_bar_expected(OHLCX_CALENDAR_FOREX, "1h", hour, NULL))
            trading_us += OHLCX_US_PER_HOUR;
    return trading_us;
}


/* Describes a forex bar. Intraday bars count their trading hours and
 * follow the crypto volume cycle. A bar opens a session, and may gap, when
 * the market was closed just before it. That is an intraday bar whose
 * previous grid slot does not trade, a 1d bar after a closed day, and
 * every longer bar, because each spans a weekend. */
static synth_bar_info forex_bar_describe(const synth_calendar *calendar, int64_t open_us)
{
    synth_bar_info info = {1.0, 1.0, 0};
    int64_t end = synth_bar_end(calendar, open_us);

    if (is_intraday(calendar)) {
        info.trading_days = (double)forex_trading_us(open_us, end) / (double)OHLCX_US_PER_DAY;
        info.volume_shape = crypto_volume_shape(open_us, end);
        info.session_open = !forex_bar_trades(calendar, open_us - calendar->length_us);
        return info;
    }
    info.trading_days = count_trading_days(OHLCX_SYNTH_FOREX_WEEK, open_us, end);
    if (calendar->length_us == OHLCX_US_PER_DAY)
        info.session_open = !is_trading_day(OHLCX_SYNTH_FOREX_WEEK, open_us - OHLCX_US_PER_DAY);
    else
        info.session_open = 1;
    return info;
}


synth_bar_info synth_bar_describe(const synth_calendar *calendar, int64_t open_us)
{
    synth_bar_info info = {1.0, 1.0, 0};
    int64_t end = synth_bar_end(calendar, open_us);
    int64_t day = open_us - open_us % OHLCX_US_PER_DAY;

    if (calendar->kind == OHLCX_SYNTH_ALWAYS) {
        info.trading_days = (double)(end - open_us) / (double)OHLCX_US_PER_DAY;
        if (is_intraday(calendar))
            info.volume_shape = crypto_volume_shape(open_us, end);
        return info;
    }
    if (calendar->kind == OHLCX_SYNTH_FOREX_WEEK)
        return forex_bar_describe(calendar, open_us);
    if (!is_intraday(calendar)) {
        info.trading_days = count_trading_days(OHLCX_SYNTH_STOCK_SESSION, open_us, end);
        info.session_open = 1;
        return info;
    }
    if (end > day + session_open(day) + SESSION_US)
        end = day + session_open(day) + SESSION_US;
    info.trading_days = (double)(end - open_us) / (double)SESSION_US;
    info.volume_shape = stock_volume_shape(open_us, end);
    info.session_open = open_us == day + session_open(day);
    return info;
}
