"""The season planner on a full realistic season, against a naive greedy baseline.

Season: 8 BPR engagements × 10 on-site sessions of 3.5 h (the default half day,
"4時間程度") on 8 real municipalities spread over the prefecture, 30 office days, a
reserve of 30 two-hour consultation windows and the results meeting, 3 consultants (one
lead), contract 2026-06-01 → 2027-03-31, every other number at its default.

The towns are what a prefecture's selection realistically looks like: a few on their
own and some in natural clusters where neighbouring towns applied together.

- 玉名市 (north-west) and 八代市 (centre-south) on their own;
- 阿蘇 area: 阿蘇市 and 南阿蘇村 (30 min apart);
- 球磨 area: 人吉市 and 錦町 (15 min apart, 85–90 min from the office);
- 天草 area: 上天草市 and 天草市 (50 min apart, 70 and 125 min from the office).

The baseline books first-fit in date order, one municipality per consultant-day, never
combining; it follows the same rules (the drive to the first site and back may fall
outside office hours) and uses the same session lengths. Both are checked by the
independent checker in tests/plan_checker.py.

    python bench/planner.py

Prints progress lines, then one JSON line (the last line).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.calendar import is_business_day
from handlers.clock import TOKYO
from handlers.planner import (
    Booking,
    Consultant,
    EngagementNeed,
    Plan,
    Problem,
    Unplaced,
    plan_season,
    travel_minutes,
)
from handlers.travel import Site, TravelTable
from storage.seed_municipalities import MUNICIPALITIES, POSITIONS, PREFECTURAL_OFFICE_POSITION
from tests.plan_checker import check_plan

# north-west, 阿蘇 (two), centre-south, 球磨 (two), 天草 (two): see the module docstring
SEASON_TOWNS = ("玉名市", "阿蘇市", "南阿蘇村", "八代市", "人吉市", "錦町", "上天草市", "天草市")
LEAD, SECOND, THIRD = 1, 2, 3


def site_ids() -> dict[str, int]:
    """Municipality name → site id (its index in the seed table)."""
    return {row[1]: index for index, row in enumerate(MUNICIPALITIES)}


def real_travel() -> TravelTable:
    sites = [
        Site(index, row[5], *POSITIONS.get(row[0], (None, None)))
        for index, row in enumerate(MUNICIPALITIES)
    ]
    return TravelTable(sites, PREFECTURAL_OFFICE_POSITION)


def season_problem(**changes: object) -> Problem:
    ids = site_ids()
    teams = [(LEAD, SECOND), (SECOND, THIRD), (THIRD, LEAD), (SECOND, THIRD)]
    engagements = tuple(
        EngagementNeed(
            engagement_id=100 + index,
            municipality_id=ids[town],
            sessions=10,
            consultant_ids=teams[index % len(teams)],
        )
        for index, town in enumerate(SEASON_TOWNS)
    )
    problem = Problem(
        start=date(2026, 6, 1),
        end=date(2027, 3, 31),
        consultants=(Consultant(LEAD, is_lead=True), Consultant(SECOND), Consultant(THIRD)),
        engagements=engagements,
        travel=real_travel(),
    )
    return replace(problem, **changes)  # type: ignore[arg-type]


# --- the naive baseline -----------------------------------------------------------------


def greedy_plan(problem: Problem) -> Plan:
    """First fit in date order: each item takes the first day a consultant has nothing booked,
    starting at office open (the drive there may start earlier, the drive back end later);
    one municipality per consultant-day."""
    open_ = problem.office_open.hour * 60 + problem.office_open.minute
    close = problem.office_close.hour * 60 + problem.office_close.minute
    days = [
        problem.start + timedelta(days=n)
        for n in range((problem.end - problem.start).days + 1)
        if is_business_day(problem.start + timedelta(days=n))
    ]
    busy: set[tuple[int, date]] = set()
    bookings: list[Booking] = []
    unplaced: list[Unplaced] = []

    def book(kind: str, team: tuple[int, ...], day: date, minutes: int, site: int | None, **kw):
        start = -(-open_ // 15) * 15  # the drive there may start before office hours
        if start + minutes > close:
            return None
        at = datetime.combine(day, datetime.min.time(), tzinfo=TOKYO)
        booking = Booking(
            kind, at + timedelta(minutes=start), at + timedelta(minutes=start + minutes), team, **kw
        )
        bookings.append(booking)
        busy.update((c, day) for c in team)
        return booking

    everyone = tuple(c.id for c in problem.consultants)
    leads = tuple(c.id for c in problem.consultants if c.is_lead)
    if problem.results_meeting:
        march = [d for d in days if d.month == 3 and all((c, d) not in busy for c in everyone)]
        if not march or not book(
            "results_meeting", everyone, march[0], problem.results_minutes, None, online=True
        ):
            unplaced.append(Unplaced(what="results_meeting", count=1, reason="no_room"))
    for need in problem.engagements:
        last: date | None = None
        missing = 0
        for _ in range(need.sessions):
            placed = False
            for day in days:
                if last is not None and (day - last).days < problem.min_gap_days:
                    continue
                team = tuple(c for c in need.consultant_ids if (c, day) not in busy)
                if len(team) < need.per_session:
                    continue
                site = need.municipality_id
                if book(
                    "bpr",
                    team[: need.per_session],
                    day,
                    problem.bpr_minutes,
                    site,
                    municipality_id=site,
                    engagement_id=need.engagement_id,
                ):
                    last, placed = day, True
                    break
            missing += not placed
        if missing:
            unplaced.append(
                Unplaced(
                    what="bpr",
                    count=missing,
                    reason="no_room",
                    engagement_id=need.engagement_id,
                    municipality_id=need.municipality_id,
                )
            )
    for kind, count, minutes, pool in (
        ("office_day", problem.office_days, problem.office_day_minutes, [leads]),
        ("reserve", problem.consultation_reserve, problem.consultation_minutes, None),
    ):
        missing = 0
        for _ in range(count):
            teams = pool or [(c,) for c in everyone]
            free = (
                (day, team)
                for day in days
                for team in teams
                if all((c, day) not in busy for c in team)
            )
            choice = next(free, None)
            missing += choice is None or not book(kind, choice[1], choice[0], minutes, None)
        if missing:
            unplaced.append(Unplaced(what=kind, count=missing, reason="no_room"))
    return Plan(tuple(bookings), tuple(unplaced), travel_minutes(bookings, problem.travel), {})


# --- the run ----------------------------------------------------------------------------


def booked_hours(plan: Plan) -> dict[int, float]:
    hours: dict[int, float] = {}
    for booking in plan.bookings:
        if booking.kind == "reserve":
            continue
        for person in booking.consultant_ids:
            length = (booking.ends_at - booking.starts_at).total_seconds() / 3600
            hours[person] = hours.get(person, 0.0) + length
    return hours


def run(problem: Problem, label: str) -> dict[str, object]:
    began = time.perf_counter()
    plan = plan_season(problem)
    seconds = time.perf_counter() - began
    violations = check_plan(problem, plan)
    print(f"{label}: planned {len(plan.bookings)} bookings in {seconds:.2f} s", flush=True)
    for line in [*plan.unplaced, *violations[:10]]:
        print(f"  {line}", flush=True)
    greedy = greedy_plan(problem)
    greedy_violations = check_plan(problem, greedy)
    print(
        f"{label}: greedy baseline {len(greedy.bookings)} bookings,"
        f" {len(greedy_violations)} violations,"
        f" unplaced {sum(u.count for u in greedy.unplaced)}",
        flush=True,
    )
    hours = booked_hours(plan)
    mean = sum(hours.values()) / len(problem.consultants)
    return {
        "seconds": round(seconds, 3),
        "violations": len(violations),
        "travel_minutes": plan.travel_minutes,
        "greedy_travel_minutes": greedy.travel_minutes,
        "travel_ratio": round(plan.travel_minutes / max(1, greedy.travel_minutes), 3),
        "max_load_ratio": round(max(hours.values()) / mean, 3) if mean else 0.0,
        "sessions": sum(1 for b in plan.bookings if b.kind != "reserve"),
        "unplaced": sum(u.count for u in plan.unplaced),
        "hours": hours,
        "combined_days": plan.stats.get("combined_days"),
    }


def main() -> None:
    result = run(season_problem(), "full season")
    print(f"full season hours by consultant: {result.pop('hours')}", flush=True)
    print(f"full season combined consultant-days: {result.pop('combined_days')}", flush=True)
    result.pop("unplaced")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
