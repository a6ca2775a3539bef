"""R12/R13 from chat and the command line: build a document (支援計画書, 業務日報, 議事録,
実績報告書, 相談事例集) as Word or HTML, and search the case book.

`build` is the one entry point: gather (report_data / casebook) → lay out
(report_layout) → write (report_html / report_docx). The chat intents wrap it in a form
for the prefecture and return the file as a `File` block; the case book search is open
to everyone, since its cases are anonymised.

What each document takes (`APPLIES`; anything else is refused, in chat on the field and
on the command line with one line and exit 2, rather than silently ignored):
- plan: a municipality (default: every BPR municipality). A plan covers its whole
  engagement, so a period does not apply.
- log: a municipality and a period, or exact log numbers (`--log`, one 業務日報 or a few;
  then neither municipality nor period applies). Chat has no log-number field yet: a
  single log is asked for on the command line.
- minutes: a period. Office days are the prefecture's own work: no municipality.
- final: a period; missing bounds come from the contract (`report_period`), so with none
  the report covers the contract period and is named by that period's fiscal year.
  It covers the whole prefecture: no municipality.
- casebook: nothing; the case book is every anonymised case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

from handlers import forms, policy
from handlers.actor import Actor
from handlers.casebook import gather_cases, search
from handlers.common import municipality_choices
from handlers.context import Context
from handlers.core import intent
from handlers.document import FORMATS, KINDS, Document
from handlers.errors import Invalid
from handlers.forms import FieldSpec, FormSpec
from handlers.i18n import t
from handlers.reply import Field, File, ListItem, ListView, Reply, Text
from handlers.report_data import (
    Period,
    Progress,
    gather_final,
    gather_logs,
    gather_minutes,
    gather_plans,
    quiet,
)
from handlers.report_docx import DOCX_MIME, render_docx
from handlers.report_html import render_html
from handlers.report_layout import (
    casebook_document,
    final_document,
    log_document,
    minutes_document,
    plan_document,
    project_name,
)
from storage import audit, people

APPLIES = {
    "plan": frozenset({"municipality"}),
    "log": frozenset({"municipality", "period", "log"}),
    "minutes": frozenset({"period"}),
    "final": frozenset({"period"}),
    "casebook": frozenset(),
}
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


def not_applicable(
    kind: str,
    municipality_id: int | None = None,
    period: Period | None = None,
    log_ids: list[int] | None = None,
) -> list[str]:
    """The options given that `kind` does not take (see APPLIES): municipality, period,
    log. With log numbers, a log takes neither municipality nor period."""
    given = {
        "municipality": municipality_id is not None,
        "period": period is not None and (period.start or period.end) is not None,
        "log": bool(log_ids),
    }
    allowed = APPLIES[kind] - ({"municipality", "period"} if log_ids else set())
    return [option for option, present in given.items() if present and option not in allowed]


def report_period(ctx: Context, kind: str, period: Period) -> Period:
    """The final report always covers a bounded period: a missing bound is the
    contract's (ctx.rules.contract_start / contract_end)."""
    if kind != "final":
        return period
    return Period(period.start or ctx.rules.contract_start, period.end or ctx.rules.contract_end)


def document_for(
    ctx: Context,
    kind: str,
    language: str,
    period: Period,
    municipality_id: int | None = None,
    progress: Progress = quiet,
    log_ids: list[int] | None = None,
) -> tuple[Document, bool]:
    """The document and whether its selection was empty (it then says so itself)."""
    document, empty, _ = _document_and_place(
        ctx, kind, language, period, municipality_id, progress, log_ids
    )
    return document, empty


def _document_and_place(
    ctx: Context,
    kind: str,
    language: str,
    period: Period,
    municipality_id: int | None,
    progress: Progress,
    log_ids: list[int] | None,
) -> tuple[Document, bool, str | None]:
    """`document_for`, with the name of `municipality_id` as it read it (None when
    unknown, and for the final report, which takes no municipality)."""
    now = ctx.clock.now()
    if kind == "final":
        period = report_period(ctx, kind, period)
        data = gather_final(ctx, period, progress)
        return final_document(language, data, project_name(language, period)), data.empty, None
    with ctx.db.transaction() as session:
        place = people.municipality_names(session).get(municipality_id or 0)
        if kind == "plan":
            plans = gather_plans(session, municipality_id, now=now)
            progress("report.progress.plans", len(plans))
            return plan_document(language, plans, now, place), not plans, place
        if kind == "log":
            logs = gather_logs(session, period, municipality_id, log_ids=log_ids)
            progress("report.progress.logs", len(logs))
            return log_document(language, logs, period, now, place), not logs, place
        if kind == "minutes":
            minutes = gather_minutes(session, period)
            progress("report.progress.minutes", len(minutes))
            return minutes_document(language, minutes, period, now), not minutes, place
        if kind == "casebook":
            cases = gather_cases(session, language)
            progress("report.progress.cases", len(cases))
            return casebook_document(language, cases, now), not cases, place
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
    progress: Progress = quiet,
    log_ids: list[int] | None = None,
) -> Built:
    """`log_ids`: exact 業務日報 numbers (kind log only). Options that `kind` does not take
    are a programming error here: the chat form and the command line refuse them first."""
    if kind not in KINDS or fmt not in FORMATS:
        raise ValueError(f"unknown document {kind!r} or format {fmt!r}")
    period = period or Period()
    if refused := not_applicable(kind, municipality_id, period, log_ids):
        raise ValueError(f"{kind} does not take {refused}")
    document, empty, place = _document_and_place(
        ctx, kind, language, period, municipality_id, progress, log_ids
    )
    progress("report.progress.render", len(document.blocks))
    suffix = ""
    if log_ids:
        suffix = "-".join(f"No{i}" for i in sorted(set(log_ids)))
    elif municipality_id is not None:
        suffix = place or ""  # read once, with the document
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
    kind = clean["report_document"]
    refused = not_applicable(kind, municipality, Period(start, end))
    if refused:
        document = t(lang, f"doc.title.{kind}")
        message = t(lang, "report.error.not_applicable", document=document)
        fields = {"municipality": "municipality", "period": "report_from"}
        raise_invalid(lang, values, choices, {fields[o]: message for o in refused})
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
) -> NoReturn:
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
