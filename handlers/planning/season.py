"""The season plan (R5–R8): the prefecture asks for a draft, reviews it, and confirms it;
only then is anything booked and are invites sent.

A draft is computed by `handlers.planning.planner` from what is stored: the selected BPR
municipalities, the consultants' weeks and absences, and every live booking, which is
passed as fixed. Asking again after something moved therefore re-plans incrementally:
booked sessions stay where they are and only what is missing is proposed.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from typing import Any

from sqlmodel import Session

from handlers.core import payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import format_when, join, t
from handlers.core.intents import intent
from handlers.core.lookups import PAGE_SIZE, municipality_name, next_page, notify, pages
from handlers.core.reply import Button, Buttons, Field, Fields, ListItem, ListView, Reply, Text
from handlers.intake.decision import assign_team, check_reassignable
from handlers.intake.submission import load_visible
from handlers.planning import planner
from handlers.scheduling import diary, invites
from handlers.scheduling.booking import Slot, default_place, reserve
from handlers.scheduling.rules import occupies_towns
from handlers.scheduling.slots import earliest_day
from storage import audit, availability, engagements, people, plans, request_store, sessions
from storage.models import (
    Mode,
    PlannedSession,
    PlanStatus,
    Role,
    SeasonPlan,
    SessionKind,
)
from storage.seed_municipalities import PREFECTURAL_OFFICE

RESERVE = "reserve"


def problem(session: Session, ctx: Context) -> planner.Problem:
    """The planner's input, gathered from storage."""
    rules = ctx.rules
    start = earliest_day(ctx)  # never before the contract starts
    consultants = people.listing(session, Role.CONSULTANT)
    ids = [c.id or 0 for c in consultants]
    weeks = availability.weeks(session, ids)
    absent: dict[int, list[planner.Absence]] = {pid: [] for pid in ids}
    for a in availability.absences(session, ids, start, rules.contract_end):
        absent[a.person_id].append(planner.Absence(a.day, a.starts, a.ends))
    selected = engagements.listing(session)
    per_engagement = rules.plan.sessions_per_engagement
    needs = tuple(
        planner.EngagementNeed(
            engagement_id=e.id or 0,
            municipality_id=e.municipality_id,
            sessions=per_engagement,
            consultant_ids=tuple(request_store.consultant_ids(session, e.application_id) or ids),
        )
        for e in selected
    )
    fixed = []
    window_start = datetime.combine(rules.contract_start, time(0), TOKYO)
    live = sessions.listing(session, start=window_start)
    live_ids = [b.id or 0 for b in live]
    places = sessions.municipalities_of_sessions(session, live_ids)
    teams = sessions.consultants_of_sessions(session, live_ids)
    for booked in live:
        municipality_ids = places[booked.id or 0]
        fixed.append(
            planner.Booking(
                kind=booked.kind,
                starts_at=booked.starts_at.astimezone(TOKYO),
                ends_at=booked.ends_at.astimezone(TOKYO),
                consultant_ids=tuple(teams[booked.id or 0]),
                municipality_id=municipality_ids[0]
                if occupies_towns(booked.kind) and municipality_ids
                else None,
                engagement_id=booked.engagement_id,
                online=booked.mode == Mode.ONLINE,
                towns=tuple(municipality_ids) if len(municipality_ids) > 1 else (),
            )
        )
    consultations = [b for b in fixed if b.kind == SessionKind.CONSULTATION]
    for window in plans.reserve_windows(session, window_start):
        taken = any(
            c.starts_at < window.ends_at
            and c.ends_at > window.starts_at
            and set(c.consultant_ids) & set(window.consultant_ids)
            for c in consultations
        )
        if not taken:  # kept free by an earlier confirmed plan: still held
            fixed.append(
                planner.Booking(
                    kind=RESERVE,
                    starts_at=window.starts_at.astimezone(TOKYO),
                    ends_at=window.ends_at.astimezone(TOKYO),
                    consultant_ids=tuple(window.consultant_ids),
                )
            )
    return planner.Problem(
        start=start,
        end=rules.contract_end,
        consultants=tuple(
            planner.Consultant(
                id=c.id or 0,
                is_lead=c.is_lead,
                weekly=weeks.get(c.id or 0) or None,
                absences=tuple(absent[c.id or 0]),
            )
            for c in consultants
        ),
        engagements=needs,
        travel=diary.travel_table(session),
        office_days=rules.plan.office_days,
        consultation_reserve=rules.plan.consultations,
        results_meeting=rules.plan.results_meetings > 0,
        fixed=tuple(fixed),
        office_open=rules.office_open,
        office_close=rules.office_close,
        bpr_minutes=rules.plan.bpr_minutes,
        office_day_minutes=rules.plan.office_day_minutes,
        consultation_minutes=rules.plan.consultation_minutes,
        results_minutes=rules.plan.results_minutes,
        min_gap_days=rules.min_gap_days,
    )


def _decide(
    session: Session,
    plan: SeasonPlan,
    status: PlanStatus,
    actor: Actor,
    now: datetime,
    after: dict[str, Any] | None = None,
) -> None:
    plan.status, plan.decided_by_id, plan.decided_at = status, actor.id, now
    session.add(plan)
    audit.record(
        session,
        at=now,
        actor_id=actor.id,
        action=f"plan.{'confirm' if status == PlanStatus.CONFIRMED else 'discard'}",
        target_type="season_plan",
        target_id=plan.id,
        after=after,
    )


def _discard_drafts(session: Session, actor: Actor, now: datetime) -> None:
    """A new draft replaces the old ones: only one plan is ever up for review."""
    for old in plans.drafts(session):
        _decide(session, old, PlanStatus.DISCARDED, actor, now)


@intent("plan.draft", policy.PLAN_MANAGE)
def draft(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    with ctx.db.transaction() as session:
        plan = _new_draft(session, ctx, actor, ctx.clock.now())
    return view(ctx, actor, payloads.encode(id=plan.id))


def _new_draft(session: Session, ctx: Context, actor: Actor, now: datetime) -> SeasonPlan:
    """Plan the season from what is stored and keep it as the one draft up for review,
    with what could not be placed and, if the load is lopsided, the balance proposal."""
    plans.serialise(session)  # one draft at a time, never beside a confirm
    season = problem(session, ctx)
    result = planner.plan_season(season)
    lopsided = planner.imbalance(season, result)
    _discard_drafts(session, actor, now)
    counts = Counter(b.kind for b in result.bookings)
    plan = plans.add(
        session,
        SeasonPlan(
            created_by_id=actor.id,
            created_at=now,
            summary={
                "counts": dict(counts),
                "travel_minutes": result.travel_minutes,
                "unplaced": [u.as_dict() for u in result.unplaced],
                "imbalance": lopsided.as_dict() if lopsided else None,
            },
        ),
        [_row(b) for b in result.bookings],
    )
    audit.record(
        session,
        at=now,
        actor_id=actor.id,
        action="plan.draft",
        target_type="season_plan",
        target_id=plan.id,
        after=plan.summary,
    )
    return plan


@intent("plan.balance", policy.PLAN_MANAGE, policy.REQUEST_APPROVE)
def balance(ctx: Context, actor: Actor, ref: str) -> Reply:
    """Take the draft's balance proposal: each proposed consultant joins the engagement's
    team through its request's consultants (as a reassignment: audited, the newcomer told),
    then the season is planned again; all in one transaction. Changing who carries a
    request is an approver's decision, so the actor must be one."""
    plan_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        plan = _draft(session, plan_id)
        proposal = (plan.summary.get("imbalance") or {}).get("proposal") or []
        if not proposal:
            raise Refused("refusal.plan_no_proposal", target_type="season_plan", target_id=plan_id)
        now = ctx.clock.now()
        told: dict[int, list[str]] = {}  # newcomer → the requests they joined
        joining: dict[int, set[int]] = {}
        for engagement_id, consultant_id in proposal:
            joining.setdefault(int(engagement_id), set()).add(int(consultant_id))
        for engagement_id, added in sorted(joining.items()):
            engagement = engagements.get(session, engagement_id)
            if engagement is None:
                raise Refused("refusal.plan_stale", target_type="season_plan", target_id=plan_id)
            request = load_visible(
                session, actor, engagement.application_id, policy.REQUEST_APPROVE, lock=True
            )
            check_reassignable(request)
            team = request_store.consultant_ids(session, request.id or 0)
            town = municipality_name(session, request.municipality_id)
            for joined in assign_team(
                session, actor, request, sorted({*team, *added}), now, tell=False
            ):
                told.setdefault(joined, []).append(f"{request.number}({town})")
        for person_id, joined_requests in told.items():  # one notice each, for all of them
            notify(
                session,
                key=f"plan.balance:{plan_id}",
                person_ids=[person_id],
                message="notice.assigned_many",
                params={"count": len(joined_requests), "requests": " / ".join(joined_requests)},
                now=now,
                action="request.list",
            )
        fresh = _new_draft(session, ctx, actor, now)
    return view(ctx, actor, payloads.encode(id=fresh.id))


def _row(booking: planner.Booking) -> PlannedSession:
    return PlannedSession(
        plan_id=0,
        kind=booking.kind,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        mode=Mode.ONLINE if booking.online else Mode.VISIT,
        engagement_id=booking.engagement_id,
        municipality_ids=[booking.municipality_id] if booking.municipality_id else [],
        consultant_ids=list(booking.consultant_ids),
    )


@intent("plan.view", policy.PLAN_MANAGE)
def view(ctx: Context, actor: Actor, ref: str) -> Reply:
    payload = payloads.decode(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        plan = plans.get(session, payload.id or 0)
        if plan is None:
            raise Refused("refusal.no_such_plan", target_type="season_plan", target_id=payload.id)
        rows = plans.planned(session, plan.id or 0)
        total = pages(len(rows))
        page = min(payload.page, total)
        shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        names = people.names(session, sorted({p for r in shown for p in r.consultant_ids}))
        items = tuple(
            ListItem(
                title=f"{format_when(lang, r.starts_at)} {t(lang, f'plan.kind.{r.kind}')}",
                fields=(
                    Field(
                        t(lang, "field.place"),
                        join(lang, (municipality_name(session, m) for m in r.municipality_ids))
                        or (
                            t(lang, "choice.mode.online")
                            if r.mode == Mode.ONLINE
                            else PREFECTURAL_OFFICE
                        ),
                    ),
                    Field(
                        t(lang, "field.consultants"),
                        join(lang, (names.get(p, "?") for p in r.consultant_ids)) or "-",
                    ),
                ),
            )
            for r in shown
        )
        unplaced = _unplaced_lines(session, lang, plan.summary.get("unplaced", []))
        lopsided = plan.summary.get("imbalance")
        balance_lines = _imbalance_lines(session, lang, lopsided) if lopsided else []
    counts = plan.summary.get("counts", {})
    blocks: list[Any] = [
        Text(t(lang, "plan.title", status=t(lang, f"plan.status.{plan.status}")), "heading"),
        Fields(
            (
                *(
                    Field(t(lang, f"plan.kind.{kind}"), str(counts.get(kind, 0)))
                    for kind in (*(k.value for k in SessionKind), RESERVE)
                ),
                Field(
                    t(lang, "plan.travel"),
                    t(lang, "plan.minutes", minutes=plan.summary.get("travel_minutes", 0)),
                ),
            )
        ),
    ]
    blocks += [Text(line, "error") for line in unplaced]
    blocks += [Text(line, "error" if n == 0 else "plain") for n, line in enumerate(balance_lines)]
    if (
        plan.status == PlanStatus.DRAFT
        and lopsided
        and lopsided.get("proposal")
        and policy.allowed(actor, balance)
    ):
        blocks.append(
            Buttons(
                (
                    Button(
                        "plan.balance",
                        t(lang, "plan.balance.accept"),
                        payloads.encode(id=plan.id),
                        "primary",
                    ),
                )
            )
        )
    blocks.append(
        ListView(
            t(lang, "plan.sessions"),
            items,
            page,
            total,
            t(lang, "plan.empty"),
            more=next_page(lang, "plan.view", page, total, id=plan.id),
        )
    )
    if plan.status == PlanStatus.DRAFT:
        ref_id = payloads.encode(id=plan.id)
        blocks.append(
            Buttons(
                (
                    Button("plan.confirm", t(lang, "button.confirm_plan"), ref_id, "primary"),
                    Button("plan.discard", t(lang, "button.discard_plan"), ref_id, "danger"),
                )
            )
        )
    return Reply(tuple(blocks), data={"plan_id": plan.id})


def _imbalance_lines(session: Session, lang: str, lopsided: dict[str, Any]) -> list[str]:
    """The stored `planner.Imbalance` in words: the hours, who is idle or over, and the
    proposal with the hours it is expected to give (or that no change of team helps)."""
    hours = {int(c): h for c, h in lopsided["hours"].items()}
    expected = {int(c): h for c, h in lopsided.get("expected", {}).items()}
    proposal = [(int(e), int(c)) for e, c in lopsided.get("proposal", [])]
    names = people.names(session, sorted({*hours, *(c for _, c in proposal)}))
    selected = {e.id: e.municipality_id for e in engagements.listing(session)}

    def who(ids: list[int]) -> str:
        return join(lang, (names.get(c, "?") for c in ids))

    def table(by: dict[int, float]) -> str:
        return join(
            lang,
            (
                t(lang, "plan.imbalance.hours", name=names.get(c, "?"), hours=f"{h:g}")
                for c, h in by.items()
            ),
        )

    mean = sum(hours.values()) / len(hours) if hours else 0.0
    lines = [t(lang, "plan.imbalance", hours=table(hours), mean=f"{mean:.1f}")]
    if lopsided.get("idle"):
        lines.append(t(lang, "plan.imbalance.idle", names=who(lopsided["idle"])))
    if lopsided.get("over"):
        lines.append(t(lang, "plan.imbalance.over", names=who(lopsided["over"])))
    for engagement_id, consultant_id in proposal:
        town = selected.get(engagement_id)
        lines.append(
            t(
                lang,
                "plan.imbalance.proposal",
                municipality="-" if town is None else municipality_name(session, town),
                name=names.get(consultant_id, "?"),
            )
        )
    if proposal:
        lines.append(t(lang, "plan.imbalance.expected", hours=table(expected)))
    else:
        lines.append(t(lang, "plan.imbalance.no_proposal"))
    return lines


def _unplaced_lines(session: Session, lang: str, entries: list[Any]) -> list[str]:
    """What the planner could not place (`planner.Unplaced` as stored), in words."""
    lines = []
    for entry in entries:
        if isinstance(entry, str):  # a plan drafted before the entries were data
            lines.append(t(lang, "plan.unplaced", what=entry))
            continue
        municipality_id = entry.get("municipality_id")
        what = t(
            lang,
            f"planner.unplaced.{entry['what']}",
            count=entry["count"],
            municipality="-"
            if municipality_id is None
            else municipality_name(session, municipality_id),
        )
        reason = t(lang, f"planner.reason.{entry['reason']}")
        lines.append(t(lang, "planner.unplaced_line", what=what, reason=reason))
    return lines


def _draft(session: Session, plan_id: int) -> SeasonPlan:
    """The draft `plan_id`, for a writer that decides it (`plans.serialise` first)."""
    plans.serialise(session)
    plan = plans.get(session, plan_id, lock=True)
    if plan is None:
        raise Refused("refusal.no_such_plan", target_type="season_plan", target_id=plan_id)
    if plan.status != PlanStatus.DRAFT:
        raise Refused("refusal.plan_decided", target_type="season_plan", target_id=plan_id)
    return plan


@intent("plan.confirm", policy.PLAN_MANAGE)
def confirm(ctx: Context, actor: Actor, ref: str) -> Reply:
    """Book every planned session in one transaction: all of it, or (if the diaries changed
    since the draft) none of it, with the reason and a fresh draft one button away."""
    plan_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        plan = _draft(session, plan_id)
        rows = [r for r in plans.planned(session, plan_id) if r.kind != RESERVE]
        consultant_ids = sorted({p for r in rows for p in r.consultant_ids})
        people.lock(session, consultant_ids)
        everyone = [m.id or 0 for m in people.municipalities(session)]
        # every row's towns locked at once, in id order, as `check_slot` does for one
        people.lock_municipalities(
            session,
            everyone
            if any(r.kind == SessionKind.RESULTS_MEETING for r in rows)
            else {m for r in rows for m in r.municipality_ids},
        )
        diaries = (
            diary.load(
                session,
                consultant_ids,
                min(r.starts_at for r in rows).astimezone(TOKYO).date(),
                max(r.starts_at for r in rows).astimezone(TOKYO).date(),
            )
            if rows
            else {}
        )
        travel = diary.travel_table(session)
        # one notice per person for the whole plan, with one .ics of their sessions
        with invites.batched(session, f"plan.confirm:{plan_id}", ctx.clock.now()):
            for row in rows:
                results = row.kind == SessionKind.RESULTS_MEETING
                booked = reserve(
                    session,
                    ctx,
                    actor,
                    Slot(
                        kind=SessionKind(row.kind),
                        starts_at=row.starts_at,
                        ends_at=row.ends_at,
                        mode=Mode(row.mode),
                        municipality_ids=tuple(everyone if results else row.municipality_ids),
                        consultant_ids=tuple(row.consultant_ids),
                        place=default_place(
                            session, SessionKind(row.kind), Mode(row.mode), row.municipality_ids
                        ),
                        engagement_id=row.engagement_id,
                    ),
                    diaries=diaries,
                    travel=travel,
                )
                row.session_id = booked.id
                session.add(row)
        _decide(session, plan, PlanStatus.CONFIRMED, actor, ctx.clock.now(), {"booked": len(rows)})
    return Reply(
        (Text(t(lang, "plan.confirmed", count=len(rows)), "success"),),
        data={"plan_id": plan_id, "booked": len(rows)},
    )


@intent("plan.discard", policy.PLAN_MANAGE)
def discard(ctx: Context, actor: Actor, ref: str) -> Reply:
    plan_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        _decide(session, _draft(session, plan_id), PlanStatus.DISCARDED, actor, ctx.clock.now())
    return Reply((Text(t(actor.language, "plan.discarded"), "success"),))
