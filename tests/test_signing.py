"""Base64 HMAC-SHA256 signatures: the shared check behind Shopify and WooCommerce webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.signing import hmac_sha256_base64, verify_hmac_sha256_base64

# The Shopify reference vector (marketplaces.md §1.8).
BODY = (b'{"id":3547267221,"admin_graphql_api_id":"gid://shopify/Return/3547267221",'
        b'"status":"requested","order":{"id":5196695273621,"admin_graphql_api_id":'
        b'"gid://shopify/Order/5196695273621"},"total_return_line_items":1,"name":"#1106-R2"}')
SIGNATURE = "kpvoDT3Q6f8v7xr/Krjp3AH4PvhqFDANjXIWY9KWXCo="


def test_reference_vector() -> None:
    assert hmac_sha256_base64("hush", BODY) == SIGNATURE
    assert verify_hmac_sha256_base64(BODY, SIGNATURE, "hush")
    assert verify_hmac_sha256_base64(BODY, SIGNATURE, b"hush")


@pytest.mark.parametrize("signature", [None, "", "   ", "not-base64", SIGNATURE[:-2] + "=="])
def test_missing_or_wrong_signatures_fail(signature: str | None) -> None:
    assert not verify_hmac_sha256_base64(BODY, signature, "hush")


def test_an_empty_secret_never_verifies() -> None:
    assert not verify_hmac_sha256_base64(BODY, hmac_sha256_base64("", BODY), "")


def test_a_non_canonical_spelling_of_the_right_digest_is_refused() -> None:
    # 'o' and 'p' differ only in the two unused bits of the last base64 digit
    variant = SIGNATURE[:-2] + "p="
    assert base64.b64decode(variant) == base64.b64decode(SIGNATURE)
    assert not verify_hmac_sha256_base64(BODY, variant, "hush")


@given(body=st.binary(max_size=200), secret=st.text(min_size=1, max_size=40))
def test_matches_the_standard_library(body: bytes, secret: str) -> None:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    assert hmac_sha256_base64(secret, body) == expected
    assert verify_hmac_sha256_base64(body, f" {expected} ", secret)


def test_md5_wrapped_sign_matches_the_platforms_worked_examples() -> None:
    """Pinduoduo's and JD's developer guides each publish one signed example."""
    from aftersales.signing import md5_wrapped_sign

    pdd = {"access_token": "asd78172s8ds9a921j9qqwda12312w1w21211", "client_id": "1",
           "data_type": "XML", "type": "pdd.order.number.list.get", "timestamp": "1480411125",
           "order_status": "1", "page": "1", "page_size": "10"}
    assert md5_wrapped_sign(pdd, "testSecret") == "E4DE3ED21002510DED352819E7AE6775"
    jd = {"360buy_param_json": '{"end_date":null,"optional_fields":null,"order_state":'
                               '"WAIT_SELLER_STOCK_OUT","page":"1","page_size":"200",'
                               '"start_date":null}',
          "access_token": "yourtoken", "app_key": "yourappkey",
          "method": "jingdong.pop.order.search", "timestamp": "2021-05-07 09:20:39.683+0800",
          "v": "2.0"}
    assert md5_wrapped_sign(jd, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"


def test_md5_wrapped_sign_leaves_out_sign_and_empty_values() -> None:
    from aftersales.signing import md5_wrapped_sign, sorted_pairs

    assert sorted_pairs({"b": "2", "a": "1", "sign": "X", "c": "", "d": None}) == "a1b2"
    assert md5_wrapped_sign({"a": "1", "sign": "X"}, "s") == md5_wrapped_sign({"a": "1"}, "s")


# A lone surrogate reaches Python from a JSON-escaped header (a serverless
# event: "\udcff"); bytes and numbers from a framework's raw header mapping.
HOSTILE = ["\udcff", "\ud800" + SIGNATURE, "é" * 44, "\x00", b"\xff\xfe", 12345, ["a"]]


@pytest.mark.parametrize("signature", HOSTILE)
def test_a_garbage_signature_is_false_never_a_crash(signature: object) -> None:
    from aftersales.signing import hexdigest_matches

    assert not verify_hmac_sha256_base64(BODY, signature, "hush")  # type: ignore[arg-type]
    assert not hexdigest_matches(signature, "ABCDEF0123")  # type: ignore[arg-type]

