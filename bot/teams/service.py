"""What every part of the Teams adapter shares: the handlers' context, the language of
the service's own messages, the prefecture's approval channel and the way to write
first (proactive.py). One per TeamsBot; the turn handlers (messages.py, actions.py,
files.py), the channel's cards (channel.py) and the outbox (outbox.py) each take it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.teams.proactive import Proactive
from handlers.core.context import Context

PLATFORM = "teams"


@dataclass
class TeamsService:
    ctx: Context
    proactive: Proactive
    channel: str | None
    """The approval channel's conversation id, when Teams holds one."""
    channel_notices: bool
    """Whether the prefecture's channel notices go here (not when Slack has a channel)."""
    any_upload_host: bool
    """A local emulator uploads to, and serves files sent to the bot from, anywhere."""

    @property
    def lang(self) -> str:
        return self.ctx.rules.language
