# Higher-timeframe features in `ohlcx run --higher` and `ohlcx predict`: the
# model's columns, the bundle's manifest, and no look-ahead at the pipeline
# level (a prediction does not change when the bars after it are removed).
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,GOOG --timeframes 15m,1h --months 3 \
    2>/dev/null || fail "synth failed"
# 4h before 1h: the columns come finest first whatever the order given.
"$OHLCX" run --data "$work/data" --out "$work/run" --higher 4h,1h --window 16 --epochs 1 \
    --jobs 2 >"$work/run.log" 2>&1 || fail "run --higher failed: $(tail -3 "$work/run.log")"

# A series that cannot feed a higher timeframe gets one warning and NaN
# there: 1h is not coarser than 1h, and GOOG's 1h bars open at :30, so they
# cross the 4h bins of the UTC grid. The 15m series feed both.
[ "$(grep -c 'warning: .*BTCUSDT-1h.csv: no 1h features' "$work/run.log")" = 1 ] ||
    fail "expected one warning for BTCUSDT 1h: $(grep warning "$work/run.log")"
[ "$(grep -c 'warning: .*GOOG-1h.csv: no 1h, 4h features' "$work/run.log")" = 1 ] ||
    fail "expected one warning for GOOG 1h: $(grep warning "$work/run.log")"
if grep -q 'warning: .*-15m.csv' "$work/run.log"; then
    fail "a 15m series was warned about: $(grep warning "$work/run.log")"
fi

# 32 embedding columns, 11 own features, 11 for 1h, 11 for 4h, 2 ids.
manifest="$work/run/model/manifest.json"
model="$work/run/model/xgboost.json"
[ "$(json_get "$manifest" '.higher_timeframes | join(",")')" = "1h,4h" ] ||
    fail "manifest higher_timeframes: $(json_get "$manifest" '.higher_timeframes')"
[ "$(json_get "$manifest" '.xgboost_columns | length')" = 67 ] ||
    fail "expected 32 + 11 + 22 + 2 columns, got $(json_get "$manifest" '.xgboost_columns | length')"
[ "$(json_get "$manifest" '.xgboost_columns[43]')" = h1_ret_1 ] || fail "column 43 is not h1_ret_1"
[ "$(json_get "$manifest" '.xgboost_columns[53]')" = h1_volume_z_20 ] ||
    fail "column 53 is not h1_volume_z_20"
[ "$(json_get "$manifest" '.xgboost_columns[54]')" = h4_ret_1 ] || fail "column 54 is not h4_ret_1"
[ "$(json_get "$manifest" '.xgboost_columns[65]')" = timeframe_id ] ||
    fail "column 65 is not timeframe_id"
[ "$(json_get "$model" '.learner.feature_names[58]')" = h4_rsi_14 ] ||
    fail "xgboost.json does not name column 58 h4_rsi_14"
[ "$(json_get "$work/run/metrics.json" '.config.higher_timeframes | join(",")')" = "1h,4h" ] ||
    fail "metrics.json config lacks higher_timeframes"
# The trees split on higher columns, so those columns carry values, not
# only NaN.
splits=$(json_get "$model" '[.learner.gradient_booster.model.trees[].split_indices[]
    | select(. >= 43 and . < 65)] | length')
[ "$splits" -gt 0 ] || fail "no tree splits on an h1_ or h4_ column"

# A store resamples the same series, so it trains the same model.
"$OHLCX" ingest --store "$work/store" "$work/data" >/dev/null 2>&1 || fail "ingest failed"
"$OHLCX" run --store "$work/store" --out "$work/stored" --higher 1h,4h --window 16 --epochs 1 \
    --jobs 2 >"$work/stored.log" 2>&1 || fail "run --store failed: $(tail -3 "$work/stored.log")"
cmp -s "$model" "$work/stored/model/xgboost.json" ||
    fail "run --store --higher trained another XGBoost model than the files did"

# A resume must be given the same --higher.
status=0
"$OHLCX" run --data "$work/data" --out "$work/run" --resume --window 16 --epochs 1 --jobs 2 \
    >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "resume without --higher: exit status $status, expected 2"
grep -q -- '--higher' "$work/err" || fail "resume without --higher: $(cat "$work/err")"

# Invalid lists are usage errors.
for list in 1x 1h,,4h 1h,60m; do
    status=0
    "$OHLCX" run --data "$work/data" --out "$work/bad" --higher "$list" >/dev/null 2>&1 ||
        status=$?
    [ "$status" -eq 2 ] || fail "--higher $list: exit status $status, expected 2"
done

"$OHLCX" predict --model "$work/run/model" --now "2024-03-20 15:00" "$work/data" \
    >"$work/predict.csv" 2>"$work/predict.err" || fail "predict failed: $(cat "$work/predict.err")"
grep -q '^BTCUSDT,15m,2024-03-20 14:45:00,0\.[0-9]*$' "$work/predict.csv" ||
    fail "no BTCUSDT prediction for 14:45: $(cat "$work/predict.csv")"
grep -q '^GOOG,15m,2024-03-20 14:45:00,0\.[0-9]*$' "$work/predict.csv" ||
    fail "no GOOG prediction for 14:45: $(cat "$work/predict.csv")"
grep -q '^GOOG,1h,2024-03-20 13:30:00,0\.[0-9]*$' "$work/predict.csv" ||
    fail "no GOOG 1h prediction for 13:30: $(cat "$work/predict.csv")"

# Predict builds its rows from the manifest's list: without it the model's
# 67 columns do not match the 45 of plain features.
cp -r "$work/run/model" "$work/plain"
jq 'del(.higher_timeframes)' "$manifest" >"$work/plain/manifest.json"
status=0
"$OHLCX" predict --model "$work/plain" --now "2024-03-20 15:00" "$work/data" >/dev/null \
    2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "manifest without higher_timeframes: exit status $status, expected 2"
grep -q "67 xgboost_columns, but this ohlcx builds 45" "$work/err" ||
    fail "manifest without higher_timeframes: $(cat "$work/err")"

# Look-ahead: the probability of the bar that closes at --now must be the
# same, to the last bit, with and without the bars after it. By open time,
# the bars scored are:
#   14:15  inside an open 1h bar
#   14:30  one bar before the 1h close at 15:00
#   14:45  closing with that 1h bar
#   15:30  one bar before the 4h close at 16:00
#   15:45  closing with that 4h bar
#   17:00  inside an open 4h bar
# All lie in GOOG's session, 13:30 to 20:00 UTC in March after the switch to
# summer time.
for now in "2024-03-20 14:30" "2024-03-20 14:45" "2024-03-20 15:00" "2024-03-20 15:45" \
    "2024-03-20 16:00" "2024-03-20 17:15"; do
    now_ms=$(($(date -u -d "$now" +%s) * 1000))
    mkdir -p "$work/cut"
    for symbol in BTCUSDT GOOG; do
        # Keep the header and every bar that closes by --now.
        awk -F, -v now="$now_ms" 'NR == 1 || $1 + 900000 <= now' \
            "$work/data/$symbol-15m.csv" >"$work/cut/$symbol-15m.csv"
        for data in data cut; do
            "$OHLCX" predict --model "$work/run/model" --json --now "$now" \
                "$work/$data/$symbol-15m.csv" >"$work/$data.json" 2>"$work/err" ||
                fail "predict on $data at $now failed: $(cat "$work/err")"
        done
        full=$(json_get "$work/data.json" '.predictions[0] | "\(.open_time) \(.prob_up)"')
        cut=$(json_get "$work/cut.json" '.predictions[0] | "\(.open_time) \(.prob_up)"')
        [ "$full" = "$cut" ] ||
            fail "$symbol at $now: $full with the later bars, $cut without them"
    done
done
# Three months hold one quarter: no 3M feature leaves its warm-up, and the
# run says so once for the series.
"$OHLCX" run --data "$work/data/BTCUSDT-1h.csv" --out "$work/quarter" --epochs 1 --window 16 \
    --higher 3M >/dev/null 2>"$work/quarter.log" || fail "run with --higher 3M failed"
[ "$(grep -c "every 3M feature of this series is missing" "$work/quarter.log")" = 1 ] ||
    fail "no warning for all-missing 3M features: $(grep warning "$work/quarter.log")"
echo "higher: columns, manifest, predict and look-ahead checked"
