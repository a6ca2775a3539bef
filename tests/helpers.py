"""Small shared steps of the tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import select

from handlers import approval, intake, payloads
from handlers.actor import Actor
from handlers.context import Context
from storage.models import AuditEntry, Request
from tests.conftest import consultation


def submit(ctx: Context, actor: Actor, **overrides: Any) -> int:
    reply = intake.submit(ctx, actor, consultation(actor, **overrides))
    assert reply.ok, reply.plain_text()
    return int(reply.data["request_id"])


def ref(request_id: int) -> str:
    return payloads.encode(id=request_id)


def approve(ctx: Context, approver: Actor, request_id: int, consultants: list[Actor]) -> Any:
    return approval.approve(
        ctx, approver, ref(request_id), {"consultants": [str(c.id) for c in consultants]}
    )


def state(ctx: Context, request_id: int) -> str:
    with ctx.db.transaction() as session:
        row = session.get(Request, request_id)
        assert row is not None
        return row.state


def number(ctx: Context, request_id: int) -> str:
    with ctx.db.transaction() as session:
        row = session.get(Request, request_id)
        assert row is not None
        return row.number


def count(ctx: Context, model: Any) -> int:
    with ctx.db.transaction() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def refusals(ctx: Context, action: str | None = None) -> list[AuditEntry]:
    with ctx.db.transaction() as session:
        query = select(AuditEntry).where(AuditEntry.outcome == "refused")
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.exec(query).all())


def application(actor: Actor, **overrides: Any) -> dict[str, Any]:
    """A valid BPR application form for `actor`'s municipality."""
    values: dict[str, Any] = {
        "municipality": str(actor.municipality_id),
        "department": actor.department or "企画課",
        "requester_title": "主査",
        "requester_name": actor.name,
        "goal": "",
        "description": "窓口業務の負担が大きい。",
    }
    values.update(overrides)
    return values


def apply(ctx: Context, actor: Actor, **overrides: Any) -> int:
    reply = intake.apply_bpr(ctx, actor, application(actor, **overrides))
    assert reply.ok, reply.plain_text()
    return int(reply.data["request_id"])
