"""Issue #14 item 8: whole seasons, property-tested.

A hypothesis rule-based state machine drives the handlers exactly as the platforms do —
`handlers.router.submit` for forms, `router.press` for buttons, forms read from the
bot's own replies — as random actors of the demo's cast (bot/demo/cast.py): municipal staff of
several towns,
prefecture approvers and their clerk, the consultants (lead and others) and people with
no business doing what they try (another town's staff, a consultant approving, the
administrator booking). They try legal and illegal things while a fake clock moves on by
business hours and days through the contract period.

After every step the record is checked against its own rows:
- its rules (issue #14 (1), (3)): no municipality and no consultant in two overlapping
  live sessions (the results meeting exempt for towns), at most one live results meeting
  per programme year and only in March, no session held before it began, every done
  step done in 1–2 held BPR sessions of its engagement;
- every count shown anywhere — `quotas.figures`, the `quota.view` reply, App Home, the
  weekly digest — equals held/booked per kind derived from the rows with the shared
  definition (held = not cancelled and begun, `starts_at <= now`);
- `handlers.record.check.findings` (`python -m bot check`) finds nothing;
and after every action: nothing crashed (an "unexpected error" reply), and a refused or
invalid action changed no row outside the audit log and left exactly one audited refusal.

The record is checked after a step that wrote something or moved the clock (a refused
step changed nothing, which is checked instead). The season starts from a drawn head
start (towns selected, consultations approved, perhaps a confirmed season plan, weeks
gone by) and actors act a little later than one another, so short runs reach logs,
steps and held sessions. Bounded for the normal suite (6 seasons of 20 steps, not
shrunk); `DXDESK_LONG_PROPERTIES=1` (CI on PostgreSQL) runs 200 seasons of 30 steps and
shrinks a failure. A failure prints the steps that led to it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from handlers import router
from handlers.core import payloads
from handlers.core.actor import Actor
from handlers.core.business_days import add_business_days, is_business_day
from handlers.core.clock import TOKYO, FakeClock
from handlers.core.context import Context, Rules
from handlers.core.reply import Reply
from handlers.notifications import digest
from handlers.planning import quotas
from handlers.record import check
from storage.db import Database
from tests.support.db_setup import fresh_database
from tests.support.factories import application, consultation, enrol_cast
from tests.support.season_actors import (
    TEXTS,
    Roster,
    Row,
    at,
    derived_counts,
    digest_counts,
    fill,
    monday_of,
    quota_list_counts,
    refusals,
    rule_breaches,
    session_rows,
    snapshot,
)

LONG = os.environ.get("DXDESK_LONG_PROPERTIES") == "1"
# The normal suite does not shrink: an example takes a fraction of a second, a shrink of
# a failing season minutes. The long run (CI) shrinks, for the shortest story to read;
# DXDESK_LONG_EXAMPLES sets its length (40 seasons take about 5 minutes on PostgreSQL).
SEASON = settings(
    max_examples=int(os.environ.get("DXDESK_LONG_EXAMPLES", "40")) if LONG else 6,
    stateful_step_count=30 if LONG else 20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=tuple(Phase) if LONG else (Phase.explicit, Phase.reuse, Phase.generate),
)
RULES = Rules()
START = datetime.combine(RULES.contract_start, time(9, 0), TOKYO)  # Monday 2026-06-01
END = datetime.combine(RULES.contract_end, time(18, 0), TOKYO)
STARTS = ("09:00", "09:30", "10:00", "13:00", "13:30", "14:00", "15:00")
MINUTES = (60, 120, 210, 240)


class Trap(logging.Handler):
    """Collects what the one error path logs for an unexpected exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(logging.Formatter().format(record))


class Season(RuleBasedStateMachine):
    """One season of DX Desk, from an empty roster-only database."""

    make_database: ClassVar[Callable[[], Database]]

    def __init__(self) -> None:
        super().__init__()
        self.db = self.make_database()
        self.clock = FakeClock(START)
        self.ctx = Context(self.db, self.clock, RULES)
        self.cast = Roster.of(enrol_cast(self.ctx))
        self.trap = Trap()
        logging.getLogger("dxdesk").addHandler(self.trap)
        self.changed = True  # since the record was last checked

    def teardown(self) -> None:
        logging.getLogger("dxdesk").removeHandler(self.trap)
        self.db.dispose()

    # --- the platform's two doors, watched -------------------------------------------

    def submit(self, actor: Actor, action: str, values: dict[str, Any], context: str = "") -> Reply:
        return self._write(
            f"{action} by {actor.name}",
            lambda: router.submit(self.ctx, actor, action, values, context),
        )

    def press(self, actor: Actor, action: str, value: str = "", *, writes: bool = False) -> Reply:
        call = lambda: router.press(self.ctx, actor, action, value)  # noqa: E731
        if writes:
            return self._write(f"{action} by {actor.name}", call)
        reply = call()
        self._nothing_crashed(f"{action} by {actor.name}")
        return reply

    def _write(self, label: str, call: Callable[[], Reply]) -> Reply:
        before, refused = snapshot(self.db), refusals(self.db)
        reply = call()
        self._nothing_crashed(label)
        self.changed |= reply.ok
        if not reply.ok:
            after = snapshot(self.db)
            changed = sorted(name for name in before if before[name] != after.get(name))
            assert not changed, f"the refused {label} changed {changed}: {reply.plain_text()}"
            if "refusal" in reply.data:
                assert refusals(self.db) == refused + 1, f"the refusal of {label} is not audited"
        return reply

    def _nothing_crashed(self, label: str) -> None:
        crashes, self.trap.records = self.trap.records, []
        assert not crashes, f"{label} crashed:\n" + "\n".join(crashes)

    # --- what the record holds now (for choosing targets) -------------------------------

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.db.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def requests(self, *states: str) -> list[Any]:
        found = self.rows("SELECT id, kind, state, municipality_id, number FROM request")
        return [r for r in found if not states or r.state in states]

    def engagements(self) -> list[Any]:
        return self.rows("SELECT id, municipality_id, application_id FROM engagement")

    def assigned(self, request_id: int) -> list[int]:
        found = self.rows(
            "SELECT person_id FROM request_consultant WHERE request_id = :r", r=request_id
        )
        return [r.person_id for r in found]

    def has(self, sql: str) -> bool:
        return bool(self.rows(sql))

    # --- drawing -----------------------------------------------------------------------

    def someone(self, data: st.DataObject, allowed: Sequence[Actor]) -> Actor:
        """Who acts next: mostly someone allowed, one time in four anyone at all — and
        one time in two a little later than the last action (the season moves on even
        where the explicit `time_passes` rule is rarely drawn)."""
        if self.clock.now() < END and data.draw(st.booleans(), label="meanwhile"):
            self.advance(data, 5)
        if not allowed or data.draw(st.integers(0, 3), label="stranger") == 0:
            return self.one_of(data, self.cast.everyone)
        return self.one_of(data, allowed)

    def day(self, data: st.DataObject) -> date:
        """A day to book on: mostly soon (so the clock passes it), sometimes later in the
        season, a business day in March (the results meeting), rarely one already past."""
        today = self.clock.now().date()
        when = data.draw(st.sampled_from(["soon"] * 4 + ["later", "later", "march", "past"]))
        if when == "soon":
            found = add_business_days(today, data.draw(st.integers(1, 8)))
        elif when == "later":
            found = add_business_days(today, data.draw(st.integers(9, 90)))
        elif when == "march":
            found = add_business_days(date(2027, 2, 26), data.draw(st.integers(1, 21)))
        else:
            found = today - timedelta(days=data.draw(st.integers(1, 10)))
        return min(found, RULES.contract_end)

    def start(self, data: st.DataObject, minutes: int) -> str:
        """A start time; three times in four one that ends by closing time."""
        fits = [
            s
            for s in STARTS
            if at(date.min, s) + timedelta(minutes=minutes) <= at(date.min, "17:00")
        ]
        return data.draw(st.sampled_from(fits if fits and data.draw(st.integers(0, 3)) else STARTS))

    def when(
        self, data: st.DataObject, kind: str = "", minutes: int = 120
    ) -> tuple[date, str, Row | None]:
        """A day and start time: one time in three exactly when a live session starts
        (a clash the rules must refuse; that session is returned too), results meetings
        mostly in March."""
        live = [r for r in session_rows_of(self.db) if r.live]
        if live and data.draw(st.integers(0, 2), label="clash") == 0:
            clashed = self.session(data, live, "clash with")
            start = clashed.starts_at.astimezone(TOKYO)
            return start.date(), f"{start:%H:%M}", clashed
        if kind == "results_meeting" and data.draw(st.integers(0, 3)):
            day = add_business_days(date(2027, 2, 26), data.draw(st.integers(1, 21)))
            return day, "14:00", None
        return self.day(data), self.start(data, minutes), None

    def session(self, data: st.DataObject, rows: Sequence[Row], label: str) -> Row:
        """Drawn by id, so a failing run's steps stay short to read."""
        chosen = data.draw(st.sampled_from([r.id for r in rows]), label=label)
        return next(r for r in rows if r.id == chosen)

    def owing(self, kinds: tuple[str, ...]) -> list[Actor]:
        """Consultants of begun, live sessions of `kinds` still without their log (or, for
        office days, minutes)."""
        papered = {r[0] for r in self.rows("SELECT session_id FROM work_log_session")}
        papered |= {r[0] for r in self.rows("SELECT session_id FROM minutes")}
        now = self.clock.now()
        due = {
            p
            for r in session_rows_of(self.db)
            if r.live and r.kind in kinds and r.begun(now) and r.id not in papered
            for p in r.consultants
        }
        return [c for c in self.cast.consultants if c.id in due]

    def one_of(self, data: st.DataObject, pool: Sequence[Actor], label: str = "actor") -> Actor:
        """Drawn by name, so a failing run's steps read as who did what."""
        name = data.draw(st.sampled_from([a.name for a in pool]), label=label)
        return next(a for a in pool if a.name == name)

    def some_of(
        self, data: st.DataObject, pool: Sequence[Actor], most: int, label: str
    ) -> list[Actor]:
        names = data.draw(
            st.lists(st.sampled_from([a.name for a in pool]), max_size=most, unique=True),
            label=label,
        )
        return [a for a in pool if a.name in names]

    def consultants(self, data: st.DataObject, avoiding: Collection[int] = ()) -> list[Actor]:
        """One or two consultants; mostly none of `avoiding` (those already busy)."""
        pool = [c for c in self.cast.consultants if c.id not in avoiding]
        if not pool or data.draw(st.integers(0, 3), label="even the busy ones") == 0:
            pool = list(self.cast.consultants)
        names = data.draw(
            st.lists(st.sampled_from([c.name for c in pool]), min_size=1, max_size=2, unique=True),
            label="consultants",
        )
        return [c for c in pool if c.name in names]

    def picker(self, data: st.DataObject) -> Callable[[list[str], bool], list[str]]:
        def pick(offered: list[str], required: bool) -> list[str]:
            least = 1 if required else 0
            return data.draw(
                st.lists(st.sampled_from(offered), min_size=least, max_size=2, unique=True)
            )

        return pick

    # --- a head start: the season's first decisions, drawn ------------------------------

    @initialize(data=st.data())
    def open_the_season(self, data: st.DataObject) -> None:
        """Some towns selected for BPR (with their consultants), some consultations
        approved, perhaps a season plan confirmed, and some of the season gone by —
        through the same intents — so that short runs start where logs are due, steps
        can be done and the counts have something to count."""
        self.clock.set(at(add_business_days(START.date(), data.draw(st.integers(0, 15))), "09:00"))
        approver = self.cast.approvers[0]
        towns = self.some_of(data, self.cast.staff, 3, "selected")
        for staff in towns:
            applied = self.submit(staff, "bpr.apply", application(staff))
            assert applied.ok, applied.plain_text()
            ref = payloads.encode(id=applied.data["request_id"])
            chosen = {"consultants": [str(c.id) for c in self.consultants(data)]}
            assert self.submit(approver, "request.approve", chosen, ref).ok
        asking = self.some_of(data, self.cast.staff, 2, "asking")
        for staff in asking:
            wanted = add_business_days(self.clock.now().date(), 5).isoformat()
            asked = self.submit(
                staff, "request.submit", consultation(staff, preferred_dates=wanted)
            )
            assert asked.ok, asked.plain_text()
            ref = payloads.encode(id=asked.data["request_id"])
            chosen = {"consultants": [str(c.id) for c in self.consultants(data)]}
            assert self.submit(approver, "request.approve", chosen, ref).ok
        if data.draw(st.booleans(), label="a season plan confirmed"):
            drafted = self.press(self.cast.clerk, "plan.draft", writes=True)
            assert drafted.ok, drafted.plain_text()
            ref = payloads.encode(id=drafted.data["plan_id"])
            confirmed = self.press(self.cast.clerk, "plan.confirm", ref, writes=True)
            assert confirmed.ok, confirmed.plain_text()
        self.advance(data, data.draw(st.sampled_from([1, 20, 80]), label="into the season"))

    # --- time --------------------------------------------------------------------------

    @precondition(lambda self: self.clock.now() < END)
    @rule(data=st.data())
    def time_passes(self, data: st.DataObject) -> None:
        self.advance(data, 40)

    def advance(self, data: st.DataObject, most_days: int) -> None:
        """A few hours later the same day, or up to `most_days` business days later at
        some time of the day (never past the contract)."""
        now = self.clock.now()
        if data.draw(st.booleans(), label="within the day"):
            hours, halves = data.draw(st.integers(1, 4)), data.draw(st.integers(0, 1))
            later = now + timedelta(hours=hours, minutes=30 * halves)
        else:
            day = add_business_days(now.date(), data.draw(st.integers(1, most_days)))
            later = at(day, data.draw(st.sampled_from((*STARTS, "12:00", "17:30"))))
        self.clock.set(min(later, END))
        self.changed = True

    # --- requests ----------------------------------------------------------------------

    @precondition(lambda self: len(self.requests("submitted", "needs_info", "approved")) < 4)
    @rule(data=st.data())
    def ask_for_a_consultation(self, data: st.DataObject) -> None:
        actor = self.someone(data, (*self.cast.staff, self.cast.clerk, *self.cast.consultants))
        town = self.one_of(data, self.cast.staff, "for the town of")
        if actor.role == "municipal" and data.draw(st.integers(0, 3)):
            town = actor  # mostly their own town
        days = [self.day(data) for _ in range(data.draw(st.integers(1, 2)))]
        values = consultation(
            town,
            mode=data.draw(st.sampled_from(["visit", "online"])),
            preferred_dates=", ".join(d.isoformat() for d in days),
            channel="phone",
        )
        self.submit(actor, "request.submit", values)

    @precondition(lambda self: len([r for r in self.requests() if r.kind == "bpr_application"]) < 5)
    @rule(data=st.data())
    def apply_for_bpr(self, data: st.DataObject) -> None:
        actor = self.someone(data, (*self.cast.staff, self.cast.clerk))
        town = actor if actor.role == "municipal" else self.one_of(data, self.cast.staff, "town")
        if data.draw(st.integers(0, 4)) == 0:
            town = self.one_of(data, self.cast.staff, "town")  # perhaps another town's
        self.submit(actor, "bpr.apply", application(town, channel="email"))

    @precondition(lambda self: self.has("SELECT 1 FROM request"))
    @rule(data=st.data())
    def decide(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.requests()))
        actor = self.someone(data, self.cast.approvers)
        how = data.draw(st.sampled_from(["approve", "approve", "decline", "ask_info", "reassign"]))
        values = {
            "approve": {"consultants": [str(c.id) for c in self.consultants(data)]},
            "reassign": {"consultants": [str(c.id) for c in self.consultants(data)]},
            "decline": {"reason": "今年度の対象外のため"},
            "ask_info": {"question": "対象業務を教えてください。"},
        }[how]
        self.submit(actor, f"request.{how}", values, payloads.encode(id=request.id))

    @precondition(lambda self: self.has("SELECT 1 FROM request WHERE state = 'needs_info'"))
    @rule(data=st.data())
    def answer_a_question(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.requests("needs_info")))
        own = self.cast.staff_of(request.municipality_id)
        actor = self.someone(data, [own] if own else [])
        ref = payloads.encode(id=request.id)
        self.submit(actor, "request.answer", {"answer": "住民票の交付業務です。"}, ref)

    @precondition(lambda self: self.has("SELECT 1 FROM request"))
    @rule(data=st.data())
    def withdraw_a_request(self, data: st.DataObject) -> None:
        open_ones = self.requests("submitted", "needs_info", "approved", "scheduled")
        request = data.draw(st.sampled_from(open_ones + self.requests()[:1]))
        own = self.cast.staff_of(request.municipality_id)
        actor = self.someone(data, [*([own] if own else []), *self.cast.approvers])
        ref = payloads.encode(id=request.id)
        self.submit(actor, "request.cancel", {"reason": "庁内の事情により"}, ref)

    # --- booking -----------------------------------------------------------------------

    @rule(data=st.data())
    def book(self, data: st.DataObject) -> None:
        """By hand, as the prefecture or a consultant would: any kind, often overlapping
        what is booked (few start times, near days), sometimes joint, sometimes illegal."""
        actor = self.someone(data, (*self.cast.prefecture, *self.cast.consultants))
        kinds = ["office_day", "results_meeting"]
        if self.engagements():
            kinds[:0] = ["bpr", "bpr"]
        if self.requests("approved", "scheduled"):
            kinds[:0] = ["consultation"]
        kind = data.draw(st.sampled_from([*kinds, "bpr", "consultation"]))  # or refused
        mode = data.draw(st.sampled_from(["visit", "online"]))
        default = RULES.plan.minutes(kind)
        minutes = data.draw(st.sampled_from((default, default, default, *MINUTES)))
        day, start, clashed = self.when(data, kind, minutes)
        busy = clashed.consultants if clashed else frozenset()
        towns: list[int] = []
        number = ""
        if kind == "consultation":
            found = self.requests("approved", "scheduled") or self.requests()
            if found:
                number = data.draw(st.sampled_from(found)).number
        elif kind == "bpr":
            engaged = [e.municipality_id for e in self.engagements()]
            others = [s.municipality_id for s in self.cast.staff]
            same = [m for m in engaged if clashed and m in clashed.municipalities]
            towns = data.draw(
                st.lists(
                    st.sampled_from(same or engaged or others), min_size=1, max_size=2, unique=True
                )
            )
        values = {
            "session_kind": kind,
            "request_number": number,
            "municipalities": [str(m) for m in towns],
            "date": day.isoformat(),
            "start": start,
            "minutes": minutes,
            "mode": mode,
            "meeting_url": "https://meet.example.jp/dx" if data.draw(st.integers(0, 5)) else "",
            "consultants": [str(c.id) for c in self.consultants(data, busy)],
        }
        self.submit(actor, "session.book", values)

    @precondition(
        lambda self: self.has(
            "SELECT 1 FROM request WHERE kind = 'consultation' AND state = 'approved'"
        )
    )
    @rule(data=st.data())
    def pick_a_proposed_slot(self, data: st.DataObject) -> None:
        found = [r for r in self.requests("approved") if r.kind == "consultation"]
        request = data.draw(st.sampled_from(found or self.requests()))
        own = self.cast.staff_of(request.municipality_id)
        actor = self.someone(data, [*([own] if own else []), self.cast.clerk])
        ref = payloads.encode(id=request.id)
        offered = self.press(actor, "slots.offer", ref)
        slots = offered.data.get("slots") or [at(self.day(data), "10:00").isoformat()]
        chosen = datetime.fromisoformat(data.draw(st.sampled_from(slots)))
        self.press(actor, "slots.pick", payloads.encode(id=request.id, at=chosen), writes=True)

    def session_and_changer(self, data: st.DataObject) -> tuple[int, Actor]:
        rows = session_rows_of(self.db)
        target = self.session(data, rows, "session")
        towns = [s for s in self.cast.staff if s.municipality_id in target.municipalities]
        actor = self.someone(data, [*self.cast.prefecture, *towns[:1]])
        return target.id, actor

    @precondition(lambda self: self.has("SELECT 1 FROM support_session"))
    @rule(data=st.data())
    def move_a_session(self, data: st.DataObject) -> None:
        session_id, actor = self.session_and_changer(data)
        day, start, _ = self.when(data)
        values = {"date": day.isoformat(), "start": start}
        self.submit(actor, "session.move", values, payloads.encode(id=session_id))

    @precondition(lambda self: self.has("SELECT 1 FROM support_session"))
    @rule(data=st.data())
    def cancel_a_session(self, data: st.DataObject) -> None:
        session_id, actor = self.session_and_changer(data)
        values = {"reason": "台風接近のため"}
        self.submit(actor, "session.cancel", values, payloads.encode(id=session_id))

    # --- field work --------------------------------------------------------------------

    @precondition(lambda self: self.owing(("bpr", "consultation")))
    @rule(data=st.data())
    def file_a_log(self, data: st.DataObject) -> None:
        """From the log form, as the reminder's button opens it: one session or a batch."""
        actor = self.someone(data, self.owing(("bpr", "consultation")))
        shown = self.press(actor, "log.form")
        if shown.form is None:  # nothing due, or not theirs to file: a forged submission
            rows = session_rows_of(self.db)
            forged = [str(self.session(data, rows, "forged").id)] if rows else ["1"]
            values = {"sessions": forged, "attendees": TEXTS["attendees"]}
            self.submit(actor, "log.file", {**TEXTS, **values})
            return
        offered = [
            c.value for c in next(i for i in shown.form.inputs if i.name == "sessions").choices
        ]
        chosen = data.draw(st.lists(st.sampled_from(offered), min_size=1, max_size=2, unique=True))
        prefilled = self.press(actor, "log.form", payloads.encode(id=int(chosen[0])))
        form = prefilled.form or shown.form
        values = fill(form, {"sessions": chosen}, self.picker(data))
        self.submit(actor, "log.file", values)

    @precondition(lambda self: self.owing(("office_day",)))
    @rule(data=st.data())
    def file_minutes(self, data: st.DataObject) -> None:
        actor = self.someone(data, self.owing(("office_day",)))
        shown = self.press(actor, "minutes.form")
        if shown.form is None:
            self.submit(
                actor, "minutes.file", {"office_day": "1", "attendees_text": "-", "body": "-"}
            )
            return
        self.submit(actor, "minutes.file", fill(shown.form, {}, self.picker(data)))

    @precondition(lambda self: self.has("SELECT 1 FROM engagement"))
    @rule(data=st.data())
    def mark_a_step(self, data: st.DataObject) -> None:
        """Done or skipped, from the step form (whatever it asks: a date, the sessions)."""
        engagement = data.draw(st.sampled_from(self.engagements()))
        carrying = [
            c for c in self.cast.consultants if c.id in self.assigned(engagement.application_id)
        ]
        actor = self.someone(data, [*carrying, self.cast.clerk])
        ref = payloads.encode(id=engagement.id)
        overrides: dict[str, Any] = {
            "step_action": data.draw(st.sampled_from(["done", "done", "skipped"]))
        }
        if data.draw(st.integers(0, 3)) == 0:
            overrides["step"] = data.draw(st.integers(1, 10))
        shown = self.press(actor, "bpr.step.form", ref)
        if shown.form is None:
            values = {"step": 1, **overrides}
        else:
            values = fill(shown.form, overrides, self.picker(data))
        self.submit(actor, "bpr.step", values, ref)

    @precondition(lambda self: self.has("SELECT 1 FROM engagement"))
    @rule(data=st.data())
    def revise_the_goal(self, data: st.DataObject) -> None:
        engagement = data.draw(st.sampled_from(self.engagements()))
        own = self.cast.staff_of(engagement.municipality_id)
        actor = self.someone(
            data, [*([own] if own else []), self.cast.clerk, *self.cast.consultants]
        )
        values = {"goal": "窓口の待ち時間を半分にする。", "reason": "住民アンケートを受けて"}
        self.submit(actor, "bpr.goal", values, payloads.encode(id=engagement.id))

    # --- the season's plan and its results meeting ----------------------------------------

    @rule(data=st.data())
    def name_the_presenters(self, data: st.DataObject) -> None:
        actor = self.someone(data, [self.cast.clerk])
        shown = self.press(actor, "results.form")
        towns = [str(e.municipality_id) for e in self.engagements()]
        presenters = data.draw(st.lists(st.sampled_from(towns or ["1"]), max_size=2, unique=True))
        values = {"presenters": presenters, "meeting_url": "https://meet.example.jp/results"}
        if shown.form is not None:
            values = fill(shown.form, values, self.picker(data))
        self.submit(actor, "results.set", values)

    @rule(data=st.data())
    def plan_the_season(self, data: st.DataObject) -> None:
        """A draft, then confirmed or discarded — perhaps by someone who may not."""
        drafted = self.press(self.someone(data, [self.cast.clerk]), "plan.draft", writes=True)
        plan_id = drafted.data.get("plan_id")
        if plan_id is None:
            return
        decider = self.someone(data, [self.cast.clerk])
        how = data.draw(st.sampled_from(["plan.confirm", "plan.confirm", "plan.discard"]))
        self.press(decider, how, payloads.encode(id=plan_id), writes=True)

    @rule(data=st.data())
    def look_around(self, data: st.DataObject) -> None:
        """What people open between actions: nothing they read may crash."""
        actor = self.one_of(data, self.cast.everyone)
        screen = data.draw(
            st.sampled_from(
                [
                    "home",
                    "quota.view",
                    "session.list",
                    "bpr.list",
                    "log.due",
                    "log.overdue",
                    "approval.queue",
                    "request.list",
                    "notices.list",
                ]
            )
        )
        self.press(actor, screen)

    # --- after every step ----------------------------------------------------------------

    @invariant()
    def the_record_holds(self) -> None:
        """Every check, whenever the record or the clock may have changed (a refused write
        changed nothing — `_write` saw to that — so it needs no new look)."""
        if not self.changed:
            return
        self.the_record_keeps_its_rules()
        self.every_count_shown_is_the_rows_count()
        self.the_consistency_check_agrees()
        self.changed = False

    def the_record_keeps_its_rules(self) -> None:
        # Issue #14 (1) and (3), read from the rows: the write-time checks
        # (handlers.scheduling.booking.check_slot, storage.engagements.close_step) must keep
        # every path — booking, slots, moves, the season plan, logs, the step form —
        # from writing any of these. Against the code before #14 this fails on a town
        # double-booked, a second results meeting and a step done without a session.
        with self.db.transaction() as session:
            breaches = rule_breaches(session, self.clock.now())
        assert not breaches, "the record contradicts itself:\n" + "\n".join(breaches)

    def every_count_shown_is_the_rows_count(self) -> None:
        # Issue #14 (4). Held is "begun" (starts_at <= now): a session starting this very
        # minute is held, not booked, on every screen.
        now = self.clock.now()
        derived = derived_counts(session_rows_of(self.db), now)
        shown = {"quotas.figures": {r.kind: (r.held, r.booked) for r in quotas.figures(self.ctx)}}
        clerk = self.cast.clerk
        viewed = self.press(clerk, "quota.view")
        shown["quota.view"] = {r.kind: (r.held, r.booked) for r in viewed.data["quotas"]}
        shown["quota.view text"] = quota_list_counts(viewed)
        shown["App Home"] = quota_list_counts(self.press(clerk, "home"))
        week = monday_of(now.astimezone(TOKYO).date())
        with self.db.transaction() as session:
            weekly = digest.render(self.ctx, session, "ja", {"week": week.isoformat()})
        shown["weekly digest"] = digest_counts(weekly)
        for where, counts in shown.items():
            assert counts == derived, f"{where} shows {counts}, the rows say {derived} at {now}"

    def the_consistency_check_agrees(self) -> None:
        """`python -m bot check` finds nothing in a record the handlers wrote."""
        found = check.findings(self.ctx)
        assert not found, "bot check finds:\n" + "\n".join(f.text("ja") for f in found)


def session_rows_of(db: Database) -> list[Any]:
    with db.transaction() as session:
        return session_rows(session)


# --- running it ------------------------------------------------------------------------------


@pytest.fixture
def databases(database_url: str, tmp_path: Path) -> Callable[[], Database]:
    """A fresh migrated database per example (fixtures are made once per test)."""
    return lambda: fresh_database(database_url, tmp_path)


def test_whole_seasons(databases: Callable[[], Database]) -> None:
    Season.make_database = staticmethod(databases)
    run_state_machine_as_test(Season, settings=SEASON)


# --- the machine's tricky paths, as plain examples ----------------------------------------


@pytest.fixture
def season(databases: Callable[[], Database]) -> Iterator[Season]:
    Season.make_database = staticmethod(databases)
    machine = Season()
    yield machine
    machine.teardown()


def checked(machine: Season) -> None:
    machine.changed = True
    machine.the_record_holds()


def select(machine: Season, staff: Actor, consultants: Sequence[Actor]) -> int:
    applied = machine.submit(staff, "bpr.apply", application(staff))
    ref = payloads.encode(id=applied.data["request_id"])
    chosen = {"consultants": [str(c.id) for c in consultants]}
    approved = machine.submit(machine.cast.approvers[0], "request.approve", chosen, ref)
    assert approved.ok, approved.plain_text()
    return int(approved.data["engagement_id"])


def booking(
    kind: str, day: date, start: str, consultants: Sequence[Actor], **extra: Any
) -> dict[str, Any]:
    return {
        "session_kind": kind,
        "date": day.isoformat(),
        "start": start,
        "minutes": RULES.plan.minutes(kind),
        "mode": "visit",
        "consultants": [str(c.id) for c in consultants],
        **extra,
    }


def test_a_town_is_never_in_two_overlapping_sessions(season: Season) -> None:
    """The issue's 菊池市 at 2026-09-28 09:00: a BPR visit, then a joint online session with
    宇土市 by other consultants — the second must be refused, the record unchanged."""
    cast = season.cast
    kikuchi, uto = cast.named("井上 恵"), cast.named("田中 美咲")
    takahashi, nakamura, kobayashi = (cast.named(n) for n in ("高橋 誠", "中村 由紀", "小林 健"))
    select(season, kikuchi, [takahashi])
    select(season, uto, [nakamura])
    day = date(2026, 9, 28)
    clerk = cast.clerk
    first = season.submit(
        clerk,
        "session.book",
        booking("bpr", day, "09:00", [takahashi], municipalities=[str(kikuchi.municipality_id)]),
    )
    assert first.ok, first.plain_text()
    joint = booking(
        "bpr",
        day,
        "09:00",
        [nakamura, kobayashi],
        municipalities=[str(kikuchi.municipality_id), str(uto.municipality_id)],
        mode="online",
        meeting_url="https://meet.example.jp/joint",
    )
    second = season.submit(clerk, "session.book", joint)
    # Issue #14 (1): refused once check_slot checks the towns' diaries too.
    assert not second.ok, "菊池市 booked twice at 2026-09-28 09:00"
    checked(season)


def test_a_second_results_meeting_is_refused(season: Season) -> None:
    clerk, lead = season.cast.clerk, season.cast.lead
    meeting = booking(
        "results_meeting",
        date(2027, 3, 10),
        "14:00",
        [lead],
        mode="online",
        meeting_url="https://meet.example.jp/dx",
    )
    assert season.submit(clerk, "session.book", meeting).ok
    again = dict(meeting, date="2027-03-17")
    # Issue #14 (1): one results meeting per programme year; moving the first is offered.
    assert not season.submit(clerk, "session.book", again).ok, "a second results meeting"
    checked(season)


def test_counts_agree_at_the_minute_a_session_starts(season: Season) -> None:
    """The boundary of "held": at its very start a session is held on every screen."""
    staff = season.cast.staff[0]
    consultant = season.cast.consultants[0]
    select(season, staff, [consultant])
    day = add_business_days(season.clock.now().date(), 3)
    booked = season.submit(
        season.cast.clerk,
        "session.book",
        booking("bpr", day, "10:00", [consultant], municipalities=[str(staff.municipality_id)]),
    )
    assert booked.ok, booked.plain_text()
    season.clock.set(at(day, "10:00"))
    checked(season)


def test_a_step_is_done_in_a_held_session(season: Season) -> None:
    """Before any session of its engagement was held, marking a step done is refused;
    the visit's log, as its reminder opens it, marks step 1 done in that visit, and the
    step form marks step 2 done in it too."""
    staff = season.cast.staff[1]
    consultant = season.cast.consultants[1]
    engagement_id = select(season, staff, [consultant])
    ref = payloads.encode(id=engagement_id)

    def mark(number: int) -> Reply:
        shown = season.press(consultant, "bpr.step.form", ref)
        assert shown.form is not None, shown.plain_text()
        overrides = {"step": number, "step_action": "done"}
        values = fill(shown.form, overrides, lambda offered, _: offered[-1:])
        return season.submit(consultant, "bpr.step", values, ref)

    def done_in(number: int) -> list[int]:
        found = season.rows(
            "SELECT l.session_id FROM engagement_step_session l"
            " JOIN engagement_step s ON s.id = l.step_id"
            " WHERE s.engagement_id = :e AND s.number = :n",
            e=engagement_id,
            n=number,
        )
        return [r.session_id for r in found]

    # Issue #14 (3): nothing held yet, so nothing can be done.
    assert not mark(1).ok, "a step done before any session of its engagement was held"
    day = add_business_days(season.clock.now().date(), 3)
    values = booking("bpr", day, "09:00", [consultant], municipalities=[str(staff.municipality_id)])
    booked = season.submit(season.cast.clerk, "session.book", values)
    assert booked.ok, booked.plain_text()
    visit = booked.data["session_id"]
    season.clock.set(at(day, "13:00"))
    shown = season.press(consultant, "log.form", payloads.encode(id=visit))
    assert shown.form is not None, shown.plain_text()
    filed = season.submit(consultant, "log.file", fill(shown.form, {}, lambda *_: []))
    assert filed.ok, filed.plain_text()
    assert done_in(1) == [visit]  # the log's offer, taken as prefilled
    assert mark(2).ok
    assert done_in(2) == [visit]
    checked(season)


def test_the_machine_notices_a_contradiction(season: Season) -> None:
    """The oracle can fail: a session written straight into the rows on top of another for
    the same consultant is caught by the invariant (no tautology here)."""
    staff = season.cast.staff[2]
    consultant = season.cast.consultants[2]
    select(season, staff, [consultant])
    day = add_business_days(season.clock.now().date(), 3)
    values = booking("bpr", day, "09:00", [consultant], municipalities=[str(staff.municipality_id)])
    booked = season.submit(season.cast.clerk, "session.book", values)
    assert booked.ok, booked.plain_text()
    with season.db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO support_session (kind, starts_at, ends_at, mode, status, uid,"
                " sequence, created_by_id, created_at) SELECT kind, starts_at, ends_at, mode,"
                " status, uid || '-copy', 0, created_by_id, created_at FROM support_session"
                " WHERE id = :i"
            ),
            {"i": booked.data["session_id"]},
        )
        connection.execute(
            text(
                "INSERT INTO session_consultant (session_id, person_id)"
                " SELECT max(id), :p FROM support_session"
            ),
            {"p": consultant.id},
        )
    with pytest.raises(AssertionError, match="consultant"):
        season.the_record_keeps_its_rules()
    assert is_business_day(day)
