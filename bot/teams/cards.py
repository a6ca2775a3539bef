"""Adaptive Cards 1.5 from the platform-neutral reply model (what Teams renders).

Buttons and form submits are `Action.Execute` (universal actions): Teams sends them back
as an `adaptiveCard/action` invoke whose response is the refreshed card, so a decision
shows in place. Every action carries its intent in `data` — `{"action", "value"}` for a
button, `{"action", "context"}` for a form — and Teams merges the inputs into that same
object, so an input may not use those names (checked here). Server-side field errors
are shown as red text under the field (and as the input's `errorMessage`, which Teams
shows for client-side required checks). A file is named on the card; the adapter sends
the file itself through Teams' file-consent flow. A file field has no input: the card
says to send the files in the chat (bot/teams/files.py).

A card shared by many (the approval card in a channel) can carry a `refresh` action with
the Teams user ids it runs for: their Teams fetches their own view of the card each time
it is shown (universal actions' user-specific views, at most 60 users).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from handlers.core.reply import (
    Button,
    Buttons,
    Fields,
    File,
    Form,
    Input,
    ListView,
    Reply,
    Text,
)
from handlers.core.text_rules import LOOSE_UNDERSCORE, outside_urls, printable, printable_json

VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
RESERVED = frozenset({"action", "value", "context"})
REFRESH_USERS = 60  # Teams runs a card's refresh for at most this many users
TEXT_LIMIT = 4000  # keep one card well under Teams' ~28 KB message limit
STYLES = {"primary": "positive", "danger": "destructive"}
Json = dict[str, Any]

# Card markdown has no escape every Teams client honours, so the marks become their
# full-width look-alikes: the text reads the same and formats nothing.
MARKS = str.maketrans({"*": "\uff0a", "~": "\uff5e", "`": "\uff40", "[": "\uff3b", "]": "\uff3d"})
LINE_MARK = re.compile(r"^([ \t]*)(?:([-+#>])|(\d+)\.)(?=[ \t]|$)", re.MULTILINE)
FULL_WIDTH = {"-": "\uff0d", "+": "\uff0b", "#": "\uff03", ">": "\uff1e"}


def card(reply: Reply) -> Json:
    """The whole reply as one card; a form's submit button is the card's own action."""
    body: list[Json] = []
    actions: list[Json] = []
    for block in reply.blocks:
        if isinstance(block, Text):
            body.append(_text(block))
        elif isinstance(block, Fields):
            body.append(_facts(block.items))
        elif isinstance(block, Buttons):
            body.append(_action_set(block.buttons))
        elif isinstance(block, ListView):
            body.extend(_list(block))
        elif isinstance(block, Form):
            body.extend(_form(block))
            actions.append(_submit(block))
        elif isinstance(block, File):
            body.append(_text_block(f"📎 {block.name}", isSubtle=True))
    out: Json = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        out["actions"] = actions
    return printable_json(out)


def with_refresh(card: Json, action: Button, user_ids: list[str]) -> Json:
    """The card, refreshed automatically for these users (an empty list: on request)."""
    refresh: Json = {"action": {k: v for k, v in button(action).items() if k != "title"}}
    if user_ids:
        refresh["userIds"] = user_ids[:REFRESH_USERS]
    return {**card, "refresh": refresh}


def fallback_text(reply: Reply) -> str:
    """The notification preview and invoke messages: plain text, made printable."""
    return _cut(printable(reply.plain_text()))


def _cut(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def literal(text: str) -> str:
    """Text a card's markdown shows as typed: the one rule for every text a card carries
    (the model's text is all plain; the card's own emphasis is weight/size/colour).

    Why: TextBlocks and facts render markdown, so a request description
    `[ここ](https://evil.example) **至急**` would be a live link and bold. Brackets, *, ~,
    ` and word-edge _ become full-width look-alikes; so does a list, heading or quote
    mark at the start of a line (-, +, #, >, "1."); `{{` (the card's DATE()/TIME()
    functions) is broken up the same way. A web address is kept as it is: its marks are
    part of where it leads."""
    return LINE_MARK.sub(_line_mark, outside_urls(text, _inert))


def _inert(text: str) -> str:
    return LOOSE_UNDERSCORE.sub("\uff3f", text.translate(MARKS)).replace("{{", "\uff5b\uff5b")


def _line_mark(match: re.Match[str]) -> str:
    indent, mark, number = match.groups()
    return indent + (FULL_WIDTH[mark] if mark else number + "\uff0e")


def _text_block(text: str, **options: Any) -> Json:
    return {"type": "TextBlock", "text": _cut(literal(text)), "wrap": True, **options}


def _text(block: Text) -> Json:
    if block.style == "heading":
        return _text_block(block.text, size="Large", weight="Bolder")
    if block.style == "success":
        return _text_block(block.text, color="Good")
    if block.style == "error":
        return _text_block(block.text, color="Attention")
    if block.style == "muted":
        return _text_block(block.text, isSubtle=True, size="Small")
    return _text_block(block.text)


def _facts(items: tuple[Any, ...]) -> Json:
    return {
        "type": "FactSet",
        "facts": [
            {"title": _cut(literal(f.label), 200), "value": _cut(literal(f.value))} for f in items
        ],
    }


def button(b: Button) -> Json:
    out: Json = {
        "type": "Action.Execute",
        "title": _cut(b.label, 100),
        "verb": b.action,
        "data": {"action": b.action, "value": b.value},
    }
    if b.style in STYLES:
        out["style"] = STYLES[b.style]
    return out


def _action_set(buttons: tuple[Button, ...]) -> Json:
    return {"type": "ActionSet", "actions": [button(b) for b in buttons]}


def _list(block: ListView) -> list[Json]:
    out: list[Json] = [_text_block(block.title, size="Medium", weight="Bolder")]
    if not block.items:
        out.append(_text_block(block.empty_text, isSubtle=True))
    for item in block.items:
        items: list[Json] = [_text_block(item.title, weight="Bolder")]
        if item.fields:
            items.append(_facts(item.fields))
        if item.buttons:
            items.append(_action_set(item.buttons))
        out.append({"type": "Container", "separator": True, "items": items})
    if block.pages > 1:
        out.append(_text_block(f"{block.page} / {block.pages}", isSubtle=True, size="Small"))
    if block.more:
        out.append(_action_set((block.more,)))
    return out


def _form(form: Form) -> list[Json]:
    out: list[Json] = [_text_block(form.title, size="Medium", weight="Bolder")]
    for item in form.inputs:
        if item.name in RESERVED:
            raise ValueError(f"input name {item.name!r} collides with the action data")
        out.append(_input(item))
        if item.hint:
            out.append(_text_block(item.hint, isSubtle=True, size="Small", spacing="None"))
        if item.error:
            out.append(_text_block(item.error, color="Attention", spacing="None"))
    return out


def _submit(form: Form) -> Json:
    return {
        "type": "Action.Execute",
        "title": _cut(form.submit_label, 100),
        "verb": form.action,
        "style": "positive",
        "data": {"action": form.action, "context": form.context},
    }


def _input(item: Input) -> Json:
    if item.kind == "file":  # no file input on a card: the label, then how (files.by_chat)
        return _text_block(item.label, weight="Bolder")
    value = item.value
    text = ",".join(value) if isinstance(value, tuple) else value
    out: Json = {"id": item.name, "label": _cut(item.label, 200), "isRequired": item.required}
    if item.required or item.error:
        out["errorMessage"] = _cut(item.error or item.label, 500)
    if item.kind in ("select", "multiselect"):
        out.update(
            type="Input.ChoiceSet",
            choices=[{"title": _cut(c.label, 200), "value": c.value} for c in item.choices],
            style="compact",
            isMultiSelect=item.kind == "multiselect",
        )
    elif item.kind == "date":
        out["type"] = "Input.Date"
    elif item.kind == "time":
        out["type"] = "Input.Time"
    elif item.kind == "number":
        out["type"] = "Input.Number"
        if text:
            with contextlib.suppress(ValueError):
                out["value"] = float(text) if "." in text else int(text)
        return out
    else:
        out.update(type="Input.Text", isMultiline=item.kind == "textarea")
        if item.max_length:
            out["maxLength"] = item.max_length
        if item.kind == "dates":
            out["placeholder"] = "2026-07-01, 2026-07-08"
    if text:
        out["value"] = text
    return out


def submitted_values(data: dict[str, Any]) -> dict[str, Any]:
    """The invoke's merged data → {field: value} as the handlers' forms expect (the
    action's own keys removed). Multi-selects arrive comma-joined; the forms split them."""
    return {k: v for k, v in data.items() if k not in RESERVED}
