"""Rules about the record that storage itself holds (a session is held only once it
has begun, …): broken, they raise `Broken`, which carries a message key and its
parameters like a handler's refusal; the one error path (handlers.core.intents) words it for
the reader and audits it, so no writer can skip the rule and no handler rewords it."""

from __future__ import annotations

from typing import Any


class Broken(Exception):
    """A write the record's rules do not allow: `key` is the refusal's message key."""

    def __init__(
        self,
        key: str,
        *,
        target_type: str | None = None,
        target_id: int | str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(key)
        self.key = key
        self.target_type = target_type
        self.target_id = target_id
        self.params = params
