"""Test databases: SQLite by default, PostgreSQL when DATABASE_URL points at one.

PostgreSQL runs get a fresh database per run (created from the given URL's server and
dropped at the end) so concurrent runs never collide; tests then truncate between
each other. SQLite tests each get a copy of one migrated file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.cast import CAST, person_values
from handlers import roster
from handlers.actor import Actor
from handlers.clock import TOKYO, FakeClock
from handlers.context import Context, Rules
from storage import migrate, people
from storage.db import Database

BASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = BASE_URL.startswith("postgres")
KEEP = ("municipality", "alembic_version")


def create_postgres_database() -> str:
    """A new, empty database on the server DATABASE_URL names."""
    server = make_url(BASE_URL).set(drivername="postgresql+psycopg")
    name = f"dxdesk_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    server = make_url(BASE_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[Database]:
    """An unmigrated database of the kind the suite runs on."""
    if not ON_POSTGRES:
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    url = create_postgres_database()
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not ON_POSTGRES:
        template = tmp_path_factory.mktemp("db") / "template.db"
        database = Database(f"sqlite:///{template}")
        migrate.upgrade(database)
        database.dispose()
        yield str(template)
        return
    url = create_postgres_database()
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    try:
        yield url
    finally:
        drop_postgres_database(url)


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
    return Database(f"sqlite:///{copy}")


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Database]:
    database = fresh_database(database_url, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 7, 1, 10, 0, tzinfo=TOKYO))  # a Wednesday


@pytest.fixture
def ctx(db: Database, clock: FakeClock) -> Context:
    return Context(db, clock, Rules())


def enrol_cast(ctx: Context) -> dict[str, Actor]:
    """The demo's fictional roster, registered, by name."""
    with ctx.db.transaction() as session:
        ids = {m.name: m.id or 0 for m in people.municipalities(session)}
    found = {}
    for entry in CAST:
        person = roster.add_person(ctx, person_values(entry, ids))
        found[person.name] = Actor.from_person(person)
    return found


@pytest.fixture
def cast(ctx: Context) -> dict[str, Actor]:
    """The demo's fictional roster, by name."""
    return enrol_cast(ctx)


@pytest.fixture
def approver(cast: dict[str, Actor]) -> Actor:
    return cast["熊本 県子"]


@pytest.fixture
def staff(cast: dict[str, Actor]) -> Actor:
    return cast["田中 美咲"]  # 宇土市 市民課


def consultation(actor: Actor, **overrides: Any) -> dict[str, Any]:
    """A valid consultation form for `actor`'s municipality."""
    values: dict[str, Any] = {
        "municipality": str(actor.municipality_id),
        "department": actor.department or "企画課",
        "requester_title": "主査",
        "requester_name": actor.name,
        "topic": "online_application",
        "description": "電子申請の進め方を相談したい。",
        "mode": "visit",
        "preferred_dates": "2026-07-15, 2026-07-16",
    }
    values.update(overrides)
    return values
