"""ReturnsService: returns, exchanges and refunds (reached as ``app.returns``).

A thin facade: it builds the area's parts once and hands each public verb
to the part whose one job it is. Nothing here inherits from anything; the
parts hold their collaborators.

* :mod:`~aftersales.returns.context`: the runtime, the policy, units of
  work and pushes to the marketplace, shared by every part;
* :mod:`~aftersales.returns.writes`: the one transition path (status,
  audit row, event, deadline) in the caller's unit of work;
* :mod:`~aftersales.returns.queries`: ``get``, ``list``, ``history``,
  ``eligibility_of``;
* :mod:`~aftersales.returns.requests`: ``request``, ``check``, ``decide``
  and the policy's automatic decisions;
* :mod:`~aftersales.returns.actions`: ``approve``, ``reject``,
  ``mark_shipped``, ``receive``, ``close``, ``cancel``, ``reopen``;
* :mod:`~aftersales.returns.refunding` and
  :mod:`~aftersales.returns.refund_settle`: ``preview_refund``, ``refund``,
  ``reconcile_refunds``;
* :mod:`~aftersales.returns.exchanges`: ``ship_exchange``, ``in_stock``;
* :mod:`~aftersales.returns.action_resolve`: ``mark_action_done``,
  ``release_action`` (an action whose answer was lost, settled by hand);
* :mod:`~aftersales.returns.sync`: ``sync``;
* :mod:`~aftersales.returns.timers`: ``run_timers``;
* :mod:`~aftersales.returns.bulk`: ``bulk``, ``bulk_file``;
* :mod:`~aftersales.returns.platform_actions`: ``refusal_reasons``,
  ``submit_evidence``, ``extend_deadline`` (the marketplace's own machinery).

The rules with no I/O sit beside them: the state machine
(:mod:`~aftersales.returns.lifecycle`), the policy, eligibility, refund
arithmetic, SLA planning and the transition builder
(:mod:`~aftersales.returns.transition`); rows and queries are in
:mod:`~aftersales.returns.repository`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aftersales.returns.action_resolve import ActionResolution
from aftersales.returns.actions import Actions
from aftersales.returns.bulk import Bulk
from aftersales.returns.context import ReturnsContext, StockCheck
from aftersales.returns.eligibility import Validator
from aftersales.returns.exchanges import Exchanges
from aftersales.returns.platform_actions import PlatformActions
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.queries import Queries
from aftersales.returns.refund_settle import Settlement
from aftersales.returns.refunding import Refunding
from aftersales.returns.requests import Requests
from aftersales.returns.sync import ReturnsSync
from aftersales.returns.timers import Timers
from aftersales.returns.writes import TransitionWriter

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = ["ReturnsService"]


class ReturnsService:
    """Returns, exchanges and refunds, by hand, by rule and in bulk.

    Configure it through the app: ``AfterSales(return_policy="policy.toml",
    stock_check=fn)``, or set :attr:`policy`, :attr:`validators` and
    :attr:`stock_check` on ``app.returns`` directly. Each verb is the bound
    method of the part that does it (see the module's docstring), with that
    method's signature and documentation.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._ctx = ctx = ReturnsContext(runtime)
        self._writer = writer = TransitionWriter(ctx)
        queries = Queries(ctx)
        requests = Requests(ctx, writer, queries)
        actions = Actions(ctx, writer, requests)
        refunding = Refunding(ctx, requests, Settlement(ctx, writer))
        exchanges = Exchanges(ctx, writer, actions)
        syncing = ReturnsSync(ctx, writer, requests)
        timers = Timers(ctx, writer, actions, refunding, requests.auto)
        bulk = Bulk(ctx, writer, queries, requests, actions, refunding)
        platform = PlatformActions(ctx, writer)
        resolution = ActionResolution(ctx, actions, exchanges)
        # Reading
        self.get = queries.get
        self.list = queries.list
        self.history = queries.history
        self.eligibility_of = queries.eligibility_of
        # Opening and judging
        self.request = requests.request
        self.check = requests.check
        self.decide = requests.decide
        # The merchant's actions
        self.approve = actions.approve
        self.reject = actions.reject
        self.mark_shipped = actions.mark_shipped
        self.receive = actions.receive
        self.receive_delivered_parcel = actions.receive_delivered_parcel
        self.close = actions.close
        self.cancel = actions.cancel
        self.reopen = actions.reopen
        # An action whose marketplace answer was lost, settled by a person who checked
        self.mark_action_done = resolution.mark_action_done
        self.release_action = resolution.release_action
        # Money and replacements
        self.preview_refund = refunding.preview_refund
        self.refund = refunding.refund
        self.reconcile_refunds = refunding.settlement.reconcile_refunds
        self.ship_exchange = exchanges.ship_exchange
        self.in_stock = exchanges.in_stock
        # The marketplace's own machinery
        self.refusal_reasons = platform.refusal_reasons
        self.submit_evidence = platform.submit_evidence
        self.extend_deadline = platform.extend_deadline
        # Marketplaces, timers, files
        self.sync = syncing.sync
        self.run_timers = timers.run_timers
        self.bulk = bulk.bulk
        self.bulk_file = bulk.bulk_file

    @property
    def policy(self) -> ReturnPolicy:
        """The shop's return policy, read by every part (settable)."""
        return self._ctx.policy

    @policy.setter
    def policy(self, value: ReturnPolicy) -> None:
        self._ctx.policy = value

    @property
    def validators(self) -> list[Validator]:
        """Eligibility validators, in order; append a function to add a rule (settable)."""
        return self._ctx.validators

    @validators.setter
    def validators(self, value: list[Validator]) -> None:
        self._ctx.validators = value

    @property
    def stock_check(self) -> StockCheck | None:
        """The backend's stock check for exchange replacements (settable)."""
        return self._ctx.stock_check

    @stock_check.setter
    def stock_check(self, value: StockCheck | None) -> None:
        self._ctx.stock_check = value
