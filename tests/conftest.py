"""Shared fixtures: real runs of nbs/train.ipynb (quick demo preset on scikit-learn's digits), built once per session."""

import json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAIN_NB = ROOT / "nbs" / "train.ipynb"
PAPERMILL = [sys.executable, "-m", "papermill", "--cwd", str(ROOT), "--kernel", "python3"]


def papermill(out_nb, *params, check=True):
    "Execute nbs/train.ipynb with `-p` pairs; returns the CompletedProcess (stdout+stderr in .stdout)."
    args = [a for k, v in zip(params[::2], params[1::2]) for a in ("-p", str(k), str(v))]
    r = subprocess.run(
        PAPERMILL + [str(TRAIN_NB), str(out_nb), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    r.stdout = r.stdout + r.stderr
    if check and r.returncode != 0:
        raise AssertionError(f"papermill failed ({r.returncode}):\n{r.stdout[-4000:]}")
    return r


DEMO_DENSITIES = (0.2, 0.5)
DEMO_EPOCHS = 3


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory):
    """runs/ tree with digits demo runs: 2 densities x {baseline, corrected}, seed 0, DEMO_EPOCHS epochs each."""
    runs = tmp_path_factory.mktemp("runs")
    for density in DEMO_DENSITIES:
        for correction in (False, True):
            run_dir = runs / "digits" / f"rigl-erk-{'agc' if correction else 'base'}" / f"density{density}" / "seed0"
            run_dir.mkdir(parents=True)
            papermill(
                run_dir / "train.ipynb",
                "preset",
                "demo",
                "epochs",
                DEMO_EPOCHS,
                "density",
                density,
                "correction",
                correction,
                "run_dir",
                run_dir,
            )
    return runs


def read_json(p):
    return json.loads(Path(p).read_text())


def quadrant_data(n, seed, size=16):
    "n uint8 images whose label (0..3) is the brightest quadrant: learnable in a few steps (a fixture, not data to learn from)."
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 120, (n, 3, size, size), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 4, (n,), generator=g)
    h = size // 2
    for i, q in enumerate(y.tolist()):
        x[i, :, (q // 2) * h : (q // 2) * h + h, (q % 2) * h : (q % 2) * h + h] += 120
    return x, y
