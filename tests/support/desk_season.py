"""A small season for the desk's tests (tests/test_desk_pages.py, tests/test_desk_browser.py):
what every page needs to show something real, built in about a second instead of the
demo's whole story.

Three BPR engagements selected through the chat's own intents (宇土市 with 高橋 誠 and
中村 由紀, 山鹿市 with 中村 由紀, 菊池市 with 小林 健), their visits every three weeks from
June to February, consultations in 宇土市 and 山鹿市, monthly office days with minutes
and the results meeting in March; every session begun by `filed_until` has its work log
(an open issue in every other one) and is marked held, except every fourth BPR visit,
whose log is owed. Sessions and papers are written through storage (tests/helpers): the
booking rules have tests of their own, and the desk only reads what is there.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from handlers.core.actor import Actor
from handlers.core.business_days import add_business_days
from handlers.core.clock import TOKYO, FakeClock
from handlers.core.context import Context, Rules
from storage import logs, migrate, sessions
from storage.db import Database
from storage.models import FollowUpIssue, Minutes, WorkLog
from tests.support.db_setup import (
    ON_POSTGRES,
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.factories import add_session_row, apply, approve, bpr_session, enrol_cast

SELECTED = {  # the town's staff who apply: the consultants selected with them
    "田中 美咲": ("高橋 誠", "中村 由紀"),
    "松本 大輔": ("中村 由紀",),
    "井上 恵": ("小林 健",),
    "坂本 直子": ("小林 健",),
    "村上 優": ("中村 由紀",),
    "森 翔太": ("小林 健",),
    "山口 健二": ("中村 由紀",),
    "前田 沙織": ("小林 健",),
}
VISITS = 10  # per town: the plan's 80 BPR visits
CONSULTATIONS = 18  # of the plan's 30: the demand-driven programme lags (a pace warning)
OFFICE_DAYS = 30
FIRST_VISIT = date(2026, 6, 8)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), TOKYO)


def build(ctx: Context, filed_until: datetime) -> dict[str, Any]:
    """The season (the clock is moved to 3 June 2026 for the selections); returns the
    cast by name, the engagements by town staff and the sessions by kind."""
    cast = enrol_cast(ctx)
    prefecture = cast["熊本 県子"]
    ctx.clock.set(at(date(2026, 6, 3), 10))  # type: ignore[attr-defined]
    engagements: dict[str, int] = {}
    for staff, team in SELECTED.items():
        reply = approve(ctx, prefecture, apply(ctx, cast[staff]), [cast[n] for n in team])
        assert reply.ok, reply.plain_text()
        engagements[staff] = int(reply.data["engagement_id"])
    made: dict[str, list[int]] = {"bpr": [], "consultation": [], "office_day": []}
    for index, (staff, team) in enumerate(SELECTED.items()):
        day = add_business_days(FIRST_VISIT, index % 5)
        hour = 10 if index < 5 else 14  # two towns a day at most, morning and afternoon
        for _ in range(VISITS):
            made["bpr"].append(
                bpr_session(ctx, engagements[staff], at(day, hour), [cast[n] for n in team])
            )
            day = add_business_days(day, 18)
    lead = cast["高橋 誠"]
    asking = (("田中 美咲", lead), ("松本 大輔", cast["中村 由紀"]), ("井上 恵", cast["小林 健"]))
    for index in range(CONSULTATIONS):
        day = add_business_days(date(2026, 6, 16), 11 * index)
        staff, consultant = asking[index % len(asking)]
        town = cast[staff].municipality_id or 0
        made["consultation"].append(
            add_session_row(ctx, "consultation", at(day, 16), [town], by=consultant)
        )
    for index in range(OFFICE_DAYS):
        day = add_business_days(date(2026, 6, 10), 6 * index)
        made["office_day"].append(add_session_row(ctx, "office_day", at(day, 9), by=lead))
    made["results_meeting"] = [
        add_session_row(ctx, "results_meeting", at(date(2027, 3, 10), 13), by=prefecture)
    ]
    file_papers(ctx, made, lead, filed_until)
    return {"cast": cast, "engagements": engagements, "sessions": made}


def file_papers(
    ctx: Context, made: dict[str, list[int]], author: Actor, filed_until: datetime
) -> None:
    """Logs (and an office day's minutes) for what has begun by `filed_until`, each
    session then held — but every fourth BPR visit still owes its log."""
    with ctx.db.transaction() as session:
        for kind in ("bpr", "consultation", "office_day"):
            for index, session_id in enumerate(made[kind]):
                row = sessions.get(session, session_id)
                assert row is not None
                if row.starts_at > filed_until or (kind == "bpr" and index % 4 == 3):
                    continue
                filed = row.ends_at + timedelta(hours=2)
                if kind == "office_day":
                    logs.add_minutes(
                        session,
                        Minutes(
                            session_id=session_id,
                            author_id=author.id,
                            attendees="県職員、デジタル人材",
                            body="各市町村の支援状況を共有した。",
                            filed_at=filed,
                        ),
                    )
                else:
                    add_log(session, author, row, index, filed)
                sessions.mark_held(session, row, filed_until)


def add_log(session: Any, author: Actor, row: Any, index: int, filed: datetime) -> None:
    log = logs.add(
        session,
        WorkLog(
            author_id=author.id,
            summary=f"業務の現状と課題を確認した(第{index + 1}回)。",
            response="業務フローを整理し、改善案を助言した。",
            next_plan="次回は改善案を検討する。",
            attachments=[],
            filed_at=filed,
        ),
        [row.id],
        [("市民課", "主査", "職員")],
    )
    if index % 2 == 0:
        town = sessions.municipality_ids(session, row.id)[0]
        logs.add_issue(
            session,
            FollowUpIssue(
                log_id=log.id or 0,
                municipality_id=town,
                content=f"申請様式が紙のみ(第{index + 1}回)",
                policy="電子申請での様式作成を支援する",
                status="open",
                created_at=filed,
            ),
            author.id,
            filed,
        )


# -- built once, copied for each test ----------------------------------------------------
@contextmanager
def template(folder: Path, filed_until: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
    """The season built once on the suite's kind of database (a module's fixture):
    yields where it is (a SQLite file, or a PostgreSQL database used as a template) and
    what `build` returned; dropped afterwards."""
    url = create_postgres_database() if ON_POSTGRES else f"sqlite:///{folder / 'season.db'}"
    database = Database(url)
    try:
        migrate.upgrade(database)
        found = build(Context(database, FakeClock(filed_until), Rules()), filed_until)
    finally:
        database.dispose()  # PostgreSQL copies only a template nobody is connected to
    try:
        yield url, found
    finally:
        if ON_POSTGRES:
            drop_postgres_database(url)


@contextmanager
def copy(url: str, folder: Path) -> Iterator[Database]:
    """A test's own copy of the season: a file copy, or CREATE DATABASE … TEMPLATE (a
    copy of the files on the server, far quicker than building it again)."""
    if not ON_POSTGRES:
        target = folder / f"season-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(make_url(url).database or "", target)
        database = Database(f"sqlite:///{target}")
        try:
            yield database
        finally:
            database.dispose()
        return
    server = make_url(url).set(database="postgres")
    name = f"{make_url(url).database}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
    admin.dispose()
    own = make_url(url).set(database=name).render_as_string(hide_password=False)
    database = Database(own)
    try:
        yield database
    finally:
        database.dispose()
        drop_postgres_database(own)
