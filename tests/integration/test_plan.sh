# `ohlcx plan` on the shipped phase 1 universe and `ohlcx synth --universe`
# on a small hand-written one.
. "$(dirname "$0")/lib.sh"

universe_dir="$OHLCX_SOURCE_DIR/tests/data/universe"

# expect_status NAME STATUS ARGS...: runs ohlcx ARGS and expects STATUS.
expect_status() {
    name=$1 expected=$2
    shift 2
    status=0
    "$OHLCX" "$@" >"$work/out" 2>"$work/err" || status=$?
    [ "$status" -eq "$expected" ] || fail "$name: exit status $status, expected $expected: $(cat "$work/err")"
}

# Phase 1: 102 symbols at 7 timeframes.
expect_status "plan phase1" 0 plan "$OHLCX_SOURCE_DIR/examples/phase1.yaml" --json --jobs 1
cp "$work/out" "$work/plan.json"
[ "$(json_get "$work/plan.json" '.total.series')" = 714 ] || fail "plan series is not 714"
[ "$(json_get "$work/plan.json" '.total.symbols')" = 102 ] || fail "plan symbols is not 102"
[ "$(json_get "$work/plan.json" '.groups | length')" = 8 ] || fail "plan groups is not 8"
[ "$(json_get "$work/plan.json" '.months')" = 12 ] || fail "plan months is not the file's 12"
[ "$(json_get "$work/plan.json" '.groups[0].timeframes | join(" ")')" = "5m 15m 30m 1h 4h 1d 1w" ] ||
    fail "group 1 timeframes: $(json_get "$work/plan.json" '.groups[0].timeframes')"
# Crypto tier 1, 10 symbols over 365.25 days: 5m 105192, 15m 35064, 30m 17532,
# 1h 8766, 4h 2191.5 -> 2192 and 1d 365.25 -> 365 bars each. 1w is counted on
# the calendar from the file's start, Monday 2024-01-01: 2024 has 53 Mondays.
[ "$(json_get "$work/plan.json" '.groups[0].bars')" = 1691640 ] ||
    fail "group 1 bars $(json_get "$work/plan.json" '.groups[0].bars'), expected 1691640"
for stage in features cnn_train embed xgb_train total; do
    value=$(json_get "$work/plan.json" ".total.time_s.$stage")
    check_between "time_s.$stage" "$value" 1e-9 1e12
done
check_between "store_bytes" "$(json_get "$work/plan.json" '.total.store_bytes')" 1 1e15
check_between "calibration_s" "$(json_get "$work/plan.json" '.rates.calibration_s')" 1e-6 30

# --months overrides the file. Over 24 months (730.5 days) each crypto tier 1
# symbol has 5m 210384, 15m 70128, 30m 35064, 1h 17532, 4h 4383 and 1d 730.5
# -> 731 bars, and 1w 53 + 52 bars (2025 has 52 Mondays).
expect_status "plan phase1 24 months" 0 plan "$OHLCX_SOURCE_DIR/examples/phase1.yaml" --json \
    --months 24 --jobs 1
[ "$(json_get "$work/out" '.months')" = 24 ] || fail "plan --months 24 is not used"
[ "$(json_get "$work/out" '.groups[0].bars')" = 3383270 ] ||
    fail "24-month group 1 bars $(json_get "$work/out" '.groups[0].bars'), expected 3383270"

expect_status "plan table" 0 plan "$universe_dir/tiny.yaml" --jobs 1
grep -q '^total ' "$work/out" || fail "plan table has no total row: $(cat "$work/out")"

expect_status "plan duplicate" 2 plan "$universe_dir/duplicate.yaml"
grep -q 'duplicate.yaml:9:24: symbol ETHUSDT is listed twice' "$work/err" ||
    fail "plan duplicate message: $(cat "$work/err")"

# The tiny universe starts 2024-03-01 and runs 2 months (61 days): 1464 1h
# bars and 366 4h bars per crypto pair, and for AAPL the 43 weekdays less
# Good Friday (2024-03-29), a NYSE holiday: 42 trading days.
expect_status "synth tiny" 0 synth --universe "$universe_dir/tiny.yaml" --out "$work/tiny"
[ "$(ls "$work/tiny" | tr '\n' ' ')" = "AAPL-1d.csv BTCUSDT-1h.csv BTCUSDT-4h.csv ETHUSDT-1h.csv ETHUSDT-4h.csv " ] ||
    fail "synth files: $(ls "$work/tiny")"
[ "$(wc -l <"$work/tiny/BTCUSDT-1h.csv")" -eq 1465 ] || fail "BTCUSDT-1h.csv is not 1464 bars"
[ "$(wc -l <"$work/tiny/ETHUSDT-4h.csv")" -eq 367 ] || fail "ETHUSDT-4h.csv is not 366 bars"
[ "$(wc -l <"$work/tiny/AAPL-1d.csv")" -eq 43 ] || fail "AAPL-1d.csv is not 42 bars"
# 2024-03-01 00:00 UTC in milliseconds.
[ "$(sed -n 2p "$work/tiny/BTCUSDT-1h.csv" | cut -d, -f1)" = 1709251200000 ] ||
    fail "first bar does not open at the file's start"
grep -q "about 3694 bars" "$work/err" || fail "synth did not log the total bars: $(cat "$work/err")"

# --months 1 overrides the file's 2: March 2024 has 744 hours.
expect_status "synth tiny 1 month" 0 synth --universe "$universe_dir/tiny.yaml" --months 1 \
    --out "$work/tiny-1"
[ "$(wc -l <"$work/tiny-1/BTCUSDT-1h.csv")" -eq 745 ] || fail "1-month BTCUSDT-1h.csv is not 744 bars"

expect_status "synth universe and symbols" 2 synth --universe "$universe_dir/tiny.yaml" \
    --symbols BTCUSDT --out "$work/both"
expect_status "synth collision" 2 synth --universe "$universe_dir/collision.yaml" --out "$work/collision"
grep -q 'GLD is listed for both stocks and commodities at 1d' "$work/err" ||
    fail "synth collision message: $(cat "$work/err")"
[ ! -e "$work/collision" ] || fail "synth wrote files before rejecting the collision"
echo "plan: phase1 plan and synth --universe checked"
