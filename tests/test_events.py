"""Events reach the outbox in the same transaction and the hooks only after commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aftersales.events import Event, EventBus
from aftersales.store import Store
from aftersales.store.tables.core import OutboxRow


@pytest.fixture
def store(sqlite_url: str) -> Store:
    s = Store(sqlite_url)
    s.create_all()
    return s


def _outbox(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow)) or 0


def test_hooks_run_after_commit_and_the_outbox_has_the_event(store: Store) -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.on("return.approved", seen.append)
    with store.session() as s:
        assert bus.emit(s, "return.approved", {"rma_id": "r1"}, key="return.approved:r1")
        assert seen == []
    assert [e.name for e in seen] == ["return.approved"]
    assert _outbox(store) == 1


def test_a_rolled_back_change_emits_nothing(store: Store) -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.on("*", seen.append)
    with pytest.raises(RuntimeError), store.session() as s:
        bus.emit(s, "return.approved", {}, key="k1")
        raise RuntimeError("the change failed")
    assert seen == []
    assert _outbox(store) == 0


def test_the_same_key_is_recorded_and_dispatched_once(store: Store) -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.on("parcel.delivered", seen.append)
    for _ in range(2):
        with store.session() as s:
            bus.emit(s, "parcel.delivered", {}, key="parcel.delivered:SF1")
            bus.emit(s, "parcel.delivered", {}, key="parcel.delivered:SF1")
    assert len(seen) == 1
    assert _outbox(store) == 1


def test_a_failing_hook_does_not_undo_the_change(store: Store) -> None:
    bus = EventBus()

    def broken(event: Event) -> None:
        raise ValueError("hook bug")

    seen: list[Event] = []
    bus.on("x", broken)
    bus.on("x", seen.append)
    with store.session() as s:
        bus.emit(s, "x", {}, key="x1")
    assert len(seen) == 1
    assert _outbox(store) == 1


def test_a_released_savepoint_waits_for_the_real_commit(store: Store) -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.on("*", seen.append)
    with store.session() as s:
        with s.begin_nested():
            bus.emit(s, "a", {}, key="a1")
        assert seen == []
        bus.emit(s, "b", {}, key="b1")
        assert seen == []
    assert [e.key for e in seen] == ["a1", "b1"]


def test_a_rolled_back_savepoint_drops_only_its_own_events(store: Store) -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.on("*", seen.append)
    with store.session() as s:
        bus.emit(s, "before", {}, key="k-before")
        s.flush()
        nested = s.begin_nested()
        bus.emit(s, "inside", {}, key="k-inside")
        nested.rollback()
        bus.emit(s, "after", {}, key="k-after")
    assert [e.key for e in seen] == ["k-before", "k-after"]
    with store.session() as s:
        topics = set(s.scalars(select(OutboxRow.event_type)))
    assert topics == {"before", "after"}


@pytest.mark.parametrize("url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_page_of_events_is_recorded_once_per_key(
    url: str, request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    store = Store(sqlite_url if url == "sqlite" else str(request.getfixturevalue("pg_url")))
    store.create_all()
    bus = EventBus()
    seen: list[str] = []
    bus.on("order.delivered", lambda e: seen.append(e.key))
    with store.session() as s:
        bus.emit(s, "order.delivered", {"order_id": "o1"}, key="order.delivered:o1")
    seen.clear()
    page = [("order.delivered", {"order_id": o}, f"order.delivered:{o}")
            for o in ("o1", "o2", "o2", "o3")]
    with store.session() as s:
        assert bus.emit_many(s, page) == [False, True, False, True]
    assert seen == ["order.delivered:o2", "order.delivered:o3"]
    assert _outbox(store) == 3
    store.dispose()


def test_a_batch_hook_gets_each_commits_events_as_one_list(store: Store) -> None:
    bus = EventBus()
    batches: list[list[str]] = []
    bus.on_many(["review.negative", "parcel.exception"], lambda es: batches.append(
        [e.key for e in es]))
    with store.session() as s:
        bus.emit_many(s, [("review.negative", {}, "a"), ("return.approved", {}, "b"),
                          ("parcel.exception", {}, "c"), ("review.negative", {}, "a")])
        assert batches == []
    with pytest.raises(RuntimeError), store.session() as s:
        bus.emit(s, "review.negative", {}, key="d")
        raise RuntimeError("rolled back")
    with store.session() as s:
        bus.emit(s, "review.negative", {}, key="e")
    assert batches == [["a", "c"], ["e"]]  # once per commit, in order, nothing rolled back


def test_a_failing_batch_hook_does_not_stop_the_others(store: Store) -> None:
    bus = EventBus()
    seen: list[str] = []

    def broken(events: list[Event]) -> None:
        raise RuntimeError("boom")

    bus.on_many(["x"], broken)
    bus.on_many(["x"], lambda es: seen.extend(e.key for e in es))
    bus.on("x", lambda e: seen.append("one:" + e.key))
    with store.session() as s:
        bus.emit(s, "x", {}, key="k")
    assert seen == ["one:k", "k"]
