"""No secrets in the logs: every log record, whichever library writes it, has the
credentials it may carry masked before any handler sees it — the tokens in private URL
paths (calendar feeds, sign-in links) in uvicorn's access log, bearer tokens, Slack
tokens, and the literal secrets `serve` was configured with (`install(secrets)`).

Masking happens when the record is made (a log record factory), not in one handler or
formatter: uvicorn and the SDKs bring their own, and the database stores only hashes of
those tokens, which a clear access log would defeat.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any

MASK = "***"
PATTERNS = (
    (re.compile(r"/calendar/[^/\s?#\"']+\.ics"), f"/calendar/{MASK}.ics"),
    (re.compile(r"/signin/[^/\s?#\"']+"), f"/signin/{MASK}"),
    (re.compile(r"([?&](?:token|code|key|secret|password)=)[^&\s#\"']+", re.I), rf"\g<1>{MASK}"),
    (re.compile(r"(\bbearer\s+)[\w.~+/=-]+", re.I), rf"\g<1>{MASK}"),
    (re.compile(r"\bxox[abepr]-[\w-]+"), f"xox-{MASK}"),
    (re.compile(r"\bxapp-[\w-]+"), f"xapp-{MASK}"),
)
SHORTEST_SECRET = 6
"""Shorter values (an empty password, "1") would mask ordinary words."""

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def clean(text: str) -> str:
    """The text with every known secret and token-shaped string masked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean_arg(value: Any) -> Any:
    """A %-argument masked, keeping its type unless it had something to mask (numbers
    stay numbers for %d; uvicorn's access formatter unpacks the tuple)."""
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    cleaned = clean(text)
    return value if cleaned == text else cleaned


def _mask(record: logging.LogRecord) -> None:
    if isinstance(record.msg, str):
        record.msg = clean(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_clean_arg(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _clean_arg(arg) for key, arg in record.args.items()}
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # formatters use exc_text when it is set: the traceback, masked
        record.exc_text = clean("".join(traceback.format_exception(*record.exc_info)).rstrip())


def install(secrets: Iterable[str | None] = ()) -> None:
    """Mask from now on, in every record of this process (idempotent; each call adds
    its secrets)."""
    global _installed
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= SHORTEST_SECRET)
        if _installed:
            return
        make = logging.getLogRecordFactory()

        def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            _mask(record)
            return record

        logging.setLogRecordFactory(masked)
        _installed = True
