"""One source of truth for the five models: the post -> utils.models -> every chapter and the summary.

The summary chapter compares models that the other chapters trained (and reuses
their saved weights). That comparison is only honest if every chapter and the
summary build exactly the same networks, the post's. These tests check it
without training anything:

- ``utils.models`` builds, layer by layer, the architectures of the post (RJ,
  "自编码器", 2019-09-18) written out below (layer types, output shapes,
  parameters per layer, activations and padding), with the post's parameter totals;
- every model chapter writes its model out in a code cell, and that cell builds
  exactly ``utils.models``' model (``tests/test_readers.py`` executes it), and
  trains it with its own budget (``train_and_save``; the vanilla chapter shows
  ``compile`` and ``fit`` and caches the run with ``cache_run``);
- the summary builds all five through ``models.build`` and gets their weights
  with ``load_or_train``.

A chapter listed in ``_toc.yml`` but missing fails the tests; it is not skipped.
"""

from __future__ import annotations

import json
import re

import pytest

import utils  # noqa: F401  (quiets TensorFlow before Keras loads)
import keras
from utils import config, models

from _book import ROOT, toc_files

NAMES = ("vanilla", "multilayer", "convolutional", "sparse", "denoising")

# --------------------------------------------------------------------------- the post's models
# Written out from the post's code, independently of utils.models:
# (layer type, output shape without the batch axis, parameters, settings that must match).
RELU, SIGMOID = {"activation": "relu"}, {"activation": "sigmoid"}
SAME = {"padding": "same"}


def _conv(filters, shape, params, act=RELU, padding="same"):
    return ("Conv2D", shape, params, {"filters": str(filters), "kernel_size": "(3, 3)", "padding": padding, **act})


def _pool(shape):
    return ("MaxPooling2D", shape, 0, {"pool_size": "(2, 2)", **SAME})


def _up(shape):
    return ("UpSampling2D", shape, 0, {"size": "(2, 2)"})


def _dense(units, params, act=RELU):
    return ("Dense", (units,), params, {"units": str(units), **act})


_VANILLA = [
    ("InputLayer", (784,), 0, {}),
    _dense(64, 784 * 64 + 64),
    _dense(784, 64 * 784 + 784, SIGMOID),
]
EXPECTED_LAYERS = {
    "vanilla": _VANILLA,
    "multilayer": [
        ("InputLayer", (784,), 0, {}),
        _dense(128, 784 * 128 + 128),
        _dense(64, 128 * 64 + 64),
        _dense(128, 64 * 128 + 128),
        _dense(784, 128 * 784 + 784, SIGMOID),
    ],
    "convolutional": [
        ("InputLayer", (28, 28, 1), 0, {}),
        _conv(16, (28, 28, 16), 9 * 1 * 16 + 16),
        _pool((14, 14, 16)),
        _conv(8, (14, 14, 8), 9 * 16 * 8 + 8),
        _pool((7, 7, 8)),
        _conv(8, (7, 7, 8), 9 * 8 * 8 + 8),
        _pool((4, 4, 8)),  # the code: 4 x 4 x 8 = 128 values
        _conv(8, (4, 4, 8), 9 * 8 * 8 + 8),
        _up((8, 8, 8)),
        _conv(8, (8, 8, 8), 9 * 8 * 8 + 8),
        _up((16, 16, 8)),
        _conv(16, (14, 14, 16), 9 * 8 * 16 + 16, padding="valid"),  # no padding="same": 16 -> 14
        _up((28, 28, 16)),
        _conv(1, (28, 28, 1), 9 * 16 * 1 + 1, SIGMOID),
    ],
    "sparse": _VANILLA,  # the vanilla layers, plus the L1 activity penalty checked below
    "denoising": [
        ("InputLayer", (28, 28, 1), 0, {}),
        _conv(32, (28, 28, 32), 9 * 1 * 32 + 32),
        _pool((14, 14, 32)),
        _conv(32, (14, 14, 32), 9 * 32 * 32 + 32),
        _pool((7, 7, 32)),  # the code: 7 x 7 x 32 = 1,568 values
        _conv(32, (7, 7, 32), 9 * 32 * 32 + 32),
        _up((14, 14, 32)),
        _conv(32, (14, 14, 32), 9 * 32 * 32 + 32),
        _up((28, 28, 32)),
        _conv(1, (28, 28, 1), 9 * 32 * 1 + 1, SIGMOID),
    ],
}
#: The post's parameter totals (Keras 3 ``count_params()`` of its models).
SPEC_TOTALS = {
    "vanilla": 101_200,
    "multilayer": 218_192,
    "convolutional": 4_385,
    "sparse": 101_200,
    "denoising": 28_353,
}
SPEC_CODE_SIZES = {"vanilla": 64, "multilayer": 64, "convolutional": 128, "sparse": 64, "denoising": 1_568}
SPEC_SPARSE_L1 = 1e-4  # the post's 10e-5

# Layer constructors a chapter must not call in a code cell: its model comes from utils.models.
# (keras.Model(...) stays allowed: chapters cut sub-models such as the encoder out of a built model.)
# --------------------------------------------------------------------------- notebooks


def _toc_entry(suffix: str) -> str:
    matches = [f for f in toc_files() if re.fullmatch(rf"chapters/\d\d_{suffix}", f)]
    assert len(matches) == 1, f"_toc.yml must list exactly one chapters/NN_{suffix}; found {matches}"
    return matches[0]


def _code_cells(entry: str) -> list[str]:
    path = ROOT / f"{entry}.ipynb"
    assert path.exists(), f"{entry}.ipynb is listed in _toc.yml but missing"
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _strip_comments(code: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in code.splitlines())


# --------------------------------------------------------------------------- tests: utils.models = the post


def test_the_course_trains_the_posts_five_models():
    assert tuple(config.MODELS) == NAMES
    assert set(models.BUILDERS) == set(NAMES)
    assert models.EXPECTED_PARAMS == SPEC_TOTALS


@pytest.mark.parametrize("name", NAMES)
def test_builder_matches_the_spec_layer_by_layer(name):
    model = models.build(name)
    rows = models.fingerprint(model)
    expected = EXPECTED_LAYERS[name]
    assert len(rows) == len(expected), f"{name}: {len(rows)} layers, the post has {len(expected)}"
    for i, ((kind, shape, params, settings), (e_kind, e_shape, e_params, e_settings)) in enumerate(zip(rows, expected)):
        where = f"{name}, layer {i} ({model.layers[i].name})"
        assert kind == e_kind, f"{where}: {kind}, expected {e_kind}"
        assert tuple(shape) == e_shape, f"{where}: output shape {shape}, expected {e_shape}"
        assert params == e_params, f"{where}: {params} parameters, expected {e_params}"
        got = dict(settings)
        for key, value in e_settings.items():
            assert got.get(key) == value, f"{where}: {key}={got.get(key)!r}, expected {value!r}"
    assert sum(e[2] for e in expected) == SPEC_TOTALS[name]  # the table above adds up to the post's total
    assert model.count_params() == SPEC_TOTALS[name]
    assert models.code_size(model) == SPEC_CODE_SIZES[name]


@pytest.mark.parametrize("name", NAMES)
def test_build_by_name_is_the_named_builder(name):
    """The summary calls models.build(name); the chapters call models.build_<name>()."""
    by_name = models.fingerprint(models.build(name))
    by_builder = models.fingerprint(getattr(models, f"build_{name}")())
    assert by_name == by_builder
    assert models.build(name).name == name  # part of the weight-cache key


def test_only_the_sparse_model_has_an_l1_penalty_of_1e_4():
    for name in NAMES:
        model = models.build(name)
        for layer in model.layers:
            if layer.name == "code" and name == "sparse":
                reg = layer.activity_regularizer
                assert isinstance(reg, keras.regularizers.L1), f"sparse code layer: {reg!r}, expected L1"
                assert reg.get_config()["l1"] == pytest.approx(SPEC_SPARSE_L1, rel=1e-6)
            else:
                assert getattr(layer, "activity_regularizer", None) is None, f"{name}.{layer.name} has a penalty"
            for attr in ("kernel_regularizer", "bias_regularizer"):
                assert getattr(layer, attr, None) is None, f"{name}.{layer.name} has a {attr}"


# --------------------------------------------------------------------------- tests: the notebooks use it


@pytest.mark.parametrize("name", NAMES)
def test_chapter_trains_with_its_budget_and_saves_the_weights(name):
    """The summary reuses a chapter's weights only if the chapter trained with its own budget."""
    entry = _toc_entry(name)
    code = _strip_comments("\n".join(_code_cells(entry)))
    assert re.search(rf"config\.budget\(\s*[\"']{name}[\"']\s*\)", code), f"{entry} must use config.budget({name!r})"
    assert "training.set_seed(" in code, f"{entry} must seed before building its model"
    saves = "training.train_and_save(" in code or "training.cache_run(" in code
    assert saves, f"{entry} must train with training.train_and_save (or cache its own fit with training.cache_run)"


def test_summary_builds_every_model_of_the_course_through_the_shared_builders():
    entry = _toc_entry("summary")
    code = _strip_comments("\n".join(_code_cells(entry)))
    loops_over_all = "models.build(name)" in code and re.search(r"for name in config\.COURSE_MODELS", code)
    explicit = all(f"models.build_{n}()" in code for n in config.COURSE_MODELS)
    assert loops_over_all or explicit, f"{entry} must build every model with models.build over config.COURSE_MODELS"
    # the variational model's weights are reused only with the loss its chapter trained it with
    assert "loss=models.bernoulli_nll" in code, f"{entry} must load the variational model with its chapter's loss"
    assert "training.load_or_train(" in code, f"{entry} must get the weights with training.load_or_train"
    assert code.find("training.set_seed()") < code.find("models.build("), f"{entry} must seed before building"


def test_weight_cache_key_sees_any_change_to_a_model():
    """A model that differs in anything but its weights (here one initializer) never reuses cached weights."""
    import numpy as np

    from utils import training

    x = np.zeros((4, 28, 28), dtype="float32")
    budget = config.budget("convolutional", quick=True)
    model = models.build_convolutional()
    cfg = model.get_config()
    for layer in cfg["layers"]:
        if layer["name"] == "reconstruction":
            layer["config"]["bias_initializer"] = keras.initializers.serialize(keras.initializers.Constant(0.123))
    changed = keras.Model.from_config(cfg)
    assert models.fingerprint(changed) == models.fingerprint(model)  # same layers, shapes, parameters...
    assert training.run_key(changed, x, x, budget) != training.run_key(model, x, x, budget)  # ...other key
    assert training.run_key(models.build_convolutional(), x, x, budget) == training.run_key(model, x, x, budget)
