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

    Ranks are window functions over each key's durations, so the database
    picks each percentile row and only one row per key comes back.
    """
    inner = base.subquery()
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
