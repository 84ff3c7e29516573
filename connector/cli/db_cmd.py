"""`gmail-connector db upgrade|current`: create or migrate the database schema."""
from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from connector.cli import CommandError
from connector.cli.failures import safe_url
from connector.settings import Settings


def register(sub) -> None:
    parser = sub.add_parser("db", help="create or migrate the database schema")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.set_defaults(func=run_upgrade)
    current = actions.add_parser("current", help="show the schema revision the database is at")
    current.set_defaults(func=run_current)


def _store_error(exc: Exception, settings: Settings, what: str) -> CommandError:
    from connector.cli.failures import database_failure

    known = database_failure(exc, safe_url(settings.database_url), settings.database_url)
    message, status = known or (f"cannot open the database {safe_url(settings.database_url)}: "
                                f"{type(exc).__name__} (DATABASE_URL)", 1)
    return CommandError(message.replace("cannot open", what, 1), status)


def run_upgrade(args, settings: Settings) -> int:
    from connector.store.db import make_engine, upgrade
    from connector.store.migrate import current_revision

    engine = _engine(settings, make_engine)
    try:
        upgrade(engine)
        print(f"database {safe_url(settings.database_url)} is at revision {current_revision(engine)} (head)")
    except SQLAlchemyError as exc:
        raise _store_error(exc, settings, "cannot migrate") from None
    finally:
        engine.dispose()
    return 0


def run_current(args, settings: Settings) -> int:
    from connector.store.db import make_engine
    from connector.store.migrate import current_revision, head_revision

    engine = _engine(settings, make_engine)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        raise _store_error(exc, settings, "cannot read") from None
    finally:
        engine.dispose()
    head = head_revision()
    if revision is None:
        print(f"not migrated (newest is {head}); run `gmail-connector db upgrade`")
        return 1
    print(f"{revision}{' (head)' if revision == head else f' (newest is {head}; run db upgrade)'}")
    return 0 if revision == head else 1


def _engine(settings: Settings, make_engine):
    try:
        return make_engine(settings.database_url)
    except Exception as exc:  # a bad URL or missing driver: say which (the password masked)
        raise _store_error(exc, settings, "cannot open") from None
