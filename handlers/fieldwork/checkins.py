"""Follow-up check-ins (R10): every open issue found in a work log is followed up with
its municipality every `checkin_every_days` business days until it is resolved.

The municipality answers with a button — 解決済み, 対応中, 支援が必要 — and the answer is
kept in the issue's history. 支援が必要 opens a new consultation request prefilled with
the issue. The schedule is anchored on the issue's last change, so an answer restarts
the count; keys carry the check-in's day, so every instance queues each one once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from handlers.core import business_days, payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import t
from handlers.core.intents import intent
from handlers.core.lookups import municipality_name, requester_or_staff
from handlers.core.reply import Reply, Text
from handlers.intake import submission
from storage import audit, logs, outbox
from storage.models import FollowUpIssue, IssueStatus, RequestKind, Role

KIND = "checkin"
ANSWERS = (IssueStatus.RESOLVED, IssueStatus.IN_PROGRESS, IssueStatus.NEED_HELP)


def queue_due(ctx: Context) -> int:
    now = ctx.clock.now()
    today = now.astimezone(TOKYO).date()
    every = ctx.rules.checkin_every_days
    count = 0
    with ctx.db.transaction() as session:
        for issue in logs.open_issues(session):
            anchor = (logs.last_change(session, issue.id or 0) or issue.created_at).astimezone(
                TOKYO
            )
            day, step = anchor.date(), 0
            while (following := business_days.add_business_days(day, every)) <= today:
                day, step = following, step + 1
            due = datetime.combine(day, ctx.rules.office_open, TOKYO)
            if step == 0 or now < due:
                continue  # queued on its morning, so an answer before then is not asked again
            for person_id in _askers(session, issue):
                outbox.enqueue(
                    session,
                    key=f"{KIND}:{issue.id}:{day.isoformat()}:{person_id}",
                    kind=KIND,
                    person_id=person_id,
                    payload=_payload(session, issue),
                    due_at=due,
                    now=now,
                )
            count += 1
    return count


def _askers(session: Session, issue: FollowUpIssue) -> list[int]:
    """The staff who asked for the support, else everyone registered for the town."""
    asked = logs.requester_for_log(session, issue.log_id, issue.municipality_id)
    return requester_or_staff(session, asked, issue.municipality_id)


def _payload(session: Session, issue: FollowUpIssue) -> dict[str, object]:
    return {
        "message": "checkin.question",
        "params": {
            "issue": issue.content,
            "policy": issue.policy,
            "municipality": municipality_name(session, issue.municipality_id),
        },
        "buttons": [
            [
                "checkin.answer",
                f"issue.status.{answer.value}",  # the status it records, worded as everywhere
                payloads.encode(id=issue.id, kind=answer.value),
            ]
            for answer in ANSWERS
        ],
    }


@intent("checkin.answer", policy.CHECKIN_ANSWER, target="issue")
def answer(ctx: Context, actor: Actor, ref: str) -> Reply:
    """Record the answer in the issue's history; 支援が必要 also opens a request form."""
    payload = payloads.decode(ref)
    if payload.id is None or payload.kind not in {a.value for a in ANSWERS}:
        raise Refused("refusal.bad_payload")
    lang = actor.language
    with ctx.db.transaction() as session:
        issue = logs.get_issue(session, payload.id, lock=True)
        if issue is None:
            raise Refused("refusal.no_such_issue", target_type="issue", target_id=payload.id)
        policy.owns(
            actor,
            policy.CHECKIN_ANSWER,
            municipality_id=issue.municipality_id,
            target_type="issue",
            target_id=payload.id,
        )
        if issue.status == IssueStatus.RESOLVED:
            raise Refused("refusal.issue_resolved", target_type="issue", target_id=payload.id)
        now = ctx.clock.now()
        before = issue.status
        logs.set_issue_status(session, issue, payload.kind, by=actor.id, at=now, note=None)
        outbox.cancel(session, [f"{KIND}:{issue.id}:"])  # answered: what is queued is moot
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="checkin.answer",
            target_type="issue",
            target_id=issue.id,
            before={"status": before},
            after={"status": payload.kind},
        )
        content, policy_text = issue.content, issue.policy
    thanks = Text(
        t(lang, f"checkin.thanks.{payload.kind}", status=t(lang, f"issue.status.{payload.kind}")),
        "success",
    )
    if payload.kind != IssueStatus.NEED_HELP or actor.role != Role.MUNICIPAL:
        return Reply((thanks,), data={"status": payload.kind})
    form = submission.new_form(
        ctx,
        actor,
        RequestKind.CONSULTATION,
        prefill=t(lang, "checkin.prefill", issue=content, policy=policy_text),
    )
    return Reply((thanks, *form.blocks), data={"status": payload.kind})
