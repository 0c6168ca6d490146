# `ohlcx run --cnn per-market` trains one CNN per asset class, reports a
# metrics row per series, and its bundle scores each series with its asset
# class's CNN, including a symbol it never saw.
. "$(dirname "$0")/lib.sh"

# BTCUSDT is crypto; GOOG and VT are stocks.
"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,GOOG,VT --timeframes 1h --months 3 \
    2>/dev/null || fail "synth failed"
"$OHLCX" run --data "$work/data" --out "$work/run" --cnn per-market --epochs 2 --window 16 \
    --jobs 2 >"$work/run.log" 2>&1 || fail "run failed: $(tail -3 "$work/run.log")"

manifest="$work/run/model/manifest.json"
metrics="$work/run/metrics.json"
[ "$(json_get "$manifest" '.cnn_mode')" = per-market ] || fail "manifest cnn_mode is not per-market"
[ "$(json_get "$metrics" '.config.cnn')" = per-market ] || fail "metrics config.cnn is not per-market"
[ "$(json_get "$manifest" '[.cnn_groups[].name] | join(",")')" = crypto,stocks ] ||
    fail "CNN groups: $(json_get "$manifest" '[.cnn_groups[].name] | join(",")'), expected crypto,stocks"
[ "$(ls "$work"/run/model/cnn-*.bin | wc -l)" -eq 2 ] ||
    fail "expected 2 CNN files: $(ls "$work/run/model")"
for file in $(json_get "$manifest" '.cnn_groups[].file'); do
    [ -s "$work/run/model/$file" ] || fail "CNN file $file is missing"
done
[ "$(json_get "$metrics" '.cnn | length')" = 2 ] || fail "metrics.json lists other than 2 CNNs"

# One metrics row per series, each with test rows and an accuracy.
[ "$(json_get "$metrics" '.per_series | length')" = 3 ] || fail "expected 3 per_series rows"
for symbol in BTCUSDT GOOG VT; do
    n=$(json_get "$metrics" ".per_series[] | select(.symbol == \"$symbol\") | .n_test")
    [ "${n:-0}" -gt 0 ] || fail "$symbol has no test rows in metrics.json"
    accuracy=$(json_get "$metrics" ".per_series[] | select(.symbol == \"$symbol\") | .accuracy")
    check_between "$symbol accuracy" "$accuracy" 0 1
done
[ "$(json_get "$manifest" '.series[] | select(.symbol == "BTCUSDT") | .cnn_group')" = crypto ] ||
    fail "BTCUSDT is not served by the crypto CNN"
[ "$(json_get "$manifest" '.series[] | select(.symbol == "VT") | .cnn_group')" = stocks ] ||
    fail "VT is not served by the stocks CNN"
check_between "test accuracy" "$(json_get "$metrics" '.test.accuracy')" 0 1
check_between "cnn_only auc" "$(json_get "$metrics" '.baselines.cnn_only.auc')" 0 1

# The bundle serves a crypto symbol it never saw with the crypto CNN.
"$OHLCX" synth --out "$work/other" --symbols SOLUSDT --timeframes 1h --months 3 2>/dev/null
"$OHLCX" predict --model "$work/run/model" --now 2024-04-02 "$work/data" "$work/other" \
    >"$work/predict.csv" 2>"$work/predict.err" || fail "predict failed: $(cat "$work/predict.err")"
[ "$(wc -l <"$work/predict.csv")" -eq 5 ] || fail "expected 4 predictions: $(cat "$work/predict.csv")"
grep -q '^SOLUSDT,1h,2024-03-31 23:00:00,0\.[0-9]*$' "$work/predict.csv" ||
    fail "no SOLUSDT prediction: $(cat "$work/predict.csv")"

# With the stocks CNN file damaged, crypto still scores and stocks fail on
# that file, so each series reads its own asset class's CNN.
stocks_file=$(json_get "$manifest" '.cnn_groups[] | select(.name == "stocks") | .file')
head -c 20 "$work/run/model/$stocks_file" >"$work/short.bin"
cp "$work/short.bin" "$work/run/model/$stocks_file"
"$OHLCX" predict --model "$work/run/model" --now 2024-04-02 "$work/data/BTCUSDT-1h.csv" \
    >/dev/null 2>"$work/err" || fail "crypto predict read the stocks CNN: $(cat "$work/err")"
status=0
"$OHLCX" predict --model "$work/run/model" --now 2024-04-02 "$work/data/GOOG-1h.csv" \
    >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "stocks predict with a damaged CNN: exit status $status, expected 2"
grep -q "$stocks_file: truncated CNN file" "$work/err" || fail "stocks predict: $(cat "$work/err")"
# The demo universe (no --data: 6 symbols x 4 timeframes, three crypto
# pairs and three stocks): one CNN per asset class and every metric.
"$OHLCX" run --out "$work/demo" --cnn per-market --epochs 2 --jobs 2 >"$work/demo.log" 2>&1 ||
    fail "per-market run on the demo universe failed: $(tail -3 "$work/demo.log")"
metrics="$work/demo/metrics.json"
[ "$(json_get "$work/demo/model/manifest.json" '[.cnn_groups[].name] | join(",")')" = crypto,stocks ] ||
    fail "demo CNN groups: $(json_get "$work/demo/model/manifest.json" '[.cnn_groups[].name] | join(",")')"
[ "$(json_get "$metrics" '.cnn | length')" = 2 ] || fail "the demo run lists other than 2 CNNs"
[ "$(json_get "$metrics" '.per_series | length')" = 24 ] || fail "the demo run has not 24 per_series rows"
[ "$(json_get "$metrics" '[.per_timeframe[].timeframe] | join(",")')" = 15m,1h,4h,1d ] ||
    fail "per_timeframe: $(json_get "$metrics" '[.per_timeframe[].timeframe] | join(",")')"
[ "$(json_get "$metrics" '[.per_asset_class[].asset_class] | join(",")')" = crypto,stocks ] ||
    fail "per_asset_class: $(json_get "$metrics" '[.per_asset_class[].asset_class] | join(",")')"
# Every model has every key. The majority baseline's IC is null (the
# correlation of a constant), so only the combined model's values must be
# numbers.
for key in accuracy balanced_accuracy macro_f1 auc log_loss brier ic rank_ic majority_share binomial_p; do
    [ "$(json_get "$metrics" ".test.$key | type")" = number ] ||
        fail "test.$key is not a number in the demo run's metrics"
    for model in majority xgb_without_cnn cnn_only; do
        [ "$(json_get "$metrics" ".baselines.$model | has(\"$key\")")" = true ] ||
            fail "baselines.$model.$key is missing from the demo run's metrics"
    done
done
[ "$(json_get "$metrics" '.test.n')" -gt 40000 ] || fail "the demo run tested $(json_get "$metrics" .test.n) rows"
echo "per-market: one CNN per asset class, every series scored"
