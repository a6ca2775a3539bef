"""`python -m bot check` (issue #14 item 6): a clean season built through the handlers has
no findings; each rule, broken directly in the database, gives its exact finding, in
Japanese, naming the rows; the command exits 1 then, 0 when clean, 2 without a database."""

import ast
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import delete, select

from handlers import router
from handlers.core import payloads
from handlers.core.clock import TOKYO
from handlers.fieldwork import logs
from handlers.people import roster
from handlers.record import check
from handlers.scheduling import booking
from storage import sessions
from storage.models import (
    EngagementStep,
    EngagementStepSession,
    Notification,
    Person,
    Request,
    SupportSession,
    WorkLog,
    WorkLogSession,
)
from tests.support.db_setup import ON_POSTGRES
from tests.support.factories import apply, approve, number, submit
from tests.support.message_catalog import catalog

ROOT = Path(__file__).resolve().parent.parent
CLERK, APPROVER = "水前寺 花", "熊本 県子"


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=TOKYO)


def book(ctx, actor, **values):
    reply = booking.book(ctx, actor, values)
    assert reply.ok, reply.plain_text()
    return reply.data["session_id"]


def town_id(ctx, name):
    from storage import people

    with ctx.db.transaction() as session:
        return people.municipality_named(session, name).id


@pytest.fixture
def season(ctx, cast, snapshots):
    return snapshots.once(ctx, "check-season", lambda: build_season(ctx, cast))


def build_season(ctx, cast):
    """A small season through the handlers: a consultation booked, moved by its
    requester, held and logged (done); another booked and cancelled (approved again); a
    selected BPR town with one visit, logged, and its step 1 done in it; an office day
    with minutes; the results meeting booked for March."""
    clerk, kobayashi, takahashi = cast[CLERK], cast["小林 健"], cast["高橋 誠"]
    done = apply_consultation(ctx, cast, "田中 美咲")
    moved = book(ctx, clerk, **consultation(ctx, done, kobayashi, "2026-07-16"))
    staff = cast["田中 美咲"]
    values = {"date": "2026-07-17", "start": "13:30"}
    reply = router.submit(ctx, staff, "session.move", values, payloads.encode(id=moved))
    assert reply.ok, reply.plain_text()
    again = apply_consultation(ctx, cast, "森 翔太")
    dropped = book(ctx, clerk, **consultation(ctx, again, kobayashi, "2026-07-21"))
    reason = {"reason": "議会日程と重なった"}
    reply = router.submit(
        ctx, cast["森 翔太"], "session.cancel", reason, payloads.encode(id=dropped)
    )
    assert reply.ok, reply.plain_text()

    application = apply(ctx, cast["松本 大輔"])  # 山鹿市
    selected = approve(ctx, cast[APPROVER], application, [takahashi, cast["中村 由紀"]])
    assert selected.ok, selected.plain_text()
    visit = book(
        ctx,
        clerk,
        session_kind="bpr",
        date="2026-07-14",
        start="09:00",
        minutes=210,
        mode="visit",
        municipalities=[str(town_id(ctx, "山鹿市"))],
        consultants=[str(takahashi.id), str(cast["中村 由紀"].id)],
    )
    office = book(
        ctx,
        clerk,
        session_kind="office_day",
        date="2026-07-08",
        start="09:00",
        minutes=240,
        mode="visit",
        consultants=[str(takahashi.id)],
    )
    results = book(
        ctx,
        clerk,
        session_kind="results_meeting",
        date="2027-03-10",
        start="14:00",
        minutes=120,
        mode="online",
        meeting_url="https://meet.example.jp/dx",
        consultants=[str(kobayashi.id)],
    )

    ctx.clock.set(at("2026-07-17", "17:00"))
    file_log(ctx, kobayashi, moved, "宇土市役所")
    file_log(ctx, takahashi, visit, "山鹿市役所")
    minutes = {"office_day": str(office), "attendees_text": "熊本 県子、高橋 誠", "body": "報告"}
    assert logs.file_minutes(ctx, takahashi, minutes).ok
    engagement = selected.data["engagement_id"]
    step = {"step": 1, "step_action": "done", "done_in": [str(visit)]}
    reply = router.submit(ctx, takahashi, "bpr.step", step, payloads.encode(id=engagement))
    assert reply.ok, reply.plain_text()
    return {
        "done": done,
        "again": again,
        "moved": moved,
        "dropped": dropped,
        "visit": visit,
        "office": office,
        "results": results,
        "engagement": engagement,
    }


def apply_consultation(ctx, cast, staff_name):
    request_id = submit(ctx, cast[staff_name])
    assert approve(ctx, cast[APPROVER], request_id, [cast["小林 健"]]).ok
    return request_id


def consultation(ctx, request_id, consultant, day):
    return {
        "session_kind": "consultation",
        "request_number": number(ctx, request_id),
        "date": day,
        "start": "10:00",
        "minutes": 120,
        "mode": "visit",
        "consultants": [str(consultant.id)],
    }


def file_log(ctx, author, session_id, place):
    values = {
        "sessions": [str(session_id)],
        "method": "visit",
        "place": place,
        "attendees": "企画課/主査/田中 美咲",
        "summary": "手続の棚卸しを行った。",
        "response": "優先順位の付け方を助言した。",
    }
    reply = logs.file_log(ctx, author, values)
    assert reply.ok, reply.plain_text()


def found(ctx, rule=None):
    every = check.findings(ctx)
    return [f for f in every if rule is None or f.rule == rule]


def texts(ctx, rule):
    return [f.text("ja") for f in found(ctx, rule)]


def add_session(ctx, kind, starts_at, minutes, towns=(), consultants=(), **extra):
    """A session written straight into storage, past every rule of the handlers."""
    with ctx.db.transaction() as session:
        row = sessions.add(
            session,
            SupportSession(
                kind=kind,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=minutes),
                mode="visit",
                uid=f"forged-{kind}-{starts_at.isoformat()}@test",
                created_by_id=1,
                created_at=starts_at,
                **extra,
            ),
            towns,
            consultants,
        )
        return row.id


def update(ctx, model, row_id, **values):
    with ctx.db.transaction() as session:
        row = session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)


def test_a_season_kept_through_the_handlers_has_no_findings(ctx, season):
    assert found(ctx) == []
    assert check.report([], "ja") == ["整合性チェック: 問題は見つかりませんでした"]


def test_someone_following_the_feed_only_is_not_owed_invites(ctx, cast, season):
    """Invites are not queued for a person who chose the private feed only: the check
    does not count that as a calendar left behind."""
    with ctx.db.transaction() as session:
        for person in session.exec(select(Person)).all():
            person.invite_delivery = "feed"  # everyone: the change below queues nothing
            session.add(person)
        live = session.exec(select(SupportSession).where(SupportSession.status == "booked"))
        row = live.first()
        booking.revise(
            session,
            row,
            actor_id=row.created_by_id,
            now=ctx.clock.now(),
            action="session.details",
            before={},
            after={},
        )
    assert found(ctx) == []


def test_a_season_ahead_of_the_clock_is_judged_by_its_own_latest_entry(ctx, season):
    """The demo's simulated season may run ahead of the wall clock: what its record
    says was held has begun, whatever the clock reading the file says."""
    ctx.clock.set(at("2026-07-01", "09:00"))
    assert found(ctx) == []


def test_a_town_in_two_overlapping_sessions(ctx, cast, season):
    uto, misato = town_id(ctx, "宇土市"), town_id(ctx, "美里町")
    # a joint session of 宇土市 and 美里町 over 宇土市's consultation (17 Jul 13:30–15:30)
    joint = add_session(ctx, "bpr", at("2026-07-17", "15:00"), 60, towns=[misato, uto])
    overlaps = found(ctx, "municipality")
    assert len(overlaps) == 1
    assert overlaps[0].params["towns"] == ["宇土市"]  # 美里町's own session was cancelled
    assert overlaps[0].text("ja") == (
        f"宇土市: セッション#{season['moved']}（個別相談 2026年7月17日(金) 13:30〜15:30）と"
        f"セッション#{joint}（BPR伴走支援 2026年7月17日(金) 15:00〜16:00）の時間が重なっています。"
    )
    assert "overlap" in overlaps[0].text("en")
    # the results meeting, which every town attends, overlaps nobody's sessions
    update(ctx, SupportSession, joint, status="cancelled")
    later = at("2027-03-10", "14:30")
    add_session(ctx, "bpr", later, 60, towns=[uto])
    assert found(ctx, "municipality") == []


def test_results_meetings_one_a_year_and_in_march(ctx, season):
    second = add_session(
        ctx, "results_meeting", at("2027-03-24", "14:00"), 120, towns=[town_id(ctx, "宇土市")]
    )
    [finding] = found(ctx, "results")
    assert finding.key == "check.results.second"
    assert finding.text("ja").startswith("2026年度の成果報告会が2件あります（年度に1回です）: ")
    assert f"セッション#{season['results']}" in finding.text("ja")
    assert f"セッション#{second}" in finding.text("ja")
    update(ctx, SupportSession, second, status="cancelled")
    update(
        ctx,
        SupportSession,
        season["results"],
        starts_at=at("2027-02-10", "14:00"),
        ends_at=at("2027-02-10", "16:00"),
    )
    assert texts(ctx, "results") == [
        f"セッション#{season['results']}（成果報告会 2027年2月10日(水) 14:00〜16:00）"
        "が3月以外に予定されています（成果報告会は3月に開きます）。"
    ]


def test_held_before_it_began_and_paperwork_too_early(ctx, season):
    update(ctx, SupportSession, season["results"], status="held")
    assert texts(ctx, "held") == [
        f"セッション#{season['results']}（成果報告会 2027年3月10日(水) 14:00〜16:00）"
        "はまだ始まっていないのに「実施済み」になっています。"
    ]
    update(ctx, SupportSession, season["results"], status="booked")
    with ctx.db.transaction() as session:
        log = session.exec(select(WorkLog).order_by(WorkLog.id)).first()
        log.filed_at = at("2026-07-16", "09:00")
        session.add(log)
        log_id = log.id
    [early] = found(ctx, "held")
    assert early.key == "check.held.record_early"
    assert early.text("ja") == (
        f"業務日報 No.{log_id}がセッション#{season['moved']}（個別相談 2026年7月17日(金) "
        "13:30〜15:30）の開始前（2026年7月16日(木) 09:00）に提出されています。"
    )


def test_a_consultant_in_two_overlapping_sessions(ctx, cast, season):
    nakamura = cast["中村 由紀"]
    other = add_session(ctx, "office_day", at("2026-07-14", "12:00"), 60, consultants=[nakamura.id])
    [finding] = found(ctx, "consultant")
    assert finding.params["people"] == ["中村 由紀"]
    assert finding.text("ja") == (
        f"デジタル人材 中村 由紀: セッション#{season['visit']}（BPR伴走支援 2026年7月14日(火) "
        f"09:00〜12:30）とセッション#{other}（県庁業務 2026年7月14日(火) 12:00〜13:00）"
        "の時間が重なっています。"
    )


def test_a_session_to_come_with_a_consultant_no_longer_active(ctx, cast, season):
    """小林 held a consultation in July and is booked on the results meeting in March:
    deactivated, only the meeting to come is named, to the administrator at once and by
    the check until it is re-staffed."""
    values = {"person": str(cast["小林 健"].id), "roster_active": "no"}
    told = roster.deactivate(ctx, cast["管理 太郎"], values)
    assert told.ok and told.data["sessions_ahead"] == 1
    assert "小林 健さんには今後の予定が 1 件あります" in told.plain_text()
    assert f"・セッション#{season['results']} 成果報告会 2027年3月10日" in told.plain_text()
    [finding] = found(ctx, "staffing")
    assert finding.params["people"] == ["小林 健"]
    assert finding.text("ja").startswith(f"セッション#{season['results']}（成果報告会 ")
    assert finding.text("ja").endswith(
        ": 小林 健 さんは有効なデジタル人材ではありません。担当を替えるか取り消してください。"
    )


def test_steps_done_in_sessions_that_count(ctx, season):
    with ctx.db.transaction() as session:
        steps = session.exec(
            select(EngagementStep).where(EngagementStep.engagement_id == season["engagement"])
        ).all()
        first = next(s for s in steps if s.number == 1)
        second = next(s for s in steps if s.number == 2)
        second.status = "done"
        session.add(second)
        third = next(s for s in steps if s.number == 3)
        session.add(EngagementStepSession(step_id=third.id, session_id=season["visit"]))
    assert texts(ctx, "steps") == [
        "山鹿市の工程2は「実施済み」なのに、実施したセッションが記録されていません。",
        "山鹿市の工程3は「予定」なのに、実施セッションが紐付いています: "
        f"セッション#{season['visit']}（BPR伴走支援 2026年7月14日(火) 09:00〜12:30）",
    ]
    with ctx.db.transaction() as session:
        for link in session.exec(select(EngagementStepSession)).all():
            session.delete(link)
        session.flush()
        session.add(EngagementStepSession(step_id=first.id, session_id=season["results"]))
        session.add(EngagementStepSession(step_id=second.id, session_id=season["results"]))
    update(ctx, SupportSession, season["visit"], status="cancelled")
    keys = [f.key for f in found(ctx, "steps")]
    assert keys == ["check.steps.bad_session"] * 2 + ["check.steps.before_sessions"]
    assert "この市町村のBPR伴走支援のセッションではありません" in found(ctx, "steps")[0].text("ja")
    with ctx.db.transaction() as session:
        for link in session.exec(select(EngagementStepSession)).all():
            session.delete(link)
    assert [f.text("ja") for f in found(ctx, "steps")][-1] == (
        "山鹿市は実施したBPRセッションがないのに、2工程が「実施済み」です。"
    )


def invites_of(ctx, session_id):
    with ctx.db.transaction() as session:
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
        return [r for r in rows if r.payload.get("session_id") == session_id]


def test_a_cancelled_session_without_its_cancel(ctx, season):
    with ctx.db.transaction() as session:
        for row in invites_of(ctx, season["dropped"]):
            if row.payload["method"] == "CANCEL":
                session.delete(session.get(Notification, row.id))
    assert texts(ctx, "invites") == [
        f"取り消されたセッション#{season['dropped']}（個別相談 2026年7月21日(火) 10:00〜12:00）"
        "の取消通知（CANCEL、SEQUENCE 1）が、誰にも送られていません。"
    ]


def test_invites_follow_every_change_of_a_session(ctx, cast, season):
    moved = season["moved"]
    # the requester's copy of the latest version lost: her calendar keeps the old time
    with ctx.db.transaction() as session:
        for row in invites_of(ctx, moved):
            if row.person_id == cast["田中 美咲"].id and row.payload["sequence"] == 1:
                session.delete(session.get(Notification, row.id))
    [missing] = found(ctx, "invites")
    assert missing.key == "check.invites.missing_request"
    assert missing.params["people"] == ["田中 美咲"]
    assert "SEQUENCE 1）が田中 美咲に送られていません" in missing.text("ja")


def test_a_change_without_a_new_sequence(ctx, season):
    moved = season["moved"]
    later = at("2026-07-17", "14:30")
    update(ctx, SupportSession, moved, starts_at=later, ends_at=later + timedelta(hours=2))
    assert [f.key for f in found(ctx, "invites")] == ["check.invites.stale"]
    update(ctx, SupportSession, moved, sequence=0)
    keys = [f.key for f in found(ctx, "invites")]
    assert keys == ["check.invites.ahead", "check.invites.stale"]
    with ctx.db.transaction() as session:  # an older version queued after the newer one
        row = invites_of(ctx, moved)[0]
        session.add(
            Notification(
                key="forged",
                kind=row.kind,
                person_id=row.person_id,
                payload={
                    **row.payload,
                    "sequence": 0,
                    "invite": {"ja": {**row.payload["invite"].get("ja", {}), "summary": "別"}},
                },
                due_at=row.due_at,
                created_at=row.created_at,
            )
        )
    keys = [f.key for f in found(ctx, "invites")]
    assert "check.invites.decreasing" in keys and "check.invites.conflicting" in keys


def test_a_batched_invite_is_read_per_session(ctx, season):
    """A batched row (one notice for many sessions, issue #17) holds each session's
    invite under `sessions`: the rule reads every one as if queued on its own."""
    moved = season["moved"]
    assert found(ctx, "invites") == []
    with ctx.db.transaction() as session:  # an older, different version, inside a batch
        row = invites_of(ctx, moved)[-1]
        older = {
            **row.payload,
            "sequence": 0,
            "invite": {"ja": {**row.payload["invite"].get("ja", {}), "summary": "別"}},
        }
        session.add(
            Notification(
                key="forged-batch",
                kind=row.kind,
                person_id=row.person_id,
                payload={"message": "invite.notice.batch.request", "sessions": [older]},
                due_at=row.due_at,
                created_at=row.created_at,
            )
        )
    keys = [f.key for f in found(ctx, "invites")]
    assert "check.invites.decreasing" in keys and "check.invites.conflicting" in keys


def test_requests_whose_state_contradicts_their_sessions(ctx, cast, season):
    update(ctx, Request, season["again"], state="scheduled")
    update(ctx, Request, season["done"], state="cancelled")  # its held session stays
    later = apply(ctx, cast["井上 恵"])  # 菊池市, never selected
    update(ctx, Request, later, state="approved")
    number_again, number_done, number_later = (
        number(ctx, season["again"]),
        number(ctx, season["done"]),
        number(ctx, later),
    )
    assert texts(ctx, "requests") == [
        f"依頼{number_done}は「取消」なのに、取り消されていないセッションがあります: "
        f"セッション#{season['moved']}（個別相談 2026年7月17日(金) 13:30〜15:30）",
        f"依頼{number_again}は「日程確定」なのに、予定されているセッションがありません。",
        f"BPR応募{number_later}（菊池市）は選定済みなのに、伴走支援が始まっていません。",
    ]
    update(ctx, Request, season["done"], state="done")
    with ctx.db.transaction() as session:  # done, but its session's log is gone
        session.exec(delete(WorkLogSession).where(WorkLogSession.session_id == season["moved"]))
    [unlogged] = found(ctx, "requests")[:1]
    assert unlogged.key == "check.requests.done_unlogged"


def test_the_report_groups_findings_by_rule_with_a_summary_first(ctx, cast, season):
    update(ctx, Request, season["again"], state="scheduled")
    update(ctx, SupportSession, season["results"], status="held")
    lines = check.report(found(ctx), "ja")
    assert lines[0] == "整合性チェック: 問題 2 件"
    assert lines[1] == "■ 開始前の「実施済み」・日報・議事録（1 件）"
    assert lines[2].startswith("  ・セッション#")
    assert lines[3] == "■ 依頼の状態とセッション（1 件）"
    english = check.report(found(ctx), "en")
    assert english[0] == "Consistency check: 2 problem(s)"


def test_every_check_message_exists_in_both_languages():
    source = ROOT / "handlers" / "record" / "check.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    built = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    keys = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("check.")
        and id(node) not in built
    }
    keys |= {f"check.rule.{name}" for name, _ in check.RULES}
    keys |= {f"check.record.{what}" for what in ("log", "minutes")}
    keys |= {f"check.invites.{k}_{w}" for k in ("no", "missing") for w in ("request", "cancel")}
    keys |= {"cli.check", "check.no_database", "check.schema", "check.unreadable"}
    assert len(keys) > 30
    for language in ("ja", "en"):
        assert not sorted(keys - set(catalog(language))), language


# -- the command ---------------------------------------------------------------------------


def cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DXDESK_LANGUAGE": "ja", **env},
        cwd=ROOT,
        timeout=120,
    )


def test_the_command_exits_0_clean_1_with_findings(ctx, season):
    env = {"DATABASE_URL": ctx.db.url}
    clean = cli("check", env=env)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.strip() == "整合性チェック: 問題は見つかりませんでした"
    add_session(ctx, "bpr", at("2026-07-17", "14:00"), 60, towns=[town_id(ctx, "宇土市")])
    update(ctx, Request, season["again"], state="scheduled")
    broken = cli("check", env=env)
    assert broken.returncode == 1, broken.stderr
    lines = broken.stdout.strip().splitlines()
    assert lines[0].startswith("整合性チェック: 問題 ")
    assert "■ 市町村の重複予約（1 件）" in lines
    assert any("宇土市: セッション#" in line for line in lines)
    assert any(f"依頼{number(ctx, season['again'])}は「日程確定」" in line for line in lines)


@pytest.mark.skipif(ON_POSTGRES, reason="a missing SQLite file")
def test_the_command_without_a_database_says_so_in_one_line(tmp_path):
    missing = tmp_path / "nowhere.db"
    result = cli("check", env={"DATABASE_URL": f"sqlite:///{missing}"})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "データベース" in line and str(missing) in line
    assert not missing.exists()  # the check never creates one
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    result = cli("check", env={"DATABASE_URL": f"sqlite:///{garbage}"})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("整合性チェック: データベースを開けませんでした")


def test_the_command_is_listed_with_its_one_line_help():
    result = cli("--help", env={})
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("check "))
    assert "矛盾" in line
