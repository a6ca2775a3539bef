"""Small shared steps of the tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from bot.demo.cast import CAST, person_values
from handlers.core import payloads
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.intake import decision, submission
from handlers.people import roster
from storage import people, sessions
from storage.models import AuditEntry, Request, SupportSession


def enrol_cast(ctx: Context) -> dict[str, Actor]:
    """The demo's fictional roster, registered, by name."""
    with ctx.db.transaction() as session:
        ids = {m.name: m.id or 0 for m in people.municipalities(session)}
    found = {}
    for entry in CAST:
        person = roster.add_person(ctx, person_values(entry, ids))
        found[person.name] = Actor.from_person(person)
    return found


def consultation(actor: Actor, **overrides: Any) -> dict[str, Any]:
    """A valid consultation form for `actor`'s municipality."""
    values: dict[str, Any] = {
        "municipality": str(actor.municipality_id),
        "department": actor.department or "企画課",
        "requester_title": "主査",
        "requester_name": actor.name,
        "topic": "online_application",
        "description": "電子申請の進め方を相談したい。",
        "mode": "visit",
        "preferred_dates": "2026-07-15, 2026-07-16",
    }
    values.update(overrides)
    return values


def submit(ctx: Context, actor: Actor, **overrides: Any) -> int:
    reply = submission.submit(ctx, actor, consultation(actor, **overrides))
    assert reply.ok, reply.plain_text()
    return int(reply.data["request_id"])


def ref(request_id: int) -> str:
    return payloads.encode(id=request_id)


def approve(ctx: Context, approver: Actor, request_id: int, consultants: list[Actor]) -> Any:
    return decision.approve(
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
    reply = submission.apply_bpr(ctx, actor, application(actor, **overrides))
    assert reply.ok, reply.plain_text()
    return int(reply.data["request_id"])


def add_session_row(
    ctx: Context,
    kind: str,
    starts_at: datetime,
    municipality_ids: Sequence[int] = (),
    *,
    by: Actor,
    status: str = "booked",
) -> int:
    """A session row written straight to storage (no booking rules): for tests of what
    is derived from the rows, such as the counts shown everywhere."""
    with ctx.db.transaction() as session:
        row = sessions.add(
            session,
            SupportSession(
                kind=kind,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                mode="visit",
                place="会議室",
                status=status,
                uid=f"row-{kind}-{starts_at.isoformat()}-{'-'.join(map(str, municipality_ids))}",
                created_by_id=by.id,
                created_at=starts_at - timedelta(days=30),
            ),
            municipality_ids,
            [by.id],
        )
        assert row.id is not None
        return row.id


def bpr_session(
    ctx: Context,
    engagement_id: int,
    starts_at: Any,
    consultants: list[Actor],
    *,
    mode: str = "visit",
    place: str | None = "市役所 会議室",
    meeting_url: str | None = None,
    municipality_ids: list[int] | None = None,
) -> int:
    """A BPR session of the engagement written straight through storage (2 h long), so a
    test of steps or logs does not depend on the booking rules."""
    import uuid
    from datetime import timedelta

    from storage import engagements, sessions
    from storage.models import SupportSession

    with ctx.db.transaction() as session:
        engagement = engagements.get(session, engagement_id)
        assert engagement is not None
        row = sessions.add(
            session,
            SupportSession(
                kind="bpr",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                mode=mode,
                place=place,
                meeting_url=meeting_url,
                engagement_id=engagement_id,
                uid=f"{uuid.uuid4()}@test",
                created_by_id=consultants[0].id,
                created_at=ctx.clock.now(),
            ),
            municipality_ids or [engagement.municipality_id],
            [c.id for c in consultants],
        )
        assert row.id is not None
        return row.id


def publish_cases(ctx: Context, prefecture: Actor) -> list[str]:
    """The prefecture publishes every case of the case book through its buttons (#18:
    other towns and the case book document see published cases only); their refs."""
    from handlers.documents import casebook

    with ctx.db.transaction() as session:
        refs = [c.ref for c in casebook.gather_cases(session, "ja", shown_to=casebook.EVERY)]
    for ref in refs:
        value = payloads.encode(kind=ref[0], id=int(ref[1:]))
        assert casebook.publish(ctx, prefecture, value).ok
    return refs
