"""The terminal inbox: notices the local service delivered to people no chat platform
reaches (and, with no chat platform at all, the prefecture channel's messages), kept
with their text as it was rendered so `python -m bot console --as NAME` shows them later.

A message is delivered once per outbox row (`notification_id` is unique: a sender that
died after writing it and is retried finds it there). Read marks are per reader, so
each of the prefecture's staff reads the channel's messages for themselves."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, or_, select

from storage.models import ChatIdentity, InboxMessage, InboxRead, Person

TERMINAL = "terminal"
"""The platform name of the terminal inbox (as in `Notification` deliveries and logs)."""


@dataclass(frozen=True)
class Entry:
    message: InboxMessage
    read: bool


def without_chat(session: Session) -> dict[int, str]:
    """person id → their id as text, for everyone active with no chat identity at all:
    the terminal inbox is their platform (see people.notified_on for the others)."""
    linked = select(ChatIdentity.person_id).where(ChatIdentity.person_id == Person.id).exists()
    ids = session.exec(select(Person.id).where(Person.active).where(~linked)).all()
    return {i: str(i) for i in ids if i is not None}


def deliver(
    session: Session,
    *,
    notification_id: int,
    person_id: int | None,
    audience: str | None,
    text: str,
    files: Sequence[str],
    buttons: Sequence[tuple[str, str, str]],
    now: datetime,
) -> InboxMessage:
    """Store a delivered notice; delivering the same row again returns the first copy."""
    found = session.exec(
        select(InboxMessage).where(InboxMessage.notification_id == notification_id)
    ).first()
    if found is not None:
        return found
    message = InboxMessage(
        notification_id=notification_id,
        person_id=person_id,
        audience=audience,
        text=text,
        files=list(files),
        buttons=[list(b) for b in buttons],
        delivered_at=now,
    )
    session.add(message)
    session.flush()
    return message


def _for(person_id: int, audiences: Collection[str]):  # type: ignore[no-untyped-def]
    mine = col(InboxMessage.person_id) == person_id
    if not audiences:
        return mine
    return or_(mine, col(InboxMessage.audience).in_(list(audiences)))


def messages(
    session: Session, person_id: int, audiences: Collection[str] = (), *, limit: int = 50
) -> list[Entry]:
    """This reader's messages (their own, and those of these channels), unread first,
    newest first within each."""
    read_ids = set(
        session.exec(select(InboxRead.message_id).where(InboxRead.person_id == person_id)).all()
    )
    rows = session.exec(
        select(InboxMessage)
        .where(_for(person_id, audiences))
        .order_by(col(InboxMessage.delivered_at).desc(), col(InboxMessage.id).desc())
    ).all()
    entries = [Entry(m, m.id in read_ids) for m in rows]
    entries.sort(key=lambda e: e.read)  # stable: newest first within unread and read
    return entries[:limit]


def unread_count(session: Session, person_id: int, audiences: Collection[str] = ()) -> int:
    return sum(not e.read for e in messages(session, person_id, audiences, limit=10**9))


def mark_read(session: Session, person_id: int, message_ids: Collection[int], now: datetime) -> int:
    """Mark these messages read by this reader (again: no change); how many were new."""
    already = set(
        session.exec(
            select(InboxRead.message_id)
            .where(InboxRead.person_id == person_id)
            .where(col(InboxRead.message_id).in_(list(message_ids)))
        ).all()
    )
    new = [i for i in message_ids if i not in already]
    for message_id in new:
        session.add(InboxRead(message_id=message_id, person_id=person_id, read_at=now))
    session.flush()
    return len(new)
