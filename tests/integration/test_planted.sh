# On synthetic data with a planted wick-shape signal (P = 0.9, best possible
# accuracy about 0.70), the CNN must find the shapes: CNN + XGBoost test
# accuracy above 0.60 and at least 0.05 above XGBoost without CNN features,
# whose close-based indicators cannot see the shapes.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,ETHUSDT --timeframes 15m,1h \
    --months 6 --planted 0.9 --seed 7 2>"$work/synth.log" || fail "synth failed: $(cat "$work/synth.log")"
"$OHLCX" run --data "$work/data" --out "$work/run" --cnn global --epochs 8 --jobs 1 \
    >"$work/run.log" 2>&1 || fail "run failed: $(tail -3 "$work/run.log")"

combined=$(json_get "$work/run/metrics.json" '.test.accuracy')
without_cnn=$(json_get "$work/run/metrics.json" '.baselines.xgb_without_cnn.accuracy')
echo "planted 0.9: cnn+xgboost $combined, xgb_without_cnn $without_cnn"
check_between "cnn+xgboost accuracy" "$combined" 0.60 1.0
margin=$(awk -v a="$combined" -v b="$without_cnn" 'BEGIN { print a - b }')
check_between "margin over xgb_without_cnn" "$margin" 0.05 1.0
