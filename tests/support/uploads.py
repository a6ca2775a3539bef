"""Uploaded files and a consultation that is due its log: what the attachment tests of
both platforms send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.scheduling import booking
from tests.support.factories import approve, number, submit

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


CSV_SJIS = "市町村,手続,件数\n宇土市,転入届,12\n".encode("cp932")


def due_consultation(ctx: Context, cast: dict[str, Any]) -> str:
    """A consultation session of 小林 健 that has begun and has no log yet."""
    request_id = submit(ctx, cast["森 翔太"])
    kobayashi = cast["小林 健"]
    assert approve(ctx, cast["熊本 県子"], request_id, [kobayashi]).ok
    reply = booking.book(
        ctx,
        cast["水前寺 花"],
        {
            "session_kind": "consultation",
            "request_number": number(ctx, request_id),
            "date": "2026-07-06",
            "start": "10:00",
            "minutes": 120,
            "mode": "visit",
            "consultants": [str(kobayashi.id)],
        },
    )
    assert reply.ok, reply.plain_text()
    ctx.clock.set(datetime(2026, 7, 6, 17, 0, tzinfo=TOKYO))
    return str(reply.data["session_id"])
