"""Issue #14 item 4: every count of sessions shown anywhere — the digest, `quota.view`
(App Home), the console, the final report's tables, the demo's table — is the one
function's (`quotas.figures` / `quotas.by_month` over `storage.sessions.tallies`), and
statuses are worded by one catalog key each."""

from __future__ import annotations

import io
from datetime import date, datetime, time

import pytest
from sqlmodel import select

from bot.console.chat import Console
from handlers import router
from handlers.core.clock import TOKYO
from handlers.core.i18n import t
from handlers.documents import build
from handlers.documents.gathering import Period
from handlers.notifications import digest
from handlers.people import home
from handlers.planning import quotas
from storage import logs
from storage.models import FollowUpIssue, IssueStatus, SupportSession, WorkLog
from tests.support.factories import add_session_row

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=TOKYO)  # a Monday, mid-season
KIND_LABELS = {
    "bpr": "BPR伴走支援",
    "consultation": "個別相談",
    "office_day": "県庁業務",
    "results_meeting": "成果報告会",
}


def on(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), TOKYO)


@pytest.fixture
def season(ctx, cast):
    """Held, booked, cancelled and joint sessions and a results meeting, written as rows,
    with what each programme must show counted by hand."""
    uto, kikuchi = cast["田中 美咲"].municipality_id, cast["井上 恵"].municipality_id
    lead = cast["高橋 誠"]
    rows = [
        ("bpr", "2026-06-18", [uto], "held"),
        ("bpr", "2026-07-06", [uto, kikuchi], "booked"),  # joint, begun, no log yet: held
        ("bpr", "2026-09-28", [kikuchi], "cancelled"),
        ("bpr", "2026-11-16", [uto], "booked"),  # began at 10:00 today: held
        ("bpr", "2026-12-21", [kikuchi], "booked"),
        ("bpr", "2027-01-18", [uto], "booked"),
        ("consultation", "2026-08-05", [uto], "held"),
        ("consultation", "2026-12-02", [kikuchi], "booked"),
        ("office_day", "2026-07-08", [], "held"),
        ("office_day", "2026-10-14", [], "cancelled"),
        ("office_day", "2026-12-09", [], "booked"),
        ("office_day", "2027-03-10", [], "booked"),
        ("results_meeting", "2027-02-19", [uto, kikuchi], "booked"),
    ]
    for kind, day, places, status in rows:
        add_session_row(ctx, kind, on(day), places, by=lead, status=status)
    ctx.clock.set(NOW)
    return {
        "bpr": (3, 2, 1),  # (held, booked, joint)
        "consultation": (1, 1, 0),
        "office_day": (1, 2, 0),
        "results_meeting": (0, 1, 0),
    }


def test_the_one_function_counts_the_rows(ctx, season):
    rows = {r.kind: r for r in quotas.figures(ctx)}
    assert {k: (r.held, r.booked, r.joint) for k, r in rows.items()} == season
    assert rows["results_meeting"].projected == 1 and rows["results_meeting"].pace == "on_track"


def test_quota_view_and_app_home_show_the_figures(ctx, season, cast):
    prefecture = cast["熊本 県子"]
    figures = quotas.figures(ctx)
    reply = quotas.status(ctx, prefecture)
    assert reply.data["quotas"] == figures
    shown = {
        item.title: [f.value for f in item.fields]
        for block in reply.blocks
        if getattr(block, "items", None)
        for item in block.items
    }
    for r in figures:
        plan, held, booked, *_ = shown[KIND_LABELS[r.kind]]
        assert (int(plan), int(held), int(booked)) == (r.plan, r.held, r.booked)
    homepage = home.view(ctx, prefecture).plain_text()
    assert reply.plain_text() in homepage


def test_the_console_prints_the_figures(ctx, season, cast):
    out = io.StringIO()
    prefecture = cast["熊本 県子"]
    Console(ctx, prefecture, input, out).step(router.press(ctx, prefecture, "quota.view"))
    text = out.getvalue()
    held, booked = t("ja", "session.status.held"), t("ja", "session.status.booked")
    for r in quotas.figures(ctx):
        block = text.split(f"・{KIND_LABELS[r.kind]}\n", 1)[1]
        assert f"{held}: {r.held}\n" in block and f"{booked}: {r.booked}\n" in block
        assert f"{t('ja', 'quota.projected')}: {r.projected:.0f}\n" in block


def test_the_digest_shows_the_figures(ctx, season):
    with ctx.db.transaction() as session:
        text = digest.render(ctx, session, "ja", {"week": "2026-11-16"}).plain_text()
    for r in quotas.figures(ctx):
        line = f"実施済み{r.held}・予定{r.booked}/計画{r.plan}・見込み{r.projected:.0f}"
        assert line in text, line
    assert "先週の支援(実施済み0件)" in text  # nothing in 11/9–11/15
    assert "今週の予定(1件)" in text  # today's visit, begun: held, still this week's


def final_tables(ctx):
    document, _ = build.document_for(
        ctx, "final", "ja", Period(date(2026, 4, 1), date(2027, 3, 31))
    )
    months = next(b for b in document.blocks if getattr(b, "header", ("",))[0] == "時期")
    results = next(b for b in document.blocks if getattr(b, "header", ("",))[-1] == "計画比")
    return months, results


def test_the_final_report_shows_the_figures(ctx, season):
    months, results = final_tables(ctx)
    figures = {KIND_LABELS[r.kind]: r for r in quotas.figures(ctx)}
    assert results.header[2:5] == ("実施済み", "予定", "うち合同")
    for row in results.rows:
        r = figures[row[0]]
        assert (int(row[1]), int(row[2]), int(row[3]), int(row[4])) == (
            r.plan,
            r.held,
            r.booked,
            r.joint,
        )
    kinds = [next(k for k, v in KIND_LABELS.items() if v == label) for label in months.header[1:]]
    by_month = quotas.by_month(ctx)
    assert len(months.rows) == len(by_month) == 8  # none for Sep, Oct: only cancelled
    for row, month in zip(months.rows, by_month, strict=True):
        for cell, kind in zip(row[1:], kinds, strict=True):
            held, booked = month.counts[kind].held, month.counts[kind].booked
            assert cell == (f"{held}(予定{booked})" if booked else str(held)), (month, kind)
    for kind in kinds:  # the months add up to the totals
        assert sum(m.counts[kind].held for m in by_month) == figures[KIND_LABELS[kind]].held
        assert sum(m.counts[kind].booked for m in by_month) == figures[KIND_LABELS[kind]].booked


def test_december_bookings_are_not_counted_as_held_in_the_monthly_table(ctx, season):
    months, _ = final_tables(ctx)
    december = next(row for row in months.rows if row[0] == "令和8年12月")
    november = next(row for row in months.rows if row[0] == "令和8年11月")
    bpr = months.header.index("BPR伴走支援")
    assert december[bpr] == "0(予定1)"
    assert november[bpr] == "1"  # begun this morning


def test_statuses_are_worded_the_same_in_documents_and_the_digest(ctx, season, cast):
    uto = cast["田中 美咲"].municipality_id
    with ctx.db.transaction() as session:
        first = session.exec(select(SupportSession).order_by(SupportSession.starts_at)).first()
        log = logs.add(
            session,
            WorkLog(
                author_id=cast["高橋 誠"].id,
                summary="現状を聞いた。",
                response="助言した。",
                filed_at=on("2026-06-18", 18),
            ),
            [first.id],
            [],
        )
        logs.add_issue(
            session,
            FollowUpIssue(
                log_id=log.id,
                municipality_id=uto,
                content="申請様式が紙のみ",
                policy="電子化を支援する",
                status=IssueStatus.IN_PROGRESS,
                created_at=on("2026-06-18", 18),
            ),
            cast["高橋 誠"].id,
            on("2026-06-18", 18),
        )
    document, _ = build.document_for(ctx, "log", "ja", Period(date(2026, 6, 1), date(2026, 6, 30)))
    issues = next(b for b in document.blocks if getattr(b, "header", ("",))[-1] == "状況")
    with ctx.db.transaction() as session:
        text = digest.render(ctx, session, "ja", {"week": "2026-11-16"}).plain_text()
    assert issues.rows == (("申請様式が紙のみ", "電子化を支援する", "対応中"),)
    assert "宇土市: 申請様式が紙のみ (対応中)" in text


def test_a_held_results_meeting_is_not_a_joint_session(ctx, season):
    """Every town is invited to the results meeting, but it is not held jointly for them
    (§2.4): once held it counts 1, and 0 in うち合同."""
    ctx.clock.set(datetime(2027, 2, 19, 15, 0, tzinfo=TOKYO))
    row = {r.kind: r for r in quotas.figures(ctx)}["results_meeting"]
    assert (row.held, row.booked, row.joint) == (1, 0, 0)
