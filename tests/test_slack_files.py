"""Invites reach Slack as a DM with the .ics uploaded into it: the real slack_sdk
(files_upload_v2) against the local fake Web API."""

from __future__ import annotations

from collections.abc import Iterator

import icalendar
import pytest

from bot.config import Settings
from bot.slack.app import SlackBot
from handlers import router
from handlers.core.reply import Fields
from storage import people
from storage.models import SupportSession
from tests.support.bookings import book_consultation, queue
from tests.support.slack_fake import UPLOAD_METHOD, FakeSlackAPI

USERS = {"U_KOBAYASHI": "小林 健", "U_TANAKA": "田中 美咲", "U_HANA": "水前寺 花"}


@pytest.fixture
def slack(ctx, cast) -> Iterator[tuple[SlackBot, FakeSlackAPI]]:
    with ctx.db.transaction() as session:
        for user_id, name in USERS.items():
            people.link_identity(session, cast[name].id, "slack", user_id)
    with FakeSlackAPI() as fake:
        settings = Settings(
            slack_bot_token="xoxb-test", slack_signing_secret="secret", slack_api_url=fake.url
        )
        bot = SlackBot(ctx, settings)
        yield bot, fake
        bot.jobs.shutdown()


def test_a_booked_session_sends_each_attendee_the_ics_in_their_dm(ctx, cast, slack):
    bot, fake = slack
    session_id = book_consultation(ctx, cast)
    queue(ctx, session_id, "REQUEST")
    with ctx.db.transaction() as session:
        uid = session.get(SupportSession, session_id).uid
    bot.deliver()

    opened = {call.params["users"] for call in fake.calls_to("conversations.open")}
    assert opened == {"U_KOBAYASHI", "U_TANAKA", "U_HANA"}  # who booked it is invited too
    completed = fake.calls_to("files.completeUploadExternal")
    assert {call.params["channel_id"] for call in completed} == {
        "DU_KOBAYASHI",
        "DU_TANAKA",
        "DU_HANA",
    }
    assert {call.params["files"][0]["title"] for call in completed} == {
        f"dxdesk-{session_id}-0.ics"
    }
    uploads = fake.calls_to(UPLOAD_METHOD)
    assert len(uploads) == 3
    for upload in uploads:
        calendar = icalendar.Calendar.from_ical(upload.params["content"])
        (event,) = calendar.walk("VEVENT")
        assert (str(calendar["method"]), str(event["uid"]), event["sequence"]) == (
            "REQUEST",
            uid,
            0,
        )
    texts = [c.params["text"] for c in fake.calls_to("chat.postMessage")]
    assert sum("個別相談の予定をお送りします" in text for text in texts) == 3

    fake.reset()
    bot.deliver()  # sent once
    assert not fake.calls_to(UPLOAD_METHOD)


def test_a_failed_upload_puts_the_invite_back_in_the_queue(ctx, cast, slack):
    from sqlmodel import select

    from storage.models import Notification

    bot, fake = slack
    queue(ctx, book_consultation(ctx, cast), "REQUEST")
    fake.fail_next("files.completeUploadExternal", 400, times=3)
    bot.deliver()
    with ctx.db.transaction() as session:
        rows = session.exec(select(Notification).where(Notification.kind == "invite")).all()
        assert {(row.status, row.attempts) for row in rows} == {("pending", 1)}


def test_the_calendar_command_answers_with_a_private_url(ctx, cast):
    reply = router.command(ctx, cast["小林 健"], "カレンダー")
    (url,) = (f.value for b in reply.blocks if isinstance(b, Fields) for f in b.items)
    assert url.startswith("http://localhost:3000/calendar/")
