"""nbs/train.ipynb under papermill: the quick preset end to end, and each way it must refuse to run."""
import json, shutil
import nbformat, pandas as pd, pytest, torch
from conftest import papermill, read_json, DEMO_DENSITIES, DEMO_EPOCHS
from balance_sparse.train import METRIC_COLUMNS

def errors(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]

def test_demo_runs_complete(demo_runs):
    dirs = sorted(demo_runs.glob("digits/*/density*/seed0"))
    assert len(dirs) == 2 * len(DEMO_DENSITIES)
    for d in dirs:
        assert errors(d / "train.ipynb") == []
        m = pd.read_csv(d / "metrics.csv")
        assert list(m.columns) == METRIC_COLUMNS and m.epoch.tolist() == list(range(1, DEMO_EPOCHS + 1))
        assert m.drop(columns=["tau", "tau_curr"]).notna().all().all()
        final, config = read_json(d / "final.json"), read_json(d / "config.json")
        assert final["status"] == "complete" and final["epochs_done"] == DEMO_EPOCHS
        assert final["test_acc"] == pytest.approx(m.test_acc.iloc[-1])
        assert config["dataset"] == "digits" and config["model_name"] == "wrn-10-1" and config["epochs"] == DEMO_EPOCHS
        assert config["versions"]["torch"] == torch.__version__
        corrected = d.parent.parent.name.endswith("-agc")
        assert config["correction"] is corrected and m.tau.notna().all() == corrected
        assert m.train_loss.iloc[-1] < m.train_loss.iloc[0]                 # it learns on real digits

def test_rerun_returns_the_finished_run(demo_runs, tmp_path):
    d = next(demo_runs.glob("digits/rigl-erk-base/density0.2/seed0"))
    before = (d / "metrics.csv").read_text()
    r = papermill(tmp_path / "again.ipynb", "preset", "demo", "epochs", DEMO_EPOCHS, "density", 0.2, "correction", False, "run_dir", d)
    assert (d / "metrics.csv").read_text() == before and read_json(d / "final.json")["status"] == "complete"

def test_misspelled_parameter_stops(tmp_path):
    r = papermill(tmp_path / "out.ipynb", "densty", 0.1, "preset", "demo", "run_dir", tmp_path / "run", check=False)
    assert r.returncode != 0
    assert "unknown parameter(s) ['densty']" in r.stdout and "density" in r.stdout
    assert not (tmp_path / "run").exists()                                  # stopped before training

@pytest.mark.parametrize("value", [0, 1.5, -0.2])
def test_invalid_density_stops(tmp_path, value):
    r = papermill(tmp_path / "out.ipynb", "density", value, "preset", "demo", "run_dir", tmp_path / "run", check=False)
    assert r.returncode != 0 and f"density must be in (0, 1], got {value}" in r.stdout
    assert not (tmp_path / "run").exists()

def test_missing_cifar_message_is_short_and_clear(tmp_path):
    r = papermill(tmp_path / "out.ipynb", "density", 0.2, "data_dir", tmp_path / "nodata", "run_dir", tmp_path / "run", check=False)
    assert r.returncode != 0
    assert "DataNotFoundError" in r.stdout and str(tmp_path / "nodata") in r.stdout and "cifar-10-batches-py" in r.stdout
    err = errors(tmp_path / "out.ipynb")
    assert len(err) == 1 and len(err[0]["traceback"]) <= 3                 # one message, no traceback wall

def test_unknown_dataset_and_preset(tmp_path):
    r = papermill(tmp_path / "a.ipynb", "dataset", "mnist", check=False)
    assert r.returncode != 0 and "dataset must be one of" in r.stdout
    r = papermill(tmp_path / "b.ipynb", "preset", "fast", check=False)
    assert r.returncode != 0 and "preset must be one of" in r.stdout
