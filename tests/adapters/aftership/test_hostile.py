"""Answers and webhooks AfterShip never documented, the way a broken gateway or an attacker
sends them.

Payloads are the documented ones (``get_tracking_response_2025-01`` and
``webhook_tracking_update``, after the Tracking API 2025-01 reference and
the webhook specification) with one thing broken. A bad tracking is that
number's error, never stored against the asked parcel; an unknown tag is an
exception, never delivered; ``meta`` errors are typed; nothing leaks.
"""

from __future__ import annotations

import copy
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from aftersales_aftership import AfterShipCarrier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from responses import matchers

from aftersales.errors import (
    AfterSalesError,
    AuthenticationError,
    RateLimitError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    SignatureError,
    ValidationError,
)
from aftersales.logistics.tracking import TrackAnswer
from aftersales.models import ParcelIssue, ParcelStatus, TrackQuery, TrackResult
from aftersales.signing import hmac_sha256_base64
from aftersales.testing import digest_comparisons

from .conftest import API_KEY, BASE, SECRET, compact, listing, load

LIST = f"{BASE}/trackings"
NUMBER = "9400111899223197428490"
ASKED = TrackQuery(number=NUMBER, carrier="usps")
PII = ("Alice Wong", "+1 415 555 0199", "42 Baker Street")


def _tracking(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = copy.deepcopy(load("get_tracking_response_2025-01")["data"])
    obj.update(changes)
    return obj


def _track(carrier: AfterShipCarrier, answer: Any, *queries: TrackQuery,
           created: Any = None, **reply: Any) -> list[TrackResult]:
    # A create is registered for the numbers a listing leaves out; not every answer needs it.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        if "body" in reply:
            mock.get(LIST, **reply)
        else:
            mock.get(LIST, json=answer, **reply)
        if created is not None:
            mock.post(LIST, json=created, status=201)
        return carrier.track(list(queries) or [ASKED])


def _one(carrier: AfterShipCarrier, obj: dict[str, Any]) -> TrackResult:
    [result] = _track(carrier, listing(obj))
    return result


@pytest.mark.parametrize(("tag", "subtag"), [
    ("Weird", "Weird_001"), ("Weird", None), ("delivered", None), ("Delivered ", "Zzz_001"),
])
def test_an_unknown_tag_is_an_exception_never_delivered(
        carrier: AfterShipCarrier, tag: str, subtag: str | None) -> None:
    tracking = _one(carrier, _tracking(tag=tag, subtag=subtag)).tracking
    assert tracking is not None
    assert (tracking.status, tracking.issue) == (ParcelStatus.EXCEPTION, ParcelIssue.OTHER)
    assert tracking.delivered_at is None


def test_an_unknown_subtag_falls_back_to_its_tag(carrier: AfterShipCarrier) -> None:
    tracking = _one(carrier, _tracking(tag="InTransit", subtag="InTransit_099")).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.IN_TRANSIT


def test_no_tag_at_all_is_pending(carrier: AfterShipCarrier) -> None:
    tracking = _one(carrier, _tracking(tag=None, subtag=None)).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.PENDING


def test_an_answer_for_another_courier_is_not_stored_against_the_asked_one(
        carrier: AfterShipCarrier) -> None:
    """Listed only under another courier, the number is created under the asked one
    (AfterShip keeps one tracking per number and slug); the other's is never read."""
    with responses.RequestsMock() as mock:  # strict: the create must be asked for usps
        mock.get(LIST, json=listing(_tracking(slug="fedex", tag="Delivered")))
        mock.post(LIST, json=load("create_tracking_response_2025-01"), status=201,
                  match=[matchers.json_params_matcher({"tracking_number": NUMBER,
                                                       "slug": "usps"})])
        [result] = carrier.track([ASKED])
    assert result.tracking is not None
    assert (result.tracking.carrier, result.tracking.status) == ("usps", ParcelStatus.PENDING)


def test_a_courier_aftership_detected_itself_is_the_asked_carrier(
        carrier: AfterShipCarrier) -> None:
    """Asked for a carrier AfterShip has no slug of ours for, it names its own slug."""
    query = TrackQuery(number=NUMBER, carrier="yunda")
    [result] = _track(carrier, listing(_tracking(slug="yunda-express")), query)
    assert result.tracking is not None
    assert result.tracking.carrier == "yunda"


def test_a_created_tracking_for_another_number_is_not_stored(carrier: AfterShipCarrier) -> None:
    created = {"meta": {"code": 201}, "data": _tracking(tracking_number="1Z999AA10123456784")}
    [result] = _track(carrier, listing(), created=created)
    assert result.tracking is None
    assert result.error_code == "mismatch"


def test_a_listed_tracking_for_another_number_is_ignored(carrier: AfterShipCarrier) -> None:
    created = {"meta": {"code": 201}, "data": _tracking(tag="Pending", subtag=None,
                                                         checkpoints=[])}
    [result] = _track(carrier, listing(_tracking(tracking_number="1Z999AA10123456784")),
                      created=created)
    assert result.tracking is not None
    assert result.tracking.status is ParcelStatus.PENDING


@pytest.mark.parametrize(("meta", "status", "kind"), [
    ({"code": 4004, "message": "Tracking does not exist.", "type": "NotFound"}, 200,
     RemoteNotFoundError),
    ({"code": 4004, "message": "Tracking does not exist.", "type": "NotFound"}, 404,
     RemoteNotFoundError),
    ({"code": 401, "message": "Invalid API key.", "type": "Unauthorized"}, 200,
     AuthenticationError),
    ({"code": 4005, "message": "The value of `tracking_number` is invalid."}, 200,
     RemoteRejectedError),
    ({"code": 4003, "message": "Tracking already exists."}, 400, RemoteRejectedError),
])
def test_meta_errors_are_typed_and_name_the_adapter(
        carrier: AfterShipCarrier, meta: dict[str, Any], status: int, kind: type[Exception]
) -> None:
    with pytest.raises(kind) as caught:
        _track(carrier, {"meta": meta, "data": {}}, status=status)
    assert str(caught.value).startswith("[aftership")
    assert getattr(caught.value, "code", None) == str(meta["code"])


@pytest.mark.parametrize(("headers", "wait"), [
    ({"Retry-After": "2"}, 2.0),
    ({"X-RateLimit-Reset": "5", "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0"}, 0.0),
    ({"X-RateLimit-Reset": "9" * 30}, 300.0),  # a reset centuries ahead: capped
    ({"X-RateLimit-Reset": "soon"}, None),
    ({}, None),
])
def test_429_reads_its_wait_from_the_headers_within_bounds(
        carrier: AfterShipCarrier, headers: dict[str, str], wait: float | None) -> None:
    with pytest.raises(RateLimitError) as caught:
        _track(carrier, load("error_429_too_many_requests"), status=429, headers=headers)
    assert caught.value.retry_after == wait
    assert str(caught.value).startswith("[aftership")


def test_429_with_a_near_reset_waits_until_it(carrier: AfterShipCarrier) -> None:
    reset = str(int(time.time()) + 30)
    with pytest.raises(RateLimitError) as caught:
        _track(carrier, load("error_429_too_many_requests"), status=429,
               headers={"X-RateLimit-Reset": reset})
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 30


@pytest.mark.parametrize("reply", [
    {"body": "<!DOCTYPE html><html><body>Service Unavailable</body></html>",
     "content_type": "text/html"},
    {"body": '{"meta":{"code":200},"data":{"trackings":[{"tracking_number":"94'},
    {"body": "null"},
])
def test_html_and_truncated_answers_are_parse_errors(
        carrier: AfterShipCarrier, reply: dict[str, Any]) -> None:
    with pytest.raises(ResponseParseError):
        _track(carrier, None, **reply)


@pytest.mark.parametrize("when", ["2999-01-01T00:00:00Z", "nonsense", "1970-01-01T00:00:00Z",
                                  "2025-02-30T10:00:00+00:00", -1, True])
def test_a_checkpoint_time_that_is_no_time_is_that_numbers_error(
        carrier: AfterShipCarrier, when: Any) -> None:
    obj = _tracking()
    obj["checkpoints"][1]["checkpoint_time"] = when
    result = _one(carrier, obj)
    assert result.tracking is None
    assert result.error_code == "invalid"
    assert "checkpoints[1].checkpoint_time" in str(result.error)


@pytest.mark.parametrize("when", [1740823320, "1740823320000", "2025-03-01T10:02:00Z",
                                  "2025-03-01T05:02:00-05:00", "2025-03-01T05:02:00"])
def test_checkpoint_times_in_other_forms_are_read_exactly(
        carrier: AfterShipCarrier, when: Any) -> None:
    """Naive times are the scan's local time (NEW YORK, NY: -05:00 in March)."""
    obj = _tracking()
    obj["checkpoints"][0]["checkpoint_time"] = when
    tracking = _one(carrier, obj).tracking
    assert tracking is not None
    assert tracking.events[0].time == datetime(2025, 3, 1, 10, 2, tzinfo=UTC)


def test_checkpoints_out_of_order_or_twice_come_out_ordered(carrier: AfterShipCarrier) -> None:
    obj = _tracking()
    obj["checkpoints"] = list(reversed(obj["checkpoints"])) * 2
    tracking = _one(carrier, obj).tracking
    assert tracking is not None
    times = [e.time for e in tracking.events]
    assert times == sorted(times)
    assert len(times) == len(set(times)) == len(_tracking()["checkpoints"])
    assert tracking.status is ParcelStatus.DELIVERED


def test_nul_bytes_and_100_kb_texts_do_not_break_the_answer(carrier: AfterShipCarrier) -> None:
    obj = _tracking()
    obj["checkpoints"][0]["location"] = "N" * 100_000
    obj["checkpoints"][0]["message"] = "Accepted\x00" * 12_000
    tracking = _one(carrier, obj).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.DELIVERED


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                 st.lists(st.integers(), max_size=2)))
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_value_of_any_field_is_read_or_refused_cleanly(
        carrier: AfterShipCarrier, value: Any) -> None:
    for field in ("tracking_number", "slug", "tag", "subtag", "checkpoints"):
        changes = {field: value} | ({"subtag": value} if field == "tag" else {})
        try:
            [result] = _track(carrier, listing(_tracking(**changes)),
                              created={"meta": {"code": 201}, "data": {}})
        except AfterSalesError as exc:
            said = str(exc)
            assert "\n" not in said
            continue
        if result.tracking is not None:
            assert result.tracking.number == NUMBER
            assert result.tracking.carrier == "usps"
            if field == "tag" and value != "Delivered":
                assert result.tracking.status is not ParcelStatus.DELIVERED


# ---------------------------------------------------------------- webhooks


def _hook(**msg: Any) -> dict[str, Any]:
    hook: dict[str, Any] = copy.deepcopy(load("webhook_tracking_update"))
    hook["msg"].update(msg)
    return hook


def _signed(hook: Any) -> tuple[bytes, dict[str, str]]:
    body = hook if isinstance(hook, bytes) else compact(hook)
    return body, {"aftership-hmac-sha256": hmac_sha256_base64(SECRET, body)}


def test_a_webhook_whose_signature_differs_in_any_way_is_refused(
        carrier: AfterShipCarrier) -> None:
    body, headers = _signed(_hook())
    good = headers["aftership-hmac-sha256"]
    for signature in ["", " ", good[:-2], good + "A", good.lower(), "é" * 44,
                      hmac_sha256_base64("othersecret", body),
                      hmac_sha256_base64(SECRET, body + b"\n"), good.rstrip("=")]:
        with pytest.raises(SignatureError):
            carrier.parse_push(body, {"aftership-hmac-sha256": signature})
    with pytest.raises(SignatureError):
        carrier.parse_push(body, {})


def test_webhook_signatures_are_compared_in_constant_time(carrier: AfterShipCarrier) -> None:
    with digest_comparisons() as seen, pytest.raises(SignatureError):
        carrier.parse_push(compact(_hook()), {"aftership-hmac-sha256": "A" * 44})
    assert seen


@pytest.mark.parametrize("number", ["", "  "])
def test_a_signed_webhook_without_a_number_is_refused(
        carrier: AfterShipCarrier, number: str) -> None:
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(*_signed(_hook(tracking_number=number)))
    assert caught.value.field == "msg.tracking_number"


def test_a_signed_webhook_with_a_time_that_is_no_time_is_refused_by_name(
        carrier: AfterShipCarrier) -> None:
    hook = _hook()
    hook["msg"]["checkpoints"][0]["checkpoint_time"] = "2999-01-01T00:00:00Z"
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(*_signed(hook))
    assert (caught.value.payload, caught.value.field) == (
        "aftership webhook", "checkpoints[0].checkpoint_time")


@pytest.mark.parametrize(("body", "field"), [
    (b'{"event":"tracking_update","msg":null}', "msg"),
    (b'{"event":"tracking_update","msg":{"tracking_number":null}}', "msg.tracking_number"),
    (b'{"event":"tracking_update","msg":{"tracking_number":"A","checkpoints":"x"}}',
     "msg.checkpoints"),
])
def test_a_signed_webhook_of_the_wrong_shape_is_refused_by_field(
        carrier: AfterShipCarrier, body: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(*_signed(body))
    assert caught.value.field == field


@pytest.mark.parametrize("body", [b"not json", b"[]", b'"x"', b"\x00", b"[" * 100_000])
def test_a_signed_body_that_is_no_webhook_is_refused(
        carrier: AfterShipCarrier, body: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(*_signed(body))
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------- nothing leaks


def test_no_key_phone_name_or_address_reaches_a_log_or_an_error(
        carrier: AfterShipCarrier, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    words = f"customer {PII[0]} phone {PII[1]} at {PII[2]}, as-api-key: {API_KEY}"
    texts: list[str] = []
    with pytest.raises(AuthenticationError) as caught:
        _track(carrier, {"meta": {"code": 401, "message": words}, "data": {}}, status=401)
    texts += [str(caught.value), caught.value.body or ""]
    obj = _tracking()
    obj["checkpoints"][0]["location"] = f"{PII[2]}, {PII[0]}"
    obj["checkpoints"][1]["checkpoint_time"] = f"{PII[1]}"
    [result] = _track(carrier, listing(obj))
    texts.append(str(result.error))
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        for secret in (API_KEY, SECRET, "Wong", "555 0199", "Baker"):
            assert secret not in text, (secret, text)


@pytest.mark.parametrize(("broken", "field"), [
    ({"checkpoints": "x"}, "data.trackings.0.checkpoints"),
    ({"tag": 5}, "data.trackings.0.tag"),
])
def test_one_malformed_tracking_is_that_numbers_error_not_the_listings(
        carrier: AfterShipCarrier, broken: dict[str, Any], field: str) -> None:
    other = "1Z999AA10123456784"
    queries = [ASKED, TrackQuery(number=other, carrier="ups")]
    first, second = _track(carrier, listing(_tracking(**broken),
                                            _tracking(tracking_number=other, slug="ups")),
                           *queries)
    assert (first.tracking, first.error_code) == (None, "invalid")
    assert f"field {field!r}" in str(first.error)
    assert second.tracking is not None
    assert second.tracking.status is ParcelStatus.DELIVERED


@pytest.mark.parametrize("bad", [
    {"slug": "usps"}, {"tracking_number": None}, {"tracking_number": ""},
    {"tracking_number": "  "}, {"tracking_number": 5}, "x", None,
], ids=["missing", "null", "empty", "blank", "not-text", "not-an-item", "null-item"])
def test_a_tracking_without_a_number_spoils_only_itself(
        carrier: AfterShipCarrier, bad: Any) -> None:
    other, gone = "1Z999AA10123456784", "9200190164917312751089"
    queries = [ASKED, TrackQuery(number=other, carrier="ups"), TrackQuery(number=gone)]
    answer = listing(_tracking(), bad, _tracking(tracking_number=other, slug="ups"))
    with responses.RequestsMock() as mock:  # strict: a create would be an unexpected call
        mock.get(LIST, json=answer)
        results = carrier.track(queries)
    first, second, third = results
    assert first.tracking is not None
    assert second.tracking is not None
    assert second.tracking.status is ParcelStatus.DELIVERED
    # the bad tracking may have been this one's: not created again and read as pending
    assert (third.tracking, third.error_code) == (None, "missing")
    assert isinstance(results, TrackAnswer)
    assert results.unowned == ("aftership trackings, field 'data.trackings.1.tracking_number': "
                               "item has no tracking number",)


@pytest.mark.parametrize("code", ["\n", "4\n004", "9" * 100_000, {"a": 1}, 4.5, True, "<b>"])
def test_a_meta_code_that_is_no_code_stays_out_of_the_error_text(
        carrier: AfterShipCarrier, code: Any) -> None:
    with pytest.raises(RemoteRejectedError) as caught:
        _track(carrier, {"meta": {"code": code, "message": "x"}, "data": {}}, status=400)
    said = str(caught.value)
    assert "\n" not in said
    assert len(said) < 200
    assert caught.value.code is None


@pytest.mark.parametrize("slug", ["u" * 200, "us\nps", "<b>usps</b>"])
def test_a_slug_that_is_no_slug_is_that_numbers_error(carrier: AfterShipCarrier, slug: str) -> None:
    result = _one(carrier, _tracking(slug=slug))
    assert (result.tracking, result.error_code) == (None, "invalid")
    assert "data.trackings.0.slug" in str(result.error)
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(*_signed(_hook(slug=slug)))
    assert caught.value.field == "msg.slug"


def test_a_created_tracking_of_the_wrong_shape_names_the_field_and_quotes_nothing(
        carrier: AfterShipCarrier) -> None:
    created = {"meta": {"code": 201}, "data": _tracking(checkpoints=[{"message": {"p": PII[1]}}])}
    with pytest.raises(ResponseParseError) as caught:
        _track(carrier, listing(), created=created)
    assert "checkpoints.0.message" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
