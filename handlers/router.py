"""Action ids to intents: what a button press or a form submission runs.

Buttons carry (action, value); forms carry (action, context) plus the typed values.
Adapters call `press`, `submit` or `command` and render the reply — the same tables serve
every platform. Each table lists the intents themselves; the action id is the name each
intent's declaration (`handlers.core.intents.intent`) gives it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers.core import policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import LANGUAGES, t
from handlers.core.intents import record_refusal, refusal_reply
from handlers.core.payloads import decode
from handlers.core.reply import Reply
from handlers.desk import signin
from handlers.documents import build, casebook
from handlers.fieldwork import checkins, engagements, logs, reminders
from handlers.intake import approval_card, decision, submission
from handlers.notifications import notices
from handlers.people import guidance, home, menu, preferences, roster
from handlers.planning import quotas, season
from handlers.scheduling import attendance, availability, booking, feeds, results_meeting, slots

Handler = Callable[..., Reply]


def routes(*intents: Handler) -> dict[str, Handler]:
    """Each intent under the name its declaration gives it (`@intent`): the name is
    spelled once, where the intent is declared."""
    table: dict[str, Handler] = {}
    for handler in intents:
        name = policy.declaration(handler).name
        if name in table:
            raise ValueError(f"two intents declared as {name!r}")
        table[name] = handler
    return table


# Intents opened by a button: called as f(ctx, actor, value).
BUTTONS: dict[str, Handler] = routes(
    menu.home,
    guidance.show,
    home.view,
    logs.due,
    logs.overdue,
    submission.mine,
    submission.view,
    submission.amend_form,
    submission.answer_form,
    submission.cancel_form,
    decision.queue,
    decision.approve_form,
    decision.decline_form,
    decision.ask_info_form,
    decision.reassign_form,
    approval_card.staff_card,
    engagements.listing,
    engagements.view,
    engagements.goal_form,
    engagements.step_form,
    booking.upcoming,
    booking.book_form,
    booking.move_form,
    booking.cancel_form,
    booking.details_form,
    slots.offer,
    slots.pick,
    availability.week_form,
    availability.absence_form,
    availability.absences,
    availability.remove_absence,
    reminders.snooze,
    checkins.answer,
    season.draft,
    season.view,
    season.confirm,
    season.discard,
    season.balance,
    results_meeting.results_form,
    logs.log_form,
    logs.minutes_form,
    quotas.status,
    notices.inbox,
    feeds.show,
    feeds.revoke,
    feeds.invite_file,
    attendance.decline,
    attendance.change,
    attendance.listing,
    roster.add_form,
    build.report_form,
    build.casebook_form,
    casebook.review,
    casebook.publish,
    casebook.withhold,
    signin.link,
    preferences.settings_form,
)

# Forms without a target: called as f(ctx, actor, values).
FORMS: dict[str, Handler] = routes(
    submission.submit,
    submission.apply_bpr,
    booking.book,
    availability.set_week,
    availability.add_absence,
    results_meeting.set_presenters,
    logs.file_log,
    logs.file_minutes,
    roster.add,
    build.request_report,
    build.casebook_search,
    preferences.set_settings,
)

# Forms about a record named by their context: called as
# f(ctx, actor, context, values).
TARGETED_FORMS: dict[str, Handler] = routes(
    submission.amend,
    submission.answer,
    submission.cancel,
    decision.approve,
    decision.decline,
    decision.ask_info,
    decision.reassign,
    engagements.set_goal,
    engagements.update_step,
    booking.move,
    booking.cancel_session,
    booking.details,
)

# The intake form is two intents (each kind of request has its own permission) under one
# name; its button carries the kind.
REQUEST_FORM = policy.declaration(submission.consultation_form).name


def press(ctx: Context, actor: Actor, action: str, value: str = "") -> Reply:
    """A button press. `request.form` takes its kind from the typed payload."""
    if action == REQUEST_FORM:
        try:
            kind = decode(value).kind or "consultation"
        except Refused as refusal:
            return _unknown(ctx, actor, action, refusal)
        return submission.new_form(ctx, actor, kind)
    handler = BUTTONS.get(action)
    if handler is None:
        return _unknown(ctx, actor, action)
    return handler(ctx, actor, value)


def submit(
    ctx: Context, actor: Actor, action: str, values: dict[str, Any], context: str = ""
) -> Reply:
    """A form submission."""
    if action in FORMS:
        return FORMS[action](ctx, actor, values)
    if action in TARGETED_FORMS:
        return TARGETED_FORMS[action](ctx, actor, context, values)
    return _unknown(ctx, actor, action)


def _unknown(ctx: Context, actor: Actor, action: str, refusal: Refused | None = None) -> Reply:
    refusal = refusal or Refused(
        "refusal.unknown_action", target_type="action", target_id=action[:50]
    )
    record_refusal(ctx, actor, "router", refusal)
    return refusal_reply(actor.language, refusal)


def command(ctx: Context, actor: Actor, words: str) -> Reply:
    """What a typed command asks for, the same on every platform (Slack's `/dx …`, a
    message to the bot on Teams): 相談 (or nothing), 申込, 状況, 事例 <言葉>, カレンダー,
    ダッシュボード, 設定, and help for anything else. Each language's words are understood."""
    first, rest = [*words.split(maxsplit=1), "", ""][:2]
    rest = rest.strip()

    def means(key: str) -> bool:
        return any(first == t(lang, key) for lang in LANGUAGES)

    if means("command.casebook"):  # the search; bare, its form
        if rest:
            return build.casebook_search(ctx, actor, {"casebook_words": rest})
        return build.casebook_form(ctx, actor)
    if not first or means("command.consult"):
        return submission.consultation_form(ctx, actor)
    if means("command.apply"):
        return submission.application_form(ctx, actor)
    if means("feed.command"):  # the private URL: answered to them only
        return feeds.show(ctx, actor)
    if means("command.desk"):  # a one-time sign-in link: answered to them only too
        return signin.link(ctx, actor)
    if means("settings.command"):  # their own language and how invites reach them
        return preferences.settings_form(ctx, actor)
    if means("command.status"):
        return Reply.joined(submission.mine(ctx, actor), booking.upcoming(ctx, actor))
    return guidance.show(ctx, actor)
