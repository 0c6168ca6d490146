/*
 * Dataset: split boundaries worked out by hand, purge gaps, option checks,
 * the too-short error and labels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "ohlcx/dataset.h"
#include "ohlcx/error.h"


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
 * g = 65. T = 700, X = 280, cnn_train 700 - 65 - 280 = 355 samples, V = 150.
 *   cnn_train  [64, 64 + 355)         = [64, 419)
 *   gap        [419, 484)
 *   xgb_train  [64 + 700 - 280, 764)  = [484, 764)
 *   validation [764 + 65, 764 + 150)  = [829, 914)
 *   test       [914 + 65, 64 + 1000)  = [979, 1064), and 1063 + 1 < n */
static void test_split_hand_defaults(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(ohlcx_split_series(1065, &options, &split), 0);

    assert_part(&split, OHLCX_PART_CNN_TRAIN, 64, 419);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 484, 764);
    assert_part(&split, OHLCX_PART_VALIDATION, 829, 914);
    assert_part(&split, OHLCX_PART_TEST, 979, 1064);
}


/* window 10, horizon 5: first = max(10, 34) = 34, M = 1000 - 5 - 34 = 961,
 * g = 15. T = floor(672.7) = 672, X = floor(268.8) = 268, cnn_train 672 -
 * 15 - 268 = 389, V = floor(144.15) = 144.
 *   cnn_train  [34, 423), xgb_train [34 + 404, 34 + 672) = [438, 706)
 *   validation [706 + 15, 34 + 816) = [721, 850)
 *   test       [850 + 15, 34 + 961) = [865, 995) */
static void test_split_hand_horizon(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    options.window = 10;
    options.horizon = 5;
    assert_int_equal(ohlcx_split_series(1000, &options, &split), 0);

    assert_part(&split, OHLCX_PART_CNN_TRAIN, 34, 423);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 438, 706);
    assert_part(&split, OHLCX_PART_VALIDATION, 721, 850);
    assert_part(&split, OHLCX_PART_TEST, 865, 995);
}


/* n = 715, defaults: M = 650, and 650 * 0.7 is 454.99999999999994 in binary
 * floating point but T must be 455. X = 182, cnn_train 455 - 65 - 182 = 208,
 * V = floor(97.5) = 97.
 *   cnn_train [64, 272), xgb_train [64 + 273, 64 + 455) = [337, 519),
 *   validation [519 + 65, 64 + 552) = [584, 616),
 *   test [616 + 65, 64 + 650) = [681, 714) */
static void test_split_decimal_fraction(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(ohlcx_split_series(715, &options, &split), 0);

    assert_part(&split, OHLCX_PART_CNN_TRAIN, 64, 272);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 337, 519);
    assert_part(&split, OHLCX_PART_VALIDATION, 584, 616);
    assert_part(&split, OHLCX_PART_TEST, 681, 714);
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


/* Defaults need M >= 440: V = floor(0.15 M) must reach g + 1 = 66. At M =
 * 440 (n = 440 + 64 + 1 = 505): T = 308, X = 123, cnn_train 308 - 65 - 123
 * = 120, V = 66, test span 66, so validation and test hold one sample each.
 *   cnn_train [64, 184), xgb_train [249, 372), validation [437, 438),
 *   test [503, 504) */
static void test_split_minimum(void **state)
{
    ohlcx_split_options options;
    ohlcx_split split;

    (void)state;
    ohlcx_split_options_default(&options);
    assert_int_equal(ohlcx_split_series(505, &options, &split), 0);
    assert_part(&split, OHLCX_PART_CNN_TRAIN, 64, 184);
    assert_part(&split, OHLCX_PART_XGB_TRAIN, 249, 372);
    assert_part(&split, OHLCX_PART_VALIDATION, 437, 438);
    assert_part(&split, OHLCX_PART_TEST, 503, 504);

    assert_int_equal(ohlcx_split_series(504, &options, &split), OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "504 bars"));
    assert_non_null(strstr(ohlcx_last_error(), "at least 505 bars"));
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
    assert_non_null(strstr(ohlcx_last_error(), "at least 505 bars"));
}


/* window 5, horizon 1 (first 34, g = 6), train 0.4, val 0.4, stack 0.2.
 * The test span M - 2 floor(0.4 M) must reach 7, and it is 7 at M = 29,
 * 6 at M = 30 (both floors step from 11 to 12), then 7, 8, 7, 8 at M = 31..34
 * and at least 0.2 M >= 7 from M = 35 on. At M = 29 the rest fits: T = 11,
 * X = 2, cnn_train 3, validation 5. So n = 29 + 35 = 64 fits, n = 65 does
 * not, and the minimum that the error names is 66, from which all n fit. */
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

    assert_int_equal(ohlcx_split_series(63, &options, &split), OHLCX_EDATA);
    assert_int_equal(ohlcx_split_series(64, &options, &split), 0);
    assert_int_equal(ohlcx_split_series(65, &options, &split), OHLCX_EDATA);
    assert_non_null(strstr(ohlcx_last_error(), "at least 66 bars"));
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


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_defaults),
        cmocka_unit_test(test_split_hand_defaults),
        cmocka_unit_test(test_split_hand_horizon),
        cmocka_unit_test(test_split_decimal_fraction),
        cmocka_unit_test(test_split_gaps),
        cmocka_unit_test(test_split_minimum),
        cmocka_unit_test(test_split_too_short),
        cmocka_unit_test(test_split_minimum_is_threshold),
        cmocka_unit_test(test_split_invalid_options),
        cmocka_unit_test(test_label_hand),
        cmocka_unit_test(test_part_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
