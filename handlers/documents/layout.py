"""Gathered contexts → documents, worded in the reader's language with era dates.

The structure of each document lives here once (see `handlers.documents.model`): 支援計画書,
業務日報, 議事録, 実績報告書 (with the plans, logs and minutes attached) and the
相談事例集. Every label is a catalog key (`doc.*`); an empty selection gives a document
that says so rather than an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from unicodedata import east_asian_width

from handlers.core.clock import TOKYO
from handlers.core.i18n import join, t
from handlers.core.text_rules import printable
from handlers.documents.casebook import Case, load_practices
from handlers.documents.era import era_date, era_month, era_when, fiscal_year_label
from handlers.documents.gathering import (
    FinalData,
    LogData,
    MinutesData,
    Period,
    PlanData,
    SessionRow,
)
from handlers.documents.model import (
    Block,
    Document,
    Heading,
    KeyValues,
    PageBreak,
    Paragraph,
    Table,
)
from storage.models import SessionKind, StepStatus
from storage.sessions import Tally


def document(
    language: str, title: str, subtitle: str, now: datetime, blocks: list[Block]
) -> Document:
    """Every document's frame: title, subtitle, 作成日 and fonts (明朝 body, ゴシック
    headings); `now` is the generation time (printed as the issue date, and the files'
    created time). 宛先 and 提出者 come from the configuration (`reports.addressed`).

    Every text passes `printable` here, once for all writers (Word, HTML, PDF): stored
    text may hold characters no XML or PDF writer accepts."""
    return Document(
        language=language,
        title=printable(title),
        subtitle=printable(subtitle),
        issued=t(language, "doc.issued", day=era_date(language, now)),
        blocks=tuple(_printable(b) for b in blocks),
        font=t(language, "doc.font"),
        heading_font=t(language, "doc.font.heading"),
        generated_at=now,
    )


def _printable(block: Block) -> Block:
    if isinstance(block, Heading | Paragraph):
        return replace(block, text=printable(block.text))
    if isinstance(block, KeyValues):
        return KeyValues(tuple((printable(k), printable(v)) for k, v in block.rows))
    if isinstance(block, Table):
        return Table(
            tuple(printable(c) for c in block.header),
            tuple(tuple(printable(c) for c in row) for row in block.rows),
        )
    return block


def period_text(language: str, period: Period) -> str:
    if period.start is None and period.end is None:
        return t(language, "doc.period.all")
    start = era_date(language, period.start) if period.start else "-"
    end = era_date(language, period.end) if period.end else "-"
    return t(language, "doc.period.range", start=start, end=end)


def _empty(language: str, period: Period) -> Paragraph:
    return Paragraph(t(language, "doc.empty", period=period_text(language, period)), "empty")


def _names(language: str, names: tuple[str, ...] | list[str]) -> str:
    return join(language, names) if names else t(language, "doc.none")


def _when(language: str, row: SessionRow) -> str:
    end = row.ends_at.astimezone(TOKYO)
    return t(language, "doc.when", start=era_when(language, row.starts_at), end=f"{end:%H:%M}")


# -- 支援計画書 ----------------------------------------------------------------------
def plan_blocks(language: str, plan: PlanData, level: int = 2) -> list[Block]:
    lang = language
    blocks: list[Block] = [
        Heading(t(lang, "doc.plan.heading", municipality=plan.municipality), level),
        KeyValues(
            (
                (t(lang, "doc.field.municipality"), plan.municipality),
                (t(lang, "doc.field.department"), plan.department),
                (t(lang, "doc.field.application"), plan.application_number),
                (t(lang, "doc.field.applied_on"), era_date(lang, plan.applied_on)),
                (t(lang, "doc.field.goal"), plan.goal or t(lang, "doc.plan.no_goal")),
                (t(lang, "doc.field.consultants"), _names(lang, plan.consultants)),
            )
        ),
        Heading(t(lang, "doc.plan.revisions"), level + 1),
    ]
    if plan.revisions:
        blocks.append(
            Table(
                (
                    t(lang, "doc.field.date"),
                    t(lang, "doc.field.goal"),
                    t(lang, "doc.field.reason"),
                    t(lang, "doc.field.recorded_by"),
                ),
                tuple(
                    (era_date(lang, r.revised_at), r.goal, r.reason or "-", r.by)
                    for r in plan.revisions
                ),
            )
        )
    else:
        blocks.append(Paragraph(t(lang, "doc.plan.no_revisions"), "note"))
    blocks += [
        Heading(t(lang, "doc.plan.steps"), level + 1),
        Table(
            (
                t(lang, "doc.field.step"),
                t(lang, "doc.field.phase"),
                t(lang, "doc.field.planned_day"),
                t(lang, "doc.field.actual"),
                t(lang, "doc.field.status"),
                t(lang, "doc.field.note"),
            ),
            tuple(
                (
                    str(s.number),
                    t(lang, f"phase.{s.phase}"),
                    era_date(lang, s.planned) if s.planned else "-",
                    _done_days(lang, s.done_days),
                    t(lang, f"step.{s.status}"),
                    s.note or "",
                )
                for s in plan.steps
            ),
        ),
    ]
    return blocks


def plan_document(
    language: str, plans: list[PlanData], now: datetime, municipality: str | None = None
) -> Document:
    blocks: list[Block] = []
    for index, plan in enumerate(plans):
        if index:
            blocks.append(PageBreak())
        blocks += plan_blocks(language, plan)
    if not plans:
        blocks.append(Paragraph(t(language, "doc.plan.empty"), "empty"))
    subtitle = municipality or t(language, "doc.plan.all")
    return document(language, t(language, "doc.title.plan"), subtitle, now, blocks)


def _done_days(language: str, days: tuple[date, ...]) -> str:
    """実施日: the day of the session a step was done in, first〜last when it spans two."""
    if not days:
        return "-"
    if len(days) == 1:
        return era_date(language, days[0])
    return t(
        language, "step.span", first=era_date(language, days[0]), last=era_date(language, days[-1])
    )


# -- 業務日報 ------------------------------------------------------------------------
def _per_session(language: str, log: LogData, value: Callable[[SessionRow], str]) -> str:
    """A fact of the log's sessions: one value when they agree, else one dated line per
    session (a batched log over a visit and an online session says which was which)."""
    values = [value(s) for s in log.sessions]
    if len(set(values)) <= 1:
        return values[0] if values else "-"
    return "\n".join(
        t(language, "doc.log.per_session", when=era_when(language, s.starts_at), value=v)
        for s, v in zip(log.sessions, values, strict=True)
    )


def _where(language: str, row: SessionRow) -> str:
    return row.where or _names(language, row.municipalities)


def log_blocks(language: str, log: LogData, level: int = 2) -> list[Block]:
    lang = language
    first = log.sessions[0].starts_at if log.sessions else log.filed_at
    consultants = tuple(dict.fromkeys(c for s in log.sessions for c in s.consultants))
    blocks: list[Block] = [
        Heading(t(lang, "doc.log.heading", number=log.id, day=era_date(lang, first)), level),
        KeyValues(
            (
                (t(lang, "doc.field.municipality"), _names(lang, log.municipalities)),
                (
                    t(lang, "doc.field.when"),
                    "\n".join(_when(lang, s) for s in log.sessions) or era_date(lang, first),
                ),
                (
                    t(lang, "doc.field.method"),
                    _per_session(lang, log, lambda s: t(lang, f"choice.method.{s.mode}")),
                ),
                (t(lang, "doc.field.place"), _per_session(lang, log, lambda s: _where(lang, s))),
                (t(lang, "doc.field.consultants"), _names(lang, consultants or (log.author,))),
                (t(lang, "doc.field.filed_by"), log.author),
                (t(lang, "doc.field.filed_on"), era_date(lang, log.filed_at)),
            )
        ),
        Heading(t(lang, "doc.log.attendees"), level + 1),
    ]
    if log.attendees:
        blocks.append(
            Table(
                (
                    t(lang, "doc.field.department"),
                    t(lang, "doc.field.title"),
                    t(lang, "doc.field.name"),
                ),
                tuple((a.department, a.title, a.name) for a in log.attendees),
            )
        )
    else:
        blocks.append(Paragraph(t(lang, "doc.none"), "note"))
    blocks += [
        Heading(t(lang, "doc.log.summary"), level + 1),
        Paragraph(log.summary),
        Heading(t(lang, "doc.log.response"), level + 1),
        Paragraph(log.response),
        Heading(t(lang, "doc.log.issues"), level + 1),
    ]
    if log.issues:
        blocks.append(
            Table(
                (
                    t(lang, "doc.field.issue"),
                    t(lang, "doc.field.policy"),
                    t(lang, "doc.field.status"),
                ),
                tuple(
                    (i.content, i.policy, t(lang, f"issue.status.{i.status}")) for i in log.issues
                ),
            )
        )
    else:
        blocks.append(Paragraph(t(lang, "doc.none"), "note"))
    blocks += [
        Heading(t(lang, "doc.log.next_plan"), level + 1),
        Paragraph(log.next_plan or t(lang, "doc.none")),
        Heading(t(lang, "doc.log.attachments"), level + 1),
        Paragraph("\n".join(log.attachments) or t(lang, "doc.none")),
    ]
    return blocks


def log_document(
    language: str,
    logs: list[LogData],
    period: Period,
    now: datetime,
    municipality: str | None = None,
) -> Document:
    blocks: list[Block] = []
    for index, log in enumerate(logs):
        if index:
            blocks.append(PageBreak())
        blocks += log_blocks(language, log)
    if not logs:
        blocks.append(_empty(language, period))
    subtitle = " ".join(x for x in (municipality, period_text(language, period)) if x)
    return document(language, t(language, "doc.title.log"), subtitle, now, blocks)


# -- 議事録 --------------------------------------------------------------------------
def minutes_blocks(language: str, minutes: MinutesData, level: int = 2) -> list[Block]:
    lang = language
    row = minutes.session
    return [
        Heading(t(lang, "doc.minutes.heading", day=era_date(lang, row.starts_at)), level),
        KeyValues(
            (
                (t(lang, "doc.field.when"), _when(lang, row)),
                (t(lang, "doc.field.place"), row.place or "-"),
                (t(lang, "doc.field.consultants"), _names(lang, row.consultants)),
                (t(lang, "doc.field.attendees"), minutes.attendees),
                (t(lang, "doc.field.recorded_by"), minutes.author),
                (t(lang, "doc.field.filed_on"), era_date(lang, minutes.filed_at)),
            )
        ),
        Heading(t(lang, "doc.minutes.body"), level + 1),
        Paragraph(minutes.body),
    ]


def minutes_document(
    language: str, minutes: list[MinutesData], period: Period, now: datetime
) -> Document:
    blocks: list[Block] = []
    for index, item in enumerate(minutes):
        if index:
            blocks.append(PageBreak())
        blocks += minutes_blocks(language, item)
    if not minutes:
        blocks.append(_empty(language, period))
    return document(
        language, t(language, "doc.title.minutes"), period_text(language, period), now, blocks
    )


# -- 実績報告書 ----------------------------------------------------------------------
KINDS = tuple(k.value for k in SessionKind)


def _kind(language: str, kind: str) -> str:
    return t(language, f"choice.session_kind.{kind}")


def _month_cell(language: str, counts: Tally | None) -> str:
    """Held in the month, with what is still only booked beside it: a booked month is
    never shown as held (月別の実施回数)."""
    if counts is None or not counts.booked:
        return str(counts.held if counts else 0)
    return t(language, "doc.final.month_cell", held=counts.held, booked=counts.booked)


def final_document(language: str, data: FinalData, project: str) -> Document:
    """`project`: the contract's name as the prefecture calls it (a catalog text)."""
    lang = language
    period = data.period
    blocks: list[Block] = [
        Heading(t(lang, "doc.final.overview"), 2),
        KeyValues(
            (
                (t(lang, "doc.field.project"), project),
                (t(lang, "doc.field.period"), period_text(lang, period)),
            )
        ),
        Paragraph(t(lang, "doc.final.purpose")),
        Table(
            (t(lang, "doc.field.program"), t(lang, "doc.field.plan")),
            tuple((_kind(lang, p.kind), str(p.plan)) for p in data.programs),
        ),
        Heading(t(lang, "doc.final.team"), 2),
    ]
    if data.consultants:
        blocks.append(
            Table(
                (
                    t(lang, "doc.field.name"),
                    t(lang, "doc.field.role"),
                    t(lang, "doc.field.qualifications"),
                ),
                tuple(
                    (
                        c.name,
                        t(lang, "doc.final.lead" if c.lead else "doc.final.member"),
                        _names(
                            lang, [t(lang, f"choice.qualifications.{q}") for q in c.qualifications]
                        ),
                    )
                    for c in data.consultants
                ),
            )
        )
    else:
        blocks.append(Paragraph(t(lang, "doc.none"), "note"))
    blocks.append(Heading(t(lang, "doc.final.schedule"), 2))
    if data.months:
        blocks.append(
            Table(
                (t(lang, "doc.field.month"), *(_kind(lang, k) for k in KINDS)),
                tuple(
                    (era_month(lang, m.month), *(_month_cell(lang, m.counts.get(k)) for k in KINDS))
                    for m in data.months
                ),
            )
        )
        blocks.append(Paragraph(t(lang, "doc.final.month_note"), "note"))
    else:
        blocks.append(_empty(lang, period))
    blocks += [
        Heading(t(lang, "doc.final.results"), 2),
        Table(
            (
                t(lang, "doc.field.program"),
                t(lang, "doc.field.plan"),
                t(lang, "session.status.held"),
                t(lang, "session.status.booked"),
                t(lang, "doc.field.joint"),
                t(lang, "doc.field.ratio"),
            ),
            tuple(
                (
                    _kind(lang, p.kind),
                    str(p.plan),
                    str(p.held),
                    str(p.booked),
                    str(p.joint),
                    f"{p.held / p.plan:.0%}" if p.plan else "-",
                )
                for p in data.programs
            ),
        ),
        Paragraph(t(lang, "doc.final.joint_note"), "note"),
    ]
    if data.empty:
        blocks.append(_empty(lang, period))
    blocks.append(Heading(t(lang, "doc.final.goals"), 3))
    if data.plans:
        blocks.append(
            Table(
                (
                    t(lang, "doc.field.municipality"),
                    t(lang, "doc.field.department"),
                    t(lang, "doc.field.goal"),
                    t(lang, "doc.field.progress"),
                    t(lang, "doc.field.reached"),
                ),
                tuple(
                    (
                        p.municipality,
                        p.department,
                        p.goal or t(lang, "doc.plan.no_goal"),
                        t(
                            lang,
                            "doc.final.progress",
                            done=sum(s.status == StepStatus.DONE for s in p.steps),
                            skipped=sum(s.status == StepStatus.SKIPPED for s in p.steps),
                            total=len(p.steps),
                        ),
                        t(lang, "doc.final.reached" if p.reached else "doc.final.in_progress"),
                    )
                    for p in data.plans
                ),
            )
        )
    else:
        blocks.append(Paragraph(t(lang, "doc.plan.empty"), "note"))
    blocks.append(Heading(t(lang, "doc.final.meeting"), 3))
    if data.results_meeting is not None:
        blocks.append(
            KeyValues(
                (
                    (t(lang, "doc.field.when"), _when(lang, data.results_meeting)),
                    (t(lang, "doc.field.presenters"), _names(lang, data.presenters)),
                )
            )
        )
    else:
        blocks.append(Paragraph(t(lang, "doc.none"), "note"))
    blocks += _attachments(lang, data)
    subtitle = t(lang, "doc.final.subtitle", project=project, period=period_text(lang, period))
    return document(lang, t(lang, "doc.title.final"), subtitle, data.generated_at, blocks)


def _attachments(lang: str, data: FinalData) -> list[Block]:
    blocks: list[Block] = [PageBreak(), Heading(t(lang, "doc.final.attached_plans"), 2)]
    for plan in data.plans:
        blocks += plan_blocks(lang, plan, 3)
    if not data.plans:
        blocks.append(Paragraph(t(lang, "doc.plan.empty"), "note"))
    blocks += [PageBreak(), Heading(t(lang, "doc.final.attached_logs"), 2)]
    for log in data.logs:
        blocks += log_blocks(lang, log, 3)
    if not data.logs:
        blocks.append(_empty(lang, data.period))
    blocks += [PageBreak(), Heading(t(lang, "doc.final.attached_minutes"), 2)]
    for minutes in data.minutes:
        blocks += minutes_blocks(lang, minutes, 3)
    if not data.minutes:
        blocks.append(_empty(lang, data.period))
    return blocks


def project_name(language: str, period: Period) -> str:
    """令和8年度 市町村へのデジタル人材派遣等業務委託: named by the fiscal year of the
    period (its first day; the final report's period is always bounded, see
    `reports.report_period`), never by the day the report is generated."""
    day = period.start or period.end
    if day is None:
        raise ValueError("the final report needs a bounded period")
    return t(language, "doc.project", fiscal_year=fiscal_year_label(language, day))


# -- 相談事例集 ----------------------------------------------------------------------
def casebook_document(language: str, cases: list[Case], now: datetime) -> Document:
    """相談事例集: the anonymised cases grouped by topic, then the public practices."""
    lang = language
    blocks: list[Block] = [Paragraph(t(lang, "casebook.intro"), "note")]
    topics = sorted({c.topic for c in cases}, key=lambda k: (k == "other", k))
    for topic in topics:
        blocks.append(Heading(t(lang, f"choice.topic.{topic}"), 2))
        for case in (c for c in cases if c.topic == topic):
            blocks += [
                Heading(t(lang, "casebook.case_heading", ref=case.ref), 3),
                KeyValues(
                    (
                        (t(lang, "doc.field.region"), case.place),
                        (t(lang, "doc.field.department"), case.department),
                        (t(lang, "doc.field.month"), case_month(lang, case)),
                        (t(lang, "doc.field.question"), case.question),
                        (t(lang, "doc.field.response"), case.response or t(lang, "doc.none")),
                        (
                            t(lang, "doc.field.issues"),
                            "\n".join(f"{c} / {p}" for c, p in case.issues) or t(lang, "doc.none"),
                        ),
                    )
                ),
            ]
    if not cases:
        blocks.append(Paragraph(t(lang, "casebook.no_cases"), "empty"))
    practices = load_practices()
    blocks += [
        PageBreak(),
        Heading(t(lang, "casebook.practices"), 2),
        Paragraph(t(lang, "casebook.practices_note", retrieved=practices.retrieved), "note"),
        Table(
            (
                t(lang, "doc.field.organisation"),
                t(lang, "doc.field.practice"),
                t(lang, "doc.field.summary"),
                t(lang, "doc.field.source"),
            ),
            tuple(
                (p.organisation, p.title, p.summary, f"{p.source}\n{p.url}")
                for p in practices.items
            ),
        ),
    ]
    subtitle = t(lang, "casebook.subtitle", count=len(cases))
    return document(lang, t(lang, "doc.title.casebook"), subtitle, now, blocks)


def case_month(language: str, case: Case) -> str:
    return era_month(language, case.when.astimezone(TOKYO).date())


# -- column widths -------------------------------------------------------------------
BODY_PT = 10.5  # the body text size of every writer
UNIT_MM = BODY_PT * 25.4 / 72 / 2  # a half-width character of the body text, in mm
TEXT_WIDTH_MM = 150.0  # A4 (210 mm) less the margins of `MARGINS_MM`
MARGINS_MM = (35.0, 30.0, 30.0, 30.0)  # top, right, bottom, left: Word's Japanese default


def text_units(text: str) -> int:
    """Width of the longest line of `text` in half-width units (a kanji or kana is two),
    as a Japanese reader sizes a column."""
    return max(
        (sum(2 if east_asian_width(c) in "WFA" else 1 for c in line) for line in text.split("\n")),
        default=0,
    )


def column_widths(
    header: tuple[str, ...] | None,
    rows: tuple[tuple[str, ...], ...],
    total: float,
    unit: float = UNIT_MM,
) -> list[float]:
    """Widths in mm (summing to `total`; `unit`: mm of a half-width character) sized to
    the content, for all three writers: each column wants its longest line (MAX_UNITS
    at most) and its header; short columns (dates, counts, statuses) get what they want,
    the long ones share the rest equally (water-filling), and room left over is spread
    in proportion to what each wanted."""
    columns = len(header) if header else len(rows[0]) if rows else 1
    wanted = [0.0] * columns
    for i in range(columns):
        longest = max((text_units(row[i]) for row in rows if i < len(row)), default=0)
        label = text_units(header[i]) if header else 0
        wanted[i] = (max(MIN_UNITS, label, min(MAX_UNITS, longest)) + PADDING_UNITS) * unit
    return fill_widths(wanted, total)


MIN_UNITS = 4  # the narrowest column: two kanji
MAX_UNITS = 60  # a longer line wraps anyway: no column asks for more
PADDING_UNITS = 2  # the cell's inner margins


def fill_widths(wanted: list[float], total: float) -> list[float]:
    """Water-filling of `wanted` (any unit) into `total`."""
    if sum(wanted) <= total:
        scale = total / sum(wanted)
        return [w * scale for w in wanted]
    widths = [0.0] * len(wanted)
    left, room = sorted(range(len(wanted)), key=lambda i: wanted[i]), total
    while left:
        share = room / len(left)
        i = left[0]
        if wanted[i] <= share:
            widths[i] = wanted[i]
            room -= wanted[i]
            left.pop(0)
        else:
            for j in left:
                widths[j] = share
            break
    return widths
