"""Fake data in CIFAR's own on-disk format goes through the real reading code and the real paper driver."""

import pickle
import numpy as np, pandas as pd, pytest, torch
from conftest import papermill, read_json
from balance_sparse.datasets import write_fake_cifar, load_cifar, DataNotFoundError


@pytest.mark.parametrize(
    "name,folder,classes", [("cifar10", "cifar-10-batches-py", 10), ("cifar100", "cifar-100-python", 100)]
)
def test_real_loader_reads_cifar_layout(tmp_path, name, folder, classes):
    write_fake_cifar(tmp_path, name, n_train=500, n_test=100, seed=3)
    files = sorted(p.name for p in (tmp_path / folder).iterdir())
    assert files == (
        ["batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
        if name == "cifar10"
        else ["meta", "test", "train"]
    )
    s = load_cifar(name, tmp_path, val_fraction=0.1, seed=0, download=False)
    assert s.num_classes == classes and s.train[0].shape == (450, 3, 32, 32) and s.val[0].shape == (50, 3, 32, 32)
    assert s.test[0].shape == (100, 3, 32, 32) and s.train[0].dtype == torch.uint8 and s.train[1].dtype == torch.int64
    # the images are the bytes in the files: row-major 3×32×32 per row, as CIFAR stores them
    test_file = tmp_path / folder / ("test_batch" if name == "cifar10" else "test")
    raw = pickle.load(open(test_file, "rb"), encoding="bytes")
    labels = raw[b"labels" if name == "cifar10" else b"fine_labels"]
    assert torch.equal(s.test[0], torch.from_numpy(np.asarray(raw[b"data"]).reshape(-1, 3, 32, 32)))
    assert s.test[1].tolist() == list(labels)
    # train + val together are exactly the training files' images
    tr = torch.cat([s.train[0], s.val[0]]).flatten(1)
    assert len({bytes(r.numpy()) for r in tr}) == 500


def test_missing_data_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="cifar-10-batches-py"):
        load_cifar("cifar10", tmp_path / "empty", download=False)


def test_paper_driver_runs_where_cifar_exists(tmp_path):
    """The paper path of nbs/train.ipynb (dataset cifar10, RigL + correction, ERK) on CIFAR-format fake data:
    the driver is ready for real CIFAR. A small model and 1 epoch keep it quick; the numbers mean nothing."""
    write_fake_cifar(tmp_path / "data", "cifar10", n_train=400, n_test=100)
    run = tmp_path / "run"
    papermill(
        tmp_path / "out.ipynb",
        "dataset",
        "cifar10",
        "model",
        "wrn-10-1",
        "epochs",
        1,
        "density",
        0.1,
        "data_dir",
        tmp_path / "data",
        "run_dir",
        run,
    )
    cfg, final = read_json(run / "config.json"), read_json(run / "final.json")
    assert (
        final["status"] == "complete"
        and cfg["dataset"] == "cifar10"
        and cfg["method"] == "rigl"
        and cfg["correction"] is True
    )
    assert cfg["n_train"] == 360 and cfg["n_val"] == 40 and cfg["n_test"] == 100 and cfg["init"] == "erk"
    m = pd.read_csv(run / "metrics.csv")
    assert len(m) == 1 and m.density.iloc[0] == pytest.approx(0.1, abs=1e-3)
