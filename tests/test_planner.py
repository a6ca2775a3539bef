"""The season planner: a full realistic season, incremental re-planning, availability,
holidays and random small instances, each judged by the independent checker and, for
availability and travel, by `handlers.scheduling.diary.conflicts` (what booking applies)."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import jpholiday
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.planner import (
    SEASON_TOWNS,
    real_travel,
    season_problem,
    site_ids,
    twelve_town_problem,
)
from handlers import router
from handlers.core import payloads
from handlers.core.business_days import is_business_day
from handlers.core.clock import TOKYO
from handlers.planning.planner import (
    UNPLACED_REASONS,
    UNPLACED_WHATS,
    Absence,
    Booking,
    Consultant,
    EngagementNeed,
    Plan,
    Problem,
    Unplaced,
    imbalance,
    plan_season,
    season_hours,
    spread_targets,
    towns_of,
    travel_minutes,
)
from handlers.scheduling import diary
from storage import people, plans
from storage.models import Absence as StoredAbsence
from storage.models import AbsenceKind, Mode, SeasonPlan
from tests.support.plan_checker import check_complete, check_plan, missing_items

TRAVEL = real_travel()
IDS = site_ids()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TOKYO)


@pytest.fixture(scope="module")
def season() -> tuple[Problem, Plan]:
    problem = season_problem()
    return problem, plan_season(problem)


def counts(bookings: tuple[Booking, ...]) -> Counter[str]:
    return Counter(b.kind for b in bookings)


# --- the full season --------------------------------------------------------------------


def test_full_season_is_complete_and_valid(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    assert check_plan(problem, plan) == []
    assert plan.unplaced == ()
    assert counts(plan.bookings) == {
        "bpr": 80,
        "office_day": 30,
        "reserve": 30,
        "results_meeting": 1,
    }
    per_engagement = Counter(b.engagement_id for b in plan.bookings if b.kind == "bpr")
    assert set(per_engagement.values()) == {10}


def test_full_season_is_spread_and_balanced(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    months = {(d.year, d.month) for d in _days(problem.start, problem.end)}
    for kind in ("office_day", "reserve"):
        per_month = Counter(
            (b.starts_at.year, b.starts_at.month) for b in plan.bookings if b.kind == kind
        )
        assert set(per_month) == months, kind
        assert max(per_month.values()) <= 5, kind
    for need in problem.engagements:
        days = sorted(
            b.starts_at.date() for b in plan.bookings if b.engagement_id == need.engagement_id
        )
        assert days[0] < date(2026, 8, 1) and days[-1] > date(2027, 1, 31)
    hours = plan.stats["hours_by_consultant"]
    assert max(hours.values()) / (sum(hours.values()) / len(hours)) < 1.03


def test_holidays_and_closures_are_never_used(season: tuple[Problem, Plan]) -> None:
    _, plan = season
    holidays = [date(2026, 11, 23), date(2027, 1, 11), date(2027, 2, 11), date(2027, 2, 23)]
    holidays.append(date(2027, 3, 22))  # the substitute for the equinox, a Sunday in 2027
    assert all(jpholiday.is_holiday(day) for day in holidays)
    assert date(2027, 3, 21).weekday() == 6
    used = {b.starts_at.date() for b in plan.bookings}
    assert not used & set(holidays)
    closure = {date(2026, 12, 29) + timedelta(days=n) for n in range(6)}
    assert not used & closure
    assert all(is_business_day(day) for day in used)


def test_results_meeting_is_online_in_march_with_everyone(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    (meeting,) = [b for b in plan.bookings if b.kind == "results_meeting"]
    assert meeting.online and meeting.starts_at.date().month == 3
    assert meeting.starts_at.year == 2027
    assert set(meeting.consultant_ids) == {c.id for c in problem.consultants}


def test_plan_is_deterministic(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    assert plan_season(problem) == plan


def test_travel_minutes_route() -> None:
    a, b = IDS["菊池市"], IDS["大津町"]
    day = date(2026, 7, 1)
    bookings = [
        Booking("bpr", at(day, 13), at(day, 16), (1,), municipality_id=b),
        Booking("bpr", at(day, 9, 45), at(day, 12, 15), (1,), municipality_id=a),
        Booking("results_meeting", at(day, 9), at(day, 11), (2,), online=True),
        # online between two sites: the car does not go back to the office for it
        Booking("consultation", at(day, 12, 15), at(day, 13), (1,), a, online=True),
    ]
    expected = TRAVEL.minutes(None, a) + TRAVEL.minutes(a, b) + TRAVEL.minutes(b, None)
    assert travel_minutes(bookings, TRAVEL) == expected


def test_nearby_towns_share_a_consultant_day(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    standalone = sum(
        2 * TRAVEL.minutes(None, b.municipality_id) for b in plan.bookings if b.kind == "bpr"
    )
    assert plan.stats["combined_days"] >= 20
    assert plan.travel_minutes <= 0.8 * standalone
    hitoyoshi, nishiki = IDS["人吉市"], IDS["錦町"]
    days: dict[tuple[int, date], list[Booking]] = {}
    for booking in plan.bookings:
        for person in booking.consultant_ids:
            days.setdefault((person, booking.starts_at.date()), []).append(booking)
    tours = [
        sorted(day, key=lambda b: b.starts_at)
        for day in days.values()
        if {b.municipality_id for b in day} == {hitoyoshi, nishiki}
    ]
    assert len(tours) >= 5
    for first, second in tours:
        assert first.starts_at.time() == problem.office_open  # 人吉 and 錦町 are 85-90 min out
        assert second.ends_at.time() <= problem.office_close
        gap = (second.starts_at - first.ends_at).total_seconds() / 60
        assert gap >= TRAVEL.minutes(first.municipality_id, second.municipality_id)


def test_a_half_day_session_is_about_four_hours() -> None:
    problem = season_problem()
    assert problem.bpr_minutes == 210  # 09:00-12:30 or 13:30-17:00
    assert 2 * problem.bpr_minutes + 60 == 8 * 60


# --- incremental re-planning ------------------------------------------------------------


def test_replan_adds_only_what_a_cancellation_removed(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    bookings = list(plan.bookings)
    cancelled = [
        next(b for b in bookings if b.engagement_id == 103),
        next(b for b in bookings if b.kind == "office_day"),
        next(b for b in bookings if b.kind == "reserve"),
    ]
    kept = tuple(b for b in bookings if b not in cancelled)
    again = replace(problem, fixed=kept)
    replanned = plan_season(again)
    assert check_plan(again, replanned) == []
    assert replanned.unplaced == ()
    assert counts(replanned.bookings) == {"bpr": 1, "office_day": 1, "reserve": 1}
    (session,) = [b for b in replanned.bookings if b.kind == "bpr"]
    assert session.engagement_id == 103


def test_replan_puts_a_cancelled_tour_session_back_into_its_tour(
    season: tuple[Problem, Plan],
) -> None:
    problem, plan = season
    hitoyoshi, nishiki = IDS["人吉市"], IDS["錦町"]
    partner_days = {
        (b.consultant_ids, b.starts_at.date())
        for b in plan.bookings
        if b.municipality_id == nishiki
    }
    cancelled = next(
        b
        for b in plan.bookings
        if b.municipality_id == hitoyoshi and (b.consultant_ids, b.starts_at.date()) in partner_days
    )
    again = replace(problem, fixed=tuple(b for b in plan.bookings if b is not cancelled))
    replanned = plan_season(again)
    assert check_plan(again, replanned) == [] and replanned.unplaced == ()
    (session,) = replanned.bookings
    assert (session.consultant_ids, session.starts_at.date()) in partner_days
    assert replanned.travel_minutes == plan.travel_minutes


def test_replan_after_a_move_keeps_everything_else(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    moved_from = next(b for b in plan.bookings if b.kind == "office_day")
    moved = replace(
        moved_from,
        starts_at=moved_from.starts_at + timedelta(days=1),
        ends_at=moved_from.ends_at + timedelta(days=1),
    )
    fixed = tuple(moved if b is moved_from else b for b in plan.bookings)
    replanned = plan_season(replace(problem, fixed=fixed))
    assert replanned.bookings == () and replanned.unplaced == ()


def test_nine_of_ten_booked_gets_one_more(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    nine = tuple(b for b in plan.bookings if b.engagement_id == 101)[:9]
    only = replace(problem, engagements=problem.engagements[1:2], fixed=nine)
    only = replace(only, office_days=0, consultation_reserve=0, results_meeting=False)
    replanned = plan_season(only)
    assert check_plan(only, replanned) == []
    assert [b.engagement_id for b in replanned.bookings] == [101]


def test_replan_mid_season_plans_nothing_in_the_past(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    today = date(2026, 12, 1)
    past = tuple(b for b in plan.bookings if b.starts_at.date() < today)
    later = replace(problem, start=today, fixed=past)
    replanned = plan_season(later)
    assert check_plan(later, replanned) == []
    assert replanned.unplaced == ()
    assert all(b.starts_at.date() >= today for b in replanned.bookings)
    assert len(replanned.bookings) == len(plan.bookings) - len(past)


# --- availability, infeasibility --------------------------------------------------------


def test_weekly_patterns_and_absences_are_respected() -> None:
    part_time = Consultant(2, weekly={0: (time(9), time(13)), 2: (time(13), time(17))})
    away = tuple(Absence(date(2026, 10, 1) + timedelta(days=n)) for n in range(30))
    lead_morning_off = tuple(
        Absence(date(2026, 10, 5) + timedelta(days=n), ends=time(13)) for n in range(20)
    )
    problem = season_problem(
        start=date(2026, 9, 1),
        end=date(2026, 12, 25),
        consultants=(
            Consultant(1, is_lead=True, absences=lead_morning_off),
            part_time,
            Consultant(3, absences=away),
        ),
        office_days=10,
        consultation_reserve=10,
        results_meeting=False,
    )
    problem = replace(
        problem, engagements=tuple(replace(n, sessions=4) for n in problem.engagements[:6])
    )
    plan = plan_season(problem)
    assert check_plan(problem, plan) == []
    for booking in plan.bookings:
        day, start, end = booking.starts_at.date(), booking.starts_at.time(), booking.ends_at.time()
        if 2 in booking.consultant_ids:
            window = part_time.weekly[day.weekday()]  # type: ignore[index]
            assert window[0] <= start and end <= window[1]
        if 3 in booking.consultant_ids:
            assert day not in {a.day for a in away}
        if 1 in booking.consultant_ids and day in {a.day for a in lead_morning_off}:
            assert start >= time(13)


def test_no_march_in_the_window_reports_the_results_meeting() -> None:
    problem = season_problem(end=date(2027, 2, 26))
    plan = plan_season(problem)
    assert check_plan(problem, plan) == []
    assert plan.unplaced == (Unplaced(what="results_meeting", count=1, reason="no_march_day"),)
    assert plan.unplaced[0].as_dict() == {
        "what": "results_meeting",
        "count": 1,
        "reason": "no_march_day",
        "engagement_id": None,
        "municipality_id": None,
    }
    assert "results_meeting" not in counts(plan.bookings)


def test_unplaced_counts_add_up_with_reasons() -> None:
    uto = IDS["宇土市"]
    problem = replace(
        season_problem(start=date(2026, 6, 1), end=date(2026, 6, 30)),
        consultants=(Consultant(2), Consultant(3)),  # no lead
        engagements=(
            EngagementNeed(900, uto, 3, (2, 9)),
            EngagementNeed(901, uto, 2, (3, 9), per_session=2),  # 9 is no consultant
            EngagementNeed(902, uto, 9, (2, 3), per_session=1),  # 30 days, 7 apart: ~5
        ),
        office_days=4,
        consultation_reserve=3,
        fixed=(Booking("consultation", at(date(2026, 6, 2), 9), at(date(2026, 6, 2), 10), (2,)),),
    )
    plan = plan_season(problem)
    assert check_plan(problem, plan) == []
    by_what = {(u.what, u.engagement_id): u for u in plan.unplaced}
    assert by_what["results_meeting", None].reason == "no_march_day"
    assert by_what["office_day", None] == Unplaced(what="office_day", count=4, reason="no_lead")
    assert by_what["bpr", 901] == Unplaced(
        what="bpr", count=2, reason="no_consultant", engagement_id=901, municipality_id=uto
    )
    assert ("bpr", 900) not in by_what
    assert by_what["bpr", 902].reason == "no_room" and 1 <= by_what["bpr", 902].count <= 5
    assert ("reserve", None) not in by_what  # 2 planned + the fixed consultation
    assert {u.what for u in plan.unplaced} <= set(UNPLACED_WHATS)
    assert {u.reason for u in plan.unplaced} <= set(UNPLACED_REASONS)


def test_the_draft_words_what_is_unplaced_in_the_readers_language(ctx, cast) -> None:
    """Stored as plain JSON data, worded by the view through the catalogs: no ids, no
    English for a Japanese reader."""
    clerk = cast["水前寺 花"]
    with ctx.db.transaction() as session:
        uto = next(m.id for m in people.municipalities(session) if m.name == "宇土市")
        unplaced = (
            Unplaced(what="bpr", count=2, reason="no_room", engagement_id=77, municipality_id=uto),
            Unplaced(what="office_day", count=3, reason="no_lead"),
            Unplaced(what="reserve", count=4, reason="no_consultant"),
            Unplaced(what="results_meeting", count=1, reason="no_march_day"),
        )
        summary = {"counts": {}, "travel_minutes": 0, "unplaced": [u.as_dict() for u in unplaced]}
        stored = SeasonPlan(
            created_by_id=clerk.id,
            created_at=ctx.clock.now(),
            summary=json.loads(json.dumps(summary)),
        )
        plan_id = plans.add(session, stored, []).id
    ref_id = payloads.encode(id=plan_id)
    japanese = router.press(ctx, clerk, "plan.view", ref_id)
    assert japanese.ok, japanese.plain_text()
    errors = [b.text for b in japanese.blocks if getattr(b, "style", None) == "error"]
    assert errors == [
        "配置できなかったもの: BPR伴走支援・宇土市 2回"
        "(予定・休暇・移動時間を考えると空いている日時がありません)",
        "配置できなかったもの: 県庁での相談日 3日(主担当のデジタル人材がいません)",
        "配置できなかったもの: 個別相談の予備枠 4枠(担当できるデジタル人材が足りません)",
        "配置できなかったもの: 成果報告会(計画期間内の3月に営業日がありません)",
    ]
    english = router.press(ctx, replace(clerk, language="en"), "plan.view", ref_id)
    text = english.plain_text()
    assert "Could not place: BPR support in 宇土市, 2 session(s) (no free day" in text
    assert "Could not place: the results meeting (there is no business day in March" in text
    assert "77" not in text and "None" not in text


def test_an_empty_window_is_reported_as_such() -> None:
    problem = season_problem(start=date(2026, 12, 29), end=date(2027, 1, 3))  # year-end
    plan = plan_season(problem)
    assert plan.bookings == () and check_plan(problem, plan) == []
    assert {u.reason for u in plan.unplaced} == {"no_business_day"}
    assert sum(u.count for u in plan.unplaced) == 30 + 30 + 1 + 80


def test_online_needs_no_travel_and_a_half_open_absence_blocks_the_day() -> None:
    """As `handlers.scheduling.diary.conflicts`: the results meeting (online) fits between two
    sessions in 苓北町 (150 min from the office), and an absence with only an end time
    is the whole day, so the only March day the lead can meet is the 25th."""
    reihoku, free_day = IDS["苓北町"], date(2027, 3, 25)
    march = _days(date(2027, 3, 1), date(2027, 3, 31))

    def on_site(day: date, hour: int, until: int) -> Booking:
        return Booking("bpr", at(day, hour), at(day, until), (2,), municipality_id=reihoku)

    problem = Problem(
        start=date(2027, 3, 1),
        end=date(2027, 3, 31),
        consultants=(
            Consultant(
                1,
                is_lead=True,
                absences=tuple(Absence(d, ends=time(10)) for d in march if d != free_day),
            ),
            Consultant(2, weekly={}),  # empty: no weekly limit, as in the diary
        ),
        engagements=(),
        travel=TRAVEL,
        office_days=0,
        consultation_reserve=0,
        fixed=tuple(b for d in march for b in (on_site(d, 9, 14), on_site(d, 16, 17))),
    )
    plan = plan_season(problem)
    assert check_complete(problem, plan) == [] and diary_conflicts(problem, plan) == []
    (meeting,) = plan.bookings
    assert (meeting.starts_at, meeting.ends_at) == (at(free_day, 14), at(free_day, 16))
    # and the route of that day skips the meeting: one round trip to 苓北町 for consultant 2
    fixed_travel = len(march) * 2 * TRAVEL.minutes(None, reihoku)
    assert plan.travel_minutes == fixed_travel


def test_far_towns_are_placed_driving_outside_office_hours() -> None:
    far = (
        EngagementNeed(900, IDS["苓北町"], 3, (1, 2)),  # 150 min from the office
        EngagementNeed(901, IDS["天草市"], 3, (2, 3)),  # 125 min
    )
    problem = replace(season_problem(bpr_minutes=240), engagements=far)
    plan = plan_season(problem)
    assert check_plan(problem, plan) == [] and plan.unplaced == ()
    sessions = [b for b in plan.bookings if b.kind == "bpr"]
    assert len(sessions) == 6
    for booking in sessions:
        assert problem.office_open <= booking.starts_at.time()
        assert booking.ends_at.time() <= problem.office_close
    # the drives still count: each 4 h session is a day of its own, a round trip
    assert plan.travel_minutes == sum(2 * TRAVEL.minutes(None, b.municipality_id) for b in sessions)


def test_far_neighbours_share_a_day_with_half_day_sessions() -> None:
    far = (
        EngagementNeed(900, IDS["苓北町"], 3, (1, 2)),
        EngagementNeed(901, IDS["天草市"], 3, (2, 3)),
    )
    problem = replace(season_problem(), engagements=far, office_days=0, consultation_reserve=0)
    plan = plan_season(problem)
    assert check_plan(problem, plan) == [] and plan.unplaced == ()
    assert plan.stats["combined_days"] == 3
    reihoku, amakusa = IDS["苓北町"], IDS["天草市"]
    tour = TRAVEL.minutes(None, reihoku) + TRAVEL.minutes(reihoku, amakusa)
    tour += TRAVEL.minutes(amakusa, None)
    assert plan.travel_minutes == 3 * tour


def test_a_session_longer_than_a_consultant_day_is_reported() -> None:
    mornings = {d: (time(9), time(12)) for d in range(5)}
    need = EngagementNeed(900, IDS["宇土市"], 2, (2,))
    problem = replace(
        season_problem(),
        consultants=(Consultant(1, is_lead=True), Consultant(2, weekly=mornings)),
        engagements=(need,),
    )
    plan = plan_season(problem)
    assert check_plan(problem, plan) == []
    assert (
        Unplaced(
            what="bpr", count=2, reason="no_room", engagement_id=900, municipality_id=IDS["宇土市"]
        )
        in plan.unplaced
    )
    assert not [b for b in plan.bookings if b.kind == "bpr"]


def test_spread_targets_fill_the_widest_gaps() -> None:
    lo, hi = date(2026, 6, 1), date(2027, 3, 31)
    even = spread_targets(lo, hi, [], 10, 0.5)
    gaps = {(b - a).days for a, b in itertools.pairwise(even)}
    assert max(gaps) - min(gaps) <= 1
    taken = [date(2026, 6, 10), date(2026, 7, 10), date(2027, 3, 20)]
    (one,) = spread_targets(lo, hi, taken, 1, 0.5)
    assert date(2026, 10, 1) < one < date(2027, 1, 1)


# --- random small instances -------------------------------------------------------------

TOWNS = [*SEASON_TOWNS, "宇土市", "熊本市", "合志市", "苓北町", "あさぎり町"]
WINDOW_START = date(2026, 11, 2)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    start = WINDOW_START + timedelta(days=draw(st.integers(0, 90)))
    end = start + timedelta(days=draw(st.integers(10, 120)))
    people = draw(st.integers(1, 4))
    hours = st.tuples(st.sampled_from([9, 10, 13]), st.sampled_from([12, 15, 17]))
    consultants = []
    for person in range(1, people + 1):
        weekly = draw(st.none() | st.dictionaries(st.integers(0, 4), hours, min_size=1))
        absences = draw(
            st.lists(
                st.builds(
                    Absence,
                    st.dates(start, end),
                    st.none() | st.sampled_from([time(9), time(12)]),
                    st.none() | st.sampled_from([time(12), time(15)]),
                ),
                max_size=6,
            )
        )
        consultants.append(
            Consultant(
                person,
                is_lead=person == 1 and draw(st.booleans()),
                weekly=None
                if weekly is None
                else {d: (time(a), time(b)) for d, (a, b) in weekly.items()},
                absences=tuple(absences),
            )
        )
    ids = list(range(1, people + 2))  # one id past the roster: not a consultant
    engagements = tuple(
        EngagementNeed(
            engagement_id=10 + n,
            municipality_id=IDS[draw(st.sampled_from(TOWNS))],
            sessions=draw(st.integers(1, 6)),
            consultant_ids=tuple(
                draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
            ),
            per_session=draw(st.integers(1, 2)),
        )
        for n in range(draw(st.integers(1, 4)))
    )
    fixed = tuple(draw(st.lists(_fixed_bookings(start, end, ids, engagements), max_size=8)))
    return Problem(
        start=start,
        end=end,
        consultants=tuple(consultants),
        engagements=engagements,
        travel=TRAVEL,
        office_days=draw(st.integers(0, 5)),
        consultation_reserve=draw(st.integers(0, 5)),
        results_meeting=draw(st.booleans()),
        fixed=fixed,
        bpr_minutes=draw(st.sampled_from([120, 180, 210, 240])),
        min_gap_days=draw(st.integers(1, 14)),
        seed=draw(st.integers(0, 3)),
    )


def _fixed_bookings(
    start: date, end: date, ids: list[int], engagements: tuple[EngagementNeed, ...]
) -> st.SearchStrategy[Booking]:
    @st.composite
    def one(draw: st.DrawFn) -> Booking:
        day = draw(st.dates(start - timedelta(days=10), end))
        begins = at(day, draw(st.integers(8, 15)), draw(st.sampled_from([0, 15, 30, 45])))
        kind = draw(st.sampled_from(["bpr", "consultation", "office_day", "reserve"]))
        need = draw(st.sampled_from(engagements))
        return Booking(
            kind=kind,
            starts_at=begins,
            ends_at=begins + timedelta(minutes=draw(st.sampled_from([60, 120, 180]))),
            consultant_ids=tuple(
                draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True))
            ),
            municipality_id=need.municipality_id if kind == "bpr" else None,
            engagement_id=need.engagement_id if kind == "bpr" else None,
            online=kind == "consultation" and draw(st.booleans()),
        )

    return one()


@st.composite
def feasible_problems(draw: st.DrawFn) -> Problem:
    """Instances with room to spare by construction: 2-4 consultants (1 the lead) without
    weekly limits or absences, no fixed bookings, at least 60 days (to the end of March
    when there is a results meeting), at most 3 engagements of at most 4 sessions whose
    gaps fit the window, and a few office days and reserve windows."""
    start = WINDOW_START + timedelta(days=draw(st.integers(0, 60)))
    results_meeting = draw(st.booleans())
    end = (
        date(2027, 3, 31)
        if results_meeting
        else min(date(2027, 3, 31), start + timedelta(days=draw(st.integers(60, 120))))
    )
    people = draw(st.integers(2, 4))
    roster = list(range(1, people + 1))
    gap = draw(st.integers(1, 14))
    engagements = []
    for n in range(draw(st.integers(1, 3))):
        per_session = draw(st.integers(1, 2))
        eligible = draw(
            st.lists(st.sampled_from(roster), min_size=per_session, max_size=people, unique=True)
        )
        engagements.append(
            EngagementNeed(
                engagement_id=10 + n,
                municipality_id=IDS[draw(st.sampled_from(TOWNS))],
                sessions=draw(st.integers(1, 4)),
                consultant_ids=tuple(eligible),
                per_session=per_session,
            )
        )
    problem = Problem(
        start=start,
        end=end,
        consultants=tuple(Consultant(person, is_lead=person == 1) for person in roster),
        engagements=tuple(engagements),
        travel=TRAVEL,
        office_days=draw(st.integers(0, 5)),
        consultation_reserve=draw(st.integers(0, 5)),
        results_meeting=results_meeting,
        bpr_minutes=draw(st.sampled_from([120, 180, 210, 240])),
        min_gap_days=gap,
        seed=draw(st.integers(0, 3)),
    )
    assert (end - start).days >= 3 * gap + 14  # room for 4 sessions `gap` apart
    return problem


def diary_conflicts(problem: Problem, plan: Plan) -> list[str]:
    """What `handlers.scheduling.diary.conflicts`, the rule booking applies, says against each new
    booking: the consultant's week and absences, and every other booking of theirs."""
    every = [*problem.fixed, *plan.bookings]
    people = {c.id: c for c in problem.consultants}
    found: list[str] = []
    for booking in plan.bookings:
        for person in booking.consultant_ids:
            consultant = people.get(person)
            if consultant is None:
                continue  # the checker reports unknown consultants
            absences = [
                StoredAbsence(
                    person_id=person,
                    day=a.day,
                    starts=a.starts,
                    ends=a.ends,
                    kind=AbsenceKind.LEAVE,
                    created_by_id=person,
                )
                for a in consultant.absences
            ]
            busy = [
                diary.Busy(other.starts_at, other.ends_at, _diary_site(other))
                for other in every
                if other is not booking and person in other.consultant_ids
            ]
            own = diary.Diary(person, dict(consultant.weekly or {}), absences, busy)
            site = _diary_site(booking)
            for conflict in diary.conflicts(
                own, problem.travel, booking.starts_at, booking.ends_at, site
            ):
                found.append(f"{booking}: consultant {person} {conflict.key} {conflict.when}")
    return found


def _diary_site(booking: Booking) -> int | None:
    mode = Mode.ONLINE if booking.online else Mode.VISIT
    where = [booking.municipality_id] if booking.municipality_id is not None else []
    return diary.site_of(booking.kind, mode, where)


def honest_errors(problem: Problem, plan: Plan) -> list[str]:
    """Any instance: what is placed breaks no rule (the checker's and the diary's) and the
    unplaced entries account exactly for what is missing, in the planner's vocabulary."""
    errors = check_plan(problem, plan) + diary_conflicts(problem, plan)
    errors += [
        f"unplaced {u}: not in the vocabulary"
        for u in plan.unplaced
        if u.what not in UNPLACED_WHATS or u.reason not in UNPLACED_REASONS
    ]
    return errors


def complete_errors(problem: Problem, plan: Plan) -> list[str]:
    """A feasible instance: all of `honest_errors`, and the plan is complete."""
    return check_complete(problem, plan) + honest_errors(problem, plan)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_random_instances_never_break_a_rule_and_account_for_what_is_missing(
    problem: Problem,
) -> None:
    plan = plan_season(problem)
    assert honest_errors(problem, plan) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feasible_problems())
def test_feasible_instances_are_planned_completely(problem: Problem) -> None:
    plan = plan_season(problem)
    assert complete_errors(problem, plan) == []
    assert plan.unplaced == ()


def _plans_nothing(problem: Problem) -> Plan:
    return Plan((), (), travel_minutes(problem.fixed, problem.travel), {})


def _plans_nothing_but_says_so(problem: Problem) -> Plan:
    unplaced = tuple(
        Unplaced(
            what=what,
            count=count,
            reason="no_room",
            engagement_id=engagement,
            municipality_id=next(
                (n.municipality_id for n in problem.engagements if n.engagement_id == engagement),
                None,
            ),
        )
        for (what, engagement), count in missing_items(problem, list(problem.fixed)).items()
    )
    return replace(_plans_nothing(problem), unplaced=unplaced)


@settings(max_examples=25, deadline=None)
@given(feasible_problems())
def test_the_properties_reject_a_planner_that_plans_nothing(problem: Problem) -> None:
    """The property tests can fail: a planner that books nothing breaks the first (it does
    not say what is missing) or, saying so, the second (the instance is feasible)."""
    silent = _plans_nothing(problem)
    assert any("unplaced says 0" in line for line in honest_errors(problem, silent))
    assert complete_errors(problem, silent)
    honest = _plans_nothing_but_says_so(problem)
    assert honest.unplaced and honest_errors(problem, honest) == []
    assert any("feasible instance" in line for line in complete_errors(problem, honest))
    overstated = replace(honest, unplaced=(*honest.unplaced, honest.unplaced[0]))
    assert honest_errors(problem, overstated)


def _days(start: date, end: date) -> list[date]:
    return [
        start + timedelta(days=n)
        for n in range((end - start).days + 1)
        if is_business_day(start + timedelta(days=n))
    ]


def test_the_checker_catches_broken_plans(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    bookings = list(plan.bookings)
    session = next(b for b in bookings if b.kind == "bpr")
    office = next(b for b in bookings if b.kind == "office_day")
    rest = [b for b in bookings if b not in (session, office)]
    saturday = session.starts_at + timedelta(days=5 - session.starts_at.weekday())
    next_day = replace(
        session,
        starts_at=session.starts_at + timedelta(days=1),
        ends_at=session.ends_at + timedelta(days=1),
        consultant_ids=(99,),
    )
    broken = {
        "not a business day": [
            office,
            replace(session, starts_at=saturday, ends_at=saturday + timedelta(hours=4)),
        ],
        "lead consultant is missing": [session, replace(office, consultant_ids=(2,))],
        "closer than": [session, office, next_day],
        "travel": [
            office,
            replace(
                session,
                consultant_ids=office.consultant_ids,
                starts_at=office.ends_at,
                ends_at=office.ends_at + timedelta(minutes=problem.bpr_minutes),
            ),
        ],
        "unplaced says 0": [office],
    }
    for expected, changed in broken.items():
        wrong = Plan(tuple(rest + changed), (), plan.travel_minutes, {})
        assert any(expected in line for line in check_plan(problem, wrong)), expected


def test_the_checker_allows_driving_outside_office_hours_only() -> None:
    problem = season_problem()
    day = date(2026, 7, 1)
    reihoku, amakusa = IDS["苓北町"], IDS["天草市"]

    def session(where: int, hour: int, minute: int = 0) -> Booking:
        begins = at(day, hour, minute)
        ends = begins + timedelta(minutes=problem.bpr_minutes)
        return Booking("bpr", begins, ends, (2,), municipality_id=where, engagement_id=None)

    def rule_errors(*bookings: Booking) -> list[str]:
        lines = check_plan(problem, Plan(bookings, (), 0, {}))
        return [line for line in lines if "min travel" in line or "office hours" in line]

    # 150 min out to 苓北町 by 09:00 and 125 min back from 天草市 after 17:00: allowed
    assert rule_errors(session(reihoku, 9), session(amakusa, 13, 30)) == []
    # but 苓北町 → 天草市 is 25 min: 12:30 + 25 min is after 12:45
    (line,) = rule_errors(session(reihoku, 9), session(amakusa, 12, 45))
    assert "25 min travel" in line
    # and the sessions themselves stay inside office hours
    (line,) = rule_errors(session(reihoku, 8, 45))
    assert "outside office hours" in line


# --- tours across clusters, balance (issue #20) -------------------------------------------

BENCHMARK_OPTIMUM = 7885  # bench/planner.py's exact model at the plan's balance (136 h)
TWELVE_TOWN_OPTIMUM = 9355  # the same for the 12-town season (184 h)


def _tour_days(plan: Plan) -> Counter[frozenset[int]]:
    """Consultant-days visiting two towns, by the pair of towns."""
    days: dict[tuple[int, date], set[int]] = {}
    for booking in plan.bookings:
        if booking.kind == "bpr":
            for person in booking.consultant_ids:
                days.setdefault((person, booking.starts_at.date()), set()).add(
                    booking.municipality_id  # type: ignore[arg-type]
                )
    return Counter(frozenset(towns) for towns in days.values() if len(towns) == 2)


def _load_ratio(plan: Plan) -> float:
    hours = plan.stats["hours_by_consultant"]
    return max(hours.values()) / (sum(hours.values()) / len(hours))


def test_the_benchmark_season_stays_at_its_optimum(season: tuple[Problem, Plan]) -> None:
    _, plan = season
    assert plan.travel_minutes == BENCHMARK_OPTIMUM
    assert _load_ratio(plan) <= 1.01


def test_clusters_of_three_tour_every_two_of_their_towns() -> None:
    """The 12-town season: 玉名市, 玉東町 and 和水町 (and 八代市, 氷川町, 宇城市) are within
    reach of each other; one pair taking every tour would leave the third town driving out
    alone ten times, so every two of them tour, on different days."""
    problem = twelve_town_problem()
    plan = plan_season(problem)
    assert check_complete(problem, plan) == []
    tours = _tour_days(plan)
    tamana = [IDS[town] for town in ("玉名市", "玉東町", "和水町")]
    for a, b in itertools.combinations(tamana, 2):
        assert tours[frozenset((a, b))] == 5, (a, b)
    yatsushiro = [IDS[town] for town in ("八代市", "氷川町", "宇城市")]
    assert sum(tours[frozenset(p)] for p in itertools.combinations(yatsushiro, 2)) >= 10
    assert plan.travel_minutes <= 1.02 * TWELVE_TOWN_OPTIMUM
    assert max(plan.stats["hours_by_consultant"].values()) <= 184


def test_a_tour_saving_more_than_balance_is_worth_may_load_one_consultant() -> None:
    """Only consultant 2 may visit both 苓北町 and 天草市 (250 car minutes saved a day,
    more than `BALANCE_TRAVEL_PER_HOUR` per hour): they take all three tours."""
    far = (
        EngagementNeed(900, IDS["苓北町"], 3, (1, 2)),
        EngagementNeed(901, IDS["天草市"], 3, (2, 3)),
    )
    problem = replace(season_problem(), engagements=far, office_days=0, consultation_reserve=0)
    plan = plan_season(problem)
    assert all(b.consultant_ids == (2,) for b in plan.bookings if b.kind == "bpr")
    assert len(_tour_days(plan)) == 1 and sum(_tour_days(plan).values()) == 3


def test_no_municipality_is_in_two_overlapping_sessions() -> None:
    """宇土市 has an online consultation every morning (another consultant): its BPR
    sessions go to the afternoons; the checker rejects a plan that overlaps one."""
    uto = IDS["宇土市"]
    days = _days(date(2026, 9, 1), date(2026, 11, 30))
    mornings = tuple(
        Booking("consultation", at(d, 9), at(d, 12), (3,), municipality_id=uto, online=True)
        for d in days
    )
    problem = replace(
        season_problem(start=days[0], end=days[-1]),
        engagements=(EngagementNeed(900, uto, 4, (1, 2)),),
        office_days=0,
        consultation_reserve=0,
        results_meeting=False,
        fixed=mornings,
    )
    plan = plan_season(problem)
    assert check_complete(problem, plan) == []
    sessions = [b for b in plan.bookings if b.kind == "bpr"]
    assert len(sessions) == 4 and all(b.starts_at.time() >= time(12) for b in sessions)
    clash = replace(sessions[0], starts_at=at(sessions[0].starts_at.date(), 9))
    clash = replace(clash, ends_at=clash.starts_at + timedelta(minutes=problem.bpr_minutes))
    broken = replace(plan, bookings=(clash, *sessions[1:]), travel_minutes=0)
    assert any("overlaps" in line for line in check_plan(problem, broken))
    joint = replace(mornings[0], municipality_id=IDS["宇城市"], towns=(IDS["宇城市"], uto))
    assert towns_of(joint) == (IDS["宇城市"], uto)
    assert towns_of(replace(joint, kind="results_meeting")) == ()


def test_an_idle_consultant_is_warned_about_with_a_proposal() -> None:
    """The demo's situation: every engagement approved with the same two of three
    consultants. The third gets no visit; the warning names them and proposes which
    engagements could take them; taking the proposal gives them visits and evens the
    load out (the warning goes)."""
    problem = season_problem()
    lopsided = replace(
        problem, engagements=tuple(replace(n, consultant_ids=(1, 2)) for n in problem.engagements)
    )
    plan = plan_season(lopsided)
    found = imbalance(lopsided, plan)
    assert found is not None
    assert found.idle == (3,) and found.over == (1, 2)
    assert found.hours[3] == 2.0  # the results meeting only
    assert found.proposal and {c for _, c in found.proposal} == {3}
    joins: dict[int, set[int]] = {}
    for engagement, consultant in found.proposal:
        joins.setdefault(engagement, set()).add(consultant)
    taken = replace(
        lopsided,
        engagements=tuple(
            replace(
                n,
                consultant_ids=tuple(sorted({*n.consultant_ids, *joins.get(n.engagement_id, ())})),
            )
            for n in lopsided.engagements
        ),
    )
    again = plan_season(taken)
    assert check_complete(taken, again) == []
    assert any(3 in b.consultant_ids for b in again.bookings if b.kind == "bpr")
    assert imbalance(taken, again) is None
    hours = season_hours(taken, again)
    assert max(hours.values()) <= 1.01 * sum(hours.values()) / len(hours) + 1
    assert found.expected == pytest.approx(hours, abs=3.5)


def test_an_even_season_has_no_warning(season: tuple[Problem, Plan]) -> None:
    problem, plan = season
    assert imbalance(problem, plan) is None
    assert set(season_hours(problem, plan)) == {1, 2, 3}
