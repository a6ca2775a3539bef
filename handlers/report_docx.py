"""Documents as Word files (.docx, python-docx): officials edit them in Word.

The same blocks as the HTML (handlers.document): headings use Word's built-in heading
styles so the navigation pane and a table of contents work; tables use "Table Grid" so
they print with borders; the page is A4 with the catalog's font for Japanese text.

Speed: python-docx looks a style up by name (an XPath over every style, twice) each
time a paragraph or table is given one, which cost most of a season's final report
(~2.5 s of ~3 s). `_Writer` reads each style's id once per document and writes the
paragraphs, runs and table rows as elements directly, so the report takes a fraction
of a second.

Core properties: author and last-modified-by "DX Desk", the document's title and
subtitle, created/modified = the generation time, no python-docx comment or keywords.
"""

from __future__ import annotations

from datetime import UTC
from io import BytesIO
from typing import Any

from docx import Document as new_docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from handlers.document import Document, Heading, KeyValues, PageBreak, Paragraph, Table

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
AUTHOR = "DX Desk"
STYLES = ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Heading 4", "Table Grid")


class _Writer:
    """Appends blocks to one python-docx document with its style ids read once."""

    def __init__(self, docx: Any) -> None:
        self.docx = docx
        self.body = docx.element.body
        self.styles = {name: docx.styles[name] for name in STYLES}
        self.ids = {name: style.style_id for name, style in self.styles.items()}

    def font(self, name: str) -> None:
        """Latin and East-Asian fonts of the Normal and heading styles (Word picks the
        East-Asian one for Japanese text only when rFonts names it)."""
        for style_name in STYLES[:-1]:
            style = self.styles[style_name]
            style.font.name = name
            style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
        self.styles["Normal"].font.size = Pt(10.5)

    def paragraph(self, text: str, style: str | None = None) -> Any:
        p = self.body.add_p()
        if style and style != "Normal":
            p.get_or_add_pPr().style = self.ids[style]
        if text:
            p.add_r().text = text
        return p

    def heading(self, text: str, level: int) -> None:
        self.paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def note(self, text: str, bold: bool, italic: bool) -> None:
        p = self.paragraph(text)
        for r in p.r_lst:
            properties = r.get_or_add_rPr()
            if bold:
                properties._set_bool_val("b", True)
            if italic:
                properties._set_bool_val("i", True)

    def aligned(self, text: str, alignment: WD_ALIGN_PARAGRAPH, style: str | None = None) -> None:
        self.paragraph(text, style).get_or_add_pPr().jc_val = alignment

    def page_break(self) -> None:
        self.paragraph("").add_r().add_br().type = "page"

    def table(self, header: tuple[str, ...] | None, rows: tuple[tuple[str, ...], ...]) -> None:
        columns = len(header) if header else len(rows[0]) if rows else 1
        table = self.docx.add_table(rows=0, cols=columns)
        tbl = table._tbl
        tbl.tblPr.style = self.ids["Table Grid"]
        widths = [column.w for column in tbl.tblGrid.gridCol_lst]
        if header:
            tr = self._row(tbl, widths, header, bold=True)
            properties = tr.get_or_add_trPr()  # the header repeats on each page
            properties.append(properties.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))
        for row in rows:
            self._row(tbl, widths, row)

    @staticmethod
    def _row(tbl: Any, widths: list[Any], texts: tuple[str, ...], bold: bool = False) -> Any:
        tr = tbl.add_tr()
        for width, text in zip(widths, texts, strict=True):
            tc = tr.add_tc()
            if width is not None:
                tc.width = width
            r = tc.find(qn("w:p")).add_r()
            r.text = text
            if bold:
                r.get_or_add_rPr()._set_bool_val("b", True)
        return tr


def render_docx(document: Document) -> bytes:
    docx = new_docx()
    section = docx.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    section.top_margin = section.bottom_margin = Mm(20)
    writer = _Writer(docx)
    if document.font:
        writer.font(document.font)
    _properties(docx, document)
    writer.aligned(document.title, WD_ALIGN_PARAGRAPH.CENTER, "Title")
    writer.aligned(document.subtitle, WD_ALIGN_PARAGRAPH.CENTER)
    writer.aligned(document.issued, WD_ALIGN_PARAGRAPH.RIGHT)
    for block in document.blocks:
        if isinstance(block, Heading):
            writer.heading(block.text, min(max(block.level - 1, 1), 4))
        elif isinstance(block, Paragraph):
            if block.style == "plain":
                writer.paragraph(block.text)
            else:
                writer.note(block.text, bold=block.style == "empty", italic=block.style == "note")
        elif isinstance(block, KeyValues):
            writer.table(None, block.rows)
        elif isinstance(block, Table):
            writer.table(block.header, block.rows)
        elif isinstance(block, PageBreak):
            writer.page_break()
    buffer = BytesIO()
    docx.save(buffer)
    return buffer.getvalue()


def _properties(docx: Any, document: Document) -> None:
    """Who and when, not python-docx's template defaults (2013, "python-docx")."""
    properties = docx.core_properties
    properties.author = properties.last_modified_by = AUTHOR
    properties.title = document.title
    properties.subject = document.subtitle
    properties.comments = properties.keywords = ""
    properties.revision = 1
    if document.generated_at is not None:
        moment = document.generated_at.astimezone(UTC).replace(tzinfo=None)
        properties.created = properties.modified = moment
