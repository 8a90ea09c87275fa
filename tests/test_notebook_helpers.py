"""utils.notebook: Colab detection (the Colab copies' prose() is tested in test_readers.py)."""

from utils.notebook import in_colab


def test_colab_detection():
    assert in_colab() is False
