"""A run killed with SIGKILL mid-training resumes to the same metrics; W&B logs offline without an account."""

import os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pandas as pd, pytest
from balance_sparse.train import METRIC_COLUMNS, WALL_CLOCK
from conftest import ctrl_c_default

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
    script = tmp_path / "train_tiny.py"
    script.write_text(SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script), str(run_dir), str(epochs), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=ctrl_c_default,  # Ctrl-C reaches it as in a terminal
    )


def rows(run_dir):
    p = Path(run_dir) / "metrics.csv"
    return len(pd.read_csv(p)) if p.exists() and p.stat().st_size else 0


def test_sigkill_mid_run_then_resume_matches_uninterrupted(tmp_path):
    epochs = 5
    full = train(tmp_path, tmp_path / "full", epochs)
    out, _ = full.communicate(timeout=600)
    assert full.returncode == 0, out
    killed = tmp_path / "killed"
    p = train(tmp_path, killed, epochs)
    deadline = time.time() + 600
    while rows(killed) < 2 and p.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # somewhere inside epoch 3 (or its checkpoint)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL, "the run finished before it could be killed: make it longer"
    assert not (killed / "final.json").exists() and 2 <= rows(killed) < epochs
    resumed = train(tmp_path, killed, epochs)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    final = pd.read_json(killed / "final.json", typ="series")
    assert final["status"] == "complete" and final["started_at_epoch"] >= 2  # resumed from a checkpoint, not retrained
    same = [c for c in METRIC_COLUMNS if c not in WALL_CLOCK]
    pd.testing.assert_frame_equal(
        pd.read_csv(killed / "metrics.csv")[same], pd.read_csv(tmp_path / "full" / "metrics.csv")[same]
    )


def test_wandb_offline_logs_locally(tmp_path):
    env = {
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tmp_path),
        "WANDB_CONFIG_DIR": str(tmp_path),
        "WANDB_SILENT": "true",
    }
    p = train(tmp_path, tmp_path / "run", 1, "wandb", env=env)
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))  # W&B files live with the run
    assert len(runs) == 1 and list(runs[0].glob("*.wandb")), list((tmp_path / "run").rglob("*"))


def wait_rows(p, run_dir, n, timeout=600):
    deadline = time.time() + timeout
    while rows(run_dir) < n and p.poll() is None and time.time() < deadline:
        time.sleep(0.05)


def test_one_writer_per_folder_and_a_killed_holder_does_not_block_the_resume(tmp_path):
    run_dir, epochs = tmp_path / "run", 4
    a = train(tmp_path, run_dir, epochs)
    wait_rows(a, run_dir, 1)
    assert a.poll() is None, "the first run ended before a second could start: make it longer"
    # paused (it keeps its lock) while the second starts: that takes seconds of imports, as long as a whole quiet run
    a.send_signal(signal.SIGSTOP)
    config = (run_dir / "config.json").read_text()
    b = train(tmp_path, run_dir, epochs)
    out, _ = b.communicate(timeout=120)  # the same run, started twice
    assert b.returncode != 0
    last = out.strip().splitlines()[-1]
    assert f"{run_dir} is being trained by pid {a.pid} on " in last and " since 20" in last and "one writer" in last, (
        out
    )
    assert (run_dir / "config.json").read_text() == config  # the second wrote nothing
    a.send_signal(signal.SIGCONT)
    assert a.poll() is None  # and the first trains on
    a.send_signal(signal.SIGKILL)
    a.wait()  # its lock dies with it
    c = train(tmp_path, run_dir, epochs)
    out, _ = c.communicate(timeout=600)
    assert c.returncode == 0, out
    final = pd.read_json(run_dir / "final.json", typ="series")
    assert final["status"] == "complete" and final["started_at_epoch"] >= 1 and final["epochs_done"] == epochs


def test_ctrl_c_is_stopped_everywhere(tmp_path):
    from balance_sparse.runs import RunFolder

    run_dir = tmp_path / "run"
    p = train(tmp_path, run_dir, 50)
    wait_rows(p, run_dir, 1)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=120)
    assert p.returncode != 0 and "KeyboardInterrupt" in out, out
    final = pd.read_json(run_dir / "final.json", typ="series")
    assert final["status"] == "stopped" and final["message"].startswith("interrupted (Ctrl-C)"), final
    assert RunFolder(run_dir).state()[0] == "stopped" and not (run_dir / "running.json").exists()


def test_a_full_disk_ends_with_one_line_and_the_run_resumes_exactly(tmp_path, monkeypatch):
    import errno, torch
    from balance_sparse import fit, wrn
    import balance_sparse.runs as runs
    import balance_sparse.files as files

    x = torch.randint(0, 256, (75, 3, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    y = (x.float().mean((1, 2, 3)) > 127.5).long()
    kw = dict(epochs=3, batch_size=16, interval=2, density=0.3, progress=False, device="cpu", correction=True)

    def net():
        torch.manual_seed(0)
        return wrn(10, 1, num_classes=2, dropout=0.0).double()

    full = fit(net(), (x, y), (x[:20], y[:20]), run_dir=tmp_path / "full", **kw)
    save, atomic_write, saves = torch.save, runs.atomic_write, []

    def full_disk(*args, **kw):
        saves.append(1)
        if len(saves) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")  # from the epoch-2 checkpoint on
        return save(*args, **kw)

    def no_new_files(path, write):
        if len(saves) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return atomic_write(path, write)

    monkeypatch.setattr(runs.torch, "save", full_disk)
    monkeypatch.setattr(runs, "atomic_write", no_new_files)
    monkeypatch.setattr(files, "atomic_write", no_new_files)  # write_json's
    run_dir = tmp_path / "run"
    with pytest.raises(runs.RunWriteError) as e:
        fit(net(), (x, y), (x[:20], y[:20]), run_dir=run_dir, **kw)
    msg = str(e.value)
    assert "\n" not in msg and e.value.__suppress_context__ and e.value.__cause__ is None, msg  # one line, no chain
    for part in (
        f"{run_dir}: could not write checkpoint.pt (No space left on device)",
        "checkpoint.pt (epoch 1)",
        "run the same command again to resume",
    ):
        assert part in msg, msg
    final = pd.read_json(run_dir / "final.json", typ="series")  # recorded without a new file
    assert final["status"] == "failed" and not (run_dir / "running.json").exists() and rows(run_dir) == 1
    assert final["epochs_done"] == 1 and final["step"] == 5  # what was kept, not what was trained
    monkeypatch.undo()  # space freed
    resumed = fit(net(), (x, y), (x[:20], y[:20]), run_dir=run_dir, **kw)
    assert resumed.attrs["status"] == full.attrs["status"] == "complete"
    same = [c for c in METRIC_COLUMNS if c not in WALL_CLOCK]
    pd.testing.assert_frame_equal(resumed[same], full[same])
    assert pd.read_json(run_dir / "final.json", typ="series")["started_at_epoch"] == 1
