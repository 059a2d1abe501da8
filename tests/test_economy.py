"""The arithmetic and the data reader of `benchmarks/economy.py` (make bench-economy), without its hour of runs: the
equal-wall epochs each arm gets, a window arm's modelled seconds, and the wheel's MNIST read back as exact uint8."""

import gzip, io, pickle, sys, zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import economy as E  # noqa: E402

T = {"rigl": 10.0, "replay": 21.0, "table": 10.7}


def test_window_seconds_and_equal_wall_epochs():
    np.testing.assert_array_equal(E.epoch_seconds(T, dict(correction=False), 3), [10, 10, 10])
    w = E.REPLAY | dict(correction_until=0.5)
    np.testing.assert_array_equal(E.epoch_seconds(T, w, 5), [21, 21, 21, 10, 10])  # W = ceil(2.5) = 3
    assert E.wall_epochs(T, dict(correction=False)) == E.RIGL_EPOCHS
    budget = E.RIGL_EPOCHS * T["rigl"]
    for arm in (E.REPLAY, E.TABLE, w, E.TABLE | dict(correction_until=0.25)):
        e = E.wall_epochs(T, arm)
        assert E.epoch_seconds(T, arm, e).sum() <= budget < E.epoch_seconds(T, arm, e + 1).sum(), arm
    assert E.wall_epochs(T, E.REPLAY) == int(budget // 21)
    assert E.wall_epochs({"rigl": 1.0, "replay": 100.0, "table": 1.0}, E.REPLAY) == 1  # at least one epoch


def fake_wheel(folder: Path, scale=256):
    rng = np.random.default_rng(0)
    split = lambda n: ((rng.integers(0, 256, (n, 784)) / scale).astype(np.float32), rng.integers(0, 10, n))
    raw = io.BytesIO()
    with gzip.open(raw, "wb") as f:
        pickle.dump((split(5), split(3), split(2)), f)
    name, version, member = E.WHEEL
    with zipfile.ZipFile(folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl", "w") as z:
        z.writestr(member, raw.getvalue())


def test_mnist_from_the_wheel_is_exact_uint8(tmp_path):
    fake_wheel(tmp_path)
    d = E.load_mnist(tmp_path)
    assert {k: tuple(x.shape) for k, (x, _) in d.items()} == {
        "train": (5, 1, 28, 28),
        "val": (3, 1, 28, 28),
        "test": (2, 1, 28, 28),
    }
    x, y = d["train"]
    assert str(x.dtype) == "torch.uint8" and str(y.dtype) == "torch.int64"
    bad = tmp_path / "bad"
    bad.mkdir()
    fake_wheel(bad, scale=255.5)  # not multiples of 1/256: refused, not rounded silently
    with pytest.raises(ValueError, match="not multiples of 1/256"):
        E.load_mnist(bad)
