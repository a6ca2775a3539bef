"""One event loop, on a thread of its own, for the Teams sends that start in synchronous
code (the scheduler's deliver and nudge runs). The SDK is asynchronous; a new loop for
every send (`asyncio.run`) would build and tear down a loop, and the connections opened
on it, each time. This loop starts with the first send and lives as long as the process,
and any number of scheduler threads hand it their sends at once.

A coroutine that is already on an event loop (an HTTP turn) awaits the SDK directly:
`run` is for threads without a loop, and refuses to be called from this loop's own
thread, where waiting for the result could never end.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop running forever on a daemon thread, started on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the loop and wait for its result (or its exception)."""
        loop = self._started()
        if threading.current_thread() is self._thread:
            work.close()
            raise RuntimeError("LoopThread.run called from its own loop: await instead")
        return asyncio.run_coroutine_threadsafe(work, loop).result()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


SENDS = LoopThread("dxdesk-teams-sends")
"""The process's one loop for Teams sends from synchronous code."""


def run(work: Coroutine[Any, Any, T]) -> T:
    """`work` on the process's send loop; its result, or the exception it raised."""
    return SENDS.run(work)
