"""Where the Slack app's slow work runs once the request is acknowledged.

Bolt's own lazy listeners run in threads of the serving process: every lazy call deep-
copies the request, and the work then competes with the next acknowledgements for the
interpreter lock. Under load that is what made acks slow, so the serving process only
acknowledges and hands the payload on: to a worker process in production
(bot/runtime/worker.py: `ProcessJobs`, its own database connections and Web API client),
or to threads of the same process in tests and small set-ups (`ThreadJobs`, sharing the
caller's context and clock). Either way a job runs in `run`, the edge where its
unexpected errors end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.runtime.edge import logged
from bot.runtime.outage import unreachable
from bot.slack.errors import SLACK_ERRORS

log = logging.getLogger("dxdesk.slack")


class Bot(Protocol):
    """What a job needs of the Slack bot (bot/slack/app.py's SlackBot), besides the job
    methods it calls by name: the payload's replay claim, and the answers it gives the
    person when the job itself could not."""

    def claim(self, body: dict[str, Any]) -> bool: ...

    def forget(self, body: dict[str, Any]) -> None: ...

    def tell_busy(self, body: dict[str, Any]) -> None: ...

    def tell_unexpected(self, body: dict[str, Any], reference: str) -> None: ...


class Jobs(Protocol):
    def bind(self, bot: Bot) -> None: ...

    def submit(self, name: str, *args: Any) -> None: ...

    def alive(self) -> bool: ...

    def shutdown(self) -> None: ...


BUSY_TOLD = ("on_command", "on_shortcut", "on_action")
"""Jobs answering a person, who is told 「混み合っています」 when the database is out of reach,
and the reference number of the log line when the job failed otherwise."""


ONCE = (*BUSY_TOLD, "on_home")
"""Jobs for a payload Slack may deliver again: claimed (`Bot.claim`) before the work."""


def run(bot: Bot, name: str, args: tuple[Any, ...]) -> None:
    """One job, to its end: the worker's edge, so any error stops here — logged with a
    reference number, which the person who asked is told — and a payload that was
    claimed is given back for Slack's retry."""
    once = name in ONCE
    try:
        if once and not bot.claim(args[0]):
            return
        getattr(bot, name)(*args)
    except Exception as error:  # the edge: nothing a job raises may stop the worker
        if once:
            _forget(bot, name, args[0])
        if unreachable(error) and name in BUSY_TOLD:
            log.warning("Slack job %s: database unreachable, the person is told to retry", name)
            _tell(name, bot.tell_busy, args[0])
            return
        reference = logged(log, "Slack job %s failed", name)
        if name in BUSY_TOLD:
            _tell(name, bot.tell_unexpected, args[0], reference)


def _tell(name: str, answer: Callable[..., None], *args: Any) -> None:
    """Answer the person whose job failed; Slack refusing that too is only logged."""
    try:
        answer(*args)
    except SLACK_ERRORS:
        log.exception("Slack job %s: the answer to the person failed too", name)


def _forget(bot: Bot, name: str, body: dict[str, Any]) -> None:
    """Give the claim back so Slack's retry is handled, not dropped; with the database
    still out of reach that fails too, and the retry is dropped as a replay."""
    try:
        bot.forget(body)
    except SQLAlchemyError:
        log.warning("Slack job %s: its replay claim could not be given back", name)


class ThreadJobs:
    def __init__(self, workers: int = 4) -> None:
        self.pool: Executor = ThreadPoolExecutor(workers, thread_name_prefix="dxdesk-slack")
        self.bot: Bot | None = None
        self._pending: set[Future[None]] = set()

    def bind(self, bot: Bot) -> None:
        self.bot = bot

    def submit(self, name: str, *args: Any) -> None:
        assert self.bot is not None
        future = self.pool.submit(run, self.bot, name, args)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def drain(self, timeout: float = 10) -> None:
        """Wait for every job queued so far (and those they queue): tests use it to reach
        a quiet point before looking at what was sent."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            wait(list(self._pending), timeout=max(0.0, deadline - time.monotonic()))

    def alive(self) -> bool:
        return True

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)
