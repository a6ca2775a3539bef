"""Notifications as data: rows queued in the same transaction as the change they report."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
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


def for_person(
    session: Session, person_id: int, limit: int = 20, *, exclude_kinds: Collection[str] = ()
) -> list[Notification]:
    query = select(Notification).where(Notification.person_id == person_id)
    if exclude_kinds:
        query = query.where(col(Notification.kind).not_in(list(exclude_kinds)))
    return list(
        session.exec(
            query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(
                limit
            )
        ).all()
    )


def claim_due(
    session: Session,
    now: datetime,
    person_ids: Collection[int] | None,
    limit: int = 50,
    *,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
) -> list[Notification]:
    """Pending rows due by `now` for these people (None: anyone), marked `sending` by
    this transaction. `kinds` / `exclude_kinds` split the queue between senders: chat
    deliverers leave e-mail rows to the mail sender and the other way round.

    SKIP LOCKED lets several senders claim disjoint rows on PostgreSQL; SQLite's writer
    lock gives one sender at a time."""
    if person_ids is not None and not person_ids:
        return []
    query = (
        select(Notification)
        .where(Notification.status == NotificationStatus.PENDING)
        .where(col(Notification.due_at) <= now)
    )
    if person_ids is not None:
        query = query.where(col(Notification.person_id).in_(list(person_ids)))
    if kinds is not None:
        query = query.where(col(Notification.kind).in_(list(kinds)))
    if exclude_kinds:
        query = query.where(col(Notification.kind).not_in(list(exclude_kinds)))
    rows = list(
        session.exec(
            query.order_by(col(Notification.due_at), col(Notification.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )
    for row in rows:
        row.status = NotificationStatus.SENDING
        row.attempts += 1
        session.add(row)
    session.flush()
    return rows


MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=2)


def finish(session: Session, notification_id: int, *, sent: bool, now: datetime) -> None:
    """Sent; or back to pending with a growing delay; `failed` after MAX_ATTEMPTS."""
    row = session.get(Notification, notification_id)
    if row is None:
        return
    if sent:
        row.status, row.sent_at = NotificationStatus.SENT, now
    elif row.attempts >= MAX_ATTEMPTS:
        row.status = NotificationStatus.FAILED
    else:
        row.status = NotificationStatus.PENDING
        row.due_at = now + RETRY_AFTER * 2 ** (row.attempts - 1)
    session.add(row)


def of_kind(session: Session, kind: str) -> list[Notification]:
    """Every row of one kind, oldest first (the demo writes out the invites it sent)."""
    return list(
        session.exec(
            select(Notification).where(Notification.kind == kind).order_by(col(Notification.id))
        ).all()
    )
