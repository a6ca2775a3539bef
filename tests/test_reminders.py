"""Reminders, check-ins and the digest with a fake clock (R3, R6, R9, R10, R11): when
they are queued, that nothing goes out outside business hours or to someone on leave,
escalation, and that filing stops them."""

from datetime import datetime

import pytest
from sqlmodel import select

from handlers import router
from handlers.core import payloads
from handlers.core.clock import TOKYO
from handlers.notifications import clockwork, notices
from handlers.scheduling import booking
from storage import people
from storage.models import Audience, FollowUpIssue, IssueStatusChange, Notification
from tests.support.factories import apply, approve, count, number, refusals, submit

USERS = {"小林 健": "U_KEN", "高橋 誠": "U_TAKA", "田中 美咲": "U_TANAKA", "森 翔太": "U_MORI"}


def at(ctx, *args):
    ctx.clock.set(datetime(*args, tzinfo=TOKYO))


@pytest.fixture
def linked(ctx, cast):
    with ctx.db.transaction() as session:
        for name, user in USERS.items():
            people.link_identity(session, cast[name].id, "slack", user)
    return cast


def consultation_on(ctx, cast, day, start="10:00", minutes=120, consultant="小林 健"):
    """A consultation for 宇土市 (田中 美咲) booked with one consultant."""
    request_id = submit(ctx, cast["田中 美咲"])
    assert approve(ctx, cast["熊本 県子"], request_id, [cast[consultant]]).ok
    reply = booking.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "consultation",
            "request_number": number(ctx, request_id),
            "date": day,
            "start": start,
            "minutes": minutes,
            "mode": "visit",
            "consultants": [str(cast[consultant].id)],
        },
    )
    assert reply.ok, reply.plain_text()
    return reply.data["session_id"]


def sent(ctx, audiences=()):
    """Claim what is due now, as a chat sender would, and report it sent."""
    out = notices.claim(ctx, "slack", audiences=audiences)
    for item in out:
        notices.finish(ctx, item.notification_id, sent=True, lease_until=item.lease_until)
    return out


def kinds(items):
    return sorted(i.key.split(":")[0] for i in items)


def test_the_log_is_asked_for_after_the_session_then_every_morning_then_escalated(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    session_id = consultation_on(ctx, linked, "2026-07-06")  # Monday 10:00–12:00
    sent(ctx)  # the booking's invites
    at(ctx, 2026, 7, 6, 11, 59)
    clockwork.tick(ctx)
    assert sent(ctx) == []  # not over yet
    at(ctx, 2026, 7, 6, 12, 5)
    clockwork.tick(ctx)
    (ask,) = sent(ctx)
    assert ask.to == "U_KEN" and ask.key.startswith(f"log.ask:{session_id}:")
    actions = {b.action for block in ask.reply.blocks for b in getattr(block, "buttons", ())}
    assert actions == {"log.form", "reminder.snooze"}
    clockwork.tick(ctx)
    assert sent(ctx) == []  # once

    for day, expected in ((7, ["log.remind"]), (8, ["log.remind"])):
        at(ctx, 2026, 7, day, 8, 30)
        clockwork.tick(ctx)
        assert sent(ctx) == []  # before the office opens
        at(ctx, 2026, 7, day, 9, 1)
        clockwork.tick(ctx)
        assert kinds(sent(ctx)) == expected
    at(ctx, 2026, 7, 9, 9, 1)  # three business days after
    clockwork.tick(ctx)
    assert sent(ctx) == []  # the consultant is not nagged further …
    to_channel = sent(ctx, audiences=(Audience.PREFECTURE,))
    assert kinds(to_channel) == ["digest", "paperwork.escalation"]  # the week's digest too
    (escalation,) = [o for o in to_channel if o.key.startswith("paperwork")]
    assert escalation.audience == "prefecture"
    text = escalation.reply.plain_text()
    assert "小林 健さん" in text and "業務日報" in text and "3開庁日" in text


def test_filing_the_log_stops_the_reminders_and_the_form_comes_prefilled(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    first = consultation_on(ctx, linked, "2026-07-06")
    second = consultation_on(ctx, linked, "2026-07-07")
    sent(ctx)
    at(ctx, 2026, 7, 7, 17, 30)
    clockwork.tick(ctx)
    assert sent(ctx) == []  # after hours: waits for the morning
    ken = linked["小林 健"]
    form = router.press(ctx, ken, "log.form", payloads.encode(id=first))
    values = {i.name: i.value for i in form.form.inputs}
    assert values["sessions"] == (str(first),)
    # method and place are the session's, shown read-only above the form (#14)
    assert "method" not in values and "place" not in values
    assert "訪問(宇土市)/担当: 小林 健" in form.plain_text()
    assert "田中 美咲" in values["attendees"]
    filed = router.submit(
        ctx,
        ken,
        "log.file",
        {
            "sessions": [str(first), str(second)],
            "method": "visit",
            "place": "宇土市役所",
            "attendees": "市民課/主査/田中 美咲",
            "summary": "電子申請の対象手続を整理した。",
            "response": "様式の作成手順を助言した。",
        },
    )
    assert filed.ok, filed.plain_text()
    at(ctx, 2026, 7, 8, 9, 5)
    clockwork.tick(ctx)
    assert sent(ctx) == []  # one batched log cleared both sessions
    with ctx.db.transaction() as session:
        statuses = {
            n.key.split(":")[0]: n.status
            for n in session.exec(select(Notification))
            if n.key.startswith("log.")
        }
    assert statuses == {"log.ask": "cancelled", "log.remind": "cancelled"}  # none went out


def test_nothing_goes_to_a_consultant_on_leave(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    consultation_on(ctx, linked, "2026-07-06")
    sent(ctx)
    assert router.submit(
        ctx, linked["小林 健"], "absence.add", {"date": "2026-07-07", "absence_kind": "leave"}
    ).ok
    at(ctx, 2026, 7, 6, 12, 5)
    clockwork.tick(ctx)  # the ask is queued …
    at(ctx, 2026, 7, 7, 9, 5)  # … but he is away the next day
    clockwork.tick(ctx)
    assert sent(ctx) == []
    at(ctx, 2026, 7, 8, 9, 5)
    clockwork.tick(ctx)
    assert kinds(sent(ctx)) == ["log.ask", "log.remind"]


def test_later_snoozes_by_an_hour_or_to_the_next_morning(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    session_id = consultation_on(ctx, linked, "2026-07-06")
    sent(ctx)
    at(ctx, 2026, 7, 6, 12, 5)
    clockwork.tick(ctx)
    sent(ctx)
    ken = linked["小林 健"]
    hour = router.press(ctx, ken, "reminder.snooze", payloads.encode(id=session_id, kind="hour"))
    assert hour.ok and "13:05" in hour.plain_text()
    at(ctx, 2026, 7, 6, 13, 0)
    assert sent(ctx) == []
    at(ctx, 2026, 7, 6, 13, 6)
    assert kinds(sent(ctx)) == ["log.snooze"]
    other = router.press(
        ctx, linked["高橋 誠"], "reminder.snooze", payloads.encode(id=session_id, kind="hour")
    )
    assert not other.ok and refusals(ctx, "reminder.snooze")


def test_office_days_are_reminded_of_their_minutes(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    booked = booking.book(
        ctx,
        linked["水前寺 花"],
        {
            "session_kind": "office_day",
            "date": "2026-07-08",
            "start": "09:00",
            "minutes": 240,
            "mode": "visit",
            "consultants": [str(linked["高橋 誠"].id)],
        },
    )
    assert booked.ok
    sent(ctx)
    at(ctx, 2026, 7, 8, 13, 10)
    clockwork.tick(ctx)
    (ask,) = sent(ctx)
    assert ask.key.startswith("minutes.ask:") and ask.to == "U_TAKA"
    assert "議事録" in ask.reply.plain_text()


def test_a_goal_reminder_before_the_third_session(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    request_id = apply(ctx, linked["田中 美咲"], goal="")
    selected = router.submit(
        ctx,
        linked["熊本 県子"],
        "request.approve",
        {"consultants": [str(linked["高橋 誠"].id)]},
        payloads.encode(id=request_id),
    )
    assert selected.ok, selected.plain_text()
    for day in ("2026-07-08", "2026-07-15", "2026-07-22"):
        reply = booking.book(
            ctx,
            linked["水前寺 花"],
            {
                "session_kind": "bpr",
                "municipalities": [str(linked["田中 美咲"].municipality_id)],
                "date": day,
                "start": "13:30",
                "minutes": 210,
                "mode": "visit",
                "consultants": [str(linked["高橋 誠"].id)],
            },
        )
        assert reply.ok, reply.plain_text()
    at(ctx, 2026, 7, 16, 9, 5)  # three business days before the third (7/20 is 海の日)
    clockwork.tick(ctx)
    assert not [o for o in sent(ctx) if o.key.startswith("goal")]
    at(ctx, 2026, 7, 17, 9, 5)  # two
    clockwork.tick(ctx)
    goal = [o for o in sent(ctx, audiences=(Audience.PREFECTURE,)) if o.key.startswith("goal")]
    assert {o.to for o in goal} == {"U_TAKA", "U_TANAKA", None}
    assert all("取組目標" in o.reply.plain_text() for o in goal)


def issue_for(ctx, cast):
    at(ctx, 2026, 7, 1, 10)
    session_id = consultation_on(ctx, cast, "2026-07-06")
    at(ctx, 2026, 7, 6, 13)
    assert router.submit(
        ctx,
        cast["小林 健"],
        "log.file",
        {
            "sessions": [str(session_id)],
            "method": "visit",
            "place": "宇土市役所",
            "attendees": "市民課/主査/田中 美咲",
            "summary": "対象手続を整理した。",
            "response": "助言した。",
            "issues": "申請様式が紙のみ/電子申請の様式を作成する",
        },
    ).ok
    with ctx.db.transaction() as session:
        return session.exec(select(FollowUpIssue)).one().id


def test_check_ins_follow_an_open_issue_until_it_is_resolved(ctx, linked):
    issue_id = issue_for(ctx, linked)
    sent(ctx)
    at(ctx, 2026, 7, 17, 9, 5)  # nine business days later
    clockwork.tick(ctx)
    assert not [o for o in sent(ctx) if o.key.startswith("checkin")]
    at(ctx, 2026, 7, 21, 9, 5)  # the tenth (7/20 is a holiday)
    clockwork.tick(ctx)
    (checkin,) = [o for o in sent(ctx) if o.key.startswith("checkin")]
    assert checkin.to == "U_TANAKA" and "申請様式が紙のみ" in checkin.reply.plain_text()
    buttons = {b.label: b for block in checkin.reply.blocks for b in getattr(block, "buttons", ())}
    assert set(buttons) == {"解決済み", "対応中", "支援が必要"}

    foreign = router.press(ctx, linked["森 翔太"], "checkin.answer", buttons["対応中"].value)
    assert not foreign.ok and refusals(ctx, "checkin.answer")
    going = router.press(ctx, linked["田中 美咲"], "checkin.answer", buttons["対応中"].value)
    assert going.ok, going.plain_text()
    at(ctx, 2026, 7, 22, 9, 5)
    clockwork.tick(ctx)
    assert not [o for o in sent(ctx) if o.key.startswith("checkin")]  # the count restarted
    help_wanted = router.press(
        ctx, linked["田中 美咲"], "checkin.answer", buttons["支援が必要"].value
    )
    assert help_wanted.ok and help_wanted.form is not None
    description = next(i for i in help_wanted.form.inputs if i.name == "description")
    assert "申請様式が紙のみ" in description.value
    done = router.press(ctx, linked["田中 美咲"], "checkin.answer", buttons["解決済み"].value)
    assert done.ok
    with ctx.db.transaction() as session:
        history = [
            c.status
            for c in session.exec(
                select(IssueStatusChange).where(IssueStatusChange.issue_id == issue_id)
            )
        ]
    assert history == ["open", "in_progress", "need_help", "resolved"]
    at(ctx, 2026, 9, 1, 9, 5)
    clockwork.tick(ctx)
    assert not [o for o in sent(ctx) if o.key.startswith("checkin")]
    again = router.press(ctx, linked["田中 美咲"], "checkin.answer", buttons["対応中"].value)
    assert not again.ok


def test_the_weekly_digest_on_the_first_business_morning(ctx, linked):
    issue_for(ctx, linked)
    sent(ctx)
    at(ctx, 2026, 7, 13, 8, 59)  # Monday, before opening
    clockwork.tick(ctx)
    assert not sent(ctx, audiences=(Audience.PREFECTURE,))
    at(ctx, 2026, 7, 13, 9, 0)
    clockwork.tick(ctx)
    clockwork.tick(ctx)
    digest = [o for o in sent(ctx, audiences=(Audience.PREFECTURE,)) if o.key.startswith("digest")]
    assert len(digest) == 1
    text = digest[0].reply.plain_text()
    for expected in (
        "週次まとめ",
        "先週の支援",
        "先週の承認・却下",
        "未提出の業務日報",
        "フォロー中の課題(1件)",
        "申請様式が紙のみ",
        "今週の予定",
        "個別相談",
    ):
        assert expected in text, expected
    assert "協議" in text  # far behind plan in July: the ±20% warning
    assert count(ctx, Notification) > 0


def test_reminders_do_not_pile_up_over_a_weekend(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    consultation_on(ctx, linked, "2026-07-09")  # Thursday
    sent(ctx)
    at(ctx, 2026, 7, 9, 12, 5)
    clockwork.tick(ctx)
    assert kinds(sent(ctx)) == ["log.ask"]
    for day in (10, 11, 12):  # Friday, then the weekend
        at(ctx, 2026, 7, day, 9, 5)
        clockwork.tick(ctx)
        sent(ctx)
    at(ctx, 2026, 7, 13, 9, 5)  # Monday: one reminder, not three
    clockwork.tick(ctx)
    assert kinds(sent(ctx)) == ["log.remind"]


def test_a_session_ending_at_closing_time_is_asked_for_once_next_morning(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    consultation_on(ctx, linked, "2026-07-06", start="15:00")  # ends 17:00
    sent(ctx)
    at(ctx, 2026, 7, 6, 17, 5)
    clockwork.tick(ctx)
    assert sent(ctx) == []
    at(ctx, 2026, 7, 7, 9, 5)
    clockwork.tick(ctx)
    assert kinds(sent(ctx)) == ["log.ask"]  # not the ask and a reminder at once


def test_snoozing_twice_is_one_snooze_and_tomorrow_is_tomorrows_reminder(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    session_id = consultation_on(ctx, linked, "2026-07-06")
    sent(ctx)
    at(ctx, 2026, 7, 6, 12, 5)
    clockwork.tick(ctx)
    sent(ctx)
    ken = linked["小林 健"]
    for minute in (6, 7):
        at(ctx, 2026, 7, 6, 12, minute)
        router.press(ctx, ken, "reminder.snooze", payloads.encode(id=session_id, kind="hour"))
    at(ctx, 2026, 7, 6, 13, 10)
    assert kinds(sent(ctx)) == ["log.snooze"]
    router.press(ctx, ken, "reminder.snooze", payloads.encode(id=session_id, kind="morning"))
    at(ctx, 2026, 7, 7, 9, 5)
    clockwork.tick(ctx)
    assert kinds(sent(ctx)) == ["log.remind"]


def test_nobody_deactivated_is_reminded(ctx, linked):
    from storage.models import Person

    at(ctx, 2026, 7, 1, 10)
    consultation_on(ctx, linked, "2026-07-06")
    sent(ctx)
    with ctx.db.transaction() as session:
        person = session.get(Person, linked["小林 健"].id)
        person.active = False
        session.add(person)
    at(ctx, 2026, 7, 6, 12, 5)
    clockwork.tick(ctx)
    assert sent(ctx) == []


def test_an_escalation_with_nothing_left_missing_is_not_posted(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    session_id = consultation_on(ctx, linked, "2026-07-06")
    at(ctx, 2026, 7, 9, 9, 0)
    clockwork.tick(ctx)  # the escalation is queued …
    assert router.submit(  # … and the log filed before it goes out
        ctx,
        linked["小林 健"],
        "log.file",
        {
            "sessions": [str(session_id)],
            "method": "visit",
            "place": "宇土市役所",
            "attendees": "市民課/主査/田中 美咲",
            "summary": "整理した。",
            "response": "助言した。",
        },
    ).ok
    to_channel = sent(ctx, audiences=(Audience.PREFECTURE,))
    assert not [o for o in to_channel if o.key.startswith("paperwork")]
    with ctx.db.transaction() as session:
        (row,) = [n for n in session.exec(select(Notification)) if n.key.startswith("paperwork")]
    assert row.status == "cancelled"


def test_check_ins_go_to_each_towns_own_requester(ctx, linked):
    from handlers.fieldwork import checkins

    at(ctx, 2026, 7, 1, 10)
    uto = consultation_on(ctx, linked, "2026-07-06")
    yamaga_request = submit(ctx, linked["松本 大輔"])
    assert approve(ctx, linked["熊本 県子"], yamaga_request, [linked["小林 健"]]).ok
    yamaga = booking.book(
        ctx,
        linked["水前寺 花"],
        {
            "session_kind": "consultation",
            "request_number": number(ctx, yamaga_request),
            "date": "2026-07-07",
            "start": "13:00",
            "minutes": 120,
            "mode": "online",
            "meeting_url": "https://meet.example.jp/y",
            "consultants": [str(linked["小林 健"].id)],
        },
    ).data["session_id"]
    with ctx.db.transaction() as session:
        people.link_identity(session, linked["松本 大輔"].id, "slack", "U_MATSU")
    at(ctx, 2026, 7, 7, 16)
    assert router.submit(
        ctx,
        linked["小林 健"],
        "log.file",
        {
            "sessions": [str(uto), str(yamaga)],
            "method": "visit",
            "place": "宇土市役所、オンライン",
            "attendees": "市民課/主査/田中 美咲\n税務課/主任/松本 大輔",
            "summary": "整理した。",
            "response": "助言した。",
            "issues": "申請様式が紙のみ/電子申請の様式を作成する",
        },
    ).ok
    sent(ctx)
    at(ctx, 2026, 7, 22, 9, 5)
    clockwork.tick(ctx)
    asked = {o.to for o in sent(ctx) if o.key.startswith(checkins.KIND)}
    assert asked == {"U_TANAKA", "U_MATSU"}


def test_an_issue_resolved_before_its_check_in_morning_is_not_asked_about(ctx, linked):
    from handlers.fieldwork import checkins

    issue_id = issue_for(ctx, linked)
    sent(ctx)
    at(ctx, 2026, 7, 21, 8, 0)  # the check-in is due at 09:00 today
    clockwork.tick(ctx)
    done = router.press(
        ctx,
        linked["田中 美咲"],
        "checkin.answer",
        payloads.encode(id=issue_id, kind="resolved"),
    )
    assert done.ok
    at(ctx, 2026, 7, 21, 9, 5)
    clockwork.tick(ctx)
    assert not [o for o in sent(ctx) if o.key.startswith(checkins.KIND)]


def test_the_digest_lists_this_weeks_sessions(ctx, linked):
    at(ctx, 2026, 7, 1, 10)
    consultation_on(ctx, linked, "2026-07-15")  # Wednesday of the digest's week
    sent(ctx)
    at(ctx, 2026, 7, 13, 9, 0)
    clockwork.tick(ctx)
    (digest,) = [
        o for o in sent(ctx, audiences=(Audience.PREFECTURE,)) if o.key.startswith("digest")
    ]
    text = digest.reply.plain_text()
    this_week = text.split("今週の予定", 1)[1]
    assert "2026年7月15日(水) 10:00" in this_week
