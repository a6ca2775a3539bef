"""Catch-alls only at the process's edges, each logging a reference number: a Teams turn
that fails tells the person the number its log line holds; a Slack job's failure is
logged with one, gives its replay claim back and stops nothing; a notice whose send
raises what nobody expected is tried again later while the rest of its batch goes out.
And the Teams sends that start in synchronous code share one long-lived event loop."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.config import Settings
from bot.delivery import sending
from bot.runtime import scheduler
from bot.runtime.web import create_web_app
from bot.slack import jobs
from bot.teams.app import TeamsBot
from bot.teams.loop import LoopThread
from handlers import router
from handlers.notifications import notices
from storage import people
from storage.models import Notification
from tests.support.live_server import serving
from tests.support.queued_notices import queue
from tests.support.teams_fake import FakeConnector, message

REFERENCE = re.compile(r"\(ref ([0-9A-F]{6})\)")


def referenced(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    """The reference numbers of the logged errors whose message contains `text`, each
    logged with its traceback."""
    return [
        found.group(1)
        for record in caplog.records
        if text in record.getMessage() and record.exc_info
        if (found := REFERENCE.search(record.getMessage()))
    ]


def test_a_failed_teams_turn_tells_the_person_its_reference_number(ctx, cast, monkeypatch, caplog):
    with ctx.db.transaction() as session:
        people.link_identity(session, cast["田中 美咲"].id, "teams", "aad-tanaka")
    bot = TeamsBot(ctx, Settings(database_url="sqlite:///unused.db", teams_anonymous=True))

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(router, "command", broken)
    caplog.set_level(logging.ERROR, logger="dxdesk.teams")
    with FakeConnector() as fake, serving(create_web_app(ctx, None, bot)) as base:
        body = message(fake.url, "aad-tanaka", "相談", "a:dm-tanaka")
        assert httpx.post(f"{base}/api/messages", json=body, timeout=10).status_code < 500
        told = fake.wait_for(lambda c: c.method == "POST").body["text"]
    (reference,) = referenced(caplog, "teams turn failed")
    assert f"参照番号{reference}" in told
    assert "a bug nobody foresaw" not in told and "Traceback" not in told


class FailingBot:
    """What a Slack job needs of the bot (jobs.Bot), with a job that fails."""

    def __init__(self) -> None:
        self.forgotten: list[dict[str, Any]] = []
        self.done: list[str] = []
        self.told: list[tuple[dict[str, Any], str]] = []

    def claim(self, body: dict[str, Any]) -> bool:
        return True

    def forget(self, body: dict[str, Any]) -> None:
        self.forgotten.append(body)

    def tell_busy(self, body: dict[str, Any]) -> None:
        raise AssertionError("only an outage is answered busy")

    def tell_unexpected(self, body: dict[str, Any], reference: str) -> None:
        self.told.append((body, reference))

    def on_command(self, body: dict[str, Any]) -> None:
        raise KeyError("a bug nobody foresaw")

    def on_home(self, body: dict[str, Any]) -> None:
        self.done.append("on_home")


def test_a_failed_slack_job_tells_the_person_its_reference_and_the_next_one_runs(caplog):
    bot = FailingBot()
    pool = jobs.ThreadJobs(workers=1)
    pool.bind(bot)
    try:
        pool.submit("on_command", {"command": "/dx"})
        pool.submit("on_home", {"event": "app_home_opened"})
        pool.drain()
    finally:
        pool.shutdown()
    assert bot.forgotten == [{"command": "/dx"}]  # Slack's retry is handled again
    assert bot.done == ["on_home"]
    (reference,) = referenced(caplog, "Slack job on_command failed")
    assert bot.told == [({"command": "/dx"}, reference)]


def test_a_send_that_raises_the_unforeseen_is_retried_and_the_batch_goes_on(ctx, cast, caplog):
    keys = queue(ctx, cast, 3)
    first = min(keys)

    def send(out: notices.Outgoing) -> sending.Outcome:
        if out.key == first:
            raise KeyError("a bug nobody foresaw")
        return sending.Outcome(True)

    assert sending.deliver(ctx, "slack", (), send) == 2
    with ctx.db.transaction() as session:
        row = session.exec(select(Notification).where(Notification.key == first)).one()
    assert (row.status, row.attempts) == ("pending", 1)  # transient: tried again later
    assert len(referenced(caplog, f"slack notice {row.id} not delivered")) == 1


def test_a_scheduled_run_that_fails_is_logged_with_a_reference_and_the_next_one_comes(caplog):
    runs: list[int] = []

    def tick(n: int) -> None:
        runs.append(n)
        raise RuntimeError("a bug nobody foresaw")

    run = scheduler.at_edge("tick", tick)
    run(1)
    run(2)
    assert runs == [1, 2]
    assert len(set(referenced(caplog, "scheduled tick failed"))) == 2  # one number a run


async def where() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    return asyncio.get_running_loop(), threading.current_thread()


async def refused() -> None:
    raise ValueError("the connector said no")


def test_sends_from_synchronous_code_share_one_event_loop():
    sends = LoopThread("test-sends")
    first_loop, first_thread = sends.run(where())
    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda _: sends.run(where()), range(8)))
    assert {id(loop) for loop, _ in seen} == {id(first_loop)}
    assert {thread for _, thread in seen} == {first_thread}
    assert first_thread is not threading.current_thread() and first_loop.is_running()
    with pytest.raises(ValueError, match="the connector said no"):
        sends.run(refused())
    assert sends.run(where())[0] is first_loop  # a failed send leaves the loop running

    async def nested() -> Any:
        return sends.run(where())  # would wait on itself for ever

    with pytest.raises(RuntimeError, match="await instead"):
        sends.run(nested())


def test_a_card_sent_from_a_turn_never_waits_on_the_turns_own_thread_pool():
    """A click's card is kept from a worker thread of the turn's loop. Were its send run
    back on that loop, the waiting worker would hold a thread the send's own thread-pool
    calls (the SDK's token and DNS lookups) need: with every worker so held, every turn
    hangs. The send loop has a pool of its own, so even one worker per turn loop is
    enough."""
    from types import SimpleNamespace

    from bot.teams.channel import ChannelCards

    cards = ChannelCards(SimpleNamespace(service=None))  # type: ignore[arg-type]

    async def send() -> int:  # as the SDK does: part of a send runs in a thread
        return await asyncio.to_thread(lambda: 7)

    async def turn() -> int:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
        return await asyncio.wait_for(asyncio.to_thread(cards.run, send()), timeout=10)

    assert asyncio.run(turn()) == 7
