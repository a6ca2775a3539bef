"""The shape of a document, between the queries and the two writers.

A document is a title and a flat run of blocks: headings, paragraphs, label/value
tables, data tables and page breaks. `report_layout` turns each gathered context into
one; `report_html` (Jinja2) and `report_docx` (python-docx) write the same blocks, so the
Word file officials edit and the printable HTML cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

# The documents and formats there are (the chat form, the command line and `build` use
# these; kept here, free of heavy imports, so the command line can name them cheaply).
KINDS = ("plan", "log", "minutes", "final", "casebook")
FORMATS = ("docx", "html", "pdf")
# What else the report form and command hand out: the workbook of tables (Excel) and the
# submission bundle (one zip of every document); each has exactly one format.
EXPORTS = {"workbook": "xlsx", "bundle": "zip"}
DATE_STYLES = ("era", "iso")  # how the workbook writes dates: 令和8年6月10日 or 2026-06-10

ParagraphStyle = Literal["plain", "note", "empty"]


@dataclass(frozen=True)
class Heading:
    kind: ClassVar[str] = "heading"
    text: str
    level: int = 2  # 1 is the document title


@dataclass(frozen=True)
class Paragraph:
    kind: ClassVar[str] = "paragraph"
    text: str
    style: ParagraphStyle = "plain"


@dataclass(frozen=True)
class KeyValues:
    """Label / value rows: the form-like part of a log or a plan."""

    kind: ClassVar[str] = "keyvalues"
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class PageBreak:
    kind: ClassVar[str] = "pagebreak"


Block = Heading | Paragraph | KeyValues | Table | PageBreak


@dataclass(frozen=True)
class Document:
    language: str
    title: str
    subtitle: str
    issued: str  # "作成日 令和8年12月1日"
    blocks: tuple[Block, ...]
    font: str = ""  # 明朝: the body
    generated_at: datetime | None = None  # the Word file's created/modified time
    heading_font: str = ""  # ゴシック: the title and headings
    addressee: str = ""  # 宛先, e.g. 熊本県知事 様 (configuration: DXDESK_ADDRESSEE)
    submitter: str = ""  # 提出者: the contractor and its representative (DXDESK_SUBMITTER)

    def text(self) -> str:
        """Every word of the document, for tests and search."""
        parts = [self.title, self.subtitle, self.issued, self.addressee, self.submitter]
        for block in self.blocks:
            if isinstance(block, Heading | Paragraph):
                parts.append(block.text)
            elif isinstance(block, KeyValues):
                parts.extend(f"{k} {v}" for k, v in block.rows)
            elif isinstance(block, Table):
                parts.append(" ".join(block.header))
                parts.extend(" ".join(row) for row in block.rows)
        return "\n".join(parts)
