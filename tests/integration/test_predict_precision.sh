# predict and lookahead compute the CNN in the precision the model was
# trained in (the manifest's "precision"), so a bf16 model is served in bf16
# and an fp32 one in fp32.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT --timeframes 1h --months 3 2>/dev/null ||
    fail "synth failed"
status=0
"$OHLCX" run --data "$work/data" --out "$work/run" --epochs 1 --window 16 --jobs 1 \
    --precision bf16 >"$work/run.log" 2>&1 || status=$?
if [ "$status" -eq 2 ] && grep -q 'bf16' "$work/run.log"; then
    echo "SKIP: this machine or build cannot run bf16" >&2
    exit 77
fi
[ "$status" -eq 0 ] || fail "bf16 run failed: $(tail -3 "$work/run.log")"
manifest="$work/run/model/manifest.json"
[ "$(json_get "$manifest" '.precision')" = bf16 ] || fail "manifest precision is not bf16"

"$OHLCX" predict --model "$work/run/model" "$work/data" >/dev/null 2>"$work/bf16.err" ||
    fail "predict failed: $(cat "$work/bf16.err")"
grep -q 'manifest.json: computing the CNN in bf16, as in training' "$work/bf16.err" ||
    fail "predict of a bf16 model: $(cat "$work/bf16.err")"
"$OHLCX" lookahead --run "$work/run" --rows 5 >/dev/null 2>"$work/lookahead.err" ||
    fail "lookahead failed: $(tail -2 "$work/lookahead.err")"
grep -q 'computing the CNN in bf16, as in training' "$work/lookahead.err" ||
    fail "lookahead of a bf16 model: $(cat "$work/lookahead.err")"
jq '.precision = "fp32"' "$manifest" >"$work/fp32.json" && cp "$work/fp32.json" "$manifest"
"$OHLCX" predict --model "$work/run/model" "$work/data" >/dev/null 2>"$work/fp32.err" ||
    fail "predict failed: $(cat "$work/fp32.err")"
# fp32 is the default and is not logged.
! grep -q 'computing the CNN in' "$work/fp32.err" ||
    fail "predict of an fp32 model: $(cat "$work/fp32.err")"
echo "predict precision: the manifest's precision is used"
