"""`make eval`'s function on a real run of nbs/train.ipynb (CIFAR-10 file format, authors' recipe): it gives back
metrics.csv's numbers without training, reads a bare state dict, and refuses weights that do not fit, in one line."""

import json, shutil, subprocess, sys
import pandas as pd, pytest, torch
from conftest import papermill, ROOT
from balance_sparse.datasets import write_fake_cifar
from balance_sparse.evaluation import evaluate_run, main
from balance_sparse.flops import dense_flops
from balance_sparse.models import get_model

MAKE_EVAL = [sys.executable, "-c", "import balance_sparse.evaluation as e; e.main()"]  # what `make eval` runs


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    "(run folder, data folder): 2 epochs of RigL-ERK + correction with mask updates, through the paper driver."
    tmp = tmp_path_factory.mktemp("eval")
    write_fake_cifar(tmp / "data", "cifar10", n_train=320, n_test=100)
    papermill(
        tmp / "train.ipynb",
        "dataset",
        "cifar10",
        "model",
        "wrn-10-1",
        "epochs",
        2,
        "batch_size",
        32,
        "interval",
        3,
        "data_dir",
        tmp / "data",
        "run_dir",
        tmp / "run",
    )
    return tmp / "run", tmp / "data"


@pytest.fixture
def run_copy(trained, tmp_path):
    "A copy of the trained run folder that a test may damage."
    shutil.copytree(trained[0], tmp_path / "run")
    (tmp_path / "run" / "eval.json").unlink(missing_ok=True)
    return tmp_path / "run"


def test_reproduces_metrics_csv(trained):
    run, data = trained
    m, config = pd.read_csv(run / "metrics.csv"), json.loads((run / "config.json").read_text())
    assert config["recipe"] == "authors" and config["normalization"] == "authors" and config["val_split"] == "authors"
    r = evaluate_run(run, data, device="cpu")
    assert r["test_acc"] == m.test_acc.iloc[-1] and abs(r["test_loss"] - m.test_loss.iloc[-1]) <= 1e-9
    assert r["epoch"] == 2 and r["checkpoint"] == str(run / "checkpoint.pt") and r["n_test"] == 100
    masks = torch.load(run / "checkpoint.pt", weights_only=False)["masking"]["masks"]
    assert r["layer_density"] == {n: int(k.sum()) / k.numel() for n, k in masks.items()}  # nonzeros are the masks
    assert r["density"] == pytest.approx(m.density.iloc[-1], abs=1e-12) and r["density"] < 0.25
    assert (
        r["dense_flops"] == dense_flops(get_model("wrn-10-1"), (1, 3, 32, 32))
        and r["sparse_flops"] < r["dense_flops"] / 2
    )
    assert json.loads((run / "eval.json").read_text()) == json.loads(json.dumps(r))  # strict JSON, all of it


def test_falls_back_to_the_previous_checkpoint(run_copy, trained):
    (run_copy / "checkpoint.pt").write_bytes(b"cut short")
    with pytest.warns(UserWarning, match="checkpoint.pt is unreadable.*evaluating .*checkpoint.prev.pt instead"):
        r = evaluate_run(run_copy, trained[1], device="cpu")
    m = pd.read_csv(trained[0] / "metrics.csv")
    assert r["epoch"] == 1 and r["test_acc"] == m.test_acc.iloc[0] and abs(r["test_loss"] - m.test_loss.iloc[0]) <= 1e-9


def test_bare_state_dict(trained, tmp_path):
    run, data = trained
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(run / "config.json", folder)
    torch.save(torch.load(run / "checkpoint.pt", weights_only=False)["model"], folder / "model.pt")
    r = evaluate_run(folder, data, device="cpu")
    assert r["checkpoint"] == str(folder / "model.pt") and r["epoch"] is None and r["recorded_test_acc"] is None
    assert r["test_acc"] == pd.read_csv(run / "metrics.csv").test_acc.iloc[-1] and (folder / "eval.json").exists()
    r2 = evaluate_run(tmp_path / "mine", data, device="cpu", checkpoint=run / "checkpoint.prev.pt")  # checkpoint= wins
    assert r2["epoch"] == 1 and r2["checkpoint"] == str(run / "checkpoint.prev.pt")


def _edit_config(run, **changes):
    p = run / "config.json"
    p.write_text(json.dumps({**json.loads(p.read_text()), **changes}))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: (r / "config.json").unlink(), "config.json not found"),
        (lambda r: _edit_config(r, model_name="wrn-16-1"), "checkpoint.pt does not fit wrn-16-1 named in"),
        (lambda r: _edit_config(r, num_classes=100), "checkpoint.pt predicts 10 classes but wrn-10-1 named in"),
        (lambda r: _edit_config(r, density=0.5), "checkpoint.pt was saved by another run than"),
        (
            lambda r: (
                [(r / f).unlink() for f in ("checkpoint.pt", "checkpoint.prev.pt")]
                and torch.save(get_model("wrn-16-1").state_dict(), r / "model.pt")
            ),
            "model.pt does not fit wrn-10-1 named in",
        ),
    ],
)
def test_refuses_weights_that_do_not_fit(run_copy, tmp_path, damage, message):
    damage(run_copy)
    with pytest.raises(ValueError) as e:
        evaluate_run(run_copy, tmp_path / "nodata", device="cpu")  # refused before any data is read
    assert message in str(e.value) and str(run_copy) in str(e.value) and "\n" not in str(e.value)
    assert not (run_copy / "eval.json").exists()


def test_refuses_other_test_data(trained, tmp_path):
    write_fake_cifar(tmp_path / "other", "cifar10", n_train=320, n_test=100, seed=1)
    with pytest.raises(ValueError, match="test split in .* is not the one .* was tested on"):
        evaluate_run(trained[0], tmp_path / "other", device="cpu")


def test_cli(trained, run_copy, capsys):
    run, data = trained
    r = main([str(run), "--data-dir", str(data), "--device", "cpu"])
    out = capsys.readouterr().out
    assert (
        f"test accuracy {100 * r['test_acc']:.2f} %" in out
        and "fc.weight" in out
        and "MFLOPs" in out
        and "wrote" in out
    )
    _edit_config(run_copy, model_name="wrn-16-1")
    with pytest.raises(SystemExit) as e:
        main([str(run_copy), "--data-dir", str(data)])
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("error: ") and "does not fit wrn-16-1" in err and err.count("\n") == 1


def test_make_eval_command_line(trained, run_copy):
    "The exact command the Makefile runs: the summary on success; exit 1, one line and no traceback on refusal."
    run, data = trained
    ok = subprocess.run(
        MAKE_EVAL + [str(run), "--data-dir", str(data), "--device", "cpu"], capture_output=True, text=True, cwd=ROOT
    )
    acc = pd.read_csv(run / "metrics.csv").test_acc.iloc[-1]
    assert ok.returncode == 0 and f"test accuracy {100 * acc:.2f} %" in ok.stdout, ok.stderr
    _edit_config(run_copy, model_name="wrn-16-1")
    bad = subprocess.run(MAKE_EVAL + [str(run_copy), "--data-dir", str(data)], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and bad.stdout == "" and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_bn_stats_clean_is_what_a_clean_run_records(trained, tmp_path):
    """`make eval BN_STATS=clean` on an authors-recipe run (running BatchNorm statistics) gives the test accuracy that
    the same run with bn_stats=clean records: training is the same, only the evaluation's statistics differ."""
    run, data = trained
    papermill(
        tmp_path / "train.ipynb",
        *("dataset", "cifar10", "model", "wrn-10-1", "epochs", 2, "batch_size", 32, "interval", 3),
        *("data_dir", data, "run_dir", tmp_path / "run", "bn_stats", "clean"),
    )
    clean = pd.read_csv(tmp_path / "run" / "metrics.csv")
    authors = pd.read_csv(run / "metrics.csv")
    assert json.loads((run / "config.json").read_text())["bn_stats"] == "authors"
    pd.testing.assert_series_equal(clean.train_loss, authors.train_loss)  # the same training
    r = evaluate_run(run, data, device="cpu", bn_stats="clean")
    assert r["test_acc"] == clean.test_acc.iloc[-1] and abs(r["test_loss"] - clean.test_loss.iloc[-1]) <= 1e-9
    assert r["bn_stats"] == "clean" and r["recorded_test_acc"] == authors.test_acc.iloc[-1]
    with pytest.raises(ValueError, match="bn_stats must be None"):
        evaluate_run(run, data, device="cpu", bn_stats="recompute")
