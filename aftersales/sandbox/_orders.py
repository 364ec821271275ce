"""Deterministic generation of the sandbox's orders and buyers, one index at a time.

Each order ``i`` is drawn from its own seeded streams, so order 99 999 costs
the same as order 0 and nothing is built until it is asked for. The
:class:`OrderPlan` holds what listings need to sort (times, the parcel
number, whether a review follows); :func:`order_lines` and :func:`buyer`
build the rest only when a page is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from aftersales.models import Buyer, OrderLine, ParcelStatus
from aftersales.money import Money
from aftersales.sandbox._clock import rng
from aftersales.sandbox._data import (
    CATALOGUE,
    CN_CITIES,
    EN_CITIES,
    FIRST_NAMES,
    GIVEN_NAMES,
    LAST_NAMES,
    SURNAMES,
    ZONES,
)
from aftersales.sandbox._parcels import build_journey, issue_number

__all__ = [
    "LineSpec",
    "LinesSpec",
    "OrderPlan",
    "ReviewPlan",
    "buyer",
    "buyer_speaks_english",
    "money",
    "order_id",
    "order_lines",
    "plan_order",
]

CURRENCY = "CNY"
_CARRIERS = ("sf", "yto", "zto", "jd", "sto", "yunda", "jtexpress")
_CARRIER_CUM = (25, 45, 65, 75, 85, 95, 100)
_RATINGS = (5, 4, 3, 2, 1)
_RATING_CUM = (55, 75, 85, 92, 100)


def order_id(index: int) -> str:
    """The marketplace id of order ``index`` (ids sort like indexes)."""
    return f"SO{index + 1:08d}"


def order_index(external_id: str) -> int | None:
    """The index behind an order id, or ``None`` when it is not one."""
    if len(external_id) == 10 and external_id.startswith("SO") and external_id[2:].isdigit():
        return int(external_id[2:]) - 1 if int(external_id[2:]) else None
    return None


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    """When the buyer reviews, what rating, and whether it is edited or appended later."""

    after: timedelta  # after delivery
    rating: int
    text_pick: float
    edit_after: timedelta | None  # after the review
    new_rating: int
    append_after: timedelta | None  # 追评, after the review
    append_pick: int


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """The skeleton of one order: enough to sort it in a listing."""

    index: int
    external_id: str
    placed_at: datetime
    number: str  # the outbound parcel's tracking number
    carrier: str
    shipped_at: datetime  # the parcel's milestones, from its journey
    delivered_at: datetime | None
    returned_at: datetime | None  # back with the shop after a refusal
    settled_at: datetime  # its last scan: delivered, returned or lost
    buyer_index: int
    review: ReviewPlan | None


def plan_order(seed: int, index: int, orders: int, window_start: datetime,
               window: timedelta) -> OrderPlan:
    """The skeleton of order ``index`` of ``orders`` placed over ``window``."""
    r = rng(seed, "order", index)
    placed = window_start + window * ((index + r.random()) / orders)
    placed = placed.replace(microsecond=0)
    handover = placed + timedelta(hours=2 + r.random() * 34)
    carrier = r.choices(_CARRIERS, cum_weights=_CARRIER_CUM)[0]
    number = issue_number(carrier, index, handover)
    buyer_index = r.randrange(max(1, orders * 4 // 5))
    review = None
    if r.random() < 0.55:
        rating = r.choices(_RATINGS, cum_weights=_RATING_CUM)[0]
        edit = timedelta(hours=r.randint(24, 120)) if r.random() < 0.12 else None
        append = timedelta(days=r.randint(7, 20)) if r.random() < 0.15 else None
        review = ReviewPlan(
            after=timedelta(hours=r.randint(6, 240)),
            rating=rating,
            text_pick=r.random(),
            edit_after=edit,
            new_rating=min(5, rating + r.randint(1, 3)) if rating < 5 else 4,
            append_after=append,
            append_pick=r.randrange(1 << 16),
        )
    # keep the milestones, not the journey: a listing of 100k orders stays light
    j = build_journey(number)
    assert j is not None
    return OrderPlan(index, order_id(index), placed, number, carrier, j.shipped_at,
                     j.at(ParcelStatus.DELIVERED), j.at(ParcelStatus.RETURNED), j.final.time,
                     buyer_index, review)


@dataclass(frozen=True, slots=True)
class LineSpec:
    """One order line as plain values (models are built from it on demand)."""

    external_id: str
    sku: str
    title: str
    category: str
    quantity: int
    unit_price: Decimal
    discount: Decimal | None

    @property
    def net(self) -> Decimal:
        """Unit price times quantity less the line's own discount."""
        return self.unit_price * self.quantity - (self.discount or 0)


@dataclass(frozen=True, slots=True)
class LinesSpec:
    """An order's lines, shipping fee and order-level discount."""

    lines: tuple[LineSpec, ...]
    shipping: Decimal
    discount: Decimal

    @property
    def total(self) -> Decimal:
        """What the buyer paid."""
        return sum((ln.net for ln in self.lines), Decimal(0)) + self.shipping - self.discount

    def models(self) -> list[OrderLine]:
        """Fresh :class:`OrderLine` models for these lines."""
        return [
            OrderLine(
                external_id=ln.external_id, sku=ln.sku, title=ln.title, category=ln.category,
                quantity=ln.quantity, unit_price=money(ln.unit_price),
                discount=money(ln.discount) if ln.discount is not None else None,
            )
            for ln in self.lines
        ]


def money(amount: Decimal) -> Money:
    """CNY ``amount`` without re-validating a value the sandbox made itself.

    Money is frozen, so one instance per written amount is shared safely (keyed
    by its text, so ``8.00`` and ``8`` stay apart and output stays stable).
    """
    return _money(str(amount))


@lru_cache(maxsize=4096)
def _money(text: str) -> Money:
    return Money.model_construct(amount=Decimal(text), currency=CURRENCY)


_LINE_COUNTS = (1, 2, 3, 4)
_LINE_CUM = (55, 83, 95, 100)
_QTY = (1, 2, 3)
_QTY_CUM = (80, 95, 100)


@lru_cache(maxsize=4096)
def order_lines(seed: int, index: int) -> LinesSpec:
    """The lines, shipping fee and order-level discount of order ``index``."""
    r = rng(seed, "order-lines", index)
    count = r.choices(_LINE_COUNTS, cum_weights=_LINE_CUM)[0]
    products = r.sample(CATALOGUE, count)
    oid = order_id(index)
    lines = []
    for n, p in enumerate(products, start=1):
        size = r.choice(p.sizes) if p.sizes else None
        quantity = r.choices(_QTY, cum_weights=_QTY_CUM)[0]
        discount = None
        if r.random() < 0.1:
            discount = Decimal(r.choice(("5.00", "10.00")))
        lines.append(LineSpec(
            external_id=f"{oid}-L{n}",
            sku=f"{p.sku}-{size}" if size else p.sku,
            title=f"{p.title} {size}" if size else p.title,
            category=p.category,
            quantity=quantity,
            unit_price=Decimal(p.price),
            discount=discount,
        ))
    net = sum((ln.net for ln in lines), Decimal(0))
    shipping = Decimal("0.00")
    if net < 99:
        shipping = Decimal(r.choice(("8.00", "12.00")))
    elif r.random() < 0.1:
        shipping = Decimal("12.00")  # remote area surcharge
    order_discount = Decimal("0.00")
    if net >= 199 and r.random() < 0.35:
        order_discount = Decimal(r.choice(("20.00", "30.00")))  # 满减
    return LinesSpec(tuple(lines), shipping, order_discount)


def buyer(seed: int, index: int) -> Buyer:
    """Buyer ``index``: the same person on every order they place."""
    return Buyer(**_buyer_fields(seed, index))


def buyer_speaks_english(seed: int, index: int) -> bool:
    """Whether buyer ``index`` writes in English (else Chinese)."""
    return not _buyer_fields(seed, index)["locale"].startswith("zh")


_ZONE_CUM = tuple(sum(w for _, _, w in ZONES[: n + 1]) for n in range(len(ZONES)))


@lru_cache(maxsize=4096)
def _buyer_fields(seed: int, index: int) -> dict[str, str]:
    r = rng(seed, "buyer", index)
    zone, locale, _ = r.choices(ZONES, cum_weights=_ZONE_CUM)[0]
    if locale.startswith("zh"):
        name = r.choice(SURNAMES) + r.choice(GIVEN_NAMES) + r.choice(("", *GIVEN_NAMES))
        city = r.choice(CN_CITIES)
        if locale != "zh-CN":
            city = EN_CITIES[4 if zone.endswith("Kong") else 5]
        address = f"{city}示例路{r.randint(1, 999)}号"
    else:
        name = f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}"
        address = f"{r.randint(1, 200)} Example Street, {r.choice(EN_CITIES[:4])}"
    phone = {
        "zh-CN": f"+86 138{r.randint(0, 99_999_999):08d}",
        "en-GB": f"+44 7700 900{r.randint(0, 999):03d}",
        "en-US": f"+1 202-555-01{r.randint(0, 99):02d}",
    }.get(locale, f"+852 5{r.randint(0, 9_999_999):07d}")
    return {
        "external_id": f"B{index + 1:07d}",
        "name": name,
        "email": f"buyer{index + 1}@example.com",
        "phone": phone,
        "address": address,
        "timezone": zone,
        "locale": locale,
    }
