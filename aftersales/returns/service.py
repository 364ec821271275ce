"""ReturnsService: returns, exchanges and refunds (reached as ``app.returns``).

The service is assembled from one module per job, each adding its methods:

* :mod:`~aftersales.returns.requests`: ``request``, ``check``, ``get``,
  ``list``, ``history`` and the policy's automatic decisions;
* :mod:`~aftersales.returns.actions`: ``approve``, ``reject``,
  ``mark_shipped``, ``receive``, ``close``, ``cancel``, ``reopen``;
* :mod:`~aftersales.returns.refunding`: ``preview_refund``, ``refund``;
* :mod:`~aftersales.returns.exchanges`: ``ship_exchange``;
* :mod:`~aftersales.returns.sync`: ``sync``;
* :mod:`~aftersales.returns.timers`: ``run_timers``;
* :mod:`~aftersales.returns.bulk`: ``bulk``;
* :mod:`~aftersales.returns.platform_actions`: ``refusal_reasons``,
  ``submit_evidence``, ``extend_deadline`` (the marketplace's own machinery).

Every status change goes through one path (:mod:`~aftersales.returns._core`):
state machine check, new state plus audit row in one transaction, an event
(``return.approved``, …) to hooks and the outbox, the SLA deadline replaced,
and the version column guarding against a racing writer.
"""

from __future__ import annotations

from datetime import timedelta

from aftersales.evidence import Evidence
from aftersales.models import PlatformDeadline, RefusalReason, ReturnRequest
from aftersales.returns import platform_actions
from aftersales.returns.bulk import BulkMixin

__all__ = ["ReturnsService"]


class ReturnsService(BulkMixin):
    """Returns, exchanges and refunds, by hand, by rule and in bulk.

    Configure it through the app: ``AfterSales(return_policy="policy.toml",
    stock_check=fn)``, or set :attr:`policy`, :attr:`validators` and
    :attr:`stock_check` on ``app.returns`` directly.
    """

    def refusal_reasons(self, rma_id: str) -> list[RefusalReason]:
        """See :func:`aftersales.returns.platform_actions.refusal_reasons`."""
        return platform_actions.refusal_reasons(self, rma_id)

    def submit_evidence(self, rma_id: str, evidence: Evidence, *,
                        actor: str = "merchant") -> ReturnRequest:
        """See :func:`aftersales.returns.platform_actions.submit_evidence`."""
        return platform_actions.submit_evidence(self, rma_id, evidence, actor=actor)

    def extend_deadline(self, rma_id: str, by: timedelta | None = None, *,
                        actor: str = "merchant") -> PlatformDeadline:
        """See :func:`aftersales.returns.platform_actions.extend_deadline`."""
        return platform_actions.extend_deadline(self, rma_id, by, actor=actor)
