"""Typed, versioned context carried on buttons and forms (button value / private
metadata). Parsed and re-authorised on the way back in, never trusted as is."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from handlers.core.errors import Refused

MAX_PAYLOAD = 500


class Ref(BaseModel):
    """Which record an action is about, and which page of a list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = Field(default=1, ge=1, le=1)
    id: int | None = Field(default=None, ge=1)
    page: int = Field(default=1, ge=1, le=10_000)
    kind: str | None = Field(default=None, max_length=30)
    at: AwareDatetime | None = None  # a proposed time (slot buttons)


def encode(
    *, id: int | None = None, page: int = 1, kind: str | None = None, at: datetime | None = None
) -> str:
    return Ref(id=id, page=page, kind=kind, at=at).model_dump_json(exclude_defaults=True)


def decode(value: str | None) -> Ref:
    """The payload, or a refusal that is audited like any other bad input."""
    if not value:
        return Ref()
    if len(value) > MAX_PAYLOAD:
        raise Refused("refusal.bad_payload")
    try:
        return Ref.model_validate_json(value)
    except ValidationError:
        raise Refused("refusal.bad_payload") from None


def require_id(value: str | None) -> int:
    ref = decode(value)
    if ref.id is None:
        raise Refused("refusal.bad_payload")
    return ref.id
