"""The models the course adds to the post's five: the contractive and the variational autoencoder.

Their layers and losses are written with ``keras.ops`` and ``keras.random`` only.
These tests check the mathematics (closed forms against automatic
differentiation and against NumPy), the losses each layer adds, the weight
cache's key and the helpers the chapters use. ``test_jax_backend.py`` runs the
same code under JAX.
"""

from __future__ import annotations

import numpy as np
import pytest

import utils  # noqa: F401  (quiets TensorFlow before Keras loads)
import keras
from keras import ops
from utils import config, metrics, models, training


def _images(n, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28), dtype=np.float32)


# --------------------------------------------------------------------------- contractive


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_closed_form_jacobian_norm_is_the_autodiff_one(activation):
    """sum_j a'(z_j)^2 sum_i W_ij^2 equals the squared Frobenius norm of the Jacobian that TensorFlow computes."""
    training.set_seed()
    x = keras.Input(shape=(784,))
    h = models.ContractiveDense(16, strength=0.0, activation=activation, name="code")(x)
    encoder = keras.Model(x, h)
    encoder.get_layer("code").bias.assign(np.linspace(-0.5, 0.5, 16).astype("float32"))  # some ReLUs off
    images = _images(5)
    jac = metrics.jacobian(encoder, images)
    assert jac.shape == (5, 16, 784)
    autodiff = np.sum(np.square(jac), axis=(1, 2))
    codes = encoder.predict(images.reshape(5, 784), verbose=0)
    closed = ops.convert_to_numpy(models.jacobian_frobenius_sq(codes, encoder.get_layer("code").kernel, activation))
    np.testing.assert_allclose(closed, autodiff, rtol=1e-4)
    assert np.all(autodiff > 0)


def test_contractive_layer_adds_its_penalty_to_the_loss_and_zero_strength_adds_none():
    training.set_seed()
    model = models.build_contractive(strength=0.01)
    images = _images(8).reshape(8, 784)
    model(images)
    (penalty,) = model.losses
    codes = models.encoder(model).predict(images, verbose=0)
    expected = 0.01 * np.mean(
        ops.convert_to_numpy(models.jacobian_frobenius_sq(codes, model.get_layer("code").kernel, "sigmoid"))
    )
    assert float(penalty) == pytest.approx(expected, rel=1e-5)
    plain = models.build_contractive(strength=0.0)
    plain(images)
    assert plain.losses == []


def test_contractive_layer_refuses_what_has_no_closed_form():
    with pytest.raises(ValueError, match="activation must be one of"):
        models.ContractiveDense(4, activation="tanh")
    with pytest.raises(ValueError, match="strength must be a number >= 0"):
        models.ContractiveDense(4, strength=-1.0)
    with pytest.raises(ValueError, match="for the closed form"):
        models.jacobian_frobenius_sq(np.zeros((1, 2)), np.zeros((3, 2)), "tanh")


def test_course_models_survive_clone_model_with_their_settings():
    """The chapters clone models for their exercises: the penalty's strength and beta must come along."""
    for name, attr, layer in (("contractive", "strength", "code"), ("variational", "beta", "z")):
        model = models.build(name)
        clone = keras.models.clone_model(model)
        assert getattr(clone.get_layer(layer), attr) == getattr(model.get_layer(layer), attr)
        assert models.fingerprint(clone) == models.fingerprint(model)
    assert models.fingerprint(models.build_contractive(0.1)) != models.fingerprint(models.build_contractive(0.2))


def test_contraction_ratio_approaches_the_jacobian_norm_for_small_steps():
    training.set_seed()
    model = models.build_contractive()
    encoder = models.encoder(model)
    images = _images(200)
    ratio = metrics.contraction_ratio(encoder, images, radius=1e-2)
    codes = encoder.predict(images.reshape(-1, 784), verbose=0)
    norm_sq = ops.convert_to_numpy(models.jacobian_frobenius_sq(codes, model.get_layer("code").kernel))
    # E ||J d||^2 = ||J||_F^2 / 784 for a random direction d of length 1
    assert np.mean(ratio**2) == pytest.approx(np.mean(norm_sq) / 784, rel=0.1)
    again = metrics.contraction_ratio(encoder, images, radius=1e-2)
    np.testing.assert_array_equal(ratio, again)  # seeded
    with pytest.raises(ValueError, match="radius must be positive"):
        metrics.contraction_ratio(encoder, images, radius=0.0)


def test_jacobian_says_which_backends_it_supports(monkeypatch):
    encoder = models.encoder(models.build_contractive())
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(NotImplementedError, match="tensorflow and jax"):
        metrics.jacobian(encoder, _images(1))


# --------------------------------------------------------------------------- variational


def test_kl_divergence_is_the_gaussian_formula():
    rng = np.random.default_rng(1)
    mu, log_var = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    var = np.exp(log_var)
    # KL(N(mu, var) || N(0, 1)) = 1/2 (var + mu^2 - 1 - log var), summed over dimensions
    expected = 0.5 * np.sum(var + mu**2 - 1.0 - log_var, axis=1)
    got = ops.convert_to_numpy(models.kl_divergence(mu.astype("float32"), log_var.astype("float32")))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    zero = ops.convert_to_numpy(models.kl_divergence(np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")))
    np.testing.assert_array_equal(zero, 0.0)


def test_bernoulli_nll_sums_keras_cross_entropy_over_the_pixels():
    y, p = _images(4, seed=2).reshape(4, 784), _images(4, seed=3).reshape(4, 784)
    ours = ops.convert_to_numpy(models.bernoulli_nll(y, p))
    keras_mean = ops.convert_to_numpy(keras.losses.binary_crossentropy(y, p))  # mean over the pixels
    np.testing.assert_allclose(ours, 784 * keras_mean, rtol=1e-4)
    images = ops.convert_to_numpy(models.bernoulli_nll(y.reshape(4, 28, 28, 1), p.reshape(4, 28, 28, 1)))
    np.testing.assert_allclose(images, ours, rtol=1e-6)


def test_sampling_draws_from_the_posterior_reproducibly_and_adds_beta_times_kl():
    mu = np.tile(np.array([[1.0, -2.0]], "float32"), (20_000, 1))
    log_var = np.tile(np.log(np.array([[0.25, 4.0]], "float32")), (20_000, 1))
    layer = models.Sampling(beta=0.5, seed=7)
    z = ops.convert_to_numpy(layer([mu, log_var]))
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(axis=0), [0.5, 2.0], rtol=0.05)
    kl = ops.convert_to_numpy(models.kl_divergence(mu, log_var)).mean()
    assert float(layer.losses[0]) == pytest.approx(0.5 * kl, rel=1e-5)
    z_again = ops.convert_to_numpy(models.Sampling(beta=0.5, seed=7)([mu, log_var]))
    np.testing.assert_array_equal(z, z_again)
    z_next = ops.convert_to_numpy(layer([mu, log_var]))  # the generator moves on: new noise
    assert not np.array_equal(z, z_next)


def test_decoder_is_the_rest_of_the_model():
    training.set_seed()
    vanilla = models.build_vanilla()
    images = _images(3).reshape(3, 784)
    codes = models.encoder(vanilla).predict(images, verbose=0)
    np.testing.assert_allclose(
        models.decoder(vanilla).predict(codes, verbose=0), vanilla.predict(images, verbose=0), rtol=1e-5
    )
    vae = models.build_variational()
    dec = models.decoder(vae)
    assert tuple(dec.inputs[0].shape[1:]) == (models.LATENT_DIM,)
    assert [layer.name for layer in dec.layers[1:]] == ["decoder_hidden", "reconstruction"]
    assert dec.get_layer("reconstruction") is vae.get_layer("reconstruction")  # shared weights


def test_training_a_vae_tracks_both_terms_of_the_elbo():
    training.set_seed()
    model = models.build_variational()
    budget = config.Budget(mode="quick", n_train=64, n_test=32, epochs=2, batch_size=32)
    x, v = _images(64), _images(32, seed=5)
    result = training.train(model, x, x, budget, validation=(v, v), loss=models.bernoulli_nll)
    h = {k: np.array(vals) for k, vals in result.history.items()}
    assert {"loss", "reconstruction", "mse", "val_loss", "val_reconstruction", "val_mse"} <= set(h)
    kl = h["loss"] - h["reconstruction"]
    assert np.all(kl > 0)  # the penalty the Sampling layer adds
    assert np.all(h["reconstruction"] > 100)  # summed over 784 pixels: hundreds of nats, not a per-pixel mean
    key_bce = training.run_key(model, x, x, budget, loss=models.bernoulli_nll)
    assert key_bce != training.run_key(model, x, x, budget)  # the loss is part of the cache key
    with pytest.raises(ValueError, match="loss must be"):
        training.compile_model(model, budget, 64, loss=3)


def test_course_models_have_budgets_and_names():
    assert config.COURSE_MODELS == (*config.MODELS, "contractive", "variational")
    for name in config.COURSE_MODELS:
        assert models.build(name).name == name  # part of the weight-cache key
        assert config.budget(name, quick=True).mode == "quick"
    with pytest.raises(ValueError, match="unknown model"):
        models.build("adversarial")


def test_a_trained_vae_can_be_cloned_for_an_exercise():
    """clone_model of a model compiled with the course's loss must find that loss again."""
    training.set_seed()
    model = models.build_variational()
    budget = config.Budget(mode="quick", n_train=32, n_test=32, epochs=1, batch_size=32)
    training.train(model, _images(32), _images(32), budget, loss=models.bernoulli_nll)
    clone = keras.models.clone_model(model)
    assert models.fingerprint(clone) == models.fingerprint(model)
