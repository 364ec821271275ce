"""The Shopify marketplace adapter.

Checked against the Admin API reference for 2026-01 (the pinned version) on
2026-12-02:

* statuses and reasons: ``ReturnStatus``, ``ReturnReason`` (deprecated) and
  ``ReturnReasonDefinition``, ``ReturnDeclineReason``, ``FulfillmentStatus``
  and ``FulfillmentEventStatus`` are tables in :mod:`.mapping`, one row per
  documented value;
* errors: return mutations answer ``userErrors`` with a ``ReturnErrorCode``
  (``NOT_FOUND`` is read as a missing object, ``INVALID_STATE`` as already
  closed on ``returnClose``, every other code as a refusal); top-level GraphQL
  errors ``THROTTLED``, ``ACCESS_DENIED`` and ``INTERNAL_SERVER_ERROR`` are
  classified in :mod:`.client`; Shopify documents no other top-level codes
  a client should branch on, and unknown ones are refusals;
* refunds: ``refundCreate`` answers the refund with its transactions; one
  whose transactions all ended ``FAILURE`` or ``ERROR``
  (``OrderTransactionStatus``) was declined by the payment gateway and paid
  nothing, so it is a refusal, never a payment (``PENDING`` counts as paid);
* pagination: GraphQL connections by ``pageInfo.endCursor``; REST by the
  ``page_info`` of the ``Link: rel="next"`` header. Lists nested in an
  answer are never cut short unseen: an order's returns are paged through
  (``OrderReturns``), and so are a return's lines past the first 50
  (``ReturnLines``) and a reverse fulfillment order's (``ReverseLines``,
  through ``node(id:)``), up to :data:`RETURN_LINE_PAGES` pages each; a
  connection read in one page (a return's reverse fulfillment orders, a
  refund's lines and transactions) asks for ``pageInfo { hasNextPage }`` and
  is refused as longer than read when more follow; ``Order.refunds`` is a plain list (no
  ``pageInfo``), so an answer holding as many as asked for is refused, since
  whether more exist cannot be told;
* rate limits: the GraphQL cost bucket (``extensions.cost``; 100 points a
  second on a standard plan, 1,000 per query at most) and the REST leaky
  bucket (429 with ``Retry-After``);
* webhooks: see :mod:`.webhooks`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from aftersales.errors import (
    RemoteError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    ValidationError,
)
from aftersales.evidence import Evidence, refuse_unsent
from aftersales.http import ApiClient
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import (
    Order,
    Page,
    Refund,
    ReturnKind,
    ReturnRequest,
    ReturnStatus,
    Shipment,
)
from aftersales.money import Money
from aftersales.paging import Watermark, token_pages, watermarked_pages
from aftersales.refund_match import same_refund
from aftersales.wire import read_answer

from . import mapping, webhooks
from .client import ShopifyClient
from .schemas import (
    Connection,
    GqlListedRefund,
    GqlRefund,
    GqlReturn,
    GqlReturnLineItem,
    GqlReverseFulfillmentOrder,
    GqlReverseLine,
    OrderReturns,
    PageInfo,
    RestFulfillment,
    RestOrder,
    RestSuggestedRefund,
    UserError,
)
from .settings import ShopifySettings

__all__ = ["ShopifyMarketplace"]

log = logging.getLogger("aftersales.shopify")

N = TypeVar("N")

#: ``returnReasonDefinition`` exists from 2026-01 on; older versions refuse the field.
_REASON_DEFINITION_SINCE = "2026-01"


#: Lines asked for per page of ``Return.returnLineItems``.
RETURN_LINES_PAGE = 50
#: Pages of a return's lines read at most (5,000 lines): a return longer than
#: that, or an answer that never stops saying more follow, is refused by name.
RETURN_LINE_PAGES = 100


def return_line_fields(api_version: str) -> str:
    """The ``ReturnLineFields`` fragment (one return line) for ``api_version``.

    From 2026-01 on it asks for ``returnReasonDefinition`` beside the
    deprecated ``returnReason``, which stays the fallback (developer changelog
    "New Return Reason Definitions API", 2026-01: the definition has ``id``,
    ``handle`` and ``name``; ``returnReason`` is deprecated on return line items).
    """
    definition = ("returnReasonDefinition { handle name } "
                  if api_version >= _REASON_DEFINITION_SINCE else "")
    return f"""
fragment ReturnLineFields on ReturnLineItemType {{
  id quantity ... on ReturnLineItem {{
    {definition}returnReason returnReasonNote customerNote
    fulfillmentLineItem {{ id lineItem {{ id sku }} }}
  }}
}}"""


def return_fields(api_version: str) -> str:
    """The ``ReturnFields`` fragment for ``api_version`` (with ``ReturnLineFields``).

    Of ``exchangeLineItems`` only whether there is one is read (it makes the
    return an exchange), so one is asked for; ``returnLineItems``
    (``ReturnLineItemTypeConnection``) gives its first page and the cursor to
    read the rest from (:meth:`ShopifyMarketplace._all_lines`).
    """
    return f"""
fragment ReturnFields on Return {{
  id name status createdAt closedAt requestApprovedAt
  decline {{ reason note }}
  order {{ id }}
  returnLineItems(first: {RETURN_LINES_PAGE}) {{ pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...ReturnLineFields }} }}
  exchangeLineItems(first: 1) {{ nodes {{ id }} }}
}}""" + return_line_fields(api_version)


LIST_RETURNS = """query ListReturns($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt returns(first: 20) {
      pageInfo { hasNextPage endCursor } nodes { ...ReturnFields } } }
  }
}"""

#: The rest of one order's returns, when the listing's first 20 were not all.
ORDER_RETURNS = """query OrderReturns($id: ID!, $after: String) {
  order(id: $id) { id returns(first: 20, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { ...ReturnFields } } }
}"""

#: The rest of one return's lines, when the first page was not all of them.
RETURN_LINES = f"""query ReturnLines($id: ID!, $after: String) {{
  return(id: $id) {{ id returnLineItems(first: {RETURN_LINES_PAGE}, after: $after) {{
    pageInfo {{ hasNextPage endCursor }} nodes {{ ...ReturnLineFields }} }} }}
}}"""

GET_RETURN = """query GetReturn($id: ID!) {
  return(id: $id) { ...ReturnFields }
}"""

APPROVE = """mutation ReturnApproveRequest($input: ReturnApproveRequestInput!) {
  returnApproveRequest(input: $input) { return { id status } userErrors { code field message } }
}"""

DECLINE = """mutation ReturnDeclineRequest($input: ReturnDeclineRequestInput!) {
  returnDeclineRequest(input: $input) {
    return { id status decline { reason note } } userErrors { code field message }
  }
}"""

CLOSE = """mutation ReturnClose($id: ID!) {
  returnClose(id: $id) { return { id status closedAt } userErrors { code field message } }
}"""

REVERSE_ORDERS = f"""query ReturnReverse($id: ID!) {{
  return(id: $id) {{ id reverseFulfillmentOrders(first: 10) {{ pageInfo {{ hasNextPage }} nodes {{
    id lineItems(first: {RETURN_LINES_PAGE}) {{ pageInfo {{ hasNextPage endCursor }}
      nodes {{ id totalQuantity }} }}
  }} }} }}
}}"""

#: The rest of one reverse fulfillment order's lines (``ReverseFulfillmentOrder``
#: is a ``Node``), when the first page was not all of them.
REVERSE_LINES = f"""query ReverseLines($id: ID!, $after: String) {{
  node(id: $id) {{ id ... on ReverseFulfillmentOrder {{
    lineItems(first: {RETURN_LINES_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }} nodes {{ id totalQuantity }} }} }} }}
}}"""

DISPOSE = """mutation Dispose($inputs: [ReverseFulfillmentOrderDisposeInput!]!) {
  reverseFulfillmentOrderDispose(dispositionInputs: $inputs) {
    reverseFulfillmentOrderLineItems { id } userErrors { code field message }
  }
}"""

REFUND = """mutation RefundCreate($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id note createdAt order { id } totalRefundedSet {
      shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
      transactions(first: 10) { pageInfo { hasNextPage } nodes { status kind } } }
    userErrors { field message }
  }
}"""


#: ``Order.refunds`` is a plain list (``[Refund!]!`` with a ``first`` argument,
#: no ``pageInfo``): an answer holding this many cannot tell whether more exist.
ORDER_REFUNDS_READ = 100

ORDER_REFUNDS = f"""query OrderRefunds($id: ID!) {{
  order(id: $id) {{ id refunds(first: {ORDER_REFUNDS_READ}) {{
    id note createdAt totalRefundedSet {{
      shopMoney {{ amount currencyCode }} presentmentMoney {{ amount currencyCode }} }}
    transactions(first: 10) {{ pageInfo {{ hasNextPage }} nodes {{ status kind }} }}
    refundLineItems(first: 100) {{ pageInfo {{ hasNextPage }}
      nodes {{ quantity lineItem {{ id }} }} }}
  }} }}
}}"""


def _payload(data: Mapping[str, Any], field: str) -> dict[str, Any]:
    """A mutation's payload, raising on its ``userErrors``."""
    payload = data.get(field)
    if not isinstance(payload, dict):
        raise ResponseParseError(f"{field} returned no payload", adapter="shopify")
    listed = payload.get("userErrors") or []
    if not isinstance(listed, list):
        raise ResponseParseError(f"{field}.userErrors is not a list", adapter="shopify")
    errors = [read_answer(UserError, e, adapter="shopify", payload=f"{field}.userErrors")
              for e in listed]
    if errors:
        first = errors[0]
        cls = RemoteNotFoundError if first.code == "NOT_FOUND" else RemoteRejectedError
        raise cls(f"{field}: {first.message[:200]}", adapter="shopify",
                  code=(first.code or field)[:64])
    return payload


class ShopifyMarketplace(MarketplaceBase):
    """Shopify, through the Admin API (GraphQL for returns and refunds, REST for orders).

    Alias ``shopify``; API version pinned by ``ShopifySettings.api_version``
    (default 2026-01, the first where ``refundCreate`` takes ``@idempotent``);
    docs https://shopify.dev/docs/api/admin-graphql. Needs the scopes
    ``read_orders``, ``read_returns``/``write_returns``, ``write_orders`` (refunds)
    and ``read_all_orders`` for orders older than 60 days.

    Capabilities: orders (list, get, shipments with tracking numbers of the
    fulfillments that succeeded), return requests (list, get, apply a
    ``returns/update`` change set, approve, decline, confirm received by disposing the
    reverse fulfillment, refund then close). Shopify has **no review API**
    and no buyer messaging, so ``list_reviews``, ``reply_review`` and
    ``send_message`` raise ``UnsupportedOperationError``; exchanges are shipped
    from Shopify's own admin, so ``ship_exchange`` is unsupported too.

    Shopify has no top-level returns query (returns hang off ``Order.returns``),
    so returns are listed through the orders changed since the cursor.
    """

    name = "shopify"
    capabilities = frozenset({
        Capability.LIST_ORDERS, Capability.GET_ORDER, Capability.LIST_SHIPMENTS,
        Capability.LIST_RETURNS, Capability.GET_RETURN, Capability.APPROVE_RETURN,
        Capability.REJECT_RETURN, Capability.CONFIRM_RETURN_RECEIVED, Capability.REFUND,
    })
    raw_return_statuses: ClassVar[tuple[str, ...]] = tuple(mapping.RETURN_STATUS)
    #: The status table, for the conformance kit.
    return_status_table: ClassVar[Mapping[str, ReturnStatus]] = mapping.RETURN_STATUS

    def __init__(
        self,
        settings: ShopifySettings | None = None,
        *,
        api: ApiClient | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(name=name)
        #: what "now" is for the listings' bound on change times (tests pin it)
        self.clock = clock
        self.settings = settings or ShopifySettings.from_env()
        self.client = ShopifyClient(self.settings, api=api, sleep=sleep)
        self._fields = return_fields(self.settings.api_version)
        self._line_fields = return_line_fields(self.settings.api_version)

    # ------------------------------------------------------------ orders

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        """Orders changed since ``cursor`` (REST, oldest change first, ``page_info`` paging).

        An order changed more than :data:`~aftersales.paging.MAX_AHEAD` after this
        machine's clock is left out and named in a warning (it would carry the
        cursor past every order to come); it is listed once its time has come.
        ``list_returns`` does the same with the orders it lists returns through.
        """
        start = Watermark.from_cursor(cursor, adapter=self.name)
        first: dict[str, Any] = {"status": "any", "order": "updated_at asc",
                                 "limit": self.settings.page_size}
        if start is not None:
            first["updated_at_min"] = start.at.isoformat()

        def fetch(token: str | None) -> tuple[list[RestOrder], str | None]:
            params = first if token is None else {"limit": self.settings.page_size,
                                                  "page_info": token}
            body, nxt = self.client.get("orders.json", params)
            return [self._parse(RestOrder, o) for o in _listed(body, "orders")], nxt

        for page in watermarked_pages(token_pages(fetch, adapter=self.name),
                                      lambda o: (o.updated_at, str(o.id)), start,
                                      now=self.clock(), what="order", adapter=self.name):
            items = [mapping.order_from_rest(o, store=self.name) for o in page.items]
            yield Page[Order](items=items, cursor=page.cursor)

    def get_order(self, order_id: str) -> Order:
        """One order by its numeric id (or GID)."""
        wanted = _rest_id(order_id)
        body, _ = self.client.get(f"orders/{wanted}.json")
        order: RestOrder = self._parse(RestOrder, body.get("order"))
        _same("order", wanted, order.id)
        return mapping.order_from_rest(order, store=self.name)

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """The order's fulfillments, one shipment per tracking number."""
        wanted = _rest_id(order_id)
        body, _ = self.client.get(f"orders/{wanted}/fulfillments.json")
        found: list[RestFulfillment] = [self._parse(RestFulfillment, f)
                                        for f in _listed(body, "fulfillments")]
        for f in found:
            if f.order_id is not None:
                _same("order", wanted, f.order_id)
        return mapping.shipments_from_rest(found)

    # ------------------------------------------------------------ returns

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """Returns of the orders changed since ``cursor`` (GraphQL, cursor paging)."""
        start = Watermark.from_cursor(cursor, adapter=self.name)
        # Shopify's search syntax; its timestamps have whole seconds.
        search = f"updated_at:>='{start.at:%Y-%m-%dT%H:%M:%SZ}'" if start else None

        def fetch(after: str | None) -> tuple[list[OrderReturns], str | None]:
            data = self.client.graphql(LIST_RETURNS + self._fields, {
                "first": self.settings.page_size, "after": after, "query": search})
            conn = self._parse(Connection[OrderReturns], data.get("orders"))
            return conn.nodes, conn.next_token("the orders listing")

        for page in watermarked_pages(token_pages(fetch, adapter=self.name),
                                      lambda o: (o.updatedAt, o.id), start,
                                      now=self.clock(), what="order", adapter=self.name):
            items = [mapping.return_from_gql(r, order_id=mapping.numeric_id(o.id),
                                             updated_at=o.updatedAt, store=self.name)
                     for o in page.items for r in map(self._all_lines, self._order_returns(o))
                     if r.returnLineItems.nodes]
            yield Page[ReturnRequest](items=items, cursor=page.cursor)

    def _order_returns(self, order: OrderReturns) -> Iterator[GqlReturn]:
        """Every return of a listed order: the listing's first page, then the rest."""

        def fetch(after: str | None) -> tuple[list[GqlReturn], str | None]:
            if after is None:  # the page the listing already holds
                return order.returns.nodes, order.returns.next_token(
                    f"the returns of order {order.id}")
            data = self.client.graphql(ORDER_RETURNS + self._fields,
                                       {"id": order.id, "after": after})
            got = data.get("order")
            if not isinstance(got, dict):
                raise RemoteNotFoundError("order not found", adapter=self.name)
            _same("order", order.id, got.get("id"))  # another order's returns are not its own
            conn: Connection[GqlReturn] = self._parse(Connection[GqlReturn], got.get("returns"))
            return conn.nodes, conn.next_token(f"the returns of order {order.id}")

        for batch in token_pages(fetch, adapter=self.name):
            yield from batch

    def _all_lines(self, found: GqlReturn) -> GqlReturn:
        """``found`` with every one of its lines: the first page, then the rest.

        The pages after the first are read with ``ReturnLines`` from the
        ``endCursor`` each page gives, so a return of 120 lines is read whole
        (see :meth:`_whole_connection` for what is refused).
        """
        lines = self._whole_connection(
            found.returnLineItems, f"the returnLineItems of return {found.id}",
            RETURN_LINES + self._line_fields, owner=found.id, root="return", kind="return",
            field="returnLineItems", model=GqlReturnLineItem)
        if lines is found.returnLineItems.nodes:
            return found
        whole = Connection[GqlReturnLineItem](nodes=lines, pageInfo=PageInfo())
        return found.model_copy(update={"returnLineItems": whole})

    def _whole_connection(
        self, first: Connection[N], what: str, query: str, *, owner: str, root: str,
        kind: str, field: str, model: type[N],
    ) -> list[N]:
        """Every node of a nested connection: ``first`` (the page already read), then
        ``query`` from each page's ``endCursor``, answered under ``root`` about ``owner``.

        Raises:
            ResponseParseError: ``what`` still cannot be read whole: an answer
                without ``pageInfo`` or without the cursor to read the rest
                from, a follow-up about another record, the same node twice,
                or more than :data:`RETURN_LINE_PAGES` pages; each is one line
                naming ``what``.
            RemoteNotFoundError: ``owner`` is gone before its nodes were read.
        """
        if first.next_token(what) is None:
            return first.nodes
        pages = 0

        def fetch(after: str | None) -> tuple[list[N], str | None]:
            nonlocal pages
            pages += 1
            if after is None:  # the page already held
                return first.nodes, first.next_token(what)
            if pages > RETURN_LINE_PAGES:
                raise ResponseParseError(
                    f"{what} is longer than the {RETURN_LINE_PAGES * RETURN_LINES_PAGE} "
                    "read at most", adapter=self.name, code="LONGER_THAN_READ")
            data = self.client.graphql(query, {"id": owner, "after": after})
            got = data.get(root)
            if not isinstance(got, dict):
                raise RemoteNotFoundError(f"{kind} not found", adapter=self.name)
            _same(kind, owner, got.get("id"))  # another record's nodes are not its own
            conn: Connection[N] = self._parse(Connection[model], got.get(field))  # type: ignore[valid-type]
            return conn.nodes, conn.next_token(what)

        nodes: list[N] = []
        seen: set[str] = set()
        for batch in token_pages(fetch, adapter=self.name):
            for node in batch:
                key = str(getattr(node, "id", ""))
                if key in seen:  # counted twice, its quantity would be acted on twice
                    raise ResponseParseError(f"{what} lists line {key} twice",
                                             adapter=self.name, code="DUPLICATE_LINE")
                seen.add(key)
                nodes.append(node)
        return nodes

    def get_return(self, return_id: str) -> ReturnRequest:
        """One return by its GID or numeric id, as Shopify has it now (``GET_RETURN``:
        the Admin API's ``return(id:)`` query, read before an approval or refusal whose
        answer was lost is sent again).

        Raises:
            RemoteNotFoundError: Shopify has no such return.
            ValidationError: the return has no line items left.
        """
        wanted = mapping.gid("Return", return_id)
        data = self.client.graphql(GET_RETURN + self._fields, {"id": wanted})
        if not isinstance(data.get("return"), dict):
            raise RemoteNotFoundError("return not found", adapter=self.name)
        found: GqlReturn = self._parse(GqlReturn, data["return"])
        _same("return", wanted, found.id)
        return mapping.return_from_gql(self._all_lines(found), store=self.name)

    def apply_returns_update(self, event: webhooks.ReturnEvent) -> ReturnRequest:
        """The request after a ``returns/update`` change set, read back from Shopify.

        The change set names Shopify's return lines and quantity deltas; the
        core keys return lines by order line, so the return is read once and
        its current lines are the changes applied. A line the change set
        removed entirely is gone from the result.

        Raises:
            ValidationError: ``event`` is not a ``returns/update`` event.
            RemoteNotFoundError: the return no longer exists.
        """
        if event.changes is None:
            raise ValidationError("not a returns/update event", field="topic",
                                  payload="shopify returns webhook")
        return self.get_return(event.external_id)

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """``returnApproveRequest``: REQUESTED → OPEN, telling the customer."""
        data = self.client.graphql(APPROVE, {"input": {
            "id": self._return_id(request), "notifyCustomer": True}}, mutation=True)
        _payload(data, "returnApproveRequest")

    def reject_return(
        self, request: ReturnRequest, *, reason: str, note: str | None = None,
        reason_code: str | None = None, evidence: Evidence | None = None,
    ) -> None:
        """``returnDeclineRequest`` with the matching decline reason and a note (≤500).

        Shopify takes no refusal code or evidence here: giving either is refused.
        """
        refuse_unsent(self.name, reason_code=reason_code, evidence=evidence)
        data = self.client.graphql(DECLINE, {"input": {
            "id": self._return_id(request), "declineReason": mapping.decline_reason(reason),
            "declineNote": (note or reason)[:500], "notifyCustomer": True}}, mutation=True)
        _payload(data, "returnDeclineRequest")

    def confirm_return_received(self, request: ReturnRequest) -> None:
        """Dispose every reverse fulfillment line: restocked at the configured location,
        or left for processing when no location is set."""
        wanted = self._return_id(request)
        data = self.client.graphql(REVERSE_ORDERS, {"id": wanted})
        ret = data.get("return")
        if not isinstance(ret, dict):
            raise RemoteNotFoundError("return not found", adapter=self.name)
        _same("return", wanted, ret.get("id"))  # never dispose another return's goods
        reverse = self._parse(Connection[GqlReverseFulfillmentOrder],
                              ret.get("reverseFulfillmentOrders") or {})
        # disposing part of the goods and calling the return received would leave the rest:
        # every line is read (past the first page too) before anything is disposed
        lines = [line for rfo in reverse.whole(f"the reverseFulfillmentOrders of return {wanted}")
                 for line in self._whole_connection(
                     rfo.lineItems, f"the lineItems of reverse fulfillment order {rfo.id}",
                     REVERSE_LINES, owner=rfo.id, root="node",
                     kind="reverse fulfillment order", field="lineItems", model=GqlReverseLine)]
        loc = self.settings.location_id
        inputs = [
            {"reverseFulfillmentOrderLineItemId": line.id, "quantity": line.totalQuantity,
             "dispositionType": "RESTOCKED" if loc else "PROCESSING_REQUIRED",
             **({"locationId": mapping.gid("Location", loc)} if loc else {})}
            for line in lines if line.totalQuantity > 0
        ]
        if not inputs:
            raise RemoteRejectedError("return has no reverse fulfillment to receive",
                                      adapter=self.name, code="NO_REVERSE_FULFILLMENT")
        _payload(self.client.graphql(DISPOSE, {"inputs": inputs}, mutation=True),
                 "reverseFulfillmentOrderDispose")

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """``refundCreate`` with ``@idempotent(key: refund.idempotency_key)``.

        Amounts are in the buyer's (presentment) currency, which ``RefundInput``
        requires. Shopify first suggests the paying transactions for the same
        lines and shipping (``refunds/calculate.json``); its figures are used
        when they match the refund (see :func:`mapping.refund_input`). A
        retry with the same key returns Shopify's first result instead of
        paying again. A Shopify return refunded this way (not an exchange) is
        closed. A calculation answered in another currency than the refund's,
        or holding less of the shipping refundable than the refund gives back
        (``shipping.maximum_refundable``), is refused before anything is paid.

        The created refund's transactions are read: when the payment gateway
        declined every one (``OrderTransactionStatus`` ``FAILURE`` or
        ``ERROR``) no money moved, and :class:`RemoteRejectedError` says so;
        a ``PENDING`` transaction is accepted as paid.
        """
        order = _rest_id(refund.order_id)
        ask: dict[str, Any] = {
            "currency": refund.amount.currency,
            "refund_line_items": [{"line_item_id": int(_rest_id(ln.order_line_id,
                                                                    "lines.order_line_id")),
                                   "quantity": ln.quantity,
                                   "restock_type": "no_restock"}
                                  for ln in refund.lines if ln.quantity > 0],
        }
        if refund.shipping:
            ask["shipping"] = {"amount": str(refund.shipping.rounded().amount)}
        calc = self.client.post(f"orders/{order}/refunds/calculate.json", {"refund": ask},
                                idempotent=True)
        suggested: RestSuggestedRefund = self._parse(
            RestSuggestedRefund, calc.get("refund") if isinstance(calc, dict) else None)
        for tx in suggested.transactions:
            for cur in (tx.currency, suggested.currency):
                if cur is not None and cur.strip().upper() != refund.amount.currency:
                    # figures in the shop's money cannot cap or pay the buyer's money
                    raise ValidationError(
                        f"the refund calculation answered in {cur.strip()[:8]}, not "
                        f"{refund.amount.currency}", field="transactions.currency",
                        payload="shopify refund calculation")
            if tx.order_id is not None and str(tx.order_id) != order:
                # the calculation of another order: its payments must never pay this refund
                raise ValidationError("the refund calculation answered for another order",
                                      field="transactions.order_id",
                                      payload="shopify refund calculation")
        most = suggested.shipping.maximum_refundable if suggested.shipping else None
        if refund.shipping and most is not None and refund.shipping.rounded().amount > most:
            # Shopify holds less of the shipping refundable (a refund in its admin took it)
            raise ValidationError(
                f"Shopify can refund {most} {refund.amount.currency} of the shipping, not "
                f"{refund.shipping.rounded()}; sync the order and preview again",
                field="shipping", payload="shopify refund calculation")
        txs = [t.model_dump(mode="json") for t in suggested.transactions if t.parent_id]
        body = mapping.refund_input(refund.model_copy(update={"order_id": order}), txs,
                                    self.settings.location_id)
        data = self.client.graphql(REFUND, {"input": body, "key": refund.idempotency_key},
                                   mutation=True, idempotency_key=refund.idempotency_key)
        created = self._parse(GqlRefund, _payload(data, "refundCreate").get("refund"))
        if created.order is not None:
            # A refund of another order is no answer to this one: whether this one was
            # paid is unknown, settled by find_refund on this order, never by paying again.
            _same("order", order, created.order.id)
        declined = created.declined()
        if declined:
            # Shopify recorded the refund, but its payment gateway refused every
            # transaction: no money moved, the return stays open, and a new
            # attempt (new key) may pay.
            raise RemoteRejectedError(
                f"refundCreate: the payment gateway declined refund {created.id} "
                f"(transactions {', '.join(declined)})", adapter=self.name,
                code=declined[0])
        self._close_refunded(request, created.id)
        return mapping.refund_from_gql(created, refund)

    def _close_refunded(self, request: ReturnRequest | None, refund_id: str) -> None:
        """Close the Shopify return a refund paid (not an exchange's); never raises."""
        if request is None or not request.external_id or request.kind == ReturnKind.EXCHANGE:
            return
        try:
            self.close_return(request)
        except RemoteError:  # the money moved: a return left open must not undo that
            log.warning("shopify: refund %s paid but its return was not closed", refund_id)

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """The order's refund that matches ``refund``, from ``Order.refunds``.

        Shopify deduplicates ``refundCreate`` by its ``@idempotent`` key but
        stores no key on the refund, so this matches **by amount, lines and
        time** (:func:`aftersales.refund_match.same_refund`): the same total
        in the refund's own currency (presentment or shop money), the same
        line items and quantities, created no earlier than the pending
        refund was recorded, and not one of the ids the store already holds
        (``exclude``). A refund whose transactions the gateway all declined
        paid nothing and never matches. ``keys`` cannot be matched and are
        ignored.

        A match is a refund whose answer was lost, so what :meth:`refund`
        does after a payment is done here: the Shopify return is closed.
        """
        data = self.client.graphql(ORDER_REFUNDS, {"id": mapping.gid("Order", refund.order_id)})
        order = data.get("order")
        if not isinstance(order, dict):
            raise RemoteNotFoundError(f"no order {refund.order_id}", adapter=self.name)
        # another order's refunds must never settle this one as paid
        _same("order", mapping.gid("Order", refund.order_id), order.get("id"))
        known = {mapping.numeric_id(x) for x in exclude}
        refunds = order.get("refunds") or []
        if not isinstance(refunds, list):
            raise ResponseParseError("Order.refunds is not a list", adapter=self.name)
        if len(refunds) >= ORDER_REFUNDS_READ:
            # a plain list without pageInfo: the refund paid may be past the ones read,
            # and "not found" would have it paid twice
            raise ResponseParseError(
                f"order {refund.order_id} has {ORDER_REFUNDS_READ} refunds or more; "
                f"only the first {ORDER_REFUNDS_READ} can be read", adapter=self.name,
                code="LONGER_THAN_READ")
        for raw in refunds:
            listed: GqlListedRefund = self._parse(GqlListedRefund, raw)
            if mapping.numeric_id(listed.id) in known or listed.declined():
                continue  # already held, or declined by the gateway (it paid nothing)
            bag = listed.totalRefundedSet
            money = next((m for m in ([bag.presentmentMoney, bag.shopMoney] if bag else [])
                          if m is not None and m.currencyCode.upper() == refund.amount.currency),
                         None)
            lines: dict[str, int] = {}
            for node in listed.refundLineItems.whole(
                    f"the refundLineItems of refund {listed.id}"):
                if node.lineItem is not None:
                    lid = mapping.numeric_id(node.lineItem.id)
                    lines[lid] = lines.get(lid, 0) + node.quantity
            if same_refund(refund, amount=Money(money.amount, money.currencyCode)
                           if money else None, lines=lines, created_at=listed.createdAt):
                self._close_refunded(request, listed.id)
                return mapping.refund_from_gql(listed, refund)
        return None

    def close_return(self, request: ReturnRequest) -> None:
        """``returnClose``; a return that is already closed is left as it is."""
        try:
            _payload(self.client.graphql(CLOSE, {"id": self._return_id(request)},
                                         mutation=True), "returnClose")
        except RemoteRejectedError as exc:
            if exc.code != "INVALID_STATE":
                raise

    # ------------------------------------------------------------ webhooks

    def parse_returns_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> webhooks.ReturnEvent:
        """Verify with ``webhook_secret`` and parse a ``returns/*`` webhook."""
        return webhooks.parse_returns_webhook(body, headers, secret=self._secret(),
                                              store=self.name)

    def parse_fulfillment_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> tuple[str, list[Shipment]]:
        """Verify with ``webhook_secret`` and parse a ``fulfillments/*`` webhook."""
        return webhooks.parse_fulfillment_webhook(body, headers, secret=self._secret())

    # ------------------------------------------------------------ helpers

    def _secret(self) -> str:
        return self.settings.require("webhook_secret", "verify webhooks")

    def _return_id(self, request: ReturnRequest) -> str:
        if not request.external_id:
            raise RemoteRejectedError("the request has no Shopify return id",
                                      adapter=self.name, code="NO_RETURN_ID")
        return mapping.gid("Return", request.external_id)

    def _parse(self, model: Any, data: Any) -> Any:
        """``data`` as ``model``, or ResponseParseError naming the field, never the value."""
        name = getattr(model, "__name__", "payload")
        return read_answer(model, data, adapter=self.name, payload=f"shopify {name}")


_REST_ID = re.compile(r"(?:gid://shopify/[A-Za-z]+/)?(\d{1,19})", re.ASCII)


def _rest_id(value: str, field: str = "order_id") -> str:
    """The numeric id in ``value`` (digits, or a Shopify GID), refused before any call
    when it is neither: it goes into a REST path or a refund's lines, where
    ``12/../34`` read as ``34`` would name another record."""
    match = _REST_ID.fullmatch(str(value).strip())
    if match is None:
        raise ValidationError("not a Shopify id", field=field, payload="shopify")
    return match.group(1)


def _same(kind: str, wanted: str | int, got: Any) -> None:
    """Refuse an answer about another record than the one asked for (before any write)."""
    if got is None or mapping.numeric_id(str(got)) != mapping.numeric_id(str(wanted)):
        raise ResponseParseError(f"Shopify answered for another {kind} than the one asked for",
                                 adapter="shopify", code="WRONG_RECORD")


def _listed(body: Any, key: str) -> list[Any]:
    """The list under ``key`` of a REST answer: one without it is no empty page."""
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ResponseParseError(f"REST answer has no {key} list", adapter="shopify")
    return items
