"""`fit(recipe="authors")` against an independent step-by-step transcription of the authors' training step.

The transcription below is written from the recipe table (docs/settings.md, "Where we differ"), not from our modules:
plain tensor code for the masks, drop and grow, momentum, the correction and Nesterov SGD with decoupled weight-decay
groups. It shares with `fit` only what is not under test: the network's forward (`functional_call` on the same module),
the ERK layer densities, and the data order (the same seeded `TensorLoader`, no augmentation).

Rows exercised (the table of docs/settings.md): 1 update steps (g+1) % ΔT == 0; 2 drop fraction at g − 1 with T =
round(0.75·E·n/B); 3 ERK-dense layers updated under the prune-rate adjustment; 4 regrown weights keep their momentum; 5
no snapshot pass on update steps; 6 an independently initialised, unmasked first snapshot; 7 fixed normalisation
constants (given as mean/std); 10 a non-finite τ_curr would propagate (no NaN arises here: the rule itself is tested in
nbs/03_correction.ipynb); 11 Bernoulli initial masks. Row 8 (the validation split) is data loading: tested below on data
in CIFAR's file format. Row 9 (CIFAR-100's schedule) is `lr_factor`, tested in nbs/09b_run.ipynb.

Everything runs in float64, so the only differences are the two codes' rounding orders: 1e-12 leaves ~3 orders of
magnitude of room over the run's 9 steps."""

import copy, math
import numpy as np, torch
from conftest import quadrant_data
import torch.nn.functional as F
from torch.func import functional_call
from balance_sparse import fit, wrn, TensorLoader, erk_densities, maskable_weights
from balance_sparse.settings import RunSettings

N, B, EPOCHS, DT, DENSITY, SEED = 48, 16, 3, 2, 0.2, 0
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)  # the authors' CIFAR-10 constants
LR, MOM, WD, LR_STEP, LR_GAMMA, R0, GAMMA, ALPHA, TAU0 = 0.1, 0.9, 5e-4, 4, 0.2, 0.3, 0.1, 0.3, 0.1
TOL = 1e-12


def nets():
    torch.manual_seed(0)
    model = wrn(10, 1, num_classes=4, dropout=0.0).double()
    torch.manual_seed(1)
    snapshot = wrn(10, 1, num_classes=4, dropout=0.0).double()  # independent, never masked
    return model, snapshot


class Authors:
    "The authors' training step, transcribed from the table."

    def __init__(self, model, snapshot):
        self.f = copy.deepcopy(model)  # only as the function f(params, buffers, x)
        self.p = {n: t.detach().clone() for n, t in model.named_parameters()}
        self.b = {n: t.detach().clone() for n, t in model.named_buffers()}
        self.sp = {n: t.detach().clone() for n, t in snapshot.named_parameters()}
        self.sb = {n: t.detach().clone() for n, t in snapshot.named_buffers()}
        self.masked = list(maskable_weights(model))
        dens, gen = erk_densities(model, DENSITY, "erk"), torch.Generator().manual_seed(SEED)
        self.m = {n: torch.rand(self.p[n].shape, generator=gen) < dens[n] for n in self.masked}  # row 11: Bernoulli
        for n in self.masked:
            self.p[n] = self.p[n] * self.m[n]
        self.mom, self.tau, self.u = {}, TAU0, None
        self.end = round(0.75 * EPOCHS * N / B)  # row 2: T = round(0.75 · epochs · n / batch)

    def loss_grad(self, params, buffers, x, y):
        ps = {n: t.detach().requires_grad_() for n, t in params.items()}
        loss = F.cross_entropy(functional_call(self.f, (ps, buffers), (x,)), y)
        return loss.detach(), dict(zip(ps, torch.autograd.grad(loss, list(ps.values()))))

    def epoch_start(self, batches):
        """ū = mean of the model's batch gradients, τ from (model, previous snapshot) losses, then θ̃ ← θ (parameters
        only)."""
        total, losses, snap = None, [], []
        for x, y in batches:
            loss, g = self.loss_grad(self.p, self.b, x, y)
            total = g if total is None else {n: total[n] + g[n] for n in g}
            losses.append(loss.item())
            with torch.no_grad():
                snap.append(F.cross_entropy(functional_call(self.f, (self.sp, self.sb), (x,)), y).item())
        tau_curr = np.cov(losses, snap, ddof=1)[0, 1] / np.var(snap, ddof=1)
        self.tau = (1 - ALPHA) * self.tau + ALPHA * tau_curr  # row 10: no guard
        self.u = {n: t / len(losses) for n, t in total.items()}
        self.sp = {n: t.clone() for n, t in self.p.items()}

    def step(self, g, x, y):
        loss, grad = self.loss_grad(self.p, self.b, x, y)
        if g < self.end and (g + 1) % DT == 0:  # row 1
            self.update(g, grad)  # no optimizer step; row 5: no snapshot pass
            return
        _, gs = self.loss_grad(self.sp, self.sb, x, y)
        lr = LR * LR_GAMMA ** (g // LR_STEP)
        for n in self.p:
            d = grad[n] + (GAMMA * self.tau) * (self.u[n] - gs[n])
            d = d + (WD if self.p[n].ndim >= 2 else 0.0) * self.p[n]
            self.mom[n] = d.clone() if n not in self.mom else MOM * self.mom[n] + d
            self.p[n] = self.p[n] - lr * (d + MOM * self.mom[n])  # Nesterov
        for n in self.masked:
            self.p[n] = self.p[n] * self.m[n]
            self.mom[n] = self.mom[n] * self.m[n]

    def update(self, g, grad):
        r = R0 * 0.5 * (1 + math.cos(math.pi * max(g - 1, 0) / self.end))  # row 2: at g − 1
        nonzero = {n: int((self.p[n] != 0).sum()) for n in self.masked}
        total, L = sum(nonzero.values()), len(self.masked)
        for n in self.masked:  # row 3: every layer, dense ones included
            m, w, gr = self.m[n].flatten().numpy().copy(), self.p[n].flatten().numpy().copy(), grad[n].flatten().numpy()
            active, sparsity = int(m.sum()), 1 - m.sum() / m.size
            rate = min(sparsity, r) if sparsity < 0.2 and nonzero[n] * L > total else r
            k = math.ceil(rate * active)
            if k == 0:
                continue
            on = np.flatnonzero(m)
            m[on[np.argsort(np.abs(w[on]), kind="stable")[:k]]] = False  # drop the k smallest |w|
            off = np.flatnonzero(~m)
            grow = off[np.argsort(-np.abs(gr[off]), kind="stable")[:k]]  # grow the k largest |grad|
            m[grow] = True
            w[grow] = 0.0
            self.m[n] = torch.from_numpy(m).view(self.m[n].shape)
            self.p[n] = torch.from_numpy(w).view(self.p[n].shape) * self.m[n]
            if n in self.mom:
                self.mom[n] = self.mom[n] * self.m[n]  # row 4: regrown positions keep their momentum


def test_fit_authors_recipe_matches_the_transcription_at_every_step():
    train, test = quadrant_data(N, 0), quadrant_data(16, 1)
    model, snapshot = nets()
    ref = Authors(model, snapshot)
    loader = TensorLoader(*train, B, mean=MEAN, std=STD, seed=SEED, shuffle=True)
    states = []
    for e in range(EPOCHS):
        loader.set_epoch(10**6 + e)
        ref.epoch_start([(x.double(), y) for x, y in loader])
        loader.set_epoch(e)
        for x, y in loader:
            ref.step(len(states), x.double(), y)
            states.append(
                copy.deepcopy({"p": ref.p, "m": ref.m, "mom": ref.mom, "tau": ref.tau, "u": ref.u, "b": ref.b})
            )
    updates = [g for g in range(len(states)) if g < ref.end and (g + 1) % DT == 0]
    assert updates == [1, 3, 5] and len(states) == 9

    checked = []

    def compare(s):
        want, g = states[s["step"] - 1], s["step"] - 1
        params = dict(s["model"].named_parameters())
        for n, p in params.items():
            torch.testing.assert_close(p.detach(), want["p"][n], rtol=0, atol=TOL, msg=f"step {g}: {n}")
        for n, b in s["model"].named_buffers():
            if b.is_floating_point():
                torch.testing.assert_close(b, want["b"][n], rtol=0, atol=TOL, msg=f"step {g}: buffer {n}")
        for n, m in s["masking"].masks.items():
            assert torch.equal(m.cpu(), want["m"][n]), f"step {g}: mask {n}"
        for n, p in params.items():
            if n in want["mom"]:
                torch.testing.assert_close(
                    s["optimizer"].state[p]["momentum_buffer"],
                    want["mom"][n],
                    rtol=0,
                    atol=TOL,
                    msg=f"step {g}: momentum {n}",
                )
        assert abs(s["correction"].tau - want["tau"]) < TOL, (g, s["correction"].tau, want["tau"])
        for (n, _), u in zip(params.items(), s["correction"].mean_grad):
            torch.testing.assert_close(u, want["u"][n], rtol=0, atol=TOL, msg=f"step {g}: ū {n}")
        checked.append(g)

    fit(
        model,
        train,
        test,
        settings=RunSettings(recipe="authors"),
        snapshot=snapshot,
        mean=MEAN,
        std=STD,
        on_step=compare,
        epochs=EPOCHS,
        batch_size=B,
        interval=DT,
        density=DENSITY,
        seed=SEED,
        lr=LR,
        lr_step=LR_STEP,
        augment=False,
        progress=False,
        device="cpu",
    )
    assert checked == list(range(9))
    dense = [n for n, m in ref.m.items() if m.all()]
    assert dense, "row 3 needs a layer ERK keeps dense"


def test_clean_recipe_leaves_the_transcription():
    "The same run with the clean recipe is another trajectory (so the comparison above can fail)."
    train, test = quadrant_data(N, 0), quadrant_data(16, 1)
    model, snapshot = nets()
    ref = Authors(model, snapshot)
    first = {}
    fit(
        model,
        train,
        test,
        settings=RunSettings(recipe="authors", update_steps="clean"),
        snapshot=snapshot,
        mean=MEAN,
        std=STD,
        on_step=lambda s: (
            first.setdefault("m", {n: m.clone() for n, m in s["masking"].masks.items()}) if s["step"] == 2 else None
        ),
        epochs=EPOCHS,
        batch_size=B,
        interval=DT,
        density=DENSITY,
        seed=SEED,
        lr=LR,
        lr_step=LR_STEP,
        augment=False,
        progress=False,
    )
    loader = TensorLoader(*train, B, mean=MEAN, std=STD, seed=SEED, shuffle=True)
    loader.set_epoch(10**6)
    ref.epoch_start([(x.double(), y) for x, y in loader])
    loader.set_epoch(0)
    for g, (x, y) in zip(range(2), loader):
        ref.step(g, x.double(), y)
    assert any(
        not torch.equal(first["m"][n], ref.m[n]) for n in ref.m
    )  # masks moved at step 1 (authors) vs not (clean)


def test_row8_validation_is_the_last_tenth_of_the_training_files(tmp_path):
    from balance_sparse.datasets import write_fake_cifar, load_cifar
    from balance_sparse.driver import load_run_data

    write_fake_cifar(tmp_path, "cifar10", n_train=200, n_test=20)
    files = load_cifar("cifar10", tmp_path, val_fraction=0.0)  # every training image, in file order
    splits, mean, std = load_run_data("cifar10", tmp_path, RunSettings(recipe="authors"))
    assert torch.equal(splits.val[0], files.train[0][180:]) and torch.equal(splits.train[0], files.train[0][:180])
    assert mean == (0.4914, 0.4822, 0.4465) and std == (0.2023, 0.1994, 0.2010)  # row 7: the authors' constants
    clean, cmean, _ = load_run_data("cifar10", tmp_path, RunSettings(recipe="clean"))
    assert not torch.equal(clean.val[0], files.train[0][180:]) and cmean == clean.mean
