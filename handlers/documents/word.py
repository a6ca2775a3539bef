"""Documents as Word files (.docx, python-docx): officials edit them in Word.

The same blocks as the HTML and the PDF (handlers.documents.model), with the conventions of a
Japanese administrative document: A4 with Word's Japanese margins, 作成日 / 宛先 /
提出者 above the title, a 明朝 body and ゴシック title and headings named as East Asian
fonts (w:eastAsia; the template's theme fonts removed, else Word and LibreOffice pick
their own), black text without the template's blue headings and title rule, the
language ja-JP, column widths sized to the content (`report_layout.column_widths`) and
page numbers "n / N" in the footer. Headings keep Word's built-in heading styles so the
navigation pane and a table of contents work; tables use "Table Grid" so they print
with borders.

Speed: python-docx looks a style up by name (an XPath over every style, twice) each
time a paragraph or table is given one, which cost most of a season's final report
(~2.5 s of ~3 s). `_Writer` reads each style's id once per document and writes the
paragraphs, runs and table rows as elements directly, so the report takes a fraction
of a second.

Core properties: the title and subtitle, the author (the 提出者), last modified by
"DX Desk", the language, created/modified = the generation time, no python-docx
comment or keywords.
"""

from __future__ import annotations

from datetime import UTC
from io import BytesIO
from typing import Any

from docx import Document as new_docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from handlers.documents.layout import BODY_PT, MARGINS_MM, TEXT_WIDTH_MM, column_widths
from handlers.documents.model import Document, Heading, KeyValues, PageBreak, Paragraph, Table

AUTHOR = "DX Desk"
LANGUAGE = {"ja": "ja-JP", "en": "en-US"}
HEADINGS = ("Title", "Heading 1", "Heading 2", "Heading 3", "Heading 4")
STYLES = ("Normal", *HEADINGS, "Table Grid")
SIZES = {"Title": 16, "Heading 1": 14, "Heading 2": 12, "Heading 3": 11, "Heading 4": BODY_PT}
THEMED = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


class _Writer:
    """Appends blocks to one python-docx document with its style ids read once."""

    def __init__(self, docx: Any) -> None:
        self.docx = docx
        self.body = docx.element.body
        self.styles = {name: docx.styles[name] for name in STYLES}
        self.ids = {name: style.style_id for name, style in self.styles.items()}

    def fonts(self, body: str, headings: str, language: str) -> None:
        """明朝 for the body, ゴシック for the title and headings, named for Latin and
        East Asian text alike (Word picks the East Asian one for Japanese only when
        rFonts names it, and a theme font attribute would override it); black, upright
        text; the document's language on every run (docDefaults)."""
        defaults = self.docx.styles.element.find(qn("w:docDefaults"))
        rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _fonts(rpr.get_or_add_rFonts(), body)
        lang = rpr.find(qn("w:lang"))
        code = LANGUAGE.get(language, language)
        for attribute in ("w:val", "w:eastAsia"):
            lang.set(qn(attribute), code)
        for name in ("Normal", *HEADINGS):
            style = self.styles[name]
            _fonts(
                style.element.get_or_add_rPr().get_or_add_rFonts(),
                headings if name in HEADINGS else body,
            )
            style.font.color.rgb = RGBColor(0, 0, 0)
        self.styles["Normal"].font.size = Pt(BODY_PT)
        for name in HEADINGS:
            style = self.styles[name]
            style.font.size = Pt(SIZES[name])
            style.font.italic = False
            style.font.bold = True
            ppr = style.element.get_or_add_pPr()
            border = ppr.find(qn("w:pBdr"))  # the Title's blue rule
            if border is not None:
                ppr.remove(border)

    def paragraph(self, text: str, style: str | None = None) -> Any:
        p = self.body.add_p()
        if style and style != "Normal":
            p.get_or_add_pPr().style = self.ids[style]
        if text:
            p.add_r().text = text
        return p

    def heading(self, text: str, level: int) -> None:
        self.paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def note(self, text: str, bold: bool, small: bool) -> None:
        p = self.paragraph(text)
        for r in p.r_lst:
            properties = r.get_or_add_rPr()
            if bold:
                properties._set_bool_val("b", True)
            if small:
                properties.sz_val = Pt(BODY_PT - 1)

    def aligned(self, text: str, alignment: WD_ALIGN_PARAGRAPH, style: str | None = None) -> None:
        self.paragraph(text, style).get_or_add_pPr().jc_val = alignment

    def page_break(self) -> None:
        self.paragraph("").add_r().add_br().type = "page"

    def table(self, header: tuple[str, ...] | None, rows: tuple[tuple[str, ...], ...]) -> None:
        columns = len(header) if header else len(rows[0]) if rows else 1
        table = self.docx.add_table(rows=0, cols=columns)
        tbl = table._tbl
        tbl.tblPr.style = self.ids["Table Grid"]
        widths = [Mm(w) for w in column_widths(header, rows, TEXT_WIDTH_MM)]
        _fixed_layout(tbl, widths)
        if header:
            tr = self._row(tbl, widths, header, bold=True)
            properties = tr.get_or_add_trPr()  # the header repeats on each page
            properties.append(properties.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))
        for row in rows:
            self._row(tbl, widths, row, bold=False, label=header is None)

    @staticmethod
    def _row(
        tbl: Any, widths: list[Any], texts: tuple[str, ...], bold: bool, label: bool = False
    ) -> Any:
        """`label`: a KeyValues row, whose first cell is the label (bold)."""
        tr = tbl.add_tr()
        for index, (width, text) in enumerate(zip(widths, texts, strict=True)):
            tc = tr.add_tc()
            tc.width = width
            r = tc.find(qn("w:p")).add_r()
            r.text = text
            if bold or (label and index == 0):
                r.get_or_add_rPr()._set_bool_val("b", True)
        return tr


def _fonts(rfonts: Any, name: str) -> None:
    for attribute in THEMED:
        rfonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attribute), name)


def _fixed_layout(tbl: Any, widths: list[Any]) -> None:
    """The grid and the table's width as computed: Word keeps them (fixed layout)
    instead of spreading the columns evenly."""
    for column, width in zip(tbl.tblGrid.gridCol_lst, widths, strict=True):
        column.w = width
    properties = tbl.tblPr
    total = OxmlElement("w:tblW")
    total.set(qn("w:w"), str(sum(w.twips for w in widths)))
    total.set(qn("w:type"), "dxa")
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    for old in properties.findall(qn("w:tblW")) + properties.findall(qn("w:tblLayout")):
        properties.remove(old)
    properties.append(total)
    properties.append(layout)


def _page_numbers(section: Any) -> None:
    """Footer, centred: the PAGE and NUMPAGES fields as "n / N"."""
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for index, field in enumerate(("PAGE", "NUMPAGES")):
        if index:
            footer.add_run(" / ")
        simple = OxmlElement("w:fldSimple")
        simple.set(qn("w:instr"), f" {field} ")
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "1"  # shown until the reader's application updates the field
        run.append(text)
        simple.append(run)
        footer._p.append(simple)


def render_docx(document: Document) -> bytes:
    docx = new_docx()
    section = docx.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    top, right, bottom, left = MARGINS_MM
    section.top_margin, section.right_margin = Mm(top), Mm(right)
    section.bottom_margin, section.left_margin = Mm(bottom), Mm(left)
    section.footer_distance = Mm(bottom / 2)
    _page_numbers(section)
    writer = _Writer(docx)
    if document.font:
        writer.fonts(document.font, document.heading_font or document.font, document.language)
    _properties(docx, document)
    writer.aligned(document.issued, WD_ALIGN_PARAGRAPH.RIGHT)
    if document.addressee:
        writer.aligned(document.addressee, WD_ALIGN_PARAGRAPH.LEFT)
    if document.submitter:
        writer.aligned(document.submitter, WD_ALIGN_PARAGRAPH.RIGHT)
    writer.aligned(document.title, WD_ALIGN_PARAGRAPH.CENTER, "Title")
    writer.aligned(document.subtitle, WD_ALIGN_PARAGRAPH.CENTER)
    for block in document.blocks:
        if isinstance(block, Heading):
            writer.heading(block.text, min(max(block.level - 1, 1), 4))
        elif isinstance(block, Paragraph):
            if block.style == "plain":
                writer.paragraph(block.text)
            else:
                writer.note(block.text, bold=block.style == "empty", small=block.style == "note")
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
    properties.author = document.submitter or AUTHOR
    properties.last_modified_by = AUTHOR
    properties.title = document.title
    properties.subject = document.subtitle
    properties.language = LANGUAGE.get(document.language, document.language)
    properties.comments = properties.keywords = ""
    properties.revision = 1
    if document.generated_at is not None:
        moment = document.generated_at.astimezone(UTC).replace(tzinfo=None)
        properties.created = properties.modified = moment
