"""Notices queued for a person, worded in their language when shown or sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers import invites, policy
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import intent
from handlers.i18n import format_when, t
from handlers.reply import Button, Buttons, File, ListItem, ListView, Reply, Text
from storage import outbox, people
from storage.models import Notification, Person

MAIL_KINDS = (invites.EMAIL_KIND,)
"""Rows the mail sender delivers; chat deliverers leave them alone."""


@dataclass(frozen=True)
class Mail:
    """A queued invite e-mail, worded in the recipient's language, ready for SMTP."""

    notification_id: int
    to_name: str
    to_email: str
    subject: str
    body: str
    ics: bytes
    method: str


def params_of(language: str, payload: dict[str, Any]) -> dict[str, Any]:
    params = dict(payload.get("params") or {})
    if "kind" in params:
        params["kind"] = t(language, f"choice.session_kind.{params['kind']}")
    if "when" in params:
        params["when"] = format_when(language, datetime.fromisoformat(params["when"]))
    return params


def text_of(language: str, payload: dict[str, Any]) -> str:
    return t(language, payload["message"], **params_of(language, payload))


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
        rows = outbox.for_person(session, actor.id, exclude_kinds=MAIL_KINDS)
    lang = actor.language
    items = tuple(as_item(lang, n) for n in rows)
    return Reply(
        (ListView(t(lang, "list.notices.title"), items, 1, 1, t(lang, "list.notices.empty")),)
    )


def as_reply(language: str, notification: Notification, files: tuple[File, ...] = ()) -> Reply:
    """A queued notice as a message of its own (a DM or a proactive Teams message), with
    the files it carries (an invite's .ics)."""
    payload = notification.payload
    blocks: list[Text | Buttons | File] = [Text(text_of(language, payload))]
    if payload.get("action"):
        blocks.append(
            Buttons(
                (Button(payload["action"], t(language, "button.open"), payload.get("ref") or ""),)
            )
        )
    blocks.extend(files)
    return Reply(tuple(blocks))


def claim(ctx: Context, platform: str, limit: int = 50) -> list[tuple[int, str, Reply]]:
    """Due notices for people reachable on `platform`, claimed for sending:
    (notification id, platform user id, the message in the person's language).
    An invite's .ics is rendered now, from the session as stored, with the SEQUENCE and
    METHOD the row was queued with."""
    with ctx.db.transaction() as session:
        now = ctx.clock.now()
        reachable = people.with_identity(session, platform)
        rows = outbox.claim_due(session, now, list(reachable), limit, exclude_kinds=MAIL_KINDS)
        out = []
        for row in rows:
            language = _language(ctx, people.get(session, row.person_id))
            files = (
                (invites.invite_file(session, row.payload, language, now),)
                if row.kind == invites.CHAT_KIND
                else ()
            )
            out.append((row.id or 0, reachable[row.person_id], as_reply(language, row, files)))
    return out


def claim_mail(ctx: Context, limit: int = 50) -> list[Mail]:
    """Due invite e-mails, claimed for sending; a row whose person has lost their
    address goes back to the queue (and fails after the usual attempts)."""
    out = []
    with ctx.db.transaction() as session:
        now = ctx.clock.now()
        for row in outbox.claim_due(session, now, None, limit, kinds=MAIL_KINDS):
            person = people.get(session, row.person_id)
            if person is None or not person.email:
                outbox.finish(session, row.id or 0, sent=False, now=now)
                continue
            language = _language(ctx, person)
            payload = row.payload
            invite = invites.invite_file(session, payload, language, now)
            kind = invites.variant(payload["method"], int(payload["sequence"]))
            body = (
                t(language, "mail.greeting", name=person.name),
                text_of(language, payload),
                t(language, "mail.footer"),
            )
            out.append(
                Mail(
                    notification_id=row.id or 0,
                    to_name=person.name,
                    to_email=person.email,
                    subject=t(language, invites.SUBJECTS[kind], **params_of(language, payload)),
                    body="\n\n".join(body) + "\n",
                    ics=invite.content,
                    method=payload["method"],
                )
            )
    return out


def _language(ctx: Context, person: Person | None) -> str:
    return (person.language if person else None) or ctx.rules.language


def finish(ctx: Context, notification_id: int, *, sent: bool) -> None:
    with ctx.db.transaction() as session:
        outbox.finish(session, notification_id, sent=sent, now=ctx.clock.now())
