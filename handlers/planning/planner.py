"""Season planner: proposes a whole season of sessions (R5–R7) as plain data.

Input is a `Problem` (contract window, consultants with their weeks and absences, BPR
engagements, quotas, fixed bookings, travel table); output is a `Plan` with the *new*
bookings only, and what could not be placed as `Unplaced` data. Nothing here touches the
database, so the chat handler can run it, show the proposal and book it through
`scheduling`.

How it plans — the rules it keeps, the model and its weights, the five steps (tours,
targets, placement, balance) and why a heuristic rather than CP-SAT — is told in
docs/architecture/planner.md (the documentation site: Architecture → The season planner).
"""

from __future__ import annotations

import bisect
import random
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import combinations, pairwise
from typing import Any

from handlers.core.business_days import fiscal_year, is_business_day
from handlers.core.clock import TOKYO
from handlers.scheduling import rules
from handlers.scheduling.rules import ONLINE
from handlers.scheduling.travel import TravelTable

GRID_MINUTES = 15  # sessions start on the quarter hour
SEARCH_RADIUS_DAYS = 14  # calendar days either side of a target searched for the best option
W_DAY = 2.0  # score per calendar day away from the target date
W_TRAVEL = 1.0  # score per extra car minute
W_LOAD = 2.0  # score per hour a team member is ahead of the least loaded eligible consultant
SAME_DAY_PENALTY = 5 * W_DAY  # two office days (or reserves) on one date: allowed, not liked
REBALANCE_PASSES = 60  # hand-overs of BPR work between consultants, at most
BALANCE_SLACK = 0.5  # sessions above the mean load the most loaded consultant may stay
BALANCE_TRAVEL_PER_HOUR = 60  # car minutes worth adding per hour of work moved off the top

KINDS = ("bpr", "consultation", "office_day", "results_meeting", "reserve")
UNPLACED_WHATS = ("bpr", "office_day", "reserve", "results_meeting")
UNPLACED_REASONS = (
    "no_business_day",  # the window [start, end] has no business day
    "no_march_day",  # the results meeting: no business day in the fiscal year's March
    "no_consultant",  # no consultants at all, or fewer eligible than a session takes
    "no_lead",  # office days: there is no lead consultant
    "no_room",  # no day and time when everyone needed is free under the rules
)


@dataclass(frozen=True)
class Absence:
    day: date
    starts: time | None = None
    ends: time | None = None


@dataclass(frozen=True)
class Consultant:
    id: int
    is_lead: bool = False
    weekly: Mapping[int, tuple[time, time]] | None = None  # weekday 0=Mon → window
    absences: tuple[Absence, ...] = ()


@dataclass(frozen=True)
class EngagementNeed:
    engagement_id: int
    municipality_id: int
    sessions: int  # total for the season, fixed ones included
    consultant_ids: tuple[int, ...]  # eligible consultants
    per_session: int = 1


@dataclass(frozen=True)
class Booking:
    """A fixed, existing session or a planned one."""

    kind: str  # "bpr" | "consultation" | "office_day" | "results_meeting" | "reserve"
    starts_at: datetime  # aware, Asia/Tokyo
    ends_at: datetime
    consultant_ids: tuple[int, ...]
    municipality_id: int | None = None  # None = prefectural office / online
    engagement_id: int | None = None
    online: bool = False
    towns: tuple[int, ...] = ()  # every municipality of a joint session (else municipality_id)


@dataclass(frozen=True)
class Problem:
    start: date  # earliest day for a new booking (contract start or later)
    end: date  # contract end
    consultants: tuple[Consultant, ...]
    engagements: tuple[EngagementNeed, ...]
    travel: TravelTable
    office_days: int = 30
    consultation_reserve: int = 30
    results_meeting: bool = True
    fixed: tuple[Booking, ...] = ()
    office_open: time = time(9)
    office_close: time = time(17)
    bpr_minutes: int = 210  # 4時間程度: a half day, 09:00-12:30 or 13:30-17:00
    office_day_minutes: int = 240
    consultation_minutes: int = 120
    results_minutes: int = 120
    min_gap_days: int = 7
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class Unplaced:
    """Some of one quota that could not be placed, as plain data (worded by the caller)."""

    what: str  # one of UNPLACED_WHATS: "bpr" | "office_day" | "reserve" | "results_meeting"
    count: int  # how many are missing (sessions, office days, reserve windows, 1 meeting)
    reason: str  # one of UNPLACED_REASONS
    engagement_id: int | None = None  # BPR only
    municipality_id: int | None = None  # BPR only

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable, for the stored plan summary."""
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    bookings: tuple[Booking, ...]  # new ones only; reserve windows have kind "reserve"
    unplaced: tuple[Unplaced, ...]  # what could not be placed; empty exactly when complete
    travel_minutes: int  # the whole season's car minutes, fixed bookings included
    stats: Mapping[str, Any]


# --- travel -----------------------------------------------------------------------------


def site_of(booking: Booking) -> int | None:
    """Where a booking happens for travel (`handlers.scheduling.rules.site_of`): `ONLINE`
    for online sessions, the office (None) for office days, else its municipality."""
    where = () if booking.municipality_id is None else (booking.municipality_id,)
    return rules.site_of(booking.kind, booking.online, where)


def towns_of(booking: Booking) -> tuple[int, ...]:
    """The municipalities a booking occupies for the rule that no municipality is in two
    overlapping sessions (`handlers.scheduling.rules.occupies_towns`): every town of a joint
    session, none for the results meeting (every town is invited to it) or the office's own
    bookings."""
    if not rules.occupies_towns(booking.kind):
        return ()
    if booking.towns:
        return booking.towns
    return () if booking.municipality_id is None else (booking.municipality_id,)


def route_minutes(sites: Sequence[int | None], travel: TravelTable) -> int:
    """Office → sites in order → office; online stops need no car and are skipped."""
    path = [None, *(s for s in sites if s != ONLINE), None]
    return sum(travel.minutes(a, b) for a, b in pairwise(path))


def travel_minutes(bookings: Iterable[Booking], travel: TravelTable) -> int:
    """Total car minutes: per consultant per day, office → sites in time order → office."""
    days: dict[tuple[int, date], list[Booking]] = defaultdict(list)
    for booking in bookings:
        for consultant_id in booking.consultant_ids:
            days[consultant_id, booking.starts_at.astimezone(TOKYO).date()].append(booking)
    return sum(
        route_minutes([site_of(b) for b in sorted(day, key=lambda b: b.starts_at)], travel)
        for day in days.values()
    )


# --- internal state ---------------------------------------------------------------------


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _clock(minute: int) -> time:
    """A grid minute as a time of day (midnight at the end of the day as its last moment)."""
    return time(minute // 60, minute % 60) if minute < 24 * 60 else time.max


@dataclass(eq=False)
class _Item:
    """A booking while planning: times in minutes from midnight, team mutable for rebalancing."""

    kind: str
    day: date
    start: int
    end: int
    team: list[int]
    site: int | None
    municipality_id: int | None = None
    engagement_id: int | None = None
    online: bool = False
    fixed: bool = False
    towns: tuple[int, ...] = ()  # municipalities it occupies (`towns_of`)

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 60

    def booking(self) -> Booking:
        def at(minute: int) -> datetime:
            return datetime.combine(self.day, time(minute // 60, minute % 60), tzinfo=TOKYO)

        return Booking(
            kind=self.kind,
            starts_at=at(self.start),
            ends_at=at(self.end),
            consultant_ids=tuple(sorted(self.team)),
            municipality_id=self.municipality_id,
            engagement_id=self.engagement_id,
            online=self.online,
        )


@dataclass
class _Option:
    score: float
    tiebreak: tuple[Any, ...]
    day: date
    start: int
    team: tuple[int, ...]
    visits: tuple[tuple[EngagementNeed, int], ...] = ()  # BPR sessions: engagement, start


class _Tally:
    """Minutes per calendar day with prefix sums (a Fenwick tree), so a consultant's load
    up to a date costs a few steps however many bookings the season holds."""

    def __init__(self, first: date, last: date) -> None:
        self.first = first.toordinal()
        self.size = max(1, last.toordinal() - self.first + 1)
        self.tree = [0] * (self.size + 1)
        self.total = 0

    def add(self, day: date, minutes: int) -> None:
        self.total += minutes
        index = day.toordinal() - self.first + 1
        while 0 < index <= self.size:
            self.tree[index] += minutes
            index += index & -index

    def until(self, day: date | None) -> int:
        if day is None:
            return self.total
        index, found = min(day.toordinal() - self.first + 1, self.size), 0
        while index > 0:
            found += self.tree[index]
            index -= index & -index
        return found


@dataclass
class _Season:
    problem: Problem
    days: list[date] = field(default_factory=list)  # business days of the window
    items: list[_Item] = field(default_factory=list)
    diary: dict[tuple[int, date], list[_Item]] = field(default_factory=lambda: defaultdict(list))
    rank: dict[int, float] = field(default_factory=dict)  # seeded tie-break per consultant
    engagement_days: dict[int | None, list[date]] = field(
        default_factory=lambda: defaultdict(list)
    )  # days of each engagement's BPR sessions, fixed and new
    town_days: dict[tuple[int, date], list[_Item]] = field(
        default_factory=lambda: defaultdict(list)
    )  # what occupies each municipality on each day, fixed and new

    def __post_init__(self) -> None:
        p = self.problem
        day = p.start
        while day <= p.end:
            if is_business_day(day):
                self.days.append(day)
            day += timedelta(days=1)
        self.ordinals = [d.toordinal() for d in self.days]
        self.open = _minutes(p.office_open)
        self.close = _minutes(p.office_close)
        self.consultants = {c.id: c for c in p.consultants}
        fixed_days = [b.starts_at.astimezone(TOKYO).date() for b in p.fixed]
        first, last = min([p.start, *fixed_days]), max([p.end, *fixed_days])
        self.tallies: dict[tuple[int, bool], _Tally] = defaultdict(lambda: _Tally(first, last))
        self.away = {(c.id, a.day) for c in p.consultants for a in c.absences}
        rng = random.Random(p.seed)
        self.rank = {c.id: rng.random() for c in sorted(p.consultants, key=lambda c: c.id)}
        for booking in p.fixed:
            self.add(_from_booking(booking))

    # -- bookkeeping --

    def add(self, item: _Item) -> None:
        self.items.append(item)
        if item.kind == "bpr":
            self.engagement_days[item.engagement_id].append(item.day)
        for town in item.towns:
            self.town_days[town, item.day].append(item)
        for consultant_id in item.team:
            self._enter(consultant_id, item)

    def remove(self, item: _Item) -> None:
        self.items.remove(item)
        if item.kind == "bpr":
            self.engagement_days[item.engagement_id].remove(item.day)
        for town in item.towns:
            self.town_days[town, item.day].remove(item)
        for consultant_id in item.team:
            self._leave(consultant_id, item)

    def _enter(self, consultant_id: int, item: _Item) -> None:
        stops = self.diary[consultant_id, item.day]
        stops.append(item)
        stops.sort(key=lambda i: (i.start, i.end))
        tally = self.tallies[consultant_id, item.kind == "reserve"]
        tally.add(item.day, item.end - item.start)

    def _leave(self, consultant_id: int, item: _Item) -> None:
        self.diary[consultant_id, item.day].remove(item)
        tally = self.tallies[consultant_id, item.kind == "reserve"]
        tally.add(item.day, item.start - item.end)

    def new_items(self, kind: str) -> list[_Item]:
        return [i for i in self.items if i.kind == kind and not i.fixed]

    def count(self, *kinds: str, engagement_id: int | None = None) -> int:
        return sum(
            1
            for i in self.items
            if i.kind in kinds and (engagement_id is None or i.engagement_id == engagement_id)
        )

    def load(self, consultant_id: int, until: date | None = None, reserves: bool = False) -> float:
        """Hours booked (optionally up to a date, optionally with reserve windows)."""
        minutes = self.tallies[consultant_id, False].until(until)
        if reserves:
            minutes += self.tallies[consultant_id, True].until(until)
        return minutes / 60

    # -- feasibility --

    def window(self, consultant_id: int, day: date) -> tuple[int, int] | None:
        """Office hours cut to the usual week (`handlers.scheduling.rules.usual_hours`)."""
        hours = rules.usual_hours(self.consultants[consultant_id].weekly, day)
        if hours is None:
            return None
        lo, hi = max(self.open, _minutes(hours[0])), min(self.close, _minutes(hours[1]))
        return (lo, hi) if lo < hi else None

    def absent(self, consultant_id: int, day: date, start: int, end: int) -> bool:
        """`handlers.scheduling.rules.absence_blocks`, the diary's rule, on grid minutes."""
        if (consultant_id, day) not in self.away:
            return False
        begin, finish = _clock(start), _clock(end)
        return any(
            rules.absence_blocks(absence, day, begin, finish)
            for absence in self.consultants[consultant_id].absences
        )

    def route_ok(self, stops: Sequence[_Item]) -> bool:
        """No overlaps and the travel buffer (`handlers.scheduling.rules.travel_gap_ok`), for
        one consultant-day sorted by start.

        Every pair of stops, not only neighbours (as `handlers.scheduling.diary` checks hand
        bookings); the drive from the office to the first stop and back from the last may
        fall outside office hours."""
        travel, fits = self.problem.travel, rules.travel_gap_ok  # looked up once: a hot loop
        for index, first in enumerate(stops):
            for later in stops[index + 1 :]:
                if not fits(later.start - first.end, travel, first.site, later.site):
                    return False
        return True

    def starts(
        self,
        consultant_id: int,
        day: date,
        minutes: int,
        site: int | None,
        first_only: bool,
        moving: Sequence[_Item] = (),
    ) -> list[int]:
        """Grid start minutes at which the consultant can take a new stop at `site`: free
        under the rules, and (on site in a municipality) the municipality in no other
        session then; `moving` are the items being handed over, which do not count."""
        window = self.window(consultant_id, day)
        if window is None:
            return []
        lo, hi = window
        stops = self.diary.get((consultant_id, day), [])
        busy = sum(max(0, min(s.end, hi) - max(s.start, lo)) for s in stops)
        if busy + minutes > hi - lo:
            return []
        town = [
            i
            for i in self.town_days.get((site, day), ())  # type: ignore[call-overload]
            if i not in moving
        ]
        first = -(-lo // GRID_MINUTES) * GRID_MINUTES
        grid = range(first, hi - minutes + 1, GRID_MINUTES)
        if not stops and not town and (consultant_id, day) not in self.away:
            return list(grid[:1] if first_only else grid)  # a free day: every start fits
        if not self.route_ok(stops):
            return []  # fixed bookings that break the rules already: nothing fits with them
        found: list[int] = []
        for start in grid:
            if self.absent(consultant_id, day, start, start + minutes):
                continue
            if any(i.start < start + minutes and start < i.end for i in town):
                continue
            if self.fits_among(stops, start, start + minutes, site):
                found.append(start)
                if first_only:
                    break
        return found

    def fits_among(self, stops: Sequence[_Item], start: int, end: int, site: int | None) -> bool:
        """Whether a new stop [start, end) at `site` keeps the travel buffer with each of a
        consultant-day's `stops` (sorted, keeping it among themselves): `route_ok` of the day
        with the stop added, at the cost of its own pairs only."""
        travel, fits = self.problem.travel, rules.travel_gap_ok
        for stop in stops:
            if (stop.start, stop.end) <= (start, end):  # the new stop sorts after it
                if not fits(start - stop.end, travel, stop.site, site):
                    return False
            elif not fits(stop.start - end, travel, site, stop.site):
                return False
        return True

    def day_travel(self, consultant_id: int, day: date) -> int:
        stops = self.diary.get((consultant_id, day), [])
        return route_minutes([s.site for s in stops], self.problem.travel)

    def extra_travel(
        self, consultant_id: int, day: date, start: int, end: int, site: int | None
    ) -> int:
        stops = self.diary.get((consultant_id, day), [])
        before = self.day_travel(consultant_id, day)
        probe = _Item("probe", day, start, end, [], site)
        after = sorted([*stops, probe], key=lambda i: (i.start, i.end))
        return route_minutes([s.site for s in after], self.problem.travel) - before

    def team_start(
        self, team: Sequence[int], day: date, minutes: int, site: int | None, prefer: Sequence[int]
    ) -> int | None:
        """The start every member can make: a preferred one if possible, else the earliest."""
        common: set[int] | None = None
        for consultant_id in team:
            found = set(self.starts(consultant_id, day, minutes, site, first_only=False))
            common = found if common is None else common & found
            if not common:
                return None
        assert common is not None
        for start in prefer:
            if start in common:
                return start
        return min(common)

    # -- search --

    def days_near(self, target: date) -> Iterator[tuple[int, date]]:
        """Window business days with their calendar distance from the target, nearer first."""
        middle = target.toordinal()
        right = bisect.bisect_left(self.ordinals, middle)
        left = right - 1
        while left >= 0 or right < len(self.days):
            after = self.ordinals[right] - middle if right < len(self.days) else None
            before = middle - self.ordinals[left] if left >= 0 else None
            if before is None or (after is not None and after < before):
                yield after, self.days[right]  # type: ignore[misc]
                right += 1
            else:
                yield before, self.days[left]
                left -= 1

    def best(self, target: date, options: Any, radius: int = SEARCH_RADIUS_DAYS) -> _Option | None:
        """The best option near `target`; `options(day, distance)` yields candidate options.

        Stops once the distance alone costs more than the best found, or past the radius
        once anything fits."""
        best: _Option | None = None
        for distance, day in self.days_near(target):
            if best is not None and (distance > radius or W_DAY * distance > best.score):
                break
            for option in options(day, distance):
                if best is None or (option.score, option.tiebreak) < (best.score, best.tiebreak):
                    best = option
        return best


def _from_booking(booking: Booking) -> _Item:
    starts, ends = booking.starts_at.astimezone(TOKYO), booking.ends_at.astimezone(TOKYO)
    end_minutes = ends.hour * 60 + ends.minute if ends.date() == starts.date() else 24 * 60
    return _Item(
        kind=booking.kind,
        day=starts.date(),
        start=starts.hour * 60 + starts.minute,
        end=end_minutes,
        team=list(booking.consultant_ids),
        site=site_of(booking),
        municipality_id=booking.municipality_id,
        engagement_id=booking.engagement_id,
        online=booking.online,
        fixed=True,
        towns=towns_of(booking),
    )


# --- targets ----------------------------------------------------------------------------


def spread_targets(
    lo: date, hi: date, taken: Iterable[date], count: int, phase: float
) -> list[date]:
    """Target dates for `count` new sessions in [lo, hi], evenly between the taken ones.

    New points go, one at a time, to the stretch whose spacing stays widest; a stretch
    between two taken dates with j points has spacing L/(j+1), one open at one end
    L/(j+½), the whole window (nothing taken) L/j placed at (k+phase)·L/j."""
    if count <= 0:
        return []
    a, b = lo.toordinal(), hi.toordinal()
    inside = sorted({d.toordinal() for d in taken if lo <= d <= hi})
    if not inside:
        segments = [(a, b, "both")]
    else:
        segments = [(a, inside[0], "left")]
        segments += [(x, y, "inner") for x, y in pairwise(inside)]
        segments.append((inside[-1], b, "right"))

    def spacing(index: int, points: int) -> float:
        start, stop, kind = segments[index]
        share = {"both": points, "inner": points + 1}.get(kind, points + 0.5)
        return (stop - start) / share

    counts = [0] * len(segments)
    for _ in range(count):
        chosen = max(range(len(segments)), key=lambda i: (spacing(i, counts[i] + 1), -i))
        counts[chosen] += 1
    targets: list[float] = []
    for (start, stop, kind), points in zip(segments, counts, strict=True):
        length = stop - start
        for k in range(points):
            if kind == "both":
                targets.append(start + (k + phase) * length / points)
            elif kind == "inner":
                targets.append(start + (k + 1) * length / (points + 1))
            elif kind == "left":
                targets.append(stop - (k + 1) * length / (points + 0.5))
            else:
                targets.append(start + (k + 1) * length / (points + 0.5))
    return sorted(date.fromordinal(round(t)) for t in targets)


def monthly_targets(days: Sequence[date], count: int, taken: Iterable[date]) -> list[date]:
    """Target dates for `count` items spread by month in proportion to business days.

    Months are filled one item at a time where the total (taken + new) falls furthest
    short of its fair share, then each month's new items are spaced evenly in it."""
    if count <= 0 or not days:
        return []
    months: dict[tuple[int, int], list[date]] = defaultdict(list)
    for day in days:
        months[day.year, day.month].append(day)
    have = Counter((d.year, d.month) for d in taken if (d.year, d.month) in months)
    total = count + sum(have.values())
    new: Counter[tuple[int, int]] = Counter()
    for _ in range(count):
        month = max(
            months,
            key=lambda m: (total * len(months[m]) / len(days) - have[m] - new[m], -m[0], -m[1]),
        )
        new[month] += 1
    targets = []
    for month, n in sorted(new.items()):
        pool = months[month]
        targets += [pool[int((k + 0.5) * len(pool) / n)] for k in range(n)]
    return sorted(targets)


# --- placing each kind ------------------------------------------------------------------


def _place_results_meeting(season: _Season) -> None:
    p = season.problem
    if not p.results_meeting or season.count("results_meeting"):
        return
    team = tuple(sorted(season.consultants))
    year = fiscal_year(p.start)  # the contract's programme year
    if not team or not any(rules.is_results_meeting_day(d, year) for d in season.days):
        return  # reported by _unplaced
    prefer = [14 * 60, 10 * 60]

    def options(day: date, distance: int) -> Iterator[_Option]:
        if not rules.is_results_meeting_day(day, year):
            return
        start = season.team_start(team, day, p.results_minutes, ONLINE, prefer)
        if start is not None:
            yield _Option(W_DAY * distance, (day,), day, start, team)

    chosen = season.best(date(*rules.results_meeting_month(year), 15), options, radius=31)
    if chosen is None:
        return
    season.add(
        _Item(
            "results_meeting",
            chosen.day,
            chosen.start,
            chosen.start + p.results_minutes,
            list(team),
            ONLINE,
            online=True,
        )
    )


def _place_office_days(season: _Season) -> None:
    p = season.problem
    missing = p.office_days - season.count("office_day")
    if missing <= 0:
        return
    leads = tuple(sorted(c.id for c in p.consultants if c.is_lead))
    if not leads:
        return
    taken = [i.day for i in season.items if i.kind == "office_day"]
    minutes = p.office_day_minutes
    prefer = [season.open, season.close - minutes]  # the morning or the afternoon half-day
    for target in monthly_targets(season.days, missing, taken):
        used = Counter(i.day for i in season.items if i.kind == "office_day")

        def options(day: date, distance: int) -> Iterator[_Option]:
            start = season.team_start(leads, day, minutes, None, prefer)
            if start is not None:
                score = W_DAY * distance + SAME_DAY_PENALTY * used[day]  # noqa: B023
                yield _Option(score, (day,), day, start, leads)

        chosen = season.best(target, options)
        if chosen is not None:
            end = chosen.start + minutes
            season.add(_Item("office_day", chosen.day, chosen.start, end, [*leads], None))


def _eligible(season: _Season, need: EngagementNeed) -> list[int]:
    return sorted({c for c in need.consultant_ids if c in season.consultants})


def _spaced(season: _Season, need: EngagementNeed, day: date) -> bool:
    """No other session of the engagement within `min_gap_days` of `day`
    (`handlers.scheduling.rules.too_close`)."""
    gap, too_close = season.problem.min_gap_days, rules.too_close
    return not any(
        too_close(day, other, gap) for other in season.engagement_days[need.engagement_id]
    )


def _visit_score(
    season: _Season, need: EngagementNeed, team: Sequence[int], day: date, start: int
) -> float:
    """Travel and load part of a session's score (the day distance is added by the caller)."""
    site, end = need.municipality_id, start + season.problem.bpr_minutes
    floor = min(season.load(c, until=day) for c in _eligible(season, need))
    extra = sum(max(0, season.extra_travel(c, day, start, end, site)) for c in team)
    ahead = sum(season.load(c, until=day) - floor for c in team)
    return W_TRAVEL * extra + W_LOAD * ahead


def _bpr_options(
    season: _Season,
    need: EngagementNeed,
    teams: Iterable[tuple[int, ...]],
    day: date,
    distance: int,
) -> Iterator[_Option]:
    if not _spaced(season, need, day):
        return
    site, minutes = need.municipality_id, season.problem.bpr_minutes
    for team in teams:
        if len(team) == 1:
            found = season.starts(team[0], day, minutes, site, first_only=True)
            start = found[0] if found else None
        else:
            start = season.team_start(team, day, minutes, site, ())
        if start is None:
            continue
        score = W_DAY * distance + _visit_score(season, need, team, day, start)
        yield _Option(
            score, (tuple(season.rank[c] for c in team), day), day, start, team, ((need, start),)
        )


def _teams(season: _Season, need: EngagementNeed) -> list[tuple[int, ...]]:
    """Every team that can carry one of the engagement's sessions."""
    if need.per_session < 1:
        return []
    return list(combinations(_eligible(season, need), need.per_session))


# --- tours: which engagements share a consultant-day, and how often ----------------------


@dataclass(frozen=True)
class _Reach:
    """Two engagements one team can visit on one day, and the car minutes that saves:
    travel(office, a) + travel(office, b) - travel(a, b) against two round trips."""

    first: int  # engagement ids, first < second
    second: int
    saved: int
    teams: tuple[tuple[int, ...], ...]  # teams eligible for both


@dataclass
class _TourPlan:
    """How the missing sessions are to be carried: tours per (engagement, engagement,
    team) and, for one-consultant engagements, sessions on their own per consultant."""

    tours: Counter[tuple[int, int, tuple[int, ...]]]
    singles: Counter[tuple[int, int]]  # (engagement, consultant) → sessions


def _reaches(season: _Season) -> list[_Reach]:
    """Every pair of engagements within reach of each other on one day: both sessions and
    the drive between them fit the office hours, and `per_session` consultants are eligible
    for both."""
    p = season.problem
    travel, span = p.travel, season.close - season.open
    found = []
    for a, b in combinations(sorted(p.engagements, key=lambda n: n.engagement_id), 2):
        if a.per_session != b.per_session or a.engagement_id == b.engagement_id:
            continue
        teams = tuple(t for t in _teams(season, a) if set(t) <= set(_eligible(season, b)))
        between = travel.minutes(a.municipality_id, b.municipality_id)
        if not teams or 2 * p.bpr_minutes + between > span:
            continue
        saved = travel.minutes(None, a.municipality_id) + travel.minutes(None, b.municipality_id)
        if saved - between > 0:
            found.append(_Reach(a.engagement_id, b.engagement_id, saved - between, teams))
    return found


def _assign(
    demand: Mapping[int, int], eligible: Mapping[int, Sequence[int]], room: Mapping[int, int]
) -> Counter[tuple[int, int]] | None:
    """Sessions per (engagement, consultant) carrying every session in `demand` with no
    consultant above their `room`, or None if impossible: a maximum flow by shortest
    augmenting paths over this small bipartite graph, deterministic."""
    flow: Counter[tuple[int, int]] = Counter()
    left = {c: max(0, r) for c, r in room.items()}
    for engagement in sorted(demand):
        wanted = demand[engagement]
        while wanted > 0:
            path = _augmenting_path(engagement, eligible, flow, left)
            if path is None:
                return None
            end = path[-1][1]
            push = min(
                wanted,
                left[end],
                *(flow[e, c] for (e, c), sign in zip(path, _signs(path), strict=True) if sign < 0),
            )
            for (e, c), sign in zip(path, _signs(path), strict=True):
                flow[e, c] += sign * push
            left[end] -= push
            wanted -= push
    return +flow


def _signs(path: Sequence[tuple[int, int]]) -> list[int]:
    return [1 if index % 2 == 0 else -1 for index in range(len(path))]


def _augmenting_path(
    start: int,
    eligible: Mapping[int, Sequence[int]],
    flow: Mapping[tuple[int, int], int],
    left: Mapping[int, int],
) -> list[tuple[int, int]] | None:
    """(engagement, consultant) edges from `start` to a consultant with room left,
    alternately added to and taken from the flow; breadth first."""
    previous: dict[int, tuple[int, int | None]] = {}  # consultant → (engagement, came from)
    seen_engagements = {start}
    frontier: list[tuple[int, int | None]] = [(start, None)]
    while frontier:
        following: list[tuple[int, int | None]] = []
        for engagement, came in frontier:
            for consultant in eligible.get(engagement, ()):
                if consultant in previous or consultant not in left:
                    continue
                previous[consultant] = (engagement, came)
                if left[consultant] > 0:
                    path: list[tuple[int, int]] = []
                    here: int | None = consultant
                    while here is not None:
                        via, back = previous[here]
                        path.append((via, here))
                        if back is not None:
                            path.append((via, back))
                        here = back
                    return path[::-1]
                for (other, held), units in sorted(flow.items()):
                    if held == consultant and units > 0 and other not in seen_engagements:
                        seen_engagements.add(other)
                        following.append((other, consultant))
        frontier = following
    return None


def _rooms(
    season: _Season, demand: Mapping[int, int], eligible: Mapping[int, Sequence[int]]
) -> dict[int, int]:
    """Sessions each consultant may take at the most even load that carries `demand`."""
    base = {c: season.load(c) for c in sorted(season.consultants)}
    return _even(base, season.problem.bpr_minutes / 60, demand, eligible)[1]


def _even(
    base: Mapping[int, float],
    hours: float,
    demand: Mapping[int, int],
    eligible: Mapping[int, Sequence[int]],
) -> tuple[float, dict[int, int]]:
    """The most even load that carries `demand` sessions of `hours` each on top of `base`
    hours: the least cap on anyone's hours under which every session still has an
    eligible consultant (found by bisection), and the sessions each may take under it."""
    total = sum(demand.values())

    def rooms_at(cap: float) -> dict[int, int]:
        return {c: max(0, int((cap - b) / hours + 1e-9)) for c, b in base.items()}

    caps = sorted({b + k * hours for b in base.values() for k in range(total + 1)})
    if not caps or _assign(demand, eligible, rooms_at(caps[-1])) is None:
        return (caps[-1] if caps else 0.0), {c: total for c in base}
    lo, hi = 0, len(caps) - 1
    while lo < hi:
        middle = (lo + hi) // 2
        if _assign(demand, eligible, rooms_at(caps[middle])) is None:
            lo = middle + 1
        else:
            hi = middle
    return caps[lo], rooms_at(caps[lo])


def _plan_tours(season: _Season, missing: Mapping[int, int]) -> _TourPlan:
    """Which sessions go on tours, with whom, and who carries the rest.

    Balance first: the cap on each consultant's sessions is the most even load that can
    carry every missing session (`_rooms`). Then tours are added one at a time, the move
    that saves the most car minutes first while the sessions left on their own can still
    be carried under the cap (`_assign`): a new tour of two engagements with sessions to
    spare, or an exchange along an alternating path — a tour (a, b) given up for (x, a)
    and (b, y) — which is how a cluster of three or more towns ends up with every two of
    them touring on different days instead of one pair taking everything. A tour that
    saves more than balance is worth (`BALANCE_TRAVEL_PER_HOUR` per hour of a session,
    what `_rebalance` would pay to move one of its sessions away) may go over the cap."""
    needs = {n.engagement_id: n for n in season.problem.engagements}
    carried = {
        e: _eligible(season, n)
        for e, n in needs.items()
        if missing.get(e, 0) > 0 and n.per_session == 1 and _eligible(season, n)
    }
    room = _rooms(season, {e: missing[e] for e in carried}, carried)
    reaches = [r for r in _reaches(season) if missing.get(r.first) and missing.get(r.second)]
    by_engagement: dict[int, list[_Reach]] = defaultdict(list)
    for reach in reaches:
        by_engagement[reach.first].append(reach)
        by_engagement[reach.second].append(reach)
    worth = BALANCE_TRAVEL_PER_HOUR * season.problem.bpr_minutes / 60  # per session moved
    dear = {(r.first, r.second) for r in reaches if r.saved > worth}
    tours: Counter[tuple[int, int, tuple[int, ...]]] = Counter()
    used: Counter[int] = Counter()
    busy: Counter[tuple[int, bool]] = Counter()  # (consultant, dear) → sessions on tours

    def change(key: tuple[int, int, tuple[int, ...]], by: int) -> None:
        tours[key] += by
        used[key[0]] += by
        used[key[1]] += by
        for member in key[2]:
            busy[member, key[:2] in dear] += 2 * by

    def carry() -> Counter[tuple[int, int]] | None:
        if any(busy[c, False] > room.get(c, 0) for c, _ in busy):
            return None
        rest = {e: missing[e] - used[e] for e in carried}
        left = {c: r - busy[c, False] - busy[c, True] for c, r in room.items()}
        return _assign(rest, carried, left)

    singles = carry() or Counter()
    while True:
        for _, adds, drops in _tour_moves(reaches, by_engagement, tours, missing, used):
            for key in drops:
                change(key, -1)
            for key in adds:
                change(key, 1)
            found = carry()
            if found is not None:
                singles = found
                break
            for key in adds:
                change(key, -1)
            for key in drops:
                change(key, 1)
        else:
            break
    return _TourPlan(+tours, singles)


_Key = tuple[int, int, tuple[int, ...]]


def _tour_moves(
    reaches: Sequence[_Reach],
    by_engagement: Mapping[int, Sequence[_Reach]],
    tours: Mapping[_Key, int],
    missing: Mapping[int, int],
    used: Mapping[int, int],
) -> list[tuple[Any, tuple[_Key, ...], tuple[_Key, ...]]]:
    """Moves that save car minutes, best first: (sort key, tours added, tours given up)."""

    def free(engagement: int, wanted: int = 1) -> bool:
        return missing.get(engagement, 0) - used.get(engagement, 0) >= wanted

    def other(reach: _Reach, engagement: int) -> int:
        return reach.second if reach.first == engagement else reach.first

    moves: list[tuple[Any, tuple[_Key, ...], tuple[_Key, ...]]] = []
    for reach in reaches:
        if free(reach.first) and free(reach.second):
            for team in reach.teams:
                key = (reach.first, reach.second, team)
                moves.append(((-reach.saved, 1, key), (key,), ()))
    savings = {(r.first, r.second): r.saved for r in reaches}
    for dropped, count in sorted(tours.items()):
        if count <= 0:
            continue
        a, b, _ = dropped
        lost = savings[a, b]
        ends = {a: [r for r in by_engagement[a] if free(other(r, a)) and other(r, a) != b]}
        ends[b] = [r for r in by_engagement[b] if free(other(r, b)) and other(r, b) != a]
        for reach in (*ends[a], *ends[b]):  # (x, a) or (b, y) replaces (a, b)
            gain = reach.saved - lost
            for team in reach.teams if gain > 0 else ():
                key = (reach.first, reach.second, team)
                moves.append(((-gain, 2, key, dropped), (key,), (dropped,)))
        for left_reach in ends[a]:  # (x, a) and (b, y) replace (a, b)
            x = other(left_reach, a)
            for right_reach in ends[b]:
                y = other(right_reach, b)
                gain = left_reach.saved + right_reach.saved - lost
                if gain <= 0 or (x == y and not free(x, 2)):
                    continue
                for left_team in left_reach.teams:
                    for right_team in right_reach.teams:
                        keys = (
                            (left_reach.first, left_reach.second, left_team),
                            (right_reach.first, right_reach.second, right_team),
                        )
                        moves.append(((-gain, 3, keys, dropped), keys, (dropped,)))
    moves.sort(key=lambda m: m[0])
    return moves


# --- tours: when, and placing them ---------------------------------------------------------


@dataclass(frozen=True)
class _Tour:
    """One consultant-day (per team) visiting two engagements, one session each."""

    first: EngagementNeed
    first_target: date
    second: EngagementNeed
    second_target: date
    team: tuple[int, ...] | None  # the team the tour plan gave it, tried first
    teams: tuple[tuple[int, ...], ...]  # every team eligible for both

    @property
    def target(self) -> date:
        middle = (self.first_target.toordinal() + self.second_target.toordinal()) / 2
        return date.fromordinal(int(middle))


def _tour_options(
    season: _Season, tour: _Tour, teams: Iterable[tuple[int, ...]], day: date
) -> Iterator[_Option]:
    """Both sessions on `day` by one team: either engagement first, at the earliest start,
    the other after it (preferring the afternoon half-day)."""
    if not (_spaced(season, tour.first, day) and _spaced(season, tour.second, day)):
        return
    minutes = season.problem.bpr_minutes
    spread = abs((day - tour.first_target).days) + abs((day - tour.second_target).days)
    for team in teams:
        ranks = tuple(season.rank[c] for c in team)
        for order, (a, b) in enumerate(((tour.first, tour.second), (tour.second, tour.first))):
            start_a = season.team_start(team, day, minutes, a.municipality_id, (season.open,))
            if start_a is None:
                continue
            score_a = _visit_score(season, a, team, day, start_a)
            visit = _bpr_item(season, a, day, start_a, team)
            season.add(visit)
            afternoon = (season.close - minutes,)
            start_b = season.team_start(team, day, minutes, b.municipality_id, afternoon)
            score_b = None if start_b is None else _visit_score(season, b, team, day, start_b)
            season.remove(visit)
            if start_b is None or score_b is None:
                continue
            score = W_DAY * spread + score_a + score_b
            visits = ((a, start_a), (b, start_b))
            yield _Option(score, (ranks, day, order), day, start_a, team, visits)


def _clusters(
    engagements: Sequence[EngagementNeed], plan: _TourPlan
) -> list[tuple[EngagementNeed, ...]]:
    """Engagements linked by planned tours, each group in id order; the rest alone."""
    group = {n.engagement_id: n.engagement_id for n in engagements}

    def root(e: int) -> int:
        while group[e] != e:
            e = group[e]
        return e

    for a, b, _ in sorted(plan.tours):
        first, second = sorted((root(a), root(b)))
        group[second] = first
    members: dict[int, list[EngagementNeed]] = defaultdict(list)
    for need in sorted(engagements, key=lambda n: n.engagement_id):
        members[root(need.engagement_id)].append(need)
    return [tuple(m) for _, m in sorted(members.items())]


def _chain(
    units: Sequence[tuple[EngagementNeed, ...]], travel: TravelTable
) -> list[tuple[EngagementNeed, ...]]:
    """Clusters along a nearest-neighbour chain from the office, so that neighbouring
    clusters are adjacent."""
    left = list(units)
    chain: list[tuple[EngagementNeed, ...]] = []
    here: tuple[int | None, ...] = (None,)
    while left:

        def distance(unit: tuple[EngagementNeed, ...], here: tuple[int | None, ...] = here) -> Any:
            near = min(travel.minutes(h, n.municipality_id) for h in here for n in unit)
            return (near, unit[0].engagement_id)

        nearest = min(left, key=distance)
        chain.append(nearest)
        left.remove(nearest)
        here = tuple(n.municipality_id for n in nearest)
    return chain


def _match_tours(
    cluster: Sequence[EngagementNeed],
    targets: Mapping[int, Sequence[date]],
    plan: _TourPlan,
    season: _Season,
) -> list[tuple[date, EngagementNeed | _Tour, tuple[int, ...] | None]]:
    """The cluster's sessions as tasks (target, tour or engagement, team tried first).

    The targets of all its engagements are swept in date order; each one still free
    becomes a tour with the nearest later free target of an engagement it has planned
    tours left with, else a session on its own. With the members' targets staggered,
    a cluster of three touring every two of its towns comes out as a rotation."""
    needs = {n.engagement_id: n for n in cluster}
    left: Counter[tuple[int, int]] = Counter()
    teams_left: dict[tuple[int, int], Counter[tuple[int, ...]]] = defaultdict(Counter)
    for (a, b, team), count in plan.tours.items():
        if a in needs:
            left[a, b] += count
            teams_left[a, b][team] += count
    alone = {e: Counter({c: n for (f, c), n in plan.singles.items() if f == e}) for e in needs}
    points = sorted((d, e) for e, ds in targets.items() for d in ds)
    taken = [False] * len(points)
    tasks: list[tuple[date, EngagementNeed | _Tour, tuple[int, ...] | None]] = []
    for index, (day, engagement) in enumerate(points):
        if taken[index]:
            continue
        taken[index] = True
        partner = next(
            (
                j
                for j in range(index + 1, len(points))
                if not taken[j] and left[tuple(sorted((engagement, points[j][1])))] > 0
            ),
            None,
        )
        if partner is None:
            pinned = _most(alone[engagement])
            tasks.append((day, needs[engagement], None if pinned is None else (pinned,)))
            continue
        taken[partner] = True
        other_day, other = points[partner]
        key = (min(engagement, other), max(engagement, other))
        left[key] -= 1
        team = _most(teams_left[key])
        first, second = needs[engagement], needs[other]
        common = tuple(t for t in _teams(season, first) if set(t) <= set(_eligible(season, second)))
        tour = _Tour(first, day, second, other_day, team, common)
        tasks.append((tour.target, tour, team))
    return tasks


def _most(counts: Counter[Any]) -> Any:
    """Take one of the most plentiful key (the smallest on a tie), or None if none left."""
    if not +counts:
        return None
    key = min(+counts, key=lambda k: (-counts[k], k))
    counts[key] -= 1
    return key


def _place_bpr(season: _Season) -> None:
    p = season.problem
    lo, hi = (season.days[0], season.days[-1]) if season.days else (p.start, p.end)
    missing = {
        n.engagement_id: max(0, n.sessions - len(season.engagement_days[n.engagement_id]))
        if season.days
        else 0
        for n in p.engagements
    }
    plan = _plan_tours(season, missing)
    chain = _chain(_clusters(p.engagements, plan), p.travel)
    tasks: list[tuple[date, int, int, EngagementNeed | _Tour, tuple[int, ...] | None]] = []
    for position, cluster in enumerate(chain):
        targets = {}
        for member, need in enumerate(cluster):
            phase = ((position + 0.5) / len(chain) + member / len(cluster)) % 1
            have = season.engagement_days[need.engagement_id]
            count = missing[need.engagement_id]
            targets[need.engagement_id] = spread_targets(lo, hi, have, count, phase)
        for target, task, team in _match_tours(cluster, targets, plan, season):
            first = task.first if isinstance(task, _Tour) else task
            tasks.append((target, position, first.engagement_id, task, team))
    failed: Counter[int] = Counter()
    for target, _, _, task, team in sorted(tasks, key=lambda t: t[:3]):
        if isinstance(task, _Tour):
            for need in _place_tour(season, task):
                failed[need.engagement_id] += 1
        elif _place_single(season, task, target, team) is None:
            failed[task.engagement_id] += 1
    for need in p.engagements:
        if failed[need.engagement_id]:
            failed[need.engagement_id] = _repack(season, need, failed[need.engagement_id])


def _pinned_best(
    season: _Season,
    target: date,
    options: Any,
    team: tuple[int, ...] | None,
    teams: Sequence[tuple[int, ...]],
) -> _Option | None:
    """The best option for the team the tour plan chose, else for any eligible team;
    `options(teams)` gives the `season.best` option function for those teams."""
    if team is not None and team in teams:
        chosen = season.best(target, options((team,)))
        if chosen is not None:
            return chosen
    return season.best(target, options(teams))


def _place_single(
    season: _Season, need: EngagementNeed, target: date, team: tuple[int, ...] | None = None
) -> tuple[float, _Item] | None:
    """Book one session at its best option near `target`: its score and item, or None."""
    teams = _teams(season, need)
    if not teams:
        return None
    chosen = _pinned_best(
        season,
        target,
        lambda some: lambda day, distance: _bpr_options(season, need, some, day, distance),
        team,
        teams,
    )
    if chosen is None:
        return None
    item = _bpr_item(season, need, chosen.day, chosen.start, chosen.team)
    season.add(item)
    return chosen.score, item


def _place_tour(season: _Season, tour: _Tour) -> list[EngagementNeed]:
    """Book a tour, or its two sessions separately when that scores better (or the tour
    fits nowhere); the engagements whose session could not be placed."""
    chosen = _pinned_best(
        season,
        tour.target,
        lambda some: lambda day, _: _tour_options(season, tour, some, day),
        tour.team,
        tour.teams,
    )
    first = _place_single(season, tour.first, tour.first_target, tour.team)
    second = _place_single(season, tour.second, tour.second_target, tour.team)
    singles = [s for s in (first, second) if s is not None]
    if chosen is None or (len(singles) == 2 and sum(s[0] for s in singles) < chosen.score):
        return [n for n, s in ((tour.first, first), (tour.second, second)) if s is None]
    for _, item in singles:
        season.remove(item)
    for need, start in chosen.visits:
        season.add(_bpr_item(season, need, chosen.day, start, chosen.team))
    return []


def _bpr_item(
    season: _Season, need: EngagementNeed, day: date, start: int, team: Sequence[int]
) -> _Item:
    return _Item(
        "bpr",
        day,
        start,
        start + season.problem.bpr_minutes,
        list(team),
        need.municipality_id,
        municipality_id=need.municipality_id,
        engagement_id=need.engagement_id,
        towns=(need.municipality_id,),
    )


def _repack(season: _Season, need: EngagementNeed, failed: int) -> int:
    """Second chance for an engagement whose spread-out targets left sessions unplaced.

    Even spreading can waste room when the window is tight for the gap (6 sessions two
    weeks apart in 11 weeks); taking the earliest feasible day each time packs the most
    sessions in, so its new sessions are re-placed that way, kept only if more fit."""
    ours = [
        i
        for i in season.items
        if i.kind == "bpr" and not i.fixed and i.engagement_id == need.engagement_id
    ]
    teams = _teams(season, need)
    if not teams:
        return failed
    for item in ours:
        season.remove(item)
    wanted, placed = len(ours) + failed, []
    for day in season.days:
        if len(placed) == wanted:
            break
        options = list(_bpr_options(season, need, teams, day, 0))
        if options:
            chosen = min(options, key=lambda o: (o.score, o.tiebreak))
            placed.append(_bpr_item(season, need, chosen.day, chosen.start, chosen.team))
            season.add(placed[-1])
    if len(placed) > len(ours):
        return wanted - len(placed)
    for item in placed:
        season.remove(item)
    for item in ours:
        season.add(item)
    return failed


def _rebalance(season: _Season) -> int:
    """Hand BPR work from more loaded consultants to less loaded eligible ones at the same
    times, each move narrowing the spread between the two.

    What moves is a consultant's whole BPR day (so a tour stays a tour) or one session of
    it. Moves that do not add travel are made first; while the most loaded consultant is
    still more than `BALANCE_SLACK` sessions above the mean and the only one that loaded,
    the move off them that adds the least travel is made (this can split a tour); with two
    at the top a paid move would not lower the most anyone carries, so none is made."""
    needs = {n.engagement_id: n for n in season.problem.engagements}
    slack = BALANCE_SLACK * season.problem.bpr_minutes / 60
    moves = 0
    for _ in range(REBALANCE_PASSES):
        loads = {c: season.load(c) for c in season.consultants}
        if not loads:
            break
        mean = sum(loads.values()) / len(loads)
        top = max(loads, key=lambda c: (loads[c], -c))
        alone = sum(1 for load in loads.values() if load == loads[top]) == 1
        paid: tuple[Any, ...] | None = None
        for member, group, other in _handovers(season, needs, loads):
            change = _hand_over(season, group, member, other)
            if change is None:
                continue
            if change <= 0:
                paid = None
                moves += 1
                break
            _hand_back(season, group, member, other)
            rate = change / sum(i.hours for i in group)
            if (
                member == top
                and alone  # else the most any consultant carries stays as it is
                and loads[top] > mean + slack
                and rate <= BALANCE_TRAVEL_PER_HOUR
            ):
                key = (rate, group[0].day, other)
                if paid is None or key < paid[0]:
                    paid = (key, group, member, other)
        else:
            if paid is None:
                break
            _, group, member, other = paid
            _hand_over(season, group, member, other)
            moves += 1
    return moves


def _handovers(
    season: _Season, needs: Mapping[int | None, EngagementNeed], loads: Mapping[int, float]
) -> Iterator[tuple[int, list[_Item], int]]:
    """Candidate moves (member, sessions of one day, other) that narrow the pair's spread."""
    days: dict[tuple[int, date], list[_Item]] = defaultdict(list)
    for item in sorted(season.new_items("bpr"), key=lambda i: (i.day, i.start)):
        for member in item.team:
            days[member, item.day].append(item)
    for (member, _), items in sorted(days.items(), key=lambda kv: (kv[0][1], -loads[kv[0][0]])):
        for group in [items, *([i] for i in items)] if len(items) > 1 else [items]:
            hours = sum(i.hours for i in group)
            eligible = set(season.consultants)
            for item in group:
                eligible &= set(needs[item.engagement_id].consultant_ids)
            for other in sorted(eligible, key=lambda c: (loads[c], c)):
                if any(other in i.team for i in group) or loads[other] + hours >= loads[member]:
                    continue
                yield member, group, other


def _hand_over(season: _Season, group: Sequence[_Item], member: int, other: int) -> int | None:
    """Give `other` the member's place in these sessions of one day at the same times: the
    change in the two consultants' travel that day, or None (and no change) if they do not
    fit."""
    day = group[0].day
    before = season.day_travel(member, day) + season.day_travel(other, day)
    for item in group:
        season._leave(member, item)
    entered: list[_Item] = []
    for item in group:
        found = season.starts(other, day, item.end - item.start, item.site, False, group)
        if item.start not in found:
            break
        item.team[item.team.index(member)] = other
        season._enter(other, item)
        entered.append(item)
    if len(entered) == len(group):
        return season.day_travel(member, day) + season.day_travel(other, day) - before
    for item in entered:
        season._leave(other, item)
        item.team[item.team.index(other)] = member
    for item in group:
        season._enter(member, item)
    return None


def _hand_back(season: _Season, group: Sequence[_Item], member: int, other: int) -> None:
    """Undo `_hand_over(season, group, member, other)`."""
    for item in group:
        season._leave(other, item)
        item.team[item.team.index(other)] = member
        season._enter(member, item)


def _place_reserves(season: _Season) -> None:
    p = season.problem
    missing = p.consultation_reserve - season.count("reserve", "consultation")
    if missing <= 0:
        return
    if not season.consultants:
        return
    taken = [i.day for i in season.items if i.kind in ("reserve", "consultation")]
    minutes = p.consultation_minutes
    for target in monthly_targets(season.days, missing, taken):
        used = Counter(i.day for i in season.items if i.kind in ("reserve", "consultation"))
        loads = {c: season.load(c, reserves=True) for c in season.consultants}
        floor = min(loads.values())

        def options(day: date, distance: int) -> Iterator[_Option]:
            for consultant_id in sorted(season.consultants):
                found = season.starts(consultant_id, day, minutes, None, first_only=True)
                if not found:
                    continue
                start = found[0]
                extra = max(
                    0, season.extra_travel(consultant_id, day, start, start + minutes, None)
                )
                score = (
                    W_DAY * distance
                    + W_TRAVEL * extra
                    + W_LOAD * (loads[consultant_id] - floor)  # noqa: B023
                    + SAME_DAY_PENALTY * used[day]  # noqa: B023
                )
                yield _Option(
                    score, (season.rank[consultant_id], day), day, start, (consultant_id,)
                )

        chosen = season.best(target, options)
        if chosen is not None:
            end = chosen.start + minutes
            season.add(_Item("reserve", chosen.day, chosen.start, end, [*chosen.team], None))


def _unplaced(season: _Season) -> tuple[Unplaced, ...]:
    """What is still missing after planning, per quota, with why: counts are the quota
    minus what is booked (fixed and new), so they add up exactly."""
    p = season.problem
    everyone = bool(season.consultants)
    out: list[Unplaced] = []

    def why(*blockers: tuple[bool, str]) -> str:
        if not season.days:
            return "no_business_day"
        return next((reason for blocked, reason in blockers if blocked), "no_room")

    if p.results_meeting and not season.count("results_meeting"):
        year = fiscal_year(p.start)
        in_march = any(rules.is_results_meeting_day(d, year) for d in season.days)
        reason = why((not everyone, "no_consultant"), (not in_march, "no_march_day"))
        out.append(Unplaced(what="results_meeting", count=1, reason=reason))
    missing = p.office_days - season.count("office_day")
    if missing > 0:
        leads = any(c.is_lead for c in p.consultants)
        out.append(Unplaced(what="office_day", count=missing, reason=why((not leads, "no_lead"))))
    for need in p.engagements:
        missing = need.sessions - len(season.engagement_days[need.engagement_id])
        if missing > 0:
            short = need.per_session < 1 or len(_eligible(season, need)) < need.per_session
            out.append(
                Unplaced(
                    what="bpr",
                    count=missing,
                    reason=why((short, "no_consultant")),
                    engagement_id=need.engagement_id,
                    municipality_id=need.municipality_id,
                )
            )
    missing = p.consultation_reserve - season.count("reserve", "consultation")
    if missing > 0:
        out.append(
            Unplaced(what="reserve", count=missing, reason=why((not everyone, "no_consultant")))
        )
    return tuple(out)


# --- balance across consultants ---------------------------------------------------------

IMBALANCE_RATIO = 1.2  # hours above this many times the mean are lopsided


@dataclass(frozen=True, kw_only=True)
class Imbalance:
    """A season whose load across consultants is lopsided, and which engagement could take
    which consultant to even it out, as plain data (worded by the caller)."""

    hours: Mapping[int, float]  # per consultant: fixed and planned, reserve windows apart
    idle: tuple[int, ...]  # without a visit, and under the mean
    over: tuple[int, ...]  # above IMBALANCE_RATIO × the mean
    proposal: tuple[tuple[int, int], ...]  # (engagement, consultant to join its team)
    expected: Mapping[int, float]  # hours per consultant once the proposal is taken (estimate)

    @property
    def mean(self) -> float:
        return sum(self.hours.values()) / len(self.hours)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable, for the stored plan summary."""
        return {
            "hours": {str(c): h for c, h in self.hours.items()},
            "idle": list(self.idle),
            "over": list(self.over),
            "proposal": [list(pair) for pair in self.proposal],
            "expected": {str(c): h for c, h in self.expected.items()},
        }


def season_hours(problem: Problem, plan: Plan) -> dict[int, float]:
    """Hours per consultant over the season, fixed bookings and the plan's, reserve windows
    apart (the lead's office days and the results meeting count); idle ones at 0."""
    hours = {c.id: 0.0 for c in problem.consultants}
    for booking in (*problem.fixed, *plan.bookings):
        if booking.kind != "reserve":
            length = (booking.ends_at - booking.starts_at).total_seconds() / 3600
            for person in booking.consultant_ids:
                if person in hours:
                    hours[person] += length
    return hours


def imbalance(problem: Problem, plan: Plan) -> Imbalance | None:
    """None when the load is even enough; else who is idle or over, and a proposal.

    Lopsided: a consultant without a BPR visit while under the mean (the lead, whose
    office days may fill their season, is not idle), or anyone above `IMBALANCE_RATIO`
    times the mean. The proposal adds consultants to engagements' teams, one at a time,
    each the addition that leaves the fewest idle, then the lowest highest load, then the
    most even loads (sum of squares), while that improves: estimated by spreading the
    plan's BPR sessions evenly over the eligible consultants (`_spread`). The lead's
    office days may keep them over whatever the teams; then the warning stays, with no
    further proposal."""
    hours = season_hours(problem, plan)
    visited = {
        c for b in (*problem.fixed, *plan.bookings) if b.kind == "bpr" for c in b.consultant_ids
    }
    verdict = _lopsided(hours, visited)
    if verdict is None:
        return None
    proposal, expected = _proposal(problem, plan, hours)
    return Imbalance(
        hours=hours, idle=verdict[0], over=verdict[1], proposal=proposal, expected=expected
    )


def _lopsided(
    hours: Mapping[int, float], visited: Collection[int]
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(idle, over), or None when neither: see `imbalance`."""
    if not hours or not visited:
        return None  # no visits at all: nothing to share out
    mean = sum(hours.values()) / len(hours)
    idle = tuple(sorted(c for c, h in hours.items() if c not in visited and h < mean))
    over = tuple(sorted(c for c, h in hours.items() if h > IMBALANCE_RATIO * mean))
    return (idle, over) if idle or over else None


def _proposal(
    problem: Problem, plan: Plan, hours: Mapping[int, float]
) -> tuple[tuple[tuple[int, int], ...], dict[int, float]]:
    """Additions to teams, and the hours expected once they are made (see `imbalance`)."""
    length = problem.bpr_minutes / 60
    people = sorted(hours)
    needs = {n.engagement_id: n for n in problem.engagements if n.per_session == 1}
    demand: Counter[int] = Counter()
    base = dict(hours)
    for booking in plan.bookings:
        if booking.kind == "bpr" and booking.engagement_id in needs:
            demand[booking.engagement_id] += 1
            for person in booking.consultant_ids:
                base[person] -= length
    for entry in plan.unplaced:
        if entry.what == "bpr" and entry.engagement_id in needs:
            demand[entry.engagement_id] += entry.count
    fixed = {c for b in problem.fixed if b.kind == "bpr" for c in b.consultant_ids}
    eligible = {e: [c for c in needs[e].consultant_ids if c in base] for e in demand}

    def outcome(teams: Mapping[int, Sequence[int]]) -> tuple[Any, dict[int, float]]:
        shares = _spread(base, length, demand, teams)
        expected = {c: base[c] + length * shares[c] for c in people}
        visited = fixed | {c for c in people if shares[c]}
        idle = (_lopsided(expected, visited) or ((), ()))[0]
        spread = round(sum(h * h for h in expected.values()) / length**2)
        key = (len(idle), max(expected.values()), spread)
        return key, expected

    chosen: list[tuple[int, int]] = []
    key, expected = outcome(eligible)
    while True:
        trials = [
            (*outcome({**eligible, e: sorted([*eligible[e], c])}), -demand[e], e, c)
            for e in sorted(demand)
            for c in people
            if c not in eligible[e]
        ]
        if not trials:
            break
        best = min(trials, key=lambda trial: (trial[0], trial[2:]))
        if best[0] >= key:
            break
        key, expected, _, e, c = best
        eligible[e] = sorted([*eligible[e], c])
        chosen.append((e, c))
    return tuple(chosen), expected


def _spread(
    base: Mapping[int, float],
    length: float,
    demand: Mapping[int, int],
    eligible: Mapping[int, Sequence[int]],
) -> Counter[int]:
    """Sessions per consultant when each session goes to its least loaded eligible
    consultant, then sessions move while that evens out a pair (an estimate)."""
    load = dict(base)
    flow: Counter[tuple[int, int]] = Counter()
    for e in sorted(demand, key=lambda e: (len(eligible[e]), e)):
        for _ in range(demand[e]):
            if eligible[e]:
                c = min(eligible[e], key=lambda c: (load[c], c))
                flow[e, c] += 1
                load[c] += length
    moved = True
    while moved:
        moved = False
        for (e, c), count in sorted(flow.items()):
            if count <= 0:
                continue
            other = min(eligible[e], key=lambda d: (load[d], d))
            if load[other] + length < load[c]:
                flow[e, c] -= 1
                flow[e, other] += 1
                load[c] -= length
                load[other] += length
                moved = True
    shares: Counter[int] = Counter()
    for (_, c), count in flow.items():
        shares[c] += count
    return shares


# --- entry point ------------------------------------------------------------------------


def plan_season(problem: Problem) -> Plan:
    """Plan what the fixed bookings leave missing; fixed bookings are never moved."""
    season = _Season(problem)
    _place_results_meeting(season)
    _place_office_days(season)
    _place_bpr(season)
    moves = _rebalance(season)
    _place_reserves(season)
    new = sorted(
        (i for i in season.items if not i.fixed), key=lambda i: (i.day, i.start, i.kind, i.team)
    )
    bookings = tuple(i.booking() for i in new)
    every = [*problem.fixed, *bookings]
    return Plan(
        bookings=bookings,
        unplaced=_unplaced(season),
        travel_minutes=travel_minutes(every, problem.travel),
        stats=_stats(season, moves),
    )


def _stats(season: _Season, moves: int) -> dict[str, Any]:
    planned = Counter(i.kind for i in season.items if not i.fixed)
    combined = sum(
        1
        for stops in season.diary.values()
        if len({s.site for s in stops if s.site not in (None, ONLINE)}) >= 2
    )
    return {
        "planned": dict(planned),
        "hours_by_consultant": {c: season.load(c) for c in sorted(season.consultants)},
        "reserve_hours_by_consultant": {
            c: season.load(c, reserves=True) - season.load(c) for c in sorted(season.consultants)
        },
        "combined_days": combined,
        "rebalance_moves": moves,
    }
