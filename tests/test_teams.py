"""The Teams app end to end over real HTTP: activities posted to `/api/messages` of the
running ASGI app (anonymous mode), the Agents SDK's connector calling a local stand-in
for the serviceUrl that records every call."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import httpx
import icalendar
import pytest
from sqlmodel import select

from bot.config import ConfigError, Settings, load
from bot.runtime import scheduler
from bot.runtime.web import create_web_app
from bot.teams.app import TeamsBot
from bot.teams.files import onedrive
from handlers import router
from handlers.core import payloads
from handlers.core.clock import TOKYO
from handlers.notifications import clockwork, notices
from handlers.people import roster
from storage import outbox, people
from storage import teams as teams_store
from storage.models import (
    Audience,
    AuditEntry,
    Notification,
    PostedMessage,
    Request,
    SupportSession,
)
from tests.support.bookings import book_consultation
from tests.support.card_schema import valid
from tests.support.factories import approve, consultation, count, state
from tests.support.live_server import serving
from tests.support.teams_app import (
    CHANNEL,
    DM_TANAKA,
    KEN,
    TANAKA,
    Teams,
    card_json,
    person_id,
    queue,
    references,
    statuses,
)
from tests.support.teams_fake import FakeConnector, activity, message


def verbs_of(card: dict[str, Any]) -> set[str]:
    return {a["verb"] for n in card["body"] if n["type"] == "ActionSet" for a in n["actions"]}


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
    # everyone in the channel sees the request; the decision buttons are the approvers'
    assert verbs_of(card) == {"request.card"}
    assert card["refresh"]["action"]["verb"] == "request.card"
    assert "userIds" not in card["refresh"]  # no approver has written to the bot yet
    view = teams.click(KEN, card["refresh"]["action"]["data"], CHANNEL)["value"]
    assert "request.approve.form" in verbs_of(view)
    assert view["refresh"]["userIds"] == ["29:aad-ken"]  # now Teams knows who Ken is
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
    every = {"teams", "teams_nudge"}
    for shared, expected in ((True, {"tick", *every}), (False, every)):
        clock = scheduler.start(ctx, settings, None, teams.bot, shared=shared)
        try:
            assert {job.id for job in clock.get_jobs()} == expected
        finally:
            clock.shutdown(wait=True)


# -- the approval channel, kept by the scheduler -----------------------------------------


def test_a_request_entered_elsewhere_gets_its_card_and_is_nudged_in_its_thread(teams, ctx, cast):
    teams.say(TANAKA, "ヘルプ")  # Teams has been reached: its serviceUrl is known
    teams.fake.reset()
    reply = router.submit(ctx, cast["田中 美咲"], "request.submit", consultation(cast["田中 美咲"]))
    assert reply.ok  # entered from the terminal (or Slack): no Teams turn at all
    teams.bot.deliver()
    posted = teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{CHANNEL}/activities")
    assert "相談-2026-001" in json.dumps(valid(posted.cards[0]), ensure_ascii=False)
    teams.fake.reset()
    teams.bot.deliver()
    assert not [c for c in teams.fake.calls if CHANNEL in c.path]  # posted once only

    ctx.clock.set(datetime(2026, 7, 2, 16, 0, tzinfo=TOKYO))  # not a full business day yet
    assert teams.bot.nudge() == 0
    ctx.clock.set(datetime(2026, 7, 3, 10, 0, tzinfo=TOKYO))
    assert teams.bot.nudge() == 1
    with ctx.db.transaction() as session:
        card_id = session.exec(select(PostedMessage)).one().message_id
    thread = f"/v3/conversations/{CHANNEL};messageid={card_id}/activities"
    nudge = teams.fake.wait_for(lambda c: c.path == thread)
    assert "1営業日" in json.dumps(valid(nudge.cards[0]), ensure_ascii=False)
    assert teams.bot.nudge() == 0  # at most once a day


def test_a_failed_proactive_send_is_not_counted_as_sent(teams, ctx):
    """The SDK's turn-error handler logs and swallows a failed send: the notice must
    still go back to the queue, not be marked sent."""
    tanaka = person_id(ctx, "田中 美咲")
    with ctx.db.transaction() as session:
        teams_store.remember_personal(
            session,
            tanaka,
            service_url="http://127.0.0.1:9/",
            now=ctx.clock.now(),
            conversation_id=DM_TANAKA,
            user_id="29:aad-tanaka",
        )
    queue(ctx, tanaka)
    assert teams.bot.deliver() == 0
    assert statuses(ctx) == {f"reminder.test:1:{tanaka}": "pending"}


def test_a_notice_reaped_from_a_dead_sender_is_marked_as_sent_again(teams, ctx):
    tanaka = person_id(ctx, "田中 美咲")
    teams.say(TANAKA, "ヘルプ")
    queue(ctx, tanaka)
    with ctx.db.transaction() as session:  # a sender claimed it, then died mid-send
        outbox.claim_due(session, ctx.clock.now(), [tanaka], 10)
    ctx.clock.advance(minutes=10)
    clockwork.tick(ctx)  # the lease ran out: reaped
    teams.fake.reset()
    assert teams.bot.deliver() == 1
    sent = teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{DM_TANAKA}/activities")
    text = json.dumps(valid(sent.cards[0]), ensure_ascii=False)
    assert text.index("再送です") < text.index("相談-2026-042")


def test_prefecture_channel_notices_go_to_one_platform(teams, ctx):
    """A notice for the prefecture's channel is one row: Teams sends it only when Slack
    holds no approval channel."""
    teams.say(TANAKA, "ヘルプ")
    with ctx.db.transaction() as session:
        teams_store.remember_channel(
            session, CHANNEL, service_url=teams.fake.url, now=ctx.clock.now(), tenant_id=None
        )
        outbox.enqueue(
            session,
            key="escalation:test",
            kind="escalation.test",
            payload={"message": "notice.approved.consultation", "params": {"number": "X-1"}},
            due_at=ctx.clock.now(),
            now=ctx.clock.now(),
            audience=Audience.PREFECTURE,
        )
    both = Settings(
        database_url="sqlite:///unused.db",
        teams_anonymous=True,
        teams_approval_channel=CHANNEL,
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_approval_channel="C-APPROVALS",
    )
    assert TeamsBot(ctx, both).deliver() == 0  # Slack's to send
    assert statuses(ctx)["escalation:test"] == "pending"
    teams.fake.reset()
    assert teams.bot.deliver() == 1  # Teams alone: Teams sends it
    sent = teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{CHANNEL}/activities")
    assert "X-1" in json.dumps(sent.cards[0], ensure_ascii=False)


# -- invite files: Teams' file-consent flow ---------------------------------------------


def invite_for_tanaka(teams: Teams, ctx, cast) -> tuple[dict[str, Any], Any]:
    """A booked session's invite delivered to 田中 美咲: the card, then a consent card."""
    teams.say(TANAKA, "ヘルプ")
    session_id = book_consultation(ctx, cast)
    teams.fake.reset()
    teams.bot.deliver()
    consent = teams.fake.wait_for(
        lambda c: any(
            a["contentType"].endswith("file.consent") for a in c.body.get("attachments") or []
        )
    )
    (attachment,) = consent.body["attachments"]
    assert consent.path == f"/v3/conversations/{DM_TANAKA}/activities"
    assert attachment["name"] == f"dxdesk-{session_id}-0.ics"
    assert attachment["content"]["sizeInBytes"] > 100
    assert "OneDrive" in attachment["content"]["description"]
    return attachment, session_id


def consent_answer(teams: Teams, aad: str, action: str, context: Any) -> httpx.Response:
    upload = {
        "name": "dxdesk.ics",
        "uploadUrl": f"{teams.fake.url}upload/session-1",
        "contentUrl": "https://contoso.sharepoint.com/personal/dxdesk.ics",
        "uniqueId": "file-1",
        "fileType": "ics",
    }
    body = activity(
        teams.fake.url,
        aad,
        conversation=DM_TANAKA,
        type="invoke",
        name="fileConsent/invoke",
        replyToId="activity-consent",
        value={"type": "fileUpload", "action": action, "context": context, "uploadInfo": upload},
    )
    return teams.post(body)


def test_an_invite_file_is_uploaded_once_its_reader_agrees(teams, ctx, cast):
    attachment, session_id = invite_for_tanaka(teams, ctx, cast)
    teams.fake.reset()
    response = consent_answer(teams, TANAKA, "accept", attachment["content"]["acceptContext"])
    assert response.status_code == 200
    put = teams.fake.wait_for(lambda c: c.method == "PUT" and c.path == "/upload/session-1")
    (event,) = icalendar.Calendar.from_ical(put.raw).walk("VEVENT")
    assert event["UID"] == uid_of(ctx, session_id)
    size = len(put.raw)
    assert put.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    info = teams.fake.wait_for(lambda c: c.method == "POST" and "file.info" in json.dumps(c.body))
    (card,) = info.body["attachments"]
    assert card["contentUrl"] == "https://contoso.sharepoint.com/personal/dxdesk.ics"
    assert card["content"] == {"uniqueId": "file-1", "fileType": "ics"}
    removed = teams.fake.wait_for(lambda c: c.method == "DELETE")
    assert removed.path.endswith("/activities/activity-consent")


def test_someone_elses_file_is_refused_and_audited(teams, ctx, cast):
    attachment, _ = invite_for_tanaka(teams, ctx, cast)
    teams.fake.reset()
    for context in (attachment["content"]["acceptContext"], {"notification": "x"}, None):
        assert consent_answer(teams, KEN, "accept", context).status_code == 200
    refusals = [c for c in teams.fake.calls if c.method == "POST"]
    assert len(refusals) == 3
    assert not [c for c in teams.fake.calls if c.method == "PUT"]
    with ctx.db.transaction() as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.outcome == "refused")).all()
    assert {a.target_type for a in audit} >= {"notification"}


def uid_of(ctx, session_id: int) -> str:
    with ctx.db.transaction() as session:
        return session.get(SupportSession, session_id).uid


def test_a_card_refreshing_on_screen_does_not_move_notices_to_teams(teams, ctx, staff):
    ken = person_id(ctx, "熊本 県子")
    with ctx.db.transaction() as session:
        people.link_identity(session, ken, "slack", "U-KEN")
    roster.identify(ctx, "slack", "U-KEN")  # Ken works on Slack
    submit_request(teams, staff)
    posted = teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{CHANNEL}/activities")
    refresh = posted.cards[0]["refresh"]["action"]["data"]

    def platform() -> str | None:
        with ctx.db.transaction() as session:
            return people.get(session, ken).notify_platform

    view = teams.click(KEN, refresh, CHANNEL, trigger="automatic")
    assert "request.approve.form" in verbs_of(view["value"])
    assert platform() == "slack"
    teams.click(KEN, refresh, CHANNEL)  # he pressed the button himself: he uses Teams now
    assert platform() == "teams"


def test_a_card_decided_elsewhere_is_brought_up_to_date(teams, ctx, staff, cast):
    request_id = submit_request(teams, staff)
    teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{CHANNEL}/activities")
    ctx.clock.advance(minutes=5)
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok  # on Slack
    teams.fake.reset()
    teams.bot.deliver()
    update = teams.fake.wait_for(lambda c: c.method == "PUT")
    assert update.path.startswith(f"/v3/conversations/{CHANNEL}/activities/activity-")
    assert "熊本 県子" in json.dumps(valid(update.cards[0]), ensure_ascii=False)
    teams.fake.reset()
    teams.bot.deliver()
    assert not [c for c in teams.fake.calls if c.method == "PUT"]  # up to date


def test_a_command_in_the_channel_is_answered_in_the_persons_own_chat(teams, ctx):
    """Answers are personal (a private calendar URL, one's own requests): never in the
    channel."""
    teams.say(KEN, "カレンダー", conversation=f"{CHANNEL};messageid=77")
    create = teams.fake.wait_for(lambda c: c.path == "/v3/conversations")
    assert create.body["members"] == [{"id": "29:aad-ken"}]
    private = teams.fake.wait_for(
        lambda c: "/activities" in c.path and not c.path.startswith(f"/v3/conversations/{CHANNEL}")
    )
    assert "/calendar/" in json.dumps(private.body, ensure_ascii=False)
    in_channel = teams.fake.wait_for(lambda c: c.path.startswith(f"/v3/conversations/{CHANNEL}"))
    text = json.dumps(in_channel.body, ensure_ascii=False)
    assert "個人チャットにお返事しました" in text and "/calendar/" not in text


def test_the_approvers_view_is_refused_to_others_but_a_refreshing_card_stays_quiet(
    teams, ctx, staff
):
    submit_request(teams, staff)
    posted = teams.fake.wait_for(lambda c: c.path == f"/v3/conversations/{CHANNEL}/activities")
    refresh = posted.cards[0]["refresh"]["action"]["data"]
    audits = count(ctx, AuditEntry)
    # Teams refreshing the card on screen for a non-approver: the shared card, no audit
    quiet = teams.click(TANAKA, refresh, CHANNEL, trigger="automatic")
    assert verbs_of(quiet["value"]) == {"request.card"}
    assert count(ctx, AuditEntry) == audits
    # pressing the button, or the same refresh from outside the channel: refused, audited
    for conversation, trigger in ((CHANNEL, "manual"), (DM_TANAKA, "automatic")):
        refused = teams.click(TANAKA, refresh, conversation, trigger=trigger)
        assert refused["type"] == "application/vnd.microsoft.activity.message"
    with ctx.db.transaction() as session:
        new = session.exec(select(AuditEntry).where(AuditEntry.outcome == "refused")).all()
    assert len(new) == 2


def test_a_card_is_posted_once_when_the_click_and_the_deliverer_race(teams, ctx, cast):
    teams.say(TANAKA, "ヘルプ")
    reply = router.submit(ctx, cast["田中 美咲"], "request.submit", consultation(cast["田中 美咲"]))
    request_id = int(reply.data["request_id"])
    teams.fake.reset()

    async def both() -> None:
        await asyncio.gather(teams.bot.post_card(request_id), teams.bot.post_card(request_id))

    asyncio.run(both())
    teams.bot.deliver()
    posts = [c for c in teams.fake.calls if c.path == f"/v3/conversations/{CHANNEL}/activities"]
    assert len(posts) == 1


def test_only_onedrive_upload_urls_are_used():
    assert onedrive("https://contoso-my.sharepoint.com/personal/ken/_api/upload?x=1")
    for url in (
        "http://contoso-my.sharepoint.com/upload",
        "https://evil.example/upload",
        "https://sharepoint.com.evil.example/upload",
        "",
    ):
        assert not onedrive(url), url


def test_members_added_needs_no_answer(teams, ctx):
    update = activity(
        teams.fake.url,
        KEN,
        conversation=CHANNEL,
        type="conversationUpdate",
        membersAdded=[{"id": "29:someone-new", "aadObjectId": "aad-new"}],
        channelData={"tenant": {"id": "tenant-1"}, "eventType": "teamMemberAdded"},
    )
    assert teams.post(update).status_code in (200, 202)
    time.sleep(0.2)
    assert teams.fake.calls == []  # no member lookup, no message


def test_someone_teams_cannot_reach_yet_gets_notices_on_their_other_platform(teams, ctx):
    """Linked to Teams first, never written to the bot anywhere: Teams cannot write to
    them, Slack can — their notices go there from now on."""
    tanaka = person_id(ctx, "田中 美咲")
    with ctx.db.transaction() as session:
        people.link_identity(session, tanaka, "slack", "U-TANAKA")
    queue(ctx, tanaka)
    queue(ctx, tanaka, key="reminder.test:2")  # two in one batch: both move
    assert teams.bot.deliver() == 0
    with ctx.db.transaction() as session:
        rows = session.exec(select(Notification)).all()
        assert [(r.status, r.attempts) for r in rows] == [("pending", 0)] * 2
        assert people.get(session, tanaka).notify_platform == "slack"
    assert {out.to for out in notices.claim(ctx, "slack")} == {"U-TANAKA"}
    assert len(statuses(ctx)) == 2
    assert teams.fake.calls == []


@pytest.mark.parametrize(
    "action, forged_url, told",
    [("decline", False, "保存しませんでした"), ("accept", True, "保存できませんでした")],
    ids=["declined", "forged upload URL"],
)
def test_no_upload_when_declined_or_to_anywhere_but_onedrive(
    teams, ctx, cast, action, forged_url, told
):
    attachment, _ = invite_for_tanaka(teams, ctx, cast)
    teams.bot.any_upload_host = not forged_url  # as in production: OneDrive over https only
    teams.fake.reset()
    response = consent_answer(teams, TANAKA, action, attachment["content"][f"{action}Context"])
    assert response.status_code == 200
    answer = teams.fake.wait_for(lambda c: c.method == "POST")
    assert told in json.dumps(answer.body, ensure_ascii=False)
    assert not [c for c in teams.fake.calls if c.method == "PUT"]
    with ctx.db.transaction() as session:
        refused = session.exec(select(AuditEntry).where(AuditEntry.outcome == "refused")).all()
    assert [a.target_type for a in refused] == (["notification"] if forged_url else [])


def test_an_unknown_user_in_the_channel_is_answered_privately_never_in_the_channel(teams, ctx):
    """Registration help goes to the person's own 1:1 chat (opened for it, nothing
    stored about them); the approval channel hears nothing."""
    assert teams.say("aad-stranger", "相談", conversation=f"{CHANNEL};messageid=9").status_code
    create = teams.fake.wait_for(lambda c: c.path == "/v3/conversations")
    assert create.body["members"] == [{"id": "29:aad-stranger"}]
    private = teams.fake.wait_for(lambda c: "/activities" in c.path)
    assert "登録されていません" in json.dumps(private.body, ensure_ascii=False)
    time.sleep(0.3)
    assert not [c for c in teams.fake.calls if c.path.startswith(f"/v3/conversations/{CHANNEL}")]
    assert ("personal", "None") not in references(ctx)
    with ctx.db.transaction() as session:
        audit = session.exec(AuditEntry.__table__.select()).all()
    assert any(a.target_type == "teams_user" and a.target_id == "aad-stranger" for a in audit)
