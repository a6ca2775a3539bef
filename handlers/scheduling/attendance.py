"""Answers to a session notice: 出席できません and 日程変更を相談 (issue #17).

Invites ask calendars for no reply (RSVP=FALSE): a decline sent from Outlook or Gmail
would reach a mailbox nobody reads. The notice's buttons are the way to answer instead,
on every platform (they are plain `Buttons` of the reply model). An answer is recorded in
the audit log (`attendance.decline` / `attendance.change`, with the SEQUENCE answered)
and told to the prefecture's channel as a notice with a button to move the session; a
change request then opens the reschedule form for someone who may move the session
(`scheduling.may_change`), and otherwise says the prefecture will be in touch.

Only an attendee of the session (`invites.attendees_of`) may answer, and only while it
is booked and has not begun; anyone else is refused (and audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Session

from handlers.core import payloads, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import format_when, t
from handlers.core.intents import intent
from handlers.core.lookups import PAGE_SIZE, next_page, pages
from handlers.core.reply import Button, Field, ListItem, ListView, Reply, Text
from handlers.scheduling import booking, invites
from storage import audit, outbox, sessions
from storage.models import Audience, Role, SessionStatus, SupportSession

Answer = Literal["decline", "change"]
KIND = "attendance"  # the outbox kind of the prefecture's channel notice


def _attended(ctx: Context, session: Session, actor: Actor, ref: str) -> SupportSession:
    """The booked, not yet begun session `actor` is an attendee of; otherwise `Refused`."""
    session_id = payloads.require_id(ref)
    row = sessions.get(session, session_id)
    if row is None or row.status != SessionStatus.BOOKED:
        raise Refused("refusal.no_such_session", target_type="session", target_id=session_id)
    if row.starts_at <= ctx.clock.now():
        raise Refused("refusal.session_started", target_type="session", target_id=session_id)
    policy.owns(
        actor,
        policy.SESSION_VIEW,
        addressees=[p.id or 0 for p, _role in invites.attendees_of(session, row)],
        target_type="session",
        target_id=session_id,
    )
    return row


def _record(
    ctx: Context, session: Session, actor: Actor, row: SupportSession, answer: Answer
) -> None:
    """The answer in the audit log, and once per person, answer and SEQUENCE a notice to
    the prefecture's channel (pressing twice tells them once)."""
    now: datetime = ctx.clock.now()
    session_id = row.id or 0
    audit.record(
        session,
        at=now,
        actor_id=actor.id,
        action=f"{KIND}.{answer}",
        target_type="session",
        target_id=session_id,
        after={"sequence": row.sequence},
    )
    outbox.enqueue(
        session,
        key=f"{KIND}.{answer}:{session_id}:{row.sequence}:{actor.id}",
        kind=KIND,
        audience=Audience.PREFECTURE,
        payload={
            "message": f"notice.attendance.{answer}",
            "params": {
                "name": actor.name,
                "kind": row.kind,
                "when": row.starts_at.isoformat(),
                "where": invites.where_of(session, row, ctx.rules.language),
            },
            "buttons": [["session.move.form", "button.move", payloads.encode(id=session_id)]],
        },
        due_at=now,
        now=now,
    )


def _said(ctx: Context, session: Session, actor: Actor, row: SupportSession) -> dict[str, str]:
    lang = actor.language
    return {
        "kind": t(lang, f"choice.session_kind.{row.kind}"),
        "when": format_when(lang, row.starts_at),
        "where": invites.where_of(session, row, lang),
    }


@intent("attendance.decline", policy.SESSION_VIEW, target="session")
def decline(ctx: Context, actor: Actor, ref: str) -> Reply:
    """出席できません: recorded, and the prefecture told."""
    with ctx.db.transaction() as session:
        row = _attended(ctx, session, actor, ref)
        _record(ctx, session, actor, row, "decline")
        said = _said(ctx, session, actor, row)
    return Reply(
        (Text(t(actor.language, "attendance.declined", **said), "success"),),
        data={"session_id": row.id, "answer": "decline"},
    )


@intent("attendance.change", policy.SESSION_VIEW, target="session")
def change(ctx: Context, actor: Actor, ref: str) -> Reply:
    """日程変更を相談: recorded, the prefecture told, and the reschedule form opened for
    someone who may move the session (otherwise the prefecture comes back to them)."""
    with ctx.db.transaction() as session:
        row = _attended(ctx, session, actor, ref)
        _record(ctx, session, actor, row, "change")
        said = _said(ctx, session, actor, row)
        movable = booking.may_change(ctx, actor, row)
    lang = actor.language
    if not movable:
        return Reply(
            (Text(t(lang, "attendance.change_requested", **said), "success"),),
            data={"session_id": row.id, "answer": "change"},
        )
    form = booking.move_form(ctx, actor, ref)
    return Reply(
        (Text(t(lang, "attendance.change_form", **said)), *form.blocks),
        data={"session_id": row.id, "answer": "change"},
    )


@intent("attendance.list", policy.SESSION_VIEW)
def listing(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """The reader's coming sessions, a page at a time, each with the two answers: where a
    batched notice (dozens of sessions) sends them to answer for one session."""
    lang = actor.language
    page = payloads.decode(ref).page if ref else 1
    with ctx.db.transaction() as session:
        rows = sessions.listing(
            session,
            start=ctx.clock.now(),
            consultant_id=actor.id if actor.role == Role.CONSULTANT else None,
            municipality_id=actor.municipality_id if actor.role == Role.MUNICIPAL else None,
        )
        total = pages(len(rows))
        page = min(max(page, 1), total)
        items = tuple(
            _item(session, lang, row) for row in rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        )
    more = next_page(lang, "attendance.list", page, total)
    return Reply(
        (
            Text(t(lang, "attendance.list.intro", count=len(rows))),
            ListView(
                t(lang, "attendance.list.title"),
                items,
                page,
                total,
                t(lang, "list.sessions.empty"),
                more=more,
            ),
        )
    )


def _item(session: Session, lang: str, row: SupportSession) -> ListItem:
    return ListItem(
        title=f"{format_when(lang, row.starts_at)} {t(lang, f'choice.session_kind.{row.kind}')}",
        fields=(Field(t(lang, "field.place"), invites.where_of(session, row, lang)),),
        buttons=tuple(
            Button(action, t(lang, label), value)
            for action, label, value in invites.answer_buttons(row.id or 0)
        ),
    )
