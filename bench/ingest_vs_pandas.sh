#!/bin/sh
# Side-by-side: `ohlcx ingest` (parse + validate + store) against pandas.read_csv
# (parse only) on the same large Binance kline file, in one run. Prints the
# median of RUNS runs of each and the ratio.
#
# usage: bench/ingest_vs_pandas.sh [OHLCX] [MONTHS] [RUNS]
#   OHLCX   the command (default: build/ohlcx)
#   MONTHS  months of 1m bars in the file (default: 24, about 1.05 million rows)
#   RUNS    runs of each tool (default: 5)
set -eu

ohlcx=${1:-build/ohlcx}
months=${2:-24}
runs=${3:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/ohlcx-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 -c 'import pandas' 2>/dev/null || {
    echo "bench: pandas is missing: apt-get install python3-pandas" >&2
    exit 2
}

"$ohlcx" synth --out "$work/data" --symbols BTCUSDT --timeframes 1m --months "$months" 2>/dev/null
file="$work/data/BTCUSDT-1m.csv"
bytes=$(stat -c %s "$file")
rows=$(($(wc -l <"$file") - 1))
echo "file: Binance kline CSV, 12 columns, $rows rows, $bytes bytes"

median() {
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

seconds() {
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

# Times pandas.read_csv alone, without starting Python or importing pandas.
pandas_seconds() {
    /usr/bin/python3 -c "
import sys, time, pandas
start = time.perf_counter()
pandas.read_csv(sys.argv[1])
print(time.perf_counter() - start)" "$1"
}

# calc EXPRESSION: prints the value of an awk expression.
calc() {
    awk "BEGIN { print $1 }"
}

: >"$work/ohlcx1" >"$work/ohlcx2" >"$work/pandas"
for run in $(seq "$runs"); do
    rm -rf "$work/store"
    seconds "$ohlcx" ingest --jobs 1 --store "$work/store" "$file" >>"$work/ohlcx1"
    rm -rf "$work/store"
    seconds "$ohlcx" ingest --jobs 2 --store "$work/store" "$file" >>"$work/ohlcx2"
    pandas_seconds "$file" >>"$work/pandas"
done

ohlcx1=$(median <"$work/ohlcx1")
ohlcx2=$(median <"$work/ohlcx2")
pandas=$(median <"$work/pandas")
store_bytes=$(du -sb "$work/store" | cut -f1)
printf 'ohlcx ingest --jobs 1: %.3f s median, %.0f MB/s (whole command)\n' "$ohlcx1" "$(calc "$bytes / $ohlcx1 / 1e6")"
printf 'ohlcx ingest --jobs 2: %.3f s median, %.0f MB/s (whole command)\n' "$ohlcx2" "$(calc "$bytes / $ohlcx2 / 1e6")"
printf 'pandas.read_csv:       %.3f s median, %.0f MB/s (the call alone)\n' "$pandas" "$(calc "$bytes / $pandas / 1e6")"
printf 'ratio pandas / ohlcx --jobs 1: %.1f\n' "$(calc "$pandas / $ohlcx1")"
printf 'store: %d bytes, CSV / store = %.1f\n' "$store_bytes" "$(calc "$bytes / $store_bytes")"
