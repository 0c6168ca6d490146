/*
 * The plan of a universe: expected bars from each asset class's market
 * calendar (see include/ohlcx/universe.h), the samples and split parts the
 * pipeline would make of them, and store size and stage times from measured
 * rates.
 *
 * Forex series and 1w series are counted on the calendar of `ohlcx synth`
 * over the plan's dates, because an average per day misses whole bars
 * there. The forex week opens and closes inside a 4h to 12h bar,
 * which adds one bar a week, and a year has 52 or 53 Monday-aligned weeks.
 * The other series keep the average. Over the years 2019 to 2025 it came
 * within 0.8% of synth's bars, except for stock 3d bars, which it counts up
 * to 3.4% high: a 3-day period of a weekend and a holiday has no bar.
 *
 * All symbols of a group share one bar count per timeframe, so the plan
 * computes one series per (group, timeframe) and multiplies by the group's
 * symbols. The split of a series comes from ohlcx_split_series(), the same
 * function the pipeline uses, so the part sizes match a real run of that
 * length. Times follow what `ohlcx run` does with those parts. Every CNN
 * training sample and validation sample is filled from the bars once an
 * epoch, and the later parts once for the embeddings. Each XGBoost model
 * pays a setup per row and a cost per round. Only the number of epochs and
 * rounds is not a count, because early stopping decides it, so the plan
 * times three cases of it (enum ohlcx_plan_case).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/features.h"
#include "ohlcx/gbdt.h"
#include "ohlcx/synth.h"
#include "ohlcx/universe.h"
#include "synth/synth_internal.h"

#define DEFAULT_MONTHS 12
#define DAYS_PER_MONTH (365.25 / 12)
/* The defaults of `ohlcx run`. */
#define DEFAULT_EPOCHS 20
#define DEFAULT_PATIENCE 3
/* The assumed best CNN epoch and XGBoost rounds up to the best round. On the
 * synthetic universes of docs/benchmarks.md, 23 CNNs had best epochs 1 to 8
 * (mean 3.3) and 8 models kept 1 to 123 rounds (mean 21).
 * NOTE: both depend on the data, and data with more signal trains longer. */
#define DEFAULT_BEST_EPOCH 3
#define DEFAULT_XGB_BEST_ROUNDS 20

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
        /* The forex week opens on Sunday and closes on Friday at 21:00 or
         * 22:00 UTC, inside a grid bar of 4h to 12h. So such a bar exists
         * on both days, and a week has 31 4h bars where five days fill 30.
         * NOTE: a 2h bar contains the open only in New York summer time
         * (21:00 UTC), so the 2h estimate was 0.7% low for 2024. */
        if (asset_class == OHLCX_ASSET_FOREX && minutes >= 4 * 60)
            bars += DAYS_PER_MONTH * months / 7;
    } else if (length_us == OHLCX_US_PER_DAY) {
        bars = calendar.trading_days_per_month * months;
    } else {
        /* 3d and 1w: any 3 or 7 consecutive days hold a weekday. */
        bars = DAYS_PER_MONTH * months / (double)(length_us / OHLCX_US_PER_DAY);
    }
    return (uint64_t)llround(bars);
}


/* Returns the bars that `ohlcx synth` writes for one series of an asset
 * class and canonical timeframe from start_us over months months, walking
 * its calendar. Forex trading days start and end on whole UTC hours, so a
 * bar of up to an hour trades throughout or not at all. The whole hours of
 * the range therefore count as 1h bars times the bars in an hour, and only
 * the parts of an hour at either end are walked bar by bar. 100 years of 1m
 * forex take about 0.1 s that way, and 4 s bar by bar. */
static uint64_t calendar_bars(int asset_class, const char *timeframe, int64_t start_us,
                              int months)
{
    int kind = ohlcx_synth_calendar_of(asset_class);
    int64_t end_us = synth_add_months(start_us, months);
    int64_t first_hour, last_hour;
    synth_calendar calendar, hours;
    uint64_t bars;

    if (synth_calendar_init(&calendar, timeframe, kind) != 0)
        return 0;
    first_hour = (start_us + OHLCX_US_PER_HOUR - 1) / OHLCX_US_PER_HOUR * OHLCX_US_PER_HOUR;
    last_hour = end_us / OHLCX_US_PER_HOUR * OHLCX_US_PER_HOUR;
    if (kind != OHLCX_SYNTH_FOREX_WEEK || calendar.months_per_bar > 0 ||
        calendar.length_us >= OHLCX_US_PER_HOUR || first_hour >= last_hour)
        return synth_calendar_bars(&calendar, start_us, end_us, NULL);

    synth_calendar_init(&hours, "1h", kind);
    bars = synth_calendar_bars(&calendar, start_us, first_hour, NULL);
    bars += synth_calendar_bars(&hours, first_hour, last_hour, NULL) *
            (uint64_t)(OHLCX_US_PER_HOUR / calendar.length_us);
    bars += synth_calendar_bars(&calendar, last_hour, end_us, NULL);
    return bars;
}


/* Returns the expected bars of one series of the plan. */
static uint64_t series_bars(int asset_class, const char *timeframe, int64_t start_us,
                            int months)
{
    if (asset_class == OHLCX_ASSET_FOREX || strcmp(timeframe, "1w") == 0)
        return calendar_bars(asset_class, timeframe, start_us, months);
    return ohlcx_expected_bars(asset_class, timeframe, months);
}


void ohlcx_plan_options_default(ohlcx_plan_options *options)
{
    ohlcx_gbdt_options gbdt;

    ohlcx_gbdt_options_default(&gbdt);
    options->months = 0;
    options->window = 64;
    options->horizon = 1;
    options->epochs = DEFAULT_EPOCHS;
    options->patience = DEFAULT_PATIENCE;
    options->best_epoch = DEFAULT_BEST_EPOCH;
    options->xgb_rounds = gbdt.max_rounds;
    options->xgb_early_stopping = gbdt.early_stopping;
    options->xgb_best_rounds = DEFAULT_XGB_BEST_ROUNDS;
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
    if (options->epochs < 1 || options->patience < 1 || options->best_epoch < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan epochs %d, patience %d or best epoch "
                               "%d: use 1 or more", options->epochs, options->patience,
                               options->best_epoch);
    if (options->xgb_rounds < 1 || options->xgb_early_stopping < 0 ||
        options->xgb_best_rounds < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid plan XGBoost rounds %d, early stopping %d "
                               "or best rounds %d: use 1 or more (early stopping 0 or more)",
                               options->xgb_rounds, options->xgb_early_stopping,
                               options->xgb_best_rounds);
    return 0;
}


static int check_rate(double value, int zero_allowed)
{
    if (isfinite(value) && (value > 0 || (zero_allowed && value == 0)))
        return 0;
    return ohlcx_set_error(OHLCX_EINVAL, "invalid plan rate %g: every rate must be positive "
                           "and finite", value);
}


static int check_rates(const ohlcx_plan_rates *rates)
{
    const double values[] = {rates->store_bytes_per_bar, rates->feature_bars_per_s,
                             rates->window_fills_per_s, rates->cnn_train_samples_per_s,
                             rates->cnn_embed_samples_per_s};
    int status = 0;

    for (size_t i = 0; i < sizeof values / sizeof *values && status == 0; i++)
        status = check_rate(values[i], 0);
    for (int m = 0; m < OHLCX_PLAN_XGB_MODELS && status == 0; m++) {
        status = check_rate(rates->xgb[m].setup_s_per_row, 0);
        if (status == 0)
            status = check_rate(rates->xgb[m].round_s, 1);
        if (status == 0)
            status = check_rate(rates->xgb[m].round_s_per_row, 0);
    }
    return status;
}


/* Adds the counts of `symbols` series of n bars each to row. */
static void add_series(const ohlcx_plan_options *options, const ohlcx_plan_rates *rates,
                       uint64_t n, size_t symbols, ohlcx_plan_row *row)
{
    ohlcx_split_options split_options;
    ohlcx_split split;
    uint64_t first;

    row->series += symbols;
    row->bars += symbols * n;
    row->store_bytes += (double)symbols * (double)n * rates->store_bytes_per_bar;

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
    for (int p = 0; p < OHLCX_PART_COUNT; p++)
        row->part_samples[p] += symbols * (uint64_t)(split.end[p] - split.begin[p]);
}


/* Sets the stage times of row for `epochs` CNN epochs and `rounds` rounds
 * per XGBoost model. Each time is a sum over samples, so a group's time is
 * its share of the universe's. The XGBoost models train once on every
 * series' rows, so their fixed cost per round goes to the groups in
 * proportion to their rows. */
static void estimate_times(const ohlcx_plan_rates *rates, const ohlcx_plan_row *row,
                           const ohlcx_plan_row *total, int epochs, int rounds,
                           ohlcx_plan_times *out)
{
    const uint64_t *part = row->part_samples;
    double fill = 1 / rates->window_fills_per_s;
    double train = 1 / rates->cnn_train_samples_per_s + fill;
    double forward = 1 / rates->cnn_embed_samples_per_s + fill;
    double xgb_rows = (double)part[OHLCX_PART_XGB_TRAIN];
    double all_xgb_rows = (double)total->part_samples[OHLCX_PART_XGB_TRAIN];
    double share = all_xgb_rows > 0 ? xgb_rows / all_xgb_rows : 0;

    memset(out, 0, sizeof *out);
    out->features = (double)row->bars / rates->feature_bars_per_s;
    out->cnn_train = epochs * ((double)part[OHLCX_PART_CNN_TRAIN] * train +
                               (double)part[OHLCX_PART_VALIDATION] * forward);
    out->embed = (double)(part[OHLCX_PART_XGB_TRAIN] + part[OHLCX_PART_VALIDATION] +
                          part[OHLCX_PART_TEST]) *
                 forward;
    for (int m = 0; m < OHLCX_PLAN_XGB_MODELS; m++) {
        const ohlcx_plan_xgb_cost *cost = &rates->xgb[m];

        out->xgb_train += xgb_rows * cost->setup_s_per_row +
                          rounds * (share * cost->round_s + xgb_rows * cost->round_s_per_row);
    }
    out->total = out->features + out->cnn_train + out->embed + out->xgb_train;
}


static int min_int(int a, int b)
{
    return a < b ? a : b;
}


/* Sets the epochs and rounds of each case: the expected one from the
 * assumed best epoch and round, the shortest with the best at the first,
 * and the longest at the maximum. */
static void set_cases(const ohlcx_plan_options *options, ohlcx_plan *out)
{
    out->epochs[OHLCX_PLAN_EXPECTED] =
        min_int(options->epochs, options->best_epoch + options->patience);
    out->epochs[OHLCX_PLAN_SHORTEST] = min_int(options->epochs, 1 + options->patience);
    out->epochs[OHLCX_PLAN_LONGEST] = options->epochs;
    if (options->xgb_early_stopping == 0) {
        for (int c = 0; c < OHLCX_PLAN_CASES; c++)
            out->xgb_rounds[c] = options->xgb_rounds;
        return;
    }
    out->xgb_rounds[OHLCX_PLAN_EXPECTED] =
        min_int(options->xgb_rounds, options->xgb_best_rounds + options->xgb_early_stopping);
    out->xgb_rounds[OHLCX_PLAN_SHORTEST] =
        min_int(options->xgb_rounds, 1 + options->xgb_early_stopping);
    out->xgb_rounds[OHLCX_PLAN_LONGEST] = options->xgb_rounds;
}


static void set_row_times(const ohlcx_plan *plan, ohlcx_plan_row *row)
{
    for (int c = 0; c < OHLCX_PLAN_CASES; c++)
        estimate_times(&plan->rates, row, &plan->total, plan->epochs[c], plan->xgb_rounds[c],
                       &row->seconds[c]);
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
    if (universe->has_start) {
        out->start_us = universe->start_us;
    } else {
        ohlcx_synth_options synth_options;

        ohlcx_synth_options_default(&synth_options);
        out->start_us = synth_options.start_us;
    }
    out->window = options->window;
    out->horizon = options->horizon;
    out->options = *options;
    set_cases(options, out);
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
            uint64_t n = series_bars(group->asset_class, group->timeframes[t], out->start_us,
                                     out->months);
            add_series(options, rates, n, group->symbol_count, row);
        }
        add_row(&out->total, row);
    }
    out->total.symbols = universe->symbol_count;

    /* Times need the total's XGBoost rows, to share the cost per round. */
    for (size_t g = 0; g < out->group_count; g++)
        set_row_times(out, &out->groups[g]);
    set_row_times(out, &out->total);
    return 0;
}


void ohlcx_plan_free(ohlcx_plan *plan)
{
    if (plan == NULL)
        return;
    free(plan->groups);
    memset(plan, 0, sizeof *plan);
}
