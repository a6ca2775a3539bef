"""The clock of a running service: APScheduler (3.x) calls, on fixed intervals,

- `tick` — reap expired leases and queue what has fallen due (reminders, check-ins,
  the weekly digest) as outbox rows with unique keys;
- `deliver` — claim due outbox rows and send them (Slack DMs and channel posts);
- `teams` — the same for people whose notices go to Teams, as proactive Adaptive Cards
  (and the approval cards Teams' channel is missing);
- `mail` — the same for invite e-mails, when SMTP is configured;
- `nudge`, `teams_nudge` — remind the approval thread of undecided requests;
- `terminal` — the same as `deliver` for people with no chat identity, into the terminal
  inbox (bot/console/inbox.py), and for the prefecture's channel when no chat platform is
  configured (`python -m bot serve` with none runs only the platform-neutral jobs and this).

With a clock that runs faster than real time (`serve --clock … --speed N`), the tick comes
N times as often, so reminders fall due on the simulated clock's time, not hours late.

Every job starts at once, so what fell due while the service was down goes out at
start-up — once, because the facts and the outbox rows are in the database and
APScheduler's own (memory) job store holds nothing but the intervals. Any number of
instances may run this against one PostgreSQL database: claims use SKIP LOCKED and
queueing is idempotent. On SQLite run one scheduler process per database file.

A chat platform is anything with `deliver` and `nudge` (`Platform`): the scheduler knows
no adapter, so it can be started by the Slack worker and the server alike without an
import running back into them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from bot.console.inbox import TerminalInbox
from bot.delivery import mail, sending
from bot.runtime.edge import logged
from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.notifications import clockwork

if TYPE_CHECKING:
    from bot.config import Settings

TICK_SECONDS = 30
DELIVER_SECONDS = 1
MAIL_SECONDS = 10
NUDGE_MINUTES = 60
FILES = Path("dxdesk-files")  # where the terminal inbox writes the files of notices
log = logging.getLogger("dxdesk.scheduler")


class Platform(Protocol):
    """What the scheduler runs for a chat platform (SlackBot and TeamsBot have both)."""

    def deliver(self) -> int:
        """Keep the approval channel's cards and send the notices due; how many were sent."""
        ...

    def nudge(self) -> int:
        """Remind the approval thread of requests still undecided; how many were."""
        ...


def start(
    ctx: Context,
    settings: Settings,
    slack: Platform | None,
    teams: Platform | None = None,
    *,
    shared: bool = True,
    speed: float = 1.0,
    files_dir: Path = FILES,
) -> BackgroundScheduler:
    """`shared`: also the platform-neutral jobs (tick, mail, the terminal inbox). A second
    scheduler beside the Slack worker's (Slack and Teams both on) runs only the Teams
    delivery. `speed`: how much faster than real time `ctx.clock` runs."""
    # A run still going when the next is due is simply skipped (it is working through
    # the same queue); that is normal, not worth a warning a second.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    scheduler = BackgroundScheduler(
        timezone="Asia/Tokyo",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    now = datetime.now(TOKYO)

    def every(name: str, job: Callable[..., object], *args: Any, **interval: float) -> None:
        """`job` at this interval from now on, at the edge (`at_edge`), as `name`."""
        scheduler.add_job(
            at_edge(name, job), "interval", args=args, id=name, next_run_time=now, **interval
        )

    if shared:
        every("tick", tick, ctx, seconds=max(1.0, TICK_SECONDS / speed))
    if shared and slack is None and teams is None:
        # Only the local service delivers to the terminal inbox: with a chat platform, a
        # person not linked yet keeps their notices pending until they are (Slack links by
        # e-mail on first contact), rather than having them marked sent where nobody reads.
        terminal = TerminalInbox(ctx, files_dir, channels=True)
        every("terminal", terminal.deliver, seconds=DELIVER_SECONDS)
    if slack is not None:
        every("deliver", slack.deliver, seconds=DELIVER_SECONDS)
        every("nudge", slack.nudge, minutes=NUDGE_MINUTES)
    if teams is not None:
        every("teams", teams.deliver, seconds=DELIVER_SECONDS)
        every("teams_nudge", teams.nudge, minutes=NUDGE_MINUTES)
    if shared and settings.smtp is not None:
        every("mail", mail.deliver_mail, ctx, settings, seconds=MAIL_SECONDS)
    scheduler.start()
    return scheduler


def at_edge(name: str, job: Callable[..., object]) -> Callable[..., None]:
    """A scheduled run, whatever it raises: the edge of the service's timed work. What
    nobody foresaw is logged with a reference number, and the next run comes at its
    interval (the database out of reach is told apart inside: bot.delivery.sending)."""

    def run(*args: Any) -> None:
        try:
            job(*args)
        except Exception:  # the edge: one failed run must not end the job
            logged(log, "scheduled %s failed", name)

    run.__name__ = name
    return run


def tick(ctx: Context) -> None:
    """The clock's work (queue what fell due, reap lapsed leases); while the database is
    out of reach, one warning instead of a traceback every tick (bot.delivery.sending)."""
    with sending.paused_in_outage("tick"):
        clockwork.tick(ctx)
