"""Notices queued for a person, worded in their language when shown or sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers import policy
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import intent
from handlers.i18n import format_when, t
from handlers.reply import Button, Buttons, ListItem, ListView, Reply, Text
from storage import outbox, people
from storage.models import Notification


def text_of(language: str, payload: dict[str, Any]) -> str:
    params = dict(payload.get("params") or {})
    if "kind" in params:
        params["kind"] = t(language, f"choice.session_kind.{params['kind']}")
    if "when" in params:
        params["when"] = format_when(language, datetime.fromisoformat(params["when"]))
    return t(language, payload["message"], **params)


def as_item(language: str, notification: Notification) -> ListItem:
    payload = notification.payload
    buttons: tuple[Button, ...] = ()
    if payload.get("action"):
        buttons = (Button(payload["action"], t(language, "button.open"), payload.get("ref") or ""),)
    return ListItem(
        title=f"{format_when(language, notification.created_at)} {text_of(language, payload)}",
        buttons=buttons,
    )


@intent("notices.list")
def inbox(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    policy.require(actor, "notices.view")
    with ctx.db.transaction() as session:
        rows = outbox.for_person(session, actor.id)
    lang = actor.language
    items = tuple(as_item(lang, n) for n in rows)
    return Reply(
        (ListView(t(lang, "list.notices.title"), items, 1, 1, t(lang, "list.notices.empty")),)
    )


def as_reply(language: str, notification: Notification) -> Reply:
    """A queued notice as a message of its own (a DM or a proactive Teams message)."""
    payload = notification.payload
    blocks: list[Text | Buttons] = [Text(text_of(language, payload))]
    if payload.get("action"):
        blocks.append(
            Buttons(
                (Button(payload["action"], t(language, "button.open"), payload.get("ref") or ""),)
            )
        )
    return Reply(tuple(blocks))


def claim(ctx: Context, platform: str, limit: int = 50) -> list[tuple[int, str, Reply]]:
    """Due notices for people reachable on `platform`, claimed for sending:
    (notification id, platform user id, the message in the person's language)."""
    with ctx.db.transaction() as session:
        reachable = people.with_identity(session, platform)
        rows = outbox.claim_due(session, ctx.clock.now(), list(reachable), limit)
        out = []
        for row in rows:
            person = people.get(session, row.person_id)
            language = (person.language if person else None) or ctx.rules.language
            out.append((row.id or 0, reachable[row.person_id], as_reply(language, row)))
    return out


def finish(ctx: Context, notification_id: int, *, sent: bool) -> None:
    with ctx.db.transaction() as session:
        outbox.finish(session, notification_id, sent=sent, now=ctx.clock.now())
