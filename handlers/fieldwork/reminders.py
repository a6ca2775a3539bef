"""Reminders that follow from the facts (R3, R6, R9): a session that ended without its
work log (or an office day without its minutes), and an engagement nearing its third
session without a goal.

`queue_due` is run by the scheduler on every tick, by every instance. It only ever
*queues* outbox rows, with keys that name what they are about and when, so running it
twice — or on two instances at once — queues each reminder once; sending is the
outbox's business (claimed once, in business hours, never to someone on leave).

The schedule for a session that ended without its paperwork:
- right after it ends: ask each consultant, with a button that opens the form prefilled;
- every business morning after that: remind again (「あとで」 snoozes by an hour or to
  the next morning);
- once `escalate_after_days` business days have passed: tell the prefecture's channel,
  once a day, which consultants are missing what (worded when sent, so what was filed
  in between is not listed).
Filing the log or minutes cancels what is still queued for those sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from handlers.core import business_days, payloads, policy
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import format_when, join, t
from handlers.core.intents import intent
from handlers.core.lookups import municipality_name, notify, requester_or_staff
from handlers.core.reply import ListItem, ListView, Reply, Text
from handlers.documents.gathering import Names, session_rows
from storage import availability, engagements, outbox, people, request_store, sessions
from storage.models import Audience, SessionKind, SupportSession

ASK, REMIND, SNOOZE = "ask", "remind", "snooze"
ESCALATION = "paperwork.escalation"
GOAL, GOAL_FLAG = "goal.remind", "goal.flag"
GOAL_NOTICE_DAYS = 2  # business days before the third session


def paper_of(kind: str) -> str:
    """What a session owes: a work log, or minutes for an office day."""
    return "minutes" if kind == SessionKind.OFFICE_DAY else "log"


def queue_due(ctx: Context) -> int:
    """Queue every reminder that is due by now; returns how many rows were considered."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        count = _paperwork(ctx, session, now)
        count += _goals(ctx, session, now)
    return count


@dataclass(frozen=True)
class Owed:
    """A session whose log (or minutes) is still missing, and for how many business days."""

    row: SupportSession
    paper: str
    days: int


def owed(session: Session, now: datetime) -> list[Owed]:
    """Every ended session still owing its paperwork — the one definition the reminders,
    the escalation, the digest and the dashboards all count from."""
    today = now.astimezone(TOKYO).date()
    return [
        Owed(row, paper_of(row.kind), business_days.business_days_between(_day(row.ends_at), today))
        for row in sessions.awaiting_paperwork(session, now)
    ]


def _day(moment: datetime) -> date:
    return moment.astimezone(TOKYO).date()


def _paperwork(ctx: Context, session: Session, now: datetime) -> int:
    today = now.astimezone(TOKYO).date()
    morning = datetime.combine(today, ctx.rules.office_open, TOKYO)
    # The ask of a session that ended after yesterday's closing goes out this morning:
    # it needs no reminder beside it.
    asked_by = datetime.combine(
        business_days.add_business_days(today, -1), ctx.rules.office_close, TOKYO
    )
    reminding = business_days.is_business_day(today) and now >= morning
    count, late = 0, False
    items = owed(session, now)
    consultants = sessions.consultants_of_sessions(session, [i.row.id or 0 for i in items])
    active = set(
        people.active_ids(
            session, list(dict.fromkeys(p for i in items for p in consultants[i.row.id or 0]))
        )
    )
    away = availability.on_leave_among(session, active, today)
    for item in items:
        row = item.row
        for person_id in (p for p in consultants[row.id or 0] if p in active):
            if person_id in away:
                continue  # nothing goes to someone on leave; tomorrow's reminder will
            _queue(session, item.paper, ASK, row, person_id, due=row.ends_at, now=now)
            if (
                reminding
                and 1 <= item.days < ctx.rules.escalate_after_days
                and row.ends_at < asked_by
            ):
                _queue(
                    session,
                    item.paper,
                    REMIND,
                    row,
                    person_id,
                    due=morning,
                    now=now,
                    tag=today.isoformat(),
                )
            count += 1
        late = late or item.days >= ctx.rules.escalate_after_days
    if late and reminding:
        outbox.enqueue(
            session,
            key=f"{ESCALATION}:{today.isoformat()}",
            kind=ESCALATION,
            audience=Audience.PREFECTURE,
            payload={"message": "reminder.escalation.title", "params": {}},
            due_at=morning,
            now=now,
        )
    return count


def _queue(
    session: Session,
    paper: str,
    step: str,
    row: SupportSession,
    person_id: int,
    *,
    due: datetime,
    now: datetime,
    tag: str = "",
) -> None:
    """One reminder row; `tag` (a day, a snooze time) lets the same step recur."""
    suffix = f":{tag}" if tag else ""
    ref = payloads.encode(id=row.id)
    outbox.enqueue(
        session,
        key=f"{paper}.{step}:{row.id}:{person_id}{suffix}",
        kind=f"{paper}.{step}",
        person_id=person_id,
        payload={
            "message": f"reminder.{paper}.{step}",
            "params": {"kind": row.kind, "when": row.starts_at.isoformat()},
            "buttons": [
                [f"{paper}.form", f"button.{paper}_now", ref],
                ["reminder.snooze", "button.snooze_hour", payloads.encode(id=row.id, kind="hour")],
                [
                    "reminder.snooze",
                    "button.snooze_morning",
                    payloads.encode(id=row.id, kind="morning"),
                ],
            ],
        },
        due_at=due,
        now=now,
    )


def cancel_for(session: Session, session_ids: list[int]) -> None:
    """The paperwork of these sessions is filed: what is still queued about it is moot."""
    outbox.cancel(
        session,
        [
            f"{paper}.{step}:{sid}:"
            for sid in session_ids
            for paper in ("log", "minutes")
            for step in (ASK, REMIND, SNOOZE)
        ],
    )


# a reminder of either paper: both permissions (the same role files both)
@intent("reminder.snooze", policy.LOG_FILE, policy.MINUTES_FILE, target="session")
def snooze(ctx: Context, actor: Actor, ref: str) -> Reply:
    """「あとで」: the same reminder again in an hour, or on the next business morning."""
    payload = payloads.decode(ref)
    if payload.id is None or payload.kind not in ("hour", "morning"):
        raise Refused("refusal.bad_payload")
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = sessions.get(session, payload.id)
        if row is None:
            raise Refused("refusal.not_assigned", target_type="session", target_id=payload.id)
        policy.owns(
            actor,
            policy.LOG_FILE,
            assigned=sessions.consultant_ids(session, payload.id),
            target_type="session",
            target_id=payload.id,
        )
        paper = paper_of(row.kind)
        if row not in sessions.awaiting_paperwork(session, now):
            return Reply((Text(t(actor.language, f"reminder.{paper}.done")),))
        if payload.kind == "hour":
            until = now + timedelta(hours=1)
            # a second click in the same hour is the same snooze
            _queue(
                session,
                paper,
                SNOOZE,
                row,
                actor.id,
                due=until,
                now=now,
                tag=f"{until:%Y-%m-%dT%H}",
            )
        else:
            # the next morning's reminder itself (same key): never two messages at 09:00
            until = business_days.next_business_morning(ctx.rules, now)
            tag = until.date().isoformat()
            _queue(session, paper, REMIND, row, actor.id, due=until, now=now, tag=tag)
    return Reply(
        (Text(t(actor.language, "reminder.snoozed", when=format_when(actor.language, until))),)
    )


def render_escalation(
    ctx: Context, session: Session, language: str, payload: dict[str, Any]
) -> Reply | None:
    """Who is missing what, as of now; None (not sent) if everything was filed since."""
    late = [
        item
        for item in owed(session, ctx.clock.now())
        if item.days >= ctx.rules.escalate_after_days
    ]
    if not late:
        return None
    rows = session_rows(session, Names(session), [item.row for item in late])
    items = [
        ListItem(
            title=t(
                language,
                f"reminder.escalation.{item.paper}",
                who=join(language, rows[item.row.id or 0].consultants),
                when=format_when(language, item.row.starts_at),
                kind=t(language, f"choice.session_kind.{item.row.kind}"),
                # the session's own place, not SessionRow.place (which falls back to the URL)
                where=join(language, rows[item.row.id or 0].municipalities)
                or item.row.place
                or "-",
                days=item.days,
            )
        )
        for item in late
    ]
    return Reply((ListView(t(language, "reminder.escalation.title"), tuple(items)),))


def _goals(ctx: Context, session: Session, now: datetime) -> int:
    """R3: an engagement without a goal whose third session is near."""
    today = now.astimezone(TOKYO).date()
    count = 0
    for engagement in engagements.listing(session):
        if engagement.goal:
            continue
        booked = [
            s
            for s in sessions.listing(session, municipality_id=engagement.municipality_id)
            if s.kind == SessionKind.BPR
        ]
        if len(booked) < 3:
            continue
        third = booked[2]
        third_day = third.starts_at.astimezone(TOKYO).date()
        if third.starts_at <= now or today < business_days.add_business_days(
            third_day, -GOAL_NOTICE_DAYS
        ):
            continue
        application = request_store.get(session, engagement.application_id)
        staff = requester_or_staff(
            session, application.requester_id if application else None, engagement.municipality_id
        )
        recipients = [*sessions.consultant_ids(session, third.id or 0), *staff]
        params = {
            "municipality": municipality_name(session, engagement.municipality_id),
            "when": third.starts_at.isoformat(),
        }
        ref = payloads.encode(id=engagement.id)
        notify(
            session,
            key=f"{GOAL}:{engagement.id}",
            person_ids=recipients,
            message="reminder.goal",
            params=params,
            now=now,
            buttons=[["bpr.goal.form", "button.goal", ref]],
        )
        outbox.enqueue(
            session,
            key=f"{GOAL_FLAG}:{engagement.id}",
            kind=GOAL_FLAG,
            audience=Audience.PREFECTURE,
            payload={"message": "reminder.goal_flag", "params": params},
            due_at=now,
            now=now,
        )
        count += 1
    return count
