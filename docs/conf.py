"""Sphinx configuration of the balance_sparse docs site: `make docs` (Sphinx + MyST-NB + furo; no Quarto needed).

docs/ is the source folder. Before Sphinx reads it, this file writes two generated folders into it (both gitignored,
rewritten only where their content changes, so incremental builds stay incremental):

* docs/nbs/: a copy of every notebook in nbs/, with nbdev's directives turned into MyST-NB cell tags (`#| hide` and
  `#| default_exp` cells removed, `#| eval: false` / `#| slow` / `#| gpu` cells never executed, the `#|` lines
  stripped from the code shown) and relative links rewritten to the site's pages. nbs/ itself is never touched, so
  nbdev (nbdev_export, nbdev_test, nbdev_docs with Quarto) works as before.
* docs/api/: the API reference: index.md lists every name of `balance_sparse.__all__` (or, without `__all__`, every
  public name of the package) and links it to its module's page; one page per module (autodoc of its `__all__`).

README.md is the home page (docs/index.md includes it) and BENCHMARKS.md a page (docs/benchmarks.md); their relative
links are rewritten when they are included (`include-read`), so they keep working on GitHub as written.
"""

from __future__ import annotations

import configparser, copy, importlib, inspect, json, os, pkgutil, re, sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
NBS = ROOT / "nbs"
GEN_NBS = DOCS / "nbs"
GEN_API = DOCS / "api"

if (ROOT / "balance_sparse").is_dir():
    sys.path.insert(0, str(ROOT))

_ini = configparser.ConfigParser()
_ini.read(ROOT / "settings.ini")
SETTINGS = _ini["DEFAULT"]

# ---- project --------------------------------------------------------------------------------------------------------
project = SETTINGS.get("lib_name", "balance_sparse")
author = SETTINGS.get("author", "")
copyright = SETTINGS.get("copyright", "")
release = version = SETTINGS.get("version", "")

extensions = ["myst_nb", "sphinx.ext.autodoc"]
# MathJax from the site itself when sphinx-mathjax-offline is installed (the site then works without a network);
# otherwise Sphinx's default, MathJax from its CDN.
if importlib.util.find_spec("sphinx-mathjax-offline") is not None:
    extensions.append("sphinx-mathjax-offline")

exclude_patterns = ["_build", "**/.ipynb_checkpoints", "**/.jupyter_cache", "Thumbs.db", ".DS_Store"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# ---- MyST and MyST-NB ---------------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 6  # `[...](#small-dense-baseline)` links to a heading, as on GitHub
myst_dmath_double_inline = True

# Notebooks are stored without outputs and take ~10 min to run: not executed unless asked for.
# `make docs DOCS_EXECUTE=1` passes -D nb_execution_mode=cache: jupyter-cache (in <build folder>/.jupyter_cache, kept
# between builds) runs a notebook again only when its code changed. The papermill drivers (front matter
# `skip_exec: true`, as nbdev_test honours it, and train/tune/figures by name) need CIFAR or runs: never executed.
nb_execution_mode = "off"
nb_execution_timeout = 1800  # seconds per cell
nb_execution_show_tb = True
nb_merge_streams = True

# ---- autodoc ------------------------------------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
autodoc_typehints = "signature"
add_module_names = False
python_use_unqualified_type_names = True

# ---- warnings -----------------------------------------------------------------------------------------------------
# make docs runs with -W --keep-going -n: every warning fails the build, and nitpicky mode reports every Python
# reference that does not resolve (a name in a signature, a {py:obj} link). References into other packages cannot
# resolve here: that needs their intersphinx inventories, downloaded from the internet. Only those packages' names
# are ignored (the ones balance_sparse's signatures use); a reference into balance_sparse must resolve, and one into
# any other package fails the build until its package is added here.
nitpick_ignore_regex = [(r"py:.*", r"(torch|numpy|pandas|pathlib|optuna|submitit)(\..*)?")]

# ---- HTML ---------------------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = project
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False


# ---- helpers ------------------------------------------------------------------------------------------------------
def _write(path: Path, text: str) -> None:
    "Write text to path only when it differs (Sphinx rebuilds the pages whose sources changed)."
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _prune(folder: Path, keep: set[Path], pattern: str) -> None:
    "Remove the generated files in folder that this build did not generate (a notebook or module that is gone)."
    for p in folder.glob(pattern):
        if p not in keep:
            p.unlink()


# Root files that are pages of the site (the page that includes them), for links written in the repository.
ROOT_PAGES = {"README.md": "index.md", "BENCHMARKS.md": "benchmarks.md"}
GIT_URL = SETTINGS.get("git_url", "").rstrip("/")
BRANCH = SETTINGS.get("branch", "main")


def site_link(target: str, src_dir: Path, page_dir: Path, image: bool = False) -> str:
    """A relative link as written in a repository file of folder src_dir, rewritten for a docs page in page_dir:
    to the page of a notebook (docs/nbs/), of a docs/ file or of README/BENCHMARKS; an image keeps pointing to the
    file itself; any other file of the repository gets its address on GitHub (settings.ini's git_url and branch).
    A link to a file that does not exist stays a relative link to it, so that the build reports it. URLs, anchors
    (#...) and paths outside the repository are left as they are."""
    if re.match(r"^[a-zA-Z][\w+.-]*:|^#|^/", target):
        return target
    path, hash_, frag = target.partition("#")
    p = Path(os.path.normpath(src_dir / path))
    try:
        rel = p.relative_to(ROOT).as_posix()
    except ValueError:
        return target
    if image or not p.exists() and not rel.startswith(("docs/", "nbs/")):
        dest = p  # a missing file stays a relative link, which fails the build (myst.xref_missing)
    elif rel.startswith("docs/"):
        dest = DOCS / rel[len("docs/") :]
    elif rel.startswith("nbs/") and rel.endswith(".ipynb") and "/" not in rel[len("nbs/") :]:
        dest = GEN_NBS / rel[len("nbs/") :]
    elif rel in ROOT_PAGES:
        dest = DOCS / ROOT_PAGES[rel]
    else:
        kind = "tree" if p.is_dir() else "blob"
        return f"{GIT_URL}/{kind}/{BRANCH}/{rel}{hash_}{frag}"
    return Path(os.path.relpath(dest, page_dir)).as_posix() + hash_ + frag


# markdown links [text](target) and images ![alt](target "title"), outside code spans and fenced code blocks
_CODE_OR_LINK = re.compile(
    r"(?P<fence>^(?P<f>```+|~~~+).*?^(?P=f)[ \t]*$)|(?P<code>(?P<t>`+).+?(?P=t))"
    r"|(?P<link>(?P<bang>!?)\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]"
    r"\((?P<target><[^>]*>|[^)\s]+)(?P<title>\s+\"[^\"]*\")?\))",
    re.S | re.M,
)


def rewrite_links(markdown: str, src_dir: Path, page_dir: Path) -> str:
    "Every relative link of a markdown text written in src_dir, rewritten for a page in page_dir (site_link)."

    def sub(m: re.Match) -> str:
        if not m.group("link"):
            return m.group(0)
        target = m.group("target").strip("<>")
        new = site_link(target, src_dir, page_dir, image=bool(m.group("bang")))
        return f"{m.group('bang')}[{m.group('text')}]({new}{m.group('title') or ''})"

    return _CODE_OR_LINK.sub(sub, markdown)


# ---- notebooks: nbs/*.ipynb → docs/nbs/*.ipynb --------------------------------------------------------------------
_DIRECTIVE = re.compile(r"^\s*#\s*\|\s*(?P<name>[\w-]+)\s*:?\s*(?P<value>.*?)\s*$")
REMOVE_CELL = {"hide", "default_exp", "include"}  # include: false (Quarto); `#| hide`; the module a notebook exports to
NOT_EXECUTED = {"eval", "slow", "gpu"}  # eval: false; nbdev_test's tst_flags (settings.ini) are skipped unless asked
EXPORTED = {"export", "exports", "exporti"}
DRIVERS = {"train.ipynb", "tune.ipynb", "figures.ipynb"}  # papermill drivers: need CIFAR or run folders


def _directives(source: str) -> tuple[dict[str, str], str]:
    "nbdev/Quarto directives at the top of a code cell (`#| name: value`) and the source without them."
    lines = source.splitlines()
    found, i = {}, 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if m:
            found[m.group("name")] = m.group("value")
        elif lines[i].strip():
            break
        i += 1
    return found, "\n".join(lines[i:])


def _front_matter(cell: dict) -> dict[str, str] | None:
    "The keys of a raw cell holding YAML front matter (nbdev's `---\\nskip_exec: true\\n---`), else None."
    src = "".join(cell["source"]).strip()
    if cell["cell_type"] != "raw" or not (src.startswith("---") and src.endswith("---")):
        return None
    return dict(
        (k.strip(), v.strip()) for k, _, v in (l.partition(":") for l in src.strip("-").splitlines()) if k.strip()
    )


def convert_notebook(nb: dict) -> tuple[dict, bool]:
    "An nbdev notebook as a page: (the converted notebook, whether it may be executed)."
    nb = copy.deepcopy(nb)
    executable, cells = True, []
    for cell in nb["cells"]:
        meta = _front_matter(cell)
        if meta is not None:
            executable = executable and meta.get("skip_exec", "").lower() not in {"true", "yes"}
            continue
        if cell["cell_type"] == "markdown":
            cell["source"] = rewrite_links("".join(cell["source"]), NBS, GEN_NBS)
        elif cell["cell_type"] == "code":
            found, source = _directives("".join(cell["source"]))
            tags = list(cell.setdefault("metadata", {}).get("tags", []))
            if REMOVE_CELL & set(found) and found.get("include", "false").lower() == "false":
                tags.append("remove-cell")
            if NOT_EXECUTED & set(found) and found.get("eval", "false").lower() == "false":
                tags.append("skip-execution")
            if found.get("echo", "").lower() == "false":
                tags.append("remove-input")
            if found.get("output", "").lower() == "false":
                tags.append("remove-output")
            if EXPORTED & set(found):
                tags.append("nbdev-export")  # styled in _static/custom.css: "exported" beside the code
            cell["source"] = source
            if tags:
                cell["metadata"]["tags"] = tags
        cells.append(cell)
    nb["cells"] = cells
    nb["metadata"].setdefault("language_info", {"name": "python", "pygments_lexer": "ipython3"})
    return nb, executable


def sync_notebooks() -> list[str]:
    "Write docs/nbs/ from nbs/; the notebooks that must not be executed (paths relative to docs/)."
    keep, never = set(), []
    for src in sorted(NBS.glob("*.ipynb")):
        nb, executable = convert_notebook(json.loads(src.read_text(encoding="utf-8")))
        dest = GEN_NBS / src.name
        _write(dest, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        keep.add(dest)
        if not executable or src.name in DRIVERS:
            never.append(f"nbs/{src.name}")
    _prune(GEN_NBS, keep, "*.ipynb")
    return never


# ---- API reference: docs/api/ -------------------------------------------------------------------------------------
def public_names(pkg) -> list[str]:
    "`pkg.__all__`, or (without it) every name of the package not starting with _ that is not a submodule."
    names = getattr(pkg, "__all__", None)
    if names is None:
        names = [n for n, v in vars(pkg).items() if not n.startswith("_") and not inspect.ismodule(v)]
    return list(names)


def _modules(pkg) -> list:
    "Every module of the package with public members (its `__all__`, as nbdev writes it), in name order."
    mods = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        if getattr(mod, "__all__", None):
            mods.append(mod)
    return mods


def _home(name: str, obj, mods: list) -> str:
    "The module whose page documents a top-level name (the module whose `__all__` has it and defines it)."
    for mod in mods:
        if name in mod.__all__ and getattr(mod, name, None) is obj:
            return mod.__name__
    raise RuntimeError(f"balance_sparse.{name} is not in the __all__ of any balance_sparse module, so no page has it")


def _first(obj) -> str:
    "The first paragraph of an object's docstring (nbdev's are one sentence), on one line, for a table cell."
    paragraph = (inspect.getdoc(obj) or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split()).replace("|", "\\|")


def _summary(obj) -> str:
    "The first paragraph of an object's own docstring (classes, functions); a constant's type (it has no docstring)."
    return _first(obj) if inspect.isclass(obj) or inspect.isroutine(obj) else f"a `{type(obj).__name__}`"


def _notebook_of(mod) -> str | None:
    "The notebook a module is exported from (nbdev's `File to edit:` line)."
    m = re.search(r"File to edit: \.\./nbs/(\S+\.ipynb)", Path(mod.__file__).read_text(encoding="utf-8"))
    return m.group(1) if m else None


def _autodoc(mod, name: str) -> str:
    "The autodoc directive documenting one name of a module's `__all__`."
    obj, target = getattr(mod, name), f"{mod.__name__}.{name}"
    if inspect.isclass(obj):
        kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        bases = "   :show-inheritance:\n" if public_bases(obj.__bases__) != [object] else ""  # not "Bases: object"
        return f".. {kind}:: {target}\n   :members:\n   :undoc-members:\n{bases}\n"
    if inspect.isroutine(obj):
        return f".. autofunction:: {target}\n\n"
    return f".. autodata:: {target}\n" + ("   :no-value:\n" if len(repr(obj)) > 300 else "") + "\n"


def write_api() -> None:
    pkg = importlib.import_module(project)
    mods = _modules(pkg)
    names = public_names(pkg)
    source = "`balance_sparse.__all__`" if hasattr(pkg, "__all__") else "the public names of `balance_sparse`"
    rows = []
    for name in names:
        obj = getattr(pkg, name)
        if inspect.ismodule(obj):  # a submodule named in __all__: its own page
            rows.append(f"| {{py:mod}}`{name} <{obj.__name__}>` | {{py:mod}}`{obj.__name__}` | {_first(obj)} |")
            continue
        home = _home(name, obj, mods)
        rows.append(f"| {{py:obj}}`{name} <{home}.{name}>` | {{py:mod}}`{home}` | {_summary(obj)} |")
    keep = set()
    for mod in mods:
        nb = _notebook_of(mod)
        doc = (inspect.getdoc(mod) or "").strip()
        page = GEN_API / f"{mod.__name__}.md"
        _write(
            page,
            f"# {mod.__name__}\n\n"
            + (f"{doc}\n\n" if doc else "")
            + (f"Source: the notebook [{nb}](../nbs/{nb}).\n\n" if nb and (NBS / nb).exists() else "")
            + f"```{{eval-rst}}\n.. py:module:: {mod.__name__}\n\n"
            + "".join(_autodoc(mod, name) for name in mod.__all__)
            + "```\n",
        )
        keep.add(page)
    index = GEN_API / "index.md"
    _write(
        index,
        "# API reference\n\n"
        f"`import balance_sparse as bs` gives these names ({source}, {len(names)} names); each links to its\n"
        "module's page, where it is documented with everything else its module exports.\n\n"
        "| name | module | what |\n|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "## Modules\n\n"
        "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(m.__name__ for m in mods) + "\n```\n",
    )
    keep.add(index)
    _prune(GEN_API, keep, "*.md")


# ---- Sphinx events: README / BENCHMARKS links, nbdev docstrings, class bases ------------------------------------
def _include_read(app, relative_path, parent_docname, content) -> None:
    "An included repository file (README.md, BENCHMARKS.md): its relative links rewritten for the including page."
    path = Path(os.path.normpath(Path(app.srcdir) / relative_path))
    page_dir = (Path(app.srcdir) / app.env.docname).parent  # the including page (parent_docname is only its stem)
    if path.suffix == ".md":
        content[0] = rewrite_links(content[0], path.parent, page_dir)


_CODE_SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
_EMPHASIS = re.compile(r"(?<![\w*])(\*\*?)[^*\s](?:[^*]*[^*\s])?\1(?![\w*])")


def _rst_text(text: str) -> str:
    "Markdown prose of a docstring as reStructuredText: | (|w|), stray * and a trailing _ (set_) escaped."
    out, i = [], 0
    for m in _EMPHASIS.finditer(text):
        out.append(_rst_escape(text[i : m.start()]) + m.group(0))
        i = m.end()
    return "".join(out) + _rst_escape(text[i:])


def _rst_escape(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
    return re.sub(r"(?<=\w)_(?=\W|$)", r"\\_", text)


def md_docstring(text: str) -> str:
    """An nbdev docstring (markdown: `code`, *emphasis*, |w| as plain text) as reStructuredText for autodoc:
    code spans become literals, everything else that reStructuredText would read as markup is escaped."""
    out, i = [], 0
    for m in _CODE_SPAN.finditer(text):
        before, after = text[m.start() - 1 : m.start()], text[m.end() : m.end() + 1]
        out.append(_rst_text(text[i : m.start()]))
        out.append(("\\ " if before.isalnum() else "") + f"``{m.group(1)}``" + ("\\ " if after.isalnum() else ""))
        i = m.end()
    return "".join(out) + _rst_text(text[i:])


def _docstring(app, what, name, obj, options, lines) -> None:
    "autodoc's docstring of an object, from nbdev's markdown; a constant does not inherit its type's (dict's) text."
    text = "\n".join(lines).strip()
    if what in ("data", "attribute") and text and text == inspect.cleandoc(type(obj).__doc__ or ""):
        lines[:] = []
        return
    lines[:] = md_docstring("\n".join(lines)).split("\n")


def public_bases(bases) -> list:
    "A class's bases as shown (show-inheritance): a private base (_EpochBatches) replaced by its own bases."
    return [p for b in bases for p in (public_bases(b.__bases__) if b.__name__.startswith("_") else [b])]


def _public_bases(app, name, obj, options, bases) -> None:
    bases[:] = public_bases(list(bases))


# ---- generate docs/nbs/ and docs/api/, then connect the events ----------------------------------------------------
nb_execution_excludepatterns = sync_notebooks()
write_api()


def setup(app):
    app.connect("include-read", _include_read)
    app.connect("autodoc-process-docstring", _docstring)
    app.connect("autodoc-process-bases", _public_bases)
