/*
 * Timeframe inference for files whose name carries none.
 *
 * The timeframe is the canonical one nearest to the median spacing between
 * consecutive open times. The median ignores weekend and holiday gaps as long
 * as most neighbours are one bar apart: daily stock data, with four 1-day
 * steps and one 3-day step per week, has a median of 1 day.
 */
#include <stdint.h>
#include <stdlib.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/series.h"

static const char *canonical_timeframes[] = {"1m", "3m", "5m",  "15m", "30m", "1h",
                                             "2h", "4h", "6h",  "8h",  "12h", "1d",
                                             "3d", "1w", "1M",  "3M"};


static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}


/* Returns the canonical timeframe within 10% of spacing_us, or NULL. Months
 * and quarters vary in length, so an exact match cannot be asked for. */
static const char *nearest_timeframe(int64_t spacing_us)
{
    const char *best = NULL;
    int64_t best_distance = 0;

    for (size_t i = 0; i < sizeof canonical_timeframes / sizeof canonical_timeframes[0]; i++) {
        int64_t length = ohlcx_timeframe_us(canonical_timeframes[i]);
        int64_t distance = llabs(length - spacing_us);

        if (distance * 10 <= length && (best == NULL || distance < best_distance)) {
            best = canonical_timeframes[i];
            best_distance = distance;
        }
    }
    return best;
}


int format_infer_timeframe(const char *path, const int64_t *open_time, size_t n,
                           char *timeframe)
{
    int64_t *spacing = NULL;
    size_t count = 0;
    int64_t median = 0;
    const char *name = NULL;

    if (n >= 2)
        spacing = malloc((n - 1) * sizeof *spacing);
    if (n >= 2 && spacing == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory inferring the timeframe", path);
    for (size_t i = 1; i < n; i++) {
        int64_t step = llabs(open_time[i] - open_time[i - 1]);
        if (step > 0)
            spacing[count++] = step;
    }
    if (count == 0) {
        free(spacing);
        return ohlcx_set_error(OHLCX_EDATA,
                               "%s: cannot infer the timeframe from %zu distinct open time(s); "
                               "put it in the file name (BTCUSDT_1h.csv) or pass --timeframe",
                               path, n);
    }

    qsort(spacing, count, sizeof *spacing, compare_int64);
    median = spacing[(count - 1) / 2];
    free(spacing);

    name = nearest_timeframe(median);
    if (name == NULL)
        return ohlcx_set_error(OHLCX_EDATA,
                               "%s: cannot infer the timeframe: the median spacing of open "
                               "times is %lld s, which is no timeframe of 1m 3m 5m 15m 30m 1h "
                               "2h 4h 6h 8h 12h 1d 3d 1w 1M 3M; put it in the file name "
                               "(BTCUSDT_1h.csv) or pass --timeframe",
                               path, (long long)(median / OHLCX_US_PER_SECOND));
    ohlcx_timeframe_parse(name, timeframe);
    return 0;
}
