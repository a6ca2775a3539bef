"""The consistency check (`python -m bot check`): every contradiction in an existing
database, worded for a person.

The record's rules are held where its rows are written (`scheduling.check_slot`,
`storage.engagements.close_step`, the request state machine …), but a database written
before a rule existed, edited by hand or by a bug can still break them, and an official
acting on such a record is misled. `findings` reads the whole record once (one query per
kind of row, `storage.consistency`) and runs each rule over it as a small pure function,
so a rule reads like the write it mirrors. It changes nothing.

A finding names the rows concerned (session numbers and times, request numbers, towns,
people) as values, worded only when shown, in the reader's language.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from handlers.core.business_days import fiscal_year
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.errors import Key
from handlers.core.i18n import format_day, format_when, join, t
from handlers.people.preferences import invite_channels
from handlers.scheduling.invites import CHAT_KIND, EMAIL_KIND, entries_of
from handlers.scheduling.rules import bookable, is_results_meeting_day, occupies_towns
from storage import consistency, engagements, people, report_rows, sessions
from storage.models import (
    Engagement,
    EngagementStep,
    Notification,
    Person,
    Request,
    RequestKind,
    RequestState,
    Role,
    SessionKind,
    SessionStatus,
    StepStatus,
    SupportSession,
)
from storage.sessions import counts_as_held


@dataclass(frozen=True)
class Phrase:
    """A catalog key and its values, worded only when shown (`text`): values may be
    keys (`Key`), times, days, other phrases or lists of these."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, language: str) -> str:
        return t(language, self.key, **{n: word(language, v) for n, v in self.params.items()})


@dataclass(frozen=True)
class Finding(Phrase):
    """One contradiction. Its key is `check.<rule>.<what>`."""

    @property
    def rule(self) -> str:
        return self.key.split(".")[1]


def word(language: str, value: Any) -> Any:
    if isinstance(value, Key):
        return t(language, value)
    if isinstance(value, Phrase):
        return value.text(language)
    if isinstance(value, datetime):
        return format_when(language, value)
    if isinstance(value, date):
        return format_day(language, value)
    if isinstance(value, list | tuple):
        return join(language, (str(word(language, v)) for v in value))
    return value


@dataclass
class Record:
    """Everything the rules read, loaded in one transaction."""

    now: datetime
    sessions: list[SupportSession]  # every one, cancelled too, in time order
    towns: dict[int, list[int]]  # session id → municipality ids
    consultants: dict[int, list[int]]  # session id → person ids
    town_names: dict[int, str]
    people: dict[int, Person]
    requests: list[Request]
    engagements: list[Engagement]
    paperwork: list[tuple[str, int, int, datetime]]  # (log|minutes, id, session id, filed)
    invites: list[Notification]
    steps: list[EngagementStep]
    step_sessions: dict[int, list[SupportSession]] = field(default_factory=dict)

    @property
    def live(self) -> list[SupportSession]:
        return [s for s in self.sessions if s.status != SessionStatus.CANCELLED]

    def name(self, person_id: int | None) -> str:
        person = self.people.get(person_id or 0)
        return person.name if person else f"#{person_id}"


def load(session: Session, now: datetime) -> Record:
    rows = consistency.all_sessions(session)
    ids = [s.id for s in rows if s.id is not None]
    steps = consistency.all_steps(session)
    return Record(
        now=now,
        sessions=rows,
        towns=sessions.municipalities_of_sessions(session, ids),
        consultants=sessions.consultants_of_sessions(session, ids),
        town_names=people.municipality_names(session),
        people=report_rows.everyone(session),
        requests=consistency.all_requests(session),
        engagements=engagements.listing(session),
        paperwork=consistency.paperwork(session),
        invites=consistency.notifications_of_kinds(session, (CHAT_KIND, EMAIL_KIND)),
        steps=steps,
        step_sessions=engagements.step_sessions(session, [s.id for s in steps if s.id]),
    )


def label(row: SupportSession) -> Phrase:
    """A session as findings name it: its number, kind and time."""
    return Phrase(
        "check.session",
        {
            "id": row.id,
            "kind": Key(f"choice.session_kind.{row.kind}"),
            "when": row.starts_at,
            "until": f"{row.ends_at.astimezone(TOKYO):%H:%M}",
        },
    )


def overlapping(
    members: dict[int, list[SupportSession]],
) -> list[tuple[SupportSession, SupportSession, list[int]]]:
    """Pairs of sessions (earlier first) that overlap in time, with the members (towns or
    people) they share: one sweep over each member's sessions in time order."""
    pairs: dict[tuple[int, int], list[int]] = defaultdict(list)
    rows: dict[int, SupportSession] = {}
    for member, booked in members.items():
        running: list[SupportSession] = []
        for row in sorted(booked, key=lambda s: (s.starts_at, s.id or 0)):
            running = [r for r in running if r.ends_at > row.starts_at]
            for earlier in running:
                pairs[(earlier.id or 0, row.id or 0)].append(member)
            running.append(row)
            rows[row.id or 0] = row
    return [(rows[a], rows[b], shared) for (a, b), shared in pairs.items()]


# -- 1. a municipality in two overlapping live sessions ----------------------------------


def towns_double_booked(record: Record) -> list[Finding]:
    """Joint sessions count for every town in them; the results meeting, which every
    town attends, is the exception."""
    members: dict[int, list[SupportSession]] = defaultdict(list)
    for row in record.live:
        if occupies_towns(row.kind):
            for town in record.towns.get(row.id or 0, []):
                members[town].append(row)
    return [
        Finding(
            "check.municipality.overlap",
            {
                "towns": [record.town_names.get(m, "?") for m in shared],
                "first": label(a),
                "second": label(b),
            },
        )
        for a, b, shared in overlapping(members)
    ]


# -- 2. one results meeting per programme year, in March ---------------------------------


def results_meetings(record: Record) -> list[Finding]:
    by_year: dict[int, list[SupportSession]] = defaultdict(list)
    found = []
    for row in record.live:
        if row.kind != SessionKind.RESULTS_MEETING:
            continue
        local = row.starts_at.astimezone(TOKYO).date()
        by_year[fiscal_year(local)].append(row)
        if not is_results_meeting_day(local):
            found.append(Finding("check.results.not_march", {"session": label(row)}))
    for year, rows in sorted(by_year.items()):
        if len(rows) > 1:
            found.append(
                Finding(
                    "check.results.second",
                    {"year": year, "count": len(rows), "sessions": [label(r) for r in rows]},
                )
            )
    return found


# -- 3. held only once begun; logs and minutes only for sessions that took place ---------


def held_before_begun(record: Record) -> list[Finding]:
    found = [
        Finding("check.held.not_begun", {"session": label(row)})
        for row in record.live
        if row.status == SessionStatus.HELD
        and not counts_as_held(row.status, row.starts_at, record.now)
    ]
    by_id = {s.id: s for s in record.sessions}
    for what, record_id, session_id, filed_at in record.paperwork:
        row = by_id.get(session_id)
        if row is None:
            continue
        params = {
            "record": Phrase(f"check.record.{what}", {"id": record_id}),
            "session": label(row),
        }
        if row.status == SessionStatus.CANCELLED:
            found.append(Finding("check.held.record_cancelled", params))
        elif not counts_as_held(row.status, row.starts_at, min(filed_at, record.now)):
            found.append(Finding("check.held.record_early", {**params, "filed": filed_at}))
        elif row.status != SessionStatus.HELD:
            found.append(Finding("check.held.unmarked", params))
    return found


# -- 4. a consultant in two overlapping live sessions ------------------------------------


def consultants_double_booked(record: Record) -> list[Finding]:
    members: dict[int, list[SupportSession]] = defaultdict(list)
    for row in record.live:
        for person_id in record.consultants.get(row.id or 0, []):
            members[person_id].append(row)
    return [
        Finding(
            "check.consultant.overlap",
            {"people": [record.name(p) for p in shared], "first": label(a), "second": label(b)},
        )
        for a, b, shared in overlapping(members)
    ]


# -- 4b. sessions to come with someone who is no longer an active consultant ----------------


def consultants_gone(record: Record) -> list[Finding]:
    """A live session still to come names only active consultants (`rules.bookable`,
    held where sessions are written by `booking.unbookable`); deactivating someone, or
    merging them into their twin, leaves the sessions they were booked on to re-staff."""
    found = []
    for row in record.live:
        if row.starts_at <= record.now:
            continue
        gone = [
            person_id
            for person_id in record.consultants.get(row.id or 0, [])
            if not bookable(record.people.get(person_id))
        ]
        if gone:
            names = [record.name(p) for p in gone]
            found.append(
                Finding("check.staffing.inactive", {"session": label(row), "people": names})
            )
    return found


# -- 5. steps done in held sessions of their engagement ----------------------------------


def steps_without_sessions(record: Record) -> list[Finding]:
    """A done step names 1–2 held BPR sessions its engagement's town is in (a joint
    session serves every engaged town in it); a step not done names none; no step is
    done before any BPR session of its town was held."""
    town_of = {e.id: record.town_names.get(e.municipality_id, "?") for e in record.engagements}
    held_towns = {
        town
        for s in record.live
        if s.kind == SessionKind.BPR and counts_as_held(s.status, s.starts_at, record.now)
        for town in record.towns.get(s.id or 0, [])
    }
    held = {e.id for e in record.engagements if e.municipality_id in held_towns}
    found: list[Finding] = []
    done: dict[int, int] = defaultdict(int)
    for step in record.steps:
        where = {"town": town_of.get(step.engagement_id, "?"), "number": step.number}
        linked = record.step_sessions.get(step.id or 0, [])
        if step.status != StepStatus.DONE:
            if linked:
                status = Key(f"step.{step.status}")
                sessions_ = [label(s) for s in linked]
                found.append(
                    Finding(
                        "check.steps.open_linked",
                        {**where, "status": status, "sessions": sessions_},
                    )
                )
            continue
        done[step.engagement_id] += 1
        if not linked:
            found.append(Finding("check.steps.no_session", where))
        elif len(linked) > engagements.MAX_STEP_SESSIONS:
            found.append(Finding("check.steps.too_many", {**where, "count": len(linked)}))
        for row in linked:
            reason = _not_a_step_session(record, step, row)
            if reason:
                found.append(
                    Finding(
                        "check.steps.bad_session",
                        {**where, "session": label(row), "reason": Key(reason)},
                    )
                )
    for engagement_id, count in done.items():
        if engagement_id not in held:
            town = town_of.get(engagement_id, "?")
            found.append(Finding("check.steps.before_sessions", {"town": town, "count": count}))
    return found


def _not_a_step_session(record: Record, step: EngagementStep, row: SupportSession) -> str | None:
    town = next((e.municipality_id for e in record.engagements if e.id == step.engagement_id), None)
    if row.kind != SessionKind.BPR or town not in record.towns.get(row.id or 0, []):
        return "check.reason.elsewhere"
    if row.status == SessionStatus.CANCELLED:
        return "check.reason.cancelled"
    if not counts_as_held(row.status, row.starts_at, record.now):
        return "check.reason.not_begun"
    return None


# -- 6. invites: one per attendee at the current SEQUENCE, rising with each change -------


@dataclass(frozen=True)
class Sent:
    """One session's invite as queued to one person: an invite row of its own, or one
    session of a batched row (`invites.entries_of`)."""

    person_id: int | None
    payload: dict[str, Any]


def invites_behind(record: Record) -> list[Finding]:
    sent: dict[int, list[Sent]] = defaultdict(list)
    for row in record.invites:
        for entry in entries_of(row.payload):
            if "session_id" in entry and "sequence" in entry:
                sent[int(entry["session_id"])].append(Sent(row.person_id, entry))
    staff: dict[int, set[int]] = defaultdict(set)
    for person in record.people.values():
        if person.active and person.role == Role.MUNICIPAL and person.municipality_id:
            staff[person.municipality_id].add(person.id or 0)
    requesters = {r.id: r.requester_id for r in record.requests}
    found: list[Finding] = []
    for row in record.sessions:
        rows = sent.get(row.id or 0, [])
        found += _sequence_order(row, rows)
        found += _coverage(record, row, rows, staff, requesters)
    return found


def _sequence(row: Sent) -> int:
    return int(row.payload["sequence"])


def _sequence_order(row: SupportSession, rows: list[Sent]) -> list[Finding]:
    """SEQUENCE never falls from one queued invite to the next nor runs ahead of the
    session's, and one SEQUENCE says one thing (calendars keep the first they see)."""
    found = []
    highest = -1
    for sent in rows:
        if _sequence(sent) < highest:
            params = {"session": label(row), "before": highest, "after": _sequence(sent)}
            found.append(Finding("check.invites.decreasing", params))
            break
        highest = max(highest, _sequence(sent))
    if highest > row.sequence:
        params = {"session": label(row), "sequence": highest, "current": row.sequence}
        found.append(Finding("check.invites.ahead", params))
    contents: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    for sent in rows:
        for language, data in (sent.payload.get("invite") or {}).items():
            fingerprint = json.dumps(data, sort_keys=True, ensure_ascii=False)
            contents[(_sequence(sent), str(sent.payload.get("method")), language)].add(fingerprint)
    differing = sorted({seq for (seq, _, _), seen in contents.items() if len(seen) > 1})
    found += [
        Finding("check.invites.conflicting", {"session": label(row), "sequence": seq})
        for seq in differing
    ]
    return found


def _coverage(
    record: Record,
    row: SupportSession,
    rows: list[Sent],
    staff: dict[int, set[int]],
    requesters: dict[int | None, int | None],
) -> list[Finding]:
    """A live session's REQUEST (a cancelled one's CANCEL) at its current SEQUENCE went to
    its consultants and requester, and to everyone still concerned who had an earlier
    version (else their calendar shows what is no longer true)."""
    cancelled = row.status == SessionStatus.CANCELLED
    method = "CANCEL" if cancelled else "REQUEST"
    what = "cancel" if cancelled else "request"
    params: dict[str, Any] = {"session": label(row), "sequence": row.sequence}
    current = [
        s for s in rows if _sequence(s) == row.sequence and s.payload.get("method") == method
    ]
    required = {*record.consultants.get(row.id or 0, []), requesters.get(row.request_id)}
    concerned = required | {row.created_by_id}
    for town in record.towns.get(row.id or 0, []):
        concerned |= staff.get(town, set())
    expected = required | ({s.person_id for s in rows} & concerned)
    active = {p for p in expected if p and p in record.people and _invited(record.people[p])}
    if not current:
        # nobody to invite (everyone concerned follows the feed only) is no contradiction
        return [Finding(f"check.invites.no_{what}", params)] if active else []
    missing = sorted(active - {s.person_id for s in current})
    found = []
    if missing:
        people_ = [record.name(p) for p in missing]
        found.append(Finding(f"check.invites.missing_{what}", {**params, "people": people_}))
    if not cancelled:
        found += _stale(row, current)
    return found


def _stale(row: SupportSession, current: list[Sent]) -> list[Finding]:
    """The latest invite says the session's time (a move without a new SEQUENCE leaves
    calendars at the old one)."""
    for sent in current:
        for data in (sent.payload.get("invite") or {}).values():
            if "starts_at" not in data or "ends_at" not in data:
                continue
            starts = datetime.fromisoformat(data["starts_at"])
            ends = datetime.fromisoformat(data["ends_at"])
            if (starts, ends) != (row.starts_at, row.ends_at):
                params = {"session": label(row), "sequence": row.sequence, "when": starts}
                return [Finding("check.invites.stale", params)]
    return []


# -- 7. requests whose state contradicts their sessions ----------------------------------


def requests_astray(record: Record) -> list[Finding]:
    live: dict[int, list[SupportSession]] = defaultdict(list)
    for row in record.live:
        if row.request_id is not None:
            live[row.request_id].append(row)
    logged = {session_id for what, _, session_id, _ in record.paperwork if what == "log"}
    engaged = {e.application_id for e in record.engagements}
    found = []
    for request in record.requests:
        booked = live.get(request.id or 0, [])
        where = {"number": request.number}
        if request.state == RequestState.SCHEDULED and not booked:
            found.append(Finding("check.requests.scheduled_empty", where))
        unlogged = [label(s) for s in booked if s.id not in logged]
        if request.state == RequestState.DONE and unlogged:
            found.append(Finding("check.requests.done_unlogged", {**where, "sessions": unlogged}))
        if request.state in (RequestState.CANCELLED, RequestState.DECLINED) and booked:
            state = Key(f"state.{request.state}")
            sessions_ = [label(s) for s in booked]
            found.append(
                Finding(
                    "check.requests.closed_booked", {**where, "state": state, "sessions": sessions_}
                )
            )
        if (
            request.kind == RequestKind.BPR_APPLICATION
            and request.state == RequestState.APPROVED
            and request.id not in engaged
        ):
            town = record.town_names.get(request.municipality_id, "?")
            found.append(Finding("check.requests.no_engagement", {**where, "town": town}))
    return found


RULES: tuple[tuple[str, Callable[[Record], list[Finding]]], ...] = (
    ("municipality", towns_double_booked),
    ("results", results_meetings),
    ("held", held_before_begun),
    ("consultant", consultants_double_booked),
    ("staffing", consultants_gone),
    ("steps", steps_without_sessions),
    ("invites", invites_behind),
    ("requests", requests_astray),
)


def _invited(person: Person) -> bool:
    """Whether invites are queued for `person` at all: active, and not following their
    calendar through the private feed only (handlers.people.preferences)."""
    return person.active and bool(invite_channels(person))


def findings(ctx: Context) -> list[Finding]:
    """Every contradiction in the database, rule by rule (in `RULES` order).

    "Now" is the clock's, or the record's newest audit entry if that is later: what the
    record says was done has happened, so a simulated season that runs ahead of the wall
    clock (the demo's) is not judged as if its held sessions had not begun."""
    with ctx.db.transaction() as session:
        latest = consistency.latest_event(session)
        now = ctx.clock.now()
        record = load(session, max(now, latest) if latest else now)
    return [found for _, rule in RULES for found in rule(record)]


def report(found: Iterable[Finding], language: str) -> list[str]:
    """The check's printout: a summary line, then each rule's findings under its name."""
    found = list(found)
    if not found:
        return [t(language, "check.none")]
    lines = [t(language, "check.summary", count=len(found))]
    for name, _ in RULES:
        mine = [f for f in found if f.rule == name]
        if mine:
            lines.append(t(language, f"check.rule.{name}", count=len(mine)))
            lines += [t(language, "check.item", text=f.text(language)) for f in mine]
    return lines
