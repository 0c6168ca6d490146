/*
 * Loading for training and prediction (pipeline_load() in
 * src/pipeline/load.c) drops the optional columns of a Binance kline file,
 * which nothing reads after validation, and keeps OHLCV.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "pipeline/internal.h"


static void data_path(const char *name, char *path, size_t size)
{
    const char *root = getenv("OHLCX_TEST_DATA");

    snprintf(path, size, "%s/format/%s", root != NULL ? root : "tests/data", name);
}


/* BTCUSDT-1h-2022-01.csv is 3 Binance klines with all four optional
 * columns. The reader keeps them (extra bits 0xf), and pipeline_load()
 * leaves none, with the first bar's close and volume as the file gives
 * them (46652.61 and 1507.41283 on line 2). */
static void load_drops_kline_columns(void **unused)
{
    ohlcx_read_options read_options = {0};
    ohlcx_layout_options layout = {0};
    ohlcx_read_report report = {0};
    ohlcx_series read;
    pipeline_series *loaded = NULL;
    char path[1024];
    char *files[1] = {path};

    data_path("BTCUSDT-1h-2022-01.csv", path, sizeof path);
    ohlcx_series_init(&read);
    assert_int_equal(ohlcx_read_candles_ex(path, &read_options, &layout, &read, &report), 0);
    assert_int_equal(read.extra, 0xfu);
    assert_non_null(read.extra_column[0]);
    ohlcx_series_free(&read);
    ohlcx_read_report_free(&report);

    assert_int_equal(pipeline_load(files, 1, NULL, NULL, OHLCX_BAD_ROWS_FAIL, &layout, 1,
                                   &loaded),
                     0);
    assert_int_equal(loaded[0].bars.n, 3);
    assert_int_equal(loaded[0].bars.extra, 0);
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        assert_null(loaded[0].bars.extra_column[i]);
    assert_true(loaded[0].bars.close[0] == 46652.61);
    assert_true(loaded[0].bars.volume[0] == 1507.41283);
    pipeline_free_series(loaded, 1);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_drops_kline_columns),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
