"""An independent checker for season plans, written from the planner's rules, not its code.

It reads a problem and a plan by their public fields only (duck-typed) and returns one
string per broken rule. Rules that involve several bookings (clashes, travel buffer,
spacing) are checked wherever at least one new booking is involved: fixed bookings are
the caller's history, and a conflict among them alone is not the plan's doing.

No municipality is in two overlapping sessions (a joint session counts for every town
in it, the results meeting for none), as booking refuses since issue #14.

Availability is the rule booking by hand applies (handlers/scheduling/diary.py's description): a
weekly pattern, when a consultant has a non-empty one, limits the weekdays and hours; an
absence with both a start and an end blocks [start, end), one missing either blocks the
whole day; an online session needs no travel to or from it (and the car does not move
for it, so it is no stop on the day's route).

What the plan reports unplaced must account exactly for what is missing: per quota, the
counts of its entries add up to the quota minus what is booked, so a plan that leaves
something out and does not say so, or claims more missing than is, is rejected.
`check_complete` is stricter, for instances that are feasible by construction: nothing
may be reported unplaced and every quota must be met.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from handlers.core.business_days import is_business_day
from handlers.scheduling.travel import TravelTable

TOKYO_OFFSET = timedelta(hours=9)
PLANNED_KINDS = {"bpr", "office_day", "results_meeting", "reserve"}
ONLINE = "online"  # the checker's own marker for a place that needs no travel


def _clock(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _local(moment: datetime) -> datetime:
    return (moment - moment.utcoffset() + TOKYO_OFFSET).replace(tzinfo=None)  # type: ignore[operator]


def _place(booking: Any) -> int | str | None:
    """Municipality id, None for the prefectural office, ONLINE for online sessions."""
    if booking.online:
        return ONLINE
    return None if booking.kind == "office_day" else booking.municipality_id


def _travel(travel: TravelTable, a: int | str | None, b: int | str | None) -> int:
    if a == ONLINE or b == ONLINE:
        return 0
    return travel.minutes(a, b)  # type: ignore[arg-type]


def _since_midnight(moment: datetime, day: date) -> int:
    """Minutes from the start of `day` (Tokyo) to `moment`; past midnight counts on."""
    return int((_local(moment) - datetime.combine(day, time(0))).total_seconds() // 60)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _describe(booking: Any) -> str:
    start = _local(booking.starts_at)
    return (
        f"{booking.kind} {start:%Y-%m-%d %H:%M} consultants {list(booking.consultant_ids)}"
        f" site {booking.municipality_id}"
    )


def route_minutes(bookings: list[Any], travel: TravelTable) -> int:
    """Office → the day's sites in time order → office; online sessions are no stop."""
    places = [_place(b) for b in sorted(bookings, key=lambda b: b.starts_at)]
    stops = [None, *(p for p in places if p != ONLINE), None]
    return sum(travel.minutes(a, b) for a, b in itertools.pairwise(stops))  # type: ignore[arg-type]


def season_travel(bookings: list[Any], travel: TravelTable) -> int:
    days: dict[tuple[int, date], list[Any]] = defaultdict(list)
    for booking in bookings:
        for person in booking.consultant_ids:
            days[person, _local(booking.starts_at).date()].append(booking)
    return sum(route_minutes(day, travel) for day in days.values())


def check_plan(problem: Any, plan: Any) -> list[str]:
    """Every violated rule of `plan` for `problem`, as readable strings (empty: all good)."""
    errors: list[str] = []
    fixed = list(problem.fixed)
    new = list(plan.bookings)
    for booking in new:
        errors += _check_booking(problem, booking)
        if any(_same(booking, f) for f in fixed):
            errors.append(f"{_describe(booking)}: repeats a fixed booking")
    errors += _check_days(problem, fixed, new)
    errors += _check_towns(fixed, new)
    errors += _check_spacing(problem, fixed, new)
    errors += _check_counts(problem, plan, fixed, new)
    expected_travel = season_travel(fixed + new, problem.travel)
    if plan.travel_minutes != expected_travel:
        errors.append(f"travel_minutes {plan.travel_minutes} != recomputed {expected_travel}")
    return errors


def _same(a: Any, b: Any) -> bool:
    return (a.kind, a.starts_at, a.ends_at, tuple(a.consultant_ids), a.municipality_id) == (
        b.kind,
        b.starts_at,
        b.ends_at,
        tuple(b.consultant_ids),
        b.municipality_id,
    )


def _check_booking(problem: Any, booking: Any) -> list[str]:
    """Rules about one new booking on its own."""
    what = _describe(booking)
    errors: list[str] = []
    if booking.kind not in PLANNED_KINDS:
        return [f"{what}: the planner does not create {booking.kind!r}"]
    for moment in (booking.starts_at, booking.ends_at):
        if moment.tzinfo is None or moment.utcoffset() != TOKYO_OFFSET:
            errors.append(f"{what}: time {moment} is not Asia/Tokyo")
            return errors
    start, end = _local(booking.starts_at), _local(booking.ends_at)
    day = start.date()
    if end.date() != day or end <= start:
        return [*errors, f"{what}: does not start and end on one day"]
    minutes = {
        "bpr": problem.bpr_minutes,
        "office_day": problem.office_day_minutes,
        "results_meeting": problem.results_minutes,
        "reserve": problem.consultation_minutes,
    }[booking.kind]
    if (end - start) != timedelta(minutes=minutes):
        errors.append(f"{what}: lasts {end - start}, expected {minutes} minutes")
    if not is_business_day(day):
        errors.append(f"{what}: {day} is not a business day")
    if not problem.start <= day <= problem.end:
        errors.append(f"{what}: {day} is outside {problem.start}..{problem.end}")
    if start.time() < problem.office_open or end.time() > problem.office_close:
        errors.append(f"{what}: outside office hours")
    people = {c.id: c for c in problem.consultants}
    team = list(booking.consultant_ids)
    if len(set(team)) != len(team) or not team:
        errors.append(f"{what}: empty or repeated consultants")
    for person in team:
        if person not in people:
            errors.append(f"{what}: unknown consultant {person}")
            continue
        errors += _check_availability(people[person], day, start.time(), end.time(), what)
    errors += _check_kind(problem, booking, team, day, what)
    return errors


def _check_availability(consultant: Any, day: date, start: time, end: time, what: str) -> list[str]:
    errors = []
    if consultant.weekly:  # None or empty: no weekly limit
        window = consultant.weekly.get(day.weekday())
        if window is None:
            errors.append(f"{what}: consultant {consultant.id} does not work on {day:%A}")
        elif start < window[0] or end > window[1]:
            errors.append(f"{what}: outside consultant {consultant.id}'s weekly window")
    for absence in consultant.absences:
        if absence.day != day:
            continue
        whole_day = absence.starts is None or absence.ends is None
        if whole_day or (start < absence.ends and absence.starts < end):
            errors.append(f"{what}: consultant {consultant.id} is absent")
    return errors


def _check_kind(problem: Any, booking: Any, team: list[int], day: date, what: str) -> list[str]:
    errors = []
    if booking.kind == "bpr":
        needs = {n.engagement_id: n for n in problem.engagements}
        need = needs.get(booking.engagement_id)
        if need is None:
            return [f"{what}: unknown engagement {booking.engagement_id}"]
        if booking.municipality_id != need.municipality_id or booking.online:
            errors.append(f"{what}: not on site at municipality {need.municipality_id}")
        if len(team) != need.per_session:
            errors.append(f"{what}: {len(team)} consultants, engagement wants {need.per_session}")
        if not set(team) <= set(need.consultant_ids):
            errors.append(f"{what}: consultants not eligible for engagement {need.engagement_id}")
    elif booking.kind == "office_day":
        leads = {c.id for c in problem.consultants if c.is_lead}
        if not leads <= set(team) or not leads:
            errors.append(f"{what}: the lead consultant is missing")
        if booking.municipality_id is not None or booking.online:
            errors.append(f"{what}: office days are at the prefectural office")
    elif booking.kind == "results_meeting":
        if set(team) != {c.id for c in problem.consultants}:
            errors.append(f"{what}: not every consultant attends")
        if not booking.online:
            errors.append(f"{what}: the results meeting is online")
        fiscal = problem.start.year if problem.start.month >= 4 else problem.start.year - 1
        if (day.year, day.month) != (fiscal + 1, 3):
            errors.append(f"{what}: not in March {fiscal + 1}")
    elif booking.kind == "reserve":
        if len(team) != 1:
            errors.append(f"{what}: a reserve window holds exactly one consultant")
        if booking.municipality_id is not None:
            errors.append(f"{what}: reserve windows are held at the office")
    return errors


def _check_days(problem: Any, fixed: list[Any], new: list[Any]) -> list[str]:
    """No double booking and the travel buffer, on every consultant-day with a new booking.

    Any two bookings of one consultant on one day are at least the car minutes between
    their sites apart (every pair, not just neighbours; nothing to or from an online
    session). The drive from the office to the day's first site and back from the last
    may fall outside office hours, so it is not checked here; the bookings themselves
    must lie inside them (`_check_booking`)."""
    days: dict[tuple[int, date], list[tuple[Any, bool]]] = defaultdict(list)
    for booking, is_new in [*((b, False) for b in fixed), *((b, True) for b in new)]:
        for person in booking.consultant_ids:
            days[person, _local(booking.starts_at).date()].append((booking, is_new))
    errors = []
    for (person, day), entries in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if not any(is_new for _, is_new in entries):
            continue
        entries.sort(key=lambda e: (e[0].starts_at, e[0].ends_at))
        for (earlier, _), (later, _) in itertools.combinations(entries, 2):
            free = _since_midnight(earlier.ends_at, day)
            begin = _since_midnight(later.starts_at, day)
            needed = _travel(problem.travel, _place(earlier), _place(later))
            if begin < free + needed:
                errors.append(
                    f"consultant {person} on {day}: {_describe(later)} starts {_hhmm(begin)},"
                    f" needs {_hhmm(free)} + {needed} min travel after {_describe(earlier)}"
                )
    return errors


def _towns(booking: Any) -> set[int]:
    """The municipalities a session is held with: every town of a joint one; none for the
    results meeting (every town is invited) or the office's own bookings."""
    if booking.kind == "results_meeting":
        return set()
    towns = set(getattr(booking, "towns", ()) or ())
    return towns or ({booking.municipality_id} if booking.municipality_id is not None else set())


def _check_towns(fixed: list[Any], new: list[Any]) -> list[str]:
    """No municipality in two overlapping sessions, where a new booking is one of them."""
    every = [*((b, False) for b in fixed), *((b, True) for b in new)]
    errors = []
    for (a, a_new), (b, b_new) in itertools.combinations(every, 2):
        if not (a_new or b_new) or not _towns(a) & _towns(b):
            continue
        if a.starts_at < b.ends_at and b.starts_at < a.ends_at:
            errors.append(
                f"municipality {sorted(_towns(a) & _towns(b))}: {_describe(a)} overlaps"
                f" {_describe(b)}"
            )
    return errors


def _check_spacing(problem: Any, fixed: list[Any], new: list[Any]) -> list[str]:
    sessions: dict[int, list[tuple[date, bool]]] = defaultdict(list)
    for booking, is_new in [*((b, False) for b in fixed), *((b, True) for b in new)]:
        if booking.kind == "bpr" and booking.engagement_id is not None:
            sessions[booking.engagement_id].append((_local(booking.starts_at).date(), is_new))
    errors = []
    for engagement, entries in sessions.items():
        entries.sort()
        for index, (day, is_new) in enumerate(entries):
            for other, other_new in entries[index + 1 :]:
                if (is_new or other_new) and (other - day).days < problem.min_gap_days:
                    errors.append(
                        f"engagement {engagement}: sessions {day} and {other} are closer than"
                        f" {problem.min_gap_days} days"
                    )
    return errors


def missing_items(problem: Any, bookings: list[Any]) -> Counter[tuple[str, int | None]]:
    """What the quotas still want after these bookings (fixed and new), per quota: keys are
    ("bpr", engagement id) and (kind, None) for the office days, reserve windows (fixed
    consultations use them up too) and the results meeting."""
    have = Counter(b.kind for b in bookings)
    wanted: Counter[tuple[str, int | None]] = Counter()
    wanted["office_day", None] = max(0, problem.office_days - have["office_day"])
    wanted["reserve", None] = max(
        0, problem.consultation_reserve - have["reserve"] - have["consultation"]
    )
    wanted["results_meeting", None] = max(0, int(problem.results_meeting) - have["results_meeting"])
    for need in problem.engagements:
        done = sum(1 for b in bookings if b.kind == "bpr" and b.engagement_id == need.engagement_id)
        wanted["bpr", need.engagement_id] = max(0, need.sessions - done)
    return +wanted


def _check_counts(problem: Any, plan: Any, fixed: list[Any], new: list[Any]) -> list[str]:
    """Never more than the quota, and the unplaced entries account exactly for the rest."""
    before = missing_items(problem, fixed)
    after = missing_items(problem, fixed + new)
    made = Counter((b.kind, b.engagement_id if b.kind == "bpr" else None) for b in new)
    errors = []
    for (kind, engagement), planned in sorted(made.items(), key=str):
        if planned > before[kind, engagement]:
            errors.append(
                f"{kind} {engagement or ''}: planned {planned},"
                f" only {before[kind, engagement]} missing"
            )
    needs = {n.engagement_id: n for n in problem.engagements}
    reported: Counter[tuple[str, int | None]] = Counter()
    for entry in plan.unplaced:
        key = (entry.what, entry.engagement_id)
        if entry.what not in PLANNED_KINDS:
            errors.append(f"unplaced {entry}: unknown item {entry.what!r}")
        elif (entry.what == "bpr") != (entry.engagement_id is not None):
            errors.append(f"unplaced {entry}: only BPR sessions name an engagement")
        elif entry.what == "bpr" and entry.engagement_id not in needs:
            errors.append(f"unplaced {entry}: unknown engagement")
        elif (
            entry.what == "bpr"
            and entry.municipality_id != needs[entry.engagement_id].municipality_id
        ):
            errors.append(f"unplaced {entry}: not the engagement's municipality")
        elif entry.what != "bpr" and entry.municipality_id is not None:
            errors.append(f"unplaced {entry}: only BPR sessions name a municipality")
        if not isinstance(entry.count, int) or entry.count < 1:
            errors.append(f"unplaced {entry}: count must be a positive number")
        if not isinstance(entry.reason, str) or not entry.reason:
            errors.append(f"unplaced {entry}: no reason given")
        reported[key] += entry.count
    for key in sorted(set(after) | set(reported), key=str):
        if after[key] != reported[key]:
            kind, engagement = key
            errors.append(
                f"{kind} {engagement or ''}: {after[key]} missing after the plan,"
                f" unplaced says {reported[key]}"
            )
    return errors


def check_complete(problem: Any, plan: Any) -> list[str]:
    """`check_plan` for an instance that is feasible by construction: additionally nothing
    may be reported unplaced and every quota must be met."""
    errors = check_plan(problem, plan)
    if plan.unplaced:
        errors.append(f"a feasible instance, yet unplaced: {list(plan.unplaced)}")
    for (kind, engagement), count in missing_items(
        problem, [*problem.fixed, *plan.bookings]
    ).items():
        errors.append(f"a feasible instance, yet {count} {kind} {engagement or ''} missing")
    return errors
