/*
 * Higher-timeframe features: the per-bar features of coarser bars joined to
 * the rows of a finer series (see include/ohlcx/features.h).
 *
 * The join is an as-of join on close times. Higher bars are sorted by open
 * time, so their close times increase too, and one pointer per higher
 * series walks forward as the lower rows' close times grow: O(n + m) per
 * higher series. A higher bar joins a lower row only once it has closed,
 * that is when its close time is at or before the lower row's close time.
 * Every sub-bar of such a bar opens before the lower row closes, so the
 * bar, and the causal features computed from it and the bars before it,
 * are the same whether or not later data is present.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/resample.h"
#include "util/util.h"

#define DAY OHLCX_US_PER_DAY

/* Maximum length of a session day: 25 hours, when a zone leaves summer
 * time. */
#define MAX_SESSION_DAY (25 * OHLCX_US_PER_HOUR)


/*
 * Returns the close time of the bar of the given timeframe that opens at
 * open_time: the open plus the timeframe, or the first day of the month
 * after the bar's last month. A 1d bar that does not open at 00:00 UTC is a
 * session day (see include/ohlcx/resample.h), 23 to 25 hours long, and is
 * taken to close 25 hours after its open, so that it never joins early.
 */
static int64_t bar_close_time(const char *timeframe, int64_t length_us, int64_t open_time)
{
    int months = ohlcx_timeframe_months(timeframe);
    int year, month, day;

    if (months == 0) {
        if (length_us == DAY && ohlcx_floor_div(open_time, DAY) * DAY != open_time)
            return open_time + MAX_SESSION_DAY;
        return open_time + length_us;
    }
    format_civil_from_days(ohlcx_floor_div(open_time, DAY), &year, &month, &day);
    month += months;
    while (month > 12) {
        month -= 12;
        year++;
    }
    return format_days_from_civil(year, month, 1) * DAY;
}


int ohlcx_higher_prefix(const char *timeframe, char *out, size_t size)
{
    size_t digits = 0;
    const char *unit;

    if (timeframe == NULL || ohlcx_timeframe_id(timeframe) < 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid higher timeframe '%s': use a canonical name such as "
                               "1h, 4h or 1d",
                               timeframe ? timeframe : "");
    while (timeframe[digits] >= '0' && timeframe[digits] <= '9')
        digits++;
    switch (timeframe[digits]) {
    case 'm': unit = "m"; break;
    case 'h': unit = "h"; break;
    case 'd': unit = "d"; break;
    case 'w': unit = "w"; break;
    default: unit = "mn"; break; /* M: months, as MetaTrader's MN1 */
    }
    if ((size_t)snprintf(out, size, "%s%.*s_", unit, (int)digits, timeframe) >= size)
        return ohlcx_set_error(OHLCX_EINVAL, "buffer of %zu bytes is too small for the %s prefix",
                               size, timeframe);
    return 0;
}


int ohlcx_higher_feature_name(const char *timeframe, int i, char *out, size_t size)
{
    char prefix[16];
    const char *name = ohlcx_feature_name(i);
    int status = ohlcx_higher_prefix(timeframe, prefix, sizeof prefix);

    if (status != 0)
        return status;
    if (name == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid feature column %d: use 0 to %d", i,
                               OHLCX_FEATURE_COUNT - 1);
    if ((size_t)snprintf(out, size, "%s%s", prefix, name) >= size)
        return ohlcx_set_error(OHLCX_EINVAL, "buffer of %zu bytes is too small for %s%s", size,
                               prefix, name);
    return 0;
}


static int check_higher(const ohlcx_series *lower, const ohlcx_series *higher)
{
    if (ohlcx_timeframe_id(lower->timeframe) < 0)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid timeframe '%s' of series '%s'",
                               lower->timeframe, lower->symbol);
    if (ohlcx_timeframe_id(higher->timeframe) <= ohlcx_timeframe_id(lower->timeframe))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "higher timeframe %s of series '%s' is not coarser than the "
                               "lower timeframe %s: list only coarser timeframes",
                               higher->timeframe, higher->symbol, lower->timeframe);
    for (size_t k = 1; k < higher->n; k++)
        if (higher->open_time[k] <= higher->open_time[k - 1])
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "%s bars of series '%s' are not sorted at row %zu: validate "
                                   "or resample them first",
                                   higher->timeframe, higher->symbol, k);
    return 0;
}


/* Writes the features of one higher series to the columns that start at
 * out of each lower row. features contains higher->n rows of them. */
static void join_one(const ohlcx_series *lower, const ohlcx_series *higher,
                     const float *features, size_t stride, float *out)
{
    int64_t lower_us = ohlcx_timeframe_us(lower->timeframe);
    int64_t higher_us = ohlcx_timeframe_us(higher->timeframe);
    size_t closed = 0; /* higher bars closed by the current lower row */

    for (size_t t = 0; t < lower->n; t++) {
        int64_t known_at = bar_close_time(lower->timeframe, lower_us, lower->open_time[t]);
        float *row = out + t * stride;

        while (closed < higher->n &&
               bar_close_time(higher->timeframe, higher_us, higher->open_time[closed]) <=
                   known_at)
            closed++;
        if (closed == 0) {
            for (int i = 0; i < OHLCX_FEATURE_COUNT; i++)
                row[i] = NAN;
            continue;
        }
        memcpy(row, features + (closed - 1) * OHLCX_FEATURE_COUNT,
               OHLCX_FEATURE_COUNT * sizeof *row);
    }
}


int ohlcx_features_join_higher(const ohlcx_series *lower, const ohlcx_series *const *higher,
                               int count, size_t stride, float *out)
{
    float *features = NULL;
    int status = 0;

    if (lower == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_features_join_higher: lower is NULL");
    if (count > 0 && higher == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_features_join_higher: higher is NULL");
    if (lower->n > 0 && out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_features_join_higher: out is NULL");
    if (count < 0 || stride < (size_t)count * OHLCX_FEATURE_COUNT)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid row stride %zu for %d higher timeframes: need at "
                               "least %d floats",
                               stride, count, count * OHLCX_FEATURE_COUNT);

    for (int h = 0; h < count && status == 0; h++) {
        size_t bars = higher[h]->n;

        status = check_higher(lower, higher[h]);
        if (status != 0)
            break;
        features = malloc((bars ? bars : 1) * OHLCX_FEATURE_COUNT * sizeof *features);
        if (features == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for the features of %zu %s bars",
                                   bars, higher[h]->timeframe);
        status = ohlcx_features_compute(higher[h], features);
        if (status == 0)
            join_one(lower, higher[h], features, stride, out + (size_t)h * OHLCX_FEATURE_COUNT);
        free(features);
    }
    return status;
}


int ohlcx_features_higher(const ohlcx_series *lower, const char *const *timeframes, int count,
                          size_t stride, float *out)
{
    ohlcx_resampled bins[OHLCX_RESAMPLE_TARGETS_MAX];
    const ohlcx_series *higher[OHLCX_RESAMPLE_TARGETS_MAX] = {NULL};
    int status;

    if (count < 0 || count > OHLCX_RESAMPLE_TARGETS_MAX)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid count of higher timeframes %d: use 0 to %d",
                               count, OHLCX_RESAMPLE_TARGETS_MAX);
    for (int h = 0; h < count; h++) {
        ohlcx_resampled_init(&bins[h]);
        higher[h] = &bins[h].series;
    }

    /* Open bins are kept: they close after the last lower row, so none of
     * them joins, and dropping them would change nothing. */
    status = ohlcx_resample_many(lower, timeframes, count, NULL, bins);
    if (status == 0)
        status = ohlcx_features_join_higher(lower, higher, count, stride, out);
    for (int h = 0; h < count; h++)
        ohlcx_resampled_free(&bins[h]);
    return status;
}
