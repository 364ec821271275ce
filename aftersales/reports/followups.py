"""Follow-ups report: response rate, CSAT and NPS by plan, store or period.

Definitions (the same one-liners are in the README), over follow-ups dated by
when they were sent (``sent_at``):

* **response rate**: follow-ups answered before the window's end ÷ follow-ups sent.
* **CSAT**: the mean of the 1–5 answers, and the share of 4s and 5s
  (``csat_satisfied``, the usual "CSAT %").
* **NPS**: promoters (9–10) minus detractors (0–6), in points of the 0–10
  answers, from −100 to 100 (Bain's Net Promoter Score).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from aftersales.reports._group import fill_periods, key_of
from aftersales.reports.periods import GRAINS, Scope
from aftersales.reports.rows import ReportTable, SurveyRow
from aftersales.store.tables.followups import FollowUpRow

__all__ = ["section", "surveys"]

U = FollowUpRow.__table__.c


def _flag(condition: ColumnElement[bool]) -> Any:
    return case((condition, 1), else_=0)


def surveys(session: Session, scope: Scope, by: str = "plan") -> list[SurveyRow]:
    """Sent, answered, CSAT and NPS answers per key, by sending date."""
    key = key_of(by, scope, U.sent_at, {"plan": U.plan, "store": U.marketplace})
    answered = and_(U.responded_at.is_not(None), U.responded_at < scope.until)
    csat = and_(answered, U.csat.is_not(None))
    nps = and_(answered, U.nps.is_not(None))
    inner = select(
        key.label("k"), _flag(answered).label("a"), _flag(csat).label("cn"),
        case((csat, U.csat), else_=0).label("cs"), _flag(and_(csat, U.csat >= 4)).label("ok"),
        _flag(nps).label("nn"), _flag(and_(nps, U.nps >= 9)).label("pro"),
        _flag(and_(nps, U.nps <= 6)).label("de"),
    ).where(U.sent_at.is_not(None), scope.window(U.sent_at),
            *scope.store_filter(U.marketplace)).subquery()
    c = inner.c
    query = select(c.k, func.count(), *(func.sum(x) for x in (c.a, c.cn, c.cs, c.ok, c.nn, c.pro,
                                                              c.de))).group_by(c.k)
    rows = [SurveyRow(str(r[0]), *(int(v or 0) for v in r[1:])) for r in session.execute(query)]
    return fill_periods(by, scope, rows, lambda r: r.key,
                        lambda k: SurveyRow(k, 0, 0, 0, 0, 0, 0, 0, 0))


def section(session: Session, scope: Scope, by: str = "plan") -> list[ReportTable]:
    """Every follow-ups table for ``by`` (``plan`` when ``by`` does not apply)."""
    by = by if by in (*GRAINS, "all", "store", "plan") else "plan"
    return [ReportTable("surveys", by, SurveyRow, surveys(session, scope, by))]
