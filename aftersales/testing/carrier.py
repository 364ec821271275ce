"""``CarrierConformance``: the pytest base class every tracking-provider adapter's tests subclass.

See :mod:`aftersales.testing` for how to use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import pytest

from aftersales.interfaces import Capability, Carrier
from aftersales.models import ParcelStatus, TrackQuery
from aftersales.testing.checks import (
    CARRIER_CAPABILITIES,
    check_capability_declared,
    check_capability_undeclared,
    check_push,
    check_round_trip,
    check_status_mapping,
    check_track_batch,
)
from aftersales.testing.samples import CarrierSamples

__all__ = ["CarrierConformance", "PushKind"]

#: Which push :meth:`CarrierConformance.make_push` is asked for.
PushKind = Literal["good", "bad", "missing"]


def _lookup_status(cls: Any, raw: str) -> ParcelStatus:
    mapper = getattr(cls, "map_parcel_status", None)
    if callable(mapper):
        result: ParcelStatus = mapper(raw)
        return result
    table = getattr(cls, "parcel_status_table", None)
    if table is None:
        raise AssertionError(
            f"{cls.__name__} exposes neither map_parcel_status() nor parcel_status_table; "
            "expose one, or override map_parcel_status() in the conformance subclass"
        )
    found: ParcelStatus = table[raw]
    return found


class CarrierConformance:
    """The checks every tracking-provider adapter passes; subclass it in a test module.

    Provide a ``carrier`` fixture that builds the adapter wired to a fake of
    the provider's API, built afresh for every check; override
    :meth:`make_push` when the adapter declares ``PUSH``, and
    :meth:`track_queries` when the fake answers only particular numbers.
    """

    #: The adapter class; the status-table check reads it without building one.
    adapter_class: ClassVar[type | None] = None

    @pytest.fixture
    def carrier(self) -> Any:
        """Override: the adapter under test, wired to a fake of its API."""
        pytest.fail("override the `carrier` fixture in your CarrierConformance subclass")

    # ---------------------------------------------------------------- hooks

    def raw_parcel_statuses(self, adapter_class: type) -> Sequence[str]:
        """Every status code the provider documents (default: the class's
        ``raw_parcel_statuses``)."""
        statuses: Sequence[str] = getattr(adapter_class, "raw_parcel_statuses", ())
        return statuses

    def map_parcel_status(self, adapter_class: type, raw: str) -> ParcelStatus:
        """The canonical status of ``raw`` (default: the class's ``map_parcel_status``
        or ``parcel_status_table``)."""
        return _lookup_status(adapter_class, raw)

    def track_queries(self, carrier: Any) -> list[TrackQuery]:
        """``batch_size + 1`` queries the fake provider answers."""
        return [TrackQuery(number=f"CONF{i:010d}") for i in range(carrier.batch_size + 1)]

    def make_push(self, kind: PushKind) -> tuple[bytes, Mapping[str, str]]:
        """Override when PUSH is declared: a push whose signature is good, bad or missing."""
        pytest.fail("override make_push() in your CarrierConformance subclass")

    def samples(self, carrier: Any) -> CarrierSamples:
        """Arguments for the capability checks (default: the first track query)."""
        query = self.track_queries(carrier)[0]
        push = self.make_push("good") if Capability.PUSH in carrier.capabilities else (b"", {})
        return CarrierSamples(number=query.number, carrier=query.carrier, push=push)

    # ---------------------------------------------------------------- checks

    def test_is_a_carrier(self, carrier: Any) -> None:
        """The adapter satisfies the protocol and declares only carrier capabilities."""
        assert isinstance(carrier, Carrier), "does not implement the Carrier protocol"
        assert isinstance(carrier.name, str), "name must be a str"
        assert carrier.name, "needs a name"
        caps = carrier.capabilities
        assert isinstance(caps, frozenset), "capabilities must be a frozenset"
        stray = [c for c in caps if c not in CARRIER_CAPABILITIES]
        assert not stray, f"non-carrier capabilities declared: {stray}"
        codes = carrier.carriers
        assert codes is None or all(c == c.lower() for c in codes), "carrier codes: lowercase"

    def test_every_raw_parcel_status_maps(self, request: pytest.FixtureRequest) -> None:
        """Every documented provider status code maps to a ``ParcelStatus``."""
        cls = self.adapter_class or type(request.getfixturevalue("carrier"))
        check_status_mapping(
            self.raw_parcel_statuses(cls),
            lambda r: self.map_parcel_status(cls, r),
            ParcelStatus,
            what="parcel status",
        )

    @pytest.mark.parametrize("capability", CARRIER_CAPABILITIES, ids=lambda c: c.value)
    def test_capability(self, carrier: Any, capability: Capability) -> None:
        """A declared capability works; an undeclared one raises UnsupportedOperationError."""
        samples = self.samples(carrier)
        if capability in carrier.capabilities:
            result = check_capability_declared(carrier, capability, samples)
            if capability is Capability.TRACK:
                check_round_trip(result)
        else:
            check_capability_undeclared(carrier, capability, samples)

    def test_track_respects_batch_size(self, carrier: Any) -> None:
        """One result per query for a full batch; an over-sized batch is refused or answered."""
        if Capability.TRACK not in carrier.capabilities:
            pytest.skip(f"{carrier.name} does not declare track")
        check_track_batch(carrier, self.track_queries(carrier))

    def test_push_signature(self, carrier: Any) -> None:
        """A good push parses; a bad or missing signature raises SignatureError."""
        if Capability.PUSH not in carrier.capabilities:
            pytest.skip(f"{carrier.name} does not declare push")
        parsed = check_push(
            carrier, self.make_push("good"), self.make_push("bad"), self.make_push("missing")
        )
        check_round_trip(parsed)
