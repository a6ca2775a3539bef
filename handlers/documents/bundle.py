"""The submission bundle (提出書類一式): one zip of everything the prefecture files.

    00_目録.docx / .pdf           the index: each file of the zip, what it is, its size
    01_実績報告書/                 Word and PDF
    02_支援計画書/                 every BPR municipality's plan, Word and PDF
    03_業務日報/                   every log of the period (single and batched), Word and PDF
    04_議事録/                     Word and PDF
    05_相談事例集/                 Word and PDF
    06_集計表/集計表.xlsx
    07_添付資料/業務日報No.12/…    the files attached to each log and minutes (§2.5(2))

Every document comes from `reports.document_for` (the same documents as chat and the
command line, with 宛先 and 提出者); the period defaults to the contract's, as for the
final report. Attachments are read one at a time and written straight into the zip, so
memory stays flat however many there are. `progress` hears of each file written.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from handlers.core.clock import TOKYO
from handlers.core.context import Context
from handlers.core.i18n import t
from handlers.documents import build
from handlers.documents.gathering import Period, Progress, quiet
from handlers.documents.layout import document, period_text
from handlers.documents.model import Table
from handlers.documents.workbook import build_workbook
from storage import attachments, report_rows, sessions
from storage.models import SessionKind, SessionStatus

ZIP_MIME = "application/zip"
DOCUMENT_FORMATS = ("docx", "pdf")  # what officials file; HTML stays a chat/print view


@dataclass(frozen=True)
class Entry:
    path: str  # inside the zip
    what: str  # worded: the document's title and what it covers
    size: int


def build_bundle(ctx: Context, language: str, period: Period, progress: Progress = quiet) -> bytes:
    """The zip's bytes; `period` is completed with the contract's bounds."""
    period = build.report_period(ctx, "final", period)
    stamp = ctx.clock.now().astimezone(TOKYO).timetuple()[:6]  # the files' time: Tokyo
    buffer = BytesIO()
    entries: list[Entry] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:

        def add(path: str, what: str, content: bytes) -> None:
            entry = zipfile.ZipInfo(path, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content)
            entries.append(Entry(path, what, len(content)))
            progress("bundle.progress.file", len(entries))

        for path, what, content in _documents(ctx, language, period):
            add(path, what, content)
        workbook = build_workbook(ctx, language, period, "era", ctx.rules.submitter)
        add(
            f"{_folder(language, 6, 'workbook')}/{t(language, 'doc.file.workbook')}.xlsx",
            t(language, "doc.title.workbook"),
            workbook,
        )
        attachment_files(ctx, language, period, add)
        index = build.addressed(ctx, language, index_document(ctx, language, period, entries))
        for fmt in DOCUMENT_FORMATS:
            name = f"00_{t(language, 'doc.file.index')}.{fmt}"
            add(name, index.title, build.render(index, fmt))
    return buffer.getvalue()


def _folder(language: str, number: int, kind: str) -> str:
    return f"{number:02d}_{t(language, f'doc.file.{kind}')}"


def _documents(ctx: Context, language: str, period: Period) -> Iterator[tuple[str, str, bytes]]:
    """(path, what, bytes) of every document, Word and PDF. The plans and the logs are
    one document each (every plan; every log of the period, single and batched): one
    PDF per document keeps the bundle within its time, as each PDF embeds its fonts."""
    wanted = [
        (1, "final", period),
        (2, "plan", Period()),
        (3, "log", period),
        (4, "minutes", period),
        (5, "casebook", Period()),
    ]
    for number, kind, covered in wanted:
        built = build.document_for(ctx, kind, language, covered)[0]
        what = f"{built.title} {built.subtitle}".strip()
        for fmt in DOCUMENT_FORMATS:
            path = f"{_folder(language, number, kind)}/{build.file_name(language, kind, fmt)}"
            yield path, what, build.render(built, fmt)


def attachment_files(ctx: Context, language: str, period: Period, add) -> None:
    """The files attached to the period's logs and office-day minutes, under
    07_添付資料/業務日報No.N/ and 07_添付資料/議事録No.N/, read one at a time."""
    root = f"07_{t(language, 'bundle.attachments')}"
    start, end = period.bounds()
    with ctx.db.transaction() as session:
        log_ids = [
            log.id
            for log, first in report_rows.logs_with_first_start(session)
            if log.id is not None and period.holds(first or log.filed_at)
        ]
        days = [
            s.id
            for s in sessions.listing(session, start=start, end=end)
            if s.kind == SessionKind.OFFICE_DAY and s.status != SessionStatus.CANCELLED and s.id
        ]
        minutes_ids = [
            m.id for m in report_rows.minutes_of_sessions(session, days).values() if m.id
        ]
        stored = attachments.for_logs(session, log_ids) + attachments.for_minutes(
            session, minutes_ids
        )
        taken: set[str] = set()
        for file in stored:
            if file.log_id is not None:
                folder = t(language, "bundle.log_folder", number=file.log_id)
                owner = t(language, "bundle.of_log", number=file.log_id)
            else:
                folder = t(language, "bundle.minutes_folder", number=file.minutes_id)
                owner = t(language, "bundle.of_minutes", number=file.minutes_id)
            path = _unique(f"{root}/{folder}/{file.filename}", taken)
            add(path, owner, file.read(session))


def _unique(path: str, taken: set[str]) -> str:
    """Two files of one log with the same name: the second becomes name (2).ext."""
    candidate, number = path, 1
    stem, dot, extension = path.rpartition(".")
    while candidate in taken:
        number += 1
        candidate = f"{stem} ({number}).{extension}" if dot else f"{path} ({number})"
    taken.add(candidate)
    return candidate


def index_document(ctx: Context, language: str, period: Period, entries: list[Entry]):
    """目録: every file of the bundle with what it is and its size."""
    lang = language
    table = Table(
        (
            t(lang, "doc.field.number"),
            t(lang, "doc.field.file"),
            t(lang, "doc.field.contents"),
            t(lang, "doc.field.size"),
        ),
        tuple(
            (str(n), e.path, e.what, t(lang, "doc.size_kb", size=max(1, round(e.size / 1024))))
            for n, e in enumerate(entries, start=1)
        ),
    )
    subtitle = t(lang, "bundle.subtitle", period=period_text(lang, period), count=len(entries))
    return document(lang, t(lang, "doc.title.index"), subtitle, ctx.clock.now(), [table])
