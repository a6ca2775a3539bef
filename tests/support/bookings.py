"""Bookings as the scheduling, invitation, feed, mail, settings and Slack file tests make
them: the values of a booking form, a booked consultation, a move, a cancellation and the
invitations they queue."""

from __future__ import annotations

from sqlmodel import select

from handlers import router
from handlers.core import payloads
from handlers.scheduling import booking as scheduling
from handlers.scheduling import invites
from storage.models import Notification, SupportSession
from tests.support.factories import approve, number, submit


def booking(cast, **overrides):
    values = {
        "session_kind": "office_day",
        "date": "2026-07-08",
        "start": "09:00",
        "minutes": 240,
        "mode": "visit",
        "consultants": [str(cast["高橋 誠"].id)],
    }
    values.update(overrides)
    return values


def book_consultation(ctx, cast) -> int:
    """田中 美咲 (宇土市) asks; 小林 健 is assigned; 水前寺 花 books it."""
    request_id = submit(ctx, cast["田中 美咲"])
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    values = booking(
        cast,
        session_kind="consultation",
        request_number=number(ctx, request_id),
        date="2026-07-15",
        start="10:00",
        minutes=120,
        place="宇土市役所 2階会議室",
        consultants=[str(cast["小林 健"].id)],
    )
    reply = scheduling.book(ctx, cast["水前寺 花"], values)
    assert reply.ok, reply.plain_text()
    return int(reply.data["session_id"])


def move(ctx, actor, session_id: int, day: str, start: str) -> None:
    reply = router.submit(
        ctx, actor, "session.move", {"date": day, "start": start}, payloads.encode(id=session_id)
    )
    assert reply.ok, reply.plain_text()


def cancel(ctx, actor, session_id: int, reason: str = "庁内行事と重なったため") -> None:
    reply = router.submit(
        ctx, actor, "session.cancel", {"reason": reason}, payloads.encode(id=session_id)
    )
    assert reply.ok, reply.plain_text()


def queue(ctx, session_id: int, method: str) -> None:
    """Queue again what booking, moving or cancelling queued (a retried transaction)."""
    with ctx.db.transaction() as session:
        row = session.get(SupportSession, session_id)
        invites.queue_invites(session, row, method, ctx.clock.now())


def invite_rows(ctx) -> list[Notification]:
    with ctx.db.transaction() as session:
        rows = session.exec(
            select(Notification).where(Notification.kind.in_(["invite", "invite_email"]))
        ).all()
        return [Notification.model_validate(row) for row in rows]
