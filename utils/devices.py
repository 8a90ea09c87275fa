"""Backends and devices: measurements that need a fresh Python process.

Taught in the appendix on devices.

Keras picks its backend (``KERAS_BACKEND``: ``tensorflow``, the course's
default, or ``jax``) once, when it is first imported, and TensorFlow and JAX
fix their devices when they start. A notebook kernel therefore cannot compare
backends, or simulate several devices, in itself. The functions here run each
measurement in a fresh Python process (``sys.executable``) with the right
environment and return what it measured as plain Python values:

- :func:`epoch_seconds`: seconds per training epoch of course models on one backend;
- :func:`compare_devices`: the same training on one device and on several
  simulated CPU devices (``training.train(..., distribution=...)``), compared;
- :func:`plot_epoch_seconds` and :func:`plot_weight_differences`: their figures.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from . import config
from .checks import positive_int
from .plotting import CourseFigure

#: The Keras backends the course runs on.
BACKENDS = ("tensorflow", "jax")


class MissingBackend(RuntimeError):
    """A backend's library is not installed. Jupyter shows only the message, which says how to install it."""

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [f"{type(self).__name__}: {self}"]


def backend_available(backend: str) -> bool:
    """Whether the library of Keras backend ``backend`` (``"tensorflow"`` or ``"jax"``) can be imported."""
    importlib.invalidate_caches()  # a package installed since this kernel started counts too
    return importlib.util.find_spec(_check_backend(backend)) is not None


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    return backend


def _require(backend: str) -> None:
    if not backend_available(backend):
        raise MissingBackend(
            f"this measurement runs Keras on its {backend} backend, and the {backend} package is not installed "
            f"in this Python. Install the course's requirements (`pip install -r requirements.txt`, as Binder "
            f"does) or just `pip install {backend}`, then run this cell again."
        )


def _environment(backend: str, cpu_devices: int | None) -> dict[str, str]:
    env = dict(os.environ, KERAS_BACKEND=backend)
    if cpu_devices is not None and backend == "jax":
        flags = env.get("XLA_FLAGS", "").split()
        flags = [f for f in flags if not f.startswith("--xla_force_host_platform_device_count")]
        env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={cpu_devices}"])
        env["JAX_PLATFORMS"] = "cpu"  # simulated CPU devices, even on a machine with GPUs
    return env


def _run(backend: str, script: str, params: dict, *, cpu_devices: int | None = None, timeout: float) -> dict:
    """Run ``script`` (which reads ``PARAMS`` and prints ``RESULT`` + JSON) on ``backend`` in a fresh process."""
    _require(backend)
    code = f"PARAMS = {json.dumps(params)!r}\n" + textwrap.dedent(script)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=_environment(backend, cpu_devices),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0 or "RESULT" not in done.stdout:
        raise RuntimeError(f"the measurement on {backend} failed (exit code {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.rsplit("RESULT", 1)[1])


_EPOCH_SECONDS = """
import json, time
import utils
import keras
import numpy as np
from utils import config, data, models, training

params = json.loads(PARAMS)
(x_train, _), _ = data.load_dataset(n_train=params["n_train"], n_test=1, verbose=False)


class Clock(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


out = {"backend": keras.backend.backend(), "devices": keras.distribution.list_devices(), "models": {}}
for name, recipe in params["recipes"].items():
    budget = config.Budget(**recipe)
    loss = models.bernoulli_nll if name == "variational" else "mse"
    training.set_seed()
    model = models.build(name)
    x = training._inputs_for(model, x_train)
    # The steps of training.train, with a clock on every epoch.
    training.init_output_bias(model, x)
    training.compile_model(model, budget, len(x), loss=loss)
    clock = Clock()
    clock.seconds = []
    model.fit(training.batches(x, x, budget.batch_size), epochs=params["epochs"], shuffle=False, verbose=0,
              callbacks=[clock])
    out["models"][name] = clock.seconds
print("RESULT" + json.dumps(out))
"""


def epoch_seconds(
    backend: str,
    names=("vanilla", "multilayer", "convolutional", "variational"),
    *,
    n_train: int,
    epochs: int = 4,
    quick: bool | None = None,
    timeout: float = 1800,
) -> dict:
    """Seconds per training epoch of course models on Keras backend ``backend``, measured in a fresh process.

    Taught in the appendix on devices.

    Each model is built from :mod:`utils.models` and trained as
    :func:`utils.training.train` does (the recipe of its chapter from
    :func:`utils.config.budget`, ``quick`` following ``AE_QUICK`` when None)
    on ``n_train`` training images for ``epochs`` epochs (at least 3), one
    model after the other, in one Python process started with
    ``KERAS_BACKEND=backend``. The first epoch also traces and compiles the
    training step, and the second was still slower in some runs (JAX compiled
    nothing in it: caches and memory warming up); the epochs from the third on
    show the speed of training itself.

    Returns ``{"backend": ..., "devices": [...], "models": {name: {"epochs":
    [seconds of each epoch], "first": seconds of the first epoch, "steady":
    median seconds of the epochs from the third on}}}``. Raises
    :class:`MissingBackend` when the backend's library is not installed.
    """
    n_train, epochs = positive_int(n_train, "n_train"), positive_int(epochs, "epochs")
    if epochs < 3:
        raise ValueError(f"epochs must be at least 3 (the first two include compiling and warming up); got {epochs}")
    recipes = {name: dataclasses.asdict(config.budget(name, quick=quick)) for name in names}
    params = {"n_train": n_train, "epochs": epochs, "recipes": recipes}
    out = _run(_check_backend(backend), _EPOCH_SECONDS, params, timeout=timeout)
    out["models"] = {
        name: {"epochs": seconds, "first": seconds[0], "steady": float(statistics.median(seconds[2:]))}
        for name, seconds in out["models"].items()
    }
    return out


_COMPARE = """
import json
import utils
import numpy as np

params = json.loads(PARAMS)
n = params["devices"]
if params["backend"] == "tensorflow":
    import tensorflow as tf

    tf.config.set_visible_devices([], "GPU")  # simulated CPU devices, even on a machine with GPUs
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
import keras
from utils import config, data, models, training

if params["backend"] == "jax":
    import jax

    found = [str(d) for d in jax.devices()]
    distribution = keras.distribution.DataParallel(devices=keras.distribution.list_devices("cpu"))
    replicas = [int(s) for s in distribution.device_mesh.shape]
else:
    found = [d.name for d in tf.config.list_logical_devices("CPU")]
    distribution = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(n)])
    replicas = [int(distribution.num_replicas_in_sync)]

(x_train, _), (x_test, _) = data.load_dataset(n_train=params["n_train"], n_test=params["n_test"], verbose=False)
budget = config.Budget(**params["budget"])
out = {"backend": keras.backend.backend(), "devices": found, "replicas": replicas, "models": {}}
for name in params["names"]:
    loss = models.bernoulli_nll if name == "variational" else "mse"
    runs = {}
    for label, d in (("one", None), ("many", distribution)):
        training.set_seed()
        model = models.build(name)  # the same initial weights for both runs
        result = training.train(model, x_train, x_train, budget, validation=(x_test, x_test), loss=loss, distribution=d)
        runs[label] = (model.get_weights(), result)
    (w1, r1), (w2, r2) = runs["one"], runs["many"]
    out["models"][name] = {
        "max_weight_difference": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w2)),
        "max_weight": max(float(np.max(np.abs(a))) for a in w1),
        "history_one": r1.history,
        "history_many": r2.history,
        "seconds_one": r1.seconds,
        "seconds_many": r2.seconds,
    }
print("RESULT" + json.dumps(out))
"""


def compare_devices(
    backend: str,
    names=("vanilla",),
    *,
    devices: int = 2,
    n_train: int = 320,
    n_test: int = 96,
    epochs: int = 2,
    batch_size: int = 32,
    timeout: float = 900,
) -> dict:
    """Train course models on one device and on ``devices`` simulated CPU devices, and compare the results.

    Taught in the appendix on devices.

    In a fresh process started with ``KERAS_BACKEND=backend``, the CPU is
    split into ``devices`` devices before the backend starts (JAX:
    ``XLA_FLAGS=--xla_force_host_platform_device_count``; TensorFlow: logical
    CPU devices). Each model of ``names`` is then trained twice from the same
    seed, initial weights and batches with :func:`utils.training.train`: once
    as the chapters do, once with ``distribution=`` a
    ``keras.distribution.DataParallel`` over all devices (JAX) or a
    ``tf.distribute.MirroredStrategy`` (TensorFlow). Each run sees
    ``n_train`` training and ``n_test`` validation images of the course's data
    set, for ``epochs`` epochs of ``batch_size`` images (the global batch).

    Returns ``{"backend", "devices": [names of the devices found], "replicas":
    [devices along each axis of the distribution], "models": {name: {
    "max_weight_difference", "max_weight", "history_one", "history_many",
    "seconds_one", "seconds_many"}}}``.
    """
    params = {
        "backend": _check_backend(backend),
        "devices": positive_int(devices, "devices"),
        "names": list(names),
        "n_train": positive_int(n_train, "n_train"),
        "n_test": positive_int(n_test, "n_test"),
        "budget": dataclasses.asdict(
            config.Budget(
                mode="comparison",
                n_train=n_train,
                n_test=n_test,
                epochs=positive_int(epochs, "epochs"),
                batch_size=positive_int(batch_size, "batch_size"),
            )
        ),
    }
    return _run(backend, _COMPARE, params, cpu_devices=devices, timeout=timeout)


# --------------------------------------------------------------------------- figures

#: How the figures name the backends.
BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX"}
_BACKEND_COLORS = {"tensorflow": "#ff7f0e", "jax": "#1f77b4"}


def _grouped_bars(ax, values: Mapping[str, Mapping[str, float]], *, ylabel: str) -> None:
    """Bars of ``values[backend][model]``, grouped by model, one colour per backend."""
    names = list(dict.fromkeys(name for per_model in values.values() for name in per_model))
    width = 0.8 / max(len(values), 1)
    for i, (backend, per_model) in enumerate(values.items()):
        xs = [j + (i - (len(values) - 1) / 2) * width for j, name in enumerate(names) if name in per_model]
        ys = [per_model[name] for name in names if name in per_model]
        ax.bar(xs, ys, width, label=BACKEND_NAMES.get(backend, backend), color=_BACKEND_COLORS.get(backend))
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)


def plot_epoch_seconds(timings: Mapping[str, dict]) -> Figure:
    """Seconds of the first epoch and of the later epochs, per model and backend (:func:`epoch_seconds`' results).

    Taught in the appendix on devices. ``timings`` maps a backend to what
    :func:`epoch_seconds` returned for it.
    """
    fig = CourseFigure(figsize=(9.0, 3.6), dpi=100, layout="constrained")
    first, steady = fig.subplots(1, 2)
    _grouped_bars(
        first, {b: {n: r["first"] for n, r in t["models"].items()} for b, t in timings.items()}, ylabel="seconds"
    )
    first.set_title("first epoch (tracing and compiling included)", fontsize=10)
    _grouped_bars(
        steady, {b: {n: r["steady"] for n, r in t["models"].items()} for b, t in timings.items()}, ylabel="seconds"
    )
    steady.set_title("an epoch from the third on (median)", fontsize=10)
    steady.legend(fontsize=9)
    return fig


def plot_weight_differences(comparison: Mapping[str, dict], *, learning_rate: float = 1e-3) -> Figure:
    """Largest weight difference between one and several devices, per model and backend (log scale).

    Taught in the appendix on devices. ``comparison`` maps a backend to what
    :func:`compare_devices` returned for it. Two lines give the scale: the
    spacing of float32 numbers near the largest weight (rounding) and the
    ``learning_rate``, about how far one Adam step moves a weight.
    """
    fig = CourseFigure(figsize=(6.4, 3.6), dpi=100, layout="constrained")
    ax = fig.subplots()
    values = {b: {n: r["max_weight_difference"] for n, r in c["models"].items()} for b, c in comparison.items()}
    _grouped_bars(ax, values, ylabel="largest weight difference")
    ax.set_yscale("log")
    top = max([learning_rate, *(v for per_model in values.values() for v in per_model.values())])
    ax.set_ylim(1e-9, 10 * top)  # room below float32 rounding for the smallest bars, above for the labels
    for bars in ax.containers:
        ax.bar_label(bars, labels=[f"{bar.get_height():.0e}" for bar in bars], fontsize=8)
    biggest = max(r["max_weight"] for c in comparison.values() for r in c["models"].values())
    ax.axhline(
        float(np.spacing(np.float32(biggest))), color="black", ls=":", label="float32 spacing at the largest weight"
    )
    ax.axhline(learning_rate, color="black", ls="--", label=f"one Adam step (learning rate {learning_rate:g})")
    ax.legend(fontsize=9)
    return fig
