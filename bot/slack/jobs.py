"""Where the Slack app's slow work runs once the request is acknowledged.

Bolt's own lazy listeners run in threads of the serving process: every lazy call deep-
copies the request, and the work then competes with the next acknowledgements for the
interpreter lock. Under load that is what made acks slow, so the serving process only
acknowledges and hands the payload on: to a worker process in production (`ProcessJobs`,
its own database connections and Web API client), or to threads of the same process in
tests and small set-ups (`ThreadJobs`, sharing the caller's context and clock).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.slack.app import SlackBot

log = logging.getLogger("dxdesk.slack")


class Jobs(Protocol):
    def bind(self, bot: SlackBot) -> None: ...

    def submit(self, name: str, *args: Any) -> None: ...

    def shutdown(self) -> None: ...


def _run(bot: SlackBot, name: str, args: tuple[Any, ...]) -> None:
    try:
        getattr(bot, name)(*args)
    except Exception:
        log.exception("Slack job %s failed", name)


class ThreadJobs:
    def __init__(self, workers: int = 4) -> None:
        self.pool: Executor = ThreadPoolExecutor(workers, thread_name_prefix="dxdesk-slack")
        self.bot: SlackBot | None = None

    def bind(self, bot: SlackBot) -> None:
        self.bot = bot

    def submit(self, name: str, *args: Any) -> None:
        assert self.bot is not None
        self.pool.submit(_run, self.bot, name, args)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)


_worker: SlackBot | None = None


def _start_worker(settings: Settings) -> None:
    from bot.slack.app import SlackBot
    from bot.wiring import build_context

    global _worker
    _worker = SlackBot(build_context(settings), settings, jobs=ThreadJobs(workers=1))
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A server killed by a signal cannot shut its pool down; the worker notices and goes."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _run_in_worker(name: str, args: tuple[Any, ...]) -> None:
    assert _worker is not None
    _run(_worker, name, args)


def _ready() -> bool:
    return _worker is not None


class ProcessJobs:
    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(settings,),
        )
        # Start the worker now, not inside the first acknowledgement.
        self.pool.submit(_ready).result(timeout=120)

    def bind(self, bot: SlackBot) -> None:
        pass  # the worker builds its own

    def submit(self, name: str, *args: Any) -> None:
        self.pool.submit(_run_in_worker, name, args)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)
