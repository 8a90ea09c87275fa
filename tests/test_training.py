"""utils.training and utils.models: reproducible training, the verified weight cache, shapes."""

import hashlib
from pathlib import Path

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
        import keras
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
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        training.batches(X, X, 0)


def test_train_does_not_copy_the_training_set_into_tensors():
    # model.fit on NumPy arrays converts inputs and targets into tensors, two
    # extra copies of the data (the control below sees them); train() feeds
    # batches instead, so a second run on the same 80 MB does not grow memory.
    import psutil

    big = np.random.default_rng(0).random((25600, 28, 28), dtype=np.float32)  # 80 MB
    budget = config.Budget(mode="quick", n_train=None, n_test=None, epochs=1, batch_size=256, jit_compile=False)
    proc = psutil.Process()

    def growth(run) -> float:
        before = proc.memory_info().rss
        run()
        return (proc.memory_info().rss - before) / 2**20

    def train_once():
        training.set_seed()
        training.train(models.build_vanilla(), big, big, budget)

    train_once()  # first run: TensorFlow's buffer pools for the batches settle
    grown = growth(train_once)
    assert grown < 40, f"training grew the process by {grown:.0f} MB on an 80 MB training set"

    model = models.build_vanilla()
    training.compile_model(model, budget, len(big))
    flat = big.reshape(-1, 784)
    control = growth(lambda: model.fit(flat, flat, batch_size=256, epochs=1, verbose=0))
    assert control > 120, f"control: fit on arrays grew only {control:.0f} MB; this test no longer measures copies"
