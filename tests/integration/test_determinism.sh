# Two runs with the same seed, data and thread count write the same
# metrics.json apart from timings, and the same model files.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,GOOG --timeframes 1h,4h --months 4 \
    2>/dev/null || fail "synth failed"
for run in a b; do
    "$OHLCX" run --data "$work/data" --out "$work/$run" --epochs 3 --jobs 2 --seed 11 \
        >"$work/$run.log" 2>&1 || fail "run $run failed: $(tail -3 "$work/$run.log")"
    jq 'del(.timings_s, .resources, .cost)' "$work/$run/metrics.json" >"$work/$run.json"
done
cmp -s "$work/a.json" "$work/b.json" || fail "metrics differ: $(diff "$work/a.json" "$work/b.json" | head -20)"
cmp -s "$work/a/model/xgboost.json" "$work/b/model/xgboost.json" || fail "XGBoost models differ"
for file in "$work"/a/model/cnn-*.bin; do
    cmp -s "$file" "$work/b/model/$(basename "$file")" || fail "$(basename "$file") differs"
done

# A different seed must change the result, or the seed is not used.
"$OHLCX" run --data "$work/data" --out "$work/c" --epochs 3 --jobs 2 --seed 12 \
    >"$work/c.log" 2>&1 || fail "run c failed"
jq 'del(.timings_s, .resources, .cost) | del(.config.seed)' "$work/c/metrics.json" >"$work/c.json"
jq 'del(.config.seed)' "$work/a.json" >"$work/a2.json"
if cmp -s "$work/a2.json" "$work/c.json"; then
    fail "seeds 11 and 12 gave identical metrics"
fi
echo "determinism: identical metrics and models for one seed"
