"""The prefecture's review of case-book cases (R13): a case (C12, B3 — derived from the
record by handlers.documents.casebook, never stored) is found by other towns only once published,
and only as long as its content is the one reviewed (`digest`). No row means not
reviewed yet."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel import Session, col, select

from storage.db import insert_for
from storage.models import (
    CaseReview,
    EngagementStep,
    SessionMunicipality,
    StepStatus,
    SupportSession,
    WorkLogSession,
)

PUBLISHED, WITHHELD = "published", "withheld"


def reviews(session: Session) -> dict[str, CaseReview]:
    return {row.ref: row for row in session.exec(select(CaseReview)).all()}


def published(session: Session) -> dict[str, str | None]:
    """The published cases: ref -> digest of the content the prefecture published."""
    rows = session.exec(
        select(CaseReview.ref, CaseReview.digest).where(CaseReview.status == PUBLISHED)
    ).all()
    return {ref: digest for ref, digest in rows}


def decide(
    session: Session,
    ref: str,
    municipality_id: int | None,
    status: str,
    digest: str,
    *,
    by: int,
    at: datetime,
) -> tuple[str | None, str | None]:
    """Record the decision on `ref` for the content whose digest is `digest`; returns the
    status and digest before it (None, None: not reviewed). Two first decisions at once
    (PostgreSQL): the insert's conflict decides, the later one then updates the row the
    other wrote, under its lock — never a primary-key error."""
    assert status in (PUBLISHED, WITHHELD)
    values = {
        "municipality_id": municipality_id,
        "status": status,
        "digest": digest,
        "reviewed_by_id": by,
        "reviewed_at": at,
    }
    inserted = session.execute(
        insert_for(session)(CaseReview)
        .values(ref=ref, **values)
        .on_conflict_do_nothing(index_elements=["ref"])
        .returning(col(CaseReview.ref))
    ).first()
    if inserted is not None:
        return None, None
    row = session.get(CaseReview, ref, with_for_update=True, populate_existing=True)
    assert row is not None  # the conflict was with it, and a review is never deleted
    before = row.status, row.digest
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return before


def logs_of_request(session: Session, request_id: int) -> list[int]:
    """The logs of the request's sessions: those one consultation case is made of."""
    return list(
        session.exec(
            select(WorkLogSession.log_id)
            .join(SupportSession, col(SupportSession.id) == col(WorkLogSession.session_id))
            .where(SupportSession.request_id == request_id)
            .distinct()
        ).all()
    )


def logs_in_municipality(session: Session, municipality_id: int) -> list[int]:
    """The logs with a session in the municipality: those its BPR case may be made of."""
    return list(
        session.exec(
            select(WorkLogSession.log_id)
            .join(
                SessionMunicipality,
                col(SessionMunicipality.session_id) == col(WorkLogSession.session_id),
            )
            .where(SessionMunicipality.municipality_id == municipality_id)
            .distinct()
        ).all()
    )


def engagements_with_done_steps(
    session: Session, engagement_ids: Collection[int] | None = None
) -> set[int]:
    """Which engagements (of `engagement_ids`, else all) have a step done: one query
    however many engagements the case book lists."""
    query = select(EngagementStep.engagement_id).where(EngagementStep.status == StepStatus.DONE)
    if engagement_ids is not None:
        query = query.where(col(EngagementStep.engagement_id).in_(engagement_ids))
    return set(session.exec(query.distinct()).all())
