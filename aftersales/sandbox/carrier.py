"""``SandboxCarrier``: the embedded, deterministic simulated tracking provider."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import pydantic

from aftersales.errors import SignatureError, ValidationError
from aftersales.interfaces import Capability, CarrierBase
from aftersales.models import ParcelStatus, Tracking, TrackQuery, TrackResult
from aftersales.sandbox._clock import SandboxClock
from aftersales.sandbox._faults import FaultInjector, Faults
from aftersales.sandbox._parcels import RAW_PARCEL_STATUSES, carrier_of, tracking_at
from aftersales.signing import header_text, hexdigest_matches
from aftersales.webhook_body import json_body, raw_body

__all__ = ["SANDBOX_PUSH_SECRET", "SIGNATURE_HEADER", "SandboxCarrier"]

#: the secret sandbox pushes are signed with unless another is given.
SANDBOX_PUSH_SECRET = "sandbox-push-secret"  # noqa: S105 - a published test secret
#: the header carrying the hex HMAC-SHA256 of the push body.
SIGNATURE_HEADER = "X-Sandbox-Signature"

_VALID_NUMBER = re.compile(r"^[A-Za-z0-9]{6,40}$")
# (pattern, carrier codes most likely first), used when nothing better is installed
_PREFIXES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^SF\d{12,13}$"), ("sf",)),
    (re.compile(r"^YT\d{13}$"), ("yto",)),
    (re.compile(r"^JT\d{12,13}$"), ("jtexpress",)),
    (re.compile(r"^JD[A-Z0-9]{2}\d{11}$"), ("jd",)),
    (re.compile(r"^DPK\d{12}$"), ("deppon",)),
    (re.compile(r"^1Z[A-Z0-9]{16}$"), ("ups",)),
    (re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$"), ("ems",)),
    (re.compile(r"^7[3-68]\d{12}$"), ("zto",)),
    (re.compile(r"^77\d{13}$"), ("sto",)),
    (re.compile(r"^[345]\d{12}(\d{2})?$"), ("yunda", "ems")),
)


class SandboxCarrier(CarrierBase):
    """A deterministic simulated tracking provider: the embedded default carrier.

    It tracks the numbers a :class:`~aftersales.sandbox.SandboxMarketplace`
    issues (SF…, YT…, JT…, JDX…, ZTO 78…, STO 77…, Yunda 5…): each number
    carries its carrier, serial and hand-over hour, so its journey (picked up,
    in transit, out for delivery, delivered; some failed attempts, locker
    pick-ups, delays, losses and refusals sent back) is the same wherever it
    is tracked. Any other number comes back as a pending tracking, never an
    error. Share the marketplace's clock (``shop.carrier()`` or
    ``SandboxCarrier(clock=shop.clock)``) so both agree on ``now``.

    Tests can see how it was used: :attr:`calls` counts ``track`` calls and
    :attr:`batches` their sizes. ``carriers=frozenset({"sf"})`` limits which
    carrier codes it serves (other numbers get a per-item error), and
    ``faults=Faults(...)`` makes calls fail, so routing and fallback between
    providers can be tested. Pushes are signed with HMAC-SHA256 of the body
    in the ``X-Sandbox-Signature`` header (hex); :meth:`make_push` builds one.

    Args:
        seed: accepted for symmetry with the marketplace (and kept as
            ``seed``); a journey depends only on its number, so any sandbox
            carrier tracks any sandbox marketplace's parcels alike.
        clock: the clock to read ``now`` from (a new one at ``start`` if omitted).
        start: where a new clock starts.
        carriers: the carrier codes served, or ``None`` for any.
        batch_size: the most numbers one ``track`` call accepts.
        faults: fault injection rates, or ``None``.
        secret: the push signing secret.
        name: the provider name written into trackings.
    """

    name = "sandbox"
    capabilities: frozenset[Capability] = frozenset(
        {Capability.DETECT_CARRIER, Capability.TRACK, Capability.PUSH}
    )
    batch_size = 40
    #: every raw scan code the sandbox reports (``Tracking.raw_status``, event ``raw_code``).
    raw_parcel_statuses: ClassVar[tuple[str, ...]] = tuple(RAW_PARCEL_STATUSES)
    #: raw scan code -> canonical parcel status, one row per code.
    parcel_status_table: ClassVar[Mapping[str, ParcelStatus]] = RAW_PARCEL_STATUSES

    def __init__(
        self,
        seed: int = 0,
        *,
        clock: SandboxClock | None = None,
        start: datetime | None = None,
        carriers: frozenset[str] | None = None,
        batch_size: int = 40,
        faults: Faults | None = None,
        secret: str = SANDBOX_PUSH_SECRET,
        name: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        super().__init__(name=name)
        self.seed = seed
        self.clock = clock or SandboxClock(start)
        self.carriers = frozenset(c.lower() for c in carriers) if carriers is not None else None
        self.batch_size = batch_size
        self._secret = secret.encode()
        self._faults = FaultInjector(faults, self.name)
        #: how many ``track`` calls were made (faulted and refused ones included).
        self.calls = 0
        #: the number of queries in each ``track`` call, in call order.
        self.batches: list[int] = []

    @property
    def now(self) -> datetime:
        """The simulated present this carrier tracks at."""
        return self.clock.now

    @property
    def faults_injected(self) -> Mapping[str, int]:
        """How many faults of each kind were raised so far."""
        return self._faults.injected

    def detect(self, number: str) -> list[str]:
        """See :meth:`Carrier.detect`: exact for sandbox numbers, else by shape."""
        cleaned = number.strip().upper()
        exact = carrier_of(cleaned)
        if exact is not None:
            return [exact]
        delegated = _delegate_detect(cleaned)
        if delegated is not None:
            return delegated
        for pattern, codes in _PREFIXES:
            if pattern.match(cleaned):
                return list(codes)
        return []

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """See :meth:`Carrier.track`.

        Raises:
            ValidationError: more than ``batch_size`` queries in one call.
            RateLimitError, TransientError: injected faults.
        """
        self.calls += 1
        self.batches.append(len(queries))
        if len(queries) > self.batch_size:
            raise ValidationError(
                f"a batch holds at most {self.batch_size} numbers, got {len(queries)}",
                field="queries",
            )
        self._faults.before("track")
        return [self._track_one(q) for q in queries]

    def _track_one(self, query: TrackQuery) -> TrackResult:
        number = query.number.strip().upper()
        if not _VALID_NUMBER.match(number):
            return TrackResult(query=query, error="not a tracking number",
                               error_code="invalid_number")
        issued = carrier_of(number)
        wanted = query.carrier.lower() if query.carrier else issued
        if self.carriers is not None and (wanted is None or wanted not in self.carriers):
            return TrackResult(query=query, error=f"{self.name} does not serve this carrier",
                               error_code="carrier_unsupported")
        if query.carrier and issued is not None and wanted != issued:
            # the provider looks the number up under the carrier it was told: nothing there
            return TrackResult(query=query, tracking=Tracking(carrier=wanted, number=number,
                                                              provider=self.name))
        tracking = tracking_at(number, self.now, carrier=wanted, provider=self.name)
        return TrackResult(query=query, tracking=tracking)

    # ------------------------------------------------------------ push

    def sign(self, body: bytes) -> str:
        """The hex HMAC-SHA256 signature the sandbox puts on ``body``."""
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def make_push(self, numbers: Sequence[str]) -> tuple[bytes, dict[str, str]]:
        """A signed push carrying the current tracking of ``numbers`` (body, headers)."""
        trackings = [tracking_at(n, self.now, provider=self.name).model_dump(mode="json")
                     for n in numbers]
        body = json.dumps({"event": "tracking_updated", "trackings": trackings},
                          ensure_ascii=False, separators=(",", ":")).encode()
        return body, {SIGNATURE_HEADER: self.sign(body), "Content-Type": "application/json"}

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        """See :meth:`Carrier.parse_push`; the signature is checked in constant time.

        Raises:
            SignatureError: the signature header is missing or does not match.
            ValidationError: the body is not a sandbox push.
        """
        body = raw_body(body, payload="sandbox push")
        wanted = SIGNATURE_HEADER.lower()
        given = next((v for k, v in headers.items() if (header_text(k) or "").lower() == wanted),
                     None)
        if not given:
            raise SignatureError(f"sandbox push without {SIGNATURE_HEADER} header")
        if not hexdigest_matches(given, self.sign(body)):  # constant time
            raise SignatureError("sandbox push signature does not match")
        payload = json_body(body, payload="sandbox push")
        try:
            items = payload["trackings"]
            if payload.get("event") != "tracking_updated" or not isinstance(items, list):
                raise TypeError("not a tracking update")
            return [Tracking.model_validate(item) for item in items]
        except (ValueError, TypeError, KeyError, AttributeError,
                pydantic.ValidationError) as exc:
            # from None: pydantic's text quotes the push's values
            raise ValidationError(f"not a sandbox tracking push ({type(exc).__name__})",
                                  payload="sandbox push") from None


def _delegate_detect(number: str) -> list[str] | None:
    """Ask ``aftersales.logistics.detect_carrier`` when it is installed; ``None`` otherwise."""
    try:
        module = importlib.import_module("aftersales.logistics")
        detect: Any = getattr(module, "detect_carrier", None)
        if detect is not None and not callable(detect):
            detect = getattr(detect, "detect_carrier", None)
        if detect is None:
            detect = getattr(importlib.import_module("aftersales.logistics.detect"),
                             "detect_carrier", None)
    except ImportError:
        return None
    if not callable(detect):
        return None
    result = detect(number)
    codes: list[str] = []
    for item in result or []:
        code = item if isinstance(item, str) else getattr(item, "carrier", None) or getattr(
            item, "code", None)
        if isinstance(code, str) and code not in codes:
            codes.append(code)
    return codes
