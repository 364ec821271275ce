"""Answers and webhooks 17TRACK never documented, the way a broken gateway or an attacker
sends them.

Payloads are the documented ones (``gettrackinfo_response`` and
``webhook_tracking_updated``, after the Tracking API v2.2 reference) with one
thing broken. A bad answer for one number is that number's error, never a
tracking stored against it, and never the whole batch's; no unknown status
reads as delivered; no provider text leaks a phone, a name or the key.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from aftersales_seventeentrack import SeventeenTrackCarrier, webhook_sign
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales.errors import (
    AfterSalesError,
    AuthenticationError,
    RateLimitError,
    ResponseParseError,
    SignatureError,
    ValidationError,
)
from aftersales.logistics.tracking import TrackAnswer
from aftersales.models import ParcelIssue, ParcelStatus, TrackQuery, TrackResult
from aftersales.testing import digest_comparisons

from .conftest import BASE, TOKEN, compact, load

INFO = f"{BASE}/gettrackinfo"
NUMBER = "RR123456789CN"
ASKED = TrackQuery(number=NUMBER, carrier="chinapost")
PII = ("Alice Wong", "13800138000", "42 Baker Street")


def _item(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = copy.deepcopy(load("gettrackinfo_response")["data"]["accepted"][0])
    item.update(changes)
    return item


def _events(item: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = item["track_info"]["tracking"]["providers"][0]["events"]
    return events


def _envelope(*accepted: Any, rejected: Any = ()) -> dict[str, Any]:
    return {"code": 0, "data": {"accepted": list(accepted), "rejected": list(rejected)}}


def _track(carrier: SeventeenTrackCarrier, answer: Any, *queries: TrackQuery,
           **reply: Any) -> list[TrackResult]:
    with responses.RequestsMock() as mock:
        if "body" in reply:
            mock.post(INFO, **reply)
        else:
            mock.post(INFO, json=answer, **reply)
        return carrier.track(list(queries) or [ASKED])


def _one(carrier: SeventeenTrackCarrier, answer: Any) -> TrackResult:
    [result] = _track(carrier, answer)
    return result


@pytest.mark.parametrize(("status", "sub"), [
    ("Weird", "Weird_New"), ("Weird", None), (None, "Zzz"), ("delivered", None),
    ("Delivered ", None),
])
def test_an_unknown_status_is_an_exception_never_delivered(
        carrier: SeventeenTrackCarrier, status: str | None, sub: str | None) -> None:
    item = _item()
    item["track_info"]["latest_status"] = {"status": status, "sub_status": sub}
    tracking = _one(carrier, _envelope(item)).tracking
    assert tracking is not None
    assert (tracking.status, tracking.issue) == (ParcelStatus.EXCEPTION, ParcelIssue.OTHER)
    assert tracking.delivered_at is None


def test_an_unknown_sub_status_falls_back_to_its_main_status(
        carrier: SeventeenTrackCarrier) -> None:
    item = _item()
    item["track_info"]["latest_status"] = {"status": "InTransit", "sub_status": "InTransit_New"}
    tracking = _one(carrier, _envelope(item)).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.IN_TRANSIT


def test_a_number_the_answer_does_not_mention_is_an_error_not_pending(
        carrier: SeventeenTrackCarrier) -> None:
    """An answer for another number says nothing of the asked one: not "pending"."""
    other = _track(carrier, _envelope(_item(number="RR000000000CN")))
    nothing = _track(carrier, {"code": 0})
    for [result] in (other, nothing):
        assert result.tracking is None
        assert result.error_code == "missing"


def test_a_partial_batch_answers_each_number_for_itself(carrier: SeventeenTrackCarrier) -> None:
    queries = [TrackQuery(number=n) for n in ("AA1", "BB2", "CC3")]
    rejected = [{"number": "BB2", "error": {"code": -18019903, "message": "carrier?"}}]
    first, second, third = _track(carrier, _envelope(_item(number="AA1"), rejected=rejected),
                                  *queries)
    assert first.tracking is not None
    assert first.tracking.status is ParcelStatus.DELIVERED
    assert (second.tracking, second.error_code) == (None, "-18019903")
    assert (third.tracking, third.error_code) == (None, "missing")


@pytest.mark.parametrize(("broken", "field"), [
    ({"track_info": {"tracking": {"providers": [{"events": "x"}]}}},
     "data.accepted.0.track_info.tracking.providers.0.events"),
    ({"track_info": "x"}, "data.accepted.0.track_info"),
    ({"carrier": "UPS"}, "data.accepted.0.carrier"),
])
def test_one_malformed_item_is_that_numbers_error_not_the_batchs(
        carrier: SeventeenTrackCarrier, broken: dict[str, Any], field: str) -> None:
    queries = [TrackQuery(number="AA1"), TrackQuery(number="BB2")]
    first, second = _track(carrier, _envelope(_item(number="AA1", **broken),
                                              _item(number="BB2")), *queries)
    assert (first.tracking, first.error_code) == (None, "invalid")
    assert f"field {field!r}" in str(first.error)
    assert second.tracking is not None
    assert second.tracking.status is ParcelStatus.DELIVERED


NOT_FOUND = {"status": "NotFound", "sub_status": "NotFound_Other"}


@pytest.mark.parametrize("info", [
    {"latest_status": NOT_FOUND, "latest_event": None, "tracking": None},
    {"latest_status": NOT_FOUND, "latest_event": None, "tracking": {"providers": None}},
    {"latest_status": NOT_FOUND, "latest_event": None,
     "tracking": {"providers": [{"events": None}]}},
    {"latest_status": None, "latest_event": None, "tracking": {"providers": []}},
    {"latest_status": None, "latest_event": None, "tracking": None},
], ids=["tracking", "providers", "events", "latest_status", "all"])
def test_a_number_with_nothing_yet_sent_as_nulls_is_pending_not_invalid(
        carrier: SeventeenTrackCarrier, info: dict[str, Any]) -> None:
    """17TRACK v2.2 sends ``null`` for what it has nothing on yet (its reference's
    examples: ``latest_event``, an address's parts, a milestone's times): null is absent."""
    result = _one(carrier, _envelope(_item(track_info=info)))
    assert result.error is None
    assert result.tracking is not None
    assert result.tracking.status is ParcelStatus.PENDING
    assert result.tracking.events == []


@pytest.mark.parametrize("nulls", [{"errors": None}, {"rejected": None},
                                   {"errors": None, "rejected": None}])
def test_a_null_list_beside_the_accepted_items_is_an_empty_one(
        carrier: SeventeenTrackCarrier, nulls: dict[str, Any]) -> None:
    answer = _envelope(_item())
    answer["data"].update(nulls)
    tracking = _one(carrier, answer).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.DELIVERED


def test_null_events_of_one_provider_leave_the_others_scans(
        carrier: SeventeenTrackCarrier) -> None:
    item = _item()
    providers = item["track_info"]["tracking"]["providers"]
    providers.insert(0, {"provider": {"key": 3011}, "events": None})
    tracking = _one(carrier, _envelope(item)).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.DELIVERED
    assert len(tracking.events) == len(_events(_item()))


def test_a_malformed_envelope_chains_no_quoted_values(carrier: SeventeenTrackCarrier) -> None:
    with pytest.raises(ResponseParseError) as caught:
        _one(carrier, {"code": 0, "data": {"accepted": {"no_number": PII[1]}}})
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("bad", [
    {"no_number": PII[1]}, {"number": None}, {"number": ""}, {"number": "  "},
    {"number": 13800138000}, PII[1], None,
], ids=["missing", "null", "empty", "blank", "not-text", "not-an-item", "null-item"])
@pytest.mark.parametrize("where", ["accepted", "rejected"])
def test_an_item_without_a_number_spoils_only_itself(
        carrier: SeventeenTrackCarrier, bad: Any, where: str) -> None:
    queries = [TrackQuery(number="AA1"), TrackQuery(number="BB2"), TrackQuery(number="CC3")]
    if where == "accepted":
        answer = _envelope(_item(number="AA1"), bad, _item(number="BB2"))
        at = "data.accepted.1.number"
    else:
        answer = _envelope(_item(number="AA1"), _item(number="BB2"), rejected=[bad])
        at = "data.rejected.0.number"
    results = _track(carrier, answer, *queries)
    first, second, third = results
    assert first.tracking is not None
    assert second.tracking is not None
    assert second.tracking.status is ParcelStatus.DELIVERED
    # the bad item may have been CC3's: no answer for it, never a pending tracking
    assert (third.tracking, third.error_code) == (None, "missing")
    assert isinstance(results, TrackAnswer)
    [said] = results.unowned
    assert said == f"17track gettrackinfo, field {at!r}: item has no tracking number"
    assert PII[1] not in said


def test_one_malformed_rejection_is_that_numbers_error(carrier: SeventeenTrackCarrier) -> None:
    queries = [TrackQuery(number="AA1"), TrackQuery(number="BB2")]
    rejected = [{"number": "AA1", "error": {"code": "x", "message": 5}}]
    first, second = _track(carrier, _envelope(_item(number="BB2"), rejected=rejected), *queries)
    assert (first.tracking, first.error_code) == (None, "invalid")
    assert second.tracking is not None


@pytest.mark.parametrize("key", [100003, 999999])
def test_an_answer_for_another_carrier_is_not_stored_against_the_asked_one(
        carrier: SeventeenTrackCarrier, key: int) -> None:
    result = _one(carrier, _envelope(_item(carrier=key)))
    assert result.tracking is None
    assert result.error_code == "mismatch"


def test_a_carrier_17track_detected_itself_is_kept(carrier: SeventeenTrackCarrier) -> None:
    [result] = _track(carrier, _envelope(_item(carrier=999999)), TrackQuery(number=NUMBER))
    assert result.tracking is not None


@pytest.mark.parametrize("error", [None, {}, {"message": "x"}])
def test_a_rejection_without_a_proper_error_is_that_numbers_error(
        carrier: SeventeenTrackCarrier, error: Any) -> None:
    result = _one(carrier, _envelope(rejected=[{"number": NUMBER, "error": error}]))
    assert result.tracking is None
    assert result.error


def test_a_rejection_message_is_masked_one_line_and_short(
        carrier: SeventeenTrackCarrier) -> None:
    words = f"carrier needs phone {PII[1]} of recipient {PII[0]}\n" + "x" * 100_000
    rejected = [{"number": NUMBER, "error": {"code": -18010020, "message": words}}]
    result = _one(carrier, _envelope(rejected=rejected))
    assert result.error is not None
    assert PII[1] not in result.error
    assert "Wong" not in result.error
    assert "\n" not in result.error
    assert len(result.error) <= 200


@pytest.mark.parametrize(("answer", "kind"), [
    ({"code": -18010002, "data": {"errors": [{"code": -18010002, "message": "bad key"}]}},
     AuthenticationError),
    ({"code": -18019907, "data": None}, RateLimitError),
    ({"code": "abc"}, ResponseParseError),
    ({"code": -1.5}, ResponseParseError),
    ({"code": True}, ResponseParseError),
    ({"code": 0, "data": {"errors": [{"code": "x"}]}}, ResponseParseError),
])
def test_request_errors_are_typed_and_never_a_raw_exception(
        carrier: SeventeenTrackCarrier, answer: Any, kind: type[Exception]) -> None:
    with pytest.raises(kind) as caught:
        _one(carrier, answer)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("code", [-18010013, -18010003, -18019999])
def test_a_request_errors_message_is_one_short_masked_line(
        carrier: SeventeenTrackCarrier, code: int) -> None:
    words = f"bad data\nphone {PII[1]}\n" + "x" * 100_000
    answer = {"code": code, "data": {"errors": [{"code": code, "message": words}]}}
    with pytest.raises(AfterSalesError) as caught:
        _one(carrier, answer)
    said = str(caught.value)
    assert "\n" not in said
    assert PII[1] not in said
    assert len(said) < 300


@pytest.mark.parametrize("reply", [
    {"body": "<html><body>502 Bad Gateway</body></html>", "content_type": "text/html"},
    {"body": '{"code":0,"data":{"accepted":[{"number":"RR1'},
    {"body": "[]"},
])
def test_html_and_truncated_answers_are_parse_errors(
        carrier: SeventeenTrackCarrier, reply: dict[str, Any]) -> None:
    with pytest.raises(ResponseParseError):
        _track(carrier, None, **reply)


@pytest.mark.parametrize("time_utc", ["2999-01-01T00:00:00Z", "nonsense", "1970-01-01T00:00:00Z",
                                      "2024-02-30T10:00:00Z", -5, True])
def test_a_scan_time_that_is_no_time_is_that_numbers_error(
        carrier: SeventeenTrackCarrier, time_utc: Any) -> None:
    item = _item()
    _events(item)[1]["time_utc"] = time_utc
    result = _one(carrier, _envelope(item))
    assert result.tracking is None
    assert result.error_code == "invalid"
    assert "events[1].time_utc" in str(result.error)


@pytest.mark.parametrize("value", [1714551000, "1714551000", "1714551000000",
                                   "2024-05-01T08:10:00Z", "2024-05-01T10:10:00+02:00"])
def test_scan_times_in_other_forms_are_read_exactly(
        carrier: SeventeenTrackCarrier, value: Any) -> None:
    item = _item()
    _events(item)[1]["time_utc"] = value
    tracking = _one(carrier, _envelope(item)).tracking
    assert tracking is not None
    assert datetime(2024, 5, 1, 8, 10, tzinfo=UTC) in [e.time for e in tracking.events]


def test_a_local_time_without_offset_is_read_in_the_scans_zone(
        carrier: SeventeenTrackCarrier) -> None:
    item = _item()
    event = _events(item)[0]  # BERLIN, DE; 14:34 local is 12:34 UTC in May
    event["time_utc"] = None
    event["time_iso"] = "2024-05-10T14:34:00"
    tracking = _one(carrier, _envelope(item)).tracking
    assert tracking is not None
    latest = tracking.events[-1]
    assert latest.time == datetime(2024, 5, 10, 12, 34, tzinfo=UTC)
    assert latest.time_inferred


def test_scans_out_of_order_or_twice_come_out_ordered(carrier: SeventeenTrackCarrier) -> None:
    item = _item()
    events = _events(item)
    events[:] = list(reversed(events)) + events[:1]
    tracking = _one(carrier, _envelope(item)).tracking
    assert tracking is not None
    times = [e.time for e in tracking.events]
    assert times == sorted(times)
    assert len(times) == len(set(times))


def test_nul_bytes_and_100_kb_texts_do_not_break_the_answer(
        carrier: SeventeenTrackCarrier) -> None:
    item = _item()
    _events(item)[0]["location"] = "B" * 100_000
    _events(item)[0]["description"] = "Item\x00delivered" * 8_000
    tracking = _one(carrier, _envelope(item)).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.DELIVERED


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                 st.lists(st.integers(), max_size=2)))
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_value_of_any_field_is_read_or_refused_cleanly(
        carrier: SeventeenTrackCarrier, value: Any) -> None:
    for path in (("number",), ("carrier",), ("track_info",), ("track_info", "latest_status"),
                 ("track_info", "latest_status", "status"), ("track_info", "tracking")):
        item = _item()
        target = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        try:
            [result] = _track(carrier, _envelope(item))
        except AfterSalesError as exc:
            said = str(exc)
            assert "\n" not in said
            continue
        if result.tracking is not None:
            assert result.tracking.number == NUMBER
            assert result.tracking.carrier == "chinapost"


# ---------------------------------------------------------------- webhooks


def _hook(**changes: Any) -> dict[str, Any]:
    hook: dict[str, Any] = copy.deepcopy(load("webhook_tracking_updated"))
    hook["data"].update(changes)
    return hook


def _signed(hook: Any) -> tuple[bytes, dict[str, str]]:
    body = hook if isinstance(hook, bytes) else compact(hook)
    return body, {"sign": webhook_sign(body, TOKEN)}


def test_a_webhook_whose_sign_differs_in_any_way_is_refused(
        carrier: SeventeenTrackCarrier) -> None:
    body, headers = _signed(_hook())
    good = headers["sign"]
    for sign in ["", " ", good[:-1], good + "0", "é" * 64, "0" * 64,
                 webhook_sign(body, "OTHERKEY"), webhook_sign(body + b" ", TOKEN)]:
        with pytest.raises(SignatureError):
            carrier.parse_push(body, {"sign": sign})
    with pytest.raises(SignatureError):
        carrier.parse_push(body, {})


def test_webhook_signatures_are_compared_in_constant_time(
        carrier: SeventeenTrackCarrier) -> None:
    with digest_comparisons() as seen, pytest.raises(SignatureError):
        carrier.parse_push(compact(_hook()), {"sign": "0" * 64})
    assert seen


@pytest.mark.parametrize("number", ["", "   "])
def test_a_signed_webhook_without_a_number_is_refused(
        carrier: SeventeenTrackCarrier, number: str) -> None:
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(*_signed(_hook(number=number)))
    assert caught.value.field == "data.number"


def test_a_signed_webhook_with_a_time_that_is_no_time_is_refused_by_name(
        carrier: SeventeenTrackCarrier) -> None:
    hook = _hook()
    hook["data"]["track_info"]["tracking"]["providers"][0]["events"][0]["time_utc"] = (
        "2999-01-01T00:00:00Z")
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(*_signed(hook))
    assert caught.value.payload == "17track webhook"
    assert caught.value.field is not None
    assert caught.value.field.endswith("events[0].time_utc")


def test_a_signed_webhook_with_nothing_yet_sent_as_nulls_is_a_pending_parcel(
        carrier: SeventeenTrackCarrier) -> None:
    hook = _hook(track_info={"latest_status": None, "latest_event": None,
                             "tracking": {"providers": [{"events": None}]}})
    [tracking] = carrier.parse_push(*_signed(hook))
    assert (tracking.status, tracking.events) == (ParcelStatus.PENDING, [])


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"event": "TRACKING_UPDATED"}',
                                  b'{"event":"TRACKING_UPDATED","data":{"number":null}}',
                                  b'{"event":"TRACKING_UPDATED","data":{"number":"A",'
                                  b'"track_info":"x"}}', b"\x00" * 10, b"{" * 10_000])
def test_a_signed_body_that_is_no_webhook_is_refused_without_its_values(
        carrier: SeventeenTrackCarrier, body: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(*_signed(body))
    assert "\n" not in str(caught.value)
    assert caught.value.__cause__ is None  # pydantic's text quotes the payload's values


# ---------------------------------------------------------------- nothing leaks


def test_no_key_phone_or_name_reaches_a_log_or_an_error(
        carrier: SeventeenTrackCarrier, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    words = f"recipient {PII[0]} phone {PII[1]} at {PII[2]} token {TOKEN}"
    texts: list[str] = []
    rejected = [{"number": NUMBER, "error": {"code": -18010020, "message": words}}]
    [result] = _track(carrier, _envelope(rejected=rejected))
    texts.append(str(result.error))
    failing = {"code": -18010013, "data": {"errors": [{"code": -18010013, "message": words}]}}
    with pytest.raises(AfterSalesError) as caught:
        _track(carrier, failing)
    texts += [str(caught.value), str(getattr(caught.value, "body", ""))]
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        for secret in (TOKEN, PII[1], "Wong", "Baker"):
            assert secret not in text, (secret, text)


def test_the_events_of_an_answer_are_never_logged(
        carrier: SeventeenTrackCarrier, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    item = _item()
    _events(item)[0]["location"] = f"{PII[2]}, {PII[0]}, {PII[1]}"
    _one(carrier, _envelope(item))
    logged = json.dumps([r.getMessage() for r in caplog.records])
    assert "Baker" not in logged
    assert PII[1] not in logged
