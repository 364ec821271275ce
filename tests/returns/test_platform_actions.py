"""A marketplace's own machinery through ``app.returns``: stage, risk, platform
deadlines (synced and extended), refusal reasons chosen by code, evidence.

``PlatformShop`` is a marketplace that lists whatever the test says and
records every call; it declares the three platform capabilities.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.errors import RemoteRejectedError, UnsupportedOperationError, ValidationError
from aftersales.evidence import Evidence, check_picture, choose_refusal_reason
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import (
    FulfilmentStage,
    Page,
    PlatformDeadline,
    PlatformDispute,
    RefusalReason,
    ReturnKind,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    RiskSignal,
)
from aftersales.multipart import FilePart
from aftersales.store.tables.core import AuditRow, OutboxRow
from aftersales.store.tables.returns import PlatformDeadlineRow
from aftersales.testing.samples import SAMPLE_PNG

S = ReturnStatus
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
T0 = NOW - timedelta(hours=3)
PICTURE = FilePart("damage.png", SAMPLE_PNG, "image/png")


class PlatformShop(MarketplaceBase):
    """Lists what the test says; records refusals, evidence and extensions."""

    name = "platform"
    capabilities = frozenset({
        Capability.LIST_RETURNS, Capability.REJECT_RETURN, Capability.LIST_REFUSAL_REASONS,
        Capability.SUBMIT_EVIDENCE, Capability.EXTEND_DEADLINE})

    def __init__(self) -> None:
        self.items: list[ReturnRequest] = []
        self.calls: list[tuple[str, Any]] = []
        self.fail_extend = False

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        start = int(cursor or 0)
        if start < len(self.items):
            yield Page(items=self.items[start:], cursor=str(len(self.items)))

    def say(self, at: datetime, *, due: datetime | None, stage: FulfilmentStage | None,
            status: ReturnStatus = S.REQUESTED, risk: RiskSignal | None = None,
            dispute: PlatformDispute | None = None, external_id: str = "A-1",
            kind: ReturnKind = ReturnKind.REFUND_ONLY) -> None:
        self.items.append(ReturnRequest(
            marketplace=self.name, order_id="O-1", kind=kind, external_id=external_id,
            status=status, raw_status=str(status), updated_at=at, created_at=T0, stage=stage,
            risk=risk, dispute=dispute, lines=[ReturnLine(order_line_id="O-1-L1", quantity=1)],
            platform_deadline=PlatformDeadline(due_at=due, status=status, raw_status="6",
                                               extendable=True) if due else None))

    def refusal_reasons(self, request: ReturnRequest) -> list[RefusalReason]:
        self.calls.append(("reasons", request.external_id))
        return [RefusalReason(code="101", text="商品已影响二次销售", needs_evidence=True),
                RefusalReason(code="102", text="买家已签收且商品完好")]

    def reject_return(self, request: ReturnRequest, *, reason: str, note: str | None = None,
                      reason_code: str | None = None, evidence: Evidence | None = None) -> None:
        self.calls.append(("reject", (reason_code, evidence)))

    def submit_evidence(self, request: ReturnRequest, evidence: Evidence) -> None:
        self.calls.append(("evidence", evidence))

    def extend_deadline(self, request: ReturnRequest,
                        by: timedelta | None = None) -> PlatformDeadline:
        self.calls.append(("extend", by))
        if self.fail_extend:
            raise RemoteRejectedError("no more extensions", adapter=self.name)
        assert request.platform_deadline is not None
        return request.platform_deadline.model_copy(
            update={"due_at": request.platform_deadline.due_at + (by or timedelta(days=1))})


@pytest.fixture
def world() -> Iterator[tuple[AfterSales, PlatformShop]]:
    shop = PlatformShop()
    app = AfterSales(f"sqlite:///{tempfile.mkdtemp()}/p.db", marketplaces=[shop],
                     clock=lambda: NOW, migrate=False)
    app.store.create_all()
    yield app, shop
    app.close()


def _audits(app: AfterSales) -> int:
    with app.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditRow)) or 0)


def test_stage_risk_and_platform_deadline_are_synced_and_replays_change_nothing(
    world: tuple[AfterSales, PlatformShop]
) -> None:
    app, shop = world
    due = NOW + timedelta(hours=20)
    shop.say(T0, due=due, stage=FulfilmentStage.NOT_SHIPPED,
             risk=RiskSignal(code="1", reason="疑似异常退款"))
    app.returns.sync()
    (req,) = app.returns.list()
    assert req.stage is FulfilmentStage.NOT_SHIPPED
    assert req.risk == RiskSignal(code="1", reason="疑似异常退款")
    assert req.platform_deadline is not None
    assert (req.platform_deadline.due_at, req.platform_deadline.extendable) == (due, True)
    before = (_audits(app), app.returns.get(req.rma_id).model_dump())
    assert app.returns.sync() == {"platform": 0}
    shop.say(T0, due=due, stage=FulfilmentStage.NOT_SHIPPED,
             risk=RiskSignal(code="1", reason="疑似异常退款"))  # the same copy again
    app.returns.sync()
    assert (_audits(app), app.returns.get(req.rma_id).model_dump()) == before
    # A newer copy with the same facts rewrites no platform fact.
    shop.say(T0 + timedelta(minutes=1), due=due, stage=FulfilmentStage.NOT_SHIPPED,
             risk=RiskSignal(code="1", reason="疑似异常退款"))
    app.returns.sync()
    same = app.returns.get(req.rma_id)
    assert same.platform_deadline == req.platform_deadline
    assert (same.stage, same.risk) == (req.stage, req.risk)
    with app.store.session() as s:
        row = s.get(PlatformDeadlineRow, req.rma_id)
        assert row is not None
        assert row.synced_at == NOW  # untouched since the first sync wrote it
    # The marketplace moved its clock: the new deadline replaces the old one.
    shop.say(T0 + timedelta(minutes=5), due=due + timedelta(days=2),
             stage=FulfilmentStage.NOT_SHIPPED)
    app.returns.sync()
    moved = app.returns.get(req.rma_id)
    assert moved.platform_deadline is not None
    assert moved.platform_deadline.due_at == due + timedelta(days=2)
    assert moved.risk is None  # the marketplace withdrew its verdict


def _disputes(app: AfterSales) -> list[dict[str, Any]]:
    with app.store.session() as s:
        rows = s.scalars(select(OutboxRow).where(OutboxRow.event_type == "return.dispute_changed")
                         .order_by(OutboxRow.id))
        return [r.payload for r in rows]


def test_a_platform_dispute_is_kept_and_announced_once_per_change(
    world: tuple[AfterSales, PlatformShop]
) -> None:
    app, shop = world
    opened = PlatformDispute(status="4", open=True, external_id="ARB-1")
    shop.say(T0, due=None, stage=FulfilmentStage.DELIVERED, dispute=opened)
    app.returns.sync()
    (req,) = app.returns.list()
    assert req.dispute == opened
    assert [e["dispute"]["status"] for e in _disputes(app)] == ["4"]
    shop.say(T0 + timedelta(minutes=1), due=None, stage=FulfilmentStage.DELIVERED,
             dispute=opened)
    app.returns.sync()
    assert len(_disputes(app)) == 1  # the same dispute again: nothing new to say
    closed = PlatformDispute(status="255", open=False, external_id="ARB-1")
    shop.say(T0 + timedelta(minutes=2), due=None, stage=FulfilmentStage.DELIVERED,
             dispute=closed)
    app.returns.sync()
    events = _disputes(app)
    assert [e["dispute"]["open"] for e in events] == [True, False]
    assert events[-1]["before"]["status"] == "4"
    assert app.returns.get(req.rma_id).dispute == closed


def test_refunds_before_shipment_are_kept_apart(world: tuple[AfterSales, PlatformShop]) -> None:
    app, shop = world
    shop.say(T0, due=None, stage=FulfilmentStage.NOT_SHIPPED, external_id="A-1")
    shop.say(T0, due=None, stage=FulfilmentStage.DELIVERED, external_id="A-2")
    app.returns.sync()
    before = app.returns.list(stage="not_shipped")
    after = app.returns.list(stage=FulfilmentStage.DELIVERED)
    assert [r.external_id for r in before] == ["A-1"]
    assert [r.external_id for r in after] == ["A-2"]
    with pytest.raises(ValidationError, match="stage"):
        app.returns.list(stage="in_the_mail")


def test_a_deadline_extension_is_stored_counted_and_audited(
    world: tuple[AfterSales, PlatformShop]
) -> None:
    app, shop = world
    due = NOW + timedelta(hours=20)
    shop.say(T0, due=due, stage=FulfilmentStage.DELIVERED)
    app.returns.sync()
    (req,) = app.returns.list()
    extended = app.returns.extend_deadline(req.rma_id, timedelta(days=3))
    assert extended.due_at == due + timedelta(days=3)
    assert extended.extensions == 1
    stored = app.returns.get(req.rma_id).platform_deadline
    assert stored == extended
    last = app.returns.history(req.rma_id)[-1]
    assert last.reason == "platform deadline extended"
    assert last.data == {"from": due.isoformat(), "to": extended.due_at.isoformat()}
    # A later sync with the marketplace's own copy keeps the count.
    shop.say(T0 + timedelta(minutes=1), due=due + timedelta(days=3),
             stage=FulfilmentStage.DELIVERED)
    app.returns.sync()
    again = app.returns.get(req.rma_id).platform_deadline
    assert again is not None
    assert again.extensions == 1


def test_a_refused_extension_records_nothing(world: tuple[AfterSales, PlatformShop]) -> None:
    app, shop = world
    shop.say(T0, due=NOW + timedelta(hours=20), stage=FulfilmentStage.DELIVERED)
    app.returns.sync()
    (req,) = app.returns.list()
    shop.fail_extend = True
    audits = _audits(app)
    with pytest.raises(RemoteRejectedError):
        app.returns.extend_deadline(req.rma_id, timedelta(days=1))
    assert _audits(app) == audits
    assert app.returns.get(req.rma_id).platform_deadline == req.platform_deadline


def test_no_extension_without_an_extendable_platform_deadline(
    world: tuple[AfterSales, PlatformShop]
) -> None:
    app, shop = world
    shop.say(T0, due=None, stage=None)
    app.returns.sync()
    (req,) = app.returns.list()
    with pytest.raises(ValidationError, match="platform_deadline"):
        app.returns.extend_deadline(req.rma_id)
    with pytest.raises(ValidationError, match="positive"):
        app.returns.extend_deadline(req.rma_id, timedelta(0))
    assert ("extend", None) not in shop.calls


def test_a_refusal_names_its_reason_by_code_and_carries_evidence(
    world: tuple[AfterSales, PlatformShop]
) -> None:
    app, shop = world
    shop.say(T0, due=None, stage=FulfilmentStage.DELIVERED)
    app.returns.sync()
    (req,) = app.returns.list()
    reasons = app.returns.refusal_reasons(req.rma_id)
    assert [r.code for r in reasons] == ["101", "102"]
    proof = Evidence("开箱视频截图", (PICTURE,))
    done = app.returns.reject(req.rma_id, reason="商品已影响二次销售", reason_code="101",
                              evidence=proof)
    assert done.status is S.REJECTED
    assert ("reject", ("101", proof)) in shop.calls
    last = app.returns.history(req.rma_id)[-1]
    assert last.data == {"reason_code": "101", "pictures": ["damage.png"]}


def test_evidence_is_uploaded_and_audited_by_file_name_only(
    world: tuple[AfterSales, PlatformShop]
) -> None:
    app, shop = world
    shop.say(T0, due=None, stage=FulfilmentStage.DELIVERED)
    app.returns.sync()
    (req,) = app.returns.list()
    app.returns.submit_evidence(req.rma_id, Evidence("破损照片", (PICTURE,)))
    assert shop.calls[-1][0] == "evidence"
    last = app.returns.history(req.rma_id)[-1]
    assert (last.reason, last.data) == ("evidence submitted", {"pictures": ["damage.png"]})
    with pytest.raises(ValidationError, match="evidence"):
        app.returns.submit_evidence(req.rma_id, Evidence())


def test_a_marketplace_without_the_capability_refuses_by_name() -> None:
    class Plain(MarketplaceBase):
        name = "plain"

    request = ReturnRequest(marketplace="plain", order_id="1", kind=ReturnKind.RETURN,
                            lines=[ReturnLine(order_line_id="1", quantity=1)])
    for call in (lambda m: m.refusal_reasons(request),
                 lambda m: m.submit_evidence(request, Evidence("x")),
                 lambda m: m.extend_deadline(request)):
        with pytest.raises(UnsupportedOperationError, match="plain"):
            call(Plain())


# ---------------------------------------------------------------- evidence rules (pure)


def test_a_reason_code_not_listed_is_refused_naming_the_listed_codes() -> None:
    listed = [RefusalReason(code="101", text="已影响二次销售")]
    assert choose_refusal_reason(listed, "101", payload="p").code == "101"
    assert choose_refusal_reason(listed, None, "已影响二次销售", payload="p").code == "101"
    with pytest.raises(ValidationError, match=r"reason_code.*101 已影响二次销售"):
        choose_refusal_reason(listed, "7", payload="p")


@pytest.mark.parametrize(("content", "why"), [
    (b"", "1 byte"),
    (b"%PDF-1.7", "not a JPEG, PNG, GIF or BMP picture"),
    (b"\xff\xd8\xff" + b"\0" * 2048, "1 byte to 2048 bytes"),
])
def test_a_picture_is_checked_by_its_bytes_and_size(content: bytes, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        check_picture(FilePart("x.png", content), field="f", payload="p", max_bytes=2048)


def test_a_picture_gets_its_type_from_its_bytes_not_its_name() -> None:
    part = check_picture(FilePart("x.gif", SAMPLE_PNG), field="f", payload="p")
    assert part.content_type == "image/png"


def test_evidence_caps_its_pictures() -> None:
    with pytest.raises(ValidationError, match="at most 1 pictures"):
        Evidence("x", (PICTURE, PICTURE)).checked(payload="p", max_pictures=1)
    with pytest.raises(ValidationError, match=r"pictures\[1\]"):
        Evidence("x", (PICTURE, FilePart("b", b"no"))).checked(payload="p", max_pictures=3)
