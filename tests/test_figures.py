"""nbs/figures.ipynb under papermill on the demo runs: every figure and table is written, and the tables' numbers equal
those recomputed here straight from the run folders (pandas/numpy, independently of balance_sparse.results)."""
import json, math, shutil, statistics, subprocess
from pathlib import Path
import matplotlib.image as mpimg
import nbformat, numpy as np, pandas as pd, pytest
from conftest import ROOT, PAPERMILL, read_json, DEMO_DENSITIES

FIGURES_NB = ROOT / "nbs" / "figures.ipynb"
PNGS = ["accuracy.png", "tau.png", "epochs_to_accuracy.png", "compute.png", "layer_densities.png"]
KEYS = ["dataset", "model_name", "method", "init", "density", "epochs"]

def figures(runs_dir, out_dir, out_nb, check=True):
    "Execute nbs/figures.ipynb on `runs_dir`; returns the CompletedProcess (stdout+stderr in .stdout)."
    r = subprocess.run(PAPERMILL + [str(FIGURES_NB), str(out_nb), "-p", "runs_dir", str(runs_dir), "-p", "out_dir", str(out_dir)],
                       capture_output=True, text=True)
    r.stdout = r.stdout + r.stderr
    if check and r.returncode != 0: raise AssertionError(f"papermill failed ({r.returncode}):\n{r.stdout[-4000:]}")
    return r

def outputs(nb_path):
    "(error outputs, all text the notebook printed or displayed)."
    nb = nbformat.read(nb_path, as_version=4)
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") + o.get("data", {}).get("text/markdown", "") for o in outs)
    return [o for o in outs if o.output_type == "error"], text

def complete_runs(runs_dir):
    "One dict per complete run: its config and its metrics.csv (read directly)."
    runs = []
    for final_path in sorted(Path(runs_dir).rglob("final.json")):
        d = final_path.parent
        if read_json(final_path)["status"] != "complete": continue
        runs.append({**read_json(d / "config.json"), "metrics": pd.read_csv(d / "metrics.csv"), "dir": str(d)})
    return runs

def expected_results(runs_dir):
    "{(setting..., correction): (n, mean, sd, seconds, flops)} from each run's last metrics row."
    groups = {}
    for r in runs_dir if isinstance(runs_dir, list) else complete_runs(runs_dir):
        last = r["metrics"].iloc[-1]
        groups.setdefault(tuple(r[k] for k in KEYS) + (r["correction"],), []).append(last)
    return {k: (len(v), statistics.mean(x.test_acc for x in v),
                statistics.stdev([x.test_acc for x in v]) if len(v) > 1 else math.nan,
                statistics.mean(x.seconds for x in v), statistics.mean(x.train_flops for x in v)) for k, v in groups.items()}

def check_results_csv(path, runs_dir):
    exp = expected_results(runs_dir)
    got = pd.read_csv(path)
    assert len(got) == len(exp)
    for row in got.itertuples():
        key = tuple(getattr(row, k) for k in KEYS) + (bool(row.correction),)
        n, mean, sd, seconds, flops = exp[key]
        assert row.n_seeds == n
        assert row.test_acc_mean == pytest.approx(mean, abs=1e-12)
        assert (math.isnan(sd) and math.isnan(row.test_acc_sd)) or row.test_acc_sd == pytest.approx(sd, abs=1e-12)
        assert row.seconds_mean == pytest.approx(seconds) and row.train_flops_mean == pytest.approx(flops)
        base = exp.get(key[:-1] + (False,))
        if row.correction and base: assert row.gain == pytest.approx(mean - base[1], abs=1e-12)
        else: assert math.isnan(row.gain)
    return got

def check_epochs_csv(path, runs_dir, acc="val_acc"):
    "The corrected mean curve's first epoch at the baseline mean curve's best, recomputed with numpy."
    sides = {}
    for r in complete_runs(runs_dir):
        sides.setdefault(tuple(r[k] for k in KEYS), {}).setdefault(r["correction"], []).append(r["metrics"])
    got = pd.read_csv(path)
    assert len(got) == len(sides)
    for row in got.itertuples():
        s = sides[tuple(getattr(row, k) for k in KEYS)]
        mean = lambda runs, col: np.mean([m[col].to_numpy() for m in runs], axis=0)
        assert row.baseline_seeds == len(s.get(False, [])) and row.corrected_seeds == len(s.get(True, []))
        if False not in s or True not in s:
            assert not row.reached and math.isnan(row.corrected_epoch) and math.isnan(row.epoch_reduction_pct)
            assert row.note == ("no corrected runs" if True not in s else "no baseline runs")
            continue
        b, c = mean(s[False], acc), mean(s[True], acc)
        b_epoch = int(np.argmax(b)) + 1
        assert row.baseline_best == pytest.approx(b.max(), abs=1e-12) and row.baseline_epoch == b_epoch
        hits = np.flatnonzero(c >= b.max() - 1e-9)
        if len(hits):
            c_epoch = int(hits[0]) + 1
            assert row.reached and row.corrected_epoch == c_epoch
            assert row.epoch_reduction_pct == pytest.approx(100 * (1 - c_epoch / b_epoch))
            b_flops, c_flops = mean(s[False], "train_flops")[b_epoch - 1], mean(s[True], "train_flops")[c_epoch - 1]
            assert row.flops_reduction_pct == pytest.approx(100 * (1 - c_flops / b_flops))
            b_sec, c_sec = mean(s[False], "seconds")[b_epoch - 1], mean(s[True], "seconds")[c_epoch - 1]
            assert row.seconds_reduction_pct == pytest.approx(100 * (1 - c_sec / b_sec))
        else:
            assert not row.reached and math.isnan(row.corrected_epoch) and math.isnan(row.epoch_reduction_pct)
            assert row.note.startswith("never reached")
    return got

def check_pngs(out_dir):
    for name in PNGS:
        img = mpimg.imread(out_dir / name)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, (name, img.shape)
        assert img[..., :3].std() > 0, f"{name} is blank"

def test_figures_on_demo_runs(demo_runs, tmp_path):
    out = tmp_path / "figs"
    figures(demo_runs, out, tmp_path / "figures.ipynb")
    errors, text = outputs(tmp_path / "figures.ipynb")
    assert errors == []
    check_pngs(out)
    res = check_results_csv(out / "results.csv", demo_runs)
    assert len(res) == 2 * len(DEMO_DENSITIES) and res.n_seeds.sum() == 2 * len(DEMO_DENSITIES)
    assert res[res.correction].gain.notna().all()
    e2a = check_epochs_csv(out / "epochs_to_accuracy.csv", demo_runs)
    assert sorted(e2a.density) == sorted(DEMO_DENSITIES)
    md = (out / "results.md").read_text()
    assert md.count("| digits | wrn-10-1 | rigl | erk |") == 2 * len(DEMO_DENSITIES)
    assert pd.read_csv(out / "incomplete_runs.csv").empty and "no incomplete runs" in text
    assert "digits (scikit-learn 8×8) demo · wrn-10-1" in text and "CIFAR" not in text   # the source, named honestly
    assert not (demo_runs / "figures").exists()                                              # out_dir was honoured

def test_incomplete_run_is_listed_and_left_out(demo_runs, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(demo_runs, runs, ignore=shutil.ignore_patterns("checkpoint.pt", "*.ipynb"))
    failed = runs / "digits" / "rigl-erk-agc" / f"density{DEMO_DENSITIES[-1]}" / "seed0"
    final = read_json(failed / "final.json")
    (failed / "final.json").write_text(json.dumps({**final, "status": "failed", "error": "RuntimeError: out of memory"}))
    out = tmp_path / "figs"
    figures(runs, out, tmp_path / "figures.ipynb")
    errors, text = outputs(tmp_path / "figures.ipynb")
    assert errors == []
    assert f"INCOMPLETE {failed}" in text and "RuntimeError: out of memory" in text
    inc = pd.read_csv(out / "incomplete_runs.csv")
    assert inc.run_dir.tolist() == [str(failed)] and inc.status.tolist() == ["failed"]
    res = check_results_csv(out / "results.csv", runs)                     # the recomputation skips it too
    assert res.n_seeds.sum() == 2 * len(DEMO_DENSITIES) - 1
    assert not ((res.density == DEMO_DENSITIES[-1]) & res.correction).any()
    assert f"density {DEMO_DENSITIES[-1]:g} · 3 epochs: no corrected runs" in text   # said, not hidden
    e2a = check_epochs_csv(out / "epochs_to_accuracy.csv", runs)
    assert e2a.set_index("density").loc[DEMO_DENSITIES[-1], "note"] == "no corrected runs"
    check_pngs(out)                                                          # still drawn from what is there

def test_only_one_baseline_run(demo_runs, tmp_path):
    runs = tmp_path / "runs"
    src = demo_runs / "digits" / "rigl-erk-base" / f"density{DEMO_DENSITIES[0]}" / "seed0"
    shutil.copytree(src, runs / src.relative_to(demo_runs), ignore=shutil.ignore_patterns("checkpoint.pt", "*.ipynb"))
    figures(runs, runs / "figures", tmp_path / "figures.ipynb")             # out_dir given explicitly as the default
    errors, text = outputs(tmp_path / "figures.ipynb")
    assert errors == []
    check_pngs(runs / "figures")
    res = check_results_csv(runs / "figures" / "results.csv", runs)
    assert len(res) == 1 and res.gain.isna().all() and math.isnan(res.test_acc_sd.iloc[0])
    assert "no corrected runs" in text and "1 seed per curve" in text
    check_epochs_csv(runs / "figures" / "epochs_to_accuracy.csv", runs)

def test_empty_runs_dir_fails_with_a_clear_message(tmp_path):
    (tmp_path / "runs").mkdir()
    r = figures(tmp_path / "runs", tmp_path / "figs", tmp_path / "figures.ipynb", check=False)
    assert r.returncode != 0
    assert f"no runs under {tmp_path / 'runs'}" in r.stdout and "make demo" in r.stdout
    errors, _ = outputs(tmp_path / "figures.ipynb")
    assert len(errors) == 1 and errors[0]["ename"] == "ValueError"
