"""Fixtures every test module may ask for: a database, a clock, a context and the cast.

The databases themselves (SQLite copies, or PostgreSQL databases of this run's own) and the
factories live in tests/support, which the benchmarks import too; the names older test
modules import from here are re-exported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from handlers.core.actor import Actor
from handlers.core.clock import TOKYO, FakeClock
from handlers.core.context import Context, Rules
from storage import migrate
from storage.db import Database
from tests.support.db_setup import (
    BASE_URL,
    COPIES,
    KEEP,
    ON_POSTGRES,
    Snapshots,
    create_postgres_database,
    drop_postgres_database,
    fresh_database,
)
from tests.support.factories import consultation, enrol_cast
from tests.support.live_server import Switch, switched
from tests.support.report_season import build_season

# Fixture modules more than one test module asks for (loaded like conftest, so no test
# module imports another's fixtures).
pytest_plugins = [
    "tests.support.slack_app",  # slack
    "tests.support.teams_app",  # teams
    "tests.support.teams_auth",  # servers, secured, keys
    "tests.support.uto_engagement",  # uto, lead
]


def keep_compiled_modules() -> None:
    """With PYTHONDONTWRITEBYTECODE set, every worker and every `python -m bot` the tests
    start would compile the tests (with pytest's assertion rewriting) and the code afresh:
    seconds per process. Write the compiled files where Python looks for them, in the
    `__pycache__` folders git ignores. (Not a separate cache folder: Python then reads
    only that one, and a fresh checkout compiled every installed library again, in every
    worker.)"""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return
    os.environ.pop("PYTHONDONTWRITEBYTECODE")  # for the processes the tests start
    sys.dont_write_bytecode = False


keep_compiled_modules()


# The modules that take longest, slowest first (wall time, measured on two cores). xdist
# hands whole modules out in collection order (`--no-loadscope-reorder`, pyproject.toml);
# given out first, these run beside the many short ones instead of one of them running
# alone at the end while the other workers wait.
SLOWEST_FIRST = (
    "test_demo.py",
    "test_slack_jobs.py",
    "test_season_machine.py",
    "test_slack.py",
    "test_cli.py",
    "test_reports.py",
    "test_desk_browser.py",
    "test_local_service.py",
    "test_slack_attachments.py",
    "test_bundle.py",
    "test_desk_pages.py",
    "test_teams.py",
    "test_check.py",
    "test_replay.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest modules first; each module's tests stay together and in order."""
    rank = {name: place for place, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: three workers for every two cores. A good part of the suite waits on
    sockets, subprocesses and a browser; a third worker uses that time (on two cores,
    three workers finish sooner than two or four). PYTEST_XDIST_AUTO_NUM_WORKERS wins."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    affinity = getattr(os, "sched_getaffinity", None)  # Linux: the CPUs this process may use
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    return max(1, cpus * 3 // 2)


__all__ = [
    "BASE_URL",
    "KEEP",
    "ON_POSTGRES",
    "consultation",
    "create_postgres_database",
    "drop_postgres_database",
    "enrol_cast",
    "fresh_database",
]


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


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Snapshots:
    """Fixtures' data built once per worker on SQLite (see tests/support/db_setup.py)."""
    return Snapshots(tmp_path_factory.mktemp("snapshots"))


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Database]:
    database = fresh_database(database_url, tmp_path)
    if not ON_POSTGRES:
        COPIES.made(database, ("empty",))
    yield database
    database.dispose()
    COPIES.forget(database)


@pytest.fixture(scope="module")
def web_server() -> Iterator[Switch]:
    """One web server per module: each test mounts its own app on it,
    `with web_server.mounted(create_web_app(...)) as base:`."""
    with switched() as switch:
        yield switch


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 7, 1, 10, 0, tzinfo=TOKYO))  # a Wednesday


@pytest.fixture
def ctx(db: Database, clock: FakeClock) -> Context:
    return Context(db, clock, Rules())


@pytest.fixture
def cast(ctx: Context, snapshots: Snapshots) -> dict[str, Actor]:
    """The demo's fictional roster, by name (on SQLite, enrolled once and copied)."""
    return snapshots.cast(ctx)


@pytest.fixture
def approver(cast: dict[str, Actor]) -> Actor:
    return cast["熊本 県子"]


@pytest.fixture
def staff(cast: dict[str, Actor]) -> Actor:
    return cast["田中 美咲"]  # 宇土市 市民課


@pytest.fixture
def season(ctx: Context, cast: dict[str, Actor], snapshots: Snapshots) -> dict[str, int]:
    """The reports' season (tests.support.report_season), which the report, PDF, bundle,
    workbook and case book tests share; test_check has a season of its own."""
    return snapshots.once(ctx, "reports-season", lambda: build_season(ctx, cast))
