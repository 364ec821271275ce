"""``TaobaoMarketplace``: Taobao and Tmall shops through the TOP gateway.

API: the TOP REST router, ``v=2.0``. Statuses, dispute types, trade types,
refusal reasons, error codes, paging (``page_no``/``page_size`` ≤ 100) and
call limits (codes 4–8) checked against the TOP API reference and the
official SDKs' request definitions on 2026-12-02. TOP documents no webhook
for these APIs (its message service, TMC, is not used), nor the error code
of a refund agree that wants an SMS code (matched by its text, see
:mod:`aftersales_taobao.mapping`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from aftersales.adapter_setup import ClientMarketplace
from aftersales.errors import (
    ConfigurationError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
    ValidationError,
)
from aftersales.evidence import Evidence
from aftersales.interfaces import Capability
from aftersales.models import (
    Order,
    Page,
    Refund,
    RefusalReason,
    ReturnKind,
    ReturnRequest,
    Review,
    Shipment,
    Tracking,
)
from aftersales.multipart import FilePart
from aftersales.paging import (
    Watermark,
    window_newest_first,
    windowed_pages,
)
from aftersales_taobao import mapping
from aftersales_taobao.client import TaobaoClient, format_time
from aftersales_taobao.errors import RefundCapError, VerificationRequiredError
from aftersales_taobao.proof import check_picture
from aftersales_taobao.schemas import (
    AgreeResult,
    LogisticsTrace,
    RefuseReason,
    RefuseReasons,
    TopRefund,
    TopTrade,
    TradeRatePage,
    parse,
)
from aftersales_taobao.settings import TaobaoSettings

__all__ = ["TaobaoMarketplace"]

T = TypeVar("T")

_REFUND_FIELDS = (
    "refund_id,tid,oid,title,num,buyer_nick,total_fee,status,created,modified,refund_fee,"
    "good_status,has_good_return,reason,desc,company_name,sid,order_status,refund_phase,"
    "refund_version,dispute_type,outer_id,cs_status"
)
_RATE_FIELDS = "tid,oid,role,nick,result,created,rated_nick,item_title,item_price,content,reply"
_AGREEABLE = frozenset({"WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS"})
#: States in which Taobao surely has not paid the refund.
_UNPAID = _AGREEABLE | {"WAIT_BUYER_RETURN_GOODS", "SELLER_REFUSE_BUYER", "CLOSED"}
_TRADE_FIELDS = (
    "tid,status,payment,post_fee,created,modified,end_time,consign_time,buyer_nick,"
    "buyer_open_uid,orders"
)
_BASE = frozenset(
    {
        Capability.LIST_ORDERS,
        Capability.GET_ORDER,
        Capability.LIST_RETURNS,
        Capability.GET_RETURN,
        Capability.APPROVE_RETURN,
        Capability.REJECT_RETURN,
        Capability.REFUND,
        Capability.LIST_REVIEWS,
        Capability.LIST_SHIPMENTS,
        Capability.LIST_REFUSAL_REASONS,
        Capability.SUBMIT_EVIDENCE,
    }
)


class TaobaoMarketplace(ClientMarketplace[TaobaoSettings, TaobaoClient]):
    """Taobao/Tmall open platform (TOP), REST router API ``v=2.0``.

    Docs: https://open.taobao.com (API reference per method name below).
    Alias ``taobao``. Capabilities:

    * ``list_orders`` / ``get_order``: taobao.trades.sold.increment.get (by
      modified time, last three months) and taobao.trade.fullinfo.get;
    * ``list_returns``: taobao.refunds.receive.get, by modified time;
    * ``get_return``: taobao.refund.get, the same fields, mapped as the listing maps them;
    * ``approve_return``: taobao.rp.returngoods.agree for a return. A
      refund-only request has no separate approval on Taobao (agreeing *is*
      paying), so approving one only checks it still awaits the seller and
      :meth:`refund` pays;
    * ``reject_return``: taobao.refund.refuse, or (Tmall only)
      taobao.rp.returngoods.refuse once the goods are on their way back, with
      a proof picture uploaded as multipart and a reason code from
      taobao.refund.refusereason.get (:meth:`refuse_reasons`);
    * ``refund``: taobao.rp.refunds.agree, paid once: the refund's state is
      read back before any repeat; an SMS verification demand and the
      per-call cap are typed errors (:mod:`aftersales_taobao.errors`);
    * :meth:`add_evidence`: taobao.refund.message.add, a message with a picture;
    * ``list_reviews``: taobao.traderates.get, the ratings buyers gave (180 days);
    * ``list_shipments``: taobao.logistics.trace.search (:meth:`trace` gives
      the journey);
    * ``reply_review``, Tmall shops only: taobao.traderate.explain.add;
      :meth:`find_reply` reads the rating's ``reply`` back (taobao.traderates.get
      by ``tid``), so a reply whose answer was lost is never posted twice.

    Not supported: return receipt confirmation (on Taobao it is the refund
    agree itself), exchange shipping and buyer messages. A plain Taobao shop
    must be configured with its return address (``TaobaoSettings.check_store``).

    Mapping checked against the TOP API reference (REST router ``v=2.0``;
    API metadata as mirrored by the official SDKs) on 2026-12-02. TOP
    publishes no webhook for these APIs here (its message service, TMC, is a
    separate long-lived connection the adapter does not use); pagination is
    ``page_no``/``page_size`` (at most 100) with ``total_results``; call
    limits come back as error codes 4–8 (see :mod:`aftersales_taobao.client`).
    """

    name = "taobao"
    settings_class = TaobaoSettings
    client_class = TaobaoClient
    capabilities: frozenset[Capability] = _BASE
    raw_return_statuses: ClassVar[tuple[str, ...]] = tuple(mapping.REFUND_STATUSES)
    return_status_table: ClassVar[dict[str, Any]] = dict(mapping.REFUND_STATUSES)

    def connected(self) -> None:
        """The store is checked, and a Tmall shop can reply to reviews."""
        self.settings.check_store()
        if self.settings.tmall:
            self.capabilities = _BASE | {Capability.REPLY_REVIEW}

    # ------------------------------------------------------------------ listings

    def _window(self, spec: _Listing[T], since: datetime, until: datetime) -> list[T]:
        """Every item changed in one window, oldest change first.

        Taobao answers newest first and advises paging from the last page
        back (:func:`~aftersales.paging.window_newest_first`), so an item
        changed mid-listing never shifts an unread one out of reach.
        """
        size = self.settings.page_size

        def fetch(page_no: int) -> tuple[list[T], int | None]:
            body = self.client.call(spec.method, {
                "fields": spec.fields, spec.since_key: format_time(since),
                spec.until_key: format_time(until), "page_no": page_no, "page_size": size,
                **spec.extra,
            })
            return spec.parse(body)

        return window_newest_first(fetch, size, spec.stamp)

    def _listing(self, spec: _Listing[T], cursor: str | None) -> Iterator[Page[T]]:
        s = self.settings
        return windowed_pages(Watermark.from_cursor(cursor, adapter=self.name),
                              partial(self._window, spec), spec.stamp, clock=self.clock,
                              lag=s.lag, lookback=spec.lookback, width=s.window,
                              size=s.page_size)

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """Refunds (退款) changed after ``cursor``, oldest change first.

        The cursor is a watermark (time and ids seen at it), so resuming
        misses and repeats nothing; listing starts ``lookback`` ago without one.
        """
        spec = _Listing[ReturnRequest](
            "taobao.refunds.receive.get", _REFUND_FIELDS, "start_modified", "end_modified",
            partial(mapping.refunds_page, store=self.name), mapping.request_stamp,
            self.settings.lookback,
            {"type": ",".join(mapping.TRADE_TYPES)})
        return self._listing(spec, cursor)

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        """Ratings buyers gave the shop after ``cursor`` (Taobao keeps 180 days)."""
        spec = _Listing[Review](
            "taobao.traderates.get", _RATE_FIELDS, "start_date", "end_date",
            partial(mapping.rates_page, store=self.name),
            mapping.review_stamp, min(self.settings.lookback, _REVIEW_HORIZON),
            {"rate_type": "get", "role": "buyer"})
        return self._listing(spec, cursor)

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        """Trades (交易) changed after ``cursor`` (Taobao keeps three months)."""
        spec = _Listing[Order](
            "taobao.trades.sold.increment.get", _TRADE_FIELDS, "start_modified",
            "end_modified", partial(mapping.trades_page, store=self.name), mapping.order_stamp,
            min(self.settings.lookback, _ORDER_HORIZON))
        return self._listing(spec, cursor)

    def get_order(self, order_id: str) -> Order:
        """One trade with its sub-orders (taobao.trade.fullinfo.get)."""
        body = self.client.call("taobao.trade.fullinfo.get",
                                {"fields": _TRADE_FIELDS, "tid": order_id})
        if not body.get("trade"):
            raise RemoteNotFoundError(f"no trade {order_id}", adapter=self.name)
        return mapping.trade_to_order(
            parse(TopTrade, body["trade"], payload="taobao.trade.fullinfo.get"), store=self.name)

    # ------------------------------------------------------------------ actions

    def _refund_id(self, request: ReturnRequest) -> str:
        if not request.external_id:
            raise ValidationError(
                "a Taobao action needs the refund id (external_id) of the buyer's request",
                field="external_id",
                payload="taobao return request",
            )
        return request.external_id

    def fetch_refund(self, refund_id: str) -> TopRefund:
        """The refund as Taobao holds it now (status, version, phase)."""
        body = self.client.call(
            "taobao.refund.get", {"fields": _REFUND_FIELDS, "refund_id": refund_id}
        )
        if not body.get("refund"):
            raise RemoteNotFoundError(f"no refund {refund_id}", adapter=self.name)
        return parse(TopRefund, body["refund"], payload="taobao.refund.get")

    def get_return(self, external_id: str) -> ReturnRequest:
        """One buyer's refund request as Taobao holds it now (``GET_RETURN``, taobao.refund.get).

        Asked for the listing's fields and mapped by the listing's own
        :func:`~aftersales_taobao.mapping.refund_to_request`, so a request
        read by id equals the one a sync reads from taobao.refunds.receive.get.

        Raises:
            ValidationError: an empty id.
            RemoteNotFoundError: Taobao has no such refund.
        """
        if not external_id.strip():
            raise ValidationError("a Taobao refund id is needed", field="external_id",
                                  payload="taobao.refund.get")
        return mapping.refund_to_request(self.fetch_refund(external_id), store=self.name)

    def _phase(self, fresh: TopRefund) -> dict[str, Any]:
        return {"refund_phase": fresh.refund_phase, "refund_version": fresh.refund_version}

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """Agree the return of goods; for a refund-only request, check it awaits the seller."""
        fresh = self.fetch_refund(self._refund_id(request))
        if fresh.status == "WAIT_BUYER_RETURN_GOODS" or (
            fresh.status == "WAIT_SELLER_AGREE" and request.kind is ReturnKind.REFUND_ONLY
        ):
            return  # already agreed, or nothing to agree before paying
        if fresh.status != "WAIT_SELLER_AGREE":
            raise RemoteRejectedError(
                f"refund is {fresh.status}; it cannot be approved", adapter=self.name
            )
        if not self.settings.seller_address_id:
            raise ConfigurationError(
                "agreeing a return needs the shop's return address id: set "
                "TaobaoSettings(seller_address_id=...) or TAOBAO_SELLER_ADDRESS_ID"
            )
        params: dict[str, Any] = {
            "refund_id": fresh.refund_id,
            **self._phase(fresh),
            "remark": note or "同意退货",
            "seller_address_id": self.settings.seller_address_id,
        }
        addr = self.settings.return_address
        if addr is not None and not self.settings.tmall:  # check_store made sure it is set
            params.update(
                name=addr.name, address=addr.address, post=addr.post,
                mobile=addr.mobile.get_secret_value(),
                tel=addr.tel.get_secret_value() if addr.tel else None,
            )
        self.client.call("taobao.rp.returngoods.agree", params, write=True)

    def refuse_reasons(self, request: ReturnRequest) -> list[RefuseReason]:
        """The reasons Taobao offers for refusing this request (taobao.refund.refusereason.get).

        ``reason_id`` of one of them goes with :meth:`reject_return` when the
        returned goods are refused.
        """
        return self._reasons(self.fetch_refund(self._refund_id(request)))

    def refusal_reasons(self, request: ReturnRequest) -> list[RefusalReason]:
        """:meth:`refuse_reasons` as core :class:`RefusalReason` objects (code: ``reason_id``)."""
        return [mapping.refusal_reason(r) for r in self.refuse_reasons(request)]

    def _reasons(self, fresh: TopRefund) -> list[RefuseReason]:
        body = self.client.call("taobao.refund.refusereason.get", {
            "refund_id": fresh.refund_id, "refund_phase": fresh.refund_phase or "aftersale",
            "fields": "reason_id,reason_text,reason_tips"})
        return parse(RefuseReasons, body, payload="taobao.refund.refusereason.get").reasons

    def reject_return(
        self,
        request: ReturnRequest,
        *,
        reason: str,
        note: str | None = None,
        proof: FilePart | None = None,
        reason_id: int | None = None,
        reason_code: str | None = None,
        evidence: Evidence | None = None,
    ) -> None:
        """Refuse the refund, or the returned goods once they are on their way back.

        Refusing returned goods (status ``WAIT_SELLER_CONFIRM_GOODS``) is
        taobao.rp.returngoods.refuse, which Taobao documents for Tmall only
        ("目前仅支持天猫退货"): it needs ``proof``, a picture of at most 5 MB,
        uploaded as multipart, and a refusal reason chosen by its code among
        :meth:`refuse_reasons` (``reason_id``; without it, the listed reason
        whose text equals ``reason``). On a plain Taobao shop the call is not
        made: the refusal is done in the seller console, and this raises
        ``UnsupportedOperationError`` before anything changes.

        Raises:
            ValidationError: a bad message, a missing or bad proof, or a reason
                Taobao does not list for this refund (the codes it lists are named).
            UnsupportedOperationError: goods refusal on a plain Taobao shop.
        """
        if reason_code is not None and reason_id is None:
            if not str(reason_code).strip().isdigit():
                raise ValidationError("a Taobao refusal reason code is a number",
                                      field="reason_code", payload="taobao.rp.returngoods.refuse")
            reason_id = int(reason_code)
        if evidence:
            if evidence.urls:
                raise ValidationError("Taobao takes proof pictures as files, not links",
                                      field="evidence", payload="taobao.rp.returngoods.refuse")
            if len(evidence.pictures) > 1 or (evidence.pictures and proof is not None):
                raise ValidationError("Taobao takes one proof picture with a refusal",
                                      field="evidence", payload="taobao.rp.returngoods.refuse")
            proof = evidence.pictures[0] if evidence.pictures else proof
            note = note or evidence.text.strip() or None
        message = (reason if not note else f"{reason}：{note}").strip()
        if not 2 <= len(message) <= 200:
            raise ValidationError("Taobao wants 2–200 characters", field="reason")
        if proof is not None:
            proof = check_picture(proof, field="proof", payload="taobao.rp.returngoods.refuse")
        fresh = self.fetch_refund(self._refund_id(request))
        if fresh.status == "SELLER_REFUSE_BUYER":
            return
        if fresh.status == "WAIT_SELLER_CONFIRM_GOODS":
            self._refuse_goods(fresh, message, proof, reason_id)
            return
        if fresh.status != "WAIT_SELLER_AGREE":
            raise RemoteRejectedError(
                f"refund is {fresh.status}; it cannot be refused", adapter=self.name
            )
        self.client.call(
            "taobao.refund.refuse",
            {"refund_id": fresh.refund_id, "refuse_message": message, **self._phase(fresh)},
            write=True,
        )

    def _refuse_goods(
        self, fresh: TopRefund, message: str, proof: FilePart | None, reason_id: int | None
    ) -> None:
        if not self.settings.tmall:
            raise self._unsupported("refusing returned goods through the API (Tmall only)")
        if proof is None:
            raise ValidationError(
                "refusing returned goods needs a picture as proof: pass proof=FilePart(...)",
                field="proof", payload="taobao.rp.returngoods.refuse")
        chosen = mapping.choose_reason(self._reasons(fresh), reason_id, message)
        self.client.call(
            "taobao.rp.returngoods.refuse",
            {"refund_id": fresh.refund_id, **self._phase(fresh), "refuse_reason_id": chosen},
            write=True,
            files={"refuse_proof": proof},
        )

    def add_evidence(self, request: ReturnRequest, text: str, picture: FilePart) -> None:
        """Leave the seller's evidence on the request: a message and a picture.

        taobao.refund.message.add (创建退款留言/凭证), the picture uploaded
        through the same multipart path as a refusal proof (same checks).
        """
        if not 1 <= len(text.strip()) <= 400:
            raise ValidationError("Taobao takes 1–400 characters", field="text")
        picture = check_picture(picture, field="picture", payload="taobao.refund.message.add")
        self.client.call(
            "taobao.refund.message.add",
            {"refund_id": self._refund_id(request), "content": text.strip()},
            write=True,
            files={"image": picture},
        )

    def submit_evidence(self, request: ReturnRequest, evidence: Evidence) -> None:
        """The core's evidence as :meth:`add_evidence` messages: one per picture (Taobao
        takes one picture a message), the text on the first.

        Raises:
            ValidationError: no picture (taobao.refund.message.add wants one),
                or a bad one.
        """
        if not evidence.pictures or evidence.urls:
            raise ValidationError("Taobao evidence needs picture files (not links)",
                                  field="pictures",
                                  payload="taobao.refund.message.add")
        for i, picture in enumerate(evidence.pictures):
            self.add_evidence(request, (evidence.text.strip() if i == 0 else "") or "凭证",
                              picture)

    def refund(
        self, refund: Refund, request: ReturnRequest | None = None, *, code: str | None = None
    ) -> Refund:
        """Agree the buyer's refund for ``refund.amount``; a repeat never pays twice.

        The refund's state is read first: one already ``SUCCESS`` is returned
        as paid. If the agree call fails in a way that may have reached
        Taobao, the state is read again and the agree re-sent only when the
        refund still awaits the seller.

        Args:
            code: the SMS verification code Taobao texted the seller after a
                :class:`VerificationRequiredError` for this refund.

        Raises:
            RefundCapError: the amount is above one call's cap (6,000 CNY on
                Taobao, 10,000 CNY on Tmall); nothing was sent.
            VerificationRequiredError: Taobao asks for the SMS code.
        """
        if request is None:
            raise ValidationError(
                "Taobao pays only against a buyer's refund request", field="request"
            )
        refund_id = self._refund_id(request)
        fen = mapping.to_fen(refund.amount)
        cap = mapping.AGREE_CAP_FEN["tmall" if self.settings.tmall else "taobao"]
        if fen > cap:
            raise RefundCapError(
                f"one taobao.rp.refunds.agree call pays at most {cap // 100} CNY; "
                "agree this refund in the seller console", adapter=self.name, code="cap")
        for attempt in (1, 2):
            fresh = self.fetch_refund(refund_id)
            if fresh.status == "SUCCESS":
                return self._paid(refund, fresh)
            if fresh.status not in _AGREEABLE:
                raise RemoteRejectedError(
                    f"refund is {fresh.status}; it cannot be paid", adapter=self.name
                )
            infos = f"{refund_id}|{fen}|{fresh.refund_version or ''}"
            infos += f"|{fresh.refund_phase}" if fresh.refund_phase else ""
            try:
                body = self.client.call("taobao.rp.refunds.agree",
                                        {"refund_infos": infos, "code": code}, write=True)
            except TransientError:
                if attempt == 2:
                    raise
                continue  # it may have gone through: read the state before any repeat
            except RemoteRejectedError as exc:
                if mapping.asks_for_verification(str(exc)):
                    raise self._verification(exc.code) from exc
                raise
            result = parse(AgreeResult, body, payload="taobao.rp.refunds.agree")
            mine = next((r for r in result.results if r.refund_id == refund_id), None)
            said = " ".join(m for m in ((mine.message if mine else None), result.message) if m)
            if mapping.asks_for_verification(said):
                # "发送二次验证短信成功" (the code was texted) may come in an answer
                # that otherwise reads as a success: nothing is paid until code= follows.
                raise self._verification(result.msg_code)
            if result.msg_code != "OP_SUCC" and not (mine and mine.succ):
                detail = (mine.message if mine else None) or result.message or result.msg_code
                raise RemoteRejectedError(f"refund not agreed: {detail}", adapter=self.name,
                                          code=result.msg_code)
            return self._paid(refund, fresh, status="SUCCESS")
        raise AssertionError("unreachable")  # pragma: no cover

    def _verification(self, code: str | None) -> VerificationRequiredError:
        return VerificationRequiredError(
            "needs verification: Taobao texted a code to the seller's phone; agree in the "
            "seller console or pass code= to refund()", adapter=self.name, code=code)

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """The buyer's refund request, if Taobao already paid it (``taobao.refund.get``).

        Taobao keeps no idempotency key, and it needs none: a buyer's refund
        request (退款, its ``refund_id``) is paid once, when the seller
        agrees. So the refund is matched **by its refund id and state**:
        ``SUCCESS`` means it was paid; a state that still waits for the
        seller, or one refused or closed, means it surely was not. Any
        other state cannot tell and raises, leaving the refund pending.
        """
        if request is None:
            return None  # refund() refuses to pay without one: nothing was sent
        fresh = self.fetch_refund(self._refund_id(request))
        if fresh.status == "SUCCESS":
            return self._paid(refund, fresh)
        if fresh.status in _UNPAID:
            return None
        raise ResponseParseError(f"refund state {fresh.status} cannot tell whether it was "
                                 "paid", adapter=self.name)

    @staticmethod
    def _paid(refund: Refund, fresh: TopRefund, status: str | None = None) -> Refund:
        return refund.model_copy(
            update={"external_id": fresh.refund_id, "raw_status": status or fresh.status}
        )

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        """Explain a rating (Tmall shops only); returns the sub-order id it answers.

        ``taobao.traderate.explain.add`` takes no idempotency key: after a lost
        answer the library asks :meth:`find_reply` before sending again.
        """
        if not self.settings.tmall:
            raise self._unsupported("reply_review")
        if not 1 <= len(text) <= 500:
            raise ValidationError("Taobao takes 1–500 characters", field="text")
        self.client.call(
            "taobao.traderate.explain.add", {"oid": review.external_id, "reply": text}, write=True
        )
        return review.external_id

    def find_reply(self, review: Review) -> str | None:
        """The rating's explanation (评价解释) on Taobao now: its sub-order id when
        the rating has one, ``None`` when it surely has none.

        ``taobao.traderates.get`` with ``tid`` (TOP: "a parent or a sub-order
        id") reads the rating of ``review.external_id`` (its sub-order) with
        its ``reply``, the text ``taobao.traderate.explain.add`` writes. Any
        text counts: a rating has one explanation, whoever wrote it.

        Raises:
            UnsupportedOperationError: a plain Taobao shop (it never replies).
            RemoteNotFoundError: Taobao does not list the rating (it keeps 180
                days of them), so whether the reply went cannot be told.
            RemoteError: Taobao could not be asked.
        """
        if not self.settings.tmall:
            raise self._unsupported("find_reply")
        oid = review.external_id
        body = self.client.call("taobao.traderates.get", {
            "fields": _RATE_FIELDS, "rate_type": "get", "role": "buyer", "tid": oid,
            "page_no": 1, "page_size": _RATES_OF_ONE_TRADE})
        rates = [r for r in parse(TradeRatePage, body, payload="taobao.traderates.get")
                 .trade_rates if r.oid == oid]
        if not rates:
            raise RemoteNotFoundError(f"Taobao lists no rating of sub-order {oid}",
                                      adapter=self.name)
        return oid if any(r.reply for r in rates) else None

    # ------------------------------------------------------------------ logistics

    def _trace(self, order_id: str) -> LogisticsTrace:
        body = self.client.call("taobao.logistics.trace.search", {"tid": order_id})
        return parse(LogisticsTrace, body, payload="taobao.logistics.trace.search")

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """The trade's outbound parcel (empty before it ships)."""
        shipment = mapping.trace_to_shipment(self._trace(order_id))
        return [shipment] if shipment else []

    def trace(self, order_id: str) -> Tracking:
        """The journey of the trade's outbound parcel, as Taobao's logistics trace tells it."""
        return mapping.trace_to_tracking(self._trace(order_id))


#: Ratings read of one trade or sub-order: TOP's largest ``page_size``; a trade
#: has a rating per sub-order, far fewer.
_RATES_OF_ONE_TRADE = 150
#: taobao.traderates.get only reaches ratings of the last 180 days.
_REVIEW_HORIZON = timedelta(days=180)
#: taobao.trades.sold.increment.get only reaches trades of the last three months.
_ORDER_HORIZON = timedelta(days=90)


@dataclass(frozen=True)
class _Listing(Generic[T]):
    """One incremental TOP listing: its API, time parameters and converters."""

    method: str
    fields: str
    since_key: str
    until_key: str
    parse: Callable[[dict[str, Any]], tuple[list[T], int | None]]
    stamp: Callable[[T], tuple[datetime, str]]
    lookback: timedelta
    extra: dict[str, str] = field(default_factory=dict)
