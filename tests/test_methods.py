"""The reference matrix's other methods end to end: gradual pruning, its lottery ticket, Small-Dense and SNFS through
nbs/train.ipynb (CIFAR-10 file format, authors' recipe) and `make eval`; the lottery ticket's start, bit for bit."""

import json
import pandas as pd, pytest, torch
from conftest import papermill_all, quadrant_data
from balance_sparse import fit, wrn
from balance_sparse.datasets import write_fake_cifar
from balance_sparse.evaluation import evaluate_run
from balance_sparse.train import WALL_CLOCK


@pytest.fixture(scope="module")
def matrix_runs(tmp_path_factory):
    "{method: run folder} of 2-epoch runs at density 0.3 (no correction), and the data folder."
    tmp = tmp_path_factory.mktemp("matrix")
    write_fake_cifar(tmp / "data", "cifar10", n_train=320, n_test=100)
    common = (
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
        "density",
        0.3,
        "correction",
        "no",
        "data_dir",
        tmp / "data",
    )
    for methods in (("pruning", "small_dense"), ("lottery", "snfs")):  # two at a time; lottery after the run it needs
        papermill_all(
            [
                (tmp / f"{m}.ipynb", *common, "method", m, "run_dir", tmp / m)
                + (("mask_from", tmp / "pruning") if m == "lottery" else ())
                for m in methods
            ]
        )
    return {m: tmp / m for m in ("pruning", "lottery", "small_dense", "snfs")}, tmp / "data"


def _config(run):
    return json.loads((run / "config.json").read_text())


@pytest.mark.parametrize("method", ["pruning", "lottery", "small_dense", "snfs"])
def test_make_eval_reproduces_the_final_test_accuracy(matrix_runs, method):
    runs, data = matrix_runs
    m = pd.read_csv(runs[method] / "metrics.csv")
    assert len(m) == 2 and json.loads((runs[method] / "final.json").read_text())["status"] == "complete"
    r = evaluate_run(runs[method], data, device="cpu")
    assert r["test_acc"] == m.test_acc.iloc[-1] and abs(r["test_loss"] - m.test_loss.iloc[-1]) <= 1e-9


def test_pruning_run(matrix_runs):
    runs, _ = matrix_runs
    cfg, m = _config(runs["pruning"]), pd.read_csv(runs["pruning"] / "metrics.csv")
    assert (
        cfg["warmup_steps"] == 3500 and cfg["prune_start"] == 0
    )  # the reference's warm-up; t0 scaled to a 15-step end
    # the authors' updates at g = 2, 5, 8, 11, 14 bring the prunable layers to s(g − 1) of the cubic schedule,
    # dense → 0.3; their s(13) = 0.7 · (1 − (2/15)³) stops short of 0.7, so the last update prunes on to the target
    masks = torch.load(runs["pruning"] / "checkpoint.pt", weights_only=False)["masking"]["masks"]
    first, *prunable = masks
    assert masks[first].all()  # the stem is never pruned
    n = sum(masks[k].numel() for k in prunable)
    assert sum(int(masks[k].sum()) for k in prunable) == round(0.3 * n)  # exactly the density it names
    assert m.density.iloc[1] < m.density.iloc[0] < 1
    assert m.train_flops.iloc[1] - m.train_flops.iloc[0] < m.train_flops.iloc[0]  # sparser epoch 2 costs less


def test_lottery_run_uses_the_pruning_mask(matrix_runs):
    runs, _ = matrix_runs
    pruned = torch.load(runs["pruning"] / "checkpoint.pt", weights_only=False)["masking"]["masks"]
    ticket = torch.load(runs["lottery"] / "checkpoint.pt", weights_only=False)["masking"]["masks"]
    assert all(torch.equal(pruned[n], ticket[n]) for n in pruned)
    assert _config(runs["lottery"])["initial_fingerprint"] == _config(runs["pruning"])["initial_fingerprint"]
    assert _config(runs["lottery"])["warmup_steps"] == 0  # the reference's Lottery target does not warm up


def test_small_dense_run(matrix_runs):
    runs, _ = matrix_runs
    cfg = _config(runs["small_dense"])
    info = cfg["small_dense"]
    assert cfg["parameters"] == info["params"] and abs(info["params"] / info["target"] - 1) <= 0.01
    assert pd.read_csv(runs["small_dense"] / "metrics.csv").density.eq(1.0).all()


# ---- the lottery ticket's start, through fit ---------------------------------------------------------------------
TRAIN, TEST = quadrant_data(64, 0), quadrant_data(32, 1)
KW = dict(epochs=2, batch_size=16, interval=2, density=0.3, progress=False, seed=0, device="cpu", correction=False)


def _net(seed=0):
    torch.manual_seed(seed)
    return wrn(10, 1, num_classes=4, dropout=0.0)


@pytest.fixture(scope="module")
def pruning_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("prune")
    fit(_net(), TRAIN, TEST, method="pruning", run_dir=d, **KW)
    return d


def test_lottery_starts_from_the_pruning_runs_initial_weights_bit_for_bit(pruning_folder, tmp_path):
    theta0 = {n: p.detach().clone() for n, p in _net().named_parameters()}
    masks = torch.load(pruning_folder / "checkpoint.pt", weights_only=False)["masking"]["masks"]
    ticket = _net()
    fit(
        ticket,
        TRAIN,
        TEST,
        method="lottery",
        mask_from=pruning_folder,
        run_dir=tmp_path / "l",
        stop_after_steps=0,
        **KW,
    )
    for n, p in ticket.named_parameters():
        expected = theta0[n] * masks[n] if n in masks else theta0[n]
        assert torch.equal(p.detach(), expected), n  # bit for bit, masked weights exactly 0


def test_lottery_refuses_what_it_cannot_use(pruning_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="lottery takes its mask from the pruning run .*train it first"):
        fit(_net(), TRAIN, TEST, method="lottery", mask_from=tmp_path / "nowhere", **KW)
    with pytest.raises(ValueError, match="mask_from must be a pruning run with density 0.3 and seed 1"):
        fit(_net(1), TRAIN, TEST, method="lottery", mask_from=pruning_folder, **{**KW, "seed": 1})
    with pytest.raises(ValueError, match="must start from the initial weights of"):
        fit(_net(5), TRAIN, TEST, method="lottery", mask_from=pruning_folder, **KW)  # other initial weights
    with pytest.raises(ValueError, match="method lottery needs mask_from"):
        fit(_net(), TRAIN, TEST, method="lottery", **KW)


# ---- SNFS before its first update ----------------------------------------------------------------------------------
def test_snfs_trains_as_rigl_and_static_until_its_first_update():
    "No update in 8 steps (ΔT 100): SNFS's dense momentum never reaches an active weight, so the three runs are one."
    runs = {}
    for method in ("rigl", "snfs", "static"):
        torch.manual_seed(0)
        net = wrn(10, 1, num_classes=4, dropout=0.0)
        df = fit(net, TRAIN, TEST, method=method, **{**KW, "interval": 100})
        runs[method] = (
            df.drop(columns=WALL_CLOCK + ["train_flops"]),  # SNFS's dense gradients cost more
            {k: v.detach().clone() for k, v in net.state_dict().items()},
        )
    for method in ("snfs", "static"):
        pd.testing.assert_frame_equal(runs[method][0], runs["rigl"][0])
        assert all(torch.equal(runs[method][1][k], v) for k, v in runs["rigl"][1].items()), method
