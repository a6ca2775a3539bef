"""Sending the outbox through Slack: once, even across a sender killed mid-send, several
senders at once, and Slack's rate limiting (R9–R11 delivery, DESIGN: notifications as data)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.slack.app import SlackBot, retry_after_of
from handlers.core.clock import TOKYO, FakeClock
from handlers.core.context import Context
from handlers.notifications import clockwork, notices
from storage import outbox, people
from storage.db import Database
from storage.models import Notification
from tests.support.db_setup import ON_POSTGRES
from tests.support.queued_notices import queue
from tests.support.slack_fake import FakeSlackAPI

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 7, 1, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def fake(ctx):
    """Message ts follow the test's clock, as Slack's follow real time: the look-back for a
    reaped notice asks for messages since the row was queued."""
    with FakeSlackAPI(clock=lambda: ctx.clock.now().timestamp()) as api:
        yield api


def settings_for(fake: FakeSlackAPI) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_api_url=fake.url,
        slack_approval_channel="CPREF",
    )


def posted_keys(fake: FakeSlackAPI) -> Counter[str]:
    """How often each test notice was posted (the clock's own rows, a digest, left out)."""
    return Counter(
        message["metadata"]["event_payload"]["key"]
        for messages in fake.history.values()
        for message in messages
        if message.get("metadata")
        and message["metadata"]["event_payload"]["key"].startswith("test.notice:")
    )


def statuses(ctx) -> Counter[str]:
    with ctx.db.transaction() as session:
        return Counter(
            n.status for n in session.exec(select(Notification)) if n.key.startswith("test.")
        )


def test_a_rate_limited_post_is_retried_and_sent_once(ctx, cast, fake):
    (key,) = queue(ctx, cast, 1)
    fake.fail_next("chat.postMessage", 429, retry_after=1)
    bot = SlackBot(ctx, settings_for(fake))
    assert bot.deliver() == 0  # not slept on in the sender: due again after Retry-After
    ctx.clock.advance(seconds=1)
    assert bot.deliver() == 1
    assert posted_keys(fake) == {key: 1}
    assert len(fake.calls_to("chat.postMessage")) == 2  # the 429, then the message
    assert statuses(ctx) == {"sent": 1}


def test_a_platform_failure_waits_at_least_its_retry_after(ctx, cast, fake):
    queue(ctx, cast, 1)
    fake.fail_next("chat.postMessage", 400)  # not retried by the SDK
    bot = SlackBot(ctx, settings_for(fake))
    assert bot.deliver() == 0
    with ctx.db.transaction() as session:
        row = session.exec(select(Notification)).one()
        assert (row.status, row.attempts) == ("pending", 1)
        row.status = "sending"
        assert outbox.finish(
            session, row.id, sent=False, now=NOW, retry_after=timedelta(minutes=30)
        )
        assert row.due_at == NOW + timedelta(minutes=30)  # longer than the 2-minute back-off


def test_retry_after_is_read_from_the_response():
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web import SlackResponse

    def error(status, headers):
        response = SlackResponse(
            client=None,
            http_verb="POST",
            api_url="x",
            req_args={},
            data={"ok": False},
            headers=headers,
            status_code=status,
        )
        return SlackApiError("ratelimited", response)

    assert retry_after_of(error(429, {"Retry-After": "42"})) == timedelta(seconds=42)
    assert retry_after_of(error(429, {"retry-after": ["7"]})) == timedelta(seconds=7)
    assert retry_after_of(error(500, {"Retry-After": "42"})) is None


def test_a_sender_that_dies_after_claiming_loses_its_rows_to_the_next(ctx, cast, fake):
    keys = queue(ctx, cast, 4)
    claimed = notices.claim(ctx, "slack")  # … and then the process died
    assert len(claimed) == 4
    bot = SlackBot(ctx, settings_for(fake))
    assert bot.deliver() == 0  # leased: nobody else touches them
    ctx.clock.advance(seconds=outbox.LEASE.total_seconds() + 1)
    assert clockwork.tick(ctx)["reaped"] == 4
    bot.deliver()
    assert posted_keys(fake) == dict.fromkeys(keys, 1)
    late = notices.finish(
        ctx, claimed[0].notification_id, sent=False, lease_until=claimed[0].lease_until
    )
    assert late is False  # the dead sender's lease is no longer worth anything
    assert statuses(ctx) == {"sent": 4}


def test_a_sender_that_dies_after_posting_is_not_posted_twice(ctx, cast, fake):
    (key,) = queue(ctx, cast, 1)
    bot = SlackBot(ctx, settings_for(fake))
    (claimed,) = notices.claim(ctx, "slack")
    bot.post(  # it went out; the process died before recording it
        claimed.to,
        claimed.reply,
        metadata={"event_type": "dxdesk_notice", "event_payload": {"key": key}},
    )
    ctx.clock.advance(seconds=outbox.LEASE.total_seconds() + 1)
    clockwork.tick(ctx)
    bot.deliver()
    assert posted_keys(fake) == {key: 1}
    assert fake.calls_to("conversations.history")  # only a reaped row pays for the check
    assert statuses(ctx) == {"sent": 1}


def test_a_killed_process_and_a_restart_lose_and_repeat_nothing(ctx, cast, fake, tmp_path):
    """A real process delivering against a slow Slack is killed with SIGKILL mid-run;
    once its lease has run out, a fresh sender finishes the queue."""
    keys = queue(ctx, cast, 40)
    fake.delay = 0.05
    script = tmp_path / "sender.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            from datetime import datetime
            from bot.config import Settings
            from bot.slack.app import SlackBot
            from handlers.core.clock import TOKYO, FakeClock
            from handlers.core.context import Context
            from storage.db import Database
            clock = FakeClock(datetime(2026, 7, 1, 10, tzinfo=TOKYO))
            ctx = Context(Database({ctx.db.url!r}), clock)
            settings = Settings(slack_bot_token="xoxb-test", slack_signing_secret="s",
                                slack_api_url={fake.url!r})
            print("ready", flush=True)
            SlackBot(ctx, settings).deliver()
            """
        )
    )
    sender = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert sender.stdout is not None and sender.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 20
    while len(fake.calls_to("chat.postMessage")) < 5:
        assert time.monotonic() < deadline, "the sender never started sending"
        time.sleep(0.01)
    os.kill(sender.pid, signal.SIGKILL)
    sender.wait(timeout=10)
    fake.delay = 0
    before = posted_keys(fake)
    assert 0 < sum(before.values()) < len(keys)  # really killed in the middle
    ctx.clock.advance(seconds=outbox.LEASE.total_seconds() + 1)
    clockwork.tick(ctx)
    SlackBot(ctx, settings_for(fake)).deliver()
    assert posted_keys(fake) == dict.fromkeys(keys, 1)  # nothing lost, nothing twice
    assert statuses(ctx) == {"sent": len(keys)}


def test_two_senders_at_once_send_each_notice_once(ctx, cast, fake):
    """Two instances with their own connections; on PostgreSQL they claim disjoint rows
    with SKIP LOCKED, on SQLite the writer lock takes turns."""
    keys = queue(ctx, cast, 120)
    fake.delay = 0.002
    instances = [
        SlackBot(Context(Database(ctx.db.url), FakeClock(NOW), ctx.rules), settings_for(fake))
        for _ in range(2)
    ]
    counts = [0, 0]
    barrier = threading.Barrier(2)

    def run(index: int) -> None:
        barrier.wait()
        counts[index] = instances[index].deliver()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert posted_keys(fake) == dict.fromkeys(keys, 1)
    assert sum(counts) == len(keys)
    if ON_POSTGRES:
        assert all(counts), counts  # both really worked
    for bot in instances:
        bot.ctx.db.dispose()


def test_a_message_posted_before_its_file_failed_is_not_posted_again(ctx, cast, fake):
    """The invite's text went out, its .ics upload failed: the retry finds the message in
    the DM and sends only the file."""
    from handlers.scheduling import booking

    with ctx.db.transaction() as session:
        people.link_identity(session, cast["小林 健"].id, "slack", "U_KEN")
    from tests.support.factories import approve, number, submit

    request_id = submit(ctx, cast["田中 美咲"])
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    assert booking.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "consultation",
            "request_number": number(ctx, request_id),
            "date": "2026-07-16",
            "start": "10:00",
            "minutes": 120,
            "mode": "visit",
            "consultants": [str(cast["小林 健"].id)],
        },
    ).ok
    fake.fail_next("files.completeUploadExternal", 400)
    bot = SlackBot(ctx, settings_for(fake))
    bot.deliver()
    ctx.clock.advance(minutes=10)
    bot.deliver()
    invites_to_ken = [
        m
        for m in fake.history.get("DU_KEN", [])
        if (m.get("metadata") or {}).get("event_payload", {}).get("key", "").startswith("invite:")
    ]
    assert len(invites_to_ken) == 1
    assert len(fake.calls_to("files.completeUploadExternal")) == 2  # failed, then done
    with ctx.db.transaction() as session:
        rows = [
            n
            for n in session.exec(select(Notification))
            if n.kind == "invite" and n.person_id == cast["小林 健"].id
        ]
    assert [r.status for r in rows] == ["sent"]


def test_a_sender_stops_before_its_lease_runs_out(ctx, cast, fake):
    """Sends slowed down by rate limiting must not outlive the lease: the rest is left to
    be reaped (and checked for) rather than posted late beside another sender."""
    keys = queue(ctx, cast, 6)
    bot = SlackBot(ctx, settings_for(fake))
    real_send = bot.send

    def slow_send(out):
        ok = real_send(out)
        ctx.clock.advance(minutes=2)  # each send takes two minutes of the five-minute lease
        return ok

    bot.send = slow_send
    bot.deliver()
    assert 0 < sum(posted_keys(fake).values()) < len(keys)
    ctx.clock.advance(seconds=outbox.LEASE.total_seconds() + 1)
    clockwork.tick(ctx)
    bot.send = real_send
    bot.deliver()
    assert posted_keys(fake) == dict.fromkeys(keys, 1)
