"""Quota status (R11, §2.1(4), §2.3(3)): sessions held and booked per program against the
plan, and the pace — projected totals outside the tolerance mean the prefecture and the
contractor must confer, so the bot warns early. A joint session counts once (§2.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from handlers import calendar, policy
from handlers.actor import Actor
from handlers.context import Context, Rules
from handlers.core import intent
from handlers.i18n import t
from handlers.reply import Field, ListItem, ListView, Reply, Text
from storage import sessions
from storage.models import SessionKind


@dataclass(frozen=True)
class QuotaRow:
    kind: str
    plan: int
    held: int
    booked: int
    expected: float
    projected: float | None
    pace: str  # "on_track", "ahead", "behind" or "early" (too soon to judge)


def plans(rules: Rules) -> dict[str, int]:
    return {
        SessionKind.BPR: rules.plan.bpr_sessions,
        SessionKind.CONSULTATION: rules.plan.consultations,
        SessionKind.OFFICE_DAY: rules.plan.office_days,
        SessionKind.RESULTS_MEETING: rules.plan.results_meetings,
    }


def elapsed_share(rules: Rules, today: date) -> float:
    """Share of the contract's business days already behind us."""
    total = calendar.business_days(rules.contract_start, rules.contract_end)
    if today < rules.contract_start:
        return 0.0
    done = calendar.business_days(rules.contract_start, min(today, rules.contract_end))
    return done / total if total else 1.0


def figures(ctx: Context, session: Session | None = None) -> list[QuotaRow]:
    """Per program; inside the caller's transaction when given one (the weekly digest is
    worded while its outbox row is claimed)."""
    now = ctx.clock.now()
    share = elapsed_share(ctx.rules, now.date())
    tolerance = ctx.rules.plan.pace_tolerance
    if session is None:
        with ctx.db.transaction() as own:
            counts = sessions.counts_by_kind(own, now)
    else:
        counts = sessions.counts_by_kind(session, now)
    rows = []
    for kind, plan in plans(ctx.rules).items():
        held, booked = counts.get(kind, (0, 0))
        expected = plan * share
        projected = held / share if share > 0 else None
        # One meeting, or too little of the season behind us, gives no meaningful pace.
        if kind == SessionKind.RESULTS_MEETING or share < 0.1 or projected is None:
            pace = "early" if kind != SessionKind.RESULTS_MEETING else "on_track"
        elif projected > plan * (1 + tolerance):
            pace = "ahead"
        elif projected < plan * (1 - tolerance):
            pace = "behind"
        else:
            pace = "on_track"
        rows.append(QuotaRow(kind, plan, held, booked, expected, projected, pace))
    return rows


@intent("quota.view")
def status(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    policy.require(actor, "quota.view")
    lang = actor.language
    rows = figures(ctx)
    items = tuple(
        ListItem(
            title=t(lang, f"choice.session_kind.{r.kind}"),
            fields=(
                Field(t(lang, "quota.plan"), str(r.plan)),
                Field(t(lang, "quota.held"), str(r.held)),
                Field(t(lang, "quota.booked"), str(r.booked)),
                Field(t(lang, "quota.expected"), f"{r.expected:.1f}"),
                Field(
                    t(lang, "quota.projected"),
                    "-" if r.projected is None else f"{r.projected:.0f}",
                ),
                Field(t(lang, "quota.pace"), t(lang, f"pace.{r.pace}")),
            ),
        )
        for r in rows
    )
    blocks: list[Text | ListView] = [ListView(t(lang, "quota.title"), items)]
    blocks += warnings(lang, rows)
    return Reply(tuple(blocks), data={"quotas": rows})


def warnings(language: str, rows: list[QuotaRow]) -> list[Text]:
    """Programs whose projected total is outside the tolerance: time to confer."""
    return [
        Text(
            t(language, "quota.confer", kind=t(language, f"choice.session_kind.{r.kind}")), "error"
        )
        for r in rows
        if r.pace in ("ahead", "behind")
    ]
