"""Requests (consultations and BPR applications), their numbers and assignments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import InfoRequest, NumberCounter, Request, RequestConsultant

# Readable numbers are identifiers, fixed at creation whatever the reader's language.
NUMBER_PREFIX = {"consultation": "相談", "bpr_application": "BPR"}


def next_number(session: Session, kind: str, fiscal_year: int) -> str:
    """`相談-2026-001`: the counter row is created once, then bumped under its row lock."""
    bump = (
        update(NumberCounter)
        .where(col(NumberCounter.kind) == kind, col(NumberCounter.year) == fiscal_year)
        .values(last=NumberCounter.last + 1)
        .returning(col(NumberCounter.last))
    )
    last = session.exec(bump).scalar_one_or_none()  # type: ignore[call-overload]
    if last is None:
        try:
            with session.begin_nested():
                session.add(NumberCounter(kind=kind, year=fiscal_year, last=1))
            last = 1
        except IntegrityError:  # another transaction created the row first
            last = session.exec(bump).scalar_one()  # type: ignore[call-overload]
    return f"{NUMBER_PREFIX[kind]}-{fiscal_year}-{last:03d}"


def add(session: Session, request: Request) -> Request:
    session.add(request)
    session.flush()
    return request


def get(session: Session, request_id: int, *, lock: bool = False) -> Request | None:
    query = select(Request).where(Request.id == request_id)
    if lock:
        query = query.with_for_update()
        session.expire_all()
    return session.exec(query).first()


def by_number(session: Session, number: str, *, lock: bool = False) -> Request | None:
    query = select(Request).where(Request.number == number)
    if lock:
        query = query.with_for_update()
        session.expire_all()
    return session.exec(query).first()


def set_state(session: Session, request_id: int, before: str, after: str, now: datetime) -> bool:
    """Compare-and-set: move only if the state is still `before` (False if someone else
    moved it first; on PostgreSQL the UPDATE waits for their row lock, then re-checks)."""
    result = session.exec(  # type: ignore[call-overload]
        update(Request)
        .where(col(Request.id) == request_id, col(Request.state) == before)
        .values(state=after, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def listing(
    session: Session,
    *,
    municipality_id: int | None = None,
    states: Collection[str] | None = None,
    kinds: Collection[str] | None = None,
    involving: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[Request], int]:
    """A page of requests, newest first, and how many there are in all."""
    query = select(Request)
    if municipality_id is not None:
        query = query.where(Request.municipality_id == municipality_id)
    if states:
        query = query.where(col(Request.state).in_(states))
    if kinds:
        query = query.where(col(Request.kind).in_(kinds))
    if involving is not None:  # assigned to, or entered by, this person
        assigned = select(RequestConsultant.request_id).where(
            RequestConsultant.person_id == involving
        )
        query = query.where(
            or_(col(Request.id).in_(assigned), col(Request.entered_by_id) == involving)
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    query = query.order_by(col(Request.created_at).desc(), col(Request.id).desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all()), total


def assign(session: Session, request_id: int, person_ids: Sequence[int]) -> None:
    for row in session.exec(
        select(RequestConsultant).where(RequestConsultant.request_id == request_id)
    ):
        session.delete(row)
    session.flush()
    for person_id in person_ids:
        session.add(RequestConsultant(request_id=request_id, person_id=person_id))
    session.flush()


def consultant_ids(session: Session, request_id: int) -> list[int]:
    return list(
        session.exec(
            select(RequestConsultant.person_id)
            .where(RequestConsultant.request_id == request_id)
            .order_by(col(RequestConsultant.person_id))
        ).all()
    )


def add_question(session: Session, question: InfoRequest) -> InfoRequest:
    session.add(question)
    session.flush()
    return question


def open_question(session: Session, request_id: int) -> InfoRequest | None:
    return session.exec(
        select(InfoRequest)
        .where(InfoRequest.request_id == request_id)
        .where(col(InfoRequest.answered_at).is_(None))
        .order_by(col(InfoRequest.id).desc())
    ).first()


def questions(session: Session, request_id: int) -> list[InfoRequest]:
    return list(
        session.exec(
            select(InfoRequest)
            .where(InfoRequest.request_id == request_id)
            .order_by(col(InfoRequest.id))
        ).all()
    )


def decided_between(session: Session, start: datetime, end: datetime) -> list[Request]:
    """Requests approved or declined in [start, end), in the order they were decided."""
    return list(
        session.exec(
            select(Request)
            .where(col(Request.decided_at) >= start)
            .where(col(Request.decided_at) < end)
            .order_by(col(Request.decided_at), col(Request.id))
        ).all()
    )
