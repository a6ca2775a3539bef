"""Availability, travel buffers, slot proposals, moving and cancelling (R5–R7)."""

from datetime import date, datetime, timedelta

import holidays
import jpholiday
import pytest

from handlers import router
from handlers.core import business_days, payloads
from handlers.core.clock import TOKYO
from handlers.scheduling import availability, booking
from storage import sessions
from storage.models import Absence, AuditEntry, SupportSession
from tests.support.bookings import booking as office_day
from tests.support.factories import approve, count, number, ref, refusals, state, submit


def consultation_booking(ctx, request_id, consultant, day, start="10:00", minutes=120):
    return {
        "session_kind": "consultation",
        "request_number": number(ctx, request_id),
        "date": day,
        "start": start,
        "minutes": minutes,
        "mode": "visit",
        "consultants": [str(consultant.id)],
    }


def approved(ctx, cast, staff_name="田中 美咲", consultant="小林 健", **overrides):
    request_id = submit(ctx, cast[staff_name], **overrides)
    assert approve(ctx, cast["熊本 県子"], request_id, [cast[consultant]]).ok
    return request_id


def test_jpholiday_agrees_with_a_second_source_over_the_contract_years():
    """The business calendar's holidays (jpholiday) match python-holidays, substitute
    holidays included, for every day of fiscal 2026 and 2027."""
    second = holidays.country_holidays("JP", years=range(2026, 2029))
    day = date(2026, 4, 1)
    while day <= date(2028, 3, 31):
        assert bool(jpholiday.is_holiday(day)) == (day in second), day
        day += timedelta(days=1)
    for closed in ("2026-11-23", "2027-01-11", "2027-02-11", "2027-02-23", "2027-03-22"):
        assert not business_days.is_business_day(date.fromisoformat(closed))
    for year_end in ("2026-12-29", "2026-12-31", "2027-01-02", "2027-01-03"):
        assert not business_days.is_business_day(date.fromisoformat(year_end))
    assert business_days.is_business_day(date(2027, 1, 4))


def test_a_weekly_pattern_and_leave_block_booking(ctx, cast):
    lead, clerk = cast["高橋 誠"], cast["水前寺 花"]
    saved = availability.set_week(
        ctx, lead, {"week_mon": "09:00-17:00", "week_wed": "13:00-17:00", "week_fri": "9:00-12:00"}
    )
    assert saved.ok, saved.plain_text()
    wednesday_morning = booking.book(ctx, clerk, office_day(cast))
    assert not wednesday_morning.ok
    assert "勤務日・勤務時間の外" in wednesday_morning.plain_text()
    assert booking.book(ctx, clerk, office_day(cast, start="13:00")).ok
    thursday = booking.book(ctx, clerk, office_day(cast, date="2026-07-09", start="13:00"))
    assert not thursday.ok

    leave = availability.add_absence(
        ctx, lead, {"date": "2026-07-13", "absence_kind": "leave", "note": "夏季休暇"}
    )
    assert leave.ok, leave.plain_text()
    on_leave = booking.book(ctx, clerk, office_day(cast, date="2026-07-13"))
    assert not on_leave.ok and "休暇の日" in on_leave.plain_text()
    assert count(ctx, SupportSession) == 1

    over = availability.add_absence(ctx, lead, {"date": "2026-07-08", "absence_kind": "busy"})
    assert not over.ok and "予定が入っています" in over.plain_text()
    assert count(ctx, Absence) == 1


def test_bad_hours_and_other_peoples_diaries_are_refused(ctx, cast):
    lead, other = cast["高橋 誠"], cast["中村 由紀"]
    bad = availability.set_week(ctx, lead, {"week_mon": "17:00-09:00", "week_tue": "朝"})
    assert not bad.ok
    assert "「月曜」" in bad.plain_text() and "「火曜」" in bad.plain_text()
    not_mine = availability.set_week(
        ctx, lead, {"consultant": str(other.id), "week_mon": "09:00-12:00"}
    )
    assert not not_mine.ok
    assert refusals(ctx, "availability.set")
    staff = availability.add_absence(ctx, cast["田中 美咲"], {"date": "2026-07-13"})
    assert not staff.ok and refusals(ctx, "absence.add")
    half = availability.add_absence(
        ctx, lead, {"date": "2026-07-13", "absence_kind": "busy", "start": "13:00"}
    )
    assert not half.ok and "開始と終了" in half.plain_text()
    assert count(ctx, Absence) == 0
    # the prefecture records leave for a consultant
    by_prefecture = availability.add_absence(
        ctx,
        cast["水前寺 花"],
        {"consultant": str(other.id), "date": "2026-07-13", "absence_kind": "leave"},
    )
    assert by_prefecture.ok, by_prefecture.plain_text()
    listing = availability.absences(ctx, other).plain_text()
    assert "2026年7月13日" in listing or "7月13日" in listing


def test_travel_between_two_visits_on_one_day_is_kept_free(ctx, cast):
    """小林 visits 宇土市 10:00–12:00; 山鹿市 is over an hour's drive away, so an
    afternoon visit there cannot start at 12:30, but can at 14:00."""
    ken = cast["小林 健"]
    uto = approved(ctx, cast)
    yamaga = approved(ctx, cast, staff_name="松本 大輔")
    assert booking.book(
        ctx, cast["水前寺 花"], consultation_booking(ctx, uto, ken, "2026-07-14")
    ).ok
    tight = booking.book(
        ctx,
        cast["水前寺 花"],
        consultation_booking(ctx, yamaga, ken, "2026-07-14", start="12:30", minutes=120),
    )
    assert not tight.ok
    assert "移動時間" in tight.plain_text(), tight.plain_text()
    later = booking.book(
        ctx,
        cast["水前寺 花"],
        consultation_booking(ctx, yamaga, ken, "2026-07-14", start="14:00", minutes=120),
    )
    assert later.ok, later.plain_text()


def test_slots_honour_preferred_dates_and_busy_consultants_and_book_on_pick(ctx, cast):
    staff, ken = cast["田中 美咲"], cast["小林 健"]
    request_id = approved(ctx, cast, preferred_dates="2026-07-16, 2026-07-15")
    # 小林 is on leave on the 15th
    assert availability.add_absence(ctx, ken, {"date": "2026-07-15", "absence_kind": "leave"}).ok
    offer = router.press(ctx, staff, "slots.offer", ref(request_id))
    assert offer.ok, offer.plain_text()
    proposed = [datetime.fromisoformat(s) for s in offer.data["slots"]]
    assert len(proposed) == 3
    assert proposed[0].date() == date(2026, 7, 16)  # the preferred day that is free
    assert date(2026, 7, 15) not in {p.date() for p in proposed}
    assert all(business_days.is_business_day(p.date()) for p in proposed)
    more = router.press(ctx, staff, "slots.offer", payloads.encode(id=request_id, page=2))
    assert not {p.date() for p in proposed} & {
        datetime.fromisoformat(s).date() for s in more.data["slots"]
    }
    picked = router.press(ctx, staff, "slots.pick", payloads.encode(id=request_id, at=proposed[0]))
    assert picked.ok, picked.plain_text()
    assert state(ctx, request_id) == "scheduled"
    again = router.press(ctx, staff, "slots.pick", payloads.encode(id=request_id, at=proposed[1]))
    assert not again.ok and "日程を選べる状態ではありません" in again.plain_text()
    assert count(ctx, SupportSession) == 1


def test_a_forged_or_foreign_slot_pick_is_refused_and_audited(ctx, cast):
    request_id = approved(ctx, cast)
    holiday = datetime(2026, 7, 20, 10, 0, tzinfo=TOKYO)  # 海の日
    forged = router.press(
        ctx, cast["田中 美咲"], "slots.pick", payloads.encode(id=request_id, at=holiday)
    )
    assert not forged.ok and "閉庁日" in forged.plain_text()
    foreign = router.press(
        ctx,
        cast["森 翔太"],
        "slots.pick",
        payloads.encode(id=request_id, at=datetime(2026, 7, 16, 10, 0, tzinfo=TOKYO)),
    )
    assert not foreign.ok
    assert refusals(ctx, "slots.pick")
    assert count(ctx, SupportSession) == 0
    assert state(ctx, request_id) == "approved"


def test_approval_points_the_requester_at_the_slots(ctx, cast):
    from handlers.notifications import notices

    request_id = approved(ctx, cast)
    inbox = notices.inbox(ctx, cast["田中 美咲"])
    pressed = [b for item in inbox.blocks[0].items for b in item.buttons]
    assert any(
        b.action == "slots.offer" and payloads.decode(b.value).id == request_id for b in pressed
    )


def booked_consultation(ctx, cast, day="2026-07-16"):
    request_id = approved(ctx, cast)
    reply = booking.book(
        ctx, cast["水前寺 花"], consultation_booking(ctx, request_id, cast["小林 健"], day)
    )
    assert reply.ok, reply.plain_text()
    return request_id, reply.data["session_id"]


def test_the_requester_moves_a_session_with_notice_and_the_sequence_goes_up(ctx, cast):
    _, session_id = booked_consultation(ctx, cast)
    staff = cast["田中 美咲"]
    form = router.press(ctx, staff, "session.move.form", payloads.encode(id=session_id))
    assert form.ok, form.plain_text()
    moved = router.submit(
        ctx,
        staff,
        "session.move",
        {"date": "2026-07-17", "start": "13:30"},
        payloads.encode(id=session_id),
    )
    assert moved.ok, moved.plain_text()
    with ctx.db.transaction() as session:
        row = sessions.get(session, session_id)
        assert row.starts_at == datetime(2026, 7, 17, 13, 30, tzinfo=TOKYO)
        assert row.ends_at - row.starts_at == timedelta(hours=2)
        assert row.sequence == 1
        assert session.exec(
            AuditEntry.__table__.select().where(AuditEntry.action == "session.move")
        ).first()
    same = router.submit(
        ctx,
        staff,
        "session.move",
        {"date": "2026-07-17", "start": "13:30"},
        payloads.encode(id=session_id),
    )
    assert not same.ok


def test_too_late_for_the_municipality_but_not_for_the_prefecture(ctx, cast):
    _, session_id = booked_consultation(ctx, cast, day="2026-07-16")
    ctx.clock.set(datetime(2026, 7, 15, 9, 0, tzinfo=TOKYO))  # one business day before
    staff, clerk = cast["田中 美咲"], cast["水前寺 花"]
    late = router.submit(
        ctx, staff, "session.cancel", {"reason": "急用"}, payloads.encode(id=session_id)
    )
    assert not late.ok and "県の担当者" in late.plain_text()
    assert refusals(ctx, "session.cancel")
    moved = router.submit(
        ctx,
        clerk,
        "session.move",
        {"date": "2026-07-17", "start": "10:00"},
        payloads.encode(id=session_id),
    )
    assert moved.ok, moved.plain_text()


def test_cancelling_returns_the_request_to_be_booked_again(ctx, cast):
    request_id, session_id = booked_consultation(ctx, cast)
    other_town = router.submit(
        ctx, cast["森 翔太"], "session.cancel", {"reason": "x"}, payloads.encode(id=session_id)
    )
    assert not other_town.ok
    no_reason = router.submit(
        ctx, cast["田中 美咲"], "session.cancel", {"reason": ""}, payloads.encode(id=session_id)
    )
    assert not no_reason.ok and "「理由」" in no_reason.plain_text()
    cancelled = router.submit(
        ctx,
        cast["田中 美咲"],
        "session.cancel",
        {"reason": "議会日程と重なった"},
        payloads.encode(id=session_id),
    )
    assert cancelled.ok, cancelled.plain_text()
    with ctx.db.transaction() as session:
        row = sessions.get(session, session_id)
        assert (row.status, row.sequence) == ("cancelled", 1)
    assert state(ctx, request_id) == "approved"
    twice = router.submit(
        ctx, cast["田中 美咲"], "session.cancel", {"reason": "x"}, payloads.encode(id=session_id)
    )
    assert not twice.ok and "取り消されています" in twice.plain_text()
    offer = router.press(ctx, cast["田中 美咲"], "slots.offer", ref(request_id))
    assert offer.ok and offer.data["slots"]


@pytest.mark.parametrize(
    "day",
    [
        "2026-11-23",
        "2027-01-11",
        "2027-02-11",
        "2027-02-23",
        "2027-03-22",
        "2026-12-29",
        "2027-01-03",
    ],
)
def test_nothing_moves_onto_a_closed_day(ctx, cast, day):
    _, session_id = booked_consultation(ctx, cast)
    moved = router.submit(
        ctx,
        cast["水前寺 花"],
        "session.move",
        {"date": day, "start": "10:00"},
        payloads.encode(id=session_id),
    )
    assert not moved.ok
    with ctx.db.transaction() as session:
        assert sessions.get(session, session_id).sequence == 0


def test_proposals_never_fall_on_closed_days(ctx, cast):
    ctx.clock.set(datetime(2026, 12, 24, 9, 0, tzinfo=TOKYO))
    request_id = approved(ctx, cast, preferred_dates="2027-01-04")
    found = []
    for page in (1, 2, 3):
        offer = router.press(
            ctx, cast["田中 美咲"], "slots.offer", payloads.encode(id=request_id, page=page)
        )
        found += [datetime.fromisoformat(s) for s in offer.data["slots"]]
    assert found and all(business_days.is_business_day(f.date()) for f in found)
    assert all(f.date() >= date(2027, 1, 4) for f in found)


def test_two_requesters_picking_the_same_consultant_and_time_at_once(ctx, cast):
    """On PostgreSQL the two picks really run in parallel: the consultant's row lock makes
    the second see the first, so exactly one is booked."""
    from tests.support.threads import run_together

    first = approved(ctx, cast)
    second = approved(ctx, cast, staff_name="松本 大輔")
    at = datetime(2026, 7, 16, 10, 0, tzinfo=TOKYO)
    replies = run_together(
        lambda: router.press(
            ctx, cast["田中 美咲"], "slots.pick", payloads.encode(id=first, at=at)
        ),
        lambda: router.press(
            ctx, cast["松本 大輔"], "slots.pick", payloads.encode(id=second, at=at)
        ),
    )
    assert sorted(r.ok for r in replies) == [False, True], [r.plain_text() for r in replies]
    assert count(ctx, SupportSession) == 1
    assert sorted([state(ctx, first), state(ctx, second)]) == ["approved", "scheduled"]


def test_the_session_list_offers_changes_only_while_they_are_allowed(ctx, cast):
    booked_consultation(ctx, cast, day="2026-07-16")
    staff = cast["田中 美咲"]

    def actions(actor):
        listing = router.press(ctx, actor, "session.list")
        return {b.action for item in listing.blocks[0].items for b in item.buttons}

    assert actions(staff) == {"session.move.form", "session.cancel.form"}
    assert actions(cast["小林 健"]) == {"session.details.form"}  # moving: ask the prefecture
    ctx.clock.set(datetime(2026, 7, 15, 9, 0, tzinfo=TOKYO))
    assert actions(staff) == set()
    assert actions(cast["水前寺 花"]) == {
        "session.move.form",
        "session.cancel.form",
        "session.details.form",
    }


def test_the_link_of_an_online_session_is_set_later_and_sent_again(ctx, cast):
    from sqlmodel import select

    from storage.models import Notification

    request_id = approved(ctx, cast, mode="online")
    at = datetime(2026, 7, 16, 10, 0, tzinfo=TOKYO)
    picked = router.press(
        ctx, cast["田中 美咲"], "slots.pick", payloads.encode(id=request_id, at=at)
    )
    assert picked.ok, picked.plain_text()
    session_id = picked.data["session_id"]
    ref_ = payloads.encode(id=session_id)
    assert not router.submit(
        ctx, cast["田中 美咲"], "session.details", {"meeting_url": "https://x.jp/1"}, ref_
    ).ok
    assert not router.submit(
        ctx, cast["中村 由紀"], "session.details", {"meeting_url": "https://x.jp/1"}, ref_
    ).ok
    bad = router.submit(
        ctx, cast["小林 健"], "session.details", {"meeting_url": "meet.example"}, ref_
    )
    assert not bad.ok and "https://" in bad.plain_text()
    done = router.submit(
        ctx, cast["小林 健"], "session.details", {"meeting_url": "https://meet.example.jp/a"}, ref_
    )
    assert done.ok, done.plain_text()
    with ctx.db.transaction() as session:
        row = sessions.get(session, session_id)
        assert (row.meeting_url, row.sequence) == ("https://meet.example.jp/a", 1)
        invites = [n for n in session.exec(select(Notification)) if n.kind == "invite"]
    assert {n.payload["sequence"] for n in invites} == {0, 1}


def test_rules_of_the_programme_hold_for_moves_too(ctx, cast):
    """No move out of March for the results meeting, none by the municipality closer than
    the minimum gap to another session of its engagement, none of a session that began."""
    from tests.support.factories import apply

    clerk = cast["水前寺 花"]
    request_id = apply(ctx, cast["田中 美咲"])
    assert router.submit(
        ctx,
        cast["熊本 県子"],
        "request.approve",
        {"consultants": [str(cast["高橋 誠"].id)]},
        ref(request_id),
    ).ok
    ids = []
    for day in ("2026-07-08", "2026-07-22"):
        reply = booking.book(
            ctx,
            clerk,
            {
                "session_kind": "bpr",
                "municipalities": [str(cast["田中 美咲"].municipality_id)],
                "date": day,
                "start": "13:30",
                "minutes": 210,
                "mode": "visit",
                "consultants": [str(cast["高橋 誠"].id)],
            },
        )
        assert reply.ok, reply.plain_text()
        ids.append(reply.data["session_id"])
    staff = cast["田中 美咲"]  # the municipality keeps the planner's spacing …
    close = router.submit(
        ctx,
        staff,
        "session.move",
        {"date": "2026-07-10", "start": "13:30"},
        payloads.encode(id=ids[1]),
    )
    assert not close.ok and "7日以上" in close.plain_text()
    assert router.submit(  # … the prefecture places sessions as it judges
        ctx,
        clerk,
        "session.move",
        {"date": "2026-07-10", "start": "13:30"},
        payloads.encode(id=ids[1]),
    ).ok
    meeting = booking.book(
        ctx,
        clerk,
        {
            "session_kind": "results_meeting",
            "date": "2027-03-10",
            "start": "14:00",
            "minutes": 120,
            "mode": "online",
            "meeting_url": "https://meet.example.jp/r",
            "consultants": [str(cast["高橋 誠"].id)],
        },
    )
    assert meeting.ok
    out_of_march = router.submit(
        ctx,
        clerk,
        "session.move",
        {"date": "2027-02-10", "start": "14:00"},
        payloads.encode(id=meeting.data["session_id"]),
    )
    assert not out_of_march.ok and "3月" in out_of_march.plain_text()
    ctx.clock.set(datetime(2026, 7, 8, 14, 0, tzinfo=TOKYO))
    started = router.submit(
        ctx, clerk, "session.cancel", {"reason": "x"}, payloads.encode(id=ids[0])
    )
    assert not started.ok and "始まって" in started.plain_text()


def test_a_new_week_must_still_hold_the_bookings(ctx, cast):
    booked_consultation(ctx, cast, day="2026-07-16")  # a Thursday, 小林
    ken = cast["小林 健"]
    refused = availability.set_week(ctx, ken, {"week_mon": "09:00-17:00"})
    assert not refused.ok and "勤務パターンから外れます" in refused.plain_text()
    assert availability.set_week(ctx, ken, {"week_thu": "09:00-17:00"}).ok


def test_an_off_grid_pick_is_refused(ctx, cast):
    request_id = approved(ctx, cast)
    odd = datetime(2026, 7, 16, 10, 7, 33, tzinfo=TOKYO)
    reply = router.press(
        ctx, cast["田中 美咲"], "slots.pick", payloads.encode(id=request_id, at=odd)
    )
    assert not reply.ok and count(ctx, SupportSession) == 0


def test_cancelling_the_request_cancels_its_sessions_with_invites(ctx, cast):
    from sqlmodel import select

    from storage.models import Notification

    request_id, session_id = booked_consultation(ctx, cast)
    reply = router.submit(
        ctx, cast["田中 美咲"], "request.cancel", {"reason": "不要になった"}, ref(request_id)
    )
    assert reply.ok, reply.plain_text()
    with ctx.db.transaction() as session:
        row = sessions.get(session, session_id)
        assert (row.status, row.sequence) == ("cancelled", 1)
        cancels = [
            n
            for n in session.exec(select(Notification))
            if n.kind == "invite" and n.payload["method"] == "CANCEL"
        ]
        assert cancels and all(n.payload["sequence"] == 1 for n in cancels)
        audited = session.exec(
            AuditEntry.__table__.select().where(AuditEntry.action == "session.cancel")
        ).all()
    assert len(audited) == 1


def test_cancelling_a_session_and_its_request_at_once_never_deadlocks(ctx, cast):
    """Both lock the request before the session, so on PostgreSQL one waits for the other
    instead of deadlocking; whichever runs second is told the state has moved on."""
    from tests.support.threads import run_together

    for round_number in range(4):
        request_id, session_id = booked_consultation(ctx, cast, day=f"2026-07-{13 + round_number}")
        replies = run_together(
            lambda s=session_id: router.submit(
                ctx, cast["水前寺 花"], "session.cancel", {"reason": "台風"}, payloads.encode(id=s)
            ),
            lambda r=request_id: router.submit(
                ctx, cast["田中 美咲"], "request.cancel", {"reason": "不要"}, ref(r)
            ),
        )
        assert any(r.ok for r in replies)
        assert not any("問題が発生しました" in r.plain_text() for r in replies), [
            r.plain_text() for r in replies
        ]
        with ctx.db.transaction() as session:
            assert sessions.get(session, session_id).status == "cancelled"


def test_a_consultant_sees_only_their_own_usual_week(ctx, cast):
    """The usual-week form shows the week it fills in: a consultant's own, never another
    consultant's through a crafted payload; the prefecture may open anyone's."""
    lead, other, staff = cast["高橋 誠"], cast["中村 由紀"], cast["熊本 県子"]
    assert availability.set_week(ctx, other, {"week_mon": "09:00-12:00"}).ok
    peeked = availability.week_form(ctx, lead, ref(other.id))
    assert not peeked.ok and "09:00-12:00" not in repr(peeked)
    assert [e.detail for e in refusals(ctx, "availability.form")] == ["refusal.not_allowed"]
    assert "09:00-12:00" in repr(availability.week_form(ctx, other, ref(other.id)))
    assert "09:00-12:00" in repr(availability.week_form(ctx, staff, ref(other.id)))
