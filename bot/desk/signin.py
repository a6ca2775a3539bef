"""The sign-in pages of the desk: a one-time link's page and its button, "please sign in",
sign-out, and the page of a refused form (a CSRF failure).

`GET /desk/signin/{token}` only looks at the link (a chat preview or a mail scanner
fetching it must not spend it) and shows one button; `POST` spends it and opens the
session. That POST is guarded too, against a page elsewhere signing someone in as the
attacker (login CSRF): the GET sets a short-lived nonce cookie that the form repeats, and
a SameSite cookie never comes with another site's POST.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.desk import auth
from handlers.core.errors import Refused
from handlers.core.i18n import render, t
from handlers.core.intents import record_refusal
from handlers.desk import signin
from handlers.desk.signin import ABSOLUTE, IDLE, LINK_VALID, LinkState

NONCE_COOKIE = "dxdesk_signin"
NONCE_FIELD = "nonce"
NEXT_COOKIE = "dxdesk_next"  # the page that sent the browser to sign in, to return to
HOME = "/desk/"
STATUS = {LinkState.UNKNOWN: 404, LinkState.EXPIRED: 410, LinkState.USED: 410}


def signin_routes() -> list[Route]:
    return [
        Route("/signin", required, methods=["GET"], name="desk.signin"),
        Route("/signin/{token}", confirm, methods=["GET"], name="desk.signin.link"),
        Route("/signin/{token}", spend, methods=["POST"], name="desk.signin.spend"),
        Route("/signout", sign_out, methods=["POST"], name="desk.signout"),
    ]


async def required(request: Request) -> Response:
    """Where a page sends a browser without a session; the page it came from (`next`)
    is remembered, so the link asked for next brings the reader back to it."""
    lang = auth.context_of(request).rules.language
    response = page(
        lang,
        t(lang, "desk.signin.required_title"),
        [t(lang, "desk.signin.required"), t(lang, "desk.signin.how")],
        status=401,
    )
    back = request.query_params.get("next", "")
    if within_desk(back):
        response.set_cookie(
            NEXT_COOKIE,
            back,
            max_age=int(2 * LINK_VALID.total_seconds()),
            path="/desk/signin",
            secure=auth.secure_cookies(request),
            httponly=True,
            samesite="lax",
        )
    return response


async def confirm(request: Request) -> Response:
    """A link's page: whose it is and the button, or why it cannot be used (audited)."""
    ctx = auth.context_of(request)
    check = await run_in_threadpool(signin.check_link, ctx, request.path_params["token"])
    if check.actor is None:
        return refused(ctx.rules.language, check.state)
    lang = check.actor.language
    nonce = secrets.token_urlsafe(16)
    response = page(
        lang,
        t(lang, "desk.signin.title"),
        [t(lang, "desk.signin.confirm", name=check.actor.name)],
        form={
            "action": request.url.path,
            "hidden": {NONCE_FIELD: nonce},
            "button": t(lang, "desk.signin.button"),
        },
        notes=[session_note(lang)],
    )
    response.set_cookie(
        NONCE_COOKIE,
        nonce,
        max_age=int(LINK_VALID.total_seconds()),
        path=request.url.path,
        secure=auth.secure_cookies(request),
        httponly=True,
        samesite="lax",
    )
    return response


async def spend(request: Request) -> Response:
    """The button: spend the link, open the session, on to the dashboard."""
    ctx = auth.context_of(request)
    form = await request.form()
    sent, kept = form.get(NONCE_FIELD), request.cookies.get(NONCE_COOKIE)
    if not (isinstance(sent, str) and kept and hmac.compare_digest(sent, kept)):
        refusal = Refused("desk.csrf.title", target_type="path", target_id="signin")
        await run_in_threadpool(record_refusal, ctx, None, "desk.csrf", refusal)
        raise auth.CsrfRejected(ctx.rules.language)
    check, secret = await run_in_threadpool(
        signin.sign_in_with_link, ctx, request.path_params["token"]
    )
    if secret is None:
        return refused(ctx.rules.language, check.state)
    back = request.cookies.get(NEXT_COOKIE, "")
    response = RedirectResponse(back if within_desk(back) else HOME, status_code=303)
    auth.set_session_cookie(request, response, secret)
    response.delete_cookie(NONCE_COOKIE, path=request.url.path)
    response.delete_cookie(NEXT_COOKIE, path="/desk/signin")
    return response


def within_desk(path: str) -> bool:
    """A page of the desk on this site, never somewhere else (an open redirect)."""
    return (
        path.startswith(HOME)
        and len(path) <= 300
        and not path.startswith(f"{HOME}signin")
        and not any(mark in path for mark in ("//", "\\", "..", "\n", "\r"))
    )


async def sign_out(request: Request) -> Response:
    """「サインアウト」 on any page: a POST with the form token, ends this session."""
    ctx = auth.context_of(request)
    await auth.check_csrf(request, await request.form())
    actor = await auth.current_actor(request)
    secret = request.cookies.get(auth.COOKIE, "")
    await run_in_threadpool(signin.sign_out, ctx, secret)
    lang = actor.language if actor else ctx.rules.language
    response = page(
        lang,
        t(lang, "desk.signin.signed_out"),
        [t(lang, "desk.signin.how")],
    )
    auth.clear_session_cookie(request, response)
    return response


async def csrf_refused(request: Request, error: Exception) -> Response:
    """The page of a refused form (`auth.CsrfRejected`, already audited)."""
    language = getattr(error, "language", auth.context_of(request).rules.language)
    return page(
        language,
        t(language, "desk.csrf.title"),
        [t(language, "desk.csrf.body")],
        status=403,
        error=True,
    )


def refused(lang: str, state: LinkState) -> Response:
    minutes = int(LINK_VALID.total_seconds() // 60)
    return page(
        lang,
        t(lang, "desk.signin.failed_title"),
        [t(lang, signin.LINK_REFUSALS[state], minutes=minutes), t(lang, "desk.signin.how")],
        status=STATUS[state],
        error=True,
    )


def session_note(lang: str) -> str:
    def hours(span: timedelta) -> int:
        return int(span.total_seconds() // 3600)

    return t(lang, "desk.signin.session_note", idle=hours(IDLE), absolute=hours(ABSOLUTE))


def page(
    lang: str,
    title: str,
    paragraphs: list[str],
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    notes: list[str] | None = None,
    error: bool = False,
) -> HTMLResponse:
    html = render(
        lang,
        "desk/signin.html.j2",
        lang=lang,
        title=title,
        paragraphs=paragraphs,
        form=form,
        notes=notes or [],
        error=error,
    )
    return HTMLResponse(html, status_code=status)
