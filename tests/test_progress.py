"""What a researcher watching a run sees: the per-epoch lines and a bar reach the terminal of the papermill command
(papermill itself shows only its cell counter), while the executed notebook holds each line once; its bars were widgets
that leave nothing behind, and there is no TqdmWarning."""

import re
import nbformat
from conftest import DEMO_EPOCHS


def outputs_text(nb_path) -> str:
    "Every stream output and every text/plain of the executed notebook, joined."
    nb = nbformat.read(nb_path, as_version=4)
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            parts.append(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_progress_reaches_the_terminal_once_and_the_notebook_once(demo_runs):
    dirs = sorted(demo_runs.glob("digits/*/density*/seed0"))
    assert dirs
    for d in dirs:
        terminal, notebook = (d / "terminal.log").read_text(), outputs_text(d / "train.ipynb")
        for e in range(1, DEMO_EPOCHS + 1):
            line = re.compile(rf"^epoch +{e}/{DEMO_EPOCHS}  loss \d\.\d{{4}}  acc .* \d+\.\ds$", re.M)
            assert len(line.findall(terminal.replace("\r", "\n"))) == 1, (e, terminal[-3000:])
            assert len(line.findall(notebook)) == 1, (e, notebook[-3000:])  # in the notebook once, not twice
            assert f"epoch {e}/{DEMO_EPOCHS}: " in terminal  # the epoch's text bar, drawn on the terminal
        nb = (d / "train.ipynb").read_text()
        assert "TqdmWarning" not in nb and "IProgress not found" not in nb
        assert "FloatProgressModel" in nb  # the bars were widgets (their state is in the notebook's metadata)
        assert "it/s]" not in notebook and "0%|" not in notebook  # and none is saved as a stale text bar
        assert "Passed unknown parameter" not in terminal, terminal[:2000]
