"""Shared fixtures: real runs of nbs/train.ipynb (quick demo preset on scikit-learn's digits), built once per pytest
run (also under pytest-xdist); the `slow` marker: skipped unless RUN_SLOW is set (`make test-slow`)."""

import fcntl, json, os, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import pytest

# One thread per process: the nets here are tiny, and on a busy 2-core machine (or under two pytest-xdist workers)
# more threads made the same runs 5-40 times slower. Set before torch is imported; subprocesses (papermill kernels,
# make, torchrun) inherit it. A value given in the environment wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

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
        env={k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"} | {"PYTHONUNBUFFERED": "1"},
    )  # without pytest's marker, whose presence changes how ipykernel captures output: the kernel a user gets
    r.stdout = r.stdout + r.stderr
    if check and r.returncode != 0:
        raise AssertionError(f"papermill failed ({r.returncode}):\n{r.stdout[-4000:]}")
    return r


DEMO_DENSITIES = (0.2, 0.5)
DEMO_EPOCHS = 3


def papermill_all(jobs, at_once=2):
    "papermill(*job) for every job, `at_once` at a time (the runs are independent; one thread each)."
    with ThreadPoolExecutor(at_once) as pool:
        return list(pool.map(lambda job: papermill(*job), jobs))


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory):
    """runs/ tree with digits demo runs: 2 densities x {baseline, corrected}, seed 0, DEMO_EPOCHS epochs each.

    Built once per pytest run: under pytest-xdist the first worker that asks builds it in the run's shared temporary
    folder, and the others wait for it there and read it (the tests change only copies of it)."""
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    shared = shared or tmp_path_factory.mktemp("shared")
    runs = shared / "demo_runs"
    with open(shared / "demo_runs.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not (shared / "demo_runs.done").exists():
            shutil.rmtree(runs, ignore_errors=True)  # what a failed build left
            _build_demo_runs(runs)
            (shared / "demo_runs.done").touch()
    return runs


def _build_demo_runs(runs):
    jobs = []
    for density in DEMO_DENSITIES:
        for correction in (False, True):
            run_dir = runs / "digits" / f"rigl-erk-{'agc' if correction else 'base'}" / f"density{density}" / "seed0"
            run_dir.mkdir(parents=True)
            jobs.append(
                (
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
            )
    for job, r in zip(jobs, papermill_all(jobs)):  # what each papermill command printed to its terminal
        (job[0].parent / "terminal.log").write_text(r.stdout)


def read_json(p):
    return json.loads(Path(p).read_text())


def quadrant_data(n, seed, size=16):
    """n uint8 images whose label (0..3) is the brightest quadrant: learnable in a few steps (a fixture, not data to
    learn from)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 120, (n, 3, size, size), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 4, (n,), generator=g)
    h = size // 2
    for i, q in enumerate(y.tolist()):
        x[i, :, (q // 2) * h : (q // 2) * h + h, (q % 2) * h : (q % 2) * h + h] += 120
    return x, y


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long; skipped unless RUN_SLOW is set (make test-slow)")


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("RUN_SLOW"):
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="slow: make test-slow runs it (RUN_SLOW=1)"))


def ctrl_c_default():
    """`preexec_fn` of a child that a test sends SIGINT, as a terminal's Ctrl-C: SIGINT at its default, so that Python
    raises KeyboardInterrupt in it, even when whatever started pytest ignored SIGINT (a shell's `cmd &` does)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
