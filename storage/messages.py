"""Messages the bot posted (to update them later) and inbound events already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from storage.models import InboundEvent, PostedMessage, Request


def remember(
    session: Session,
    *,
    platform: str,
    purpose: str,
    target_id: int,
    channel: str,
    message_id: str,
    now: datetime,
    version: datetime | None = None,
) -> None:
    existing = find(session, platform=platform, purpose=purpose, target_id=target_id)
    if existing:
        existing.channel, existing.message_id = channel, message_id
        existing.shows_version = version or existing.shows_version
        session.add(existing)
        return
    session.add(
        PostedMessage(
            platform=platform,
            purpose=purpose,
            target_id=target_id,
            channel=channel,
            message_id=message_id,
            posted_at=now,
            shows_version=version,
        )
    )
    session.flush()


def shown(session: Session, posted_id: int, version: datetime) -> None:
    """The message now shows this version of its record (never goes backwards: two
    updates may finish out of order)."""
    row = session.get(PostedMessage, posted_id)
    if row is not None and (row.shows_version is None or row.shows_version < version):
        row.shows_version = version
        session.add(row)


def stale_requests(session: Session, platform: str) -> list[PostedMessage]:
    """Approval messages showing an older state of their request than it has now."""
    shows = func.coalesce(col(PostedMessage.shows_version), col(PostedMessage.posted_at))
    return list(
        session.exec(
            select(PostedMessage)
            .join(Request, col(Request.id) == col(PostedMessage.target_id))
            .where(PostedMessage.platform == platform)
            .where(PostedMessage.purpose == "approval")
            .where(col(Request.updated_at) > shows)
            .order_by(col(PostedMessage.id))
        ).all()
    )


def find(session: Session, *, platform: str, purpose: str, target_id: int) -> PostedMessage | None:
    return session.exec(
        select(PostedMessage)
        .where(PostedMessage.platform == platform)
        .where(PostedMessage.purpose == purpose)
        .where(PostedMessage.target_id == target_id)
    ).first()


def posted(session: Session, *, platform: str, purpose: str) -> list[PostedMessage]:
    return list(
        session.exec(
            select(PostedMessage)
            .where(PostedMessage.platform == platform)
            .where(PostedMessage.purpose == purpose)
            .order_by(col(PostedMessage.id))
        ).all()
    )


def mark_nudged(session: Session, posted_id: int, now: datetime) -> None:
    row = session.get(PostedMessage, posted_id)
    if row is not None:
        row.nudged_at = now
        session.add(row)


def first_time(session: Session, *, platform: str, event_id: str, now: datetime) -> bool:
    """True the first time an event id is seen; False for every redelivery, even when two
    deliveries race (the unique key decides)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(InboundEvent)
        .values(platform=platform, event_id=event_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(col(InboundEvent.id))
    )
    return session.exec(statement).first() is not None  # type: ignore[call-overload]
