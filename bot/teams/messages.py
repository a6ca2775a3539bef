"""A message to the bot, answered: with a card (the form, or what the words ask for),
in the conversation it was asked in; asked in a channel or a group chat, in the
person's own chat with the bot instead — answers, refusals and registration help are
personal (their requests, their private calendar URL), and the channel hears a neutral
line, or nothing for someone the bot does not know. Files sent in the person's own chat
are attached to their latest log or minutes.
"""

from __future__ import annotations

import asyncio
import logging

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext
from sqlalchemy.exc import SQLAlchemyError

from bot.teams import senders
from bot.teams.activities import PERSONAL, message, strip_mention, tenant_of
from bot.teams.files import by_chat, received, sent_files
from bot.teams.proactive import SEND_ERRORS
from bot.teams.service import TeamsService
from handlers import router
from handlers.core.actor import Actor
from handlers.core.i18n import t
from handlers.core.reply import Reply
from handlers.fieldwork import logs
from handlers.notifications import addresses
from handlers.notifications.addresses import Address

log = logging.getLogger("dxdesk.teams")


async def answer(service: TeamsService, turn_context: TurnContext) -> None:
    activity = turn_context.activity
    actor = senders.sender(turn_context)
    conversation = activity.conversation
    personal = conversation is None or conversation.conversation_type in PERSONAL
    files = sent_files(activity)
    if actor is not None and personal and files:
        await turn_context.send_activity(message(await attach(service, actor, files)))
        return
    reply = await asyncio.to_thread(reply_to, service, activity, actor)
    if personal:
        await turn_context.send_activity(message(reply))
        return
    if actor is None:
        await tell_stranger(service, activity, reply)
        return
    language = actor.language
    try:
        await send_personal(service, actor.id, [message(reply)])
    except (*SEND_ERRORS, SQLAlchemyError):
        log.exception("teams answer to a channel message not sent privately")
        await turn_context.send_activity(t(language, "teams.not_sent_privately"))
        return
    await turn_context.send_activity(t(language, "teams.sent_privately"))


def reply_to(service: TeamsService, activity: Activity, actor: Actor | None) -> Reply:
    if actor is None:
        return senders.stranger(service, activity, "teams.message")
    reply = router.command(service.ctx, actor, strip_mention(activity.text or ""))
    return by_chat(reply, actor.language)


async def tell_stranger(service: TeamsService, activity: Activity, reply: Reply) -> None:
    """How to register, for someone unknown who wrote in a channel: in a 1:1 chat
    opened with their Teams user id (nothing is stored for them), else not at all."""
    sender = activity.from_property
    if not sender or not sender.id or not activity.service_url:
        return
    address = Address(
        service_url=activity.service_url,
        user_id=sender.id,
        tenant_id=tenant_of(activity),
    )
    try:
        await service.proactive.send_to_person(address, [message(reply)])
    except SEND_ERRORS:
        log.warning("teams registration help not sent privately")


async def send_personal(service: TeamsService, person_id: int, activities: list[Activity]) -> None:
    """Into the person's 1:1 chat with the bot, opening it if need be."""
    reference = await asyncio.to_thread(addresses.personal, service.ctx, person_id)
    if reference is None:
        raise LookupError("no Teams reference for this person")
    created = await service.proactive.send_to_person(reference, activities)
    if created:
        await asyncio.to_thread(addresses.remember_created, service.ctx, reference, created)


async def attach(service: TeamsService, actor: Actor, files: list[tuple[str, str]]) -> Reply:
    """Files the person sent in their chat with the bot: downloaded (bot/teams/
    files.py) and attached to their latest log or minutes; the answer names it, and
    each file refused with why."""
    limit = service.ctx.rules.attachment_max_bytes
    uploads = await received(files, limit, any_host=service.any_upload_host)
    return await asyncio.to_thread(logs.attach_files, service.ctx, actor, uploads)
