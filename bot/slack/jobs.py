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
import struct
import termios
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Protocol

from bot.outage import unreachable

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.slack.app import SlackBot

log = logging.getLogger("dxdesk.slack")
WORKER_NICENESS = 19


class Jobs(Protocol):
    def bind(self, bot: SlackBot) -> None: ...

    def submit(self, name: str, *args: Any) -> None: ...

    def alive(self) -> bool: ...

    def shutdown(self) -> None: ...


BUSY_TOLD = ("on_command", "on_shortcut", "on_action")
"""Jobs answering a person, who is told 「混み合っています」 when the database is out of reach."""


ONCE = (*BUSY_TOLD, "on_home")
"""Jobs for a payload Slack may deliver again: claimed (`SlackBot.claim`) before the work."""


def _run(bot: SlackBot, name: str, args: tuple[Any, ...]) -> None:
    once = name in ONCE
    try:
        if once and not bot.claim(args[0]):
            return
        getattr(bot, name)(*args)
    except Exception as error:
        if once:
            with contextlib.suppress(Exception):  # the retry is handled, not dropped
                bot.forget(args[0])
        if not (unreachable(error) and name in BUSY_TOLD):
            log.exception("Slack job %s failed", name)
            return
        log.warning("Slack job %s: database unreachable, the person is told to retry", name)
        try:
            bot.tell_busy(args[0])
        except Exception:
            log.exception("Slack job %s: the busy answer failed too", name)


class ThreadJobs:
    def __init__(self, workers: int = 4) -> None:
        self.pool: Executor = ThreadPoolExecutor(workers, thread_name_prefix="dxdesk-slack")
        self.bot: SlackBot | None = None
        self._pending: set[Future[None]] = set()

    def bind(self, bot: SlackBot) -> None:
        self.bot = bot

    def submit(self, name: str, *args: Any) -> None:
        assert self.bot is not None
        future = self.pool.submit(_run, self.bot, name, args)
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


def _worker_main(reader: Connection, settings: Settings, workers: int, ready: Any) -> None:
    """The worker process: build its own bot, then run every job that arrives until the
    server closes its end of the pipe (or dies: see `_exit_with_parent`)."""
    from bot import scheduler
    from bot.slack.app import SlackBot
    from bot.wiring import build_context

    lower_priority()  # acknowledgements are what Slack times; this can wait
    if settings.worker_cpus:
        # Kept off the serving process's CPUs: sharing one with it costs the acks more
        # than the CPU time the work takes (its caches, its migrations).
        os.sched_setaffinity(0, settings.worker_cpus)
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    jobs = ThreadJobs(workers)
    ctx = build_context(settings)
    bot = SlackBot(ctx, settings, jobs=jobs)
    clock = scheduler.start(ctx, settings, bot)  # the service's timed work runs here too
    ready.set()
    while True:
        try:
            name, args = pickle.loads(reader.recv_bytes())
        except EOFError:
            break
        jobs.submit(name, *args)
    clock.shutdown(wait=False)
    jobs.shutdown()


def lower_priority() -> None:
    """Run only when the serving process does not want the CPU. SCHED_IDLE (Linux) is
    preempted at once by a waking acknowledgement; a niced process may first finish its
    time slice, which under load shows up as ack latency. Elsewhere: the lowest nice."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(WORKER_NICENESS)


def _exit_with_parent(parent: int) -> None:
    """A server killed by a signal cannot close the pipe; the worker notices and goes."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


class ProcessJobs:
    """Jobs written to a pipe that a worker process reads.

    The request thread writes straight into the pipe while it has room, which cannot
    block; once it is full (the worker is behind, or restarting) payloads wait in memory
    and one feeder thread writes them as the worker catches up, so an acknowledgement
    never waits for the worker. (A ProcessPoolExecutor's bookkeeping thread doubled the
    acknowledgement time under load.)"""

    PIPE_BYTES = 1 << 20

    def __init__(self, settings: Settings, workers: int = 4) -> None:
        self.settings = settings
        self.workers = workers
        self._lock = threading.Lock()
        self._backlog: deque[bytes] = deque()
        self._feeding = False
        self._start()

    def _start(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        reader, self._writer = spawn.Pipe(duplex=False)
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(self._writer.fileno(), fcntl.F_SETPIPE_SZ, self.PIPE_BYTES)
        self._capacity = fcntl.fcntl(self._writer.fileno(), fcntl.F_GETPIPE_SZ)
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
        payload = pickle.dumps((name, args))
        with self._lock:
            if not self._backlog and not self._feeding and self._room() > len(payload) + 64:
                self._send(payload)
                return
            self._backlog.append(payload)
            if not self._feeding:
                self._feeding = True
                threading.Thread(target=self._feed, name="dxdesk-jobs-feed", daemon=True).start()

    def _room(self) -> int:
        queued = fcntl.ioctl(self._writer.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return self._capacity - int(struct.unpack("i", queued)[0])

    def _feed(self) -> None:
        while True:
            with self._lock:
                if not self._backlog:
                    self._feeding = False
                    return
                payload = self._backlog.popleft()
            self._send(payload)  # may wait for the worker: only this thread does

    def _send(self, payload: bytes) -> None:
        """Write one job; a worker that died is replaced and the job sent to the new one."""
        try:
            self._writer.send_bytes(payload)
        except OSError:  # the pipe has no reader any more
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
