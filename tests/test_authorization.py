"""Who may do what (R2, R16): refusals are friendly, audited, and change nothing."""

from handlers import router
from handlers.core import payloads
from handlers.fieldwork import engagements
from handlers.intake import decision, submission
from storage.models import AuditEntry, Request
from tests.support.factories import apply, approve, count, ref, refusals, state, submit


def test_municipal_staff_cannot_decide(ctx, cast, staff):
    request_id = submit(ctx, cast["井上 恵"])  # 菊池市
    for reply in (
        approve(ctx, staff, request_id, [cast["高橋 誠"]]),
        decision.decline(ctx, staff, ref(request_id), {"reason": "x"}),
        decision.ask_info(ctx, staff, ref(request_id), {"question": "x"}),
    ):
        assert not reply.ok
        assert "権限がありません" in reply.plain_text()
    assert state(ctx, request_id) == "submitted"
    assert len(refusals(ctx)) == 3


def test_consultant_and_non_approver_prefecture_cannot_approve(ctx, cast, staff):
    request_id = submit(ctx, staff)
    assert not approve(ctx, cast["高橋 誠"], request_id, [cast["高橋 誠"]]).ok
    assert not approve(ctx, cast["水前寺 花"], request_id, [cast["高橋 誠"]]).ok
    assert state(ctx, request_id) == "submitted"
    entries = refusals(ctx, "request.approve")
    assert {e.actor_id for e in entries} == {cast["高橋 誠"].id, cast["水前寺 花"].id}
    assert all(e.target_type == "request" and e.target_id == str(request_id) for e in entries)


def test_municipal_staff_see_only_their_own_municipality(ctx, cast, staff):
    own = submit(ctx, staff)
    other = submit(ctx, cast["松本 大輔"])  # 山鹿市
    assert submission.view(ctx, staff, ref(own)).ok
    refused = submission.view(ctx, staff, ref(other))
    assert not refused.ok
    assert "他の市町村" in refused.plain_text()
    assert "松本 大輔" not in refused.plain_text()
    listed = submission.mine(ctx, staff).plain_text()
    assert "宇土市" in listed and "山鹿市" not in listed
    assert refusals(ctx, "request.view")[0].target_id == str(other)


def test_municipal_staff_cannot_submit_for_another_municipality(ctx, cast, staff):
    from tests.support.factories import consultation

    yamaga = cast["松本 大輔"].municipality_id
    reply = submission.submit(ctx, staff, consultation(staff, municipality=str(yamaga)))
    assert not reply.ok
    assert count(ctx, Request) == 0
    assert refusals(ctx, "request.submit")


def test_prefecture_enters_a_phone_request_but_cannot_approve_it_themselves(ctx, cast, staff):
    from tests.support.factories import consultation

    ken = cast["熊本 県子"]
    reply = submission.submit(ctx, ken, consultation(staff, channel="phone"))
    assert reply.ok
    request_id = reply.data["request_id"]
    own = approve(ctx, ken, request_id, [cast["高橋 誠"]])
    assert not own.ok and "ご自身" in own.plain_text()
    assert approve(ctx, cast["阿蘇 一郎"], request_id, [cast["高橋 誠"]]).ok


def test_only_assigned_consultants_update_steps(ctx, cast, staff, approver):
    request_id = apply(ctx, staff, description="窓口改革")
    selected = approve(ctx, approver, request_id, [cast["高橋 誠"]])
    engagement = payloads.encode(id=selected.data["engagement_id"])
    step = {"step": "1", "step_action": "skipped"}  # done needs a held session (#14)
    assert not engagements.update_step(ctx, cast["小林 健"], engagement, step).ok
    assert not engagements.update_step(ctx, staff, engagement, step).ok
    assert engagements.update_step(ctx, cast["高橋 誠"], engagement, step).ok
    assert len(refusals(ctx, "bpr.step")) == 2


def test_forged_button_payloads_and_unknown_actions_are_refused_and_audited(ctx, staff):
    before = count(ctx, AuditEntry)
    assert not router.press(ctx, staff, "request.view", '{"v":1,"id":"1 OR 1=1"}').ok
    assert not router.press(ctx, staff, "request.view", "not json").ok
    assert not router.press(ctx, staff, "request.view", '{"v":9,"id":1}').ok
    assert not router.press(ctx, staff, "admin.drop_everything").ok
    assert not router.submit(ctx, staff, "request.approve", {}, '{"v":1,"id":99999}').ok
    assert count(ctx, AuditEntry) == before + 5


def test_unknown_users_get_an_explanation(ctx, cast):
    from handlers.people import roster

    assert roster.identify(ctx, "slack", "U-NOBODY") is None
    assert "登録されていません" in roster.unknown_user("ja").plain_text()


def test_consultants_see_the_requests_they_carry_or_entered(ctx, cast, staff, approver):
    carried, other = submit(ctx, staff), submit(ctx, cast["松本 大輔"])
    assert approve(ctx, approver, carried, [cast["高橋 誠"]]).ok
    lead, kobayashi = cast["高橋 誠"], cast["小林 健"]
    assert submission.view(ctx, lead, ref(carried)).ok
    assert not submission.view(ctx, lead, ref(other)).ok
    assert not submission.view(ctx, kobayashi, ref(carried)).ok
    listed = submission.mine(ctx, lead).plain_text()
    assert "宇土市" in listed and "山鹿市" not in listed
    from tests.support.factories import consultation

    phoned = submission.submit(ctx, kobayashi, consultation(cast["井上 恵"], channel="phone"))
    assert submission.view(ctx, kobayashi, ref(phoned.data["request_id"])).ok
