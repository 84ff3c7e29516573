"""DKIM signing of replies sent through the SMTP relay, so the external domain's mail passes DMARC."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dkim

# The headers a reply carries that a receiver shows or threads by; signing them stops tampering.
SIGNED_HEADERS = (b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"in-reply-to", b"references",
                  b"mime-version", b"content-type")


class DkimError(ValueError):
    """The key cannot sign (unreadable, not a private key); the message never quotes the key."""


@dataclass(frozen=True)
class DkimKey:
    selector: str
    private_key: bytes = field(repr=False)     # PEM (PKCS#1 or PKCS#8)

    @classmethod
    def from_file(cls, selector: str, path: str | Path) -> "DkimKey":
        try:
            return cls(selector, Path(path).read_bytes())
        except OSError as exc:
            raise DkimError(f"cannot read the DKIM private key file {path}: {exc.strerror}") from None


def sign(raw: bytes, key: DkimKey, domain: str) -> bytes:
    """The message with a DKIM-Signature header for `domain` prepended (relaxed/relaxed, rsa-sha256)."""
    present = {line.split(b":", 1)[0].strip().lower() for line in _header_lines(raw)}
    headers = [h for h in SIGNED_HEADERS if h in present]
    try:
        signature = dkim.sign(raw, key.selector.encode(), domain.encode(), key.private_key,
                              canonicalize=(b"relaxed", b"relaxed"), include_headers=headers)
    except dkim.KeyFormatError:
        raise DkimError("the DKIM private key is not a usable RSA or Ed25519 private key") from None
    return signature + raw


def _header_lines(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return [line for line in head.splitlines() if line and line[:1] not in (b" ", b"\t") and b":" in line]
