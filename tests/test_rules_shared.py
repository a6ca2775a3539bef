"""Each scheduling rule has one definition, `handlers.scheduling.rules`, and both the
season planner and booking apply it: for a table of cases the rule, the diary (what
`booking.check_slot` asks) and the planner give one verdict, and bending the rule bends
both — so neither can quietly grow a copy of its own. Also here: the one catch-all in
handlers is the intent's error path, and it logs the reference it shows."""

from __future__ import annotations

import ast
import logging
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from handlers.core import business_days
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.intents import intent
from handlers.core.reply import Reply
from handlers.planning import planner
from handlers.scheduling import booking, diary, rules
from handlers.scheduling.travel import Site, TravelTable
from storage.models import Absence as StoredAbsence
from storage.models import AbsenceKind, SessionKind

DAY = date(2026, 7, 8)  # a Wednesday, a business day
TOWN_A, TOWN_B = 1, 2
# No positions: between two towns the table goes through the office (60 + 30 min).
TRAVEL = TravelTable([Site(TOWN_A, 60), Site(TOWN_B, 30)], None)


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, TOKYO)


def one_day(
    consultant: planner.Consultant,
    day: date = DAY,
    fixed: tuple[planner.Booking, ...] = (),
    *,
    results_meeting: bool = False,
) -> planner.Problem:
    """A planner problem of one consultant and one day, with no quota but the meeting."""
    return planner.Problem(
        start=day,
        end=day,
        consultants=(consultant,),
        engagements=(),
        travel=TRAVEL,
        office_days=0,
        consultation_reserve=0,
        results_meeting=results_meeting,
        fixed=fixed,
    )


def planner_takes(problem: planner.Problem, start: time, end: time, site: int | None) -> bool:
    """Whether the planner would start a stop of that length at `start` on the day."""
    season = planner._Season(problem)
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    starts = season.starts(1, problem.start, minutes, site, first_only=False)
    return start.hour * 60 + start.minute in starts


# --- absences ---------------------------------------------------------------------------

ABSENCES = [
    # (absence: day, starts, ends), (slot: start, end), blocks?
    ((DAY, None, None), (time(10), time(12)), True),  # the whole day
    ((DAY, time(13), None), (time(9), time(10)), True),  # one time missing: the whole day
    ((DAY, None, time(12)), (time(15), time(16)), True),
    ((DAY, time(9), time(12)), (time(12), time(14)), False),  # ends as the slot starts
    ((DAY, time(9), time(12)), (time(11, 45), time(13, 45)), True),
    ((DAY, time(13), time(15)), (time(10), time(13)), False),  # starts as the slot ends
    ((DAY, time(13), time(15)), (time(10), time(13, 15)), True),
    ((DAY, time(9), time(12)), (time(10), time(10, 15)), True),  # inside
    ((DAY, time(12, 0, 30), time(13)), (time(10), time(12)), False),  # seconds count
    ((DAY, time(11, 59, 59), time(13)), (time(10), time(12)), True),
    ((DAY + timedelta(days=1), None, None), (time(10), time(12)), False),  # another day
]


@pytest.mark.parametrize(("absence", "slot", "blocks"), ABSENCES)
def test_an_absence_blocks_the_same_slots_for_planner_and_booking(
    absence: tuple[date, time | None, time | None], slot: tuple[time, time], blocks: bool
) -> None:
    (day, starts, ends), (start, end) = absence, slot
    assert rules.absence_blocks(planner.Absence(day, starts, ends), DAY, start, end) is blocks

    row = StoredAbsence(person_id=1, day=day, starts=starts, ends=ends, kind=AbsenceKind.LEAVE)
    diaries = {1: diary.Diary(1, absences=[row])}
    conflict = diary.first_conflict(diaries, TRAVEL, at(DAY, start), at(DAY, end), None)
    assert (conflict is not None and conflict.key == "conflict.absence.leave") is blocks

    consultant = planner.Consultant(1, absences=(planner.Absence(day, starts, ends),))
    assert planner_takes(one_day(consultant), start, end, None) is not blocks


# --- the travel buffer ------------------------------------------------------------------

GAPS = [
    # (booked: site, start, end), (slot: site, start, end), fits?
    ((TOWN_A, time(9), time(10)), (TOWN_B, time(11, 30), time(12, 30)), True),  # 90 min
    ((TOWN_A, time(9), time(10)), (TOWN_B, time(11, 15), time(12, 15)), False),
    ((TOWN_A, time(9), time(10)), (TOWN_A, time(10), time(11)), True),  # same town
    ((rules.ONLINE, time(9), time(10)), (TOWN_B, time(10), time(11)), True),  # online
    ((TOWN_A, time(9), time(12)), (None, time(13), time(14)), True),  # to the office: 60
    ((TOWN_A, time(9), time(12)), (None, time(12, 45), time(13, 45)), False),
    ((TOWN_A, time(11), time(13)), (TOWN_B, time(9), time(10)), False),  # slot first: 60 < 90
    ((TOWN_A, time(11, 30), time(13)), (TOWN_B, time(9), time(10)), True),
    ((TOWN_A, time(9), time(11)), (rules.ONLINE, time(10, 30), time(11, 30)), False),  # overlap
]


def _booked(site: int | None, start: time, end: time) -> planner.Booking:
    online = site == rules.ONLINE
    return planner.Booking(
        "office_day" if site is None else "bpr",
        at(DAY, start),
        at(DAY, end),
        (1,),
        municipality_id=None if online else site,
        online=online,
    )


@pytest.mark.parametrize(("booked", "slot", "fits"), GAPS)
def test_the_travel_buffer_is_the_same_for_planner_and_booking(
    booked: tuple[int | None, time, time], slot: tuple[int | None, time, time], fits: bool
) -> None:
    (site, start, end), (slot_site, slot_start, slot_end) = booked, slot
    if end <= slot_start:
        gap = (slot_start.hour - end.hour) * 60 + slot_start.minute - end.minute
        assert rules.travel_gap_ok(gap, TRAVEL, site, slot_site) is fits
    elif slot_end <= start:
        gap = (start.hour - slot_end.hour) * 60 + start.minute - slot_end.minute
        assert rules.travel_gap_ok(gap, TRAVEL, slot_site, site) is fits

    busy = diary.Busy(at(DAY, start), at(DAY, end), site)
    diaries = {1: diary.Diary(1, busy=[busy])}
    conflict = diary.first_conflict(
        diaries, TRAVEL, at(DAY, slot_start), at(DAY, slot_end), slot_site
    )
    assert (conflict is None) is fits

    problem = one_day(planner.Consultant(1), fixed=(_booked(site, start, end),))
    assert planner_takes(problem, slot_start, slot_end, slot_site) is fits


# --- the results meeting's month --------------------------------------------------------


def test_the_results_meeting_month_is_the_same_for_planner_and_booking(ctx: Context) -> None:
    """Every business day of two programme years: booking refuses a results meeting
    exactly on the days the planner will not put it on (a one-day season there)."""
    everyone = planner.Consultant(1, is_lead=True)
    day, seen = date(2026, 4, 1), set()
    with ctx.db.transaction() as session:
        while day < date(2028, 4, 1):
            if business_days.is_business_day(day):
                in_march = rules.is_results_meeting_day(day)
                assert in_march is (day.month == 3)
                starts_at = at(day, time(14))
                refusal = booking.program_refusal(
                    session, ctx, SessionKind.RESULTS_MEETING, None, starts_at
                )
                assert (refusal is None) is in_march, day
                plan = planner.plan_season(one_day(everyone, day, results_meeting=True))
                placed = [b.kind for b in plan.bookings] == ["results_meeting"]
                assert placed is in_march, day
                if not in_march:
                    assert [u.reason for u in plan.unplaced] == ["no_march_day"]
                seen.add(in_march)
            day += timedelta(days=1)
    assert seen == {True, False}


def test_the_planners_meeting_is_in_the_march_of_its_contract_year() -> None:
    """A season that opens in March plans that March's meeting, not next year's."""
    problem = planner.Problem(
        start=date(2027, 3, 1),
        end=date(2028, 3, 31),
        consultants=(planner.Consultant(1, is_lead=True),),
        engagements=(),
        travel=TRAVEL,
        office_days=0,
        consultation_reserve=0,
    )
    (meeting,) = planner.plan_season(problem).bookings
    day = meeting.starts_at.date()
    assert rules.results_meeting_month(2026) == (2027, 3)
    assert (day.year, day.month) == (2027, 3)
    assert rules.is_results_meeting_day(day, 2026) and not rules.is_results_meeting_day(day, 2027)


# --- one definition: bending the rule bends both ------------------------------------------


def test_planner_and_booking_call_the_shared_rules(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replace each rule by its opposite: the diary, booking and the planner all follow."""
    consultant = planner.Consultant(1, absences=(planner.Absence(DAY, time(9), time(10)),))
    row = StoredAbsence(person_id=1, day=DAY, starts=time(9), ends=time(10), kind="leave")
    free = {1: diary.Diary(1, absences=[row])}
    afternoon = (at(DAY, time(14)), at(DAY, time(15)))
    assert diary.first_conflict(free, TRAVEL, *afternoon, None) is None
    assert planner_takes(one_day(consultant), time(14), time(15), None)
    monkeypatch.setattr(rules, "absence_blocks", lambda *_: True)
    assert diary.first_conflict(free, TRAVEL, *afternoon, None) is not None
    assert not planner_takes(one_day(consultant), time(14), time(15), None)
    monkeypatch.undo()

    morning = _booked(TOWN_A, time(9), time(10))
    near = {1: diary.Diary(1, busy=[diary.Busy(morning.starts_at, morning.ends_at, TOWN_A)])}
    assert diary.first_conflict(near, TRAVEL, *afternoon, TOWN_B) is None
    with_morning = one_day(planner.Consultant(1), fixed=(morning,))
    assert planner_takes(with_morning, time(14), time(15), TOWN_B)
    monkeypatch.setattr(rules, "travel_gap_ok", lambda *_: False)
    assert diary.first_conflict(near, TRAVEL, *afternoon, TOWN_B) is not None
    assert not planner_takes(with_morning, time(14), time(15), TOWN_B)
    monkeypatch.undo()

    june = date(2026, 6, 10)
    shared = rules.is_results_meeting_day
    assert booking.is_results_meeting_day is shared  # booking's name is the rule itself

    def opposite(day: date, fiscal_year: int | None = None) -> bool:
        return not shared(day, fiscal_year)

    monkeypatch.setattr(rules, "is_results_meeting_day", opposite)
    monkeypatch.setattr(booking, "is_results_meeting_day", opposite)
    with ctx.db.transaction() as session:
        refusal = booking.program_refusal(
            session, ctx, SessionKind.RESULTS_MEETING, None, at(june, time(14))
        )
    assert refusal is None
    plan = planner.plan_season(one_day(planner.Consultant(1), june, results_meeting=True))
    assert [b.kind for b in plan.bookings] == ["results_meeting"]


# --- catch-alls -------------------------------------------------------------------------


def _catch_alls(source: str) -> list[int]:
    """Lines of handlers that catch every exception and do not raise it again (a
    clean-up that re-raises, `except BaseException: undo(); raise`, passes it on)."""
    broad = {"Exception", "BaseException"}
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ExceptHandler):
            continue
        caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        names = {c.id if isinstance(c, ast.Name) else None for c in caught}
        last = node.body[-1]
        passes_on = isinstance(last, ast.Raise) and last.exc is None
        if (node.type is None or names & broad) and not passes_on:
            found.append(node.lineno)
    return found


def test_handlers_catch_everything_only_on_the_one_error_path() -> None:
    """Catch-alls belong at the process edge: in handlers, only the intent's error path,
    which answers with a reference and logs it."""
    assert _catch_alls("try:\n    pass\nexcept (ValueError, Exception):\n    pass\n") == [3]
    assert _catch_alls("try:\n    pass\nexcept:\n    pass\n") == [3]
    assert _catch_alls("try:\n    pass\nexcept BaseException:\n    raise\n") == []
    handlers = Path(__file__).resolve().parent.parent / "handlers"
    found = sorted(
        str(path.relative_to(handlers.parent))
        for path in handlers.rglob("*.py")
        if _catch_alls(path.read_text(encoding="utf-8"))
    )
    assert found == ["handlers/core/intents.py"]


def test_the_error_path_logs_the_reference_it_shows(
    ctx: Context, cast: dict[str, Actor], caplog: pytest.LogCaptureFixture
) -> None:
    @intent("test.crash")
    def crash(ctx: Context, actor: Actor) -> Reply:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="dxdesk"):
        reply = crash(ctx, cast["熊本 県子"])
    assert not reply.ok
    shown = re.findall(r"(?<![0-9A-F])[0-9A-F]{6}(?![0-9A-F])", reply.plain_text())
    assert len(shown) == 1
    (record,) = [r for r in caplog.records if shown[0] in r.getMessage()]
    assert "test.crash" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
