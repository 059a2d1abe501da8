"""One run on N processes (torchrun, gloo on this CPU) is the one-process run: 2 ranks × batch 16 against 1 process ×
batch 32, float64, 2 epochs of RigL with mask updates and the correction (no augmentation, no dropout, BatchNorm
synchronised). Tolerance 1e-9 relative: the ranks sum the same numbers in another order, nothing else differs."""
import json, os, subprocess, sys
from pathlib import Path
import pandas as pd, pytest, torch

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("dist_worker.py")
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]   # = torchrun
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
SAME = ["epoch", "step", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "tau", "tau_curr", "density", "train_flops"]

def one(out, run_dir, *extra, env=None):
    return subprocess.run([sys.executable, str(WORKER), str(out), str(run_dir), *map(str, extra)], capture_output=True, text=True, env=env or ENV, cwd=ROOT)

def two(out, run_dir, *extra, env=None):
    "2 ranks under torchrun; started again (at most twice) when it ended before training began: torchrun's standalone rendezvous can lose its free port to another process."
    for attempt in range(3):
        r = subprocess.run(TORCHRUN + [str(WORKER), str(out), str(run_dir), *map(str, extra)], capture_output=True, text=True, env=env or ENV, cwd=ROOT)
        if r.returncode == 0 or (Path(run_dir) / "config.json").exists(): return r
    return r

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    a, b = one(tmp / "one.pt", tmp / "one"), two(tmp / "two.pt", tmp / "two")
    assert a.returncode == 0, a.stdout + a.stderr
    assert b.returncode == 0, b.stdout + b.stderr
    return torch.load(tmp / "one.pt", weights_only=False), torch.load(tmp / "two.pt", weights_only=False), tmp

def test_two_ranks_are_one_process(runs):
    a, b, tmp = runs
    assert len(b["same_masks"]) == 8 and all(b["same_masks"])                      # identical masks on both ranks, every step
    pd.testing.assert_frame_equal(b["metrics"][SAME], a["metrics"][SAME], check_exact=False, rtol=1e-9, atol=1e-12)
    assert a["metrics"].density.iloc[-1] < 0.35                                      # masked; 2 RigL updates happened (steps 2, 4)
    for k, v in a["model"].items():
        torch.testing.assert_close(b["model"][k], v, rtol=1e-9, atol=1e-12, msg=k)   # weights and BatchNorm statistics
    assert all(torch.equal(b["masks"][k], m) for k, m in a["masks"].items())
    for x, y in zip(b["correction"]["mean_grad"], a["correction"]["mean_grad"]): torch.testing.assert_close(x, y, rtol=1e-9, atol=1e-12)
    assert b["correction"]["tau"] == pytest.approx(a["correction"]["tau"], rel=1e-9)
    cfg = json.loads((tmp / "two" / "config.json").read_text())
    assert cfg["world_size"] == 2 and json.loads((tmp / "one" / "config.json").read_text())["world_size"] == 1

def test_kill_and_resume_under_torchrun(runs, tmp_path):
    _, b, _ = runs
    first = two(tmp_path / "x.pt", tmp_path / "run", 5)                               # stops mid-epoch 2 (a session end)
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads((tmp_path / "run" / "final.json").read_text())["status"] == "stopped"
    again = two(tmp_path / "r.pt", tmp_path / "run")
    assert again.returncode == 0, again.stdout + again.stderr
    pd.testing.assert_frame_equal(torch.load(tmp_path / "r.pt", weights_only=False)["metrics"][SAME], b["metrics"][SAME])

def test_a_failing_rank_fails_the_run_and_keeps_the_checkpoint(tmp_path):
    r = two(tmp_path / "x.pt", tmp_path / "run", env={**ENV, "FAIL_AT_STEP": "6"})  # rank 1 raises in epoch 2
    assert r.returncode != 0
    final = json.loads((tmp_path / "run" / "final.json").read_text())
    assert final["status"] == "failed" and final["epochs_done"] == 1, final
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["epoch"] == 1

def test_launcher_refuses_a_bad_parameter_on_every_rank():
    r = subprocess.run(TORCHRUN + ["-m", "balance_sparse.launch", "preset=demo", "densty=0.1"], capture_output=True, text=True, env=ENV, cwd=ROOT)
    assert r.returncode != 0 and "unknown setting(s) 'densty' (did you mean 'density'?)" in r.stdout + r.stderr
