"""The one ASGI application `serve` runs: Slack's single request URL, a health check and
the private calendar feeds, and Teams' `/api/messages` (bot/teams/entry.py).

Bolt's sync App is dispatched in Starlette's thread pool so a slow database call never
stalls the event loop; Bolt itself verifies every signature before any listener runs.
"""

from __future__ import annotations

import gc
import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.desk.app import desk_routes
from bot.runtime import redact
from bot.runtime.outage import busy, unreachable
from bot.slack.app import SlackBot
from bot.teams.app import TeamsBot
from handlers.core.context import Context
from handlers.core.i18n import t
from handlers.scheduling import feeds


def create_web_app(
    ctx: Context, slack: SlackBot | None, teams: TeamsBot | None = None
) -> Starlette:
    redact.install()  # feed and sign-in tokens never reach the access log in clear

    async def healthz(_: Request) -> Response:
        healthy = await run_in_threadpool(ctx.db.ping)
        healthy = healthy and (slack is None or slack.jobs.alive())
        return JSONResponse({"ok": healthy}, status_code=200 if healthy else 503)

    async def calendar_feed(request: Request) -> Response:
        """A private feed: the token is the only credential, so an unknown or revoked one
        gets a bare 404 that says nothing about why."""
        try:
            feed = await run_in_threadpool(feeds.feed_for, ctx, request.path_params["token"])
        except Exception as error:
            if not unreachable(error):
                raise
            return busy(ctx)
        if feed is None:
            return Response(status_code=404)
        return Response(
            feed,
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/calendar/{token}.ics", calendar_feed, methods=["GET"]),
        Route("/privacy", notice_page("web.privacy", ctx), methods=["GET"]),
        Route("/terms", notice_page("web.terms", ctx), methods=["GET"]),
        *desk_routes(ctx),  # the prefecture's desk in the browser, under /desk
    ]
    if slack is not None:

        async def slack_events(request: Request) -> Response:
            body = await request.body()
            bolt_request = to_bolt_request(request, body)
            bolt_response = await run_in_threadpool(slack.app.dispatch, bolt_request)
            return to_starlette_response(bolt_response)

        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    if teams is not None:
        routes.append(Route("/api/messages", teams.handle, methods=["POST"]))
    return Starlette(routes=routes, lifespan=freeze_heap)


@asynccontextmanager
async def freeze_heap(_: Starlette) -> AsyncIterator[None]:
    """Move everything loaded at start-up (SQLAlchemy metadata, Bolt, the catalogs) out of
    the garbage collector's sight: otherwise each full collection walks it all and stalls
    every request in flight for tens of milliseconds."""
    gc.collect()
    gc.freeze()
    yield


NOTICE_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto; line-height: 1.7">
<h1>{title}</h1><p>{body}</p></body></html>
"""


def notice_page(key: str, ctx: Context) -> Any:
    """A short public page the Teams app package links to (privacyUrl, termsOfUseUrl,
    websiteUrl), in the desk's language, from the catalog."""
    lang = ctx.rules.language
    page = NOTICE_PAGE.format(
        lang=html.escape(lang),
        title=html.escape(t(lang, f"{key}.title")),
        body=html.escape(t(lang, f"{key}.body")),
    )

    async def show(_: Request) -> Response:
        return HTMLResponse(page)

    return show
