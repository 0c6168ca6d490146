"""Run the `ohlcx run` pipeline in Python and time each stage.

The stages and their settings follow `ohlcx run` with its defaults (see
docs/pipeline.md), written as a team would write them with pandas, numpy,
PyTorch and the xgboost Python package:

  load       pandas.read_csv of each SYMBOL-TIMEFRAME.csv, one file after
             another. Sort, drop duplicate and invalid rows, and hash the
             file with SHA-256. Fill gaps of at most 3 bars and record
             longer ones, in series that trade around the clock only (see
             the NOTE below).
  features   the 11 per-bar indicators of include/ohlcx/features.h
  dataset    chronological split with purge gaps of window + horizon
             samples, labels, CNN windows and the XGBoost feature rows
  cnn_train  one CNN per symbol on its cnn_train samples, early stopping on
             its validation samples
  embed      CNN embeddings and probabilities of xgb_train, validation, test
  xgb_train  XGBoost on embeddings + features + timeframe id + asset class
             id, and the baseline without the embeddings
  predict    test predictions of both models and the test metrics

The CNN: conv1d(5 -> 32, kernel 5) + ReLU, conv1d(32 -> 64, kernel 5) +
ReLU, the readout concat(last position, mean over positions), dense(128 ->
32) + ReLU (the embedding), dense(32 -> 1); binary cross-entropy, Adam with
lr 1e-3, mini-batches of 256, at most 20 epochs, patience 3, best weights
kept. XGBoost: binary:logistic, hist, max_depth 4, eta 0.05, subsample 0.8,
colsample_bytree 0.8, min_child_weight 5, at most 400 rounds, early stopping
after 30 rounds on the validation log loss, the seed of --seed.

NOTE: gaps are looked for only in crypto series, which expect every bar.
`ohlcx run` also checks stocks against the NYSE calendar and runs its other
quality checks. On the synthetic demo universe neither finds a gap.

usage: pipeline_python.py DATA_DIR [--threads N] [--seed N] [--window N]
                          [--horizon N]

Prints one JSON object on stdout: timings_s per stage and in total, sample
counts per part, the epochs of each CNN, the XGBoost rounds, and the test
metrics of each model. Logs the epochs to stderr.
"""

import argparse
import glob
import hashlib
import json
import math
import os
import sys
import time

_IMPORT_STARTED = time.perf_counter()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import xgboost as xgb  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

import cnn_pytorch  # noqa: E402  (bench/cnn_pytorch.py, beside this script)

IMPORT_SECONDS = time.perf_counter() - _IMPORT_STARTED

FEATURE_WARMUP = 34
MAX_FILL_GAP = 3
PARTS = ("cnn_train", "xgb_train", "validation", "test")
FEATURE_NAMES = ("ret_1", "ret_5", "ret_20", "volatility_20", "rsi_14", "macd", "macd_signal",
                 "macd_hist", "bb_pctb_20", "atr_14", "volume_z_20")

# Column ids as ohlcx writes them into the XGBoost rows.
TIMEFRAME_IDS = {name: i for i, name in enumerate(
    ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
     "1M", "3M"))}
TIMEFRAME_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000,
                "30m": 1_800_000, "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000,
                "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000}
ASSET_CRYPTO, ASSET_STOCKS = 0, 1
CRYPTO_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "BTC", "ETH")

XGB_PARAMS = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "eval_metric": "logloss",
    "max_depth": 4,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "verbosity": 0,
}
XGB_MAX_ROUNDS = 400
XGB_EARLY_STOPPING = 30

CNN_BATCH = 256
CNN_MAX_EPOCHS = 20
CNN_PATIENCE = 3
CNN_LEARNING_RATE = 1e-3
EMBED_CHUNK = 2048


def log_info(message):
    print(f"pipeline_python: {message}", file=sys.stderr, flush=True)


def asset_class(symbol):
    """Guess crypto from a crypto quote currency at the end of the symbol, else stocks.

    ohlcx also recognises crypto base currencies and forex pairs, which the
    demo universe does not contain.
    """
    return ASSET_CRYPTO if symbol.upper().endswith(CRYPTO_QUOTES) else ASSET_STOCKS


# ---------------------------------------------------------------- load

def read_bars(path):
    """Read one Binance kline CSV and drop the rows that ohlcx's validation drops."""
    frame = pd.read_csv(path, usecols=range(6))
    frame.columns = ["open_time", "open", "high", "low", "close", "volume"]
    frame = frame.sort_values("open_time", kind="stable")
    prices = frame[["open", "high", "low", "close"]]
    valid = ((prices > 0).all(axis=1) & (frame["high"] >= frame["low"])
             & frame["open"].between(frame["low"], frame["high"])
             & frame["close"].between(frame["low"], frame["high"])
             & (frame["volume"] >= 0))
    frame = frame[valid]
    # Invalid rows go first, so the first valid row of each open time stays.
    frame = frame[~frame["open_time"].duplicated(keep="first")]
    return frame.reset_index(drop=True)


def repair_gaps(frame, timeframe):
    """Fill the gaps of at most MAX_FILL_GAP bars of a 24/7 series.

    A filled bar opens at the previous bar's close, its close moves in equal
    steps from the close before the gap to the open after it, and its volume
    is 0. Returns the filled frame, the rows that follow a longer gap (in the
    filled frame) and the number of bars filled.
    """
    step = TIMEFRAME_MS[timeframe]
    open_time = frame["open_time"].to_numpy()
    missing = np.diff(open_time, prepend=open_time[0]) // step - 1
    synthetic = []
    for row in np.flatnonzero((missing > 0) & (missing <= MAX_FILL_GAP)):
        before = frame["close"].iat[row - 1]
        after = frame["open"].iat[row]
        count = int(missing[row])
        previous = before
        for k in range(1, count + 1):
            close = before + (after - before) * k / (count + 1)
            synthetic.append((open_time[row - 1] + k * step, previous, max(previous, close),
                              min(previous, close), close, 0.0))
            previous = close
    if synthetic:
        frame = pd.concat([frame, pd.DataFrame(synthetic, columns=frame.columns)])
        frame = frame.sort_values("open_time").reset_index(drop=True)
    steps = frame["open_time"].diff().to_numpy()
    long_rows = np.flatnonzero(steps > (MAX_FILL_GAP + 1) * step)
    return frame, long_rows, len(synthetic)


def load(data_dir):
    series = []
    for path in sorted(glob.glob(os.path.join(data_dir, "*.csv"))):
        symbol, timeframe = os.path.basename(path)[:-len(".csv")].rsplit("-", 1)
        frame = read_bars(path)
        with open(path, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        long_rows = np.empty(0, dtype=np.int64)
        filled = 0
        if asset_class(symbol) == ASSET_CRYPTO and timeframe in TIMEFRAME_MS:
            frame, long_rows, filled = repair_gaps(frame, timeframe)
        series.append({"symbol": symbol, "timeframe": timeframe, "path": path, "bars": frame,
                       "sha256": digest, "long_gap_rows": long_rows, "filled": filled})
    if not series:
        sys.exit(f"pipeline_python: no *.csv file in {data_dir}: give the demo universe folder")
    return series


# ---------------------------------------------------------------- features

def wilder(values, length):
    """Wilder's average from bar `length` on, seeded with the mean of bars 1..length."""
    seeded = values.iloc[length:].copy()
    seeded.iloc[0] = values.iloc[1:length + 1].mean()
    return seeded.ewm(alpha=1.0 / length, adjust=False).mean().reindex(values.index)


def compute_features(bars):
    """Compute the 11 features of include/ohlcx/features.h as n x 11 float32, NaN in warm-up."""
    close, high, low = bars["close"], bars["high"], bars["low"]
    out = pd.DataFrame(index=bars.index)
    log_close = np.log(close)
    for lag in (1, 5, 20):
        out[f"ret_{lag}"] = log_close - log_close.shift(lag)
    out["volatility_20"] = out["ret_1"].rolling(20).std(ddof=0)

    change = close.diff()
    gain = wilder(change.clip(lower=0), 14)
    loss = wilder((-change).clip(lower=0), 14)
    total = gain + loss
    out["rsi_14"] = np.where(total == 0, 50.0, 100.0 * gain / total.where(total != 0))
    out.loc[total.isna(), "rsi_14"] = np.nan

    line = close.ewm(span=12, adjust=False).mean() - close.ewm(span=26, adjust=False).mean()
    line = line.where(bars.index >= 25)
    signal = line.iloc[25:].ewm(span=9, adjust=False).mean().reindex(bars.index)
    signal = signal.where(bars.index >= 33)
    out["macd"] = line / close
    out["macd_signal"] = signal / close
    out["macd_hist"] = (line - signal) / close

    mean = close.rolling(20).mean()
    sd = close.rolling(20).std(ddof=0)
    out["bb_pctb_20"] = np.where(sd > 0, 0.5 + (close - mean) / (4.0 * sd), 0.5)
    out.loc[sd.isna(), "bb_pctb_20"] = np.nan

    previous_close = close.shift(1)
    true_range = pd.concat([high - low, (high - previous_close).abs(),
                            (low - previous_close).abs()], axis=1).max(axis=1)
    out["atr_14"] = wilder(true_range, 14) / close

    log_volume = np.log1p(bars["volume"])
    before = log_volume.shift(1)
    volume_mean = before.rolling(20).mean()
    volume_sd = before.rolling(20).std(ddof=0)
    out["volume_z_20"] = np.where(volume_sd > 0,
                                  (log_volume - volume_mean) / volume_sd.where(volume_sd > 0), 0.0)
    out.loc[volume_sd.isna(), "volume_z_20"] = np.nan
    return out[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)


# ---------------------------------------------------------------- dataset

def split_bounds(n, window, horizon):
    """Cut the four parts as src/dataset/split.c does.

    Returns the [begin, end) bars of each part, or None when a part would be
    empty.
    """
    first = max(window, FEATURE_WARMUP)
    samples = max(n - first - horizon, 0)
    gap = window + horizon
    outside = max(samples - 3 * gap, 0)
    train = math.floor(outside * 0.70 + 1e-9)
    stack = math.floor(train * 0.40 + 1e-9)
    validation = math.floor(outside * 0.15 + 1e-9)
    cnn_train = train - stack
    test = outside - train - validation
    if min(cnn_train, stack, validation, test) < 1:
        return None
    return {
        "cnn_train": (first, first + cnn_train),
        "xgb_train": (first + cnn_train + gap, first + train + gap),
        "validation": (first + train + 2 * gap, first + train + 2 * gap + validation),
        "test": (first + train + validation + 3 * gap, first + samples),
    }


def crosses_gap(t, window, horizon, long_gap_rows):
    """Mark the samples t whose window or label reads across a long gap."""
    if len(long_gap_rows) == 0:
        return np.zeros(len(t), dtype=bool)
    position = np.searchsorted(long_gap_rows, t - window + 1)
    next_gap = np.append(long_gap_rows, np.iinfo(np.int64).max)[position]
    return next_gap <= t + horizon


def window_channels(bars):
    """Compute the 5 x n unscaled channels of each bar against the bar before it."""
    open_, high, low, close, volume = (bars[c].to_numpy(dtype=np.float64)
                                       for c in ("open", "high", "low", "close", "volume"))
    previous_close = np.roll(close, 1)
    log_volume = np.log1p(volume)
    channels = np.stack([np.log(open_ / previous_close), np.log(high / previous_close),
                         np.log(low / previous_close), np.log(close / previous_close),
                         log_volume - np.roll(log_volume, 1)])
    channels[:, 0] = np.nan
    return channels


def build_windows(channels, t, window):
    """Build the normalised float32 windows (len(t) x 5 x window) that end at bars t."""
    views = np.lib.stride_tricks.sliding_window_view(channels, window, axis=1)
    windows = views[:, t - window + 1].transpose(1, 0, 2)
    rms = np.sqrt(np.mean(windows[:, 3] ** 2, axis=1))
    scale = np.where(rms > 0, rms, 1.0)
    prices = windows[:, :4] / scale[:, None, None]
    volume = windows[:, 4]
    volume_sd = volume.std(axis=1)
    volume = np.where(volume_sd[:, None] > 0,
                      (volume - volume.mean(axis=1, keepdims=True))
                      / np.where(volume_sd > 0, volume_sd, 1.0)[:, None], 0.0)
    return np.concatenate([prices, volume[:, None]], axis=1).astype(np.float32)


def build_dataset(series, window, horizon):
    """Split every series and gather windows, labels and feature rows per part."""
    parts = {part: {"x": [], "rows": [], "y": [], "group": [], "series": []} for part in PARTS}
    groups = []
    for index, item in enumerate(series):
        bars = item["bars"]
        bounds = split_bounds(len(bars), window, horizon)
        if bounds is None:
            log_info(f"{item['path']}: skipped, too short to split ({len(bars)} bars)")
            continue
        if item["symbol"] not in groups:
            groups.append(item["symbol"])
        group = groups.index(item["symbol"])
        close = bars["close"].to_numpy()
        channels = window_channels(bars)
        ids = np.array([TIMEFRAME_IDS[item["timeframe"]], asset_class(item["symbol"])],
                       dtype=np.float32)
        for part, (begin, end) in bounds.items():
            t = np.arange(begin, end)
            t = t[~crosses_gap(t, window, horizon, item["long_gap_rows"])]
            rows = np.hstack([item["features"][t], np.broadcast_to(ids, (len(t), 2))])
            parts[part]["x"].append(build_windows(channels, t, window))
            parts[part]["rows"].append(rows)
            parts[part]["y"].append((close[t + horizon] > close[t]).astype(np.float32))
            parts[part]["group"].append(np.full(len(t), group))
            parts[part]["series"].append(np.full(len(t), index))
    dataset = {part: {key: np.concatenate(values) for key, values in columns.items()}
               for part, columns in parts.items()}
    return dataset, groups


# ---------------------------------------------------------------- CNN

class Cnn(cnn_pytorch.Cnn):
    """The default ohlcx CNN of bench/cnn_pytorch.py, whose forward pass also
    returns the embedding: (logit, embedding)."""

    def forward(self, x):
        a = F.relu(self.conv2(F.relu(self.conv1(x))))
        readout = torch.cat((a[:, :, -1], a.mean(dim=2)), dim=1)
        embedding = F.relu(self.dense1(readout))
        return self.dense2(embedding).squeeze(1), embedding


def validation_loss(model, x, y):
    with torch.no_grad():
        total = 0.0
        for start in range(0, len(x), EMBED_CHUNK):
            logit, _ = model(x[start:start + EMBED_CHUNK])
            total += F.binary_cross_entropy_with_logits(
                logit, y[start:start + EMBED_CHUNK], reduction="sum").item()
    return total / len(x)


def train_cnn(x_train, y_train, x_val, y_val, seed, name):
    """Train one CNN with early stopping on the validation loss.

    Returns the model with the weights of the best epoch, the epochs run and
    the best epoch (1-based).
    """
    torch.manual_seed(seed)
    model = Cnn()
    optimiser = torch.optim.Adam(model.parameters(), lr=CNN_LEARNING_RATE)
    best_loss, best_state, best_epoch, stale = math.inf, None, 0, 0
    for epoch in range(1, CNN_MAX_EPOCHS + 1):
        model.train()
        order = torch.randperm(len(x_train))
        loss_sum = 0.0
        for start in range(0, len(x_train), CNN_BATCH):
            indices = order[start:start + CNN_BATCH]
            optimiser.zero_grad(set_to_none=True)
            logit, _ = model(x_train[indices])
            loss = F.binary_cross_entropy_with_logits(logit, y_train[indices])
            loss.backward()
            optimiser.step()
            loss_sum += loss.item() * len(indices)
        model.eval()
        val_loss = validation_loss(model, x_val, y_val)
        improved = val_loss < best_loss
        if improved:
            best_loss, best_epoch, stale = val_loss, epoch, 0
            best_state = {key: value.clone() for key, value in model.state_dict().items()}
        else:
            stale += 1
        log_info(f"cnn {name}: epoch {epoch}/{CNN_MAX_EPOCHS} train_loss="
            f"{loss_sum / len(x_train):.4f} val_loss={val_loss:.4f}{' (best)' if improved else ''}")
        if stale >= CNN_PATIENCE:
            break
    model.load_state_dict(best_state)
    return model, epoch, best_epoch


def embed(model, x):
    """Compute the CNN's probabilities and embeddings of x, EMBED_CHUNK windows at a time."""
    probabilities, embeddings = [], []
    with torch.no_grad():
        for start in range(0, len(x), EMBED_CHUNK):
            logit, embedding = model(x[start:start + EMBED_CHUNK])
            probabilities.append(torch.sigmoid(logit))
            embeddings.append(embedding)
    return torch.cat(probabilities).numpy(), torch.cat(embeddings).numpy()


# ---------------------------------------------------------------- XGBoost

def train_xgboost(x_train, y_train, x_val, y_val, threads, seed):
    dtrain = xgb.DMatrix(x_train, label=y_train, nthread=threads)
    dval = xgb.DMatrix(x_val, label=y_val, nthread=threads)
    params = dict(XGB_PARAMS, nthread=threads, seed=seed)
    return xgb.train(params, dtrain, num_boost_round=XGB_MAX_ROUNDS, evals=[(dval, "val")],
                     early_stopping_rounds=XGB_EARLY_STOPPING, verbose_eval=False)


def predict_xgboost(booster, x, threads):
    matrix = xgb.DMatrix(x, nthread=threads)
    return booster.predict(matrix, iteration_range=(0, booster.best_iteration + 1))


# ---------------------------------------------------------------- metrics

def metrics(probability, label):
    """Score probabilities by accuracy, balanced accuracy, ROC AUC, log loss and Brier score."""
    probability = probability.astype(np.float64)
    predicted = probability > 0.5
    up = label == 1
    positives, negatives = int(up.sum()), int((~up).sum())
    true_positive_rate = (predicted & up).sum() / max(positives, 1)
    true_negative_rate = (~predicted & ~up).sum() / max(negatives, 1)
    ranks = rankdata(probability)
    auc = ((ranks[up].sum() - positives * (positives + 1) / 2) / (positives * negatives)
           if positives and negatives else float("nan"))
    clipped = np.clip(probability, 1e-7, 1 - 1e-7)
    return {
        "accuracy": float((predicted == up).mean()),
        "balanced_accuracy": float((true_positive_rate + true_negative_rate) / 2),
        "roc_auc": float(auc),
        "log_loss": float(-np.mean(np.where(up, np.log(clipped), np.log(1 - clipped)))),
        "brier": float(np.mean((probability - label) ** 2)),
    }


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="folder of SYMBOL-TIMEFRAME.csv files")
    parser.add_argument("--threads", type=int, default=1, help="torch and XGBoost threads (default 1)")
    parser.add_argument("--seed", type=int, default=42, help="seed of every random choice (default 42)")
    parser.add_argument("--window", type=int, default=64, help="bars per CNN window (default 64)")
    parser.add_argument("--horizon", type=int, default=1, help="label horizon in bars (default 1)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    timings = {}
    started = time.perf_counter()

    stage = time.perf_counter()
    series = load(args.data)
    timings["load"] = time.perf_counter() - stage

    stage = time.perf_counter()
    for item in series:
        item["features"] = compute_features(item["bars"])
    timings["features"] = time.perf_counter() - stage

    stage = time.perf_counter()
    data, groups = build_dataset(series, args.window, args.horizon)
    timings["dataset"] = time.perf_counter() - stage
    counts = {part: int(len(data[part]["y"])) for part in PARTS}
    log_info(f"{sum(counts.values())} samples: " + ", ".join(f"{p} {c}" for p, c in counts.items()))

    # One CNN per symbol: train, then embed that symbol's later parts.
    hidden = 32
    embedding = {part: np.zeros((counts[part], hidden), np.float32) for part in PARTS[1:]}
    cnn_probability = {part: np.zeros(counts[part], np.float32) for part in PARTS[1:]}
    timings["cnn_train"] = timings["embed"] = 0.0
    cnn_history = []
    for group, name in enumerate(groups):
        stage = time.perf_counter()
        mask_train = data["cnn_train"]["group"] == group
        mask_val = data["validation"]["group"] == group
        model, epochs, best_epoch = train_cnn(
            torch.from_numpy(data["cnn_train"]["x"][mask_train]),
            torch.from_numpy(data["cnn_train"]["y"][mask_train]),
            torch.from_numpy(data["validation"]["x"][mask_val]),
            torch.from_numpy(data["validation"]["y"][mask_val]),
            args.seed + group, name)
        timings["cnn_train"] += time.perf_counter() - stage
        cnn_history.append({"name": name, "epochs": epochs, "best_epoch": best_epoch,
                            "train_samples": int(mask_train.sum()),
                            "validation_samples": int(mask_val.sum())})

        stage = time.perf_counter()
        for part in PARTS[1:]:
            mask = data[part]["group"] == group
            cnn_probability[part][mask], embedding[part][mask] = embed(
                model, torch.from_numpy(data[part]["x"][mask]))
        timings["embed"] += time.perf_counter() - stage

    stage = time.perf_counter()
    combined = {part: np.hstack([embedding[part], data[part]["rows"]]) for part in PARTS[1:]}
    model = train_xgboost(combined["xgb_train"], data["xgb_train"]["y"], combined["validation"],
                          data["validation"]["y"], args.threads, args.seed)
    baseline = train_xgboost(data["xgb_train"]["rows"], data["xgb_train"]["y"],
                             data["validation"]["rows"], data["validation"]["y"], args.threads,
                             args.seed)
    timings["xgb_train"] = time.perf_counter() - stage

    stage = time.perf_counter()
    label = data["test"]["y"]
    probabilities = {
        "cnn_xgboost": predict_xgboost(model, combined["test"], args.threads),
        "xgboost_without_cnn": predict_xgboost(baseline, data["test"]["rows"], args.threads),
        "cnn_only": cnn_probability["test"],
        "majority": np.full(len(label), data["xgb_train"]["y"].mean()),
    }
    test_metrics = {name: metrics(p, label) for name, p in probabilities.items()}
    per_series = {}
    for index in np.unique(data["test"]["series"]):
        mask = data["test"]["series"] == index
        per_series[os.path.basename(series[index]["path"])] = metrics(
            probabilities["cnn_xgboost"][mask], label[mask])["accuracy"]
    timings["predict"] = time.perf_counter() - stage
    timings["total"] = time.perf_counter() - started

    print(json.dumps({
        "python": sys.version.split()[0],
        "versions": {"pandas": pd.__version__, "numpy": np.__version__,
                     "torch": torch.__version__, "xgboost": xgb.__version__},
        "threads": args.threads,
        "import_s": IMPORT_SECONDS,
        "timings_s": timings,
        "series": len(series),
        "rows_read": int(sum(len(item["bars"]) for item in series)),
        "bars_filled": int(sum(item["filled"] for item in series)),
        "samples": counts,
        "cnn": cnn_history,
        "xgboost_rounds": {"combined": model.best_iteration + 1,
                           "without_cnn": baseline.best_iteration + 1},
        "xgboost_rounds_trained": {"combined": model.num_boosted_rounds(),
                                   "without_cnn": baseline.num_boosted_rounds()},
        "test": test_metrics,
        "test_accuracy_per_series": per_series,
    }, indent=2))


if __name__ == "__main__":
    main()
