"""The shared router client: signed forms, result objects, errors from bodies, writes not re-sent."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses

from aftersales.errors import RemoteError, RemoteRejectedError, ResponseParseError, TransientError
from aftersales.http import ApiClient
from aftersales.router import RouterClient, unwrap

URL = "https://router.example.com/api/router"


def _reader(body: Any) -> RemoteError | None:
    if isinstance(body, dict) and "error_response" in body:
        return RemoteRejectedError("refused", code=str(body["error_response"].get("code")))
    return None


def _client() -> RouterClient:
    return RouterClient(ApiClient("demo", sleep=lambda s: None), URL, "s3cret", _reader)


def test_unwrap_takes_the_one_response_key_either_spelling() -> None:
    assert unwrap({"a_response": {"x": 1}}, adapter="d", method="m") == {"x": 1}
    assert unwrap({"jingdong_a_responce": {"x": 2}}, adapter="d", method="m") == {"x": 2}
    assert unwrap({"x": 3}, adapter="d", method="m", bare=True) == {"x": 3}
    with pytest.raises(ResponseParseError, match="m: the answer"):
        unwrap({"x": 3}, adapter="d", method="m")
    with pytest.raises(ResponseParseError):
        unwrap({"error_response": {}}, adapter="d", method="m", bare=True)
    with pytest.raises(ResponseParseError):
        unwrap(["a_response"], adapter="d", method="m")


@responses.activate
def test_the_form_is_signed_without_empty_values() -> None:
    seen: list[dict[str, str]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        seen.append(dict(parse_qsl(request.body)))
        return 200, {}, json.dumps({"demo_response": {"ok": True}})

    responses.add_callback(responses.POST, URL, callback=answer)
    assert _client().call("demo.get", {"b": "2", "a": "1", "empty": "", "none": None}) == {
        "ok": True}
    form = seen[0]
    assert set(form) == {"a", "b", "sign"}
    expected = hashlib.md5(b"s3creta1b2s3cret").hexdigest().upper()
    assert form["sign"] == expected


@responses.activate
def test_an_error_in_a_200_body_is_raised() -> None:
    responses.add(responses.POST, URL, json={"error_response": {"code": 7}})
    with pytest.raises(RemoteRejectedError) as info:
        _client().call("demo.get", {})
    assert info.value.code == "7"


@responses.activate
def test_a_write_is_not_sent_again_after_a_timeout() -> None:
    responses.add(responses.POST, URL, body=requests.exceptions.ReadTimeout("slow"))
    client = _client()
    with pytest.raises(TransientError):
        client.call("demo.write", {"a": "1"}, write=True)
    assert len(responses.calls) == 1
    with pytest.raises(TransientError):
        client.call("demo.read", {"a": "1"})
    assert len(responses.calls) == 1 + 4  # a read is retried
