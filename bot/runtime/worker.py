"""The Slack job worker: a process of its own that does the work after each
acknowledgement, and both ends of the pipe that feeds it — `ProcessJobs`, which the
serving process writes jobs into, and `main`, the worker process that reads them and
runs each in a thread (bot/slack/jobs.py: `ThreadJobs`, `run`). The service's timed
work (bot/runtime/scheduler.py) runs in this process too.

It lives here, not beside the job queue, because it is process wiring: it builds the
Slack bot and starts the scheduler, which the queue (imported by the bot) must not.
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
from multiprocessing.connection import Connection
from typing import Any

from bot.config import Settings
from bot.runtime import scheduler
from bot.runtime.wiring import build_context
from bot.slack.app import SlackBot
from bot.slack.jobs import Bot, ThreadJobs

log = logging.getLogger("dxdesk.slack")
WORKER_NICENESS = 19


def main(reader: Connection, settings: Settings, workers: int, ready: Any) -> None:
    """The worker process: build its own bot, then run every job that arrives until the
    server closes its end of the pipe (or dies: see `exit_with_parent`)."""
    lower_priority()  # acknowledgements are what Slack times; this can wait
    if settings.worker_cpus:
        # Kept off the serving process's CPUs: sharing one with it costs the acks more
        # than the CPU time the work takes (its caches, its migrations).
        os.sched_setaffinity(0, settings.worker_cpus)
    parent = os.getppid()
    threading.Thread(target=exit_with_parent, args=(parent,), daemon=True).start()
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


def exit_with_parent(parent: int) -> None:
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
            target=main,
            args=(reader, self.settings, self.workers, ready),
            name="dxdesk-jobs",
        )
        self.process.start()
        reader.close()
        if not ready.wait(timeout=120):
            raise RuntimeError("the Slack job worker did not start")

    def bind(self, bot: Bot) -> None:
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
