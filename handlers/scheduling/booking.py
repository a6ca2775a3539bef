"""R5–R7 booking: by hand, from a proposed slot or from a confirmed season plan, every
booking goes through `reserve`, which checks the calendar, the consultants' diaries and
the municipalities' sessions under row locks (`check_slot`); moving and cancelling go
through `move` and `cancel_session`.

The rules held there, whatever the entry point: no consultant and no municipality in two
overlapping live sessions (a joint session counts for every town in it; the results
meeting, which every town attends, is the exception), and one results meeting per
programme year. Row locks are always taken in one order — request → session →
consultants → municipalities — so two writers queue and never deadlock.

Every change bumps the session's SEQUENCE and queues calendar invites in the same
transaction, so what people's calendars show never runs ahead of what is stored."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from handlers.core import business_days, forms, payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context, Rules
from handlers.core.errors import Key, Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import format_when, join, t
from handlers.core.intents import intent
from handlers.core.lookups import (
    consultant_choices,
    more_items,
    municipality_choices,
    municipality_name,
    where_all,
)
from handlers.core.reply import Button, Field, ListItem, ListView, Reply, Text
from handlers.documents.era import fiscal_year_label
from handlers.intake import workflow
from handlers.scheduling import diary, invites
from handlers.scheduling.rules import bookable, is_results_meeting_day, occupies_towns, too_close
from handlers.scheduling.travel import TravelTable
from storage import audit, engagements, people, request_store, sessions
from storage.models import (
    Mode,
    Request,
    RequestKind,
    RequestState,
    Role,
    SessionKind,
    SessionStatus,
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
URL = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class Slot:
    """A session to be booked, before it has a row."""

    kind: SessionKind
    starts_at: datetime
    ends_at: datetime
    mode: Mode
    municipality_ids: tuple[int, ...]
    consultant_ids: tuple[int, ...]
    place: str | None = None
    meeting_url: str | None = None
    request_id: int | None = None
    engagement_id: int | None = None
    presenting: tuple[int, ...] = ()


def outside_hours(rules: Rules, starts_at: datetime, ends_at: datetime) -> bool:
    start, end = starts_at.astimezone(TOKYO), ends_at.astimezone(TOKYO)
    return (
        start.time() < rules.office_open
        or end.time() > rules.office_close
        or (end.date() != start.date())
    )


def calendar_refusal(ctx: Context, starts_at: datetime, ends_at: datetime) -> Refused | None:
    """The same calendar rules the booking form applies, for bookings made without it."""
    day = starts_at.astimezone(TOKYO).date()
    lang = ctx.rules.language
    if starts_at <= ctx.clock.now():
        return Refused("refusal.slot_past", field="date", when=format_when(lang, starts_at))
    if not business_days.in_contract(ctx.rules, day) or business_days.closed_reason(day):
        return Refused("refusal.slot_closed", field="date", when=format_when(lang, starts_at))
    if outside_hours(ctx.rules, starts_at, ends_at):
        return Refused(
            "refusal.slot_hours",
            field="start",
            open=f"{ctx.rules.office_open:%H:%M}",
            close=f"{ctx.rules.office_close:%H:%M}",
        )
    return None


def program_refusal(
    session: Session,
    ctx: Context,
    kind: str,
    engagement_id: int | None,
    starts_at: datetime,
    ignore_session_id: int | None = None,
    *,
    spacing: bool = False,
) -> Refused | None:
    """The programme's own rules (`handlers.scheduling.rules`, as the season planner keeps
    them): the results meeting is in March; and, with `spacing`, two sessions of one BPR
    engagement at least `min_gap_days` apart — what a municipality moving its own
    session must keep too (the prefecture places sessions as it judges)."""
    day = starts_at.astimezone(TOKYO).date()
    if kind == SessionKind.RESULTS_MEETING and not is_results_meeting_day(day):
        return Refused(
            "refusal.results_in_march",
            target_type="session",
            target_id=ignore_session_id,
            field="date",
        )
    if not spacing or kind != SessionKind.BPR or engagement_id is None:
        return None
    for other in engagements.bpr_sessions(session, engagement_id):  # joint ones too
        if other.id == ignore_session_id:
            continue
        other_day = other.starts_at.astimezone(TOKYO).date()
        if too_close(day, other_day, ctx.rules.min_gap_days):
            return Refused(
                "refusal.too_close",
                target_type="session",
                target_id=ignore_session_id,
                field="date",
                when=format_when(ctx.rules.language, other.starts_at),
                days=ctx.rules.min_gap_days,
            )
    return None


def unavailable(
    session: Session, language: str, conflict: diary.Conflict, target_id: int | None = None
) -> Refused:
    reason = t(
        language,
        conflict.key,
        when=format_when(language, conflict.when) if conflict.when else "",
    )
    return Refused(
        "refusal.unavailable",
        target_type="session",
        target_id=target_id,
        field="consultants",
        who=people.names(session, [conflict.person_id]).get(conflict.person_id, "?"),
        reason=reason,
    )


def municipality_refusals(
    session: Session, language: str, slot: Slot, moving: int | None = None
) -> list[Refused]:
    """One refusal per municipality of `slot` already in another live session at that
    time (joint sessions count for each town in them); none for the results meeting."""
    if not occupies_towns(slot.kind):
        return []
    clashes = sessions.municipality_clashes(
        session, slot.municipality_ids, slot.starts_at, slot.ends_at, ignore_session_id=moving
    )
    first: dict[int, SupportSession] = {}
    for municipality_id, other in clashes:
        first.setdefault(municipality_id, other)
    return [
        Refused(
            "refusal.municipality_busy",
            target_type="session",
            target_id=moving,
            field="date",
            municipality=municipality_name(session, municipality_id),
            when=format_when(language, other.starts_at),
            end=f"{other.ends_at.astimezone(TOKYO):%H:%M}",
            kind=Key(f"choice.session_kind.{other.kind}"),
        )
        for municipality_id, other in first.items()
    ]


def results_meeting_refusal(
    session: Session, ctx: Context, actor: Actor, slot: Slot, moving: int | None = None
) -> Refused | None:
    """A second results meeting in one programme year (April–March) is refused; the
    refusal offers moving the one there is, to those who may move it."""
    if slot.kind != SessionKind.RESULTS_MEETING:
        return None
    day = slot.starts_at.astimezone(TOKYO).date()
    start, end = business_days.fiscal_year_bounds(business_days.fiscal_year(day))
    others = [
        other
        for other in sessions.live_of_kind(session, SessionKind.RESULTS_MEETING, start, end)
        if other.id != moving
    ]
    if not others:
        return None
    other = others[0]
    lang = actor.language
    buttons = (
        (
            Button(
                "session.move.form",
                t(lang, "button.move_results_meeting"),
                payloads.encode(id=other.id),
                "primary",
            ),
        )
        if may_change(ctx, actor, other)
        else ()
    )
    return Refused(
        "refusal.results_meeting_exists",
        target_type="session",
        target_id=other.id,
        buttons=buttons,
        year=fiscal_year_label(lang, day),
        when=format_when(lang, other.starts_at),
    )


def _lock_municipalities(session: Session, slot: Slot) -> None:
    """The slot's towns (every town for a results meeting: two of those queue too)."""
    if slot.kind == SessionKind.RESULTS_MEETING:
        people.lock_municipalities(session, [m.id or 0 for m in people.municipalities(session)])
    else:
        people.lock_municipalities(session, slot.municipality_ids)


def lead_missing(session: Session, kind: str, consultant_ids: Sequence[int]) -> bool:
    """§3.2: the lead consultant attends every office day. Held where any office day is
    written (`check_slot`: the form, the planner's confirm, a move) and told early by the
    booking form."""
    if kind != SessionKind.OFFICE_DAY:
        return False
    leads = {p.id for p in people.listing(session, Role.CONSULTANT) if p.is_lead}
    return bool(leads) and not leads & set(consultant_ids)


def unbookable(session: Session, consultant_ids: Sequence[int], moving: int | None) -> list[str]:
    """The names (or ids) of those in `consultant_ids` no session may be booked with: not
    an active consultant. Held where a session is written (`check_slot`), because a season
    plan drafted on Monday is confirmed on Friday: someone deactivated, or merged into
    their twin, in between would be booked though nobody can tell them. A session being
    moved keeps whom it already has."""
    kept = set(sessions.consultant_ids(session, moving)) if moving else set()
    found = people.by_ids(session, consultant_ids)
    return [
        found[pid].name if pid in found else f"#{pid}"
        for pid in consultant_ids
        if pid not in kept and not bookable(found.get(pid))
    ]


def check_slot(
    session: Session,
    ctx: Context,
    actor: Actor,
    slot: Slot,
    *,
    moving: int | None = None,
    by_municipality: bool = False,
    diaries: dict[int, diary.Diary] | None = None,
    travel: TravelTable | None = None,
) -> tuple[dict[int, diary.Diary], int | None]:
    """Raise `Refused` unless the calendar, the programme's rules (one results meeting a
    year), every consultant's diary (travel included) and every municipality's sessions
    allow `slot`; else (the diaries checked, the slot's site). A consultant's clash and
    the towns' clashes are raised together (`Refused.also`), so a form shows them all.

    `moving` is the session being moved to `slot` (left out of the diaries and the
    towns' sessions, named by the refusals); `by_municipality`, a municipality moving
    its own session: the BPR spacing is kept and the notice period required.

    Locks, in the order every writer keeps (request → session → consultants →
    municipalities; the request and the session are the caller's): the consultants'
    rows before their diaries are read (unless the caller passes `diaries` loaded
    under those locks already), then the slot's municipalities (every one for a results
    meeting) before their sessions are read."""
    refusal = calendar_refusal(ctx, slot.starts_at, slot.ends_at) or program_refusal(
        session,
        ctx,
        slot.kind,
        slot.engagement_id,
        slot.starts_at,
        moving,
        spacing=by_municipality,
    )
    if refusal is not None:
        raise refusal
    if by_municipality:
        _require_notice(ctx, slot.starts_at, moving)
    people.lock(session, slot.consultant_ids)
    _lock_municipalities(session, slot)
    refusal = results_meeting_refusal(session, ctx, actor, slot, moving)
    if refusal is not None:
        raise refusal
    if lead_missing(session, slot.kind, slot.consultant_ids):
        raise Refused(
            "refusal.lead_required", field="consultants", target_type="session", target_id=moving
        )
    gone = unbookable(session, slot.consultant_ids, moving)
    if gone:
        raise Refused(
            "refusal.consultant_unbookable",
            field="consultants",
            target_type="session",
            target_id=moving,
            names=join(actor.language, gone),
        )
    day = slot.starts_at.astimezone(TOKYO).date()
    if diaries is None:
        diaries = diary.load(session, slot.consultant_ids, day, day, ignore_session_id=moving)
    travel = travel or diary.travel_table(session)
    site = diary.site_of(slot.kind, slot.mode, slot.municipality_ids)
    chosen = {pid: diaries[pid] for pid in slot.consultant_ids}
    conflict = diary.first_conflict(chosen, travel, slot.starts_at, slot.ends_at, site)
    found = [unavailable(session, actor.language, conflict, moving)] if conflict else []
    found += municipality_refusals(session, actor.language, slot, moving)
    if found:
        found[0].also = tuple(found[1:])
        raise found[0]
    return diaries, site


def reserve(
    session: Session,
    ctx: Context,
    actor: Actor,
    slot: Slot,
    *,
    diaries: dict[int, diary.Diary] | None = None,
    travel: TravelTable | None = None,
) -> SupportSession:
    """Book `slot` in the caller's transaction, or raise `Refused` with nothing written.

    Consultants' rows are locked first, then the municipalities' (`check_slot`), so two
    bookings of one consultant or one town queue and the second sees the first (on
    PostgreSQL as on SQLite). Callers booking many slots in one transaction take those
    locks for all of them first, in the same order, and pass the diaries they loaded
    once."""
    diaries, site = check_slot(session, ctx, actor, slot, diaries=diaries, travel=travel)
    now = ctx.clock.now()
    booked = sessions.add(
        session,
        SupportSession(
            kind=slot.kind,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            mode=slot.mode,
            place=slot.place,
            meeting_url=slot.meeting_url,
            request_id=slot.request_id,
            engagement_id=slot.engagement_id,
            uid=f"{uuid.uuid4()}@dxdesk",
            created_by_id=actor.id,
            created_at=now,
        ),
        slot.municipality_ids,
        slot.consultant_ids,
        presenting=slot.presenting,
    )
    diary.book_into(diaries, slot.consultant_ids, booked, site)
    if slot.request_id is not None:
        request = request_store.get(session, slot.request_id)
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
            "kind": slot.kind,
            "starts_at": slot.starts_at.isoformat(),
            "municipalities": list(slot.municipality_ids),
            "consultants": list(slot.consultant_ids),
        },
    )
    invites.queue_invites(session, booked, "REQUEST", now)
    return booked


def default_place(
    session: Session, kind: SessionKind, mode: Mode, municipality_ids: Sequence[int]
) -> str | None:
    """Where a visit happens unless someone says otherwise: the municipal office, or the
    prefectural office for office days."""
    if mode != Mode.VISIT:
        return None
    if kind == SessionKind.OFFICE_DAY or not municipality_ids:
        return PREFECTURAL_OFFICE
    return municipality_name(session, municipality_ids[0])


def _choices(session: Session, language: str) -> dict[str, Any]:
    return {
        "municipalities": municipality_choices(session),
        "consultants": consultant_choices(session, language),
    }


@intent("session.book.form", policy.SESSION_BOOK)
def book_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    values: dict[str, Any] = {
        "session_kind": "consultation",
        "start": "10:00",
        "minutes": 120,
        "mode": "visit",
    }
    with ctx.db.transaction() as session:
        request_id = payloads.decode(ref).id
        if request_id and (request := request_store.get(session, request_id)):
            values |= {
                "request_number": request.number,
                "mode": request.mode,
                "consultants": [str(i) for i in request_store.consultant_ids(session, request_id)],
            }
        choices = _choices(session, actor.language)
    return Reply((forms.build(BOOK, actor.language, values=values, choices=choices),))


@intent("session.book", policy.SESSION_BOOK)
def book(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """Book by hand. Every problem comes back at once, next to its field, with what was
    typed kept: the form's own checks, the programme's, and a clash found under the
    locks (a consultant or a town already booked, travel, a closed day)."""
    lang = actor.language
    with ctx.db.transaction() as session:
        form = forms.Submission(ctx, actor, BOOK, values, choices=_choices(session, lang))
        slot = _booking(session, ctx, form)
        form.done()
        assert slot is not None  # the form had no errors, so it made a slot
        with form.refusals():
            booked = reserve(session, ctx, actor, slot)
        where = invites.where_of(session, booked, lang)
    return Reply(
        (
            Text(
                t(
                    lang,
                    "booked",
                    kind=t(lang, f"choice.session_kind.{slot.kind.value}"),
                    when=format_when(lang, slot.starts_at),
                    where=where,
                ),
                "success",
            ),
        ),
        data={"session_id": booked.id, "request_id": slot.request_id},
    )


def _booking(session: Session, ctx: Context, form: forms.Submission) -> Slot | None:
    """The slot the booking form asks for, each problem noted on its field; None when
    the form lacks something a slot needs (then it has errors)."""
    clean = form.clean
    starts_at: datetime | None = None
    if form.has("start", "minutes"):  # the hours hold whatever the day, even a bad one
        day = clean["date"] if form.has("date") else ctx.clock.now().date()
        starts_at = datetime.combine(day, clean["start"], TOKYO)
        _check_time(ctx, form, starts_at, starts_at + timedelta(minutes=clean["minutes"]))
    if not form.has("session_kind"):
        return None
    kind = SessionKind(clean["session_kind"])
    municipality_ids = [int(v) for v in clean.get("municipalities") or []]
    consultant_ids = [int(v) for v in clean.get("consultants") or []]
    request: Request | None = None
    engagement_id: int | None = None
    if kind == SessionKind.CONSULTATION:
        request = _bookable_request(session, form)
        if request is not None:
            municipality_ids = [request.municipality_id, *municipality_ids]
    elif kind == SessionKind.BPR:
        engagement_id = _engagement_of(session, form, municipality_ids)
    elif kind == SessionKind.OFFICE_DAY and form.has("consultants"):
        if lead_missing(session, kind, consultant_ids):  # told at once with the other fields
            form.fail("consultants", "error.lead_required")
    elif kind == SessionKind.RESULTS_MEETING:
        if form.has("date") and not is_results_meeting_day(clean["date"]):
            form.fail("date", "error.results_in_march")
        municipality_ids = [m.id or 0 for m in people.municipalities(session)]  # all invited
    mode = Mode.ONLINE if kind == SessionKind.RESULTS_MEETING else None
    if mode is None and form.has("mode"):
        mode = Mode(clean["mode"])
    url = clean.get("meeting_url")
    if url and not URL.match(url):
        form.fail("meeting_url", "error.bad_url")
    if mode == Mode.ONLINE and not url:
        form.fail("meeting_url", "error.required")
    if starts_at is None or mode is None or form.errors:
        return None
    place = clean.get("place") or default_place(session, kind, mode, municipality_ids)
    return Slot(
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=clean["minutes"]),
        mode=mode,
        municipality_ids=tuple(municipality_ids),
        consultant_ids=tuple(consultant_ids),
        place=place if mode == Mode.VISIT else None,
        meeting_url=url if mode == Mode.ONLINE else None,
        request_id=request.id if request else None,
        engagement_id=engagement_id,
    )


def _check_time(
    ctx: Context, form: forms.Submission, starts_at: datetime, ends_at: datetime
) -> None:
    if outside_hours(ctx.rules, starts_at, ends_at):
        form.fail(
            "start",
            "error.office_hours",
            open=f"{ctx.rules.office_open:%H:%M}",
            close=f"{ctx.rules.office_close:%H:%M}",
        )
    if form.has("date") and starts_at <= ctx.clock.now():
        form.fail("start", "error.date_past", value=format_when(form.language, starts_at))


def _bookable_request(session: Session, form: forms.Submission) -> Request | None:
    """The consultation request the form names (locked: its state is about to change),
    if it is one that can be booked."""
    number = form.clean.get("request_number") or ""
    request = request_store.by_number(session, number, lock=True)
    if request is None:
        form.fail("request_number", "error.no_such_request" if number else "error.required")
        return None
    if request.kind != RequestKind.CONSULTATION or request.state not in (
        RequestState.APPROVED,
        RequestState.SCHEDULED,
    ):
        form.fail(
            "request_number",
            "error.request_not_bookable",
            number=request.number,
            state=t(form.language, f"state.{request.state}"),
        )
        return None
    return request


def _engagement_of(
    session: Session, form: forms.Submission, municipality_ids: Sequence[int]
) -> int | None:
    """The BPR engagement of the first of the towns; every town must have one."""
    if not municipality_ids and form.has("municipalities"):
        form.fail("municipalities", "error.required")
    engagement_id: int | None = None
    for municipality_id in municipality_ids:
        engagement = engagements.by_municipality(session, municipality_id)
        if engagement is None:
            form.fail(
                "municipalities",
                "error.not_engaged",
                municipality=municipality_name(session, municipality_id),
            )
        elif engagement_id is None:
            engagement_id = engagement.id
    return engagement_id


@intent("session.list", policy.SESSION_VIEW)
def upcoming(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """The next sessions this actor is part of (all of them for the prefecture)."""
    lang = actor.language
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        every = sessions.listing(
            session,
            start=now - timedelta(hours=12),
            consultant_id=actor.id if actor.role == Role.CONSULTANT else None,
            municipality_id=actor.municipality_id if actor.role == Role.MUNICIPAL else None,
        )
        rows = every[:UPCOMING_SHOWN]
        ids = [s.id or 0 for s in rows]
        places = sessions.municipalities_of_sessions(session, ids)
        teams = sessions.consultants_of_sessions(session, ids)
        items = tuple(
            ListItem(
                title=f"{format_when(lang, s.starts_at)} "
                f"{t(lang, f'choice.session_kind.{s.kind}')}",
                fields=(
                    Field(
                        t(lang, "field.municipalities"),
                        join(
                            lang,
                            (municipality_name(session, m) for m in places[s.id or 0]),
                        )
                        or "-",
                    ),
                    Field(t(lang, "field.place"), s.place or s.meeting_url or "-"),
                    Field(
                        t(lang, "field.consultants"),
                        join(
                            lang,
                            people.names(session, teams[s.id or 0]).values(),
                        ),
                    ),
                ),
                buttons=change_buttons(ctx, actor, s, teams[s.id or 0]),
            )
            for s in rows
        )
    more = more_items(lang, len(every), where_all(lang, ctx.rules.desk_url), shown=UPCOMING_SHOWN)
    return Reply(
        (
            ListView(
                t(lang, "list.sessions.title"),
                (*items, *more),
                1,
                1,
                t(lang, "list.sessions.empty"),
            ),
        )
    )


UPCOMING_SHOWN = 20  # the rest is counted (「ほか N 件」), with where to see them all


MOVE = FormSpec(
    "session.move",
    "form.move.title",
    (
        FieldSpec("date", "date", future_only=True, business_day=True),
        FieldSpec("start", "time", hint=True),
        FieldSpec("reason", required=False, max_length=200),
    ),
)
CANCEL = FormSpec(
    "session.cancel",
    "form.cancel_session.title",
    (FieldSpec("reason", "textarea", max_length=500),),
)
CHANGEABLE_BY_MUNICIPALITY = (SessionKind.BPR, SessionKind.CONSULTATION)


def notice_deadline(rules: Rules, day: date) -> date:
    """The last day on which the municipality may still move or cancel a session on `day`."""
    return business_days.add_business_days(day, -rules.min_notice_business_days)


def _changeable(session: Session, ctx: Context, actor: Actor, session_id: int) -> SupportSession:
    """The session, locked, if `actor` may change it now; otherwise `Refused`."""
    return _change_target(session, ctx, actor, session_id)[0]


def _change_target(
    session: Session, ctx: Context, actor: Actor, session_id: int
) -> tuple[SupportSession, list[int] | None]:
    """(the session, locked; its municipalities if they were read: for a municipal
    actor) if `actor` may change it now; otherwise `Refused`. The role was checked by the
    intent's declaration (`policy.SESSION_CHANGE`); a town's staff change only a session
    their town is in.

    Its request (if any) is locked first: cancelling a request locks the request and then
    its sessions, so taking them in the same order here means the two never deadlock."""
    peek = sessions.get(session, session_id)
    if peek is not None and peek.request_id is not None:
        request_store.get(session, peek.request_id, lock=True)
    booked = sessions.get(session, session_id, lock=True)
    if booked is None or booked.status != SessionStatus.BOOKED:
        raise Refused("refusal.no_such_session", target_type="session", target_id=session_id)
    if booked.starts_at <= ctx.clock.now():
        raise Refused("refusal.session_started", target_type="session", target_id=session_id)
    if not policy.binds(actor, policy.SESSION_CHANGE, policy.Owner.TOWN):
        return booked, None  # the prefecture changes any session, whenever it must
    places = sessions.municipality_ids(session, session_id)
    policy.owns(
        actor,
        policy.SESSION_CHANGE,
        municipality_id=actor.municipality_id if actor.municipality_id in places else 0,
        target_type="session",
        target_id=session_id,
    )
    if booked.kind not in CHANGEABLE_BY_MUNICIPALITY:
        raise Refused("refusal.not_allowed", target_type="session", target_id=session_id)
    _require_notice(ctx, booked.starts_at, session_id)
    return booked, places


def _require_notice(ctx: Context, starts_at: datetime, session_id: int | None) -> None:
    deadline = notice_deadline(ctx.rules, starts_at.astimezone(TOKYO).date())
    if ctx.clock.now().date() > deadline:
        raise Refused(
            "refusal.too_late_to_change",
            target_type="session",
            target_id=session_id,
            field="date",
            days=ctx.rules.min_notice_business_days,
        )


def _summary(session: Session, language: str, booked: SupportSession) -> dict[str, Any]:
    return {
        "kind": t(language, f"choice.session_kind.{booked.kind}"),
        "when": format_when(language, booked.starts_at),
        "where": invites.where_of(session, booked, language),
    }


@intent("session.move.form", policy.SESSION_CHANGE, target="session")
def move_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    session_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        booked = _changeable(session, ctx, actor, session_id)
        local = booked.starts_at.astimezone(TOKYO)
        title = _summary(session, actor.language, booked)
    form = forms.build(
        MOVE,
        actor.language,
        values={"date": local.date().isoformat(), "start": f"{local:%H:%M}"},
        context=ref,
        title_params=title,
    )
    return Reply((form,))


@intent("session.move", policy.SESSION_CHANGE, target="session")
def move(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Move a session; the consultants' diaries are checked as for a new booking."""
    session_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        booked, places = _change_target(session, ctx, actor, session_id)
        form = forms.Submission(
            ctx,
            actor,
            MOVE,
            values,
            context=ref,
            title_params=_summary(session, lang, booked),
            fallback="date",  # a consultant's clash, a town's: this form's answer is the date
        )
        clean = form.done()
        starts_at = datetime.combine(clean["date"], clean["start"], TOKYO)
        ends_at = starts_at + (booked.ends_at - booked.starts_at)
        if places is None:
            places = sessions.municipality_ids(session, session_id)
        slot = Slot(
            kind=SessionKind(booked.kind),
            starts_at=starts_at,
            ends_at=ends_at,
            mode=Mode(booked.mode),
            municipality_ids=tuple(places),
            consultant_ids=tuple(sessions.consultant_ids(session, session_id)),
            engagement_id=booked.engagement_id,
        )
        with form.refusals():
            if starts_at == booked.starts_at:
                raise Refused(
                    "refusal.nothing_changed",
                    target_type="session",
                    target_id=session_id,
                    field="date",
                )
            check_slot(
                session,
                ctx,
                actor,
                slot,
                moving=session_id,
                by_municipality=policy.binds(actor, policy.SESSION_CHANGE, policy.Owner.TOWN),
            )
        before = {"starts_at": booked.starts_at.isoformat(), "sequence": booked.sequence}
        booked.starts_at, booked.ends_at = starts_at, ends_at
        revise(
            session,
            booked,
            actor_id=actor.id,
            now=ctx.clock.now(),
            action="session.move",
            before=before,
            after={"starts_at": starts_at.isoformat(), "reason": clean.get("reason")},
        )
        summary = _summary(session, lang, booked)
    return Reply(
        (Text(t(lang, "session.moved", **summary), "success"),), data={"session_id": session_id}
    )


@intent("session.cancel.form", policy.SESSION_CHANGE, target="session")
def cancel_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    session_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        booked = _changeable(session, ctx, actor, session_id)
        title = _summary(session, actor.language, booked)
    return Reply((forms.build(CANCEL, actor.language, context=ref, title_params=title),))


@intent("session.cancel", policy.SESSION_CHANGE, target="session")
def cancel_session(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Cancel a session; its request (if any) goes back to approved to be booked again."""
    session_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        booked = _changeable(session, ctx, actor, session_id)
        clean = forms.Submission(
            ctx, actor, CANCEL, values, context=ref, title_params=_summary(session, lang, booked)
        ).done()
        now = ctx.clock.now()
        withdraw(session, booked, actor_id=actor.id, now=now, reason=clean["reason"])
        if booked.request_id is not None:
            request = request_store.get(session, booked.request_id)  # locked by _changeable
            live = sessions.listing(session, request_id=booked.request_id)
            if request is not None and request.state == RequestState.SCHEDULED and not live:
                workflow.transition(
                    session,
                    request,
                    RequestState.APPROVED,
                    actor_id=actor.id,
                    now=now,
                    action="request.unschedule",
                    after={"cancelled_session_id": session_id},
                )
        summary = _summary(session, lang, booked)
    return Reply(
        (Text(t(lang, "session.cancelled", **summary), "success"),), data={"session_id": session_id}
    )


DETAILS = FormSpec(
    "session.details",
    "form.details.title",
    (
        FieldSpec("place", required=False, max_length=200),
        FieldSpec("meeting_url", required=False, max_length=500, hint=True),
    ),
)


def _editable(session: Session, actor: Actor, session_id: int) -> SupportSession:
    booked = sessions.get(session, session_id, lock=True)
    if booked is None or booked.status != SessionStatus.BOOKED:
        raise Refused("refusal.no_such_session", target_type="session", target_id=session_id)
    policy.owns(
        actor,
        policy.SESSION_DETAILS,
        assigned=sessions.consultant_ids(session, session_id),
        target_type="session",
        target_id=session_id,
    )
    return booked


@intent("session.details.form", policy.SESSION_DETAILS, target="session")
def details_form(ctx: Context, actor: Actor, ref: str) -> Reply:
    session_id = payloads.require_id(ref)
    with ctx.db.transaction() as session:
        booked = _editable(session, actor, session_id)
        values = {"place": booked.place, "meeting_url": booked.meeting_url}
        title = _summary(session, actor.language, booked)
    return Reply(
        (forms.build(DETAILS, actor.language, values=values, context=ref, title_params=title),)
    )


@intent("session.details", policy.SESSION_DETAILS, target="session")
def details(ctx: Context, actor: Actor, ref: str, values: dict[str, Any]) -> Reply:
    """Where, or the link of an online session (known only after booking, often): a
    change is a change to the event, so its invites go out again."""
    session_id = payloads.require_id(ref)
    lang = actor.language
    with ctx.db.transaction() as session:
        booked = _editable(session, actor, session_id)
        form = forms.Submission(
            ctx,
            actor,
            DETAILS,
            values,
            context=ref,
            title_params=_summary(session, lang, booked),
        )
        url, place = form.clean.get("meeting_url"), form.clean.get("place")
        if url and not URL.match(url):
            form.fail("meeting_url", "error.bad_url")
        if booked.mode == Mode.ONLINE and not url:
            form.fail("meeting_url", "error.required")
        if booked.mode == Mode.VISIT and not place:
            form.fail("place", "error.required")
        form.done()
        before = {"place": booked.place, "meeting_url": booked.meeting_url}
        after = {"place": place, "meeting_url": url}
        with form.refusals():
            if before == after:
                raise Refused(
                    "refusal.details_unchanged",
                    target_type="session",
                    target_id=session_id,
                    field="meeting_url" if booked.mode == Mode.ONLINE else "place",
                )
        booked.place, booked.meeting_url = place, url
        revise(
            session,
            booked,
            actor_id=actor.id,
            now=ctx.clock.now(),
            action="session.details",
            before=before,
            after=after,
        )
        summary = _summary(session, lang, booked)
    return Reply((Text(t(lang, "session.updated", **summary), "success"),))


def withdraw(
    session: Session, booked: SupportSession, *, actor_id: int, now: datetime, reason: str
) -> None:
    """Cancel one session — on its own, or with its request: audited, and everyone's
    calendar told (METHOD:CANCEL with a higher SEQUENCE)."""
    booked.status = SessionStatus.CANCELLED
    revise(
        session,
        booked,
        actor_id=actor_id,
        now=now,
        action="session.cancel",
        before={"status": SessionStatus.BOOKED},
        after={"status": SessionStatus.CANCELLED, "reason": reason},
        method="CANCEL",
    )


def revise(
    session: Session,
    booked: SupportSession,
    *,
    actor_id: int,
    now: datetime,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    method: invites.Method = "REQUEST",
) -> None:
    """A change to a booked event, already applied to `booked`: one more SEQUENCE, the
    audit entry, and the updated invite (or the CANCEL) to everyone concerned."""
    booked.sequence += 1
    session.add(booked)
    session.flush()
    audit.record(
        session,
        at=now,
        actor_id=actor_id,
        action=action,
        target_type="session",
        target_id=booked.id,
        before=before,
        after={**after, "sequence": booked.sequence},
    )
    invites.queue_invites(session, booked, method, now)  # everyone concerned hears of it


def may_change(ctx: Context, actor: Actor, booked: SupportSession) -> bool:
    """Whether to offer the buttons; pressing them checks again (`_changeable`)."""
    if not policy.allowed(actor, move) or booked.starts_at <= ctx.clock.now():
        return False
    if not policy.binds(actor, policy.SESSION_CHANGE, policy.Owner.TOWN):
        return True
    deadline = notice_deadline(ctx.rules, booked.starts_at.astimezone(TOKYO).date())
    return booked.kind in CHANGEABLE_BY_MUNICIPALITY and ctx.clock.now().date() <= deadline


def change_buttons(
    ctx: Context, actor: Actor, booked: SupportSession, consultant_ids: Sequence[int]
) -> tuple[Button, ...]:
    """The buttons a person may press on one of their sessions (pressing checks again)."""
    ref = payloads.encode(id=booked.id)
    buttons = []
    if may_change(ctx, actor, booked):
        buttons += [
            Button("session.move.form", t(actor.language, "button.move"), ref),
            Button(
                "session.cancel.form", t(actor.language, "button.cancel_session"), ref, "danger"
            ),
        ]
    if booked.starts_at > ctx.clock.now() and policy.holds(
        actor, policy.SESSION_DETAILS, assigned=consultant_ids
    ):
        buttons.append(Button("session.details.form", t(actor.language, "button.details"), ref))
    return tuple(buttons)
