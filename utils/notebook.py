"""Notebook helpers that work in Jupyter Book, JupyterLab, Binder and Colab alike."""

from __future__ import annotations

import inspect
import numbers

import numpy as np


def _plain(value):
    """Turn NumPy scalars into Python numbers so that glued text formats cleanly.

    ``{glue:text}`name:.4f``` formats the value's plain-text form; a NumPy
    float would appear as ``np.float64(0.0123)`` and fail to format.
    """
    if isinstance(value, np.generic):
        return value.item()
    return value


def glue(name: str, value, *, display: bool = False) -> None:
    """Store ``value`` under ``name`` for ``{glue:text}`` / ``{glue:figure}`` in the book.

    Where myst-nb is not installed (Colab, a bare Jupyter), prints
    ``name = value`` instead so that the reader still sees the number the
    text refers to. Returns None, so a glue call at the end of a cell shows
    nothing twice.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be a valid identifier; got {name!r}")
    value = _plain(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and not np.isfinite(value):
        raise ValueError(f"refusing to glue a non-finite number as {name!r}: {value}")
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:
        print(f"{name} = {value}")
        return None
    _myst_glue(name, value, display=display)
    return None


def show_source(obj):
    """Display the source code of a function (e.g. a model builder), highlighted.

    Returns an :class:`IPython.display.Code` object: leave it as the last
    expression of a cell.
    """
    from IPython.display import Code

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise ValueError(f"cannot show the source of {obj!r}: {err}") from err
    return Code(source, language="python")


def in_colab() -> bool:
    """True when running inside Google Colab."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True
