"""Sphinx extension of this book: say that three extensions are safe for a parallel build.

Sphinx reads pages in several processes (``tools/build_book.py --jobs N``; myst-nb
then executes the chapters side by side) only if every extension declares that it
is safe for it. Three extensions this book loads declare nothing, so Sphinx would
warn and read one page at a time. Each is safe, for the reason given in
:data:`DECLARED`, so this extension (listed after them) declares it for them once
every extension is loaded.
"""

from __future__ import annotations

#: Extension -> why it is safe to read and write pages in parallel with it.
DECLARED = {
    # Sets mathjax_path, and copies MathJax into _static/ on build-finished, in the main process.
    "sphinx-mathjax-offline": "keeps no state per page",
    # Replaces the section numbering, which Sphinx runs on the merged environment in the main process.
    "sphinx_multitoc_numbering": "numbers sections after the pages are merged",
    # Adds node classes and transforms for the LaTeX builder that keep no state between pages.
    "sphinx_jupyterbook_latex": "keeps no state between pages",
}


def _declare(app, config) -> None:
    for name in DECLARED:
        ext = app.extensions.get(name)
        if ext is None:
            continue
        for attr in ("parallel_read_safe", "parallel_write_safe"):
            if getattr(ext, attr) is None:  # never override what an extension says itself
                setattr(ext, attr, True)


def setup(app):
    app.connect("config-inited", _declare)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
