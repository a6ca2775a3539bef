"""Jinja2 templates and the Babel message catalogs (Japanese first, English too).

A package so that the files install with the code; `DIR` is where they are.
"""

from pathlib import Path

DIR = Path(__file__).parent
LOCALE_DIR = DIR / "locale"
