"""`python -m bot serve`: the web application, Socket Mode when asked for, and the
background jobs (queued notices, approval nudges, invite e-mails)."""

from __future__ import annotations

import logging
import sys

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler

from bot import mail
from bot.config import Settings
from bot.slack.app import SlackBot
from bot.slack.jobs import ProcessJobs
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
    slack = SlackBot(ctx, settings, jobs=ProcessJobs(settings))
    scheduler = BackgroundScheduler(timezone="Asia/Tokyo")
    # The jobs run in the worker process, like everything after an ack.
    scheduler.add_job(
        slack.jobs.submit,
        "interval",
        args=("deliver",),
        seconds=DELIVER_SECONDS,
        id="deliver",
        coalesce=True,
    )
    scheduler.add_job(
        slack.jobs.submit,
        "interval",
        args=("nudge",),
        minutes=NUDGE_MINUTES,
        id="nudge",
        coalesce=True,
    )
    if settings.smtp is not None:
        # Invite e-mails: SMTP waits on the network, not the interpreter, so this thread
        # of the serving process is fine for it.
        scheduler.add_job(
            mail.deliver_mail,
            "interval",
            args=(ctx, settings),
            seconds=DELIVER_SECONDS,
            id="mail",
            coalesce=True,
            max_instances=1,
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
        slack.jobs.shutdown()
        if socket is not None:
            socket.close()
    return 0
