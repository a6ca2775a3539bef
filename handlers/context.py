"""What every handler is given besides the actor: the database, the clock, the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from handlers.clock import Clock, SystemClock
from storage.db import Database


@dataclass(frozen=True)
class Plan:
    """Planning figures of the contract (REQUIREMENTS: programs and their numbers)."""

    bpr_sessions: int = 80
    consultations: int = 30
    office_days: int = 30
    results_meetings: int = 1
    pace_tolerance: float = 0.2


@dataclass(frozen=True)
class Rules:
    language: str = "ja"
    office_open: time = time(9, 0)
    office_close: time = time(17, 0)
    contract_start: date = date(2026, 6, 1)
    contract_end: date = date(2027, 3, 31)
    plan: Plan = field(default_factory=Plan)


@dataclass
class Context:
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    rules: Rules = field(default_factory=Rules)
