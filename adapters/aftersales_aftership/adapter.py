"""The AfterShip tracking adapter.

API: Tracking API 2025-01 (``/tracking/2025-01``; legacy 2024-04 bodies are
read too), webhook event ``tracking_update``. Tags and subtags checked on
2026-12-02 against the 2026-07 sub-status list, a superset of 2025-01's, and
the help-center list of sub-statuses added from 2026-03-27 (see
:mod:`aftersales_aftership.mapping`); rate limits are the per-endpoint ones
of the 2025-01 reference, paced by ``requests_per_second``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import ValidationError as PydanticValidationError

from aftersales.errors import (
    RemoteRejectedError,
    ResponseParseError,
    SignatureError,
    ValidationError,
)
from aftersales.http import ApiClient
from aftersales.interfaces import Capability, CarrierBase
from aftersales.logistics.tracking import header_value, status_map
from aftersales.models import ParcelStatus, Tracking, TrackQuery, TrackResult
from aftersales_aftership.client import AfterShipClient
from aftersales_aftership.mapping import (
    STATUS_TABLE,
    slug_for,
    to_tracking,
    tracking_object,
    verify_webhook,
)
from aftersales_aftership.schemas import TrackingObject, Webhook
from aftersales_aftership.settings import AfterShipSettings

__all__ = ["AfterShipCarrier"]

#: meta codes of a create that mean "tracked already" rather than a failure.
_ALREADY = frozenset({"4003"})


class AfterShipCarrier(CarrierBase):
    """AfterShip: 1,000+ couriers, up to 50 numbers per listing call.

    Alias ``aftership``; API: Tracking API 2025-01 (``GET /trackings`` with
    ``tracking_numbers``, ``POST /trackings``, ``tracking_update`` webhooks
    signed with ``aftership-hmac-sha256``); docs:
    https://www.aftership.com/docs/tracking. Capabilities: track, push.

    ``AfterShipCarrier()`` reads ``AFTERSHIP_API_KEY`` and
    ``AFTERSHIP_WEBHOOK_SECRET``; constructing needs nothing, a call without
    the key raises ``ConfigurationError``. A number AfterShip does not track
    yet is created (one call per number) and comes back pending.
    """

    name = "aftership"
    capabilities = frozenset({Capability.TRACK, Capability.PUSH})
    carriers: frozenset[str] | None = None  # any carrier the provider knows
    #: every documented provider status code, and what each means (for the conformance kit).
    raw_parcel_statuses: ClassVar[tuple[str, ...]] = tuple(STATUS_TABLE)
    parcel_status_table: ClassVar[dict[str, ParcelStatus]] = status_map(STATUS_TABLE)

    def __init__(
        self,
        settings: AfterShipSettings | None = None,
        *,
        api: ApiClient | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(name=name)
        self.settings = settings or AfterShipSettings.from_env()
        self.batch_size = self.settings.batch_size
        self.client = AfterShipClient(self.settings, api=api, sleep=sleep)

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """Look up to ``batch_size`` numbers with one listing call."""
        if len(queries) > self.batch_size:
            raise ValidationError(
                f"at most {self.batch_size} numbers per call", field="queries", payload=self.name
            )
        if not queries:
            return []
        body = self.client.list_trackings([q.number for q in queries])
        found = {t.tracking_number.upper(): t for t in _listed(body)}
        results = []
        for query in queries:
            obj = found.get(query.number.upper())
            if obj is not None:
                results.append(TrackResult(query=query, tracking=to_tracking(obj, query.carrier)))
            else:
                results.append(self._create(query))
        return results

    def _create(self, query: TrackQuery) -> TrackResult:
        try:
            body = self.client.create_tracking(query.number, slug_for(query.carrier))
        except RemoteRejectedError as exc:
            if exc.code in _ALREADY:
                return TrackResult(query=query, tracking=_pending(query))
            return TrackResult(query=query, error=str(exc), error_code=exc.code)
        data = tracking_object(body.get("data") if isinstance(body, dict) else None)
        if data is None:
            return TrackResult(query=query, tracking=_pending(query))
        return TrackResult(query=query, tracking=to_tracking(_parse(data), query.carrier))

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        """Verify ``aftership-hmac-sha256`` and parse a tracking webhook.

        The body's ``event`` is read first: ``tracking_update`` is parsed,
        any other event type yields no tracking.

        Raises:
            SignatureError: the signature header is missing or wrong.
            ValidationError: the body is not an AfterShip tracking webhook.
        """
        secret = self.settings.require_webhook_secret()
        signature = header_value(headers, "aftership-hmac-sha256") or ""
        if not verify_webhook(body, signature, secret):
            raise SignatureError("aftership webhook signature does not match")
        try:
            event = json.loads(body).get("event")
        except (ValueError, AttributeError, RecursionError):
            raise ValidationError("not a tracking webhook", payload="aftership webhook") from None
        if event != TRACKING_UPDATE:
            # Only tracking_update carries a tracking; any other event type is
            # acknowledged and changes no parcel.
            return []
        try:
            hook = Webhook.model_validate(json.loads(body))
        except (ValueError, RecursionError, PydanticValidationError):
            raise ValidationError("not a tracking webhook", payload="aftership webhook") from None
        return [to_tracking(hook.msg)]


#: The webhook event that carries a tracking (AfterShip webhook specification).
TRACKING_UPDATE = "tracking_update"


def _parse(data: Any) -> TrackingObject:
    try:
        return TrackingObject.model_validate(data)
    except PydanticValidationError as exc:
        raise ResponseParseError("unexpected tracking object", adapter="aftership") from exc


def _listed(body: Any) -> list[TrackingObject]:
    data = body.get("data") if isinstance(body, dict) else None
    items = data.get("trackings") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ResponseParseError("listing has no data.trackings", adapter="aftership")
    return [_parse(item) for item in items]


def _pending(query: TrackQuery) -> Tracking:
    return Tracking(carrier=query.carrier, number=query.number, provider="aftership")
