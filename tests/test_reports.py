"""R12/R13: documents from stored data (both formats), era dates, anonymisation, the
case book search, the chat intents and the `report` command."""

from __future__ import annotations

import io
import re
from argparse import Namespace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from docx import Document as open_docx
from sqlmodel import select

from bot.report_command import run as report_cli
from bot.report_command import write_documents
from handlers import casebook, reports, router
from handlers.clock import TOKYO
from handlers.era import era_date, fiscal_year_label
from handlers.report_data import Period
from storage import engagements, logs, sessions
from storage.models import (
    Engagement,
    FollowUpIssue,
    Minutes,
    Person,
    SupportSession,
    WorkLog,
    WorkLogAttendee,
)
from tests.helpers import apply, refusals, submit

DAY = date(2026, 6, 10)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), TOKYO)


def add_session(ctx, cast, kind, day, municipalities, request_id=None, engagement_id=None):
    lead = cast["高橋 誠"]
    with ctx.db.transaction() as session:
        row = sessions.add(
            session,
            SupportSession(
                kind=kind,
                starts_at=at(day, 10),
                ends_at=at(day, 12),
                mode="visit",
                place="市役所 会議室",
                request_id=request_id,
                engagement_id=engagement_id,
                uid=f"test-{kind}-{day}-{municipalities}",
                created_by_id=lead.id,
                created_at=at(DAY, 9),
            ),
            municipalities,
            [lead.id, cast["中村 由紀"].id],
        )
        return row.id


def add_log(ctx, cast, session_ids, municipality_id, summary, issue=True):
    with ctx.db.transaction() as session:
        log = logs.add(
            session,
            WorkLog(
                author_id=cast["高橋 誠"].id,
                method="visit",
                place="宇土市役所",
                summary=summary,
                response="業務フローを整理し、改善案を助言した。",
                next_plan="次回は To-Be を共有する。",
                attachments=["業務フロー.xlsx"],
                filed_at=at(DAY, 18),
            ),
            session_ids,
            [("市民課", "主査", "田中 美咲"), ("市民課", "係長", "宇土 次郎")],
        )
        if issue:
            logs.add_issue(
                session,
                FollowUpIssue(
                    log_id=log.id,
                    municipality_id=municipality_id,
                    content="申請様式が紙のみ",
                    policy="電子申請の様式作成を支援する",
                    status="open",
                    created_at=at(DAY, 18),
                ),
                cast["高橋 誠"].id,
                at(DAY, 18),
            )
        return log.id


@pytest.fixture
def season(ctx, cast):
    """One BPR engagement (宇土市) with a joint visit, a consultation with its log, an
    office day with minutes — enough for every document."""
    staff = cast["田中 美咲"]
    uto = staff.municipality_id
    yamaga = cast["松本 大輔"].municipality_id
    application = apply(ctx, staff, goal="転入手続のオンライン化")
    with ctx.db.transaction() as session:
        engagement = engagements.add(
            session,
            Engagement(
                municipality_id=uto,
                application_id=application,
                department="市民課",
                goal="転入手続のオンライン化",
                created_at=at(DAY, 9),
            ),
        )
        engagement_id = engagement.id
    bpr = add_session(ctx, cast, "bpr", DAY, [uto, yamaga], engagement_id=engagement_id)
    add_log(ctx, cast, [bpr], uto, "田中美咲さんと宇土次郎係長から現状を聞いた。")
    request = submit(ctx, staff, description="電子申請の様式づくりを相談したい。主査の田中です。")
    consult = add_session(ctx, cast, "consultation", DAY + timedelta(days=1), [uto], request)
    add_log(ctx, cast, [consult], uto, "宇土市の申請様式を確認した。tanaka@uto.example.jp")
    office = add_session(ctx, cast, "office_day", DAY + timedelta(days=2), [])
    with ctx.db.transaction() as session:
        logs.add_minutes(
            session,
            Minutes(
                session_id=office,
                author_id=cast["高橋 誠"].id,
                attendees="熊本 県子、高橋 誠",
                body="支援状況を報告した。",
                filed_at=at(DAY + timedelta(days=2), 17),
            ),
        )
    ctx.clock.set(at(date(2026, 7, 1), 10))
    return {"engagement": engagement_id, "uto": uto}


def docx_text(content: bytes) -> tuple[str, int]:
    document = open_docx(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts), len(document.tables)


def html_text(content: bytes) -> str:
    text = content.decode("utf-8")
    assert "@page { size: A4" in text
    body = text.split("</style>", 1)[1]
    return re.sub(r"<[^>]+>", "\n", body).replace("&amp;", "&")


REQUIRED = {
    "plan": [
        "支援計画書",
        "宇土市",
        "市民課",
        "転入手続のオンライン化",
        "予定日",
        "実施日",
        "高橋 誠",
        "ヒアリング",
        "令和8年6月10日",
    ],
    "log": [
        "業務日報",
        "宇土市",
        "山鹿市",
        "令和8年6月10日",
        "訪問",
        "宇土市役所",
        "高橋 誠",
        "中村 由紀",
        "主査",
        "田中 美咲",
        "田中美咲さんと",
        "業務フローを整理",
        "申請様式が紙のみ",
        "電子申請の様式作成を支援する",
        "次回は To-Be",
        "業務フロー.xlsx",
    ],
    "minutes": ["議事録", "令和8年6月12日", "熊本 県子", "支援状況を報告した。", "高橋 誠"],
    "final": [
        "実績報告書",
        "令和8年度",
        "事業概要",
        "事業実施体制",
        "ITコーディネータ",
        "主として携わる人材",
        "事業実施スケジュール",
        "令和8年6月",
        "事業実施内容",
        "BPR伴走支援",
        "うち合同",
        "取組目標",
        "添付資料1 支援計画書",
        "添付資料2 業務日報",
        "添付資料3",
    ],
    "casebook": ["相談事例集", "オンライン申請", "県内の市", "北海道北見市", "https://"],
}


@pytest.mark.parametrize("kind", list(REQUIRED))
def test_every_required_field_is_in_both_formats(ctx, season, kind):
    period = Period(date(2026, 6, 1), date(2026, 6, 30))
    municipality = season["uto"] if kind in ("plan", "log") else None
    word = reports.build(ctx, kind, "docx", "ja", period, municipality)
    html = reports.build(ctx, kind, "html", "ja", period, municipality)
    text, tables = docx_text(word.file.content)
    assert tables >= 1  # re-opens with python-docx and holds its tables
    for expected in REQUIRED[kind]:
        assert expected in text, (kind, expected, "docx")
        assert expected in html_text(html.file.content), (kind, expected, "html")
    assert not word.empty
    assert word.file.name.endswith(".docx") and html.file.mime.startswith("text/html")


def test_the_final_report_counts_a_joint_session_once(ctx, season):
    document, _ = reports.document_for(ctx, "final", "ja", Period(date(2026, 6, 1), None))
    results = next(b for b in document.blocks if getattr(b, "header", ("",))[-1] == "計画比")
    bpr = next(row for row in results.rows if row[0] == "BPR伴走支援")
    assert bpr[2:5] == ("1", "0", "1")  # held once although two municipalities took part


def test_the_case_book_names_no_one_from_the_database(ctx, season):
    with ctx.db.transaction() as session:
        staff = {p.name for p in session.exec(select(Person))} | {
            a.name for a in session.exec(select(WorkLogAttendee))
        }
    parts = {part for name in staff for part in name.split()} | staff
    parts |= {name.replace(" ", "") for name in staff}
    for fmt in ("docx", "html"):
        built = reports.build(ctx, "casebook", fmt, "ja")
        text = docx_text(built.file.content)[0] if fmt == "docx" else html_text(built.file.content)
        leaked = sorted(p for p in parts if len(p) >= 2 and p in text)
        assert not leaked, (fmt, leaked)
        assert "主査" not in text and "係長" not in text and "@" not in text
        assert "宇土市" not in text and "担当者" in text


def test_case_book_search_ranks_the_closest_first(ctx, season):
    with ctx.db.transaction() as session:
        hits = casebook.search(session, "ja", "電子申請 様式")
        assert hits and hits[0].ref.startswith("C")  # the consultation about forms
        practices = casebook.search(session, "ja", "書かない窓口")
        assert practices[0].title.startswith("北海道北見市") and practices[0].link
        assert casebook.search(session, "ja", "") == []
    assert casebook.tokens("RPA導入") == casebook.tokens("ＲＰＡ導入")  # NFKC


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2026, 12, 31), "令和8年12月31日"),
        (date(2027, 1, 1), "令和9年1月1日"),
    ],
)
def test_era_dates_across_the_boundaries(day, expected):
    assert era_date("ja", day) == expected


def test_fiscal_years_run_april_to_march():
    assert fiscal_year_label("ja", date(2026, 4, 1)) == "令和8年度"
    assert fiscal_year_label("ja", date(2027, 3, 31)) == "令和8年度"
    assert fiscal_year_label("ja", date(2027, 4, 1)) == "令和9年度"
    assert fiscal_year_label("en", date(2026, 11, 24)).startswith("FY2026")


@pytest.mark.parametrize("kind", ["log", "minutes", "final"])
def test_an_empty_period_says_so(ctx, cast, kind):
    built = reports.build(ctx, kind, "html", "ja", Period(date(2026, 8, 1), date(2026, 8, 31)))
    assert built.empty
    assert "該当する記録はありません" in html_text(built.file.content)
    text, _ = docx_text(reports.build(ctx, kind, "docx", "ja", Period()).file.content)
    assert "該当する記録はありません" in text


def test_prefecture_receives_the_file_and_others_are_refused(ctx, season, cast):
    prefecture, staff = cast["水前寺 花"], cast["田中 美咲"]
    form = router.press(ctx, prefecture, "report.form").form
    assert form is not None and form.action == "report.request"
    values = {
        "report_document": "plan",
        "municipality": str(season["uto"]),
        "report_format": "docx",
    }
    reply = router.submit(ctx, prefecture, "report.request", values)
    assert reply.ok and reply.files and reply.files[0].name == "支援計画書_宇土市.docx"
    refused = router.submit(ctx, staff, "report.request", values)
    assert not refused.ok and not refused.files
    assert refusals(ctx, "report.request")
    bad = router.submit(
        ctx,
        prefecture,
        "report.request",
        {**values, "report_from": "2026-07-10", "report_to": "2026-07-01"},
    )
    assert not bad.ok and "report_to" in bad.data["errors"]


def test_everyone_can_search_the_case_book_from_chat(ctx, season, cast):
    staff = cast["松本 大輔"]
    assert router.press(ctx, staff, "casebook.form").form is not None
    reply = router.submit(ctx, staff, "casebook.search", {"casebook_words": "RPA"})
    assert reply.ok and reply.data["hits"]
    assert "RPA" in reply.plain_text()


def args(tmp_path: Path, **overrides) -> Namespace:
    values = {
        "kind": "final",
        "municipality": None,
        "start": None,
        "end": None,
        "format": None,
        "out": tmp_path / "report.docx",
    }
    values.update(overrides)
    return Namespace(**values)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": "2026-13-01"}, "--from"),
        ({"start": "2026-07-02", "end": "2026-07-01"}, "終了日"),
        ({"municipality": "架空町"}, "架空町"),
        ({"out": Path("/nonexistent/dir/x.docx")}, "/nonexistent/dir"),
        ({"out": Path("report.pdf")}, "docx"),
    ],
)
def test_the_command_refuses_bad_arguments_in_one_line(ctx, cast, tmp_path, overrides, message):
    err = io.StringIO()
    assert report_cli(ctx, args(tmp_path, **overrides), "ja", err) == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_the_command_writes_the_file_with_progress(ctx, season, tmp_path):
    err = io.StringIO()
    assert report_cli(ctx, args(tmp_path, out=tmp_path, format="html"), "ja", err) == 0
    written = list(tmp_path.glob("*.html"))
    assert [p.name for p in written] == ["実績報告書.html"]
    assert "業務日報を読み込みました(2件)" in err.getvalue()


def test_write_documents_writes_each_document_once(ctx, season, tmp_path):
    paths = write_documents(ctx, tmp_path / "documents")
    assert len(paths) == len(set(paths)) == 10
    assert {p.suffix for p in paths} == {".docx", ".html"}
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
