"""BPR engagements: one per selected municipality, its goal history and its 10 steps."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.models import Engagement, EngagementStep, GoalRevision

# R4: the default path; numbers are the session the step usually falls on.
DEFAULT_STEPS: tuple[tuple[int, str], ...] = (
    (1, "hearing"),
    (2, "hearing"),
    (3, "as_is"),
    (4, "analysis"),
    (5, "analysis"),
    (6, "to_be"),
    (7, "implementation_support"),
    (8, "implementation_support"),
    (9, "implementation_support"),
    (10, "implementation"),
)


def add(session: Session, engagement: Engagement) -> Engagement:
    session.add(engagement)
    session.flush()
    assert engagement.id is not None
    for number, phase in DEFAULT_STEPS:
        session.add(EngagementStep(engagement_id=engagement.id, number=number, phase=phase))
    session.flush()
    return engagement


def get(session: Session, engagement_id: int, *, lock: bool = False) -> Engagement | None:
    query = select(Engagement).where(Engagement.id == engagement_id)
    if lock:
        query = query.with_for_update()
        session.expire_all()
    return session.exec(query).first()


def by_municipality(session: Session, municipality_id: int) -> Engagement | None:
    return session.exec(
        select(Engagement).where(Engagement.municipality_id == municipality_id)
    ).first()


def listing(session: Session, municipality_id: int | None = None) -> list[Engagement]:
    query = select(Engagement).order_by(col(Engagement.id))
    if municipality_id is not None:
        query = query.where(Engagement.municipality_id == municipality_id)
    return list(session.exec(query).all())


def steps(session: Session, engagement_id: int) -> list[EngagementStep]:
    return list(
        session.exec(
            select(EngagementStep)
            .where(EngagementStep.engagement_id == engagement_id)
            .order_by(col(EngagementStep.number))
        ).all()
    )


def add_goal_revision(session: Session, revision: GoalRevision) -> None:
    session.add(revision)
    session.flush()


def goal_history(session: Session, engagement_id: int) -> list[GoalRevision]:
    return list(
        session.exec(
            select(GoalRevision)
            .where(GoalRevision.engagement_id == engagement_id)
            .order_by(col(GoalRevision.id))
        ).all()
    )
