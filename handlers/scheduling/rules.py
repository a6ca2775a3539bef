"""The scheduling rules, each defined once as a pure function over plain values.

Whoever decides whether a session may go somewhere asks these: the diary on the rows of
a booking by hand, a proposed slot or a confirmed plan (`handlers.scheduling.diary`,
`handlers.scheduling.booking`), and the season planner on its in-memory season
(`handlers.planning.planner`). So a plan the planner drafts is one booking accepts, and
changing a rule here changes it everywhere at once.

- *Usual week:* a consultant with a usual week works only the hours it gives each
  weekday; no week (or an empty one) limits nothing.
- *Absence:* an absence with both times blocks [starts, ends) of its day; with either
  time missing, the whole day.
- *Travel:* two sessions of one consultant on one day leave at least the car minutes
  between their sites from the earlier one's end to the later one's start (a negative
  gap, an overlap, never does); a site online needs no travel.
- *Spacing:* two sessions of one BPR engagement are at least `min_gap_days` calendar
  days apart (the planner always; a municipality moving its own session too).
- *Towns:* a session occupies its municipalities (no town in two overlapping sessions),
  except the results meeting, to which every town is invited.
- *Results meeting:* in the March that ends its programme year (April–March).
- *Who:* a session is booked only with active consultants.

Storage holds the rules about the record itself (`storage.rules`); the calendar (which
days are open) is `handlers.core.business_days`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Protocol

from handlers.core.business_days import fiscal_year as fiscal_year_of
from handlers.core.clock import TOKYO
from handlers.scheduling.travel import TravelTable
from storage.models import Person, Role, SessionKind

ONLINE = -1  # a site that needs no travel
ALL_HOURS = (time.min, time.max)  # what no usual week (or an empty one) leaves open
RESULTS_MEETING_MONTH = 3  # March, the last month of the programme year

Week = Mapping[int, tuple[time, time]]  # weekday (0 = Monday) → (from, to), Tokyo time


class AbsenceLike(Protocol):
    """An absence as both its row (`storage.models.Absence`) and the planner have it."""

    @property
    def day(self) -> date: ...

    @property
    def starts(self) -> time | None: ...

    @property
    def ends(self) -> time | None: ...


def usual_hours(week: Week | None, day: date) -> tuple[time, time] | None:
    """The hours a usual week leaves open on `day`: `ALL_HOURS` without a week (or with
    an empty one), None when the week does not give that weekday."""
    if not week:
        return ALL_HOURS
    return week.get(day.weekday())


def within_week(week: Week | None, day: date, start: time, end: time) -> bool:
    """Whether [start, end) on `day` lies within the hours the usual week gives it."""
    hours = usual_hours(week, day)
    return hours is not None and hours[0] <= start and end <= hours[1]


def absence_blocks(absence: AbsenceLike, day: date, start: time, end: time) -> bool:
    """Whether `absence` keeps its consultant from [start, end) on `day`."""
    if absence.day != day:
        return False
    if absence.starts is None or absence.ends is None:
        return True
    return absence.starts < end and absence.ends > start


def absence_span(day: date, starts: time | None, ends: time | None) -> tuple[datetime, datetime]:
    """The moments an absence blocks, as `absence_blocks` reads it: [starts, ends) of its
    day, or the whole day when either time is missing (Tokyo time)."""
    if starts is None or ends is None:
        first = datetime.combine(day, time(0), TOKYO)
        return first, first + timedelta(days=1)
    return datetime.combine(day, starts, TOKYO), datetime.combine(day, ends, TOKYO)


def site_of(kind: str, online: bool, municipality_ids: Iterable[int]) -> int | None:
    """Where a session happens, for travel: `ONLINE`, the prefectural office (None) for
    an office day, else its (first) municipality."""
    if online:
        return ONLINE
    if kind == SessionKind.OFFICE_DAY:
        return None
    return next(iter(municipality_ids), None)


def travel_between(travel: TravelTable, a: int | None, b: int | None) -> int:
    """Car minutes from site `a` to site `b`; none to or from an online one."""
    if ONLINE in (a, b):
        return 0
    return travel.minutes(a, b)


def travel_gap_ok(
    gap_minutes: float, travel: TravelTable, earlier: int | None, later: int | None
) -> bool:
    """Whether `gap_minutes` from the end of a session at site `earlier` to the start of
    the consultant's next one at site `later`, that day, leaves the drive between them."""
    return gap_minutes >= travel_between(travel, earlier, later)


def too_close(day: date, other: date, min_gap_days: int) -> bool:
    """Whether two sessions of one BPR engagement on these days break the spacing."""
    return abs((other - day).days) < min_gap_days


def occupies_towns(kind: str) -> bool:
    """Whether a session of this kind keeps its municipalities from other sessions then."""
    return kind != SessionKind.RESULTS_MEETING


def results_meeting_month(fiscal_year: int) -> tuple[int, int]:
    """(year, month) of the results meeting of programme year `fiscal_year` (年度)."""
    return fiscal_year + 1, RESULTS_MEETING_MONTH


def is_results_meeting_day(day: date, fiscal_year: int | None = None) -> bool:
    """Whether the results meeting may be on `day`: in the March of its own programme
    year, or of programme year `fiscal_year` when one is given (the planner's season)."""
    year = fiscal_year_of(day) if fiscal_year is None else fiscal_year
    return (day.year, day.month) == results_meeting_month(year)


def bookable(person: Person | None) -> bool:
    """Whether a session may name `person` as its consultant: an active one (not someone
    deactivated, nor a duplicate merged into their twin)."""
    return person is not None and person.active and person.role == Role.CONSULTANT
