"""An extension the marketplace granted whose local write then failed is never asked twice.

The claim is marked answered before the write; a write that fails (a
database error, or a SIGKILL between the answer and the commit) leaves it
so. Once its lease ran out, asking again used to call the marketplace
again, which grants the extension a second time (a day more than asked).
Now the answered claim is not sent again: the new deadline is the
marketplace's answer, which only a sync reads, so the ask is refused by
name, sending nothing, and the claim waits for the sync as a lost answer
does. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import ActionInFlightError, StorageError
from aftersales.returns import platform_actions
from aftersales.store.tables.returns import ActionClaimRow

from .action_shop import ActionShop
from .test_action_races import DUE, prepare

NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)


def test_an_answered_extension_whose_write_failed_is_not_asked_twice(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(db_url, ledger, 1, on_platform=True)
    shop = ActionShop(ledger, pause=0)
    now = [NOW]
    app = AfterSales(db_url, marketplaces=[shop], migrate=False, clock=lambda: now[0])
    real = platform_actions.record_platform_deadline

    def write_fails(*args: Any, **kwargs: Any) -> None:
        raise StorageError("the database went away")

    try:
        monkeypatch.setattr(platform_actions, "record_platform_deadline", write_fails)
        with pytest.raises(StorageError):
            app.returns.extend_deadline(rma, timedelta(hours=24))
        monkeypatch.setattr(platform_actions, "record_platform_deadline", real)
        assert shop.calls() == [(rma, "extend_deadline")]
        now[0] = NOW + timedelta(minutes=3)  # the lease ran out

        with pytest.raises(ActionInFlightError, match="answered") as info:
            app.returns.extend_deadline(rma, timedelta(hours=24))
        assert "\n" not in str(info.value)
        assert shop.calls() == [(rma, "extend_deadline")]  # granted once
        deadline = app.returns.get(rma).platform_deadline
        assert deadline is not None
        assert deadline.due_at == DUE
        with app.store.session() as session:
            left = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma))
            assert left is not None
            assert (left.state, left.lease_until) == ("unknown", None)  # a sync settles it
    finally:
        app.close()
