"""One chapter, three readers: the book, JupyterLab on Binder, and Colab.

``tools/notebooks.py`` explains the design. These tests read the chapters as each reader
would, without a browser:

- every MyST construct in a chapter is one that the book, JupyterLab with jupyterlab-myst and
  the generated Colab copy all render (no raw markup, no ``{glue}`` placeholder anywhere);
- every ``{eval}`` expression is valid Python, and the Colab copies in ``colab/`` are exactly
  what the tool generates from the chapters (``make test`` builds the book, which executes
  every chapter and evaluates every ``{eval}`` in reading order, as JupyterLab does after
  "Run all", and nbval executes the first chapter's copy);
- support cells are labelled and collapsed, solutions are code cells, the model of each
  chapter is written in a visible cell and builds exactly the post's model;
- Binder's environment holds what running the chapters needs and no test tools, and the
  package's declared dependencies import everything the chapters and ``utils`` import and
  run a chapter alone in an empty folder, as on Colab.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _book import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import notebooks as tool  # noqa: E402  (tools/ is not a package)

CHAPTERS = tool.chapter_paths()
IDS = [p.stem for p in CHAPTERS]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _src(cell) -> str:
    return tool._src(cell)


# --------------------------------------------------------------------------- markup


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_chapter_uses_only_constructs_every_reader_renders(path):
    assert tool.problems(_load(path), path.name) == []


def test_problems_are_found():
    """The check itself: each construct one of the readers shows raw is reported."""
    bad = {
        "cells": [
            {
                "cell_type": "markdown",
                "source": "x {glue:text}`a` {numref}`fig` {footcite}`k`\n"
                "```{footbibliography}\n```\n{ref}`ch-intro`\n:::{dropdown} D\n:::\n",
            }
        ]
    }
    found = "\n".join(tool.problems(bad))
    for construct in ("glue:text", "numref", "footcite", "footbibliography", "dropdown", "{ref}`text <label>`"):
        assert construct in found, construct


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_eval_is_a_python_expression(path):
    exprs = [
        m["expr"] for c in _load(path)["cells"] if c["cell_type"] == "markdown" for m in tool._EVAL.finditer(_src(c))
    ]
    assert exprs, f"{path.name} states no measured number in its text"
    for expr in exprs:
        compile(expr, f"{path.name}: {{eval}}", "eval")


def test_colab_copies_are_generated_from_the_chapters():
    stale = [
        str(p.relative_to(ROOT))
        for p, text in tool.expected_files().items()
        if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"out of date (run `make notebooks`): {stale}"
    assert sorted(p.name for p in tool.COLAB.glob("*.ipynb")) == [p.name for p in CHAPTERS]


def test_colab_markdown_is_plain():
    """The Colab copy of every construct is plain CommonMark."""
    exercises: dict[str, str] = {}
    text = textwrap.dedent("""\
        (ch-x)=
        # Title
        :::{admonition} Note this
        :class: tip
        - a point
        :::
        ```{exercise} Try it
        :label: ex-x
        Do it.
        ```
        ```{solution-start} ex-x
        :class: dropdown
        ```
        See {ref}`the intro <ch-intro>` and {eval}`x`.""")
    out = tool.colab_markdown(text, exercises)
    assert '<a id="ch-x"></a>' in out and "> **Note this**" in out and "> - a point" in out
    assert "> **Exercise: Try it**" in out and "**Solution: Try it**" in out
    assert "See the intro and {eval}`x`." in out
    assert ":::" not in out and "```" not in out


def test_prose_fills_in_values_and_refuses_what_the_book_would_show_badly(capsys):
    from utils.notebook import prose, shown

    assert shown("a") == "a" and shown(3) == "3" and shown(0.5) == "0.5"
    import numpy as np

    with pytest.raises(TypeError, match="format it|str, int or float"):
        shown(np.float64(0.5), "mse")
    with pytest.raises(NameError, match="run the cells above"):
        prose("{eval}`not_defined_anywhere`", {})


# --------------------------------------------------------------------------- cells


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_support_cells_are_labelled_and_collapsed(path):
    cells = _load(path)["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if "remove-cell" in tags:
            assert i == 0 and "google.colab" in _src(cell), (
                f"{path.name} cell {i}: remove-cell is only for the Colab set-up"
            )
        if "hide-input" in tags:
            assert _src(cell).startswith("# support code: "), (
                f"{path.name} cell {i}: label support code with '# support code: ...'"
            )
            assert cell["metadata"].get("jupyter", {}).get("source_hidden"), (
                f"{path.name} cell {i}: not collapsed in JupyterLab"
            )
        assert "glue(" not in _src(cell), f"{path.name} cell {i}: numbers reach the text through {{eval}}, not glue"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_solutions_are_code_cells_that_run(path):
    cells = _load(path)["cells"]
    md = "\n".join(_src(c) for c in cells if c["cell_type"] == "markdown")
    exercises = re.findall(r"```\{exercise\}", md)
    starts = re.findall(r"```\{solution-start\} (\S+)\n:class: dropdown", md)
    assert len(exercises) >= 2 and len(starts) == len(exercises), (
        f"{path.name}: every exercise needs a dropdown solution"
    )
    assert md.count("{solution-end}") == len(starts)
    assert "```python" not in md, f"{path.name}: solution code belongs in code cells, which CI runs"
    inside = tool._solution_ranges(cells)
    assert len(inside) >= len(starts), f"{path.name}: a solution without a code cell"


def _model_cell(cells) -> tuple[str, str, str]:
    """(source of the model cell, variable, post's model name): the cell before compare_with_post."""
    for i, cell in enumerate(cells):
        m = re.search(r"models\.compare_with_post\((\w+), \"(\w+)\"\)", _src(cell))
        if m:
            return _src(cells[i - 1]), m[1], m[2]
    raise AssertionError("no cell calls models.compare_with_post(model, name) after the model cell")


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_model_is_written_in_the_chapter_and_is_the_posts(path):
    import keras  # noqa: F401

    from utils import config, models, training

    source, var, name = _model_cell(_load(path)["cells"])
    assert "keras.Model(inputs=" in source, f"{path.name}: build the model in the cell with the functional API"
    assert f"models.build_{name}" not in source and "models.build(" not in source
    namespace = {"keras": keras, "training": training, "models": models, "config": config}
    exec(compile(source.replace(f"{var}.summary()", ""), path.name, "exec"), namespace)  # noqa: S102
    assert models.fingerprint(namespace[var]) == models.fingerprint(models.build(name)), (
        f"{path.name}: the model cell no longer builds the post's {name} model"
    )


def test_compare_with_post_tells_a_learner_how_their_model_differs(capsys):
    import keras

    from utils import models

    models.compare_with_post(models.build_vanilla(), "vanilla")
    assert "This is the post's vanilla model" in capsys.readouterr().out
    x = keras.Input(shape=(784,))
    h = keras.layers.Dense(32, activation="relu", name="code")(x)
    r = keras.layers.Dense(784, activation="sigmoid", name="reconstruction")(h)
    models.compare_with_post(keras.Model(inputs=x, outputs=r), "vanilla")
    out = capsys.readouterr().out
    assert "differs from the post's vanilla model" in out and "50,992 parameters instead of 101,200" in out


# --------------------------------------------------------------------------- environments


def _pins(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.add(re.sub(r"[-_.]+", "-", line.split("==")[0]).lower())
    return names


def test_binder_environment_installs_no_test_tools():
    reader = _pins(ROOT / "requirements.txt")
    for tool_name in ("pytest", "nbval", "playwright", "jupyter-book", "ruff", "coverage", "sphinx"):
        assert tool_name not in reader, f"requirements.txt (Binder's environment) installs {tool_name}"
    for needed in ("tensorflow", "keras", "jupyterlab", "jupyterlab-myst", "ipykernel", "pandas", "jinja2"):
        assert needed in reader, f"requirements.txt lacks {needed}"
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev and not (_pins(ROOT / "requirements-dev.txt") & reader)


def _declared_dependencies() -> list[str]:
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return [re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0] for d in deps]


def _closure(roots) -> set[str]:
    """Installed distributions needed by ``roots``, following their requirements (and extras)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, done, stack = set(), set(), [(canonicalize_name(r), "") for r in roots]
    while stack:
        name, extra = stack.pop()
        if (name, extra) in done:
            continue
        done.add((name, extra))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker and not req.marker.evaluate({"extra": extra}):
                continue
            if extra and not (req.marker and "extra" in str(req.marker)):
                continue
            stack.append((canonicalize_name(req.name), ""))
            stack.extend((canonicalize_name(req.name), e) for e in req.extras)
    return seen


def _only_the_package(tmp_path: Path) -> Path:
    """A Python whose site-packages holds the course package and its declared dependencies only.

    Like Colab's `pip install` of the package: the same installed files (linked, not copied),
    nothing else. ipykernel stands for what Colab itself provides to run a notebook.
    """
    site = tmp_path / "site"
    site.mkdir()
    roots = _declared_dependencies() + ["ipykernel"]
    for name in sorted(_closure(roots)):
        dist = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            src = Path(dist.locate_file(top))
            if src.exists() and not (site / top).exists() and top != "__pycache__":
                (site / top).symlink_to(src)
    (site / "utils").symlink_to(ROOT / "utils")
    (tmp_path / "sitecustomize.py").write_text("")
    return site


def _run_alone(notebook: Path, site: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """Execute a copy of ``notebook`` with nbval, alone in an empty folder, with a kernel that sees only ``site``.

    Returns nbval's run and the folder. The copy gets one more cell at the end, which fails
    unless the kernel is the restricted one (no test tools, no book tools importable).
    """
    workdir = tmp_path / "empty"
    workdir.mkdir()
    nb = _load(notebook)
    nb["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "restricted-kernel-check",
            "metadata": {},
            "outputs": [],
            "source": "import importlib.util as u\n"
            "assert u.find_spec('pytest') is None and u.find_spec('myst_nb') is None, 'not the restricted kernel'",
        }
    )
    copy = workdir / notebook.name
    copy.write_text(json.dumps(nb), encoding="utf-8")
    # -I: isolated (no user site, no PYTHONPATH); -S: no site-packages; the kernel imports from `site` only.
    kernel_dir = tmp_path / "kernels" / "only-the-package"
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    f"import sys; sys.path.append({str(site)!r}); from ipykernel import kernelapp; kernelapp.launch_new_instance()",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "only the package",
                "language": "python",
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env["JUPYTER_PATH"] = str(tmp_path)
    env["AE_QUICK"] = "1"
    # nbval runs the kernel in the notebook's folder; no cache folder is left there.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax"]
        + ["--nbval-kernel-name", "only-the-package", str(copy)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return done, workdir


def _imported_modules() -> set[str]:
    """Top-level modules that the chapters' code cells and ``utils`` import, anywhere (also inside functions)."""
    import ast

    sources = [_src(c) for p in CHAPTERS for c in _load(p)["cells"] if c["cell_type"] == "code"]
    sources += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "utils").glob("*.py"))]
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"utils", "__future__"}


def _restricted(site: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.append({str(site)!r})\n{code}"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_package_dependencies_import_everything_the_chapters_import(tmp_path):
    """Every module a chapter or ``utils`` imports (lazily too) comes with ``pip install`` of the package."""
    site = _only_the_package(tmp_path)
    assert _restricted(site, "import pytest").returncode != 0, "the restricted Python must not see the test tools"
    modules = sorted(_imported_modules())
    assert {"keras", "numpy", "umap", "sklearn", "jax"} <= set(modules), modules  # the collection found them
    done = _restricted(site, f"import importlib\nfor name in {modules!r}:\n    importlib.import_module(name)")
    assert done.returncode == 0, f"with only the package installed, an import failed:\n{done.stderr[-3000:]}"


def test_a_chapter_runs_alone_with_only_the_package_installed(tmp_path):
    """nbval runs the first chapter's Colab copy in an empty folder, with a kernel that sees only the package.

    (The test above imports what every chapter imports; the book build runs every chapter in
    an empty folder.)
    """
    site = _only_the_package(tmp_path)
    [chapter] = [tool.COLAB / p.name for p in CHAPTERS if p.stem.endswith("_vanilla")]
    done, workdir = _run_alone(chapter, site, tmp_path)
    assert done.returncode == 0, f"{chapter.name} failed with only the package installed:\n{done.stdout[-3000:]}"
    assert re.search(r"\b(\d+) passed\b", done.stdout), done.stdout[-2000:]  # nbval ran the cells
    left = sorted(p.name for p in workdir.iterdir() if not p.name.startswith("."))
    assert left == [chapter.name], f"the chapter left files behind in its folder: {left}"
