"""Notices queued for two Slack-linked consultants, due now: what the delivery and edge
tests send."""

from __future__ import annotations

from sqlmodel import select

from handlers.core.lookups import notify
from storage import people
from storage.models import Notification


def queue(ctx, cast, how_many: int) -> list[str]:
    """`how_many` notices to 小林 and 高橋 (linked to Slack), due now."""
    with ctx.db.transaction() as session:
        people.link_identity(session, cast["小林 健"].id, "slack", "U_KEN")
        people.link_identity(session, cast["高橋 誠"].id, "slack", "U_TAKA")
        for n in range(how_many):
            notify(
                session,
                key=f"test.notice:{n}",
                person_ids=[cast["小林 健"].id if n % 2 else cast["高橋 誠"].id],
                message="notice.assigned",
                params={"number": f"相談-2026-{n:03d}", "municipality": "宇土市"},
                now=ctx.clock.now(),
            )
    with ctx.db.transaction() as session:
        return [n.key for n in session.exec(select(Notification)) if n.key.startswith("test.")]
