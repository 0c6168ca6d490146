#!/bin/sh
# Side-by-side: every quality check of ohlcx_check_series() against the same
# checks written with pandas and numpy, on the same in-memory 1m series (one
# clean, one dirty), in one run. Neither side times file parsing. Prints the
# median of RUNS runs of each and the ratios.
#
# usage: bench/checks_vs_pandas.sh [BENCH] [RUNS]
#   BENCH  the bench_checks program (default: build/bench_checks, built by
#          `cmake --build build --target bench_checks`)
#   RUNS   runs of each (default: 5)
set -eu

bench=${1:-build/bench_checks}
runs=${2:-5}
here=$(dirname "$0")
work=$(mktemp -d "${TMPDIR:-/tmp}/ohlcx-checks.XXXXXX")
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 -c 'import pandas' 2>/dev/null || {
    echo "bench: pandas is missing: apt-get install python3-pandas" >&2
    exit 2
}

"$bench" --runs "$runs" --dump "$work" | tee "$work/ohlcx.txt"
/usr/bin/python3 "$here/checks_pandas.py" "$work" "$runs" | tee "$work/pandas.txt"

# rate FILE PATTERN: the M bars/s figure of the first line matching PATTERN.
rate() {
    grep "$2" "$1" | head -n 1 | sed 's/.*: \([0-9.]*\) M bars\/s.*/\1/'
}

for data in clean dirty; do
    ohlcx=$(rate "$work/ohlcx.txt" "$data, policy report")
    rolling=$(rate "$work/pandas.txt" "pandas rolling $data")
    blocks=$(rate "$work/pandas.txt" "pandas blocks $data")
    awk -v o="$ohlcx" -v r="$rolling" -v b="$blocks" -v d="$data" 'BEGIN {
        printf "ratio on %s data, policy report: ohlcx / pandas rolling = %.0f, ohlcx / pandas blocks = %.0f\n", d, o / r, o / b }'
done
