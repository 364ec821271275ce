"""``PinduoduoMarketplace``: Pinduoduo (拼多多) shops through the open platform router.

API names, parameters, statuses and types checked against the platform's
API reference as the official SDKs' request and response classes carry it
(``com.pdd.pop.sdk``), on 2026-12-02. The platform offers no API to refuse
an after-sales request, to read or answer reviews, or to message a buyer;
those capabilities are not declared.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from aftersales.adapter_setup import ClientMarketplace
from aftersales.asked_refunds import check_asked
from aftersales.errors import (
    ConfigurationError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
    ValidationError,
)
from aftersales.interfaces import Capability
from aftersales.logistics.carrier_names import carrier_for_name
from aftersales.models import (
    Order,
    Page,
    Refund,
    ReturnKind,
    ReturnRequest,
    Shipment,
    ShipmentDirection,
)
from aftersales.paging import (
    Watermark,
    window_newest_first,
    windowed_pages,
)
from aftersales_pinduoduo import mapping
from aftersales_pinduoduo.client import PinduoduoClient
from aftersales_pinduoduo.schemas import PddOrder, PddRefundDetail, read
from aftersales_pinduoduo.settings import PinduoduoSettings

__all__ = ["PinduoduoMarketplace"]

def _result(body: dict[str, Any]) -> dict[str, Any]:
    """The ``result`` object of a write's answer (the answer itself when it has none)."""
    inner = body.get("result")
    return inner if isinstance(inner, dict) else body


def _request(after_sales_id: str, order_sn: str, **more: Any) -> dict[str, Any]:
    """The ``request`` object the after-sales writes take (``after_sales_id`` a Long)."""
    return {"request": {"after_sales_id": int(after_sales_id) if after_sales_id.isdigit()
                        else after_sales_id, "order_sn": order_sn, **more}}


def _answer(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(``response``, its ``result``) of an after-sales write's answer.

    The official SDKs read these writes' answers as ``response{result{…}}``
    (``PddRefundAgreeResponse``, ``PddRefundReturngoodsAgreeResponse``,
    ``PddRefundExchangeShippingResponse``); a ``*_response`` wrapper is read
    the same way.
    """
    inner = body.get("response")
    outer = inner if isinstance(inner, dict) else body
    return outer, _result(outer)


_EXCHANGE_SHIPPING = "pdd.refund.exchange.shipping"
#: The order listing and detail reach three months back.
_ORDER_HORIZON = timedelta(days=90)


class PinduoduoMarketplace(ClientMarketplace[PinduoduoSettings, PinduoduoClient]):
    """Pinduoduo open platform (router API ``V1``).

    Docs: https://open.pinduoduo.com (API reference per ``type`` below).
    Alias ``pinduoduo``. Capabilities:

    * ``list_returns``: pdd.refund.list.increment.get, every status and type,
      by update time in windows of at most 30 minutes, each window's pages
      read from the last back (the platform's advice against missed records);
    * ``approve_return``: pdd.refund.returngoods.agree for a return of goods
      (with the shop's ``return_address_id``); a refund-only request has no
      separate approval (agreeing *is* paying), so approving one only checks
      it still awaits the shop;
    * ``refund``: pdd.refund.agree, paid once: the state is read
      (pdd.refund.information.get) before the agree and before any repeat;
    * ``list_orders`` / ``get_order``: pdd.order.number.list.increment.get and
      pdd.order.information.get (the last three months);
    * ``list_shipments``: the order's outbound tracking number;
    * ``ship_exchange``: pdd.refund.exchange.shipping (商家换货发货) with the
      carrier's id from pdd.logistics.companies.get; the state is read
      first, so a repeat after a lost answer sends nothing.

    Not supported, because the platform has no such call: refusing a
    request (refusals are made in the seller console, 商家后台), reviews,
    buyer messages. pdd.refund.status.check (:meth:`orders_with_after_sales`)
    tells which orders have after-sales at all.
    """

    name = "pinduoduo"
    settings_class = PinduoduoSettings
    client_class = PinduoduoClient
    pays_asked: ClassVar[bool] = True  # pdd.refund.agree takes no amount
    capabilities: frozenset[Capability] = frozenset({
        Capability.LIST_ORDERS,
        Capability.GET_ORDER,
        Capability.LIST_RETURNS,
        Capability.APPROVE_RETURN,
        Capability.REFUND,
        Capability.LIST_SHIPMENTS,
        Capability.SHIP_EXCHANGE,
    })
    raw_return_statuses: ClassVar[tuple[str, ...]] = tuple(str(c) for c in mapping.STATUSES)
    return_status_table: ClassVar[dict[str, Any]] = {
        str(code): status for code, status in mapping.STATUSES.items()}

    # ------------------------------------------------------------------ listings

    def _listing(self, api_type: str, extra: dict[str, Any], cursor: str | None,
                 parse: Callable[[dict[str, Any], str], tuple[list[Any], int | None]],
                 stamp: Callable[[Any], tuple[datetime, str]],
                 lookback: timedelta) -> Iterator[Page[Any]]:
        s = self.settings
        start = Watermark.from_cursor(cursor, adapter=self.name)

        def window(since: datetime, until: datetime) -> list[Any]:
            def fetch(page: int) -> tuple[list[Any], int | None]:
                body = self.client.call(api_type, {
                    **extra, "start_updated_at": int(since.timestamp()),
                    "end_updated_at": int(until.timestamp()), "page": page,
                    "page_size": s.page_size})
                return parse(body, self.name)
            return window_newest_first(fetch, s.page_size, stamp)

        return windowed_pages(start, window, stamp, clock=self.clock, lag=s.lag,
                              lookback=lookback, width=s.window, size=s.page_size)

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """After-sales orders changed after ``cursor``, oldest change first.

        Each is completed from pdd.refund.information.get (the list does not
        carry them): the stage the order had reached (未发货 or not), the
        platform's deadline while the shop has to answer, the buyer's
        pictures and note.
        """
        def parse(body: dict[str, Any], store: str) -> tuple[list[ReturnRequest], int | None]:
            found, total = mapping.refunds_page(body, store)
            return [self._completed(r) for r in found], total

        return self._listing("pdd.refund.list.increment.get",
                             {"after_sales_status": 1, "after_sales_type": 1}, cursor,
                             parse, mapping.request_stamp, self.settings.lookback)

    def _completed(self, request: ReturnRequest) -> ReturnRequest:
        try:
            return mapping.with_detail(request, self.fetch_detail(request))
        except RemoteNotFoundError:
            return request  # no detail to add: the listed record stands as it is

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        """Orders changed after ``cursor`` (every shipping and after-sales state)."""
        return self._listing("pdd.order.number.list.increment.get",
                             {"is_lucky_flag": 0, "order_status": 5, "refund_status": 5}, cursor,
                             mapping.orders_page, mapping.order_stamp,
                             min(self.settings.lookback, _ORDER_HORIZON))

    def get_order(self, order_id: str) -> Order:
        """One order with its SKU lines (pdd.order.information.get)."""
        body = self.client.call("pdd.order.information.get", {"order_sn": order_id})
        info = body.get("order_info")
        if not info:
            raise RemoteNotFoundError(f"no order {order_id}", adapter=self.name)
        return mapping.to_order(read(PddOrder, info, payload="pdd.order.information.get"),
                                self.name)

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """The order's outbound parcel (empty before it ships)."""
        return self.get_order(order_id).shipments

    def orders_with_after_sales(self, order_ids: Sequence[str]) -> set[str]:
        """Which of ``order_ids`` have after-sales orders (pdd.refund.status.check)."""
        body = self.client.call("pdd.refund.status.check", {"order_sns": ",".join(order_ids)})
        found = body.get("order_sns_exists_refund") or []
        if not isinstance(found, list):
            raise ValidationError("not a list", field="order_sns_exists_refund",
                                  payload="pdd.refund.status.check")
        return {str(item["order_sn"]) for item in found
                if isinstance(item, dict) and item.get("order_sn") not in (None, "")}

    # ------------------------------------------------------------------ actions

    def _ids(self, request: ReturnRequest) -> tuple[str, str]:
        if not request.external_id:
            raise ValidationError(
                "a Pinduoduo action needs the after-sales id (external_id) of the request",
                field="external_id", payload="pinduoduo return request")
        return request.external_id, request.order_id

    def fetch_detail(self, request: ReturnRequest) -> PddRefundDetail:
        """The after-sales order as Pinduoduo holds it now (pdd.refund.information.get)."""
        after_sales_id, order_sn = self._ids(request)
        body = self.client.call("pdd.refund.information.get",
                                {"after_sales_id": after_sales_id, "order_sn": order_sn},
                                bare=True)
        if "after_sales_status" not in body:
            raise RemoteNotFoundError(f"no after-sales order {after_sales_id}", adapter=self.name)
        detail = read(PddRefundDetail, body, payload="pdd.refund.information.get")
        if detail.id != after_sales_id or detail.order_sn != order_sn:
            # acting on another after-sales order's state could pay the wrong one
            raise ResponseParseError(
                f"pdd.refund.information.get answered for another after-sales order than "
                f"{after_sales_id}", adapter=self.name)
        return detail

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """Agree the return of goods; for a refund-only request, check it awaits the shop."""
        fresh = self.fetch_detail(request)
        code = fresh.after_sales_status
        kind = mapping.detail_kind(fresh) or request.kind
        if code == 7 or code in mapping.PAID or (code == 2 and kind is ReturnKind.REFUND_ONLY):
            return  # already agreed, or nothing to agree before paying
        if code == 3 and fresh.express_no:
            return  # the goods are on their way back: the refund agree comes next
        if code != 3:
            raise RemoteRejectedError(
                f"after-sales status {code} cannot be approved", adapter=self.name)
        if not self.settings.return_address_id:
            raise ConfigurationError(
                "agreeing a return needs the shop's return address id: set "
                "PinduoduoSettings(return_address_id=...) or PINDUODUO_RETURN_ADDRESS_ID")
        body = self.client.call("pdd.refund.returngoods.agree", _request(
            fresh.id, fresh.order_sn, operate_desc=note or "同意退货",
            return_address_id=self.settings.return_address_id), write=True, bare=True)
        outer, result = _answer(body)
        if result.get("success") is False or outer.get("success") is False:
            raise RemoteRejectedError(
                f"return not agreed: {result.get('message') or outer.get('error_msg') or ''}",
                adapter=self.name)

    def _shipping_company(self, carrier: str | None) -> tuple[int, str]:
        """(id, name) of the carrier among pdd.logistics.companies.get's available ones."""
        if not carrier:
            raise ValidationError("Pinduoduo wants the carrier of the replacement parcel",
                                  field="carrier", payload=_EXCHANGE_SHIPPING)
        body = self.client.call("pdd.logistics.companies.get", {})
        companies = body.get("logistics_companies") or []
        if not isinstance(companies, list):
            raise ValidationError("not a list", field="logistics_companies",
                                  payload="pdd.logistics.companies.get")
        for company in companies:
            if not isinstance(company, dict) or company.get("available") == 0:
                continue
            name = str(company.get("logistics_company") or "")
            if carrier_for_name(name) == carrier and str(company.get("id") or "").isdigit():
                return int(str(company["id"])), name
        raise ValidationError(f"Pinduoduo lists no available carrier {carrier!r}",
                              field="carrier", payload="pdd.logistics.companies.get")

    def ship_exchange(self, request: ReturnRequest, shipment: Shipment) -> Shipment:
        """Send the replacement of an exchange (pdd.refund.exchange.shipping, 商家换货发货).

        The after-sales order is read first: one whose 换货详情 already carries
        this tracking number (``merchant_exchange_trunk_number``), or past the
        shipping (16, 18), is not sent again, so a repeat after a lost answer
        writes nothing; one already shipped under another number is refused;
        only an exchange in 14 or 15 (换货补寄待商家/用户处理) is shipped.

        Raises:
            ValidationError: no carrier, or one Pinduoduo does not list.
            RemoteRejectedError: not an exchange, or not awaiting the shop.
        """
        company_id, company_name = self._shipping_company(shipment.carrier)
        sent = shipment.model_copy(update={"direction": ShipmentDirection.EXCHANGE})
        for attempt in (1, 2):
            fresh = self.fetch_detail(request)
            kind = mapping.detail_kind(fresh) or request.kind
            if kind is not ReturnKind.EXCHANGE:
                raise RemoteRejectedError(f"a {kind.value} request ships no replacement",
                                          adapter=self.name)
            already = mapping.exchange_tracking(fresh)
            if already == shipment.tracking_number:
                return sent
            if already:
                raise RemoteRejectedError(
                    f"the replacement already went out under another tracking number "
                    f"({already})", adapter=self.name)
            if fresh.after_sales_status in mapping.EXCHANGE_SENT:
                return sent
            if fresh.after_sales_status not in mapping.EXCHANGE_AWAITING_SHOP:
                raise RemoteRejectedError(
                    f"after-sales status {fresh.after_sales_status} ships no replacement",
                    adapter=self.name)
            try:
                body = self.client.call(_EXCHANGE_SHIPPING, _request(
                    fresh.id, fresh.order_sn, shipping_id=company_id,
                    shipping_name=company_name, tracking_number=shipment.tracking_number),
                    write=True, bare=True)
            except TransientError:
                if attempt == 2:
                    raise
                continue  # it may have gone through: read the state before any repeat
            _, result = _answer(body)
            if result.get("succ") is not True:
                raise RemoteRejectedError(
                    f"replacement not shipped: {result.get('message') or 'refused'}",
                    adapter=self.name)
            return sent
        raise AssertionError("unreachable")  # pragma: no cover

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """Agree the buyer's refund (pdd.refund.agree); a repeat never pays twice.

        pdd.refund.agree takes no amount (its request is ``after_sales_id``,
        ``order_sn`` and ``operate_desc``): Pinduoduo pays the amount the
        buyer asked for. A refund of any other amount, more or less, is
        refused by name (:func:`~aftersales.asked_refunds.check_asked`):
        before any call against the request as stored, and again against
        the amount the detail reads back before the agree. The state is read
        first: one already agreed (4, 5) or refunded (10) is returned as
        paid. If the agree fails in a way that may have reached Pinduoduo,
        the state is read again and the agree re-sent only when it still
        awaits the shop.
        """
        if request is None:
            raise ValidationError("Pinduoduo pays only against a buyer's after-sales order",
                                  field="request")
        name = f"after-sales order {request.external_id}"
        if request.requested_amount is not None:
            check_asked(refund.amount, request.requested_amount, platform="Pinduoduo",
                        request=name)
        for attempt in (1, 2):
            fresh = self.fetch_detail(request)
            if fresh.after_sales_status in mapping.PAID:
                return self._paid(refund, fresh)
            if fresh.after_sales_status not in mapping.AGREEABLE:
                raise RemoteRejectedError(
                    f"after-sales status {fresh.after_sales_status} cannot be paid",
                    adapter=self.name)
            asked = mapping.amount(fresh.refund_amount, field="refund_amount",
                                   payload="pdd.refund.information.get")
            check_asked(refund.amount, asked or request.requested_amount,
                        platform="Pinduoduo", request=name)
            try:
                body = self.client.call("pdd.refund.agree", _request(
                    fresh.id, fresh.order_sn, operate_desc=refund.note or "同意退款"),
                    write=True, bare=True)
            except TransientError:
                if attempt == 2:
                    raise
                continue  # it may have gone through: read the state before any repeat
            _, result = _answer(body)
            succ = result.get("succ", result.get("success"))
            if succ is False:
                raise RemoteRejectedError(f"refund not agreed: {result.get('message') or ''}",
                                          adapter=self.name)
            if succ is not True:
                # neither yes nor no: it may have paid, so the state settles it, never a repeat
                raise ResponseParseError("pdd.refund.agree answered without its succ flag",
                                         adapter=self.name)
            return self._paid(refund, fresh, status="4")
        raise AssertionError("unreachable")  # pragma: no cover

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """The buyer's after-sales order, if the shop already agreed it.

        Pinduoduo keeps no idempotency key and needs none: an after-sales
        order is paid once, when the shop agrees. So the refund is matched
        **by its after-sales id and state**: 4, 5 or 10 mean agreed (paid or
        being paid); a state that still awaits the shop, or one refused,
        withdrawn or expired, means surely not. Any other state cannot tell
        and raises, leaving the refund pending.
        """
        if request is None:
            return None  # refund() refuses to pay without one: nothing was sent
        fresh = self.fetch_detail(request)
        if fresh.after_sales_status in mapping.PAID:
            return self._paid(refund, fresh)
        if fresh.after_sales_status in mapping.UNPAID:
            return None
        raise ResponseParseError(
            f"after-sales status {fresh.after_sales_status} cannot tell whether it was paid",
            adapter=self.name)

    @staticmethod
    def _paid(refund: Refund, fresh: PddRefundDetail, status: str | None = None) -> Refund:
        """``refund`` as Pinduoduo paid it: at the after-sales order's own amount.

        The agree pays what the order asks, whatever was sent; one agreed in the
        seller console may have been for another amount than the refund's, and the
        core then records what was paid and says so (``AMOUNT_MISMATCH``).
        """
        paid = mapping.amount(fresh.refund_amount, field="refund_amount",
                              payload="pdd.refund.information.get")
        return refund.model_copy(update={
            "external_id": fresh.id, "raw_status": status or str(fresh.after_sales_status),
            "amount": paid or refund.amount})
