"""Calendar invites: built with icalendar, read back with icalendar and with an
independent parser (vobject), followed through booking, change and cancellation, and
queued once per attendee and channel — never for the organizer."""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
import pytest
import vobject
from sqlmodel import select

from bot.render_text import render
from handlers import invites, notices, scheduling
from handlers.clock import TOKYO
from storage import people
from storage.models import Notification, SessionStatus, SupportSession
from tests.helpers import approve, number, submit
from tests.test_sessions_and_logs import booking

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=TOKYO)


def sample(**overrides) -> invites.InviteData:
    values = {
        "uid": "0b5c1f4e@dxdesk",
        "sequence": 0,
        "status": "CONFIRMED",
        "kind": "bpr",
        "starts_at": datetime(2026, 7, 8, 9, 30, tzinfo=TOKYO),
        "ends_at": datetime(2026, 7, 8, 12, 0, tzinfo=TOKYO),
        "summary": "【DX Desk】BPR伴走支援(宇土市)",
        "description": "DX Desk からBPR伴走支援のご案内です。\n対象市町村:宇土市",
        "location": "宇土市役所 3階会議室",
        "organizer": invites.Party("水前寺 花", "hana@example.jp"),
        "attendees": (
            invites.Party("高橋 誠", "takahashi@example.jp"),
            invites.Party("田中 美咲", "tanaka@uto.example.jp", invites.OPTIONAL),
        ),
    }
    values.update(overrides)
    return invites.InviteData(**values)


def parsed(ics: bytes) -> tuple[icalendar.Calendar, icalendar.Event, vobject.base.Component]:
    calendar = icalendar.Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    return calendar, event, vobject.readOne(ics.decode("utf-8"))


def addresses(event: icalendar.Event) -> list:
    found = event.get("attendee", [])
    return found if isinstance(found, list) else [found]


def test_a_request_reads_back_the_same_in_icalendar_and_vobject():
    ics = invites.build_invite(sample(), "REQUEST", NOW)
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n") and b"\r\n " in ics  # CRLF, folded lines
    calendar, event, other = parsed(ics)

    assert str(calendar["method"]) == "REQUEST" and str(calendar["version"]) == "2.0"
    assert "DX Desk" in str(calendar["prodid"])
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "Asia/Tokyo"
    assert event["dtstart"].params["TZID"] == "Asia/Tokyo"
    assert event.start == datetime(2026, 7, 8, 9, 30, tzinfo=TOKYO)
    assert event.end - event.start == timedelta(minutes=150)
    assert event["dtstamp"].dt == NOW and b"DTSTAMP:20260701T010000Z\r\n" in ics  # UTC
    assert (str(event["uid"]), event["sequence"], str(event["status"])) == (
        "0b5c1f4e@dxdesk",
        0,
        "CONFIRMED",
    )
    assert str(event["summary"]) == "【DX Desk】BPR伴走支援(宇土市)"
    assert "対象市町村:宇土市" in str(event["description"])
    assert str(event["location"]) == "宇土市役所 3階会議室"
    assert str(event["organizer"]) == "mailto:hana@example.jp"
    assert event["organizer"].params["CN"] == "水前寺 花"
    attendees = {str(a): a.params for a in addresses(event)}
    assert set(attendees) == {"mailto:takahashi@example.jp", "mailto:tanaka@uto.example.jp"}
    assert attendees["mailto:takahashi@example.jp"]["ROLE"] == "REQ-PARTICIPANT"
    assert attendees["mailto:tanaka@uto.example.jp"]["ROLE"] == "OPT-PARTICIPANT"
    assert {p["PARTSTAT"] for p in attendees.values()} == {"NEEDS-ACTION"}
    assert {p["RSVP"] for p in attendees.values()} == {"TRUE"}

    # The independent reading agrees.
    assert other.method.value == "REQUEST"
    assert other.vevent.uid.value == "0b5c1f4e@dxdesk"
    assert int(other.vevent.sequence.value) == 0
    assert other.vevent.dtstart.value == datetime(2026, 7, 8, 9, 30, tzinfo=TOKYO)
    assert other.vevent.dtstart.value.utcoffset() == timedelta(hours=9)
    assert b"\r\nDTSTART;TZID=Asia/Tokyo:20260708T093000\r\n" in ics
    assert other.vtimezone.tzid.value == "Asia/Tokyo"
    assert other.vevent.description.value.startswith("DX Desk からBPR伴走支援のご案内です。")
    assert sorted(a.value for a in other.vevent.attendee_list) == [
        "mailto:takahashi@example.jp",
        "mailto:tanaka@uto.example.jp",
    ]


def test_an_online_session_gives_its_link_as_location_and_url():
    url = "https://meet.example.jp/dx-001"
    ics = invites.build_invite(sample(location=url, meeting_url=url), "REQUEST", NOW)
    _, event, other = parsed(ics)
    assert str(event["location"]) == url and str(event["url"]) == url
    assert other.vevent.url.value == url


def test_a_cancellation_is_method_cancel_with_status_cancelled():
    ics = invites.build_invite(sample(sequence=2), "CANCEL", NOW)
    calendar, event, other = parsed(ics)
    assert str(calendar["method"]) == "CANCEL"
    assert (str(event["status"]), event["sequence"]) == ("CANCELLED", 2)
    assert (other.method.value, other.vevent.status.value) == ("CANCEL", "CANCELLED")
    assert int(other.vevent.sequence.value) == 2


# -- from storage --------------------------------------------------------------------------


def book_consultation(ctx, cast) -> int:
    """田中 美咲 (宇土市) asks; 小林 健 is assigned; 水前寺 花 books (the organizer)."""
    request_id = submit(ctx, cast["田中 美咲"])
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    values = booking(
        cast,
        session_kind="consultation",
        request_number=number(ctx, request_id),
        date="2026-07-15",
        start="10:00",
        minutes=120,
        place="宇土市役所 2階会議室",
        consultants=[str(cast["小林 健"].id)],
    )
    reply = scheduling.book(ctx, cast["水前寺 花"], values)
    assert reply.ok, reply.plain_text()
    return int(reply.data["session_id"])


def change(ctx, session_id: int, **values) -> SupportSession:
    """What rescheduling and cancelling do to the row before queueing invites."""
    with ctx.db.transaction() as session:
        row = session.get(SupportSession, session_id)
        for name, value in values.items():
            setattr(row, name, value)
        row.sequence += 1
        session.add(row)
    return row


def invite(ctx, session_id: int, method: str, language: str = "ja") -> bytes:
    with ctx.db.transaction() as session:
        return invites.invite_for(session, session_id, method, ctx.clock.now(), language)


def test_one_uid_for_life_with_a_rising_sequence(ctx, cast):
    session_id = book_consultation(ctx, cast)
    booked = invite(ctx, session_id, "REQUEST")
    row = change(ctx, session_id, starts_at=datetime(2026, 7, 16, 13, 0, tzinfo=TOKYO))
    change(ctx, session_id, ends_at=row.starts_at + timedelta(hours=2))
    moved = invite(ctx, session_id, "REQUEST")
    change(ctx, session_id, status=SessionStatus.CANCELLED)
    cancelled = invite(ctx, session_id, "CANCEL")

    readings = [parsed(ics) for ics in (booked, moved, cancelled)]
    assert len({str(event["uid"]) for _, event, _ in readings}) == 1
    assert len({other.vevent.uid.value for *_, other in readings}) == 1
    assert [event["sequence"] for _, event, _ in readings] == [0, 2, 3]
    assert [int(o.vevent.sequence.value) for *_, o in readings] == [0, 2, 3]
    assert [str(c["method"]) for c, _, _ in readings] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [str(event["status"]) for _, event, _ in readings] == [
        "CONFIRMED",
        "CONFIRMED",
        "CANCELLED",
    ]
    assert readings[1][1].start == datetime(2026, 7, 16, 13, 0, tzinfo=TOKYO)

    _, event, _ = readings[0]
    assert str(event["summary"]) == "【DX Desk】個別相談(宇土市)"
    description = str(event["description"])
    assert "DX Desk から個別相談のご案内です。" in description
    assert "日時:2026年7月15日" in description and "10:00〜12:00" in description
    assert "担当デジタル人材:小林 健" in description and "相談番号:相談-2026-001" in description
    assert str(event["location"]) == "宇土市役所 2階会議室"
    assert str(event["organizer"]) == "mailto:hana@example.jp"
    attendees = {str(a) for a in addresses(event)}
    assert "mailto:kobayashi@example.jp" in attendees  # the consultant
    assert "mailto:tanaka@uto.example.jp" in attendees  # the requester
    assert "mailto:hana@example.jp" not in attendees  # the organizer is not invited
    assert "この予定は取り消されました。" in str(readings[2][1]["description"])

    english = parsed(invite(ctx, session_id, "CANCEL", "en"))[1]
    assert str(english["summary"]).startswith("[DX Desk] ")


def invite_rows(ctx) -> list[Notification]:
    with ctx.db.transaction() as session:
        rows = session.exec(
            select(Notification).where(Notification.kind.in_(["invite", "invite_email"]))
        ).all()
        return [Notification.model_validate(row) for row in rows]


def queue(ctx, session_id: int, method: str) -> None:
    with ctx.db.transaction() as session:
        row = session.get(SupportSession, session_id)
        invites.queue_invites(session, row, method, ctx.clock.now())


def test_every_attendee_but_the_organizer_is_queued_once_per_channel(ctx, cast):
    session_id = book_consultation(ctx, cast)
    for _ in range(2):  # re-running (a retried transaction) queues nothing more
        queue(ctx, session_id, "REQUEST")
    rows = invite_rows(ctx)
    by_person = {}
    for row in rows:
        by_person.setdefault(row.person_id, set()).add(row.kind)
    organizer = cast["水前寺 花"].id
    assert organizer not in by_person
    assert by_person[cast["小林 健"].id] == {"invite", "invite_email"}
    assert by_person[cast["田中 美咲"].id] == {"invite", "invite_email"}
    assert set(by_person) == {cast["小林 健"].id, cast["田中 美咲"].id}  # 宇土市 has one staff
    assert {(r.payload["sequence"], r.payload["method"]) for r in rows} == {(0, "REQUEST")}

    change(ctx, session_id, status=SessionStatus.CANCELLED)
    queue(ctx, session_id, "CANCEL")
    queue(ctx, session_id, "CANCEL")
    assert len(invite_rows(ctx)) == 8
    cancels = [r for r in invite_rows(ctx) if r.payload["method"] == "CANCEL"]
    assert {r.payload["sequence"] for r in cancels} == {1} and len(cancels) == 4


def test_a_person_without_an_address_gets_the_invite_in_chat_only(ctx, cast):
    with ctx.db.transaction() as session:
        person = people.get(session, cast["小林 健"].id)
        person.email = None
        session.add(person)
    session_id = book_consultation(ctx, cast)  # booking queues the invites
    kinds = [r.kind for r in invite_rows(ctx) if r.person_id == cast["小林 健"].id]
    assert kinds == ["invite"]
    event = parsed(invite(ctx, session_id, "REQUEST"))[1]
    assert {str(a) for a in addresses(event)} == {"mailto:tanaka@uto.example.jp"}


def test_chat_notices_carry_the_ics_and_leave_e_mails_to_the_mail_sender(ctx, cast):
    session_id = book_consultation(ctx, cast)
    queue(ctx, session_id, "REQUEST")
    with ctx.db.transaction() as session:
        for name, user in (("小林 健", "U_K"), ("田中 美咲", "U_T"), ("水前寺 花", "U_H")):
            people.link_identity(session, cast[name].id, "slack", user)
    claimed = notices.claim(ctx, "slack")
    files = {out.to: out.reply.files for out in claimed}
    assert "U_H" not in files or not files["U_H"]  # the organizer hears of no invite
    for user in ("U_K", "U_T"):
        (ics,) = files[user]
        assert ics.name == f"dxdesk-{session_id}-0.ics" and ics.mime.startswith("text/calendar")
        calendar, event, other = parsed(ics.content)
        assert (str(calendar["method"]), event["sequence"]) == ("REQUEST", 0)
        assert other.vevent.uid.value == str(event["uid"])
    texts = [out.reply.plain_text() for out in claimed if out.to == "U_T"]
    assert any("個別相談の予定をお送りします" in text for text in texts)
    with ctx.db.transaction() as session:
        statuses = {
            row.kind: row.status
            for row in session.exec(select(Notification))
            if row.kind.startswith("invite")
        }
    assert statuses == {"invite": "sending", "invite_email": "pending"}
    assert all(n.kind != "invite_email" for n in _inbox(ctx, cast["田中 美咲"]))


def _inbox(ctx, actor) -> list[Notification]:
    from storage import outbox

    with ctx.db.transaction() as session:
        return outbox.for_person(session, actor.id, exclude_kinds=notices.MAIL_KINDS)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_terminal_names_an_attached_file(language):
    from handlers.reply import File, Reply, Text

    reply = Reply((Text("x"), File("dxdesk-1-0.ics", b"0123456789", "text/calendar")))
    shown = render(reply, language).text
    assert "dxdesk-1-0.ics" in shown and "10" in shown
    assert reply.plain_text() == "x"
