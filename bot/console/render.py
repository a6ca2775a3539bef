"""Renders replies as terminal text: buttons become numbered choices."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from handlers.core.i18n import t
from handlers.core.reply import Button, Buttons, Fields, File, Form, ListView, Reply, Text
from handlers.core.text_rules import BIDI, printable

STYLE = {"heading": "■ ", "success": "✔ ", "error": "✖ ", "muted": "  ", "plain": ""}
NO_BIDI = dict.fromkeys(map(ord, BIDI))


@dataclass
class Rendered:
    text: str
    options: list[Button] = field(default_factory=list)
    form: Form | None = None


def render(reply: Reply, language: str) -> Rendered:
    lines: list[str] = []
    options: list[Button] = []

    def offer(button: Button, indent: str = "  ") -> None:
        options.append(button)
        lines.append(f"{indent}[{len(options)}] {button.label}")

    for block in reply.blocks:
        if isinstance(block, Text):
            prefix = STYLE[block.style]
            lines.extend(
                prefix + line if i == 0 else " " * len(prefix) + line
                for i, line in enumerate(block.text.splitlines() or [""])
            )
        elif isinstance(block, Fields):
            width = max((display_width(f.label) for f in block.items), default=0)
            for item in block.items:
                pad = " " * (width - display_width(item.label))
                value = item.value.replace("\n", "\n" + " " * (width + 4))
                lines.append(f"  {item.label}{pad}  {value}")
        elif isinstance(block, Buttons):
            for button in block.buttons:
                offer(button)
        elif isinstance(block, ListView):
            lines.append(f"■ {block.title}")
            if not block.items:
                lines.append(f"  {block.empty_text}")
            for item in block.items:
                lines.append(f"  {t(language, 'format.bullet')}{item.title}")
                lines.extend(f"      {f.label}: {f.value}" for f in item.fields)
                for button in item.buttons:
                    offer(button, "      ")
            if block.pages > 1:
                lines.append("  " + t(language, "console.page", page=block.page, pages=block.pages))
            if block.more:
                offer(block.more)
        elif isinstance(block, File):
            # A terminal cannot receive a file: name it; the feed URL serves calendars.
            lines.append(t(language, "file.attached", name=block.name, size=len(block.content)))
    return Rendered(terminal("\n".join(lines)), options, reply.form)


def terminal(text: str) -> str:
    """Text a terminal shows as it is: the one rule for what leaves for a terminal.

    Why: a stored ESC (\\x1b) would let typed text drive the terminal (colours, a
    cleared screen, a hidden hyperlink), a \\r overwrite the line shown, and a bidi
    override reorder it. `printable` drops the controls (\\r becomes a line break);
    bidi controls are dropped here."""
    return printable(text).translate(NO_BIDI)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table aligned for a terminal, wide characters included."""
    widths = [max(display_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [cell + " " * (widths[i] - display_width(cell)) for i, cell in enumerate(row)]
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def display_width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
