"""What fit() turns on for CUDA — bf16 autocast, channels_last, the device-resident loader, fused — run on the CPU.

No GPU reaches this project, so these are the only runs of the CUDA code paths before a user's first GPU run. The
speed settings are taken from `RunSettings.resolved("cuda", ...)`, so the matrix follows the defaults if they change.
"""

import numpy as np, pandas as pd, pytest, torch
from balance_sparse import fit, wrn, Masking
from balance_sparse.models import small_dense
from balance_sparse.runs import RunFolder
from balance_sparse.settings import RunSettings, SPEED_SETTINGS
from balance_sparse.train import METRIC_COLUMNS, WALL_CLOCK
from conftest import quadrant_data

CUDA_DEFAULTS = {k: getattr(RunSettings().resolved("cuda", n_train=1), k) for k in SPEED_SETTINGS if k != "num_workers"}
SAME = [c for c in METRIC_COLUMNS if c not in WALL_CLOCK]

TRAIN, TEST = quadrant_data(64, 0), quadrant_data(32, 1)
# 4 steps per epoch, 2 epochs; mask updates at steps 2 and 4 (end_step = 75% of 8 = 6)
KW = dict(epochs=2, batch_size=16, interval=2, density=0.3, progress=False, seed=0, device="cpu")


def run(method, correction, fused, run_dir=None, **extra):
    torch.manual_seed(0)
    model = (
        small_dense("wrn-10-1", KW["density"], 4, dropout=0.0)
        if method == "small_dense"
        else wrn(10, 1, num_classes=4, dropout=0.0)
    )
    df = fit(
        model,
        TRAIN,
        TEST,
        method=method,
        correction=correction,
        run_dir=run_dir,
        **{**CUDA_DEFAULTS, "fused": fused, **KW, **extra},
    )
    return model, df


def test_the_matrix_uses_what_cuda_picks():
    assert CUDA_DEFAULTS["amp"] is True and CUDA_DEFAULTS["channels_last"] is True and CUDA_DEFAULTS["loader"] == "gpu"


METHODS = (
    "rigl",
    "set",
    "static",
    "dense",
    "snfs",
    "pruning",
    "lottery",
    "small_dense",
)  # every method of the registry
MATRIX = [(m, c, f) for m in METHODS for c, f in ((False, False), (True, False), (True, True))]


@pytest.fixture(scope="module")
def pruning_run(tmp_path_factory):
    "The gradual-pruning run the lottery tickets take their mask from (same density, seed and initial weights)."
    d = tmp_path_factory.mktemp("pruning")
    run("pruning", False, False, d)
    return d


def test_the_matrix_covers_the_registry():
    from balance_sparse.rigl import UPDATE_METHODS

    assert set(METHODS) == set(UPDATE_METHODS)


@pytest.mark.parametrize("method, correction, fused", MATRIX)
def test_cuda_defaults_train_and_resume_on_cpu(tmp_path, request, method, correction, fused):
    extra = {"mask_from": request.getfixturevalue("pruning_run")} if method == "lottery" else {}
    model, full = run(method, correction, fused, tmp_path / "full", **extra)
    assert np.isfinite(full[["train_loss", "test_loss"]].values).all(), full
    assert full.tau.notna().all() == correction and np.isfinite(full.tau_curr).all() == correction
    convs = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)  # still channels_last after updates
    params = dict(model.named_parameters())
    initial = Masking(wrn(10, 1, num_classes=4, dropout=0.0), KW["density"])  # the initial masks (same seed)
    start = initial.nnz  # ... and per-layer counts
    nonzero = {n: int((params[n] != 0).sum()) for n in start}
    if method in ("rigl", "set", "snfs"):  # the updates moved weights
        assert any(not torch.equal(params[n].detach() != 0, initial.masks[n]) for n in start)
    if method in ("rigl", "set", "static"):
        assert nonzero == start  # exact per-layer counts, masked = 0
    if method == "snfs":
        assert abs(sum(nonzero.values()) - sum(start.values())) <= len(start)  # redistributed, total kept
    if method == "pruning":  # dense → 0.3 of the prunable layers
        assert full.density.iloc[0] < 1 and full.density.iloc[-1] < full.density.iloc[0]
    if method == "lottery":  # the pruning run's final mask, fixed
        masks = RunFolder(extra["mask_from"]).load_checkpoint(map_location="cpu")["masking"]["masks"]
        assert all(not params[n].detach()[~m].any() for n, m in masks.items())
        assert full.density.nunique() == 1 and full.density.iloc[0] == sum(int(m.sum()) for m in masks.values()) / sum(
            m.numel() for m in masks.values()
        )
    # a resume in the middle (mid-epoch 2, after both mask updates) ends exactly as the uninterrupted run
    _, part = run(method, correction, fused, tmp_path / "resumed", stop_after_steps=5, **extra)
    assert len(part) == 1
    _, resumed = run(method, correction, fused, tmp_path / "resumed", **extra)
    pd.testing.assert_frame_equal(resumed[SAME], full[SAME])


def test_dataloader_pipeline_with_cuda_defaults(tmp_path):
    _, df = run("rigl", True, False, loader="dataloader", num_workers=0)
    assert np.isfinite(df[["train_loss", "test_loss", "tau"]].values).all()


@pytest.mark.slow  # torch.compile on the CPU
def test_compile_on_cpu():
    _, compiled = run("rigl", True, False, compile=True)
    _, eager = run("rigl", True, False)
    assert np.isfinite(compiled[["train_loss", "test_loss", "tau"]].values).all()
    # compiled kernels round differently (bf16 autocast): same run, not the same bits
    np.testing.assert_allclose(compiled.train_loss.values, eager.train_loss.values, rtol=0.05)
