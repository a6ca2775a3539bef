"""Small helpers several intents share: choices from the database, names, notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from handlers.core import payloads
from handlers.core.actor import Actor
from handlers.core.i18n import t
from handlers.core.reply import Button, Choice, ListItem
from storage import outbox, people
from storage.models import Request, Role

PAGE_SIZE = 10


def municipality_choices(session: Session) -> list[Choice]:
    return [Choice(str(m.id), m.name) for m in people.municipalities(session)]


def visible_municipality_choices(session: Session, actor: Actor) -> list[Choice]:
    """What a form offers: municipal staff see only their own municipality."""
    choices = municipality_choices(session)
    if actor.role == Role.MUNICIPAL:
        return [c for c in choices if c.value == str(actor.municipality_id)]
    return choices


def consultant_choices(session: Session, language: str) -> list[Choice]:
    return [
        Choice(str(p.id), t(language, "person.lead", name=p.name) if p.is_lead else p.name)
        for p in people.listing(session, Role.CONSULTANT)
    ]


def municipality_name(session: Session, municipality_id: int) -> str:
    return people.municipality_names(session).get(municipality_id, "?")


def name_of(session: Session, person_id: int | None) -> str:
    if person_id is None:
        return "-"
    person = people.get(session, person_id)
    return person.name if person else "?"


def requester_ids(request: Request) -> list[int]:
    """Who hears about a request: the requester if registered, else who entered it."""
    return [request.requester_id or request.entered_by_id]


def requester_or_staff(
    session: Session, requester_id: int | None, municipality_id: int
) -> list[int]:
    """Who is asked on the municipality's side: the registered requester, else every
    active staff member registered for the municipality."""
    if requester_id is not None:
        return [requester_id]
    return [p.id or 0 for p in people.staff_of(session, municipality_id)]


def notify(
    session: Session,
    *,
    key: str,
    person_ids: list[int],
    message: str,
    params: dict[str, Any],
    now: datetime,
    action: str | None = None,
    ref: str | None = None,
    buttons: list[list[str]] | None = None,
) -> None:
    """Queue one notice per person in the caller's transaction (sent by bot/notify).
    `buttons` ([action, label key, value] triples) replace the one `action`/`ref` button."""
    payload: dict[str, Any] = (
        {"message": message, "params": params, "buttons": buttons}
        if buttons is not None
        else {"message": message, "params": params, "action": action, "ref": ref}
    )
    for person_id in dict.fromkeys(person_ids):
        outbox.enqueue(
            session,
            key=f"{key}:{person_id}",
            kind=key.split(":", 1)[0],
            person_id=person_id,
            payload=payload,
            due_at=now,
            now=now,
        )


def pages(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // size))


def next_page(language: str, intent: str, page: int, count: int, **ref: Any) -> Button | None:
    """A list's "next page" button on page `page` of `count`, none on the last; `ref` is
    what else the intent's payload carries (a plan's id)."""
    if page >= count:
        return None
    return Button(intent, t(language, "button.next_page"), payloads.encode(**ref, page=page + 1))


def where_all(language: str, desk_url: str | None) -> str:
    """Where every row of a shortened list can be seen: the desk's pages (their address
    when it is known; the chat command that signs in to them otherwise)."""
    if desk_url:
        return t(language, "more.where.desk_url", url=desk_url)
    return t(language, "more.where.desk_command", command=t(language, "command.desk"))


def more_items(language: str, total: int, where: str, shown: int) -> tuple[ListItem, ...]:
    """The last line of a list showing `shown` of `total` rows: 「ほか N 件」 and where to
    see them all (`where_all`) — a list is never cut silently; nothing when all are shown."""
    hidden = total - shown
    if hidden <= 0:
        return ()
    return (ListItem(t(language, "more.line", count=hidden, where=where)),)
