"""R3 and R4: a selected municipality's engagement — its goal (set by about the 3rd
session, revisable with the municipality) and its 10-step path, where steps already
done elsewhere can be skipped."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from handlers import forms, payloads, policy
from handlers.actor import Actor
from handlers.common import municipality_name, name_of
from handlers.context import Context
from handlers.core import intent
from handlers.errors import Invalid, Key, Refused
from handlers.forms import FieldSpec, FormSpec
from handlers.i18n import format_day, format_when, t
from handlers.reply import Button, Buttons, Field, Fields, ListItem, ListView, Reply, Text
from storage import audit, engagements, requests
from storage.models import Engagement, GoalRevision, Role, StepStatus

GOAL_DUE_BY_STEP = 3
GOAL = FormSpec(
    "bpr.goal",
    "form.goal.title",
    (
        FieldSpec("goal", "textarea", max_length=1000),
        FieldSpec("reason", "textarea", required=False, max_length=1000),
    ),
)
STEP = FormSpec(
    "bpr.step",
    "form.step.title",
    (
        FieldSpec("step", "number", minimum=1, maximum=10),
        FieldSpec("step_action", "select", choices=("done", "skipped")),
        FieldSpec("done_on", "date", required=False),
        FieldSpec("note", "textarea", required=False, max_length=1000),
    ),
)


def _load(
    session: Session, actor: Actor, engagement_id: int, intent_name: str, *, lock: bool = False
) -> Engagement:
    engagement = engagements.get(session, engagement_id, lock=lock)
    if engagement is None:
        raise Refused(
            "refusal.no_such_engagement", target_type="engagement", target_id=engagement_id
        )
    policy.require(
        actor,
        intent_name,
        municipality_id=engagement.municipality_id,
        assigned=requests.consultant_ids(session, engagement.application_id),
        target_type="engagement",
        target_id=engagement_id,
    )
    return engagement


def goal_overdue(engagement: Engagement, done_steps: int) -> bool:
    """R3: without a goal, the goal must be set by about the 3rd session."""
    return not engagement.goal and done_steps >= GOAL_DUE_BY_STEP - 1


@intent("bpr.list")
def listing(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    policy.require(actor, "bpr.view")
    lang = actor.language
    with ctx.db.transaction() as session:
        rows = engagements.listing(
            session, actor.municipality_id if actor.role == Role.MUNICIPAL else None
        )
        items = []
        for e in rows:
            steps = engagements.steps(session, e.id or 0)
            done = sum(s.status != StepStatus.PLANNED for s in steps)
            items.append(
                ListItem(
                    title=f"{municipality_name(session, e.municipality_id)} {e.department}",
                    fields=(
                        Field(t(lang, "field.goal"), e.goal or t(lang, "goal.none")),
                        Field(t(lang, "field.progress"), t(lang, "steps.progress", done=done)),
                    ),
                    buttons=(Button("bpr.view", t(lang, "button.view"), payloads.encode(id=e.id)),),
                )
            )
    return Reply(
        (
            ListView(
                t(lang, "list.engagements.title"),
                tuple(items),
                1,
                1,
                t(lang, "list.engagements.empty"),
            ),
        )
    )


@intent("bpr.view")
def view(ctx: Context, actor: Actor, ref: str) -> Reply:
    engagement_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        engagement = _load(session, actor, engagement_id, "bpr.view")
        steps = engagements.steps(session, engagement_id)
        history = engagements.goal_history(session, engagement_id)
        heading = t(
            lang,
            "engagement.heading",
            municipality=municipality_name(session, engagement.municipality_id),
            department=engagement.department,
        )
        revisions = [
            t(
                lang,
                "goal.revision",
                when=format_when(lang, g.revised_at),
                by=name_of(session, g.revised_by_id),
                goal=g.goal,
            )
            + (t(lang, "goal.revision_reason", reason=g.reason) if g.reason else "")
            for g in history
        ]
    step_rows = tuple(
        Field(
            t(lang, "step.label", number=s.number, phase=t(lang, f"phase.{s.phase}")),
            t(lang, f"step.{s.status}")
            + (f" {format_day(lang, s.done_on)}" if s.done_on else "")
            + (f" — {s.note}" if s.note else ""),
        )
        for s in steps
    )
    done = sum(s.status != StepStatus.PLANNED for s in steps)
    blocks: list[Any] = [
        Text(heading, "heading"),
        Fields((Field(t(lang, "field.goal"), engagement.goal or t(lang, "goal.none")),)),
    ]
    if goal_overdue(engagement, done):
        blocks.append(Text(t(lang, "goal.overdue"), "error"))
    blocks += [Text(line, "muted") for line in revisions]
    blocks.append(Fields(step_rows))
    buttons = []
    if policy.allowed(actor, "bpr.goal"):
        buttons.append(Button("bpr.goal.form", t(lang, "button.goal"), ref))
    if policy.allowed(actor, "bpr.step"):
        buttons.append(Button("bpr.step.form", t(lang, "button.step"), ref, "primary"))
    if buttons:
        blocks.append(Buttons(tuple(buttons)))
    return Reply(
        tuple(blocks),
        data={"engagement_id": engagement_id, "goal_overdue": goal_overdue(engagement, done)},
    )


@intent("bpr.goal.form")
def goal_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    engagement_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        engagement = _load(session, actor, engagement_id, "bpr.goal")
    return Reply(
        (forms.build(GOAL, actor.language, values={"goal": engagement.goal}, context=ref),)
    )


@intent("bpr.goal")
def set_goal(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Set or revise the goal; every version is kept with who, when and why."""
    engagement_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        engagement = _load(session, actor, engagement_id, "bpr.goal", lock=True)
        clean = forms.check(ctx, actor, GOAL, values, context=ref)
        now = ctx.clock.now()
        before = engagement.goal
        engagement.goal = clean["goal"]
        session.add(engagement)
        engagements.add_goal_revision(
            session,
            GoalRevision(
                engagement_id=engagement_id,
                goal=clean["goal"],
                reason=clean.get("reason"),
                revised_by_id=actor.id,
                revised_at=now,
            ),
        )
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="bpr.goal",
            target_type="engagement",
            target_id=engagement_id,
            before={"goal": before},
            after={"goal": engagement.goal},
            detail=clean.get("reason"),
        )
    key = "goal.revised" if before else "goal.set"
    return Reply((Text(t(actor.language, key), "success"),), data={"engagement_id": engagement_id})


@intent("bpr.step.form")
def step_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    engagement_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        _load(session, actor, engagement_id, "bpr.step")
        steps = engagements.steps(session, engagement_id)
    upcoming = next((s.number for s in steps if s.status == StepStatus.PLANNED), None)
    values = {
        "step": upcoming,
        "step_action": "done",
        "done_on": ctx.clock.now().date().isoformat(),
    }
    return Reply((forms.build(STEP, actor.language, values=values, context=ref),))


@intent("bpr.step")
def update_step(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Mark a step done (with its date) or skipped (already done by the municipality)."""
    engagement_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        _load(session, actor, engagement_id, "bpr.step", lock=True)
        today = ctx.clock.now().date()
        clean = forms.check(ctx, actor, STEP, values, context=ref)
        step = next(
            s for s in engagements.steps(session, engagement_id) if s.number == clean["step"]
        )
        if step.status != StepStatus.PLANNED:
            raise Refused(
                "refusal.step_closed",
                target_type="engagement",
                target_id=engagement_id,
                number=step.number,
                status=Key(f"step.{step.status}"),
            )
        done_on = clean.get("done_on") or today
        if clean["step_action"] == StepStatus.DONE and done_on > today:
            message = t(
                lang,
                "error.date_future",
                field=t(lang, "field.done_on"),
                value=format_day(lang, done_on),
            )
            raise Invalid(
                {"done_on": message},
                forms.build(STEP, lang, context=ref).with_errors(values, {"done_on": message}),
            )
        before = step.status
        step.status = clean["step_action"]
        step.done_on = done_on if step.status == StepStatus.DONE else None
        step.note = clean.get("note")
        step.updated_by_id = actor.id
        session.add(step)
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="bpr.step",
            target_type="engagement",
            target_id=engagement_id,
            before={"step": step.number, "status": before},
            after={"step": step.number, "status": step.status},
        )
    return Reply(
        (Text(t(lang, f"step.updated.{step.status}", number=step.number), "success"),),
        data={"engagement_id": engagement_id},
    )
