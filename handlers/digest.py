"""The weekly digest to the prefecture (R11): last week's sessions and decisions, logs
still missing, open issues, next week's schedule and the quota pace, with a warning when
a projected total falls outside the tolerance of the plan.

It is queued for the first business morning of each week (one key per ISO week, so any
number of instances queue it once) and worded when sent, from the data as it is then.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from handlers import calendar, logs, quotas, reminders
from handlers.clock import TOKYO
from handlers.common import municipality_name
from handlers.context import Context
from handlers.i18n import format_day, format_when, join, t
from handlers.reply import Field, Fields, ListItem, ListView, Reply, Text
from handlers.report_data import Names, session_rows
from storage import logs as log_rows
from storage import outbox, requests, sessions
from storage.models import Audience, SessionKind, SessionStatus, SupportSession

KIND = "digest.weekly"
SHOWN = 15  # items per section; the rest is counted


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def queue_due(ctx: Context) -> int:
    """Queue this week's digest once the week's first business morning has come."""
    now = ctx.clock.now()
    today = now.astimezone(TOKYO).date()
    monday = week_start(today)
    first = monday if calendar.is_business_day(monday) else calendar.add_business_days(monday, 1)
    due = datetime.combine(first, ctx.rules.office_open, TOKYO)
    if now < due:
        return 0
    year, week, _ = monday.isocalendar()
    with ctx.db.transaction() as session:
        outbox.enqueue(
            session,
            key=f"digest:{year}-W{week:02d}",
            kind=KIND,
            audience=Audience.PREFECTURE,
            payload={"message": "digest.title", "params": {}, "week": monday.isoformat()},
            due_at=due,
            now=now,
        )
    return 1


def render(ctx: Context, session: Session, language: str, payload: dict[str, Any]) -> Reply:
    lang = language
    monday = date.fromisoformat(payload["week"])
    last_start = _at(monday - timedelta(days=7))
    this_start, this_end = _at(monday), _at(monday + timedelta(days=7))
    held = sessions.listing(session, start=last_start, end=this_start, include_cancelled=True)
    decided = requests.decided_between(session, last_start, this_start)
    missing = [
        item.row
        for item in reminders.owed(session, ctx.clock.now())
        if item.days >= logs.OVERDUE_AFTER_DAYS  # logs and minutes alike
    ]
    issues = log_rows.open_issues(session)
    coming = sessions.listing(session, start=this_start, end=this_end)
    rows = quotas.figures(ctx, session)
    done = quotas.figures(ctx, session, start=last_start, end=this_start)
    ahead = quotas.figures(ctx, session, start=this_start, end=this_end)
    names = Names(session)
    blocks: list[Any] = [
        Text(
            t(
                lang,
                "digest.title",
                start=format_day(lang, monday - timedelta(days=7)),
                end=format_day(lang, monday - timedelta(days=1)),
            ),
            "heading",
        ),
        _sessions(session, names, lang, "digest.last_week", held, sum(r.held for r in done)),
        ListView(
            t(lang, "digest.decisions"),
            tuple(
                ListItem(
                    t(
                        lang,
                        "digest.decision",
                        number=r.number,
                        municipality=municipality_name(session, r.municipality_id),
                        state=t(lang, f"state.{r.state}"),
                    )
                )
                for r in decided[:SHOWN]
            ),
            empty_text=t(lang, "digest.none"),
        ),
        _sessions(session, names, lang, "digest.missing_logs", missing),
        ListView(
            t(lang, "digest.open_issues", count=len(issues)),
            tuple(
                ListItem(
                    f"{municipality_name(session, i.municipality_id)}: {i.content}"
                    f" ({t(lang, f'issue.status.{i.status}')})"
                )
                for i in issues[:SHOWN]
            ),
            empty_text=t(lang, "digest.none"),
        ),
        _sessions(
            session,
            names,
            lang,
            "digest.next_week",
            coming,
            sum(r.held + r.booked for r in ahead),
        ),
        Fields(
            tuple(
                Field(
                    t(lang, f"choice.session_kind.{r.kind}"),
                    t(
                        lang,
                        "digest.pace",
                        held=r.held,
                        booked=r.booked,
                        plan=r.plan,
                        projected=f"{r.projected:.0f}",
                        pace=t(lang, f"pace.{r.pace}"),
                    ),
                )
                for r in rows
            )
        ),
        *quotas.warnings(lang, rows),
    ]
    return Reply(tuple(blocks))


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), TOKYO)


def _sessions(
    session: Session,
    names: Names,
    lang: str,
    title: str,
    rows: list[SupportSession],
    count: int | None = None,
) -> ListView:
    """The rows listed; the title's `count` (the rows by default) comes from
    `quotas.figures` where it counts sessions held or booked, so it matches every other
    count (a cancelled session is listed, marked, but not counted)."""
    shown = rows[:SHOWN]
    named = session_rows(session, names, shown)
    items = tuple(
        ListItem(
            f"{format_when(lang, s.starts_at)} {t(lang, f'choice.session_kind.{s.kind}')} "
            + (
                join(lang, named[s.id or 0].municipalities)
                if s.kind != SessionKind.RESULTS_MEETING
                else ""
            )
            + (
                f" ({t(lang, 'session.status.cancelled')})"
                if s.status == SessionStatus.CANCELLED
                else ""
            )
        )
        for s in shown
    )
    more = len(rows) - SHOWN
    title_text = t(lang, title, count=len(rows) if count is None else count)
    if more > 0:
        title_text += " " + t(lang, "digest.more", count=more)
    return ListView(title_text, items, empty_text=t(lang, "digest.none"))
