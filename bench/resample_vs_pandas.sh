#!/bin/sh
# Side-by-side: `ohlcx resample` of one year of 1m bars to 3m 5m 15m 30m 1h 2h
# 4h 6h 8h 12h 1d 3d 1w 1M 3M against pandas resample of the same bars, in
# one run. Each run is a fresh process of each tool. Prints the median of
# RUNS runs of: ohlcx's resampling stage (from its "stages" log line), the
# whole ohlcx command (reading the store, resampling, writing 15 series),
# and pandas' resampling (after read_csv), with the ratios.
#
# usage: bench/resample_vs_pandas.sh [OHLCX] [RUNS]
#   OHLCX   the command (default: build/ohlcx)
#   RUNS    runs of each tool (default: 5)
set -eu

ohlcx=${1:-build/ohlcx}
runs=${2:-5}
here=$(dirname "$0")
work=$(mktemp -d "${TMPDIR:-/tmp}/ohlcx-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
targets=3m,5m,15m,30m,1h,2h,4h,6h,8h,12h,1d,3d,1w,1M,3M

/usr/bin/python3 -c 'import pandas' 2>/dev/null || {
    echo "bench: pandas is missing: apt-get install python3-pandas" >&2
    exit 2
}

"$ohlcx" synth --out "$work/data" --symbols BTCUSDT --timeframes 1m --months 12 2>/dev/null
file="$work/data/BTCUSDT-1m.csv"
"$ohlcx" ingest --store "$work/source" "$file" >/dev/null 2>&1
echo "input: $(($(wc -l <"$file") - 1)) 1m bars (synthetic BTCUSDT, 12 months), targets $targets"

median() {
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

: >"$work/stage" >"$work/command" >"$work/pandas"
for run in $(seq "$runs"); do
    rm -rf "$work/store"
    cp -r "$work/source" "$work/store"
    start=$(date +%s.%N)
    "$ohlcx" resample --store "$work/store" --to "$targets" >/dev/null 2>"$work/log"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }' >>"$work/command"
    sed -n 's/.*reading sources, \([0-9.]*\) s resampling.*/\1/p' "$work/log" >>"$work/stage"
    /usr/bin/python3 "$here/resample_pandas.py" "$file" | awk '{ print $2 }' >>"$work/pandas"
done

stage=$(median <"$work/stage")
command=$(median <"$work/command")
pandas=$(median <"$work/pandas")
echo "ohlcx resampling stage: $stage s (runs: $(tr '\n' ' ' <"$work/stage"))"
echo "ohlcx whole command:    $command s (runs: $(tr '\n' ' ' <"$work/command"))"
echo "pandas resample:        $pandas s (runs: $(tr '\n' ' ' <"$work/pandas"))"
awk -v s="$stage" -v c="$command" -v p="$pandas" \
    'BEGIN { printf "ratio pandas / ohlcx resampling: %.1f; pandas / whole ohlcx command: %.1f\n", p / s, p / c }'
