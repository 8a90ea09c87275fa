"""utils.plotting: each helper returns a Figure with the expected content, and rejects bad input."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from utils import plotting

RNG = np.random.default_rng(0)
IMAGES = RNG.random((12, 28, 28)).astype(np.float32)


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_plot_digits_grid_and_labels():
    fig = plotting.plot_digits(IMAGES, labels=list(range(12)), n=12, ncols=5)
    assert isinstance(fig, Figure)
    axes = _visible_axes(fig)
    assert len(axes) == 12
    assert [ax.get_title() for ax in axes[:3]] == ["0", "1", "2"]
    shown = axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, IMAGES[0])
    assert axes[0].images[0].get_cmap().name == plotting.DIGIT_CMAP


def test_plot_digits_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plotting.plot_digits(IMAGES * 255)
    with pytest.raises(ValueError, match="n=20 but only 12 images"):
        plotting.plot_digits(IMAGES, n=20)
    with pytest.raises(ValueError, match="labels must have at least"):
        plotting.plot_digits(IMAGES, labels=[1, 2], n=5)


def test_plot_rows_aligns_examples():
    fig = plotting.plot_rows({"input": IMAGES, "output": 1 - IMAGES}, n=4)
    axes = fig.axes
    assert len(axes) == 8
    assert axes[0].get_ylabel() == "input" and axes[4].get_ylabel() == "output"
    np.testing.assert_allclose(axes[5].images[0].get_array(), 1 - IMAGES[1])
    with pytest.raises(ValueError, match="non-empty mapping"):
        plotting.plot_rows({})
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_rows({"bad": np.zeros((3, 10))})


def test_plot_history_draws_train_and_validation():
    hist = {"mse": [0.05, 0.03, 0.02], "val_mse": [0.06, 0.04, 0.03]}
    fig = plotting.plot_history({"vanilla": hist, "sparse": {"mse": [0.1, 0.05, 0.04]}})
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[1].get_ydata(), hist["val_mse"])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"
    assert ax.lines[0].get_color() == plotting.MODEL_COLORS["vanilla"]
    with pytest.raises(ValueError, match="has no 'mse'"):
        plotting.plot_history({"x": {"loss": [1.0]}})
    with pytest.raises(ValueError, match="finite"):
        plotting.plot_history({"x": {"mse": [np.nan]}})


def test_plot_lines_and_histogram():
    fig = plotting.plot_lines([0.1, 0.5, 1.0], {"noisy": [20, 10, 5], "denoised": [25, 18, 12]},
                              xlabel="noise", ylabel="PSNR (dB)")
    assert [line.get_label() for line in fig.axes[0].lines] == ["noisy", "denoised"]
    with pytest.raises(ValueError, match="expected"):
        plotting.plot_lines([0, 1], {"a": [1, 2, 3]}, xlabel="x", ylabel="y")
    fig = plotting.plot_code_histogram({"vanilla": RNG.random((10, 64)), "sparse": np.zeros((10, 64))})
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].patches) == 2
    with pytest.raises(ValueError, match="finite"):
        plotting.plot_code_histogram({"x": np.array([np.inf])})


def test_unit_by_class_and_feature_maps():
    codes = np.zeros((20, 8))
    labels = np.repeat(np.arange(4), 5)
    codes[labels == 2, 3] = 1.0
    fig = plotting.plot_unit_by_class(codes, labels)
    table = fig.axes[0].images[0].get_array()
    assert table.shape == (4, 8) and table[2, 3] == 1.0 and table.sum() == 1.0
    with pytest.raises(ValueError, match="labels must have shape"):
        plotting.plot_unit_by_class(codes, labels[:3])
    fig = plotting.plot_feature_maps(RNG.random((5, 4, 4, 8)), n=3)
    assert len(fig.axes) == 24
    with pytest.raises(ValueError, match=r"\(n, height, width, channels\)"):
        plotting.plot_feature_maps(RNG.random((5, 16)))


def test_embed_and_plot_latent():
    feats = RNG.random((60, 10))
    labels = np.repeat(np.arange(3), 20)
    emb = plotting.embed_2d(feats, method="pca")
    assert emb.shape == (60, 2)
    fig = plotting.plot_latent({"PCA": (emb, "kNN 0.9"), "again": emb}, labels, ncols=2)
    axes = _visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["PCA", "again"]
    assert len(axes[0].collections) == 3 and axes[0].texts[0].get_text() == "kNN 0.9"
    with pytest.raises(ValueError, match="method must be"):
        plotting.embed_2d(feats, method="tsne")
    with pytest.raises(ValueError, match=r"\(n, 2\) embedding"):
        plotting.plot_latent({"bad": feats}, labels)


def test_umap_embedding_is_seeded():
    feats = RNG.random((80, 6)).astype(np.float32)
    a = plotting.embed_2d(feats, method="umap", seed=1)
    b = plotting.embed_2d(feats, method="umap", seed=1)
    assert a.shape == (80, 2)
    np.testing.assert_allclose(a, b)


def test_figures_render_as_png_without_pyplot():
    fig = plotting.plot_digits(IMAGES, n=3)
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_history_ticks_are_whole_epochs():
    fig = plotting.plot_history({"vanilla": {"mse": [0.05, 0.03, 0.02]}})
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)
