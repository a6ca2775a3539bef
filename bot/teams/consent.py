"""The reader's answer to a file-consent card (files.py offers a notice's file that
way). On accept the file — built again from the notice, for its own reader only — is
PUT to the upload URL Teams gave, then shown as a file card in place of the consent
card; declined, the reader is told it was not saved.
"""

from __future__ import annotations

import asyncio
import logging

from microsoft_agents.activity import Activity, ActivityTypes
from microsoft_agents.hosting.core import TurnContext

from bot.teams import senders
from bot.teams.activities import message
from bot.teams.files import TRANSFER_ERRORS, file_info, onedrive, put_file
from bot.teams.proactive import SEND_ERRORS
from bot.teams.service import TeamsService
from handlers import router
from handlers.core import payloads
from handlers.core.errors import Refused
from handlers.core.i18n import t
from handlers.core.intents import record_refusal

log = logging.getLogger("dxdesk.teams")


async def answer(service: TeamsService, turn_context: TurnContext) -> None:
    activity = turn_context.activity
    value = activity.value if isinstance(activity.value, dict) else {}
    context = value.get("context") if isinstance(value.get("context"), dict) else {}
    upload = value.get("uploadInfo") if isinstance(value.get("uploadInfo"), dict) else {}
    actor = senders.sender(turn_context)
    if actor is None:
        reply = await asyncio.to_thread(senders.stranger, service, activity, "teams.file")
        await turn_context.send_activity(message(reply))
        return
    notification = context.get("notification")
    ref = payloads.encode(id=notification) if isinstance(notification, int) else ""
    reply = await asyncio.to_thread(router.press, service.ctx, actor, "invite.file", ref)
    if not reply.ok or not reply.files:
        await turn_context.send_activity(message(reply))
        return
    file = reply.files[0]
    if value.get("action") != "accept":
        await turn_context.send_activity(t(actor.language, "teams.file.declined", name=file.name))
        return
    url = str(upload.get("uploadUrl") or "")
    if not service.any_upload_host and not onedrive(url):
        refusal = Refused("refusal.bad_payload", target_type="notification", target_id=notification)
        await asyncio.to_thread(record_refusal, service.ctx, actor, "teams.file", refusal)
        await turn_context.send_activity(t(actor.language, "teams.file.failed", name=file.name))
        return
    try:
        await put_file(url, file.content)
    except TRANSFER_ERRORS:
        log.exception("teams file upload failed")
        await turn_context.send_activity(t(actor.language, "teams.file.failed", name=file.name))
        return
    await turn_context.send_activity(
        Activity(type=ActivityTypes.message, attachments=[file_info(upload, file.name)])
    )
    if activity.reply_to_id:  # the consent card has served its purpose
        try:
            await turn_context.delete_activity(activity.reply_to_id)
        except SEND_ERRORS:
            log.warning("teams consent card %s not removed", activity.reply_to_id)
