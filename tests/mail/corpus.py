"""Where the shared mail corpora live for these tests, and a clean skip when they are absent."""
from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def corpus_files(folder: str, pattern: str = "*.eml") -> list[Path]:
    """Files for parametrisation; empty (so tests are reported skipped) when the corpus is absent."""
    base = CORPUS / folder
    return sorted(base.glob(pattern)) if base.is_dir() else []


def require(folder: str) -> Path:
    base = CORPUS / folder
    if not base.is_dir():
        pytest.skip(f"mail corpus not present at {base}")
    return base
