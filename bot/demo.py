"""`python -m bot demo`: a compressed but realistic season on a fresh SQLite file, driven
by a simulated clock through the same handlers the chat platforms use, told as a
Japanese narrative and closed with the quota table."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.cast import CAST, person_values
from bot.render_text import table
from bot.report_command import write_documents
from handlers import (
    approval,
    availability,
    bpr,
    calendar,
    checkins,
    clockwork,
    intake,
    invites,
    logs,
    notices,
    payloads,
    quotas,
    reminders,
    results_meeting,
    roster,
    router,
    scheduling,
    season,
    slots,
)
from handlers.actor import Actor
from handlers.clock import TOKYO, FakeClock
from handlers.context import Context, Rules
from handlers.i18n import format_day, format_when, join, t
from handlers.reply import Reply
from storage import migrate, outbox, people, plans, sessions
from storage.db import Database
from storage.models import SupportSession

SEASON_START = datetime(2026, 6, 1, 9, 0, tzinfo=TOKYO)
SEASON_END = date(2026, 11, 30)


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
        self.requests: dict[str, int] = {}
        self.engagements: dict[str, int] = {}
        self.logged = 0
        self.unlogged: dict[int, list[int]] = {}

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

    def at(self, day: date, hour: int = 9) -> None:
        self.clock.set(datetime.combine(day, time(hour), TOKYO))

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
        return 0

    def roster(self) -> None:
        self.say("demo.chapter.roster")
        with self.db.transaction() as session:
            ids = {m.name: m.id or 0 for m in people.municipalities(session)}
        for entry in CAST:
            person = roster.add_person(self.ctx, person_values(entry, ids))
            self.cast[person.name] = Actor.from_person(person, self.lang)
        self.event("demo.roster", count=len(CAST), municipalities=len(ids))

    def applications(self) -> None:
        self.say("demo.chapter.applications")
        goals = {
            "田中 美咲": "転入・転居手続のオンライン化の実現",
            "井上 恵": "RPA・AIツール活用による定型業務の削減",
            "村上 優": "窓口業務の見直し",
        }
        for name in ("田中 美咲", "松本 大輔", "井上 恵", "坂本 直子", "村上 優"):
            staff = self.cast[name]
            reply = self.expect(
                intake.apply_bpr(
                    self.ctx,
                    staff,
                    {
                        "municipality": str(staff.municipality_id),
                        "department": staff.department,
                        "requester_title": "主査",
                        "requester_name": staff.name,
                        "goal": goals.get(name, ""),
                        "description": "業務量が増える中、限られた人員での対応が課題。",
                    },
                )
            )
            number = reply.data["number"]
            self.requests[name] = reply.data["request_id"]
            self.event(
                "demo.applied",
                municipality=self.place(staff),
                number=number,
                goal=goals.get(name) or t(self.lang, "goal.none"),
            )
        self.at(date(2026, 6, 3), 10)
        approver = self.cast["熊本 県子"]
        for name in ("田中 美咲", "松本 大輔", "井上 恵", "坂本 直子"):
            reply = self.expect(
                approval.approve(
                    self.ctx,
                    approver,
                    self.ref(name),
                    {"consultants": [self.id("高橋 誠"), self.id("中村 由紀")]},
                )
            )
            self.engagements[name] = reply.data["engagement_id"]
            self.event("demo.selected", municipality=self.place(self.cast[name]))
        self.expect(
            approval.decline(
                self.ctx,
                approver,
                self.ref("村上 優"),
                {"reason": "今年度の選定枠を超えたため。個別相談をご活用ください。"},
            )
        )
        self.event("demo.declined", municipality=self.place(self.cast["村上 優"]))

    def consultations(self) -> None:
        self.say("demo.chapter.consultations")
        self.at(date(2026, 6, 4), 10)
        topics = {"森 翔太": "online_application", "山口 健二": "my_number"}
        for name, topic in topics.items():
            staff = self.cast[name]
            reply = self.expect(
                intake.submit(
                    self.ctx,
                    staff,
                    {
                        "municipality": str(staff.municipality_id),
                        "department": staff.department,
                        "requester_title": "主事",
                        "requester_name": staff.name,
                        "topic": topic,
                        "description": "手続のデジタル化の進め方について相談したい。",
                        "mode": "visit",
                        "preferred_dates": "2026-06-22, 2026-06-24",
                    },
                )
            )
            self.requests[name] = reply.data["request_id"]
            self.event(
                "demo.requested",
                municipality=self.place(staff),
                number=reply.data["number"],
                topic=t(self.lang, f"choice.topic.{topic}"),
            )
        ken, aso = self.cast["熊本 県子"], self.cast["阿蘇 一郎"]
        self.expect(
            approval.ask_info(
                self.ctx,
                ken,
                self.ref("山口 健二"),
                {"question": "対象となる業務と、年間の処理件数を教えてください。"},
            )
        )
        self.event("demo.asked", municipality=self.place(self.cast["山口 健二"]))
        refused = self.expect(
            approval.approve(
                self.ctx,
                self.cast["森 翔太"],
                self.ref("森 翔太"),
                {"consultants": [self.id("小林 健")]},
            ),
            ok=False,
        )
        self.event("demo.refused", who="森 翔太", text=refused.plain_text())
        self.at(date(2026, 6, 5), 10)
        self.expect(
            approval.approve(
                self.ctx, ken, self.ref("森 翔太"), {"consultants": [self.id("小林 健")]}
            )
        )
        self.event("demo.approved", municipality=self.place(self.cast["森 翔太"]))
        late = self.expect(
            approval.approve(
                self.ctx, aso, self.ref("森 翔太"), {"consultants": [self.id("中村 由紀")]}
            ),
            ok=False,
        )
        self.event("demo.late_click", text=late.plain_text())
        self.at(date(2026, 6, 8), 11)
        self.expect(
            intake.answer(
                self.ctx,
                self.cast["山口 健二"],
                self.ref("山口 健二"),
                {"answer": "固定資産税の証明書発行業務で、年間約3,000件です。"},
            )
        )
        self.event("demo.answered", municipality=self.place(self.cast["山口 健二"]))
        self.at(date(2026, 6, 9), 10)
        self.expect(
            approval.approve(
                self.ctx,
                aso,
                self.ref("山口 健二"),
                {"consultants": [self.id("小林 健"), self.id("中村 由紀")]},
            )
        )
        self.event("demo.approved", municipality=self.place(self.cast["山口 健二"]))

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
        for name, choice in (("森 翔太", 0), ("山口 健二", 1)):
            staff = self.cast[name]
            offer = self.expect(slots.offer(self.ctx, staff, self.ref(name)))
            proposed = [datetime.fromisoformat(s) for s in offer.data["slots"]]
            self.expect(
                slots.pick(
                    self.ctx, staff, payloads.encode(id=self.requests[name], at=proposed[choice])
                )
            )
            self.event(
                "demo.slot_picked",
                municipality=self.place(staff),
                offered=join(self.lang, (format_when(self.lang, p) for p in proposed)),
                when=format_when(self.lang, proposed[choice]),
            )
        self.at(date(2026, 6, 10), 9)
        clerk = self.cast["水前寺 花"]
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

    def season(self) -> None:
        """Month by month: the booked sessions are held, logged and their steps advanced;
        in September one session moves, another is cancelled, and the plan is mended."""
        self.say("demo.chapter.season")
        for month in range(6, 12):
            first = date(2026, month, 1)
            last = date(2026, month + 1, 1) - timedelta(days=1)
            if month == 9:
                self.changes(first)
                joint = ["田中 美咲", "井上 恵"]
                self.book_joint(date(2026, 9, 28), joint)
                self.event(
                    "demo.joint",
                    municipalities=join(self.lang, [self.place(self.cast[n]) for n in joint]),
                )
            held = self.hold(first, last)
            self.goal_events(month)
            self.event(
                "demo.month",
                month=month,
                bpr=held.get("bpr", 0),
                office=held.get("office_day", 0),
                consultation=held.get("consultation", 0),
            )

    def changes(self, first: date) -> None:
        self.at(first, 10)
        clerk, staff = self.cast["水前寺 花"], self.cast["松本 大輔"]
        mine = self.sessions_of(staff, first, date(2026, 9, 30))
        moved = mine[0]
        target = calendar.add_business_days(moved.starts_at.astimezone(TOKYO).date(), 2)
        while not (
            reply := scheduling.move(
                self.ctx,
                staff,
                payloads.encode(id=moved.id),
                {"date": target.isoformat(), "start": "13:00", "reason": "議会対応"},
            )
        ).ok:
            target = calendar.add_business_days(target, 1)
        self.event("demo.moved", municipality=self.place(staff), text=reply.plain_text())
        cancelled = self.sessions_of(self.cast["井上 恵"], first, date(2026, 9, 30))[0]
        reply = self.expect(
            scheduling.cancel_session(
                self.ctx, clerk, payloads.encode(id=cancelled.id), {"reason": "台風接近のため"}
            )
        )
        self.event("demo.cancelled", text=reply.plain_text())
        drafted = self.expect(season.draft(self.ctx, clerk))
        counts = self.plan_summary(drafted.data["plan_id"]).get("counts", {})
        self.expect(season.confirm(self.ctx, clerk, payloads.encode(id=drafted.data["plan_id"])))
        self.event("demo.replanned", bpr=counts.get("bpr", 0))

    def follow_up(self) -> None:
        """December on the clock: a log asked for, snoozed, reminded and escalated, then
        filed; check-ins answered each way; the Monday digest."""
        self.say("demo.chapter.follow_up")
        self.at(date(2026, 12, 1), 9)
        self.checkins()
        row = next(
            s
            for s in self.sessions_between(date(2026, 12, 1), date(2026, 12, 31))
            if s.kind == "bpr"
        )
        lead = self.actor_of(self.consultants_of(row.id or 0)[0])
        self.clock.set(row.ends_at + timedelta(minutes=5))
        self.deliver(show=("log.ask",))
        self.expect(reminders.snooze(self.ctx, lead, payloads.encode(id=row.id, kind="hour")))
        self.clock.advance(hours=1, minutes=1)
        self.deliver(show=("log.snooze",))
        ended = row.ends_at.astimezone(TOKYO).date()
        self.at(calendar.add_business_days(ended, 1), 9)
        self.deliver(show=("log.remind",))
        self.at(calendar.add_business_days(ended, self.ctx.rules.escalate_after_days), 9)
        self.deliver(show=(reminders.ESCALATION,))
        staff = [
            n
            for n in self.engagements
            if self.cast[n].municipality_id in self.places_of(row.id or 0)
        ]
        self.file_log(lead, [row.id or 0], staff)
        monday = self.clock.now().date() + timedelta(days=7 - self.clock.now().weekday())
        self.at(monday, 9)  # the next business morning, and the week's digest
        if not any(k.startswith("log.") for k in self.deliver(show=("log.", "digest"))):
            self.event("demo.reminders_stopped")

    def deliver(self, show: tuple[str, ...]) -> set[str]:
        """What the scheduler would send now, told instead of posted: the lines of the
        kinds asked for (the first of each), the rest counted."""
        clockwork.tick(self.ctx)
        shown: set[str] = set()
        for out in notices.claim(self.ctx, None, limit=500, audiences=("prefecture",)):
            notices.finish(self.ctx, out.notification_id, sent=True, lease_until=out.lease_until)
            kind = out.key.split(":", 1)[0]
            if not kind.startswith(show) or kind in shown:
                continue
            shown.add(kind)
            who = t(self.lang, "demo.to_prefecture") if out.audience else self.name_of(out.to)
            lines = out.reply.plain_text().splitlines()
            self.event("demo.sent", who=who, text=lines[0] if lines else "")
            for line in lines[1:14]:
                print(f"      {line}", file=self.out)
        return shown

    def checkins(self) -> None:
        """Open issues found in the season's logs are followed up; three answers."""
        clockwork.tick(self.ctx)
        asked = [
            out
            for out in notices.claim(self.ctx, None, limit=500)
            if out.key.startswith(checkins.KIND)
        ]
        for out in asked:
            notices.finish(self.ctx, out.notification_id, sent=True, lease_until=out.lease_until)
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

    def book_joint(self, day: date, staff: list[str]) -> int:
        self.at(day - timedelta(days=14), 9)
        values: dict[str, Any] = {
            "session_kind": "bpr",
            "date": day.isoformat(),
            "start": "09:00",
            "minutes": 120,
            "mode": "online",
            "meeting_url": "https://meet.example.jp/dx-joint",
            "municipalities": [str(self.cast[n].municipality_id) for n in staff],
            "consultants": [self.id("小林 健")],
        }
        reply = self.expect(scheduling.book(self.ctx, self.cast["水前寺 花"], values))
        return int(reply.data["session_id"])

    def hold(self, first: date, last: date) -> dict[str, int]:
        """After the month: logs, minutes and steps, as the consultants would file them.
        Uto's sessions wait until their consultant has two, then go into one batched
        log (R9)."""
        self.at(last, 18)
        lead = self.cast["高橋 誠"]
        staff_of = {self.cast[n].municipality_id: n for n in self.engagements}
        staff_of |= {self.cast[n].municipality_id: n for n in ("森 翔太", "山口 健二")}
        held: dict[str, int] = {}
        batched = self.unlogged  # Uto's sessions by author, carried across months
        rows = [
            (s, self.places_of(s.id or 0), self.consultants_of(s.id or 0))
            for s in self.sessions_between(first, last)
        ]
        for row, municipality_ids, consultant_ids in rows:
            held[row.kind] = held.get(row.kind, 0) + 1
            staff = [staff_of[m] for m in municipality_ids if m in staff_of]
            author = self.actor_of(lead.id if lead.id in consultant_ids else consultant_ids[0])
            if row.kind == "office_day":
                self.expect(
                    logs.file_minutes(
                        self.ctx,
                        author,
                        {
                            "office_day": str(row.id),
                            "attendees_text": "熊本 県子、" + author.name,
                            "body": "各市町村の支援状況を報告し、翌月の予定を確認した。",
                        },
                    )
                )
            elif row.kind == "results_meeting":
                continue
            elif staff == ["田中 美咲"]:
                batched.setdefault(author.id, []).append(row.id or 0)
            else:
                self.file_log(author, [row.id or 0], staff)
                for name in staff:
                    if name in self.engagements:
                        self.advance(name)
        for author_id, session_ids in batched.items():
            if len(session_ids) >= 2:
                self.file_log(self.actor_of(author_id), session_ids, ["田中 美咲"])
                for _ in session_ids:
                    self.advance("田中 美咲")
                session_ids.clear()
        return held

    def file_log(self, author: Actor, session_ids: list[int], staff: list[str]) -> None:
        attendees = (
            "\n".join(f"{self.cast[n].department}/主査/{self.cast[n].name}" for n in staff)
            or "企画課/主事/(記録なし)"
        )
        issues = (
            "申請様式が紙のみで電子化されていない/電子申請システムでの様式作成を支援する"
            if self.logged % 5 == 0
            else ""
        )
        self.expect(
            logs.file_log(
                self.ctx,
                author,
                {
                    "sessions": [str(i) for i in session_ids],
                    "method": "visit",
                    "place": "、".join(self.place(self.cast[n]) for n in staff) or "熊本県庁",
                    "attendees": attendees,
                    "summary": "対象業務の現状と課題を確認した。",
                    "response": "業務フローを整理し、改善案の方向性を助言した。",
                    "issues": issues,
                    "next_plan": "次回は業務分析の結果を共有する。",
                },
            )
        )
        self.logged += 1
        if len(session_ids) > 1:
            self.event("demo.batched", count=len(session_ids))

    def advance(self, name: str) -> None:
        engagement = payloads.encode(id=self.engagements[name])
        if name == "井上 恵" and not getattr(self, "_skipped", False):
            self._skipped = True
            self.expect(
                bpr.update_step(
                    self.ctx,
                    self.cast["高橋 誠"],
                    engagement,
                    {"step": 3, "step_action": "skipped", "note": "As-Isフローは市で作成済み"},
                )
            )
            self.event("demo.skipped", municipality=self.place(self.cast[name]))
        view = self.expect(bpr.step_form(self.ctx, self.cast["高橋 誠"], engagement))
        form = view.form
        step = next((i.value for i in form.inputs if i.name == "step"), None) if form else None
        if not step:
            return
        self.expect(
            bpr.update_step(
                self.ctx,
                self.cast["高橋 誠"],
                engagement,
                {
                    "step": step,
                    "step_action": "done",
                    "done_on": self.clock.now().date().isoformat(),
                },
            )
        )

    def goal_events(self, month: int) -> None:
        if month == 7:
            staff = self.cast["松本 大輔"]
            self.expect(
                bpr.set_goal(
                    self.ctx,
                    staff,
                    payloads.encode(id=self.engagements["松本 大輔"]),
                    {"goal": "証明書交付業務のオンライン申請化"},
                )
            )
            self.event("demo.goal_set", municipality=self.place(staff))
        if month == 10:
            self.expect(
                bpr.set_goal(
                    self.ctx,
                    self.cast["高橋 誠"],
                    payloads.encode(id=self.engagements["田中 美咲"]),
                    {
                        "goal": "転入・転居手続のオンライン化と窓口の書かない化",
                        "reason": "To-Be検討の結果、窓口改革まで範囲を広げる",
                    },
                )
            )
            self.event("demo.goal_revised", municipality=self.place(self.cast["田中 美咲"]))

    def summary(self) -> None:
        self.at(date(2026, 12, 1), 9)
        self.say("demo.chapter.summary")
        self.expect(
            results_meeting.set_presenters(
                self.ctx,
                self.cast["水前寺 花"],
                {
                    "presenters": [
                        str(self.cast[n].municipality_id) for n in ("田中 美咲", "松本 大輔")
                    ],
                    "meeting_url": "https://meet.example.jp/dx-results",
                },
            )
        )
        with self.db.transaction() as session:
            meeting = next(s for s in sessions.listing(session) if s.kind == "results_meeting")
        self.event(
            "demo.results_meeting",
            when=format_when(self.lang, meeting.starts_at),
            presenters=join(
                self.lang, (self.place(self.cast[n]) for n in ("田中 美咲", "松本 大輔"))
            ),
        )
        for name, engagement_id in self.engagements.items():
            reply = self.expect(
                bpr.view(self.ctx, self.cast["熊本 県子"], payloads.encode(id=engagement_id))
            )
            if reply.data.get("goal_overdue"):
                self.event("demo.goal_overdue", municipality=self.place(self.cast[name]))
        header = [
            t(self.lang, f"quota.{k}")
            for k in ("program", "plan", "held", "booked", "expected", "projected", "pace")
        ]
        body = [
            [
                t(self.lang, f"choice.session_kind.{r.kind}"),
                str(r.plan),
                str(r.held),
                str(r.booked),
                f"{r.expected:.1f}",
                "-" if r.projected is None else f"{r.projected:.0f}",
                t(self.lang, f"pace.{r.pace}"),
            ]
            for r in quotas.figures(self.ctx)
        ]
        print("\n" + table(header, body), file=self.out)

    def finish(self) -> None:
        self.write_invites()
        written = write_documents(self.ctx, self.out_dir / "documents", self.lang)
        self.event(
            "demo.documents",
            path=str(self.out_dir / "documents"),
            names=join(self.lang, sorted({p.stem for p in written})),
        )
        self.say("demo.done", path=str(self.out_dir / "dxdesk-demo.db"), logs=self.logged)

    # -- helpers -------------------------------------------------------------------
    def ref(self, name: str) -> str:
        return payloads.encode(id=self.requests[name])

    def id(self, name: str) -> str:
        return str(self.cast[name].id)

    def place(self, actor: Actor) -> str:
        with self.db.transaction() as session:
            found = people.municipality(session, actor.municipality_id or 0)
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

    def sessions_between(self, first: date, last: date) -> list[SupportSession]:
        with self.db.transaction() as session:
            return sessions.listing(
                session,
                start=datetime.combine(first, time(0), TOKYO),
                end=datetime.combine(last + timedelta(days=1), time(0), TOKYO),
            )

    def consultants_of(self, session_id: int) -> list[int]:
        with self.db.transaction() as session:
            return sessions.consultant_ids(session, session_id)

    def places_of(self, session_id: int) -> list[int]:
        with self.db.transaction() as session:
            return sessions.municipality_ids(session, session_id)

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
