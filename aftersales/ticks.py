"""TickReport: what one worker tick did, in the same words in every area.

Every tick the worker runs (``app.returns.run_timers``,
``app.returns.reconcile_refunds``, ``app.followups.dispatch_due``,
``app.logistics.refresh``, ``app.reviews.sync``, ``app.sync``) returns a
:class:`TickReport`: how many items it finished (``done``), how many it
looked at and left alone (``skipped``), and how many failed (``failed``),
each failure with its reason in ``reasons`` keyed by the item (a request,
a follow-up, a parcel, a store). An area's report may add its own counts
beside these (``TimerReport.alerts``, ``RefreshReport.calls``), one level
below this class; the worker and the command line read only these four.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aftersales.observe import error_text

__all__ = ["StoresReport", "TickReport", "failure_text", "per_store"]


@dataclass
class TickReport:
    """Done, skipped and failed items of one tick, failures with their reasons.

    Attributes:
        done: items the tick finished.
        skipped: items it looked at and left (nothing due, changed meanwhile,
            taken by another worker, or held back for a later tick).
        failed: items that failed.
        reasons: why, per failed item (its id); a retryable failure says so.
    """

    done: int = 0
    skipped: int = 0
    failed: int = 0
    reasons: dict[str, str] = field(default_factory=dict)

    def fail(self, item: str, reason: str) -> None:
        """Count one failed item, with its reason."""
        self.failed += 1
        self.reasons[item] = reason

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return self.failed == 0 and not self.reasons


@dataclass
class StoresReport(TickReport):
    """A per-store run (a sync verb): ``counts`` per store that finished, failures by store."""

    counts: dict[str, int] = field(default_factory=dict)


def failure_text(exc: BaseException) -> str:
    """An item's failure for ``reasons``: ``Type: message``, masked, on one line.

    A driver's or a remote page's text runs over several lines; a reason is
    one row of a table and one value of a summary line.
    """
    return " ".join(error_text(exc).split())


def per_store(names: Iterable[str], run: Callable[[str], int]) -> StoresReport:
    """``run(name)`` for each store in turn; one store's failure does not stop the others.

    A store that raises is counted failed, named in ``reasons`` with the
    error's type and masked text on one line (:func:`failure_text`); the
    next store still runs.
    """
    report = StoresReport()
    for name in names:
        try:
            count = run(name)
        except Exception as exc:  # one store's failure must not stop the others
            report.fail(name, failure_text(exc))
            continue
        report.counts[name] = count
        report.done += count
    return report
