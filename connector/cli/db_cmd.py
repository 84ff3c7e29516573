"""Placeholder: filled in by its owner; registers nothing yet."""
from __future__ import annotations


def register(sub) -> None:
    return None
