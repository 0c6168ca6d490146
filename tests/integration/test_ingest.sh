# `ohlcx ingest`, `ls` and `export`: real files go into the store, an export
# equals the source rows exactly (sorted, deduplicated), re-ingesting is a
# no-op, and an overlapping file merges with its conflicts reported.
. "$(dirname "$0")/lib.sh"

data=$(real_data_dir)
store="$work/store"

"$OHLCX" ingest --store "$store" --jobs 2 "$data/binance-kline-11col" "$data/yahoo-daily/GOOG.csv" \
    >"$work/ingest.out" 2>"$work/ingest.log" || fail "ingest failed: $(tail -3 "$work/ingest.log")"
grep -q "^ingest: 3 files (0 already ingested), 23172 rows read" "$work/ingest.out" ||
    fail "ingest summary: $(cat "$work/ingest.out")"

"$OHLCX" ls --store "$store" --json >"$work/ls.json" || fail "ls failed"
[ "$(json_get "$work/ls.json" '.series | length')" = 3 ] || fail "expected 3 series: $(cat "$work/ls.json")"
[ "$(json_get "$work/ls.json" '.series[] | select(.symbol == "ETHUSDT" and .timeframe == "1h") | .rows')" = 17520 ] ||
    fail "ETHUSDT 1h rows"
[ "$(json_get "$work/ls.json" '.series[] | select(.symbol == "ETHUSDT" and .timeframe == "1h") | .first_open_time')" = "2024-05-13 16:00:00" ] ||
    fail "ETHUSDT 1h first open time"
[ "$(json_get "$work/ls.json" '.series[] | select(.symbol == "GOOG") | .timeframe')" = 1d ] ||
    fail "GOOG timeframe"
"$OHLCX" ls --store "$store" | grep -q "^ETHUSDT *1d *crypto.* \(pass\|warn\)$" ||
    fail "ls table lacks ETHUSDT 1d with its verdict: $("$OHLCX" ls --store "$store")"
# GOOG lacks 4 weekdays, all unscheduled NYSE closures (Hurricane Sandy on
# 2012-10-29 and 30, and two days of mourning) that the calendar lists, so
# no bar is missing.
goog_missing="$(json_get "$work/ls.json" '.series[] | select(.symbol == "GOOG") | .quality.checks[] | select(.name == "missing_bars") | .count')"
[ -z "$goog_missing" ] || [ "$goog_missing" = 0 ] ||
    fail "GOOG quality summary: missing_bars $goog_missing, expected 0"

# Export equals the source: same open times and the same OHLCV values.
"$OHLCX" export --store "$store" ETHUSDT 1h --out "$work/eth.csv" || fail "export failed"
/usr/bin/python3 - "$data/binance-kline-11col/ETHUSDT-1h.csv" "$work/eth.csv" <<'PY' || fail "export differs from the source"
import csv, sys
def rows(path, time_scale):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return sorted({(int(r[0]) * time_scale,) + tuple(float(x) for x in r[1:6]) for r in reader})
source = rows(sys.argv[1], 1)
exported = rows(sys.argv[2], 1)
if source != exported:
    print(f"{len(source)} source rows, {len(exported)} exported", file=sys.stderr)
    for a, b in zip(source, exported):
        if a != b:
            print("first difference:", a, b, file=sys.stderr)
            break
    sys.exit(1)
PY

# Re-ingesting the same files changes nothing.
"$OHLCX" ingest --store "$store" "$data/binance-kline-11col" >"$work/again.out" 2>"$work/again.log" ||
    fail "second ingest failed"
grep -q "^ingest: 2 files (2 already ingested)" "$work/again.out" || fail "re-ingest: $(cat "$work/again.out")"

# A copy under another name, with more threads than files: a stored source
# file has its size, so it is hashed before it is read, and skipped.
mkdir "$work/copy"
cp "$data/yahoo-daily/GOOG.csv" "$work/copy/GOOG-1d.csv"
"$OHLCX" ingest --store "$store" --jobs 4 "$work/copy/GOOG-1d.csv" >"$work/copy.out" 2>&1 ||
    fail "ingest of a copy failed"
grep -q "^ingest: 1 file (1 already ingested), 0 rows read" "$work/copy.out" ||
    fail "copy re-ingest: $(cat "$work/copy.out")"

# An overlapping file merges: 3 new bars, 2 identical, 1 conflicting bar
# whose stored value is kept.
header='open_time,open,high,low,close,volume'
printf '%s\n1704067200000,10,12,9,11,100\n1704070800000,11,13,10,12,100\n1704074400000,12,14,11,13,100\n' "$header" >"$work/ABCUSDT-1h.csv"
"$OHLCX" ingest --store "$store" "$work/ABCUSDT-1h.csv" >/dev/null 2>&1 || fail "ingest ABCUSDT failed"
mkdir "$work/more"
printf '%s\n1704070800000,11,13,10,12,100\n1704074400000,12,14,11,13.5,100\n1704078000000,13,15,12,14,100\n1704081600000,14,16,13,15,100\n1704085200000,15,17,14,16,100\n1704067200000,10,12,9,11,100\n' "$header" >"$work/more/ABCUSDT-1h.csv"
"$OHLCX" ingest --store "$store" "$work/more/ABCUSDT-1h.csv" >"$work/merge.out" 2>"$work/merge.log" ||
    fail "merge ingest failed"
grep -q "3 bars added, 2 identical, 1 conflicting" "$work/merge.log" || fail "merge log: $(cat "$work/merge.log")"
grep -q "conflict at 2024-01-01 02:00:00" "$work/merge.log" || fail "conflict not named: $(cat "$work/merge.log")"
"$OHLCX" export --store "$store" ABCUSDT 1h >"$work/abc.csv" || fail "export ABCUSDT failed"
[ "$(wc -l <"$work/abc.csv")" -eq 7 ] || fail "expected 6 bars: $(cat "$work/abc.csv")"
grep -q '^1704074400000,12,14,11,13,100' "$work/abc.csv" || fail "conflicting bar was overwritten: $(cat "$work/abc.csv")"

# Training reads the series from the store; --symbol selects them.
"$OHLCX" run --store "$store" --symbol ETHUSDT --out "$work/run" --epochs 1 --jobs 1 \
    >"$work/run.log" 2>&1 || fail "run --store failed: $(tail -3 "$work/run.log")"
[ "$(json_get "$work/run/metrics.json" '.per_series | length')" = 2 ] || fail "expected ETHUSDT 1d and 1h"
[ "$(json_get "$work/run/metrics.json" '.rows.read')" = 18250 ] || fail "rows read from the store"
[ "$(json_get "$work/run/model/manifest.json" '.series[0].store_version')" = 1 ] ||
    fail "manifest lacks the store version"

# Unknown series: exit status 2 and one line.
status=0
"$OHLCX" export --store "$store" NOPE 1h >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "export of an unknown series: exit status $status"
# Reading commands never create a store at a mistyped folder.
status=0
"$OHLCX" ls --store "$work/no-such-store" >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "ls of a missing store: exit status $status, expected 2"
grep -q "no store at .*no-such-store" "$work/err" || fail "ls of a missing store: $(cat "$work/err")"
[ ! -e "$work/no-such-store" ] || fail "ls created a store at a missing folder"

# A damaged catalogue is bad input (exit status 2); moved away, it is rebuilt
# from the series files.
cp -r "$store" "$work/damaged"
head -c 100 "$store/catalog.sqlite" >"$work/damaged/catalog.sqlite"
rm -f "$work/damaged/catalog.sqlite-wal" "$work/damaged/catalog.sqlite-shm"
status=0
"$OHLCX" ls --store "$work/damaged" >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "damaged catalogue: exit status $status, expected 2 ($(cat "$work/err"))"
grep -q "catalog.sqlite is damaged" "$work/err" || fail "damaged catalogue: $(cat "$work/err")"
rm "$work/damaged/catalog.sqlite"
"$OHLCX" ls --store "$work/damaged" --json >"$work/rebuilt.json" 2>/dev/null || fail "rebuild failed"
"$OHLCX" ls --store "$store" --json >"$work/intact.json" || fail "ls of the intact store failed"
[ "$(json_get "$work/rebuilt.json" '.series | length')" = "$(json_get "$work/intact.json" '.series | length')" ] ||
    fail "the rebuilt catalogue lists another number of series"

# A file with no valid row fails with its name, not with a missing series.
printf 'open_time,open,high,low,close,volume\n1704067200000,-1,2,0.5,1.5,10\n' >"$work/BADUSDT-1m.csv"
status=0
"$OHLCX" ingest --store "$store" "$work/BADUSDT-1m.csv" >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "all rows invalid: exit status $status, expected 2"
grep -q "BADUSDT-1m.csv: no valid rows: its 1 row was dropped" "$work/err" ||
    fail "all rows invalid: $(grep -v 'info:' "$work/err")"

# The same file under another --symbol goes into that series.
"$OHLCX" ingest --store "$store" --symbol ABCCOPYUSDT "$work/ABCUSDT-1h.csv" >"$work/copy.out" 2>&1 ||
    fail "ingest under another symbol failed"
grep -q "3 bars added" "$work/copy.out" || fail "ingest under another symbol: $(cat "$work/copy.out")"

# Every real file ingests. Sources that share a symbol and timeframe (spot
# and futures BTCUSDT 1h, say) merge into one series, and their
# disagreements are reported as conflicts, not stored.
"$OHLCX" ingest --jobs 2 --bad-rows skip --store "$work/all" "$data"/*/ >"$work/all.out" 2>"$work/all.log" ||
    fail "ingest of every real folder failed: $(grep -v 'info:' "$work/all.log" | tail -3)"
grep -q "^ingest: 84 files (0 already ingested), 916351 rows read, 5 unparseable skipped" "$work/all.out" ||
    fail "ingest of every real folder: $(cat "$work/all.out")"
"$OHLCX" ls --store "$work/all" --json >"$work/all.json" || fail "ls of every real folder failed"
[ "$(json_get "$work/all.json" '.series | length')" = 51 ] || fail "expected 51 series"

echo "ingest: store, list, export, re-ingest and merge checked"
