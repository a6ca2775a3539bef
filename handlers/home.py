"""A person's home screen (Slack App Home, the Teams personal tab): the menu and the
lists their role needs — built from the intents themselves, so it shows exactly what
those intents would."""

from __future__ import annotations

from collections.abc import Callable

from handlers import approval, intake, logs, menu, quotas, scheduling
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import intent
from handlers.reply import Reply
from storage.models import Role

SECTIONS: dict[Role, tuple[Callable[..., Reply], ...]] = {
    Role.MUNICIPAL: (intake.mine, scheduling.upcoming),
    Role.CONSULTANT: (scheduling.upcoming, logs.due),
    Role.PREFECTURE: (approval.queue, quotas.status, logs.overdue),
    Role.ADMIN: (quotas.status,),
}


@intent("home")
def view(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    sections = (section(ctx, actor) for section in SECTIONS[actor.role])
    return Reply.joined(menu.home(ctx, actor), *sections)
