"""``DouyinMarketplace``: Douyin Shop (抖店) shops through the open platform.

Paths, parameters, statuses, types and field spellings checked against the
official Go SDK (doudian-sdk-golang 1.1.0 as vendored in zsmhub/doudian-sdk
at b020c051, request and response structs of each path below) and the
official Java SDK's auto-generated classes (doudian-sdk-java 1.1.0,
``com.doudian.open.api.*``, whose field examples are this adapter's
platform-sourced fixtures) on 2026-12-02. ``afterSale/operate``'s ``type``
values are listed only in its usage guide (op.jinritemai.com
question-docs/93/2752), which both SDKs point to and which is not in the
material checked: the SDKs' field notes confirm 101, 301 and 311 (the
``logistics`` they need) and the Java SDK's example of ``type`` is 111; the
others are as the guide is quoted elsewhere (see :data:`OPERATE`). No type
for 价保, 补寄 or 维修 is known: those requests are refused naming their kind.
"""

from __future__ import annotations

import base64
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
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.evidence import Evidence, choose_refusal_reason
from aftersales.interfaces import Capability
from aftersales.models import (
    Order,
    Page,
    ParcelStatus,
    PlatformDeadline,
    Refund,
    RefusalReason,
    ReturnKind,
    ReturnRequest,
    Shipment,
    Tracking,
    TrackingEvent,
)
from aftersales.money import from_fen, to_fen
from aftersales.multipart import FilePart
from aftersales.paging import (
    Watermark,
    window_newest_first,
    windowed_pages,
)
from aftersales_douyin import mapping
from aftersales_douyin.client import DouyinClient
from aftersales_douyin.schemas import (
    AftersaleDetail,
    RejectReason,
    ShopOrder,
    TrackDetail,
)
from aftersales_douyin.schemas import parse as parse_wire
from aftersales_douyin.settings import DouyinSettings

__all__ = ["OPERATE", "DouyinMarketplace"]

#: ``afterSale/operate`` types: (what, kind, status it acts on) → type.
#: Confirmed by the official SDKs: 101 and 301 (their ``logistics`` note:
#: "当前type=101，301，311是该集合需要传值"; 311 is 仅换货, not used here) and
#: 111 (the Java SDK's example of ``type``, without its meaning). The others
#: follow the usage guide as quoted elsewhere, unconfirmed by an official
#: source; a third-party PHP SDK (renhonghai/doudian-sdk) names 201
#: "发货后同意仅退款" and 202 "拒绝仅退款" the same way.
OPERATE: dict[tuple[str, ReturnKind, int], int] = {
    ("agree", ReturnKind.RETURN, 6): 101,  # 同意退货申请 [SDK: needs logistics]
    ("refuse", ReturnKind.RETURN, 6): 102,  # 拒绝退货申请 [guide]
    ("agree", ReturnKind.RETURN, 11): 111,  # 同意退款 (goods received) [SDK example value]
    ("refuse", ReturnKind.RETURN, 11): 112,  # 拒绝退款 (goods refused) [guide]
    ("agree", ReturnKind.REFUND_ONLY, 6): 201,  # 同意仅退款 [guide; third-party SDK]
    ("refuse", ReturnKind.REFUND_ONLY, 6): 202,  # 拒绝仅退款 [guide; third-party SDK]
    ("agree", ReturnKind.EXCHANGE, 6): 301,  # 同意换货申请 [SDK: needs logistics]
    ("refuse", ReturnKind.EXCHANGE, 6): 302,  # 拒绝换货申请 [guide]
}
#: Evidence pictures afterSale/submitEvidence takes ("凭证，最多四张").
MAX_EVIDENCE = 4
#: Statuses in which Douyin surely has not paid (with refund_status not 2, 3 or 5).
_UNPAID = frozenset({6, 7, 11, 27, 28, 29})
_PAID_STATUS = 12
#: Words of route nodes and the parcel status each means (the state codes'
#: table, question-docs/94/1642, which the SDKs point to, was not in the
#: material checked; the words are the carriers' own).
_ROUTE_WORDS: tuple[tuple[str, ParcelStatus], ...] = (
    ("签收", ParcelStatus.DELIVERED),
    ("派送", ParcelStatus.OUT_FOR_DELIVERY),
    ("派件", ParcelStatus.OUT_FOR_DELIVERY),
    ("揽收", ParcelStatus.PICKED_UP),
    ("揽件", ParcelStatus.PICKED_UP),
)
_ORDER_HORIZON = timedelta(days=90)
#: Picture material review states (material/uploadImageSync ``audit_status``):
#: 1 waiting, 2 under review, 3 passed, 4 refused.
_AUDIT_PASSED = 3
_AUDIT_REFUSED = frozenset({4})


class DouyinMarketplace(ClientMarketplace[DouyinSettings, DouyinClient]):
    """Douyin Shop open platform (抖店开放平台), API ``v=2``, HMAC-SHA256 signed.

    Docs: https://op.jinritemai.com (API reference per path below).
    Alias ``douyin``. Capabilities:

    * ``list_returns``: afterSale/List by update time (windows of at most a
      day, pages from 0 of at most 100, newest first, read from the last back);
    * ``get_return``: afterSale/Detail, mapped as the listing maps a request;
    * ``approve_return``: afterSale/operate 101 (return) or 301 (exchange)
      with the shop's ``return_address_id``; a refund-only request has no
      approval of its own (agreeing *is* paying), so approving one checks it
      still awaits the shop and :meth:`refund` pays;
    * ``reject_return``: afterSale/operate 102/112/202/302 with a reason code
      from afterSale/rejectReasonCodeList and evidence links;
    * ``refund``: afterSale/operate 201 (refund only) or 111 (goods back),
      with ``update_time`` as the version check; the state is read first and
      before any repeat, so it pays once;
    * ``confirm_return_received``: afterSale/returnGoodsToWareHouseSuccess;
    * ``list_refusal_reasons``, ``submit_evidence`` (afterSale/submitEvidence,
      at most four pictures), ``extend_deadline`` (afterSale/timeExtend);
    * ``list_orders`` / ``get_order`` / ``list_shipments``: order/searchList
      and order/orderDetail; :meth:`trace` (logistics/trackNoRouteDetail) and
      :meth:`intercept` (afterSale/applyLogisticsIntercept, 快递拦截).

    Pictures given as files are uploaded first (:meth:`upload_picture`).
    Not supported: reviews, buyer messages, exchange shipping.
    """

    name = "douyin"
    settings_class = DouyinSettings
    client_class = DouyinClient
    pays_asked: ClassVar[bool] = True  # afterSale/operate takes no amount
    capabilities: frozenset[Capability] = frozenset({
        Capability.LIST_RETURNS, Capability.GET_RETURN, Capability.APPROVE_RETURN,
        Capability.REJECT_RETURN, Capability.REFUND, Capability.CONFIRM_RETURN_RECEIVED,
        Capability.LIST_ORDERS,
        Capability.GET_ORDER, Capability.LIST_SHIPMENTS, Capability.LIST_REFUSAL_REASONS,
        Capability.SUBMIT_EVIDENCE, Capability.EXTEND_DEADLINE,
    })
    raw_return_statuses: ClassVar[tuple[str, ...]] = tuple(str(c) for c in mapping.STATUSES)
    return_status_table: ClassVar[dict[str, Any]] = {
        str(code): status for code, status in mapping.STATUSES.items()}

    # ------------------------------------------------------------------ listings

    def _listing(self, path: str, extra: dict[str, Any], keys: tuple[str, str],
                 cursor: str | None,
                 parse: Callable[[dict[str, Any]], tuple[list[Any], int | None]],
                 stamp: Callable[[Any], tuple[datetime, str]],
                 lookback: timedelta) -> Iterator[Page[Any]]:
        s = self.settings
        start = Watermark.from_cursor(cursor, adapter=self.name)

        def window(since: datetime, until: datetime) -> list[Any]:
            def fetch(page: int) -> tuple[list[Any], int | None]:
                return parse(self.client.call(path, {
                    **extra, keys[0]: int(since.timestamp()), keys[1]: int(until.timestamp()),
                    "page": page - 1, "size": s.page_size}))  # Douyin counts pages from 0
            return window_newest_first(fetch, s.page_size, stamp)

        return windowed_pages(start, window, stamp, clock=self.clock, lag=s.lag,
                              lookback=lookback, width=s.window, size=s.page_size)

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """After-sales requests changed after ``cursor``, oldest change first.

        The cursor is a watermark (time and ids seen at it), so resuming
        misses and repeats nothing; listing starts ``lookback`` ago without one.
        """
        return self._listing(
            "/afterSale/List", {"order_by": ["update_time desc"], "need_special_type": True},
            ("update_start_time", "update_end_time"), cursor,
            lambda d: mapping.requests_page(d, self.name), mapping.request_stamp,
            self.settings.lookback)

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        """Shop orders changed after ``cursor`` (order/searchList, the last three months)."""
        def parse(data: dict[str, Any]) -> tuple[list[Order], int | None]:
            listed = data.get("shop_order_list") or []
            if not isinstance(listed, list):
                raise ValidationError("not a list", field="shop_order_list",
                                      payload="douyin order/searchList")
            found = [mapping.to_order(parse_wire(ShopOrder, o, payload="douyin order/searchList"),
                                       self.name)
                     for o in listed]
            total = data.get("total")
            known = total if isinstance(total, int) and not isinstance(total, bool) else None
            return found, mapping.trusted_total(known, len(found), None,
                                                has_more=data.get("has_more") is True)

        return self._listing(
            "/order/searchList", {"order_by": "update_time", "order_asc": False},
            ("update_time_start", "update_time_end"), cursor, parse,
            lambda o: (o.updated_at, o.external_id),
            min(self.settings.lookback, _ORDER_HORIZON))

    def get_order(self, order_id: str) -> Order:
        """One shop order with its SKU orders (order/orderDetail)."""
        data = self.client.call("/order/orderDetail", {"shop_order_id": order_id})
        detail = data.get("shop_order_detail")
        if not detail:
            raise RemoteNotFoundError(f"no order {order_id}", adapter=self.name)
        return mapping.to_order(parse_wire(ShopOrder, detail, payload="douyin order/orderDetail"),
                                self.name)

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """The order's outbound parcels (empty before it ships)."""
        return self.get_order(order_id).shipments

    # ------------------------------------------------------------------ reads

    def _id(self, request: ReturnRequest) -> str:
        if not request.external_id:
            raise ValidationError(
                "a Douyin action needs the after-sales id (external_id) of the request",
                field="external_id", payload="douyin return request")
        return request.external_id

    def _number_id(self, request: ReturnRequest) -> int:
        """The after-sales id as the number Douyin's write calls take."""
        text = self._id(request).strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 20):
            raise ValidationError("a Douyin after-sales id is a number",
                                  field="external_id", payload="douyin return request")
        return int(text)

    def fetch_detail(self, request: ReturnRequest) -> AftersaleDetail:
        """The after-sales request as Douyin holds it now (afterSale/Detail)."""
        return self._detail(self._id(request))

    def _detail(self, after_sale_id: str) -> AftersaleDetail:
        data = self.client.call("/afterSale/Detail", {"after_sale_id": after_sale_id})
        if not data.get("process_info"):
            raise RemoteNotFoundError(f"no after-sale {after_sale_id}", adapter=self.name)
        return parse_wire(AftersaleDetail, data, payload="douyin afterSale/Detail")

    def get_return(self, external_id: str) -> ReturnRequest:
        """One after-sales request as Douyin holds it now (``GET_RETURN``, afterSale/Detail).

        Mapped as the listing maps it (:func:`~aftersales_douyin.mapping.detail_to_request`),
        so a request read here equals the one a sync reads from afterSale/List.

        Raises:
            ValidationError: an empty id.
            RemoteNotFoundError: Douyin has no such request.
        """
        if not external_id.strip():
            raise ValidationError("a Douyin after-sales id is needed", field="external_id",
                                  payload="douyin afterSale/Detail")
        return mapping.detail_to_request(self._detail(external_id), self.name)

    def refusal_reasons(self, request: ReturnRequest) -> list[RefusalReason]:
        """The reasons Douyin offers for refusing this request (afterSale/rejectReasonCodeList).

        Douyin lists them only for shipped orders; an order not yet shipped
        gets an empty list.
        """
        data = self.client.call("/afterSale/rejectReasonCodeList",
                                {"aftersale_id": self._number_id(request)})
        items = data.get("items") or []
        if not isinstance(items, list):
            raise ValidationError("not a list", field="items",
                                  payload="douyin afterSale/rejectReasonCodeList")
        return [mapping.reject_reason(parse_wire(RejectReason, r,
                                            payload="douyin afterSale/rejectReasonCodeList"))
                for r in items]

    # ------------------------------------------------------------------ actions

    def _operate(self, type_code: int, item: dict[str, Any]) -> None:
        data = self.client.call("/afterSale/operate", {"type": type_code, "items": [item]},
                                write=True)
        for result in data.get("items") or []:
            if not isinstance(result, dict) or result.get("status_code") in (None, ""):
                continue
            code = result["status_code"]
            if (code if isinstance(code, int) else str(code).strip()) not in (0, "0"):
                raise RemoteRejectedError(
                    f"afterSale/operate {type_code}: {result.get('status_msg') or 'refused'}",
                    adapter=self.name, code=str(result.get("status_code")))

    def _type(self, what: str, kind: ReturnKind, status: int) -> int:
        code = OPERATE.get((what, kind, status))
        if code is None:
            raise UnsupportedOperationError(
                self.name, f"{what} a {kind.value} request in Douyin status {status}")
        return code

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """Agree the return or exchange; for a refund-only request, check it awaits the shop."""
        fresh = self.fetch_detail(request).process_info.after_sale_info
        kind = mapping.kind_of(fresh.after_sale_type)
        if fresh.after_sale_status != 6:
            if fresh.after_sale_status in (7, 11, 12, 3, 8, 13, 14):
                return  # already agreed (and perhaps further)
            raise RemoteRejectedError(
                f"after-sales status {fresh.after_sale_status} cannot be approved",
                adapter=self.name)
        if kind is ReturnKind.REFUND_ONLY:
            return  # agreeing a refund-only request pays it: refund() does that
        code = self._type("agree", kind, 6)
        if self.settings.return_address_id is None:
            raise ConfigurationError(
                "agreeing a return needs the shop's return address id: set "
                "DouyinSettings(return_address_id=...) or DOUYIN_RETURN_ADDRESS_ID")
        self._operate(code, {
            "aftersale_id": fresh.after_sale_id, "update_time": fresh.update_time,
            "logistics": {"receiver_address_id": self.settings.return_address_id},
            **({"remark": note} if note else {})})

    def reject_return(
        self, request: ReturnRequest, *, reason: str, note: str | None = None,
        reason_code: str | None = None, evidence: Evidence | None = None,
    ) -> None:
        """Refuse the request, or the returned goods, with a reason chosen by its code.

        Douyin wants ``reject_reason_code`` from afterSale/rejectReasonCodeList
        (for shipped orders); a listed reason marked ``evidence_need=Y``
        needs pictures. Pictures go as links (``evidence.urls``); files are
        uploaded first (:meth:`upload_picture`).

        Raises:
            ValidationError: no reason text, a code Douyin does not list (the
                listed ones are named), or evidence the reason needs but lacks.
        """
        if not reason.strip():
            raise ValidationError("a refusal needs a reason for the buyer", field="reason")
        fresh = self.fetch_detail(request).process_info.after_sale_info
        if fresh.after_sale_status in (27, 29):
            return  # already refused
        code = self._type("refuse", mapping.kind_of(fresh.after_sale_type),
                          fresh.after_sale_status)
        item: dict[str, Any] = {"aftersale_id": fresh.after_sale_id, "reason": reason.strip(),
                                "remark": (note or reason).strip(),
                                "update_time": fresh.update_time}
        listed = self.refusal_reasons(request)
        chosen = None
        if listed or reason_code is not None:
            chosen = choose_refusal_reason(listed, reason_code, reason if reason_code is None
                                           else None, payload="douyin afterSale/operate")
            item["reject_reason_code"] = int(chosen.code)
        links = self._links(evidence, payload="douyin afterSale/operate", limit=None)
        if chosen is not None and chosen.needs_evidence and not links:
            raise ValidationError(f"Douyin wants pictures with reason {chosen.code} "
                                  f"({chosen.tips or chosen.text})", field="evidence",
                                  payload="douyin afterSale/operate")
        if links:
            desc = (evidence.text if evidence else "").strip()
            item["evidence"] = [{"type": 1, "url": u, **({"desc": desc} if desc else {})}
                                for u in links]
        self._operate(code, item)

    def submit_evidence(self, request: ReturnRequest, evidence: Evidence) -> None:
        """Add the shop's evidence to the request (afterSale/submitEvidence, ≤ 4 pictures)."""
        links = self._links(evidence, payload="douyin afterSale/submitEvidence",
                            limit=MAX_EVIDENCE)
        self.client.call("/afterSale/submitEvidence", {
            "aftersale_id": self._number_id(request), "comment": evidence.text.strip(),
            "evidence": links}, write=True)

    def _links(self, evidence: Evidence | None, *, payload: str, limit: int | None) -> list[str]:
        if not evidence:
            return []
        checked = evidence.checked(payload=payload, max_pictures=limit or 99)
        return [*checked.urls, *(self.upload_picture(p) for p in checked.pictures)]

    def upload_picture(self, picture: FilePart) -> str:
        """Upload a picture file and return its link on Douyin's image store.

        open/binaryupload is sent as the official SDKs send every call: a
        JSON body (signed as ``param_json``) whose ``file_content`` is a
        string; the SDKs document it only as "二进制内容，utf-8编码" and type
        it as a string, so the bytes go base64-encoded, the one lossless way
        to carry them in a JSON string (the encoding itself is not confirmed
        by an official source). It answers a ``store_uri``, which
        material/uploadImageSync turns into a picture material. That answer's
        ``byte_url`` is documented as withdrawn (【已下线】): the link is read
        from material/queryMaterialDetail once the review passed
        (``audit_status`` 3), as the SDK's field note says.

        Raises:
            RemoteRejectedError: the picture awaits or failed Douyin's review
                (the material id is named, to pass its link later).
        """
        content = base64.b64encode(picture.content).decode("ascii")
        stored = self.client.call("/open/binaryupload", {"file_content": content}, write=True)
        uri = stored.get("store_uri")
        if not uri:
            raise ResponseParseError("open/binaryupload answered no store_uri",
                                     adapter=self.name)
        material = self.client.call("/material/uploadImageSync", {
            "folder_id": "0", "file_uri": uri, "material_name": picture.filename[:50],
            "need_distinct": True}, write=True)
        status, url = material.get("audit_status"), material.get("byte_url")
        if status == _AUDIT_PASSED and url:
            return str(url)
        material_id = material.get("material_id")
        if material_id and status not in _AUDIT_REFUSED:
            detail = self.client.call("/material/queryMaterialDetail",
                                      {"material_id": str(material_id)})
            info = detail.get("material_info") or {}
            status, url = info.get("audit_status", status), info.get("byte_url")
            if status == _AUDIT_PASSED and url:
                return str(url)
        raise RemoteRejectedError(
            f"picture {picture.filename} is not through Douyin's review (material "
            f"{material_id}, audit status {status}: 1-2 waiting, 4 refused); send its "
            "link once approved", adapter=self.name, code="material-review")

    def extend_deadline(self, request: ReturnRequest,
                        by: timedelta | None = None) -> PlatformDeadline:
        """Ask for Douyin's extension of the request's deadline (afterSale/timeExtend).

        Douyin decides how much more time it gives: ``by`` cannot be chosen.
        The new deadline is read back from afterSale/Detail.
        """
        if by is not None:
            raise ValidationError("Douyin extends by its own rule; by= cannot be chosen",
                                  field="by", payload="douyin afterSale/timeExtend")
        self.client.call("/afterSale/timeExtend", {"aftersale_id": self._number_id(request)},
                         write=True)
        info = self.fetch_detail(request).process_info.after_sale_info
        due = mapping.moment(info.status_deadline)
        if due is None:
            raise ResponseParseError("afterSale/Detail gives no deadline after the extension",
                                     adapter=self.name)
        return PlatformDeadline(due_at=due, status=mapping.detail_status(info),
                                raw_status=str(info.after_sale_status),
                                extendable=info.after_sale_status in mapping.EXTENDABLE)

    def confirm_return_received(self, request: ReturnRequest) -> None:
        """Tell Douyin the returned goods are in the warehouse
        (afterSale/returnGoodsToWareHouseSuccess)."""
        params: dict[str, Any] = {"aftersale_id": self._id(request),
                                  "op_time": int(self.clock().timestamp())}
        if request.return_tracking_number:
            params["tracking_no"] = request.return_tracking_number
        self.client.call("/afterSale/returnGoodsToWareHouseSuccess", params, write=True)

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """Agree the buyer's refund (afterSale/operate 201 or 111); a repeat never pays twice.

        Douyin pays what the buyer asked; a refund for another amount is
        refused before anything is sent. The state is read first: one
        already paid or being paid is returned as paid. If the agree fails
        in a way that may have reached Douyin, the state is read again and
        the agree re-sent only when it still awaits the shop; ``update_time``
        makes Douyin refuse an agree on a changed request.
        """
        if request is None:
            raise ValidationError("Douyin pays only against a buyer's after-sales request",
                                  field="request")
        to_fen(refund.amount)  # a fraction of a fen is refused before any call
        for attempt in (1, 2):
            fresh = self.fetch_detail(request).process_info.after_sale_info
            if self._paid_state(fresh.after_sale_status, fresh.refund_status):
                return self._paid(refund, fresh.after_sale_id, str(fresh.after_sale_status))
            kind = mapping.kind_of(fresh.after_sale_type)
            code = self._type("agree", kind, fresh.after_sale_status)
            if code not in (111, 201):
                raise RemoteRejectedError(
                    f"after-sales status {fresh.after_sale_status} cannot be paid",
                    adapter=self.name)
            asked = (from_fen(fresh.refund_total_amount, mapping.CURRENCY)
                     if fresh.refund_total_amount else request.requested_amount)
            if asked is not None:
                check_asked(refund.amount, asked, platform="Douyin",
                            request=f"after-sales {fresh.after_sale_id}")
            try:
                self._operate(code, {"aftersale_id": fresh.after_sale_id,
                                     "update_time": fresh.update_time})
            except TransientError:
                if attempt == 2:
                    raise
                continue  # it may have gone through: read the state before any repeat
            return self._paid(refund, fresh.after_sale_id, "12")
        raise AssertionError("unreachable")  # pragma: no cover

    def _paid_state(self, status: int, refund_status: int | None) -> bool:
        if refund_status and refund_status not in mapping.REFUND_STATUSES:
            # A refund state the table does not know may be one of paying: never
            # read as "surely not paid", which would let a refund be sent again.
            raise ResponseParseError(
                f"refund state {refund_status} cannot tell whether it was paid",
                adapter=self.name, code="refund_status")
        return status == _PAID_STATUS or mapping.REFUND_STATUSES.get(
            refund_status or 0, False) is not False

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """The buyer's after-sales request, if Douyin already paid it (afterSale/Detail).

        Douyin keeps no idempotency key and needs none: a request is paid
        once, when the shop agrees. So the refund is matched **by its
        after-sales id and state**: status 12 or a refund state of paying,
        paid or clawed back (2, 3, 5) means paid; a state that awaits the
        shop, refused or failed means surely not. Any other state cannot
        tell and raises, leaving the refund pending.
        """
        if request is None:
            return None  # refund() refuses to pay without one: nothing was sent
        fresh = self.fetch_detail(request).process_info.after_sale_info
        if self._paid_state(fresh.after_sale_status, fresh.refund_status):
            return self._paid(refund, fresh.after_sale_id, str(fresh.after_sale_status))
        if fresh.after_sale_status in _UNPAID:
            return None
        raise ResponseParseError(
            f"after-sales status {fresh.after_sale_status} cannot tell whether it was paid",
            adapter=self.name)

    @staticmethod
    def _paid(refund: Refund, after_sale_id: str, status: str) -> Refund:
        return refund.model_copy(update={"external_id": after_sale_id, "raw_status": status})

    # ------------------------------------------------------------------ logistics

    def trace(self, tracking_no: str, company_code: str) -> Tracking:
        """A parcel's route as Douyin's logistics tells it (logistics/trackNoRouteDetail)."""
        data = self.client.call("/logistics/trackNoRouteDetail",
                                {"logistics_code": company_code, "track_no": tracking_no})
        track = TrackDetail.parse(data)
        events = []
        for node in track.route_node_list:
            status = next((s for word, s in _ROUTE_WORDS if word in node.content),
                          ParcelStatus.IN_TRANSIT)
            when = mapping.route_moment(node.timestamp)
            if when is not None:
                events.append(TrackingEvent(time=when, status=status, description=node.content,
                                            location=node.site_name or None,
                                            raw_code=node.state or None))
        events.sort(key=lambda e: e.time)
        last = events[-1].status if events else ParcelStatus.PENDING
        return Tracking(carrier=company_code.lower() or None, number=tracking_no, status=last,
                        events=events, provider=self.name,
                        delivered_at=events[-1].time if last is ParcelStatus.DELIVERED else None)

    def intercept(self, request: ReturnRequest, tracking_no: str, company_code: str) -> bool:
        """Ask the carrier to stop the outbound parcel (快递拦截).

        afterSale/applyLogisticsIntercept, from the shop (``op_from`` 1).

        Returns:
            Whether Douyin reports the interception as made.
        """
        data = self.client.call("/afterSale/applyLogisticsIntercept", {
            "after_sale_id": self._number_id(request), "op_from": 1,
            "intercept_targets": [{"company_code": company_code, "tracking_no": tracking_no}]},
            write=True)
        count = data.get("success_count") or 0
        if isinstance(count, bool) or not isinstance(count, int):
            raise ResponseParseError("afterSale/applyLogisticsIntercept: success_count is not "
                                     "a whole number", adapter=self.name)
        return count > 0
