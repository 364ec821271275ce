"""Store names: what an adapter instance is called, checked once, the same way everywhere.

A *store* is a named instance of an adapter kind: two Shopify shops run in
one app as ``shopify-us`` and ``shopify-eu``, both of kind ``shopify``. The
name is what every stored row (the ``marketplace`` columns), every event
payload, every sync cursor and every metric carries, so it must be short
enough for those columns, printable in one log line and typeable on a
command line:

- 1 to :data:`MAX_LENGTH` characters;
- lowercase ASCII letters, digits, ``.``, ``-`` and ``_``;
- starting with a letter or a digit;
- none of :data:`RESERVED`, the keys a sync's JSON output keeps beside
  the stores' counts.

An adapter built without a name takes its kind's name (``"shopify"``), as
it always did, so one store per kind needs no configuration at all.
"""

from __future__ import annotations

import re

from aftersales.errors import ConfigurationError

__all__ = ["MAX_LENGTH", "RESERVED", "adapter_name", "check_store_name", "shown"]

#: The longest store name: the width of the ``marketplace`` and cursor columns.
MAX_LENGTH = 40

_NAME = re.compile(rf"[a-z0-9][a-z0-9._-]{{0,{MAX_LENGTH - 1}}}")

#: Names no store may take: ``aftersales sync --json`` (and an area's sync)
#: prints the counts keyed by store beside these keys.
RESERVED = frozenset({"reasons", "failures", "undelivered"})


def shown(name: object, limit: int = 48) -> str:
    """``name`` as it may appear in an error: quoted, escaped, cut at ``limit`` characters."""
    text = name if isinstance(name, str) else repr(name)
    cut = text if len(text) <= limit else text[:limit] + "..."
    # repr() escapes control characters and line breaks, so the message stays one line.
    return repr(cut)


def check_store_name(name: object) -> str:
    """``name`` when it is a valid store name (see the module's rules).

    Raises:
        ConfigurationError: it is not; the one-line message shows the name
            escaped and shortened, and says what a name may hold.
    """
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ConfigurationError(
            f"store name {shown(name)} is not valid: use 1 to {MAX_LENGTH} lowercase letters, "
            "digits, '.', '-' or '_', starting with a letter or a digit"
        )
    if name in RESERVED:
        raise ConfigurationError(
            f"store name {shown(name)} is reserved: the sync output uses it beside the "
            f"stores' names ({', '.join(sorted(RESERVED))}); pick another")
    return name


def adapter_name(name: str | None, kind: str) -> str:
    """The name an adapter instance answers to: ``name`` checked, or its ``kind`` by default.

    Every adapter's constructor takes ``name=`` and calls this, so a store
    name is checked the same way whichever adapter it names.
    """
    return kind if name is None else check_store_name(name)
