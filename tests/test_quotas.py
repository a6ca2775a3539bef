"""Quota status: a joint session counts once; pace is judged against the plan."""

from datetime import datetime

from handlers import quotas, scheduling
from handlers.clock import TOKYO
from tests.helpers import apply, approve, number, submit


def book(ctx, actor, cast, kind, day, municipalities=(), request_number=None, start="13:00"):
    values = {
        "session_kind": kind,
        "date": day,
        "start": start,
        "minutes": 120,
        "mode": "visit",
        "municipalities": [str(m) for m in municipalities],
        "consultants": [str(cast["高橋 誠"].id)],
    }
    if request_number:
        values["request_number"] = request_number
    reply = scheduling.book(ctx, actor, values)
    assert reply.ok, reply.plain_text()
    return reply


def select_bpr(ctx, cast, name):

    staff = cast[name]
    request_id = apply(ctx, staff)
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["高橋 誠"]]).ok
    return staff.municipality_id


def test_joint_sessions_count_once(ctx, cast):
    uto, kikuchi = select_bpr(ctx, cast, "田中 美咲"), select_bpr(ctx, cast, "井上 恵")
    clerk = cast["水前寺 花"]
    book(ctx, clerk, cast, "bpr", "2026-07-06", [uto, kikuchi])  # joint
    book(ctx, clerk, cast, "bpr", "2026-07-07", [uto])
    book(ctx, clerk, cast, "office_day", "2026-07-08", start="09:00")
    request_id = submit(ctx, cast["森 翔太"])
    approved = approve(ctx, cast["熊本 県子"], request_id, [cast["高橋 誠"]])
    assert approved.ok
    book(ctx, clerk, cast, "consultation", "2026-07-09", request_number=number(ctx, request_id))
    ctx.clock.set(datetime(2026, 7, 7, 18, 0, tzinfo=TOKYO))
    rows = {r.kind: r for r in quotas.figures(ctx)}
    assert (rows["bpr"].held, rows["bpr"].booked) == (2, 0)
    assert (rows["office_day"].held, rows["office_day"].booked) == (0, 1)
    assert (rows["consultation"].held, rows["consultation"].booked) == (0, 1)
    assert rows["bpr"].plan == 80 and rows["consultation"].plan == 30


def test_pace_warns_when_far_from_plan(ctx, cast):
    ctx.clock.set(datetime(2026, 10, 1, 9, 0, tzinfo=TOKYO))
    reply = quotas.status(ctx, cast["熊本 県子"])
    rows = {r.kind: r for r in reply.data["quotas"]}
    assert rows["bpr"].pace == "behind"  # nothing held four months in
    assert "協議してください" in reply.plain_text()
    share = quotas.elapsed_share(ctx.rules, ctx.clock.now().date())
    assert 0.3 < share < 0.5
    assert abs(rows["bpr"].expected - 80 * share) < 1e-9


def test_pace_is_not_judged_at_the_start(ctx, cast):
    ctx.clock.set(datetime(2026, 6, 2, 9, 0, tzinfo=TOKYO))
    rows = {r.kind: r for r in quotas.figures(ctx)}
    assert rows["bpr"].pace == "early"


def test_municipal_staff_cannot_see_quotas(ctx, cast):
    assert not quotas.status(ctx, cast["田中 美咲"]).ok
