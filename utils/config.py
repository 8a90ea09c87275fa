"""The course's switches and each chapter's training budget.

Two environment variables steer the whole course, and this module is the only
place that reads them:

``AE_QUICK``
    ``1`` (or ``true``/``yes``/``on``) selects *quick mode*: fewer samples and
    epochs so that every chapter runs in about a minute on two CPU cores. This
    is what ``make test`` and CI use. Unset or ``0`` is *full mode*, the
    default for readers.
``AE_DATASET``
    ``mnist`` (default) or ``fashion_mnist``: which data set every chapter
    loads.

Chapters never read these variables themselves; they ask :func:`budget` for
their :class:`Budget`.
"""

from __future__ import annotations

import dataclasses
import os

from .checks import finite_number, non_negative_int, positive_int

#: Names accepted by ``AE_DATASET`` and :func:`utils.data.load_dataset`.
DATASETS = ("mnist", "fashion_mnist")

#: The seed every chapter uses (data split, weight initialisation, noise).
SEED = 42

#: Standard deviation of the Gaussian noise of the denoising chapter (the Keras blog's 0.5).
NOISE_FACTOR = 0.5

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def quick_mode() -> bool:
    """Return True when ``AE_QUICK`` asks for the quick (CI) budget."""
    return _flag("AE_QUICK")


def dataset_name() -> str:
    """Return the data set chosen by ``AE_DATASET`` (default ``"mnist"``)."""
    name = os.environ.get("AE_DATASET", "mnist").strip().lower() or "mnist"
    if name not in DATASETS:
        raise ValueError(f"AE_DATASET must be one of {DATASETS}; got {name!r}")
    return name


@dataclasses.dataclass(frozen=True)
class Budget:
    """How one chapter trains: data sizes and the optimisation recipe.

    Taught in the vanilla chapter (section Training).

    Attributes
    ----------
    mode:
        ``"quick"`` or ``"full"``; ``"side"`` for a side run in full mode (:func:`side_budget`).
    n_train, n_test:
        Number of training and test images to use; ``None`` means all.
    epochs, batch_size:
        Passes over the training set and images per gradient step.
    min_steps:
        At least this many gradient steps: on a small training set (the
        4,000 offline digits) the run takes more epochs, so that it gets as
        many weight updates as on the full data. See :meth:`epochs_for`.
    learning_rate:
        Adam's peak learning rate.
    schedule:
        ``"cosine"`` (decay to 0 over the run) or ``"constant"``.
    warmup_epochs:
        Epochs of linear warm-up before the cosine decay (0 for none).
    jit_compile, steps_per_execution:
        Passed to ``model.compile``: XLA compilation and how many batches run
        per call into the compiled graph. Both only change speed (and memory).
        No recipe turns XLA on: on a CPU it made no model faster (see below).
    init_output_bias:
        Start the sigmoid output layer's bias at the logit of the mean pixel
        value (see :func:`utils.training.init_output_bias`). Without it the
        post's convolutional models, trained with MSE on MNIST digits, can
        collapse to all-black outputs in the first epoch.
    """

    mode: str
    n_train: int | None
    n_test: int | None
    epochs: int
    batch_size: int
    min_steps: int = 0
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    warmup_epochs: int = 0
    jit_compile: bool = False
    steps_per_execution: int = 32
    init_output_bias: bool = True

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant'; got {self.schedule!r}")
        for field in ("epochs", "batch_size", "steps_per_execution"):
            positive_int(getattr(self, field), field)
        for field in ("n_train", "n_test"):  # None means all images
            if getattr(self, field) is not None:
                positive_int(getattr(self, field), field)
        for field in ("min_steps", "warmup_epochs"):  # 0 means none
            non_negative_int(getattr(self, field), field)
        if finite_number(self.learning_rate, "learning_rate") <= 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate}")

    def epochs_for(self, n_train: int) -> int:
        """Epochs to run on ``n_train`` images: ``epochs``, or more to reach ``min_steps`` steps."""
        n_train = positive_int(n_train, "n_train")
        steps_per_epoch = -(-n_train // self.batch_size)
        return max(self.epochs, -(-self.min_steps // steps_per_epoch))


# Full-mode recipes. The architectures are the post's; only the optimisation
# (batch size, peak learning rate, warm-up, schedule, epochs, XLA, output-bias
# start) is ours. benchmarks/run.py compares each with the post's recipe on
# 60,000 images.
# Vanilla and sparse share one recipe, so that the sparse chapter compares like
# with like. Without warm-up, peak learning rates above Adam's default 1e-3 left
# more dead ReLU code units and a worse test error on Fashion-MNIST, so they keep
# 1e-3. The deeper multilayer model gains from batches of 64 at 2e-3 after two
# epochs of warm-up (test MSE 0.0078 after 20 epochs against 0.0088 after 30
# epochs at batch 128 and 1e-3, on Fashion-MNIST).
# XLA (``jit_compile``) is off in every recipe. On a 2-core CPU, XLA-compiled
# convolutions ran 3.5 times slower than TensorFlow's own (oneDNN) kernels (17 s
# against 4.8 s an epoch for the convolutional model at batch 128), and the dense
# models trained no faster with it (vanilla, 30 epochs: 32.6 s with XLA, 33.6 s
# without) while the kernel held 100-150 MB more memory for the compiled code.
# The convolutional models learn more per second from small batches, on
# Fashion-MNIST: at batch 32 and a peak rate of 3e-3 the convolutional model
# reached a test MSE of 0.0124 in 8 epochs (121 s), at batch 128 and 5e-3 only
# 0.0133 in 16 epochs (145 s); the denoiser reached 0.0149 in 4 epochs at batch
# 32 (84 s) against 0.0150 in 10 epochs at batch 128 (176 s). One epoch of
# linear warm-up keeps the peak rate from killing ReLU units.
_FULL = {
    "vanilla": dict(epochs=30, batch_size=128, min_steps=6000, learning_rate=1e-3),
    "multilayer": dict(epochs=20, batch_size=64, min_steps=12000, learning_rate=2e-3, warmup_epochs=2),
    "convolutional": dict(epochs=8, batch_size=32, min_steps=6000, learning_rate=3e-3, warmup_epochs=1),
    "sparse": dict(epochs=30, batch_size=128, min_steps=6000, learning_rate=1e-3),
    "denoising": dict(epochs=5, batch_size=32, min_steps=4000, learning_rate=3e-3, warmup_epochs=1),
    # Beyond the post. The contractive model has the vanilla model's shape and recipe.
    "contractive": dict(epochs=30, batch_size=128, min_steps=6000, learning_rate=1e-3),
    "variational": dict(epochs=30, batch_size=128, min_steps=2000, learning_rate=1e-3),
}

# Quick mode: enough to show every effect the chapters claim, in seconds.
_QUICK = {
    "vanilla": dict(epochs=10, batch_size=32, learning_rate=3e-3),
    "multilayer": dict(epochs=10, batch_size=32, learning_rate=3e-3),
    "convolutional": dict(epochs=4, batch_size=32, learning_rate=5e-3),
    "sparse": dict(epochs=10, batch_size=32, learning_rate=3e-3),
    "denoising": dict(epochs=3, batch_size=32, learning_rate=5e-3),
    "contractive": dict(epochs=10, batch_size=32, learning_rate=3e-3),
    "variational": dict(epochs=10, batch_size=32, learning_rate=3e-3),
}
#: Quick mode trains every model on the same subset, so the summary compares like with like.
QUICK_N_TRAIN, QUICK_N_TEST = 1000, 500

#: Side runs: every model a chapter trains besides its own (an exercise's variant, a model with
#: another penalty, the other half of a comparison) and the summary's curve of reconstruction
#: error against code size train with their model's quick-mode recipe on at most this many
#: training images (see :func:`side_budget`). In full mode on the 60,000 images of a real data
#: set, retraining each variant with the chapter's full recipe made the convolutional and
#: denoising chapters take several minutes each; 4,000 is also all of the offline MNIST digits.
SIDE_N_TRAIN = 4_000

#: Linear probes (a logistic regression from codes to labels, :func:`utils.metrics.linear_probe_accuracy`)
#: are fitted on at most this many training codes: on all 60,000 images of a real data set a probe
#: took minutes on two cores, and 10,000 images leave about 1,000 per class.
PROBE_N_TRAIN = 10_000


#: The post's five models, in reading order.
MODELS = ("vanilla", "multilayer", "convolutional", "sparse", "denoising")
#: Every model the course trains: the post's five and the ones it adds.
COURSE_MODELS = tuple(_FULL)


def side_budget(model: str, n_train: int, n_test: int, *, quick: bool | None = None) -> Budget:
    """Return the budget of a chapter's side runs, for a model of ``model``'s family.

    Taught in the vanilla chapter (section Exercises), used by every chapter that trains
    more than its own model, and by the summary's code-size curve.

    A side run trains with the quick-mode recipe of ``model`` (its epochs, batch size and
    learning rate) on the first ``budget.n_train`` of the chapter's ``n_train`` training images:
    all of them, up to :data:`SIDE_N_TRAIN`. In quick mode that is exactly :func:`budget`'s
    quick budget, so a side run of the chapter's own model is the chapter's run. In full mode
    the mode is ``"side"``: a comparison with the chapter's full-mode model is then not like
    with like, so chapters compare side runs with side runs.

    Parameters
    ----------
    model:
        One of :data:`COURSE_MODELS`, whose quick-mode recipe the side run uses.
    n_train, n_test:
        How many training and test images the chapter has loaded.
    quick:
        Force quick (True) or full (False) mode; ``None`` follows ``AE_QUICK``.
    """
    n_train, n_test = positive_int(n_train, "n_train"), positive_int(n_test, "n_test")
    if quick is None:
        quick = quick_mode()
    recipe = budget(model, quick=True)
    return dataclasses.replace(
        recipe, mode="quick" if quick else "side", n_train=min(n_train, SIDE_N_TRAIN), n_test=n_test
    )


def budget(model: str, *, quick: bool | None = None) -> Budget:
    """Return the training budget for ``model`` in the current mode.

    Taught in the vanilla chapter (section Training), used by every chapter.

    Parameters
    ----------
    model:
        One of :data:`COURSE_MODELS`: the post's ``"vanilla"``, ``"multilayer"``,
        ``"convolutional"``, ``"sparse"``, ``"denoising"``, or the course's
        ``"contractive"`` and ``"variational"``.
    quick:
        Force quick (True) or full (False) mode; ``None`` follows ``AE_QUICK``.
    """
    if model not in _FULL:
        raise ValueError(f"unknown model {model!r}; expected one of {COURSE_MODELS}")
    if quick is None:
        quick = quick_mode()
    if quick:
        return Budget(mode="quick", n_train=QUICK_N_TRAIN, n_test=QUICK_N_TEST, **_QUICK[model])
    return Budget(mode="full", n_train=None, n_test=None, **_FULL[model])
