"""The carrier conformance kit passes a sound toy provider and fails broken ones."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest

from aftersales.errors import SignatureError, ValidationError
from aftersales.interfaces import Capability, CarrierBase
from aftersales.models import ParcelStatus, Tracking, TrackQuery, TrackResult
from aftersales.testing import (
    CarrierConformance,
    CarrierSamples,
    PushKind,
    check_push,
    check_track_batch,
)

SECRET = b"toy-secret"
CODES = {"0": ParcelStatus.PENDING, "1": ParcelStatus.IN_TRANSIT, "3": ParcelStatus.DELIVERED}


def _sign(body: bytes) -> str:
    return hmac.new(SECRET, body, hashlib.sha256).hexdigest()


class ToyCarrier(CarrierBase):
    """A sound provider: batches of three, pushes signed with HMAC-SHA256."""

    name = "toycarrier"
    capabilities = frozenset({Capability.TRACK, Capability.PUSH, Capability.DETECT_CARRIER})
    batch_size = 3
    raw_parcel_statuses: ClassVar[tuple[str, ...]] = tuple(CODES)
    parcel_status_table = CODES

    def detect(self, number: str) -> list[str]:
        """Everything looks like SF to a toy."""
        return ["sf"]

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """A tracking per number; refuses over-sized batches."""
        if len(queries) > self.batch_size:
            raise ValidationError(f"at most {self.batch_size} numbers", field="queries")
        return [
            TrackResult(query=q, tracking=Tracking(carrier="sf", number=q.number))
            for q in queries
        ]

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        """Checks the X-Sign header in constant time."""
        given = headers.get("X-Sign", "")
        if not given or not hmac.compare_digest(given, _sign(body)):
            raise SignatureError("bad push signature")
        data = json.loads(body)
        return [Tracking(carrier="sf", number=data["number"], status=CODES[data["code"]])]


def _push(kind: PushKind) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"number": "SF1", "code": "3"}).encode()
    if kind == "good":
        return body, {"X-Sign": _sign(body)}
    if kind == "bad":
        return body, {"X-Sign": _sign(body + b" ")}
    return body, {}


class TestToyCarrierPassesTheKit(CarrierConformance):
    adapter_class = ToyCarrier

    @pytest.fixture
    def carrier(self) -> ToyCarrier:
        return ToyCarrier()

    def make_push(self, kind: PushKind) -> tuple[bytes, Mapping[str, str]]:
        return _push(kind)


class AnswersEverything(ToyCarrier):
    """Splitting an over-sized batch itself is fine too."""

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        out: list[TrackResult] = []
        for i in range(0, len(queries), self.batch_size):
            out.extend(super().track(queries[i : i + self.batch_size]))
        return out


def test_an_adapter_that_splits_batches_passes() -> None:
    results = check_track_batch(AnswersEverything(), [TrackQuery(number=f"N{i}") for i in range(4)])
    assert len(results) == 3


class DropsOne(ToyCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        return super().track(queries)[:-1]


class AnswersTheWrongNumber(ToyCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        return super().track([TrackQuery(number="X")] * len(queries))


class SilentlyTruncates(ToyCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        return super().track(queries[: self.batch_size])


class BothTrackingAndError(ToyCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        return [r.model_copy(update={"error": "x"}) for r in super().track(queries)]


@pytest.mark.parametrize(
    ("toy", "message"),
    [
        (DropsOne, "returned 2 results"),
        (AnswersTheWrongNumber, "answered"),
        (SilentlyTruncates, "got 4 queries and returned 3"),
        (BothTrackingAndError, "not both"),
    ],
)
def test_batch_check_fails_a_sloppy_track(toy: type[ToyCarrier], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        TestToyCarrierPassesTheKit().test_track_respects_batch_size(toy())


def test_batch_check_needs_one_more_than_the_batch() -> None:
    with pytest.raises(AssertionError, match="batch_size \\+ 1"):
        check_track_batch(ToyCarrier(), [TrackQuery(number="A")])


class AcceptsAnything(ToyCarrier):
    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        data = json.loads(body)
        return [Tracking(carrier="sf", number=data["number"])]


class WrongErrorOnBadSignature(ToyCarrier):
    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        if "X-Sign" not in headers:
            raise KeyError("X-Sign")
        return super().parse_push(body, headers)


@pytest.mark.parametrize(
    ("toy", "message"),
    [
        (AcceptsAnything, "bad signature was accepted"),
        (WrongErrorOnBadSignature, "missing signature raised KeyError"),
    ],
)
def test_push_check_fails_a_careless_verifier(toy: type[ToyCarrier], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        TestToyCarrierPassesTheKit().test_push_signature(toy())


def test_push_check_wants_trackings_from_a_good_push() -> None:
    class ParsesNothing(ToyCarrier):
        def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
            super().parse_push(body, headers)
            return []

    with pytest.raises(AssertionError, match="at least one tracking"):
        check_push(ParsesNothing(), _push("good"), _push("bad"), _push("missing"))


class UndeclaredPushThatWorks(ToyCarrier):
    capabilities = frozenset({Capability.TRACK, Capability.DETECT_CARRIER})


class DeclaredDetectThatIsMissing(CarrierBase):
    name = "half"
    capabilities = frozenset({Capability.DETECT_CARRIER})


class UppercaseCodes(ToyCarrier):
    def detect(self, number: str) -> list[str]:
        return ["SF"]


@pytest.mark.parametrize(
    ("toy", "capability", "message"),
    [
        (UndeclaredPushThatWorks, Capability.PUSH, "must raise UnsupportedOperationError"),
        (DeclaredDetectThatIsMissing, Capability.DETECT_CARRIER, "declares detect_carrier"),
        (UppercaseCodes, Capability.DETECT_CARRIER, "lowercase"),
    ],
)
def test_capability_check_fails_a_lying_carrier(
    toy: type[CarrierBase], capability: Capability, message: str
) -> None:
    kit = TestToyCarrierPassesTheKit()
    with pytest.raises(AssertionError, match=message):
        kit.test_capability(toy(), capability)


def test_status_check_fails_an_unmapped_code() -> None:
    class MissingCode(ToyCarrier):
        raw_parcel_statuses = (*CODES, "9")

    kit = TestToyCarrierPassesTheKit()
    kit.adapter_class = MissingCode  # type: ignore[misc]
    with pytest.raises(AssertionError, match="'9' raised KeyError"):
        kit.test_every_raw_parcel_status_maps(None)  # type: ignore[arg-type]


def test_samples_carry_the_good_push() -> None:
    samples: Any = TestToyCarrierPassesTheKit().samples(ToyCarrier())
    assert isinstance(samples, CarrierSamples)
    assert samples.push == _push("good")
