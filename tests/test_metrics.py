"""utils.metrics: values on cases with known answers, and bad input."""

import numpy as np
import pytest

from utils import metrics


def test_mse_and_psnr_known_values():
    x = np.zeros((2, 784), dtype=np.float32)
    r = np.full((2, 784), 0.1, dtype=np.float32)
    assert metrics.mse(x, r) == pytest.approx(0.01)
    assert metrics.psnr(x, r) == pytest.approx(20.0)
    assert metrics.psnr(x, x) == pytest.approx(100.0)  # floored, not infinite
    np.testing.assert_allclose(metrics.per_image_mse(x, r), [0.01, 0.01], rtol=1e-6)


def test_mse_rejects_mismatched_or_bad_input():
    with pytest.raises(ValueError, match="same number of images"):
        metrics.mse(np.zeros((2, 784)), np.zeros((3, 784)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.mse(np.zeros((2, 784)), np.full((2, 784), -1.0))


def test_sparsity():
    codes = np.array([[0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0]])
    s = metrics.sparsity(codes)
    assert s["mean_activation"] == pytest.approx(5.0 / 8)
    assert s["near_zero"] == pytest.approx((0.5 + 0.75) / 2)
    assert s["dead_units"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="threshold must be positive"):
        metrics.sparsity(codes, threshold=0)
    with pytest.raises(ValueError, match="NaN"):
        metrics.sparsity(np.array([[np.nan]]))


def test_classifiers_on_separable_codes():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    codes = rng.normal(size=(100, 3)) + 10 * y[:, None]
    assert metrics.knn_accuracy(codes, y, codes, y) == 1.0
    assert metrics.linear_probe_accuracy(codes, y, codes, y) == 1.0
    with pytest.raises(ValueError, match="y_train must have shape"):
        metrics.knn_accuracy(codes, y[:10], codes, y)
    with pytest.raises(ValueError, match="differ in size"):
        metrics.knn_accuracy(codes, y, codes[:, :2], y)


def test_pca_baseline_is_exact_with_enough_components():
    rng = np.random.default_rng(0)
    basis = rng.random((3, 784))
    x = np.clip(rng.random((40, 3)) @ basis / 3, 0, 1).astype(np.float32)
    recon, codes, _ = metrics.pca_baseline(x, x, 3)
    assert recon.shape == (40, 28, 28) and codes.shape == (40, 3)
    assert metrics.mse(x, recon) < 1e-8
    assert metrics.mse(x, metrics.pca_baseline(x, x, 1)[0]) > 1e-4
    with pytest.raises(ValueError, match="n_components must be an integer"):
        metrics.pca_baseline(x, x, 0)


def test_trustworthiness():
    rng = np.random.default_rng(0)
    high = rng.normal(size=(60, 5))
    assert metrics.trustworthiness(high, high[:, :2] * 0 + high[:, :2]) > 0.6
    assert metrics.trustworthiness(high, high[:, :5]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same points"):
        metrics.trustworthiness(high, high[:10])


def test_per_image_mse_in_chunks_matches_the_formula():
    """Chunking (which keeps memory flat on 60,000 images) changes no value."""
    rng = np.random.default_rng(1)
    x, r = rng.random((10, 784), dtype=np.float32), rng.random((10, 784), dtype=np.float32)
    expected = np.mean((x.astype(np.float64) - r) ** 2, axis=1)
    for chunk in (1, 3, 7, 4096):
        np.testing.assert_array_equal(metrics.per_image_mse(x, r, chunk=chunk), expected)
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        metrics.per_image_mse(x, r, chunk=0)
