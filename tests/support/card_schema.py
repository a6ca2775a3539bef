"""Adaptive Card 1.5's JSON schema: every card the Teams tests see must validate against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "data" / "adaptive-card-1.5.schema.json").read_text("utf-8")
)


VALIDATOR = Draft6Validator(SCHEMA)


def valid(card: dict[str, Any]) -> dict[str, Any]:
    errors = sorted(VALIDATOR.iter_errors(card), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])
    assert card["version"] == "1.5"
    return card
