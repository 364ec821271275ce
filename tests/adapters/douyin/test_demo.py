"""``aftersales demo --shape douyin``: the Douyin-shaped world through the real adapter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aftersales_douyin.sandbox import DouyinWorld

from aftersales.app import AfterSales
from aftersales.models import FulfilmentStage, ReturnKind


def test_the_douyin_demo_runs_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aftersales", "demo", "--shape", "douyin"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for words in ("price_protection", "reship", "repair", "not_shipped", "platform due",
                  "refused by code 1001", "deadline extended", "CNY"):
        assert words in out
    assert (tmp_path / "aftersales-douyin-demo.db").exists()


def test_the_world_has_every_kind_fen_amounts_and_deadlines(tmp_path: Path) -> None:
    world = DouyinWorld(seed=3, count=16)
    with AfterSales(f"sqlite:///{tmp_path}/w.db", marketplaces=[world.marketplace()],
                    carriers=[], clock=lambda: world.now, migrate=False) as app:
        app.store.create_all()
        app.returns.sync()
        synced = app.returns.list(limit=100)
    assert {r.kind for r in synced} == set(ReturnKind)
    assert any(r.stage is FulfilmentStage.NOT_SHIPPED for r in synced)
    assert all(r.platform_deadline is not None for r in synced)
    paid = [r.requested_amount for r in synced if r.requested_amount is not None]
    assert any(m.amount.as_tuple().exponent == -2 and m.amount % 1 for m in paid)


def test_the_world_reads_each_request_by_id_as_it_lists_it() -> None:
    world = DouyinWorld(seed=3, count=16)
    market = world.marketplace()
    listed = [r for page in market.list_returns() for r in page.items]
    assert len(listed) == 16
    for request in listed:
        assert market.get_return(request.external_id or "") == request
