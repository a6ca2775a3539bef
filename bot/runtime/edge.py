"""The process's edges — an HTTP turn's entry, a send loop, the worker's job runner, the
scheduler's runs — are the only places that catch any exception: what nobody foresaw is
logged there with its traceback and a short reference number, which the person (where
there is one) is shown, so a report quoting it finds the log line. Everywhere else
catches the errors it expects.
"""

from __future__ import annotations

from handlers.core.errors import logged

__all__ = ["logged"]  # one reference format for the edges and the handlers' error path
