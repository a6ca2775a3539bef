"""Japanese era dates (和暦) and fiscal years (年度) for the documents officials file.

Officials write 令和8年11月24日, and 令和元年 for the first year of an era; the
era table comes from a maintained library (japanera) rather than a hand-kept list, so a
future era change is a dependency upgrade. Fiscal years run April to March (令和8年度 =
2026-04-01 to 2027-03-31); `handlers.core.business_days.fiscal_year` already numbers them.

Naming a fiscal year across an era change (the convention government offices used
after 2019-05-01): a fiscal year takes the era in force on its last day (31 March),
numbered by the calendar year in which it began — so the year that began on 2019-04-01,
under 平成31, is 令和元年度, and the one before it stays 平成30年度. When that would give
year 0 (an era that began between January and March, as 平成 on 1989-01-08), the fiscal
year keeps the era of its start: 1988-04-01 to 1989-03-31 stayed 昭和63年度.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from japanera import EraDate

from handlers.core.business_days import fiscal_year
from handlers.core.clock import TOKYO
from handlers.core.i18n import t


@dataclass(frozen=True)
class EraYear:
    kanji: str  # 令和
    english: str  # Reiwa
    year: int  # 1 for the first year (元年)


def era_year(day: date) -> EraYear:
    """The era and its year on `day` (2019-04-30 is 平成31, 2019-05-01 is 令和1)."""
    found = EraDate.from_date(day)
    return EraYear(found.era.kanji, found.era.english, found.era.calc_relative_year(day))


def _era_name(language: str, era: EraYear) -> str:
    return era.kanji if language == "ja" else era.english


def _year_text(language: str, era: EraYear) -> str:
    return t(language, "doc.era.first_year") if era.year == 1 else str(era.year)


def _worded(language: str, key: str, day: date, iso: str | None = None) -> str:
    """A catalog format filled with the era, its year (元 for the first) and the parts of
    `day` (`iso` overrides its ISO form: 2026-06 for a month)."""
    era = era_year(day)
    return t(
        language,
        key,
        era=_era_name(language, era),
        year=_year_text(language, era),
        month=day.month,
        day=day.day,
        iso=iso or day.isoformat(),
        western=day.year,
    )


def era_date(language: str, value: date | datetime) -> str:
    """令和8年11月24日 (English: 2026-11-24 (Reiwa 8)); aware datetimes are read in Tokyo."""
    day = value.astimezone(TOKYO).date() if isinstance(value, datetime) else value
    return _worded(language, "format.era_date", day)


def era_month(language: str, day: date) -> str:
    """令和8年6月: the months of a schedule table."""
    return _worded(language, "format.era_month", day, day.isoformat()[:7])


def era_when(language: str, value: datetime) -> str:
    """A date and time: 令和8年11月24日 10:00."""
    local = value.astimezone(TOKYO)
    return f"{era_date(language, local.date())} {local:%H:%M}"


def fiscal_year_era(day: date) -> EraYear:
    """The era and year naming the fiscal year of `day` (see the module docstring)."""
    year = fiscal_year(day)
    start, end = date(year, 4, 1), date(year + 1, 3, 31)
    era = EraDate.from_date(end).era
    number = era.calc_relative_year(start)
    if number < 1:
        era = EraDate.from_date(start).era
        number = era.calc_relative_year(start)
    return EraYear(era.kanji, era.english, number)


def fiscal_year_label(language: str, day: date) -> str:
    """令和8年度 for any day from 2026-04-01 to 2027-03-31; 令和元年度 from 2019-04-01."""
    era = fiscal_year_era(day)
    return t(
        language,
        "format.era_fiscal_year",
        era=_era_name(language, era),
        year=_year_text(language, era),
        western=fiscal_year(day),
    )
