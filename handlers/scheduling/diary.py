"""Consultants' diaries: the one place that decides whether a consultant can take a
session at a given time. Booking by hand, slot proposals and the season planner's
inputs all read it, so a slot the bot proposes is always one booking will accept.

A consultant is free for [start, end) at a site when: their usual week (if they have
one) covers it, no absence overlaps it, no other session overlaps it, and the gap to
their sessions before and after on that day leaves the car time between the two sites
(the travel buffer). Online sessions need no travel. Each of those rules is defined in
`handlers.scheduling.rules`, which the season planner applies too; this module applies
them to what is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from handlers.core.clock import TOKYO
from handlers.scheduling import rules
from handlers.scheduling.rules import ONLINE as ONLINE  # read from here by its callers
from handlers.scheduling.rules import travel_between as travel_between
from handlers.scheduling.travel import Site, TravelTable
from storage import availability, people, sessions
from storage.models import Absence, Mode, SupportSession
from storage.seed_municipalities import PREFECTURAL_OFFICE_POSITION

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Busy:
    starts_at: datetime
    ends_at: datetime
    site: int | None  # municipality id, None = the prefectural office, ONLINE
    session_id: int | None = None


@dataclass
class Diary:
    person_id: int
    week: dict[int, tuple[time, time]] = field(default_factory=dict)
    absences: list[Absence] = field(default_factory=list)
    busy: list[Busy] = field(default_factory=list)


@dataclass(frozen=True)
class Conflict:
    """Why one consultant cannot take a slot, as a message key and its parameters."""

    person_id: int
    key: str
    when: datetime | None = None


def site_of(kind: str, mode: str, municipality_ids: Iterable[int]) -> int | None:
    return rules.site_of(kind, mode == Mode.ONLINE, municipality_ids)


def travel_table(session: Session) -> TravelTable:
    return TravelTable(
        (
            Site(m.id or 0, m.travel_minutes, m.latitude, m.longitude)
            for m in people.municipalities(session)
        ),
        PREFECTURAL_OFFICE_POSITION,
    )


def load(
    session: Session,
    person_ids: Collection[int],
    first: date,
    last: date,
    *,
    ignore_session_id: int | None = None,
) -> dict[int, Diary]:
    """The diaries of these people for the days [first, last]."""
    diaries = {pid: Diary(pid) for pid in person_ids}
    for pid, hours in availability.weeks(session, person_ids).items():
        diaries[pid].week = hours
    for absence in availability.absences(session, person_ids, first, last):
        diaries[absence.person_id].absences.append(absence)
    start = datetime.combine(first, time(0), TOKYO)
    end = datetime.combine(last + timedelta(days=1), time(0), TOKYO)
    rows = sessions.booked_for(session, person_ids, start, end)
    places = sessions.municipalities_of_sessions(session, {b.id or 0 for _, b in rows})
    for person_id, booked in rows:
        if booked.id == ignore_session_id:
            continue
        site = site_of(booked.kind, booked.mode, places[booked.id or 0])
        diaries[person_id].busy.append(Busy(booked.starts_at, booked.ends_at, site, booked.id))
    return diaries


def outside_week(
    week: Mapping[int, tuple[time, time]], starts_at: datetime, ends_at: datetime
) -> bool:
    """Whether [starts_at, ends_at) is not within the hours a usual week (weekday →
    (from, to), Tokyo time) gives its day; no week, or an empty one, limits nothing."""
    start, end = starts_at.astimezone(TOKYO), ends_at.astimezone(TOKYO)
    return not rules.within_week(week, start.date(), start.time(), end.time())


def conflicts(
    diary: Diary, travel: TravelTable, starts_at: datetime, ends_at: datetime, site: int | None
) -> list[Conflict]:
    pid = diary.person_id
    local_start, local_end = starts_at.astimezone(TOKYO), ends_at.astimezone(TOKYO)
    day = local_start.date()
    out: list[Conflict] = []
    if outside_week(diary.week, starts_at, ends_at):
        out.append(Conflict(pid, "conflict.outside_week"))
    for absence in diary.absences:
        if rules.absence_blocks(absence, day, local_start.time(), local_end.time()):
            out.append(Conflict(pid, f"conflict.absence.{absence.kind}"))
    for other in diary.busy:
        if other.starts_at < ends_at and other.ends_at > starts_at:
            out.append(Conflict(pid, "conflict.double_booking", other.starts_at))
        elif other.starts_at.astimezone(TOKYO).date() == day:
            if other.ends_at <= starts_at:
                fits = rules.travel_gap_ok(
                    (starts_at - other.ends_at) / MINUTE, travel, other.site, site
                )
            else:
                fits = rules.travel_gap_ok(
                    (other.starts_at - ends_at) / MINUTE, travel, site, other.site
                )
            if not fits:
                out.append(Conflict(pid, "conflict.travel", other.starts_at))
    return out


def first_conflict(
    diaries: dict[int, Diary],
    travel: TravelTable,
    starts_at: datetime,
    ends_at: datetime,
    site: int | None,
) -> Conflict | None:
    for diary in diaries.values():
        found = conflicts(diary, travel, starts_at, ends_at, site)
        if found:
            return found[0]
    return None


def book_into(
    diaries: dict[int, Diary], person_ids: Iterable[int], booked: SupportSession, site: int | None
) -> None:
    """Note a new booking in loaded diaries (several bookings in one transaction)."""
    for pid in person_ids:
        if pid in diaries:
            diaries[pid].busy.append(Busy(booked.starts_at, booked.ends_at, site, booked.id))
