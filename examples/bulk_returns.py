"""A script that bulk-processes returns from a CSV, as `aftersales returns bulk` does.

Run it as ``python examples/bulk_returns.py [DATABASE_URL]``: it syncs the
sandbox shop, writes a CSV approving every open request (plus one bad row),
applies it twice and shows that the second run changes nothing.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

from aftersales import AfterSales, ReturnStatus
from aftersales.sandbox import SandboxMarketplace


def main(database_url: str = "sqlite:///bulk-returns.db") -> tuple[object, object]:
    """Approve every requested return from a CSV; returns the two runs' summaries."""
    shop = SandboxMarketplace(seed=11, orders=80)
    app = AfterSales(database_url, marketplaces=[shop], clock=lambda: shop.now)
    app.sync()
    open_requests = app.returns.list(status=ReturnStatus.REQUESTED)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "approve.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["action", "rma_id", "note"])
            for request in open_requests:
                writer.writerow(["approve", request.rma_id, "bulk approval"])
            writer.writerow(["approve", "RMA-DOES-NOT-EXIST", "a bad row"])
        first = app.returns.bulk_file(path, report=Path(tmp) / "report.csv")
        second = app.returns.bulk_file(path)
        print(f"first run:  {first}")
        print(f"second run: {second}")
        print((Path(tmp) / "report.csv").read_text(encoding="utf-8").splitlines()[-1])
    app.close()
    return first, second


if __name__ == "__main__":
    main(*sys.argv[1:2])
