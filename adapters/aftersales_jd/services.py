"""Reviewing JD after-sales service orders (服务单, ``afs-<serviceId>``).

Two review calls of the 商家售后服务 API group are wired, with parameter
names as the JOS SDKs' request classes carry them
(``com.jd.open.api.sdk.request.shangjiashouhou.AscAuditRefuseRequest`` /
``AscAuditSendRequest``, the JD Python SDK's ``jd.api.rest`` classes of the
same names, the JOS PHP SDK's ``AscAuditSend`` with the API reference's
field descriptions, open.jd.com apiId 2085):

* refusing: ``jingdong.asc.audit.refuse`` with ``approveNotes`` (审核意见),
  ``sysVersion`` (服务单版本号) and ``approveReasonCid1`` / ``approveReasonCid2``
  (一级 / 二级审核原因, the shop's chosen codes of JD's reason list
  ``jingdong.asc.audit.reason.list``, 问题类型关联查询);
* approving a request whose goods come back (退货, 换货, 维修):
  ``jingdong.asc.audit.send`` (审核为客户发货: the buyer sends the goods to
  the shop's return address) with the return address of the settings and
  ``applyDetailIdList`` (申请单明细id列表) read from the application
  (``jingdong.asc.audit.detail``, the SDK's ``WaitAuditDetail``). Its
  review reason is the question type the buyer chose (``questionTypeCid1/2``
  of the service order): the reason list is the list of question types.

Both read the service order first (``jingdong.asc.query.list`` filtered by
``serviceId``; its ``ServiceBrief`` carries ``serviceStatus`` and
``sysVersion``), so a repeat after a lost answer sees the order already
reviewed and writes nothing. Writes answer ``result{success, code, msg}``
(the SDK's ``ServiceAuditProvider`` results).

Receiving the goods back (拆包登记, ``jingdong.asc.receive.register``,
open.jd.com apiId 2117; parameters as the JOS PHP SDK's ``AscReceiveRegister``
describes them and the Java SDK's ``AscReceiveRegisterRequest`` sends them)
is wired **only with the shop's own codes**: its six check results
(:data:`RECEIVE_FIELDS`: 产品包装状况, 主商品功能状况, 发票登记状况, 收货登记原因,
附件/赠品, 主商品外观) are numbers whose lists are published in none of the
SDKs nor in any other material checked, so the adapter sends what
``JdSettings.receive_codes`` holds and, without them, refuses by name. It
acts on a service order in 10005 待收货; one past it (待处理 …) was received
already and is not written again.

Not wired, for want of the values in the material checked (each raises
``UnsupportedOperationError`` naming the call):

* processing (处理): ``jingdong.asc.process.offline.change`` (线下换新: the
  shop ships the replacement; ``opFlag`` 操作类型, ``wareType`` 商品类型 and
  ``shipWayId`` 承运商 are codes without a published list),
  ``jingdong.asc.process.back`` (原返, a repaired or unrepaired item sent
  back: ``repairState`` 是否已维修 and ``shipWayId`` likewise),
  ``jingdong.asc.process.renew`` (换新 by JD: delivery-centre ids),
  ``jingdong.asc.process.close`` (``refuseReason`` codes). The SDKs hold no
  ``jingdong.asc.process.submit`` / ``.result`` and no refund call in the
  ``asc`` group;
* approving 仅退款, 补发 or installation requests (other audit calls).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.errors import (
    ConfigurationError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales_jd.client import JdClient
from aftersales_jd.schemas import ServiceBill, ServicePage, read
from aftersales_jd.settings import RECEIVE_CODE_FIELDS, JdSettings

__all__ = [
    "APPROVED_ON",
    "AUDIT_DETAIL",
    "AUDIT_REFUSE",
    "AUDIT_SEND",
    "AWAITING_GOODS",
    "AWAITING_REVIEW",
    "GOODS_BACK",
    "NO_RECEIVE_CODES",
    "RECEIVED_ON",
    "RECEIVE_FIELDS",
    "RECEIVE_REGISTER",
    "SERVICE_LIST",
    "ServiceOrders",
    "parse_reason_code",
]

SERVICE_LIST = "jingdong.asc.query.list"
AUDIT_DETAIL = "jingdong.asc.audit.detail"
AUDIT_REFUSE = "jingdong.asc.audit.refuse"
AUDIT_SEND = "jingdong.asc.audit.send"
RECEIVE_REGISTER = "jingdong.asc.receive.register"

#: The check results jingdong.asc.receive.register requires, each a number
#: (产品包装状况, 主商品功能状况, 发票登记状况, 收货登记原因, 附件/赠品, 主商品外观).
RECEIVE_FIELDS = RECEIVE_CODE_FIELDS

#: ``serviceStatus`` values in which the order awaits the shop's review.
AWAITING_REVIEW = frozenset({10000, 10001, 10002, 10012, 10013})
#: ``serviceStatus`` values reached only after an approving review.
APPROVED_ON = frozenset({10005, 10006, 10007, 10009, 10010, 10041, 1100, 12000, 13000,
                         14000})
#: 审核关闭: refused at review.
_REFUSED = frozenset({10004})
#: Why receiving is not offered without the shop's codes (and ``vender_id``).
NO_RECEIVE_CODES = (f"confirm_return_received ({RECEIVE_REGISTER} needs the shop's "
                    f"{'/'.join(RECEIVE_FIELDS)} codes, whose lists JD does not publish, "
                    "and vender_id: set receive_codes)")
#: ``serviceStatus`` in which the goods are on their way back (待收货).
AWAITING_GOODS = frozenset({10005})
#: ``serviceStatus`` values reached only once the goods were received (待处理领取,
#: 待处理, 待用户确认, 完成, 提交退款申请, 待下发维修中心接单, and 原返 / 换新 /
#: 线下换新取消，待处理).
RECEIVED_ON = frozenset({10006, 10007, 10009, 10010, 10041, 1100, 7060, 7023, 7090})
#: ``customerExpect`` values whose goods come back to the shop (退货, 换货, 维修).
GOODS_BACK = frozenset({10, 20, 30})


def parse_reason_code(code: str | None) -> tuple[int, int | None]:
    """(一级, 二级) review reason of ``reason_code`` written ``"cid1"`` or ``"cid1/cid2"``.

    Raises:
        ValidationError: no code, or not one or two positive numbers.
    """
    parts = (code or "").strip().split("/")
    if not code or len(parts) > 2 or not all(
            p.strip().isascii() and p.strip().isdigit() and len(p.strip()) <= 9 for p in parts):
        raise ValidationError("JD refuses a service order with a review reason code: "
                              "'<一级>' or '<一级>/<二级>' of jingdong.asc.audit.reason.list",
                              field="reason_code", payload=AUDIT_REFUSE)
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else None


def _number(text: str) -> int | str:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else text


def _find_detail(value: Any, depth: int = 0) -> dict[str, Any] | None:
    """The object holding ``applyDetailList``, at most three levels down."""
    if not isinstance(value, dict) or depth > 3:
        return None
    if isinstance(value.get("applyDetailList"), list):
        return value
    for inner in value.values():
        found = _find_detail(inner, depth + 1)
        if found is not None:
            return found
    return None


class ServiceOrders:
    """The review calls of one shop's service orders.

    Args:
        client: the shop's JOS client.
        settings: the shop's settings (``vender_id``, operator, return address).
        adapter: the store name errors carry.
    """

    def __init__(self, client: JdClient, settings: JdSettings, adapter: str) -> None:
        self.client = client
        self.settings = settings
        self.adapter = adapter

    def _who(self) -> dict[str, Any]:
        s = self.settings
        if not s.vender_id:
            raise ConfigurationError("jd service orders need vender_id (buId)")
        return {"buId": s.vender_id, "operatePin": s.operator_pin,
                "operateNick": s.operator_name}

    def fetch(self, service_id: str) -> ServiceBill:
        """The service order as JD holds it now (query.list by ``serviceId``)."""
        body = self.client.call(SERVICE_LIST, {**self._who(), "serviceId": _number(service_id),
                                               "pageNumber": 1, "pageSize": 1})
        raw = body.get("pageResult")
        if raw is None:
            raise ResponseParseError(f"{SERVICE_LIST}: the answer has no pageResult",
                                     adapter=self.adapter)
        page = read(ServicePage, raw, payload=SERVICE_LIST)
        found = [b for b in page.data if b.serviceId == service_id]
        if not found:
            raise RemoteNotFoundError(f"no service order {service_id}", adapter=self.adapter)
        return found[0]

    def _check(self, body: dict[str, Any], what: str) -> None:
        result = body.get("result")
        if not isinstance(result, dict):
            raise ResponseParseError(f"{what}: no result in the answer", adapter=self.adapter)
        if result.get("success") is not True:
            raise RemoteRejectedError(f"{what}: {result.get('msg') or 'refused'}",
                                      adapter=self.adapter,
                                      code=str(result.get("code") or "") or None)

    def _write(self, service_id: str, done: Callable[[ServiceBill], bool],
               send: Callable[[ServiceBill], None], *,
               awaiting: frozenset[int] = AWAITING_REVIEW, step: str = "review") -> None:
        """Read, write unless ``done``; after a failure that may have reached JD, read again."""
        for attempt in (1, 2):
            bill = self.fetch(service_id)
            if done(bill):
                return
            if bill.serviceStatus not in awaiting:
                raise RemoteRejectedError(
                    f"service order is {bill.serviceStatus} ({bill.serviceStatusName or '?'}); "
                    f"it no longer awaits {step}", adapter=self.adapter)
            try:
                send(bill)
                return
            except TransientError:
                if attempt == 2:
                    raise
                # it may have gone through: read the state before any repeat

    def refuse(self, service_id: str, *, remark: str, reason_code: str | None) -> None:
        """Refuse the order at review (jingdong.asc.audit.refuse); a repeat writes nothing."""
        cid1, cid2 = parse_reason_code(reason_code)

        def send(bill: ServiceBill) -> None:
            body = self.client.call(AUDIT_REFUSE, {
                **self._who(), "serviceId": _number(bill.serviceId),
                "orderId": _number(bill.orderId), "approveNotes": remark,
                "sysVersion": bill.sysVersion, "approveReasonCid1": cid1,
                "approveReasonCid2": cid2}, write=True)
            self._check(body, "refusal not saved")
        self._write(service_id, lambda b: b.serviceStatus in _REFUSED, send)

    def _return_address(self) -> dict[str, Any]:
        s = self.settings
        fields = {"returnContactName": s.return_contact_name,
                  "returnContactTel": s.return_contact_tel,
                  "returnZipcode": s.return_zipcode, "returnProvince": s.return_province,
                  "returnCity": s.return_city, "returnCounty": s.return_county,
                  "returnDetailAddress": s.return_detail_address,
                  "returnAddressType": s.return_address_type}
        missing = [k for k, v in fields.items() if v is None or v == ""]
        if missing:
            raise ConfigurationError("jd approves a service order with the shop's return "
                                     "address; settings lack " + ", ".join(missing))
        return {**fields, "returnContactMobile": s.return_contact_mobile,
                "returnVillage": s.return_village}

    def _apply_details(self, bill: ServiceBill) -> tuple[list[int], int | None]:
        body = self.client.call(AUDIT_DETAIL, {**self._who(), "applyId": _number(bill.applyId)})
        detail = _find_detail(body)
        if detail is None:
            raise ResponseParseError("audit detail without applyDetailList",
                                     adapter=self.adapter)
        ids: list[int] = []
        for line in detail["applyDetailList"]:
            raw = line.get("applyDetailIdLong") or line.get("applyDetailId") \
                if isinstance(line, dict) else None
            if raw is None or isinstance(raw, bool) or not (
                    str(raw).isascii() and str(raw).isdigit() and len(str(raw)) <= 18):
                raise ResponseParseError("an application line without applyDetailId",
                                         adapter=self.adapter)
            ids.append(int(str(raw)))
        version = detail.get("sysVersion")
        return ids, int(version) if isinstance(version, int) else None

    def approve(self, service_id: str, *, note: str | None) -> None:
        """Approve the order so the buyer sends the goods back (jingdong.asc.audit.send).

        Raises:
            UnsupportedOperationError: the buyer expects something other than
                return, exchange or repair.
            ConfigurationError: the settings lack the return address.
        """
        address = self._return_address()

        def send(bill: ServiceBill) -> None:
            if bill.customerExpect not in GOODS_BACK:
                raise UnsupportedOperationError(
                    self.adapter, f"approving a service order the buyer expects as "
                    f"{bill.customerExpect} ({bill.customerExpectName or '?'}); its review "
                    "is done in the seller console")
            if not bill.applyId:
                raise ResponseParseError("service order without applyId",
                                         adapter=self.adapter)
            if bill.questionTypeCid1 is None:
                raise ResponseParseError(
                    "service order names no question type (questionTypeCid1), the review "
                    "reason its approval needs", adapter=self.adapter)
            details, version = self._apply_details(bill)
            body = self.client.call(AUDIT_SEND, {
                **self._who(), **address, "serviceId": _number(bill.serviceId),
                "orderId": _number(bill.orderId), "approveNotes": note or "同意",
                "sysVersion": bill.sysVersion if bill.sysVersion is not None else version,
                "approveReasonCid1": bill.questionTypeCid1,
                "approveReasonCid2": bill.questionTypeCid2,
                "applyDetailIdList": details}, write=True)
            self._check(body, "approval not saved")
        self._write(service_id, lambda b: b.serviceStatus in APPROVED_ON, send)

    def receive(self, service_id: str) -> None:
        """Register the returned goods (拆包登记, jingdong.asc.receive.register).

        Sends the shop's ``receive_codes``; a repeat, or an order already past
        待收货, writes nothing.

        Raises:
            UnsupportedOperationError: the settings hold no ``receive_codes``
                (JD publishes no list of them in the material checked).
            RemoteRejectedError: the order is not awaiting its goods.
        """
        codes = self.settings.receive_codes
        if not codes:
            raise UnsupportedOperationError(self.adapter, NO_RECEIVE_CODES)

        def send(bill: ServiceBill) -> None:
            body = self.client.call(RECEIVE_REGISTER, {
                **self._who(), "serviceId": _number(bill.serviceId),
                "orderId": _number(bill.orderId), "receivePin": self.settings.operator_pin,
                "receiveName": self.settings.operator_name,
                **{field: codes[field] for field in RECEIVE_FIELDS},
                "receiveRemark": self.settings.receive_remark}, write=True)
            self._check(body, "receipt not registered")
        self._write(service_id, lambda b: b.serviceStatus in RECEIVED_ON, send,
                    awaiting=AWAITING_GOODS, step="its goods")
