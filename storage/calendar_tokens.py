"""The secrets in private calendar feed URLs.

Only a SHA-256 of each token is stored: a copy of the database (a backup, a support
dump) must not let anyone read another person's calendar. The token itself is shown
once, when it is issued. A person may hold several live tokens (one per time they
asked for their URL); revoking ends all of them at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import CalendarToken


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(session: Session, person_id: int, now: datetime) -> str:
    """A new token for this person (256 random bits, URL-safe); returns it in clear."""
    token = secrets.token_urlsafe(32)
    session.add(CalendarToken(person_id=person_id, token_hash=digest(token), created_at=now))
    session.flush()
    return token


def revoke_all(session: Session, person_id: int, now: datetime) -> int:
    """End every live token of this person; returns how many were live."""
    rows = session.exec(
        select(CalendarToken)
        .where(CalendarToken.person_id == person_id)
        .where(col(CalendarToken.revoked_at).is_(None))
    ).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    session.flush()
    return len(rows)


def person_for(session: Session, token: str) -> int | None:
    """Whose live token this is, or None (unknown, malformed or revoked)."""
    if not token or len(token) > 100:
        return None
    return session.exec(
        select(CalendarToken.person_id)
        .where(CalendarToken.token_hash == digest(token))
        .where(col(CalendarToken.revoked_at).is_(None))
    ).first()
