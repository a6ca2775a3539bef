"""`python -m bot report KIND …`: write one document, the workbook or the submission
bundle to a file, and `write_documents` for the demo (every document once, in each
format).

--out names the file; if it is a folder (an existing one, or a name without extension,
created), the file gets its default name there (支援計画書_宇土市.docx, 提出書類一式_….zip).
The format comes from --format, else the extension of --out, else the kind's first
(docx; xlsx for the workbook, zip for the bundle); a format the kind is not written in,
or --format with an --out of another extension (docx to x.pdf), is refused.
`--dates era|iso` (the workbook only) chooses how its dates are written.
`--log ID` (repeatable) writes exactly those 業務日報 (one, or a few together).
Options a document does not take are refused (`reports.APPLIES`: e.g. `final
--municipality`, `plan --from`), never silently ignored. Progress lines go to stderr; a
bad argument or an output path that cannot be written stops with one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from handlers.core.context import Context
from handlers.core.i18n import t
from handlers.documents import build
from handlers.documents.gathering import Period
from handlers.documents.model import FORMATS
from storage import engagements, people, report_rows


class BadArgument(Exception):
    """One line for the user, already worded."""


def _day(language: str, option: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadArgument(t(language, "report.error.date", option=option, value=value)) from None


def _format(language: str, kind: str, chosen: str | None, out: Path) -> str:
    extension = out.suffix.lstrip(".").lower() if not out.is_dir() and out.suffix else ""
    fmt = chosen or extension or build.formats_of(kind)[0]
    if fmt not in build.formats_of(kind):
        raise BadArgument(
            t(
                language,
                "report.error.format",
                document=t(language, f"choice.report_document.{kind}"),
                formats=", ".join(build.formats_of(kind)),
            )
        )
    if chosen and extension and extension != chosen:
        raise BadArgument(
            t(language, "report.error.extension", format=chosen, path=str(out), extension=extension)
        )
    return fmt


OPTION_NAMES = {
    "municipality": "--municipality",
    "period": "--from/--to",
    "log": "--log",
    "dates": "--dates",
}


def _applies(language: str, kind: str, refused: list[str], log_ids: list[int] | None) -> None:
    if not refused:
        return
    allowed = build.APPLIES[kind] - ({"municipality", "period"} if log_ids else set())
    raise BadArgument(
        t(
            language,
            "report.error.option",
            option=", ".join(OPTION_NAMES[o] for o in refused),
            document=t(language, f"choice.report_document.{kind}"),
            allowed=", ".join(OPTION_NAMES[o] for o in OPTION_NAMES if o in allowed)
            or t(language, "report.error.no_options"),
        )
    )


def run(ctx: Context, args: argparse.Namespace, language: str, err: TextIO = sys.stderr) -> int:
    log_ids: list[int] | None = list(getattr(args, "log", None) or []) or None
    dates: str | None = getattr(args, "dates", None)
    try:
        start = _day(language, "--from", args.start)
        end = _day(language, "--to", args.end)
        if start and end and start > end:
            raise BadArgument(t(language, "report.error.range"))
        fmt = _format(language, args.kind, args.format, args.out)
        municipality_id = None
        with ctx.db.transaction() as session:
            if args.municipality:
                found = people.municipality_named(session, args.municipality)
                if found is None:
                    raise BadArgument(
                        t(language, "report.error.municipality", value=args.municipality)
                    )
                municipality_id = found.id
            missing = sorted(set(log_ids or ()) - report_rows.existing_log_ids(session, log_ids))
        period = Period(start, end)
        _applies(
            language,
            args.kind,
            build.not_applicable(args.kind, municipality_id, period, log_ids, dates),
            log_ids,
        )
        if missing:
            raise BadArgument(t(language, "report.error.log", numbers=", ".join(map(str, missing))))
        if not args.out.is_dir() and not args.out.parent.is_dir():
            raise BadArgument(t(language, "report.error.out", path=str(args.out)))
        if not args.out.suffix and not args.out.exists():
            args.out.mkdir()  # a name without extension is a folder
    except BadArgument as error:
        print(str(error), file=err)
        return 2

    def progress(stage: str, count: int) -> None:
        print(t(language, stage, count=count), file=err, flush=True)

    built = build.build(
        ctx, args.kind, fmt, language, period, municipality_id, progress, log_ids, dates
    )
    path = args.out / built.file.name if args.out.is_dir() else args.out
    try:
        path.write_bytes(built.file.content)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        print(t(language, "report.error.write", path=str(path), reason=reason), file=err)
        return 2
    key = "report.written_empty" if built.empty else "report.written"
    print(t(language, key, path=str(path), size=len(built.file.content)), file=err)
    return 0


def write_documents(ctx: Context, out_dir: Path, language: str = "ja") -> list[Path]:
    """Every document once, in Word, HTML and PDF, into `out_dir` (created if missing): the
    support plan of the first BPR municipality, its work logs, the office-day minutes,
    the final report over the contract period and the case book. Returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with ctx.db.transaction() as session:
        first = next(iter(engagements.listing(session)), None)
    municipality_id = first.municipality_id if first else None
    contract = Period(ctx.rules.contract_start, ctx.rules.contract_end)
    wanted = [
        ("plan", Period(), municipality_id),
        ("log", contract, municipality_id),
        ("minutes", contract, None),
        ("final", Period(), None),  # the contract period (reports.report_period)
        ("casebook", Period(), None),
    ]
    written = []
    for kind, period, place in wanted:
        for fmt in FORMATS:
            built = build.build(ctx, kind, fmt, language, period, place)
            path = out_dir / built.file.name
            path.write_bytes(built.file.content)
            written.append(path)
    return written
