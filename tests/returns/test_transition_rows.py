"""One transition path: a single approval and a bulk one write the same rows.

The single path moves a request through the ORM; bulk approvals write runs
of them with ``executemany`` (and, on SQLite, build the event's JSON in
SQL). Both take their values from ``build_transition``; this compares what
they actually wrote: the audit row, the outbox event, the deadline and the
request's status and version, on SQLite and PostgreSQL, with and without
in-process hooks listening. The store's own bookkeeping times (the outbox
row's ``created_at``, the request's ``updated_at``) are left out: the single
path leaves them to the column defaults (the wall clock), bulk writes the
app's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.store.tables.core import AuditRow, OutboxRow
from aftersales.store.tables.returns import ReturnDeadlineRow, ReturnRow

from .conftest import seed_requests


@pytest.fixture
def shop(db_url: str, sandbox: Any) -> Iterator[Any]:
    from aftersales.app import AfterSales

    app = AfterSales(db_url, marketplaces=[sandbox], clock=lambda: sandbox.now)
    yield app
    app.close()


def _written(app: Any, rma_id: str, order_id: str) -> dict[str, Any]:
    """What the request's approval wrote, with its own ids replaced by placeholders."""

    def anon(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: anon(v) for k, v in value.items()}
        if isinstance(value, str):
            return value.replace(rma_id, "<rma>").replace(order_id, "<order>")
        return value

    with app.store.session() as s:
        audits = s.scalars(select(AuditRow).where(AuditRow.entity_id == rma_id)
                           .order_by(AuditRow.id)).all()
        events = s.scalars(select(OutboxRow).where(OutboxRow.key.like(f"%:{rma_id}:%"))
                           .order_by(OutboxRow.id)).all()
        request = s.get(ReturnRow, rma_id)
        deadline = s.get(ReturnDeadlineRow, rma_id)
        assert request is not None
        assert deadline is not None
        return {
            "audit": [anon({c: getattr(a, c) for c in ("entity", "entity_id", "actor", "at",
                                                       "from_status", "to_status", "reason",
                                                       "note", "data")}) for a in audits],
            "events": [anon({"key": e.key, "topic": e.topic, "payload": e.payload})
                       for e in events],
            "request": (request.status, request.version),
            "deadline": anon({c: getattr(deadline, c) for c in (
                "name", "status", "action", "due_at", "alert_at", "alerted_at")}),
        }


@pytest.mark.parametrize("hooks", [False, True], ids=["outbox-only", "with-hooks"])
def test_single_and_bulk_approvals_write_identical_audit_and_event_rows(
    shop: Any, hooks: bool
) -> None:
    heard: list[Any] = []
    if hooks:
        shop.on("return.approved", heard.append)
    single, bulk = seed_requests(shop, 2)
    shop.returns.approve(single, note="looks fine", actor="desk")
    summary = shop.returns.bulk([{"action": "approve", "rma_id": bulk, "note": "looks fine"}],
                                actor="desk")
    assert (summary.ok, summary.errors) == (1, 0)
    one, many = _written(shop, single, "O-0"), _written(shop, bulk, "O-1")
    assert one["audit"][-1]["from_status"] == "requested"  # a real move was compared
    assert one == many
    if hooks:
        assert [e.payload["from"] for e in heard] == ["requested", "requested"]
        assert heard[0].payload | {"rma_id": "", "order_id": ""} == (
            heard[1].payload | {"rma_id": "", "order_id": ""})
