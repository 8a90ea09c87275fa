"""The course's figures, with one consistent look.

Every function builds a :class:`matplotlib.figure.Figure` (a
:class:`CourseFigure`) without touching pyplot's global state and returns it; in a notebook, leave it as the cell's
last expression to display it (once), and tests can inspect it. Inputs are
validated and bad ones raise :class:`ValueError` that says what was expected.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from . import checks, config
from .checks import positive_int
from .data import as_images

#: Colour map for digits: dark ink on a light page.
DIGIT_CMAP = "gray_r"
#: One colour per model, used in every chapter.
MODEL_COLORS = {
    "vanilla": "#1f77b4",
    "multilayer": "#ff7f0e",
    "convolutional": "#2ca02c",
    "sparse": "#d62728",
    "denoising": "#9467bd",
    "pca": "#7f7f7f",
}
_CYCLE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
#: Most bins :func:`plot_code_histogram` draws: more would only slow the drawing
#: down (ten million bins took minutes) without showing any more on the page.
MAX_BINS = 1000


class CourseFigure(Figure):
    """A Figure that displays itself as a PNG in any notebook front end.

    It is built without pyplot (so it is shown once, not twice, and leaks no
    global state); ``_repr_png_`` lets Jupyter, Colab and the book render it
    whatever Matplotlib backend is active.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=110, facecolor="white")
        return buf.getvalue()


def _figure(width: float, height: float) -> Figure:
    return CourseFigure(figsize=(width, height), dpi=100, layout="constrained")


def _color(name: str, i: int) -> str:
    return MODEL_COLORS.get(str(name).lower(), _CYCLE[i % len(_CYCLE)])


def _count(n, available: int, what: str = "n") -> int:
    """Return ``n`` if it is a positive integer and at most ``available`` images."""
    n = positive_int(n, what)
    if n > available:
        raise ValueError(f"{what}={n} but only {available} images were given")
    return n


def _numbers(values, what: str, dtype=float) -> np.ndarray:
    """``values`` as an array of ``dtype``, or a ValueError naming ``what`` (see :func:`utils.checks.real_array`)."""
    return checks.real_array(values, what, dtype)


def _titles(labels, n: int) -> list[str]:
    """Return the first ``n`` of ``labels`` as strings, to print above ``n`` images."""
    try:
        y = np.asarray(labels)
    except ValueError:  # ragged nested lists, e.g. [[1, 2], [3]]
        raise ValueError("labels must be a flat sequence with one label per image") from None
    if y.ndim != 1:
        raise ValueError(f"labels must be a flat sequence with one label per image; got shape {y.shape}")
    if len(y) < n:
        raise ValueError(f"labels must have at least n={n} entries, one per image shown; got {len(y)}")
    return [str(label) for label in y[:n]]


def _image_axes(ax, image, title=None) -> None:
    ax.imshow(image, cmap=DIGIT_CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        # Digit figures are wide and get scaled down on the page: large type stays readable.
        ax.set_title(str(title), fontsize=13)


def plot_digits(images, labels=None, *, n: int | None = None, ncols: int = 10, title: str | None = None) -> Figure:
    """A grid of digits, optionally titled with their labels.

    Taught in the vanilla chapter.

    Parameters
    ----------
    images:
        Images in [0, 1], shape ``(n, 28, 28)``, ``(n, 28, 28, 1)`` or ``(n, 784)``.
    labels:
        Optional sequence of length n shown above each digit.
    n:
        How many to show (default: all, at most 40).
    """
    imgs = as_images(images, name="images")
    n = _count(min(len(imgs), 40) if n is None else n, len(imgs))
    titles = None if labels is None else _titles(labels, n)
    ncols = min(positive_int(ncols, "ncols"), n)
    nrows = int(np.ceil(n / ncols))
    fig = _figure(1.0 * ncols, 1.1 * nrows + (0.3 if title else 0))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for i, ax in enumerate(axes):
        if i < n:
            _image_axes(ax, imgs[i], None if titles is None else titles[i])
        else:
            ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def plot_rows(rows: Mapping[str, object], *, n: int = 10, labels=None) -> Figure:
    """Rows of images under each other, e.g. originals above reconstructions.

    Taught in the vanilla chapter.

    Parameters
    ----------
    rows:
        Ordered mapping row title -> images; all rows show their first ``n`` images,
        so image i of each row is the same test example.
    n:
        Images per row.
    labels:
        Optional labels printed above the first row: at least ``n`` of them.
    """
    if not isinstance(rows, Mapping) or not rows:
        raise ValueError("rows must be a non-empty mapping of row title -> images")
    arrays = {str(k): as_images(v, name=f"row {k!r}") for k, v in rows.items()}
    n = _count(n, min(len(a) for a in arrays.values()))
    titles = None if labels is None else _titles(labels, n)
    fig = _figure(1.0 * n + 1.2, 1.05 * len(arrays))
    axes = np.asarray(fig.subplots(len(arrays), n)).reshape(len(arrays), n)
    for r, (title, imgs) in enumerate(arrays.items()):
        for c in range(n):
            top = titles[c] if (titles is not None and r == 0) else None
            _image_axes(axes[r, c], imgs[c], top)
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=16)
    return fig


def _epoch_values(values, what: str) -> np.ndarray:
    """Return one history series (one number per epoch) as a float array, checked."""
    arr = _numbers(values, what)
    if arr.ndim != 1 or len(arr) == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be a non-empty list of finite numbers, one per epoch")
    return arr


def plot_history(
    histories: Mapping[str, Mapping[str, Sequence[float]]], *, metric: str = "mse", log: bool = True
) -> Figure:
    """Training curves: ``metric`` per epoch for each run, training solid, validation dashed.

    Taught in the vanilla chapter.

    Parameters
    ----------
    histories:
        Mapping run name -> history dict (``TrainResult.history`` or Keras's
        ``History.history``) holding ``metric`` and optionally ``"val_" + metric``,
        each a list with one finite number per epoch (both of the same length).
    metric:
        Which entry to plot (``"mse"``, ``"loss"``, ...).
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a non-empty mapping of run name -> history dict")
    fig = _figure(6.4, 3.6)
    ax = fig.subplots()
    for i, (name, hist) in enumerate(histories.items()):
        if not isinstance(hist, Mapping):
            raise ValueError(
                f"history {name!r} must be a dict of metric -> per-epoch values (TrainResult.history, "
                f"or the .history of the History that model.fit returns); got {type(hist).__name__}"
            )
        if metric not in hist:
            raise ValueError(f"history {name!r} has no {metric!r}; it has {sorted(hist)}")
        values = _epoch_values(hist[metric], f"history {name!r}[{metric!r}]")
        epochs = np.arange(1, len(values) + 1)
        color = _color(name, i)
        ax.plot(epochs, values, color=color, lw=2, marker="o", ms=3, label=f"{name} (training)")
        val_key = f"val_{metric}"
        if val_key in hist:
            val = _epoch_values(hist[val_key], f"history {name!r}[{val_key!r}]")
            if len(val) != len(values):
                raise ValueError(
                    f"history {name!r}[{val_key!r}] has {len(val)} values but {name!r}[{metric!r}] "
                    f"has {len(values)}: both need one value per epoch"
                )
            ax.plot(epochs, val, color=color, lw=2, ls="--", label=f"{name} (test)")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(metric.upper() if metric == "mse" else metric)
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    return fig


def plot_lines(x, ys: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str) -> Figure:
    """Simple line chart: one line per entry of ``ys`` against ``x`` (e.g. PSNR against noise).

    Taught in the sparse chapter.
    """
    xs = _numbers(x, "x")
    if xs.ndim != 1 or len(xs) < 2:
        raise ValueError(f"x must be a 1-D sequence of at least 2 numbers; got shape {xs.shape}")
    if not isinstance(ys, Mapping) or not ys:
        raise ValueError("ys must be a non-empty mapping of line name -> values")
    fig = _figure(6.0, 3.6)
    ax = fig.subplots()
    for i, (name, vals) in enumerate(ys.items()):
        v = _numbers(vals, f"line {name!r}")
        if v.shape != xs.shape:
            raise ValueError(f"line {name!r} has {v.shape} values; expected {xs.shape} to match x")
        ax.plot(xs, v, marker="o", lw=2, color=_color(name, i), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    return fig


def plot_code_histogram(codes: Mapping[str, object], *, bins: int = 50) -> Figure:
    """Histogram of code activations (all units, all images) for each model, log-count axis.

    Taught in the sparse chapter.

    ``bins`` equal-width bins (2 to :data:`MAX_BINS`) span the values of all models.
    """
    if not isinstance(codes, Mapping) or not codes:
        raise ValueError("codes must be a non-empty mapping of model name -> code array")
    bins = positive_int(bins, "bins", maximum=MAX_BINS)
    if bins < 2:
        raise ValueError(f"bins must be at least 2; got {bins}")
    flat = {}
    for name, c in codes.items():
        arr = _numbers(c, f"codes of {name!r}").ravel()
        if arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(f"codes of {name!r} must be a non-empty array of finite numbers")
        flat[str(name)] = arr
    hi = max(float(a.max()) for a in flat.values())
    lo = min(0.0, min(float(a.min()) for a in flat.values()))
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    fig = _figure(6.4, 3.6)
    ax = fig.subplots()
    for i, (name, arr) in enumerate(flat.items()):
        ax.hist(arr, bins=edges, histtype="step", lw=2, color=_color(name, i), label=name)
    ax.set_yscale("log")
    ax.set_xlabel("code activation $h_j$")
    ax.set_ylabel("count (all units, all test images)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    return fig


def plot_unit_by_class(codes, labels, *, title: str | None = None) -> Figure:
    """Heat map of the mean activation of each code unit (columns) for each class (rows).

    Taught in the sparse chapter.
    """
    c = _numbers(codes, "codes")
    y = np.asarray(labels)
    if c.ndim != 2 or c.shape[0] == 0:
        raise ValueError(f"codes must have shape (n, units); got {c.shape}")
    if y.shape != (c.shape[0],):
        raise ValueError(f"labels must have shape ({c.shape[0]},); got {y.shape}")
    classes = np.unique(y)
    table = np.stack([c[y == k].mean(axis=0) for k in classes])
    fig = _figure(8.0, 3.2)
    ax = fig.subplots()
    im = ax.imshow(table, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(classes)), [str(k) for k in classes])
    ax.set_xlabel("code unit")
    ax.set_ylabel("class")
    fig.colorbar(im, ax=ax, label="mean activation")
    if title:
        ax.set_title(title)
    return fig


def embed_2d(features, *, method: str = "umap", seed: int = config.SEED) -> np.ndarray:
    """Project ``features`` ``(n, d)`` to 2-D with ``"pca"`` or ``"umap"`` (seeded).

    Taught in the summary chapter.
    """
    f = _numbers(features, "features", dtype=np.float32)
    if f.ndim < 2 or len(f) < 5:
        raise ValueError(f"features must have shape (n, ...) with n >= 5; got {f.shape}")
    f = f.reshape(len(f), -1)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(f)
    if method == "umap":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # umap warns that a seed disables parallelism
            import umap

            reducer = umap.UMAP(n_components=2, random_state=seed, n_neighbors=15, min_dist=0.1)
            return reducer.fit_transform(f)
    raise ValueError(f"method must be 'pca' or 'umap'; got {method!r}")


def _class_indices(labels) -> np.ndarray:
    """Return ``labels`` as an int array if they are class indices 0, 1, 2, ...; else raise ValueError.

    Whole-number floats (``3.0``) are accepted; strings, booleans, negative or
    fractional values are not: they cannot pick a colour and a class name.
    """
    try:
        y = np.asarray(labels)
    except ValueError:  # ragged nested lists
        raise ValueError("labels must be a flat sequence of integer class indices") from None
    whole = np.issubdtype(y.dtype, np.integer) or (
        np.issubdtype(y.dtype, np.floating) and bool(np.all(np.mod(y, 1) == 0))
    )
    if not whole:
        example = f" such as {y.ravel()[0].item()!r}" if y.size else ""
        raise ValueError(
            f"labels must be integer class indices 0..k-1; got values{example} (dtype {y.dtype}). "
            "For other labels, such as strings, number the classes first: names, indices = "
            "np.unique(labels, return_inverse=True), then plot_latent(panels, indices, class_names=names)"
        )
    if y.size and y.min() < 0:
        raise ValueError(f"labels must be class indices 0..k-1; got the negative label {y.min()}")
    return y.astype(int)


def plot_latent(panels: Mapping[str, tuple], labels, *, ncols: int = 3, class_names=None) -> Figure:
    """Scatter plots of 2-D embeddings coloured by label, one panel per entry.

    Taught in the summary chapter.

    Parameters
    ----------
    panels:
        Mapping panel title -> ``embedding`` ``(n, 2)`` or ``(embedding, note)``
        where ``note`` is a short string (e.g. a score) printed in the panel.
    labels:
        Integer class index of each point (0, 1, 2, ...), shape ``(n,)``.
    ncols:
        Panels per row (at most the number of panels).
    class_names:
        Optional legend names, indexed by class: ``class_names[k]`` names class
        ``k``, so it needs an entry for every class up to the largest label.
        Default: the label values.
    """
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty mapping of title -> 2-D embedding")
    y = _class_indices(labels)
    classes = np.unique(y)
    if class_names is None:
        names = {k: str(k) for k in classes}
    else:
        if isinstance(class_names, str) or not np.iterable(class_names):
            raise ValueError(f"class_names must be a list of names, one per class; got {class_names!r}")
        class_names = list(class_names)
        needed = int(classes.max()) + 1 if len(classes) else 0
        if len(class_names) < needed:
            raise ValueError(
                f"class_names has {len(class_names)} names but the labels go up to {needed - 1}: "
                f"{needed} names are needed, one for each class 0..{needed - 1}"
            )
        names = {k: str(class_names[k]) for k in classes}
    n_panels = len(panels)
    ncols = min(positive_int(ncols, "ncols"), n_panels)
    nrows = int(np.ceil(n_panels / ncols))
    fig = _figure(3.3 * ncols + 1.2, 3.1 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    cmap = matplotlib.colormaps["tab10"]
    for ax, (title, value) in zip(axes, panels.items()):
        if isinstance(value, tuple) and len(value) != 2:
            raise ValueError(
                f"panel {title!r} must be an embedding or an (embedding, note) pair; got a tuple of {len(value)} items"
            )
        emb, note = value if isinstance(value, tuple) else (value, None)
        emb = _numbers(emb, f"panel {title!r}")
        if emb.ndim != 2 or emb.shape[1] != 2:
            raise ValueError(f"panel {title!r} must be an (n, 2) embedding; got {emb.shape}")
        if y.shape != (len(emb),):
            raise ValueError(f"labels must have shape ({len(emb)},) to match panel {title!r}; got {y.shape}")
        for k in classes:
            m = y == k
            ax.scatter(emb[m, 0], emb[m, 1], s=3, color=cmap(k % 10), alpha=0.7, linewidths=0)
        ax.set_title(str(title), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        if note:
            ax.text(
                0.02,
                0.02,
                note,
                transform=ax.transAxes,
                fontsize=8,
                bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"),
            )
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker="o", ls="", color=cmap(k % 10), label=names[k]) for k in classes]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, title="class")
    return fig


def plot_feature_maps(codes, *, n: int = 6, title: str | None = None) -> Figure:
    """Show convolutional codes as small images: one row per example, one panel per channel.

    Taught in the convolutional chapter.

    Parameters
    ----------
    codes:
        Array ``(n_examples, height, width, channels)``, e.g. the 4x4x8 codes of the
        convolutional autoencoder. Each channel is drawn with its own colour scale
        starting at 0 (the codes come from ReLUs).
    n:
        How many examples (rows) to show.
    """
    c = _numbers(codes, "codes")
    if c.ndim != 4 or c.shape[0] == 0:
        raise ValueError(f"codes must have shape (n, height, width, channels); got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("codes contain NaN or infinite values")
    n = _count(n, len(c))
    channels = c.shape[3]
    fig = _figure(0.9 * channels + 0.8, 0.95 * n + 0.4)
    axes = np.asarray(fig.subplots(n, channels)).reshape(n, channels)
    top = c[:n].max(axis=(0, 1, 2))
    for i in range(n):
        for k in range(channels):
            ax = axes[i, k]
            ax.imshow(
                c[i, :, :, k], cmap="magma", vmin=0.0, vmax=top[k] if top[k] > 0 else 1.0, interpolation="nearest"
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"ch {k}", fontsize=8)
        axes[i, 0].set_ylabel(f"#{i}", rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
