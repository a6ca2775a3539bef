"""Time as a parameter: production reads the wall clock in Asia/Tokyo, tests and the
demo drive a fake one."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(TOKYO)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=TOKYO)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment if moment.tzinfo else moment.replace(tzinfo=TOKYO)

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


class ScaledClock:
    """The wall clock started at `start` and running `speed` times faster (the local
    service's `--clock` and `--speed`: a week of reminders in a few minutes)."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        self._start = start if start.tzinfo else start.replace(tzinfo=TOKYO)
        self._origin = time.monotonic()
        self.speed = speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)
