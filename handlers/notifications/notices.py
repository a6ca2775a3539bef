"""Notices queued for a person, worded in their language when shown or sent."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from handlers.core import business_days, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.i18n import format_when, t
from handlers.core.intents import intent
from handlers.core.lookups import notify
from handlers.core.reply import Button, Buttons, File, ListItem, ListView, Reply, Text
from handlers.fieldwork import reminders
from handlers.notifications import digest
from handlers.scheduling import invites
from storage import availability, outbox, people
from storage.models import Audience, Notification, NotificationStatus, Person

MAIL_KINDS = (invites.EMAIL_KIND,)
"""Rows the mail sender delivers; chat deliverers leave them alone."""
RENDERERS: dict[str, Callable[[Context, Session, str, dict[str, Any]], Reply | None]] = {
    digest.KIND: digest.render,
    reminders.ESCALATION: reminders.render_escalation,
}
"""Kinds whose message is built when sent, from the data as it is then."""


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
    lease_until: datetime


def params_of(language: str, payload: dict[str, Any]) -> dict[str, Any]:
    params = dict(payload.get("params") or {})
    if "kind" in params:
        params["kind"] = t(language, f"choice.session_kind.{params['kind']}")
    if "when" in params:
        params["when"] = format_when(language, datetime.fromisoformat(params["when"]))
    if "hint" in params:  # a catalog key (a failed notice's fix), worded for the reader
        params["hint"] = t(language, params["hint"])
    return params


def text_of(language: str, payload: dict[str, Any]) -> str:
    """The notice in words; a batched invite lists its first sessions, one a line, and
    counts the rest (「ほか N 件」, all of them in its .ics) — never a silent cut."""
    text = t(language, payload["message"], **params_of(language, payload))
    listed = payload.get("sessions") or []
    if not listed:
        return text
    lines = [text, *(session_line(language, e) for e in listed[: invites.SHOWN])]
    if len(listed) > invites.SHOWN:
        lines.append(t(language, "invite.notice.batch.more", count=len(listed) - invites.SHOWN))
    return "\n".join(lines)


def session_line(language: str, entry: dict[str, Any]) -> str:
    return t(language, "invite.notice.batch.line", **params_of(language, entry))


def as_item(language: str, notification: Notification) -> ListItem:
    payload = notification.payload
    buttons = buttons_of(language, payload)
    return ListItem(
        title=f"{format_when(language, notification.created_at)} {text_of(language, payload)}",
        buttons=buttons,
    )


@intent("notices.list", policy.NOTICES_VIEW)
def inbox(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    with ctx.db.transaction() as session:
        rows = outbox.for_person(session, actor.id, exclude_kinds=MAIL_KINDS)
    lang = actor.language
    items = tuple(as_item(lang, n) for n in rows)
    return Reply(
        (ListView(t(lang, "list.notices.title"), items, 1, 1, t(lang, "list.notices.empty")),)
    )


def buttons_of(language: str, payload: dict[str, Any]) -> tuple[Button, ...]:
    """A notice's buttons: `buttons` as [action, label key, value] triples, or the one
    「開く」 button of `action`/`ref`."""
    if payload.get("buttons"):
        return tuple(
            Button(action, t(language, label), value) for action, label, value in payload["buttons"]
        )
    if payload.get("action"):
        return (Button(payload["action"], t(language, "button.open"), payload.get("ref") or ""),)
    return ()


def as_reply(language: str, notification: Notification, files: tuple[File, ...] = ()) -> Reply:
    """A queued notice as a message of its own (a DM or a proactive Teams message), with
    the files it carries (an invite's .ics)."""
    payload = notification.payload
    blocks: list[Text | Buttons | File] = [Text(text_of(language, payload))]
    if buttons := buttons_of(language, payload):
        blocks.append(Buttons(buttons))
    blocks.extend(files)
    return Reply(tuple(blocks))


def marked_resent(reply: Reply, language: str) -> Reply:
    """A notice sent again without knowing whether it went out before (a sender died
    mid-send and the platform cannot be asked): marked 再送 at the top, so a reader who
    has it already can skip it."""
    return Reply((Text(t(language, "notice.resent"), "muted"), *reply.blocks))


def compose(
    ctx: Context,
    session: Session,
    language: str,
    notification: Notification,
    files: tuple[File, ...] = (),
) -> Reply | None:
    """The message a row stands for. Digests and escalations are worded from the data as
    it is when they are sent, so a log filed in between is no longer listed as missing;
    None when there is nothing left to say (the row is then cancelled, not sent)."""
    render = RENDERERS.get(notification.kind)
    if render is None:
        return as_reply(language, notification, files)
    rendered = render(ctx, session, language, notification.payload)
    return None if rendered is None else Reply((*rendered.blocks, *files))


@dataclass(frozen=True)
class Outgoing:
    """A claimed notice, worded for its reader: to a person (`person_id`; `to`, their
    platform user id) or to a channel (`audience`), in `language`. `maybe_sent`: a
    sender that died may have sent it."""

    notification_id: int
    key: str
    person_id: int | None
    to: str | None
    audience: str | None
    reply: Reply
    maybe_sent: bool
    lease_until: datetime
    language: str
    queued_at: datetime | None = None  # nothing of it can have gone out before this


def claim(
    ctx: Context, platform: str | None, limit: int = 50, audiences: Collection[str] = ()
) -> list[Outgoing]:
    """Due notices for people whose notices go to `platform` (None: everyone; see
    people.notified_on: each person's go to exactly one platform, the one they last used)
    and for these channels, claimed for sending. Nothing is claimed outside business
    hours: it waits for the next business morning. Notices to someone on leave today wait
    until they are back.
    An invite's .ics is built from the content the row was queued with (what was true
    then), from the service's own address."""
    now = ctx.clock.now()
    if not business_days.is_business_time(ctx.rules, now):
        return []
    with ctx.db.transaction() as session:
        # platform None: everyone, addressed by person id (the demo's narrated "chat")
        reachable = (
            people.notified_on(session, platform)
            if platform
            else {p.id or 0: str(p.id) for p in people.listing(session)}
        )
        claims = outbox.claim_due(
            session,
            now,
            list(reachable),
            limit,
            exclude_kinds=MAIL_KINDS,
            audiences=audiences,
        )
        claims = _hold_for_leave(ctx, session, claims)
        known = people.by_ids(session, _person_ids(claims))
        out = []
        for claim in claims:
            row = claim.notification
            person = known.get(row.person_id) if row.person_id else None
            language = _language(ctx, person)
            files = (
                (
                    invites.invite_file(
                        session, row.payload, language, now, ctx.rules.organizer_email
                    ),
                )
                if row.kind == invites.CHAT_KIND
                else ()
            )
            reply = compose(ctx, session, language, row, files)
            if reply is None:
                outbox.cancel_claimed(session, row.id or 0)
                continue
            out.append(
                Outgoing(
                    notification_id=row.id or 0,
                    key=row.key,
                    person_id=row.person_id,
                    to=reachable[row.person_id] if row.person_id else None,
                    audience=row.audience,
                    reply=reply,
                    maybe_sent=claim.maybe_sent,
                    lease_until=claim.lease_until,
                    language=language,
                    queued_at=row.created_at,
                )
            )
    return out


def _hold_for_leave(
    ctx: Context, session: Session, claims: list[outbox.Claim]
) -> list[outbox.Claim]:
    today = ctx.clock.now().astimezone(TOKYO).date()
    leave = availability.on_leave_among(session, _person_ids(claims), today)
    away = [c for c in claims if c.notification.person_id and c.notification.person_id in leave]
    back = datetime.combine(business_days.add_business_days(today, 1), ctx.rules.office_open, TOKYO)
    outbox.defer(session, away, back)
    return [c for c in claims if c not in away]


def _person_ids(claims: list[outbox.Claim]) -> set[int]:
    return {c.notification.person_id for c in claims if c.notification.person_id}


def claim_mail(ctx: Context, limit: int = 50) -> list[Mail]:
    """Due invite e-mails, claimed for sending; a row whose person has lost their
    address goes back to the queue (and fails after the usual attempts), and one to the
    service's own address (the ORGANIZER and From) is cancelled. The .ics is built from
    the content the row was queued with."""
    out: list[Mail] = []
    now = ctx.clock.now()
    if not business_days.is_business_time(ctx.rules, now):
        return out  # e-mail waits for the business morning too
    with ctx.db.transaction() as session:
        claims = outbox.claim_due(session, now, None, limit, kinds=MAIL_KINDS)
        known = people.by_ids(session, _person_ids(claims))
        for claim in claims:
            row = claim.notification
            person = known.get(row.person_id) if row.person_id else None
            if person is None or not person.active:
                outbox.cancel_claimed(session, row.id or 0)
                continue
            if not person.email:
                outbox.finish(session, row.id or 0, sent=False, now=now)
                continue
            if invites.is_organizer(person.email, ctx.rules.organizer_email):
                outbox.cancel_claimed(session, row.id or 0)
                continue
            language = _language(ctx, person)
            payload = row.payload
            invite = invites.invite_file(session, payload, language, now, ctx.rules.organizer_email)
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
                    subject=t(
                        language, invites.subject_key(payload), **params_of(language, payload)
                    ),
                    body="\n\n".join(body) + "\n",
                    ics=invite.content,
                    method=payload["method"],
                    lease_until=claim.lease_until,
                )
            )
    return out


def _language(ctx: Context, person: Person | None) -> str:
    return (person.language if person else None) or ctx.rules.language


def hand_back(ctx: Context, notification_id: int) -> None:
    """Give a claimed notice back untouched (its person's notices go to another platform
    now): the next claim on that platform sends it; `finish` then leaves it alone."""
    with ctx.db.transaction() as session:
        outbox.hand_back(session, notification_id, ctx.clock.now())


def finish(
    ctx: Context,
    notification_id: int,
    *,
    sent: bool,
    lease_until: datetime | None = None,
    retry_after: timedelta | None = None,
    reason: str | None = None,
    permanent: bool = False,
    throttled: bool = False,
    maybe_sent: bool = True,
    platform: str | None = None,
) -> bool:
    """Record the outcome (see outbox.finish); False when our lease had run out and the
    row is another sender's now (then nothing is changed). A row that ends `failed` is
    told to the admins — once per reason and day, not per row (see tell_admins)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        ours = outbox.finish(
            session,
            notification_id,
            sent=sent,
            now=now,
            lease_until=lease_until,
            retry_after=retry_after,
            reason=reason,
            permanent=permanent,
            throttled=throttled,
            maybe_sent=maybe_sent,
        )
        row = outbox.get(session, notification_id) if ours and not sent else None
        if row is not None and row.status == NotificationStatus.FAILED:
            tell_admins(session, reason or "unknown", platform or "-", now)
        return ours


FAILED_KIND = "outbox.failed"
FAILURE_HINTS = (
    "missing_scope",
    "not_in_channel",
    "channel_not_found",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "invalid_app_credentials",  # Teams (bot/teams/proactive.py outcome_of)
    "bot_blocked",
    "conversation_not_found",
)
"""Reasons with a worded fix (catalog `outbox.reason.<reason>`); others get the generic."""


def tell_admins(session: Session, reason: str, platform: str, now: datetime) -> None:
    """One notice per reason and day to the admins (to the prefecture's channel when
    there are none), worded with what to fix and how to resend: a hundred rows failing
    for one missing scope make one notice. Its key makes it once; if it cannot be sent
    either, its own failure has the same key and adds nothing."""
    key = f"{FAILED_KIND}:{platform}:{reason}:{now.astimezone(TOKYO).date().isoformat()}"
    hint = f"outbox.reason.{reason if reason in FAILURE_HINTS else 'other'}"
    params = {"reason": reason, "platform": platform, "hint": hint}
    message = "notice.outbox_failed"
    admins = [p.id or 0 for p in people.listing(session, "admin")]
    if admins:
        notify(session, key=key, person_ids=admins, message=message, params=params, now=now)
    else:
        outbox.enqueue(
            session,
            key=key,
            kind=FAILED_KIND,
            payload={"message": message, "params": params},
            due_at=now,
            now=now,
            audience=Audience.PREFECTURE,
        )
