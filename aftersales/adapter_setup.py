"""The constructor of a marketplace adapter that talks through one API client.

The Taobao, Douyin, Pinduoduo and JD adapters are built the same way:
``XMarketplace(settings, name=..., api=..., clock=..., sleep=...)``. The
settings default to the environment's, the clock to the current UTC time, and
the adapter's client is made from the settings with ``api``, ``clock`` and
``sleep``. :class:`ClientMarketplace` holds that constructor once (as
:class:`~aftersales.settings.AdapterClient` holds a client's): an adapter
names its settings and client classes, and does what is its own in
:meth:`~ClientMarketplace.connected`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar, cast

from aftersales.http import ApiClient
from aftersales.interfaces import MarketplaceBase
from aftersales.settings import AdapterSettings
from aftersales.times import utc_now

__all__ = ["ClientMarketplace", "utc_now"]

SettingsT = TypeVar("SettingsT", bound=AdapterSettings)
ClientT = TypeVar("ClientT")


class ClientMarketplace(MarketplaceBase, Generic[SettingsT, ClientT]):
    """A marketplace adapter whose calls go through one client made from its settings.

    Attributes:
        settings_class: the adapter's settings class (``from_env`` reads them).
        client_class: the adapter's client class, called as
            ``client_class(settings, api=..., clock=..., sleep=...)``.

    Args:
        settings: the shop's settings; read from the environment when ``None``.
        name: the store name (the adapter's kind by default).
        api: a ready ``ApiClient`` (tests inject one with a recorded ``sleep``).
        clock: the current aware time (signed timestamps, sync windows); the
            current UTC time by default.
        sleep: how the retry layer waits (ignored when ``api`` is given).
    """

    settings_class: ClassVar[type[AdapterSettings]]
    client_class: ClassVar[Callable[..., Any]]

    def __init__(
        self,
        settings: SettingsT | None = None,
        *,
        name: str | None = None,
        api: ApiClient | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(name=name)
        self.settings: SettingsT = (cast("SettingsT", self.settings_class.from_env())
                                    if settings is None else settings)
        self.clock: Callable[[], datetime] = clock or utc_now
        self.client: ClientT = self.client_class(self.settings, api=api, clock=self.clock,
                                                 sleep=sleep)
        self.connected()

    def connected(self) -> None:
        """What the adapter sets up once its settings and client are in place (nothing)."""
