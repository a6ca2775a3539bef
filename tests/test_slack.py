"""The Slack app end to end over real HTTP: signed requests into the running ASGI app,
the real slack_sdk calling a local fake Web API that records every call."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from handlers.core import payloads
from storage.models import AuditEntry, InboundEvent, Request
from tests.support.factories import count, state
from tests.support.slack_app import (
    CHANNEL,
    SECRET,
    blocks_text,
    card_ts,
    consultation_values,
    new_request,
    text,
)
from tests.support.slack_fake import (
    block_action,
    event,
    message_shortcut,
    signed_headers,
    slash_command,
    view_submission,
)


def multi(*values: str) -> dict[str, Any]:
    return {"type": "multi_static_select", "selected_options": [{"value": v} for v in values]}


def test_request_to_approval_end_to_end(slack, ctx, cast):
    started = time.monotonic()
    response = slack.command("U_TANAKA")
    assert response.status_code == 200 and time.monotonic() - started < 3
    view = slack.opened_view()
    assert view["callback_id"] == "dx_form"
    assert json.loads(view["private_metadata"])["a"] == "request.submit"
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[:2] == ["市町村", "所属部署"]

    values = consultation_values(slack, ctx)
    bad = slack.submit("U_TANAKA", view, {**values, "description": text("")})
    assert bad.json()["response_action"] == "errors"
    assert bad.json()["errors"]["description"] == "「相談内容」を入力してください。"
    assert count(ctx, Request) == 0

    assert slack.submit("U_TANAKA", view, values).status_code == 200
    posts = slack.fake.wait_for("chat.postMessage", count=2)
    card = next(c for c in posts if c.params["channel"] == CHANNEL)
    assert "request.approve.form" in blocks_text(card) and "相談-2026-001" in blocks_text(card)
    dm = next(c for c in posts if c.params["channel"] == "U_TANAKA")
    assert "受付番号は相談-2026-001" in blocks_text(dm)
    request_id = 1
    ref = payloads.encode(id=request_id)

    slack.fake.reset()
    assert slack.click("U_KEN", "request.approve.form", ref).status_code == 200
    approve_view = slack.opened_view()
    consultants = next(b for b in approve_view["blocks"] if b.get("block_id") == "consultants")
    lead = consultants["element"]["options"][0]["value"]
    assert slack.submit("U_KEN", approve_view, {"consultants": multi(lead)}).status_code == 200
    update = slack.fake.wait_for("chat.update")[0]
    assert update.params["channel"] == CHANNEL and update.params["ts"] == card_ts(slack, ctx)
    assert "承認済み(熊本 県子" in blocks_text(update)
    assert "request.approve.form" not in blocks_text(update)
    slack.until(
        "chat.postMessage",
        lambda c: c.params["channel"] == "U_TANAKA" and "承認されました" in blocks_text(c),
    )
    slack.until(
        "chat.postMessage",
        lambda c: (
            c.params["channel"] == "U_TAKAHASHI" and "担当に割り当てられました" in blocks_text(c)
        ),
    )
    assert state(ctx, request_id) == "approved"


def test_decline_needs_a_reason_and_tells_the_requester(slack, ctx, cast):
    request_id = new_request(slack, ctx)
    slack.fake.reset()
    slack.click("U_KEN", "request.decline.form", payloads.encode(id=request_id))
    view = slack.opened_view()
    empty = slack.submit("U_KEN", view, {"reason": text("")})
    assert "「理由」を入力してください。" in empty.json()["errors"]["reason"]
    assert slack.submit("U_KEN", view, {"reason": text("対象外の内容のため")}).status_code == 200
    assert "却下(熊本 県子" in blocks_text(slack.fake.wait_for("chat.update")[0])
    slack.until(
        "chat.postMessage",
        lambda c: (
            c.params["channel"] == "U_TANAKA" and "理由: 対象外の内容のため" in blocks_text(c)
        ),
    )
    assert state(ctx, request_id) == "declined"


def test_more_information_round_trip_through_the_thread(slack, ctx, cast):
    request_id = new_request(slack, ctx)
    ref = payloads.encode(id=request_id)
    slack.fake.reset()
    slack.click("U_KEN", "request.ask_info.form", ref)
    slack.submit("U_KEN", slack.opened_view(), {"question": text("年間の件数は?")})
    slack.until(
        "chat.postMessage",
        lambda c: (
            c.params.get("thread_ts") == card_ts(slack, ctx)
            and "問: 年間の件数は?" in blocks_text(c)
        ),
    )
    slack.until(
        "chat.postMessage",
        lambda c: (
            c.params["channel"] == "U_TANAKA"
            and "request.answer.form" in blocks_text(c)
            and "年間の件数は?" in blocks_text(c)
        ),
    )

    slack.fake.reset()
    slack.click("U_TANAKA", "request.answer.form", ref, channel_id="DTANAKA")
    answer_view = slack.opened_view()
    assert (
        slack.submit("U_TANAKA", answer_view, {"answer": text("約3,000件です")}).status_code == 200
    )
    slack.until(
        "chat.postMessage",
        lambda c: bool(c.params.get("thread_ts")) and "答: 約3,000件です" in blocks_text(c),
    )
    slack.until(
        "chat.postMessage",
        lambda c: c.params["channel"] == "U_KEN" and "回答がありました" in blocks_text(c),
    )
    assert state(ctx, request_id) == "submitted"


def test_forged_and_stale_signatures_are_refused_and_touch_nothing(slack, ctx, cast):
    slack.fake.reset()
    body = slash_command("", user_id="U_TANAKA", response_url=f"{slack.fake.base}/response/x")
    forged = signed_headers("wrong-secret", body)
    assert (
        slack.http.post(f"{slack.base}/slack/events", content=body, headers=forged).status_code
        == 401
    )
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 600)
    assert (
        slack.http.post(f"{slack.base}/slack/events", content=body, headers=stale).status_code
        == 401
    )
    unsigned = slack.http.post(
        f"{slack.base}/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status_code == 401
    time.sleep(0.3)
    assert slack.fake.calls == []
    assert count(ctx, Request) == 0


def test_a_retried_event_is_handled_once(slack, ctx, cast):
    slack.fake.reset()
    home = event({"type": "app_home_opened", "user": "U_KEN", "tab": "home"}, event_id="EvHome")
    assert slack.post(home).status_code == 200
    assert slack.post(home, retry_num=1).status_code == 200
    assert slack.post(home, retry_num=2).status_code == 200
    published = slack.fake.wait_for("views.publish")
    time.sleep(0.3)
    assert len(slack.fake.calls_to("views.publish")) == 1
    assert count(ctx, InboundEvent) == 1
    view = published[0].params["view"]
    assert "承認待ち" in json.dumps(view, ensure_ascii=False)
    assert "実施回数の状況" in json.dumps(view, ensure_ascii=False)


def test_an_unauthorised_click_gets_an_ephemeral_refusal_and_an_audit_entry(slack, ctx, cast):
    request_id = new_request(slack, ctx)
    slack.fake.reset()
    slack.click("U_TANAKA", "request.approve.form", payloads.encode(id=request_id))
    reply = slack.fake.wait_for("response_url")[0]
    assert reply.params["response_type"] == "ephemeral"
    assert "権限がありません" in json.dumps(reply.params, ensure_ascii=False)
    with ctx.db.transaction() as session:
        refused = [e for e in session.exec(AuditEntry.__table__.select()) if e.outcome == "refused"]
    assert refused and refused[-1].action == "request.approve.form"
    assert state(ctx, request_id) == "submitted"
    assert slack.fake.calls_to("views.open") == []


def test_two_approvers_clicking_at_once_make_one_decision(slack, ctx, cast):
    request_id = new_request(slack, ctx)
    ref = payloads.encode(id=request_id)
    slack.fake.reset()
    slack.click("U_KEN", "request.approve.form", ref)
    view = slack.opened_view()
    lead = next(b for b in view["blocks"] if b.get("block_id") == "consultants")["element"][
        "options"
    ][0]["value"]
    barrier = threading.Barrier(2)
    responses: dict[str, httpx.Response] = {}

    def press(user: str) -> None:
        barrier.wait()
        responses[user] = slack.submit(user, view, {"consultants": multi(lead)})

    threads = [threading.Thread(target=press, args=(u,)) for u in ("U_KEN", "U_ASO")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    refused = [r for r in responses.values() if r.content]
    assert len(refused) == 1 and len(responses) == 2
    update = refused[0].json()
    assert update["response_action"] == "update"
    assert "さんが" in json.dumps(update["view"], ensure_ascii=False)
    assert state(ctx, request_id) == "approved"


def test_unknown_users_are_told_how_to_register_and_known_emails_link(slack, ctx, cast):
    slack.fake.reset()
    slack.command("U_STRANGER")
    reply = slack.fake.wait_for("response_url")[0]
    assert "登録されていません" in json.dumps(reply.params, ensure_ascii=False)
    slack.fake.reset()
    slack.command("U_MATSUMOTO", "状況")
    listing = slack.fake.wait_for("response_url")[0]
    assert "相談・応募" in json.dumps(listing.params, ensure_ascii=False)
    from handlers.people import roster

    assert roster.identify(ctx, "slack", "U_MATSUMOTO").name == "松本 大輔"


def test_message_shortcut_prefills_a_request(slack, ctx, cast):
    slack.fake.reset()
    slack.post(
        message_shortcut(
            "dx_request_from_message",
            "窓口の予約をオンライン化したい",
            user_id="U_TANAKA",
            response_url=f"{slack.fake.base}/response/s",
        )
    )
    view = slack.opened_view()
    description = next(b for b in view["blocks"] if b.get("block_id") == "description")
    assert description["element"]["initial_value"] == "窓口の予約をオンライン化したい"


def test_rate_limited_web_api_calls_are_retried(slack, ctx, cast):
    slack.fake.reset()
    slack.fake.fail_next("views.open", 429, retry_after=1)
    slack.command("U_TANAKA", "申込")
    calls = slack.fake.wait_for("views.open", count=2, timeout=8)
    assert json.loads(calls[-1].params["view"]["private_metadata"])["a"] == "bpr.apply"


def test_healthz(slack):
    assert slack.http.get(f"{slack.base}/healthz").json() == {"ok": True}


def test_consultants_can_be_reassigned_and_waiting_requests_are_nudged(slack, ctx, cast):
    from datetime import datetime

    from handlers.core.clock import TOKYO

    request_id = new_request(slack, ctx)
    ctx.clock.set(datetime(2026, 7, 2, 16, 0, tzinfo=TOKYO))  # Thursday: not a full day yet
    assert slack.bot.nudge() == 0
    ctx.clock.set(datetime(2026, 7, 3, 7, 0, tzinfo=TOKYO))  # Friday before office hours
    assert slack.bot.nudge() == 0
    ctx.clock.set(datetime(2026, 7, 3, 10, 0, tzinfo=TOKYO))  # Thursday was a full day
    slack.fake.reset()
    assert slack.bot.nudge() == 1
    nudge = slack.until("chat.postMessage", lambda c: bool(c.params.get("thread_ts")))
    assert nudge.params["thread_ts"] == card_ts(slack, ctx)
    assert "1営業日" in blocks_text(nudge)
    assert slack.bot.nudge() == 0  # at most once a day
    ctx.clock.set(datetime(2026, 7, 4, 10, 0, tzinfo=TOKYO))  # Saturday
    assert slack.bot.nudge() == 0
    ctx.clock.set(datetime(2026, 7, 6, 10, 0, tzinfo=TOKYO))
    slack.fake.reset()
    assert slack.bot.nudge() == 1
    assert "2営業日" in blocks_text(slack.fake.wait_for("chat.postMessage")[0])

    ref = payloads.encode(id=request_id)
    slack.click("U_KEN", "request.approve.form", ref)
    view = slack.opened_view()
    options = next(b for b in view["blocks"] if b.get("block_id") == "consultants")["element"][
        "options"
    ]
    slack.submit("U_KEN", view, {"consultants": multi(options[0]["value"])})
    slack.until("chat.update", lambda c: "request.reassign.form" in blocks_text(c))
    assert slack.bot.nudge() == 0  # decided: no more nudges
    slack.fake.reset()
    slack.click("U_ASO", "request.reassign.form", ref)
    reassign_view = slack.opened_view()
    slack.submit("U_ASO", reassign_view, {"consultants": multi(options[2]["value"])})
    slack.until("chat.update", lambda c: "小林 健" in blocks_text(c))
    with ctx.db.transaction() as session:
        entry = [
            e for e in session.exec(AuditEntry.__table__.select()) if e.action == "request.reassign"
        ][-1]
    assert entry.before["consultants"] != entry.after["consultants"]


def test_the_manifest_matches_the_app():
    from pathlib import Path

    import yaml

    from bot.slack.app import MESSAGE_SHORTCUT

    manifest = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text())
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == ["/dx"]
    assert features["shortcuts"][0]["callback_id"] == MESSAGE_SHORTCUT
    assert features["app_home"]["home_tab_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    urls = [
        features["slash_commands"][0]["url"],
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    ]
    assert all(url.endswith("/slack/events") for url in urls)
    assert {
        "commands",
        "chat:write",
        "files:write",
        "im:history",  # a reaped notice is looked for in the DM before it is sent again
        "im:write",
        "users:read.email",
    } <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_a_failed_dm_does_not_cost_the_approval_card(slack, ctx, cast):
    slack.fake.reset()
    slack.fake.fail_next("chat.postMessage", 400)  # the requester's DM
    slack.command("U_TANAKA")
    values = consultation_values(slack, ctx)
    assert slack.submit("U_TANAKA", slack.opened_view(), values).status_code == 200
    slack.until("chat.postMessage", lambda c: c.params["channel"] == CHANNEL)


def test_undelivered_notices_go_back_to_the_queue(slack, ctx, cast):
    from storage.models import Notification

    request_id = new_request(slack, ctx)
    slack.bot.deliver()
    slack.fake.reset()
    slack.fake.fail_next("chat.postMessage", 500, times=10)
    from handlers.intake import decision

    decision.decline(ctx, cast["熊本 県子"], payloads.encode(id=request_id), {"reason": "対象外"})
    assert slack.bot.deliver() == 0
    with ctx.db.transaction() as session:
        row = next(
            n for n in session.exec(Notification.__table__.select()) if n.kind == "request.declined"
        )
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.due_at > ctx.clock.now()


def test_long_text_with_entities_stays_within_slack_limits(slack, ctx, cast):
    from bot.slack import blocks
    from handlers.intake import approval_card, decision, submission

    request_id = new_request(slack, ctx)
    ref = payloads.encode(id=request_id)
    decision.ask_info(ctx, cast["熊本 県子"], ref, {"question": "R&D<>" * 200})
    submission.answer(ctx, cast["田中 美咲"], ref, {"answer": "R&D<>" * 400})
    for reply in (
        approval_card.card(ctx, request_id, "ja"),
        approval_card.latest_exchange(ctx, request_id, "ja"),
    ):
        for block in blocks.message_blocks(reply):
            texts = [block.get("text"), *block.get("elements", []), *block.get("fields", [])]
            for part in texts:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    assert len(part["text"]) <= 3000
                    assert not part["text"].rstrip("…").endswith(("&", "&amp", "&lt"))


def test_clicks_from_app_home_answer_in_a_modal_and_strangers_are_audited(slack, ctx, cast):
    new_request(slack, ctx)
    slack.fake.reset()
    slack.post(
        block_action("approval.queue", "", user_id="U_KEN", container_type="view", response_url="")
    )
    view = slack.opened_view()
    assert view["type"] == "modal" and "承認待ち" in json.dumps(view, ensure_ascii=False)
    assert not [
        c
        for c in slack.fake.calls_to("chat.postMessage")
        if c.params["channel"] == "U_KEN" and "承認待ち(" in blocks_text(c)
    ]
    before = count(ctx, AuditEntry)
    slack.fake.reset()
    slack.click("U_STRANGER", "request.approve.form", payloads.encode(id=1))
    slack.fake.wait_for("response_url")
    deadline = time.monotonic() + 5
    while count(ctx, AuditEntry) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    with ctx.db.transaction() as session:
        entry = [e for e in session.exec(AuditEntry.__table__.select())][-1]
    assert (entry.outcome, entry.target_id) == ("refused", "U_STRANGER")


def test_the_answer_modal_shows_the_question(slack, ctx, cast):
    from handlers.intake import decision

    request_id = new_request(slack, ctx)
    ref = payloads.encode(id=request_id)
    decision.ask_info(ctx, cast["熊本 県子"], ref, {"question": "対象業務は何件ですか"})
    slack.fake.reset()
    slack.click("U_TANAKA", "request.answer.form", ref, channel_id="DTANAKA")
    assert "対象業務は何件ですか" in json.dumps(slack.opened_view(), ensure_ascii=False)


def test_the_case_book_is_searched_from_the_slash_command(slack, ctx, cast):
    slack.fake.reset()
    assert slack.command("U_TANAKA", "事例 書かない窓口").status_code == 200
    answer = slack.until(
        "response_url", lambda c: "書かない窓口" in json.dumps(c.params, ensure_ascii=False)
    )
    assert "北見市" in json.dumps(answer.params, ensure_ascii=False)


def test_a_card_decided_elsewhere_is_brought_up_to_date(slack, ctx, cast):
    """Decided on Teams or in the terminal: the Slack card shows it after the next
    deliver run, once."""
    from tests.support.factories import approve

    request_id = new_request(slack, ctx)
    ctx.clock.advance(minutes=5)
    assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    slack.fake.reset()
    slack.bot.deliver()
    (update,) = slack.fake.calls_to("chat.update")
    assert update.params["ts"] == card_ts(slack, ctx, request_id)
    assert "熊本 県子" in blocks_text(update)
    slack.fake.reset()
    slack.bot.deliver()
    assert slack.fake.calls_to("chat.update") == []  # up to date: left alone


def test_a_card_that_cannot_be_updated_backs_off_and_holds_up_no_other(slack, ctx, cast):
    from tests.support.factories import approve

    first, second = new_request(slack, ctx), new_request(slack, ctx)
    ctx.clock.advance(minutes=5)
    for request_id in (first, second):  # decided in the terminal
        assert approve(ctx, cast["熊本 県子"], request_id, [cast["小林 健"]]).ok
    slack.fake.reset()
    slack.fake.fail_next("chat.update", 404)  # the first card was deleted
    slack.bot.deliver()
    updates = slack.fake.calls_to("chat.update")
    assert [u.params["ts"] for u in updates] == [
        card_ts(slack, ctx, first),
        card_ts(slack, ctx, second),
    ]
    slack.fake.reset()
    slack.bot.deliver()
    assert slack.fake.calls_to("chat.update") == []  # the failed one waits its back-off
    ctx.clock.advance(minutes=2)
    slack.bot.deliver()
    (retry,) = slack.fake.calls_to("chat.update")
    assert retry.params["ts"] == card_ts(slack, ctx, first)


def test_a_modal_from_someone_storage_does_not_know_is_acked_before_any_web_api_call(
    slack, ctx, cast
):
    """users.info (with its Retry-After sleeps) must not run before the ack: the ack
    says "checking" at once, and the outcome replaces it after."""
    slack.fake.reset()
    slack.fake.fail_next("users.info", 429, retry_after=2, times=2)
    metadata = json.dumps({"a": "request.submit", "c": ""})
    started = time.monotonic()
    for user in ("U_MATSUMOTO", "U_NOBODY"):
        body = view_submission("dx_form", {}, user_id=user, private_metadata=metadata)
        response = slack.post(body)
        assert response.status_code == 200
        assert response.json()["response_action"] == "update"
        assert "確認しています" in json.dumps(response.json()["view"], ensure_ascii=False)
    assert time.monotonic() - started < 2  # neither ack waited for the 429's Retry-After
    updates = slack.fake.wait_for("views.update", count=2, timeout=15)
    outcomes = " ".join(json.dumps(u.params["view"], ensure_ascii=False) for u in updates)
    assert "登録されていません" in outcomes  # U_NOBODY, privately in their own modal
    from handlers.people import roster

    assert roster.identify(ctx, "slack", "U_MATSUMOTO") is not None  # linked by e-mail
    assert slack.fake.calls_to("chat.postMessage") == []
