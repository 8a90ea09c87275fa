"""``tools/build_book.py`` and ``tools/parallel_safe.py``: the quick book is read by two processes.

Sphinx reads pages in parallel only when every extension it loads says that this is
safe; otherwise it reads them one after another. These tests stop the real build
just where Sphinx decides, so they take seconds and execute no chapter.
"""

from __future__ import annotations

import sys

import pytest
import sphinx.application
from _book import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import build_book  # noqa: E402  (tools/ is not a package)


class _Decided(BaseException):
    """Raised by the spy once Sphinx has decided how to read; ends the build there (a BaseException,
    so that no handler of jupyter-book or Sphinx turns it into a failed build)."""


def _decision(monkeypatch, tmp_path, jobs: int) -> dict:
    seen = {}
    original = sphinx.application.Sphinx.is_parallel_allowed

    def spy(self, typ):
        seen["parallel"] = self.parallel
        seen[typ] = original(self, typ)
        seen["undeclared"] = sorted(
            ext.name for ext in self.extensions.values() if getattr(ext, "parallel_read_safe", None) is None
        )
        raise _Decided

    monkeypatch.setattr(sphinx.application.Sphinx, "is_parallel_allowed", spy)
    with pytest.raises(_Decided):
        build_book.main(["--jobs", str(jobs), str(ROOT), "--path-output", str(tmp_path), "-W", "-q"])
    return seen


def test_the_book_is_read_by_two_processes(monkeypatch, tmp_path):
    """--jobs reaches Sphinx, and no extension keeps it from reading in parallel: without
    tools/parallel_safe.py three extensions would be listed as undeclared here."""
    seen = _decision(monkeypatch, tmp_path, jobs=2)
    assert seen.get("parallel") == 2, seen
    assert seen.get("read") is True and seen["undeclared"] == [], seen


def test_jobs_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_book.main(["--jobs", "0", str(ROOT)])
    assert exit_.value.code == 2 and "--jobs must be at least 1; got 0" in capsys.readouterr().err
