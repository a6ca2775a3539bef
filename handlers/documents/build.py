"""R12/R13 from chat and the command line: build a document (支援計画書, 業務日報, 議事録,
実績報告書, 相談事例集) as Word, PDF or HTML, the workbook (集計表, Excel) or the
submission bundle (提出書類一式, zip), and search the case book.

`build` is the one entry point: gather (report_data / casebook) → lay out
(report_layout) → address (`addressed`: 宛先 and 提出者 from the configuration) → write
(report_docx / report_pdf / report_html); the workbook is report_xlsx's and the bundle
handlers.documents.bundle's (which calls back into this module for each document). The chat
intents wrap it in a form for the prefecture and return the file as a `File` block; the
case book search is open to everyone, since its cases are anonymised.

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
- workbook: a period (all sessions and logs without one); dates as era text or ISO
  (`dates`, which nothing else takes).
- bundle: a period, completed with the contract's bounds like the final report.
Documents are written as docx, pdf or html; the workbook only as xlsx and the bundle
only as zip (`formats_of`): another format is refused, as an option that does not
apply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, NoReturn

from handlers.core import forms, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Invalid
from handlers.core.forms import FieldSpec, FormSpec
from handlers.core.i18n import t
from handlers.core.intents import intent
from handlers.core.lookups import municipality_choices
from handlers.core.reply import Field, File, ListItem, ListView, Reply, Text
from handlers.core.text_rules import printable
from handlers.documents.casebook import gather_cases, search
from handlers.documents.gathering import (
    Period,
    Progress,
    gather_final,
    gather_logs,
    gather_minutes,
    gather_plans,
    quiet,
)
from handlers.documents.layout import (
    casebook_document,
    final_document,
    log_document,
    minutes_document,
    plan_document,
    project_name,
)
from handlers.documents.model import DATE_STYLES, EXPORTS, FORMATS, KINDS, Document
from handlers.documents.print_html import render_html
from storage import audit, people

APPLIES = {
    "plan": frozenset({"municipality"}),
    "log": frozenset({"municipality", "period", "log"}),
    "minutes": frozenset({"period"}),
    "final": frozenset({"period"}),
    "casebook": frozenset(),
    "workbook": frozenset({"period", "dates"}),
    "bundle": frozenset({"period"}),
}
MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
ALL_KINDS = (*KINDS, *EXPORTS)
ALL_FORMATS = (*FORMATS, *dict.fromkeys(EXPORTS.values()))

REPORT = FormSpec(
    "report.request",
    "form.report.title",
    (
        FieldSpec("report_document", "select", choices=ALL_KINDS),
        FieldSpec("municipality", "select", required=False),
        FieldSpec("report_from", "date", required=False),
        FieldSpec("report_to", "date", required=False),
        FieldSpec("report_format", "select", required=False, choices=ALL_FORMATS),
        FieldSpec("report_dates", "select", required=False, choices=DATE_STYLES),
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
    document: Document | None  # None for the workbook and the bundle
    file: File
    empty: bool


def formats_of(kind: str) -> tuple[str, ...]:
    """The formats `kind` is written in; the first is its default."""
    return (EXPORTS[kind],) if kind in EXPORTS else FORMATS


def addressed(ctx: Context, language: str, document: Document) -> Document:
    """宛先 and 提出者 from the configuration (DXDESK_ADDRESSEE / DXDESK_SUBMITTER), else
    the catalog's wording in the reader's language."""
    return replace(
        document,
        addressee=printable(ctx.rules.addressee) or t(language, "doc.addressee"),
        submitter=printable(ctx.rules.submitter) or t(language, "doc.submitter"),
    )


def not_applicable(
    kind: str,
    municipality_id: int | None = None,
    period: Period | None = None,
    log_ids: list[int] | None = None,
    dates: str | None = None,
) -> list[str]:
    """The options given that `kind` does not take (see APPLIES): municipality, period,
    log, dates. With log numbers, a log takes neither municipality nor period."""
    given = {
        "municipality": municipality_id is not None,
        "period": period is not None and (period.start or period.end) is not None,
        "log": bool(log_ids),
        "dates": bool(dates),
    }
    allowed = APPLIES[kind] - ({"municipality", "period"} if log_ids else set())
    return [option for option, present in given.items() if present and option not in allowed]


def report_period(ctx: Context, kind: str, period: Period) -> Period:
    """The final report and the bundle always cover a bounded period: a missing bound is
    the contract's (ctx.rules.contract_start / contract_end)."""
    if kind not in ("final", "bundle"):
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
    """The document, addressed, and whether its selection was empty (it then says so
    itself)."""
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
    document, empty, place = _laid_out(
        ctx, kind, language, period, municipality_id, progress, log_ids
    )
    return addressed(ctx, language, document), empty, place


def _laid_out(
    ctx: Context,
    kind: str,
    language: str,
    period: Period,
    municipality_id: int | None,
    progress: Progress,
    log_ids: list[int] | None,
) -> tuple[Document, bool, str | None]:
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
    """The Word and PDF writers (python-docx, fpdf2 with its fonts) are imported when a
    document is first written, not by every process that merely routes intents: each
    costs about a second of start-up the command line and the workers need not pay."""
    if fmt == "docx":
        from handlers.documents.word import render_docx

        return render_docx(document)
    if fmt == "pdf":
        from handlers.documents.pdf import render_pdf

        return render_pdf(document)
    if fmt == "html":
        return render_html(document)
    raise KeyError(fmt)


def build(
    ctx: Context,
    kind: str,
    fmt: str,
    language: str,
    period: Period | None = None,
    municipality_id: int | None = None,
    progress: Progress = quiet,
    log_ids: list[int] | None = None,
    dates: str | None = None,
) -> Built:
    """`log_ids`: exact 業務日報 numbers (kind log only); `dates`: era or iso (the workbook
    only). Options that `kind` does not take are a programming error here: the chat form
    and the command line refuse them first."""
    if kind not in ALL_KINDS or fmt not in formats_of(kind):
        raise ValueError(f"unknown document {kind!r} or format {fmt!r}")
    period = period or Period()
    if refused := not_applicable(kind, municipality_id, period, log_ids, dates):
        raise ValueError(f"{kind} does not take {refused}")
    if kind in EXPORTS:
        return _export(ctx, kind, language, period, progress, dates or "era")
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


def _export(
    ctx: Context, kind: str, language: str, period: Period, progress: Progress, dates: str
) -> Built:
    """The workbook or the bundle (imported here: the bundle builds its documents
    through this module)."""
    fmt = EXPORTS[kind]
    period = report_period(ctx, kind, period)
    if kind == "workbook":
        from handlers.documents.workbook import build_workbook  # openpyxl, as in `render`

        content = build_workbook(ctx, language, period, dates, ctx.rules.submitter)
    else:
        from handlers.documents.bundle import build_bundle

        content = build_bundle(ctx, language, period, progress)
    suffix = "-".join(d.strftime("%Y%m%d") for d in (period.start, period.end) if d)
    return Built(None, File(file_name(language, kind, fmt, suffix), content, MIME[fmt]), False)


# -- chat --------------------------------------------------------------------------
@intent("report.form", policy.REPORT_REQUEST)
def report_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    with ctx.db.transaction() as session:
        choices = {"municipality": municipality_choices(session)}
    values = {"report_document": "final"}  # the format: the document's first (Word)
    return Reply((forms.build(REPORT, actor.language, values=values, choices=choices),))


@intent("report.request", policy.REPORT_REQUEST)
def request_report(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """Prefecture staff ask for a document and receive it as a file in the reply."""
    lang = actor.language
    with ctx.db.transaction() as session:
        choices = {"municipality": municipality_choices(session)}
    clean = forms.check(ctx, actor, REPORT, values, choices=choices)
    start: date | None = clean.get("report_from")
    end: date | None = clean.get("report_to")
    municipality = int(clean["municipality"]) if clean.get("municipality") else None
    kind = clean["report_document"]
    fmt = clean.get("report_format") or formats_of(kind)[0]
    dates = clean.get("report_dates") or None
    errors = _request_errors(lang, kind, fmt, municipality, Period(start, end), dates)
    if errors:
        raise_invalid(lang, values, choices, errors)
    built = build(ctx, kind, fmt, lang, Period(start, end), municipality, dates=dates)
    with ctx.db.transaction() as session:
        audit.record(
            session,
            at=ctx.clock.now(),
            actor_id=actor.id,
            action="report.request",
            target_type="document",
            target_id=clean["report_document"],
            after={"file": built.file.name, "format": fmt},
        )
    key = "report.ready_empty" if built.empty else "report.ready"
    return Reply(
        (Text(t(lang, key, name=built.file.name), "success"), built.file),
        data={"file": built.file.name, "empty": built.empty},
    )


def _request_errors(
    language: str,
    kind: str,
    fmt: str,
    municipality: int | None,
    period: Period,
    dates: str | None,
) -> dict[str, str]:
    """Every field error of a report request at once: a reversed period, options the
    document does not take, a format it is not written in."""
    errors: dict[str, str] = {}
    if period.start and period.end and period.start > period.end:
        errors["report_to"] = t(language, "report.error.range")
    document = t(language, f"choice.report_document.{kind}")
    message = t(language, "report.error.not_applicable", document=document)
    fields = {"municipality": "municipality", "period": "report_from", "dates": "report_dates"}
    for option in not_applicable(kind, municipality, period, dates=dates):
        errors.setdefault(fields[option], message)
    if fmt not in formats_of(kind):
        errors["report_format"] = t(
            language,
            "report.error.format_of",
            document=document,
            formats=", ".join(t(language, f"choice.report_format.{f}") for f in formats_of(kind)),
        )
    return errors


def raise_invalid(
    language: str, values: dict[str, Any], choices: dict[str, Any], errors: dict[str, str]
) -> NoReturn:
    form = forms.build(REPORT, language, choices=choices).with_errors(values, errors)
    raise Invalid(errors, form)


@intent("casebook.form", policy.CASEBOOK_SEARCH)
def casebook_form(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    return Reply((forms.build(CASEBOOK, actor.language),))


@intent("casebook.search", policy.CASEBOOK_SEARCH)
def casebook_search(ctx: Context, actor: Actor, values: dict[str, Any]) -> Reply:
    """R13: the best few anonymised cases and public practices for the words typed."""
    lang = actor.language
    clean = forms.check(ctx, actor, CASEBOOK, values)
    words = clean["casebook_words"]
    with ctx.db.transaction() as session:
        # published cases, and the reader's own town's (#18: the prefecture publishes)
        hits = search(session, lang, words, shown_to=actor.municipality_id)
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
