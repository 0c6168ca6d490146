# metrics.json records the resources of every stage and of the whole run,
# with values that can be checked by hand. It also records the cost. Core-hours
# are the run's CPU seconds / 3600, the cost is core-hours x price, and the
# budget share is cost / budget, each exactly as jq computes them from the
# written numbers. The progress log lines come at the interval set by the
# test hook OHLCX_PROGRESS_LOG_S.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT,GOOG --timeframes 1h --months 4 \
    2>/dev/null || fail "synth failed"
input_bytes=$(cat "$work/data"/*.csv | wc -c)
set -- --data "$work/data" --epochs 3 --window 16 --jobs 1 --seed 5

OHLCX_PROGRESS_LOG_S=0.01 "$OHLCX" run "$@" --out "$work/a" --price-per-core-hour 0.5 \
    --monthly-budget 20 >"$work/a.out" 2>"$work/a.log" ||
    fail "run failed: $(tail -3 "$work/a.log")"
metrics=$work/a/metrics.json

# check NAME FILTER: fails unless the jq filter is true on metrics.json.
check() {
    [ "$(jq -r "$2" "$metrics")" = true ] || fail "$1: $(jq -c "$3" "$metrics")"
}

for stage in load features cnn xgboost evaluate; do
    check "$stage: missing or incomplete" \
        ".resources.$stage | (.wall_s >= 0 and .cpu_s >= 0 and .peak_rss_bytes > 0
          and .rss_growth_bytes >= 0 and .rchar >= 0 and .wchar >= 0
          and .resumed == false)" ".resources.$stage"
    # CPU seconds are user + system, and utilisation is CPU / wall / threads.
    check "$stage: cpu_s is not user + sys" \
        ".resources.$stage | .cpu_s == .cpu_user_s + .cpu_sys_s" ".resources.$stage"
    check "$stage: cpu_utilisation is not cpu_s / wall_s / threads" \
        ".resources.$stage | .wall_s == 0 or
          ((.cpu_utilisation - .cpu_s / .wall_s / 1) | fabs) < 1e-12" ".resources.$stage"
    # A stage ends inside the run, so its high-water mark is at most the run's.
    check "$stage: peak RSS above the run's" \
        ".resources.$stage.peak_rss_bytes <= .resources.peak_rss_bytes" ".resources"
done
[ "$(jq -r '.resources | keys_unsorted | join(",")' "$metrics")" = \
    "threads,load,features,cnn,xgboost,evaluate,run,peak_rss_bytes" ] ||
    fail "resources keys: $(jq -c '.resources | keys_unsorted' "$metrics")"
check "threads is not 1" ".resources.threads == 1" ".resources.threads"

# Loading reads every input byte at least once (parsing and hashing).
check "load read fewer bytes than the $input_bytes input bytes" \
    ".resources.load.rchar >= $input_bytes" ".resources.load"
# Training does work, and the CNN stage writes its checkpoints and weights.
check "cnn: no CPU time" ".resources.cnn.cpu_s > 0" ".resources.cnn"
check "cnn: wrote nothing" ".resources.cnn.wchar > 0" ".resources.cnn"
check "run: no CPU time" ".resources.run.cpu_s > 0" ".resources.run"
# The high-water mark only rises, stage after stage.
check "peak RSS falls between stages" \
    ".resources | .load.peak_rss_bytes <= .features.peak_rss_bytes and
      .features.peak_rss_bytes <= .cnn.peak_rss_bytes and
      .cnn.peak_rss_bytes <= .xgboost.peak_rss_bytes and
      .xgboost.peak_rss_bytes <= .evaluate.peak_rss_bytes" ".resources"
check "run peak RSS differs from resources.peak_rss_bytes" \
    ".resources.run.peak_rss_bytes == .resources.peak_rss_bytes" ".resources"
# Stages do not overlap, so their wall and CPU times add up to at most the run's.
check "stage wall times exceed the run's" \
    ".resources | ([.load, .features, .cnn, .xgboost, .evaluate | .wall_s] | add)
      <= .run.wall_s" ".resources"
check "stage CPU times exceed the run's" \
    ".resources | ([.load, .features, .cnn, .xgboost, .evaluate | .cpu_s] | add)
      <= .run.cpu_s" ".resources"

# Cost, exactly as documented.
check "core_hours is not cpu_s / 3600" \
    ".cost.core_hours == .resources.run.cpu_s / 3600" ".cost"
check "cost is not core_hours x price" ".cost.cost == .cost.core_hours * 0.5" ".cost"
check "budget_share is not cost / budget" ".cost.budget_share == .cost.cost / 20" ".cost"
check "options not recorded" \
    ".cost.price_per_core_hour == 0.5 and .cost.monthly_budget == 20 and
      .cost.currency == \"USD\"" ".cost"
grep -q "ohlcx: info: cost: .* USD at 0.5 USD per core-hour, .* of the monthly budget of 20 USD" \
    "$work/a.log" || fail "no cost log line: $(grep cost "$work/a.log")"
for stage in load features cnn xgboost evaluate; do
    grep -q "ohlcx: info: $stage: .* s wall, .* s CPU (.* of 1 thread), peak RSS .* MiB" \
        "$work/a.log" || fail "no resources log line for $stage"
done

# On a non-terminal the progress comes as log lines; with an interval of
# 0.01 s a run of this size logs at least one.
grep -q "ohlcx: info: progress: stage [a-z_]*, .* elapsed, " "$work/a.log" ||
    fail "no progress log line: $(grep progress "$work/a.log")"
grep -q "$(printf '\r')" "$work/a.log" && fail "a progress line was drawn on a non-terminal"

# The defaults: 0.04 USD per core-hour and a budget of 1000 USD.
"$OHLCX" run "$@" --out "$work/b" >/dev/null 2>"$work/b.log" ||
    fail "run b failed: $(tail -3 "$work/b.log")"
metrics=$work/b/metrics.json
check "default price or budget" \
    ".cost.price_per_core_hour == 0.04 and .cost.monthly_budget == 1000 and
      .cost.cost == .cost.core_hours * 0.04" ".cost"
# Without the hook, a run this short logs no progress line (30 s apart).
! grep -q "progress: stage" "$work/b.log" || fail "progress lines without the hook in a short run"

# Invalid prices and budgets are usage errors.
for arguments in "--price-per-core-hour -1" "--price-per-core-hour x" "--monthly-budget 0"; do
    status=0
    # shellcheck disable=SC2086
    "$OHLCX" run "$@" --out "$work/c" $arguments >/dev/null 2>"$work/err" || status=$?
    [ "$status" -eq 2 ] || fail "$arguments: exit status $status, expected 2"
    grep -q "invalid --" "$work/err" || fail "$arguments: $(cat "$work/err")"
done
echo "resources: every stage measured, cost = core-hours x price"
