"""The text rules: what typed text may contain, and what leaves the system.

Text people type arrives on three platforms and leaves through six formats
(Slack mrkdwn, Teams card markdown, HTML, Word/PDF/Excel, iCalendar, e-mail).
Every rule about characters lives here, once, so an input check and an output
escape can never disagree about what a "control character" is.

Input side (called by ``handlers.core.forms`` only):
- ``normalise_number_text``: full-width digits and separators become ASCII so
  ２０２６－０７－１５ and １０：００ read like 2026-07-15 and 10:00.
- ``forbidden_in_line``: the first character a single-line field refuses.
- ``clean_long_text``: long text with invisible/unsafe characters removed.

Output side (called by the renderers and document writers):
- ``printable``: text any XML 1.0 / Word / PDF / Excel writer accepts.
- ``printable_line``: the same on one line (e-mail headers, .ics URIs and parameters).
- ``printable_json``: every string of a platform payload made printable.

- ``outside_urls``: a markup escape applied around the web addresses in a text.

Each output format's own escape lives with its renderer, one function each:
``bot.slack.blocks.escape`` (mrkdwn, also the message ``text``),
``bot.teams.cards.literal`` (card markdown), ``bot.console.render.terminal``, Jinja's
autoescape (HTML documents) and icalendar's own escaping (.ics, after ``printable``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

# C0 controls an XML 1.0 document cannot hold (\t and \n are kept; \r,
# \x0b and \x0c become \n first: Word writes the last two for line and
# page breaks), plus DEL and the C1 range, which no document shows sensibly.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_SOFT_BREAKS = re.compile("\r\n|[\r\x0b\x0c]")


def printable(value: str) -> str:
    """Return ``value`` safe for XML 1.0, Word (.docx), PDF and Excel writers.

    Why: stored text predates the input rules (old rows may hold ``\\x0b``
    from Word's Shift+Enter, NUL or a lone surrogate), and one such character
    must never make the year's report die with a traceback. So every document
    writer passes each user-supplied value through here:
    - ``\\x0b`` (vertical tab, Word's line break), ``\\x0c`` (form feed,
      page break) and ``\\r``/``\\r\\n`` (pasted Windows text) become ``\\n``;
    - other C0 controls except ``\\t`` and ``\\n``, DEL, C1 controls,
      NUL, lone surrogates and the non-characters U+FFFE/U+FFFF are dropped.
    Everything else (Japanese, emoji, ZWJ sequences) is kept as typed.
    """
    if not value:
        return value
    return _XML_ILLEGAL.sub("", _SOFT_BREAKS.sub("\n", value))


def printable_line(value: str) -> str:
    """``printable`` on one line (line breaks made spaces): for what a format cannot
    break, such as an e-mail header, an .ics URI or a parameter value (CN=…). Why: a
    line break there is refused by the library or, worse, starts a new header."""
    return " ".join(printable(value).split("\n")) if value else value


# An underscore at a word's edge, which mrkdwn and card markdown read as italics; one
# inside a word (yamada_t@example.jp) formats nothing and stays.
LOOSE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")

# A web address in text. Its characters stop at white space and at what no address holds
# unencoded and a markup reads as syntax (<, >, [, ], {, }, *, `).
URL = re.compile(r"https?://[^\s<>\[\]{}*`]+")


def outside_urls(text: str, escape: Callable[[str], str], keep: Callable[[str], str] = str) -> str:
    """`escape` applied to the text around each web address, `keep` to the address.

    Why: a markup escape turns a word-edge _ (and * ~ `) into a full-width look-alike,
    and in an address that is another address: a calendar feed token such as
    `…/calendar/_x-_y.ics` became `…/calendar/＿x-＿y.ics`, a 404 for everyone who
    pasted it. An address keeps what it is made of; `keep` does only what the format
    must do to every character (Slack's &, < and >)."""
    parts: list[str] = []
    start = 0
    for match in URL.finditer(text):
        parts += (escape(text[start : match.start()]), keep(match.group()))
        start = match.end()
    parts.append(escape(text[start:]))
    return "".join(parts)


def printable_json(value: Any) -> Any:
    """Every string in a JSON-like payload (a Block Kit view, an Adaptive Card) made
    `printable`. Why: a platform payload is built from many strings (a form refilled
    with what was typed, an old row) and one lone surrogate makes it fail to encode;
    applied once where the payload leaves, it covers them all."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {key: printable_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable_json(item) for item in value]
    return value


# -- input: what a typed value may hold ---------------------------------------------------

# Characters that change how text around them is shown without being seen themselves:
# bidi embeddings, overrides and isolates (the "Trojan Source" characters), the marks,
# and the zero-width ones. ZWJ is allowed inside an emoji sequence only (👩‍👩‍👧).
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
ZWJ = "\u200d"
_TAGS = range(0xE0020, 0xE0080)  # emoji tag sequences (🏴󠁧󠁢󠁳󠁣󠁴󠁿) only
_BLACK_FLAG = "\U0001f3f4"

# Full-width digits and separators come through NFKC; these dash look-alikes (typed
# with a Japanese IME in a date) do not, so they are mapped by hand.
# (U+2010-2015 dashes, U+2212 minus, U+30FC the long-vowel mark, ｰ after NFKC)
_DASHES = str.maketrans(dict.fromkeys(map(chr, (*range(0x2010, 0x2016), 0x2212, 0x30FC)), "-"))


def normalise_number_text(text: str) -> str:
    """A date, time or number as typed, with full-width characters made ASCII.

    Why: Japanese users type ２０２６－０７－１５, ２０２６／７／１５ or １０：００ with the IME
    on; refusing them as unreadable is the form's fault, not theirs. NFKC turns
    full-width digits, slashes, colons and spaces into ASCII; IME dashes become "-"."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES).strip()


def forbidden_in_line(text: str) -> str | None:
    """The first character a single-line field (氏名, 所属, 職名…) refuses, as ``U+XXXX``.

    Why: a line break, NUL, lone surrogate, bidi override or zero-width character in a
    name is never meant: it breaks documents and PostgreSQL, or makes one name look like
    another. Refusing it with a field error tells the person what to fix."""
    for index, char in enumerate(text):
        if _unsafe(text, index, char, keep=""):
            return f"U+{ord(char):04X}"
    return None


def clean_long_text(text: str) -> str:
    """Long text (``textarea``) without the characters no reader can see or use.

    Why: long text is pasted from Word and mail, where ``\\x0b``, ``\\r``, zero-width
    spaces and bidi marks come along unseen; refusing them would make the person hunt for
    what they cannot see. Line breaks and tabs are kept (``\\r\\n``, ``\\x0b`` and
    ``\\x0c`` become ``\\n``); NUL and the rest are removed, so both databases store the
    same text."""
    text = _SOFT_BREAKS.sub("\n", text)
    return "".join(c for i, c in enumerate(text) if not _unsafe(text, i, c, keep="\n\t"))


def _unsafe(text: str, index: int, char: str, *, keep: str) -> bool:
    """Whether ``char`` at ``index`` is a control, surrogate, bidi or zero-width character
    (an emoji's own ZWJ and tag characters excepted; ``keep`` names controls allowed)."""
    if char in keep:
        return False
    if char in BIDI:
        return True
    if char == ZWJ:
        return not _joins_emoji(text, index)
    if char in ZERO_WIDTH:
        return True
    if ord(char) in _TAGS:
        return not _in_flag(text, index)
    category = unicodedata.category(char)
    return category in ("Cc", "Cs") or char in "\ufffe\uffff"


def _joins_emoji(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return (
        bool(before)
        and bool(after)
        and (unicodedata.category(before) in ("So", "Sk") or before == "\ufe0f")
        and unicodedata.category(after) == "So"
    )


def _in_flag(text: str, index: int) -> bool:
    start = index
    while start > 0 and ord(text[start - 1]) in _TAGS:
        start -= 1
    return start > 0 and text[start - 1] == _BLACK_FLAG


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV field that Excel never runs as a formula: text people typed (a decline
    reason, a cancel reason) starting with = + - @ gets a leading apostrophe, the usual
    guard against formula injection; numbers and dates pass as they are."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def as_text_cells(cells: Iterable[Any]) -> None:
    """Keep typed text in an openpyxl row as text: openpyxl turns a string starting with
    = into a formula, which Excel would run when the prefecture opens the file."""
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type = "s"
