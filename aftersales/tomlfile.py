"""Reading the TOML files a shop writes (policy, plans, lexicons) without surprises.

A file that is missing, not UTF-8 (a GBK export from a spreadsheet), not
TOML, or nested so deep that parsing it would exhaust the stack is refused
with one line naming the file and what is wrong, as the error class the
caller's area uses. Nothing is returned half-read.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from aftersales.errors import AfterSalesError, ValidationError

__all__ = ["MAX_DEPTH", "MAX_SIZE", "parse_toml", "read_toml"]

#: Tables and arrays nested deeper than this are refused.
MAX_DEPTH = 32
#: Files larger than this (bytes) are refused: these are hand-written settings.
MAX_SIZE = 4 * 1024 * 1024
#: Longer "paths" are taken for text given by mistake (Linux's PATH_MAX).
_MAX_PATH = 4096


def read_toml(path: str | Path, *, what: str,
              error: type[AfterSalesError] = ValidationError) -> dict[str, Any]:
    """The parsed contents of the TOML file at ``path``.

    Args:
        what: what the file is, for the message (``"return policy"``).
        error: the error class to raise.

    Raises:
        error: the file is missing, unreadable, too large, not UTF-8, not
            TOML, or nested deeper than :data:`MAX_DEPTH`.
    """
    given = str(path)
    if len(given) > _MAX_PATH or not given.isprintable():
        # TOML text given where a file's path goes (``return_policy="[rules]..."``):
        # echoing it would print the whole text, secrets included, over many lines.
        raise error(f"cannot read {what}: the value given is not a file's path "
                    "(it holds a line break or control character, or is too long); "
                    "give the path of a TOML file")
    p = Path(path)
    try:
        if p.stat().st_size > MAX_SIZE:
            raise error(f"cannot read {what} {p}: larger than {MAX_SIZE // (1024 * 1024)} MiB")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"cannot read {what} {p}: no such file") from None
    except UnicodeDecodeError:
        raise error(f"cannot read {what} {p}: not UTF-8; save it as UTF-8") from None
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror}") from None
    return parse_toml(text, what=f"{what} {p}", error=error)


def parse_toml(text: str, *, what: str,
               error: type[AfterSalesError] = ValidationError) -> dict[str, Any]:
    """``text`` parsed as TOML; see :func:`read_toml` for what is refused."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what}: not valid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{what}: nested deeper than {MAX_DEPTH} levels") from None
    if _depth(data) > MAX_DEPTH:
        raise error(f"{what}: nested deeper than {MAX_DEPTH} levels")
    return data


def _depth(value: Any) -> int:
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest
