"""The desk's pages (issue #19): ダッシュボード, カレンダー, 市町村, 監査ログ, 名簿, ダウンロード.

Each page is a thin adapter: who is signed in (auth.current_actor), the view's data
(handlers.desk.views, run in the thread pool like every database call), a Jinja2
template in templates/desk. Every form posts to `act`, which runs the chat's own intent
(handlers.intake.decision, handlers.people.roster) after the CSRF check, so a decision taken here is
the same decision, audited the same way, as one taken with a chat button. A refused view
is a 403 page in the reader's language (audited by desk_views.viewed).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib.resources import files
from typing import Any, get_args
from urllib.parse import quote, urlencode

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import NoMatchFound, Route

from bot.desk import auth
from bot.runtime.edge import logged
from bot.runtime.outage import busy, unreachable
from handlers import router
from handlers.core import policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import environment, t
from handlers.core.reply import Fields, Reply, Text, TextStyle
from handlers.core.text_rules import as_text_cells, csv_cell
from handlers.desk import views
from handlers.desk.views import AuditFilter, Role
from handlers.documents import build
from handlers.intake import decision
from handlers.people import roster

log = logging.getLogger("dxdesk")

WITH_REF = router.routes(decision.approve, decision.decline, decision.ask_info)
"""A request's intents a page may post: they take its reference (the form's `context`)."""
ACTIONS: dict[str, Callable[..., Reply]] = {
    **WITH_REF,
    **router.routes(roster.add, roster.edit, roster.deactivate, roster.link, roster.merge),
}
"""What a page's form may post: the chat's own intents, under the names they are declared
with; the roster's take only the values."""
HIDDEN = frozenset({"csrf", "context", "back"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@cache
def pages_environment(language: str) -> Environment:
    """The catalog environment, escaping everything: the catalog's own decides by file
    extension and these templates end in .j2, while every page shows what people typed."""
    return environment(language).overlay(autoescape=True)


def page_routes(ctx: Context) -> list[Route]:
    """The pages, relative to where app.py mounts the desk (/desk)."""
    desk = Pages(ctx)
    return [
        Route("/", desk.dashboard, name="desk.dashboard"),
        Route("/calendar", desk.calendar, name="desk.calendar"),
        Route("/towns", desk.towns, name="desk.towns"),
        Route("/towns/{municipality_id:int}", desk.town, name="desk.town"),
        Route("/sessions/{session_id:int}", desk.session, name="desk.session"),
        Route("/audit", desk.audit, name="desk.audit"),
        Route("/audit.csv", desk.audit_csv, name="desk.audit_csv"),
        Route("/audit.xlsx", desk.audit_xlsx, name="desk.audit_xlsx"),
        Route("/roster", desk.roster, name="desk.roster"),
        Route("/downloads", desk.downloads, name="desk.downloads"),
        Route("/downloads/file", desk.download, name="desk.download"),
        Route("/act/{action}", desk.act, methods=["POST"], name="desk.act"),
        Route("/static/desk.css", desk.stylesheet, name="desk.css"),
    ]


Handler = Callable[[Request, Actor], Awaitable[Response]]


def signed_in(handler: Handler) -> Callable[[Any, Request], Awaitable[Response]]:
    """Who is signed in, else the sign-in page; a refusal becomes the 403 page and
    anything unexpected the error page with its reference (and a log line)."""

    async def run(self: Pages, request: Request) -> Response:
        try:
            actor = await auth.current_actor(request)
        except Exception as error:
            if unreachable(error):
                return busy(self.ctx)
            raise
        if actor is None:
            return auth.sign_in_redirect(request)
        try:
            return await handler(self, request, actor)  # type: ignore[call-arg]
        except HTTPException:
            raise  # the desk application answers these (auth.CsrfRejected: its 403 page)
        except Refused as refusal:
            return self.render(
                request, actor, "desk/refused.j2", {"message": refusal.text(actor.language)}, 403
            )
        except Exception as error:
            if unreachable(error):
                return busy(self.ctx)
            reference = logged(log, "unexpected error on %s", request.url.path)
            text = t(actor.language, "error.unexpected", ref=reference)
            return self.render(request, actor, "desk/refused.j2", {"message": text}, 500)

    return run


class Pages:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- rendering -------------------------------------------------------------------
    def render(
        self,
        request: Request,
        actor: Actor,
        template: str,
        data: dict[str, Any],
        status: int = 200,
    ) -> HTMLResponse:
        env = pages_environment(actor.language)
        shown_flash = flash_of(request)
        html = env.get_template(template).render(
            request=request,
            actor=actor,
            nav=navigation(actor),
            csrf=auth.csrf_token(request),
            url=lambda name, query=None, **params: url(request, name, query, **params),
            now=self.ctx.clock.now(),
            tokyo=TOKYO,
            one_day=timedelta(days=1),
            label=lambda prefix, value: t(actor.language, f"{prefix}{value}"),
            signout=optional_url(request, "desk.signout"),
            flash=shown_flash,
            **data,
        )
        response = HTMLResponse(html, status_code=status)
        if shown_flash:
            response.delete_cookie(FLASH, path=auth.COOKIE_PATH)
        return response

    async def view(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(function, self.ctx, *args, **kwargs)

    # -- pages -----------------------------------------------------------------------
    @signed_in
    async def dashboard(self, request: Request, actor: Actor) -> Response:
        if actor.role == Role.MUNICIPAL:  # their dashboard is their town's page
            return RedirectResponse(
                url(request, "desk.town", municipality_id=actor.municipality_id), 303
            )
        data = await self.view(views.dashboard, actor)
        return self.render(request, actor, "desk/dashboard.j2", {"d": data})

    @signed_in
    async def calendar(self, request: Request, actor: Actor) -> Response:
        query = request.query_params
        data = await self.view(
            views.calendar_view,
            actor,
            view=query.get("view", "month"),
            anchor=_date(query.get("day")),
            consultant_id=_int(query.get("consultant")),
            municipality_id=_int(query.get("town")),
        )
        return self.render(request, actor, "desk/calendar.j2", {"c": data})

    @signed_in
    async def towns(self, request: Request, actor: Actor) -> Response:
        if actor.role == Role.MUNICIPAL:
            return RedirectResponse(
                url(request, "desk.town", municipality_id=actor.municipality_id), 303
            )
        towns = await self.view(views.towns_list, actor)
        return self.render(request, actor, "desk/towns.j2", {"towns": towns})

    @signed_in
    async def town(self, request: Request, actor: Actor) -> Response:
        municipality_id = int(request.path_params["municipality_id"])
        data = await self.view(views.town_view, actor, municipality_id)
        return self.render(request, actor, "desk/town.j2", {"v": data})

    @signed_in
    async def session(self, request: Request, actor: Actor) -> Response:
        session_id = int(request.path_params["session_id"])
        data = await self.view(views.session_view, actor, session_id)
        return self.render(request, actor, "desk/session.j2", {"s": data})

    @signed_in
    async def audit(self, request: Request, actor: Actor) -> Response:
        where = audit_filter(request)
        data = await self.view(views.audit_view, actor, where)
        return self.render(
            request,
            actor,
            "desk/audit.j2",
            {"a": data, "query": dict(request.query_params), "shown": views.AUDIT_SHOWN},
        )

    @signed_in
    async def audit_csv(self, request: Request, actor: Actor) -> Response:
        header, rows = await self.view(views.audit_table, actor, audit_filter(request))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows([csv_cell(value) for value in row] for row in rows)
        # a byte-order mark: Excel then reads the Japanese as UTF-8
        content = ("\ufeff" + buffer.getvalue()).encode("utf-8")
        return download(content, t(actor.language, "page.audit.file") + ".csv", "text/csv")

    @signed_in
    async def audit_xlsx(self, request: Request, actor: Actor) -> Response:
        header, rows = await self.view(views.audit_table, actor, audit_filter(request))
        content = await run_in_threadpool(workbook, header, rows)
        return download(content, t(actor.language, "page.audit.file") + ".xlsx", XLSX)

    @signed_in
    async def roster(self, request: Request, actor: Actor) -> Response:
        data = await self.view(views.roster_view, actor)
        return self.render(request, actor, "desk/roster.j2", {"r": data})

    @signed_in
    async def downloads(self, request: Request, actor: Actor) -> Response:
        found, towns = await self.view(views.downloads, actor)
        return self.render(request, actor, "desk/downloads.j2", {"docs": found, "towns": towns})

    @signed_in
    async def download(self, request: Request, actor: Actor) -> Response:
        """One document, made by the chat's own `report.request` (checked, audited)."""
        query = request.query_params
        values = {
            "report_document": query.get("kind", ""),
            "report_format": query.get("format", ""),
            "municipality": query.get("town", ""),
            "report_from": query.get("from", ""),
            "report_to": query.get("to", ""),
        }
        reply = await self.view(build.request_report, actor, values)
        if reply.ok and reply.files:
            file = reply.files[0]
            return download(file.content, file.name, file.mime)
        back = url(request, "desk.downloads")
        return self.reply_page(request, actor, reply, back, status=200 if reply.ok else 400)

    @signed_in
    async def act(self, request: Request, actor: Actor) -> Response:
        """A page's form, posted to the chat's own intent (after the CSRF check)."""
        form = await request.form()
        await auth.check_csrf(request, form)
        name = request.path_params["action"]
        intent = ACTIONS.get(name)
        if intent is None:
            return Response(status_code=404)
        values: dict[str, Any] = {}
        for key in form:
            if key not in HIDDEN:
                found = [str(v) for v in form.getlist(key)]
                values[key] = found if len(found) > 1 else found[0]
        args = (str(form.get("context", "")), values) if name in WITH_REF else (values,)
        reply = await run_in_threadpool(intent, self.ctx, actor, *args)
        back = _local(str(form.get("back", ""))) or url(request, "desk.dashboard")
        if reply.ok and reply.form is None:  # done: back where it was asked, told there
            return back_with_flash(request, back, reply)
        return self.reply_page(request, actor, reply, back, status=200 if reply.ok else 400)

    def reply_page(
        self, request: Request, actor: Actor, reply: Reply, back: str, status: int = 200
    ) -> Response:
        """What an intent answered: its texts, and its form again with every error."""
        return self.render(request, actor, "desk/reply.j2", {"reply": reply, "back": back}, status)

    async def stylesheet(self, request: Request) -> Response:
        return Response(
            stylesheet(),
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )


# -- helpers -----------------------------------------------------------------------------
FLASH = "dxdesk_flash"
FLASH_LIMIT = 3000  # bytes of the cookie's value: a browser keeps 4 KB per cookie


def back_with_flash(request: Request, back: str, reply: Reply) -> Response:
    """After a decision, the page it was taken on (303: a reload does not post it
    again), with what the intent answered shown at its top once (a short-lived cookie
    read by the next page `render`s)."""
    lines = [[b.style, b.text] for b in reply.blocks if isinstance(b, Text)]
    lines += [
        ["plain", f"{f.label}: {f.value}"]
        for b in reply.blocks
        if isinstance(b, Fields)
        for f in b.items
    ]
    value = base64.urlsafe_b64encode(json.dumps(lines, ensure_ascii=False).encode()).decode()
    response = RedirectResponse(back, status_code=303)
    if len(value) <= FLASH_LIMIT:
        response.set_cookie(
            FLASH,
            value,
            max_age=60,
            path=auth.COOKIE_PATH,
            secure=auth.secure_cookies(request),
            httponly=True,
            samesite="lax",
        )
    return response


def flash_of(request: Request) -> list[tuple[str, str]]:
    """The answer `back_with_flash` left for this page ([] when none or unreadable: it
    is shown escaped like every text, so a forged one can only show its sender words)."""
    value = request.cookies.get(FLASH)
    if not value:
        return []
    try:
        lines = json.loads(base64.urlsafe_b64decode(value.encode()))
        return [(str(style), str(text)) for style, text in lines if style in STYLES]
    except (ValueError, TypeError):
        return []


STYLES = frozenset(get_args(TextStyle))


@cache
def stylesheet() -> bytes:
    return (files("bot.desk") / "static" / "desk.css").read_bytes()


def navigation(actor: Actor) -> list[tuple[str, str]]:
    """The menu: (route name, catalog key) of the pages this person may open."""
    entries = []
    if policy.allowed(actor, views.dashboard):
        entries.append(("desk.dashboard", "page.nav.dashboard"))
    entries.append(("desk.calendar", "page.nav.calendar"))
    entries.append(("desk.towns", "page.nav.towns"))
    if policy.allowed(actor, views.audit_view):
        entries.append(("desk.audit", "page.nav.audit"))
    if policy.allowed(actor, views.roster_view):
        entries.append(("desk.roster", "page.nav.roster"))
    if policy.allowed(actor, views.downloads):
        entries.append(("desk.downloads", "page.nav.downloads"))
    return entries


def url(request: Request, name: str, query: dict[str, Any] | None = None, **params: Any) -> str:
    path = str(request.url_for(name, **params).path)
    shown = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    return f"{path}?{urlencode(shown)}" if shown else path


def optional_url(request: Request, name: str) -> str | None:
    """A route of app.py's (sign-out) when it is there: the pages work without it."""
    try:
        return url(request, name)
    except NoMatchFound:
        return None


def download(content: bytes, name: str, mime: str) -> Response:
    return Response(
        content,
        media_type=mime,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def workbook(header: list[str], rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook  # only here: the audit's Excel export needs it

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
        as_text_cells(sheet[sheet.max_row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def audit_filter(request: Request) -> AuditFilter:
    query = request.query_params
    start, end = _date(query.get("from")), _date(query.get("to"))
    return AuditFilter(
        person_id=_int(query.get("person")),
        action=query.get("action") or None,
        municipality_id=_int(query.get("town")),
        start=datetime.combine(start, time(0), TOKYO) if start else None,
        end=datetime.combine(end + timedelta(days=1), time(0), TOKYO) if end else None,
        outcome=query.get("outcome") or None,
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _local(path: str) -> str:
    """Only a path on this site goes back (no open redirect)."""
    return path if path.startswith("/") and not path.startswith("//") else ""
