# A file that another program truncates while ingest reads it whole (two
# threads parse it in pieces through buffers) fails with "the file changed
# while it was read", exit 2, and stores nothing. Before, the parse reported
# a bad row at a line that the file no longer had ("BIGUSDT-1m.csv:3870581:2:
# expected 6 fields, found 1" for a file cut to 355,810 lines). A race test:
# each round truncates the file at another moment of the read. A cut that
# lands before the read starts gives a bad row at the file's last line, which
# must then exist. A cut that lands after the read gives a complete ingest. A cut
# after the parse but before the digest check fails with "changed while
# ingest read it".
. "$(dirname "$0")/lib.sh"

# 1,000,000 1m bars, 40 MB.
awk 'BEGIN { print "open_time,open,high,low,close,volume"
             for (i = 0; i < 1000000; i++)
                 printf "%.0f,100.%02d,101.%02d,99.%02d,100.%02d,%d\n",
                        1704067200000 + i * 60000, i % 100, i % 100, i % 100, (i + 1) % 100, i % 97 + 1 }' \
    >"$work/source.csv"
cp "$work/source.csv" "$work/BIGUSDT-1m.csv"
started=$(date +%s%N)
OHLCX_INGEST_STREAM=0 "$OHLCX" ingest --jobs 2 --store "$work/timing" "$work/BIGUSDT-1m.csv" \
    >/dev/null 2>&1 || fail "untouched ingest failed"
seconds=$(awk -v a="$started" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')

changed=0
for round in 1 2 3 4 5 6 7 8; do
    cp "$work/source.csv" "$work/BIGUSDT-1m.csv"
    rm -rf "$work/store"
    delay=$(awk -v s="$seconds" -v r="$round" 'BEGIN { printf "%.3f", s * r / 16 }')
    OHLCX_INGEST_STREAM=0 "$OHLCX" ingest --jobs 2 --store "$work/store" "$work/BIGUSDT-1m.csv" \
        >/dev/null 2>"$work/err" &
    pid=$!
    sleep "$delay"
    truncate -s 10000000 "$work/BIGUSDT-1m.csv"
    status=0
    wait "$pid" || status=$?
    lines=$(wc -l <"$work/BIGUSDT-1m.csv")
    message=$(grep 'error' "$work/err" | head -1)
    case "$status:$message" in
    0:)
        ;;
    2:*": the file changed while it was read (another program truncated or rewrote it): read it again" | \
        2:*" changed while ingest read it: run ingest again")
        changed=$((changed + 1))
        stored=$("$OHLCX" ls --store "$work/store" --json 2>/dev/null | jq '.series | length')
        [ "${stored:-0}" = 0 ] || fail "round $round: a failed ingest stored $stored series"
        ;;
    2:*"BIGUSDT-1m.csv:"[0-9]*)
        line=$(echo "$message" | sed 's/.*BIGUSDT-1m.csv:\([0-9]*\):.*/\1/')
        [ "$line" -le $((lines + 1)) ] ||
            fail "round $round: error at line $line of a file of $lines lines: $message"
        ;;
    *)
        fail "round $round (after ${delay}s): exit $status: $message"
        ;;
    esac
    echo "round $round: cut after ${delay}s, exit $status ${message:+($message)}"
done
echo "$changed of 8 rounds saw the file change during the read"
