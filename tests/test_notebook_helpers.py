"""utils.notebook: glue with and without myst-nb, show_source."""

import builtins
import sys

import numpy as np
import pytest

from utils import models
from utils.notebook import glue, in_colab, show_source


def test_glue_converts_numpy_scalars(monkeypatch):
    seen = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: seen.update({name: (value, display)}))
    assert glue("a_number", np.float64(0.25)) is None
    value, display = seen["a_number"]
    assert type(value) is float and value == 0.25 and display is False


def test_glue_without_myst_nb_prints(monkeypatch, capsys):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError("no myst_nb here (Colab)")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "myst_nb", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    glue("test_mse", np.float32(0.5))
    assert capsys.readouterr().out.strip() == "test_mse = 0.5"


def test_glue_rejects_bad_names_and_values():
    with pytest.raises(ValueError, match="valid identifier"):
        glue("not a name", 1)
    with pytest.raises(ValueError, match="non-finite"):
        glue("x", float("nan"))


def test_show_source_and_colab_detection():
    code = show_source(models.build_vanilla)
    assert "def build_vanilla" in code.data and 'Dense(64, activation="relu"' in code.data
    with pytest.raises(ValueError, match="cannot show the source"):
        show_source(42)
    assert in_colab() is False
