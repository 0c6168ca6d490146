/*
 * Dataset: split boundaries worked out by hand, purge gaps, option checks,
 * the too-short error, labels, and the samples that a long data gap
 * excludes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/dataset.h"
#include "ohlcx/error.h"
#include "pipeline/internal.h"


static void assert_part(const ohlcx_split *split, int part, size_t begin, size_t end)
{
    assert_int_equal(split->begin[part], begin);
    assert_int_equal(split->end[part], end);
}


static void test_split_defaults(void **state)
{
    ohlcx_split_options options;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(options.window, 64);
    assert_int_equal(options.horizon, 1);
    assert_true(options.train_fraction == 0.70);
    assert_true(options.val_fraction == 0.15);
    assert_true(options.stack_fraction == 0.40);
}


/* n = 1065, defaults: first = max(64, 34) = 64, M = 1065 - 1 - 64 = 1000,
 * g = 65, M' = 1000 - 3 * 65 = 805. T = floor(563.5) = 563, X = floor(225.2)
 * = 225, cnn_train 563 - 225 = 338, V = floor(120.75) = 120, test 805 - 563
 * - 120 = 122.
 *   cnn_train  [64, 64 + 338)                 = [64, 402)
 *   xgb_train  [64 + 338 + 65, 64 + 563 + 65) = [467, 692)
 *   validation [64 + 563 + 130, 757 + 120)    = [757, 877)
 *   test       [64 + 563 + 120 + 195, 64 + 1000) = [942, 1064), and
 *              1063 + 1 < n */
static void test_split_hand_defaults(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(ohlcx_split_series(1065, &options, &split), 0);

    assert_part(&split, OHLCX_PART_CNN_TRAIN, 64, 402);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 467, 692);
    assert_part(&split, OHLCX_PART_VALIDATION, 757, 877);
    assert_part(&split, OHLCX_PART_TEST, 942, 1064);
}


/* n = 435, defaults, about 1.7 years of daily stock bars: M = 435 - 1 - 64 =
 * 370, M' = 370 - 195 = 175. T = floor(122.5) = 122, X = floor(48.8) = 48,
 * cnn_train 122 - 48 = 74, V = floor(26.25) = 26, test 175 - 122 - 26 = 27.
 *   cnn_train  [64, 64 + 74)                 = [64, 138)
 *   xgb_train  [64 + 74 + 65, 64 + 122 + 65) = [203, 251)
 *   validation [64 + 122 + 130, 316 + 26)    = [316, 342)
 *   test       [64 + 122 + 26 + 195, 64 + 370) = [407, 434) */
static void test_split_hand_short_series(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(ohlcx_split_series(435, &options, &split), 0);

    assert_part(&split, OHLCX_PART_CNN_TRAIN, 64, 138);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 203, 251);
    assert_part(&split, OHLCX_PART_VALIDATION, 316, 342);
    assert_part(&split, OHLCX_PART_TEST, 407, 434);
}


/* window 10, horizon 5: first = max(10, 34) = 34, M = 1000 - 5 - 34 = 961,
 * g = 15, M' = 961 - 45 = 916. T = floor(641.2) = 641, X = floor(256.4) =
 * 256, cnn_train 641 - 256 = 385, V = floor(137.4) = 137, test 916 - 641 -
 * 137 = 138.
 *   cnn_train  [34, 34 + 385)                = [34, 419)
 *   xgb_train  [34 + 385 + 15, 34 + 641 + 15) = [434, 690)
 *   validation [34 + 641 + 30, 705 + 137)    = [705, 842)
 *   test       [34 + 641 + 137 + 45, 34 + 961) = [857, 995), and 995 = n - 5 */
static void test_split_hand_horizon(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    options.window = 10;
    options.horizon = 5;
    assert_int_equal(ohlcx_split_series(1000, &options, &split), 0);

    assert_part(&split, OHLCX_PART_CNN_TRAIN, 34, 419);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 434, 690);
    assert_part(&split, OHLCX_PART_VALIDATION, 705, 842);
    assert_part(&split, OHLCX_PART_TEST, 857, 995);
}


/* n = 910, defaults: M = 845, M' = 845 - 195 = 650, and 650 * 0.7 is
 * 454.99999999999994 in binary floating point but T must be 455, which ends
 * xgb_train at 64 + 455 + 65 = 584 rather than 583. X = floor(182.0) = 182,
 * cnn_train 455 - 182 = 273, V = floor(97.5) = 97, test 650 - 455 - 97 = 98.
 *   cnn_train [64, 337), xgb_train [64 + 338, 584) = [402, 584),
 *   validation [64 + 455 + 130, 649 + 97) = [649, 746),
 *   test [64 + 455 + 97 + 195, 64 + 845) = [811, 909) */
static void test_split_decimal_fraction(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(ohlcx_split_series(910, &options, &split), 0);

    assert_part(&split, OHLCX_PART_CNN_TRAIN, 64, 337);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 402, 584);
    assert_part(&split, OHLCX_PART_VALIDATION, 649, 746);
    assert_part(&split, OHLCX_PART_TEST, 811, 909);
}


/* Every gap between consecutive parts is exactly window + horizon samples,
 * and the last sample keeps its label inside the series. */
static void test_split_gaps(void **state)
{
    static const int windows[] = {8, 34, 64, 200};
    static const int horizons[] = {1, 3, 12};
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        for (size_t h = 0; h < sizeof horizons / sizeof horizons[0]; h++) {
            size_t gap = (size_t)(windows[w] + horizons[h]);

            options.window = windows[w];
            options.horizon = horizons[h];
            assert_int_equal(ohlcx_split_series(5000, &options, &split), 0);
            for (int p = 1; p < OHLCX_PART_COUNT; p++)
                assert_int_equal(split.begin[p] - split.end[p - 1], gap);
            assert_int_equal(split.end[OHLCX_PART_TEST], 5000 - (size_t)horizons[h]);
        }
    }
}


/* Defaults need M' >= 7: V = floor(0.15 M') reaches 1 at M' = 7, and the
 * other parts are non-empty by then. At M' = 7 (M = 7 + 195 = 202, n = 202 +
 * 64 + 1 = 267): T = floor(4.9) = 4, X = floor(1.6) = 1, cnn_train 3, V =
 * floor(1.05) = 1, test 7 - 4 - 1 = 2. At M' = 6 (n = 266) V = floor(0.9) =
 * 0. Above M' = 7 no part shrinks below one sample: T, X, cnn_train and V
 * never decrease, and the test part never falls more than 2e-9 below
 * 0.15 M' >= 1.05.
 *   cnn_train [64, 67), xgb_train [64 + 3 + 65, 64 + 4 + 65) = [132, 133),
 *   validation [64 + 4 + 130, 199) = [198, 199),
 *   test [64 + 4 + 1 + 195, 64 + 202) = [264, 266) */
static void test_split_minimum(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(ohlcx_split_series(267, &options, &split), 0);
    assert_part(&split, OHLCX_PART_CNN_TRAIN, 64, 67);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 132, 133);
    assert_part(&split, OHLCX_PART_VALIDATION, 198, 199);
    assert_part(&split, OHLCX_PART_TEST, 264, 266);

    assert_int_equal(ohlcx_split_series(266, &options, &split), OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "266 bars"));
    assert_non_null(strstr(ohlcx_last_error(), "at least 267 bars"));
}


static void test_split_too_short(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(ohlcx_split_series(0, &options, &split), OHLCX_EDATA);
    assert_int_equal(ohlcx_split_series(65, &options, &split), OHLCX_EDATA);
    assert_int_equal(ohlcx_split_series(200, &options, &split), OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "at least 267 bars"));
}


/* window 5, horizon 1 (first 34, g = 6, 3g = 18), train 0.4, val 0.4, stack
 * 0.2. X = floor(0.2 T) reaches 1 at T = 5, and T = floor(0.4 M') reaches 5
 * at M' = 13 (T = floor(4.8) = 4 at M' = 12). At M' = 13: T = floor(5.2) =
 * 5, X = 1, cnn_train 4, V = 5, test 13 - 10 = 3. So n = 13 + 18 + 34 + 1 =
 * 66 is the minimum and n = 65 fails. At n = 66 (M = 31):
 *   cnn_train [34, 38), xgb_train [34 + 4 + 6, 34 + 5 + 6) = [44, 45),
 *   validation [34 + 5 + 12, 51 + 5) = [51, 56),
 *   test [34 + 5 + 5 + 18, 34 + 31) = [62, 65)
 * The test part M' - 2 floor(0.4 M') then goes 3, 4, 3 at M' = 13, 14, 15
 * (n = 66, 67, 68), so every n up to 399 is checked. It never falls more than
 * 2e-9 below 0.2 M' >= 2.6, so it keeps at least 3 samples. */
static void test_split_minimum_is_threshold(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    options.window = 5;
    options.train_fraction = 0.4;
    options.val_fraction = 0.4;
    options.stack_fraction = 0.2;

    assert_int_equal(ohlcx_split_series(65, &options, &split), OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "at least 66 bars"));
    assert_int_equal(ohlcx_split_series(66, &options, &split), 0);
    assert_part(&split, OHLCX_PART_CNN_TRAIN, 34, 38);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 44, 45);
    assert_part(&split, OHLCX_PART_VALIDATION, 51, 56);
    assert_part(&split, OHLCX_PART_TEST, 62, 65);
    for (size_t n = 66; n < 400; n++)
        assert_int_equal(ohlcx_split_series(n, &options, &split), 0);
}


static void test_split_invalid_options(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    options.window = 0;
    assert_int_equal(ohlcx_split_series(5000, &options, &split), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "window 0"));

    ohlcx_split_options_default(&options);
    options.horizon = -2;
    assert_int_equal(ohlcx_split_series(5000, &options, &split), OHLCX_EINVAL);

    ohlcx_split_options_default(&options);
    options.train_fraction = 1.0;
    assert_int_equal(ohlcx_split_series(5000, &options, &split), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "train_fraction 1"));

    ohlcx_split_options_default(&options);
    options.val_fraction = NAN;
    assert_int_equal(ohlcx_split_series(5000, &options, &split), OHLCX_EINVAL);

    ohlcx_split_options_default(&options);
    options.stack_fraction = 0;
    assert_int_equal(ohlcx_split_series(5000, &options, &split), OHLCX_EINVAL);

    ohlcx_split_options_default(&options);
    options.train_fraction = 0.8;
    options.val_fraction = 0.2;
    assert_int_equal(ohlcx_split_series(5000, &options, &split), OHLCX_EINVAL);
}


/* close: 100, 101, 101, 99, 100 */
static void test_label_hand(void **state)
{
    static const double closes[] = {100, 101, 101, 99, 100};
    ohlcx_series series;

    (void)state;
    ohlcx_series_init(&series);
    for (int t = 0; t < 5; t++)
        assert_int_equal(ohlcx_series_append(&series, t, closes[t], closes[t], closes[t],
                                             closes[t], 1),
                         0);

    assert_int_equal(ohlcx_label(&series, 0, 1), 1); /* 101 > 100 */
    assert_int_equal(ohlcx_label(&series, 1, 1), 0); /* 101 = 101 */
    assert_int_equal(ohlcx_label(&series, 2, 1), 0); /* 99 < 101 */
    assert_int_equal(ohlcx_label(&series, 3, 1), 1); /* 100 > 99 */
    assert_int_equal(ohlcx_label(&series, 0, 2), 1); /* 101 > 100 */
    assert_int_equal(ohlcx_label(&series, 2, 2), 0); /* 100 < 101 */
    assert_int_equal(ohlcx_label(&series, 4, 1), OHLCX_EINVAL);
    assert_int_equal(ohlcx_label(&series, 1, 4), OHLCX_EINVAL);
    assert_int_equal(ohlcx_label(&series, 0, 0), OHLCX_EINVAL);
    ohlcx_series_free(&series);
}


/* Counts the samples t in [0, n) that cross one of the gaps. */
static size_t count_crossing(size_t n, int window, int horizon, const size_t *rows,
                             size_t count)
{
    size_t crossing = 0;

    for (size_t t = 0; t < n; t++)
        crossing += (size_t)ohlcx_sample_crosses_gap(t, window, horizon, rows, count);
    return crossing;
}


/* A gap before row 10 lies between bars 9 and 10. With window 3 and horizon
 * 2, sample t reads bars t-3..t+2, so t = 8..12 cross it: t = 8 through its
 * label (bars 9, 10), t = 12 through the close of bar 9 that scales its
 * first window bar 10. */
static void test_gap_rule_hand(void **state)
{
    static const size_t rows[] = {10};

    (void)state;
    assert_int_equal(ohlcx_sample_crosses_gap(7, 3, 2, rows, 1), 0);
    assert_int_equal(ohlcx_sample_crosses_gap(8, 3, 2, rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(9, 3, 2, rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(10, 3, 2, rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(12, 3, 2, rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(13, 3, 2, rows, 1), 0);
    assert_int_equal(count_crossing(40, 3, 2, rows, 1), 5); /* window + horizon */
}


/* Gaps before rows 10 and 20, window 4, horizon 1: t = 9..13 and 19..23.
 * Gaps before rows 10 and 12, window 3, horizon 1: t = 9..12 and 11..14
 * overlap in 9..14. */
static void test_gap_rule_several(void **state)
{
    static const size_t apart[] = {10, 20};
    static const size_t close_together[] = {10, 12};

    (void)state;
    assert_int_equal(ohlcx_sample_crosses_gap(14, 4, 1, apart, 2), 0);
    assert_int_equal(ohlcx_sample_crosses_gap(18, 4, 1, apart, 2), 0);
    assert_int_equal(ohlcx_sample_crosses_gap(19, 4, 1, apart, 2), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(23, 4, 1, apart, 2), 1);
    assert_int_equal(count_crossing(40, 4, 1, apart, 2), 10);
    assert_int_equal(count_crossing(40, 3, 1, close_together, 2), 6);
    assert_int_equal(ohlcx_sample_crosses_gap(14, 3, 1, close_together, 2), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(15, 3, 1, close_together, 2), 0);
}


/* Near the start the window reaches below row 0. Horizon 0 (no label yet)
 * crosses only through the window. An empty gap list excludes nothing. */
static void test_gap_rule_edges(void **state)
{
    static const size_t rows[] = {2};

    (void)state;
    assert_int_equal(ohlcx_sample_crosses_gap(0, 5, 1, rows, 1), 0);
    assert_int_equal(ohlcx_sample_crosses_gap(1, 5, 1, rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(1, 5, 0, rows, 1), 0);
    assert_int_equal(ohlcx_sample_crosses_gap(2, 5, 0, rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(6, 5, 0, rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(7, 5, 0, rows, 1), 0);
    assert_int_equal(count_crossing(40, 5, 1, NULL, 0), 0);
}


/* BTCUSDT 1m bars at minutes 0..29 except 5-6 (a 2-bar gap) and 15-19 (a
 * 5-bar gap). Loading fills the first, so minutes 0..14 are rows 0..14 and
 * minute 20 is row 15, the row after the long gap. With window 3 and
 * horizon 1 the samples t = 14..17 cross it, and none crosses the filled
 * gap. */
static void test_gap_repair_tiny_series(void **state)
{
    pipeline_series series;
    const int64_t minute = 60 * 1000000LL, start = 1704067200LL * 1000000;

    (void)state;
    memset(&series, 0, sizeof series);
    ohlcx_series_init(&series.bars);
    snprintf(series.bars.symbol, sizeof series.bars.symbol, "BTCUSDT");
    snprintf(series.bars.timeframe, sizeof series.bars.timeframe, "1m");
    series.bars.asset_class = OHLCX_ASSET_CRYPTO;
    for (int k = 0; k < 30; k++) {
        double price = 100 + k % 3;

        if (k == 5 || k == 6 || (k >= 15 && k <= 19))
            continue;
        assert_int_equal(ohlcx_series_append(&series.bars, start + k * minute, price, price + 1,
                                             price - 1, price, 10),
                         0);
    }
    assert_int_equal(series.bars.n, 23);

    assert_int_equal(pipeline_repair_gaps(&series), 0);
    assert_int_equal(series.bars.n, 25);
    assert_int_equal(series.bars_filled, 2);
    assert_int_equal(series.short_gaps, 1);
    assert_int_equal(series.long_gaps, 1);
    assert_int_equal(series.long_gap_bars, 5);
    assert_int_equal(series.long_gap_rows[0], 15);
    assert_true(series.bars.flags[5] & OHLCX_FLAG_SYNTHETIC);
    assert_true(series.bars.open_time[15] == start + 20 * minute);
    assert_int_equal(count_crossing(series.bars.n, 3, 1, series.long_gap_rows, series.long_gaps),
                     4);
    assert_int_equal(ohlcx_sample_crosses_gap(13, 3, 1, series.long_gap_rows, 1), 0);
    assert_int_equal(ohlcx_sample_crosses_gap(14, 3, 1, series.long_gap_rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(17, 3, 1, series.long_gap_rows, 1), 1);
    assert_int_equal(ohlcx_sample_crosses_gap(18, 3, 1, series.long_gap_rows, 1), 0);
    free(series.long_gap_rows);
    ohlcx_series_free(&series.bars);
}


static void test_part_names(void **state)
{
    (void)state;
    assert_string_equal(ohlcx_part_name(OHLCX_PART_CNN_TRAIN), "cnn_train");
    assert_string_equal(ohlcx_part_name(OHLCX_PART_XGB_TRAIN), "xgb_train");
    assert_string_equal(ohlcx_part_name(OHLCX_PART_VALIDATION), "validation");
    assert_string_equal(ohlcx_part_name(OHLCX_PART_TEST), "test");
    assert_string_equal(ohlcx_part_name(OHLCX_PART_NONE), "gap");
    assert_string_equal(ohlcx_part_name(OHLCX_PART_COUNT), "unknown");
}


/* The walk-forward example of dataset.h: window 10, horizon 1 (first 34,
 * g 11), P 100, Q 20, R 20. Fold k tests [145 + 20k, 165 + 20k) while that
 * ends within first + M = n - 1, so n 225 (M 190) has 3 folds and n 226
 * has 4. */
static void walk_options(ohlcx_split_options *options, ohlcx_walk_forward_options *walk)
{
    ohlcx_split_options_default(options);
    options->window = 10;
    options->horizon = 1;
    memset(walk, 0, sizeof *walk);
    walk->train_period = 100;
    walk->test_period = 20;
}


static void test_walk_forward_count(void **state)
{
    ohlcx_split_options options;
    ohlcx_walk_forward_options walk;
    size_t count = 99;

    (void)state;
    walk_options(&options, &walk);
    assert_int_equal(ohlcx_walk_forward_count(225, &options, &walk, &count), 0);
    assert_int_equal(count, 3);
    assert_int_equal(ohlcx_walk_forward_count(226, &options, &walk, &count), 0);
    assert_int_equal(count, 4);
    /* P + g + Q = 131 samples, n = 34 + 1 + 130 is one short. */
    assert_int_equal(ohlcx_walk_forward_count(165, &options, &walk, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(ohlcx_walk_forward_count(166, &options, &walk, &count), 0);
    assert_int_equal(count, 1);
    walk.retrain_every = 30;
    assert_int_equal(ohlcx_walk_forward_count(226, &options, &walk, &count), 0);
    assert_int_equal(count, 3);
}


/* Sliding: training range [test begin - 111, test begin - 11) of 100
 * samples, outside the gaps 78, V = floor(78 * 0.15 / 0.85) = 13, T = 65,
 * X = floor(26.0) = 26, cnn_train 39. */
static void test_walk_forward_sliding_hand(void **state)
{
    ohlcx_split_options options;
    ohlcx_walk_forward_options walk;
    ohlcx_split split;

    (void)state;
    walk_options(&options, &walk);
    assert_int_equal(ohlcx_walk_forward_fold(225, &options, &walk, 0, &split), 0);
    assert_part(&split, OHLCX_PART_CNN_TRAIN, 34, 73);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 84, 110);
    assert_part(&split, OHLCX_PART_VALIDATION, 121, 134);
    assert_part(&split, OHLCX_PART_TEST, 145, 165);

    assert_int_equal(ohlcx_walk_forward_fold(225, &options, &walk, 1, &split), 0);
    assert_part(&split, OHLCX_PART_CNN_TRAIN, 54, 93);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 104, 130);
    assert_part(&split, OHLCX_PART_VALIDATION, 141, 154);
    assert_part(&split, OHLCX_PART_TEST, 165, 185);

    /* The last training sample, 173, reads its label at bar 174, one bar
     * before the first bar that the first test window reads, 185 - 10. */
    assert_int_equal(ohlcx_walk_forward_fold(225, &options, &walk, 2, &split), 0);
    assert_part(&split, OHLCX_PART_VALIDATION, 161, 174);
    assert_part(&split, OHLCX_PART_TEST, 185, 205);
}


/* Expanding, fold 2: training range [34, 174) of 140 samples, outside the
 * gaps 118, V = floor(20.82) = 20, T = 98, X = floor(39.2) = 39, cnn_train
 * 59. */
static void test_walk_forward_expanding_hand(void **state)
{
    ohlcx_split_options options;
    ohlcx_walk_forward_options walk;
    ohlcx_split split;

    (void)state;
    walk_options(&options, &walk);
    walk.expanding = 1;
    assert_int_equal(ohlcx_walk_forward_fold(225, &options, &walk, 2, &split), 0);
    assert_part(&split, OHLCX_PART_CNN_TRAIN, 34, 93);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 104, 143);
    assert_part(&split, OHLCX_PART_VALIDATION, 154, 174);
    assert_part(&split, OHLCX_PART_TEST, 185, 205);

    /* Fold 0 is the same as without expanding. */
    assert_int_equal(ohlcx_walk_forward_fold(225, &options, &walk, 0, &split), 0);
    assert_part(&split, OHLCX_PART_CNN_TRAIN, 34, 73);
    assert_part(&split, OHLCX_PART_VALIDATION, 121, 134);
}


/* Test periods end at 165, 185, 205, ...; embargo 5 leaves out [165, 170)
 * from fold 1 on and [185, 190) from fold 2 on. */
static void test_walk_forward_embargo_hand(void **state)
{
    ohlcx_split_options options;
    ohlcx_walk_forward_options walk;

    (void)state;
    walk_options(&options, &walk);
    walk.embargo = 5;
    assert_int_equal(ohlcx_walk_forward_embargoed(165, &options, &walk, 0), 0);
    assert_int_equal(ohlcx_walk_forward_embargoed(164, &options, &walk, 2), 0);
    assert_int_equal(ohlcx_walk_forward_embargoed(165, &options, &walk, 2), 1);
    assert_int_equal(ohlcx_walk_forward_embargoed(169, &options, &walk, 2), 1);
    assert_int_equal(ohlcx_walk_forward_embargoed(170, &options, &walk, 2), 0);
    assert_int_equal(ohlcx_walk_forward_embargoed(165, &options, &walk, 1), 1);
    assert_int_equal(ohlcx_walk_forward_embargoed(185, &options, &walk, 1), 0);
    assert_int_equal(ohlcx_walk_forward_embargoed(185, &options, &walk, 2), 1);
    assert_int_equal(ohlcx_walk_forward_embargoed(190, &options, &walk, 2), 0);
    assert_int_equal(ohlcx_walk_forward_embargoed(166, &options, &walk, 3), 1);
    assert_int_equal(ohlcx_walk_forward_embargoed(30, &options, &walk, 3), 0);

    /* R 30 and embargo 15: test periods end at 165 and 195. */
    walk.retrain_every = 30;
    walk.embargo = 15;
    assert_int_equal(ohlcx_walk_forward_embargoed(179, &options, &walk, 3), 1);
    assert_int_equal(ohlcx_walk_forward_embargoed(180, &options, &walk, 3), 0);
    assert_int_equal(ohlcx_walk_forward_embargoed(194, &options, &walk, 3), 0);
    assert_int_equal(ohlcx_walk_forward_embargoed(195, &options, &walk, 3), 1);
    assert_int_equal(ohlcx_walk_forward_embargoed(209, &options, &walk, 3), 1);
    assert_int_equal(ohlcx_walk_forward_embargoed(210, &options, &walk, 3), 0);

    walk.embargo = 0;
    assert_int_equal(ohlcx_walk_forward_embargoed(165, &options, &walk, 3), 0);
}


static void test_walk_forward_invalid(void **state)
{
    ohlcx_split_options options;
    ohlcx_walk_forward_options walk;
    ohlcx_split split;
    size_t count = 0;

    (void)state;
    walk_options(&options, &walk);
    walk.retrain_every = 19;
    assert_int_equal(ohlcx_walk_forward_count(225, &options, &walk, &count), OHLCX_EINVAL);
    walk_options(&options, &walk);
    walk.train_period = 0;
    assert_int_equal(ohlcx_walk_forward_count(225, &options, &walk, &count), OHLCX_EINVAL);
    walk_options(&options, &walk);
    walk.test_period = 0;
    assert_int_equal(ohlcx_walk_forward_count(225, &options, &walk, &count), OHLCX_EINVAL);
    walk_options(&options, &walk);
    walk.embargo = -1;
    assert_int_equal(ohlcx_walk_forward_count(225, &options, &walk, &count), OHLCX_EINVAL);

    walk_options(&options, &walk);
    assert_int_equal(ohlcx_walk_forward_fold(225, &options, &walk, 3, &split), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "has 3 folds"));

    /* P 24 leaves 2 samples outside the gaps and none for validation; P 30
     * leaves 8: validation 1, xgb_train 2, cnn_train 5. */
    walk.train_period = 24;
    assert_int_equal(ohlcx_walk_forward_fold(225, &options, &walk, 0, &split), OHLCX_EDATA);
    walk.train_period = 30;
    assert_int_equal(ohlcx_walk_forward_fold(225, &options, &walk, 0, &split), 0);
    assert_part(&split, OHLCX_PART_CNN_TRAIN, 34, 39);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 50, 52);
    assert_part(&split, OHLCX_PART_VALIDATION, 63, 64);
    assert_part(&split, OHLCX_PART_TEST, 75, 95);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_defaults),
        cmocka_unit_test(test_split_hand_defaults),
        cmocka_unit_test(test_split_hand_short_series),
        cmocka_unit_test(test_split_hand_horizon),
        cmocka_unit_test(test_split_decimal_fraction),
        cmocka_unit_test(test_split_gaps),
        cmocka_unit_test(test_split_minimum),
        cmocka_unit_test(test_split_too_short),
        cmocka_unit_test(test_split_minimum_is_threshold),
        cmocka_unit_test(test_split_invalid_options),
        cmocka_unit_test(test_label_hand),
        cmocka_unit_test(test_gap_rule_hand),
        cmocka_unit_test(test_gap_rule_several),
        cmocka_unit_test(test_gap_rule_edges),
        cmocka_unit_test(test_gap_repair_tiny_series),
        cmocka_unit_test(test_part_names),
        cmocka_unit_test(test_walk_forward_count),
        cmocka_unit_test(test_walk_forward_sliding_hand),
        cmocka_unit_test(test_walk_forward_expanding_hand),
        cmocka_unit_test(test_walk_forward_embargo_hand),
        cmocka_unit_test(test_walk_forward_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
