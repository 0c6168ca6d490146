# The same bytes under two file names go to the two series the names give:
# a store-wide digest match alone must not skip the second file. The same
# file again, or under a name that gives the same series, is a no-op.
. "$(dirname "$0")/lib.sh"

"$OHLCX" synth --out "$work/synth" --symbols BTCUSDT --timeframes 1h --months 1 2>/dev/null ||
    fail "synth failed"
mkdir "$work/in" "$work/renamed"
cp "$work/synth/BTCUSDT-1h.csv" "$work/in/BTCUSDT-1h.csv"
cp "$work/synth/BTCUSDT-1h.csv" "$work/in/ETHUSDT-1h.csv"
cp "$work/synth/BTCUSDT-1h.csv" "$work/renamed/BTCUSDT_1h.csv"
rows=$(($(wc -l <"$work/synth/BTCUSDT-1h.csv") - 1))

"$OHLCX" ingest --store "$work/store" --jobs 1 "$work/in" >"$work/first.out" 2>&1 ||
    fail "ingest failed: $(tail -2 "$work/first.out")"
"$OHLCX" ls --store "$work/store" >"$work/ls.out" 2>&1 || fail "ls failed"
for symbol in BTCUSDT ETHUSDT; do
    grep -q "^$symbol  *1h  *crypto  *[a-z-]*  *$rows " "$work/ls.out" ||
        fail "$symbol 1h with $rows rows is not in the store: $(cat "$work/ls.out")"
done

"$OHLCX" ingest --store "$work/store" --jobs 1 "$work/in" >"$work/again.out" 2>&1 ||
    fail "second ingest failed"
grep -q '2 files (2 already ingested)' "$work/again.out" || fail "re-ingest: $(tail -1 "$work/again.out")"
"$OHLCX" ingest --store "$work/store" --jobs 1 "$work/renamed" >"$work/renamed.out" 2>&1 ||
    fail "ingest of the renamed copy failed"
grep -q '1 file (1 already ingested)' "$work/renamed.out" ||
    fail "renamed copy of a stored file: $(tail -1 "$work/renamed.out")"
echo "ingest copies: same bytes, two names, two series"
