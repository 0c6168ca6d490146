# A run is killed with SIGKILL at the start, middle or end of a stage (load,
# features, cnn, xgboost, evaluate) and continued with --resume. It must end
# with the same metrics.json (timings, resources and cost apart) and the same
# model files, byte for byte, as a run never interrupted. A resume after the cnn
# stage trains no CNN epoch, and one after the xgboost stage loads the saved
# XGBoost models instead of training them.
#
# The kills come from the test hook OHLCX_TEST_KILL_AT=STAGE:POINT, which
# makes `ohlcx run` send itself SIGKILL when it reaches that point.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,GOOG --timeframes 1h --months 4 \
    2>/dev/null || fail "synth failed"
set -- --data "$work/data" --epochs 2 --window 16 --jobs 1 --seed 11

"$OHLCX" run "$@" --out "$work/a" >"$work/a.log" 2>&1 ||
    fail "uninterrupted run failed: $(tail -3 "$work/a.log")"
jq -S 'del(.timings_s, .resources, .cost)' "$work/a/metrics.json" >"$work/a.json"
model_files=$(cd "$work/a/model" && ls)
[ "$(cd "$work/a/checkpoints" && ls | tr '\n' ' ')" = \
    "cnn-000.ckpt cnn-001.ckpt run.json stages.json xgb-baseline.json xgboost.json " ] ||
    fail "unexpected checkpoint files: $(ls "$work/a/checkpoints")"
[ "$(jq -r '.stages | keys_unsorted | join(",")' "$work/a/checkpoints/stages.json")" = \
    "load,features,cnn,xgboost,evaluate" ] ||
    fail "stages.json of a finished run: $(cat "$work/a/checkpoints/stages.json")"

# kill_and_resume POINT: kills a run in folder b at POINT, resumes it, and
# compares metrics and model files with run a.
kill_and_resume() {
    point=$1
    shift
    rm -rf "$work/b"
    status=0
    OHLCX_TEST_KILL_AT=$point "$OHLCX" run "$@" --out "$work/b" >"$work/kill.log" 2>&1 ||
        status=$?
    [ "$status" -eq 137 ] || fail "$point: the killed run ended with status $status, expected 137"
    grep -q "OHLCX_TEST_KILL_AT=$point: sending SIGKILL" "$work/kill.log" ||
        fail "$point: the run did not reach the kill point: $(tail -3 "$work/kill.log")"
    if [ "$point" != evaluate:end ]; then
        [ ! -e "$work/b/model/manifest.json" ] || fail "$point: the killed run left a manifest"
    fi

    "$OHLCX" run "$@" --out "$work/b" --resume >"$work/resume.log" 2>&1 ||
        fail "$point: resume failed: $(tail -3 "$work/resume.log")"
    jq -S 'del(.timings_s, .resources, .cost)' "$work/b/metrics.json" >"$work/b.json"
    cmp -s "$work/a.json" "$work/b.json" ||
        fail "$point: metrics differ after resuming: $(diff "$work/a.json" "$work/b.json" | head -20)"
    [ "$(cd "$work/b/model" && ls)" = "$model_files" ] ||
        fail "$point: the resumed run wrote other model files: $(ls "$work/b/model")"
    for file in $model_files; do
        cmp -s "$work/a/model/$file" "$work/b/model/$file" ||
            fail "$point: model/$file differs after resuming"
    done
}

# expect_no_retraining POINT: after a kill at POINT the CNNs were finished,
# and after the xgboost stage was recorded (evaluate:start or later) the
# XGBoost models too. At xgboost:end the models are saved but not yet
# recorded, so they are trained again.
expect_no_retraining() {
    epochs=$(grep -c '^cnn: epoch ' "$work/resume.log" || true)
    [ "$epochs" -eq 0 ] || fail "$1: the resumed run trained $epochs CNN epochs, expected 0"
    case $1 in
    evaluate:*)
        grep -q "xgboost: loading the models that the stopped run trained" "$work/resume.log" ||
            fail "$1: the resumed run did not load the XGBoost models"
        ! grep -q "xgboost: training" "$work/resume.log" ||
            fail "$1: the resumed run trained XGBoost again"
        [ "$(jq -r .resources.xgboost.resumed "$work/b/metrics.json")" = true ] ||
            fail "$1: resources.xgboost.resumed is not true"
        ;;
    esac
}

for point in load:start load:end features:start features:end cnn:start cnn:middle \
    cnn:end xgboost:start xgboost:middle xgboost:end evaluate:start evaluate:end; do
    kill_and_resume "$point" "$@"
    case $point in
    cnn:end | xgboost:* | evaluate:*) expect_no_retraining "$point" ;;
    esac
done

# The record lists the stages finished before a kill.
rm -rf "$work/b"
OHLCX_TEST_KILL_AT=xgboost:middle "$OHLCX" run "$@" --out "$work/b" >/dev/null 2>&1 || true
[ "$(jq -r '.stages | keys_unsorted | join(",")' "$work/b/checkpoints/stages.json")" = \
    "load,features,cnn" ] ||
    fail "stages.json after a kill in xgboost: $(cat "$work/b/checkpoints/stages.json")"

# A saved XGBoost model that no longer matches its record is trained again,
# with a warning, and the results stay the same.
rm -rf "$work/b"
OHLCX_TEST_KILL_AT=evaluate:start "$OHLCX" run "$@" --out "$work/b" >/dev/null 2>&1 || true
printf ' ' >>"$work/b/checkpoints/xgb-baseline.json"
"$OHLCX" run "$@" --out "$work/b" --resume >"$work/resume.log" 2>&1 ||
    fail "resume with a changed baseline model failed: $(tail -3 "$work/resume.log")"
grep -q "xgb-baseline.json: SHA-256 .* differs from the stage record" "$work/resume.log" ||
    fail "no warning about the changed baseline model: $(grep xgb "$work/resume.log")"
grep -q "xgboost: training the combined model" "$work/resume.log" ||
    fail "the XGBoost models were not trained again"
jq -S 'del(.timings_s, .resources, .cost)' "$work/b/metrics.json" >"$work/b.json"
cmp -s "$work/a.json" "$work/b.json" || fail "metrics differ after retraining XGBoost"

# The price and budget do not decide the results, so a resume may change them.
"$OHLCX" run "$@" --out "$work/b" --resume --price-per-core-hour 1.5 --monthly-budget 300 \
    >"$work/resume.log" 2>&1 || fail "resume with another price failed: $(tail -3 "$work/resume.log")"
[ "$(jq -r '.cost | "\(.price_per_core_hour) \(.monthly_budget)"' "$work/b/metrics.json")" = \
    "1.5 300" ] || fail "resume with another price: $(jq -c .cost "$work/b/metrics.json")"

# A damaged stage record fails the resume before the folder changes.
printf 'garbage' >"$work/b/checkpoints/stages.json"
status=0
"$OHLCX" run "$@" --out "$work/b" --resume >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "resume with a damaged stages.json: exit status $status, expected 2"
grep -q "stages.json: not a stage record" "$work/err" ||
    fail "resume with a damaged stages.json: $(tail -1 "$work/err")"
[ -e "$work/b/metrics.json" ] || fail "the rejected resume removed metrics.json"
# A folder in place of the record or of a CNN checkpoint is unreadable
# input (exit status 2), not a failed allocation.
rm "$work/b/checkpoints/stages.json"
mkdir "$work/b/checkpoints/stages.json"
status=0
"$OHLCX" run "$@" --out "$work/b" --resume >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "resume with a folder as stages.json: exit status $status, expected 2"
grep -q "stages.json: not a regular file" "$work/err" ||
    fail "resume with a folder as stages.json: $(tail -1 "$work/err")"
rmdir "$work/b/checkpoints/stages.json"
checkpoint=$(ls "$work"/b/checkpoints/cnn-*.ckpt | head -1)
rm "$checkpoint"
mkdir "$checkpoint"
status=0
"$OHLCX" run "$@" --out "$work/b" --resume >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "resume with a folder as a checkpoint: exit status $status, expected 2"
grep -q "checkpoint is not a regular file" "$work/err" ||
    fail "resume with a folder as a checkpoint: $(tail -1 "$work/err")"
echo "resume stages: 12 kill points resumed to identical metrics and models"
