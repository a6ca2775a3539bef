"""The home menu: the actions this actor may take, as buttons (the table of them is
`handlers.people.guidance.ENTRIES`, which the help text lists too)."""

from __future__ import annotations

from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.i18n import t
from handlers.core.intents import intent
from handlers.core.reply import Reply, Text
from handlers.people.guidance import ENTRIES, buttons

__all__ = ["ENTRIES", "home"]


@intent("menu")
def home(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    lang = actor.language
    return Reply(
        (
            Text(t(lang, "menu.greeting", name=actor.name, role=t(lang, f"role.{actor.role}"))),
            buttons(actor),
        )
    )
