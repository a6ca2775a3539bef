"""`python -m bot serve`: the web application and Socket Mode when asked for. The
scheduled work (bot/runtime/scheduler.py: reminders, notices, e-mails, nudges) runs in the Slack
worker process, beside everything else that happens after an acknowledgement. With
Teams, its deliverer runs in this process on a BackgroundScheduler thread (with Teams
only, the whole scheduler does): proactive sends are outbound HTTP calls, not work that
competes with Slack's acknowledgements.

With no chat platform configured, this is the local service: the web application (the
calendar feeds), the platform-neutral scheduled work (reminders, check-ins, escalations,
digests, e-mail when configured) and the terminal inbox, which receives every notice —
read with `python -m bot console --as NAME`. Its clock may start at a given moment and
run faster than real time (`--clock`, `--speed`)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from bot.config import Settings
from bot.runtime import redact, scheduler
from bot.runtime.web import create_web_app
from bot.runtime.worker import ProcessJobs
from bot.slack.app import SlackBot
from bot.teams.app import TeamsBot
from handlers.core.context import Context
from handlers.core.i18n import t

log = logging.getLogger("dxdesk")


def run(
    ctx: Context, settings: Settings, *, speed: float = 1.0, files_dir: Path = scheduler.FILES
) -> int:
    local = not (settings.slack_enabled or settings.teams_enabled)
    redact.install(settings.secrets())  # before anything could log one
    slack = SlackBot(ctx, settings, jobs=ProcessJobs(settings)) if settings.slack_enabled else None
    teams = TeamsBot(ctx, settings) if settings.teams_enabled else None
    if teams is not None and settings.teams_anonymous:
        log.warning("Teams: anonymous mode, no token checks (local development only)")
    socket = None
    if slack is not None and settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket = SocketModeHandler(slack.app, settings.slack_app_token.get_secret_value())
        socket.connect()
        log.info("Slack: Socket Mode")
    clock = None
    if local:
        when = ctx.clock.now().strftime("%Y-%m-%d %H:%M")
        print(
            t(settings.language, "cli.serve.local", port=settings.port, clock=when, speed=speed),
            file=sys.stderr,
            flush=True,
        )
        clock = scheduler.start(ctx, settings, None, speed=speed, files_dir=files_dir)
    elif teams is not None:
        clock = scheduler.start(ctx, settings, None, teams, shared=slack is None)
    try:
        uvicorn.run(
            create_web_app(ctx, None if socket else slack, teams),
            host="0.0.0.0",
            port=settings.port,
            log_level=settings.log_level.lower(),
        )
    finally:
        if clock is not None:
            clock.shutdown(wait=False)
        if slack is not None:
            slack.jobs.shutdown()
        if socket is not None:
            socket.close()
    return 0
