# A run killed with SIGKILL after a CNN epoch and continued with --resume
# ends with the same CNN weights, XGBoost model and metrics (timings apart) as
# a run never interrupted. --resume rejects other arguments and a folder
# without checkpoints.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,GOOG --timeframes 15m --months 6 \
    2>/dev/null || fail "synth failed"
# Window 64 makes a BTCUSDT epoch take about 0.5 s on one 2-core machine, so
# the kill below lands inside the training.
set -- --data "$work/data" --epochs 4 --jobs 2 --seed 7

"$OHLCX" run "$@" --out "$work/a" >"$work/a.log" 2>&1 ||
    fail "uninterrupted run failed: $(tail -3 "$work/a.log")"
total_epochs=$(grep -c '^cnn: epoch ' "$work/a.log")

# checkpoint_field FILE OFFSET: prints the int32 at OFFSET of a checkpoint
# (80: epochs completed, 84: finished), or 0 when the file is missing.
checkpoint_field() {
    if [ -e "$1" ]; then
        od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '
    else
        echo 0
    fi
}

# Start the run, wait for the first epoch's checkpoint and kill it. A kill
# that comes after every CNN finished tests nothing, so retry then.
killed=0
for attempt in 1 2 3; do
    rm -rf "$work/b"
    "$OHLCX" run "$@" --out "$work/b" >"$work/b.log" 2>&1 &
    pid=$!
    while [ ! -e "$work/b/checkpoints/cnn-000.ckpt" ]; do
        kill -0 "$pid" 2>/dev/null || fail "run b ended before its first checkpoint: $(tail -3 "$work/b.log")"
        sleep 0.01
    done
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    finished0=$(checkpoint_field "$work/b/checkpoints/cnn-000.ckpt" 84)
    finished1=$(checkpoint_field "$work/b/checkpoints/cnn-001.ckpt" 84)
    if [ ! -e "$work/b/metrics.json" ] && [ "$finished0$finished1" != 11 ]; then
        killed=1
        break
    fi
    echo "attempt $attempt: the kill came after training ended, retrying" >&2
done
[ "$killed" = 1 ] || fail "could not kill run b during CNN training in 3 attempts"
[ ! -e "$work/b/model/manifest.json" ] || fail "the killed run left a manifest"
done0=$(checkpoint_field "$work/b/checkpoints/cnn-000.ckpt" 80)
done1=$(checkpoint_field "$work/b/checkpoints/cnn-001.ckpt" 80)
[ "$done0" -ge 1 ] || fail "the first checkpoint records $done0 epochs"

"$OHLCX" run "$@" --out "$work/b" --resume >"$work/resume.log" 2>&1 ||
    fail "resume failed: $(tail -3 "$work/resume.log")"
grep -q "cnn: resuming after epoch $done0 of 4" "$work/resume.log" ||
    grep -q "cnn: training finished after epoch $done0 of 4" "$work/resume.log" ||
    fail "resume did not continue after epoch $done0: $(grep '^cnn' "$work/resume.log")"
# Only the epochs that the killed run had not completed run again.
resumed_epochs=$(grep -c '^cnn: epoch ' "$work/resume.log" || true)
[ "$resumed_epochs" -eq $((total_epochs - done0 - done1)) ] ||
    fail "resume ran $resumed_epochs epochs, expected $total_epochs - $done0 - $done1"

for file in "$work"/a/model/cnn-*.bin; do
    cmp -s "$file" "$work/b/model/$(basename "$file")" ||
        fail "$(basename "$file") differs after resuming"
done
[ "$(ls "$work"/b/model/cnn-*.bin | wc -l)" -eq "$(ls "$work"/a/model/cnn-*.bin | wc -l)" ] ||
    fail "the resumed run wrote another number of CNN files"
cmp -s "$work/a/model/xgboost.json" "$work/b/model/xgboost.json" ||
    fail "xgboost.json differs after resuming"
jq 'del(.timings_s)' "$work/a/metrics.json" >"$work/a.json"
jq 'del(.timings_s)' "$work/b/metrics.json" >"$work/b.json"
cmp -s "$work/a.json" "$work/b.json" ||
    fail "metrics differ after resuming: $(diff "$work/a.json" "$work/b.json" | head -20)"

# Another argument than the checkpointed run's is rejected with exit status 2.
status=0
"$OHLCX" run --data "$work/data" --epochs 4 --jobs 2 --seed 8 --out "$work/b" --resume \
    >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "resume with another seed: exit status $status, expected 2"
grep -q -- "--seed is 8, but the checkpointed run used 7" "$work/err" ||
    fail "resume with another seed: $(cat "$work/err")"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "expected a one-line error: $(cat "$work/err")"

status=0
"$OHLCX" run "$@" --out "$work/none" --resume >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "resume without checkpoints: exit status $status, expected 2"
grep -q "no checkpoint" "$work/err" || fail "resume without checkpoints: $(cat "$work/err")"

# A damaged CNN checkpoint is reported, not trained over.
printf 'garbage' >"$work/b/checkpoints/cnn-000.ckpt"
status=0
"$OHLCX" run "$@" --out "$work/b" --resume >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "resume from a damaged checkpoint: exit status $status, expected 2"
grep -q "cnn-000.ckpt: truncated checkpoint" "$work/err" ||
    fail "resume from a damaged checkpoint: $(tail -1 "$work/err")"
echo "resume: killed after epoch $done0, resumed to identical weights and metrics"
