"""The chapters as files: what every notebook must hold before anyone executes it.

``make test`` executes the notebooks (the book build, and nbval on a Colab copy); these checks read them as JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _book import ROOT
from _book import toc_files as _toc_files


def _notebooks() -> list[Path]:
    return [
        ROOT / f"{f}.ipynb" for f in _toc_files() if (ROOT / f"{f}.ipynb").exists() or not (ROOT / f"{f}.md").exists()
    ]


NOTEBOOKS = _notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def _load(path: Path) -> dict:
    assert path.exists(), f"{path.relative_to(ROOT)} is listed in _toc.yml but missing"
    return json.loads(path.read_text())


def _code(nb) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _markdown(nb) -> str:
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_every_toc_entry_exists():
    for f in _toc_files():
        assert (ROOT / f"{f}.ipynb").exists() or (ROOT / f"{f}.md").exists(), f"{f} is in _toc.yml but missing"


def test_every_chapter_notebook_is_listed():
    listed = {f"{f}.ipynb" for f in _toc_files()}
    for nb in (ROOT / "chapters").glob("*.ipynb"):
        assert f"chapters/{nb.name}" in listed, f"{nb.name} is not in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    nb = _load(path)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name}: a cell has outputs; strip them"
            assert cell.get("execution_count") is None, f"{path.name}: a cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_imports_utils_before_keras_and_reads_no_switches(path):
    code = "\n".join(_code(_load(path)))
    first_utils = code.find("import utils")
    assert first_utils >= 0, f"{path.name} does not import utils"
    for lib in ("import keras", "import tensorflow", "from keras", "from tensorflow"):
        pos = code.find(lib)
        assert pos == -1 or pos > first_utils, f"{path.name}: {lib!r} comes before 'import utils'"
    assert "AE_QUICK" not in code and "AE_DATASET" not in code, f"{path.name} reads a switch; ask utils.config"
    assert "sys.path" not in code, f"{path.name} edits sys.path; utils is installed with pip install -e ."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_skeleton(path):
    nb = _load(path)
    md = _markdown(nb)
    assert re.search(r"^\(ch-[a-z]+\)=", md, re.M), f"{path.name}: no (ch-...)= label"
    assert "What you will learn" in md, f"{path.name}: no learning objectives"
    assert "| Concept | Importance | Notes |" in md, f"{path.name}: no prerequisites table"
    assert "## Takeaways" in md and "## Exercises" in md, f"{path.name}: no takeaways or exercises"
    # Plain Markdown references: they read the same in the book, JupyterLab and Colab.
    refs = md.split("## References", 1)
    assert len(refs) == 2 and re.search(r"^- \S", refs[1], re.M), f"{path.name}: no references list"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_figures_are_captioned_named_and_cited(path):
    nb = _load(path)
    md = _markdown(nb)
    names = []
    for cell in nb["cells"]:
        fig = cell.get("metadata", {}).get("mystnb", {}).get("figure")
        if fig:
            assert fig.get("caption") and fig.get("name"), f"{path.name}: figure without caption or name"
            names.append(fig["name"])
    assert len(names) >= 3, f"{path.name} has fewer than three captioned figures"
    for name in names:
        # [text](#fig-name): a link every reader renders ({numref} shows raw in JupyterLab).
        assert f"](#{name})" in md, f"{path.name}: figure {name} is never cited with a [text](#{name}) link"


def _prose(md: str) -> str:
    """Markdown without code blocks, math, inline code and roles: what a reader reads as text."""
    md = re.sub(r"(`{3,4}).*?\1", " ", md, flags=re.S)
    md = re.sub(r"\$\$.*?\$\$", " ", md, flags=re.S)
    md = re.sub(r"\$[^$\n]+\$", " ", md)
    md = re.sub(r"\{[a-z:]+\}`[^`]*`", " ", md)
    md = re.sub(r"`[^`]*`", " ", md)
    md = re.sub(r"\]\([^)]*\)", "]", md)  # link targets
    return md


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_measured_number_typed_by_hand(path):
    """Results with decimals (0.0123, 12.5 s, 31.2 dB) must be measured ({eval}), not typed."""
    prose = _prose(_markdown(_load(path)).split("## References", 1)[0])  # version numbers may follow
    typed = re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", prose)
    assert not typed, f"{path.name}: numbers typed in the prose, fill them in with {{eval}} instead: {typed}"
