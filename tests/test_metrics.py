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
    with pytest.raises(ValueError, match="n_components must be a positive integer"):
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


def test_per_image_mse_rejects_bool_chunk():
    x = np.zeros((2, 784), dtype=np.float32)
    for bad in (True, False, 2.0, "64", None):
        with pytest.raises(ValueError, match="chunk must be a positive integer"):
            metrics.per_image_mse(x, x, chunk=bad)


def test_pca_baseline_rejects_bool_n_components():
    x = np.random.default_rng(0).random((10, 784)).astype(np.float32)
    for bad in (True, 2.0, "2", None):
        with pytest.raises(ValueError, match="n_components must be a positive integer"):
            metrics.pca_baseline(x, x, bad)
    with pytest.raises(ValueError, match=r"n_components must be at most 10: PCA finds at most one component per"):
        metrics.pca_baseline(x, x, 11)
    assert metrics.pca_baseline(x, x, np.int64(2))[1].shape == (10, 2)


def test_code_metrics_reject_non_numeric_codes_by_name():
    y = np.repeat([0, 1], 5)
    words = np.full((10, 3), "a")
    with pytest.raises(ValueError, match="codes must hold real numbers"):
        metrics.sparsity(words)
    with pytest.raises(ValueError, match="test_codes must hold real numbers"):
        metrics.knn_accuracy(np.zeros((10, 3)), y, words, y)
    with pytest.raises(ValueError, match="train_codes must be an array of numbers with one length per axis"):
        metrics.linear_probe_accuracy([[0, 1], [2]], y, np.zeros((10, 3)), y)


def test_metric_parameters_are_checked():
    rng = np.random.default_rng(0)
    codes, y = rng.normal(size=(10, 3)), np.repeat([0, 1], 5)
    for bad in ("0.01", None, True, np.nan):
        with pytest.raises(ValueError, match="threshold must be a"):
            metrics.sparsity(codes, threshold=bad)
    with pytest.raises(ValueError, match="k must be a positive integer; got True"):
        metrics.knn_accuracy(codes, y, codes, y, k=True)
    with pytest.raises(ValueError, match="k must be at most the number of training codes, 10; got 11"):
        metrics.knn_accuracy(codes, y, codes, y, k=11)
    with pytest.raises(ValueError, match=r"n_neighbors must be less than half the number of points \(10\); got 5"):
        metrics.trustworthiness(codes, codes[:, :2], n_neighbors=5)
    with pytest.raises(ValueError, match="n_neighbors must be a positive integer"):
        metrics.trustworthiness(codes, codes[:, :2], n_neighbors=1.5)


def test_exact_zero_share_and_hoyer_sparsity_known_values():
    codes = np.array([[0.0, 0.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    assert metrics.exact_zero_share(codes) == pytest.approx(7 / 12)
    # One non-zero value: 1; all equal: 0; all zero: counted as 1.
    assert metrics.hoyer_sparsity(codes[:1]) == pytest.approx(1.0)
    assert metrics.hoyer_sparsity(codes[1:2]) == pytest.approx(0.0)
    assert metrics.hoyer_sparsity(codes[2:]) == pytest.approx(1.0)
    assert metrics.hoyer_sparsity(codes) == pytest.approx(2 / 3)
    half = np.array([[3.0, 3.0, 0.0, 0.0]])  # ||h||_1 / ||h||_2 = sqrt(2)
    assert metrics.hoyer_sparsity(half) == pytest.approx((2 - np.sqrt(2)) / (2 - 1))


def test_scale_free_sparsity_measures_ignore_rescaling():
    """Shrinking a code by c (and growing the decoder by c) changes mean |h|, not these."""
    rng = np.random.default_rng(0)
    codes = np.maximum(rng.normal(size=(50, 16)), 0.0)
    for scale in (1e-3, 0.5, 7.0):
        assert metrics.exact_zero_share(scale * codes) == metrics.exact_zero_share(codes)
        assert metrics.hoyer_sparsity(scale * codes) == pytest.approx(metrics.hoyer_sparsity(codes))
    assert metrics.sparsity(1e-3 * codes)["near_zero"] > metrics.sparsity(codes)["near_zero"]


def test_scale_free_sparsity_measures_check_their_input():
    with pytest.raises(ValueError, match="codes must have at least 2 values"):
        metrics.hoyer_sparsity(np.ones((3, 1)))
    with pytest.raises(ValueError, match="codes must hold real numbers"):
        metrics.exact_zero_share(np.full((2, 3), "a"))
    with pytest.raises(ValueError, match="codes must not contain NaN"):
        metrics.hoyer_sparsity(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"codes must have shape \(n, ...\) with n >= 1"):
        metrics.exact_zero_share(np.zeros((0, 4)))


def test_linear_probe_global_scale_ignores_a_near_constant_unit():
    """Standardising every unit inflates one that barely varies in training (an MNIST border pixel).

    With ``scale="global"`` the codes are divided by one number, so that unit stays small
    and the probe keeps classifying by the informative unit.
    """
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    informative = np.where(y == 1, 1.0, -1.0) + 0.1 * rng.normal(size=100)
    train = np.column_stack([informative, 1e-6 * rng.normal(size=100)])
    test = train.copy()
    test[:, 1] = 0.5  # ink in a pixel that was (almost) always blank, in every test image
    assert metrics.linear_probe_accuracy(train, y, test, y, scale="global") == 1.0
    assert metrics.linear_probe_accuracy(train, y, test, y, scale="none") == 1.0
    # The default, "features", blows that unit up a million times: one class for every image.
    assert metrics.linear_probe_accuracy(train, y, test, y) == 0.5


def test_linear_probe_global_scale_ignores_rotation_and_size():
    """Centring and one overall scale make the probe depend on the codes' geometry only."""
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 40)
    codes = rng.normal(size=(120, 6)) + 1.5 * np.eye(3, 6)[y]
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    base = metrics.linear_probe_accuracy(codes[::2], y[::2], codes[1::2], y[1::2], scale="global")
    turned = 7.0 * codes @ rotation + 3.0
    turned_accuracy = metrics.linear_probe_accuracy(turned[::2], y[::2], turned[1::2], y[1::2], scale="global")
    assert turned_accuracy == pytest.approx(base)


def test_linear_probe_at_equal_dimension():
    """``n_components`` reduces the codes with PCA fitted on the training codes first."""
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 100)
    # The class lives in a direction of small variance: two components keep it, one does not.
    codes = np.column_stack([10.0 * rng.normal(size=200), np.where(y == 1, 3.0, -3.0), np.zeros(200)])
    assert metrics.linear_probe_accuracy(codes, y, codes, y, scale="global", n_components=2) == 1.0
    assert metrics.linear_probe_accuracy(codes, y, codes, y, scale="global", n_components=1) < 0.8
    with pytest.raises(ValueError, match="n_components must be at most 3"):
        metrics.linear_probe_accuracy(codes, y, codes, y, n_components=4)
    with pytest.raises(ValueError, match="n_components must be a positive integer"):
        metrics.linear_probe_accuracy(codes, y, codes, y, n_components=True)
    with pytest.raises(ValueError, match="scale must be 'features', 'global' or 'none'"):
        metrics.linear_probe_accuracy(codes, y, codes, y, scale="standard")


def test_linear_probe_fits_with_one_blas_thread(monkeypatch):
    """The probe's solver runs with one BLAS thread (measured 3-8x faster on 2 cores), then restores them."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    seen, fit = [], LogisticRegression.fit

    def spy(self, *args, **kwargs):
        seen.append(blas_threads())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", spy)
    y = np.repeat([0, 1], 20)
    codes = np.column_stack([np.where(y == 1, 1.0, -1.0), np.zeros(40)])
    with threadpool_limits(limits=2, user_api="blas"):  # two threads, as on a 2-core machine, on any machine
        assert blas_threads() == {2}
        assert metrics.linear_probe_accuracy(codes, y, codes, y) == 1.0
        assert blas_threads() == {2}  # restored afterwards
    assert seen == [{1}]  # numpy's and scipy's BLAS alike, during the fit
