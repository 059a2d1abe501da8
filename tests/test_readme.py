"""Every code block of README.md and of the docs pages it sends the reader to runs as written: Python blocks execute,
make lines parse (`make -n`), and the papermill commands get past their parameter checks (they then stop at the missing
CIFAR, as they should here). The README stays a front page: the set-up commands, the demo, links to each page."""

import os, re, shlex, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# the reference material the README links to: a page each of the docs site (docs/index.md's toctree)
PAGES = ["running", "matrix", "settings", "scaling", "library", "developing"]
TEXTS = {"README.md": README} | {f"docs/{p}.md": (ROOT / "docs" / f"{p}.md").read_text() for p in PAGES}
BLOCKS = [b for text in TEXTS.values() for b in re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)]
PYTHON = [b for lang, b in BLOCKS if lang == "python"]
SHELL = [
    l.split("#")[0].strip() for lang, b in BLOCKS if lang == "bash" for l in b.splitlines() if l.split("#")[0].strip()
]
LIBRARY = TEXTS["docs/library.md"]  # the table of public names


def shell_lines(text):
    return [l.split("#")[0].strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S) for l in b.splitlines()]


def test_readme_is_a_front_page():
    "Set up with exactly make install and make test (.ci/run runs those), try the demo, then a link to every page."
    lines = shell_lines(README)
    assert lines[:2] == ["make install", "make test"] and "make demo" in lines and "make vis" in lines
    assert len(README.splitlines()) <= 160
    index = (ROOT / "docs" / "index.md").read_text()
    for p in PAGES:
        assert f"](docs/{p}.md)" in README, f"README does not link docs/{p}.md"
        assert re.search(rf"^{p}$", index, re.M), f"docs/{p}.md is not in docs/index.md's toctree"
    assert "−3.2 pp [−5.4, −1.9]" in README and "The data cannot tell" in README  # the honest results stay in front


def test_readme_has_code():
    assert len(PYTHON) >= 3 and any(l.startswith("make ") for l in SHELL) and any("papermill" in l for l in SHELL)


@pytest.mark.parametrize("code", PYTHON, ids=[f"python{i}" for i in range(len(PYTHON))])
def test_python_block_runs(code, tmp_path):
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"README block failed:\n{code}\n{r.stderr[-3000:]}"


@pytest.mark.parametrize("line", [l for l in SHELL if l.startswith("make ")])
def test_make_line_parses(line):
    r = subprocess.run(["make", "-n", *shlex.split(line)[1:]], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"{line}: {r.stderr}"


@pytest.mark.parametrize("line", [l for l in SHELL if "papermill" in l and "nbs/train.ipynb" in l])
def test_papermill_line_gets_past_its_parameter_checks(line, tmp_path):
    args = shlex.split(line)
    args = [str(ROOT / ".venv/bin/papermill") if a.endswith("papermill") else a for a in args]
    out = tmp_path / "out.ipynb"
    args = [str(out) if a.startswith("runs/") and a.endswith(".ipynb") else a for a in args]
    r = subprocess.run(
        [*args, "-p", "data_dir", str(tmp_path / "nodata"), "-p", "run_dir", str(tmp_path / "run")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "DataNotFoundError" in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]


@pytest.mark.parametrize("line", [l for l in SHELL if "balance_sparse.launch" in l])
def test_launch_line_runs(line, tmp_path):
    "torchrun / python -m balance_sparse.launch lines: the demo trains; a CIFAR run gets past its checks on every rank."
    args = shlex.split(line)
    args = [
        *([sys.executable, "-m", "torch.distributed.run"] if args[0] == "torchrun" else [sys.executable]),
        *args[1:],
    ]
    args = [f"run_dir={tmp_path / 'run'}" if a.startswith("run_dir=") else a for a in args]
    if not any(a.startswith("preset=") for a in args):
        args.append(f"data_dir={tmp_path / 'nodata'}")
    r = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    out = r.stdout + r.stderr
    assert (r.returncode == 0 and (tmp_path / "run" / "final.json").exists()) or "DataNotFoundError" in out, out[-3000:]


def _api_table() -> list[tuple[list[str], str | None]]:
    "docs/library.md's table of names: (names, the module a `(in …)` names or None for the top level), per `;` part."
    start = LIBRARY.index("| name | what |")
    parts = []
    for line in LIBRARY[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        for part in line.split("|")[1].split(";"):
            where = re.search(r"\(in `([\w.]+)`\)", part)
            names = re.findall(r"`([\w.]+)`", re.sub(r"\(in `[\w.]+`\)", "", part))
            parts.append((names, where and where.group(1)))
    return parts


def test_top_level_is_the_readme_table():
    "`import balance_sparse` gives exactly the table's names without `(in …)`: no more, none missing, none a module."
    import importlib, inspect
    import balance_sparse as bs

    top = [(names, where) for names, where in _api_table() if where is None and not names[0].startswith("balance_")]
    listed = {n for names, _ in top for n in names}
    public = {n for n in dir(bs) if not n.startswith("_") and not inspect.ismodule(getattr(bs, n))}
    assert listed == set(bs.__all__) == public, (listed ^ set(bs.__all__), listed ^ public)
    assert callable(bs.evaluate) and callable(bs.make_updater) and "rigl" in bs.UPDATE_METHODS  # no module shadows
    elsewhere = [(n, where) for names, where in _api_table() for n in names if n not in listed or where]
    for n, where in elsewhere:  # names "(in balance_sparse.x)" live there; a bare balance_sparse.x is a module
        if where is None:
            assert inspect.ismodule(importlib.import_module(n)), n
        else:
            assert hasattr(importlib.import_module(where), n), (n, where)
    assert len(elsewhere) >= 15
