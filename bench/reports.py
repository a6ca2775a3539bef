"""The final report (実績報告書) over a full season in every format, and the submission
bundle (提出書類一式) with the logs' attachments.

Season on a temporary SQLite file: the demo's roster, 8 BPR engagements, 221 sessions
(80 BPR visits — every 8th one joint with a neighbour —, 120 consultations, 20 office
days with minutes and the results meeting, two a business day) and 200 work logs, one
for each BPR visit and consultation. Each log covers at least one session, as the app
files them (a session belongs to at most one log, so 200 logs need 200 logged sessions;
one log per session is the heaviest the app produces for 200 logs: batching would mean
fewer logs). 120 consultations is more than the contract's 30: a season twice as busy
as planned, so the target holds with margin. Every log has two municipal attendees and
every 5th an issue. Rows are written through storage directly; what is measured is the
report: gather + lay out + write, once per format (docx, html, pdf); then the bundle
(every document in Word and PDF, the workbook, one 64 KB attachment per log and the
index). Peak memory is the process's maximum resident set (ru_maxrss).

    python bench/reports.py

Prints progress lines, then one JSON line (the last line):
{"logs": …, "sessions": …, "seconds_docx": …, "seconds_html": …, "seconds_pdf": …,
 "bytes_docx": …, …, "seconds_bundle": …, "bytes_bundle": …, "files_bundle": …,
 "peak_mb": …, "target_seconds": 5, "target_bundle_seconds": 20, "target_mb": 500,
 "target_met": true}
Targets: each document under 5 s (the docx aims at under 1.5 s: the Slack adapter
builds it within the 3-second acknowledgement of a modal), the bundle under 20 s, peak
memory under 500 MB.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.demo.cast import CAST, person_values
from handlers.core.business_days import is_business_day
from handlers.core.clock import TOKYO, FakeClock
from handlers.core.context import Context, Rules
from handlers.documents import build
from handlers.documents.gathering import Period
from handlers.documents.model import FORMATS
from handlers.people import roster
from storage import attachments, engagements, logs, migrate, people, request_store, sessions
from storage.db import Database
from storage.models import (
    Engagement,
    FollowUpIssue,
    Minutes,
    Request,
    SupportSession,
    WorkLog,
)

TARGET = 5.0  # seconds, per format
TARGET_BUNDLE = 20.0  # seconds
TARGET_MB = 500  # peak resident memory
ATTACHMENT = b"%PDF-1.4\n" + bytes(range(256)) * 256  # 64 KB, one per log
TOWNS = ("宇土市", "山鹿市", "菊池市", "阿蘇市", "八代市", "人吉市", "天草市", "玉名市")


def business_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TOKYO)


def build_season(ctx: Context) -> tuple[int, int]:
    with ctx.db.transaction() as session:
        ids = {m.name: m.id or 0 for m in people.municipalities(session)}
    cast = [roster.add_person(ctx, person_values(entry, ids)) for entry in CAST]
    lead = next(p for p in cast if p.is_lead)
    consultants = [p.id or 0 for p in cast if p.role == "consultant"]
    prefecture = next(p for p in cast if p.role == "prefecture")
    created = at(date(2026, 6, 1), 9)
    plan = ["bpr"] * 80 + ["consultation"] * 120 + ["office_day"] * 20 + ["results_meeting"]
    days = business_days(date(2026, 6, 2), (len(plan) + 1) // 2)
    session_count = log_count = 0
    with ctx.db.transaction() as session:
        towns = [ids[name] for name in TOWNS]
        engagement_ids = []
        for index, town in enumerate(towns):
            application = request_store.add(
                session,
                Request(
                    number=f"BPR-2026-{index + 1:03d}",
                    kind="bpr_application",
                    state="approved",
                    municipality_id=town,
                    department="市民課",
                    requester_name=f"職員 {index}",
                    requester_title="主査",
                    entered_by_id=prefecture.id or 0,
                    channel="chat",
                    topic="bpr",
                    description="窓口業務の見直し",
                    mode="visit",
                    goal="申請手続のオンライン化",
                    created_at=created,
                    updated_at=created,
                ),
            )
            request_store.assign(session, application.id or 0, consultants[:2])
            engagement = engagements.add(
                session,
                Engagement(
                    municipality_id=town,
                    application_id=application.id or 0,
                    department="市民課",
                    goal="申請手続のオンライン化",
                    created_at=created,
                ),
            )
            engagement_ids.append(engagement.id or 0)
        for index, kind in enumerate(plan):
            day, hour = days[index // 2], (9, 14)[index % 2]
            town = towns[index % len(towns)]
            places = [town, towns[(index + 1) % len(towns)]] if index % 8 == 7 else [town]
            row = sessions.add(
                session,
                SupportSession(
                    kind=kind,
                    starts_at=at(day, hour),
                    ends_at=at(day, hour + 3),
                    mode="visit",
                    place="市役所",
                    engagement_id=engagement_ids[index % 8] if kind == "bpr" else None,
                    status="held",
                    uid=f"bench-{index}",
                    created_by_id=prefecture.id or 0,
                    created_at=created,
                ),
                places if kind != "office_day" else [],
                [lead.id or 0, consultants[1 + index % 2]],
            )
            session_count += 1
            if kind == "office_day":
                logs.add_minutes(
                    session,
                    Minutes(
                        session_id=row.id or 0,
                        author_id=lead.id or 0,
                        attendees="県職員、デジタル人材",
                        body="各市町村の支援状況を報告した。" * 5,
                        filed_at=at(day, 17),
                    ),
                )
            elif kind != "results_meeting":
                log_count += add_log(session, lead.id or 0, [row.id or 0], town, day, log_count)
    return session_count, log_count


def add_log(session, author: int, session_ids, town: int, day: date, index: int) -> int:
    log = logs.add(
        session,
        WorkLog(
            author_id=author,
            summary="対象業務の現状と課題を確認した。" * 4,
            response="業務フローを整理し、改善案の方向性を助言した。" * 4,
            next_plan="次回は業務分析の結果を共有する。",
            attachments=["業務フロー.xlsx"],
            filed_at=at(day, 18),
        ),
        session_ids,
        [("市民課", "主査", f"職員 {index}"), ("市民課", "係長", f"係長 {index}")],
    )
    attachments.add(
        session,
        [attachments.NewFile(f"業務フロー_{index}.pdf", "application/pdf", ATTACHMENT)],
        by=author,
        at=at(day, 18),
        log_id=log.id or 0,
    )
    if index % 5 == 0:
        logs.add_issue(
            session,
            FollowUpIssue(
                log_id=log.id or 0,
                municipality_id=town,
                content="申請様式が紙のみ",
                policy="電子申請での様式作成を支援する",
                status="open",
                created_at=at(day, 18),
            ),
            author,
            at(day, 18),
        )
    return 1


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate.upgrade(database)
        ctx = Context(database, FakeClock(at(date(2027, 3, 31), 18)), Rules())
        print("building the season…", file=sys.stderr, flush=True)
        session_count, log_count = build_season(ctx)
        print(f"{session_count} sessions, {log_count} logs", file=sys.stderr, flush=True)
        period = Period(ctx.rules.contract_start, ctx.rules.contract_end)
        results: dict[str, float | int] = {"logs": log_count, "sessions": session_count}
        for fmt in FORMATS:
            started = time.perf_counter()
            built = build.build(ctx, "final", fmt, "ja", period)
            seconds = time.perf_counter() - started
            print(f"final report, {fmt}: {seconds:.2f} s", file=sys.stderr, flush=True)
            results[f"seconds_{fmt}"] = round(seconds, 3)
            results[f"bytes_{fmt}"] = len(built.file.content)
        started = time.perf_counter()
        bundle = build.build(ctx, "bundle", "zip", "ja", period).file.content
        seconds = time.perf_counter() - started
        print(f"bundle: {seconds:.2f} s", file=sys.stderr, flush=True)
        results["seconds_bundle"] = round(seconds, 3)
        results["bytes_bundle"] = len(bundle)
        results["files_bundle"] = len(zipfile.ZipFile(BytesIO(bundle)).namelist())
        database.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    results["peak_mb"] = round(peak_mb)
    results["target_seconds"] = TARGET
    results["target_bundle_seconds"] = TARGET_BUNDLE
    results["target_mb"] = TARGET_MB
    results["target_met"] = (
        all(results[f"seconds_{fmt}"] < TARGET for fmt in FORMATS)
        and results["seconds_bundle"] < TARGET_BUNDLE
        and peak_mb < TARGET_MB
    )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
