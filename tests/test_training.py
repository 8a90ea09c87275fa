"""utils.training and utils.models: reproducible training, the verified weight cache, shapes."""

import hashlib
import json
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest

import utils  # noqa: F401  (quiets TensorFlow before Keras loads)
from utils import config, models, training

RNG = np.random.default_rng(0)
_grid = np.linspace(0, 1, 28)
_PATTERNS = np.stack([np.outer(np.sin(np.pi * k * _grid) ** 2, np.cos(np.pi * _grid / 2) ** 2) for k in (1, 2, 3)])
# Structured images: random mixtures of three smooth patterns, so there is something to learn.
X = np.clip(np.einsum("nk,kij->nij", RNG.random((64, 3)), _PATTERNS) / 2, 0, 1).astype(np.float32)
TINY = config.Budget(mode="quick", n_train=64, n_test=16, epochs=2, batch_size=16, learning_rate=1e-3)


@pytest.fixture(autouse=True)
def weights_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("AE_WEIGHTS_DIR", str(tmp_path / "weights"))


def _run(name="vanilla", budget=TINY):
    training.set_seed(7)
    model = models.build(name)
    return model, training.train(model, X, X, budget, validation=(X[:16], X[:16]))


@pytest.mark.parametrize("name, jit", [("vanilla", False), ("vanilla", True), ("denoising", False)])
def test_training_is_reproducible_bit_for_bit(name, jit):
    # The recipes run on TensorFlow's own kernels; a reader may turn XLA on.
    budget = config.Budget(**{**TINY.__dict__, "jit_compile": jit})
    m1, r1 = _run(name, budget)
    m2, r2 = _run(name, budget)
    assert r1.history["loss"] == r2.history["loss"]
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert r1.epochs == 2 and set(r1.history) >= {"loss", "mse", "val_loss", "val_mse"}


def test_training_reduces_the_error():
    training.set_seed(0)
    model = models.build_vanilla()
    budget = config.Budget(mode="quick", n_train=64, n_test=16, epochs=30, batch_size=16, learning_rate=3e-3)
    result = training.train(model, X, X, budget)
    assert result.history["mse"][-1] < 0.8 * result.history["mse"][0]


def test_sparse_loss_contains_the_penalty():
    _, r = _run("sparse")
    assert all(loss > mse for loss, mse in zip(r.history["loss"], r.history["mse"]))


def test_reconstruct_and_encode_shapes():
    for name, size in [("vanilla", 64), ("convolutional", 128), ("denoising", 1568)]:
        model = models.build(name)
        assert training.reconstruct(model, X[:5]).shape == (5, 28, 28)
        assert training.encode(model, X[:5]).shape == (5, size)
        assert models.code_size(model) == size


def test_train_rejects_bad_input():
    model = models.build_vanilla()
    with pytest.raises(ValueError, match="same number of images"):
        training.train(model, X, X[:10], TINY)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        training.train(model, X * 255, X, TINY)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        training.set_seed(-1)


def test_weight_cache_reuses_only_verified_identical_runs(capsys):
    training.set_seed()
    first = models.build_vanilla()
    trained = training.train_and_save(first, X, X, TINY)

    training.set_seed()
    again = models.build_vanilla()
    result, reused = training.load_or_train(again, X, X, TINY)
    assert reused and result.history == trained.history
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert "reused verified weights" in capsys.readouterr().out

    # Other data: a different key, so it trains.
    training.set_seed()
    _, reused = training.load_or_train(models.build_vanilla(), X[::-1], X[::-1], TINY)
    assert not reused

    # A tampered weight file fails verification and is retrained, not loaded.
    key = training.run_key(first, X, X, TINY)
    weights, _ = training._paths("vanilla", key)
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    training.set_seed()
    _, reused = training.load_or_train(models.build_vanilla(), X, X, TINY)
    assert not reused
    assert "failed verification" in capsys.readouterr().out


def test_run_key_depends_on_budget_and_architecture():
    model = models.build_vanilla()
    k = training.run_key(model, X, X, TINY)
    assert k != training.run_key(model, X, X, config.Budget(**{**TINY.__dict__, "epochs": 3}))
    assert k != training.run_key(models.build_sparse(), X, X, TINY)
    assert k == training.run_key(models.build_vanilla(), X, X, TINY)


def test_run_key_depends_on_the_training_code(monkeypatch):
    """Weights cached by another version of utils/training.py are not reused."""
    model = models.build_vanilla()
    k = training.run_key(model, X, X, TINY)
    assert training._code_digest() == hashlib.sha256(Path(training.__file__).read_bytes()).hexdigest()
    monkeypatch.setattr(training, "_code_digest", lambda: "0" * 64)
    assert training.run_key(model, X, X, TINY) != k


def test_models_match_the_post():
    for name, expected in models.EXPECTED_PARAMS.items():
        assert models.build(name).count_params() == expected, name
    with pytest.raises(ValueError, match="unknown model"):
        models.build("vae")
    with pytest.raises(ValueError, match="no layer named 'code'"):
        x = keras.Input((4,))
        models.encoder(keras.Model(x, keras.layers.Dense(2)(x)))


def test_output_bias_starts_at_mean_brightness():
    model = models.build_denoising()
    logit = training.init_output_bias(model, X)
    mean = float(X.mean())
    assert logit == pytest.approx(np.log(mean / (1 - mean)), rel=1e-5)
    assert model.get_layer("reconstruction").get_weights()[1][0] == pytest.approx(logit)
    # Only the starting point changes, not the architecture.
    assert model.count_params() == models.EXPECTED_PARAMS["denoising"]


def _epoch(ds):
    xs, ys = zip(*[(np.asarray(a), np.asarray(b)) for a, b in ds])
    return xs, ys


def test_batches_cover_every_image_once_per_epoch_in_a_seeded_order():
    n = 1000
    x_in = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 784), np.float32) / n
    x_target = 1.0 - x_in  # a different target array, to check the pairs stay aligned
    ds = training.batches(x_in, x_target, 64, seed=5, chunk=3)
    assert int(ds.cardinality()) == 16
    (xs1, ys1), (xs2, _) = _epoch(ds), _epoch(ds)
    assert [len(b) for b in xs1] == [64] * 15 + [40]
    ids1 = np.concatenate([b[:, 0] for b in xs1]) * n
    np.testing.assert_array_equal(np.sort(np.rint(ids1)), np.arange(n))  # every image exactly once
    for a, b in zip(xs1, ys1):
        np.testing.assert_array_equal(b, 1.0 - a)
    ids2 = np.concatenate([b[:, 0] for b in xs2]) * n
    assert not np.array_equal(ids1, ids2)  # a fresh order every epoch...
    again = _epoch(training.batches(x_in, x_target, 64, seed=5, chunk=3))[0]
    np.testing.assert_array_equal(np.concatenate(again), np.concatenate(xs1))  # ...and the same for the same seed
    other = _epoch(training.batches(x_in, x_target, 64, seed=6, chunk=3))[0]
    assert not np.array_equal(np.concatenate(other), np.concatenate(xs1))


def test_batches_reject_bad_input():
    with pytest.raises(ValueError, match="same number of images"):
        training.batches(X, X[:10], 8)
    for bad in (0, 2.5, True, "8"):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            training.batches(X, X, bad)
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        training.batches(X, X, 8, chunk=0)


def _spy_on_full_size_copies(monkeypatch, n: int) -> list[str]:
    """Record each conversion into a tensor or a dataset of anything holding ``n`` images.

    ``fit`` on NumPy arrays copies them with ``tf.data.Dataset.from_tensors``;
    the tensor conversions are watched too. Returns the list it appends to.
    """
    import tensorflow as tf

    seen = []

    def spy(name, original):
        def watched(*args, **kwargs):
            for leaf in tf.nest.flatten((args, kwargs)):
                shape = getattr(leaf, "shape", None)
                try:
                    if shape is not None and len(shape) > 0 and shape[0] == n:
                        seen.append(f"{name}({type(leaf).__name__} of shape {tuple(shape)})")
                except (TypeError, ValueError):  # a shape of unknown rank
                    pass
            return original(*args, **kwargs)

        return watched

    for owner, name in [(tf, "convert_to_tensor"), (tf, "constant"), (keras.ops, "convert_to_tensor")]:
        monkeypatch.setattr(owner, name, spy(name, getattr(owner, name)))
    for name in ("from_tensors", "from_tensor_slices"):
        monkeypatch.setattr(tf.data.Dataset, name, staticmethod(spy(name, getattr(tf.data.Dataset, name))))
    return seen


def test_train_feeds_fit_batches_not_the_training_set(monkeypatch):
    """``fit`` gets the dataset cut by ``batches``, never the arrays, and no full-size copy is made.

    (How much memory that saves is measured by ``benchmarks/memory.py``, not here.)
    """
    import tensorflow as tf

    made, given = [], []
    real_batches, real_fit = training.batches, keras.Model.fit

    def batches(*args, **kwargs):
        made.append(real_batches(*args, **kwargs))
        return made[-1]

    def fit(self, *args, **kwargs):
        given.append((args, kwargs))
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(training, "batches", batches)
    monkeypatch.setattr(keras.Model, "fit", fit)
    x = X[:48]  # a size that no batch, validation set or weight of the model has
    seen = _spy_on_full_size_copies(monkeypatch, len(x))

    training.set_seed()
    training.train(models.build_vanilla(), x, x, TINY, validation=(X[:16], X[:16]))
    [(args, kwargs)] = given
    assert len(made) == 1 and len(args) == 1 and args[0] is made[0]
    assert isinstance(args[0], tf.data.Dataset)
    assert [tuple(spec.shape) for spec in args[0].element_spec] == [(None, 784), (None, 784)]
    assert kwargs.get("y") is None
    assert seen == [], f"train made full-size copies of the training set: {seen}"

    # Control: given the arrays themselves, fit does copy them, and the spy sees it.
    model = training.compile_model(models.build_vanilla(), TINY, len(x))
    flat = x.reshape(len(x), 784)
    model.fit(flat, flat, batch_size=16, epochs=1, verbose=0)
    assert seen, "control: the spy no longer sees fit copy NumPy arrays; it must watch another function"


# --------------------------------------------------------------------------- weight cache: saving


def _cache_files() -> list[str]:
    return sorted(p.name for p in training.weights_dir().iterdir())


def _fail_like_a_locked_file(self, filepath, *args, **kwargs):
    Path(filepath).write_bytes(b"")  # h5py opens the file for writing, truncating it, then fails to lock it
    raise BlockingIOError(11, "Unable to synchronously create file (unable to lock file)")


def _fail_to_rename(src, dst):
    raise PermissionError(13, "Permission denied", str(dst))


@pytest.mark.parametrize("failure", ["file locked", "rename refused"])
def test_a_failed_save_leaves_the_cached_run_intact(failure, monkeypatch, capsys):
    training.set_seed()
    model = models.build_vanilla()
    training.train_and_save(model, X, X, TINY)
    weights, meta = training._paths("vanilla", training.run_key(model, X, X, TINY))
    saved, files = (weights.read_bytes(), meta.read_bytes()), _cache_files()
    assert len(saved[0]) > 0 and files == [meta.name, weights.name]

    if failure == "file locked":
        monkeypatch.setattr(keras.Model, "save_weights", _fail_like_a_locked_file)
    else:
        monkeypatch.setattr(training.os, "replace", _fail_to_rename)
    training.set_seed()
    training.train_and_save(models.build_vanilla(), X, X, TINY)
    assert (weights.read_bytes(), meta.read_bytes()) == saved  # byte for byte
    assert _cache_files() == files  # and no temporary file left behind
    assert "vanilla: weights not cached (" in capsys.readouterr().out


@pytest.mark.parametrize("swap", ["half-written file", "another run's weights"])
def test_load_uses_the_bytes_it_verified_even_if_the_file_changes_meanwhile(swap, tmp_path, monkeypatch):
    training.set_seed()
    first = models.build_vanilla()
    training.train_and_save(first, X, X, TINY)
    weights, _ = training._paths("vanilla", training.run_key(first, X, X, TINY))
    good = weights.read_bytes()
    if swap == "half-written file":
        replacement = good[: len(good) // 2]
    else:
        training.set_seed(99)
        models.build_vanilla().save_weights(tmp_path / "other.weights.h5")
        replacement = (tmp_path / "other.weights.h5").read_bytes()

    real_read_bytes = Path.read_bytes

    def read_then_replaced(self):  # another process rewrites the file just after it is read and hashed
        data = real_read_bytes(self)
        if self == weights:
            weights.write_bytes(replacement)
        return data

    monkeypatch.setattr(Path, "read_bytes", read_then_replaced)
    training.set_seed()
    again = models.build_vanilla()
    result, reused = training.load_or_train(again, X, X, TINY)
    assert reused and result.epochs == TINY.epochs
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("blocked", ["folder is a file", "folder below a file", "file locked", "permission denied"])
def test_load_or_train_keeps_the_trained_model_when_it_cannot_be_cached(blocked, tmp_path, monkeypatch, capsys):
    # Tests run as root, which chmod does not stop: block the folder with a file, or make the save fail.
    if blocked == "folder is a file":
        training.weights_dir().write_text("a file where the folder should be")
    elif blocked == "folder below a file":
        (tmp_path / "a-file").write_text("")
        monkeypatch.setenv("AE_WEIGHTS_DIR", str(tmp_path / "a-file" / "weights"))
    elif blocked == "file locked":
        monkeypatch.setattr(keras.Model, "save_weights", _fail_like_a_locked_file)
    else:

        def refuse(self, filepath, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(filepath))

        monkeypatch.setattr(keras.Model, "save_weights", refuse)

    training.set_seed()
    model = models.build_vanilla()
    initial = model.get_weights()
    result, reused = training.load_or_train(model, X, X, TINY, validation=(X[:16], X[:16]))
    assert not reused and result.epochs == TINY.epochs and "val_mse" in result.history
    assert all(not np.array_equal(a, b) for a, b in zip(initial, model.get_weights()))  # trained, every layer
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("vanilla: trained now in ")
    assert [line for line in lines if "not cached" in line] == lines[1:] and len(lines) == 2, lines


# --------------------------------------------------------------------------- weight cache: the key


def test_a_run_with_other_validation_data_is_not_reused():
    """The validation data decides the val_* history, so it is part of the key."""
    training.set_seed()
    training.train_and_save(models.build_vanilla(), X, X, TINY, validation=(X[:16], X[:16]))
    training.set_seed()
    other, reused = training.load_or_train(models.build_vanilla(), X, X, TINY, validation=(X[16:32], X[16:32]))
    assert not reused
    training.set_seed()
    again, reused = training.load_or_train(models.build_vanilla(), X, X, TINY, validation=(X[16:32], X[16:32]))
    assert reused and again.history == other.history

    model = models.build_vanilla()
    keys = {training.run_key(model, X, X, TINY, validation=v) for v in (None, (X[:16], X[:16]), (X[16:32], X[16:32]))}
    assert len(keys) == 3


def test_run_key_depends_on_the_keras_backend(monkeypatch):
    import tensorflow as tf

    model = models.build_vanilla()
    k = training.run_key(model, X, X, TINY)

    # Under KERAS_BACKEND=jax, perhaps without TensorFlow: the key needs no TensorFlow and differs.
    with monkeypatch.context() as m:
        m.setattr(keras.backend, "backend", lambda: "jax")
        m.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now fails
        jax = types.SimpleNamespace(__version__="0.4.30")
        m.setitem(sys.modules, "jax", jax)
        k_jax = training.run_key(model, X, X, TINY)
        assert k_jax != k
        jax.__version__ = "0.5.0"
        assert training.run_key(model, X, X, TINY) != k_jax

    # On TensorFlow, TensorFlow's version is recorded.
    assert training._backend() == {"backend": "tensorflow", "backend_version": tf.__version__}


def test_a_model_name_with_a_dot_keeps_the_key():
    key = "0123456789abcdef" * 4
    weights, meta = training._paths("v.1", key)
    assert (weights.name, meta.name) == (f"v.1-{key[:20]}.weights.h5", f"v.1-{key[:20]}.json")

    def dotted():
        training.set_seed()
        base = models.build_vanilla()
        return keras.Model(base.inputs, base.outputs, name="v.1")

    # Two runs with other data keep two files each, so both are reused.
    training.train_and_save(dotted(), X, X, TINY)
    training.train_and_save(dotted(), X[::-1], X[::-1], TINY)
    assert training.load_or_train(dotted(), X, X, TINY)[1]
    assert training.load_or_train(dotted(), X[::-1], X[::-1], TINY)[1]


# --------------------------------------------------------------------------- weight cache: metadata


def _edit_json(change):
    def edit(text: str) -> str:
        info = json.loads(text)
        change(info)
        return json.dumps(info)

    return edit


_METADATA_EDITS = {
    "edited val_mse": _edit_json(lambda info: info["history"]["val_mse"].__setitem__(-1, 1e-6)),
    "missing history": _edit_json(lambda info: info.pop("history")),
    "seconds is text": _edit_json(lambda info: info.update(seconds="abc")),
    "history not lists of numbers": _edit_json(lambda info: info["history"].update(loss="abc")),
    "not JSON": lambda text: text[: len(text) // 2],  # cut off
    "JSON but not an object": lambda text: "[1, 2, 3]",
}


@pytest.mark.parametrize("edit", list(_METADATA_EDITS.values()), ids=list(_METADATA_EDITS))
def test_edited_or_malformed_metadata_is_a_cache_miss(edit, monkeypatch, capsys):
    validation = (X[:16], X[:16])
    training.set_seed()
    trained = training.train_and_save(models.build_vanilla(), X, X, TINY, validation=validation)
    [meta] = training.weights_dir().glob("vanilla-*.json")
    meta.write_text(edit(meta.read_text()))
    capsys.readouterr()

    loaded = []
    real_load_weights = keras.Model.load_weights

    def load_weights(self, *args, **kwargs):
        loaded.append(args)
        return real_load_weights(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "load_weights", load_weights)
    training.set_seed()
    result, reused = training.load_or_train(models.build_vanilla(), X, X, TINY, validation=validation)
    assert not reused and not loaded  # checked before any weight was loaded
    assert result.history == trained.history  # trained again, the same run
    assert "failed verification" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change",
    [
        lambda info: info.pop("history"),
        lambda info: info.update(seconds="abc"),
        lambda info: info.update(seconds=-1.0),
        lambda info: info["history"].update(loss=[0.1, "x"]),
        lambda info: info["history"].update(loss=[0.1]),  # one epoch, while the others have two
    ],
    ids=["missing history", "seconds is text", "negative seconds", "a value is text", "ragged history"],
)
def test_malformed_metadata_is_rejected_even_with_a_matching_checksum(change):
    """The checksum catches edits; the checks of each field catch a file written wrongly in the first place."""
    training.set_seed()
    model = models.build_vanilla()
    training.train_and_save(model, X, X, TINY)
    key = training.run_key(model, X, X, TINY)
    _, meta = training._paths("vanilla", key)
    info = json.loads(meta.read_text())
    change(info)
    info["sha256"] = training._metadata_digest(info)
    meta.write_text(json.dumps(info))
    before = model.get_weights()
    result, why = training.load_run(model, key)
    assert result is None and "failed verification" in why, why
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_train_is_exactly_the_steps_the_vanilla_chapter_shows():
    """The vanilla chapter compiles and fits in plain view, then caches that run for later chapters.

    Its training cell, run on tiny data, must give bit for bit the weights and history of
    ``training.train``; otherwise the later chapters would reuse weights that a retrain
    through ``train`` could not reproduce.
    """
    import json
    import time

    import keras

    nb = json.loads((Path(__file__).resolve().parents[1] / "chapters" / "01_vanilla.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    (cell,) = [c for c in cells if "autoencoder.fit(" in c]
    x_test = X[:16]

    training.set_seed()
    shown = models.build_vanilla()
    namespace = {
        "autoencoder": shown,
        "x_train": X,
        "x_test": x_test,
        "budget": TINY,
        "training": training,
        "keras": keras,
        "time": time,
    }
    exec(compile(cell, "01_vanilla training cell", "exec"), namespace)  # noqa: S102
    history = {k: v for k, v in namespace["history"].history.items() if k != "learning_rate"}

    training.set_seed()
    reference = models.build_vanilla()
    result = training.train(reference, X, X, TINY, validation=(x_test, x_test))
    assert history == result.history
    for a, b in zip(shown.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_cache_run_is_reused_like_train_and_save(capsys):
    import time

    training.set_seed()
    model = models.build_vanilla()
    training.init_output_bias(model, X)
    training.compile_model(model, TINY, len(X))
    start = time.perf_counter()
    history = model.fit(
        training.batches(X.reshape(-1, 784), X.reshape(-1, 784), TINY.batch_size), epochs=TINY.epochs, verbose=0
    )
    result = training.cache_run(model, history, time.perf_counter() - start, X, X, TINY)
    assert result.epochs == TINY.epochs and "learning_rate" not in result.history

    training.set_seed()
    again = models.build_vanilla()
    reused_result, reused = training.load_or_train(again, X, X, TINY)
    assert reused and reused_result.history == result.history
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
