"""The databases tests and benchmarks run on: SQLite by default, PostgreSQL when
DATABASE_URL points at one.

A PostgreSQL run gets databases of its own (created on the server DATABASE_URL names,
dropped at the end), named after the process and, under pytest-xdist, the worker, so
concurrent runs and parallel workers never share one. SQLite tests each get a copy of one
migrated file.
"""

from __future__ import annotations

import copy
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from handlers.core.actor import Actor
from handlers.core.clock import FakeClock
from handlers.core.context import Context, Rules
from storage.db import Database
from tests.support.factories import enrol_cast

BASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = BASE_URL.startswith("postgres")
KEEP = ("municipality", "alembic_version")  # what a migration writes and truncating keeps
T = TypeVar("T")


def create_postgres_database(base_url: str = "", prefix: str = "") -> str:
    """A new, empty database on the server `base_url` (default: DATABASE_URL) names. Tests
    name theirs after the process and the xdist worker (gw0, gw1, …), so parallel workers
    and concurrent runs never share one; benchmarks take their own prefix."""
    server = make_url(base_url or BASE_URL).set(drivername="postgresql+psycopg")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{prefix or f'dxdesk_test_{os.getpid()}_{worker}'}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    """Drop a database `create_postgres_database` made, through its server's own
    maintenance database (whoever is still connected is disconnected)."""
    own = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(own.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
    admin.dispose()


def scratch_postgres(base_url: str) -> tuple[str, Callable[[], None]]:
    """A benchmark's own database on the server `base_url` names, and the function that
    drops it: a bench never touches the data it was pointed at."""
    url = create_postgres_database(base_url, prefix="dxdesk_bench")
    return url, lambda: drop_postgres_database(url)


def fresh_database(database_url: str, directory: Path) -> Database:
    """A migrated database with nothing in it but the municipalities: on PostgreSQL the
    run's database, truncated; on SQLite a copy of the migrated template in `directory`.
    A stateful property test takes one per example (fixtures are made once per test)."""
    if ON_POSTGRES:
        database = Database(database_url)
        with database.engine.begin() as connection:
            tables = [
                row[0]
                for row in connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
                if row[0] not in KEEP
            ]
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        return database
    copy = directory / f"test-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(database_url, copy)
    return _sharing_compiled_statements(Database(f"sqlite:///{copy}"))


# One SQLite dialect and compiled-statement cache for every test's engine in this process.
_COMPILED: dict[str, Any] = {}


def _sharing_compiled_statements(database: Database) -> Database:
    """The engine of a test's copy, compiling each statement once per process, not once
    per test.

    Why: SQLAlchemy caches compiled SQL per engine, keyed by the dialect object, and each
    test opens a new engine on its own copy, so every test compiled every statement it ran
    again (a tenth of the suite's CPU). A SQLite dialect holds nothing of its file (only
    what the sqlite3 library supports, the same for every copy), so the copies' engines
    take the first one's dialect and cache. SQLAlchemy has no public way to say this:
    these are the attributes `create_engine` sets. Production opens one engine per
    process and is untouched."""
    engine = database.engine
    first = _COMPILED.setdefault("engine", engine)
    engine.dialect = engine.pool._dialect = first.dialect
    engine._compiled_cache = first._compiled_cache
    return database


def sqlite_file(database: Database) -> Path:
    return Path(make_url(database.url).database or "")


# -- SQLite copies: what a test's copy holds while nothing has opened it -------------------
#
# Building a test's starting data through the handlers takes 0.1–0.5 s; copying a file
# that holds the same rows takes a millisecond. A test's copy is only overwritten while no
# connection has opened it (no -wal or -shm beside it, size and time as when it was made),
# with a file built from the very state it holds, at the same clock and with the same
# rules, so a test starts from exactly the rows it would have built. PostgreSQL runs
# build everything as before.

State = tuple[Any, ...]  # what a copy holds: ("empty",), ("cast", now), (fixture, before, now)
OPENED = ("-wal", "-shm", "-journal")


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


class Copies:
    """The tests' SQLite copies this process made and has not seen opened yet."""

    def __init__(self) -> None:
        self.known: dict[Path, tuple[tuple[int, int], State]] = {}

    def made(self, database: Database, holds: State) -> None:
        path = sqlite_file(database)
        self.known[path] = (_stamp(path), holds)

    def forget(self, database: Database) -> None:
        self.known.pop(sqlite_file(database), None)

    def holds(self, ctx: Context) -> State | None:
        """What `ctx.db` holds if nothing has opened it since it was made, and the
        context is the one the files were built with (a fake clock, the default rules)."""
        if ON_POSTGRES or not isinstance(ctx.clock, FakeClock) or ctx.rules != Rules():
            return None
        path = sqlite_file(ctx.db)
        stamp, holds = self.known.get(path, (None, None))
        if stamp is None or any(Path(f"{path}{suffix}").exists() for suffix in OPENED):
            return None
        return holds if _stamp(path) == stamp else None

    def overwrite(self, database: Database, source: Path, holds: State) -> None:
        shutil.copyfile(source, sqlite_file(database))
        self.made(database, holds)


COPIES = Copies()


def snapshot(database: Database, target: Path) -> None:
    """A consistent copy of a live SQLite database (its write-ahead log included)."""
    source = sqlite3.connect(sqlite_file(database))
    copy_to = sqlite3.connect(target)
    try:
        source.backup(copy_to)
    finally:
        copy_to.close()
        source.close()
    assert not any(Path(f"{target}{suffix}").exists() for suffix in OPENED)


class Snapshots:
    """Fixtures' data built once per process: the first test that asks builds it through
    the handlers as always, and its database is copied; later tests starting from the
    same state get the copy, the clock where the build left it, and the same value."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.made: dict[State, tuple[Path, datetime, Any]] = {}

    def cast(self, ctx: Context) -> dict[str, Actor]:
        """The demo's fictional roster, by name (see `enrol_cast`)."""
        return self.once(ctx, "cast", lambda: enrol_cast(ctx))

    def once(self, ctx: Context, name: str, build: Callable[[], T]) -> T:
        before = COPIES.holds(ctx)
        key = None if before is None else (name, before, ctx.clock.now())
        if key is not None and key in self.made:
            path, after, value = self.made[key]
            COPIES.overwrite(ctx.db, path, key)
            assert isinstance(ctx.clock, FakeClock)
            ctx.clock.set(after)
            return copy.deepcopy(value)
        value = build()
        if key is not None and ctx.rules == Rules():
            path = self.directory / f"{name}-{len(self.made)}.db"
            snapshot(ctx.db, path)
            self.made[key] = (path, ctx.clock.now(), copy.deepcopy(value))
        return value
