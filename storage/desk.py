"""The browser desk's reads: each one query (or a fixed few) whatever the size of the
season, so a page's query count never grows with the data (bench/desk.py counts them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

from storage.models import (
    AuditEntry,
    ChatIdentity,
    FollowUpIssue,
    IssueStatus,
    Person,
    Request,
    RequestConsultant,
    SessionConsultant,
    SessionKind,
    SessionMunicipality,
    SupportSession,
    WorkLog,
    WorkLogSession,
)


def towns_served(session: Session, person_id: int) -> set[int]:
    """The municipalities a consultant serves: those of the sessions they are booked on
    and of the requests they are assigned to (one query). The results meeting, which
    every town attends, makes nobody serve every town."""
    by_session = (
        select(SessionMunicipality.municipality_id)
        .join(
            SessionConsultant,
            col(SessionConsultant.session_id) == col(SessionMunicipality.session_id),
        )
        .join(SupportSession, col(SupportSession.id) == col(SessionMunicipality.session_id))
        .where(SessionConsultant.person_id == person_id)
        .where(SupportSession.kind != SessionKind.RESULTS_MEETING)
    )
    by_request = (
        select(Request.municipality_id)
        .join(RequestConsultant, col(RequestConsultant.request_id) == col(Request.id))
        .where(RequestConsultant.person_id == person_id)
    )
    return {row[0] for row in session.execute(by_session.union(by_request))}


def sessions_between(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    consultant_id: int | None = None,
    municipality_ids: Collection[int] | None = None,
) -> list[SupportSession]:
    """Live sessions starting in [start, end), by start; of one consultant, or of any of
    these municipalities (None: every one)."""
    query = (
        select(SupportSession)
        .where(SupportSession.status != "cancelled")
        .where(col(SupportSession.starts_at) >= start)
        .where(col(SupportSession.starts_at) < end)
        .order_by(col(SupportSession.starts_at), col(SupportSession.id))
    )
    if consultant_id is not None:
        mine = select(SessionConsultant.session_id).where(
            SessionConsultant.person_id == consultant_id
        )
        query = query.where(col(SupportSession.id).in_(mine))
    if municipality_ids is not None:
        theirs = select(SessionMunicipality.session_id).where(
            col(SessionMunicipality.municipality_id).in_(set(municipality_ids) or {0})
        )
        query = query.where(col(SupportSession.id).in_(theirs))
    return list(session.exec(query).all())


def sessions_of_town(session: Session, municipality_id: int) -> list[SupportSession]:
    """Every session of one municipality, cancelled ones too (the town's record)."""
    theirs = select(SessionMunicipality.session_id).where(
        SessionMunicipality.municipality_id == municipality_id
    )
    return list(
        session.exec(
            select(SupportSession)
            .where(col(SupportSession.id).in_(theirs))
            .order_by(col(SupportSession.starts_at), col(SupportSession.id))
        ).all()
    )


@dataclass(frozen=True)
class LogRow:
    log: WorkLog
    session_ids: list[int]


def logs_of_sessions(session: Session, session_ids: Collection[int]) -> list[LogRow]:
    """The work logs covering any of these sessions, newest first, each with all its
    sessions (two queries)."""
    if not session_ids:
        return []
    covering = select(WorkLogSession.log_id).where(
        col(WorkLogSession.session_id).in_(set(session_ids))
    )
    found = list(
        session.exec(
            select(WorkLog)
            .where(col(WorkLog.id).in_(covering))
            .order_by(col(WorkLog.filed_at).desc(), col(WorkLog.id).desc())
        ).all()
    )
    ids = [row.id for row in found if row.id is not None]
    of_log: dict[int, list[int]] = defaultdict(list)
    if ids:
        for log_id, session_id in session.exec(
            select(WorkLogSession.log_id, WorkLogSession.session_id)
            .where(col(WorkLogSession.log_id).in_(ids))
            .order_by(col(WorkLogSession.session_id))
        ):
            of_log[log_id].append(session_id)
    return [LogRow(row, of_log[row.id or 0]) for row in found]


def issues(
    session: Session, municipality_ids: Collection[int] | None, *, open_only: bool = True
) -> list[FollowUpIssue]:
    """Follow-up issues of these municipalities (None: every one), oldest first."""
    query = select(FollowUpIssue).order_by(col(FollowUpIssue.created_at), col(FollowUpIssue.id))
    if open_only:
        query = query.where(FollowUpIssue.status != IssueStatus.RESOLVED)
    if municipality_ids is not None:
        query = query.where(col(FollowUpIssue.municipality_id).in_(set(municipality_ids) or {0}))
    return list(session.exec(query).all())


@dataclass(frozen=True)
class AuditFilter:
    person_id: int | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("request.")
    municipality_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class AuditLine:
    """An audit entry as the desk shows and exports it: without its before/after JSON,
    which the page never shows and which made reading 10,000 entries slow."""

    id: int
    at: datetime
    actor_id: int | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    detail: str | None


LINE_COLUMNS = tuple(col(getattr(AuditEntry, name)) for name in AuditLine.__dataclass_fields__)


def audit_entries(
    session: Session, where: AuditFilter, *, limit: int | None = None
) -> tuple[list[AuditLine], int]:
    """Audit entries matching the filter, newest first, and how many match in all (two
    queries). A town matches entries by its staff and entries about its requests or
    sessions."""
    query = select(*LINE_COLUMNS)
    if where.person_id is not None:
        query = query.where(AuditEntry.actor_id == where.person_id)
    if where.action:
        if where.action.endswith("."):
            query = query.where(col(AuditEntry.action).startswith(where.action))
        else:
            query = query.where(AuditEntry.action == where.action)
    if where.outcome:
        query = query.where(AuditEntry.outcome == where.outcome)
    if where.start is not None:
        query = query.where(col(AuditEntry.at) >= where.start)
    if where.end is not None:
        query = query.where(col(AuditEntry.at) < where.end)
    if where.municipality_id is not None:
        town = where.municipality_id
        staff = select(Person.id).where(Person.municipality_id == town)
        town_requests = select(cast(Request.id, String)).where(Request.municipality_id == town)
        town_sessions = select(cast(SessionMunicipality.session_id, String)).where(
            SessionMunicipality.municipality_id == town
        )
        query = query.where(
            or_(
                col(AuditEntry.actor_id).in_(staff),
                (col(AuditEntry.target_type) == "request")
                & col(AuditEntry.target_id).in_(town_requests),
                (col(AuditEntry.target_type) == "session")
                & col(AuditEntry.target_id).in_(town_sessions),
                (col(AuditEntry.target_type) == "municipality")
                & (col(AuditEntry.target_id) == str(town)),
            )
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    query = query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    if limit is not None:
        query = query.limit(limit)
    return [AuditLine(*row) for row in session.execute(query)], total


def audit_actions(session: Session) -> list[str]:
    """The actions the audit log holds, for the filter's choices."""
    return list(session.exec(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def identities(session: Session, person_ids: Collection[int]) -> dict[int, list[ChatIdentity]]:
    """Each person's chat identities, earliest first (one query)."""
    found: dict[int, list[ChatIdentity]] = defaultdict(list)
    if person_ids:
        for row in session.exec(
            select(ChatIdentity)
            .where(col(ChatIdentity.person_id).in_(set(person_ids)))
            .order_by(col(ChatIdentity.id))
        ):
            found[row.person_id].append(row)
    return found
