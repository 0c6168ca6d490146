"""The quality checks of ohlcx_check_series() written with pandas and numpy,
timed on the series that `bench_checks --dump DIR` writes.

usage: /usr/bin/python3 bench/checks_pandas.py DIR [RUNS] [WINDOW]

For each of DIR/clean.bin and DIR/dirty.bin it loads the columns (not
timed), then times the checks alone and prints the median of RUNS runs in
bars per second. Two variants of the rolling statistics are timed:

  rolling  what a pandas user would write: Series.rolling(w).median() of
           the log returns, and as the MAD the rolling median of
           |r - rolling median| (pandas has no rolling MAD); volume spikes
           against Series.rolling(50).median().
  blocks   the statistic that ohlcx computes: the returns cut into blocks
           of w, each block compared with the median and MAD of the block
           before it, with numpy.median over a reshaped array.

Every other check is the same in both: order, repeated open times, the 1m
grid, unit switches, invalid prices, OHLC relations, flat bars, volume
rules, zero-volume runs, price scale jumps and gaps.
"""
import sys
import time

import numpy as np
import pandas as pd

MINUTE_US = 60_000_000
MAD_TO_SIGMA = 1.4826
Z_THRESHOLD = 10.0
SPIKE_WINDOW = 50
SPIKE_FACTOR = 20.0


def load(path):
    """Returns a DataFrame of the columns written by bench_checks --dump."""
    raw = np.fromfile(path, dtype="<i8", count=1)
    n = int(raw[0])
    times = np.fromfile(path, dtype="<i8", count=n, offset=8)
    values = np.fromfile(path, dtype="<f8", count=5 * n, offset=8 + 8 * n).reshape(5, n)
    return pd.DataFrame({"open_time": times, "open": values[0], "high": values[1],
                         "low": values[2], "close": values[3], "volume": values[4]})


FIRST_BLOCK_MIN = 20


def block_stats(values, window):
    """Median and MAD of each full block of `window` values, shifted by one
    block and repeated for every value; the first block (or all values, when
    there are fewer) gets its own, when it has FIRST_BLOCK_MIN values."""
    blocks = len(values) // window
    out_median = np.full(len(values), np.nan)
    out_mad = np.full(len(values), np.nan)
    first = values[:window]
    if len(first) >= FIRST_BLOCK_MIN:
        first_median = np.median(first)
        out_median[:len(first)] = first_median
        out_mad[:len(first)] = np.median(np.abs(first - first_median))
    if blocks < 2:
        return out_median, out_mad
    shaped = values[: blocks * window].reshape(blocks, window)
    median = np.median(shaped, axis=1)
    mad = np.median(np.abs(shaped - median[:, None]), axis=1)
    out_median[window: blocks * window] = np.repeat(median[:-1], window)
    out_mad[window: blocks * window] = np.repeat(mad[:-1], window)
    tail = len(values) - blocks * window
    if tail:
        out_median[blocks * window:] = median[-1]
        out_mad[blocks * window:] = mad[-1]
    return out_median, out_mad


def block_median(values, window):
    """Median of the block before each value's own; the first block gets its
    own, when it has FIRST_BLOCK_MIN values."""
    blocks = len(values) // window
    out = np.full(len(values), np.nan)
    first = values[:window]
    if len(first) >= FIRST_BLOCK_MIN:
        out[:len(first)] = np.median(first)
    if blocks < 2:
        return out
    median = np.median(values[: blocks * window].reshape(blocks, window), axis=1)
    out[window: blocks * window] = np.repeat(median[:-1], window)
    out[blocks * window:] = median[-1]
    return out


def run_checks(df, window, variant):
    """Runs every check and returns a dict of counts."""
    counts = {}
    t = df["open_time"]
    counts["unsorted_rows"] = int((t.diff() < 0).sum())
    if not t.is_monotonic_increasing:
        df = df.sort_values("open_time", kind="stable")
        t = df["open_time"]
    repeated = t.duplicated()
    exact = df.duplicated()
    counts["duplicate_rows"] = int(exact.sum())
    counts["conflicting_duplicates"] = int((repeated & ~exact).sum())
    counts["off_grid"] = int((t % MINUTE_US != 0).sum())
    spacing = t.diff()
    counts["unit_switch"] = int(spacing.between(0.95 * 1000 * MINUTE_US, 1.05 * 1000 * MINUTE_US).sum()
                                + spacing.between(0.95 * MINUTE_US / 1000, 1.05 * MINUTE_US / 1000).sum())

    o, h, l, c, v = df["open"], df["high"], df["low"], df["close"], df["volume"]
    finite = np.isfinite(df[["open", "high", "low", "close"]]).all(axis=1)
    valid = finite & (o > 0) & (h > 0) & (l > 0) & (c > 0)
    counts["invalid_price"] = int((~valid).sum())
    counts["high_below_low"] = int((valid & (h < l)).sum())
    counts["low_above_body"] = int((valid & (l > np.minimum(o, c))).sum())
    counts["high_below_body"] = int((valid & (h < np.maximum(o, c))).sum())
    counts["flat_bars"] = int((valid & (o == h) & (h == l) & (l == c)).sum())
    valid_volume = np.isfinite(v) & (v >= 0)
    counts["negative_volume"] = int((~valid_volume).sum())
    zero = v == 0
    run_id = (~zero).cumsum()
    run_length = zero.groupby(run_id).sum()
    counts["zero_volume_run"] = int((run_length >= 3).sum())

    returns_at = valid & ~repeated
    closes = c[returns_at].to_numpy()
    r = np.log(closes[1:] / closes[:-1])
    ratio = closes[1:] / closes[:-1]
    scale = np.zeros(len(ratio), dtype=bool)
    for target in (100, 1000, 0.01, 0.001):
        scale |= np.abs(ratio / target - 1) <= 0.05
    counts["price_scale_jump"] = int(scale.sum())

    volumes = v[valid_volume].to_numpy()
    if variant == "rolling":
        returns = pd.Series(r)
        median = returns.rolling(window).median().shift(1)
        mad = (returns - median).abs().rolling(window).median().shift(1)
        volume_median = pd.Series(volumes).rolling(SPIKE_WINDOW).median().shift(1).to_numpy()
        median, mad = median.to_numpy(), mad.to_numpy()
    else:
        median, mad = block_stats(r, window)
        volume_median = block_median(volumes, SPIKE_WINDOW)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(r - median) / (MAD_TO_SIGMA * mad)
    counts["extreme_move"] = int(((mad > 0) & (z > Z_THRESHOLD)).sum())
    counts["volume_spike"] = int(((volume_median > 0) & (volumes > SPIKE_FACTOR * volume_median)).sum())

    unique = t[~repeated].to_numpy()
    gaps = np.diff(unique) // MINUTE_US - 1
    counts["missing_bars"] = int(gaps[gaps > 0].sum())
    return counts


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: checks_pandas.py DIR [RUNS] [WINDOW]")
    directory = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    window = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    for name in ("clean", "dirty"):
        df = load(f"{directory}/{name}.bin")
        for variant in ("rolling", "blocks"):
            rates = []
            for _ in range(runs):
                start = time.perf_counter()
                counts = run_checks(df, window, variant)
                rates.append(len(df) / (time.perf_counter() - start))
            found = " ".join(f"{k} {n}" for k, n in counts.items() if n)
            print(f"pandas {variant} {name}: {np.median(rates) / 1e6:.2f} M bars/s; {found}")


if __name__ == "__main__":
    main()
