# A scaled-down universe (20 symbols in five asset classes x 3 timeframes,
# 6 months, about 263,000 samples) runs end to end under a memory ceiling.
# Measured on a 2-core machine: peak RSS about 121 MiB. The 192 MiB ceiling
# leaves room for other machines and still fails a run that builds every
# window at once (263,000 windows of 32 bars x 5 channels of 4-byte floats
# are 168 MB more).
. "$(dirname "$0")/lib.sh"

cat >"$work/scaled.yaml" <<'YAML'
name: scaled
start: 2024-01-01
months: 6
groups:
  - asset_class: crypto
    timeframes: &timeframes [15m, 1h, 4h]
    symbols: [BTCUSDT, ETHUSDT, SOLUSDT, XRPUSDT, ADAUSDT, DOGEUSDT, LTCUSDT, LINKUSDT]
  - asset_class: stocks
    timeframes: *timeframes
    symbols: [AAPL, MSFT, NVDA, AMZN, SPY, QQQ]
  - asset_class: forex
    timeframes: *timeframes
    symbols: [EURUSD, GBPUSD, USDJPY]
  - asset_class: indices
    timeframes: *timeframes
    symbols: [SPX, NDX]
  - asset_class: commodities
    timeframes: *timeframes
    symbols: [GOLD]
YAML
"$OHLCX" synth --universe "$work/scaled.yaml" --out "$work/data" 2>/dev/null ||
    fail "synth --universe failed"
[ "$(ls "$work/data" | wc -l)" -eq 60 ] || fail "expected 60 files: $(ls "$work/data" | wc -l)"

ceiling=$((192 * 1024 * 1024))
"$OHLCX" run --universe "$work/scaled.yaml" --data "$work/data" --out "$work/run" \
    --cnn per-market --epochs 2 --window 32 --jobs 2 --max-memory 192M >"$work/run.log" 2>&1 ||
    fail "scaled run failed: $(grep -E 'error|warning' "$work/run.log" | tail -3)"
metrics="$work/run/metrics.json"
samples=$(json_get "$metrics" '.rows.samples')
# Forex trades 24 hours on 129 days from 2 January to 28 June 2024, so each
# pair has 3099 1h, 12396 15m and 801 4h bars. Forex in the 6.5-hour stock
# session (868, 3224 and 248 bars) left the run 218,151 samples.
[ "$samples" -gt 250000 ] || fail "only $samples samples"
peak=$(json_get "$metrics" '.resources.peak_rss_bytes')
[ "$peak" -gt 0 ] && [ "$peak" -lt "$ceiling" ] || fail "peak RSS $peak bytes, ceiling $ceiling"
for stage in load features cnn xgboost evaluate; do
    stage_peak=$(json_get "$metrics" ".resources.$stage.peak_rss_bytes")
    [ "$stage_peak" -le "$peak" ] || fail "$stage peak $stage_peak above the run's $peak"
done
[ "$(json_get "$metrics" '[.per_asset_class[].asset_class] | join(",")')" = \
    crypto,stocks,forex,indices,commodities ] || fail "asset classes: $(json_get "$metrics" '[.per_asset_class[].asset_class] | join(",")')"
[ "$(json_get "$metrics" '.per_series | length')" -ge 50 ] ||
    fail "only $(json_get "$metrics" '.per_series | length') series trained"
check_between "test accuracy" "$(json_get "$metrics" '.test.accuracy')" 0.45 0.55
echo "scaled universe: $samples samples, peak RSS $((peak / 1048576)) MiB (ceiling 192 MiB)"
