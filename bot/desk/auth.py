"""Who is signed in to the desk, and the guard on every form it posts.

The contract the pages code against:

- `await current_actor(request)` — the signed-in person as an `Actor`, or None (then
  `sign_in_redirect(request)`: the Japanese 「サインインしてください」 page). Asked once
  per request; later calls reuse the answer.
- `csrf_token(request)` — put it in every form as the hidden field `csrf` (`CSRF_FIELD`).
- `await check_csrf(request, form)` — first thing in every POST; a missing or wrong
  token raises `CsrfRejected` (audited), which the desk answers with a 403 page.

The session cookie holds a random secret (stored hashed, storage/web_sessions.py):
HttpOnly, SameSite=Lax, scoped to /desk, and Secure except over plain http on the
machine itself (development: http://localhost or 127.0.0.1). The CSRF token is an HMAC
of that secret, so it needs no storage, differs per session, and cannot be computed
from anything in the database. `start_session` is the seam for other ways of signing
in (Entra ID, Slack): prove who the person is, then call it with the method's name.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import t
from handlers.core.intents import record_refusal
from handlers.desk import signin
from handlers.desk.signin import ABSOLUTE

COOKIE = "dxdesk_session"
COOKIE_PATH = "/desk"
CSRF_FIELD = "csrf"
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_ACTOR = "dxdesk.actor"  # the request scope's cache of current_actor's answer


class CsrfRejected(HTTPException):
    """A form posted without this session's token (another site, or a stale page)."""

    def __init__(self, language: str) -> None:
        super().__init__(403, t(language, "desk.csrf.body"))
        self.language = language


def context_of(connection: HTTPConnection) -> Context:
    """The handlers' context, kept on the desk's application (bot/desk/app.py)."""
    ctx: Context = connection.app.state.ctx
    return ctx


async def current_actor(request: HTTPConnection) -> Actor | None:
    """The person whose live session this browser holds, or None."""
    if _ACTOR in request.scope:
        cached: Actor | None = request.scope[_ACTOR]
        return cached
    secret = request.cookies.get(COOKIE)
    actor = None
    if secret:
        actor = await run_in_threadpool(signin.resume, context_of(request), secret)
    request.scope[_ACTOR] = actor
    return actor


def csrf_token(request: HTTPConnection) -> str:
    """This session's form token ("" without a session: no form can then pass)."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return ""
    return hmac.new(secret.encode("utf-8"), b"dxdesk-desk-csrf", hashlib.sha256).hexdigest()


async def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Raise `CsrfRejected` (audited as a refusal of "desk.csrf") unless the form
    carries this session's token."""
    expected = csrf_token(request)
    sent = form.get(CSRF_FIELD)
    if expected and isinstance(sent, str) and hmac.compare_digest(sent, expected):
        return
    ctx = context_of(request)
    actor = await current_actor(request)
    refusal = Refused("desk.csrf.title", target_type="path", target_id=request.url.path[-50:])
    await run_in_threadpool(record_refusal, ctx, actor, "desk.csrf", refusal)
    raise CsrfRejected(actor.language if actor else ctx.rules.language)


def sign_in_redirect(request: HTTPConnection) -> RedirectResponse:
    """Where a page sends a browser with no session: the sign-in explanation, which
    remembers this page to come back to once signed in."""
    path = request.url_for("desk.signin").path
    if request.scope.get("method", "GET") != "GET":  # a form's target is no page to return to
        return RedirectResponse(path, status_code=303)
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{path}?{urlencode({'next': back})}", status_code=303)


async def start_session(request: Request, response: Response, person_id: int, method: str) -> None:
    """Open a session for a person already proven to be who they are (by `method`) and
    hand its cookie to the browser with `response`."""
    secret = await run_in_threadpool(signin.start_session, context_of(request), person_id, method)
    set_session_cookie(request, response, secret)


def set_session_cookie(request: HTTPConnection, response: Response, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(ABSOLUTE.total_seconds()),
        path=COOKIE_PATH,
        secure=secure_cookies(request),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(request: HTTPConnection, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=secure_cookies(request), httponly=True, samesite="lax"
    )


def secure_cookies(request: HTTPConnection) -> bool:
    """Secure everywhere but plain http on this machine (development). Behind a proxy
    that ends TLS, uvicorn takes the scheme from X-Forwarded-Proto: still Secure."""
    return not (request.url.scheme == "http" and (request.url.hostname or "") in LOOPBACK)
