"""``MarketplaceConformance``: the pytest base class every marketplace adapter's tests subclass.

See :mod:`aftersales.testing` for how to use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from aftersales.interfaces import Capability, Marketplace
from aftersales.models import ReturnStatus
from aftersales.testing.checks import (
    LISTINGS,
    MARKETPLACE_CAPABILITIES,
    check_capability_declared,
    check_capability_undeclared,
    check_resume,
    check_round_trip,
    check_status_mapping,
    listed_models,
)
from aftersales.testing.samples import MarketplaceSamples, default_marketplace_samples

__all__ = ["MarketplaceConformance"]


def _lookup_status(cls: Any, raw: str) -> ReturnStatus:
    mapper = getattr(cls, "map_return_status", None)
    if callable(mapper):
        result: ReturnStatus = mapper(raw)
        return result
    table = getattr(cls, "return_status_table", None)
    if table is None:
        raise AssertionError(
            f"{cls.__name__} exposes neither map_return_status() nor return_status_table; "
            "expose one, or override map_return_status() in the conformance subclass"
        )
    found: ReturnStatus = table[raw]
    return found


class MarketplaceConformance:
    """The checks every marketplace adapter passes; subclass it in a test module.

    Provide a ``marketplace`` fixture that builds the adapter wired to a fake
    of its API (``responses``, a local server, or a sandbox); it is built
    afresh for every check. Optionally set :attr:`adapter_class` and
    override the hooks below.
    """

    #: The adapter class; the status-table check reads it without building one.
    adapter_class: ClassVar[type | None] = None
    #: How many pages with items each declared listing must serve.
    min_pages: ClassVar[int] = 3
    #: The most items one page of a listing may hold (the documented page size);
    #: ``None`` leaves page sizes unchecked.
    max_page_size: ClassVar[int | None] = None
    #: The currency of generic sample refunds.
    currency: ClassVar[str] = "CNY"

    @pytest.fixture
    def marketplace(self) -> Any:
        """Override: the adapter under test, wired to a fake of its API."""
        pytest.fail("override the `marketplace` fixture in your MarketplaceConformance subclass")

    # ---------------------------------------------------------------- hooks

    def raw_return_statuses(self, adapter_class: type) -> Sequence[str]:
        """Every raw return status the marketplace documents (default: the class's
        ``raw_return_statuses``)."""
        statuses: Sequence[str] = getattr(adapter_class, "raw_return_statuses", ())
        return statuses

    def map_return_status(self, adapter_class: type, raw: str) -> ReturnStatus:
        """The canonical status of ``raw`` (default: the class's ``map_return_status``
        or ``return_status_table``)."""
        return _lookup_status(adapter_class, raw)

    def samples(self, marketplace: Any, capability: Capability) -> MarketplaceSamples:
        """Arguments for ``capability``'s operation (default: from the adapter's listings,
        a request in a state that suits the capability)."""
        if capability not in marketplace.capabilities:
            return MarketplaceSamples.generic(marketplace.name, self.currency)
        return default_marketplace_samples(marketplace, self.currency, capability)

    # ---------------------------------------------------------------- checks

    def test_is_a_marketplace(self, marketplace: Any) -> None:
        """The adapter satisfies the protocol and declares only marketplace capabilities."""
        assert isinstance(marketplace, Marketplace), "does not implement the Marketplace protocol"
        assert isinstance(marketplace.name, str), "name must be a str"
        assert marketplace.name, "needs a name"
        caps = marketplace.capabilities
        assert isinstance(caps, frozenset), "capabilities must be a frozenset"
        stray = [c for c in caps if c not in MARKETPLACE_CAPABILITIES]
        assert not stray, f"non-marketplace capabilities declared: {stray}"

    def test_every_raw_return_status_maps(self, request: pytest.FixtureRequest) -> None:
        """Every documented raw status maps to a canonical ``ReturnStatus``."""
        cls = self.adapter_class or type(request.getfixturevalue("marketplace"))
        raw = self.raw_return_statuses(cls)
        caps: frozenset[Capability] = getattr(cls, "capabilities", frozenset())
        if not raw and Capability.LIST_RETURNS not in caps:
            pytest.skip(f"{cls.__name__} does not list return requests")
        check_status_mapping(
            raw, lambda r: self.map_return_status(cls, r), ReturnStatus, what="return status"
        )

    @pytest.mark.parametrize("capability", MARKETPLACE_CAPABILITIES, ids=lambda c: c.value)
    def test_capability(self, marketplace: Any, capability: Capability) -> None:
        """A declared capability works; an undeclared one raises UnsupportedOperationError."""
        samples = self.samples(marketplace, capability)
        if capability in marketplace.capabilities:
            result = check_capability_declared(marketplace, capability, samples)
            check_round_trip(listed_models(result), adapter_name=marketplace.name)
        else:
            check_capability_undeclared(marketplace, capability, samples)

    @pytest.mark.parametrize("capability", list(LISTINGS), ids=lambda c: c.value)
    def test_listing_resumes_from_every_cursor(
        self, marketplace: Any, capability: Capability
    ) -> None:
        """A listing resumed from any page's cursor misses and repeats nothing."""
        if capability not in marketplace.capabilities:
            pytest.skip(f"{marketplace.name} does not declare {capability.value}")
        listing = getattr(marketplace, LISTINGS[capability])
        items = check_resume(listing, min_pages=self.min_pages, name=LISTINGS[capability],
                             max_page_size=self.max_page_size)
        check_round_trip(items, adapter_name=marketplace.name)
