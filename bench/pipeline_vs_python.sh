#!/bin/sh
# Side-by-side: the whole `ohlcx run` pipeline on the demo universe (6
# symbols x 4 timeframes, about 277,000 bars) against the same stages in
# Python, on the same files and thread count, in one run.
# bench/pipeline_python.py builds the Python pipeline from pandas, numpy,
# PyTorch and the xgboost package, as Debian packages them.
# Writes the demo universe once with `ohlcx synth` and its defaults, the
# files that `ohlcx run` writes without --data. Runs each pipeline RUNS
# times, alternating, and prints per stage the medians of both, their ratio,
# the total, the sample counts and the test accuracies.
#
# usage: bench/pipeline_vs_python.sh [OHLCX] [THREADS] [RUNS]
#   OHLCX    the command (default: build/ohlcx)
#   THREADS  ohlcx run --jobs, torch.set_num_threads and XGBoost nthread
#            (default: 2)
#   RUNS     runs of each pipeline (default: 1; one run of both takes minutes)
#
# The environment passes through to both, so OMP_WAIT_POLICY=passive, for
# example, applies to PyTorch's OpenMP threads. With KEEP=1 the work folder
# (data, ohlcx's run folders, the Python results and logs) is kept and its
# path printed; otherwise it is removed at the end.
set -eu

ohlcx=${1:-build/ohlcx}
threads=${2:-2}
runs=${3:-1}
here=$(dirname "$0")
work=$(mktemp -d "${TMPDIR:-/tmp}/ohlcx-pipeline.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    trap 'echo "work folder kept: $work"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi

/usr/bin/python3 -c 'import pandas, torch, xgboost' 2>/dev/null || {
    echo "bench: the Python pipeline needs pandas, PyTorch and xgboost:" \
        "apt-get install python3-pandas python3-torch python3-xgboost" >&2
    exit 2
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)"
echo "load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "configuration: demo universe, $threads threads, $runs runs of each pipeline"

"$ohlcx" synth --out "$work/data" 2>/dev/null
set -- "$work/data"/*.csv
echo "data: $# files, $(cat "$@" | wc -c) bytes"

run=1
while [ "$run" -le "$runs" ]; do
    started=$(date +%s)
    "$ohlcx" run --data "$work/data" --jobs "$threads" --out "$work/ohlcx-$run" \
        >"$work/ohlcx-$run.log" 2>&1 || {
        echo "bench: ohlcx run failed, its last lines:" >&2
        tail -n 20 "$work/ohlcx-$run.log" >&2
        exit 1
    }
    middle=$(date +%s)
    /usr/bin/python3 "$here/pipeline_python.py" "$work/data" --threads "$threads" \
        >"$work/python-$run.json" 2>"$work/python-$run.log" || {
        echo "bench: pipeline_python.py failed, its last lines:" >&2
        tail -n 20 "$work/python-$run.log" >&2
        exit 1
    }
    echo "run $run: ohlcx $((middle - started)) s, python $(($(date +%s) - middle)) s" \
        "(wall time of each command)"
    run=$((run + 1))
done

/usr/bin/python3 - "$work" "$runs" <<'EOF'
import json
import math
import statistics
import sys

work, runs = sys.argv[1], int(sys.argv[2])
ohlcx = [json.load(open(f"{work}/ohlcx-{r}/metrics.json")) for r in range(1, runs + 1)]
python = [json.load(open(f"{work}/python-{r}.json")) for r in range(1, runs + 1)]

# ohlcx's features stage computes the indicators, splits and labels, and it
# builds the CNN windows inside cnn_train and embed. The Python pipeline
# builds windows, labels and XGBoost rows in its dataset stage, so that
# stage is set against ohlcx's features stage together with its features.
stages = [("load", ["load"]), ("features", ["features", "dataset"]),
          ("cnn_train", ["cnn_train"]), ("embed", ["embed"]),
          ("xgb_train", ["xgb_train"]), ("predict", ["predict"]), ("total", ["total"])]


def ohlcx_seconds(metrics, stage):
    return metrics["timings_s"][stage]


def python_seconds(result, names):
    return sum(result["timings_s"][name] for name in names)


def median(values):
    return statistics.median(values)


print()
print(f"{'stage':<24}{'ohlcx s':>10}{'python s':>10}{'python / ohlcx':>16}")
ratios = {}
for stage, names in stages:
    ohlcx_median = median([ohlcx_seconds(m, stage) for m in ohlcx])
    python_median = median([python_seconds(r, names) for r in python])
    ratios[stage] = python_median / ohlcx_median
    label = stage if len(names) == 1 else f"{stage} (+ {', '.join(names[1:])})"
    print(f"{label:<24}{ohlcx_median:>10.3f}{python_median:>10.3f}{ratios[stage]:>16.1f}")
ohlcx_median = median([m["timings_s"]["total"] - m["timings_s"]["cnn_train"] for m in ohlcx])
python_median = median([r["timings_s"]["total"] - r["timings_s"]["cnn_train"] for r in python])
print(f"{'total without cnn_train':<24}{ohlcx_median:>10.3f}{python_median:>10.3f}"
      f"{python_median / ohlcx_median:>16.1f}")
print(f"python imports (not in its total): {median([r['import_s'] for r in python]):.2f} s")

# Early stopping ends each CNN after its own number of epochs, so the time
# per training sample and epoch compares the engines whatever those counts.
print()
for r, (m, result) in enumerate(zip(ohlcx, python), 1):
    groups = {g["name"]: g for g in result["cnn"]}
    ohlcx_samples = sum(c["epochs"] * groups[c["group"]]["train_samples"] for c in m["cnn"])
    python_samples = sum(g["epochs"] * g["train_samples"] for g in result["cnn"])
    ohlcx_rate = ohlcx_samples / m["timings_s"]["cnn_train"]
    python_rate = python_samples / result["timings_s"]["cnn_train"]
    print(f"run {r} cnn epochs: ohlcx " + " ".join(f"{c['group']} {c['epochs']}" for c in m["cnn"]))
    print(f"run {r} cnn epochs: python " + " ".join(f"{g['name']} {g['epochs']}"
                                                for g in result["cnn"]))
    print(f"run {r} cnn_train per training sample and epoch (validation included): ohlcx "
          f"{ohlcx_rate:.0f} samples/s, python {python_rate:.0f} samples/s, ohlcx / python "
          f"{ohlcx_rate / python_rate:.1f}")

print()
parts = ("cnn_train", "xgb_train", "validation", "test")
o_samples = ohlcx[0]["rows"]["samples_by_part"]
p_samples = python[0]["samples"]
print("samples  " + "  ".join(f"{part} {o_samples[part]}/{p_samples[part]}" for part in parts)
      + "  (ohlcx/python)")
print(f"rows read: ohlcx {ohlcx[0]['rows']['read']}, python {python[0]['rows_read']}; "
      f"bars filled: ohlcx {ohlcx[0]['rows']['filled']}, python {python[0]['bars_filled']}")

print()
print(f"{'test accuracy':<24}" + "".join(f"{'run ' + str(r):>10}" for r in range(1, runs + 1)))
rows = [("ohlcx cnn+xgboost", [m["test"]["accuracy"] for m in ohlcx]),
        ("python cnn+xgboost", [r["test"]["cnn_xgboost"]["accuracy"] for r in python]),
        ("ohlcx xgb_without_cnn", [m["baselines"]["xgb_without_cnn"]["accuracy"] for m in ohlcx]),
        ("python xgb_without_cnn",
         [r["test"]["xgboost_without_cnn"]["accuracy"] for r in python]),
        ("ohlcx cnn_only", [m["baselines"]["cnn_only"]["accuracy"] for m in ohlcx]),
        ("python cnn_only", [r["test"]["cnn_only"]["accuracy"] for r in python]),
        ("majority (both)", [m["baselines"]["majority"]["accuracy"] for m in ohlcx])]
for name, values in rows:
    print(f"{name:<24}" + "".join(f"{v:>10.4f}" for v in values))

# Early stopping also decides how many rounds each XGBoost model trains: the
# best round plus 30, at most 400. ohlcx records the rounds kept.
print()
for r, (m, result) in enumerate(zip(ohlcx, python), 1):
    ohlcx_rounds = sum(min(m[key] + 30, 400) for key in ("xgb_rounds", "xgb_without_cnn_rounds"))
    python_rounds = sum(result["xgboost_rounds_trained"].values())
    ohlcx_rate = ohlcx_rounds / m["timings_s"]["xgb_train"]
    python_rate = python_rounds / result["timings_s"]["xgb_train"]
    print(f"run {r} xgboost rounds kept, combined and without cnn: ohlcx {m['xgb_rounds']} and "
          f"{m['xgb_without_cnn_rounds']}, python {result['xgboost_rounds']['combined']} and "
          f"{result['xgboost_rounds']['without_cnn']}")
    print(f"run {r} xgb_train per round trained: ohlcx {ohlcx_rate:.1f} rounds/s, python "
          f"{python_rate:.1f} rounds/s, ohlcx / python {ohlcx_rate / python_rate:.1f}")

print()
total_met = ratios["total"] >= 3
stages_met = all(ratios[s] >= 20 for s, _ in stages if s not in ("cnn_train", "total"))
accuracy_met = (median([m["test"]["accuracy"] for m in ohlcx])
                >= median([r["test"]["cnn_xgboost"]["accuracy"] for r in python]))
print(f"target total >= 3 times faster: {'met' if total_met else 'not met'} "
      f"({ratios['total']:.1f})")
print("target every stage but cnn_train >= 20 times faster: "
      f"{'met' if stages_met else 'not met'} ("
      + ", ".join(f"{s} {ratios[s]:.1f}" for s, _ in stages
                  if s not in ("cnn_train", "total")) + ")")
ohlcx_accuracy = median([m["test"]["accuracy"] for m in ohlcx])
python_accuracy = median([r["test"]["cnn_xgboost"]["accuracy"] for r in python])
n_test = ohlcx[0]["test"]["n"]
standard_error = math.sqrt(0.25 / n_test)
print(f"target accuracy equal or better: {'met' if accuracy_met else 'not met'} "
      f"(ohlcx - python = {ohlcx_accuracy - python_accuracy:+.4f}; the standard error of an "
      f"accuracy near 0.5 on {n_test} test rows is {standard_error:.4f})")
EOF

echo "load average at end: $(cut -d ' ' -f 1-3 /proc/loadavg)"
