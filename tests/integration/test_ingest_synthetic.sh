# A file ingested with --bad-rows skip gets a synthetic bar where the bad
# row was (a one-bar gap filled by interpolation, volume 0, flag 2).
# Ingesting the corrected file later replaces that bar with the real one;
# the reverse order keeps the real bar. Neither is logged as a conflict.
. "$(dirname "$0")/lib.sh"

mkdir "$work/bad" "$work/fixed"
header="open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore"
# Five hourly bars from 2024-01-01 00:00 UTC (1704067200000 ms). The bar at
# 02:00 (line 4) has "abc" for its open price in the bad file.
{
    echo "$header"
    echo "1704067200000,100.5,101.0,100.0,100.8,12.5,1704070799999,1260.0,40,6.0,605.0,0"
    echo "1704070800000,100.8,102.0,100.7,101.9,9.0,1704074399999,912.0,31,4.0,406.0,0"
    echo "1704074400000,abc,102.3,101.1,101.2,7.5,1704077999999,762.0,25,3.5,355.0,0"
    echo "1704078000000,101.2,101.5,100.9,101.3,5.0,1704081599999,500.0,20,2.0,200.0,0"
    echo "1704081600000,101.3,101.8,101.0,101.6,6.0,1704085199999,600.0,22,3.0,300.0,0"
} >"$work/bad/ETHUSDT-1h.csv"
sed 's/^1704074400000,abc,/1704074400000,101.9,/' "$work/bad/ETHUSDT-1h.csv" >"$work/fixed/ETHUSDT-1h.csv"

# export_bar STORE: prints the exported row of the 02:00 bar.
export_bar() {
    "$OHLCX" export --store "$1" ETHUSDT 1h >"$work/export.csv" 2>"$work/export.err" ||
        fail "export failed: $(cat "$work/export.err")"
    grep '^1704074400000,' "$work/export.csv" || fail "no 02:00 bar in $(cat "$work/export.csv")"
}

"$OHLCX" ingest --store "$work/s1" --bad-rows skip "$work/bad/ETHUSDT-1h.csv" >"$work/1.out" 2>&1 ||
    fail "ingest of the bad file failed: $(tail -2 "$work/1.out")"
# The filled bar opens at the 01:00 close 101.9 and closes halfway to the
# 03:00 open 101.2, at 101.55; high and low are the larger and smaller of
# the two, volume 0, optional columns empty (NaN) and flags 2 (synthetic).
bar=$(export_bar "$work/s1")
[ "$bar" = "1704074400000,101.9,101.9,101.55,101.55,0.0,,,,,2" ] ||
    fail "02:00 after the bad file is not the synthetic bar: $bar"

"$OHLCX" ingest --store "$work/s1" "$work/fixed/ETHUSDT-1h.csv" >"$work/2.out" 2>&1 ||
    fail "ingest of the fixed file failed: $(tail -2 "$work/2.out")"
grep -q '0 bars added, 4 identical, 0 conflicting, 1 stored synthetic bar replaced' "$work/2.out" ||
    fail "fixed file: $(grep 'bars added' "$work/2.out")"
grep -q '^ingest: 1 file .* 0 conflicting, 1 stored synthetic bar replaced$' "$work/2.out" ||
    fail "summary of the fixed file: $(grep '^ingest:' "$work/2.out")"
if grep -q 'kept the stored bar' "$work/2.out"; then
    fail "the synthetic bar was logged as a conflict: $(grep conflict "$work/2.out")"
fi
bar=$(export_bar "$work/s1")
[ "$bar" = "1704074400000,101.9,102.3,101.1,101.2,7.5,762,25,3.5,355,0" ] ||
    fail "02:00 after the fixed file: $bar"
"$OHLCX" ls --store "$work/s1" >"$work/ls.out" 2>&1 || fail "ls failed"
grep -q '^ETHUSDT  *1h  *crypto  *[a-z0-9-]*  *5 ' "$work/ls.out" ||
    fail "ETHUSDT 1h with 5 rows is not in the store: $(cat "$work/ls.out")"
# The new version is the published one and the only one left.
[ "$(cat "$work/s1/series/ETHUSDT/1h/CURRENT")" = v2 ] ||
    fail "CURRENT is $(cat "$work/s1/series/ETHUSDT/1h/CURRENT"), expected v2"
[ "$(ls "$work/s1/series/ETHUSDT/1h")" = "CURRENT
v2" ] || fail "series folder holds $(ls "$work/s1/series/ETHUSDT/1h")"

# The other order: the real bar stays, and the filled one is not a conflict.
"$OHLCX" ingest --store "$work/s2" "$work/fixed/ETHUSDT-1h.csv" >"$work/3.out" 2>&1 ||
    fail "ingest of the fixed file failed: $(tail -2 "$work/3.out")"
"$OHLCX" ingest --store "$work/s2" --bad-rows skip "$work/bad/ETHUSDT-1h.csv" >"$work/4.out" 2>&1 ||
    fail "ingest of the bad file failed: $(tail -2 "$work/4.out")"
grep -q '0 bars added, 4 identical, 0 conflicting, 0 stored synthetic bars replaced, 1 synthetic bar not stored over real ones' "$work/4.out" ||
    fail "bad file after the fixed one: $(grep 'bars added' "$work/4.out")"
bar=$(export_bar "$work/s2")
[ "$bar" = "1704074400000,101.9,102.3,101.1,101.2,7.5,762,25,3.5,355,0" ] ||
    fail "02:00 after the bad file over the fixed one: $bar"
echo "ingest synthetic: a real bar replaces a filled one, never the reverse"
