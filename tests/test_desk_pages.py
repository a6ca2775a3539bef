"""The desk's pages (issue #19) through Starlette's TestClient: every page for every role,
refusals (403 in Japanese, audited), every form posting to the chat's own intents with
its CSRF token, exports, and a query count per page that does not grow with the data.

Most tests read a small season (tests/support/desk_season.py) built once per module on the
suite's kind of database (PostgreSQL with DATABASE_URL) and copied for each test;
`test_pages_on_fresh_record` starts from an empty record."""

from __future__ import annotations

import csv
import html as html_module
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.desk import pages
from bot.desk.app import desk_routes
from handlers.core.clock import TOKYO, FakeClock
from handlers.core.context import Context, Rules
from handlers.desk import signin
from handlers.documents import model
from handlers.intake import submission
from handlers.planning import quotas
from storage import audit, people
from storage.models import (
    AuditEntry,
    ChatIdentity,
    FollowUpIssue,
    Person,
    Request,
    RequestState,
    SessionConsultant,
    SessionKind,
    SessionMunicipality,
    SupportSession,
    WorkLog,
    WorkLogSession,
)
from tests.support import desk_season
from tests.support.factories import consultation

END_OF_STORY = datetime(2026, 12, 14, 9, 0, tzinfo=TOKYO)
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
PREFECTURE, ADMIN, CONSULTANT, STAFF = "熊本 県子", "管理 太郎", "高橋 誠", "田中 美咲"


@pytest.fixture(scope="module")
def season_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The season, built once for the module; each test gets a copy (`desk`)."""
    with desk_season.template(tmp_path_factory.mktemp("desk-season"), END_OF_STORY) as found:
        yield found[0]


class Desk:
    """The desk application over one database, with a browser per person."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.app = Starlette(routes=desk_routes(ctx))
        with ctx.db.transaction() as session:
            self.ids = {p.name: p.id or 0 for p in people.listing_all(session)}
            self.towns = {m.name: m.id or 0 for m in people.municipalities(session)}

    def browser(self, name: str) -> TestClient:
        client = TestClient(self.app, base_url="http://localhost")
        client.cookies.set("dxdesk_session", signin.start_session(self.ctx, self.ids[name], "test"))
        return client

    def actor(self, name: str) -> Any:
        from handlers.core.actor import Actor

        with self.ctx.db.transaction() as session:
            person = people.get(session, self.ids[name])
            assert person is not None
            return Actor.from_person(person)


@pytest.fixture
def desk(season_db: str, tmp_path: Path) -> Iterator[Desk]:
    with desk_season.copy(season_db, tmp_path) as database:
        yield Desk(Context(database, FakeClock(END_OF_STORY), Rules()))


def token(page_html: str) -> str:
    found = CSRF.search(page_html)
    assert found, "every page carries the session's CSRF token"
    return found.group(1)


def refused_entries(ctx: Context, action: str) -> list[AuditEntry]:
    with ctx.db.transaction() as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.action == action)
                .where(AuditEntry.outcome == "refused")
            ).all()
        )


# -- every page for every role -------------------------------------------------------
PAGES = ("/desk/", "/desk/calendar", "/desk/towns", "/desk/audit", "/desk/roster",
         "/desk/downloads")  # fmt: skip
EXPECTED = {
    PREFECTURE: (200, 200, 200, 200, 403, 200),
    ADMIN: (200, 200, 200, 200, 200, 403),
    CONSULTANT: (200, 200, 200, 403, 403, 403),
    STAFF: (303, 200, 303, 403, 403, 403),
}
HEADINGS = ("ダッシュボード", "カレンダー", "市町村", "監査ログ", "名簿", "ダウンロード")


@pytest.mark.parametrize("who", list(EXPECTED))
def test_every_page_for_every_role(desk: Desk, who: str) -> None:
    browser = desk.browser(who)
    for path, status, heading in zip(PAGES, EXPECTED[who], HEADINGS, strict=True):
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == status, (who, path)
        if status == 200:
            assert '<html lang="ja">' in answer.text
            assert f"<h1>{heading}</h1>" in answer.text, (who, path)
        if status == 403:
            assert "このページは表示できません" in answer.text
            assert "この操作を行う権限がありません。" in answer.text
    own = browser.get(f"/desk/towns/{desk.towns['宇土市']}")
    assert own.status_code == 200 and "<h1>宇土市</h1>" in own.text


def test_municipal_staff_land_on_their_own_town(desk: Desk) -> None:
    answer = desk.browser(STAFF).get("/desk/")
    assert answer.status_code == 200
    assert "<h1>宇土市</h1>" in answer.text


def test_other_towns_staff_are_refused_and_audited(desk: Desk) -> None:
    browser = desk.browser(STAFF)
    other = desk.towns["山鹿市"]
    answer = browser.get(f"/desk/towns/{other}")
    assert answer.status_code == 403
    assert "他の市町村の情報は扱えません。" in answer.text
    assert "山鹿市" not in answer.text.split("<main")[1]
    entries = refused_entries(desk.ctx, "desk.town")
    assert [(e.actor_id, e.target_id) for e in entries] == [(desk.ids[STAFF], str(other))]
    calendar = browser.get("/desk/calendar", params={"town": other})
    assert calendar.status_code == 403
    assert len(refused_entries(desk.ctx, "desk.calendar")) == 1


def test_a_consultant_sees_only_the_towns_they_serve(desk: Desk) -> None:
    browser = desk.browser(CONSULTANT)
    served = set(re.findall(r'href="/desk/towns/(\d+)"', browser.get("/desk/towns").text))
    assert served and len(served) < len(desk.towns)
    stranger = next(m for m in desk.towns.values() if str(m) not in served)
    answer = browser.get(f"/desk/towns/{stranger}")
    assert answer.status_code == 403
    assert "担当していない支援のため操作できません。" in answer.text
    assert refused_entries(desk.ctx, "desk.town")


def test_signed_out_browsers_are_sent_to_sign_in(desk: Desk) -> None:
    anonymous = TestClient(desk.app, base_url="http://localhost")
    for path in PAGES:
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/desk/signin?next=")


# -- the dashboard ---------------------------------------------------------------------
def test_dashboard_draws_every_programme_and_explains_the_pace(desk: Desk) -> None:
    html = desk.browser(PREFECTURE).get("/desk/").text
    assert html.count("<svg") == 4
    for kind in SessionKind:
        assert f'id="chart-{kind.value}-t"' in html
    assert html.count('class="why"') == 4
    assert "年度末の見込み" in html and "許容範囲" in html
    assert 'class="band"' in html and 'class="projection"' in html


@pytest.mark.parametrize("day", [datetime(2026, 7, 1, 10, 0, tzinfo=TOKYO), END_OF_STORY])
def test_each_chart_projects_what_quotas_figures_says_and_labels_it(
    desk: Desk, day: datetime
) -> None:
    """The chart's labels are the quota figures of that day: a season with bookings
    never projects 0 (on 1 July too), and axes, plan, band and today are worded."""
    desk.ctx.clock.set(day)
    html = desk.browser(PREFECTURE).get("/desk/").text
    rows = quotas.figures(desk.ctx)
    assert all(row.booked + row.held > 0 for row in rows)
    for row in rows:
        assert row.projected > 0
        assert f"見込み {row.projected:.0f}回" in html, row
        assert f"計画 {row.plan}回" in html
    assert html.count('class="projection"') == 4 and html.count('class="today"') == 4
    assert html.count("回数(累計・月別)") == 4 and html.count(">月</text>") == 4
    assert "許容範囲 64〜96回" in html and "許容範囲 0.8〜1.2回" in html
    assert "6月" in html and "3月" in html


def test_pace_warning_shows_when_a_programme_drifts(desk: Desk) -> None:
    desk.ctx.clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=TOKYO))  # little booked by then
    html = desk.browser(PREFECTURE).get("/desk/").text
    assert 'role="alert"' in html
    assert "協議してください" in html


def test_approve_from_the_dashboard_posts_to_the_chat_intent(desk: Desk) -> None:
    request_id = submit(desk, STAFF)
    browser = desk.browser(PREFECTURE)
    html = browser.get("/desk/").text
    assert 'action="/desk/act/request.approve"' in html
    assert 'action="/desk/act/request.decline"' in html
    assert 'action="/desk/act/request.ask_info"' in html
    context = re.search(r'name="context" value="([^"]+)"', html)
    assert context
    answer = browser.post(
        "/desk/act/request.approve",
        data={
            "csrf": token(html),
            "context": html_module.unescape(context.group(1)),
            "consultants": [str(desk.ids[CONSULTANT])],
            "back": "/desk/",
        },
    )
    assert answer.status_code == 200, answer.text
    assert [r.status_code for r in answer.history] == [303]  # back on the dashboard
    assert answer.url.path == "/desk/" and "<h1>ダッシュボード</h1>" in answer.text
    told = answer.text.split('class="flash"')[1].split("</div>")[0]
    assert "を承認しました。" in told
    assert 'class="flash"' not in browser.get("/desk/").text  # told once
    with desk.ctx.db.transaction() as session:
        request = session.get(Request, request_id)
        assert request is not None and request.state == RequestState.APPROVED
        assert request.decided_by_id == desk.ids[PREFECTURE]
        approved = session.exec(
            select(AuditEntry).where(AuditEntry.action == "request.approve")
        ).all()
    assert [(e.actor_id, e.target_id) for e in approved][-1] == (
        desk.ids[PREFECTURE],
        str(request_id),
    )


def test_a_decline_without_reason_comes_back_with_the_error_next_to_it(desk: Desk) -> None:
    submit(desk, STAFF)
    browser = desk.browser(PREFECTURE)
    html = browser.get("/desk/").text
    context = re.search(r'name="context" value="([^"]+)"', html)
    assert context
    answer = browser.post(
        "/desk/act/request.decline",
        data={"csrf": token(html), "context": html_module.unescape(context.group(1)), "reason": ""},
    )
    assert answer.status_code == 400
    assert 'aria-invalid="true"' in answer.text
    assert 'class="error"' in answer.text


def submit(desk: Desk, who: str) -> int:
    values = consultation(desk.actor(who), preferred_dates="2027-01-12, 2027-01-13")
    reply = submission.submit(desk.ctx, desk.actor(who), values)
    assert reply.ok, reply.plain_text()
    return int(reply.data["request_id"])


# -- CSRF on every POST ------------------------------------------------------------------
@pytest.mark.parametrize("action", sorted(pages.ACTIONS))
def test_every_post_needs_the_csrf_token(desk: Desk, action: str) -> None:
    browser = desk.browser(ADMIN if action.startswith("roster.") else PREFECTURE)
    before = people_and_requests(desk.ctx)
    for sent in ({}, {"csrf": "0" * 64}):
        answer = browser.post(f"/desk/act/{action}", data={**sent, "name": "偽 太郎"})
        assert answer.status_code == 403
    assert people_and_requests(desk.ctx) == before
    assert len(refused_entries(desk.ctx, "desk.csrf")) == 2


def people_and_requests(ctx: Context) -> tuple[Any, ...]:
    with ctx.db.transaction() as session:
        return (
            [(p.id, p.name, p.active) for p in session.exec(select(Person)).all()],
            [(r.id, r.state) for r in session.exec(select(Request)).all()],
        )


# -- the roster -------------------------------------------------------------------------
def test_roster_add_edit_deactivate_link_and_merge(desk: Desk) -> None:
    browser = desk.browser(ADMIN)
    html = browser.get("/desk/roster").text
    csrf = token(html)
    for label in ("名簿", "登録内容を変更する", "有効・無効を切り替える", "重複した登録をまとめる"):
        assert label in html
    added = browser.post(
        "/desk/act/roster.add",
        data={
            "csrf": csrf,
            "name": "高橋 誠(重複)",
            "role": "consultant",
            "email": "dup@example.jp",
            "lead": "no",
        },
    )
    assert added.status_code == 200, added.text
    with desk.ctx.db.transaction() as session:
        duplicate = people.by_email(session, "dup@example.jp")
        assert duplicate is not None and duplicate.id
    dup = duplicate.id
    edited = browser.post(
        "/desk/act/roster.edit", data={"csrf": csrf, "person": str(dup), "title": "主任"}
    )
    assert edited.status_code == 200, edited.text
    linked = browser.post(
        "/desk/act/roster.link",
        data={"csrf": csrf, "person": str(dup), "platform": "slack", "platform_user_id": "U9"},
    )
    assert linked.status_code == 200, linked.text
    merged = browser.post(
        "/desk/act/roster.merge",
        data={"csrf": csrf, "person": str(desk.ids[CONSULTANT]), "duplicate": str(dup)},
    )
    assert merged.status_code == 200, merged.text
    with desk.ctx.db.transaction() as session:
        gone = session.get(Person, dup)
        assert gone is not None and not gone.active and gone.title == "主任"
        identity = session.exec(
            select(ChatIdentity).where(ChatIdentity.platform_user_id == "U9")
        ).one()
        assert identity.person_id == desk.ids[CONSULTANT]
        actions = [
            e.action
            for e in session.exec(
                select(AuditEntry).where(AuditEntry.actor_id == desk.ids[ADMIN])
            ).all()
        ]
    assert {"roster.add", "roster.edit", "roster.link", "roster.merge"} <= set(actions)
    deactivated = browser.post(
        "/desk/act/roster.deactivate",
        data={"csrf": csrf, "person": str(desk.ids["中村 由紀"]), "roster_active": "no"},
    )
    assert deactivated.status_code == 200
    with desk.ctx.db.transaction() as session:
        person = session.get(Person, desk.ids["中村 由紀"])
        assert person is not None and not person.active


def test_merge_moves_sessions_without_repeating_a_booking(desk: Desk) -> None:
    with desk.ctx.db.transaction() as session:
        row = session.exec(select(SessionConsultant)).first()
        assert row is not None
        kept, sid = row.person_id, row.session_id
        duplicate = people.add(session, Person(name="複製", role="consultant"))
        session.add(SessionConsultant(session_id=sid, person_id=duplicate.id or 0))
        moved = people.merge(session, kept, duplicate.id or 0)
        assert moved == {}  # the only row repeated one of kept's: dropped, not moved
        left = session.exec(
            select(SessionConsultant).where(SessionConsultant.session_id == sid)
        ).all()
    assert [r.person_id for r in left].count(kept) == 1


def test_nobody_deactivates_themselves(desk: Desk) -> None:
    browser = desk.browser(ADMIN)
    csrf = token(browser.get("/desk/roster").text)
    answer = browser.post(
        "/desk/act/roster.deactivate",
        data={"csrf": csrf, "person": str(desk.ids[ADMIN]), "roster_active": "no"},
    )
    assert answer.status_code == 400
    assert "自分自身を無効にすることはできません。" in answer.text


# -- the calendar, towns, sessions --------------------------------------------------------
def test_calendar_month_week_by_consultant_and_town(desk: Desk) -> None:
    browser = desk.browser(PREFECTURE)
    with desk.ctx.db.transaction() as session:
        visit = session.exec(
            select(SupportSession)
            .join(SessionConsultant, SessionConsultant.session_id == SupportSession.id)
            .where(SupportSession.kind == SessionKind.BPR)
            .where(SupportSession.mode == "visit")
            .where(SessionConsultant.person_id == desk.ids[CONSULTANT])
        ).first()
        assert visit is not None
    day = visit.starts_at.astimezone(TOKYO).date().isoformat()
    month = browser.get("/desk/calendar", params={"day": day})
    assert f'href="/desk/sessions/{visit.id}"' in month.text
    week = browser.get(
        "/desk/calendar",
        params={"view": "week", "day": day, "consultant": desk.ids[CONSULTANT]},
    )
    assert f'href="/desk/sessions/{visit.id}"' in week.text
    assert 'class="ev travel"' in week.text  # the feed's travel blocks
    town = browser.get("/desk/calendar", params={"day": day, "town": desk.towns["宇土市"]})
    assert town.status_code == 200
    page = browser.get(f"/desk/sessions/{visit.id}")
    assert page.status_code == 200 and "BPR伴走支援" in page.text


def test_a_month_without_sessions_says_what_to_do(desk: Desk) -> None:
    html = desk.browser(PREFECTURE).get("/desk/calendar", params={"day": "2026-05-10"}).text
    assert "この期間に予定された支援はありません" in html


def test_town_page_has_steps_sessions_logs_issues_and_documents(desk: Desk) -> None:
    html = desk.browser(PREFECTURE).get(f"/desk/towns/{desk.towns['宇土市']}").text
    for part in ("BPR伴走支援", "工程", "支援(", "業務日報(", "未解決の課題", "書類"):
        assert part in html
    assert "業務の現状と課題を確認した" in html and "申請様式が紙のみ" in html  # its own
    assert "/desk/downloads/file?kind=plan" in html


def test_staff_see_their_sessions_but_not_another_towns(desk: Desk) -> None:
    browser = desk.browser(STAFF)
    with desk.ctx.db.transaction() as session:
        rows = session.exec(select(SessionMunicipality)).all()
    own = next(r.session_id for r in rows if r.municipality_id == desk.towns["宇土市"])
    others = {r.session_id for r in rows if r.municipality_id == desk.towns["宇土市"]}
    other = next(r.session_id for r in rows if r.session_id not in others)
    assert browser.get(f"/desk/sessions/{own}").status_code == 200
    assert browser.get(f"/desk/sessions/{other}").status_code == 403
    assert refused_entries(desk.ctx, "desk.session")


# -- the audit log and the downloads -----------------------------------------------------
def test_audit_log_filters_include_refusals_and_export(desk: Desk) -> None:
    desk.browser(STAFF).get(f"/desk/towns/{desk.towns['山鹿市']}")  # a refusal to find
    browser = desk.browser(PREFECTURE)
    refused = browser.get("/desk/audit", params={"outcome": "refused"}).text
    assert "desk.town" in refused and "他の市町村の情報は扱えません。" in refused
    assert 'class="ok"' not in refused
    by_person = browser.get("/desk/audit", params={"person": desk.ids[STAFF]}).text
    assert "desk.town" in by_person
    by_action = browser.get("/desk/audit", params={"action": "request.approve"}).text
    assert "request.approve" in by_action and "desk.town</td>" not in by_action
    by_town = browser.get("/desk/audit", params={"town": desk.towns["宇土市"]}).text
    assert "desk.town" in by_town  # by the town's own staff
    future = browser.get("/desk/audit", params={"from": "2030-01-01"}).text
    assert "条件に合う記録はありません" in future
    exported = browser.get("/desk/audit.csv", params={"outcome": "refused"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["日時", "実行者", "操作", "結果", "対象", "詳細"]
    assert any(row[2] == "desk.town" for row in rows[1:])
    with desk.ctx.db.transaction() as session:
        assert session.exec(
            select(AuditEntry).where(AuditEntry.action == "desk.audit_export")
        ).first()


def test_audit_excel_export(desk: Desk) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    answer = desk.browser(ADMIN).get("/desk/audit.xlsx")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.active["A1"].value == "日時"
    assert book.active.max_row > 10


def test_typed_text_in_the_audit_exports_is_never_a_formula(desk: Desk) -> None:
    """A reason anyone typed lands in the audit's detail column; opened in Excel it must
    stay text (no =HYPERLINK or =cmd… run on the prefecture's PC)."""
    openpyxl = pytest.importorskip("openpyxl")
    formula = '=HYPERLINK("https://evil.example","至急")'
    with desk.ctx.db.transaction() as session:
        audit.record(
            session,
            at=desk.ctx.clock.now(),
            actor_id=desk.ids[STAFF],
            action="request.cancel",
            detail=formula,
        )
    browser = desk.browser(PREFECTURE)
    exported = browser.get("/desk/audit.csv", params={"action": "request.cancel"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert ["'" + formula] == [row[5] for row in rows[1:] if formula in row[5]]
    answer = browser.get("/desk/audit.xlsx", params={"action": "request.cancel"})
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    cells = [c for row in book.active.iter_rows() for c in row if c.value == formula]
    assert cells and all(c.data_type == "s" for c in cells)


def test_downloads_offer_every_document_and_format(desk: Desk) -> None:
    browser = desk.browser(PREFECTURE)
    html = browser.get("/desk/downloads").text
    for kind in model.KINDS:
        assert f'name="kind" value="{kind}"' in html
    for fmt in model.FORMATS:
        assert f'<option value="{fmt}">' in html
    answer = browser.get("/desk/downloads/file", params={"kind": "final", "format": "html"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "attachment" in answer.headers["content-disposition"]
    with desk.ctx.db.transaction() as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "report.request")).first()
    wrong = browser.get(
        "/desk/downloads/file",
        params={"kind": "final", "format": "html", "town": desk.towns["宇土市"]},
    )
    assert wrong.status_code == 400  # a final report takes no municipality


def test_stylesheet_is_served_from_the_package(desk: Desk) -> None:
    answer = TestClient(desk.app).get("/desk/static/desk.css")
    assert answer.status_code == 200
    assert "@media (max-width" in answer.text  # a phone gets one column


# -- no N+1 -------------------------------------------------------------------------------
COUNTED = ("/desk/", "/desk/calendar?day=2026-10-01", "/desk/towns/{uto}", "/desk/audit",
           "/desk/roster", "/desk/calendar?view=week&day=2026-10-05&consultant={lead}")  # fmt: skip


def queries(desk: Desk, who: str, path: str) -> int:
    browser = desk.browser(who)
    path = path.format(uto=desk.towns["宇土市"], lead=desk.ids[CONSULTANT])
    browser.get(path)  # warm caches (municipality names)
    count = [0]

    def seen(*_: Any) -> None:
        count[0] += 1

    event.listen(desk.ctx.db.engine, "before_cursor_execute", seen)
    try:
        assert browser.get(path).status_code == 200
    finally:
        event.remove(desk.ctx.db.engine, "before_cursor_execute", seen)
    return count[0]


def double_the_season(ctx: Context) -> None:
    """Every session, log and issue once more (rules bypassed: only the counts matter)."""
    with ctx.db.transaction() as session:
        originals = session.exec(select(SupportSession)).all()
        towns = session.exec(select(SessionMunicipality)).all()
        consultants = session.exec(select(SessionConsultant)).all()
        logs = session.exec(select(WorkLog)).all()
        covered = session.exec(select(WorkLogSession)).all()
        issues = session.exec(select(FollowUpIssue)).all()
        twin: dict[int, int] = {}
        for row in originals:
            data = row.model_dump(exclude={"id"})
            data.update(uid=f"{row.uid}-twin", starts_at=row.starts_at + timedelta(hours=1))
            data["ends_at"] = row.ends_at + timedelta(hours=1)
            copy = SupportSession(**data)
            session.add(copy)
            session.flush()
            twin[row.id or 0] = copy.id or 0
        for link in towns:
            session.add(SessionMunicipality(session_id=twin[link.session_id],
                                            municipality_id=link.municipality_id))  # fmt: skip
        for link in consultants:
            session.add(SessionConsultant(session_id=twin[link.session_id],
                                          person_id=link.person_id))  # fmt: skip
        log_twin: dict[int, int] = {}
        for log in logs:
            copy_log = WorkLog(**log.model_dump(exclude={"id"}))
            session.add(copy_log)
            session.flush()
            log_twin[log.id or 0] = copy_log.id or 0
        for link in covered:
            session.add(WorkLogSession(log_id=log_twin[link.log_id],
                                       session_id=twin[link.session_id]))  # fmt: skip
        for issue in issues:
            data = issue.model_dump(exclude={"id"})
            data["log_id"] = log_twin[issue.log_id]
            session.add(FollowUpIssue(**data))
        for entry in session.exec(select(AuditEntry)).all():
            session.add(AuditEntry(**entry.model_dump(exclude={"id"})))


def test_queries_per_page_do_not_grow_with_the_data(desk: Desk) -> None:
    who = {"/desk/roster": ADMIN}
    before = {path: queries(desk, who.get(path, PREFECTURE), path) for path in COUNTED}
    double_the_season(desk.ctx)
    after = {path: queries(desk, who.get(path, PREFECTURE), path) for path in COUNTED}
    assert after == before
    assert max(before.values()) <= 30


# -- on the suite's own database (PostgreSQL too) -----------------------------------------
def test_pages_on_fresh_record(ctx: Context, cast: dict[str, Any]) -> None:
    """A record with nothing but the roster and one request: every page renders, empty
    parts say what to do next, and the approval goes through the page."""
    desk = Desk(ctx)
    reply = submission.submit(ctx, cast[STAFF], consultation(cast[STAFF]))
    assert reply.ok
    browser = desk.browser(PREFECTURE)
    html = browser.get("/desk/").text
    assert "期限を過ぎた業務日報・議事録はありません。" in html
    assert "未解決の課題はありません。" in html
    for path in PAGES:
        if path != "/desk/roster":
            assert browser.get(path).status_code == 200, path
    assert desk.browser(ADMIN).get("/desk/roster").status_code == 200
    town = desk.browser(STAFF).get("/desk/")
    assert "まだ支援の予定はありません" in town.text
    context = re.search(r'name="context" value="([^"]+)"', html)
    assert context
    answer = browser.post(
        "/desk/act/request.ask_info",
        data={
            "csrf": token(html),
            "context": html_module.unescape(context.group(1)),
            "question": "参加人数は?",
        },
    )
    assert answer.status_code == 200, answer.text
    with ctx.db.transaction() as session:
        request = session.get(Request, int(reply.data["request_id"]))
        assert request is not None and request.state == RequestState.NEEDS_INFO


def test_town_filter_merge_and_served_towns_on_the_suite_database(
    ctx: Context, cast: dict[str, Any]
) -> None:
    """The storage reads and the merge the pages use, on SQLite and PostgreSQL alike."""
    from storage import desk as desk_rows
    from storage.desk import AuditFilter
    from storage.models import RequestConsultant
    from tests.support.factories import approve

    staff, lead = cast[STAFF], cast[CONSULTANT]
    request_id = int(submission.submit(ctx, staff, consultation(staff)).data["request_id"])
    assert approve(ctx, cast[PREFECTURE], request_id, [lead]).ok
    with ctx.db.transaction() as session:
        uto = staff.municipality_id or 0
        yamaga = people.municipality_named(session, "山鹿市")
        assert yamaga is not None and yamaga.id
        mine, total = desk_rows.audit_entries(session, AuditFilter(municipality_id=uto))
        assert total == len(mine) and {e.action for e in mine} >= {
            "request.submit",
            "request.approve",
        }
        assert desk_rows.audit_entries(session, AuditFilter(municipality_id=yamaga.id))[1] == 0
        assert desk_rows.towns_served(session, lead.id) == {uto}
        twin = people.add(session, Person(name="高橋 誠(二重)", role="consultant"))
        session.add(RequestConsultant(request_id=request_id, person_id=twin.id or 0))
        session.flush()
        people.merge(session, lead.id, twin.id or 0)
        assigned = session.exec(
            select(RequestConsultant.person_id).where(RequestConsultant.request_id == request_id)
        ).all()
    assert list(assigned) == [lead.id]
