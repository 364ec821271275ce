"""The WooCommerce marketplace adapter.

REST API v3 (``/wp-json/wc/v3``), checked on 2026-12-02 against the REST API
docs (woocommerce/woocommerce-rest-api-docs @13d6196) and the plugin's own
controllers (woocommerce/woocommerce ``includes/rest-api/Controllers``):

* **Minimum WooCommerce: 5.8.** Orders are listed with ``orderby=modified``,
  ``modified_after`` and ``dates_are_gmt``. All three are declared in
  ``WC_REST_CRUD_Controller::get_collection_params`` and applied in its
  ``prepare_objects_query`` (a ``date_query`` on ``post_modified_gmt``), which
  the orders controller inherits. ``modified_after`` came with
  woocommerce/woocommerce#30585 (merged August 2021, first released in 5.8);
  ``orderby=modified`` with woocommerce/woocommerce-rest-api#226 (July 2020).
  The docs list ``modified_after`` and ``dates_are_gmt`` (docs PR #209) but
  their ``orderby`` options still omit ``modified``: the code is the
  authority here. A store too old for ``orderby=modified`` answers 400
  ``rest_invalid_param``, turned into a :class:`ConfigurationError` naming
  the version; one that ignores ``modified_after`` (4.x to 5.7) is still
  read right, only slower, because every order older than the cursor is
  dropped client-side by the watermark. Whether the HPOS order tables honour
  the same ``date_query`` was not verified in the source; the watermark
  keeps the listing right either way.
* statuses: :mod:`.mapping` (orders, product reviews);
* errors: ``{"code", "message", "data": {"status"}}`` with the same HTTP
  status, mapped in :mod:`.client`;
* pagination: ``page``/``per_page`` (at most 100), ``X-WP-TotalPages``;
* rate limits: WooCommerce core documents none (a host or WAF may add its
  own; 429 and 503 are waited out like any API's);
* webhooks: :mod:`.webhooks` (``order.*`` topics and the activation ping).
* auth: HTTP Basic over https. ``query_string_auth`` puts the key pair in
  every URL (which urllib3 prints at DEBUG and servers write to access
  logs): it is only for servers that drop the Authorization header.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from aftersales.errors import (
    ConfigurationError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
    ValidationError,
)
from aftersales.evidence import Evidence, refuse_unsent
from aftersales.http import ApiClient, may_have_arrived
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import (
    Message,
    Order,
    Page,
    Receipt,
    Refund,
    ReturnRequest,
    Review,
    Shipment,
)
from aftersales.paging import (
    Watermark,
    numbered_pages,
    watermarked_pages,
)
from aftersales.wire import read_answer, record_name

from . import mapping, webhooks
from .client import WooCommerceClient
from .schemas import WcNote, WcOrder, WcRefund, WcReview, WcShippingLine
from .settings import WooCommerceSettings

__all__ = ["WooCommerceMarketplace"]

#: After a refund POST whose answer was lost, the seconds waited before each
#: further look for it: the store may still be paying through its gateway.
_REFUND_SETTLE = (1.0, 2.0, 4.0, 8.0)
#: The first WooCommerce release whose REST API takes every order listing parameter used.
MIN_WOOCOMMERCE = "5.8"
# Review ``after`` filters on the site's local time, not GMT: ask from this
# much earlier and let the watermark drop what was already seen.
_LOCAL_TIME_MARGIN = timedelta(hours=15)


def _order_id(value: str) -> int:
    """WooCommerce order ids are integers; anything else is refused before any call."""
    text = str(value).strip()
    if not text.isdigit():
        raise ValidationError(f"not a WooCommerce order id: {text[:40]!r}", field="order_id",
                              payload="woocommerce")
    return int(text)


def _since(mark: Watermark, margin: timedelta = timedelta(seconds=1)) -> str:
    return (mark.at - margin).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


log = logging.getLogger("aftersales.woocommerce")


class WooCommerceMarketplace(MarketplaceBase):
    """WooCommerce, through the REST API v3 (``/wp-json/wc/v3``).

    Alias ``woocommerce``; docs https://woocommerce.github.io/woocommerce-rest-api-docs/;
    needs WooCommerce 5.8 or later (see the module docstring).

    **WooCommerce has no return object in core.** Return and exchange
    requests are the library's own (made in the shop's return portal or by
    staff), linked to the WooCommerce order by ``order_id``. So the adapter
    does not list returns; approving or declining one writes a *customer*
    order note (WooCommerce e-mails it to the buyer, and the order keeps the
    conversation), confirming receipt writes a private note, and a refund is
    a real WooCommerce order refund with its line items, paid through the
    gateway unless ``gateway_refunds`` is off.

    Capabilities: orders (list by modification time, get, shipments from the
    Shipment Tracking extension's order meta), approve / reject / confirm
    received (as order notes), refunds (idempotent through a meta key),
    product reviews (listed; the v3 API cannot post a reply: it creates only
    top-level reviews), buyer messages as customer order notes. Not
    supported: ``list_returns``, ``reply_review``, ``ship_exchange``.
    """

    name = "woocommerce"
    capabilities = frozenset({
        Capability.LIST_ORDERS, Capability.GET_ORDER, Capability.LIST_SHIPMENTS,
        Capability.APPROVE_RETURN, Capability.REJECT_RETURN,
        Capability.CONFIRM_RETURN_RECEIVED, Capability.REFUND, Capability.LIST_REVIEWS,
        Capability.MESSAGE_BUYER,
    })
    raw_return_statuses: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        settings: WooCommerceSettings | None = None,
        *,
        api: ApiClient | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(name=name)
        self.clock = clock
        self.settings = settings or WooCommerceSettings.from_env()
        self.client = WooCommerceClient(self.settings, api=api, sleep=sleep)
        self._sleep = sleep

    # ------------------------------------------------------------ orders

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        """Orders modified since ``cursor``, oldest first, page by page.

        An order modified more than :data:`~aftersales.paging.MAX_AHEAD` after
        this machine's clock is left out with a warning naming it (it would
        carry the cursor past every order to come) and listed once its time
        has come.
        """
        start = Watermark.from_cursor(cursor, adapter=self.name)
        params: dict[str, Any] = {"status": "any", "orderby": "modified", "order": "asc",
                                  "per_page": self.settings.page_size}
        if start is not None:
            params.update(modified_after=_since(start), dates_are_gmt="true")

        def fetch(page: int) -> tuple[list[WcOrder], int | None]:
            try:
                data, pages = self.client.get("orders", {**params, "page": page})
            except RemoteRejectedError as exc:
                if exc.code != "rest_invalid_param":
                    raise
                raise ConfigurationError(
                    f"the store refused the order listing's parameters ({exc}): listing "
                    f"orders by modification time needs WooCommerce {MIN_WOOCOMMERCE} or later"
                ) from exc
            return [self._parse(WcOrder, o) for o in self._list(data)], pages

        def stamp(o: WcOrder) -> tuple[datetime, str]:
            at = o.date_modified_gmt or o.date_created_gmt
            if at is None:
                raise ResponseParseError("order has no date", adapter=self.name)
            return at, str(o.id)

        for page in watermarked_pages(numbered_pages(fetch), stamp, start, now=self.clock(),
                                      what="order", adapter=self.name):
            yield Page[Order](items=[self._order(o) for o in page.items if o.line_items],
                              cursor=page.cursor)

    def get_order(self, order_id: str) -> Order:
        """One order by id, with its refunds (whoever made them) line by line."""
        wanted = _order_id(order_id)
        data, _ = self.client.get(f"orders/{wanted}")
        order: WcOrder = self._parse(WcOrder, data)
        if order.id != wanted:
            raise ResponseParseError("the store answered for another order than the one asked "
                                     "for", adapter=self.name, code="WRONG_RECORD")
        return self._order(order)

    def _order(self, o: WcOrder) -> Order:
        """The order with its refunds' lines: the order lists only each refund's total,
        so an order with refunds costs one more call (``GET /orders/{id}/refunds``)."""
        details = [self._parse(WcRefund, raw) for raw in self._refunds(o.id)] if o.refunds else []
        return mapping.order_from_wc(o, store=self.name, refunds=details)

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """The tracking numbers the Shipment Tracking extension stored on the order."""
        return self.get_order(order_id).shipments

    # ------------------------------------------------------------ the library's own returns

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """Tell the buyer, in a customer order note, that the request is approved."""
        self._note(request.order_id, mapping.note_for("approved", self._ref(request), note=note))

    def reject_return(
        self, request: ReturnRequest, *, reason: str, note: str | None = None,
        reason_code: str | None = None, evidence: Evidence | None = None,
    ) -> None:
        """Tell the buyer, in a customer order note, that the request is declined and why.

        WooCommerce has no refusal codes or evidence: giving either is refused.
        """
        refuse_unsent(self.name, reason_code=reason_code, evidence=evidence)
        self._note(request.order_id,
                   mapping.note_for("rejected", self._ref(request), reason=reason, note=note))

    def confirm_return_received(self, request: ReturnRequest) -> None:
        """Record, in a private order note, that the returned goods arrived."""
        self._note(request.order_id, mapping.note_for("received", self._ref(request)))

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """Create an order refund with its line items, paid once per idempotency key.

        WooCommerce has no idempotency header, so the key is stored in the
        refund's ``meta_data``, and the order's refunds are searched for it
        before the POST: a refund that was already made is returned instead
        of paying twice.

        A POST that failed before reaching the store is sent again (by the
        HTTP layer). One whose answer was lost is never sent again in the
        same call: the store may still be paying through its gateway, so
        the refund is looked for a few more times over about 15 seconds.

        Raises:
            TransientError: the answer was lost and no refund with this key
                showed up: its outcome is unknown. Calling again later with
                the same idempotency key is how to settle it (it looks first).
        """
        order = _order_id(refund.order_id)
        key = refund.idempotency_key
        found = self._find_refund(order, (key,))
        if found is not None:
            return mapping.refund_from_wc(found, refund)
        shipping = self._shipping_lines(order) if refund.shipping else []
        body = mapping.refund_body(refund, api_refund=self.settings.gateway_refunds,
                                   restock=self.settings.restock, shipping=shipping)
        try:
            created = self.client.post(f"orders/{order}/refunds", body)
            made: WcRefund = self._parse(WcRefund, created)
            if mapping.refund_key(created) not in (None, key):
                # Another refund's answer: whether this one was paid is unknown, and
                # settled by looking it up under its key, never by sending again.
                raise ResponseParseError("the store answered with another refund than the "
                                         "one sent", adapter=self.name, code="WRONG_RECORD")
        except TransientError as exc:
            if not may_have_arrived(exc):
                raise  # refused before it left: nothing was paid
            found = self._settled_refund(order, key)
            if found is None:
                raise TransientError(
                    "refund outcome unknown: the store's answer was lost and no refund with "
                    "this key shows yet; call again later with the same idempotency key",
                    adapter=self.name,
                ) from exc
            return mapping.refund_from_wc(found, refund)
        return mapping.refund_from_wc(made, refund)

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """The order refund carrying ``refund.idempotency_key`` or one of ``keys``.

        Matched by key: every refund this adapter makes stores its key in
        ``meta_data`` (``_aftersales_idempotency_key``), and ``keys`` (the
        request's earlier attempts) are searched too, so a refund whose
        answer was lost under an earlier key is found as well. The order's
        refunds are read page by page (``GET /orders/{id}/refunds``).
        """
        order = _order_id(refund.order_id)
        wanted = (refund.idempotency_key, *keys)
        for raw in self._refunds(order):
            key = mapping.refund_key(raw)
            if key in wanted:
                found = mapping.refund_from_wc(self._parse(WcRefund, raw), refund)
                return found.model_copy(update={"idempotency_key": key})
        return None

    # ------------------------------------------------------------ reviews and messages

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        """Product reviews of every status created since ``cursor``, oldest first.

        Each carries its moderation state (``approved``/``hold``/``spam``) as
        ``Review.visibility``. Comments without a star rating (rating 0) are not
        reviews and are skipped. A review dated more than
        :data:`~aftersales.paging.MAX_AHEAD` after this machine's clock is left
        out with a warning naming it (it would carry the cursor past every
        review to come) and listed once its time has come.
        """
        start = Watermark.from_cursor(cursor, adapter=self.name)
        params: dict[str, Any] = {"status": "all", "orderby": "date_gmt", "order": "asc",
                                  "per_page": self.settings.page_size}
        if start is not None:
            params["after"] = _since(start, _LOCAL_TIME_MARGIN)

        now = self.clock()

        def fetch(page: int) -> tuple[list[WcReview], int | None]:
            data, pages = self.client.get("products/reviews", {**params, "page": page})
            return [self._review(r) for r in self._list(data)], pages

        for page in watermarked_pages(numbered_pages(fetch),
                                      lambda r: (r.date_created_gmt, str(r.id)), start,
                                      now=now, what="review", adapter=self.name):
            reviews = [mapping.review_from_wc(r, store=self.name) for r in page.items]
            yield Page[Review](items=[r for r in reviews if r is not None], cursor=page.cursor)

    def send_message(self, message: Message) -> Receipt:
        """Send ``message`` as a customer order note (WooCommerce e-mails the buyer).

        Raises:
            ValidationError: the message names no order.
        """
        if not message.order_id:
            raise ValidationError("a WooCommerce message needs an order", field="order_id",
                                  payload="woocommerce message")
        text = f"{message.subject}\n\n{message.body}" if message.subject else message.body
        note = self._note(message.order_id, {"note": text, "customer_note": True})
        return Receipt(channel=self.name, message_id=str(note.id),
                       accepted_at=note.date_created_gmt or datetime.now(UTC))

    # ------------------------------------------------------------ webhooks

    def parse_order_webhook(self, body: bytes, headers: Mapping[str, str]) -> webhooks.OrderEvent:
        """Verify with ``webhook_secret`` and parse an ``order.*`` webhook."""
        secret = self.settings.require("webhook_secret", "verify webhooks")
        return webhooks.parse_order_webhook(body, headers, secret=secret, store=self.name)

    # ------------------------------------------------------------ helpers

    def _note(self, order_id: str, body: Mapping[str, Any]) -> WcNote:
        note: WcNote = self._parse(WcNote, self.client.post(f"orders/{_order_id(order_id)}/notes",
                                                             body))
        return note

    def _shipping_lines(self, order: int) -> list[WcShippingLine]:
        """The order's shipping lines as the store has them now (a refund names their ids)."""
        data, _ = self.client.get(f"orders/{order}")
        parsed: WcOrder = self._parse(WcOrder, data)
        if parsed.id != order:
            # another order's shipping lines must never go into this refund
            raise ValidationError("the store answered for another order", field="id",
                                  payload="woocommerce order before a refund")
        return parsed.shipping_lines

    def _settled_refund(self, order: int, key: str) -> WcRefund | None:
        """The refund with ``key``, looked for until the store has had time to finish."""
        for wait in (0.0, *_REFUND_SETTLE):
            if wait:
                self._sleep(wait)
            try:
                found = self._find_refund(order, (key,))
            except TransientError:
                continue  # the store is still busy; look again
            if found is not None:
                return found
        return None

    def _refunds(self, order: int) -> Iterator[dict[str, Any]]:
        def fetch(page: int) -> tuple[list[dict[str, Any]], int | None]:
            data, pages = self.client.get(f"orders/{order}/refunds",
                                          {"per_page": 100, "page": page})
            return self._list(data), pages

        for batch in numbered_pages(fetch):
            yield from batch

    def _find_refund(self, order: int, keys: Sequence[str]) -> WcRefund | None:
        for raw in self._refunds(order):
            if mapping.refund_key(raw) in keys:
                parsed: WcRefund = self._parse(WcRefund, raw)
                return parsed
        return None

    @staticmethod
    def _ref(request: ReturnRequest) -> str:
        return request.rma_id or request.external_id or f"for order {request.order_id}"

    def _list(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            raise ResponseParseError("expected a JSON list", adapter=self.name)
        if not all(isinstance(d, dict) for d in data):  # never silently fewer items
            raise ResponseParseError("a list item is not a JSON object", adapter=self.name)
        return data

    def _review(self, data: Any) -> WcReview:
        """One listed review, or ResponseParseError naming it by its id (a plain one)."""
        ref = data.get("id") if isinstance(data, dict) else None
        return read_answer(WcReview, data, adapter=self.name,
                           payload=record_name("woocommerce product review",
                                               "?" if ref is None else ref))

    def _parse(self, model: Any, data: Any) -> Any:
        """``data`` as ``model``, or ResponseParseError naming the field, never the value."""
        name = getattr(model, "__name__", "payload")
        return read_answer(model, data, adapter=self.name, payload=f"woocommerce {name}")
