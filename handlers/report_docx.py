"""Documents as Word files (.docx, python-docx): officials edit them in Word.

The same blocks as the HTML (handlers.document): headings use Word's built-in heading
styles so the navigation pane and a table of contents work; tables use "Table Grid" so
they print with borders; the page is A4 with the catalog's font for Japanese text.
"""

from __future__ import annotations

from io import BytesIO

from docx import Document as new_docx
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from handlers.document import Document, Heading, KeyValues, PageBreak, Paragraph, Table

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _font(docx: object, name: str) -> None:
    """Latin and East-Asian fonts of the Normal and heading styles (Word picks the
    East-Asian one for Japanese text only when rFonts names it)."""
    for style_name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Heading 4"):
        style = docx.styles[style_name]  # type: ignore[attr-defined]
        style.font.name = name
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), name)
    docx.styles["Normal"].font.size = Pt(10.5)  # type: ignore[attr-defined]


def _table(docx: object, header: tuple[str, ...] | None, rows: tuple[tuple[str, ...], ...]) -> None:
    columns = len(header) if header else len(rows[0]) if rows else 1
    table = docx.add_table(rows=0, cols=columns)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    if header:
        cells = table.add_row().cells
        for cell, text in zip(cells, header, strict=True):
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.bold = True
        _repeat_header(table.rows[0])
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text


def _repeat_header(row: object) -> None:
    """The header row repeats at the top of each page of a long table."""
    properties = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    element = properties.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"})
    properties.append(element)


def render_docx(document: Document) -> bytes:
    docx = new_docx()
    section = docx.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    section.top_margin = section.bottom_margin = Mm(20)
    if document.font:
        _font(docx, document.font)
    docx.core_properties.title = document.title
    docx.core_properties.subject = document.subtitle
    docx.add_heading(document.title, level=0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    docx.add_paragraph(document.subtitle).alignment = WD_ALIGN_PARAGRAPH.CENTER
    docx.add_paragraph(document.issued).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for block in document.blocks:
        if isinstance(block, Heading):
            docx.add_heading(block.text, level=min(max(block.level - 1, 1), 4))
        elif isinstance(block, Paragraph):
            paragraph = docx.add_paragraph(block.text)
            if block.style != "plain":
                for run in paragraph.runs:
                    run.italic = block.style == "note"
                    run.bold = block.style == "empty"
        elif isinstance(block, KeyValues):
            _table(docx, None, block.rows)
        elif isinstance(block, Table):
            _table(docx, block.header, block.rows)
        elif isinstance(block, PageBreak):
            docx.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buffer = BytesIO()
    docx.save(buffer)
    return buffer.getvalue()
