"""What every tracking provider reached over HTTP is built of: settings, client, status table.

Kuaidi100, 17TRACK and AfterShip are each an adapter of their settings
(credentials from the constructor or the environment), their API client
(through the core's ``ApiClient``) and their table of provider status codes.
:class:`ProviderCarrier` holds that construction once, so each adapter
states only its parts and its own calls:

.. code-block:: python

    class AfterShipCarrier(ProviderCarrier[AfterShipSettings, AfterShipClient]):
        name = "aftership"
        settings_class = AfterShipSettings
        client_class = AfterShipClient
        status_table = STATUS_TABLE
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, cast

from aftersales.http import ApiClient
from aftersales.interfaces import CarrierBase
from aftersales.logistics.tracking import StatusTable, status_map
from aftersales.models import ParcelStatus
from aftersales.settings import AdapterClient, AdapterSettings

__all__ = ["ProviderCarrier"]

SettingsT = TypeVar("SettingsT", bound=AdapterSettings)
ClientT = TypeVar("ClientT", bound=AdapterClient[Any])


class ProviderCarrier(CarrierBase, Generic[SettingsT, ClientT]):
    """A tracking provider's adapter: its settings, its API client and its status table.

    A subclass sets, as class variables, ``settings_class`` (whose
    ``from_env()`` is read when no settings are given), ``client_class``
    (built from the settings) and ``status_table`` (every documented provider
    code and its rule); ``raw_parcel_statuses`` and ``parcel_status_table``,
    which the conformance kit reads, are derived from the table. Any carrier
    the provider knows is tracked (``carriers = None``).

    Constructing needs no credentials: a call that needs a missing one
    raises ``ConfigurationError`` naming the variable to set.

    Args:
        settings: the adapter's settings; ``settings_class.from_env()`` when ``None``.
        api: a ready ``ApiClient`` (tests and custom transports).
        name: this instance's store name (the class's ``name`` by default).
        sleep: how the retry layer waits (tests pass a recorder).

    ``batch_size`` is the settings' ``batch_size`` when they have one (a
    provider whose batch the shop may shrink), else the class's.
    """

    settings_class: ClassVar[type[AdapterSettings]]
    client_class: ClassVar[type[AdapterClient[Any]]]
    status_table: ClassVar[StatusTable]
    #: every documented provider status code, and what each means (for the conformance kit).
    raw_parcel_statuses: ClassVar[tuple[str, ...]] = ()
    parcel_status_table: ClassVar[dict[str, ParcelStatus]] = {}
    carriers: frozenset[str] | None = None  # any carrier the provider knows

    settings: SettingsT
    client: ClientT

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("status_table")
        if table is not None:
            cls.raw_parcel_statuses = tuple(table)
            cls.parcel_status_table = status_map(table)

    def __init__(
        self,
        settings: SettingsT | None = None,
        *,
        api: ApiClient | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(name=name)
        self.settings = (settings if settings is not None
                         else cast(SettingsT, self.settings_class.from_env()))
        self.batch_size = getattr(self.settings, "batch_size", type(self).batch_size)
        self.client = cast(ClientT, self.client_class(self.settings, api=api, sleep=sleep))
