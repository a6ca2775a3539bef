"""The desk as one mounted application: `desk_routes(ctx)` is what bot/runtime/web.py adds to
`serve`, everything under /desk — the sign-in pages (bot/desk/signin.py) and the pages
(bot/desk/pages.py).

It is a Starlette application of its own so that `auth.current_actor(request)` finds the
context on `request.app.state`, a refused form (`auth.CsrfRejected`) gets the desk's 403
page, and every answer carries the same protective headers: nothing cached (the pages
hold personal data), no framing by another site (a hidden approve button), no Referer
leaving with a sign-in link in it.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.desk.auth import CsrfRejected
from bot.desk.pages import page_routes
from bot.desk.signin import csrf_refused, signin_routes
from handlers.core.context import Context

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
}


def desk_routes(ctx: Context) -> list[BaseRoute]:
    """The desk, mounted at /desk (route names inside are used as they are)."""
    return [Mount("/desk", app=desk_app(ctx))]


def desk_app(ctx: Context) -> Starlette:
    """The desk's own application (tests may serve it alone, mounted at /desk)."""
    app = Starlette(
        routes=[*signin_routes(), *page_routes(ctx)],
        middleware=[Middleware(ProtectiveHeaders)],
        exception_handlers={CsrfRejected: csrf_refused},
    )
    app.state.ctx = ctx
    return app


class ProtectiveHeaders:
    """Adds `HEADERS` to every response the desk sends (a header a page set wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = "/static/" in scope["path"]  # the stylesheet may be cached

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers and not (name == "Cache-Control" and static):
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
