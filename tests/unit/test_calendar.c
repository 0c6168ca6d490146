/*
 * Tests of the market calendars, session inference, gap finding and gap
 * filling (src/quality/calendar.c and gaps.c). Holiday, Easter and daylight
 * saving dates are the published NYSE holidays, Easter dates and US clock
 * changes of each year.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"
#include "quality/quality_internal.h"

#define HOUR OHLCX_US_PER_HOUR
#define DAY OHLCX_US_PER_DAY

enum { ALWAYS = OHLCX_CALENDAR_ALWAYS, FOREX = OHLCX_CALENDAR_FOREX,
       US = OHLCX_CALENDAR_US_EQUITY, INFERRED = OHLCX_CALENDAR_INFERRED };


/* Returns the UTC time of "YYYY-MM-DD" or "YYYY-MM-DD HH:MM". */
static int64_t at(const char *text)
{
    int64_t time_us = 0;

    assert_int_equal(ohlcx_parse_datetime(text, strlen(text), &time_us), 0);
    return time_us;
}


static int expected(int calendar, const char *timeframe, const char *time)
{
    return quality_bar_expected(calendar, timeframe, at(time), NULL);
}


static void make_series(ohlcx_series *s, const char *timeframe, int asset_class)
{
    ohlcx_series_init(s);
    strcpy(s->symbol, "TEST");
    strcpy(s->timeframe, timeframe);
    s->asset_class = asset_class;
}


/* Appends a bar that opens at 100 + hours since start and closes 0.5 higher. */
static void add_bar(ohlcx_series *s, int64_t open_time, int64_t start)
{
    double open = 100.0 + (double)((open_time - start) / HOUR);

    assert_int_equal(ohlcx_series_append(s, open_time, open, open + 0.5, open, open + 0.5, 10), 0);
}


/* Builds hours 0..29 from 2024-01-01 without hours 3, 10-12 and 20-24. */
static void make_crypto_holes(ohlcx_series *s)
{
    int64_t start = at("2024-01-01");

    make_series(s, "1h", OHLCX_ASSET_CRYPTO);
    for (int h = 0; h < 30; h++) {
        if (h == 3 || (h >= 10 && h <= 12) || (h >= 20 && h <= 24))
            continue;
        add_bar(s, start + h * HOUR, start);
    }
}


/* Builds the 1h US bars 14:30 to 20:30 UTC of the winter week 2024-01-08
 * (Monday) to 01-12, leaving out the hours listed in skip. */
static void make_us_week(ohlcx_series *s, const int64_t *skip, size_t skip_count)
{
    int64_t monday = at("2024-01-08 14:30");

    make_series(s, "1h", OHLCX_ASSET_STOCKS);
    for (int day = 0; day < 5; day++) {
        for (int bar = 0; bar < 7; bar++) {
            int64_t open_time = monday + day * DAY + bar * HOUR;
            int skipped = 0;

            for (size_t i = 0; i < skip_count; i++)
                skipped |= skip[i] == open_time;
            if (!skipped)
                add_bar(s, open_time, monday);
        }
    }
}


static void us_holidays_2024(void **state)
{
    static const char *holidays[] = {"2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29",
                                     "2024-05-27", "2024-06-19", "2024-07-04", "2024-09-02",
                                     "2024-11-28", "2024-12-25"};

    (void)state;
    for (size_t i = 0; i < sizeof holidays / sizeof *holidays; i++)
        assert_int_equal(expected(US, "1d", holidays[i]), 0);
    assert_int_equal(expected(US, "1d", "2024-01-02"), 1);
    assert_int_equal(expected(US, "1d", "2024-07-05"), 1);
    assert_int_equal(expected(US, "1d", "2024-11-29"), 1); /* early close counts as open */
    assert_int_equal(expected(US, "1d", "2024-12-24"), 1);
    assert_int_equal(expected(US, "1d", "2024-12-28"), 0); /* Saturday */
    assert_int_equal(expected(US, "1h", "2024-07-04 14:30"), 0);
}


static void us_holidays_2021(void **state)
{
    (void)state;
    /* 2022-01-01 is a Saturday, and the NYSE stays open on Friday 12-31. */
    assert_int_equal(expected(US, "1d", "2021-12-31"), 1);
    assert_int_equal(expected(US, "1d", "2022-01-03"), 1);
    /* 2021-07-04 and 12-25 fall on a Sunday and a Saturday. */
    assert_int_equal(expected(US, "1d", "2021-07-05"), 0);
    assert_int_equal(expected(US, "1d", "2021-07-02"), 1);
    assert_int_equal(expected(US, "1d", "2021-12-24"), 0);
    assert_int_equal(expected(US, "1d", "2021-01-18"), 0); /* Martin Luther King Jr. Day */
    assert_int_equal(expected(US, "1d", "2021-06-18"), 1); /* Juneteenth before 2022 */
    assert_int_equal(expected(US, "1d", "2022-06-20"), 0); /* Juneteenth 2022, Sunday */
    assert_int_equal(expected(US, "1d", "1997-01-20"), 1); /* before MLK Day closed */
}


/* Good Friday is Easter Sunday minus two days. */
static void us_good_friday(void **state)
{
    (void)state;
    assert_int_equal(expected(US, "1d", "2024-03-29"), 0); /* Easter 2024-03-31 */
    assert_int_equal(expected(US, "1d", "2025-04-18"), 0); /* Easter 2025-04-20 */
    assert_int_equal(expected(US, "1d", "2025-04-17"), 1);
    assert_int_equal(expected(US, "1d", "2025-04-21"), 1);
    assert_int_equal(expected(US, "1d", "2000-04-21"), 0); /* Easter 2000-04-23 */
    assert_int_equal(expected(US, "1d", "2019-04-19"), 0); /* Easter 2019-04-21 */
    assert_int_equal(expected(US, "1d", "2038-04-23"), 0); /* Easter 2038-04-25 */
}


static void us_dst_boundaries(void **state)
{
    (void)state;
    /* Friday before 2024-03-10: 09:30 EST is 14:30 UTC. */
    assert_int_equal(expected(US, "30m", "2024-03-08 14:30"), 1);
    assert_int_equal(expected(US, "30m", "2024-03-08 14:00"), 0);
    assert_int_equal(expected(US, "30m", "2024-03-08 20:30"), 1);
    assert_int_equal(expected(US, "30m", "2024-03-08 21:00"), 0);
    /* Monday after: 09:30 EDT is 13:30 UTC, 16:00 EDT is 20:00 UTC. */
    assert_int_equal(expected(US, "30m", "2024-03-11 13:30"), 1);
    assert_int_equal(expected(US, "30m", "2024-03-11 13:00"), 0);
    assert_int_equal(expected(US, "30m", "2024-03-11 19:30"), 1);
    assert_int_equal(expected(US, "30m", "2024-03-11 20:00"), 0);
    /* 2024-11-03 ends daylight time. */
    assert_int_equal(expected(US, "30m", "2024-11-01 13:30"), 1);
    assert_int_equal(expected(US, "30m", "2024-11-04 13:30"), 0);
    assert_int_equal(expected(US, "30m", "2024-11-04 14:30"), 1);
    assert_int_equal(expected(US, "1m", "2024-11-04 20:59"), 1);
    /* 2006 rule: daylight time from Sunday 04-02. */
    assert_int_equal(expected(US, "30m", "2006-03-31 13:30"), 0);
    assert_int_equal(expected(US, "30m", "2006-04-03 13:30"), 1);
}


/* A bar that opens before the bell and covers it is expected. */
static void us_long_intraday_bars(void **state)
{
    (void)state;
    assert_int_equal(expected(US, "4h", "2024-01-08 12:00"), 1);
    assert_int_equal(expected(US, "4h", "2024-01-08 08:00"), 0);
    assert_int_equal(expected(US, "1h", "2024-01-08 14:00"), 1);
    assert_int_equal(expected(US, "1h", "2024-01-08 13:30"), 0);
    assert_int_equal(expected(US, "12h", "2024-01-08 00:00"), 0);
    assert_int_equal(expected(US, "12h", "2024-01-08 12:00"), 1);
}


static void forex_week_edges(void **state)
{
    (void)state;
    assert_int_equal(expected(FOREX, "1h", "2024-01-07 21:00"), 0); /* Sunday */
    assert_int_equal(expected(FOREX, "1h", "2024-01-07 22:00"), 1);
    assert_int_equal(expected(FOREX, "1h", "2024-01-10 03:00"), 1);
    assert_int_equal(expected(FOREX, "1h", "2024-01-12 21:00"), 1); /* Friday */
    assert_int_equal(expected(FOREX, "1h", "2024-01-12 22:00"), 0);
    assert_int_equal(expected(FOREX, "1h", "2024-01-13 12:00"), 0); /* Saturday */
    assert_int_equal(expected(FOREX, "4h", "2024-01-07 20:00"), 1);
    assert_int_equal(expected(FOREX, "4h", "2024-01-07 16:00"), 0);
    assert_int_equal(expected(FOREX, "1d", "2024-01-07"), 0);
    assert_int_equal(expected(FOREX, "1d", "2024-01-08"), 1);
    assert_int_equal(expected(FOREX, "1d", "2024-01-12"), 1);
    assert_int_equal(expected(FOREX, "1d", "2024-01-13"), 0);
}


static int count_expected_hours(int calendar, const char *first_hour, int hours)
{
    int64_t start = at(first_hour);
    int count = 0;

    for (int h = 0; h < hours; h++)
        count += quality_bar_expected(calendar, "1h", start + h * HOUR, NULL);
    return count;
}


static void us_week_expected_hours(void **state)
{
    (void)state;
    /* Seven :30 bars a day, 14:30 to 20:30 UTC, five days. */
    assert_int_equal(count_expected_hours(US, "2024-01-08 00:30", 7 * 24), 35);
    /* Martin Luther King Jr. Day closes Monday 2024-01-15. */
    assert_int_equal(count_expected_hours(US, "2024-01-15 00:30", 7 * 24), 28);
    /* Forex week from Monday 00:00: 96 hours to Thursday, 22 on Friday, 2 on Sunday. */
    assert_int_equal(count_expected_hours(FOREX, "2024-01-08 00:00", 7 * 24), 120);
    assert_int_equal(count_expected_hours(ALWAYS, "2024-01-08 00:00", 7 * 24), 168);
}


static void gaps_us_week_complete(void **state)
{
    ohlcx_quality_report report = {0};
    ohlcx_series s;

    (void)state;
    make_us_week(&s, NULL, 0);
    assert_int_equal(quality_find_gaps(&s, US, NULL, &report), 0);
    assert_int_equal(report.expected_bars, 35);
    assert_int_equal(report.gap_count, 0);
    assert_true(report.missing_ratio == 0.0);
    free(report.gaps);
    ohlcx_series_free(&s);
}


/* Tuesday's last bar and Wednesday's first are one gap over the night. */
static void gaps_us_overnight(void **state)
{
    int64_t skip[] = {at("2024-01-09 20:30"), at("2024-01-10 14:30")};
    ohlcx_quality_report report = {0};
    ohlcx_series s;
    size_t added = 0;

    (void)state;
    make_us_week(&s, skip, 2);
    assert_int_equal(quality_find_gaps(&s, US, NULL, &report), 0);
    assert_int_equal(report.expected_bars, 35);
    assert_int_equal(report.gap_count, 1);
    assert_int_equal(report.gaps[0].row, 13);
    assert_int_equal(report.gaps[0].missing, 2);
    assert_true(report.gaps[0].first_missing == at("2024-01-09 20:30"));
    assert_true(fabs(report.missing_ratio - 2.0 / 35.0) < 1e-15);

    report.calendar = US;
    assert_int_equal(quality_fill_gaps(&s, &report, 3, &added), 0);
    assert_int_equal(added, 2);
    assert_int_equal(s.n, 35);
    assert_true(s.open_time[13] == at("2024-01-09 20:30"));
    assert_true(s.open_time[14] == at("2024-01-10 14:30"));
    assert_int_equal(s.flags[13], OHLCX_FLAG_SYNTHETIC);
    assert_int_equal(s.flags[14], OHLCX_FLAG_SYNTHETIC);
    assert_int_equal(s.flags[15], 0);
    free(report.gaps);
    ohlcx_series_free(&s);
}


static void gaps_crypto_holes(void **state)
{
    ohlcx_quality_report report = {0};
    int64_t start = at("2024-01-01");
    ohlcx_series s;

    (void)state;
    make_crypto_holes(&s);
    assert_int_equal(s.n, 21);
    assert_int_equal(quality_find_gaps(&s, ALWAYS, NULL, &report), 0);
    assert_int_equal(report.expected_bars, 30);
    assert_int_equal(report.gap_count, 3);
    assert_int_equal(report.gaps[0].row, 3);
    assert_true(report.gaps[0].first_missing == start + 3 * HOUR);
    assert_int_equal(report.gaps[0].missing, 1);
    assert_int_equal(report.gaps[1].row, 9);
    assert_true(report.gaps[1].first_missing == start + 10 * HOUR);
    assert_int_equal(report.gaps[1].missing, 3);
    assert_int_equal(report.gaps[2].row, 16);
    assert_true(report.gaps[2].first_missing == start + 20 * HOUR);
    assert_int_equal(report.gaps[2].missing, 5);
    assert_true(fabs(report.missing_ratio - 9.0 / 30.0) < 1e-15);
    free(report.gaps);
    ohlcx_series_free(&s);
}


/* The slot-by-slot walk gives what the ALWAYS shortcut gives. */
static void gaps_inferred_walk(void **state)
{
    ohlcx_quality_report report = {0};
    uint8_t every_hour[7 * 24];
    ohlcx_series s;

    (void)state;
    memset(every_hour, 1, sizeof every_hour);
    make_crypto_holes(&s);
    assert_int_equal(quality_find_gaps(&s, INFERRED, every_hour, &report), 0);
    assert_int_equal(report.expected_bars, 30);
    assert_int_equal(report.gap_count, 3);
    assert_int_equal(report.gaps[1].row, 9);
    assert_int_equal(report.gaps[2].missing, 5);
    free(report.gaps);
    ohlcx_series_free(&s);
}


/*
 * 1m bars for minutes 0 to 599 of 2024-01-01 without minutes 300 and 301
 * and with minute 500 opening 30 s late (row 498). The 24/7 walk counts
 * each run of bars one minute apart at once, after a bar that matched its
 * slot. On the 24/7 walk the late bar breaks the run, leaves slot 500
 * missing and matches nothing: 600 expected slots and gaps of 2 before row
 * 300 and 1 before row 498. The session walk lets the late bar cover slot
 * 500, whose period reaches past its open. The late bar and the bar after
 * it each start a grid of their own and count as expected: 600 expected,
 * one gap.
 */
static void gaps_minute_runs(void **state)
{
    int64_t start = at("2024-01-01");
    uint8_t every_hour[7 * 24];
    ohlcx_series s;

    (void)state;
    memset(every_hour, 1, sizeof every_hour);
    make_series(&s, "1m", OHLCX_ASSET_CRYPTO);
    for (int64_t minute = 0; minute < 600; minute++) {
        int64_t t = start + minute * OHLCX_US_PER_MINUTE;

        if (minute == 300 || minute == 301)
            continue;
        if (minute == 500)
            t += 30 * OHLCX_US_PER_SECOND;
        assert_int_equal(ohlcx_series_append(&s, t, 100, 101, 99, 100, 10), 0);
    }
    for (int walk = 0; walk < 2; walk++) {
        ohlcx_quality_report report = {0};

        if (walk == 0)
            assert_int_equal(quality_find_gaps(&s, ALWAYS, NULL, &report), 0);
        else
            assert_int_equal(quality_find_gaps(&s, INFERRED, every_hour, &report), 0);
        assert_int_equal(report.expected_bars, 600);
        assert_int_equal(report.gap_count, walk == 0 ? 2 : 1);
        assert_int_equal(report.gaps[0].row, 300);
        assert_true(report.gaps[0].first_missing == start + 300 * OHLCX_US_PER_MINUTE);
        assert_int_equal(report.gaps[0].missing, 2);
        if (walk == 0) {
            assert_int_equal(report.gaps[1].row, 498);
            assert_true(report.gaps[1].first_missing == start + 500 * OHLCX_US_PER_MINUTE);
            assert_int_equal(report.gaps[1].missing, 1);
        }
        free(report.gaps);
    }
    ohlcx_series_free(&s);
}


static void fill_crypto_max3(void **state)
{
    ohlcx_quality_report report = {0};
    int64_t start = at("2024-01-01");
    ohlcx_series s;
    size_t added = 0;

    (void)state;
    make_crypto_holes(&s);
    assert_int_equal(ohlcx_series_add_extra(&s, OHLCX_EXTRA_TRADES), 0);
    s.extra_column[1][4] = 42; /* hour 5 */
    assert_int_equal(quality_find_gaps(&s, ALWAYS, NULL, &report), 0);
    report.calendar = ALWAYS;
    assert_int_equal(quality_fill_gaps(&s, &report, 3, &added), 0);

    assert_int_equal(added, 4);
    assert_int_equal(s.n, 25);
    for (int row = 0; row < 20; row++)
        assert_true(s.open_time[row] == start + row * HOUR);
    assert_true(s.open_time[20] == start + 25 * HOUR);

    /* Hour 3: from close 102.5 to open 104 in two steps. */
    assert_true(s.open[3] == 102.5);
    assert_true(s.close[3] == 103.25);
    assert_true(s.high[3] == 103.25);
    assert_true(s.low[3] == 102.5);
    assert_true(s.volume[3] == 0.0);
    assert_int_equal(s.flags[3], OHLCX_FLAG_SYNTHETIC);
    assert_true(isnan(s.extra_column[1][3]));

    /* Hours 10-12: from close 109.5 to open 113 in four steps of 0.875. */
    assert_true(s.close[10] == 110.375);
    assert_true(s.open[11] == 110.375);
    assert_true(s.close[11] == 111.25);
    assert_true(s.close[12] == 112.125);
    assert_int_equal(s.flags[12], OHLCX_FLAG_SYNTHETIC);

    /* Real bars keep their values. */
    assert_int_equal(s.flags[4], 0);
    assert_true(s.open[4] == 104.0);
    assert_true(s.extra_column[1][5] == 42);
    assert_int_equal(s.flags[20], 0);

    assert_int_equal(report.gaps[0].filled, 1);
    assert_int_equal(report.gaps[1].filled, 1);
    assert_int_equal(report.gaps[2].filled, 0);
    free(report.gaps);
    ohlcx_series_free(&s);
}


static void gaps_daily_us(void **state)
{
    static const char *days[] = {"2024-06-17 04:00", "2024-06-18 04:00", "2024-06-21 04:00",
                                 "2024-11-01 04:00", "2024-11-04 05:00"};
    ohlcx_quality_report report = {0};
    ohlcx_series s;

    (void)state;
    make_series(&s, "1d", OHLCX_ASSET_STOCKS);
    for (size_t i = 0; i < sizeof days / sizeof *days; i++)
        add_bar(&s, at(days[i]), at(days[0]));
    assert_int_equal(quality_find_gaps(&s, US, NULL, &report), 0);

    /* Jun 19 is Juneteenth and Jun 20 is missing. Between Jun 21 and Nov 1
     * the 94 weekdays less Jul 4 and Sep 2 are missing. The labels' move
     * from 04:00 to 05:00 UTC on Nov 4 is no gap. */
    assert_int_equal(report.gap_count, 2);
    assert_int_equal(report.gaps[0].row, 2);
    assert_int_equal(report.gaps[0].missing, 1);
    assert_true(report.gaps[0].first_missing == at("2024-06-20 04:00"));
    assert_int_equal(report.gaps[1].row, 3);
    assert_true(report.gaps[1].first_missing == at("2024-06-24 04:00"));
    assert_int_equal(report.gaps[1].missing, 92);
    assert_int_equal(report.expected_bars, 98);
    free(report.gaps);
    ohlcx_series_free(&s);
}


static void gaps_monthly(void **state)
{
    ohlcx_quality_report report = {0};
    ohlcx_series s;

    (void)state;
    make_series(&s, "1M", OHLCX_ASSET_CRYPTO);
    add_bar(&s, at("2024-01-01"), 0);
    add_bar(&s, at("2024-02-01"), 0);
    add_bar(&s, at("2024-04-01"), 0);
    assert_int_equal(quality_find_gaps(&s, ALWAYS, NULL, &report), 0);
    assert_int_equal(report.expected_bars, 4);
    assert_int_equal(report.gap_count, 1);
    assert_true(report.gaps[0].first_missing == at("2024-03-01"));
    free(report.gaps);
    ohlcx_series_free(&s);
}


/* Bars labelled on the last day of the month do not drift to the 29th. */
static void gaps_monthly_month_end(void **state)
{
    ohlcx_quality_report report = {0};
    ohlcx_series s;

    (void)state;
    make_series(&s, "1M", OHLCX_ASSET_CRYPTO);
    add_bar(&s, at("2024-01-31"), 0);
    add_bar(&s, at("2024-02-29"), 0);
    add_bar(&s, at("2024-03-31"), 0);
    add_bar(&s, at("2024-04-30"), 0);
    assert_int_equal(quality_find_gaps(&s, ALWAYS, NULL, &report), 0);
    assert_int_equal(report.expected_bars, 4);
    assert_int_equal(report.gap_count, 0);
    free(report.gaps);
    ohlcx_series_free(&s);
}


/* The missing month after a February 29 bar is March 31, not March 29. */
static void fill_monthly_month_end(void **state)
{
    ohlcx_quality_report report = {0};
    ohlcx_series s;
    size_t added = 0;

    (void)state;
    make_series(&s, "1M", OHLCX_ASSET_CRYPTO);
    add_bar(&s, at("2024-01-31"), 0);
    add_bar(&s, at("2024-02-29"), 0);
    add_bar(&s, at("2024-04-30"), 0);
    assert_int_equal(quality_find_gaps(&s, ALWAYS, NULL, &report), 0);
    report.calendar = ALWAYS;
    assert_int_equal(quality_fill_gaps(&s, &report, 3, &added), 0);
    assert_int_equal(added, 1);
    assert_int_equal(s.n, 4);
    assert_true(s.open_time[2] == at("2024-03-31"));
    assert_int_equal(s.flags[2], OHLCX_FLAG_SYNTHETIC);
    free(report.gaps);
    ohlcx_series_free(&s);
}


static void gaps_unsorted_rejected(void **state)
{
    ohlcx_quality_report report = {0};
    ohlcx_series s;

    (void)state;
    make_series(&s, "1h", OHLCX_ASSET_CRYPTO);
    add_bar(&s, 2 * HOUR, 0);
    add_bar(&s, 1 * HOUR, 0);
    assert_int_equal(quality_find_gaps(&s, ALWAYS, NULL, &report), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "order"));
    ohlcx_series_free(&s);
}


/* Ten weeks of weekday bars at 14:00-19:00 UTC, a Saturday 10:00 bar in two
 * weeks (a fifth, not more) and a Sunday 03:00 bar in three. */
static void infer_weekday_session(void **state)
{
    int64_t monday = at("2024-01-01");
    uint8_t inferred[7 * 24];
    ohlcx_series s;
    int marked = 0;

    (void)state;
    make_series(&s, "1h", OHLCX_ASSET_COMMODITIES);
    for (int week = 0; week < 10; week++) {
        int64_t week_start = monday + week * 7 * DAY;

        for (int day = 0; day < 5; day++)
            for (int hour = 14; hour < 20; hour++)
                add_bar(&s, week_start + day * DAY + hour * HOUR, monday);
        if (week < 2)
            add_bar(&s, week_start + 5 * DAY + 10 * HOUR, monday);
        if (week < 3)
            add_bar(&s, week_start + 6 * DAY + 3 * HOUR, monday);
    }
    quality_infer_session(&s, inferred);

    for (int slot = 0; slot < 7 * 24; slot++)
        marked += inferred[slot];
    assert_int_equal(marked, 31);
    assert_int_equal(inferred[0 * 24 + 14], 1);
    assert_int_equal(inferred[4 * 24 + 19], 1);
    assert_int_equal(inferred[0 * 24 + 13], 0);
    assert_int_equal(inferred[0 * 24 + 20], 0);
    assert_int_equal(inferred[5 * 24 + 10], 0);
    assert_int_equal(inferred[6 * 24 + 3], 1);

    assert_int_equal(quality_bar_expected(INFERRED, "1h", at("2024-03-04 14:00"), inferred), 1);
    assert_int_equal(quality_bar_expected(INFERRED, "1h", at("2024-03-04 20:00"), inferred), 0);
    assert_int_equal(quality_bar_expected(INFERRED, "1d", at("2024-03-09"), inferred), 0);
    assert_int_equal(quality_bar_expected(INFERRED, "1d", at("2024-03-10"), inferred), 1);
    assert_int_equal(quality_bar_expected(INFERRED, "1d", at("2024-03-06"), inferred), 1);
    ohlcx_series_free(&s);
}


static void resolve_auto(void **state)
{
    ohlcx_series s;

    (void)state;
    make_series(&s, "1h", OHLCX_ASSET_CRYPTO);
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), ALWAYS);
    s.asset_class = OHLCX_ASSET_FOREX;
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), FOREX);
    s.asset_class = OHLCX_ASSET_BONDS;
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), INFERRED);
    s.asset_class = OHLCX_ASSET_COMMODITIES;
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), INFERRED);
    assert_int_equal(quality_resolve_calendar(&s, FOREX), FOREX);
    assert_int_equal(quality_resolve_calendar(&s, 9), OHLCX_EINVAL);
    s.asset_class = OHLCX_ASSET_INDICES;
    strcpy(s.timeframe, "1d");
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), US);
    ohlcx_series_free(&s);
}


static void resolve_stocks_by_hours(void **state)
{
    int64_t monday = at("2024-01-08");
    ohlcx_series s;

    (void)state;
    make_us_week(&s, NULL, 0);
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), US);
    ohlcx_series_free(&s);

    /* 07:00 to 12:00 UTC: a European session. */
    make_series(&s, "1h", OHLCX_ASSET_STOCKS);
    for (int day = 0; day < 5; day++)
        for (int hour = 7; hour < 13; hour++)
            add_bar(&s, monday + day * DAY + hour * HOUR, monday);
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), INFERRED);
    ohlcx_series_free(&s);
}


/* Unscheduled full-day closures are not expected; the next open day is. */
static void us_special_closures(void **state)
{
    static const char *closed[] = {"1994-04-27", "2001-09-11", "2001-09-12", "2001-09-13",
                                   "2001-09-14", "2004-06-11", "2007-01-02", "2012-10-29",
                                   "2012-10-30", "2018-12-05", "2025-01-09"};

    (void)state;
    for (size_t i = 0; i < sizeof closed / sizeof *closed; i++)
        assert_int_equal(expected(US, "1d", closed[i]), 0);
    assert_int_equal(expected(US, "1h", "2012-10-29 15:00"), 0);
    assert_int_equal(expected(US, "1d", "2001-09-17"), 1);
    assert_int_equal(expected(US, "1d", "2012-10-31"), 1);
    assert_int_equal(expected(US, "1d", "2025-01-10"), 1);
}


/* The forex week follows New York: in July it opens Sunday 21:00 UTC and
 * closes Friday 21:00 UTC. December 25 and January 1 are closed, from
 * 17:00 New York the day before (22:00 UTC in winter), and so is the
 * Monday after when they fall on a Sunday (2022-12-26). */
static void forex_new_york_week(void **state)
{
    (void)state;
    assert_int_equal(expected(FOREX, "1h", "2024-07-07 20:00"), 0);
    assert_int_equal(expected(FOREX, "1h", "2024-07-07 21:00"), 1);
    assert_int_equal(expected(FOREX, "1h", "2024-07-12 20:00"), 1);
    assert_int_equal(expected(FOREX, "1h", "2024-07-12 21:00"), 0);
    assert_int_equal(expected(FOREX, "1h", "2024-12-24 21:00"), 1);
    assert_int_equal(expected(FOREX, "1h", "2024-12-24 22:00"), 0);
    assert_int_equal(expected(FOREX, "1h", "2024-12-25 12:00"), 0);
    assert_int_equal(expected(FOREX, "1h", "2024-12-25 22:00"), 1);
    assert_int_equal(expected(FOREX, "1d", "2024-12-25"), 0);
    assert_int_equal(expected(FOREX, "1d", "2025-01-01"), 0);
    assert_int_equal(expected(FOREX, "1d", "2024-12-24"), 1);
    assert_int_equal(expected(FOREX, "1d", "2022-12-26"), 0);
    assert_int_equal(expected(FOREX, "1d", "2024-12-26"), 1);
}


/* Four weeks of 1h forex bars in January 2024. Written in broker time,
 * Monday 00:00 to Friday 23:00, they do not fit the forex week and get the
 * inferred session, whose slots close on forex holidays. Written in UTC,
 * Sunday 22:00 to Friday 21:00, they fit. */
static void resolve_forex_broker_time(void **state)
{
    int64_t monday = at("2024-01-08");
    uint8_t inferred[7 * 24];
    ohlcx_series s;

    (void)state;
    make_series(&s, "1h", OHLCX_ASSET_FOREX);
    for (int week = 0; week < 4; week++)
        for (int hour = 0; hour < 5 * 24; hour++)
            add_bar(&s, monday + week * 7 * DAY + hour * HOUR, monday);
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), INFERRED);
    quality_infer_session(&s, inferred);
    assert_int_equal(inferred[0 * 24 + 10], QUALITY_SLOT_TRADES | QUALITY_SLOT_FOREX_HOLIDAYS);
    assert_int_equal(quality_bar_expected(INFERRED, "1h", at("2024-12-24 10:00"), inferred), 1);
    assert_int_equal(quality_bar_expected(INFERRED, "1h", at("2024-12-25 10:00"), inferred), 0);
    ohlcx_series_free(&s);

    make_series(&s, "1h", OHLCX_ASSET_FOREX);
    for (int week = 0; week < 4; week++)
        for (int hour = -2; hour < 5 * 24 - 3; hour++)
            add_bar(&s, monday + week * 7 * DAY + hour * HOUR, monday);
    assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), FOREX);
    ohlcx_series_free(&s);
}


/* Daily bars on every weekday from 2024-01-02 to 2024-03-29 cover the NYSE
 * holidays of January 15, February 19 and March 29: a market open on them
 * is not US listed and gets the inferred calendar. Without those three days
 * the series gets the US calendar, unless its symbol has a foreign exchange
 * suffix. */
static void resolve_stocks_by_holidays(void **state)
{
    int64_t first = at("2024-01-02"), last = at("2024-03-29");
    ohlcx_series s;

    (void)state;
    for (int skip_holidays = 0; skip_holidays < 2; skip_holidays++) {
        make_series(&s, "1d", OHLCX_ASSET_INDICES);
        for (int64_t day = first; day <= last; day += DAY) {
            int weekday = (int)((day / DAY + 3) % 7); /* 0 = Monday */

            if (weekday >= 5)
                continue;
            if (skip_holidays && !quality_bar_expected(US, "1d", day, NULL))
                continue;
            add_bar(&s, day, first);
        }
        assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO),
                         skip_holidays ? US : INFERRED);
        if (skip_holidays) {
            strcpy(s.symbol, "SAP.DE");
            assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), INFERRED);
            strcpy(s.symbol, "BRK.B");
            assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), US);
            strcpy(s.symbol, "spy.us");
            assert_int_equal(quality_resolve_calendar(&s, OHLCX_CALENDAR_AUTO), US);
        }
        ohlcx_series_free(&s);
    }
}


/* 4h stock bars open at the bell, 13:30 and 17:30 UTC in New York summer
 * time, 14:30 and 18:30 after the clocks change on 2024-11-03. The grid
 * follows the move: 8 bars, all expected, no gap. */
static void gaps_us_4h_across_dst(void **state)
{
    static const char *opens[] = {"2024-10-31 13:30", "2024-10-31 17:30", "2024-11-01 13:30",
                                  "2024-11-01 17:30", "2024-11-04 14:30", "2024-11-04 18:30",
                                  "2024-11-05 14:30", "2024-11-05 18:30"};
    ohlcx_quality_report report = {0};
    ohlcx_series s;

    (void)state;
    make_series(&s, "4h", OHLCX_ASSET_STOCKS);
    for (size_t i = 0; i < sizeof opens / sizeof *opens; i++)
        add_bar(&s, at(opens[i]), at(opens[0]));
    assert_int_equal(quality_find_gaps(&s, US, NULL, &report), 0);
    assert_int_equal(report.gap_count, 0);
    assert_int_equal(report.expected_bars, 8);
    free(report.gaps);
    ohlcx_series_free(&s);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(us_holidays_2024),
        cmocka_unit_test(us_holidays_2021),
        cmocka_unit_test(us_good_friday),
        cmocka_unit_test(us_dst_boundaries),
        cmocka_unit_test(us_long_intraday_bars),
        cmocka_unit_test(forex_week_edges),
        cmocka_unit_test(us_week_expected_hours),
        cmocka_unit_test(gaps_us_week_complete),
        cmocka_unit_test(gaps_us_overnight),
        cmocka_unit_test(gaps_crypto_holes),
        cmocka_unit_test(gaps_inferred_walk),
        cmocka_unit_test(gaps_minute_runs),
        cmocka_unit_test(fill_crypto_max3),
        cmocka_unit_test(gaps_daily_us),
        cmocka_unit_test(gaps_monthly),
        cmocka_unit_test(gaps_monthly_month_end),
        cmocka_unit_test(fill_monthly_month_end),
        cmocka_unit_test(gaps_unsorted_rejected),
        cmocka_unit_test(infer_weekday_session),
        cmocka_unit_test(resolve_auto),
        cmocka_unit_test(resolve_stocks_by_hours),
        cmocka_unit_test(us_special_closures),
        cmocka_unit_test(forex_new_york_week),
        cmocka_unit_test(resolve_forex_broker_time),
        cmocka_unit_test(resolve_stocks_by_holidays),
        cmocka_unit_test(gaps_us_4h_across_dst),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
