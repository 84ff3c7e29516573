"""What a person does about an inbox's last error, by its kind (the word before the colon of last_error)."""
from __future__ import annotations

from connector.admin.status import REAUTH_COMMAND

_FIXES = {
    "auth_revoked": "Consent again: {reauth}",
    "insufficient_scope": "Grant the missing access: gmail-connector auth add {address}",
    "rate_limited": ("Nothing, usually: the inbox waits and retries by itself. If it keeps happening, raise "
                     "POLL_INTERVAL_SECONDS or lower BACKFILL_MAX so that each pass asks Gmail for less."),
    "encryption_key": ("The stored grant cannot be decrypted: restore the TOKEN_ENCRYPTION_KEY (or the key file in "
                       "DATA_DIR) it was sealed with, or connect the inbox again: {reauth}"),
    "database": "The database refused the pass: the daemon's log has the reason; check disk space and DATABASE_URL.",
    "transienterror": "Google failed for a moment; the next pass retries by itself.",
    "internal": "An unexpected failure: the daemon's log has the traceback; please report it with that log.",
}
_DEFAULT = "The next pass retries after the backoff; the daemon's log has the details."


def error_kind(last_error: str | None) -> str:
    return (last_error or "").partition(":")[0].strip() or "unknown"


def fix_for(last_error: str | None, address: str) -> str:
    """The remedy the error itself carries (after " — "), else the one known for its kind."""
    if not last_error:
        return ""
    said = last_error.partition(" — ")[2].strip()
    if said:
        return said[0].upper() + said[1:]
    template = _FIXES.get(error_kind(last_error), _DEFAULT)
    return template.format(address=address, reauth=REAUTH_COMMAND.format(address=address))
