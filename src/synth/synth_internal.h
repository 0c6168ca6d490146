/*
 * Internal interface of the synth module: the bar calendar shared by the
 * generator and the CSV writer. Not part of the public API.
 */
#ifndef OHLCX_SYNTH_INTERNAL_H
#define OHLCX_SYNTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/series.h"

/* Bar calendar of one timeframe and asset class. Times are UTC microseconds
 * and must not be before 1970. */
typedef struct synth_calendar {
    int kind;            /* enum ohlcx_synth_calendar */
    int months_per_bar;  /* 1 for 1M, 3 for 3M, 0 for fixed-length bars */
    int64_t length_us;   /* bar length of fixed-length timeframes */
    int64_t align_us;    /* bar boundaries are align_us + k * length_us */
    char timeframe[OHLCX_TIMEFRAME_MAX]; /* canonical name */
} synth_calendar;

/* Properties of one bar that the generator uses. */
typedef struct synth_bar_info {
    double trading_days;  /* trading time covered, in trading days */
    double volume_shape;  /* intraday volume profile, about 1 on average */
    int session_open;     /* 1 for a stock or forex bar that opens a session
                           * or, for forex, trading after a closed period */
} synth_bar_info;

/* Sets up the calendar (enum ohlcx_synth_calendar kind) of a canonical
 * timeframe; returns OHLCX_EINVAL for an unknown name. */
int synth_calendar_init(synth_calendar *calendar, const char *timeframe, int kind);

/* Returns the number of bars that open in [start_us, end_us) and, unless
 * open_times is NULL, writes their open times in increasing order. */
size_t synth_calendar_bars(const synth_calendar *calendar, int64_t start_us, int64_t end_us,
                           int64_t *open_times);

/* Returns the end of the bar that opens at open_us: the next boundary of
 * the timeframe, ignoring sessions. */
int64_t synth_bar_end(const synth_calendar *calendar, int64_t open_us);

/* Describes the bar that opens at open_us. */
synth_bar_info synth_bar_describe(const synth_calendar *calendar, int64_t open_us);

/* Adds calendar months to a time, keeping the time of day and clamping the
 * day to the length of the target month. */
int64_t synth_add_months(int64_t time_us, int months);

/* Returns the direction of the planted daily signal for the bar after the
 * first bar of a pair. That is the sign of the last completed UTC day's
 * close-to-close return, from prior_day_close to last_day_close, times
 * last_sign. last_sign is the sign (-1, 0 or +1) of the first bar's own
 * close-to-close return. After an up day the bar continues the first bar's
 * move and after a down day it reverses it. Returns 0 when either sign is
 * 0. */
int synth_daily_direction(double prior_day_close, double last_day_close, int last_sign);

#endif
