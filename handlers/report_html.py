"""Documents as print-ready HTML (A4): Jinja2 renders templates/documents/document.html.j2.

Its own environment, because the catalog environment escapes by file extension and this
template ends in .j2: everything in a document comes from the database, so it is always
escaped here.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

import templates
from handlers.document import Document

TEMPLATE = "documents/document.html.j2"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates.DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(document: Document) -> bytes:
    return _environment().get_template(TEMPLATE).render(doc=document).encode("utf-8")
