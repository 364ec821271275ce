"""The AfterShip tracking adapter.

API: Tracking API 2025-01 (``/tracking/2025-01``; legacy 2024-04 bodies are
read too), webhook event ``tracking_update``. Tags and subtags checked on
2026-12-02 against the 2026-07 sub-status list, a superset of 2025-01's, and
the help-center list of sub-statuses added from 2026-03-27 (see
:mod:`aftersales_aftership.mapping`); rate limits are the per-endpoint ones
of the 2025-01 reference, paced by ``requests_per_second``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aftersales.errors import (
    RemoteRejectedError,
    ResponseParseError,
    SignatureError,
    ValidationError,
)
from aftersales.interfaces import Capability
from aftersales.logistics.provider import ProviderCarrier
from aftersales.logistics.tracking import TrackAnswer, header_value, track_result
from aftersales.models import Tracking, TrackQuery, TrackResult
from aftersales.webhook_body import json_body, raw_body
from aftersales.wire import read_answer, read_payload, split_items
from aftersales_aftership.client import AfterShipClient
from aftersales_aftership.mapping import (
    CARRIER_BY_SLUG,
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


class AfterShipCarrier(ProviderCarrier[AfterShipSettings, AfterShipClient]):
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
    settings_class = AfterShipSettings
    client_class = AfterShipClient
    status_table = STATUS_TABLE

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """Look up to ``batch_size`` numbers with one listing call."""
        self.check_batch(queries)
        if not queries:
            return []
        found, invalid, unowned = self._list([q.number for q in queries])
        results = []
        for query in queries:
            obj = _pick(found.get(query.number.upper(), []), query)
            if query.number.upper() in invalid:
                results.append(TrackResult(query=query, error=invalid[query.number.upper()],
                                           error_code="invalid"))
            elif obj is not None:
                results.append(_result(query, obj))
            elif unowned:
                # An item without a number may be this one's: creating it again
                # would read "tracked already" as pending and hide the bad item.
                results.append(TrackResult(
                    query=query, error="AfterShip's listing does not mention this number, "
                    "and holds a tracking without a number", error_code="missing"))
            else:
                results.append(self._create(query))
        return TrackAnswer(results, unowned)

    def _list(self, numbers: list[str]
              ) -> tuple[dict[str, list[TrackingObject]], dict[str, str], list[str]]:
        """Every listed tracking of ``numbers`` (:func:`_listed`), all pages read.

        ``created_at_min`` reaches back over the :data:`KEPT_DAYS` AfterShip
        keeps: without it the listing holds only the trackings of the last 30
        days, and an older number would be created again ("tracked already")
        and read as pending. A further page (``has_next_page``, one number
        tracked under several couriers) is read by its ``cursor``.
        """
        since = (datetime.now(UTC) - timedelta(days=KEPT_DAYS)).isoformat(timespec="seconds")
        found: dict[str, list[TrackingObject]] = {}
        invalid: dict[str, str] = {}
        unowned: list[str] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            body = self.client.list_trackings(numbers, created_at_min=since, cursor=cursor)
            page, bad, orphans = _listed(body)
            for number, objs in page.items():
                found.setdefault(number, []).extend(objs)
            invalid.update(bad)
            unowned += orphans
            cursor = _next_cursor(body)
            if cursor is None:
                return found, invalid, unowned
        raise ResponseParseError(f"the listing of {len(numbers)} numbers runs past "
                                 f"{MAX_PAGES} pages", adapter=self.name)

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
        return _result(query, _parse(data))

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        """Verify ``aftership-hmac-sha256`` and parse a tracking webhook.

        The body's ``event`` is read first: ``tracking_update`` is parsed,
        any other event type yields no tracking.

        Raises:
            SignatureError: the signature header is missing or wrong.
            ValidationError: the body is not an AfterShip tracking webhook.
        """
        secret = self.settings.require_webhook_secret()
        body = raw_body(body, payload="aftership webhook")
        signature = header_value(headers, "aftership-hmac-sha256") or ""
        if not verify_webhook(body, signature, secret):
            raise SignatureError("aftership webhook signature does not match")
        data = json_body(body, payload="aftership webhook")
        if not isinstance(data, dict):
            raise ValidationError("not a tracking webhook", payload="aftership webhook")
        if data.get("event") != TRACKING_UPDATE:
            # Only tracking_update carries a tracking; any other event type is
            # acknowledged and changes no parcel.
            return []
        hook = read_payload(Webhook, data, payload="aftership webhook")
        if not hook.msg.tracking_number.strip():
            raise ValidationError("no number", field="msg.tracking_number",
                                  payload="aftership webhook")
        return [to_tracking(hook.msg, payload="aftership webhook")]


#: The webhook event that carries a tracking (AfterShip webhook specification).
TRACKING_UPDATE = "tracking_update"


def _result(query: TrackQuery, obj: TrackingObject) -> TrackResult:
    """The tracking for ``query``, or its error when the object is about another parcel
    or holds a bad checkpoint time."""

    def build() -> Tracking:
        tracking = to_tracking(obj, query.carrier)
        if slug_for(query.carrier) is None and obj.slug not in CARRIER_BY_SLUG:
            # Asked without a slug, AfterShip named the courier itself by a slug we do
            # not map: the asked carrier, not another one.
            tracking = tracking.model_copy(update={"carrier": query.carrier or tracking.carrier})
        return tracking

    return track_result(query, build)


def _parse(data: Any) -> TrackingObject:
    # read_answer names the field and chains nothing: pydantic's text quotes values.
    return read_answer(TrackingObject, data, adapter="aftership", payload="tracking object")


#: Days of trackings AfterShip keeps ("only stores data of 120 days"): the listing's reach.
KEPT_DAYS = 120
#: Pages of one listing read at most (50 numbers, a page at least as long as that).
MAX_PAGES = 10


def _next_cursor(body: Any) -> str | None:
    """The cursor of the listing's next page, ``None`` when it has none (or is legacy)."""
    data = body.get("data") if isinstance(body, dict) else None
    paging = data.get("pagination") if isinstance(data, dict) else None
    if not isinstance(paging, dict) or paging.get("has_next_page") is not True:
        return None
    cursor = paging.get("next_cursor")
    return cursor if isinstance(cursor, str) and cursor.strip() else None


def _pick(listed: list[TrackingObject], query: TrackQuery) -> TrackingObject | None:
    """The tracking of ``query`` among its number's, ``None`` when it has none.

    AfterShip keeps one tracking per number and courier: asked for a courier
    it has a slug for, only that courier's is the parcel's (a number listed
    only under another one is created under the asked one, never read as
    its); asked without one, the first listed.
    """
    wanted = slug_for(query.carrier)
    if wanted is None:
        return listed[0] if listed else None
    return next((o for o in listed if o.slug == wanted), None)


def _listed(body: Any) -> tuple[dict[str, list[TrackingObject]], dict[str, str], list[str]]:
    """The listed trackings by upper-case number, the error of each malformed one, and
    the error of each one without a number.

    One malformed tracking is its number's error, and one without a readable
    number an error of its own, not the whole listing's.
    """
    data = body.get("data") if isinstance(body, dict) else None
    items = data.get("trackings") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ResponseParseError("listing has no data.trackings", adapter="aftership")
    good, bad, unowned = split_items(items, TrackingObject.model_validate,
                                     key="tracking_number", payload="aftership trackings",
                                     at="data.trackings")
    found: dict[str, list[TrackingObject]] = {}
    for obj in good:
        found.setdefault(obj.tracking_number.upper(), []).append(obj)
    invalid = {number.upper(): error for number, error in bad.items()}
    return found, invalid, unowned


def _pending(query: TrackQuery) -> Tracking:
    return Tracking(carrier=query.carrier, number=query.number, provider="aftership")
