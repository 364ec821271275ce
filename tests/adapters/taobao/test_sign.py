"""The TOP signature: reference vectors, every reference request, and an independent signer."""

from __future__ import annotations

from typing import Any

import pytest
from aftersales_taobao import sign
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import FIXTURES, fx, independent_sign

VECTORS = fx("sign_vectors")
METHODS = ["md5", "hmac", "hmac-sha256"]


def test_official_example_from_the_top_documentation() -> None:
    ex = VECTORS["official_example"]
    assert sign(ex["params"], ex["secret"]) == ex["sign"] == "72CB4D809B375A54502C09360D879C64"


@pytest.mark.parametrize("method", METHODS)
def test_reference_vectors_for_each_method(method: str) -> None:
    vec = VECTORS["refunds_receive_get"][method]
    assert sign(vec["params"], vec["secret"], method) == vec["sign"]
    assert independent_sign(vec["params"], vec["secret"], method) == vec["sign"]


def _requests() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(FIXTURES.glob("*.json")):
        request = fx(path.stem).get("request")
        if request and "sign" in request.get("body_form", {}):
            out.append((path.stem, request))
    return out


@pytest.mark.parametrize(("name", "request_"), _requests(), ids=[n for n, _ in _requests()])
def test_every_reference_request_carries_the_sign_we_compute(
    name: str, request_: dict[str, Any]
) -> None:
    form = request_["body_form"]
    signing = request_["_signing"]
    assert sign(form, signing["secret"], signing["sign_method"]) == form["sign"]


def test_sign_and_empty_values_are_left_out() -> None:
    params = {"a": "1", "b": "", "sign": "WHATEVER"}
    assert sign(params, "s") == sign({"a": "1"}, "s")


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="sha1"):
        sign({"a": "1"}, "s", "sha1")


def test_digests_are_uppercase_hex_of_the_right_length() -> None:
    lengths = {m: len(sign({"a": "1"}, "s", m)) for m in METHODS}
    assert lengths == {"md5": 32, "hmac": 32, "hmac-sha256": 64}
    assert sign({"a": "1"}, "s").isupper()


keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
values = st.text(min_size=0, max_size=30)  # any unicode, empty included


@settings(max_examples=150, deadline=None)
@given(params=st.dictionaries(keys, values, max_size=8),
       secret=st.text(min_size=1, max_size=80), method=st.sampled_from(METHODS))
def test_matches_an_independent_implementation(
    params: dict[str, str], secret: str, method: str
) -> None:
    assert sign(params, secret, method) == independent_sign(params, secret, method)


@settings(max_examples=50, deadline=None)
@given(params=st.dictionaries(keys, st.text(min_size=1, max_size=10), min_size=1, max_size=6),
       method=st.sampled_from(METHODS))
def test_any_changed_value_changes_the_sign(params: dict[str, str], method: str) -> None:
    key = sorted(params)[0]
    changed = {**params, key: params[key] + "x"}
    assert sign(params, "secret", method) != sign(changed, "secret", method)
