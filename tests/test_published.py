"""Published numbers beside ours: the data file `balance_sparse/published.csv` (every number with its source,
shipped with the package), and the results table and the accuracy figures of `make vis` showing, beside our rows of a
published setting, the published means with their source, Δ = ours − published and z = Δ / √(s²/n + SE_pub²)."""

import csv, importlib.resources, json, math, re
from pathlib import Path
import pandas as pd, pytest
from conftest import ROOT
from test_figures import figures, outputs, md_rows, check_panels, check_pngs, check_results_csv, check_results_md
from test_results_grouping import write_run
from balance_sparse.collect import load_runs
from balance_sparse.published import load_published, SPREAD_KINDS
from balance_sparse.report import results_markdown
from balance_sparse.results import results_table

CSV = ROOT / "balance_sparse" / "published.csv"
PUB_COLUMN = "published test acc (%): Δ = ours − published, z"

# The numbers as their public sources give them: (source, method, init, multiplier, density) -> (mean %, spread, train
# FLOPs ×); sundar2021: the README of the report's code; evci2020: the first author's comment of 2020-11-19 in
# https://github.com/google-research/rigl/issues/8 (accuracy × 100, density = 1 − sparsity)
ISSUE = {
    ("sundar2021", "small_dense", "", 1, 0.2): (91.0, 0.07, 0.20),
    ("sundar2021", "static", "uniform", 1, 0.2): (91.2, 0.16, 0.20),
    ("sundar2021", "set", "uniform", 1, 0.2): (92.7, 0.28, 0.20),
    ("sundar2021", "rigl", "uniform", 1, 0.2): (92.6, 0.10, 0.20),
    ("sundar2021", "set", "erk", 1, 0.2): (92.9, 0.16, 0.35),
    ("sundar2021", "rigl", "erk", 1, 0.2): (93.1, 0.09, 0.35),
    ("sundar2021", "pruning", "", 1, 0.2): (93.2, 0.27, 0.41),
    ("sundar2021", "rigl", "uniform", 2, 0.2): (93.0, 0.21, 0.41),
    ("sundar2021", "rigl", "erk", 2, 0.2): (93.3, 0.09, 0.70),
}
for _m, _i, _x, _vals in (
    ("rigl", "erk", 1, (91.8, 92.9, 93.6, 94.2)),
    ("rigl", "erk", 2, (92.4, 93.3, 93.8, 94.2)),
    ("static", "erk", 1, (89.0, 91.5, 92.9, 94.1)),
    ("static", "erk", 2, (89.7, 91.8, 93.2, 94.1)),
    ("pruning", "", 1, (92.3, 93.3, 93.6, 94.0)),
):
    for _d, _v in zip((0.05, 0.1, 0.2, 0.5), _vals):
        ISSUE[("evci2020", _m, _i, _x, _d)] = (_v, None, None)


def test_every_number_has_a_source_and_a_known_spread():
    rows = list(csv.DictReader(CSV.open(encoding="utf-8")))
    assert len(rows) == len(ISSUE) + 2  # + the two claims of the paper reproduced here
    for r in rows:
        for col in ("source_key", "source_short", "source", "url", "where", "checked", "setting_differences"):
            assert r[col].strip(), (col, r)
        assert r["url"].startswith("https://"), r
        assert r["spread_kind"] in SPREAD_KINDS and r["spread_kind"] in ("sd", "se", "unknown", "none"), r
        assert (r["spread"] == "") == (r["spread_kind"] == "none"), r
        if r["spread_kind"] == "sd":
            assert int(r["seeds"]) >= 2, r  # an sd says over how many seeds
        assert r["checked"].startswith("checked: "), r  # every number compared with its public source
        assert not re.search(r"\bissue \d", " ".join(r.values())), r  # a public source, never this project's tracker
    pub = load_published()  # the same file, read and checked by the library
    assert len(pub) == len(rows)
    got = {
        (r.source_key, r.method, r.init, int(r.multiplier), r.density): (
            r.value,
            None if math.isnan(r.spread) else r.spread,
            None if math.isnan(r.train_flops_x_dense) else r.train_flops_x_dense,
        )
        for r in pub[pub.kind == "result"].itertuples()
    }
    assert got == ISSUE
    res = pub[pub.kind == "result"]
    assert (res.dataset == "cifar10").all() and (res.model == "wrn-22-2").all()
    assert (res.epochs == 250 * res.multiplier).all() and (res[res.source_key == "sundar2021"].seeds == 3).all()
    assert set(res[res.source_key == "sundar2021"].spread_kind) == {"sd"}
    evci = res[res.source_key == "evci2020"]
    assert (evci.url == "https://github.com/google-research/rigl/issues/8").all()
    for r in evci.itertuples():  # each row names its line of the thread: label, sparsity and accuracy
        label = {"rigl": "RigL", "static": "Static", "pruning": "Pruning"}[r.method]
        assert f"block '{label}" in r.where and f"'Sparsity: {1 - r.density:g}, Acc: {r.value / 100:.3f}'" in r.where
        assert "50,000" in r.setting_differences and "not checked here" in r.checked
    pruning = evci[evci.method == "pruning"].setting_differences
    assert pruning.str.contains("labels this row 'Pruning (ERK)'", regex=False).all()
    claims = pub[pub.kind == "claim"]
    assert claims.value_text.tolist() == ["5.0", "52.1"] and set(claims.source_key) == {"lei2023"}
    assert (claims["where"] == "abstract").all() and claims.method.eq("").all()  # claims: no setting to compare with


def test_the_data_file_ships_with_the_package():
    found = importlib.resources.files("balance_sparse").joinpath("published.csv")
    assert found.is_file() and found.read_text(encoding="utf-8") == CSV.read_text(encoding="utf-8")
    assert "include balance_sparse/published.csv" in (ROOT / "MANIFEST.in").read_text().splitlines()
    assert "include_package_data=True" in (ROOT / "setup.py").read_text()


# ---- fake CIFAR-10 / WRN-22-2 runs of published settings (as `fit` writes them, see test_results_grouping) ----------
def cifar(**over):
    return dict(dataset="cifar10", model_name="wrn-22-2", preset=None, num_classes=10, epochs=250) | over


RUNS = {  # folder: (final test accuracy, seed, config overrides)
    **{f"cifar10/rigl-erk-base/density0.2/seed{s}": (a, s, cifar()) for s, a in enumerate((0.930, 0.932, 0.928))},
    **{
        f"cifar10/rigl-erk-agc/density0.2/seed{s}": (a, s, cifar(correction=True)) for s, a in enumerate((0.935, 0.937))
    },
    **{
        f"cifar10/2x-rigl-erk-base/density0.2/seed{s}": (a, s, cifar(epochs=500, multiplier=2))
        for s, a in enumerate((0.935, 0.933))
    },
    **{
        f"cifar10/small_dense-erk-base/density0.2/seed{s}": (a, s, cifar(method="small_dense"))
        for s, a in enumerate((0.912, 0.910))
    },
}
# by hand: RigL-ERK 1× ours 93.0 ± 0.2 (n=3) vs the report's 93.1 ± 0.09 (sd, n=3)
Z_RIGL = (93.0 - 93.1) / math.sqrt(0.2**2 / 3 + 0.09**2 / 3)  # -0.79
Z_2X = (93.4 - 93.3) / math.sqrt(0.02 / 2 + 0.09**2 / 3)  # +0.89
Z_SMALL = (91.1 - 91.0) / math.sqrt(0.02 / 2 + 0.07**2 / 3)  # +0.93


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("published") / "runs"
    for rel, (acc, seed, over) in RUNS.items():
        write_run(root, rel, acc, seed, **over)
    return root


def cells_by_row(md):
    "results.md's rows keyed by (method, init, epochs, correction)."
    return {(r["method"], r["init"], r["epochs"], r["correction"]): r for r in md_rows(md)}


def test_results_table_shows_the_published_numbers_beside_our_rows(runs):
    table = results_table(load_runs(runs)[0])
    md = results_markdown(table, published=load_published())
    rows = cells_by_row(md)
    assert md.splitlines()[0].endswith(f" | {PUB_COLUMN} |")
    assert f"{Z_RIGL:+.2f}" == "-0.79"
    assert rows[("rigl", "erk", "250", "no")][PUB_COLUMN] == (
        "93.1 ± 0.09 (sd, n=3) Sundar & Dwaraknath 2021: Δ -0.10 pp, z = -0.79<br>"
        "93.6 Evci et al. 2020: Δ -0.60 pp, no z (no published spread)"
    )
    assert rows[("rigl", "erk", "500", "no")][PUB_COLUMN] == (
        f"93.3 ± 0.09 (sd, n=3) Sundar & Dwaraknath 2021: Δ +0.10 pp, z = {Z_2X:+.2f}<br>"
        "93.8 Evci et al. 2020: Δ -0.40 pp, no z (no published spread)"
    )
    assert rows[("small_dense", "erk", "250", "no")][PUB_COLUMN] == (
        f"91.0 ± 0.07 (sd, n=3) Sundar & Dwaraknath 2021: Δ +0.10 pp, z = {Z_SMALL:+.2f}"
    )
    assert rows[("rigl", "erk", "250", "yes")][PUB_COLUMN] == "—‡"  # no published run with the correction
    assert "†" not in md and "issue 20" not in md  # every number checked against its public source
    assert "z = Δ / √(s²/n + SE_pub²), SE_pub = sd_pub/√n_pub" in md
    assert "up to 5.0 % (Lei et al. 2023, abstract)" in md and "up to 52.1 % (Lei et al. 2023, abstract)" in md
    assert "Where Sundar & Dwaraknath 2021's setting differs from ours: " in md
    assert "Small-Dense-ERK, density 0.2, 250 epochs: their Small-Dense widths" in md


def test_make_vis_shows_the_published_numbers(runs, tmp_path):
    out, nb = tmp_path / "figs", tmp_path / "figures.ipynb"
    figures(runs, out, nb)
    errors, text = outputs(nb)
    assert errors == []
    check_pngs(out)
    check_panels(out, runs, text)
    check_results_csv(out / "results.csv", runs)
    md, _ = check_results_md(out / "results.md", runs)
    rows = cells_by_row(md)
    assert rows[("rigl", "erk", "250", "no")][PUB_COLUMN].startswith(
        "93.1 ± 0.09 (sd, n=3) Sundar & Dwaraknath 2021: Δ -0.10 pp, z = -0.79<br>93.6 Evci et al. 2020:"
    )
    assert rows[("rigl", "erk", "250", "yes")][PUB_COLUMN] == "—‡"
    beside = pd.read_csv(out / "published_beside.csv", keep_default_na=False, na_values=[""])
    one = beside[(beside.method == "rigl") & (beside.epochs == 250)].set_index("source_key")
    assert one.loc["sundar2021", "z"] == pytest.approx(Z_RIGL) and one.loc["sundar2021", "diff_pp"] == pytest.approx(
        -0.1
    )
    assert math.isnan(one.loc["evci2020", "z"]) and one.loc["evci2020", "diff_pp"] == pytest.approx(-0.6)
    assert len(beside) == 5 and not beside.correction.any()  # 2 + 2 (RigL 1×, 2×) + 1 (Small-Dense)
    assert "5 published number(s) beside 3 row(s) of ours" in text
    panels = json.loads((out / "figures.json").read_text())
    drawn = lambda name: sorted(
        (d["source_key"], d["method"], d["epochs"], d["value"]) for d in panels[name]["published"]
    )
    want = sorted(
        [
            ("evci2020", "rigl", 250, 93.6),
            ("evci2020", "rigl", 500, 93.8),
            ("sundar2021", "rigl", 250, 93.1),
            ("sundar2021", "rigl", 500, 93.3),
            ("sundar2021", "small_dense", 250, 91.0),
        ]
    )
    assert drawn("accuracy.png") == want and drawn("accuracy_vs_flops.png") == want
    assert all(not panels[n]["published"] for n in panels if n not in ("accuracy.png", "accuracy_vs_flops.png"))
    assert "published means of the same setting" in panels["accuracy.png"]["title"]


def test_no_published_setting_says_nothing_of_it(tmp_path):
    "Digits runs: the published column holds '—' (and '—‡' for the corrected row); no source is named."
    runs = tmp_path / "runs"
    for seed in (0, 1):
        write_run(runs, f"digits/rigl-erk-base/density0.2/seed{seed}", 0.5 + seed / 10, seed)
        write_run(runs, f"digits/rigl-erk-agc/density0.2/seed{seed}", 0.6 + seed / 10, seed, correction=True)
    md = results_markdown(results_table(load_runs(runs)[0]), published=load_published())
    rows = cells_by_row(md)
    assert rows[("rigl", "erk", "1", "no")][PUB_COLUMN] == "—" and rows[("rigl", "erk", "1", "yes")][PUB_COLUMN] == "—‡"
    assert "Sundar" not in md and "Evci" not in md and "†" not in md and "CIFAR" not in md
    assert Path(CSV).exists()
