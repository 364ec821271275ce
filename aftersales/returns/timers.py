"""SLA deadlines: the timer tick that alerts before a breach and acts on expiry.

Deadlines are rows (:class:`~aftersales.store.tables.returns.ReturnDeadlineRow`),
so a million open requests are a million rows, not a million scheduled jobs.
Each tick claims due rows with a lease (``FOR UPDATE SKIP LOCKED`` where the
database has it; SQLite's write lock taken before the read otherwise), so
several workers never act on the same deadline twice.

Each tick also finishes the policy's automatic decisions that a process
left behind, killed between opening a request and telling the marketplace
(:mod:`~aftersales.returns.auto_decisions`): each is taken under its
request's lock and sent once, whichever worker takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from aftersales.errors import AfterSalesError
from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns import repository as repo
from aftersales.returns.actions import Actions
from aftersales.returns.auto_decisions import AutoDecisions
from aftersales.returns.context import ReturnsContext
from aftersales.returns.policy import SlaAction
from aftersales.returns.refunding import Refunding
from aftersales.returns.sla import expiry_target
from aftersales.returns.writes import TransitionWriter
from aftersales.store.locking import begin_write
from aftersales.store.tables.returns import ReturnDeadlineRow
from aftersales.ticks import TickReport
from aftersales.times import aware

__all__ = ["TimerReport", "Timers"]

D = ReturnDeadlineRow


@dataclass
class TimerReport(TickReport):
    """What one timer tick did: alerts sent, reminders and automatic actions (all ``done``).

    A deadline whose action failed for good is ``failed``; one whose
    marketplace was unreachable is ``skipped`` (its lease runs out and the
    next tick tries again). Both carry their reason in ``reasons``, keyed by
    ``rma_id``. ``decisions``: the policy's automatic decisions left behind
    by a process that died, sent (or written) now (also ``done``).
    """

    alerts: int = 0
    reminders: int = 0
    actions: int = 0
    decisions: int = 0


class Timers:
    """``run_timers``: SLA warnings, and the action each passed deadline runs."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter, actions: Actions,
                 refunding: Refunding, auto: AutoDecisions) -> None:
        self.ctx = ctx
        self.writer = writer
        self.actions = actions
        self.refunding = refunding
        self.auto = auto

    def run_timers(self, now: datetime | None = None, *, limit: int = 500,
                   lease: timedelta = timedelta(minutes=5)) -> TimerReport:
        """Process the deadlines that are about to pass or have passed.

        A deadline within its alert lead time emits ``return.sla_warning``
        once, before it breaches. A passed one runs its action: ``remind``
        emits ``return.sla_breached``; ``auto_approve`` approves (or, after
        receipt, refunds); ``auto_close`` closes. A retryable failure (the
        marketplace is down) is tried again when the lease ends; any other
        is recorded and reported as ``return.sla_breached`` with the error.
        First, the policy's automatic decisions a dead process left unsent
        are sent, once (:mod:`~aftersales.returns.auto_decisions`); one
        the marketplace refused, or whose answer was lost, is ``failed``.

        Args:
            now: the tick's time (default: the app's clock).
            limit: at most this many deadlines of each sort per tick.
            lease: how long a claimed deadline is kept from other workers.
        """
        now = aware(now, "now") or self.ctx.runtime.now()
        report = TimerReport()
        self._decisions(now, limit, report)
        self._alerts(now, limit, report)
        with self.ctx.runtime.unit_of_work() as session:
            begin_write(session)  # SQLite: no other worker claims between read and write
            due = list(session.scalars(
                select(D).where(D.name.is_not(None), D.due_at <= now,
                                or_(D.lease_until.is_(None), D.lease_until <= now))
                .order_by(D.due_at).limit(limit).with_for_update(skip_locked=True)))
            for dl in due:
                dl.lease_until = now + lease
            claimed = [(dl.rma_id, dl.name or "", dl.action or "", dl.status or "")
                       for dl in due]
        for rma_id, name, action, status in claimed:
            self._expire(rma_id, name, SlaAction(action), status, now, report)
        return report

    def _decisions(self, now: datetime, limit: int, report: TimerReport) -> None:
        """Finish the automatic decisions left behind (see the module's docstring)."""
        for rma_id in self.auto.due(now, limit):
            try:
                finished = self.auto.finish(rma_id)
            except AfterSalesError as exc:
                report.fail(rma_id, str(exc))
                continue
            except Exception as exc:  # an adapter's bug fails this request, not the tick
                report.fail(rma_id, f"unexpected error: {type(exc).__name__}")
                continue
            if finished.outcome == "done":
                report.decisions += 1
                report.done += 1
            elif finished.outcome == "skipped":
                report.skipped += 1
            else:
                report.fail(rma_id, finished.reason)

    def _alerts(self, now: datetime, limit: int, report: TimerReport) -> None:
        with self.ctx.runtime.unit_of_work() as session:
            begin_write(session)
            # Bounded by due_at (indexed): no alert goes out earlier than the longest lead.
            rows = session.scalars(
                select(D).where(D.due_at > now, D.due_at <= now + self._longest_lead(),
                                D.name.is_not(None), D.alerted_at.is_(None), D.alert_at <= now)
                .order_by(D.alert_at).limit(limit).with_for_update(skip_locked=True))
            for dl in rows:
                row = repo.load_row(session, dl.rma_id)
                due = dl.due_at.isoformat() if dl.due_at else ""
                self.writer.event(session, "return.sla_warning", row, actor="timer",
                            extra={"deadline": dl.name, "due_at": due, "action": dl.action},
                            key=f"return.sla_warning:{dl.rma_id}:{dl.name}:{due}")
                dl.alerted_at = now
                report.alerts += 1
                report.done += 1

    def _longest_lead(self) -> timedelta:
        sla = self.ctx.policy.sla
        leads = [sla.alert_lead(d) for d in (sla.merchant_response, sla.buyer_shipment,
                                             sla.merchant_confirmation) if d is not None]
        return max([*leads, sla.alert_before])

    def _expire(self, rma_id: str, name: str, action: SlaAction, status: str, now: datetime,
                report: TimerReport) -> None:
        with self.ctx.runtime.unit_of_work() as session:
            row = repo.load_row(session, rma_id)
            kind = ReturnKind(row.kind)
            stale = row.status != status
        target = None if stale else expiry_target(name, action, kind)
        actor = f"timer:{name}"
        note = f"{name.replace('_', ' ')} deadline passed"
        try:
            if target is ReturnStatus.APPROVED:
                self.actions.approve(rma_id, actor=actor, note=note)
            elif target is ReturnStatus.CLOSED:
                self.actions.close(rma_id, actor=actor, note=note)
            elif target is ReturnStatus.REFUNDED:
                self.refunding.refund(rma_id, actor=actor, note=note)
            else:
                self._finish(rma_id, name, now, error=None, remind=not stale)
                report.reminders += 0 if stale else 1
                report.done += 0 if stale else 1
                report.skipped += 1 if stale else 0
                return
            report.actions += 1
            report.done += 1
        except AfterSalesError as exc:
            if exc.retryable:
                report.skipped += 1
                report.reasons[rma_id] = f"will retry: {exc}"
                return  # the lease runs out and the next tick tries again
            self._finish(rma_id, name, now, error=str(exc), remind=True)
            report.fail(rma_id, str(exc))

    def _finish(self, rma_id: str, name: str, now: datetime, *, error: str | None,
                remind: bool) -> None:
        """Clear the deadline (so it fires once) and, unless stale, say it breached."""
        with self.ctx.runtime.unit_of_work() as session:
            dl = session.get(D, rma_id)
            if dl is None or dl.name != name:
                return
            if remind:
                row = repo.load_row(session, rma_id)
                due = dl.due_at.isoformat() if dl.due_at else ""
                self.writer.event(session, "return.sla_breached", row, actor="timer",
                            extra={"deadline": name, "due_at": due, "error": error},
                            key=f"return.sla_breached:{rma_id}:{name}:{due}")
            dl.name = None
            dl.lease_until = None
            dl.last_error = error
