"""The workbook (集計表, .xlsx, openpyxl): the tables a prefecture keeps its own tallies in.

Sheets, each with Japanese headers, a frozen header row and an autofilter:
- 月別実施回数: held and booked per month and programme (`quotas.by_month`);
- 計画と見込み: per programme the plan, held, booked, joint and the year-end projection
  (`quotas.figures`) — the same numbers as every other count (one tally);
- 支援一覧: every session of the period, cancelled ones included with their status;
- 業務日報一覧: every 業務日報 of the period (`report_data.gather_logs`);
- 未解決課題: the issues not yet resolved, whenever they were found.

Dates are either era text (令和8年6月10日, as documents print them) or real date cells
shown as ISO (2026-06-10), which sort and compute: the official chooses (`DATE_STYLES`).
Every stored text passes `printable` (Excel refuses control characters).
"""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.i18n import join, t
from handlers.core.text_rules import as_text_cells, printable
from handlers.documents.era import era_date, era_month
from handlers.documents.gathering import Names, Period, gather_logs, session_rows
from handlers.documents.layout import MAX_UNITS, text_units
from handlers.planning import quotas
from storage import logs, sessions
from storage.models import SessionStatus

HEADER_FILL = PatternFill("solid", fgColor="EEEEEE")
WRAP_FROM = 24  # half-width units: a longer column wraps its text


class _Dates:
    """Era text or ISO date cells, as chosen."""

    def __init__(self, language: str, style: str) -> None:
        self.language, self.iso = language, style == "iso"

    def day(self, moment: datetime | date) -> Any:
        day = moment.astimezone(TOKYO).date() if isinstance(moment, datetime) else moment
        return day if self.iso else era_date(self.language, day)

    def month(self, first: date) -> Any:
        return first if self.iso else era_month(self.language, first)


def build_workbook(
    ctx: Context, language: str, period: Period, dates: str = "era", author: str = ""
) -> bytes:
    """The workbook over `period` (open issues: all of them), as .xlsx bytes."""
    lang = language
    when = _Dates(lang, dates)
    start, end = period.bounds()
    with ctx.db.transaction() as session:
        months = quotas.by_month(ctx, session, start=start, end=end)
        figures = quotas.figures(ctx, session, start=start, end=end)
        names = Names(session)
        booked = sessions.listing(session, start=start, end=end, include_cancelled=True)
        rows = session_rows(session, names, booked)
        found_logs = gather_logs(session, period, names=names)
        issues = logs.open_issues(session)
    now = ctx.clock.now()
    book = Workbook()
    book.remove(book.active)

    def kind(k: str) -> str:
        return t(lang, f"choice.session_kind.{k}")

    _sheet(
        book,
        t(lang, "xlsx.sheet.months"),
        (
            t(lang, "doc.field.month"),
            t(lang, "doc.field.program"),
            t(lang, "session.status.held"),
            t(lang, "session.status.booked"),
        ),
        [
            (when.month(m.month), kind(k), tally.held, tally.booked)
            for m in months
            for k, tally in m.counts.items()
        ],
    )
    _sheet(
        book,
        t(lang, "xlsx.sheet.figures"),
        (
            t(lang, "doc.field.program"),
            t(lang, "doc.field.plan"),
            t(lang, "session.status.held"),
            t(lang, "session.status.booked"),
            t(lang, "doc.field.joint"),
            t(lang, "quota.projected"),
        ),
        [(kind(r.kind), r.plan, r.held, r.booked, r.joint, round(r.projected)) for r in figures],
    )
    _sheet(
        book,
        t(lang, "xlsx.sheet.sessions"),
        (
            t(lang, "doc.field.number"),
            t(lang, "doc.field.date"),
            t(lang, "doc.field.start"),
            t(lang, "doc.field.end"),
            t(lang, "doc.field.program"),
            t(lang, "doc.field.status"),
            t(lang, "doc.field.method"),
            t(lang, "doc.field.municipality"),
            t(lang, "doc.field.place"),
            t(lang, "doc.field.consultants"),
        ),
        [
            (
                r.id,
                when.day(r.starts_at),
                f"{r.starts_at.astimezone(TOKYO):%H:%M}",
                f"{r.ends_at.astimezone(TOKYO):%H:%M}",
                kind(r.kind),
                t(lang, f"session.status.{_status(r.status, r.starts_at, now)}"),
                t(lang, f"choice.method.{r.mode}"),
                join(lang, r.municipalities),
                r.where or r.place,
                join(lang, r.consultants),
            )
            for r in rows.values()
        ],
    )
    _sheet(
        book,
        t(lang, "xlsx.sheet.logs"),
        (
            t(lang, "doc.field.number"),
            t(lang, "doc.field.date"),
            t(lang, "doc.field.municipality"),
            t(lang, "doc.field.method"),
            t(lang, "doc.field.consultants"),
            t(lang, "doc.field.filed_by"),
            t(lang, "doc.field.filed_on"),
            t(lang, "doc.field.summary"),
            t(lang, "doc.field.response"),
            t(lang, "doc.field.issues"),
            t(lang, "doc.log.attachments"),
        ),
        [
            (
                log.id,
                when.day(log.sessions[0].starts_at if log.sessions else log.filed_at),
                join(lang, log.municipalities),
                join(
                    lang,
                    list(dict.fromkeys(t(lang, f"choice.method.{s.mode}") for s in log.sessions)),
                ),
                join(lang, list(dict.fromkeys(c for s in log.sessions for c in s.consultants))),
                log.author,
                when.day(log.filed_at),
                log.summary,
                log.response,
                len(log.issues),
                "\n".join(log.attachments),
            )
            for log in found_logs
        ],
    )
    _sheet(
        book,
        t(lang, "xlsx.sheet.issues"),
        (
            t(lang, "doc.field.municipality"),
            t(lang, "doc.field.issue"),
            t(lang, "doc.field.policy"),
            t(lang, "doc.field.status"),
            t(lang, "doc.field.created"),
            t(lang, "doc.field.log_number"),
        ),
        [
            (
                names.place(i.municipality_id),
                i.content,
                i.policy,
                t(lang, f"issue.status.{i.status}"),
                when.day(i.created_at),
                i.log_id,
            )
            for i in issues
        ],
    )
    _properties(book, lang, author, now)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _status(status: str, starts_at: datetime, now: datetime) -> str:
    """The one vocabulary: 取消, 実施済み (begun: `counts_as_held`) or 予定."""
    if status == SessionStatus.CANCELLED:
        return "cancelled"
    return "held" if sessions.counts_as_held(status, starts_at, now) else "booked"


def _sheet(
    book: Workbook, title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    sheet: Worksheet = book.create_sheet(title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append([printable(v) if isinstance(v, str) else v for v in row])
        as_text_cells(sheet[sheet.max_row])
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font, cell.fill = bold, HEADER_FILL
        cell.alignment = Alignment(vertical="center")
    for index, label in enumerate(header, start=1):
        letter = get_column_letter(index)
        values = [row[index - 1] for row in rows]
        units = max([text_units(label)] + [_units(v) for v in values])
        sheet.column_dimensions[letter].width = min(units, MAX_UNITS) + 2
        if units > WRAP_FROM:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        if any(isinstance(v, date) for v in values):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if isinstance(cell.value, date | datetime):
                    cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(len(rows) + 1, 2)}"


def _units(value: Any) -> int:
    if isinstance(value, date):
        return 10
    return text_units(str(value))


def _properties(book: Workbook, language: str, author: str, now: datetime) -> None:
    properties = book.properties
    properties.title = t(language, "doc.title.workbook")
    properties.creator = author or "DX Desk"
    properties.lastModifiedBy = "DX Desk"
    properties.language = "ja-JP" if language == "ja" else "en-US"
    moment = now.astimezone(TOKYO).replace(tzinfo=None)
    properties.created = properties.modified = moment
