"""The message catalogues as the tests read them: key -> text of one language's messages.po."""

from __future__ import annotations

from babel.messages.pofile import read_po

import templates


def catalog(language):
    with (templates.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}
