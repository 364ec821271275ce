"""Distributions of durations computed in SQL: count, sum and nearest-rank percentiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from aftersales.reports._sql import nearest_rank
from aftersales.reports.rows import DurationRow

__all__ = ["distribution"]


def distribution(session: Session, base: Select[Any]) -> list[DurationRow]:
    """Rows of ``base`` (columns ``k``: the key, ``d``: whole seconds) summarised per key.

    The database picks each percentile (nearest rank: the smallest value with at
    least p% of the values at or below it) and only one row per key comes back:
    ``percentile_disc`` on PostgreSQL, ranks by window functions on SQLite
    (which has no ordered-set aggregates); both give the same value.
    """
    inner = base.subquery()
    if session.get_bind().dialect.name == "postgresql":
        # percentile_disc is the nearest rank too, as an ordered-set aggregate: one sort.
        query = select(
            inner.c.k, func.count(), func.sum(inner.c.d),
            func.percentile_disc(0.5).within_group(inner.c.d),
            func.percentile_disc(0.9).within_group(inner.c.d),
        ).where(inner.c.d.is_not(None)).group_by(inner.c.k)
    else:
        ranked = select(
            inner.c.k, inner.c.d,
            func.row_number().over(partition_by=inner.c.k, order_by=inner.c.d).label("rn"),
            func.count().over(partition_by=inner.c.k).label("n"),
        ).where(inner.c.d.is_not(None)).subquery()
        query = select(
            ranked.c.k, func.count(), func.sum(ranked.c.d),
            nearest_rank(ranked.c.d, ranked.c.rn, ranked.c.n, 50),
            nearest_rank(ranked.c.d, ranked.c.rn, ranked.c.n, 90),
        ).group_by(ranked.c.k)
    return [
        DurationRow(str(k), int(n), int(total or 0),
                    None if p50 is None else int(p50), None if p90 is None else int(p90))
        for k, n, total, p50, p90 in session.execute(query)
    ]
