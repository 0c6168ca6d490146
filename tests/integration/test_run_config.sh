# `ohlcx run --config FILE` builds the CNN the file describes (stages,
# dilation, pooling, batch normalisation, dropout, embedding size, schedule,
# weight decay), records it in metrics.json, the manifest and run.json, and
# resumes to the same results. `--cnn global` learns a symbol embedding whose
# rows the manifest lists, and predict gives a new symbol the mean row. A bad
# file or an architecture that does not fit the window fails with status 2.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,ETHUSDT,GOOG --timeframes 1h --months 3 \
    2>/dev/null || fail "synth failed"
"$OHLCX" synth --out "$work/new" --symbols SOLUSDT --timeframes 1h --months 3 --seed 5 \
    2>/dev/null || fail "synth of the new symbol failed"

cat >"$work/cnn.yaml" <<'EOF'
window: 32
seed: 3
cnn:
  layers:
    - {filters: 8, kernel: 3}
    - {filters: 12, kernel: 3, dilation: 2, pool: 2}
    - {filters: 16, kernel: 3}
  batch_norm: true
  dropout: 0.1
  embedding: 16
  learning_rate: 0.002
  weight_decay: 0.0001
  schedule: cosine
  epochs: 3
EOF

# Per-symbol, killed after the first CNN and resumed: the same metrics and
# model files as the uninterrupted run.
set -- --data "$work/data" --config "$work/cnn.yaml" --jobs 1
"$OHLCX" run "$@" --out "$work/a" >"$work/a.log" 2>&1 ||
    fail "run with --config failed: $(tail -3 "$work/a.log")"
metrics="$work/a/metrics.json"
[ "$(json_get "$metrics" '.config.cnn_architecture.layers | map("\(.filters)/\(.kernel)/\(.dilation)/\(.pool)") | join(",")')" = \
    8/3/1/1,12/3/2/2,16/3/1/1 ] ||
    fail "layers in metrics.json: $(json_get "$metrics" .config.cnn_architecture.layers)"
[ "$(json_get "$metrics" '.config.cnn_architecture | "\(.batch_norm) \(.dropout) \(.embedding) \(.learning_rate) \(.weight_decay) \(.schedule)"')" = \
    "true 0.1 16 0.002 0.0001 cosine" ] ||
    fail "settings in metrics.json: $(json_get "$metrics" .config.cnn_architecture)"
[ "$(json_get "$metrics" .config.window)" = 32 ] || fail "the file's window 32 is not in force"
[ "$(json_get "$work/a/model/manifest.json" .embedding_size)" = 16 ] ||
    fail "manifest embedding_size is not 16"
# Three CNNs (one per symbol), each with at most 3 epochs.
[ "$(json_get "$metrics" '[.cnn[] | .train_loss | length] | map(select(. >= 1 and . <= 3)) | length')" = 3 ] ||
    fail "expected 3 CNNs of 1 to 3 epochs: $(json_get "$metrics" '.cnn')"
jq -S 'del(.timings_s, .resources, .cost)' "$metrics" >"$work/a.json"

rm -rf "$work/b"
status=0
OHLCX_TEST_KILL_AT=cnn:middle "$OHLCX" run "$@" --out "$work/b" >/dev/null 2>&1 || status=$?
[ "$status" -eq 137 ] || fail "the killed run ended with status $status, expected 137"
"$OHLCX" run "$@" --out "$work/b" --resume >"$work/b.log" 2>&1 ||
    fail "resume failed: $(tail -3 "$work/b.log")"
jq -S 'del(.timings_s, .resources, .cost)' "$work/b/metrics.json" >"$work/b.json"
cmp -s "$work/a.json" "$work/b.json" ||
    fail "metrics differ after resuming: $(diff "$work/a.json" "$work/b.json" | head -10)"
for file in $(cd "$work/a/model" && ls); do
    cmp -s "$work/a/model/$file" "$work/b/model/$file" || fail "model/$file differs after resuming"
done

# Resuming with other settings is refused, naming --config; a flag given
# after --config overrides the file and is recorded.
sed 's/dropout: 0.1/dropout: 0.2/' "$work/cnn.yaml" >"$work/other.yaml"
status=0
"$OHLCX" run --data "$work/data" --config "$work/other.yaml" --jobs 1 --out "$work/b" --resume \
    >/dev/null 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "resume with another dropout: status $status, expected 2"
grep -q 'cannot resume .*: --config.dropout is 0.2, but the checkpointed run used 0.1:' \
    "$work/err" || fail "resume message: $(cat "$work/err")"
"$OHLCX" run "$@" --epochs 1 --out "$work/c" >/dev/null 2>&1 || fail "run with --epochs 1 failed"
[ "$(json_get "$work/c/checkpoints/run.json" '.arguments["--epochs"]')" = 1 ] ||
    fail "--epochs 1 did not override the file's epochs"

# Global: one CNN with a row per symbol, in byte order, and one for others.
"$OHLCX" run --data "$work/data" --config "$work/cnn.yaml" --cnn global --jobs 1 \
    --out "$work/g" >"$work/g.log" 2>&1 || fail "global run failed: $(tail -3 "$work/g.log")"
manifest="$work/g/model/manifest.json"
[ "$(json_get "$manifest" '.cnn_symbols | join(",")')" = BTCUSDT,ETHUSDT,GOOG ] ||
    fail "cnn_symbols: $(json_get "$manifest" .cnn_symbols)"
[ "$(json_get "$manifest" .cnn_architecture.symbol_embedding)" = 8 ] ||
    fail "the default symbol embedding is not 8"
"$OHLCX" predict --model "$work/g/model" "$work/data/ETHUSDT-1h.csv" "$work/new/SOLUSDT-1h.csv" \
    >"$work/predict.csv" 2>"$work/predict.err" || fail "predict failed: $(cat "$work/predict.err")"
grep -q '^SOLUSDT,1h,' "$work/predict.csv" || fail "no SOLUSDT prediction: $(cat "$work/predict.csv")"
grep -q '^ETHUSDT,1h,' "$work/predict.csv" || fail "no ETHUSDT prediction"
grep -q 'symbol SOLUSDT was not in training: the global CNN gives it the mean' "$work/predict.err" ||
    fail "no line about the new symbol: $(cat "$work/predict.err")"
! grep -q 'symbol ETHUSDT was not in training' "$work/predict.err" ||
    fail "ETHUSDT was treated as a new symbol"
"$OHLCX" lookahead --run "$work/g" --rows 3 >/dev/null 2>&1 || fail "lookahead of the global run failed"
# A symbol from a file name with a comma and a quote is quoted in the CSV.
mkdir "$work/odd"
cp "$work/new/SOLUSDT-1h.csv" "$work/odd/SO,L\"X-1h.csv"
"$OHLCX" predict --model "$work/g/model" "$work/odd" >"$work/odd.csv" 2>"$work/odd.err" ||
    fail "predict of an odd file name failed: $(cat "$work/odd.err")"
grep -q '^"SO,L""X",1h,' "$work/odd.csv" || fail "the odd symbol is not quoted: $(cat "$work/odd.csv")"

# symbol_embedding: 0 leaves the embedding out.
printf 'cnn:\n  symbol_embedding: 0\n  epochs: 1\n' >"$work/none.yaml"
"$OHLCX" run --data "$work/data" --config "$work/none.yaml" --cnn global --window 16 --jobs 1 \
    --out "$work/n" >/dev/null 2>&1 || fail "global run without a symbol embedding failed"
[ "$(json_get "$work/n/model/manifest.json" '.cnn_symbols')" = null ] ||
    fail "a run without a symbol embedding lists cnn_symbols"

# The shipped example trains (one short epoch here).
"$OHLCX" run --data "$work/data" --config "$OHLCX_SOURCE_DIR/examples/pipeline.yaml" --epochs 1 \
    --jobs 2 --out "$work/e" >"$work/e.log" 2>&1 ||
    fail "examples/pipeline.yaml failed: $(tail -3 "$work/e.log")"
[ "$(json_get "$work/e/metrics.json" '.config.cnn_architecture.layers | length')" = 3 ] ||
    fail "examples/pipeline.yaml did not give 3 stages"
[ "$(json_get "$work/e/model/manifest.json" '.cnn_symbols | length')" = 3 ] ||
    fail "examples/pipeline.yaml did not learn a symbol embedding"

# Mistakes: exit status 2 and one line naming the place or the stage.
printf 'cnn:\n  layers:\n    - {filters: 8, kernal: 3}\n' >"$work/typo.yaml"
status=0
"$OHLCX" run --data "$work/data" --config "$work/typo.yaml" --out "$work/x" 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "a misspelt key: status $status, expected 2"
grep -q "typo.yaml:3:20: unknown key 'kernal' in a layer: use filters, kernel, dilation or pool" \
    "$work/err" || fail "typo message: $(cat "$work/err")"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "the typo gave more than one line: $(cat "$work/err")"
printf 'window: 16\ncnn:\n  layers:\n    - {filters: 8, kernel: 9, dilation: 2}\n' >"$work/wide.yaml"
status=0
"$OHLCX" run --data "$work/data" --config "$work/wide.yaml" --out "$work/x" 2>"$work/err" || status=$?
[ "$status" -eq 2 ] || fail "an architecture wider than the window: status $status, expected 2"
grep -q 'invalid CNN architecture for window 16: .*conv\[0\]' "$work/err" || fail "architecture message: $(cat "$work/err")"
[ ! -e "$work/x" ] || fail "a rejected configuration created the output folder"
status=0
"$OHLCX" run --config "$work/cnn.yaml" --config "$work/other.yaml" --out "$work/x" 2>"$work/err" ||
    status=$?
[ "$status" -eq 2 ] || fail "--config twice: status $status, expected 2"
exit 0
