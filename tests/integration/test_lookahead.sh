# `ohlcx lookahead` passes on a clean run, with and without higher
# timeframes, and fails on a run with the test-only leak column
# leak_next_return, naming that column.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,GOOG --timeframes 1h --months 4 \
    2>/dev/null || fail "synth failed"
"$OHLCX" synth --out "$work/data15" --symbols BTCUSDT --timeframes 15m --months 1 \
    2>/dev/null || fail "synth of 15m failed"

# run_small NAME ARGS...: a one-epoch run into $work/NAME.
run_small() {
    name=$1
    shift
    "$OHLCX" run --out "$work/$name" --epochs 1 --window 16 --jobs 2 "$@" \
        >"$work/$name.log" 2>&1 || fail "run $name failed: $(tail -3 "$work/$name.log")"
}

run_small clean --data "$work/data"
"$OHLCX" lookahead --run "$work/clean" --jobs 2 >"$work/clean.out" 2>&1 ||
    fail "lookahead failed on a clean run: $(cat "$work/clean.out")"
# 20 rows (the default) of each of the 2 series.
grep -q 'passed: 40 rows of 2 series' "$work/clean.out" ||
    fail "unexpected summary: $(cat "$work/clean.out")"

run_small higher --data "$work/data15" --higher 1h
[ "$(json_get "$work/higher/model/manifest.json" '.xgboost_columns | map(select(startswith("h1_"))) | length')" = 11 ] ||
    fail "the higher run has no h1_ columns"
"$OHLCX" lookahead --run "$work/higher" --rows 50 --jobs 2 >"$work/higher.out" 2>&1 ||
    fail "lookahead failed on a run with --higher 1h: $(cat "$work/higher.out")"
grep -q 'passed: 50 rows of 1 series' "$work/higher.out" ||
    fail "unexpected summary: $(cat "$work/higher.out")"

run_small leak --data "$work/data" --debug-leak next-return
[ "$(json_get "$work/leak/model/manifest.json" '.debug_leak')" = next-return ] ||
    fail "the manifest does not record the debug leak"
status=0
"$OHLCX" lookahead --run "$work/leak" --jobs 2 >"$work/leak.out" 2>&1 || status=$?
[ "$status" = 1 ] || fail "lookahead exited $status on the leaky run, expected 1: $(cat "$work/leak.out")"
grep -q 'column leak_next_return at the bar opening' "$work/leak.out" ||
    fail "the failure does not name leak_next_return: $(cat "$work/leak.out")"

# Usage errors exit 2.
status=0
"$OHLCX" lookahead --rows 0 --run "$work/clean" 2>/dev/null || status=$?
[ "$status" = 2 ] || fail "--rows 0 exited $status, expected 2"
status=0
"$OHLCX" lookahead --run "$work/missing" 2>"$work/missing.err" || status=$?
[ "$status" = 2 ] || fail "a missing run folder exited $status, expected 2"
grep -q 'missing/model/manifest.json' "$work/missing.err" ||
    fail "the error does not name the manifest: $(cat "$work/missing.err")"
echo "lookahead: clean runs pass, the leak is named"
