"""R5–R7 booking, in its basic form: one session on a business day within office hours
and the contract period, with no consultant booked twice. (Slot proposals, travel and
the season planner build on this.)"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from handlers import forms, payloads, policy, workflow
from handlers.actor import Actor
from handlers.clock import TOKYO
from handlers.common import consultant_choices, municipality_choices, municipality_name, notify
from handlers.context import Context
from handlers.core import intent
from handlers.errors import Invalid, Refused
from handlers.forms import FieldSpec, FormSpec
from handlers.i18n import format_when, join, t
from handlers.reply import Field, ListItem, ListView, Reply, Text
from storage import audit, engagements, people, requests, sessions
from storage.models import (
    Mode,
    Request,
    RequestKind,
    RequestState,
    Role,
    SessionKind,
    SupportSession,
)
from storage.seed_municipalities import PREFECTURAL_OFFICE

BOOK = FormSpec(
    "session.book",
    "form.book.title",
    (
        FieldSpec("session_kind", "select", choices=tuple(k.value for k in SessionKind)),
        FieldSpec("request_number", required=False, max_length=30, hint=True),
        FieldSpec("municipalities", "multiselect", required=False, hint=True),
        FieldSpec("date", "date", future_only=True, business_day=True),
        FieldSpec("start", "time", hint=True),
        FieldSpec("minutes", "number", minimum=30, maximum=480),
        FieldSpec("mode", "select", choices=tuple(m.value for m in Mode)),
        FieldSpec("place", required=False, max_length=200),
        FieldSpec("meeting_url", required=False, max_length=500),
        FieldSpec("consultants", "multiselect"),
    ),
)
DEFAULT_MINUTES = {"bpr": 240, "consultation": 120, "office_day": 240, "results_meeting": 120}


def _choices(session: Session, language: str) -> dict[str, Any]:
    return {
        "municipalities": municipality_choices(session),
        "consultants": consultant_choices(session, language),
    }


@intent("session.book.form")
def book_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    policy.require(actor, "session.book")
    values: dict[str, Any] = {
        "session_kind": "consultation",
        "start": "10:00",
        "minutes": 120,
        "mode": "visit",
    }
    with ctx.db.transaction() as session:
        request_id = payloads.decode(ref).id
        if request_id and (request := requests.get(session, request_id)):
            values |= {
                "request_number": request.number,
                "mode": request.mode,
                "consultants": [str(i) for i in requests.consultant_ids(session, request_id)],
            }
        choices = _choices(session, actor.language)
    return Reply((forms.build(BOOK, actor.language, values=values, choices=choices),))


@intent("session.book")
def book(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    policy.require(actor, "session.book")
    lang = actor.language
    with ctx.db.transaction() as session:
        choices = _choices(session, lang)
        clean = forms.check(ctx, actor, BOOK, values, choices=choices)
        errors: dict[str, str] = {}

        def fail(field: str, key: str, **params: Any) -> None:
            errors[field] = t(lang, key, field=t(lang, f"field.{field}"), **params)

        kind = SessionKind(clean["session_kind"])
        municipality_ids = [int(v) for v in clean["municipalities"]]
        consultant_ids = [int(v) for v in clean["consultants"]]
        starts_at = datetime.combine(clean["date"], clean["start"], TOKYO)
        ends_at = starts_at + timedelta(minutes=clean["minutes"])
        if (
            clean["start"] < ctx.rules.office_open
            or ends_at.time() > ctx.rules.office_close
            or ends_at.date() != starts_at.date()
        ):
            fail(
                "start",
                "error.office_hours",
                open=f"{ctx.rules.office_open:%H:%M}",
                close=f"{ctx.rules.office_close:%H:%M}",
            )
        if starts_at <= ctx.clock.now():
            fail("start", "error.date_past", value=format_when(lang, starts_at))
        request: Request | None = None
        engagement_id: int | None = None
        if kind == SessionKind.CONSULTATION:
            request = requests.by_number(session, clean.get("request_number") or "", lock=True)
            if request is None:
                fail(
                    "request_number",
                    "error.required"
                    if not clean.get("request_number")
                    else "error.no_such_request",
                )
            elif request.kind != RequestKind.CONSULTATION or request.state not in (
                RequestState.APPROVED,
                RequestState.SCHEDULED,
            ):
                fail(
                    "request_number",
                    "error.request_not_bookable",
                    number=request.number,
                    state=t(lang, f"state.{request.state}"),
                )
            else:
                municipality_ids = [request.municipality_id, *municipality_ids]
        elif kind == SessionKind.BPR:
            if not municipality_ids:
                fail("municipalities", "error.required")
            for municipality_id in municipality_ids:
                engagement = engagements.by_municipality(session, municipality_id)
                if engagement is None:
                    fail(
                        "municipalities",
                        "error.not_engaged",
                        municipality=municipality_name(session, municipality_id),
                    )
                elif engagement_id is None:
                    engagement_id = engagement.id
        elif kind == SessionKind.OFFICE_DAY:
            leads = [p.id for p in people.listing(session, Role.CONSULTANT) if p.is_lead]
            if leads and not set(leads) & set(consultant_ids):
                fail("consultants", "error.lead_required")
        elif kind == SessionKind.RESULTS_MEETING and clean["date"].month != 3:
            fail("date", "error.results_in_march")
        mode = Mode(clean["mode"])
        if kind == SessionKind.RESULTS_MEETING:
            mode = Mode.ONLINE
        if mode == Mode.ONLINE and not clean.get("meeting_url"):
            fail("meeting_url", "error.required")
        if errors:
            raise Invalid(
                errors, forms.build(BOOK, lang, choices=choices).with_errors(values, errors)
            )
        place = clean.get("place")
        if mode == Mode.VISIT and not place:
            place = (
                PREFECTURAL_OFFICE
                if kind == SessionKind.OFFICE_DAY or not municipality_ids
                else municipality_name(session, municipality_ids[0])
            )
        people.lock(session, consultant_ids)  # two bookings of one consultant queue here
        clash = sessions.clashes(session, consultant_ids, starts_at, ends_at)
        if clash:
            person_id, other = clash[0]
            raise Refused(
                "refusal.double_booking",
                target_type="session",
                who=people.names(session, [person_id]).get(person_id, "?"),
                when=format_when(lang, other.starts_at),
            )
        now = ctx.clock.now()
        booked = sessions.add(
            session,
            SupportSession(
                kind=kind,
                starts_at=starts_at,
                ends_at=ends_at,
                mode=mode,
                place=place if mode == Mode.VISIT else None,
                meeting_url=clean.get("meeting_url") if mode == Mode.ONLINE else None,
                request_id=request.id if request else None,
                engagement_id=engagement_id,
                uid=f"{uuid.uuid4()}@dxdesk",
                created_by_id=actor.id,
                created_at=now,
            ),
            municipality_ids,
            consultant_ids,
        )
        if request is not None and request.state == RequestState.APPROVED:
            workflow.transition(
                session,
                request,
                RequestState.SCHEDULED,
                actor_id=actor.id,
                now=now,
                action="request.schedule",
                after={"session_id": booked.id},
            )
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="session.book",
            target_type="session",
            target_id=booked.id,
            after={
                "kind": kind,
                "starts_at": starts_at.isoformat(),
                "municipalities": municipality_ids,
                "consultants": consultant_ids,
            },
        )
        where = join(lang, (municipality_name(session, m) for m in municipality_ids)) or (
            place or ""
        )
        notify(
            session,
            key=f"session.booked:{booked.id}",
            person_ids=consultant_ids,
            message="notice.booked",
            params={"kind": kind.value, "when": starts_at.isoformat(), "where": where},
            now=now,
        )
    return Reply(
        (
            Text(
                t(
                    lang,
                    "booked",
                    kind=t(lang, f"choice.session_kind.{kind.value}"),
                    when=format_when(lang, starts_at),
                    where=where,
                ),
                "success",
            ),
        ),
        data={"session_id": booked.id, "request_id": request.id if request else None},
    )


@intent("session.list")
def upcoming(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """The next sessions this actor is part of (all of them for the prefecture)."""
    policy.require(actor, "session.view")
    lang = actor.language
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        rows = sessions.listing(
            session,
            start=now - timedelta(hours=12),
            consultant_id=actor.id if actor.role == Role.CONSULTANT else None,
            municipality_id=actor.municipality_id if actor.role == Role.MUNICIPAL else None,
            limit=20,
        )
        items = tuple(
            ListItem(
                title=f"{format_when(lang, s.starts_at)} "
                f"{t(lang, f'choice.session_kind.{s.kind}')}",
                fields=(
                    Field(
                        t(lang, "field.municipalities"),
                        join(
                            lang,
                            (
                                municipality_name(session, m)
                                for m in sessions.municipality_ids(session, s.id or 0)
                            ),
                        )
                        or "-",
                    ),
                    Field(t(lang, "field.place"), s.place or s.meeting_url or "-"),
                    Field(
                        t(lang, "field.consultants"),
                        join(
                            lang,
                            people.names(
                                session, sessions.consultant_ids(session, s.id or 0)
                            ).values(),
                        ),
                    ),
                ),
            )
            for s in rows
        )
    return Reply(
        (ListView(t(lang, "list.sessions.title"), items, 1, 1, t(lang, "list.sessions.empty")),)
    )
