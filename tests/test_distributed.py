"""One run on N processes (torchrun, gloo on this CPU) is the one-process run, in float64, over 2 epochs of RigL with
mask updates and the correction (no augmentation, no dropout, BatchNorm synchronised). The sizes are awkward on
purpose: 139 training images in batches of 32 (a last batch of 11) on 2 ranks; 130 (a last batch of 2: one of 3
ranks gets an empty slice) on 3 ranks, where also every full batch splits 11/11/10; validation 37 and test 29
images. Tolerance 1e-9 relative: the ranks sum the same numbers in another order, nothing else differs."""

import json, os, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import pandas as pd, pytest, torch
from balance_sparse.train import METRIC_COLUMNS, WALL_CLOCK

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("dist_worker.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
SAME = [c for c in METRIC_COLUMNS if c not in WALL_CLOCK]  # every metric but the wall clock
CASES = {  # name: (processes, the worker's environment)
    "lagged2": (2, {"SIZES": "139,37,29"}),  # lagged τ, an independent statistics draw
    "replay3": (3, {"SIZES": "130,37,29", "PAIRING": "current", "MODE": "replay"}),  # τ from the steps, replayed
    "table2": (2, {"SIZES": "139,37,29", "MODE": "table", "EPOCHS": "3", "INTERVAL": "3"}),  # 03a_table
}


def torchrun(n):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(n)]


def one(out, run_dir, *extra, env=None):
    return subprocess.run(
        [sys.executable, str(WORKER), str(out), str(run_dir), *map(str, extra)],
        capture_output=True,
        text=True,
        env=env or ENV,
        cwd=ROOT,
    )


def many(out, run_dir, *extra, env=None, n=2):
    """n ranks under torchrun; started again (at most twice) when it ended before training began: torchrun's standalone
    rendezvous can lose its free port to another process."""
    for attempt in range(3):
        r = subprocess.run(
            torchrun(n) + [str(WORKER), str(out), str(run_dir), *map(str, extra)],
            capture_output=True,
            text=True,
            env=env or ENV,
            cwd=ROOT,
        )
        if r.returncode == 0 or (Path(run_dir) / "config.json").exists():
            return r
    return r


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    "For each case: (one process, n ranks, folder)."
    tmp, out = tmp_path_factory.mktemp("dist"), {}
    for name, (n, case) in CASES.items():
        env = {**ENV, **case}
        with ThreadPoolExecutor(2) as pool:  # the one-process run beside the ranks: folders of their own
            a = pool.submit(one, tmp / f"one-{name}.pt", tmp / f"one-{name}", env=env)
            b = pool.submit(many, tmp / f"many-{name}.pt", tmp / f"many-{name}", env=env, n=n)
            a, b = a.result(), b.result()
        assert a.returncode == 0, a.stdout + a.stderr
        assert b.returncode == 0, b.stdout + b.stderr
        out[name] = [torch.load(tmp / f"{k}-{name}.pt", weights_only=False) for k in ("one", "many")] + [tmp]
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_n_ranks_are_one_process(runs, name):
    a, b, tmp = runs[name]
    n, case = CASES[name]
    steps = int(a["metrics"].step.iloc[-1])
    assert steps == 5 * int(case.get("EPOCHS", 2)) and len(b["same_masks"]) == steps and all(b["same_masks"])
    # identical masks on every rank, every step
    pd.testing.assert_frame_equal(b["metrics"][SAME], a["metrics"][SAME], check_exact=False, rtol=1e-9, atol=1e-12)
    assert a["metrics"].density.iloc[-1] < 0.35  # masked; RigL updates happened (steps 2, 4, 6; table: 3, 6, 9)
    for k, v in a["model"].items():
        torch.testing.assert_close(b["model"][k], v, rtol=1e-9, atol=1e-12, msg=k)  # weights and BatchNorm statistics
    assert all(torch.equal(b["masks"][k], m) for k, m in a["masks"].items())
    torch.testing.assert_close(b["correction"]["mean_grad"], a["correction"]["mean_grad"], rtol=1e-9, atol=1e-12)  # ū
    assert b["correction"]["tau"] == pytest.approx(a["correction"]["tau"], rel=1e-9)
    if case.get("MODE") == "table":  # the same table on every rank, full, and it corrected
        torch.testing.assert_close(b["correction"]["table"], a["correction"]["table"], rtol=1e-9, atol=1e-12)
        assert a["correction"]["filled"].all() and (a["metrics"].tau_curr.notna()).sum() >= 1
    cfg = json.loads((tmp / f"many-{name}" / "config.json").read_text())
    assert cfg["world_size"] == n and json.loads((tmp / f"one-{name}" / "config.json").read_text())["world_size"] == 1
    assert (cfg["n_train"], cfg["n_val"], cfg["n_test"]) == tuple(map(int, case["SIZES"].split(",")))


def test_kill_and_resume_under_torchrun(runs, tmp_path):
    _, b, _ = runs["lagged2"]
    first = many(tmp_path / "x.pt", tmp_path / "run", 7)  # stops mid-epoch 2 (a session end)
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads((tmp_path / "run" / "final.json").read_text())["status"] == "stopped"
    again = many(tmp_path / "r.pt", tmp_path / "run")
    assert again.returncode == 0, again.stdout + again.stderr
    pd.testing.assert_frame_equal(
        torch.load(tmp_path / "r.pt", weights_only=False)["metrics"][SAME], b["metrics"][SAME]
    )


def test_a_failing_rank_fails_the_run_and_keeps_the_checkpoint(tmp_path):
    r = many(tmp_path / "x.pt", tmp_path / "run", env={**ENV, "FAIL_AT_STEP": "6"})  # rank 1 raises in epoch 2
    assert r.returncode != 0
    final = json.loads((tmp_path / "run" / "final.json").read_text())
    assert final["status"] == "failed" and final["epochs_done"] == 1, final
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["epoch"] == 1


def test_launcher_refuses_a_bad_parameter_on_every_rank():
    r = subprocess.run(
        torchrun(2) + ["-m", "balance_sparse.launch", "preset=demo", "densty=0.1"],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
    )
    assert r.returncode != 0 and "unknown setting(s) 'densty' (did you mean 'density'?)" in r.stdout + r.stderr
