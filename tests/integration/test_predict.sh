# The model bundle: manifest contents, and `ohlcx predict` scoring the latest
# complete bar of each series as CSV and JSON.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols ETHUSDT,VT --timeframes 1h --months 3 \
    2>/dev/null || fail "synth failed"
"$OHLCX" run --data "$work/data" --out "$work/run" --epochs 2 --jobs 1 \
    >"$work/run.log" 2>&1 || fail "run failed: $(tail -3 "$work/run.log")"

manifest="$work/run/model/manifest.json"
[ "$(json_get "$manifest" '.window')" = 64 ] || fail "manifest window is not 64"
[ "$(json_get "$manifest" '.horizon')" = 1 ] || fail "manifest horizon is not 1"
[ "$(json_get "$manifest" '.seed')" = 42 ] || fail "manifest seed is not 42"
[ "$(json_get "$manifest" '.xgboost_columns | length')" = 45 ] || fail "expected 32 + 11 + 2 columns"
[ "$(json_get "$manifest" '.xgboost_columns[32]')" = ret_1 ] || fail "column 32 is not ret_1"
expected_hash=$(sha256sum "$work/data/ETHUSDT-1h.csv" | cut -d' ' -f1)
hash=$(json_get "$manifest" '.series[] | select(.symbol == "ETHUSDT") | .sha256')
[ "$hash" = "$expected_hash" ] || fail "manifest hash $hash, expected $expected_hash"
[ -s "$work/run/model/xgboost.json" ] || fail "xgboost.json missing"
jq -e '.learner' "$work/run/model/xgboost.json" >/dev/null || fail "xgboost.json lacks a learner"
[ "$(json_get "$work/run/model/xgboost.json" '.learner.feature_names[32]')" = ret_1 ] ||
    fail "xgboost.json does not name column 32 ret_1"

# The synthetic series start 2024-01-01 and run 3 months, so the last 1h bar
# opens 2024-03-31 23:00. With --now 2024-03-31 23:30 that bar is still open
# and the latest complete one opens at 22:00.
"$OHLCX" predict --model "$work/run/model" --now "2024-03-31 23:30" "$work/data" \
    >"$work/predict.csv" 2>"$work/predict.err" || fail "predict failed: $(cat "$work/predict.err")"
[ "$(head -1 "$work/predict.csv")" = "symbol,timeframe,open_time,prob_up" ] || fail "bad CSV header"
[ "$(wc -l <"$work/predict.csv")" -eq 3 ] || fail "expected 2 predictions: $(cat "$work/predict.csv")"
grep -q '^ETHUSDT,1h,2024-03-31 22:00:00,0\.[0-9]*$' "$work/predict.csv" ||
    fail "no ETHUSDT prediction for 22:00: $(cat "$work/predict.csv")"

"$OHLCX" predict --model "$work/run/model" --json --now "2024-04-02" "$work/data/VT-1h.csv" \
    >"$work/predict.json" || fail "predict --json failed"
prob=$(json_get "$work/predict.json" '.predictions[0].prob_up')
check_between "VT prob_up" "$prob" 0 1
# VT trades on the NYSE calendar, and Friday 2024-03-29 is Good Friday. New
# York is on daylight saving time from 10 March, so the session is 13:30 to
# 20:00 UTC and the last 1h bar of March opens at 19:30 on the 28th.
[ "$(json_get "$work/predict.json" '.predictions[0].open_time')" = "2024-03-28 19:30:00" ] ||
    fail "VT latest bar: $(cat "$work/predict.json")"

# --symbol names the series of a file whose name does not.
cp "$work/data/ETHUSDT-1h.csv" "$work/prices.csv"
"$OHLCX" predict --model "$work/run/model" --symbol ETHUSDT --timeframe 1h --now "2024-03-31 23:30" \
    "$work/prices.csv" >"$work/renamed.csv" || fail "predict --symbol failed"
grep -q '^ETHUSDT,1h,2024-03-31 22:00:00,' "$work/renamed.csv" || fail "predict --symbol: $(cat "$work/renamed.csv")"

# Among several series, one with too few complete bars is left out with a
# warning and the others are scored. VT's first 10 bars are far fewer than
# the window of 64 needs.
mkdir "$work/mixed" "$work/short"
cp "$work/data/ETHUSDT-1h.csv" "$work/mixed/"
head -11 "$work/data/VT-1h.csv" >"$work/mixed/VT-1h.csv"
"$OHLCX" predict --model "$work/run/model" --now "2024-03-31 23:30" "$work/mixed" \
    >"$work/mixed.csv" 2>"$work/mixed.err" || fail "predict with a short series failed: $(cat "$work/mixed.err")"
[ "$(wc -l <"$work/mixed.csv")" -eq 2 ] || fail "expected 1 prediction: $(cat "$work/mixed.csv")"
grep -q '^ETHUSDT,1h,2024-03-31 22:00:00,' "$work/mixed.csv" || fail "short series: $(cat "$work/mixed.csv")"
grep -q 'VT-1h.csv: 10 complete bars before the reference time, but a prediction needs at least 65: left out' \
    "$work/mixed.err" || fail "short series warning: $(cat "$work/mixed.err")"
grep -q '1 of 2 series scored, 1 left out for too few complete bars' "$work/mixed.err" ||
    fail "short series count: $(cat "$work/mixed.err")"
# When every series is too short, nothing is scored and the run fails.
head -11 "$work/data/ETHUSDT-1h.csv" >"$work/short/ETHUSDT-1h.csv"
cp "$work/mixed/VT-1h.csv" "$work/short/"
status=0
"$OHLCX" predict --model "$work/run/model" "$work/short" >"$work/short.csv" 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "only short series: exit status $status, expected 2"
[ ! -s "$work/short.csv" ] || fail "only short series printed: $(cat "$work/short.csv")"
grep -q "none of the 2 series has enough complete bars" "$work/err" || fail "only short series message: $(cat "$work/err")"
# One file alone that is too short fails as before.
status=0
"$OHLCX" predict --model "$work/run/model" "$work/short/VT-1h.csv" >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "one short file: exit status $status, expected 2"
grep -q "VT-1h.csv: 10 complete bars before the reference time" "$work/err" || fail "one short file message: $(cat "$work/err")"

# A per-symbol bundle has no CNN for a symbol it never saw.
"$OHLCX" synth --out "$work/other" --symbols SOLUSDT --timeframes 1h --months 3 2>/dev/null
status=0
"$OHLCX" predict --model "$work/run/model" "$work/other" >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "unknown symbol: exit status $status, expected 2"
grep -q "no CNN for symbol SOLUSDT" "$work/err" || fail "unknown symbol message: $(cat "$work/err")"
# Weights from a run with another window must not pair with this manifest.
"$OHLCX" run --data "$work/data/ETHUSDT-1h.csv" --out "$work/run32" --window 32 --epochs 1 --jobs 1 \
    >/dev/null 2>&1 || fail "run with --window 32 failed"
cp "$work/run32/model/cnn-000.bin" "$work/run/model/cnn-000.bin"
status=0
"$OHLCX" predict --model "$work/run/model" "$work/data/ETHUSDT-1h.csv" >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "mixed bundle: exit status $status, expected 2"
grep -q "does not match the manifest" "$work/err" || fail "mixed bundle message: $(cat "$work/err")"

# A run that fails on its input writes nothing, so the earlier run's bundle
# stays whole and nothing pairs old and new files.
cp "$work/run32/model/manifest.json" "$work/manifest32.json"
printf 'open_time,open,high,low,close,volume\n' >"$work/ETHUSDT-1h.csv"
"$OHLCX" run --data "$work/ETHUSDT-1h.csv" --out "$work/run32" >/dev/null 2>&1 && fail "run on a header-only file passed"
cmp -s "$work/run32/model/manifest.json" "$work/manifest32.json" ||
    fail "a failed run changed the earlier run's manifest"
echo "predict: bundle and predictions checked"
