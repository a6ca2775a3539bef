"""Messages the bot posted (to update them later) and inbound events already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import InboundEvent, PostedMessage


def remember(
    session: Session,
    *,
    platform: str,
    purpose: str,
    target_id: int,
    channel: str,
    message_id: str,
    now: datetime,
) -> None:
    existing = find(session, platform=platform, purpose=purpose, target_id=target_id)
    if existing:
        existing.channel, existing.message_id = channel, message_id
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
        )
    )
    session.flush()


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
