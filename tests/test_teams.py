"""The Teams app end to end over real HTTP: activities posted to `/api/messages` of the
running ASGI app (anonymous mode), the Agents SDK's connector calling a local stand-in
for the serviceUrl that records every call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot import scheduler
from bot.config import ConfigError, Settings, load
from bot.teams.app import TeamsBot
from bot.web import create_web_app
from handlers import payloads, roster, router
from handlers.common import notify
from storage import people
from storage import teams as teams_store
from storage.models import AuditEntry, Notification, PostedMessage, Request, TeamsConversation
from tests.conftest import consultation
from tests.helpers import count, state
from tests.live_server import serving
from tests.teams_fake import FakeConnector, execute, message
from tests.test_teams_cards import valid

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

    def click(self, aad: str | None, data: dict[str, Any], conversation: str) -> dict[str, Any]:
        response = self.post(execute(self.fake.url, aad, data, conversation))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["statusCode"] == 200
        if body["type"] == "application/vnd.microsoft.card.adaptive":
            valid(body["value"])
        return body


def card_json(body: dict[str, Any]) -> str:
    return json.dumps(body["value"], ensure_ascii=False)


@pytest.fixture
def teams(ctx, cast) -> Iterator[Teams]:
    with ctx.db.transaction() as session:
        for aad, name in ((TANAKA, "田中 美咲"), (KEN, "熊本 県子")):
            people.link_identity(session, people.find(session, name)[0].id, "teams", aad)
    # The tests run on PostgreSQL too; the app under test uses `ctx`, not this URL.
    settings = Settings(
        database_url="sqlite:///unused.db", teams_anonymous=True, teams_approval_channel=CHANNEL
    )
    bot = TeamsBot(ctx, settings)
    with FakeConnector() as fake, serving(create_web_app(ctx, None, bot)) as base:
        yield Teams(base, fake, bot)


def test_message_answers_with_the_form_card(teams):
    response = teams.say(TANAKA, "相談")
    assert response.status_code == 202
    call = teams.fake.wait_for(lambda c: c.method == "POST")
    assert call.path.startswith(f"/v3/conversations/{DM_TANAKA}/activities/")
    card = valid(call.cards[0])
    ids = [n.get("id") for n in card["body"]]
    assert "description" in ids and "municipality" in ids
    assert card["actions"][0]["data"]["action"] == "request.submit"


def test_unknown_user_is_told_how_to_register(teams, ctx):
    assert teams.say("aad-stranger", "相談").status_code == 202
    call = teams.fake.wait_for(lambda c: c.method == "POST")
    assert "DX Desk にまだ登録されていません" in json.dumps(call.cards[0], ensure_ascii=False)
    with ctx.db.transaction() as session:
        audit = session.exec(AuditEntry.__table__.select()).all()
    assert any(a.target_type == "teams_user" and a.target_id == "aad-stranger" for a in audit)


def submit_request(teams: Teams, staff) -> int:
    data = {"action": "request.submit", "context": "", **consultation(staff)}
    body = teams.click(TANAKA, data, DM_TANAKA)
    assert "受付番号は相談-2026-001" in card_json(body)
    return 1


def test_submit_errors_on_the_card_then_approval_card_in_channel(teams, ctx, staff):
    bad = {"action": "request.submit", "context": "", **consultation(staff, description="")}
    body = teams.click(TANAKA, bad, DM_TANAKA)
    assert "「相談内容」を入力してください。" in card_json(body)
    assert count(ctx, Request) == 0

    request_id = submit_request(teams, staff)
    posted = teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{CHANNEL}/activities")
    card = valid(posted.cards[0])
    assert "相談-2026-001" in json.dumps(card, ensure_ascii=False)
    verbs = {a["verb"] for n in card["body"] if n["type"] == "ActionSet" for a in n["actions"]}
    assert "request.approve.form" in verbs
    with ctx.db.transaction() as session:
        remembered = session.exec(PostedMessage.__table__.select()).all()
    assert [(m.platform, m.target_id, m.channel) for m in remembered] == [
        ("teams", request_id, CHANNEL)
    ]


def test_approve_click_updates_the_card_in_place(teams, ctx, staff):
    request_id = submit_request(teams, staff)
    teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{CHANNEL}/activities")
    ref = payloads.encode(id=request_id)
    form = teams.click(KEN, {"action": "request.approve.form", "value": ref}, CHANNEL)
    consultants = next(n for n in form["value"]["body"] if n.get("id") == "consultants")
    submit = form["value"]["actions"][0]["data"]
    lead = consultants["choices"][0]["value"]

    teams.fake.reset()
    done = teams.click(KEN, {**submit, "consultants": lead}, CHANNEL)
    assert "熊本 県子" in card_json(done)  # who decided, shown in place
    assert "request.approve.form" not in card_json(done)  # decided: no decision buttons
    assert state(ctx, request_id) == "approved"
    update = teams.fake.wait_for(lambda c: c.method == "PUT")
    assert update.path.startswith(f"/v3/conversations/{CHANNEL}/activities/activity-")
    assert "熊本 県子" in json.dumps(update.cards[0], ensure_ascii=False)


def test_unauthorized_click_is_refused_and_the_card_kept(teams, ctx, staff):
    request_id = submit_request(teams, staff)
    ref = payloads.encode(id=request_id)
    body = teams.click(TANAKA, {"action": "request.approve.form", "value": ref}, CHANNEL)
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert state(ctx, request_id) != "approved"
    with ctx.db.transaction() as session:
        audit = session.exec(AuditEntry.__table__.select()).all()
    assert any(a.outcome == "refused" for a in audit)


def test_tokens_are_required_outside_anonymous_mode(ctx):
    settings = Settings(
        teams_app_id="app-id", teams_app_password="secret", teams_tenant_id="tenant-1"
    )
    with (
        FakeConnector() as fake,
        serving(create_web_app(ctx, None, TeamsBot(ctx, settings))) as base,
    ):
        body = message(fake.url, TANAKA, "相談", DM_TANAKA)
        url = f"{base}/api/messages"
        assert httpx.post(url, json=body).status_code == 401
        forged = {"Authorization": "Bearer not.a.token"}
        assert httpx.post(url, json=body, headers=forged).status_code == 401
        assert httpx.post(url, json=body, headers={"Authorization": "Basic x"}).status_code == 401
    assert fake.calls == []


def test_anonymous_mode_is_refused_with_production_settings(monkeypatch):
    monkeypatch.setenv("DXDESK_TEAMS_ANONYMOUS", "1")
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "secret")
    with pytest.raises(ConfigError, match="DXDESK_TEAMS_ANONYMOUS"):
        load()
    monkeypatch.delenv("TEAMS_APP_PASSWORD")
    monkeypatch.setenv("DATABASE_URL", "postgresql://dx@db/dxdesk")
    with pytest.raises(ConfigError, match="PostgreSQL"):
        load()
    monkeypatch.delenv("DXDESK_TEAMS_ANONYMOUS")
    monkeypatch.setenv("TEAMS_APP_ID", "app-id")
    with pytest.raises(ConfigError, match="TEAMS_APP_PASSWORD"):
        load()


# -- conversation references and proactive delivery ------------------------------------


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


def test_every_activity_refreshes_the_conversation_references(teams, ctx, staff):
    assert teams.say("aad-stranger", "相談").status_code == 202
    assert references(ctx) == {}
    tanaka = person_id(ctx, "田中 美咲")
    assert teams.say(TANAKA, "相談").status_code == 202
    ref = references(ctx)[("personal", str(tanaka))]
    assert (ref.conversation_id, ref.service_url, ref.tenant_id, ref.user_id) == (
        DM_TANAKA,
        teams.fake.url,
        "tenant-1",
        "29:aad-tanaka",
    )
    submit_request(teams, staff)  # the approval card is posted: the channel is remembered
    teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{CHANNEL}/activities")
    assert references(ctx)[("channel", CHANNEL)].service_url == teams.fake.url
    # Ken speaks in the channel only: his address is known, not yet a 1:1 conversation
    teams.click(KEN, {"action": "help", "value": ""}, f"{CHANNEL};messageid=42")
    ken = references(ctx)[("personal", str(person_id(ctx, "熊本 県子")))]
    assert (ken.conversation_id, ken.user_id) == (None, "29:aad-ken")


def test_a_reminder_goes_out_through_the_stored_conversation(teams, ctx):
    tanaka = person_id(ctx, "田中 美咲")
    teams.say(TANAKA, "ヘルプ")
    teams.fake.wait_for(lambda c: c.method == "POST")
    teams.fake.reset()
    queue(ctx, tanaka)
    assert teams.bot.deliver() == 1
    call = teams.fake.wait_for(lambda c: c.method == "POST")
    assert call.path == f"/v3/conversations/{DM_TANAKA}/activities"
    assert "相談-2026-042" in json.dumps(valid(call.cards[0]), ensure_ascii=False)
    assert statuses(ctx) == {f"reminder.test:1:{tanaka}": "sent"}
    assert teams.bot.deliver() == 0


def test_someone_seen_only_in_a_channel_gets_a_new_chat(teams, ctx):
    ken = person_id(ctx, "熊本 県子")
    teams.click(KEN, {"action": "help", "value": ""}, CHANNEL)
    teams.fake.reset()
    queue(ctx, ken)
    assert teams.bot.deliver() == 1
    create = teams.fake.wait_for(lambda c: c.path == "/v3/conversations")
    assert create.body["members"] == [{"id": "29:aad-ken"}]
    assert create.body["tenantId"] == "tenant-1"
    sent = teams.fake.wait_for(lambda c: "/activities" in c.path)
    conversation = sent.path.split("/")[3]
    assert references(ctx)[("personal", str(ken))].conversation_id == conversation


def test_no_conversation_yet_or_a_failed_send_goes_back_to_the_queue(teams, ctx):
    tanaka = person_id(ctx, "田中 美咲")
    queue(ctx, tanaka)
    assert teams.bot.deliver() == 0  # linked, but has never written to the bot
    assert statuses(ctx) == {f"reminder.test:1:{tanaka}": "pending"}
    with ctx.db.transaction() as session:
        teams_store.remember_personal(
            session,
            tanaka,
            service_url="http://127.0.0.1:9/",  # nothing listens there
            now=ctx.clock.now(),
            conversation_id=DM_TANAKA,
        )
    queue(ctx, tanaka, key="reminder.test:2")
    assert teams.bot.deliver() == 0
    with ctx.db.transaction() as session:
        rows = session.exec(select(Notification)).all()
    assert {r.status for r in rows} == {"pending"}
    assert all(r.attempts == 1 for r in rows)


def test_the_requester_is_told_of_the_approval(teams, ctx, staff):
    test_approve_click_updates_the_card_in_place(teams, ctx, staff)
    teams.fake.reset()
    assert teams.bot.deliver() >= 1
    told = teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{DM_TANAKA}/activities")
    assert "相談-2026-001" in json.dumps(told.cards[0], ensure_ascii=False)
    assert statuses(ctx)[f"request.approved:1:{person_id(ctx, '田中 美咲')}"] == "sent"


def test_one_person_on_slack_and_teams_sees_the_same_requests(teams, ctx, staff):
    tanaka = person_id(ctx, "田中 美咲")
    with ctx.db.transaction() as session:
        people.link_identity(session, tanaka, "slack", "U-TANAKA")
    submit_request(teams, staff)  # entered on Teams
    on_slack = roster.identify(ctx, "slack", "U-TANAKA")
    on_teams = roster.identify(ctx, "teams", TANAKA)
    assert on_slack is not None and on_teams is not None and on_slack.id == on_teams.id
    slack_list = router.press(ctx, on_slack, "request.list").plain_text()
    assert "相談-2026-001" in slack_list
    teams.fake.reset()
    teams.say(TANAKA, "状況")
    call = teams.fake.wait_for(lambda c: c.method == "POST")
    card = json.dumps(valid(call.cards[0]), ensure_ascii=False)
    request_list = router.press(ctx, on_teams, "request.list")
    assert request_list.plain_text() == slack_list
    for item in request_list.blocks[0].items:  # every row Slack lists is on the card
        assert item.title in card


def test_the_scheduler_runs_the_teams_deliverer(teams, ctx):
    settings = Settings(database_url="sqlite:///unused.db", teams_anonymous=True)
    for shared, expected in ((True, {"tick", "teams"}), (False, {"teams"})):
        clock = scheduler.start(ctx, settings, None, teams.bot, shared=shared)
        try:
            assert {job.id for job in clock.get_jobs()} == expected
        finally:
            clock.shutdown(wait=True)
