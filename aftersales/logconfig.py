"""Logging set-up for the library's own programs (``aftersales worker``), never on import.

A program, not the library, owns logging; this module is what the
``aftersales`` command uses when it runs unattended. :func:`configure_logging`
puts one handler on stderr, in plain text or one JSON object a line, behind a
:class:`~aftersales.redact.RedactingFilter`, so every line it prints, the
library's and its dependencies' alike, is masked.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

from aftersales.redact import RedactingFilter

__all__ = ["LEVELS", "JsonFormatter", "configure_logging"]

#: Level names the command line accepts.
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``message``, and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = _plain(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def _plain(value: Any) -> Any:
    # Numbers stay numbers and a mapping of counts stays an object; anything else is text.
    if isinstance(value, int | float | bool | None):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def configure_logging(level: str = "INFO", fmt: str = "text",
                      stream: IO[str] | None = None) -> logging.Handler:
    """Send log records at ``level`` and above to ``stream`` (stderr), masked.

    Args:
        level: one of :data:`LEVELS`.
        fmt: ``"text"`` or ``"json"``.

    Returns:
        The handler installed on the root logger (a repeat call replaces it).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter() if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.set_name("aftersales")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "aftersales"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
