"""JD's own gateway error table, as error_response payloads, read by the adapter.

Each fixture carries a row of the JOS gateway error-code table (code, Chinese
and English description as JD publishes them); see each ``_source``.
"""

from __future__ import annotations

from typing import Any

import pytest
from aftersales_jd.client import error_from_body

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteRejectedError,
    TransientError,
)

from .conftest import NOW, FakeJdShop, FakeJos, body, fx, make_settings

PUBLISHED = [
    ("error_app_call_limited", "2", RateLimitError),
    ("error_invalid_timestamp", "8", RemoteRejectedError),
    ("error_missing_signature", "11", AuthenticationError),
    ("error_invalid_signature", "12", AuthenticationError),
    ("error_invalid_method", "15", RemoteRejectedError),
]


@pytest.mark.parametrize(("name", "code", "kind"), PUBLISHED)
def test_a_published_gateway_error_is_its_typed_error(
        name: str, code: str, kind: type[RemoteError]) -> None:
    assert "diansan.com/n/123725.htm" in fx(name)["_source"]
    error = error_from_body(body(name))
    assert type(error) is kind
    assert error.code == code
    assert body(name)["error_response"]["zh_desc"] in str(error)


@pytest.mark.parametrize("name", [n for n, _, k in PUBLISHED
                                  if k not in (RateLimitError, TransientError)])
def test_a_published_gateway_error_stops_a_live_listing(name: str, http: Any) -> None:
    from aftersales_jd import JdMarketplace

    jos = FakeJos(http)
    FakeJdShop(jos)
    jos.handle("jingdong.pop.afs.soa.refundapply.queryPageList", lambda p: body(name))
    market = JdMarketplace(make_settings(), clock=lambda: NOW)
    expected = {n: k for n, _, k in PUBLISHED}[name]
    with pytest.raises(expected) as info:
        list(market.list_returns())
    assert info.value.code == body(name)["error_response"]["code"]
