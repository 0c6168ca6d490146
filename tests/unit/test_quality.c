/*
 * Tests of ohlcx_validate_basic(): sorting, duplicates, conflicts and every
 * drop reason, each on a few hand-made bars whose expected survivors are
 * listed next to the input.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ohlcx/error.h"
#include "ohlcx/quality.h"
#include "ohlcx/series.h"

#define HOUR OHLCX_US_PER_HOUR

typedef struct bar {
    int64_t open_time;
    double open, high, low, close, volume;
} bar;


static void load_bars(ohlcx_series *s, const bar *bars, size_t n)
{
    ohlcx_series_init(s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ohlcx_series_append(s, bars[i].open_time, bars[i].open, bars[i].high,
                                             bars[i].low, bars[i].close, bars[i].volume),
                         0);
}


static void validate_clean_series(void **state)
{
    static const bar bars[] = {
        {0 * HOUR, 10, 12, 9, 11, 100},
        {1 * HOUR, 11, 11, 11, 11, 0}, /* flat bar with zero volume is valid */
        {2 * HOUR, 11, 13, 10, 10, 50},
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 3);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.rows_in, 3);
    assert_int_equal(v.rows_out, 3);
    assert_int_equal(s.n, 3);
    assert_int_equal(v.was_unsorted, 0);
    assert_int_equal(ohlcx_validation_dropped(&v), 0);
    ohlcx_series_free(&s);
}


static void validate_sorts_rows(void **state)
{
    static const bar bars[] = {
        {3 * HOUR, 30, 31, 29, 30.5, 3},
        {1 * HOUR, 10, 11, 9, 10.5, 1},
        {2 * HOUR, 20, 21, 19, 20.5, 2},
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 3);
    s.flags[0] = OHLCX_FLAG_PARTIAL; /* flags travel with their row */
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.was_unsorted, 1);
    assert_int_equal(v.rows_out, 3);
    assert_int_equal(s.open_time[0], 1 * HOUR);
    assert_int_equal(s.open_time[1], 2 * HOUR);
    assert_int_equal(s.open_time[2], 3 * HOUR);
    assert_true(s.open[0] == 10);
    assert_true(s.high[1] == 21);
    assert_true(s.low[2] == 29);
    assert_true(s.close[0] == 10.5);
    assert_true(s.volume[2] == 3);
    assert_int_equal(s.flags[2], OHLCX_FLAG_PARTIAL);
    assert_int_equal(s.flags[0], 0);
    ohlcx_series_free(&s);
}


static void validate_exact_duplicate(void **state)
{
    static const bar bars[] = {
        {0 * HOUR, 10, 12, 9, 11, 100},
        {1 * HOUR, 11, 12, 10, 11, 100},
        {1 * HOUR, 11, 12, 10, 11, 100}, /* copy of the row above */
        {2 * HOUR, 11, 12, 10, 11, 100},
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 4);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.dropped[OHLCX_DROP_DUPLICATE], 1);
    assert_int_equal(v.dropped[OHLCX_DROP_CONFLICT], 0);
    assert_int_equal(v.rows_out, 3);
    assert_int_equal(s.open_time[1], 1 * HOUR);
    assert_int_equal(s.open_time[2], 2 * HOUR);
    ohlcx_series_free(&s);
}


static void validate_conflict_keeps_first(void **state)
{
    /* After a stable sort: 1h, 2h (close 21, file row 0), 2h (close 22),
     * 2h (close 21 again). The first 2h row stays; the second conflicts with
     * it and the third duplicates it. */
    static const bar bars[] = {
        {2 * HOUR, 20, 23, 19, 21, 5},
        {1 * HOUR, 10, 11, 9, 10, 5},
        {2 * HOUR, 20, 23, 19, 22, 5},
        {2 * HOUR, 20, 23, 19, 21, 5},
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 4);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.was_unsorted, 1);
    assert_int_equal(v.dropped[OHLCX_DROP_CONFLICT], 1);
    assert_int_equal(v.dropped[OHLCX_DROP_DUPLICATE], 1);
    assert_int_equal(v.rows_out, 2);
    assert_int_equal(s.open_time[1], 2 * HOUR);
    assert_true(s.close[1] == 21);
    ohlcx_series_free(&s);
}


static void validate_nonpositive_price(void **state)
{
    static const bar bars[] = {
        {0 * HOUR, 0, 12, 9, 11, 1},          /* open 0 */
        {1 * HOUR, 10, 12, -1, 11, 1},        /* low below 0 */
        {2 * HOUR, 10, 12, 9, NAN, 1},        /* close NaN */
        {3 * HOUR, 10, INFINITY, 9, 11, 1},   /* high infinite */
        {4 * HOUR, 10, 12, 9, 11, 1},         /* valid */
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 5);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.dropped[OHLCX_DROP_NONPOSITIVE_PRICE], 4);
    assert_int_equal(ohlcx_validation_dropped(&v), 4);
    assert_int_equal(v.rows_out, 1);
    assert_int_equal(s.open_time[0], 4 * HOUR);
    ohlcx_series_free(&s);
}


static void validate_high_below_low(void **state)
{
    static const bar bars[] = {
        {0 * HOUR, 10, 9, 10, 10, 1}, /* high 9 < low 10 */
        {1 * HOUR, 10, 10, 10, 10, 1},
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 2);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.dropped[OHLCX_DROP_HIGH_BELOW_LOW], 1);
    assert_int_equal(ohlcx_validation_dropped(&v), 1);
    assert_int_equal(s.open_time[0], 1 * HOUR);
    ohlcx_series_free(&s);
}


static void validate_outside_range(void **state)
{
    static const bar bars[] = {
        {0 * HOUR, 13, 12, 9, 11, 1},  /* open above high */
        {1 * HOUR, 8, 12, 9, 11, 1},   /* open below low */
        {2 * HOUR, 10, 12, 9, 12.5, 1}, /* close above high */
        {3 * HOUR, 10, 12, 9, 8.5, 1}, /* close below low */
        {4 * HOUR, 9, 12, 9, 12, 1},   /* open = low, close = high: valid */
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 5);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.dropped[OHLCX_DROP_OUTSIDE_RANGE], 4);
    assert_int_equal(ohlcx_validation_dropped(&v), 4);
    assert_int_equal(v.rows_out, 1);
    assert_int_equal(s.open_time[0], 4 * HOUR);
    ohlcx_series_free(&s);
}


static void validate_negative_volume(void **state)
{
    static const bar bars[] = {
        {0 * HOUR, 10, 12, 9, 11, -1},       /* negative */
        {1 * HOUR, 10, 12, 9, 11, NAN},      /* NaN */
        {2 * HOUR, 10, 12, 9, 11, INFINITY}, /* infinite */
        {3 * HOUR, 10, 12, 9, 11, 0},        /* zero is valid */
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 4);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.dropped[OHLCX_DROP_NEGATIVE_VOLUME], 3);
    assert_int_equal(ohlcx_validation_dropped(&v), 3);
    assert_int_equal(s.open_time[0], 3 * HOUR);
    ohlcx_series_free(&s);
}


static void validate_first_broken_rule(void **state)
{
    /* Breaks every rule but counts once, for the first in enum order. */
    static const bar bars[] = {
        {0 * HOUR, -5, 9, 10, 20, -1},
        {1 * HOUR, 30, 9, 10, 20, -1}, /* no bad price: high < low comes next */
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 2);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.dropped[OHLCX_DROP_NONPOSITIVE_PRICE], 1);
    assert_int_equal(v.dropped[OHLCX_DROP_HIGH_BELOW_LOW], 1);
    assert_int_equal(ohlcx_validation_dropped(&v), 2);
    assert_int_equal(v.rows_out, 0);
    assert_int_equal(s.n, 0);
    ohlcx_series_free(&s);
}


static void validate_invalid_never_hides_valid(void **state)
{
    /* The first 1h row is invalid, so the second 1h row is kept, not
     * counted as a conflict. */
    static const bar bars[] = {
        {1 * HOUR, 10, 9, 10, 10, 1},
        {1 * HOUR, 10, 12, 9, 11, 1},
    };
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    load_bars(&s, bars, 2);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.dropped[OHLCX_DROP_HIGH_BELOW_LOW], 1);
    assert_int_equal(v.dropped[OHLCX_DROP_CONFLICT], 0);
    assert_int_equal(v.rows_out, 1);
    assert_true(s.high[0] == 12);
    ohlcx_series_free(&s);
}


static void validate_empty_series(void **state)
{
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    ohlcx_series_init(&s);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.rows_in, 0);
    assert_int_equal(v.rows_out, 0);
    assert_int_equal(v.was_unsorted, 0);
    assert_int_equal(ohlcx_validate_basic(NULL, &v), OHLCX_EINVAL);
}


static void validate_large_reversed(void **state)
{
    const size_t n = 200000;
    ohlcx_series s;
    ohlcx_validation v;

    (void)state;
    /* Descending open times, each twice: rows 2k and 2k+1 open at
     * n/2 - 1 - k hours. The first of each pair in file order has volume 1
     * and is kept; the second has volume 2 and conflicts with it. */
    ohlcx_series_init(&s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ohlcx_series_append(&s, (int64_t)(n / 2 - 1 - i / 2) * HOUR, 10, 11,
                                             9, 10, (double)(1 + i % 2)),
                         0);
    assert_int_equal(ohlcx_validate_basic(&s, &v), 0);
    assert_int_equal(v.was_unsorted, 1);
    assert_int_equal(v.rows_out, n / 2);
    assert_int_equal(v.dropped[OHLCX_DROP_CONFLICT], n / 2);
    for (size_t i = 0; i < s.n; i++) {
        if (s.open_time[i] != (int64_t)i * HOUR)
            fail_msg("row %zu opens at %lld", i, (long long)s.open_time[i]);
        if (s.volume[i] != 1)
            fail_msg("row %zu kept the later duplicate (volume %g)", i, s.volume[i]);
    }
    ohlcx_series_free(&s);
}


static void drop_reason_names(void **state)
{
    (void)state;
    assert_string_equal(ohlcx_drop_reason_name(OHLCX_DROP_DUPLICATE), "duplicate");
    assert_string_equal(ohlcx_drop_reason_name(OHLCX_DROP_CONFLICT), "conflict");
    assert_string_equal(ohlcx_drop_reason_name(OHLCX_DROP_NONPOSITIVE_PRICE),
                        "nonpositive_price");
    assert_string_equal(ohlcx_drop_reason_name(OHLCX_DROP_HIGH_BELOW_LOW), "high_below_low");
    assert_string_equal(ohlcx_drop_reason_name(OHLCX_DROP_OUTSIDE_RANGE), "outside_range");
    assert_string_equal(ohlcx_drop_reason_name(OHLCX_DROP_NEGATIVE_VOLUME), "negative_volume");
    assert_string_equal(ohlcx_drop_reason_name(OHLCX_DROP_REASON_COUNT), "unknown");
    assert_string_equal(ohlcx_drop_reason_name(-1), "unknown");
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validate_clean_series),
        cmocka_unit_test(validate_sorts_rows),
        cmocka_unit_test(validate_exact_duplicate),
        cmocka_unit_test(validate_conflict_keeps_first),
        cmocka_unit_test(validate_nonpositive_price),
        cmocka_unit_test(validate_high_below_low),
        cmocka_unit_test(validate_outside_range),
        cmocka_unit_test(validate_negative_volume),
        cmocka_unit_test(validate_first_broken_rule),
        cmocka_unit_test(validate_invalid_never_hides_valid),
        cmocka_unit_test(validate_empty_series),
        cmocka_unit_test(validate_large_reversed),
        cmocka_unit_test(drop_reason_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
