"""Which runs `make vis` counts and how it groups them (issue 18): run folders built by hand as `fit` writes them —
repeats of one seed, ad-hoc folders, a folder renamed by hand, runs of other recipes, batch sizes, models and epochs,
1-epoch runs, a pruning run that ended dense. A results row groups distinct seeds of equal settings only; runs outside
the sweep layout are listed apart unless named; 1-epoch panels keep readable x ticks."""

import json, math, statistics
from pathlib import Path
import pandas as pd, pytest
from test_figures import figures, outputs, md_rows


def config(seed, **over):
    "A config.json as `fit` (through nbs/train.ipynb, preset demo) writes it; the data fingerprints vary with the seed."
    cfg = dict(
        method="rigl",
        correction=False,
        density=0.2,
        init="erk",
        epochs=1,
        batch_size=32,
        lr=0.05,
        momentum=0.9,
        nesterov=True,
        weight_decay=0.0005,
        lr_step=30000,
        lr_gamma=0.2,
        prune_rate=0.3,
        interval=40,
        end_step=30,
        prune_start=None,
        mask_from=None,
        augment=True,
        seed=seed,
        gamma=0.1,
        alpha=0.3,
        tau=0.1,
        pairing="lagged",
        correction_mode=None,
        stats_fraction=None,
        warmup_steps=0,
        sync_bn=None,
        crop="pad",
        recipe="authors",
        update_steps="authors",
        drop_schedule="authors",
        dense_layers="authors",
        regrown_momentum="authors",
        first_snapshot="authors",
        normalization="clean",
        val_split="clean",
        nonfinite_tau="authors",
        mask_init="authors",
        loader="gpu",
        amp=False,
        channels_last=False,
        fused=False,
        compile=False,
        num_workers=0,
        dataset="digits",
        model_name="wrn-10-1",
        preset="demo",
        multiplier=1,
        data={k: f"{k}-{seed}" for k in ("train", "val", "test")},
        model="WideResNet",
        num_classes=10,
        n_train=1259,
        n_val=179,
        n_test=359,
        steps_per_epoch=40,
        total_steps=40,
        device="cpu",
        world_size=1,
    )
    return cfg | over


def write_run(runs, rel, acc, seed=0, reached=None, **over):
    "A complete run folder `runs/rel`: config.json, metrics.csv (final test accuracy `acc`), final.json as `fit` ends."
    cfg = config(seed, **over)
    d = Path(runs) / rel
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(cfg))
    n, corr = cfg["epochs"], cfg["correction"]
    rows = [
        dict(
            epoch=e,
            step=40 * e,
            lr=cfg["lr"],
            train_loss=1 / e,
            train_acc=acc * e / n,
            val_loss=1 / e,
            val_acc=acc * e / n,
            test_loss=1 / e,
            test_acc=acc * e / n,
            tau=0.1 if corr else math.nan,
            tau_curr=0.1 if corr else math.nan,
            density=cfg["density"] if reached is None else reached,
            train_flops=1e11 * e * (1.5 if corr else 1),
            seconds=5.0 * e,
        )
        for e in range(1, n + 1)
    ]
    pd.DataFrame(rows).to_csv(d / "metrics.csv", index=False)
    last = rows[-1]
    final = dict(
        status="complete",
        epochs_done=n,
        epochs=n,
        step=40 * n,
        started_at_epoch=0,
        density=cfg["density"],
        density_reached=last["density"],
        **{k: last[k] for k in ("test_acc", "val_acc", "train_flops", "seconds")},
    )
    (d / "final.json").write_text(json.dumps(final))
    return d


BASE, AGC = "digits/rigl-erk-base", "digits/rigl-erk-agc"
COUNTED = {  # folder: (final test acc, seed, config overrides); all in the sweep layout, or named (adhoc/named)
    f"{BASE}/density0.2/seed0": (0.40, 0, {}),
    f"{BASE}/density0.2/seed1": (0.50, 1, {}),
    f"{AGC}/density0.2/seed0": (0.60, 0, {"correction": True}),
    f"{AGC}/density0.2/seed1": (0.70, 1, {"correction": True}),
    "adhoc/named": (0.80, 2, {"correction": True}),
    "digits/rigl-erk-base-clean/density0.2/seed0": (0.45, 0, {"recipe": "clean", "mask_init": "clean"}),
    "digits/rigl-erk-base-clean/density0.2/seed1": (0.55, 1, {"recipe": "clean", "mask_init": "clean"}),
    f"{BASE}/density0.5/seed0": (0.61, 0, {"density": 0.5}),
    f"{BASE}/density0.5/seed1": (0.71, 1, {"density": 0.5, "batch_size": 64}),
    f"{AGC}/density0.5/seed0": (0.62, 0, {"density": 0.5, "correction": True, "model_name": "wrn-16-1"}),
    f"{AGC}/density0.5/seed1": (0.72, 1, {"density": 0.5, "correction": True}),
    f"{BASE}/density0.1/seed0": (0.30, 0, {"density": 0.1}),
    f"{BASE}/density0.1/seed1": (0.35, 1, {"density": 0.1, "epochs": 2, "end_step": 60, "total_steps": 80}),
    "digits/pruning-erk-base/density0.2/seed0": (0.90, 0, {"method": "pruning"}),
}
OTHER = {
    "adhoc/try1": (0.40, 0, {}),  # the baseline's seed 0 again ("10.31 ± 0.00, seeds 0,0")
    f"{BASE}/density0.2/seed7": (0.99, 1, {}),
}  # renamed by hand: its config says seed 1
SHOWN = ["model_name", "recipe", "method", "density", "epochs", "correction"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    runs = tmp_path_factory.mktemp("grouping") / "runs"
    for rel, (acc, seed, over) in {**COUNTED, **OTHER}.items():
        write_run(runs, rel, acc, seed, reached=1.0 if over.get("method") == "pruning" else None, **over)
    out, nb = runs.parent / "figs", runs.parent / "figures.ipynb"
    figures(runs, out, nb, include="adhoc/named")
    errors, text = outputs(nb)
    assert errors == []
    return runs, out, text


def expected_rows():
    "{(shown settings..., batch size): sorted [(seed, acc %)]} from COUNTED: grouped by every setting but the seed."
    groups = {}
    for rel, (acc, seed, over) in COUNTED.items():
        cfg = config(seed, **over)
        key = tuple(cfg[k] for k in SHOWN) + (cfg["batch_size"],)
        groups.setdefault(key, []).append((seed, 100 * acc))
    return {k: sorted(v) for k, v in groups.items()}


def test_rows_group_distinct_seeds_of_equal_settings(rendered):
    runs, out, _ = rendered
    res = pd.read_csv(out / "results.csv", dtype={"seeds": str}).fillna({"other_settings": ""})
    exp = expected_rows()
    assert len(res) == len(exp) == 10
    label = {"batch_size=32": 32, "batch_size=64": 64, "": 32}
    for r in res.to_dict("records"):
        key = (
            r["model_name"],
            r["recipe"],
            r["method"],
            r["density"],
            r["epochs"],
            r["correction"] in (True, "True"),
            label[r["other_settings"]],
        )
        want = exp.pop(key)
        seeds = [int(s) for s in str(r["seeds"]).split(",")]
        assert seeds == [s for s, _ in want] and len(set(seeds)) == len(seeds) == r["n_seeds"], (r, want)
        assert r["test_acc_mean_%"] == pytest.approx(statistics.mean(a for _, a in want))
    assert exp == {}
    rigl = res[(res.density == 0.2) & (res.recipe == "authors") & (res.method == "rigl")]
    baseline = rigl[~rigl.correction.astype(bool)]
    assert baseline[["n_seeds", "seeds"]].values.tolist() == [[2, "0,1"]]  # never "0,0" with the ad-hoc copy
    corrected = res[(res.density == 0.2) & res.correction.astype(bool)]
    assert corrected[["n_seeds", "seeds"]].values.tolist() == [[3, "0,1,2"]]  # the named folder counts
    md = (out / "results.md").read_text()
    rows = md_rows(md)
    assert len(rows) == 10 and {r["method"] for r in rows} >= {"rigl · batch_size=32", "rigl · batch_size=64"}
    assert "1 named folder(s)" in md.splitlines()[0] and "2 other run(s) listed below" in md.splitlines()[0]


def test_other_runs_are_listed_apart(rendered):
    runs, out, text = rendered
    other = pd.read_csv(out / "other_runs.csv")
    assert sorted(Path(p).relative_to(runs).as_posix() for p in other.run_dir) == sorted(OTHER)
    why = {Path(r.run_dir).relative_to(runs).as_posix(): r.reason for r in other.itertuples()}
    assert why["adhoc/try1"].startswith("outside the sweep layout")
    assert why["adhoc/try1"].endswith(f"the same settings and seed as {BASE}/density0.2/seed0")
    assert why[f"{BASE}/density0.2/seed7"].startswith(
        "not where the sweep puts this run: seed 7 in its folder name, 1 in config.json"
    )
    md = (out / "results.md").read_text()
    section = md.split("## Other runs: in no number above", 1)[1]
    assert f"| {BASE}/density0.2/seed7 | complete | 1 | 99.00 |" in section
    assert "| adhoc/try1 | complete | 1 | 40.00 |" in section
    assert "adhoc/named" not in section
    assert "[-replay\\|-same_batches\\|-table]" in section  # a | in a reason is no column
    assert "99.00" not in md.split("## Other runs")[0]  # in no number
    assert f"OTHER {runs / 'adhoc/try1'}" in text and "2 other run(s)" in text
    matrix = pd.read_csv(out / "matrix.csv")
    assert matrix.n_seeds.sum() == sum(pd.read_csv(out / "results.csv").n_seeds) == len(COUNTED)


def test_density_reached_is_shown(rendered):
    _, out, _ = rendered
    rows = md_rows((out / "results.md").read_text())
    pruning = [r for r in rows if r["method"] == "pruning"]
    assert [r["density"] for r in pruning] == ["0.2 (reached 1)"]
    assert all(r["density"] in ("0.1", "0.2", "0.5") for r in rows if r["method"] != "pruning")
    res = pd.read_csv(out / "results.csv")
    assert res[res.method == "pruning"][["density", "density_reached_max"]].values.tolist() == [[0.2, 1.0]]
    assert "· reached 1" in (out / "matrix_digits.md").read_text()


def test_one_epoch_panels_have_readable_ticks(rendered):
    _, out, _ = rendered
    panels = json.loads((out / "figures.json").read_text())
    for name, fig in panels.items():
        for p in fig["panels"]:
            assert not p["ticks_overlap"], (name, p)
    acc = panels["accuracy.png"]["panels"]
    per_setting = lambda ep: [p for p in acc if f", {ep} epochs" in p["title"]]  # 3 rows: val, test, paired
    assert len(per_setting(1)) == 3 * 5 and len(per_setting(2)) == 3, [p["title"] for p in acc]  # 0.1, 0.2, 0.2 pruned,
    # 0.5; wrn-16-1; a paired panel without a seed in both arms says so (no axes, no ticks)
    one, two = [[p for p in per_setting(ep) if not p["message"]] for ep in (1, 2)]
    assert all(p["xticks"] == ["1"] for p in one), [p["xticks"] for p in one]
    assert all(p["xticks"] == ["1", "2"] for p in two), [p["xticks"] for p in two]
    tau = [p["xticks"] for p in panels["tau.png"]["panels"]]
    assert all(t in (["1"], []) for t in tau) and ["1"] in tau, tau  # inner panels share the bottom's x
    e2a = panels["epochs_to_accuracy.png"]["panels"]
    assert all(p["yticks"] == ["1"] for p in e2a if p["title"].endswith("epochs"))


def test_the_same_run_twice_is_refused(tmp_path):
    "Two folder names for one density: load_runs (the notebook's first step) stops with one line naming both."
    from balance_sparse.collect import load_runs

    runs = tmp_path / "runs"
    for d in ("density0.2", "density0.20"):
        write_run(runs, f"{BASE}/{d}/seed0", 0.4)
    with pytest.raises(ValueError) as e:
        load_runs(runs)
    assert str(e.value) == (
        f"{runs / BASE / 'density0.2/seed0'} and {runs / BASE / 'density0.20/seed0'} are the "
        "same run twice (the same settings and seed 0): a results row counts each seed once; "
        "delete or move one of them (or name only one in include)"
    )
    write_run(runs, "adhoc/again", 0.4)  # a named repeat of a layout run: refused too
    (runs / BASE / "density0.20").rename(runs / "old")
    with pytest.raises(ValueError, match="adhoc/again and .*density0.2/seed0 are the same run twice"):
        load_runs(runs, include=["adhoc/again"])
    assert len(load_runs(runs)[2]) == 2  # unnamed: both listed apart, nothing refused
