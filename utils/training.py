"""Seeding, compiling and training, the same way in every chapter.

The post compiles every model with ``optimizer="adam", loss="mse"`` and gives
no training budget. The course keeps Adam and the MSE loss and adds a recipe
from :func:`utils.config.budget`: batch size, a cosine learning-rate
schedule, the number of epochs, and whether to compile with XLA. None of it
changes an architecture.

The weight cache at the end of the module lets a chapter reuse the weights
another chapter trained (:func:`train_and_save`, :func:`load_or_train`). A
saved run is reused only for the very same run, that is, when everything
that decides its result (model, recipe, training and validation data, seed,
this module's code, the versions of Keras and its backend) hashes to the same
key, and only when its files pass their checksums. Anything else, such as a
missing, edited, half-written or unreadable file, means training again.
Files are written under temporary names and then renamed into place, so a
failed save leaves a run saved before as it was, and weights are loaded only
from the very bytes that were checked, so another process writing meanwhile
cannot slip in a half-written file. A run that cannot be saved is still
returned, with one printed line saying why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import keras
import numpy as np

from . import config
from .checks import finite_number, non_negative_int, positive_int
from .data import as_images, as_tensors, as_vectors, check_images


def set_seed(seed: int = config.SEED, *, deterministic_ops: bool = False) -> None:
    """Seed Python, NumPy and the backend's random generators.

    Taught in the vanilla chapter.

    Call it before building a model: the same seed then gives the same
    weights, the same batches and the same numbers on every run on the same
    machine and library versions. On a CPU the course's training, with or
    without XLA, is reproducible bit for bit without more
    (``tests/test_training.py`` checks it).

    ``deterministic_ops=True`` also turns on TensorFlow's op determinism,
    which GPUs need for bitwise-equal runs; TensorFlow then refuses XLA, so
    training runs without ``jit_compile`` and more slowly.
    """
    keras.utils.set_random_seed(non_negative_int(seed, "seed"))
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
    """Adam's learning rate for ``budget``: constant, or cosine decay over all steps.

    Taught in the vanilla chapter (section Training).
    """
    n_train = positive_int(n_train, "n_train")
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


def _loss_name(loss) -> str:
    """How a loss is named in the history's metrics and the weight-cache key."""
    if isinstance(loss, str):
        return loss
    if not callable(loss):
        raise ValueError(f"loss must be a Keras loss name such as 'mse' or a function (y_true, y_pred); got {loss!r}")
    return f"{getattr(loss, '__module__', '')}.{getattr(loss, '__qualname__', repr(loss))}"


def _jit_compile(budget: config.Budget) -> bool:
    """XLA as the budget says on TensorFlow; always on other backends.

    The budgets turn XLA off because TensorFlow's own CPU kernels were faster
    (see :mod:`utils.config`). JAX has no such kernels: without ``jit`` it runs
    every operation one at a time from Python, which made the variational
    model's epochs about 20 times slower than with it.
    """
    return budget.jit_compile if keras.backend.backend() == "tensorflow" else True


def compile_model(model: keras.Model, budget: config.Budget, n_train: int, *, loss="mse") -> keras.Model:
    """Compile ``model`` as the post does (Adam, MSE) with the budget's schedule and XLA settings.

    The reconstruction MSE is tracked as a metric named ``"mse"`` beside the
    loss, because for the sparse model the loss also contains the L1 penalty.
    Another reconstruction ``loss`` (the variational chapter's cross-entropy,
    a function ``(y_true, y_pred)``) is tracked as ``"reconstruction"`` too, so
    that ``loss - reconstruction`` is what the model's own penalties add.
    """
    metrics = [keras.metrics.MeanSquaredError(name="mse")]
    if loss != "mse":
        _loss_name(loss)  # a clear error for anything that is not a loss
        metrics.insert(0, keras.metrics.MeanMetricWrapper(keras.losses.get(loss), name="reconstruction"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(budget, n_train)),
        loss=loss,
        metrics=metrics,
        jit_compile=_jit_compile(budget),
        steps_per_execution=budget.steps_per_execution,
    )
    return model


def init_output_bias(model: keras.Model, x_target) -> float:
    """Set the bias of the output layer (named ``"reconstruction"``) to ``logit(mean pixel)``.

    Taught in the vanilla chapter (section Training); the convolutional chapter shows the trap it avoids.

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


def batches(
    x_in: np.ndarray, x_target: np.ndarray, batch_size: int, seed: int = config.SEED, *, chunk: int = 32, corrupt=None
):
    """A ``tf.data`` pipeline of shuffled ``(input, target)`` batches cut from NumPy arrays, without copying them.

    Taught in the vanilla chapter (section Training).

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
    rng = np.random.default_rng(seed)
    return _pipeline(x_in, x_target, batch_size, chunk, corrupt, lambda: rng)


def _pipeline(x_in, x_target, batch_size, chunk, corrupt, rng_for_pass, on_end=None):
    """The ``tf.data`` pipeline of :func:`batches`, drawing each pass's order from ``rng_for_pass()``.

    ``on_end``, if given, receives the generator's state once a pass has drawn its last chunk.
    """
    import tensorflow as tf

    if len(x_in) != len(x_target):
        raise ValueError(f"x_in and x_target must hold the same number of images; got {len(x_in)} and {len(x_target)}")
    batch_size, chunk = positive_int(batch_size, "batch_size"), positive_int(chunk, "chunk")
    n = len(x_in)
    same = x_in is x_target
    step = batch_size * chunk

    def gathered():  # called once per pass over the data: once per epoch in fit
        rng = rng_for_pass()
        order = rng.permutation(n)
        for start in range(0, n, step):
            idx = order[start : start + step]
            xi = x_in[idx]
            xt = xi if same else x_target[idx]
            if corrupt is not None:  # fresh corruption of the inputs, every epoch
                xi = np.asarray(corrupt(xi, rng), dtype=np.float32)
            if on_end is not None and start + step >= n:
                on_end(rng.bit_generator.state)
            yield xi, xt

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
    corrupt=None,
    loss="mse",
    distribution=None,
) -> TrainResult:
    """Compile and fit ``model`` to map ``x_in`` to ``x_target`` (both images in [0, 1]).

    Taught in the vanilla chapter, which runs its steps one by one
    (``init_output_bias``, ``compile``, ``fit`` on :func:`batches`); every later
    chapter calls it. ``distribution`` is taught in the appendix on devices.

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
        Seed of the batch order (see :func:`batches`) and of any corruption.
    corrupt:
        Optional corruption of the inputs drawn afresh for every batch, such as
        :class:`utils.data.GaussianNoise` (the denoising chapter): called as
        ``corrupt(batch, rng)``.
    loss:
        The reconstruction loss: ``"mse"`` as in the post, or a function
        ``(y_true, y_pred)`` such as :func:`utils.models.bernoulli_nll` (the
        variational chapter); see :func:`compile_model`.
    distribution:
        ``None`` (the default) trains where Keras puts the model: on one GPU
        if there is one, without anything to change, else on the CPU. To
        split every batch over several devices (data parallelism), pass
        ``keras.distribution.DataParallel()`` on Keras's JAX backend or a
        ``tf.distribute`` strategy such as ``tf.distribute.MirroredStrategy()``
        on TensorFlow. ``budget.batch_size`` stays the *global* batch: each of
        ``d`` devices gets ``batch_size / d`` images of it, and the gradient is
        that of the whole batch, so the run is the same up to float rounding
        (``tests/test_distribution.py`` compares it with one device). The
        chapter's ``model``, built outside any distribution, is copied into the
        distribution's scope, trained there, and its trained weights (and
        optimizer state) are copied back: ``model`` ends up trained as without
        a distribution. Under JAX every batch, the last one of an epoch and of
        the validation set included, must split evenly over the devices. Under
        a ``tf.distribute`` strategy, a layer that draws random numbers (the
        variational model's ``Sampling``) draws the same numbers on every
        device for its part of the batch: such a model trains, but not exactly
        as on one device (on JAX it does). A wrong pairing, such as a
        ``tf.distribute`` strategy under JAX, raises an error that names the fix.
    """
    kind = None if distribution is None else _distribution_kind(distribution)
    xi = _inputs_for(model, x_in)
    xt = xi if x_target is x_in else _inputs_for(model, x_target)
    if len(xi) != len(xt):
        raise ValueError(f"x_in and x_target must hold the same number of images; got {len(xi)} and {len(xt)}")
    val = None
    if validation is not None:
        vi, vt = validation
        val = (_inputs_for(model, vi), _inputs_for(model, vt))
    if kind == "keras":
        _check_even_split(distribution, budget.batch_size, len(xi), None if val is None else len(val[0]))
    if budget.init_output_bias:
        init_output_bias(model, xt)
    if kind is not None:
        return _train_distributed(model, xi, xt, budget, val, seed, corrupt, loss, distribution, kind)
    compile_model(model, budget, len(xi), loss=loss)
    start = time.perf_counter()
    hist = model.fit(
        batches(xi, xt, budget.batch_size, seed, corrupt=corrupt),
        epochs=budget.epochs_for(len(xi)),
        shuffle=False,
        validation_data=val,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items() if k != "learning_rate"}
    return TrainResult(history=history, seconds=seconds)


# --------------------------------------------------------------------------- several devices
#
# train(..., distribution=...) copies the model into the distribution's scope
# (keras.models.clone_model, then the values of all its variables), compiles and
# fits the copy there, and copies the values back. Each backend's fit then reads
# the data as it does without a distribution. Keras's JAX trainer reads one batch
# before training (to build the model) and starts the data over, with a
# distribution or without. Under a tf.distribute strategy the TensorFlow trainer
# does the same, but without one it does not; with batches() that first pass would
# use up a shuffled order, and a strategy would train on other batches than one
# device. So under a strategy the copy is fitted one epoch per fit call, on
# _ReplayedEpochs, whose every pass over an epoch is the same.

#: Batch size of the validation passes: Keras's default, written out for the even-split check.
_VALIDATION_BATCH = 32


def _distribution_kind(distribution) -> str:
    """``"keras"`` or ``"tf"``: which kind of distribution ``distribution`` is, checked against the backend."""
    backend = keras.backend.backend()
    tf = sys.modules.get("tensorflow")
    is_tf = tf is not None and isinstance(distribution, tf.distribute.Strategy)
    is_keras = isinstance(distribution, (keras.distribution.DataParallel, keras.distribution.ModelParallel))
    if backend == "jax":
        if is_keras:
            return "keras"
        if is_tf:
            raise ValueError(
                f"distribution={type(distribution).__name__} is a tf.distribute strategy, which only trains on "
                "Keras's TensorFlow backend, and Keras runs on JAX here. Pass "
                "distribution=keras.distribution.DataParallel() instead, or set KERAS_BACKEND=tensorflow before "
                "importing utils and keras (restart the kernel)."
            )
    elif backend == "tensorflow":
        if is_tf:
            return "tf"
        if is_keras:
            raise ValueError(
                f"distribution={type(distribution).__name__} is a keras.distribution, which Keras "
                f"{keras.__version__} trains with on its JAX backend only, and Keras runs on TensorFlow here. Pass "
                "distribution=tf.distribute.MirroredStrategy() instead, or set KERAS_BACKEND=jax before importing "
                "utils and keras (restart the kernel)."
            )
    else:
        raise ValueError(
            f"training on several devices needs Keras's JAX or TensorFlow backend; Keras runs on {backend!r}. "
            "Set KERAS_BACKEND=jax or KERAS_BACKEND=tensorflow before importing utils and keras, or pass "
            "distribution=None."
        )
    fix = "keras.distribution.DataParallel()" if backend == "jax" else "tf.distribute.MirroredStrategy()"
    raise TypeError(
        "distribution must be None, a keras.distribution such as DataParallel (JAX backend) or a "
        f"tf.distribute.Strategy (TensorFlow backend); got {type(distribution).__name__}. On {backend}, pass "
        f"distribution={fix}."
    )


def _batch_devices(distribution) -> int:
    """How many devices a Keras distribution splits each batch over (the size of its batch axis)."""
    mesh = distribution.device_mesh
    return int(mesh.shape[list(mesh.axis_names).index(distribution.batch_dim_name)])


def _check_even_split(distribution, batch_size: int, n_train: int, n_val: int | None) -> None:
    """Under JAX, every batch must split evenly over the devices; say which one does not, and the fix."""
    d = _batch_devices(distribution)
    sizes = {"batch_size": batch_size, "the last batch of an epoch": n_train % batch_size}
    if n_val is not None:
        sizes["a validation batch"] = _VALIDATION_BATCH
        sizes["the last validation batch"] = n_val % _VALIDATION_BATCH
    for what, size in sizes.items():
        if size % d:
            raise ValueError(
                f"{what} holds {size} images, which do not split evenly over the {d} devices of the distribution. "
                f"Choose a batch size and numbers of training and validation images that are multiples of {d} "
                f"(validation runs in batches of {_VALIDATION_BATCH})."
            )


class _ReplayedEpochs:
    """:func:`batches`' epochs one at a time, each the same on every pass over it.

    :meth:`epoch` returns the next epoch's dataset: every pass over it starts
    from the state the seeded generator had at the start of that epoch, and
    the next epoch starts where a complete pass ended. So the epochs are
    exactly those of :func:`batches` with the same seed, however often Keras
    starts over on one of them.
    """

    def __init__(self, x_in, x_target, batch_size: int, seed: int, corrupt):
        self._data = (x_in, x_target, batch_size, 32, corrupt)  # 32: batches' default chunk
        self._state = np.random.default_rng(seed).bit_generator.state

    def _ended(self, state) -> None:
        self._state = state

    def epoch(self):
        start = self._state

        def rng_for_pass():
            rng = np.random.default_rng()
            rng.bit_generator.state = start
            return rng

        return _pipeline(*self._data, rng_for_pass, on_end=self._ended)


def _copy_values(source, target, what: str) -> None:
    """Assign the values of the variables ``source`` to ``target``, which must match one for one."""
    source, target = list(source), list(target)
    if [tuple(v.shape) for v in source] != [tuple(v.shape) for v in target]:
        raise ValueError(f"the copy of the model does not have the same {what} as the model")
    for s, t in zip(source, target):
        t.assign(keras.ops.convert_to_numpy(s))


def _train_distributed(model, xi, xt, budget, val, seed, corrupt, loss, distribution, kind) -> TrainResult:
    """The rest of :func:`train` for a distribution: train a copy of ``model`` in its scope, copy the result back."""
    fit_budget = budget
    if kind == "tf":
        # Keras 3.15 cannot run several steps per call under a tf.distribute strategy ("You must feed a value
        # for placeholder tensor"); steps_per_execution only changes speed.
        fit_budget = dataclasses.replace(budget, steps_per_execution=1)
    epochs = budget.epochs_for(len(xi))
    history: dict[str, list[float]] = {}
    seconds = 0.0
    with distribution.scope():
        try:
            copy = keras.models.clone_model(model)
        except Exception as err:  # subclassed models without a complete get_config, for instance
            raise ValueError(
                f"model {model.name!r} could not be copied into the distribution's scope "
                f"({type(err).__name__}: {err}); build the model inside `with distribution.scope():` and train it "
                "with distribution=None"
            ) from err
        _copy_values(model.variables, copy.variables, "variables")
        compile_model(copy, fit_budget, len(xi), loss=loss)
        fit = dict(shuffle=False, validation_data=val, validation_batch_size=_VALIDATION_BATCH, verbose=0)
        if kind == "keras":  # one fit, as without a distribution: JAX's fit reads the data the same way in both
            feeds = [(batches(xi, xt, budget.batch_size, seed, corrupt=corrupt), 0, epochs)]
        else:  # one epoch per fit, each replayed exactly (see _ReplayedEpochs)
            replayed = _ReplayedEpochs(xi, xt, budget.batch_size, seed, corrupt)
            feeds = ((replayed.epoch(), epoch, epoch + 1) for epoch in range(epochs))
        for data, first, last in feeds:
            start = time.perf_counter()
            hist = copy.fit(data, initial_epoch=first, epochs=last, **fit)
            seconds += time.perf_counter() - start
            for k, vals in hist.history.items():
                if k != "learning_rate":
                    history.setdefault(k, []).extend(float(v) for v in vals)
    _copy_values(copy.variables, model.variables, "variables")
    compile_model(model, budget, len(xi), loss=loss)
    model.optimizer.build(model.trainable_variables)
    _copy_values(copy.optimizer.variables, model.optimizer.variables, "optimizer state")
    return TrainResult(history=history, seconds=seconds)


def _predict(model: keras.Model, x: np.ndarray, chunk: int = 256) -> np.ndarray:
    """``model``'s outputs for ``x``, a chunk at a time, written into one preallocated array.

    ``predict`` would first copy all of ``x`` into a tensor, and concatenating the
    chunks would hold every output twice. Chunks of 256 images keep the
    convolutional models' activations small (the denoiser's first layer alone
    holds 28 x 28 x 32 floats, 100 KB, per image) and run as fast as larger ones.
    """
    chunk = positive_int(chunk, "chunk")
    out = np.empty((len(x), *model.outputs[0].shape[1:]), np.float32)
    for i in range(0, len(x), chunk):
        out[i : i + chunk] = np.asarray(model.predict_on_batch(x[i : i + chunk]))
    return out


def reconstruct(model: keras.Model, x) -> np.ndarray:
    """Run ``model`` on images and return its reconstructions with shape ``(n, 28, 28)``.

    Taught in the vanilla chapter.
    """
    out = _predict(model, _inputs_for(model, x))
    return as_images(np.clip(out, 0.0, 1.0, out=out), name="reconstruction")


def encode(model: keras.Model, x) -> np.ndarray:
    """Return the codes ``h = f(x)`` of ``model`` for images ``x``, flattened to ``(n, code_size)``.

    Taught in the multilayer chapter.
    """
    from .models import encoder

    check_images(x)
    codes = _predict(encoder(model), _inputs_for(model, x))
    return codes.reshape(len(codes), -1)


# --------------------------------------------------------------------------- weight cache
#
# The summary chapter compares all five models. Rather than train them all
# again, it reuses the weights each chapter saved. A run is saved in
# weights_dir() as two files named after the model and the run's key:
#
#   NAME-KEY.weights.h5   the weights, as Keras saves them
#   NAME-KEY.json         the full key, the SHA-256 of the weight file, the
#                         history and the training time, and a SHA-256 of
#                         those four (so an edited history is noticed too)
#
# save_run writes both under temporary names in the same folder and renames
# them into place (os.replace), the weights first. load_run reads both once,
# checks them and only then loads the weights, from a private copy of the
# checked bytes.


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


def _backend() -> dict:
    """The Keras backend in use (``"tensorflow"``, ``"jax"``, ...) and that library's version.

    Only the active backend is looked up, and it is not imported here: Keras
    has already imported it. So the key also works under ``KERAS_BACKEND=jax``,
    where TensorFlow's version says nothing about the run.
    """
    name = keras.backend.backend()
    return {"backend": name, "backend_version": getattr(sys.modules.get(name), "__version__", None)}


def run_key(
    model: keras.Model,
    x_in,
    x_target,
    budget: config.Budget,
    seed: int = config.SEED,
    *,
    validation: tuple | None = None,
    corrupt=None,
    loss="mse",
) -> str:
    """Hash of everything that determines a training run's result and history.

    That is the model (name, architecture, full Keras config), the budget, the
    training data, the validation data (it decides the ``val_*`` history), the
    corruption, the loss, the seed, this module's source, and the versions of
    Keras and of the backend Keras runs on.

    The devices are not in it, like the hardware: a run on a GPU differs from
    the same run on a CPU only by float rounding, and so does a run with a
    ``distribution`` over several devices (:func:`train`; the largest weight
    difference after two epochs is near 1e-7, ``tests/test_distribution.py``).
    So weights trained on several GPUs are reused on one CPU, and the other way
    round. The one exception is a model that draws random numbers under a
    ``tf.distribute`` strategy (see :func:`train`): it is a run of the same
    recipe, not a copy of the one-device run, and it shares the key too.
    """
    from .models import fingerprint

    spec = {
        "model": model.name,
        "architecture": repr(fingerprint(model)),
        # The full Keras config also covers what the fingerprint leaves out but
        # changes the result, such as initializers (a new bias_initializer must
        # not reuse weights trained from the old one).
        "config": json.dumps(model.get_config(), sort_keys=True, default=repr),
        "budget": dataclasses.asdict(budget) | {"mode": None},
        "data": _array_digest(x_in, x_target),
        "validation": None if validation is None else _array_digest(*validation),
        "corrupt": None if corrupt is None else repr(corrupt),
        "loss": _loss_name(loss),
        "seed": int(seed),
        "training_code": _code_digest(),
        "keras": keras.__version__,
        **_backend(),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _paths(name: str, key: str) -> tuple[Path, Path]:
    """The weight file and the metadata file of a run: ``NAME-KEY.weights.h5`` and ``NAME-KEY.json``.

    The suffixes are appended to the text of the name: ``Path.with_suffix``
    would replace everything after a dot in a model's name (``v.1``), key included.
    """
    stem = f"{name}-{key[:20]}"
    return weights_dir() / f"{stem}.weights.h5", weights_dir() / f"{stem}.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _metadata_digest(info: dict) -> str:
    """SHA-256 of the canonical JSON of a run's key, weight checksum, history and time."""
    fields = {name: info.get(name) for name in ("key", "weights_sha256", "history", "seconds")}
    return _sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _verified_result(metadata: bytes, key: str, weights: bytes) -> tuple[TrainResult | None, str]:
    """The run that ``metadata`` records, if it checks out against ``key`` and the ``weights`` bytes.

    Returns ``(result, "")``, or ``(None, what is wrong)``: not JSON, a field
    missing or of the wrong kind, or a checksum that does not match (an edited
    file, another run's metadata, other weights).
    """
    try:
        info = json.loads(metadata)
    except ValueError:
        return None, "the metadata is not JSON"
    if not isinstance(info, dict):
        return None, "the metadata is not a JSON object"
    if info.get("sha256") != _metadata_digest(info):
        return None, "the metadata does not match its checksum"
    if info.get("key") != key:
        return None, "the metadata is for another run"
    if info.get("weights_sha256") != _sha256(weights):
        return None, "the weight file does not match its checksum"
    history = info.get("history")
    if not (
        isinstance(history, dict)
        and "loss" in history
        and all(isinstance(v, list) and v and all(map(_is_number, v)) for v in history.values())
        and len({len(v) for v in history.values()}) == 1
    ):
        return None, "the history is not lists of numbers, one per epoch"
    try:
        seconds = finite_number(info.get("seconds"), "seconds", minimum=0)
    except ValueError as err:
        return None, str(err)
    history = {name: [float(v) for v in values] for name, values in history.items()}
    return TrainResult(history=history, seconds=seconds), ""


def _temporary(path: Path) -> Path:
    """A fresh hidden name beside ``path`` that ends like it (Keras wants ``.weights.h5``)."""
    return path.with_name(f".{uuid.uuid4().hex[:12]}.{path.name}")


def save_run(model: keras.Model, result: TrainResult, key: str) -> Path:
    """Save ``model``'s weights and ``result`` under ``key`` (see :func:`run_key`); returns the weight file.

    Both files are written under temporary names in the cache folder, then
    renamed into place with :func:`os.replace`, the weights first. A save that
    fails halfway therefore leaves a run saved before as it was, and a
    metadata file only ever describes a complete weight file. Raises
    :class:`OSError` when the folder cannot be created or written.
    """
    weights, meta = _paths(model.name, key)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tmp_weights, tmp_meta = _temporary(weights), _temporary(meta)
    try:
        model.save_weights(tmp_weights)
        info = {
            "key": key,
            "weights_sha256": _sha256(tmp_weights.read_bytes()),
            "history": result.history,
            "seconds": float(result.seconds),
        }
        info["sha256"] = _metadata_digest(info)
        tmp_meta.write_text(json.dumps(info))
        os.replace(tmp_weights, weights)
        os.replace(tmp_meta, meta)
    finally:
        for tmp in (tmp_weights, tmp_meta):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return weights


def load_run(model: keras.Model, key: str) -> tuple[TrainResult | None, str]:
    """Load the weights saved under ``key`` into ``model`` if they are present and verified.

    Both files are read once and checked (key, checksums, a well-formed
    history and time) before anything is loaded. The weights then come from a
    private copy of the very bytes that were checked, so another process
    rewriting the file meanwhile changes nothing.

    Returns ``(result, why)``: the saved :class:`TrainResult`, or ``None``
    with the reason nothing was loaded (``model`` is then unchanged).
    """
    weights, meta = _paths(model.name, key)
    try:
        metadata, data = meta.read_bytes(), weights.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None, "no saved weights for this exact recipe and data"
    except OSError as err:
        return None, f"saved weights {weights} could not be read ({err})"
    result, problem = _verified_result(metadata, key, data)
    if result is None:
        return None, f"saved weights {weights} failed verification: {problem}"
    before = model.get_weights()
    try:
        with tempfile.TemporaryDirectory(prefix="ae-weights-") as private:
            copy = Path(private) / weights.name
            copy.write_bytes(data)
            model.load_weights(copy)
    except (OSError, KeyError, ValueError) as err:  # what h5py and Keras raise for a bad file
        model.set_weights(before)
        return None, f"saved weights {weights} could not be loaded ({type(err).__name__}: {err})"
    return result, f"verified weights from {weights}"


def _cache(model: keras.Model, result: TrainResult, key: str) -> None:
    """:func:`save_run`, but a run that cannot be saved only prints one line why, as training is done."""
    try:
        save_run(model, result, key)
    except OSError as err:  # a read-only home, a locked file or a file where the folder should be
        print(f"{model.name}: weights not cached ({type(err).__name__}: {err})")


def train_and_save(
    model,
    x_in,
    x_target,
    budget,
    *,
    validation=None,
    seed: int = config.SEED,
    corrupt=None,
    loss="mse",
    distribution=None,
) -> TrainResult:
    """:func:`train`, then save the weights for later reuse by :func:`load_or_train`.

    Taught in the multilayer chapter.

    If they cannot be saved, it prints one line saying why and still returns the result.
    ``distribution`` is passed to :func:`train` and is not part of the key (see :func:`run_key`).
    """
    if distribution is not None:
        _distribution_kind(distribution)  # a wrong pairing fails before anything is trained or saved
    key = run_key(model, x_in, x_target, budget, seed, validation=validation, corrupt=corrupt, loss=loss)
    result = train(
        model,
        x_in,
        x_target,
        budget,
        validation=validation,
        seed=seed,
        corrupt=corrupt,
        loss=loss,
        distribution=distribution,
    )
    _cache(model, result, key)
    return result


def cache_run(
    model, fit_history, seconds: float, x_in, x_target, budget, *, validation=None, seed: int = config.SEED
) -> TrainResult:
    """Save a run that a chapter trained with its own ``compile`` and ``fit`` calls, as :func:`train_and_save` would.

    Taught in the vanilla chapter (section Training).

    The vanilla chapter shows the steps of :func:`train` in plain view and then
    calls this with ``fit``'s ``History`` and the seconds it took, so that later
    chapters reuse its weights through :func:`load_or_train`. That is only right
    when the chapter's steps are exactly :func:`train`'s (a test runs the
    chapter's training cell and compares the weights bit for bit). Returns the
    run as a :class:`TrainResult`; a run that cannot be saved prints one line why.
    """
    history = {k: [float(v) for v in vals] for k, vals in fit_history.history.items() if k != "learning_rate"}
    result = TrainResult(history=history, seconds=float(seconds))
    _cache(model, result, run_key(model, x_in, x_target, budget, seed, validation=validation))
    return result


def load_or_train(
    model,
    x_in,
    x_target,
    budget,
    *,
    validation=None,
    seed: int = config.SEED,
    corrupt=None,
    loss="mse",
    distribution=None,
) -> tuple[TrainResult, bool]:
    """Reuse a chapter's verified weights for this exact run, else train (and save).

    Taught in the multilayer chapter (reusing the vanilla model).

    Returns ``(result, reused)`` and prints one line saying which happened,
    and one more if freshly trained weights cannot be saved. Call
    :func:`set_seed` before building ``model`` so that a retrain matches the
    chapter's run. ``distribution`` is used only when it trains (see :func:`train`);
    it is not part of the key (see :func:`run_key`).
    """
    if distribution is not None:
        _distribution_kind(distribution)  # a wrong pairing fails even when the weights are reused
    key = run_key(model, x_in, x_target, budget, seed, validation=validation, corrupt=corrupt, loss=loss)
    result, why = load_run(model, key)
    if result is not None:
        print(f"{model.name}: reused {why} (training took {result.seconds:.1f} s)")
        return result, True
    result = train(
        model,
        x_in,
        x_target,
        budget,
        validation=validation,
        seed=seed,
        corrupt=corrupt,
        loss=loss,
        distribution=distribution,
    )
    print(f"{model.name}: trained now in {result.seconds:.1f} s ({why})")
    _cache(model, result, key)
    return result, False
