"""The ways an intent can refuse. Each carries a message key, never text, so the
refusal is worded in the reader's language by the one error path in handlers.core.intents."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from handlers.core.i18n import t
from handlers.core.reply import Button, Form


class Key(str):
    """A parameter that is itself a message key, worded in the reader's language too."""


class Refused(Exception):
    """A known, expected refusal: not allowed, wrong state, already decided…

    `field` names what the refusal is about when that is something a form asks for
    (the date, the consultants): a form submission shows it next to that field, with
    what was typed kept (`forms.Submission.refusals`); elsewhere it is shown as is.
    `also` carries further refusals found by the same check, so a form can show all
    of them at once. `buttons` offer the way out (e.g. moving what is in the way)."""

    def __init__(
        self,
        key: str,
        *,
        target_type: str | None = None,
        target_id: int | str | None = None,
        audit: bool = True,
        field: str | None = None,
        also: tuple[Refused, ...] = (),
        buttons: tuple[Button, ...] = (),
        **params: Any,
    ) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
        self.target_type = target_type
        self.target_id = target_id
        self.audit = audit
        self.field = field
        self.also = also
        self.buttons = buttons

    def text(self, language: str) -> str:
        """The refusal in words; parameters that are keys (`Key`) worded too."""
        params = {
            name: t(language, value) if isinstance(value, Key) else value
            for name, value in self.params.items()
        }
        return t(language, self.key, **params)


class Invalid(Exception):
    """Bad input: a message per field, and the form to show again with them.

    `refusal` is set when a `Refused` about a field was turned into this (the form kept
    instead of thrown away): the refusal is still audited."""

    def __init__(
        self, errors: dict[str, str], form: Form | None = None, *, refusal: Refused | None = None
    ) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.form = form
        self.refusal = refusal


def logged(
    log: logging.Logger, message: str, *args: object, error: BaseException | None = None
) -> str:
    """Log `error` (by default the exception being handled) with its traceback and a new
    reference number, six hex digits, and return the number: the person is shown it
    (「問題が発生しました(参照番号 …)」), so a report quoting it finds the log line. Used by
    the one error path here and by the process's edges (bot.runtime.edge)."""
    reference = secrets.token_hex(3).upper()
    log.error(f"{message} (ref %s)", *args, reference, exc_info=error or True)
    return reference
