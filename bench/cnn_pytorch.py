"""Train the ohlcx default CNN in PyTorch for one pass and print its throughput.

The network, loss, optimiser and batch order follow include/ohlcx/nn.h and
src/nn/train.c: conv1d(5 -> 32, kernel 5) + ReLU, conv1d(32 -> 64, kernel 5)
+ ReLU with valid padding, the readout concat(last position, mean over
positions), dense(128 -> 32) + ReLU, dense(32 -> 1), binary cross-entropy
on the logit, Adam with lr 1e-3, betas (0.9, 0.999) and eps 1e-8, He-normal
weights and zero biases. The windows come from `ohlcx bench cnn
--write-windows FILE` (raw little-endian float32: samples x channels x window
features, then the labels), so both tools train on the same data.

As in `ohlcx bench cnn`, one mini-batch is trained before the timing, and the
timed pass shuffles the samples, copies each mini-batch out of the full
array, and runs forward, backward and the Adam step on it.

With --bf16 the forward pass runs under torch.autocast("cpu",
dtype=torch.bfloat16), PyTorch's mixed precision on the CPU: convolutions
and dense layers in bfloat16 with float32 weights, Adam and loss, the
counterpart of `ohlcx bench cnn --precision bf16`.

usage: cnn_pytorch.py WINDOWS SAMPLES WINDOW [--threads N] [--batch N]
                      [--seed N] [--bf16]

Prints key=value lines; the last is samples_per_s=X.
"""

import argparse
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CHANNELS = 5


class Cnn(nn.Module):
    """The default ohlcx CNN for CHANNELS input channels."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(CHANNELS, 32, 5)
        self.conv2 = nn.Conv1d(32, 64, 5)
        self.dense1 = nn.Linear(2 * 64, 32)
        self.dense2 = nn.Linear(32, 1)
        for layer in (self.conv1, self.conv2, self.dense1, self.dense2):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        a = F.relu(self.conv2(F.relu(self.conv1(x))))
        readout = torch.cat((a[:, :, -1], a.mean(dim=2)), dim=1)
        return self.dense2(F.relu(self.dense1(readout))).squeeze(1)


def train_batch(model, optimiser, x, y, bf16):
    optimiser.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logit = model(x)
    loss = F.binary_cross_entropy_with_logits(logit.float(), y)
    loss.backward()
    optimiser.step()
    return loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("windows", help="file written by ohlcx bench cnn --write-windows")
    parser.add_argument("samples", type=int, help="windows in the file")
    parser.add_argument("window", type=int, help="bars per window")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--batch", type=int, default=256, help="samples per mini-batch (default 256)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the weights and batch order")
    parser.add_argument("--bf16", action="store_true", help="forward pass under bfloat16 autocast")
    args = parser.parse_args()

    features = args.samples * CHANNELS * args.window
    data = np.fromfile(args.windows, dtype="<f4")
    if data.size != features + args.samples:
        sys.exit(f"cnn_pytorch: {args.windows} has {data.size} floats, expected "
                 f"{features + args.samples} for {args.samples} windows of {args.window} bars")
    x = torch.from_numpy(data[:features].reshape(args.samples, CHANNELS, args.window).copy())
    y = torch.from_numpy(data[features:].copy())

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = Cnn()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    batch = min(args.batch, args.samples)

    train_batch(model, optimiser, x[:batch], y[:batch], args.bf16)

    started = time.perf_counter()
    order = torch.randperm(args.samples)
    loss_sum = 0.0
    for start in range(0, args.samples, batch):
        indices = order[start:start + batch]
        loss_sum += train_batch(model, optimiser, x[indices], y[indices], args.bf16) * len(indices)
    seconds = time.perf_counter() - started

    print(f"torch={torch.__version__} threads={torch.get_num_threads()} batch={batch} "
          f"samples={args.samples} precision={'bf16' if args.bf16 else 'fp32'}")
    print(f"train_loss={loss_sum / args.samples:.4f}")
    print(f"seconds={seconds:.3f}")
    print(f"samples_per_s={args.samples / seconds:.0f}")


if __name__ == "__main__":
    main()
