"""BPR engagements: one per selected municipality, its goal history and its 10 steps.

A step is closed only through `close_step`: a done step names the held BPR session(s)
of its engagement it was done in, so its 実施日 is always a session's date and progress
can never run ahead of the sessions.

A BPR session belongs to every engaged town in it (`session_municipality`), not only to
the engagement it was booked under (`support_session.engagement_id`, the first town of a
joint session): each town of a joint session counts it as held and can do steps in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import (
    Engagement,
    EngagementStep,
    EngagementStepSession,
    GoalRevision,
    SessionKind,
    SessionMunicipality,
    SessionStatus,
    StepStatus,
    SupportSession,
)
from storage.rules import Broken
from storage.sessions import counts_as_held

MAX_STEP_SESSIONS = 2  # a step is done in one session, or spans two

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


def get_step(session: Session, step_id: int) -> EngagementStep | None:
    return session.get(EngagementStep, step_id)


def bpr_sessions(session: Session, engagement_id: int) -> list[SupportSession]:
    """The engagement's live (not cancelled) BPR sessions, in time order: those its town
    is in, joint sessions booked under another town's engagement too."""
    return list(
        session.exec(
            select(SupportSession)
            .join(
                SessionMunicipality, col(SessionMunicipality.session_id) == col(SupportSession.id)
            )
            .join(
                Engagement,
                col(Engagement.municipality_id) == col(SessionMunicipality.municipality_id),
            )
            .where(Engagement.id == engagement_id)
            .where(SupportSession.kind == SessionKind.BPR)
            .where(SupportSession.status != SessionStatus.CANCELLED)
            .order_by(col(SupportSession.starts_at), col(SupportSession.id))
        ).all()
    )


def held_sessions(session: Session, engagement_id: int, now: datetime) -> list[SupportSession]:
    """The engagement's BPR sessions that count as held (`counts_as_held`), time order:
    the only sessions a step may be done in."""
    return [
        s
        for s in bpr_sessions(session, engagement_id)
        if counts_as_held(s.status, s.starts_at, now)
    ]


def upcoming_sessions(session: Session, engagement_id: int, now: datetime) -> list[SupportSession]:
    """The engagement's booked BPR sessions not yet begun, in time order (予定日 of the
    remaining planned steps)."""
    return [
        s
        for s in bpr_sessions(session, engagement_id)
        if not counts_as_held(s.status, s.starts_at, now)
    ]


def of_sessions(session: Session, session_ids: Collection[int]) -> dict[int, list[Engagement]]:
    """The engagements each BPR session serves: one per engaged town in it, in engagement
    order (a session of no engaged town, or not a BPR session: absent)."""
    found: dict[int, list[Engagement]] = defaultdict(list)
    if session_ids:
        rows = session.exec(
            select(SessionMunicipality.session_id, Engagement)
            .join(
                Engagement,
                col(Engagement.municipality_id) == col(SessionMunicipality.municipality_id),
            )
            .join(SupportSession, col(SupportSession.id) == col(SessionMunicipality.session_id))
            .where(col(SessionMunicipality.session_id).in_(session_ids))
            .where(SupportSession.kind == SessionKind.BPR)
            .order_by(col(Engagement.id))
        ).all()
        for session_id, engagement in rows:
            found[session_id].append(engagement)
    return found


def step_sessions(session: Session, step_ids: Collection[int]) -> dict[int, list[SupportSession]]:
    """The sessions each step was done in, in time order (a step without any: absent)."""
    found: dict[int, list[SupportSession]] = defaultdict(list)
    if step_ids:
        rows = session.exec(
            select(EngagementStepSession.step_id, SupportSession)
            .join(SupportSession, col(SupportSession.id) == col(EngagementStepSession.session_id))
            .where(col(EngagementStepSession.step_id).in_(step_ids))
            .order_by(col(SupportSession.starts_at), col(SupportSession.id))
        ).all()
        for step_id, row in rows:
            found[step_id].append(row)
    return found


def completed(steps: Sequence[EngagementStep]) -> int:
    """「10工程中N工程完了」: steps done or skipped (a done step always has its sessions)."""
    return sum(s.status != StepStatus.PLANNED for s in steps)


def close_step(
    session: Session,
    step: EngagementStep,
    status: str,
    session_ids: Sequence[int],
    *,
    now: datetime,
    by: int,
    note: str | None = None,
) -> None:
    """The one way a step leaves `planned`, whoever writes it (the step form, a filed log,
    the demo): done in 1–2 held BPR sessions its engagement's town is in, or skipped with
    none.
    Its sessions (in id order), then the step, are locked — the order a filed log takes
    too — so a concurrent writer of the same step, or a cancel or move of one of its
    sessions, waits; `Broken` (nothing written) when a rule would break."""
    ids = list(dict.fromkeys(session_ids))
    rows = {
        i: session.exec(
            select(SupportSession).where(SupportSession.id == i).with_for_update()
        ).first()
        for i in sorted(ids)
    }
    locked = session.exec(
        select(EngagementStep)
        .where(EngagementStep.id == step.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if locked.status != StepStatus.PLANNED:
        raise _broken("refusal.step_not_planned", step)
    if status == StepStatus.SKIPPED and ids:
        raise _broken("refusal.step_skipped_in_session", step)
    if status == StepStatus.DONE:
        _check_done_in(session, step, rows, now)
    step.status = status
    step.note = note
    step.updated_by_id = by
    session.add(step)
    for session_id in ids:
        session.add(EngagementStepSession(step_id=step.id or 0, session_id=session_id))
    session.flush()


def _check_done_in(
    session: Session,
    step: EngagementStep,
    rows: dict[int, SupportSession | None],
    now: datetime,
) -> None:
    if not held_sessions(session, step.engagement_id, now):
        raise _broken("refusal.step_before_sessions", step)
    if not 1 <= len(rows) <= MAX_STEP_SESSIONS:
        raise _broken("refusal.step_sessions_count", step, maximum=MAX_STEP_SESSIONS)
    served = of_sessions(session, list(rows))
    for session_id, row in rows.items():
        if row is None or step.engagement_id not in {e.id for e in served.get(session_id, [])}:
            raise _broken("refusal.step_session_elsewhere", step)
        if not counts_as_held(row.status, row.starts_at, now):
            raise _broken("refusal.step_session_not_held", step)


def _broken(key: str, step: EngagementStep, **params: int) -> Broken:
    return Broken(
        key, target_type="engagement", target_id=step.engagement_id, number=step.number, **params
    )
