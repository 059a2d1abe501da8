"""Steady-state epoch times of `balance_sparse.fit` for dense, RigL and RigL + correction, on both data loaders.

    python benchmarks/bench.py                    # WRN-22-2, batch 128, density 0.2 (ERK), 45k images, 3 epochs
    python benchmarks/bench.py --quick            # CPU smoke run: WRN-10-1, 256 images, 2 epochs (well under a minute)
    python benchmarks/bench.py --device cuda --configs rigl,rigl+correction --loaders gpu

The data are synthetic images in the CIFAR-10 on-disk format (`write_fake_cifar` -> `load_cifar`, in a temporary
folder): timing only, no accuracy claims. Every configuration trains a freshly initialised model with `fit()` itself for
`--epochs` epochs; the first epoch is warm-up (cuDNN autotuning, allocator, `torch.compile`), and the result is the mean
of the later epochs' times taken from fit's own per-epoch `seconds` column.

stdout: one JSON line per (configuration, loader), with the device, torch version, seconds per epoch, training images/s
and the achieved TFLOP/s — the method's theoretical training FLOPs of the epoch
(`balance_sparse.flops.epoch_train_flops`, what fit reports as `train_flops`) over the epoch's seconds — and, because
masked layers are executed as dense tensors, also the dense-equivalent FLOPs actually executed. `correction_over_rigl`
(rigl+correction lines) is the wall-time ratio to RigL with the same loader; `dataloader_over_gpu` (dataloader lines) is
the wall-time ratio of the DataLoader pipeline to the GPU-resident loader for the same method. A note on the theoretical
floor goes to stderr: WRN-22-2 costs ~0.95 GFLOP per image per dense training step, i.e. ~42.6 TFLOP per 45k-image
epoch.
"""

from __future__ import annotations
import argparse, json, math, sys, tempfile

import torch

from balance_sparse.datasets import write_fake_cifar, load_cifar
from balance_sparse.flops import dense_flops, epoch_train_flops
from balance_sparse.models import get_model
from balance_sparse.train import fit
from balance_sparse.device import device_name

CONFIGS = {
    "dense": dict(method="dense", correction=False),
    "rigl": dict(method="rigl", correction=False),
    "rigl+correction": dict(method="rigl", correction=True),  # the authors' schedule
    "rigl+replay": dict(
        method="rigl", correction=True, correction_mode="replay"
    ),  # exact, no snapshot pass in the steps
    "rigl+replay+stats0.25": dict(method="rigl", correction=True, correction_mode="replay", stats_fraction=0.25),
}  # approximate
LOADERS = ("gpu", "dataloader")
KEYS = (
    "device",
    "torch",
    "config",
    "method",
    "correction",
    "loader",
    "model",
    "batch_size",
    "density",
    "n_train",
    "epochs",
    "timed_epochs",
    "amp",
    "compile",
    "s_per_epoch",
    "images_per_s",
    "epoch_tflop",
    "tflops",
    "executed_epoch_tflop",
    "executed_tflops",
    "replay_gb",
    "peak_gb",
    "epoch_seconds",
)
QUICK = dict(model="wrn-10-1", n_train=128, batch_size=32, epochs=2, interval=2)


def fake_cifar(n_train: int, seed: int = 0):
    "Synthetic CIFAR-10-format training images through the real reader: (x uint8 N×3×32×32, y, mean, std)."
    with tempfile.TemporaryDirectory() as d:
        write_fake_cifar(d, "cifar10", n_train=n_train, n_test=1, seed=seed)
        s = load_cifar("cifar10", d, val_fraction=0.0, download=False)
    return s.train[0], s.train[1], s.mean, s.std


def run_one(
    config: str,
    loader: str,
    data,
    *,
    model="wrn-22-2",
    device=None,
    epochs=3,
    batch_size=128,
    density=0.2,
    interval=100,
    amp=None,
    compile=False,
    seed=0,
) -> dict:
    "Train one configuration with `fit` and summarise the epochs after the first as a dict (one JSON line)."
    if config not in CONFIGS:
        raise ValueError(f"config must be one of {list(CONFIGS)}, got {config!r}")
    if loader not in LOADERS:
        raise ValueError(f"loader must be one of {LOADERS}, got {loader!r}")
    if epochs < 2:
        raise ValueError(f"epochs must be >= 2 (the first one is warm-up), got {epochs}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    amp = device.type == "cuda" if amp is None else amp
    x, y, mean, std = data
    torch.manual_seed(seed)
    net = get_model(model, num_classes=int(y.max()) + 1)
    f_dense = dense_flops(net, (1,) + tuple(x.shape[1:]))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    df = fit(
        net,
        (x, y),
        **CONFIGS[config],
        density=density,
        init="erk",
        epochs=epochs,
        batch_size=batch_size,
        interval=interval,
        device=device,
        loader=loader,
        amp=amp,
        compile=compile,
        mean=mean,
        std=std,
        seed=seed,
        progress=False,
    )
    secs = df["seconds"].diff().fillna(df["seconds"]).tolist()  # fit's column is cumulative
    flops = df["train_flops"].diff().fillna(df["train_flops"]).tolist()
    timed, timed_flops = secs[1:], flops[1:]
    s_epoch = sum(timed) / len(timed)
    steps = math.ceil(len(y) / batch_size)
    frac = CONFIGS[config].get("stats_fraction", 1.0)
    stats = steps if frac == 1 else min(steps, max(2, round(frac * steps)))
    replay = CONFIGS[config].get("correction_mode") == "replay"
    executed = epoch_train_flops(
        "dense", f_dense, f_dense, len(y), interval, CONFIGS[config]["correction"], steps, stats, stats if replay else 0
    )
    n_params = sum(p.numel() * p.element_size() for p in net.parameters())
    return {
        "device": device_name(device),
        "torch": torch.__version__,
        "config": config,
        **CONFIGS[config],
        "loader": loader,
        "model": model,
        "batch_size": batch_size,
        "density": density if config != "dense" else 1.0,
        "n_train": len(y),
        "epochs": epochs,
        "timed_epochs": len(timed),
        "amp": amp,
        "compile": compile,
        "s_per_epoch": s_epoch,
        "images_per_s": len(y) / s_epoch,
        "epoch_tflop": sum(timed_flops) / len(timed_flops) / 1e12,
        "tflops": sum(timed_flops) / sum(timed) / 1e12,
        "executed_epoch_tflop": executed / 1e12,
        "executed_tflops": executed / s_epoch / 1e12,
        "replay_gb": stats * n_params / 1e9 if replay else 0.0,  # the kept gradients (fit's budget)
        "peak_gb": torch.cuda.max_memory_allocated(device) / 1e9
        if device.type == "cuda"
        else None,  # CPU: not measured per config
        "epoch_seconds": secs,
    }


def run(configs=tuple(CONFIGS), loaders=LOADERS, *, n_train=45000, print_lines=True, **kwargs) -> list[dict]:
    "Every (configuration, loader) pair, in order; adds the correction/RigL and DataLoader/GPU-loader wall ratios."
    data = fake_cifar(n_train)
    rows, by = [], {}
    for config in configs:
        for loader in loaders:
            r = run_one(config, loader, data, **kwargs)
            if config.startswith("rigl+"):  # AGC / RigL wall ratio, same loader
                rigl = by.get(("rigl", loader))
                r["correction_over_rigl"] = r["s_per_epoch"] / rigl["s_per_epoch"] if rigl else None
            if loader == "dataloader":
                gpu = by.get((config, "gpu"))
                r["dataloader_over_gpu"] = r["s_per_epoch"] / gpu["s_per_epoch"] if gpu else None
            by[(config, loader)] = r
            rows.append(r)
            if print_lines:
                print(json.dumps(r), flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    ap.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available)")
    ap.add_argument(
        "--epochs", type=int, default=None, help="epochs per configuration, >= 2; the first is warm-up (default 3)"
    )
    ap.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="training images (default 45000, the CIFAR train split minus validation)",
    )
    ap.add_argument("--batch-size", type=int, default=None, help="default 128")
    ap.add_argument("--model", default=None, help="default wrn-22-2 (any name balance_sparse.models.get_model knows)")
    ap.add_argument("--density", type=float, default=0.2)
    ap.add_argument("--interval", type=int, default=None, help="RigL ΔT (default 100)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from {list(CONFIGS)}")
    ap.add_argument("--loaders", default=",".join(LOADERS), help=f"comma-separated, from {list(LOADERS)}")
    ap.add_argument("--quick", action="store_true", help=f"CPU smoke run: {QUICK} unless given explicitly")
    ap.add_argument(
        "--amp", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast (default: on for CUDA)"
    )
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (fit(compile=True))")
    a = ap.parse_args(argv)
    base = dict(QUICK) if a.quick else dict(model="wrn-22-2", n_train=45000, batch_size=128, epochs=3, interval=100)
    opts = {k: (getattr(a, k) if getattr(a, k) is not None else v) for k, v in base.items()}
    configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    loaders = [l.strip() for l in a.loaders.split(",") if l.strip()]
    bad = [c for c in configs if c not in CONFIGS] + [l for l in loaders if l not in LOADERS]
    if bad:
        ap.error(f"unknown configs/loaders {bad}; choose from {list(CONFIGS)} and {list(LOADERS)}")
    if opts["epochs"] < 2:
        ap.error("--epochs must be >= 2: the first epoch is warm-up")
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    print(
        f"# floor: WRN-22-2 dense training is ~0.95 GFLOP/image/step -> ~42.6 TFLOP per 45k-image epoch "
        f"(0.30-0.55 s/epoch at 141-77 TFLOP/s); {opts['model']} here, device {device_name(device)}",
        file=sys.stderr,
    )
    run(
        configs,
        loaders,
        n_train=opts.pop("n_train"),
        device=device,
        density=a.density,
        amp=a.amp,
        compile=a.compile,
        **opts,
    )


if __name__ == "__main__":
    main()
