"""A run killed with SIGKILL mid-training resumes to the same metrics; W&B logs offline without an account."""
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pandas as pd, pytest
from balance_sparse.train import METRIC_COLUMNS

SCRIPT = textwrap.dedent("""
    import sys, torch
    from balance_sparse import fit, wrn
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (384, 3, 16, 16), generator=g, dtype=torch.uint8)
    y = (x.float().mean((1, 2, 3)) > 127.5).long()
    torch.manual_seed(0)
    fit(wrn(10, 1, num_classes=2, dropout=0.3), (x, y), (x[:64], y[:64]), epochs=int(sys.argv[2]), batch_size=32,
        interval=5, density=0.3, run_dir=sys.argv[1], progress=False, wandb=len(sys.argv) > 3)
""")

def train(tmp_path, run_dir, epochs, *extra, env=None):
    script = tmp_path / "train_tiny.py"; script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(run_dir), str(epochs), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})

def rows(run_dir):
    p = Path(run_dir) / "metrics.csv"
    return len(pd.read_csv(p)) if p.exists() and p.stat().st_size else 0

def test_sigkill_mid_run_then_resume_matches_uninterrupted(tmp_path):
    epochs = 5
    full = train(tmp_path, tmp_path / "full", epochs); out, _ = full.communicate(timeout=600)
    assert full.returncode == 0, out
    killed = tmp_path / "killed"
    p = train(tmp_path, killed, epochs)
    deadline = time.time() + 600
    while rows(killed) < 2 and p.poll() is None and time.time() < deadline: time.sleep(0.05)
    time.sleep(0.3)                                                    # somewhere inside epoch 3 (or its checkpoint)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL, "the run finished before it could be killed: make it longer"
    assert not (killed / "final.json").exists() and 2 <= rows(killed) < epochs
    resumed = train(tmp_path, killed, epochs); out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    final = pd.read_json(killed / "final.json", typ="series")
    assert final["status"] == "complete" and final["started_at_epoch"] >= 2      # resumed from a checkpoint, not retrained
    same = [c for c in METRIC_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(pd.read_csv(killed / "metrics.csv")[same], pd.read_csv(tmp_path / "full" / "metrics.csv")[same])

def test_wandb_offline_logs_locally(tmp_path):
    env = {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_CONFIG_DIR": str(tmp_path), "WANDB_SILENT": "true"}
    p = train(tmp_path, tmp_path / "run", 1, "wandb", env=env); out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))             # W&B files live with the run
    assert len(runs) == 1 and list(runs[0].glob("*.wandb")), list((tmp_path / "run").rglob("*"))
