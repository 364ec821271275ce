"""Refresh: exact call counts per batch, TTL, terminal parcels, fallback, events."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from aftersales.errors import AuthenticationError, ConfigurationError, TransientError
from aftersales.events import Event
from aftersales.models import ParcelStatus
from aftersales.store.tables.core import OutboxRow, ShipmentRow, TrackingEventRow

from .conftest import Clock, ScriptedCarrier, add_parcels, numbers


@pytest.mark.parametrize(("count", "batch"), [(0, 40), (1, 40), (40, 40), (41, 40), (95, 40),
                                               (95, 7), (12, 1)])
def test_n_parcels_cost_ceil_n_over_batch_calls(make_app: Any, count: int, batch: int) -> None:
    provider = ScriptedCarrier(batch_size=batch)
    app = make_app(provider)
    add_parcels(app, numbers(count))
    report = app.logistics.refresh()
    assert provider.calls == math.ceil(count / batch)
    assert report.calls["primary"] == provider.calls
    assert sorted(provider.numbers) == numbers(count)
    assert report.checked == report.due == count


def test_calls_in_flight_are_bounded(make_app: Any) -> None:
    import threading

    state = {"now": 0, "peak": 0}
    lock = threading.Lock()
    three_in_flight = threading.Event()

    class Gated(ScriptedCarrier):
        def track(self, queries: Any) -> Any:
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
                if state["now"] == 3:
                    three_in_flight.set()
            # the first calls wait until three run at once: proves they overlap
            three_in_flight.wait(timeout=10)
            with lock:
                state["now"] -= 1
            return super().track(queries)

    provider = Gated(batch_size=5)
    app = make_app(provider, logistics={"max_in_flight": 3})
    add_parcels(app, numbers(60))
    app.logistics.refresh()
    assert provider.calls == 12
    assert state["peak"] == 3


def test_a_second_refresh_within_the_ttl_costs_nothing(make_app: Any, clock: Clock) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider, logistics={"ttl": timedelta(hours=2)})
    add_parcels(app, numbers(50))
    app.logistics.refresh()
    first = provider.calls
    clock.advance(timedelta(hours=1, minutes=59))
    report = app.logistics.refresh()
    assert provider.calls == first
    assert report.due == 0
    clock.advance(timedelta(minutes=2))
    app.logistics.refresh()
    assert provider.calls == first + 2


def test_delivered_parcels_are_never_queried_again(make_app: Any, clock: Clock) -> None:
    parcels = numbers(30)
    delivered = set(parcels[:10])
    provider = ScriptedCarrier(
        statuses=dict.fromkeys(delivered, ParcelStatus.DELIVERED)
    )
    app = make_app(provider)
    add_parcels(app, parcels)
    app.logistics.refresh()
    provider.batches.clear()
    for _ in range(3):
        clock.advance(timedelta(days=1))
        app.logistics.refresh()
    assert provider.calls == 3
    assert not delivered & set(provider.numbers)
    with app.store.session() as session:
        terminal = session.scalar(select(func.count()).where(ShipmentRow.terminal.is_(True)))
    assert terminal == 10


def test_a_failing_provider_falls_back_to_the_next(make_app: Any) -> None:
    broken = ScriptedCarrier("broken", batch_size=40, fail=TransientError("down", adapter="x"))
    backup = ScriptedCarrier("backup", batch_size=20)
    app = make_app(broken, backup)
    add_parcels(app, numbers(90))
    report = app.logistics.refresh()
    assert broken.calls == 3
    assert backup.calls == math.ceil(90 / 20)
    assert report.failed_calls["broken"] == 3
    assert report.checked == 90
    assert report.fallbacks == 90
    assert not report.unresolved


def test_bad_credentials_fall_back_too(make_app: Any) -> None:
    broken = ScriptedCarrier("broken", fail=AuthenticationError("bad key", adapter="x"))
    backup = ScriptedCarrier("backup")
    app = make_app(broken, backup)
    add_parcels(app, numbers(5))
    assert app.logistics.refresh().checked == 5


def test_a_provider_lacking_the_carrier_is_skipped(make_app: Any) -> None:
    sf_only = ScriptedCarrier("sf_only", carriers=frozenset({"sf"}))
    anyone = ScriptedCarrier("anyone")
    app = make_app(sf_only, anyone)
    add_parcels(app, numbers(3), carrier="sf")
    add_parcels(app, numbers(4, "YT"), carrier="yto")
    app.logistics.refresh()
    assert sorted(sf_only.numbers) == numbers(3)
    assert sorted(anyone.numbers) == numbers(4, "YT")


def test_a_refused_number_moves_on_alone(make_app: Any) -> None:
    parcels = numbers(10)
    first = ScriptedCarrier("first", refuse=parcels[:2])
    second = ScriptedCarrier("second")
    app = make_app(first, second)
    add_parcels(app, parcels)
    report = app.logistics.refresh()
    assert first.calls == 1
    assert second.batches == [parcels[:2]]
    assert report.checked == 10


def test_numbers_no_provider_can_track_are_reported_and_stay_due(make_app: Any) -> None:
    provider = ScriptedCarrier(refuse=numbers(2))
    app = make_app(provider)
    add_parcels(app, numbers(5))
    report = app.logistics.refresh()
    assert set(report.unresolved) == set(numbers(2))
    assert report.checked == 3
    assert app.logistics.refresh().due == 2  # not marked checked: retried next time


def test_refresh_without_providers_is_a_configuration_error(make_app: Any) -> None:
    app = make_app()
    assert app.logistics.refresh().due == 0  # an idle worker tick is not an error
    add_parcels(app, numbers(1))
    with pytest.raises(ConfigurationError, match="AFTERSALES_CARRIERS"):
        app.logistics.refresh()


def test_events_are_emitted_once_after_commit(make_app: Any, clock: Clock) -> None:
    parcels = numbers(4)
    provider = ScriptedCarrier(statuses={parcels[0]: ParcelStatus.DELIVERED,
                                         parcels[1]: ParcelStatus.EXCEPTION})
    app = make_app(provider)
    add_parcels(app, parcels)
    seen: list[Event] = []
    app.on("*", seen.append)
    app.logistics.refresh()
    names = sorted(e.name for e in seen)
    assert names == ["parcel.delivered", "parcel.exception"]
    delivered = next(e for e in seen if e.name == "parcel.delivered")
    assert delivered.payload["tracking_number"] == parcels[0]
    assert delivered.payload["previous_status"] == "pending"
    clock.advance(timedelta(days=1))
    app.logistics.refresh()
    assert len(seen) == 2
    with app.store.session() as session:
        topics = sorted(session.scalars(select(OutboxRow.event_type)))
        events = session.scalar(select(func.count()).select_from(TrackingEventRow))
    assert topics == ["parcel.delivered", "parcel.exception"]
    assert events == 4  # re-fetched scans are not stored twice


def test_a_pending_answer_never_moves_a_parcel_back(make_app: Any, clock: Clock) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    add_parcels(app, numbers(1))
    app.logistics.refresh()

    class Forgetful(ScriptedCarrier):
        def track(self, queries: Any) -> Any:
            results = super().track(queries)
            for r in results:
                assert r.tracking is not None
                r.tracking.status = ParcelStatus.PENDING
                r.tracking.events = []
            return results

    app.carriers["primary"] = Forgetful()
    clock.advance(timedelta(days=1))
    app.logistics.refresh()
    with app.store.session() as session:
        status = session.scalar(select(ShipmentRow.status))
    assert status == "in_transit"


def test_nothing_new_only_records_the_check(make_app: Any, clock: Clock) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    add_parcels(app, numbers(3))
    app.logistics.refresh()
    with app.store.session() as session:
        before = {r.id: (r.version, r.last_event_at) for r in session.scalars(select(ShipmentRow))}
    clock.advance(timedelta(hours=2))
    report = app.logistics.refresh()
    assert report.checked == 3
    assert report.changed == 0
    with app.store.session() as session:
        rows = list(session.scalars(select(ShipmentRow)))
    assert {r.id: (r.version, r.last_event_at) for r in rows} == before
    assert all(r.last_checked_at == clock.now for r in rows)


def test_the_last_event_time_never_moves_back(make_app: Any, clock: Clock) -> None:
    from .conftest import T0

    provider = ScriptedCarrier()
    app = make_app(provider)
    [number] = numbers(1)
    add_parcels(app, [number])
    app.logistics.refresh()

    class Older(ScriptedCarrier):
        def track(self, queries: Any) -> Any:
            results = super().track(queries)
            for r in results:
                assert r.tracking is not None
                r.tracking.status = ParcelStatus.OUT_FOR_DELIVERY
                r.tracking.events[0].time = T0 - timedelta(days=1)
            return results

    app.carriers["primary"] = Older()
    clock.advance(timedelta(hours=2))
    app.logistics.refresh()
    with app.store.session() as session:
        row = session.scalar(select(ShipmentRow))
    assert row is not None
    assert row.status == "in_transit"  # an answer older than the stored scans moves nothing
    assert row.last_event_at == T0


def test_refresh_on_each_backend(db_url: str, clock: Clock) -> None:
    from aftersales.app import AfterSales

    parcels = numbers(45)
    provider = ScriptedCarrier(statuses={parcels[0]: ParcelStatus.DELIVERED})
    app = AfterSales(db_url, marketplaces=[], carriers=[provider], clock=clock)
    try:
        add_parcels(app, parcels)
        report = app.logistics.refresh()
        assert (report.checked, report.total_calls) == (45, 2)
        clock.advance(timedelta(hours=2))
        assert app.logistics.refresh().checked == 44
        with app.store.session() as session:
            events = session.scalar(select(func.count()).select_from(TrackingEventRow))
            topics = list(session.scalars(select(OutboxRow.event_type)))
        assert events == 45
        assert topics == ["parcel.delivered"]
        assert app.logistics.track(parcels[0]).status is ParcelStatus.DELIVERED
    finally:
        app.close()


def test_workers_refreshing_at_once_split_the_parcels(db_url: str, clock: Clock) -> None:
    from aftersales.app import AfterSales
    from aftersales.logistics.repository import claim_due

    app = AfterSales(db_url, marketplaces=[], carriers=[ScriptedCarrier()], clock=clock)
    try:
        add_parcels(app, numbers(10))
        ttl = timedelta(hours=1)
        if app.store.is_sqlite:  # one writer at a time: the second claim comes after
            with app.store.session() as first:
                assert len(claim_due(first, now=clock.now, ttl=ttl)) == 10
            with app.store.session() as second:
                assert claim_due(second, now=clock.now, ttl=ttl) == []
            return
        with app.store.session() as first, app.store.session() as second:
            assert len(claim_due(first, now=clock.now, ttl=ttl)) == 10
            assert claim_due(second, now=clock.now, ttl=ttl) == []  # SKIP LOCKED
    finally:
        app.close()


def _set_checked(app: Any, checks: dict[int, datetime | None]) -> None:
    """Give parcels a last check time, as earlier refreshes would have."""
    with app.store.session() as session:
        for parcel, checked in checks.items():
            row = session.get(ShipmentRow, parcel)
            assert row is not None
            row.last_checked_at = checked


def test_a_claim_reads_the_stored_facts_back_as_they_were_written(
    db_url: str, clock: Clock
) -> None:
    """Times come back aware and in UTC, the rest as stored, and the claim marks them checked."""
    from aftersales.app import AfterSales
    from aftersales.logistics.repository import ParcelRef, claim_due

    app = AfterSales(db_url, marketplaces=[], carriers=[ScriptedCarrier()], clock=clock)
    try:
        shipped = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
        checked = clock.now - timedelta(hours=3)
        (parcel,) = add_parcels(app, ["SF0000000000042"], shipped_at=shipped,
                                rma_id="RMA-7", direction="return")
        _set_checked(app, {parcel: checked})
        ttl = timedelta(hours=1)
        with app.store.session() as session:
            (claimed,) = claim_due(session, now=clock.now, ttl=ttl)
        ref = ParcelRef(*claimed)
        assert (ref.id, ref.number, ref.carrier, ref.status, ref.direction, ref.rma_id) == (
            parcel, "SF0000000000042", "sf", ParcelStatus.PENDING, "return", "RMA-7")
        assert (ref.shipped_at, ref.last_checked_at, ref.last_event_at) == (shipped, checked, None)
        assert ref.shipped_at is not None
        assert ref.shipped_at.tzinfo is UTC
        with app.store.session() as session:
            assert claim_due(session, now=clock.now, ttl=ttl) == []  # checked now
            row = session.get(ShipmentRow, parcel)
            assert row is not None
            assert row.last_checked_at == clock.now
    finally:
        app.close()


def test_a_claim_takes_exactly_the_parcels_select_due_and_count_due_call_due(
    db_url: str, clock: Clock
) -> None:
    """The claim writes its rule in the driver's SQL; it must match the query's."""
    from aftersales.app import AfterSales
    from aftersales.logistics.repository import claim_due, count_due, select_due

    app = AfterSales(db_url, marketplaces=[], carriers=[ScriptedCarrier()], clock=clock)
    try:
        ttl = timedelta(hours=1)
        ids = add_parcels(app, numbers(6))
        checks = [None, clock.now - 2 * ttl, clock.now - ttl, clock.now - ttl / 2, None, None]
        _set_checked(app, dict(zip(ids, checks, strict=True)))
        with app.store.session() as session:
            delivered = session.get(ShipmentRow, ids[4])
            assert delivered is not None
            delivered.status, delivered.terminal = "delivered", True
        with app.store.session() as session:
            due = {ref.id for ref in select_due(session, now=clock.now, ttl=ttl)}
            assert count_due(session, now=clock.now, ttl=ttl) == len(due)
        assert due == {ids[0], ids[1], ids[2], ids[5]}  # never, long ago, exactly one TTL ago
        with app.store.session() as session:
            claimed = {row[0] for row in claim_due(session, now=clock.now, ttl=ttl)}
        assert claimed == due
    finally:
        app.close()


def test_a_chunked_claim_reads_its_own_rows_not_every_open_parcel(
    make_app: Any, clock: Clock
) -> None:
    """Each chunk walks open parcels in id order through an index.

    Without it SQLite read every open parcel and sorted them by id for each
    chunk, so a refresh cost grew with the square of the open parcels.
    """
    from aftersales.logistics.repository import claim_due

    app = make_app(ScriptedCarrier())
    add_parcels(app, numbers(30))
    sent: list[str] = []
    with app.store.session() as session:
        dbapi = session.connection().connection.dbapi_connection
        dbapi.set_trace_callback(sent.append)  # each statement, its values filled in
        claimed = claim_due(session, now=clock.now, ttl=timedelta(hours=1), after=10, limit=5)
        dbapi.set_trace_callback(None)
    assert [row[0] for row in claimed] == [11, 12, 13, 14, 15]
    select_sql, = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    with app.store.session() as session:
        plan = " ".join(
            str(row[-1]) for row in
            session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {select_sql}")
        )
    assert "ix_shipments_open_id" in plan
    assert "TEMP B-TREE" not in plan


def test_a_failed_write_leaves_nothing_half_written(make_app: Any, clock: Clock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from aftersales.errors import StorageError
    from aftersales.logistics import service as logistics_service

    provider = ScriptedCarrier(status=ParcelStatus.DELIVERED)
    app = make_app(provider)
    add_parcels(app, numbers(5))
    from aftersales.logistics.repository import apply_trackings as real

    def apply_then_fail(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the UPDATEs and INSERTs run…
        raise StorageError("disk full")  # …and the transaction rolls back

    monkeypatch.setattr(logistics_service, "apply_trackings", apply_then_fail)
    seen: list[Event] = []
    app.on("*", seen.append)
    with pytest.raises(StorageError, match="disk full"):
        app.logistics.refresh()
    with app.store.session() as session:
        rows = list(session.scalars(select(ShipmentRow)))
        events = session.scalar(select(func.count()).select_from(TrackingEventRow))
        outbox = session.scalar(select(func.count()).select_from(OutboxRow))
    assert {r.status for r in rows} == {"pending"}
    assert all(r.last_checked_at is None for r in rows)  # claims released: due again
    assert (events, outbox, seen) == (0, 0, [])
    monkeypatch.setattr(logistics_service, "apply_trackings", real)
    assert app.logistics.refresh().checked == 5


def test_a_blank_stored_number_is_reported_not_fatal(make_app: Any) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    add_parcels(app, [*numbers(2), " - "])
    report = app.logistics.refresh()
    assert report.checked == 2
    assert report.unresolved == {" - ": "not a tracking number"}
    assert provider.numbers == numbers(2)


def test_ttl_may_be_given_in_seconds(make_app: Any, clock: Clock) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider, logistics={"ttl": 600})
    add_parcels(app, numbers(1))
    app.logistics.refresh()
    clock.advance(timedelta(seconds=599))
    app.logistics.refresh()
    clock.advance(timedelta(seconds=2))
    app.logistics.refresh()
    assert provider.calls == 2


@pytest.mark.parametrize(("count", "chunk", "batch"), [(95, 7, 40), (95, 40, 40), (120, 1000, 7),
                                                        (33, 1, 5)])
def test_claiming_in_chunks_keeps_exact_calls(make_app: Any, count: int, chunk: int,
                                               batch: int) -> None:
    provider = ScriptedCarrier(batch_size=batch)
    app = make_app(provider, logistics={"claim_every": chunk})
    add_parcels(app, numbers(count))
    report = app.logistics.refresh()
    assert provider.calls == math.ceil(count / batch)
    assert sorted(provider.numbers) == numbers(count)
    assert report.checked == report.due == count
    assert app.logistics.refresh().total_calls == 0  # every chunk was claimed and written


def test_parcels_are_claimed_as_the_calls_need_them(make_app: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from aftersales.logistics import service as logistics_service

    provider = ScriptedCarrier(batch_size=10)
    app = make_app(provider, logistics={"claim_every": 20, "max_in_flight": 1})
    add_parcels(app, numbers(500))
    claimed_before_call: list[int] = []
    claimed = [0]
    real_claim, real_track = logistics_service.claim_due, provider.track

    def counting_claim(*args: Any, **kwargs: Any) -> Any:
        refs = real_claim(*args, **kwargs)
        claimed[0] += len(refs)
        return refs

    def recording_track(queries: Any) -> Any:
        claimed_before_call.append(claimed[0])
        return real_track(queries)

    monkeypatch.setattr(logistics_service, "claim_due", counting_claim)
    monkeypatch.setattr(provider, "track", recording_track)
    assert app.logistics.refresh().checked == 500
    # the first call goes out after one chunk, not after all 500 parcels were claimed,
    # and the claims never run more than a chunk and a few batches ahead of the calls
    assert claimed_before_call[0] == 20
    for sent, seen in enumerate(claimed_before_call):
        assert seen - sent * 10 <= 20 + 3 * 10


def test_progress_counts_parcels_up_to_the_total(make_app: Any) -> None:
    provider = ScriptedCarrier(batch_size=7, refuse=numbers(3))
    app = make_app(provider, logistics={"claim_every": 9})
    add_parcels(app, [*numbers(30), " - "])
    add_parcels(app, numbers(2), direction="return")  # a number shared by two parcels
    seen: list[tuple[int, int]] = []
    app.logistics.refresh(progress=lambda n, total: seen.append((n, total)))
    assert {total for _, total in seen} == {33}
    assert sum(n for n, _ in seen) == 33


def test_two_workers_refreshing_at_the_same_time_ask_for_each_parcel_once(
        db_url: str, clock: Clock, at_once: Any) -> None:
    import time as _time

    from aftersales.app import AfterSales

    class Slow(ScriptedCarrier):
        def track(self, queries: Any) -> Any:
            _time.sleep(0.002)  # calls overlap the other worker's claims and writes
            return super().track(queries)

    provider = Slow(batch_size=5)
    options = {"logistics": {"claim_every": 10, "write_every": 5, "max_in_flight": 2}}
    apps = [AfterSales(db_url, marketplaces=[], carriers=[provider], clock=clock, **options)
            for _ in range(2)]
    try:
        add_parcels(apps[0], numbers(300))
        reports, errors = at_once([app.logistics.refresh for app in apps])
        assert errors == []
        assert sorted(provider.numbers) == numbers(300)  # each number asked exactly once
        assert sum(r.checked for r in reports) == 300
        with apps[0].store.session() as session:
            stored = session.scalar(select(func.count()).select_from(TrackingEventRow))
        assert stored == 300
    finally:
        for app in apps:
            app.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=0, max_value=120), batch=st.integers(min_value=1, max_value=50),
       chunk=st.integers(min_value=1, max_value=150), write=st.integers(min_value=1, max_value=90),
       in_flight=st.integers(min_value=1, max_value=5))
def test_any_chunking_costs_exact_calls_and_checks_each_parcel_once(
        tmp_path_factory: Any, count: int, batch: int, chunk: int, write: int,
        in_flight: int) -> None:
    from aftersales.app import AfterSales

    provider = ScriptedCarrier(batch_size=batch)
    url = f"sqlite:///{tmp_path_factory.mktemp('chunks')}/refresh.db"
    app = AfterSales(url, marketplaces=[], carriers=[provider], clock=Clock(), migrate=False,
                     logistics={"claim_every": chunk, "write_every": write,
                                "max_in_flight": in_flight})
    try:
        app.store.create_all()
        add_parcels(app, numbers(count))
        report = app.logistics.refresh()
        assert provider.calls == math.ceil(count / batch)
        assert sorted(provider.numbers) == numbers(count)  # each number asked once
        assert report.due == report.checked == count
        assert app.logistics.refresh().total_calls == 0
    finally:
        app.close()


@pytest.mark.parametrize("option", ["max_in_flight", "write_every", "claim_every"])
def test_chunk_and_concurrency_options_below_one_are_refused(make_app: Any, option: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^setting logistics\.{option} "):
        make_app(ScriptedCarrier(), logistics={option: 0})
