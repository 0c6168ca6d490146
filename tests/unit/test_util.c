/* Unit tests for the shared helpers: SHA-256 and timeframe names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "ohlcx/error.h"
#include "ohlcx/quality.h"
#include "ohlcx/series.h"
#include "util/util.h"


/* Digests from the FIPS 180-4 examples and of the empty string. */
static void sha256_known_digests(void **state)
{
    char hex[65];

    ohlcx_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ohlcx_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ohlcx_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}


/* One million 'a' bytes, the long FIPS 180-4 example: 15,625 whole blocks. */
static void sha256_million_bytes(void **state)
{
    static char data[1000000];
    char hex[65];

    memset(data, 'a', sizeof data);
    ohlcx_sha256_hex(data, sizeof data, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}


static void timeframe_aliases(void **state)
{
    static const char *cases[][2] = {
        {"1m", "1m"},   {"15m", "15m"}, {"60m", "1h"},  {"240m", "4h"}, {"1h", "1h"},
        {"H1", "1h"},   {"M15", "15m"}, {"D1", "1d"},   {"D", "1d"},    {"1d", "1d"},
        {"W", "1w"},    {"1w", "1w"},   {"1M", "1M"},   {"1mo", "1M"},  {"3M", "3M"},
        {"1440m", "1d"}, {"4H", "4h"},  {"7d", "1w"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char canonical[OHLCX_TIMEFRAME_MAX] = "";
        assert_int_equal(ohlcx_timeframe_parse(cases[i][0], canonical), 0);
        assert_string_equal(canonical, cases[i][1]);
    }
}


static void timeframe_invalid(void **state)
{
    char canonical[OHLCX_TIMEFRAME_MAX];

    assert_int_equal(ohlcx_timeframe_parse("7m", canonical), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "'7m'"));
    assert_int_equal(ohlcx_timeframe_parse("", canonical), OHLCX_EINVAL);
    assert_int_equal(ohlcx_timeframe_parse("abc", canonical), OHLCX_EINVAL);
}


static void timeframe_lengths(void **state)
{
    assert_int_equal(ohlcx_timeframe_us("15m"), INT64_C(900000000));
    assert_int_equal(ohlcx_timeframe_us("4h"), INT64_C(14400000000));
    assert_int_equal(ohlcx_timeframe_us("1d"), INT64_C(86400000000));
    assert_int_equal(ohlcx_timeframe_us("nope"), 0);
    assert_int_equal(ohlcx_timeframe_id("1m"), 0);
    assert_int_equal(ohlcx_timeframe_id("1d"), 11);
}


static void asset_class_guesses(void **state)
{
    assert_int_equal(ohlcx_asset_class_guess("BTCUSDT"), OHLCX_ASSET_CRYPTO);
    assert_int_equal(ohlcx_asset_class_guess("ETH_USDT"), OHLCX_ASSET_CRYPTO);
    assert_int_equal(ohlcx_asset_class_guess("XBTUSD"), OHLCX_ASSET_CRYPTO);
    assert_int_equal(ohlcx_asset_class_guess("EURUSD"), OHLCX_ASSET_FOREX);
    assert_int_equal(ohlcx_asset_class_guess("GOOG"), OHLCX_ASSET_STOCKS);
    assert_int_equal(ohlcx_asset_class_guess("PSNY"), OHLCX_ASSET_STOCKS);
}


/* Optional columns start as NaN, grow with the series and follow their rows
 * when validation sorts the bars. */
static void series_extra_columns(void **state)
{
    ohlcx_series series;
    ohlcx_validation validation;

    ohlcx_series_init(&series);
    assert_int_equal(ohlcx_series_append(&series, 2000, 10, 11, 9, 10, 1), 0);
    assert_int_equal(ohlcx_series_add_extra(&series, OHLCX_EXTRA_TRADES), 0);
    assert_int_equal(series.extra, OHLCX_EXTRA_TRADES);
    assert_null(series.extra_column[0]);
    assert_true(isnan(series.extra_column[1][0]));
    series.extra_column[1][0] = 7;
    for (int i = 0; i < 2000; i++)
        assert_int_equal(ohlcx_series_append(&series, 1000 - i, 10, 11, 9, 10, 1), 0);
    assert_true(isnan(series.extra_column[1][2000]));
    series.extra_column[1][2000] = 5;

    /* Sorting puts the bar at time 2000 last and the one at -999 first. */
    assert_int_equal(ohlcx_validate_basic(&series, &validation), 0);
    assert_int_equal(series.n, 2001);
    assert_int_equal(series.open_time[2000], 2000);
    assert_true(series.extra_column[1][2000] == 7);
    assert_int_equal(series.open_time[0], -999);
    assert_true(series.extra_column[1][0] == 5);
    assert_string_equal(ohlcx_extra_name(1), "trades");
    ohlcx_series_free(&series);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known_digests), cmocka_unit_test(sha256_million_bytes), cmocka_unit_test(timeframe_aliases),
        cmocka_unit_test(timeframe_invalid),    cmocka_unit_test(timeframe_lengths),
        cmocka_unit_test(asset_class_guesses), cmocka_unit_test(series_extra_columns),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
