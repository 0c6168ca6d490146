# `ohlcx check`: exit status by verdict, the JSON report, and the
# cross-source comparison of two files with the same symbol and timeframe.
. "$(dirname "$0")/lib.sh"

header='open_time,open,high,low,close,volume'
mkdir "$work/a" "$work/b"
# Hours 00:00 to 05:00 on 2024-01-01 (1704067200000 ms, then + 3600000 each).
{
    echo "$header"
    for i in 0 1 2 3 4 5; do
        echo "$((1704067200000 + i * 3600000)),100,110,99,$((100 + i)),10"
    done
} >"$work/a/ABCUSDT-1h.csv"
# The second source lacks 03:00 and closes 02:00 at 102.5 instead of 102:
# |102 / 102.5 - 1| = 0.4878%, above the default tolerance of 0.1%.
{
    echo "$header"
    for i in 0 1 2 4 5; do
        close=$((100 + i))
        [ "$i" -eq 2 ] && close=102.5
        echo "$((1704067200000 + i * 3600000)),100,110,99,$close,10"
    done
} >"$work/b/ABCUSDT-1h.csv"

"$OHLCX" check --now "2024-01-01 06:00" --json "$work/report.json" "$work/a" "$work/b" \
    >"$work/out" 2>"$work/err" || status=$?
# b misses one of 6 hourly bars (16.7% > 1%), so it fails and the exit status is 1.
[ "${status:-0}" -eq 1 ] || fail "check: exit status ${status:-0}, expected 1: $(cat "$work/out")"
grep -q "^cross-source ABCUSDT 1h: .*a/ABCUSDT-1h.csv against .*b/ABCUSDT-1h.csv: 5 bars compared, 1 close differs by more than 0.1% (largest 0.4878%), 0 missing in the first, 1 in the second" "$work/out" ||
    fail "cross-source line: $(grep cross-source "$work/out")"
[ "$(json_get "$work/report.json" '.cross_source[0].close_mismatches')" = 1 ] || fail "JSON close_mismatches"
[ "$(json_get "$work/report.json" '.cross_source[0].missing_in_b')" = 1 ] || fail "JSON missing_in_b"
[ "$(json_get "$work/report.json" '.series | length')" = 2 ] || fail "JSON series count"
[ "$(json_get "$work/report.json" '.series[0].verdict')" = pass ] || fail "a should pass"
[ "$(json_get "$work/report.json" '.series[1].verdict')" = fail ] || fail "b should fail"

# A complete file passes with exit status 0; a missing one is bad input.
"$OHLCX" check --now "2024-01-01 06:00" "$work/a" >/dev/null 2>&1 || fail "check of a complete file failed"
status=0
"$OHLCX" check "$work/nowhere.csv" >/dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "check of a missing file: exit status $status, expected 2"
echo "check: verdicts, report and cross-source comparison checked"
