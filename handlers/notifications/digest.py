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

from handlers.core import business_days
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.i18n import format_day, format_when, join, t
from handlers.core.lookups import more_items, municipality_name, where_all
from handlers.core.reply import Field, Fields, ListItem, ListView, Reply, Text
from handlers.documents.gathering import Names, session_rows
from handlers.fieldwork import logs, reminders
from handlers.planning import quotas
from storage import logs as log_rows
from storage import outbox, request_store, sessions
from storage.models import Audience, SessionKind, SessionStatus, SupportSession

KIND = "digest.weekly"
SHOWN = 6
"""Items per section; the rest is counted in a last line (「ほか N 件」 and where to see them
all), never cut silently. Six keeps the whole digest within one Slack message (50 blocks:
five sections of a header, six items and that line, with the title, pace and warnings)."""


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def queue_due(ctx: Context) -> int:
    """Queue this week's digest once the week's first business morning has come."""
    now = ctx.clock.now()
    today = now.astimezone(TOKYO).date()
    monday = week_start(today)
    first = (
        monday
        if business_days.is_business_day(monday)
        else business_days.add_business_days(monday, 1)
    )
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
    decided = request_store.decided_between(session, last_start, this_start)
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
    see_all = where_all(lang, ctx.rules.desk_url)
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
        _sessions(
            session, names, lang, "digest.last_week", held, see_all, sum(r.held for r in done)
        ),
        ListView(
            t(lang, "digest.decisions"),
            (
                *(
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
                *more_items(lang, len(decided), see_all, SHOWN),
            ),
            empty_text=t(lang, "digest.none"),
        ),
        _sessions(session, names, lang, "digest.missing_logs", missing, see_all),
        ListView(
            t(lang, "digest.open_issues", count=len(issues)),
            (
                *(
                    ListItem(
                        f"{municipality_name(session, i.municipality_id)}: {i.content}"
                        f" ({t(lang, f'issue.status.{i.status}')})"
                    )
                    for i in issues[:SHOWN]
                ),
                *more_items(lang, len(issues), see_all, SHOWN),
            ),
            empty_text=t(lang, "digest.none"),
        ),
        _sessions(
            session,
            names,
            lang,
            "digest.next_week",
            coming,
            see_all,
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
    see_all: str,
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
    title_text = t(lang, title, count=len(rows) if count is None else count)
    return ListView(
        title_text,
        (*items, *more_items(lang, len(rows), see_all, SHOWN)),
        empty_text=t(lang, "digest.none"),
    )
