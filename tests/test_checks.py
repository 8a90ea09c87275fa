"""utils.checks: the argument checks every module shares."""

import math
from fractions import Fraction

import numpy as np
import pytest

from utils.checks import finite_number, positive_int


@pytest.mark.parametrize("value", [1, 7, 10**12, np.int64(3), np.int32(1), np.uint8(200)])
def test_positive_int_accepts_whole_numbers_and_returns_a_python_int(value):
    out = positive_int(value, "n")
    assert out == value and type(out) is int


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        np.bool_(True),
        0,
        -1,
        np.int64(0),
        np.int64(-5),
        1.0,
        1.5,
        np.float64(2.0),
        "3",
        None,
        [3],
        np.array([3]),
        complex(1, 0),
    ],
)
def test_positive_int_rejects_with_the_name_and_the_value(value):
    with pytest.raises(ValueError, match=r"^chunk must be a positive integer; got "):
        positive_int(value, "chunk")


def test_positive_int_message_shows_the_value_as_typed():
    with pytest.raises(ValueError, match=r"got True$"):
        positive_int(True, "n")
    with pytest.raises(ValueError, match=r"got '3'$"):
        positive_int("3", "n")


def test_positive_int_maximum_is_inclusive():
    assert positive_int(1000, "bins", maximum=1000) == 1000
    assert positive_int(np.int64(1000), "bins", maximum=1000) == 1000
    with pytest.raises(ValueError, match=r"^bins must be at most 1,000; got 1001$"):
        positive_int(1001, "bins", maximum=1000)
    with pytest.raises(ValueError, match="bins must be at most 1,000; got 10000000"):
        positive_int(10**7, "bins", maximum=1000)
    # A value below 1 gets the "positive integer" message, whatever the maximum.
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        positive_int(0, "bins", maximum=1000)


@pytest.mark.parametrize("value", [0, 0.5, -2, 1e-3, np.float32(0.25), np.float64(3.0), np.int64(2), Fraction(1, 4)])
def test_finite_number_accepts_real_numbers_and_returns_a_float(value):
    out = finite_number(value, "x")
    assert type(out) is float and out == pytest.approx(float(value))


@pytest.mark.parametrize("value", [True, False, np.bool_(False), "0.5", "1e-3", None, [0.5], complex(1, 0)])
def test_finite_number_rejects_non_numbers_naming_the_type(value):
    with pytest.raises(ValueError, match=rf"^learning_rate must be a number; got .* \({type(value).__name__}\)$"):
        finite_number(value, "learning_rate")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")])
def test_finite_number_rejects_nan_and_infinity(value):
    with pytest.raises(ValueError, match="^threshold must be a finite number; got "):
        finite_number(value, "threshold")


def test_finite_number_minimum_is_inclusive():
    assert finite_number(0, "factor", minimum=0) == 0.0
    assert finite_number(0.5, "factor", minimum=0) == 0.5
    with pytest.raises(ValueError, match=r"^factor must be a number >= 0; got -0.1$"):
        finite_number(-0.1, "factor", minimum=0)
    with pytest.raises(ValueError, match=r"must be a number >= 1e-06"):
        finite_number(1e-7, "eps", minimum=1e-6)
    # NaN is reported as not finite, not as "below the minimum" (NaN < minimum is False).
    with pytest.raises(ValueError, match="finite"):
        finite_number(math.nan, "factor", minimum=0)
