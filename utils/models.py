"""The post's five autoencoders, defined once for the whole course.

Every chapter and the summary build their models with these functions, so the
architectures cannot drift apart. Each follows the source post layer for
layer (RJ, "自编码器", 2019-09-18: layer types, sizes, activations, padding and
the parameter totals in :data:`EXPECTED_PARAMS`), written in the Keras 3
functional API (``keras.Model(inputs=..., outputs=...)``; the post's
``Model(input=..., output=...)`` is the Keras 1 spelling, which Keras 2 still
accepted and Keras 3 rejects). Each chapter writes its model out in a code cell
and checks it against these builders with :func:`compare_with_post`.

In every model the layer that produces the code ``h`` is named ``"code"``;
:func:`encoder` cuts a model there.
"""

from __future__ import annotations

import keras
from keras import layers, regularizers

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


def build(name: str) -> keras.Model:
    """Build the post's model called ``name`` (one of :data:`BUILDERS`)."""
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; expected one of {tuple(BUILDERS)}")
    return BUILDERS[name]()


def encoder(model: keras.Model) -> keras.Model:
    """Return the encoder ``f`` of ``model``: its input up to the layer named ``"code"``.

    Taught in the multilayer chapter.
    """
    try:
        code = model.get_layer("code")
    except ValueError as err:
        raise ValueError(f"model {model.name!r} has no layer named 'code'") from err
    return keras.Model(inputs=model.inputs, outputs=code.output, name=f"{model.name}_encoder")


def code_size(model: keras.Model) -> int:
    """Number of values in one code ``h`` (64 for the dense models, 128 or 1,568 for the conv ones).

    Taught in the vanilla chapter.
    """
    size = 1
    for dim in model.get_layer("code").output.shape[1:]:
        size *= int(dim)
    return size


def fingerprint(model: keras.Model) -> list[tuple]:
    """Describe ``model`` layer by layer: type, output shape, parameters and key settings.

    Two models with equal fingerprints have the same architecture; the tests
    use this to check that the chapters and the summary train the same models.
    """
    rows = []
    for layer in model.layers:
        cfg = layer.get_config()
        settings = tuple(
            (k, str(cfg[k]))
            for k in ("units", "filters", "kernel_size", "pool_size", "size", "padding", "activation")
            if k in cfg
        )
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
    mine, theirs = fingerprint(model), fingerprint(post)
    if mine == theirs:
        print(
            f"This is the post's {name} model: the same {len(mine)} layers, shapes and "
            f"{post.count_params():,} parameters as utils.models.build_{name}()."
        )
        return
    diffs = [f"layer {i}: {a} instead of {b}" for i, (a, b) in enumerate(zip(mine, theirs)) if a != b]
    if len(mine) != len(theirs):
        diffs.append(f"{len(mine)} layers instead of {len(theirs)}")
    print(
        f"Your model differs from the post's {name} model ({model.count_params():,} parameters "
        f"instead of {post.count_params():,}); the chapter continues with yours, so its numbers "
        "will differ from the book's. First difference: " + diffs[0]
    )
