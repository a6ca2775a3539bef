"""Business-day arithmetic, in one place: weekends, Japanese public and substitute
holidays (jpholiday) and the year-end closure 12/29–1/3 are closed; business hours are
the office hours of a business day (nothing is sent outside them)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import jpholiday

from handlers.core.clock import TOKYO
from handlers.core.context import Rules


def is_year_end_closure(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


@lru_cache(maxsize=8192)
def is_business_day(day: date) -> bool:
    """Cached: jpholiday's look-up is slow, and counting the business days since each
    owed session (reminders.owed, the desk's dashboard) asks about the same days again
    and again."""
    return day.weekday() < 5 and not jpholiday.is_holiday(day) and not is_year_end_closure(day)


def closed_reason(day: date) -> str | None:
    """Why `day` is closed, as a message key (None on a business day)."""
    if is_year_end_closure(day):
        return "calendar.closed.year_end"
    if jpholiday.is_holiday(day):
        return "calendar.closed.holiday"
    if day.weekday() >= 5:
        return "calendar.closed.weekend"
    return None


def business_days(start: date, end: date) -> int:
    """Business days in [start, end]."""
    count = 0
    day = start
    while day <= end:
        count += is_business_day(day)
        day += timedelta(days=1)
    return count


def add_business_days(day: date, count: int) -> date:
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        remaining -= is_business_day(day)
    return day


def in_contract(rules: Rules, day: date) -> bool:
    return rules.contract_start <= day <= rules.contract_end


def fiscal_year(day: date) -> int:
    """年度: April to March."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 April, next 1 April) of programme year `year`, in Tokyo time."""
    return datetime(year, 4, 1, tzinfo=TOKYO), datetime(year + 1, 4, 1, tzinfo=TOKYO)


def is_business_time(rules: Rules, moment: datetime) -> bool:
    local = moment.astimezone(TOKYO)
    return is_business_day(local.date()) and rules.office_open <= local.time() < rules.office_close


def next_business_morning(rules: Rules, moment: datetime) -> datetime:
    """The next opening of the office after `moment` (today's, if it has not opened yet)."""
    local = moment.astimezone(TOKYO)
    day = local.date()
    if not (is_business_day(day) and local.time() < rules.office_open):
        day = add_business_days(day, 1)
    return datetime.combine(day, rules.office_open, TOKYO)


def business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (0 when end <= start)."""
    return business_days(start + timedelta(days=1), end) if end > start else 0
