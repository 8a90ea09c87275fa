"""Skip the Colab copy of a chapter whose data cannot be loaded on this machine.

``make test`` runs nbval on every ``colab/*.ipynb``. A chapter that needs a data set
this machine cannot load (see ``tools/book_source.py``: the anomaly chapter needs
Fashion-MNIST) is skipped with the reason, except under CI, where ``.ci/run``
installs the data and the notebook must run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))
import book_source  # noqa: E402  (tools/ is not a package)


def pytest_collection_modifyitems(config, items):
    if book_source.in_ci():
        return
    needs = {ROOT / "colab" / f"{Path(doc).name}.ipynb": name for doc, name in book_source.NEEDS.items()}
    reasons: dict[Path, str | None] = {}
    for item in items:
        path = Path(str(item.path)).resolve()
        if path not in needs:
            continue
        if path not in reasons:
            reasons[path] = book_source.missing(needs[path])
        if reasons[path] is not None:
            item.add_marker(
                pytest.mark.skip(reason=f"{path.name} needs data this machine cannot load: {reasons[path]}")
            )
