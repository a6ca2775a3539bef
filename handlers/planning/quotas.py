"""Quota status (R11, §2.1(4), §2.3(3)): sessions held and booked per programme against
the plan, and the pace — a projected total outside the tolerance means the prefecture and
the contractor must confer, so the bot warns early.

Every count of sessions shown to anyone (the digest, App Home and `quota.view`, the
console, the final report's tables, the demo) is made here from the one query
`storage.sessions.tallies`: 実施済み (held) is not cancelled and begun, 予定 (booked) is
not cancelled and not begun, and a joint session counts once (§2.4).

    share     = business days of the contract elapsed / all its business days
    projected = held + max(booked, held / share × (1 − share))

Why: what is booked will take place, and the rest of a demand-driven programme follows
its pace so far — a fully booked programme projects its bookings, consultations their
pace. The results meeting is one event, not a pace: it projects held + booked.
The pace is `on_track` while plan × (1 − tolerance) ≤ projected ≤ plan × (1 + tolerance);
outside it, `early` while less than EARLY (RESULTS_EARLY for the results meeting, held at
the season's end) of the contract has passed, else `ahead` or `behind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from handlers.core import business_days, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context, Rules
from handlers.core.i18n import t
from handlers.core.intents import intent
from handlers.core.reply import Field, ListItem, ListView, Reply, Text
from storage import sessions
from storage.models import SessionKind
from storage.sessions import Tally

EARLY = 0.1  # share of the contract before a pace far from plan is worth a warning
RESULTS_EARLY = 0.5  # the results meeting is booked late: no warning before mid-season
OUTSIDE = ("ahead", "behind")  # paces that mean: confer


@dataclass(frozen=True)
class QuotaRow:
    kind: str
    plan: int
    held: int
    booked: int
    joint: int  # held sessions shared by several municipalities (counted once in held)
    expected: float  # plan × share: where an even pace would be by now
    projected: float
    tolerance: float
    pace: str  # "on_track", "ahead", "behind" or "early" (too soon to judge)


@dataclass(frozen=True)
class MonthRow:
    month: date  # first day, Asia/Tokyo
    counts: dict[str, Tally]  # every programme, in plan order


def plans(rules: Rules) -> dict[str, int]:
    return {
        SessionKind.BPR: rules.plan.bpr_sessions,
        SessionKind.CONSULTATION: rules.plan.consultations,
        SessionKind.OFFICE_DAY: rules.plan.office_days,
        SessionKind.RESULTS_MEETING: rules.plan.results_meetings,
    }


def elapsed_share(rules: Rules, today: date) -> float:
    """Share of the contract's business days already behind us."""
    total = business_days.business_days(rules.contract_start, rules.contract_end)
    if today < rules.contract_start:
        return 0.0
    done = business_days.business_days(rules.contract_start, min(today, rules.contract_end))
    return done / total if total else 1.0


def projection(kind: str, held: int, booked: int, share: float) -> float:
    """The year-end total: see the module docstring."""
    if kind == SessionKind.RESULTS_MEETING or share <= 0:
        return float(held + booked)
    return held + max(booked, held / share * (1 - share))


def pace(kind: str, plan: int, projected: float, share: float, tolerance: float) -> str:
    if plan * (1 - tolerance) <= projected <= plan * (1 + tolerance):
        return "on_track"
    if share < (RESULTS_EARLY if kind == SessionKind.RESULTS_MEETING else EARLY):
        return "early"
    return "ahead" if projected > plan else "behind"


def figures(
    ctx: Context,
    session: Session | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[QuotaRow]:
    """Per programme, of the sessions starting in [start, end) (all by default); inside
    the caller's transaction when given one (the weekly digest is worded while its outbox
    row is claimed)."""
    now = ctx.clock.now()
    counts = _tallies(ctx, session, start=start, end=end)
    share = elapsed_share(ctx.rules, now.astimezone(TOKYO).date())
    tolerance = ctx.rules.plan.pace_tolerance
    rows = []
    for kind, plan in plans(ctx.rules).items():
        found = counts.get((kind, None), Tally())
        projected = projection(kind, found.held, found.booked, share)
        rows.append(
            QuotaRow(
                kind=kind,
                plan=plan,
                held=found.held,
                booked=found.booked,
                joint=found.joint,
                expected=plan * share,
                projected=projected,
                tolerance=tolerance,
                pace=pace(kind, plan, projected, share, tolerance),
            )
        )
    return rows


def by_month(
    ctx: Context,
    session: Session | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[MonthRow]:
    """Held and booked per programme for each Asia/Tokyo month with a live session, in
    month order (月別の実施回数: a booked month is never counted as held)."""
    counts = _tallies(ctx, session, start=start, end=end, by_month=True)
    months = sorted({month for _, month in counts if month is not None})
    return [
        MonthRow(month, {kind: counts.get((kind, month), Tally()) for kind in plans(ctx.rules)})
        for month in months
    ]


def _tallies(
    ctx: Context,
    session: Session | None,
    *,
    start: datetime | None,
    end: datetime | None,
    by_month: bool = False,
) -> dict[tuple[str, date | None], Tally]:
    zone = TOKYO if by_month else None
    now = ctx.clock.now()
    if session is not None:
        return sessions.tallies(session, now, start=start, end=end, months_in=zone)
    with ctx.db.transaction() as own:
        return sessions.tallies(own, now, start=start, end=end, months_in=zone)


def header(language: str) -> list[str]:
    """The titles of a figures table: the programme, then the columns of `cells`."""
    return [
        t(language, "quota.program"),
        t(language, "quota.plan"),
        t(language, "session.status.held"),
        t(language, "session.status.booked"),
        t(language, "quota.expected"),
        t(language, "quota.projected"),
        t(language, "quota.pace"),
    ]


def cells(language: str, row: QuotaRow) -> list[str]:
    """One programme's figures as shown everywhere (chat, console, demo)."""
    return [
        t(language, f"choice.session_kind.{row.kind}"),
        str(row.plan),
        str(row.held),
        str(row.booked),
        f"{row.expected:.1f}",
        f"{row.projected:.0f}",
        t(language, f"pace.{row.pace}"),
    ]


@intent("quota.view", policy.QUOTA_VIEW)
def status(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    lang = actor.language
    rows = figures(ctx)
    titles = header(lang)[1:]
    items = tuple(
        ListItem(
            title=shown[0],
            fields=tuple(
                Field(title, value) for title, value in zip(titles, shown[1:], strict=True)
            ),
        )
        for shown in (cells(lang, r) for r in rows)
    )
    blocks: list[Text | ListView] = [ListView(t(lang, "quota.title"), items)]
    blocks += warnings(lang, rows)
    return Reply(tuple(blocks), data={"quotas": rows})


def warnings(language: str, rows: list[QuotaRow]) -> list[Text]:
    """Programmes whose projected total is outside the tolerance: time to confer, with
    the projection and the band it left, so the reader sees why."""
    return [
        Text(
            t(
                language,
                "quota.confer",
                kind=t(language, f"choice.session_kind.{r.kind}"),
                projected=f"{r.projected:.0f}",
                plan=r.plan,
                tolerance=f"{r.tolerance:.0%}",
            ),
            "error",
        )
        for r in rows
        if r.pace in OUTSIDE
    ]
