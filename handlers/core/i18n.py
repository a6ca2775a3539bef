"""Every user-facing text comes from here: Babel catalogs under templates/locale and
Jinja2 templates with the i18n extension. Code names messages by key, never by text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from io import BytesIO
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import templates
from handlers.core.clock import TOKYO

LANGUAGES = ("ja", "en")


@cache
def translations(language: str) -> Translations:
    """The compiled catalog of one language, built in memory from its .po file."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language: {language}")
    po_path = templates.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def t(language: str, key: str, /, **params: Any) -> str:
    """The message `key` in `language`, with %(name)s placeholders filled."""
    text = translations(language).gettext(key)
    return text % params if params else text


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates.DIR),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["day"] = lambda value: format_day(language, value)
    env.filters["when"] = lambda value: format_when(language, value)
    return env


def render(language: str, template: str, /, **context: Any) -> str:
    return environment(language).get_template(template).render(**context)


def format_day(language: str, value: date) -> str:
    weekday = t(language, "format.weekdays").split(",")[value.weekday()]
    return t(
        language,
        "format.day",
        year=value.year,
        month=value.month,
        day=value.day,
        weekday=weekday,
        iso=value.isoformat(),
    )


def format_when(language: str, value: datetime) -> str:
    local = value.astimezone(TOKYO)
    return f"{format_day(language, local.date())} {local:%H:%M}"


def join(language: str, items: Iterable[str]) -> str:
    """A list as the language writes one (、 in Japanese, commas in English)."""
    return t(language, "format.list_separator").join(items)
