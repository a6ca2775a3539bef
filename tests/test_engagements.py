"""R3/R4: BPR applications, selection, goals and the 10-step path."""

from datetime import datetime

from handlers.core import payloads
from handlers.core.clock import TOKYO
from handlers.fieldwork import engagements as bpr
from storage import engagements
from storage.models import Engagement, GoalRevision
from tests.support import factories
from tests.support.factories import approve, count, state


def apply(ctx, staff, goal=""):
    return factories.apply(ctx, staff, goal=goal)


def test_selection_opens_an_engagement_with_ten_planned_steps(ctx, cast, staff, approver):
    request_id = apply(ctx, staff, goal="転入手続のオンライン化")
    reply = approve(ctx, approver, request_id, [cast["高橋 誠"], cast["中村 由紀"]])
    assert reply.ok and "選定" in reply.plain_text()
    assert state(ctx, request_id) == "approved"
    with ctx.db.transaction() as session:
        engagement = session.get(Engagement, reply.data["engagement_id"])
        steps = engagements.steps(session, engagement.id)
    assert engagement.goal == "転入手続のオンライン化"
    assert [s.number for s in steps] == list(range(1, 11))
    assert [s.phase for s in steps][:3] == ["hearing", "hearing", "as_is"]
    assert {s.status for s in steps} == {"planned"}


def test_one_engagement_per_municipality(ctx, cast, staff, approver):
    first, second = apply(ctx, staff), apply(ctx, staff)
    assert approve(ctx, approver, first, [cast["高橋 誠"]]).ok
    again = approve(ctx, approver, second, [cast["高橋 誠"]])
    assert not again.ok and "既にBPR伴走支援の対象" in again.plain_text()
    assert state(ctx, second) == "submitted"
    assert count(ctx, Engagement) == 1


def test_goal_missing_is_flagged_by_the_third_session_and_revisions_are_kept(
    ctx, cast, staff, approver
):
    """Flagged once two BPR sessions are held without a goal (steps are done in those same
    sessions, so the held sessions are the one count)."""
    reply = approve(ctx, approver, apply(ctx, staff), [cast["高橋 誠"]])
    engagement_id = reply.data["engagement_id"]
    ref = payloads.encode(id=engagement_id)
    lead = cast["高橋 誠"]
    for day in (2, 6):
        factories.bpr_session(ctx, engagement_id, datetime(2026, 7, day, 10, tzinfo=TOKYO), [lead])
    ctx.clock.set(datetime(2026, 7, 3, 9, tzinfo=TOKYO))  # one held
    assert not bpr.view(ctx, approver, ref).data["goal_overdue"]
    ctx.clock.set(datetime(2026, 7, 6, 13, tzinfo=TOKYO))  # two held, no step marked
    view = bpr.view(ctx, approver, ref)
    assert view.data["goal_overdue"] and "支援3回目を目途" in view.plain_text()
    assert bpr.set_goal(ctx, staff, ref, {"goal": "証明書のオンライン申請化"}).ok
    assert bpr.set_goal(
        ctx,
        lead,
        ref,
        {"goal": "証明書のオンライン申請化と書かない窓口", "reason": "To-Be検討の結果"},
    ).ok
    view = bpr.view(ctx, approver, ref)
    assert not view.data["goal_overdue"]
    assert "書かない窓口" in view.plain_text() and "理由: To-Be検討の結果" in view.plain_text()
    assert count(ctx, GoalRevision) == 2
    other = cast["松本 大輔"]  # 山鹿市 staff may not touch 宇土市's goal
    assert not bpr.set_goal(ctx, other, ref, {"goal": "x"}).ok


def test_steps_can_be_skipped_but_not_closed_twice_or_done_before_a_held_session(
    ctx, cast, staff, approver
):
    reply = approve(ctx, approver, apply(ctx, staff), [cast["高橋 誠"]])
    ref = payloads.encode(id=reply.data["engagement_id"])
    lead = cast["高橋 誠"]
    assert bpr.update_step(
        ctx, lead, ref, {"step": 3, "step_action": "skipped", "note": "As-Is作成済み"}
    ).ok
    twice = bpr.update_step(ctx, lead, ref, {"step": 3, "step_action": "done"})
    assert not twice.ok and "既に「省略」" in twice.plain_text()
    early = bpr.update_step(ctx, lead, ref, {"step": 1, "step_action": "done"})
    assert not early.ok and early.data["refusal"] == "refusal.step_before_sessions"
    assert "まだ1回も実施されていません" in early.plain_text()
    assert not bpr.update_step(ctx, lead, ref, {"step": 11, "step_action": "done"}).ok
    form = bpr.step_form(ctx, lead, ref).form
    assert next(i.value for i in form.inputs if i.name == "step") == "1"
    assert "done_in" not in [i.name for i in form.inputs]  # no held session to offer yet


def test_a_step_names_only_held_sessions_of_its_engagement(ctx, cast, staff, approver):
    reply = approve(ctx, approver, apply(ctx, staff), [cast["高橋 誠"]])
    engagement_id = reply.data["engagement_id"]
    ref = payloads.encode(id=engagement_id)
    lead = cast["高橋 誠"]
    held = factories.bpr_session(ctx, engagement_id, datetime(2026, 7, 2, 10, tzinfo=TOKYO), [lead])
    later = factories.bpr_session(
        ctx, engagement_id, datetime(2026, 7, 9, 10, tzinfo=TOKYO), [lead]
    )
    ctx.clock.set(datetime(2026, 7, 3, 9, tzinfo=TOKYO))
    future = bpr.update_step(
        ctx, lead, ref, {"step": 1, "step_action": "done", "done_in": [str(later)]}
    )
    assert not future.ok and "done_in" in future.data["errors"]
    form = bpr.step_form(ctx, lead, ref).form
    done_in = next(i for i in form.inputs if i.name == "done_in")
    assert [c.value for c in done_in.choices] == [str(held)] and done_in.value == (str(held),)
    assert bpr.update_step(ctx, lead, ref, {"step": 1, "step_action": "done"}).ok
    view = bpr.view(ctx, approver, ref)
    assert "1回目 ヒアリング・対象部署の整理: 実施済み 2026年7月2日(木)" in view.plain_text()
    assert "10工程中1工程完了" in view.plain_text()
