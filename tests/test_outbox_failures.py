"""Failures classified and nothing lost (issue #15, item 2): transient Slack failures come
back with a back-off, permanent ones fail the row at once — payload kept, the admins told
once per reason — and `python -m bot outbox` lists and resends them; the "already
posted?" check looks back by time and, when it cannot look, resends with the 再送 mark."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from bot.cli.main import main
from bot.config import Settings
from bot.delivery.sending import Outcome
from bot.slack.app import HISTORY_SKEW, SlackBot
from bot.teams.app import TeamsBot
from bot.teams.proactive import outcome_of
from handlers.core.i18n import t
from handlers.core.lookups import notify
from handlers.notifications import clockwork, notices
from storage import outbox, people
from storage import teams as teams_store
from storage.models import Audience, AuditEntry, Notification
from tests.support.slack_fake import FakeSlackAPI, manifest_scopes

CHANNEL = "CPREF"


@pytest.fixture
def fake(ctx):
    with FakeSlackAPI(clock=lambda: ctx.clock.now().timestamp()) as api:
        yield api


def bot_for(ctx, fake: FakeSlackAPI) -> SlackBot:
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_api_url=fake.url,
        slack_approval_channel=CHANNEL,
    )
    return SlackBot(ctx, settings)


def channel_notices(ctx, how_many: int) -> list[str]:
    """Notices for the prefecture's channel (the digest, escalations), due now."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        for n in range(how_many):
            outbox.enqueue(
                session,
                key=f"test.channel:{n}",
                kind="test.channel",
                payload={
                    "message": "notice.assigned",
                    "params": {"number": f"相談-2026-{n:03d}", "municipality": "宇土市"},
                },
                due_at=now,
                now=now,
                audience=Audience.PREFECTURE,
            )
    return [f"test.channel:{n}" for n in range(how_many)]


def rows(ctx, prefix: str = "test.") -> list[Notification]:
    with ctx.db.transaction() as session:
        return [
            n
            for n in session.exec(select(Notification).order_by(Notification.id))
            if n.key.startswith(prefix)
        ]


def posted(fake: FakeSlackAPI, prefix: str = "test.") -> Counter[str]:
    return Counter(
        message["metadata"]["event_payload"]["key"]
        for messages in fake.history.values()
        for message in messages
        if (message.get("metadata") or {})
        .get("event_payload", {})
        .get("key", "")
        .startswith(prefix)
    )


def link_admin(ctx, cast) -> int:
    admin = cast["管理 太郎"]
    with ctx.db.transaction() as session:
        people.link_identity(session, admin.id, "slack", "U_ADMIN")
    return admin.id


@pytest.mark.parametrize(
    ("reason", "setup"),
    [
        ("not_in_channel", lambda fake: fake.channel_errors.update({CHANNEL: "not_in_channel"})),
        (
            "channel_not_found",
            lambda fake: fake.channel_errors.update({CHANNEL: "channel_not_found"}),
        ),
        ("missing_scope", lambda fake: setattr(fake, "scopes", frozenset({"im:write"}))),
    ],
)
def test_a_permanent_failure_fails_the_row_at_once_and_keeps_its_payload(
    ctx, cast, fake, reason, setup
):
    keys = channel_notices(ctx, 3)
    setup(fake)
    bot = bot_for(ctx, fake)
    assert bot.deliver() == 0
    failed = rows(ctx)
    assert [(r.status, r.attempts) for r in failed] == [("failed", 1)] * 3
    assert failed[0].payload["params"]["number"] == "相談-2026-000"  # kept for the resend
    calls = len(fake.calls_to("chat.postMessage"))
    ctx.clock.advance(hours=1)
    bot.deliver()
    assert len(fake.calls_to("chat.postMessage")) - calls <= 1  # only the admins' notice
    assert [r.status for r in rows(ctx)] == ["failed"] * 3  # not retried in a loop
    with ctx.db.transaction() as session:
        reasons = outbox.failures(session)
    assert {f.notification.key: f.reason for f in reasons if f.notification.key in keys} == {
        key: reason for key in keys
    }


def test_the_admins_are_told_once_per_reason_in_japanese(ctx, cast, fake):
    admin = link_admin(ctx, cast)
    channel_notices(ctx, 4)
    fake.channel_errors[CHANNEL] = "not_in_channel"
    bot_for(ctx, fake).deliver()
    told = rows(ctx, notices.FAILED_KIND)
    assert [(r.person_id, r.status) for r in told] == [(admin, "sent")]  # one, not four
    (message,) = [
        m
        for m in fake.history["DU_ADMIN"]
        if m["metadata"]["event_payload"]["key"].startswith(notices.FAILED_KIND)
    ]
    assert "not_in_channel" in message["text"]
    assert t("ja", "outbox.reason.not_in_channel") in message["text"]
    assert "python -m bot outbox resend --all" in message["text"]
    with ctx.db.transaction() as session:  # more rows failing for the same reason: no notice
        for n in range(3):
            outbox.enqueue(
                session,
                key=f"test.later:{n}",
                kind="test.later",
                payload={
                    "message": "notice.assigned",
                    "params": {"number": "x", "municipality": "y"},
                },
                due_at=ctx.clock.now(),
                now=ctx.clock.now(),
                audience=Audience.PREFECTURE,
            )
    bot_for(ctx, fake).deliver()
    assert len(rows(ctx, notices.FAILED_KIND)) == 1


def test_without_admins_the_channel_is_told(ctx, fake):
    channel_notices(ctx, 2)
    fake.fail_next("chat.postMessage", 200, error="invalid_auth", times=2)
    bot_for(ctx, fake).deliver()
    (told,) = rows(ctx, notices.FAILED_KIND)
    assert told.audience == Audience.PREFECTURE
    assert told.payload["params"]["hint"] == "outbox.reason.invalid_auth"


def test_a_server_error_is_retried_with_a_back_off_not_failed(ctx, cast, fake):
    """Not retried inside the call (a 5xx post may have gone out): the row comes back
    after its back-off and looks before posting again."""
    channel_notices(ctx, 1)
    fake.fail_next("chat.postMessage", 500)
    bot = bot_for(ctx, fake)
    assert bot.deliver() == 0
    assert len(fake.calls_to("chat.postMessage")) == 1  # no sleeping retry in the sender
    (row,) = rows(ctx)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.due_at >= ctx.clock.now() + outbox.RETRY_AFTER
    ctx.clock.advance(seconds=outbox.RETRY_AFTER.total_seconds() + 1)
    assert bot.deliver() == 1
    assert posted(fake) == {"test.channel:0": 1}
    assert len(fake.calls_to("conversations.history")) == 1  # looked first


def test_a_rate_limit_waits_its_retry_after_without_using_an_attempt(ctx, cast, fake):
    keys = channel_notices(ctx, 3)
    fake.fail_next("chat.postMessage", 429, retry_after=600)
    bot = bot_for(ctx, fake)
    assert bot.deliver() == 2  # the sender went on with the others, without sleeping
    first = rows(ctx)[0]
    assert (first.status, first.attempts, first.lease_until) == ("pending", 0, None)
    assert first.due_at == ctx.clock.now() + timedelta(seconds=600)
    ctx.clock.advance(seconds=599)
    assert bot.deliver() == 0
    ctx.clock.advance(seconds=2)
    assert bot.deliver() == 1
    assert posted(fake) == dict.fromkeys(keys, 1)
    assert fake.calls_to("conversations.history") == []  # a 429 sent nothing: no look-up


def test_rate_limits_never_fail_a_notice(ctx, cast, fake):
    channel_notices(ctx, 1)
    bot = bot_for(ctx, fake)
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        fake.fail_next("chat.postMessage", 429, retry_after=30)
        assert bot.deliver() == 0
        ctx.clock.advance(seconds=31)
    assert [r.status for r in rows(ctx)] == ["pending"]
    assert bot.deliver() == 1


@pytest.mark.parametrize(
    ("status", "times", "retry_after"),
    [(503, 3, None), (429, 1, 60)],  # a 5xx is asked again twice at once, then waits
)
def test_a_busy_history_look_up_waits_instead_of_resending(ctx, fake, status, times, retry_after):
    """A 429 or 5xx while looking is not "cannot look": no 再送 copy, the row waits."""
    (key,) = channel_notices(ctx, 1)
    bot = bot_for(ctx, fake)
    (claimed,) = notices.claim(ctx, "slack", audiences=(Audience.PREFECTURE,))
    bot.post(
        CHANNEL,
        claimed.reply,
        metadata={"event_type": "dxdesk_notice", "event_payload": {"key": key}},
    )
    ctx.clock.advance(seconds=outbox.LEASE.total_seconds() + 1)  # … and the sender died
    fake.fail_next("conversations.history", status, retry_after=retry_after, times=times)
    assert bot.deliver() == 0
    assert len(fake.calls_to("conversations.history")) == times
    assert [r.status for r in rows(ctx)] == ["pending"]
    ctx.clock.advance(seconds=outbox.RETRY_AFTER.total_seconds() * 2 + 1)
    assert bot.deliver() == 1
    assert posted(fake) == {key: 1}


def test_transient_failures_fail_only_after_the_last_attempt_with_their_reason(ctx, fake):
    channel_notices(ctx, 1)
    bot = bot_for(ctx, fake)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        fake.fail_next("chat.postMessage", 500)
        bot.deliver()
        (row,) = rows(ctx)
        assert row.attempts == attempt
        ctx.clock.advance(minutes=40)  # past the back-off, still within office hours
    assert row.status == "failed"
    with ctx.db.transaction() as session:
        (failure,) = [f for f in outbox.failures(session) if f.notification.key.startswith("test.")]
    assert failure.reason == "fatal_error"


def test_the_outbox_command_lists_and_resends_after_the_fix(ctx, cast, fake, capsys, monkeypatch):
    keys = channel_notices(ctx, 2)
    fake.channel_errors[CHANNEL] = "not_in_channel"
    bot = bot_for(ctx, fake)
    bot.deliver()
    monkeypatch.setenv("DATABASE_URL", ctx.db.url)
    monkeypatch.setenv("DXDESK_LANGUAGE", "ja")
    assert main(["outbox"]) == 0
    out = capsys.readouterr().out
    for heading in ("キー", "種類", "宛先", "理由", "日時"):
        assert heading in out
    assert "県のチャンネル" in out and "not_in_channel" in out
    assert all(key in out for key in keys)
    assert main(["outbox", "resend"]) == 2  # neither --all nor ids
    assert "--all" in capsys.readouterr().err
    first = rows(ctx)[0].id
    assert main(["outbox", "resend", str(first), "999999"]) == 1  # one unknown id
    captured = capsys.readouterr()
    assert "1 件" in captured.out and "999999" in captured.err
    assert main(["outbox", "resend", "--all"]) == 0
    assert [(r.status, r.attempts) for r in rows(ctx)] == [("pending", 0)] * 2
    del fake.channel_errors[CHANNEL]  # the bot was invited
    ctx.clock.advance(minutes=1)
    assert bot.deliver() >= 2
    assert posted(fake) == dict.fromkeys(keys, 1)
    assert main(["outbox"]) == 0
    assert "送れなかった通知" in capsys.readouterr().out


def test_a_reaped_notice_is_found_by_time_in_a_busy_channel(ctx, fake):
    """Posted, then the sender died; 250 other messages followed in the channel (more
    than one page, more than the old fixed 100): the look-back still finds it."""
    (key,) = channel_notices(ctx, 1)
    bot = bot_for(ctx, fake)
    (claimed,) = notices.claim(ctx, "slack", audiences=(Audience.PREFECTURE,))
    bot.post(
        CHANNEL,
        claimed.reply,
        metadata={"event_type": "dxdesk_notice", "event_payload": {"key": key}},
    )
    for n in range(250):
        ctx.clock.advance(seconds=1)
        bot.client.chat_postMessage(channel=CHANNEL, text=f"busy {n}")
    ctx.clock.advance(seconds=outbox.LEASE.total_seconds() + 1)
    bot.deliver()
    assert posted(fake) == {key: 1}
    (row,) = rows(ctx)
    assert row.status == "sent"
    looks = fake.calls_to("conversations.history")
    assert len(looks) >= 2  # paged
    queued = rows(ctx)[0].created_at
    assert float(looks[0].params["oldest"]) == pytest.approx((queued - HISTORY_SKEW).timestamp())


@pytest.mark.parametrize(
    "blind",
    [
        lambda fake: setattr(fake, "scopes", manifest_scopes() - {"channels:history"}),
        lambda fake: fake.fail_next("conversations.history", 200, error="internal_error"),
    ],
)
def test_when_it_cannot_look_the_notice_is_resent_with_a_mark(ctx, fake, blind):
    channel_notices(ctx, 1)
    bot = bot_for(ctx, fake)
    notices.claim(ctx, "slack", audiences=(Audience.PREFECTURE,))  # … and the sender died
    ctx.clock.advance(seconds=outbox.LEASE.total_seconds() + 1)
    blind(fake)
    assert bot.deliver() == 1
    (row,) = rows(ctx)
    assert row.status == "sent"
    (message,) = fake.history[CHANNEL]
    assert message["text"].startswith(t("ja", "notice.resent"))
    assert "再送" in message["text"]


def test_a_dead_senders_rows_are_taken_over_at_lease_end_without_the_reaper(ctx, fake):
    keys = channel_notices(ctx, 3)
    notices.claim(ctx, "slack", audiences=(Audience.PREFECTURE,))
    bot = bot_for(ctx, fake)
    assert bot.deliver() == 0  # still leased
    ctx.clock.advance(seconds=outbox.LEASE.total_seconds() + 1)
    assert bot.deliver() == 3  # no tick in between
    assert posted(fake) == dict.fromkeys(keys, 1)
    assert clockwork.tick(ctx)["reaped"] == 0


def test_the_failure_is_audited(ctx, fake):
    channel_notices(ctx, 1)
    fake.channel_errors[CHANNEL] = "is_archived"
    bot_for(ctx, fake).deliver()
    (row,) = rows(ctx)
    (told,) = rows(ctx, notices.FAILED_KIND)  # to the channel too (no admin): failed as well
    with ctx.db.transaction() as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.action == outbox.FAILED_ACTION)
        ).all()
    assert [(e.target_id, e.detail) for e in entries] == [
        (str(row.id), "is_archived"),
        (str(told.id), "is_archived"),
    ]


def test_notices_failed_before_reasons_were_kept_are_listed_with_a_dash(ctx):
    channel_notices(ctx, 1)
    with ctx.db.transaction() as session:
        (row,) = [n for n in session.exec(select(Notification)) if n.key.startswith("test.")]
        row.status = "failed"
        session.add(row)
    with ctx.db.transaction() as session:
        (failure,) = outbox.failures(session)
    assert (failure.reason, failure.at) == ("-", None)


# -- Teams: the connector's answers classified the same way -------------------------------


class Connector:
    """A Bot Connector that answers every call with `status` (and a Retry-After when
    given), counting the calls."""

    def __init__(self) -> None:
        self.status, self.retry_after, self.calls = 200, None, 0
        connector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                connector.calls += 1
                body = json.dumps({"id": "activity-1"}).encode()
                self.send_response(connector.status)
                if connector.retry_after is not None:
                    self.send_header("Retry-After", str(connector.retry_after))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def connector():
    server = Connector()
    yield server
    server.close()


def teams_notice(ctx, cast, connector: Connector) -> TeamsBot:
    """田中 reachable on Teams through `connector`, one notice queued for her."""
    tanaka = cast["田中 美咲"].id
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        people.link_identity(session, tanaka, "teams", "aad-tanaka")
        teams_store.remember_personal(
            session, tanaka, service_url=connector.url, now=now, conversation_id="a:dm-tanaka"
        )
        notify(
            session,
            key="test.teams:1",
            person_ids=[tanaka],
            message="notice.approved.consultation",
            params={"number": "相談-2026-042"},
            now=now,
        )
    return TeamsBot(ctx, Settings(database_url="sqlite:///unused.db", teams_anonymous=True))


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (403, "bot_blocked"),
        (404, "conversation_not_found"),
        (401, "invalid_app_credentials"),
    ],
)
def test_a_teams_conversation_gone_or_blocked_fails_at_once_and_is_told(
    ctx, cast, connector, status, reason
):
    admin = link_admin(ctx, cast)
    connector.status = status
    bot = teams_notice(ctx, cast, connector)
    assert bot.deliver() == 0
    (row,) = rows(ctx, "test.teams")
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.payload["params"]["number"] == "相談-2026-042"  # kept for the resend
    with ctx.db.transaction() as session:
        (failure,) = [f for f in outbox.failures(session) if f.notification.id == row.id]
    assert failure.reason == reason
    (told,) = rows(ctx, notices.FAILED_KIND)
    assert told.person_id == admin
    assert told.payload["params"] == {
        "reason": reason,
        "platform": "teams",
        "hint": f"outbox.reason.{reason}",
    }
    assert "Teams" in t("ja", f"outbox.reason.{reason}")
    calls = connector.calls
    ctx.clock.advance(hours=1)
    bot.deliver()
    assert connector.calls == calls  # not retried in a loop


def test_a_teams_rate_limit_waits_its_retry_after_and_a_5xx_backs_off(ctx, cast, connector):
    connector.status, connector.retry_after = 429, 120
    bot = teams_notice(ctx, cast, connector)
    assert bot.deliver() == 0
    (row,) = rows(ctx, "test.teams")
    assert (row.status, row.attempts) == ("pending", 0)  # not an attempt
    assert row.due_at == ctx.clock.now() + timedelta(seconds=120)
    connector.status, connector.retry_after = 503, None
    ctx.clock.advance(seconds=121)
    assert bot.deliver() == 0
    (row,) = rows(ctx, "test.teams")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.due_at == ctx.clock.now() + outbox.RETRY_AFTER
    connector.status = 200
    ctx.clock.advance(seconds=outbox.RETRY_AFTER.total_seconds() + 1)
    assert bot.deliver() == 1
    assert [r.status for r in rows(ctx, "test.teams")] == ["sent"]


def test_an_app_password_entra_id_refuses_is_permanent():
    refused = ValueError("Failed to acquire token. {'error': 'invalid_client', 'x': 1}")
    assert outcome_of(refused) == Outcome(False, None, "invalid_app_credentials", permanent=True)
    assert outcome_of(TimeoutError()) == Outcome(False, None, "TimeoutError")
