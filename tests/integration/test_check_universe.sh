# `ohlcx check --universe`: a series gets the asset class of the universe
# group that lists its symbol, and so that class's calendar, even when its
# name reads as another class. An explicit --calendar still wins, and a
# series the universe does not list keeps the class read from its name.
. "$(dirname "$0")/lib.sh"

# FOOBAR reads as stocks by name. Six months from 2024-01-01 cover the start
# of New York daylight saving time on 2024-03-10, when the forex week moves
# from Sunday 22:00 - Friday 22:00 UTC to Sunday 21:00 - Friday 21:00 UTC.
cat >"$work/forex.yaml" <<'YAML'
name: check-forex
start: 2024-01-01
months: 6
groups:
  - {asset_class: forex, timeframes: [1h, 4h], symbols: [FOOBAR]}
  - {asset_class: crypto, timeframes: [1h], symbols: [ABC]}
YAML
"$OHLCX" synth --universe "$work/forex.yaml" --out "$work/data" 2>/dev/null ||
    fail "synth --universe failed"

# Without the universe FOOBAR 1h reads as stocks, whose bars fall outside New
# York hours, so it gets the session inferred from its own bars. That session
# trades on Sunday at 21:00 UTC (from summer weeks) and on Friday at 21:00
# (from winter weeks). So it expects a bar at a weekend edge that the forex
# week does not fill: on the 9 winter Sundays from January 7 to March 3 and
# the 16 summer Fridays from March 15 to June 28, 25 gaps.
"$OHLCX" check --now 2030-01-01 --json "$work/name.json" "$work/data/FOOBAR-1h.csv" \
    >"$work/name.out" 2>&1 || fail "check without --universe failed: $(cat "$work/name.out")"
[ "$(json_get "$work/name.json" '.series[0].calendar')" = inferred ] ||
    fail "FOOBAR 1h without --universe: calendar $(json_get "$work/name.json" '.series[0].calendar'), expected inferred"
[ "$(json_get "$work/name.json" '.series[0].gap_count')" -eq 25 ] ||
    fail "FOOBAR 1h without --universe: $(json_get "$work/name.json" '.series[0].gap_count') gaps, expected 25"
# Every gap is at a weekend edge. first_missing is "YYYY-MM-DD HH:MM:SS" UTC.
json_get "$work/name.json" '.series[0].gaps[].first_missing' >"$work/gaps.txt"
while read -r day time; do
    weekday=$(date -u -d "$day $time" +%a)
    [ "$time" = 21:00:00 ] && { [ "$weekday" = Sun ] || [ "$weekday" = Fri ]; } ||
        fail "gap at $weekday $day $time is not at a weekend edge"
done <"$work/gaps.txt"
[ "$(grep -c . "$work/gaps.txt")" -eq 25 ] || fail "read $(grep -c . "$work/gaps.txt") gap times, expected 25"

# With the universe both FOOBAR series get the forex calendar and no gap.
"$OHLCX" check --now 2030-01-01 --universe "$work/forex.yaml" --json "$work/universe.json" \
    "$work/data/FOOBAR-1h.csv" "$work/data/FOOBAR-4h.csv" >"$work/universe.out" 2>&1 ||
    fail "check --universe failed: $(cat "$work/universe.out")"
[ "$(json_get "$work/universe.json" '[.series[] | select(.calendar == "forex")] | length')" -eq 2 ] ||
    fail "check --universe: calendars $(json_get "$work/universe.json" '[.series[].calendar] | join(" ")'), expected forex twice"
[ "$(json_get "$work/universe.json" '[.series[].gap_count] | add')" -eq 0 ] ||
    fail "check --universe found gaps: $(cat "$work/universe.out")"
grep -q 'FOOBAR .* 1h .*pass rows 3099, missing 0.00% (forex calendar)' "$work/universe.out" ||
    fail "check --universe summary: $(cat "$work/universe.out")"
! grep -q 'not listed' "$work/universe.out" || fail "a listed series got a note: $(cat "$work/universe.out")"

# A group that lists the symbol at another timeframe still gives its class:
# only.yaml lists FOOBAR at 1h, and the 4h file gets forex. Symbols compare
# without regard to case, so foobar-4h.csv matches too.
cat >"$work/only.yaml" <<'YAML'
name: only-1h
groups:
  - {asset_class: forex, timeframes: [1h], symbols: [FOOBAR]}
YAML
cp "$work/data/FOOBAR-4h.csv" "$work/foobar-4h.csv"
"$OHLCX" check --now 2030-01-01 --universe "$work/only.yaml" --json "$work/only.json" \
    "$work/foobar-4h.csv" >"$work/only.out" 2>&1 || fail "check of foobar-4h.csv failed: $(cat "$work/only.out")"
[ "$(json_get "$work/only.json" '.series[0].calendar')" = forex ] ||
    fail "foobar-4h.csv: calendar $(json_get "$work/only.json" '.series[0].calendar'), expected forex"

# An explicit --calendar wins over the universe: on the crypto calendar every
# weekend of FOOBAR 1h is missing.
"$OHLCX" check --now 2030-01-01 --universe "$work/forex.yaml" --calendar crypto \
    --json "$work/explicit.json" "$work/data/FOOBAR-1h.csv" >"$work/explicit.out" 2>&1 || true
[ "$(json_get "$work/explicit.json" '.series[0].calendar')" = always ] ||
    fail "--calendar crypto with --universe: calendar $(json_get "$work/explicit.json" '.series[0].calendar'), expected always"
[ "$(json_get "$work/explicit.json" '.series[0].gap_count')" -gt 25 ] ||
    fail "--calendar crypto with --universe: $(json_get "$work/explicit.json" '.series[0].gap_count') gaps, expected the weekends"

# A series the universe does not list keeps today's class, with one note.
cp "$work/data/FOOBAR-1h.csv" "$work/OTHER-1h.csv"
"$OHLCX" check --now 2030-01-01 --universe "$work/forex.yaml" --json "$work/other.json" \
    "$work/OTHER-1h.csv" >"$work/other.out" 2>&1 || fail "check of OTHER failed: $(cat "$work/other.out")"
[ "$(json_get "$work/other.json" '.series[0].calendar')" = inferred ] ||
    fail "unlisted OTHER: calendar $(json_get "$work/other.json" '.series[0].calendar'), expected inferred"
[ "$(grep -c "OTHER is not listed in $work/forex.yaml, so it keeps the class read from its name (stocks)" "$work/other.out")" -eq 1 ] ||
    fail "unlisted OTHER: no single note: $(cat "$work/other.out")"

# A symbol listed under two classes keeps the class read from its name.
cat >"$work/two.yaml" <<'YAML'
name: two-classes
groups:
  - {asset_class: forex, timeframes: [1h], symbols: [FOOBAR]}
  - {asset_class: commodities, timeframes: [1h], symbols: [FOOBAR]}
YAML
"$OHLCX" check --now 2030-01-01 --universe "$work/two.yaml" --json "$work/two.json" \
    "$work/data/FOOBAR-1h.csv" >"$work/two.out" 2>&1 || fail "check with two.yaml failed: $(cat "$work/two.out")"
grep -q "FOOBAR 1h is listed under two asset classes in $work/two.yaml" "$work/two.out" ||
    fail "two classes: no note: $(cat "$work/two.out")"
[ "$(json_get "$work/two.json" '.series[0].calendar')" = inferred ] ||
    fail "two classes: calendar $(json_get "$work/two.json" '.series[0].calendar'), expected inferred"

# The universe applies to the series of a store too.
"$OHLCX" ingest --store "$work/store" --jobs 1 "$work/data/FOOBAR-1h.csv" >/dev/null 2>&1 ||
    fail "ingest of FOOBAR-1h.csv failed"
"$OHLCX" check --now 2030-01-01 --store "$work/store" --universe "$work/forex.yaml" \
    >"$work/store.out" 2>&1 || fail "check --store --universe failed: $(cat "$work/store.out")"
grep -q 'FOOBAR .* 1h .*missing 0.00% (forex calendar)' "$work/store.out" ||
    fail "check --store --universe: $(cat "$work/store.out")"

# A universe file that cannot be read or parsed is a usage error, exit 2.
printf 'name: [\n' >"$work/broken.yaml"
status=0
"$OHLCX" check --universe "$work/broken.yaml" "$work/data/FOOBAR-1h.csv" >"$work/broken.out" \
    2>"$work/broken.err" || status=$?
[ "$status" -eq 2 ] || fail "broken universe: exit status $status, expected 2"
[ "$(wc -l <"$work/broken.err")" -eq 1 ] && grep -q "broken.yaml:2:1: " "$work/broken.err" ||
    fail "broken universe: $(cat "$work/broken.err")"
status=0
"$OHLCX" check --universe "$work/missing.yaml" "$work/data/FOOBAR-1h.csv" >/dev/null \
    2>"$work/missing.err" || status=$?
[ "$status" -eq 2 ] || fail "missing universe: exit status $status, expected 2"
grep -q "missing.yaml" "$work/missing.err" || fail "missing universe: $(cat "$work/missing.err")"
echo "check --universe: FOOBAR in a forex group gets the forex calendar"
