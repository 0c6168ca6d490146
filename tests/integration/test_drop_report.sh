# Nothing is dropped silently: rows removed by validation and unparseable
# rows skipped under --bad-rows skip are logged per file and reason, and
# counted in metrics.json.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT --timeframes 1h --months 1 \
    2>/dev/null || fail "synth failed"
file="$work/data/BTCUSDT-1h.csv"
[ "$(wc -l <"$file")" -eq 745 ] || fail "expected 744 bars and a header in $file"

# January 2024 has 744 hourly bars; the last opens 2024-01-31 23:00 UTC
# (1706742000000 ms). Append, out of time order:
#   line 746: an exact copy of line 10 (duplicate)
#   line 747: line 20 with another volume (conflict)
#   line 748: a new bar with high below low (high_below_low)
#   line 749: a new bar with a zero close (nonpositive_price)
#   line 750: text in the high column (unparseable, skipped)
{
    sed -n 10p "$file"
    sed -n 20p "$file" | awk -F, -v OFS=, '{ $6 = $6 + 1; print }'
    echo '1706745600000,100,90,110,100,5,1706749199999,500,10,2,200,0'
    echo '1706749200000,100,110,90,0,5,1706752799999,500,10,2,200,0'
    echo '1706752800000,100,abc,90,100,5,1706756399999,500,10,2,200,0'
} >>"$file"

"$OHLCX" run --data "$file" --out "$work/run" --epochs 1 --jobs 1 --bad-rows skip \
    >"$work/run.log" 2>&1 || fail "run failed: $(tail -3 "$work/run.log")"

grep -q "BTCUSDT-1h.csv:750: skipped row: .*high" "$work/run.log" ||
    fail "no log line for the skipped row: $(grep BTCUSDT-1h.csv "$work/run.log")"
grep -q "BTCUSDT-1h.csv: BTCUSDT 1h, 748 rows read, 1 unparseable row skipped, 4 dropped (duplicate 1, conflict 1, nonpositive_price 1, high_below_low 1), rows sorted by time" "$work/run.log" ||
    fail "drop log line: $(grep 'rows read' "$work/run.log")"

metrics="$work/run/metrics.json"
[ "$(json_get "$metrics" '.rows.read')" = 748 ] || fail "rows.read is not 748"
[ "$(json_get "$metrics" '.rows.dropped')" = 4 ] || fail "rows.dropped is not 4"
[ "$(json_get "$metrics" '.rows.bad_rows_skipped')" = 1 ] || fail "rows.bad_rows_skipped is not 1"
for reason in duplicate conflict nonpositive_price high_below_low; do
    [ "$(json_get "$metrics" ".rows.dropped_by_reason.$reason")" = 1 ] ||
        fail "dropped_by_reason.$reason is not 1"
done
[ "$(json_get "$metrics" '.rows.dropped_by_reason.outside_range')" = 0 ] ||
    fail "dropped_by_reason.outside_range is not 0"
# The synthetic hours have no gap, so nothing is filled or excluded
# (test_run_gaps.sh covers both).
[ "$(json_get "$metrics" '.rows.filled')" = 0 ] || fail "rows.filled is not 0"
[ "$(json_get "$metrics" '.rows.samples_excluded_by_reason.window_spans_gap')" = 0 ] ||
    fail "samples_excluded_by_reason.window_spans_gap is not 0"
grep -q "^rows: 748 read, 4 dropped, 1 unparseable skipped, 0 filled in short gaps; [0-9]* samples, 0 excluded (window_spans_gap 0)$" \
    "$work/run.log" || fail "rows line: $(grep '^rows:' "$work/run.log")"
# Hourly bars in a file named as daily are kept but reported.
cp "$work/data/BTCUSDT-1h.csv" "$work/ETHUSDT-1d.csv"
"$OHLCX" run --data "$work/ETHUSDT-1d.csv" --out "$work/daily" --epochs 1 --jobs 1 --bad-rows skip \
    >"$work/daily.log" 2>&1 || fail "run on the misnamed file failed: $(tail -3 "$work/daily.log")"
grep -q "ETHUSDT-1d.csv: bars are a median of 3600 seconds apart, but the timeframe 1d is 86400 seconds" \
    "$work/daily.log" || fail "no spacing warning: $(grep warning "$work/daily.log")"
# A series whose close never moves gets a warning, not a silent 100% accuracy.
awk -F, -v OFS=, 'NR == 1 { print; next } { $2 = 100; $3 = 100; $4 = 100; $5 = 100; print }' \
    "$work/data/BTCUSDT-1h.csv" | head -745 >"$work/FLATUSDT-1h.csv"
"$OHLCX" run --data "$work/FLATUSDT-1h.csv" --out "$work/flat" --epochs 1 --jobs 1 --bad-rows skip \
    >"$work/flat.log" 2>&1 || fail "run on the flat series failed: $(tail -3 "$work/flat.log")"
grep -q "FLATUSDT-1h.csv: every label is 0 (the close never rises over 1 bars" "$work/flat.log" ||
    fail "no warning for a flat series: $(grep warning "$work/flat.log")"
echo "drop report: every dropped row counted by reason"
