"""The sandbox's saved state: the core as a versioned JSON document, written atomically into --state."""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import inspect
import json
import os
import sys
import tempfile
import threading
from collections import deque
from email.message import Message
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox import mime
from sandbox.core import Sandbox
from sandbox.oauth import OAuthServer
from sandbox.quota import QuotaMeter

FORMAT, VERSION = "gmail-sandbox-state", 1
STATE_FILE = "sandbox-state.json"

# Issue 16, item 14: everything a user would miss after a restart is saved by walking the objects'
# attributes, so a field another engineer adds to Mailbox or MailSettings is saved without an edit
# here. Only these are rebuilt instead: locks, the fault plan and the command line's SMTP routes and
# URL, the quota window (a minute long; the tier is saved on its own), and OAuth's access tokens and
# authorization codes (short-lived: clients refresh, and a code lasts ten minutes).
TRANSIENT = {Sandbox: frozenset({"lock", "faults", "smtp_routes", "base_url", "quota", "oauth", "push"}),
             OAuthServer: frozenset({"_delegable", "_clock", "token_uri", "access", "codes"})}


class StateError(Exception):
    """A state that cannot be saved or loaded; the message is one line a user can act on."""


# ---- the document ------------------------------------------------------------------------------
def snapshot(core: Sandbox) -> dict:
    """A copy of the core for json.dumps(default=_bytes_as_json), taken under its lock so no request sees
    half of it."""
    with core.lock:
        return {"format": FORMAT, "version": VERSION, "quota_tier": core.quota.tier,
                "core": _attrs(core, "core"), "oauth": _attrs(core.oauth, "oauth")}


def restore(core: Sandbox, doc: dict, quota_tier: str | None = None) -> None:
    """Put a snapshot back into `core`; an explicit `quota_tier` wins over the saved one."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateError("not a Gmail sandbox state file")
    if doc.get("version") != VERSION:
        raise StateError(f"state format version {doc.get('version')!r}; this sandbox reads version {VERSION}")
    # Decode everything before touching the core: a bad document must not leave it half restored.
    state, oauth = _decode_attrs(doc["core"]), _decode_attrs(doc["oauth"])
    quota = QuotaMeter(quota_tier or doc["quota_tier"])
    with core.lock:
        vars(core).update(state)
        vars(core.oauth).update(oauth)
        core.quota = quota


def _attrs(obj, path: str) -> dict:
    skip = TRANSIENT.get(type(obj), frozenset())
    out = {}
    for name, value in vars(obj).items():
        if name in skip:
            continue
        if isinstance(value, Message):
            # A parsed message is derived from its raw bytes; re-parsing them is exact, re-serialising is not.
            if not isinstance(getattr(obj, "raw", None), bytes):
                raise StateError(f"cannot save {path}.{name}: a parsed message without raw bytes beside it")
            out[name] = {"$parsed": "raw"}
        else:
            out[name] = _encode(value, f"{path}.{name}")
    return out


def _encode(value, path: str):
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is bytes:
        return value        # immutable, so shared as is; base64 happens in json.dumps, outside the lock
    if kind is list:
        return [_encode(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind in (tuple, deque, set, frozenset):
        items = list(value)
        if kind in (set, frozenset):
            with contextlib.suppress(TypeError):
                items.sort()       # stable output: two saves of one state are the same bytes
        return {f"${kind.__name__}": [_encode(item, f"{path}[]") for item in items]}
    if kind is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: _encode(v, f"{path}[{k!r}]") for k, v in value.items()}
        return {"$dict": [[_encode(k, path), _encode(v, f"{path}[{k!r}]")] for k, v in value.items()]}
    if isinstance(value, rsa.RSAPrivateKey):
        pem = value.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        return {"$rsa": pem.decode("ascii")}
    if kind.__module__.startswith("sandbox.") and hasattr(value, "__dict__"):
        return {"$obj": f"{kind.__module__}:{kind.__qualname__}", "attrs": _attrs(value, path)}
    raise StateError(f"cannot save {path}: no encoder for {kind.__module__}.{kind.__qualname__} (sandbox/persist.py)")


_TAGS = {"$bytes": lambda v: base64.b64decode(v, validate=True), "$tuple": tuple, "$deque": deque,
         "$set": set, "$frozenset": frozenset, "$rsa": lambda v: serialization.load_pem_private_key(v.encode(), None)}


def _decode(data):
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    if "$obj" in data:
        return _object(data["$obj"], data["attrs"])
    if "$dict" in data:
        return {_decode(k): _decode(v) for k, v in data["$dict"]}
    tag = next((k for k in data if k.startswith("$")), None)
    if tag is None:
        return {k: _decode(v) for k, v in data.items()}
    if tag not in _TAGS:
        raise StateError(f"unknown value tag {tag}")
    value = data[tag]
    return _TAGS[tag](value if tag in ("$bytes", "$rsa") else [_decode(item) for item in value])


def _decode_attrs(attrs: dict) -> dict:
    return {name: _decode(value) for name, value in attrs.items()}


def _object(name: str, attrs: dict):
    # Never pickle: a state file names only classes of the sandbox package that are already imported,
    # and no code the file chooses runs (a state directory may be shared).
    module, _, qualname = name.partition(":")
    cls = getattr(sys.modules.get(module), qualname, None) if module.startswith("sandbox.") else None
    if not isinstance(cls, type) or cls.__module__ != module:
        raise StateError(f"unknown class {name}")
    derived = {k for k, v in attrs.items() if v == {"$parsed": "raw"}}
    state = {k: _decode(v) for k, v in attrs.items() if k not in derived}
    obj = _fresh(cls, state)
    vars(obj).update(state)
    for attr in derived:
        setattr(obj, attr, mime.parse(obj.raw))
    return obj


def _fresh(cls: type, state: dict):
    """An instance with its defaults, so an attribute added after the snapshot was taken still exists."""
    if dataclasses.is_dataclass(cls):
        obj = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                setattr(obj, f.name, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                setattr(obj, f.name, f.default_factory())
        return obj
    required = [p.name for p in inspect.signature(cls).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if all(name in state for name in required):
        return cls(**{name: state[name] for name in required})
    return cls.__new__(cls)


# ---- the file ------------------------------------------------------------------------------------
class StateFile:
    """`DIR/sandbox-state.json`: loaded once at start, replaced whole on every save."""

    def __init__(self, directory: Path | str) -> None:
        self.path = Path(directory) / STATE_FILE
        self._write_lock = threading.Lock()      # the autosaver and stop() never interleave two saves

    def load_into(self, core: Sandbox, quota_tier: str | None = None) -> bool:
        """Restore a saved state into `core`; False when there is none yet."""
        for leftover in self.path.parent.glob(f".{STATE_FILE}.*.tmp"):
            leftover.unlink(missing_ok=True)     # a save cut short by kill -9; the real file is intact
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StateError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            restore(core, json.loads(text), quota_tier)
        except StateError as exc:
            raise StateError(f"{self.path}: {exc} (left untouched; move it away to start afresh)") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StateError(f"{self.path} is damaged ({exc.__class__.__name__}: {exc}); left untouched, "
                             "move it away to start afresh") from None
        return True

    def save(self, core: Sandbox) -> None:
        with self._write_lock:
            doc = snapshot(core)
            # Serialising and writing happen outside the core's lock: requests only wait for the copy.
            data = json.dumps(doc, separators=(",", ":"), default=_bytes_as_json).encode("utf-8")
            write_atomically(self.path, data)


def _bytes_as_json(value):
    if type(value) is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file beside the target, fsync, rename, fsync the directory: a kill at any point leaves
    either the previous complete file or the new one, never a torn one. 0600: it holds tokens and mail."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")   # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
