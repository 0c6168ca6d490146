# `ohlcx bench cnn` on a tiny configuration: the output's keys and format,
# the FLOP count of the architecture, the windows it writes, and its usage
# errors. Timing values are only checked for being positive and consistent.
. "$(dirname "$0")/lib.sh"

# value FILE KEY: the value of KEY=value in FILE.
value() {
    sed -n "s/^.*\<$2=\([0-9.]*\).*/\1/p" "$1" | head -n 1
}

"$OHLCX" bench cnn --samples 512 --window 16 --seed 3 --sgemm \
    --write-windows "$work/windows.f32" >"$work/out" 2>"$work/err" ||
    fail "bench cnn exited with $?: $(cat "$work/err")"

tail -n 1 "$work/out" | grep -Eq '^samples_per_s=[0-9]+$' ||
    fail "last line '$(tail -n 1 "$work/out")' is not samples_per_s=N"
grep -qx 'architecture=C5 W16 conv5x32 conv5x64 dense32 dense1' "$work/out" ||
    fail "architecture line missing: $(cat "$work/out")"
grep -qx 'threads=1 batch=256 samples=512 seed=3' "$work/out" ||
    fail "configuration line missing: $(cat "$work/out")"

# Window 16: L1 = 12, L2 = 8. conv1 2 x 12 x 32 x 5 x 5 = 19200, conv2
# 2 x 8 x 64 x 5 x 32 = 163840, dense1 2 x 32 x 128 = 8192, dense2 64;
# training 2 x 19200 + 3 x (163840 + 8192 + 64) = 554688.
[ "$(value "$work/out" flop_per_sample)" = 554688 ] ||
    fail "flop_per_sample = $(value "$work/out" flop_per_sample), expected 554688"

rate=$(value "$work/out" samples_per_s)
gflops=$(value "$work/out" gflop_per_s)
check_between samples_per_s "$rate" 1 1e12
check_between "gflop_per_s / (samples_per_s x flop_per_sample)" \
    "$(awk -v g="$gflops" -v r="$rate" 'BEGIN { print g * 1e9 / (r * 554688) }')" 0.99 1.01
check_between train_loss "$(value "$work/out" train_loss)" 0.01 2

for product in conv2_forward conv2_weight_grad conv2_input_grad; do
    grep -Eq "^sgemm_$product=[0-9.]+ \(GFLOP/s, M=[0-9]+ N=[0-9]+ K=[0-9]+" "$work/out" ||
        fail "sgemm_$product line missing: $(cat "$work/out")"
done
# Batch 256 x L2 8 = 2048 rows of 5 x 32 = 160 taps, 64 filters.
grep -q '^sgemm_conv2_forward=.*M=2048 N=64 K=160,' "$work/out" ||
    fail "conv2 forward shape: $(grep '^sgemm_conv2_forward' "$work/out")"

# 512 windows x 5 channels x 16 bars, then 512 labels, 4 bytes each.
[ "$(stat -c %s "$work/windows.f32")" -eq $((512 * 5 * 16 * 4 + 512 * 4)) ] ||
    fail "windows file has $(stat -c %s "$work/windows.f32") bytes, expected 165888"

# Label 0 is 1 exactly when channel 0 of window 0's last bar (float 15) is
# positive. Every label is 0 or 1.
last_bar=$(od -An -v -t f4 -j $((15 * 4)) -N 4 "$work/windows.f32" | tr -d ' ')
label=$(od -An -v -t f4 -j $((512 * 5 * 16 * 4)) -N 4 "$work/windows.f32" | tr -d ' ')
expected=$(awk -v v="$last_bar" 'BEGIN { print (v > 0) ? 1 : 0 }')
[ "$label" = "$expected" ] || fail "label 0 is $label, last bar of channel 0 is $last_bar"
others=$(od -An -v -t f4 -j $((512 * 5 * 16 * 4)) "$work/windows.f32" | tr -s ' ' '\n' |
    grep -v -e '^$' -e '^0$' -e '^1$' | wc -l)
[ "$others" -eq 0 ] || fail "$others labels are neither 0 nor 1"

# The same seed writes the same windows, another seed other ones.
"$OHLCX" bench cnn --samples 512 --window 16 --seed 3 --write-windows "$work/again.f32" \
    >/dev/null 2>&1 || fail "second run failed"
cmp -s "$work/windows.f32" "$work/again.f32" || fail "seed 3 wrote different windows"
"$OHLCX" bench cnn --samples 512 --window 16 --seed 4 --write-windows "$work/other.f32" \
    >/dev/null 2>&1 || fail "seed 4 run failed"
! cmp -s "$work/windows.f32" "$work/other.f32" || fail "seeds 3 and 4 wrote the same windows"

# expect_usage NAME PATTERN ARGS...: exit status 2 and PATTERN on stderr.
expect_usage() {
    name=$1 pattern=$2
    shift 2
    status=0
    "$OHLCX" "$@" >"$work/out" 2>"$work/err" || status=$?
    [ "$status" -eq 2 ] || fail "$name: exit status $status, expected 2"
    grep -Eq -e "$pattern" "$work/err" || fail "$name: stderr '$(cat "$work/err")' lacks /$pattern/"
}

expect_usage "no benchmark" "missing the benchmark name" bench
expect_usage "unknown benchmark" "unknown benchmark 'gbdt'" bench gbdt
expect_usage "short window" "invalid --window '8'" bench cnn --window 8
expect_usage "zero threads" "invalid --threads '0'" bench cnn --threads 0
expect_usage "extra argument" "unexpected argument 'more'" bench cnn --samples 16 more
expect_usage "unwritable windows file" "cannot create $work/none/w.f32" \
    bench cnn --samples 16 --window 16 --write-windows "$work/none/w.f32"

"$OHLCX" bench --help | grep -q '^usage: ohlcx bench cnn' || fail "bench --help prints no usage"
echo "ok"
