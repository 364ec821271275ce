"""``aftersales_douyin.sign`` against vectors the official SDK's own code computed,
and the construction checked independently of the adapter.

No published test vector was found in the official documentation or SDKs; the
vectors in ``fixtures/sign_vectors.json`` were computed by running the
official Go SDK's ``utils.Marshal`` and ``utils.Sign`` (see its ``_source``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from aftersales_douyin import sign
from aftersales_douyin.client import canonical_param_json, method_of
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import FIXTURES, _hmac_sha256, independent_json

VECTORS: list[dict[str, Any]] = json.loads(
    (FIXTURES / "sign_vectors.json").read_text("utf-8"))["vectors"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_official_sdk_vectors_from_text(v: dict[str, Any]) -> None:
    assert canonical_param_json(v["param_in"]) == v["param_json"]
    assert sign(v["app_key"], v["app_secret"], v["method"], v["param_in"],
                v["timestamp"]) == v["sign"]
    assert sign(v["app_key"], v["app_secret"], v["method"], v["param_in"],
                str(v["timestamp"]), v="2") == v["sign"]


@pytest.mark.parametrize("v", [v for v in VECTORS if "\\u" not in v["param_in"]],
                         ids=lambda v: v["name"])
def test_official_sdk_vectors_from_a_mapping(v: dict[str, Any]) -> None:
    mapping = json.loads(v["param_in"])
    assert sign(v["app_key"], v["app_secret"], v["method"], mapping, v["timestamp"]) == v["sign"]


def test_html_characters_and_chinese_are_not_escaped() -> None:
    text = canonical_param_json({"b": "<拆封> & 使用", "a": 1})
    assert text == '{"a":1,"b":"<拆封> & 使用"}'


def test_big_numbers_keep_their_spelling() -> None:
    assert canonical_param_json('{"m": 12345678901234567890, "f": 1.50}') == (
        '{"f":1.50,"m":12345678901234567890}')
    assert canonical_param_json({"amount": Decimal("19.90")}) == '{"amount":19.90}'


def test_floats_and_non_objects_are_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_param_json({"amount": 19.9})
    with pytest.raises(ValueError, match="object"):
        canonical_param_json("[1, 2]")
    with pytest.raises(ValueError, match="not JSON"):
        canonical_param_json("{oops")


def test_method_is_the_path_with_dots() -> None:
    assert method_of("/afterSale/List") == "afterSale.List"
    assert method_of("afterSale/rejectReasonCodeList") == "afterSale.rejectReasonCodeList"


def test_the_signature_is_the_hmac_of_the_documented_string() -> None:
    got = sign("k", "sec", "afterSale.Detail", {"after_sale_id": "1"}, 1700000000)
    text = ('secapp_keykmethodafterSale.Detailparam_json{"after_sale_id":"1"}'
            "timestamp1700000000v2sec")
    assert got == _hmac_sha256(b"sec", text.encode())


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _json, max_size=4))
def test_property_canonical_form_matches_an_independent_one(data: dict[str, Any]) -> None:
    """Every mapping, and its JSON text however spaced, canonicalises alike."""
    expected = independent_json(json.dumps(data))
    for short, long in (("\\b", "\\u0008"), ("\\f", "\\u000c"), ("\u2028", "\\u2028"),
                        ("\u2029", "\\u2029")):
        expected = expected.replace(short, long)  # Go's spelling of these characters
    if "\\\\" in json.dumps(data):
        return  # a literal backslash before b/f would be rewritten by the line above
    assert canonical_param_json(data) == expected
    assert canonical_param_json(json.dumps(data, indent=2)) == expected
