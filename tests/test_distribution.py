"""Training on several devices: ``training.train(..., distribution=...)`` and :mod:`utils.devices`.

Device counts are fixed when JAX or TensorFlow starts, so the runs on two
simulated CPU devices happen in fresh Python processes (``utils.devices`` starts
them). Each trains a model from the same seed, initial weights and batches on
one device and on two, and compares the weights.

The tolerance, ``TOL = 1e-5`` on every weight after two epochs: data
parallelism computes the same gradient of the same global batch, summed in
another order, so the weights may differ by float32 rounding only. Measured:
at most about 1e-7 (Keras 3.15.1, TensorFlow 2.21, JAX 0.10.2), for weights of
size up to about 2, whose float32 spacing is 2.4e-7. A real difference in
training moves weights by about a learning rate (1e-3) per step: training on
other batches (the bug this module's ``_ReplayedEpochs`` avoids under a
tf.distribute strategy) left a difference of 9e-3. ``TOL`` lies a hundred
times above the one and a hundred times below the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import utils  # noqa: F401  (quiets TensorFlow before Keras loads)
from utils import config, data, devices, models, training

TOL = 1e-5
N_TRAIN, N_TEST = 64, 32  # multiples of 32: every batch splits evenly over 2 devices


@pytest.fixture(autouse=True)
def weights_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("AE_WEIGHTS_DIR", str(tmp_path / "weights"))


def _assert_same_training(run, name):
    one, many = run["history_one"], run["history_many"]
    assert len(one["loss"]) == len(many["loss"]) == 2, (name, one, many)
    for key in one:
        np.testing.assert_allclose(many[key], one[key], rtol=1e-5, err_msg=f"{name}: history {key!r}")
    assert run["max_weight_difference"] <= TOL, f"{name}: weights differ by {run['max_weight_difference']:.3g}"


def test_jax_data_parallel_on_two_simulated_devices_matches_one_device():
    out = devices.compare_devices("jax", ("vanilla", "variational"), devices=2, n_train=N_TRAIN, n_test=N_TEST)
    assert out["backend"] == "jax"
    assert len(out["devices"]) == 2, out["devices"]  # len(jax.devices()) in the process that trained
    assert out["replicas"] == [2], out["replicas"]  # the DataParallel mesh: one axis over both devices
    for name, run in out["models"].items():
        _assert_same_training(run, name)  # the VAE too: JAX draws its noise as on one device


def test_tensorflow_mirrored_strategy_on_two_logical_cpus_matches_one_device():
    out = devices.compare_devices("tensorflow", ("vanilla", "variational"), devices=2, n_train=N_TRAIN, n_test=N_TEST)
    assert out["backend"] == "tensorflow"
    assert out["devices"] == ["/device:CPU:0", "/device:CPU:1"], out["devices"]
    assert out["replicas"] == [2], out["replicas"]  # MirroredStrategy.num_replicas_in_sync
    _assert_same_training(out["models"]["vanilla"], "vanilla")
    # What training.train's docstring says of TensorFlow: each replica draws the same noise for its half
    # of the batch, so the VAE trains (finite, close losses) but is not the one-device run.
    vae = out["models"]["variational"]
    assert vae["max_weight_difference"] > 100 * TOL, "the VAE now trains as on one device: update the docstring"
    np.testing.assert_allclose(vae["history_many"]["loss"], vae["history_one"]["loss"], rtol=0.05)


_JAX_ERRORS = """
import json
import tensorflow as tf
import utils
import keras
import numpy as np
from utils import config, models, training

x = np.random.default_rng(0).random((64, 28, 28), dtype=np.float32)
budget = config.Budget(mode="quick", n_train=64, n_test=16, epochs=1, batch_size=16)
out = {"devices": keras.distribution.list_devices()}
for label, distribution, size in [
    ("tf_strategy", tf.distribute.MirroredStrategy(["/cpu:0"]), 16),
    ("not_a_distribution", "gpu", 16),
    ("uneven_batch", keras.distribution.DataParallel(), 15),
    ("uneven_validation", keras.distribution.DataParallel(), 16),
]:
    training.set_seed()
    model = models.build("vanilla")
    before = model.get_weights()
    b = config.Budget(**{**budget.__dict__, "batch_size": size})
    validation = (x[:17], x[:17]) if label == "uneven_validation" else None
    try:
        training.train(model, x, x, b, validation=validation, distribution=distribution)
        out[label] = None
    except (TypeError, ValueError) as err:
        unchanged = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
        out[label] = [type(err).__name__, str(err), unchanged]
print("RESULT" + json.dumps(out))
"""


def test_wrong_pairings_and_uneven_batches_on_jax_name_the_fix():
    env = dict(
        os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2"
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_JAX_ERRORS)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.rsplit("RESULT", 1)[1])
    assert out["devices"] == ["cpu:0", "cpu:1"]
    kind, message, unchanged = out["tf_strategy"]
    assert kind == "ValueError" and "keras.distribution.DataParallel()" in message and "KERAS_BACKEND" in message
    kind, message, unchanged = out["not_a_distribution"]
    assert kind == "TypeError" and "distribution=keras.distribution.DataParallel()" in message
    kind, message, unchanged = out["uneven_batch"]
    assert kind == "ValueError" and "batch_size holds 15 images" in message and "multiples of 2" in message
    kind, message, unchanged = out["uneven_validation"]
    assert kind == "ValueError" and "the last validation batch holds 17 images" in message
    assert all(out[label][2] for label in ("tf_strategy", "not_a_distribution", "uneven_batch", "uneven_validation"))


X = np.random.default_rng(0).random((64, 28, 28), dtype=np.float32)
TINY = config.Budget(mode="quick", n_train=64, n_test=16, epochs=2, batch_size=16)


@pytest.mark.parametrize("call", ["train", "train_and_save", "load_or_train"])
def test_wrong_pairings_on_tensorflow_name_the_fix(call):
    assert keras.backend.backend() == "tensorflow"
    fit = getattr(training, call)
    training.set_seed()
    model = models.build("vanilla")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"tf\.distribute\.MirroredStrategy\(\).*KERAS_BACKEND=jax"):
        fit(model, X, X, TINY, distribution=keras.distribution.DataParallel())
    with pytest.raises(TypeError, match=r"distribution=tf\.distribute\.MirroredStrategy\(\)"):
        fit(model, X, X, TINY, distribution="gpu")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing trained, nothing changed


def test_a_distribution_trains_the_chapters_model_in_place_and_shares_its_cache_key(capsys):
    """One device through MirroredStrategy in this process: the model itself ends up trained, then reused."""
    import tensorflow as tf

    training.set_seed()
    reference = models.build("vanilla")
    plain = training.train(reference, X, X, TINY, validation=(X[:16], X[:16]))

    training.set_seed()
    model = models.build("vanilla")
    result = training.train_and_save(
        model, X, X, TINY, validation=(X[:16], X[:16]), distribution=tf.distribute.MirroredStrategy(["/cpu:0"])
    )
    assert result.epochs == 2 and set(result.history) == set(plain.history)
    np.testing.assert_allclose(result.history["loss"], plain.history["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=TOL)
    steps = TINY.epochs_for(len(X)) * -(-len(X) // TINY.batch_size)
    assert int(model.optimizer.iterations) == steps  # the optimizer's state came back with the weights
    np.testing.assert_allclose(training.reconstruct(model, X[:4]), training.reconstruct(reference, X[:4]), atol=1e-5)

    training.set_seed()
    again = models.build("vanilla")
    _, reused = training.load_or_train(again, X, X, TINY, validation=(X[:16], X[:16]))  # no distribution now
    assert reused and "reused verified weights" in capsys.readouterr().out
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("corrupt", [None, data.GaussianNoise(0.5)], ids=["plain", "corrupted"])
def test_replayed_epochs_are_the_epochs_of_batches(corrupt):
    """Every pass over an epoch is the same, and the epochs follow batches' seeded order and noise."""
    x = np.arange(40 * 4, dtype=np.float32).reshape(40, 4) / 160
    y = x[:, ::-1].copy()

    def passes(ds, n=None):
        return [np.concatenate(parts) for parts in zip(*[(a.numpy(), b.numpy()) for a, b in ds.take(n or -1)])]

    reference = training.batches(x, y, 8, seed=3, chunk=2, corrupt=corrupt)
    expected = [passes(reference) for _ in range(3)]
    replayed = training._ReplayedEpochs(x, y, 8, 3, corrupt)
    for epoch in range(3):
        ds = replayed.epoch()
        first = passes(ds, 1)  # a look at the first batch, as Keras takes under a tf.distribute strategy
        got, again = passes(ds), passes(ds)
        for a, b, c in zip(expected[epoch], got, again):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(b, c)
        np.testing.assert_array_equal(first[0], got[0][:8])


def test_epoch_seconds_measures_in_a_fresh_process_on_the_backend_asked_for():
    out = devices.epoch_seconds("jax", ("vanilla",), n_train=64, epochs=3, quick=True)
    assert out["backend"] == "jax" and out["devices"]
    run = out["models"]["vanilla"]
    assert len(run["epochs"]) == 3 and all(s > 0 for s in run["epochs"])
    assert run["first"] == run["epochs"][0] and run["steady"] == run["epochs"][2]
    with pytest.raises(ValueError, match="at least 3"):
        devices.epoch_seconds("jax", n_train=64, epochs=2)
    with pytest.raises(ValueError, match="backend must be one of"):
        devices.epoch_seconds("torch", n_train=64)


def test_a_missing_backend_is_one_clear_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    assert not devices.backend_available("jax") and devices.backend_available("tensorflow")
    with pytest.raises(devices.MissingBackend, match=r"pip install -r requirements.txt.*pip install jax") as err:
        devices.compare_devices("jax")
    assert err.value._render_traceback_() == [f"MissingBackend: {err.value}"]  # what Jupyter shows
