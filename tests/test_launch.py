"""The ways to run the course: launch buttons, Binder, Colab, and the CI workflows.

Everything here reads the repository's files (no network, no browser):

- ``_config.yml`` points the launch buttons at Binder and Colab for the repository's
  ``main`` branch and opens notebooks in JupyterLab, and its extension list is Jupyter
  Book's own minus sphinx_thebe (see the comment there);
- Binder can install the book: exact pins in ``requirements.txt``, a Python version
  those pins support in ``runtime.txt``, and ``postBuild`` installing the course package;
- every chapter notebook starts with the hidden Colab cell, which installs the course
  package from the repository when ``google.colab`` is importable and does nothing
  anywhere else (executed here twice, with ``subprocess`` replaced by a recorder);
- no notebook edits ``sys.path`` (the package is installed, never path-hacked);
- the GitHub workflows publish the full book on Pages and run ``make test``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from _book import CONFIG, ROOT, TOC, toc_files

REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"]["branch"]
WORKFLOWS = ROOT / ".github" / "workflows"


TOC_FILES = toc_files()


def source_of(docname: str) -> Path | None:
    """The source file of a toc entry (.ipynb or .md), or None if it is missing."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{docname}{suffix}"
        if path.exists():
            return path
    return None


def notebook(docname: str) -> dict:
    path = source_of(docname)
    if path is None:
        pytest.skip(f"{docname} does not exist (test_toc_entries_exist reports it)")
    if path.suffix != ".ipynb":
        pytest.skip(f"{path.name} is a markdown page, not a notebook")
    return json.loads(path.read_text(encoding="utf-8"))


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


# --------------------------------------------------------------------------- config


def test_launch_buttons_open_binder_and_colab_in_jupyterlab():
    launch = CONFIG.get("launch_buttons", {})
    assert launch.get("binderhub_url") == "https://mybinder.org"
    assert launch.get("colab_url") == "https://colab.research.google.com"
    assert launch.get("notebook_interface") == "jupyterlab"
    # Thebe would need the page to reach a Binder server while reading; not used.
    assert not launch.get("thebe", False)


def test_repository_is_a_github_repository_on_main():
    repo = CONFIG["repository"]
    # Binder's and Colab's launch URLs are built from a GitHub org/repo pair.
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL), REPO_URL
    assert not REPO_URL.endswith(".git")
    assert BRANCH == "main"
    # The book sits at the repository's root, so chapters/NN.ipynb is the path Binder opens.
    assert repo.get("path_to_book", "") in ("", ".")


def test_extension_list_is_jupyter_books_without_thebe():
    """_config.yml replaces Jupyter Book's extension list (to drop sphinx_thebe, whose
    doubled inline script throws in the browser); it must keep everything else."""
    jb_config = pytest.importorskip("jupyter_book.config")
    defaults = jb_config.get_default_sphinx_config()["extensions"]
    sphinx = CONFIG.get("sphinx", {})
    extensions = sphinx.get("config", {}).get("extensions", [])
    assert "sphinx_thebe" not in extensions
    missing = [e for e in defaults if e != "sphinx_thebe" and e not in extensions]
    assert not missing, f"sphinx.config.extensions lost Jupyter Book defaults: {missing}"
    for extra in ("sphinxcontrib.bibtex", "sphinx_exercise", "sphinx-mathjax-offline", "colab_launch", "parallel_safe"):
        assert extra in extensions, f"{extra} is missing from sphinx.config.extensions"
    # extra_extensions would be silently ignored next to a full extension list.
    assert not sphinx.get("extra_extensions"), "list extensions in sphinx.config.extensions"


def test_toc_entries_exist():
    missing = [name for name in TOC_FILES if source_of(name) is None]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


# --------------------------------------------------------------------------- Binder


def _requirements() -> dict[str, str]:
    """The exact pins of requirements.txt (readers) and requirements-dev.txt (book and tests) together."""
    pins: dict[str, str] = {}
    for filename in ("requirements.txt", "requirements-dev.txt"):
        for number, raw in enumerate((ROOT / filename).read_text().splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line or line == "-r requirements.txt":
                continue
            match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)", line)
            assert match, f"{filename}:{number}: {raw!r} is not an exact `name==version` pin"
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            assert name not in pins, f"{name} is pinned twice"
            pins[name] = match.group(2)
    return pins


def test_requirements_are_exact_pins_of_the_whole_stack():
    pins = _requirements()
    for name in (
        "tensorflow",
        "keras",
        "numpy",
        "matplotlib",
        "scikit-learn",
        "umap-learn",
        "mlxtend",
        "jupyter-book",
        "sphinx-exercise",
        "sphinx-mathjax-offline",
        "nbval",
        "pytest",
        "playwright",
        "ipykernel",
        "jupyterlab",
        "jupyterlab-myst",
        "ruff",
    ):
        assert name in pins, f"requirements.txt or requirements-dev.txt does not pin {name}"
    assert pins["jupyter-book"].split(".")[0] == "1", "the book is a Jupyter Book 1 (<2) project"
    assert pins["keras"].split(".")[0] == "3", "the chapters use Keras 3"
    # The course package itself is installed by postBuild / make venv, not from the index.
    assert "autoencoders-hands-on" not in pins


def test_binder_uses_a_python_the_pins_support():
    # repo2docker's default Python is older than what numpy/matplotlib/ipython pins need.
    runtime = ROOT / "runtime.txt"
    assert runtime.exists(), "runtime.txt (python-3.11) tells Binder which Python to use"
    assert runtime.read_text().strip() == "python-3.11"


def test_postbuild_installs_the_course_package():
    post = ROOT / "postBuild"
    assert post.exists()
    assert os.access(post, os.X_OK), "repo2docker runs postBuild only if it is executable"
    text = post.read_text()
    assert text.startswith("#!"), "postBuild needs a shebang"
    commands = [line.split("#", 1)[0] for line in text.splitlines()[1:]]
    install = [c for c in commands if re.search(r"\bpip\s+install\b", c)]
    assert len(install) == 1, f"expected one pip install in postBuild, got {install}"
    # Editable install of the repository, without touching the pinned dependencies.
    assert re.search(r"\s-e\s+\.(\s|$)", install[0]), install[0]
    assert "--no-deps" in install[0], install[0]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'packages\s*=\s*\[\s*"utils"\s*\]', pyproject), "the package must ship utils"


# --------------------------------------------------------------------------- Colab cell

NOTEBOOKS = [name for name in TOC_FILES if name != TOC["root"]]


class _Recorder:
    """Stands in for every way the cell could start a process; records the calls."""

    def __init__(self):
        self.calls: list[tuple[str, tuple, dict]] = []

    def patch(self, monkeypatch):
        for name in ("run", "call", "check_call", "check_output", "Popen"):
            monkeypatch.setattr(subprocess, name, self._fake(name))
        monkeypatch.setattr(os, "system", self._fake("os.system"))

    def _fake(self, name):
        def fake(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return subprocess.CompletedProcess(args[0] if args else None, 0)

        return fake


def _colab_cell(nb: dict) -> dict:
    cell = nb["cells"][0]
    assert cell["cell_type"] == "code", "the first cell must be the Colab install cell"
    assert "remove-cell" in cell.get("metadata", {}).get("tags", []), (
        "the Colab install cell must be tagged remove-cell (hidden from the book)"
    )
    return cell


def _run_cell(source: str) -> dict:
    namespace: dict = {"__name__": "__colab_cell__"}
    exec(compile(source, "<colab cell>", "exec"), namespace)  # noqa: S102 - the point of the test
    return namespace


def _google_colab_importable() -> bool:
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_colab_cell_first_hidden_and_clean(docname):
    nb = notebook(docname)
    cell = _colab_cell(nb)
    source = cell_source(cell)
    assert "google.colab" in source
    assert not cell.get("outputs"), "notebooks are committed without outputs"
    compile(source, "<colab cell>", "exec")  # plain Python: no `!pip` shell magics
    # No other cell mentions Colab: the install is in one place.
    others = [i for i, c in enumerate(nb["cells"][1:], 1) if "google.colab" in cell_source(c)]
    assert not others, f"cells {others} also mention google.colab"


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_colab_cell_is_inert_outside_colab(docname, monkeypatch):
    source = cell_source(_colab_cell(notebook(docname)))
    assert not _google_colab_importable(), "this environment must not look like Colab"
    recorder = _Recorder()
    recorder.patch(monkeypatch)
    _run_cell(source)
    assert recorder.calls == [], f"the cell started a process outside Colab: {recorder.calls}"


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_colab_cell_installs_the_package_on_colab(docname, monkeypatch):
    source = cell_source(_colab_cell(notebook(docname)))
    google = types.ModuleType("google")
    google.__path__ = []  # a package, so that `import google.colab` finds the fake below
    colab = types.ModuleType("google.colab")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    recorder = _Recorder()
    recorder.patch(monkeypatch)
    _run_cell(source)

    assert len(recorder.calls) == 1, f"expected one pip install, got {recorder.calls}"
    name, args, kwargs = recorder.calls[0]
    command = args[0] if args else kwargs.get("args")
    assert isinstance(command, (list, tuple)), f"{name} should get an argument list: {command!r}"
    command = [str(part) for part in command]
    # pip of the kernel's own interpreter, so the package lands where the notebook imports.
    assert command[:4] == [sys.executable, "-m", "pip", "install"], command
    targets = [part for part in command[4:] if not part.startswith("-")]
    assert targets in ([f"git+{REPO_URL}@{BRANCH}"], [f"git+{REPO_URL}.git@{BRANCH}"]), (
        f"the cell installs {targets}, not {REPO_URL} on branch {BRANCH}"
    )
    if name == "run":
        assert kwargs.get("check") is True, "a failed install must stop the notebook"


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_no_notebook_edits_sys_path(docname):
    nb = notebook(docname)
    bad = [i for i, c in enumerate(nb["cells"]) if re.search(r"\bsys\s*\.\s*path\b", cell_source(c))]
    assert not bad, f"cells {bad} of {docname} touch sys.path; install the package instead"


# --------------------------------------------------------------------------- workflows


def _workflow(name: str) -> dict:
    path = WORKFLOWS / name
    assert path.exists(), f"{path} is missing"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _uses(job: dict, action: str) -> list[dict]:
    return [s for s in _steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def _runs(job: dict) -> str:
    return "\n".join(str(s.get("run", "")) for s in _steps(job))


def test_book_workflow_builds_full_book_and_deploys_pages():
    wf = _workflow("book.yml")
    assert "main" in wf["on"]["push"]["branches"]
    assert "workflow_dispatch" in wf["on"]
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]

    setup = _uses(build, "actions/setup-python")
    assert setup and str(setup[0]["with"]["python-version"]) == "3.11"
    assert setup[0]["with"].get("cache") == "pip"
    assert setup[0]["with"].get("cache-dependency-path") == "requirements*.txt"
    runs = _runs(build)
    assert "make venv" in runs
    assert re.search(r"^make book$", runs, re.M), "the workflow must build with `make book`"

    caches = _uses(build, "actions/cache") + _uses(build, "actions/cache/restore")
    assert caches, "the execution cache must be restored"
    key = caches[0]["with"]["key"]
    for part in ("chapters/**", "utils/**", "tools/**", "requirements*.txt", "_config.yml"):
        assert f"'{part}'" in key, f"the execution cache key does not cover {part}: {key}"
    assert "_build/.doctrees" in caches[0]["with"]["path"]

    reports = [s for s in _uses(build, "actions/upload-artifact") if "failure()" in str(s.get("if"))]
    assert reports and reports[0]["with"]["path"] == "_build/html/reports"
    pages = _uses(build, "actions/upload-pages-artifact")
    assert pages and pages[0]["with"]["path"] == "_build/html"

    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert _uses(deploy, "actions/deploy-pages")


def test_test_workflow_runs_make_test_with_debian_packages():
    wf = _workflow("test.yml")
    assert "pull_request" in wf["on"] and "push" in wf["on"]
    job = wf["jobs"]["test"]
    runs = _runs(job)
    assert re.search(r"^make test$", runs, re.M), "the workflow must run `make test`"
    install = runs[: runs.index("make test")]
    for package in ("chromium", "dataset-fashion-mnist"):
        assert re.search(rf"apt-get install[^\n]*(\\\n[^\n]*)*\b{package}\b", install), package
    # The browser test fails instead of skipping when CI is set.
    assert str(job.get("env", {}).get("CI", "true")).lower() == "true"
