"""The terminal inbox, both ends: the deliverer the local service runs for people no chat
platform reaches (and for the prefecture's channel when no chat platform is configured),
and what `python -m bot console --as NAME` shows of it.

Delivering renders the notice as terminal text in the reader's language, writes the
files it carries (an invite's .ics) to a local folder, and stores the text, the paths and
the buttons (storage/inbox.py); the outbox row is then `sent` like any other. An invite
also gets a private calendar-feed URL: only a hash of a feed token is kept, so the URL is
minted when the notice is delivered (audited like `calendar.feed`) and lives on in the
stored text."""

from __future__ import annotations

import re
from pathlib import Path

from bot import delivery
from bot.render_text import render
from handlers import notices
from handlers.actor import Actor
from handlers.context import Context
from handlers.i18n import format_when, t
from handlers.reply import Button, Buttons, File, ListItem, ListView, Reply, Text
from storage import inbox as store
from storage.models import Audience, Role

CALENDAR = "text/calendar"
SAFE = re.compile(r"[^A-Za-z0-9._-]")
FEED = "calendar.feed"  # the intent that shows a person their private feed URL


class TerminalInbox:
    """Delivers due notices to the terminal inbox. `channels`: also the prefecture
    channel's notices (only when no chat platform posts them)."""

    def __init__(self, ctx: Context, files_dir: Path, *, channels: bool = False) -> None:
        self.ctx = ctx
        self.files_dir = files_dir
        self.audiences: tuple[str, ...] = (Audience.PREFECTURE,) if channels else ()

    def deliver(self) -> int:
        return delivery.deliver(self.ctx, store.TERMINAL, self.audiences, self.send)

    def send(self, out: notices.Outgoing) -> delivery.Outcome:
        lang = out.language
        files = [b for b in out.reply.blocks if isinstance(b, File)]
        paths = [self._write(out, f) for f in files]
        kept = Reply(tuple(b for b in out.reply.blocks if not isinstance(b, File | Buttons)))
        lines = [render(kept, lang).text]
        lines += [t(lang, "inbox.file", path=str(p)) for p in paths]
        buttons = [(b.action, b.label, b.value) for b in _buttons(out.reply)]
        # The private feed is offered as a button, never as a URL in the stored text: a
        # copy of the database must not let anyone read another person's calendar
        # (storage.calendar_tokens keeps only hashes), and a token per invite would pile up.
        calendar = out.person_id is not None and any(f.mime.startswith(CALENDAR) for f in files)
        if calendar and not any(action == FEED for action, _, _ in buttons):
            buttons.append((FEED, t(lang, "button.subscribe_feed"), ""))
        with self.ctx.db.transaction() as session:
            now = self.ctx.clock.now()
            store.deliver(
                session,
                notification_id=out.notification_id,
                person_id=out.person_id,
                audience=out.audience,
                text="\n".join(lines),
                files=[str(p) for p in paths],
                buttons=buttons,
                now=now,
            )
        return delivery.Outcome(True)

    def _write(self, out: notices.Outgoing, file: File) -> Path:
        """Each reader's files in a folder of their own (person id, or the channel)."""
        owner = f"person-{out.person_id}" if out.person_id else SAFE.sub("_", out.audience or "-")
        folder = self.files_dir / owner
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / SAFE.sub("_", Path(file.name).name)
        path.write_bytes(file.content)
        return path.resolve()


def _buttons(reply: Reply) -> list[Button]:
    found: list[Button] = []
    for block in reply.blocks:
        if isinstance(block, Buttons):
            found.extend(block.buttons)
        elif isinstance(block, ListView):
            found.extend(b for item in block.items for b in item.buttons)
    return found


def audiences_of(actor: Actor) -> tuple[str, ...]:
    """The channels whose terminal messages this reader sees: the prefecture's staff
    read the prefecture channel."""
    return (Audience.PREFECTURE,) if actor.role == Role.PREFECTURE else ()


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
