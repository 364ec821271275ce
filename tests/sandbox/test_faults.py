"""Fault injection: the configured rates, deterministic, and never half an effect."""

from __future__ import annotations

from collections import Counter

import pytest

from aftersales.errors import RateLimitError, RemoteError, TransientError
from aftersales.models import ReturnStatus, TrackQuery
from aftersales.sandbox import Faults, SandboxCarrier, SandboxMarketplace

RATES = Faults(rate_limit=0.1, timeout=0.05, server_error=0.05, seed=11, retry_after=2.5)


def _outcome(exc: Exception | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, RateLimitError):
        return f"rate_limit/{exc.status}/{exc.retry_after}/{exc.retryable}"
    assert isinstance(exc, TransientError)
    kind = "server_error" if exc.status == 503 else "timeout"
    return f"{kind}/{exc.status}/{exc.retryable}"


def _outcomes(shop: SandboxMarketplace, calls: int) -> list[str]:
    out = []
    for _ in range(calls):
        failure: Exception | None = None
        try:
            shop.get_order("SO00000001")
        except RemoteError as exc:
            failure = exc
        out.append(_outcome(failure))
    return out


def test_faults_strike_at_the_configured_rates() -> None:
    shop = SandboxMarketplace(orders=10, faults=RATES)
    counts = Counter(_outcomes(shop, 4000))
    assert set(counts) == {"ok", "rate_limit/429/2.5/True", "timeout/None/True",
                           "server_error/503/True"}
    assert 330 <= counts["rate_limit/429/2.5/True"] <= 470  # 10 % of 4000, with room
    assert 150 <= counts["timeout/None/True"] <= 250  # 5 %
    assert 150 <= counts["server_error/503/True"] <= 250  # 5 %
    assert shop.faults_injected == Counter({k.split("/")[0]: v for k, v in counts.items()
                                            if k != "ok"})
    assert shop.calls["get_order"] == 4000


def test_the_same_fault_seed_fails_the_same_calls() -> None:
    first = _outcomes(SandboxMarketplace(orders=10, faults=RATES), 300)
    again = _outcomes(SandboxMarketplace(orders=10, faults=RATES), 300)
    other = _outcomes(SandboxMarketplace(orders=10, faults=Faults(rate_limit=0.1, timeout=0.05,
                                                                  server_error=0.05, seed=12,
                                                                  retry_after=2.5)), 300)
    assert first == again
    assert first != other


def test_no_faults_by_default() -> None:
    assert set(_outcomes(SandboxMarketplace(orders=10), 200)) == {"ok"}


def test_a_failed_action_has_no_effect() -> None:
    shop = SandboxMarketplace(orders=100, faults=Faults(server_error=1.0))
    clean = SandboxMarketplace(orders=100)
    request = next(r for p in clean.list_returns() for r in p.items
                   if r.status is ReturnStatus.REQUESTED)
    with pytest.raises(TransientError):
        shop.approve_return(request)
    assert shop.get_return(request.external_id or "").status is ReturnStatus.REQUESTED


def test_a_faulted_page_ends_the_listing_and_the_cursor_resumes_it() -> None:
    clean = SandboxMarketplace(seed=2, orders=60, page_size=7)
    everything = [o.external_id for p in clean.list_orders() for o in p.items]
    flaky = SandboxMarketplace(seed=2, orders=60, page_size=7,
                               faults=Faults(rate_limit=0.3, seed=5))
    got: list[str] = []
    cursor = None
    for _ in range(200):
        try:
            for page in flaky.list_orders(cursor):
                got.extend(o.external_id for o in page.items)
                cursor = page.cursor
            break
        except RemoteError:
            continue
    assert flaky.faults_injected["rate_limit"] > 0
    assert got == everything


def test_the_carrier_takes_the_same_faults() -> None:
    shop = SandboxMarketplace(orders=10)
    carrier = SandboxCarrier(clock=shop.clock, faults=Faults(timeout=1.0))
    with pytest.raises(TransientError, match="timed out"):
        carrier.track([TrackQuery(number="SF1234567890123")])
    assert carrier.calls == 1
    assert carrier.faults_injected["timeout"] == 1


@pytest.mark.parametrize("rates", [(-0.1, 0.0, 0.0), (0.0, 1.5, 0.0), (0.6, 0.0, 0.6)])
def test_impossible_rates_are_refused(rates: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="rate"):
        Faults(rate_limit=rates[0], timeout=rates[1], server_error=rates[2])
