"""Documents as PDF (fpdf2), for officials who file or send a document as it is (R12).

The same blocks as Word and HTML (handlers.documents.model) with the same office conventions:
A4 with Word's Japanese margins, 作成日 / 宛先 / 提出者 above the title, a 明朝 body
and ゴシック title, headings and table headers, black text, column widths from
`report_layout.column_widths`, "n / N" page numbers in the footer, the language ja-JP
and the document properties (title, subject, author = the 提出者, created).

Fonts: Noto Serif JP (明朝) and Noto Sans JP (ゴシック) from the `pylopdf-fonts-jp`
package (SIL Open Font License 1.1, which allows embedding), installed by pip like any
dependency, so a machine with only Python writes the same PDF. fpdf2 embeds the subset
of each font that the document uses, so the text is extractable and prints the same
everywhere.
"""

from __future__ import annotations

import logging
from datetime import UTC
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pylopdf_fonts_jp
from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, VAlign

from handlers.documents.layout import BODY_PT, MARGINS_MM, TEXT_WIDTH_MM, column_widths
from handlers.documents.model import Document, Heading, KeyValues, PageBreak, Paragraph, Table
from handlers.documents.word import AUTHOR, LANGUAGE

BODY, GOTHIC = "mincho", "gothic"
SIZES = {0: 16.0, 1: 14.0, 2: 12.0, 3: 11.0, 4: BODY_PT}  # by Word heading level
LINE = 1.6  # line height as a multiple of the font size (as the HTML's line-height)
PT_MM = 25.4 / 72
# fontTools reports each table it subsets at INFO: noise on the command line's stderr.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
PAGES = "{pages}"  # the page count's alias, wide enough for a 1000-page report


@cache
def font_files() -> tuple[Path, Path]:
    """(明朝, ゴシック): the embedded fonts' files."""
    return pylopdf_fonts_jp.serif_path(), pylopdf_fonts_jp.sans_path()


class _Pdf(FPDF):
    def footer(self) -> None:
        """ "n / N", centred in the bottom margin ({nb}: the page count, filled at the end)."""
        self.set_y(-MARGINS_MM[2] / 2)
        self.set_font(BODY, size=BODY_PT - 1)
        self.cell(0, 5, f"{self.page_no()} / {PAGES}", align="C")


class _Writer:
    def __init__(self, pdf: _Pdf) -> None:
        self.pdf = pdf

    def text(self, text: str, size: float = BODY_PT, family: str = BODY, align: str = "L") -> None:
        self.pdf.set_font(family, size=size)
        self.pdf.multi_cell(0, size * LINE * PT_MM, text, align=align, new_x="LMARGIN")

    def heading(self, text: str, level: int) -> None:
        size = SIZES[level]
        self.pdf.ln(size * PT_MM * (0.8 if level > 0 else 0.4))
        self.text(text, size, GOTHIC, "C" if level == 0 else "L")
        self.pdf.ln(size * PT_MM * 0.3)

    def paragraph(self, text: str, style: str) -> None:
        if style == "empty":
            self.pdf.set_font(BODY, size=BODY_PT)
            self.pdf.multi_cell(
                0, BODY_PT * LINE * PT_MM, text, border=1, align="C", new_x="LMARGIN", padding=3
            )
        else:
            self.text(text, BODY_PT - 1 if style == "note" else BODY_PT)
        self.pdf.ln(BODY_PT * PT_MM * 0.6)

    def table(self, header: tuple[str, ...] | None, rows: tuple[tuple[str, ...], ...]) -> None:
        pdf = self.pdf
        pdf.set_font(BODY, size=BODY_PT - 0.5)
        widths = column_widths(header, rows, TEXT_WIDTH_MM)
        bold = FontFace(family=GOTHIC, fill_color=(238, 238, 238))
        with pdf.table(
            col_widths=widths,
            width=TEXT_WIDTH_MM,
            align="LEFT",
            text_align="LEFT",
            v_align=VAlign.T,
            line_height=(BODY_PT - 0.5) * 1.45 * PT_MM,
            padding=(1.2, 1.5),
            first_row_as_headings=header is not None,
            headings_style=bold,
            repeat_headings=1,
            borders_layout=TableBordersLayout.ALL,
        ) as table:
            if header is not None:
                heading = table.row()
                for cell in header:
                    heading.cell(cell)
            for values in rows:
                row = table.row()
                for index, cell in enumerate(values):
                    label = header is None and index == 0
                    row.cell(cell, style=FontFace(family=GOTHIC) if label else None)
        pdf.ln(BODY_PT * PT_MM * 0.8)


def render_pdf(document: Document) -> bytes:
    """The same document gives the same bytes, so a process keeps the last few PDFs: one
    costs about a second of CPU, mostly fontTools subsetting the Noto CFF outlines, and a
    bundle, a download and a re-run of the demo ask for the same documents again. The parsed
    fonts cannot be kept instead: fpdf2 subsets its font object in place while writing.
    Without `generated_at` the PDF is dated now, so each call writes a new one."""
    if document.generated_at is None:
        return _render(document)
    try:
        hash(document)
    except TypeError:  # a list where the model says tuple: correct, merely not cacheable
        return _render(document)
    return _rendered(document)


@lru_cache(maxsize=32)
def _rendered(document: Document) -> bytes:
    return _render(document)


def _render(document: Document) -> bytes:
    top, right, bottom, left = MARGINS_MM
    pdf = _Pdf(format="A4", unit="mm")
    pdf.alias_nb_pages(PAGES)
    pdf.set_margins(left, top, right)
    pdf.set_auto_page_break(True, bottom)
    serif, sans = font_files()
    pdf.add_font(BODY, fname=str(serif))
    pdf.add_font(GOTHIC, fname=str(sans))
    for family in (BODY, GOTHIC):
        # As fontTools' own subsetter (pyftsubset) does by default: the subset keeps the
        # whole font's bounding boxes (still true of every glyph left) instead of
        # recomputing them from each outline, half the CPU of a PDF.
        pdf.fonts[family].ttfont.recalcBBoxes = False
    pdf.set_fallback_fonts([GOTHIC])
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    _properties(pdf, document)
    pdf.add_page()
    writer = _Writer(pdf)
    writer.text(document.issued, align="R")
    if document.addressee:
        writer.text(document.addressee, align="L")
    if document.submitter:
        writer.text(document.submitter, align="R")
    writer.heading(document.title, 0)
    writer.text(document.subtitle, align="C")
    pdf.ln(BODY_PT * PT_MM)
    for block in document.blocks:
        _write(writer, block)
    return bytes(pdf.output())


def _write(writer: _Writer, block: Any) -> None:
    if isinstance(block, Heading):
        writer.heading(block.text, min(max(block.level - 1, 1), 4))
    elif isinstance(block, Paragraph):
        writer.paragraph(block.text, block.style)
    elif isinstance(block, KeyValues):
        writer.table(None, block.rows)
    elif isinstance(block, Table):
        writer.table(block.header, block.rows)
    elif isinstance(block, PageBreak):
        writer.pdf.add_page()


def _properties(pdf: FPDF, document: Document) -> None:
    pdf.set_title(document.title)
    pdf.set_subject(document.subtitle)
    pdf.set_author(document.submitter or AUTHOR)
    pdf.set_creator(AUTHOR)
    pdf.set_producer(AUTHOR)
    pdf.set_lang(LANGUAGE.get(document.language, document.language))
    if document.generated_at is not None:
        pdf.set_creation_date(document.generated_at.astimezone(UTC))
