/* Unit tests for the shared helpers: SHA-256 and timeframe names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ohlcx/error.h"
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


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known_digests), cmocka_unit_test(timeframe_aliases),
        cmocka_unit_test(timeframe_invalid),    cmocka_unit_test(timeframe_lengths),
        cmocka_unit_test(asset_class_guesses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
