"""Teams conversation references: where the bot may write without being spoken to."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.db import insert_for
from storage.models import Person, TeamsConversation

PERSONAL = "personal"
CHANNEL = "channel"


def remember_personal(
    session: Session,
    person_id: int,
    *,
    service_url: str,
    now: datetime,
    conversation_id: str | None = None,
    user_id: str | None = None,
    tenant_id: str | None = None,
) -> TeamsConversation:
    """The person's 1:1 reference. Without a `conversation_id` (seen in a channel only)
    an existing conversation is kept and only the addresses are refreshed."""
    _ensure(session, kind=PERSONAL, person_id=person_id, service_url=service_url, now=now)
    row = personal(session, person_id)
    assert row is not None
    row.service_url = service_url
    row.conversation_id = conversation_id or row.conversation_id
    row.user_id = user_id or row.user_id
    row.tenant_id = tenant_id or row.tenant_id
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def remember_channel(
    session: Session, channel_id: str, *, service_url: str, now: datetime, tenant_id: str | None
) -> TeamsConversation:
    _ensure(session, kind=CHANNEL, channel_id=channel_id, service_url=service_url, now=now)
    row = channel(session, channel_id)
    assert row is not None
    row.conversation_id = channel_id
    row.service_url = service_url
    row.tenant_id = tenant_id or row.tenant_id
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def _ensure(
    session: Session,
    *,
    kind: str,
    service_url: str,
    now: datetime,
    person_id: int | None = None,
    channel_id: str | None = None,
) -> None:
    """The reference's row exists: two activities (or instances) remembering the same
    person or channel at once both succeed (the unique key decides who inserts)."""
    insert = insert_for(session)
    key = ["person_id", "kind"] if kind == PERSONAL else ["channel_id"]
    session.exec(
        insert(TeamsConversation)
        .values(
            kind=kind,
            person_id=person_id,
            channel_id=channel_id,
            service_url=service_url,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=key)
    )  # type: ignore[call-overload]


def personal(session: Session, person_id: int) -> TeamsConversation | None:
    return session.exec(
        select(TeamsConversation)
        .where(TeamsConversation.kind == PERSONAL)
        .where(TeamsConversation.person_id == person_id)
    ).first()


def channel(session: Session, channel_id: str) -> TeamsConversation | None:
    return session.exec(
        select(TeamsConversation)
        .where(TeamsConversation.kind == CHANNEL)
        .where(TeamsConversation.channel_id == channel_id)
    ).first()


def approver_user_ids(session: Session, limit: int) -> list[str]:
    """The Teams user ids of active approvers who have written to the bot (the only ones
    Teams can be told to show their own view of a shared card), longest-known first."""
    rows = session.exec(
        select(TeamsConversation.user_id)
        .join(Person, col(Person.id) == col(TeamsConversation.person_id))
        .where(TeamsConversation.kind == PERSONAL)
        .where(col(TeamsConversation.user_id).is_not(None))
        .where(Person.active)
        .where(Person.is_approver)
        .order_by(col(TeamsConversation.id))
        .limit(limit)
    ).all()
    return [str(user_id) for user_id in rows]


def latest(session: Session) -> TeamsConversation | None:
    """The most recently refreshed reference of any kind: where Teams was last reached
    (its serviceUrl and tenant serve a channel the bot has not yet been seen in)."""
    return session.exec(
        select(TeamsConversation).order_by(col(TeamsConversation.updated_at).desc())
    ).first()
