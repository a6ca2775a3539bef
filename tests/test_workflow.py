"""Every allowed and every forbidden move of the request state machine, first as a table
and then through the handlers that make them."""

import itertools

import pytest

from handlers.core.errors import Refused
from handlers.intake import decision, submission, workflow
from storage.models import Request, RequestState
from tests.support.factories import approve, ref, state, submit

S = RequestState
ALLOWED = {
    (S.SUBMITTED, S.NEEDS_INFO),
    (S.NEEDS_INFO, S.SUBMITTED),
    (S.SUBMITTED, S.APPROVED),
    (S.NEEDS_INFO, S.APPROVED),
    (S.SUBMITTED, S.DECLINED),
    (S.NEEDS_INFO, S.DECLINED),
    (S.APPROVED, S.SCHEDULED),
    (S.SCHEDULED, S.DONE),
    (S.SCHEDULED, S.APPROVED),  # its only session was cancelled
    (S.SUBMITTED, S.CANCELLED),
    (S.NEEDS_INFO, S.CANCELLED),
    (S.APPROVED, S.CANCELLED),
    (S.SCHEDULED, S.CANCELLED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair_of_states(current, target):
    request = Request(id=1, number="相談-2026-001", state=current)
    if (current, target) in ALLOWED:
        workflow.move(request, target)
        assert request.state == target
    else:
        with pytest.raises(Refused) as refusal:
            workflow.move(request, target)
        assert refusal.value.key == "refusal.bad_transition"
        assert request.state == current


def test_terminal_states_have_no_way_out():
    for terminal in (S.DECLINED, S.DONE, S.CANCELLED):
        assert not any(workflow.can_move(terminal, target) for target in S)


def test_ask_answer_approve_path(ctx, cast, staff, approver):
    request_id = submit(ctx, staff)
    assert state(ctx, request_id) == S.SUBMITTED
    asked = decision.ask_info(ctx, approver, ref(request_id), {"question": "件数は?"})
    assert asked.ok and state(ctx, request_id) == S.NEEDS_INFO
    again = decision.ask_info(ctx, approver, ref(request_id), {"question": "もう一度"})
    assert not again.ok  # needs_info → needs_info is not a move
    answered = submission.answer(ctx, staff, ref(request_id), {"answer": "年3000件です"})
    assert answered.ok and state(ctx, request_id) == S.SUBMITTED
    second_answer = submission.answer(ctx, staff, ref(request_id), {"answer": "追記"})
    assert not second_answer.ok
    assert approve(ctx, approver, request_id, [cast["高橋 誠"]]).ok
    assert state(ctx, request_id) == S.APPROVED


def test_decided_requests_cannot_be_decided_again(ctx, cast, staff, approver):
    declined = submit(ctx, staff)
    assert decision.decline(ctx, approver, ref(declined), {"reason": "対象外"}).ok
    assert state(ctx, declined) == S.DECLINED
    for attempt in (
        approve(ctx, approver, declined, [cast["高橋 誠"]]),
        decision.decline(ctx, approver, ref(declined), {"reason": "再却下"}),
        decision.ask_info(ctx, approver, ref(declined), {"question": "?"}),
        submission.cancel(ctx, staff, ref(declined), {"reason": "取下げ"}),
    ):
        assert not attempt.ok
    assert state(ctx, declined) == S.DECLINED


def test_cancel_from_pending_and_approved_but_not_twice(ctx, cast, staff, approver):
    pending = submit(ctx, staff)
    assert submission.cancel(ctx, staff, ref(pending), {"reason": "不要になった"}).ok
    assert state(ctx, pending) == S.CANCELLED
    assert not submission.cancel(ctx, staff, ref(pending), {"reason": "again"}).ok
    approved = submit(ctx, staff)
    assert approve(ctx, approver, approved, [cast["高橋 誠"]]).ok
    assert submission.cancel(ctx, approver, ref(approved), {"reason": "日程が合わない"}).ok
    assert state(ctx, approved) == S.CANCELLED


def test_amend_only_while_pending(ctx, cast, staff, approver):
    from tests.support.factories import consultation

    request_id = submit(ctx, staff)
    amended = submission.amend(
        ctx, staff, ref(request_id), consultation(staff, description="内容を修正しました。")
    )
    assert amended.ok
    assert approve(ctx, approver, request_id, [cast["高橋 誠"]]).ok
    late = submission.amend(ctx, staff, ref(request_id), consultation(staff))
    assert not late.ok and "修正できません" in late.plain_text()
