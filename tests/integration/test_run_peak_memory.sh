# Peak memory of `ohlcx run` as the samples grow. The XGBoost stage
# computes the CNN embeddings of each batch of rows it reads, so no
# embedding is held per sample. Two runs on the same two 1m series, 2 and
# 8 months long, with training capped by --max-samples-per-series, differ
# only in their validation and test samples and in their bars. The peak
# resident set may grow by at most 200 bytes per added bar.
#
# The bound, per bar, by hand:
# - The bars take 81 bytes: open time, open, high, low, close and volume
#   (6 x 8), flags (1) and the four extra Binance kline columns (4 x 8).
# - The features take 11 floats, 44 bytes.
# - Validation and test take 30% of the bars, 15% each. Each of their
#   samples takes 9 bytes (the sample and its label), a validation row 4
#   more (its margin), and a test row 32 more (4 model probabilities, the
#   realised return and two group ids): 0.3 x 9 + 0.15 x 4 + 0.15 x 32 =
#   8.1 bytes.
# - In all, 133.1 bytes per bar.
# This run measured 133.5 bytes per bar (2-core Xeon, --jobs 2). The bound
# adds 50% for the allocator and for the series' columns growing while
# they load. Before, each validation and test sample also held its
# embedding and CNN probability, (256 + 1) x 4 bytes at embedding 256, or
# 0.3 x 1028 = 308 bytes per bar: 441 bytes per bar in all, 2.2 times the
# bound, and the same runs measured 440.
. "$(dirname "$0")/lib.sh"

cat >"$work/cnn.yaml" <<'EOF'
window: 16
cnn:
  layers:
    - {filters: 4, kernel: 3}
    - {filters: 8, kernel: 3}
  embedding: 256
  epochs: 1
EOF

for months in 2 8; do
    "$OHLCX" synth --out "$work/data$months" --symbols BTCUSDT,ETHUSDT --timeframes 1m \
        --months "$months" 2>"$work/synth.log" || fail "synth failed: $(cat "$work/synth.log")"
    "$OHLCX" run --data "$work/data$months" --out "$work/run$months" --config "$work/cnn.yaml" \
        --max-samples-per-series 2000 --jobs 2 >/dev/null 2>"$work/run$months.log" ||
        fail "run of $months months failed: $(tail -3 "$work/run$months.log")"
done
small="$work/run2/metrics.json"
large="$work/run8/metrics.json"

# The cap keeps the training parts, and so XGBoost's matrix, the same size.
for part in cnn_train xgb_train; do
    [ "$(json_get "$small" ".rows.samples_by_part.$part")" = \
        "$(json_get "$large" ".rows.samples_by_part.$part")" ] ||
        fail "$part differs between the runs, so the cap did not hold"
done

# Validation and test take 30% of the added bars (within 1%), as the bound
# assumes.
added_bars=$(($(json_get "$large" '.rows.read') - $(json_get "$small" '.rows.read')))
added_rows=$(jq -s '(.[1].rows.samples_by_part.validation + .[1].rows.samples_by_part.test) -
    (.[0].rows.samples_by_part.validation + .[0].rows.samples_by_part.test)' "$small" "$large")
check_between "share of validation and test rows in the added bars" \
    "$(awk -v r="$added_rows" -v b="$added_bars" 'BEGIN { print r / b }')" 0.29 0.31

growth=$(($(json_get "$large" '.resources.run.peak_rss_bytes') -
    $(json_get "$small" '.resources.run.peak_rss_bytes')))
bound=$((200 * added_bars))
[ "$growth" -lt "$bound" ] ||
    fail "peak RSS grew by $growth bytes for $added_bars more bars, above $bound (200 bytes a bar)"

# The test rows were embedded once each, and the CNN-only baseline scored
# all of them.
grep -q 'embedded .* test samples (4.00, [0-9.]* and 1.00 times each)' "$work/run8.log" ||
    fail "no log line of 4 passes over xgb_train and 1 over test: $(grep embedded "$work/run8.log")"
[ "$(json_get "$large" '.baselines.cnn_only.n')" = "$(json_get "$large" '.rows.samples_by_part.test')" ] ||
    fail "cnn_only scored $(json_get "$large" '.baselines.cnn_only.n') rows, not the test part"
