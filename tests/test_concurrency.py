"""Two approvers press at the same moment: exactly one decision; the other is told who
decided. On PostgreSQL (the CI's second pass) this is a real row-lock race."""

import threading

from handlers.intake import approval_card, decision, submission
from storage.models import AuditEntry, Request
from tests.support.factories import ref, submit
from tests.support.threads import run_together


def test_two_approvers_at_once_make_exactly_one_decision(ctx, cast, staff):
    ken, aso = cast["熊本 県子"], cast["阿蘇 一郎"]
    for _round in range(5):
        request_id = submit(ctx, staff)
        barrier = threading.Barrier(2)
        replies = {}

        def decide(actor, how, request_id=request_id, barrier=barrier, replies=replies):
            barrier.wait()
            if how == "approve":
                replies[actor.name] = decision.approve(
                    ctx, actor, ref(request_id), {"consultants": [str(cast["高橋 誠"].id)]}
                )
            else:
                replies[actor.name] = decision.decline(
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

    from tests.support.factories import consultation

    barrier = threading.Barrier(4)

    def one(_):
        barrier.wait()
        return submission.submit(ctx, staff, consultation(staff))

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(one, range(4)))
    assert all(r.ok for r in replies), [r.plain_text() for r in replies]
    assert sorted(r.data["number"] for r in replies) == [f"相談-2026-00{i}" for i in range(1, 5)]


def booking(cast, request_number=None, start="10:00", day="2026-07-06"):
    values = {
        "session_kind": "office_day",
        "date": day,
        "start": start,
        "minutes": 120,
        "mode": "visit",
        "consultants": [str(cast["高橋 誠"].id)],
    }
    if request_number:
        values |= {
            "session_kind": "consultation",
            "request_number": request_number,
            "consultants": [str(cast["小林 健"].id)],
        }
    return values


def test_one_consultant_cannot_be_booked_twice_at_once(ctx, cast):
    from handlers.scheduling import booking as scheduling
    from storage.models import SupportSession
    from tests.support.factories import count

    clerk, ken = cast["水前寺 花"], cast["熊本 県子"]
    for round_number in range(4):
        day = f"2026-07-{6 + round_number:02d}"
        replies = run_together(
            lambda d=day: scheduling.book(ctx, clerk, booking(cast, day=d)),
            lambda d=day: scheduling.book(ctx, ken, booking(cast, start="11:00", day=d)),
        )
        assert sorted(r.ok for r in replies) == [False, True], [r.plain_text() for r in replies]
        assert "高橋 誠さん" in next(r for r in replies if not r.ok).plain_text()
    assert count(ctx, SupportSession) == 4


def test_cancel_and_book_at_once_never_leave_a_live_session_on_a_cancelled_request(ctx, cast):
    from handlers.scheduling import booking as scheduling
    from storage import sessions
    from tests.support.factories import approve, number, ref, state

    staff = cast["森 翔太"]
    for round_number in range(4):
        request_id = submit(ctx, staff)
        assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
        day = f"2026-07-{6 + round_number:02d}"
        run_together(
            lambda r=request_id: submission.cancel(ctx, staff, ref(r), {"reason": "不要"}),
            lambda r=request_id, d=day: scheduling.book(
                ctx, cast["水前寺 花"], booking(cast, number(ctx, r), day=d)
            ),
        )
        with ctx.db.transaction() as session:
            live = sessions.listing(session, request_id=request_id)
        final = state(ctx, request_id)
        assert (final, bool(live)) in (("cancelled", False), ("scheduled", True)), (final, live)


def test_one_poster_per_card_however_many_race(ctx, cast, staff):
    """The click that created a request and the deliverers of several instances all try
    to post its card: the reservation lets exactly one; a dead poster's is taken over,
    and the late poster can then neither release nor fill it."""
    from concurrent.futures import ThreadPoolExecutor

    request_id = submit(ctx, staff)
    barrier = threading.Barrier(6)

    def reserve(_: int) -> str | None:
        barrier.wait()
        return approval_card.reserve_card(ctx, "teams", request_id, "19:channel")

    with ThreadPoolExecutor(6) as pool:
        tokens = [t for t in pool.map(reserve, range(6)) if t]
    assert len(tokens) == 1
    late = tokens[0]
    assert approval_card.without_card(ctx, "teams") == [request_id]  # not posted yet
    assert approval_card.reserve_card(ctx, "teams", request_id, "19:channel") is None
    ctx.clock.advance(minutes=6)  # the poster stalled: its reservation lapses
    taken = approval_card.reserve_card(ctx, "teams", request_id, "19:channel")
    assert taken and taken != late
    approval_card.release_card(ctx, late)  # the late poster's post failed: not its to give back
    assert approval_card.reserve_card(ctx, "teams", request_id, "19:channel") is None
    card = approval_card.card(ctx, request_id, "ja")
    assert not approval_card.fill_card(ctx, late, "19:channel", "m-late", card)  # a duplicate
    assert approval_card.fill_card(ctx, taken, "19:channel", "m-1", card)
    assert approval_card.without_card(ctx, "teams") == []
    assert approval_card.stale_cards(ctx, "teams") == []


def test_references_remembered_at_once_are_one_row(ctx, cast):
    """Two activities (or instances) remembering the same channel or person at once."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlmodel import select

    from storage import teams
    from storage.models import TeamsConversation

    person = cast["熊本 県子"].id
    barrier = threading.Barrier(6)

    def remember(i: int) -> None:
        barrier.wait()
        with ctx.db.transaction() as session:
            url = f"https://smba.example/{i}/"
            if i % 2:
                teams.remember_channel(
                    session, "19:c", service_url=url, now=ctx.clock.now(), tenant_id=None
                )
            else:
                teams.remember_personal(session, person, service_url=url, now=ctx.clock.now())

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(remember, range(6)))
    with ctx.db.transaction() as session:
        rows = session.exec(select(TeamsConversation)).all()
    assert sorted(r.kind for r in rows) == ["channel", "personal"]
