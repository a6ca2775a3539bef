"""The queries behind the documents: each gatherer reads rows through storage/ into a
plain, frozen context that both writers (HTML and Word) fill. Nothing here words a
label; `report_layout` does that, in the reader's language.

Periods are inclusive calendar days in Asia/Tokyo. A log belongs to the day of its
earliest session (a log without a session, to the day it was filed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.planning import quotas
from storage import engagements, people, report_rows, request_store, sessions
from storage.models import (
    Engagement,
    EngagementStep,
    Mode,
    Person,
    Role,
    SessionKind,
    SessionStatus,
    StepStatus,
    SupportSession,
    WorkLog,
)

Progress = Callable[[str, int], None]  # (stage key, count) for long runs


def quiet(stage: str, count: int) -> None:
    """No progress wanted (chat requests)."""


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None  # inclusive

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.start, time(0), TOKYO) if self.start else None
        end = datetime.combine(self.end + timedelta(days=1), time(0), TOKYO) if self.end else None
        return start, end

    def holds(self, moment: datetime) -> bool:
        day = moment.astimezone(TOKYO).date()
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class SessionRow:
    id: int
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    mode: str
    place: str
    municipalities: tuple[str, ...]
    consultants: tuple[str, ...]
    request_id: int | None  # the consultation it serves, if any
    where: str = ""  # `session_where`: a visit's place, an online session's meeting link


def session_where(mode: str, place: str | None, meeting_url: str | None) -> str:
    """Where a session took place, as its log reports it: the meeting link of an online
    session, the place of a visit ("" when the booking names none)."""
    if mode == Mode.ONLINE:
        return meeting_url or place or ""
    return place or ""


@dataclass(frozen=True)
class Attendee:
    department: str
    title: str
    name: str


@dataclass(frozen=True)
class Issue:
    content: str
    policy: str
    status: str


@dataclass(frozen=True)
class LogData:
    id: int
    filed_at: datetime
    author: str
    sessions: tuple[SessionRow, ...]  # method, place, consultants and dates are theirs
    attendees: tuple[Attendee, ...]
    summary: str
    response: str
    issues: tuple[Issue, ...]
    next_plan: str
    attachments: tuple[str, ...]

    @property
    def municipalities(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m for s in self.sessions for m in s.municipalities))


@dataclass(frozen=True)
class MinutesData:
    session: SessionRow
    author: str
    attendees: str
    body: str
    filed_at: datetime


@dataclass(frozen=True)
class GoalRevisionRow:
    goal: str
    reason: str
    revised_at: datetime
    by: str


@dataclass(frozen=True)
class StepRow:
    number: int
    phase: str
    status: str
    planned: date | None  # the day of the booked session it is expected in
    done_days: tuple[date, ...]  # the days of the held session(s) it was done in
    note: str


@dataclass(frozen=True)
class PlanData:
    municipality: str
    department: str
    application_number: str
    applied_on: datetime
    goal: str
    revisions: tuple[GoalRevisionRow, ...]
    steps: tuple[StepRow, ...]
    consultants: tuple[str, ...]

    @property
    def reached(self) -> bool:
        """The goal counts as reached once the last step (implementation) is done."""
        return bool(self.steps) and self.steps[-1].status == StepStatus.DONE


@dataclass(frozen=True)
class ConsultantRow:
    name: str
    lead: bool
    qualifications: tuple[str, ...]


@dataclass(frozen=True)
class FinalData:
    period: Period
    generated_at: datetime
    consultants: tuple[ConsultantRow, ...]
    months: tuple[quotas.MonthRow, ...]  # held and booked per programme, month by month
    programs: tuple[quotas.QuotaRow, ...]  # the period's sessions against the plan
    plans: tuple[PlanData, ...]
    logs: tuple[LogData, ...]
    minutes: tuple[MinutesData, ...]
    results_meeting: SessionRow | None
    presenters: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.logs or self.minutes or any(p.held or p.booked for p in self.programs))


class Names:
    """Names read once per document: people (active or not) and municipalities."""

    def __init__(self, session: Session) -> None:
        self.people: dict[int, Person] = report_rows.everyone(session)
        self.places = people.municipality_names(session)

    def person(self, person_id: int | None) -> str:
        found = self.people.get(person_id or 0)
        return found.name if found else "-"

    def persons(self, ids: list[int]) -> tuple[str, ...]:
        return tuple(self.person(i) for i in ids)

    def place(self, municipality_id: int) -> str:
        return self.places.get(municipality_id, "?")


def session_rows(
    session: Session, names: Names, rows: list[SupportSession]
) -> dict[int, SessionRow]:
    """The rows by id, named: their municipalities and consultants in two queries."""
    ids = [r.id for r in rows if r.id is not None]
    places = sessions.municipalities_of_sessions(session, ids)
    consultants = sessions.consultants_of_sessions(session, ids)
    return {
        r.id: SessionRow(
            id=r.id,
            kind=r.kind,
            status=r.status,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            mode=r.mode,
            place=r.place or r.meeting_url or "",
            municipalities=tuple(names.place(m) for m in places.get(r.id, [])),
            consultants=names.persons(consultants.get(r.id, [])),
            request_id=r.request_id,
            where=session_where(r.mode, r.place, r.meeting_url),
        )
        for r in rows
        if r.id is not None
    }


def gather_logs(
    session: Session,
    period: Period,
    municipality_id: int | None = None,
    *,
    names: Names | None = None,
    log_ids: list[int] | None = None,
) -> list[LogData]:
    """業務日報 in the period (or exactly `log_ids`), oldest first, with every R9 field."""
    names = names or Names(session)
    chosen: list[tuple[WorkLog, datetime]] = []
    for log, first in report_rows.logs_with_first_start(session):
        when = first or log.filed_at
        if (log_ids is not None and log.id in log_ids) or (log_ids is None and period.holds(when)):
            chosen.append((log, when))
    chosen.sort(key=lambda pair: (pair[1], pair[0].id or 0))
    ids = [log.id for log, _ in chosen if log.id is not None]
    links = report_rows.sessions_of_logs(session, ids)
    session_map = session_rows(
        session,
        names,
        list(
            report_rows.sessions_by_id(
                session, [sid for sids in links.values() for sid in sids]
            ).values()
        ),
    )
    attendees = report_rows.attendees_of_logs(session, ids)
    issues = report_rows.issues_of_logs(session, ids)
    wanted = names.place(municipality_id) if municipality_id is not None else None
    found = []
    for log, _ in chosen:
        assert log.id is not None
        rows = tuple(session_map[s] for s in links.get(log.id, []) if s in session_map)
        data = LogData(
            id=log.id,
            filed_at=log.filed_at,
            author=names.person(log.author_id),
            sessions=rows,
            attendees=tuple(
                Attendee(a.department, a.title, a.name) for a in attendees.get(log.id, [])
            ),
            summary=log.summary,
            response=log.response,
            # One issue is stored once per municipality of a joint log: list it once.
            issues=tuple(
                dict.fromkeys(Issue(i.content, i.policy, i.status) for i in issues.get(log.id, []))
            ),
            next_plan=log.next_plan or "",
            attachments=tuple(log.attachments or ()),
        )
        if wanted is None or wanted in data.municipalities:
            found.append(data)
    return found


def gather_minutes(
    session: Session, period: Period, *, names: Names | None = None
) -> list[MinutesData]:
    """議事録 of the office days in the period that have them, oldest first."""
    names = names or Names(session)
    start, end = period.bounds()
    days = [
        s
        for s in sessions.listing(session, start=start, end=end, include_cancelled=True)
        if s.kind == SessionKind.OFFICE_DAY and s.status != SessionStatus.CANCELLED
    ]
    filed = report_rows.minutes_of_sessions(session, [d.id for d in days if d.id])
    rows = session_rows(session, names, [d for d in days if d.id in filed])
    return [
        MinutesData(
            session=rows[m.session_id],
            author=names.person(m.author_id),
            attendees=m.attendees,
            body=m.body,
            filed_at=m.filed_at,
        )
        for m in sorted(filed.values(), key=lambda m: rows[m.session_id].starts_at)
    ]


def _plan(
    session: Session,
    names: Names,
    engagement: Engagement,
    booked: list[SupportSession],
    now: datetime,
) -> PlanData:
    """`booked`: the engagement's live sessions in time order."""
    assert engagement.id is not None
    application = request_store.get(session, engagement.application_id)
    consultant_ids = list(request_store.consultant_ids(session, engagement.application_id))
    for ids in sessions.consultants_of_sessions(session, [s.id for s in booked if s.id]).values():
        consultant_ids += ids
    rows = engagements.steps(session, engagement.id)
    done_in = engagements.step_sessions(session, [s.id for s in rows if s.id])
    upcoming = [
        s
        for s in booked
        if s.kind == SessionKind.BPR and not sessions.counts_as_held(s.status, s.starts_at, now)
    ]
    steps = tuple(
        StepRow(
            s.number,
            s.phase,
            s.status,
            day,
            tuple(dict.fromkeys(_day(r.starts_at) for r in done_in.get(s.id or 0, []))),
            s.note or "",
        )
        for s, day in planned_days(rows, upcoming)
    )
    return PlanData(
        municipality=names.place(engagement.municipality_id),
        department=engagement.department,
        application_number=application.number if application else "-",
        applied_on=application.created_at if application else engagement.created_at,
        goal=engagement.goal or "",
        # The goal named in the application (R3) opens the history when there was one.
        revisions=tuple(
            [
                GoalRevisionRow(
                    application.goal, "", application.created_at, application.requester_name
                )
            ]
            if application and application.goal
            else []
        )
        + tuple(
            GoalRevisionRow(g.goal, g.reason or "", g.revised_at, names.person(g.revised_by_id))
            for g in engagements.goal_history(session, engagement.id)
        ),
        steps=steps,
        consultants=names.persons(list(dict.fromkeys(consultant_ids))),
    )


def _day(moment: datetime) -> date:
    return moment.astimezone(TOKYO).date()


def planned_days(
    steps: list[EngagementStep], upcoming: list[SupportSession]
) -> list[tuple[EngagementStep, date | None]]:
    """予定日 of each step: the k-th remaining planned step (by number) falls on the k-th
    upcoming booked BPR session (`upcoming`, time order); none when there are fewer
    sessions. Done and skipped steps have none (a done step has its 実施日 instead)."""
    days = iter(_day(s.starts_at) for s in upcoming)
    return [
        (step, next(days, None) if step.status == StepStatus.PLANNED else None)
        for step in sorted(steps, key=lambda s: s.number)
    ]


def gather_plans(
    session: Session,
    municipality_id: int | None = None,
    *,
    now: datetime,
    names: Names | None = None,
) -> list[PlanData]:
    """支援計画書: one per BPR engagement (or the one of `municipality_id`), as of `now`
    (which sessions are held, which are still to come)."""
    names = names or Names(session)
    live = [
        s
        for s in sessions.listing(session, include_cancelled=True)
        if s.engagement_id is not None and s.status != SessionStatus.CANCELLED
    ]
    # a joint session serves every engaged town in it, not only the one it was booked under
    served = engagements.of_sessions(session, [s.id or 0 for s in live])
    return [
        _plan(
            session,
            names,
            e,
            [s for s in live if e.id in {x.id for x in served.get(s.id or 0, [])}],
            now,
        )
        for e in engagements.listing(session, municipality_id)
    ]


def gather_final(ctx: Context, period: Period, progress: Progress = quiet) -> FinalData:
    """実績報告書: the team, the month-by-month schedule, sessions per program against the
    plan, goals reached, with every plan, log and set of minutes of the period attached."""
    with ctx.db.transaction() as session:
        names = Names(session)
        start, end = period.bounds()
        booked = [
            s
            for s in sessions.listing(session, start=start, end=end, include_cancelled=True)
            if s.status != SessionStatus.CANCELLED
        ]
        rows = list(session_rows(session, names, booked).values())
        progress("report.progress.sessions", len(rows))
        # The team: every consultant active now, and everyone who took part in a session
        # of the period even if they have left since (their work is in this report).
        took_part = {
            i
            for ids in sessions.consultants_of_sessions(
                session, [s.id for s in booked if s.id]
            ).values()
            for i in ids
        }
        consultants = tuple(
            ConsultantRow(p.name, p.is_lead, tuple(p.qualifications or ()))
            for p in sorted(
                (
                    p
                    for p in names.people.values()
                    if p.role == Role.CONSULTANT and (p.active or p.id in took_part)
                ),
                key=lambda p: (not p.is_lead, p.id or 0),
            )
        )
        plans = tuple(gather_plans(session, now=ctx.clock.now(), names=names))
        progress("report.progress.plans", len(plans))
        logs = tuple(gather_logs(session, period, names=names))
        progress("report.progress.logs", len(logs))
        minutes = tuple(gather_minutes(session, period, names=names))
        progress("report.progress.minutes", len(minutes))
        meeting = next((r for r in rows if r.kind == SessionKind.RESULTS_MEETING), None)
        presenters: tuple[str, ...] = ()
        if meeting is not None:
            presenters = tuple(names.place(m) for m in sessions.presenting_ids(session, meeting.id))
        # The counts are `quotas`' (one rule for held, booked and joint everywhere).
        months = tuple(quotas.by_month(ctx, session, start=start, end=end))
        programs = tuple(quotas.figures(ctx, session, start=start, end=end))
    return FinalData(
        period=period,
        generated_at=ctx.clock.now(),
        consultants=consultants,
        months=months,
        programs=programs,
        plans=plans,
        logs=logs,
        minutes=minutes,
        results_meeting=meeting,
        presenters=presenters,
    )
