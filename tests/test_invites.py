"""Calendar invites: built with icalendar, read back with icalendar and with an
independent parser (vobject), followed through booking, moving and cancelling by the
real handlers and delivered afterwards (each says what was true when it was queued),
from the service's own address to everyone concerned, once per attendee and channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import icalendar
import pytest
import vobject
from sqlmodel import select

from bot.console.render import render
from handlers import router
from handlers.core import payloads
from handlers.core.clock import TOKYO
from handlers.notifications import notices
from handlers.scheduling import booking as scheduling
from handlers.scheduling import invites
from storage import people
from storage.models import Notification
from tests.support.bookings import book_consultation, booking, cancel, invite_rows, move, queue
from tests.support.factories import approve, number, submit

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
        "organizer": invites.Party("DX Desk", "dxdesk@pref.example.jp"),
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
    assert str(event["organizer"]) == "mailto:dxdesk@pref.example.jp"
    assert event["organizer"].params["CN"] == "DX Desk"
    attendees = {str(a): a.params for a in addresses(event)}
    assert set(attendees) == {"mailto:takahashi@example.jp", "mailto:tanaka@uto.example.jp"}
    assert attendees["mailto:takahashi@example.jp"]["ROLE"] == "REQ-PARTICIPANT"
    assert attendees["mailto:tanaka@uto.example.jp"]["ROLE"] == "OPT-PARTICIPANT"
    assert {p["PARTSTAT"] for p in attendees.values()} == {"NEEDS-ACTION"}
    # no reply is asked for: nobody reads one (answers come through the notice's buttons)
    assert {p["RSVP"] for p in attendees.values()} == {"FALSE"}
    assert b"RSVP=TRUE" not in ics

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


def test_a_snapshot_survives_the_outbox_and_the_organizer_is_the_service():
    data = sample(organizer=None)
    again = invites.InviteData.from_payload(data.to_payload())
    assert again == data
    sent = invites.addressed(again, "Takahashi@Example.jp")  # also a roster address
    assert sent.organizer == invites.Party("DX Desk", "Takahashi@Example.jp")
    assert [p.email for p in sent.attendees] == ["tanaka@uto.example.jp"]  # not an attendee


# -- from storage, through the handlers ------------------------------------------------


def deliver(ctx) -> dict[tuple[int, str], list[bytes]]:
    """Everything due, as the senders get it: {(person id, "chat"|"email"): [.ics]}."""
    out: dict[tuple[int, str], list[bytes]] = {}
    for sent in notices.claim(ctx, None, limit=500):
        for file in sent.reply.files:
            out.setdefault((int(sent.to or 0), "chat"), []).append(file.content)
    for mail in notices.claim_mail(ctx, limit=500):
        with ctx.db.transaction() as session:
            person_id = session.get(Notification, mail.notification_id).person_id
        assert mail.method == str(icalendar.Calendar.from_ical(mail.ics)["method"])
        out.setdefault((person_id, "email"), []).append(mail.ics)
    return out


def by_sequence(files: list[bytes]) -> dict[int, bytes]:
    return {parsed(ics)[1]["sequence"]: ics for ics in files}


def test_each_invite_says_what_was_true_when_it_was_queued(ctx, cast, clock):
    """Booked, moved and cancelled before anything is sent: the three versions still go
    out as they were, REQUEST 0 at the first time, REQUEST 1 at the new one, CANCEL 2."""
    clerk = cast["水前寺 花"]
    session_id = book_consultation(ctx, cast)
    booked_at = clock.now()
    clock.advance(hours=1)
    move(ctx, clerk, session_id, "2026-07-16", "13:00")
    moved_at = clock.now()
    clock.advance(hours=1)
    cancel(ctx, clerk, session_id)
    cancelled_at = clock.now()
    clock.advance(hours=1)

    delivered = deliver(ctx)
    people_ = {cast[n].id for n in ("小林 健", "田中 美咲", "水前寺 花")}
    assert set(delivered) == {(p, c) for p in people_ for c in ("chat", "email")}
    versions = {ics for files in delivered.values() for ics in files}
    assert len(versions) == 3  # the same bytes to everyone, by chat and by e-mail
    for files in delivered.values():
        assert sorted(by_sequence(files)) == [0, 1, 2]
    first, second, third = (by_sequence(next(iter(delivered.values())))[n] for n in range(3))

    calendar, event, other = parsed(first)
    assert (str(calendar["method"]), str(event["status"])) == ("REQUEST", "CONFIRMED")
    assert (other.method.value, other.vevent.status.value) == ("REQUEST", "CONFIRMED")
    assert event.start == other.vevent.dtstart.value == datetime(2026, 7, 15, 10, 0, tzinfo=TOKYO)
    assert event.end == other.vevent.dtend.value == datetime(2026, 7, 15, 12, 0, tzinfo=TOKYO)
    assert event["dtstamp"].dt == booked_at
    description = str(event["description"])
    assert "日時:2026年7月15日" in description and "10:00〜12:00" in description
    assert "取り消されました" not in description

    calendar, event, other = parsed(second)
    assert (str(calendar["method"]), str(event["status"])) == ("REQUEST", "CONFIRMED")
    assert (other.method.value, other.vevent.status.value) == ("REQUEST", "CONFIRMED")
    assert event.start == other.vevent.dtstart.value == datetime(2026, 7, 16, 13, 0, tzinfo=TOKYO)
    assert event.end == other.vevent.dtend.value == datetime(2026, 7, 16, 15, 0, tzinfo=TOKYO)
    assert event["dtstamp"].dt == moved_at and "13:00〜15:00" in str(event["description"])

    calendar, event, other = parsed(third)
    assert (str(calendar["method"]), str(event["status"])) == ("CANCEL", "CANCELLED")
    assert (other.method.value, other.vevent.status.value) == ("CANCEL", "CANCELLED")
    assert int(other.vevent.sequence.value) == 2
    assert event.start == datetime(2026, 7, 16, 13, 0, tzinfo=TOKYO)
    assert event["dtstamp"].dt == cancelled_at
    assert "この予定は取り消されました。" in str(event["description"])

    readings = [parsed(ics) for ics in (first, second, third)]
    assert (
        len({str(e["uid"]) for _, e, _ in readings} | {o.vevent.uid.value for *_, o in readings})
        == 1
    )
    assert [int(o.vevent.sequence.value) for *_, o in readings] == [0, 1, 2]

    _, event, other = readings[0]
    assert str(event["summary"]) == "【DX Desk】個別相談(宇土市)"
    assert "担当デジタル人材:小林 健" in description and "相談番号:相談-2026-001" in description
    assert str(event["location"]) == "宇土市役所 2階会議室"
    assert (
        str(event["organizer"]) == other.vevent.organizer.value == "mailto:noreply@dxdesk.invalid"
    )
    assert event["organizer"].params["CN"] == "DX Desk"
    roles = {str(a): a.params["ROLE"] for a in addresses(event)}
    assert roles == {
        "mailto:kobayashi@example.jp": "REQ-PARTICIPANT",  # the consultant
        "mailto:tanaka@uto.example.jp": "REQ-PARTICIPANT",  # the requester
        "mailto:hana@example.jp": "OPT-PARTICIPANT",  # who booked it
    }
    assert sorted(a.value for a in other.vevent.attendee_list) == sorted(roles)
    assert deliver(ctx) == {}  # each once


def test_a_requester_who_picks_a_slot_gets_the_invite_and_its_updates(ctx, cast, staff):
    request_id = submit(ctx, staff)
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    at = datetime(2026, 7, 15, 10, 0, tzinfo=TOKYO)
    picked = router.press(ctx, staff, "slots.pick", payloads.encode(id=request_id, at=at))
    assert picked.ok, picked.plain_text()
    session_id = picked.data["session_id"]

    booked = deliver(ctx)
    assert set(booked) == {
        (p, c) for p in (staff.id, cast["小林 健"].id) for c in ("chat", "email")
    }  # she booked it, and she is the requester
    (ics,) = booked[staff.id, "chat"]
    assert booked[staff.id, "email"] == [ics]
    calendar, event, other = parsed(ics)
    assert (str(calendar["method"]), event["sequence"], event.start) == ("REQUEST", 0, at)
    assert str(event["organizer"]) == "mailto:noreply@dxdesk.invalid"
    assert {str(a): a.params["ROLE"] for a in addresses(event)} == {
        "mailto:tanaka@uto.example.jp": "REQ-PARTICIPANT",
        "mailto:kobayashi@example.jp": "REQ-PARTICIPANT",
    }
    assert other.vevent.dtstart.value == at

    move(ctx, cast["水前寺 花"], session_id, "2026-07-16", "13:00")
    moved = deliver(ctx)
    assert set(moved) == set(booked)  # who moved it is not thereby concerned
    for ics in moved[staff.id, "chat"] + moved[staff.id, "email"]:
        calendar, event, other = parsed(ics)
        assert (str(calendar["method"]), event["sequence"]) == ("REQUEST", 1)
        assert (
            event.start == other.vevent.dtstart.value == datetime(2026, 7, 16, 13, 0, tzinfo=TOKYO)
        )


def test_every_attendee_is_queued_once_per_channel(ctx, cast):
    session_id = book_consultation(ctx, cast)
    for _ in range(2):  # re-running (a retried transaction) queues nothing more
        queue(ctx, session_id, "REQUEST")
    rows = invite_rows(ctx)
    by_person: dict[int, set[str]] = {}
    for row in rows:
        by_person.setdefault(row.person_id, set()).add(row.kind)
    everyone = {cast[n].id for n in ("小林 健", "田中 美咲", "水前寺 花")}  # 宇土市 has one staff
    assert by_person == {p: {"invite", "invite_email"} for p in everyone}
    assert {(r.payload["sequence"], r.payload["method"]) for r in rows} == {(0, "REQUEST")}
    assert {tuple(sorted(r.payload["invite"])) for r in rows} == {("en", "ja")}  # no language

    cancel(ctx, cast["水前寺 花"], session_id)
    queue(ctx, session_id, "CANCEL")
    assert len(invite_rows(ctx)) == 12
    cancels = [r for r in invite_rows(ctx) if r.payload["method"] == "CANCEL"]
    assert {r.payload["sequence"] for r in cancels} == {1} and len(cancels) == 6


def test_an_invite_is_worded_in_its_recipients_language(ctx, cast):
    with ctx.db.transaction() as session:
        person = people.get(session, cast["小林 健"].id)
        person.language = "en"
        session.add(person)
    book_consultation(ctx, cast)
    assert {
        tuple(r.payload["invite"]) for r in invite_rows(ctx) if r.person_id == cast["小林 健"].id
    } == {("en",)}
    delivered = deliver(ctx)
    english = parsed(delivered[cast["小林 健"].id, "chat"][0])[1]
    assert str(english["summary"]).startswith("[DX Desk] ")
    japanese = parsed(delivered[cast["田中 美咲"].id, "email"][0])[1]
    assert str(japanese["summary"]) == "【DX Desk】個別相談(宇土市)"

    ctx.rules = replace(ctx.rules, language="en")  # a deployment in English: no language, en
    session_id = book_consultation_again(ctx, cast)
    queued = {r.person_id for r in invite_rows(ctx) if r.payload["session_id"] == session_id}
    assert cast["田中 美咲"].id in queued
    later = deliver(ctx)
    assert str(parsed(later[cast["田中 美咲"].id, "chat"][0])[1]["summary"]).startswith("[DX Desk]")


def book_consultation_again(ctx, cast) -> int:
    request_id = submit(ctx, cast["田中 美咲"], preferred_dates="2026-07-22")
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    values = booking(
        cast,
        session_kind="consultation",
        request_number=number(ctx, request_id),
        date="2026-07-22",
        start="10:00",
        minutes=120,
        consultants=[str(cast["小林 健"].id)],
    )
    reply = scheduling.book(ctx, cast["水前寺 花"], values)
    assert reply.ok, reply.plain_text()
    return int(reply.data["session_id"])


def test_the_service_address_is_never_an_attendee_nor_mailed(ctx, cast):
    """A roster person whose address is the service's own (a shared mailbox): the
    invite reaches them in chat, not by mail, and never names them as an attendee."""
    ctx.rules = replace(ctx.rules, organizer_email="Hana@Example.jp")
    book_consultation(ctx, cast)
    delivered = deliver(ctx)
    hana = cast["水前寺 花"].id
    assert (hana, "chat") in delivered and (hana, "email") not in delivered
    event = parsed(delivered[hana, "chat"][0])[1]
    assert str(event["organizer"]) == "mailto:Hana@Example.jp"
    assert {str(a) for a in addresses(event)} == {
        "mailto:kobayashi@example.jp",
        "mailto:tanaka@uto.example.jp",
    }
    statuses = {(r.person_id, r.kind): r.status for r in invite_rows(ctx)}
    assert statuses[hana, "invite_email"] == "cancelled"
    assert deliver(ctx) == {}


def test_a_person_without_an_address_gets_the_invite_in_chat_only(ctx, cast):
    with ctx.db.transaction() as session:
        person = people.get(session, cast["小林 健"].id)
        person.email = None
        session.add(person)
    book_consultation(ctx, cast)  # booking queues the invites
    kinds = [r.kind for r in invite_rows(ctx) if r.person_id == cast["小林 健"].id]
    assert kinds == ["invite"]
    (ics,) = deliver(ctx)[cast["小林 健"].id, "chat"]
    assert {str(a) for a in addresses(parsed(ics)[1])} == {
        "mailto:tanaka@uto.example.jp",
        "mailto:hana@example.jp",
    }


def test_a_row_queued_before_invites_carried_their_content_is_still_sent(ctx, cast):
    session_id = book_consultation(ctx, cast)
    with ctx.db.transaction() as session:
        file = invites.invite_file(
            session,
            {"session_id": session_id, "sequence": 0, "method": "REQUEST"},
            "ja",
            ctx.clock.now(),
            "noreply@dxdesk.invalid",
        )
    _, event, other = parsed(file.content)
    assert file.name == f"dxdesk-{session_id}-0.ics"
    assert event.start == datetime(2026, 7, 15, 10, 0, tzinfo=TOKYO)
    assert other.vevent.organizer.value == "mailto:noreply@dxdesk.invalid"


def test_chat_notices_carry_the_ics_and_leave_e_mails_to_the_mail_sender(ctx, cast):
    session_id = book_consultation(ctx, cast)
    with ctx.db.transaction() as session:
        for name, user in (("小林 健", "U_K"), ("田中 美咲", "U_T"), ("水前寺 花", "U_H")):
            people.link_identity(session, cast[name].id, "slack", user)
    claimed = notices.claim(ctx, "slack")
    files = {out.to: out.reply.files for out in claimed}
    for user in ("U_K", "U_T", "U_H"):  # who booked it too
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
    from handlers.core.reply import File, Reply, Text

    reply = Reply((Text("x"), File("dxdesk-1-0.ics", b"0123456789", "text/calendar")))
    shown = render(reply, language).text
    assert "dxdesk-1-0.ics" in shown and "10" in shown
    assert reply.plain_text() == "x"
