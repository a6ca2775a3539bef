"""Bulk reads for the documents (plans, logs, minutes, the final report, the case book).

A document reads hundreds of logs and sessions at once; these fetch each kind of row in
one query per kind (not one per log), so a season's final report stays a handful of
queries however long the season was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import (
    FollowUpIssue,
    Minutes,
    Person,
    Request,
    SupportSession,
    WorkLog,
    WorkLogAttendee,
    WorkLogSession,
)
from storage.sessions import grouped_ids


def logs_with_first_start(session: Session) -> list[tuple[WorkLog, datetime | None]]:
    """Every log with the start of its earliest session (None for a log without one)."""
    rows = session.exec(
        select(WorkLog, func.min(SupportSession.starts_at))
        .join(WorkLogSession, col(WorkLogSession.log_id) == col(WorkLog.id), isouter=True)
        .join(
            SupportSession,
            col(SupportSession.id) == col(WorkLogSession.session_id),
            isouter=True,
        )
        .group_by(col(WorkLog.id))
        .order_by(col(WorkLog.id))
    ).all()
    return [(log, first) for log, first in rows]


def existing_log_ids(session: Session, log_ids: Collection[int] | None) -> set[int]:
    """Which of `log_ids` are filed logs."""
    if not log_ids:
        return set()
    return set(session.exec(select(WorkLog.id).where(col(WorkLog.id).in_(log_ids))).all()) - {None}


def sessions_of_logs(session: Session, log_ids: Collection[int]) -> dict[int, list[int]]:
    return grouped_ids(session, col(WorkLogSession.log_id), col(WorkLogSession.session_id), log_ids)


def sessions_by_id(session: Session, session_ids: Collection[int]) -> dict[int, SupportSession]:
    if not session_ids:
        return {}
    rows = session.exec(select(SupportSession).where(col(SupportSession.id).in_(session_ids)))
    return {row.id: row for row in rows if row.id is not None}


def attendees_of_logs(
    session: Session, log_ids: Collection[int]
) -> dict[int, list[WorkLogAttendee]]:
    found: dict[int, list[WorkLogAttendee]] = defaultdict(list)
    if log_ids:
        for row in session.exec(
            select(WorkLogAttendee)
            .where(col(WorkLogAttendee.log_id).in_(log_ids))
            .order_by(col(WorkLogAttendee.id))
        ):
            found[row.log_id].append(row)
    return found


def issues_of_logs(session: Session, log_ids: Collection[int]) -> dict[int, list[FollowUpIssue]]:
    found: dict[int, list[FollowUpIssue]] = defaultdict(list)
    if log_ids:
        for row in session.exec(
            select(FollowUpIssue)
            .where(col(FollowUpIssue.log_id).in_(log_ids))
            .order_by(col(FollowUpIssue.id))
        ):
            found[row.log_id].append(row)
    return found


def minutes_of_sessions(session: Session, session_ids: Collection[int]) -> dict[int, Minutes]:
    if not session_ids:
        return {}
    rows = session.exec(select(Minutes).where(col(Minutes.session_id).in_(session_ids)))
    return {row.session_id: row for row in rows}


def everyone(session: Session) -> dict[int, Person]:
    """Every person, active or not: documents name whoever did the work at the time."""
    return {p.id: p for p in session.exec(select(Person)) if p.id is not None}


def consultation_requests(session: Session) -> list[Request]:
    return list(
        session.exec(
            select(Request).where(Request.kind == "consultation").order_by(col(Request.id))
        ).all()
    )


def request_people(session: Session) -> list[tuple[str, str]]:
    """(name, title) of every requester typed into a request: personal data to redact."""
    return [
        (name, title)
        for name, title in session.exec(select(Request.requester_name, Request.requester_title))
    ]


def attendee_people(session: Session) -> list[tuple[str, str]]:
    """(name, title) of every municipal attendee recorded in a log."""
    return [
        (name, title)
        for name, title in session.exec(select(WorkLogAttendee.name, WorkLogAttendee.title))
    ]
