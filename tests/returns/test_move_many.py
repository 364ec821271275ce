"""The set-based transition writer writes exactly what the single one writes.

``TransitionWriter.move`` moves one request through the ORM;
``TransitionWriter.move_many`` moves a set with one statement a table. Both
are run side by side on twin requests (same kind, status, version, store,
order, external id, deadline row or none) with random moves the machine
allows, random reasons, notes, audit data and marketplace statuses, and
hooks listening to some topics. Compared: the request's status, version,
raw status and time; every audit row; every outbox event (key, columns and
payload); the deadline row; and what the hooks heard. Ids are anonymised
(twins differ only in their rma id). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text

from aftersales.errors import ConcurrentUpdateError
from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns.lifecycle import can_transition
from aftersales.returns.write_many import Move
from aftersales.store.tables.core import AuditRow, OutboxRow
from aftersales.store.tables.returns import ReturnDeadlineRow, ReturnRow

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ALLOWED = [(k, s, t) for k in ReturnKind for s in ReturnStatus for t in ReturnStatus
           if s is not t and can_transition(k, s, t)]
HEARD_TOPICS = ("return.approved", "return.rejected", "return.closed")
_n = itertools.count()

texts = st.one_of(st.none(), st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                                     max_size=12))
spec = st.fixed_dictionaries({
    "move": st.sampled_from(ALLOWED),
    "version": st.integers(1, 9),
    "store": st.sampled_from(["shop", "other"]),
    "external": st.booleans(),
    "deadline": st.booleans(),
    "actor": st.sampled_from(["bulk", "desk", "marketplace:shop"]),
    "reason": st.one_of(texts, st.just("r" * 250)),
    "note": texts,
    "data": st.one_of(st.none(), st.dictionaries(st.sampled_from(["raw_status", "path"]),
                                                 st.text(max_size=5), max_size=2)),
    "raw_status": st.one_of(st.none(), st.sampled_from(["WAIT_SELLER", "CLOSED"])),
})


@pytest.fixture
def shop(db_url: str) -> Iterator[Any]:
    from aftersales.app import AfterSales

    app = AfterSales(db_url, marketplaces=[], clock=lambda: NOW, migrate=False)
    app.store.create_all()
    yield app
    app.close()


def _seed(app: Any, rma: str, n: int, s: dict[str, Any]) -> None:
    kind, source, _ = s["move"]
    with app.store.session() as session:
        session.execute(insert(ReturnRow.__table__), [{  # Core: keeps the given version
            "rma_id": rma, "marketplace": s["store"],
            "external_id": f"X-{rma}" if s["external"] else None,
            "order_external_id": f"O-{n}", "buyer_id": "B-1", "kind": kind.value,
            "status": source.value, "raw_status": "BEFORE", "currency": "CNY", "evidence": [],
            "version": s["version"], "eligibility": "eligible",
            "created_at": NOW - timedelta(days=1), "updated_at": NOW - timedelta(days=1)}])
        if s["deadline"]:
            session.execute(insert(ReturnDeadlineRow), [{
                "rma_id": rma, "name": "merchant_response", "status": source.value,
                "action": "remind", "due_at": NOW + timedelta(hours=1),
                "alert_at": NOW, "alerted_at": NOW, "lease_until": NOW,
                "last_error": "x"}])


def _written(app: Any, rma: str) -> dict[str, Any]:
    def anon(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: anon(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [anon(v) for v in value]
        if isinstance(value, str):
            return value.replace(rma, "<rma>")
        return value

    with app.store.session() as s:
        req = s.get(ReturnRow, rma)
        dl = s.get(ReturnDeadlineRow, rma)
        audits = s.scalars(select(AuditRow).where(AuditRow.entity_id == rma)
                           .order_by(AuditRow.id)).all()
        events = s.scalars(select(OutboxRow).where(OutboxRow.aggregate_id == rma)
                           .order_by(OutboxRow.id)).all()
        # What the database holds for the audit data, not only what the ORM reads back.
        raw_data = s.execute(text("SELECT data IS NULL FROM audit_log WHERE entity_id = :r"),
                             {"r": rma}).scalars().all()
        assert req is not None
        return anon({
            "request": (req.status, req.version, req.raw_status, req.updated_at),
            "deadline": None if dl is None else {c: getattr(dl, c) for c in (
                "name", "status", "action", "due_at", "alert_at", "alerted_at", "lease_until",
                "last_error")},
            "audit": [{c: getattr(a, c) for c in ("entity", "entity_id", "actor", "at",
                                                   "from_status", "to_status", "reason",
                                                   "note", "data")} for a in audits],
            "audit_data_null": raw_data,
            "events": [{c: getattr(e, c) for c in ("key", "topic", "event_type",
                                                   "aggregate_type", "aggregate_id", "store",
                                                   "payload", "delivered_at")} for e in events],
        })


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(spec, min_size=1, max_size=6))
def test_move_many_writes_what_move_writes(shop: Any, specs: list[dict[str, Any]]) -> None:
    heard: list[Any] = []
    for topic in HEARD_TOPICS:
        shop.on(topic, heard.append)
    writer = shop.returns._writer
    twins = []
    for s in specs:
        n = next(_n)
        one, many = f"RMA-A{n:06d}", f"RMA-B{n:06d}"
        _seed(shop, one, n, s)
        _seed(shop, many, n, s)
        twins.append((one, many, n, s))
    try:
        with shop.store.session() as session:  # the single path, one request at a time
            for one, _, _, s in twins:
                row = session.get(ReturnRow, one)
                writer.move(session, row, s["move"][2], actor=s["actor"], now=NOW,
                            reason=s["reason"], note=s["note"], raw_status=s["raw_status"],
                            data=s["data"], check=False)
        heard_one, heard[:] = list(heard), []
        with shop.store.session() as session:  # the set-based path, all at once
            writer.move_many(session, [
                Move(many, s["move"][0].value, s["store"], f"O-{n}",
                     f"X-{many}" if s["external"] else None, s["move"][1], s["version"],
                     s["move"][2], s["actor"], reason=s["reason"], note=s["note"],
                     data=s["data"], raw_status=s["raw_status"])
                for _, many, n, s in twins], now=NOW)
        heard_many = list(heard)
    finally:
        for topic in HEARD_TOPICS:
            shop.events.off(topic, heard.append)
    for one, many, _, _ in twins:
        a, b = _written(shop, one), _written(shop, many)
        assert a["request"][0] != "BEFORE"
        assert a == b
    assert [(e.name, e.key.replace("RMA-A", "RMA-?"), _anon_payload(e.payload))
            for e in heard_one] == [
        (e.name, e.key.replace("RMA-B", "RMA-?"), _anon_payload(e.payload)) for e in heard_many]


def _anon_payload(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.replace("RMA-A", "RMA-?").replace("RMA-B", "RMA-?")
                if isinstance(v, str) else v) for k, v in payload.items()}


def test_move_many_refuses_a_request_changed_since_it_was_read(shop: Any) -> None:
    s = {"move": (ReturnKind.RETURN, ReturnStatus.REQUESTED, ReturnStatus.APPROVED),
         "version": 3, "store": "shop", "external": False, "deadline": True}
    _seed(shop, "RMA-R1", 1, s)
    _seed(shop, "RMA-R2", 2, s)
    moves = [Move(rma, "return", "shop", f"O-{i}", None, ReturnStatus.REQUESTED, version,
                  ReturnStatus.APPROVED, "bulk")
             for i, (rma, version) in enumerate((("RMA-R1", 3), ("RMA-R2", 2)), start=1)]
    with pytest.raises(ConcurrentUpdateError), shop.store.session() as session:
        shop.returns._writer.move_many(session, moves, now=NOW)
    for rma in ("RMA-R1", "RMA-R2"):  # nothing of the set was written
        assert _written(shop, rma)["request"][:2] == ["requested", 3]
        assert _written(shop, rma)["audit"] == []
        assert _written(shop, rma)["events"] == []
