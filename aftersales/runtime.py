"""Runtime: what every area service needs, and nothing else.

:class:`~aftersales.app.AfterSales` builds one runtime and hands it to each
area service; a service never sees the facade and never imports
:mod:`aftersales.app`. Where one area needs another it is given a narrow
callable (logistics gets "receive this return parcel"), not the other
area's service. A service can therefore be built and tested from a runtime
alone::

    runtime = Runtime(Store("sqlite://"), AfterSalesSettings.load())
    service = ReviewsService(runtime)

What a runtime holds:

- the :class:`~aftersales.store.Store` and :meth:`Runtime.unit_of_work`,
  the one way a write transaction is opened (by its caller, explicitly);
- the :class:`~aftersales.events.EventBus`;
- the clock (:meth:`Runtime.now`) and the shop's time zone;
- the typed settings (:class:`~aftersales.config.AfterSalesSettings`);
- the configured adapters by name: marketplaces, carriers and channels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from aftersales import registry
from aftersales.config import AfterSalesSettings
from aftersales.errors import ConfigurationError, NotFoundError
from aftersales.events import EventBus, Hook
from aftersales.interfaces import Carrier, Channel, Marketplace
from aftersales.store import Store

_A = TypeVar("_A")

__all__ = ["Runtime", "adapter_options", "by_name"]


def adapter_options(settings: AfterSalesSettings, group: str, name: str) -> dict[str, Any]:
    """Constructor arguments from ``settings`` for a built-in adapter built by name."""
    if name == "sandbox" and group == registry.MARKETPLACES:
        return {"seed": settings.sandbox.seed, "orders": settings.sandbox.orders}
    if name == "webhook" and group == registry.CHANNELS:
        return {"settings": settings.webhook}
    if name == "smtp" and group == registry.CHANNELS:
        return {"settings": settings.smtp}
    return {}


def by_name(adapters: Sequence[Any], kind: str) -> dict[str, Any]:
    """Adapters keyed by their ``name``; two of one name are a configuration error.

    Two stores of one kind therefore need two names (``name=`` or
    ``[stores.NAME]``); the message says so.
    """
    out: dict[str, Any] = {}
    for adapter in adapters:
        if adapter.name in out:
            raise ConfigurationError(
                f"two {kind} adapters are both named {adapter.name!r}; give each store "
                "its own name (name= or [stores.NAME])")
        out[adapter.name] = adapter
    return out


class Runtime:
    """The store, units of work, events, clock, settings and adapters, for the services.

    Args:
        store: the database.
        settings: the typed settings.
        marketplaces: marketplace adapters by name.
        carriers: tracking providers by name, in fallback order.
        channels: channel instances or registered names; names are built
            on first use (some channels write to this runtime's store).
        events: the event bus (a new one by default).
        clock: returns the current aware time (default: the system's, UTC).
    """

    def __init__(
        self,
        store: Store,
        settings: AfterSalesSettings,
        *,
        marketplaces: Mapping[str, Marketplace] | None = None,
        carriers: Mapping[str, Carrier] | None = None,
        channels: Sequence[Channel | str] = (),
        events: EventBus | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.timezone = ZoneInfo(settings.timezone)
        self.events = events or EventBus()
        self.marketplaces: dict[str, Marketplace] = dict(marketplaces or {})
        self.carriers: dict[str, Carrier] = dict(carriers or {})
        self._channel_specs: list[Channel | str] = list(channels)
        self._clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        return self._clock()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One write transaction, opened by the caller: commit at the end, roll back on error.

        Nothing joins it implicitly; work that must reach a marketplace
        records its intent in one unit of work, calls out after it has
        committed, and records the outcome in another.
        """
        with self.store.session() as session:
            yield session

    def marketplace(self, name: str) -> Marketplace:
        """The configured marketplace adapter called ``name``.

        Raises:
            NotFoundError: no marketplace of that name is configured here.
        """
        return _named(self.marketplaces, "marketplace", name)

    @cached_property
    def channels(self) -> dict[str, Channel]:
        """The configured channels by name (built on first use)."""
        built: list[Any] = []
        for spec in self._channel_specs:
            if isinstance(spec, str):
                cls = registry.load(registry.CHANNELS, spec)
                if hasattr(cls, "for_runtime"):
                    built.append(cls.for_runtime(self))
                else:
                    built.append(cls(**adapter_options(self.settings, registry.CHANNELS, spec)))
            else:
                built.append(spec)
        return by_name(built, "channel")

    def channel(self, name: str) -> Channel:
        """The configured channel called ``name``.

        Raises:
            NotFoundError: no channel of that name is configured here.
        """
        return _named(self.channels, "channel", name)

    def on(self, event: str, hook: Hook) -> Hook:
        """Call ``hook(event)`` after each committed event named ``event`` (``"*"``: all)."""
        return self.events.on(event, hook)


def _named(adapters: Mapping[str, _A], kind: str, name: str) -> _A:
    """The adapter of ``kind`` called ``name``, or a NotFoundError naming both."""
    try:
        return adapters[name]
    except KeyError:
        raise NotFoundError(kind, name) from None
