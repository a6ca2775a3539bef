"""Consultants' usual week and their absences, set from chat (R5).

Leave blocks booking (the diary refuses it) and is what reminders look at before
nagging someone; an absence over an existing booking is refused until the session
is moved, so nothing booked silently becomes impossible.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from handlers.core import forms, payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Invalid, Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import format_day, format_when, t
from handlers.core.intents import intent
from handlers.core.lookups import consultant_choices, name_of
from handlers.core.reply import Button, ListItem, ListView, Reply, Text
from handlers.scheduling import diary
from handlers.scheduling.rules import absence_span
from storage import audit, availability, people, sessions
from storage.models import Absence, AbsenceKind, Role

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u301c~]\s*(\d{1,2}):(\d{2})\s*$")

WEEK = FormSpec(
    "availability.set",
    "form.week.title",
    (
        FieldSpec("consultant", "select", required=False),
        *(FieldSpec(f"week_{day}", required=False, max_length=20, hint=True) for day in WEEKDAYS),
    ),
)
ABSENCE = FormSpec(
    "absence.add",
    "form.absence.title",
    (
        FieldSpec("consultant", "select", required=False),
        FieldSpec("date", "date", future_only=True),
        FieldSpec("absence_kind", "select", choices=tuple(k.value for k in AbsenceKind)),
        FieldSpec("start", "time", required=False, hint=True),
        FieldSpec("end", "time", required=False),
        FieldSpec("note", required=False, max_length=200),
    ),
)


def _whose(session: Session, actor: Actor, chosen: str | None) -> int:
    """Consultants manage their own diary (`policy.Owner.SELF`); the prefecture names the
    consultant."""
    if chosen:
        policy.owns(
            actor,
            policy.AVAILABILITY_MANAGE,
            person=chosen,
            target_type="person",
            target_id=chosen,
        )
    if policy.binds(actor, policy.AVAILABILITY_MANAGE, policy.Owner.SELF):
        return actor.id
    person = people.get(session, int(chosen)) if chosen and chosen.isdigit() else None
    if person is None or person.role != Role.CONSULTANT:
        raise Invalid(
            {
                "consultant": t(
                    actor.language, "error.required", field=t(actor.language, "field.consultant")
                )
            }
        )
    return person.id or 0


def _choices(session: Session, actor: Actor) -> dict[str, Any]:
    return {"consultant": consultant_choices(session, actor.language)}


@intent("availability.form", policy.AVAILABILITY_MANAGE)
def week_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """The usual-week form, filled in with the week it shows: a consultant's own only
    (`policy.Owner.SELF`, as for saving it), any consultant's for the prefecture."""
    with ctx.db.transaction() as session:
        person_id = payloads.decode(ref).id or (actor.id if actor.role == Role.CONSULTANT else None)
        if person_id:
            policy.owns(
                actor,
                policy.AVAILABILITY_MANAGE,
                person=person_id,
                target_type="person",
                target_id=person_id,
            )
        values: dict[str, Any] = {"consultant": str(person_id) if person_id else None}
        if person_id:
            for weekday, (starts, ends) in availability.week(session, person_id).items():
                if weekday < len(WEEKDAYS):
                    values[f"week_{WEEKDAYS[weekday]}"] = f"{starts:%H:%M}-{ends:%H:%M}"
        choices = _choices(session, actor)
    return Reply((forms.build(WEEK, actor.language, values=values, choices=choices),))


@intent("availability.set", policy.AVAILABILITY_MANAGE)
def set_week(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """All days blank means no pattern: available whenever the office is open."""
    lang = actor.language
    with ctx.db.transaction() as session:
        choices = _choices(session, actor)
        clean = forms.check(ctx, actor, WEEK, values, choices=choices)
        person_id = _whose(session, actor, clean.get("consultant"))
        hours: dict[int, tuple[time, time]] = {}
        errors: dict[str, str] = {}
        for weekday, day in enumerate(WEEKDAYS):
            text = clean.get(f"week_{day}")
            if not text:
                continue
            match = HOURS.match(text)
            parsed = _hours(match) if match else None
            label = t(lang, f"field.week_{day}")
            if parsed is None or parsed[0] >= parsed[1]:
                errors[f"week_{day}"] = t(lang, "error.bad_hours", field=label, value=text[:20])
            else:
                hours[weekday] = parsed
        if errors:
            raise Invalid(
                errors, forms.build(WEEK, lang, choices=choices).with_errors(values, errors)
            )
        people.lock(session, [person_id])  # a booking of this person waits for us
        _refuse_if_booked_outside(ctx, session, person_id, hours)
        before = {
            str(k): [f"{a:%H:%M}", f"{b:%H:%M}"]
            for k, (a, b) in availability.week(session, person_id).items()
        }
        availability.set_week(session, person_id, hours)
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="availability.set",
            target_type="person",
            target_id=person_id,
            before=before,
            after={str(k): [f"{a:%H:%M}", f"{b:%H:%M}"] for k, (a, b) in hours.items()},
        )
        who = name_of(session, person_id)
    summary = (
        ", ".join(
            f"{t(lang, f'field.week_{WEEKDAYS[d]}')} {a:%H:%M}-{b:%H:%M}"
            for d, (a, b) in sorted(hours.items())
        )
        if hours
        else t(lang, "week.any")
    )
    return Reply((Text(t(lang, "week.saved", who=who, week=summary), "success"),))


def _refuse_if_booked_outside(
    ctx: Context, session: Session, person_id: int, hours: dict[int, tuple[time, time]]
) -> None:
    """A new week must still hold every session already booked: move those first."""
    if not hours:
        return
    now = ctx.clock.now()
    end = datetime.combine(ctx.rules.contract_end + timedelta(days=1), time(0), TOKYO)
    for _, booked in sessions.booked_for(session, [person_id], now, end):
        if diary.outside_week(hours, booked.starts_at, booked.ends_at):
            raise Refused(
                "refusal.week_over_booking",
                target_type="person",
                target_id=person_id,
                when=format_when(ctx.rules.language, booked.starts_at),
            )


def _hours(match: re.Match[str]) -> tuple[time, time] | None:
    try:
        return time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))
    except ValueError:
        return None


@intent("absence.form", policy.AVAILABILITY_MANAGE)
def absence_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    with ctx.db.transaction() as session:
        values = {
            "absence_kind": AbsenceKind.LEAVE.value,
            "consultant": str(actor.id) if actor.role == Role.CONSULTANT else None,
        }
        choices = _choices(session, actor)
    return Reply((forms.build(ABSENCE, actor.language, values=values, choices=choices),))


@intent("absence.add", policy.AVAILABILITY_MANAGE)
def add_absence(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    lang = actor.language
    with ctx.db.transaction() as session:
        choices = _choices(session, actor)
        clean = forms.check(ctx, actor, ABSENCE, values, choices=choices)
        person_id = _whose(session, actor, clean.get("consultant"))
        starts, ends = clean.get("start"), clean.get("end")
        if (starts is None) != (ends is None) or (starts and ends and starts >= ends):
            errors = {"end": t(lang, "error.bad_range", field=t(lang, "field.end"))}
            raise Invalid(
                errors, forms.build(ABSENCE, lang, choices=choices).with_errors(values, errors)
            )
        day = clean["date"]
        people.lock(session, [person_id])  # a booking of this person waits for us, and we for it
        first, last = absence_span(day, starts, ends)
        overlapping = sessions.booked_for(session, [person_id], first, last)
        if overlapping:
            raise Refused(
                "refusal.absence_over_booking",
                target_type="person",
                target_id=person_id,
                when=format_when(lang, overlapping[0][1].starts_at),
            )
        now = ctx.clock.now()
        absence = availability.add_absence(
            session,
            Absence(
                person_id=person_id,
                day=day,
                starts=starts,
                ends=ends,
                kind=clean["absence_kind"],
                note=clean.get("note"),
                created_by_id=actor.id,
                created_at=now,
            ),
        )
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="absence.add",
            target_type="absence",
            target_id=absence.id,
            after={"person_id": person_id, "day": day.isoformat(), "kind": absence.kind},
        )
        who = name_of(session, person_id)
    return Reply(
        (
            Text(
                t(
                    lang,
                    "absence.saved",
                    who=who,
                    day=format_day(lang, day),
                    kind=t(lang, f"choice.absence_kind.{absence.kind}"),
                ),
                "success",
            ),
        ),
        data={"absence_id": absence.id},
    )


@intent("absence.list", policy.AVAILABILITY_MANAGE)
def absences(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    lang = actor.language
    today = ctx.clock.now().date()
    with ctx.db.transaction() as session:
        person_ids = (
            [actor.id]
            if actor.role == Role.CONSULTANT
            else [p.id or 0 for p in people.listing(session, Role.CONSULTANT)]
        )
        rows = availability.absences(session, person_ids, today, today + timedelta(days=366))
        names = people.names(session, person_ids)
    items = tuple(
        ListItem(
            title=f"{format_day(lang, a.day)} {names.get(a.person_id, '?')} "
            f"{t(lang, f'choice.absence_kind.{a.kind}')}"
            + (f" {a.starts:%H:%M}-{a.ends:%H:%M}" if a.starts and a.ends else ""),
            buttons=(
                Button(
                    "absence.remove", t(lang, "button.remove"), payloads.encode(id=a.id), "danger"
                ),
            ),
        )
        for a in rows[:50]
    )
    return Reply(
        (ListView(t(lang, "list.absences.title"), items, 1, 1, t(lang, "list.absences.empty")),)
    )


@intent("absence.remove", policy.AVAILABILITY_MANAGE)
def remove_absence(ctx: Context, actor: Actor, ref: str) -> Reply:
    absence_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        absence = availability.get_absence(session, absence_id)
        if absence is None:
            raise Refused("refusal.no_such_absence", target_type="absence", target_id=absence_id)
        policy.owns(
            actor,
            policy.AVAILABILITY_MANAGE,
            person=absence.person_id,
            target_type="absence",
            target_id=absence_id,
        )
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="absence.remove",
            target_type="absence",
            target_id=absence_id,
            before={
                "person_id": absence.person_id,
                "day": absence.day.isoformat(),
                "kind": absence.kind,
            },
        )
        availability.remove_absence(session, absence)
    return Reply((Text(t(actor.language, "absence.removed"), "success"),))
