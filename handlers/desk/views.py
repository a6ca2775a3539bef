"""What the prefecture's desk in the browser shows (issue #19): one function per page
gathering plain data for its template, under the same policy as chat.

Why a module of its own: the pages are read-only views over the record (every decision
a page offers posts to the chat's own intents), and each view must cost a fixed number
of queries whatever the season's size — the rows are read in batches here (storage.desk),
never one query per row. Counts come from quotas.figures/by_month only.

Who sees what (R16, handlers.core.policy): municipal staff only their own town, consultants
the towns they serve, the prefecture (and the administrator) everything. A view refused
is audited like a refused intent (`viewed`)."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from handlers.core import forms, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import format_when, t
from handlers.core.intents import record_refusal, refused_by_rule, target_of
from handlers.core.lookups import consultant_choices, municipality_choices
from handlers.core.reply import Choice, Form
from handlers.documents import build, model
from handlers.fieldwork import reminders
from handlers.fieldwork.engagements import done_days
from handlers.fieldwork.logs import OVERDUE_AFTER_DAYS
from handlers.intake import decision
from handlers.people import roster
from handlers.planning import quotas
from handlers.scheduling import diary, feeds
from storage import audit, desk, engagements, people, sessions
from storage import logs as storage_logs
from storage import request_store as requests
from storage.desk import AuditFilter as AuditFilter  # read from here by the desk's pages
from storage.models import (
    EngagementStep,
    Municipality,
    Person,
    SessionStatus,
    SupportSession,
)
from storage.models import Role as Role  # read from here by the desk's pages
from storage.rules import Broken

P = ParamSpec("P")
R = TypeVar("R")
AUDIT_SHOWN = 200  # entries on the audit page; the export has them all
PENDING_SHOWN = 20  # approvals on the dashboard; the chat queue pages the rest


def viewed(
    name: str, *needs: policy.Permission, target: str | None = None
) -> Callable[[Callable[Concatenate[Context, Actor, P], R]], Any]:
    """A view declared as `handlers.core.intents.intent` declares an intent (its name, the
    permissions it needs, checked before it runs), whose refusal is audited under `name`
    and passed on for the page to show."""
    declared = policy.Declaration(name, needs, target)

    def decorate(function: Callable[Concatenate[Context, Actor, P], R]) -> Any:
        @functools.wraps(function)
        def run(ctx: Context, actor: Actor, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                policy.permit(actor, declared, target_of(declared, args))
                return function(ctx, actor, *args, **kwargs)
            except (Refused, Broken) as error:
                refusal = error if isinstance(error, Refused) else refused_by_rule(error)
                if refusal.audit:
                    record_refusal(ctx, actor, name, refusal)
                raise refusal from None

        run.declaration = declared  # type: ignore[attr-defined]
        return run

    return decorate


# -- who sees which towns ------------------------------------------------------------
def towns_of(session: Session, actor: Actor) -> frozenset[int] | None:
    """The municipalities `actor` may look at: None for every one."""
    if actor.role == Role.MUNICIPAL:
        return frozenset({actor.municipality_id or 0})
    if actor.role == Role.CONSULTANT:
        return frozenset(desk.towns_served(session, actor.id))
    return None


def require_town(
    session: Session, actor: Actor, permission: policy.Permission, municipality_id: int
) -> None:
    """`policy.owns` for one town, with a consultant limited to the towns they serve."""
    policy.owns(
        actor,
        permission,
        municipality_id=municipality_id,
        served=towns_of(session, actor),
        target_type="municipality",
        target_id=municipality_id,
    )


# -- sessions as shown ---------------------------------------------------------------
@dataclass(frozen=True)
class SessionItem:
    id: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    mode: str
    status: str
    held: bool
    town_ids: tuple[int, ...]
    towns: str
    consultants: str
    place: str | None = None


def session_items(
    session: Session, language: str, rows: Sequence[SupportSession], now: datetime
) -> list[SessionItem]:
    """Sessions with their towns and consultants named: two queries for any number."""
    ids = [r.id or 0 for r in rows]
    towns = sessions.municipalities_of_sessions(session, ids)
    consultants = sessions.consultants_of_sessions(session, ids)
    town_names = people.municipality_names(session)
    names = people.names(session, sorted({p for found in consultants.values() for p in found}))
    separator = t(language, "format.list_separator")
    return [
        SessionItem(
            id=r.id or 0,
            kind=r.kind,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            mode=r.mode,
            status=_status(r, now),
            held=sessions.counts_as_held(r.status, r.starts_at, now),
            town_ids=tuple(towns[r.id or 0]),
            towns=separator.join(town_names.get(m, "?") for m in towns[r.id or 0]),
            consultants=separator.join(names.get(p, "?") for p in consultants[r.id or 0]),
            place=r.place,
        )
        for r in rows
    ]


def _status(row: SupportSession, now: datetime) -> str:
    """The one status vocabulary: cancelled, held (begun) or booked."""
    if row.status == SessionStatus.CANCELLED:
        return SessionStatus.CANCELLED
    held = sessions.counts_as_held(row.status, row.starts_at, now)
    return SessionStatus.HELD if held else SessionStatus.BOOKED


# -- the dashboard -------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    held_y: float
    held_height: float
    booked_y: float
    booked_height: float
    label: str
    held: int
    booked: int


@dataclass(frozen=True)
class Chart:
    """One programme's season, drawn on the server as SVG (templates/desk/chart.j2):
    bars of held and booked per month; the cumulative held so far (solid) against the
    plan's even pace (dotted); from today, the projection to the year-end total
    (dashed, ending in a labelled dot) into the tolerance band around the plan (the
    shaded band, labelled); both axes titled, months in the reader's language."""

    kind: str
    width: int
    height: int
    top: float
    bottom: float
    left: float
    right: float
    bars: list[Bar]
    pace_points: str  # the even pace to plan, cumulative (polyline points)
    held_points: str  # held so far, cumulative, up to today
    band_y: float
    band_height: float
    plan_y: float
    today_x: float
    today_y: float  # the held total now: where the projection starts
    projection_y: float
    ticks: list[tuple[float, int]]  # (y, value)
    labels: dict[str, str]  # worded: plan, band, projection, axes, today
    row: quotas.QuotaRow
    months: list[tuple[str, int, int]]  # label, held, booked (the table under the chart)


WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 680, 300, 52, 128, 20, 48


def contract_months(ctx: Context) -> list[date]:
    first = ctx.rules.contract_start.replace(day=1)
    months = []
    while first <= ctx.rules.contract_end:
        months.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return months


def chart(
    ctx: Context, language: str, row: quotas.QuotaRow, monthly: dict[date, sessions.Tally]
) -> Chart:
    months = contract_months(ctx)
    today = ctx.clock.now().astimezone(TOKYO).date()
    low, high = row.plan * (1 - row.tolerance), row.plan * (1 + row.tolerance)
    top_value = max(high, row.projected, float(row.held + row.booked), 1.0) * 1.05
    scale = (HEIGHT - TOP - BOTTOM) / top_value
    base = HEIGHT - BOTTOM

    def y(value: float) -> float:
        return round(base - value * scale, 1)

    step = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    bars, pace, held = [], [f"{LEFT},{base}"], [f"{LEFT},{base}"]
    running = 0
    for index, month in enumerate(months):
        found = monthly.get(month, sessions.Tally())
        x = LEFT + index * step
        bars.append(_bar(language, month, found, x, step, base, scale))
        end = min((month + timedelta(days=32)).replace(day=1), ctx.rules.contract_end)
        pace.append(f"{round(x + step, 1)},{y(row.plan * quotas.elapsed_share(ctx.rules, end))}")
        running += found.held
        if end <= today:
            held.append(f"{round(x + step, 1)},{y(running)}")
    today_x = round(LEFT + _months_elapsed(months, today) * step, 1)
    if LEFT < today_x < WIDTH - RIGHT:
        held.append(f"{today_x},{y(row.held)}")
    words = {
        "plan": t(language, "page.chart.plan_label", count=row.plan),
        "band": t(language, "page.chart.band_label", low=_number(low), high=_number(high)),
        "projection": t(language, "page.chart.projection_label", count=f"{row.projected:.0f}"),
        "axis_y": t(language, "page.chart.axis_y"),
        "axis_x": t(language, "page.chart.axis_x"),
        "today": t(language, "page.chart.today"),
    }
    return Chart(
        kind=row.kind,
        width=WIDTH,
        height=HEIGHT,
        top=TOP,
        bottom=base,
        left=LEFT,
        right=WIDTH - RIGHT,
        bars=bars,
        pace_points=" ".join(pace),
        held_points=" ".join(held),
        band_y=y(high),
        band_height=round((high - low) * scale, 1),
        plan_y=y(row.plan),
        today_x=min(max(today_x, LEFT), WIDTH - RIGHT),
        today_y=y(row.held),
        projection_y=y(row.projected),
        ticks=[(y(v), v) for v in _ticks(top_value)],
        labels=words,
        row=row,
        months=[(b.label, b.held, b.booked) for b in bars],
    )


def _bar(
    language: str, month: date, found: sessions.Tally, x: float, step: float, base: float,
    scale: float,
) -> Bar:  # fmt: skip
    held_height, booked_height = found.held * scale, found.booked * scale
    return Bar(
        x=round(x + step * 0.2, 1),
        width=round(step * 0.6, 1),
        held_y=round(base - held_height, 1),
        held_height=round(held_height, 1),
        booked_y=round(base - held_height - booked_height, 1),
        booked_height=round(booked_height, 1),
        label=t(language, "page.chart.month", month=month.month),
        held=found.held,
        booked=found.booked,
    )


def _months_elapsed(months: list[date], today: date) -> float:
    """Where today falls on the month axis (0 at the first month's start)."""
    for index, month in enumerate(months):
        following = (month + timedelta(days=32)).replace(day=1)
        if today < following:
            if today < month:
                return float(index)
            return index + (today - month).days / (following - month).days
    return float(len(months))


def _number(value: float) -> str:
    """A bound of the tolerance band: whole when it is (64), else to a tenth (0.8 of a
    plan of 1, which rounding would show as 「1〜1回」)."""
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _ticks(top_value: float) -> list[int]:
    """Round values up the axis: 0 and a few steps of 1, 2 or 5 × 10ⁿ."""
    for unit in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top_value / unit <= 6:
            return list(range(0, int(top_value) + 1, unit))
    return [0, int(top_value)]


@dataclass(frozen=True)
class Pending:
    id: int
    number: str
    kind: str
    state: str
    town: str
    topic: str
    description: str
    submitted: datetime
    forms: tuple[Form, ...]  # approve, decline, ask: the chat's own forms


@dataclass(frozen=True)
class Owing:
    item: SessionItem
    paper: str  # "log" or "minutes"
    days: int


@dataclass(frozen=True)
class Dashboard:
    charts: list[Chart]
    warnings: list[str]
    why: list[str]
    pending: list[Pending]
    pending_total: int
    sees_approvals: bool
    overdue: list[Owing]
    issues: list[tuple[str, int, list[Any]]]  # town, id, open issues


@viewed("desk.dashboard", policy.DESK_DASHBOARD)
def dashboard(ctx: Context, actor: Actor) -> Dashboard:
    lang = actor.language
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        towns = towns_of(session, actor)
        rows = quotas.figures(ctx, session)
        monthly: dict[str, dict[date, sessions.Tally]] = defaultdict(dict)
        for month_row in quotas.by_month(ctx, session):
            for kind, tally in month_row.counts.items():
                monthly[kind][month_row.month] = tally
        charts = [chart(ctx, lang, row, monthly[row.kind]) for row in rows]
        pending, total, sees = _pending(ctx, session, actor)
        overdue = _overdue(session, lang, actor, now)
        issues = _issues_by_town(session, towns)
    return Dashboard(
        charts=charts,
        warnings=[text.text for text in quotas.warnings(lang, rows)],
        why=[_why(lang, row) for row in rows],
        pending=pending,
        pending_total=total,
        sees_approvals=sees,
        overdue=overdue,
        issues=issues,
    )


def _why(language: str, row: quotas.QuotaRow) -> str:
    return t(
        language,
        "page.pace_why",
        kind=t(language, f"choice.session_kind.{row.kind}"),
        held=row.held,
        booked=row.booked,
        expected=f"{row.expected:.1f}",
        projected=f"{row.projected:.0f}",
        low=_number(row.plan * (1 - row.tolerance)),
        high=_number(row.plan * (1 + row.tolerance)),
        pace=t(language, f"pace.{row.pace}"),
    )


def _pending(ctx: Context, session: Session, actor: Actor) -> tuple[list[Pending], int, bool]:
    """Requests waiting for the prefecture, oldest first, each with the approve, decline
    and ask forms of the chat (`handlers.intake.decision`) when the actor decides."""
    if not policy.allowed(actor, decision.queue):
        return [], 0, False
    lang = actor.language
    rows, total = requests.listing(session, states=decision.workflow.PENDING)
    rows = list(reversed(rows))[:PENDING_SHOWN]
    decides = policy.allowed(actor, decision.approve)
    choices = {"consultants": consultant_choices(session, lang)} if decides and rows else {}
    town_names = people.municipality_names(session)
    found = []
    for row in rows:
        ref = decision.payloads.encode(id=row.id)
        params = {"number": row.number}
        shown: tuple[Form, ...] = ()
        if decides and row.entered_by_id != actor.id and row.requester_id != actor.id:
            shown = tuple(
                forms.build(spec, lang, choices=choices, context=ref, title_params=params)
                for spec in (decision.APPROVE, decision.DECLINE, decision.ASK_INFO)
            )
        found.append(
            Pending(
                id=row.id or 0,
                number=row.number,
                kind=row.kind,
                state=row.state,
                town=town_names.get(row.municipality_id, "?"),
                topic=row.topic,
                description=row.description,
                submitted=row.created_at,
                forms=shown,
            )
        )
    return found, total, True


def _overdue(session: Session, language: str, actor: Actor, now: datetime) -> list[Owing]:
    """Logs and minutes past due (the reminders' one rule); a consultant sees their own."""
    owed = [o for o in reminders.owed(session, now) if o.days >= OVERDUE_AFTER_DAYS]
    items = session_items(session, language, [o.row for o in owed], now)
    if actor.role == Role.CONSULTANT:
        mine = sessions.consultants_of_sessions(session, [o.row.id or 0 for o in owed])
        keep = {sid for sid, found in mine.items() if actor.id in found}
        pairs = [(o, i) for o, i in zip(owed, items, strict=True) if i.id in keep]
    elif actor.role == Role.MUNICIPAL:
        pairs = []
    else:
        pairs = list(zip(owed, items, strict=True))
    return [Owing(item, o.paper, o.days) for o, item in pairs]


def _issues_by_town(
    session: Session, towns: frozenset[int] | None
) -> list[tuple[str, int, list[Any]]]:
    names = people.municipality_names(session)
    grouped: dict[int, list[Any]] = defaultdict(list)
    for issue in desk.issues(session, towns):
        grouped[issue.municipality_id].append(issue)
    return sorted(
        ((names.get(m, "?"), m, found) for m, found in grouped.items()),
        key=lambda entry: (-len(entry[2]), entry[0]),
    )


# -- the calendar --------------------------------------------------------------------
@dataclass(frozen=True)
class Travel:
    starts_at: datetime
    ends_at: datetime
    summary: str


@dataclass(frozen=True)
class Day:
    day: date
    inside: bool  # in the month (or week) shown
    today: bool
    sessions: list[SessionItem]
    travel: list[Travel]


@dataclass(frozen=True)
class CalendarView:
    view: str  # "month" or "week"
    anchor: date
    first: date
    last: date  # exclusive
    previous: date
    following: date
    weeks: list[list[Day]]
    consultant_id: int | None
    municipality_id: int | None
    consultants: list[Choice]
    towns: list[Choice]
    count: int


@viewed("desk.calendar", policy.DESK_CALENDAR)
def calendar_view(
    ctx: Context,
    actor: Actor,
    *,
    view: str = "month",
    anchor: date | None = None,
    consultant_id: int | None = None,
    municipality_id: int | None = None,
) -> CalendarView:
    now = ctx.clock.now()
    today = now.astimezone(TOKYO).date()
    anchor = anchor or today
    view = "week" if view == "week" else "month"
    first, last, previous, following = _range(view, anchor)
    lang = actor.language
    with ctx.db.transaction() as session:
        towns = towns_of(session, actor)
        if actor.role == Role.MUNICIPAL and municipality_id is None:
            municipality_id = actor.municipality_id
        if municipality_id is not None:
            require_town(session, actor, policy.DESK_CALENDAR, municipality_id)
        start = datetime.combine(first, time(0), TOKYO)
        end = datetime.combine(last, time(0), TOKYO)
        rows = desk.sessions_between(
            session,
            start,
            end,
            consultant_id=consultant_id,
            municipality_ids={municipality_id} if municipality_id is not None else towns,
        )
        items = session_items(session, lang, rows, now)
        travel = _travel(session, lang, rows, now) if consultant_id is not None else []
        consultants = [Choice(str(p.id), p.name) for p in people.listing(session, Role.CONSULTANT)]
        town_choices = [
            c for c in municipality_choices(session) if towns is None or int(c.value) in towns
        ]
    by_day: dict[date, list[SessionItem]] = defaultdict(list)
    for item in items:
        by_day[item.starts_at.astimezone(TOKYO).date()].append(item)
    travel_by_day: dict[date, list[Travel]] = defaultdict(list)
    for block in travel:
        travel_by_day[block.starts_at.astimezone(TOKYO).date()].append(block)
    grid_first = first - timedelta(days=first.weekday())
    grid_last = last + timedelta(days=(7 - last.weekday()) % 7)
    days = [
        Day(
            day,
            first <= day < last,
            day == today,
            by_day.get(day, []),
            sorted(travel_by_day.get(day, []), key=lambda b: b.starts_at),
        )
        for day in (grid_first + timedelta(days=n) for n in range((grid_last - grid_first).days))
    ]
    return CalendarView(
        view=view,
        anchor=anchor,
        first=first,
        last=last,
        previous=previous,
        following=following,
        weeks=[days[n : n + 7] for n in range(0, len(days), 7)],
        consultant_id=consultant_id,
        municipality_id=municipality_id,
        consultants=consultants,
        towns=town_choices,
        count=len(items),
    )


def _range(view: str, anchor: date) -> tuple[date, date, date, date]:
    """[first, last) of the month or week shown, and the anchors before and after."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=7), first - timedelta(days=7), first + timedelta(7)
    first = anchor.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return first, last, previous, last


def _travel(
    session: Session, language: str, rows: list[SupportSession], now: datetime
) -> list[Travel]:
    """One consultant's drives (the calendar feed's travel blocks, handlers.scheduling.feeds)."""
    if not rows:
        return []
    events = feeds.travel_blocks(session, rows, diary.travel_table(session), language, now)
    return [
        Travel(e.decoded("dtstart"), e.decoded("dtend"), str(e.get("summary", ""))) for e in events
    ]


@viewed("desk.towns", policy.DESK_TOWN)
def towns_list(ctx: Context, actor: Actor) -> list[Choice]:
    """The towns this person may open (the 市町村 page)."""
    with ctx.db.transaction() as session:
        towns = towns_of(session, actor)
        return [c for c in municipality_choices(session) if towns is None or int(c.value) in towns]


# -- a town --------------------------------------------------------------------------
@dataclass(frozen=True)
class StepItem:
    step: EngagementStep
    done_on: str


@dataclass(frozen=True)
class LogItem:
    id: int
    filed_at: datetime
    author: str
    summary: str
    sessions: list[SessionItem]


@dataclass(frozen=True)
class TownView:
    town: Municipality
    engagement: Any | None
    steps: list[StepItem]
    goals: list[tuple[Any, str]]  # revision, by whom
    sessions: list[SessionItem]
    logs: list[LogItem]
    issues: list[Any]
    documents: list[tuple[str, str, str]]  # kind, format, label
    requests: list[Any]


@viewed("desk.town", policy.DESK_TOWN, target="municipality")
def town_view(ctx: Context, actor: Actor, municipality_id: int) -> TownView:
    lang = actor.language
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        town = people.municipality(session, municipality_id)
        if town is None:
            raise Refused(
                "page.no_such_town",
                target_type="municipality",
                target_id=municipality_id,
                audit=False,
            )
        require_town(session, actor, policy.DESK_TOWN, municipality_id)
        engagement = engagements.by_municipality(session, municipality_id)
        steps: list[StepItem] = []
        goals: list[tuple[Any, str]] = []
        if engagement is not None and engagement.id is not None:
            found = engagements.steps(session, engagement.id)
            done_in = engagements.step_sessions(session, [s.id or 0 for s in found])
            steps = [
                StepItem(
                    s,
                    done_days(
                        lang, [r.starts_at.astimezone(TOKYO).date() for r in done_in[s.id or 0]]
                    ),
                )
                for s in found
            ]
            revisions = engagements.goal_history(session, engagement.id)
            names = people.names(session, sorted({r.revised_by_id for r in revisions}))
            goals = [(r, names.get(r.revised_by_id, "?")) for r in revisions]
        rows = desk.sessions_of_town(session, municipality_id)
        items = session_items(session, lang, rows, now)
        logs = _logs(session, lang, items, now)
        issues = desk.issues(session, {municipality_id}, open_only=False)
        asked, _ = requests.listing(session, municipality_id=municipality_id)
    documents = (
        [
            (kind, fmt, t(lang, f"doc.title.{kind}"))
            for kind in ("plan", "log")
            for fmt in model.FORMATS
        ]
        if policy.allowed(actor, downloads)
        else []
    )
    return TownView(town, engagement, steps, goals, items, logs, issues, documents, asked)


def _logs(
    session: Session, language: str, items: list[SessionItem], now: datetime
) -> list[LogItem]:
    by_id = {item.id: item for item in items}
    found = desk.logs_of_sessions(session, list(by_id))
    authors = people.names(session, sorted({f.log.author_id for f in found}))
    return [
        LogItem(
            id=f.log.id or 0,
            filed_at=f.log.filed_at,
            author=authors.get(f.log.author_id, "?"),
            summary=f.log.summary,
            sessions=[by_id[s] for s in f.session_ids if s in by_id],
        )
        for f in found
    ]


# -- the audit log -------------------------------------------------------------------
@dataclass(frozen=True)
class AuditRow:
    at: datetime
    person: str
    action: str
    outcome: str
    target: str
    detail: str


@dataclass(frozen=True)
class AuditView:
    rows: list[AuditRow]
    total: int
    people: list[Choice]
    actions: list[str]
    towns: list[Choice]


@viewed("desk.audit", policy.DESK_AUDIT)
def audit_view(
    ctx: Context, actor: Actor, where: AuditFilter, *, limit: int | None = AUDIT_SHOWN
) -> AuditView:
    lang = actor.language
    with ctx.db.transaction() as session:
        entries, total = desk.audit_entries(session, where, limit=limit)
        everyone = people.listing_all(session)
        actions = desk.audit_actions(session)
        towns = municipality_choices(session)
    names = {p.id: p.name for p in everyone}
    rows = [
        AuditRow(
            at=e.at,
            person=names.get(e.actor_id, "-") if e.actor_id else t(lang, "page.audit.system"),
            action=e.action,
            outcome=e.outcome,
            target=f"{e.target_type or ''} {e.target_id or ''}".strip(),
            detail=_detail(lang, e.detail),
        )
        for e in entries
    ]
    return AuditView(rows, total, [Choice(str(p.id), p.name) for p in everyone], actions, towns)


def _detail(language: str, detail: str | None) -> str:
    """A refusal's detail is its message key: shown worded."""
    if detail and detail.startswith("refusal."):
        worded = t(language, detail)
        return worded if worded != detail else detail
    return detail or ""


def audit_table(
    ctx: Context, actor: Actor, where: AuditFilter
) -> tuple[list[str], list[list[str]]]:
    """The whole filtered audit log as a table (the CSV and Excel exports), the export
    itself audited."""
    shown = audit_view(ctx, actor, where, limit=None)
    lang = actor.language
    header = [t(lang, f"page.audit.{name}") for name in AUDIT_COLUMNS]
    rows = [
        [format_when(lang, r.at), r.person, r.action, r.outcome, r.target, r.detail]
        for r in shown.rows
    ]
    with ctx.db.transaction() as session:
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="desk.audit_export",
            after={"rows": len(rows)},
        )
    return header, rows


AUDIT_COLUMNS = ("at", "person", "action", "outcome", "target", "detail")


# -- the roster ----------------------------------------------------------------------
@dataclass(frozen=True)
class PersonRow:
    person: Person
    town: str
    identities: list[str]


@dataclass(frozen=True)
class RosterView:
    people: list[PersonRow]
    add: Form
    edit: Form
    deactivate: Form
    link: Form
    merge: Form


@viewed("desk.roster", policy.ROSTER_MANAGE)
def roster_view(ctx: Context, actor: Actor) -> RosterView:
    lang = actor.language
    with ctx.db.transaction() as session:
        everyone = people.listing_all(session)
        linked = desk.identities(session, [p.id or 0 for p in everyone])
        town_names = people.municipality_names(session)
        forms_ = roster.desk_forms(session, lang)
    rows = [
        PersonRow(
            p,
            town_names.get(p.municipality_id or 0, ""),
            [f"{i.platform}:{i.platform_user_id}" for i in linked.get(p.id or 0, [])],
        )
        for p in everyone
    ]
    return RosterView(rows, *forms_)


# -- downloads -----------------------------------------------------------------------
@dataclass(frozen=True)
class Download:
    kind: str
    title: str
    formats: tuple[str, ...]
    by_town: bool
    by_period: bool


@viewed("desk.downloads", policy.REPORT_REQUEST)
def downloads(ctx: Context, actor: Actor) -> tuple[list[Download], list[Choice]]:
    """Every document the command line (`python -m bot report`) can make, in every format
    handlers.documents.build offers now (read at request time: a format added there shows
    here)."""
    lang = actor.language
    formats = tuple(model.FORMATS)
    found = [
        Download(
            kind,
            t(lang, f"doc.title.{kind}"),
            formats,
            "municipality" in build.APPLIES.get(kind, ()),
            "period" in build.APPLIES.get(kind, ()),
        )
        for kind in model.KINDS
    ]
    with ctx.db.transaction() as session:
        towns = municipality_choices(session)
    return found, towns


# -- one session ---------------------------------------------------------------------
@dataclass(frozen=True)
class SessionView:
    item: SessionItem
    logs: list[LogItem]
    minutes: Any | None


@viewed("desk.session", policy.DESK_CALENDAR, target="session")
def session_view(ctx: Context, actor: Actor, session_id: int) -> SessionView:
    """One session as the calendar links it: municipal staff see their town's, a
    consultant the sessions of the towns they serve (or are booked on)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = sessions.get(session, session_id)
        if row is None:
            raise Refused(
                "page.no_such_session", target_type="session", target_id=session_id, audit=False
            )
        item = session_items(session, actor.language, [row], now)[0]
        towns = towns_of(session, actor)
        outside = towns is not None and not set(item.town_ids) & towns
        if outside and actor.id not in sessions.consultant_ids(session, session_id):
            # in none of the reader's towns and not booked on it: one of those towns (any:
            # none is theirs) is refused by the rule that binds them
            policy.owns(
                actor,
                policy.DESK_CALENDAR,
                municipality_id=next(iter(item.town_ids), 0),
                served=towns,
                target_type="session",
                target_id=session_id,
            )
        logs = _logs(session, actor.language, [item], now)
        minutes = storage_logs.minutes_for(session, session_id)
    return SessionView(item, logs, minutes)
