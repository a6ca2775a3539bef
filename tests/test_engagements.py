"""R3/R4: BPR applications, selection, goals and the 10-step path."""

from handlers import bpr, payloads
from storage import engagements
from storage.models import Engagement, GoalRevision
from tests import helpers
from tests.helpers import approve, count, state


def apply(ctx, staff, goal=""):
    return helpers.apply(ctx, staff, goal=goal)


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
    reply = approve(ctx, approver, apply(ctx, staff), [cast["高橋 誠"]])
    ref = payloads.encode(id=reply.data["engagement_id"])
    lead = cast["高橋 誠"]
    for number in (1, 2):
        assert bpr.update_step(ctx, lead, ref, {"step": number, "step_action": "done"}).ok
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


def test_steps_can_be_skipped_but_not_closed_twice_or_done_in_the_future(
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
    future = bpr.update_step(
        ctx, lead, ref, {"step": 1, "step_action": "done", "done_on": "2026-12-01"}
    )
    assert not future.ok
    assert not bpr.update_step(ctx, lead, ref, {"step": 11, "step_action": "done"}).ok
    form = bpr.step_form(ctx, lead, ref).form
    assert next(i.value for i in form.inputs if i.name == "step") == "1"


def test_a_step_done_in_the_future_is_a_field_error(ctx, cast, staff, approver):
    reply = approve(ctx, approver, apply(ctx, staff), [cast["高橋 誠"]])
    ref = payloads.encode(id=reply.data["engagement_id"])
    future = bpr.update_step(
        ctx, cast["高橋 誠"], ref, {"step": 1, "step_action": "done", "done_on": "2026-12-01"}
    )
    assert future.data["errors"]["done_on"].startswith("「実施日」の2026年12月1日(火)は未来")
