"""The audit log: append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models import AuditEntry


def record(
    session: Session,
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    outcome: str = "ok",
    target_type: str | None = None,
    target_id: str | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
        detail=detail,
    )
    session.add(entry)
    session.flush()
    return entry


def snapshot(record: Any, *fields: str) -> dict[str, Any]:
    """JSON-safe copy of some fields, for the before/after of an audit entry."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(record, name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, list | tuple):
            value = [v.isoformat() if hasattr(v, "isoformat") else v for v in value]
        out[name] = value
    return out
