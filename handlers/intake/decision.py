"""R2: the prefecture's decisions. Only approvers act; every decision is audited; the
requester is told. Two approvers at once: the row lock lets one decide, the other is
told who did. The card the decisions are taken on, in the approval channel, is
approval_card.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from handlers.core import business_days, forms, payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Key, Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import format_when, t
from handlers.core.intents import intent
from handlers.core.lookups import (
    PAGE_SIZE,
    consultant_choices,
    municipality_name,
    name_of,
    next_page,
    notify,
    pages,
    requester_ids,
)
from handlers.core.reply import Button, Buttons, Field, ListItem, ListView, Reply, Text
from handlers.intake import workflow
from handlers.intake.submission import load_visible, request_buttons, request_form
from handlers.scheduling import booking
from storage import audit, engagements, messages, request_store
from storage.models import (
    Engagement,
    InfoRequest,
    Request,
    RequestKind,
    RequestState,
)

APPROVE = FormSpec(
    "request.approve",
    "form.approve.title",
    (FieldSpec("consultants", "multiselect", hint=True),),
    submit="button.approve",
)
DECLINE = FormSpec(
    "request.decline",
    "form.decline.title",
    (FieldSpec("reason", "textarea", max_length=1000),),
    submit="button.decline",
)
ASK_INFO = FormSpec(
    "request.ask_info",
    "form.ask_info.title",
    (FieldSpec("question", "textarea", max_length=1000),),
    submit="button.ask_info",
)


@intent("approval.queue", policy.APPROVAL_QUEUE)
def queue(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """Requests waiting for the prefecture, oldest first."""
    page = payloads.decode(ref).page
    lang = actor.language
    with ctx.db.transaction() as session:
        rows, total = request_store.listing(session, states=workflow.PENDING)
        rows.reverse()
        shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        items = tuple(
            ListItem(
                title=f"{r.number} {municipality_name(session, r.municipality_id)}",
                fields=(
                    Field(t(lang, "field.kind"), t(lang, f"kind.{r.kind}")),
                    Field(t(lang, "field.state"), t(lang, f"state.{r.state}")),
                    Field(t(lang, "field.submitted_at"), format_when(lang, r.created_at)),
                ),
                buttons=(
                    Button("request.view", t(lang, "button.view"), payloads.encode(id=r.id)),
                    *request_buttons(actor, r),
                ),
            )
            for r in shown
        )
    count = pages(total)
    more = next_page(lang, "approval.queue", page, count)
    return Reply(
        (
            ListView(
                t(lang, "list.queue.title", total=total),
                items,
                page,
                count,
                t(lang, "list.queue.empty"),
                more,
            ),
        )
    )


def _pending(
    session: Session,
    actor: Actor,
    request_id: int,
    permission: policy.Permission,
    target: RequestState,
) -> Request:
    """The request under its row lock, still undecided, and not the actor's own."""
    request = load_visible(session, actor, request_id, permission, lock=True)
    if request.state not in workflow.PENDING:
        if request.decided_by_id is not None and request.decided_at is not None:
            raise Refused(
                "refusal.already_decided",
                target_type="request",
                target_id=request_id,
                number=request.number,
                decision=Key(f"state.{request.state}"),
                by=name_of(session, request.decided_by_id),
                when=format_when(actor.language, request.decided_at),
            )
        raise Refused(
            "refusal.bad_transition",
            target_type="request",
            target_id=request_id,
            number=request.number,
            current=Key(f"state.{request.state}"),
            target=Key(f"state.{target.value}"),
        )
    if request.entered_by_id == actor.id or request.requester_id == actor.id:
        raise Refused("refusal.own_request", target_type="request", target_id=request_id)
    return request


@intent("request.approve.form", policy.REQUEST_APPROVE, target="request")
def approve_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_APPROVE)
        choices = {"consultants": consultant_choices(session, actor.language)}
    title = "form.select.title" if request.kind == RequestKind.BPR_APPLICATION else APPROVE.title
    spec = FormSpec(APPROVE.action, title, APPROVE.fields, APPROVE.submit)
    return Reply(
        (
            forms.build(
                spec,
                actor.language,
                choices=choices,
                context=ref,
                title_params={"number": request.number},
            ),
        )
    )


@intent("request.approve", policy.REQUEST_APPROVE, target="request")
def approve(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Approve a consultation, or select a BPR applicant (which opens its engagement),
    with the consultants who will carry it."""
    request_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        request = _pending(
            session, actor, request_id, policy.REQUEST_APPROVE, RequestState.APPROVED
        )
        clean = forms.check(
            ctx,
            actor,
            APPROVE,
            values,
            choices={"consultants": consultant_choices(session, lang)},
            context=ref,
            title_params={"number": request.number},
        )
        consultant_ids = [int(v) for v in clean["consultants"]]
        now = ctx.clock.now()
        request.decided_by_id, request.decided_at = actor.id, now
        workflow.transition(
            session,
            request,
            RequestState.APPROVED,
            actor_id=actor.id,
            now=now,
            action="request.approve",
            after={"consultants": consultant_ids},
        )
        request_store.assign(session, request_id, consultant_ids)
        engagement_id = None
        if request.kind == RequestKind.BPR_APPLICATION:
            engagement_id = _open_engagement(session, request, now)
        place = municipality_name(session, request.municipality_id)
        notify(
            session,
            key=f"request.approved:{request_id}",
            person_ids=requester_ids(request),
            message=f"notice.approved.{request.kind}",
            params={"number": request.number},
            now=now,
            action="slots.offer" if request.kind == RequestKind.CONSULTATION else "request.view",
            ref=ref,
        )
        notify(
            session,
            key=f"request.assigned:{request_id}",
            person_ids=consultant_ids,
            message="notice.assigned",
            params={"number": request.number, "municipality": place},
            now=now,
            action="request.view",
            ref=ref,
        )
    key = "decided.selected" if engagement_id else "decided.approved"
    blocks: list[Text | Buttons] = [Text(t(lang, key, number=request.number), "success")]
    if engagement_id is None and policy.allowed(actor, booking.book_form):
        blocks.append(Buttons((Button("session.book.form", t(lang, "menu.book"), ref),)))
    return Reply(
        tuple(blocks),
        data={"request_id": request_id, "engagement_id": engagement_id, "state": request.state},
    )


def _open_engagement(session: Session, request: Request, now: Any) -> int:
    if engagements.by_municipality(session, request.municipality_id):
        raise Refused(
            "refusal.engagement_exists",
            target_type="request",
            target_id=request.id,
            municipality=municipality_name(session, request.municipality_id),
        )
    assert request.id is not None
    engagement = engagements.add(
        session,
        Engagement(
            municipality_id=request.municipality_id,
            application_id=request.id,
            department=request.department,
            goal=request.goal,
            created_at=now,
        ),
    )
    assert engagement.id is not None
    return engagement.id


@intent("request.decline.form", policy.REQUEST_DECLINE, target="request")
def decline_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    return request_form(ctx, actor, ref, DECLINE, policy.REQUEST_DECLINE)


@intent("request.ask_info.form", policy.REQUEST_ASK_INFO, target="request")
def ask_info_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    return request_form(ctx, actor, ref, ASK_INFO, policy.REQUEST_ASK_INFO)


@intent("request.decline", policy.REQUEST_DECLINE, target="request")
def decline(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    request_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        request = _pending(
            session, actor, request_id, policy.REQUEST_DECLINE, RequestState.DECLINED
        )
        clean = forms.check(
            ctx,
            actor,
            DECLINE,
            values,
            context=ref,
            title_params={"number": request.number},
        )
        now = ctx.clock.now()
        request.decline_reason = clean["reason"]
        request.decided_by_id, request.decided_at = actor.id, now
        workflow.transition(
            session,
            request,
            RequestState.DECLINED,
            actor_id=actor.id,
            now=now,
            action="request.decline",
            detail=clean["reason"],
        )
        notify(
            session,
            key=f"request.declined:{request_id}",
            person_ids=requester_ids(request),
            message="notice.declined",
            params={"number": request.number, "reason": clean["reason"]},
            now=now,
            action="request.view",
            ref=ref,
        )
    return Reply(
        (Text(t(lang, "decided.declined", number=request.number), "success"),),
        data={"request_id": request_id, "state": request.state},
    )


@intent("request.ask_info", policy.REQUEST_ASK_INFO, target="request")
def ask_info(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    request_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        request = _pending(
            session, actor, request_id, policy.REQUEST_ASK_INFO, RequestState.NEEDS_INFO
        )
        clean = forms.check(
            ctx,
            actor,
            ASK_INFO,
            values,
            context=ref,
            title_params={"number": request.number},
        )
        now = ctx.clock.now()
        workflow.transition(
            session,
            request,
            RequestState.NEEDS_INFO,
            actor_id=actor.id,
            now=now,
            action="request.ask_info",
            detail=clean["question"],
        )
        question = request_store.add_question(
            session,
            InfoRequest(
                request_id=request_id,
                question=clean["question"],
                asked_by_id=actor.id,
                asked_at=now,
            ),
        )
        notify(
            session,
            key=f"request.question:{request_id}:{question.id}",
            person_ids=requester_ids(request),
            message="notice.question",
            params={"number": request.number, "question": clean["question"]},
            now=now,
            action="request.answer.form",
            ref=ref,
        )
    return Reply(
        (Text(t(lang, "decided.asked", number=request.number), "success"),),
        data={"request_id": request_id, "state": request.state},
    )


@dataclass(frozen=True)
class Nudge:
    posted_id: int
    channel: str
    message_id: str
    reply: Reply


def nudges_due(ctx: Context, platform: str) -> list[Nudge]:
    """Approval messages to nudge now: requests back in the prefecture's hands (not those
    waiting for the requester's answer) for at least one full business day since their
    last change, not nudged today — and only during office hours on a business day."""
    now = ctx.clock.now().astimezone(TOKYO)
    today = now.date()
    open_now = ctx.rules.office_open <= now.time() < ctx.rules.office_close
    if not business_days.is_business_day(today) or not open_now:
        return []
    due: list[Nudge] = []
    with ctx.db.transaction() as session:
        for posted in messages.posted(session, platform=platform, purpose="approval"):
            request = request_store.get(session, posted.target_id)
            if request is None or request.state != RequestState.SUBMITTED:
                continue
            if posted.nudged_at and posted.nudged_at.astimezone(TOKYO).date() == today:
                continue
            since = request.updated_at.astimezone(TOKYO).date()
            waited = business_days.business_days(
                since + timedelta(days=1), today - timedelta(days=1)
            )
            if waited >= 1 and posted.id is not None:
                text = t(ctx.rules.language, "notice.nudge", number=request.number, days=waited)
                due.append(
                    Nudge(posted.id, posted.channel, posted.message_id, Reply((Text(text),)))
                )
    return due


def mark_nudged(ctx: Context, posted_id: int) -> None:
    with ctx.db.transaction() as session:
        messages.mark_nudged(session, posted_id, ctx.clock.now())


REASSIGN = FormSpec(
    "request.reassign",
    "form.reassign.title",
    (FieldSpec("consultants", "multiselect", hint=True),),
    submit="button.reassign",
)
REASSIGNABLE = (RequestState.APPROVED, RequestState.SCHEDULED)


@intent("request.reassign.form", policy.REQUEST_APPROVE, target="request")
def reassign_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    request_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_APPROVE)
        current = [str(i) for i in request_store.consultant_ids(session, request_id)]
        choices = {"consultants": consultant_choices(session, actor.language)}
    return Reply(
        (
            forms.build(
                REASSIGN,
                actor.language,
                values={"consultants": current},
                choices=choices,
                context=ref,
                title_params={"number": request.number},
            ),
        )
    )


@intent("request.reassign", policy.REQUEST_APPROVE, target="request")
def reassign(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Change who carries an approved request; audited with before and after, and the
    newly assigned are told."""
    request_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, policy.REQUEST_APPROVE, lock=True)
        check_reassignable(request)
        clean = forms.check(
            ctx,
            actor,
            REASSIGN,
            values,
            choices={"consultants": consultant_choices(session, lang)},
            context=ref,
            title_params={"number": request.number},
        )
        after = sorted(int(v) for v in clean["consultants"])
        assign_team(session, actor, request, after, ctx.clock.now())
    return Reply(
        (Text(t(lang, "decided.reassigned", number=request.number), "success"),),
        data={"request_id": request_id, "state": request.state},
    )


def check_reassignable(request: Request) -> None:
    """Only an approved or scheduled request changes hands (refused, audited, otherwise)."""
    if request.state not in REASSIGNABLE:
        raise Refused(
            "refusal.not_reassignable",
            target_type="request",
            target_id=request.id,
            number=request.number,
            state=Key(f"state.{request.state}"),
        )


def assign_team(
    session: Session,
    actor: Actor,
    request: Request,
    after: list[int],
    now: datetime,
    *,
    tell: bool = True,
) -> list[int]:
    """Who carries a (locked, reassignable) request, changed in the caller's transaction:
    audited as `request.reassign` with before and after, its cards made stale, the newly
    assigned told (unless `tell` is False: a caller assigning many requests in one action
    tells each newcomer once, for all of them). `reassign` and the season plan's balance
    proposal both come here. Returns the newly assigned."""
    request_id = request.id or 0
    before = request_store.consultant_ids(session, request_id)
    request_store.assign(session, request_id, after)
    request.updated_at = now  # the cards show who carries it: they are now stale
    session.add(request)
    audit.record(
        session,
        at=now,
        actor_id=actor.id,
        action="request.reassign",
        target_type="request",
        target_id=request_id,
        before={"consultants": before},
        after={"consultants": after},
    )
    joined = [i for i in after if i not in before]
    if not tell:
        return joined
    notify(
        session,
        key=f"request.assigned:{request_id}:{now.isoformat()}",
        person_ids=joined,
        message="notice.assigned",
        params={
            "number": request.number,
            "municipality": municipality_name(session, request.municipality_id),
        },
        now=now,
        action="request.view",
        ref=payloads.encode(id=request_id),
    )
    return joined
