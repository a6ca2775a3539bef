"""The whole service on one machine, no chat platform: the scheduler fires reminders into
the terminal inbox, `console --as NAME` shows it (unread count first, then read), invite
notices hand over their .ics and a feed URL, the prefecture's staff read its channel, and
`python -m bot serve` without credentials runs all that on a faster clock."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlmodel import select

from bot.config import Settings
from bot.console.chat import Console
from bot.console.inbox import TerminalInbox
from bot.runtime import scheduler
from handlers import router
from handlers.core.clock import TOKYO, ScaledClock
from handlers.core.context import Context
from handlers.notifications import clockwork
from handlers.scheduling import booking, feeds
from storage import calendar_tokens, outbox, people
from storage.models import Audience, InboxMessage, Notification, NotificationStatus

ROOT = Path(__file__).resolve().parents[1]


def office_day(ctx, cast) -> int:
    """高橋 誠's office day, Wednesday 8 July 09:00–13:00, booked on 1 July."""
    reply = booking.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "office_day",
            "date": "2026-07-08",
            "start": "09:00",
            "minutes": 240,
            "mode": "visit",
            "consultants": [str(cast["高橋 誠"].id)],
        },
    )
    assert reply.ok, reply.plain_text()
    return int(reply.data["session_id"])


def console(ctx, actor, *answers: str) -> str:
    script = iter(answers)
    out = io.StringIO()

    def ask(prompt: str) -> str:
        out.write(prompt)
        try:
            return next(script)
        except StopIteration:
            raise EOFError from None

    assert Console(ctx, actor, ask, out).run() == 0
    return out.getvalue()


def inbox_of(ctx, actor) -> list[InboxMessage]:
    with ctx.db.transaction() as session:
        rows = session.exec(select(InboxMessage).where(InboxMessage.person_id == actor.id)).all()
        return [InboxMessage.model_validate(r) for r in rows]


def test_the_local_scheduler_fires_a_reminder_into_a_console_inbox(ctx, cast, tmp_path):
    """The real APScheduler jobs, on a clock started just before the office day ends and
    running 600 times faster: within seconds the minutes are asked for in the inbox."""
    office_day(ctx, cast)
    taka = cast["高橋 誠"]
    fast = Context(ctx.db, ScaledClock(datetime(2026, 7, 8, 12, 58, tzinfo=TOKYO), 600), ctx.rules)
    running = scheduler.start(fast, Settings(), None, speed=600, files_dir=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not any("議事録の提出" in m.text for m in inbox_of(ctx, taka)):
            assert time.monotonic() < deadline, [m.text for m in inbox_of(ctx, taka)]
            time.sleep(0.2)
    finally:
        running.shutdown(wait=True)
    with ctx.db.transaction() as session:
        asked = session.exec(
            select(Notification).where(Notification.key.startswith("minutes.ask:"))
        ).one()
        assert asked.status == NotificationStatus.SENT and asked.person_id == taka.id

    unread = len(inbox_of(ctx, taka))
    shown = console(ctx, taka, "q")
    first = shown.splitlines()[1]  # after the welcome: the unread count
    assert first == f"■ 未読のお知らせ: {unread}件(「受信箱」と入力するといつでも一覧を表示します)"
    asking = "の県庁業務が終わりました。議事録の提出をお願いします。"
    assert "● 2026年7月8日(水) 13:" in shown and asking in shown
    assert "[1] 議事録を書く" in shown  # its buttons are offered, as in a chat
    again = console(ctx, taka, "q")
    assert "未読のお知らせ: 0件" in again and asking not in again  # read now
    listed = console(ctx, taka, "受信箱", "q")
    assert asking in listed and "● " not in listed  # listed on request, all read


def test_an_invite_in_the_inbox_gives_its_ics_path_and_a_feed_button(ctx, cast, tmp_path):
    office_day(ctx, cast)
    TerminalInbox(ctx, tmp_path).deliver()
    (invite,) = [m for m in inbox_of(ctx, cast["高橋 誠"]) if m.files]
    (path,) = invite.files
    assert Path(path).is_file() and Path(path).read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert Path(path).parent == (tmp_path / f"person-{cast['高橋 誠'].id}").resolve()
    assert f"カレンダーファイル(.ics): {path}" in invite.text
    assert "/calendar/" not in invite.text  # no live feed token stored in clear
    assert ["calendar.feed", "フィードを購読", ""] in [list(b) for b in invite.buttons]
    shown = router.press(ctx, cast["高橋 誠"], "calendar.feed")  # what the button does
    url = next(w for w in shown.plain_text().split() if "/calendar/" in w)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    with ctx.db.transaction() as session:
        assert calendar_tokens.person_for(session, token) == cast["高橋 誠"].id
    assert feeds.feed_for(ctx, token) is not None  # the URL serves their calendar


def test_only_people_without_a_chat_identity_get_the_terminal(ctx, cast, tmp_path):
    """Someone on Slack keeps getting their notices there; the channel's messages go to
    the terminal only when asked (no chat platform posts them)."""
    with ctx.db.transaction() as session:
        people.link_identity(session, cast["高橋 誠"].id, "slack", "U_TAKA")
        outbox.enqueue(
            session,
            key="test.channel:1",
            kind="test.channel",
            payload={"message": "notice.outbox_failed", "params": {}},
            due_at=ctx.clock.now(),
            now=ctx.clock.now(),
            audience=Audience.PREFECTURE,
        )
    office_day(ctx, cast)
    TerminalInbox(ctx, tmp_path).deliver()
    assert inbox_of(ctx, cast["高橋 誠"]) == []
    with ctx.db.transaction() as session:
        pending = session.exec(
            select(Notification).where(Notification.person_id == cast["高橋 誠"].id)
        ).all()
        assert pending and {n.status for n in pending} == {NotificationStatus.PENDING}
        channel = session.exec(select(Notification).where(Notification.key == "test.channel:1"))
        assert channel.one().status == NotificationStatus.PENDING

    TerminalInbox(ctx, tmp_path, channels=True).deliver()
    approver = console(ctx, cast["熊本 県子"], "q")  # prefecture staff read the channel
    assert "[県の承認チャンネル]" in approver
    municipal = console(ctx, cast["田中 美咲"], "q")
    assert "[県の承認チャンネル]" not in municipal


def test_delivering_a_row_twice_keeps_one_message(ctx, cast, tmp_path):
    """A sender that died after writing the message is retried: no second copy."""
    office_day(ctx, cast)
    inbox = TerminalInbox(ctx, tmp_path)
    inbox.deliver()
    first = inbox_of(ctx, cast["高橋 誠"])
    with ctx.db.transaction() as session:
        for message in first:
            row = session.get(Notification, message.notification_id)
            row.status = NotificationStatus.PENDING
            session.add(row)
    inbox.deliver()
    assert [m.id for m in inbox_of(ctx, cast["高橋 誠"])] == [m.id for m in first]


def test_tick_then_inbox_is_what_the_scheduler_does(ctx, cast, tmp_path):
    """The same without threads, step by step on the fake clock."""
    office_day(ctx, cast)
    inbox = TerminalInbox(ctx, tmp_path)
    inbox.deliver()
    before = len(inbox_of(ctx, cast["高橋 誠"]))
    ctx.clock.set(datetime(2026, 7, 8, 13, 10, tzinfo=TOKYO))
    clockwork.tick(ctx)
    assert inbox.deliver() == 1
    messages = inbox_of(ctx, cast["高橋 誠"])
    assert len(messages) == before + 1 and "議事録の提出" in messages[-1].text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_without_credentials_runs_the_local_service(tmp_path):
    """`python -m bot serve` with no Slack or Teams: it says so (and how to read the
    inbox), serves the web application, and refuses a clock option with a platform."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "TEAMS_", "DXDESK_"))
    }
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'local.db'}", PORT=str(port))
    env["DXDESK_LOG_LEVEL"] = "WARNING"
    run = [sys.executable, "-m", "bot"]
    assert subprocess.run([*run, "sample-data"], cwd=tmp_path, env=env).returncode == 0
    server = subprocess.Popen(
        [*run, "serve", "--clock", "2026-09-01T09:00", "--speed", "600"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = server.stderr.readline()
        assert "手元のサービス" in first and "console --as" in first, first
        assert "2026-09-01 09:00" in first and "600" in first
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)

    slack = {
        **env,
        "SLACK_BOT_TOKEN": "xoxb-x",
        "SLACK_SIGNING_SECRET": "s",
        "PYTHONPATH": str(ROOT),
    }
    refused = subprocess.run(
        [*run, "serve", "--speed", "10"], cwd=tmp_path, env=slack, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "--clock と --speed" in refused.stderr
