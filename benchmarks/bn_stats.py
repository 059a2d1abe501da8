"""The same digits run evaluated two ways: BatchNorm's running averages (bn_stats='authors') and statistics recomputed
at the weights (bn_stats='clean'), as nbs/09a_batchnorm.ipynb reports.

    python benchmarks/bn_stats.py [--epochs 12] [--seed 2]

A small CNN with conv biases (two BatchNorm layers) on scikit-learn's real digits: RigL-ERK density 0.1, lr 0.05, batch
32, replay correction, no augmentation, no lr decay. The setting only decides the evaluation's statistics, so both runs
train step for step alike (the script checks that the training columns agree) and differ only in what they record.
Prints one table per run and the check's flags; a measurement, not a test.
"""

from __future__ import annotations
import argparse
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
import balance_sparse as bs


class SmallCNN(nn.Module):
    "conv(bias) → BatchNorm → ReLU → pool, twice, then global pooling and a linear layer."

    def __init__(self, classes=10):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.c2, self.b2 = nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)
        x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)
        return self.fc(x.mean((2, 3)))


def run(bn_stats: str, epochs: int, seed: int) -> pd.DataFrame:
    sp = bs.load_digits32(seed=0)
    torch.manual_seed(seed)
    s = bs.RunSettings(
        bn_stats=bn_stats, epochs=epochs, density=0.1, lr=0.05, batch_size=32, interval=20, seed=seed,
        correction_mode="replay", augment=False, lr_step=10**6,
    )  # fmt: skip
    return bs.fit(SmallCNN(), sp.train, sp.test, settings=s, mean=sp.mean, std=sp.std, progress=False, device="cpu")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seed", type=int, default=2)
    a = p.parse_args(argv)
    cols = ["epoch", "train_acc", "test_acc", "bn_running_acc", "bn_batch_acc", "bn_stale", "bn_seconds", "seconds"]
    runs = {b: run(b, a.epochs, a.seed) for b in ("authors", "clean")}
    for b, df in runs.items():
        print(f"\nbn_stats={b!r}\n" + df[cols].to_string(index=False, float_format="{:.4f}".format))
    same = runs["authors"][["train_loss", "train_acc"]].equals(runs["clean"][["train_loss", "train_acc"]])
    print(f"\nthe same training in both runs: {same}")
    print("test accuracy (%), authors vs clean:")
    for (_, x), (_, y) in zip(runs["authors"].iterrows(), runs["clean"].iterrows()):
        flag = "  (flagged: stale running statistics)" if x.bn_stale == 1 else ""
        print(f"  epoch {int(x.epoch):>2}: {100 * x.test_acc:5.1f} vs {100 * y.test_acc:5.1f}{flag}")


if __name__ == "__main__":
    main()
