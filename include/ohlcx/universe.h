/*
 * Universe: the symbols and timeframes to work on, read from a YAML file,
 * and the plan that estimates the bars, samples, storage and training time
 * they take.
 *
 * File schema (YAML 1.1 block or flow style; every key below and no other):
 *
 *   name: phase1             # required: 1 to 63 characters
 *   description: ...         # optional free text
 *   start: 2024-01-01        # optional: first bar time (UTC) for synthetic data
 *   months: 12               # optional: 1 to 1200, history per series
 *   groups:                  # required: a non-empty list of groups
 *     - asset_class: crypto  # required: crypto, stocks, forex, indices,
 *                            #   commodities or bonds
 *       tier: 1              # optional: 1 to 99, 1 being the most liquid
 *       timeframes: [1h, 4h] # required: non-empty; aliases such as 60m are
 *                            #   stored in the canonical form
 *       symbols: [BTCUSDT]   # required: non-empty; 1 to 31 letters or digits
 *
 * Invariants after a successful load: every group has at least one symbol and
 * one timeframe, and its timeframes are canonical and distinct. No (asset
 * class, symbol, timeframe) triple occurs twice in the file, so the series
 * count is the sum over groups of symbols x timeframes. The same symbol may
 * appear in two asset classes, or twice in one class at different
 * timeframes. Anchors and aliases are allowed because libyaml resolves them.
 *
 * Every error is OHLCX_EFORMAT (OHLCX_EIO for an unreadable file) with the
 * message "FILE:LINE:COLUMN: message", LINE and COLUMN counted from 1 as
 * libyaml reports them.
 *
 * The plan: for each group and in total, the series, the expected bars from
 * the timeframe and a market calendar, the samples the pipeline would train
 * on, and estimates of the store size and the time of each training stage
 * from rates that ohlcx_plan_calibrate() measures on this machine.
 *
 * Forex series and 1w series of every class get the bars that `ohlcx synth`
 * writes from the plan's start over its months (ohlcx_plan.start_us),
 * counted on synth's calendar (include/ohlcx/synth.h). The other series get
 * ohlcx_expected_bars(), an average that needs no dates. Its market
 * calendars (estimates; holidays other than the 252-day year are ignored):
 *
 *   crypto                   24 h a day, 365.25 days a year
 *   forex                    24 h a day, 5 days a week (260.89 days a year)
 *   stocks, indices,         6.5 h a day (09:30-16:00 New York), 252 days a
 *   commodities, bonds       year, as the synthetic data generates them
 *
 * An intraday bar count per trading day is ceil(session / timeframe), as the
 * last bar of a session may be short (seven 1h bars in 6.5 h). A forex week
 * adds one 4h, 6h, 8h or 12h bar, because it opens and closes inside one.
 * 1d bars come one per trading day; 3d and 1w bars one per 3 or 7 calendar
 * days (any such period contains a trading day); 1M and 3M bars one per 1 or 3
 * months. A month is 365.25 / 12 = 30.4375 days, and each (class,
 * timeframe) count is rounded to the nearest integer.
 */
#ifndef OHLCX_UNIVERSE_H
#define OHLCX_UNIVERSE_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/dataset.h"
#include "ohlcx/series.h"

#define OHLCX_UNIVERSE_NAME_MAX 64
/* Distinct canonical timeframes: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d
 * 1w 1M 3M. */
#define OHLCX_TIMEFRAME_COUNT 16

typedef struct ohlcx_universe_group {
    int asset_class;    /* enum ohlcx_asset_class */
    int tier;           /* 1 to 99, or 0 when the file gives none */
    int line;           /* 1-based line of the group in the file */
    int timeframe_count;
    char timeframes[OHLCX_TIMEFRAME_COUNT][OHLCX_TIMEFRAME_MAX]; /* canonical */
    size_t symbol_count;
    char (*symbols)[OHLCX_SYMBOL_MAX];
} ohlcx_universe_group;

typedef struct ohlcx_universe {
    char name[OHLCX_UNIVERSE_NAME_MAX];
    char path[OHLCX_PATH_MAX];  /* the file it was read from */
    int months;                 /* 0 when the file gives none */
    int has_start;              /* 1 when the file gives start */
    int64_t start_us;           /* UTC microseconds, valid when has_start */
    size_t group_count;
    ohlcx_universe_group *groups;
    size_t series_count;        /* (symbol, timeframe) series in all groups */
    size_t symbol_count;        /* distinct (asset class, symbol) pairs */
} ohlcx_universe;

/* Reads and validates a universe file into out, which needs no
 * initialisation; on failure out is left empty. */
int ohlcx_universe_load(const char *path, ohlcx_universe *out);

/* Parses YAML text of the given length, naming it path in messages. */
int ohlcx_universe_parse(const char *text, size_t length, const char *path,
                         ohlcx_universe *out);

/* Frees the groups and resets the universe to empty. */
void ohlcx_universe_free(ohlcx_universe *universe);

/* Returns the expected bars of one series of an asset class and canonical
 * timeframe over months months, by the average calendars above, or 0 for
 * an unknown timeframe or class. */
uint64_t ohlcx_expected_bars(int asset_class, const char *timeframe, int months);

/* The two XGBoost models of a run: with the CNN columns (embedding,
 * features, ids) and the baseline without the embedding. */
enum ohlcx_plan_xgb_model { OHLCX_PLAN_XGB_COMBINED, OHLCX_PLAN_XGB_BASELINE,
                            OHLCX_PLAN_XGB_MODELS };

/* Measured costs of training one XGBoost model, in seconds. Rows are
 * training rows; the validation rows that the run scores after every round
 * come in the run's proportion to them and are included. */
typedef struct ohlcx_plan_xgb_cost {
    double setup_s_per_row;  /* quantile matrices of the rows, once a model */
    double round_s;          /* each round, whatever the rows */
    double round_s_per_row;  /* each round, per row */
} ohlcx_plan_xgb_cost;

/* Rates measured on this machine; the plan divides work by them. */
typedef struct ohlcx_plan_rates {
    double store_bytes_per_bar;       /* compressed OHLCV + open time */
    double feature_bars_per_s;        /* ohlcx_features_compute */
    double window_fills_per_s;        /* ohlcx_window_fill, one CNN input each */
    double cnn_train_samples_per_s;   /* forward + backward + Adam step, on
                                         windows already filled */
    double cnn_embed_samples_per_s;   /* forward only, on filled windows */
    double xgb_row_rounds_per_s;      /* training rows x rounds of the
                                         combined model, at 32,000 rows */
    ohlcx_plan_xgb_cost xgb[OHLCX_PLAN_XGB_MODELS]; /* by ohlcx_plan_xgb_model */
    double calibration_s;             /* wall time the measurement took */
} ohlcx_plan_rates;

/*
 * Settings of the run to plan, as `ohlcx run` takes them, and the two
 * assumptions about early stopping that no count can give. A CNN trains
 * until patience epochs pass without a better validation loss, so it runs
 * best_epoch + patience epochs, at most epochs. An XGBoost model stops
 * xgb_early_stopping rounds after its best round, so it trains
 * xgb_best_rounds + xgb_early_stopping rounds, at most xgb_rounds.
 */
typedef struct ohlcx_plan_options {
    int months;     /* history per series; 0: the universe's, else 12 */
    int window;     /* bars per CNN window, default 64 */
    int horizon;    /* bars ahead for the label, default 1 */
    int epochs;     /* maximum CNN epochs, default 20 as `ohlcx run` */
    int patience;   /* CNN early-stopping patience, default 3 as `ohlcx run` */
    int best_epoch; /* assumed epoch of the lowest validation loss, default 3 */
    int xgb_rounds; /* maximum boosting rounds per model, default 400 */
    int xgb_early_stopping; /* rounds without improvement, default 30 */
    int xgb_best_rounds;    /* assumed rounds up to the best one, default 20 */
    int jobs;       /* threads for the calibration; 0: online cores */
} ohlcx_plan_options;

/* Seconds of each stage; total is their sum. Reading the candles is not
 * included. */
typedef struct ohlcx_plan_times {
    double features;
    double cnn_train;  /* epochs x (training, then validation loss) */
    double embed;      /* embeddings of xgb_train, validation and test */
    double xgb_train;  /* both models */
    double total;
} ohlcx_plan_times;

/* The early-stopping cases the plan times: the expected one from the
 * assumptions, the shortest (each model stops after its first round or
 * epoch) and the longest (each trains to its maximum). */
enum ohlcx_plan_case { OHLCX_PLAN_EXPECTED, OHLCX_PLAN_SHORTEST, OHLCX_PLAN_LONGEST,
                       OHLCX_PLAN_CASES };

/* Counts and estimates of one group or of the whole universe. */
typedef struct ohlcx_plan_row {
    size_t symbols;
    size_t series;
    size_t series_too_short;  /* series the split cannot use (no samples) */
    uint64_t bars;
    uint64_t samples;         /* bars - max(window, feature warm-up) - horizon
                                 of each usable series */
    uint64_t part_samples[OHLCX_PART_COUNT]; /* by enum ohlcx_part */
    double store_bytes;
    ohlcx_plan_times seconds[OHLCX_PLAN_CASES]; /* by enum ohlcx_plan_case */
} ohlcx_plan_row;

typedef struct ohlcx_plan {
    int months, window, horizon;
    int64_t start_us; /* first bar time: the universe's start, else synth's
                         default 2024-01-01 00:00 UTC */
    int epochs[OHLCX_PLAN_CASES];     /* CNN epochs of each case */
    int xgb_rounds[OHLCX_PLAN_CASES]; /* rounds trained per XGBoost model */
    ohlcx_plan_options options;
    ohlcx_plan_rates rates;
    size_t group_count;
    ohlcx_plan_row *groups; /* one row per universe group, in file order */
    ohlcx_plan_row total;
} ohlcx_plan;

void ohlcx_plan_options_default(ohlcx_plan_options *options);

/*
 * Measures the rates in one to three seconds (see calibrate.c): synthesises
 * one year of BTCUSDT 5m bars (about 105,000), compresses each column as the
 * store would, computes the features, fills windows, trains the default CNN
 * (nn.h) with options->window for two epochs on 4,000 windows after a
 * warm-up, embeds them, and trains both XGBoost models of a run at two sizes
 * and two round counts. Sets the OpenBLAS thread count to options->jobs (all
 * online cores when 0) for the rest of the process, as the pipeline does.
 */
int ohlcx_plan_calibrate(const ohlcx_plan_options *options, ohlcx_plan_rates *out);

/*
 * Computes the plan of universe with the given rates (each must be
 * positive, the XGBoost round_s may be 0). Per usable series the split
 * gives the parts, and then, with E epochs and R rounds per model:
 *   features  = bars / feature rate
 *   cnn_train = E x (cnn_train x (1/train + 1/fill)
 *                    + validation x (1/embed + 1/fill))
 *   embed     = (xgb_train + validation + test) x (1/embed + 1/fill)
 *   xgb_train = sum over both models of
 *               xgb_train x setup + R x (round + xgb_train x round per row)
 * E and R are those of each case of enum ohlcx_plan_case. Fails with
 * OHLCX_EINVAL for invalid options or rates.
 */
int ohlcx_plan_compute(const ohlcx_universe *universe, const ohlcx_plan_options *options,
                       const ohlcx_plan_rates *rates, ohlcx_plan *out);

void ohlcx_plan_free(ohlcx_plan *plan);

#endif
