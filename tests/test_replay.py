"""Idempotent interactions: the same signed Slack request sent again inside Slack's
5-minute signature window, or the same Teams activity delivered again, changes nothing
and makes no second post; a delivery whose handling failed is still handled when it
comes again, and a form sent back with field errors can still be corrected."""

from __future__ import annotations

import time
from typing import Any

from handlers import router
from handlers.core import payloads, replays
from handlers.notifications import clockwork
from storage.models import AuditEntry, InboundEvent, Request
from tests.support.factories import consultation, count
from tests.support.slack_app import SECRET, consultation_values, new_request, text
from tests.support.slack_fake import block_action, signed_headers, slash_command, view_submission
from tests.support.teams_app import DM_TANAKA, TANAKA, card_json
from tests.support.teams_fake import execute, message


def send(slack: Any, body: str, headers: dict[str, str]) -> Any:
    return slack.http.post(f"{slack.base}/slack/events", content=body, headers=headers)


def quiet(slack: Any) -> None:
    """Every job queued so far done, and a moment for stray work to show."""
    slack.bot.jobs.drain()
    time.sleep(0.3)
    slack.bot.jobs.drain()


def submission(slack: Any, values: dict[str, Any], view_id: str) -> str:
    view = slack.opened_view()
    state = {name: {"value": element} for name, element in values.items()}
    return view_submission(
        "dx_form",
        state,
        user_id="U_TANAKA",
        private_metadata=view["private_metadata"],
        view_id=view_id,
    )


# -- Slack ---------------------------------------------------------------------------------


def test_a_replayed_form_submission_creates_nothing_and_posts_nothing(slack, ctx, cast):
    slack.fake.reset()
    slack.command("U_TANAKA")
    body = submission(slack, consultation_values(slack, ctx), "V-replayed")
    headers = signed_headers(SECRET, body)  # one signed request, within its 5 minutes
    assert send(slack, body, headers).status_code == 200
    slack.fake.wait_for("chat.postMessage", count=2)
    quiet(slack)
    calls = len(slack.fake.calls)
    for _ in range(3):
        replay = send(slack, body, headers)
        assert replay.status_code == 200 and not replay.content
    quiet(slack)
    assert count(ctx, Request) == 1
    assert len(slack.fake.calls) == calls  # no second card, DM or notice


def test_a_replayed_click_opens_nothing_twice_and_audits_once(slack, ctx, cast):
    request_id = new_request(slack, ctx)
    ref = payloads.encode(id=request_id)
    url = f"{slack.fake.base}/response/click"
    slack.fake.reset()
    approve = block_action("request.approve.form", ref, user_id="U_KEN", response_url=url)
    headers = signed_headers(SECRET, approve)
    assert send(slack, approve, headers).status_code == 200
    slack.fake.wait_for("views.open")
    # someone who may not decide: refused privately, and audited
    refused = block_action("request.approve.form", ref, user_id="U_TANAKA", response_url=url)
    refused_headers = signed_headers(SECRET, refused)
    assert send(slack, refused, refused_headers).status_code == 200
    slack.fake.wait_for("response_url")
    quiet(slack)
    audits = count(ctx, AuditEntry)
    for body, signed in ((approve, headers), (refused, refused_headers)):
        assert send(slack, body, signed).status_code == 200
    quiet(slack)
    assert len(slack.fake.calls_to("views.open")) == 1
    assert len(slack.fake.calls_to("response_url")) == 1
    assert count(ctx, AuditEntry) == audits


def test_a_replayed_command_answers_once(slack, ctx, cast):
    slack.fake.reset()
    body = slash_command("", user_id="U_TANAKA", response_url=f"{slack.fake.base}/response/c")
    headers = signed_headers(SECRET, body)
    assert send(slack, body, headers).status_code == 200
    slack.fake.wait_for("views.open")
    assert send(slack, body, headers).status_code == 200
    quiet(slack)
    assert len(slack.fake.calls_to("views.open")) == 1


def test_a_submission_whose_handling_failed_is_handled_when_it_comes_again(
    slack, ctx, cast, monkeypatch
):
    """Slack shows the person an error when the ack fails; the same submission, sent
    again, must then go through, not be taken for a replay."""
    slack.fake.reset()
    slack.command("U_TANAKA")
    body = submission(slack, consultation_values(slack, ctx), "V-failed-once")
    headers = signed_headers(SECRET, body)
    real = router.submit
    calls: list[str] = []

    def broken_once(*args: Any, **kwargs: Any) -> Any:
        calls.append("x")
        if len(calls) == 1:
            raise ConnectionError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(router, "submit", broken_once)
    remembered = count(ctx, InboundEvent)
    assert send(slack, body, headers).status_code != 200
    assert count(ctx, Request) == 0 and count(ctx, InboundEvent) == remembered
    assert send(slack, body, headers).status_code == 200
    slack.fake.wait_for("chat.postMessage", count=2)
    assert count(ctx, Request) == 1


def test_a_queued_click_whose_ack_failed_is_handled_when_it_comes_again(
    slack, ctx, cast, monkeypatch
):
    slack.fake.reset()
    body = slash_command("", user_id="U_TANAKA", response_url=f"{slack.fake.base}/response/c")
    headers = signed_headers(SECRET, body)
    real = slack.bot.jobs.submit
    failures = [RuntimeError("the worker is gone")]

    def submit(name: str, *args: Any) -> None:
        if failures:
            raise failures.pop()
        real(name, *args)

    monkeypatch.setattr(slack.bot.jobs, "submit", submit)
    assert send(slack, body, headers).status_code != 200
    assert send(slack, body, headers).status_code == 200
    slack.fake.wait_for("views.open")


def test_a_form_sent_back_with_errors_can_be_corrected_in_the_same_view(slack, ctx, cast):
    """Field errors change nothing, so they are not remembered: the same view (same id
    and hash) comes back corrected and is taken."""
    slack.fake.reset()
    slack.command("U_TANAKA")
    values = consultation_values(slack, ctx)
    wrong = submission(slack, {**values, "description": text("")}, "V-corrected")
    answer = send(slack, wrong, signed_headers(SECRET, wrong))
    assert answer.json()["response_action"] == "errors"
    right = submission(slack, values, "V-corrected")
    assert send(slack, right, signed_headers(SECRET, right)).status_code == 200
    slack.fake.wait_for("chat.postMessage", count=2)
    assert count(ctx, Request) == 1


# -- Teams ---------------------------------------------------------------------------------


def test_a_replayed_teams_message_is_answered_once(teams, ctx):
    body = message(teams.fake.url, TANAKA, "相談", DM_TANAKA)
    assert teams.post(body).status_code == 202
    teams.fake.wait_for(lambda c: c.method == "POST")
    again = teams.post(body)
    assert again.status_code == 200 and not again.content
    time.sleep(0.3)
    assert len([c for c in teams.fake.calls if c.method == "POST"]) == 1


def test_a_replayed_teams_submit_creates_one_request_and_one_card(teams, ctx, staff):
    data = {"action": "request.submit", "context": "", **consultation(staff)}
    body = execute(teams.fake.url, TANAKA, data, DM_TANAKA)
    first = teams.post(body)
    assert first.status_code == 200
    assert "受付番号は相談-2026-001" in card_json(first.json())
    time.sleep(0.3)
    posts = len(teams.fake.calls)
    again = teams.post(body)
    assert again.status_code == 200 and "相談-2026-002" not in again.text
    time.sleep(0.3)
    assert count(ctx, Request) == 1
    assert len(teams.fake.calls) == posts
    # a new click (another activity id) with the same inputs is a new request, as asked
    assert teams.post(execute(teams.fake.url, TANAKA, data, DM_TANAKA)).status_code == 200
    assert count(ctx, Request) == 2


def test_the_same_activity_id_in_another_conversation_is_not_a_replay(teams, ctx):
    body = message(teams.fake.url, TANAKA, "ヘルプ", DM_TANAKA)
    assert teams.post(body).status_code == 202
    elsewhere = {**body, "conversation": {"id": "a:other", "conversationType": "personal"}}
    assert teams.post(elsewhere).status_code == 202
    assert count(ctx, InboundEvent) == 2


def test_the_tick_forgets_claims_a_week_old_and_keeps_the_rest(ctx):
    for key in ("old", "recent"):
        assert replays.first_time(ctx, "slack", key)
        ctx.clock.advance(days=4)
    assert clockwork.tick(ctx)["replays_forgotten"] == 1  # "old" is 8 days old
    assert not replays.first_time(ctx, "slack", "recent")  # still a replay
    assert replays.first_time(ctx, "slack", "old")  # a week on, a new delivery
    assert count(ctx, InboundEvent) == 2
