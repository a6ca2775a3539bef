"""Notices queued for a person, worded in their language when shown or sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers import policy
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import intent
from handlers.i18n import format_when, t
from handlers.reply import Button, ListItem, ListView, Reply
from storage import outbox
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
