"""`correction_mode="table"` (nbs/03a_table.ipynb) is the SAGA-style step it claims to be: `fit` against a plain loop
written here from the formula — a dict of per-batch gradients, ā recomputed as their mean at every step, τ from
numpy — in float64, 103 images in batches of 16 (a last batch of 7), augmentation on, 4 epochs with 4 mask updates.
Then: a run stopped mid-epoch and resumed is the uninterrupted run (a table, a window), and a table inside a window
stops correcting."""

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from conftest import quadrant_data
from balance_sparse import fit, wrn
from balance_sparse.datasets import channel_stats
from balance_sparse.loaders import TensorLoader
from balance_sparse.masking import Masking
from balance_sparse.rigl import make_updater
from balance_sparse.settings import RunSettings
from balance_sparse.train import METRIC_COLUMNS, WALL_CLOCK
from balance_sparse.run import lr_factor, param_groups

KW = dict(epochs=4, batch_size=16, interval=5, density=0.3, lr=0.05, seed=3, augment=True, gamma=0.5, tau=0.5)
TRAIN = quadrant_data(103, 0)


def net():
    torch.manual_seed(0)
    return wrn(10, 1, num_classes=4, dropout=0.0).double()


def reference(x, y, **kw):
    "The table's update, written out plainly; the model, optimizer, masks and loader are the package's, as in `fit`."
    s = RunSettings(**kw).resolved("cpu", len(y))
    model = net()
    torch.manual_seed(s.seed)
    opt = torch.optim.SGD(param_groups(model, s.weight_decay), lr=s.lr, momentum=s.momentum, nesterov=s.nesterov)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(s.warmup_steps, s.lr_step, s.lr_gamma))
    masking = Masking(model, s.density, s.init, seed=s.seed, optimizer=opt, mask_init="exact")
    updater = make_updater(s.method, masking, s)
    mean, std = channel_stats(x)
    loader = TensorLoader(
        x, y, s.batch_size, mean=mean, std=std, device="cpu", seed=s.seed, augment=s.augment, shuffle=True,
        crop=s.crop, fixed_batches=True,
    )  # fmt: skip
    params = list(model.parameters())
    table, stored, tau, taus, step, updates, pairs = {}, {}, s.tau, [], 0, 0, []
    for epoch in range(s.epochs):
        if len(pairs) >= 2:  # τ from the last epoch's (ℓ now, ℓ at the visit before)
            now, before = np.array(pairs).T
            tau_curr = np.cov(now, before, ddof=1)[0, 1] / np.var(before, ddof=1)
            tau = (1 - s.alpha) * tau + s.alpha * tau_curr
        taus.append(tau)
        pairs = []
        loader.set_epoch(epoch)
        for b, (xb, yb) in zip(loader.batch_order(), loader):
            loss = F.cross_entropy(model(xb.double()), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if updater.is_update_step(step):
                updater.update(step)
                updates += 1
            else:
                g = [p.grad.clone() for p in params]
                if len(table) == len(loader):  # every batch has an entry
                    c = s.gamma * tau
                    for j, p in enumerate(params):
                        a_bar = sum(table[k][j] for k in sorted(table)) / len(table)
                        p.grad = g[j] + c * (a_bar - table[b][j])
                table[b] = g
                if b in stored:
                    pairs.append((loss.item(), stored[b]))
                stored[b] = loss.item()
                opt.step()
                masking.apply()
            sched.step()
            step += 1
    return model, taus, updates


def test_table_is_the_plain_loop():
    model, taus, updates = reference(*TRAIN, **KW)
    assert updates == 4  # steps 5, 10, 15, 20 (end_step = 21)
    ours = net()
    df = fit(ours, TRAIN, correction_mode="table", progress=False, **KW)
    np.testing.assert_allclose(df.tau.to_numpy(), taus, rtol=1e-12)
    assert df.tau.nunique() >= 3  # τ moved: the pairs were used
    for (k, a), b in zip(ours.named_parameters(), model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=k)
    ref = reference(*TRAIN, **{**KW, "gamma": 0.0})[0]  # and the correction did something
    assert max((a - b).abs().max().item() for a, b in zip(ours.parameters(), ref.parameters())) > 1e-6


@pytest.mark.parametrize(
    "stop, mode",
    [(9, dict(correction_mode="table")), (14, dict(correction_mode="table", probe_batches=2))]
    + [(9, dict(correction_mode="replay", correction_until=0.5, gamma_schedule="linear"))],
)  # mid-epoch 2; the end of epoch 2 (7 steps an epoch); a window whose end falls in the resumed part
def test_modes_resume_exactly(tmp_path, stop, mode):
    same = [c for c in METRIC_COLUMNS if c not in WALL_CLOCK]
    full = fit(net(), TRAIN, progress=False, run_dir=tmp_path / "full", **KW, **mode)
    fit(net(), TRAIN, progress=False, run_dir=tmp_path / "part", stop_after_steps=stop, **KW, **mode)
    resumed = fit(net(), TRAIN, progress=False, run_dir=tmp_path / "part", **KW, **mode)
    pd.testing.assert_frame_equal(resumed[same], full[same], check_exact=False, rtol=1e-12, atol=1e-15)


def test_a_table_in_a_window():
    df = fit(net(), TRAIN, correction_mode="table", correction_until=0.5, progress=False, **KW)
    assert df.gamma.tolist() == [0.5, 0.5, 0.0, 0.0]
    assert df.tau.iloc[2] == df.tau.iloc[1] == df.tau.iloc[3]  # no τ update after the window
