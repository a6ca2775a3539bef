"""R9 work logs (業務日報) and R6 office-day minutes (議事録). One log may cover several
sessions (a batched log); the issues it records stay open for follow-up (R10).

A log's method, place or meeting link, consultants and dates are its sessions': the form
shows them read-only and the log stores none of them, so it cannot contradict them.
Filing a BPR log can mark the engagement's next step(s) done in its sessions — for a
joint BPR session, the steps of every engaged town in it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from handlers.core import forms, payloads, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Invalid, Refused
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import format_when, join, t
from handlers.core.intents import intent
from handlers.core.lookups import more_items, municipality_name, where_all
from handlers.core.reply import (
    Button,
    Buttons,
    Choice,
    Field,
    Fields,
    Form,
    ListItem,
    ListView,
    Reply,
    Text,
    Upload,
)
from handlers.documents.gathering import session_where
from handlers.fieldwork import reminders
from handlers.fieldwork.engagements import without_empty_choices
from handlers.intake import workflow
from storage import attachments, audit, engagements, logs, people, request_store, sessions
from storage.engagements import MAX_STEP_SESSIONS
from storage.models import (
    Engagement,
    EngagementStep,
    FollowUpIssue,
    IssueStatus,
    Minutes,
    RequestState,
    SessionKind,
    StepStatus,
    SupportSession,
    WorkLog,
)

LONG = 2000
PARTS = re.compile(r"\s*[/／]\s*")
WORK_LOG = FormSpec(
    "log.file",
    "form.log.title",
    (
        FieldSpec("sessions", "multiselect", hint=True),
        FieldSpec("steps", "multiselect", required=False, hint=True),
        FieldSpec("attendees", "textarea", max_length=LONG, hint=True),
        FieldSpec("summary", "textarea", max_length=LONG),
        FieldSpec("response", "textarea", max_length=LONG),
        FieldSpec("issues", "textarea", required=False, max_length=LONG, hint=True),
        FieldSpec("next_plan", "textarea", required=False, max_length=1000),
        FieldSpec("files", "file", required=False, hint=True),
    ),
)
MINUTES = FormSpec(
    "minutes.file",
    "form.minutes.title",
    (
        FieldSpec("office_day", "select"),
        FieldSpec("attendees_text", max_length=500),
        FieldSpec("body", "textarea", max_length=10_000),
        FieldSpec("files", "file", required=False, hint=True),
    ),
)
LOGGED_KINDS = (SessionKind.BPR, SessionKind.CONSULTATION)
FACTS_SHOWN = 10


def _session_label(session: Session, language: str, row: SupportSession) -> str:
    ids = sessions.municipality_ids(session, row.id or 0)
    names = join(language, (municipality_name(session, m) for m in ids))
    kind = t(language, f"choice.session_kind.{row.kind}")
    return f"{format_when(language, row.starts_at)} {kind} {names}".strip()


def _due(ctx: Context, session: Session, actor: Actor, kinds: tuple[str, ...]) -> list[Choice]:
    """The actor's sessions that have started and still lack their log or minutes."""
    rows = [
        s
        for s in sessions.listing(session, end=ctx.clock.now(), consultant_id=actor.id)
        if s.kind in kinds
    ]
    if kinds == (SessionKind.OFFICE_DAY,):
        open_ids = {s.id for s in rows if logs.minutes_for(session, s.id or 0) is None}
    else:
        open_ids = sessions.unlogged_ids(session, [s.id for s in rows if s.id])
    return [
        Choice(str(s.id), _session_label(session, actor.language, s))
        for s in rows
        if s.id in open_ids
    ]


def _log_choices(ctx: Context, session: Session, actor: Actor) -> dict[str, list[Choice]]:
    """The actor's sessions due a log, and the planned steps of the engagements of their
    BPR sessions (every engaged town of a joint one)."""
    due = _due(ctx, session, actor, LOGGED_KINDS)
    served = engagements.of_sessions(session, [int(c.value) for c in due])
    engagement_ids = dict.fromkeys(e.id or 0 for c in due for e in served.get(int(c.value), []))
    steps = [
        Choice(str(step.id), _step_label(session, actor.language, step))
        for engagement_id in engagement_ids
        for step in engagements.steps(session, engagement_id)
        if step.status == StepStatus.PLANNED
    ]
    return {"sessions": due, "steps": steps}


def _step_label(session: Session, language: str, step: EngagementStep) -> str:
    engagement = engagements.get(session, step.engagement_id)
    return t(
        language,
        "log.step_choice",
        municipality=municipality_name(session, engagement.municipality_id) if engagement else "?",
        step=t(
            language, "step.label", number=step.number, phase=t(language, f"phase.{step.phase}")
        ),
    )


def _facts(
    ctx: Context, session: Session, language: str, session_ids: list[int]
) -> tuple[Fields | Text, ...]:
    """What the log will say of each session, read from the session (not editable here:
    a wrong place or mode is corrected on the booking); past `FACTS_SHOWN` sessions, a
    「ほか N 件」 line says how many are not shown and where to see them."""
    consultants = sessions.consultants_of_sessions(session, session_ids)
    names = people.names(session, [p for ids in consultants.values() for p in ids])
    items = []
    for session_id in session_ids[:FACTS_SHOWN]:
        row = sessions.get(session, session_id)
        assert row is not None
        items.append(
            Field(
                _session_label(session, language, row),
                t(
                    language,
                    "log.fact",
                    method=t(language, f"choice.method.{row.mode}"),
                    where=session_where(row.mode, row.place, row.meeting_url) or "-",
                    consultants=join(
                        language, (names[p] for p in consultants.get(session_id, []) if p in names)
                    )
                    or "-",
                ),
            )
        )
    where = where_all(language, ctx.rules.desk_url)
    more = more_items(language, len(session_ids), where, shown=FACTS_SHOWN)
    return (Fields(tuple(items)), *(Text(line.title, "muted") for line in more))


def _log_form(
    ctx: Context,
    session: Session,
    language: str,
    choices: dict[str, list[Choice]],
    values: dict[str, Any],
) -> tuple[Fields | Text | Form, ...]:
    """The facts taken from the sessions (those chosen, else every due one) and the form."""
    chosen = [int(v) for v in values.get("sessions") or []]
    shown = chosen or [int(c.value) for c in choices["sessions"]]
    return (
        *_facts(ctx, session, language, shown),
        without_empty_choices(forms.build(WORK_LOG, language, choices=choices, values=values)),
    )


@intent("log.form", policy.LOG_FILE)
def log_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """With a session in `ref` (the reminder's button), the form comes prefilled with what
    is known of it: the session, the municipal attendees and, for a BPR visit, the next
    planned step of each engaged town in it. Method, place and consultants are shown
    above the form, from the sessions."""
    with ctx.db.transaction() as session:
        choices = _log_choices(ctx, session, actor)
        if not choices["sessions"]:
            return Reply((Text(t(actor.language, "log.nothing_due")),))
        values = _prefill(session, payloads.decode(ref).id, choices["sessions"])
        blocks = _log_form(ctx, session, actor.language, choices, values)
    return Reply((Text(t(actor.language, "log.facts"), "muted"), *blocks))


def _prefill(session: Session, session_id: int | None, due: list[Choice]) -> dict[str, Any]:
    if session_id is None or str(session_id) not in {c.value for c in due}:
        return {}
    row = sessions.get(session, session_id)
    if row is None:
        return {}
    municipality_ids = sessions.municipality_ids(session, session_id)
    request = request_store.get(session, row.request_id) if row.request_id else None
    served = engagements.of_sessions(session, [session_id]).get(session_id, [])
    if request is not None:
        attendees = [f"{request.department}/{request.requester_title}/{request.requester_name}"]
    else:  # a BPR visit: the staff of the engaged departments, else everyone registered
        department = {e.municipality_id: e.department for e in served}
        staff = people.staff_of_municipalities(session, municipality_ids)
        own = [p for p in staff if p.department == department.get(p.municipality_id or 0)]
        attendees = [f"{p.department}/{p.title or '-'}/{p.name}" for p in own or staff]
    values: dict[str, Any] = {"sessions": [str(session_id)], "attendees": "\n".join(attendees)}
    if served:
        values["steps"] = [str(step.id) for step in _next_steps(session, served)]
    return values


def _next_steps(session: Session, served: list[Engagement]) -> list[EngagementStep]:
    """The next planned step of each engagement (one with all steps closed: none)."""
    found = []
    for engagement in served:
        planned = [
            s
            for s in engagements.steps(session, engagement.id or 0)
            if s.status == StepStatus.PLANNED
        ]
        found += planned[:1]
    return found


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _attendee_lines(
    lang: str, text: str | None, errors: dict[str, str]
) -> list[tuple[str, str, str]]:
    attendees: list[tuple[str, str, str]] = []
    for line in _lines(text):
        parts = PARTS.split(line)
        if len(parts) != 3 or not all(parts):
            errors["attendees"] = t(
                lang, "error.attendee_line", field=t(lang, "field.attendees"), line=line[:60]
            )
            break
        attendees.append((parts[0][:100], parts[1][:100], parts[2][:100]))
    return attendees


def _issue_lines(lang: str, text: str | None, errors: dict[str, str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for line in _lines(text):
        parts = PARTS.split(line, maxsplit=1)
        if len(parts) != 2 or not all(parts):
            errors["issues"] = t(
                lang, "error.issue_line", field=t(lang, "field.issues"), line=line[:60]
            )
            break
        found.append((parts[0], parts[1]))
    return found


def _steps_done_in(
    session: Session,
    lang: str,
    step_ids: list[int],
    rows: list[SupportSession],
    errors: dict[str, str],
) -> list[tuple[EngagementStep, list[int]]]:
    """Each chosen step with the log's BPR sessions its town is in, that it is done in
    (1–2); a step of another engagement, or more sessions than a step may span, is a
    field error."""
    found = []
    field = t(lang, "field.steps")
    served = engagements.of_sessions(session, [r.id or 0 for r in rows])
    for step_id in step_ids:
        step = engagements.get_step(session, step_id)
        assert step is not None  # a chosen value: one of the offered steps
        done_in = [
            r.id or 0
            for r in rows
            if step.engagement_id in {e.id for e in served.get(r.id or 0, [])}
        ]
        label = _step_label(session, lang, step)
        if not done_in:
            errors["steps"] = t(lang, "error.log_step_elsewhere", field=field, step=label)
        elif len(done_in) > MAX_STEP_SESSIONS:
            errors["steps"] = t(
                lang, "error.log_step_span", field=field, step=label, maximum=MAX_STEP_SESSIONS
            )
        found.append((step, done_in))
    return sorted(found, key=lambda pair: (pair[0].engagement_id, pair[0].number))


@intent("log.file", policy.LOG_FILE)
def file_log(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """File one log for one or more of the actor's sessions; each must not be logged yet
    and must have begun. Chosen steps are marked done in the log's sessions of their
    engagement, in the same transaction (all or nothing)."""
    lang = actor.language
    with ctx.db.transaction() as session:
        choices = _log_choices(ctx, session, actor)
        clean = forms.check(ctx, actor, WORK_LOG, values, choices=choices)
        session_ids = [int(v) for v in clean["sessions"]]
        rows = [sessions.get(session, i, lock=True) for i in sorted(session_ids)]
        assert all(rows)  # chosen values: the actor's due sessions
        live = [r for r in rows if r is not None]
        errors: dict[str, str] = {}
        attendees = _attendee_lines(lang, clean["attendees"], errors)
        found = _issue_lines(lang, clean.get("issues"), errors)
        steps = _steps_done_in(session, lang, [int(v) for v in clean["steps"]], live, errors)
        if errors:
            form = without_empty_choices(forms.build(WORK_LOG, lang, choices=choices))
            raise Invalid(errors, form.with_errors(values, errors))
        now = ctx.clock.now()
        log = logs.add(
            session,
            WorkLog(
                author_id=actor.id,
                summary=clean["summary"],
                response=clean["response"],
                next_plan=clean.get("next_plan"),
                filed_at=now,
            ),
            session_ids,
            attendees,
        )
        municipality_ids: list[int] = []
        for row in live:
            sessions.mark_held(session, row, now)
            municipality_ids += sessions.municipality_ids(session, row.id or 0)
            if row.request_id:
                _close_request(session, row.request_id, now, actor.id)
        session.flush()
        for step, done_in in steps:
            engagements.close_step(session, step, StepStatus.DONE, done_in, now=now, by=actor.id)
        for municipality_id in dict.fromkeys(municipality_ids):
            for content, policy_text in found:
                logs.add_issue(
                    session,
                    FollowUpIssue(
                        log_id=log.id or 0,
                        municipality_id=municipality_id,
                        content=content,
                        policy=policy_text,
                        status=IssueStatus.OPEN,
                        created_at=now,
                    ),
                    actor.id,
                    now,
                )
        reminders.cancel_for(session, session_ids)
        files, later = _now_and_later(clean["files"])
        _attach(ctx, session, actor, files, log_id=log.id)
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="log.file",
            target_type="work_log",
            target_id=log.id,
            after={
                "sessions": session_ids,
                "issues": len(found),
                "steps": [step.number for step, _ in steps],
                "files": [f.filename for f in files],
                **({"files_later": later} if later else {}),
            },
        )
    text = t(lang, "log.filed", count=len(session_ids), issues=len(found))
    if steps:
        text += t(lang, "log.steps_done", steps=join(lang, (str(step.number) for step, _ in steps)))
    return Reply((Text(text, "success"),), data={"log_id": log.id, "steps": len(steps)})


def _attach(
    ctx: Context,
    session: Session,
    actor: Actor,
    files: list[attachments.NewFile],
    *,
    log_id: int | None = None,
    minutes_id: int | None = None,
) -> None:
    """The checked files of the form (handlers.core.forms), stored with the log or minutes in
    the same transaction: a refused or failed filing stores none of them. Called after
    every write that can still refuse (just before the audit), so a refusal writes no
    file to the attachment directory; one written before a later failure rolls back is
    an orphan `attachments.sweep` removes."""
    if files:
        attachments.add(
            session,
            files,
            by=actor.id,
            at=ctx.clock.now(),
            log_id=log_id,
            minutes_id=minutes_id,
            directory=ctx.rules.attachment_dir,
        )


def _now_and_later(
    checked: list[attachments.NewFile | Upload],
) -> tuple[list[attachments.NewFile], list[str]]:
    """The form's files to store now, and the names of those the adapter downloads after
    answering (deferred uploads, checked by name and size: see `attach_files`)."""
    files = [f for f in checked if isinstance(f, attachments.NewFile)]
    later = [attachments.safe_name(f.name) for f in checked if isinstance(f, Upload)]
    return files, later


ATTACH_WITHIN = timedelta(days=7)
"""Files sent without naming a log (a Teams chat) go to the sender's latest log or
minutes filed this recently; older papers are not guessed at."""


# to a paper of either kind: both permissions (the same role files both)
@intent("log.attach", policy.LOG_FILE, policy.MINUTES_FILE)
def attach_files(
    ctx: Context,
    actor: Actor,
    uploads: list[Upload],
    *,
    log_id: int | None = None,
    minutes_id: int | None = None,
) -> Reply:
    """Files attached after the paper was filed: the deferred files of a Slack form,
    downloaded after its ack, to the log or minutes it filed; files a consultant sends
    to the bot in their Teams chat (Adaptive Cards have no file input), to their latest
    log or minutes (`ATTACH_WITHIN`). Each file is checked alone by the form's rules:
    the good ones are stored, each refused one is named with why; the reply says which
    paper they went to, so a file sent for the wrong one is noticed."""
    lang = actor.language
    with ctx.db.transaction() as session:
        paper = _attach_target(ctx, session, actor, log_id, minutes_id)
        paper_log = paper.id if isinstance(paper, WorkLog) else None
        paper_minutes = paper.id if isinstance(paper, Minutes) else None
        had = attachments.for_logs(session, [paper_log] if paper_log else [])
        had += attachments.for_minutes(session, [paper_minutes] if paper_minutes else [])
        room = max(0, ctx.rules.attachment_max_files - len(had))
        files, errors = forms.file_errors(lang, uploads, ctx.rules, room=room)
        _attach(ctx, session, actor, files, log_id=paper_log, minutes_id=paper_minutes)
        label = _paper_label(session, lang, paper)
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="log.attach",
            target_type="work_log" if paper_log else "minutes",
            target_id=paper.id,
            after={"files": [f.filename for f in files], "refused": len(errors)},
        )
    blocks: list[Text] = []
    if files:
        names = join(lang, (t(lang, "log.attached_name", name=f.filename) for f in files))
        blocks.append(Text(t(lang, "log.attached", paper=label, names=names), "success"))
    blocks += [Text(error, "error") for error in errors]
    if errors:
        blocks.append(Text(t(lang, "log.attach_again", paper=label), "muted"))
    return Reply(
        tuple(blocks),
        ok=bool(files),
        data={"attached": [f.filename for f in files], "refused": len(errors), "paper": label},
    )


def _attach_target(
    ctx: Context,
    session: Session,
    actor: Actor,
    log_id: int | None,
    minutes_id: int | None,
) -> WorkLog | Minutes:
    """The named log or minutes, which must be the actor's own; none named: the actor's
    latest filed within `ATTACH_WITHIN`. Locked: two deliveries count the room once."""
    if log_id is None and minutes_id is None:
        latest = logs.latest_paper(session, actor.id, ctx.clock.now() - ATTACH_WITHIN)
        if latest is None:
            raise Refused("refusal.attach_nothing", days=ATTACH_WITHIN.days)
        return latest
    found = logs.get_paper(session, log_id=log_id, minutes_id=minutes_id)
    if found is None or found.author_id != actor.id:
        raise Refused(
            "refusal.attach_not_yours",
            target_type="work_log" if log_id is not None else "minutes",
            target_id=log_id if log_id is not None else minutes_id,
        )
    return found


def _paper_label(session: Session, language: str, paper: WorkLog | Minutes) -> str:
    """業務日報（7月6日(月) 10:00 相談 宇土市）: the paper by its first session."""
    if isinstance(paper, WorkLog):
        key, session_ids = "log.paper.log", logs.session_ids(session, paper.id or 0)
    else:
        key, session_ids = "log.paper.minutes", [paper.session_id]
    row = sessions.get(session, session_ids[0]) if session_ids else None
    return t(language, key, session=_session_label(session, language, row) if row else "-")


def _close_request(session: Session, request_id: int, now: Any, actor_id: int) -> None:
    """A consultation is done once every one of its sessions is logged."""
    request = request_store.get(session, request_id, lock=True)
    if request is None or request.state != RequestState.SCHEDULED:
        return
    booked = [s.id for s in sessions.listing(session, request_id=request_id) if s.id]
    if not sessions.unlogged_ids(session, booked):
        workflow.transition(
            session, request, RequestState.DONE, actor_id=actor_id, now=now, action="request.done"
        )


@intent("minutes.form", policy.MINUTES_FILE)
def minutes_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    values: dict[str, Any] = {}
    with ctx.db.transaction() as session:
        choices = {"office_day": _due(ctx, session, actor, (SessionKind.OFFICE_DAY,))}
        wanted = payloads.decode(ref).id
        if wanted is not None and str(wanted) in {c.value for c in choices["office_day"]}:
            names = people.names(session, sessions.consultant_ids(session, wanted))
            values = {
                "office_day": str(wanted),
                "attendees_text": join(actor.language, names.values()),
            }
    if not choices["office_day"]:
        return Reply((Text(t(actor.language, "minutes.nothing_due")),))
    return Reply((forms.build(MINUTES, actor.language, choices=choices, values=values),))


@intent("minutes.file", policy.MINUTES_FILE)
def file_minutes(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    with ctx.db.transaction() as session:
        choices = {"office_day": _due(ctx, session, actor, (SessionKind.OFFICE_DAY,))}
        clean = forms.check(
            ctx,
            actor,
            MINUTES,
            values,
            choices=choices,
        )
        session_id = int(clean["office_day"])
        if logs.minutes_for(session, session_id):
            raise Refused("refusal.minutes_exist", target_type="session", target_id=session_id)
        now = ctx.clock.now()
        minutes = logs.add_minutes(
            session,
            Minutes(
                session_id=session_id,
                author_id=actor.id,
                attendees=clean["attendees_text"],
                body=clean["body"],
                filed_at=now,
            ),
        )
        row = sessions.get(session, session_id, lock=True)
        assert row is not None
        sessions.mark_held(session, row, now)
        reminders.cancel_for(session, [session_id])
        files, later = _now_and_later(clean["files"])
        _attach(ctx, session, actor, files, minutes_id=minutes.id)
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action="minutes.file",
            target_type="session",
            target_id=session_id,
            after={
                "files": [f.filename for f in files],
                **({"files_later": later} if later else {}),
            },
        )
    return Reply(
        (Text(t(actor.language, "minutes.filed"), "success"),),
        data={"session_id": session_id, "minutes_id": minutes.id},
    )


OVERDUE_AFTER_DAYS = 2  # a log is due by the end of the next business day


def overdue_sessions(ctx: Context, session: Session) -> list[SupportSession]:
    """Sessions whose work log is still missing after the next business day (R9, R11),
    counted by the same rule as the reminders and the escalation."""
    return [
        item.row
        for item in reminders.owed(session, ctx.clock.now())
        if item.paper == "log" and item.days >= OVERDUE_AFTER_DAYS
    ]


@intent("log.overdue", policy.QUOTA_VIEW)
def overdue(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """Overdue logs, with who owes them: the prefecture's dashboard line."""
    lang = actor.language
    with ctx.db.transaction() as session:
        items = tuple(
            ListItem(
                title=_session_label(session, lang, row),
                fields=(
                    Field(
                        t(lang, "field.consultants"),
                        join(
                            lang,
                            people.names(
                                session, sessions.consultant_ids(session, row.id or 0)
                            ).values(),
                        ),
                    ),
                ),
            )
            for row in overdue_sessions(ctx, session)
        )
    return Reply(
        (
            ListView(
                t(lang, "list.overdue.title", count=len(items)),
                items[:10],
                1,
                1,
                t(lang, "list.overdue.empty"),
            ),
        ),
        data={"overdue": len(items)},
    )


@intent("log.due", policy.LOG_FILE)
def due(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """The consultant's own sessions still waiting for a log, with the button to file."""
    lang = actor.language
    with ctx.db.transaction() as session:
        choices = _due(ctx, session, actor, LOGGED_KINDS)
    items = tuple(ListItem(title=c.label) for c in choices[:10])
    blocks: list[Any] = [
        ListView(
            t(lang, "list.logs_due.title", count=len(choices)),
            items,
            1,
            1,
            t(lang, "log.nothing_due"),
        )
    ]
    if choices:
        blocks.append(Buttons((Button("log.form", t(lang, "menu.log"), "", "primary"),)))
    return Reply(tuple(blocks), data={"due": len(choices)})
