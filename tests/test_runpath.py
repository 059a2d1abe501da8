"""RunPath (nbs/07a_runpath.ipynb): every folder the settings can name parses back to its fields and rebuilds itself,
and is the folder `driver.default_run_dir` gave before RunPath owned the name."""

import itertools
from pathlib import Path

import pytest

from balance_sparse.driver import default_run_dir
from balance_sparse.rigl import UPDATE_METHODS
from balance_sparse.runpath import LAYOUT, RunPath
from balance_sparse.settings import CORRECTION_MODES, INITS, RECIPES, RunSettings


def _before(dataset: str, s: RunSettings, multiplier: int = 1, default_epochs: int | None = None) -> str:
    "`driver.default_run_dir` as it was written before RunPath (commit 37e03ed): the reference format."
    tag, m = ("" if s.recipe == "authors" else f"-{s.recipe}"), ("" if multiplier == 1 else f"{multiplier}x-")
    mode = "" if not s.correction or s.correction_mode in (None, "faithful") else f"-{s.correction_mode}"
    frac = "" if not s.correction or s.stats_fraction in (None, 1) else f"-sf{s.stats_fraction}"
    frac += "" if not s.correction or s.correction_until in (None, 1) else f"-w{s.correction_until}"
    frac += "-lin" if s.correction and s.gamma_schedule == "linear" else ""
    n = s.epochs // multiplier
    ep = "" if default_epochs is None or n == default_epochs else f"-e{n}"
    return (
        f"runs/{dataset}/{m}{s.method}-{s.init}-{'agc' if s.correction else 'base'}{mode}{frac}{tag}{ep}"
        f"/density{s.density}/seed{s.seed}"
    )


def _grid():
    "Every method × init × correction on/off × mode × stats fraction × window × γ schedule × recipe × -e{n} × 2×."
    for method, init, corr, mode, sf, until, gamma, recipe, (n, default), m in itertools.product(
        UPDATE_METHODS,
        INITS,
        (False, True),
        (None, *CORRECTION_MODES),
        (None, 0.25, 1e-05),
        (None, 0.5),
        ("constant", "linear"),
        RECIPES,
        ((250, 250), (3, 250), (7, None)),
        (1, 3),
    ):
        s = RunSettings(
            method=method, init=init, correction=corr, correction_mode=mode, stats_fraction=sf,
            correction_until=until, gamma_schedule=gamma, recipe=recipe, epochs=n * m, density=0.05, seed=3,
        )  # fmt: skip
        yield "cifar10", s, m, default


def test_round_trip_over_every_arm():
    seen = set()
    for dataset, s, m, default in _grid():
        p = RunPath.of(dataset, s, m, default)
        assert str(p) == _before(dataset, s, m, default) == default_run_dir(dataset, s, m, default)
        assert RunPath.parse(p.rel) == p, p.rel
        assert RunPath.parse(p.rel).rel == p.rel
        assert p.variant == Path(str(p)).parts[2:4]  # what tune's study names slice from default_run_dir today
        seen.add(p.rel)
    assert len(seen) > 1000


@pytest.mark.parametrize(
    "rel",
    [
        "cifar10/rigl-erk-agc/density0.2",  # no seed folder
        "runs/cifar10/rigl-erk-agc/density0.2/seed1",  # one level too deep
        "cifar10/rigl-erk/density0.2/seed1",  # no arm
        "cifar10/rigl-erk-agc-bogus-mode/density0.2/seed1",
        "cifar10/rigl-erk-agc/densityabc/seed1",
        "cifar10/rigl-erk-agc/density0.2/seed-1",
        "cifar10/rigl-erk-agc/d0.2/seed1",
    ],
)
def test_outside_the_layout(rel):
    with pytest.raises(ValueError) as e:
        RunPath.parse(rel)
    assert str(e.value) == f"outside the sweep layout (runs_dir/{LAYOUT})"


def test_variant_names_a_tuning_study():
    p = RunPath.of("cifar10", RunSettings(density=0.2, epochs=3), 1, 250)
    assert p.variant == ("rigl-erk-agc-clean-e3", "density0.2")
