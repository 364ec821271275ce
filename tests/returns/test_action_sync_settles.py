"""A sync settles an action whose answer was lost: the marketplace's word replaces "unknown"."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from aftersales.errors import ActionInFlightError, TransientError
from aftersales.models import ReturnStatus
from aftersales.store.tables.returns import ActionClaimRow


def test_a_sync_reading_the_request_settles_a_lost_approval(
        synced: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    synced.returns.sync(sandbox.name)
    waiting = [r for r in synced.returns.list(status=["requested"], limit=500)
               if r.external_id]
    rma = waiting[0].rma_id
    real = sandbox.approve_return

    def approved_then_lost(request: Any, *, note: str | None = None) -> None:
        real(request, note=note)
        raise TransientError("sandbox approve_return reply timed out", adapter="sandbox")

    monkeypatch.setattr(sandbox, "approve_return", approved_then_lost)
    with pytest.raises(TransientError):
        synced.returns.approve(rma, override=True)
    with pytest.raises(ActionInFlightError, match="answer to it was lost"):
        synced.returns.reject(rma, reason="not as described")
    assert synced.returns.get(rma).status is ReturnStatus.REQUESTED

    synced.returns.sync(sandbox.name)  # the marketplace says it approved
    assert synced.returns.get(rma).status is ReturnStatus.APPROVED
    with synced.store.session() as session:
        assert session.scalars(select(ActionClaimRow)).all() == []
