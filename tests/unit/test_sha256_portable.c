/* SHA-256 through the portable code, with the x86 SHA extensions turned off
 * before the first hash. The same digests as test_util's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"


static void sha256_portable_digests(void **state)
{
    static char million[1000000];
    char hex[65];

    ohlcx_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ohlcx_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    memset(million, 'a', sizeof million);
    ohlcx_sha256_hex(million, sizeof million, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_portable_digests),
    };

    setenv("OHLCX_NO_SHA_NI", "1", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
