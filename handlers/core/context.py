"""What every handler is given besides the actor: the database, the clock, the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from handlers.core.clock import Clock, SystemClock
from storage.db import Database


@dataclass(frozen=True)
class Plan:
    """Planning figures of the contract (REQUIREMENTS: programs and their numbers)."""

    bpr_sessions: int = 80
    sessions_per_engagement: int = 10  # ≈8 municipalities × ≈10 sessions
    consultations: int = 30
    office_days: int = 30
    results_meetings: int = 1
    pace_tolerance: float = 0.2
    # Session lengths in minutes. A BPR visit is "4時間程度": 3.5 h, a morning
    # (09:00–12:30) or an afternoon (13:30–17:00), so one consultant can serve two
    # neighbouring municipalities in a day; office days are 4 h at the prefectural office.
    bpr_minutes: int = 210
    office_day_minutes: int = 240
    consultation_minutes: int = 120
    results_minutes: int = 120

    def minutes(self, kind: str) -> int:
        return int(getattr(self, f"{kind.removesuffix('_meeting')}_minutes"))


NO_REPLY = "noreply@dxdesk.invalid"
"""The invites' ORGANIZER while no DXDESK_MAIL_FROM is set: under .invalid (RFC 2606), so
no calendar's reply can reach a mailbox anyone reads or someone else's machine (as
dxdesk@localhost would); e-mail is refused at start-up until a real address is set."""


@dataclass(frozen=True)
class Rules:
    language: str = "ja"
    office_open: time = time(9, 0)
    office_close: time = time(17, 0)
    contract_start: date = date(2026, 6, 1)
    contract_end: date = date(2027, 3, 31)
    min_notice_business_days: int = 2  # closer than this, only the prefecture moves a session
    min_gap_days: int = 7  # between two sessions of one BPR engagement (season planner)
    escalate_after_days: int = 3  # business days a log may be missing before the prefecture hears
    checkin_every_days: int = 10  # business days between check-ins on an open issue
    public_url: str = "http://localhost:3000"  # where people reach `serve` (calendar feeds)
    # DXDESK_PUBLIC_URL only when it was set: the base of the desk's sign-in links, which
    # must not point a colleague's browser at a guessed localhost (None: refused, worded)
    desk_url: str | None = None
    organizer_email: str = NO_REPLY  # invites' ORGANIZER (DX Desk): DXDESK_MAIL_FROM
    # 宛先 and 提出者 printed on every document (DXDESK_ADDRESSEE / DXDESK_SUBMITTER);
    # empty: the catalog's default in the reader's language (doc.addressee / doc.submitter).
    addressee: str = ""
    submitter: str = ""
    # files attached to a log or minutes (storage.attachments): each at most this many
    # bytes, this many per log; kept in the database, or in this directory when set
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_max_files: int = 5
    attachment_dir: str | None = None
    plan: Plan = field(default_factory=Plan)


@dataclass
class Context:
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    rules: Rules = field(default_factory=Rules)
