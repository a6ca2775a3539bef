"""Builds the process: settings → database → handler context."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.config import ConfigError, Settings
from handlers.core.clock import Clock, SystemClock
from handlers.core.context import Context
from handlers.core.i18n import t
from storage import migrate
from storage.db import Database

SQLITE_UNWRITABLE = ("unable to open database file", "readonly database", "read-only")
"""SQLite's words for a file or folder it may not create or write."""


@contextmanager
def database_errors(language: str = "ja", url: str | None = None) -> Iterator[None]:
    """A database that cannot be reached or opened stops the command with one line; an
    SQLite file (or its folder) that cannot be written says so in the reader's language."""
    try:
        yield
    except (OperationalError, InterfaceError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        if url and url.startswith("sqlite") and any(w in reason for w in SQLITE_UNWRITABLE):
            path = url.split("///", 1)[-1]
            raise ConfigError(t(language, "cli.database.unwritable", path=path)) from None
        raise ConfigError(f"database error: DATABASE_URL: {reason}") from None


def open_database(settings: Settings, *, auto_migrate: bool = True) -> Database:
    """SQLite is migrated on first use (zero set-up); PostgreSQL must be migrated by the
    release step, so a stale schema stops start-up with one clear line."""
    database = Database(settings.database_url)
    if database.is_postgres or not auto_migrate:
        if migrate.current(database) != migrate.head():
            raise ConfigError(
                "database error: DATABASE_URL: schema is not up to date; "
                "run `python -m bot migrate` first"
            )
    else:
        migrate.upgrade(database)
    return database


def build_context(settings: Settings, clock: Clock | None = None) -> Context:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The SDKs log request bodies and response_urls (personal data, live credentials).
    for noisy in ("slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return Context(open_database(settings), clock or SystemClock(), settings.rules())
