"""The home menu: the actions this actor may take, as buttons."""

from __future__ import annotations

from handlers import payloads, policy
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import intent
from handlers.i18n import t
from handlers.reply import Button, Buttons, Reply, Text

# (permission, action, payload kind, label key) in the order a person would look for them
ENTRIES: tuple[tuple[str, str, str | None, str], ...] = (
    ("request.submit", "request.form", "consultation", "menu.new_request"),
    ("bpr.apply", "request.form", "bpr_application", "menu.new_bpr"),
    ("request.view", "request.list", None, "menu.requests"),
    ("approval.queue", "approval.queue", None, "menu.queue"),
    ("bpr.view", "bpr.list", None, "menu.engagements"),
    ("session.view", "session.list", None, "menu.sessions"),
    ("session.book", "session.book.form", None, "menu.book"),
    ("plan.manage", "plan.draft", None, "menu.plan"),
    ("plan.manage", "results.form", None, "menu.results"),
    ("availability.manage", "availability.form", None, "menu.week"),
    ("availability.manage", "absence.form", None, "menu.absence"),
    ("availability.manage", "absence.list", None, "menu.absences"),
    ("log.file", "log.form", None, "menu.log"),
    ("minutes.file", "minutes.form", None, "menu.minutes"),
    ("quota.view", "quota.view", None, "menu.quota"),
    ("notices.view", "notices.list", None, "menu.notices"),
    ("calendar.feed", "calendar.feed", None, "feed.menu"),
    ("desk.link", "desk.link", None, "desk.menu"),
    ("settings.manage", "settings.form", None, "settings.menu"),
    ("casebook.search", "casebook.form", None, "menu.casebook"),
    ("case.review", "case.review", None, "menu.case_review"),
    ("report.request", "report.form", None, "menu.report"),
    ("roster.manage", "roster.form", None, "menu.roster"),
    ("help.view", "help", None, "menu.help"),
)


@intent("menu")
def home(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    lang = actor.language
    buttons = tuple(
        Button(action, t(lang, label), payloads.encode(kind=kind) if kind else "")
        for permission, action, kind, label in ENTRIES
        if policy.allowed(actor, permission)
    )
    return Reply(
        (
            Text(t(lang, "menu.greeting", name=actor.name, role=t(lang, f"role.{actor.role}"))),
            Buttons(buttons),
        )
    )
