"""How the sandbox scales: listing 100,000 generated orders against listing 1,000.

What it shows: the sandbox generates each order from the seed on demand, so
listing N orders should cost about N times one order. The baseline lists
1,000 orders (and their returns and reviews) in this process; the figure is
the time per item at full size as a ratio to the baseline's time per item
(1.0 = perfectly linear). Absolute seconds are printed beside, for the
README's "100k orders list in well under a minute".

    python benchmarks/sandbox.py [--quick] [--orders N]
"""

from __future__ import annotations

import argparse
import time

from aftersales.sandbox import SandboxMarketplace


def _list_all(shop: SandboxMarketplace, listing: str) -> tuple[int, float]:
    started = time.perf_counter()
    count = sum(len(page.items) for page in getattr(shop, listing)())
    return count, time.perf_counter() - started


def main() -> None:
    """Run the baseline and the full-size listing and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 orders instead of 100,000")
    parser.add_argument("--orders", type=int, default=None)
    args = parser.parse_args()
    size = args.orders or (20_000 if args.quick else 100_000)
    base = SandboxMarketplace(seed=1, orders=1_000, page_size=50)
    full = SandboxMarketplace(seed=2, orders=size, page_size=50)
    print(f"sandbox listing: {size:,} orders vs a 1,000-order baseline (seconds per item ratio)")
    for listing in ("list_orders", "list_returns", "list_reviews"):
        n0, t0 = _list_all(base, listing)
        n1, t1 = _list_all(full, listing)
        ratio = (t1 / n1) / (t0 / n0)
        print(f"  {listing:<13} {n1:>8,} items in {t1:6.1f} s  "
              f"per-item ratio to baseline {ratio:4.2f}  ({n0:,} items in {t0:.2f} s)")
    n0, t0 = _list_all(base, "list_orders")
    n1, t1 = _list_all(full, "list_orders")
    print(f"  list_orders again (plans cached): {t1:6.1f} s, "
          f"per-item ratio {(t1 / n1) / (t0 / n0):4.2f}")


if __name__ == "__main__":
    main()
