"""The request state machine: the only place that says which moves are allowed.

submitted → needs_info → submitted (answered); submitted | needs_info → approved |
declined; approved → scheduled → done. Requests not yet done may be cancelled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from handlers.core.errors import Key, Refused
from storage import audit, request_store
from storage.models import Request, RequestState

S = RequestState

TRANSITIONS: frozenset[tuple[RequestState, RequestState]] = frozenset(
    {
        (S.SUBMITTED, S.NEEDS_INFO),
        (S.NEEDS_INFO, S.SUBMITTED),
        (S.SUBMITTED, S.APPROVED),
        (S.NEEDS_INFO, S.APPROVED),
        (S.SUBMITTED, S.DECLINED),
        (S.NEEDS_INFO, S.DECLINED),
        (S.APPROVED, S.SCHEDULED),
        (S.SCHEDULED, S.DONE),
        (S.SCHEDULED, S.APPROVED),  # its session was cancelled: to be booked again
        (S.SUBMITTED, S.CANCELLED),
        (S.NEEDS_INFO, S.CANCELLED),
        (S.APPROVED, S.CANCELLED),
        (S.SCHEDULED, S.CANCELLED),
    }
)

PENDING = frozenset({S.SUBMITTED, S.NEEDS_INFO})


def can_move(current: RequestState | str, target: RequestState | str) -> bool:
    return (RequestState(current), RequestState(target)) in TRANSITIONS


def check(request: Request, target: RequestState) -> None:
    """Refuse a move the state machine does not allow, naming both states."""
    if not can_move(request.state, target):
        raise Refused(
            "refusal.bad_transition",
            target_type="request",
            target_id=request.id,
            number=request.number,
            current=Key(f"state.{request.state}"),
            target=Key(f"state.{target.value}"),
        )


def move(request: Request, target: RequestState) -> None:
    """Check and apply a move on the object only; `transition` is what persists one."""
    check(request, target)
    request.state = target


def transition(
    session: Session,
    request: Request,
    target: RequestState,
    *,
    actor_id: int | None,
    now: datetime,
    action: str,
    detail: str | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Move the request and audit the move (who, when, from and to) in the caller's
    transaction; refuses like `move` if the move is not allowed."""
    before = request.state
    check(request, target)
    assert request.id is not None
    if not request_store.set_state(session, request.id, before, target, now):
        raise Refused(
            "refusal.changed_meanwhile",
            target_type="request",
            target_id=request.id,
            number=request.number,
        )
    request.state = target
    request.updated_at = now
    session.add(request)
    audit.record(
        session,
        at=now,
        actor_id=actor_id,
        action=action,
        target_type="request",
        target_id=request.id,
        before={"state": before},
        after={"state": request.state, **(after or {})},
        detail=detail,
    )
