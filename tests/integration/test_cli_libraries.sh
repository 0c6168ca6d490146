# XGBoost, OpenBLAS and oneDNN load on first use: commands without machine
# learning start without them, `ohlcx run` loads them after main() has set
# OMP_WAIT_POLICY, and a library that cannot be loaded stops the run with one
# error line naming it.
. "$(dirname "$0")/lib.sh"

# The libraries themselves and what only they bring in. libstdc++ is not in
# the list because the sanitizer runtime loads it too.
ml_libraries='libxgboost|libopenblas|libdnnl|libgomp|libgfortran|libOpenCL'

# loaded_by NAME ARGS...: runs ohlcx ARGS under LD_DEBUG=files, expects exit
# status 0, and writes the base names of the shared objects the dynamic
# loader opened to $work/NAME.loaded, one per line.
loaded_by() {
    name=$1
    shift
    LD_DEBUG=files LD_DEBUG_OUTPUT="$work/$name.debug" "$OHLCX" "$@" \
        >"$work/$name.out" 2>"$work/$name.err" ||
        fail "$name: ohlcx $* failed: $(tail -3 "$work/$name.err")"
    cat "$work/$name.debug".* |
        sed -n 's/.*file=\([^ ]*\).*\[0\];  needed by.*/\1/p; s/.*file=\([^ ]*\).*\[0\];  dynamically loaded by.*/\1/p' |
        sed 's,.*/,,' | sort -u >"$work/$name.loaded"
    rm -f "$work/$name.debug".*
    [ -s "$work/$name.loaded" ] || fail "$name: LD_DEBUG=files listed no shared object"
}

"$OHLCX" synth --out "$work/data" --symbols BTCUSDT --timeframes 1h --months 3 2>/dev/null ||
    fail "synth failed"

# Light commands: nothing of the machine-learning stack.
loaded_by ingest_help ingest --help
loaded_by synth synth --out "$work/synth" --symbols ETHUSDT --timeframes 1d --months 1
loaded_by ingest ingest --store "$work/store" "$work/data"
loaded_by ls ls --store "$work/store"
loaded_by export export --store "$work/store" --out "$work/btc.csv" BTCUSDT 1h
loaded_by check check "$work/data"
loaded_by resample resample --store "$work/store" --to 4h
loaded_by plan_help plan --help
for name in ingest_help synth ingest ls export check resample plan_help; do
    if grep -Eq "^($ml_libraries)" "$work/$name.loaded"; then
        fail "$name loaded $(grep -E "^($ml_libraries)" "$work/$name.loaded" | tr '\n' ' ')"
    fi
done
# The check above can fail: the list is not empty, and it contains what a
# light command does load.
grep -q '^libc\.so\.6$' "$work/ls.loaded" || fail "ls: no libc.so.6 in $(cat "$work/ls.loaded")"

# A run loads XGBoost, OpenBLAS and GNU OpenMP (oneDNN too, when built with it).
loaded_by run run --data "$work/data" --out "$work/run" --epochs 1 --window 16 --jobs 1
for library in libxgboost.so.0 libopenblas.so.0 libgomp.so.1; do
    grep -qx "$library" "$work/run.loaded" || fail "run did not load $library"
done

# report reads a finished run and multiplies no matrices.
loaded_by report report --run "$work/run" --out "$work/report.html"
if grep -Eq "^($ml_libraries)" "$work/report.loaded"; then
    fail "report loaded $(grep -E "^($ml_libraries)" "$work/report.loaded" | tr '\n' ' ')"
fi

# OMP_WAIT_POLICY: passive unless the user set it, in force when GNU OpenMP
# loads, which prints its settings at that moment under OMP_DISPLAY_ENV.
run_wait_policy() {
    "$OHLCX" run --data "$work/data" --out "$work/policy" --epochs 1 --window 16 --jobs 1 \
        2>&1 >/dev/null | sed -n "s/^ *OMP_WAIT_POLICY = '\([A-Z]*\)'$/\1/p" | sort -u
}
policy=$(unset OMP_WAIT_POLICY; OMP_DISPLAY_ENV=true run_wait_policy)
[ "$policy" = PASSIVE ] || fail "OMP_WAIT_POLICY was '$policy' with the variable unset, expected PASSIVE"
policy=$(OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=true run_wait_policy)
[ "$policy" = ACTIVE ] || fail "OMP_WAIT_POLICY was '$policy' with the user's active, expected ACTIVE"

# expect_missing SONAME TITLE: a run with SONAME hidden exits with status 1
# and one error line naming TITLE, the SONAME and the package to install.
# The run loads XGBoost and OpenBLAS before anything else, so the error
# line is the only line of the log.
expect_missing() {
    status=0
    OHLCX_TEST_HIDE_LIBRARY="$1" "$OHLCX" run --data "$work/data" --out "$work/missing" \
        --epochs 1 --window 16 --jobs 1 >/dev/null 2>"$work/missing.err" || status=$?
    [ "$status" -eq 1 ] || fail "$1 hidden: exit status $status, expected 1 ($(tail -3 "$work/missing.err"))"
    grep '^ohlcx: error:' "$work/missing.err" >"$work/missing.lines" || true
    lines=$(wc -l <"$work/missing.lines")
    [ "$lines" -eq 1 ] || fail "$1 hidden: $lines error lines, expected 1: $(cat "$work/missing.err")"
    pattern="^ohlcx: error: .*could not load $2 \\($1: hidden by OHLCX_TEST_HIDE_LIBRARY\\): install the (Debian package [a-z0-9.+-]+|package that provides $1)\$"
    grep -Eq "$pattern" "$work/missing.lines" ||
        fail "$1 hidden: stderr '$(cat "$work/missing.lines")' lacks /$pattern/"
}
expect_missing libxgboost.so.0 XGBoost
# The run checks the libraries before it starts: nothing was trained or
# written (it used to train the CNN and write its checkpoints first).
[ ! -e "$work/missing" ] || fail "a run without XGBoost wrote $(ls "$work/missing")"
expect_missing libopenblas.so.0 OpenBLAS
[ ! -e "$work/missing" ] || fail "a run without OpenBLAS wrote $(ls "$work/missing")"
if grep -qx libdnnl.so.2 "$work/run.loaded"; then
    expect_missing libdnnl.so.2 oneDNN
fi
