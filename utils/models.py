"""The course's autoencoders, defined once: the post's five, and the ones it names but does not show.

Every chapter and the summary build their models with these functions, so the
architectures cannot drift apart. Each follows the source post layer for
layer (RJ, "自编码器", 2019-09-18: layer types, sizes, activations, padding and
the parameter totals in :data:`EXPECTED_PARAMS`), written in the Keras 3
functional API (``keras.Model(inputs=..., outputs=...)``; the post's
``Model(input=..., output=...)`` is the Keras 1 spelling, which Keras 2 still
accepted and Keras 3 rejects). Each chapter writes its model out in a code cell
and checks it against these builders with :func:`compare_with_post`.

In every model the layer that produces the code ``h`` is named ``"code"``;
:func:`encoder` cuts a model there, and :func:`decoder` returns the rest.

Beyond the post, the same way: the contractive autoencoder
(:class:`ContractiveDense`, :func:`build_contractive`) and the variational
autoencoder (:class:`Sampling`, :func:`build_variational`). Their layers and
losses are written with ``keras.ops`` and ``keras.random`` only, so they run
on every Keras backend (TensorFlow, JAX, PyTorch).
"""

from __future__ import annotations

import keras
from keras import layers, ops, regularizers

from .checks import finite_number, non_negative_int, positive_int

#: Parameter counts of the post's models (``model.count_params()``).
EXPECTED_PARAMS = {
    "vanilla": 101_200,
    "multilayer": 218_192,
    "convolutional": 4_385,
    "sparse": 101_200,
    "denoising": 28_353,
}

#: Whether a model takes flat vectors ``(n, 784)`` or images ``(n, 28, 28, 1)``.
INPUT_KIND = {
    "vanilla": "vector",
    "multilayer": "vector",
    "convolutional": "image",
    "sparse": "vector",
    "denoising": "image",
}

#: L1 strength of the sparse model. The post writes ``10e-5``, which is 1e-4.
SPARSE_L1 = 10e-5


def build_vanilla() -> keras.Model:
    """784 -> Dense(64, relu) -> Dense(784, sigmoid): one hidden layer, a 64-value code."""
    x = keras.Input(shape=(784,), name="image")
    h = layers.Dense(64, activation="relu", name="code")(x)  # encoder: h = f(x)
    r = layers.Dense(784, activation="sigmoid", name="reconstruction")(h)  # decoder: r = g(h)
    return keras.Model(inputs=x, outputs=r, name="vanilla")


def build_multilayer() -> keras.Model:
    """784 -> 128 -> 64 -> 128 -> 784; the middle 64-unit layer is the code."""
    x = keras.Input(shape=(784,), name="image")
    hidden_1 = layers.Dense(128, activation="relu", name="encoder_hidden")(x)
    h = layers.Dense(64, activation="relu", name="code")(hidden_1)
    hidden_2 = layers.Dense(128, activation="relu", name="decoder_hidden")(h)
    r = layers.Dense(784, activation="sigmoid", name="reconstruction")(hidden_2)
    return keras.Model(inputs=x, outputs=r, name="multilayer")


def build_convolutional() -> keras.Model:
    """Conv 16-8-8 encoder to a 4x4x8 code, mirrored decoder (28x28x1 in and out).

    The decoder's third convolution has no ``padding="same"``: it turns the
    16x16 maps into 14x14, so that the last upsampling gives 28x28 again.
    """
    x = keras.Input(shape=(28, 28, 1), name="image")
    # Encoder: 28 -> 14 -> 7 -> 4
    c = layers.Conv2D(16, (3, 3), activation="relu", padding="same", name="enc_conv1")(x)
    c = layers.MaxPooling2D((2, 2), padding="same", name="enc_pool1")(c)
    c = layers.Conv2D(8, (3, 3), activation="relu", padding="same", name="enc_conv2")(c)
    c = layers.MaxPooling2D((2, 2), padding="same", name="enc_pool2")(c)
    c = layers.Conv2D(8, (3, 3), activation="relu", padding="same", name="enc_conv3")(c)
    h = layers.MaxPooling2D((2, 2), padding="same", name="code")(c)  # 4x4x8 = 128 values
    # Decoder: 4 -> 8 -> 16 -> 14 -> 28
    d = layers.Conv2D(8, (3, 3), activation="relu", padding="same", name="dec_conv1")(h)
    d = layers.UpSampling2D((2, 2), name="dec_up1")(d)
    d = layers.Conv2D(8, (3, 3), activation="relu", padding="same", name="dec_conv2")(d)
    d = layers.UpSampling2D((2, 2), name="dec_up2")(d)
    d = layers.Conv2D(16, (3, 3), activation="relu", name="dec_conv3_valid")(d)  # 16 -> 14
    d = layers.UpSampling2D((2, 2), name="dec_up3")(d)
    r = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same", name="reconstruction")(d)
    return keras.Model(inputs=x, outputs=r, name="convolutional")


def build_sparse(l1: float = SPARSE_L1) -> keras.Model:
    """The vanilla model with an L1 activity penalty on its 64-unit code."""
    x = keras.Input(shape=(784,), name="image")
    h = layers.Dense(64, activation="relu", activity_regularizer=regularizers.l1(l1), name="code")(x)
    r = layers.Dense(784, activation="sigmoid", name="reconstruction")(h)
    return keras.Model(inputs=x, outputs=r, name="sparse")


def build_denoising() -> keras.Model:
    """Conv 32-32 encoder to a 7x7x32 code (1,568 values: overcomplete), mirrored decoder."""
    x = keras.Input(shape=(28, 28, 1), name="image")
    c = layers.Conv2D(32, (3, 3), activation="relu", padding="same", name="enc_conv1")(x)
    c = layers.MaxPooling2D((2, 2), padding="same", name="enc_pool1")(c)
    c = layers.Conv2D(32, (3, 3), activation="relu", padding="same", name="enc_conv2")(c)
    h = layers.MaxPooling2D((2, 2), padding="same", name="code")(c)  # 7x7x32
    d = layers.Conv2D(32, (3, 3), activation="relu", padding="same", name="dec_conv1")(h)
    d = layers.UpSampling2D((2, 2), name="dec_up1")(d)
    d = layers.Conv2D(32, (3, 3), activation="relu", padding="same", name="dec_conv2")(d)
    d = layers.UpSampling2D((2, 2), name="dec_up2")(d)
    r = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same", name="reconstruction")(d)
    return keras.Model(inputs=x, outputs=r, name="denoising")


BUILDERS = {
    "vanilla": build_vanilla,
    "multilayer": build_multilayer,
    "convolutional": build_convolutional,
    "sparse": build_sparse,
    "denoising": build_denoising,
}


# --------------------------------------------------------------------------- beyond the post: contractive

#: Strength lambda of the contractive penalty (the contractive chapter measures smaller and larger ones).
CONTRACTIVE_STRENGTH = 1e-3

_SLOPES = ("sigmoid", "relu")


def jacobian_frobenius_sq(h, kernel, activation: str = "sigmoid"):
    """Squared Frobenius norm of the Jacobian dh/dx of a dense layer ``h = a(x W + b)``, one value per input.

    Taught in the contractive chapter (section The idea).

    Entry ``(j, i)`` of the Jacobian is ``a'(z_j) W_ij``, so its squared norm is
    ``sum_j a'(z_j)^2 sum_i W_ij^2``; the slope ``a'`` follows from the output
    ``h`` alone: ``h (1 - h)`` for the sigmoid, 1 where ``h > 0`` (else 0) for
    the ReLU. ``h`` has shape ``(n, units)``, ``kernel`` ``(inputs, units)``.
    Written with ``keras.ops``: it runs, and is differentiated, on every backend.
    """
    if activation not in _SLOPES:
        raise ValueError(f"activation must be one of {_SLOPES} for the closed form; got {activation!r}")
    slope = h * (1.0 - h) if activation == "sigmoid" else ops.cast(h > 0, h.dtype)
    column_norms = ops.sum(ops.square(kernel), axis=0)  # sum_i W_ij^2, one per unit j
    return ops.sum(ops.square(slope) * column_norms, axis=-1)


@keras.saving.register_keras_serializable(package="autoencoders_hands_on")
class ContractiveDense(layers.Dense):
    """A dense code layer that adds ``strength`` times the mean of :func:`jacobian_frobenius_sq` to the loss.

    Taught in the contractive chapter. The activation must be ``"sigmoid"`` or
    ``"relu"``, whose Jacobian has the closed form; ``strength=0`` is a plain
    ``Dense`` layer.
    """

    def __init__(self, units, *, strength: float = CONTRACTIVE_STRENGTH, activation: str = "sigmoid", **kwargs):
        if activation not in _SLOPES:
            raise ValueError(f"activation must be one of {_SLOPES}; got {activation!r}")
        super().__init__(units, activation=activation, **kwargs)
        self.strength = finite_number(strength, "strength", minimum=0)
        self.slope = activation

    def call(self, inputs):
        h = super().call(inputs)
        if self.strength:
            self.add_loss(self.strength * ops.mean(jacobian_frobenius_sq(h, self.kernel, self.slope)))
        return h

    def get_config(self):
        return {**super().get_config(), "strength": self.strength}


def build_contractive(strength: float = CONTRACTIVE_STRENGTH) -> keras.Model:
    """784 -> ContractiveDense(64, sigmoid) -> Dense(784, sigmoid): the vanilla shape, a sigmoid code, a penalty."""
    x = keras.Input(shape=(784,), name="image")
    h = ContractiveDense(64, strength=strength, activation="sigmoid", name="code")(x)
    r = layers.Dense(784, activation="sigmoid", name="reconstruction")(h)
    return keras.Model(inputs=x, outputs=r, name="contractive")


# --------------------------------------------------------------------------- beyond the post: variational

#: Size of the variational autoencoder's latent code: 2, so that it can be drawn as a map.
LATENT_DIM = 2


def kl_divergence(z_mean, z_log_var):
    """KL(N(mu, diag(sigma^2)) || N(0, I)) of each code, summed over the latent dimensions: shape ``(n,)``.

    Taught in the variational chapter: ``-1/2 sum_k (1 + log sigma_k^2 - mu_k^2 - sigma_k^2)``.
    """
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


@keras.saving.register_keras_serializable(package="autoencoders_hands_on")
def bernoulli_nll(y_true, y_pred):
    """Binary cross-entropy summed over the pixels of each image (nats per image): shape ``(n,)``.

    Taught in the variational chapter. The reconstruction term of the ELBO for
    pixels read as Bernoulli probabilities. Keras averages it over the batch;
    it is *summed* over the pixels, the reduction that matches the KL term,
    which is summed over the latent dimensions. Predictions are clipped to
    ``[1e-7, 1 - 1e-7]`` as Keras's own cross-entropy does.
    """
    p = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
    nll = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.sum(ops.reshape(nll, (ops.shape(nll)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="autoencoders_hands_on")
class Sampling(layers.Layer):
    """Draw ``z = mu + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)``, and add ``beta`` times the KL term to the loss.

    Taught in the variational chapter (the reparameterisation trick). Called on
    ``[z_mean, z_log_var]``. The noise comes from ``keras.random.normal`` with
    the layer's own :class:`keras.random.SeedGenerator`, so runs are
    reproducible on every backend. It samples in training and in inference
    alike; to reconstruct without noise, decode ``z_mean`` (:func:`encoder`).
    """

    def __init__(self, beta: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.beta = finite_number(beta, "beta", minimum=0)
        self.seed = None if seed is None else non_negative_int(seed, "seed")
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        self.add_loss(self.beta * ops.mean(kl_divergence(z_mean, z_log_var)))
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "seed": self.seed}


def build_variational(latent_dim: int = LATENT_DIM, beta: float = 1.0, seed: int = 42) -> keras.Model:
    """784 -> 512 -> (mu, log sigma^2) in R^latent_dim -> z -> 512 -> 784: a dense VAE.

    The layer named ``"code"`` gives the mean ``mu`` of ``q(z | x)``; ``"z"``
    draws the code the decoder sees and adds ``beta`` times the KL term.
    """
    latent_dim = positive_int(latent_dim, "latent_dim")
    x = keras.Input(shape=(784,), name="image")
    e = layers.Dense(512, activation="relu", name="encoder_hidden")(x)
    z_mean = layers.Dense(latent_dim, name="code")(e)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(e)
    z = Sampling(beta=beta, seed=seed, name="z")([z_mean, z_log_var])
    d = layers.Dense(512, activation="relu", name="decoder_hidden")(z)
    r = layers.Dense(784, activation="sigmoid", name="reconstruction")(d)
    return keras.Model(inputs=x, outputs=r, name="variational")


#: Models the course adds to the post's five, built the same way.
COURSE_BUILDERS = {"contractive": build_contractive, "variational": build_variational}


def build(name: str) -> keras.Model:
    """Build the course's model called ``name``: one of the post's (:data:`BUILDERS`) or :data:`COURSE_BUILDERS`."""
    builders = BUILDERS | COURSE_BUILDERS
    if name not in builders:
        raise ValueError(f"unknown model {name!r}; expected one of {tuple(builders)}")
    return builders[name]()


def encoder(model: keras.Model) -> keras.Model:
    """Return the encoder ``f`` of ``model``: its input up to the layer named ``"code"``.

    Taught in the multilayer chapter.
    """
    try:
        code = model.get_layer("code")
    except ValueError as err:
        raise ValueError(f"model {model.name!r} has no layer named 'code'") from err
    return keras.Model(inputs=model.inputs, outputs=code.output, name=f"{model.name}_encoder")


def decoder(model: keras.Model) -> keras.Model:
    """Return the decoder ``g`` of ``model``: a new input in place of its code, then the layers after it.

    Taught in the variational chapter (decoding codes drawn at random). The
    code is the output of the layer named ``"z"`` in a variational model, else
    of ``"code"``; the layers after it must form a chain, as in every model of
    the course. The decoder shares its layers (and weights) with ``model``.
    """
    names = [layer.name for layer in model.layers]
    start = "z" if "z" in names else "code"
    if start not in names:
        raise ValueError(f"model {model.name!r} has no layer named 'code'")
    z = keras.Input(shape=tuple(model.get_layer(start).output.shape[1:]), name="code_in")
    out = z
    for layer in model.layers[names.index(start) + 1 :]:  # in order: the layers after the code
        out = layer(out)
    return keras.Model(inputs=z, outputs=out, name=f"{model.name}_decoder")


def code_size(model: keras.Model) -> int:
    """Number of values in one code ``h`` (64 for the dense models, 128 or 1,568 for the conv ones).

    Taught in the vanilla chapter.
    """
    size = 1
    for dim in model.get_layer("code").output.shape[1:]:
        size *= int(dim)
    return size


#: The layer settings :func:`fingerprint` compares (those a layer has).
_SETTINGS = ("units", "filters", "kernel_size", "pool_size", "size", "padding", "activation", "strength", "beta")


def fingerprint(model: keras.Model) -> list[tuple]:
    """Describe ``model`` layer by layer: type, output shape, parameters and key settings.

    Two models with equal fingerprints have the same architecture; the tests
    use this to check that the chapters and the summary train the same models.
    """
    rows = []
    for layer in model.layers:
        cfg = layer.get_config()
        settings = tuple((k, str(cfg[k])) for k in _SETTINGS if k in cfg)
        reg = cfg.get("activity_regularizer")
        if reg:
            settings += (("activity_regularizer", str(reg.get("config", reg))),)
        rows.append((type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params(), settings))
    return rows


def compare_with_post(model: keras.Model, name: str) -> None:
    """Print whether ``model`` is the post's model ``name``, layer by layer, and how it differs.

    Taught in the vanilla chapter (section Building the model).

    Each chapter writes its model in a code cell and calls this right after, so
    that a reader who edits the model is told how it now differs from the post's
    (and that the chapter's numbers will differ from the book's), while the
    chapter keeps running with the edited model. The course's tests build every
    chapter's model cell and require it to match exactly.
    """
    post = build(name)
    whose = "the post's" if name in BUILDERS else "the course's"
    mine, theirs = fingerprint(model), fingerprint(post)
    if mine == theirs:
        print(
            f"This is {whose} {name} model: the same {len(mine)} layers, shapes and "
            f"{post.count_params():,} parameters as utils.models.build_{name}()."
        )
        return
    diffs = [f"layer {i}: {a} instead of {b}" for i, (a, b) in enumerate(zip(mine, theirs)) if a != b]
    if len(mine) != len(theirs):
        diffs.append(f"{len(mine)} layers instead of {len(theirs)}")
    print(
        f"Your model differs from {whose} {name} model ({model.count_params():,} parameters "
        f"instead of {post.count_params():,}); the chapter continues with yours, so its numbers "
        "will differ from the book's. First difference: " + diffs[0]
    )
