# `ohlcx lookahead` passes on a clean run, with and without higher
# timeframes, and fails on a run with the test-only leak column
# leak_next_return, naming that column. An input changed since the run
# fails with exit status 2.
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

# A changed close in an input of the run fails with exit status 2 and one
# line naming the series and the file, even though the bar count is the same.
cp -r "$work/data" "$work/data-changed"
run_small changed --data "$work/data-changed"
awk -F, 'BEGIN { OFS = "," } NR == 500 { $5 = $2 } { print }' "$work/data-changed/GOOG-1h.csv" \
    >"$work/GOOG-1h.csv"
cmp -s "$work/GOOG-1h.csv" "$work/data-changed/GOOG-1h.csv" && fail "the close of row 500 did not change"
mv "$work/GOOG-1h.csv" "$work/data-changed/GOOG-1h.csv"
status=0
"$OHLCX" lookahead --run "$work/changed" --jobs 2 >"$work/changed.out" 2>"$work/changed.err" ||
    status=$?
[ "$status" = 2 ] || fail "lookahead on a changed input exited $status, expected 2"
[ "$(wc -l <"$work/changed.err")" -eq 1 ] ||
    fail "expected one line on stderr: $(cat "$work/changed.err")"
grep -q "GOOG 1h (.*changed/GOOG-1h\.csv): the file's SHA-256 is" "$work/changed.err" ||
    fail "the error does not name the series and the file: $(cat "$work/changed.err")"

# The same for a run on a store when the series has a newer version: a bar
# appended one hour after the last.
"$OHLCX" ingest --store "$work/store" "$work/data" >/dev/null 2>&1 || fail "ingest failed"
run_small stored --store "$work/store"
mkdir "$work/more"
{
    cat "$work/data/GOOG-1h.csv"
    tail -1 "$work/data/GOOG-1h.csv" | awk -F, 'BEGIN { OFS = "," }
        { $1 = sprintf("%.0f", $1 + 3600000); $7 = sprintf("%.0f", $7 + 3600000); print }'
} >"$work/more/GOOG-1h.csv"
"$OHLCX" ingest --store "$work/store" "$work/more" >/dev/null 2>&1 || fail "second ingest failed"
status=0
"$OHLCX" lookahead --run "$work/stored" --jobs 2 >/dev/null 2>"$work/stored.err" || status=$?
[ "$status" = 2 ] || fail "lookahead on a newer store version exited $status, expected 2"
[ "$(wc -l <"$work/stored.err")" -eq 1 ] ||
    fail "expected one line on stderr: $(cat "$work/stored.err")"
grep -q "GOOG 1h (.*store:GOOG/1h): the store holds version 2 now, but the run trained on version 1" \
    "$work/stored.err" || fail "the error does not name the store version: $(cat "$work/stored.err")"

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
