"""Who an activity is from, and where they can be written to later: the Teams user (AAD
object id) resolved to an Actor once per turn, the explanation (and audit entry) for
someone the desk does not know, and the conversation addresses every activity refreshes
— the sender's own chat and the approval channel (handlers/notifications/addresses.py).
"""

from __future__ import annotations

import asyncio
import logging

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext
from sqlalchemy.exc import SQLAlchemyError

from bot.teams.activities import PERSONAL, aad_id, acted, automatic, tenant_of
from bot.teams.service import PLATFORM, TeamsService
from handlers.core.actor import Actor
from handlers.core.errors import Refused
from handlers.core.intents import record_refusal
from handlers.core.reply import Reply
from handlers.notifications import addresses
from handlers.people import roster

log = logging.getLogger("dxdesk.teams")
SENDER = "dxdesk.sender"  # the turn state's key for the Actor behind the activity


async def arrive(service: TeamsService, turn_context: TurnContext) -> None:
    """Who sent the activity, looked up once for the whole turn (`sender`), and where
    they can be written to refreshed — but not each time a card is shown."""

    def look_up(activity: Activity) -> Actor | None:
        found = actor(service, activity)
        if not automatic(activity):
            remember(service, activity, found)
        return found

    turn_context.turn_state[SENDER] = await asyncio.to_thread(look_up, turn_context.activity)


def sender(turn_context: TurnContext) -> Actor | None:
    return turn_context.turn_state.get(SENDER)


def actor(service: TeamsService, activity: Activity) -> Actor | None:
    user_id = aad_id(activity)
    if not user_id:
        return None
    # Only what the person does is their using Teams (their notices go where they last
    # acted): not a card refreshing itself on screen, a reaction or a membership change.
    return roster.identify(service.ctx, PLATFORM, user_id, inbound=acted(activity))


def stranger(service: TeamsService, activity: Activity, what: str) -> Reply:
    """The explanation for an unregistered user, and an audit entry of the attempt."""
    user_id = aad_id(activity) or (activity.from_property.id if activity.from_property else "")
    record_refusal(
        service.ctx,
        None,
        what,
        Refused("identity.unknown", target_type="teams_user", target_id=str(user_id)[:50]),
    )
    return roster.unknown_user(service.lang)


def remember(service: TeamsService, activity: Activity, actor: Actor | None) -> None:
    """Refresh where the sender (a linked person) and the approval channel can be
    written to later. Never fails the turn: a write that fails (two turns racing to
    insert, the database gone) leaves the address as it was until the next activity."""
    conversation = activity.conversation
    if not activity.service_url or conversation is None or not conversation.id:
        return
    base = conversation.id.split(";", 1)[0]  # a channel reply: "19:…;messageid=…"
    personal = conversation.conversation_type in PERSONAL
    try:
        addresses.remember(
            service.ctx,
            service_url=activity.service_url,
            tenant_id=tenant_of(activity),
            channel_id=base if service.channel and base == service.channel else None,
            person_id=actor.id if actor is not None else None,
            conversation_id=conversation.id if personal else None,
            user_id=activity.from_property.id if activity.from_property else None,
        )
    except SQLAlchemyError:
        log.exception("teams conversation reference not stored")
