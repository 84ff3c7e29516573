"""Encryption at rest for refresh tokens and service-account keys (Fernet, from `cryptography`).

The key comes from TOKEN_ENCRYPTION_KEY, or from a key file in DATA_DIR created with mode 0600 on
first use. A missing or wrong key is a clear error, never a silent re-consent: the stored grants are
still valid at Google, only this machine cannot read them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE_NAME = "token-encryption.key"


class VaultError(Exception):
    """The key is missing, malformed or not the one the secrets were sealed with."""


class Vault:
    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise VaultError("TOKEN_ENCRYPTION_KEY is not a valid key: it must be 32 url-safe "
                             "base64-encoded bytes (generate one with `gmail-connector auth new-key`)") from None

    def seal(self, secret: dict) -> bytes:
        return self._fernet.encrypt(json.dumps(secret, sort_keys=True).encode())

    def open(self, ciphertext: bytes) -> dict:
        try:
            return json.loads(self._fernet.decrypt(bytes(ciphertext)))
        except InvalidToken:
            raise VaultError("stored credentials cannot be decrypted: the encryption key "
                             "(TOKEN_ENCRYPTION_KEY or the key file in DATA_DIR) is not the one they were "
                             "saved with; restore the original key instead of re-connecting the inbox") from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def open_vault(configured_key: str, data_dir: Path, *, create: bool = True) -> Vault:
    """The configured key if any, else the key file (created 0600 when `create` and absent)."""
    if configured_key:
        return Vault(configured_key.encode())
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return Vault(path.read_bytes().strip())
    if not create:
        raise VaultError(f"no encryption key: set TOKEN_ENCRYPTION_KEY or restore {KEY_FILE_NAME} in DATA_DIR")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)    # it holds the key and the mail
    key = Fernet.generate_key()
    # O_EXCL so two processes starting together cannot each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Vault(path.read_bytes().strip())
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return Vault(key)
