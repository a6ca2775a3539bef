"""The reports' season: one BPR engagement, a consultation and an office day with their
logs, for the report, PDF, bundle, workbook and case book tests (the `season` fixture in
conftest builds it once), and the words each document must contain."""

from __future__ import annotations

from argparse import Namespace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from handlers.core.clock import TOKYO
from storage import engagements, logs, sessions
from storage.models import (
    Engagement,
    FollowUpIssue,
    Minutes,
    SupportSession,
    WorkLog,
)
from tests.support.factories import apply, publish_cases, submit

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


def build_season(ctx, cast):
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
    with ctx.db.transaction() as session:  # step 1 was done in that visit
        first = engagements.steps(session, engagement_id)[0]
        engagements.close_step(
            session, first, "done", [bpr], now=at(DAY, 18), by=cast["高橋 誠"].id
        )
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
    publish_cases(ctx, cast["熊本 県子"])  # the case book shows published cases (#18)
    return {"engagement": engagement_id, "uto": uto}


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
        "市役所 会議室",  # the session's place: a log has none of its own (#14)
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
    # Each from the season's data (not the intro text or practices.json): the redacted
    # consultation, its log's response and issue, the department, the BPR goal.
    "casebook": [
        "電子申請の様式づくりを相談したい",
        "業務フローを整理し",
        "申請様式が紙のみ / 電子申請の様式作成を支援する",
        "市民課",
        "転入手続のオンライン化",
        "令和8年6月",
    ],
}


def args(tmp_path: Path, **overrides) -> Namespace:
    values = {
        "kind": "final",
        "municipality": None,
        "start": None,
        "end": None,
        "format": None,
        "out": tmp_path / "report.docx",
        "log": None,
    }
    values.update(overrides)
    return Namespace(**values)
