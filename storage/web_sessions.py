"""Sign-in links and browser sessions of the desk (the pages `python -m bot serve` shows).

Both are bearer secrets, so only a SHA-256 of each is stored (as for calendar feeds): a
copy of the database must not let anyone into someone else's desk. A link is valid for
`LINK_VALID` and spent by its first use, atomically (one UPDATE … WHERE used_at IS NULL,
so two clicks racing on PostgreSQL cannot both open a session). A session ends after
`IDLE` without a request, at `ABSOLUTE` whatever the activity, when its person signs out,
and the moment its person is deactivated (every lookup joins the person and asks for
`active`, so no separate revocation step can be forgotten).

`start` takes how the person proved who they are (`method`): "link" today; a sign-in with
Microsoft Entra ID or Slack later only needs to call it with its own method name.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.calendar_tokens import digest
from storage.models import Person, SignInLink, WebSession

LINK_VALID = timedelta(minutes=10)
IDLE = timedelta(hours=8)
ABSOLUTE = timedelta(hours=24)
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often
MAX_SECRET = 100  # longer is not ours: refused before hashing


class LinkState(StrEnum):
    """What a sign-in link is worth; the three refusals are worded differently."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def issue_link(session: Session, person_id: int, now: datetime) -> str:
    """A new one-time link secret for this person; returned in clear, stored hashed."""
    token = new_secret()
    session.add(
        SignInLink(
            person_id=person_id,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + LINK_VALID,
        )
    )
    session.flush()
    return token


def link_state(session: Session, token: str, now: datetime) -> tuple[LinkState, int | None]:
    """Whether this link would sign someone in now, without spending it (the page that
    asks for the click), and whose it is. A deactivated person's link is unknown."""
    row = _link(session, token)
    if row is None:
        return LinkState.UNKNOWN, None
    if row.used_at is not None:
        return LinkState.USED, row.person_id
    if row.expires_at <= now:
        return LinkState.EXPIRED, row.person_id
    return LinkState.VALID, row.person_id


def spend_link(session: Session, token: str, now: datetime) -> tuple[LinkState, int | None]:
    """Spend the link: VALID (and whose) for the one caller that spent it, else why not."""
    if _plausible(token):
        spent = session.exec(  # type: ignore[call-overload]
            update(SignInLink)
            .where(col(SignInLink.token_hash) == digest(token))
            .where(col(SignInLink.used_at).is_(None))
            .where(col(SignInLink.expires_at) > now)
            .values(used_at=now)
        )
        row = _link(session, token) if spent.rowcount == 1 else None
        if row is not None:
            return LinkState.VALID, row.person_id
    return link_state(session, token, now)


def start(session: Session, person_id: int, method: str, now: datetime) -> str:
    """Open a session for this person; returns the cookie's secret (stored hashed)."""
    secret = new_secret()
    session.add(
        WebSession(
            person_id=person_id,
            token_hash=digest(secret),
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE,
        )
    )
    session.flush()
    return secret


def resume(session: Session, secret: str, now: datetime) -> Person | None:
    """The active person whose live session this is, or None. Marks the session as seen
    (at most every `TOUCH_EVERY`, so reading a page is not a write each time)."""
    if not _plausible(secret):
        return None
    found = session.exec(
        select(WebSession, Person)
        .join(Person, col(Person.id) == col(WebSession.person_id))
        .where(WebSession.token_hash == digest(secret))
        .where(col(WebSession.ended_at).is_(None))
        .where(col(WebSession.expires_at) > now)
        .where(col(WebSession.last_seen_at) > now - IDLE)
        .where(Person.active)
    ).first()
    if found is None:
        return None
    row, person = found
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    return person


def end(session: Session, secret: str, now: datetime) -> WebSession | None:
    """Sign out: end this session (None when it was not live)."""
    if not _plausible(secret):
        return None
    row = session.exec(
        select(WebSession)
        .where(WebSession.token_hash == digest(secret))
        .where(col(WebSession.ended_at).is_(None))
    ).first()
    if row is None:
        return None
    row.ended_at = now
    session.add(row)
    session.flush()
    return row


def end_all(session: Session, person_id: int, now: datetime) -> int:
    """End every live session of this person (deactivated, merged away, or asking to
    sign out everywhere); returns how many were live. `resume` already refuses an
    inactive person: this keeps the record saying so too."""
    ended = session.exec(  # type: ignore[call-overload]
        update(WebSession)
        .where(col(WebSession.person_id) == person_id)
        .where(col(WebSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    return int(ended.rowcount or 0)


def _link(session: Session, token: str) -> SignInLink | None:
    if not _plausible(token):
        return None
    return session.exec(
        select(SignInLink)
        .join(Person, col(Person.id) == col(SignInLink.person_id))
        .where(SignInLink.token_hash == digest(token))
        .where(Person.active)
    ).first()


def _plausible(secret: str) -> bool:
    return bool(secret) and len(secret) <= MAX_SECRET
