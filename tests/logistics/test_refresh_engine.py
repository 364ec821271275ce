"""The refresh engine alone (no database): batching, fallback and bounds for any mix."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import StorageError, TransientError
from aftersales.logistics.refresh import Group, Refresher
from aftersales.logistics.snapshot import Snapshot, snapshot

from .conftest import ScriptedCarrier

providers_st = st.lists(
    st.tuples(st.integers(min_value=1, max_value=50), st.booleans()), min_size=1, max_size=3
)


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=300),
    providers=providers_st,
    in_flight=st.integers(min_value=1, max_value=6),
)
def test_calls_and_fallback_for_any_mix(
    count: int, providers: list[tuple[int, bool]], in_flight: int
) -> None:
    carriers = [
        ScriptedCarrier(f"p{i}", batch_size=size,
                        fail=TransientError("down", adapter=f"p{i}") if broken else None)
        for i, (size, broken) in enumerate(providers)
    ]
    written: list[tuple[Group, Snapshot]] = []

    def sink(pairs: list[tuple[Group, Snapshot]]) -> int:
        written.extend(pairs)
        return 0

    groups = [(f"SF{i:013d}", "sf", ()) for i in range(count)]
    report = Refresher(carriers, max_in_flight=in_flight, prepare=snapshot, sink=sink,
                       write_every=37).run(iter(groups))
    # every number goes to the providers in order until one that works answers it
    working = next((i for i, c in enumerate(carriers) if c.fail is None), None)
    for index, carrier in enumerate(carriers):
        asked = working is None or index <= working
        assert carrier.calls == (math.ceil(count / carrier.batch_size) if asked else 0)
        assert all(len(b) <= carrier.batch_size for b in carrier.batches)
    if working is None:
        assert set(report.unresolved) == {number for number, _, _ in groups}
        assert written == []
        return
    assert sorted(g[0] for g, _ in written) == [number for number, _, _ in groups]
    assert report.unresolved == {}
    assert report.total_calls == sum(c.calls for c in carriers)


def test_a_failing_write_stops_the_run_without_sending_the_queued_calls() -> None:
    provider = ScriptedCarrier(batch_size=1)

    def sink(pairs: list[tuple[Group, Snapshot]]) -> int:
        raise StorageError("disk full")

    groups = [(f"SF{i:013d}", "sf", ()) for i in range(200)]
    with pytest.raises(StorageError):
        Refresher([provider], max_in_flight=2, prepare=snapshot, sink=sink).run(groups)
    assert provider.calls < 200


def test_a_crashing_adapter_falls_back_like_a_failed_call() -> None:
    class Buggy(ScriptedCarrier):
        def track(self, queries: Any) -> Any:
            super().track(queries)
            raise KeyError("secret-token-123")

    buggy, backup = Buggy("buggy"), ScriptedCarrier("backup")
    written: list[tuple[Group, Snapshot]] = []

    def sink(pairs: list[tuple[Group, Snapshot]]) -> int:
        written.extend(pairs)
        return 0

    report = Refresher([buggy, backup], max_in_flight=2, prepare=snapshot, sink=sink).run(
        [(f"SF{i:013d}", "sf", ()) for i in range(5)]
    )
    assert len(written) == 5
    assert report.failed_calls["buggy"] == 1
    assert backup.calls == 1
