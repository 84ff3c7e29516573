"""Attachment bytes on disk, content-addressed so identical files are stored once, readable by us alone."""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path


def attachment_path(sha256: str) -> str:
    """Where a file with this digest lives, relative to the attachments directory."""
    return f"{sha256[:2]}/{sha256}"


def write_attachment(attachments_dir: Path, payload: bytes) -> tuple[str, str]:
    """Store `payload` unless already present; returns (sha256, relative path).

    The digest is computed here rather than trusted from the caller: the file name is a claim
    about the content, and it also keeps any caller-supplied text out of the path.
    """
    sha256 = hashlib.sha256(payload).hexdigest()
    relative = attachment_path(sha256)
    target = attachments_dir / relative
    if not target.exists():
        # Attachments are mail content: 0700 directories and 0600 files, whatever the umask says.
        attachments_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        # Write aside then rename, so a crash never leaves a truncated file under the final name.
        temporary = target.with_name(f".{sha256}.{uuid.uuid4().hex}.tmp")
        _write_private(temporary, payload)
        os.replace(temporary, target)
    return sha256, relative


def _write_private(path: Path, payload: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
    except BaseException:
        path.unlink(missing_ok=True)      # a full disk must not leave half-written files behind
        raise
