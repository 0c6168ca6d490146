# Walk-forward on two planted signals: wick shapes (P = 0.9), which only the
# CNN window shows, and a daily rule (Q = 0.9) that needs the previous UTC
# day's return, which only XGBoost gets, from --higher 1d (see
# include/ohlcx/synth.h). Six months of 15m bars (17,472 bars, samples from
# bar 64 on) with --train-period 6000, --test-period 2500 and --embargo 50
# give 4 folds. The test checks the fold layout against the purge and
# embargo rules. Over the test rows of all folds, CNN + XGBoost must beat the
# majority class, XGBoost without CNN features and the CNN alone, with a
# binomial p below 0.01.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT --timeframes 15m --months 6 \
    --planted 0.9 --planted-daily 0.9 --seed 7 2>"$work/synth.log" || fail "synth failed: $(cat "$work/synth.log")"

# Usage errors come before any work.
if "$OHLCX" run --data "$work/data" --out "$work/bad" --train-period 100 >/dev/null 2>&1; then
    fail "--train-period without --walk-forward was accepted"
fi
if "$OHLCX" run --data "$work/data" --out "$work/bad" --walk-forward --train-period 6000 \
    --test-period 2500 --retrain-every 2000 >/dev/null 2>&1; then
    fail "--retrain-every below --test-period was accepted"
fi

"$OHLCX" run --data "$work/data" --out "$work/run" --epochs 6 --jobs 1 --walk-forward \
    --train-period 6000 --test-period 2500 --embargo 50 --higher 1d \
    >"$work/run.log" 2>&1 || fail "run failed: $(tail -3 "$work/run.log")"
metrics="$work/run/metrics.json"

folds=$(json_get "$metrics" '.walk_forward | length')
[ "$folds" = 4 ] || fail "walk_forward has $folds folds, expected 4"

# per_fold FILTER: the filter's value for each fold, joined by commas. The
# filter may use sec, which turns an open time into seconds since the epoch.
per_fold() {
    jq -r "def sec: strptime(\"%Y-%m-%d %H:%M:%S\") | mktime; [$1] | map(tostring) | join(\",\")" \
        "$metrics"
}

# The last training sample's label reads the bar one 15m bar (900 s) before
# the first bar of the first test window, which starts 64 bars (the window,
# 57600 s) before the first test bar.
label_gap=$(per_fold '.walk_forward[] | (.test_window_open_time | sec) - (.train_label_end_open_time | sec)')
[ "$label_gap" = "900,900,900,900" ] || fail "label end to test window per fold $label_gap s, expected 900 each"
window_span=$(per_fold '.walk_forward[] | (.test_first_open_time | sec) - (.test_window_open_time | sec)')
[ "$window_span" = "57600,57600,57600,57600" ] || fail "test window spans $window_span s, expected 57600 each"
test_rows=$(per_fold '.walk_forward[].n')
[ "$test_rows" = "2500,2500,2500,2500" ] || fail "test rows per fold $test_rows, expected 2500 each"

# Test periods follow each other without overlap: each starts one bar after
# the one before ends.
steps=$(per_fold '.walk_forward as $f | range(1; $f | length) | ($f[.].test_first_open_time | sec) - ($f[. - 1].test_last_open_time | sec)')
[ "$steps" = "900,900,900" ] || fail "test period starts after the previous ends: $steps s, expected 900 each"

# Each training range has 6000 samples less two purge gaps of 65 and the
# embargoed samples. The embargo takes 50 after each test period that ends
# inside the range: none for folds 0 and 1, fold 0's for fold 2, and those
# of folds 0 and 1 for fold 3.
embargoed=$(per_fold '.walk_forward[].embargoed')
[ "$embargoed" = "0,0,50,100" ] || fail "embargoed per fold $embargoed, expected 0,0,50,100"
n_train=$(per_fold '.walk_forward[].n_train')
[ "$n_train" = "5870,5870,5820,5770" ] || fail "n_train per fold $n_train, expected 5870,5870,5820,5770"

combined=$(json_get "$metrics" '.walk_forward_total.cnn_xgboost.accuracy')
majority=$(json_get "$metrics" '.walk_forward_total.majority.accuracy')
without_cnn=$(json_get "$metrics" '.walk_forward_total.xgb_without_cnn.accuracy')
cnn_only=$(json_get "$metrics" '.walk_forward_total.cnn_only.accuracy')
p_value=$(json_get "$metrics" '.walk_forward_total.cnn_xgboost.binomial_p')
total_n=$(json_get "$metrics" '.walk_forward_total.cnn_xgboost.n')
echo "walk-forward: cnn+xgboost $combined, majority $majority, xgb_without_cnn $without_cnn," \
    "cnn_only $cnn_only, binomial_p $p_value"
[ "$total_n" = 10000 ] || fail "walk_forward_total has $total_n rows, expected 10000"
[ "$(json_get "$metrics" '.test.accuracy')" = "$combined" ] || fail "test.accuracy differs from walk_forward_total"
# Over seeds 7 to 11, CNN + XGBoost scored 0.743 to 0.763, the CNN alone
# 0.677 to 0.710 (margin 0.040 to 0.076), XGBoost without CNN 0.629 to
# 0.663 (margin 0.088 to 0.133) and the majority class 0.494 to 0.507.
check_between "cnn+xgboost accuracy" "$combined" 0.70 1.0
check_between "margin over majority" "$(awk -v a="$combined" -v b="$majority" 'BEGIN { print a - b }')" 0.15 1.0
check_between "margin over xgb_without_cnn" "$(awk -v a="$combined" -v b="$without_cnn" 'BEGIN { print a - b }')" 0.05 1.0
check_between "margin over cnn_only" "$(awk -v a="$combined" -v b="$cnn_only" 'BEGIN { print a - b }')" 0.02 1.0
check_between "binomial_p" "$p_value" 0 0.01
