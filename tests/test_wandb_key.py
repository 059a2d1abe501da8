"""make with WANDB=1: a real run (one epoch of the demo, W&B offline) with its API key in wandb_api.key; the key reaches
the run through its environment only, and no file the run leaves behind holds it."""

import json, os, re, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "0123abcd" * 5  # 40 hex characters, as a W&B API key; offline, W&B never sends it


def test_wandb_run_keeps_its_key_out_of_every_file(tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (work / "nbs").symlink_to(ROOT / "nbs")
    (work / "wandb_api.key").write_text(FAKE_KEY + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB") and k != "PYTEST_CURRENT_TEST"}
    env |= {"HOME": str(home), "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}  # HOME: W&B's settings, no netrc
    make = ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), f"VENV={ROOT / '.venv'}"]
    goal = ["demo", "EPOCHS=1", "DENSITY=0.2", "WANDB=1", "DEVICE=cpu"]
    dry = subprocess.run(make + ["-n", *goal], cwd=work, env=env, capture_output=True, text=True)
    runs = [re.search(r"-p run_dir (\S+)", l).group(1) for l in dry.stdout.splitlines() if l.startswith("if grep")]
    assert len(runs) == 2 and all("-e1/" in r for r in runs), dry.stdout + dry.stderr
    base, corrected = (work / r for r in runs)
    base.mkdir(parents=True)  # the baseline marked complete: make skips it, and one run trains
    (base / "final.json").write_text(json.dumps({"status": "complete"}, indent=2))

    r = subprocess.run(make + goal, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert json.loads((corrected / "final.json").read_text())["status"] == "complete"
    command = next(l for l in r.stdout.splitlines() if "papermill" in l and str(corrected.relative_to(work)) in l)
    assert "-p wandb True -p device cpu" in command and FAKE_KEY not in out
    assert list((corrected / "wandb").glob("offline-run-*")), "W&B logged nothing (offline)"
    files = [f for f in work.rglob("*") if f.is_file() and "nbs" not in f.relative_to(work).parts[:1]]
    assert any(f.suffix == ".wandb" for f in files) and corrected / "train.ipynb" in files
    holding = [str(f.relative_to(work)) for f in files if FAKE_KEY.encode() in f.read_bytes()]
    assert holding == ["wandb_api.key"], holding  # config.json, the executed notebook, W&B's files: none has it
