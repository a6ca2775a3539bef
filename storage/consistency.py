"""Whole-table reads for `python -m bot check` (handlers.record.check).

The check looks at every row of a season at once, so each kind of row is read in one
query, never one per session or per log: a season's check stays a handful of queries
however long the season was.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import (
    AuditEntry,
    EngagementStep,
    Minutes,
    Notification,
    Request,
    SupportSession,
    WorkLog,
    WorkLogSession,
)


def all_sessions(session: Session) -> list[SupportSession]:
    """Every session, cancelled ones included, in time order."""
    return list(
        session.exec(
            select(SupportSession).order_by(col(SupportSession.starts_at), col(SupportSession.id))
        ).all()
    )


def paperwork(session: Session) -> list[tuple[str, int, int, datetime]]:
    """(\"log\" or \"minutes\", its id, the session it covers, when it was filed) for every
    work log and every office day's minutes."""
    logs = session.exec(
        select(WorkLog.id, WorkLogSession.session_id, WorkLog.filed_at)
        .join(WorkLogSession, col(WorkLogSession.log_id) == col(WorkLog.id))
        .order_by(col(WorkLog.id), col(WorkLogSession.session_id))
    ).all()
    minutes = session.exec(
        select(Minutes.id, Minutes.session_id, Minutes.filed_at).order_by(col(Minutes.id))
    ).all()
    return [("log", log_id or 0, sid, filed) for log_id, sid, filed in logs] + [
        ("minutes", minutes_id or 0, sid, filed) for minutes_id, sid, filed in minutes
    ]


def notifications_of_kinds(session: Session, kinds: Collection[str]) -> list[Notification]:
    """Every outbox row of these kinds, in the order they were queued."""
    return list(
        session.exec(
            select(Notification)
            .where(col(Notification.kind).in_(list(kinds)))
            .order_by(col(Notification.id))
        ).all()
    )


def all_requests(session: Session) -> list[Request]:
    return list(session.exec(select(Request).order_by(col(Request.id))).all())


def all_steps(session: Session) -> list[EngagementStep]:
    return list(
        session.exec(
            select(EngagementStep).order_by(
                col(EngagementStep.engagement_id), col(EngagementStep.number)
            )
        ).all()
    )


def latest_event(session: Session) -> datetime | None:
    """When the last thing the record knows of happened (its newest audit entry)."""
    return session.exec(select(func.max(AuditEntry.at))).one()
