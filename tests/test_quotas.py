"""Quota status: a joint session counts once; pace is judged against the plan."""

from datetime import date, datetime, time, timedelta

from handlers.core.clock import TOKYO
from handlers.planning import quotas
from handlers.scheduling import booking
from tests.support.factories import add_session_row, apply, approve, number, submit


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
    reply = booking.book(ctx, actor, values)
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
    # The warning says why: the projection and the band it left.
    assert "年度末の見込み 0回、計画 80回、許容 ±20%" in reply.plain_text()
    share = quotas.elapsed_share(ctx.rules, ctx.clock.now().date())
    assert 0.3 < share < 0.5
    assert abs(rows["bpr"].expected - 80 * share) < 1e-9


def test_pace_is_not_judged_at_the_start(ctx, cast):
    ctx.clock.set(datetime(2026, 6, 2, 9, 0, tzinfo=TOKYO))
    rows = {r.kind: r for r in quotas.figures(ctx)}
    assert rows["bpr"].pace == "early"


def test_municipal_staff_cannot_see_quotas(ctx, cast):
    assert not quotas.status(ctx, cast["田中 美咲"]).ok


def at(ctx, day: str, hour: int = 10) -> None:
    ctx.clock.set(datetime.combine(date.fromisoformat(day), time(hour), TOKYO))


def rows_at(ctx) -> dict[str, quotas.QuotaRow]:
    return {r.kind: r for r in quotas.figures(ctx)}


def add_rows(ctx, cast, kind: str, first: str, count: int, every_days: int = 7) -> None:
    start = datetime.combine(date.fromisoformat(first), time(9), TOKYO)
    for n in range(count):
        add_session_row(ctx, kind, start + timedelta(days=n * every_days), by=cast["高橋 誠"])


def test_all_office_days_booked_early_are_on_track(ctx, cast):
    """Regression: with all 30 office days booked and none begun yet, the projection was
    0 and the 協議 warning fired every week."""
    add_rows(ctx, cast, "office_day", "2026-07-15", 30)  # Wednesdays, July to February
    at(ctx, "2026-07-10")
    office = rows_at(ctx)["office_day"]
    assert (office.held, office.booked, office.projected) == (0, 30, 30)
    assert office.pace == "on_track"
    text = quotas.status(ctx, cast["熊本 県子"]).plain_text()
    assert "県庁業務の回数が計画から" not in text and "BPR伴走支援の回数が計画から" in text


def test_a_demand_driven_programme_projects_its_pace(ctx, cast):
    add_rows(ctx, cast, "consultation", "2026-06-03", 10, every_days=14)  # to mid-October
    at(ctx, "2026-10-20")
    share = quotas.elapsed_share(ctx.rules, date(2026, 10, 20))
    consultation = rows_at(ctx)["consultation"]
    assert consultation.held == 10 and consultation.booked == 0
    assert abs(consultation.projected - 10 / share) < 1e-9  # about 21 of 30
    assert consultation.pace == "behind"
    text = quotas.status(ctx, cast["熊本 県子"]).plain_text()
    assert f"年度末の見込み {consultation.projected:.0f}回、計画 30回、許容 ±20%" in text
    add_rows(ctx, cast, "consultation", "2026-11-04", 15)  # bookings beyond the pace count
    consultation = rows_at(ctx)["consultation"]
    assert consultation.projected == 25 and consultation.pace == "on_track"


def test_the_results_meeting_booked_is_on_track(ctx, cast):
    """Regression: it showed 見込み 0 yet 計画どおり; now what is booked is projected."""
    at(ctx, "2026-09-01")
    assert rows_at(ctx)["results_meeting"].pace == "early"  # not booked, season young
    at(ctx, "2026-12-15")
    meeting = rows_at(ctx)["results_meeting"]
    assert (meeting.projected, meeting.pace) == (0, "behind")  # past half: book it
    add_session_row(
        ctx, "results_meeting", datetime(2027, 2, 19, 14, 0, tzinfo=TOKYO), by=cast["高橋 誠"]
    )
    at(ctx, "2027-01-15")
    meeting = rows_at(ctx)["results_meeting"]
    assert (meeting.held, meeting.booked, meeting.projected, meeting.pace) == (0, 1, 1, "on_track")
    text = quotas.status(ctx, cast["熊本 県子"]).plain_text()
    assert "成果報告会の回数が計画から" not in text


def test_early_only_while_the_projection_is_outside_the_band():
    # Too soon to judge only matters when the projection is off: fully booked is on track.
    assert quotas.pace("bpr", 80, 80, 0.05, 0.2) == "on_track"
    assert quotas.pace("bpr", 80, 10, 0.05, 0.2) == "early"
    assert quotas.pace("bpr", 80, 63, 0.5, 0.2) == "behind"  # below 64
    assert quotas.pace("bpr", 80, 97, 0.5, 0.2) == "ahead"  # above 96
    assert quotas.pace("results_meeting", 1, 0, 0.4, 0.2) == "early"
    assert quotas.pace("results_meeting", 1, 2, 0.6, 0.2) == "ahead"  # a second meeting
    # held + max(booked, held / share × (1 − share))
    assert quotas.projection("bpr", 20, 70, 0.25) == 90  # booked beyond the pace
    assert quotas.projection("bpr", 20, 10, 0.25) == 80  # the pace beyond the booked
    assert quotas.projection("results_meeting", 1, 0, 0.5) == 1
    assert quotas.projection("bpr", 0, 5, 0.0) == 5
