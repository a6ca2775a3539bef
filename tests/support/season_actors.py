"""What the whole-season property test (tests/test_season_machine.py) needs besides the
machine itself: who is who in the cast, a form filler that answers any form the way a
person would (keeping what the bot prefilled), and the record's facts read straight from
the rows — the oracle every screen, count and rule is compared with.

The facts are read with plain SQL over the tables, not through `storage`: a helper that
shared a bug with the code under test would agree with it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, text
from sqlmodel import Session

from handlers.core.actor import Actor
from handlers.core.business_days import fiscal_year
from handlers.core.clock import TOKYO
from handlers.core.i18n import t
from handlers.core.reply import Fields, Form, ListView, Reply
from storage.db import Database
from storage.models import SessionKind

KINDS = tuple(k.value for k in SessionKind)
UNCOMPARED = ("audit_log", "alembic_version")  # a refusal writes its audit entry, nothing else


@dataclass(frozen=True)
class Roster:
    """The demo's cast (bot/demo/cast.py) sorted by what they may do."""

    approvers: tuple[Actor, ...]
    clerk: Actor  # prefecture, not an approver
    consultants: tuple[Actor, ...]
    lead: Actor
    staff: tuple[Actor, ...]  # one per municipality
    admin: Actor

    @classmethod
    def of(cls, cast: dict[str, Actor]) -> Roster:
        people = list(cast.values())
        consultants = tuple(a for a in people if a.role == "consultant")
        return cls(
            approvers=tuple(a for a in people if a.is_approver),
            clerk=next(a for a in people if a.role == "prefecture" and not a.is_approver),
            consultants=consultants,
            lead=next(a for a in consultants if a.is_lead),
            staff=tuple(a for a in people if a.role == "municipal"),
            admin=next(a for a in people if a.role == "admin"),
        )

    @property
    def prefecture(self) -> tuple[Actor, ...]:
        return (*self.approvers, self.clerk)

    @property
    def everyone(self) -> tuple[Actor, ...]:
        return (*self.prefecture, *self.consultants, *self.staff, self.admin)

    def named(self, name: str) -> Actor:
        return next(a for a in self.everyone if a.name == name)

    def staff_of(self, municipality_id: int) -> Actor | None:
        return next((a for a in self.staff if a.municipality_id == municipality_id), None)


# --- answering forms ---------------------------------------------------------------------

TEXTS = {
    "attendees": "市民課/主査/田中 美咲",
    "issues": "申請様式が多い/様式の統合を検討する",
    "attachments": "",
    "summary": "現行業務の流れを確認した。",
    "response": "改善案の方向性を説明した。",
    "next_plan": "次回は業務フローを作成する。",
    "note": "",
    "body": "県庁業務の議事録。",
    "attendees_text": "県職員2名",
    "reason": "日程調整のため",
    "goal": "窓口の待ち時間を半分にする。",
    "question": "対象業務を教えてください。",
    "answer": "住民票の交付業務です。",
}


def fill(
    form: Form, overrides: dict[str, Any], pick: Callable[[list[str], bool], list[str]]
) -> dict[str, Any]:
    """The values a person submits for `form`: what they were asked to type (`overrides`),
    else what the bot prefilled, else for a choice what `pick` chooses (given the offered
    values and whether the field is required, it returns those chosen, perhaps none for an
    optional field), else for a required field a plausible text.

    Reading the form instead of hard-coding its fields keeps the machine driving the bot
    as people do while the forms change (issue #14 adds and removes fields)."""
    values: dict[str, Any] = {}
    for field in form.inputs:
        if field.name in overrides:
            values[field.name] = overrides[field.name]
        elif field.value not in (None, "", ()):
            value = field.value
            values[field.name] = list(value) if isinstance(value, tuple) else value
        elif field.choices:
            chosen = pick([c.value for c in field.choices], field.required)
            if chosen:
                values[field.name] = chosen if field.kind == "multiselect" else chosen[0]
        elif field.required or field.name in TEXTS:
            values[field.name] = TEXTS.get(field.name, "確認済み")
    return values


# --- the record, from its rows -----------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A support session as the rows say."""

    id: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    status: str
    engagement_id: int | None
    municipalities: frozenset[int]
    consultants: frozenset[int]

    @property
    def live(self) -> bool:
        return self.status != "cancelled"

    def begun(self, now: datetime) -> bool:
        return self.starts_at <= now

    def overlaps(self, other: Row) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def _aware(value: Any) -> datetime:
    """A timestamp as SQL hands it back: SQLite gives naive UTC text, PostgreSQL aware."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def session_rows(session: Session) -> list[Row]:
    grouped: dict[str, dict[int, set[int]]] = {"m": defaultdict(set), "c": defaultdict(set)}
    for sid, mid in session.execute(
        text("SELECT session_id, municipality_id FROM session_municipality")
    ):
        grouped["m"][sid].add(mid)
    for sid, pid in session.execute(text("SELECT session_id, person_id FROM session_consultant")):
        grouped["c"][sid].add(pid)
    rows = session.execute(
        text(
            "SELECT id, kind, starts_at, ends_at, status, engagement_id"
            " FROM support_session ORDER BY id"
        )
    )
    return [
        Row(
            sid,
            kind,
            _aware(starts),
            _aware(ends),
            status,
            engagement,
            frozenset(grouped["m"][sid]),
            frozenset(grouped["c"][sid]),
        )
        for sid, kind, starts, ends, status, engagement in rows
    ]


def derived_counts(rows: Iterable[Row], now: datetime) -> dict[str, tuple[int, int]]:
    """(held, booked) per kind by the shared definition of issue #14: held = not
    cancelled and begun (starts_at <= now), booked = not cancelled and not begun. A joint
    session is one row, so it counts once."""
    held: Counter[str] = Counter()
    booked: Counter[str] = Counter()
    for row in rows:
        if row.live:
            (held if row.begun(now) else booked)[row.kind] += 1
    return {kind: (held[kind], booked[kind]) for kind in KINDS}


def rule_breaches(session: Session, now: datetime) -> list[str]:
    """Every rule of issue #14 the rows break, in words (empty when the record holds)."""
    rows = session_rows(session)
    live = [r for r in rows if r.live]
    found: list[str] = []
    for index, one in enumerate(live):
        for other in live[index + 1 :]:
            if not one.overlaps(other):
                continue
            shared = one.consultants & other.consultants
            if shared:
                found.append(f"consultant(s) {sorted(shared)} in sessions {one.id} and {other.id}")
            exempt = SessionKind.RESULTS_MEETING in (one.kind, other.kind)
            towns = one.municipalities & other.municipalities
            if towns and not exempt:
                found.append(f"municipality {sorted(towns)} in sessions {one.id} and {other.id}")
    meetings = [r for r in live if r.kind == SessionKind.RESULTS_MEETING]
    per_year = Counter(fiscal_year(r.starts_at.astimezone(TOKYO).date()) for r in meetings)
    found += [
        f"{n} live results meetings in programme year {y}" for y, n in per_year.items() if n > 1
    ]
    found += [
        f"results meeting {r.id} outside March"
        for r in meetings
        if r.starts_at.astimezone(TOKYO).month != 3
    ]
    found += [
        f"session {r.id} is held but begins {r.starts_at}"
        for r in rows
        if r.status == "held" and not r.begun(now)
    ]
    found += step_breaches(session, {r.id: r for r in rows}, now)
    return found


def step_breaches(session: Session, by_id: dict[int, Row], now: datetime) -> list[str]:
    """A done step names 1 or 2 held BPR sessions its town was in (a joint session serves
    every engaged town in it); a skipped or planned step none."""
    steps = list(
        session.execute(text("SELECT id, engagement_id, number, status FROM engagement_step"))
    )
    town_of = dict(session.execute(text("SELECT id, municipality_id FROM engagement")).all())
    links: dict[int, list[int]] = defaultdict(list)
    for step_id, session_id in session.execute(
        text("SELECT step_id, session_id FROM engagement_step_session")
    ):
        links[step_id].append(session_id)
    found = []
    for step_id, engagement_id, number, status in steps:
        linked = [by_id[s] for s in links[step_id]]
        name = f"step {number} of engagement {engagement_id}"
        if status != "done":
            if linked:
                found.append(f"{name} is {status} but names sessions {links[step_id]}")
            continue
        if not 1 <= len(linked) <= 2:
            found.append(f"{name} is done in {len(linked)} sessions (needs 1 or 2)")
        for row in linked:
            if not (
                row.kind == SessionKind.BPR
                and town_of[engagement_id] in row.municipalities
                and row.live
                and row.begun(now)
            ):
                found.append(f"{name} names session {row.id}, not a held BPR session of its town")
    return found


def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table but the audit log, for "a refused action changed nothing"."""
    names = [n for n in inspect(db.engine).get_table_names() if n not in UNCOMPARED]
    found = {}
    with db.engine.connect() as connection:
        for name in names:
            found[name] = sorted(
                repr(tuple(r)) for r in connection.execute(text(f'SELECT * FROM "{name}"'))
            )
    return found


def refusals(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM audit_log WHERE outcome = 'refused'")
            ).scalar_one()
        )


# --- the counts people are shown ---------------------------------------------------------

NUMBER = re.compile(r"\d+")


def quota_list_counts(reply: Reply, language: str = "ja") -> dict[str, tuple[int, int]]:
    """(held, booked) per kind as the quota list (the `quota.view` reply, App Home) shows them."""
    title = t(language, "quota.title")
    lists = [b for b in reply.blocks if isinstance(b, ListView) and b.title == title]
    assert len(lists) == 1, f"expected one quota list, got {len(lists)}"
    labels = {t(language, f"choice.session_kind.{k}"): k for k in KINDS}
    held, booked = t(language, "session.status.held"), t(language, "session.status.booked")
    shown = {}
    for item in lists[0].items:
        fields = {f.label: f.value for f in item.fields}
        shown[labels[item.title]] = (int(fields[held]), int(fields[booked]))
    return shown


def digest_counts(reply: Reply, language: str = "ja") -> dict[str, tuple[int, int]]:
    """(held, booked) per kind from the weekly digest's pace lines (「実施N・予定M/計画P」):
    the first two numbers of each line."""
    labels = {t(language, f"choice.session_kind.{k}"): k for k in KINDS}
    shown = {}
    for block in reply.blocks:
        if isinstance(block, Fields):
            for field in block.items:
                if field.label in labels:
                    held, booked = (int(n) for n in NUMBER.findall(field.value)[:2])
                    shown[labels[field.label]] = (held, booked)
    return shown


# --- time --------------------------------------------------------------------------------


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(p) for p in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=TOKYO)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
