"""CSV cells a spreadsheet shows as text, never runs as a formula (CSV injection, OWASP).

Every CSV the library writes (the knowledge base export, the report tables,
the bulk report) is opened by people in Excel, LibreOffice or WPS, and its
cells echo text that came from outside: a marketplace's SKU or reason, an
imported FAQ answer, a buyer's words. A cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is a formula there
(``=cmd|' /C calc'!A0``, ``=HYPERLINK(...)``); :func:`safe_cell` writes it
with a leading ``'``, which shows the text as it is. A plain number in
ASCII digits (``-12.50``, ``+3``, ``-1e3``) is left alone: a spreadsheet
reads it as the number it is, never as an expression, and a sum over the
column still works; digits of other scripts (``-١٢``) are prefixed, since a
spreadsheet would parse them as an expression, not a number.
:func:`read_cell` takes the ``'`` off again, so a file the library wrote
reads back to the same text.
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_LEADS", "read_cell", "safe_cell"]

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def safe_cell(value: object) -> str:
    """``value`` as a CSV cell no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_LEADS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def read_cell(text: str) -> str:
    """A cell written by :func:`safe_cell` back to its text (``'=x`` → ``=x``)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_LEADS):
        return text[1:]
    return text
