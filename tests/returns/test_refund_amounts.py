"""Hostile amounts through the API, the command line and bulk rows: one line, nothing written.

10.005 CNY (three decimals), 1.5 JPY (yen has none), NaN, 1e30, a negative
amount and another currency each get a one-line ValidationError naming the
field (and the row), and no refund row or payment exists afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from aftersales.amounts import check_amount
from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.errors import ValidationError
from aftersales.money import Money
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.returns import RefundRow

from .ledger_shop import LedgerShop, ledger_order

# (currency of the order, amount as typed, currency given, what the error says)
CASES = [
    pytest.param("CNY", "10.005", None, "more decimals than CNY allows (2)", id="3dp-CNY"),
    pytest.param("JPY", "1.5", None, "more decimals than JPY allows (0)", id="1dp-JPY"),
    pytest.param("CNY", "NaN", None, "not a finite amount", id="NaN"),
    pytest.param("CNY", "1e30", None, "beyond any plausible amount", id="1e30"),
    pytest.param("CNY", "-5.00", None, "more than zero", id="negative"),
    pytest.param("CNY", "10.00", "USD", "the order is in CNY, not USD", id="other-currency"),
]


@pytest.fixture
def shop_app(tmp_path: Path) -> Iterator[tuple[AfterSales, LedgerShop, dict[str, str]]]:
    shop = LedgerShop(tmp_path / "ledger.db")
    app = AfterSales(f"sqlite:///{tmp_path}/a.db", marketplaces=[shop], migrate=False)
    app.store.create_all()
    orders = [ledger_order("O-CNY", [("L1", 1, "100.00")]),
              ledger_order("O-JPY", [("L1", 1, "12000")], shipping="500", currency="JPY")]
    with app.store.session() as session:
        upsert_orders(session, orders)
    rmas = {}
    for order in orders:
        req = app.returns.request("ledger", order.external_id, {"L1": 1},
                                  reason="quality_issue", kind="refund_only",
                                  evidence=["photo.jpg"], force=True)
        app.returns.approve(req.rma_id or "", override=True)
        rmas[order.currency] = req.rma_id or ""
    yield app, shop, rmas
    app.close()


def _nothing_written(app: AfterSales, shop: LedgerShop) -> None:
    with app.store.session() as session:
        assert session.scalar(select(func.count()).select_from(RefundRow)) == 0
    assert shop.payments() == []


def _money(amount: str, currency: str) -> Money:
    # NaN cannot even be built as Money; a hostile caller can still hand one in.
    if amount == "NaN":
        return Money.model_construct(amount=Decimal("NaN"), currency=currency)
    return Money(amount, currency)


@pytest.mark.parametrize(("order_cur", "amount", "given", "says"), CASES)
def test_through_the_api(shop_app: Any, order_cur: str, amount: str, given: str | None,
                         says: str) -> None:
    app, shop, rmas = shop_app
    with pytest.raises(ValidationError, match="field 'amount'") as caught:
        app.returns.refund(rmas[order_cur], amount=_money(amount, given or order_cur))
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValidationError):
        app.returns.preview_refund(rmas[order_cur], amount=_money(amount, given or order_cur))
    _nothing_written(app, shop)


@pytest.mark.parametrize(("order_cur", "amount", "given", "says"),
                         [c for c in CASES if c.id != "other-currency"])
def test_through_the_cli(shop_app: Any, monkeypatch: pytest.MonkeyPatch, order_cur: str,
                         amount: str, given: str | None, says: str) -> None:
    app, shop, rmas = shop_app
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    result = CliRunner().invoke(main, ["returns", "refund", rmas[order_cur], "--amount",
                                       amount])
    assert result.exit_code == 2, result.output  # unusable input, whichever check refuses it
    assert "amount" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    _nothing_written(app, shop)


@pytest.mark.parametrize(("order_cur", "amount", "given", "says"), CASES)
def test_through_bulk_rows(shop_app: Any, order_cur: str, amount: str, given: str | None,
                           says: str) -> None:
    app, shop, rmas = shop_app
    row = {"action": "refund", "rma_id": rmas[order_cur], "amount": amount}
    if given:
        row["currency"] = given
    seen: list[Any] = []
    good = {"action": "refund", "rma_id": rmas["JPY" if order_cur == "CNY" else "CNY"]}
    summary = app.returns.bulk([row, good], on_outcome=seen.append)
    assert (summary.errors, summary.ok) == (1, 1)  # the bad row fails alone
    bad = seen[0]
    assert bad.outcome == "error"
    # a row's own currency cell is named when it is the one that is wrong
    assert ("'currency'" if given and given != order_cur else "amount") in bad.detail
    assert "\n" not in bad.detail
    if amount not in ("NaN", "-5.00", "1e30"):  # those are refused as the row is read
        assert says in bad.detail
    with app.store.session() as session:
        stored = session.scalars(select(RefundRow.rma_id)).all()
    assert stored == [good["rma_id"]]
    assert len(shop.payments()) == 1


def test_exact_amounts_with_trailing_zeros_are_accepted() -> None:
    assert check_amount("10.000", "CNY") == Money("10.00", "CNY")
    assert check_amount("1200.0", "JPY").amount == Decimal("1200")
    with pytest.raises(ValidationError, match="not an amount"):
        check_amount("ten", "CNY")
    with pytest.raises(ValidationError, match="float"):
        check_amount(1.5, "CNY")  # type: ignore[arg-type]
