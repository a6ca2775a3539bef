"""What DX Desk does for this person, in a few lines (`/dx ヘルプ`, the console menu)."""

from __future__ import annotations

from handlers import policy
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import intent
from handlers.i18n import render, t
from handlers.menu import ENTRIES, home
from handlers.reply import Reply, Text


@intent("help")
def show(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    lang = actor.language
    entries = [
        t(lang, label) for permission, _, _, label in ENTRIES if policy.allowed(actor, permission)
    ]
    text = render(
        lang,
        "messages/help.j2",
        name=actor.name,
        role=t(lang, f"role.{actor.role}"),
        entries=entries,
    )
    return Reply((Text(text.strip()), *home(ctx, actor).blocks[1:]))
