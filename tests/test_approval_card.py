"""The approval card's sequence on a platform of its own (handlers/intake/approval_card.py):
what `keep` gives up on, what `nudge` skips, and where a question goes in the card's
thread — the parts every platform shares, pinned without Slack or Teams."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.reply import Reply
from handlers.intake import approval_card, decision, submission
from handlers.intake.approval_card import NotSent, Posted
from tests.support.factories import ref, submit


class Refused(Exception):
    """What the fake platform raises when told to fail."""


class FakeChannel:
    """A platform with threads that records every call and fails what it is told to."""

    platform = "fake"
    channel = "C-APPROVALS"
    per_viewer = False

    def __init__(self, *, threads_exchanges: bool = True) -> None:
        self.threads_exchanges = threads_exchanges
        self.fail: set[str] = set()  # "post", "update"
        self.not_sent: set[str] = set()  # message ids whose thread refuses a reply
        self.calls: list[tuple[str, Any]] = []
        self.count = 0

    def post(self, card: Reply) -> Posted:
        self.calls.append(("post", card.data["request_id"]))
        if "post" in self.fail:
            raise Refused
        self.count += 1
        return Posted(self.channel, f"m{self.count}")

    def update(self, where: Posted, card: Reply) -> None:
        self.calls.append(("update", card.data["request_id"]))
        if "update" in self.fail:
            raise Refused

    def delete(self, where: Posted) -> None:
        self.calls.append(("delete", where.message_id))

    def reply_in_thread(self, where: Posted, reply: Reply) -> None:
        self.calls.append(("reply", where.message_id))
        if where.message_id in self.not_sent:
            raise NotSent(where.message_id)

    def made(self, kind: str) -> list[Any]:
        return [what for call, what in self.calls if call == kind]


def attempt(step: Callable[[], Any], request_id: int) -> bool:
    """The deliverer's edge, reduced to the one failure the fake raises."""
    try:
        step()
    except Refused:
        return False
    return True


def test_the_card_actions_are_the_declared_intents() -> None:
    assert approval_card.NEW_REQUESTS == ("request.submit", "bpr.apply")
    assert approval_card.DECISIONS == (
        "request.approve",
        "request.decline",
        "request.ask_info",
        "request.reassign",
    )
    assert set(approval_card.CHANGES_CARD) == {
        *approval_card.DECISIONS,
        "request.answer",
        "request.amend",
        "request.cancel",
        "session.book",
    }
    assert approval_card.THREADED == ("request.ask_info", "request.answer")


def test_keep_gives_up_on_a_failing_platform_posts_and_updates_apart(
    ctx: Context, cast: dict[str, Actor], staff: Actor
) -> None:
    channel = FakeChannel()
    decided = [submit(ctx, staff) for _ in range(4)]
    approval_card.keep(ctx, channel, attempt)
    assert sorted(channel.made("post")) == sorted(decided)
    ctx.clock.advance(minutes=5)
    for request_id in decided:  # decided elsewhere: their cards are stale
        reply = decision.decline(ctx, cast["熊本 県子"], ref(request_id), {"reason": "重複"})
        assert reply.ok, reply.plain_text()
    waiting = [submit(ctx, staff) for _ in range(5)]

    channel.calls.clear()
    channel.fail = {"post"}
    approval_card.keep(ctx, channel, attempt)
    assert len(channel.made("post")) == approval_card.CARD_FAILURES  # then the rest wait
    assert set(channel.made("post")) <= set(waiting)
    assert sorted(channel.made("update")) == sorted(decided)  # not starved by the posts

    channel.calls.clear()
    channel.fail = set()
    approval_card.keep(ctx, channel, attempt)
    assert sorted(channel.made("post")) == sorted(waiting)
    assert channel.made("update") == []  # shown as they are now


def test_keep_counts_failed_posts_and_failed_updates_apart(
    ctx: Context, cast: dict[str, Actor], staff: Actor
) -> None:
    channel = FakeChannel()
    decided = [submit(ctx, staff) for _ in range(5)]
    approval_card.keep(ctx, channel, attempt)
    ctx.clock.advance(minutes=5)
    for request_id in decided:
        reply = decision.decline(ctx, cast["熊本 県子"], ref(request_id), {"reason": "重複"})
        assert reply.ok, reply.plain_text()
    for _ in range(5):
        submit(ctx, staff)
    channel.calls.clear()
    channel.fail = {"post", "update"}
    approval_card.keep(ctx, channel, attempt)
    assert len(channel.made("post")) == approval_card.CARD_FAILURES
    assert len(channel.made("update")) == approval_card.CARD_FAILURES


def test_a_nudge_not_sent_is_left_for_the_next_run_and_the_others_go_on(
    ctx: Context, staff: Actor
) -> None:
    channel = FakeChannel()
    for _ in range(2):
        approval_card.post(ctx, channel, submit(ctx, staff))
    ctx.clock.set(datetime(2026, 7, 3, 10, 0, tzinfo=TOKYO))  # a full business day later
    channel.not_sent = {"m1"}
    assert approval_card.nudge(ctx, channel) == 1
    assert channel.made("reply") == ["m1", "m2"]
    channel.not_sent = set()
    channel.calls.clear()
    assert approval_card.nudge(ctx, channel) == 1  # only the one not sent
    assert channel.made("reply") == ["m1"]
    assert approval_card.nudge(ctx, channel) == 0  # at most once a day


@pytest.mark.parametrize("threads_exchanges", [True, False])
def test_a_question_goes_in_the_cards_thread_where_the_platform_threads_it(
    ctx: Context, cast: dict[str, Actor], staff: Actor, threads_exchanges: bool
) -> None:
    channel = FakeChannel(threads_exchanges=threads_exchanges)
    request_id = submit(ctx, staff)
    approval_card.after(ctx, channel, "request.submit", request_id)
    asked = decision.ask_info(ctx, cast["熊本 県子"], ref(request_id), {"question": "件数は?"})
    assert asked.ok, asked.plain_text()
    where = approval_card.after(ctx, channel, "request.ask_info", request_id)
    assert where == Posted(channel.channel, "m1")
    assert channel.made("update") == [request_id]
    assert channel.made("reply") == (["m1"] if threads_exchanges else [])
    answered = submission.answer(ctx, staff, ref(request_id), {"answer": "約3,000件"})
    assert answered.ok, answered.plain_text()
    approval_card.after(ctx, channel, "request.answer", request_id)
    assert channel.made("reply") == (["m1", "m1"] if threads_exchanges else [])
