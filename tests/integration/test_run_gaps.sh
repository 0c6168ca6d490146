# `ohlcx run` fills gaps of up to 3 bars and leaves out every sample whose
# window or label reads across a longer gap, from files and from a store, with
# per-symbol and global CNNs. Gaps follow the market calendar: a US stock's
# nights and weekends are no gaps.
. "$(dirname "$0")/lib.sh"

# write_bars FILE FIRST1 LAST1 FIRST2 LAST2: 1m bars from 2024-01-01 00:00
# UTC (1704067200000 ms), one per slot k = 0..409, except the slots
# FIRST1..LAST1 and FIRST2..LAST2. Prices follow a fixed zigzag so that
# labels take both values.
write_bars() {
    awk -v a1="$2" -v b1="$3" -v a2="$4" -v b2="$5" 'BEGIN {
    print "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore"
    for (k = 0; k < 410; k++) {
        if ((k >= a1 && k <= b1) || (k >= a2 && k <= b2))
            continue
        o = 100 + (k * 7) % 13 / 4
        c = 100 + ((k + 1) * 7) % 13 / 4
        high = (o > c ? o : c) + 0.5
        low = (o < c ? o : c) - 0.5
        ms = 1704067200000 + k * 60000
        printf "%.0f,%.2f,%.2f,%.2f,%.2f,%d,%.0f,1000,10,5,500,0\n", ms, o, high, low, c,
            10 + k % 5, ms + 59999
    }
}' >"$1"
}

# BTCUSDT lacks slots 100-101 (a 2-bar gap, filled) and 300-309 (a 10-bar
# gap, left open): 398 rows in the file, 400 bars after the fill.
write_bars "$work/BTCUSDT-1m.csv" 100 101 300 309
[ "$(wc -l <"$work/BTCUSDT-1m.csv")" -eq 399 ] || fail "expected 398 bars and a header"

# With --window 20 --horizon 3, sample t reads bars t-20..t+3, so the long
# gap, between rows 299 and 300 of the filled series, excludes the W + h = 23
# samples t = 297..319. The split of n = 400 (dataset.h): first 34, M = 363,
# g = 23, M' = 294, T = 205, X = 82, V = 44, so validation covers bars
# [285, 329) and contains all 23. The filled gap (rows 100-101) excludes none.
run_gaps() {
    name=$1
    shift
    "$OHLCX" run "$@" --out "$work/$name" --window 20 --horizon 3 --epochs 1 --jobs 1 \
        >"$work/$name.log" 2>&1 || fail "$name: run failed: $(tail -3 "$work/$name.log")"
}

# check_excluded NAME READ FILLED: the exclusion figures of run NAME, which
# read READ bars and filled FILLED.
check_excluded() {
    name=$1 read=$2 filled=$3
    metrics="$work/$name/metrics.json"
    [ "$(json_get "$metrics" '.rows.samples_excluded')" = 23 ] ||
        fail "$name: rows.samples_excluded is $(json_get "$metrics" '.rows.samples_excluded'), expected 23"
    [ "$(json_get "$metrics" '.rows.samples_excluded_by_reason.window_spans_gap')" = 23 ] ||
        fail "$name: samples_excluded_by_reason.window_spans_gap is not 23"
    [ "$(json_get "$metrics" '.rows.filled')" = "$filled" ] ||
        fail "$name: rows.filled is $(json_get "$metrics" '.rows.filled'), expected $filled"
    [ "$(json_get "$metrics" '.rows.samples_by_part.validation')" = 21 ] ||
        fail "$name: validation has $(json_get "$metrics" '.rows.samples_by_part.validation') samples, expected 44 - 23 = 21"
    [ "$(json_get "$metrics" '.per_series[0].samples_excluded')" = 23 ] ||
        fail "$name: per_series samples_excluded is not 23"
    [ "$(json_get "$work/$name/model/manifest.json" '.series[0].split.validation.samples')" = 21 ] ||
        fail "$name: the manifest's validation samples are not 21"
    grep -q "rows: $read read, 0 dropped, 0 unparseable skipped, $filled filled in short gaps; .* samples, 23 excluded (window_spans_gap 23)" \
        "$work/$name.log" || fail "$name: rows line: $(grep '^rows:' "$work/$name.log")"
}

run_gaps file "$work/BTCUSDT-1m.csv"
grep -q "BTCUSDT-1m.csv: BTCUSDT 1m, 398 rows read, 0 unparseable rows skipped, 0 dropped, 2 bars filled in 1 short gap, 1 gap longer than 3 bars left open (10 bars missing)" \
    "$work/file.log" || fail "load line: $(grep 'rows read' "$work/file.log")"
grep -q "BTCUSDT-1m.csv: 23 samples excluded (window_spans_gap 23)" "$work/file.log" ||
    fail "no exclusion line: $(grep excluded "$work/file.log")"
[ "$(json_get "$work/file/model/manifest.json" '.series[0].bars')" = 400 ] ||
    fail "the filled series does not have 400 bars"
check_excluded file 398 2

# predict fills the short gap too, and warns when the scored bar's window
# reads across the long gap: in the file cut after minute 315 (rows 0..303)
# the last bar's window starts at minute 295, before the gap.
mkdir -p "$work/cut"
head -305 "$work/BTCUSDT-1m.csv" >"$work/cut/BTCUSDT-1m.csv"
"$OHLCX" predict --model "$work/file/model" --now "2024-01-02" "$work/cut/BTCUSDT-1m.csv" \
    >"$work/predict.csv" 2>"$work/predict.err" || fail "predict failed: $(cat "$work/predict.err")"
grep -q "^BTCUSDT,1m,2024-01-01 05:15:00," "$work/predict.csv" ||
    fail "no prediction for 05:15: $(cat "$work/predict.csv")"
grep -q "the window of the bar opening 2024-01-01 05:15:00 reads across a gap longer than 3 bars" \
    "$work/predict.err" || fail "no predict warning: $(cat "$work/predict.err")"
"$OHLCX" predict --model "$work/file/model" --now "2024-01-02" "$work/BTCUSDT-1m.csv" \
    >"$work/predict.csv" 2>"$work/predict.err" || fail "predict failed: $(cat "$work/predict.err")"
if grep -q "reads across a gap" "$work/predict.err"; then
    fail "predict warned for a window after the gap: $(cat "$work/predict.err")"
fi

run_gaps global --cnn global "$work/BTCUSDT-1m.csv"
check_excluded global 398 2

# ETHUSDT lacks slots 355-359 and 383-387, two 5-bar gaps before rows 355 and
# 378 of its 400 bars. They exclude t = 352..374 and 375..397, the whole test
# part [352, 397), so the series is skipped and BTCUSDT trains alone.
mkdir -p "$work/two"
cp "$work/BTCUSDT-1m.csv" "$work/two/"
write_bars "$work/two/ETHUSDT-1m.csv" 355 359 383 387
run_gaps two "$work/two"
grep -q "ETHUSDT-1m.csv: skipped, every sample of its test part reads across a gap longer than 3 bars" \
    "$work/two.log" || fail "two: no skip warning: $(grep ETHUSDT "$work/two.log")"
[ "$(json_get "$work/two/metrics.json" '.rows.series_skipped')" = 1 ] ||
    fail "two: rows.series_skipped is not 1"
[ "$(json_get "$work/two/metrics.json" '.per_series | length')" = 1 ] ||
    fail "two: ETHUSDT has a per_series row"
[ "$(json_get "$work/two/metrics.json" '.rows.samples_excluded')" = 23 ] ||
    fail "two: rows.samples_excluded is not 23 (BTCUSDT alone)"

# Ingest fills the short gap, so the run reads 400 stored bars and fills
# nothing more.
"$OHLCX" ingest --store "$work/store" "$work/BTCUSDT-1m.csv" >"$work/ingest.log" 2>&1 ||
    fail "ingest failed: $(tail -3 "$work/ingest.log")"
run_gaps store --store "$work/store"
check_excluded store 400 0

# A US stock's hourly bars: nights and weekends are no gaps, so nothing is
# excluded. Removing 7 rows in a row (a trading day of bars) opens one gap of
# 7 bars before row 80, which excludes the samples t = 77..99, all in
# cnn_train (bars [34, 170) for n near 430).
"$OHLCX" synth --out "$work/stock" --symbols GOOG --timeframes 1h --months 3 \
    >/dev/null 2>&1 || fail "synth failed"
run_gaps stock "$work/stock/GOOG-1h.csv"
[ "$(json_get "$work/stock/metrics.json" '.rows.samples_excluded')" = 0 ] ||
    fail "stock: nights and weekends excluded samples"
[ "$(json_get "$work/stock/metrics.json" '.rows.filled')" = 0 ] || fail "stock: bars were filled"

awk 'NR < 82 || NR > 88' "$work/stock/GOOG-1h.csv" >"$work/GOOG-1h.csv"
run_gaps stock_gap "$work/GOOG-1h.csv"
[ "$(json_get "$work/stock_gap/metrics.json" '.rows.samples_excluded')" = 23 ] ||
    fail "stock_gap: samples_excluded is $(json_get "$work/stock_gap/metrics.json" '.rows.samples_excluded'), expected 23"
[ "$(json_get "$work/stock_gap/model/manifest.json" '.series[0].split.cnn_train.samples_excluded')" = 23 ] ||
    fail "stock_gap: the 23 excluded samples are not all in cnn_train"
grep -q "1 gap longer than 3 bars left open (7 bars missing)" "$work/stock_gap.log" ||
    fail "stock_gap: load line: $(grep 'rows read' "$work/stock_gap.log")"
echo "run gaps: short gaps filled, samples across long gaps excluded"
