"""steps and logs take their facts from sessions: engagement_step_session links a done
step to the held session(s) it was done in; engagement_step.done_on, work_log.method and
work_log.place are dropped (they could contradict the sessions)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.column_types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKYO = ZoneInfo("Asia/Tokyo")

step = sa.table(
    "engagement_step",
    sa.column("id", sa.Integer()),
    sa.column("engagement_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("done_on", sa.Date()),
)
support = sa.table(
    "support_session",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("status", sa.String()),
    sa.column("engagement_id", sa.Integer()),
    sa.column("starts_at", storage.column_types.AwareDateTime()),
    sa.column("mode", sa.String()),
    sa.column("place", sa.String()),
    sa.column("meeting_url", sa.String()),
)
link = sa.table(
    "engagement_step_session",
    sa.column("step_id", sa.Integer()),
    sa.column("session_id", sa.Integer()),
)
work_log = sa.table(
    "work_log",
    sa.column("id", sa.Integer()),
    sa.column("method", sa.String()),
    sa.column("place", sa.String()),
)
log_session = sa.table(
    "work_log_session", sa.column("log_id", sa.Integer()), sa.column("session_id", sa.Integer())
)


def upgrade() -> None:
    op.create_table(
        "engagement_step_session",
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["support_session.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["engagement_step.id"]),
        sa.PrimaryKeyConstraint("step_id", "session_id"),
    )
    backfill_step_sessions()
    # Plain DROP COLUMN (PostgreSQL; SQLite 3.35+): batch mode would copy and drop
    # work_log, which other tables reference, so it fails on any database with logs.
    op.drop_column("engagement_step", "done_on")
    op.drop_column("work_log", "method")
    op.drop_column("work_log", "place")


def backfill_step_sessions() -> None:
    """Each done step gets the latest begun, live BPR session of its engagement dated on
    or before its done_on, else the earliest begun one; with none it stays unlinked
    (`python -m bot check` reports it)."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    held = bind.execute(
        sa.select(support.c.id, support.c.engagement_id, support.c.starts_at)
        .where(
            support.c.kind == "bpr",
            support.c.status != "cancelled",
            support.c.engagement_id.is_not(None),
            support.c.starts_at <= now,
        )
        .order_by(support.c.starts_at, support.c.id)
    ).all()
    begun: dict[int, list[tuple[int, date]]] = {}
    for session_id, engagement_id, starts_at in held:
        begun.setdefault(engagement_id, []).append((session_id, starts_at.astimezone(TOKYO).date()))
    done = bind.execute(
        sa.select(step.c.id, step.c.engagement_id, step.c.done_on).where(step.c.status == "done")
    ).all()
    rows = []
    for step_id, engagement_id, done_on in done:
        chosen = choose_session(begun.get(engagement_id, []), done_on)
        if chosen is not None:
            rows.append({"step_id": step_id, "session_id": chosen})
    if rows:
        bind.execute(link.insert(), rows)


def choose_session(begun: list[tuple[int, date]], done_on: date | None) -> int | None:
    """`begun` is in date order."""
    if not begun:
        return None
    before = [session_id for session_id, day in begun if done_on is None or day <= done_on]
    return before[-1] if before else begun[0][0]


def downgrade() -> None:
    op.add_column(
        "work_log",
        sa.Column(
            "place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=""
        ),
    )
    op.add_column(
        "work_log",
        sa.Column(
            "method",
            sqlmodel.sql.sqltypes.AutoString(length=10),
            nullable=False,
            server_default="visit",
        ),
    )
    op.add_column("engagement_step", sa.Column("done_on", sa.Date(), nullable=True))
    bind = op.get_bind()
    # the facts back from the sessions: a log's first session, a step's last one
    first = bind.execute(
        sa.select(log_session.c.log_id, support.c.mode, support.c.place, support.c.meeting_url)
        .join(support, support.c.id == log_session.c.session_id)
        .order_by(log_session.c.log_id, support.c.starts_at.desc())
    ).all()
    for log_id, mode, place, url in first:
        bind.execute(
            work_log.update()
            .where(work_log.c.id == log_id)
            .values(method=mode, place=(place or url or "")[:200])
        )
    last = bind.execute(
        sa.select(link.c.step_id, support.c.starts_at)
        .join(support, support.c.id == link.c.session_id)
        .order_by(link.c.step_id, support.c.starts_at)
    ).all()
    for step_id, starts_at in last:
        bind.execute(
            step.update()
            .where(step.c.id == step_id)
            .values(done_on=starts_at.astimezone(TOKYO).date())
        )
    op.drop_table("engagement_step_session")
