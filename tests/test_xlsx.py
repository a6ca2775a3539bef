"""#18: the workbook (集計表.xlsx), read back with openpyxl: Japanese headers, the
counts of `quotas` (one tally), sessions, logs and open issues, era or ISO dates,
frozen header rows and autofilters."""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook

from handlers.documents import build
from handlers.documents.gathering import Period
from handlers.planning import quotas
from tests.support.db_setup import ON_POSTGRES

SHEETS = ["月別実施回数", "計画と見込み", "支援一覧", "業務日報一覧", "未解決課題"]


def workbook(ctx, dates=None, period=None):
    built = build.build(ctx, "workbook", "xlsx", "ja", period, dates=dates)
    assert built.file.name.startswith("集計表") and built.file.name.endswith(".xlsx")
    return load_workbook(io.BytesIO(built.file.content))


def rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def test_every_sheet_has_japanese_headers_a_filter_and_a_frozen_row(ctx, season):
    book = workbook(ctx)
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        header = rows(sheet)[0]
        assert all(isinstance(h, str) and h for h in header), sheet.title
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert sheet["A1"].font.b
    assert rows(book["支援一覧"])[0][:6] == ("No.", "日付", "開始", "終了", "区分", "状況")
    assert book.properties.title == "集計表" and book.properties.language == "ja-JP"


def test_the_counts_are_the_quota_figures(ctx, season):
    book = workbook(ctx)
    figures = {r[0]: r[1:] for r in rows(book["計画と見込み"])[1:]}
    labels = {"bpr": "BPR伴走支援", "consultation": "個別相談", "office_day": "県庁業務"}
    for row in quotas.figures(ctx):
        if row.kind in labels:
            plan, held, booked, joint, projected = figures[labels[row.kind]]
            assert (plan, held, booked, joint) == (row.plan, row.held, row.booked, row.joint)
            assert projected == round(row.projected)
    months = rows(book["月別実施回数"])
    assert months[0] == ("時期", "区分", "実施済み", "予定")
    assert ("令和8年6月", "BPR伴走支援", 1, 0) in months  # the joint visit, counted once


def test_sessions_logs_and_open_issues_are_listed(ctx, season):
    book = workbook(ctx)
    sessions = rows(book["支援一覧"])[1:]
    assert len(sessions) == 3
    visit = next(r for r in sessions if r[4] == "BPR伴走支援")
    assert visit[1] == "令和8年6月10日" and visit[2:4] == ("10:00", "12:00")
    assert visit[5] == "実施済み" and "宇土市" in visit[7] and "山鹿市" in visit[7]
    logs = rows(book["業務日報一覧"])[1:]
    assert len(logs) == 2 and {r[2] for r in logs} >= {"宇土市"}
    assert any("田中美咲さんと" in r[7] for r in logs) and logs[0][10] == "業務フロー.xlsx"
    issues = rows(book["未解決課題"])[1:]
    assert len(issues) == 2 and issues[0][1] == "申請様式が紙のみ" and issues[0][3] == "未対応"


def test_iso_dates_are_real_dates(ctx, season):
    book = workbook(ctx, dates="iso")
    visit = rows(book["支援一覧"])[1]
    assert isinstance(visit[1], datetime) and visit[1].date() == date(2026, 6, 10)
    assert book["支援一覧"]["B2"].number_format == "yyyy-mm-dd"
    month = rows(book["月別実施回数"])[1][0]
    assert isinstance(month, datetime) and month.date() == date(2026, 6, 1)


def test_a_period_narrows_sessions_and_logs(ctx, season):
    book = workbook(ctx, period=Period(date(2026, 6, 11), date(2026, 6, 30)))
    assert len(rows(book["支援一覧"])) == 1 + 2  # the consultation and the office day
    assert len(rows(book["業務日報一覧"])) == 1 + 1
    assert len(rows(book["未解決課題"])) == 1 + 2  # open issues: whenever found


def test_stored_control_characters_are_dropped(ctx, season):
    from sqlmodel import select

    from storage.models import WorkLog

    with ctx.db.transaction() as session:
        control = "\x01" if ON_POSTGRES else "\x00"  # PostgreSQL cannot hold a NUL
        session.exec(select(WorkLog)).first().summary = "一行目\x0b二行目" + control
    logs = rows(workbook(ctx)["業務日報一覧"])[1:]
    assert "一行目\n二行目" in [r[7] for r in logs]
