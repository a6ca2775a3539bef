"""宇土市's BPR engagement with four sessions around the clock's 7/7 (the `uto` and `lead`
fixtures, loaded by conftest), and the values of a work-log form: what the step, log and
hostile-text tests start from."""

from __future__ import annotations

from datetime import datetime

import pytest

from handlers.core import payloads
from handlers.core.clock import TOKYO
from tests.support import factories
from tests.support.factories import apply, approve

URL = "https://meet.example.jp/uto-2"


def when(day: int, hour: int = 10, month: int = 7) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TOKYO)


@pytest.fixture
def lead(cast):
    return cast["高橋 誠"]


@pytest.fixture
def uto(ctx, cast, approver, lead):
    """宇土市's engagement: a visit on 7/2 and an online session on 7/6 (both begun by
    the clock's 7/7 09:00), one still booked for 7/13 and one for 7/20."""
    selected = approve(ctx, approver, apply(ctx, cast["田中 美咲"]), [lead])
    engagement_id = selected.data["engagement_id"]
    ids = {
        "visit": factories.bpr_session(ctx, engagement_id, when(2), [lead], place="宇土市役所"),
        "online": factories.bpr_session(
            ctx, engagement_id, when(6), [lead, cast["中村 由紀"]], mode="online", meeting_url=URL
        ),
        "next": factories.bpr_session(ctx, engagement_id, when(13), [lead]),
        "after": factories.bpr_session(ctx, engagement_id, when(20), [lead]),
    }
    ctx.clock.set(when(7, 9))
    return {"engagement": engagement_id, "ref": payloads.encode(id=engagement_id), **ids}


def log_values(sessions, **more):
    values = {
        "sessions": [str(s) for s in sessions],
        "attendees": "市民課/主査/田中 美咲",
        "summary": "現状の業務フローを聞き取った。",
        "response": "As-Is の書き方を助言した。",
    }
    values.update(more)
    return values
