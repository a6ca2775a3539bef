"""Where the Slack app's slow work runs once the request is acknowledged.

Bolt's own lazy listeners run in threads of the serving process: every lazy call deep-
copies the request, and the work then competes with the next acknowledgements for the
interpreter lock. Under load that is what made acks slow, so the serving process only
acknowledges and hands the payload on: to a worker process in production (`ProcessJobs`,
its own database connections and Web API client), or to threads of the same process in
tests and small set-ups (`ThreadJobs`, sharing the caller's context and clock).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import multiprocessing
import os
import pickle
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.slack.app import SlackBot

log = logging.getLogger("dxdesk.slack")
WORKER_NICENESS = 10


class Jobs(Protocol):
    def bind(self, bot: SlackBot) -> None: ...

    def submit(self, name: str, *args: Any) -> None: ...

    def alive(self) -> bool: ...

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

    def alive(self) -> bool:
        return True

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)


def _worker_main(reader: Connection, settings: Settings, workers: int, ready: Any) -> None:
    """The worker process: build its own bot, then run every job that arrives until the
    server closes its end of the pipe (or dies: see `_exit_with_parent`)."""
    from bot.slack.app import SlackBot
    from bot.wiring import build_context

    os.nice(WORKER_NICENESS)  # acknowledgements are what Slack times; this can wait
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    jobs = ThreadJobs(workers)
    SlackBot(build_context(settings), settings, jobs=jobs)
    ready.set()
    while True:
        try:
            name, args = pickle.loads(reader.recv_bytes())
        except EOFError:
            break
        jobs.submit(name, *args)
    jobs.shutdown()


def _exit_with_parent(parent: int) -> None:
    """A server killed by a signal cannot close the pipe; the worker notices and goes."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


class ProcessJobs:
    """Jobs written to a pipe that a worker process reads. A plain pipe write from the
    request thread: no executor bookkeeping thread fighting the acks for the GIL (a
    ProcessPoolExecutor doubled the acknowledgement time under load)."""

    PIPE_BYTES = 1 << 20  # room for hundreds of queued payloads before a write would wait

    def __init__(self, settings: Settings, workers: int = 4) -> None:
        self.settings = settings
        self.workers = workers
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        reader, self._writer = spawn.Pipe(duplex=False)
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(self._writer.fileno(), fcntl.F_SETPIPE_SZ, self.PIPE_BYTES)
        ready = spawn.Event()
        self.process = spawn.Process(
            target=_worker_main,
            args=(reader, self.settings, self.workers, ready),
            name="dxdesk-jobs",
        )
        self.process.start()
        reader.close()
        if not ready.wait(timeout=120):
            raise RuntimeError("the Slack job worker did not start")

    def bind(self, bot: SlackBot) -> None:
        pass  # the worker builds its own

    def submit(self, name: str, *args: Any) -> None:
        """Queue a job; a worker that died is started again and the job sent to it."""
        payload = pickle.dumps((name, args))
        with self._lock:
            try:
                self._writer.send_bytes(payload)
            except OSError:  # the worker is gone (the pipe has no reader): replace it
                log.exception("the Slack job worker stopped; starting a new one")
                self.process.kill()
                self.process.join(timeout=10)
                self._start()
                self._writer.send_bytes(payload)

    def alive(self) -> bool:
        return self.process.is_alive()

    def shutdown(self) -> None:
        self._writer.close()
        self.process.join(timeout=30)
