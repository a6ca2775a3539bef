"""Notifications as data: rows queued in the same transaction as the change they report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import Notification, NotificationStatus


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    person_id: int,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
) -> None:
    """Queue once: a second row with the same key is silently ignored."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Notification)
        .values(
            key=key,
            kind=kind,
            person_id=person_id,
            payload=payload,
            due_at=due_at,
            status=NotificationStatus.PENDING,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    session.exec(statement)  # type: ignore[call-overload]


def for_person(session: Session, person_id: int, limit: int = 20) -> list[Notification]:
    return list(
        session.exec(
            select(Notification)
            .where(Notification.person_id == person_id)
            .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
            .limit(limit)
        ).all()
    )


def all_rows(session: Session) -> list[Notification]:
    return list(session.exec(select(Notification).order_by(col(Notification.id))).all())
