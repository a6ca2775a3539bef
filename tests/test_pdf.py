"""#18: every document as PDF, read back with independent parsers: poppler's pdftotext
for the text (Japanese extractable, "n / N" page numbers, 宛先 and 提出者 from the
configuration) and pypdf for the structure (A4 pages, the Japanese fonts embedded, the
document properties).

Why poppler for the text: the fonts are CID-keyed CFF (Noto Serif/Sans JP), which fpdf2
embeds with their own code-to-CID CMap, as the PDF standard allows; pypdf and
pdfminer.six cannot yet decode text through an embedded CMap stream (pypdf #2295),
while poppler (Evince, Okular, most Linux viewers) and Acrobat can. The CI machine
installs poppler-utils."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date

import pytest
from pypdf import PdfReader

from handlers.documents import build as service
from handlers.documents.gathering import Period
from tests.support.db_setup import ON_POSTGRES
from tests.support.report_season import REQUIRED, at

A4 = (595.28, 841.89)  # points


def read(content: bytes) -> PdfReader:
    assert content.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(content))


def pages(content: bytes) -> list[str]:
    """The text of each page, as poppler's pdftotext extracts it."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is needed to read the PDFs back: apt-get install poppler-utils")
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"],
        input=content,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode("utf-8").split("\f")[:-1]


def plain(text: str) -> str:
    """Without the spaces and line breaks a PDF's layout adds between glyphs (a PDF has
    no words, only positioned characters)."""
    return re.sub(r"\s+", "", text)


def fonts(reader: PdfReader) -> dict[str, bool]:
    """Font name → whether its program is embedded (FontFile, FontFile2 or FontFile3 in
    the descriptor of the font or of its CID descendant)."""
    found: dict[str, bool] = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            parts = [font, *[d.get_object() for d in font.get("/DescendantFonts", [])]]
            embedded = any(
                key in part.get("/FontDescriptor", {}).get_object()
                for part in parts
                if "/FontDescriptor" in part
                for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            found[str(font["/BaseFont"])] = embedded
    return found


def build(ctx, kind, municipality=None):
    takes = service.APPLIES[kind]
    period = Period(date(2026, 6, 1), date(2026, 6, 30)) if "period" in takes else None
    return service.build(
        ctx, kind, "pdf", "ja", period, municipality if "municipality" in takes else None
    )


@pytest.mark.parametrize("kind", list(REQUIRED))
def test_every_document_is_a_pdf_with_its_fields(ctx, season, kind):
    built = build(ctx, kind, season["uto"])
    assert built.file.name.endswith(".pdf") and built.file.mime == "application/pdf"
    read(built.file.content)
    text = plain("".join(pages(built.file.content)))
    for expected in REQUIRED[kind]:
        assert plain(expected) in text, (kind, expected)
    # the office conventions: 作成日, 宛先, 提出者 on the first page
    first = plain(pages(built.file.content)[0])
    assert "作成日令和8年7月1日" in first and "熊本県知事様" in first and "受託者" in first


@pytest.mark.parametrize("kind", ["plan", "final"])
def test_pages_are_a4_numbered_and_the_fonts_embedded(ctx, season, kind):
    content = build(ctx, kind, season["uto"]).file.content
    reader = read(content)
    total = len(reader.pages)
    assert total >= 2 if kind == "final" else total >= 1
    texts = pages(content)
    assert len(texts) == total
    for number, (page, text) in enumerate(zip(reader.pages, texts, strict=True), start=1):
        box = page.mediabox
        assert (round(float(box.width), 1), round(float(box.height), 1)) == (
            round(A4[0], 1),
            round(A4[1], 1),
        )
        assert re.search(rf"(^|\n)\s*{number}\s*/\s*{total}\s*($|\n)", text), (number, text[-80:])
    found = fonts(reader)
    assert any("NotoSerifJP" in name for name in found), found  # 明朝: the body
    assert any("NotoSansJP" in name for name in found), found  # ゴシック: headings
    assert all(found.values()), found  # every font embedded


def test_the_properties_and_the_configured_addressee(ctx, season):
    ctx.rules = replace(
        ctx.rules,
        addressee="熊本県知事 山田 太郎 様",
        submitter="株式会社サンプル 代表取締役 佐藤 一郎",
    )
    content = build(ctx, "final").file.content
    reader = read(content)
    meta = reader.metadata
    assert meta.title == "実績報告書"
    assert meta.author == "株式会社サンプル 代表取締役 佐藤 一郎"
    assert meta.creation_date.replace(tzinfo=None) == at(date(2026, 7, 1), 10).astimezone(
        meta.creation_date.tzinfo
    ).replace(tzinfo=None)
    assert reader.trailer["/Root"]["/Lang"] == "ja-JP"
    first = plain(pages(content)[0])
    assert "熊本県知事山田太郎様" in first and "株式会社サンプル代表取締役佐藤一郎" in first
    assert "受託者" not in first  # the default gave way to the configuration


def test_stored_control_characters_do_not_break_the_pdf(ctx, season):
    """A summary pasted from Word (vertical tab, NUL) still makes a readable PDF."""
    from sqlmodel import select

    from storage.models import WorkLog

    with ctx.db.transaction() as session:
        log = session.exec(select(WorkLog)).first()
        # NUL where the database can hold one (PostgreSQL cannot: another control there)
        log.summary = "一行目\x0b二行目" + ("\x01" if ON_POSTGRES else "\x00") + "です"
    text = "".join(pages(build(ctx, "log", season["uto"]).file.content))
    assert "一行目\n二行目です" in text  # the vertical tab is a line break
