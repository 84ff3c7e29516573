"""What the CLI prints instead of a traceback: one line saying what is wrong and what to do."""
from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError


# Database drivers SQLAlchemy imports for a URL's scheme (mysql://, mssql://, ...): none is installed.
_DRIVERS = frozenset({"MySQLdb", "pymysql", "mysqlclient", "pyodbc", "cx_Oracle", "oracledb", "psycopg2",
                      "asyncpg", "pg8000", "pymssql", "ibm_db", "fdb", "sqlalchemy_access"})


def _reason(exc: BaseException) -> str:
    """The driver's own first line ("connection refused", "database ... does not exist"), never a query."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    first = first.removeprefix("(psycopg.OperationalError) ").strip()
    return first[:200] or type(cause).__name__


def _hint(reason: str, url: str) -> str:
    text = reason.lower()
    if "refused" in text or "could not connect" in text or "timeout" in text:
        return " — is the database server running and reachable?"
    if "does not exist" in text and "database" in text:
        return " — create it, or point DATABASE_URL at one that exists"
    if "password" in text or "authentication" in text:
        return " — check the user and password in DATABASE_URL"
    if url.startswith("sqlite") and ("unable to open" in text or "readonly" in text or "read-only" in text):
        return " — check that DATA_DIR (or the path in DATABASE_URL) exists and is writable"
    return ""


def database_failure(exc: BaseException, url_for_display: str, url: str) -> tuple[str, int] | None:
    """(message, exit status) for an error opening or using the store; None if it is not one."""
    from connector.store.db import StoreLocationError
    if isinstance(exc, StoreLocationError):
        return f"cannot open the database {url_for_display}: {exc} — create it, or fix the path (DATABASE_URL)", 2
    if isinstance(exc, NoSuchModuleError) or (isinstance(exc, ModuleNotFoundError) and exc.name in _DRIVERS):
        scheme = url.partition("://")[0] or url
        return (f"cannot open the database {url_for_display}: the {scheme!r} database is not supported — use "
                "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:5432/DB (DATABASE_URL)", 2)
    if isinstance(exc, ArgumentError):
        return (f"cannot open the database {url_for_display}: not a database URL — use sqlite:///PATH or "
                "postgresql://USER:PASSWORD@HOST:5432/DB (DATABASE_URL)", 2)
    if isinstance(exc, (DBAPIError, SQLAlchemyError)):
        reason = _reason(exc)
        return f"cannot open the database {url_for_display}: {reason}{_hint(reason, url)} (DATABASE_URL)", 1
    return None


def safe_url(database_url: str) -> str:
    """The URL for messages, with any password masked."""
    from connector.store.db import normalise_url

    try:
        return make_url(normalise_url(database_url)).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL may still hold a password: show nothing of it
        return "(unparseable DATABASE_URL)"
