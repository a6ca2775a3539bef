"""The platform-neutral reply model every adapter renders.

Small on purpose: text, labelled fields, buttons, forms with per-field errors, a
paged list and files (calendar invites). A platform that needs more extends this model,
never a handler.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

TextStyle = Literal["plain", "heading", "success", "error", "muted"]
ButtonStyle = Literal["default", "primary", "danger"]
InputKind = Literal[
    "text", "textarea", "select", "multiselect", "date", "dates", "time", "number", "file"
]


@dataclass(frozen=True)
class Text:
    text: str
    style: TextStyle = "plain"


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Fields:
    items: tuple[Field, ...]


@dataclass(frozen=True)
class Button:
    action: str
    label: str
    value: str = ""
    style: ButtonStyle = "default"


@dataclass(frozen=True)
class Buttons:
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    kind: InputKind = "text"
    required: bool = True
    choices: tuple[Choice, ...] = ()
    value: str | tuple[str, ...] | None = None
    hint: str | None = None
    max_length: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Form:
    action: str
    title: str
    inputs: tuple[Input, ...]
    submit_label: str
    context: str = ""

    def with_errors(self, values: dict[str, Any], errors: dict[str, str]) -> Form:
        """The same form, refilled with what was typed and each field's error."""
        inputs = tuple(
            replace(
                i,
                # a file cannot be put back in a file field: it is attached again
                value=None if i.kind == "file" else _as_value(values.get(i.name, i.value)),
                error=errors.get(i.name),
            )
            for i in self.inputs
        )
        return replace(self, inputs=inputs)


@dataclass(frozen=True)
class ListItem:
    title: str
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class ListView:
    title: str
    items: tuple[ListItem, ...]
    page: int = 1
    pages: int = 1
    empty_text: str = ""
    more: Button | None = None


@dataclass(frozen=True)
class File:
    """A file sent with the message (a calendar invite): the adapter delivers it as an
    upload beside the text, so it takes no part in `plain_text`."""

    name: str
    content: bytes
    mime: str


@dataclass(frozen=True)
class Upload:
    """A file a person attached to a form (a `file` input), as the adapter fetched it:
    Slack's files.info + url_private, a Teams attachment's downloadUrl, a path typed in
    the terminal. `size` is the size the platform declared (or read); an adapter stops
    reading past the limit, so `content` may be shorter. `failed`: it could not be
    fetched at all. The handler checks type and size (handlers.core.forms).

    `deferred`: only described so far (name and declared size; no bytes): the adapter
    downloads it once the form is answered, when a download could outlast the platform's
    deadline for that answer (Slack's 3-second ack), and attaches it to what the form
    filed (handlers.fieldwork.logs.attach_files)."""

    name: str
    content: bytes
    size: int
    failed: bool = False
    deferred: bool = False


Block = Text | Fields | Buttons | Form | ListView | File


@dataclass(frozen=True)
class Reply:
    blocks: tuple[Block, ...]
    ok: bool = True
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def joined(cls, *parts: Reply) -> Reply:
        """Several replies shown as one (a home screen, a status summary). Refused parts
        are left out, unless every part was refused: then the refusals are the answer."""
        shown = [part for part in parts if part.ok] or list(parts)
        return cls(
            tuple(block for part in shown for block in part.blocks),
            ok=any(part.ok for part in parts),
        )

    @property
    def form(self) -> Form | None:
        return next((b for b in self.blocks if isinstance(b, Form)), None)

    @property
    def files(self) -> tuple[File, ...]:
        return tuple(b for b in self.blocks if isinstance(b, File))

    def plain_text(self) -> str:
        """Every text a person would read, for logs and tests."""
        parts: list[str] = []
        for block in self.blocks:
            if isinstance(block, Text):
                parts.append(block.text)
            elif isinstance(block, Fields):
                parts.extend(f"{f.label}: {f.value}" for f in block.items)
            elif isinstance(block, Buttons):
                parts.extend(b.label for b in block.buttons)
            elif isinstance(block, Form):
                parts.append(block.title)
                parts.extend(f"{i.label}: {i.error}" for i in block.inputs if i.error)
            elif isinstance(block, ListView):
                parts.append(block.title)
                for item in block.items:
                    parts.append(item.title)
                    parts.extend(f"{f.label}: {f.value}" for f in item.fields)
                if not block.items:
                    parts.append(block.empty_text)
        return "\n".join(parts)


def _as_value(value: Any) -> str | tuple[str, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return str(value)
