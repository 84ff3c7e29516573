"""File names and content types, by Python's own table only: the module-level mimetypes functions
also read the host's /etc/mime.types, so names made up here would differ from machine to machine."""
from __future__ import annotations

import functools
import mimetypes


@functools.cache
def _table() -> mimetypes.MimeTypes:
    return mimetypes.MimeTypes(filenames=())


def type_of(name: str) -> str:
    return _table().guess_type(name, strict=False)[0] or "application/octet-stream"


def extension_of(content_type: str) -> str:
    """".jpg" for image/jpeg (not ".jpe"), "" when the table knows none."""
    ext = _table().guess_extension(content_type, strict=False) or ""
    return ".jpg" if ext in (".jpe", ".jpeg") else ext
