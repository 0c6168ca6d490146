# Four `ohlcx ingest` processes that start together on a store that does
# not exist yet all succeed. Creating the catalogue raced: switching it to
# WAL returns "database is locked" without waiting when the processes would
# deadlock. Before the schema was retried, each of 3 runs of this test
# failed (in rounds 1, 2 and 21) on a quiet 2-core machine. A race test: it
# can pass on the old code by chance, and never fails on the fixed one.
. "$(dirname "$0")/lib.sh"

symbols="BTCUSDT ETHUSDT LTCUSDT XRPUSDT"
for symbol in $symbols; do
    {
        echo "open_time,open,high,low,close,volume"
        echo "1704067200000,100.5,101.0,100.0,100.8,12.5"
        echo "1704070800000,100.8,102.0,100.7,101.9,9.0"
    } >"$work/$symbol-1h.csv"
done

rounds=25
for round in $(seq "$rounds"); do
    store="$work/store$round"
    pids=""
    for symbol in $symbols; do
        "$OHLCX" ingest --store "$store" "$work/$symbol-1h.csv" >/dev/null \
            2>"$work/$symbol.err" &
        pids="$pids $!"
    done
    for pid in $pids; do
        wait "$pid" || fail "round $round: an ingest failed: $(cat "$work"/*.err | grep error)"
    done
    series=$("$OHLCX" ls --store "$store" --json | jq '.series | length')
    [ "$series" = 4 ] || fail "round $round: $series series, expected 4"
    rm -rf "$store"
done
echo "$rounds rounds of four concurrent first ingests: every one stored"
