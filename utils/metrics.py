"""Small metrics the chapters report: reconstruction error, PSNR, code sparsity,
and how much class structure a code keeps; plus the PCA baseline.

All image arguments are validated (:func:`utils.data.check_images`): values
in [0, 1], shapes ``(n, 28, 28)``, ``(n, 28, 28, 1)`` or ``(n, 784)``.
"""

from __future__ import annotations

import numpy as np

from . import config
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
    if not (isinstance(chunk, (int, np.integer)) and chunk >= 1):
        raise ValueError(f"chunk must be a positive integer; got {chunk!r}")
    a, b = _pair(x, r)
    out = np.empty(len(a), dtype=np.float64)
    for i in range(0, len(a), chunk):
        d = a[i:i + chunk].astype(np.float64)
        d -= b[i:i + chunk]
        out[i:i + chunk] = np.mean(np.square(d, out=d), axis=1)
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


def _codes(codes) -> np.ndarray:
    c = np.asarray(codes, dtype=np.float64)
    if c.ndim < 2 or c.shape[0] == 0:
        raise ValueError(f"codes must have shape (n, ...) with n >= 1; got {c.shape}")
    c = c.reshape(len(c), -1)
    if not np.all(np.isfinite(c)):
        raise ValueError("codes contain NaN or infinite values")
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
    if not threshold > 0:
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

    a, b = _codes(train_codes), _codes(test_codes)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"train and test codes differ in size: {a.shape[1]} vs {b.shape[1]}")
    clf = KNeighborsClassifier(n_neighbors=k).fit(a, _labels(y_train, len(a), "y_train"))
    return float(clf.score(b, _labels(y_test, len(b), "y_test")))


def linear_probe_accuracy(train_codes, y_train, test_codes, y_test, seed: int = config.SEED) -> float:
    """Accuracy of a logistic-regression probe fitted on standardised ``train_codes``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a, b = _codes(train_codes), _codes(test_codes)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"train and test codes differ in size: {a.shape[1]} vs {b.shape[1]}")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(a, _labels(y_train, len(a), "y_train"))
    return float(clf.score(b, _labels(y_test, len(b), "y_test")))


def pca_baseline(x_train, x_test, n_components: int, seed: int = config.SEED):
    """Fit PCA with ``n_components`` on ``x_train``; return ``(reconstructions, codes, pca)`` for ``x_test``.

    PCA is the best *linear* autoencoder with that code size: the yardstick
    every chapter compares with. Reconstructions are clipped to [0, 1] and
    shaped ``(n, 28, 28)``; codes have shape ``(n, n_components)``.
    """
    from sklearn.decomposition import PCA

    a, b = as_vectors(x_train, name="x_train"), as_vectors(x_test, name="x_test")
    if not (isinstance(n_components, (int, np.integer)) and 1 <= n_components <= min(a.shape)):
        raise ValueError(f"n_components must be an integer in [1, {min(a.shape)}]; got {n_components!r}")
    pca = PCA(n_components=int(n_components), random_state=seed).fit(a)
    codes = pca.transform(b)
    recon = np.clip(pca.inverse_transform(codes), 0.0, 1.0).reshape(-1, 28, 28).astype(np.float32)
    return recon, codes, pca


def trustworthiness(high, low, n_neighbors: int = 10) -> float:
    """How well a 2-D map ``low`` keeps the nearest neighbours of ``high`` (1 = perfectly)."""
    from sklearn.manifold import trustworthiness as _tw

    a, b = _codes(high), _codes(low)
    if len(a) != len(b):
        raise ValueError(f"high and low must hold the same points; got {len(a)} and {len(b)}")
    return float(_tw(a, b, n_neighbors=n_neighbors))
