"""The 17TRACK tracking adapter.

API: Tracking API v2.2 (``register``, ``gettrackinfo``, webhooks
``TRACKING_UPDATED`` / ``TRACKING_STOPPED``). Statuses, sub-statuses, event
key stages and error codes checked against the v2.2 reference on
2026-12-02 (see :mod:`aftersales_seventeentrack.mapping`); the reference
retrieved states no request-rate limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests
from pydantic import ValidationError as PydanticValidationError

from aftersales.errors import ResponseParseError, SignatureError, ValidationError
from aftersales.interfaces import Capability
from aftersales.logistics.provider import ProviderCarrier
from aftersales.logistics.tracking import (
    TrackAnswer,
    header_value,
    provider_reason,
    track_result,
)
from aftersales.models import Tracking, TrackQuery, TrackResult
from aftersales.webhook_body import json_body, raw_body
from aftersales.wire import split_items
from aftersales_seventeentrack.client import SeventeenTrackClient
from aftersales_seventeentrack.mapping import (
    NOT_REGISTERED,
    PENDING_CODES,
    STATUS_TABLE,
    carrier_for,
    error_for_code,
    key_for,
    pending,
    to_tracking,
    verify_webhook,
)
from aftersales_seventeentrack.schemas import (
    ENVELOPE,
    REJECTED,
    TRACK_ITEM,
    WEBHOOK,
    Envelope,
    ItemError,
    TrackItem,
)
from aftersales_seventeentrack.settings import SeventeenTrackSettings

__all__ = ["SeventeenTrackCarrier"]

_QUOTA_CODES = frozenset({-18019907, -18019908})


class SeventeenTrackCarrier(ProviderCarrier[SeventeenTrackSettings, SeventeenTrackClient]):
    """17TRACK: 3,000+ carriers worldwide, up to 40 numbers per call.

    Alias ``seventeentrack``; API: Tracking API v2.2 (``/gettrackinfo``,
    ``/register``, webhooks ``TRACKING_UPDATED``/``TRACKING_STOPPED``); docs:
    https://api.17track.net/en/doc. Capabilities: track, push.

    ``SeventeenTrackCarrier()`` reads ``SEVENTEENTRACK_TOKEN``; constructing
    needs nothing, a call without the token raises ``ConfigurationError``.
    A number 17TRACK does not know yet is registered in one extra batched
    call and comes back pending (registration uses quota).
    """

    name = "seventeentrack"
    capabilities = frozenset({Capability.TRACK, Capability.PUSH})
    settings_class = SeventeenTrackSettings
    client_class = SeventeenTrackClient
    status_table = STATUS_TABLE

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """Look up to ``batch_size`` numbers in one ``gettrackinfo`` call.

        Unregistered numbers are registered (one more call) and come back
        pending; other refused numbers, and numbers whose registration was
        refused, come back with ``error`` set.

        Raises:
            RateLimitError: the daily limit or the quota is used up.
        """
        self.check_batch(queries)
        if not queries:
            return []
        envelope, invalid, unowned = self._envelope(
            self.client.get_track_info([_item(q) for q in queries]))
        data = envelope.get("data") or {}
        accepted = {item["number"]: item for item in data.get("accepted") or ()}
        rejected = {item["number"]: item.get("error") or {} for item in data.get("rejected") or ()}
        to_register = [
            q for q in queries
            if q.number in rejected and rejected[q.number].get("code") == NOT_REGISTERED
        ]
        if to_register:
            registered, _, refused_unowned = self._envelope(
                self.client.register([_item(q) for q in to_register]))
            unowned += refused_unowned
            # A registration refused (carrier not detected, quota…) replaces "not registered".
            refused = (registered.get("data") or {}).get("rejected") or ()
            rejected.update({item["number"]: item.get("error") or {} for item in refused})
        return TrackAnswer((
            TrackResult(query=q, error=invalid[q.number], error_code="invalid")
            if q.number in invalid else self._result(q, accepted.get(q.number),
                                                     rejected.get(q.number))
            for q in queries
        ), unowned)

    @staticmethod
    def _result(query: TrackQuery, item: TrackItem | None, error: ItemError | None) -> TrackResult:
        if item is not None:
            if _other_carrier(query, item):
                return TrackResult(query=query, error="the answer names another carrier than "
                                   "was asked", error_code="mismatch")
            return track_result(query, lambda: to_tracking(item, query.carrier))
        if error is None:
            # Neither accepted nor rejected: 17TRACK said nothing of this number
            # (or answered for another one), which is no "pending".
            return TrackResult(query=query, error="17TRACK's answer does not mention this "
                               "number", error_code="missing")
        code = error.get("code", 0)
        if code == NOT_REGISTERED or code in PENDING_CODES:
            return TrackResult(query=query, tracking=pending(query.number, query.carrier))
        message = error.get("message", "")
        if code in _QUOTA_CODES:
            raise error_for_code(code, provider_reason(message, ""))
        # 17TRACK's words may echo the number's data (a phone it wanted): masked, one line.
        return TrackResult(query=query, error=provider_reason(message), error_code=str(code))

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        """Verify the ``sign`` header and parse a webhook.

        ``TRACKING_STOPPED`` (17TRACK stopped watching the number under a
        system rule; only ``/retrack`` resumes it) yields the number marked
        ``push_stopped``, so the logistics service refreshes a parcel not yet
        at a final state by query. Its ``track_info`` is read when the push
        carries one; without it the tracking has no status and no events,
        and the parcel keeps what it has.

        Raises:
            SignatureError: the ``sign`` header is missing or wrong.
            ValidationError: the body is not a 17TRACK webhook.
        """
        key = self.settings.require_webhook_key()
        body = raw_body(body, payload="17track webhook")
        if not verify_webhook(body, header_value(headers, "sign"), key):
            raise SignatureError("17track webhook signature does not match")
        data = json_body(body, payload="17track webhook")
        try:
            hook = WEBHOOK.validate_python(data)
        except (ValueError, PydanticValidationError):
            # from None: pydantic's text quotes the payload's values (a buyer's words).
            raise ValidationError("not a 17track webhook", payload="17track webhook") from None
        if not hook["data"]["number"].strip():
            raise ValidationError("no number", field="data.number", payload="17track webhook")
        if hook["event"] == "TRACKING_STOPPED":
            stopped = to_tracking(hook["data"], payload="17track webhook")
            return [stopped.model_copy(update={"push_stopped": True})]
        if hook["event"] != "TRACKING_UPDATED" or hook["data"].get("track_info") is None:
            return []
        return [to_tracking(hook["data"], payload="17track webhook")]

    def _envelope(
        self, response: requests.Response,
    ) -> tuple[Envelope, dict[str, str], list[str]]:
        """The answer, the error of each number whose own item is malformed, and the
        error of each item without a number (no asked number owns it).

        The whole answer is validated in one pass (the hot path); only when
        that fails, or an item's number is blank, are its items validated one
        by one (:func:`~aftersales.wire.split_items`), so one bad item is that
        number's error, or an error of its own, rather than the whole batch's.
        """
        try:
            envelope = ENVELOPE.validate_json(response.content or b"null")
        except PydanticValidationError:
            body = self.client.api.parse_json(response)  # not JSON at all: that error says so
        else:
            data = envelope.get("data") or {}
            numbers = [item["number"] for item in data.get("accepted") or ()] + [
                item["number"] for item in data.get("rejected") or ()]
            if all(number.strip() for number in numbers):
                return envelope, {}, []
            body = envelope
        split = _split(body)
        if split is None:
            # from None: pydantic's text quotes the answer's values (a buyer's words).
            raise ResponseParseError("unexpected gettrackinfo answer",
                                     adapter=self.name) from None
        return split


def _split(body: Any) -> tuple[Envelope, dict[str, str], list[str]] | None:
    """``body`` with its malformed items taken out, each one's error by number, and
    the error of each item without a number; ``None`` when the envelope itself is
    malformed."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return None
    kept: dict[str, list[Any]] = {}
    invalid: dict[str, str] = {}
    unowned: list[str] = []
    for key, adapter in (("accepted", TRACK_ITEM), ("rejected", REJECTED)):
        items = data.get(key) or []
        if not isinstance(items, list):
            return None
        good, bad, orphans = split_items(items, adapter.validate_python, key="number",
                                         payload=PAYLOAD, at=f"data.{key}")
        kept[key] = list(good)
        invalid.update(bad)
        unowned += orphans
    try:
        envelope = ENVELOPE.validate_python({**body, "data": {**data, **kept}})
    except PydanticValidationError:
        return None
    return envelope, invalid, unowned


#: What a malformed item's error names as its payload.
PAYLOAD = "17track gettrackinfo"


def _other_carrier(query: TrackQuery, item: TrackItem) -> bool:
    """Whether 17TRACK answered for another carrier than the one asked by its key.

    Only when a key was sent: without one 17TRACK detects the carrier, and a
    key this adapter does not map still names the asked carrier.
    """
    sent = key_for(query.carrier)
    got = item.get("carrier")
    return sent is not None and got is not None and got != sent and (
        carrier_for(got) != query.carrier)


def _item(query: TrackQuery) -> dict[str, Any]:
    item: dict[str, Any] = {"number": query.number}
    key = key_for(query.carrier)
    if key is not None:
        item["carrier"] = key
    return item
