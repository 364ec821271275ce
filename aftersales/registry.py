"""Finding adapters by name, through entry points only.

Built-in adapters and third-party ones register the same way, in the
``aftersales.marketplaces``, ``aftersales.carriers`` and
``aftersales.channels`` entry-point groups, so an outside package is an equal
of the built-ins. Nothing is imported until a name is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import SecretStr

from aftersales.errors import AdapterNotFoundError, AfterSalesError, ConfigurationError
from aftersales.redact import environment_secrets, redact_text

__all__ = [
    "CARRIERS",
    "CHANNELS",
    "MARKETPLACES",
    "available",
    "build",
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


#: What one adapter of each group is called in an error.
_KIND = {MARKETPLACES: "marketplace", CARRIERS: "carrier", CHANNELS: "channel"}


def create(group: str, name: str, **kwargs: Any) -> Any:
    """An instance of the adapter registered as ``name``, built with ``kwargs``.

    Raises:
        ConfigurationError: as :func:`load`, or as :func:`build` (named
            ``marketplace 'shopify'``, …).
    """
    return build(f"{_KIND.get(group, group)} {name!r}", load(group, name), **kwargs)


def build(where: str, factory: Callable[..., Any], **kwargs: Any) -> Any:
    """``factory(**kwargs)``: an adapter's construction, its failure named by ``where``.

    An adapter that raises while it is built (a bug, a value its own code
    refuses) would otherwise reach the command line as an unexpected
    error naming no store. A library error (:class:`AfterSalesError`) keeps
    its kind, a :class:`ConfigurationError` gains ``where``; anything else
    becomes a ConfigurationError naming ``where`` with the error's type and
    masked first line, not chained: its text may quote a token. Its
    credentials are masked even bare (no ``key=`` before them): those in
    ``kwargs`` (a settings model's ``SecretStr`` fields) and, for an adapter
    that reads its own from the environment, every variable whose name
    says it holds one (``…TOKEN``, ``…SECRET``, ``…KEY``, ``…PASSWORD``,
    ``…SESSION``).
    """
    try:
        return factory(**kwargs)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    except AfterSalesError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        masked = redact_text(first, _secrets(kwargs.values()))[:200]
        raise ConfigurationError(f"{where}: the adapter failed to start: "
                                 f"{type(exc).__name__}: {masked}") from None


def _secrets(values: Iterable[Any]) -> list[str]:
    """Credential values an adapter's construction may have seen, for masking."""
    out = environment_secrets()
    for value in values:
        if isinstance(value, SecretStr):
            out.append(value.get_secret_value())
        secret_values = getattr(value, "secret_values", None)
        if callable(secret_values):
            out.extend(str(v) for v in secret_values())
    return out
