"""``JdMarketplace``: JD (京东) POP shops through the JOS router.

API names, parameters and status lists checked against the JOS API
reference as the official SDKs' request classes carry it
(``com.jd.open.api.sdk``, the JD Python SDK's ``jd.api.rest``) on 2026-12-02.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from aftersales.adapter_setup import ClientMarketplace
from aftersales.asked_refunds import check_asked
from aftersales.errors import (
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
    ValidationError,
)
from aftersales.evidence import Evidence, refuse_unsent
from aftersales.interfaces import Capability
from aftersales.models import (
    Order,
    Page,
    Refund,
    RefusalReason,
    ReturnRequest,
    Review,
    Shipment,
)
from aftersales.paging import (
    Watermark,
    window_newest_first,
    windowed_pages,
)
from aftersales.wire import china_text, record_name, whole_fen
from aftersales_jd import mapping
from aftersales_jd.client import JdClient
from aftersales_jd.schemas import (
    JdComment,
    JdOrder,
    RefundApply,
    RefundApplyResult,
    ServicePage,
    read,
)
from aftersales_jd.services import NO_RECEIVE_CODES, ServiceOrders
from aftersales_jd.settings import JdSettings

__all__ = ["JdMarketplace"]

_REFUND_LIST = "jingdong.pop.afs.soa.refundapply.queryPageList"
_REFUND_GET = "jingdong.pop.afs.soa.refundapply.queryById"
_REFUND_REPLY = "jingdong.pop.afs.soa.refundapply.replyRefund"
_SERVICE_LIST = "jingdong.asc.query.list"
_COMMENTS = "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos"
_REPLY = "jingdong.pop.PopCommentJsfService.saveReply"
_ORDER_GET = "jingdong.pop.order.get"
_ORDER_FIELDS = ("orderId,orderState,orderTotalPrice,orderPayment,freightPrice,sellerDiscount,"
                 "orderStartTime,orderEndTime,modified,waybill,logisticsId,itemInfoList")


class _CommentPage(BaseModel):
    """getVenderCommentsForJos's answer: the comments and their total."""

    model_config = ConfigDict(extra="ignore")

    comments: list[JdComment] | None = None
    totalItem: int | None = None

    @property
    def items(self) -> list[JdComment]:
        return self.comments or []


def _inner(body: dict[str, Any], key: str, method: str, adapter: str) -> Any:
    """The result object ``key`` of a ``*_responce``; never an empty success by default.

    JOS answers a refused business call inside the envelope with a ``code``
    other than ``0`` and no result object: that is the platform's refusal,
    and an answer with neither is not one the adapter can read.

    Raises:
        RemoteRejectedError: a ``code`` other than 0 and no result object.
        ResponseParseError: no result object and no code.
    """
    found = body.get(key)
    if found is not None:
        return found
    code = body.get("code")
    if code is not None and str(code) != "0":
        words = body.get("zh_desc") or body.get("errorMessage") or body.get("msg") or "refused"
        raise RemoteRejectedError(f"{method}: {words}", adapter=adapter, code=str(code))
    raise ResponseParseError(f"{method}: the answer has no {key}", adapter=adapter)


class JdMarketplace(ClientMarketplace[JdSettings, JdClient]):
    """JD open platform (JOS), router ``v=2.0``.

    Docs: https://open.jd.com (API reference per method below). Alias ``jd``.
    Two kinds of request are listed together, each keeping its kind in its id:

    * ``refund-<id>``: refund applications before shipment (退款审核单,
      jingdong.pop.afs.soa.refundapply.queryPageList / queryById), refund
      only. Approving one *is* refunding it (replyRefund ``status=1``), so
      ``approve_return`` only checks it awaits the shop and ``refund`` pays;
      ``reject_return`` answers ``status=2`` with a ``rejectType`` chosen by
      code among :meth:`refusal_reasons` (:data:`~aftersales_jd.mapping.REJECT_TYPES`);
      such a request's ``stage`` is ``not_shipped``;
    * ``afs-<serviceId>``: after-sales service orders (服务单,
      jingdong.asc.query.list by update time; needs ``vender_id``), listed
      and mapped (statuses, expectations: 退货, 换货, 维修, 补发 …). Review is
      wired (:mod:`aftersales_jd.services`): ``reject_return`` is
      jingdong.asc.audit.refuse with a review reason code, ``approve_return``
      of a return, exchange or repair is jingdong.asc.audit.send to the
      shop's return address. ``confirm_return_received`` registers the
      goods (拆包登记, jingdong.asc.receive.register) with the shop's own
      ``receive_codes`` and is declared only when the settings hold them:
      JD publishes the lists of those codes nowhere checked. Processing
      (jingdong.asc.process.*: 换新, 原返 for repairs) and refunding service
      orders are not wired: each raises ``UnsupportedOperationError`` naming
      the call and the code list it lacks.

    ``get_return`` reads either kind by its id as the listing maps it
    (queryById with the order's lines; jingdong.asc.query.list by ``serviceId``).

    Also: ``get_order`` / ``list_shipments`` (jingdong.pop.order.get),
    ``list_reviews`` / ``reply_review`` (getVenderCommentsForJos, saveReply).
    Not supported: listing orders, shipping an exchange or a repaired item,
    messaging buyers.
    """

    name = "jd"
    settings_class = JdSettings
    client_class = JdClient
    pays_asked: ClassVar[bool] = True  # refundapply.replyRefund takes no amount
    capabilities: frozenset[Capability] = frozenset({
        Capability.GET_ORDER,
        Capability.LIST_RETURNS,
        Capability.GET_RETURN,
        Capability.APPROVE_RETURN,
        Capability.REJECT_RETURN,
        Capability.LIST_REFUSAL_REASONS,
        Capability.REFUND,
        Capability.LIST_SHIPMENTS,
        Capability.LIST_REVIEWS,
        Capability.REPLY_REVIEW,
    })
    raw_return_statuses: ClassVar[tuple[str, ...]] = (
        *(str(c) for c in mapping.REFUND_STATUSES),
        *(f"afs:{c}" for c in mapping.SERVICE_STATUSES),
    )

    def connected(self) -> None:
        """Service orders, and the capabilities the settings give."""
        self.services = ServiceOrders(self.client, self.settings, self.name)
        if self.settings.receive_codes and self.settings.vender_id:
            self.capabilities = type(self).capabilities | {
                Capability.CONFIRM_RETURN_RECEIVED}
        #: orders read while listing, so one order is read once per listing run
        self._orders: dict[str, Order] = {}

    @staticmethod
    def map_return_status(raw: str) -> Any:
        """The canonical status of a raw status (``afs:<code>`` for service orders)."""
        code = raw[4:] if raw.startswith("afs:") else raw
        if not (code.isascii() and code.isdigit() and len(code) <= 9):
            raise ValidationError("not a JD status code", field="raw_status",
                                  payload="jd return status")
        if raw.startswith("afs:"):
            return mapping.service_status(int(code))
        return mapping.refund_status(int(code))

    # ------------------------------------------------------------------ listings

    def _watermarked(self, cursor: str | None, lookback: timedelta,
                     window: Callable[[datetime, datetime], list[Any]],
                     stamp: Callable[[Any], tuple[datetime, str]]) -> Iterator[Page[Any]]:
        s = self.settings
        return windowed_pages(Watermark.from_cursor(cursor, adapter=self.name), window, stamp,
                              clock=self.clock, lag=s.lag, lookback=lookback, width=s.window,
                              size=s.page_size)

    def _refund_window(self, since: datetime, until: datetime) -> list[ReturnRequest]:
        found: dict[str, ReturnRequest] = {}
        for start_key, end_key in (("applyTimeStart", "applyTimeEnd"),
                                   ("checkTimeStart", "checkTimeEnd")):
            def fetch(page: int, a: str = start_key, b: str = end_key) -> tuple[
                    list[ReturnRequest], int | None]:
                body = self.client.call(_REFUND_LIST, {
                    a: china_text(since, field="since"), b: china_text(until, field="until"),
                    "pageIndex": page, "pageSize": self.settings.page_size})
                result = self._query_result(body, _REFUND_LIST)
                return ([mapping.refund_to_request(r, self.name) for r in result.result],
                        result.totalCount)
            for item in window_newest_first(fetch, self.settings.page_size,
                                            mapping.request_stamp):
                found[item.external_id or ""] = item
        # an application changed in this window (applied or checked in it), by its own stamp
        mine = [r for r in found.values()
                if r.updated_at is not None and since <= r.updated_at <= until]
        return sorted((self._with_order_lines(r) for r in mine), key=mapping.request_stamp)

    def _with_order_lines(self, request: ReturnRequest, *, cached: bool = True) -> ReturnRequest:
        """The application with its order's lines (it names only the order); ``cached``:
        an order this listing run already read is not read again."""
        try:
            order = ((self._orders.get(request.order_id) if cached else None)
                     or self.get_order(request.order_id))
        except RemoteNotFoundError:
            return request  # the order is gone from JD: keep the order-wide line
        self._orders[request.order_id] = order
        return mapping.for_whole_order(request, order)

    def _service_window(self, since: datetime, until: datetime) -> list[ReturnRequest]:
        s = self.settings
        if not s.vender_id:
            return []

        def fetch(page: int) -> tuple[list[ReturnRequest], int | None]:
            body = self.client.call(_SERVICE_LIST, {
                "buId": s.vender_id, "operatePin": s.operator_pin,
                "operateNick": s.operator_name,
                "updateTimeBegin": china_text(since, field="since"),
                "updateTimeEnd": china_text(until, field="until"), "pageNumber": page,
                "pageSize": s.page_size})
            page_result = read(ServicePage, _inner(body, "pageResult", _SERVICE_LIST, self.name),
                               payload=_SERVICE_LIST)
            return ([mapping.service_to_request(b, self.name) for b in page_result.data],
                    page_result.totalCount)
        return window_newest_first(fetch, s.page_size, mapping.request_stamp)

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """Refund applications and service orders changed after ``cursor``, oldest first."""
        self._orders = {}

        def window(since: datetime, until: datetime) -> list[ReturnRequest]:
            both = self._refund_window(since, until) + self._service_window(since, until)
            return sorted(both, key=mapping.request_stamp)
        return self._watermarked(cursor, self.settings.lookback, window, mapping.request_stamp)

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        """Buyers' comments made after ``cursor`` (getVenderCommentsForJos)."""
        size = self.settings.page_size

        def window(since: datetime, until: datetime) -> list[Review]:
            def fetch(page: int) -> tuple[list[Review], int | None]:
                body = self.client.call(_COMMENTS, {
                    "beginTime": china_text(since, field="since"),
                    "endTime": china_text(until, field="until"), "page": page, "pageSize": size})
                got = read(_CommentPage, body, payload=_COMMENTS)
                return ([mapping.comment_to_review(c, self.name) for c in got.items],
                        got.totalItem)
            return window_newest_first(fetch, size, mapping.review_stamp)
        return self._watermarked(cursor, self.settings.lookback, window, mapping.review_stamp)

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        """Answer a comment publicly (saveReply); returns the comment's id.

        saveReply takes no idempotency key and this adapter has no
        ``find_reply``, so a lost answer is not re-sent.
        """
        if not 1 <= len(text.strip()) <= 500:
            raise ValidationError("JD takes 1–500 characters", field="text")
        body = self.client.call(_REPLY, {"commentId": review.external_id,
                                         "content": text.strip()}, write=True)
        self._check_success(body, "reply not saved")
        return review.external_id

    # ------------------------------------------------------------------ orders

    def get_order(self, order_id: str) -> Order:
        """One POP order with its SKU lines (jingdong.pop.order.get)."""
        body = self.client.call(_ORDER_GET, {"order_id": order_id,
                                             "optional_fields": _ORDER_FIELDS})
        detail = body.get("orderDetailInfo") or {}
        info = detail.get("orderInfo") if isinstance(detail, dict) else None
        if not info:
            raise RemoteNotFoundError(f"no order {order_id}", adapter=self.name)
        return mapping.to_order(read(JdOrder, info, payload=_ORDER_GET), self.name)

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """The order's outbound parcel (empty before it ships)."""
        return self.get_order(order_id).shipments

    # ------------------------------------------------------------------ refund applications

    def _query_result(self, body: dict[str, Any], method: str) -> RefundApplyResult:
        result = read(RefundApplyResult, _inner(body, "queryResult", method, self.name),
                      payload=method)
        if not result.success:
            raise RemoteRejectedError(f"{method}: {result.resultDescribe or 'refused'}",
                                      adapter=self.name, code=result.resultCode or None)
        return result

    def _check_success(self, body: dict[str, Any], what: str) -> None:
        for value in body.values():
            if isinstance(value, dict) and value.get("success") is False:
                words = value.get("errorMessage") or value.get("resultDescribe") or ""
                raise RemoteRejectedError(f"{what}: {words}", adapter=self.name,
                                          code=str(value.get("errorCode") or "") or None)

    def _refund_id(self, request: ReturnRequest, operation: str) -> str:
        kind, raw = mapping.split_id(request.external_id or "")
        if kind != "refund":
            raise self._unsupported(f"{operation} of a service order (the jingdong.asc.* "
                                    "group of the JOS SDKs has no refund call)")
        return raw

    def confirm_return_received(self, request: ReturnRequest) -> None:
        """Register a service order's returned goods (拆包登记, jingdong.asc.receive.register).

        Sends the shop's ``receive_codes`` (see :class:`JdSettings`); a repeat,
        or an order already past 10005 待收货, writes nothing.

        Raises:
            UnsupportedOperationError: no ``receive_codes`` or ``vender_id`` in
                the settings, or a refund application before shipment (no goods
                come back).
        """
        if Capability.CONFIRM_RETURN_RECEIVED not in self.capabilities:
            raise self._unsupported(NO_RECEIVE_CODES)
        kind, raw = mapping.split_id(request.external_id or "")
        if kind != "afs":
            raise self._unsupported("confirm_return_received of a refund application "
                                    "before shipment (no goods come back)")
        self.services.receive(raw)

    def ship_exchange(self, request: ReturnRequest, shipment: Shipment) -> Shipment:
        """Not offered: JD's processing calls take codes whose lists are not published.

        Raises:
            UnsupportedOperationError: always, naming the call and the unknown codes.
        """
        raise self._unsupported(
            "ship_exchange (jingdong.asc.process.offline.change 线下换新 and "
            "jingdong.asc.process.back 原返 need opFlag, wareType, repairState and shipWayId "
            "codes, whose lists JD does not publish)")

    def fetch_refund(self, refund_id: str) -> RefundApply:
        """A refund application as JD holds it now (queryById)."""
        result = self._query_result(self.client.call(_REFUND_GET, {"id": refund_id}),
                                    _REFUND_GET)
        if not result.result:
            raise RemoteNotFoundError(f"no refund application {refund_id}", adapter=self.name)
        found = result.result[0]
        if found.id != refund_id:
            # acting on another application's state could pay the wrong one
            raise ResponseParseError(f"{_REFUND_GET} answered for another refund application "
                                     f"than {refund_id}", adapter=self.name)
        return found

    def get_return(self, external_id: str) -> ReturnRequest:
        """One request as JD holds it now (``GET_RETURN``), mapped as the listing maps it.

        ``refund-<id>``: the application by queryById, with its order's lines
        read afresh; ``afs-<serviceId>``: the service order by
        jingdong.asc.query.list with its ``serviceId`` (needs ``vender_id``).

        Raises:
            ValidationError: an id this adapter did not make.
            RemoteNotFoundError: JD has no such request.
        """
        kind, raw = mapping.split_id(external_id)
        if kind == "afs":
            return mapping.service_to_request(self.services.fetch(raw), self.name)
        return self._with_order_lines(mapping.refund_to_request(self.fetch_refund(raw),
                                                                self.name), cached=False)

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """Approve a service order, or check a refund application awaits the shop.

        A service order whose goods come back is approved with
        jingdong.asc.audit.send (a repeat writes nothing); approving a
        refund application *is* refunding it, so here it is only checked.
        """
        kind, raw = mapping.split_id(request.external_id or "")
        if kind == "afs":
            self.services.approve(raw, note=note)
            return
        fresh = self.fetch_refund(self._refund_id(request, "approve_return"))
        if fresh.status != 0 and fresh.status not in mapping.REFUND_PAID:
            raise RemoteRejectedError(f"refund application is {fresh.status}; it cannot be "
                                      "approved", adapter=self.name)

    def refusal_reasons(self, request: ReturnRequest) -> list[RefusalReason]:
        """The refusal codes JD takes for a refund application (replyRefund ``rejectType``).

        A service order's review reasons come from jingdong.asc.audit.reason.list,
        whose answer's shape is not in the material checked: not listed here.
        """
        self._refund_id(request, "refusal_reasons")
        return mapping.refusal_reasons()

    def reject_return(self, request: ReturnRequest, *, reason: str, note: str | None = None,
                      reason_code: str | None = None, evidence: Evidence | None = None) -> None:
        """Refuse a refund application (replyRefund ``status=2``) or a service order.

        For a refund application ``reason_code`` is one of
        :meth:`refusal_reasons`' codes (without it, the listed one whose words
        equal ``reason``, else 5 其他). For a service order it is required: the
        review reason ``"<一级>"`` or ``"<一级>/<二级>"`` of JD's reason list
        (jingdong.asc.audit.refuse ``approveReasonCid1/2``). ``reason`` and
        ``note`` become the remark the buyer sees. Neither call takes
        pictures: evidence is refused before anything is sent.
        """
        if evidence:
            refuse_unsent(self.name, reason_code=None, evidence=evidence)
        remark = (reason if not note else f"{reason}：{note}").strip()
        if not 1 <= len(remark) <= 200:
            raise ValidationError("JD wants a remark of 1–200 characters", field="reason")
        kind, raw = mapping.split_id(request.external_id or "")
        if kind == "afs":
            self.services.refuse(raw, remark=remark, reason_code=reason_code)
            return
        code = mapping.choose_reject_type(reason_code, reason)
        fresh = self.fetch_refund(self._refund_id(request, "reject_return"))
        if fresh.status == 2:
            return
        if fresh.status != 0:
            raise RemoteRejectedError(f"refund application is {fresh.status}; it cannot be "
                                      "refused", adapter=self.name)
        body = self.client.call(_REFUND_REPLY, {
            "id": fresh.id, "status": 2, "rejectType": code, "remark": remark,
            "checkUserName": self.settings.operator_pin}, write=True)
        self._check_success(body, "refusal not saved")

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """Approve a refund application (replyRefund ``status=1``); a repeat never pays twice.

        replyRefund takes no amount (its parameters are ``status``, ``id``,
        ``checkUserName``, ``remark``, ``rejectType``, ``outWareStatus``):
        approving pays what the buyer applied for (``applyRefundSum``). A
        refund of any other amount, more or less, is refused by name
        (:func:`~aftersales.asked_refunds.check_asked`): before any call
        against the application as stored, and again against the sum the
        application reads back before the approval. The state is read first
        and, after a failure that may have reached JD, read again before any
        repeat.
        """
        if request is None:
            raise ValidationError("JD pays only against a buyer's refund application",
                                  field="request")
        refund_id = self._refund_id(request, "refund")
        name = f"refund application {refund_id}"
        if request.requested_amount is not None:
            check_asked(refund.amount, request.requested_amount, platform="JD", request=name)
        for attempt in (1, 2):
            fresh = self.fetch_refund(refund_id)
            if fresh.status in mapping.REFUND_PAID:
                return self._paid(refund, fresh)
            if fresh.status != 0:
                raise RemoteRejectedError(f"refund application is {fresh.status}; it cannot "
                                          "be paid", adapter=self.name)
            asked = whole_fen(fresh.applyRefundSum, field="applyRefundSum",
                              payload=record_name("jd refund application", fresh.id),
                              currency=mapping.CURRENCY)
            check_asked(refund.amount, asked or request.requested_amount, platform="JD",
                        request=name)
            try:
                body = self.client.call(_REFUND_REPLY, {
                    "id": fresh.id, "status": 1, "remark": refund.note or "同意退款",
                    "checkUserName": self.settings.operator_pin}, write=True)
            except TransientError:
                if attempt == 2:
                    raise
                continue  # it may have gone through: read the state before any repeat
            self._check_success(body, "refund not approved")
            return self._paid(refund, fresh, status="1")
        raise AssertionError("unreachable")  # pragma: no cover

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """The refund application, if the shop already approved it.

        JD keeps no idempotency key and needs none: an application is
        refunded once, when approved. So the refund is matched **by the
        application's id and state**: an approved state (1, 3, 5, 6, 9, 16)
        means paid; 未审核, a refusal, a withdrawal or a negotiated close
        means surely not; any other state cannot tell and raises.
        """
        if request is None:
            return None
        fresh = self.fetch_refund(self._refund_id(request, "find_refund"))
        if fresh.status in mapping.REFUND_PAID:
            return self._paid(refund, fresh)
        if fresh.status in mapping.REFUND_UNPAID:
            return None
        raise ResponseParseError(f"refund application state {fresh.status} cannot tell "
                                 "whether it was paid", adapter=self.name)

    @staticmethod
    def _paid(refund: Refund, fresh: RefundApply, status: str | None = None) -> Refund:
        """``refund`` as JD paid it: at the application's own sum (``applyRefundSum``).

        Approving pays what the application asks, whatever was sent; one approved
        in the seller console may have been for another sum than the refund's, and
        the core then records what was paid and says so (``AMOUNT_MISMATCH``).
        """
        paid = whole_fen(fresh.applyRefundSum, field="applyRefundSum",
                         payload=record_name("jd refund application", fresh.id),
                         currency=mapping.CURRENCY)
        return refund.model_copy(update={"external_id": f"{mapping.REFUND_PREFIX}{fresh.id}",
                                         "raw_status": status or str(fresh.status),
                                         "amount": paid or refund.amount})
