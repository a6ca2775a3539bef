"""The terminal chat (the embedded default adapter, like Hubot's shell): act as any
registered person; forms become prompts, buttons numbered choices. It opens on the
person's terminal inbox (handlers/notifications/inbox.py: what the local service delivered to
them, the prefecture channel's messages too for the prefecture's staff), unread count first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.console.render import display_width, render, terminal
from handlers import router
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.i18n import t
from handlers.core.reply import Form, Input, Reply, Upload
from handlers.notifications import inbox

Ask = Callable[[str], str]


class Quit(Exception):
    """The user typed q or closed the input."""


class Console:
    def __init__(
        self, ctx: Context, actor: Actor, ask: Ask, out: TextIO, files_dir: Path | None = None
    ) -> None:
        self.ctx = ctx
        self.actor = actor
        self.lang = actor.language
        self._ask = ask
        self.out = out
        self.files_dir = files_dir  # where files in replies are saved; None: only named

    def say(self, text: str) -> None:
        print(terminal(text), file=self.out, flush=True)

    def ask(self, prompt: str) -> str:
        try:
            answer = self._ask(prompt)
        except EOFError:
            raise Quit from None
        if answer.strip().lower() in self.words("console.quit_words"):
            raise Quit
        return answer

    def words(self, key: str) -> tuple[str, ...]:
        """Typed commands, from the catalog (q, 終了 …), compared case-insensitively."""
        return tuple(w.strip().lower() for w in t(self.lang, key).split(","))

    def run(self) -> int:
        self.say(t(self.lang, "console.welcome"))
        reply = self.inbox() or router.press(self.ctx, self.actor, "menu")
        try:
            while True:
                reply = self.step(reply)
        except Quit:
            self.say(t(self.lang, "console.bye"))
            return 0

    def inbox(self, *, always: bool = False) -> Reply | None:
        """The inbox when there is something in it (or `always`), its unread now read;
        otherwise only the unread count (none) is said and None returned."""
        if not always and not inbox.unread(self.ctx, self.actor):
            self.say(t(self.lang, "inbox.unread", count=0))
            return None
        return inbox.view(self.ctx, self.actor)

    def step(self, reply: Reply) -> Reply:
        """Show one reply and act on the answer; returns the next reply to show."""
        shown = render(reply, self.lang)
        self.save_files(reply)
        if shown.form is not None:
            if shown.text.strip():
                self.say(shown.text)
            return self.fill(shown.form)
        self.say(shown.text)
        if not shown.options:
            self.say("")
            return router.press(self.ctx, self.actor, "menu")
        while True:
            answer = self.ask(t(self.lang, "console.choose", count=len(shown.options))).strip()
            if answer.lower() in ("", *self.words("console.menu_words")):
                return router.press(self.ctx, self.actor, "menu")
            if answer.lower() in self.words("console.inbox_words"):
                return self.inbox(always=True) or router.press(self.ctx, self.actor, "menu")
            if answer.isdigit() and 1 <= int(answer) <= len(shown.options):
                button = shown.options[int(answer) - 1]
                self.say("")
                return router.press(self.ctx, self.actor, button.action, button.value)
            self.say(t(self.lang, "console.bad_choice"))

    def save_files(self, reply: Reply) -> None:
        """A terminal cannot show a document: write it to the files folder, say where."""
        if self.files_dir is None or not reply.files:
            return
        self.files_dir.mkdir(parents=True, exist_ok=True)
        for file in reply.files:
            path = self.files_dir / Path(file.name).name
            path.write_bytes(file.content)
            self.say(t(self.lang, "console.file_saved", path=str(path)))

    def fill(self, form: Form) -> Reply:
        """Prompt for every field; q abandons the form (not the chat) and nothing is sent."""
        self.say(f"\n■ {form.title}  ({t(self.lang, 'console.form_help')})")
        values: dict[str, str | list[str] | list[Upload]] = {}
        try:
            for item in form.inputs:
                if item.error:
                    self.say(f"  ✖ {item.error}")
                values[item.name] = self.prompt(item)
            confirm = self.ask(t(self.lang, "console.confirm", submit=form.submit_label))
        except Quit:
            confirm = "n"
        if confirm.strip().lower() in self.words("console.no_words"):
            self.say(t(self.lang, "console.discarded"))
            return router.press(self.ctx, self.actor, "menu")
        return router.submit(self.ctx, self.actor, form.action, values, form.context)

    def prompt(self, item: Input) -> str | list[str] | list[Upload]:
        mark = t(self.lang, "console.required" if item.required else "console.optional")
        label = f"{item.label}{mark}"
        if item.hint:
            label += f" — {item.hint}"
        if item.kind == "file":
            raw = self.ask(f"  {label} {t(self.lang, 'console.file_prompt')}: ")
            return [self.read_file(part) for part in raw.split(",") if part.strip()]
        default = None if item.error else item.value  # never offer back what was refused
        if item.choices:
            self.say(f"  {label}")
            self.say(choice_columns([c.label for c in item.choices]))
            shown = self._default_labels(item)
            raw = self.ask(f"  > {'[' + shown + '] ' if shown else ''}").strip()
            if not raw:
                return list(default) if isinstance(default, tuple) else (default or "")
            parts = raw.replace(t(self.lang, "format.list_separator").strip() or ",", ",")
            picked = [self._pick(item, part) for part in parts.split(",")]
            return picked if item.kind == "multiselect" else picked[0]
        if item.kind == "textarea":
            self.say(f"  {label} {t(self.lang, 'console.multiline')}")
            if default:
                self.say(f"    [{default}]")
            lines = []
            while True:
                line = self.ask("  | ")
                if not line.strip():
                    break
                lines.append(line)
            return "\n".join(lines) if lines else (str(default) if default else "")
        suffix = (
            f" [{', '.join(default) if isinstance(default, tuple) else default}]" if default else ""
        )
        raw = self.ask(f"  {label}{suffix}: ").strip()
        if not raw and default:
            return ", ".join(default) if isinstance(default, tuple) else str(default)
        return raw

    def read_file(self, typed: str) -> Upload:
        """A path typed in the terminal, read up to one byte past the size limit (the
        handler refuses it by its size); a path that cannot be read is a failed file."""
        path = Path(typed.strip().strip("'\"")).expanduser()
        try:
            size = path.stat().st_size
            with path.open("rb") as handle:
                content = handle.read(self.ctx.rules.attachment_max_bytes + 1)
        except OSError:
            return Upload(path.name or typed.strip(), b"", 0, failed=True)
        return Upload(path.name, content, size)

    @staticmethod
    def _pick(item: Input, part: str) -> str:
        part = part.strip()
        if part.isdigit() and 1 <= int(part) <= len(item.choices):
            return item.choices[int(part) - 1].value
        return part  # validated by the handler, which names the field if it is wrong

    @staticmethod
    def _default_labels(item: Input) -> str:
        wanted = item.value if isinstance(item.value, tuple) else (item.value,)
        return ", ".join(c.label for c in item.choices if c.value in wanted)


def choice_columns(labels: list[str], width: int = 100) -> str:
    """Numbered choices, one per line when few, in columns when many (45 municipalities
    fit on a screen)."""
    entries = [f"{number}. {label}" for number, label in enumerate(labels, 1)]
    if len(entries) <= 8:
        return "\n".join(f"    {entry}" for entry in entries)
    cell = max(display_width(entry) for entry in entries) + 2
    per_line = max(1, (width - 4) // cell)
    lines = []
    for start in range(0, len(entries), per_line):
        row = entries[start : start + per_line]
        lines.append("    " + "".join(e + " " * (cell - display_width(e)) for e in row).rstrip())
    return "\n".join(lines)
