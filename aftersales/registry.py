"""Finding adapters by name, through entry points only.

Built-in adapters and third-party ones register the same way, in the
``aftersales.marketplaces``, ``aftersales.carriers`` and
``aftersales.channels`` entry-point groups, so an outside package is an equal
of the built-ins. Nothing is imported until a name is asked for.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from aftersales.errors import AdapterNotFoundError, ConfigurationError

__all__ = [
    "CARRIERS",
    "CHANNELS",
    "MARKETPLACES",
    "available",
    "create",
    "load",
]

MARKETPLACES = "aftersales.marketplaces"
CARRIERS = "aftersales.carriers"
CHANNELS = "aftersales.channels"


def _group(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def available(group: str) -> list[str]:
    """The names installed in ``group``, sorted."""
    return sorted(_group(group))


def load(group: str, name: str) -> Any:
    """The adapter class (or factory) registered as ``name`` in ``group``.

    Raises:
        AdapterNotFoundError: nothing is registered under that name; the
            message lists what is.
        ConfigurationError: the entry point exists but its module fails to import.
    """
    eps = _group(group)
    ep = eps.get(name.strip().lower())
    if ep is None:
        raise AdapterNotFoundError(name, group, list(eps))
    try:
        return ep.load()
    except ImportError as exc:
        raise ConfigurationError(f"adapter {name!r} in {group} failed to import: {exc}") from exc


def create(group: str, name: str, **kwargs: Any) -> Any:
    """An instance of the adapter registered as ``name``, built with ``kwargs``."""
    return load(group, name)(**kwargs)
