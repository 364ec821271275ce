"""Pure conversions for Kuaidi100: signing, state codes, carrier codes, errors.

``STATE_TABLE`` maps every documented ``state`` / ``statusCode`` (the base
codes and the advanced ``resultv2=4`` codes) to a canonical status; each
advanced code agrees with its base state (:data:`PARENT`) unless
:data:`REFINEMENTS` names why it is finer. The tests check each row.

Two endpoints, two ``returnCode`` tables: the real-time query
(:data:`RETURN_CODES`) and the subscription (:data:`SUBSCRIBE_CODES`), where
501 means "already subscribed and still polling" rather than a server error.

Checked against Kuaidi100's API documents (api.kuaidi100.com/document:
real-time query, subscription and push, autonumber; ``resultv2=4`` state
table) on 2026-12-02. Kuaidi100 documents no pagination (one number per
call) and no numeric rate limit beyond "leave 30 minutes between queries of
one number"; a push is re-sent about 30 minutes later unless acknowledged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.logistics.tracking import (
    CHINA_TZ,
    StatusRule,
    build_tracking,
    lookup,
    parcel_rule,
    scan_time,
)
from aftersales.models import ParcelIssue, ParcelStatus, Tracking, TrackingEvent
from aftersales.signing import hexdigest_matches
from aftersales.wire import wire_code
from aftersales_kuaidi100.schemas import QueryEvent, QueryResponse

__all__ = [
    "CARRIER_BY_COM",
    "COM_BY_CARRIER",
    "NO_RESULT",
    "PARENT",
    "REFINEMENTS",
    "STATE_TABLE",
    "STOPPED",
    "SUBSCRIBE_CODES",
    "carrier_for",
    "com_for",
    "error_for",
    "pending",
    "push_sign",
    "query_param",
    "sign",
    "subscribe_error",
    "subscribe_param",
    "to_tracking",
    "verify_push",
]

S, R = ParcelStatus, ParcelIssue  # status, reason

#: state / statusCode -> canonical status (logistics.md §1.5).
STATE_TABLE: dict[str, StatusRule] = {
    "0": StatusRule(S.IN_TRANSIT),  # 在途
    "1": StatusRule(S.PICKED_UP),  # 揽收
    "2": StatusRule(S.EXCEPTION, R.OTHER),  # 疑难
    "3": StatusRule(S.DELIVERED),  # 签收
    "4": StatusRule(S.RETURNED),  # 退签: back and signed for by the sender
    "5": StatusRule(S.OUT_FOR_DELIVERY),  # 派件
    "6": StatusRule(S.RETURNING),  # 退回
    "7": StatusRule(S.IN_TRANSIT),  # 转投: handed to another carrier
    "8": StatusRule(S.IN_TRANSIT),  # 清关
    "10": StatusRule(S.IN_TRANSIT),  # 待清关
    "11": StatusRule(S.IN_TRANSIT),  # 清关中
    "12": StatusRule(S.IN_TRANSIT),  # 已清关
    "13": StatusRule(S.EXCEPTION, R.CUSTOMS),  # 清关异常
    "14": StatusRule(S.EXCEPTION, R.REFUSED),  # 拒签
    "101": StatusRule(S.INFO_RECEIVED),  # 已下单
    "102": StatusRule(S.INFO_RECEIVED),  # 待揽收
    "103": StatusRule(S.PICKED_UP),  # 已揽收
    "1001": StatusRule(S.IN_TRANSIT),  # 到达派件城市
    "1002": StatusRule(S.IN_TRANSIT),  # 干线
    "1003": StatusRule(S.IN_TRANSIT),  # 转递
    "501": StatusRule(S.AVAILABLE_FOR_PICKUP),  # 投柜或驿站
    "301": StatusRule(S.DELIVERED),  # 本人签收
    "302": StatusRule(S.DELIVERED),  # 派件异常后签收
    "303": StatusRule(S.DELIVERED),  # 代签
    "304": StatusRule(S.DELIVERED),  # 投柜或站签收
    "401": StatusRule(S.RETURNED),  # 已销单, under 4 退签: back with the sender
    "201": StatusRule(S.EXCEPTION, R.DELAYED),  # 超时未签收
    "202": StatusRule(S.EXCEPTION, R.DELAYED),  # 超时未更新
    "203": StatusRule(S.EXCEPTION, R.REFUSED),  # 拒收
    "204": StatusRule(S.FAILED_ATTEMPT),  # 派件异常
    "205": StatusRule(S.EXCEPTION, R.HELD),  # 柜或驿站超时未取
    "206": StatusRule(S.FAILED_ATTEMPT, R.ADDRESS),  # 无法联系
    "207": StatusRule(S.EXCEPTION, R.ADDRESS),  # 超区
    "208": StatusRule(S.EXCEPTION, R.HELD),  # 滞留
    "209": StatusRule(S.EXCEPTION, R.DAMAGED),  # 破损
    "210": StatusRule(S.EXCEPTION, R.OTHER),  # 销单
}

#: advanced code -> its base state, as the resultv2=4 state table groups them.
PARENT: dict[str, str] = {
    "101": "1", "102": "1", "103": "1",
    "1001": "0", "1002": "0", "1003": "0",
    "501": "5",
    "301": "3", "302": "3", "303": "3", "304": "3",
    "401": "4",
    "201": "2", "202": "2", "203": "2", "204": "2", "205": "2", "206": "2", "207": "2",
    "208": "2", "209": "2", "210": "2",
    "10": "8", "11": "8", "12": "8", "13": "8",
}

#: Advanced codes whose status is finer than their base state's, and why.
REFINEMENTS: dict[str, str] = {
    "101": "order placed, not yet picked up: before 揽收's pickup",
    "102": "awaiting pickup: before 揽收's pickup",
    "501": "put in a locker or station: the buyer collects it, it is not out with a courier",
    "204": "a failed delivery attempt is the 疑难 the core tells apart",
    "206": "recipient unreachable: a failed attempt, address issue",
    "13": "customs exception: the 清关 stage went wrong",
}

#: returnCode meaning "no trace yet": a pending parcel, not an error.
NO_RESULT = "500"
#: autonumber's "not a valid waybill number": an empty detection, not an error.
NOT_A_WAYBILL = "201"

#: returnCode -> (error class, meaning). 400/408 concern one number; the rest the account.
RETURN_CODES: dict[str, tuple[type[RemoteError], str]] = {
    "400": (RemoteRejectedError, "incomplete request or unknown carrier code"),
    "408": (RemoteRejectedError, "the carrier needs the recipient's phone"),
    "501": (TransientError, "server error"),
    "502": (TransientError, "server busy"),
    "503": (AuthenticationError, "signature refused: check KUAIDI100_KEY/CUSTOMER"),
    "601": (RateLimitError, "key expired or query quota used up"),
    "701": (AuthenticationError, "key missing"),
}

#: ``POST /poll`` (subscription) returnCode -> (error class or None when fine, meaning),
#: from Kuaidi100's subscription document. Unknown codes are a non-retried RemoteError.
SUBSCRIBE_CODES: dict[str, tuple[type[RemoteError] | None, str]] = {
    "200": (None, "subscribed"),
    "501": (None, "already subscribed and still polling; the repeat is ignored"),
    "500": (TransientError, "server error"),
    "600": (AuthenticationError, "not a valid subscriber: check KUAIDI100_KEY"),
    "601": (AuthenticationError, "key expired or subscription quota used up"),
    "700": (RemoteRejectedError, "bad subscription data (carrier, number or callback URL)"),
    "701": (RemoteRejectedError, "this carrier cannot be subscribed"),
    "702": (RemoteRejectedError, "no carrier recognised for this number"),
}

#: Push ``status`` values meaning Kuaidi100 stopped watching the number.
STOPPED = frozenset({"shutdown", "abort"})

#: our carrier code -> Kuaidi100 ``com`` (logistics.md §1.9).
COM_BY_CARRIER: dict[str, str] = {
    "sf": "shunfeng",
    "yto": "yuantong",
    "zto": "zhongtong",
    "sto": "shentong",
    "yunda": "yunda",
    "jd": "jd",
    "ems": "ems",
    "chinapost": "youzhengguonei",
    "jtexpress": "jtexpress",
    "deppon": "debangkuaidi",
    "ups": "ups",
    "fedex": "fedex",
    "usps": "usps",
    "dhl": "dhl",
}
CARRIER_BY_COM: dict[str, str] = {v: k for k, v in COM_BY_CARRIER.items()} | {
    "debangwuliu": "deppon",
    "shunfengkuaiyun": "sf",
    "youzhengguoji": "chinapost",
    "emsguoji": "ems",
}


def sign(param: str, key: str, customer: str) -> str:
    """Kuaidi100's query signature: upper-case MD5 hex of ``param + key + customer``.

    ``param`` must be the exact JSON string sent in the form, since any other
    serialisation of the same object signs differently.
    """
    digest = hashlib.md5((param + key + customer).encode("utf-8"), usedforsecurity=False)
    return digest.hexdigest().upper()


def push_sign(param: str, salt: str) -> str:
    """The signature Kuaidi100 puts on a push: upper-case MD5 of ``param + salt``."""
    digest = hashlib.md5((param + salt).encode("utf-8"), usedforsecurity=False)
    return digest.hexdigest().upper()


def verify_push(param: str, signature: str | None, salt: str) -> bool:
    """Whether a push's ``sign`` matches its ``param`` (constant time, any hex case)."""
    return hexdigest_matches(signature, push_sign(param, salt))


def com_for(carrier: str | None) -> str | None:
    """The ``com`` code for one of our carrier codes; unknown codes pass through."""
    if not carrier:
        return None
    return COM_BY_CARRIER.get(carrier, carrier)


def carrier_for(com: str) -> str:
    """Our carrier code for a ``com`` code; unmapped ones are kept as Kuaidi100 spells them."""
    return CARRIER_BY_COM.get(com, com)


def query_param(com: str, number: str, phone: str | None, resultv2: str) -> str:
    """The ``param`` JSON string for ``poll/query.do``: compact, raw UTF-8, fixed key order."""
    body: dict[str, Any] = {"com": com, "num": number}
    if phone:
        body["phone"] = phone
    body.update({"resultv2": resultv2, "show": "0", "order": "desc"})
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def subscribe_param(
    com: str | None, number: str, key: str, callback_url: str, salt: str | None,
    phone: str | None, resultv2: str,
) -> str:
    """The ``param`` JSON for ``POST /poll`` (subscription), in the documented key order.

    Without ``com``, ``autoCom`` asks Kuaidi100 to detect the carrier itself.
    """
    parameters: dict[str, Any] = {"callbackurl": callback_url}
    if salt:
        parameters["salt"] = salt
    parameters["resultv2"] = resultv2
    if phone:
        parameters["phone"] = phone
    if not com:
        parameters["autoCom"] = "1"
    body = {"company": com or "", "number": number, "key": key, "parameters": parameters}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def error_for(body: Mapping[str, Any]) -> RemoteError | None:
    """The error an error body stands for; ``None`` for success and for "no result yet".

    Kuaidi100 answers errors with ``200 OK``; an answer is an error when it
    says ``result`` false (the flag or the text), carries a ``returnCode``
    other than 200, or a ``status`` other than 200 (the success answer's is
    ``"200"``), whatever its other fields.
    """
    result = body.get("result")
    code, status = (str(body.get(key) or "") for key in ("returnCode", "status"))
    code, status = ("" if c == "200" else c for c in (code, status))
    failed = result is False or str(result).lower() == "false"
    if not (failed or code or status):
        return None
    code = code or status
    if code in (NO_RESULT, NOT_A_WAYBILL):
        return None
    cls, meaning = RETURN_CODES.get(code, (RemoteError, "unexpected error"))
    # The code goes into the error's text: only a code-shaped one (not a line
    # break, not 100 kB of whatever the field held).
    return cls(meaning, adapter="kuaidi100", code=wire_code(code))


def subscribe_error(body: Mapping[str, Any]) -> RemoteError | None:
    """The error a subscription answer stands for; ``None`` when subscribed (or already)."""
    if body.get("result") is True:
        return None
    code = str(body.get("returnCode", ""))
    cls, meaning = SUBSCRIBE_CODES.get(code, (RemoteError, "unexpected subscription answer"))
    return None if cls is None else cls(meaning, adapter="kuaidi100", code=wire_code(code))


def _event(raw: QueryEvent, fallback: StatusRule, index: int, payload: str
           ) -> TrackingEvent | None:
    field = f"data[{index}].{'ftime' if raw.ftime not in (None, '') else 'time'}"
    when = scan_time(raw.ftime if raw.ftime not in (None, "") else raw.time,
                     field=field, payload=payload, naive_tz=CHINA_TZ)
    if when is None:
        return None  # a scan without any time: a placeholder, not a scan
    rule = lookup(STATE_TABLE, raw.status_code, default=fallback)
    return TrackingEvent(
        time=when.time,
        status=rule.status,
        description=raw.context,
        location=raw.location or raw.area_name or None,
        raw_code=raw.status_code,
    )


def to_tracking(
    response: QueryResponse, number: str, carrier: str | None, payload: str = "kuaidi100 query"
) -> Tracking:
    """A query response (or a push's ``lastResult``) as a core :class:`Tracking`.

    Events without their own ``statusCode`` (``resultv2`` off) take the
    parcel's state when newest and "in transit" otherwise. A ``state`` not
    in :data:`STATE_TABLE` (or none) is :data:`~aftersales.logistics.tracking.UNKNOWN`.

    An answer without any scan in the default state (``state`` "0" 在途, or
    none) is pending: Kuaidi100 sends that state for a number it never found
    (a real abort push: "3天查询无记录", 单号不存在或者已经过期, empty
    ``data``), which the query door answers with returnCode 500.

    Raises:
        ValidationError: a scan's time is no time (names the field and ``payload``).
    """
    if not response.data and (response.state or "0") == "0":
        return pending(response.nu or number,
                       carrier_for(response.com) if response.com else carrier)
    rule = parcel_rule(STATE_TABLE, response.state)
    events = []
    for index, raw in enumerate(response.data):
        fallback = rule if index == 0 else StatusRule(S.IN_TRANSIT)
        event = _event(raw, fallback, index, payload)
        if event is not None:
            events.append(event)
    return build_tracking(
        carrier=carrier_for(response.com) if response.com else carrier,
        number=response.nu or number,
        rule=rule,
        events=events,
        provider="kuaidi100",
        raw_status=response.state or None,
    )


def pending(number: str, carrier: str | None) -> Tracking:
    """A parcel Kuaidi100 has no trace of yet (returnCode 500)."""
    return Tracking(carrier=carrier, number=number, provider="kuaidi100", raw_status=NO_RESULT)
