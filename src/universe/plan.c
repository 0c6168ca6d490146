/*
 * The plan of a universe: expected bars from each asset class's market
 * calendar (see include/ohlcx/universe.h), the samples and split parts the
 * pipeline would make of them, and store size and stage times from measured
 * rates.
 *
 * All symbols of a group share one bar count per timeframe, so the plan
 * computes one series per (group, timeframe) and multiplies by the group's
 * symbols. The split of a series comes from ohlcx_split_series(), the same
 * function the pipeline uses, so the part sizes match a real run of that
 * length.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/gbdt.h"
#include "ohlcx/universe.h"

#define DEFAULT_MONTHS 12
#define DEFAULT_EPOCHS 10
#define DAYS_PER_MONTH (365.25 / 12)
/* The pipeline trains two XGBoost models: with the CNN columns and the
 * baseline without them. */
#define XGB_MODELS 2

/* Trading time of an asset class's calendar. */
typedef struct market_calendar {
    double trading_days_per_month;
    int session_minutes; /* trading minutes in a day */
} market_calendar;


static market_calendar calendar_of(int asset_class)
{
    market_calendar calendar = {252.0 / 12, 390};

    if (asset_class == OHLCX_ASSET_CRYPTO) {
        calendar.trading_days_per_month = DAYS_PER_MONTH;
        calendar.session_minutes = 24 * 60;
    } else if (asset_class == OHLCX_ASSET_FOREX) {
        calendar.trading_days_per_month = DAYS_PER_MONTH * 5 / 7;
        calendar.session_minutes = 24 * 60;
    }
    return calendar;
}


uint64_t ohlcx_expected_bars(int asset_class, const char *timeframe, int months)
{
    market_calendar calendar;
    int64_t length_us;
    double bars;

    if (asset_class < 0 || asset_class >= OHLCX_ASSET_COUNT || timeframe == NULL || months < 0)
        return 0;
    length_us = ohlcx_timeframe_us(timeframe);
    if (length_us <= 0 || ohlcx_timeframe_id(timeframe) < 0)
        return 0;
    calendar = calendar_of(asset_class);

    if (strcmp(timeframe, "1M") == 0) {
        bars = months;
    } else if (strcmp(timeframe, "3M") == 0) {
        bars = months / 3.0;
    } else if (length_us < OHLCX_US_PER_DAY) {
        int64_t minutes = length_us / OHLCX_US_PER_MINUTE;
        /* A session's last bar may be short, so a partial bar counts. */
        int64_t per_day = (calendar.session_minutes + minutes - 1) / minutes;

        bars = (double)per_day * calendar.trading_days_per_month * months;
    } else if (length_us == OHLCX_US_PER_DAY) {
        bars = calendar.trading_days_per_month * months;
    } else {
        /* 3d and 1w: any 3 or 7 consecutive days hold a weekday. */
        bars = DAYS_PER_MONTH * months / (double)(length_us / OHLCX_US_PER_DAY);
    }
    return (uint64_t)llround(bars);
}


void ohlcx_plan_options_default(ohlcx_plan_options *options)
{
    ohlcx_gbdt_options gbdt;

    ohlcx_gbdt_options_default(&gbdt);
    options->months = 0;
    options->window = 64;
    options->horizon = 1;
    options->epochs = DEFAULT_EPOCHS;
    options->xgb_rounds = gbdt.max_rounds;
    options->jobs = 0;
}


static int check_options(const ohlcx_plan_options *options)
{
    if (options->months < 0 || options->months > 1200)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan months %d: use 1 to 1200, or 0 for "
                               "the universe's", options->months);
    if (options->window < 1 || options->horizon < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan window %d or horizon %d: use 1 or "
                               "more", options->window, options->horizon);
    if (options->epochs < 1 || options->xgb_rounds < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan epochs %d or XGBoost rounds %d: use "
                               "1 or more", options->epochs, options->xgb_rounds);
    return 0;
}


static int check_rates(const ohlcx_plan_rates *rates)
{
    const double values[] = {rates->store_bytes_per_bar, rates->feature_bars_per_s,
                             rates->cnn_train_samples_per_s, rates->cnn_embed_samples_per_s,
                             rates->xgb_row_rounds_per_s};

    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        if (!(values[i] > 0) || !isfinite(values[i]))
            return ohlcx_set_error(OHLCX_EINVAL, "invalid plan rate %g: every rate must be "
                                   "positive and finite", values[i]);
    return 0;
}


/* Adds `symbols` series of n bars each to row. */
static void add_series(const ohlcx_plan_options *options, const ohlcx_plan_rates *rates,
                       uint64_t n, size_t symbols, ohlcx_plan_row *row)
{
    ohlcx_split_options split_options;
    ohlcx_split split;
    uint64_t part[OHLCX_PART_COUNT], first;
    double count = (double)symbols;

    row->series += symbols;
    row->bars += symbols * n;
    row->store_bytes += count * (double)n * rates->store_bytes_per_bar;
    row->seconds.features += count * (double)n / rates->feature_bars_per_s;

    ohlcx_split_options_default(&split_options);
    split_options.window = options->window;
    split_options.horizon = options->horizon;
    if (ohlcx_split_series((size_t)n, &split_options, &split) != 0) {
        row->series_too_short += symbols;
        return;
    }

    first = (uint64_t)(options->window > OHLCX_FEATURE_WARMUP ? options->window
                                                                : OHLCX_FEATURE_WARMUP);
    row->samples += symbols * (n - (uint64_t)options->horizon - first);
    for (int p = 0; p < OHLCX_PART_COUNT; p++) {
        part[p] = split.end[p] - split.begin[p];
        row->part_samples[p] += symbols * part[p];
    }

    row->seconds.cnn_train +=
        count * options->epochs *
        ((double)part[OHLCX_PART_CNN_TRAIN] / rates->cnn_train_samples_per_s +
         (double)part[OHLCX_PART_VALIDATION] / rates->cnn_embed_samples_per_s);
    row->seconds.embed += count *
                          (double)(part[OHLCX_PART_XGB_TRAIN] + part[OHLCX_PART_VALIDATION] +
                                   part[OHLCX_PART_TEST]) /
                          rates->cnn_embed_samples_per_s;
    row->seconds.xgb_train += count * XGB_MODELS * options->xgb_rounds *
                              (double)part[OHLCX_PART_XGB_TRAIN] / rates->xgb_row_rounds_per_s;
}


static void sum_times(ohlcx_plan_times *times)
{
    times->total = times->features + times->cnn_train + times->embed + times->xgb_train;
}


static void add_row(ohlcx_plan_row *to, const ohlcx_plan_row *from)
{
    to->series += from->series;
    to->series_too_short += from->series_too_short;
    to->bars += from->bars;
    to->samples += from->samples;
    for (int p = 0; p < OHLCX_PART_COUNT; p++)
        to->part_samples[p] += from->part_samples[p];
    to->store_bytes += from->store_bytes;
    to->seconds.features += from->seconds.features;
    to->seconds.cnn_train += from->seconds.cnn_train;
    to->seconds.embed += from->seconds.embed;
    to->seconds.xgb_train += from->seconds.xgb_train;
    sum_times(&to->seconds);
}


int ohlcx_plan_compute(const ohlcx_universe *universe, const ohlcx_plan_options *options,
                       const ohlcx_plan_rates *rates, ohlcx_plan *out)
{
    int status;

    memset(out, 0, sizeof *out);
    if (universe == NULL || options == NULL || rates == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_plan_compute: arguments must not be NULL");
    status = check_options(options);
    if (status == 0)
        status = check_rates(rates);
    if (status != 0)
        return status;

    out->months = options->months > 0 ? options->months
                  : universe->months > 0 ? universe->months
                                         : DEFAULT_MONTHS;
    out->window = options->window;
    out->horizon = options->horizon;
    out->epochs = options->epochs;
    out->xgb_rounds = options->xgb_rounds;
    out->rates = *rates;
    out->groups = calloc(universe->group_count ? universe->group_count : 1, sizeof *out->groups);
    if (out->groups == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory planning %s", universe->name);
    out->group_count = universe->group_count;

    for (size_t g = 0; g < universe->group_count; g++) {
        const ohlcx_universe_group *group = &universe->groups[g];
        ohlcx_plan_row *row = &out->groups[g];

        row->symbols = group->symbol_count;
        for (int t = 0; t < group->timeframe_count; t++) {
            uint64_t n = ohlcx_expected_bars(group->asset_class, group->timeframes[t],
                                             out->months);
            add_series(options, rates, n, group->symbol_count, row);
        }
        sum_times(&row->seconds);
        add_row(&out->total, row);
    }
    out->total.symbols = universe->symbol_count;
    return 0;
}


void ohlcx_plan_free(ohlcx_plan *plan)
{
    if (plan == NULL)
        return;
    free(plan->groups);
    memset(plan, 0, sizeof *plan);
}
