"""What the clock sets in motion, in one call the scheduler makes on every tick.

Every step only reads the facts and queues outbox rows under unique keys (or returns
expired leases to the queue, or forgets week-old replay claims), so a tick is safe to
run on any number of instances at once, and a tick after downtime queues what fell due
meanwhile — once.
"""

from __future__ import annotations

from handlers.core import replays
from handlers.core.context import Context
from handlers.fieldwork import checkins, reminders
from handlers.notifications import digest
from storage import outbox


def tick(ctx: Context) -> dict[str, int]:
    with ctx.db.transaction() as session:
        reaped = outbox.reap(session, ctx.clock.now())
    return {
        "reaped": reaped,
        "reminders": reminders.queue_due(ctx),
        "checkins": checkins.queue_due(ctx),
        "digests": digest.queue_due(ctx),
        "replays_forgotten": replays.prune(ctx),
    }
