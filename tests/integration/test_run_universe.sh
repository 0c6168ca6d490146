# `ohlcx run --universe FILE` trains on the series the universe lists, with
# the asset classes of its groups, leaves other series out, and stops with
# exit status 2 when a listed series is missing or its class is ambiguous.
. "$(dirname "$0")/lib.sh"

# From its symbol alone, GOLD would be guessed a stock. The universe lists it
# under commodities.
cat >"$work/small.yaml" <<'EOF'
name: small
start: 2024-01-01
months: 3
groups:
  - asset_class: crypto
    timeframes: [1h]
    symbols: [BTCUSDT]
  - asset_class: commodities
    timeframes: [1h]
    symbols: [GOLD]
EOF
"$OHLCX" synth --universe "$work/small.yaml" --out "$work/data" 2>/dev/null ||
    fail "synth --universe failed"
# A file that the universe does not list.
"$OHLCX" synth --out "$work/data" --symbols ETHUSDT --timeframes 1h --months 3 2>/dev/null
[ "$(ls "$work/data" | wc -l)" -eq 3 ] || fail "expected 3 files: $(ls "$work/data")"

"$OHLCX" run --universe "$work/small.yaml" --data "$work/data" --out "$work/run" --cnn per-market \
    --epochs 2 --window 16 --jobs 1 >"$work/run.log" 2>&1 ||
    fail "run --universe failed: $(tail -3 "$work/run.log")"
metrics="$work/run/metrics.json"
[ "$(json_get "$metrics" '[.per_series[].symbol] | sort | join(",")')" = BTCUSDT,GOLD ] ||
    fail "per_series: $(json_get "$metrics" '[.per_series[].symbol] | join(",")'), expected BTCUSDT,GOLD"
[ "$(json_get "$metrics" '.config.universe')" = "$work/small.yaml" ] || fail "config lacks the universe"
[ "$(json_get "$metrics" '.per_series[] | select(.symbol == "GOLD") | .asset_class')" = commodities ] ||
    fail "GOLD is not commodities in metrics.json"
[ "$(json_get "$metrics" '[.per_asset_class[].asset_class] | join(",")')" = crypto,commodities ] ||
    fail "per_asset_class: $(json_get "$metrics" '[.per_asset_class[].asset_class] | join(",")')"
[ "$(json_get "$work/run/model/manifest.json" '[.cnn_groups[].name] | join(",")')" = crypto,commodities ] ||
    fail "CNN groups are not crypto,commodities"
grep -q '1 series of .* are not in the universe .*small.yaml and are left out' "$work/run.log" ||
    fail "no line about the left-out ETHUSDT file: $(grep -i universe "$work/run.log")"

# The same series given twice (the folder twice) is refused, naming both.
status=0
"$OHLCX" run --universe "$work/small.yaml" --data "$work/data" --data "$work/data/GOLD-1h.csv" \
    --out "$work/run5" --epochs 1 --window 16 --jobs 1 >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "a series given twice: exit status $status, expected 2"
grep -q 'GOLD-1h.csv and .*GOLD-1h.csv are both GOLD 1h of the universe' "$work/err" ||
    fail "twice message: $(cat "$work/err")"

# A model trained with --universe serves GOLD as commodities: the
# asset_class_id column and the per-market CNN come from its manifest, not
# from the guess (a stock), so predict finds the commodities CNN.
"$OHLCX" predict --model "$work/run/model" "$work/data/GOLD-1h.csv" >"$work/predict.csv" \
    2>"$work/predict.err" || fail "predict of GOLD failed: $(cat "$work/predict.err")"
grep -q '^GOLD,1h,' "$work/predict.csv" || fail "no GOLD prediction: $(cat "$work/predict.csv")"

# A listed series without a file: exit status 2, naming it.
rm "$work/data/GOLD-1h.csv"
status=0
"$OHLCX" run --universe "$work/small.yaml" --data "$work/data" --out "$work/run2" --epochs 1 \
    --window 16 --jobs 1 >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "missing series: exit status $status, expected 2"
grep -q 'small.yaml lists 2 series, and 1 of them is not in .*: GOLD 1h' "$work/err" ||
    fail "missing series message: $(cat "$work/err")"
[ "$(grep -c 'error:' "$work/err")" -eq 1 ] || fail "expected one error line: $(cat "$work/err")"

# The same symbol and timeframe under two asset classes cannot be assigned.
cat >"$work/twice.yaml" <<'EOF'
name: twice
groups:
  - asset_class: crypto
    timeframes: [1h]
    symbols: [BTCUSDT]
  - asset_class: stocks
    timeframes: [1h]
    symbols: [BTCUSDT]
EOF
status=0
"$OHLCX" run --universe "$work/twice.yaml" --data "$work/data" --out "$work/run3" --epochs 1 \
    --window 16 --jobs 1 >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "ambiguous class: exit status $status, expected 2"
grep -q 'BTCUSDT 1h is listed under both crypto and stocks' "$work/err" ||
    fail "ambiguous class message: $(cat "$work/err")"

# An unreadable universe file is bad usage too.
status=0
"$OHLCX" run --universe "$work/none.yaml" --data "$work/data" --out "$work/run4" \
    >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "missing universe file: exit status $status, expected 2"
echo "run --universe: listed series only, classes from the universe, missing ones rejected"
