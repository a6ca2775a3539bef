"""When consultants can be booked: their usual week and their absences (leave, other work)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, time

from sqlmodel import Session, col, delete, select

from storage.models import Absence, AbsenceKind, AvailabilityPattern


def week(session: Session, person_id: int) -> dict[int, tuple[time, time]]:
    """Weekday (0 = Monday) → available hours; empty when the person has no pattern."""
    rows = session.exec(
        select(AvailabilityPattern).where(AvailabilityPattern.person_id == person_id)
    ).all()
    return {row.weekday: (row.starts, row.ends) for row in rows}


def weeks(session: Session, person_ids: Collection[int]) -> dict[int, dict[int, tuple[time, time]]]:
    out: dict[int, dict[int, tuple[time, time]]] = {pid: {} for pid in person_ids}
    rows = session.exec(
        select(AvailabilityPattern).where(col(AvailabilityPattern.person_id).in_(person_ids))
    ).all()
    for row in rows:
        out[row.person_id][row.weekday] = (row.starts, row.ends)
    return out


def set_week(session: Session, person_id: int, hours: Mapping[int, tuple[time, time]]) -> None:
    """Replace the person's pattern (an empty mapping: available whenever the office is open)."""
    session.exec(delete(AvailabilityPattern).where(col(AvailabilityPattern.person_id) == person_id))
    for weekday, (starts, ends) in sorted(hours.items()):
        session.add(
            AvailabilityPattern(person_id=person_id, weekday=weekday, starts=starts, ends=ends)
        )
    session.flush()


def add_absence(session: Session, absence: Absence) -> Absence:
    session.add(absence)
    session.flush()
    return absence


def absences(
    session: Session, person_ids: Collection[int], start: date, end: date
) -> list[Absence]:
    """Absences of these people on days in [start, end], earliest first."""
    return list(
        session.exec(
            select(Absence)
            .where(col(Absence.person_id).in_(person_ids))
            .where(col(Absence.day) >= start)
            .where(col(Absence.day) <= end)
            .order_by(col(Absence.day), col(Absence.starts), col(Absence.id))
        ).all()
    )


def get_absence(session: Session, absence_id: int) -> Absence | None:
    return session.get(Absence, absence_id)


def remove_absence(session: Session, absence: Absence) -> None:
    session.delete(absence)
    session.flush()


def on_leave_among(session: Session, person_ids: Collection[int], day: date) -> set[int]:
    """Which of these people are on leave for the whole of `day` (`on_leave` for many,
    in one query)."""
    if not person_ids:
        return set()
    return set(
        session.exec(
            select(Absence.person_id)
            .where(col(Absence.person_id).in_(set(person_ids)))
            .where(Absence.day == day)
            .where(Absence.kind == AbsenceKind.LEAVE)
            .where(col(Absence.starts).is_(None))
        ).all()
    )
