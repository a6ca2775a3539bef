"""R3 and R4: a selected municipality's engagement — its goal (set by about the 3rd
session, revisable with the municipality) and its 10-step path, where steps already
done elsewhere can be skipped. A done step names the held session(s) it was done in
(`storage.engagements.close_step`); its 実施日 is their date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlmodel import Session

from handlers.core import forms, payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Invalid, Key, Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import format_day, format_when, t
from handlers.core.intents import intent
from handlers.core.lookups import municipality_name, name_of
from handlers.core.reply import (
    Button,
    Buttons,
    Choice,
    Field,
    Fields,
    Form,
    ListItem,
    ListView,
    Reply,
    Text,
)
from storage import audit, engagements, request_store
from storage.engagements import MAX_STEP_SESSIONS
from storage.models import Engagement, GoalRevision, Role, StepStatus, SupportSession

GOAL_DUE_BY_SESSION = 3
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
        FieldSpec("done_in", "multiselect", required=False, hint=True),
        FieldSpec("note", "textarea", required=False, max_length=1000),
    ),
)


def _load(
    session: Session,
    actor: Actor,
    engagement_id: int,
    permission: policy.Permission,
    *,
    lock: bool = False,
) -> Engagement:
    """The engagement, if it exists and `actor` may act on it under `permission`'s
    ownership rule (its town's staff, the consultants carrying it, the prefecture)."""
    engagement = engagements.get(session, engagement_id, lock=lock)
    if engagement is None:
        raise Refused(
            "refusal.no_such_engagement", target_type="engagement", target_id=engagement_id
        )
    policy.owns(
        actor,
        permission,
        municipality_id=engagement.municipality_id,
        assigned=request_store.consultant_ids(session, engagement.application_id),
        target_type="engagement",
        target_id=engagement_id,
    )
    return engagement


def goal_overdue(engagement: Engagement, held_sessions: int) -> bool:
    """R3: without a goal, the goal must be set by about the 3rd session — flagged once
    two of its BPR sessions are held (`engagements.held_sessions`), the one count of
    how far an engagement has come (steps are done in those same sessions)."""
    return not engagement.goal and held_sessions >= GOAL_DUE_BY_SESSION - 1


def done_days(language: str, days: Sequence[date]) -> str:
    """A done step's 実施日: its session's day, or first〜last when it spans two."""
    if not days:
        return ""
    if days[0] == days[-1]:
        return format_day(language, days[0])
    return t(
        language,
        "step.span",
        first=format_day(language, days[0]),
        last=format_day(language, days[-1]),
    )


def session_choices(language: str, rows: Sequence[SupportSession]) -> list[Choice]:
    return [Choice(str(s.id), format_when(language, s.starts_at)) for s in rows]


def without_empty_choices(form: Form) -> Form:
    """The form without optional choice inputs that have nothing to offer (no held
    session yet, no BPR step to mark): Slack refuses a select without options."""
    inputs = tuple(
        i for i in form.inputs if i.required or i.kind not in ("select", "multiselect") or i.choices
    )
    return replace(form, inputs=inputs)


@intent("bpr.list", policy.BPR_VIEW)
def listing(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    lang = actor.language
    with ctx.db.transaction() as session:
        rows = engagements.listing(
            session, actor.municipality_id if actor.role == Role.MUNICIPAL else None
        )
        items = []
        for e in rows:
            done = engagements.completed(engagements.steps(session, e.id or 0))
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


@intent("bpr.view", policy.BPR_VIEW, target="engagement")
def view(ctx: Context, actor: Actor, ref: str) -> Reply:
    engagement_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        engagement = _load(session, actor, engagement_id, policy.BPR_VIEW)
        steps = engagements.steps(session, engagement_id)
        done_in = engagements.step_sessions(session, [s.id for s in steps if s.id])
        held = len(engagements.held_sessions(session, engagement_id, ctx.clock.now()))
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
            + (f" {day}" if (day := _done_on(lang, done_in.get(s.id or 0, []))) else "")
            + (f" — {s.note}" if s.note else ""),
        )
        for s in steps
    )
    done = engagements.completed(steps)
    blocks: list[Any] = [
        Text(heading, "heading"),
        Fields((Field(t(lang, "field.goal"), engagement.goal or t(lang, "goal.none")),)),
    ]
    if goal_overdue(engagement, held):
        blocks.append(Text(t(lang, "goal.overdue"), "error"))
    blocks += [Text(line, "muted") for line in revisions]
    blocks.append(Text(t(lang, "steps.progress", done=done), "muted"))
    blocks.append(Fields(step_rows))
    buttons = []
    if policy.allowed(actor, set_goal):
        buttons.append(Button("bpr.goal.form", t(lang, "button.goal"), ref))
    if policy.allowed(actor, update_step):
        buttons.append(Button("bpr.step.form", t(lang, "button.step"), ref, "primary"))
    if buttons:
        blocks.append(Buttons(tuple(buttons)))
    return Reply(
        tuple(blocks),
        data={
            "engagement_id": engagement_id,
            "goal_overdue": goal_overdue(engagement, held),
            "done": done,
        },
    )


@intent("bpr.goal.form", policy.BPR_GOAL, target="engagement")
def goal_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    engagement_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        engagement = _load(session, actor, engagement_id, policy.BPR_GOAL)
    return Reply(
        (forms.build(GOAL, actor.language, values={"goal": engagement.goal}, context=ref),)
    )


@intent("bpr.goal", policy.BPR_GOAL, target="engagement")
def set_goal(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Set or revise the goal; every version is kept with who, when and why."""
    engagement_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        engagement = _load(session, actor, engagement_id, policy.BPR_GOAL, lock=True)
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


def _done_on(language: str, rows: Sequence[SupportSession]) -> str:
    return done_days(language, [r.starts_at.astimezone(TOKYO).date() for r in rows])


@intent("bpr.step.form", policy.BPR_STEP, target="engagement")
def step_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    """The next planned step, done in the latest held session (a choice of the held ones)."""
    engagement_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        _load(session, actor, engagement_id, policy.BPR_STEP)
        steps = engagements.steps(session, engagement_id)
        held = engagements.held_sessions(session, engagement_id, ctx.clock.now())
    upcoming = next((s.number for s in steps if s.status == StepStatus.PLANNED), None)
    values = {
        "step": upcoming,
        "step_action": "done",
        "done_in": [str(held[-1].id)] if held else [],
    }
    choices = {"done_in": session_choices(actor.language, held)}
    form = forms.build(STEP, actor.language, values=values, choices=choices, context=ref)
    return Reply((without_empty_choices(form),))


@intent("bpr.step", policy.BPR_STEP, target="engagement")
def update_step(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Mark a step done in held session(s) of the engagement (none chosen: the latest
    held one), or skipped (already done by the municipality)."""
    engagement_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        _load(session, actor, engagement_id, policy.BPR_STEP, lock=True)
        now = ctx.clock.now()
        held = engagements.held_sessions(session, engagement_id, now)
        choices = {"done_in": session_choices(lang, held)}
        clean = forms.check(ctx, actor, STEP, values, context=ref, choices=choices)
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
        done = clean["step_action"] == StepStatus.DONE
        done_in = [int(v) for v in clean["done_in"]] if done else []
        if done and not done_in and held:
            done_in = [held[-1].id or 0]
        if len(done_in) > MAX_STEP_SESSIONS:
            errors = {
                "done_in": t(
                    lang,
                    "error.too_many",
                    field=t(lang, "field.done_in"),
                    maximum=MAX_STEP_SESSIONS,
                )
            }
            raise Invalid(
                errors,
                forms.build(STEP, lang, choices=choices, context=ref).with_errors(values, errors),
            )
        before = step.status
        engagements.close_step(
            session,
            step,
            clean["step_action"],
            done_in,
            now=now,
            by=actor.id,
            note=clean.get("note"),
        )
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="bpr.step",
            target_type="engagement",
            target_id=engagement_id,
            before={"step": step.number, "status": before},
            after={"step": step.number, "status": step.status, "sessions": done_in},
        )
    return Reply(
        (Text(t(lang, f"step.updated.{step.status}", number=step.number), "success"),),
        data={"engagement_id": engagement_id},
    )
