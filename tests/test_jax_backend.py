"""The course on Keras's JAX backend: utils and the two chapters written for every backend.

TensorFlow is the course's default backend. The contractive and variational
chapters, and the helpers they use (models, losses, training, the weight
cache), are written with ``keras.ops`` and ``keras.random`` only, so they must
run unchanged under ``KERAS_BACKEND=jax``. The backend is chosen when Keras is
first imported, so every check runs in a fresh Python process. jax comes from
requirements-dev.txt, which ``make test`` installs: without it these tests fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from _book import ROOT

JAX_CHAPTERS = ["06_contractive", "07_variational"]


def _jax_env(tmp_path) -> dict[str, str]:
    env = dict(os.environ, KERAS_BACKEND="jax", AE_QUICK="1", AE_WEIGHTS_DIR=str(tmp_path / "weights"))
    env.pop("JAX_PLATFORMS", None)
    return env


def test_jax_is_installed_for_the_tests():
    import jax  # noqa: F401  (a missing jax is a failed setup, not a skip)


def test_utils_run_on_jax(tmp_path):
    script = textwrap.dedent("""
        import json
        import numpy as np
        import utils
        import keras
        from keras import ops
        from utils import config, metrics, models, training

        assert keras.backend.backend() == "jax", keras.backend.backend()
        rng = np.random.default_rng(0)
        images = rng.random((32, 28, 28), dtype=np.float32)
        out = {}

        # The closed form of the contractive penalty against jax.jacrev, for both activations.
        for activation in ("sigmoid", "relu"):
            training.set_seed()
            x = keras.Input(shape=(784,))
            h = models.ContractiveDense(8, strength=0.0, activation=activation, name="code")(x)
            encoder = keras.Model(x, h)
            jac = metrics.jacobian(encoder, images[:4])
            codes = ops.convert_to_numpy(encoder(images[:4].reshape(4, 784)))
            closed = ops.convert_to_numpy(models.jacobian_frobenius_sq(codes, encoder.get_layer("code").kernel, activation))
            out[activation] = float(np.max(np.abs(closed - np.square(jac).sum(axis=(1, 2))) / closed))

        # Both course models train; the VAE's history holds both terms of its loss.
        budget = config.Budget(mode="quick", n_train=32, n_test=32, epochs=2, batch_size=16)
        for name, loss in (("contractive", "mse"), ("variational", models.bernoulli_nll)):
            training.set_seed()
            model = models.build(name)
            result = training.train(model, images, images, budget, validation=(images, images), loss=loss)
            out[name] = result.history

        # The weight cache saves and reuses under JAX, with a key of its own.
        training.set_seed()
        model = models.build_variational()
        training.train_and_save(model, images, images, budget, loss=models.bernoulli_nll)
        training.set_seed()
        again = models.build_variational()
        _, reused = training.load_or_train(again, images, images, budget, loss=models.bernoulli_nll)
        out["reused"] = reused
        out["same_weights"] = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights()))
        out["key"] = training.run_key(model, images, images, budget, loss=models.bernoulli_nll)

        # Sampling is reproducible from its seed.
        mu, log_var = np.zeros((5, 2), "float32"), np.zeros((5, 2), "float32")
        a = ops.convert_to_numpy(models.Sampling(seed=3)([mu, log_var]))
        b = ops.convert_to_numpy(models.Sampling(seed=3)([mu, log_var]))
        out["sampling_reproducible"] = bool(np.array_equal(a, b))
        print("RESULT" + json.dumps(out))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], env=_jax_env(tmp_path), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.split("RESULT", 1)[1])
    assert out["sigmoid"] < 1e-4 and out["relu"] < 1e-4, out
    for name in ("contractive", "variational"):
        history = out[name]
        assert len(history["loss"]) == 2 and all(v == v for v in history["loss"]), history  # two finite epochs
    vae = out["variational"]
    assert all(total > rec for total, rec in zip(vae["loss"], vae["reconstruction"]))  # the KL term is there
    assert out["reused"] and out["same_weights"] and out["sampling_reproducible"], out

    # The same run under TensorFlow (this process) has another key: histories differ by backend.
    import numpy as np

    import utils  # noqa: F401
    from utils import config, models, training

    images = np.random.default_rng(0).random((32, 28, 28), dtype=np.float32)
    budget = config.Budget(mode="quick", n_train=32, n_test=32, epochs=2, batch_size=16)
    training.set_seed()
    key_tf = training.run_key(models.build_variational(), images, images, budget, loss=models.bernoulli_nll)
    assert key_tf != out["key"]


def _execute_on_jax(notebook, workdir, env) -> subprocess.CompletedProcess:
    script = textwrap.dedent(f"""
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read({str(notebook)!r}, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("import keras\\nprint('BACKEND', keras.backend.backend())"))
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={{"metadata": {{"path": {str(workdir)!r}}}}}).execute()
        print(nb.cells[-1].outputs[0]["text"])
    """)
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=1200)


@pytest.mark.parametrize("name", JAX_CHAPTERS)
def test_chapter_runs_on_jax(name, tmp_path):
    """The chapter's Colab copy, quick mode, top to bottom, with every assert in it, on JAX."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    done = _execute_on_jax(ROOT / "colab" / f"{name}.ipynb", workdir, _jax_env(tmp_path))
    assert done.returncode == 0, f"{name} failed on JAX:\n{done.stderr[-4000:]}"
    assert "BACKEND jax" in done.stdout, done.stdout[-2000:]
