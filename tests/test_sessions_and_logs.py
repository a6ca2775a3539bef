"""Basic booking rules and R9 work logs (single and batched), issues and minutes."""

from datetime import datetime

import pytest

from handlers.core.clock import TOKYO
from handlers.fieldwork import logs
from handlers.notifications import notices
from handlers.scheduling import booking as scheduling
from storage import logs as log_rows
from storage.models import FollowUpIssue, SupportSession, WorkLog
from tests.support.bookings import booking
from tests.support.factories import approve, count, number, state, submit


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"date": "2026-11-23"}, "祝日"),
        ({"date": "2027-01-11"}, "祝日"),
        ({"date": "2027-02-11"}, "祝日"),
        ({"date": "2027-02-23"}, "祝日"),
        ({"date": "2027-03-22"}, "祝日"),  # 春分の日 2027-03-21 is a Sunday: observed Monday
        ({"date": "2026-12-30"}, "年末年始"),
        ({"date": "2027-01-04", "start": "16:00"}, "09:00〜17:00"),
        ({"start": "08:00"}, "09:00〜17:00"),
        ({"date": "2027-04-01"}, "委託期間"),
        ({"date": "2026-06-30"}, "過去"),
        ({"consultants": [], "session_kind": "office_day"}, "「担当デジタル人材」を入力"),
        (
            {
                "session_kind": "results_meeting",
                "mode": "online",
                "meeting_url": "https://meet.example.jp/x",
            },
            "3月",
        ),
        ({"mode": "online"}, "「オンライン会議URL」を入力"),
    ],
)
def test_bookings_only_on_business_days_within_hours_and_contract(ctx, cast, overrides, expected):
    reply = scheduling.book(ctx, cast["水前寺 花"], booking(cast, **overrides))
    assert not reply.ok
    assert expected in reply.plain_text()
    assert count(ctx, SupportSession) == 0


def test_office_days_need_the_lead_and_nobody_is_booked_twice(ctx, cast):
    clerk = cast["水前寺 花"]
    without_lead = scheduling.book(ctx, clerk, booking(cast, consultants=[str(cast["小林 健"].id)]))
    assert not without_lead.ok and "主担当" in without_lead.plain_text()
    assert scheduling.book(ctx, clerk, booking(cast)).ok
    overlap = scheduling.book(ctx, clerk, booking(cast, start="11:00", minutes=120))
    assert not overlap.ok and "高橋 誠さん" in overlap.plain_text()
    assert scheduling.book(ctx, clerk, booking(cast, start="13:00", minutes=120)).ok
    assert count(ctx, SupportSession) == 2
    assert not scheduling.book(ctx, cast["田中 美咲"], booking(cast, date="2026-07-09")).ok


def test_a_batched_log_clears_its_sessions_records_issues_and_closes_the_request(ctx, cast):
    staff = cast["森 翔太"]
    request_id = submit(ctx, staff)
    kobayashi = cast["小林 健"]
    assert approve(ctx, cast["熊本 県子"], request_id, [kobayashi]).ok
    clerk = cast["水前寺 花"]
    ids = []
    for day in ("2026-07-06", "2026-07-07"):
        reply = scheduling.book(
            ctx,
            clerk,
            {
                "session_kind": "consultation",
                "request_number": number(ctx, request_id),
                "date": day,
                "start": "10:00",
                "minutes": 120,
                "mode": "visit",
                "consultants": [str(kobayashi.id)],
            },
        )
        assert reply.ok, reply.plain_text()
        ids.append(str(reply.data["session_id"]))
    assert state(ctx, request_id) == "scheduled"
    form = logs.log_form(ctx, kobayashi)
    assert "日報が未提出の支援はありません" in form.plain_text()  # nothing has happened yet
    ctx.clock.set(datetime(2026, 7, 7, 17, 0, tzinfo=TOKYO))
    form = logs.log_form(ctx, kobayashi)
    # no BPR session due: no steps to offer; method and place are the sessions' (#14)
    assert {"steps", "method", "place"}.isdisjoint(i.name for i in form.form.inputs)
    assert form.plain_text().count("訪問(美里町)/担当: 小林 健") == 2  # the default place
    values = {
        "sessions": ids,
        "attendees": "住民課/主事/森 翔太\n住民課/課長/佐藤 一",
        "summary": "電子申請の対象手続を整理した。",
        "response": "様式の作成手順を助言した。",
        "issues": "様式が紙のみ/電子申請の様式を作成する\n決裁が紙/電子決裁の導入を検討する",
        "next_plan": "8月に様式案を確認する。",
        "attachments": "手続一覧.xlsx",
    }
    bad = logs.file_log(ctx, kobayashi, {**values, "attendees": "森 翔太"})
    assert not bad.ok and "「所属/職名/氏名」" in bad.plain_text()
    assert count(ctx, WorkLog) == 0
    assert not logs.file_log(ctx, cast["高橋 誠"], values).ok  # not their sessions
    filed = logs.file_log(ctx, kobayashi, values)
    assert filed.ok, filed.plain_text()
    assert state(ctx, request_id) == "done"
    with ctx.db.transaction() as session:
        log_id = filed.data["log_id"]
        assert log_rows.session_ids(session, log_id) == sorted(int(i) for i in ids)
        assert [a.name for a in log_rows.attendees(session, log_id)] == ["森 翔太", "佐藤 一"]
        assert {s.status for s in session.exec(SupportSession.__table__.select())} == {"held"}
    assert count(ctx, FollowUpIssue) == 2
    again = logs.file_log(ctx, kobayashi, values)
    assert not again.ok  # both sessions are logged now
    inbox = notices.inbox(ctx, staff).plain_text()
    assert "承認されました" in inbox


def test_minutes_for_an_office_day(ctx, cast):
    lead = cast["高橋 誠"]
    booked = scheduling.book(ctx, cast["水前寺 花"], booking(cast))
    ctx.clock.set(datetime(2026, 7, 8, 14, 0, tzinfo=TOKYO))
    values = {
        "office_day": str(booked.data["session_id"]),
        "attendees_text": "熊本 県子、高橋 誠",
        "body": "支援状況を報告した。",
    }
    assert logs.file_minutes(ctx, lead, values).ok
    assert not logs.file_minutes(ctx, lead, values).ok
    assert "議事録が未提出" in logs.minutes_form(ctx, lead).plain_text()


def test_cancelling_a_scheduled_request_cancels_its_sessions(ctx, cast):
    from handlers.intake import submission
    from tests.support.factories import ref

    staff = cast["森 翔太"]
    request_id = submit(ctx, staff)
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    booked = scheduling.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "consultation",
            "request_number": number(ctx, request_id),
            "date": "2026-07-06",
            "start": "10:00",
            "minutes": 120,
            "mode": "online",
            "meeting_url": "https://meet.example.jp/misato",
            "consultants": [str(cast["小林 健"].id)],
        },
    )
    assert booked.ok and state(ctx, request_id) == "scheduled"
    assert submission.cancel(ctx, staff, ref(request_id), {"reason": "庁内調整がつかない"}).ok
    with ctx.db.transaction() as session:
        row = session.get(SupportSession, booked.data["session_id"])
    assert (row.status, row.sequence, row.meeting_url) == (
        "cancelled",
        1,
        "https://meet.example.jp/misato",
    )
    assert state(ctx, request_id) == "cancelled"
    assert "取り消されました" in notices.inbox(ctx, cast["小林 健"]).plain_text()


def test_a_request_with_sessions_already_held_cannot_be_cancelled(ctx, cast):
    from handlers.intake import submission
    from tests.support.factories import ref

    staff = cast["森 翔太"]
    request_id = submit(ctx, staff)
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    values = {
        "session_kind": "consultation",
        "request_number": number(ctx, request_id),
        "date": "2026-07-06",
        "start": "10:00",
        "minutes": 120,
        "mode": "visit",
        "consultants": [str(cast["小林 健"].id)],
    }
    assert scheduling.book(ctx, cast["水前寺 花"], values).ok
    ctx.clock.set(datetime(2026, 7, 6, 13, 0, tzinfo=TOKYO))
    refused = submission.cancel(ctx, staff, ref(request_id), {"reason": "やめる"})
    assert not refused.ok and "実施済み" in refused.plain_text()
    assert state(ctx, request_id) == "scheduled"
