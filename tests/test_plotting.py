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
    fig = plotting.plot_lines(
        [0.1, 0.5, 1.0], {"noisy": [20, 10, 5], "denoised": [25, 18, 12]}, xlabel="noise", ylabel="PSNR (dB)"
    )
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


# ---------------------------------------------------------------- bad input gets a clear ValueError


def test_plot_rows_rejects_too_few_labels():
    with pytest.raises(ValueError, match=r"labels must have at least n=4 entries, one per image shown; got 2"):
        plotting.plot_rows({"input": IMAGES}, n=4, labels=[3, 1])


def test_plot_digits_and_rows_reject_labels_of_the_wrong_shape():
    for bad in (7, "7", np.zeros((12, 1)), [[1, 2], [3]]):
        with pytest.raises(ValueError, match="labels must be a flat sequence"):
            plotting.plot_digits(IMAGES, labels=bad, n=3)
        with pytest.raises(ValueError, match="labels must be a flat sequence"):
            plotting.plot_rows({"input": IMAGES}, n=3, labels=bad)


def test_plot_rows_labels_title_the_first_row():
    fig = plotting.plot_rows({"input": IMAGES, "output": IMAGES}, n=3, labels=np.array([7, 2, 1, 0]))
    assert [ax.get_title() for ax in fig.axes] == ["7", "2", "1", "", "", ""]


def test_plot_digits_rejects_a_bad_ncols():
    for bad in (0, 1.5, True, "5"):
        with pytest.raises(ValueError, match="ncols must be a positive integer"):
            plotting.plot_digits(IMAGES, n=4, ncols=bad)


def test_plot_history_rejects_validation_series_of_another_length():
    hist = {"mse": [0.05, 0.03, 0.02], "val_mse": [0.06, 0.04]}
    with pytest.raises(ValueError, match=r"history 'vanilla'\['val_mse'\] has 2 values but 'vanilla'\['mse'\] has 3"):
        plotting.plot_history({"vanilla": hist})


def test_plot_history_rejects_nan_in_the_validation_series():
    hist = {"mse": [0.05, 0.03, 0.02], "val_mse": [0.06, np.nan, 0.03]}
    with pytest.raises(ValueError, match=r"history 'sparse'\['val_mse'\] must be a non-empty list of finite numbers"):
        plotting.plot_history({"sparse": hist})


def test_plot_history_rejects_non_numeric_series():
    with pytest.raises(ValueError, match=r"history 'x'\['mse'\] must hold real numbers"):
        plotting.plot_history({"x": {"mse": ["0.1", "low"]}})
    with pytest.raises(ValueError, match=r"history 'x'\['val_mse'\] must hold real numbers"):
        plotting.plot_history({"x": {"mse": [0.1, 0.2], "val_mse": [0.1, None]}})


def test_plot_history_rejects_a_history_that_is_not_a_dict():
    class History:  # what model.fit returns; its .history is the dict
        def __init__(self):
            self.history = {"mse": [0.1]}

    for bad in (History(), [0.05, 0.03]):
        with pytest.raises(ValueError, match="history 'vanilla' must be a dict of metric -> per-epoch values"):
            plotting.plot_history({"vanilla": bad})


def _two_clusters():
    emb = RNG.random((20, 2))
    return emb, np.repeat([0, 1], 10)


def test_plot_latent_rejects_string_labels():
    emb, _ = _two_clusters()
    words = np.repeat(["cat", "dog"], 10)
    message = r"labels must be integer class indices 0\.\.k-1; got values such as 'cat' \(dtype <U3\)"
    with pytest.raises(ValueError, match=message):
        plotting.plot_latent({"map": emb}, words)
    # The way the message suggests works:
    names, indices = np.unique(words, return_inverse=True)
    fig = plotting.plot_latent({"map": emb}, indices, class_names=names)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["cat", "dog"]


def test_plot_latent_rejects_negative_fractional_and_boolean_labels():
    emb, labels = _two_clusters()
    with pytest.raises(ValueError, match="negative label -1"):
        plotting.plot_latent({"map": emb}, labels - 1)
    for bad in (labels + 0.5, labels.astype(bool)):
        with pytest.raises(ValueError, match="labels must be integer class indices"):
            plotting.plot_latent({"map": emb}, bad)
    # Whole-number floats are class indices too.
    fig = plotting.plot_latent({"map": emb}, labels.astype(float))
    assert len(fig.axes[0].collections) == 2


def test_plot_latent_needs_a_class_name_per_class():
    emb, labels = _two_clusters()
    with pytest.raises(ValueError, match=r"class_names has 1 names but the labels go up to 1: 2 names are needed"):
        plotting.plot_latent({"map": emb}, labels, class_names=["zero"])
    with pytest.raises(ValueError, match="class_names must be a list of names"):
        plotting.plot_latent({"map": emb}, labels, class_names="zero one")


def test_plot_latent_class_names_are_indexed_by_class():
    """class_names[k] names class k, also when some classes are absent (here only 3 and 7)."""
    emb, labels = _two_clusters()
    names = [f"digit {k}" for k in range(10)]
    fig = plotting.plot_latent({"map": emb}, np.where(labels == 0, 3, 7), class_names=names)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["digit 3", "digit 7"]


def test_plot_latent_rejects_bad_panels_and_ncols():
    emb, labels = _two_clusters()
    with pytest.raises(ValueError, match=r"panel 'a' must be an embedding or an \(embedding, note\) pair"):
        plotting.plot_latent({"a": (emb, "note", "extra")}, labels)
    with pytest.raises(ValueError, match="panel 'a' must hold real numbers"):
        plotting.plot_latent({"a": np.full((20, 2), "x")}, labels)
    for bad in (1.5, 0):
        with pytest.raises(ValueError, match="ncols must be a positive integer"):
            plotting.plot_latent({"a": emb}, labels, ncols=bad)


def test_plot_code_histogram_bounds_bins():
    codes = {"vanilla": RNG.random((10, 64))}
    with pytest.raises(ValueError, match="bins must be at most 1,000; got 10000000"):
        plotting.plot_code_histogram(codes, bins=10**7)
    for bad in (True, 2.5, "50", None):
        with pytest.raises(ValueError, match="bins must be a positive integer"):
            plotting.plot_code_histogram(codes, bins=bad)
    with pytest.raises(ValueError, match="bins must be at least 2; got 1"):
        plotting.plot_code_histogram(codes, bins=1)
    fig = plotting.plot_code_histogram(codes, bins=plotting.MAX_BINS)
    assert len(fig.axes[0].patches) == 1


def test_non_numeric_arrays_are_rejected_by_name():
    words = np.full((5, 4, 4, 2), "a")
    with pytest.raises(ValueError, match="codes of 'vanilla' must hold real numbers"):
        plotting.plot_code_histogram({"vanilla": {"unit": 1.0}})
    with pytest.raises(ValueError, match="codes must hold real numbers"):
        plotting.plot_feature_maps(words)
    with pytest.raises(ValueError, match="codes must hold real numbers"):
        plotting.plot_unit_by_class(words.reshape(5, -1), np.arange(5))
    with pytest.raises(ValueError, match="features must hold real numbers"):
        plotting.embed_2d(words.reshape(5, -1), method="pca")
    with pytest.raises(ValueError, match="x must hold real numbers"):
        plotting.plot_lines(["low", "high"], {"a": [1, 2]}, xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="line 'a' must hold real numbers"):
        plotting.plot_lines([0, 1], {"a": ["1", "2"]}, xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="x must be an array of numbers with one length per axis"):
        plotting.plot_lines([[0, 1], [2]], {"a": [1, 2]}, xlabel="x", ylabel="y")
