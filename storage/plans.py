"""Season plans: a draft the prefecture reviews, then confirms (booked) or discards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import PlannedSession, PlanStatus, SeasonPlan

PLANNING_LOCK = 0x5EA50F  # the advisory lock's number: any constant no other lock uses


def serialise(session: Session) -> None:
    """Plan writers one after another, until this transaction ends.

    Why: a draft discards the drafts it finds and adds its own; a confirm or a discard
    decides one. Two drafts at once each kept theirs (two plans up for review), and a
    draft could mark discarded a plan a confirm was booking. No row exists to lock before
    the first draft, so on PostgreSQL this is a transaction-scoped advisory lock; SQLite's
    writer lock (BEGIN IMMEDIATE) already serialises."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(func.pg_advisory_xact_lock(PLANNING_LOCK))).one()


def add(session: Session, plan: SeasonPlan, rows: Sequence[PlannedSession]) -> SeasonPlan:
    session.add(plan)
    session.flush()
    for row in rows:
        row.plan_id = plan.id or 0
        session.add(row)
    session.flush()
    return plan


def get(session: Session, plan_id: int, *, lock: bool = False) -> SeasonPlan | None:
    query = select(SeasonPlan).where(SeasonPlan.id == plan_id)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def drafts(session: Session) -> list[SeasonPlan]:
    return list(session.exec(select(SeasonPlan).where(SeasonPlan.status == PlanStatus.DRAFT)).all())


def planned(session: Session, plan_id: int) -> list[PlannedSession]:
    return list(
        session.exec(
            select(PlannedSession)
            .where(PlannedSession.plan_id == plan_id)
            .order_by(col(PlannedSession.starts_at), col(PlannedSession.id))
        ).all()
    )


def reserve_windows(session: Session, after: datetime) -> list[PlannedSession]:
    """The consultation reserve of confirmed plans still ahead: capacity the planner keeps
    free and slot proposals offer first."""
    return list(
        session.exec(
            select(PlannedSession)
            .join(SeasonPlan, col(SeasonPlan.id) == col(PlannedSession.plan_id))
            .where(SeasonPlan.status == PlanStatus.CONFIRMED)
            .where(PlannedSession.kind == "reserve")
            .where(col(PlannedSession.starts_at) > after)
            .order_by(col(PlannedSession.starts_at), col(PlannedSession.id))
        ).all()
    )
