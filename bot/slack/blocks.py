"""Block Kit from the platform-neutral reply model, built with slack_sdk's model classes.

Slack's limits are enforced here, in one place: 50 blocks in a message, 100 in a view,
3000 characters of section text, 2000 per field, 75 per button or option label, 24 per
modal title, 10 fields per section, 25 elements per actions block.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement  # not re-exported
from slack_sdk.models.views import View

from handlers.core.forms import FILE_TYPES
from handlers.core.reply import (
    Button,
    Buttons,
    Fields,
    Form,
    Input,
    ListView,
    Reply,
    Text,
)
from handlers.core.text_rules import LOOSE_UNDERSCORE, outside_urls, printable, printable_json

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
SECTION_TEXT, FIELD_TEXT, LABEL, TITLE, HEADER = 3000, 2000, 75, 24, 150
FIELDS_PER_SECTION, ELEMENTS_PER_ACTIONS, OPTIONS = 10, 25, 100
FILES = 10  # file_input's most; the handler holds the number per log (a setting)
FORM_CALLBACK = "dx_form"
STYLE_PREFIX = {"success": ":white_check_mark: ", "error": ":warning: "}


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, without splitting an escaped entity such as &amp;."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    entity = head.rfind("&")
    if entity != -1 and ";" not in head[entity:]:
        head = head[:entity]
    return head + "…"


# mrkdwn's formatting marks, shown as their full-width look-alikes: Slack has no escape
# for them.
MARKS = str.maketrans({"*": "\uff0a", "~": "\uff5e", "`": "\uff40"})
QUOTE = re.compile(r"^([ \t]*)&gt;", re.MULTILINE)
BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)


def escape(text: str) -> str:
    """Text as Slack shows it literally in mrkdwn: the one rule for every text the
    model carries (all of it plain), applied here, where text leaves for Slack.

    Why: a request description `<!channel> <@U…> <https://evil.example|ここ>` must not
    ping a channel, mention anyone or hide a link, and `*至急*` must not shout. So &, <
    and > become entities (Slack's documented rule: `<!here>`, `<@U…>`, `<#C…>` and
    `<url|label>` then show as typed), the formatting marks * ~ ` and word-edge _
    become full-width look-alikes, a leading > (a quote) too, and a bare @channel,
    @here or @everyone gets a full-width @. A web address keeps its marks (it would
    lead elsewhere without them) and has only &, < and > made entities. Escape first
    and cut after: escaping lengthens the text."""
    return QUOTE.sub("\\1\uff1e", outside_urls(text, _inert, _entities))


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inert(text: str) -> str:
    """Text that is not a web address: entities, marks and broadcast words made inert."""
    text = LOOSE_UNDERSCORE.sub("\uff3f", _entities(text).translate(MARKS))
    return BROADCAST.sub("\uff20", text)


def message_blocks(reply: Reply) -> list[dict[str, Any]]:
    return _limit(_blocks(reply), MESSAGE_BLOCKS)


def fallback_text(reply: Reply) -> str:
    """The message `text` (notifications, where blocks cannot be shown): mrkdwn that
    Slack parses for mentions and links like any other, so escaped like the blocks."""
    return cut(escape(printable(reply.plain_text())), SECTION_TEXT)


def _limit(blocks: list[Block], limit: int) -> list[dict[str, Any]]:
    if len(blocks) > limit:
        blocks = [*blocks[: limit - 1], ContextBlock(elements=[MarkdownTextObject(text="…")])]
    return [printable_json(block.to_dict()) for block in blocks]


def _blocks(reply: Reply) -> list[Block]:
    out: list[Block] = []
    for block in reply.blocks:
        if isinstance(block, Text):
            out.extend(_text(block))
        elif isinstance(block, Fields):
            out.extend(_fields(block))
        elif isinstance(block, Buttons):
            out.extend(_actions(block.buttons))
        elif isinstance(block, ListView):
            out.extend(_list(block))
        elif isinstance(block, Form):
            out.append(
                SectionBlock(text=MarkdownTextObject(text=cut(escape(block.title), SECTION_TEXT)))
            )
    return out


def _text(block: Text) -> list[Block]:
    if block.style == "heading":
        return [HeaderBlock(text=PlainTextObject(text=cut(block.text, HEADER)))]
    if block.style == "muted":
        return [
            ContextBlock(elements=[MarkdownTextObject(text=cut(escape(block.text), SECTION_TEXT))])
        ]
    prefix = STYLE_PREFIX.get(block.style, "")
    return [
        SectionBlock(
            text=MarkdownTextObject(text=prefix + cut(escape(block.text), SECTION_TEXT - 30))
        )
    ]


def _fields(block: Fields) -> list[Block]:
    texts = [
        MarkdownTextObject(text=cut(f"*{escape(f.label)}*\n{escape(f.value)}", FIELD_TEXT))
        for f in block.items
    ]
    return [
        SectionBlock(fields=texts[i : i + FIELDS_PER_SECTION])
        for i in range(0, len(texts), FIELDS_PER_SECTION)
    ]


def _button(button: Button) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=cut(button.label, LABEL)),
        action_id=button.action,
        value=button.value or "-",
        style=None if button.style == "default" else button.style,
    )


def _actions(buttons: tuple[Button, ...]) -> list[Block]:
    # Slack wants action ids unique within a block: a repeated one starts a new block.
    blocks: list[list[ButtonElement]] = [[]]
    for button in buttons:
        current = blocks[-1]
        if len(current) == ELEMENTS_PER_ACTIONS or any(
            e.action_id == button.action for e in current
        ):
            current = []
            blocks.append(current)
        current.append(_button(button))
    return [ActionsBlock(elements=elements) for elements in blocks if elements]


def _list(block: ListView) -> list[Block]:
    out: list[Block] = [HeaderBlock(text=PlainTextObject(text=cut(block.title, HEADER)))]
    if not block.items:
        out.append(ContextBlock(elements=[MarkdownTextObject(text=escape(block.empty_text))]))
    for item in block.items:
        lines = [f"*{escape(item.title)}*"]
        lines += [f"{escape(f.label)}: {escape(f.value)}" for f in item.fields]
        out.append(SectionBlock(text=MarkdownTextObject(text=cut("\n".join(lines), SECTION_TEXT))))
        out.extend(_actions(item.buttons))
    if block.pages > 1:
        out.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"{block.page} / {block.pages}")])
        )
    if block.more:
        out.extend(_actions((block.more,)))
    return out


# -- forms as modals ---------------------------------------------------------------------


def modal(
    form: Form,
    *,
    close: str,
    extra: dict[str, Any] | None = None,
    intro: Reply | None = None,
) -> dict[str, Any]:
    """A modal for a form. The form's action and typed context travel in private_metadata
    and are re-validated by the handler when the modal comes back."""
    metadata = json.dumps(
        {"a": form.action, "c": form.context, **(extra or {})}, ensure_ascii=False
    )
    blocks: list[Block] = []
    if intro is not None:
        blocks += _blocks(Reply(tuple(b for b in intro.blocks if not isinstance(b, Form))))
    if len(form.title) > TITLE:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{escape(form.title)}*")))
    blocks += [_input(item) for item in form.inputs]
    view = View(
        type="modal",
        callback_id=FORM_CALLBACK,
        title=PlainTextObject(text=cut(form.title, TITLE)),
        submit=PlainTextObject(text=cut(form.submit_label, TITLE)),
        close=PlainTextObject(text=cut(close, TITLE)),
        private_metadata=metadata[:3000],
        blocks=blocks[:VIEW_BLOCKS],
    )
    return printable_json(view.to_dict())


def home_view(reply: Reply) -> dict[str, Any]:
    return printable_json(View(type="home", blocks=_blocks(reply)[:VIEW_BLOCKS]).to_dict())


def result_modal(reply: Reply, *, title: str, close: str) -> dict[str, Any]:
    view = View(
        type="modal",
        title=PlainTextObject(text=cut(title, TITLE)),
        close=PlainTextObject(text=cut(close, TITLE)),
        blocks=_blocks(reply)[:VIEW_BLOCKS],
    )
    return printable_json(view.to_dict())


def _options(item: Input) -> list[Option]:
    return [Option(value=c.value, text=cut(c.label, LABEL)) for c in item.choices[:OPTIONS]]


def _input(item: Input) -> InputBlock:
    initial = item.value
    element: Any
    if item.kind in ("select", "multiselect"):
        options = _options(item)
        chosen = [
            o for o in options if o.value in (initial if isinstance(initial, tuple) else (initial,))
        ]
        if item.kind == "select":
            element = StaticSelectElement(
                action_id="value", options=options, initial_option=chosen[0] if chosen else None
            )
        else:
            element = StaticMultiSelectElement(
                action_id="value", options=options, initial_options=chosen or None
            )
    elif item.kind == "file":  # no initial value: a file is attached again
        element = FileInputElement(action_id="value", filetypes=list(FILE_TYPES), max_files=FILES)
    elif item.kind == "date":
        element = DatePickerElement(action_id="value", initial_date=initial or None)
    elif item.kind == "time":
        element = TimePickerElement(action_id="value", initial_time=initial or None)
    elif item.kind == "number":
        element = NumberInputElement(
            action_id="value",
            is_decimal_allowed=False,
            initial_value=str(initial) if initial else None,
        )
    else:
        text = ", ".join(initial) if isinstance(initial, tuple) else initial
        element = PlainTextInputElement(
            action_id="value",
            multiline=item.kind == "textarea",
            initial_value=text or None,
            max_length=item.max_length,
        )
    return InputBlock(
        block_id=item.name,
        label=PlainTextObject(text=cut(item.label, 2000)),
        element=element,
        optional=not item.required,
        hint=PlainTextObject(text=cut(item.hint, 2000)) if item.hint else None,
    )


def submitted_values(state: dict[str, Any]) -> dict[str, Any]:
    """view.state.values → {field: str | list[str]} as the handlers' forms expect."""
    values: dict[str, Any] = {}
    for name, actions in state.items():
        element = actions.get("value") or next(iter(actions.values()), {})
        if element.get("type") == "file_input" or "files" in element:
            values[name] = [dict(f) for f in element.get("files") or []]  # see bot.slack.files
        elif "selected_options" in element:
            values[name] = [o["value"] for o in element["selected_options"] or []]
        elif "selected_option" in element:
            option = element["selected_option"]
            values[name] = option["value"] if option else ""
        elif "selected_date" in element:
            values[name] = element["selected_date"] or ""
        elif "selected_time" in element:
            values[name] = element["selected_time"] or ""
        else:
            values[name] = element.get("value") or ""
    return values


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
