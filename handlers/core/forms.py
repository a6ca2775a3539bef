"""Forms declared once: the same spec renders the form and validates what comes back.

Labels, hints and choice labels are catalog keys (`field.<name>`, `hint.<name>`,
`choice.<name>.<value>`); errors name the field so the reader knows what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from handlers.core import business_days, text_rules
from handlers.core.actor import Actor
from handlers.core.context import Context, Rules
from handlers.core.errors import Invalid, Refused
from handlers.core.i18n import format_day, t
from handlers.core.reply import Choice, Form, Input, InputKind, Upload
from storage import attachments

MAX_DATES = 5
DATE_PATTERN = re.compile(r"^(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?$")
TIME_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})$")
SPLIT = re.compile(r"[\s,、，]+")
FILE_TYPES = tuple(sorted(attachments.TYPES))
"""The file extensions a file field accepts (checked on the way in, `_file`; a platform's
file picker offers only these)."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: InputKind = "text"
    required: bool = True
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    future_only: bool = False
    business_day: bool = False
    hint: bool = False


@dataclass(frozen=True)
class FormSpec:
    action: str
    title: str
    fields: tuple[FieldSpec, ...]
    submit: str = "button.submit"


Choices = Mapping[str, Sequence[Choice]]


def build(
    spec: FormSpec,
    language: str,
    *,
    values: Mapping[str, Any] | None = None,
    choices: Choices | None = None,
    context: str = "",
    title_params: Mapping[str, Any] | None = None,
) -> Form:
    values = values or {}
    inputs = tuple(
        Input(
            name=f.name,
            label=t(language, f"field.{f.name}"),
            kind=f.kind,
            required=f.required,
            choices=tuple(_choices(f, language, choices)),
            value=_initial(values.get(f.name)),
            hint=t(language, f"hint.{f.name}") if f.hint else None,
            max_length=f.max_length,
        )
        for f in spec.fields
    )
    return Form(
        action=spec.action,
        title=t(language, spec.title, **(title_params or {})),
        inputs=inputs,
        submit_label=t(language, spec.submit),
        context=context,
    )


def validate(
    spec: FormSpec,
    language: str,
    values: Mapping[str, Any],
    *,
    today: date,
    rules: Rules,
    choices: Choices | None = None,
    context: str = "",
    title_params: Mapping[str, Any] | None = None,
    shown_choices: Choices | None = None,
) -> dict[str, Any]:
    """Clean values by field name, or `Invalid` with one message per bad field.

    `shown_choices` is what the form offers when it comes back with its errors, where
    that is narrower than what validation accepts."""
    clean, errors = _validated(spec, language, values, today, rules, choices)
    if errors:
        form = build(
            spec,
            language,
            choices=shown_choices or choices,
            context=context,
            title_params=title_params,
        ).with_errors(dict(values), errors)
        raise Invalid(errors, form)
    return clean


def check(
    ctx: Context, actor: Actor, spec: FormSpec, values: Mapping[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """`validate` in the actor's language, against today's date and the contract rules."""
    return validate(
        spec, actor.language, values, today=ctx.clock.now().date(), rules=ctx.rules, **kwargs
    )


class Submission:
    """One form submission checked as a whole, so the person fixes everything at once
    and retypes nothing: the spec's own checks, the handler's checks (`fail`) and the
    refusals of the write itself (`refusals`) all come back as one `Invalid` — the same
    form, refilled with what was typed, every error next to its field.

    Usage (see handlers.scheduling.booking.book)::

        form = forms.Submission(ctx, actor, BOOK, values, choices=choices)
        if form.has("date", "start"):   # checks that need clean values
            ...  form.fail("start", "error.office_hours", ...)
        clean = form.done()             # Invalid with every error so far
        with form.refusals():           # Refused(field=…) → Invalid with this form
            reserve(...)

    Errors are keyed by the spec's field names only (Slack accepts errors on the
    form's own inputs only); a refusal about something the form has no field for goes
    on `fallback` (a move form shows a consultant's clash on its date), or, with no
    fallback, stays a refusal."""

    def __init__(
        self,
        ctx: Context,
        actor: Actor,
        spec: FormSpec,
        values: Mapping[str, Any],
        *,
        choices: Choices | None = None,
        shown_choices: Choices | None = None,
        context: str = "",
        title_params: Mapping[str, Any] | None = None,
        fallback: str | None = None,
    ) -> None:
        self.spec = spec
        self.language = actor.language
        self.values = dict(values)
        self.names = tuple(f.name for f in spec.fields)
        assert fallback is None or fallback in self.names, fallback
        self.fallback = fallback
        self._shown = shown_choices or choices
        self._context = context
        self._title_params = title_params
        self.clean, self.errors = _validated(
            spec, self.language, values, ctx.clock.now().date(), ctx.rules, choices
        )

    def has(self, *names: str) -> bool:
        """Whether these fields came in clean (and no check has failed them since)."""
        return all(name in self.clean and name not in self.errors for name in names)

    def fail(self, name: str, key: str, **params: Any) -> None:
        """Note an error on the field `name` (its first error is the one shown)."""
        assert name in self.names, name
        label = t(self.language, f"field.{name}")
        self.errors.setdefault(name, t(self.language, key, field=label, **params))

    def done(self) -> dict[str, Any]:
        """The clean values, or `Invalid` with every error noted so far."""
        if self.errors:
            raise self.invalid()
        return self.clean

    def invalid(self, refusal: Refused | None = None) -> Invalid:
        form = build(
            self.spec,
            self.language,
            choices=self._shown,
            context=self._context,
            title_params=self._title_params,
        ).with_errors(self.values, self.errors)
        return Invalid(dict(self.errors), form, refusal=refusal)

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """Inside, a `Refused` about a field becomes `Invalid` with this form: its
        message (and those of its `also`) next to that field, the refusal itself kept for
        the audit. A refusal about no field (not allowed, already decided…) passes on."""
        try:
            yield
        except Refused as refusal:
            placed = False
            for each in (refusal, *refusal.also):
                name = each.field if each.field in self.names else self.fallback
                if each.field is None or name is None:
                    continue
                message = each.text(self.language)
                self.errors[name] = (
                    f"{self.errors[name]} {message}" if name in self.errors else message
                )
                placed = True
            if not placed:
                raise
            raise self.invalid(refusal) from refusal


def _validated(
    spec: FormSpec,
    language: str,
    values: Mapping[str, Any],
    today: date,
    rules: Rules,
    choices: Choices | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(clean values of the good fields, a message per bad field)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in spec.fields:
        label = t(language, f"field.{field.name}")
        try:
            clean[field.name] = _clean(
                field, values.get(field.name), language, today, rules, choices
            )
        except _FieldError as error:
            errors[field.name] = t(language, error.key, field=label, **error.params)
    return clean, errors


class _FieldError(Exception):
    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def _choices(field: FieldSpec, language: str, dynamic: Choices | None) -> list[Choice]:
    if dynamic and field.name in dynamic:
        return list(dynamic[field.name])
    return [Choice(v, t(language, f"choice.{field.name}.{v}")) for v in field.choices]


def _initial(value: Any) -> str | tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value).strip()
    return str(value).strip()


def _items(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part for part in SPLIT.split(str(value).strip()) if part]


def _clean(
    field: FieldSpec,
    raw: Any,
    language: str,
    today: date,
    rules: Rules,
    dynamic: Choices | None,
) -> Any:
    if field.kind in ("multiselect", "dates"):
        items = _items(raw)
        if field.kind == "dates":
            items = [text_rules.normalise_number_text(item) for item in items]
        if not items:
            if field.required:
                raise _FieldError("error.required")
            return []
        if field.kind == "dates":
            if len(items) > MAX_DATES:
                raise _FieldError("error.too_many", maximum=MAX_DATES)
            days = [_date(field, item, language, today, rules) for item in items]
            return sorted(dict.fromkeys(days))
        return [_choice(field, item, language, dynamic) for item in dict.fromkeys(items)]

    if field.kind == "file":
        return _files(raw, rules)
    text = _edge(field, _text(raw))
    if not text:
        if field.required:
            raise _FieldError("error.required")
        return None
    if field.max_length is not None and len(text) > field.max_length:
        raise _FieldError("error.too_long", maximum=field.max_length, length=len(text))
    if field.kind == "select":
        return _choice(field, text, language, dynamic)
    if field.kind == "date":
        return _date(field, text, language, today, rules)
    if field.kind == "time":
        return _time(text)
    if field.kind == "number":
        return _number(field, text)
    return text


def _edge(field: FieldSpec, text: str) -> str:
    """The typed text as the field takes it (see handlers.core.text_rules): full-width dates,
    times and numbers made ASCII; a single-line field refuses invisible and control
    characters; long text has them removed (NUL too, so both databases store the same)."""
    if field.kind in ("date", "time", "number"):
        return text_rules.normalise_number_text(text)
    if field.kind == "textarea":
        return text_rules.clean_long_text(text).strip()
    if field.kind == "text" and (char := text_rules.forbidden_in_line(text)):
        raise _FieldError("error.bad_character", char=char)
    return text


def _files(raw: Any, rules: Rules) -> list[attachments.NewFile | Upload]:
    """The attached files, checked: how many (rules.attachment_max_files), each one's
    size (rules.attachment_max_bytes) and type (storage.attachments.sniff). Anything
    but an `Upload` (a name typed where a file was expected) is a file not attached. A
    deferred upload is checked by its name and declared size and comes back as it is: its
    bytes are checked when they arrive (`file_errors`)."""
    items = list(raw) if isinstance(raw, list | tuple) else [raw] if raw else []
    if len(items) > rules.attachment_max_files:
        raise _FieldError("error.too_many_files", maximum=rules.attachment_max_files)
    return [_file(item, rules) for item in items]


def _file(item: Any, rules: Rules) -> attachments.NewFile | Upload:
    if not isinstance(item, Upload) or item.failed:
        name = item.name if isinstance(item, Upload) else str(item)
        raise _FieldError("error.file_unreadable", name=name[:60])
    name = attachments.safe_name(item.name)
    if max(item.size, len(item.content)) > rules.attachment_max_bytes:
        raise _FieldError(
            "error.file_too_big",
            name=name[:60],
            size=_size(max(item.size, len(item.content))),
            maximum=_size(rules.attachment_max_bytes),
        )
    if item.deferred:
        if item.size <= 0:
            raise _FieldError("error.file_empty", name=name[:60])
        if attachments.extension(name) not in attachments.TYPES:
            raise _FieldError("error.file_type", name=name[:60])
        return item
    if not item.content:
        raise _FieldError("error.file_empty", name=name[:60])
    media_type = attachments.sniff(name, item.content)
    if media_type is None:
        raise _FieldError("error.file_type", name=name[:60])
    return attachments.NewFile(name, media_type, item.content)


def file_errors(
    language: str, uploads: Sequence[Upload], rules: Rules, *, room: int
) -> tuple[list[attachments.NewFile], list[str]]:
    """Files attached after the form (handlers.fieldwork.logs.attach_files), each checked alone by
    the form's own rules: the good ones (at most `room` of them, the files the record may
    still take) and a message for each one refused, worded as next to the form's field."""
    label = t(language, "field.files")
    good: list[attachments.NewFile] = []
    errors: list[str] = []
    for upload in uploads:
        try:
            if len(good) >= room:
                raise _FieldError("error.too_many_files", maximum=rules.attachment_max_files)
            checked = _file(upload, rules)
        except _FieldError as error:
            errors.append(t(language, error.key, field=label, **error.params))
            continue
        assert isinstance(checked, attachments.NewFile)  # bytes in hand: nothing deferred
        good.append(checked)
    return good, errors


def _size(size: int) -> str:
    """10MB, 10.5MB, 512KB: a limit below a megabyte must not read as 0MB."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + unit
    return f"{size}B"


def _choice(field: FieldSpec, text: str, language: str, dynamic: Choices | None) -> str:
    for choice in _choices(field, language, dynamic):
        if text in (choice.value, choice.label):
            return choice.value
    raise _FieldError("error.bad_choice", value=text[:40])


def _date(field: FieldSpec, text: str, language: str, today: date, rules: Rules) -> date:
    match = DATE_PATTERN.match(text.strip())
    try:
        if not match:
            raise ValueError(text)
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise _FieldError("error.bad_date", value=text[:40]) from None
    shown = format_day(language, day)
    if field.future_only and day < today:
        raise _FieldError("error.date_past", value=shown)
    if not business_days.in_contract(rules, day):
        raise _FieldError(
            "error.date_outside_contract",
            value=shown,
            start=format_day(language, rules.contract_start),
            end=format_day(language, rules.contract_end),
        )
    if field.business_day and (reason := business_days.closed_reason(day)):
        raise _FieldError("error.date_closed", value=shown, reason=t(language, reason))
    return day


def _time(text: str) -> time:
    match = TIME_PATTERN.match(text)
    try:
        if not match:
            raise ValueError(text)
        return time(int(match[1]), int(match[2]))
    except ValueError:
        raise _FieldError("error.bad_time", value=text[:20]) from None


def _number(field: FieldSpec, text: str) -> int:
    try:
        number = int(text.replace(",", ""))  # 1,000 as written; NFKC made １，０００ that
    except ValueError:
        raise _FieldError("error.bad_number", value=text[:20]) from None
    if (field.minimum is not None and number < field.minimum) or (
        field.maximum is not None and number > field.maximum
    ):
        raise _FieldError("error.out_of_range", minimum=field.minimum, maximum=field.maximum)
    return number
