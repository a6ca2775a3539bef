"""Where a platform can write without being spoken to first. Teams needs a conversation
reference (its service URL, tenant, conversation or user id) for every proactive
message: a linked person's 1:1 chat and the approval channel, refreshed from each
activity they make. The adapter reads and refreshes them here, as plain `Address`
values; `Audience` names the prefecture's channel as a notice's recipient."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.core.context import Context
from storage import teams
from storage.models import Audience, TeamsConversation

__all__ = [
    "Address",
    "Audience",
    "approver_user_ids",
    "channel",
    "channel_or_latest",
    "personal",
    "remember",
    "remember_created",
]


@dataclass(frozen=True)
class Address:
    """A Teams conversation to write into: a person's chat (`conversation_id`, or only
    their `user_id` when a chat has to be opened) or a channel (`conversation_id`)."""

    service_url: str
    conversation_id: str | None = None
    user_id: str | None = None
    tenant_id: str | None = None
    person_id: int | None = None


def _address(row: TeamsConversation | None) -> Address | None:
    if row is None:
        return None
    return Address(
        service_url=row.service_url,
        conversation_id=row.conversation_id,
        user_id=row.user_id,
        tenant_id=row.tenant_id,
        person_id=row.person_id,
    )


def remember(
    ctx: Context,
    *,
    service_url: str,
    tenant_id: str | None,
    channel_id: str | None = None,
    person_id: int | None = None,
    conversation_id: str | None = None,
    user_id: str | None = None,
) -> None:
    """Refresh, in one transaction, the approval channel's address (`channel_id`: the
    activity came from it) and the sender's (`person_id`; `conversation_id` only when
    the activity came from their 1:1 chat, else an existing chat is kept)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        if channel_id:
            teams.remember_channel(
                session, channel_id, service_url=service_url, now=now, tenant_id=tenant_id
            )
        if person_id is not None:
            teams.remember_personal(
                session,
                person_id,
                service_url=service_url,
                now=now,
                conversation_id=conversation_id,
                user_id=user_id,
                tenant_id=tenant_id,
            )


def remember_created(ctx: Context, address: Address, conversation_id: str) -> None:
    """The 1:1 chat the bot just opened with a person (it had only their user id)."""
    with ctx.db.transaction() as session:
        teams.remember_personal(
            session,
            address.person_id or 0,
            service_url=address.service_url,
            now=ctx.clock.now(),
            conversation_id=conversation_id,
        )


def personal(ctx: Context, person_id: int) -> Address | None:
    with ctx.db.transaction() as session:
        return _address(teams.personal(session, person_id))


def channel(ctx: Context, channel_id: str) -> Address | None:
    with ctx.db.transaction() as session:
        return _address(teams.channel(session, channel_id))


def channel_or_latest(
    ctx: Context, channel_id: str, source: tuple[str, str | None] | None = None
) -> Address | None:
    """The channel's stored address, else (the first time) one made from `source` (the
    service URL and tenant of the activity at hand) or from wherever Teams was last
    reached, and remembered. None: Teams has never been heard from."""
    with ctx.db.transaction() as session:
        stored = teams.channel(session, channel_id)
        if stored is not None:
            return _address(stored)
        if source is None:
            latest = teams.latest(session)
            source = (latest.service_url, latest.tenant_id) if latest else None
        if source is None:
            return None
        row = teams.remember_channel(
            session, channel_id, service_url=source[0], now=ctx.clock.now(), tenant_id=source[1]
        )
        return _address(row)


def approver_user_ids(ctx: Context, limit: int) -> list[str]:
    """The Teams user ids of active approvers who have written to the bot (the only ones
    Teams can be told to show their own view of a shared card), longest-known first."""
    with ctx.db.transaction() as session:
        return teams.approver_user_ids(session, limit=limit)
