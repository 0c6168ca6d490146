# A run killed with SIGKILL after a CNN epoch and continued with --resume
# ends with the same CNN weights, XGBoost model and metrics (timings apart) as
# a run never interrupted. --resume rejects other arguments, changed inputs,
# a damaged checkpoint and a folder without checkpoints, and leaves the folder
# as it was. A failed new run leaves it too, and a new run removes the CNN
# files of the run it replaces.
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
# (132: epochs completed, 136: finished, in the version 2 layout of a
# two-stage network, include/ohlcx/nn.h), or 0 when the file is missing.
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
    finished0=$(checkpoint_field "$work/b/checkpoints/cnn-000.ckpt" 136)
    finished1=$(checkpoint_field "$work/b/checkpoints/cnn-001.ckpt" 136)
    if [ ! -e "$work/b/metrics.json" ] && [ "$finished0$finished1" != 11 ]; then
        killed=1
        break
    fi
    echo "attempt $attempt: the kill came after training ended, retrying" >&2
done
[ "$killed" = 1 ] || fail "could not kill run b during CNN training in 3 attempts"
[ ! -e "$work/b/model/manifest.json" ] || fail "the killed run left a manifest"
done0=$(checkpoint_field "$work/b/checkpoints/cnn-000.ckpt" 132)
done1=$(checkpoint_field "$work/b/checkpoints/cnn-001.ckpt" 132)
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
jq 'del(.timings_s, .resources, .cost)' "$work/a/metrics.json" >"$work/a.json"
jq 'del(.timings_s, .resources, .cost)' "$work/b/metrics.json" >"$work/b.json"
cmp -s "$work/a.json" "$work/b.json" ||
    fail "metrics differ after resuming: $(diff "$work/a.json" "$work/b.json" | head -20)"

# The same folder written with a trailing slash, or as a relative path, is
# the same input.
"$OHLCX" run --data "$work/data/" --epochs 4 --jobs 2 --seed 7 --out "$work/b" --resume \
    >/dev/null 2>"$work/err" || fail "resume with --data DIR/: $(tail -1 "$work/err")"
(cd "$work" && "$OHLCX" run --data ./data --epochs 4 --jobs 2 --seed 7 --out "$work/b" --resume \
    >/dev/null 2>"$work/err") || fail "resume with --data ./data: $(tail -1 "$work/err")"

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

# snapshot NAME: lists the size and checksum of every file of run b, so
# that a rejected resume can be shown to leave the folder untouched.
snapshot() {
    (cd "$work/b" && find . -type f | LC_ALL=C sort | xargs cksum) >"$work/$1.files"
}

# expect_rejected NAME PATTERN: runs the resume of run b, expects exit
# status 2, PATTERN in the last stderr line, and every file of b unchanged.
expect_rejected() {
    snapshot before
    status=0
    "$OHLCX" run "$@" --out "$work/b" --resume >/dev/null 2>"$work/err" || status=$?
    [ "$status" -eq 2 ] || fail "$name: exit status $status, expected 2"
    tail -1 "$work/err" | grep -Eq -e "$pattern" || fail "$name: $(tail -1 "$work/err")"
    snapshot after
    cmp -s "$work/before.files" "$work/after.files" ||
        fail "$name: the rejected resume changed run b: $(diff "$work/before.files" "$work/after.files")"
}

# A rejected resume leaves metrics, manifest, models and checkpoints as they
# were: changed inputs (a file moved away, a row appended), and a truncated
# checkpoint of the second CNN, which only training used to read.
mv "$work/data/GOOG-15m.csv" "$work/GOOG-15m.csv"
name="resume without an input" pattern="input series differ" expect_rejected "$@"
mv "$work/GOOG-15m.csv" "$work/data/GOOG-15m.csv"
cp "$work/data/GOOG-15m.csv" "$work/GOOG-15m.csv"
tail -1 "$work/GOOG-15m.csv" | awk -F, 'BEGIN { OFS = "," }
    { $1 = sprintf("%.0f", $1 + 900000); $7 = sprintf("%.0f", $7 + 900000); print }' \
    >>"$work/data/GOOG-15m.csv"
name="resume with a row appended" pattern="input series differ" expect_rejected "$@"
mv "$work/GOOG-15m.csv" "$work/data/GOOG-15m.csv"
[ -e "$work/b/metrics.json" ] || fail "run b has no metrics.json before the checkpoint cases"
cp "$work/b/checkpoints/cnn-001.ckpt" "$work/cnn-001.ckpt"
truncate -s 100 "$work/b/checkpoints/cnn-001.ckpt"
name="resume from a truncated checkpoint" \
    pattern="cnn-001\.ckpt: truncated checkpoint: 100 bytes" expect_rejected "$@"
mv "$work/cnn-001.ckpt" "$work/b/checkpoints/cnn-001.ckpt"

# A damaged CNN checkpoint is reported, not trained over.
printf 'garbage' >"$work/b/checkpoints/cnn-000.ckpt"
name="resume from a damaged checkpoint" pattern="cnn-000\.ckpt: truncated checkpoint" \
    expect_rejected "$@"

# A new run whose input is invalid fails before it touches the folder of an
# earlier run.
{
    head -20 "$work/data/GOOG-15m.csv"
    sed -n 21p "$work/data/GOOG-15m.csv" | awk -F, 'BEGIN { OFS = "," } { $2 = "4x2"; print }'
} >"$work/BAD-15m.csv"
snapshot before
status=0
"$OHLCX" run --data "$work/BAD-15m.csv" --out "$work/b" >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "run on an invalid number: exit status $status, expected 2"
grep -q "BAD-15m\.csv:21:.*invalid number '4x2'" "$work/err" ||
    fail "run on an invalid number: $(tail -1 "$work/err")"
snapshot after
cmp -s "$work/before.files" "$work/after.files" ||
    fail "the failed run changed run b: $(diff "$work/before.files" "$work/after.files")"

# A new run with one CNN in place of two removes the second CNN's files.
"$OHLCX" run --data "$work/data/GOOG-15m.csv" --epochs 1 --window 16 --jobs 2 \
    --out "$work/b" >"$work/c.log" 2>&1 || fail "run c failed: $(tail -3 "$work/c.log")"
[ "$(cd "$work/b/model" && ls cnn-*.bin)" = cnn-000.bin ] ||
    fail "run c left CNN files of the earlier run: $(ls "$work/b/model")"
[ "$(cd "$work/b/checkpoints" && ls | tr '\n' ' ')" = \
    "cnn-000.ckpt run.json stages.json xgb-baseline.json xgboost.json " ] ||
    fail "run c left checkpoints of the earlier run: $(ls "$work/b/checkpoints")"
echo "resume: killed after epoch $done0, resumed to identical weights and metrics"
