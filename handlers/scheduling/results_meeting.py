"""The results meeting (R8): every municipality is invited; about half of the supported
ones present, chosen with the prefecture and recorded here."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from handlers.core import forms, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import join, t
from handlers.core.intents import intent
from handlers.core.lookups import municipality_name
from handlers.core.reply import Choice, Reply, Text
from handlers.scheduling.booking import URL, revise
from storage import audit, engagements, sessions
from storage.models import SupportSession

RESULTS = FormSpec(
    "results.set",
    "form.results.title",
    (
        FieldSpec("presenters", "multiselect", required=False, hint=True),
        FieldSpec("meeting_url", required=False, max_length=500),
    ),
)


def _meeting(session: Session, *, lock: bool = False) -> SupportSession:
    found = sessions.results_meeting(session, lock=lock)
    if found is None:
        raise Refused("refusal.no_results_meeting", target_type="session")
    return found


def _choices(session: Session) -> dict[str, Any]:
    supported = [e.municipality_id for e in engagements.listing(session)]
    return {
        "presenters": [Choice(str(m), municipality_name(session, m)) for m in supported],
    }


@intent("results.form", policy.PLAN_MANAGE)
def results_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    with ctx.db.transaction() as session:
        meeting = _meeting(session)
        values = {
            "presenters": [str(m) for m in sessions.presenting_ids(session, meeting.id or 0)],
            "meeting_url": meeting.meeting_url,
        }
        choices = _choices(session)
    return Reply((forms.build(RESULTS, actor.language, values=values, choices=choices),))


@intent("results.set", policy.PLAN_MANAGE)
def set_presenters(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """A new meeting URL is a change to the event: its invites go out again."""
    lang = actor.language
    with ctx.db.transaction() as session:
        meeting = _meeting(session, lock=True)
        choices = _choices(session)
        form = forms.Submission(ctx, actor, RESULTS, values, choices=choices)
        url = form.clean.get("meeting_url")
        if url and not URL.match(url):
            form.fail("meeting_url", "error.bad_url")
        clean = form.done()
        presenters = [int(v) for v in clean["presenters"]]
        now = ctx.clock.now()
        before = {
            "presenting": sessions.presenting_ids(session, meeting.id or 0),
            "meeting_url": meeting.meeting_url,
        }
        sessions.set_presenting(session, meeting.id or 0, presenters)
        if url and url != meeting.meeting_url:
            old_url, meeting.meeting_url = meeting.meeting_url, url
            revise(
                session,
                meeting,
                actor_id=actor.id,
                now=now,
                action="session.details",
                before={"meeting_url": old_url},
                after={"meeting_url": url},
            )
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="results.set",
            target_type="session",
            target_id=meeting.id,
            before=before,
            after={"presenting": presenters, "meeting_url": meeting.meeting_url},
        )
        names = join(lang, (municipality_name(session, m) for m in presenters)) or "-"
        supported = len(choices["presenters"])
    return Reply(
        (
            Text(
                t(
                    lang,
                    "results.saved",
                    names=names,
                    count=len(presenters),
                    supported=supported,
                ),
                "success",
            ),
        )
    )
