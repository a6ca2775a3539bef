"""A person's home screen (Slack App Home, the Teams personal tab): the menu and the
lists their role needs — built from the intents themselves, so it shows exactly what
those intents would."""

from __future__ import annotations

from collections.abc import Callable

from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.intents import intent
from handlers.core.reply import Reply
from handlers.fieldwork import logs
from handlers.intake import decision, submission
from handlers.people import menu
from handlers.planning import quotas
from handlers.scheduling import booking
from storage.models import Role

SECTIONS: dict[Role, tuple[Callable[..., Reply], ...]] = {
    Role.MUNICIPAL: (submission.mine, booking.upcoming),
    Role.CONSULTANT: (booking.upcoming, logs.due),
    Role.PREFECTURE: (decision.queue, quotas.status, logs.overdue),
    Role.ADMIN: (quotas.status,),
}


@intent("home")
def view(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    sections = (section(ctx, actor) for section in SECTIONS[actor.role])
    return Reply.joined(menu.home(ctx, actor), *sections)
