"""Reading the activities Teams sends and building the ones the bot sends back: who
sent it and from where, whether the person did it (rather than Teams on their behalf),
and replies as Adaptive Card messages or invoke responses."""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, Attachment

from bot.teams import cards
from handlers.core import payloads, policy
from handlers.core.reply import Button, Reply
from handlers.intake import approval_card

CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"
PERSONAL = (None, "personal")  # conversation types of a 1:1 chat with the bot


def acted(activity: Activity) -> bool:
    """Whether the person did this (wrote, clicked), rather than Teams on their behalf."""
    return activity.type == ActivityTypes.message or (
        activity.type == ActivityTypes.invoke and not automatic(activity)
    )


def automatic(activity: Activity) -> bool:
    """A universal action Teams ran by itself (a card's refresh as it is shown)."""
    value = activity.value if isinstance(activity.value, dict) else {}
    return activity.name == "adaptiveCard/action" and value.get("trigger") == "automatic"


def tenant_of(activity: Activity) -> str | None:
    if activity.conversation and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else {}
    value = tenant.get("id")
    return str(value) if value else None


def aad_id(activity: Activity) -> str | None:
    sender = activity.from_property
    return sender.aad_object_id if sender and sender.aad_object_id else None


def strip_mention(text: str) -> str:
    """In a channel the message starts with <at>DX Desk</at>: drop it."""
    while "<at>" in text and "</at>" in text:
        start, end = text.index("<at>"), text.index("</at>") + len("</at>")
        text = text[:start] + text[end:]
    return text.strip()


def message(reply: Reply, *, refresh: Refresh | None = None) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=cards.fallback_text(reply)[:200],  # the notification preview
        attachments=[Attachment(content_type=CARD, content=card_of(reply, refresh))],
    )


Refresh = tuple[Button, list[str]]
"""A card's universal-action refresh: the action, and the Teams users it runs for."""


def card_of(reply: Reply, refresh: Refresh | None) -> dict[str, Any]:
    card = cards.card(reply)
    return cards.with_refresh(card, *refresh) if refresh else card


def staff_view(request_id: int) -> Button:
    """The refresh that shows an approver their own view of the shared card."""
    opens = policy.declaration(approval_card.staff_card).name
    return Button(opens, "", payloads.encode(id=request_id))


def answer(reply: Reply, *, card: bool = False, refresh: Refresh | None = None) -> dict[str, Any]:
    """The invoke response: the refreshed card, or a message that leaves the card be."""
    if card:
        return {"statusCode": 200, "type": CARD, "value": card_of(reply, refresh)}
    return {"statusCode": 200, "type": MESSAGE, "value": cards.fallback_text(reply)}
