"""R1 and R3 intake: consultation requests and BPR applications, their amendment,
answers to the prefecture's questions, withdrawal, and what a person may list or view."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlmodel import Session

from handlers.core import forms, payloads, policy
from handlers.core.actor import Actor
from handlers.core.business_days import fiscal_year
from handlers.core.context import Context
from handlers.core.errors import Key, Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import format_day, format_when, join, t
from handlers.core.intents import intent
from handlers.core.lookups import (
    PAGE_SIZE,
    municipality_choices,
    municipality_name,
    name_of,
    next_page,
    notify,
    pages,
    requester_ids,
    visible_municipality_choices,
)
from handlers.core.reply import (
    Button,
    Buttons,
    Field,
    Fields,
    ListItem,
    ListView,
    Reply,
    Text,
)
from handlers.intake import workflow
from handlers.scheduling import booking, invites
from storage import audit, people, request_store, sessions
from storage.models import (
    Channel,
    InfoRequest,
    Mode,
    Request,
    RequestKind,
    RequestState,
    Role,
)

TOPICS = ("dx_structure", "my_number", "online_application", "rpa_ai", "other")
MODES = tuple(m.value for m in Mode)
SHORT, LONG = 100, 2000

_WHO = (
    FieldSpec("municipality", "select"),
    FieldSpec("department", max_length=SHORT),
    FieldSpec("requester_title", max_length=SHORT),
    FieldSpec("requester_name", max_length=SHORT),
)
CONSULTATION = FormSpec(
    "request.submit",
    "form.consultation.title",
    (
        *_WHO,
        FieldSpec("topic", "select", choices=TOPICS),
        FieldSpec("description", "textarea", max_length=LONG),
        FieldSpec("mode", "select", choices=MODES),
        FieldSpec("preferred_dates", "dates", future_only=True, business_day=True, hint=True),
    ),
)
ON_BEHALF_CHANNEL = FieldSpec("channel", "select", choices=(Channel.PHONE, Channel.EMAIL))
BPR_APPLICATION = FormSpec(
    "bpr.apply",
    "form.bpr.title",
    (
        *_WHO,
        FieldSpec("goal", "textarea", required=False, max_length=1000, hint=True),
        FieldSpec("description", "textarea", max_length=LONG),
    ),
)
ANSWER = FormSpec(
    "request.answer",
    "form.answer.title",
    (FieldSpec("answer", "textarea", max_length=LONG),),
)
CANCEL = FormSpec(
    "request.cancel",
    "form.cancel.title",
    (FieldSpec("reason", "textarea", max_length=1000),),
    submit="button.cancel_request",
)
AUDITED = (
    "state",
    "municipality_id",
    "department",
    "requester_title",
    "requester_name",
    "topic",
    "description",
    "mode",
    "preferred_dates",
    "goal",
)


def spec_for(kind: str, actor: Actor) -> FormSpec:
    """The intake form of a kind; prefecture and consultants also say how it came in."""
    spec = BPR_APPLICATION if kind == RequestKind.BPR_APPLICATION else CONSULTATION
    if actor.role != Role.MUNICIPAL:
        spec = replace(spec, fields=(*spec.fields, ON_BEHALF_CHANNEL))
    return spec


def _defaults(actor: Actor) -> dict[str, Any]:
    if actor.role != Role.MUNICIPAL:
        return {"mode": Mode.VISIT.value}
    return {
        "municipality": str(actor.municipality_id),
        "department": actor.department,
        "requester_name": actor.name,
        "mode": Mode.VISIT.value,
    }


def _permission_for(kind: RequestKind) -> policy.Permission:
    return policy.BPR_APPLY if kind == RequestKind.BPR_APPLICATION else policy.REQUEST_SUBMIT


def new_form(
    ctx: Context, actor: Actor, kind: str = RequestKind.CONSULTATION, prefill: str = ""
) -> Reply:
    """The empty intake form of either kind (an unknown kind: a consultation's), each
    an intent of its own since each kind has its own permission."""
    if kind == RequestKind.BPR_APPLICATION:
        return application_form(ctx, actor, prefill)
    return consultation_form(ctx, actor, prefill)


@intent("request.form", policy.REQUEST_SUBMIT)
def consultation_form(ctx: Context, actor: Actor, prefill: str = "") -> Reply:
    return _new_form(ctx, actor, RequestKind.CONSULTATION, prefill)


@intent("request.form", policy.BPR_APPLY)
def application_form(ctx: Context, actor: Actor, prefill: str = "") -> Reply:
    return _new_form(ctx, actor, RequestKind.BPR_APPLICATION, prefill)


def _new_form(ctx: Context, actor: Actor, kind: RequestKind, prefill: str) -> Reply:
    """The empty intake form, prefilled with what we know of the asker."""
    values = _defaults(actor)
    if prefill:
        values["description"] = prefill[:LONG]
    with ctx.db.transaction() as session:
        choices = {"municipality": visible_municipality_choices(session, actor)}
    return Reply(
        (forms.build(spec_for(kind, actor), actor.language, values=values, choices=choices),)
    )


def _validated(
    ctx: Context, session: Session, actor: Actor, spec: FormSpec, values: dict[str, Any]
) -> dict[str, Any]:
    # Validated against every municipality, so that a forged choice for another one is
    # refused (and audited) by the policy rather than passed off as a typo.
    return forms.check(
        ctx,
        actor,
        spec,
        values,
        choices={"municipality": municipality_choices(session)},
        shown_choices={"municipality": visible_municipality_choices(session, actor)},
    )


def _submit(ctx: Context, actor: Actor, kind: RequestKind, values: dict[str, Any]) -> Reply:
    permission = _permission_for(kind)  # named as the intent: request.submit, bpr.apply
    spec = spec_for(kind, actor)
    with ctx.db.transaction() as session:
        clean = _validated(ctx, session, actor, spec, values)
        municipality_id = int(clean["municipality"])
        policy.owns(
            actor,
            permission,
            municipality_id=municipality_id,
            target_type="municipality",
            target_id=municipality_id,
        )
        now = ctx.clock.now()
        request = request_store.add(
            session,
            Request(
                number=request_store.next_number(session, kind, fiscal_year(now.date())),
                kind=kind,
                state=RequestState.SUBMITTED,
                municipality_id=municipality_id,
                department=clean["department"],
                requester_title=clean["requester_title"],
                requester_name=clean["requester_name"],
                requester_id=actor.id if actor.role == Role.MUNICIPAL else None,
                entered_by_id=actor.id,
                channel=clean.get("channel") or Channel.CHAT,
                topic=clean.get("topic") or "bpr",
                description=clean["description"],
                mode=clean.get("mode") or Mode.VISIT,
                preferred_dates=[d.isoformat() for d in clean.get("preferred_dates", [])],
                goal=clean.get("goal"),
                created_at=now,
                updated_at=now,
            ),
        )
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action=permission.name,
            target_type="request",
            target_id=request.id,
            after=audit.snapshot(request, *AUDITED),
        )
        place = municipality_name(session, municipality_id)
        notify(
            session,
            key=f"approval.needed:{request.id}",
            person_ids=[p.id for p in people.approvers(session) if p.id is not None],
            message="notice.approval_needed",
            params={"number": request.number, "municipality": place},
            now=now,
            action="request.view",
            ref=payloads.encode(id=request.id),
        )
    return Reply(
        (
            Text(
                t(actor.language, f"submitted.{kind.value}", number=request.number),
                "success",
            ),
            Text(t(actor.language, "submitted.next")),
            Buttons(
                (
                    Button(
                        "request.view",
                        t(actor.language, "button.view"),
                        payloads.encode(id=request.id),
                    ),
                )
            ),
        ),
        data={"request_id": request.id, "number": request.number},
    )


@intent("request.submit", policy.REQUEST_SUBMIT)
def submit(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    return _submit(ctx, actor, RequestKind.CONSULTATION, values)


@intent("bpr.apply", policy.BPR_APPLY)
def apply_bpr(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    return _submit(ctx, actor, RequestKind.BPR_APPLICATION, values)


def load_visible(
    session: Session,
    actor: Actor,
    request_id: int,
    permission: policy.Permission,
    *,
    lock: bool = False,
) -> Request:
    """The request, if it exists and `actor` may see it under `permission`'s ownership
    rule (else a refusal)."""
    request = request_store.get(session, request_id, lock=lock)
    if request is None:
        raise Refused("refusal.no_such_request", target_type="request", target_id=request_id)
    # Consultants see what they carry or entered themselves (R16: staff names and titles
    # are personal data); the prefecture sees everything, municipal staff their own town.
    # Only a consultant is bound by who is assigned: nobody else needs them read.
    assigned: list[int] | None = None
    if policy.binds(actor, permission, policy.Owner.ASSIGNED):
        assigned = [*request_store.consultant_ids(session, request_id), request.entered_by_id or 0]
    policy.owns(
        actor,
        permission,
        municipality_id=request.municipality_id,
        assigned=assigned,
        target_type="request",
        target_id=request_id,
    )
    return request


def request_form(
    ctx: Context, actor: Actor, ref: str, spec: FormSpec, permission: policy.Permission
) -> Reply:
    """The form `spec` about one request (cancel, decline, ask for information), titled
    with its number, for whoever may see it under `permission`."""
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, permission)
    return Reply(
        (forms.build(spec, actor.language, context=ref, title_params={"number": request.number}),)
    )


@intent("request.amend.form", policy.REQUEST_AMEND, target="request")
def amend_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_AMEND)
        values = {name: getattr(request, name) for name in AUDITED if name != "state"}
        values["municipality"] = str(request.municipality_id)
        choices = {"municipality": visible_municipality_choices(session, actor)}
    spec = replace(spec_for(request.kind, actor), action="request.amend")
    return Reply(
        (
            forms.build(
                spec,
                actor.language,
                values=values,
                choices=choices,
                context=payloads.encode(id=request_id),
            ),
        )
    )


@intent("request.amend", policy.REQUEST_AMEND, target="request")
def amend(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_AMEND, lock=True)
        policy.owns(
            actor,
            policy.REQUEST_AMEND,
            entered_by=request.entered_by_id,
            target_type="request",
            target_id=request_id,
        )
        if request.state not in workflow.PENDING:
            raise Refused(
                "refusal.not_amendable",
                target_type="request",
                target_id=request_id,
                number=request.number,
                state=Key(f"state.{request.state}"),
            )
        spec = replace(spec_for(request.kind, actor), action="request.amend")
        clean = _validated(ctx, session, actor, spec, values)
        municipality_id = int(clean["municipality"])
        policy.owns(
            actor,
            policy.REQUEST_AMEND,
            municipality_id=municipality_id,
            target_type="request",
            target_id=request_id,
        )
        before = audit.snapshot(request, *AUDITED)
        request.municipality_id = municipality_id
        for name in ("department", "requester_title", "requester_name", "description"):
            setattr(request, name, clean[name])
        if request.kind == RequestKind.CONSULTATION:
            request.topic = clean["topic"]
            request.mode = clean["mode"]
            request.preferred_dates = [d.isoformat() for d in clean["preferred_dates"]]
        else:
            request.goal = clean.get("goal")
        now = ctx.clock.now()
        request.updated_at = now
        session.add(request)
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="request.amend",
            target_type="request",
            target_id=request_id,
            before=before,
            after=audit.snapshot(request, *AUDITED),
        )
    return Reply(
        (Text(t(actor.language, "amended", number=request.number), "success"),),
        data={"request_id": request_id},
    )


@intent("request.answer.form", policy.REQUEST_ANSWER_INFO, target="request")
def answer_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_ANSWER_INFO)
        question = request_store.open_question(session, request_id)
    if question is None:
        raise Refused(
            "refusal.no_open_question",
            target_type="request",
            target_id=request_id,
            number=request.number,
        )
    return Reply(
        (
            Text(t(actor.language, "question.shown", question=question.question)),
            forms.build(ANSWER, actor.language, context=payloads.encode(id=request_id)),
        )
    )


@intent("request.answer", policy.REQUEST_ANSWER_INFO, target="request")
def answer(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """The requester's answer: stored with the question, and the request goes back to
    the prefecture's queue."""
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_ANSWER_INFO, lock=True)
        policy.owns(
            actor,
            policy.REQUEST_ANSWER_INFO,
            entered_by=request.entered_by_id,
            target_type="request",
            target_id=request_id,
        )
        question = request_store.open_question(session, request_id)
        if question is None or request.state != RequestState.NEEDS_INFO:
            raise Refused(
                "refusal.no_open_question",
                target_type="request",
                target_id=request_id,
                number=request.number,
            )
        clean = forms.check(
            ctx,
            actor,
            ANSWER,
            values,
            context=ref,
        )
        now = ctx.clock.now()
        workflow.transition(
            session,
            request,
            RequestState.SUBMITTED,
            actor_id=actor.id,
            now=now,
            action="request.answer",
        )
        question.answer = clean["answer"]
        question.answered_by_id = actor.id
        question.answered_at = now
        session.add(question)
        notify(
            session,
            key=f"request.answered:{request_id}:{question.id}",
            person_ids=[question.asked_by_id],
            message="notice.answered",
            params={"number": request.number},
            now=now,
            action="request.view",
            ref=payloads.encode(id=request_id),
        )
    return Reply(
        (Text(t(actor.language, "answered", number=request.number), "success"),),
        data={"request_id": request_id},
    )


@intent("request.cancel.form", policy.REQUEST_CANCEL, target="request")
def cancel_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    return request_form(ctx, actor, ref, CANCEL, policy.REQUEST_CANCEL)


@intent("request.cancel", policy.REQUEST_CANCEL, target="request")
def cancel(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Withdrawn by the municipality or cancelled by an approver; booked sessions go too."""
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_CANCEL, lock=True)
        clean = forms.check(
            ctx,
            actor,
            CANCEL,
            values,
            context=ref,
            title_params={"number": request.number},
        )
        now = ctx.clock.now()
        booked = sessions.listing(session, request_id=request_id)
        if any(row.starts_at <= now for row in booked):
            raise Refused(
                "refusal.sessions_held",
                target_type="request",
                target_id=request_id,
                number=request.number,
            )
        now = ctx.clock.now()
        workflow.transition(
            session,
            request,
            RequestState.CANCELLED,
            actor_id=actor.id,
            now=now,
            action="request.cancel",
            detail=clean["reason"],
        )
        # its sessions' cancellations: one notice per person, however many there were
        with invites.batched(session, f"request.cancel:{request_id}", now) as cancels:
            for booked in sessions.listing(session, request_id=request_id):
                booking.withdraw(
                    session, booked, actor_id=actor.id, now=now, reason=clean["reason"]
                )
        # One message per person: not to whoever cancelled it (the reply tells them), nor
        # to whoever the sessions' CANCEL already tells.
        told = cancels.told() | {actor.id}
        notify(
            session,
            key=f"request.cancelled:{request_id}",
            person_ids=[
                p
                for p in (
                    *requester_ids(request),
                    *request_store.consultant_ids(session, request_id),
                )
                if p not in told
            ],
            message="notice.cancelled",
            params={"number": request.number},
            now=now,
            action="request.view",
            ref=ref,
        )
    return Reply(
        (Text(t(actor.language, "cancelled", number=request.number), "success"),),
        data={"request_id": request_id},
    )


@intent("request.view", policy.REQUEST_VIEW, target="request")
def view(ctx: Context, actor: Actor, ref: str) -> Reply:
    """One request in full, with the buttons this actor may use on it."""
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_VIEW)
        blocks = detail(session, actor.language, request)
    buttons = request_buttons(actor, request)
    if buttons:
        blocks.append(Buttons(tuple(buttons)))
    return Reply(tuple(blocks), data={"request_id": request_id, "state": request.state})


def detail(session: Session, lang: str, request: Request) -> list[Any]:
    """A request as people read it: the heading, its fields and the questions asked.

    Shared by the requester's view and the prefecture's approval card."""
    assert request.id is not None
    consultants = people.names(session, request_store.consultant_ids(session, request.id))
    rows = [
        Field(t(lang, "field.number"), request.number),
        Field(t(lang, "field.kind"), t(lang, f"kind.{request.kind}")),
        Field(t(lang, "field.state"), t(lang, f"state.{request.state}")),
        Field(t(lang, "field.municipality"), municipality_name(session, request.municipality_id)),
        Field(t(lang, "field.department"), request.department),
        Field(t(lang, "field.requester"), f"{request.requester_title} {request.requester_name}"),
    ]
    if request.kind == RequestKind.CONSULTATION:
        rows += [
            Field(t(lang, "field.topic"), t(lang, f"choice.topic.{request.topic}")),
            Field(t(lang, "field.mode"), t(lang, f"choice.mode.{request.mode}")),
            Field(t(lang, "field.preferred_dates"), _dates(lang, request.preferred_dates)),
        ]
    else:
        rows.append(Field(t(lang, "field.goal"), request.goal or t(lang, "goal.none")))
    rows.append(Field(t(lang, "field.description"), request.description))
    if request.channel != Channel.CHAT:
        rows.append(Field(t(lang, "field.channel"), t(lang, f"choice.channel.{request.channel}")))
    if consultants:
        rows.append(Field(t(lang, "field.consultants"), join(lang, consultants.values())))
    if request.decided_by_id and request.decided_at:
        decision = t(
            lang,
            "decision.line",
            decision=t(lang, f"state.{request.state}"),
            by=name_of(session, request.decided_by_id),
            when=format_when(lang, request.decided_at),
        )
        rows.append(Field(t(lang, "field.decision"), decision))
    if request.decline_reason:
        rows.append(Field(t(lang, "field.reason"), request.decline_reason))
    blocks: list[Any] = [
        Text(t(lang, "request.heading", number=request.number), "heading"),
        Fields(tuple(rows)),
    ]
    blocks += [Text(_qa(lang, q), "muted") for q in request_store.questions(session, request.id)]
    return blocks


def _dates(language: str, iso_dates: list[str]) -> str:
    return join(language, (format_day(language, date.fromisoformat(d)) for d in iso_dates)) or "-"


def _qa(language: str, question: InfoRequest) -> str:
    line = t(language, "question.line", question=question.question)
    if question.answer:
        line += "\n" + t(language, "answer.line", answer=question.answer)
    return line


def decision_buttons(lang: str, request: Request) -> list[Button]:
    """Approve (or select), decline and ask — while the request is undecided."""
    if request.state not in workflow.PENDING:
        return []
    ref = payloads.encode(id=request.id)
    approve_label = (
        "button.select" if request.kind == RequestKind.BPR_APPLICATION else "button.approve"
    )
    buttons = [
        Button("request.approve.form", t(lang, approve_label), ref, "primary"),
        Button("request.decline.form", t(lang, "button.decline"), ref, "danger"),
    ]
    if request.state == RequestState.SUBMITTED:
        buttons.append(Button("request.ask_info.form", t(lang, "button.ask_info"), ref))
    return buttons


def request_buttons(actor: Actor, request: Request) -> list[Button]:
    lang = actor.language
    ref = payloads.encode(id=request.id)
    buttons: list[Button] = []
    pending = request.state in workflow.PENDING
    if policy.allowed(actor, policy.REQUEST_APPROVE):  # decision imports this module
        buttons += decision_buttons(lang, request)
    entered_by = request.entered_by_id
    if request.state == RequestState.NEEDS_INFO and policy.holds(
        actor, policy.REQUEST_ANSWER_INFO, entered_by=entered_by
    ):
        buttons.append(Button("request.answer.form", t(lang, "button.answer"), ref, "primary"))
    if pending and policy.holds(actor, policy.REQUEST_AMEND, entered_by=entered_by):
        buttons.append(Button("request.amend.form", t(lang, "button.amend"), ref))
    if policy.allowed(actor, cancel) and workflow.can_move(request.state, RequestState.CANCELLED):
        buttons.append(
            Button("request.cancel.form", t(lang, "button.cancel_request"), ref, "danger")
        )
    return buttons


@intent("request.list", policy.REQUEST_VIEW)
def mine(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """Requests this actor may see: their municipality's for municipal staff, those they
    carry or entered for consultants, all of them for the prefecture."""
    page = payloads.decode(ref).page
    lang = actor.language
    with ctx.db.transaction() as session:
        rows, total = request_store.listing(
            session,
            municipality_id=actor.municipality_id if actor.role == Role.MUNICIPAL else None,
            involving=actor.id if actor.role == Role.CONSULTANT else None,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        items = tuple(_item(session, lang, r) for r in rows)
    count = pages(total)
    more = next_page(lang, "request.list", page, count)
    return Reply(
        (
            ListView(
                t(lang, "list.requests.title", total=total),
                items,
                page,
                count,
                t(lang, "list.requests.empty"),
                more,
            ),
        )
    )


def _item(session: Session, language: str, request: Request) -> ListItem:
    return ListItem(
        title=f"{request.number} {municipality_name(session, request.municipality_id)}",
        fields=(
            Field(t(language, "field.state"), t(language, f"state.{request.state}")),
            Field(t(language, "field.kind"), t(language, f"kind.{request.kind}")),
        ),
        buttons=(
            Button(
                "request.view",
                t(language, "button.view"),
                payloads.encode(id=request.id),
            ),
        ),
    )
