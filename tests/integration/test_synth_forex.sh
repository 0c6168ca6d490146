# `ohlcx synth` writes forex on the forex week that `ohlcx check` expects,
# takes the calendar from the universe group's asset class, and writes as
# many forex bars as `ohlcx plan` counts.
. "$(dirname "$0")/lib.sh"

# Six months from Saturday 2022-10-01 cover both New York daylight saving
# changes (2022-11-06 and 2023-03-12) and the forex holidays on Sundays
# 2022-12-25 and 2023-01-01, which close the Mondays after them.
cat >"$work/forex.yaml" <<'YAML'
name: forex
start: 2022-10-01
months: 6
groups:
  - asset_class: forex
    timeframes: [1m, 3m, 5m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M]
    symbols: [EURUSD, USDSEK]
  - asset_class: stocks
    timeframes: [1h]
    symbols: [EURGBP]
  - asset_class: crypto
    timeframes: [1h]
    symbols: [ABC]
YAML
"$OHLCX" synth --universe "$work/forex.yaml" --out "$work/data" 2>"$work/synth.err" ||
    fail "synth --universe failed: $(cat "$work/synth.err")"

# USDSEK reads as stocks, EURGBP as forex and ABC as stocks, each unlike its group.
grep -q "warning: 3 symbols (such as .*) have names that read as another asset class" \
    "$work/synth.err" || fail "no warning about names: $(cat "$work/synth.err")"

# rows FILE: the data rows of a CSV file.
rows() {
    echo $(($(wc -l <"$1") - 1))
}

# Forex trading days 3 October 2022 to 31 March 2023: 26 weeks of 5
# weekdays, less Mondays 26 December and 2 January, 128 days of 24 hours.
# 4h bars: 6 a day, and each of the 26 stretches of trading also has the
# 20:00 UTC bar in which it opens (21:00 or 22:00 UTC): 768 + 26 = 794.
[ "$(rows "$work/data/EURUSD-1h.csv")" -eq 3072 ] ||
    fail "EURUSD-1h.csv has $(rows "$work/data/EURUSD-1h.csv") bars, expected 128 x 24 = 3072"
[ "$(rows "$work/data/EURUSD-4h.csv")" -eq 794 ] ||
    fail "EURUSD-4h.csv has $(rows "$work/data/EURUSD-4h.csv") bars, expected 794"
[ "$(rows "$work/data/EURUSD-1d.csv")" -eq 128 ] ||
    fail "EURUSD-1d.csv has $(rows "$work/data/EURUSD-1d.csv") bars, expected 128"
# The week opens on Sunday 2 October at 17:00 EDT, 21:00 UTC (1664744400000 ms).
[ "$(sed -n 2p "$work/data/EURUSD-1h.csv" | cut -d, -f1)" = 1664744400000 ] ||
    fail "EURUSD-1h.csv does not open at 2022-10-02 21:00 UTC: $(sed -n 2p "$work/data/EURUSD-1h.csv")"
# Christmas week: Friday 23 December closes at 22:00 UTC (EST), and trading
# resumes with trading day 27 December at 22:00 UTC on Monday the 26th.
grep -q '^1671829200000,' "$work/data/EURUSD-1h.csv" || fail "no bar at 2022-12-23 21:00 UTC"
after=$(awk -F, 'NR > 1 && $1 > 1671829200000 { print $1; exit }' "$work/data/EURUSD-1h.csv")
[ "$after" = 1672092000000 ] || fail "the bar after 2022-12-23 21:00 opens at $after ms, expected 2022-12-26 22:00"
# USDSEK reads as stocks by name, yet gets its group's forex calendar.
cut -d, -f1 "$work/data/EURUSD-1h.csv" >"$work/eurusd.times"
cut -d, -f1 "$work/data/USDSEK-1h.csv" >"$work/usdsek.times"
cmp -s "$work/eurusd.times" "$work/usdsek.times" || fail "USDSEK-1h.csv has other open times than EURUSD"
# EURGBP in the stocks group: 130 weekdays less the NYSE holidays of 24
# November, 26 December, 2 January, 16 January and 20 February, 125
# sessions of seven 1h bars. ABC in the crypto group: 182 days of 24 hours.
[ "$(rows "$work/data/EURGBP-1h.csv")" -eq 875 ] ||
    fail "EURGBP-1h.csv has $(rows "$work/data/EURGBP-1h.csv") bars, expected 125 x 7 = 875"
[ "$(rows "$work/data/ABC-1h.csv")" -eq 4368 ] ||
    fail "ABC-1h.csv has $(rows "$work/data/ABC-1h.csv") bars, expected 182 x 24 = 4368"

# `ohlcx check` finds no missing bar in any forex file on the forex calendar.
"$OHLCX" check --now "2030-01-01" --calendar forex --json "$work/check.json" \
    "$work/data"/EURUSD-*.csv "$work/data"/USDSEK-*.csv >"$work/check.out" 2>&1 ||
    fail "check of synthetic forex failed: $(grep -v ' pass ' "$work/check.out" | head -5)"
[ "$(json_get "$work/check.json" '.series | length')" -eq 26 ] ||
    fail "check read $(json_get "$work/check.json" '.series | length') series, expected 26"
# A weekend is 961 to 981 bars of 3m, inside the band of a unit switch (1000
# timeframes, 5%): the forex calendar's closure must not count as one.
[ "$(json_get "$work/check.json" '[.series[] | select(.timeframe == "3m") | .checks[] | select(.name == "unit_switch") | .count] | add')" -eq 0 ] ||
    fail "unit_switch in synthetic forex 3m: $(grep ' 3m ' "$work/check.out")"
[ "$(json_get "$work/check.json" '[.series[] | select(.gap_count != 0 or .missing_ratio != 0)] | length')" -eq 0 ] ||
    fail "gaps in synthetic forex: $(json_get "$work/check.json" '[.series[] | select(.gap_count != 0) | "\(.symbol) \(.timeframe) \(.gap_count)"] | join(", ")')"
# Left to its default, check picks the forex calendar from EURUSD's name.
"$OHLCX" check --now "2030-01-01" "$work/data/EURUSD-5m.csv" "$work/data/EURUSD-4h.csv" \
    >"$work/auto.out" 2>&1 || fail "check of EURUSD failed: $(cat "$work/auto.out")"
[ "$(grep -c 'missing 0.00% (forex calendar)' "$work/auto.out")" -eq 2 ] ||
    fail "check did not find EURUSD complete on the forex calendar: $(cat "$work/auto.out")"

# `ohlcx plan` counts forex series and 1w series on synth's calendar from
# the file's start, so its bars equal the rows synth writes, and `ohlcx
# resample` derives as many bins from the 1h file. One group per series gives
# each count alone.
cat >"$work/plan.yaml" <<'YAML'
name: forex-plan
start: 2024-01-01
months: 12
groups:
  - {asset_class: forex, timeframes: [5m], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [15m], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [30m], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [1h], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [2h], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [4h], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [6h], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [8h], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [12h], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [1d], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [1w], symbols: [EURUSD]}
  - {asset_class: forex, timeframes: [1M], symbols: [EURUSD]}
  - {asset_class: crypto, timeframes: [1w], symbols: [BTCUSDT]}
  - {asset_class: stocks, timeframes: [1w], symbols: [SPY]}
YAML
"$OHLCX" synth --universe "$work/plan.yaml" --out "$work/plan-data" 2>/dev/null ||
    fail "synth of the plan universe failed"
"$OHLCX" plan "$work/plan.yaml" --jobs 1 --json >"$work/plan.json" 2>"$work/plan.err" ||
    fail "plan failed: $(cat "$work/plan.err")"
group=0
for series in EURUSD-5m EURUSD-15m EURUSD-30m EURUSD-1h EURUSD-2h EURUSD-4h EURUSD-6h \
    EURUSD-8h EURUSD-12h EURUSD-1d EURUSD-1w EURUSD-1M BTCUSDT-1w SPY-1w; do
    planned=$(json_get "$work/plan.json" ".groups[$group].bars")
    written=$(rows "$work/plan-data/$series.csv")
    [ "$planned" -eq "$written" ] || fail "plan counts $planned bars of $series, synth wrote $written"
    group=$((group + 1))
done
# 2024 has 260 forex trading days: 262 weekdays less January 1 and December 25.
[ "$(rows "$work/plan-data/EURUSD-1h.csv")" -eq 6240 ] ||
    fail "EURUSD-1h.csv of 2024 has $(rows "$work/plan-data/EURUSD-1h.csv") bars, expected 260 x 24 = 6240"
# 4h by hand. Trading starts on Monday January 1 at 22:00 UTC, because
# January 1 is closed: 1 + 3 x 6 + 6 = 25 bars to Friday, the bar at 20:00
# holding the open. 50 whole weeks from Sunday January 7 to Friday December
# 20 have 1 + 4 x 6 + 6 = 31 bars each. Christmas Day, a Wednesday, splits
# the week of December 22 into two stretches of two trading days, 1 + 6 + 6
# = 13 bars each, and the last stretch from Sunday December 29 has trading
# days December 30 and 31, 13 bars. 25 + 50 x 31 + 3 x 13 = 1614 (the
# average per day gave 1565).
[ "$(json_get "$work/plan.json" '.groups[5].bars')" -eq 1614 ] ||
    fail "plan counts $(json_get "$work/plan.json" '.groups[5].bars') 4h bars of 2024, expected 1614"
# 2024 starts on a Monday and has 366 days: 53 Mondays.
[ "$(json_get "$work/plan.json" '.groups[10].bars')" -eq 53 ] ||
    fail "plan counts $(json_get "$work/plan.json" '.groups[10].bars') 1w bars of 2024, expected 53"

# resample builds bins the exchange way from the 1h file: a bin exists when
# a bar opens in it, so the partial bins at the week's open and close count.
"$OHLCX" ingest --store "$work/store" --jobs 1 "$work/plan-data/EURUSD-1h.csv" >/dev/null 2>&1 ||
    fail "ingest of EURUSD-1h.csv failed"
"$OHLCX" resample --store "$work/store" --to 2h,4h,6h,8h,12h,1w EURUSD >"$work/resample.out" 2>&1 ||
    fail "resample failed: $(cat "$work/resample.out")"
"$OHLCX" ls --store "$work/store" --json >"$work/ls.json" || fail "ls of the store failed"
group=4
for timeframe in 2h 4h 6h 8h 12h; do
    planned=$(json_get "$work/plan.json" ".groups[$group].bars")
    derived=$(json_get "$work/ls.json" ".series[] | select(.timeframe == \"$timeframe\") | .rows")
    [ "$planned" -eq "$derived" ] || fail "plan counts $planned bars of EURUSD $timeframe, resample derived $derived"
    group=$((group + 1))
done
derived=$(json_get "$work/ls.json" '.series[] | select(.timeframe == "1w") | .rows')
[ "$(json_get "$work/plan.json" '.groups[10].bars')" -eq "$derived" ] ||
    fail "plan counts $(json_get "$work/plan.json" '.groups[10].bars') bars of EURUSD 1w, resample derived $derived"

# Crypto, stocks and commodities keep their bars: the SHA-256 sums are
# those of the same command before forex got its own calendar. Written
# from a universe, the groups' classes give the same files.
"$OHLCX" synth --out "$work/same" --symbols BTCUSDT,SPY,XAUUSD --timeframes 1h,1d --months 2 \
    2>/dev/null || fail "synth of crypto and stocks failed"
cat >"$work/same.sums" <<'SUMS'
0263a458608fd5279bd7d0c6fe69eaf6fdb1b56e695911631dcafd0d8307c901  BTCUSDT-1d.csv
70ab601b8fc3260d0fa25aa8c6a424348e8bb3537039c117a833fe31dda00a2e  BTCUSDT-1h.csv
a4a9ad8f44621ef746895cbfaf12d505fcddf7b666a87b3d10ce942f99b4b68f  SPY-1d.csv
5848185ba2d014e096e23ac91f69449290aaaf460711013c790d41df9ff30097  SPY-1h.csv
50c14257495f46ad852bb894cc6f2ccd7b21a42100c08476e5826220150aa679  XAUUSD-1d.csv
de2644522d333c1321357a0b91ddce48c05ec90bb0f4dff8ed41aa0660e9ce24  XAUUSD-1h.csv
SUMS
(cd "$work/same" && sha256sum -c --quiet "$work/same.sums") >"$work/sums.out" 2>&1 ||
    fail "crypto or stock files changed: $(cat "$work/sums.out")"
cat >"$work/same.yaml" <<'YAML'
name: same
start: 2024-01-01
months: 2
groups:
  - {asset_class: crypto, timeframes: [1h, 1d], symbols: [BTCUSDT]}
  - {asset_class: stocks, timeframes: [1h, 1d], symbols: [SPY]}
  - {asset_class: commodities, timeframes: [1h, 1d], symbols: [XAUUSD]}
YAML
"$OHLCX" synth --universe "$work/same.yaml" --out "$work/same-universe" 2>/dev/null ||
    fail "synth of the same universe failed"
for file in "$work/same"/*.csv; do
    cmp -s "$file" "$work/same-universe/$(basename "$file")" ||
        fail "$(basename "$file") from the universe differs from the --symbols file"
done
echo "synth forex: forex week complete under check, as many bars as the plan counts"
