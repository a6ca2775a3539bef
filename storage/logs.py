"""Work logs (業務日報), office-day minutes (議事録) and the issues (課題) logs record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import (
    Engagement,
    FollowUpIssue,
    IssueStatus,
    IssueStatusChange,
    Minutes,
    Person,
    Request,
    SupportSession,
    WorkLog,
    WorkLogAttendee,
    WorkLogSession,
)


def add(
    session: Session,
    log: WorkLog,
    session_ids: Sequence[int],
    attendees: Sequence[tuple[str, str, str]],
) -> WorkLog:
    session.add(log)
    session.flush()
    assert log.id is not None
    for session_id in session_ids:
        session.add(WorkLogSession(log_id=log.id, session_id=session_id))
    for department, title, name in attendees:
        session.add(WorkLogAttendee(log_id=log.id, department=department, title=title, name=name))
    session.flush()
    return log


def session_ids(session: Session, log_id: int) -> list[int]:
    return list(
        session.exec(
            select(WorkLogSession.session_id)
            .where(WorkLogSession.log_id == log_id)
            .order_by(col(WorkLogSession.session_id))
        ).all()
    )


def attendees(session: Session, log_id: int) -> list[WorkLogAttendee]:
    return list(
        session.exec(
            select(WorkLogAttendee)
            .where(WorkLogAttendee.log_id == log_id)
            .order_by(col(WorkLogAttendee.id))
        ).all()
    )


def add_issue(session: Session, issue: FollowUpIssue, changed_by_id: int, at: datetime) -> None:
    session.add(issue)
    session.flush()
    assert issue.id is not None
    session.add(
        IssueStatusChange(
            issue_id=issue.id, status=issue.status, changed_by_id=changed_by_id, changed_at=at
        )
    )
    session.flush()


def add_minutes(session: Session, minutes: Minutes) -> Minutes:
    session.add(minutes)
    session.flush()
    return minutes


def minutes_for(session: Session, session_id: int) -> Minutes | None:
    return session.exec(select(Minutes).where(Minutes.session_id == session_id)).first()


def latest_paper(session: Session, author_id: int, since: datetime) -> WorkLog | Minutes | None:
    """The author's latest log or minutes filed at or after `since`, locked (two
    deliveries of files to it count its room once)."""
    latest: list[WorkLog | Minutes] = []
    for table in (WorkLog, Minutes):
        row = session.exec(
            select(table)
            .where(table.author_id == author_id, col(table.filed_at) >= since)
            .order_by(col(table.filed_at).desc(), col(table.id).desc())
            .limit(1)
            .with_for_update()
        ).first()
        if row is not None:
            latest.append(row)
    return max(latest, key=lambda row: row.filed_at) if latest else None


def get_paper(
    session: Session, *, log_id: int | None = None, minutes_id: int | None = None
) -> WorkLog | Minutes | None:
    """One log or one minutes by id (exactly one of them named), locked."""
    assert (log_id is None) != (minutes_id is None)
    table: type[WorkLog] | type[Minutes] = WorkLog if log_id is not None else Minutes
    wanted = log_id if log_id is not None else minutes_id
    return session.exec(select(table).where(table.id == wanted).with_for_update()).first()


def open_issues(session: Session) -> list[FollowUpIssue]:
    return list(
        session.exec(
            select(FollowUpIssue)
            .where(FollowUpIssue.status != IssueStatus.RESOLVED)
            .order_by(col(FollowUpIssue.created_at), col(FollowUpIssue.id))
        ).all()
    )


def get_issue(session: Session, issue_id: int, *, lock: bool = False) -> FollowUpIssue | None:
    query = select(FollowUpIssue).where(FollowUpIssue.id == issue_id)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def last_change(session: Session, issue_id: int) -> datetime | None:
    return session.exec(
        select(func.max(IssueStatusChange.changed_at)).where(IssueStatusChange.issue_id == issue_id)
    ).one()


def set_issue_status(
    session: Session, issue: FollowUpIssue, status: str, *, by: int, at: datetime, note: str | None
) -> None:
    issue.status = status
    session.add(issue)
    session.add(
        IssueStatusChange(
            issue_id=issue.id or 0, status=status, note=note, changed_by_id=by, changed_at=at
        )
    )
    session.flush()


def requester_for_log(session: Session, log_id: int, municipality_id: int) -> int | None:
    """Who asked for the support a log records, in one municipality: the requester of the
    request (or BPR application) behind its sessions for that municipality, if that
    person is still active and belongs to it."""
    rows = session.exec(
        select(SupportSession)
        .join(WorkLogSession, col(WorkLogSession.session_id) == col(SupportSession.id))
        .where(WorkLogSession.log_id == log_id)
    ).all()
    for row in rows:
        request_id = row.request_id
        if request_id is None and row.engagement_id is not None:
            engagement = session.get(Engagement, row.engagement_id)
            request_id = engagement.application_id if engagement else None
        request = session.get(Request, request_id) if request_id else None
        if request is None or request.municipality_id != municipality_id:
            continue
        person = session.get(Person, request.requester_id) if request.requester_id else None
        if person is not None and person.active and person.municipality_id == municipality_id:
            return person.id
    return None
