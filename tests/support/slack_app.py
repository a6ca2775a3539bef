"""The Slack app end to end over real HTTP (the `slack` fixture, loaded by conftest):
signed requests into the running ASGI app, the real slack_sdk calling a local fake Web API
that records every call, and the helpers that fill its forms."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.runtime.web import create_web_app
from bot.slack.app import SlackBot
from storage import people
from storage.models import Request
from tests.support.slack_fake import (
    FakeSlackAPI,
    block_action,
    signed_headers,
    slash_command,
    view_submission,
)

SECRET = "test-signing-secret"


CHANNEL = "CAPPROVE"


USERS = {
    "U_TANAKA": "田中 美咲",
    "U_KEN": "熊本 県子",
    "U_ASO": "阿蘇 一郎",
    "U_TAKAHASHI": "高橋 誠",
    "U_MATSUMOTO": "松本 大輔",
}


class Slack:
    """The running app, the fake Web API and helpers to talk to them."""

    def __init__(self, base: str, fake: FakeSlackAPI, bot: SlackBot) -> None:
        self.base, self.fake, self.bot = base, fake, bot
        self.http = httpx.Client(timeout=10)

    def post(self, body: str, **header_options: Any) -> httpx.Response:
        content_type = (
            "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
        )
        headers = signed_headers(SECRET, body, content_type=content_type, **header_options)
        return self.http.post(f"{self.base}/slack/events", content=body, headers=headers)

    def command(self, user: str, text: str = "") -> httpx.Response:
        return self.post(
            slash_command(text, user_id=user, response_url=f"{self.fake.base}/response/cmd")
        )

    def click(self, user: str, action_id: str, value: str, **options: Any) -> httpx.Response:
        return self.post(
            block_action(
                action_id,
                value,
                user_id=user,
                response_url=f"{self.fake.base}/response/click",
                **options,
            )
        )

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> httpx.Response:
        state_values = {name: {"value": element} for name, element in values.items()}
        return self.post(
            view_submission(
                "dx_form", state_values, user_id=user, private_metadata=view["private_metadata"]
            )
        )

    def until(self, method: str, predicate: Any, timeout: float = 5.0) -> Any:
        """The first call of `method` that satisfies `predicate`, waiting for it: the app
        sends DMs and card updates after acknowledging, from worker threads."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.fake.calls_to(method):
                if predicate(call):
                    return call
            time.sleep(0.02)
        seen = [(c.method, c.params.get("channel")) for c in self.fake.calls]
        raise AssertionError(f"no matching {method}; seen {seen}")

    def opened_view(self, index: int = -1) -> dict[str, Any]:
        calls = self.fake.wait_for("views.open", count=1)
        return calls[index].params["view"]


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def select(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def blocks_text(call: Any) -> str:
    return json.dumps(call.params.get("blocks") or call.params.get("view"), ensure_ascii=False)


@pytest.fixture
def slack(ctx, cast, web_server) -> Iterator[Slack]:
    with ctx.db.transaction() as session:
        emails = {}
        for user_id, name in USERS.items():
            person = people.find(session, name)[0]
            if user_id == "U_MATSUMOTO":
                emails[user_id] = person.email  # linked on first contact by e-mail
            else:
                people.link_identity(session, person.id, "slack", user_id)
    with FakeSlackAPI(emails=emails) as fake:
        settings = Settings(
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_url=fake.url,
            slack_approval_channel=CHANNEL,
        )
        bot = SlackBot(ctx, settings)
        with web_server.mounted(create_web_app(ctx, bot)) as base:
            slack = Slack(base, fake, bot)
            yield slack
            slack.http.close()
            # No job of this test may still be writing when the next test's fixture
            # empties the database (on PostgreSQL its TRUNCATE and a late job deadlock).
            bot.jobs.drain()
            bot.jobs.shutdown()


def consultation_values(slack: Slack, ctx) -> dict[str, Any]:
    view = slack.opened_view()
    municipality = next(b for b in view["blocks"] if b.get("block_id") == "municipality")
    return {
        "municipality": select(municipality["element"]["initial_option"]["value"]),
        "department": text("市民課"),
        "requester_title": text("主査"),
        "requester_name": text("田中 美咲"),
        "topic": select("online_application"),
        "description": text("電子申請の進め方を相談したい"),
        "mode": select("visit"),
        "preferred_dates": text("2026-07-15"),
    }


def new_request(slack: Slack, ctx) -> int:
    slack.fake.reset()
    assert slack.command("U_TANAKA").status_code == 200
    values = consultation_values(slack, ctx)
    response = slack.submit("U_TANAKA", slack.opened_view(), values)
    assert response.status_code == 200 and not response.content
    card = slack.fake.wait_for("chat.postMessage", count=2)
    assert any(c.params["channel"] == CHANNEL for c in card)
    with ctx.db.transaction() as session:
        request_id = max(r.id for r in session.exec(Request.__table__.select()))
    deadline = time.monotonic() + 5
    while not card_ts(slack, ctx, request_id):  # the card is remembered after posting
        assert time.monotonic() < deadline
        time.sleep(0.02)
    slack.bot.jobs.drain()  # the DMs that follow the card, too: start each test quiet
    return request_id


def card_ts(slack: Slack, ctx, request_id: int = 1) -> str:
    from storage import messages

    with ctx.db.transaction() as session:
        posted = messages.find(session, platform="slack", purpose="approval", target_id=request_id)
        return posted.message_id if posted else ""
