"""Signing in to the desk (the pages in the browser) without a password.

`/dx ダッシュボード` (Slack), 「ダッシュボード」 to the bot (Teams) or the menu entry (the
terminal) runs `desk.link`: a one-time link, valid ten minutes, answered to the person
only (Slack's ephemeral reply, Teams' personal chat), since whoever holds it signs in as
them. Opening it shows a page with one button; only that POST spends the link, so a link
preview or a mail scanner fetching the URL cannot use it up. A spent link opens a
browser session (storage/web_sessions.py).

`start_session(ctx, person_id, method)` is the one way a session begins: a later sign-in
with Microsoft Entra ID or Slack checks the person its own way, then calls it with its
method name. Everything here is audited: links handed out, sign-ins, refusals (unknown,
expired or reused links), sign-outs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from handlers.core import policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import t
from handlers.core.intents import intent, record_refusal
from handlers.core.reply import Field, Fields, Reply, Text
from storage import audit, people, web_sessions

# The session's lengths and the link's states, read from here by the desk's pages (bot/desk)
from storage.web_sessions import ABSOLUTE as ABSOLUTE
from storage.web_sessions import IDLE as IDLE
from storage.web_sessions import LINK_VALID as LINK_VALID
from storage.web_sessions import LinkState as LinkState

LINK_METHOD = "link"
SIGNIN_PATH = "/desk/signin/"  # bot/desk/app.py mounts the desk at /desk
LINK_REFUSALS = {
    LinkState.UNKNOWN: "desk.signin.unknown",
    LinkState.EXPIRED: "desk.signin.expired",
    LinkState.USED: "desk.signin.used",
}


@intent("desk.link", policy.DESK_LINK)
def link(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """A new one-time sign-in link for this person (shown once: only its hash is kept)."""
    base = ctx.rules.desk_url
    if not base:
        raise Refused("desk.link.no_public_url", target_type="setting", target_id="public_url")
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        token = web_sessions.issue_link(session, actor.id, now)
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="desk.link",
            target_type="person",
            target_id=actor.id,
        )
    lang = actor.language
    minutes = int(web_sessions.LINK_VALID.total_seconds() // 60)
    return Reply(
        (
            Text(t(lang, "desk.link.title"), "heading"),
            Text(t(lang, "desk.link.intro", minutes=minutes)),
            Fields((Field(t(lang, "desk.link.url"), link_url(base, token)),)),
            Text(t(lang, "desk.link.private"), "muted"),
        ),
        data={"desk_link": True},
    )


def link_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{SIGNIN_PATH}{token}"


@dataclass(frozen=True)
class LinkCheck:
    """What a sign-in link is worth now: whose (when valid) or the refusal's key."""

    state: LinkState
    actor: Actor | None = None

    @property
    def refusal(self) -> str | None:
        return LINK_REFUSALS.get(self.state)


def check_link(ctx: Context, token: str) -> LinkCheck:
    """The page behind a link, before the click: valid (for whom), or why not (audited)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        state, person_id = web_sessions.link_state(session, token, now)
        actor = _actor(ctx, session, person_id) if state is LinkState.VALID else None
    if state is not LinkState.VALID:
        _refuse_link(ctx, state, person_id)
    return LinkCheck(state, actor)


def sign_in_with_link(ctx: Context, token: str) -> tuple[LinkCheck, str | None]:
    """Spend the link and open a session in one transaction: the check and the session's
    secret (for the cookie), or the refusal (audited) and None."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        state, person_id = web_sessions.spend_link(session, token, now)
        if state is LinkState.VALID and person_id is not None:
            secret = _open(session, ctx, person_id, LINK_METHOD)
            return LinkCheck(state, _actor(ctx, session, person_id)), secret
    _refuse_link(ctx, state, person_id)
    return LinkCheck(state), None


def start_session(ctx: Context, person_id: int, method: str) -> str:
    """Open a browser session for a person already proven to be who they are, by
    `method` ("link"; later "entra", "slack"); returns the cookie's secret."""
    with ctx.db.transaction() as session:
        return _open(session, ctx, person_id, method)


def resume(ctx: Context, secret: str) -> Actor | None:
    """The person signed in with this cookie secret, or None (ended, idle too long, past
    its absolute end, or the person deactivated)."""
    with ctx.db.transaction() as session:
        person = web_sessions.resume(session, secret, ctx.clock.now())
        return Actor.from_person(person, ctx.rules.language) if person is not None else None


def sign_out(ctx: Context, secret: str) -> bool:
    """End this browser's session (audited); False when it was not live."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = web_sessions.end(session, secret, now)
        if row is None:
            return False
        audit.record(
            session,
            at=now,
            actor_id=row.person_id,
            action="desk.signout",
            target_type="web_session",
            target_id=row.id,
        )
    return True


def end_sessions(session: Session, person_id: int, now: datetime) -> int:
    """End every browser session of a person (deactivated or merged away), in the
    caller's transaction; the roster calls it so the record says so at once."""
    return web_sessions.end_all(session, person_id, now)


def _open(session: Session, ctx: Context, person_id: int, method: str) -> str:
    now = ctx.clock.now()
    secret = web_sessions.start(session, person_id, method, now)
    audit.record(
        session,
        at=now,
        actor_id=person_id,
        action="desk.signin",
        target_type="person",
        target_id=person_id,
        detail=method,
    )
    return secret


def _actor(ctx: Context, session: Session, person_id: int | None) -> Actor | None:
    person = people.get(session, person_id) if person_id is not None else None
    return Actor.from_person(person, ctx.rules.language) if person is not None else None


def _refuse_link(ctx: Context, state: LinkState, person_id: int | None) -> None:
    """Audited like any refusal; the person is the link's, not who opened it (unknown)."""
    record_refusal(
        ctx,
        None,
        "desk.signin",
        Refused(LINK_REFUSALS[state], target_type="person", target_id=person_id),
    )
