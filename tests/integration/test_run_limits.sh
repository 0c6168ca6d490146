# The controls of `ohlcx run` for large universes: --max-samples-per-series
# keeps the latest training samples of each part in proportion,
# --balance-classes sets XGBoost's weight of up labels to downs / ups, and
# --max-memory stops a run whose stages pass it or whose training would.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT --timeframes 1h --months 3 2>/dev/null ||
    fail "synth failed"
run() {
    out=$1
    shift
    "$OHLCX" run --data "$work/data" --out "$work/$out" --epochs 1 --window 16 --jobs 1 "$@"
}
run plain >/dev/null 2>&1 || fail "plain run failed"
plain="$work/plain/metrics.json"
a=$(json_get "$plain" '.rows.samples_by_part.cnn_train')
b=$(json_get "$plain" '.rows.samples_by_part.xgb_train')
[ "$((a + b))" -gt 600 ] || fail "too few training samples for the cap test: $a + $b"
[ "$(json_get "$plain" '.rows.samples_capped')" = 0 ] || fail "samples capped without a cap"

# The cap: each training part keeps floor(500 x its share) samples, the
# other parts stay whole, and the rest is counted as capped.
run capped --max-samples-per-series 500 >/dev/null 2>"$work/capped.log" ||
    fail "capped run failed: $(tail -3 "$work/capped.log")"
capped="$work/capped/metrics.json"
expect_a=$((500 * a / (a + b)))
expect_b=$((500 * b / (a + b)))
[ "$(json_get "$capped" '.rows.samples_by_part.cnn_train')" = "$expect_a" ] ||
    fail "cnn_train $(json_get "$capped" '.rows.samples_by_part.cnn_train'), expected $expect_a"
[ "$(json_get "$capped" '.rows.samples_by_part.xgb_train')" = "$expect_b" ] ||
    fail "xgb_train $(json_get "$capped" '.rows.samples_by_part.xgb_train'), expected $expect_b"
for part in validation test; do
    [ "$(json_get "$capped" ".rows.samples_by_part.$part")" = \
        "$(json_get "$plain" ".rows.samples_by_part.$part")" ] || fail "the cap changed $part"
done
[ "$(json_get "$capped" '.rows.samples_capped')" = "$((a + b - expect_a - expect_b))" ] ||
    fail "samples_capped $(json_get "$capped" '.rows.samples_capped')"
[ "$(json_get "$capped" '.per_series[0].samples_capped')" = "$((a + b - expect_a - expect_b))" ] ||
    fail "per_series samples_capped $(json_get "$capped" '.per_series[0].samples_capped')"
grep -q 'max-samples-per-series 500 left out the' "$work/capped.log" || fail "no cap log line"
[ "$(json_get "$capped" '.config.max_samples_per_series')" = 500 ] || fail "config lacks the cap"
[ "$(json_get "$plain" '.config.max_samples_per_series')" = null ] || fail "config has a cap"
status=0
run zero --max-samples-per-series 0 >/dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "--max-samples-per-series 0: exit status $status, expected 2"

# Balance: scale_pos_weight is downs / ups of xgb_train. The majority
# baseline predicts the up share r of those rows, so the weight is (1 - r) / r.
run balanced --balance-classes >/dev/null 2>&1 || fail "balanced run failed"
r=$(json_get "$work/balanced/metrics.json" '.baselines.majority.calibration[] | select(.count > 0) | .mean_prob')
weight=$(grep -o '"scale_pos_weight":"[^"]*"' "$work/balanced/model/xgboost.json" | cut -d'"' -f4)
check_between "scale_pos_weight" "$weight" "$(awk -v r="$r" 'BEGIN { print (1 - r) / r - 1e-6 }')" \
    "$(awk -v r="$r" 'BEGIN { print (1 - r) / r + 1e-6 }')"
[ "$(json_get "$work/balanced/metrics.json" '.config.balance_classes')" = true ] ||
    fail "config lacks balance_classes"
grep -q '"scale_pos_weight":"1"' "$work/plain/model/xgboost.json" ||
    fail "an unbalanced run has another scale_pos_weight than 1"

# Memory: a budget below what loading takes stops after the load stage. One
# 4 MiB above the features' peak stops before training: the estimate adds
# at least the CNN's two workspaces (2 x 256 x 16 x 256 x 4 bytes, about
# 8 MB) and XGBoost's two batches.
status=0
run tiny --max-memory 2M >/dev/null 2>"$work/tiny.err" || status=$?
[ "$status" -eq 1 ] || fail "--max-memory 2M: exit status $status, expected 1"
grep -q 'error: the load stage used [0-9]* MiB of memory, above --max-memory 2 MiB' "$work/tiny.err" ||
    fail "--max-memory 2M: $(grep error "$work/tiny.err")"
[ ! -e "$work/tiny/model" ] || fail "a run stopped by --max-memory wrote a model"
peak=$(json_get "$plain" '.resources.features.peak_rss_bytes')
budget=$(((peak + 4194304) / 1048576))
status=0
run estimate --max-memory "${budget}M" >/dev/null 2>"$work/estimate.err" || status=$?
[ "$status" -eq 1 ] || fail "--max-memory ${budget}M: exit status $status, expected 1"
grep -q "error: training $(json_get "$plain" '.rows.samples') samples needs about" "$work/estimate.err" ||
    fail "--max-memory ${budget}M: $(grep error "$work/estimate.err")"
# The cap does not apply to walk-forward folds, so the pair is refused.
status=0
run walk --max-samples-per-series 100 --walk-forward --train-period 800 --test-period 200 \
    >/dev/null 2>"$work/walk.err" || status=$?
[ "$status" -eq 2 ] || fail "--max-samples-per-series with --walk-forward: exit status $status"
grep -q 'max-samples-per-series does not apply to --walk-forward' "$work/walk.err" ||
    fail "walk-forward cap message: $(cat "$work/walk.err")"
for bad in 0 1K 12X -5G 2000T; do
    status=0
    run bad --max-memory "$bad" >/dev/null 2>&1 || status=$?
    [ "$status" -eq 2 ] || fail "--max-memory $bad: exit status $status, expected 2"
done
# A run.json without the options added with these controls was written by an
# earlier version: resuming it is refused with that reason, not as a
# changed option.
jq 'del(.arguments["--universe"], .arguments["--max-samples-per-series"],
        .arguments["--balance-classes"], .arguments["--precision"])' \
    "$work/plain/checkpoints/run.json" >"$work/old-run.json"
cp "$work/old-run.json" "$work/plain/checkpoints/run.json"
status=0
run plain --resume >/dev/null 2>"$work/old.err" || status=$?
[ "$status" -eq 2 ] || fail "resume of an earlier version's run: exit status $status, expected 2"
grep -q 'run.json does not record --universe, so an earlier ohlcx version wrote it' \
    "$work/old.err" || fail "resume of an earlier version's run: $(cat "$work/old.err")"
echo "run limits: cap, class balance and memory budget hold"
