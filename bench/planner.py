"""The season planner on two full realistic seasons, against a naive greedy baseline and
an exact model of the same problem solved in the same run.

The benchmark season: 8 BPR engagements × 10 on-site sessions of 3.5 h (the default half
day, "4時間程度") on 8 real municipalities spread over the prefecture, 30 office days, a
reserve of 30 two-hour consultation windows and the results meeting, 3 consultants (one
lead), contract 2026-06-01 → 2027-03-31, every other number at its default.

The towns are what a prefecture's selection realistically looks like: a few on their
own and some in natural clusters where neighbouring towns applied together.

- 玉名市 (north-west) and 八代市 (centre-south) on their own;
- 阿蘇 area: 阿蘇市 and 南阿蘇村 (30 min apart);
- 球磨 area: 人吉市 and 錦町 (15 min apart, 85–90 min from the office);
- 天草 area: 上天草市 and 天草市 (50 min apart, 70 and 125 min from the office).

The 12-town season adds 玉東町 and 和水町 next to 玉名市 (10–20 min from each other) and
氷川町 and 宇城市 next to 八代市 (15–30 min): two clusters of three, where the best plan
tours every two towns of a cluster on different days. Teams follow the same pattern.

The baseline books first-fit in date order, one municipality per consultant-day, never
combining; it follows the same rules (the drive to the first site and back may fall
outside office hours) and uses the same session lengths.

The exact model (OR-Tools CP-SAT, a benchmark-only extra: `pip install '.[bench]'`)
answers "the least travel possible at the planner's load balance", in two stages:

1. *Tours.* Office days, reserve windows and the results meeting cost no car minutes
   (the office, online), and three half-day sessions never fit one day, so a season's
   travel is Σ 2·travel(office, town) over its sessions minus, per consultant-day that
   visits two towns, what that tour saves. The first model chooses how many sessions of
   each engagement each eligible consultant carries and how many of them are tours of
   which two towns (within reach: both sessions and the drive in 09:00–17:00), with no
   consultant above the planner's most loaded consultant's hours (office days and the
   meeting counted), maximising the saving. Every plan maps onto it, so its optimum is
   a lower bound on any plan's travel at that balance.
2. *Days.* A day-by-day model then realises those tours on the calendar: a session per
   (engagement, consultant, business day) and a tour per (pair, consultant, day), the
   engagement's sessions `min_gap_days` apart, office days with the lead, 30 reserve
   windows, the results meeting in March, and per consultant-day the minutes of what it
   holds plus the drives between its sites inside the office hours. Its solution is
   written out as bookings and judged by the independent checker (tests/support/plan_checker.py);
   when it is found, the bound is met and is the optimum ("optimal"), else the gap is
   measured against the bound ("bound").

It covers what these instances use (no fixed bookings, absences or weekly patterns, one
consultant per session, one lead) and says so when asked for more. Both plans are
checked by the independent checker.

    pip install '.[bench]'   # or: pip install 'ortools>=9.10'
    python bench/planner.py [--time-limit SECONDS]

Prints progress lines, then one JSON object on the last line: per instance the planner's
`travel_minutes`, `max_load_ratio` (most hours over the mean, reserve windows apart),
`seconds` (planning), `replan_seconds` (after one booking moved and one cancelled),
`violations`, the exact model's `optimum` (or `bound`) with its `status`, `gap` (travel
over it, minus 1) and `exact_seconds`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.core.business_days import fiscal_year, is_business_day
from handlers.core.clock import TOKYO
from handlers.planning.planner import (
    Booking,
    Consultant,
    EngagementNeed,
    Plan,
    Problem,
    Unplaced,
    plan_season,
    travel_minutes,
)
from handlers.scheduling.travel import Site, TravelTable
from storage.seed_municipalities import MUNICIPALITIES, POSITIONS, PREFECTURAL_OFFICE_POSITION
from tests.support.plan_checker import check_plan

# north-west, 阿蘇 (two), centre-south, 球磨 (two), 天草 (two): see the module docstring
SEASON_TOWNS = ("玉名市", "阿蘇市", "南阿蘇村", "八代市", "人吉市", "錦町", "上天草市", "天草市")
# with 玉名市 and with 八代市: the 12-town season's two clusters of three
CLUSTER_TOWNS = ("玉東町", "和水町", "氷川町", "宇城市")
LEAD, SECOND, THIRD = 1, 2, 3
TEAMS = ((LEAD, SECOND), (SECOND, THIRD), (THIRD, LEAD), (SECOND, THIRD))


def site_ids() -> dict[str, int]:
    """Municipality name → site id (its index in the seed table)."""
    return {row[1]: index for index, row in enumerate(MUNICIPALITIES)}


def real_travel() -> TravelTable:
    sites = [
        Site(index, row[5], *POSITIONS.get(row[0], (None, None)))
        for index, row in enumerate(MUNICIPALITIES)
    ]
    return TravelTable(sites, PREFECTURAL_OFFICE_POSITION)


def town_problem(towns: tuple[str, ...], **changes: object) -> Problem:
    """A full season over these towns, 10 sessions each, teams in the `TEAMS` pattern."""
    ids = site_ids()
    engagements = tuple(
        EngagementNeed(
            engagement_id=100 + index,
            municipality_id=ids[town],
            sessions=10,
            consultant_ids=TEAMS[index % len(TEAMS)],
        )
        for index, town in enumerate(towns)
    )
    problem = Problem(
        start=date(2026, 6, 1),
        end=date(2027, 3, 31),
        consultants=(Consultant(LEAD, is_lead=True), Consultant(SECOND), Consultant(THIRD)),
        engagements=engagements,
        travel=real_travel(),
    )
    return replace(problem, **changes)  # type: ignore[arg-type]


def season_problem(**changes: object) -> Problem:
    """The benchmark season (8 towns)."""
    return town_problem(SEASON_TOWNS, **changes)


def twelve_town_problem(**changes: object) -> Problem:
    """The 12-town season: the benchmark's towns and two clusters of three."""
    return town_problem(SEASON_TOWNS + CLUSTER_TOWNS, **changes)


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


# --- the exact model ---------------------------------------------------------------------


def _exact_covers(problem: Problem) -> None:
    """Refuse instances the exact model does not describe (rather than answer wrongly)."""
    leads = [c for c in problem.consultants if c.is_lead]
    span = _minute(problem.office_close) - _minute(problem.office_open)
    towns = [n.municipality_id for n in problem.engagements]
    if (
        problem.fixed
        or any(c.absences or c.weekly for c in problem.consultants)
        or any(n.per_session != 1 for n in problem.engagements)
        or len(leads) != 1
        or not problem.results_meeting
        or len(set(towns)) != len(towns)
        or 3 * problem.bpr_minutes <= span
    ):
        raise ValueError(
            "the exact model covers seasons without fixed bookings, absences or weekly"
            " patterns, one consultant per session, one lead, one engagement per town, a"
            " results meeting and at most two sessions a day"
        )


def _minute(moment: Any) -> int:
    return moment.hour * 60 + moment.minute


def _within_reach(problem: Problem) -> list[tuple[EngagementNeed, EngagementNeed, int, int]]:
    """(a, b, minutes between, minutes saved) for engagements one consultant-day can tour."""
    span = _minute(problem.office_close) - _minute(problem.office_open)
    travel = problem.travel
    found = []
    for index, a in enumerate(problem.engagements):
        for b in problem.engagements[index + 1 :]:
            between = travel.minutes(a.municipality_id, b.municipality_id)
            if 2 * problem.bpr_minutes + between <= span:
                saved = travel.minutes(None, a.municipality_id) + travel.minutes(
                    None, b.municipality_id
                )
                found.append((a, b, between, saved - between))
    return found


def exact_tours(
    problem: Problem, max_hours: float, time_limit: float
) -> tuple[str, int, Counter[tuple[int, int, int]]]:
    """Stage 1: (status, least travel, tours per (engagement, engagement, consultant))."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    session = problem.bpr_minutes
    alone = {
        (n.engagement_id, c): model.NewIntVar(0, n.sessions, "")
        for n in problem.engagements
        for c in n.consultant_ids
    }
    tours: dict[tuple[int, int, int], tuple[Any, int]] = {}
    for a, b, _, saved in _within_reach(problem):
        for c in sorted(set(a.consultant_ids) & set(b.consultant_ids)):
            tours[a.engagement_id, b.engagement_id, c] = (
                model.NewIntVar(0, min(a.sessions, b.sessions), ""),
                saved,
            )
    for need in problem.engagements:
        e = need.engagement_id
        carried = [v for (f, _), v in alone.items() if f == e]
        carried += [v for (a, b, _), (v, _) in tours.items() if e in (a, b)]
        model.Add(sum(carried) == need.sessions)
    for consultant in problem.consultants:
        c = consultant.id
        minutes = problem.results_minutes
        minutes += problem.office_days * problem.office_day_minutes if consultant.is_lead else 0
        load = session * sum(v for (_, d), v in alone.items() if d == c)
        load += 2 * session * sum(v for (_, _, d), (v, _) in tours.items() if d == c)
        model.Add(load + minutes <= round(max_hours * 60))
    model.Maximize(sum(saved * v for v, saved in tours.values()))
    solver = _solver(time_limit)
    status = solver.Solve(model)
    base = sum(
        2 * problem.travel.minutes(None, n.municipality_id) * n.sessions
        for n in problem.engagements
    )
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solver.StatusName(status), 0, Counter()
    found = Counter({k: solver.Value(v) for k, (v, _) in tours.items() if solver.Value(v)})
    return solver.StatusName(status), base - round(solver.BestObjectiveBound()), found


def _solver(time_limit: float) -> Any:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 2  # the machine is shared
    solver.parameters.random_seed = 0
    return solver


def exact_days(
    problem: Problem, tours: Counter[tuple[int, int, int]], time_limit: float
) -> Plan | None:
    """Stage 2: a whole season realising exactly these tours on the calendar, or None."""
    from ortools.sat.python import cp_model

    p, model = problem, cp_model.CpModel()
    days = [p.start + timedelta(days=n) for n in range((p.end - p.start).days + 1)]
    days = [d for d in days if is_business_day(d)]
    span = _minute(p.office_close) - _minute(p.office_open)
    (lead,) = [c.id for c in p.consultants if c.is_lead]
    march = fiscal_year(p.start) + 1
    visit = {
        (n.engagement_id, c, d): model.NewBoolVar("")
        for n in p.engagements
        for c in n.consultant_ids
        for d in days
    }
    reach = {(a.engagement_id, b.engagement_id): between for a, b, between, _ in _within_reach(p)}
    tour = {(a, b, c, d): model.NewBoolVar("") for (a, b, c) in tours for d in days}
    for (a, b, c, d), v in tour.items():
        model.AddImplication(v, visit[a, c, d])
        model.AddImplication(v, visit[b, c, d])
    for (a, b, c), count in tours.items():
        model.Add(sum(tour[a, b, c, d] for d in days) == count)
    office = {d: model.NewIntVar(0, 2, "") for d in days}
    model.Add(sum(office.values()) == p.office_days)
    reserve = {(c.id, d): model.NewIntVar(0, 4, "") for c in p.consultants for d in days}
    model.Add(sum(reserve.values()) == p.consultation_reserve)
    meeting = {d: model.NewBoolVar("") for d in days if (d.year, d.month) == (march, 3)}
    model.Add(sum(meeting.values()) == 1)
    towns = {n.engagement_id: n.municipality_id for n in p.engagements}
    for consultant in p.consultants:
        c = consultant.id
        for d in days:
            mine = [(e, v) for (e, who, day), v in visit.items() if who == c and day == d]
            toured = [(a, b, v) for (a, b, who, day), v in tour.items() if who == c and day == d]
            minutes = p.bpr_minutes * sum(v for _, v in mine)
            minutes += p.consultation_minutes * reserve[c, d]
            minutes += sum(reach[a, b] * v for a, b, v in toured)
            if c == lead:
                minutes += p.office_day_minutes * office[d]
            if d in meeting:
                minutes += p.results_minutes * meeting[d]
            model.Add(minutes <= span)
            model.Add(sum(v for _, v in mine) <= 1 + sum(v for *_, v in toured))
            at_office = model.NewBoolVar("")
            model.Add(reserve[c, d] <= 4 * at_office)
            if c == lead:
                model.Add(office[d] <= 2 * at_office)
            for e, v in mine:  # the drive between the office and the town, inside the day
                drive = p.travel.minutes(None, towns[e])
                model.Add(minutes + drive <= span).OnlyEnforceIf([v, at_office])
    for need in p.engagements:
        e = need.engagement_id
        model.Add(sum(visit[e, c, d] for c in need.consultant_ids for d in days) == need.sessions)
        for index, d in enumerate(days):
            near = [x for x in days[index:] if (x - d).days < p.min_gap_days]
            model.Add(sum(visit[e, c, x] for c in need.consultant_ids for x in near) <= 1)
    solver = _solver(time_limit)
    if solver.Solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    bookings = _bookings(p, days, solver, visit, tour, office, reserve, meeting, lead)
    return Plan(tuple(bookings), (), travel_minutes(bookings, p.travel), {})


def _bookings(
    p: Problem,
    days: list[date],
    solver: Any,
    visit: dict[Any, Any],
    tour: dict[Any, Any],
    office: dict[date, Any],
    reserve: dict[Any, Any],
    meeting: dict[date, Any],
    lead: int,
) -> list[Booking]:
    """The day model's solution as bookings: per consultant-day, the office's bookings from
    opening time, then the drive, the session(s) (a tour in engagement order with the drive
    between), and the results meeting (online) at the end of the day."""
    towns = {n.engagement_id: n.municipality_id for n in p.engagements}
    opening, closing = _minute(p.office_open), _minute(p.office_close)
    out: list[Booking] = []

    def at(day: date, minute: int) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=TOKYO) + timedelta(minutes=minute)

    for d in days:
        if d in meeting and solver.Value(meeting[d]):
            everyone = tuple(sorted(c.id for c in p.consultants))
            start = closing - p.results_minutes
            end = at(d, closing)
            out.append(Booking("results_meeting", at(d, start), end, everyone, online=True))
        for consultant in p.consultants:
            c, clock = consultant.id, opening
            here: int | None = None
            if c == lead:
                for _ in range(solver.Value(office[d])):
                    end = clock + p.office_day_minutes
                    out.append(Booking("office_day", at(d, clock), at(d, end), (c,)))
                    clock = end
            for _ in range(solver.Value(reserve[c, d])):
                end = clock + p.consultation_minutes
                out.append(Booking("reserve", at(d, clock), at(d, end), (c,)))
                clock = end
            at_office = clock > opening
            for e in sorted(
                e for (e, who, day), v in visit.items() if who == c and day == d and solver.Value(v)
            ):
                if here is not None:
                    clock += p.travel.minutes(here, towns[e])
                elif at_office:
                    clock += p.travel.minutes(None, towns[e])
                end = clock + p.bpr_minutes
                out.append(
                    Booking(
                        "bpr",
                        at(d, clock),
                        at(d, end),
                        (c,),
                        municipality_id=towns[e],
                        engagement_id=e,
                    )
                )
                clock, here = end, towns[e]
    return sorted(out, key=lambda b: (b.starts_at, b.kind, b.consultant_ids))


def exact(problem: Problem, max_hours: float, time_limit: float) -> dict[str, Any]:
    """The exact model at the planner's balance: the optimum (or the bound), its status and
    seconds, and the checker's verdict on the realised season."""
    _exact_covers(problem)
    began = time.perf_counter()
    status, bound, tours = exact_tours(problem, max_hours, time_limit)
    result: dict[str, Any] = {"status": "bound", "bound": bound, "tours": sum(tours.values())}
    if status == "OPTIMAL":
        left = max(1.0, time_limit - (time.perf_counter() - began))
        plan = exact_days(problem, tours, left)
        if plan is not None:
            result["violations"] = len(check_plan(problem, plan))
            if plan.travel_minutes == bound and not result["violations"]:
                result["status"] = "optimal"
            result["optimum"] = plan.travel_minutes
    else:
        result["status"] = status.lower()
    result["seconds"] = round(time.perf_counter() - began, 1)
    return result


# --- the run ----------------------------------------------------------------------------


def booked_hours(plan: Plan, problem: Problem | None = None) -> dict[int, float]:
    """Hours per consultant, reserve windows apart (office days and the meeting counted);
    with `problem`, its fixed bookings too and every consultant, idle ones at 0."""
    hours: dict[int, float] = {c.id: 0.0 for c in problem.consultants} if problem else {}
    for booking in [*(problem.fixed if problem else ()), *plan.bookings]:
        if booking.kind == "reserve":
            continue
        for person in booking.consultant_ids:
            length = (booking.ends_at - booking.starts_at).total_seconds() / 3600
            hours[person] = hours.get(person, 0.0) + length
    return hours


def replan_seconds(problem: Problem, plan: Plan) -> tuple[float, int]:
    """Seconds to re-plan after one BPR session moved a day on and another was cancelled
    (everything else booked), and the checker's violations of that re-plan."""
    sessions = [b for b in plan.bookings if b.kind == "bpr"]
    moved, cancelled = sessions[len(sessions) // 2], sessions[-1]
    later = replace(
        moved,
        starts_at=moved.starts_at + timedelta(days=1),
        ends_at=moved.ends_at + timedelta(days=1),
    )
    fixed = tuple(later if b is moved else b for b in plan.bookings if b is not cancelled)
    again = replace(problem, fixed=fixed)
    began = time.perf_counter()
    replanned = plan_season(again)
    seconds = time.perf_counter() - began
    return seconds, len(check_plan(again, replanned))


def run(problem: Problem, label: str, time_limit: float) -> dict[str, object]:
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
    again, replan_violations = replan_seconds(problem, plan)
    hours = booked_hours(plan)
    mean = sum(hours.values()) / len(problem.consultants)
    print(
        f"{label}: hours by consultant {hours}, tours {plan.stats.get('combined_days')}", flush=True
    )
    result: dict[str, Any] = {
        "travel_minutes": plan.travel_minutes,
        "max_load_ratio": round(max(hours.values()) / mean, 3) if mean else 0.0,
        "seconds": round(seconds, 3),
        "replan_seconds": round(again, 3),
        "violations": len(violations) + replan_violations,
        "unplaced": sum(u.count for u in plan.unplaced),
        "greedy_travel_minutes": greedy.travel_minutes,
        "sessions": sum(1 for b in plan.bookings if b.kind != "reserve"),
    }
    try:
        found = exact(problem, max(hours.values()), time_limit)
    except ImportError:
        print(f"{label}: no exact model: pip install '.[bench]' (ortools)", flush=True)
        return result
    best = found.get("optimum", found["bound"]) if found["status"] == "optimal" else found["bound"]
    print(f"{label}: exact model {found}", flush=True)
    result.update(
        {
            "optimum" if found["status"] == "optimal" else "bound": best,
            "status": found["status"],
            "gap": round(plan.travel_minutes / best - 1, 4) if best else None,
            "exact_seconds": found["seconds"],
        }
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per exact model")
    limit = parser.parse_args().time_limit
    figures = {
        "benchmark": run(season_problem(), "benchmark (8 towns)", limit),
        "twelve_towns": run(twelve_town_problem(), "12 towns", limit),
    }
    print(json.dumps(figures, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
