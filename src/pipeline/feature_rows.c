/*
 * Feature rows of a series, shared by training and prediction so that both
 * build the same row for the same bar.
 *
 * A row is the series' own OHLCX_FEATURE_COUNT features, then the same
 * features of each higher timeframe of the run, finest first, joined with
 * ohlcx_features_higher() (only higher bars that have closed by the row's
 * close join). Every series of a run gets rows of one width, because one
 * XGBoost model reads them all. A higher timeframe that a series cannot
 * feed keeps its columns NaN there, which XGBoost reads as missing. That is
 * one not coarser than the series' own, not a whole number of its bars, or
 * with bins that its bars cross.
 *
 * Each higher timeframe is resampled from the series on its own, so a
 * series from a store gets the same rows as the file it was ingested from.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/resample.h"
#include "pipeline/internal.h"
#include "util/util.h"


int pipeline_higher_set(const char *const *names, int count, const char *source,
                        pipeline_higher *out)
{
    memset(out, 0, sizeof *out);
    if (count < 0 || count > PIPELINE_HIGHER_MAX)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: %d higher timeframes, but at most %d are "
                               "allowed", source, count, PIPELINE_HIGHER_MAX);
    if (count > 0 && names == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "%s: %d higher timeframes, but no list of names",
                               source, count);

    for (int h = 0; h < count; h++) {
        char canonical[OHLCX_TIMEFRAME_MAX];
        int position;

        if (names[h] == NULL || ohlcx_timeframe_parse(names[h], canonical) != 0)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "%s: invalid higher timeframe '%s': use 3m 5m 15m 30m 1h 2h "
                                   "4h 6h 8h 12h 1d 3d 1w 1M 3M",
                                   source, names[h] ? names[h] : "");
        for (int k = 0; k < out->count; k++)
            if (strcmp(out->timeframes[k], canonical) == 0)
                return ohlcx_set_error(OHLCX_EINVAL,
                                       "%s: higher timeframe %s is listed twice ('%s'): list "
                                       "each once",
                                       source, canonical, names[h]);

        /* Insertion sort by timeframe id, so that 4h,1h and 1h,4h give the
         * same columns. */
        position = out->count;
        while (position > 0 &&
               ohlcx_timeframe_id(out->timeframes[position - 1]) > ohlcx_timeframe_id(canonical)) {
            memcpy(out->timeframes[position], out->timeframes[position - 1], OHLCX_TIMEFRAME_MAX);
            position--;
        }
        memcpy(out->timeframes[position], canonical, OHLCX_TIMEFRAME_MAX);
        out->count++;
    }
    return 0;
}


size_t pipeline_feature_width(const pipeline_higher *higher)
{
    return (size_t)OHLCX_FEATURE_COUNT * (size_t)(1 + higher->count) +
           (higher->debug_leak != OHLCX_DEBUG_LEAK_NONE);
}


/* Fills the last column of every row with the next bar's log return, NaN at
 * the last bar. This reads the future on purpose: it exists only so that
 * `ohlcx lookahead` has a leak to find (--debug-leak next-return). */
static void fill_debug_leak(pipeline_series *series)
{
    size_t width = series->feature_width, n = series->bars.n;
    const double *close = series->bars.close;

    for (size_t t = 0; t < n; t++)
        series->features[t * width + width - 1] =
            t + 1 < n ? (float)log(close[t + 1] / close[t]) : NAN;
}


/* Fills the block of higher timeframe h in every row of series->features.
 * When the series cannot feed h, sets *fed to 0, writes the reason and fills
 * the block with NaN. That is when h is not coarser, is not a whole number
 * of its bars, or has bins that its bars cross (1h bars opening at :30
 * cannot make 4h bins on the UTC grid). Fails on any other error. */
static int fill_higher_block(pipeline_series *series, const pipeline_higher *higher, int h,
                             int *fed, char *reason, size_t size)
{
    size_t width = series->feature_width;
    float *block = series->features + (size_t)(1 + h) * OHLCX_FEATURE_COUNT;
    const char *timeframe = higher->timeframes[h];
    const char *own = series->bars.timeframe;
    int status = OHLCX_EINVAL;

    *fed = 0;
    if (ohlcx_timeframe_id(timeframe) <= ohlcx_timeframe_id(own))
        snprintf(reason, size, "%s is not coarser than %s", timeframe, own);
    else if (ohlcx_resample_check(own, timeframe, OHLCX_DAY_UTC) != 0)
        snprintf(reason, size, "%s", ohlcx_last_error());
    else
        status = ohlcx_features_higher(&series->bars, &timeframe, 1, width, block);

    if (status == 0) {
        *fed = 1;
        return 0;
    }
    if (status == OHLCX_EINVAL && reason[0] == '\0')
        snprintf(reason, size, "%s", ohlcx_last_error());
    if (status != OHLCX_EINVAL) {
        char message[512];

        snprintf(message, sizeof message, "%s", ohlcx_last_error());
        return ohlcx_set_error(status, "%s: cannot compute its %s features: %s",
                               series->bars.source_path, timeframe, message);
    }
    for (size_t t = 0; t < series->bars.n; t++)
        for (int i = 0; i < OHLCX_FEATURE_COUNT; i++)
            block[t * width + (size_t)i] = NAN;
    return 0;
}


/* Returns 1 when no row of higher block h holds a finite value: the series
 * spans too few higher bars for any feature to leave its warm-up. */
static int higher_block_empty(const pipeline_series *series, int h)
{
    size_t width = series->feature_width;
    const float *block = series->features + (size_t)(1 + h) * OHLCX_FEATURE_COUNT;

    for (size_t t = 0; t < series->bars.n; t++)
        for (int i = 0; i < OHLCX_FEATURE_COUNT; i++)
            if (isfinite(block[t * width + (size_t)i]))
                return 0;
    return 1;
}


/* Fills every higher block and logs, with warn set, one warning that names
 * the timeframes the series cannot feed and why. */
static int fill_higher_blocks(pipeline_series *series, const pipeline_higher *higher, int warn)
{
    char skipped[PIPELINE_HIGHER_MAX * (OHLCX_TIMEFRAME_MAX + 2)] = "";
    char reasons[2048] = "";
    size_t skipped_used = 0, reasons_used = 0;
    int skipped_count = 0, status = 0;

    series->higher_fed = 0;
    for (int h = 0; h < higher->count; h++) {
        char reason[512] = "";
        int fed;

        status = fill_higher_block(series, higher, h, &fed, reason, sizeof reason);
        if (status != 0)
            return status;
        if (fed) {
            series->higher_fed |= 1u << h;
            if (warn && series->bars.n > 0 && higher_block_empty(series, h))
                ohlcx_log_warn("%s: every %s feature of this series is missing (NaN): it spans "
                               "too few %s bars for any feature to pass its warm-up",
                               series->bars.source_path, higher->timeframes[h],
                               higher->timeframes[h]);
            continue;
        }
        skipped_used += (size_t)snprintf(skipped + skipped_used, sizeof skipped - skipped_used,
                                         "%s%s", skipped_count ? ", " : "",
                                         higher->timeframes[h]);
        if (reasons_used < sizeof reasons)
            reasons_used += (size_t)snprintf(reasons + reasons_used,
                                             sizeof reasons - reasons_used, "%s%s",
                                             skipped_count ? "; " : "", reason);
        skipped_count++;
    }
    if (warn && skipped_count > 0)
        ohlcx_log_warn("%s: no %s features for this %s series, so those %d columns are missing "
                       "(NaN): %s",
                       series->bars.source_path, skipped, series->bars.timeframe,
                       skipped_count * OHLCX_FEATURE_COUNT, reasons);
    return 0;
}


int pipeline_compute_features(pipeline_series *series, const pipeline_higher *higher,
                              int warn)
{
    size_t width = pipeline_feature_width(higher);
    size_t n = series->bars.n;
    float *own = NULL;
    int status;

    free(series->features);
    series->feature_width = width;
    series->higher_fed = 0;
    series->features = malloc((n ? n : 1) * width * sizeof *series->features);
    if (series->features == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory computing features of %s",
                               series->bars.source_path);
    if (width == OHLCX_FEATURE_COUNT)
        return ohlcx_features_compute(&series->bars, series->features);

    /* ohlcx_features_compute() writes rows of OHLCX_FEATURE_COUNT floats, so
     * it fills a buffer that is then copied into the wider rows. */
    own = malloc((n ? n : 1) * OHLCX_FEATURE_COUNT * sizeof *own);
    if (own == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory computing features of %s",
                               series->bars.source_path);
    status = ohlcx_features_compute(&series->bars, own);
    for (size_t t = 0; t < n && status == 0; t++)
        memcpy(series->features + t * width, own + t * OHLCX_FEATURE_COUNT,
               OHLCX_FEATURE_COUNT * sizeof *own);
    free(own);
    if (status == 0)
        status = fill_higher_blocks(series, higher, warn);
    if (status == 0 && higher->debug_leak != OHLCX_DEBUG_LEAK_NONE)
        fill_debug_leak(series);
    return status;
}
