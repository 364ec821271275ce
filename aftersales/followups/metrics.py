"""Follow-up outcomes in numbers: sent, response rate, CSAT and NPS per plan.

* **CSAT** is the mean of the 1–5 answers and the share of 4s and 5s.
* **NPS** is the share of promoters (9–10) minus the share of detractors
  (0–6), in points from -100 to 100, over the 0–10 answers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from aftersales.models import FollowUpStatus
from aftersales.store.tables.followups import FollowUpRow

__all__ = ["PlanMetrics", "plan_metrics"]

_SENT = (FollowUpStatus.SENT.value, FollowUpStatus.RESPONDED.value)


@dataclass(frozen=True)
class PlanMetrics:
    """One plan's figures over the chosen period."""

    plan: str
    scheduled: int
    sent: int
    responded: int
    failed: int
    skipped: int
    cancelled: int
    response_rate: float | None
    csat: float | None
    csat_satisfied: float | None
    csat_count: int
    nps: float | None
    nps_count: int

    def as_dict(self) -> dict[str, Any]:
        """The figures as a plain dict (for JSON output)."""
        return asdict(self)


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def plan_metrics(
    session: Session,
    *,
    plan: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PlanMetrics]:
    """Figures per plan for follow-ups created in ``[since, until)``."""
    status = FollowUpRow.status
    query = select(
        FollowUpRow.plan,
        func.count(),
        _count(status.in_(_SENT)),
        _count(FollowUpRow.responded_at.is_not(None)),
        _count(status == FollowUpStatus.FAILED.value),
        _count(status == FollowUpStatus.SKIPPED.value),
        _count(status == FollowUpStatus.CANCELLED.value),
        func.avg(FollowUpRow.csat),
        _count(FollowUpRow.csat >= 4),
        func.count(FollowUpRow.csat),
        _count(FollowUpRow.nps >= 9),
        _count(FollowUpRow.nps <= 6),
        func.count(FollowUpRow.nps),
    ).group_by(FollowUpRow.plan).order_by(FollowUpRow.plan)
    if plan is not None:
        query = query.where(FollowUpRow.plan == plan)
    if since is not None:
        query = query.where(FollowUpRow.created_at >= since)
    if until is not None:
        query = query.where(FollowUpRow.created_at < until)
    out: list[PlanMetrics] = []
    for row in session.execute(query):
        (_name, total, sent, responded, failed, skipped, cancelled, csat_avg, satisfied,
         csat_n, promoters, detractors, nps_n) = (v if v is not None else 0 for v in row)
        csat_avg = row[7]
        out.append(PlanMetrics(
            plan=str(row[0]),
            scheduled=int(total),
            sent=int(sent),
            responded=int(responded),
            failed=int(failed),
            skipped=int(skipped),
            cancelled=int(cancelled),
            response_rate=round(responded / sent, 4) if sent else None,
            csat=round(float(csat_avg), 2) if csat_avg is not None else None,
            csat_satisfied=round(satisfied / csat_n, 4) if csat_n else None,
            csat_count=int(csat_n),
            nps=round(100.0 * (promoters - detractors) / nps_n, 1) if nps_n else None,
            nps_count=int(nps_n),
        ))
    return out
