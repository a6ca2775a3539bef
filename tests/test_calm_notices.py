"""Calm notices (issue #17, part A): one notice per person for an action that touches many
sessions, one DM for cancelling one's own request, lists that never cut silently,
invites that ask for no reply but carry 出席できません / 日程変更を相談 buttons, and no
e-mail without a real organizer address.

Messages per person for a confirmed 141-session plan (11 towns, each with 高橋 and 中村):
before, one chat notice (and one e-mail) per session and attendee — 141 to the clerk who
confirmed it (whoever books is an attendee), 73 and 69 to the two consultants, 11 to each
town's staff, 1 to each of the other towns' staff (the results meeting); after, one chat
notice and one e-mail per person (`test_a_confirmed_season_plan_is_one_notice_per_person`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import icalendar
import pytest
import vobject
from sqlmodel import select

from bot.cli import main as cli
from bot.console.render import render
from bot.slack.blocks import message_blocks
from bot.teams.cards import card
from handlers import router
from handlers.core import payloads
from handlers.core.clock import TOKYO
from handlers.core.reply import Buttons, File, Form, ListView
from handlers.notifications import digest, notices
from handlers.record import check
from handlers.scheduling import invites
from storage import sessions
from storage.models import Audience, AuditEntry, Notification, Person, SupportSession
from tests.support.factories import add_session_row, apply, approve, number, ref, submit

CHAT, MAIL = invites.CHAT_KIND, invites.EMAIL_KIND


def new_rows(ctx, since: set[int]) -> list[Notification]:
    with ctx.db.transaction() as session:
        return [n for n in session.exec(select(Notification)) if n.id not in since]


def row_ids(ctx) -> set[int]:
    with ctx.db.transaction() as session:
        return {n.id for n in session.exec(select(Notification))}


@pytest.fixture
def season(ctx, cast):
    """Eleven selected towns, each carried by 高橋 and 中村: a 141-session draft."""
    for person in [a for a in cast.values() if a.role == "municipal"][:11]:
        request_id = apply(ctx, person)
        reply = router.submit(
            ctx,
            cast["熊本 県子"],
            "request.approve",
            {"consultants": [str(cast["高橋 誠"].id), str(cast["中村 由紀"].id)]},
            ref(request_id),
        )
        assert reply.ok, reply.plain_text()
    drafted = router.press(ctx, cast["水前寺 花"], "plan.draft")
    assert drafted.ok, drafted.plain_text()
    return drafted.data["plan_id"]


def test_a_confirmed_season_plan_is_one_notice_per_person(ctx, cast, season):
    clerk = cast["水前寺 花"]
    before = row_ids(ctx)
    confirmed = router.press(ctx, clerk, "plan.confirm", payloads.encode(id=season))
    assert confirmed.ok and confirmed.data["booked"] == 141
    rows = [r for r in new_rows(ctx, before) if r.kind in (CHAT, MAIL)]
    per_person = Counter((r.person_id, r.kind) for r in rows)
    assert set(per_person.values()) == {1}  # after: one notice (and one e-mail) each
    chats = {r.person_id: r for r in rows if r.kind == CHAT}
    assert len(chats) == 19  # the clerk, two consultants, every town's staff (results meeting)

    with ctx.db.transaction() as session:
        booked = {s.uid: s for s in sessions.listing(session, limit=None)}
    assert len(booked) == 141
    mine = chats[clerk.id].payload
    assert len(invites.entries_of(mine)) == 141  # who booked is an attendee of every one
    consultant = chats[cast["高橋 誠"].id].payload
    with ctx.db.transaction() as session:
        file = invites.invite_file(session, consultant, "ja", ctx.clock.now(), "dx@pref.jp")
    ics = file.content
    calendar = icalendar.Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert str(calendar["method"]) == "REQUEST"
    assert len(events) == len(invites.entries_of(consultant)) > 60
    for event in events:  # the same UID and SEQUENCE as the session's single invite
        row = booked[str(event["uid"])]
        assert event["sequence"] == row.sequence == 0
        assert event["dtstart"].dt == row.starts_at.astimezone(TOKYO)
    assert b"RSVP=TRUE" not in ics
    parsed = vobject.readOne(ics.decode("utf-8"))
    assert len(parsed.contents["vevent"]) == len(events)
    assert {e.uid.value for e in parsed.vevent_list} == {str(e["uid"]) for e in events}

    # as delivered: one message with one .ics, the sessions listed, the rest counted
    delivered = [o for o in notices.claim(ctx, None, limit=100) if o.person_id == clerk.id]
    assert len(delivered) == 1
    reply = delivered[0].reply
    (attached,) = [b for b in reply.blocks if isinstance(b, File)]
    assert attached.name.endswith(".ics")
    text = reply.plain_text()
    assert "141件の予定をまとめてお送りします" in text and "フィード" in text
    assert f"ほか {141 - invites.SHOWN} 件" in text
    assert set(answer_buttons_of(reply)) == {"calendar.feed", "attendance.list"}

    mails = notices.claim_mail(ctx, limit=100)  # one e-mail each too, with the one .ics
    assert len(mails) == len({m.to_email for m in mails}) == len(chats)
    (clerks,) = [m for m in mails if m.to_name == clerk.name]
    assert clerks.subject == "【DX Desk】141件の予定のご案内" and clerks.method == "REQUEST"
    assert len(icalendar.Calendar.from_ical(clerks.ics).walk("VEVENT")) == 141

    found = check.findings(ctx)
    assert not [f for f in found if f.rule == "invites"], [f.text("ja") for f in found]


def test_the_check_reads_a_batched_row_per_session(ctx, cast, season):
    """The consistency rule sees each session of a batched row: drop a consultant's
    batch and each of their sessions is reported without its invite to them."""
    assert router.press(ctx, cast["水前寺 花"], "plan.confirm", payloads.encode(id=season)).ok
    consultant = cast["高橋 誠"]
    assert not [f for f in check.findings(ctx) if f.rule == "invites"]
    with ctx.db.transaction() as session:
        theirs = session.exec(
            select(Notification).where(Notification.person_id == consultant.id)
        ).all()
        (batch,) = [r for r in theirs if r.kind == CHAT]
        count = len(invites.entries_of(batch.payload))
        for row in theirs:
            if row.kind in (CHAT, MAIL):
                session.delete(row)
    missing = [f for f in check.findings(ctx) if f.rule == "invites"]
    assert len(missing) == count > 60
    assert all(consultant.name in f.text("ja") for f in missing)


def booked_consultation(ctx, cast, day="2026-07-15", start="10:00") -> tuple[int, int]:
    """(request id, session id): a consultation of 田中 美咲 (宇土市) with 小林 健."""
    request_id = submit(ctx, cast["田中 美咲"])
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    reply = router.submit(
        ctx,
        cast["水前寺 花"],
        "session.book",
        {
            "session_kind": "consultation",
            "request_number": number(ctx, request_id),
            "date": day,
            "start": start,
            "minutes": 60,
            "mode": "visit",
            "consultants": [str(cast["小林 健"].id)],
        },
    )
    assert reply.ok, reply.plain_text()
    return request_id, int(reply.data["session_id"])


def test_cancelling_ones_own_request_is_one_message_and_one_cancel(ctx, cast):
    staff = cast["田中 美咲"]
    request_id, _ = booked_consultation(ctx, cast)
    _, second = booked_consultation(ctx, cast, day="2026-07-16")
    with ctx.db.transaction() as session:  # both sessions under the first request
        row = session.get(SupportSession, second)
        row.request_id = request_id
        session.add(row)
    before = row_ids(ctx)
    cancelled = router.submit(
        ctx, staff, "request.cancel", {"reason": "庁内調整のため"}, ref(request_id)
    )
    assert cancelled.ok, cancelled.plain_text()
    rows = new_rows(ctx, before)
    to_staff = [r for r in rows if r.person_id == staff.id and r.kind != MAIL]
    assert [r.kind for r in to_staff] == [CHAT]  # not 「…は取り消されました。」 as well
    assert len(invites.entries_of(to_staff[0].payload)) == 2  # one CANCEL for both
    assert to_staff[0].payload["method"] == "CANCEL"
    assert [b[0] for b in to_staff[0].payload["buttons"]] == ["calendar.feed"]  # nothing to answer
    consultant = [r.kind for r in rows if r.person_id == cast["小林 健"].id and r.kind != MAIL]
    assert consultant == [CHAT]  # the CANCEL tells them: one message each (#17)
    with ctx.db.transaction() as session:
        file = invites.invite_file(session, to_staff[0].payload, "ja", ctx.clock.now(), "d@p.jp")
    calendar = icalendar.Calendar.from_ical(file.content)
    assert str(calendar["method"]) == "CANCEL"
    assert {str(e["status"]) for e in calendar.walk("VEVENT")} == {"CANCELLED"}
    assert {e["sequence"] for e in calendar.walk("VEVENT")} == {1}


def test_someone_on_the_feed_only_still_hears_a_request_was_cancelled(ctx, cast):
    """No CANCEL is queued for a consultant who follows the feed only: the request's own
    notice is then their one message."""
    request_id, _ = booked_consultation(ctx, cast)
    with ctx.db.transaction() as session:
        person = session.get(Person, cast["小林 健"].id)
        person.invite_delivery = "feed"
        session.add(person)
    before = row_ids(ctx)
    approver = cast["熊本 県子"]
    cancelled = router.submit(
        ctx, approver, "request.cancel", {"reason": "庁内調整のため"}, ref(request_id)
    )
    assert cancelled.ok, cancelled.plain_text()
    rows = new_rows(ctx, before)
    assert [r.kind for r in rows if r.person_id == cast["小林 健"].id] == ["request.cancelled"]


def answer_buttons_of(reply) -> dict[str, str]:
    return {
        b.action: b.value
        for block in reply.blocks
        if isinstance(block, Buttons)
        for b in block.buttons
    }


def test_a_session_notice_carries_the_two_answers_on_every_platform(ctx, cast):
    _, session_id = booked_consultation(ctx, cast)
    (notice,) = [
        o
        for o in notices.claim(ctx, None)
        if o.person_id == cast["田中 美咲"].id and o.key.startswith("invite:")
    ]
    pressed = answer_buttons_of(notice.reply)
    assert set(pressed) == {"attendance.decline", "attendance.change"}
    assert payloads.require_id(pressed["attendance.decline"]) == session_id
    text = render(notice.reply, "ja").text  # the terminal
    assert "出席できません" in text and "日程変更を相談" in text
    slack = str(message_blocks(notice.reply))
    assert "attendance.decline" in slack and "出席できません" in slack
    teams = str(card(notice.reply))
    assert "attendance.change" in teams and "日程変更を相談" in teams


def test_cannot_attend_is_recorded_and_told_to_the_prefecture(ctx, cast):
    _, session_id = booked_consultation(ctx, cast)
    value = payloads.encode(id=session_id)
    stranger = router.press(ctx, cast["松本 大輔"], "attendance.decline", value)  # 山鹿市
    assert not stranger.ok
    before = row_ids(ctx)
    answered = router.press(ctx, cast["小林 健"], "attendance.decline", value)
    assert answered.ok and "県に伝えました" in answered.plain_text()
    assert router.press(ctx, cast["小林 健"], "attendance.decline", value).ok  # pressed twice
    told = [r for r in new_rows(ctx, before) if r.audience == Audience.PREFECTURE]
    assert len(told) == 1  # the prefecture hears once
    (channel,) = [
        o
        for o in notices.claim(ctx, None, audiences=(Audience.PREFECTURE,))
        if o.key.startswith("attendance")
    ]
    assert "小林 健 さんから" in channel.reply.plain_text()
    assert "session.move.form" in answer_buttons_of(channel.reply)
    with ctx.db.transaction() as session:
        audited = session.exec(
            select(AuditEntry).where(AuditEntry.action == "attendance.decline")
        ).all()
    assert [(a.actor_id, int(a.target_id), a.outcome) for a in audited] == [
        (cast["松本 大輔"].id, session_id, "refused"),  # not an attendee: refused, audited
        *[(cast["小林 健"].id, session_id, "ok")] * 2,
    ]


def test_a_change_opens_the_move_form_for_those_who_may_move(ctx, cast):
    _, session_id = booked_consultation(ctx, cast, day="2026-07-22")
    value = payloads.encode(id=session_id)
    staff = router.press(ctx, cast["田中 美咲"], "attendance.change", value)
    assert staff.ok, staff.plain_text()
    (form,) = [b for b in staff.blocks if isinstance(b, Form)]
    assert form.action == "session.move"
    consultant = router.press(ctx, cast["小林 健"], "attendance.change", value)
    assert consultant.ok and not [b for b in consultant.blocks if isinstance(b, Form)]
    assert "県の担当者からご連絡します" in consultant.plain_text()
    listed = router.press(ctx, cast["小林 健"], "attendance.list")
    (view,) = [b for b in listed.blocks if isinstance(b, ListView)]
    assert {b.action for item in view.items for b in item.buttons} == {
        "attendance.decline",
        "attendance.change",
    }


def test_the_digest_never_cuts_a_section_silently(ctx, cast):
    clerk = cast["水前寺 花"]
    monday = datetime(2026, 7, 13, tzinfo=TOKYO)
    for n in range(10):
        start = monday + timedelta(days=n % 5, hours=9 + n // 5 * 3)
        add_session_row(ctx, "consultation", start, [cast["田中 美咲"].municipality_id], by=clerk)
    with ctx.db.transaction() as session:
        reply = digest.render(ctx, session, "ja", {"week": monday.date().isoformat()})
    text = reply.plain_text()
    this_week = text.split("今週の予定", 1)[1]
    assert f"ほか {10 - digest.SHOWN} 件" in this_week and "ダッシュボード" in this_week
    assert len(message_blocks(reply)) < 50  # Slack would cut at 50 with a bare 「…」
    assert "…" not in str(message_blocks(reply)[-1])


def test_mail_without_a_real_organizer_is_refused_at_start_up(monkeypatch, capsys):
    monkeypatch.setenv("SMTP_URL", "smtp://mail.pref.kumamoto.lg.jp")
    monkeypatch.delenv("DXDESK_MAIL_FROM", raising=False)
    monkeypatch.delenv("DXDESK_LANGUAGE", raising=False)
    assert cli.main(["check"]) == 2
    said = capsys.readouterr().err.strip()
    assert said.count("\n") == 0 and "DXDESK_MAIL_FROM" in said and "実在" in said
