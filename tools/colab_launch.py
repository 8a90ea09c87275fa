"""Sphinx extension of this book: the Colab launch button opens the chapter's Colab copy.

sphinx-book-theme points every launch button at the page's own notebook in
``chapters/``. Colab shows Markdown as plain CommonMark, so its button should
open the generated copy in ``colab/`` instead (see ``tools/notebooks.py``).
This runs after the theme has built its buttons (priority 501) and rewrites
the Colab link of notebook pages; Binder keeps opening the MyST source in
JupyterLab, where jupyterlab-myst renders it.
"""

from __future__ import annotations

from pathlib import Path


def _retarget(app, pagename, templatename, context, doctree):
    if not pagename.startswith("chapters/"):
        return
    copy = Path(app.srcdir) / "colab" / (Path(pagename).name + ".ipynb")
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab" and "/blob/" in button.get("url", ""):
                if not copy.exists():
                    raise FileNotFoundError(f"{copy} is missing: run `make notebooks` to generate the Colab copies")
                button["url"] = button["url"].replace(f"/{pagename}.ipynb", f"/colab/{copy.name}")


def setup(app):
    app.connect("html-page-context", _retarget, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
