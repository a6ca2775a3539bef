"""The prefecture's review of case-book cases (R13): a case (C12, B3 — derived from the
record by handlers.casebook, never stored) is found by other towns only once published.
No row means not reviewed yet."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from storage.models import CaseReview

PUBLISHED, WITHHELD = "published", "withheld"


def reviews(session: Session) -> dict[str, CaseReview]:
    return {row.ref: row for row in session.exec(select(CaseReview)).all()}


def published(session: Session) -> set[str]:
    return set(session.exec(select(CaseReview.ref).where(CaseReview.status == PUBLISHED)).all())


def decide(
    session: Session, ref: str, municipality_id: int | None, status: str, *, by: int, at: datetime
) -> tuple[str | None, CaseReview]:
    """Record the decision on `ref`; returns the status before it (None: not reviewed)."""
    assert status in (PUBLISHED, WITHHELD)
    row = session.get(CaseReview, ref, with_for_update=True)
    before = row.status if row else None
    if row is None:
        row = CaseReview(ref=ref, municipality_id=municipality_id, status=status)
    row.status = status
    row.municipality_id = municipality_id
    row.reviewed_by_id = by
    row.reviewed_at = at
    session.add(row)
    session.flush()
    return before, row
