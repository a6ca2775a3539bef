"""Notifications as data: rows queued in the same transaction as the change they report,
claimed by whichever sender is free, and sent once.

The life of a row: `pending` → `sending` (claimed, with a lease) → `sent`, or back to
`pending` with a growing delay after a transient failure (`failed` after MAX_ATTEMPTS),
straight to `failed` after a permanent one (a missing scope, a channel the bot is not in:
retrying cannot help until someone fixes it; the row keeps its payload, the reason is in
the audit log, and `resend` puts it back after the fix), or `cancelled` when what it
reminds of no longer needs doing. A sender that dies while a row is `sending` loses it
when the lease ends: the next claim takes it over (and `reap` returns it to `pending`).
On PostgreSQL senders claim with `FOR UPDATE SKIP LOCKED`, so several instances share
the queue without waiting on each other; on SQLite the writer lock lets
one sender claim at a time (run one scheduler process per SQLite file).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, update
from sqlmodel import Session, col, or_, select

from storage import audit
from storage.db import insert_for
from storage.models import AuditEntry, Notification, NotificationStatus

# Module settings, read at each call: bench/chaos.py shortens them in its worker processes.
LEASE = timedelta(minutes=5)  # far longer than one send, so only a dead sender loses it
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=2)
FAILED_ACTION = "notice.failed"  # the audit entry that says why a row is `failed`


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
    person_id: int | None = None,
    audience: str | None = None,
) -> None:
    """Queue once: a second row with the same key is silently ignored. A row goes to one
    person, or to a channel named by `audience`."""
    insert = insert_for(session)
    statement = (
        insert(Notification)
        .values(
            key=key,
            kind=kind,
            person_id=person_id,
            audience=audience,
            payload=payload,
            due_at=due_at,
            status=NotificationStatus.PENDING,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    session.exec(statement)  # type: ignore[call-overload]


def get(session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def for_person(
    session: Session, person_id: int, limit: int = 20, *, exclude_kinds: Collection[str] = ()
) -> list[Notification]:
    query = select(Notification).where(Notification.person_id == person_id)
    if exclude_kinds:
        query = query.where(col(Notification.kind).not_in(list(exclude_kinds)))
    return list(
        session.exec(
            query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(
                limit
            )
        ).all()
    )


@dataclass(frozen=True)
class Claim:
    """A row claimed for sending. `maybe_sent`: an earlier sender claimed it and never
    reported back (it was reaped), so it may already have gone out — check the platform
    before sending again. `lease_until` is the claim's token for `finish`."""

    notification: Notification
    maybe_sent: bool
    lease_until: datetime


def claim_due(
    session: Session,
    now: datetime,
    person_ids: Collection[int] | None,
    limit: int = 50,
    *,
    kinds: Collection[str] | None = None,
    exclude_kinds: Collection[str] = (),
    audiences: Collection[str] = (),
) -> list[Claim]:
    """Pending rows due by `now` for these people (None: anyone) and these channels,
    marked `sending` with a lease by this transaction: first those an earlier sender
    tried (taken over from a dead one, or back after a failure — they have waited
    already and must not go behind a backlog), then by when they fell due. `kinds` /
    `exclude_kinds` split the
    queue between senders: chat deliverers leave e-mail rows to the mail sender and the
    other way round."""
    if person_ids is not None and not person_ids and not audiences:
        return []
    query = select(Notification).where(
        or_(
            and_(
                col(Notification.status) == NotificationStatus.PENDING,
                col(Notification.due_at) <= now,
            ),
            # a dead sender's rows, taken over as soon as its lease ends (not only when
            # the next `reap` runs): the claim's `maybe_sent` makes us check first
            and_(
                col(Notification.status) == NotificationStatus.SENDING,
                col(Notification.lease_until) < now,
            ),
        )
    )
    targets = []
    if person_ids is not None:
        targets.append(col(Notification.person_id).in_(list(person_ids)))
    else:
        targets.append(col(Notification.person_id).is_not(None))
    if audiences:
        targets.append(col(Notification.audience).in_(list(audiences)))
    query = query.where(or_(*targets))
    if kinds is not None:
        query = query.where(col(Notification.kind).in_(list(kinds)))
    if exclude_kinds:
        query = query.where(col(Notification.kind).not_in(list(exclude_kinds)))
    rows = list(
        session.exec(
            query.order_by(
                col(Notification.lease_until).is_(None),
                col(Notification.due_at),
                col(Notification.id),
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )
    claims = []
    lease = now + LEASE
    for row in rows:
        claims.append(Claim(row, maybe_sent=row.lease_until is not None, lease_until=lease))
        row.status = NotificationStatus.SENDING
        row.attempts += 1
        row.lease_until = lease
        session.add(row)
    session.flush()
    return claims


def reap(session: Session, now: datetime) -> int:
    """Rows whose sender's lease ran out go back to the queue (their lease stays set, which
    tells the next sender to check the platform before sending again)."""
    result = session.exec(  # type: ignore[call-overload]
        update(Notification)
        .where(col(Notification.status) == NotificationStatus.SENDING)
        .where(col(Notification.lease_until) < now)
        .values(status=NotificationStatus.PENDING)
    )
    return int(result.rowcount or 0)


def finish(
    session: Session,
    notification_id: int,
    *,
    sent: bool,
    now: datetime,
    lease_until: datetime | None = None,
    retry_after: timedelta | None = None,
    reason: str | None = None,
    permanent: bool = False,
    throttled: bool = False,
    maybe_sent: bool = True,
) -> bool:
    """Sent; or back to pending with a growing delay (at least `retry_after`, a platform's
    Retry-After); `failed` after MAX_ATTEMPTS, or at once when the failure is `permanent`
    (the audit log keeps the `reason`, the platform's error code, for `failures`; the
    payload stays for `resend`). `throttled` (a 429: the platform refused before doing
    anything) is not an attempt: the row is due again when its Retry-After ends, without
    back-off, and carries the "may have gone out" mark only if it had it (`maybe_sent`)
    — a rate limit must neither use up a notice's attempts nor cost a look-up.
    With `lease_until`, only the sender still
    holding that lease may finish the row: one that was reaped and claimed again by
    another sender is no longer ours (returns False). A failed row keeps its lease as a
    mark that an attempt was made — part of it may have reached the platform (the message
    before its file, a reply lost to a timeout) — so the next sender checks first."""
    row = session.exec(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    ).first()
    if row is None or row.status != NotificationStatus.SENDING:
        return False
    if lease_until is not None and row.lease_until != lease_until:
        return False
    if sent:
        row.status, row.sent_at, row.lease_until = NotificationStatus.SENT, now, None
    elif throttled and not permanent:
        _put_back(row, now + (retry_after or timedelta()), maybe_sent=maybe_sent)
    elif permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = NotificationStatus.FAILED
        audit.record(
            session,
            at=now,
            actor_id=None,
            action=FAILED_ACTION,
            outcome="failed",
            target_type="notification",
            target_id=row.id,
            detail=(reason or "unknown")[:200],
        )
    else:
        row.status = NotificationStatus.PENDING
        row.due_at = now + max(RETRY_AFTER * 2 ** (row.attempts - 1), retry_after or timedelta())
    session.add(row)
    return True


def defer(session: Session, claims: Collection[Claim], until: datetime) -> None:
    """Hand claimed rows back, due again at `until` (while their person is on leave): not
    an attempt, so no back-off; a row that may have gone out before keeps that mark."""
    for claim in claims:
        row = session.get(Notification, claim.notification.id)
        if row is None or row.status != NotificationStatus.SENDING:
            continue
        _put_back(row, until, maybe_sent=claim.maybe_sent)
        session.add(row)


def _put_back(row: Notification, until: datetime, *, maybe_sent: bool) -> None:
    """A claimed row pending again, due at `until`, the claim not counted as an attempt;
    the lease stays set (the "may have gone out" mark) only if it was set before."""
    row.status, row.due_at, row.attempts = NotificationStatus.PENDING, until, row.attempts - 1
    row.lease_until = until if maybe_sent else None


def hand_back(session: Session, notification_id: int, now: datetime) -> None:
    """A claimed row this sender will not send (it goes to another platform now): due
    at once, not an attempt, and certainly not sent."""
    row = session.get(Notification, notification_id)
    if row is not None and row.status == NotificationStatus.SENDING:
        row.status, row.due_at, row.attempts = NotificationStatus.PENDING, now, row.attempts - 1
        row.lease_until = None
        session.add(row)


def cancel_claimed(session: Session, notification_id: int) -> None:
    """A claimed row with nothing left to say (an escalation whose logs were all filed)."""
    row = session.get(Notification, notification_id)
    if row is not None and row.status == NotificationStatus.SENDING:
        row.status, row.lease_until = NotificationStatus.CANCELLED, None
        session.add(row)


def cancel(session: Session, key_prefixes: Collection[str]) -> int:
    """Pending rows whose key starts with one of these prefixes will not be sent: what
    they remind of has been done."""
    if not key_prefixes:
        return 0
    result = session.exec(  # type: ignore[call-overload]
        update(Notification)
        .where(col(Notification.status) == NotificationStatus.PENDING)
        .where(or_(*(col(Notification.key).startswith(p) for p in key_prefixes)))
        .values(status=NotificationStatus.CANCELLED)
    )
    return int(result.rowcount or 0)


def of_kind(session: Session, kind: str) -> list[Notification]:
    """Every row of one kind, oldest first (the demo writes out the invites it sent)."""
    return list(
        session.exec(
            select(Notification).where(Notification.kind == kind).order_by(col(Notification.id))
        ).all()
    )


@dataclass(frozen=True)
class Failure:
    """A `failed` row as `python -m bot outbox` lists it: why (the platform's error code,
    "-" for rows failed before reasons were kept) and when."""

    notification: Notification
    reason: str
    at: datetime | None


def failures(session: Session) -> list[Failure]:
    """Every failed row, oldest first, with the reason of its latest failure."""
    rows = list(
        session.exec(
            select(Notification)
            .where(Notification.status == NotificationStatus.FAILED)
            .order_by(col(Notification.id))
        ).all()
    )
    latest: dict[str, AuditEntry] = {}
    if rows:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == FAILED_ACTION)
            .where(AuditEntry.target_type == "notification")
            .where(col(AuditEntry.target_id).in_([str(row.id) for row in rows]))
            .order_by(col(AuditEntry.id))
        ).all()
        latest = {str(entry.target_id): entry for entry in entries}
    out = []
    for row in rows:
        entry = latest.get(str(row.id))
        reason = (entry.detail or "-") if entry else "-"
        out.append(Failure(row, reason, entry.at if entry else None))
    return out


def resend(session: Session, notification_ids: Collection[int] | None, now: datetime) -> list[int]:
    """Failed rows (these ids, or all with None) back to `pending`, due at once (now, or
    when it was last due if that is earlier: the caller's clock may differ from the
    senders'), with a fresh set of attempts: after the fix (the scope granted, the bot
    invited). A row keeps its lease mark, so a sender checks the platform before posting
    what may have gone out."""
    query = select(Notification).where(Notification.status == NotificationStatus.FAILED)
    if notification_ids is not None:
        query = query.where(col(Notification.id).in_(list(notification_ids)))
    rows = list(session.exec(query.order_by(col(Notification.id)).with_for_update()).all())
    for row in rows:
        row.status, row.due_at, row.attempts = NotificationStatus.PENDING, min(row.due_at, now), 0
        session.add(row)
    return [row.id or 0 for row in rows]
