"""The Makefile's run targets: booleans however spelled, values checked before the first run, complete runs skipped."""

import json, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


def make(*args, cwd=ROOT):
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), f"VENV={ROOT / '.venv'}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "value, folder, flag",
    [
        ("False", "rigl-erk-base", "-p correction False"),
        ("no", "rigl-erk-base", "-p correction False"),
        ("OFF", "rigl-erk-base", "-p correction False"),
        ("0", "rigl-erk-base", "-p correction False"),
        ("True", "rigl-erk-agc", "-p correction True"),
        ("yes", "rigl-erk-agc", "-p correction True"),
        ("1", "rigl-erk-agc", "-p correction True"),
    ],
)
def test_correction_spellings(value, folder, flag):
    r = make("-n", "cifar10.ERK.RigL", f"CORRECTION={value}")
    assert r.returncode == 0, r.stderr
    runs = [l for l in r.stdout.splitlines() if "papermill" in l]
    assert len(runs) == 1 and flag in runs[0] and f"runs/cifar10/{folder}/density0.2/seed0" in runs[0]


def test_correction_both_and_bad_spelling():
    r = make("-n", "cifar10.ERK.RigL", "CORRECTION=both")
    assert "rigl-erk-base" in r.stdout and "rigl-erk-agc" in r.stdout
    r = make("-n", "cifar10.ERK.RigL", "CORRECTION=maybe")
    assert (
        r.returncode != 0 and "CORRECTION must be true/false, yes/no, on/off or 1/0 (any case), got 'maybe'" in r.stderr
    )


def test_bad_method_init_and_values():
    r = make("-n", "cifar10.ERK.Prune")
    assert (
        r.returncode != 0
        and "METHOD must be RigL, SET, SNFS, Static, Dense, Pruning, Lottery or Small-Dense, got 'Prune'" in r.stderr
    )
    r = make("-n", "cifar10.Gauss.RigL")
    assert r.returncode != 0 and "INIT must be ERK, ER or Random, got 'Gauss'" in r.stderr
    r = make("cifar10.ERK.RigL", "DENSITY=0.1,abc", "SEED=0,-1")  # really run: stops before any training
    assert r.returncode != 0
    assert "density must be a number in (0, 1], got 'abc'" in r.stderr and "seed must be a whole number" in r.stderr
    assert "papermill" not in r.stdout


def test_complete_runs_are_skipped(tmp_path):
    run = tmp_path / "runs/cifar10/rigl-erk-agc/density0.2/seed0"
    run.mkdir(parents=True)
    (run / "final.json").write_text(json.dumps({"status": "complete"}, indent=2))
    (run / "train.ipynb").write_text("the executed notebook")
    r = make("cifar10.ERK.RigL", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skip runs/cifar10/rigl-erk-agc/density0.2/seed0: complete" in r.stdout
    assert (run / "train.ipynb").read_text() == "the executed notebook"


def test_recipe():
    r = make("-n", "cifar10.ERK.RigL")
    assert "-p recipe authors" in r.stdout and "runs/cifar10/rigl-erk-agc/density0.2/seed0" in r.stdout
    r = make("-n", "cifar10.ERK.RigL", "RECIPE=clean")
    assert "-p recipe clean" in r.stdout and "runs/cifar10/rigl-erk-agc-clean/density0.2/seed0" in r.stdout
    r = make("-n", "cifar10.ERK.RigL", "RECIPE=paper")
    assert r.returncode != 0 and "RECIPE must be authors or clean, got 'paper'" in r.stderr


@pytest.mark.parametrize(
    "target, folder, flags",
    [
        (
            "cifar10.2x.ERK.RigL",
            "runs/cifar10/2x-rigl-erk-agc/density0.2/seed0",
            ["-p method rigl", "-p init erk", "-p multiplier 2"],
        ),
        (
            "cifar10.3x.Random.SET",
            "runs/cifar10/3x-set-uniform-agc/density0.2/seed0",
            ["-p method set", "-p init uniform", "-p multiplier 3"],
        ),
        ("cifar10.Static.ERK", "runs/cifar10/static-erk-agc/density0.2/seed0", ["-p method static", "-p init erk"]),
        (
            "cifar100.2x.ERK.RigL",
            "runs/cifar100/2x-rigl-erk-agc/density0.2/seed0",
            ["-p model resnet50", "-p multiplier 2"],
        ),
    ],
)
def test_reference_target_names(target, folder, flags):
    r = make("-n", target)
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if "papermill" in l)
    assert folder in line and all(f in line for f in flags), line
    assert "multiplier" not in make("-n", "cifar10.ERK.RigL").stdout
    r = make("-n", "cifar10.5x.ERK.RigL")
    assert r.returncode != 0 and "must be 2x or 3x, got '5x'" in r.stderr


@pytest.mark.parametrize(
    "target, folder, flags",
    [
        ("cifar10.ERK.SNFS", "runs/cifar10/snfs-erk-agc/density0.2/seed0", ["-p method snfs", "-p init erk"]),
        (
            "cifar10.2x.Random.SNFS",
            "runs/cifar10/2x-snfs-uniform-agc/density0.2/seed0",
            ["-p method snfs", "-p init uniform", "-p multiplier 2"],
        ),
        ("cifar10.Pruning", "runs/cifar10/pruning-erk-agc/density0.2/seed0", ["-p method pruning"]),
        (
            "cifar10.Lottery",
            "runs/cifar10/lottery-erk-agc/density0.2/seed0",
            ["-p method lottery", "-p mask_from runs/cifar10/pruning-erk-agc/density0.2/seed0"],
        ),
        ("cifar10.Small-Dense", "runs/cifar10/small_dense-erk-agc/density0.2/seed0", ["-p method small_dense"]),
        (
            "cifar100.Pruning",
            "runs/cifar100/pruning-erk-agc/density0.2/seed0",
            ["-p method pruning", "-p model resnet50"],
        ),
    ],
)
def test_matrix_method_targets(target, folder, flags):
    r = make("-n", target)
    assert r.returncode == 0, r.stderr
    runs = [l for l in r.stdout.splitlines() if l.startswith("if grep")]
    assert len(runs) == 1 and folder in runs[0] and all(f in runs[0] for f in flags), runs


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
def test_matrix_full(dataset):
    "The reference's 18 targets × DENSITY × SEED × baseline and corrected, each once, every one printed by make -n."
    r = make("-n", dataset, "MATRIX=full", "DENSITY=0.05,0.5", "SEED=0,1")
    assert r.returncode == 0, r.stderr
    runs = [l for l in r.stdout.splitlines() if l.startswith("if grep")]
    folders = {l.split("final.json")[0].split()[-1] for l in runs}
    assert len(runs) == len(folders) == 18 * 2 * 2 * 2
    kinds = {f.split("/")[2] for f in folders}
    assert (
        len(kinds) == 36
        and {"lottery-erk-base", "3x-rigl-uniform-agc", "static-uniform-base", "small_dense-erk-agc"} <= kinds
    )
    one = [l for l in runs if "/lottery-erk-agc/density0.5/seed1" in l]
    assert "-p mask_from runs/%s/pruning-erk-agc/density0.5/seed1" % dataset in one[0]
    assert r.stdout.index("/pruning-erk-base/") < r.stdout.index(
        "/lottery-erk-base/"
    )  # the mask exists before its ticket
    assert (
        len(
            [
                l
                for l in make("-n", dataset, "MATRIX=full", "CORRECTION=0").stdout.splitlines()
                if l.startswith("if grep")
            ]
        )
        == 18
    )
    bad = make("-n", dataset, "MATRIX=yes")
    assert bad.returncode != 0 and "MATRIX must be full or empty (the paper sweep), got 'yes'" in bad.stderr


def test_correction_mode_and_stats_fraction():
    r = make("-n", "cifar10.ERK.RigL", "CORRECTION=both", "CORRECTION_MODE=Replay", "STATS_FRACTION=0.25")
    assert r.returncode == 0, r.stderr
    base, agc = [l for l in r.stdout.splitlines() if l.startswith("if grep")]
    assert (
        "runs/cifar10/rigl-erk-base/density0.2/seed0" in base and "correction_mode" not in base
    )  # the baseline is the plain one
    assert (
        "runs/cifar10/rigl-erk-agc-replay-sf0.25/density0.2/seed0" in agc
        and "-p correction_mode replay -p stats_fraction 0.25" in agc
    )
    bad = make("-n", "cifar10.ERK.RigL", "CORRECTION_MODE=fast")
    assert bad.returncode != 0 and "CORRECTION_MODE must be faithful, same_batches or replay, got 'fast'" in bad.stderr
    bad = make("cifar10.ERK.RigL", "STATS_FRACTION=1.5")
    assert bad.returncode != 0 and "stats_fraction must be a number in (0, 1], or None (1), got '1.5'" in bad.stderr


def test_target_names_win_over_method_and_init_variables():
    "A stem's own method and init are not overridden by METHOD=/INIT= on the command line (nor by another goal's stem)."
    r = make("-n", "cifar10.Random.RigL", "cifar10.Pruning", "METHOD=SET", "INIT=ER")
    folders = {
        l.split("final.json")[0].split()[-1].split("/")[2] for l in r.stdout.splitlines() if l.startswith("if grep")
    }
    assert folders == {"rigl-uniform-agc", "pruning-er-agc"}, folders
