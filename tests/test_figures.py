"""nbs/figures.ipynb under papermill on the demo runs: every figure and table is written, and the tables' numbers equal
those recomputed here straight from the run folders (pandas/numpy, independently of balance_sparse.results).
Accuracies are in % in every table and figure (metrics.csv keeps fractions); a gain or a reduction is given only when
both arms have at least two seeds, and no figure keeps an empty panel."""

import json, math, re, shutil, statistics, subprocess, warnings
from pathlib import Path
import matplotlib.image as mpimg
import nbformat, numpy as np, pandas as pd, pytest
from scipy import stats
from conftest import ROOT, PAPERMILL, read_json, DEMO_DENSITIES, DEMO_EPOCHS

FIGURES_NB = ROOT / "nbs" / "figures.ipynb"
PNGS = [
    "accuracy.png",
    "tau.png",
    "epochs_to_accuracy.png",
    "compute.png",
    "layer_densities.png",
    "accuracy_vs_flops.png",
]
KEYS = ["dataset", "model_name", "method", "init", "density", "epochs"]
NOT_A_RESULT = "n=1 per arm: no spread, not a result"
PAIRED_COLUMN = "paired gain (pp) [95 % CI]"


def figures(runs_dir, out_dir, out_nb, check=True, include=None):
    "Run nbs/figures.ipynb on `runs_dir` (`include`: -p include_runs); the CompletedProcess (stdout+stderr in .stdout)."
    named = ["-p", "include_runs", include] if include else []
    r = subprocess.run(
        PAPERMILL
        + [str(FIGURES_NB), str(out_nb), "-p", "runs_dir", str(runs_dir), "-p", "out_dir", str(out_dir), *named],
        capture_output=True,
        text=True,
    )
    r.stdout = r.stdout + r.stderr
    if check and r.returncode != 0:
        raise AssertionError(f"papermill failed ({r.returncode}):\n{r.stdout[-4000:]}")
    return r


def outputs(nb_path):
    "(error outputs, all text the notebook printed or displayed)."
    nb = nbformat.read(nb_path, as_version=4)
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "") + o.get("data", {}).get("text/markdown", "")
        for o in outs
    )
    return [o for o in outs if o.output_type == "error"], text


def complete_runs(runs_dir):
    "One dict per complete run: its config and its metrics.csv (read directly)."
    runs = []
    for final_path in sorted(Path(runs_dir).rglob("final.json")):
        d = final_path.parent
        if read_json(final_path)["status"] != "complete":
            continue
        runs.append({**read_json(d / "config.json"), "metrics": pd.read_csv(d / "metrics.csv"), "dir": str(d)})
    return runs


def n_note(nb, nc):
    "What the tables must say instead of a gain/reduction when an arm has fewer than 2 seeds ('' when both have 2+)."
    if min(nb, nc) >= 2:
        return ""
    return (
        f"n={nb} per arm: no spread, not a result"
        if nb == nc
        else f"n={nb} baseline, n={nc} corrected: an arm without spread, not a result"
    )


def sd(xs):
    return statistics.stdev(xs) if len(xs) > 1 else math.nan


def expected_paired(base, corr, unit=" pp", fmt="+.2f"):
    """The paired cell recomputed here from {seed: value} of each arm: the per-seed differences, their mean, and for
    n ≥ 3 the 95 % interval of scipy.stats.bootstrap on the differences (9,999 resamples, random_state 0; BCa, else
    percentile); the seeds of one arm only named."""
    both = sorted(set(base) & set(corr))
    d = np.array([corr[s] - base[s] for s in both])
    if len(d) == 0:
        head = "no seed in both arms"
    elif len(d) == 1:
        head = "n=1 pair: no spread, not a result"
    elif len(d) == 2:
        head = f"{d.mean():{fmt}}{unit} (n=2 pairs: no 95 % interval, needs ≥ 3)"
    else:
        for method in ("BCa", "percentile"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ci = stats.bootstrap((d,), np.mean, method=method, n_resamples=9999, random_state=0).confidence_interval
            if np.isfinite(ci.low) and np.isfinite(ci.high):
                break
        head = f"{d.mean():{fmt}}{unit} [{ci.low:{fmt}}, {ci.high:{fmt}}] (95 % {method}, n={len(d)})"
    only = lambda seeds: f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    rest = [
        f"{only(sorted(a))}: {what}"
        for a, what in ((set(base) - set(corr), "baseline only"), (set(corr) - set(base), "corrected only"))
        if a
    ]
    return "; ".join([head, *rest])


def arm_values(runs_dir):
    "{(setting..., correction): {seed: final test acc %}} straight from the folders."
    out = {}
    for r in runs_dir if isinstance(runs_dir, list) else complete_runs(runs_dir):
        out.setdefault(tuple(r[k] for k in KEYS) + (r["correction"],), {})[r["seed"]] = (
            100 * r["metrics"].test_acc.iloc[-1]
        )
    return out


def expected_results(runs_dir):
    "{(setting..., correction): dict(n, mean, sd, seconds, flops)} from each run's last metrics row, accuracy in %."
    groups = {}
    for r in runs_dir if isinstance(runs_dir, list) else complete_runs(runs_dir):
        last = r["metrics"].iloc[-1]
        groups.setdefault(tuple(r[k] for k in KEYS) + (r["correction"],), []).append(last)
    return {
        k: dict(
            n=len(v),
            mean=statistics.mean(100 * x.test_acc for x in v),
            sd=sd([100 * x.test_acc for x in v]),
            seconds=statistics.mean(x.seconds for x in v),
            seconds_sd=sd([x.seconds for x in v]),
            flops=statistics.mean(x.train_flops for x in v),
        )
        for k, v in groups.items()
    }


def expected_gain(exp, key):
    "(gain pp, SE pp, note) for the corrected row `key`."
    base, corr = exp.get(key[:-1] + (False,)), exp[key]
    if base is None:
        return math.nan, math.nan, "no baseline at this setting"
    note = n_note(base["n"], corr["n"])
    if note:
        return math.nan, math.nan, note
    return corr["mean"] - base["mean"], math.sqrt(base["sd"] ** 2 / base["n"] + corr["sd"] ** 2 / corr["n"]), ""


def check_results_csv(path, runs_dir):
    exp = expected_results(runs_dir)
    got = pd.read_csv(path, dtype={"gain_note": str}).fillna({"gain_note": ""})
    assert {"test_acc_mean_%", "test_acc_sd_%", "gain_pp", "gain_se_pp", "n_seeds"} <= set(got.columns)
    assert len(got) == len(exp)
    for row in got.to_dict("records"):
        key = tuple(row[k] for k in KEYS) + (bool(row["correction"]),)
        e = exp[key]
        assert row["n_seeds"] == e["n"]
        assert (
            row["test_acc_mean_%"] == pytest.approx(e["mean"], abs=1e-9) and 1 < row["test_acc_mean_%"] <= 100
        )  # %, not a fraction
        assert (math.isnan(e["sd"]) and math.isnan(row["test_acc_sd_%"])) or row["test_acc_sd_%"] == pytest.approx(
            e["sd"], abs=1e-9
        )
        assert row["seconds_mean"] == pytest.approx(e["seconds"]) and row["train_flops_mean"] == pytest.approx(
            e["flops"]
        )
        assert (math.isnan(e["seconds_sd"]) and math.isnan(row["seconds_sd"])) or row["seconds_sd"] == pytest.approx(
            e["seconds_sd"]
        )
        gain, se, note = expected_gain(exp, key) if key[-1] else (math.nan, math.nan, "")
        assert (math.isnan(gain) and math.isnan(row["gain_pp"])) or row["gain_pp"] == pytest.approx(gain, abs=1e-9)
        assert (math.isnan(se) and math.isnan(row["gain_se_pp"])) or row["gain_se_pp"] == pytest.approx(se, abs=1e-9)
        assert row["gain_note"] == note
    return got


def md_rows(md):
    "The rows of the results table in results.md as dicts keyed by the header (its first table)."
    lines = [l for l in md.split("\n\n## ")[0].splitlines() if l.startswith("|")]  # not the claims, other runs
    cells = lambda l: [c.strip() for c in l.strip("|").split("|")]
    head = cells(lines[0])
    return [dict(zip(head, cells(l))) for l in lines[2:]]


def check_results_md(path, runs_dir):
    """results.md: n per row, mean ± sd (with n ≥ 2), gain ± SE only when both arms have n ≥ 2, 'n=1 ... not a result'
    otherwise."""
    exp, md, arms = expected_results(runs_dir), Path(path).read_text(), arm_values(runs_dir)
    rows = md_rows(md)
    assert len(rows) == len(exp)
    for r in rows:
        key = (
            r["dataset"],
            r["model"],
            r["method"],
            r["init"],
            float(r["density"]),
            int(r["epochs"]),
            r["correction"] == "yes",
        )
        e = exp[key]
        assert r["n"] == str(e["n"])
        acc = r["test acc (%) mean ± sd"]
        assert acc == (f"{e['mean']:.2f} ± {e['sd']:.2f}" if e["n"] >= 2 else f"{e['mean']:.2f} (n=1: no sd)"), (acc, e)
        gain, se, note = expected_gain(exp, key) if key[-1] else (math.nan, math.nan, "")
        paired = expected_paired(arms.get(key[:-1] + (False,), {}), arms[key]) if key[-1] else ""
        assert r[PAIRED_COLUMN] == paired, (r[PAIRED_COLUMN], paired)
        assert r["note"] == note
    if any(e["n"] < 2 for e in exp.values()):
        assert "n=1" in md and "not a result" in md
    return md, rows


def check_epochs_csv(path, runs_dir, acc="val_acc"):
    "The corrected mean curve's first epoch at the baseline mean curve's best, and each seed's, recomputed with numpy."
    sides = {}
    for r in sorted(complete_runs(runs_dir), key=lambda r: r["seed"]):
        sides.setdefault(tuple(r[k] for k in KEYS), {}).setdefault(r["correction"], []).append(r["metrics"])
    text_cols = [
        "note",
        "baseline_seed_epochs",
        "corrected_seed_epochs",
    ]  # "3" must stay a string, "" must not become NaN
    got = pd.read_csv(path, dtype={c: str for c in text_cols}).fillna({c: "" for c in text_cols})
    assert len(got) == len(sides)
    for row in got.to_dict("records"):
        s = sides[tuple(row[k] for k in KEYS)]
        mean = lambda runs, col: np.mean([m[col].to_numpy() for m in runs], axis=0)
        nb, nc = len(s.get(False, [])), len(s.get(True, []))
        assert row["baseline_seeds"] == nb and row["corrected_seeds"] == nc
        if False not in s or True not in s:
            assert not row["reached"] and math.isnan(row["corrected_epoch"]) and math.isnan(row["epoch_reduction_pct"])
            assert row["note"] == ("no corrected runs" if True not in s else "no baseline runs")
            continue
        b, c = mean(s[False], acc), mean(s[True], acc)
        b_epoch, best = int(np.argmax(b)) + 1, b.max()
        assert row["baseline_best_%"] == pytest.approx(100 * best, abs=1e-9) and row["baseline_epoch"] == b_epoch
        for side, col in ((False, "baseline"), (True, "corrected")):  # each seed's first epoch at A*
            firsts = [np.flatnonzero(m[acc].to_numpy() >= best - 1e-9) for m in s[side]]
            assert row[f"{col}_seed_epochs"] == ",".join(str(f[0] + 1) if len(f) else "never" for f in firsts)
            reached = [int(f[0]) + 1 for f in firsts if len(f)]
            assert (len(reached) < 2 and math.isnan(row[f"{col}_epoch_sd"])) or row[f"{col}_epoch_sd"] == pytest.approx(
                sd(reached)
            )
        few = n_note(nb, nc)
        hits = np.flatnonzero(c >= best - 1e-9)
        if len(hits):
            c_epoch = int(hits[0]) + 1
            assert row["reached"] and row["corrected_epoch"] == c_epoch
            if few:  # n < 2 in an arm: no reduction given
                assert row["note"] == few
                assert all(
                    math.isnan(row[k]) for k in ("epoch_reduction_pct", "flops_reduction_pct", "seconds_reduction_pct")
                )
            else:
                assert row["note"] == ""
                assert row["epoch_reduction_pct"] == pytest.approx(100 * (1 - c_epoch / b_epoch))
                b_flops, c_flops = mean(s[False], "train_flops")[b_epoch - 1], mean(s[True], "train_flops")[c_epoch - 1]
                assert row["flops_reduction_pct"] == pytest.approx(100 * (1 - c_flops / b_flops))
                b_sec, c_sec = mean(s[False], "seconds")[b_epoch - 1], mean(s[True], "seconds")[c_epoch - 1]
                assert row["seconds_reduction_pct"] == pytest.approx(100 * (1 - c_sec / b_sec))
        else:
            assert not row["reached"] and math.isnan(row["corrected_epoch"]) and math.isnan(row["epoch_reduction_pct"])
            assert row["note"].startswith("never reached") and row["note"].endswith(few)
    return got


def check_pngs(out_dir):
    for name in PNGS:
        img = mpimg.imread(out_dir / name)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, (name, img.shape)
        assert img[..., :3].std() > 0, f"{name} is blank"


def check_panels(out_dir, runs_dir, text):
    """Every panel of every PNG draws data (figures.json, written by the notebook from `fig.axes`), none was removed as
    empty, and each figure has exactly as many panels as the runs call for (counted here from the configs)."""
    runs = complete_runs(runs_dir)
    src = lambda r: (r["dataset"], r["model_name"], r.get("preset"))
    settings = {src(r) + (r["density"], r["epochs"]) for r in runs}
    arms = {}
    for r in runs:
        arms.setdefault(src(r) + (r["method"], r["init"], r["density"], r["epochs"]), set()).add(r["correction"])
    variants_compared = {k[:5] for k, a in arms.items() if a == {False, True}}
    variants_corrected = {src(r) + (r["method"], r["init"]) for r in runs if r["correction"]}
    sparse = {
        src(r) + (r["density"],) for r in runs if r["density"] < 1
    }  # accuracy vs FLOPs: a panel per source × density < 1
    only_dense = {src(r) for r in runs} - {k[:3] for k in sparse}  # (dense runs join those panels as the reference)
    expected = {
        "accuracy.png": 3 * len(settings),
        "compute.png": 2 * len(settings),
        "accuracy_vs_flops.png": len(sparse) + len(only_dense),
        "epochs_to_accuracy.png": 3 * len(variants_compared) or 1,
        "tau.png": 2 * len(variants_corrected) or 1,
        "layer_densities.png": len(
            {(r["dataset"], r["model_name"], r["init"]) for r in runs if r["method"] not in ("dense", "small_dense")}
        ),
    }
    seeds = {}
    for r in runs:
        seeds.setdefault(src(r) + (r["method"], r["init"], r["density"], r["epochs"], r["correction"]), set()).add(
            r["seed"]
        )
    paired = {k[:3] + k[5:7] for k in seeds if k[-1] and seeds[k] & seeds.get(k[:-1] + (False,), set())}
    panels = json.loads((out_dir / "figures.json").read_text())
    assert set(panels) == set(PNGS)
    for name, n in expected.items():
        p = panels[name]["panels"]
        assert len(p) == n, (name, len(p), n)
        if name == "accuracy.png":  # the bottom row: a paired difference, or why there is none
            assert sum(a["data"] and not a["message"] for a in p) == 2 * len(settings) + len(paired), p
            assert sum(a["message"] for a in p) == len(settings) - len(paired), p
            continue
        placeholder = (name == "epochs_to_accuracy.png" and not variants_compared) or (
            name == "tau.png" and not variants_corrected
        )
        assert all(a["message"] if placeholder else a["data"] and not a["message"] for a in p), (name, p)
    assert "removed" not in text  # no grid was sized beyond its panels
    return panels


def copy_runs(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("checkpoint.pt", "*.ipynb"))
    return dst


def render_and_check(runs, tmp_path, include=None):
    """Run figures.ipynb on `runs`; check it ran clean, its PNGs and panels, and results.csv. Returns (out, panels,
    results, text)."""
    out = tmp_path / "figs"
    figures(runs, out, tmp_path / "figures.ipynb", include=include)
    errors, text = outputs(tmp_path / "figures.ipynb")
    assert errors == []
    check_pngs(out)
    return out, check_panels(out, runs, text), check_results_csv(out / "results.csv", runs), text


def test_figures_on_demo_runs(demo_runs, tmp_path):
    out, panels, res, text = render_and_check(demo_runs, tmp_path)
    assert len(res) == 2 * len(DEMO_DENSITIES) and res.n_seeds.sum() == 2 * len(DEMO_DENSITIES)
    # one seed per arm: no gain anywhere, and the tables say why
    assert res.gain_pp.isna().all() and (res[res.correction].gain_note == NOT_A_RESULT).all()
    md, rows = check_results_md(out / "results.md", demo_runs)
    assert all(r[PAIRED_COLUMN] in ("", "n=1 pair: no spread, not a result") for r in rows)
    assert all(r["n"] == "1" for r in rows)
    assert not re.search(r"[+\-−]\d+\.\d+", md), md  # no signed difference presented anywhere
    assert "±" not in "".join(l for l in md.splitlines()[1:] if l.startswith("| digits"))  # no spread to show
    assert md.count("| digits | wrn-10-1 | authors | rigl | erk |") == 2 * len(
        DEMO_DENSITIES
    )  # the drivers run the authors recipe
    n = 2 * len(DEMO_DENSITIES)  # the demo preset evaluates the weights (bn_stats=clean) even in the authors recipe
    assert f"{n} run(s) recomputed at the weights (bn_stats=clean)." in md and "stale" not in md, md
    assert "n=1 seed per row: single runs, no spread; no difference below is a result" in md.splitlines()[0]
    e2a = check_epochs_csv(out / "epochs_to_accuracy.csv", demo_runs)
    assert sorted(e2a.density) == sorted(DEMO_DENSITIES) and e2a.epoch_reduction_pct.isna().all()
    assert e2a.note.str.endswith(NOT_A_RESULT).all()
    for name in ("accuracy.png", "epochs_to_accuracy.png", "compute.png"):  # the titles say n=1, not a result
        assert "n=1" in panels[name]["title"] and "not a result" in panels[name]["title"], panels[name]["title"]
    assert "%" in panels["accuracy.png"]["title"] and "means over seeds" not in text
    assert pd.read_csv(out / "incomplete_runs.csv").empty and "no incomplete runs" in text
    assert "digits (scikit-learn 8×8) demo · wrn-10-1" in text and "CIFAR" not in text  # the source, named honestly
    assert not (demo_runs / "figures").exists()  # out_dir was honoured


def test_incomplete_run_is_listed_and_left_out(demo_runs, tmp_path):
    runs = copy_runs(demo_runs, tmp_path / "runs")
    failed = runs / "digits" / "rigl-erk-agc" / f"density{DEMO_DENSITIES[-1]}" / "seed0"
    final = read_json(failed / "final.json")
    (failed / "final.json").write_text(
        json.dumps({**final, "status": "failed", "error": "RuntimeError: out of memory"})
    )
    out = tmp_path / "figs"
    figures(runs, out, tmp_path / "figures.ipynb")
    errors, text = outputs(tmp_path / "figures.ipynb")
    assert errors == []
    assert f"INCOMPLETE {failed}" in text and "RuntimeError: out of memory" in text
    inc = pd.read_csv(out / "incomplete_runs.csv")
    assert inc.run_dir.tolist() == [str(failed)] and inc.status.tolist() == ["failed"]
    res = check_results_csv(out / "results.csv", runs)  # the recomputation skips it too
    assert res.n_seeds.sum() == 2 * len(DEMO_DENSITIES) - 1
    assert not ((res.density == DEMO_DENSITIES[-1]) & res.correction).any()
    check_results_md(out / "results.md", runs)
    assert f"density {DEMO_DENSITIES[-1]:g} · 3 epochs: no corrected runs" in text  # said, not hidden
    e2a = check_epochs_csv(out / "epochs_to_accuracy.csv", runs)
    assert e2a.set_index("density").loc[DEMO_DENSITIES[-1], "note"] == "no corrected runs"
    check_pngs(out)  # still drawn from what is there
    check_panels(out, runs, text)


def test_only_one_baseline_run(demo_runs, tmp_path):
    runs = tmp_path / "runs"
    src = demo_runs / "digits" / "rigl-erk-base" / f"density{DEMO_DENSITIES[0]}" / "seed0"
    copy_runs(src, runs / src.relative_to(demo_runs))
    figures(runs, runs / "figures", tmp_path / "figures.ipynb")  # out_dir given explicitly as the default
    errors, text = outputs(tmp_path / "figures.ipynb")
    assert errors == []
    check_pngs(runs / "figures")
    check_panels(runs / "figures", runs, text)  # tau and epochs: a placeholder each
    res = check_results_csv(runs / "figures" / "results.csv", runs)
    assert len(res) == 1 and res.gain_pp.isna().all() and math.isnan(res["test_acc_sd_%"].iloc[0])
    assert "no corrected runs" in text and "n=1 seed per curve" in text
    check_epochs_csv(runs / "figures" / "epochs_to_accuracy.csv", runs)


def _second_seed(run_dir, seed, shift):
    "A copy of `run_dir` as seed `seed`: accuracies shifted by `shift` (clipped to [0, 1]), seconds 10 % longer."
    d = run_dir.parent / f"seed{seed}"
    shutil.copytree(run_dir, d)
    m = pd.read_csv(d / "metrics.csv")
    for col in ("val_acc", "test_acc"):
        m[col] = (m[col] + shift * np.arange(1, len(m) + 1)).clip(0, 1)
    m["seconds"] = 1.1 * m.seconds
    m.to_csv(d / "metrics.csv", index=False)
    (d / "config.json").write_text(json.dumps({**read_json(d / "config.json"), "seed": seed}))


def test_three_seeds_and_two_sources(demo_runs, tmp_path):
    """Three seeds per arm: n and ± sd in the table, the paired gain with its 95 % interval (recomputed with scipy),
    reductions, the paired difference per epoch beside the accuracy curves, and the claims table; and a second model
    trained at one density only (outside the sweep layout, named with include_runs), which must not leave an empty
    panel in any grid."""
    runs = copy_runs(demo_runs, tmp_path / "runs")
    for i, d in enumerate(sorted(runs.rglob("final.json"))):
        _second_seed(d.parent, 1, 0.04 if i % 2 else -0.03)
        _second_seed(d.parent, 2, 0.02 if i % 2 else -0.05)
    other = runs / "digits-wrn16"
    for arm in ("base", "agc"):
        for seed in (0, 1, 2):
            src = runs / "digits" / f"rigl-erk-{arm}" / f"density{DEMO_DENSITIES[0]}" / f"seed{seed}"
            dst = other / src.relative_to(runs / "digits")
            shutil.copytree(src, dst)
            (dst / "config.json").write_text(json.dumps({**read_json(dst / "config.json"), "model_name": "wrn-16-1"}))
    out, panels, res, _ = render_and_check(runs, tmp_path, include="digits-wrn16")
    assert len(panels["accuracy.png"]["panels"]) == 3 * (
        len(DEMO_DENSITIES) + 1
    )  # not 2 sources × 3 rows × 2 densities
    assert (res.n_seeds == 3).all() and res["test_acc_sd_%"].notna().all()
    assert res[res.correction].gain_pp.notna().all() and res[res.correction].gain_se_pp.notna().all()
    corr = res[res.correction]
    assert (corr.paired_n == 3).all() and corr.paired_ci_low_pp.notna().all() and corr.paired_ci_high_pp.notna().all()
    assert ((corr.paired_ci_low_pp <= corr.paired_gain_pp) & (corr.paired_gain_pp <= corr.paired_ci_high_pp)).all()
    md, rows = check_results_md(out / "results.md", runs)  # every paired cell against scipy, computed here
    assert all("±" in r["test acc (%) mean ± sd"] for r in rows)
    assert all(
        bool(re.search(r"\(95 % (BCa|percentile), n=3\)$", r[PAIRED_COLUMN])) == (r["correction"] == "yes")
        for r in rows
    )
    table_md = md.split("\n## The paper's claims")[0]
    assert "n=3 seeds per row" in md.splitlines()[0] and "not a result" not in table_md
    claims = pd.read_csv(out / "claims.csv")
    assert len(claims) == 4 * (len(DEMO_DENSITIES) + 1)  # (1 accuracy + 3 reduction measures) per setting
    acc_rows = claims[claims.measure == "final test accuracy, corrected − baseline"].set_index(
        ["model_name", "density"]
    )
    exp = {(r.model_name, r.density): r.paired_gain_pp for r in corr.itertuples()}
    assert {k: pytest.approx(v) for k, v in exp.items()} == acc_rows["mean"].to_dict()  # one function, both tables
    assert "## The paper's claims, checked against our runs" in md and "not run here" not in md
    e2a = check_epochs_csv(out / "epochs_to_accuracy.csv", runs)
    assert (e2a.baseline_seeds == 3).all() and not e2a.note.str.contains("n=1").any()
    assert "mean ± 1 sd over n=3 seeds per curve" in panels["accuracy.png"]["title"]
    diff_panels = [a for a in panels["accuracy.png"]["panels"] if "paired, same seed" in a["title"]]
    assert len(diff_panels) == len(DEMO_DENSITIES) + 1 and all(a["data"] for a in diff_panels)
    assert all("n=3 pairs, 95 % band" in a["title"] for a in diff_panels)
    curves = pd.read_csv(out / "paired_curves.csv")
    assert (curves.n == 3).all() and curves.ci_low_pp.notna().all() and set(curves.acc) == {"val_acc", "test_acc"}


def test_empty_runs_dir_fails_with_a_clear_message(tmp_path):
    (tmp_path / "runs").mkdir()
    r = figures(tmp_path / "runs", tmp_path / "figs", tmp_path / "figures.ipynb", check=False)
    assert r.returncode != 0
    assert f"no runs under {tmp_path / 'runs'}" in r.stdout and "make demo" in r.stdout
    errors, _ = outputs(tmp_path / "figures.ipynb")
    assert len(errors) == 1 and errors[0]["ename"] == "ValueError"


# ---- the matrix (method × init × multiplier × density) and accuracy vs training FLOPs across methods ----------------
METHOD_DISPLAY = {
    "rigl": "RigL",
    "snfs": "SNFS",
    "set": "SET",
    "static": "Static",
    "pruning": "Pruning",
    "lottery": "Lottery",
    "small_dense": "Small-Dense",
    "dense": "Dense",
}
INIT_DISPLAY = {"erk": "ERK", "er": "ER", "uniform": "Random"}
BASE_ACC = {"rigl": 0.80, "snfs": 0.78, "pruning": 0.82, "small_dense": 0.70, "dense": 0.90}


def fake_run(template, runs, dataset, method, init, mult, density, correction, seed, multiplier_in_config=True):
    """A complete run folder made from a demo run's config.json (as `_second_seed` does) with hand-set metrics:
    DEMO_EPOCHS × `mult` epochs, final test accuracy from BASE_ACC (+2 pp corrected, +3 pp per extra multiple, ±1 pp by
    seed), training FLOPs ∝ density (×1.5 corrected). The folder is named as the Makefile names it:
    [Mx-]method-init-agc|base."""
    epochs = DEMO_EPOCHS * mult
    d = (
        runs
        / dataset
        / f"{'' if mult == 1 else f'{mult}x-'}{method}-{init}-{'agc' if correction else 'base'}"
        / f"density{density}"
        / f"seed{seed}"
    )
    shutil.copytree(template, d, ignore=shutil.ignore_patterns("checkpoint*.pt", "*.ipynb"))
    cfg = {
        **read_json(d / "config.json"),
        "dataset": dataset,
        "method": method,
        "init": init,
        "correction": correction,
        "density": density,
        "seed": seed,
        "epochs": epochs,
        "multiplier": mult,
    }
    if dataset == "cifar100":
        cfg["num_classes"] = 100
    if not multiplier_in_config:
        del cfg["multiplier"]  # older runs: only the folder says 2x
    (d / "config.json").write_text(json.dumps(cfg))
    final = (
        BASE_ACC[method]
        + 0.02 * correction
        + 0.03 * (mult - 1)
        + (0.01 if seed else -0.01)
        - 0.05 * (init == "uniform")
    )
    e = np.arange(1, epochs + 1)
    pd.DataFrame(
        {
            "epoch": e,
            "step": 40 * e,
            "lr": 0.05,
            "train_loss": 1 / e,
            "train_acc": final * e / epochs,
            "val_loss": 1 / e,
            "val_acc": final * e / epochs,
            "test_loss": 1 / e,
            "test_acc": final * e / epochs,
            "tau": 0.1 if correction else math.nan,
            "tau_curr": 0.1 if correction else math.nan,
            "density": density,
            "train_flops": 1e9 * density * (1.5 if correction else 1) * e,
            "seconds": 2.0 * e,
        }
    ).to_csv(d / "metrics.csv", index=False)
    return d


def expected_matrix(runs_dir):
    """{dataset: {(method, init, multiplier, epochs): {(density, correction): {seed: final test acc %}}}} straight from
    the folders."""
    out = {}
    for r in complete_runs(runs_dir):
        m = r.get("multiplier")
        if m is None:
            m = (
                int(re.match(r"(\d+)x-", Path(r["dir"]).parts[-3]).group(1))
                if re.match(r"\d+x-", Path(r["dir"]).parts[-3])
                else 1
            )
        row = out.setdefault(r["dataset"], {}).setdefault((r["method"], r["init"], m, r["epochs"]), {})
        row.setdefault((r["density"], r["correction"]), {})[r["seed"]] = 100 * r["metrics"].test_acc.iloc[-1]
    return out


def expected_cell(accs):
    accs = list(accs.values()) if isinstance(accs, dict) else accs
    if not accs:
        return "—"
    if len(accs) == 1:
        return f"{accs[0]:.2f} (n=1: no sd, not a result)"
    return f"{statistics.mean(accs):.2f} ± {statistics.stdev(accs):.2f} (n={len(accs)})"


def matrix_rows(md):
    "The matrix table in a matrix_<dataset>.md: (header cells, rows as lists of cells)."
    lines = [l for l in md.splitlines() if l.startswith("|")]
    cells = lambda l: [c.strip() for c in l.strip("|").split("|")]
    return cells(lines[0]), [cells(l) for l in lines[2:]]


def test_matrix_and_accuracy_vs_flops_across_methods(demo_runs, tmp_path):
    """Fake complete runs of several methods, inits and training lengths (2 seeds, baseline + corrected): the matrix
    has one row per method × init × multiplier in the reference's order with 'mean ± sd (n=k)' cells recomputed here,
    and accuracy_vs_flops.png has one non-empty panel per dataset × density."""
    template = demo_runs / "digits" / "rigl-erk-base" / f"density{DEMO_DENSITIES[0]}" / "seed0"
    runs = tmp_path / "runs"
    spec = [
        ("digits", "rigl", "erk", 1, 0.2),
        ("digits", "snfs", "uniform", 1, 0.5),
        ("digits", "pruning", "erk", 1, 0.2),
        ("digits", "small_dense", "erk", 1, 0.2),
        ("cifar100", "rigl", "erk", 1, 0.2),
    ]
    for ds, method, init, mult, density in spec:
        for correction in (False, True):
            for seed in (0, 1):
                fake_run(template, runs, ds, method, init, mult, density, correction, seed)
    for seed in (0, 1):
        fake_run(template, runs, "digits", "rigl", "erk", 2, 0.2, False, seed, multiplier_in_config=False)
    fake_run(
        template, runs, "digits", "rigl", "erk", 2, 0.2, True, 0, multiplier_in_config=False
    )  # one corrected seed: n=1
    for seed in (0, 1):
        fake_run(template, runs, "digits", "dense", "erk", 1, 1.0, False, seed)  # dense: baseline only
    out, panels, res, text = render_and_check(runs, tmp_path)
    assert res.n_seeds.sum() == len(complete_runs(runs)) == 25
    exp = expected_matrix(runs)
    assert sorted(p.name for p in out.glob("matrix_*.md")) == ["matrix_cifar100.md", "matrix_digits.md"]
    order = {
        "digits": [
            ("rigl", "erk", 1),
            ("rigl", "erk", 2),
            ("snfs", "uniform", 1),
            ("pruning", "erk", 1),
            ("small_dense", "erk", 1),
            ("dense", "erk", 1),
        ],
        "cifar100": [("rigl", "erk", 1)],
    }
    for ds, rows_exp in order.items():
        md = (out / f"matrix_{ds}.md").read_text()
        head, rows = matrix_rows(md)
        densities = sorted({d for cells in exp[ds].values() for d, _ in cells})
        paired_at = {d for cells in exp[ds].values() for d, c in cells if c}  # densities with corrected runs
        sides = lambda d: ("baseline", "corrected") + (("paired gain",) if d in paired_at else ())
        assert head == ["method", "init", "training", "epochs"] + [f"d={d:g} {s}" for d in densities for s in sides(d)]
        keys = sorted(exp[ds], key=lambda k: rows_exp.index(k[:3]))
        assert [tuple(r[:4]) for r in rows] == [
            (METHOD_DISPLAY[m], INIT_DISPLAY[i], f"{x}×", str(e)) for m, i, x, e in keys
        ], rows
        for key, row in zip(keys, rows):
            cell = lambda d, s: exp[ds][key].get((d, s), {})
            want = [
                x
                for d in densities
                for x in [expected_cell(cell(d, False)), expected_cell(cell(d, True))]
                + ([expected_paired(cell(d, False), cell(d, True)) if cell(d, True) else "—"] if d in paired_at else [])
            ]
            assert row[4:] == want, (ds, key, row, want)
        assert ("n=1: a single run has no spread" in md) == (ds == "digits")
    digits = (out / "matrix_digits.md").read_text()
    assert "| RigL | ERK | 2× | 6 | 83.00 ± 1.41 (n=2) | 84.00 (n=1: no sd, not a result) |" in digits, (
        digits
    )  # by hand
    assert (
        "| RigL | ERK | 2× | 6 | 83.00 ± 1.41 (n=2) | 84.00 (n=1: no sd, not a result) | n=1 pair: no spread, not a "
        "result; seed 1: baseline only |" in digits
    ), digits
    snfs = "| SNFS | Random | 1× | 3 | — | — | — | 73.00 ± 1.41 (n=2) | 75.00 ± 1.41 (n=2) | +2.00 pp (n=2 pairs: no "
    assert snfs + "95 % interval, needs ≥ 3) | — | — |" in digits, digits  # +2 pp in each seed, by hand
    assert "| Dense | ERK | 1× | 3 | — | — | — | — | — | — | 90.00 ± 1.41 (n=2) | — |" in digits, digits
    cells = pd.read_csv(out / "matrix.csv")
    assert cells.n_seeds.sum() == 25 and set(cells.multiplier) == {1, 2}
    two_x = [
        a["title"]
        for a in panels["accuracy.png"]["panels"]
        if "paired, same seed" in a["title"] and "6 epochs" in a["title"]
    ]
    assert len(two_x) == 1 and two_x[0].endswith("n=1 pair: no spread, not a result\nseed 1: baseline only, not paired")
    flops = panels["accuracy_vs_flops.png"]
    assert sorted(p["title"].split("\n") for p in flops["panels"]) == [  # one panel per dataset × density < 1
        ["CIFAR-100 demo · wrn-10-1", "density 0.2", "n = 2 seed(s) per point"],
        [
            "digits (scikit-learn 8×8) demo · wrn-10-1",
            "density 0.2 + dense reference (density 1)",
            "n = 1–2 seed(s) per point",
        ],
        [
            "digits (scikit-learn 8×8) demo · wrn-10-1",
            "density 0.5 + dense reference (density 1)",
            "n = 2 seed(s) per point",
        ],
    ], flops
    assert all(p["data"] and not p["message"] for p in flops["panels"])
    assert "points labelled n=1 are single runs, not a result" in flops["title"]
    assert "removed" not in text and "MISSING FLOPs" not in text


def test_tuning_figures_and_table(demo_runs, tmp_path):
    """With an Optuna study (both arms) and lr-grid run folders beside the paper's runs: the contour, the lr-grid lines
    and the best-per-density table; tuning runs stay out of the paper's numbers."""
    from balance_sparse.tune import tune, load_tuning, best_trials

    runs = tmp_path / "runs"
    shutil.copytree(demo_runs, runs)
    for corr in (False, True):
        tune(
            preset="demo",
            epochs=1,
            correction=corr,
            seeds="0",
            n_trials=3,
            runs_dir=str(runs),
            device="cpu",
            progress=False,
            sampler_seed=0,
        )
    src = next((runs / "digits").glob("rigl-erk-base/density0.2/seed0"))
    for lr in ("0.1", "0.05"):
        shutil.copytree(
            src, runs / "digits" / "lrgrid" / "rigl-erk-base" / "density0.2" / f"lr{lr}-a0.3-dt100" / "seed0"
        )
    out = tmp_path / "fig"
    figures(runs, out, tmp_path / "figures.ipynb")
    panels = json.loads((out / "figures.json").read_text())
    assert "tune_contour_digits_erk.png" in panels and "lr_grid_digits_d0.2.png" in panels
    contour = panels["tune_contour_digits_erk.png"]["panels"]
    assert sum(p["data"] for p in contour) >= 2  # baseline and corrected panels draw trials
    best = pd.read_csv(out / "tuning_best.csv")
    expected = best_trials(load_tuning(runs))
    assert (
        set(best.source.str.startswith("Optuna")) == {True, False}
        and len(best[best.source.str.startswith("Optuna")]) == len(expected) == 2
    )
    assert sorted(best[best.source == "lr grid"].lr.tolist()) in ([0.05], [0.1])  # the better lr of the grid, one arm
    results = pd.read_csv(out / "results.csv")  # the paper's table: demo runs only
    assert set(results.n_seeds) == {1} and "lrgrid" not in (out / "results.md").read_text()
