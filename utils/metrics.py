"""Small metrics the chapters report: reconstruction error, PSNR, code sparsity,
how much class structure a code keeps, and how much a code moves when its input
moves (the encoder's Jacobian); plus the PCA baseline.

All image arguments are validated (:func:`utils.data.check_images`): values
in [0, 1], shapes ``(n, 28, 28)``, ``(n, 28, 28, 1)`` or ``(n, 784)``.
"""

from __future__ import annotations

import numpy as np

from . import checks, config
from .checks import finite_number, positive_int
from .data import as_vectors


def _pair(x, r) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_vectors(x, name="x"), as_vectors(r, name="reconstruction")
    if a.shape != b.shape:
        raise ValueError(f"x and reconstruction must hold the same number of images; got {len(a)} and {len(b)}")
    return a, b


def per_image_mse(x, r, *, chunk: int = 4096) -> np.ndarray:
    """Mean squared error of each image, shape ``(n,)``.

    Computed in float64, ``chunk`` images at a time: on 60,000 images a single
    float64 difference array would take 376 MB, and its square as much again.
    """
    chunk = positive_int(chunk, "chunk")
    a, b = _pair(x, r)
    out = np.empty(len(a), dtype=np.float64)
    for i in range(0, len(a), chunk):
        d = a[i : i + chunk].astype(np.float64)
        d -= b[i : i + chunk]
        out[i : i + chunk] = np.mean(np.square(d, out=d), axis=1)
    return out


def mse(x, r) -> float:
    """Mean squared error over all pixels of all images (what Keras's ``loss="mse"`` measures)."""
    return float(np.mean(per_image_mse(x, r)))


def psnr(x, r) -> float:
    """Mean peak signal-to-noise ratio in dB, per image ``10 log10(1 / MSE)`` (peak value 1).

    A perfect reconstruction would be infinite; its MSE is floored at 1e-10 (100 dB).
    """
    err = np.maximum(per_image_mse(x, r), 1e-10)
    return float(np.mean(10.0 * np.log10(1.0 / err)))


def _codes(codes, name: str = "codes") -> np.ndarray:
    """Return codes as a float64 array ``(n, units)``, checked: numbers, n >= 1, all finite."""
    c = checks.real_array(codes, name, np.float64)
    if c.ndim < 2 or c.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, ...) with n >= 1; got {c.shape}")
    c = c.reshape(len(c), -1)
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return c


def sparsity(codes, threshold: float = 1e-2) -> dict[str, float]:
    """Summarise how sparse a set of codes is.

    Parameters
    ----------
    codes:
        Array ``(n, ...)`` of code activations, one row per image.
    threshold:
        A unit counts as *near zero* when ``|h| < threshold``.

    Returns
    -------
    dict
        ``mean_activation`` (mean of ``|h|``), ``near_zero`` (mean fraction
        of units near zero per image), ``dead_units`` (fraction of units near
        zero for every image).
    """
    if finite_number(threshold, "threshold") <= 0:
        raise ValueError(f"threshold must be positive; got {threshold}")
    c = np.abs(_codes(codes))
    small = c < threshold
    return {
        "mean_activation": float(c.mean()),
        "near_zero": float(small.mean(axis=1).mean()),
        "dead_units": float(small.all(axis=0).mean()),
    }


def _labels(y, n: int, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the codes; got {y.shape}")
    return y


def knn_accuracy(train_codes, y_train, test_codes, y_test, k: int = 5) -> float:
    """Accuracy of a k-nearest-neighbour classifier fitted on ``train_codes``."""
    from sklearn.neighbors import KNeighborsClassifier

    a, b = _codes(train_codes, "train_codes"), _codes(test_codes, "test_codes")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"train and test codes differ in size: {a.shape[1]} vs {b.shape[1]}")
    k = positive_int(k, "k")
    if k > len(a):
        raise ValueError(f"k must be at most the number of training codes, {len(a)}; got {k}")
    clf = KNeighborsClassifier(n_neighbors=k).fit(a, _labels(y_train, len(a), "y_train"))
    return float(clf.score(b, _labels(y_test, len(b), "y_test")))


def linear_probe_accuracy(
    train_codes,
    y_train,
    test_codes,
    y_test,
    seed: int = config.SEED,
    *,
    scale: str = "features",
    n_components: int | None = None,
) -> float:
    """Accuracy of a logistic-regression probe fitted on ``train_codes``, scored on ``test_codes``.

    Parameters
    ----------
    scale:
        How the codes are scaled before the probe, with statistics of ``train_codes``:
        ``"features"`` (the default) standardises every unit to variance 1, which
        also inflates near-constant units, such as the border pixels of MNIST or a
        ReLU unit that is almost always 0; ``"global"`` centres the codes and divides
        them all by one number, the square root of the mean variance of the units,
        so the units keep their relative sizes; ``"none"`` leaves them as they are.
    n_components:
        If given, PCA fitted on ``train_codes`` first reduces both sets of codes to
        this many dimensions, so that codes of different widths are probed at
        equal dimension.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    a, b = _codes(train_codes, "train_codes"), _codes(test_codes, "test_codes")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"train and test codes differ in size: {a.shape[1]} vs {b.shape[1]}")
    if scale not in ("features", "global", "none"):
        raise ValueError(f"scale must be 'features', 'global' or 'none'; got {scale!r}")
    if n_components is not None:
        n_components = positive_int(n_components, "n_components", maximum=min(a.shape))
        pca = PCA(n_components=n_components, random_state=seed).fit(a)
        a, b = pca.transform(a), pca.transform(b)
    if scale == "features":
        scaler = StandardScaler().fit(a)
        a, b = scaler.transform(a), scaler.transform(b)
    elif scale == "global":
        mean = a.mean(axis=0)
        spread = float(np.sqrt(a.var(axis=0).mean())) or 1.0  # constant codes are only centred
        a, b = (a - mean) / spread, (b - mean) / spread
    # One BLAS thread: the solver's many small matrix products ran 3-8 times faster on 4,000-10,000
    # codes than with a thread per core on a 2-core machine (after TensorFlow had trained in the
    # same process), and the result no longer depends on the machine's thread count.
    with threadpool_limits(limits=1, user_api="blas"):
        clf = LogisticRegression(max_iter=2000, random_state=seed).fit(a, _labels(y_train, len(a), "y_train"))
    return float(clf.score(b, _labels(y_test, len(b), "y_test")))


def pca_baseline(x_train, x_test, n_components: int, seed: int = config.SEED):
    """Fit PCA with ``n_components`` on ``x_train``; return ``(reconstructions, codes, pca)`` for ``x_test``.

    PCA is the best *linear* autoencoder with that code size: the yardstick
    every chapter compares with. Reconstructions are clipped to [0, 1] and
    shaped ``(n, 28, 28)``; codes have shape ``(n, n_components)``.
    """
    from sklearn.decomposition import PCA

    a, b = as_vectors(x_train, name="x_train"), as_vectors(x_test, name="x_test")
    n_components = positive_int(n_components, "n_components")
    if n_components > min(a.shape):
        raise ValueError(
            f"n_components must be at most {min(a.shape)}: PCA finds at most one component per training "
            f"image ({len(a)}) and per pixel (784); got {n_components}"
        )
    pca = PCA(n_components=n_components, random_state=seed).fit(a)
    codes = pca.transform(b)
    recon = np.clip(pca.inverse_transform(codes), 0.0, 1.0).reshape(-1, 28, 28).astype(np.float32)
    return recon, codes, pca


def trustworthiness(high, low, n_neighbors: int = 10) -> float:
    """How well a 2-D map ``low`` keeps the nearest neighbours of ``high`` (1 = perfectly)."""
    from sklearn.manifold import trustworthiness as _tw

    a, b = _codes(high, "high"), _codes(low, "low")
    if len(a) != len(b):
        raise ValueError(f"high and low must hold the same points; got {len(a)} and {len(b)}")
    n_neighbors = positive_int(n_neighbors, "n_neighbors")
    if n_neighbors >= len(a) / 2:
        raise ValueError(f"n_neighbors must be less than half the number of points ({len(a)}); got {n_neighbors}")
    return float(_tw(a, b, n_neighbors=n_neighbors))


def exact_zero_share(codes) -> float:
    """Share of all code values (every unit of every image) that are exactly 0.

    A ReLU unit is silent, exactly 0, when its input is negative. Unlike the mean
    of ``|h|`` or a threshold such as ``|h| < 0.01`` (:func:`sparsity`), this share
    does not change when the code is multiplied by a positive number, so a model
    cannot improve it by shrinking its code and growing its decoder's weights.
    """
    return float(np.mean(_codes(codes) == 0.0))


def hoyer_sparsity(codes) -> float:
    """Hoyer's (2004) sparseness of each code, averaged over the images.

    For a code ``h`` of ``n`` values it is ``(sqrt(n) - ||h||_1 / ||h||_2) / (sqrt(n) - 1)``:
    0 when all ``n`` values have the same size, 1 when only one is non-zero. It does
    not change when ``h`` is multiplied by a positive number. A code that is zero
    everywhere has no ratio; it counts as 1 (no active unit at all). Codes need at
    least two values.
    """
    c = _codes(codes)
    n = c.shape[1]
    if n < 2:
        raise ValueError(f"codes must have at least 2 values each for Hoyer's sparseness; got {n}")
    l1 = np.abs(c).sum(axis=1)
    l2 = np.sqrt(np.square(c).sum(axis=1))
    ratio = np.divide(l1, l2, out=np.ones_like(l1), where=l2 > 0)  # an all-zero code: ratio 1, sparseness 1
    return float(np.mean((np.sqrt(n) - ratio) / (np.sqrt(n) - 1.0)))


def jacobian(encoder, x) -> np.ndarray:
    """The Jacobian ``dh/dx`` of ``encoder`` at each image, by automatic differentiation: ``(n, code, 784)``.

    Taught in the contractive chapter, which checks its closed form against it.
    The model's layers are backend-agnostic; differentiating a function is not
    part of ``keras.ops``, so this helper asks the backend itself: TensorFlow's
    ``GradientTape.batch_jacobian`` or JAX's ``jax.jacrev``. ``x`` should be a
    few images (the result holds ``code x 784`` numbers per image).
    """
    import keras

    from .training import _inputs_for

    xi = _inputs_for(encoder, x)
    n = len(xi)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.convert_to_tensor(xi)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            h = tf.reshape(encoder(xt, training=False), (n, -1))
        jac = tape.batch_jacobian(h, xt).numpy()
    elif backend == "jax":
        import jax

        def one(image):
            return encoder(image[None], training=False).reshape(-1)

        jac = np.asarray(jax.vmap(jax.jacrev(one))(jax.numpy.asarray(xi)))
    else:
        raise NotImplementedError(f"jacobian supports the tensorflow and jax backends; Keras runs on {backend!r}")
    return jac.reshape(n, jac.shape[1], 784).astype(np.float64)


def contraction_ratio(encoder, x, radius: float = 0.1, seed: int = config.SEED) -> np.ndarray:
    """How far each code moves per unit of input change: ``||f(x + d) - f(x)|| / ||d||``, shape ``(n,)``.

    Taught in the contractive chapter. ``d`` is a random direction of length
    ``radius`` (Euclidean, over the 784 pixels), one per image, drawn from a
    NumPy generator seeded with ``seed``. For a small radius the mean of the
    squared ratio approaches ``||J||_F^2 / 784``; a contractive code moves less.
    The perturbed images are not clipped to [0, 1]: ``d`` must stay exactly ``d``.
    """
    from .training import _inputs_for, _predict

    radius = finite_number(radius, "radius")
    if radius <= 0:
        raise ValueError(f"radius must be positive; got {radius}")
    xi = _inputs_for(encoder, x)
    rng = np.random.default_rng(checks.non_negative_int(seed, "seed"))
    d = rng.standard_normal(xi.shape).astype(np.float32)
    d *= radius / np.sqrt(np.sum(np.square(d.reshape(len(d), -1)), axis=1)).reshape(-1, *[1] * (d.ndim - 1))
    moved = _predict(encoder, xi + d) - _predict(encoder, xi)
    return np.sqrt(np.sum(np.square(moved.reshape(len(moved), -1).astype(np.float64)), axis=1)) / radius


def _scores(values, name: str) -> np.ndarray:
    """Anomaly scores as a float64 array ``(n,)``, checked: one number per example, n >= 1, all finite.

    Taught in the anomaly chapter, through :func:`roc_auc` and :func:`detection_rates`.
    """
    s = checks.real_array(values, name, np.float64)
    if s.ndim != 1 or len(s) == 0:
        raise ValueError(f"{name} must be a 1-D array with one score per example (n >= 1); got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return s


def roc_auc(normal_scores, anomalous_scores) -> float:
    """Area under the ROC curve of a detector that flags high scores as anomalous.

    Taught in the anomaly chapter. It equals the chance that a randomly drawn
    anomalous example scores higher than a randomly drawn normal one, a tie
    counting half: 1 separates the two sets perfectly, 0.5 is no better than
    chance, below 0.5 the score ranks them the wrong way round. Computed from
    the ranks of all scores together (the Mann-Whitney U statistic divided by
    the number of pairs), with tied scores given their average rank; it gives
    the same value as ``sklearn.metrics.roc_auc_score`` with the anomalous
    examples labelled 1.
    """
    from scipy.stats import rankdata

    normal, anomalous = _scores(normal_scores, "normal_scores"), _scores(anomalous_scores, "anomalous_scores")
    ranks = rankdata(np.concatenate([normal, anomalous]))  # 1 = lowest; ties share their average rank
    n_a = len(anomalous)
    u = ranks[len(normal) :].sum() - n_a * (n_a + 1) / 2.0  # pairs where the anomalous example scores higher
    return float(u / (len(normal) * n_a))


def detection_rates(normal_scores, anomalous_scores, threshold: float) -> dict:
    """Flag every score strictly above ``threshold``; return how well that separates the two sets.

    Taught in the anomaly chapter. The anomalous examples are the positives.

    Returns
    -------
    dict
        ``precision``: the share of flagged examples that are anomalous (NaN when
        nothing is flagged); ``recall``: the share of anomalous examples flagged;
        ``false_alarm``: the share of normal examples flagged (the false-positive
        rate); ``flagged``: how many examples were flagged, normal and anomalous together.
    """
    normal, anomalous = _scores(normal_scores, "normal_scores"), _scores(anomalous_scores, "anomalous_scores")
    threshold = finite_number(threshold, "threshold")
    true_pos, false_pos = int(np.sum(anomalous > threshold)), int(np.sum(normal > threshold))
    flagged = true_pos + false_pos
    return {
        "precision": true_pos / flagged if flagged else float("nan"),
        "recall": true_pos / len(anomalous),
        "false_alarm": false_pos / len(normal),
        "flagged": flagged,
    }
