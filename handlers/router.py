"""Action ids to intents: what a button press or a form submission runs.

Buttons carry (action, value); forms carry (action, context) plus the typed values.
Adapters call `dispatch` and render the reply — the same table serves every platform.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers import (
    approval,
    attendance,
    availability,
    bpr,
    casebook,
    checkins,
    feeds,
    help,
    home,
    intake,
    logs,
    menu,
    notices,
    payloads,
    preferences,
    quotas,
    reminders,
    reports,
    results_meeting,
    roster,
    scheduling,
    season,
    signin,
    slots,
)
from handlers.actor import Actor
from handlers.context import Context
from handlers.core import record_refusal, refusal_reply
from handlers.errors import Refused
from handlers.i18n import LANGUAGES, t
from handlers.payloads import decode
from handlers.reply import Reply

Handler = Callable[..., Reply]

# Intents opened by a button: called as f(ctx, actor, value).
BUTTONS: dict[str, Handler] = {
    "menu": menu.home,
    "help": help.show,
    "home": home.view,
    "log.due": logs.due,
    "log.overdue": logs.overdue,
    "request.list": intake.mine,
    "request.view": intake.view,
    "request.amend.form": intake.amend_form,
    "request.answer.form": intake.answer_form,
    "request.cancel.form": intake.cancel_form,
    "approval.queue": approval.queue,
    "request.approve.form": approval.approve_form,
    "request.decline.form": approval.decline_form,
    "request.ask_info.form": approval.ask_info_form,
    "request.reassign.form": approval.reassign_form,
    "request.card": approval.staff_card,
    "bpr.list": bpr.listing,
    "bpr.view": bpr.view,
    "bpr.goal.form": bpr.goal_form,
    "bpr.step.form": bpr.step_form,
    "session.list": scheduling.upcoming,
    "session.book.form": scheduling.book_form,
    "session.move.form": scheduling.move_form,
    "session.cancel.form": scheduling.cancel_form,
    "session.details.form": scheduling.details_form,
    "slots.offer": slots.offer,
    "slots.pick": slots.pick,
    "availability.form": availability.week_form,
    "absence.form": availability.absence_form,
    "absence.list": availability.absences,
    "absence.remove": availability.remove_absence,
    "reminder.snooze": reminders.snooze,
    "checkin.answer": checkins.answer,
    "plan.draft": season.draft,
    "plan.view": season.view,
    "plan.confirm": season.confirm,
    "plan.discard": season.discard,
    "plan.balance": season.balance,
    "results.form": results_meeting.results_form,
    "log.form": logs.log_form,
    "minutes.form": logs.minutes_form,
    "quota.view": quotas.status,
    "notices.list": notices.inbox,
    "calendar.feed": feeds.show,
    "calendar.revoke": feeds.revoke,
    "invite.file": feeds.invite_file,
    "attendance.decline": attendance.decline,
    "attendance.change": attendance.change,
    "attendance.list": attendance.listing,
    "roster.form": roster.add_form,
    "report.form": reports.report_form,
    "casebook.form": reports.casebook_form,
    "case.review": casebook.review,
    "case.publish": casebook.publish,
    "case.withhold": casebook.withhold,
    "desk.link": signin.link,
    "settings.form": preferences.settings_form,
}

# Forms without a target: called as f(ctx, actor, values).
FORMS: dict[str, Handler] = {
    "request.submit": intake.submit,
    "bpr.apply": intake.apply_bpr,
    "session.book": scheduling.book,
    "availability.set": availability.set_week,
    "absence.add": availability.add_absence,
    "results.set": results_meeting.set_presenters,
    "log.file": logs.file_log,
    "minutes.file": logs.file_minutes,
    "roster.add": roster.add,
    "report.request": reports.request_report,
    "casebook.search": reports.casebook_search,
    "settings.set": preferences.set_settings,
}

# Forms about a record named by their context: called as f(ctx, actor, context, values).
TARGETED_FORMS: dict[str, Handler] = {
    "request.amend": intake.amend,
    "request.answer": intake.answer,
    "request.cancel": intake.cancel,
    "request.approve": approval.approve,
    "request.decline": approval.decline,
    "request.ask_info": approval.ask_info,
    "request.reassign": approval.reassign,
    "bpr.goal": bpr.set_goal,
    "bpr.step": bpr.update_step,
    "session.move": scheduling.move,
    "session.cancel": scheduling.cancel_session,
    "session.details": scheduling.details,
}


def press(ctx: Context, actor: Actor, action: str, value: str = "") -> Reply:
    """A button press. `request.form` takes its kind from the typed payload."""
    if action == "request.form":
        try:
            kind = decode(value).kind or "consultation"
        except Refused as refusal:
            return _unknown(ctx, actor, action, refusal)
        return intake.new_form(ctx, actor, kind)
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
            return submit(ctx, actor, "casebook.search", {"casebook_words": rest})
        return press(ctx, actor, "casebook.form")
    if not first or means("command.consult"):
        return press(ctx, actor, "request.form", payloads.encode(kind="consultation"))
    if means("command.apply"):
        return press(ctx, actor, "request.form", payloads.encode(kind="bpr_application"))
    if means("feed.command"):  # the private URL: answered to them only
        return press(ctx, actor, "calendar.feed")
    if means("command.desk"):  # a one-time sign-in link: answered to them only too
        return press(ctx, actor, "desk.link")
    if means("settings.command"):  # their own language and how invites reach them
        return press(ctx, actor, "settings.form")
    if means("command.status"):
        return Reply.joined(press(ctx, actor, "request.list"), press(ctx, actor, "session.list"))
    return press(ctx, actor, "help")
