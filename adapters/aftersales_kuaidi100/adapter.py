"""The Kuaidi100 (快递100) tracking adapter.

API: ``poll/query.do`` (resultv2=4), ``autonumber/auto`` and the
subscription ``POST /poll`` with its pushes. State codes, both returnCode
tables and push statuses checked against Kuaidi100's API documents on
2026-12-02 (see :mod:`aftersales_kuaidi100.mapping`); Kuaidi100 documents no
paging and no numeric rate limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs

from pydantic import ValidationError as PydanticValidationError

from aftersales.errors import (
    RemoteRejectedError,
    ResponseParseError,
    SignatureError,
    ValidationError,
)
from aftersales.interfaces import Capability
from aftersales.logistics.detect import checked_number
from aftersales.logistics.provider import ProviderCarrier
from aftersales.logistics.tracking import track_result
from aftersales.models import Tracking, TrackQuery, TrackResult
from aftersales.webhook_body import json_body, raw_body
from aftersales.wire import read_answer
from aftersales_kuaidi100.client import Kuaidi100Client
from aftersales_kuaidi100.mapping import (
    NO_RESULT,
    STATE_TABLE,
    STOPPED,
    carrier_for,
    com_for,
    pending,
    to_tracking,
    verify_push,
)
from aftersales_kuaidi100.schemas import AutoNumberCandidate, PushParam, QueryResponse
from aftersales_kuaidi100.settings import Kuaidi100Settings

__all__ = ["PUSH_ACK", "Kuaidi100Carrier"]

#: The body a push callback must answer with, or Kuaidi100 pushes again ~30 min later.
PUSH_ACK = {"result": True, "returnCode": "200", "message": "成功"}


class Kuaidi100Carrier(ProviderCarrier[Kuaidi100Settings, Kuaidi100Client]):
    """Kuaidi100: China's carriers and many international ones, one number per call.

    Alias ``kuaidi100``; API: ``poll/query.do`` (signed real-time query,
    ``resultv2=4``), ``autonumber/auto`` (carrier detection) and subscription
    pushes; docs: https://api.kuaidi100.com/document/. Capabilities: detect
    carrier, track, push. State and error tables checked on 2026-12-02
    (see :mod:`aftersales_kuaidi100.mapping`). Push ``status`` values:
    ``polling`` (watching), ``shutdown`` (ended), ``abort`` (given up),
    ``updateall`` (re-sent in full); ``shutdown`` and ``abort`` set
    ``Tracking.push_stopped``.

    Constructing needs no credentials: ``Kuaidi100Carrier()`` reads
    ``KUAIDI100_KEY``, ``KUAIDI100_CUSTOMER`` and ``KUAIDI100_SALT`` and a call
    that needs a missing one raises ``ConfigurationError``. Kuaidi100 asks
    callers to leave 30 minutes between queries of one number (or it locks
    the number); the logistics service's TTL takes care of that.
    """

    name = "kuaidi100"
    capabilities = frozenset({Capability.DETECT_CARRIER, Capability.TRACK, Capability.PUSH})
    batch_size = 1
    settings_class = Kuaidi100Settings
    client_class = Kuaidi100Client
    status_table = STATE_TABLE

    def detect(self, number: str) -> list[str]:
        """Carrier codes from Kuaidi100's autonumber, best first; empty when it knows none.

        The number is sent folded (:func:`~aftersales.logistics.detect.checked_number`).

        Raises:
            ValidationError: ``number`` is not a tracking number; nothing is sent.
        """
        body = self.client.autonumber(checked_number(number))
        if not isinstance(body, list):
            return []  # {"returnCode": "201"}: not a valid waybill number
        # read_answer names the field and chains nothing: pydantic's text quotes values.
        found = [read_answer(AutoNumberCandidate, item, adapter=self.name,
                             payload="autonumber answer") for item in body]
        return list(dict.fromkeys(carrier_for(c.com_code) for c in found))

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """Look up one number (Kuaidi100 has no batch query).

        A number without a carrier is first resolved through autonumber.
        """
        self.check_batch(queries)
        return [self._track_one(query) for query in queries]

    def _track_one(self, query: TrackQuery) -> TrackResult:
        carrier = query.carrier or next(iter(self.detect(query.number)), None)
        com = com_for(carrier)
        if com is None:
            return TrackResult(query=query, error="carrier not recognised", error_code="201")
        try:
            body = self.client.query(com, query.number, query.phone_suffix)
        except RemoteRejectedError as exc:
            return TrackResult(query=query, error=str(exc), error_code=exc.code)
        if isinstance(body, dict) and str(body.get("returnCode", "")) == NO_RESULT:
            return TrackResult(query=query, tracking=pending(query.number, carrier))
        if not isinstance(body, dict) or not {"nu", "state", "data"} & body.keys():
            # Neither an error envelope nor an answer (``{}``, ``{"message": …}``).
            raise ResponseParseError("unexpected query answer", adapter=self.name)
        response = read_answer(QueryResponse, body, adapter=self.name, payload="query answer")
        # A bad scan time, or an answer for another number or carrier, is this
        # number's error: nothing of it is stored against the asked parcel.
        return track_result(query, lambda: to_tracking(response, query.number, carrier))

    def subscribe(
        self,
        number: str,
        carrier: str | None = None,
        *,
        callback_url: str,
        phone_suffix: str | None = None,
    ) -> None:
        """Have Kuaidi100 push this number's updates to ``callback_url``.

        The pushes are signed with ``KUAIDI100_SALT`` when it is set (then
        :meth:`parse_push` verifies them); without a carrier, Kuaidi100
        detects it. The callback must answer :data:`PUSH_ACK`.

        The number is sent folded (``"yt 9693-0836"`` as ``YT96930836``), as
        Kuaidi100 knows it and pushes it back.

        Raises:
            ValidationError: ``number`` is not letters and digits (64 at most
                once spacing, dashes, case and full-width forms are folded);
                nothing is sent.
            ConfigurationError: ``KUAIDI100_KEY`` is not set.
            RemoteRejectedError: Kuaidi100 refused the subscription.
        """
        number = checked_number(number)
        body = self.client.subscribe(com_for(carrier), number, callback_url, phone_suffix)
        if not isinstance(body, dict):
            raise ResponseParseError("unexpected subscription answer", adapter=self.name)
        # Errors were raised by the client from mapping.SUBSCRIBE_CODES; here
        # body is a success: 200 subscribed, or 501 already subscribed.

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        """Verify (``sign`` = MD5 of param + salt) and parse a subscription push.

        Raises:
            ConfigurationError: ``KUAIDI100_SALT`` is not set.
            SignatureError: the sign is missing or wrong.
            ValidationError: the body is not a Kuaidi100 push.
        """
        salt = self.settings.require_salt()
        payload = "kuaidi100 push"
        body = raw_body(body, payload=payload)
        try:
            # strict: text that is not UTF-8 (raw or %-escaped) would be
            # replaced, and two different forms would read (and sign) alike
            form = parse_qs(body.decode("utf-8"), errors="strict")
        except UnicodeDecodeError:
            raise ValidationError("body is not UTF-8", payload=payload) from None
        for name in ("param", "sign"):
            if len(form.get(name, ())) > 1:
                raise ValidationError("the field is sent twice", field=name, payload=payload)
        param = (form.get("param") or [""])[0]
        if not param:
            raise ValidationError("no param field", field="param", payload=payload)
        signature = (form.get("sign") or [""])[0]
        if not verify_push(param, signature, salt):
            raise SignatureError("kuaidi100 push signature does not match")
        try:
            push = PushParam.model_validate(json_body(param.encode("utf-8"), payload=payload))
        except ValidationError as exc:
            raise ValidationError(str(exc).removeprefix(f"{payload}: "), field="param",
                                  payload=payload) from None
        except PydanticValidationError:
            raise ValidationError(
                "param is not a push", field="param", payload="kuaidi100 push"
            ) from None
        if push.last_result is None:
            raise ValidationError("no lastResult", field="lastResult", payload="kuaidi100 push")
        result = push.last_result
        if not result.nu.strip():
            # No number: no parcel the push could be about.
            raise ValidationError("no number", field="lastResult.nu", payload="kuaidi100 push")
        tracking = to_tracking(result, result.nu, carrier_for(result.com) if result.com else None,
                               payload="kuaidi100 push")
        if push.status in STOPPED:
            # Kuaidi100 stopped watching the number (shutdown: ended, abort:
            # given up, e.g. no trace for days): no push follows, so the
            # logistics service refreshes an unfinished parcel by query.
            tracking = tracking.model_copy(update={"push_stopped": True})
        return [tracking]
