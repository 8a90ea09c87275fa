"""One chapter, three readers: check the chapter notebooks and write their Colab copies.

The chapters in ``chapters/`` are MyST notebooks. Three programs read them:

- **the book** (Jupyter Book 1 / myst-nb) renders every construct, and evaluates the
  ``{eval}`` role while it executes the notebook (``execute_notebooks: inline``);
- **JupyterLab** with ``jupyterlab-myst`` (Binder, ``make lab``) renders the same
  constructs, evaluating ``{eval}`` when a Markdown cell runs after the code above it;
- **Colab** shows Markdown as plain CommonMark with math. It gets a generated copy in
  ``colab/``: the MyST constructs turned into plain Markdown, and each Markdown cell
  that states a measured number turned into a collapsed code cell that displays the
  same Markdown with the numbers filled in (:func:`utils.notebook.prose`).

So the chapters use only the constructs all three can show (:data:`DIRECTIVES`,
:data:`ROLES`); :func:`problems` lists any other. Support cells (``hide-input``) and
solution cells are collapsed in JupyterLab too (``jupyter.source_hidden``).

Run ``python tools/notebooks.py`` (``make notebooks``) after editing a chapter: it
normalises the cell metadata of the sources and rewrites ``colab/``. With ``--check``
it changes nothing and exits 1 if anything is out of date (the tests run that).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
COLAB = ROOT / "colab"

#: MyST directives a chapter may use: each renders in the book and in JupyterLab with
#: jupyterlab-myst 2.7 (checked in a real JupyterLab), and is turned into plain Markdown
#: for Colab below.
DIRECTIVES = ("admonition", "exercise", "solution-start", "solution-end")
#: MyST roles a chapter may use (same three readers). ``{ref}`` only in its explicit
#: form ``{ref}`text <label>```, whose text reads right where the target is elsewhere.
ROLES = ("eval", "ref")

_FENCE_OPEN = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>[a-z-]+)\}[ \t]*(?P<arg>.*)$")
_ROLE = re.compile(r"\{(?P<name>[a-z][a-z:-]*)\}`(?P<body>[^`]*)`")
_EVAL = re.compile(r"\{eval\}`(?P<expr>[^`]*)`")
_TARGET = re.compile(r"^\((?P<label>[A-Za-z0-9_-]+)\)=[ \t]*$", re.M)

HIDDEN = {"source_hidden": True}


def chapter_paths() -> list[Path]:
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def _src(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _lines(text: str) -> list[str]:
    """nbformat's on-disk form of a source: a list of lines, each with its newline."""
    return text.splitlines(keepends=True)


# --------------------------------------------------------------------------- checks


def problems(nb: dict, name: str = "notebook") -> list[str]:
    """Constructs in ``nb``'s Markdown that one of the three readers would show raw."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = _src(cell)
        for line in text.splitlines():
            m = _FENCE_OPEN.match(line.strip())
            if m and m["name"] not in DIRECTIVES:
                found.append(f"{name} cell {i}: directive {{{m['name']}}} is not one all readers render")
        for m in _ROLE.finditer(text):
            role = m["name"]
            if role not in ROLES:
                found.append(f"{name} cell {i}: role {{{role}}} is not one all readers render")
            elif role == "ref" and not re.fullmatch(r".+<[A-Za-z0-9_-]+>", m["body"].strip()):
                found.append(f"{name} cell {i}: write {{ref}} as {{ref}}`text <label>`, got {m['body']!r}")
    return found


# --------------------------------------------------------------------------- sources


def _solution_ranges(cells) -> set[int]:
    """Indices of the code cells between a solution-start and its solution-end."""
    inside, out = False, set()
    for i, cell in enumerate(cells):
        text = _src(cell)
        if cell["cell_type"] == "markdown":
            start, end = text.rfind("{solution-start}"), text.rfind("{solution-end}")
            if start != end:  # the later of the two markers in the cell decides
                inside = start > end
        elif inside:
            out.add(i)
    return out


def normalise_source(nb: dict) -> dict:
    """Collapse support and solution cells in JupyterLab; drop outputs and counts."""
    nb = copy.deepcopy(nb)
    solutions = _solution_ranges(nb["cells"])
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        cell["outputs"], cell["execution_count"] = [], None
        meta = cell.setdefault("metadata", {})
        tags = meta.get("tags", [])
        jup = meta.pop("jupyter", {})
        jup.pop("source_hidden", None)
        jup.pop("outputs_hidden", None)
        if "hide-input" in tags or i in solutions:
            jup.update(HIDDEN)
        if jup:
            meta["jupyter"] = jup
    return nb


# --------------------------------------------------------------------------- Colab


def _labels() -> dict[str, str]:
    """Every ``(label)=`` target of the book -> the title under it (for ``{ref}``)."""
    out = {}
    for path in [*CHAPTERS.glob("*.md"), *chapter_paths()]:
        if path.suffix == ".md":
            texts = [path.read_text(encoding="utf-8")]
        else:
            texts = [
                _src(c) for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown"
            ]
        for text in texts:
            for m in re.finditer(r"^\(([A-Za-z0-9_-]+)\)=\s*\n#+\s*(.+)$", text, re.M):
                out[m[1]] = m[2].strip()
    return out


def _blockquote(title: str, body: str) -> str:
    lines = [f"**{title}**", ""] + body.strip("\n").splitlines()
    return "\n".join(("> " + line).rstrip() for line in lines)


def colab_markdown(text: str, exercises: dict[str, str]) -> str:
    """Plain CommonMark (with math) for one Markdown cell's MyST ``text``."""
    text = _TARGET.sub(lambda m: f'<a id="{m["label"]}"></a>', text)
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].strip())
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence, name, arg = m["fence"], m["name"], m["arg"].strip()
        body, options, i = [], {}, i + 1
        while i < len(lines) and lines[i].strip() != fence:
            opt = re.match(r"^:([a-z-]+):\s*(.*)$", lines[i].strip())
            if opt and not body:
                options[opt[1]] = opt[2]
            else:
                body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        body_text = "\n".join(body)
        if name == "admonition":
            out.append(_blockquote(arg, body_text))
        elif name == "exercise":
            exercises[options.get("label", "")] = arg
            out.append(_blockquote(f"Exercise: {arg}", body_text))
        elif name == "solution-start":
            title = exercises.get(arg, arg)
            out.append(f"**Solution: {title}** (the collapsed cells below; double-click to open them)")
        elif name == "solution-end":
            out.append("*End of the solution.*")
        else:  # pragma: no cover - problems() rejects it first
            raise ValueError(f"no Colab form for directive {name!r}")
    text = "\n".join(out)
    labels = _labels()

    def role(m):
        name, body = m["name"], m["body"]
        if name == "eval":
            return m[0]  # filled in when the cell runs
        ref = re.fullmatch(r"(?P<text>.+?)\s*<(?P<label>[A-Za-z0-9_-]+)>", body.strip())
        if name == "ref" and ref:
            return ref["text"]
        if name == "ref":
            return labels.get(body.strip(), body)
        raise ValueError(f"no Colab form for role {name!r}")

    return _ROLE.sub(role, text)


def _form(title: str, code: str) -> dict:
    """A Colab form cell: only its title shows until the reader opens it."""
    meta = {"cellView": "form", "jupyter": dict(HIDDEN)}
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": meta,
        "outputs": [],
        "source": _lines(f"#@title {title}\n{code.rstrip()}\n"),
    }


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text.rstrip("\n") + "\n")}


def _chapter_number(path: Path) -> int:
    return int(path.name[:2])


def colab_copy(nb: dict, path: Path) -> dict:
    """The Colab copy of chapter ``nb`` (read from ``path``)."""
    problems_found = problems(nb, path.name)
    if problems_found:
        raise ValueError("\n".join(problems_found))
    cells, exercises, figure = [], {}, 0
    solutions = _solution_ranges(nb["cells"])
    for i, cell in enumerate(nb["cells"]):
        text = _src(cell)
        if cell["cell_type"] == "markdown":
            plain = colab_markdown(text, exercises)
            if _EVAL.search(plain):
                title = "Text with this run's numbers (run the cell to fill them in)"
                cells.append(_form(title, f'prose(r"""\n{plain}\n""")'))
            else:
                cells.append(_md(plain))
            continue
        meta = cell.get("metadata", {})
        tags = meta.get("tags", [])
        if "remove-cell" in tags:  # the Colab set-up cell: visible (collapsed) here
            code = text.rstrip() + "\n\nfrom utils.notebook import prose  # fills this run's numbers into the text"
            cells.append(_form("Set-up: install the course's helper package (run this first)", code))
        elif "hide-input" in tags:
            first = text.splitlines()[0].lstrip("# ").strip() if text.strip() else "Support code"
            cells.append(_form(first[:1].upper() + first[1:], text))
        elif i in solutions:
            cells.append(_form("Solution code", text))
        else:
            cells.append(
                {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": _lines(text)}
            )
        fig = meta.get("mystnb", {}).get("figure")
        if fig:
            figure += 1
            cells.append(_md(f'<a id="{fig["name"]}"></a>*Figure {_chapter_number(path)}.{figure}: {fig["caption"]}*'))
    header = _md(
        "*This is the Colab copy of a chapter of the course "
        "[Autoencoders, hands-on](https://autoencoders-hands-on.github.io/autoencoders-hands-on/), "
        "generated from the book's notebook. Run the set-up cell first, then the cells in order "
        "(Runtime > Run all); collapsed cells show their code when you open them.*"
    )
    return {
        "cells": [header, *cells],
        "metadata": {
            "colab": {"provenance": [], "toc_visible": True},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def _with_ids(nb: dict, stem: str) -> dict:
    """Stable cell ids (nbformat 4.5 wants one per cell)."""
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"{stem[:2]}-{i:03d}"
    return nb


def expected_files(paths=None) -> dict[Path, str]:
    """Every file this tool writes (for ``paths``, default all chapters), with its contents."""
    files = {}
    for path in paths or chapter_paths():
        nb = json.loads(path.read_text(encoding="utf-8"))
        files[path] = _dump(normalise_source(nb))
        files[COLAB / path.name] = _dump(_with_ids(colab_copy(nb, path), path.stem))
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of date")
    parser.add_argument("chapters", nargs="*", type=Path, help="only these chapter notebooks (default: all)")
    args = parser.parse_args(argv)
    try:
        files = expected_files([p.resolve() for p in args.chapters])
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    extra = [] if args.chapters else [p for p in COLAB.glob("*.ipynb") if p not in files]
    if args.check:
        for p in stale + extra:
            print(f"out of date: {p.relative_to(ROOT)} (run `make notebooks`)")
        return 1 if stale or extra else 0
    COLAB.mkdir(exist_ok=True)
    for p in stale:
        p.write_text(files[p], encoding="utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    for p in extra:
        p.unlink()
        print(f"removed {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
