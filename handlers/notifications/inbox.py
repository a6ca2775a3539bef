"""The terminal inbox's record: keeping a notice the local service delivered to the
terminal, and reading it back (`python -m bot console --as NAME`).

Why here and not in bot/console: the console is an adapter like Slack and Teams, and
adapters reach the database only through handlers. The console renders a notice as
terminal text and writes its files; what is kept, who reads which channel, and when a
message counts as read are decided here (storage/inbox.py holds the rows)."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.i18n import format_when, t
from handlers.core.reply import Button, ListItem, ListView, Reply, Text
from handlers.notifications import notices
from storage import inbox as store
from storage.inbox import TERMINAL as TERMINAL  # the platform name, read from here by bot
from storage.models import Audience, Role

CHANNELS: tuple[str, ...] = (Audience.PREFECTURE,)
"""The channels the terminal inbox carries when no chat platform posts them."""


def keep(
    ctx: Context,
    out: notices.Outgoing,
    *,
    text: str,
    files: Sequence[str],
    buttons: Sequence[tuple[str, str, str]],
) -> None:
    """Store a notice as the terminal showed it (delivering the same row twice keeps the
    first copy, so a sender retried after dying here sends nothing twice)."""
    with ctx.db.transaction() as session:
        store.deliver(
            session,
            notification_id=out.notification_id,
            person_id=out.person_id,
            audience=out.audience,
            text=text,
            files=files,
            buttons=buttons,
            now=ctx.clock.now(),
        )


def audiences_of(actor: Actor) -> tuple[str, ...]:
    """The channels whose terminal messages this reader sees: the prefecture's staff
    read the prefecture channel."""
    return CHANNELS if actor.role == Role.PREFECTURE else ()


def unread(ctx: Context, actor: Actor) -> int:
    with ctx.db.transaction() as session:
        return store.unread_count(session, actor.id, audiences_of(actor))


def view(ctx: Context, actor: Actor, *, mark_read: bool = True) -> Reply:
    """The inbox as a reply: the unread count first, then the messages (unread first,
    marked ●), each with its buttons; what was shown unread is marked read."""
    lang = actor.language
    with ctx.db.transaction() as session:
        entries = store.messages(session, actor.id, audiences_of(actor))
        count = sum(not e.read for e in entries)
        if mark_read and count:
            shown = [e.message.id or 0 for e in entries if not e.read]
            store.mark_read(session, actor.id, shown, ctx.clock.now())
    items = tuple(_item(lang, e) for e in entries)
    return Reply(
        (
            Text(t(lang, "inbox.unread", count=count), "heading"),
            ListView(t(lang, "inbox.title"), items, empty_text=t(lang, "inbox.empty")),
        )
    )


def _item(lang: str, entry: store.Entry) -> ListItem:
    message = entry.message
    mark = "" if entry.read else t(lang, "inbox.new_mark")
    channel = t(lang, "inbox.channel") if message.audience else ""
    text = message.text.replace("\n", "\n    ")  # under the bullet, not at the margin
    title = f"{mark}{format_when(lang, message.delivered_at)} {channel}{text}"
    buttons = tuple(Button(action, label, value) for action, label, value in message.buttons)
    return ListItem(title=title, buttons=buttons)
