# What `ohlcx ingest`, `resample` and `synth` print and record, on small
# files written here. Nouns are singular for a count of 1. The catalogue
# records the size of the bytes hashed. A damaged compressed file gets one
# clear error, and a run stopped by a bad file prints what it stored. A
# symbol with letters outside ASCII keeps its case.
. "$(dirname "$0")/lib.sh"

header='open_time,open,high,low,close,volume'
mkdir "$work/in"

# One file of one row: every count in the summary is 1 or 0.
printf '%s\n1704067200000,10,12,9,11,100\n' "$header" >"$work/in/ONEUSDT-1h.csv"
"$OHLCX" ingest --store "$work/one" "$work/in/ONEUSDT-1h.csv" >"$work/one.out" 2>"$work/one.err" ||
    fail "ingest of one row failed: $(cat "$work/one.err")"
expected='ingest: 1 file (0 already ingested), 1 row read, 0 unparseable skipped, 0 dropped by validation, 0 synthetic bars filled; 1 bar added, 0 identical, 0 conflicting, 0 stored synthetic bars replaced'
[ "$(cat "$work/one.out")" = "$expected" ] || fail "one-row summary: $(cat "$work/one.out")"
grep -q "info: ingesting 1 file (0.0 MB) into $work/one on [0-9]* thread" "$work/one.err" ||
    fail "one-file log: $(cat "$work/one.err")"
grep -q "ONEUSDT-1h.csv: 1 bar added, 0 identical, 0 conflicting; ONEUSDT 1h has 1 bar$" \
    "$work/one.err" || fail "one-row file log: $(cat "$work/one.err")"

# Three hourly bars of 2024-01-01 from 00:00 make one daily bin: 1 symbol,
# 1 series, 1 bin. The bin is partial and still open, as 21 hours are missing.
printf '%s\n1704067200000,10,12,9,11,100\n1704070800000,11,13,10,12,100\n1704074400000,12,14,11,13,100\n' \
    "$header" >"$work/in/ABCUSDT-1h.csv"
"$OHLCX" ingest --store "$work/one" "$work/in/ABCUSDT-1h.csv" >"$work/abc.out" 2>&1 ||
    fail "ingest of ABCUSDT failed: $(cat "$work/abc.out")"
grep -q '^ingest: 1 file (0 already ingested), 3 rows read, .* 3 bars added,' "$work/abc.out" ||
    fail "three-row summary: $(cat "$work/abc.out")"
"$OHLCX" resample --store "$work/one" --to 1d ABCUSDT >"$work/resample.out" 2>"$work/resample.err" ||
    fail "resample failed: $(cat "$work/resample.err")"
grep -qx 'ABCUSDT 1d from 1h: 1 bin (1 partial, 1 still open), 1 added, 0 identical, 0 replaced' \
    "$work/resample.out" || fail "resample series line: $(cat "$work/resample.out")"
grep -qx 'resample: 1 symbol, 1 series written (0 skipped); 1 bin added, 0 identical, 0 replaced; 1 partial, 1 still open' \
    "$work/resample.out" || fail "resample summary: $(cat "$work/resample.out")"

# A universe of one month and one symbol, EURGBP, which reads as forex but
# is listed as crypto.
cat >"$work/tiny.yaml" <<'YAML'
name: tiny
start: 2024-01-01
months: 1
groups:
  - asset_class: crypto
    timeframes: [1d]
    symbols: [EURGBP]
YAML
"$OHLCX" synth --universe "$work/tiny.yaml" --out "$work/synth" 2>"$work/synth.err" ||
    fail "synth failed: $(cat "$work/synth.err")"
grep -q 'info: universe tiny: writing 1 series of 1 month, about [0-9]* bars in total' \
    "$work/synth.err" || fail "synth plan line: $(cat "$work/synth.err")"
grep -q 'warning: 1 symbol (EURGBP) has a name that reads as another asset class' \
    "$work/synth.err" || fail "synth name warning: $(cat "$work/synth.err")"
# January 2024 has 31 days, and crypto trades every day.
grep -q "info: wrote $work/synth/EURGBP-1d.csv (31 bars)" "$work/synth.err" ||
    fail "synth file line: $(cat "$work/synth.err")"

# The catalogue records the size of the bytes that ingest hashed for the
# file's digest: the whole file as stored, so the compressed size of a gzip
# or zstd file.
mkdir "$work/sized"
printf '%s\n1704067200000,10,12,9,11,100\n1704070800000,11,13,10,12,100\n' "$header" \
    >"$work/sized/PLAINUSDT-1h.csv"
cp "$work/in/ABCUSDT-1h.csv" "$work/sized/GZUSDT-1h.csv"
gzip -9 "$work/sized/GZUSDT-1h.csv"
zstd -q -19 "$work/in/ABCUSDT-1h.csv" -o "$work/sized/ZSTUSDT-1h.csv.zst"
"$OHLCX" ingest --store "$work/sized-store" "$work/sized" >/dev/null 2>"$work/sized.err" ||
    fail "ingest of plain, gzip and zstd files failed: $(cat "$work/sized.err")"
for file in PLAINUSDT-1h.csv GZUSDT-1h.csv.gz ZSTUSDT-1h.csv.zst; do
    recorded=$(python3 - "$work/sized-store/catalog.sqlite" "$work/sized/$file" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT size FROM source_files WHERE path = ?", (sys.argv[2],)).fetchall()
print(rows[0][0] if len(rows) == 1 else f"{len(rows)} records")
PY
)
    actual=$(stat -c %s "$work/sized/$file")
    [ "$recorded" = "$actual" ] || fail "$file: catalogue size $recorded, file size $actual"
done

# A damaged compressed file: one line naming the file once, what is wrong
# and what to do, and exit status 2. The first 30 bytes of a gzip file cut
# its deflate stream short. In the zstd file, 0xff bytes overwrite bytes 12
# to 19, which lie in the first block's data because the magic number and
# the frame and block headers of this small file take fewer bytes.
mkdir "$work/bad"
head -c 30 "$work/sized/GZUSDT-1h.csv.gz" >"$work/bad/CUTUSDT-1h.csv.gz"
cp "$work/sized/ZSTUSDT-1h.csv.zst" "$work/bad/BADUSDT-1h.csv.zst"
printf '\377\377\377\377\377\377\377\377' |
    dd of="$work/bad/BADUSDT-1h.csv.zst" bs=1 seek=12 conv=notrunc 2>/dev/null
for case in "CUTUSDT-1h.csv.gz|gzip|unexpected end of file" \
    "BADUSDT-1h.csv.zst|zstd|Data corruption detected"; do
    file=${case%%|*}
    rest=${case#*|}
    kind=${rest%%|*}
    reason=${rest#*|}
    status=0
    "$OHLCX" ingest --store "$work/bad-store" "$work/bad/$file" >/dev/null 2>"$work/bad.err" ||
        status=$?
    [ "$status" -eq 2 ] || fail "$file: exit status $status, expected 2"
    expected="ohlcx: error: $work/bad/$file: invalid $kind data ($reason): the file is damaged or cut short, so replace it with a complete copy"
    [ "$(grep -v 'info:' "$work/bad.err")" = "$expected" ] ||
        fail "$file: error $(grep -v 'info:' "$work/bad.err")"
done

# A good file, then a file whose layout is unknown. The run stops with the
# error and a summary line that counts what was stored before it stopped,
# so that it cannot be read as a finished run. With two jobs, the good file
# still starts first, and a file that starts is finished.
mkdir "$work/two"
cp "$work/in/ABCUSDT-1h.csv" "$work/two/AAAUSDT-1h.csv"
printf 'open_time,open\n1704067200000,10\n' >"$work/two/BBBUSDT-1h.csv"
for jobs in 1 2; do
    status=0
    "$OHLCX" ingest --store "$work/two-store-$jobs" --jobs "$jobs" "$work/two" \
        >"$work/two.out" 2>"$work/two.err" || status=$?
    [ "$status" -eq 2 ] || fail "--jobs $jobs: exit status $status, expected 2"
    grep -q "^ohlcx: error: $work/two/BBBUSDT-1h.csv:1:1: unknown layout" "$work/two.err" ||
        fail "--jobs $jobs: error $(grep -v 'info:' "$work/two.err")"
    expected='ingest: stopped by an error after 1 file (0 already ingested), 3 rows read, 0 unparseable skipped, 0 dropped by validation, 0 synthetic bars filled; 3 bars added, 0 identical, 0 conflicting, 0 stored synthetic bars replaced'
    [ "$(cat "$work/two.out")" = "$expected" ] || fail "--jobs $jobs: summary $(cat "$work/two.out")"
    "$OHLCX" ls --store "$work/two-store-$jobs" --json >"$work/two.json" || fail "ls failed"
    [ "$(json_get "$work/two.json" '[.series[] | "\(.symbol) \(.rows)"] | join(",")')" = "AAAUSDT 3" ] ||
        fail "--jobs $jobs: stored series $(cat "$work/two.json")"
done

# A symbol with a letter outside ASCII keeps its case as written, because
# upper-casing only the ASCII letters of "éth" would give "éTH".
cp "$work/in/ABCUSDT-1h.csv" "$work/in/éth-1h.csv"
"$OHLCX" ingest --store "$work/utf8" "$work/in/éth-1h.csv" >/dev/null 2>"$work/utf8.err" ||
    fail "ingest of éth-1h.csv failed: $(cat "$work/utf8.err")"
"$OHLCX" ls --store "$work/utf8" --json >"$work/utf8.json" || fail "ls failed"
[ "$(json_get "$work/utf8.json" '[.series[].symbol] | join(",")')" = "éth" ] ||
    fail "symbol of éth-1h.csv: $(cat "$work/utf8.json")"

echo "ingest messages: plurals, recorded sizes, damaged files, a stopped run and UTF-8 symbols checked"
