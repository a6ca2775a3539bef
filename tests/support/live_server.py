"""Run an ASGI app under uvicorn on a free loopback port for the duration of a test, or
one server for a whole module that each test plugs its own app into (`Switch`): starting
and stopping uvicorn takes longer than most tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn


@contextmanager
def serving(app: Any) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Switch:
    """The ASGI app a module's server runs: it passes each request to the app the
    current test mounted."""

    base: str = ""
    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.app is None:
            raise RuntimeError("no app mounted: a request outside any test")
        await self.app(scope, receive, send)

    @contextmanager
    def mounted(self, app: Any) -> Iterator[str]:
        """`app` served at the server's base URL until the block ends."""
        self.app = app
        try:
            yield self.base
        finally:
            self.app = None


@contextmanager
def switched() -> Iterator[Switch]:
    """One server, started now, for apps mounted later."""
    switch = Switch()
    with serving(switch) as base:
        switch.base = base
        yield switch
