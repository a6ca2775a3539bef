"""Private calendar feeds over real HTTP: a consultant's visits with travel blocks
chained through the day as the diary reckons them, each role's view, revocation and
unknown tokens (404 that says nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import icalendar
import pytest
import vobject
from sqlmodel import select

from bot.console.render import render
from bot.demo.cast import person_values
from bot.runtime.web import create_web_app
from handlers import router
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.reply import Fields
from handlers.people import roster
from handlers.scheduling import booking as scheduling
from handlers.scheduling import diary, feeds
from storage import people
from storage.models import AuditEntry, SupportSession
from tests.support.bookings import book_consultation, booking, cancel
from tests.support.factories import approve, number, submit
from tests.support.live_server import serving


@pytest.fixture
def web(ctx) -> Iterator[httpx.Client]:
    with serving(create_web_app(ctx, None)) as base, httpx.Client(base_url=base) as client:
        yield client


def feed_path(ctx, actor) -> str:
    """Ask for the URL as a person would (through the router), keep its path."""
    reply = router.press(ctx, actor, "calendar.feed")
    assert reply.ok, reply.plain_text()
    (url,) = (f.value for b in reply.blocks if isinstance(b, Fields) for f in b.items)
    assert url.startswith(f"{ctx.rules.public_url}/calendar/") and url.endswith(".ics")
    return url.removeprefix(ctx.rules.public_url)


def events(response: httpx.Response) -> list[icalendar.Event]:
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    vobject.readOne(response.text)  # an independent parser reads it too
    return icalendar.Calendar.from_ical(response.content).walk("VEVENT")


def test_a_consultant_sees_their_visits_with_the_drive_before_and_after(ctx, cast, web):
    session_id = book_consultation(ctx, cast)  # 宇土市, 10:00-12:00, 30 minutes from the office
    with ctx.db.transaction() as session:
        uid = session.get(SupportSession, session_id).uid
    found = events(web.get(feed_path(ctx, cast["小林 健"])))
    by_uid = {str(e["uid"]): e for e in found}
    assert set(by_uid) == {uid, f"travel-to-{uid}", f"travel-back-{uid}"}
    visit = by_uid[uid]
    assert visit.start == datetime(2026, 7, 15, 10, 0, tzinfo=TOKYO)
    assert str(visit["summary"]) == "【DX Desk】個別相談(宇土市)"
    assert "attendee" not in visit and "organizer" not in visit  # a view, not an invitation
    there, back = by_uid[f"travel-to-{uid}"], by_uid[f"travel-back-{uid}"]
    assert (there.start, there.end) == (visit.start - timedelta(minutes=30), visit.start)
    assert (back.start, back.end) == (visit.end, visit.end + timedelta(minutes=30))
    assert str(there["summary"]) == "移動(県庁→宇土市)"
    assert {str(there["transp"]), str(back["transp"]), str(visit["transp"])} == {"OPAQUE"}
    assert there["dtstart"].params["TZID"] == "Asia/Tokyo"

    # Others in the same roles see only what concerns them.
    assert events(web.get(feed_path(ctx, cast["中村 由紀"]))) == []
    staff = events(web.get(feed_path(ctx, cast["田中 美咲"])))  # 宇土市: the visit, no drive
    assert [str(e["uid"]) for e in staff] == [uid]
    assert events(web.get(feed_path(ctx, cast["松本 大輔"]))) == []  # 山鹿市
    assert [str(e["uid"]) for e in events(web.get(feed_path(ctx, cast["水前寺 花"])))] == [uid]

    cancel(ctx, cast["水前寺 花"], session_id)
    assert events(web.get(feed_path(ctx, cast["小林 健"]))) == []


def book(ctx, cast, requester, consultant: str, day: str, start: str, **values) -> str:
    """A consultation `requester` asks for, with `consultant`, booked by the prefecture;
    its UID."""
    request_id = submit(ctx, requester, preferred_dates=day)
    assert approve(ctx, cast["熊本 県子"], request_id, [cast[consultant]]).ok
    form = booking(
        cast,
        session_kind="consultation",
        request_number=number(ctx, request_id),
        date=day,
        start=start,
        minutes=120,
        consultants=[str(cast[consultant].id)],
    )
    reply = scheduling.book(ctx, cast["水前寺 花"], form | values)
    assert reply.ok, reply.plain_text()
    with ctx.db.transaction() as session:
        return session.get(SupportSession, reply.data["session_id"]).uid


def municipal(ctx, name: str, municipality: str) -> Actor:
    with ctx.db.transaction() as session:
        ids = {m.name: m.id or 0 for m in people.municipalities(session)}
    values = {"name": name, "role": "municipal", "email": f"{name}@example.jp"}
    values |= {"title": "主事", "municipality": municipality, "department": "企画課"}
    return Actor.from_person(roster.add_person(ctx, person_values(values, ids)))


def spans(found: list[icalendar.Event]) -> dict[str, tuple[datetime, datetime, str]]:
    return {str(e["uid"]): (e.start, e.end, str(e["summary"])) for e in found}


def test_two_visits_in_a_day_are_one_round_from_the_office(ctx, cast, web):
    """人吉市 in the morning, 錦町 in the afternoon: to 人吉市, on to 錦町 right after
    the first visit, back from 錦町 — not twice to and from the office, and an online
    session in between breaks no chain."""
    nishiki = municipal(ctx, "錦 一郎", "錦町")
    morning = book(ctx, cast, cast["山口 健二"], "小林 健", "2026-07-15", "09:30")
    online = book(
        ctx,
        cast,
        cast["田中 美咲"],
        "小林 健",
        "2026-07-15",
        "12:30",
        mode="online",
        minutes=30,
        meeting_url="https://meet.example.jp/a",
    )
    afternoon = book(ctx, cast, nishiki, "小林 健", "2026-07-15", "13:30")
    with ctx.db.transaction() as session:
        travel = diary.travel_table(session)
        ids = {m.name: m.id or 0 for m in people.municipalities(session)}
    to_first = travel.minutes(None, ids["人吉市"])
    between = travel.minutes(ids["人吉市"], ids["錦町"])
    back = travel.minutes(ids["錦町"], None)
    assert 0 < between < 60 and to_first > 60 and back > 60

    def at(hour: int, minute: int = 0, *, plus: int = 0) -> datetime:
        return datetime(2026, 7, 15, hour, minute, tzinfo=TOKYO) + timedelta(minutes=plus)

    found = spans(events(web.get(feed_path(ctx, cast["小林 健"]))))
    assert found == {
        morning: (at(9, 30), at(11, 30), "【DX Desk】個別相談(人吉市)"),
        online: (at(12, 30), at(13), "【DX Desk】個別相談(宇土市)"),
        afternoon: (at(13, 30), at(15, 30), "【DX Desk】個別相談(錦町)"),
        f"travel-to-{morning}": (at(9, 30, plus=-to_first), at(9, 30), "移動(県庁→人吉市)"),
        f"travel-{morning}-{afternoon}": (
            at(11, 30),
            at(11, 30, plus=between),
            "移動(人吉市→錦町)",
        ),
        f"travel-back-{afternoon}": (at(15, 30), at(15, 30, plus=back), "移動(錦町→県庁)"),
    }
    busy = [found[uid][:2] for uid in (morning, online, afternoon)]
    for uid, (start, end, _) in found.items():
        if uid.startswith("travel-"):
            assert all(end <= b_start or start >= b_end for b_start, b_end in busy), uid


def test_an_office_day_is_at_the_office(ctx, cast, web):
    """An office day needs no drive to it; a visit after it is reached from the office
    right after it ends, and an online session needs no drive at all."""
    lead = "高橋 誠"
    office = scheduling.book(ctx, cast["水前寺 花"], booking(cast, date="2026-07-16"))
    assert office.ok, office.plain_text()
    with ctx.db.transaction() as session:
        office_uid = session.get(SupportSession, office.data["session_id"]).uid
    visit = book(ctx, cast, cast["田中 美咲"], lead, "2026-07-16", "14:00")
    online = book(
        ctx,
        cast,
        cast["田中 美咲"],
        lead,
        "2026-07-17",
        "10:00",
        mode="online",
        meeting_url="https://meet.example.jp/a",
    )

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 7, 16, hour, minute, tzinfo=TOKYO)

    found = spans(events(web.get(feed_path(ctx, cast[lead]))))
    assert set(found) == {
        office_uid,
        visit,
        online,
        f"travel-{office_uid}-{visit}",
        f"travel-back-{visit}",
    }
    assert found[f"travel-{office_uid}-{visit}"] == (at(13), at(13, 30), "移動(県庁→宇土市)")
    assert found[f"travel-back-{visit}"] == (at(16), at(16, 30), "移動(宇土市→県庁)")


def test_revoked_and_unknown_tokens_get_a_bare_404(ctx, cast, web):
    consultant = cast["小林 健"]
    first, second = feed_path(ctx, consultant), feed_path(ctx, consultant)
    assert first != second
    assert web.get(first).status_code == web.get(second).status_code == 200  # both live

    reply = router.press(ctx, consultant, "calendar.revoke")
    assert reply.ok and "2件" in reply.plain_text()
    for path in (first, second, "/calendar/not-a-token.ics"):
        response = web.get(path)
        assert response.status_code == 404 and response.content == b""
    assert web.get("/calendar/.ics").status_code == 404
    assert web.get(feed_path(ctx, consultant)).status_code == 200  # a new one works
    with ctx.db.transaction() as session:
        actions = [
            e.action for e in session.exec(select(AuditEntry)) if e.actor_id == consultant.id
        ]
    assert actions.count("calendar.feed") == 3 and actions.count("calendar.revoke") == 1


def test_feed_for_reads_no_token_twice_and_the_reply_renders(ctx, cast):
    assert feeds.feed_for(ctx, "") is None
    assert feeds.feed_for(ctx, "x" * 500) is None
    reply = router.press(ctx, cast["熊本 県子"], "calendar.feed")
    text = render(reply, "ja").text
    assert "購読URL" in text and "/calendar/" in text and "購読URLをすべて無効にする" in text
