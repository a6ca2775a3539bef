"""Booked sessions (visits, online sessions, office days, the results meeting)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import (
    SessionConsultant,
    SessionKind,
    SessionMunicipality,
    SessionStatus,
    SupportSession,
    WorkLogSession,
)
from storage.rules import Broken


def add(
    session: Session,
    support_session: SupportSession,
    municipality_ids: Sequence[int],
    consultant_ids: Sequence[int],
    *,
    presenting: Collection[int] = (),
) -> SupportSession:
    session.add(support_session)
    session.flush()
    assert support_session.id is not None
    for municipality_id in dict.fromkeys(municipality_ids):
        session.add(
            SessionMunicipality(
                session_id=support_session.id,
                municipality_id=municipality_id,
                presenting=municipality_id in presenting,
            )
        )
    for person_id in dict.fromkeys(consultant_ids):
        session.add(SessionConsultant(session_id=support_session.id, person_id=person_id))
    session.flush()
    return support_session


def get(session: Session, session_id: int, *, lock: bool = False) -> SupportSession | None:
    """The session; with `lock`, its row is held until the transaction ends (two changes
    of one session queue instead of one overwriting the other)."""
    if not lock:
        return session.get(SupportSession, session_id)
    return session.exec(
        select(SupportSession).where(SupportSession.id == session_id).with_for_update()
    ).first()


def booked_for(
    session: Session, person_ids: Collection[int], starts_at: datetime, ends_at: datetime
) -> list[tuple[int, SupportSession]]:
    """(consultant, session) pairs booked over any part of [starts_at, ends_at), in time order."""
    rows = session.exec(
        select(SessionConsultant.person_id, SupportSession)
        .join(SupportSession, col(SupportSession.id) == col(SessionConsultant.session_id))
        .where(col(SessionConsultant.person_id).in_(person_ids))
        .where(SupportSession.status != SessionStatus.CANCELLED)
        .where(col(SupportSession.starts_at) < ends_at)
        .where(col(SupportSession.ends_at) > starts_at)
        .order_by(col(SupportSession.starts_at))
    ).all()
    return [(person_id, row) for person_id, row in rows]


def municipality_clashes(
    session: Session,
    municipality_ids: Collection[int],
    starts_at: datetime,
    ends_at: datetime,
    *,
    ignore_session_id: int | None = None,
) -> list[tuple[int, SupportSession]]:
    """(municipality, session) pairs for live sessions of these municipalities over any
    part of [starts_at, ends_at), in time order — a joint session once per town in it.
    The results meeting, which every town attends, clashes with nothing."""
    if not municipality_ids:
        return []
    rows = session.exec(
        select(SessionMunicipality.municipality_id, SupportSession)
        .join(SupportSession, col(SupportSession.id) == col(SessionMunicipality.session_id))
        .where(col(SessionMunicipality.municipality_id).in_(set(municipality_ids)))
        .where(SupportSession.status != SessionStatus.CANCELLED)
        .where(SupportSession.kind != SessionKind.RESULTS_MEETING)
        .where(col(SupportSession.id) != (ignore_session_id or 0))
        .where(col(SupportSession.starts_at) < ends_at)
        .where(col(SupportSession.ends_at) > starts_at)
        .order_by(col(SupportSession.starts_at), col(SessionMunicipality.municipality_id))
    ).all()
    return [(municipality_id, row) for municipality_id, row in rows]


def live_of_kind(
    session: Session, kind: str, start: datetime, end: datetime
) -> list[SupportSession]:
    """Live (not cancelled) sessions of one kind starting in [start, end), by start."""
    return list(
        session.exec(
            select(SupportSession)
            .where(SupportSession.kind == kind)
            .where(SupportSession.status != SessionStatus.CANCELLED)
            .where(col(SupportSession.starts_at) >= start)
            .where(col(SupportSession.starts_at) < end)
            .order_by(col(SupportSession.starts_at), col(SupportSession.id))
        ).all()
    )


def municipality_ids(session: Session, session_id: int) -> list[int]:
    return list(
        session.exec(
            select(SessionMunicipality.municipality_id)
            .where(SessionMunicipality.session_id == session_id)
            .order_by(col(SessionMunicipality.municipality_id))
        ).all()
    )


def consultant_ids(session: Session, session_id: int) -> list[int]:
    return list(
        session.exec(
            select(SessionConsultant.person_id)
            .where(SessionConsultant.session_id == session_id)
            .order_by(col(SessionConsultant.person_id))
        ).all()
    )


def grouped_ids(
    session: Session, key: Any, value: Any, ids: Collection[int]
) -> dict[int, list[int]]:
    """value ids per key id, for the given key ids, in value order (one query)."""
    found: dict[int, list[int]] = defaultdict(list)
    if ids:
        for owner, item in session.exec(select(key, value).where(key.in_(ids)).order_by(value)):
            found[owner].append(item)
    return found


def municipalities_of_sessions(
    session: Session, session_ids: Collection[int]
) -> dict[int, list[int]]:
    """`municipality_ids` of many sessions in one query (a session without any: [])."""
    return grouped_ids(
        session,
        col(SessionMunicipality.session_id),
        col(SessionMunicipality.municipality_id),
        session_ids,
    )


def consultants_of_sessions(session: Session, session_ids: Collection[int]) -> dict[int, list[int]]:
    """`consultant_ids` of many sessions in one query (a session without any: [])."""
    return grouped_ids(
        session, col(SessionConsultant.session_id), col(SessionConsultant.person_id), session_ids
    )


def results_meeting(session: Session, *, lock: bool = False) -> SupportSession | None:
    """The first live results meeting by start (with `lock`, its row held until the
    transaction ends), or None."""
    query = (
        select(SupportSession)
        .where(SupportSession.kind == SessionKind.RESULTS_MEETING)
        .where(SupportSession.status != SessionStatus.CANCELLED)
        .order_by(col(SupportSession.starts_at))
        .limit(1)
    )
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def listing(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    consultant_id: int | None = None,
    municipality_id: int | None = None,
    request_id: int | None = None,
    engagement_id: int | None = None,
    include_cancelled: bool = False,
    limit: int | None = None,
) -> list[SupportSession]:
    query = select(SupportSession).order_by(col(SupportSession.starts_at))
    if start is not None:
        query = query.where(col(SupportSession.starts_at) >= start)
    if end is not None:
        query = query.where(col(SupportSession.starts_at) < end)
    if not include_cancelled:
        query = query.where(SupportSession.status != SessionStatus.CANCELLED)
    if consultant_id is not None:
        query = query.join(
            SessionConsultant, col(SessionConsultant.session_id) == col(SupportSession.id)
        ).where(SessionConsultant.person_id == consultant_id)
    if municipality_id is not None:
        query = query.join(
            SessionMunicipality, col(SessionMunicipality.session_id) == col(SupportSession.id)
        ).where(SessionMunicipality.municipality_id == municipality_id)
    if request_id is not None:
        query = query.where(SupportSession.request_id == request_id)
    if engagement_id is not None:
        query = query.where(SupportSession.engagement_id == engagement_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def unlogged_ids(session: Session, session_ids: Collection[int]) -> set[int]:
    logged = set(
        session.exec(
            select(WorkLogSession.session_id).where(col(WorkLogSession.session_id).in_(session_ids))
        ).all()
    )
    return set(session_ids) - logged


def counts_as_held(status: str, starts_at: datetime, now: datetime) -> bool:
    """実施済み: not cancelled and begun by `now` — the one rule of every count shown.

    Filing the log (the `held` status) is not needed: nobody has to mark a session for
    it to have taken place, so a begun session is never still counted as 予定.
    """
    return status != SessionStatus.CANCELLED and starts_at <= now


@dataclass(frozen=True)
class Tally:
    """Live sessions of one programme (and month): a joint session is one (§2.4)."""

    held: int = 0
    booked: int = 0  # not cancelled, not begun
    joint: int = 0  # held sessions shared by several municipalities


def tallies(
    session: Session,
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    months_in: tzinfo | None = None,
) -> dict[tuple[str, date | None], Tally]:
    """Held and booked sessions per (kind, month) starting in [start, end), cancelled left
    out, in one query; the month (first day, of the start in `months_in`) is None unless
    `months_in` is given. Every count of sessions anyone sees is made from this.

    The rows are folded here rather than grouped in SQL so that held is exactly
    `counts_as_held` and the month is the calendar month in the caller's zone on both
    back ends (a season is a few hundred rows).
    """
    places = (
        select(SessionMunicipality.session_id, func.count().label("places"))
        .group_by(col(SessionMunicipality.session_id))
        .subquery()
    )
    query = (
        select(
            SupportSession.kind,
            SupportSession.status,
            SupportSession.starts_at,
            func.coalesce(places.c.places, 0),
        )
        .join(places, places.c.session_id == col(SupportSession.id), isouter=True)
        .where(SupportSession.status != SessionStatus.CANCELLED)
    )
    if start is not None:
        query = query.where(col(SupportSession.starts_at) >= start)
    if end is not None:
        query = query.where(col(SupportSession.starts_at) < end)
    found: dict[tuple[str, date | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    for kind, status, starts_at, place_count in session.exec(query):
        month = starts_at.astimezone(months_in).date().replace(day=1) if months_in else None
        counts = found[(kind, month)]
        if counts_as_held(status, starts_at, now):
            counts[0] += 1
            # the results meeting invites every town; it is not a joint session (§2.4)
            counts[2] += place_count > 1 and kind != SessionKind.RESULTS_MEETING
        else:
            counts[1] += 1
    return {key: Tally(*counts) for key, counts in found.items()}


def presenting_ids(session: Session, session_id: int) -> list[int]:
    return list(
        session.exec(
            select(SessionMunicipality.municipality_id)
            .where(SessionMunicipality.session_id == session_id)
            .where(SessionMunicipality.presenting)
            .order_by(col(SessionMunicipality.municipality_id))
        ).all()
    )


def set_presenting(session: Session, session_id: int, municipality_ids: Collection[int]) -> None:
    rows = session.exec(
        select(SessionMunicipality).where(SessionMunicipality.session_id == session_id)
    ).all()
    for row in rows:
        row.presenting = row.municipality_id in municipality_ids
        session.add(row)
    session.flush()


def awaiting_paperwork(session: Session, now: datetime) -> list[SupportSession]:
    """Sessions that have ended and are still `booked`: filing the log (or, for an office
    day, the minutes) is what marks a session `held`."""
    return list(
        session.exec(
            select(SupportSession)
            .where(SupportSession.status == SessionStatus.BOOKED)
            .where(col(SupportSession.ends_at) <= now)
            .where(col(SupportSession.kind).in_(PAPERWORK_KINDS))
            .order_by(col(SupportSession.ends_at), col(SupportSession.id))
        ).all()
    )


PAPERWORK_KINDS = ("bpr", "consultation", "office_day")


def mark_held(session: Session, row: SupportSession, now: datetime) -> None:
    """Mark a session 実施 (its log or minutes filed): only a live session that has begun
    by `now` can be, whoever writes it — else `Broken`, refused by the one error path.
    The caller holds the row's lock (`get(..., lock=True)`)."""
    if row.status == SessionStatus.CANCELLED:
        raise Broken("refusal.session_cancelled", target_type="session", target_id=row.id)
    if row.starts_at > now:
        raise Broken("refusal.session_not_begun", target_type="session", target_id=row.id)
    row.status = SessionStatus.HELD
    session.add(row)
    session.flush()
