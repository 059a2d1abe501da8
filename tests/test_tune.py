"""The (α, ΔT) search (balance_sparse.tune, nbs/tune.ipynb): resuming after a kill, two workers on one SQLite study, the
objective recomputed from the run folders, the test split never used, and misspelled parameters. CPU, digits, wrn-10-1,
one epoch per run."""

import csv, json, math, os, signal, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
optuna = pytest.importorskip("optuna")
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
VARIANT = Path("digits") / "tune" / "rigl-erk-base-e1" / "density0.2"  # 1 epoch, not the demo preset's 10: -e1


def worker_args(runs, n_trials, seeds="0,1", **extra):
    kw = dict(
        preset="demo",
        epochs=1,
        correction="no",
        seeds=seeds,
        n_trials=n_trials,
        runs_dir=runs,
        device="cpu",
        progress="no",
        **extra,
    )
    return [sys.executable, "-m", "balance_sparse.tune", *[f"{k}={v}" for k, v in kw.items()]]


def load(runs):
    return optuna.load_study(
        study_name="digits/rigl-erk-base-e1/density0.2", storage=f"sqlite:///{runs}/digits/tune/tune.db"
    )


def states(study):
    return [t.state.name for t in study.get_trials()]


def folder(runs, t, seed):
    "A trial's run folder, named here from its parameters (not from what the trial recorded)."
    return Path(runs) / VARIANT / f"a{t.params['prune_rate']:.4f}-dt{t.params['interval']}" / f"seed{seed}"


def best_val(run_dir):
    with open(Path(run_dir) / "metrics.csv") as f:
        return max(float(r["val_acc"]) for r in csv.DictReader(f))


def test_kill_mid_trial_and_resume(tmp_path):
    runs = tmp_path / "runs"
    p = subprocess.Popen(
        worker_args(runs, 4, sampler_seed=0),
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    killed, deadline = None, time.time() + 300
    while time.time() < deadline and p.poll() is None:  # kill once trial 2's second run (seed 1) has started
        time.sleep(0.2)
        try:
            trials = load(runs).get_trials()
        except Exception:
            continue
        running = [t for t in trials if t.state.name == "RUNNING" and len(t.user_attrs.get("run_dirs", [])) == 2]
        # one snapshot for both: trial 1's seed 1 run could end between two reads, and trial 2 would not have started
        if [t.state.name for t in trials].count("COMPLETE") >= 2 and running:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            killed = running[0]
            break
    assert killed is not None, f"the worker never reached trial 2's second run: {p.communicate()[0][-3000:]}"
    before = load(runs).get_trials()
    done_before = {t.number: t.datetime_complete for t in before if t.state.name == "COMPLETE"}
    assert len(done_before) == 2 and killed.state.name == "RUNNING"
    finals = {
        f: f.stat().st_mtime_ns for f in runs.rglob("final.json")
    }  # every run finished before the kill (trial 2's seed 0 too)
    assert len(finals) == 5
    r = subprocess.run(worker_args(runs, 4, sampler_seed=0), cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    after = load(runs).get_trials()
    complete = [t for t in after if t.state.name == "COMPLETE"]
    assert len(complete) == 4 and "RUNNING" not in states(load(runs))
    for n, when in done_before.items():
        assert after[n].state.name == "COMPLETE" and after[n].datetime_complete == when  # not re-run
    assert after[killed.number].state.name == "FAIL"
    retry = [t for t in complete if t.number > killed.number and t.params == killed.params]
    assert len(retry) == 1, "the killed trial is run again with the same (α, ΔT)"
    for f, mtime in finals.items():
        assert f.stat().st_mtime_ns == mtime, f"{f} was trained again"
    assert len({(t.params["prune_rate"], t.params["interval"]) for t in complete}) == len(complete)


def test_two_workers_share_one_study(tmp_path):
    runs, n = tmp_path / "runs", 3
    ps = [
        subprocess.Popen(
            worker_args(runs, n, seeds="0"),
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600)[0] for p in ps]
    assert all(p.returncode == 0 for p in ps), "\n".join(o[-3000:] for o in outs)
    trials = load(runs).get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == n, [(t.number, t.state.name, t.user_attrs) for t in trials]
    assert len({t.number for t in complete}) == n and "RUNNING" not in states(load(runs))
    assert all(
        t.user_attrs.get("surplus") or t.user_attrs.get("duplicate_of") is not None
        for t in trials
        if t.state.name == "FAIL"
    )
    for t in complete:
        assert (folder(runs, t, 0) / "final.json").exists()


def test_objective_is_mean_best_val_and_no_test_split(tmp_path, monkeypatch):
    import torch, balance_sparse.tune as tune

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers (OMP_NUM_THREADS=1): fast on a shared CPU
    try:
        _objective_and_test_split(tmp_path, monkeypatch, tune)
    finally:
        torch.set_num_threads(threads)


def _objective_and_test_split(tmp_path, monkeypatch, tune):
    import balance_sparse.driver as driver  # a trial's runs go through driver.train_run

    seen, fit = [], driver.fit

    def spy(model, train, test=None, **kw):
        seen.append(test)
        return fit(model, train, test, **kw)

    monkeypatch.setattr(driver, "fit", spy)
    load_run_data = driver.load_run_data

    class Poison:  # any use of the test split fails loudly
        def __getattr__(self, name):
            raise AssertionError("a trial read the test split")

        def __getitem__(self, i):
            raise AssertionError("a trial read the test split")

        def __iter__(self):
            raise AssertionError("a trial read the test split")

        def __len__(self):
            raise AssertionError("a trial read the test split")

    def poisoned(*a, **kw):
        import dataclasses

        splits, mean, std = load_run_data(*a, **kw)
        return dataclasses.replace(splits, test=Poison()), mean, std

    monkeypatch.setattr(driver, "load_run_data", poisoned)
    runs = tmp_path / "runs"
    study = tune.tune(
        preset="demo",
        epochs=1,
        correction="no",
        seeds="0,1",
        n_trials=2,
        runs_dir=runs,
        device="cpu",
        progress=False,
        sampler_seed=1,
    )
    complete = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    assert len(complete) == 2 and len(seen) == 4 and all(t is None for t in seen)
    for t in complete:
        vals = [best_val(folder(runs, t, s)) for s in (0, 1)]
        assert math.isclose(t.value, sum(vals) / 2, rel_tol=0, abs_tol=1e-12)
        for s in (0, 1):
            d = folder(runs, t, s)
            cfg = json.loads((d / "config.json").read_text())
            assert set(cfg["data"]) == {"train", "val"} and "n_test" not in cfg
            with open(d / "metrics.csv") as f:
                assert all(r["test_acc"] in ("", "nan", "NaN") for r in csv.DictReader(f))
            assert (
                cfg["prune_rate"] == t.params["prune_rate"]
                and cfg["interval"] == t.params["interval"]
                and cfg["seed"] == s
            )


def test_misspelled_search_parameter_stops_with_one_line(tmp_path):
    from balance_sparse.tune import tune_parameters

    with pytest.raises(ValueError, match=r"unknown parameter\(s\) 'n_trails' \(did you mean 'n_trials'\?\)"):
        tune_parameters({"n_trails": 4})
    with pytest.raises(ValueError, match="prune_rate cannot be given to a search"):
        tune_parameters({"prune_rate": 0.3})
    r = subprocess.run(
        [sys.executable, "-m", "balance_sparse.tune", "n_trails=4", f"runs_dir={tmp_path}"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "did you mean 'n_trials'?" in r.stderr, r.stderr
    assert not (tmp_path / "digits").exists() and not (tmp_path / "cifar10").exists()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            "--cwd",
            str(ROOT),
            "--kernel",
            "python3",
            str(ROOT / "nbs" / "tune.ipynb"),
            str(tmp_path / "t.ipynb"),
            "-p",
            "n_trails",
            "4",
            "-p",
            "runs_dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert (
        r.returncode != 0
        and "ValueError: unknown parameter(s) 'n_trails' (did you mean 'n_trials'?)" in r.stdout + r.stderr
    )


def test_makefile_targets():
    def n(*args):
        return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True)

    r = n("cifar10_lr_grid", "DENSITY=0.2", "SEED=0")
    cmds = [l for l in r.stdout.splitlines() if l.startswith("if grep")]
    assert len(cmds) == 4 * 4 * 2 * 2 and len(set(cmds)) == len(cmds)
    assert "runs/cifar10/lrgrid/rigl-uniform-agc/density0.2/lr0.005-a0.5-dt750/seed0" in r.stdout
    r = n("cifar10_tune", "DENSITY=0.1,0.2")
    cmds = [l for l in r.stdout.splitlines() if "nbs/tune.ipynb" in l]
    assert len(cmds) == 4 and sum("-p correction True" in c for c in cmds) == 2
    assert "bad" in n("cifar10_lr_grid", "GRID_PAIRS=bad").stderr
