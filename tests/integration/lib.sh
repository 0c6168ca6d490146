# Helpers for the integration tests, sourced by each test_*.sh script.
# Environment: OHLCX (the built command) and OHLCX_SOURCE_DIR, set by ctest.

set -eu

: "${OHLCX:?set OHLCX to the ohlcx command}"
: "${OHLCX_SOURCE_DIR:?set OHLCX_SOURCE_DIR to the source tree}"

work=$(mktemp -d "${TMPDIR:-/tmp}/ohlcx-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Real market data: ../shared/data/real beside the checkout, unless
# OHLCX_REAL_DATA names another folder. Missing data skips the test (exit 77)
# only while OHLCX_REQUIRE_REAL_DATA is unset.
real_data_dir() {
    dir=${OHLCX_REAL_DATA:-$OHLCX_SOURCE_DIR/../shared/data/real}
    if [ ! -d "$dir" ]; then
        if [ -n "${OHLCX_REQUIRE_REAL_DATA:-}" ]; then
            fail "real data folder $dir is missing and OHLCX_REQUIRE_REAL_DATA is set"
        fi
        echo "SKIP: real data folder $dir is missing" >&2
        exit 77
    fi
    echo "$dir"
}

# json_get FILE FILTER: prints a jq filter's value.
json_get() {
    jq -r "$2" "$1"
}

# check_between NAME VALUE LOW HIGH: fails unless LOW <= VALUE <= HIGH.
check_between() {
    if ! awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v != "null" && v >= lo && v <= hi) }'; then
        fail "$1 = $2, expected between $3 and $4"
    fi
}
