"""Seeding, compiling and training, the same way in every chapter.

The post compiles every model with ``optimizer="adam", loss="mse"`` and gives
no training budget. The course keeps Adam and the MSE loss and adds a recipe
from :func:`utils.config.budget`: batch size, a cosine learning-rate
schedule, the number of epochs, and whether to compile with XLA. None of it
changes an architecture.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from . import config
from .data import as_images, as_tensors, as_vectors, check_images


def set_seed(seed: int = config.SEED, *, deterministic_ops: bool = False) -> None:
    """Seed Python, NumPy and the backend's random generators.

    Call it before building a model: the same seed then gives the same
    weights, the same batches and the same numbers on every run on the same
    machine and library versions. On a CPU the course's training, with or
    without XLA, is reproducible bit for bit without more
    (``tests/test_training.py`` checks it).

    ``deterministic_ops=True`` also turns on TensorFlow's op determinism,
    which GPUs need for bitwise-equal runs; TensorFlow then refuses XLA, so
    training runs without ``jit_compile`` and more slowly.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    keras.utils.set_random_seed(int(seed))
    if deterministic_ops and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _inputs_for(model: keras.Model, x) -> np.ndarray:
    """Reshape validated images to what ``model`` takes: vectors or 28x28x1 tensors."""
    shape = tuple(model.inputs[0].shape[1:])
    if shape == (784,):
        return as_vectors(x)
    if shape == (28, 28, 1):
        return as_tensors(x)
    raise ValueError(f"model {model.name!r} takes inputs of shape {shape}; expected (784,) or (28, 28, 1)")


def learning_rate_schedule(budget: config.Budget, n_train: int):
    """Adam's learning rate for ``budget``: constant, or cosine decay over all steps."""
    if n_train < 1:
        raise ValueError(f"n_train must be at least 1; got {n_train}")
    if budget.schedule == "constant":
        return budget.learning_rate
    steps_per_epoch = math.ceil(n_train / budget.batch_size)
    total = steps_per_epoch * budget.epochs_for(n_train)
    warmup = steps_per_epoch * budget.warmup_epochs
    if warmup:
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(total - warmup, 1), warmup_target=budget.learning_rate, warmup_steps=warmup
        )
    return keras.optimizers.schedules.CosineDecay(budget.learning_rate, decay_steps=total)


def compile_model(model: keras.Model, budget: config.Budget, n_train: int) -> keras.Model:
    """Compile ``model`` as the post does (Adam, MSE) with the budget's schedule and XLA settings.

    The reconstruction MSE is tracked as a metric named ``"mse"`` beside the
    loss, because for the sparse model the loss also contains the L1 penalty.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(budget, n_train)),
        loss="mse",
        metrics=[keras.metrics.MeanSquaredError(name="mse")],
        jit_compile=budget.jit_compile,
        steps_per_execution=budget.steps_per_execution,
    )
    return model


def init_output_bias(model: keras.Model, x_target) -> float:
    """Set the bias of the output layer (named ``"reconstruction"``) to ``logit(mean pixel)``.

    The output is a sigmoid, so the untrained network first predicts about
    0.5 everywhere, far from digits that are mostly black background. With
    the MSE loss, gradient descent then darkens every pixel so fast that the
    sigmoid saturates at 0; its gradient vanishes there and the model can
    stay stuck on all-black images (the post's denoising model does so on
    MNIST digits). Starting from the mean brightness instead removes that
    first rush. It changes the starting point only: the layers, their shapes
    and the parameter count stay the post's. Returns the bias used.
    """
    target = check_images(x_target, name="x_target")
    p = float(np.clip(target.mean(), 1e-3, 1 - 1e-3))
    logit = float(np.log(p / (1 - p)))
    try:
        layer = model.get_layer("reconstruction")
    except ValueError as err:
        raise ValueError(f"model {model.name!r} has no output layer named 'reconstruction'") from err
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, np.full_like(bias, logit)])
    return logit


def batches(x_in: np.ndarray, x_target: np.ndarray, batch_size: int, seed: int = config.SEED, *, chunk: int = 32):
    """A ``tf.data`` pipeline of shuffled ``(input, target)`` batches cut from NumPy arrays, without copying them.

    Given NumPy arrays, ``model.fit`` first converts the inputs *and* the
    targets into tensors: two more copies of the training set (about 376 MB
    for 60,000 images) on top of the arrays the notebook already holds. Here
    the arrays stay where they are: a Python generator gathers ``chunk``
    batches at a time in a fresh random order each epoch, and TensorFlow cuts
    each chunk into batches while the previous one trains. A plain
    autoencoder passes the same array as input and target; it is then
    gathered once.

    The order comes from a NumPy generator seeded with ``seed``, so the same
    seed gives the same batches in the same order.
    """
    import tensorflow as tf

    if len(x_in) != len(x_target):
        raise ValueError(f"x_in and x_target must hold the same number of images; got {len(x_in)} and {len(x_target)}")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    n, batch_size = len(x_in), int(batch_size)
    same = x_in is x_target
    rng = np.random.default_rng(seed)
    step = batch_size * chunk

    def gathered():  # called once per epoch
        order = rng.permutation(n)
        for start in range(0, n, step):
            idx = order[start:start + step]
            xi = x_in[idx]
            yield xi, (xi if same else x_target[idx])

    spec = (tf.TensorSpec((None, *x_in.shape[1:]), tf.float32), tf.TensorSpec((None, *x_target.shape[1:]), tf.float32))
    ds = tf.data.Dataset.from_generator(gathered, output_signature=spec)
    ds = ds.flat_map(lambda xi, xt: tf.data.Dataset.from_tensor_slices((xi, xt)).batch(batch_size))
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size)))
    return ds.prefetch(2)


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns: the per-epoch history and the wall time of ``fit``."""

    history: dict[str, list[float]]
    seconds: float

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])


def train(
    model: keras.Model,
    x_in,
    x_target,
    budget: config.Budget,
    *,
    validation: tuple | None = None,
    seed: int = config.SEED,
) -> TrainResult:
    """Compile and fit ``model`` to map ``x_in`` to ``x_target`` (both images in [0, 1]).

    For a plain autoencoder ``x_target`` is ``x_in``; the denoising chapter
    passes noisy inputs and clean targets. Inputs are reshaped to what the
    model takes. Training is silent (``verbose=0``): the chapters plot the
    returned history instead of showing progress bars.

    Parameters
    ----------
    validation:
        Optional ``(x_in, x_target)`` evaluated after every epoch (``val_*``
        entries of the history).
    seed:
        Seed of the batch order (see :func:`batches`).
    """
    xi = _inputs_for(model, x_in)
    xt = xi if x_target is x_in else _inputs_for(model, x_target)
    if len(xi) != len(xt):
        raise ValueError(f"x_in and x_target must hold the same number of images; got {len(xi)} and {len(xt)}")
    val = None
    if validation is not None:
        vi, vt = validation
        val = (_inputs_for(model, vi), _inputs_for(model, vt))
    if budget.init_output_bias:
        init_output_bias(model, xt)
    compile_model(model, budget, len(xi))
    start = time.perf_counter()
    hist = model.fit(batches(xi, xt, budget.batch_size, seed), epochs=budget.epochs_for(len(xi)), shuffle=False, validation_data=val, verbose=0)
    seconds = time.perf_counter() - start
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items() if k != "learning_rate"}
    return TrainResult(history=history, seconds=seconds)


def _predict(model: keras.Model, x: np.ndarray, chunk: int = 256) -> np.ndarray:
    """``model``'s outputs for ``x``, a chunk at a time, written into one preallocated array.

    ``predict`` would first copy all of ``x`` into a tensor, and concatenating the
    chunks would hold every output twice. Chunks of 256 images keep the
    convolutional models' activations small (the denoiser's first layer alone
    holds 28 x 28 x 32 floats, 100 KB, per image) and run as fast as larger ones.
    """
    out = np.empty((len(x), *model.outputs[0].shape[1:]), np.float32)
    for i in range(0, len(x), chunk):
        out[i:i + chunk] = np.asarray(model.predict_on_batch(x[i:i + chunk]))
    return out


def reconstruct(model: keras.Model, x) -> np.ndarray:
    """Run ``model`` on images and return its reconstructions with shape ``(n, 28, 28)``."""
    out = _predict(model, _inputs_for(model, x))
    return as_images(np.clip(out, 0.0, 1.0, out=out), name="reconstruction")


def encode(model: keras.Model, x) -> np.ndarray:
    """Return the codes ``h = f(x)`` of ``model`` for images ``x``, flattened to ``(n, code_size)``."""
    from .models import encoder

    check_images(x)
    codes = _predict(encoder(model), _inputs_for(model, x))
    return codes.reshape(len(codes), -1)


# --------------------------------------------------------------------------- weight cache
#
# The summary chapter compares all five models. Rather than train them all
# again, it reuses the weights each chapter saved, but only when they were
# trained with the same architecture, recipe, data, seed and library versions
# (all hashed into the file name and checked again on load), and only when
# the weight file still has the checksum recorded when it was written.


def weights_dir() -> Path:
    """Folder for cached weights: ``AE_WEIGHTS_DIR`` or ``~/.cache/autoencoders-hands-on/weights``."""
    env = os.environ.get("AE_WEIGHTS_DIR", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "autoencoders-hands-on" / "weights"


def _array_digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.float32)
        h.update(str(a.shape).encode())
        h.update(memoryview(a).cast("B"))  # hashes the buffer in place, no copy of the data
    return h.hexdigest()


def _code_digest() -> str:
    """SHA-256 of this module's source: how batches are fed and the model is fitted.

    Part of :func:`run_key`, so that weights cached by an older version of the
    training code (another shuffling or feeding order) are not reused.
    """
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def run_key(model: keras.Model, x_in, x_target, budget: config.Budget, seed: int = config.SEED) -> str:
    """Hash of everything that determines a training run's result."""
    from .models import fingerprint

    import tensorflow as tf

    spec = {
        "model": model.name,
        "architecture": repr(fingerprint(model)),
        # The full Keras config also covers what the fingerprint leaves out but
        # changes the result, such as initializers (a new bias_initializer must
        # not reuse weights trained from the old one).
        "config": json.dumps(model.get_config(), sort_keys=True, default=repr),
        "budget": dataclasses.asdict(budget) | {"mode": None},
        "data": _array_digest(x_in, x_target),
        "seed": int(seed),
        "training_code": _code_digest(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _paths(name: str, key: str) -> tuple[Path, Path]:
    stem = weights_dir() / f"{name}-{key[:20]}"
    return stem.with_suffix(".weights.h5"), stem.with_suffix(".json")


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_run(model: keras.Model, result: TrainResult, key: str) -> Path:
    """Save ``model``'s weights and ``result`` under ``key`` (see :func:`run_key`)."""
    weights, meta = _paths(model.name, key)
    weights.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(weights)
    meta.write_text(json.dumps({
        "key": key, "weights_sha256": _file_sha256(weights),
        "history": result.history, "seconds": result.seconds,
    }))
    return weights


def load_run(model: keras.Model, key: str) -> tuple[TrainResult | None, str]:
    """Load weights saved under ``key`` into ``model`` if present and verified.

    Returns ``(result, why)``: the saved :class:`TrainResult`, or ``None``
    with the reason nothing was loaded.
    """
    weights, meta = _paths(model.name, key)
    if not (weights.exists() and meta.exists()):
        return None, "no saved weights for this exact recipe and data"
    try:
        info = json.loads(meta.read_text())
        ok = info["key"] == key and info["weights_sha256"] == _file_sha256(weights)
    except (ValueError, KeyError, OSError):
        ok = False
    if not ok:
        return None, f"saved weights {weights} failed verification"
    model.load_weights(weights)
    return TrainResult(history=info["history"], seconds=float(info["seconds"])), f"verified weights from {weights}"


def train_and_save(model, x_in, x_target, budget, *, validation=None, seed: int = config.SEED) -> TrainResult:
    """:func:`train`, then save the weights for later reuse by :func:`load_or_train`."""
    result = train(model, x_in, x_target, budget, validation=validation, seed=seed)
    try:
        save_run(model, result, run_key(model, x_in, x_target, budget, seed))
    except OSError as err:  # a read-only home must not stop a chapter
        print(f"(weights not cached: {err})")
    return result


def load_or_train(model, x_in, x_target, budget, *, validation=None, seed: int = config.SEED) -> tuple[TrainResult, bool]:
    """Reuse a chapter's verified weights for this exact run, else train (and save).

    Returns ``(result, reused)`` and prints one line saying which happened.
    Call :func:`set_seed` before building ``model`` so that a retrain matches
    the chapter's run.
    """
    key = run_key(model, x_in, x_target, budget, seed)
    result, why = load_run(model, key)
    if result is not None:
        print(f"{model.name}: reused {why} (training took {result.seconds:.1f} s)")
        return result, True
    result = train(model, x_in, x_target, budget, validation=validation, seed=seed)
    save_run(model, result, key)
    print(f"{model.name}: trained now in {result.seconds:.1f} s ({why})")
    return result, False
