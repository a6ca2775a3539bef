"""The Teams app end to end over real HTTP in anonymous mode (the `teams` fixture, loaded
by conftest), and what the Teams tests read back: conversation references, notices and
their states."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.config import Settings
from bot.runtime.web import create_web_app
from bot.teams.app import TeamsBot
from handlers.core.lookups import notify
from storage import people
from storage.models import (
    Notification,
    TeamsConversation,
)
from tests.support.card_schema import valid
from tests.support.teams_fake import FakeConnector, execute, message

CHANNEL = "19:approvals@thread.tacv2"


TANAKA, KEN = "aad-tanaka", "aad-ken"


DM_TANAKA, DM_KEN = "a:dm-tanaka", "a:dm-ken"


class Teams:
    def __init__(self, base: str, fake: FakeConnector, bot: TeamsBot) -> None:
        self.base, self.fake, self.bot = base, fake, bot
        self.http = httpx.Client(timeout=10)

    def post(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        return self.http.post(f"{self.base}/api/messages", json=body, headers=headers)

    def say(self, aad: str | None, text: str, conversation: str = DM_TANAKA) -> httpx.Response:
        return self.post(message(self.fake.url, aad, text, conversation))

    def click(
        self, aad: str | None, data: dict[str, Any], conversation: str, trigger: str = "manual"
    ) -> dict[str, Any]:
        response = self.post(execute(self.fake.url, aad, data, conversation, trigger))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["statusCode"] == 200
        if body["type"] == "application/vnd.microsoft.card.adaptive":
            valid(body["value"])
        return body


def card_json(body: dict[str, Any]) -> str:
    return json.dumps(body["value"], ensure_ascii=False)


@pytest.fixture
def teams(ctx, cast, web_server) -> Iterator[Teams]:
    with ctx.db.transaction() as session:
        for aad, name in ((TANAKA, "田中 美咲"), (KEN, "熊本 県子")):
            people.link_identity(session, people.find(session, name)[0].id, "teams", aad)
    # The tests run on PostgreSQL too; the app under test uses `ctx`, not this URL.
    settings = Settings(
        database_url="sqlite:///unused.db", teams_anonymous=True, teams_approval_channel=CHANNEL
    )
    bot = TeamsBot(ctx, settings)
    with FakeConnector() as fake, web_server.mounted(create_web_app(ctx, None, bot)) as base:
        teams = Teams(base, fake, bot)
        yield teams
        teams.http.close()


def references(ctx) -> dict[tuple[str, str], TeamsConversation]:
    with ctx.db.transaction() as session:
        rows = session.exec(select(TeamsConversation)).all()
    return {(r.kind, str(r.person_id or r.channel_id)): r for r in rows}


def person_id(ctx, name: str) -> int:
    with ctx.db.transaction() as session:
        return people.find(session, name)[0].id or 0


def queue(ctx, person: int, key: str = "reminder.test:1") -> None:
    with ctx.db.transaction() as session:
        notify(
            session,
            key=key,
            person_ids=[person],
            message="notice.approved.consultation",
            params={"number": "相談-2026-042"},
            now=ctx.clock.now(),
        )


def statuses(ctx) -> dict[str, str]:
    with ctx.db.transaction() as session:
        return {n.key: n.status for n in session.exec(select(Notification)).all()}
