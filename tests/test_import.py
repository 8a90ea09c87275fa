"""What ``import utils`` does to the kernel: the backend, and JAX kept out of TensorFlow's import.

TensorFlow's ``tf.lite`` imports JAX whenever it is installed. ``utils`` hides JAX
from that one import on the TensorFlow backend (about 100 MB less in every
kernel, ``benchmarks/results.md``), and must leave JAX importable afterwards, and
untouched on the JAX backend or where a kernel imported it first. Each check runs
in a fresh process: these are decisions taken when TensorFlow is first imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

CASES = {
    "tensorflow": """
        import sys
        import utils, keras
        assert keras.backend.backend() == "tensorflow"
        assert "jax" not in sys.modules, "TensorFlow's import loaded JAX"
        import jax, jax.numpy as jnp  # and a reader can still import it
        assert float(jnp.ones(3).sum()) == 3.0
    """,
    "jax": """
        import sys
        import utils, keras
        assert keras.backend.backend() == "jax"
        assert sys.modules["jax"] is not None
    """,
    "jax imported first": """
        import sys
        import jax
        import utils, keras
        assert keras.backend.backend() == "tensorflow"
        assert sys.modules["jax"] is jax, "utils replaced a module the kernel had already imported"
    """,
}


@pytest.mark.parametrize("case", CASES)
def test_import_utils_keeps_jax_out_of_tensorflows_import_only(case):
    env = dict(os.environ, KERAS_BACKEND="jax" if case == "jax" else "tensorflow", JAX_PLATFORMS="cpu")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CASES[case])], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
