"""R12/R13 from chat and the command line: build a document (支援計画書, 業務日報, 議事録,
実績報告書, 相談事例集) as Word or HTML, and search the case book.

`build` is the one entry point: gather (report_data / casebook) → lay out
(report_layout) → write (report_html / report_docx). The chat intents wrap it in a form
for the prefecture and return the file as a `File` block; the case book search is open
to everyone, since its cases are anonymised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from handlers import forms, policy
from handlers.actor import Actor
from handlers.casebook import casebook_document, gather_cases, search
from handlers.common import municipality_choices
from handlers.context import Context
from handlers.core import intent
from handlers.document import Document
from handlers.forms import FieldSpec, FormSpec
from handlers.i18n import t
from handlers.reply import Field, File, ListItem, ListView, Reply, Text
from handlers.report_data import (
    Period,
    Progress,
    _quiet,
    gather_final,
    gather_logs,
    gather_minutes,
    gather_plans,
)
from handlers.report_docx import DOCX_MIME, render_docx
from handlers.report_html import render_html
from handlers.report_layout import (
    final_document,
    log_document,
    minutes_document,
    plan_document,
    project_name,
)
from storage import audit, people

KINDS = ("plan", "log", "minutes", "final", "casebook")
FORMATS = ("docx", "html")
MIME = {"docx": DOCX_MIME, "html": "text/html; charset=utf-8"}

REPORT = FormSpec(
    "report.request",
    "form.report.title",
    (
        FieldSpec("report_document", "select", choices=KINDS),
        FieldSpec("municipality", "select", required=False),
        FieldSpec("report_from", "date", required=False),
        FieldSpec("report_to", "date", required=False),
        FieldSpec("report_format", "select", choices=FORMATS),
    ),
    submit="button.report",
)
CASEBOOK = FormSpec(
    "casebook.search",
    "form.casebook.title",
    (FieldSpec("casebook_words", max_length=200, hint=True),),
    submit="button.search",
)


@dataclass(frozen=True)
class Built:
    document: Document
    file: File
    empty: bool


def document_for(
    ctx: Context,
    kind: str,
    language: str,
    period: Period,
    municipality_id: int | None = None,
    progress: Progress = _quiet,
) -> tuple[Document, bool]:
    """The document and whether its selection was empty (it then says so itself)."""
    now = ctx.clock.now()
    if kind == "final":
        data = gather_final(ctx, period, progress)
        return final_document(language, data, project_name(language, period, now)), data.empty
    with ctx.db.transaction() as session:
        place = people.municipality_names(session).get(municipality_id or 0)
        if kind == "plan":
            plans = gather_plans(session, municipality_id)
            progress("report.progress.plans", len(plans))
            return plan_document(language, plans, now, place), not plans
        if kind == "log":
            logs = gather_logs(session, period, municipality_id)
            progress("report.progress.logs", len(logs))
            return log_document(language, logs, period, now, place), not logs
        if kind == "minutes":
            minutes = gather_minutes(session, period)
            progress("report.progress.minutes", len(minutes))
            return minutes_document(language, minutes, period, now), not minutes
        if kind == "casebook":
            cases = gather_cases(session, language)
            progress("report.progress.cases", len(cases))
            return casebook_document(language, cases, now), not cases
    raise ValueError(f"unknown document kind: {kind}")


def file_name(language: str, kind: str, fmt: str, suffix: str = "") -> str:
    """支援計画書_宇土市.docx: the document's name, what it covers, the format."""
    base = t(language, f"doc.file.{kind}")
    return f"{base}_{suffix}.{fmt}" if suffix else f"{base}.{fmt}"


def render(document: Document, fmt: str) -> bytes:
    return render_docx(document) if fmt == "docx" else render_html(document)


def build(
    ctx: Context,
    kind: str,
    fmt: str,
    language: str,
    period: Period | None = None,
    municipality_id: int | None = None,
    progress: Progress = _quiet,
) -> Built:
    if kind not in KINDS or fmt not in FORMATS:
        raise ValueError(f"unknown document {kind!r} or format {fmt!r}")
    period = period or Period()
    document, empty = document_for(ctx, kind, language, period, municipality_id, progress)
    progress("report.progress.render", len(document.blocks))
    suffix = ""
    if municipality_id is not None and kind in ("plan", "log"):
        with ctx.db.transaction() as session:
            suffix = people.municipality_names(session).get(municipality_id, "")
    elif period.start or period.end:
        suffix = "-".join(d.strftime("%Y%m%d") for d in (period.start, period.end) if d)
    content = render(document, fmt)
    return Built(document, File(file_name(language, kind, fmt, suffix), content, MIME[fmt]), empty)


# -- chat --------------------------------------------------------------------------
@intent("report.form")
def report_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    policy.require(actor, "report.request")
    with ctx.db.transaction() as session:
        choices = {"municipality": municipality_choices(session)}
    values = {"report_document": "final", "report_format": "docx"}
    return Reply((forms.build(REPORT, actor.language, values=values, choices=choices),))


@intent("report.request")
def request_report(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """Prefecture staff ask for a document and receive it as a file in the reply."""
    policy.require(actor, "report.request")
    lang = actor.language
    with ctx.db.transaction() as session:
        choices = {"municipality": municipality_choices(session)}
    clean = forms.check(ctx, actor, REPORT, values, choices=choices)
    start: date | None = clean.get("report_from")
    end: date | None = clean.get("report_to")
    if start and end and start > end:
        message = t(lang, "report.error.range")
        raise_invalid(lang, values, choices, {"report_to": message})
    municipality = int(clean["municipality"]) if clean.get("municipality") else None
    built = build(
        ctx,
        clean["report_document"],
        clean["report_format"],
        lang,
        Period(start, end),
        municipality,
    )
    with ctx.db.transaction() as session:
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="report.request",
            target_type="document",
            target_id=clean["report_document"],
            after={"file": built.file.name, "format": clean["report_format"]},
        )
    key = "report.ready_empty" if built.empty else "report.ready"
    return Reply(
        (Text(t(lang, key, name=built.file.name), "success"), built.file),
        data={"file": built.file.name, "empty": built.empty},
    )


def raise_invalid(
    language: str, values: dict[str, Any], choices: dict[str, Any], errors: dict[str, str]
) -> None:
    from handlers.errors import Invalid

    form = forms.build(REPORT, language, choices=choices).with_errors(values, errors)
    raise Invalid(errors, form)


@intent("casebook.form")
def casebook_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    policy.require(actor, "casebook.search")
    return Reply((forms.build(CASEBOOK, actor.language),))


@intent("casebook.search")
def casebook_search(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """R13: the best few anonymised cases and public practices for the words typed."""
    policy.require(actor, "casebook.search")
    lang = actor.language
    clean = forms.check(ctx, actor, CASEBOOK, values)
    words = clean["casebook_words"]
    with ctx.db.transaction() as session:
        hits = search(session, lang, words)
    items = tuple(
        ListItem(
            title=hit.title,
            fields=(
                Field(t(lang, "casebook.field.summary"), hit.text),
                Field(
                    t(lang, "casebook.field.link"),
                    hit.link or t(lang, "casebook.in_casebook", ref=hit.ref),
                ),
            ),
        )
        for hit in hits
    )
    return Reply(
        (
            ListView(
                t(lang, "casebook.results", words=words, count=len(hits)),
                items,
                empty_text=t(lang, "casebook.nothing", words=words),
            ),
        ),
        data={"hits": [hit.ref for hit in hits]},
    )
