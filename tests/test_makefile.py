"""The Makefile's run targets: booleans however spelled, values checked before the first run, complete runs skipped."""

import json, os, re, shlex, subprocess
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


def papermill_lines(out):
    "The papermill commands a sequential `make -n` prints (one per run)."
    return [re.search(r'&& echo "(.*?)" && ', l).group(1) for l in out.splitlines() if l.startswith("if grep")]


def p_args(cmd):
    "A papermill command's `-p name value` pairs, typed as papermill types them."
    from papermill.cli import _resolve_type

    w = shlex.split(cmd)
    return {w[i + 1]: _resolve_type(w[i + 2]) for i, a in enumerate(w) if a == "-p"}


@pytest.mark.parametrize(
    "goal",
    [
        ["demo", "EPOCHS=1"],
        ["demo", "EPOCHS=10"],
        ["cifar10.ERK.RigL", "EPOCHS=3", "RECIPE=clean"],
        ["cifar10.ERK.RigL", "EPOCHS=250"],
        ["cifar10.2x.Random.SET", "EPOCHS=3"],
        ["cifar10.Lottery", "EPOCHS=5", "CORRECTION=both"],
        ["cifar100.ERK.RigL", "EPOCHS=2", "CORRECTION_MODE=replay", "STATS_FRACTION=0.25"],
    ],
)
def test_run_folders_are_the_notebooks(goal):
    """Each run's folder (and a lottery ticket's mask_from) is the one nbs/train.ipynb gives the same parameters
    without run_dir: a shorter run (EPOCHS) gets a folder of its own in both, named alike."""
    from balance_sparse.driver import train_parameters

    r = make("-n", *goal)
    assert r.returncode == 0, r.stderr
    for cmd in papermill_lines(r.stdout):
        p = p_args(cmd)
        s, o = train_parameters({k: v for k, v in p.items() if k not in ("run_dir", "mask_from")})
        assert p["run_dir"] == o["run_dir"] and p.get("mask_from", s.mask_from) == s.mask_from, (cmd, o["run_dir"])


def test_a_shorter_sweep_never_shares_the_full_runs_folders():
    "make demo EPOCHS=1 then make demo: two sets of folders (the second no longer collides with the first)."
    folders = [
        {p_args(c)["run_dir"] for c in papermill_lines(make("-n", "demo", *e).stdout)} for e in ([], ["EPOCHS=1"])
    ]
    assert len(folders[0]) == len(folders[1]) == 2 and not folders[0] & folders[1], folders
    grid = [
        make("-n", "cifar10_lr_grid", "LR_GRID=0.1", "GRID_PAIRS=0.3:100", "GRID_INITS=ERK", *e)
        for e in ([], ["EPOCHS=2"])
    ]
    assert (
        "lrgrid/rigl-erk-agc/density0.2/" in grid[0].stdout and "lrgrid/rigl-erk-agc-e2/density0.2/" in grid[1].stdout
    )


def test_a_shorter_search_is_a_study_of_its_own():
    "make cifar10_tune EPOCHS=3: its folder and Optuna study carry -e3, as balance_sparse.tune names them."
    from balance_sparse.settings import RunSettings
    from balance_sparse.tune import study_name, tune_parameters

    r = make("-n", "cifar10_tune", "EPOCHS=3", "CORRECTION=1")
    assert r.returncode == 0 and "runs/cifar10/tune/rigl-erk-agc-e3/density0.2/tune.ipynb" in r.stdout, r.stdout
    base, opts = tune_parameters({"dataset": "cifar10", "density": 0.2, "epochs": 3})
    assert study_name("cifar10", base, 1, opts["default_epochs"]) == "cifar10/rigl-erk-agc-e3/density0.2"
    full, opts = tune_parameters({"dataset": "cifar10", "density": 0.2})
    assert study_name("cifar10", full, 1, opts["default_epochs"]) == "cifar10/rigl-erk-agc/density0.2"
    assert RunSettings().epochs == 250


def makefile_variables():
    "Every variable the Makefile lets a user set (`NAME ?= default`)."
    return re.findall(r"^([A-Z_]+) \?=", (ROOT / "Makefile").read_text(), re.M)


def test_help_lists_every_variable_and_what_a_bare_sweep_runs():
    from balance_sparse.settings import RunSettings

    r = make("help")
    assert r.returncode == 0, r.stderr
    listed = re.findall(r"^    ([A-Z_]+)=(\S*)", r.stdout, re.M)
    names = makefile_variables()
    assert {"DENSITY", "SEED", "DEVICE", "WANDB", "EPOCHS", "GPUS", "SLURM", "TIME", "RUN", "SWEEP"} <= set(names)
    assert [n for n, _ in listed] == names  # each one, once, in the Makefile's order
    docs = {l.split()[0].split("=")[0]: l for l in r.stdout.splitlines() if l.startswith("    ")}
    undocumented = [n for n in names if len(docs[n].split(None, 1)) < 2]
    assert not undocumented, undocumented  # what each accepts
    runs = papermill_lines(make("-n", "cifar10").stdout)  # what a bare make cifar10 runs
    folders = sorted(p_args(c)["run_dir"] for c in runs)
    assert folders == ["runs/cifar10/rigl-erk-agc/density0.2/seed0", "runs/cifar10/rigl-erk-base/density0.2/seed0"]
    assert all(p_args(c)["model"] == "wrn-22-2" and "epochs" not in p_args(c) for c in runs)
    bare = r.stdout[r.stdout.index("make cifar10 alone:") :]
    assert f"{len(runs)} runs on CIFAR-10" in bare and "DENSITY=0.2, SEED=0" in bare and "WRN-22-2" in bare
    assert f"{RunSettings().epochs} epochs" in bare and "RECIPE=authors" in bare


FAKE_KEY = "0123abcd" * 5  # 40 hex characters, as a W&B API key


def fake_venv(tmp_path):
    """A VENV whose python is the real one and whose papermill only records what it was given: its arguments and
    whether WANDB_API_KEY reached it (a real run of the key's path: tests/test_wandb_key.py)."""
    bin_ = tmp_path / "venv" / "bin"
    bin_.mkdir(parents=True)
    (bin_ / "python").write_text(f'#!/bin/sh\nexec {ROOT / ".venv" / "bin" / "python"} "$@"\n')
    (bin_ / "papermill").write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$PWD/papermill.args"\nprintf "%s" "$WANDB_API_KEY" > "$PWD/papermill.key"\n'
    )
    for f in bin_.iterdir():
        f.chmod(0o755)
    return tmp_path / "venv"


def make_env(tmp_path, **env):
    "The environment without any W&B key or login (HOME: an empty folder, so no ~/.netrc)."
    (tmp_path / "home").mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("WANDB") and k != "NETRC"}
    return {**base, "HOME": str(tmp_path / "home"), **env}


def run_make(*args, cwd, env, venv=ROOT / ".venv"):
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), f"VENV={venv}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def test_wandb_and_device_reach_the_run_and_the_key_only_its_environment(tmp_path):
    (tmp_path / "wandb_api.key").write_text(FAKE_KEY + "\n")
    env = make_env(tmp_path)
    r = run_make("-n", "cifar10.ERK.RigL", "WANDB=1", "DEVICE=cpu", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "-p wandb True -p device cpu" in papermill_lines(r.stdout)[0] and FAKE_KEY not in r.stdout + r.stderr
    r = run_make("-n", "cifar10.ERK.RigL", "WANDB=1", "DEVICE=cpu", cwd=ROOT, env={**env, "WANDB_API_KEY": FAKE_KEY})
    assert r.returncode == 0 and "-p wandb True -p device cpu" in r.stdout and FAKE_KEY not in r.stdout + r.stderr
    plain = make("-n", "cifar10.ERK.RigL").stdout
    assert "-p wandb" not in plain and "-p device" not in plain  # neither unless asked for

    r = run_make("cifar10.ERK.RigL", "WANDB=yes", "DEVICE=cpu", cwd=tmp_path, env=env, venv=fake_venv(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    args = (tmp_path / "papermill.args").read_text().split("\n")
    assert "-p\nwandb\nTrue\n-p\ndevice\ncpu" in "\n".join(args) and FAKE_KEY not in "\n".join(args)
    assert (tmp_path / "papermill.key").read_text() == FAKE_KEY  # handed over in the environment
    assert FAKE_KEY not in r.stdout + r.stderr  # nor printed with the command


def test_wandb_without_a_key_stops_with_one_line(tmp_path):
    env = make_env(tmp_path)
    r = run_make("-n", "cifar10.ERK.RigL", "WANDB=on", cwd=tmp_path, env=env)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode != 0 and "papermill" not in r.stdout
    assert "WANDB=on needs a W&B API key" in last and "wandb_api.key" in last and "WANDB_MODE=offline" in last
    for ok in ({"WANDB_MODE": "offline"}, {"WANDB_API_KEY": FAKE_KEY}):
        assert run_make("-n", "cifar10.ERK.RigL", "WANDB=on", cwd=tmp_path, env={**env, **ok}).returncode == 0
    r = run_make("-n", "cifar10.ERK.RigL", "WANDB=sometimes", cwd=tmp_path, env=env)
    assert "WANDB must be true/false, yes/no, on/off or 1/0 (any case), got 'sometimes'" in r.stderr.splitlines()[-1]
    assert run_make("-n", "cifar10.ERK.RigL", "WANDB=0", cwd=tmp_path, env=env).returncode == 0  # off: no key needed


@pytest.mark.parametrize(
    "args, message",
    [
        (["DEVICE=tpu"], "DEVICE must be cpu, cuda or cuda:N (unset: CUDA if available), got 'tpu'"),
        (["DEVICE=cuda:1", "GPUS=0,1"], "DEVICE must be cuda, cuda:0 or empty with GPUS"),
        (["DEVICE=cpu", "DENSITY=0.1,abc"], "density must be a number in (0, 1], got 'abc'"),
    ],
)
def test_device_is_checked_before_any_run_and_its_line_is_the_last(tmp_path, args, message):
    r = make("cifar10.ERK.RigL", *args, cwd=tmp_path)
    assert r.returncode != 0 and "papermill" not in r.stdout and not (tmp_path / "runs").exists()
    assert message in r.stderr.strip().splitlines()[-1], r.stderr


def test_device_this_machine_lacks(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    r = make("cifar10.ERK.RigL", "DEVICE=cuda", cwd=tmp_path)
    assert r.returncode != 0 and "DEVICE must be a device this machine has: got 'cuda'" in r.stderr.splitlines()[-1]
    assert "-p device cuda" in make("-n", "cifar10.ERK.RigL", "DEVICE=cuda", "SLURM=1").stdout  # a Slurm job's GPU


def test_eval_names_data_dir_as_make_does(tmp_path):
    "make eval of a CIFAR-10 run without its data: the message says DATA_DIR=, not Python's data_dir=."
    import torch
    from balance_sparse.models import get_model
    from balance_sparse.settings import RunSettings

    run = tmp_path / "run"
    run.mkdir()
    cfg = {**RunSettings().to_dict(), "dataset": "cifar10", "model_name": "wrn-10-1", "num_classes": 10}
    (run / "config.json").write_text(json.dumps(cfg))
    torch.save(get_model("wrn-10-1").state_dict(), run / "model.pt")
    r = make("eval", f"RUN={run}", f"DATA_DIR={tmp_path / 'nodata'}", "DEVICE=cpu", cwd=tmp_path)
    err = [l for l in r.stderr.splitlines() if l.startswith("error:")]
    assert r.returncode != 0 and len(err) == 1 and "DataNotFoundError" not in r.stderr, r.stderr
    assert "pass DATA_DIR= pointing at" in err[0] and "data_dir=" not in err[0] and "--device cpu" in r.stdout


def test_eval_checks_run_before_any_work(tmp_path):
    "make eval without RUN, or with a folder that holds no run: one line, the last one, and no Python started."
    r = make("eval", cwd=tmp_path)
    assert r.returncode != 0 and "make eval needs RUN=<run folder>" in r.stderr.splitlines()[-1], r.stderr
    r = make("eval", f"RUN={tmp_path / 'nope'}", cwd=tmp_path)
    last = r.stderr.splitlines()[-1]
    assert r.returncode != 0 and "RUN must be a run folder" in last and str(tmp_path / "nope") in last, r.stderr
    assert "balance_sparse.evaluation" not in r.stdout  # stopped before the evaluation's command


def test_eval_bn_stats_is_checked_and_passed_on(tmp_path):
    "BN_STATS: anything but clean or empty is one line, the last, before any work; clean reaches the command line."
    r = make("eval", f"RUN={tmp_path}", "BN_STATS=recompute", cwd=tmp_path)
    last = r.stderr.splitlines()[-1]
    assert r.returncode != 0 and "BN_STATS must be clean or empty" in last and "'recompute'" in last, r.stderr
    (tmp_path / "config.json").write_text("{}")
    r = make("-n", "eval", f"RUN={tmp_path}", "BN_STATS=clean", cwd=tmp_path)
    assert r.returncode == 0 and "--bn-stats clean" in r.stdout, r.stderr


def test_use_wandb_is_the_reference_codes_name_for_wandb(tmp_path):
    "The reference code's README: `USE_WANDB=False` on make commands. Alone it is WANDB; against WANDB, one line."
    env = make_env(tmp_path, WANDB_MODE="offline")
    for value, on in (("False", False), ("no", False), ("True", True), ("ON", True)):
        r = run_make("-n", "cifar10.ERK.RigL", f"USE_WANDB={value}", cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        assert ("-p wandb True" in papermill_lines(r.stdout)[0]) == on, value
    for agree in (("WANDB=1", "USE_WANDB=true"), ("WANDB=off", "USE_WANDB=False")):
        assert run_make("-n", "cifar10.ERK.RigL", *agree, cwd=tmp_path, env=env).returncode == 0, agree
    r = run_make("-n", "cifar10.ERK.RigL", "WANDB=0", "USE_WANDB=True", cwd=tmp_path, env=env)
    last = r.stderr.strip().splitlines()
    assert r.returncode != 0 and "papermill" not in r.stdout and len(last) == 1
    assert "WANDB=0 and USE_WANDB=True disagree" in last[0] and "give one of them" in last[0]
    r = run_make("-n", "cifar10.ERK.RigL", "USE_WANDB=maybe", cwd=tmp_path, env=env)
    assert "USE_WANDB must be true/false, yes/no, on/off or 1/0 (any case), got 'maybe'" in r.stderr
    r = run_make("-n", "cifar10.ERK.RigL", "USE_WANDB=yes", cwd=tmp_path, env=make_env(tmp_path))
    assert r.returncode != 0 and "USE_WANDB=yes needs a W&B API key" in r.stderr.strip().splitlines()[-1]


def test_docs_github_builds_the_site_and_docs_index_html_opens_it(tmp_path):
    """The reference code's README: "See docs/index.html ... Run make docs.github to refresh". It runs make docs (here a
    sphinx-build that only writes the site's home page) and writes docs/index.html, which sends the browser there."""
    venv = fake_venv(tmp_path)
    (venv / "bin" / "sphinx-build").write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$PWD/sphinx.args"\nmkdir -p "$7" && echo "<p>home</p>" > "$7/index.html"\n'
    )
    (venv / "bin" / "sphinx-build").chmod(0o755)
    (tmp_path / "docs").mkdir()
    r = run_make("docs.github", cwd=tmp_path, env=make_env(tmp_path), venv=venv)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "sphinx.args").read_text().split()[
        :7
    ] == "-W --keep-going -n -b html docs docs/_build/html".split()
    page = (tmp_path / "docs" / "index.html").read_text()
    assert 'http-equiv="refresh" content="0; url=_build/html/index.html"' in page
    assert (tmp_path / "docs" / "_build" / "html" / "index.html").exists()  # where it sends the browser
    assert "docs/index.html" in r.stdout
