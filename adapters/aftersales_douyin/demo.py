"""``aftersales demo --shape douyin``: a Douyin-shaped shop through the real adapter.

The world (:mod:`aftersales_douyin.sandbox`) serves signed calls in process;
the demo syncs it into a fresh database and shows what the Chinese
marketplaces add: fen amounts, 价保/补寄/维修, refunds before shipment kept
apart, the platform's own deadlines beside the shop's SLA, risk verdicts,
refusal by listed code with a picture uploaded (open/binaryupload), an extension.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from rich.panel import Panel

from aftersales.cli_support import table
from aftersales.evidence import Evidence
from aftersales.models import FulfilmentStage, ReturnStatus
from aftersales.multipart import FilePart
from aftersales.testing.samples import SAMPLE_PNG
from aftersales_douyin.sandbox import DouyinWorld

if TYPE_CHECKING:
    from aftersales.cli_support import CliState

__all__ = ["DEMO_URL", "run"]

DEMO_URL = "sqlite:///aftersales-douyin-demo.db"


def run(state: CliState, *, seed: int = 0, count: int = 24) -> None:
    """Sync the Douyin-shaped world and walk its new kinds, stages and deadlines."""
    from aftersales.app import AfterSales

    url = state.database_url or DEMO_URL
    if url == DEMO_URL:
        Path("aftersales-douyin-demo.db").unlink(missing_ok=True)
    world = DouyinWorld(seed=seed, count=count)
    market = world.marketplace("dy-flagship")
    app = AfterSales(url, marketplaces=[market], carriers=[], channels=["outbox"],
                     clock=lambda: world.now)
    console = state.console
    console.print(Panel.fit(f"aftersales demo: a Douyin-shaped shop ({count} after-sales "
                            f"requests, seed {seed}) through the douyin adapter on {url}",
                            style="bold"))
    svc = app.returns
    svc.sync()
    synced = svc.list(limit=10_000)
    kinds = Counter((r.kind.value, r.status.value, r.stage.value if r.stage else "-")
                    for r in synced)
    console.print(table(f"{len(synced)} requests synced (afterSale/List, amounts in fen)",
                        ["kind", "status", "stage", "count"],
                        [(*k, n) for k, n in sorted(kinds.items())]))
    console.print(table("amounts read from fen",
                        ["rma_id", "kind", "raw status", "requested"],
                        [(r.rma_id, r.kind.value, r.raw_status, str(r.requested_amount or "-"))
                         for r in synced[:6]]))
    due = sorted((r for r in synced if r.platform_deadline), key=lambda r: (
        r.platform_deadline.due_at if r.platform_deadline else world.now))
    console.print(table("the platform's own deadlines (status_deadline), beside the shop's SLA",
                        ["rma_id", "kind", "status", "platform due", "extendable", "risk"],
                        [(r.rma_id, r.kind.value, r.status.value,
                          r.platform_deadline.due_at.isoformat() if r.platform_deadline else "",
                          "yes" if r.platform_deadline and r.platform_deadline.extendable
                          else "no", r.risk.reason if r.risk else "")
                         for r in due[:8]]))

    before = svc.list(stage=FulfilmentStage.NOT_SHIPPED, limit=10_000)
    console.print(f"Refunds asked before shipment (未发货仅退款), kept apart: {len(before)}; "
                  f"after delivery: {len(svc.list(stage='delivered', limit=10_000))}.")
    if before:
        first = before[0].rma_id or ""
        svc.approve(first)
        paid = svc.refund(first)
        console.print(f"  {first}: agreed and refunded {paid.amount} once (afterSale/operate 201).")

    asked = svc.list(status=ReturnStatus.REQUESTED, kind="return", limit=10_000)
    back = svc.list(status=ReturnStatus.RETURN_SHIPPED, limit=10_000)
    if asked and back:
        refused, extended = asked[0].rma_id or "", back[0].rma_id or ""
        reasons = svc.refusal_reasons(refused)
        console.print(table("refusal reasons Douyin lists (afterSale/rejectReasonCodeList)",
                            ["code", "reason", "pictures needed"],
                            [(r.code, r.text, "yes" if r.needs_evidence else "no")
                             for r in reasons]))
        proof = Evidence("吊牌已拆，影响二次销售", (FilePart("returned.png", SAMPLE_PNG),))
        svc.reject(refused, reason=reasons[0].text, reason_code=reasons[0].code,
                   evidence=proof)
        console.print(f"  {refused}: refused by code {reasons[0].code}; the picture went up "
                      f"through open/binaryupload ({len(world.pictures)} uploaded) and was "
                      "sent as a link.")
        old = svc.get(extended).platform_deadline
        new = svc.extend_deadline(extended)
        console.print(f"  {extended}: platform deadline extended from "
                      f"{old.due_at.isoformat() if old else '-'} to {new.due_at.isoformat()} "
                      f"(extensions: {new.extensions}).")
    repair = next((r for r in synced if r.kind.value == "repair"), None)
    if repair is not None:
        svc.submit_evidence(repair.rma_id or "", Evidence(
            "维修前检测照片", urls=("https://douyin-sandbox.invalid/img/check.png",)))
        console.print(f"  {repair.rma_id}: repair evidence submitted (afterSale/submitEvidence).")
    again = svc.sync()
    console.print(f"Syncing again after the demo's own actions: {again}.")
    app.close()
