"""`python -m bot report KIND …`: write one document to a file, and `write_documents` for
the demo (every document once, in both formats).

--out names the file; if it is an existing folder, the file gets its default name there
(支援計画書_宇土市.docx …). The format comes from --format, else the extension of --out,
else docx. Progress lines go to stderr; a bad argument stops with one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from handlers import reports
from handlers.context import Context
from handlers.i18n import t
from handlers.report_data import Period
from storage import engagements, people


class BadArgument(Exception):
    """One line for the user, already worded."""


def _day(language: str, option: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadArgument(t(language, "report.error.date", option=option, value=value)) from None


def _format(language: str, chosen: str | None, out: Path) -> str:
    fmt = chosen or (out.suffix.lstrip(".").lower() if not out.is_dir() and out.suffix else "docx")
    if fmt not in reports.FORMATS:
        raise BadArgument(t(language, "report.error.format"))
    return fmt


def run(ctx: Context, args: argparse.Namespace, language: str, err: TextIO = sys.stderr) -> int:
    try:
        start = _day(language, "--from", args.start)
        end = _day(language, "--to", args.end)
        if start and end and start > end:
            raise BadArgument(t(language, "report.error.range"))
        fmt = _format(language, args.format, args.out)
        municipality_id = None
        if args.municipality:
            with ctx.db.transaction() as session:
                found = people.municipality_named(session, args.municipality)
            if found is None:
                raise BadArgument(t(language, "report.error.municipality", value=args.municipality))
            municipality_id = found.id
        if not args.out.is_dir() and not args.out.parent.exists():
            raise BadArgument(t(language, "report.error.out", path=str(args.out)))
    except BadArgument as error:
        print(str(error), file=err)
        return 2

    def progress(stage: str, count: int) -> None:
        print(t(language, stage, count=count), file=err, flush=True)

    built = reports.build(
        ctx, args.kind, fmt, language, Period(start, end), municipality_id, progress
    )
    path = args.out / built.file.name if args.out.is_dir() else args.out
    path.write_bytes(built.file.content)
    key = "report.written_empty" if built.empty else "report.written"
    print(t(language, key, path=str(path), size=len(built.file.content)), file=err)
    return 0


def write_documents(ctx: Context, out_dir: Path, language: str = "ja") -> list[Path]:
    """Every document once, in Word and HTML, into `out_dir` (created if missing): the
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
        ("final", contract, None),
        ("casebook", Period(), None),
    ]
    written = []
    for kind, period, place in wanted:
        for fmt in reports.FORMATS:
            built = reports.build(ctx, kind, fmt, language, period, place)
            path = out_dir / built.file.name
            path.write_bytes(built.file.content)
            written.append(path)
    return written
