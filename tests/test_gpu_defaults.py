"""What fit() turns on for CUDA — bf16 autocast, channels_last, the device-resident loader, fused — run on the CPU.

No GPU reaches this project, so these are the only runs of the CUDA code paths before a user's first GPU run. The
speed settings are taken from `RunSettings.resolved("cuda", ...)`, so the matrix follows the defaults if they change.
"""
import math, os
import numpy as np, pandas as pd, pytest, torch
from balance_sparse import fit, wrn, Masking
from balance_sparse.settings import RunSettings, SPEED_SETTINGS
from balance_sparse.train import METRIC_COLUMNS
from conftest import quadrant_data

CUDA_DEFAULTS = {k: getattr(RunSettings().resolved("cuda", n_train=1), k) for k in SPEED_SETTINGS if k != "num_workers"}
SAME = [c for c in METRIC_COLUMNS if c != "seconds"]

TRAIN, TEST = quadrant_data(64, 0), quadrant_data(32, 1)
# 4 steps per epoch, 2 epochs; mask updates at steps 2 and 4 (end_step = 75% of 8 = 6)
KW = dict(epochs=2, batch_size=16, interval=2, density=0.3, progress=False, seed=0, device="cpu")

def run(method, correction, fused, run_dir=None, **extra):
    torch.manual_seed(0)
    model = wrn(10, 1, num_classes=4, dropout=0.0)
    df = fit(model, TRAIN, TEST, method=method, correction=correction, run_dir=run_dir, **{**CUDA_DEFAULTS, "fused": fused, **KW, **extra})
    return model, df

def test_the_matrix_uses_what_cuda_picks():
    assert CUDA_DEFAULTS["amp"] is True and CUDA_DEFAULTS["channels_last"] is True and CUDA_DEFAULTS["loader"] == "gpu"

MATRIX = [(m, c, f) for m in ("rigl", "set", "static", "dense") for c, f in ((False, False), (True, False), (True, True))]

@pytest.mark.parametrize("method, correction, fused", MATRIX)
def test_cuda_defaults_train_and_resume_on_cpu(tmp_path, method, correction, fused):
    model, full = run(method, correction, fused, tmp_path / "full")
    assert np.isfinite(full[["train_loss", "test_loss"]].values).all(), full
    assert full.tau.notna().all() == correction and np.isfinite(full.tau_curr).all() == correction
    convs = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)     # still channels_last after updates
    if method != "dense":                                                             # exact per-layer counts, masked = 0
        nnz = Masking(wrn(10, 1, num_classes=4, dropout=0.0), KW["density"]).nnz
        params = dict(model.named_parameters())
        assert {n: int((params[n] != 0).sum()) for n in nnz} == nnz
    # a resume in the middle (mid-epoch 2, after both mask updates) ends exactly as the uninterrupted run
    _, part = run(method, correction, fused, tmp_path / "resumed", stop_after_steps=5)
    assert len(part) == 1
    _, resumed = run(method, correction, fused, tmp_path / "resumed")
    pd.testing.assert_frame_equal(resumed[SAME], full[SAME])

def test_dataloader_pipeline_with_cuda_defaults(tmp_path):
    _, df = run("rigl", True, False, loader="dataloader", num_workers=0)
    assert np.isfinite(df[["train_loss", "test_loss", "tau"]].values).all()

@pytest.mark.skipif(not os.environ.get("RUN_SLOW"), reason="slow: torch.compile on the CPU (make test-slow)")
def test_compile_on_cpu():
    _, compiled = run("rigl", True, False, compile=True)
    _, eager = run("rigl", True, False)
    assert np.isfinite(compiled[["train_loss", "test_loss", "tau"]].values).all()
    # compiled kernels round differently (bf16 autocast): same run, not the same bits
    np.testing.assert_allclose(compiled.train_loss.values, eager.train_loss.values, rtol=0.05)
