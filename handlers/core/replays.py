"""Platform deliveries seen before: a platform that delivers the same event, click or
activity again (a retry after a timeout, a replayed request) has it dropped, once its
first delivery is claimed. The adapters say what identifies a delivery (`replay_key`);
the claim is kept here, each in its own transaction, before any work."""

from __future__ import annotations

from datetime import timedelta

from handlers.core.context import Context
from storage import messages

# How long a delivery's claim is kept. Slack retries within minutes and the Bot Framework
# within its request's timeout; a week is far beyond either, and keeps the table at a
# week of deliveries instead of every one since the service started.
KEPT = timedelta(days=7)


def first_time(ctx: Context, platform: str, key: str) -> bool:
    """True the first time this delivery is seen; False for every redelivery, even when
    two deliveries race."""
    with ctx.db.transaction() as session:
        return messages.first_time(session, platform=platform, event_id=key, now=ctx.clock.now())


def forget(ctx: Context, platform: str, key: str) -> None:
    """Undo `first_time`: the delivery's handling failed or changed nothing, so the
    platform's retry (or the corrected resubmission) is handled instead of dropped."""
    with ctx.db.transaction() as session:
        messages.forget(session, platform=platform, event_id=key)


def prune(ctx: Context) -> int:
    """Forget the claims older than `KEPT` (the clock's tick does this); how many."""
    with ctx.db.transaction() as session:
        return messages.forget_before(session, ctx.clock.now() - KEPT)
