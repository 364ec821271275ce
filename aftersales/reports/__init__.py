"""Reports and analytics: returns, logistics, reviews and follow-ups in numbers.

``app.reports`` (:class:`ReportsService`) computes every figure with SQL
aggregates through SQLAlchemy Core, the same on SQLite and PostgreSQL, in
time buckets of the shop's zone. One module per section holds the metric
definitions in its docstring: :mod:`~aftersales.reports.returns`,
:mod:`~aftersales.reports.logistics`, :mod:`~aftersales.reports.reviews`,
:mod:`~aftersales.reports.followups`. Results are typed rows
(:mod:`~aftersales.reports.rows`) in named tables.
"""

from __future__ import annotations

from aftersales.reports.periods import Period, Scope, periods
from aftersales.reports.rows import (
    CountRow,
    DurationRow,
    RateRow,
    ReportTable,
    RevenueRow,
    SlaRow,
    StarsRow,
    SurveyRow,
)
from aftersales.reports.service import SECTIONS, ReportsService

__all__ = [
    "SECTIONS",
    "CountRow",
    "DurationRow",
    "Period",
    "RateRow",
    "ReportTable",
    "ReportsService",
    "RevenueRow",
    "Scope",
    "SlaRow",
    "StarsRow",
    "SurveyRow",
    "periods",
]
