"""Typed result rows of every report, and the table that holds a list of them.

Rows hold exact integers (counts, seconds, thousandths of money) as the SQL
returned them; ratios, hours and amounts are derived from those in Python,
after the aggregation, so SQLite and PostgreSQL give identical rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any, Union

__all__ = [
    "ChangeRow",
    "CountRow",
    "DurationRow",
    "RateRow",
    "ReportRow",
    "ReportTable",
    "RevenueRow",
    "SlaRow",
    "StarsRow",
    "SurveyRow",
    "ratio",
    "row_columns",
    "row_dict",
]


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` to four decimals, ``None`` when nothing was counted."""
    return round(numerator / denominator, 4) if denominator else None


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


@dataclass(frozen=True)
class RateRow:
    """A share: ``numerator`` of ``denominator`` (``rate`` to four decimals)."""

    key: str
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        """``numerator / denominator``, or ``None`` with nothing counted."""
        return ratio(self.numerator, self.denominator)


@dataclass(frozen=True)
class CountRow:
    """How many of something (returned quantity, complaints, stuck parcels) a key has."""

    key: str
    count: int


@dataclass(frozen=True)
class RevenueRow:
    """Revenue, refunds and retained revenue of one key in one currency (never mixed).

    ``revenue``, ``refunded`` and ``retained`` are exact Decimals of ``currency``;
    ``refunded_tax`` is the tax inside ``refunded`` as the returns area recorded
    each refund (its breakdown's total tax), also in ``currency``.
    """

    key: str
    currency: str
    revenue: Decimal
    refunded: Decimal
    retained: Decimal
    refunded_tax: Decimal = Decimal(0)

    @property
    def refund_share(self) -> float | None:
        """Refunded ÷ revenue, or ``None`` without revenue."""
        return round(float(self.refunded / self.revenue), 4) if self.revenue else None

    @property
    def retained_share(self) -> float | None:
        """Retained ÷ (refunded + retained): how much of what came back stayed as sales."""
        back = self.refunded + self.retained
        return round(float(self.retained / back), 4) if back else None


@dataclass(frozen=True)
class DurationRow:
    """A distribution of durations (whole seconds): count, mean and nearest-rank percentiles."""

    key: str
    count: int
    total_seconds: int
    p50_seconds: int | None
    p90_seconds: int | None

    @property
    def mean_hours(self) -> float | None:
        """Mean duration in hours (two decimals)."""
        return round(self.total_seconds / self.count / 3600, 2) if self.count else None

    @property
    def p50_hours(self) -> float | None:
        """Median in hours (nearest rank)."""
        return _hours(self.p50_seconds)

    @property
    def p90_hours(self) -> float | None:
        """90th percentile in hours (nearest rank)."""
        return _hours(self.p90_seconds)


@dataclass(frozen=True)
class SlaRow:
    """Deadlines met, breached, and still running, of one key."""

    key: str
    met: int
    breached: int
    pending: int

    @property
    def breach_rate(self) -> float | None:
        """Breached ÷ (met + breached): the deadlines that ended, and how many were missed."""
        return ratio(self.breached, self.met + self.breached)


@dataclass(frozen=True)
class StarsRow:
    """Reviews of one key: count, star sum, positive (4–5 stars) and negative (1–2 stars)."""

    key: str
    reviews: int
    stars: int
    positive: int
    negative: int

    @property
    def average_stars(self) -> float | None:
        """Mean stars, two decimals."""
        return round(self.stars / self.reviews, 2) if self.reviews else None

    @property
    def positive_rate(self) -> float | None:
        """好评率: 4–5-star reviews ÷ reviews."""
        return ratio(self.positive, self.reviews)

    @property
    def negative_rate(self) -> float | None:
        """差评率: 1–2-star reviews ÷ reviews."""
        return ratio(self.negative, self.reviews)


@dataclass(frozen=True)
class SurveyRow:
    """Follow-ups of one key: sent, answered, and their CSAT and NPS answers."""

    key: str
    sent: int
    responded: int
    csat_count: int
    csat_sum: int
    satisfied: int
    nps_count: int
    promoters: int
    detractors: int

    @property
    def response_rate(self) -> float | None:
        """Answered ÷ sent."""
        return ratio(self.responded, self.sent)

    @property
    def csat(self) -> float | None:
        """Mean CSAT answer (1–5), two decimals."""
        return round(self.csat_sum / self.csat_count, 2) if self.csat_count else None

    @property
    def csat_satisfied(self) -> float | None:
        """Share of CSAT answers that are 4 or 5."""
        return ratio(self.satisfied, self.csat_count)

    @property
    def nps(self) -> float | None:
        """Promoters (9–10) minus detractors (0–6), in points of the 0–10 answers (one decimal)."""
        if not self.nps_count:
            return None
        return round(100 * (self.promoters - self.detractors) / self.nps_count, 1)


@dataclass(frozen=True)
class ChangeRow:
    """A count now against the same count in the period before."""

    key: str
    current: int
    previous: int

    @property
    def change(self) -> float | None:
        """(current − previous) ÷ previous, or ``None`` with nothing before."""
        return ratio(self.current - self.previous, self.previous)


ReportRow = Union[  # noqa: UP007
    ChangeRow, RateRow, CountRow, RevenueRow, DurationRow, SlaRow, StarsRow, SurveyRow]

_DERIVED: dict[type[Any], tuple[str, ...]] = {
    RateRow: ("rate",),
    RevenueRow: ("refund_share", "retained_share"),
    DurationRow: ("mean_hours", "p50_hours", "p90_hours"),
    SlaRow: ("breach_rate",),
    StarsRow: ("average_stars", "positive_rate", "negative_rate"),
    SurveyRow: ("response_rate", "csat", "csat_satisfied", "nps"),
    ChangeRow: ("change",),
}


def row_columns(row_type: type[Any]) -> list[str]:
    """The stored fields then the derived figures of a row type, in order."""
    return [f.name for f in fields(row_type)] + list(_DERIVED.get(row_type, ()))


def row_dict(row: Any) -> dict[str, Any]:
    """A row as a plain dict: its fields and its derived figures."""
    out = asdict(row)
    for name in _DERIVED.get(type(row), ()):
        out[name] = getattr(row, name)
    return out


@dataclass(frozen=True)
class ReportTable:
    """One named table of a report: ``name`` (a metric), ``by`` (its key) and its rows."""

    name: str
    by: str
    row_type: type[Any]
    rows: list[Any] = field(default_factory=list)

    def columns(self) -> list[str]:
        """Column names, stored then derived."""
        return row_columns(self.row_type)

    def as_dicts(self) -> list[dict[str, Any]]:
        """Every row as a plain dict."""
        return [row_dict(r) for r in self.rows]
