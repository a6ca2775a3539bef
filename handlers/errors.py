"""The ways an intent can refuse. Each carries a message key, never text, so the
refusal is worded in the reader's language by the one error path in handlers.core."""

from __future__ import annotations

from typing import Any

from handlers.reply import Form


class Key(str):
    """A parameter that is itself a message key, worded in the reader's language too."""


class Refused(Exception):
    """A known, expected refusal: not allowed, wrong state, already decided…"""

    def __init__(
        self,
        key: str,
        *,
        target_type: str | None = None,
        target_id: int | str | None = None,
        audit: bool = True,
        **params: Any,
    ) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
        self.target_type = target_type
        self.target_id = target_id
        self.audit = audit


class Invalid(Exception):
    """Bad input: a message per field, and the form to show again with them."""

    def __init__(self, errors: dict[str, str], form: Form | None = None) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.form = form
