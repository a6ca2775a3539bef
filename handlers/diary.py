"""Consultants' diaries: the one place that decides whether a consultant can take a
session at a given time. Booking by hand, slot proposals and the season planner's
inputs all read it, so a slot the bot proposes is always one booking will accept.

A consultant is free for [start, end) at a site when: their usual week (if they have
one) covers it, no absence overlaps it, no other session overlaps it, and the gap to
their sessions before and after on that day leaves the car time between the two sites
(the travel buffer). Online sessions need no travel.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from handlers.clock import TOKYO
from handlers.travel import Site, TravelTable
from storage import availability, people, sessions
from storage.models import Absence, Mode, SessionKind, SupportSession
from storage.seed_municipalities import PREFECTURAL_OFFICE_POSITION

ONLINE = -1  # a site that needs no travel


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
    if mode == Mode.ONLINE:
        return ONLINE
    if kind == SessionKind.OFFICE_DAY:
        return None
    return next(iter(municipality_ids), None)


def travel_table(session: Session) -> TravelTable:
    return TravelTable(
        (
            Site(m.id or 0, m.travel_minutes, m.latitude, m.longitude)
            for m in people.municipalities(session)
        ),
        PREFECTURAL_OFFICE_POSITION,
    )


def travel_between(travel: TravelTable, a: int | None, b: int | None) -> int:
    if ONLINE in (a, b):
        return 0
    return travel.minutes(a, b)


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
    (from, to), Tokyo time) gives its day."""
    start, end = starts_at.astimezone(TOKYO), ends_at.astimezone(TOKYO)
    hours = week.get(start.weekday())
    return hours is None or start.time() < hours[0] or end.time() > hours[1]


def conflicts(
    diary: Diary, travel: TravelTable, starts_at: datetime, ends_at: datetime, site: int | None
) -> list[Conflict]:
    pid = diary.person_id
    local_start, local_end = starts_at.astimezone(TOKYO), ends_at.astimezone(TOKYO)
    day = local_start.date()
    out: list[Conflict] = []
    if diary.week and outside_week(diary.week, starts_at, ends_at):
        out.append(Conflict(pid, "conflict.outside_week"))
    for absence in diary.absences:
        if absence.day != day:
            continue
        whole_day = absence.starts is None or absence.ends is None
        if whole_day or (
            absence.starts < local_end.time() and absence.ends > local_start.time()  # type: ignore[operator]
        ):
            out.append(Conflict(pid, f"conflict.absence.{absence.kind}"))
    for other in diary.busy:
        if other.starts_at < ends_at and other.ends_at > starts_at:
            out.append(Conflict(pid, "conflict.double_booking", other.starts_at))
        elif other.starts_at.astimezone(TOKYO).date() == day:
            if other.ends_at <= starts_at:
                gap, needed = starts_at - other.ends_at, travel_between(travel, other.site, site)
            else:
                gap, needed = other.starts_at - ends_at, travel_between(travel, site, other.site)
            if gap < timedelta(minutes=needed):
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
