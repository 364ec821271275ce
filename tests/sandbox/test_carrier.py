"""The sandbox carrier: journeys from the number, batching, detection, signed pushes."""

from __future__ import annotations

import re
import sys
from collections import Counter

import pytest

from aftersales.errors import SignatureError, ValidationError
from aftersales.models import Order, ParcelIssue, ParcelStatus, TrackQuery
from aftersales.sandbox import (
    SIGNATURE_HEADER,
    SandboxCarrier,
    SandboxMarketplace,
)

# the shapes of reference/logistics.md §4.3, one per carrier the sandbox issues
SHAPES = {
    "sf": r"^SF\d{13}$",
    "yto": r"^YT\d{13}$",
    "jtexpress": r"^JT\d{13}$",
    "jd": r"^JD[A-Z0-9]{2}\d{11}$",
    "zto": r"^7[3-68]\d{12}$",
    "sto": r"^77\d{13}$",
    "yunda": r"^5\d{12}$",
}


def _orders(shop: SandboxMarketplace) -> list[Order]:
    return [o for page in shop.list_orders() for o in page.items]


def _numbers(shop: SandboxMarketplace) -> list[str]:
    return [s.tracking_number for o in _orders(shop) for s in o.shipments]


def test_numbers_have_their_carriers_real_shapes_and_are_unique() -> None:
    shop = SandboxMarketplace(seed=4, orders=400)
    parcels = [s for o in _orders(shop) for s in o.shipments]
    assert {s.carrier for s in parcels} == set(SHAPES)
    for s in parcels:
        assert s.carrier is not None
        assert re.match(SHAPES[s.carrier], s.tracking_number), s.tracking_number
    assert len({s.tracking_number for s in parcels}) == len(parcels)


def test_tracking_agrees_with_the_orders(shop: SandboxMarketplace,
                                         carrier: SandboxCarrier) -> None:
    orders = [o for o in _orders(shop) if o.shipments]
    results = carrier.track([TrackQuery(number=o.shipments[0].tracking_number)
                             for o in orders[:40]])
    for order, result in zip(orders, results, strict=False):
        t = result.tracking
        assert t is not None
        assert result.error is None
        assert t.carrier == order.shipments[0].carrier
        assert t.provider == "sandbox"
        assert t.events[0].status is ParcelStatus.PICKED_UP
        assert t.events[0].time == order.shipments[0].shipped_at
        assert t.delivered_at == order.delivered_at
        assert (t.status is ParcelStatus.DELIVERED) == (order.delivered_at is not None)
        assert all(e.time <= carrier.now for e in t.events)
        assert t.raw_status == t.events[-1].raw_code
        assert all(SandboxCarrier.parcel_status_table[e.raw_code or ""] is e.status
                   for e in t.events)


def test_journeys_move_forward_with_the_clock(shop: SandboxMarketplace,
                                              carrier: SandboxCarrier) -> None:
    queries = [TrackQuery(number=n) for n in _numbers(shop)[-30:]]
    before = carrier.track(queries)
    shop.advance(days=6)
    after = carrier.track(queries)
    grew = 0
    for a, b in zip(before, after, strict=True):
        assert a.tracking is not None
        assert b.tracking is not None
        assert b.tracking.events[: len(a.tracking.events)] == a.tracking.events
        grew += len(b.tracking.events) > len(a.tracking.events)
        if a.tracking.status.is_terminal:
            assert b.tracking.status is a.tracking.status
    assert grew > 0


def test_the_timeline_has_its_mishaps() -> None:
    shop = SandboxMarketplace(seed=0, orders=600)
    carrier = shop.carrier(batch_size=100)
    shop.advance(days=30)
    numbers = _numbers(shop)
    statuses: Counter[ParcelStatus] = Counter()
    issues: set[ParcelIssue] = set()
    for start in range(0, len(numbers), 100):
        for r in carrier.track([TrackQuery(number=n) for n in numbers[start : start + 100]]):
            assert r.tracking is not None
            statuses.update(e.status for e in r.tracking.events)
            if r.tracking.issue:
                issues.add(r.tracking.issue)
    for status in (ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT,
                   ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.DELIVERED,
                   ParcelStatus.FAILED_ATTEMPT, ParcelStatus.AVAILABLE_FOR_PICKUP,
                   ParcelStatus.EXCEPTION, ParcelStatus.RETURNING, ParcelStatus.RETURNED):
        assert statuses[status], status
    assert statuses[ParcelStatus.DELIVERED] > 0.8 * len(numbers)
    assert {ParcelIssue.LOST, ParcelIssue.REFUSED} <= issues


def test_a_number_the_sandbox_never_issued_is_pending_not_an_error(
    carrier: SandboxCarrier,
) -> None:
    real = "SF3297600239259"  # a real SF waybill from Kuaidi100's SDK tests
    results = carrier.track([TrackQuery(number=real), TrackQuery(number="!!"),
                             TrackQuery(number="YT9693083639795", carrier="yto")])
    assert results[0].tracking is not None
    assert results[0].tracking.status is ParcelStatus.PENDING
    assert results[0].tracking.events == []
    assert (results[1].error_code, results[1].tracking) == ("invalid_number", None)
    assert results[2].tracking is not None
    assert results[2].tracking.carrier == "yto"


def test_the_wrong_carrier_finds_nothing(shop: SandboxMarketplace,
                                         carrier: SandboxCarrier) -> None:
    parcel = _orders(shop)[0].shipments[0]
    other = "sf" if parcel.carrier != "sf" else "zto"
    (result,) = carrier.track([TrackQuery(number=parcel.tracking_number, carrier=other)])
    assert result.tracking is not None
    assert result.tracking.status is ParcelStatus.PENDING


def test_batches_are_counted_and_capped(shop: SandboxMarketplace) -> None:
    carrier = shop.carrier(batch_size=40)
    numbers = _numbers(shop)
    assert len(carrier.track([TrackQuery(number=n) for n in numbers[:40]])) == 40
    carrier.track([TrackQuery(number=numbers[0])])
    with pytest.raises(ValidationError, match="at most 40") as info:
        carrier.track([TrackQuery(number=n) for n in numbers[:41]])
    assert info.value.field == "queries"
    assert carrier.calls == 3
    assert carrier.batches == [40, 1, 41]


def test_unserved_carriers_get_a_per_item_error(shop: SandboxMarketplace) -> None:
    carrier = shop.carrier(carriers=frozenset({"SF"}))
    assert carrier.carriers == frozenset({"sf"})
    parcels = [s for o in _orders(shop) for s in o.shipments]
    sf = next(p for p in parcels if p.carrier == "sf")
    zto = next(p for p in parcels if p.carrier == "zto")
    results = carrier.track([TrackQuery(number=sf.tracking_number),
                             TrackQuery(number=zto.tracking_number)])
    assert results[0].tracking is not None
    assert results[1].error_code == "carrier_unsupported"
    assert results[1].tracking is None


def test_detect_is_exact_for_sandbox_numbers(shop: SandboxMarketplace,
                                             carrier: SandboxCarrier) -> None:
    for parcel in (s for o in _orders(shop) for s in o.shipments):
        assert carrier.detect(parcel.tracking_number.lower()) == [parcel.carrier]


def test_detect_falls_back_to_shapes_without_the_logistics_module(
    carrier: SandboxCarrier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aftersales.logistics", None)
    assert carrier.detect("SF3297600239259") == ["sf"]
    assert carrier.detect("1Z5R89390357567127") == ["ups"]
    assert carrier.detect("hello") == []


def test_detect_delegates_to_the_logistics_module_when_installed(
    carrier: SandboxCarrier, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aftersales.logistics as logistics

    monkeypatch.setattr(logistics, "detect_carrier", lambda number: ["zto", "sto", "zto"])
    assert carrier.detect("123456789012") == ["zto", "sto"]


# ---------------------------------------------------------------- pushes


def test_a_signed_push_parses_into_the_current_trackings(shop: SandboxMarketplace,
                                                         carrier: SandboxCarrier) -> None:
    numbers = _numbers(shop)[:3]
    body, headers = carrier.make_push(numbers)
    parsed = carrier.parse_push(body, {k.lower(): v for k, v in headers.items()})
    tracked = [r.tracking for r in carrier.track([TrackQuery(number=n) for n in numbers])]
    assert parsed == tracked


def test_pushes_with_a_bad_or_missing_signature_are_refused(
    shop: SandboxMarketplace, carrier: SandboxCarrier
) -> None:
    body, headers = carrier.make_push(_numbers(shop)[:1])
    with pytest.raises(SignatureError, match="without"):
        carrier.parse_push(body, {})
    with pytest.raises(SignatureError, match="does not match"):
        carrier.parse_push(body + b" ", headers)
    with pytest.raises(SignatureError):
        carrier.parse_push(body, {SIGNATURE_HEADER: "0" * 64})
    stranger = SandboxCarrier(secret="another-secret")
    with pytest.raises(SignatureError):
        stranger.parse_push(body, headers)


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"event":"other","trackings":[]}',
                                  b'{"event":"tracking_updated","trackings":[{"x":1}]}'])
def test_a_well_signed_push_that_is_not_a_tracking_update_is_invalid(
    carrier: SandboxCarrier, body: bytes
) -> None:
    with pytest.raises(ValidationError) as info:
        carrier.parse_push(body, {SIGNATURE_HEADER: carrier.sign(body)})
    assert info.value.payload == "sandbox push"
