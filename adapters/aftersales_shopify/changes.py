"""The ``returns/update`` webhook: a change set, not a whole return.

Shopify sends ``returns/update`` when line items or fees of a return are
modified or removed (developer changelog "Return Sales and Exchange APIs",
2024-04). Its body carries only the return's id and three change lists:

* ``return_line_items.removals``: ``{admin_graphql_api_id, delta}``, the
  quantity taken off one return line;
* ``restocking_fees`` and ``return_shipping_fees``, each with ``updates``
  and ``removals``.

That is the shape of Shopify's own sample for the topic (webhook reference,
API 2025-01; no later sample differs, checked 2026-12-02). The sample's fee
lists are empty, so the shape of one fee entry is not shown there: an entry
is read like the fees of ``returns/approve`` (``admin_graphql_api_id``,
``id``, ``price.shop_money``), and a fee entry without a price keeps
``amount=None``. No ``additions`` list is documented; a list the sample does
not show is not refused (that is how changes were lost before) but named in
:attr:`ReturnChanges.undocumented`, and reading the return applies it anyway.

The core's return lines are keyed by order line, while the change set names
Shopify's return lines, so the adapter applies the changes by reading the
return once (:meth:`ShopifyMarketplace.apply_returns_update`); the changes
themselves stay on the event for callers that keep Shopify's line ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aftersales.errors import ValidationError
from aftersales.money import Money
from aftersales.wire import WireCount, WireId, WireIntId, wire_amount, wire_id, wire_money

__all__ = ["FeeChange", "LineRemoval", "ReturnChanges", "WebhookReturnsUpdate", "changes_from"]

_PAYLOAD = "shopify returns/update webhook"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Delta(_Wire):
    admin_graphql_api_id: WireId
    delta: WireCount


class _LineChanges(_Wire):
    model_config = ConfigDict(extra="allow")

    removals: list[_Delta] = Field(default_factory=list)


class _FeeChanges(_Wire):
    model_config = ConfigDict(extra="allow")

    updates: list[dict[str, Any]] = Field(default_factory=list)
    removals: list[dict[str, Any]] = Field(default_factory=list)


class WebhookReturnsUpdate(_Wire):
    """The ``returns/update`` body: the return's id and what changed on it."""

    id: WireIntId | None = None
    admin_graphql_api_id: WireId | None = None
    return_line_items: _LineChanges = Field(default_factory=_LineChanges)
    restocking_fees: _FeeChanges = Field(default_factory=_FeeChanges)
    return_shipping_fees: _FeeChanges = Field(default_factory=_FeeChanges)

    @model_validator(mode="after")
    def _has_id(self) -> WebhookReturnsUpdate:
        if self.id is None and not self.admin_graphql_api_id:
            raise ValueError("the body names no return")
        return self


@dataclass(frozen=True)
class LineRemoval:
    """``quantity`` units taken off Shopify's return line ``return_line_id`` (a GID)."""

    return_line_id: str
    quantity: int


@dataclass(frozen=True)
class FeeChange:
    """A restocking or return-shipping fee that changed (``amount``: the new one, if sent)."""

    fee_id: str
    amount: Money | None = None


@dataclass(frozen=True)
class ReturnChanges:
    """Everything a ``returns/update`` webhook says changed on one return."""

    line_removals: tuple[LineRemoval, ...] = ()
    restocking_fee_updates: tuple[FeeChange, ...] = ()
    restocking_fee_removals: tuple[FeeChange, ...] = ()
    shipping_fee_updates: tuple[FeeChange, ...] = ()
    shipping_fee_removals: tuple[FeeChange, ...] = ()
    undocumented: tuple[str, ...] = ()

    def removed_quantity(self, return_line_id: str) -> int:
        """Units removed from one return line (0 when the change set does not name it)."""
        return sum(r.quantity for r in self.line_removals if r.return_line_id == return_line_id)


def _fee(entry: dict[str, Any], field: str) -> FeeChange:
    gid = entry.get("admin_graphql_api_id") or entry.get("id")
    if gid is None or gid == "":
        raise ValidationError("a fee change names no fee", field=field, payload=_PAYLOAD)
    try:
        fee_id = str(wire_id(gid))
    except ValueError:
        raise ValidationError("not a fee id", field=f"{field}.id", payload=_PAYLOAD) from None
    price = entry.get("price")
    shop = price.get("shop_money") if isinstance(price, dict) else None
    shop = shop if isinstance(shop, dict) else {}
    amount = None
    if shop.get("amount") is not None and shop.get("currency_code"):
        try:
            value = wire_amount(shop["amount"])
        except ValueError:
            raise ValidationError("not an amount", field=f"{field}.price",
                                  payload=_PAYLOAD) from None
        amount = wire_money(value, shop["currency_code"], field=f"{field}.price",
                            payload=_PAYLOAD)
    return FeeChange(fee_id=fee_id, amount=amount)


def _fees(changes: _FeeChanges, name: str) -> tuple[tuple[FeeChange, ...], tuple[FeeChange, ...]]:
    return (tuple(_fee(e, f"{name}.updates") for e in changes.updates),
            tuple(_fee(e, f"{name}.removals") for e in changes.removals))


def changes_from(hook: WebhookReturnsUpdate) -> ReturnChanges:
    """The typed change set of a parsed ``returns/update`` body.

    Raises:
        ValidationError: a fee entry without an id or with an unreadable price.
    """
    undocumented = tuple(
        f"{name}.{key}"
        for name, part in (("return_line_items", hook.return_line_items),
                           ("restocking_fees", hook.restocking_fees),
                           ("return_shipping_fees", hook.return_shipping_fees))
        for key in sorted(part.model_extra or {}))
    restock_up, restock_rm = _fees(hook.restocking_fees, "restocking_fees")
    ship_up, ship_rm = _fees(hook.return_shipping_fees, "return_shipping_fees")
    return ReturnChanges(
        line_removals=tuple(LineRemoval(d.admin_graphql_api_id, d.delta)
                            for d in hook.return_line_items.removals),
        restocking_fee_updates=restock_up, restocking_fee_removals=restock_rm,
        shipping_fee_updates=ship_up, shipping_fee_removals=ship_rm,
        undocumented=undocumented,
    )
