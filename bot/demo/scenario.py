"""`python -m bot demo`: a compressed but realistic season on a fresh SQLite file, driven
by a simulated clock through the same handlers the chat platforms use, told as a
Japanese narrative and closed with the quota table and the consistency check.

The season is what a prefecture would recognise: eight towns selected for BPR support
with ten visits each, booked by the season planner when the plan is confirmed; teams
assigned so that every consultant visits; about three consultations a month from
several towns, each through intake → approval → slot pick → log; logs filed on the
day of the session, marking the BPR steps done in it; nothing on a closed day. One town
(菊池市) really falls behind: two of its sessions are cancelled and only one is
re-planned, which the summary says.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from bot.cli.report import write_documents
from bot.console.render import table
from bot.demo.cast import (
    APPLICANTS,
    BPR_LOG,
    CAST,
    CONSULTATION_LOG,
    CONSULTATIONS,
    DECLINE_REASON,
    DECLINED,
    INFO_ANSWER,
    INFO_QUESTION,
    ISSUES,
    OFFICE_MINUTES,
    Applicant,
    Consultation,
    person_values,
)
from handlers import router
from handlers.core import business_days, payloads
from handlers.core.actor import Actor
from handlers.core.clock import TOKYO, FakeClock
from handlers.core.context import Context, Rules
from handlers.core.i18n import format_day, format_when, join, t
from handlers.core.reply import Reply
from handlers.fieldwork import checkins, logs, reminders
from handlers.fieldwork import engagements as bpr
from handlers.intake import decision, submission
from handlers.notifications import clockwork, notices
from handlers.people import roster
from handlers.planning import quotas, season
from handlers.record import check as consistency
from handlers.scheduling import availability, booking, invites, results_meeting, slots
from storage import engagements, migrate, outbox, people, plans, sessions
from storage.db import Database
from storage.models import Role, SessionKind, StepStatus, SupportSession

SEASON_START = datetime(2026, 6, 1, 9, 0, tzinfo=TOKYO)
SEASON_END = date(2026, 11, 30)
PAPERS_AT = time(17, 30)  # consultants file their logs at the end of the session's day
APPROVERS = ("熊本 県子", "阿蘇 一郎")
CLERK = "水前寺 花"
LEAD = "高橋 誠"
JOINT = ("田中 美咲", "前田 沙織")  # 宇土市 and 八代市, neighbours reforming their counters
BATCHED = "田中 美咲"  # 宇土市's logs go in two sessions at a time (R9)
MOVER = "松本 大輔"  # 山鹿市 moves one of its own sessions
BEHIND = "井上 恵"  # 菊池市: two sessions cancelled, one of them re-planned
SKIPS = "井上 恵"  # and its As-Is flow exists already: step 3 skipped
TYPHOON = "台風接近のため"
FLOOD = "大雨の災害対応のため(市の申し出)"
ISSUE_EVERY = 4  # one BPR log in four records an issue for follow-up
ENGLISH = "中村 由紀"  # reads DX Desk in English (R15): her settings, from the first day


class DemoFailed(Exception):
    """A step the demo relies on was refused: the product is broken, say so loudly."""


class Demo:
    def __init__(self, out_dir: Path, out: TextIO, language: str = "ja") -> None:
        self.out_dir = out_dir
        self.out = out
        self.lang = language
        self.clock = FakeClock(SEASON_START)
        out_dir.mkdir(parents=True, exist_ok=True)
        db_path = out_dir / "dxdesk-demo.db"
        for stale in out_dir.glob("dxdesk-demo.db*"):
            stale.unlink()
        self.db = Database(f"sqlite:///{db_path}")
        migrate.upgrade(self.db)
        self.ctx = Context(self.db, self.clock, Rules(language=language))
        self.cast: dict[str, Actor] = {}
        self.requests: dict[str, int] = {}  # BPR applications by their staff
        self.engagements: dict[str, int] = {}  # by their staff
        self.staff_of: dict[int, str] = {}  # BPR municipality id: its staff
        self.agenda: defaultdict[date, list[tuple[time, int, Callable[[], None]]]] = defaultdict(
            list
        )
        self.logged = 0
        self.bpr_logs = 0
        self.unlogged: dict[int, list[int]] = {}  # 宇土市's sessions by author, to batch
        self.cancelled: Counter[str] = Counter()
        self.consulted = 0
        self.batching = True  # in the season 宇土市's logs are batched, in December not
        self.held_back = 0  # December's session whose log is reminded and escalated
        self.skipped = False  # 菊池市's step 3
        self.first_two: tuple[tuple[Consultation, int], ...] = ()

    # -- telling -------------------------------------------------------------------
    def say(self, key: str, **params: Any) -> None:
        print(t(self.lang, key, **params), file=self.out, flush=True)

    def event(self, key: str, **params: Any) -> None:
        day = format_day(self.lang, self.clock.now().date())
        print(f"  {day}  {t(self.lang, key, **params)}", file=self.out, flush=True)

    def expect(self, reply: Reply, ok: bool = True) -> Reply:
        if reply.ok != ok:
            raise DemoFailed(reply.plain_text())
        return reply

    def at(self, day: date, hour: int = 9, minute: int = 0) -> None:
        """Move the clock; the demo acts on business days only (DemoFailed otherwise)."""
        if not business_days.is_business_day(day):
            raise DemoFailed(f"{day} is a closed day")
        self.clock.set(datetime.combine(day, time(hour, minute), TOKYO))

    def on(self, day: date, when: time, action: Callable[[], None]) -> None:
        """Put `action` on the season's agenda for `day` (a later business day) at `when`."""
        self.agenda[day].append((when, len(self.agenda[day]), action))

    def run_agenda(self, day: date) -> None:
        """The day's agenda in time order, the clock set to each item's time."""
        while self.agenda.get(day):
            item = min(self.agenda[day])
            self.agenda[day].remove(item)
            when, _, action = item
            self.at(day, when.hour, when.minute)
            action()

    # -- the season ----------------------------------------------------------------
    def run(self) -> int:
        self.say("demo.title")
        self.roster()
        self.applications()
        self.consultations()
        self.planning()
        self.season()
        self.summary()
        self.follow_up()
        self.finish()
        return self.check()

    def roster(self) -> None:
        self.say("demo.chapter.roster")
        with self.db.transaction() as session:
            ids = {m.name: m.id or 0 for m in people.municipalities(session)}
        for entry in CAST:
            person = roster.add_person(self.ctx, person_values(entry, ids))
            self.cast[person.name] = Actor.from_person(person, self.lang)
        self.event("demo.roster", count=len(CAST), municipalities=len(ids))
        self.english()

    def english(self) -> None:
        """One consultant chooses English in her settings (`/dx 設定`): every reply and
        notice to her is in English from then on, whatever the demo's language."""
        speaker = self.cast[ENGLISH]
        values = {"language": "en", "invite_delivery": "both"}
        saved = self.expect(router.submit(self.ctx, speaker, "settings.set", values))
        self.cast[ENGLISH] = replace(speaker, language="en")
        self.event("demo.english", who=ENGLISH, text=saved.plain_text().splitlines()[0])

    def applications(self) -> None:
        self.say("demo.chapter.applications")
        for applicant in (*APPLICANTS, DECLINED):
            self.apply(applicant)
        self.at(date(2026, 6, 3), 10)
        approver = self.cast[APPROVERS[0]]
        for applicant in APPLICANTS:
            reply = self.expect(
                decision.approve(
                    self.ctx,
                    approver,
                    self.ref(applicant.staff),
                    {"consultants": [self.id(n) for n in applicant.team]},
                )
            )
            staff = self.cast[applicant.staff]
            self.engagements[applicant.staff] = reply.data["engagement_id"]
            self.staff_of[staff.municipality_id or 0] = applicant.staff
            self.event(
                "demo.selected",
                municipality=self.place(staff),
                team=join(self.lang, applicant.team),
            )
        self.expect(
            decision.decline(
                self.ctx, approver, self.ref(DECLINED.staff), {"reason": DECLINE_REASON}
            )
        )
        self.event("demo.declined", municipality=self.place(self.cast[DECLINED.staff]))

    def apply(self, applicant: Applicant) -> None:
        staff = self.cast[applicant.staff]
        reply = self.expect(
            submission.apply_bpr(
                self.ctx,
                staff,
                {
                    "municipality": str(staff.municipality_id),
                    "department": staff.department,
                    "requester_title": self.title_of(staff),
                    "requester_name": staff.name,
                    "goal": applicant.goal,
                    "description": applicant.description,
                },
            )
        )
        self.requests[applicant.staff] = reply.data["request_id"]
        self.event(
            "demo.applied",
            municipality=self.place(staff),
            number=reply.data["number"],
            goal=applicant.goal or t(self.lang, "goal.none"),
        )

    def consultations(self) -> None:
        """The first two consultations, told in detail: a refused click, a question asked
        and answered, two approvers pressing at once."""
        self.say("demo.chapter.consultations")
        first, second = CONSULTATIONS[0], CONSULTATIONS[1]
        self.at(first.submitted, 10)
        mori, yamaguchi = self.submit(first), self.submit(second)
        ken, aso = (self.cast[n] for n in APPROVERS)
        self.expect(
            decision.ask_info(
                self.ctx, ken, payloads.encode(id=yamaguchi), {"question": INFO_QUESTION}
            )
        )
        self.event("demo.asked", municipality=self.place(self.cast[second.staff]))
        refused = self.expect(
            decision.approve(
                self.ctx,
                self.cast[first.staff],
                payloads.encode(id=mori),
                {"consultants": [self.id(first.consultant)]},
            ),
            ok=False,
        )
        self.event("demo.refused", who=first.staff, text=refused.plain_text())
        self.at(date(2026, 6, 5), 10)
        self.expect(
            decision.approve(
                self.ctx,
                ken,
                payloads.encode(id=mori),
                {"consultants": [self.id(first.consultant)]},
            )
        )
        self.event("demo.approved", municipality=self.place(self.cast[first.staff]))
        late = self.expect(
            decision.approve(
                self.ctx, aso, payloads.encode(id=mori), {"consultants": [self.id("中村 由紀")]}
            ),
            ok=False,
        )
        self.event("demo.late_click", text=late.plain_text())
        self.at(date(2026, 6, 8), 11)
        self.expect(
            submission.answer(
                self.ctx,
                self.cast[second.staff],
                payloads.encode(id=yamaguchi),
                {"answer": INFO_ANSWER},
            )
        )
        self.event("demo.answered", municipality=self.place(self.cast[second.staff]))
        self.at(date(2026, 6, 9), 10)
        self.expect(
            decision.approve(
                self.ctx,
                aso,
                payloads.encode(id=yamaguchi),
                {"consultants": [self.id(second.consultant)]},
            )
        )
        self.event("demo.approved", municipality=self.place(self.cast[second.staff]))
        self.first_two = ((first, mori), (second, yamaguchi))

    def submit(self, consultation: Consultation) -> int:
        """A municipality's consultation (on its day); preferred dates two weeks ahead."""
        staff = self.cast[consultation.staff]
        preferred = [
            business_days.add_business_days(consultation.submitted, n).isoformat() for n in (8, 10)
        ]
        reply = self.expect(
            submission.submit(
                self.ctx,
                staff,
                {
                    "municipality": str(staff.municipality_id),
                    "department": staff.department,
                    "requester_title": self.title_of(staff),
                    "requester_name": staff.name,
                    "topic": consultation.topic,
                    "description": consultation.description,
                    "mode": consultation.mode,
                    "preferred_dates": ", ".join(preferred),
                },
            )
        )
        self.consulted += 1
        self.event(
            "demo.requested",
            municipality=self.place(staff),
            number=reply.data["number"],
            topic=t(self.lang, f"choice.topic.{consultation.topic}"),
        )
        return int(reply.data["request_id"])

    def planning(self) -> None:
        """Diaries first, then the season plan: drafted, reviewed, confirmed and booked."""
        self.say("demo.chapter.plan")
        self.at(date(2026, 6, 9), 15)
        nakamura, kobayashi = self.cast["中村 由紀"], self.cast["小林 健"]
        self.expect(
            availability.set_week(
                self.ctx,
                nakamura,
                {f"week_{d}": "09:00-17:00" for d in ("mon", "tue", "wed", "thu")},
            )
        )
        self.event("demo.week_set", who=nakamura.name)
        self.expect(
            availability.add_absence(
                self.ctx, kobayashi, {"date": "2026-08-12", "absence_kind": "leave"}
            )
        )
        self.event("demo.leave", who=kobayashi.name, day=format_day(self.lang, date(2026, 8, 12)))
        for (consultation, request_id), choice in zip(self.first_two, (0, 1), strict=True):
            self.pick(consultation, request_id, choice)  # on the plan's eve
        self.at(date(2026, 6, 10), 9)
        clerk = self.cast[CLERK]
        drafted = self.expect(season.draft(self.ctx, clerk))
        summary = self.plan_summary(drafted.data["plan_id"])
        counts = summary.get("counts", {})
        self.event(
            "demo.plan_drafted",
            bpr=counts.get("bpr", 0),
            office=counts.get("office_day", 0),
            reserve=counts.get("reserve", 0),
            results=counts.get("results_meeting", 0),
            minutes=int(summary.get("travel_minutes", 0)),
        )
        confirmed = self.expect(
            season.confirm(self.ctx, clerk, payloads.encode(id=drafted.data["plan_id"]))
        )
        self.event("demo.plan_confirmed", count=confirmed.data["booked"])
        self.event("demo.plan_teams", teams=self.visits_by_consultant())
        self.plan_notices(int(drafted.data["plan_id"]))

    def plan_notices(self, plan_id: int) -> None:
        """What confirming the plan sent: one notice per person listing their sessions,
        with one .ics of them all (issue #17), shown for the English speaker and one more."""
        prefix = f"invites:plan.confirm:{plan_id}:"
        sent = [out for out in self.claim_all() if out.key.startswith(prefix)]
        per_person = Counter(out.person_id for out in sent)
        self.event(
            "demo.plan_notices",
            people=len(per_person),
            most=max(per_person.values(), default=0),
        )
        for name in (ENGLISH, LEAD):
            for out in sent:
                if out.person_id == self.cast[name].id:
                    lines = out.reply.plain_text().splitlines()
                    self.event("demo.sent", who=name, text=lines[0] if lines else "")
                    break

    def visits_by_consultant(self) -> str:
        """BPR visits booked per consultant, e.g. 「高橋 誠 12回、…」."""
        with self.db.transaction() as session:
            rows = [s for s in sessions.listing(session) if s.kind == SessionKind.BPR]
            teams = sessions.consultants_of_sessions(session, [s.id or 0 for s in rows])
        visits = Counter(p for s in rows for p in teams[s.id or 0])
        return join(
            self.lang,
            (
                t(self.lang, "demo.visits", who=a.name, count=visits[a.id or 0])
                for a in self.cast.values()
                if a.role == Role.CONSULTANT
            ),
        )

    def season(self) -> None:
        """Day by day from the plan to the end of November: what the agenda holds for the
        morning, the papers of the day's sessions in the evening, a line per month."""
        self.say("demo.chapter.season")
        for consultation in CONSULTATIONS[2:]:
            self.on(consultation.submitted, time(10), partial(self.consult, consultation))
        self.on(date(2026, 7, 15), time(14), self.goal_set)
        self.on(date(2026, 7, 16), time(11), self.cannot_attend)
        self.on(date(2026, 9, 1), time(10), self.move_own_session)
        for first, reason, replan in (
            (date(2026, 9, 1), TYPHOON, True),
            (date(2026, 10, 1), FLOOD, False),
        ):
            self.on(first, time(9), partial(self.cancel_later, first, reason, replan))
        self.on(date(2026, 10, 15), time(14), self.goal_revised)
        day = date(2026, 6, 10)
        while day <= SEASON_END:
            if business_days.is_business_day(day):
                self.run_agenda(day)
                self.papers(day)
                if business_days.add_business_days(day, 1).month != day.month:
                    self.month_line(day)
            day += timedelta(days=1)
        self.batching = False
        for author_id, waiting in self.unlogged.items():  # the season's last one, alone
            if waiting:
                self.file_log(self.actor_of(author_id), waiting)
        self.sent_untold()

    def cannot_attend(self) -> None:
        """A town's staff member presses 出席できません on a session's notice: the answer
        is recorded and the prefecture's channel is told (the session stays booked: the
        prefecture decides)."""
        today = self.clock.now().date()
        ahead = self.sessions_between(today + timedelta(days=7), SEASON_END)
        with self.db.transaction() as session:
            found = [
                (row, person)
                for row in ahead
                if row.kind == SessionKind.BPR
                for person, _role in invites.attendees_of(session, row)
                if person.role == Role.MUNICIPAL and person.name != ENGLISH
            ]
        if not found:
            raise DemoFailed("no session with a town's attendee to decline")
        row, person = found[0]
        staff = self.cast[person.name]
        answer = self.expect(
            router.press(self.ctx, staff, "attendance.decline", payloads.encode(id=row.id))
        )
        self.event(
            "demo.cannot_attend",
            who=person.name,
            when=format_when(self.lang, row.starts_at),
            text=answer.plain_text().splitlines()[0],
        )
        told = [out for out in self.claim_all() if out.audience and out.key.startswith("attend")]
        for out in told[:1]:
            lines = out.reply.plain_text().splitlines()
            self.event("demo.sent", who=t(self.lang, "demo.to_prefecture"), text=lines[0])

    def sent_untold(self) -> None:
        """The season's notices (invites, approvals, notices to requesters) went out as
        they fell due; the demo does not tell them, so they are marked sent at once
        (composing hundreds of messages nobody reads would only cost time)."""
        now = self.clock.now()
        with self.db.transaction() as session:
            for claim in outbox.claim_due(session, now, None, limit=100_000):
                outbox.finish(session, claim.notification.id or 0, sent=True, now=now)

    def consult(self, consultation: Consultation) -> None:
        """Submitted at 10:00; approved the next business morning; a slot picked the
        morning after."""
        request_id = self.submit(consultation)
        approve_on = business_days.add_business_days(consultation.submitted, 1)
        self.on(approve_on, time(9, 30), partial(self.approve, consultation, request_id))
        self.on(
            business_days.add_business_days(approve_on, 1),
            time(11),
            partial(self.pick, consultation, request_id, 0),
        )

    def approve(self, consultation: Consultation, request_id: int) -> None:
        """An approver (in turn) approves and assigns the consultant."""
        approver = self.cast[APPROVERS[self.consulted % len(APPROVERS)]]
        self.expect(
            decision.approve(
                self.ctx,
                approver,
                payloads.encode(id=request_id),
                {"consultants": [self.id(consultation.consultant)]},
            )
        )

    def pick(self, consultation: Consultation, request_id: int, choice: int) -> None:
        """The requester is offered slots and picks one (at the clock's time); for an
        online consultation the consultant then adds the meeting link (the invites go
        out again)."""
        staff = self.cast[consultation.staff]
        offer = self.expect(slots.offer(self.ctx, staff, payloads.encode(id=request_id)))
        proposed = [datetime.fromisoformat(s) for s in offer.data["slots"]]
        chosen = proposed[choice]
        picked = self.expect(slots.pick(self.ctx, staff, payloads.encode(id=request_id, at=chosen)))
        if consultation.mode == "online":
            self.expect(
                booking.details(
                    self.ctx,
                    self.cast[consultation.consultant],
                    payloads.encode(id=picked.data["session_id"]),
                    {"meeting_url": f"https://meet.example.jp/dx-{request_id:03d}"},
                )
            )
        self.event(
            "demo.slot_picked",
            municipality=self.place(staff),
            offered=join(self.lang, (format_when(self.lang, p) for p in proposed)),
            when=format_when(self.lang, chosen),
            consultant=consultation.consultant,
        )

    def papers(self, day: date) -> None:
        """The day's logs and minutes, filed by the consultants after the sessions: the
        lead writes when present. 宇土市's visits wait until their consultant has two, then
        go into one batched log (R9)."""
        self.at(day, PAPERS_AT.hour, PAPERS_AT.minute)
        for row, places, team in self.day_sessions(day):
            if row.id == self.held_back:
                continue
            author = self.actor_of(self.id_of(LEAD) if self.id_of(LEAD) in team else team[0])
            if row.kind == SessionKind.OFFICE_DAY:
                self.expect(
                    logs.file_minutes(
                        self.ctx,
                        author,
                        {
                            "office_day": str(row.id),
                            "attendees_text": join(
                                self.lang, (APPROVERS[0], *(self.name_of(str(p)) for p in team))
                            ),
                            "body": OFFICE_MINUTES,
                        },
                    )
                )
            elif row.kind == SessionKind.RESULTS_MEETING:
                continue
            elif self.batching and [self.staff_of.get(m) for m in places] == [BATCHED]:
                waiting = self.unlogged.setdefault(author.id or 0, [])
                waiting.append(row.id or 0)
                if len(waiting) == 2:
                    self.file_log(author, list(waiting))
                    waiting.clear()
            else:
                self.file_log(author, [row.id or 0])
                if [self.staff_of.get(m) for m in places] == [SKIPS]:
                    self.skip_as_is(row)

    def file_log(self, author: Actor, session_ids: list[int]) -> None:
        """The log form as the reminder's button opens it (sessions, attendees and the
        next BPR step(s) filled in), completed with what happened; a batched log marks
        one step per session."""
        form = self.expect(logs.log_form(self.ctx, author, payloads.encode(id=session_ids[0]))).form
        if form is None:
            raise DemoFailed(f"no log form for session {session_ids[0]}")
        values: dict[str, Any] = {i.name: i.value for i in form.inputs if i.value}
        values["sessions"] = [str(i) for i in session_ids]
        offered = [c.value for i in form.inputs if i.name == "steps" for c in i.choices]
        if values.get("steps") and len(session_ids) > 1:  # the next step and the one after
            first = offered.index(values["steps"][0])
            values["steps"] = offered[first : first + len(session_ids)]
        row = self.session(session_ids[0])
        if row.kind == SessionKind.BPR:
            summary, response, next_plan = BPR_LOG[self.next_phase(row.engagement_id or 0)]
            issue = ISSUES[self.bpr_logs // ISSUE_EVERY % len(ISSUES)]
            values["issues"] = "/".join(issue) if self.bpr_logs % ISSUE_EVERY == 0 else ""
            self.bpr_logs += 1
        else:
            summary, response = CONSULTATION_LOG
            next_plan = ""
        values |= {"summary": summary, "response": response, "next_plan": next_plan}
        self.expect(logs.file_log(self.ctx, author, values))
        self.logged += 1
        if len(session_ids) > 1:
            self.event("demo.batched", count=len(session_ids))

    def next_phase(self, engagement_id: int) -> str:
        """The phase of the engagement's next planned step (what this visit worked on)."""
        with self.db.transaction() as session:
            steps = engagements.steps(session, engagement_id)
        planned = [s for s in steps if s.status == StepStatus.PLANNED]
        return (planned[0] if planned else steps[-1]).phase

    def skip_as_is(self, row: SupportSession) -> None:
        """菊池市 drew its As-Is flow itself: after the visit that finished the hearing, the
        lead marks step 3 skipped (a skipped step has no session)."""
        if self.skipped:
            return
        with self.db.transaction() as session:
            steps = engagements.steps(session, row.engagement_id or 0)
        if not any(s.number == 2 and s.status == StepStatus.DONE for s in steps):
            return
        self.skipped = True
        self.expect(
            bpr.update_step(
                self.ctx,
                self.cast[LEAD],
                payloads.encode(id=row.engagement_id),
                {"step": 3, "step_action": "skipped", "note": "As-Isフローは市で作成済み"},
            )
        )
        self.event("demo.skipped", municipality=self.place(self.cast[SKIPS]))

    def month_line(self, day: date) -> None:
        held = Counter(row.kind for row, _, _ in self.month_sessions(day.replace(day=1), day))
        self.event(
            "demo.month",
            month=day.month,
            bpr=held.get(SessionKind.BPR, 0),
            office=held.get(SessionKind.OFFICE_DAY, 0),
            consultation=held.get(SessionKind.CONSULTATION, 0),
        )

    def goal_set(self) -> None:
        staff = self.cast[MOVER]
        self.expect(
            bpr.set_goal(
                self.ctx,
                staff,
                payloads.encode(id=self.engagements[MOVER]),
                {"goal": "証明書交付業務のオンライン申請化"},
            )
        )
        self.event("demo.goal_set", municipality=self.place(staff))

    def goal_revised(self) -> None:
        self.expect(
            bpr.set_goal(
                self.ctx,
                self.cast[LEAD],
                payloads.encode(id=self.engagements[BATCHED]),
                {
                    "goal": "転入・転居手続のオンライン化と窓口の書かない化",
                    "reason": "To-Be検討の結果、窓口改革まで範囲を広げる",
                },
            )
        )
        self.event("demo.goal_revised", municipality=self.place(self.cast[BATCHED]))

    def move_own_session(self) -> None:
        """山鹿市 moves its next visit a week or more ahead (the council sits): two business
        days later, or the first day after that its consultant and the town are free."""
        staff = self.cast[MOVER]
        moved = next(
            s
            for s in self.sessions_of(staff, date(2026, 9, 8), SEASON_END)
            if s.kind == SessionKind.BPR
        )
        target = business_days.add_business_days(moved.starts_at.astimezone(TOKYO).date(), 2)
        for _ in range(20):
            reply = booking.move(
                self.ctx,
                staff,
                payloads.encode(id=moved.id),
                {"date": target.isoformat(), "start": "13:00", "reason": "議会対応"},
            )
            if reply.ok:
                self.event("demo.moved", municipality=self.place(staff), text=reply.plain_text())
                return
            target = business_days.add_business_days(target, 1)
        raise DemoFailed(reply.plain_text())

    def cancel_later(self, today: date, reason: str, replan: bool) -> None:
        """Put the cancellation of 菊池市's next visit a week or more ahead on the agenda,
        two business days before the visit."""
        staff = self.cast[BEHIND]
        row = next(
            s
            for s in self.sessions_of(staff, today + timedelta(days=7), SEASON_END)
            if s.kind == SessionKind.BPR
        )
        day = business_days.add_business_days(row.starts_at.astimezone(TOKYO).date(), -2)
        self.on(day, time(10), partial(self.cancel, row.id or 0, reason, replan))

    def cancel(self, session_id: int, reason: str, replan: bool) -> None:
        """The prefecture cancels; after the first cancellation the plan is mended the
        next morning (only the missing visit is added), after the second the town asks
        to wait until the new year, so it stays one visit short."""
        clerk = self.cast[CLERK]
        reply = self.expect(
            booking.cancel_session(
                self.ctx, clerk, payloads.encode(id=session_id), {"reason": reason}
            )
        )
        self.cancelled[BEHIND] += 1
        self.event("demo.cancelled", reason=reason, text=reply.plain_text())
        if replan:
            today = self.clock.now().date()
            self.on(business_days.add_business_days(today, 1), time(9), self.replan)
            self.on(business_days.add_business_days(today, 2), time(9), self.book_joint)
        else:
            self.event("demo.not_replanned", municipality=self.place(self.cast[BEHIND]))

    def replan(self) -> None:
        clerk = self.cast[CLERK]
        drafted = self.expect(season.draft(self.ctx, clerk))
        counts = self.plan_summary(drafted.data["plan_id"]).get("counts", {})
        self.expect(season.confirm(self.ctx, clerk, payloads.encode(id=drafted.data["plan_id"])))
        self.event("demo.replanned", bpr=counts.get("bpr", 0))

    def book_joint(self) -> None:
        """A joint online session for two neighbouring towns, at the first half day at
        least two weeks ahead when both towns and the consultant are free."""
        today = self.clock.now().date()
        towns = [self.cast[n].municipality_id or 0 for n in JOINT]
        day = today + timedelta(days=14)
        while day <= SEASON_END:
            if business_days.is_business_day(day):
                for start in (time(9, 0), time(13, 30)):
                    if self.towns_free(towns, datetime.combine(day, start, TOKYO), 120):
                        reply = booking.book(
                            self.ctx,
                            self.cast[CLERK],
                            {
                                "session_kind": "bpr",
                                "date": day.isoformat(),
                                "start": f"{start:%H:%M}",
                                "minutes": 120,
                                "mode": "online",
                                "meeting_url": "https://meet.example.jp/dx-joint",
                                "municipalities": [str(m) for m in towns],
                                "consultants": [self.id("小林 健")],
                            },
                        )
                        if reply.ok:
                            self.event(
                                "demo.joint",
                                municipalities=join(self.lang, (self.place_of(m) for m in towns)),
                                when=format_when(self.lang, datetime.combine(day, start, TOKYO)),
                            )
                            return
            day += timedelta(days=1)
        raise DemoFailed("no time for the joint session")

    def towns_free(self, towns: list[int], starts_at: datetime, minutes: int) -> bool:
        """None of `towns` is in a live session then (what booking would refuse)."""
        with self.db.transaction() as session:
            return not sessions.municipality_clashes(
                session, towns, starts_at, starts_at + timedelta(minutes=minutes)
            )

    def summary(self) -> None:
        self.at(date(2026, 12, 1), 9)
        self.say("demo.chapter.summary")
        presenters = (BATCHED, MOVER)
        self.expect(
            results_meeting.set_presenters(
                self.ctx,
                self.cast[CLERK],
                {
                    "presenters": [str(self.cast[n].municipality_id) for n in presenters],
                    "meeting_url": "https://meet.example.jp/dx-results",
                },
            )
        )
        with self.db.transaction() as session:
            meeting = next(s for s in sessions.listing(session) if s.kind == "results_meeting")
        self.event(
            "demo.results_meeting",
            when=format_when(self.lang, meeting.starts_at),
            presenters=join(self.lang, (self.place(self.cast[n]) for n in presenters)),
        )
        for name, engagement_id in self.engagements.items():
            reply = self.expect(
                bpr.view(self.ctx, self.cast[APPROVERS[0]], payloads.encode(id=engagement_id))
            )
            if reply.data.get("goal_overdue"):
                self.event("demo.goal_overdue", municipality=self.place(self.cast[name]))
        rows = quotas.figures(self.ctx)
        header = quotas.header(self.lang)
        body = [quotas.cells(self.lang, r) for r in rows]
        print("\n" + table(header, body) + "\n", file=self.out)
        for warning in quotas.warnings(self.lang, rows):
            self.event("demo.warning", text=warning.text)
        self.behind()

    def behind(self) -> None:
        """Towns whose visits (held and booked, joint ones included) fall short of the
        plan, and why: the cancellations that were not made up."""
        plan = self.ctx.rules.plan.sessions_per_engagement
        for name in self.engagements:
            staff = self.cast[name]
            count = sum(
                1
                for s in self.sessions_of(staff, SEASON_START.date(), self.ctx.rules.contract_end)
                if s.kind == SessionKind.BPR
            )
            if count < plan:
                self.event(
                    "demo.behind",
                    municipality=self.place(staff),
                    cancelled=self.cancelled[name],
                    plan=plan,
                    count=count,
                    short=plan - count,
                )

    def follow_up(self) -> None:
        """December on the clock: one log asked for, snoozed, reminded and escalated, then
        filed (the other sessions' papers come in on their evenings); check-ins answered
        each way; the Monday digest."""
        self.say("demo.chapter.follow_up")
        self.at(date(2026, 12, 1), 9)
        self.checkins()
        row = next(
            s
            for s in self.sessions_between(date(2026, 12, 1), date(2026, 12, 31))
            if s.kind == SessionKind.BPR
        )
        self.held_back = row.id or 0
        ended = row.ends_at.astimezone(TOKYO).date()
        self.evenings(date(2026, 12, 1), ended - timedelta(days=1))
        lead = self.actor_of(self.consultants_of(self.held_back)[0])
        self.clock.set(row.ends_at + timedelta(minutes=5))
        self.deliver(("log.ask",), self.held_back)
        self.expect(reminders.snooze(self.ctx, lead, payloads.encode(id=row.id, kind="hour")))
        self.clock.advance(hours=1, minutes=1)
        self.deliver(("log.snooze",), self.held_back)
        self.evenings(ended, ended)
        reminded = business_days.add_business_days(ended, 1)
        self.at(reminded, 9)
        self.deliver(("log.remind",), self.held_back)
        escalated = business_days.add_business_days(ended, self.ctx.rules.escalate_after_days)
        self.evenings(reminded, escalated - timedelta(days=1))
        self.at(escalated, 9)
        self.deliver((reminders.ESCALATION,), self.held_back)
        self.at(escalated, 11)
        self.file_log(lead, [self.held_back])
        monday = escalated + timedelta(days=7 - escalated.weekday())
        self.evenings(escalated, monday - timedelta(days=1))
        self.at(monday, 9)  # the next business morning, and the week's digest
        if not any(k.startswith("log.") for k in self.deliver(("log.", "digest"), row.id)):
            self.event("demo.reminders_stopped")

    def evenings(self, first: date, last: date) -> None:
        """The papers of every business day in [first, last], filed on its evening."""
        day = first
        while day <= last:
            if business_days.is_business_day(day):
                self.papers(day)
            day += timedelta(days=1)

    def deliver(self, show: tuple[str, ...], session_id: int) -> set[str]:
        """What the scheduler would send now, told instead of posted: the first line of
        each kind asked for (reminders only about `session_id`), the rest sent unsaid."""
        clockwork.tick(self.ctx)
        shown: set[str] = set()
        for out in self.claim_all():
            kind = out.key.split(":", 1)[0]
            if not kind.startswith(show) or kind in shown:
                continue
            if kind.startswith("log.") and f":{session_id}:" not in out.key:
                continue
            shown.add(kind)
            who = t(self.lang, "demo.to_prefecture") if out.audience else self.name_of(out.to)
            lines = out.reply.plain_text().splitlines()
            self.event("demo.sent", who=who, text=lines[0] if lines else "")
            for line in lines[1:14]:
                print(f"      {line}", file=self.out)
        return shown

    def claim_all(self) -> list[notices.Outgoing]:
        """Everything due now (the prefecture's channel included), claimed and marked
        sent as the scheduler would, in batches until nothing is left."""
        claimed: list[notices.Outgoing] = []
        while batch := notices.claim(self.ctx, None, limit=500, audiences=("prefecture",)):
            for out in batch:
                notices.finish(
                    self.ctx, out.notification_id, sent=True, lease_until=out.lease_until
                )
            claimed += batch
        return claimed

    def checkins(self) -> None:
        """Open issues found in the season's logs are followed up; three answers."""
        clockwork.tick(self.ctx)
        asked = [out for out in self.claim_all() if out.key.startswith(checkins.KIND)]
        self.event("demo.checkins", count=len(asked))
        for out, answer in zip(asked, ("resolved", "in_progress", "need_help"), strict=False):
            person = next(a for a in self.cast.values() if str(a.id) == out.to)
            button = next(
                b
                for block in out.reply.blocks
                for b in getattr(block, "buttons", ())
                if payloads.decode(b.value).kind == answer
            )
            reply = self.expect(router.press(self.ctx, person, "checkin.answer", button.value))
            self.event(
                "demo.checkin_answered",
                who=person.name,
                answer=button.label,
                text=reply.plain_text().splitlines()[0],
            )
            if reply.form is not None:
                self.event("demo.checkin_form", title=reply.form.title)

    def finish(self) -> None:
        self.write_invites()
        written = write_documents(self.ctx, self.out_dir / "documents", self.lang)
        self.event(
            "demo.documents",
            path=str(self.out_dir / "documents"),
            names=join(self.lang, sorted({p.stem for p in written})),
        )

    def check(self) -> int:
        """The season ends as a real database would be checked (`python -m bot check`):
        any contradiction in the record is printed and fails the demo."""
        found = consistency.findings(self.ctx)
        print("\n" + "\n".join(consistency.report(found, self.lang)), file=self.out)
        self.say("demo.done", path=str(self.out_dir / "dxdesk-demo.db"), logs=self.logged)
        return 1 if found else 0

    # -- helpers -------------------------------------------------------------------
    def ref(self, name: str) -> str:
        return payloads.encode(id=self.requests[name])

    def id(self, name: str) -> str:
        return str(self.cast[name].id)

    def id_of(self, name: str) -> int:
        return self.cast[name].id or 0

    def title_of(self, actor: Actor) -> str:
        entry = next(e for e in CAST if e["name"] == actor.name)
        return str(entry.get("title") or "-")

    def place(self, actor: Actor) -> str:
        return self.place_of(actor.municipality_id or 0)

    def place_of(self, municipality_id: int) -> str:
        with self.db.transaction() as session:
            found = people.municipality(session, municipality_id)
            return found.name if found else "-"

    def write_invites(self) -> None:
        """Every invite the season sent, once per version of each event (the same .ics
        goes to every attendee of one language), as the files people's calendars
        received: built from what each row was queued with, in the demo's language."""
        folder = self.out_dir / "invites"
        folder.mkdir(exist_ok=True)
        for stale in folder.glob("*.ics"):
            stale.unlink()
        written: dict[str, dict[str, Any]] = {}  # file name: one row's payload
        with self.db.transaction() as session:
            for row in outbox.of_kind(session, invites.CHAT_KIND):
                name = invites.file_name(row.payload)
                if name not in written or self.lang in row.payload.get("invite", {}):
                    written[name] = row.payload  # one worded in self.lang if any is
            for name, payload in written.items():
                file = invites.invite_file(
                    session, payload, self.lang, self.clock.now(), self.ctx.rules.organizer_email
                )
                (folder / name).write_bytes(file.content)
        self.event("demo.invites", count=len(written), path=str(folder))

    def session(self, session_id: int) -> SupportSession:
        with self.db.transaction() as session:
            row = sessions.get(session, session_id)
        if row is None:
            raise DemoFailed(f"no session {session_id}")
        return row

    def sessions_between(self, first: date, last: date) -> list[SupportSession]:
        with self.db.transaction() as session:
            return sessions.listing(
                session,
                start=datetime.combine(first, time(0), TOKYO),
                end=datetime.combine(last + timedelta(days=1), time(0), TOKYO),
            )

    def month_sessions(
        self, first: date, last: date
    ) -> list[tuple[SupportSession, list[int], list[int]]]:
        """Live sessions in [first, last] with their municipalities and consultants."""
        with self.db.transaction() as session:
            rows = sessions.listing(
                session,
                start=datetime.combine(first, time(0), TOKYO),
                end=datetime.combine(last + timedelta(days=1), time(0), TOKYO),
            )
            ids = [r.id or 0 for r in rows]
            places = sessions.municipalities_of_sessions(session, ids)
            teams = sessions.consultants_of_sessions(session, ids)
        return [(r, places[r.id or 0], teams[r.id or 0]) for r in rows]

    def day_sessions(self, day: date) -> list[tuple[SupportSession, list[int], list[int]]]:
        return self.month_sessions(day, day)

    def consultants_of(self, session_id: int) -> list[int]:
        with self.db.transaction() as session:
            return sessions.consultant_ids(session, session_id)

    def actor_of(self, person_id: int) -> Actor:
        return next(a for a in self.cast.values() if a.id == person_id)

    def name_of(self, person_id: str | None) -> str:
        return next((a.name for a in self.cast.values() if str(a.id) == person_id), "?")

    def plan_summary(self, plan_id: int) -> dict[str, Any]:
        with self.db.transaction() as session:
            plan = plans.get(session, plan_id)
            return dict(plan.summary) if plan else {}

    def sessions_of(self, staff: Actor, first: date, last: date) -> list[SupportSession]:
        with self.db.transaction() as session:
            return sessions.listing(
                session,
                start=datetime.combine(first, time(0), TOKYO),
                end=datetime.combine(last + timedelta(days=1), time(0), TOKYO),
                municipality_id=staff.municipality_id,
            )


def run(out_dir: Path, out: TextIO, language: str = "ja") -> int:
    demo = Demo(out_dir, out, language)
    try:
        return demo.run()
    finally:
        demo.db.dispose()
