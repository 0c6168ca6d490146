# `ohlcx report` on a small run: the page is self-contained, escapes the
# run's strings, keeps every figure whether or not the run has its data, and
# renders in headless Chromium with every chart and no console message. A
# folder that is not a finished run fails with exit status 2.
# Without /usr/bin/chromium the browser half skips (exit 77) unless
# OHLCX_REQUIRE_BROWSER is set.
. "$(dirname "$0")/lib.sh"

figures="ablation learning-curves confusion calibration heatmap walk-forward
feature-importance data-quality"
tables="metrics-table ablation-table per-timeframe-table per-asset-class-table
per-series-table data-quality-table"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,GOOG --timeframes 1h,4h --months 4 \
    2>/dev/null || fail "synth failed"
"$OHLCX" run --data "$work/data" --out "$work/run" --epochs 2 --window 16 --jobs 2 \
    >"$work/run.log" 2>&1 || fail "run failed: $(tail -3 "$work/run.log")"
"$OHLCX" report --run "$work/run" 2>"$work/report.log" ||
    fail "report failed: $(cat "$work/report.log")"
page="$work/run/report.html"
[ -s "$page" ] || fail "report.html is missing or empty"

# has_id FILE ID: succeeds when FILE contains an element with id="ID".
has_id() {
    grep -q "id=\"$2\"" "$1"
}

# check_structure FILE: every figure is a chart or a note, and every table is there.
check_structure() {
    for name in $figures; do
        has_id "$1" "figure-$name" || fail "$1: figure-$name is missing"
        has_id "$1" "chart-$name" || has_id "$1" "chart-$name-unavailable" ||
            fail "$1: neither chart-$name nor chart-$name-unavailable is present"
    done
    for name in $tables; do
        has_id "$1" "$name" || fail "$1: table $name is missing"
    done
}

check_structure "$page"
if grep -Eiq 'https?:|<script|<link|<img|<iframe|@import|url\(' "$page"; then
    fail "report.html refers to something outside itself or has a script"
fi
# The run records these, so their charts must be drawn.
for name in ablation learning-curves confusion calibration heatmap feature-importance \
    data-quality; do
    has_id "$page" "chart-$name" || fail "chart-$name is not drawn for a run that has its data"
done
# The recorded counts add up to the test rows, and the groups cover them.
metrics="$work/run/metrics.json"
n=$(json_get "$metrics" '.test.n')
[ "$n" -gt 0 ] || fail "test.n is $n"
[ "$(json_get "$metrics" '.test.confusion | add')" = "$n" ] ||
    fail "confusion counts sum to $(json_get "$metrics" '.test.confusion | add'), expected $n"
[ "$(json_get "$metrics" '.test.calibration | length')" = 10 ] || fail "calibration has not 10 bins"
[ "$(json_get "$metrics" '[.test.calibration[].count] | add')" = "$n" ] ||
    fail "calibration counts do not sum to $n"
[ "$(json_get "$metrics" '.baselines.majority.confusion | add')" = "$n" ] ||
    fail "the majority baseline's confusion counts do not sum to $n"
p=$(json_get "$metrics" '.test.binomial_p')
awk -v p="$p" 'BEGIN { exit !(p != "null" && p > 0 && p <= 1) }' || fail "binomial_p = $p, expected in (0, 1]"
check_between majority_share "$(json_get "$metrics" '.test.majority_share')" 0.5 1
check_between macro_f1 "$(json_get "$metrics" '.test.macro_f1')" 0 1
check_between brier "$(json_get "$metrics" '.test.brier')" 0 1
check_between ic "$(json_get "$metrics" '.test.ic')" -1 1
check_between rank_ic "$(json_get "$metrics" '.test.rank_ic')" -1 1
[ "$(json_get "$metrics" '[.per_timeframe[].timeframe] | join(",")')" = "1h,4h" ] ||
    fail "per_timeframe is not 1h,4h: $(json_get "$metrics" '[.per_timeframe[].timeframe]')"
[ "$(json_get "$metrics" '[.per_timeframe[].n] | add')" = "$n" ] ||
    fail "per_timeframe rows do not sum to $n"
[ "$(json_get "$metrics" '[.per_asset_class[].asset_class] | join(",")')" = "crypto,stocks" ] ||
    fail "per_asset_class is not crypto,stocks"
[ "$(json_get "$metrics" '[.per_asset_class[].n] | add')" = "$n" ] ||
    fail "per_asset_class rows do not sum to $n"
# The per-timeframe table shows the recorded IC, not the pooled note.
if grep -q 'the run did not record the other metrics per group' "$page"; then
    fail "the group tables fall back to pooled accuracy"
fi
# One split and no walk-forward folds in today's runs.
has_id "$page" "chart-walk-forward-unavailable" || fail "walk-forward is not marked unavailable"
grep -q 'Not available in this run:' "$page" || fail "the unavailable note has no label"
# The report computes the binomial p-value from accuracy and n when the run
# did not record it: 0.4 of 100 at share 0.5 is P(X >= 40) = 0.98239989989.
jq '.test.accuracy = 0.4 | .test.n = 100 | .baselines.majority.accuracy = 0.5
    | del(.test.binomial_p) | del(.test.majority_share)' \
    "$work/run/metrics.json" >"$work/p.json"
mkdir -p "$work/p/model"
cp "$work/p.json" "$work/p/metrics.json"
cp "$work/run/model/manifest.json" "$work/p/model/"
"$OHLCX" report --run "$work/p" --out "$work/p.html" 2>/dev/null || fail "report on run p failed"
grep -q '0.9824' "$work/p.html" || fail "binomial p-value 0.9824 not on the page"

# A run with every optional record, and a symbol that needs escaping.
full="$work/full"
mkdir -p "$full/model"
cp "$work/run/model/xgboost.json" "$work/run/model/manifest.json" "$full/model/"
jq '.test.confusion = {true_positives: 300, false_positives: 200, true_negatives: 250,
                       false_negatives: 150}
    | .test.calibration = [range(10) | {count: (10 + .), mean_prob: ((. + 0.5) / 10),
                                        up_share: ((. + 1) / 12)}]
    | .walk_forward = [range(5) | {fold: ., test_first_open_time: "2024-0\(. + 1)-01 00:00:00",
                                   accuracy: (0.48 + . / 100), majority_share: 0.51, n: 400}]
    | .per_series[0].symbol = "<b>&\"x"
    | .per_timeframe = [{timeframe: "1h", n: 10, accuracy: 0.6, auc: 0.55}]' \
    "$work/run/metrics.json" >"$full/metrics.json" || fail "jq could not build the full run"
"$OHLCX" report --run "$full" --out "$work/full.html" 2>/dev/null || fail "report on full run failed"
check_structure "$work/full.html"
for name in $figures; do
    has_id "$work/full.html" "chart-$name" || fail "full run: chart-$name is not drawn"
done
grep -q '&lt;b&gt;&amp;&quot;x' "$work/full.html" || fail "the symbol is not escaped"
if grep -q '<b>&"x' "$work/full.html"; then
    fail "the raw symbol reached the page"
fi

# A run on a store shows the store's check counts: synthetic data ends in
# 2024, so every series is stale.
"$OHLCX" ingest --store "$work/store" "$work/data" >/dev/null 2>&1 || fail "ingest failed"
"$OHLCX" run --store "$work/store" --out "$work/srun" --epochs 1 --window 16 --jobs 2 \
    >/dev/null 2>&1 || fail "run on the store failed"
"$OHLCX" report --run "$work/srun" --out "$work/store.html" 2>/dev/null ||
    fail "report on the store run failed"
grep -q 'stale_series 1 (warn)' "$work/store.html" || fail "store quality counts are missing"

# Errors name the file.
if "$OHLCX" report --run "$work/missing" 2>"$work/err.log"; then
    fail "report on a missing folder succeeded"
fi
grep -q 'missing/metrics.json' "$work/err.log" || fail "error does not name metrics.json"

# expect_not_run NAME PATTERN: report on $work/NAME must exit 2 with one
# stderr line matching PATTERN, and write no page.
expect_not_run() {
    status=0
    "$OHLCX" report --run "$work/$1" 2>"$work/err.log" || status=$?
    [ "$status" -eq 2 ] || fail "report on $1: exit status $status, expected 2"
    [ "$(wc -l <"$work/err.log")" -eq 1 ] || fail "report on $1: $(cat "$work/err.log")"
    grep -Eq -e "$2" "$work/err.log" || fail "report on $1: $(cat "$work/err.log")"
    [ ! -e "$work/$1/report.html" ] || fail "report on $1 wrote a page"
}

# A folder that is not a finished run is rejected with what it lacks.
mkdir "$work/R6"
echo '{}' >"$work/R6/metrics.json"
expect_not_run R6 'R6/metrics\.json lacks the "test" metrics object'
mkdir "$work/R7"
cp "$work/run/metrics.json" "$work/R7/"
expect_not_run R7 'cannot open .*R7/model/manifest\.json'
mkdir -p "$work/R8/model"
cp "$work/run/metrics.json" "$work/R8/"
echo '{}' >"$work/R8/model/manifest.json"
expect_not_run R8 'R8/model/manifest\.json is not a model manifest'

chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
    if [ -n "${OHLCX_REQUIRE_BROWSER:-}" ]; then
        fail "$chromium is missing and OHLCX_REQUIRE_BROWSER is set"
    fi
    echo "SKIP: $chromium is missing (scripts/install-deps.sh installs it)" >&2
    exit 77
fi

# render FILE NAME: writes Chromium's DOM after load to $work/NAME.dom and
# its log to $work/NAME.log.
render() {
    HOME="$work" timeout 120 "$chromium" --headless --disable-gpu --no-sandbox \
        --no-first-run --user-data-dir="$work/profile-$2" --enable-logging=stderr --v=0 \
        --dump-dom "file://$1" >"$work/$2.dom" 2>"$work/$2.log" ||
        fail "chromium failed on $1: $(tail -5 "$work/$2.log")"
}

# console_messages NAME: prints the console messages and load errors that
# Chromium logged for page NAME (Debian's chromium 156 writes
# "INFO:CONSOLE:1] ..."; older builds wrote "CONSOLE(1)").
console_messages() {
    grep -Ei 'CONSOLE[:(]|Uncaught|ERR_FILE|Failed to load' "$work/$1.log" || true
}

# The detector must see an error on a page that has one.
printf '<!DOCTYPE html><html><body><script>missing_function();</script></body></html>\n' \
    >"$work/bad.html"
render "$work/bad.html" bad
[ -n "$(console_messages bad)" ] || fail "no console message logged for a page with an error"

render "$page" run
render "$work/full.html" full
for name in $figures; do
    grep -q "<svg id=\"chart-$name\"" "$work/full.dom" ||
        fail "chromium's DOM of the full run lacks svg chart-$name"
    grep -Eq "id=\"chart-$name(-unavailable)?\"" "$work/run.dom" ||
        fail "chromium's DOM of the run lacks chart-$name"
done
for name in confusion calibration; do
    grep -q "<svg id=\"chart-$name\"" "$work/run.dom" ||
        fail "chromium's DOM of the run lacks svg chart-$name"
done
[ "$(grep -c '<svg id="chart-' "$work/full.dom")" -eq 8 ] ||
    fail "chromium's DOM of the full run has $(grep -c '<svg id="chart-' "$work/full.dom") charts, expected 8"
for name in run full; do
    messages=$(console_messages "$name")
    [ -z "$messages" ] || fail "chromium logged for the $name page: $messages"
done
