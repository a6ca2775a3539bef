"""Two approvers press at the same moment: exactly one decision; the other is told who
decided. On PostgreSQL (the CI's second pass) this is a real row-lock race."""

import threading

from handlers import approval, intake
from storage.models import AuditEntry, Request
from tests.helpers import ref, submit


def test_two_approvers_at_once_make_exactly_one_decision(ctx, cast, staff):
    ken, aso = cast["熊本 県子"], cast["阿蘇 一郎"]
    for _round in range(5):
        request_id = submit(ctx, staff)
        barrier = threading.Barrier(2)
        replies = {}

        def decide(actor, how, request_id=request_id, barrier=barrier, replies=replies):
            barrier.wait()
            if how == "approve":
                replies[actor.name] = approval.approve(
                    ctx, actor, ref(request_id), {"consultants": [str(cast["高橋 誠"].id)]}
                )
            else:
                replies[actor.name] = approval.decline(
                    ctx, actor, ref(request_id), {"reason": "重複"}
                )

        threads = [
            threading.Thread(target=decide, args=(ken, "approve")),
            threading.Thread(target=decide, args=(aso, "decline")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        winners = [name for name, reply in replies.items() if reply.ok]
        losers = [reply for reply in replies.values() if not reply.ok]
        assert len(winners) == 1 and len(losers) == 1, [r.plain_text() for r in replies.values()]
        assert f"{winners[0]}さんが" in losers[0].plain_text()
        with ctx.db.transaction() as session:
            row = session.get(Request, request_id)
            decisions = [
                e
                for e in session.exec(
                    AuditEntry.__table__.select().where(AuditEntry.target_id == str(request_id))
                )
                if e.outcome == "ok" and e.action in ("request.approve", "request.decline")
            ]
        assert row.state in ("approved", "declined")
        assert len(decisions) == 1


def test_simultaneous_submissions_get_distinct_numbers(ctx, cast, staff):
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import consultation

    barrier = threading.Barrier(4)

    def one(_):
        barrier.wait()
        return intake.submit(ctx, staff, consultation(staff))

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(one, range(4)))
    assert all(r.ok for r in replies), [r.plain_text() for r in replies]
    assert sorted(r.data["number"] for r in replies) == [f"相談-2026-00{i}" for i in range(1, 5)]
