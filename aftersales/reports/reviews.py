"""Reviews report: 好评率, negative rate and average stars per week, SKU or store, and the
topics negative reviews raise most.

Definitions (the same one-liners are in the README), over reviews dated by
when the buyer wrote them (``remote_created_at``):

* **好评率 (positive rate)**: 4–5-star reviews ÷ reviews. Taobao's 好评率 counts
  the buyer's own 好/中/差 choice; the stores here report stars, and 4–5 is
  how Tmall and JD show 好评 (JD counts only 1 star as 差评; we count 1–2).
* **negative rate (差评率)**: 1–2-star reviews ÷ reviews.
* **average stars**: the mean rating.
* **complaint topics**: how many negative (1–2-star) reviews name each topic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, select, true
from sqlalchemy.orm import Session

from aftersales.reports._group import fill_periods, key_of
from aftersales.reports._sql import json_texts
from aftersales.reports.periods import GRAINS, Scope
from aftersales.reports.rows import CountRow, ReportTable, StarsRow
from aftersales.store.tables.reviews import ReviewRow

__all__ = ["complaint_topics", "section", "stars"]

V = ReviewRow.__table__.c
_V = ReviewRow.__table__
POSITIVE_STARS = 4
NEGATIVE_STARS = 2


def _in(scope: Scope) -> list[ColumnElement[bool]]:
    return [scope.window(V.remote_created_at), *scope.store_filter(V.marketplace)]


def _key(by: str, scope: Scope) -> ColumnElement[Any]:
    return key_of(by, scope, V.remote_created_at, {"sku": V.sku, "store": V.marketplace})


def stars(session: Session, scope: Scope, by: str = "week") -> list[StarsRow]:
    """Reviews, star sum, 好评 (4–5 stars) and 差评 (1–2 stars) per key, by writing date."""
    inner = select(_key(by, scope).label("k"), V.rating.label("r"),
                   case((V.rating >= POSITIVE_STARS, 1), else_=0).label("p"),
                   case((V.rating <= NEGATIVE_STARS, 1), else_=0).label("n")
                   ).where(*_in(scope)).subquery()
    query = select(inner.c.k, func.count(), func.sum(inner.c.r), func.sum(inner.c.p),
                   func.sum(inner.c.n)).group_by(inner.c.k)
    rows = [StarsRow(str(k), int(c), int(s or 0), int(p or 0), int(n or 0))
            for k, c, s, p, n in session.execute(query)]
    return fill_periods(by, scope, rows, lambda r: r.key, lambda k: StarsRow(k, 0, 0, 0, 0))


def complaint_topics(session: Session, scope: Scope, limit: int = 10) -> list[CountRow]:
    """Complaint topics: negative (1–2-star) reviews naming each topic, most first."""
    dialect = session.get_bind().dialect.name
    topic = json_texts(V.topics, dialect)
    query = select(topic.c.value, func.count()).select_from(_V).join(topic, true()).where(
        *_in(scope), V.rating <= NEGATIVE_STARS).group_by(topic.c.value)
    rows = [CountRow(str(t), int(n)) for t, n in session.execute(query)]
    return sorted(rows, key=lambda r: (-r.count, r.key))[:limit]


def section(session: Session, scope: Scope, by: str = "week") -> list[ReportTable]:
    """Every reviews table for ``by`` (``week`` when ``by`` does not apply)."""
    by = by if by in (*GRAINS, "all", "store", "sku") else "week"
    return [
        ReportTable("stars", by, StarsRow, stars(session, scope, by)),
        ReportTable("complaint_topics", "topic", CountRow, complaint_topics(session, scope)),
    ]
