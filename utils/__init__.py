"""Shared helpers for the *Autoencoders, hands-on* course.

Import this package **before** Keras or TensorFlow in a notebook::

    import utils          # quiets TensorFlow's start-up logging, selects the backend
    import keras

Importing it sets the Keras backend to TensorFlow (unless the reader chose
another, such as ``KERAS_BACKEND=jax``) and imports TensorFlow once with its
C++ start-up messages (CUDA, oneDNN, absl) sent to ``/dev/null``, so they never
reach the book, and on the TensorFlow backend without loading JAX, which
TensorFlow's ``tf.lite`` would otherwise import for nothing (about 100 MB).

Submodules, each with one job:

- :mod:`utils.config`   -- the quick/full switch (``AE_QUICK``), dataset choice
  (``AE_DATASET``) and each chapter's training budget;
- :mod:`utils.data`     -- loading MNIST / Fashion-MNIST from the best source
  available, adding noise;
- :mod:`utils.models`   -- the post's five architectures and the course's
  contractive and variational models, the single source of truth shared by
  every chapter;
- :mod:`utils.training` -- seeding and the fit loop used by every chapter;
- :mod:`utils.metrics`  -- MSE, PSNR, code sparsity, neighbour-based scores,
  ROC AUC and detection rates;
- :mod:`utils.plotting` -- the course's figures, each returned as a Figure;
- :mod:`utils.notebook` -- glue that also works outside Jupyter Book, and
  showing a function's source;
- :mod:`utils.devices`  -- timing epochs on each Keras backend and comparing
  training on one and on several (simulated) devices, in fresh processes.
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["config", "data", "devices", "metrics", "models", "notebook", "plotting", "training"]
__version__ = "1.0.0"

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# 3 = only fatal errors from TensorFlow's C++ core; these lines carry no
# information for a reader of the book (CUDA not found, oneDNN notices, ...).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _silenced_native_stderr():
    """Send file descriptor 2 to /dev/null while the block runs.

    TensorFlow writes some start-up lines from C++ before any Python logging
    is configured; only a redirect at the file-descriptor level stops them.
    """
    # Always file descriptor 2 itself: in a Jupyter kernel sys.stderr.fileno()
    # returns a saved copy of the original stream, not the descriptor C++ writes to.
    fd = 2
    try:
        saved = os.dup(fd)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _quiet_tensorflow() -> None:
    # On every backend: under KERAS_BACKEND=jax too, Keras's set_random_seed and the
    # course's input pipeline (tf.data) import TensorFlow, whose start-up lines would
    # then land in a chapter's output.
    # TensorFlow's tf.lite imports JAX whenever it is installed (for a converter the course never
    # uses): about 100 MB of memory and half a second in every kernel on the TensorFlow backend
    # (benchmarks/results.md, "floor"). Hide JAX from that one import, then forget the refusal,
    # so that a later ``import jax`` works as usual. A kernel that already imported JAX keeps it.
    hide_jax = os.environ["KERAS_BACKEND"] == "tensorflow" and "jax" not in sys.modules
    if hide_jax:
        sys.modules["jax"] = None  # ``import jax`` raises ImportError, which tf.lite expects
    try:
        with _silenced_native_stderr():
            import tensorflow as tf  # noqa: F401
    except ImportError:  # the course also imports without TensorFlow (tests of pure helpers)
        return
    finally:
        if hide_jax and "jax" in sys.modules and sys.modules["jax"] is None:
            del sys.modules["jax"]
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl ships with TensorFlow
        pass


_quiet_tensorflow()
