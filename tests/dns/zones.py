"""Test zones for tests/dns: Google's SPF tree as Google publishes it (shape, not exact ranges) and DKIM keys."""
from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The shape of Google's real tree: _spf.google.com includes three netblock records (3 lookups).
GOOGLE = {
    "_spf.google.com": ["v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
                        "include:_netblocks3.google.com ~all"],
    "_netblocks.google.com": ["v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ~all"],
    "_netblocks2.google.com": ["v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ~all"],
    "_netblocks3.google.com": ["v=spf1 ip4:172.217.0.0/19 ip4:108.177.96.0/19 ~all"],
}


@lru_cache(maxsize=4)
def private_pem(name: str) -> bytes:
    """A fresh 1024-bit RSA key per name (small: generated in milliseconds, still a real DKIM key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def dkim_value(name: str) -> str:
    """The DKIM TXT value publishing `name`'s public key, derived here independently of the checker."""
    public = serialization.load_pem_private_key(private_pem(name), password=None).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def workspace(domain: str, spf: str = "v=spf1 include:_spf.google.com ~all", dmarc: str = "v=DMARC1; p=quarantine",
              key: str = "google") -> dict:
    """A Google Workspace domain: MX at Google, SPF, Google's DKIM key and DMARC."""
    return GOOGLE | {
        domain: {"TXT": [spf, "google-site-verification=abc"], "MX": ["smtp.google.com"]},
        f"google._domainkey.{domain}": [dkim_value(key)],
        f"_dmarc.{domain}": [dmarc],
    }
