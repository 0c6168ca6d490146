# The scratch file of `ohlcx run`, where the XGBoost stage keeps the CNN
# embedding and probability of every xgb_train, validation and test sample.
# The CNNs embed each of those samples once. A resumed run that restores the
# XGBoost models embeds only the test samples. A run leaves no scratch file,
# finished or killed. A scratch file that cannot be written stops the run
# with exit status 2 and one line that names the folder and the bytes.
#
# The expected counts, by hand: each series has 1065 bars, so with the
# default window 64 and horizon 1 (the split of 1065 bars worked out in
# tests/unit/test_dataset.c) xgb_train has 225 samples, validation 120 and
# test 122. Two series make 450, 240 and 244, and with an embedding of 32
# floats plus the probability the file takes (450 + 240 + 244) x 33 x 4 =
# 123,288 bytes.
. "$(dirname "$0")/lib.sh"

# write_klines FILE SEED: 1065 one-minute Binance klines from 2024-01-01
# 00:00 UTC, a random walk of up to 0.2% a bar.
write_klines() {
    awk -v seed="$2" 'BEGIN {
        srand(seed); price = 100; t = 1704067200000
        for (i = 0; i < 1065; i++) {
            open = price; price = price * (1 + (rand() - 0.5) / 250)
            high = (open > price ? open : price) * (1 + rand() / 1000)
            low = (open < price ? open : price) * (1 - rand() / 1000)
            volume = 1 + rand() * 10
            printf "%.0f,%.6f,%.6f,%.6f,%.6f,%.4f,%.0f,%.4f,%d,%.4f,%.4f,0\n", t, open, high, low,
                price, volume, t + 59999, volume * price, 10 + i % 7, volume / 2,
                volume * price / 2
            t += 60000
        }
    }' >"$1"
}

mkdir "$work/data"
write_klines "$work/data/BTCUSDT-1m.csv" 1
write_klines "$work/data/ETHUSDT-1m.csv" 2
cat >"$work/cnn.yaml" <<'YAML'
cnn:
  layers:
    - {filters: 4, kernel: 3}
    - {filters: 8, kernel: 3}
  embedding: 32
  epochs: 1
YAML
run() {
    "$OHLCX" run --data "$work/data" --config "$work/cnn.yaml" --jobs 2 "$@"
}

run --out "$work/a" >/dev/null 2>"$work/a.log" || fail "run failed: $(tail -3 "$work/a.log")"
for part in xgb_train:450 validation:240 test:244; do
    [ "$(json_get "$work/a/metrics.json" ".rows.samples_by_part.${part%:*}")" = "${part#*:}" ] ||
        fail "the run has $(json_get "$work/a/metrics.json" ".rows.samples_by_part.${part%:*}") ${part%:*} samples, not ${part#*:} as derived by hand"
done
grep -q 'embedded 450 xgb_train, 240 validation and 244 test samples (1.00, 1.00 and 1.00 times each) in [0-9.]* s, into a scratch file of 0.1 MiB' "$work/a.log" ||
    fail "the run did not embed each sample once: $(grep embedded "$work/a.log")"
[ "$(ls -A "$work/a" | tr '\n' ' ')" = "checkpoints metrics.json model " ] ||
    fail "the run folder has more than its outputs: $(ls -A "$work/a")"

# same_outputs DIR: fails unless DIR has run a's metrics.json (apart from
# timings_s, resources and cost) and model files.
same_outputs() {
    jq -S 'del(.timings_s, .resources, .cost)' "$work/a/metrics.json" >"$work/a.json"
    jq -S 'del(.timings_s, .resources, .cost)' "$1/metrics.json" >"$work/b.json"
    cmp -s "$work/a.json" "$work/b.json" || fail "$1: metrics.json differs from the run's"
    for file in "$work/a/model/"*; do
        cmp -s "$file" "$1/model/${file##*/}" || fail "$1: ${file##*/} differs from the run's"
    done
}

# Killed while XGBoost trains, with the scratch file open: no file stays,
# and the resumed run embeds every part once again.
status=0
OHLCX_TEST_KILL_AT=xgboost:middle run --out "$work/b" >/dev/null 2>"$work/b.log" || status=$?
[ "$status" -eq 137 ] || fail "the run killed in xgboost ended with status $status, not 137"
[ "$(ls -A "$work/b" | tr '\n' ' ')" = "checkpoints model " ] ||
    fail "the killed run left more than its checkpoints and models: $(ls -A "$work/b")"
run --out "$work/b" --resume >/dev/null 2>"$work/b.log" ||
    fail "the resume after xgboost failed: $(tail -3 "$work/b.log")"
grep -q 'embedded 450 xgb_train, 240 validation and 244 test samples (1.00, 1.00 and 1.00 times each)' "$work/b.log" ||
    fail "the resume after xgboost did not embed each sample once: $(grep embedded "$work/b.log")"
same_outputs "$work/b"

# Killed after the xgboost stage was recorded: the resumed run restores both
# models and embeds only the test samples, once.
status=0
OHLCX_TEST_KILL_AT=evaluate:start run --out "$work/c" >/dev/null 2>"$work/c.log" || status=$?
[ "$status" -eq 137 ] || fail "the run killed in evaluate ended with status $status, not 137"
run --out "$work/c" --resume >/dev/null 2>"$work/c.log" ||
    fail "the resume after evaluate failed: $(tail -3 "$work/c.log")"
grep -q 'embedded 0 xgb_train, 0 validation and 244 test samples (0.00, 0.00 and 1.00 times each)' "$work/c.log" ||
    fail "the restoring resume embedded more than the test samples: $(grep embedded "$work/c.log")"
same_outputs "$work/c"

# A file size limit of 64 blocks (32 KiB in dash's 512-byte blocks, 64 KiB
# in bash's 1024-byte blocks) lets the run write its checkpoints and CNNs,
# a few KiB each, but not the 123,288 bytes of the scratch file. The
# command ignores SIGXFSZ, so the write fails with EFBIG instead of the
# signal killing the run (status 153).
status=0
(ulimit -f 64; run --out "$work/d") >/dev/null 2>"$work/d.log" || status=$?
[ "$status" -eq 2 ] || fail "a scratch file over the size limit ended with status $status, not 2: $(tail -3 "$work/d.log")"
[ "$(grep -c 'error' "$work/d.log")" -eq 1 ] || fail "expected one error line: $(grep error "$work/d.log")"
grep -q "^ohlcx: error: cannot write 123288 bytes (0.1 MiB) to a scratch file in $work/d: File too large: raise the file size limit (ulimit -f) or write the run to another --out folder$" "$work/d.log" ||
    fail "unexpected error for a scratch file over the size limit: $(grep error "$work/d.log")"
[ "$(ls -A "$work/d" | tr '\n' ' ')" = "checkpoints model " ] ||
    fail "the failed run left more than its checkpoints and models: $(ls -A "$work/d")"

# metrics.json goes through a temporary name: with "metrics.json.tmp" taken
# by a folder, the write fails and leaves no metrics.json at all, where a
# write in place would have made one (or half of one, on a full disk).
mkdir -p "$work/e/metrics.json.tmp"
status=0
run --out "$work/e" >/dev/null 2>"$work/e.log" || status=$?
[ "$status" -eq 2 ] || fail "a run whose metrics.json cannot be written ended with status $status, not 2"
grep -q "^ohlcx: error: cannot create $work/e/metrics.json.tmp: Is a directory" "$work/e.log" ||
    fail "unexpected error for an unwritable metrics.json: $(grep error "$work/e.log")"
[ ! -e "$work/e/metrics.json" ] || fail "the failed write left a metrics.json"
