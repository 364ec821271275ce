"""Fixtures for the sandbox tests: a small shop and its carrier on one clock."""

from __future__ import annotations

import pytest

from aftersales.sandbox import SandboxCarrier, SandboxMarketplace


@pytest.fixture
def shop() -> SandboxMarketplace:
    """A 100-order shop, seed 0, pages of 10."""
    return SandboxMarketplace(seed=0, orders=100, page_size=10)


@pytest.fixture
def carrier(shop: SandboxMarketplace) -> SandboxCarrier:
    """The sandbox carrier on the shop's clock."""
    return shop.carrier()
