# The streaming path of `ohlcx ingest` (rows checked and stored batch by
# batch) leaves the store that the whole-series path leaves. Every real file
# is ingested both ways, and so is a generated 1m series with gaps across
# batch and chunk boundaries, with one and two threads. Every series' export
# and catalogue entry are compared. Memory does not grow with the file.
. "$(dirname "$0")/lib.sh"

data=$(real_data_dir)

# catalogue STORE: the ls JSON without the stale_series examples, whose
# value and note are measured from the clock of each run.
catalogue() {
    "$OHLCX" ls --store "$1" --json |
        jq -S '.series[] |= (.quality.checks[]? |= (if .name == "stale_series" then del(.examples) else . end))'
}

# same_stores A B: fails unless the two stores list the same series with
# the same quality summaries, and export every series byte for byte alike.
same_stores() {
    catalogue "$1" >"$work/a.json" || fail "ls $1 failed"
    catalogue "$2" >"$work/b.json" || fail "ls $2 failed"
    cmp -s "$work/a.json" "$work/b.json" ||
        fail "catalogues of $1 and $2 differ: $(diff "$work/a.json" "$work/b.json" | head -20)"
    jq -r '.series[] | "\(.symbol) \(.timeframe)"' "$work/a.json" >"$work/series.txt"
    while read -r symbol timeframe; do
        "$OHLCX" export --store "$1" "$symbol" "$timeframe" --out "$work/a.csv" 2>/dev/null ||
            fail "export of $symbol $timeframe from $1 failed"
        "$OHLCX" export --store "$2" "$symbol" "$timeframe" --out "$work/b.csv" 2>/dev/null ||
            fail "export of $symbol $timeframe from $2 failed"
        cmp -s "$work/a.csv" "$work/b.csv" || fail "$symbol $timeframe exports differ"
    done <"$work/series.txt"
    wc -l <"$work/series.txt"
}

# Every real file, one file per ingest (files of one series in one folder
# would merge, which only the whole-series path does), once each way.
# Files that the stream cannot take go to the whole-series path either way.
streamed=0
find "$data" -type f ! -name '*.md' | sort >"$work/files.txt"
while read -r file; do
    name=$(basename "$file")
    OHLCX_INGEST_STREAM=0 "$OHLCX" ingest --store "$work/whole" --jobs 1 --bad-rows skip \
        "$file" >/dev/null 2>"$work/whole.log" || fail "$name: whole-series ingest failed"
    "$OHLCX" ingest --store "$work/stream" --jobs 1 --bad-rows skip "$file" \
        >/dev/null 2>"$work/stream.log" || fail "$name: ingest failed: $(tail -2 "$work/stream.log")"
    if OHLCX_INGEST_STREAM=require "$OHLCX" ingest --store "$work/required.$streamed" --jobs 1 \
        --bad-rows skip "$file" >/dev/null 2>&1; then
        streamed=$((streamed + 1))
    fi
done <"$work/files.txt"
series=$(same_stores "$work/whole" "$work/stream")
echo "real files: $series series alike, $streamed files streamed"
# The crypto files whose names give the timeframe and whose rows come
# in order: Binance (11 and 12 columns, datetime and ISO variants, futures,
# close-time), Bybit and Kraken, counted by hand from PROVENANCE.md. One
# more since forex streams: the MT5 daily EURUSD_D1, whose Monday bars
# follow closed weekends, so auto gives it the forex calendar. The other
# forex, stock and index files have no timeframe in their names, resolve to
# the inferred calendar (broker time, extended hours) or repeat rows.
[ "$streamed" -ge 21 ] || fail "only $streamed real files streamed"

# Generated 1m series: 200,000 bars (more than three store chunks), with
# gaps of 1, 3 and 5 bars (filled, filled, left open) at rows near batch
# and chunk boundaries, ingested with one and two threads.
"$OHLCX" synth --out "$work/synth" --symbols BTCUSDT --timeframes 1m --months 5 >/dev/null 2>&1 ||
    fail "synth failed"
awk 'NR == 1 || !(NR == 16386 || (NR >= 65536 && NR <= 65538) || (NR >= 131070 && NR <= 131074)) ' \
    "$work/synth/BTCUSDT-1m.csv" | head -200001 >"$work/BTCUSDT-1m.csv"
for jobs in 1 2; do
    OHLCX_INGEST_STREAM=0 "$OHLCX" ingest --store "$work/gw$jobs" --jobs "$jobs" "$work/BTCUSDT-1m.csv" \
        >/dev/null 2>&1 || fail "whole-series ingest of the generated file failed"
    OHLCX_INGEST_STREAM=require "$OHLCX" ingest --store "$work/gs$jobs" --jobs "$jobs" \
        "$work/BTCUSDT-1m.csv" >/dev/null 2>"$work/gs.log" ||
        fail "streamed ingest with --jobs $jobs failed: $(tail -2 "$work/gs.log")"
    same_stores "$work/gw$jobs" "$work/gs$jobs" >/dev/null
done
# 200,000 rows read; gaps of 1 and 3 bars filled (4 bars), the 5-bar gap
# left open.
rows=$("$OHLCX" ls --store "$work/gs2" --json | jq '.series[0].rows')
[ "$rows" = 200004 ] || fail "generated series has $rows rows, expected 200004"
filled=$("$OHLCX" ls --store "$work/gs1" --json |
    jq '.series[0].quality.repairs[] | select(.name == "filled_gaps") | .count')
[ "$filled" = 4 ] || fail "filled_gaps $filled, expected 4"

# Appends: the generated series ingested from four files in time order
# (70,000, 10, 65,536 and 64,454 rows, so the stored partial last chunk has
# 4,464, 4,474 and 4,474 rows before the second, third and fourth file).
# The first file starts the series; each later one must stream
# (OHLCX_INGEST_STREAM=require) and print the summary line that the
# whole-series path prints. The stores are compared after the second and
# the fourth file (an export of 200,000 rows takes about 1.5 s).
awk 'NR == 1 || !(NR == 16386 || (NR >= 65536 && NR <= 65538) || (NR >= 131070 && NR <= 131074)) ' \
    "$work/synth/BTCUSDT-1m.csv" >"$work/full.csv"
# part NAME FIRST LAST: a file of the data lines FIRST to LAST of full.csv.
part() {
    mkdir -p "$work/$1"
    { head -1 "$work/full.csv"; sed -n "$(($2 + 1)),$(($3 + 1))p" "$work/full.csv"; } \
        >"$work/$1/BTCUSDT-1m.csv"
}
part a 1 70000
part b 70001 70010
part c 70011 135546
part d 135547 200000
OHLCX_INGEST_STREAM=0 "$OHLCX" ingest --store "$work/aw" --jobs 1 "$work/a/BTCUSDT-1m.csv" \
    >/dev/null 2>&1 || fail "whole-series ingest of the first part failed"
"$OHLCX" ingest --store "$work/as" --jobs 1 "$work/a/BTCUSDT-1m.csv" >/dev/null 2>&1 ||
    fail "ingest of the first part failed"
jobs=1
for name in b c d; do
    OHLCX_INGEST_STREAM=0 "$OHLCX" ingest --store "$work/aw" --jobs "$jobs" \
        "$work/$name/BTCUSDT-1m.csv" >"$work/aw.out" 2>/dev/null ||
        fail "whole-series append of part $name failed"
    OHLCX_INGEST_STREAM=require "$OHLCX" ingest --store "$work/as" --jobs "$jobs" \
        "$work/$name/BTCUSDT-1m.csv" >"$work/as.out" 2>"$work/as.log" ||
        fail "streamed append of part $name failed: $(tail -2 "$work/as.log")"
    cmp -s "$work/aw.out" "$work/as.out" ||
        fail "part $name: summary lines differ: $(cat "$work/aw.out" "$work/as.out")"
    [ "$name" = c ] || same_stores "$work/aw" "$work/as" >/dev/null
    jobs=2
done
# The four parts are the first 200,000 rows of the generated file, which
# the series stored from one file has as 200,004 rows with its filled gaps.
rows=$("$OHLCX" ls --store "$work/as" --json | jq '.series[0].rows')
[ "$rows" = 200004 ] || fail "series appended from four files has $rows rows, expected 200004"

# A file whose first row repeats the stored last bar (data line 200,000)
# merges: required streaming fails with exit 2, and by default it takes the
# whole-series path with the same result: 1 identical bar and 100 added.
part e 200000 200100
status=0
OHLCX_INGEST_STREAM=require "$OHLCX" ingest --store "$work/as" --jobs 1 "$work/e/BTCUSDT-1m.csv" \
    >/dev/null 2>"$work/e.log" || status=$?
[ "$status" = 2 ] || fail "required streaming of an overlapping file: exit $status, expected 2"
grep -q "needs the whole-series path" "$work/e.log" || fail "overlap message: $(cat "$work/e.log")"
OHLCX_INGEST_STREAM=0 "$OHLCX" ingest --store "$work/aw" --jobs 1 "$work/e/BTCUSDT-1m.csv" \
    >"$work/aw.out" 2>/dev/null || fail "whole-series ingest of the overlapping file failed"
"$OHLCX" ingest --store "$work/as" --jobs 1 "$work/e/BTCUSDT-1m.csv" >"$work/as.out" 2>/dev/null ||
    fail "ingest of the overlapping file failed"
cmp -s "$work/aw.out" "$work/as.out" ||
    fail "overlap: summary lines differ: $(cat "$work/aw.out" "$work/as.out")"
rows=$("$OHLCX" ls --store "$work/as" --json | jq '.series[0].rows')
[ "$rows" = 200104 ] || fail "overlap: $rows rows, expected 200104 (100 bars added)"

# New prices with 3 decimals where the stored ones have at most 2. Each of
# open, high, low and close of data lines 200,101 to 200,600 gets 0.005
# more, so the whole stored close column is encoded again at 3 decimals.
# The comparison of the stores also covers the overlapping file.
part f 200101 200600
awk -F, -v OFS=, 'NR > 1 { for (i = 2; i <= 5; i++) $i = sprintf("%.3f", $i + 0.005) } { print }' \
    "$work/f/BTCUSDT-1m.csv" >"$work/f.csv"
mv "$work/f.csv" "$work/f/BTCUSDT-1m.csv"
OHLCX_INGEST_STREAM=0 "$OHLCX" ingest --store "$work/aw" --jobs 1 "$work/f/BTCUSDT-1m.csv" \
    >"$work/aw.out" 2>/dev/null || fail "whole-series ingest of 3-decimal prices failed"
OHLCX_INGEST_STREAM=require "$OHLCX" ingest --store "$work/as" --jobs 2 "$work/f/BTCUSDT-1m.csv" \
    >"$work/as.out" 2>"$work/as.log" || fail "streamed append of 3-decimal prices failed: $(tail -2 "$work/as.log")"
cmp -s "$work/aw.out" "$work/as.out" ||
    fail "3 decimals: summary lines differ: $(cat "$work/aw.out" "$work/as.out")"
same_stores "$work/aw" "$work/as" >/dev/null
last_close=$(tail -1 "$work/f/BTCUSDT-1m.csv" | cut -d, -f5)
"$OHLCX" export --store "$work/as" BTCUSDT 1m --out "$work/f-export.csv" 2>/dev/null ||
    fail "export after the 3-decimal append failed"
tail -1 "$work/f-export.csv" | grep -q ",$last_close," ||
    fail "last close $last_close not in the export: $(tail -1 "$work/f-export.csv")"

# An error in the reading thread reaches the user with its message: a bad
# row far into the file (line 150001), with the reader and the storing side
# on two threads, and nothing stored.
mkdir "$work/bad"
awk 'NR == 150001 { sub(/^[0-9]+/, "x") } { print }' "$work/BTCUSDT-1m.csv" >"$work/bad/BTCUSDT-1m.csv"
status=0
"$OHLCX" ingest --store "$work/badstore" --jobs 2 "$work/bad/BTCUSDT-1m.csv" >/dev/null \
    2>"$work/bad.log" || status=$?
[ "$status" = 2 ] || fail "bad row with --jobs 2: exit $status, expected 2"
grep -q "ohlcx: error: $work/bad/BTCUSDT-1m.csv:150001:1: " "$work/bad.log" ||
    fail "bad row message: $(cat "$work/bad.log")"
[ "$("$OHLCX" ls --store "$work/badstore" --json | jq '.series | length')" = 0 ] ||
    fail "a failed stream left a series"

# A stock file cannot stream: required streaming fails with exit 2.
status=0
OHLCX_INGEST_STREAM=require "$OHLCX" ingest --store "$work/stock" "$data/yahoo-daily/GOOG.csv" \
    >/dev/null 2>"$work/stock.log" || status=$?
[ "$status" = 2 ] || fail "required streaming of a stock file: exit $status, expected 2"
grep -q "GOOG.csv: OHLCX_INGEST_STREAM=require, but the file needs the whole-series path" \
    "$work/stock.log" || fail "stock message: $(cat "$work/stock.log")"
[ ! -e "$work/stock/catalog.sqlite" ] || [ "$("$OHLCX" ls --store "$work/stock" --json | jq '.series | length')" = 0 ] ||
    fail "a refused stream left a series"

# Memory: a file of about 438,000 rows peaks under 8 MB above one of
# 100,000 (the whole-series path keeps about 86 bytes a row: 29 MB more).
peak_kb() {
    rm -rf "$work/peak"
    /usr/bin/time -f %M "$OHLCX" ingest --store "$work/peak" --jobs 1 "$1" 2>&1 >/dev/null | tail -1
}
mkdir "$work/short"
head -100001 "$work/synth/BTCUSDT-1m.csv" >"$work/short/BTCUSDT-1m.csv"
"$OHLCX" synth --out "$work/long" --symbols BTCUSDT --timeframes 1m --months 10 >/dev/null 2>&1 ||
    fail "synth failed"
short=$(peak_kb "$work/short/BTCUSDT-1m.csv")
long=$(peak_kb "$work/long/BTCUSDT-1m.csv")
echo "peak RSS: $short KB for 100,000 rows, $long KB for $(($(wc -l <"$work/long/BTCUSDT-1m.csv") - 1)) rows"
[ $((long - short)) -lt 8192 ] || fail "peak RSS grew by $((long - short)) KB with the file"
# OHLCX_INGEST_STREAM=off reads the file whole: its 439,200 rows of about 86
# bytes each take 36 MB more than the stream's peak.
off=$(OHLCX_INGEST_STREAM=off peak_kb "$work/long/BTCUSDT-1m.csv")
[ $((off - long)) -gt 20000 ] || fail "OHLCX_INGEST_STREAM=off peaked at $off KB, the stream at $long KB"

# A gzip file named .csv streams: the bound of its rows comes from its first
# bytes, as the reader recognises it, not from its name. 1,200,000 bars whose
# prices take two values compress to about 4.3 MB, past the bound of an
# uncompressed file of that size: a quarter of its bytes in rows plus one
# chunk, 1,145,000 rows. (%.0f: mawk's %d stops at 2^31.)
mkdir "$work/gz"
awk 'BEGIN { srand(7); print "open_time,open,high,low,close,volume"
             for (i = 0; i < 1200000; i++)
                 printf "%.0f,100.%d,101,99,100.%d,%d\n", 1704067200000 + i * 60000,
                        int(rand() * 2), int(rand() * 2), 1 + int(rand() * 2) }' |
    gzip -c >"$work/gz/SOLUSDT-1m.csv"
OHLCX_INGEST_STREAM=require "$OHLCX" ingest --store "$work/gzstore" "$work/gz/SOLUSDT-1m.csv" \
    >/dev/null 2>"$work/gz.log" || fail "a gzip file named .csv did not stream: $(tail -1 "$work/gz.log")"
[ "$("$OHLCX" ls --store "$work/gzstore" --json | jq '.series[0].rows')" = 1200000 ] ||
    fail "gzip file named .csv: wrong row count"
