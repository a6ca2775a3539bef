"""The database out of reach for a while (restarting, failing over, a cut network):
every entry point of `serve` answers a short "try again" (catalog `service.busy`) instead
of a traceback, nothing crashes, and the service recovers by itself — PostgreSQL's pool
checks each connection before use (storage.db: pool_pre_ping), so the first request
after the outage gets a fresh one.

Where the answer is given: Slack requests in `SlackBot.busy_answer` (Bolt's error
handler), Slack work after the ack in bot/slack/jobs.py, Teams activities in the turn-
error handler (bot/teams/transport.py), the calendar feeds in bot/runtime/web.py.
"""

from __future__ import annotations

from sqlalchemy import exc
from starlette.responses import PlainTextResponse, Response

from handlers.core.context import Context
from handlers.core.i18n import t

BUSY_RETRY_SECONDS = 30

SQLITE_OUTAGES = ("locked", "unable to open", "disk i/o")
"""SQLite's OperationalErrors that pass (a writer holding the file past the busy
timeout, a file being replaced); others ("no such table") are bugs, not outages."""


def unreachable(error: BaseException | None) -> bool:
    """Whether `error`, or what caused it, says the database cannot be reached now: a
    refused, dropped or timed-out connection, a pool with none to give, PostgreSQL
    refusing connections or rolling back a deadlock. A retry in a moment may work."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, exc.DisconnectionError | exc.TimeoutError):
            return True
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, exc.OperationalError | exc.InterfaceError):
            module = type(error.orig).__module__ if error.orig is not None else ""
            if not module.startswith("sqlite3"):
                return True
            return any(sign in str(error.orig).lower() for sign in SQLITE_OUTAGES)
        error = error.__cause__ or error.__context__
    return False


def busy(ctx: Context) -> Response:
    """The web answer while the database is out of reach (the calendar feeds, the desk):
    503 with a short 「混み合っています」 and a Retry-After a client honours, no traceback."""
    text = t(ctx.rules.language, "service.busy")
    headers = {"Retry-After": str(BUSY_RETRY_SECONDS)}
    return PlainTextResponse(text, status_code=503, headers=headers)
