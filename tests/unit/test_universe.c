/*
 * Unit tests of universe files and the plan: parsing, every validation error
 * with its line and column, the shipped examples, expected bars per market
 * calendar and the plan's arithmetic with fixed rates.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ohlcx/error.h"
#include "ohlcx/universe.h"

#define TOLERANCE 1e-9

/* Fails unless actual is within eps of expected; a NaN never passes. */
#define assert_near(actual, expected, eps) \
    assert_near_at((actual), (expected), (eps), __FILE__, __LINE__)


static void assert_near_at(double actual, double expected, double eps, const char *file,
                           int line)
{
    if (!(fabs(actual - expected) <= eps)) {
        print_error("%.12g is not within %g of %.12g\n", actual, eps, expected);
        _fail(file, line);
    }
}


static const char *data_dir(void)
{
    const char *dir = getenv("OHLCX_TEST_DATA");

    return dir != NULL ? dir : "tests/data";
}


static int load_data_file(const char *relative, ohlcx_universe *universe)
{
    char path[OHLCX_PATH_MAX];

    snprintf(path, sizeof path, "%s/%s", data_dir(), relative);
    return ohlcx_universe_load(path, universe);
}


/* Parses text as "u.yaml"; returns the status and frees the universe. */
static int parse_text(const char *text)
{
    ohlcx_universe universe;
    int status = ohlcx_universe_parse(text, strlen(text), "u.yaml", &universe);

    ohlcx_universe_free(&universe);
    return status;
}


/* Asserts that text fails with OHLCX_EFORMAT and exactly this message. */
static void assert_parse_error(const char *text, const char *message)
{
    int status = parse_text(text);

    assert_int_equal(status, OHLCX_EFORMAT);
    assert_string_equal(ohlcx_last_error(), message);
}


static void tiny_file_parses(void **state)
{
    ohlcx_universe u;
    int status = load_data_file("universe/tiny.yaml", &u);

    (void)state;
    if (status != 0)
        print_error("%s\n", ohlcx_last_error());
    assert_int_equal(status, 0);
    assert_string_equal(u.name, "tiny");
    assert_int_equal(u.months, 2);
    assert_int_equal(u.has_start, 1);
    /* 2024-03-01 00:00 UTC is 1709251200 s after the epoch. */
    assert_true(u.start_us == INT64_C(1709251200) * OHLCX_US_PER_SECOND);
    assert_int_equal(u.group_count, 2);
    assert_int_equal(u.series_count, 5);
    assert_int_equal(u.symbol_count, 3);
    ohlcx_universe_free(&u);
}


static void tiny_groups_are_canonical(void **state)
{
    ohlcx_universe u;

    (void)state;
    assert_int_equal(load_data_file("universe/tiny.yaml", &u), 0);
    assert_int_equal(u.groups[0].asset_class, OHLCX_ASSET_CRYPTO);
    assert_int_equal(u.groups[0].tier, 1);
    assert_int_equal(u.groups[0].line, 7);
    assert_int_equal(u.groups[0].timeframe_count, 2);
    assert_string_equal(u.groups[0].timeframes[0], "1h");
    assert_string_equal(u.groups[0].timeframes[1], "4h");
    assert_int_equal(u.groups[0].symbol_count, 2);
    assert_string_equal(u.groups[0].symbols[1], "ETHUSDT");
    assert_int_equal(u.groups[1].asset_class, OHLCX_ASSET_STOCKS);
    assert_int_equal(u.groups[1].tier, 0);
    assert_int_equal(u.groups[1].timeframe_count, 1);
    assert_string_equal(u.groups[1].timeframes[0], "1d");
    assert_string_equal(u.groups[1].symbols[0], "AAPL");
    ohlcx_universe_free(&u);
}


static void optional_keys_may_be_absent(void **state)
{
    ohlcx_universe u;
    const char *text = "name: bare\n"
                       "groups:\n"
                       "  - {asset_class: bonds, timeframes: [1w], symbols: [US10Y]}\n";

    (void)state;
    assert_int_equal(ohlcx_universe_parse(text, strlen(text), "u.yaml", &u), 0);
    assert_int_equal(u.months, 0);
    assert_int_equal(u.has_start, 0);
    assert_int_equal(u.groups[0].asset_class, OHLCX_ASSET_BONDS);
    assert_int_equal(u.series_count, 1);
    ohlcx_universe_free(&u);
}


static void anchors_are_resolved(void **state)
{
    ohlcx_universe u;
    const char *text = "name: anchors\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: &intraday [15m, 1h]\n"
                       "    symbols: [BTCUSDT]\n"
                       "  - asset_class: forex\n"
                       "    timeframes: *intraday\n"
                       "    symbols: [EURUSD, GBPUSD]\n";

    (void)state;
    assert_int_equal(ohlcx_universe_parse(text, strlen(text), "u.yaml", &u), 0);
    assert_int_equal(u.series_count, 6);
    assert_string_equal(u.groups[1].timeframes[0], "15m");
    ohlcx_universe_free(&u);
}


/* The rule is one (asset class, symbol, timeframe) triple, so these pass. */
static void same_symbol_other_class_or_timeframe(void **state)
{
    ohlcx_universe u;
    const char *text = "name: repeats\n"
                       "groups:\n"
                       "  - {asset_class: stocks, timeframes: [1d], symbols: [GLD]}\n"
                       "  - {asset_class: commodities, timeframes: [1d], symbols: [GLD]}\n"
                       "  - {asset_class: stocks, timeframes: [1h], symbols: [GLD]}\n";

    (void)state;
    assert_int_equal(ohlcx_universe_parse(text, strlen(text), "u.yaml", &u), 0);
    assert_int_equal(u.series_count, 3);
    assert_int_equal(u.symbol_count, 2);
    ohlcx_universe_free(&u);
}


static void unknown_top_key(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "group: []\n",
                       "u.yaml:2:1: unknown key 'group' in the top level: use name, "
                       "description, start, months or groups");
}


static void unknown_group_key(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframe: [1h]\n",
                       "u.yaml:4:5: unknown key 'timeframe' in a group: use asset_class, "
                       "tier, timeframes or symbols");
}


static void unknown_asset_class(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: equities\n"
                       "    timeframes: [1h]\n"
                       "    symbols: [AAPL]\n",
                       "u.yaml:3:18: unknown asset_class 'equities': use crypto, stocks, "
                       "forex, indices, commodities or bonds");
}


static void invalid_timeframe(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: [1h, 7m]\n"
                       "    symbols: [BTCUSDT]\n",
                       "u.yaml:4:22: invalid timeframe '7m': use one of 1m 3m 5m 15m 30m 1h "
                       "2h 4h 6h 8h 12h 1d 3d 1w 1M 3M");
}


static void timeframe_alias_repeated(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: [1h, 60m]\n"
                       "    symbols: [BTCUSDT]\n",
                       "u.yaml:4:22: timeframe '60m' repeats 1h in this group");
}


static void symbol_repeated_in_group(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: [4h]\n"
                       "    symbols: [BTCUSDT, ETHUSDT, BTCUSDT]\n",
                       "u.yaml:5:33: symbol BTCUSDT is listed twice for crypto at 4h (first "
                       "at line 5, column 15)");
}


static void symbol_repeated_across_groups(void **state)
{
    ohlcx_universe u;
    int status = load_data_file("universe/duplicate.yaml", &u);
    const char *message = ohlcx_last_error();
    const char *expected = "duplicate.yaml:9:24: symbol ETHUSDT is listed twice for crypto "
                           "at 1h (first at line 6, column 24)";
    size_t length = strlen(message), expected_length = strlen(expected);

    (void)state;
    assert_int_equal(status, OHLCX_EFORMAT);
    assert_true(length > expected_length);
    assert_string_equal(message + length - expected_length, expected);
    assert_int_equal(u.group_count, 0);
}


static void empty_symbol_list(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: [1h]\n"
                       "    symbols: []\n",
                       "u.yaml:5:14: symbols is an empty list: list at least one, such as "
                       "[BTCUSDT, ETHUSDT]");
}


static void empty_symbols_value(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    symbols:\n"
                       "    timeframes: [1h]\n",
                       "u.yaml:4:5: symbols is empty: list at least one, such as "
                       "[BTCUSDT, ETHUSDT]");
}


static void empty_timeframe_list(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: []\n"
                       "    symbols: [BTCUSDT]\n",
                       "u.yaml:4:17: timeframes is an empty list: list at least one, such "
                       "as [1h, 1d]");
}


static void empty_group_list(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups: []\n",
                       "u.yaml:2:9: groups is an empty list: list at least one, such as "
                       "[{asset_class: crypto, timeframes: [1h], symbols: [BTCUSDT]}]");
}


static void missing_group_key(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: [1h]\n",
                       "u.yaml:3:5: missing key 'symbols' in a group");
}


static void missing_name(void **state)
{
    (void)state;
    assert_parse_error("groups:\n"
                       "  - {asset_class: crypto, timeframes: [1h], symbols: [BTCUSDT]}\n",
                       "u.yaml:1:1: missing key 'name' in the top level");
}


static void key_given_twice(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "months: 3\n"
                       "months: 4\n",
                       "u.yaml:3:1: key 'months' is given twice in the top level (first at "
                       "line 2)");
}


static void symbol_with_slash(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: [1h]\n"
                       "    symbols: [BTC/USDT]\n",
                       "u.yaml:5:15: invalid symbol 'BTC/USDT': use 1 to 31 letters and "
                       "digits, such as BTCUSDT");
}


static void symbol_as_mapping(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    timeframes: [1h]\n"
                       "    symbols: [{BTCUSDT: 1}]\n",
                       "u.yaml:5:15: expected a value for a symbol, found a mapping");
}


static void months_out_of_range(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "months: 0\n"
                       "groups: [{asset_class: crypto, timeframes: [1h], symbols: [X]}]\n",
                       "u.yaml:2:9: invalid months '0': use an integer from 1 to 1200");
}


static void tier_not_a_number(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - asset_class: crypto\n"
                       "    tier: top\n"
                       "    timeframes: [1h]\n"
                       "    symbols: [BTCUSDT]\n",
                       "u.yaml:4:11: invalid tier 'top': use an integer from 1 to 99");
}


static void start_not_a_date(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "start: 2024-13-01\n"
                       "groups: [{asset_class: crypto, timeframes: [1h], symbols: [X]}]\n",
                       "u.yaml:2:8: invalid start '2024-13-01': use a UTC date from "
                       "1970-01-01 to 2199-12-31 written YYYY-MM-DD");
}


static void groups_not_a_list(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  asset_class: crypto\n",
                       "u.yaml:3:3: expected a list for groups, such as [{asset_class: "
                       "crypto, timeframes: [1h], symbols: [BTCUSDT]}], found a mapping");
}


static void yaml_syntax_error(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups: [\n",
                       "u.yaml:3:1: invalid YAML: did not find expected node content "
                       "(while parsing a flow node at line 3, column 1)");
}


static void second_document(void **state)
{
    (void)state;
    assert_parse_error("name: x\n"
                       "groups:\n"
                       "  - {asset_class: crypto, timeframes: [1h], symbols: [BTCUSDT]}\n"
                       "---\n"
                       "name: y\n",
                       "u.yaml:5:1: a second YAML document starts here: a universe file "
                       "holds one");
}


static void empty_file(void **state)
{
    (void)state;
    assert_parse_error("# nothing\n", "u.yaml:1:1: the file is empty: give at least name and "
                                      "groups");
}


static void missing_file(void **state)
{
    ohlcx_universe u;

    (void)state;
    assert_int_equal(ohlcx_universe_load("/nonexistent/u.yaml", &u), OHLCX_EIO);
    assert_non_null(strstr(ohlcx_last_error(), "/nonexistent/u.yaml"));
}


/* Loads an example; asserts the symbol and series counts and that every
 * group lists timeframe_count timeframes. */
static void check_example(const char *name, size_t symbols, size_t series, int timeframe_count)
{
    char path[OHLCX_PATH_MAX];
    ohlcx_universe u;
    int status;

    snprintf(path, sizeof path, "%s/../../examples/%s", data_dir(), name);
    status = ohlcx_universe_load(path, &u);
    if (status != 0)
        print_error("%s\n", ohlcx_last_error());
    assert_int_equal(status, 0);
    assert_int_equal(u.symbol_count, symbols);
    assert_int_equal(u.series_count, series);
    for (size_t g = 0; g < u.group_count; g++)
        assert_int_equal(u.groups[g].timeframe_count, timeframe_count);
    ohlcx_universe_free(&u);
}


static void example_phase1(void **state)
{
    (void)state;
    check_example("phase1.yaml", 102, 714, 7);
}


static void example_phase2(void **state)
{
    (void)state;
    check_example("phase2.yaml", 169, 169 * 9, 9);
}


static void example_production(void **state)
{
    (void)state;
    check_example("production.yaml", 750, 750 * 10, 10);
}


static void example_demo(void **state)
{
    (void)state;
    check_example("demo.yaml", 6, 24, 4);
}


/* A command given a file without its universe takes the asset class from
 * the name (ohlcx_asset_class_guess()). So that the examples' synthetic
 * crypto files read as crypto and no other file does, their crypto groups
 * must hold exactly the names taken for crypto. */
static void example_classes_match_names(void **state)
{
    static const char *names[] = {"phase1.yaml", "phase2.yaml", "production.yaml", "demo.yaml"};

    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[OHLCX_PATH_MAX];
        ohlcx_universe u;

        snprintf(path, sizeof path, "%s/../../examples/%s", data_dir(), names[i]);
        assert_int_equal(ohlcx_universe_load(path, &u), 0);
        for (size_t g = 0; g < u.group_count; g++) {
            const ohlcx_universe_group *group = &u.groups[g];
            int crypto = group->asset_class == OHLCX_ASSET_CRYPTO;

            for (size_t s = 0; s < group->symbol_count; s++) {
                int guessed = ohlcx_asset_class_guess(group->symbols[s]) == OHLCX_ASSET_CRYPTO;
                if (guessed != crypto)
                    print_error("%s: %s in %s\n", names[i], group->symbols[s],
                                ohlcx_asset_class_name(group->asset_class));
                assert_int_equal(guessed, crypto);
            }
        }
        ohlcx_universe_free(&u);
    }
}


/*
 * Hand-computed over 12 months, a month being 30.4375 days:
 *   crypto  1h   24 x 365.25                     = 8766
 *   crypto  1w   365.25 / 7 = 52.18              -> 52
 *   stocks  1h   ceil(390 / 60) = 7 x 252        = 1764
 *   stocks  4h   ceil(390 / 240) = 2 x 252       = 504
 *   stocks  15m  26 x 252                        = 6552
 *   stocks  1m   390 x 252                       = 98280
 *   stocks  1d   252
 *   stocks  3d   365.25 / 3 = 121.75             -> 122
 *   forex   1h   24 x 365.25 x 5 / 7 = 6261.43   -> 6261
 *   forex   4h   6 x 260.89 + 365.25 / 7 = 1617.5 -> 1618 (a week has 31 bars)
 *   forex   1d   365.25 x 5 / 7 = 260.89         -> 261
 *   bonds   8h   ceil(390 / 480) = 1 x 252       = 252
 *   indices 1M   12, and 3M 4
 */
static void expected_bars_by_calendar(void **state)
{
    (void)state;
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_CRYPTO, "1h", 12), 8766);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_CRYPTO, "1w", 12), 52);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_STOCKS, "1h", 12), 1764);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_STOCKS, "4h", 12), 504);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_STOCKS, "15m", 12), 6552);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_STOCKS, "1m", 12), 98280);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_STOCKS, "1d", 12), 252);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_STOCKS, "3d", 12), 122);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_FOREX, "1h", 12), 6261);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_FOREX, "4h", 12), 1618);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_FOREX, "1d", 12), 261);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_BONDS, "8h", 12), 252);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_INDICES, "1M", 12), 12);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_INDICES, "3M", 12), 4);
    assert_int_equal(ohlcx_expected_bars(OHLCX_ASSET_CRYPTO, "7m", 12), 0);
}


/* Rates chosen for hand arithmetic: 10 bytes a bar, features 1e6 bars/s,
 * window fills 1e4/s, CNN training 1000 samples/s, forward 1e4 samples/s.
 * XGBoost with the CNN columns: setup 1e-5 s a row, each round 0.01 s plus
 * 1e-6 s a row; the baseline half of each. */
static ohlcx_plan_rates fixed_rates(void)
{
    ohlcx_plan_rates rates;

    memset(&rates, 0, sizeof rates);
    rates.store_bytes_per_bar = 10.0;
    rates.feature_bars_per_s = 1e6;
    rates.window_fills_per_s = 1e4;
    rates.cnn_train_samples_per_s = 1000.0;
    rates.cnn_embed_samples_per_s = 1e4;
    rates.xgb_row_rounds_per_s = 1e6;
    rates.xgb[OHLCX_PLAN_XGB_COMBINED] = (ohlcx_plan_xgb_cost){1e-5, 0.01, 1e-6};
    rates.xgb[OHLCX_PLAN_XGB_BASELINE] = (ohlcx_plan_xgb_cost){5e-6, 0.005, 5e-7};
    return rates;
}


static int plan_tiny(ohlcx_plan *plan)
{
    static const char text[] = "name: tiny\n"
                               "months: 12\n"
                               "groups:\n"
                               "  - {asset_class: crypto, timeframes: [1h, 1d],\n"
                               "     symbols: [BTCUSDT, ETHUSDT]}\n"
                               "  - {asset_class: stocks, timeframes: [1h, 1w], symbols: [AAPL]}\n";
    ohlcx_universe universe;
    ohlcx_plan_options options;
    ohlcx_plan_rates rates = fixed_rates();
    int status;

    ohlcx_plan_options_default(&options);
    options.xgb_rounds = 100;
    status = ohlcx_universe_parse(text, sizeof text - 1, "tiny", &universe);
    if (status == 0)
        status = ohlcx_plan_compute(&universe, &options, &rates, plan);
    ohlcx_universe_free(&universe);
    return status;
}


/*
 * Window 64, horizon 1, so a series of n bars has M = n - 65 samples, purge
 * gaps g = 65 and M' = M - 195 to split (dataset.h):
 *   n = 8766 (crypto 1h): M 8701, M' 8506, T 5954, X 2381, V 1275, test 1277,
 *                         cnn_train 3573
 *   n = 365  (crypto 1d): M 300, M' 105, T 73, X 29, V 15, test 17, cnn_train 44
 *   n = 1764 (stocks 1h): M 1699, M' 1504, T 1052, X 420, V 225, test 227,
 *                         cnn_train 632
 *   n = 53   (stocks 1w): too short, no samples. The plan counts 1w on the
 *            calendar from the default start 2024-01-01, a Monday: 2024 has
 *            366 days, so its Mondays are January 1 + 7k for k = 0 to 52.
 */
static void plan_counts_tiny(void **state)
{
    ohlcx_plan plan;

    (void)state;
    assert_int_equal(plan_tiny(&plan), 0);
    assert_int_equal(plan.months, 12);
    assert_int_equal(plan.groups[0].series, 4);
    assert_int_equal(plan.groups[0].bars, 2 * (8766 + 365));
    assert_int_equal(plan.groups[0].samples, 2 * (8701 + 300));
    assert_int_equal(plan.groups[0].part_samples[OHLCX_PART_CNN_TRAIN], 2 * (3573 + 44));
    assert_int_equal(plan.groups[0].part_samples[OHLCX_PART_XGB_TRAIN], 2 * (2381 + 29));
    assert_int_equal(plan.groups[0].part_samples[OHLCX_PART_VALIDATION], 2 * (1275 + 15));
    assert_int_equal(plan.groups[0].part_samples[OHLCX_PART_TEST], 2 * (1277 + 17));
    assert_int_equal(plan.groups[1].series, 2);
    assert_int_equal(plan.groups[1].series_too_short, 1);
    assert_int_equal(plan.groups[1].bars, 1764 + 53);
    assert_int_equal(plan.groups[1].samples, 1699);
    assert_int_equal(plan.total.symbols, 3);
    assert_int_equal(plan.total.series, 6);
    assert_int_equal(plan.total.bars, 18262 + 1817);
    assert_int_equal(plan.total.samples, 18002 + 1699);
    ohlcx_plan_free(&plan);
}


/*
 * fixed_rates(), the default options (at most 20 epochs, patience 3, best
 * epoch 3) and at most 100 XGBoost rounds (30 early-stopping rounds, 20 best
 * rounds). Expected: 3 + 3 = 6 epochs and 20 + 30 = 50 rounds; shortest:
 * 1 + 3 = 4 epochs and 1 + 30 = 31 rounds; longest: 20 epochs, 100 rounds.
 * A training sample-epoch costs 1/1000 + 1/1e4 (fill) = 1.1e-3 s, a forward
 * pass 1/1e4 + 1/1e4 = 2e-4 s. Parts from plan_counts_tiny.
 * Crypto group (2 symbols): cnn_train 7234, xgb_train 4820, validation 2580,
 * test 2588:
 *   store     18262 bars x 10                      = 182620 bytes
 *   features  18262 / 1e6                          = 0.018262 s
 *   cnn_train 6 x (7234 x 1.1e-3 + 2580 x 2e-4) = 6 x 8.4734 = 50.8404 s
 *   embed     (4820 + 2580 + 2588) x 2e-4          = 1.9976 s
 * Stocks group (AAPL 1h; the 1w series adds only bars): cnn_train 632,
 * xgb_train 420, validation 225, test 227:
 *   features  1817 / 1e6 = 0.001817 s
 *   cnn_train 6 x (632 x 1.1e-3 + 225 x 2e-4)     = 6 x 0.7402 = 4.4412 s
 *   embed     (420 + 225 + 227) x 2e-4             = 0.1744 s
 * XGBoost on all 5240 rows, both models together: setup 1.5e-5 s a row,
 * each round 0.015 s + 1.5e-6 s a row:
 *   total     5240 x 1.5e-5 + 50 x (0.015 + 5240 x 1.5e-6) = 0.0786 + 1.143
 *             = 1.2216 s
 *   crypto    4820 x 1.5e-5 + 50 x (0.015 x 4820 / 5240 + 4820 x 1.5e-6)
 *             = 0.0723 + 50 x (0.0137977 + 0.00723) = 1.12244 s
 *   stocks    420 x 1.5e-5 + 50 x (0.015 x 420 / 5240 + 420 x 1.5e-6)
 *             = 0.0063 + 50 x (0.0012023 + 0.00063) = 0.09792 s
 */
static void plan_times_tiny(void **state)
{
    ohlcx_plan plan;
    const ohlcx_plan_times *crypto, *stocks, *total;

    (void)state;
    assert_int_equal(plan_tiny(&plan), 0);
    crypto = &plan.groups[0].seconds[OHLCX_PLAN_EXPECTED];
    stocks = &plan.groups[1].seconds[OHLCX_PLAN_EXPECTED];
    total = &plan.total.seconds[OHLCX_PLAN_EXPECTED];
    assert_int_equal(plan.epochs[OHLCX_PLAN_EXPECTED], 6);
    assert_int_equal(plan.xgb_rounds[OHLCX_PLAN_EXPECTED], 50);
    assert_near(plan.groups[0].store_bytes, 182620.0, TOLERANCE);
    assert_near(crypto->features, 0.018262, TOLERANCE);
    assert_near(crypto->cnn_train, 50.8404, TOLERANCE);
    assert_near(crypto->embed, 1.9976, TOLERANCE);
    assert_near(crypto->xgb_train, 0.0723 + 50 * (0.015 * 4820.0 / 5240 + 0.00723), TOLERANCE);
    assert_near(crypto->total, 0.018262 + 50.8404 + 1.9976 + crypto->xgb_train, TOLERANCE);
    assert_near(stocks->features, 0.001817, TOLERANCE);
    assert_near(stocks->cnn_train, 4.4412, TOLERANCE);
    assert_near(stocks->embed, 0.1744, TOLERANCE);
    assert_near(stocks->xgb_train, 0.0063 + 50 * (0.015 * 420.0 / 5240 + 0.00063), TOLERANCE);
    assert_near(total->xgb_train, 1.2216, TOLERANCE);
    assert_near(plan.total.store_bytes, 200790.0, TOLERANCE);
    assert_near(total->total, crypto->total + stocks->total, TOLERANCE);
    ohlcx_plan_free(&plan);
}


/*
 * The same universe in the shortest and longest cases, with the numbers of
 * plan_times_tiny. Total cnn_train per epoch 8.4734 + 0.7402 = 9.2136 s:
 *   shortest  4 epochs: 36.8544 s; XGBoost 0.0786 + 31 x 0.02286 = 0.78726 s
 *   longest  20 epochs: 184.272 s; XGBoost 0.0786 + 100 x 0.02286 = 2.3646 s
 * Embedding does not depend on the case: 2.172 s.
 */
static void plan_times_cases(void **state)
{
    ohlcx_plan plan;
    const ohlcx_plan_times *shortest, *longest;

    (void)state;
    assert_int_equal(plan_tiny(&plan), 0);
    shortest = &plan.total.seconds[OHLCX_PLAN_SHORTEST];
    longest = &plan.total.seconds[OHLCX_PLAN_LONGEST];
    assert_int_equal(plan.epochs[OHLCX_PLAN_SHORTEST], 4);
    assert_int_equal(plan.epochs[OHLCX_PLAN_LONGEST], 20);
    assert_int_equal(plan.xgb_rounds[OHLCX_PLAN_SHORTEST], 31);
    assert_int_equal(plan.xgb_rounds[OHLCX_PLAN_LONGEST], 100);
    assert_near(shortest->cnn_train, 36.8544, TOLERANCE);
    assert_near(shortest->xgb_train, 0.78726, TOLERANCE);
    assert_near(longest->cnn_train, 184.272, TOLERANCE);
    assert_near(longest->xgb_train, 2.3646, TOLERANCE);
    assert_near(shortest->embed, 2.172, TOLERANCE);
    assert_near(longest->embed, 2.172, TOLERANCE);
    ohlcx_plan_free(&plan);
}


/* A maximum below best + patience caps every case; without early stopping
 * every XGBoost case trains the maximum. */
static void plan_cases_capped(void **state)
{
    ohlcx_universe u;
    ohlcx_plan_options options;
    ohlcx_plan_rates rates = fixed_rates();
    ohlcx_plan plan;

    (void)state;
    assert_int_equal(load_data_file("universe/tiny.yaml", &u), 0);
    ohlcx_plan_options_default(&options);
    options.epochs = 2;
    options.xgb_early_stopping = 0;
    assert_int_equal(ohlcx_plan_compute(&u, &options, &rates, &plan), 0);
    for (int c = 0; c < OHLCX_PLAN_CASES; c++) {
        assert_int_equal(plan.epochs[c], 2);
        assert_int_equal(plan.xgb_rounds[c], options.xgb_rounds);
    }
    ohlcx_plan_free(&plan);

    ohlcx_plan_options_default(&options);
    options.patience = 5;
    options.best_epoch = 10;
    options.xgb_best_rounds = 50;  /* 50 + 30 = 80 rounds */
    assert_int_equal(ohlcx_plan_compute(&u, &options, &rates, &plan), 0);
    assert_int_equal(plan.epochs[OHLCX_PLAN_EXPECTED], 15);
    assert_int_equal(plan.epochs[OHLCX_PLAN_SHORTEST], 6);
    assert_int_equal(plan.xgb_rounds[OHLCX_PLAN_EXPECTED], 80);
    ohlcx_plan_free(&plan);
    ohlcx_universe_free(&u);
}


static void plan_months_override(void **state)
{
    ohlcx_universe u;
    ohlcx_plan_options options;
    ohlcx_plan_rates rates = fixed_rates();
    ohlcx_plan plan;

    (void)state;
    assert_int_equal(load_data_file("universe/tiny.yaml", &u), 0);
    ohlcx_plan_options_default(&options);
    assert_int_equal(ohlcx_plan_compute(&u, &options, &rates, &plan), 0);
    assert_int_equal(plan.months, 2);
    ohlcx_plan_free(&plan);
    options.months = 12;
    assert_int_equal(ohlcx_plan_compute(&u, &options, &rates, &plan), 0);
    /* BTCUSDT and ETHUSDT at 1h and 4h, AAPL at 1d. */
    assert_int_equal(plan.total.bars, 2 * (8766 + 2192) + 252);
    ohlcx_plan_free(&plan);
    ohlcx_universe_free(&u);
}


/* Plans a universe from text with fixed_rates() and the default options. */
static int plan_text(const char *text, ohlcx_plan *plan)
{
    ohlcx_universe universe;
    ohlcx_plan_options options;
    ohlcx_plan_rates rates = fixed_rates();
    int status;

    ohlcx_plan_options_default(&options);
    status = ohlcx_universe_parse(text, strlen(text), "forex", &universe);
    if (status == 0)
        status = ohlcx_plan_compute(&universe, &options, &rates, plan);
    ohlcx_universe_free(&universe);
    return status;
}


/*
 * Forex bars of January 2024 counted by hand, one series per group. The
 * market trades from Sunday 22:00 to Friday 22:00 UTC (New York winter
 * time) and is closed on Monday January 1, so trading runs in five
 * stretches: Monday 1st 22:00 to Friday 5th 22:00, three whole weeks
 * from Sundays 7th, 14th and 21st, and Sunday 28th 22:00 to the range's end
 * on February 1st 00:00. A grid bar exists when it overlaps trading, so the
 * bar that contains 22:00 exists at both ends of a stretch.
 *   4h:  first stretch 1 (Jan 1 20:00) + 3 x 6 + 6 (Jan 5 00:00 to 20:00)
 *        = 25; a whole week 1 + 4 x 6 + 6 = 31; last stretch 1 + 3 x 6 = 19.
 *        25 + 3 x 31 + 19 = 137. The average per day gave 130.
 *   12h: 1 + 3 x 2 + 2 = 9; a week 1 + 4 x 2 + 2 = 11; 1 + 3 x 2 = 7.
 *        9 + 3 x 11 + 7 = 49.
 *   1h:  96 + 3 x 120 + 74 hours = 530.
 */
static void plan_forex_january(void **state)
{
    static const char text[] = "name: forex\n"
                               "start: 2024-01-01\n"
                               "months: 1\n"
                               "groups:\n"
                               "  - {asset_class: forex, timeframes: [4h], symbols: [FOOBAR]}\n"
                               "  - {asset_class: forex, timeframes: [12h], symbols: [FOOBAR]}\n"
                               "  - {asset_class: forex, timeframes: [1h], symbols: [FOOBAR]}\n";
    ohlcx_plan plan;

    (void)state;
    assert_int_equal(plan_text(text, &plan), 0);
    assert_true(plan.start_us == INT64_C(1704067200) * OHLCX_US_PER_SECOND);
    assert_int_equal(plan.groups[0].bars, 137);
    assert_int_equal(plan.groups[1].bars, 49);
    assert_int_equal(plan.groups[2].bars, 530);
    ohlcx_plan_free(&plan);
}


/*
 * Weekly bars open on Mondays at or after the start. 2024 has 366 days and
 * starts on a Monday, so 12 months from January 1 hold the Mondays January
 * 1 + 7k for k = 0 to 52: 53 bars, where 365.25 / 7 gave 52. From Wednesday
 * January 3 the first is January 8, and the range ends on Friday 2025-01-03,
 * after the last Monday, December 30: 52 bars.
 */
static void plan_weeks_by_monday(void **state)
{
    static const char from_monday[] = "name: weeks\n"
                                      "start: 2024-01-01\n"
                                      "months: 12\n"
                                      "groups:\n"
                                      "  - {asset_class: forex, timeframes: [1w], "
                                      "symbols: [EURUSD]}\n"
                                      "  - {asset_class: crypto, timeframes: [1w], "
                                      "symbols: [BTCUSDT]}\n";
    static const char from_wednesday[] = "name: weeks\n"
                                         "start: 2024-01-03\n"
                                         "months: 12\n"
                                         "groups:\n"
                                         "  - {asset_class: forex, timeframes: [1w], "
                                         "symbols: [EURUSD]}\n";
    ohlcx_plan plan;

    (void)state;
    assert_int_equal(plan_text(from_monday, &plan), 0);
    assert_int_equal(plan.groups[0].bars, 53);
    assert_int_equal(plan.groups[1].bars, 53);
    ohlcx_plan_free(&plan);
    assert_int_equal(plan_text(from_wednesday, &plan), 0);
    assert_int_equal(plan.groups[0].bars, 52);
    ohlcx_plan_free(&plan);
}


static void plan_rejects_zero_rate(void **state)
{
    ohlcx_universe u;
    ohlcx_plan_options options;
    ohlcx_plan_rates rates = fixed_rates();
    ohlcx_plan plan;

    (void)state;
    assert_int_equal(load_data_file("universe/tiny.yaml", &u), 0);
    ohlcx_plan_options_default(&options);
    rates.cnn_train_samples_per_s = 0;
    assert_int_equal(ohlcx_plan_compute(&u, &options, &rates, &plan), OHLCX_EINVAL);
    rates = fixed_rates();
    rates.window_fills_per_s = 0;
    assert_int_equal(ohlcx_plan_compute(&u, &options, &rates, &plan), OHLCX_EINVAL);
    rates = fixed_rates();
    rates.xgb[OHLCX_PLAN_XGB_BASELINE].round_s_per_row = NAN;
    assert_int_equal(ohlcx_plan_compute(&u, &options, &rates, &plan), OHLCX_EINVAL);
    /* A round with no fixed part is valid. */
    rates = fixed_rates();
    rates.xgb[OHLCX_PLAN_XGB_BASELINE].round_s = 0;
    assert_int_equal(ohlcx_plan_compute(&u, &options, &rates, &plan), 0);
    ohlcx_plan_free(&plan);
    ohlcx_universe_free(&u);
}


static void calibration_rates_positive(void **state)
{
    ohlcx_plan_options options;
    ohlcx_plan_rates rates;
    int status;

    (void)state;
    ohlcx_plan_options_default(&options);
    options.jobs = 1;
    status = ohlcx_plan_calibrate(&options, &rates);
    if (status != 0)
        print_error("%s\n", ohlcx_last_error());
    assert_int_equal(status, 0);
    /* Six columns of 8 bytes a bar before compression. */
    assert_true(rates.store_bytes_per_bar > 0);
    assert_true(rates.store_bytes_per_bar < 48);
    assert_true(rates.feature_bars_per_s > 0);
    assert_true(rates.cnn_train_samples_per_s > 0);
    assert_true(rates.cnn_embed_samples_per_s > 0);
    assert_true(rates.window_fills_per_s > 0);
    assert_true(rates.xgb_row_rounds_per_s > 0);
    for (int m = 0; m < OHLCX_PLAN_XGB_MODELS; m++) {
        assert_true(rates.xgb[m].setup_s_per_row > 0);
        assert_true(rates.xgb[m].round_s >= 0);
        assert_true(rates.xgb[m].round_s_per_row > 0);
    }
    assert_true(rates.calibration_s > 0);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tiny_file_parses),
        cmocka_unit_test(tiny_groups_are_canonical),
        cmocka_unit_test(optional_keys_may_be_absent),
        cmocka_unit_test(anchors_are_resolved),
        cmocka_unit_test(same_symbol_other_class_or_timeframe),
        cmocka_unit_test(unknown_top_key),
        cmocka_unit_test(unknown_group_key),
        cmocka_unit_test(unknown_asset_class),
        cmocka_unit_test(invalid_timeframe),
        cmocka_unit_test(timeframe_alias_repeated),
        cmocka_unit_test(symbol_repeated_in_group),
        cmocka_unit_test(symbol_repeated_across_groups),
        cmocka_unit_test(empty_symbol_list),
        cmocka_unit_test(empty_symbols_value),
        cmocka_unit_test(empty_timeframe_list),
        cmocka_unit_test(empty_group_list),
        cmocka_unit_test(missing_group_key),
        cmocka_unit_test(missing_name),
        cmocka_unit_test(key_given_twice),
        cmocka_unit_test(symbol_with_slash),
        cmocka_unit_test(symbol_as_mapping),
        cmocka_unit_test(months_out_of_range),
        cmocka_unit_test(tier_not_a_number),
        cmocka_unit_test(start_not_a_date),
        cmocka_unit_test(groups_not_a_list),
        cmocka_unit_test(yaml_syntax_error),
        cmocka_unit_test(second_document),
        cmocka_unit_test(empty_file),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(example_phase1),
        cmocka_unit_test(example_phase2),
        cmocka_unit_test(example_production),
        cmocka_unit_test(example_demo),
        cmocka_unit_test(example_classes_match_names),
        cmocka_unit_test(expected_bars_by_calendar),
        cmocka_unit_test(plan_counts_tiny),
        cmocka_unit_test(plan_times_tiny),
        cmocka_unit_test(plan_times_cases),
        cmocka_unit_test(plan_cases_capped),
        cmocka_unit_test(plan_months_override),
        cmocka_unit_test(plan_forex_january),
        cmocka_unit_test(plan_weeks_by_monday),
        cmocka_unit_test(plan_rejects_zero_rate),
        cmocka_unit_test(calibration_rates_positive),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
