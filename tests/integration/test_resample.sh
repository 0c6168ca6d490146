# ohlcx resample: Binance spot BTCUSDT 1m bars of December 2024 resampled in
# a store, against the exchange's own 15m candles of the same days from the
# same source; the catalogue's derived_from column in ls; reruns, open bins,
# an ingested target that is kept, and usage errors.
. "$OHLCX_SOURCE_DIR/tests/integration/lib.sh"

real=$(real_data_dir)
minutes=$real/binance-closetime-localtz/BTCUSDT_1m_2024-12.csv
quarters=$real/binance-closetime-localtz/BTCUSDT_15m_2024.csv

"$OHLCX" ingest --store "$work/fine" "$minutes" >/dev/null 2>&1 || fail "ingest of the 1m file failed"
"$OHLCX" ingest --store "$work/exchange" "$quarters" >/dev/null 2>&1 || fail "ingest of the 15m file failed"

"$OHLCX" resample --store "$work/fine" --to 15m,1h,1M BTCUSDT >"$work/out" 2>"$work/err" ||
    fail "resample failed: $(cat "$work/err")"
# 41761 minutes from 2024-11-30 23:00 to 2024-12-29 23:00. The last 15m and
# 1h bins contain one minute and are still open, and November contains one
# hour.
grep -q "^BTCUSDT 15m from 1m: 2785 bins (1 partial, 1 still open), 2785 added" "$work/out" ||
    fail "15m line: $(cat "$work/out")"
grep -q "^BTCUSDT 1h from 1m: 697 bins (1 partial, 1 still open)" "$work/out" ||
    fail "1h line: $(cat "$work/out")"
grep -q "^BTCUSDT 1M from 1m: 2 bins (2 partial, 1 still open)" "$work/out" ||
    fail "1M line: $(cat "$work/out")"
grep -q "^resample: 1 symbol, 3 series written (0 skipped); 3484 bins added" "$work/out" ||
    fail "summary: $(cat "$work/out")"

# ls marks the derived series.
"$OHLCX" ls --store "$work/fine" --json >"$work/ls.json" || fail "ls failed"
[ "$(json_get "$work/ls.json" '.series[] | select(.timeframe == "15m") | .derived_from')" = 1m ] ||
    fail "15m is not marked as derived from 1m"
[ "$(json_get "$work/ls.json" '.series[] | select(.timeframe == "1m") | .derived_from')" = null ] ||
    fail "the ingested 1m series is marked as derived"
"$OHLCX" ls --store "$work/fine" | grep -q "^BTCUSDT *15m .* 1m *-$" ||
    fail "ls table lacks derived_from: $("$OHLCX" ls --store "$work/fine")"

# Every complete 15m bin equals the exchange's candle: prices exactly and
# volume to float rounding. The still-open bin has flags 4 (partial).
"$OHLCX" export --store "$work/fine" BTCUSDT 15m >"$work/derived.csv" || fail "export failed"
"$OHLCX" export --store "$work/exchange" BTCUSDT 15m >"$work/exchange.csv" || fail "export failed"
awk -F, 'NR == FNR { if (FNR > 1) row[$1] = $0; next }
    FNR == 1 || $NF != 0 { next }
    { total++; split(row[$1], x, ",")
      d = $6 - x[6]; if (d < 0) d = -d
      if (($1 in row) && $2 == x[2] && $3 == x[3] && $4 == x[4] && $5 == x[5] && d <= 1e-9 * x[6]) same++ }
    END { print same + 0, total + 0 }' "$work/exchange.csv" "$work/derived.csv" >"$work/match"
[ "$(cat "$work/match")" = "2784 2784" ] || fail "complete 15m bins matching: $(cat "$work/match"), expected 2784 2784"
[ "$(tail -n 1 "$work/derived.csv" | awk -F, '{ print $1, $NF }')" = "1735513200000 4" ] ||
    fail "last 15m bin: $(tail -n 1 "$work/derived.csv")"

# A rerun finds every bin stored.
"$OHLCX" resample --store "$work/fine" --to 15m >"$work/out" 2>&1 || fail "rerun failed"
grep -q "^BTCUSDT 15m from 1m: 2785 bins .*, 0 added, 2785 identical, 0 replaced" "$work/out" ||
    fail "rerun: $(cat "$work/out")"

# A growing store: the first 1000 minutes make 66 complete bins and an open
# one of 10 minutes. Once the rest is ingested, that bin is replaced by the
# complete one, which equals the exchange's candle like every other.
mkdir "$work/part"
head -n 1001 "$minutes" >"$work/part/BTCUSDT_1m_2024-12.csv"
"$OHLCX" ingest --store "$work/grow" "$work/part/BTCUSDT_1m_2024-12.csv" >/dev/null 2>&1 ||
    fail "ingest of the first minutes failed"
"$OHLCX" resample --store "$work/grow" --to 15m >"$work/out" 2>&1 || fail "first resample failed"
grep -q "^BTCUSDT 15m from 1m: 67 bins (1 partial, 1 still open), 67 added" "$work/out" ||
    fail "first resample: $(cat "$work/out")"
"$OHLCX" ingest --store "$work/grow" "$minutes" >/dev/null 2>&1 || fail "ingest of the rest failed"
"$OHLCX" resample --store "$work/grow" --to 15m >"$work/out" 2>&1 || fail "second resample failed"
grep -q "^BTCUSDT 15m from 1m: 2785 bins (1 partial, 1 still open), 2718 added, 66 identical, 1 replaced" "$work/out" ||
    fail "second resample: $(cat "$work/out")"
"$OHLCX" export --store "$work/grow" BTCUSDT 15m >"$work/grown.csv" || fail "export failed"
cmp -s "$work/grown.csv" "$work/derived.csv" || fail "the grown 15m series differs from the one resampled at once"

# --complete-only drops the open bin; an ingested 15m series is kept as it is.
"$OHLCX" ingest --store "$work/both" "$minutes" "$quarters" >/dev/null 2>&1 || fail "ingest of both failed"
"$OHLCX" resample --store "$work/both" --to 15m,1h --complete-only >"$work/out" 2>"$work/err" ||
    fail "resample --complete-only failed: $(cat "$work/err")"
grep -q "^BTCUSDT 1h from 1m: 696 bins (0 partial, 1 still open dropped), 696 added" "$work/out" ||
    fail "complete-only 1h: $(cat "$work/out")"
grep -q "BTCUSDT 15m skipped: the store has an ingested 15m series" "$work/err" ||
    fail "ingested 15m not kept: $(cat "$work/err")"
"$OHLCX" ls --store "$work/both" --json >"$work/ls.json" || fail "ls failed"
[ "$(json_get "$work/ls.json" '.series[] | select(.timeframe == "15m") | "\(.rows) \(.derived_from)"')" = "34945 null" ] ||
    fail "the ingested 15m series changed"

# Usage errors: one line, exit status 2.
expect_usage_error() {
    pattern=$1
    shift
    status=0
    "$OHLCX" resample "$@" >/dev/null 2>"$work/err" || status=$?
    [ "$status" -eq 2 ] || fail "resample $*: exit status $status, expected 2"
    [ "$(grep -vc ": info: " "$work/err")" -eq 1 ] || fail "resample $*: more than one error line: $(cat "$work/err")"
    grep -q "$pattern" "$work/err" || fail "resample $*: $(cat "$work/err")"
}
expect_usage_error "missing --to" --store "$work/fine"
expect_usage_error "missing --store" --to 1h
expect_usage_error "invalid timeframe '45m' in --to" --store "$work/fine" --to 1h,45m
expect_usage_error "timeframe 1h is listed twice in --to '1h,60m'" --store "$work/fine" --to 1h,60m
expect_usage_error "empty item in --to '1h,,4h'" --store "$work/fine" --to 1h,,4h
expect_usage_error "invalid --day-start 'noon'" --store "$work/fine" --to 1d --day-start noon
expect_usage_error "invalid --session-start '25:00'" --store "$work/fine" --to 1d --session-start 25:00
expect_usage_error "symbol ETHUSDT has no ingested series" --store "$work/fine" --to 1h ETHUSDT
expect_usage_error "unknown time zone 'Mars/Olympus'" --store "$work/fine" --to 1d --session-zone Mars/Olympus
echo "resample: ok"
