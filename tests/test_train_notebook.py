"""nbs/train.ipynb under papermill: the quick preset end to end, and each way it must refuse to run."""

import json, shutil
import nbformat, pandas as pd, pytest, torch
from conftest import papermill, read_json, DEMO_DENSITIES, DEMO_EPOCHS, TRAIN_NB
from balance_sparse.train import METRIC_COLUMNS


def errors(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]


def test_demo_runs_complete(demo_runs):
    dirs = sorted(demo_runs.glob("digits/*/density*/seed0"))
    assert len(dirs) == 2 * len(DEMO_DENSITIES)
    for d in dirs:
        assert errors(d / "train.ipynb") == []
        assert "TqdmWarning" not in (d / "train.ipynb").read_text()  # tqdm draws its widgets (ipywidgets)
        m = pd.read_csv(d / "metrics.csv")
        assert list(m.columns) == METRIC_COLUMNS and m.epoch.tolist() == list(range(1, DEMO_EPOCHS + 1))
        assert m.drop(columns=["tau", "tau_curr", "gamma", "var_ratio"]).notna().all().all()
        final, config = read_json(d / "final.json"), read_json(d / "config.json")
        assert final["status"] == "complete" and final["epochs_done"] == DEMO_EPOCHS
        assert final["test_acc"] == pytest.approx(m.test_acc.iloc[-1])
        assert config["dataset"] == "digits" and config["model_name"] == "wrn-10-1" and config["epochs"] == DEMO_EPOCHS
        assert config["versions"]["torch"] == torch.__version__
        corrected = d.parent.parent.name.endswith("-agc")
        assert config["correction"] is corrected and m.tau.notna().all() == corrected == m.gamma.notna().all()
        assert m.train_loss.iloc[-1] < m.train_loss.iloc[0]  # it learns on real digits


def test_rerun_returns_the_finished_run(demo_runs, tmp_path):
    d = tmp_path / "run"  # a copy: other tests read the shared runs, under pytest-xdist at the same time
    shutil.copytree(next(demo_runs.glob("digits/rigl-erk-base/density0.2/seed0")), d)
    before = (d / "metrics.csv").read_text()
    papermill(
        tmp_path / "again.ipynb",
        "preset",
        "demo",
        "epochs",
        DEMO_EPOCHS,
        "density",
        0.2,
        "correction",
        False,
        "run_dir",
        d,
    )
    assert (d / "metrics.csv").read_text() == before and read_json(d / "final.json")["status"] == "complete"


def test_misspelled_parameter_stops(tmp_path):
    r = papermill(tmp_path / "out.ipynb", "densty", 0.1, "preset", "demo", "run_dir", tmp_path / "run", check=False)
    assert r.returncode != 0
    assert "unknown parameter(s) ['densty']" in r.stdout and "density" in r.stdout
    listed = r.stdout.split("the parameters are:")[1].splitlines()[0]
    assert "'_" not in listed and "names_before" not in listed  # no IPython or bookkeeping names
    assert not (tmp_path / "run").exists()  # stopped before training


@pytest.mark.parametrize("value", [0, 1.5, -0.2])
def test_invalid_density_stops(tmp_path, value):
    r = papermill(tmp_path / "out.ipynb", "density", value, "preset", "demo", "run_dir", tmp_path / "run", check=False)
    assert r.returncode != 0 and f"density must be a number in (0, 1], got {value}" in r.stdout
    assert not (tmp_path / "run").exists()


def test_missing_cifar_message_is_short_and_clear(tmp_path):
    r = papermill(
        tmp_path / "out.ipynb",
        "density",
        0.2,
        "data_dir",
        tmp_path / "nodata",
        "run_dir",
        tmp_path / "run",
        check=False,
    )
    assert r.returncode != 0
    assert (
        "DataNotFoundError" in r.stdout and str(tmp_path / "nodata") in r.stdout and "cifar-10-batches-py" in r.stdout
    )
    err = errors(tmp_path / "out.ipynb")
    assert len(err) == 1 and len(err[0]["traceback"]) <= 3  # one message, no traceback wall


def test_unknown_dataset_and_preset(tmp_path):
    r = papermill(tmp_path / "a.ipynb", "dataset", "mnist", check=False)
    assert r.returncode != 0 and "dataset must be one of" in r.stdout
    r = papermill(tmp_path / "b.ipynb", "preset", "fast", check=False)
    assert r.returncode != 0 and "preset must be one of" in r.stdout


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("batch_size", 0, "batch_size must be a whole number >= 1, got 0"),
        ("seed", "abc", "seed must be a whole number in [0, 2**63), got 'abc'"),
        ("model", "wrn-7-1", "model must be wrn-22-2, resnet50 or wrn-D-K"),
        (
            "correction",
            "maybe",
            "correction must be a boolean (true/false, yes/no, on/off or 1/0, any case), got 'maybe'",
        ),
        ("epochs", 2.5, "epochs must be a whole number >= 1, got 2.5"),
        ("wandb", "sometimes", "wandb must be a boolean"),
        ("lr", -1, "lr must be a number > 0, got -1"),
    ],
)
def test_bad_values_stop_before_any_data_is_read(tmp_path, name, value, message):
    # data_dir has no CIFAR: had the check come after loading, the error would be DataNotFoundError instead
    r = papermill(
        tmp_path / "out.ipynb", name, value, "data_dir", tmp_path / "nodata", "run_dir", tmp_path / "run", check=False
    )
    assert r.returncode != 0 and message in r.stdout, r.stdout[-2000:]
    assert "DataNotFoundError" not in r.stdout and not (tmp_path / "run").exists()
    err = errors(tmp_path / "out.ipynb")
    assert len(err) == 1 and len(err[0]["traceback"]) <= 3  # one line, no traceback wall
    assert message in last_line(r.stderr)  # papermill's own traceback comes first: the one line is what stays in view


def last_line(text):
    "The last line with anything on it (papermill ends its error with blank lines)."
    return [l for l in text.splitlines() if l.strip()][-1]


def test_run_dir_that_is_a_file_stops_before_any_data_is_read(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a run folder")
    r = papermill(tmp_path / "out.ipynb", "run_dir", afile, "data_dir", tmp_path / "nodata", check=False)
    assert r.returncode != 0 and "DataNotFoundError" not in r.stdout and "FileExistsError" not in r.stdout
    assert last_line(r.stderr) == (
        f"ValueError: run_dir must be a folder (a new one, or a run's folder to resume) or None, got '{afile}', "
        "which exists and is not a folder"
    )
    assert afile.read_text() == "not a run folder"


def shown_run_dir(nb_path):
    "The run folder the parameters check resolved, as the notebook's table of checked values shows it."
    nb = nbformat.read(nb_path, as_version=4)
    text = "".join(o.get("data", {}).get("text/plain", "") for c in nb.cells for o in c.get("outputs", []))
    return next(l.split()[1] for l in text.splitlines() if l.startswith("run_dir "))


def test_default_run_dir_of_a_shorter_run_is_not_the_full_runs(tmp_path):
    "Without run_dir, 3 epochs get a folder of their own (the check resolves it; no CIFAR here, so nothing trains)."
    from balance_sparse.driver import train_parameters

    r = papermill(tmp_path / "e3.ipynb", "epochs", 3, "data_dir", tmp_path / "nodata", check=False)
    assert r.returncode != 0 and "DataNotFoundError" in last_line(r.stderr)  # checked, then stopped at the data
    full = train_parameters({"recipe": "authors"})[1]["run_dir"]  # the notebook's defaults: the full run's folder
    short = shown_run_dir(tmp_path / "e3.ipynb")
    assert short != full and short == full.replace("/rigl-erk-agc/", "/rigl-erk-agc-e3/"), (short, full)


def test_every_parameter_passed_trains_the_baseline_without_warnings(tmp_path):
    "Every parameter of the cell given with -p (one epoch of the demo): papermill knows each; tqdm finds its widgets."
    from papermill.inspection import inspect_notebook

    run = tmp_path / "run"
    given = {
        "dataset": "digits",
        "model": "wrn-10-1",
        "recipe": "authors",
        "method": "rigl",
        "correction": "no",
        "correction_mode": "faithful",
        "stats_fraction": 1,
        "bn_stats": "authors",
        "density": 0.2,
        "init": "erk",
        "epochs": 1,
        "batch_size": 32,
        "lr": 0.05,
        "lr_step": 30000,
        "interval": 40,
        "seed": 0,
        "multiplier": 1,
        "data_dir": tmp_path / "nodata",  # digits ship with scikit-learn
        "run_dir": run,
        "wandb": "off",
        "preset": "demo",
        "device": "cpu",
    }
    assert set(given) == set(inspect_notebook(str(TRAIN_NB))) - {"_known_parameters"}  # every one of the cell
    r = papermill(tmp_path / "out.ipynb", *[x for kv in given.items() for x in kv])
    assert "Passed unknown parameter" not in r.stdout and "Unable to parse" not in r.stdout, r.stdout[-3000:]
    assert "TqdmWarning" not in (tmp_path / "out.ipynb").read_text()
    config, m = read_json(run / "config.json"), pd.read_csv(run / "metrics.csv")
    assert config["correction"] is False and m.tau.isna().all()
    assert config["bn_stats"] == "authors" and m.bn_batch_acc.notna().all()  # -p wins over the demo preset's clean
    assert (
        json.loads((run / "final.json").read_text(), parse_constant=lambda c: 1 / 0)["status"] == "complete"
    )  # strict JSON
    assert (
        json.loads((run / "final.json").read_text(), parse_constant=lambda c: 1 / 0)["status"] == "complete"
    )  # strict JSON


def test_notebook_defaults_are_the_run_settings_defaults():
    """Every setting in the parameters cell is None (filled from the preset, the dataset, then RunSettings) or
    RunSettings' own default; only the recipe differs on purpose."""
    import ast
    from balance_sparse.settings import RunSettings

    nb = nbformat.read(TRAIN_NB, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values = {
        t.targets[0].id: ast.literal_eval(t.value)
        for t in ast.parse(cell.source).body
        if isinstance(t, ast.Assign) and not t.targets[0].id.startswith("_")
    }
    defaults = RunSettings().to_dict()
    shared = {k for k in values if k in defaults}
    assert shared >= {
        "method",
        "correction",
        "density",
        "init",
        "epochs",
        "batch_size",
        "lr",
        "lr_step",
        "interval",
        "seed",
        "recipe",
    }
    assert (
        values["recipe"] == "authors" and defaults["recipe"] == "clean"
    )  # the drivers replay the authors; fit() is clean
    assert {k: values[k] for k in shared - {"recipe"} if values[k] is not None} == {
        k: defaults[k] for k in shared - {"recipe"} if values[k] is not None
    }


def test_papermill_can_read_every_parameter():
    import subprocess, sys

    r = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(TRAIN_NB)], capture_output=True, text=True
    )
    assert r.returncode == 0 and "Unable to parse" not in r.stdout + r.stderr
    for name in ("dataset", "recipe", "correction", "density", "preset", "device"):
        assert f"  {name}:" in r.stdout


def test_parameters_cell_is_one_line_per_parameter():
    """`name = value  # help` on one line each, the help free of `=`: papermill then reads every default and help as
    written (a wrapped or `=`-carrying line gives a wrong default, or an unknown parameter and a warning each run)."""
    import ast
    from papermill.inspection import inspect_notebook

    cell = next(c for c in nbformat.read(TRAIN_NB, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    lines = [l for l in cell.source.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    tree = {t.targets[0].id: t for t in ast.parse(cell.source).body}
    assert len(lines) == len(tree) and all(l.count("=") == 1 and "  # " in l for l in lines), lines
    inferred = inspect_notebook(str(TRAIN_NB))
    assert list(inferred) == list(tree)
    for name, p in inferred.items():
        assert p["default"] == ast.get_source_segment(cell.source, tree[name].value), (name, p)
        assert p["help"], name
