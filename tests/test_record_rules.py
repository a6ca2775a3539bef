"""Issue #14, items 1 and 5: rules about the record held where the row is written, on
every path (form, slot pick, move, plan confirm, a direct `reserve`), and forms that
come back refilled with every error next to its field.

On PostgreSQL (the CI's second pass) the races here are real row-lock races."""

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from handlers import router
from handlers.core import payloads
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.intents import intent
from handlers.core.reply import Buttons, Reply
from handlers.people import roster
from handlers.scheduling import booking
from storage import sessions
from storage.models import Mode, Notification, SessionKind, SessionStatus, SupportSession
from storage.rules import Broken
from tests.support.factories import apply, approve, count, number, refusals, submit
from tests.support.threads import run_together

FIRST_MEETING = {
    "session_kind": "results_meeting",
    "date": "2027-03-10",
    "start": "14:00",
    "minutes": 120,
    "mode": "online",
    "meeting_url": "https://meet.example.jp/r",
}


def approved(ctx, cast, staff_name, consultant):
    request_id = submit(ctx, cast[staff_name])
    assert approve(ctx, cast["熊本 県子"], request_id, [cast[consultant]]).ok
    return request_id


def consultation(ctx, request_id, consultant, day="2026-07-16", start="10:00", minutes=120):
    return {
        "session_kind": "consultation",
        "request_number": number(ctx, request_id),
        "date": day,
        "start": start,
        "minutes": minutes,
        "mode": "visit",
        "consultants": [str(consultant.id)],
    }


def engaged(ctx, cast, staff_name, consultant="高橋 誠"):
    request_id = apply(ctx, cast[staff_name])
    assert router.submit(
        ctx,
        cast["熊本 県子"],
        "request.approve",
        {"consultants": [str(cast[consultant].id)]},
        payloads.encode(id=request_id),
    ).ok
    return cast[staff_name].municipality_id


def meeting(cast, consultant="高橋 誠", **overrides):
    return FIRST_MEETING | {"consultants": [str(cast[consultant].id)]} | overrides


def form_values(reply: Reply) -> dict:
    assert reply.form is not None, reply.plain_text()
    return {i.name: i.value for i in reply.form.inputs}


def form_errors(reply: Reply) -> dict:
    assert reply.form is not None, reply.plain_text()
    errors = {i.name: i.error for i in reply.form.inputs if i.error}
    assert errors == reply.data["errors"]  # Slack's modal takes errors on its inputs only
    return errors


# 1. A municipality is never in two overlapping live sessions ------------------------


def test_a_town_booked_at_one_time_cannot_be_booked_again_over_it(ctx, cast):
    clerk = cast["水前寺 花"]
    first = approved(ctx, cast, "田中 美咲", "小林 健")
    second = approved(ctx, cast, "田中 美咲", "中村 由紀")
    assert booking.book(ctx, clerk, consultation(ctx, first, cast["小林 健"])).ok
    typed = consultation(ctx, second, cast["中村 由紀"], start="11:00")
    clash = booking.book(ctx, clerk, typed)
    assert not clash.ok
    assert "宇土市は2026年7月16日" in clash.plain_text() and "相談" in clash.plain_text()
    assert set(form_errors(clash)) == {"date"}
    assert form_values(clash)["start"] == "11:00"
    assert form_values(clash)["consultants"] == (str(cast["中村 由紀"].id),)
    assert [e.detail for e in refusals(ctx, "session.book")] == ["refusal.municipality_busy"]
    assert count(ctx, SupportSession) == 1
    # right after it ends is fine: towns have no travel buffer of their own
    after = booking.book(ctx, clerk, consultation(ctx, second, cast["中村 由紀"], start="12:00"))
    assert after.ok, after.plain_text()


def test_a_joint_session_counts_for_every_town_in_it(ctx, cast):
    clerk = cast["水前寺 花"]
    uto = engaged(ctx, cast, "田中 美咲")
    yamaga = engaged(ctx, cast, "松本 大輔")
    joint = booking.book(
        ctx,
        clerk,
        {
            "session_kind": "bpr",
            "municipalities": [str(uto), str(yamaga)],
            "date": "2026-07-16",
            "start": "10:00",
            "minutes": 120,
            "mode": "online",
            "meeting_url": "https://meet.example.jp/joint",
            "consultants": [str(cast["高橋 誠"].id)],
        },
    )
    assert joint.ok, joint.plain_text()
    request_id = approved(ctx, cast, "松本 大輔", "小林 健")
    clash = booking.book(ctx, clerk, consultation(ctx, request_id, cast["小林 健"]))
    assert not clash.ok and "山鹿市は" in clash.plain_text(), clash.plain_text()
    assert "BPR" in clash.plain_text() or "伴走" in clash.plain_text()


def test_moving_onto_a_busy_town_is_refused_but_moving_over_its_own_time_is_not(ctx, cast):
    clerk = cast["水前寺 花"]
    first = approved(ctx, cast, "田中 美咲", "小林 健")
    second = approved(ctx, cast, "田中 美咲", "中村 由紀")
    one = booking.book(ctx, clerk, consultation(ctx, first, cast["小林 健"]))
    other = booking.book(ctx, clerk, consultation(ctx, second, cast["中村 由紀"], day="2026-07-17"))
    assert one.ok and other.ok
    onto = router.submit(
        ctx,
        clerk,
        "session.move",
        {"date": "2026-07-16", "start": "11:00"},
        payloads.encode(id=other.data["session_id"]),
    )
    assert not onto.ok and "宇土市は" in onto.plain_text(), onto.plain_text()
    assert form_errors(onto).keys() == {"date"}
    assert form_values(onto) == {"date": "2026-07-16", "start": "11:00", "reason": None}
    assert "%(" not in onto.form.title and "相談" in onto.form.title
    overlapping_itself = router.submit(
        ctx,
        clerk,
        "session.move",
        {"date": "2026-07-16", "start": "11:00"},
        payloads.encode(id=one.data["session_id"]),
    )
    assert overlapping_itself.ok, overlapping_itself.plain_text()


def test_cancelled_sessions_and_the_results_meeting_never_clash_with_a_town(ctx, cast):
    clerk = cast["水前寺 花"]
    assert booking.book(ctx, clerk, meeting(cast)).ok
    request_id = approved(ctx, cast, "田中 美咲", "小林 健")
    same_time = consultation(ctx, request_id, cast["小林 健"], day="2027-03-10", start="14:00")
    booked = booking.book(ctx, clerk, same_time)
    assert booked.ok, booked.plain_text()  # every town is invited to the results meeting
    assert router.submit(
        ctx,
        clerk,
        "session.cancel",
        {"reason": "延期"},
        payloads.encode(id=booked.data["session_id"]),
    ).ok
    again = approved(ctx, cast, "田中 美咲", "中村 由紀")
    rebooked = booking.book(
        ctx, clerk, consultation(ctx, again, cast["中村 由紀"], day="2027-03-10", start="14:00")
    )
    assert rebooked.ok, rebooked.plain_text()


def test_two_bookings_of_one_town_at_once_make_exactly_one_session(ctx, cast):
    """Different consultants, so only the town's row lock makes the second see the first."""
    clerk, ken = cast["水前寺 花"], cast["熊本 県子"]
    for round_number in range(4):
        day = f"2026-07-{13 + round_number:02d}"
        first = approved(ctx, cast, "田中 美咲", "小林 健")
        second = approved(ctx, cast, "田中 美咲", "中村 由紀")
        replies = run_together(
            lambda d=day, r=first: booking.book(
                ctx, clerk, consultation(ctx, r, cast["小林 健"], day=d)
            ),
            lambda d=day, r=second: booking.book(
                ctx, ken, consultation(ctx, r, cast["中村 由紀"], day=d, start="11:00")
            ),
        )
        assert sorted(r.ok for r in replies) == [False, True], [r.plain_text() for r in replies]
        assert "宇土市は" in next(r for r in replies if not r.ok).plain_text()
    assert count(ctx, SupportSession) == 4


# 2. One results meeting per programme year -----------------------------------------


def test_a_second_results_meeting_is_refused_and_moving_the_first_is_offered(ctx, cast):
    clerk = cast["水前寺 花"]
    first = booking.book(ctx, clerk, meeting(cast))
    assert first.ok, first.plain_text()
    second = booking.book(ctx, clerk, meeting(cast, "中村 由紀", date="2027-03-17"))
    assert not second.ok
    assert "令和8年度の成果報告会はすでに2027年3月10日" in second.plain_text(), second.plain_text()
    buttons = [b for block in second.blocks if isinstance(block, Buttons) for b in block.buttons]
    assert [(b.action, payloads.decode(b.value).id) for b in buttons] == [
        ("session.move.form", first.data["session_id"])
    ]
    assert router.press(ctx, clerk, buttons[0].action, buttons[0].value).form is not None
    assert [e.detail for e in refusals(ctx, "session.book")] == ["refusal.results_meeting_exists"]
    # a consultant may not move it, so is told without the button
    told = booking.book(ctx, cast["小林 健"], meeting(cast, date="2027-03-17"))
    assert not told.ok and not any(isinstance(b, Buttons) for b in told.blocks)
    # moving the one there is stays possible (it is not a second one)
    moved = router.submit(
        ctx,
        clerk,
        "session.move",
        {"date": "2027-03-17", "start": "14:00"},
        payloads.encode(id=first.data["session_id"]),
    )
    assert moved.ok, moved.plain_text()


def refused_by_reserve(ctx, actor, kind, starts_at, hours, mode, towns, consultants):
    """`booking.reserve` called directly (as the planner's confirm does), expected to refuse;
    the refusal."""
    with pytest.raises(booking.Refused) as refused, ctx.db.transaction() as session:
        booking.reserve(
            session,
            ctx,
            actor,
            booking.Slot(
                kind=kind,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours),
                mode=mode,
                municipality_ids=tuple(towns),
                consultant_ids=tuple(consultants),
            ),
        )
    return refused.value


def test_no_path_through_reserve_books_a_second_results_meeting(ctx, cast):
    """The planner's confirm and anything else book through `reserve`: same rule."""
    clerk = cast["水前寺 花"]
    assert booking.book(ctx, clerk, meeting(cast)).ok
    starts_at = datetime(2027, 3, 24, 14, 0, tzinfo=TOKYO)
    nakamura = cast["中村 由紀"].id
    kind = SessionKind.RESULTS_MEETING
    refused = refused_by_reserve(ctx, clerk, kind, starts_at, 2, Mode.ONLINE, (), [nakamura])
    assert refused.key == "refusal.results_meeting_exists"
    assert count(ctx, SupportSession) == 1


def test_no_path_through_reserve_books_an_office_day_without_the_lead(ctx, cast):
    """§3.2 is held where the row is written, not only by the booking form."""
    starts_at = datetime(2026, 7, 15, 9, 0, tzinfo=TOKYO)
    not_the_lead = cast["中村 由紀"].id
    refused = refused_by_reserve(
        ctx, cast["水前寺 花"], SessionKind.OFFICE_DAY, starts_at, 4, Mode.VISIT, (), [not_the_lead]
    )
    assert (refused.key, refused.field) == ("refusal.lead_required", "consultants")
    assert count(ctx, SupportSession) == 0


@pytest.mark.parametrize("who", ["田中 美咲", "中村 由紀 (deactivated)"])
def test_no_path_through_reserve_books_anyone_but_an_active_consultant(ctx, cast, who):
    """A municipal clerk's id, or a consultant deactivated (or merged into their twin)
    since a plan was drafted, is refused where the session is written."""
    name = who.split(" (")[0]
    if who.endswith("(deactivated)"):
        values = {"person": str(cast[name].id), "roster_active": "no"}
        assert roster.deactivate(ctx, cast["管理 太郎"], values).ok
    starts_at = datetime(2026, 7, 15, 10, 0, tzinfo=TOKYO)
    town = cast["松本 大輔"].municipality_id
    pair = [cast["高橋 誠"].id, cast[name].id]
    kind = SessionKind.CONSULTATION
    refused = refused_by_reserve(
        ctx, cast["水前寺 花"], kind, starts_at, 2, Mode.ONLINE, [town], pair
    )
    assert (refused.key, refused.field) == ("refusal.consultant_unbookable", "consultants")
    assert refused.params["names"] == name
    assert count(ctx, SupportSession) == 0


def test_two_results_meetings_booked_at_once_make_exactly_one(ctx, cast):
    """Different consultants and days: only the towns' locks (a results meeting takes
    every town's) serialise the two."""
    clerk, ken = cast["水前寺 花"], cast["熊本 県子"]
    replies = run_together(
        lambda: booking.book(ctx, clerk, meeting(cast)),
        lambda: booking.book(ctx, ken, meeting(cast, "中村 由紀", date="2027-03-17")),
    )
    assert sorted(r.ok for r in replies) == [False, True], [r.plain_text() for r in replies]
    assert "成果報告会はすでに" in next(r for r in replies if not r.ok).plain_text()
    assert count(ctx, SupportSession) == 1


def test_a_results_meeting_without_a_link_is_never_announced_with_empty_brackets(ctx, cast):
    """A confirmed season plan books the results meeting before its link is known: its
    notices used to read 「14:00()」."""
    clerk = cast["水前寺 花"]
    starts_at = datetime(2027, 3, 10, 14, 0, tzinfo=TOKYO)
    with ctx.db.transaction() as session:
        booking.reserve(
            session,
            ctx,
            clerk,
            booking.Slot(
                kind=SessionKind.RESULTS_MEETING,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                mode=Mode.ONLINE,
                municipality_ids=(cast["田中 美咲"].municipality_id,),
                consultant_ids=(cast["高橋 誠"].id,),
            ),
        )
    with ctx.db.transaction() as session:
        wheres = {n.payload["params"]["where"] for n in session.exec(select(Notification))}
    assert wheres == {"全市町村"}
    listing = router.press(ctx, clerk, "session.list").plain_text()
    assert "()" not in listing and "()" not in listing


# 3. A session is 実施 only once begun -----------------------------------------------


def test_a_session_is_held_only_once_it_has_begun_and_never_when_cancelled(ctx, cast):
    clerk = cast["水前寺 花"]
    request_id = approved(ctx, cast, "田中 美咲", "小林 健")
    booked = booking.book(ctx, clerk, consultation(ctx, request_id, cast["小林 健"]))
    session_id = booked.data["session_id"]

    @intent("test.hold")
    def hold(ctx, actor, /) -> Reply:
        with ctx.db.transaction() as session:
            row = sessions.get(session, session_id, lock=True)
            sessions.mark_held(session, row, ctx.clock.now())
        return Reply(())

    early = hold(ctx, cast["小林 健"])
    assert not early.ok and "まだ始まっていない" in early.plain_text()
    assert [e.detail for e in refusals(ctx, "test.hold")] == ["refusal.session_not_begun"]
    ctx.clock.set(datetime(2026, 7, 16, 10, 0, tzinfo=TOKYO))  # the moment it begins
    assert hold(ctx, cast["小林 健"]).ok
    with ctx.db.transaction() as session:
        assert sessions.get(session, session_id).status == SessionStatus.HELD
        cancelled = sessions.get(session, session_id)
        cancelled.status = SessionStatus.CANCELLED
        with pytest.raises(Broken) as broken:
            sessions.mark_held(session, cancelled, ctx.clock.now())
        assert broken.value.key == "refusal.session_cancelled"
        session.rollback()


# 5. Forms keep what was typed -----------------------------------------------------


def test_a_booking_refused_for_a_busy_consultant_keeps_the_form_as_typed(ctx, cast):
    clerk = cast["水前寺 花"]
    first = approved(ctx, cast, "田中 美咲", "小林 健")
    second = approved(ctx, cast, "松本 大輔", "小林 健")
    assert booking.book(ctx, clerk, consultation(ctx, first, cast["小林 健"])).ok
    typed = consultation(ctx, second, cast["小林 健"], start="11:00") | {"place": "山鹿市役所 3階"}
    refused = booking.book(ctx, clerk, typed)
    assert not refused.ok
    errors = form_errors(refused)
    assert set(errors) == {"consultants"}, errors
    assert "小林 健さんはこの時間に入れません" in errors["consultants"]
    values = form_values(refused)
    assert values["request_number"] == typed["request_number"]
    assert (values["date"], values["start"], values["minutes"]) == ("2026-07-16", "11:00", "120")
    assert values["place"] == "山鹿市役所 3階"
    assert values["consultants"] == (str(cast["小林 健"].id),)
    assert refused.data["refusal"] == "refusal.unavailable"
    assert [e.detail for e in refusals(ctx, "session.book")] == ["refusal.unavailable"]


def test_a_consultant_and_a_town_both_busy_are_told_at_once(ctx, cast):
    clerk = cast["水前寺 花"]
    first = approved(ctx, cast, "田中 美咲", "小林 健")
    second = approved(ctx, cast, "田中 美咲", "小林 健")
    assert booking.book(ctx, clerk, consultation(ctx, first, cast["小林 健"])).ok
    both = booking.book(ctx, clerk, consultation(ctx, second, cast["小林 健"], start="11:00"))
    assert set(form_errors(both)) == {"consultants", "date"}


def test_three_bad_fields_are_reported_at_once(ctx, cast):
    """The form's own checks (a date, a length) and the handler's (a link an online
    session needs) in one answer, not one per submit."""
    refused = booking.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "office_day",
            "date": "2026-07-32",
            "start": "10:00",
            "minutes": "600",
            "mode": "online",
            "consultants": [str(cast["高橋 誠"].id)],
        },
    )
    assert not refused.ok
    assert set(form_errors(refused)) == {"date", "minutes", "meeting_url"}
    assert form_values(refused)["date"] == "2026-07-32"
    assert count(ctx, SupportSession) == 0


def test_a_closed_day_and_office_hours_are_told_together(ctx, cast):
    refused = booking.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "consultation",
            "request_number": "",
            "date": "2026-07-18",  # a Saturday
            "start": "16:30",
            "minutes": 120,
            "mode": "visit",
            "consultants": [str(cast["小林 健"].id)],
        },
    )
    assert set(form_errors(refused)) == {"date", "start", "request_number"}


def test_details_refused_keep_the_form_and_its_title(ctx, cast):
    request_id = approved(ctx, cast, "田中 美咲", "小林 健")
    booked = booking.book(ctx, cast["水前寺 花"], consultation(ctx, request_id, cast["小林 健"]))
    ref = payloads.encode(id=booked.data["session_id"])
    with ctx.db.transaction() as session:
        place = sessions.get(session, booked.data["session_id"]).place
    same = router.submit(ctx, cast["小林 健"], "session.details", {"place": place}, ref)
    assert set(form_errors(same)) == {"place"} and "変わっていません" in same.plain_text()
    assert "%(" not in same.form.title
    bad = router.submit(
        ctx, cast["小林 健"], "session.details", {"place": "", "meeting_url": "meet"}, ref
    )
    assert set(form_errors(bad)) == {"place", "meeting_url"}
    assert form_values(bad)["meeting_url"] == "meet"


def test_the_results_form_checks_its_link(ctx, cast):
    clerk = cast["水前寺 花"]
    assert booking.book(ctx, clerk, meeting(cast)).ok
    bad = router.submit(ctx, clerk, "results.set", {"presenters": [], "meeting_url": "zoom"})
    assert set(form_errors(bad)) == {"meeting_url"}


def test_a_refusal_about_no_field_is_not_turned_into_a_form_error(ctx, cast):
    """Not allowed is not something to fix on the form."""
    staff: Actor = cast["田中 美咲"]
    reply = booking.book(ctx, staff, meeting(cast))
    assert not reply.ok and reply.form is None and "errors" not in reply.data


def test_slot_proposals_leave_out_times_the_town_is_busy(ctx, cast):
    """What is offered can be booked: the town's own sessions count, not only the
    consultants' diaries."""
    clerk = cast["水前寺 花"]
    busy = approved(ctx, cast, "田中 美咲", "小林 健")
    assert booking.book(ctx, clerk, consultation(ctx, busy, cast["小林 健"])).ok
    request_id = submit(ctx, cast["田中 美咲"], preferred_dates="2026-07-16")
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["中村 由紀"]]).ok
    offer = router.press(ctx, cast["田中 美咲"], "slots.offer", payloads.encode(id=request_id))
    first = datetime.fromisoformat(offer.data["slots"][0])
    assert first == datetime(2026, 7, 16, 13, 30, tzinfo=TOKYO), offer.data["slots"]
    picked = router.press(
        ctx, cast["田中 美咲"], "slots.pick", payloads.encode(id=request_id, at=first)
    )
    assert picked.ok, picked.plain_text()


def test_a_cancel_without_a_reason_comes_back_titled_by_its_session(ctx, cast):
    request_id = approved(ctx, cast, "田中 美咲", "小林 健")
    booked = booking.book(ctx, cast["水前寺 花"], consultation(ctx, request_id, cast["小林 健"]))
    ref = payloads.encode(id=booked.data["session_id"])
    bare = router.submit(ctx, cast["水前寺 花"], "session.cancel", {"reason": ""}, ref)
    assert set(form_errors(bare)) == {"reason"}
    assert "%(" not in bare.form.title and "宇土市" in bare.form.title
