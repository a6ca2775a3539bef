"""A card button or form submit: an `Action.Execute` invoke (`adaptiveCard/action`). It
runs `router.press`/`router.submit`, and its invoke response is the refreshed card, so
field errors and decisions show in place; a refusal answers with a message and leaves
the card as it was. An action that changes a request's approval card keeps that card
current (channel.py); an approver's view of the card keeps refreshing for the
approvers Teams knows. Handlers block on the database, so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext

from bot.teams import cards, senders
from bot.teams.activities import CARD, answer, automatic, staff_view
from bot.teams.channel import ApprovalChannel
from bot.teams.files import by_chat
from bot.teams.service import TeamsService
from handlers import router
from handlers.core import payloads, policy
from handlers.core.actor import Actor
from handlers.core.errors import Refused
from handlers.intake import approval_card

STAFF_CARD = policy.declaration(approval_card.staff_card).name
"""The action that opens (and refreshes) an approver's own view of the shared card."""
STAFF_VIEWS = (*approval_card.DECISIONS, STAFF_CARD)
"""Answers that are an approver's own view of the channel's shared card."""


def data_of(activity: Activity) -> dict[str, Any]:
    """The action's data (its verb under "action", a form's fields beside it)."""
    value = activity.value if isinstance(activity.value, dict) else {}
    action = value.get("action") if isinstance(value.get("action"), dict) else {}
    data = action.get("data") if isinstance(action.get("data"), dict) else {}
    return dict(data)


async def respond(
    service: TeamsService, approvals: ApprovalChannel, turn_context: TurnContext
) -> dict[str, Any]:
    """The invoke response's body."""
    activity = turn_context.activity
    data = data_of(activity)
    actor = senders.sender(turn_context)
    quiet = await asyncio.to_thread(shared_view, service, approvals, activity, data, actor)
    if quiet is not None:
        return quiet
    if actor is None:
        what = str(data.get("action"))[:50]
        return answer(await asyncio.to_thread(senders.stranger, service, activity, what))
    ctx = service.ctx
    action = str(data.get("action") or "")
    if "context" in data:
        values = cards.submitted_values(data)
        context = str(data.get("context") or "")
        reply = await asyncio.to_thread(router.submit, ctx, actor, action, values, context)
    else:
        value = str(data.get("value") or "")
        reply = await asyncio.to_thread(router.press, ctx, actor, action, value)
    if not reply.ok and not reply.data.get("errors"):
        return answer(reply)  # refused: the card stays as it was
    reply = by_chat(reply, actor.language)
    request_id = reply.data.get("request_id")
    if reply.ok and request_id and approval_card.changes_card(action):
        await approvals.card_after(turn_context, action, int(request_id))
        if action in approval_card.DECISIONS:  # the approver's own view, refreshed
            reply = await asyncio.to_thread(approval_card.card, ctx, int(request_id), service.lang)
    if action in STAFF_VIEWS and request_id:  # an approver's view keeps refreshing
        user_ids = await asyncio.to_thread(approvals.approver_user_ids)
        return answer(reply, card=True, refresh=(staff_view(int(request_id)), user_ids))
    return answer(reply, card=True)


def shared_view(
    service: TeamsService,
    approvals: ApprovalChannel,
    activity: Activity,
    data: dict[str, Any],
    actor: Actor | None,
) -> dict[str, Any] | None:
    """A card in the approval channel refreshing itself for someone who may not
    decide (in a small channel Teams refreshes a shared card for everyone): the card
    everyone sees, without an audit entry each time it scrolls past. None: the usual
    path (an approver, a click, or anything not from the approval channel — which
    refuses and audits what it must)."""
    conversation = activity.conversation
    channel = service.channel
    in_channel = bool(channel and conversation and conversation.id)
    if not (in_channel and automatic(activity) and data.get("action") == STAFF_CARD):
        return None
    if conversation.id.split(";", 1)[0] != channel:  # type: ignore[union-attr]
        return None
    if actor is not None and policy.allowed(actor, approval_card.staff_card):
        return None
    try:
        request_id = payloads.require_id(str(data.get("value") or ""))
        card, _ = approvals.shared_card(request_id)
    except (Refused, LookupError):
        return None
    return {"statusCode": 200, "type": CARD, "value": card.attachments[0].content}
