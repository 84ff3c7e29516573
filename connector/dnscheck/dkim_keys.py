"""DKIM public keys: the one a TXT record publishes and the one our private key implies, compared; pure."""
from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from connector.dnscheck.checks import tags


class UnusableKey(ValueError):
    """A key that cannot be read (bad base64, not RSA or Ed25519); the message never quotes the key."""


def published_key(record: str):
    """The public key a DKIM TXT record holds; None when `p=` is empty (revoked); UnusableKey if unusable."""
    found = tags(record.replace("\n", ""))
    data = "".join(found.get("p", "").split())
    if not data:
        return None
    try:
        der = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise UnusableKey("its p= is not base64") from None
    kind = found.get("k", "rsa").lower()
    try:
        if kind == "ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(der)
        if kind == "rsa":
            return _rsa(der)
    except ValueError:
        raise UnusableKey(f"its p= is not a valid {kind} public key") from None
    raise UnusableKey(f"its key type k={kind} is not one receivers know (rsa, ed25519)")


def _rsa(der: bytes):
    try:
        key = serialization.load_der_public_key(der)          # SubjectPublicKeyInfo, as most publish
    except ValueError:
        pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
        key = serialization.load_pem_public_key(pem)          # bare PKCS#1, which dkimpy accepts too
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not RSA")
    return key


def public_key_of(private_pem: bytes):
    """The public half of a PEM private key (PKCS#1 or PKCS#8); UnusableKey when it is not one."""
    if not private_pem:
        raise UnusableKey("DKIM_PRIVATE_KEY_FILE cannot be read or is empty")
    try:
        private = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError):
        raise UnusableKey("DKIM_PRIVATE_KEY_FILE is not an unencrypted PEM private key") from None
    if not isinstance(private, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise UnusableKey("DKIM_PRIVATE_KEY_FILE holds neither an RSA nor an Ed25519 key")
    return private.public_key()


def same_key(a, b) -> bool:
    return type(a) is type(b) and _spki(a) == _spki(b) if a is not None and b is not None else False


def record_value(public) -> str:
    """The TXT value that publishes `public`: SubjectPublicKeyInfo for RSA, raw bytes for Ed25519 (RFC 8463)."""
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode()
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(_spki(public)).decode()


def _spki(public) -> bytes:
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
