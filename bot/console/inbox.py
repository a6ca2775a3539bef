"""The terminal inbox's delivering end: the deliverer the local service runs for people no
chat platform reaches (and for the prefecture's channel when no chat platform is
configured). What `python -m bot console --as NAME` shows of it is read through
handlers.notifications.inbox, which also keeps what is delivered here.

Delivering renders the notice as terminal text in the reader's language, writes the
files it carries (an invite's .ics) to a local folder, and has the text, the paths and
the buttons kept (handlers.notifications.inbox.keep); the outbox row is then `sent` like
any other. An invite also gets a private calendar-feed URL: only a hash of a feed token
is kept, so the URL is minted when the reader asks for it (the feed's button, audited
like `calendar.feed`), never stored in the text."""

from __future__ import annotations

import re
from pathlib import Path

from bot.console.render import render
from bot.delivery import sending
from handlers.core import policy
from handlers.core.context import Context
from handlers.core.i18n import t
from handlers.core.reply import Button, Buttons, File, ListView, Reply
from handlers.notifications import inbox, notices
from handlers.scheduling import feeds

CALENDAR = "text/calendar"
SAFE = re.compile(r"[^A-Za-z0-9._-]")
FEED = policy.declaration(feeds.show).name  # the intent that shows a person their feed URL


class TerminalInbox:
    """Delivers due notices to the terminal inbox. `channels`: also the prefecture
    channel's notices (only when no chat platform posts them)."""

    def __init__(self, ctx: Context, files_dir: Path, *, channels: bool = False) -> None:
        self.ctx = ctx
        self.files_dir = files_dir
        self.audiences: tuple[str, ...] = inbox.CHANNELS if channels else ()

    def deliver(self) -> int:
        return sending.deliver(self.ctx, inbox.TERMINAL, self.audiences, self.send)

    def send(self, out: notices.Outgoing) -> sending.Outcome:
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
        inbox.keep(
            self.ctx, out, text="\n".join(lines), files=[str(p) for p in paths], buttons=buttons
        )
        return sending.Outcome(True)

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
