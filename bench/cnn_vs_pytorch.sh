#!/bin/sh
# Side-by-side: one training pass of the default CNN with `ohlcx bench cnn`
# and with the same network in PyTorch (bench/cnn_pytorch.py, Debian's
# python3-torch on the CPU), on the same windows, batch and thread count, in
# one run. For 1 and 2 threads, runs each tool RUNS times, alternating, and
# prints the medians of samples/s and their ratio. Also prints the sgemm
# rate of the conv2 products beside the CNN's GFLOP/s, and the load average.
# Where the CPU has AVX512_BF16, it then compares the mixed precisions the same
# way: `ohlcx bench cnn --precision bf16` against PyTorch's bfloat16 autocast.
#
# usage: bench/cnn_vs_pytorch.sh [OHLCX] [RUNS] [SAMPLES] [BATCH] [WINDOW]
#   OHLCX    the command (default: build/ohlcx)
#   RUNS     runs of each tool per thread count (default: 5)
#   SAMPLES  windows in a pass (default: 16384)
#   BATCH    samples per mini-batch (default: 256)
#   WINDOW   bars per window (default: 64)
set -eu

ohlcx=${1:-build/ohlcx}
runs=${2:-5}
samples=${3:-16384}
batch=${4:-256}
window=${5:-64}
here=$(dirname "$0")
work=$(mktemp -d "${TMPDIR:-/tmp}/ohlcx-cnn.XXXXXX")
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 -c 'import torch' 2>/dev/null || {
    echo "bench: PyTorch is missing: apt-get install python3-torch" >&2
    exit 2
}

# value FILE KEY: the value of the last KEY=value in FILE.
value() {
    sed -n "s/^.*\<$2=\([0-9.]*\).*/\1/p" "$1" | tail -n 1
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

common="--samples $samples --batch $batch --window $window"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)"
echo "load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "torch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
echo "configuration: $samples windows of $window bars, batch $batch, $runs runs of each tool"

# ohlcx generates the windows from its seed, so every run below trains on
# the windows written here.
# shellcheck disable=SC2086
"$ohlcx" bench cnn $common --write-windows "$work/windows.f32" >/dev/null

# compare PRECISION THREADS: RUNS alternating runs of each tool; prints each
# run and the medians.
compare() {
    precision=$1
    threads=$2
    torch_flag=""
    [ "$precision" = bf16 ] && torch_flag=--bf16
    : >"$work/ohlcx.rates"
    : >"$work/ohlcx.gflops"
    : >"$work/torch.rates"
    run=1
    while [ "$run" -le "$runs" ]; do
        # shellcheck disable=SC2086
        "$ohlcx" bench cnn $common --threads "$threads" --precision "$precision" >"$work/ohlcx.txt"
        # shellcheck disable=SC2086
        /usr/bin/python3 "$here/cnn_pytorch.py" "$work/windows.f32" "$samples" "$window" \
            --threads "$threads" --batch "$batch" $torch_flag >"$work/torch.txt"
        value "$work/ohlcx.txt" samples_per_s >>"$work/ohlcx.rates"
        value "$work/ohlcx.txt" gflop_per_s >>"$work/ohlcx.gflops"
        value "$work/torch.txt" samples_per_s >>"$work/torch.rates"
        echo "run $run: ohlcx $(value "$work/ohlcx.txt" samples_per_s) samples/s" \
            "(train_loss $(value "$work/ohlcx.txt" train_loss))," \
            "pytorch $(value "$work/torch.txt" samples_per_s) samples/s" \
            "(train_loss $(value "$work/torch.txt" train_loss))"
        run=$((run + 1))
    done

    ohlcx_median=$(median <"$work/ohlcx.rates")
    gflops_median=$(median <"$work/ohlcx.gflops")
    torch_median=$(median <"$work/torch.rates")
    awk -v o="$ohlcx_median" -v g="$gflops_median" -v p="$torch_median" -v t="$threads" \
        -v m="$precision" 'BEGIN {
        printf "median, %s, threads=%d: ohlcx %.0f samples/s (%.2f GFLOP/s), pytorch %.0f samples/s, ohlcx / pytorch = %.2f\n", m, t, o, g, p, o / p }'
}

for threads in 1 2; do
    echo
    echo "fp32, threads=$threads"
    # shellcheck disable=SC2086
    "$ohlcx" bench cnn $common --threads "$threads" --sgemm >"$work/sgemm.txt"
    grep '^sgemm_' "$work/sgemm.txt"
    compare fp32 "$threads"
done

# shellcheck disable=SC2086
if "$ohlcx" bench cnn $common --samples "$batch" --precision bf16 >/dev/null 2>&1; then
    for threads in 1 2; do
        echo
        echo "bf16, threads=$threads"
        compare bf16 "$threads"
    done
else
    echo
    echo "bf16: not available on this CPU or build; mixed precision not compared"
fi

echo
echo "load average at end: $(cut -d ' ' -f 1-3 /proc/loadavg)"
