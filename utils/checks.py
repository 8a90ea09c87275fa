"""Argument checks shared by every module of :mod:`utils`.

One place for the checks that several helpers need, so that the same bad
argument gets the same clear :class:`ValueError` wherever it is passed.
Booleans are rejected where a number is expected (``True`` is an ``int`` in
Python, but ``n=True`` is always a mistake).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def positive_int(value, name: str, *, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is a whole number >= 1 (and <= ``maximum``).

    Raises :class:`ValueError` naming the argument, what it must be and what it was.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}; got {value!r}")
    return int(value)


def non_negative_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` if it is a whole number >= 0 (a seed, a count that may be 0)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    return int(value)


def finite_number(value, name: str, *, minimum: float | None = None) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number (>= ``minimum``).

    Strings such as ``"0.5"`` and ``None`` are rejected, not converted.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number; got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be a number >= {minimum:g}; got {value!r}")
    return value


def real_array(values, name: str, dtype=float) -> np.ndarray:
    """Return ``values`` as an array of ``dtype`` if they are real numbers (bool, int or float).

    ``np.asarray(values, dtype=float)`` alone fails with NumPy's own message on
    strings or ragged lists, and quietly turns ``None`` into NaN.
    """
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged nested lists, e.g. [[1, 2], [3]]
        raise ValueError(f"{name} must be an array of numbers with one length per axis") from None
    if arr.dtype.kind not in "biuf":  # bool, int, unsigned int, float
        raise ValueError(f"{name} must hold real numbers; got {type(values).__name__} of dtype {arr.dtype}")
    return arr.astype(dtype, copy=False)
