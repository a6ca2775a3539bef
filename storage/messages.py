"""Messages the bot posted (to update them later) and inbound events already handled."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from storage.db import insert_for
from storage.models import InboundEvent, PostedMessage, Request

RESERVED = "reserved:"
"""The message id of a reservation starts so (then a token): the post is under way, or
its poster died."""
RESERVATION_TIMEOUT = timedelta(minutes=5)
RETRIES = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6))
"""Back-off of a message that cannot be updated (deleted, its channel archived, or the
platform down); it keeps being tried every 6 hours after the last step."""


def reserve(
    session: Session, *, platform: str, purpose: str, target_id: int, channel: str, now: datetime
) -> str | None:
    """Claim the right to post the one message about a record on a platform: a token
    for exactly one caller, however many instances race (the unique key decides); None
    for the others. A reservation whose poster died is taken over after a few minutes
    (with a new token: the late poster can then neither fill nor release it)."""
    token = f"{RESERVED}{uuid.uuid4().hex}"
    insert = insert_for(session)
    statement = (
        insert(PostedMessage)
        .values(
            platform=platform,
            purpose=purpose,
            target_id=target_id,
            channel=channel,
            message_id=token,
            posted_at=now,
            failures=0,
        )
        .on_conflict_do_nothing(index_elements=["platform", "purpose", "target_id"])
        .returning(col(PostedMessage.id))
    )
    if session.exec(statement).first() is not None:  # type: ignore[call-overload]
        return token
    taken = session.exec(
        update(PostedMessage)
        .where(col(PostedMessage.platform) == platform)
        .where(col(PostedMessage.purpose) == purpose)
        .where(col(PostedMessage.target_id) == target_id)
        .where(col(PostedMessage.message_id).startswith(RESERVED))
        .where(col(PostedMessage.posted_at) < now - RESERVATION_TIMEOUT)
        .values(posted_at=now, message_id=token)
    )  # type: ignore[call-overload]
    return token if taken.rowcount else None


def release(session: Session, token: str) -> None:
    """Give a reservation back (the post failed): the next run posts again. Only its
    holder can."""
    session.exec(delete(PostedMessage).where(col(PostedMessage.message_id) == token))  # type: ignore[call-overload]


def fill(
    session: Session,
    token: str,
    *,
    channel: str,
    message_id: str,
    now: datetime,
    version: datetime | None,
) -> bool:
    """The reserved message was posted here, showing this version of its record. False
    when the reservation was taken over meanwhile (this poster had stalled): the other
    poster's message is the one, and this one should be deleted."""
    filled = session.exec(
        update(PostedMessage)
        .where(col(PostedMessage.message_id) == token)
        .values(channel=channel, message_id=message_id, posted_at=now, shows_version=version)
    )  # type: ignore[call-overload]
    return bool(filled.rowcount)


def shown(session: Session, posted_id: int, version: datetime | None) -> None:
    """The message was just updated to show this version of its record. Recorded as
    given, even if older than before (two updates finishing out of order): then it no
    longer matches and the next run updates it again, so it converges."""
    row = session.get(PostedMessage, posted_id)
    if row is not None:
        row.shows_version, row.retry_at, row.failures = version, None, 0
        session.add(row)


def update_failed(session: Session, posted_id: int, now: datetime) -> None:
    """Try again later, less often each time (every 6 hours after the last step)."""
    row = session.get(PostedMessage, posted_id)
    if row is not None:
        row.retry_at = now + RETRIES[min(row.failures, len(RETRIES) - 1)]
        row.failures += 1
        session.add(row)


def unposted_requests(session: Session, platform: str, states: Collection[str]) -> list[int]:
    """Requests in these states whose approval message is not posted on the platform (a
    reservation does not count: `reserve` decides who posts), oldest first. One query:
    the deliverers ask every second."""
    posted = (
        select(PostedMessage.id)
        .where(PostedMessage.platform == platform)
        .where(PostedMessage.purpose == "approval")
        .where(col(PostedMessage.target_id) == col(Request.id))
        .where(~col(PostedMessage.message_id).startswith(RESERVED))
        .exists()
    )
    return list(
        session.exec(
            select(Request.id)
            .where(col(Request.state).in_(list(states)))
            .where(~posted)
            .order_by(col(Request.id))
        ).all()
    )


def stale_requests(session: Session, platform: str, now: datetime) -> list[PostedMessage]:
    """Approval messages showing another state of their request than it has now (and
    not waiting out a back-off)."""
    return list(
        session.exec(
            select(PostedMessage)
            .join(Request, col(Request.id) == col(PostedMessage.target_id))
            .where(PostedMessage.platform == platform)
            .where(PostedMessage.purpose == "approval")
            .where(~col(PostedMessage.message_id).startswith(RESERVED))
            .where(
                or_(
                    col(PostedMessage.shows_version).is_(None),
                    col(Request.updated_at) != col(PostedMessage.shows_version),
                )
            )
            .where(or_(col(PostedMessage.retry_at).is_(None), col(PostedMessage.retry_at) <= now))
            .order_by(col(PostedMessage.id))
        ).all()
    )


def find(session: Session, *, platform: str, purpose: str, target_id: int) -> PostedMessage | None:
    """The message posted (not a reservation: nothing to update yet)."""
    return session.exec(
        select(PostedMessage)
        .where(PostedMessage.platform == platform)
        .where(PostedMessage.purpose == purpose)
        .where(PostedMessage.target_id == target_id)
        .where(~col(PostedMessage.message_id).startswith(RESERVED))
    ).first()


def posted(session: Session, *, platform: str, purpose: str) -> list[PostedMessage]:
    """The messages posted (reservations left out)."""
    return list(
        session.exec(
            select(PostedMessage)
            .where(PostedMessage.platform == platform)
            .where(PostedMessage.purpose == purpose)
            .where(~col(PostedMessage.message_id).startswith(RESERVED))
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
    insert = insert_for(session)
    statement = (
        insert(InboundEvent)
        .values(platform=platform, event_id=event_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(col(InboundEvent.id))
    )
    return session.exec(statement).first() is not None  # type: ignore[call-overload]


def forget(session: Session, *, platform: str, event_id: str) -> None:
    """Undo `first_time` for an event whose handling failed or changed nothing (a form
    sent back with field errors): the platform's retry, or the person's corrected
    resubmission of the same view, is then handled instead of dropped."""
    session.exec(
        delete(InboundEvent)
        .where(col(InboundEvent.platform) == platform)
        .where(col(InboundEvent.event_id) == event_id)
    )  # type: ignore[call-overload]


def forget_before(session: Session, cutoff: datetime) -> int:
    """Drop the claims of deliveries received before `cutoff`; how many went."""
    result = session.exec(delete(InboundEvent).where(col(InboundEvent.received_at) < cutoff))  # type: ignore[call-overload]
    return int(result.rowcount or 0)
