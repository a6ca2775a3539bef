"""No secrets in logs: one full local run — `serve`'s web app with Slack and Teams (its
production auth path) on local fakes, uvicorn's access log on, every logger at DEBUG —
polls calendar feeds, answers commands on both platforms, takes a Teams token, and
fails a send with a traceback; then ALL the log output is searched for every token and
secret the run used: the Slack bot token and signing secret, the Teams app password,
the bearer tokens in and out, and the calendar feed tokens."""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from bot.config import Settings
from bot.runtime.web import create_web_app
from bot.slack.app import SlackBot
from bot.teams.app import TeamsBot
from storage import people
from tests.support.slack_fake import FakeSlackAPI, signed_headers, slash_command
from tests.support.teams_app import TANAKA
from tests.support.teams_auth import APP_ID, BOT_FRAMEWORK_ISSUER, TENANT, LocalJwks
from tests.support.teams_auth import SECRET as TEAMS_PASSWORD
from tests.support.teams_fake import message

BOT_TOKEN = "xoxb-1111-2222-secretbottoken"
SIGNING_SECRET = "slack-signing-secret-do-not-log"
FEED = re.compile(r"/calendar/([A-Za-z0-9_-]{16,})\.ics")


class Everything(logging.Handler):
    """Every record of every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stream = io.StringIO()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.lock_:
            self.stream.write(self.format(record) + "\n")

    @property
    def text(self) -> str:
        with self.lock_:
            return self.stream.getvalue()


@pytest.fixture
def logs() -> Iterator[Everything]:
    """DEBUG everywhere for the test, uvicorn's own (non-propagating) loggers included."""
    handler = Everything()
    names = ["", "uvicorn", "uvicorn.access", "uvicorn.error", "slack_sdk", "slack_bolt"]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@contextmanager
def serve(app: Any, logs: Everything) -> Iterator[str]:
    """uvicorn as `serve` runs it: its default logging configuration (which replaces
    the handlers of its own loggers: ours is added back), access log on."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="debug", lifespan="off")
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addHandler(logs)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_full_run_logs_no_token_or_secret(ctx, cast, servers, monkeypatch, logs):
    with ctx.db.transaction() as session:
        tanaka = people.find(session, "田中 美咲")[0]
        people.link_identity(session, tanaka.id, "slack", "U_TANAKA")
        people.link_identity(session, tanaka.id, "teams", TANAKA)
    servers.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", servers.authority.ca_file)
    used: set[str] = {BOT_TOKEN, SIGNING_SECRET, TEAMS_PASSWORD}
    with FakeSlackAPI() as fake:
        settings = Settings(
            database_url="sqlite:///unused.db",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.url,
            teams_app_id=APP_ID,
            teams_app_password=TEAMS_PASSWORD,
            teams_tenant_id=TENANT,
            teams_authority=servers.authority.authority,
        )
        slack, teams = SlackBot(ctx, settings), TeamsBot(ctx, settings)
        teams.validator._jwk_client_manager = LocalJwks(servers.jwks)
        with (
            serve(create_web_app(ctx, slack, teams), logs) as base,
            httpx.Client(timeout=10) as http,
        ):

            def command(text: str) -> httpx.Response:
                body = slash_command(
                    text, user_id="U_TANAKA", response_url=f"{fake.base}/response/r"
                )
                headers = signed_headers(SIGNING_SECRET, body)
                return http.post(f"{base}/slack/events", content=body, headers=headers)

            # Slack: the private calendar URL, then a poll of it (and of a revoked one)
            assert command("カレンダー").status_code == 200
            answer = str(fake.wait_for("response_url")[0].params)
            found = FEED.search(answer)
            assert found, answer
            token = found[1]
            used.add(token)
            assert http.get(f"{base}/calendar/{token}.ics").status_code == 200
            assert http.get(f"{base}/calendar/{'x' * 32}.ics").status_code == 404
            # a send that fails (Slack refuses the bot token) and leaves a traceback
            fake.fail_next("views.open", 200, error="invalid_auth")
            assert command("相談").status_code == 200
            fake.wait_for("views.open")
            slack.jobs.drain()
            # Teams: a signed activity in, a reply out with the MSAL token
            claims = {
                "iss": BOT_FRAMEWORK_ISSUER,
                "aud": APP_ID,
                "serviceurl": servers.connector.url,
                "nbf": int(time.time()) - 60,
                "exp": int(time.time()) + 3600,
            }
            inbound = servers.keys.genuine.sign(claims)
            used.add(inbound)
            body = message(servers.connector.url, TANAKA, "カレンダー", "a:dm")
            said = http.post(
                f"{base}/api/messages", json=body, headers={"Authorization": f"Bearer {inbound}"}
            )
            assert said.status_code == 202, said.text
            reply = servers.connector.wait_for(lambda c: c.method == "POST")
            used.update(servers.authority.tokens)
            assert reply.authorization == f"Bearer {servers.authority.tokens[0]}"
            teams_feed = FEED.search(str(reply.body))
            assert teams_feed is not None
            used.add(teams_feed[1])
            assert http.get(f"{base}/calendar/{teams_feed[1]}.ics").status_code == 200
            # a forged Teams token is refused (and logged as refused)
            forged = servers.keys.impostor.sign(claims)
            used.add(forged)
            headers = {"Authorization": f"Bearer {forged}"}
            assert http.post(f"{base}/api/messages", json=body, headers=headers).status_code == 401
            time.sleep(0.3)
        slack.jobs.shutdown()
    text = logs.text
    # the run was logged: requests, the failure with its traceback, the feed polls
    assert '"GET /calendar/***.ics HTTP/1.1" 200' in text
    assert '"GET /calendar/***.ics HTTP/1.1" 404' in text
    assert "invalid_auth" in text and "Traceback" in text
    assert "POST /api/messages" in text
    leaked = sorted(secret[:12] + "…" for secret in used if secret and secret in text)
    assert leaked == []
    for secret in used:  # not even a recognisable part of a long one
        assert len(secret) < 24 or secret[: len(secret) // 2] not in text
