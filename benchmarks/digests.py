"""A redesign's proof: float64 digests of a fixed set of small runs, one line each. Run it before and after a change
that must not change any number (`python benchmarks/digests.py > before.txt`, then again, then `diff`): a digest covers
every metric of every epoch (wall-clock columns left out), every weight and BatchNorm buffer at the end, the last
checkpoint (masks, optimizer, correction, updater, RNG states) and the run folder's config.json and final.json
(without the sessions' times).

The runs: every mask-update method (the lottery ticket from the pruning run's mask), the three layer-density inits
(ERK is the default), the correction in each mode (faithful, replay, the table, a window with linear γ, a statistics
fraction), one run stopped mid-epoch and resumed; 103 images in batches of 16 (a last batch of 7), augmentation on,
mask updates every 5 steps, in float64 on the CPU."""

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import quadrant_data  # noqa: E402
from balance_sparse import UPDATE_METHODS, fit, wrn  # noqa: E402

BASE = dict(epochs=3, batch_size=16, interval=5, density=0.3, lr=0.05, seed=3, augment=True)
RUNS = {
    **{
        f"method-{m}": dict(method=m, correction=False) for m in UPDATE_METHODS if m not in ("small_dense", "lottery")
    },  # own model; a mask_from
    **{f"init-{i}": dict(init=i, correction=False) for i in ("er", "uniform")},
    "agc-faithful": dict(correction=True),
    "agc-replay": dict(correction=True, correction_mode="replay"),
    "agc-table": dict(correction=True, correction_mode="table", probe_batches=2),
    "agc-window-linear": dict(correction=True, correction_until=0.5, gamma_schedule="linear"),
    "agc-stats-fraction": dict(correction=True, stats_fraction=0.5),
    "set-agc": dict(method="set", correction=True),
}
VOLATILE = {"seconds", "bn_seconds"}  # wall clock
VOLATILE_KEYS = {"sessions", "at", "run_dir", "host", "pid", "since", "seconds", "bn_seconds", "versions", "started"}


def model():
    torch.manual_seed(0)
    return wrn(10, 1, num_classes=4, dropout=0.0).double()


def stable(obj):
    "A JSON record without the entries that differ between two honest runs (times, hosts, versions, paths)."
    if isinstance(obj, dict):
        return {k: stable(v) for k, v in sorted(obj.items()) if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [stable(v) for v in obj]
    return obj


def feed(h, obj):
    "Every tensor and number of a checkpoint's entry, in a fixed order."
    if isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            feed(h, v)
    elif isinstance(obj, torch.Tensor):
        h.update(obj.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    else:
        h.update(repr(obj).encode())


def digest(df, net, folder) -> str:
    h = hashlib.blake2b(digest_size=10)
    cols = [c for c in df.columns if c not in VOLATILE]
    h.update(df[cols].to_csv(float_format="%r").encode())
    for k, v in net.state_dict().items():
        h.update(k.encode() + v.detach().cpu().double().numpy().tobytes())
    for name in ("config.json", "final.json"):
        p = Path(folder) / name
        if p.exists():
            h.update(json.dumps(stable(json.loads(p.read_text())), sort_keys=True, default=str).encode())
    ckpt = torch.load(Path(folder) / "checkpoint.pt", map_location="cpu", weights_only=False)
    feed(h, {k: v for k, v in ckpt.items() if k not in ("seconds", "rows")})  # masks, optimizer, τ, updater, RNG
    return h.hexdigest()


def main():
    train, val, test = quadrant_data(103, 0), quadrant_data(37, 1), quadrant_data(29, 2)
    tmp = Path(
        tempfile.gettempdir(), "balance_sparse_digests"
    )  # one fixed path: the lottery's mask_from is in its record
    shutil.rmtree(tmp, ignore_errors=True)
    for name, kw in RUNS.items():
        net = model()
        df = fit(net, train, test, val=val, progress=False, run_dir=Path(tmp, name), **BASE, **kw)
        print(name, digest(df, net, Path(tmp, name)), flush=True)
    net = model()  # the lottery ticket: the pruning run's final mask, trained from the start
    kw = dict(method="lottery", mask_from=str(Path(tmp, "method-pruning")), correction=False)
    df = fit(net, train, test, val=val, progress=False, run_dir=Path(tmp, "lottery"), **BASE, **kw)
    print("method-lottery", digest(df, net, Path(tmp, "lottery")), flush=True)
    net, folder = model(), Path(tmp, "resumed")
    fit(model(), train, test, val=val, progress=False, run_dir=folder, stop_after_steps=9, correction=True, **BASE)
    df = fit(net, train, test, val=val, progress=False, run_dir=folder, correction=True, **BASE)
    print("agc-resumed", digest(df, net, folder), flush=True)

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
