"""People, their roles and chat identities; the municipality list."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import UniqueConstraint, and_, delete, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from storage import inbox
from storage.models import ChatIdentity, Municipality, Person, Role


def get(session: Session, person_id: int) -> Person | None:
    return session.get(Person, person_id)


def names(session: Session, person_ids: Sequence[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    rows = session.exec(select(Person.id, Person.name).where(col(Person.id).in_(person_ids)))
    return {pid: name for pid, name in rows if pid is not None}


def find(session: Session, key: str) -> list[Person]:
    """People matching an id, an e-mail address or a name (exact first, then partial)."""
    key = key.strip()
    if key.isdigit():
        person = session.get(Person, int(key))
        return [person] if person else []
    exact = session.exec(select(Person).where(or_(Person.email == key, Person.name == key))).all()
    if exact:
        return list(exact)
    return list(session.exec(select(Person).where(col(Person.name).contains(key))).all())


def by_identity(session: Session, platform: str, platform_user_id: str) -> Person | None:
    return session.exec(
        select(Person)
        .join(ChatIdentity, col(ChatIdentity.person_id) == col(Person.id))
        .where(ChatIdentity.platform == platform)
        .where(ChatIdentity.platform_user_id == platform_user_id)
        .where(Person.active)
    ).first()


def platforms_of(session: Session, person_id: int) -> list[str]:
    """The platforms a person is linked to, earliest-linked first."""
    rows = session.exec(
        select(ChatIdentity.platform)
        .where(ChatIdentity.person_id == person_id)
        .order_by(col(ChatIdentity.id))
    ).all()
    return list(dict.fromkeys(rows))


def link_identity(session: Session, person_id: int, platform: str, user_id: str) -> ChatIdentity:
    existing = session.exec(
        select(ChatIdentity)
        .where(ChatIdentity.platform == platform)
        .where(ChatIdentity.platform_user_id == user_id)
    ).first()
    if existing:
        existing.person_id = person_id
        return existing
    identity = ChatIdentity(person_id=person_id, platform=platform, platform_user_id=user_id)
    session.add(identity)
    session.flush()
    return identity


def add(session: Session, person: Person) -> Person:
    session.add(person)
    session.flush()
    return person


def listing(session: Session, role: Role | None = None) -> list[Person]:
    query = select(Person).where(Person.active).order_by(col(Person.role), col(Person.id))
    if role:
        query = query.where(Person.role == role)
    return list(session.exec(query).all())


def approvers(session: Session) -> list[Person]:
    return list(session.exec(select(Person).where(Person.active).where(Person.is_approver)).all())


def count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Person)).one()


def municipalities(session: Session) -> list[Municipality]:
    return list(session.exec(select(Municipality).order_by(col(Municipality.code))).all())


def municipality(session: Session, municipality_id: int) -> Municipality | None:
    return session.get(Municipality, municipality_id)


_NAMES: dict[str, dict[int, str]] = {}


def municipality_names(session: Session) -> dict[int, str]:
    """Municipality names by id, read once per database: the list is seed data that
    nothing changes while the service runs, and nearly every reply names one."""
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    names = _NAMES.get(key)
    if names is None:
        rows = session.exec(select(Municipality.id, Municipality.name)).all()
        names = _NAMES[key] = {mid: name for mid, name in rows if mid is not None}
    return names


def municipality_named(session: Session, name: str) -> Municipality | None:
    return session.exec(select(Municipality).where(Municipality.name == name)).first()


def notified_on(session: Session, platform: str) -> dict[int, str]:
    """person id → platform user id, for everyone active whose notices go to `platform`:
    each person's notices go to exactly one platform, the one they last used DX Desk from
    (`Person.notify_platform`); someone never seen, or last seen on a platform they are no
    longer linked to, gets them on their earliest-linked identity (lowest id). With two
    accounts on one platform, the earlier one is written to. One query.
    Someone with no chat identity at all has the terminal inbox (`inbox.TERMINAL`)."""
    if platform == inbox.TERMINAL:
        return inbox.without_chat(session)
    mine = aliased(ChatIdentity)  # the identity returned
    other = aliased(ChatIdentity)
    earlier = aliased(ChatIdentity)
    notify_linked = (
        select(other.id)
        .where(other.person_id == mine.person_id)
        .where(other.platform == Person.notify_platform)
        .exists()
    )
    earlier_on_platform = (
        select(earlier.id)
        .where(earlier.person_id == mine.person_id)
        .where(earlier.platform == mine.platform)
        .where(col(earlier.id) < col(mine.id))
        .exists()
    )
    earlier_anywhere = (
        select(earlier.id)
        .where(earlier.person_id == mine.person_id)
        .where(col(earlier.id) < col(mine.id))
        .exists()
    )
    rows = session.exec(
        select(mine.person_id, mine.platform_user_id)
        .join(Person, col(Person.id) == col(mine.person_id))
        .where(mine.platform == platform)
        .where(Person.active)
        .where(~earlier_on_platform)
        .where(
            or_(
                Person.notify_platform == platform,
                and_(~notify_linked, ~earlier_anywhere),
            )
        )
    ).all()
    return dict(rows)


def by_email(session: Session, email: str) -> Person | None:
    return session.exec(
        select(Person).where(func.lower(Person.email) == email.lower()).where(Person.active)
    ).first()


def lock(session: Session, person_ids: Sequence[int]) -> None:
    """Row locks on these people, in id order (no deadlock between two bookings), held
    until the transaction ends; SQLite's writer lock already serialises."""
    if person_ids:
        session.exec(
            select(Person.id)
            .where(col(Person.id).in_(sorted(set(person_ids))))
            .order_by(col(Person.id))
            .with_for_update()
        ).all()


def lock_municipalities(session: Session, municipality_ids: Collection[int]) -> None:
    """Row locks on these municipalities, in id order, held until the transaction ends:
    two bookings of one town queue and the second sees the first (a results meeting
    locks every town, so two of those queue too). Taken after the consultants' rows
    (`lock`): the lock order is request → session → consultants → municipalities."""
    if municipality_ids:
        session.exec(
            select(Municipality.id)
            .where(col(Municipality.id).in_(sorted(set(municipality_ids))))
            .order_by(col(Municipality.id))
            .with_for_update()
        ).all()


def staff_of(session: Session, municipality_id: int) -> list[Person]:
    """The active municipal staff registered for one municipality."""
    return staff_of_municipalities(session, [municipality_id])


def staff_of_municipalities(session: Session, municipality_ids: Sequence[int]) -> list[Person]:
    """The active municipal staff of each of these municipalities in turn (in the order
    given, each one's by id), in one query."""
    if not municipality_ids:
        return []
    rows = session.exec(
        select(Person)
        .where(Person.active)
        .where(Person.role == Role.MUNICIPAL)
        .where(col(Person.municipality_id).in_(set(municipality_ids)))
        .order_by(col(Person.id))
    ).all()
    staff: dict[int | None, list[Person]] = {}
    for person in rows:
        staff.setdefault(person.municipality_id, []).append(person)
    return [p for m in municipality_ids for p in staff.get(m, [])]


def by_ids(session: Session, person_ids: Collection[int]) -> dict[int, Person]:
    """These people (active or not) by id, in one query; unknown ids are left out."""
    if not person_ids:
        return {}
    rows = session.exec(select(Person).where(col(Person.id).in_(set(person_ids))))
    return {p.id: p for p in rows if p.id is not None}


def active_ids(session: Session, person_ids: Sequence[int]) -> list[int]:
    """These people, in order, leaving out anyone deactivated (they are sent nothing)."""
    if not person_ids:
        return []
    active = set(
        session.exec(select(Person.id).where(col(Person.id).in_(person_ids)).where(Person.active))
    )
    return [pid for pid in person_ids if pid in active]


HISTORY = frozenset({"audit_log", "web_session", "sign_in_link"})
"""Tables a merge leaves as they are: who did what stays who did it, and the duplicate's
browser sessions and sign-in links stay theirs, so they end with the duplicate's
deactivation instead of becoming the kept person's."""


def merge(session: Session, keep_id: int, drop_id: int) -> dict[str, int]:
    """Move everything that points at `drop_id` (a duplicate) to `keep_id`, over every
    foreign key to person.id in the schema (so a table added later is never forgotten),
    the audit log excepted. A row that would then repeat one of `keep_id`'s under a
    primary key or unique constraint (both booked on one session, both assigned to one
    request) is dropped instead. Returns the rows moved per table.column."""
    moved: dict[str, int] = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in HISTORY:
            continue
        keys = [set(table.primary_key.columns)] + [
            set(c.columns) for c in table.constraints if isinstance(c, UniqueConstraint)
        ]
        for column in table.columns:
            if not any(fk.column.table.name == "person" for fk in column.foreign_keys):
                continue
            for key in (k for k in keys if column in k and len(k) > 1):
                twin = table.alias()
                clash = (
                    select(twin.c[column.name])
                    .where(twin.c[column.name] == keep_id)
                    .where(*(twin.c[c.name] == table.c[c.name] for c in key if c is not column))
                    .exists()
                )
                session.execute(delete(table).where(column == drop_id).where(clash))
            result = session.execute(
                update(table).where(column == drop_id).values({column.name: keep_id})
            )
            if result.rowcount:
                moved[f"{table.name}.{column.name}"] = result.rowcount
    session.flush()
    return moved


def listing_all(session: Session) -> list[Person]:
    """Everyone, deactivated people too: active first, then by role and id."""
    return list(
        session.exec(
            select(Person).order_by(col(Person.active).desc(), col(Person.role), col(Person.id))
        ).all()
    )
