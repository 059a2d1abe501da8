"""The docs site (`make docs`: Sphinx + MyST-NB, docs/conf.py), built here from a copy of the sources: no warning at
all, README.md as the home page, a page for every notebook, every public name on the API page, and broken internal
links (a doc link, a heading anchor, a Python reference) failing the build."""

import json, re, runpy, shutil, subprocess, sys
from pathlib import Path
import pytest
import balance_sparse

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb"))
GENERATED = {"_build", "nbs", "api"}  # what docs/conf.py and the build write into docs/


def copy_sources(dest: Path) -> None:
    "What the site is built from: docs/ (without what builds generate), README, BENCHMARKS, settings, assets, nbs."
    for name in ("README.md", "BENCHMARKS.md", "settings.ini"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("assets", "nbs"):
        shutil.copytree(ROOT / name, dest / name)
    docs = ROOT / "docs"
    shutil.copytree(docs, dest / "docs", ignore=lambda d, names: GENERATED & set(names) if Path(d) == docs else [])


def build(src: Path, out: Path, doctrees: Path) -> tuple[int, str, str]:
    "make docs' sphinx-build (warnings are errors, nitpicky) on a source copy: (exit code, warnings, output)."
    warnings = out.parent / f"{out.name}-warnings.txt"
    r = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html"]
        + [str(src / "docs"), str(out), "-d", str(doctrees), "-w", str(warnings)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    return r.returncode, warnings.read_text() if warnings.exists() else "", r.stdout + r.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    src, out = tmp_path_factory.mktemp("docs-src"), tmp_path_factory.mktemp("docs-out")
    copy_sources(src)
    code, warnings, log = build(src, out / "html", out / "doctrees")
    return src, out, code, warnings, log


def public_names() -> list[str]:
    "`balance_sparse.__all__`, or without it every public name of the package that is not a submodule."
    names = getattr(balance_sparse, "__all__", None)
    if names is None:
        names = [n for n, v in vars(balance_sparse).items() if not n.startswith("_") and type(v).__name__ != "module"]
    return list(names)


def test_builds_without_warnings(site):
    _, _, code, warnings, log = site
    assert code == 0 and not warnings.strip(), f"exit {code}\n{warnings}\n{log[-3000:]}"


def test_home_page_is_the_readme(site):
    _, out, *_ = site
    html = (out / "html" / "index.html").read_text()
    title = next(l for l in (ROOT / "README.md").read_text().splitlines() if l.startswith("# "))[2:].strip()
    assert re.search(rf"<h1>{re.escape(title)}<a class=\"headerlink\"", html), title
    for image in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", (ROOT / "README.md").read_text()):
        assert (out / "html" / "_images" / Path(image).name).exists(), image  # README images are copied and shown
    assert 'href="architecture.html"' in html  # README's docs/architecture.md link, rewritten to its page
    for page in ("running", "matrix", "settings", "scaling", "library", "developing"):  # the reference material
        assert f'href="{page}.html"' in html, page
        assert (out / "html" / f"{page}.html").exists(), page


def test_every_notebook_has_a_page(site):
    "A page per notebook, titled, with its code but none of nbdev's `#|` directives."
    _, out, *_ = site
    assert NOTEBOOKS
    for nb in NOTEBOOKS:
        page = out / "html" / "nbs" / f"{nb.stem}.html"
        assert page.exists(), f"no page for {nb.name}"
        html = page.read_text()
        assert "<h1>" in html and 'class="cell docutils container' in html, nb.name
        assert "#|" not in html, f"{nb.name}: an nbdev directive is shown"


def test_api_page_lists_every_public_name(site):
    _, out, *_ = site
    api = out / "html" / "api"
    index = (api / "index.html").read_text()
    for name in public_names():
        m = re.search(rf'href="([^"#]+)#([^"]+)"[^>]*><code[^>]*><span class="pre">{re.escape(name)}</span>', index)
        assert m, f"balance_sparse.{name} is not on the API page"
        page, anchor = m.groups()
        assert f'id="{anchor}"' in (api / page).read_text(), f"{name}: {page}#{anchor} does not exist"


def test_broken_internal_links_fail_the_build(site, tmp_path):
    "A broken doc link (README), heading anchor (a notebook) and Python reference (a docs page) each fail the build."
    src, out, *_ = site
    readme, nb, page = src / "README.md", src / "nbs" / NOTEBOOKS[0].name, src / "docs" / "architecture.md"
    saved = {p: p.read_text() for p in (readme, nb, page)}
    try:
        readme.write_text(saved[readme] + "\nSee [a page that is not there](docs/no-such-page.md).\n")
        notebook = json.loads(saved[nb])
        notebook["cells"].append(
            {"cell_type": "markdown", "metadata": {}, "source": "[a heading that is not there](#no-such-heading)"}
        )
        nb.write_text(json.dumps(notebook, indent=1))
        page.write_text(saved[page] + "\nAlso {py:func}`balance_sparse.no_such_function`.\n")
        shutil.copytree(out / "doctrees", tmp_path / "doctrees")  # incremental: only the changed pages are read
        code, warnings, log = build(src, tmp_path / "html", tmp_path / "doctrees")
    finally:
        for p, text in saved.items():
            p.write_text(text)
    assert code != 0, log[-3000:]
    for target in ("no-such-page", "no-such-heading", "balance_sparse.no_such_function"):
        assert target in warnings, f"{target} not reported:\n{warnings}"


def test_drivers_are_never_executed(site):
    "DOCS_EXECUTE=1 executes through MyST-NB's cache, but never the papermill drivers (they need CIFAR or runs)."
    src, *_ = site
    conf = runpy.run_path(str(src / "docs" / "conf.py"))
    assert conf["nb_execution_mode"] == "off"
    drivers = {f"nbs/{n}" for n in ("train.ipynb", "tune.ipynb", "figures.ipynb") if (ROOT / "nbs" / n).exists()}
    assert drivers and drivers <= set(conf["nb_execution_excludepatterns"])


@pytest.mark.parametrize("value", ["1", "yes", "0", "off", "maybe"])
def test_make_docs_checks_docs_execute(value):
    r = subprocess.run(["make", "-n", "docs", f"DOCS_EXECUTE={value}"], cwd=ROOT, capture_output=True, text=True)
    if value == "maybe":
        assert r.returncode != 0 and "DOCS_EXECUTE must be" in r.stderr and "'maybe'" in r.stderr, r.stderr
    else:
        assert r.returncode == 0, r.stderr
        assert ("-D nb_execution_mode=cache" in r.stdout) == (value in ("1", "yes")), r.stdout
        assert "-W --keep-going -n" in r.stdout
