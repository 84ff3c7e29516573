"""winmail.dat (Microsoft TNEF) unpacked into the files it carries, with tnefparse: Outlook sends
attachments inside it, and an agent cannot open a winmail.dat."""
from __future__ import annotations

import mimetypes

from tnefparse import TNEF

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
# Over this, the file stays packed: unpacking copies it, and honest ones are a few MB.
MAX_TNEF_BYTES = 25 * 1024 * 1024


def is_tnef(content_type: str, filename: str) -> bool:
    return content_type in TNEF_TYPES or filename.lower() == "winmail.dat"


def unpack_tnef(data: bytes) -> tuple[list[tuple[str, str, bytes]], str | None]:
    """([(file name, content type, bytes)], defect or None); no files when it cannot be read, and
    then the winmail.dat itself is what the agent gets."""
    if len(data) > MAX_TNEF_BYTES:
        return [], f"winmail.dat over {MAX_TNEF_BYTES // (1024 * 1024)} MB, kept packed"
    try:
        tnef = TNEF(data, do_checksum=False)
        files = [(_name(a, index), a.data) for index, a in enumerate(tnef.attachments, 1) if a.data]
    except Exception as exc:  # hostile or broken TNEF (tnefparse raises many kinds): keep it packed
        return [], f"winmail.dat could not be unpacked ({type(exc).__name__}), kept packed"
    typed = [(name, mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream", blob)
             for name, blob in files]
    return typed, None


def _name(attachment, index: int) -> str:
    try:
        name = attachment.long_filename()
    except Exception:  # a name in a codepage tnefparse cannot decode
        name = ""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    name = str(name).replace("\x00", "").strip()
    return name or f"attachment{index}"
