"""Work logs (業務日報), office-day minutes (議事録) and the issues (課題) logs record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import (
    FollowUpIssue,
    IssueStatusChange,
    Minutes,
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
