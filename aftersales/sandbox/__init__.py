"""The sandbox: a deterministic simulated shop and tracking provider.

It is the embedded default of aftersales: demos, tests and benchmarks of
every area run against it, with no network, no credentials and no wall
clock. Everything it holds follows from a seed, so the same seed gives the
same orders, returns, reviews and tracking numbers on every machine.

* :class:`SandboxMarketplace` implements every operation of
  :class:`~aftersales.interfaces.Marketplace`: orders with lines, buyers and
  parcels; return requests of every kind and reason with raw statuses and raw
  reason texts (Chinese and English); reviews with ratings, edits and 追评;
  incremental listings with resumable cursors; actions that change the shop;
  idempotent refunds.
* :class:`SandboxCarrier` implements :class:`~aftersales.interfaces.Carrier`:
  detection, batched tracking of the numbers the marketplace issues, and
  signed pushes.
* :class:`SandboxClock` is their shared simulated time; :class:`Faults`
  injects rate limits, timeouts and 5xx errors at given rates.

In a test::

    from aftersales.sandbox import Faults, SandboxMarketplace

    shop = SandboxMarketplace(seed=0, orders=200)
    carrier = shop.carrier()                      # same clock
    for page in shop.list_orders():
        ...
    shop.advance(days=2)                          # parcels move on, buyers act
    flaky = SandboxMarketplace(faults=Faults(rate_limit=0.1, seed=3))

Both are registered under the name ``sandbox`` in the ``aftersales.marketplaces``
and ``aftersales.carriers`` entry-point groups.
"""

from __future__ import annotations

from aftersales.sandbox._clock import DEFAULT_START, SandboxClock
from aftersales.sandbox._faults import Faults
from aftersales.sandbox.carrier import SANDBOX_PUSH_SECRET, SIGNATURE_HEADER, SandboxCarrier
from aftersales.sandbox.marketplace import SandboxMarketplace

__all__ = [
    "DEFAULT_START",
    "SANDBOX_PUSH_SECRET",
    "SIGNATURE_HEADER",
    "Faults",
    "SandboxCarrier",
    "SandboxClock",
    "SandboxMarketplace",
]
