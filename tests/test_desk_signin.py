"""Signing in to the desk without a password: the one-time link (`/dx ダッシュボード`), its
page and button, the session cookie, its ends (idle, absolute, sign-out, deactivation),
CSRF on every form, and the audit entries of each refusal."""

from __future__ import annotations

import re
from dataclasses import replace
from http.cookies import SimpleCookie

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.testclient import TestClient

from bot.desk import auth
from bot.desk.app import desk_app
from handlers import router
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.desk import signin
from handlers.people import roster
from storage import web_sessions
from storage.models import AuditEntry, Person, SignInLink, WebSession
from tests.support.factories import refusals

BASE = "https://desk.example.jp"
LINK = re.compile(r"https://desk\.example\.jp/desk/signin/([A-Za-z0-9_-]+)")


@pytest.fixture
def desk(ctx: Context) -> Context:
    """The context with DXDESK_PUBLIC_URL set."""
    ctx.rules = replace(ctx.rules, desk_url=BASE)
    return ctx


async def whoami(request: Request) -> Response:
    actor = await auth.current_actor(request)
    return JSONResponse({"name": actor.name if actor else None, "csrf": auth.csrf_token(request)})


async def echo(request: Request) -> Response:
    form = await request.form()
    await auth.check_csrf(request, form)
    return JSONResponse({"ok": True})


def client(ctx: Context, base_url: str = BASE) -> TestClient:
    """The desk as `serve` mounts it, plus two probes of the auth contract."""
    app = desk_app(ctx)
    app.add_route("/whoami", whoami, methods=["GET"])
    app.add_route("/echo", echo, methods=["POST"])
    return TestClient(Starlette(routes=[Mount("/desk", app=app)]), base_url=base_url)


def ask_link(ctx: Context, actor: Actor, words: str = "ダッシュボード") -> str:
    reply = router.command(ctx, actor, words)
    assert reply.ok, reply.plain_text()
    found = LINK.search(reply.plain_text())
    assert found, reply.plain_text()
    return found[1]


def sign_in(web: TestClient, token: str) -> Response:
    page = web.get(f"/desk/signin/{token}")
    assert page.status_code == 200, page.text
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce
    return web.post(f"/desk/signin/{token}", data={"nonce": nonce[1]}, follow_redirects=False)


def signed_in(ctx: Context, actor: Actor) -> TestClient:
    web = client(ctx)
    assert sign_in(web, ask_link(ctx, actor)).status_code == 303
    return web


def who(web: TestClient) -> str | None:
    return web.get("/desk/whoami").json()["name"]


def audit_rows(ctx: Context, action: str) -> list[AuditEntry]:
    with ctx.db.transaction() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


# -- the link --------------------------------------------------------------------------


def test_the_command_answers_with_a_one_time_link_whose_hash_alone_is_kept(desk, staff):
    reply = router.command(desk, staff, "ダッシュボード")
    text = reply.plain_text()
    assert "10分間、1回だけ" in text and "あなた専用" in text
    token = LINK.search(text)[1]  # type: ignore[index]
    with desk.db.transaction() as session:
        row = session.exec(select(SignInLink)).one()
    assert row.person_id == staff.id and token not in row.token_hash
    assert row.expires_at - row.created_at == web_sessions.LINK_VALID
    assert [r.actor_id for r in audit_rows(desk, "desk.link")] == [staff.id]


def test_the_english_word_and_the_menu_ask_for_the_same_link(desk, cast):
    consultant = cast["高橋 誠"]
    assert ask_link(desk, consultant, "dashboard")
    menu = router.press(desk, consultant, "menu")
    assert "ブラウザでダッシュボードを開く" in menu.plain_text()  # the terminal's way in
    reply = router.press(desk, consultant, "desk.link")
    assert LINK.search(reply.plain_text())


def test_without_a_public_url_the_link_is_refused_in_words_and_audited(ctx, staff):
    reply = router.command(ctx, staff, "ダッシュボード")
    assert not reply.ok
    assert "DXDESK_PUBLIC_URL" in reply.plain_text() and "/desk/signin/" not in reply.plain_text()
    assert [r.detail for r in refusals(ctx, "desk.link")] == ["desk.link.no_public_url"]


def test_the_desk_url_comes_from_dxdesk_public_url_only_when_set(monkeypatch, tmp_path):
    from bot.config import Settings

    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("DXDESK_PUBLIC_URL", raising=False)
    assert Settings().rules().desk_url is None
    monkeypatch.setenv("DXDESK_PUBLIC_URL", "https://dxdesk.example.jp/")
    assert Settings().rules().desk_url == "https://dxdesk.example.jp"


# -- its page and button ---------------------------------------------------------------


def test_opening_the_link_only_shows_a_button_and_spends_nothing(desk, staff):
    token = ask_link(desk, staff)
    web = client(desk)
    for _ in range(2):  # a chat preview fetching the URL first must not use it up
        page = web.get(f"/desk/signin/{token}")
        assert page.status_code == 200
        assert "田中 美咲 さんとしてサインインします" in page.text
        assert 'lang="ja"' in page.text and "<button" in page.text
    with desk.db.transaction() as session:
        assert session.exec(select(SignInLink)).one().used_at is None
        assert session.exec(select(WebSession)).all() == []


def test_the_button_opens_a_session_with_a_guarded_cookie(desk, staff):
    web = client(desk)
    answer = sign_in(web, ask_link(desk, staff))
    assert answer.status_code == 303 and answer.headers["location"] == "/desk/"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{auth.COOKIE}=")
    )
    attributes = cookie.lower()
    assert "httponly" in attributes and "secure" in attributes and "samesite=lax" in attributes
    assert "path=/desk" in attributes
    assert who(web) == "田中 美咲"
    secret = SimpleCookie(cookie)[auth.COOKIE].value
    with desk.db.transaction() as session:
        row = session.exec(select(WebSession)).one()
    assert row.method == "link" and secret not in row.token_hash
    assert [r.detail for r in audit_rows(desk, "desk.signin")] == ["link"]


def test_on_plain_http_localhost_the_cookie_is_not_secure(desk, staff):
    web = client(desk, "http://localhost")
    answer = sign_in(web, ask_link(desk, staff))
    cookie = next(c for c in answer.headers.get_list("set-cookie") if auth.COOKIE in c)
    assert "secure" not in cookie.lower()
    assert who(web) == "田中 美咲"


@pytest.mark.parametrize(
    ("spoil", "status", "words", "key"),
    [
        ("unknown", 404, "このサインイン用リンクは無効です", "desk.signin.unknown"),
        ("expired", 410, "有効期限(発行から10分)が切れています", "desk.signin.expired"),
        ("used", 410, "既に使われています", "desk.signin.used"),
    ],
)
def test_unknown_expired_and_reused_links_get_a_japanese_page_and_an_audit_entry(
    desk, staff, clock, spoil, status, words, key
):
    token = ask_link(desk, staff)
    web = client(desk)
    if spoil == "unknown":
        token = token[:-3] + "xyz"
    elif spoil == "expired":
        clock.advance(minutes=10, seconds=1)
    else:
        assert sign_in(web, token).status_code == 303
    page = web.get(f"/desk/signin/{token}")
    assert page.status_code == status
    assert words in page.text and "/dx ダッシュボード" in page.text
    assert "<button" not in page.text
    assert [r.detail for r in refusals(desk, "desk.signin")] == [key]
    if spoil != "unknown":
        assert refusals(desk, "desk.signin")[0].target_id == str(staff.id)


def test_a_reused_link_is_refused_at_the_button_too(desk, staff):
    """Two tabs on one link page: the second click finds it spent."""
    token = ask_link(desk, staff)
    first, second = client(desk), client(desk)
    pages = [web.get(f"/desk/signin/{token}") for web in (first, second)]
    nonces = [re.search(r'name="nonce" value="([^"]+)"', p.text)[1] for p in pages]  # type: ignore[index]
    url = f"/desk/signin/{token}"
    assert first.post(url, data={"nonce": nonces[0]}, follow_redirects=False).status_code == 303
    late = second.post(url, data={"nonce": nonces[1]}, follow_redirects=False)
    assert late.status_code == 410 and "既に使われています" in late.text
    assert who(second) is None


def test_a_link_of_a_deactivated_person_signs_nobody_in(desk, staff):
    token = ask_link(desk, staff)
    deactivate(desk, staff)
    assert client(desk).get(f"/desk/signin/{token}").status_code == 404


def test_the_button_without_its_nonce_is_refused_and_leaves_the_link_usable(desk, staff):
    """Another site posting the form (login CSRF) carries no nonce cookie."""
    token = ask_link(desk, staff)
    web = client(desk)
    forged = web.post(f"/desk/signin/{token}", data={"nonce": "x"}, follow_redirects=False)
    assert forged.status_code == 403 and "受け付けられませんでした" in forged.text
    assert [r.action for r in refusals(desk, "desk.csrf")] == ["desk.csrf"]
    assert sign_in(web, token).status_code == 303


# -- the session -----------------------------------------------------------------------


def test_a_session_ends_after_eight_idle_hours(desk, staff, clock):
    web = signed_in(desk, staff)
    clock.advance(hours=7, minutes=59)
    assert who(web) == "田中 美咲"  # activity moves the idle end on
    clock.advance(hours=7, minutes=59)
    assert who(web) == "田中 美咲"
    clock.advance(hours=8)
    assert who(web) is None


def test_a_session_ends_after_24_hours_however_busy(desk, staff, clock):
    web = signed_in(desk, staff)
    for _ in range(4):
        clock.advance(hours=5, minutes=59)
        assert who(web) == "田中 美咲"  # 23 h 56 min in, never idle long
    clock.advance(minutes=5)
    assert who(web) is None


def test_deactivating_a_person_ends_all_their_sessions(desk, staff):
    browsers = [signed_in(desk, staff), signed_in(desk, staff)]
    assert [who(web) for web in browsers] == ["田中 美咲"] * 2
    deactivate(desk, staff)
    assert [who(web) for web in browsers] == [None, None]


def test_deactivating_in_the_roster_ends_the_sessions_in_the_record_at_once(desk, cast, clock):
    """The roster's own intent ends the sessions then (ended_at is the moment of the
    deactivation), so activating the person again does not revive a stolen cookie."""
    staff, admin = cast["田中 美咲"], cast["管理 太郎"]
    browsers = [signed_in(desk, staff), signed_in(desk, staff)]
    other = signed_in(desk, cast["松本 大輔"])
    values = {"person": str(staff.id), "roster_active": "no"}
    assert roster.deactivate(desk, admin, values).ok
    with desk.db.transaction() as session:
        rows = session.exec(select(WebSession).where(WebSession.person_id == staff.id)).all()
    assert [row.ended_at for row in rows] == [clock.now()] * 2
    assert roster.deactivate(desk, admin, {**values, "roster_active": "yes"}).ok
    assert [who(web) for web in browsers] == [None, None]
    assert who(other) == "松本 大輔"  # nobody else's


def test_signing_out_ends_the_session_and_clears_the_cookie(desk, staff):
    web = signed_in(desk, staff)
    kept = web.cookies.get(auth.COOKIE)
    token = web.get("/desk/whoami").json()["csrf"]
    page = web.post("/desk/signout", data={"csrf": token})
    assert page.status_code == 200 and "サインアウトしました" in page.text
    assert who(web) is None
    replay = client(desk)
    replay.cookies.set(auth.COOKIE, kept, domain="desk.example.jp", path="/desk")
    assert who(replay) is None  # the old cookie is worth nothing now
    assert len(audit_rows(desk, "desk.signout")) == 1


def test_signing_out_without_the_form_token_is_refused(desk, staff):
    web = signed_in(desk, staff)
    page = web.post("/desk/signout", data={})
    assert page.status_code == 403 and "受け付けられませんでした" in page.text
    assert who(web) == "田中 美咲"


def test_start_session_is_the_seam_for_other_ways_of_signing_in(desk, staff):
    secret = signin.start_session(desk, staff.id, "entra")
    assert signin.resume(desk, secret) == staff
    with desk.db.transaction() as session:
        assert session.exec(select(WebSession.method)).all() == ["entra"]


def test_garbage_cookies_are_nobody(desk, staff):
    web = client(desk)
    for value in ("", "x", "a" * 5000):
        web.cookies.set(auth.COOKIE, value, domain="desk.example.jp", path="/desk")
        assert who(web) is None


# -- CSRF --------------------------------------------------------------------------------


def test_a_form_with_the_sessions_token_passes_and_any_other_is_refused_and_audited(
    desk, staff, cast
):
    web = signed_in(desk, staff)
    token = web.get("/desk/whoami").json()["csrf"]
    assert web.post("/desk/echo", data={"csrf": token}).json() == {"ok": True}
    other = signed_in(desk, cast["高橋 誠"]).get("/desk/whoami").json()["csrf"]
    assert other != token
    for sent in ({}, {"csrf": ""}, {"csrf": other}):
        page = web.post("/desk/echo", data=sent)
        assert page.status_code == 403
        assert "別のサイトから送信された" in page.text
    rows = refusals(desk, "desk.csrf")
    assert len(rows) == 3 and {r.actor_id for r in rows} == {staff.id}


def test_every_desk_answer_carries_the_protective_headers(desk, staff):
    page = client(desk).get(f"/desk/signin/{ask_link(desk, staff)}")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "same-origin"


def test_a_page_with_no_session_is_sent_to_the_sign_in_explanation(desk):
    web = client(desk)
    page = web.get("/desk/signin")
    assert page.status_code == 401
    assert "サインインしてください" in page.text and "/dx ダッシュボード" in page.text


def test_signing_in_returns_to_the_page_that_asked_for_it(desk, staff):
    web = client(desk)
    page = web.get("/desk/calendar?day=2026-07-08&view=week")  # without a session
    assert page.status_code == 401 and "サインインしてください" in page.text
    assert len(page.history) == 1  # one redirect, straight to the explanation
    answer = sign_in(web, ask_link(desk, staff))
    assert answer.headers["location"] == "/desk/calendar?day=2026-07-08&view=week"
    assert sign_in(web, ask_link(desk, staff)).headers["location"] == "/desk/"  # once only


@pytest.mark.parametrize("elsewhere", ["//evil.example/desk/", "https://evil.example/", "/desk//x"])
def test_the_page_to_return_to_is_never_outside_the_desk(desk, staff, elsewhere):
    web = client(desk)
    web.get("/desk/signin", params={"next": elsewhere})
    assert sign_in(web, ask_link(desk, staff)).headers["location"] == "/desk/"


def deactivate(ctx: Context, actor: Actor) -> None:
    with ctx.db.transaction() as session:
        person = session.get(Person, actor.id)
        assert person is not None
        person.active = False
        session.add(person)
