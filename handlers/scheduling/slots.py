"""Slots for an approved consultation (R5): the bot proposes a few times, the requester
picks one in chat (or asks for others), and picking books it through `reserve`.

Proposals read the same diaries booking checks, and leave out times when the
municipality is already in a session, so what is offered can be booked; between offer
and pick someone else may take the time, and then the pick is refused with the reason
and fresh proposals are one button away.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from handlers.core import business_days, payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import format_day, format_when, t
from handlers.core.intents import intent
from handlers.core.lookups import municipality_name
from handlers.core.reply import Button, Buttons, Reply, Text
from handlers.planning.planner import GRID_MINUTES
from handlers.scheduling import diary, invites
from handlers.scheduling.booking import Slot, default_place, reserve
from handlers.scheduling.rules import occupies_towns, site_of
from storage import plans, request_store, sessions
from storage.models import Mode, Request, RequestKind, RequestState, Role, SessionKind

PER_PAGE = 3
PREFERRED_STARTS = (time(10, 0), time(13, 30))  # what municipal offices usually ask for
STEP = timedelta(minutes=30)


def earliest_day(ctx: Context) -> date:
    """Nobody is booked at shorter notice than the municipality may still cancel."""
    today = ctx.clock.now().date()
    return max(
        ctx.rules.contract_start,
        business_days.add_business_days(today, ctx.rules.min_notice_business_days + 1),
    )


def candidate_days(
    ctx: Context, preferred: Sequence[str], reserved: Sequence[date] = ()
) -> Iterator[date]:
    """The requester's preferred dates first, then days the season plan kept in reserve
    for consultations, then every business day in order."""
    first = earliest_day(ctx)
    seen: set[date] = set()
    wanted = sorted(date.fromisoformat(d) for d in preferred)
    for day in [*wanted, *sorted(reserved)]:
        if day in seen:
            continue
        if first <= day <= ctx.rules.contract_end and business_days.is_business_day(day):
            seen.add(day)
            yield day
    day = first
    while day <= ctx.rules.contract_end:
        if day not in seen and business_days.is_business_day(day):
            yield day
        day += timedelta(days=1)


def start_times(ctx: Context, minutes: int) -> list[time]:
    latest = datetime.combine(date.min, ctx.rules.office_close) - timedelta(minutes=minutes)
    every, moment = [], datetime.combine(date.min, ctx.rules.office_open)
    while moment <= latest:
        every.append(moment.time())
        moment += STEP
    return [s for s in PREFERRED_STARTS if s in every] + [
        s for s in every if s not in PREFERRED_STARTS
    ]


def propose(
    session: Session,
    ctx: Context,
    request: Request,
    consultant_ids: Sequence[int],
    *,
    skip: int = 0,
    count: int = PER_PAGE,
) -> list[datetime]:
    """Start times, one per day, where every assigned consultant is free (travel included)
    and the municipality is in no other session (`scheduling.check_slot`'s rules)."""
    minutes = ctx.rules.plan.consultation_minutes
    site = site_of(SessionKind.CONSULTATION, request.mode != Mode.VISIT, [request.municipality_id])
    diaries = diary.load(session, consultant_ids, earliest_day(ctx), ctx.rules.contract_end)
    town = [
        (s.starts_at, s.ends_at)
        for s in sessions.listing(
            session,
            start=datetime.combine(earliest_day(ctx), time(0), TOKYO),
            municipality_id=request.municipality_id,
        )
        if occupies_towns(s.kind)
    ]
    travel = diary.travel_table(session)
    reserve: dict[date, list[time]] = {}
    for window in plans.reserve_windows(session, ctx.clock.now()):
        if set(window.consultant_ids) & set(consultant_ids):
            local = window.starts_at.astimezone(TOKYO)
            reserve.setdefault(local.date(), []).append(local.time())
    found: list[datetime] = []
    for day in candidate_days(ctx, request.preferred_dates, list(reserve)):
        for start in [*reserve.get(day, []), *start_times(ctx, minutes)]:
            starts_at = datetime.combine(day, start, TOKYO)
            ends_at = starts_at + timedelta(minutes=minutes)
            if any(a < ends_at and b > starts_at for a, b in town):
                continue
            if diary.first_conflict(diaries, travel, starts_at, ends_at, site) is None:
                found.append(starts_at)
                break
        if len(found) >= skip + count:
            break
    return found[skip:]


def _bookable(session: Session, actor: Actor, request_id: int, *, lock: bool) -> Request:
    request = request_store.get(session, request_id, lock=lock)
    if request is None or request.kind != RequestKind.CONSULTATION:
        raise Refused("refusal.no_such_request", target_type="request", target_id=request_id)
    policy.owns(
        actor,
        policy.SLOTS_PICK,
        municipality_id=request.municipality_id,
        target_type="request",
        target_id=request_id,
    )
    if request.state != RequestState.APPROVED:
        raise Refused(
            "refusal.not_awaiting_slot",
            target_type="request",
            target_id=request_id,
            number=request.number,
        )
    return request


@intent("slots.offer", policy.SLOTS_PICK, target="request")
def offer(ctx: Context, actor: Actor, ref: str) -> Reply:
    payload = payloads.decode(ref)
    if payload.id is None:
        raise Refused("refusal.bad_payload")
    lang = actor.language
    with ctx.db.transaction() as session:
        request = _bookable(session, actor, payload.id, lock=False)
        consultant_ids = request_store.consultant_ids(session, payload.id)
        found = propose(session, ctx, request, consultant_ids, skip=(payload.page - 1) * PER_PAGE)
        place = municipality_name(session, request.municipality_id)
    if not found:
        return Reply((Text(t(lang, "slots.none", number=request.number), "error"),), ok=False)
    buttons = tuple(
        Button(
            "slots.pick",
            format_when(lang, at),
            payloads.encode(id=payload.id, at=at),
            "primary" if index == 0 else "default",
        )
        for index, at in enumerate(found)
    )
    more = Button(
        "slots.offer",
        t(lang, "button.more_slots"),
        payloads.encode(id=payload.id, page=payload.page + 1),
    )
    preferred = ", ".join(format_day(lang, date.fromisoformat(d)) for d in request.preferred_dates)
    return Reply(
        (
            Text(
                t(
                    lang,
                    "slots.intro",
                    number=request.number,
                    place=place if request.mode == Mode.VISIT else t(lang, "choice.mode.online"),
                    preferred=preferred or "-",
                )
            ),
            Buttons((*buttons, more)),
        ),
        data={"slots": [at.isoformat() for at in found]},
    )


@intent("slots.pick", policy.SLOTS_PICK, target="request")
def pick(ctx: Context, actor: Actor, ref: str) -> Reply:
    payload = payloads.decode(ref)
    if payload.id is None or payload.at is None:
        raise Refused("refusal.bad_payload")
    lang = actor.language
    starts_at = payload.at.astimezone(TOKYO)
    if starts_at.minute % GRID_MINUTES or starts_at.second or starts_at.microsecond:
        raise Refused("refusal.bad_payload")  # not a time this bot ever proposes
    with ctx.db.transaction() as session:
        request = _bookable(session, actor, payload.id, lock=True)
        if actor.role == Role.MUNICIPAL and starts_at.date() < earliest_day(ctx):
            raise Refused("refusal.slot_too_soon", target_type="request", target_id=request.id)
        minutes = ctx.rules.plan.consultation_minutes
        booked = reserve(
            session,
            ctx,
            actor,
            Slot(
                kind=SessionKind.CONSULTATION,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=minutes),
                mode=Mode(request.mode),
                municipality_ids=(request.municipality_id,),
                consultant_ids=tuple(request_store.consultant_ids(session, request.id or 0)),
                place=default_place(
                    session,
                    SessionKind.CONSULTATION,
                    Mode(request.mode),
                    [request.municipality_id],
                ),
                request_id=request.id,
            ),
        )
        where = invites.where_of(session, booked, lang)
    return Reply(
        (
            Text(
                t(
                    lang,
                    "booked",
                    kind=t(lang, "choice.session_kind.consultation"),
                    when=format_when(lang, starts_at),
                    where=where,
                ),
                "success",
            ),
        ),
        data={"session_id": booked.id, "request_id": request.id},
    )
