"""Shared facts about the book for the tests: where it is, its config, its table of contents."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))


def toc_files() -> list[str]:
    """Every file named in _toc.yml, root first, in reading order (without suffix)."""
    files = [TOC["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    walk(TOC.get("chapters"))
    for part in TOC.get("parts", []):
        walk(part.get("chapters"))
    return files
