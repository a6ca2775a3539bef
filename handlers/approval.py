"""R2: the prefecture's decisions. Only approvers act; every decision is audited; the
requester is told. Two approvers at once: the row lock lets one decide, the other is
told who did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from handlers import calendar, forms, payloads, policy, workflow
from handlers.actor import Actor
from handlers.clock import TOKYO
from handlers.common import (
    PAGE_SIZE,
    consultant_choices,
    municipality_name,
    name_of,
    notify,
    pages,
    requester_ids,
)
from handlers.context import Context
from handlers.core import intent
from handlers.errors import Key, Refused
from handlers.forms import FieldSpec, FormSpec
from handlers.i18n import format_when, t
from handlers.intake import decision_buttons, detail, load_visible, request_buttons
from handlers.reply import Button, Buttons, Field, ListItem, ListView, Reply, Text
from storage import audit, engagements, messages, requests
from storage.models import (
    Engagement,
    InfoRequest,
    Request,
    RequestKind,
    RequestState,
)

NEW_REQUESTS = ("request.submit", "bpr.apply")
"""Actions that create a request: its card is posted to the approval channel."""
DECISIONS = ("request.approve", "request.decline", "request.ask_info", "request.reassign")
CHANGES_CARD = (*DECISIONS, "request.answer", "request.amend", "request.cancel", "session.book")
"""Actions after which a request's approval card shows something new."""

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


def card(ctx: Context, request_id: int, language: str) -> Reply:
    """The request as posted in the prefecture's approval channel: its detail and, while
    undecided, the decision buttons (re-authorised when pressed). Once decided, the same
    card shows who decided and when, without buttons."""
    with ctx.db.transaction() as session:
        request = requests.get(session, request_id)
        if request is None:
            raise LookupError(request_id)
        blocks = detail(session, language, request)
    buttons = decision_buttons(language, request)
    if request.state in REASSIGNABLE:
        buttons.append(
            Button(
                "request.reassign.form",
                t(language, "button.reassign"),
                payloads.encode(id=request_id),
            )
        )
    if buttons:
        blocks.append(Buttons(tuple(buttons)))
    data = {"request_id": request_id, "state": request.state, "version": request.updated_at}
    return Reply(tuple(blocks), data=data)


def public_card(ctx: Context, request_id: int, language: str) -> Reply:
    """The approval card as everyone in a shared channel sees it, where a platform can
    show each viewer their own version (Teams' user-specific views): the detail without
    the approvers' buttons, and one button that opens an approver's own view."""
    full = card(ctx, request_id, language)
    blocks = tuple(b for b in full.blocks if not isinstance(b, Buttons))
    if len(blocks) < len(full.blocks):
        ref = payloads.encode(id=request_id)
        blocks += (Buttons((Button("request.card", t(language, "button.staff_view"), ref),)),)
        return Reply(blocks, data={**full.data, "staff_view": True})
    return Reply(blocks, data=full.data)


@intent("request.card")
def staff_card(ctx: Context, actor: Actor, ref: str) -> Reply:
    """An approver's own view of a shared approval card, read afresh from the database
    each time it is shown (so a decision taken elsewhere shows too)."""
    request_id = payloads.require_id(ref)
    policy.require(actor, "request.approve", target_type="request", target_id=request_id)
    with ctx.db.transaction() as session:
        load_visible(session, actor, request_id, "request.approve")
    return card(ctx, request_id, actor.language)


@intent("approval.queue")
def queue(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """Requests waiting for the prefecture, oldest first."""
    policy.require(actor, "approval.queue")
    page = payloads.decode(ref).page
    lang = actor.language
    with ctx.db.transaction() as session:
        rows, total = requests.listing(session, states=workflow.PENDING)
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
    more = (
        Button("approval.queue", t(lang, "button.next_page"), payloads.encode(page=page + 1))
        if page < count
        else None
    )
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
    session: Session, actor: Actor, request_id: int, intent_name: str, target: RequestState
) -> Request:
    """The request under its row lock, still undecided, and not the actor's own."""
    request = load_visible(session, actor, request_id, intent_name, lock=True)
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


@intent("request.approve.form")
def approve_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    request_id = payloads.require_id(ref)
    policy.require(actor, "request.approve", target_type="request", target_id=request_id)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, "request.approve")
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


@intent("request.approve")
def approve(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Approve a consultation, or select a BPR applicant (which opens its engagement),
    with the consultants who will carry it."""
    request_id = payloads.require_id(ref)
    policy.require(actor, "request.approve", target_type="request", target_id=request_id)
    lang = actor.language
    with ctx.db.transaction() as session:
        request = _pending(session, actor, request_id, "request.approve", RequestState.APPROVED)
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
        requests.assign(session, request_id, consultant_ids)
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
    if engagement_id is None and policy.allowed(actor, "session.book"):
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


@intent("request.decline.form")
def decline_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    return _decision_form(ctx, actor, ref, DECLINE, "request.decline")


@intent("request.ask_info.form")
def ask_info_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    return _decision_form(ctx, actor, ref, ASK_INFO, "request.ask_info")


def _decision_form(ctx: Context, actor: Actor, ref: str, spec: FormSpec, intent_name: str) -> Reply:
    request_id = payloads.require_id(ref)
    policy.require(actor, intent_name, target_type="request", target_id=request_id)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, intent_name)
    return Reply(
        (forms.build(spec, actor.language, context=ref, title_params={"number": request.number}),)
    )


@intent("request.decline")
def decline(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    request_id = payloads.require_id(ref)
    policy.require(actor, "request.decline", target_type="request", target_id=request_id)
    lang = actor.language
    with ctx.db.transaction() as session:
        request = _pending(session, actor, request_id, "request.decline", RequestState.DECLINED)
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


@intent("request.ask_info")
def ask_info(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    request_id = payloads.require_id(ref)
    policy.require(actor, "request.ask_info", target_type="request", target_id=request_id)
    lang = actor.language
    with ctx.db.transaction() as session:
        request = _pending(session, actor, request_id, "request.ask_info", RequestState.NEEDS_INFO)
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
        question = requests.add_question(
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


def latest_exchange(ctx: Context, request_id: int, language: str) -> Reply:
    """The newest question on a request and its answer, for the approval thread."""
    with ctx.db.transaction() as session:
        asked = requests.questions(session, request_id)
        request = requests.get(session, request_id)
    if not asked or request is None:
        return Reply(())
    last = asked[-1]
    lines = [t(language, "question.line", question=last.question)]
    if last.answer:
        lines.append(t(language, "answer.line", answer=last.answer))
    return Reply(
        (Text(t(language, "thread.exchange", number=request.number)), Text("\n".join(lines)))
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
    if not calendar.is_business_day(today) or not open_now:
        return []
    due: list[Nudge] = []
    with ctx.db.transaction() as session:
        for posted in messages.posted(session, platform=platform, purpose="approval"):
            request = requests.get(session, posted.target_id)
            if request is None or request.state != RequestState.SUBMITTED:
                continue
            if posted.nudged_at and posted.nudged_at.astimezone(TOKYO).date() == today:
                continue
            since = request.updated_at.astimezone(TOKYO).date()
            waited = calendar.business_days(since + timedelta(days=1), today - timedelta(days=1))
            if waited >= 1 and posted.id is not None:
                text = t(ctx.rules.language, "notice.nudge", number=request.number, days=waited)
                due.append(
                    Nudge(posted.id, posted.channel, posted.message_id, Reply((Text(text),)))
                )
    return due


def without_card(ctx: Context, platform: str) -> list[int]:
    """Undecided requests not yet posted to the approval channel (entered from another
    platform or the terminal, or whose post failed or whose poster died), oldest
    first; `reserve_card` decides who posts each."""
    with ctx.db.transaction() as session:
        return messages.unposted_requests(session, platform, workflow.PENDING)


def reserve_card(ctx: Context, platform: str, request_id: int, channel: str) -> str | None:
    """A token when this caller is the one to post the request's card on this platform
    (the click that created it and the deliverers of any number of instances race);
    then `fill_card` with it, or `release_card` when the post fails."""
    with ctx.db.transaction() as session:
        return messages.reserve(
            session,
            platform=platform,
            purpose="approval",
            target_id=request_id,
            channel=channel,
            now=ctx.clock.now(),
        )


def release_card(ctx: Context, token: str) -> None:
    with ctx.db.transaction() as session:
        messages.release(session, token)


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


@intent("request.reassign.form")
def reassign_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    request_id = payloads.require_id(ref)
    policy.require(actor, "request.approve", target_type="request", target_id=request_id)
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, "request.approve")
        current = [str(i) for i in requests.consultant_ids(session, request_id)]
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


@intent("request.reassign")
def reassign(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Change who carries an approved request; audited with before and after, and the
    newly assigned are told."""
    request_id = payloads.require_id(ref)
    policy.require(actor, "request.approve", target_type="request", target_id=request_id)
    lang = actor.language
    with ctx.db.transaction() as session:
        request = load_visible(session, actor, request_id, "request.approve", lock=True)
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
    before = requests.consultant_ids(session, request_id)
    requests.assign(session, request_id, after)
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


def fill_card(ctx: Context, token: str, channel: str, message_id: str, card: Reply) -> bool:
    """Where the reserved card was posted (and which state of the request it shows), so
    it is updated in place. False: the reservation was taken over while this poster
    stalled, and the message just posted is a duplicate to delete."""
    with ctx.db.transaction() as session:
        return messages.fill(
            session,
            token,
            channel=channel,
            message_id=message_id,
            now=ctx.clock.now(),
            version=card.data.get("version"),
        )


def card_shown(ctx: Context, posted_id: int, card: Reply) -> None:
    """A posted card was updated to show `card`'s state of its request."""
    with ctx.db.transaction() as session:
        messages.shown(session, posted_id, card.data.get("version"))


def card_not_updated(ctx: Context, posted_id: int) -> None:
    """Updating a posted card failed: the deliverer tries again later, less often."""
    with ctx.db.transaction() as session:
        messages.update_failed(session, posted_id, ctx.clock.now())


def stale_cards(ctx: Context, platform: str) -> list[int]:
    """Requests whose card on this platform shows another state than they have now
    (decided on another platform, or an update that failed or finished out of order):
    the deliverer updates them."""
    with ctx.db.transaction() as session:
        return [m.target_id for m in messages.stale_requests(session, platform, ctx.clock.now())]
