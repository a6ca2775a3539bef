"""Private calendar feeds over real HTTP: a consultant's visits with travel blocks, each
role's view, revocation and unknown tokens (404 that says nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import icalendar
import pytest
import vobject
from sqlmodel import select

from bot.render_text import render
from bot.web import create_web_app
from handlers import feeds, router
from handlers.clock import TOKYO
from handlers.reply import Fields
from storage.models import AuditEntry, SessionStatus, SupportSession
from tests.live_server import serving
from tests.test_invites import book_consultation, change


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

    change(ctx, session_id, status=SessionStatus.CANCELLED)
    assert events(web.get(feed_path(ctx, cast["小林 健"]))) == []


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
