"""`python -m bot serve`: the web application, Socket Mode when asked for, and the
background jobs (queued notices, approval nudges)."""

from __future__ import annotations

import logging
import sys

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler

from bot.config import Settings
from bot.slack.app import SlackBot
from bot.web import create_web_app
from handlers.context import Context
from handlers.i18n import t

log = logging.getLogger("dxdesk")
DELIVER_SECONDS = 15
NUDGE_MINUTES = 60


def run(ctx: Context, settings: Settings) -> int:
    if not settings.slack_enabled:
        print(t(settings.language, "cli.serve.no_platform"), file=sys.stderr)
        return 2
    slack = SlackBot(ctx, settings)
    scheduler = BackgroundScheduler(timezone="Asia/Tokyo")
    scheduler.add_job(
        slack.deliver,
        "interval",
        seconds=DELIVER_SECONDS,
        id="deliver",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        slack.nudge, "interval", minutes=NUDGE_MINUTES, id="nudge", max_instances=1, coalesce=True
    )
    scheduler.start()
    socket = None
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket = SocketModeHandler(slack.app, settings.slack_app_token.get_secret_value())
        socket.connect()
        log.info("Slack: Socket Mode")
    try:
        uvicorn.run(
            create_web_app(ctx, None if socket else slack),
            host="0.0.0.0",
            port=settings.port,
            log_level=settings.log_level.lower(),
        )
    finally:
        scheduler.shutdown(wait=False)
        if socket is not None:
            socket.close()
    return 0
