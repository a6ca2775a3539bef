"""The season plan through the handlers: draft, review, confirm (booked), then an
incremental re-plan after one session moved and another was cancelled."""

from datetime import datetime

import pytest
from sqlmodel import select

from handlers import router
from handlers.core import business_days, payloads
from handlers.core.clock import TOKYO
from handlers.people import roster
from storage import plans, sessions
from storage.models import AuditEntry, PlannedSession, PlanStatus, SeasonPlan, SupportSession
from tests.support.factories import apply, count, ref
from tests.support.threads import run_together


@pytest.fixture
def engaged(ctx, cast):
    """Three selected municipalities, each accompanied by 高橋 and 中村."""
    ids = []
    for name in ("田中 美咲", "松本 大輔", "森 翔太"):
        request_id = apply(ctx, cast[name])
        reply = router.submit(
            ctx,
            cast["熊本 県子"],
            "request.approve",
            {"consultants": [str(cast["高橋 誠"].id), str(cast["中村 由紀"].id)]},
            ref(request_id),
        )
        assert reply.ok, reply.plain_text()
        ids.append(reply.data["engagement_id"])
    return ids


def live_sessions(ctx):
    with ctx.db.transaction() as session:
        return {
            s.id: (s.starts_at, s.kind, s.sequence) for s in sessions.listing(session, limit=None)
        }


def test_draft_confirm_and_replan(ctx, cast, engaged):
    clerk = cast["水前寺 花"]
    drafted = router.press(ctx, clerk, "plan.draft")
    assert drafted.ok, drafted.plain_text()
    pressed = [b.action for block in drafted.blocks for b in getattr(block, "buttons", ())]
    assert {"plan.confirm", "plan.discard"} <= set(pressed)
    assert count(ctx, SupportSession) == 0  # nothing is booked before confirmation
    plan_id = drafted.data["plan_id"]
    with ctx.db.transaction() as session:
        plan = session.get(SeasonPlan, plan_id)
        assert plan.summary["unplaced"] == []
        assert plan.summary["counts"]["bpr"] == 30
        assert plan.summary["counts"]["office_day"] == 30
        assert plan.summary["counts"]["results_meeting"] == 1
    page_two = router.press(ctx, clerk, "plan.view", payloads.encode(id=plan_id, page=2))
    assert page_two.ok

    not_allowed = router.press(ctx, cast["高橋 誠"], "plan.confirm", payloads.encode(id=plan_id))
    assert not not_allowed.ok
    confirmed = router.press(ctx, clerk, "plan.confirm", payloads.encode(id=plan_id))
    assert confirmed.ok, confirmed.plain_text()
    booked = live_sessions(ctx)
    assert len(booked) == 61
    with ctx.db.transaction() as session:
        for row in sessions.listing(session):
            start, end = row.starts_at.astimezone(TOKYO), row.ends_at.astimezone(TOKYO)
            assert business_days.is_business_day(start.date())
            assert ctx.rules.office_open <= start.time() and end.time() <= ctx.rules.office_close
    again = router.press(ctx, clerk, "plan.confirm", payloads.encode(id=plan_id))
    assert not again.ok and count(ctx, SupportSession) == 61

    # one BPR session moves, another is cancelled
    bpr_ids = sorted(i for i, (_, kind, _) in booked.items() if kind == "bpr")
    moved_id, cancelled_id = bpr_ids[-1], bpr_ids[-2]
    old_start = booked[moved_id][0].astimezone(TOKYO)
    target = business_days.add_business_days(old_start.date(), 1)
    while True:
        reply = router.submit(
            ctx,
            clerk,
            "session.move",
            {"date": target.isoformat(), "start": "13:00"},
            payloads.encode(id=moved_id),
        )
        if reply.ok:
            break
        target = business_days.add_business_days(target, 1)
    assert router.submit(
        ctx, clerk, "session.cancel", {"reason": "台風接近のため"}, payloads.encode(id=cancelled_id)
    ).ok
    before = live_sessions(ctx)

    redraft = router.press(ctx, clerk, "plan.draft")
    assert redraft.ok, redraft.plain_text()
    with ctx.db.transaction() as session:
        rows = session.exec(
            PlannedSession.__table__.select().where(
                PlannedSession.plan_id == redraft.data["plan_id"]
            )
        ).all()
    assert [r.kind for r in rows] == ["bpr"]  # only what is missing; the reserve is held
    assert router.press(ctx, clerk, "plan.confirm", payloads.encode(id=redraft.data["plan_id"])).ok
    after = live_sessions(ctx)
    assert {i: v for i, v in after.items() if i in before} == before  # nothing reshuffled
    assert len(after) == len(before) + 1


def test_a_plan_naming_someone_deactivated_since_is_not_booked(ctx, cast, engaged):
    clerk = cast["水前寺 花"]
    plan_id = router.press(ctx, clerk, "plan.draft").data["plan_id"]
    values = {"person": str(cast["中村 由紀"].id), "roster_active": "no"}
    assert roster.deactivate(ctx, cast["管理 太郎"], values).ok
    refused = router.press(ctx, clerk, "plan.confirm", payloads.encode(id=plan_id))
    assert not refused.ok and "中村 由紀 さんは予約できません" in refused.plain_text()
    assert count(ctx, SupportSession) == 0  # none of it
    redraft = router.press(ctx, clerk, "plan.draft")  # planned without her
    assert router.press(ctx, clerk, "plan.confirm", payloads.encode(id=redraft.data["plan_id"])).ok
    with ctx.db.transaction() as session:
        rows = sessions.listing(session)
        booked = sessions.consultants_of_sessions(session, [row.id for row in rows])
    assert rows and cast["中村 由紀"].id not in {p for ids in booked.values() for p in ids}


def test_plans_written_at_once_leave_one_draft_and_never_discard_a_confirmed_one(
    ctx, cast, engaged
):
    """On PostgreSQL these are real races: two drafts each discarded the drafts they saw
    and added their own (two up for review), and a draft could mark discarded the plan
    a confirm was booking."""
    clerk = cast["水前寺 花"]

    def press(action: str, ref: str = ""):
        return lambda: router.press(ctx, clerk, action, ref)

    for _ in range(3):
        replies = run_together(press("plan.draft"), press("plan.draft"))
        assert all(reply.ok for reply in replies), [r.plain_text() for r in replies]
        with ctx.db.transaction() as session:
            [draft] = plans.drafts(session)
    confirm, redraft = run_together(
        press("plan.confirm", payloads.encode(id=draft.id)), press("plan.draft")
    )
    assert redraft.ok
    with ctx.db.transaction() as session:
        status = plans.get(session, draft.id).status
        assert len(plans.drafts(session)) == 1
    if confirm.ok:  # confirmed first: booked and stays confirmed
        assert status == PlanStatus.CONFIRMED and count(ctx, SupportSession) == 61
    else:  # the redraft came first and replaced it
        assert status == PlanStatus.DISCARDED and count(ctx, SupportSession) == 0


def test_results_meeting_invites_every_municipality_and_records_presenters(ctx, cast, engaged):
    clerk = cast["水前寺 花"]
    assert not router.press(ctx, clerk, "results.form").ok  # nothing booked yet
    reply = router.submit(
        ctx,
        clerk,
        "session.book",
        {
            "session_kind": "results_meeting",
            "date": "2027-03-10",
            "start": "14:00",
            "minutes": 120,
            "mode": "online",
            "meeting_url": "https://meet.example.jp/dx",
            "consultants": [str(cast["高橋 誠"].id)],
        },
    )
    assert reply.ok, reply.plain_text()
    form = router.press(ctx, clerk, "results.form")
    assert form.ok
    with ctx.db.transaction() as session:
        municipality_ids = sessions.municipality_ids(session, reply.data["session_id"])
    assert len(municipality_ids) == 45
    presenters = [str(cast["田中 美咲"].municipality_id), str(cast["松本 大輔"].municipality_id)]
    outsider = router.submit(
        ctx, clerk, "results.set", {"presenters": [str(cast["井上 恵"].municipality_id)]}
    )
    assert not outsider.ok  # only supported municipalities present
    saved = router.submit(
        ctx,
        clerk,
        "results.set",
        {"presenters": presenters, "meeting_url": "https://meet.example.jp/dx-2"},
    )
    assert saved.ok, saved.plain_text()
    assert "3団体のうち2団体" in saved.plain_text()
    with ctx.db.transaction() as session:
        assert sorted(sessions.presenting_ids(session, reply.data["session_id"])) == sorted(
            int(p) for p in presenters
        )
        meeting = sessions.get(session, reply.data["session_id"])
        assert (meeting.meeting_url, meeting.sequence) == ("https://meet.example.jp/dx-2", 1)
    assert not router.submit(ctx, cast["高橋 誠"], "results.set", {"presenters": presenters}).ok


def test_the_consultation_reserve_is_offered_first(ctx, cast, engaged):
    from storage import plans as plan_rows
    from tests.support.factories import approve, submit

    clerk = cast["水前寺 花"]
    drafted = router.press(ctx, clerk, "plan.draft")
    assert router.press(ctx, clerk, "plan.confirm", payloads.encode(id=drafted.data["plan_id"])).ok
    with ctx.db.transaction() as session:
        windows = plan_rows.reserve_windows(session, ctx.clock.now())
    assert len(windows) == 30
    first = windows[0]
    consultant = next(a for a in cast.values() if a.id == first.consultant_ids[0])
    request_id = submit(ctx, cast["田中 美咲"], preferred_dates="2027-03-31", mode="online")
    assert approve(ctx, cast["熊本 県子"], request_id, [consultant]).ok
    offer = router.press(ctx, cast["田中 美咲"], "slots.offer", payloads.encode(id=request_id))
    assert offer.ok, offer.plain_text()
    offered = [datetime.fromisoformat(s) for s in offer.data["slots"]]
    assert offered[0].date().isoformat() == "2027-03-31"  # what they asked for comes first
    assert offered[1] == first.starts_at.astimezone(TOKYO)  # then the reserve


def test_a_lopsided_draft_proposes_teams_and_taking_it_replans(ctx, cast, engaged):
    """The demo's situation (every engagement with 高橋 and 中村, 小林 with none): the
    draft says so and proposes who could take 小林; an approver takes it from chat, the
    requests' teams change (audited, 小林 told) and the new draft gives 小林 visits."""
    approver, clerk, kobayashi = cast["熊本 県子"], cast["水前寺 花"], cast["小林 健"]
    drafted = router.press(ctx, approver, "plan.draft")
    assert drafted.ok, drafted.plain_text()
    text = drafted.plain_text()
    assert "担当時間に偏りがあります" in text
    assert "訪問のないデジタル人材: 小林 健" in text
    assert "を加える" in text and "提案どおりにした場合の見込み" in text
    balance = [
        b
        for block in drafted.blocks
        for b in getattr(block, "buttons", ())
        if b.action == "plan.balance"
    ]
    assert len(balance) == 1
    # a clerk sees the proposal but may not change who carries a request
    as_clerk = router.press(ctx, clerk, "plan.view", balance[0].value)
    assert "を加える" in as_clerk.plain_text()
    assert "plan.balance" not in {
        b.action for bl in as_clerk.blocks for b in getattr(bl, "buttons", ())
    }
    assert not router.press(ctx, clerk, "plan.balance", balance[0].value).ok

    taken = router.press(ctx, approver, "plan.balance", balance[0].value)
    assert taken.ok, taken.plain_text()
    assert taken.data["plan_id"] != drafted.data["plan_id"]
    with ctx.db.transaction() as session:
        old = session.get(SeasonPlan, drafted.data["plan_id"])
        assert old.status == "discarded"
        proposal = old.summary["imbalance"]["proposal"]
        assert proposal and all(c == kobayashi.id for _, c in proposal)
        reassigned = session.exec(
            select(AuditEntry).where(AuditEntry.action == "request.reassign")
        ).all()
        assert len(reassigned) == len(proposal)
        assert all(kobayashi.id in entry.after["consultants"] for entry in reassigned)
        rows = session.exec(
            select(PlannedSession).where(PlannedSession.plan_id == taken.data["plan_id"])
        ).all()
    assert any(kobayashi.id in r.consultant_ids for r in rows if r.kind == "bpr")
    assert not router.press(ctx, approver, "plan.balance", balance[0].value).ok  # decided
