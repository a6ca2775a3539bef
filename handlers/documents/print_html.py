"""Documents as print-ready HTML (A4): Jinja2 renders templates/documents/document.html.j2.

Its own environment, because the catalog environment escapes by file extension and this
template ends in .j2: everything in a document comes from the database, so it is always
escaped here.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

import templates
from handlers.documents.layout import TEXT_WIDTH_MM, column_widths
from handlers.documents.model import Document

TEMPLATE = "documents/document.html.j2"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(templates.DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["columns"] = columns
    return environment


def columns(header: tuple[str, ...] | None, rows: tuple[tuple[str, ...], ...]) -> Markup:
    """<colgroup> with the widths Word and the PDF use, as shares of the text width."""
    widths = column_widths(header, rows, TEXT_WIDTH_MM)
    cols = "".join(f'<col style="width:{w / TEXT_WIDTH_MM:.1%}">' for w in widths)
    return Markup(f"<colgroup>{cols}</colgroup>")  # numbers only: nothing to escape


def render_html(document: Document) -> bytes:
    return _environment().get_template(TEMPLATE).render(doc=document).encode("utf-8")
